"""The membership sequence makes a stale `joined` recognisable: a newcomer whose `joined` was built from a room read
before a member's leave committed hears that leave's `peer-left` with a higher number, so the reconciliation rule
(tests/roster.py, frontend/js/roster.js) removes the member its `joined` still lists."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.storage import Room, Storage
from tests.roster import view

from .conftest import Harness


def test_a_joined_built_before_a_racing_leave_is_corrected_by_the_leaves_higher_number(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.join("connA=", capacity=3)
    x = aws.join("connX=")
    original = Storage.add_member

    def add_member(self: Storage, room: Room, **seat: Any) -> None:
        # The newcomer's `joined` lists the room its seat committed; X leaves right after, before it is answered.
        original(self, room, **seat)
        monkeypatch.setattr(Storage, "add_member", original)
        aws.send("connX=", {"action": "leave"})

    monkeypatch.setattr(Storage, "add_member", add_member)

    joined = aws.join("connN=")

    heard: list[dict[str, Any]] = aws.inbox("connN=")
    # Stale: X is listed, so a client taking `joined.peers` as the truth after the peer-left would keep X.
    assert x["peerId"] in {p["peerId"] for p in joined["peers"]}
    assert [(m["type"], m["peerId"], m["seq"]) for m in heard] == [("peer-left", x["peerId"], joined["seq"] + 1)]
    # The socket received the peer-left first (posted while the join was still running), then its joined.
    room_name, peers = view([*heard, joined])
    assert room_name == "room1"
    assert x["peerId"] not in peers
    assert peers == {m["peerId"] for m in joined["peers"]} - {x["peerId"]}


def test_an_event_that_overtakes_the_joined_of_a_rejoin_of_the_same_room_counts_for_the_new_membership(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    z = aws.join("connZ=", capacity=4)  # keeps the room (and its sequence) alive throughout
    first = aws.join("connM=")
    assert aws.inbox("connM=") == []
    stream: list[dict[str, Any]] = [first]  # what M's socket received, in order
    remove_member, add_member = Storage.remove_member, Storage.add_member
    newcomer: list[dict[str, Any]] = []

    def seat_then_q_joins(self: Storage, room: Room, **seat: Any) -> None:
        # M's second seat is taken; Q joins before M's `joined` is answered, so Q's peer-joined reaches M first.
        add_member(self, room, **seat)
        monkeypatch.setattr(Storage, "add_member", add_member)
        newcomer.append(aws.join("connQ="))

    def remove_then_m_joins_again(self: Storage, **removal: Any) -> int | None:
        # M's leave committed; M joins the same room again at once, and its `left` is posted after that `joined`.
        seq = remove_member(self, **removal)
        monkeypatch.setattr(Storage, "remove_member", remove_member)
        monkeypatch.setattr(Storage, "add_member", seat_then_q_joins)
        again = aws.join("connM=")
        stream.extend(aws.inbox("connM="))
        stream.append(again)
        return seq

    monkeypatch.setattr(Storage, "remove_member", remove_then_m_joins_again)
    aws.send("connM=", {"action": "leave"})
    stream.extend(aws.inbox("connM="))

    (q,) = newcomer
    assert [m["type"] for m in stream] == ["joined", "peer-joined", "joined", "peer-left", "left"]
    _, heard, again, own_departure, left = stream
    # While M still takes itself for a member of its first membership, it hears Q join; Q is newer than M's
    # second `joined`, which does not list Q. The first membership's end (announced to the room, M's new seat
    # included, then answered with `left`) crosses the second `joined`.
    assert heard["peerId"] == q["peerId"]
    assert (own_departure["peerId"], own_departure["seq"]) == (first["peerId"], left["seq"])
    assert first["seq"] < left["seq"] < again["seq"] < heard["seq"]
    assert q["peerId"] not in {p["peerId"] for p in again["peers"]}
    seated = {str(i["peerId"]) for i in aws.items() if str(i["sk"]).startswith("slot#")}
    assert seated == {z["peerId"], again["peerId"], q["peerId"]}
    assert view(stream) == ("room1", {z["peerId"], q["peerId"]})
