"""Bulkheads: no function's backlog can starve another's (docs/architecture.md, "Concurrency and bulkheads")."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from devstack.server import LocalStack
from signaling.definition import ROUTES
from tests.stack import echo_handlers

from .client import Client

STORM = 40


def _held_disconnects() -> tuple[Any, ...]:
    """The real routes, except that every $disconnect blocks until echo_handlers.RELEASE is set: a storm of slow
    $disconnects (each holding its invocation, as a sleeping one did before the grace queue)."""
    held = f"{echo_handlers.__name__}.wait"
    return tuple(dataclasses.replace(r, handler=held) if r.key == "$disconnect" else r for r in ROUTES)


def _eventually(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_a_storm_of_slow_disconnects_does_not_delay_a_join_and_relay(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    echo_handlers.RELEASE.clear()
    stack = start_local_stack(routes=_held_disconnects())
    opened: list[Client] = []
    try:
        for _ in range(STORM):
            client = Client(stack.ws_url)
            opened.append(client)
        for client in opened:
            client.close()
        # Every $disconnect is in flight and held: more than the threads any one function has.
        _eventually(lambda: stack.invoker.running_for("$disconnect") == STORM)

        a, b = Client(stack.ws_url), Client(stack.ws_url)
        opened += [a, b]
        a.join("bulkhead")
        b.join("bulkhead")
        a.expect("peer-joined")
        b.signal(a.peer_id or "", {"seq": 1})
        relayed = a.expect("signal")

        # All of it happened while every one of the storm's $disconnects was still held: nothing waited for them.
        assert stack.invoker.running_for("$disconnect") == STORM
        assert len(echo_handlers.events("$disconnect")) <= stack.invoker.workers  # the rest wait for a thread
        assert relayed == {"type": "signal", "from": b.peer_id, "data": {"seq": 1}}
    finally:
        echo_handlers.RELEASE.set()
        for client in opened:
            client.close()
    stack.wait_idle()
    assert stack.invoker.running == 0
