// RemoteSessions: the session rule of docs/protocol.md section 2.7 (current sid, a new sid's offer restarts, its
// early payloads held and replayed in order, an abandoned sid's payloads dropped, everything bounded).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ENDED_MAX, HELD_MAX, RemoteSessions } from "../../frontend/js/sessions.js";

const offer = (sid) => ({ seq: 1, sid, description: { type: "offer", sdp: "v=0" } });
const candidates = (sid, seq) => ({ seq, sid, candidates: [], end: false });

test("the first sid heard is the current session, and its payloads are delivered", () => {
  const sessions = new RemoteSessions();
  assert.deepEqual(sessions.route(offer("a")), { action: "deliver" });
  assert.deepEqual(sessions.route(candidates("a", 2)), { action: "deliver" });
  assert.equal(sessions.current, "a");
});

test("a payload without a sid is delivered and changes nothing", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("a"));
  assert.deepEqual(sessions.route({ seq: 2, candidates: [] }), { action: "deliver" });
  assert.equal(sessions.current, "a");
});

test("a new sid's payloads before its offer are held, then replayed in order behind the offer", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("a"));
  assert.deepEqual(sessions.route(candidates("b", 2)), { action: "hold" });
  assert.deepEqual(sessions.route(candidates("b", 3)), { action: "hold" });
  const route = sessions.route(offer("b"));
  assert.deepEqual(route, { action: "restart", replay: [candidates("b", 2), candidates("b", 3)] });
  assert.equal(sessions.current, "b");
  assert.deepEqual(sessions.route(candidates("b", 4)), { action: "deliver" });
});

test("a new sid whose seq 1 is not an offer does not restart", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("a"));
  assert.deepEqual(sessions.route({ seq: 1, sid: "b", description: { type: "answer", sdp: "v=0" } }), {
    action: "hold",
  });
  assert.deepEqual(sessions.route({ seq: 2, sid: "b", description: { type: "offer", sdp: "v=0" } }), {
    action: "hold",
  });
  assert.equal(sessions.current, "a");
});

test("late payloads of an abandoned session are dropped, and not replayed into the next one", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("a"));
  sessions.route(offer("b"));
  assert.deepEqual(sessions.route(candidates("a", 5)), { action: "drop" });
  assert.deepEqual(sessions.route(offer("a")), { action: "drop" }); // an old offer delivered late starts nothing
  sessions.route(candidates("x", 2)); // held for x
  assert.deepEqual(sessions.route(offer("c")), { action: "restart", replay: [] }); // x's are not c's
});

test("held payloads are bounded: the oldest go", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("a"));
  for (let seq = 2; seq < 2 + HELD_MAX + 10; seq++) sessions.route(candidates("b", seq));
  assert.equal(sessions.held.length, HELD_MAX);
  const { replay } = sessions.route(offer("b"));
  assert.equal(replay.length, HELD_MAX);
  assert.equal(replay[0].seq, 12);
});

test("abandoned sids are bounded: the oldest is forgotten, and its late payloads are only held", () => {
  const sessions = new RemoteSessions();
  sessions.route(offer("s0"));
  for (let n = 1; n <= ENDED_MAX + 1; n++) sessions.route(offer(`s${n}`));
  assert.equal(sessions.ended.length, ENDED_MAX);
  assert.deepEqual(sessions.route(candidates("s1", 9)), { action: "drop" });
  assert.deepEqual(sessions.route(candidates("s0", 9)), { action: "hold" });
});
