"""Invoking the route handlers as Lambda would: resolved lazily from "module.function", each invocation on its own
worker thread with a context object like the runtime's."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

Handler = Callable[[dict[str, Any], Any], Any]

FUNCTION_TIMEOUT_SECONDS = 29.0
"""API Gateway's integration timeout; nothing a handler does past it reaches the caller."""


class Function(Protocol):
    """What the invoker needs to know of a function: a WebSocket route or a queue consumer (signaling.definition)."""

    @property
    def key(self) -> str: ...

    @property
    def handler(self) -> str | None: ...

    @property
    def function_id(self) -> str: ...


class IntegrationTimeout(Exception):
    """The handler did not answer within API Gateway's integration timeout (it may still be running)."""


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the runtime's context object that handlers and Powertools read."""

    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(default_factory=lambda: time.monotonic() + FUNCTION_TIMEOUT_SECONDS)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class Invoker:
    """Runs handlers concurrently on a pool, like Lambda scaling out: two messages from one socket may run at the
    same time and finish in either order."""

    def __init__(self, workers: int = 32, on_done: Callable[[str, float], None] | None = None) -> None:
        """on_done(route_key, milliseconds) is told how long each handler ran (like Lambda's billed duration)."""
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def resolve(self, dotted: str) -> Handler:
        with self._lock:
            if dotted not in self._handlers:
                module, _, function = dotted.rpartition(".")
                self._handlers[dotted] = getattr(importlib.import_module(module), function)
            return self._handlers[dotted]

    def warm(self, dotted: list[str]) -> None:
        """Import the handlers in the background, as a provisioned function would have; a failure here is
        reported by the first invocation instead."""
        for name in dotted:
            self._pool.submit(self.resolve, name)

    async def invoke(self, route: Function, event: dict[str, Any]) -> Any:
        """The handler's return value; raises what the handler raised, or IntegrationTimeout."""
        dotted = route.handler
        if dotted is None:
            raise ValueError(f"route {route.key} has no handler")
        context = LambdaContext(function_name=f"parley-local-{route.function_id}")

        def run() -> Any:
            # Resolved on the worker: the first import of a handler module can take a while and must not stall
            # the event loop.
            handler = self.resolve(dotted)
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                if self._on_done is not None:
                    self._on_done(route.key, (time.perf_counter() - started) * 1000)

        future = asyncio.get_running_loop().run_in_executor(self._pool, run)
        try:
            return await asyncio.wait_for(future, FUNCTION_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            if future.cancelled():
                raise IntegrationTimeout(f"{dotted} ran past {FUNCTION_TIMEOUT_SECONDS} s") from exc
            raise

    def shutdown(self) -> None:
        """Wait for running invocations: they may still be talking to the embedded DynamoDB, which must outlive
        them (once the mock stops, a late boto3 call would head for the real AWS endpoint)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
