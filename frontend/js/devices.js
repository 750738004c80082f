// Choosing a camera or microphone, in the lobby or during a call. DOM-free: what the pickers offer, and opening
// the chosen device. During a call the new track replaces the old one on every RTCRtpSender (replaceTrack: same
// kind, same transceiver, so no renegotiation), see Call's device controls.

import { listDevices, openLocalMedia } from "./media.js";

/**
 * @typedef {{value: string, label: string, selected: boolean}} DeviceOption
 */

/**
 * The options of a picker: one per device of `kind`, the current one selected; a single disabled-looking entry
 * when there is none.
 * @param {MediaDeviceInfo[]} devices of one kind
 * @param {"audio"|"video"} kind
 * @param {string|undefined} currentId
 * @returns {DeviceOption[]}
 */
export function deviceOptions(devices, kind, currentId) {
  const noun = kind === "video" ? "Camera" : "Microphone";
  if (devices.length === 0) return [{ value: "", label: `No ${noun.toLowerCase()} available`, selected: true }];
  return devices.map((d, i) => ({ value: d.deviceId, label: d.label || `${noun} ${i + 1}`, selected: d.deviceId === currentId }));
}

/**
 * The pickers' options for both kinds.
 * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} tracks in use
 * @param {{audio?: string, video?: string}} chosen device ids chosen earlier (used when a kind has no track)
 * @returns {Promise<{audio: DeviceOption[], video: DeviceOption[]}>}
 */
export async function pickerOptions(tracks, chosen) {
  const devices = await listDevices();
  const current = (kind) => tracks[kind]?.getSettings?.().deviceId ?? chosen[kind];
  return {
    audio: deviceOptions(devices.audio, "audio", current("audio")),
    video: deviceOptions(devices.video, "video", current("video")),
  };
}

/**
 * Opens one device.
 * @param {"audio"|"video"} kind
 * @param {string} deviceId
 * @returns {Promise<{track: MediaStreamTrack|null, problem: import("./media.js").MediaProblem}>}
 */
export async function openDevice(kind, deviceId) {
  const opened = await openLocalMedia({
    audio: kind === "audio",
    video: kind === "video",
    ...(kind === "audio" ? { audioDeviceId: deviceId } : { videoDeviceId: deviceId }),
  });
  return { track: opened[kind], problem: opened.problems[kind] };
}
