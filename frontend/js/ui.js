// DOM helpers for the call screen: the status pill, the error banner, toasts, video tiles, the participant list
// and the chat log (messages and file cards). No WebRTC here; call.js decides what to show.

import { formatBitrate } from "./stats.js";

const $ = (id) => document.getElementById(id);

/**
 * The status pill in the top bar.
 * @param {"idle"|"connecting"|"waiting"|"in-call"|"reconnecting"|"unreachable"|"room-full"|"error"|"ended"} state
 * @param {string} text
 */
export function setStatus(state, text) {
  const status = $("status");
  status.dataset.state = state;
  $("status-text").textContent = text;
}

let bannerAction = null;
let bannerTimer = null;
/**
 * Shows the error banner (role=alert) with a human message; `kind` "warning" is amber instead of red. `action` adds
 * a button (e.g. "Retry") to it; `hideAfterMs` hides this banner after that long unless another replaced it. There is
 * one banner, so showing one cancels the previous one's pending hide: a timer left by an earlier message (or an ended
 * call) can never hide a later one.
 * @param {string} message
 * @param {{kind?: "error"|"warning", code?: string, action?: {label: string, run: () => void}, hideAfterMs?: number}} [options]
 */
export function showBanner(message, { kind = "error", code = "", action = undefined, hideAfterMs = undefined } = {}) {
  clearTimeout(bannerTimer);
  bannerTimer = hideAfterMs === undefined ? null : setTimeout(() => hideBanner(code), hideAfterMs);
  const banner = $("error-banner");
  $("error-text").textContent = message;
  const button = $("error-action");
  if (!button.dataset.bound) {
    button.dataset.bound = "1";
    button.addEventListener("click", () => bannerAction?.());
  }
  bannerAction = action?.run ?? null;
  button.textContent = action?.label ?? "";
  button.hidden = !action;
  banner.dataset.kind = kind;
  banner.dataset.code = code;
  banner.hidden = false;
}

/**
 * Hides the banner, or only if it shows `code`.
 * @param {string} [code]
 */
export function hideBanner(code) {
  const banner = $("error-banner");
  if (code !== undefined && banner.dataset.code !== code) return;
  clearTimeout(bannerTimer);
  banner.hidden = true;
}

let toastTimer = null;
/**
 * A short-lived notice at the bottom of the screen.
 * @param {string} message
 */
export function toast(message) {
  const element = $("toast");
  element.textContent = message;
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (element.hidden = true), 3500);
}

/**
 * Up to two initials for an avatar.
 * @param {string} name
 * @returns {string}
 */
export function initials(name) {
  const words = (name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : [...(words[0] ?? "?")][0];
  return letters.toUpperCase();
}

/**
 * A stable colour for a person, from their id.
 * @param {string} id
 * @returns {string}
 */
export function hueFor(id) {
  let h = 0;
  for (const c of id || "") h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 45% 42%)`;
}

/** Keeps the grid's column count in step with the number of tiles. */
export function updateGrid() {
  const grid = $("grid");
  grid.dataset.count = String(grid.querySelectorAll(".tile").length);
}

/** One remote participant's tile. */
export class Tile {
  /**
   * @param {string} peerId
   * @param {string} name
   */
  constructor(peerId, name) {
    const fragment = $("tile-template").content.cloneNode(true);
    this.element = fragment.querySelector(".tile");
    this.element.dataset.peerId = peerId;
    this.video = this.element.querySelector("video");
    this.video.dataset.peerId = peerId;
    this.element.querySelector(".avatar span").style.setProperty("--hue", hueFor(peerId));
    this.quality = this.element.querySelector(".quality");
    this.state = this.element.querySelector(".tile-state");
    this.setName(name);
    this.element.classList.add("no-video");
    $("grid").append(this.element);
    updateGrid();
  }

  /** @param {string} name */
  setName(name) {
    const label = name || "Guest";
    this.element.querySelector(".tile-name").textContent = label;
    this.element.querySelector(".initials").textContent = initials(label);
    this.element.setAttribute("aria-label", `${label}'s video`);
    this.video.setAttribute("aria-label", `Video of ${label}`);
  }

  /**
   * Attaches the remote stream; the avatar shows whenever no video frames come in.
   * @param {MediaStream} stream
   */
  attach(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    this.video.play().catch(() => {});
  }

  /** @param {boolean} visible */
  setVideoVisible(visible) {
    this.element.classList.toggle("no-video", !visible);
  }

  /** @param {boolean} off */
  setMicOff(off) {
    this.element.classList.toggle("mic-off", off);
  }

  /** @param {boolean} speaking */
  setSpeaking(speaking) {
    this.element.classList.toggle("speaking", speaking);
    this.element.dataset.speaking = String(speaking);
  }

  /** @param {boolean} screen */
  setScreen(screen) {
    this.element.classList.toggle("screen", screen);
  }

  /**
   * @param {string} text "" hides the badge
   * @param {"warn"|"bad"} [kind]
   */
  setState(text, kind = "warn") {
    this.state.textContent = text;
    this.state.dataset.kind = kind;
  }

  /** @param {import("./stats.js").Quality} q */
  setQuality(q) {
    this.quality.dataset.grade = q.grade;
    const parts = [];
    if (q.rttMs !== null) parts.push(q.rttMs < 1 ? "<1 ms" : `${Math.round(q.rttMs)} ms`);
    parts.push(`↓ ${formatBitrate(q.inKbps)}`);
    this.quality.querySelector(".quality-text").textContent = parts.join(" · ");
    const detail = [
      q.rttMs !== null ? `Round trip ${Math.round(q.rttMs)} ms` : "Round trip unknown",
      `receiving ${formatBitrate(q.inKbps)}`,
      `sending ${formatBitrate(q.outKbps)}`,
      q.width ? `${q.width}×${q.height}${q.fps ? ` at ${Math.round(q.fps)} fps` : ""}` : "",
      q.lossPct ? `${q.lossPct.toFixed(1)}% loss` : "",
    ].filter(Boolean);
    this.quality.title = detail.join(", ");
    this.quality.dataset.rttMs = q.rttMs === null ? "" : String(Math.round(q.rttMs));
    this.quality.dataset.inKbps = q.inKbps === null ? "" : String(Math.round(q.inKbps));
  }

  remove() {
    this.video.srcObject = null;
    this.element.remove();
    updateGrid();
  }
}

/**
 * Rebuilds the participant list.
 * @param {{id: string, name: string, self?: boolean, state: string, stateText: string, micOff?: boolean}[]} people
 */
export function renderParticipants(people) {
  const list = $("participant-list");
  list.replaceChildren(
    ...people.map((person) => {
      const item = document.createElement("li");
      item.dataset.peerId = person.id;
      item.dataset.state = person.state;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.setProperty("--hue", hueFor(person.id));
      dot.textContent = initials(person.name || "Guest");
      dot.setAttribute("aria-hidden", "true");
      const who = document.createElement("span");
      who.className = "who";
      const label = person.self ? (person.name ? `${person.name} (you)` : "You") : person.name || "Guest";
      who.textContent = `${label}${person.micOff ? " · muted" : ""}`;
      const state = document.createElement("span");
      state.className = "peer-state";
      state.dataset.state = person.state;
      state.textContent = person.stateText;
      item.append(dot, who, state);
      return item;
    }),
  );
  $("people-count").textContent = String(people.length);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * Appends to the chat log and scrolls to it.
 * @param {HTMLElement} content
 * @param {{mine?: boolean, who?: string, at?: number, system?: boolean}} options
 * @returns {HTMLLIElement}
 */
export function appendChat(content, { mine = false, who = "", at = Date.now(), system = false } = {}) {
  const log = $("chat-log");
  log.querySelector(".chat-empty")?.remove();
  const item = document.createElement("li");
  if (system) {
    item.className = "system";
    item.append(content);
  } else {
    item.className = mine ? "mine" : "theirs";
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${mine ? "You" : who || "Guest"} · ${timeFormat.format(new Date(at))}`;
    item.append(meta, content);
  }
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(item);
  if (nearBottom || mine) log.scrollTop = log.scrollHeight;
  return item;
}

/**
 * A chat bubble with plain text (never HTML).
 * @param {string} text
 * @returns {HTMLElement}
 */
export function bubble(text) {
  const element = document.createElement("span");
  element.className = "bubble";
  element.textContent = text;
  return element;
}

/**
 * Human file size.
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A file card in the chat log: name, size, one progress row per transfer, status and a download link. */
export class FileCard {
  /**
   * @param {{id: string, name: string, size: number}} meta
   * @param {"in"|"out"} direction
   */
  constructor(meta, direction) {
    this.meta = meta;
    this.element = document.createElement("div");
    this.element.className = "file-card";
    this.element.dataset.fileId = meta.id;
    this.element.dataset.direction = direction;
    this.element.dataset.testid = "file-card";
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = meta.name;
    const size = document.createElement("span");
    size.className = "file-size";
    size.textContent = formatBytes(meta.size);
    this.element.append(name, size);
    this.rows = new Map();
  }

  /**
   * One progress bar + status line (per recipient for files we send, one for a file we receive).
   * @param {string} key
   * @param {string} label
   */
  addRow(key, label) {
    const progress = document.createElement("progress");
    progress.max = Math.max(1, this.meta.size);
    progress.value = 0;
    progress.dataset.testid = "file-progress";
    progress.setAttribute("aria-label", `${label}: ${this.meta.name}`);
    const status = document.createElement("span");
    status.className = "file-status";
    status.dataset.testid = "file-status";
    status.textContent = `${label}: starting…`;
    this.element.append(progress, status);
    this.rows.set(key, { progress, status, label });
  }

  /**
   * A "Cancel" button for one row (removed when the row reaches its final state).
   * @param {string} key
   * @param {() => void} onCancel
   */
  addCancel(key, onCancel) {
    const row = this.rows.get(key);
    if (!row) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "file-cancel";
    button.textContent = "Cancel";
    button.dataset.testid = "file-cancel";
    button.setAttribute("aria-label", `Cancel ${this.meta.name} (${row.label})`);
    button.addEventListener("click", onCancel, { once: true });
    row.status.after(button);
    row.cancel = button;
  }

  /**
   * Shows one row's state (a view from transfers.js).
   * @param {string} key
   * @param {{text: string, value: number, ok: boolean|null, final: boolean}|null} view
   */
  render(key, view) {
    const row = this.rows.get(key);
    if (!row || !view) return;
    row.progress.value = view.value;
    row.status.textContent = `${row.label}: ${view.text}`;
    if (view.ok !== null) row.status.dataset.ok = String(view.ok);
    if (view.final) {
      row.cancel?.remove();
      row.cancel = null;
    }
  }

  /**
   * Offers the received file for download. The URL's Blob is application/octet-stream and the link has `download`,
   * so the file is saved, never opened in the app's origin.
   * @param {string} url
   */
  addDownload(url) {
    const link = document.createElement("a");
    link.href = url;
    link.download = this.meta.name;
    link.textContent = `Download ${this.meta.name}`;
    link.dataset.testid = "file-download";
    this.element.append(link);
  }
}

/**
 * Announces something on the chat log as a neutral line (joins, leaves).
 * @param {string} text
 */
export function systemLine(text) {
  const span = document.createElement("span");
  span.textContent = text;
  appendChat(span, { system: true });
}
