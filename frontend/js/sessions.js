// Which of a remote peer's sessions a payload belongs to: the rule of docs/protocol.md section 2.7. A session is
// one RTCPeerConnection, named by the `sid` on every payload its side sends. The first `sid` heard is the current
// session; a new `sid` whose `seq` 1 carries an offer means the peer started over; payloads of a new `sid` that
// come before that offer are held (bounded), and payloads of an abandoned `sid` are dropped.
// DOM-free: call.js does what `route` decides.

export const HELD_MAX = 64; // payloads kept for a session whose offer has not come; beyond, the oldest go
export const ENDED_MAX = 16; // abandoned sids remembered; an older one's late payloads are only held, then dropped

/**
 * @typedef {{action: "deliver"} | {action: "drop"} | {action: "hold"} | {action: "restart", replay: object[]}} Route
 * deliver: to the current connection; restart: close it, answer `payload` with a new connection, then give it
 * `replay` (the new session's payloads that came early, in their order).
 */

export class RemoteSessions {
  constructor() {
    /** @type {string|null} */ this.current = null;
    /** @type {string[]} */ this.ended = [];
    /** @type {object[]} */ this.held = [];
  }

  /**
   * @param {{sid?: unknown, seq?: unknown, description?: {type?: string}}} payload
   * @returns {Route}
   */
  route(payload) {
    const sid = typeof payload.sid === "string" ? payload.sid : null;
    if (sid === null || sid === this.current) return { action: "deliver" };
    if (this.current === null) {
      this.current = sid;
      return { action: "deliver" };
    }
    if (this.ended.includes(sid)) return { action: "drop" };
    if (!(payload.seq === 1 && payload.description?.type === "offer")) {
      this.held.push(payload);
      if (this.held.length > HELD_MAX) this.held.shift();
      return { action: "hold" };
    }
    const replay = this.held.filter((held) => held.sid === sid);
    this.ended.push(this.current);
    if (this.ended.length > ENDED_MAX) this.ended.shift();
    this.current = sid;
    this.held = [];
    return { action: "restart", replay };
  }
}
