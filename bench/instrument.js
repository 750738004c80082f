// Injected before any page script by the call-setup benchmark. It records, in epoch milliseconds, when this page
// received `joined`, when its first peer connection reached ICE connected, and when a remote video frame was
// first decoded; the page's own code is untouched.
(() => {
  const marks = (window.__bench = { joined: null, connected: null, firstFrame: null });
  const now = () => performance.timeOrigin + performance.now();

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try {
          if (marks.joined === null && JSON.parse(event.data).type === "joined") marks.joined = now();
        } catch {}
      });
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
          if (marks.firstFrame === null) marks.firstFrame = performance.timeOrigin + meta.presentationTime;
        });
        probe.play().catch(() => {});
      });
    }
  };
})();
