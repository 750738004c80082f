// Call-setup work that does not depend on the room, done while the person is still in the lobby: the DTLS
// certificate every peer connection of the call will use (generating one is part of an offer's cost otherwise). The
// WebRTC stack and its codec factories are loaded by the first connection, which the lobby prepares (prepared.js).

/** @type {RTCCertificate|null} */ let certificate = null;
let started = false;

/** Starts the work (once per page); never throws, and a browser that cannot do it simply gets no head start. */
export function prewarm() {
  if (started || typeof RTCPeerConnection === "undefined") return;
  started = true;
  RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" })
    .then((generated) => (certificate = generated))
    .catch(() => {});
}

/**
 * The certificates option for a new RTCPeerConnection: the prewarmed certificate once it exists (and while it is
 * valid), otherwise nothing (the browser makes one itself).
 * @returns {RTCCertificate[]|undefined}
 */
export function certificates() {
  return certificate && certificate.expires > Date.now() + 60_000 ? [certificate] : undefined;
}
