import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatChannel, chatMessage, MAX_CHAT_CHARS, MAX_NAME_CHARS, readMessage } from "../../frontend/js/chat.js";
import { FakeChannel } from "./fakes.js";

test("an outgoing chat message is cut to the limit and carries id and time", () => {
  const message = chatMessage("x".repeat(MAX_CHAT_CHARS + 10));
  assert.equal(message.text.length, MAX_CHAT_CHARS);
  assert.match(message.id, /^[0-9a-f-]{36}$/);
  assert.equal(typeof message.sentAt, "number");
});

test("the limit holds on receipt too: a longer text is cut and marked", () => {
  assert.deepEqual(readMessage({ type: "chat", text: "hi" }), { type: "chat", text: "hi", cut: false });
  const long = readMessage({ type: "chat", text: "y".repeat(MAX_CHAT_CHARS + 1) });
  assert.equal(long.text.length, MAX_CHAT_CHARS);
  assert.equal(long.cut, true);
  assert.equal(readMessage({ type: "chat", text: 42 }), null);
});

test("state: defaults for missing fields, name cut to its limit, unknown types ignored", () => {
  assert.deepEqual(readMessage({ type: "state" }), { type: "state", name: null, audio: true, video: true, screen: false });
  const state = readMessage({ type: "state", name: "n".repeat(200), audio: false, video: false, screen: true });
  assert.equal(state.name.length, MAX_NAME_CHARS);
  assert.deepEqual([state.audio, state.video, state.screen], [false, false, true]);
  assert.equal(readMessage({ type: "future-thing" }), null);
  assert.equal(readMessage(null), null);
});

test("messages sent before the channel opens are queued and go out on open, in order", () => {
  const channel = new FakeChannel("connecting");
  const chat = new ChatChannel(channel, () => {});
  chat.send({ n: 1 });
  chat.send({ n: 2 });
  assert.deepEqual(channel.sent, []);
  channel.open();
  assert.deepEqual(channel.texts(), [{ n: 1 }, { n: 2 }]);
  channel.close();
  chat.send({ n: 3 }); // closed: dropped, no throw
  assert.equal(channel.sent.length, 2);
});

test("only JSON objects reach the handler", () => {
  const channel = new FakeChannel();
  const got = [];
  new ChatChannel(channel, (m) => got.push(m));
  for (const data of ["nope", "null", "3", '{"type":"chat","text":"a"}']) channel.receive(data);
  channel.receive(new ArrayBuffer(3));
  assert.deepEqual(got, [{ type: "chat", text: "a" }]);
});
