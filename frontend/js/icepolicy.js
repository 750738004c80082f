// Relay-only calls on demand, and a clear message when the TURN server refuses us.
//
// `?ice=relay` in the page's address makes every RTCPeerConnection use iceTransportPolicy "relay": the call then goes
// through the TURN server or not at all, which is how a user (or a test) checks that the relay works before they need
// it on a network that blocks direct connections. The policy is applied by wrapping the RTCPeerConnection constructor,
// the way adapter.js shims browsers, so peer.js and call.js stay unaware of it.

import * as ui from "./ui.js";

/** Policies the URL may ask for (RTCIceTransportPolicy). */
const POLICIES = new Set(["all", "relay"]);

/**
 * The ICE transport policy the page asks for: "relay" with `?ice=relay`, otherwise "all".
 * @param {string} href
 * @returns {"all"|"relay"}
 */
export function icePolicyFrom(href) {
  const asked = new URL(href).searchParams.get("ice");
  return asked !== null && POLICIES.has(asked) ? /** @type {"all"|"relay"} */ (asked) : "all";
}

/**
 * Makes every RTCPeerConnection created from now on use `policy`, and watch its TURN servers.
 * @param {"all"|"relay"} policy
 */
export function installIcePolicy(policy) {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  class PolicyPeerConnection extends Native {
    constructor(configuration = {}, ...rest) {
      super(policy === "relay" ? { ...configuration, iceTransportPolicy: "relay" } : configuration, ...rest);
      watchTurn(this, policy === "relay");
    }
  }
  window.RTCPeerConnection = PolicyPeerConnection;
}

/** Connections whose reports wait (a connection prepared in the lobby: its problems are news once it is used). */
const held = new WeakMap();

/**
 * Holds `pc`'s TURN reports until releaseTurnReports(pc): prepared.js makes the first connection in the lobby, and a
 * banner about it shown there would be hidden by the join click before the call it concerns had begun.
 * @param {RTCPeerConnection} pc
 */
export function holdTurnReports(pc) {
  if (!held.has(pc)) held.set(pc, []);
}

/**
 * Shows what was held for `pc` (the call has taken it over), and reports at once from now on.
 * @param {RTCPeerConnection} pc
 */
export function releaseTurnReports(pc) {
  const reports = held.get(pc) ?? [];
  held.delete(pc);
  for (const report of reports) report();
}

/** Runs `report` now, or once `pc`'s reports are released. */
function reportFor(pc, report) {
  const waiting = held.get(pc);
  if (waiting) waiting.push(report);
  else report();
}

/**
 * Reports a TURN server's refusal. With relay only, a connection that gathers no relay candidate can never connect, and
 * ICE would otherwise wait in silence, so the page says why instead. Without it the direct path may still work, so
 * the refusal only goes to the console.
 * @param {RTCPeerConnection} pc
 * @param {boolean} relayOnly
 */
function watchTurn(pc, relayOnly) {
  let relayCandidates = 0;
  /** @type {string|null} */ let refusal = null;
  pc.addEventListener("icecandidate", ({ candidate }) => {
    if (candidate?.type === "relay") relayCandidates += 1;
  });
  pc.addEventListener("icecandidateerror", (event) => {
    const error = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
    // 401/403/437/441: the server answered, and said no to these credentials (401 Unauthorized is what coturn sends
    // for a wrong HMAC or an expiry in the past). 701 and the like mean it could not be reached.
    if (![401, 403, 437, 441].includes(error.errorCode)) return;
    refusal = `${error.url}: ${error.errorCode} ${error.errorText}`.trim();
    console.warn(`TURN server refused the credentials (${refusal})`);
    const message =
      `The relay (TURN) server refused this call's credentials (${refusal}), so a relay-only call cannot connect. ` +
      "Rejoin to get fresh credentials; if it happens again, the server's TURN secret is misconfigured.";
    if (relayOnly) reportFor(pc, () => ui.showBanner(message, { code: "turn-refused" }));
  });
  pc.addEventListener("icegatheringstatechange", () => {
    if (!relayOnly || pc.iceGatheringState !== "complete" || relayCandidates > 0 || refusal !== null) return;
    const message =
      "No relay (TURN) server could be reached, so a relay-only call cannot connect. " +
      "Check that the server's TURN URLs are reachable from this network.";
    reportFor(pc, () => ui.showBanner(message, { code: "turn-unreachable" }));
  });
}
