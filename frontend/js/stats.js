// Connection quality from RTCPeerConnection.getStats(): round-trip time of the selected candidate pair, bitrates
// in and out (from byte counters between two samples), the received video's size and frame rate, packet loss.

/**
 * @typedef {object} Quality
 * @property {number|null} rttMs
 * @property {number|null} inKbps null on the first sample: a rate needs two
 * @property {number|null} outKbps
 * @property {number} lossPct received packets lost since the previous sample, in percent
 * @property {number|null} width
 * @property {number|null} height
 * @property {number|null} fps
 * @property {number} framesDecoded
 * @property {"good"|"fair"|"poor"|"unknown"} grade
 */

/**
 * Takes one sample. Pass the previous sample's `raw` to get rates.
 * @param {RTCPeerConnection} pc
 * @param {object|null} previous the `raw` field of the previous result
 * @returns {Promise<Quality & {raw: object}>}
 */
export async function sampleQuality(pc, previous) {
  const report = await pc.getStats();
  const raw = { at: performance.now(), bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsLost: 0 };
  let rttMs = null;
  let video = null;
  let pairId = null;
  report.forEach((stat) => {
    if (stat.type === "transport" && stat.selectedCandidatePairId) pairId = stat.selectedCandidatePairId;
  });
  report.forEach((stat) => {
    if (stat.type === "candidate-pair" && (stat.id === pairId || (!pairId && stat.nominated && stat.state === "succeeded"))) {
      if (typeof stat.currentRoundTripTime === "number") rttMs = stat.currentRoundTripTime * 1000;
    } else if (stat.type === "inbound-rtp") {
      raw.bytesIn += stat.bytesReceived ?? 0;
      raw.packetsIn += stat.packetsReceived ?? 0;
      raw.packetsLost += stat.packetsLost ?? 0;
      if (stat.kind === "video") video = stat;
    } else if (stat.type === "outbound-rtp") {
      raw.bytesOut += stat.bytesSent ?? 0;
    }
  });
  const seconds = previous ? (raw.at - previous.at) / 1000 : 0;
  const rate = (now, before) => (seconds > 0 ? Math.max(0, ((now - before) * 8) / 1000 / seconds) : 0);
  const inKbps = previous ? rate(raw.bytesIn, previous.bytesIn) : null;
  const outKbps = previous ? rate(raw.bytesOut, previous.bytesOut) : null;
  let lossPct = 0;
  if (previous) {
    const lost = raw.packetsLost - previous.packetsLost;
    const got = raw.packetsIn - previous.packetsIn;
    lossPct = lost + got > 0 ? Math.max(0, (100 * lost) / (lost + got)) : 0;
  }
  return {
    raw,
    rttMs,
    inKbps,
    outKbps,
    lossPct,
    width: video?.frameWidth ?? null,
    height: video?.frameHeight ?? null,
    fps: video?.framesPerSecond ?? null,
    framesDecoded: video?.framesDecoded ?? 0,
    grade: grade(rttMs, lossPct),
  };
}

function grade(rttMs, lossPct) {
  if (rttMs === null) return "unknown";
  if (rttMs < 150 && lossPct < 2) return "good";
  if (rttMs < 400 && lossPct < 8) return "fair";
  return "poor";
}

/**
 * "1.2 Mb/s" / "640 kb/s" / "…" (not measured yet).
 * @param {number|null} kbps
 * @returns {string}
 */
export function formatBitrate(kbps) {
  if (kbps === null) return "…";
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`;
}
