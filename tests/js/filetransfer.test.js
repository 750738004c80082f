import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import {
  CHUNK_SIZE,
  FAILURE,
  FileChannel,
  fileStartProblem,
  MAX_FILE_BYTES,
  NEUTRAL_TYPE,
  prepareFile,
  sha256Hex,
} from "../../frontend/js/filetransfer.js";
import { FakeChannel, settle } from "./fakes.js";

/** Records every handler call as [name, ...args]; `when(name)` resolves once such a call was made. */
function recorder() {
  const calls = [];
  const waiters = [];
  const record = (name, args) => {
    calls.push([name, ...args]);
    for (const waiter of waiters.filter((w) => w.name === name)) waiter.resolve();
  };
  const handlers = new Proxy({}, { get: (_, name) => (...args) => record(name, args) });
  const named = (name) => calls.filter(([n]) => n === name);
  const when = (name) =>
    named(name).length ? Promise.resolve() : new Promise((resolve) => waiters.push({ name, resolve }));
  return { calls, handlers, named, when };
}

function endpoints() {
  const a = new FakeChannel();
  const b = new FakeChannel();
  const sender = recorder();
  const receiver = recorder();
  return { a, b, sender, receiver, out: new FileChannel(a, sender.handlers), inn: new FileChannel(b, receiver.handlers) };
}

async function file(bytes, name = "x.html", type = "text/html") {
  return prepareFile(new File([bytes], name, { type }));
}

test("prepareFile describes the file: size, type as given, SHA-256 over all of it, advisory chunk size", async () => {
  const bytes = new Uint8Array(40_000).map((_, i) => i % 251);
  const { meta } = await file(bytes);
  assert.equal(meta.type, "file-start");
  assert.equal(meta.size, 40_000);
  assert.equal(meta.mime, "text/html");
  assert.equal(meta.chunkSize, CHUNK_SIZE);
  assert.equal(meta.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.equal(await sha256Hex(new ArrayBuffer(0)), createHash("sha256").digest("hex"));
});

test("a file is framed as file-start, chunks of at most chunkSize, file-end; the receiver verifies and acks", async () => {
  const { a, b, out, sender, receiver } = endpoints();
  const bytes = new Uint8Array(CHUNK_SIZE * 2 + 5).map((_, i) => (i * 7) % 256);
  const { bytes: buffer, meta } = await file(bytes);
  await out.send(buffer, meta);
  const chunks = a.sent.filter((d) => typeof d !== "string");
  assert.deepEqual(chunks.map((c) => c.byteLength), [CHUNK_SIZE, CHUNK_SIZE, 5]);
  assert.deepEqual(a.texts().map((m) => m.type), ["file-start", "file-end"]);
  assert.equal(typeof a.sent[0], "string", "file-start comes first");
  assert.equal(typeof a.sent.at(-1), "string", "file-end comes last");

  a.deliverTo(b);
  await receiver.when("onReceived");
  await settle();
  const [[, gotMeta, result]] = receiver.named("onReceived");
  assert.equal(gotMeta.id, meta.id);
  assert.equal(result.ok, true);
  assert.equal(result.blob.type, NEUTRAL_TYPE, "the sender's text/html is not trusted");
  assert.deepEqual(new Uint8Array(await result.blob.arrayBuffer()), bytes);
  assert.deepEqual(b.texts(), [{ type: "file-ack", id: meta.id, ok: true }]);
  b.deliverTo(a);
  assert.deepEqual(sender.named("onAck"), [["onAck", meta.id, true]]);
  assert.deepEqual(receiver.named("onProgress").at(-1), ["onProgress", meta.id, bytes.length, "in"]);
});

test("a damaged or short file fails its check and is acked ok:false", async () => {
  const { a, b, out, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(1000).fill(1));
  await out.send(bytes, meta);
  const damaged = new Uint8Array(a.sent[1]);
  damaged[10] ^= 0xff;
  a.sent[1] = damaged.buffer;
  a.deliverTo(b);
  await receiver.when("onReceived");
  await settle();
  assert.equal(receiver.named("onReceived")[0][2].ok, false);
  assert.deepEqual(b.texts().at(-1), { type: "file-ack", id: meta.id, ok: false });

  const short = endpoints();
  await short.out.send(bytes, meta);
  short.a.sent.splice(1, 1); // the only chunk is lost
  short.a.deliverTo(short.b);
  await short.receiver.when("onReceived");
  assert.equal(short.receiver.named("onReceived")[0][2].ok, false);
});

test("the receiver cancels: the sender stops at once, sends no file-end, and says the recipient cancelled", async () => {
  const { a, b, out, inn, sender, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(4 * 1024 * 1024));
  const sending = out.send(bytes, meta);
  await settle();
  // The sender filled its buffer past the high-water mark and waits for it to drain.
  const before = a.binaryBytes();
  assert.ok(before > 1024 * 1024 && before < bytes.byteLength, `${before} bytes went before waiting`);
  a.deliverTo(b);
  assert.equal(receiver.named("onOffer").length, 1);
  assert.equal(inn.cancel(meta.id), true);
  assert.deepEqual(receiver.named("onFailed"), [["onFailed", meta.id, FAILURE.cancelledByMe, "in"]]);
  assert.deepEqual(b.texts(), [{ type: "file-cancel", id: meta.id, reason: "cancelled" }]);
  b.deliverTo(a);
  await sending;
  a.drain(); // even when the buffer drains later, nothing more goes
  await settle();
  assert.equal(a.binaryBytes(), before);
  assert.deepEqual(a.texts().map((m) => m.type), ["file-start"]);
  assert.deepEqual(sender.named("onFailed"), [["onFailed", meta.id, FAILURE.cancelledByReceiver, "out"]]);
  // Stray chunks still in flight are ignored by the receiver, and a late ack changes nothing.
  b.receive(new ArrayBuffer(10));
  a.receive(JSON.stringify({ type: "file-ack", id: meta.id, ok: true }));
  assert.equal(sender.named("onAck").length, 0);
  assert.equal(receiver.named("onReceived").length, 0);
});

test("the sender cancels midway: the receiver drops what it had and says the sender cancelled", async () => {
  const { a, b, out, inn, sender, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(4 * 1024 * 1024));
  const sending = out.send(bytes, meta);
  await settle();
  assert.equal(out.cancel(meta.id), true);
  assert.equal(out.cancel(meta.id), false, "only once");
  await sending;
  assert.deepEqual(sender.named("onFailed"), [["onFailed", meta.id, FAILURE.cancelledByMe, "out"]]);
  assert.deepEqual(a.texts().map((m) => m.type), ["file-start", "file-cancel"]);
  a.deliverTo(b);
  await settle();
  assert.deepEqual(receiver.named("onFailed"), [["onFailed", meta.id, FAILURE.cancelledBySender, "in"]]);
  assert.equal(inn.incoming, null);
  assert.equal(receiver.named("onReceived").length, 0);
});

test("a file cancelled while queued behind another is never started", async () => {
  const { a, out, sender } = endpoints();
  const first = await file(new Uint8Array(100));
  const second = await file(new Uint8Array(100));
  const one = out.send(first.bytes, first.meta);
  const two = out.send(second.bytes, second.meta);
  assert.equal(out.cancel(second.meta.id), true);
  await Promise.all([one, two]);
  const started = a.texts().filter((m) => m.type === "file-start").map((m) => m.id);
  assert.deepEqual(started, [first.meta.id]);
  assert.deepEqual(sender.named("onFailed"), [["onFailed", second.meta.id, FAILURE.cancelledByMe, "out"]]);
});

test("a second file-start during a receive is refused with reason busy; the first carries on", async () => {
  const { a, b, out, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(50_000).fill(3));
  await out.send(bytes, meta);
  b.receive(a.sent[0]); // file-start of the first
  b.receive(a.sent[1]); // one chunk
  const intruder = { ...meta, id: "second", name: "second.txt" };
  b.receive(JSON.stringify(intruder));
  assert.deepEqual(b.texts(), [{ type: "file-cancel", id: "second", reason: "busy" }]);
  assert.deepEqual(receiver.named("onRefused").map(([, m]) => m.id), ["second"]);
  a.delivered = 2;
  a.deliverTo(b);
  await receiver.when("onReceived");
  assert.equal(receiver.named("onReceived")[0][1].id, meta.id);
  assert.equal(receiver.named("onReceived")[0][2].ok, true);
});

test("the sender hears busy as a refusal, not as a cancel", async () => {
  const { a, out, sender } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(4 * 1024 * 1024));
  const sending = out.send(bytes, meta);
  await settle();
  a.receive(JSON.stringify({ type: "file-cancel", id: meta.id, reason: "busy" }));
  await sending;
  assert.deepEqual(sender.named("onFailed"), [["onFailed", meta.id, FAILURE.busy, "out"]]);
});

test("closing the channel fails both directions once, and a send on a closed channel fails", async () => {
  const { a, b, out, sender, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(4 * 1024 * 1024));
  const sending = out.send(bytes, meta);
  await settle();
  a.deliverTo(b);
  b.close();
  assert.deepEqual(receiver.named("onFailed"), [["onFailed", meta.id, FAILURE.closed, "in"]]);
  a.close();
  await sending;
  assert.deepEqual(sender.named("onFailed"), [["onFailed", meta.id, FAILURE.closed, "out"]]);

  const later = await file(new Uint8Array(10));
  await out.send(later.bytes, later.meta);
  assert.deepEqual(sender.named("onFailed").at(-1), ["onFailed", later.meta.id, FAILURE.closed, "out"]);
});

test("a send waits for a connecting channel to open", async () => {
  const channel = new FakeChannel("connecting");
  const out = new FileChannel(channel, {});
  const { bytes, meta } = await file(new Uint8Array(10));
  const sending = out.send(bytes, meta);
  await settle();
  assert.equal(channel.sent.length, 0);
  channel.open();
  await sending;
  assert.deepEqual(channel.texts().map((m) => m.type), ["file-start", "file-end"]);
});

test("junk on the channel is ignored", async () => {
  const { b, receiver } = endpoints();
  for (const junk of ["not json", "null", "42", JSON.stringify({ type: "file-start" }), JSON.stringify({ type: "file-end", id: "x" })]) {
    b.receive(junk);
  }
  b.receive(new ArrayBuffer(5));
  await settle();
  assert.deepEqual(receiver.calls, []);
  assert.deepEqual(b.sent, []);
});

test("a file-start that cannot be accepted is refused as invalid, without a card", async () => {
  const { b, receiver } = endpoints();
  const good = (await file(new Uint8Array(3))).meta;
  const bad = [
    { ...good, id: "big", size: MAX_FILE_BYTES + 1 },
    { ...good, id: "neg", size: -1 },
    { ...good, id: "frac", size: 1.5 },
    { ...good, id: "hash", sha256: "zz" },
    { ...good, id: "name", name: 42 },
  ];
  for (const meta of bad) assert.ok(fileStartProblem(meta), meta.id);
  assert.equal(fileStartProblem(good), null);
  for (const meta of bad) b.receive(JSON.stringify(meta));
  assert.deepEqual(b.texts().map((m) => [m.id, m.reason]), bad.map((m) => [m.id, FAILURE.invalid]));
  assert.deepEqual(receiver.named("onRefused").map(([, m, why]) => [m.id, why]), bad.map((m) => [m.id, FAILURE.invalid]));
  assert.equal(receiver.named("onOffer").length, 0);
});

test("more bytes than announced stop the receive and are reported on both sides", async () => {
  const { a, b, out, sender, receiver } = endpoints();
  const { bytes, meta } = await file(new Uint8Array(100));
  const sending = out.send(bytes, meta);
  await sending;
  b.receive(a.sent[0]);
  b.receive(new ArrayBuffer(60));
  b.receive(new ArrayBuffer(60)); // 120 > 100
  assert.deepEqual(receiver.named("onFailed"), [["onFailed", meta.id, FAILURE.invalid, "in"]]);
  assert.deepEqual(b.texts(), [{ type: "file-cancel", id: meta.id, reason: FAILURE.invalid }]);
  b.receive(a.sent.at(-1)); // its file-end: nothing left to check
  await settle();
  assert.equal(receiver.named("onReceived").length, 0);
  b.deliverTo(a);
  assert.deepEqual(sender.named("onFailed"), [["onFailed", meta.id, FAILURE.invalid, "out"]]);
});
