"""What the local gateway saw, for benchmarks: signaling messages by direction and kind, and handler durations."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict, deque

DURATIONS_KEPT = 10_000
"""Handler durations kept per route (the latest): enough for any benchmark, and bounded under a flood."""
KINDS_KEPT = 64
"""Distinct message kinds counted per direction; any further kind is counted as "(other)", so the counters stay
bounded whatever `type` a frame names."""


def message_type(frame: str | bytes) -> str:
    """A server message's `type`; "?" when it has none (e.g. API Gateway's own error message)."""
    if isinstance(frame, bytes):
        return "binary"
    try:
        message = json.loads(frame)
    except ValueError:
        return "?"
    value = message.get("type") if isinstance(message, dict) else None
    return value if isinstance(value, str) else "?"


class Traffic:
    """frames_in: client messages by the route they took ("join", "$default", "ping", ...). frames_out: frames sent to
    clients, route responses and Management API posts alike, by `type`. handler_ms: how long each handler ran, by
    route ($connect and $disconnect included; the latest DURATIONS_KEPT). Counters are written on the gateway's
    loop, durations on the workers; any thread may read."""

    def __init__(self) -> None:
        self.frames_in: Counter[str] = Counter()
        self.frames_out: Counter[str] = Counter()
        self.handler_ms: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=DURATIONS_KEPT))
        self._lock = threading.Lock()

    def inbound(self, route_key: str) -> None:
        _count(self.frames_in, route_key)

    def outbound(self, frame: str | bytes) -> None:
        _count(self.frames_out, message_type(frame))

    def handled(self, route_key: str, milliseconds: float) -> None:
        with self._lock:  # the first append for a route creates its list, from any worker
            self.handler_ms[route_key].append(milliseconds)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{"in": {"join": 2, "signal": 14, ...}, "out": {"joined": 2, "signal": 14, ...}}"""
        return {"in": dict(self.frames_in), "out": dict(self.frames_out)}

    def reset(self) -> None:
        self.frames_in.clear()
        self.frames_out.clear()
        self.handler_ms.clear()


def _count(counter: Counter[str], kind: str) -> None:
    if kind not in counter and len(counter) >= KINDS_KEPT:
        kind = "(other)"
    counter[kind] += 1
