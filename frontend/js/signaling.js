// The signaling transport: one WebSocket speaking docs/protocol.md Part 1. It joins, keeps the socket alive
// (ping), reconnects with exponential backoff + jitter when the socket drops and resumes the same identity
// (join with peerId + token), so peer connections never notice. Signals sent while the socket is down are queued
// and flushed after the next `joined`.
//
// It also copes with API Gateway's limits: no frame over the limit is ever sent (that would close the socket), and
// when the gateway answers a request with its own error ("Too Many Requests" when throttled, "Internal server
// error" when Lambda refused or failed) it backs off, retries a pending join and resends the signals of the last
// moments. The gateway does not say which request it refused; resending is safe because receivers drop payloads
// whose seq they already have.

import { DEFAULT_LIMITS, readLimits, utf8Length } from "./limits.js";

const PING_INTERVAL_MS = 5 * 60 * 1000; // API Gateway closes sockets idle for 10 minutes
const PONG_TIMEOUT_MS = 10 * 1000;
const MAX_SOCKET_AGE_MS = 115 * 60 * 1000; // API Gateway closes every socket after 2 hours: move before that
const BACKOFF_BASE_MS = 400;
const BACKOFF_MAX_MS = 15 * 1000;
const JOIN_TIMEOUT_MS = 10 * 1000;
const RESEND_WINDOW_MS = 2000; // signals sent this recently may be the one a gateway error answers
const RESEND_MAX = 16;
const QUEUE_MAX = 256; // signals waiting for the socket; beyond, the oldest go (the peers repair lost payloads)
const CALM_MS = 10 * 1000; // this long without a gateway error and the backoff starts from the bottom again

/** What API Gateway itself sends back, in place of a route's answer, when it or Lambda refuses a request. */
const GATEWAY_ERRORS = new Set(["Too Many Requests", "Internal server error", "Endpoint request timed out"]);

/**
 * API Gateway's own error message in a frame (`{"message": "...", "connectionId": "...", "requestId": "..."}`,
 * no `type`), or null for anything else.
 * @param {any} message
 * @returns {string|null}
 */
export function gatewayError(message) {
  if (!message || typeof message !== "object" || "type" in message) return null;
  return typeof message.message === "string" && GATEWAY_ERRORS.has(message.message) ? message.message : null;
}

/** A socket opened ahead of time (while the person is in the lobby), waiting to be claimed by the first start(). */
let warm = null;
/** When each preconnected socket was opened: API Gateway's 2-hour limit counts from then, not from the join. */
const openedAt = new WeakMap();
/** The answer to `ice` on each preconnected socket: the ICE servers, or null if the server gave none. */
const lobbyIce = new WeakMap();

/**
 * Asks the server for the ICE servers on a socket that has not joined (`ice`, docs/protocol.md), as soon as it is
 * open: with them the lobby prepares the first connection and its offer (prepared.js) before anyone clicks.
 * @param {WebSocket} ws
 */
function askIce(ws) {
  const answer = new Promise((resolve) => {
    const done = (servers) => {
      ws.removeEventListener("message", onMessage);
      ws.removeEventListener("close", onClose);
      resolve(servers);
    };
    const onMessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message?.type === "ice-servers" && Array.isArray(message.iceServers)) done(message.iceServers);
      else if (message?.type === "error" && message.action === "ice") done(null);
    };
    const onClose = () => done(null);
    const ask = () => {
      try {
        ws.send(JSON.stringify({ action: "ice" }));
      } catch {
        done(null);
      }
    };
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", onClose);
    if (ws.readyState === WebSocket.OPEN) ask();
    else ws.addEventListener("open", ask, { once: true });
  });
  lobbyIce.set(ws, answer);
}

/**
 * Asks `ice` on the preconnected socket (once per socket; when config.json has no ICE servers, that is, when the
 * deployment hands out TURN credentials): the servers, or null if there is no such socket or the server gave none.
 * @returns {Promise<RTCIceServer[]|null>}
 */
export function preconnectedIceServers() {
  if (!warm) return Promise.resolve(null);
  if (!lobbyIce.has(warm)) askIce(warm);
  return lobbyIce.get(warm);
}

/**
 * Opens the signaling socket now, before anyone joins, so that a later SignalingClient.start() for the same URL
 * finds it open and sends `join` at once: the TLS and WebSocket handshakes (and the $connect invocation) leave the
 * critical path. Sends nothing; a socket the gateway closes meanwhile (idle for 10 minutes) is simply forgotten.
 * @param {string} wsUrl
 */
export function preconnect(wsUrl) {
  if (warm && warm.url === new URL(wsUrl).href && warm.readyState <= WebSocket.OPEN) return;
  let ws;
  try {
    ws = new WebSocket(wsUrl);
  } catch {
    return; // start() will try again, and report
  }
  warm = ws;
  openedAt.set(ws, performance.now());
  ws.addEventListener("close", () => {
    if (warm === ws) warm = null;
  });
}

/**
 * Takes a socket opened before this module ran (early.js) as if preconnect() had opened it at `openedAtMs`
 * (performance.now() then). A later preconnect() for its URL then does nothing.
 * @param {WebSocket} ws
 * @param {number} openedAtMs
 */
export function adoptPreconnected(ws, openedAtMs) {
  if (warm || ws.readyState > WebSocket.OPEN) {
    if (warm !== ws) ws.close(1000, "not used");
    return;
  }
  warm = ws;
  openedAt.set(ws, openedAtMs);
  ws.addEventListener("close", () => {
    if (warm === ws) warm = null;
  });
}

/**
 * The preconnected socket for `wsUrl`, if it is still usable; it is ours from now on.
 * @param {string} wsUrl
 * @returns {WebSocket|null}
 */
function claimWarm(wsUrl) {
  const ws = warm;
  warm = null;
  if (ws && ws.url === new URL(wsUrl).href && ws.readyState <= WebSocket.OPEN) return ws;
  if (ws) ws.close(1000, "not used");
  return null;
}

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
 * - `peer-joined`, `peer-left`, `signal`, `left`, `undelivered`: the server's messages
 * - `server-error`: the server's `error` message (every code), plus `fatal: true` when the session cannot go on
 * - `identity-lost`: a resume was refused (token void); the caller should start over as a new participant
 * - `gateway-error`: {message, retryInMs}: API Gateway refused or failed a request; we retry after retryInMs
 * - `too-large`: {action, bytes, limit, to?}: a message was not sent because it is over the limit
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
    this.limits = { ...DEFAULT_LIMITS };
    /** @type {{message: object, at: number}[]} */ this.recent = [];
    this.pausedUntil = 0;
    this.gatewayAttempt = 0;
    this.lastGatewayError = -Infinity;
    this.joinPending = false;
    this.joinsSent = 0; // on the current socket
    /**
     * Asked once, by the first fresh `join`: a payload for it to carry to the room's first member (`offer`,
     * docs/protocol.md), or null. `joined.offeredTo` says whether it was delivered, and to whom.
     * @type {((maxBytes: number) => object|null)|null}
     */
    this.joinOffer = null;
    this.stats = {
      sent: 0,
      received: 0,
      signalsSent: 0,
      reconnects: 0,
      throttled: 0,
      gatewayErrors: 0,
      resent: 0,
      tooLarge: 0,
      dropped: 0,
    };
  }

  /** Opens the socket and joins the room. */
  start() {
    this.stopped = false;
    this.#open();
  }

  /**
   * Sends `signal` to a peer of the room; queued while the socket is down, not joined yet, or backing off.
   * @param {string} to
   * @param {unknown} data
   * @returns {boolean} false if `data` is over `limits.maxSignalBytes` and was not sent (`too-large` says so)
   */
  signal(to, data) {
    const bytes = utf8Length(JSON.stringify(data));
    if (bytes > this.limits.maxSignalBytes) {
      this.#tooLarge({ action: "signal", bytes, limit: this.limits.maxSignalBytes, to });
      return false;
    }
    const message = { action: "signal", to, data };
    if (this.state !== "joined" || this.ws?.readyState !== WebSocket.OPEN || this.#paused()) {
      this.#enqueue(message);
      return true;
    }
    if (!this.#send(message)) return false;
    this.stats.signalsSent++;
    this.#remember(message);
    return true;
  }

  /** Leaves the room and closes the socket for good. */
  leave() {
    this.stopped = true;
    this.#clearTimers();
    if (this.ws?.readyState === WebSocket.OPEN && this.state === "joined") this.#send({ action: "leave" });
    this.#closeSocket(1000, "bye");
    this.queue = [];
    this.recent = [];
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
    this.recent = [];
  }

  #open() {
    this.#clearTimers();
    this.#setState(this.peerId ? "reconnecting" : "connecting", { attempt: this.attempt });
    let ws = this.peerId ? null : claimWarm(this.wsUrl); // a resume always opens a fresh socket
    if (!ws) {
      try {
        ws = new WebSocket(this.wsUrl);
      } catch {
        this.#scheduleReconnect();
        return;
      }
    }
    this.ws = ws;
    this.socketOpenedAt = openedAt.get(ws) ?? performance.now();
    this.joinsSent = 0;
    ws.addEventListener("open", () => {
      if (ws === this.ws) this.#sendJoin();
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
    if (ws.readyState === WebSocket.OPEN) this.#sendJoin(); // preconnected: its open event has been and gone
  }

  /** Sends `join` (resuming our identity if we have one); a pending join is retried after a gateway error. */
  #sendJoin() {
    const join = { action: "join", room: this.room, name: this.name };
    if (this.capacity) join.capacity = this.capacity;
    if (this.peerId && this.token) Object.assign(join, { peerId: this.peerId, token: this.token });
    else if (this.joinOffer) {
      const offer = this.joinOffer(this.limits.maxSignalBytes);
      this.joinOffer = null; // a join sent again (its fate unknown) goes without: the offer then follows `joined`
      if (offer) join.offer = offer;
    }
    clearTimeout(this.timers.join);
    if (!this.#send(join)) return; // only a name far over any limit could do this; too-large has said so
    this.joinPending = true;
    this.joinsSent++;
    this.timers.join = setTimeout(() => this.#dropped(), JOIN_TIMEOUT_MS);
  }

  #handle(message) {
    clearTimeout(this.timers.pong); // any message proves the socket is alive
    const refused = gatewayError(message);
    if (refused) {
      this.#onGatewayError(refused);
      return;
    }
    switch (message.type) {
      case "joined":
        clearTimeout(this.timers.join);
        clearTimeout(this.timers.joinRetry);
        this.joinPending = false;
        this.limits = readLimits(message.limits);
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
      case "left": // the answer to `leave`; membership events name their room and carry `seq` (roster.js)
      case "undelivered": // signals of ours that will never be delivered (docs/protocol.md rule 5)
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
    if (message.action === "ice") return; // the lobby's question on the preconnected socket, answered after the join
    const onJoin = message.action === "join" || (this.state !== "joined" && message.action === undefined);
    if (onJoin && message.code === "already-joined" && this.joinsSent > 1) {
      return; // a join we retried after a gateway error had got through after all: its `joined` is ours
    }
    if (onJoin && message.code === "invalid-token" && this.token) {
      // Our seat is gone (the server noticed our dead socket): the others were told we left.
      this.resetIdentity();
      this.#emit("identity-lost", message);
      this.#sendJoin();
      return;
    }
    const fatal = onJoin && FATAL_JOIN_ERRORS.has(message.code);
    this.#emit("server-error", { ...message, fatal });
    if (onJoin) {
      this.joinPending = false;
      clearTimeout(this.timers.joinRetry);
    }
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
    const age = performance.now() - (this.socketOpenedAt ?? performance.now());
    this.timers.age = setTimeout(() => this.reconnectNow(), Math.max(0, MAX_SOCKET_AGE_MS - age));
  }

  /** Sends a ping; a socket that stays silent for 10 s after it is treated as dropped. */
  ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.#send({ action: "ping" });
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => this.#dropped(), PONG_TIMEOUT_MS);
  }

  /**
   * API Gateway refused or failed one of our recent requests, without saying which. Back off (exponential, with
   * jitter, so a crowd of throttled clients spreads out), then retry a pending join and resend what was sent in the
   * last RESEND_WINDOW_MS. Nothing is resent more than once per error, and the backoff grows while errors keep
   * coming, so this never spins.
   * @param {string} refusal
   */
  #onGatewayError(refusal) {
    const now = performance.now();
    if (now - this.lastGatewayError > CALM_MS) this.gatewayAttempt = 0;
    this.lastGatewayError = now;
    if (refusal === "Too Many Requests") this.stats.throttled++;
    else this.stats.gatewayErrors++;
    const delay = backoffDelay(this.gatewayAttempt++);
    if (this.joinPending) {
      clearTimeout(this.timers.joinRetry);
      this.timers.joinRetry = setTimeout(() => {
        if (this.joinPending && this.ws?.readyState === WebSocket.OPEN) this.#sendJoin();
      }, delay);
    }
    const again = this.recent.filter((entry) => entry.at >= now - RESEND_WINDOW_MS).map((entry) => entry.message);
    this.recent = [];
    this.stats.resent += again.length;
    this.queue.unshift(...again);
    this.#trimQueue();
    this.pausedUntil = Math.max(this.pausedUntil, now + delay);
    this.#flush(); // paused: schedules the flush for when the pause ends
    this.#emit("gateway-error", { message: refusal, retryInMs: delay });
  }

  #paused() {
    return performance.now() < this.pausedUntil;
  }

  #remember(message) {
    const now = performance.now();
    this.recent.push({ message, at: now });
    while (this.recent.length > RESEND_MAX || (this.recent.length && this.recent[0].at < now - RESEND_WINDOW_MS)) {
      this.recent.shift();
    }
  }

  #enqueue(message) {
    this.queue.push(message);
    this.#trimQueue();
  }

  #trimQueue() {
    const excess = this.queue.length - QUEUE_MAX;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.stats.dropped += excess;
    }
  }

  #tooLarge(detail) {
    this.stats.tooLarge++;
    this.#emit("too-large", detail);
  }

  #dropped() {
    if (this.stopped) return;
    // What went out just before the socket died may not have arrived: send it again after the resume.
    this.queue.unshift(...this.recent.map((entry) => entry.message));
    this.recent = [];
    this.#trimQueue();
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
    if (this.state !== "joined" || this.ws?.readyState !== WebSocket.OPEN) return; // `joined` flushes
    if (this.#paused()) {
      clearTimeout(this.timers.resume);
      this.timers.resume = setTimeout(() => this.#flush(), this.pausedUntil - performance.now());
      return;
    }
    const pending = this.queue;
    this.queue = [];
    for (const message of pending) this.signal(message.to, message.data);
  }

  /**
   * One frame, if it fits: API Gateway closes the socket (1009) on a larger one.
   * @returns {boolean} whether it was sent
   */
  #send(message) {
    const text = JSON.stringify(message);
    const bytes = utf8Length(text);
    if (bytes > this.limits.maxFrameBytes) {
      this.#tooLarge({ action: message.action, bytes, limit: this.limits.maxFrameBytes, to: message.to });
      return false;
    }
    this.ws.send(text);
    this.stats.sent++;
    return true;
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
    clearTimeout(this.timers.joinRetry);
    clearTimeout(this.timers.resume);
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
