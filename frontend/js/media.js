// Local media: camera and microphone (with a fallback to whichever of the two is available), device lists,
// screen capture, and a microphone level meter for the lobby.

export const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/**
 * Why a kind of media is missing: "denied" (permission refused), "absent" (no such device), "busy" (another
 * application holds it), "unsupported" (no getUserMedia: not a secure context), "error" (anything else), or null.
 * @typedef {"denied"|"absent"|"busy"|"unsupported"|"error"|null} MediaProblem
 */

/**
 * @param {unknown} error a getUserMedia rejection
 * @returns {MediaProblem}
 */
export function classifyMediaError(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "absent";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "error";
  }
}

/**
 * Opens camera and microphone. If both together fail, tries each alone, so that a refused camera still leaves the
 * microphone (and the other way round). Never throws.
 * @param {{audioDeviceId?: string, videoDeviceId?: string, audio?: boolean, video?: boolean,
 *   started?: Promise<MediaStream>}} [options] `started`: the request for both kinds on the default devices, already
 *   made (early.js), used instead of making it again
 * @returns {Promise<{audio: MediaStreamTrack|null, video: MediaStreamTrack|null,
 *   problems: {audio: MediaProblem, video: MediaProblem}}>}
 */
export async function openLocalMedia({ audioDeviceId, videoDeviceId, audio = true, video = true, started } = {}) {
  const result = { audio: null, video: null, problems: { audio: null, video: null } };
  if (!navigator.mediaDevices?.getUserMedia) {
    result.problems = { audio: audio ? "unsupported" : null, video: video ? "unsupported" : null };
    return result;
  }
  const audioConstraint = audioDeviceId ? { deviceId: { exact: audioDeviceId } } : true;
  const videoConstraint = { ...VIDEO_CONSTRAINTS, ...(videoDeviceId ? { deviceId: { exact: videoDeviceId } } : {}) };
  if (audio && video) {
    try {
      const stream = await (started && !audioDeviceId && !videoDeviceId
        ? started
        : navigator.mediaDevices.getUserMedia({ audio: audioConstraint, video: videoConstraint }));
      result.audio = stream.getAudioTracks()[0] ?? null;
      result.video = stream.getVideoTracks()[0] ?? null;
      return result;
    } catch {
      // fall through: find out which one is the problem
    }
  }
  for (const [kind, wanted, constraint] of [
    ["audio", audio, audioConstraint],
    ["video", video, videoConstraint],
  ]) {
    if (!wanted) continue;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraint });
      result[kind] = stream.getTracks()[0] ?? null;
    } catch (error) {
      result.problems[kind] = classifyMediaError(error);
    }
  }
  return result;
}

/**
 * The camera and microphone inputs (labels are empty until the user granted access once).
 * @returns {Promise<{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}>}
 */
export async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return { audio: [], video: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: devices.filter((d) => d.kind === "audioinput" && d.deviceId),
    video: devices.filter((d) => d.kind === "videoinput" && d.deviceId),
  };
}

/**
 * Asks for a screen, window or tab. Resolves null when the user cancels.
 * @returns {Promise<MediaStreamTrack|null>}
 */
export async function openScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new Error("Screen sharing is not supported in this browser.");
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (track && "contentHint" in track) track.contentHint = "detail";
    return track ?? null;
  } catch (error) {
    if (error?.name === "NotAllowedError" || error?.name === "AbortError") return null;
    throw error;
  }
}

/**
 * Calls `onLevel(0..1)` about 15 times a second with the loudness of an audio track. Returns a stop function.
 * @param {MediaStreamTrack} track
 * @param {(level: number) => void} onLevel
 * @returns {() => void}
 */
export function watchLevel(track, onLevel) {
  const AudioCtx = window.AudioContext;
  if (!AudioCtx || !track) return () => {};
  const context = new AudioCtx();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 4096; // 85 ms at 48 kHz: longer than the 66 ms between readings, so no sound falls between
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const resume = () => context.resume().catch(() => {});
  document.addEventListener("pointerdown", resume, { once: true });
  document.addEventListener("keydown", resume, { once: true });
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 66);
  return () => {
    clearInterval(timer);
    document.removeEventListener("pointerdown", resume);
    document.removeEventListener("keydown", resume);
    context.close().catch(() => {});
  };
}

/**
 * Human text for a media problem, or "" when there is none.
 * @param {{audio: MediaProblem, video: MediaProblem}} problems
 * @returns {string}
 */
export function describeMediaProblems({ audio, video }) {
  const what = (problem, device) =>
    ({
      denied: `${device} access was blocked`,
      absent: `no ${device.toLowerCase()} was found`,
      busy: `the ${device.toLowerCase()} is in use by another application`,
      unsupported: `${device.toLowerCase()} access needs a secure (https) page`,
      error: `the ${device.toLowerCase()} could not be opened`,
    })[problem];
  if (audio && video && audio === video) {
    const both = {
      denied: "Camera and microphone access were blocked.",
      absent: "No camera or microphone was found.",
      busy: "Camera and microphone are in use by another application.",
      unsupported: "Camera and microphone need a secure (https) page.",
      error: "Camera and microphone could not be opened.",
    }[audio];
    const fix = audio === "denied" ? " Allow them in the address bar's site settings, then retry." : "";
    return `${both}${fix} You can still join and see and hear the others.`;
  }
  const parts = [];
  if (video) parts.push(what(video, "Camera"));
  if (audio) parts.push(what(audio, "Microphone"));
  if (parts.length === 0) return "";
  const sentence = parts.join(", and ");
  const mode = video && !audio ? "with audio only" : audio && !video ? "with video only (muted)" : "";
  return `${sentence[0].toUpperCase()}${sentence.slice(1)}. You can still join${mode ? ` ${mode}` : ""}.`;
}
