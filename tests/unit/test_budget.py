"""An invocation's time budget (signaling.budget), and the local runtime giving handlers the remaining time of their
own function's timeout, as Lambda does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from devstack.runtime import Invoker
from signaling import budget
from tests.clock import FakeClock


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_budget_ends_a_reserve_before_the_functions_timeout() -> None:
    clock = FakeClock(100.0)

    spent = budget.Budget.of(Context(3_000), clock=clock)

    assert spent.remaining() == 3.0 - budget.RESERVE_SECONDS
    clock.advance(1.5)
    assert spent.remaining() == 0.5
    assert not spent.exhausted
    clock.advance(0.5)
    assert spent.exhausted
    clock.advance(5)
    assert spent.remaining() == 0.0


def test_without_a_context_the_budget_is_a_routes_timeout() -> None:
    clock = FakeClock()

    assert budget.Budget.of(object(), clock=clock).remaining() == budget.UNBOUNDED_SECONDS - budget.RESERVE_SECONDS


def test_the_running_invocations_budget_is_the_one_started_for_it() -> None:
    token = budget.start(Context(2_500))
    try:
        assert 1.0 < budget.current().remaining() <= 1.5
    finally:
        budget.end(token)
    assert budget.current().remaining() > 5  # outside an invocation: a fresh unbounded one


def remaining(event: dict[str, Any], context: Any) -> int:
    """A handler for the invoker: how long its context says it has."""
    return int(context.get_remaining_time_in_millis())


@dataclass(frozen=True)
class Function:
    key: str = "probe"
    handler: str = "tests.unit.test_budget.remaining"
    function_id: str = "Probe"
    timeout_seconds: int = 7


def test_the_local_runtime_counts_down_from_the_functions_own_timeout() -> None:
    invoker = Invoker(concurrency=2, workers=1, reserved={})
    try:
        left = asyncio.run(invoker.invoke(Function(), {}))
    finally:
        invoker.shutdown()

    assert 0 < left <= 7_000
    assert left > 7_000 - 5_000  # not API Gateway's 29 s, and not spent before the handler ran


def test_one_call_that_hangs_is_given_up_within_a_routes_budget() -> None:
    from signaling import wiring
    from signaling.definition import ROUTES

    shortest = min(route.timeout_seconds for route in ROUTES if route.handler) - budget.RESERVE_SECONDS
    for attempts in (3, 2):  # DynamoDB and SQS; the Management API
        config = wiring._client_config(max_attempts=attempts)
        worst = (config.connect_timeout + config.read_timeout) * config.retries["max_attempts"]
        assert worst < shortest, f"a hung call may take {worst} s; a route has {shortest} s"
