// API Gateway's size limits as the client meets them. A browser sends every WebSocket message as one frame, and API
// Gateway closes the socket (1009) on a frame over 32 KB, so the client measures every frame before sending it and
// never sends one that would cost it the socket (docs/protocol.md, "Limits").

/** Until `joined` says otherwise (`limits.maxFrameBytes`, `limits.maxSignalBytes`). */
export const DEFAULT_LIMITS = Object.freeze({ maxFrameBytes: 32 * 1024, maxSignalBytes: 31 * 1024 });

const encoder = new TextEncoder();

/**
 * Bytes of `text` in UTF-8, as it goes on the wire.
 * @param {string} text
 * @returns {number}
 */
export function utf8Length(text) {
  return encoder.encode(text).length;
}

/**
 * The limits from a `joined` message, keeping the defaults for anything missing or unusable.
 * @param {unknown} limits
 * @returns {{maxFrameBytes: number, maxSignalBytes: number}}
 */
export function readLimits(limits) {
  const pick = (key) => {
    const value = limits?.[key];
    return Number.isInteger(value) && value > 0 ? value : DEFAULT_LIMITS[key];
  };
  return { maxFrameBytes: pick("maxFrameBytes"), maxSignalBytes: pick("maxSignalBytes") };
}

/**
 * Splits one candidate batch into as few payloads as fit: `fits(payload)` says whether one may be sent. `end` goes
 * on the last. A single candidate that does not fit alone still gets a payload of its own (the sender refuses it
 * visibly).
 * @param {RTCIceCandidateInit[]} candidates
 * @param {boolean} end
 * @param {(payload: {candidates: RTCIceCandidateInit[], end?: true}) => boolean} fits
 * @returns {{candidates: RTCIceCandidateInit[], end?: true}[]}
 */
export function splitCandidates(candidates, end, fits) {
  const withEnd = (list) => (end ? { candidates: list, end: true } : { candidates: list });
  const parts = [];
  let current = [];
  for (const candidate of candidates) {
    const next = [...current, candidate];
    if (current.length > 0 && !fits(withEnd(next))) {
      parts.push(current);
      current = [candidate];
    } else {
      current = next;
    }
  }
  parts.push(current);
  return parts.map((list, index) => (index === parts.length - 1 ? withEnd(list) : { candidates: list }));
}
