// Per-peer ordering of signaling payloads. API Gateway may deliver one socket's messages out of order, so every
// payload a client sends to a peer carries `seq` (1, 2, 3, ... per destination) and the receiver applies each
// sender's payloads in seq order, buffering gaps. A gap that stays open for GAP_TIMEOUT_MS is skipped: the missing
// payload was lost (e.g. sent into a dying socket) and waiting longer would only stall the call.

export const GAP_TIMEOUT_MS = 2000;

/** Stamps outgoing payloads with 1, 2, 3, ... */
export class SeqCounter {
  constructor() {
    this.next = 1;
  }

  /**
   * @param {object} payload
   * @returns {object} the payload with `seq` set
   */
  stamp(payload) {
    return { seq: this.next++, ...payload };
  }
}

/** Releases incoming payloads in seq order to `deliver`. */
export class SeqReorderer {
  /**
   * @param {(payload: object) => void} deliver called once per payload, in order
   * @param {number} [gapTimeoutMs]
   */
  constructor(deliver, gapTimeoutMs = GAP_TIMEOUT_MS) {
    this.deliver = deliver;
    this.gapTimeoutMs = gapTimeoutMs;
    this.expected = 1;
    /** @type {Map<number, object>} */ this.pending = new Map();
    this.timer = null;
  }

  /**
   * Accepts one payload. Payloads without a numeric seq (from a client that does not order) pass straight through;
   * duplicates and payloads older than the next expected one are dropped.
   * @param {object} payload
   */
  push(payload) {
    const seq = payload?.seq;
    if (!Number.isInteger(seq)) {
      this.deliver(payload);
      return;
    }
    if (seq < this.expected || this.pending.has(seq)) return;
    this.pending.set(seq, payload);
    this.#drain();
  }

  #drain() {
    while (this.pending.has(this.expected)) {
      const payload = this.pending.get(this.expected);
      this.pending.delete(this.expected);
      this.expected++;
      this.deliver(payload);
    }
    clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size > 0) this.timer = setTimeout(() => this.#skipGap(), this.gapTimeoutMs);
  }

  #skipGap() {
    this.expected = Math.min(...this.pending.keys());
    this.#drain();
  }

  /** Stops the gap timer. */
  close() {
    clearTimeout(this.timer);
    this.pending.clear();
  }
}
