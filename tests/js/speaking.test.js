// SpeakingDetector: sound lights the ring at once, it holds through short pauses, muting turns it off at once.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SPEAKING_HOLD_MS, SPEAKING_LEVEL, SpeakingDetector, energyLevel } from "../../frontend/js/speaking.js";

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

test("energyLevel: the RMS over the interval between two readings", () => {
  const first = energyLevel(null, { totalAudioEnergy: 1, totalSamplesDuration: 10 });
  assert.equal(first.level, null);
  const second = energyLevel(first.reading, { totalAudioEnergy: 1 + 0.25 * 0.2, totalSamplesDuration: 10.2 });
  assert.ok(Math.abs(second.level - 0.5) < 1e-9, second.level);
  // no new audio: no level, the reading kept
  assert.equal(energyLevel(second.reading, { totalAudioEnergy: 1.05, totalSamplesDuration: 10.2 }).level, null);
  // no audio stats at all
  assert.deepEqual(energyLevel(second.reading, undefined), { level: null, reading: null });
});
