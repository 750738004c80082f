// Injected before any page script by the call-setup benchmarks. It records, in epoch milliseconds by the page's own
// clock, when this page's navigation started, when the join button was clicked, when it received `joined`, when its
// first peer connection reached ICE connected, and when a remote video frame was first decoded; and every frame of
// its signaling socket (bench/userpath.py counts the sequential hops from them). The page's own code is untouched.
// The first frame's size is kept too (tests/e2e/test_call.py checks what the call starts at).
(() => {
  const marks = (window.__bench = {
    navigation: performance.timeOrigin, click: null, joined: null, connected: null, firstFrame: null, firstFrameSize: null, trace: [],
  });
  const now = () => performance.timeOrigin + performance.now();

  document.addEventListener(
    "click",
    (event) => {
      if (marks.click === null && event.target.closest?.("[data-testid=join-button]")) marks.click = now();
    },
    true,
  );

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try {
          const message = JSON.parse(event.data);
          marks.trace.push({ dir: "in", at: now(), type: message.type ?? null, data: message.data === undefined ? null : JSON.stringify(message.data) });
          if (marks.joined === null && message.type === "joined") marks.joined = now();
        } catch {}
      });
    }

    send(text) {
      try {
        const message = JSON.parse(text);
        // A signal's payload, or the offer a `join` carries (relayed to the member as a `signal`).
        const data = message.data ?? message.offer;
        marks.trace.push({ dir: "out", at: now(), type: message.action ?? message.type ?? null, data: data === undefined || data === null ? null : JSON.stringify(data) });
      } catch {}
      return super.send(text);
    }
  };

  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      this.addEventListener("iceconnectionstatechange", () => {
        const state = this.iceConnectionState;
        if (marks.connected === null && (state === "connected" || state === "completed")) marks.connected = now();
      });
      this.addEventListener("track", (event) => {
        if (event.track.kind !== "video") return;
        // A tiny invisible video of our own decodes the remote track independently of how the page shows it.
        const probe = document.createElement("video");
        probe.muted = true;
        Object.assign(probe.style, { position: "fixed", left: "0", top: "0", width: "2px", height: "2px", opacity: "0", pointerEvents: "none" });
        document.body.append(probe);
        probe.srcObject = new MediaStream([event.track]);
        probe.requestVideoFrameCallback((_, meta) => {
          if (marks.firstFrame !== null) return;
          marks.firstFrame = performance.timeOrigin + meta.presentationTime;
          marks.firstFrameSize = { width: meta.width, height: meta.height };
        });
        probe.play().catch(() => {});
      });
    }
  };
})();
