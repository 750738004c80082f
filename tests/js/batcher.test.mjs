// Half-trickle (frontend/js/batcher.js): the first candidates go at once, later ones in windows, the end at once.
// Run: node --test tests/js/*.test.mjs   (timers are node:test's mock timers: nothing here waits for real time)
import assert from "node:assert/strict";
import { test } from "node:test";

import { CandidateBatcher, LATER_WINDOW_MS } from "../../frontend/js/batcher.js";

const candidate = (n) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, toJSON: () => ({ candidate: `c${n}` }) });

function batcher() {
  const sent = [];
  return { sent, batcher: new CandidateBatcher((batch) => sent.push(batch)) };
}

test("the first candidates leave at the end of their task, together", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { sent, batcher: b } = batcher();
  b.add(candidate(1));
  b.add(candidate(2));
  assert.deepEqual(sent, []);
  t.mock.timers.tick(0);
  assert.deepEqual(sent, [{ candidates: [{ candidate: "c1" }, { candidate: "c2" }] }]);
});

test("later candidates wait for their window; the end flushes at once", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { sent, batcher: b } = batcher();
  b.add(candidate(1));
  t.mock.timers.tick(0);
  b.add(candidate(2));
  t.mock.timers.tick(LATER_WINDOW_MS - 1);
  assert.equal(sent.length, 1);
  b.add(candidate(3));
  b.add(null);
  assert.deepEqual(sent.at(-1), { candidates: [{ candidate: "c2" }, { candidate: "c3" }], end: true });
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.equal(sent.length, 2); // the window's timer was cleared with the flush
});

test("after the end (an ICE restart) the first candidates go at once again", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { sent, batcher: b } = batcher();
  b.add(candidate(1));
  t.mock.timers.tick(0);
  b.add(null);
  b.add(candidate(4));
  t.mock.timers.tick(0);
  assert.deepEqual(sent.at(-1), { candidates: [{ candidate: "c4" }] });
});

test("close drops what is pending", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { sent, batcher: b } = batcher();
  b.add(candidate(1));
  b.close();
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.deepEqual(sent, []);
});

