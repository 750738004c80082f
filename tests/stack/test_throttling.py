"""Throttling as API Gateway and Lambda apply it, on the local gateway with a clock that moves only when told:
the stage's token bucket, a route's own, the account's (callbacks included), new connections, and Lambda's
concurrency. docs/architecture.md says which behaviours are documented and which are chosen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus

from devstack.server import LocalStack
from devstack.throttle import ThrottleSettings
from signaling.definition import ThrottleLimits
from tests.clock import FakeClock

from . import echo_handlers
from .conftest import eventually, open_socket, receive_json, run

THROTTLED = "Too Many Requests"


def limits(rate: int, burst: int) -> ThrottleLimits:
    return ThrottleLimits(rate=rate, burst=burst)


async def replies(ws: Any, count: int) -> list[dict[str, Any]]:
    return [await receive_json(ws) for _ in range(count)]


def kinds(received: list[dict[str, Any]]) -> list[str]:
    """Each reply's type, or API Gateway's own message; sorted (admitted and throttled replies may interleave)."""
    return sorted(reply.get("type") or reply["message"] for reply in received)


def test_past_the_stage_burst_messages_are_answered_too_many_requests_and_the_socket_stays_open(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    clock = FakeClock()
    stack = start_local_stack(
        routes=echo_handlers.routes(), throttle=ThrottleSettings(stage=limits(rate=1, burst=4)), clock=clock
    )

    async def scenario() -> tuple[list[dict[str, Any]], list[str], list[str]]:
        async with open_socket(stack) as ws:  # $connect takes the first token
            for n in range(5):
                await ws.send(json.dumps({"action": "echo", "n": n}))
            first = await replies(ws, 5)
            await ws.send('{"action": "ping"}')  # a MOCK route is a request like any other
            throttled_ping = kinds(await replies(ws, 1))
            clock.advance(1.0)  # one token back
            await ws.send('{"action": "echo"}')
            return first, throttled_ping, kinds(await replies(ws, 1))

    first, throttled_ping, after_a_second = run(scenario())

    assert kinds(first) == ["Too Many Requests", "Too Many Requests", "echo", "echo", "echo"]
    throttled = [reply for reply in first if "message" in reply]
    assert all(set(reply) == {"message", "connectionId", "requestId"} for reply in throttled)
    assert throttled_ping == [THROTTLED]
    assert after_a_second == ["echo"]
    assert len(echo_handlers.events("echo")) == 4  # throttled messages never reach a handler


def test_a_flood_is_answered_message_by_message_and_only_the_burst_runs(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = start_local_stack(
        routes=echo_handlers.routes(), throttle=ThrottleSettings(stage=limits(rate=1, burst=6)), clock=FakeClock()
    )

    async def scenario() -> list[str]:
        async with open_socket(stack) as ws:
            for _ in range(500):
                await ws.send('{"action": "quiet"}')  # no route response: only throttled ones are answered
            return kinds(await replies(ws, 495))

    assert run(scenario()) == [THROTTLED] * 495
    assert len(echo_handlers.events("quiet")) == 5
    assert stack.traffic.snapshot()["in"] == {"quiet": 5, "(throttled)": 495}


def test_a_route_with_its_own_limits_spends_its_own_bucket(start_local_stack: Callable[..., LocalStack]) -> None:
    settings = ThrottleSettings(stage=limits(rate=1, burst=50), routes={"echo": limits(rate=1, burst=2)})
    stack = start_local_stack(routes=echo_handlers.routes(), throttle=settings, clock=FakeClock())

    async def scenario() -> tuple[list[str], list[str]]:
        async with open_socket(stack) as ws:
            for _ in range(4):
                await ws.send('{"action": "echo"}')
            echoes = kinds(await replies(ws, 4))
            for _ in range(4):
                await ws.send('{"action": "nothing-like-this"}')  # $default: the stage's bucket, still full
            return echoes, kinds(await replies(ws, 4))

    echoes, defaults = run(scenario())

    assert echoes == [THROTTLED, THROTTLED, "echo", "echo"]
    assert defaults == ["echo"] * 4  # the test $default route echoes


def test_a_throttled_connect_is_refused_with_429_before_any_handler_runs(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    clock = FakeClock()
    settings = ThrottleSettings(stage=limits(rate=100, burst=100), new_connections=limits(rate=1, burst=1))
    stack = start_local_stack(routes=echo_handlers.routes(), throttle=settings, clock=clock)

    async def scenario() -> tuple[int, dict[str, Any], str]:
        async with open_socket(stack) as first:
            with pytest.raises(InvalidStatus) as refused:
                async with open_socket(stack):
                    pass
            response = refused.value.response
            clock.advance(1.0)
            async with open_socket(stack) as third:
                await third.send('{"action": "echo"}')
                await first.send('{"action": "echo"}')
                return response.status_code, json.loads(response.body or b""), (await receive_json(third))["type"]

    status, body, reply = run(scenario())

    assert (status, body) == (429, {"message": THROTTLED})
    assert len(echo_handlers.events("$connect")) == 2  # the refused handshake never invoked $connect
    assert reply == "echo"


def test_callbacks_count_against_the_account_quota_and_are_refused_with_limit_exceeded(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    # The account's bucket: $connect, the echo that tells the test its connection id, and one post.
    settings = ThrottleSettings(stage=limits(rate=100, burst=100), account=limits(rate=1, burst=3))
    stack = start_local_stack(routes=echo_handlers.routes(), throttle=settings, clock=FakeClock())
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.management_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),  # one request each, so the count is exact
    )

    async def scenario() -> ClientError:
        async with open_socket(stack) as ws:
            await ws.send('{"action": "echo"}')
            await receive_json(ws)
            conn = echo_handlers.events("echo")[0]["requestContext"]["connectionId"]
            await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=b"first")
            assert await asyncio.wait_for(ws.recv(), 5) == "first"
            with pytest.raises(ClientError) as refused:
                await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=b"second")
            return refused.value

    error = run(scenario())

    assert error.response["Error"]["Code"] == "LimitExceededException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_past_lambdas_concurrency_an_invocation_is_refused_and_the_caller_hears_internal_server_error(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    # One unit for the whole account leaves nothing to reserve: every function shares it.
    stack = start_local_stack(routes=echo_handlers.routes(), lambda_concurrency=1, reserved={})

    async def scenario() -> tuple[dict[str, Any], int, dict[str, Any], dict[str, Any]]:
        async with open_socket(stack) as ws:
            await ws.send('{"action": "wait"}')  # holds the only unit of concurrency until released
            await asyncio.to_thread(eventually, lambda: echo_handlers.events("wait"))
            await ws.send('{"action": "echo"}')
            refused = await receive_json(ws)
            with pytest.raises(InvalidStatus) as connect:
                async with open_socket(stack):
                    pass
            echo_handlers.RELEASE.set()
            waited = await receive_json(ws)
            await ws.send('{"action": "echo"}')
            return refused, connect.value.response.status_code, waited, await receive_json(ws)

    refused, connect_status, waited, echoed = run(scenario())

    assert refused["message"] == "Internal server error"
    assert set(refused) == {"message", "connectionId", "requestId"}
    assert connect_status == 500
    assert waited == {"type": "waited", "released": True}
    assert echoed["type"] == "echo"
    assert len(echo_handlers.events("echo")) == 1  # the refused invocation never ran
    assert stack.invoker.throttled == 2


def test_the_server_negotiates_no_compression(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())

    async def scenario() -> str | None:
        async with open_socket(stack) as ws:  # websockets offers permessage-deflate by default
            return ws.response.headers.get("Sec-WebSocket-Extensions")

    assert run(scenario()) is None
