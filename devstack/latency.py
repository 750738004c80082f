"""An optional per-hop latency profile for the local stack: what AWS's hops cost, added where the local stack makes
them instantly. Off (zero) unless asked for: `python -m devstack --latency aws`, or DEVSTACK_LATENCY=aws in the
environment, or `with latency.profile("aws"):` around an in-process LocalStack (bench/userpath.py).

Three hops, each added once per occurrence:
- invocation: API Gateway routing a frame to a warm Lambda and the handler's answer back (runtime.Invoker.invoke);
- a DynamoDB request (every call moto serves, devstack/dynamodb.py);
- a post to @connections (the Management API's POST, devstack/management.py), from the handler's call to the frame
  leaving on the socket.
The figures and their sources are in docs/architecture.md ("Latency profile").
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ENV = "DEVSTACK_LATENCY"


@dataclass(frozen=True)
class Profile:
    name: str
    invocation_ms: float
    dynamodb_ms: float
    post_ms: float

    def describe(self) -> dict[str, float | str]:
        return {
            "name": self.name,
            "invocation_ms": self.invocation_ms,
            "dynamodb_ms": self.dynamodb_ms,
            "post_ms": self.post_ms,
        }


PROFILES = {
    "zero": Profile("zero", 0.0, 0.0, 0.0),
    # Warm invocation through API Gateway ~20 ms, a DynamoDB request in-region ~5 ms (single-digit milliseconds), a
    # post to @connections from Lambda ~20 ms: see docs/architecture.md for the sources.
    "aws": Profile("aws", 20.0, 5.0, 20.0),
}

_lock = threading.Lock()
_current = PROFILES["zero"]
_sleep = time.sleep  # how the hooks wait (a test replaces them to see what they would wait)
_async_sleep = asyncio.sleep


def named(name: str) -> Profile:
    """The profile called `name`; ValueError naming the choices for anything else."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown latency profile {name!r}: choose one of {', '.join(PROFILES)}") from None


def use(name: str) -> Profile:
    """Make `name` the profile of this process's local stack from now on."""
    global _current
    chosen = named(name)
    with _lock:
        _current = chosen
    return chosen


def current() -> Profile:
    return _current


def from_environment() -> Profile:
    """The profile DEVSTACK_LATENCY names (zero when unset or empty)."""
    return use(os.environ.get(ENV) or "zero")


@contextmanager
def profile(name: str) -> Iterator[Profile]:
    previous = _current.name
    try:
        yield use(name)
    finally:
        use(previous)


async def invocation() -> None:
    if _current.invocation_ms:
        await _async_sleep(_current.invocation_ms / 1000)


def dynamodb_call() -> None:
    """Blocks the calling handler thread, as a synchronous boto3 call does."""
    if _current.dynamodb_ms:
        _sleep(_current.dynamodb_ms / 1000)


async def post() -> None:
    if _current.post_ms:
        await _async_sleep(_current.post_ms / 1000)
