// frontend/js/peer.js startScale: how far a video track is scaled down for the start of a call. Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { startScale } from "../../frontend/js/peer.js";

// libwebrtc drops a call's first frames (VideoStreamEncoder::DropDueToSize) when they are larger than 320x240 pixels
// while the video's bitrate is under 300 kbps, as it is at the start: 300 kbps less the audio's share.
const LARGEST_KEPT_AT_START = 320 * 240;

const camera = (width, height) => ({ kind: "video", getSettings: () => ({ width, height }) });

test("every common camera size starts within what the start bitrate keeps, without scaling more than it must", () => {
  for (const [width, height] of [[640, 480], [960, 540], [1280, 720], [1920, 1080], [3840, 2160], [480, 360]]) {
    const scale = startScale(camera(width, height));
    assert.ok((width / scale) * (height / scale) <= LARGEST_KEPT_AT_START, `${width}x${height} at 1/${scale}`);
    const finer = scale - 0.25; // the next step of scaleResolutionDownBy startScale could have chosen
    assert.ok(finer < 1 || (width / finer) * (height / finer) > LARGEST_KEPT_AT_START, `${width}x${height}`);
  }
});

test("a source already small enough, audio, and no track are sent as they are", () => {
  assert.equal(startScale(camera(320, 240)), 1);
  assert.equal(startScale(camera(320, 180)), 1);
  assert.equal(startScale({ kind: "audio", getSettings: () => ({}) }), 1);
  assert.equal(startScale(null), 1);
});
