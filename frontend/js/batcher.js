// Half-trickle for local ICE candidates. The first candidates of a gathering round are what the other side needs to
// start its connectivity checks, so they go at once: whatever arrives in the same task as the first (host
// candidates often come together) leaves in one message right behind the offer or answer. Later candidates (more
// host addresses, srflx, relay) only add paths, so they ride together in LATER_WINDOW_MS windows; end-of-candidates
// flushes at once. On loopback a round is two messages: the first host candidates, then the rest with the end.

export const LATER_WINDOW_MS = 200;

export class CandidateBatcher {
  /**
   * @param {(batch: {candidates: RTCIceCandidateInit[], end?: true}) => void} flush
   */
  constructor(flush) {
    this.flush = flush;
    /** @type {RTCIceCandidateInit[]} */ this.candidates = [];
    this.timer = null;
    this.firstSent = false;
  }

  /**
   * Adds one `icecandidate` event's candidate; `null` means gathering finished (end-of-candidates).
   * @param {RTCIceCandidate|null} candidate
   */
  add(candidate) {
    if (candidate === null || candidate.candidate === "") {
      this.#send(true);
      this.firstSent = false; // an ICE restart starts a new round, whose first candidates go at once again
      return;
    }
    this.candidates.push(candidate.toJSON());
    if (this.timer === null) {
      // The first ones: at the end of this task (so candidates of the same event burst share one message).
      this.timer = setTimeout(() => this.#send(false), this.firstSent ? LATER_WINDOW_MS : 0);
      this.firstSent = true;
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
