// Who is in my room: the reconciliation rule of docs/protocol.md section 1 ("Membership and sequence numbers").
// Membership events (`peer-joined`, `peer-left`) name their room and carry the room's sequence number; `joined`
// carries the number its `peers` reflect. Events can arrive late (from a room this socket just left) or early
// (before our own `joined`), so nothing is applied on arrival alone:
//   - the room is the `room` of the last `joined`; `left` for it means no room;
//   - every event heard is kept (bounded) until the next `joined`, which applies those of its room by the same rule:
//     an event of our own room can belong to the membership a `joined` on its way is about to start (we left and
//     joined the same room again, or resumed, and the event overtook that `joined`);
//   - an event for peer P with number n is applied only if n > joined.seq and n > the last number applied to P.
// DOM-free: the caller applies what `accept` and `joined` let through.

const HEARD_MAX = 256; // events kept for a `joined` that may follow; beyond, the oldest go (numbered below it)

export class Roster {
  constructor() {
    /** @type {string|null} */ this.room = null;
    this.floor = 0;
    /** @type {Map<string, number>} the last number applied per peer */ this.applied = new Map();
    /** @type {object[]} events heard since the last `joined`, kept for one that may follow */ this.heard = [];
  }

  /**
   * Our `joined` (fresh or resumed): its peers are the view as of `message.seq`. Returns the events of this room
   * heard since the last `joined` that are newer than that, in arrival order, to apply after the snapshot (some may
   * have been applied already, to the membership this one replaces).
   * @param {{room: string, seq?: number}} message
   * @returns {object[]}
   */
  joined(message) {
    this.room = message.room;
    this.floor = typeof message.seq === "number" ? message.seq : 0;
    this.applied = new Map();
    const heard = this.heard.filter((event) => event.room === message.room);
    this.heard = [];
    return heard.filter((event) => this.#fresh(event));
  }

  /**
   * `left` answers our `leave`: nothing of that room applies any more. A `left` numbered at or below our `joined`
   * ended an earlier membership of the same room (we left and joined it again, and the answers crossed).
   * @param {{room?: string, seq?: number}} message
   */
  left(message) {
    if (typeof message.seq === "number" && message.seq <= this.floor) return;
    if (message.room === undefined || message.room === this.room) {
      this.room = null;
      this.applied = new Map();
    }
  }

  /**
   * Whether a `peer-joined`/`peer-left` should be applied now: an event of our room that is not stale. Every event
   * is also kept for a later `joined`. Events without `room`/`seq` (an older server) are applied as they come.
   * @param {{room?: string, peerId: string, seq?: number}} event
   * @returns {boolean}
   */
  accept(event) {
    if (event.room === undefined) return true;
    this.heard.push(event);
    if (this.heard.length > HEARD_MAX) this.heard.shift();
    return event.room === this.room && this.#fresh(event);
  }

  /**
   * Whether a message of `room` (a `signal`, `undelivered`) belongs to the room we are in.
   * @param {string|undefined} room
   * @returns {boolean}
   */
  current(room) {
    return room === undefined || room === this.room;
  }

  #fresh(event) {
    if (typeof event.seq !== "number") return true;
    if (event.seq <= this.floor || event.seq <= (this.applied.get(event.peerId) ?? 0)) return false;
    this.applied.set(event.peerId, event.seq);
    return true;
  }
}
