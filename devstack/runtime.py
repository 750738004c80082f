"""Invoking the route handlers as Lambda would: resolved lazily from "module.function", with a context object like the
runtime's, concurrently, within each function's reserved concurrency (its bulkhead) or the account's unreserved
pool: beyond that Lambda throttles the invocation. Each function runs on threads of its own, so a function whose
invocations are slow (a storm of $disconnects) can never hold up another's."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from devstack import latency
from signaling.definition import LAMBDA_CONCURRENCY, RESERVED_CONCURRENCY, UNRESERVED_CONCURRENCY_MINIMUM

Handler = Callable[[dict[str, Any], Any], Any]

FUNCTION_TIMEOUT_SECONDS = 29.0
"""API Gateway's integration timeout; nothing a handler does past it reaches the caller."""

WORKERS = 8
"""Threads per function. Lambda runs each invocation in an environment of its own; one Python process cannot
usefully run a thousand threads (they would take turns at the GIL and starve the gateway's event loop), so a
function's invocations in flight beyond this wait for one of its threads, in a queue its concurrency bounds. The
threads are the function's own: waiting for them never delays another function."""


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
    and finish in either order.

    Concurrency is Lambda's model: a function with reserved concurrency (`reserved`, by function key) runs at most
    that many invocations at once and no other function can use them; every other function shares what is left of
    the account's `concurrency` (the unreserved pool). One invocation more is refused at once with LambdaThrottled.
    As in AWS, reservations must leave UNRESERVED_CONCURRENCY_MINIMUM unreserved. Each function has `workers`
    threads of its own (fewer if its limit is lower), so what waits for a thread is bounded per function however
    fast requests come, and a function's backlog never delays another's invocations."""

    def __init__(
        self,
        concurrency: int = LAMBDA_CONCURRENCY,
        on_done: Callable[[str, float], None] | None = None,
        *,
        reserved: Mapping[str, int] | None = None,
        workers: int = WORKERS,
    ) -> None:
        """on_done(function key, milliseconds) is told how long each handler ran (like Lambda's billed duration).
        reserved: reserved concurrency by function key (default: RESERVED_CONCURRENCY, as deployed)."""
        if concurrency < 1 or workers < 1:
            raise ValueError(f"concurrency and workers must be at least 1, got {concurrency} and {workers}")
        self.reserved = dict(RESERVED_CONCURRENCY if reserved is None else reserved)
        if any(limit < 1 for limit in self.reserved.values()):
            raise ValueError(f"reserved concurrency must be at least 1, got {self.reserved}")
        unreserved = concurrency - sum(self.reserved.values())
        if self.reserved and unreserved < UNRESERVED_CONCURRENCY_MINIMUM:
            raise ValueError(
                f"reserving {sum(self.reserved.values())} of {concurrency} would leave {unreserved} unreserved; "
                f"Lambda requires at least {UNRESERVED_CONCURRENCY_MINIMUM} (raise the concurrency or reserve none)"
            )
        self.concurrency = concurrency
        self.unreserved = unreserved
        self.workers = workers
        self._on_done = on_done
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()  # the handler cache; held during a first import
        self._pools_lock = threading.Lock()  # the pools; taken on the event loop, so never held long
        self._counter = threading.Lock()  # the concurrency counts; taken on the event loop, so never held long
        self._running: dict[str, int] = {}
        """Invocations in flight by function key (entries of functions with none are dropped)."""
        self.throttled = 0
        """Invocations refused so far (Lambda's Throttles metric)."""

    @property
    def running(self) -> int:
        """Invocations in flight now: running, waiting for a thread, or past the integration timeout but still
        running (each holds concurrency until its handler returns, as in Lambda)."""
        with self._counter:
            return sum(self._running.values())

    @property
    def functions_running(self) -> int:
        """How many functions have an invocation in flight (the per-function counts are dropped at zero)."""
        with self._counter:
            return len(self._running)

    def running_for(self, key: str) -> int:
        """Invocations of one function in flight now."""
        with self._counter:
            return self._running.get(key, 0)

    def limit(self, key: str) -> int:
        """The most invocations of this function in flight at once: its reservation, else the unreserved pool."""
        return self.reserved.get(key, self.unreserved)

    def _pool(self, key: str) -> ThreadPoolExecutor:
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                workers = min(self.workers, self.limit(key))
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"lambda-{key.lstrip('$')}")
                self._pools[key] = pool
            return pool

    def resolve(self, dotted: str) -> Handler:
        with self._lock:
            if dotted not in self._handlers:
                module, _, function = dotted.rpartition(".")
                self._handlers[dotted] = getattr(importlib.import_module(module), function)
            return self._handlers[dotted]

    def warm(self, functions: list[Function]) -> None:
        """Import the handlers in the background, as a provisioned function would have; a failure here is
        reported by the first invocation instead."""
        for function in functions:
            if function.handler is not None:
                self._pool(function.key).submit(self.resolve, function.handler)

    def _acquire(self, key: str) -> bool:
        with self._counter:
            if key in self.reserved:
                full = self._running.get(key, 0) >= self.reserved[key]
            else:
                full = sum(n for k, n in self._running.items() if k not in self.reserved) >= self.unreserved
            if full:
                self.throttled += 1
                return False
            self._running[key] = self._running.get(key, 0) + 1
            return True

    def _release(self, key: str) -> None:
        with self._counter:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]

    async def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        """The handler's return value; raises what the handler raised, LambdaThrottled, or IntegrationTimeout."""
        dotted = function.handler
        if dotted is None:
            raise ValueError(f"{function.key} has no handler")
        if not self._acquire(function.key):
            limit = self.limit(function.key)
            raise LambdaThrottled(f"{dotted}: {limit} invocations are running (Rate Exceeded.)")
        try:
            await latency.invocation()  # API Gateway reaching a warm Lambda (zero unless profiled)
        except BaseException:
            self._release(function.key)
            raise
        # As Lambda's: the remaining time counts down from the function's own timeout (handlers budget their work
        # from it, signaling.budget), not from API Gateway's integration timeout.
        context = LambdaContext(
            function_name=f"parley-local-{function.function_id}",
            deadline=time.monotonic() + function.timeout_seconds,
        )

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
            work = self._pool(function.key).submit(run)
        except BaseException:
            self._release(function.key)
            raise
        # Released when the handler returns (or, never started, is cancelled), not when the caller stops waiting:
        # a handler past the integration timeout still holds its concurrency, as in Lambda.
        work.add_done_callback(lambda _: self._release(function.key))
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
        with self._pools_lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
