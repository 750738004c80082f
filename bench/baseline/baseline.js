// The textbook flow, as short as it gets: no lobby, no batching, no reconnects. The relay (bench/baselinerelay.py)
// forwards every message to the other person in the room and says "ready" to the first when the second arrives.

const room = new URL(location.href).searchParams.get("room");
const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
document.getElementById("local").srcObject = stream;

const ws = new WebSocket(`ws://${location.host}/ws`);
/** @type {RTCPeerConnection|null} */ let pc = null;
const pending = [];
const send = (message) => ws.send(JSON.stringify(message));

function connection() {
  pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  pc.onicecandidate = ({ candidate }) => candidate && send({ type: "candidate", candidate: candidate.toJSON() });
  pc.ontrack = ({ streams }) => (document.getElementById("remote").srcObject = streams[0]);
  return pc;
}

ws.onopen = () => send({ type: "join", room });
ws.onmessage = async ({ data }) => {
  const message = JSON.parse(data);
  if (message.type === "ready") {
    connection();
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "offer", sdp: pc.localDescription.toJSON() });
  } else if (message.type === "offer") {
    connection();
    await pc.setRemoteDescription(message.sdp);
    for (const candidate of pending.splice(0)) await pc.addIceCandidate(candidate);
    await pc.setLocalDescription(await pc.createAnswer());
    send({ type: "answer", sdp: pc.localDescription.toJSON() });
  } else if (message.type === "answer") {
    await pc.setRemoteDescription(message.sdp);
    for (const candidate of pending.splice(0)) await pc.addIceCandidate(candidate);
  } else if (message.type === "candidate") {
    if (pc?.remoteDescription) await pc.addIceCandidate(message.candidate);
    else pending.push(message.candidate);
  }
};
