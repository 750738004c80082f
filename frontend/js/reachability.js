// When is the signaling service "unreachable"? DOM-free: fed with the signaling client's states, it calls
// `onChange(true)` once the client has been without a joined socket for UNREACHABLE_AFTER_MS in a row (the reconnect
// backoff has by then tried about six times: 0.4, 0.8, 1.6, 3.2, 6.4 s... ceilings), and `onChange(false)` as soon
// as it is joined again. The client keeps retrying in the background either way (every 15 s at most);
// `retry()` restarts the window for a new attempt made at once.

export const UNREACHABLE_AFTER_MS = 20 * 1000;

export class ReachabilityWatch {
  /**
   * @param {(unreachable: boolean) => void} onChange
   * @param {{setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout}} [clock]
   * @param {number} [afterMs]
   */
  constructor(onChange, clock = globalThis, afterMs = UNREACHABLE_AFTER_MS) {
    this.onChange = onChange;
    this.clock = clock;
    this.afterMs = afterMs;
    this.timer = null;
    this.unreachable = false;
  }

  /**
   * The signaling client's state ("connecting", "joined", "reconnecting", "closed", ...).
   * @param {string} state
   */
  update(state) {
    if (state === "joined" || state === "closed") {
      this.#cancel();
      this.#set(false);
    } else if (this.timer === null && !this.unreachable) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        this.#set(true);
      }, this.afterMs);
    }
  }

  /** The person asked to try again: not unreachable until a new window has passed without a join. */
  retry() {
    this.#cancel();
    this.#set(false);
    this.update("reconnecting");
  }

  stop() {
    this.#cancel();
  }

  #cancel() {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** @param {boolean} value */
  #set(value) {
    if (value === this.unreachable) return;
    this.unreachable = value;
    this.onChange(value);
  }
}
