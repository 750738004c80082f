"""The membership reconciliation rule of docs/protocol.md section 1, as a client applies it (frontend/js/roster.js is
the browser's): tests replay what a socket received through it and compare the result with the table."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def view(received: list[dict[str, Any]]) -> tuple[str | None, set[str]]:
    """The reconciliation rule of docs/protocol.md: the room is that of the last `joined` (none after a `left` of that
    room numbered above `joined.seq`); its peers start from `joined.peers` as of `joined.seq`; then a membership
    event of that room changes a peer only if its seq is above `joined.seq` and above the last seq applied to that
    peer. Events of a room that arrive before its `joined` are kept and applied by the same rule; events of any other
    room are ignored."""
    room: str | None = None
    floor = 0
    peers: set[str] = set()
    applied: dict[str, int] = {}
    early: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def apply(event: dict[str, Any]) -> None:
        peer, seq = event["peerId"], event["seq"]
        if seq <= floor or seq <= applied.get(peer, 0):
            return
        applied[peer] = seq
        if event["type"] == "peer-joined":
            peers.add(peer)
        else:
            peers.discard(peer)

    for message in received:
        kind = message.get("type")
        if kind == "joined":
            room, floor, applied = message["room"], message["seq"], {}
            peers = {p["peerId"] for p in message["peers"]}
            for event in early.pop(room, []):
                apply(event)
            early.clear()
        elif kind == "left" and message["room"] == room and message.get("seq", floor + 1) > floor:
            room, peers = None, set()  # (a `left` numbered at or below our `joined` ended an earlier membership)
        elif kind in ("peer-joined", "peer-left"):
            if message["room"] == room:
                apply(message)
            else:
                early[message["room"]].append(message)
    return room, peers
