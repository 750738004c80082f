"""Each invocation's time budget: what it may spend before its function's timeout, less a reserve.

Lambda stops an invocation at its function's timeout wherever it is; work cut off between two side effects (a seat
committed, the room not yet told) is the partial failure to avoid. So every invocation starts a budget from the
Lambda context's remaining time (`start`, called by signaling.observability for every handler), and whatever waits
on the network (the posts of a fan-out, a relay) waits at most until the budget's deadline: past it, the invocation
returns with time to spare, and what it did not finish is either retry-safe or followed through by a queued message
(signaling.grace.Departure).

The reserve covers what runs after the last wait (building the reply, flushing metrics). The clients' own timeouts
(signaling.wiring: 1 s to connect, 1.5 s to read; three attempts for DynamoDB and SQS, two for a post) bound a single
call that nobody waits for with a deadline, such as a DynamoDB read. A run of such calls against a DynamoDB that
hangs can still outlast the function: then Lambda stops the invocation, and what it had committed is retry-safe or
followed through (a join's seat is a transaction; a removal's announcement is queued before it commits).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RESERVE_SECONDS = 1.0
"""Kept back from the function's remaining time: the invocation returns at least this long before its timeout."""

UNBOUNDED_SECONDS = 10.0
"""The budget when no Lambda context tells the remaining time (a direct call in a test or a script): a route's
timeout (signaling.definition.Route.timeout_seconds)."""


@dataclass(frozen=True)
class Budget:
    deadline: float
    """On `clock`'s scale."""
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def of(cls, context: Any, *, clock: Callable[[], float] = time.monotonic) -> Budget:
        """The budget of an invocation whose Lambda context is `context` (anything with get_remaining_time_in_millis,
        as the Lambda runtime and the local stack's runtime give; otherwise UNBOUNDED_SECONDS)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        seconds = remaining() / 1000 if callable(remaining) else UNBOUNDED_SECONDS
        return cls(deadline=clock() + seconds - RESERVE_SECONDS, clock=clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.deadline - self.clock())

    @property
    def exhausted(self) -> bool:
        return self.remaining() <= 0


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("budget", default=None)


def start(context: Any) -> contextvars.Token[Budget | None]:
    """Start the running invocation's budget; `end` with the token when it returns."""
    return _current.set(Budget.of(context))


def end(token: contextvars.Token[Budget | None]) -> None:
    _current.reset(token)


def current() -> Budget:
    """The running invocation's budget (a fresh UNBOUNDED_SECONDS one outside an invocation)."""
    budget = _current.get()
    return budget if budget is not None else Budget.of(None)
