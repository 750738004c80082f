// frontend/js/roster.js: the reconciliation rule of docs/protocol.md section 1. Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { Roster } from "../../frontend/js/roster.js";

/** Applies what the roster lets through to a set, the way call.js does. */
function view() {
  const roster = new Roster();
  const peers = new Set();
  const apply = (event) => (event.type === "peer-joined" ? peers.add(event.peerId) : peers.delete(event.peerId));
  return {
    roster,
    peers,
    joined(message) {
      peers.clear();
      for (const p of message.peers) peers.add(p.peerId);
      for (const event of roster.joined(message)) apply(event);
    },
    event(event) {
      if (roster.accept(event)) apply(event);
    },
  };
}

const joined = (room, seq, ...ids) => ({ type: "joined", room, seq, peers: ids.map((peerId) => ({ peerId })) });
const ev = (type, room, peerId, seq) => ({ type, room, peerId, seq });

test("a peer-left heard before a stale joined that still lists the peer wins", () => {
  const v = view();
  v.event(ev("peer-left", "r", "X", 5)); // the member's leave raced our join: its peer-left came first
  v.joined(joined("r", 4, "X")); // built from a snapshot read before the leave
  assert.deepEqual([...v.peers], []);
});

test("an early peer-joined that joined.peers already holds changes nothing; a newer one is applied", () => {
  const v = view();
  v.event(ev("peer-joined", "r", "A", 3));
  v.event(ev("peer-joined", "r", "B", 6));
  v.joined(joined("r", 5, "A"));
  assert.deepEqual([...v.peers].sort(), ["A", "B"]);
});

test("events of a room we left are ignored, even after we joined another", () => {
  const v = view();
  v.joined(joined("x", 2, "P"));
  v.joined(joined("y", 7)); // we left x and joined y
  v.event(ev("peer-joined", "x", "Q", 3)); // late, from x
  v.roster.left({ room: "x" }); // x's late acknowledgement does not take us out of y
  v.event(ev("peer-joined", "y", "R", 8));
  assert.deepEqual([...v.peers], ["R"]);
  assert.equal(v.roster.room, "y");
  assert.equal(v.roster.current("x"), false);
});

test("per peer the highest number wins, whatever order the events arrive in", () => {
  const v = view();
  v.joined(joined("r", 1));
  v.event(ev("peer-left", "r", "A", 4));
  v.event(ev("peer-joined", "r", "A", 3)); // older than the peer-left already applied
  assert.deepEqual([...v.peers], []);
  v.event(ev("peer-joined", "r", "A", 9)); // A came back later (same peerId with its token)
  assert.deepEqual([...v.peers], ["A"]);
});

test("a left that crossed the joined of a new membership of the same room is stale", () => {
  const v = view();
  v.joined(joined("r", 1));
  v.joined(joined("r", 5)); // leave (seq 4) and join again at once: the new joined came first
  v.roster.left({ room: "r", seq: 4 });
  assert.equal(v.roster.room, "r");
});

test("left takes us out of the room", () => {
  const v = view();
  v.joined(joined("r", 1));
  v.roster.left({ room: "r" });
  assert.equal(v.roster.room, null);
  assert.equal(v.roster.accept(ev("peer-joined", "r", "A", 2)), false);
});

test("an event heard in our room before the joined of our next membership of it counts for that membership", () => {
  const v = view();
  v.joined(joined("r", 1, "Z"));
  // We left (seq 2) and joined r again (seq 3); Q joined (seq 4) before that `joined` and before our `left`.
  v.event(ev("peer-joined", "r", "Q", 4));
  v.joined(joined("r", 3, "Z")); // read before Q's seat: does not list Q
  v.event(ev("peer-left", "r", "M", 2)); // our own first membership's end, announced to the room
  v.roster.left({ room: "r", seq: 2 });
  assert.deepEqual([...v.peers].sort(), ["Q", "Z"]);
  assert.equal(v.roster.room, "r");
});

test("a resume's joined keeps a peer whose peer-joined overtook it", () => {
  const v = view();
  v.joined(joined("r", 5, "A"));
  v.event(ev("peer-joined", "r", "B", 9)); // B joined after the resume's snapshot and was told to our new socket
  v.joined({ ...joined("r", 8, "A"), resumed: true });
  assert.deepEqual([...v.peers].sort(), ["A", "B"]);
});
