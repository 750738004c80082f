// Half-trickle (frontend/js/batcher.js): the first candidates go at once, later ones in windows, the end at once.
// Timers are node:test's mock timers: nothing here waits for real time.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CandidateBatcher, LATER_WINDOW_MS } from "../../frontend/js/batcher.js";

const candidate = (n) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, toJSON: () => ({ n }) });

function batcher(t) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const batches = [];
  return { batches, b: new CandidateBatcher((batch) => batches.push(batch)) };
}

test("the first candidates of a round leave at the end of their task, together", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  b.add(candidate(2));
  assert.deepEqual(batches, []);
  t.mock.timers.tick(0);
  assert.deepEqual(batches, [{ candidates: [{ n: 1 }, { n: 2 }] }]);
});

test("later candidates wait for their window; end-of-candidates flushes at once with end", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  t.mock.timers.tick(0);
  b.add(candidate(2));
  t.mock.timers.tick(LATER_WINDOW_MS - 1);
  assert.equal(batches.length, 1);
  b.add(candidate(3));
  b.add(null);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 2 }, { n: 3 }], end: true });
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.equal(batches.length, 2, "the flushed window does not fire again");
});

test("a later candidate alone leaves when its window closes", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  t.mock.timers.tick(0);
  b.add(candidate(2));
  t.mock.timers.tick(LATER_WINDOW_MS);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 2 }] });
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

test("after the end (an ICE restart) the first candidates go at once again", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  t.mock.timers.tick(0);
  b.add(null);
  b.add(candidate(4));
  t.mock.timers.tick(0);
  assert.deepEqual(batches.at(-1), { candidates: [{ n: 4 }] });
});

test("close drops what is pending", (t) => {
  const { batches, b } = batcher(t);
  b.add(candidate(1));
  b.close();
  t.mock.timers.tick(LATER_WINDOW_MS * 2);
  assert.deepEqual(batches, []);
});
