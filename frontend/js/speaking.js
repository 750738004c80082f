// Who is speaking: a DOM-free detector over audio levels (0..1), with hysteresis so that a tile's ring neither
// flickers between words nor lights up for a cough. Levels come from RTCRtpReceiver.getSynchronizationSources()
// (remote audio: the RFC 6464 level the receiver computes anyway, no extra audio processing) and from an
// AnalyserNode for one's own microphone (media.js watchLevel; Web Audio needs nothing from the Content-Security-Policy
// as long as no AudioWorklet module is loaded).

export const SPEAKING_LEVEL = 0.02; // at or above: sound (the linear level: -34 dBov)
export const SPEAKING_ON_MS = 120; // sound this long before the ring lights
export const SPEAKING_HOLD_MS = 700; // and silence this long before it goes off
export const POLL_MS = 100;

export class SpeakingDetector {
  constructor() {
    this.speaking = false;
    this.soundSince = null;
    this.quietSince = null;
  }

  /**
   * One sample; returns whether the person counts as speaking now.
   * @param {number|null|undefined} level 0..1, null when unknown (no audio)
   * @param {number} now milliseconds
   * @returns {boolean}
   */
  feed(level, now) {
    const loud = typeof level === "number" && level >= SPEAKING_LEVEL;
    if (loud) {
      this.quietSince = null;
      this.soundSince ??= now;
      if (!this.speaking && now - this.soundSince >= SPEAKING_ON_MS) this.speaking = true;
    } else {
      this.soundSince = null;
      this.quietSince ??= now;
      if (this.speaking && now - this.quietSince >= SPEAKING_HOLD_MS) this.speaking = false;
    }
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
