"""The local stack's optional latency profile: off unless asked for, each hook waits its hop's figure, and a wrong
name is refused with the choices."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from devstack import dynamodb, latency
from devstack.runtime import Invoker
from signaling.definition import Route
from tests.stack import echo_handlers

ECHO = Route("echo", f"{echo_handlers.__name__}.echo", route_response=True)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What the hooks would have waited, in seconds, in order (they do not wait)."""
    waited: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(latency, "_sleep", waited.append)
    monkeypatch.setattr(latency, "_async_sleep", async_sleep)
    return waited


def test_zero_is_the_default_and_waits_nothing(waits: list[float]) -> None:
    assert latency.current().name == "zero"

    asyncio.run(latency.invocation())
    asyncio.run(latency.post())
    latency.dynamodb_call()

    assert waits == []


def test_the_aws_profile_waits_each_hops_figure_and_ends_with_its_block(waits: list[float]) -> None:
    with latency.profile("aws") as chosen:
        asyncio.run(latency.invocation())
        latency.dynamodb_call()
        asyncio.run(latency.post())

    assert waits == [chosen.invocation_ms / 1000, chosen.dynamodb_ms / 1000, chosen.post_ms / 1000]
    assert all(wait > 0 for wait in waits)
    assert latency.current().name == "zero"


def test_an_invocation_waits_the_invocation_figure(waits: list[float]) -> None:
    invoker = Invoker(concurrency=2, reserved={}, workers=1)
    event: dict[str, Any] = {"requestContext": {"routeKey": "echo"}, "body": "{}", "isBase64Encoded": False}
    try:
        with latency.profile("aws"):
            asyncio.run(invoker.invoke(ECHO, event))
    finally:
        invoker.shutdown()

    assert waits == [latency.PROFILES["aws"].invocation_ms / 1000]


def test_every_dynamodb_request_waits_but_posts_to_our_own_endpoint_do_not(waits: list[float]) -> None:
    class Request:
        def __init__(self, url: str) -> None:
            self.url = url

    serve = dynamodb._serialize(lambda request: request.url, "http://127.0.0.1:9")
    with latency.profile("aws"):
        serve(Request("https://dynamodb.us-east-1.amazonaws.com/"))
        serve(Request("http://127.0.0.1:9/local/@connections/abc"))

    assert waits == [latency.PROFILES["aws"].dynamodb_ms / 1000]


def test_an_unknown_profile_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="choose one of zero, aws"):
        latency.named("mars")


@pytest.mark.parametrize(
    ("args", "env"), [(["--latency", "mars"], {}), ([], {"DEVSTACK_LATENCY": "mars"})], ids=["flag", "environment"]
)
def test_the_command_line_refuses_an_unknown_profile(args: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "devstack", "--port", "0", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "mars" in completed.stderr
