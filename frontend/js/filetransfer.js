// File transfer on the "file" data channel (negotiated, id 1, ordered and reliable). One file at a time per
// channel:
//   text   {"type":"file-start","id":"<uuid>","name":"a.pdf","size":123456,"mime":"application/pdf",
//           "sha256":"<64 hex>","chunkSize":16384}
//   binary the file's bytes in order, chunks of at most chunkSize bytes
//   text   {"type":"file-end","id":"<uuid>"}
//   text   {"type":"file-ack","id":"<uuid>","ok":true}      (receiver -> sender, after checking size + SHA-256)
//   text   {"type":"file-cancel","id":"<uuid>"}              (either side gives up)
// The sender keeps at most HIGH_WATER bytes queued and waits for `bufferedamountlow` (backpressure).

export const CHUNK_SIZE = 16 * 1024;
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * SHA-256 of some bytes as lowercase hex.
 * @param {ArrayBuffer} bytes
 * @returns {Promise<string>}
 */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a File once and describes it for `file-start`.
 * @param {File} file
 * @returns {Promise<{bytes: ArrayBuffer, meta: {type: "file-start", id: string, name: string, size: number,
 *   mime: string, sha256: string, chunkSize: number}}>}
 */
export async function prepareFile(file) {
  const bytes = await file.arrayBuffer();
  const meta = {
    type: "file-start",
    id: crypto.randomUUID(),
    name: file.name || "file",
    size: bytes.byteLength,
    mime: file.type || "application/octet-stream",
    sha256: await sha256Hex(bytes),
    chunkSize: CHUNK_SIZE,
  };
  return { bytes, meta };
}

/**
 * Both directions of one peer's file channel. Handlers:
 * - onOffer(meta): a file is coming
 * - onProgress(id, bytesDone, direction): "in" or "out"
 * - onReceived(meta, {blob, ok}): arrived and checked
 * - onAck(id, ok): the peer reports its check for a file we sent
 * - onFailed(id, reason): the transfer stopped
 */
export class FileChannel {
  /**
   * @param {RTCDataChannel} channel
   * @param {object} handlers
   */
  constructor(channel, handlers) {
    this.channel = channel;
    this.handlers = handlers;
    this.sending = Promise.resolve();
    this.incoming = null;
    this.outgoing = new Set();
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener("message", ({ data }) => this.#onMessage(data));
    channel.addEventListener("close", () => this.#onClose());
  }

  /**
   * Queues one file for this peer; resolves when its last byte is handed to the channel.
   * @param {ArrayBuffer} bytes
   * @param {object} meta from prepareFile
   * @returns {Promise<void>}
   */
  send(bytes, meta) {
    const run = () => this.#send(bytes, meta);
    this.sending = this.sending.then(run, run);
    return this.sending;
  }

  async #send(bytes, meta) {
    this.outgoing.add(meta.id);
    try {
      await this.#whenOpen();
      this.channel.send(JSON.stringify(meta));
      for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_SIZE) {
        if (this.channel.readyState !== "open") throw new Error("the connection closed");
        if (this.channel.bufferedAmount > HIGH_WATER) await this.#drained();
        this.channel.send(bytes.slice(offset, offset + CHUNK_SIZE));
        this.handlers.onProgress?.(meta.id, Math.min(bytes.byteLength, offset + CHUNK_SIZE), "out");
      }
      if (bytes.byteLength === 0) this.handlers.onProgress?.(meta.id, 0, "out");
      this.channel.send(JSON.stringify({ type: "file-end", id: meta.id }));
    } catch (error) {
      this.outgoing.delete(meta.id);
      this.handlers.onFailed?.(meta.id, error.message ?? String(error));
    }
  }

  #whenOpen() {
    if (this.channel.readyState === "open") return Promise.resolve();
    if (this.channel.readyState !== "connecting") return Promise.reject(new Error("the connection closed"));
    return new Promise((resolve, reject) => {
      this.channel.addEventListener("open", resolve, { once: true });
      this.channel.addEventListener("close", () => reject(new Error("the connection closed")), { once: true });
    });
  }

  #drained() {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.channel.removeEventListener("bufferedamountlow", done);
        this.channel.removeEventListener("close", closed);
        resolve();
      };
      const closed = () => {
        this.channel.removeEventListener("bufferedamountlow", done);
        reject(new Error("the connection closed"));
      };
      this.channel.addEventListener("bufferedamountlow", done);
      this.channel.addEventListener("close", closed, { once: true });
    });
  }

  #onMessage(data) {
    if (typeof data !== "string") {
      if (!this.incoming) return;
      this.incoming.chunks.push(data);
      this.incoming.received += data.byteLength;
      this.handlers.onProgress?.(this.incoming.meta.id, this.incoming.received, "in");
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "file-start") {
      this.incoming = { meta: message, chunks: [], received: 0 };
      this.handlers.onOffer?.(message);
    } else if (message.type === "file-end" && this.incoming?.meta.id === message.id) {
      const { meta, chunks, received } = this.incoming;
      this.incoming = null;
      this.#verify(meta, chunks, received);
    } else if (message.type === "file-ack") {
      this.outgoing.delete(message.id);
      this.handlers.onAck?.(message.id, message.ok === true);
    } else if (message.type === "file-cancel") {
      if (this.incoming?.meta.id === message.id) this.incoming = null;
      this.handlers.onFailed?.(message.id, "cancelled by the sender");
    }
  }

  async #verify(meta, chunks, received) {
    const blob = new Blob(chunks, { type: meta.mime || "application/octet-stream" });
    const hash = await sha256Hex(await blob.arrayBuffer());
    const ok = received === meta.size && hash === String(meta.sha256).toLowerCase();
    this.handlers.onReceived?.(meta, { blob, ok, sha256: hash });
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify({ type: "file-ack", id: meta.id, ok }));
  }

  #onClose() {
    if (this.incoming) this.handlers.onFailed?.(this.incoming.meta.id, "the connection closed");
    this.incoming = null;
    for (const id of this.outgoing) this.handlers.onFailed?.(id, "the connection closed");
    this.outgoing.clear();
  }
}
