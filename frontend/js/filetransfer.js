// File transfer on the "file" data channel (negotiated, id 1, ordered and reliable). One file at a time per
// channel:
//   text   {"type":"file-start","id":"<uuid>","name":"a.pdf","size":123456,"mime":"application/pdf",
//           "sha256":"<64 hex>","chunkSize":16384}
//   binary the file's bytes in order, chunks of at most chunkSize bytes
//   text   {"type":"file-end","id":"<uuid>"}
//   text   {"type":"file-ack","id":"<uuid>","ok":true}      (receiver -> sender, after checking size + SHA-256)
//   text   {"type":"file-cancel","id":"<uuid>","reason":"cancelled"|"busy"}   (either side gives up)
// The sender keeps at most HIGH_WATER bytes queued and waits for `bufferedamountlow` (backpressure). A `file-cancel`
// from the receiver stops the sender at once (no further chunks, no `file-end`); one from the sender drops what was
// received. A `file-start` while another file from the same peer is still arriving is refused with
// `file-cancel` reason "busy" (the first one carries on); one it cannot accept (fileStartProblem: over MAX_FILE_BYTES,
// bad fields), or more bytes than announced, with reason "invalid". The received Blob is always application/octet-stream: the
// sender's MIME type is only shown, never trusted (a text/html file must not render in the app's origin).

export const CHUNK_SIZE = 16 * 1024;
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
/** The type every received file is stored and offered as, whatever the sender said. */
export const NEUTRAL_TYPE = "application/octet-stream";
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
 * - onFailed(id, reason, direction): the transfer stopped; reason is one of FAILURE (below), direction "in"|"out"
 * - onRefused(meta, reason): a file-start was refused: "busy" (another file from this peer is still arriving) or
 *   FAILURE.invalid (fileStartProblem, e.g. over MAX_FILE_BYTES)
 */
export const FAILURE = Object.freeze({
  closed: "closed", // the connection closed
  cancelledBySender: "cancelled-by-sender",
  cancelledByReceiver: "cancelled-by-receiver",
  cancelledByMe: "cancelled-by-me",
  busy: "busy", // the receiver refused it: another file from us was still arriving there
  invalid: "invalid", // a file-start the receiver cannot accept, or more bytes than its size
});

/**
 * Why a `file-start` cannot be accepted, or null if it can: the fields a receiver relies on, and the size limit.
 * @param {any} meta
 * @returns {string|null}
 */
export function fileStartProblem(meta) {
  if (typeof meta.name !== "string" || meta.name.length === 0 || meta.name.length > 1024) return "name";
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) return "size";
  if (meta.size > MAX_FILE_BYTES) return "too large";
  if (typeof meta.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(meta.sha256)) return "sha256";
  return null;
}

class Cancelled extends Error {}

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
    /** @type {Map<string, string>} outgoing ids stopped before or while sending -> FAILURE reason */
    this.stopped = new Map();
    /** @type {Map<string, () => void>} wakes a send waiting in #drained when its transfer is cancelled */
    this.wakers = new Map();
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
    this.outgoing.add(meta.id);
    const run = () => this.#send(bytes, meta);
    this.sending = this.sending.then(run, run);
    return this.sending;
  }

  /**
   * Gives up a transfer in either direction: tells the peer (`file-cancel`) and stops sending or receiving it.
   * @param {string} id
   * @returns {boolean} whether there was such a transfer still running
   */
  cancel(id) {
    if (this.incoming?.meta.id === id) {
      this.incoming = null;
      this.#tell({ type: "file-cancel", id, reason: "cancelled" });
      this.handlers.onFailed?.(id, FAILURE.cancelledByMe, "in");
      return true;
    }
    if (this.outgoing.has(id) && !this.stopped.has(id)) {
      this.stopped.set(id, FAILURE.cancelledByMe);
      this.wakers.get(id)?.();
      this.#tell({ type: "file-cancel", id, reason: "cancelled" });
      this.#finishOutgoing(id, FAILURE.cancelledByMe);
      return true;
    }
    return false;
  }

  async #send(bytes, meta) {
    if (this.stopped.delete(meta.id)) return; // cancelled while queued
    const check = () => {
      if (this.stopped.has(meta.id)) throw new Cancelled();
      if (this.channel.readyState !== "open") throw new Error(FAILURE.closed);
    };
    try {
      await this.#whenOpen();
      check();
      this.channel.send(JSON.stringify(meta));
      for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_SIZE) {
        check();
        if (this.channel.bufferedAmount > HIGH_WATER) await this.#drained(meta.id);
        check();
        this.channel.send(bytes.slice(offset, offset + CHUNK_SIZE));
        this.handlers.onProgress?.(meta.id, Math.min(bytes.byteLength, offset + CHUNK_SIZE), "out");
      }
      check();
      if (bytes.byteLength === 0) this.handlers.onProgress?.(meta.id, 0, "out");
      this.channel.send(JSON.stringify({ type: "file-end", id: meta.id }));
    } catch (error) {
      if (error instanceof Cancelled) {
        this.stopped.delete(meta.id); // whoever stopped it has reported it
        return;
      }
      this.#finishOutgoing(meta.id, FAILURE.closed);
    }
  }

  #finishOutgoing(id, reason) {
    if (!this.outgoing.delete(id)) return;
    this.handlers.onFailed?.(id, reason, "out");
  }

  #tell(message) {
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify(message));
  }

  #whenOpen() {
    if (this.channel.readyState === "open") return Promise.resolve();
    if (this.channel.readyState !== "connecting") return Promise.reject(new Error("the connection closed"));
    return new Promise((resolve, reject) => {
      this.channel.addEventListener("open", resolve, { once: true });
      this.channel.addEventListener("close", () => reject(new Error("the connection closed")), { once: true });
    });
  }

  /** Waits for the buffer to drain, the channel to close, or this transfer to be cancelled. */
  #drained(id) {
    return new Promise((resolve, reject) => {
      const stop = () => {
        this.channel.removeEventListener("bufferedamountlow", done);
        this.channel.removeEventListener("close", closed);
        this.wakers.delete(id);
      };
      const done = () => {
        stop();
        resolve();
      };
      const closed = () => {
        stop();
        reject(new Error(FAILURE.closed));
      };
      this.wakers.set(id, done);
      this.channel.addEventListener("bufferedamountlow", done);
      this.channel.addEventListener("close", closed, { once: true });
    });
  }

  #onMessage(data) {
    if (typeof data !== "string") {
      if (!this.incoming) return;
      if (this.incoming.received + data.byteLength > this.incoming.meta.size) {
        // More than announced: stop holding it in memory and say so on both sides.
        const { id } = this.incoming.meta;
        this.incoming = null;
        this.#tell({ type: "file-cancel", id, reason: FAILURE.invalid });
        this.handlers.onFailed?.(id, FAILURE.invalid, "in");
        return;
      }
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
    if (!message || typeof message !== "object" || typeof message.id !== "string") return;
    if (message.type === "file-start") {
      if (this.incoming) {
        // One file at a time per channel: keep the first, refuse this one, and say so on both sides.
        this.#tell({ type: "file-cancel", id: message.id, reason: "busy" });
        this.handlers.onRefused?.(message, FAILURE.busy);
        return;
      }
      if (fileStartProblem(message)) {
        this.#tell({ type: "file-cancel", id: message.id, reason: FAILURE.invalid });
        this.handlers.onRefused?.(message, FAILURE.invalid);
        return;
      }
      this.incoming = { meta: message, chunks: [], received: 0 };
      this.handlers.onOffer?.(message);
    } else if (message.type === "file-end" && this.incoming?.meta.id === message.id) {
      const { meta, chunks, received } = this.incoming;
      this.incoming = null;
      this.#verify(meta, chunks, received);
    } else if (message.type === "file-ack") {
      if (this.outgoing.delete(message.id)) this.handlers.onAck?.(message.id, message.ok === true);
    } else if (message.type === "file-cancel") {
      if (this.incoming?.meta.id === message.id) {
        this.incoming = null;
        this.handlers.onFailed?.(message.id, FAILURE.cancelledBySender, "in");
      } else if (this.outgoing.has(message.id) && !this.stopped.has(message.id)) {
        const refusals = { [FAILURE.busy]: FAILURE.busy, [FAILURE.invalid]: FAILURE.invalid };
        const reason = refusals[message.reason] ?? FAILURE.cancelledByReceiver;
        this.stopped.set(message.id, reason);
        this.wakers.get(message.id)?.(); // a send waiting for the buffer to drain stops now
        this.#finishOutgoing(message.id, reason);
      }
    }
  }

  async #verify(meta, chunks, received) {
    const blob = new Blob(chunks, { type: NEUTRAL_TYPE });
    const hash = await sha256Hex(await blob.arrayBuffer());
    const ok = received === meta.size && hash === String(meta.sha256).toLowerCase();
    this.handlers.onReceived?.(meta, { blob, ok, sha256: hash });
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify({ type: "file-ack", id: meta.id, ok }));
  }

  #onClose() {
    if (this.incoming) this.handlers.onFailed?.(this.incoming.meta.id, FAILURE.closed, "in");
    this.incoming = null;
    const outgoing = [...this.outgoing];
    this.outgoing.clear();
    for (const id of outgoing) this.handlers.onFailed?.(id, FAILURE.closed, "out");
  }
}
