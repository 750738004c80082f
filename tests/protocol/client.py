"""A small real WebSocket client for protocol tests, written from docs/protocol.md."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class Client:
    def __init__(self, url: str, origin: str | None = None) -> None:
        self._exit = ExitStack()
        self.ws: ClientConnection = self._exit.enter_context(
            connect(url, origin=origin, open_timeout=5, max_size=None)  # type: ignore[arg-type]
        )
        self.peer_id: str | None = None
        self.token: str | None = None
        self.early: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        return message

    def expect(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        message = self.recv(timeout)
        assert message.get("type") == kind, message
        return message

    def join(self, room: str, **fields: Any) -> dict[str, Any]:
        """The reply to `join`. When two sockets join at once, each may hear `peer-joined` for the other before
        its own `joined` (the protocol allows it); those are kept in `self.early`."""
        self.send({"action": "join", "room": room, **fields})
        reply = self.recv()
        while reply["type"] == "peer-joined":
            self.early.append(reply)
            reply = self.recv()
        if reply["type"] == "joined":
            self.peer_id, self.token = reply["peerId"], reply["token"]
        return reply

    def signal(self, to: str, data: Any) -> None:
        self.send({"action": "signal", "to": to, "data": data})

    def usable(self) -> bool:
        self.send({"action": "ping"})
        return self.recv() == {"type": "pong"}

    def heard_nothing(self) -> bool:
        """True if nothing arrived since the last message read: a ping's pong is the next frame. Frames reach a
        socket in the order the gateway sends them, so anything posted before the ping was sent comes first."""
        self.send({"action": "ping"})
        message = self.recv()
        if message != {"type": "pong"}:
            raise AssertionError(f"unexpected message: {message!r}")
        return True

    def close(self) -> None:
        self._exit.close()

    def closed_with(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the socket; the close code."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
