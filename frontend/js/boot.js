// The module side of the page's early start: early.js (inline in index.html, so it ran before any module) started
// the camera, the microphone, /config.json and the signaling socket. app.js and the lobby take these over, once,
// instead of starting them again. Had early.js not run (a policy that refused it), this starts media and config
// itself.

import { openLocalMedia } from "./media.js";

const early = window.parleyEarly ?? {};
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
