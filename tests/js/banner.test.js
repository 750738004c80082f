// The error banner's timed hide (ui.showBanner's hideAfterMs) with node:test's mock timers and a minimal fake DOM:
// a pending hide belongs to the banner that set it, so an earlier message's (or an ended call's) timer never hides
// a later one.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { hideBanner, showBanner } from "../../frontend/js/ui.js";

function fakeElement() {
  return { textContent: "", hidden: true, dataset: {}, addEventListener() {} };
}

let elements;
beforeEach((context) => {
  context.mock.timers.enable({ apis: ["setTimeout"] });
  elements = new Map();
  globalThis.document = {
    getElementById(id) {
      if (!elements.has(id)) elements.set(id, fakeElement());
      return elements.get(id);
    },
  };
});

const banner = () => elements.get("error-banner");

test("a banner with hideAfterMs hides itself after that long", (context) => {
  showBanner("The server is busy.", { code: "gateway", hideAfterMs: 5000 });
  context.mock.timers.tick(4999);
  assert.equal(banner().hidden, false);
  context.mock.timers.tick(1);
  assert.equal(banner().hidden, true);
});

test("a later banner is not hidden by the timer of the one it replaced, even with the same code", (context) => {
  showBanner("Could not reach the server.", { code: "unavailable", hideAfterMs: 8000 });
  context.mock.timers.tick(7000);
  showBanner("Could not reach the server, again.", { code: "unavailable" }); // e.g. the next call's, untimed
  context.mock.timers.tick(60_000);
  assert.equal(banner().hidden, false);
  assert.equal(elements.get("error-text").textContent, "Could not reach the server, again.");
});

test("a later timed banner keeps its own full time", (context) => {
  showBanner("First.", { code: "media", hideAfterMs: 10_000 });
  context.mock.timers.tick(9000);
  showBanner("Second.", { code: "media", hideAfterMs: 10_000 });
  context.mock.timers.tick(9000);
  assert.equal(banner().hidden, false);
  context.mock.timers.tick(1000);
  assert.equal(banner().hidden, true);
});

test("hiding another code leaves the banner and its timer alone; hiding its own cancels the timer", (context) => {
  showBanner("Reconnecting.", { code: "signaling", hideAfterMs: 3000 });
  hideBanner("media");
  assert.equal(banner().hidden, false);
  context.mock.timers.tick(2000);
  assert.equal(banner().hidden, false);
  hideBanner("signaling");
  assert.equal(banner().hidden, true);
});
