"""The invoker's concurrency model: a function with reserved concurrency runs at most that many invocations, the
others share the rest of the account's concurrency, each function on threads of its own; one more is throttled at
once, and concurrency comes back only when a handler returns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from devstack.runtime import Invoker, LambdaThrottled
from signaling.definition import RESERVED_CONCURRENCY, Route
from tests.stack import echo_handlers

WAIT = Route("wait", f"{echo_handlers.__name__}.wait", route_response=True)
ECHO = Route("echo", f"{echo_handlers.__name__}.echo", route_response=True)


def event(route: Route) -> dict[str, object]:
    return {"requestContext": {"routeKey": route.key}, "body": "{}", "isBase64Encoded": False}


@pytest.fixture
def invoker() -> Iterator[Invoker]:
    echo_handlers.RELEASE.clear()
    invoker = Invoker(concurrency=3, workers=1, reserved={})  # every function on the shared pool
    yield invoker
    echo_handlers.RELEASE.set()
    invoker.shutdown()


def test_beyond_the_threads_invocations_wait_and_beyond_the_concurrency_they_are_throttled(invoker: Invoker) -> None:
    async def scenario() -> tuple[list[object], int]:
        waiting = [asyncio.create_task(invoker.invoke(WAIT, event(WAIT))) for _ in range(3)]
        await asyncio.sleep(0)  # the three are admitted (one runs, two wait for the one thread)
        assert invoker.running == 3
        with pytest.raises(LambdaThrottled):
            await invoker.invoke(ECHO, event(ECHO))
        echo_handlers.RELEASE.set()
        results = await asyncio.gather(*waiting)
        return results, invoker.throttled

    results, throttled = asyncio.run(scenario())

    assert [r["statusCode"] for r in results] == [200, 200, 200]  # type: ignore[index]
    assert throttled == 1
    assert invoker.running == 0


def test_concurrency_comes_back_when_a_handler_fails(invoker: Invoker) -> None:
    boom = Route("boom", f"{echo_handlers.__name__}.boom")

    async def scenario() -> int:
        for _ in range(5):  # more failures than the concurrency: each gave its unit back
            with pytest.raises(RuntimeError, match="on purpose"):
                await invoker.invoke(boom, event(boom))
        return invoker.running

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize(("concurrency", "workers"), [(0, 1), (1, 0)])
def test_an_unusable_limit_is_refused(concurrency: int, workers: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Invoker(concurrency=concurrency, workers=workers, reserved={})


def test_reservations_must_leave_a_hundred_unreserved_as_lambda_requires() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        Invoker(concurrency=150, reserved={"wait": 51})
    assert Invoker(concurrency=150, reserved={"wait": 50}).unreserved == 100
    assert Invoker().reserved == RESERVED_CONCURRENCY  # as deployed


def test_a_reserved_function_is_throttled_at_its_reservation_and_its_backlog_delays_no_other_function() -> None:
    """The bulkhead: `wait` holds every unit and every thread it has, yet `echo` (on the shared pool, with threads
    of its own) runs and returns while all of them are still held."""
    echo_handlers.RELEASE.clear()
    invoker = Invoker(concurrency=200, workers=1, reserved={"wait": 2})

    async def scenario() -> tuple[object, bool, list[object]]:
        held = [asyncio.create_task(invoker.invoke(WAIT, event(WAIT))) for _ in range(2)]
        await asyncio.sleep(0)  # both admitted: one runs on wait's only thread, one waits for it
        assert invoker.running_for("wait") == 2
        with pytest.raises(LambdaThrottled, match="2 invocations"):
            await invoker.invoke(WAIT, event(WAIT))
        echoed = await asyncio.wait_for(invoker.invoke(ECHO, event(ECHO)), 10)
        still_held = not any(task.done() for task in held)
        echo_handlers.RELEASE.set()
        return echoed, still_held, await asyncio.gather(*held)

    try:
        echoed, still_held, waited = asyncio.run(scenario())
    finally:
        echo_handlers.RELEASE.set()
        invoker.shutdown()

    assert echoed["statusCode"] == 200  # type: ignore[index]
    assert still_held  # echo ran while wait's invocations were all still held
    assert [r["statusCode"] for r in waited] == [200, 200]  # type: ignore[index]
    assert invoker.throttled == 1
    assert invoker.running == 0


def test_functions_on_the_shared_pool_are_throttled_together_and_a_reservation_is_not_theirs() -> None:
    echo_handlers.RELEASE.clear()
    invoker = Invoker(concurrency=102, workers=1, reserved={"echo": 1})  # 101 unreserved
    other = Route("other", f"{echo_handlers.__name__}.wait", route_response=True)

    async def scenario() -> int:
        held = [asyncio.create_task(invoker.invoke(WAIT, event(WAIT))) for _ in range(100)]
        held.append(asyncio.create_task(invoker.invoke(other, event(other))))
        await asyncio.sleep(0)
        assert invoker.running == 101
        with pytest.raises(LambdaThrottled, match="101 invocations"):
            await invoker.invoke(other, event(other))
        await invoker.invoke(ECHO, event(ECHO))  # its reserved unit is free: the shared pool being full is not its
        echo_handlers.RELEASE.set()
        await asyncio.gather(*held)
        return invoker.throttled

    try:
        assert asyncio.run(scenario()) == 1
    finally:
        echo_handlers.RELEASE.set()
        invoker.shutdown()
