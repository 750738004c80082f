// The newcomer's first connection, made while the person is still in the lobby. Whoever joins a room offers to
// everyone already there (protocol rule 4), so the first offer can exist before anyone clicks: with the camera and
// microphone open and the ICE servers known (the server answers `ice` on the preconnected socket), the connection,
// its transceivers and data channels, its offer and its ICE candidates are all made in the lobby. On `joined`, the
// first peer's connection takes it over (Peer, `prepared`) and its offer leaves at once, every candidate inside:
// creating the offer, setting it and gathering leave the critical path of joining (bench/userpath.py).
//
// One at a time, for the first peer only: an offer belongs to one connection, and a connection to one peer.

import { holdTurnReports, releaseTurnReports } from "./icepolicy.js";
import { addMediaTransceivers, connectionConfiguration, openDataChannels } from "./peer.js";

/** After this long unused, a prepared offer is not taken (a fresh one is made): its network may have changed. */
export const PREPARED_MAX_AGE_MS = 5 * 60 * 1000;

export class PreparedOffer {
  /**
   * Makes the connection and starts its offer now.
   * @param {{iceServers: RTCIceServer[], tracks: {audio: MediaStreamTrack|null, video: MediaStreamTrack|null}}} options
   */
  constructor({ iceServers, tracks }) {
    this.tracks = { audio: tracks.audio ?? null, video: tracks.video ?? null };
    this.iceServers = iceServers;
    this.madeAt = performance.now();
    this.pc = new RTCPeerConnection(connectionConfiguration(iceServers));
    holdTurnReports(this.pc); // a relay's refusal is news for the call that uses this connection, not the lobby
    /** @type {((candidate: RTCIceCandidate|null) => void)|null} */ this.sink = null;
    // Until handOver(), candidates only accumulate in the local description, where the offer will carry them.
    this.pc.addEventListener("icecandidate", ({ candidate }) => this.sink?.(candidate));
    const { transceivers, scaledDown } = addMediaTransceivers(this.pc, this.tracks);
    this.transceivers = transceivers;
    this.scaledDown = scaledDown;
    this.channels = openDataChannels(this.pc);
    this.offer = this.pc.setLocalDescription();
    this.offer.catch(() => {}); // handOver() reports it
  }

  /**
   * Whether this connection can be the first peer's now: it sends exactly `tracks`, its offer did not fail, and it
   * is recent.
   * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} tracks
   */
  fits(tracks) {
    return (
      this.pc.signalingState !== "closed" &&
      (tracks.audio ?? null) === this.tracks.audio &&
      (tracks.video ?? null) === this.tracks.video &&
      performance.now() - this.madeAt < PREPARED_MAX_AGE_MS
    );
  }

  /**
   * The offer to send, once set: with every candidate gathered so far in its SDP, and whether gathering is over
   * (then nothing follows it). Candidates found later go to `sink` (null: end of candidates) from this moment on.
   * @param {(candidate: RTCIceCandidate|null) => void} sink
   * @returns {Promise<{description: RTCSessionDescriptionInit, complete: boolean}>}
   */
  async handOver(sink) {
    await this.offer;
    // Read and switched over in one task: no candidate event can fall between the description and the sink.
    const description = this.pc.localDescription.toJSON();
    const complete = this.pc.iceGatheringState === "complete";
    this.sink = sink;
    releaseTurnReports(this.pc);
    return { description, complete };
  }

  close() {
    this.pc.close();
  }
}

/** @type {PreparedOffer|null} */ let prepared = null;

/**
 * Prepares the first offer for these tracks and ICE servers, replacing an earlier one (closed) unless that one was
 * made with the same servers and still fits the tracks.
 * @param {{iceServers: RTCIceServer[], tracks: {audio: MediaStreamTrack|null, video: MediaStreamTrack|null}}} options
 */
export function prepareFirstOffer(options) {
  if (prepared && prepared.iceServers === options.iceServers && prepared.fits(options.tracks)) return;
  discardPreparedOffer();
  try {
    prepared = new PreparedOffer(options);
  } catch {
    prepared = null; // no head start; the first peer makes its own
  }
}

/**
 * The prepared offer, if it fits `tracks` (PreparedOffer.fits); it is the caller's from now on. One that does not
 * fit is closed. Null when there is none.
 * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} tracks
 * @returns {PreparedOffer|null}
 */
export function takePreparedOffer(tracks) {
  const taken = prepared;
  prepared = null;
  if (taken && !taken.fits(tracks)) {
    taken.close();
    return null;
  }
  return taken;
}

/**
 * What is prepared now, for the console and the tests (window.parley.prepared()): null, or the connection's
 * signaling and gathering states and what it sends.
 * @returns {{signalingState: string, iceGatheringState: string, audio: boolean, video: boolean}|null}
 */
export function preparedState() {
  if (!prepared) return null;
  const { signalingState, iceGatheringState } = prepared.pc;
  return { signalingState, iceGatheringState, audio: Boolean(prepared.tracks.audio), video: Boolean(prepared.tracks.video) };
}

/** Closes the prepared offer, if any (the room turned out empty, or the lobby's tracks changed). */
export function discardPreparedOffer() {
  prepared?.close();
  prepared = null;
}
