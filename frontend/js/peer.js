// One RTCPeerConnection to one remote participant, negotiated with "perfect negotiation" (webrtc/samples
// perfect-negotiation/js/peer.js, MDN's guide): either side may renegotiate at any time; on glare the polite side
// rolls back. Polite iff our peerId sorts before theirs (plain string comparison), so both sides agree.
//
// Who starts (protocol rule 4): the newcomer creates its transceivers and data channels at once, which fires
// `negotiationneeded` and sends the first offer. An existing member creates the connection empty and adds nothing
// until the first remote offer has been applied, so it never offers first.
//
// Every connection has exactly one audio and one video transceiver (the first of each kind in m-line order) plus
// two negotiated data channels, so later changes (camera off/on, screen share, device switch) are replaceTrack and
// direction changes, never new m-lines.

import { CandidateBatcher } from "./batcher.js";
import { splitCandidates, utf8Length } from "./limits.js";
import { SeqCounter, SeqReorderer } from "./ordering.js";
import { certificates } from "./prewarm.js";

export const CHAT_CHANNEL = { label: "chat", id: 0 };
export const FILE_CHANNEL = { label: "file", id: 1 };
const DISCONNECTED_GRACE_MS = 4000;
const OFFER_ANSWER_TIMEOUT_MS = 10000;
const FIRST_OFFER_FALLBACK_MS = 10000;
// The first frame: WebRTC starts every call at a bandwidth estimate of 300 kbps, of which the video gets what the
// audio leaves (a little under 300 kbps), and its encoder drops the first frames of a source too large for that
// (libwebrtc's initial frame dropping, VideoStreamEncoder::DropDueToSize: up to four frames, above 320x240 pixels
// under 300 kbps, and with its default limits above 640x360 under 500 kbps) while it asks the camera for a smaller
// size: a 720p camera so loses up to ~130 ms of the call's first video. Instead the video starts scaled down to
// 320x240's pixel count (START_PIXELS; smaller sources are sent as they are) and goes to full size once the estimate
// has grown past FULL_SIZE_BPS (or after FULL_SIZE_AFTER_MS whatever it says).
const START_PIXELS = 320 * 240;
const FULL_SIZE_BPS = 1_000_000;
const FULL_SIZE_CHECK_MS = 500;
const FULL_SIZE_AFTER_MS = 15000;

/**
 * How much to scale a video track down for the start of a call (1 = not at all).
 * @param {MediaStreamTrack|null} track
 * @returns {number}
 */
export function startScale(track) {
  if (!track || track.kind !== "video") return 1;
  const { width = 0, height = 0 } = track.getSettings();
  const pixels = width * height;
  return pixels > START_PIXELS ? Math.ceil(Math.sqrt(pixels / START_PIXELS) * 4) / 4 : 1;
}

/**
 * Scales the sender's video for the start of a call (startScale of its track; 1 undoes an earlier scaling), after the
 * transceiver exists: the answerer's side, and a prepared connection's whose track came later.
 * @param {RTCRtpSender} sender
 * @returns {Promise<boolean>} whether the video now starts scaled down
 */
export async function scaleForStart(sender) {
  const scale = startScale(sender.track);
  const parameters = sender.getParameters();
  const encoding = parameters.encodings?.[0];
  if (!encoding) return false;
  if ((encoding.scaleResolutionDownBy ?? 1) !== scale) {
    encoding.scaleResolutionDownBy = scale;
    await sender.setParameters(parameters);
  }
  return scale > 1;
}

/** A new session id (`sid`, docs/protocol.md section 2.7): 12 characters from [0-9a-z]. */
export function newSid() {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(36).padStart(2, "0")).join("");
}

/**
 * The configuration of every connection: the ICE servers, one transport for everything, and the prewarmed DTLS
 * certificate once it exists.
 * @param {RTCIceServer[]} iceServers
 * @returns {RTCConfiguration}
 */
export function connectionConfiguration(iceServers) {
  const configuration = { iceServers, bundlePolicy: "max-bundle" };
  const prewarmed = certificates();
  if (prewarmed) configuration.certificates = prewarmed;
  return configuration;
}

/**
 * The offerer's media: one audio and one video transceiver, sending `tracks` (receive-only for a missing one), the
 * video scaled down for the start when it is larger than the start estimate carries (startScale). With `sends`, a
 * kind can be sendrecv before its track exists (prepared.js attaches it later).
 * @param {RTCPeerConnection} pc
 * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} tracks
 * @param {{audio: boolean, video: boolean}} [sends] which kinds are sent (default: those with a track)
 * @returns {{transceivers: {audio: RTCRtpTransceiver, video: RTCRtpTransceiver}, scaledDown: boolean}}
 */
export function addMediaTransceivers(pc, tracks, sends = { audio: Boolean(tracks.audio), video: Boolean(tracks.video) }) {
  const transceivers = {};
  let scaledDown = false;
  for (const kind of ["audio", "video"]) {
    const track = tracks[kind] ?? null;
    const init = { direction: sends[kind] ? "sendrecv" : "recvonly" };
    const scale = startScale(track);
    if (scale > 1) init.sendEncodings = [{ scaleResolutionDownBy: scale }];
    if (kind === "video") scaledDown = scale > 1;
    transceivers[kind] = pc.addTransceiver(track ?? kind, init);
  }
  return { transceivers, scaledDown };
}

/**
 * The two negotiated data channels (section 2.4 of docs/protocol.md).
 * @param {RTCPeerConnection} pc
 * @returns {{chat: RTCDataChannel, file: RTCDataChannel}}
 */
export function openDataChannels(pc) {
  const chat = pc.createDataChannel(CHAT_CHANNEL.label, { negotiated: true, id: CHAT_CHANNEL.id });
  const file = pc.createDataChannel(FILE_CHANNEL.label, { negotiated: true, id: FILE_CHANNEL.id });
  file.binaryType = "arraybuffer";
  return { chat, file };
}

/**
 * Events: `state` {connectionState, iceConnectionState, signalingState}, `track` {track}, `channels`
 * {chat, file} once the data channels exist, `negotiated` after each completed offer/answer, `error` {error}.
 */
export class Peer extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.selfId our peerId
   * @param {string} options.peerId theirs
   * @param {string} options.name their display name
   * @param {RTCIceServer[]} options.iceServers from `joined`
   * @param {boolean} options.initiator true when we are the newcomer (we offer first)
   * @param {(data: object) => void} options.send sends one payload to this peer through signaling
   * @param {() => number} options.maxPayloadBytes the largest payload signaling accepts now (`maxSignalBytes`)
   * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} options.tracks what we send now
   * @param {import("./prepared.js").PreparedOffer|null} [options.prepared] a connection whose offer was made in the
   *   lobby, for the newcomer's first peer: it is sent at once (its candidates inside), nothing is made again
   * @param {boolean} [options.offered] the prepared offer reached this peer already, carried by our `join`
   */
  constructor({ selfId, peerId, name, iceServers, initiator, send, maxPayloadBytes, tracks, prepared = null, offered = false }) {
    super();
    this.peerId = peerId;
    this.name = name;
    // Names this connection object in every payload, so the other side can tell a new session from a late message.
    this.sid = prepared ? prepared.sid : newSid();
    this.polite = selfId < peerId;
    this.tracks = { ...tracks };
    this.sendRaw = send;
    this.maxPayloadBytes = maxPayloadBytes;
    this.seq = new SeqCounter();
    this.reorderer = new SeqReorderer((payload) => this.#enqueue(payload));
    this.batcher = new CandidateBatcher((batch) => this.#sendCandidates(batch));
    this.remoteStream = new MediaStream();
    this.started = false;
    this.closed = false;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.work = Promise.resolve();
    this.timers = {};
    this.transceivers = { audio: null, video: null };
    this.channels = null;
    /** @type {boolean|undefined} */ this.scaledDown = undefined; // the video started scaled down (startScale)
    this.setupStartedAt = performance.now();
    this.connectedAt = null;

    const pc = (this.pc = prepared ? prepared.pc : new RTCPeerConnection(connectionConfiguration(iceServers)));
    // A prepared connection hands its later candidates over itself (#sendPrepared).
    if (!prepared) pc.addEventListener("icecandidate", ({ candidate }) => this.batcher.add(candidate));
    pc.addEventListener("negotiationneeded", () => this.#offer());
    pc.addEventListener("track", ({ track }) => {
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.#emit("track", { track });
    });
    pc.addEventListener("connectionstatechange", () => this.#onConnectionState());
    pc.addEventListener("iceconnectionstatechange", () => this.#emitState());
    pc.addEventListener("signalingstatechange", () => this.#emitState());

    if (prepared) this.#sendPrepared(prepared, offered);
    else if (initiator) this.#start();
    else this.timers.fallback = setTimeout(() => this.#start(), FIRST_OFFER_FALLBACK_MS);
  }

  /**
   * Handles one `signal.data` from this peer (any order; applied in seq order).
   * @param {object} data
   */
  receive(data) {
    if (!this.closed && data && typeof data === "object") this.reorderer.push(data);
  }

  /**
   * Changes what we send. A kind going from no track to a track (or back) changes the transceiver's direction,
   * which renegotiates; swapping one track for another (device switch, screen share over camera) does not.
   * @param {{audio?: MediaStreamTrack|null, video?: MediaStreamTrack|null}} tracks
   */
  async setTracks(tracks) {
    Object.assign(this.tracks, tracks);
    if (this.started && !this.closed) await this.#applyTracks();
  }

  /** Starts negotiating now, as the newcomer would (a peer in our `joined.peers` we had already heard of). */
  start() {
    this.#start();
  }

  /** Restarts ICE if the connection is not healthy (after signaling comes back, for instance). */
  restartIceIfNeeded() {
    const state = this.pc.connectionState;
    if (this.started && (state === "failed" || state === "disconnected")) this.pc.restartIce();
  }

  /** Closes the connection for good. */
  close() {
    if (this.closed) return;
    this.closed = true;
    Object.values(this.timers).forEach(clearTimeout);
    this.reorderer.close();
    this.batcher.close();
    this.pc.close();
    this.#emitState();
  }

  #start() {
    if (this.started || this.closed) return;
    this.started = true;
    clearTimeout(this.timers.fallback);
    const { transceivers, scaledDown } = addMediaTransceivers(this.pc, this.tracks);
    this.transceivers = transceivers;
    this.scaledDown = scaledDown;
    this.#openChannels();
    // Offer now rather than in a later task when `negotiationneeded` fires: the event then finds the offer made.
    this.#offer();
  }

  /**
   * The newcomer's first connection, made in the lobby: its offer goes now, with every candidate gathered so far,
   * unless our `join` carried it to this peer already (`offered`); later candidates follow it.
   */
  async #sendPrepared(prepared, offered) {
    this.started = true;
    this.makingOffer = true; // until the prepared offer has gone: a `negotiationneeded` meanwhile waits for it
    this.transceivers = { ...prepared.transceivers };
    this.channels = prepared.channels;
    this.seq.next = 2; // the offer is this session's first payload (seq 1), whoever carries it
    try {
      const { payload, later } = await prepared.handOver((candidate) => this.batcher.add(candidate));
      // Whether the video starts scaled down is known once the tracks are attached, well before it connects.
      prepared.attached.then(() => this.#startedScaledDown(prepared.scaledDown)).catch((error) => this.#emit("error", { error }));
      if (!offered && !this.closed) this.sendRaw(payload);
      for (const candidate of later) this.batcher.add(candidate); // found after `join` carried the offer
      this.timers.answer = setTimeout(() => this.#answerOverdue(), OFFER_ANSWER_TIMEOUT_MS);
    } catch (error) {
      this.#emit("error", { error });
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * After the first remote offer: adopt the offer's transceivers as ours and set their directions at once; the
   * returned promise attaches our tracks to them.
   * @returns {Promise<void>}
   */
  #adoptRemoteTransceivers() {
    this.started = true;
    clearTimeout(this.timers.fallback);
    for (const kind of ["audio", "video"]) {
      if (this.transceivers[kind] && !this.transceivers[kind].stopped) continue;
      this.transceivers[kind] =
        this.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === kind) ?? null;
    }
    if (!this.channels) this.#openChannels();
    // The directions now (the answer says them); the tracks and the start scaling may follow it: the answer does
    // not depend on them, and the other side's ICE checks should not wait for them.
    this.#applyDirections();
    return (async () => {
      await this.#replaceTracks();
      await this.#startScaledDown();
    })();
  }

  /** The answerer's side of the start scaling (the offerer asked for it in addTransceiver). */
  async #startScaledDown() {
    if (this.scaledDown !== undefined) return; // decided once, at the first negotiation
    this.scaledDown = false;
    const sender = this.transceivers.video?.sender;
    if (!sender) return;
    try {
      this.#startedScaledDown(await scaleForStart(sender));
    } catch {
      this.scaledDown = false; // the browser would not: full size from the start, as before
    }
  }

  /**
   * Whether the video starts scaled down, once known (setParameters, or the prepared connection's tracks, can settle
   * after the connection is up): if it is and the connection is up already, it grows to full size from now.
   * @param {boolean} scaledDown
   */
  #startedScaledDown(scaledDown) {
    this.scaledDown = scaledDown;
    if (scaledDown && this.connectedAt !== null) this.#growToFullSize();
  }

  /** Once the bandwidth estimate carries it (or after a while regardless), the video goes to full size. */
  #growToFullSize() {
    if (!this.scaledDown || this.timers.fullSize) return;
    const started = performance.now();
    const check = async () => {
      if (this.closed) return;
      let bps = 0;
      try {
        const report = await this.pc.getStats();
        for (const stat of report.values()) {
          if (stat.type === "candidate-pair" && stat.nominated && stat.availableOutgoingBitrate) bps = stat.availableOutgoingBitrate;
        }
      } catch {
        /* closed meanwhile */
      }
      if (bps < FULL_SIZE_BPS && performance.now() - started < FULL_SIZE_AFTER_MS) {
        this.timers.fullSize = setTimeout(check, FULL_SIZE_CHECK_MS);
        return;
      }
      const sender = this.transceivers.video?.sender;
      try {
        const parameters = sender.getParameters();
        if (parameters.encodings?.length) {
          parameters.encodings[0].scaleResolutionDownBy = 1;
          await sender.setParameters(parameters);
        }
      } catch {
        /* closed, or renegotiating: it stays scaled down, which costs sharpness, not the call */
      }
      this.scaledDown = false;
    };
    this.timers.fullSize = setTimeout(check, FULL_SIZE_CHECK_MS);
  }

  async #applyTracks() {
    this.#applyDirections();
    await this.#replaceTracks();
  }

  /** Each transceiver sends if we have a track of its kind (a change renegotiates). */
  #applyDirections() {
    for (const kind of ["audio", "video"]) {
      const transceiver = this.transceivers[kind];
      if (!transceiver || transceiver.stopped) continue;
      const direction = this.tracks[kind] ? "sendrecv" : "recvonly";
      if (transceiver.direction !== direction) transceiver.direction = direction;
    }
  }

  async #replaceTracks() {
    for (const kind of ["audio", "video"]) {
      const transceiver = this.transceivers[kind];
      if (!transceiver || transceiver.stopped) continue;
      const track = this.tracks[kind] ?? null;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    }
  }

  #openChannels() {
    this.channels = openDataChannels(this.pc);
    this.#emit("channels", this.channels);
  }

  async #offer() {
    if (!this.started || this.closed) return; // an existing member waits for the newcomer's offer
    // Already offering (start() offers at once, and the `negotiationneeded` that follows finds the offer made); a
    // need that arises meanwhile fires the event again once the connection is back to stable.
    if (this.makingOffer || this.pc.signalingState !== "stable") return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      if (this.pc.localDescription.type !== "offer") return;
      this.#send({ description: this.pc.localDescription.toJSON() });
      clearTimeout(this.timers.answer);
      this.timers.answer = setTimeout(() => this.#answerOverdue(), OFFER_ANSWER_TIMEOUT_MS);
    } catch (error) {
      this.#emit("error", { error });
    } finally {
      this.makingOffer = false;
    }
  }

  /** Our offer went unanswered (lost in a dropped socket): roll back and offer again. */
  async #answerOverdue() {
    if (this.closed || this.pc.signalingState !== "have-local-offer") return;
    this.#enqueueTask(async () => {
      if (this.pc.signalingState !== "have-local-offer") return;
      await this.pc.setLocalDescription({ type: "rollback" });
      this.pc.restartIce(); // makes sure negotiationneeded fires again
    });
  }

  #enqueue(payload) {
    this.#enqueueTask(() => this.#apply(payload));
  }

  #enqueueTask(task) {
    this.work = this.work.then(task).catch((error) => {
      if (!this.closed) this.#emit("error", { error });
    });
  }

  async #apply({ description, candidates, end }) {
    if (this.closed) return;
    const pc = this.pc;
    if (description) {
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await pc.setRemoteDescription(description); // rolls back our own offer if we are polite and collided
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        const attaching = this.#adoptRemoteTransceivers();
        await pc.setLocalDescription();
        this.#send({ description: pc.localDescription.toJSON() });
        await attaching;
      } else {
        clearTimeout(this.timers.answer);
        this.#emit("negotiated", {});
      }
    }
    for (const candidate of candidates ?? []) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) this.#emit("error", { error });
      }
    }
    if (end && !this.ignoreOffer) {
      await pc.addIceCandidate().catch(() => {}); // end-of-candidates; older stacks may not support it
    }
  }

  #send(payload) {
    if (!this.closed) this.sendRaw(this.seq.stamp({ sid: this.sid, ...payload }));
  }

  /** A gathering window's candidates: one payload when they fit, several (each with its own seq) when not. */
  #sendCandidates({ candidates, end }) {
    const largestSeq = { seq: Number.MAX_SAFE_INTEGER, sid: this.sid };
    const fits = (part) => utf8Length(JSON.stringify({ ...largestSeq, ...part })) <= this.maxPayloadBytes();
    for (const part of splitCandidates(candidates, Boolean(end), fits)) this.#send(part);
  }

  #onConnectionState() {
    const state = this.pc.connectionState;
    clearTimeout(this.timers.disconnected);
    if (state === "connected" && this.connectedAt === null) {
      this.connectedAt = performance.now();
      this.#growToFullSize();
    }
    if (state === "failed") this.pc.restartIce();
    if (state === "disconnected") {
      this.timers.disconnected = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.pc.restartIce();
      }, DISCONNECTED_GRACE_MS);
    }
    this.#emitState();
  }

  #emitState() {
    const { connectionState, iceConnectionState, signalingState } = this.pc;
    this.#emit("state", { connectionState, iceConnectionState, signalingState, closed: this.closed });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
