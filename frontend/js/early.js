// The first thing a page load runs: index.html carries this file inline (allowed by its hash in the CSP; the copy is
// written by `python -m infra.page`), so it runs while the page is parsed, before any script is fetched. Module
// scripts run only once the whole module graph is fetched and compiled (200 ms and more after navigation on a two-core
// machine), and even an async classic script waited ~100 ms past its arrival (bench/userpath.py's traces), so what
// takes longest starts here: opening the camera and microphone, and the signaling socket (its address is in
// /config.json, which index.html preloads). None of it depends on the room. boot.js (a module) takes all three over.
(() => {
  // The same constraints as media.js's VIDEO_CONSTRAINTS (tests/js/early.test.js checks).
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  const early = { media: null, config: null, socket: null };
  if (navigator.mediaDevices?.getUserMedia) {
    early.media = navigator.mediaDevices.getUserMedia({ audio: true, video });
    early.media.catch(() => {}); // boot.js reads the failure and tries each kind alone
  }
  // No cache mode: the request must match index.html's preload of it (the server marks it no-store anyway).
  early.config = fetch("config.json");
  early.config.catch(() => {}); // app.js reports a failure when it reads it
  // Resolves to {ws, openedAt} or null; signaling.js adopts the socket (app.js), as if its preconnect() had made it.
  early.socket = early.config
    .then((response) => (response.ok ? response.clone().json() : null))
    .then((config) => {
      if (typeof config?.wsUrl !== "string" || !/^wss?:\/\//.test(config.wsUrl)) return null;
      const openedAt = performance.now();
      return { ws: new WebSocket(config.wsUrl), openedAt };
    })
    .catch(() => null);
  window.parleyEarly = early;
})();
