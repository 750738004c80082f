// One call: the signaling session, a Peer per remote participant (full mesh), local media controls, chat, files,
// connection quality, and what the screen says about all of it.

import { ChatChannel, chatMessage, MAX_CHAT_CHARS, readMessage } from "./chat.js";
import { openDevice, pickerOptions } from "./devices.js";
import { FileChannel, MAX_FILE_BYTES, prepareFile } from "./filetransfer.js";
import { describeMediaProblems, openLocalMedia, openScreen, watchLevel } from "./media.js";
import { Peer } from "./peer.js";
import { takePreparedOffer } from "./prepared.js";
import { Roster } from "./roster.js";
import { SignalingClient } from "./signaling.js";
import { ReachabilityWatch, UNREACHABLE_AFTER_MS } from "./reachability.js";
import { RemoteSessions } from "./sessions.js";
import { POLL_MS, SpeakingDetector, energyLevel } from "./speaking.js";
import { sampleQuality } from "./stats.js";
import { sizeLimitText, Transfers } from "./transfers.js";
import * as ui from "./ui.js";

const STATS_INTERVAL_MS = 2000;
// How long a peer whose signaling socket dropped (peer-left "disconnected"/"gone") keeps its tile while our media
// link to it is still up: it is most likely reconnecting.
const AWAY_GRACE_MS = 30000;
const EARLY_SIGNALS_MAX = 64; // signals kept for our first `joined`; beyond, the oldest go
const JOIN_OFFER_WAIT_MS = 1000; // setting an offer takes 5-120 ms here; past this, something is wrong with it

/** Settles when `promise` does (either way), or after `ms`. */
const within = (promise, ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
    promise.then(resolve, resolve);
  });
const $ = (id) => document.getElementById(id);

/** A person-readable sentence for each server error code (docs/protocol.md, "Error codes"). */
export const ERROR_TEXT = {
  "bad-request": "The server refused a request as malformed. Reloading the page usually fixes this.",
  "room-full": "This room is full. Ask someone to leave, or start a new room.",
  "not-joined": "The server no longer has you in the room. Rejoining…",
  "already-joined": "This connection is already in a room. Reload the page to join another one.",
  "unknown-peer": "A message could not be delivered: that participant has already left.",
  "invalid-token": "Your place in the room has expired. Rejoining as a new participant…",
  "too-large": "A message was too large for the signaling server and was dropped.",
  internal: "The signaling server had a problem. Retrying…",
  unavailable: "The signaling server is busy right now. Retrying…",
  "rate-limited": "Too many requests at once; the app is slowing down…",
};

/** Codes that say "try again shortly" (docs/protocol.md, "Failures and retries"): a warning, not an error. */
const PASSING = new Set(["internal", "unknown-peer", "unavailable", "rate-limited"]);

const PEER_STATE_TEXT = {
  new: "Connecting…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Reconnecting…",
  failed: "Connection failed, retrying…",
  closed: "Left",
};

export class Call {
  /**
   * @param {object} options
   * @param {string} options.wsUrl
   * @param {import("./lobby.js").LobbyChoice} options.choice
   * @param {(reason: string, detail?: object) => void} options.onEnd
   * @param {(limits: object) => void} [options.onLimits]
   */
  constructor({ wsUrl, choice, onEnd, onLimits }) {
    this.choice = choice;
    this.room = choice.room;
    this.name = choice.name;
    this.onEnd = onEnd;
    this.onLimits = onLimits ?? (() => {});
    this.mic = choice.tracks.audio;
    this.camera = choice.tracks.video;
    this.screen = null;
    this.micOn = choice.switches.micOn && Boolean(this.mic);
    this.deviceIds = choice.deviceIds;
    /** @type {Map<string, any>} */ this.peers = new Map();
    this.roster = new Roster(); // membership by room and sequence number (docs/protocol.md section 1)
    this.selfId = null;
    this.iceServers = [];
    this.capacity = choice.capacity ?? null;
    this.ended = false;
    this.signaling = new SignalingClient({ wsUrl, room: this.room, name: this.name, capacity: choice.capacity });
    // The lobby's first connection (prepared.js), ours from the click: its offer rides on `join` when it is set by
    // then, and the first peer takes the connection on `joined`.
    this.prepared = takePreparedOffer(this.#outgoing());
    this.signaling.joinOffer = (maxBytes) => this.prepared?.joinPayload(maxBytes) ?? null;
    /** @type {object[]} `signal`s of our room heard before our first `joined` (the answer to `join.offer` can be) */
    this.early = [];
    this.abort = new AbortController();
    this.reachability = new ReachabilityWatch((unreachable) => this.#renderReachability(unreachable));
    this.transfers = new Transfers({ createURL: (b) => URL.createObjectURL(b), revokeURL: (u) => URL.revokeObjectURL(u) });
    /** @type {Map<string, any>} file id -> ui.FileCard */ this.fileCards = new Map();
    this.inviteUrl = `${location.origin}${location.pathname}?room=${encodeURIComponent(this.room)}`;
  }

  /** Shows the call screen and joins. */
  start() {
    // Joining first: the socket is usually open already (preconnected in the lobby), so `join` leaves now and the
    // screen is drawn while it travels. `join` carries the prepared offer (prepared.js): if the click came while it
    // was still being set, the join waits for it, at most JOIN_OFFER_WAIT_MS. That costs the member nothing: an
    // offer sent after `joined` would leave no earlier than that, and then take one more trip.
    this.#bindSignaling();
    if (this.prepared?.settingOffer) {
      within(this.prepared.offer, JOIN_OFFER_WAIT_MS).then(() => !this.ended && this.signaling.start());
    } else {
      this.signaling.start();
    }
    $("call").hidden = false;
    $("topbar-room").hidden = false;
    $("room-name").textContent = this.room;
    $("invite-url").value = this.inviteUrl;
    $("chat-log").replaceChildren();
    this.#emptyChatHint();
    history.replaceState(null, "", this.inviteUrl);
    this.#bindControls();
    this.#renderSelf();
    this.#renderControls();
    this.#renderPeople();
    ui.setStatus("connecting", "Connecting…");
    this.statsTimer = setInterval(() => this.#sampleStats(), STATS_INTERVAL_MS);
    this.#watchSpeaking();
    const problems = describeMediaProblems(this.choice.problems);
    if (problems) {
      ui.showBanner(problems, { kind: "warning", code: "media", hideAfterMs: 10000 });
    }
  }

  /**
   * Leaves the call and releases everything.
   * @param {string} reason "left", "room-full", "error"
   * @param {object} [detail]
   */
  end(reason, detail = {}) {
    if (this.ended) return;
    this.ended = true;
    this.signaling.leave();
    this.reachability.stop();
    clearInterval(this.statsTimer);
    clearTimeout(this.speakingTimer);
    this.stopSelfLevel?.();
    $("devices-panel").hidden = true;
    $("devices-button").setAttribute("aria-expanded", "false");
    this.abort.abort();
    for (const peerId of [...this.peers.keys()]) this.#removePeer(peerId);
    this.prepared?.close();
    this.prepared = null;
    for (const track of [this.mic, this.camera, this.screen]) track?.stop();
    this.transfers.clear(); // received files leave memory with the call (their links stop working)
    this.fileCards.clear();
    $("chat-log").replaceChildren();
    $("local-video").srcObject = null;
    $("call").hidden = true;
    $("call").classList.remove("sidebar-open");
    $("topbar-room").hidden = true;
    this.onEnd(reason, detail);
  }

  // ---- signaling --------------------------------------------------------------------------------------------------

  #bindSignaling() {
    const s = this.signaling;
    const on = (type, handler) => s.addEventListener(type, (e) => !this.ended && handler(e.detail));
    on("state", ({ state }) => {
      this.reachability.update(state);
      if (state === "reconnecting" && !this.reachability.unreachable) {
        ui.showBanner("Lost the connection to the server. Reconnecting… your call continues meanwhile.", {
          kind: "warning",
          code: "signaling",
        });
      }
      this.#updateStatus();
    });
    on("joined", (message) => this.#onJoined(message));
    on("identity-lost", () => {
      // The others were told we left: their connections to us are gone. Start over as a newcomer.
      for (const peerId of [...this.peers.keys()]) this.#removePeer(peerId);
      ui.showBanner(ERROR_TEXT["invalid-token"], { kind: "warning", code: "invalid-token" });
    });
    on("peer-joined", (event) => {
      if (this.roster.accept(event)) this.#onPeerJoined(event);
    });
    on("peer-left", (event) => {
      if (this.roster.accept(event)) this.#onPeerLeft(event);
    });
    on("left", (message) => this.roster.left(message));
    on("signal", (message) => {
      const { room, from, data } = message;
      if (this.roster.current(room)) this.#onSignal(from, data); // a late signal of a room we left is not ours
      else if (this.roster.room === null && room === this.room && this.early.push(message) > EARLY_SIGNALS_MAX) {
        this.early.shift();
      }
    });
    on("server-error", (error) => this.#onServerError(error));
    on("gateway-error", ({ message, retryInMs }) => this.#onGatewayError(message, retryInMs));
    on("too-large", (detail) => this.#onTooLarge(detail));
    window.addEventListener("pagehide", () => this.signaling.leave(), { signal: this.abort.signal });
  }

  #onPeerJoined({ peerId, name }) {
    if (peerId === this.selfId) return;
    const known = this.peers.get(peerId);
    if (known?.away) this.#welcomeBack(known);
    if (known) return; // protocol: a peer-joined for a known peer is a no-op
    this.#addPeer(peerId, name, false);
    ui.systemLine(`${name || "Someone"} joined`);
  }

  #onPeerLeft({ peerId, reason }) {
    const entry = this.peers.get(peerId);
    if (!entry) return;
    if (reason !== "left" && entry.state === "connected") this.#markAway(entry);
    else this.#peerGone(peerId);
  }

  #onJoined(message) {
    const later = this.roster.joined(message); // membership events newer than this snapshot, heard before it
    ui.hideBanner("signaling");
    ui.hideBanner("internal");
    this.iceServers = message.iceServers ?? [];
    this.capacity = message.capacity ?? this.capacity;
    if (message.limits) this.onLimits(message.limits);
    const listed = new Map((message.peers ?? []).map((p) => [p.peerId, p.name ?? ""]));
    const sameIdentity = this.selfId === message.peerId;
    // Who takes the prepared connection: whoever our `join` carried its offer to, or else the first we offer to.
    const offeredTo = typeof message.offeredTo === "string" && listed.has(message.offeredTo) ? message.offeredTo : null;
    const preparedFor = (peerId) => {
      if (!this.prepared || (offeredTo !== null && peerId !== offeredTo)) return null;
      const prepared = this.prepared;
      this.prepared = null;
      return prepared;
    };
    this.selfId = message.peerId;
    // Who joined after the snapshot (their peer-joined overtook this `joined`, and may already have brought their
    // offer): kept as they are, and the replay below is a no-op for them.
    const arrived = new Set();
    for (const event of later) {
      if (event.type === "peer-joined") arrived.add(event.peerId);
      else arrived.delete(event.peerId);
    }
    // Whoever we still hold but the server does not list: if our media link to them is up they are probably
    // reconnecting too, so give them time; otherwise they are gone.
    for (const [peerId, entry] of [...this.peers]) {
      if (listed.has(peerId) || arrived.has(peerId)) continue;
      if (entry.state === "connected") this.#markAway(entry);
      else this.#peerGone(peerId);
    }
    for (const [peerId, name] of listed) {
      const known = this.peers.get(peerId);
      if (known?.away) this.#welcomeBack(known);
      if (message.resumed) {
        // Resumed: the others were told nothing. Wait for offers from anyone who joined while we were away.
        if (!known) this.#addPeer(peerId, name, false);
      } else if (known && sameIdentity && known.state === "connected") {
        // Our seat was lost and taken again under the same peerId; the media link never stopped: keep it.
      } else if (known && !known.peer.started) {
        known.peer.start(); // we heard peer-joined just before our own joined: we are the newcomer after all
      } else {
        if (known) this.#removePeer(peerId);
        this.#addPeer(peerId, name, true, undefined, preparedFor(peerId), peerId === offeredTo);
      }
    }
    // An empty room, or a resume: nobody to offer to now, and the next newcomer offers to us. (The lobby prepares
    // nothing while a call exists, so the call's is the only one.)
    this.prepared?.close();
    this.prepared = null;
    for (const early of this.early.splice(0)) {
      if (early.room === message.room) this.#onSignal(early.from, early.data);
    }
    for (const event of later) {
      if (event.type === "peer-joined") this.#onPeerJoined(event);
      else this.#onPeerLeft(event);
    }
    for (const entry of this.peers.values()) entry.peer.restartIceIfNeeded();
    $("capacity-hint").textContent = this.capacity ? `This room holds up to ${this.capacity} people.` : "";
    this.#updateStatus();
  }

  #onSignal(from, data) {
    if (from === this.selfId || !data || typeof data !== "object") return;
    let entry = this.peers.get(from) ?? this.#addPeer(from, "", false);
    const route = entry.sessions.route(data);
    if (route.action === "restart") {
      // The other side started a new session (it lost our old one): answer it with a new connection.
      const { sessions, name } = entry;
      this.#removePeer(from);
      entry = this.#addPeer(from, name, false, sessions);
      entry.peer.receive(data);
      for (const early of route.replay) entry.peer.receive(early);
    } else if (route.action === "deliver") {
      entry.peer.receive(data);
    }
  }

  #markAway(entry) {
    if (entry.away) return;
    entry.tile.setState("Reconnecting…");
    entry.away = setTimeout(() => this.#peerGone(entry.peer.peerId), AWAY_GRACE_MS);
  }

  #welcomeBack(entry) {
    clearTimeout(entry.away);
    entry.away = null;
    if (entry.state === "connected") entry.tile.setState("");
  }

  #peerGone(peerId) {
    const entry = this.peers.get(peerId);
    if (!entry) return;
    const who = entry.name || "Someone";
    this.#removePeer(peerId);
    ui.toast(`${who} left the call`);
    ui.systemLine(`${who} left`);
  }

  #onServerError({ code, message, fatal }) {
    const text = ERROR_TEXT[code] ?? `The server reported a problem: ${message || code}`;
    if (code === "room-full") {
      const seats = /\((\d+) of (\d+)\)/.exec(message ?? "");
      ui.showBanner(seats ? text.replace("This room is full.", `This room is full (${seats[1]} of ${seats[2]} seats taken).`) : text, { code });
      this.end("room-full", {});
      return;
    }
    if (fatal) {
      ui.showBanner(`${text}${message ? ` Details: ${message}` : ""}`, { code });
      this.end("error", { code, message });
      return;
    }
    ui.showBanner(text, { kind: PASSING.has(code) ? "warning" : "error", code, hideAfterMs: 8000 });
    if (code === "not-joined") this.signaling.reconnectNow();
  }

  /** API Gateway refused a request (throttled, or Lambda busy): the client retries by itself; say so, calmly. */
  #onGatewayError(message, retryInMs) {
    const why = message === "Too Many Requests" ? "is busy" : "had a problem";
    const seconds = Math.max(1, Math.round(retryInMs / 1000));
    ui.showBanner(`The signaling server ${why} (${message}). Retrying in ${seconds} s; your call continues.`, {
      kind: "warning",
      code: "gateway",
      hideAfterMs: retryInMs + 4000,
    });
  }

  /** A message over the signaling limits was not sent (sending it would have cost us the socket). */
  #onTooLarge({ action, bytes, limit, to }) {
    const entry = to ? this.peers.get(to) : null;
    const size = `${(bytes / 1024).toFixed(1)} KB, the limit is ${(limit / 1024).toFixed(1)} KB`;
    if (entry) {
      entry.tile.setState("Cannot connect: setup message too large", "bad");
      ui.showBanner(
        `A setup message for ${entry.name || "a participant"} is too large for the signaling server (${size}), ` +
          "so it was not sent and that connection may not work. Turning off the camera or screen share and " +
          "rejoining can help.",
        { code: "too-large" },
      );
    } else {
      ui.showBanner(`A ${action} message is too large for the signaling server (${size}) and was not sent.`, {
        code: "too-large",
      });
    }
    console.warn(`[parley] not sent, too large: ${action} of ${bytes} bytes (limit ${limit})`);
  }

  // ---- peers ------------------------------------------------------------------------------------------------------

  #outgoing() {
    return { audio: this.mic, video: this.screen ?? this.camera };
  }

  /**
   * @param {string} peerId
   * @param {string} name
   * @param {boolean} initiator we offer (we are the newcomer)
   * @param {RemoteSessions} [sessions]
   * @param {import("./prepared.js").PreparedOffer|null} [prepared] the lobby's connection, for the first we offer to
   * @param {boolean} [offered] our `join` carried its offer to this peer
   */
  #addPeer(peerId, name, initiator, sessions = new RemoteSessions(), prepared = null, offered = false) {
    const peer = new Peer({
      selfId: this.selfId,
      peerId,
      name,
      iceServers: this.iceServers,
      initiator,
      send: (data) => this.signaling.signal(peerId, data),
      maxPayloadBytes: () => this.signaling.limits.maxSignalBytes,
      tracks: this.#outgoing(),
      prepared: initiator ? prepared : null,
      offered,
    });
    const entry = {
      peer,
      name,
      tile: new ui.Tile(peerId, name),
      chat: null,
      files: null,
      remote: { audio: true, video: null, screen: false },
      stats: null,
      state: "new",
      sessions,
      away: null,
      everConnected: false,
    };
    this.peers.set(peerId, entry);
    entry.tile.setState("Connecting…");
    peer.addEventListener("track", ({ detail: { track } }) => {
      entry.tile.attach(peer.remoteStream);
      if (track.kind === "video") {
        track.addEventListener("mute", () => this.#renderRemoteVideo(entry));
        track.addEventListener("unmute", () => this.#renderRemoteVideo(entry));
      }
      this.#renderRemoteVideo(entry);
    });
    for (const type of ["resize", "loadeddata", "playing"]) {
      entry.tile.video.addEventListener(type, () => this.#renderRemoteVideo(entry));
    }
    peer.addEventListener("state", ({ detail }) => this.#onPeerState(entry, detail));
    const wireChannels = ({ chat, file }) => {
      entry.chat = new ChatChannel(chat, (message) => this.#onChatMessage(entry, message));
      entry.chat.send(this.#stateMessage());
      entry.files = new FileChannel(file, this.#fileHandlers(entry));
    };
    peer.addEventListener("channels", ({ detail }) => wireChannels(detail));
    if (peer.channels) wireChannels(peer.channels); // the newcomer's were made in the constructor
    peer.addEventListener("error", ({ detail: { error } }) => console.warn(`[parley] peer ${peerId}:`, error));
    this.#updateStatus();
    return entry;
  }

  #removePeer(peerId) {
    const entry = this.peers.get(peerId);
    if (!entry) return;
    this.peers.delete(peerId);
    clearTimeout(entry.away);
    entry.peer.close();
    entry.tile.remove();
    this.#updateStatus();
  }

  #onPeerState(entry, { connectionState, closed }) {
    if (closed) return;
    entry.state = connectionState;
    if (entry.away && connectionState === "failed") {
      this.#peerGone(entry.peer.peerId);
      return;
    }
    if (connectionState === "connected") {
      if (!entry.everConnected) ui.hideBanner("peer-failed");
      entry.everConnected = true;
      if (!entry.away) entry.tile.setState("");
    } else if (connectionState === "failed") {
      entry.tile.setState("Connection lost, retrying…", "bad");
    } else if (connectionState === "disconnected") {
      entry.tile.setState("Reconnecting…");
    } else if (!entry.everConnected) {
      entry.tile.setState("Connecting…");
    }
    this.#updateStatus();
  }

  #renderRemoteVideo(entry) {
    const track = entry.peer.remoteStream.getVideoTracks()[0];
    const sending = entry.remote.video === null || entry.remote.video || entry.remote.screen;
    const visible = Boolean(track) && !track.muted && sending && entry.tile.video.videoWidth > 0;
    entry.tile.setVideoVisible(visible);
    entry.tile.setMicOff(entry.remote.audio === false);
    entry.tile.setScreen(entry.remote.screen === true);
  }

  #updateStatus() {
    if (this.ended) return;
    const state = this.signaling.state;
    const peers = [...this.peers.values()];
    const connected = peers.filter((p) => p.state === "connected").length;
    // Nobody can follow the invite while the service is unreachable: the banner says so instead.
    $("waiting").hidden = !(this.selfId && peers.length === 0) || this.reachability.unreachable;
    $("call").classList.toggle("alone", peers.length === 0);
    if (this.reachability.unreachable) ui.setStatus("unreachable", "Service unreachable");
    else if (state === "reconnecting") ui.setStatus("reconnecting", "Reconnecting to server…");
    else if (!this.selfId) ui.setStatus("connecting", "Connecting…");
    else if (peers.length === 0) ui.setStatus("waiting", "Waiting for others");
    else if (connected === 0) ui.setStatus("connecting", "Connecting to the call…");
    else ui.setStatus("in-call", `In call · ${connected + 1} people`);
    document.title = peers.length ? `(${connected + 1}) Parley` : "Parley";
    this.#renderPeople();
  }

  /** @param {boolean} unreachable */
  #renderReachability(unreachable) {
    if (unreachable) {
      const connected = [...this.peers.values()].some((p) => p.state === "connected");
      ui.showBanner(
        `The Parley service is unreachable: no answer for ${UNREACHABLE_AFTER_MS / 1000} s. ` +
          (connected
            ? "Your call with the people already connected continues, but nobody new can join."
            : "Nobody can join you until it is back.") +
          " Check your internet connection; it keeps trying every 15 s, or retry now.",
        { code: "unreachable", action: { label: "Retry now", run: () => this.#retryService() } },
      );
    } else {
      ui.hideBanner("unreachable");
    }
    this.#updateStatus();
  }

  #retryService() {
    ui.hideBanner("unreachable");
    this.reachability.retry();
    this.signaling.reconnectNow();
    ui.showBanner("Trying to reach the Parley service again…", { kind: "warning", code: "signaling" });
    this.#updateStatus();
  }

  #renderPeople() {
    const people = [{ id: this.selfId ?? "self", name: this.name, self: true, state: "connected", stateText: "", micOff: !this.micOn }];
    for (const [id, entry] of this.peers) {
      people.push({
        id,
        name: entry.name,
        state: entry.state,
        stateText: PEER_STATE_TEXT[entry.state] ?? entry.state,
        micOff: entry.remote.audio === false,
      });
    }
    ui.renderParticipants(people);
  }

  async #sampleStats() {
    for (const entry of this.peers.values()) {
      // Not while connecting: getStats competes with the negotiation for WebRTC's threads, for figures not shown.
      if (entry.state !== "connected" || entry.peer.closed) continue;
      try {
        const q = await sampleQuality(entry.peer.pc, entry.stats?.raw ?? null);
        entry.stats = q;
        if (entry.state === "connected") entry.tile.setQuality(q);
      } catch {
        /* closed meanwhile */
      }
    }
  }

  // ---- chat & state messages ------------------------------------------------------------------------------------

  #stateMessage() {
    return { type: "state", name: this.name, audio: this.micOn, video: Boolean(this.camera) && !this.screen, screen: Boolean(this.screen) };
  }

  #broadcast(message) {
    for (const entry of this.peers.values()) entry.chat?.send(message);
  }

  #onChatMessage(entry, raw) {
    const message = readMessage(raw);
    if (message?.type === "chat") {
      const text = message.cut ? `${message.text}… (cut: longer than ${MAX_CHAT_CHARS} characters)` : message.text;
      ui.appendChat(ui.bubble(text), { who: entry.name, at: Date.now() });
      this.#bumpUnread();
    } else if (message?.type === "state") {
      entry.remote = { audio: message.audio, video: message.video, screen: message.screen };
      if (message.name && message.name !== entry.name) {
        entry.name = message.name;
        entry.tile.setName(entry.name);
      }
      this.#renderRemoteVideo(entry);
      this.#renderPeople();
    }
  }

  #sendChat(text) {
    const message = chatMessage(text);
    this.#broadcast(message);
    ui.appendChat(ui.bubble(message.text), { mine: true, at: message.sentAt });
  }

  #bumpUnread() {
    if (!$("call").classList.contains("sidebar-open") && getComputedStyle($("chat-toggle")).display !== "none") {
      const unread = $("unread");
      unread.textContent = String(Number(unread.textContent || 0) + 1);
      unread.hidden = false;
    }
  }

  #emptyChatHint() {
    const hint = document.createElement("li");
    hint.className = "chat-empty";
    hint.textContent = `Messages and files you send go to everyone in the call. ${sizeLimitText(ui.formatBytes)}`;
    $("chat-log").append(hint);
  }

  // ---- files ------------------------------------------------------------------------------------------------------

  async #sendFiles(files) {
    const recipients = [...this.peers.entries()].filter(([, e]) => e.files && e.peer.channels?.file.readyState === "open");
    if (recipients.length === 0) {
      ui.showBanner("There is nobody connected to send the file to yet.", { kind: "warning", code: "file" });
      return;
    }
    for (const file of files) {
      if (file.size > MAX_FILE_BYTES) {
        ui.showBanner(`${file.name} is too large (the limit is ${ui.formatBytes(MAX_FILE_BYTES)}).`, { kind: "warning", code: "file" });
        continue;
      }
      const { bytes, meta } = await prepareFile(file);
      if (this.ended) return;
      const card = new ui.FileCard(meta, "out");
      this.fileCards.set(meta.id, card);
      this.transfers.open(meta, recipients.map(([peerId]) => peerId));
      for (const [peerId, entry] of recipients) {
        card.addRow(peerId, `To ${entry.name || "Guest"}`);
        card.addCancel(peerId, () => entry.files.cancel(meta.id));
      }
      ui.appendChat(card.element, { mine: true });
      for (const [, entry] of recipients) entry.files.send(bytes, meta);
    }
  }

  #fileHandlers(entry) {
    const peerId = entry.peer.peerId;
    const t = this.transfers;
    // Our own files are known by their id; a peer's by peerId/id, so no peer can reach another's card or ours.
    const fileKey = (id, direction) => (direction === "in" ? `${peerId}/${id}` : id);
    const rowKey = (direction) => (direction === "in" ? "in" : peerId);
    const update = (id, direction, change) => {
      const key = fileKey(id, direction);
      this.fileCards.get(key)?.render(rowKey(direction), change(key, rowKey(direction)));
    };
    return {
      onOffer: (meta) => {
        const card = new ui.FileCard(meta, "in");
        card.addRow("in", `From ${entry.name || "Guest"}`);
        card.addCancel("in", () => entry.files?.cancel(meta.id));
        this.fileCards.set(fileKey(meta.id, "in"), card);
        t.open({ ...meta, id: fileKey(meta.id, "in") }, ["in"]);
        ui.appendChat(card.element, { who: entry.name });
        this.#bumpUnread();
      },
      onRefused: (meta, reason) => {
        const who = entry.name || "Someone";
        const name = typeof meta.name === "string" && meta.name ? meta.name.slice(0, 200) : "a file";
        ui.systemLine(
          reason === "busy"
            ? `${who} tried to send ${name} while another file from them was still arriving; it was refused (ask them to send it again).`
            : `${who} tried to send ${name}, which could not be accepted (over ${ui.formatBytes(MAX_FILE_BYTES)}, or malformed); it was refused.`,
        );
      },
      onProgress: (id, done, direction) => update(id, direction, (key, row) => t.progress(key, row, done, direction)),
      onReceived: (meta, { blob, ok }) => {
        const key = fileKey(meta.id, "in");
        const view = t.received(key, ok);
        if (!view) return; // cancelled meanwhile
        this.fileCards.get(key)?.render("in", view);
        if (ok) this.fileCards.get(key)?.addDownload(t.download(blob));
      },
      onAck: (id, ok) => update(id, "out", (key, row) => t.acked(key, row, ok)),
      onFailed: (id, reason, direction) => update(id, direction, (key, row) => t.failed(key, row, reason, direction)),
    };
  }

  // ---- local media & controls ---------------------------------------------------------------------------------------

  #bindControls() {
    const signal = this.abort.signal;
    const click = (id, handler) => $(id).addEventListener("click", handler, { signal });
    click("mute-button", () => this.#toggleMic());
    click("camera-button", () => this.#toggleCamera());
    click("screen-button", () => this.#toggleScreen());
    click("copy-link", () => this.#copyLink());
    click("waiting-copy", () => this.#copyLink());
    click("hangup-button", () => this.end("left"));
    click("chat-toggle", () => this.#toggleSidebar());
    click("sidebar-close", () => this.#toggleSidebar(false));
    click("devices-button", () => this.#toggleDevices());
    click("devices-close", () => this.#toggleDevices(false));
    for (const [kind, id] of [
      ["video", "call-camera-select"],
      ["audio", "call-mic-select"],
    ]) {
      $(id).addEventListener("change", () => this.#switchDevice(kind, $(id).value), { signal });
    }
    $("chat-form").addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        const text = $("chat-input").value.trim();
        if (!text) return;
        $("chat-input").value = "";
        this.#sendChat(text);
      },
      { signal },
    );
    $("file-input").addEventListener(
      "change",
      () => {
        const files = [...$("file-input").files];
        $("file-input").value = "";
        this.#sendFiles(files).catch((error) => ui.showBanner(`Could not send the file: ${error.message}`, { code: "file" }));
      },
      { signal },
    );
    document.addEventListener(
      "keydown",
      (event) => {
        if (event.key !== "Escape") return;
        if (!$("devices-panel").hidden) this.#toggleDevices(false);
        else if ($("call").classList.contains("sidebar-open")) this.#toggleSidebar(false);
      },
      { signal },
    );
  }

  #toggleSidebar(open = !$("call").classList.contains("sidebar-open")) {
    $("call").classList.toggle("sidebar-open", open);
    $("chat-toggle").setAttribute("aria-expanded", String(open));
    if (open) {
      $("unread").hidden = true;
      $("unread").textContent = "";
      $("chat-input").focus();
    } else {
      $("chat-toggle").focus();
    }
  }

  async #toggleDevices(open = $("devices-panel").hidden) {
    $("devices-panel").hidden = !open;
    $("devices-button").setAttribute("aria-expanded", String(open));
    if (!open) {
      $("devices-button").focus();
      return;
    }
    await this.#renderDevicePickers();
    $("call-camera-select").focus();
  }

  async #renderDevicePickers() {
    const options = await pickerOptions({ audio: this.mic, video: this.camera }, this.deviceIds);
    for (const [kind, id] of [
      ["video", "call-camera-select"],
      ["audio", "call-mic-select"],
    ]) {
      const select = $(id);
      select.replaceChildren(...options[kind].map((o) => new Option(o.label, o.value, false, o.selected)));
      select.disabled = options[kind].length === 1 && !options[kind][0].value;
    }
  }

  /**
   * Another camera or microphone, mid-call: opens it, puts it on every connection with replaceTrack (same
   * transceiver, no renegotiation), then stops the old one. A camera that is off stays off: the choice is used
   * when it is turned on.
   * @param {"audio"|"video"} kind
   * @param {string} deviceId
   */
  async #switchDevice(kind, deviceId) {
    if (!deviceId) return;
    this.deviceIds = { ...this.deviceIds, [kind]: deviceId };
    if (kind === "video" && !this.camera) return;
    const { track, problem } = await openDevice(kind, deviceId);
    if (!track) {
      ui.showBanner(describeMediaProblems({ audio: kind === "audio" ? problem : null, video: kind === "video" ? problem : null }), {
        kind: "warning",
        code: "media",
      });
      await this.#renderDevicePickers();
      return;
    }
    if (this.ended) return track.stop();
    const old = kind === "audio" ? this.mic : this.camera;
    if (kind === "audio") {
      track.enabled = this.micOn;
      this.mic = track;
      this.#watchSelfLevel();
    } else {
      this.camera = track;
    }
    const tracks = this.#outgoing();
    await Promise.all([...this.peers.values()].map((e) => e.peer.setTracks(tracks).catch((err) => console.warn(err))));
    old?.stop();
    this.#renderSelf();
    ui.toast(`Now using ${track.label || (kind === "audio" ? "the chosen microphone" : "the chosen camera")}`);
  }

  #watchSpeaking() {
    this.#watchSelfLevel();
    const poll = async () => {
      const now = performance.now();
      await Promise.all([...this.peers.values()].map((entry) => this.#sampleSpeaking(entry, now)));
      const self = $("self-tile");
      const speaking = this.selfSpeaking.feed(this.micOn ? this.selfLevel : null, now);
      self.classList.toggle("speaking", speaking);
      self.dataset.speaking = String(speaking);
      if (!this.ended) this.speakingTimer = setTimeout(poll, POLL_MS);
    };
    this.speakingTimer = setTimeout(poll, POLL_MS);
  }

  async #sampleSpeaking(entry, now) {
    entry.speaking ??= { detector: new SpeakingDetector(), reading: null };
    const receiver = entry.peer.pc?.getReceivers().find((r) => r.track?.kind === "audio");
    let level = null;
    // Connected only: while it connects there is no sound to show, and getStats would compete with the negotiation.
    if (receiver && entry.state === "connected" && entry.remote.audio !== false && !entry.peer.closed) {
      try {
        const stats = await receiver.getStats();
        const inbound = [...stats.values()].find((s) => s.type === "inbound-rtp");
        ({ level, reading: entry.speaking.reading } = energyLevel(entry.speaking.reading, inbound));
      } catch {
        /* closed meanwhile */
      }
    }
    entry.tile.setSpeaking(entry.speaking.detector.feed(level, now));
  }

  #watchSelfLevel() {
    this.stopSelfLevel?.();
    this.selfSpeaking = new SpeakingDetector();
    this.selfLevel = null;
    this.stopSelfLevel = this.mic ? watchLevel(this.mic, (level) => (this.selfLevel = level)) : null;
  }

  #toggleMic() {
    if (!this.mic) {
      ui.showBanner("No microphone is available. Check your browser's site permissions, then rejoin.", { kind: "warning", code: "media" });
      return;
    }
    this.micOn = !this.micOn;
    this.mic.enabled = this.micOn;
    this.#renderControls();
    this.#renderSelf();
    this.#broadcast(this.#stateMessage());
    this.#renderPeople();
  }

  async #toggleCamera() {
    const button = $("camera-button");
    button.disabled = true;
    try {
      if (this.camera) {
        this.camera.stop();
        this.camera = null;
      } else {
        const opened = await openLocalMedia({ audio: false, video: true, videoDeviceId: this.deviceIds.video });
        if (!opened.video) {
          ui.showBanner(describeMediaProblems({ audio: null, video: opened.problems.video }), { kind: "warning", code: "media" });
          return;
        }
        if (this.ended) return opened.video.stop();
        this.camera = opened.video;
      }
      await this.#applyVideo();
    } finally {
      button.disabled = false;
    }
  }

  async #toggleScreen() {
    if (this.screen) return this.#stopScreen();
    let track;
    try {
      track = await openScreen();
    } catch (error) {
      ui.showBanner(`Screen sharing failed: ${error.message}`, { kind: "warning", code: "screen" });
      return;
    }
    if (!track || this.ended) return track?.stop();
    this.screen = track;
    // The browser's own "Stop sharing" button ends the track without telling us otherwise.
    track.addEventListener("ended", () => {
      if (this.screen === track) this.#stopScreen();
    });
    await this.#applyVideo();
  }

  async #stopScreen() {
    const track = this.screen;
    this.screen = null;
    track?.stop();
    await this.#applyVideo();
  }

  async #applyVideo() {
    const tracks = this.#outgoing();
    await Promise.all([...this.peers.values()].map((e) => e.peer.setTracks(tracks).catch((err) => console.warn(err))));
    this.#renderSelf();
    this.#renderControls();
    this.#broadcast(this.#stateMessage());
  }

  async #copyLink() {
    try {
      await navigator.clipboard.writeText(this.inviteUrl);
      ui.toast("Invite link copied. Send it to the people you want to talk to.");
    } catch {
      const input = $("invite-url");
      $("waiting").hidden = false;
      input.focus();
      input.select();
      ui.toast("Copy the selected link to invite others.");
    }
  }

  #renderSelf() {
    const video = this.screen ?? this.camera;
    const element = $("local-video");
    const current = element.srcObject?.getVideoTracks()[0] ?? null;
    if (current !== video) element.srcObject = video ? new MediaStream([video]) : null;
    $("self-tile").classList.toggle("no-video", !video);
    $("self-tile").classList.toggle("screen", Boolean(this.screen));
    $("self-tile").classList.toggle("mic-off", !this.micOn);
    $("self-name").textContent = this.name ? `${this.name} (you)` : "You";
    $("self-initials").textContent = ui.initials(this.name || "You");
    $("self-initials").style.setProperty("--hue", ui.hueFor(this.selfId ?? this.name));
  }

  #renderControls() {
    const mute = $("mute-button");
    mute.setAttribute("aria-pressed", String(!this.micOn));
    mute.querySelector(".tool-label").textContent = this.micOn ? "Mute" : "Unmute";
    mute.setAttribute("aria-label", this.micOn ? "Mute microphone" : "Unmute microphone");
    const camera = $("camera-button");
    camera.setAttribute("aria-pressed", String(!this.camera));
    // The accessible name is the visible label (WCAG 2.5.3 "label in name"): speech users say what they see.
    camera.querySelector(".tool-label").textContent = this.camera ? "Stop video" : "Start video";
    const screen = $("screen-button");
    screen.setAttribute("aria-pressed", String(Boolean(this.screen)));
    screen.querySelector(".tool-label").textContent = this.screen ? "Stop sharing" : "Share screen";
    screen.hidden = !navigator.mediaDevices?.getDisplayMedia;
  }
}
