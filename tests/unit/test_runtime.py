"""The invoker's concurrency model: at most `concurrency` invocations in flight, on fewer threads; one more is
throttled at once, and concurrency comes back only when a handler returns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from devstack.runtime import Invoker, LambdaThrottled
from signaling.definition import Route
from tests.stack import echo_handlers

WAIT = Route("wait", f"{echo_handlers.__name__}.wait", route_response=True)
ECHO = Route("echo", f"{echo_handlers.__name__}.echo", route_response=True)


def event(route: Route) -> dict[str, object]:
    return {"requestContext": {"routeKey": route.key}, "body": "{}", "isBase64Encoded": False}


@pytest.fixture
def invoker() -> Iterator[Invoker]:
    echo_handlers.RELEASE.clear()
    invoker = Invoker(concurrency=3, workers=1)
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
        Invoker(concurrency=concurrency, workers=workers)
