// Call-setup work that does not depend on the room, done while the person is still in the lobby: the DTLS
// certificate every peer connection of the call will use (generating one is part of the first offer's cost
// otherwise), and one throwaway connection that makes an offer and closes, so that the WebRTC stack and its codec
// factories are loaded before the first real connection needs them.

/** @type {RTCCertificate|null} */ let certificate = null;
let started = false;

/** Starts the work (once per page); never throws, and a browser that cannot do it simply gets no head start. */
export function prewarm() {
  if (started || typeof RTCPeerConnection === "undefined") return;
  started = true;
  RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" })
    .then((generated) => (certificate = generated))
    .catch(() => {});
  try {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.createOffer()
      .catch(() => {})
      .finally(() => pc.close());
  } catch {
    /* no head start */
  }
}

/**
 * The certificates option for a new RTCPeerConnection: the prewarmed certificate once it exists (and while it is
 * valid), otherwise nothing (the browser makes one itself).
 * @returns {RTCCertificate[]|undefined}
 */
export function certificates() {
  return certificate && certificate.expires > Date.now() + 60_000 ? [certificate] : undefined;
}
