"""The local gateway behind test-only handlers (echo_handlers), with real WebSocket clients (websockets, asyncio)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from websockets.asyncio.client import ClientConnection, connect

from devstack.server import LocalStack

from . import echo_handlers

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def open_socket(stack: LocalStack, path: str = "", **options: Any) -> Any:
    """websockets' connect(...) for the stack's socket URL (+ path, e.g. "?room=a"); never through a proxy."""
    options.setdefault("open_timeout", 5)
    return connect(stack.ws_url + path, proxy=None, **options)


async def receive_json(ws: ClientConnection, timeout: float = 5) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def close_code(ws: ClientConnection, timeout: float = 5) -> int | None:
    """Wait until the server closes the socket; the code it sent."""
    await asyncio.wait_for(ws.wait_closed(), timeout)
    return ws.close_code


def eventually(predicate: Callable[[], T], timeout: float = 5) -> T:
    """Poll for an effect that happens after the fact ($disconnect), instead of sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
    return result


def shape(value: Any) -> Any:
    """Key structure and value types, to compare an event with a recorded one: dict keys recursively, lists by
    their first element, scalars by type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


_echo_stacks: list[LocalStack] = []


@pytest.fixture
def echo_stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    """A stack with the echo routes and default settings, shared by consecutive tests; started anew when a test in
    between started a stack of its own (one runs at a time)."""
    if not (_echo_stacks and _echo_stacks[-1] is LocalStack.current()):
        _echo_stacks[:] = [start_local_stack(routes=echo_handlers.routes())]
    return _echo_stacks[-1]


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    """Each test sees only its own events: the previous test's late $disconnects have run before it starts."""
    running = LocalStack.current()
    if running is not None:
        running.wait_idle()
    echo_handlers.EVENTS.clear()
    echo_handlers.BATCHES.clear()
    echo_handlers.CONCURRENCY.clear()
    echo_handlers.RELEASE.clear()
