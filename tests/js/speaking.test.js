// SpeakingDetector: sound lights the ring at once, it holds through short pauses, muting turns it off at once.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SPEAKING_HOLD_MS, SPEAKING_LEVEL, SpeakingDetector, receiverLevel } from "../../frontend/js/speaking.js";

test("silence is not speaking", () => {
  const d = new SpeakingDetector();
  assert.equal(d.feed(0, 0), false);
  assert.equal(d.feed(SPEAKING_LEVEL / 2, 100), false);
});

test("sound lights at once and holds through a pause shorter than the hold time", () => {
  const d = new SpeakingDetector();
  assert.equal(d.feed(SPEAKING_LEVEL, 1000), true);
  assert.equal(d.feed(0, 1000 + SPEAKING_HOLD_MS - 1), true);
  assert.equal(d.feed(0, 1000 + SPEAKING_HOLD_MS), false);
});

test("unknown level (muted, no audio) is off at once", () => {
  const d = new SpeakingDetector();
  assert.equal(d.feed(0.5, 0), true);
  assert.equal(d.feed(null, 10), false);
  assert.equal(d.feed(undefined, 20), false);
});

test("receiverLevel reads the first synchronization source, null without one", () => {
  assert.equal(receiverLevel(undefined), null);
  assert.equal(receiverLevel({ getSynchronizationSources: () => [] }), null);
  assert.equal(receiverLevel({ getSynchronizationSources: () => [{ audioLevel: 0.25 }] }), 0.25);
  assert.equal(receiverLevel({ getSynchronizationSources: () => [{}] }), null);
});
