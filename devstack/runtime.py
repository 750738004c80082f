"""Invoking the route handlers as Lambda would: resolved lazily from "module.function", with a context object like the
runtime's, concurrently, and at most `concurrency` in flight at a time: beyond that Lambda throttles the invocation."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from devstack import latency
from signaling.definition import LAMBDA_CONCURRENCY

Handler = Callable[[dict[str, Any], Any], Any]

FUNCTION_TIMEOUT_SECONDS = 29.0
"""API Gateway's integration timeout; nothing a handler does past it reaches the caller."""

WORKERS = 32
"""Threads that run handlers. Lambda runs each invocation in an environment of its own; one Python process cannot
usefully run a thousand threads (they would take turns at the GIL and starve the gateway's event loop), so
invocations in flight beyond this wait for a thread, in a queue the concurrency limit bounds."""


class IntegrationTimeout(Exception):
    """The handler did not answer within API Gateway's integration timeout (it may still be running)."""


class LambdaThrottled(Exception):
    """Lambda refused the invocation: every unit of concurrency is in use (TooManyRequestsException, HTTP 429,
    "Rate Exceeded."). The handler did not run."""


class Function(Protocol):
    """What the invoker needs of a function: signaling.definition.Route, or any object with these attributes (a
    queue consumer, say)."""

    @property
    def key(self) -> str: ...
    @property
    def handler(self) -> str | None: ...
    @property
    def function_id(self) -> str: ...
    @property
    def timeout_seconds(self) -> int: ...


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
    """Runs handlers concurrently, like Lambda scaling out: two messages from one socket may run at the same time
    and finish in either order. Like the account's concurrency quota (shared by every function), at most
    `concurrency` invocations are in flight at once; one more is refused with LambdaThrottled at once. So what waits
    for one of the `workers` threads is bounded however fast requests come."""

    def __init__(
        self,
        concurrency: int = LAMBDA_CONCURRENCY,
        on_done: Callable[[str, float], None] | None = None,
        *,
        workers: int = WORKERS,
    ) -> None:
        """on_done(function key, milliseconds) is told how long each handler ran (like Lambda's billed duration)."""
        if concurrency < 1 or workers < 1:
            raise ValueError(f"concurrency and workers must be at least 1, got {concurrency} and {workers}")
        self.concurrency = concurrency
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(max_workers=min(workers, concurrency), thread_name_prefix="lambda")
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()  # the handler cache; held during a first import
        self._counter = threading.Lock()  # the concurrency count; taken on the event loop, so never held long
        self._running = 0
        self.throttled = 0
        """Invocations refused so far (Lambda's Throttles metric)."""

    @property
    def running(self) -> int:
        """Invocations in flight now: running, waiting for a thread, or past the integration timeout but still
        running (each holds concurrency until its handler returns, as in Lambda)."""
        with self._counter:
            return self._running

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

    def _acquire(self) -> bool:
        with self._counter:
            if self._running >= self.concurrency:
                self.throttled += 1
                return False
            self._running += 1
            return True

    def _release(self, _: Future[Any]) -> None:
        with self._counter:
            self._running -= 1

    async def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        """The handler's return value; raises what the handler raised, LambdaThrottled, or IntegrationTimeout."""
        dotted = function.handler
        if dotted is None:
            raise ValueError(f"{function.key} has no handler")
        if not self._acquire():
            raise LambdaThrottled(f"{dotted}: {self.concurrency} invocations are running (Rate Exceeded.)")
        context = LambdaContext(function_name=f"parley-local-{function.function_id}")
        try:
            await latency.invocation()  # API Gateway reaching a warm Lambda (zero unless profiled)
        except BaseException:
            self._release(Future())
            raise

        def run() -> Any:
            # Resolved on the worker: the first import of a handler module can take a while and must not stall
            # the event loop.
            handler = self.resolve(dotted)
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                if self._on_done is not None:
                    self._on_done(function.key, (time.perf_counter() - started) * 1000)

        try:
            work = self._pool.submit(run)
        except BaseException:
            self._release(Future())
            raise
        # Released when the handler returns (or, never started, is cancelled), not when the caller stops waiting:
        # a handler past the integration timeout still holds its concurrency, as in Lambda.
        work.add_done_callback(self._release)
        future = asyncio.wrap_future(work)
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
