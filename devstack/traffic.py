"""Counts of the signaling messages the local gateway sees, by direction and by kind, for benchmarks."""

from __future__ import annotations

import json
import threading
from collections import Counter


def kind_of(frame: str | bytes, field: str) -> str:
    """The message's `action` (client to server) or `type` (server to client); "?" when it has none."""
    if isinstance(frame, bytes):
        return "binary"
    try:
        message = json.loads(frame)
    except ValueError:
        return "?"
    value = message.get(field) if isinstance(message, dict) else None
    return value if isinstance(value, str) else "?"


class Traffic:
    """Frames in (by `action`) and out (by `type`), route responses and Management API posts alike. Updated on the
    gateway's event loop, read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {"in": Counter(), "out": Counter()}

    def inbound(self, kind: str) -> None:
        with self._lock:
            self._counts["in"][kind] += 1

    def outbound(self, frame: str | bytes) -> None:
        kind = kind_of(frame, "type")
        with self._lock:
            self._counts["out"][kind] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{"in": {"join": 2, "signal": 14, ...}, "out": {"joined": 2, "signal": 14, ...}}"""
        with self._lock:
            return {direction: dict(counts) for direction, counts in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            for counts in self._counts.values():
                counts.clear()
