import assert from "node:assert/strict";
import { test } from "node:test";

import { GAP_TIMEOUT_MS, SeqCounter, SeqReorderer } from "../../frontend/js/ordering.js";

function reorderer(t) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const delivered = [];
  return { delivered, r: new SeqReorderer((p) => delivered.push(p.seq ?? p.id)) };
}

test("the counter stamps 1, 2, 3 and keeps the payload", () => {
  const counter = new SeqCounter();
  assert.deepEqual(counter.stamp({ a: 1 }), { seq: 1, a: 1 });
  assert.equal(counter.stamp({}).seq, 2);
  assert.equal(counter.stamp({}).seq, 3);
});

test("payloads out of order are released in order", (t) => {
  const { delivered, r } = reorderer(t);
  for (const seq of [3, 1, 4, 2]) r.push({ seq });
  assert.deepEqual(delivered, [1, 2, 3, 4]);
});

test("duplicates and old payloads are dropped", (t) => {
  const { delivered, r } = reorderer(t);
  for (const seq of [1, 1, 3, 3, 2, 2, 1]) r.push({ seq });
  assert.deepEqual(delivered, [1, 2, 3]);
});

test("a gap is waited for, then skipped after GAP_TIMEOUT_MS", (t) => {
  const { delivered, r } = reorderer(t);
  r.push({ seq: 1 });
  r.push({ seq: 3 });
  r.push({ seq: 5 });
  t.mock.timers.tick(GAP_TIMEOUT_MS - 1);
  assert.deepEqual(delivered, [1], "2 may still come");
  t.mock.timers.tick(1);
  assert.deepEqual(delivered, [1, 3], "2 given up; 4 gets its own wait");
  r.push({ seq: 2 }); // too late: dropped
  t.mock.timers.tick(GAP_TIMEOUT_MS);
  assert.deepEqual(delivered, [1, 3, 5]);
  r.push({ seq: 4 });
  r.push({ seq: 6 });
  assert.deepEqual(delivered, [1, 3, 5, 6]);
});

test("a gap that fills in time cancels the skip", (t) => {
  const { delivered, r } = reorderer(t);
  r.push({ seq: 2 });
  t.mock.timers.tick(GAP_TIMEOUT_MS / 2);
  r.push({ seq: 1 });
  r.push({ seq: 4 });
  t.mock.timers.tick(GAP_TIMEOUT_MS / 2);
  assert.deepEqual(delivered, [1, 2], "the wait for 3 started when 4 came");
  t.mock.timers.tick(GAP_TIMEOUT_MS / 2);
  assert.deepEqual(delivered, [1, 2, 4]);
});

test("a payload without seq passes at once; close stops the gap timer", (t) => {
  const { delivered, r } = reorderer(t);
  r.push({ seq: 2 });
  r.push({ id: "unordered" });
  assert.deepEqual(delivered, ["unordered"]);
  r.close();
  t.mock.timers.tick(GAP_TIMEOUT_MS * 2);
  assert.deepEqual(delivered, ["unordered"]);
});
