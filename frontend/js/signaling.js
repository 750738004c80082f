// The signaling transport: one WebSocket speaking docs/protocol.md Part 1. It joins, keeps the socket alive
// (ping), reconnects with exponential backoff + jitter when the socket drops and resumes the same identity
// (join with peerId + token), so peer connections never notice. Signals sent while the socket is down are queued
// and flushed after the next `joined`.

const PING_INTERVAL_MS = 5 * 60 * 1000; // API Gateway closes sockets idle for 10 minutes
const PONG_TIMEOUT_MS = 10 * 1000;
const MAX_SOCKET_AGE_MS = 115 * 60 * 1000; // API Gateway closes every socket after 2 hours: move before that
const BACKOFF_BASE_MS = 400;
const BACKOFF_MAX_MS = 15 * 1000;
const JOIN_TIMEOUT_MS = 10 * 1000;

/** Errors on `join` after which retrying the same join cannot help. */
const FATAL_JOIN_ERRORS = new Set(["room-full", "bad-request", "already-joined"]);

/**
 * Delay before reconnect attempt `attempt` (0-based): full jitter over an exponential ceiling.
 * @param {number} attempt
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Events (all CustomEvent, payload in `detail`):
 * - `state`: {state: "connecting"|"joined"|"reconnecting"|"closed", attempt?}
 * - `joined`: the server's `joined` message (also after a resume, with `resumed: true`)
 * - `peer-joined`, `peer-left`, `signal`: the server's messages
 * - `server-error`: the server's `error` message (every code), plus `fatal: true` when the session cannot go on
 * - `identity-lost`: a resume was refused (token void); the caller should start over as a new participant
 */
export class SignalingClient extends EventTarget {
  /**
   * @param {{wsUrl: string, room: string, name?: string, capacity?: number}} options
   */
  constructor({ wsUrl, room, name = "", capacity }) {
    super();
    this.wsUrl = wsUrl;
    this.room = room;
    this.name = name;
    this.capacity = capacity;
    /** @type {string|null} */ this.peerId = null;
    /** @type {string|null} */ this.token = null;
    this.state = "idle";
    /** @type {WebSocket|null} */ this.ws = null;
    this.queue = [];
    this.attempt = 0;
    this.stopped = false;
    this.timers = {};
    this.stats = { sent: 0, received: 0, signalsSent: 0, reconnects: 0 };
  }

  /** Opens the socket and joins the room. */
  start() {
    this.stopped = false;
    this.#open();
  }

  /**
   * Sends `signal` to a peer of the room; queued while the socket is down or not joined yet.
   * @param {string} to
   * @param {unknown} data
   */
  signal(to, data) {
    const message = { action: "signal", to, data };
    if (this.state === "joined" && this.ws?.readyState === WebSocket.OPEN) {
      this.#send(message);
      this.stats.signalsSent++;
    } else {
      this.queue.push(message);
    }
  }

  /** Leaves the room and closes the socket for good. */
  leave() {
    this.stopped = true;
    this.#clearTimers();
    if (this.ws?.readyState === WebSocket.OPEN && this.state === "joined") this.#send({ action: "leave" });
    this.#closeSocket(1000, "bye");
    this.queue = [];
    this.#setState("closed");
  }

  /** Drops the current socket and reconnects at once (used before API Gateway's 2-hour limit, and by tests). */
  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    this.#closeSocket(4000, "reconnect");
    this.#scheduleReconnect(0);
  }

  /** Forgets the identity so the next join makes a new participant (after `identity-lost`). */
  resetIdentity() {
    this.peerId = null;
    this.token = null;
    this.queue = [];
  }

  #open() {
    this.#clearTimers();
    this.#setState(this.peerId ? "reconnecting" : "connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.wsUrl);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      const join = { action: "join", room: this.room, name: this.name };
      if (this.capacity) join.capacity = this.capacity;
      if (this.peerId && this.token) Object.assign(join, { peerId: this.peerId, token: this.token });
      this.#send(join);
      this.timers.join = setTimeout(() => this.#dropped(), JOIN_TIMEOUT_MS);
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.stats.received++;
      this.#handle(message);
    });
    ws.addEventListener("close", () => {
      if (ws === this.ws) this.#dropped();
    });
  }

  #handle(message) {
    clearTimeout(this.timers.pong); // any message proves the socket is alive
    switch (message.type) {
      case "joined":
        clearTimeout(this.timers.join);
        this.peerId = message.peerId;
        this.token = message.token;
        this.attempt = 0;
        this.#setState("joined");
        this.#emit("joined", message);
        this.#flush();
        this.#startKeepalive();
        break;
      case "peer-joined":
      case "peer-left":
      case "signal":
        this.#emit(message.type, message);
        break;
      case "error":
        this.#handleError(message);
        break;
      default:
        break; // pong and anything newer
    }
  }

  #handleError(message) {
    const onJoin = message.action === "join" || (this.state !== "joined" && message.action === undefined);
    if (onJoin && message.code === "invalid-token" && this.token) {
      // Our seat is gone (the server noticed our dead socket): the others were told we left.
      clearTimeout(this.timers.join);
      this.resetIdentity();
      this.#emit("identity-lost", message);
      this.#send({ action: "join", room: this.room, name: this.name, ...(this.capacity ? { capacity: this.capacity } : {}) });
      this.timers.join = setTimeout(() => this.#dropped(), JOIN_TIMEOUT_MS);
      return;
    }
    const fatal = onJoin && FATAL_JOIN_ERRORS.has(message.code);
    this.#emit("server-error", { ...message, fatal });
    if (fatal) {
      this.stopped = true;
      this.#clearTimers();
      this.#closeSocket(1000, "join refused");
      this.#setState("closed");
    } else if (onJoin) {
      this.#closeSocket(4001, "join failed");
      this.#scheduleReconnect();
    }
  }

  #startKeepalive() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => this.ping(), PING_INTERVAL_MS);
    clearTimeout(this.timers.age);
    this.timers.age = setTimeout(() => this.reconnectNow(), MAX_SOCKET_AGE_MS);
  }

  /** Sends a ping; a socket that stays silent for 10 s after it is treated as dropped. */
  ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.#send({ action: "ping" });
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => this.#dropped(), PONG_TIMEOUT_MS);
  }

  #dropped() {
    if (this.stopped) return;
    this.#closeSocket(4002, "dropped");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(delay = backoffDelay(this.attempt)) {
    this.#clearTimers();
    this.attempt++;
    this.stats.reconnects++;
    this.#setState(this.peerId ? "reconnecting" : "connecting", { attempt: this.attempt, delay });
    this.timers.reconnect = setTimeout(() => this.#open(), delay);
  }

  #flush() {
    const pending = this.queue;
    this.queue = [];
    for (const message of pending) this.signal(message.to, message.data);
  }

  #send(message) {
    this.ws.send(JSON.stringify(message));
    this.stats.sent++;
  }

  #closeSocket(code, reason) {
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try {
        ws.close(code, reason);
      } catch {
        /* already closing */
      }
    }
  }

  #clearTimers() {
    clearTimeout(this.timers.join);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.reconnect);
    clearTimeout(this.timers.age);
    clearInterval(this.timers.ping);
  }

  #setState(state, extra = {}) {
    this.state = state;
    this.#emit("state", { state, ...extra });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
