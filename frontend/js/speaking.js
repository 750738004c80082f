// Who is speaking: a DOM-free detector over audio levels (0..1), with a hold time so that a tile's ring does not
// flicker between words. Levels come from each audio receiver's own stats (remote
// audio: the energy the receiver accounts anyway, no extra audio processing; see energyLevel) and from an
// AnalyserNode for one's own microphone (media.js watchLevel; Web Audio needs nothing from the Content-Security-Policy
// as long as no AudioWorklet module is loaded).

export const SPEAKING_LEVEL = 0.03; // at or above: sound (the linear level; about -30 dBov)
export const SPEAKING_HOLD_MS = 800; // the ring stays on through silences shorter than this (pauses between words)
export const POLL_MS = 200;

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
 * The loudness (0..1, RMS) of what a receiver played since the previous reading, from its inbound-rtp stats
 * (totalAudioEnergy is the sum of level² × duration, so the delta over the duration delta is the mean square): no
 * audio is missed between polls, short sounds included. Returns the level (null before a second reading or without
 * audio) and the reading to pass next time.
 * @param {{energy: number, duration: number}|null} previous
 * @param {{totalAudioEnergy?: number, totalSamplesDuration?: number}|undefined} inbound
 * @returns {{level: number|null, reading: {energy: number, duration: number}|null}}
 */
export function energyLevel(previous, inbound) {
  if (typeof inbound?.totalAudioEnergy !== "number" || typeof inbound?.totalSamplesDuration !== "number") {
    return { level: null, reading: null };
  }
  const reading = { energy: inbound.totalAudioEnergy, duration: inbound.totalSamplesDuration };
  if (!previous || reading.duration <= previous.duration) return { level: null, reading };
  const meanSquare = (reading.energy - previous.energy) / (reading.duration - previous.duration);
  return { level: Math.sqrt(Math.max(0, meanSquare)), reading };
}
