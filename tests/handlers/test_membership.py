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
