// early.js, the page's classic script: it asks for camera and microphone with the constraints media.js uses, and
// for /config.json, once, and opens the socket config.json names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

import { VIDEO_CONSTRAINTS } from "../../frontend/js/media.js";

const SOURCE = readFileSync(new URL("../../frontend/js/early.js", import.meta.url), "utf8");

/** Runs early.js in a fresh global with a recording navigator, fetch and WebSocket; returns what it asked for. */
function runEarly(config = "response") {
  const asked = { media: [], fetched: [], sockets: [] };
  const window = {};
  const context = {
    window,
    navigator: { mediaDevices: { getUserMedia: (constraints) => (asked.media.push(constraints), Promise.resolve("stream")) } },
    fetch: (url, init) => (asked.fetched.push([url, init]), Promise.resolve(config)),
    WebSocket: class {
      constructor(url) {
        asked.sockets.push(url);
      }
    },
    performance: { now: () => 1234 },
  };
  vm.runInNewContext(SOURCE, context);
  return { asked, window };
}

test("asks for both kinds with media.js's constraints, and for config.json, once", async () => {
  const { asked, window } = runEarly();
  assert.equal(asked.media.length, 1);
  assert.equal(asked.media[0].audio, true);
  assert.deepEqual(JSON.parse(JSON.stringify(asked.media[0].video)), VIDEO_CONSTRAINTS);
  // No init: index.html preloads config.json, and only a request with the default cache mode can use the preload.
  assert.equal(asked.fetched.length, 1);
  assert.deepEqual(asked.fetched[0], ["config.json", undefined]);
  assert.equal(await window.parleyEarly.media, "stream");
  assert.equal(await window.parleyEarly.config, "response");
});

/** A config.json response as fetch resolves it. */
const response = (body, ok = true) => ({ ok, clone: () => ({ json: async () => body }) });

test("opens the signaling socket named in config.json, and says when", async () => {
  const { asked, window } = runEarly(response({ wsUrl: "wss://api.example/prod" }));
  const early = await window.parleyEarly.socket;
  assert.deepEqual(asked.sockets, ["wss://api.example/prod"]);
  assert.equal(early.openedAt, 1234);
});

test("opens no socket for a config.json without a ws(s) URL, or a failed one", async () => {
  for (const config of [response({ wsUrl: "https://api.example/prod" }), response({}), response(null, false)]) {
    const { asked, window } = runEarly(config);
    assert.equal(await window.parleyEarly.socket, null);
    assert.deepEqual(asked.sockets, []);
  }
});
