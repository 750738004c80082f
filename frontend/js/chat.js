// The "chat" data channel (negotiated, id 0): JSON text messages, one object per message.
//   {"type":"chat","id":"<uuid>","text":"hello","sentAt":1732200000000}
//   {"type":"state","name":"Ada","audio":true,"video":true,"screen":false}
// Messages sent before the channel opens are queued; unknown types are ignored. Limits hold on receipt too: a chat
// text over MAX_CHAT_CHARS is cut there (and marked), a name over MAX_NAME_CHARS likewise (readMessage).

export const MAX_CHAT_CHARS = 4000;
export const MAX_NAME_CHARS = 64;

export class ChatChannel {
  /**
   * @param {RTCDataChannel} channel
   * @param {(message: object) => void} onMessage called with each parsed message from the peer
   */
  constructor(channel, onMessage) {
    this.channel = channel;
    this.queue = [];
    channel.addEventListener("open", () => {
      for (const text of this.queue.splice(0)) channel.send(text);
    });
    channel.addEventListener("message", ({ data }) => {
      if (typeof data !== "string") return;
      try {
        const message = JSON.parse(data);
        if (message && typeof message === "object") onMessage(message);
      } catch {
        /* not ours */
      }
    });
  }

  /**
   * Sends (or queues) one message.
   * @param {object} message
   */
  send(message) {
    const text = JSON.stringify(message);
    if (this.channel.readyState === "open") this.channel.send(text);
    else if (this.channel.readyState === "connecting") this.queue.push(text);
  }
}

/**
 * A chat message ready to send.
 * @param {string} text
 * @returns {{type: "chat", id: string, text: string, sentAt: number}}
 */
export function chatMessage(text) {
  return { type: "chat", id: crypto.randomUUID(), text: text.slice(0, MAX_CHAT_CHARS), sentAt: Date.now() };
}

/**
 * Checks one message from a peer against the protocol (docs/protocol.md 2.5): what the page may show, or null for
 * anything that is not a chat or state message. Never trusts the peer's limits.
 * @param {any} message
 * @returns {{type: "chat", text: string, cut: boolean}
 *   | {type: "state", name: string|null, audio: boolean, video: boolean, screen: boolean} | null}
 */
export function readMessage(message) {
  if (message?.type === "chat") {
    if (typeof message.text !== "string") return null;
    const cut = message.text.length > MAX_CHAT_CHARS;
    return { type: "chat", text: cut ? message.text.slice(0, MAX_CHAT_CHARS) : message.text, cut };
  }
  if (message?.type === "state") {
    const name = typeof message.name === "string" && message.name ? message.name.slice(0, MAX_NAME_CHARS) : null;
    return { type: "state", name, audio: message.audio !== false, video: message.video !== false, screen: message.screen === true };
  }
  return null;
}
