// The first things a page load starts, before the app's other modules have arrived: index.html loads this module
// `async`, so it runs as soon as it (and media.js) are fetched, while the rest of the app is still on its way. The
// camera and microphone take the longest to open and /config.json tells where the signaling socket is; app.js and
// the lobby take these over (once) instead of starting them again.

import { openLocalMedia } from "./media.js";

let media = openLocalMedia(); // both, default devices: what the lobby opens first; never rejects
let config = fetch("config.json", { cache: "no-store" });
config.catch(() => {}); // app.js reports a failure when it reads it

/**
 * The camera and microphone opened at page load, the first time they are asked for; null afterwards.
 * @returns {ReturnType<typeof openLocalMedia>|null}
 */
export function takeEarlyMedia() {
  const taken = media;
  media = null;
  return taken;
}

/**
 * The /config.json response requested at page load, the first time it is asked for; null afterwards.
 * @returns {Promise<Response>|null}
 */
export function takeEarlyConfig() {
  const taken = config;
  config = null;
  return taken;
}
