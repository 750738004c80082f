import assert from "node:assert/strict";
import { test } from "node:test";

import { FAILURE, MAX_FILE_BYTES } from "../../frontend/js/filetransfer.js";
import { sizeLimitText, Transfers } from "../../frontend/js/transfers.js";

function book() {
  const revoked = [];
  let n = 0;
  const transfers = new Transfers({ createURL: () => `blob:test/${++n}`, revokeURL: (url) => revoked.push(url) });
  return { transfers, revoked };
}

const meta = { id: "f1", size: 1000 };

test("a sent file goes starting -> percent -> waiting for check -> delivered, per recipient", () => {
  const { transfers } = book();
  assert.equal(transfers.open(meta, ["p1", "p2"]).text, "starting…");
  assert.deepEqual(transfers.progress("f1", "p1", 250, "out"), { text: "25%", value: 250, ok: null, final: false });
  assert.equal(transfers.progress("f1", "p1", 1000, "out").text, "sent, waiting for check…");
  assert.deepEqual(transfers.acked("f1", "p1", true), {
    text: "delivered · SHA-256 verified",
    value: 1000,
    ok: true,
    final: true,
  });
  assert.equal(transfers.row("f1", "p2").text, "starting…", "the other recipient's row is its own");
  assert.equal(transfers.acked("f1", "p2", false).text, "failed: integrity check failed");
});

test("a final row never changes again: a late ack or progress after a cancel is ignored", () => {
  const { transfers } = book();
  transfers.open(meta, ["p1"]);
  transfers.progress("f1", "p1", 100, "out");
  const cancelled = transfers.failed("f1", "p1", FAILURE.cancelledByReceiver, "out");
  assert.equal(cancelled.text, "cancelled by the recipient");
  assert.equal(cancelled.value, 100);
  assert.equal(transfers.progress("f1", "p1", 1000, "out"), null);
  assert.equal(transfers.acked("f1", "p1", true), null);
  assert.equal(transfers.row("f1", "p1").text, "cancelled by the recipient");
});

test("each side names who cancelled", () => {
  const { transfers } = book();
  transfers.open(meta, ["in"]);
  assert.equal(transfers.failed("f1", "in", FAILURE.cancelledBySender, "in").text, "cancelled by the sender");
  transfers.open({ id: "f2", size: 5 }, ["in"]);
  assert.equal(transfers.failed("f2", "in", FAILURE.cancelledByMe, "in").text, "cancelled by you");
  transfers.open({ id: "f3", size: 5 }, ["p"]);
  assert.match(transfers.failed("f3", "p", FAILURE.busy, "out").text, /^refused: /);
  transfers.open({ id: "f4", size: 5 }, ["p"]);
  assert.equal(transfers.failed("f4", "p", FAILURE.closed, "out").text, "failed: the connection closed");
});

test("a received file is verified or reported damaged; unknown rows are ignored", () => {
  const { transfers } = book();
  transfers.open(meta, ["in"]);
  assert.equal(transfers.progress("f1", "in", 500, "in").text, "50%");
  assert.equal(transfers.received("f1", false).text, "failed: the file arrived damaged (SHA-256 mismatch)");
  assert.equal(transfers.received("nope", true), null);
  assert.equal(transfers.progress("nope", "in", 1, "in"), null);
});

test("a hostile size cannot make the percentage exceed 100 or divide by zero", () => {
  const { transfers } = book();
  transfers.open({ id: "z", size: 0 }, ["in"]);
  assert.equal(transfers.progress("z", "in", 10, "in").text, "100%");
  transfers.open({ id: "bad", size: -5 }, ["in"]);
  assert.equal(transfers.progress("bad", "in", 10, "in").text, "100%");
  transfers.open({ id: "s", size: 10 }, ["in"]);
  assert.equal(transfers.progress("s", "in", 50, "in").text, "100%");
});

test("every object URL is revoked once when the call ends", () => {
  const { transfers, revoked } = book();
  const a = transfers.download(new Blob(["a"]));
  const b = transfers.download(new Blob(["b"]));
  assert.notEqual(a, b);
  assert.deepEqual(revoked, []);
  transfers.open(meta, ["in"]);
  transfers.clear();
  assert.deepEqual(revoked, [a, b]);
  assert.equal(transfers.row("f1", "in"), undefined);
  transfers.clear();
  assert.deepEqual(revoked, [a, b], "not twice");
});

test("the size limit is stated", () => {
  assert.match(sizeLimitText((n) => `${n / 1024 / 1024} MB`), new RegExp(`up to ${MAX_FILE_BYTES / 1024 / 1024} MB`));
});
