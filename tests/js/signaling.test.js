import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { backoffDelay, gatewayError, SignalingClient } from "../../frontend/js/signaling.js";
import { FakeWebSocket } from "./fakes.js";

const JOINED = { type: "joined", peerId: "p-me", token: "tok", peers: [], limits: { maxFrameBytes: 32768, maxSignalBytes: 31744 } };

/** A client on fake sockets, fake timers and a fake clock; `events` records every event type with its detail. */
function client(t) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  let now = 1000;
  t.mock.method(performance, "now", () => now);
  t.mock.method(Math, "random", () => 1); // the top of every jitter range
  const original = globalThis.WebSocket;
  globalThis.WebSocket = FakeWebSocket;
  t.after(() => {
    globalThis.WebSocket = original;
  });
  const signaling = new SignalingClient({ wsUrl: "ws://127.0.0.1:1/", room: "room-1", name: "Ada" });
  const events = [];
  for (const type of ["state", "joined", "server-error", "identity-lost", "gateway-error", "too-large", "signal"]) {
    signaling.addEventListener(type, (e) => events.push([type, e.detail]));
  }
  const advance = (ms) => {
    now += ms;
    t.mock.timers.tick(ms);
  };
  return { signaling, events, advance, of: (type) => events.filter(([n]) => n === type).map(([, d]) => d) };
}

function joinedClient(t) {
  const c = client(t);
  c.signaling.start();
  FakeWebSocket.last.accept();
  FakeWebSocket.last.reply(JOINED);
  return c;
}

beforeEach(() => {
  FakeWebSocket.all = [];
});

test("backoff: full jitter over 0.4 s doubling, at most 15 s", (t) => {
  t.mock.method(Math, "random", () => 1);
  assert.deepEqual([0, 1, 2, 3, 5, 6, 20].map(backoffDelay), [400, 800, 1600, 3200, 12800, 15000, 15000]);
  t.mock.method(Math, "random", () => 0);
  assert.deepEqual([0, 1, 6].map(backoffDelay), [200, 400, 7500]);
});

test("gateway errors are API Gateway's own frames only", () => {
  assert.equal(gatewayError({ message: "Too Many Requests", connectionId: "x" }), "Too Many Requests");
  assert.equal(gatewayError({ message: "Internal server error" }), "Internal server error");
  assert.equal(gatewayError({ type: "error", message: "Too Many Requests" }), null);
  assert.equal(gatewayError({ message: "Forbidden" }), null);
  assert.equal(gatewayError(null), null);
});

test("joins on open, queues signals until joined, then sends them in order", (t) => {
  const { signaling, of } = client(t);
  signaling.start();
  assert.equal(signaling.state, "connecting");
  signaling.signal("p-1", { seq: 1 });
  signaling.signal("p-1", { seq: 2 });
  const ws = FakeWebSocket.last;
  ws.accept();
  assert.deepEqual(ws.sent, [{ action: "join", room: "room-1", name: "Ada" }]);
  ws.reply(JOINED);
  assert.equal(signaling.state, "joined");
  assert.equal(of("joined").length, 1);
  assert.deepEqual(ws.sent.slice(1), [
    { action: "signal", to: "p-1", data: { seq: 1 } },
    { action: "signal", to: "p-1", data: { seq: 2 } },
  ]);
});

test("a dropped socket reconnects after the backoff delay and resumes the same identity, resending recent signals", (t) => {
  const { signaling, advance, of } = joinedClient(t);
  signaling.signal("p-1", { seq: 7 });
  FakeWebSocket.last.drop();
  assert.equal(signaling.state, "reconnecting");
  const { delay } = of("state").at(-1);
  assert.equal(delay, 400);
  advance(delay - 1);
  assert.equal(FakeWebSocket.all.length, 1, "not before the delay");
  advance(1);
  assert.equal(FakeWebSocket.all.length, 2);
  const ws = FakeWebSocket.last;
  ws.accept();
  assert.deepEqual(ws.sent[0], { action: "join", room: "room-1", name: "Ada", peerId: "p-me", token: "tok" });
  ws.reply({ ...JOINED, resumed: true });
  assert.deepEqual(ws.sent.slice(1), [{ action: "signal", to: "p-1", data: { seq: 7 } }]);
  assert.equal(signaling.state, "joined");
});

test("repeated failures back off further each time, and success starts again from the bottom", (t) => {
  const { signaling, advance, of } = client(t);
  signaling.start();
  const delays = [];
  for (let i = 0; i < 4; i++) {
    FakeWebSocket.last.drop();
    delays.push(of("state").at(-1).delay);
    advance(delays.at(-1));
  }
  assert.deepEqual(delays, [400, 800, 1600, 3200]);
  FakeWebSocket.last.accept();
  FakeWebSocket.last.reply(JOINED);
  FakeWebSocket.last.drop();
  assert.equal(of("state").at(-1).delay, 400);
});

test("a join without an answer for 10 s counts as a dropped socket", (t) => {
  const { signaling, advance } = client(t);
  signaling.start();
  FakeWebSocket.last.accept();
  advance(9999);
  assert.equal(FakeWebSocket.all[0].closedWith, null);
  advance(1);
  assert.equal(FakeWebSocket.all[0].closedWith.code, 4002);
  assert.equal(signaling.state, "connecting");
});

test("a silent socket after a ping is dropped after 10 s; any message keeps it", (t) => {
  const { signaling, advance } = joinedClient(t);
  const ws = FakeWebSocket.last;
  advance(5 * 60 * 1000);
  assert.equal(ws.actions().at(-1), "ping");
  ws.reply({ type: "pong" });
  advance(10_000);
  assert.equal(ws.closedWith, null);
  advance(5 * 60 * 1000 - 10_000);
  advance(10_000);
  assert.equal(ws.closedWith.code, 4002);
  assert.equal(signaling.state, "reconnecting");
});

test("room-full on join is fatal: closed, said, and no reconnect", (t) => {
  const { signaling, advance, of } = client(t);
  signaling.start();
  FakeWebSocket.last.accept();
  FakeWebSocket.last.reply({ type: "error", action: "join", code: "room-full", message: "Room is full (2 of 2)" });
  assert.equal(signaling.state, "closed");
  assert.equal(of("server-error")[0].fatal, true);
  advance(60_000);
  assert.equal(FakeWebSocket.all.length, 1);
});

test("a non-fatal error on join reconnects", (t) => {
  const { signaling, of } = client(t);
  signaling.start();
  FakeWebSocket.last.accept();
  FakeWebSocket.last.reply({ type: "error", action: "join", code: "internal", message: "boom" });
  assert.equal(of("server-error")[0].fatal, false);
  assert.equal(signaling.state, "connecting");
  assert.equal(FakeWebSocket.all[0].closedWith.code, 4001);
});

test("an error after joining is only reported", (t) => {
  const joined = joinedClient(t);
  FakeWebSocket.last.reply({ type: "error", action: "signal", code: "unknown-peer", message: "gone" });
  assert.equal(joined.signaling.state, "joined");
  assert.equal(joined.of("server-error")[0].fatal, false);
});

test("a refused resume (invalid-token) starts over as a newcomer", (t) => {
  const { signaling, advance, of } = joinedClient(t);
  FakeWebSocket.last.drop();
  advance(of("state").at(-1).delay);
  const ws = FakeWebSocket.last;
  ws.accept();
  ws.reply({ type: "error", action: "join", code: "invalid-token", message: "expired" });
  assert.equal(of("identity-lost").length, 1);
  assert.deepEqual(ws.sent.at(-1), { action: "join", room: "room-1", name: "Ada" });
  assert.equal(signaling.peerId, null);
});

test("Too Many Requests: back off, then resend the last signals once, in order", (t) => {
  const { signaling, advance, of } = joinedClient(t);
  const ws = FakeWebSocket.last;
  signaling.signal("p-1", { seq: 1 });
  signaling.signal("p-1", { seq: 2 });
  ws.reply({ message: "Too Many Requests", connectionId: "c", requestId: "r" });
  const [{ retryInMs }] = of("gateway-error");
  assert.equal(retryInMs, 400);
  signaling.signal("p-1", { seq: 3 }); // produced during the pause: queued
  const before = ws.sent.length;
  advance(retryInMs - 1);
  assert.equal(ws.sent.length, before);
  advance(1);
  assert.deepEqual(
    ws.sent.slice(before).map((m) => m.data.seq),
    [1, 2, 3],
  );
  assert.equal(signaling.stats.throttled, 1);
  assert.equal(signaling.stats.resent, 2);
});

test("a signal over the limit is not sent and is reported; the socket stays", (t) => {
  const { signaling, of } = joinedClient(t);
  const ws = FakeWebSocket.last;
  const sent = ws.sent.length;
  assert.equal(signaling.signal("p-1", { blob: "x".repeat(40_000) }), false);
  assert.equal(ws.sent.length, sent);
  const [detail] = of("too-large");
  assert.equal(detail.action, "signal");
  assert.equal(detail.to, "p-1");
  assert.equal(detail.limit, 31744);
  assert.equal(ws.closedWith, null);
});

test("leave sends leave, closes for good and drops the queue", (t) => {
  const { signaling, advance } = joinedClient(t);
  const ws = FakeWebSocket.last;
  signaling.leave();
  assert.equal(ws.actions().at(-1), "leave");
  assert.equal(ws.closedWith.code, 1000);
  assert.equal(signaling.state, "closed");
  advance(60_000);
  assert.equal(FakeWebSocket.all.length, 1);
});
