"""The membership reconciliation rule of docs/protocol.md section 1, as a client applies it (frontend/js/roster.js is
the browser's): tests replay what a socket received through it and compare the result with the table."""

from __future__ import annotations

from typing import Any


def view(received: list[dict[str, Any]]) -> tuple[str | None, set[str]]:
    """The reconciliation rule of docs/protocol.md: the room is that of the last `joined` (none after a `left` of that
    room numbered above `joined.seq`); its peers start from `joined.peers` as of `joined.seq`; then a membership
    event of that room changes a peer only if its seq is above `joined.seq` and above the last seq applied to that
    peer. Every event heard is kept until the next `joined`, which applies those of its room by the same rule: an
    event of the room we are in may belong to the membership a `joined` still on its way starts (we left and joined
    the same room again and the answers crossed). Events of any other room are otherwise ignored."""
    room: str | None = None
    floor = 0
    peers: set[str] = set()
    applied: dict[str, int] = {}
    heard: list[dict[str, Any]] = []

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
            for event in heard:
                if event["room"] == room:
                    apply(event)
            heard = []
        elif kind == "left" and message["room"] == room and message.get("seq", floor + 1) > floor:
            room, peers = None, set()  # (a `left` numbered at or below our `joined` ended an earlier membership)
        elif kind in ("peer-joined", "peer-left"):
            heard.append(message)
            if message["room"] == room:
                apply(message)
    return room, peers
