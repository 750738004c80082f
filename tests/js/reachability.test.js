// ReachabilityWatch with a fake clock: unreachable only after the whole window without a join; a join clears it;
// retry restarts the window.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ReachabilityWatch } from "../../frontend/js/reachability.js";

function fakeClock() {
  let now = 0;
  let next = 1;
  const timers = new Map();
  return {
    setTimeout(fn, ms) {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && timers.has(id)) {
          timers.delete(id);
          t.fn();
        }
      }
    },
  };
}

test("unreachable after the window without a join, reachable again on join", () => {
  const clock = fakeClock();
  const seen = [];
  const watch = new ReachabilityWatch((v) => seen.push(v), clock, 1000);
  watch.update("reconnecting");
  clock.advance(999);
  assert.deepEqual(seen, []);
  watch.update("reconnecting"); // further attempts do not restart the window
  clock.advance(1);
  assert.deepEqual(seen, [true]);
  assert.equal(watch.unreachable, true);
  watch.update("joined");
  assert.deepEqual(seen, [true, false]);
});

test("a join inside the window cancels it", () => {
  const clock = fakeClock();
  const seen = [];
  const watch = new ReachabilityWatch((v) => seen.push(v), clock, 1000);
  watch.update("connecting");
  clock.advance(500);
  watch.update("joined");
  clock.advance(5000);
  assert.deepEqual(seen, []);
});

test("retry clears the state and starts a new window", () => {
  const clock = fakeClock();
  const seen = [];
  const watch = new ReachabilityWatch((v) => seen.push(v), clock, 1000);
  watch.update("reconnecting");
  clock.advance(1000);
  watch.retry();
  assert.deepEqual(seen, [true, false]);
  clock.advance(999);
  assert.deepEqual(seen, [true, false]);
  clock.advance(1);
  assert.deepEqual(seen, [true, false, true]);
});

test("stop cancels the window; closed is never unreachable", () => {
  const clock = fakeClock();
  const seen = [];
  const watch = new ReachabilityWatch((v) => seen.push(v), clock, 1000);
  watch.update("reconnecting");
  watch.update("closed");
  clock.advance(2000);
  watch.update("reconnecting");
  watch.stop();
  clock.advance(2000);
  assert.deepEqual(seen, []);
});
