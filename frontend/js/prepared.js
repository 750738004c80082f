// The newcomer's first connection, made while the person is still in the lobby. Whoever joins a room offers to
// everyone already there (protocol rule 4), so the first offer can exist before anyone clicks: once the ICE servers
// are known (config.json, or `ice` on the preconnected socket), the connection, its transceivers and data channels,
// its offer and its ICE candidates are made in the lobby, while the camera is still opening; the tracks are attached
// when they arrive (replaceTrack: the offer does not depend on them, only on which kinds are sent). On `joined`, the
// first peer's connection takes it over (Peer, `prepared`) and its offer leaves at once, every candidate inside:
// creating the offer, setting it and gathering leave the critical path of joining (bench/userpath.py).
//
// When the offer is set by the time `join` leaves, `join` carries it (`offer`, docs/protocol.md): the server posts it
// to the room's first member right behind `peer-joined`, one trip instead of two, and `joined.offeredTo` says who.
//
// One at a time, for the first peer only: an offer belongs to one connection, and a connection to one peer.

import { holdTurnReports, releaseTurnReports } from "./icepolicy.js";
import { addMediaTransceivers, connectionConfiguration, newSid, openDataChannels, scaleForStart } from "./peer.js";
import { utf8Length } from "./limits.js";

/** After this long unused, a prepared offer is not taken (a fresh one is made): its network may have changed. */
export const PREPARED_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * @typedef {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} Tracks
 * @typedef {{audio: boolean, video: boolean}} Kinds which kinds are sent
 */

export class PreparedOffer {
  /**
   * Makes the connection and starts its offer now.
   * @param {{iceServers: RTCIceServer[], kinds: Kinds}} options
   */
  constructor({ iceServers, kinds }) {
    this.kinds = { audio: Boolean(kinds.audio), video: Boolean(kinds.video) };
    this.iceServers = iceServers;
    this.madeAt = performance.now();
    this.sid = newSid(); // the session this connection is, in every payload (the Peer that takes it keeps it)
    /** @type {object|null} the offer's payload, once made for `join` (joinPayload) */ this.payload = null;
    /** @type {(RTCIceCandidate|null)[]} candidates found after the payload was made, until handOver */ this.later = [];
    /** @type {Tracks} */ this.tracks = { audio: null, video: null };
    this.attached = Promise.resolve();
    this.pc = new RTCPeerConnection(connectionConfiguration(iceServers));
    holdTurnReports(this.pc); // a relay's refusal is news for the call that uses this connection, not the lobby
    /** @type {((candidate: RTCIceCandidate|null) => void)|null} */ this.sink = null;
    // Until handOver(), candidates only accumulate in the local description, where the offer will carry them.
    this.pc.addEventListener("icecandidate", ({ candidate }) => this.sink?.(candidate));
    // Sending, or not, each kind as `kinds` says; the tracks come with attach().
    this.transceivers = addMediaTransceivers(this.pc, { audio: null, video: null }, this.kinds).transceivers;
    this.scaledDown = false;
    this.channels = openDataChannels(this.pc);
    this.offer = this.pc.setLocalDescription();
    this.offer.catch(() => {}); // handOver() reports it
  }

  /** Whether the offer is still being set (neither set nor failed yet). */
  get settingOffer() {
    return this.pc.signalingState === "stable" && this.pc.localDescription === null;
  }

  /**
   * Whether this connection can be the first peer's now: it sends exactly the kinds of `tracks`, its offer did not
   * fail, and it is recent.
   * @param {Tracks} tracks
   */
  fits(tracks) {
    return (
      this.pc.signalingState !== "closed" &&
      Boolean(tracks.audio) === this.kinds.audio &&
      Boolean(tracks.video) === this.kinds.video &&
      performance.now() - this.madeAt < PREPARED_MAX_AGE_MS
    );
  }

  /**
   * Sends `tracks` (of the kinds this connection was made for), the video scaled down for the start as a fresh
   * connection's would be (peer.js startScale).
   * @param {Tracks} tracks
   */
  attach(tracks) {
    const changed = ["audio", "video"].filter((kind) => (tracks[kind] ?? null) !== this.tracks[kind]);
    if (changed.length === 0) return; // what the call takes over is usually what the lobby attached
    for (const kind of changed) this.tracks[kind] = tracks[kind] ?? null;
    this.attached = this.attached.then(async () => {
      for (const kind of changed) await this.transceivers[kind].sender.replaceTrack(this.tracks[kind]);
      if (changed.includes("video")) this.scaledDown = await scaleForStart(this.transceivers.video.sender);
    });
    this.attached.catch(() => {}); // handOver() reports it
  }

  /**
   * The offer as its session's first payload (seq 1, every candidate gathered so far in its SDP, and `end` when
   * gathering is over), for `join` to carry; null if the offer is not set yet or the payload would be over
   * `maxBytes`. Once made, it is the offer: candidates found later wait for handOver.
   * @param {number} maxBytes
   * @returns {object|null}
   */
  joinPayload(maxBytes) {
    if (this.payload) return this.payload;
    if (this.pc.signalingState !== "have-local-offer") return null;
    // Read and switched over in one task: no candidate event can fall between the description and the sink.
    const payload = this.#payload();
    if (utf8Length(JSON.stringify(payload)) > maxBytes) return null;
    this.payload = payload;
    this.sink = (candidate) => this.later.push(candidate);
    return payload;
  }

  /**
   * The offer's payload once set (the one joinPayload made, if it did): `sid`, `seq` 1, the description with every
   * candidate gathered so far, and `candidates: [], end: true` when gathering is over (nothing follows it).
   * Candidates found from this moment on go to `sink` (null: end of candidates); `later` are those found since
   * joinPayload made the payload, for the caller to pass on after it. The tracks may still be being attached
   * (`attached`): the offer does not depend on them.
   * @param {(candidate: RTCIceCandidate|null) => void} sink
   * @returns {Promise<{payload: object, later: (RTCIceCandidate|null)[]}>}
   */
  async handOver(sink) {
    await this.offer;
    const payload = this.payload ?? this.#payload();
    this.payload = payload;
    this.sink = sink;
    releaseTurnReports(this.pc);
    return { payload, later: this.later.splice(0) };
  }

  #payload() {
    const description = this.pc.localDescription.toJSON();
    const complete = this.pc.iceGatheringState === "complete";
    return { sid: this.sid, seq: 1, description, ...(complete ? { candidates: [], end: true } : {}) };
  }

  close() {
    this.pc.close();
  }
}

/** @type {PreparedOffer|null} */ let prepared = null;

/**
 * Prepares the first offer for these ICE servers and kinds, replacing an earlier one (closed) unless that one was
 * made with the same servers and kinds; then attaches `tracks`, if given (the lobby's, once the camera is open).
 * @param {{iceServers: RTCIceServer[], kinds: Kinds, tracks?: Tracks|null}} options
 */
export function prepareFirstOffer({ iceServers, kinds, tracks = null }) {
  const same = (p) => p.iceServers === iceServers && p.kinds.audio === kinds.audio && p.kinds.video === kinds.video;
  if (!prepared || !same(prepared) || prepared.pc.signalingState === "closed") {
    discardPreparedOffer();
    try {
      prepared = new PreparedOffer({ iceServers, kinds });
    } catch {
      prepared = null; // no head start; the first peer makes its own
      return;
    }
  }
  if (tracks) prepared.attach(tracks);
}

/**
 * The prepared offer, if it fits `tracks` (PreparedOffer.fits), with them attached; it is the caller's from now on.
 * One that does not fit is closed. Null when there is none.
 * @param {Tracks} tracks
 * @returns {PreparedOffer|null}
 */
export function takePreparedOffer(tracks) {
  const taken = prepared;
  prepared = null;
  if (taken && !taken.fits(tracks)) {
    taken.close();
    return null;
  }
  taken?.attach(tracks);
  return taken;
}

/**
 * What is prepared now, for the console and the tests (window.parley.prepared()): null, or the connection's
 * signaling and gathering states and which kinds it sends.
 * @returns {{signalingState: string, iceGatheringState: string, audio: boolean, video: boolean}|null}
 */
export function preparedState() {
  if (!prepared) return null;
  const { signalingState, iceGatheringState } = prepared.pc;
  return { signalingState, iceGatheringState, ...prepared.kinds };
}

/** Closes the prepared offer, if any (before preparing one for other ICE servers or kinds). */
function discardPreparedOffer() {
  prepared?.close();
  prepared = null;
}
