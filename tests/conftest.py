"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.server import LocalStack

StartLocalStack = Callable[..., LocalStack]


@pytest.fixture(scope="module")
def start_local_stack() -> Iterator[StartLocalStack]:
    """Starts a local stack on a free port: start_local_stack(env={...}, idle_timeout=..., routes=...), any
    LocalStack keyword. `iceServers: []` unless env says otherwise. The stack stops at the end of the module, or
    when the next one starts (one runs at a time: moto and the handlers' environment are process-wide).

    Module scope, never wider: moto resets every backend when a mock starts, and the handler tests start their own
    mocks per test, so a stack must be gone before another module's tests run."""
    running: list[LocalStack] = []

    def start(env: dict[str, str] | None = None, **options: Any) -> LocalStack:
        while running:
            running.pop().stop()
        stack = LocalStack(port=0, env={"ICE_SERVERS": "[]", **(env or {})}, **options).start()
        running.append(stack)
        return stack

    yield start
    while running:
        running.pop().stop()


@pytest.fixture(scope="module")
def local_stack(start_local_stack: StartLocalStack) -> LocalStack:
    """The local stack as `make dev` runs it (the real routes and handlers), on a free port, `iceServers: []`."""
    return start_local_stack()
