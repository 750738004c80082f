// Entry point: reads /config.json, then moves between the lobby, the call and the "ended" screen.

import { takeEarlyConfig, takeEarlySocket } from "./boot.js";
import { Call } from "./call.js";
import { icePolicyFrom, installIcePolicy } from "./icepolicy.js";
import { Lobby, parseRoom, prefs } from "./lobby.js";
import { prewarm } from "./prewarm.js";
import { prepareFirstOffer, preparedState } from "./prepared.js";
import { adoptPreconnected, preconnect, preconnectedIceServers } from "./signaling.js";
import * as ui from "./ui.js";

const $ = (id) => document.getElementById(id);

/**
 * /config.json next to the page: where the signaling server is, and the ICE servers when they are the same for
 * everyone (`{"wsUrl": "wss://...", "iceServers": [...]}`; without TURN). docs/protocol.md, "Transport".
 * @returns {Promise<{wsUrl: string, iceServers: RTCIceServer[]|null}>}
 */
async function loadConfig() {
  const response = await (takeEarlyConfig() ?? fetch("config.json", { cache: "no-store" }));
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const { wsUrl, iceServers } = await response.json();
  if (typeof wsUrl !== "string" || !/^wss?:\/\//.test(wsUrl)) throw new Error("config.json has no wsUrl");
  return { wsUrl, iceServers: Array.isArray(iceServers) ? iceServers : null };
}

const ENDED = {
  left: ["You left the call", "Rejoin whenever you like: the link stays valid while anyone is in the room."],
  "room-full": ["This room is full", "Every seat is taken. Try again when someone leaves, or start a new room."],
  error: ["Could not join the call", "Something went wrong while joining. Try again, or start a new room."],
};

async function main() {
  const configPromise = loadConfig();
  configPromise.catch(() => {}); // reported when the person starts a call
  /** @type {Call|null} */ let call = null;
  let lastChoice = null;

  const lobby = new Lobby(async (choice) => {
    lastChoice = choice;
    let wsUrl, iceServers;
    try {
      ({ wsUrl, iceServers } = await configPromise);
    } catch (error) {
      ui.showBanner(`Cannot find the signaling server (${error.message}). Is the site deployed completely?`, { code: "config" });
      ui.setStatus("error", "Server unavailable");
      $("lobby").classList.remove("busy");
      return;
    }
    // Clicked before the lobby knew its ICE servers (the camera answered before config.json was read): the first
    // offer is made now, and `join` waits for it to carry it (call.js).
    if (!lobbyIce && iceServers) {
      lobbyIce = iceServers;
      prepare();
    }
    lobby.hide();
    call = new Call({
      wsUrl,
      choice,
      onLimits: (limits) => {
        if (limits.maxCapacity) prefs.maxCapacity = limits.maxCapacity;
      },
      onEnd: (reason, detail) => {
        // The ended call (its peers, streams and transfers) is not reachable any more, so it can be collected.
        if (window.parley.call === call) window.parley.call = null;
        call = null;
        showEnded(reason, detail);
      },
    });
    window.parley.call = call;
    call.start();
  });

  function showEnded(reason, detail = {}) {
    lobby.reset();
    const [title, text] = ENDED[reason] ?? ENDED.error;
    $("ended-title").textContent = title;
    $("ended-text").textContent = detail.message && reason !== "left" ? `${text} (${detail.message})` : text;
    $("rejoin-button").textContent = reason === "room-full" ? "Try again" : "Rejoin";
    $("ended").hidden = false;
    if (reason === "left") ui.hideBanner();
    ui.setStatus(reason === "room-full" ? "room-full" : reason === "left" ? "ended" : "error",
      reason === "room-full" ? "Room full" : reason === "left" ? "Call ended" : "Not connected");
    $("rejoin-button").focus();
  }

  $("rejoin-button").addEventListener("click", () => {
    $("ended").hidden = true;
    lobbyTracks = null; // the call stopped them; the lobby opens new ones
    configPromise.then(preconnectAndPrepare, () => {});
    ui.hideBanner();
    lobby.show(lastChoice?.room ?? parseRoom(location.href));
  });
  $("home-button").addEventListener("click", () => {
    $("ended").hidden = true;
    lobbyTracks = null;
    configPromise.then(preconnectAndPrepare, () => {});
    ui.hideBanner();
    history.replaceState(null, "", location.pathname);
    lobby.show(null);
  });
  $("error-close").addEventListener("click", () => ui.hideBanner());

  // The first offer is made in the lobby (prepared.js) as soon as the ICE servers are known (from config.json, or
  // asked on the socket), sending the kinds the lobby will open (both, or audio alone with the camera switched off);
  // the tracks are attached once open. Again whenever the lobby's tracks change, and after a call, for the next one.
  let lobbyIce = null;
  let lobbyTracks = null;
  const prepare = () => {
    if (call !== null || !lobbyIce) return;
    const kinds = lobbyTracks
      ? { audio: Boolean(lobbyTracks.audio), video: Boolean(lobbyTracks.video) }
      : { audio: true, video: lobby.switches.camOn };
    prepareFirstOffer({ iceServers: lobbyIce, kinds, tracks: lobbyTracks });
  };
  lobby.onTracks = (tracks) => {
    lobbyTracks = tracks;
    prepare();
  };
  const preconnectAndPrepare = ({ wsUrl, iceServers }) => {
    if (call !== null) return; // clicked already: the call has the socket, and makes its own offers
    lobbyIce = null;
    preconnect(wsUrl);
    (iceServers ? Promise.resolve(iceServers) : preconnectedIceServers()).then((servers) => {
      lobbyIce = servers;
      prepare();
    });
  };

  window.parley = { call: null, lobby, prepared: preparedState };
  const room = new URL(location.href).searchParams.get("room");
  if (room !== null && !parseRoom(room)) {
    lobby.rejectLink(room);
  }
  lobby.show(room !== null ? parseRoom(room) : null);
  // While the person looks at the preview: the signaling socket (early.js has usually opened it already) and the
  // WebRTC stack get ready (nothing here depends on the room), so that joining costs one trip to the server and the
  // offer.
  // Adopted the moment it exists (not once config.json is parsed too): a click finds it warm.
  const earlySocket = takeEarlySocket() ?? Promise.resolve(null);
  earlySocket.then((early) => {
    if (early && call === null) adoptPreconnected(early.ws, early.openedAt);
    else early?.ws.close(1000, "not used"); // clicked before it was ready: the call opened its own
  });
  Promise.all([configPromise, earlySocket]).then(([config]) => preconnectAndPrepare(config), () => {});
  prewarm();
}

// Before any call exists: `?ice=relay` forces every connection through the TURN server (a diagnostic).
installIcePolicy(icePolicyFrom(location.href));
main();
