// The lobby: camera/microphone preview with device choice, display name (remembered), and either joining a room
// (by code or link) or creating a new one with a chosen capacity.

import { takeEarlyMedia } from "./boot.js";
import { describeMediaProblems, listDevices, openLocalMedia, watchLevel } from "./media.js";
import { hideBanner, showBanner } from "./ui.js";

const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** The rule ROOM_PATTERN enforces, in words: what the join box and a bad link both say. */
export const ROOM_RULE = "Room codes are 1 to 64 letters, digits, - and _";
const NAME_KEY = "parley.name";
const CAPACITY_KEY = "parley.capacity";
const MAX_CAPACITY_KEY = "parley.maxCapacity";
const $ = (id) => document.getElementById(id);

/**
 * A new unguessable room id: 128 random bits as 22 base64url characters.
 * @returns {string}
 */
export function newRoomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The room id in what a person typed or pasted: a bare id, or any link with ?room=<id>. Null if none is valid.
 * @param {string} text
 * @returns {string|null}
 */
export function parseRoom(text) {
  const value = (text || "").trim();
  if (ROOM_PATTERN.test(value)) return value;
  try {
    const room = new URL(value, location.href).searchParams.get("room");
    return room && ROOM_PATTERN.test(room) ? room : null;
  } catch {
    return null;
  }
}

/** Preferences kept across visits. */
export const prefs = {
  get name() {
    return localStorage.getItem(NAME_KEY) ?? "";
  },
  set name(value) {
    localStorage.setItem(NAME_KEY, value);
  },
  get capacity() {
    return Number(localStorage.getItem(CAPACITY_KEY)) || 4;
  },
  set capacity(value) {
    localStorage.setItem(CAPACITY_KEY, String(value));
  },
  get maxCapacity() {
    return Number(localStorage.getItem(MAX_CAPACITY_KEY)) || 8;
  },
  set maxCapacity(value) {
    localStorage.setItem(MAX_CAPACITY_KEY, String(value));
  },
};

/**
 * @typedef {object} LobbyChoice
 * @property {string} room
 * @property {string} name
 * @property {number|undefined} capacity only when creating
 * @property {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} tracks
 * @property {{micOn: boolean, camOn: boolean}} switches
 * @property {{audio: string|undefined, video: string|undefined}} deviceIds
 * @property {{audio: import("./media.js").MediaProblem, video: import("./media.js").MediaProblem}} problems
 */

export class Lobby {
  /**
   * @param {(choice: LobbyChoice) => void} onStart called when the person joins or creates a room
   */
  constructor(onStart) {
    this.onStart = onStart;
    this.tracks = { audio: null, video: null };
    this.problems = { audio: null, video: null };
    this.switches = { micOn: true, camOn: true };
    this.deviceIds = { audio: undefined, video: undefined };
    this.stopLevel = () => {};
    this.mediaReady = null;
    /** @type {(tracks: {audio: MediaStreamTrack|null, video: MediaStreamTrack|null}) => void} */
    this.onTracks = () => {}; // after every change of what the preview shows (and a call would send)
    this.#bind();
  }

  /**
   * Shows the lobby, prefilled with a room from the URL if any, and opens the preview.
   * @param {string|null} room
   */
  show(room) {
    $("lobby").hidden = false;
    $("lobby").classList.toggle("has-room", Boolean(room));
    $("lobby").classList.remove("busy");
    $("room-input").value = room ?? "";
    $("name-input").value = prefs.name;
    if (room) {
      $("lobby-title").textContent = "Ready to join?";
      $("lobby-lead").textContent = "Check your camera and microphone, then join the call.";
      $("join-button").querySelector("span").textContent = "Join now";
    }
    this.#fillCapacity();
    if (!this.mediaReady) {
      this.mediaReady = this.#openMedia();
      this.#holdStart(this.mediaReady, room);
    }
    (room ? $("join-button") : $("name-input")).focus();
  }

  /**
   * The page was opened with a `?room=` that is no room id: says why (the rule, and how long it was), and takes the
   * bad link out of the address bar so that reloading or sharing the page does not repeat it.
   * @param {string} raw the `room` query parameter as given
   */
  rejectLink(raw) {
    const shown = raw.length > 24 ? `${raw.slice(0, 24)}…` : raw;
    const bad = [...new Set(raw.replace(/[A-Za-z0-9_-]/g, ""))].map((c) => (c === " " ? "a space" : `“${c}”`));
    const why = [
      raw.length === 0 ? "it is empty" : "",
      raw.length > 64 ? `it is ${raw.length} characters long` : "",
      bad.length ? `it contains ${bad.slice(0, 5).join(", ")}` : "",
    ].filter(Boolean);
    showBanner(
      `The room in this link (“${shown}”) is not valid: ${ROOM_RULE}, and ${why.join(" and ")}. Check the link, or start a new room.`,
      { kind: "warning", code: "room-link" },
    );
    history.replaceState(null, "", location.pathname);
  }

  /**
   * The join and create buttons wait for the camera and microphone (granted, refused or absent: whatever the answer):
   * a call cannot start without knowing what it sends, so a click before then would only wait, with nothing to show
   * for it. Once enabled, a click starts the call at once (the socket is already open).
   * @param {Promise<void>} opening
   * @param {string|null} room
   */
  #holdStart(opening, room) {
    const buttons = [$("join-button"), $("create-button")];
    for (const button of buttons) button.disabled = true;
    opening
      .catch(() => {})
      .finally(() => {
        for (const button of buttons) button.disabled = false;
        if (room && (document.activeElement === document.body || document.activeElement === null)) $("join-button").focus();
      });
  }

  /** Hides the lobby; the tracks now belong to the call. */
  hide() {
    $("lobby").hidden = true;
    this.stopLevel();
    $("preview-video").srcObject = null;
  }

  /** Forgets the tracks (the call stopped them). The next show() opens new ones. */
  reset() {
    this.tracks = { audio: null, video: null };
    this.mediaReady = null;
  }

  #bind() {
    $("join-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const room = parseRoom($("room-input").value);
      if (!room) {
        showBanner(
          $("room-input").value.trim()
            ? `That is not a room code or invite link. ${ROOM_RULE}.`
            : "Enter a room code or paste an invite link, or create a new room.",
          { kind: "warning", code: "room-input" },
        );
        $("room-input").focus();
        return;
      }
      this.#start(room, undefined);
    });
    $("create-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const capacity = Number($("capacity-select").value);
      prefs.capacity = capacity;
      this.#start(newRoomId(), capacity);
    });
    $("name-input").addEventListener("change", () => (prefs.name = $("name-input").value.trim()));
    $("preview-mic").addEventListener("click", () => this.#toggle("audio"));
    $("preview-cam").addEventListener("click", () => this.#toggle("video"));
    $("camera-select").addEventListener("change", () => this.#switchDevice("video", $("camera-select").value));
    $("mic-select").addEventListener("change", () => this.#switchDevice("audio", $("mic-select").value));
    $("media-retry").addEventListener("click", () => (this.mediaReady = this.#openMedia()));
  }

  async #start(room, capacity) {
    hideBanner();
    $("lobby").classList.add("busy");
    const name = $("name-input").value.trim().slice(0, 64);
    prefs.name = name;
    await this.mediaReady;
    this.onStart({
      room,
      name,
      capacity,
      tracks: { ...this.tracks },
      switches: { ...this.switches },
      deviceIds: { ...this.deviceIds },
      problems: { ...this.problems },
    });
  }

  #fillCapacity() {
    const select = $("capacity-select");
    const max = Math.max(2, prefs.maxCapacity);
    const chosen = Math.min(prefs.capacity, max);
    select.replaceChildren(
      ...Array.from({ length: max - 1 }, (_, i) => {
        const n = i + 2;
        return new Option(n === 2 ? "2 people (one-to-one)" : `Up to ${n} people`, String(n), false, n === chosen);
      }),
    );
  }

  async #openMedia() {
    const wanted = { audio: !this.tracks.audio, video: !this.tracks.video && this.switches.camOn };
    if (wanted.audio || wanted.video) {
      // The first time, both kinds on the default devices: what boot.js opened at page load.
      const first = wanted.audio && wanted.video && !this.deviceIds.audio && !this.deviceIds.video;
      const early = first ? takeEarlyMedia() : null;
      const opened = await (early ??
        openLocalMedia({ ...wanted, audioDeviceId: this.deviceIds.audio, videoDeviceId: this.deviceIds.video }));
      for (const kind of ["audio", "video"]) {
        if (!wanted[kind]) continue;
        this.tracks[kind] = opened[kind];
        this.problems[kind] = opened.problems[kind];
      }
    }
    if (this.tracks.audio) this.tracks.audio.enabled = this.switches.micOn;
    this.#renderPreview();
    // Not awaited: joining needs the tracks, not the device list (enumerateDevices), which fills in meanwhile.
    this.devicesFilled = this.#fillDevices().catch(() => {});
  }

  #renderPreview() {
    this.onTracks({ ...this.tracks });
    const preview = $("preview-video");
    const video = this.tracks.video;
    preview.srcObject = video ? new MediaStream([video]) : null;
    $("preview-video").parentElement.classList.toggle("has-video", Boolean(video));
    $("preview-off-text").textContent = this.problems.video
      ? { denied: "Camera blocked", absent: "No camera found", busy: "Camera in use elsewhere" }[this.problems.video] ??
        "Camera unavailable"
      : this.switches.camOn
        ? "Starting camera…"
        : "Camera is off";
    if (!video && !this.problems.video && this.switches.camOn) $("preview-off-text").textContent = "Camera unavailable";
    const message = describeMediaProblems(this.problems);
    $("media-message").textContent = message;
    $("media-message").hidden = !message;
    $("media-retry").hidden = !(this.problems.audio || this.problems.video);
    $("preview-mic").setAttribute("aria-pressed", String(Boolean(this.tracks.audio) && this.switches.micOn));
    $("preview-mic").disabled = !this.tracks.audio;
    $("preview-mic").setAttribute("aria-label", this.switches.micOn ? "Turn microphone off" : "Turn microphone on");
    $("preview-cam").setAttribute("aria-pressed", String(Boolean(video)));
    $("preview-cam").disabled = Boolean(this.problems.video) && !video;
    $("preview-cam").setAttribute("aria-label", video ? "Turn camera off" : "Turn camera on");
    this.stopLevel();
    const bar = $("level-bar");
    bar.style.height = "0%";
    if (this.tracks.audio) this.stopLevel = watchLevel(this.tracks.audio, (level) => (bar.style.height = `${Math.round(level * 100)}%`));
  }

  async #fillDevices() {
    const devices = await listDevices();
    for (const [kind, id] of [
      ["video", "camera-select"],
      ["audio", "mic-select"],
    ]) {
      const select = $(id);
      const current = this.tracks[kind]?.getSettings().deviceId ?? this.deviceIds[kind];
      const options = devices[kind].map(
        (d, i) => new Option(d.label || `${kind === "video" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId, false, d.deviceId === current),
      );
      if (options.length === 0) options.push(new Option(kind === "video" ? "No camera available" : "No microphone available", ""));
      select.replaceChildren(...options);
      select.disabled = devices[kind].length === 0;
    }
  }

  async #toggle(kind) {
    if (kind === "audio") {
      this.switches.micOn = !this.switches.micOn;
      if (this.tracks.audio) this.tracks.audio.enabled = this.switches.micOn;
      this.#renderPreview();
      return;
    }
    this.switches.camOn = !this.switches.camOn;
    if (!this.switches.camOn) {
      this.tracks.video?.stop(); // the camera light goes off too
      this.tracks.video = null;
      this.#renderPreview();
    } else {
      this.mediaReady = this.#openMedia();
    }
  }

  async #switchDevice(kind, deviceId) {
    if (!deviceId) return;
    this.deviceIds[kind] = deviceId;
    if (kind === "video" && !this.switches.camOn) return;
    this.tracks[kind]?.stop();
    this.tracks[kind] = null;
    this.mediaReady = this.#openMedia();
  }
}
