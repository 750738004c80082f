import assert from "node:assert/strict";
import { test } from "node:test";

import { CandidateBatcher, FIRST_WINDOW_MS, LATER_WINDOW_MS } from "../../frontend/js/batcher.js";

const candidate = (n) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, toJSON: () => ({ n }) });

function batcher(t) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const batches = [];
  return { batches, b: new CandidateBatcher((batch) => batches.push(batch)) };
}

test("the first candidates of a round go together after the first window", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  t.mock.timers.tick(FIRST_WINDOW_MS - 1);
  b.add(candidate(2));
  assert.deepEqual(batches, []);
  t.mock.timers.tick(1);
  assert.deepEqual(batches, [{ candidates: [{ n: 1 }, { n: 2 }] }]);
});

test("later candidates ride in shorter windows; end-of-candidates flushes at once with end", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  t.mock.timers.tick(FIRST_WINDOW_MS);
  b.add(candidate(2));
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 2 }] });
  b.add(candidate(3));
  b.add(null);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 3 }], end: true });
  t.mock.timers.tick(FIRST_WINDOW_MS);
  assert.equal(batches.length, 3, "the flushed window does not fire again");
});

test("end with nothing pending still says end; an empty candidate string means end too", (t) => {
  const { batches, b } = batcher(t);
  b.add(null);
  b.add({ candidate: "" });
  assert.deepEqual(batches, [
    { candidates: [], end: true },
    { candidates: [], end: true },
  ]);
});

test("a new round after end opens a first window again", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  b.add(null);
  b.add(candidate(2));
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.equal(batches.length, 1);
  t.mock.timers.tick(FIRST_WINDOW_MS - LATER_WINDOW_MS);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 2 }] });
});

test("close drops what is pending", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  b.close();
  t.mock.timers.tick(FIRST_WINDOW_MS * 2);
  assert.deepEqual(batches, []);
});
