"""Fixtures shared by the whole suite, and the guard that keeps it self-contained."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The handlers' Powertools Metrics object is created once per process, when the first test module imports signaling,
# and reads its namespace then. Give it the deployed one before anything imports it: Powertools keeps disabled metrics
# and serialises them every 100th value, which without a namespace fails the invocation that adds it (a long session
# runs hundreds of joins through the same process).
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Parley")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "parley")

from devstack.server import LocalStack
from tests.selfcontained import OutsideReads

StartLocalStack = Callable[..., LocalStack]

# As every deployment and the local stack configure it. Powertools reads it when signaling.observability is imported
# (during collection, before any fixture sets the environment); without it, the 100th value of one metric makes
# Powertools flush early and raise "Must contain a metric namespace" inside a handler.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Parley")

OUTSIDE_READS = OutsideReads(Path(__file__).resolve().parents[1])
sys.addaudithook(OUTSIDE_READS)


@pytest.fixture(autouse=True)
def _self_contained() -> Iterator[None]:
    """Fails the test during which (its fixtures included) a file from beside the repository was read."""
    yield
    read, OUTSIDE_READS.paths[:] = list(OUTSIDE_READS.paths), []
    assert not read, f"the test read files outside the repository (a fresh clone has none of them): {read[:5]}"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection (imports, module-level code) must not read from beside the repository either."""
    if OUTSIDE_READS.paths:
        read = list(OUTSIDE_READS.paths)
        raise pytest.UsageError(f"collecting the tests read files outside the repository: {read[:5]}")


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
