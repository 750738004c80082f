// What the page shows about file transfers, without the DOM: one row per (file, direction/recipient) that moves
// from "starting" through progress to exactly one final state, and the object URLs of received files, which are
// revoked when the call ends (a received file can be up to MAX_FILE_BYTES held in memory).
//
// A row is keyed by the file id and a row key ("in" for a file we receive; the recipient's peerId for a file we
// send). Every update returns the row's view ({text, value, ok, final}) for the page to render, or null when the
// update does not apply (unknown row, or the row already reached its final state: a late ack after a cancel, a
// progress event after a failure).

import { FAILURE, MAX_FILE_BYTES } from "./filetransfer.js";

/** Why a transfer stopped, in words, for the receiving ("in") and the sending ("out") side. */
export const FAILURE_TEXT = Object.freeze({
  in: {
    [FAILURE.closed]: "failed: the connection closed",
    [FAILURE.cancelledBySender]: "cancelled by the sender",
    [FAILURE.cancelledByMe]: "cancelled by you",
    [FAILURE.invalid]: "failed: the sender sent more bytes than the file has",
  },
  out: {
    [FAILURE.closed]: "failed: the connection closed",
    [FAILURE.cancelledByReceiver]: "cancelled by the recipient",
    [FAILURE.cancelledByMe]: "cancelled by you",
    [FAILURE.busy]: "refused: they are still receiving another file from you",
    [FAILURE.invalid]: "refused by the recipient (too large or malformed)",
  },
});

/** Files are read into memory whole (both sides), so the limit is said where a person picks a file. */
export function sizeLimitText(formatBytes) {
  return `Files up to ${formatBytes(MAX_FILE_BYTES)} each; they are held in memory until you leave the call.`;
}

/**
 * @typedef {{text: string, value: number, ok: boolean|null, final: boolean}} RowView
 */

export class Transfers {
  /**
   * @param {{createURL: (blob: Blob) => string, revokeURL: (url: string) => void}} urls
   *   URL.createObjectURL / URL.revokeObjectURL in the page; fakes in tests
   */
  constructor(urls) {
    this.urls = urls;
    /** @type {Map<string, {size: number, rows: Map<string, RowView>}>} */ this.files = new Map();
    /** @type {Set<string>} */ this.objectUrls = new Set();
  }

  /**
   * A transfer starts: one row per key.
   * @param {{id: string, size: number}} meta
   * @param {string[]} keys
   * @returns {RowView}
   */
  open(meta, keys) {
    const size = Number.isSafeInteger(meta.size) && meta.size >= 0 ? meta.size : 0;
    const file = this.files.get(meta.id) ?? { size, rows: new Map() };
    this.files.set(meta.id, file);
    const view = { text: "starting…", value: 0, ok: null, final: false };
    for (const key of keys) file.rows.set(key, { ...view });
    return view;
  }

  /** @returns {RowView|undefined} */
  row(id, key) {
    return this.files.get(id)?.rows.get(key);
  }

  #update(id, key, change) {
    const row = this.row(id, key);
    if (!row || row.final) return null;
    Object.assign(row, change);
    return { ...row };
  }

  /**
   * Bytes moved so far. A file we send that has all its bytes handed over waits for the recipient's check.
   * @param {string} id
   * @param {string} key
   * @param {number} done
   * @param {"in"|"out"} direction
   * @returns {RowView|null}
   */
  progress(id, key, done, direction) {
    const size = this.files.get(id)?.size ?? 0;
    if (direction === "out" && done >= size) {
      return this.#update(id, key, { value: size, text: "sent, waiting for check…" });
    }
    const pct = size ? Math.min(100, Math.floor((100 * done) / size)) : 100;
    return this.#update(id, key, { value: Math.min(done, size), text: `${pct}%` });
  }

  /** A file we received was checked (size and SHA-256). */
  received(id, ok) {
    const size = this.files.get(id)?.size ?? 0;
    return this.#update(id, "in", {
      final: true,
      ok,
      value: ok ? size : this.row(id, "in")?.value ?? 0,
      text: ok ? "received · SHA-256 verified" : "failed: the file arrived damaged (SHA-256 mismatch)",
    });
  }

  /** The recipient `key` reported its check of a file we sent. */
  acked(id, key, ok) {
    const size = this.files.get(id)?.size ?? 0;
    return this.#update(id, key, {
      final: true,
      ok,
      value: ok ? size : this.row(id, key)?.value ?? 0,
      text: ok ? "delivered · SHA-256 verified" : "failed: integrity check failed",
    });
  }

  /**
   * The transfer stopped (FileChannel's onFailed).
   * @param {string} id
   * @param {string} key
   * @param {string} reason a FAILURE value
   * @param {"in"|"out"} direction
   */
  failed(id, key, reason, direction) {
    const text = FAILURE_TEXT[direction]?.[reason] ?? `failed: ${reason}`;
    return this.#update(id, key, { final: true, ok: false, text });
  }

  /**
   * A file that arrived and checked out, as a URL to download it from. Tracked until `clear()`.
   * @param {Blob} blob
   * @returns {string}
   */
  download(blob) {
    const url = this.urls.createURL(blob);
    this.objectUrls.add(url);
    return url;
  }

  /** The call ended: revoke every URL and forget every row. */
  clear() {
    for (const url of this.objectUrls) this.urls.revokeURL(url);
    this.objectUrls.clear();
    this.files.clear();
  }
}
