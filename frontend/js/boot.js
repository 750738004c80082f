// The module side of the page's early start (early.js, a classic script, started the camera, the microphone,
// /config.json and the signaling socket before any module ran). app.js and the lobby take these over, once, instead
// of starting them again. Should this module run before early.js (the order of async scripts is not guaranteed), it
// starts media and config itself and claims `parleyEarly`, so that early.js then does nothing.

import { openLocalMedia } from "./media.js";

const early =
  window.parleyEarly ?? (window.parleyEarly = { by: "boot.js", claimed: true, media: null, config: null, socket: null });
early.claimed = true;
/** @type {ReturnType<typeof openLocalMedia>|null} */
let media = openLocalMedia({ started: early.media ?? undefined }); // never rejects
/** @type {Promise<Response>|null} */
let config = early.config ?? fetch("config.json", { cache: "no-store" });
config.catch(() => {}); // app.js reports a failure when it reads it
/** @type {Promise<{ws: WebSocket, openedAt: number}|null>} */
let socket = early.socket ?? Promise.resolve(null);
early.media = early.config = early.socket = null; // ours now: nothing else may take the stream

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

/**
 * The signaling socket early.js opened ({ws, openedAt}, or null if it opened none), the first time it is asked
 * for; null afterwards.
 * @returns {Promise<{ws: WebSocket, openedAt: number}|null>|null}
 */
export function takeEarlySocket() {
  const taken = socket;
  socket = null;
  return taken;
}
