// Who is speaking: a DOM-free detector over audio levels (0..1), with a hold time so that a tile's ring does not
// flicker between words. Levels come from RTCRtpReceiver.getSynchronizationSources()
// (remote audio: the RFC 6464 level the receiver computes anyway, no extra audio processing) and from an
// AnalyserNode for one's own microphone (media.js watchLevel; Web Audio needs nothing from the Content-Security-Policy
// as long as no AudioWorklet module is loaded).

export const SPEAKING_LEVEL = 0.03; // at or above: sound (the linear level; about -30 dBov)
export const SPEAKING_HOLD_MS = 800; // the ring stays on through silences shorter than this (pauses between words)
export const POLL_MS = 100;

export class SpeakingDetector {
  constructor() {
    this.speaking = false;
    this.lastSound = -Infinity;
  }

  /**
   * One sample; returns whether the person counts as speaking now: sound now, or less than SPEAKING_HOLD_MS ago.
   * @param {number|null|undefined} level 0..1, null when unknown (no audio, or muted)
   * @param {number} now milliseconds
   * @returns {boolean}
   */
  feed(level, now) {
    if (level === null || level === undefined) this.lastSound = -Infinity; // muted: off at once
    else if (level >= SPEAKING_LEVEL) this.lastSound = now;
    this.speaking = now - this.lastSound < SPEAKING_HOLD_MS;
    return this.speaking;
  }
}

/**
 * The level of the first audio source a receiver plays, or null.
 * @param {RTCRtpReceiver|undefined} receiver
 * @returns {number|null}
 */
export function receiverLevel(receiver) {
  const sources = receiver?.getSynchronizationSources?.() ?? [];
  const level = sources[0]?.audioLevel;
  return typeof level === "number" ? level : null;
}
