// Collects local ICE candidates into few signaling messages. The first candidate of a gathering round opens a
// window of FIRST_WINDOW_MS (host candidates and, with STUN, most srflx ones arrive within it); later candidates
// ride in LATER_WINDOW_MS windows; end-of-candidates flushes at once. On loopback a whole round is one message.

export const FIRST_WINDOW_MS = 200;
export const LATER_WINDOW_MS = 60;

export class CandidateBatcher {
  /**
   * @param {(batch: {candidates: RTCIceCandidateInit[], end?: true}) => void} flush
   */
  constructor(flush) {
    this.flush = flush;
    /** @type {RTCIceCandidateInit[]} */ this.candidates = [];
    this.timer = null;
    this.roundStarted = false;
  }

  /**
   * Adds one `icecandidate` event's candidate; `null` means gathering finished (end-of-candidates).
   * @param {RTCIceCandidate|null} candidate
   */
  add(candidate) {
    if (candidate === null || candidate.candidate === "") {
      this.#send(true);
      this.roundStarted = false;
      return;
    }
    this.candidates.push(candidate.toJSON());
    if (this.timer === null) {
      this.timer = setTimeout(() => this.#send(false), this.roundStarted ? LATER_WINDOW_MS : FIRST_WINDOW_MS);
      this.roundStarted = true;
    }
  }

  #send(end) {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.candidates.length === 0 && !end) return;
    const batch = { candidates: this.candidates };
    if (end) batch.end = true;
    this.candidates = [];
    this.flush(batch);
  }

  /** Drops anything pending (the connection is closing). */
  close() {
    clearTimeout(this.timer);
    this.candidates = [];
  }
}
