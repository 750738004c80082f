// Small stand-ins for browser objects the client modules use, for node:test. Each records what the code did and
// lets a test deliver what the other side would say, one step at a time.

/** An RTCDataChannel: `sent` records every send; `bufferedAmount` grows with binary sends until `drain()`. */
export class FakeChannel extends EventTarget {
  constructor(readyState = "open") {
    super();
    this.readyState = readyState;
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    this.binaryType = "blob";
    /** @type {(string|ArrayBuffer)[]} */ this.sent = [];
    this.delivered = 0;
  }

  send(data) {
    if (this.readyState !== "open") throw new Error(`send on a ${this.readyState} channel`);
    this.sent.push(data);
    if (typeof data !== "string") this.bufferedAmount += data.byteLength;
  }

  /** The text messages sent so far, parsed. */
  texts() {
    return this.sent.filter((d) => typeof d === "string").map((d) => JSON.parse(d));
  }

  /** Bytes sent as binary so far. */
  binaryBytes() {
    return this.sent.filter((d) => typeof d !== "string").reduce((n, d) => n + d.byteLength, 0);
  }

  /** The peer says something. */
  receive(data) {
    const event = new Event("message");
    event.data = data;
    this.dispatchEvent(event);
  }

  /** Hands everything sent since the last call to `other` (the far end), in order. */
  deliverTo(other) {
    while (this.delivered < this.sent.length) other.receive(this.sent[this.delivered++]);
  }

  drain() {
    this.bufferedAmount = 0;
    this.dispatchEvent(new Event("bufferedamountlow"));
  }

  open() {
    this.readyState = "open";
    this.dispatchEvent(new Event("open"));
  }

  close() {
    this.readyState = "closed";
    this.dispatchEvent(new Event("close"));
  }
}

/** Lets every pending promise callback run (several rounds: the code under test chains awaits). */
export async function settle(rounds = 20) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A browser WebSocket, driven by the test: `accept()` opens it, `reply(obj)` delivers a frame, `drop()` closes it
 * from the far side. `FakeWebSocket.all` lists every socket made, newest last.
 */
export class FakeWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeWebSocket[]} */ static all = [];

  constructor(url) {
    super();
    this.url = url;
    this.readyState = FakeWebSocket.CONNECTING;
    /** @type {object[]} */ this.sent = [];
    this.closedWith = null;
    FakeWebSocket.all.push(this);
  }

  static get last() {
    return FakeWebSocket.all.at(-1);
  }

  send(text) {
    if (this.readyState !== FakeWebSocket.OPEN) throw new Error("InvalidStateError");
    this.sent.push(JSON.parse(text));
  }

  close(code, reason) {
    if (this.readyState >= FakeWebSocket.CLOSING) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.closedWith = { code, reason };
  }

  accept() {
    this.readyState = FakeWebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  reply(message) {
    const event = new Event("message");
    event.data = typeof message === "string" ? message : JSON.stringify(message);
    this.dispatchEvent(event);
  }

  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.dispatchEvent(new Event("close"));
  }

  /** Actions sent, in order. */
  actions() {
    return this.sent.map((m) => m.action);
  }
}
