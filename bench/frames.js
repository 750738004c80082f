// Injected before any page script by the signal-size benchmark: records the size of every frame the page sends on
// its signaling socket, and what it carried. The page's own code is untouched.
(() => {
  const frames = (window.__frames = []);
  const encoder = new TextEncoder();
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    send(text) {
      const record = { bytes: encoder.encode(String(text)).length, action: null, kind: null, dataBytes: 0, candidates: 0 };
      try {
        const message = JSON.parse(text);
        record.action = message.action ?? null;
        // A signal's payload, or the first offer a `join` carries (`offer`, docs/protocol.md): both are relayed.
        const relayed = message.action === "signal" ? message.data : message.action === "join" ? message.offer : null;
        if (relayed) {
          const data = relayed;
          record.dataBytes = encoder.encode(JSON.stringify(data)).length;
          record.kind = data.description?.type ?? (Array.isArray(data.candidates) ? "candidates" : "other");
          record.candidates = Array.isArray(data.candidates) ? data.candidates.length : 0;
        }
      } catch {}
      record.phase = window.__phase ?? "setup";
      frames.push(record);
      return super.send(text);
    }
  };
})();

// Eight pages encode and decode 56 video streams on a test machine's two cores: capture small and slow, so that
// they keep up. Capture size and frame rate do not appear in the session descriptions being measured.
(() => {
  const media = navigator.mediaDevices;
  if (!media) return;
  const small = (video) => (video ? { ...(typeof video === "object" ? video : {}), width: 160, height: 90, frameRate: 5 } : video);
  const getUserMedia = media.getUserMedia.bind(media);
  media.getUserMedia = (constraints = {}) => getUserMedia({ ...constraints, video: small(constraints.video) });
  if (media.getDisplayMedia) {
    const getDisplayMedia = media.getDisplayMedia.bind(media);
    media.getDisplayMedia = (constraints = {}) => getDisplayMedia({ ...constraints, video: { frameRate: 5 } });
  }
})();
