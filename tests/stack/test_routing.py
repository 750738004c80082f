"""Route selection on $request.body.action, route responses, MOCK routes, handler failures and the $connect
verdict, as API Gateway does them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus

from devstack.server import LocalStack
from signaling.definition import PING_RESPONSE

from . import echo_handlers
from .conftest import eventually, open_socket, receive_json, run


def exchange(stack: LocalStack, *frames: str) -> list[object]:
    """Send frames one at a time; the reply (parsed) to each."""

    async def scenario() -> list[object]:
        replies = []
        async with open_socket(stack) as ws:
            for frame in frames:
                await ws.send(frame)
                replies.append(await receive_json(ws))
        return replies

    return run(scenario())


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ('{"action": "echo"}', "echo"),
        ('{"action": "echo", "extra": [1, 2]}', "echo"),
        ('{"action": "dance"}', "$default"),  # no such route
        ('{"action": "$disconnect"}', "$default"),  # lifecycle routes are never selected by a message
        ('{"action": "$connect"}', "$default"),
        ('{"action": 7}', "$default"),
        ('{"Action": "echo"}', "$default"),
        ('["echo"]', "$default"),
        ('"echo"', "$default"),
        ("not json at all", "$default"),
        ("", "$default"),
        ("[" * 5000, "$default"),  # deeper than a JSON parser follows: still just a message for $default
    ],
)
def test_route_selection(echo_stack: LocalStack, frame: str, route: str) -> None:
    started = time.monotonic()
    [reply] = exchange(echo_stack, frame)
    elapsed_ms = (time.monotonic() - started) * 1000

    assert isinstance(reply, dict)
    # As Lambda's: counted down from the function's own timeout (the handlers budget their work from it), from the
    # invocation, which happened within the exchange: whatever the machine's speed, the handler saw at most the
    # timeout and at least the timeout minus the exchange.
    timeout_ms = echo_stack.gateway.routes[route].timeout_seconds * 1000
    assert timeout_ms - elapsed_ms - 1 <= reply.pop("remainingMs") < timeout_ms
    assert reply == {
        "type": "echo",
        "routeKey": route,
        "body": frame,
        "isBase64Encoded": False,
        "function": f"parley-local-{route.lstrip('$').title()}",
    }


def test_ping_is_answered_by_the_gateway_without_a_handler(echo_stack: LocalStack) -> None:
    replies = exchange(echo_stack, '{"action": "ping"}', '{"action": "ping", "id": 3}')

    assert replies == [json.loads(PING_RESPONSE)] * 2
    invoked = {e["requestContext"]["routeKey"] for e in echo_handlers.events()}
    assert invoked <= {"$connect", "$disconnect"}


def test_without_a_route_response_the_return_value_is_dropped(echo_stack: LocalStack) -> None:
    # "quiet" runs the echo handler, which returns a body, but its route has no route response.
    async def scenario() -> object:
        async with open_socket(echo_stack) as ws:
            await ws.send('{"action": "quiet"}')
            await asyncio.to_thread(eventually, lambda: echo_handlers.events("quiet"))
            await asyncio.to_thread(echo_stack.wait_invocations)  # it returned, and anything it answered is sent
            await ws.send('{"action": "ping"}')
            return await receive_json(ws)  # the first frame after the quiet one: nothing came in between

    assert run(scenario()) == json.loads(PING_RESPONSE)
    assert len(echo_handlers.events("quiet")) == 1


def test_a_failing_handler_gets_api_gateways_internal_server_error_and_the_socket_stays_open(
    echo_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    replies = exchange(echo_stack, '{"action": "boom"}', '{"action": "echo"}')

    event = echo_handlers.events("boom")[0]["requestContext"]
    assert replies[0] == {
        "message": "Internal server error",
        "connectionId": event["connectionId"],
        "requestId": event["requestId"],
    }
    assert replies[1]["routeKey"] == "echo"  # type: ignore[index]
    assert "RuntimeError: failing on purpose" in caplog.text  # the traceback is logged


def test_messages_of_one_socket_are_handled_concurrently(echo_stack: LocalStack) -> None:
    # "wait" blocks until "release" runs. Handled one after the other, "wait" would time out first.
    async def scenario() -> list[object]:
        async with open_socket(echo_stack) as ws:
            await ws.send('{"action": "wait"}')
            await ws.send('{"action": "release"}')
            return [await receive_json(ws, timeout=15), await receive_json(ws, timeout=15)]

    replies = run(scenario())

    assert replies == [{"type": "released"}, {"type": "waited", "released": True}]


def test_without_a_default_route_an_unmatched_message_is_forbidden(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = start_local_stack(routes=[r for r in echo_handlers.routes() if r.key != "$default"])

    replies = exchange(stack, "hello?", '{"action": "echo"}')

    assert replies[0]["message"] == "Forbidden"  # type: ignore[index]
    assert set(replies[0]) == {"message", "connectionId", "requestId"}  # type: ignore[arg-type]
    assert replies[1]["routeKey"] == "echo"  # type: ignore[index]


@pytest.mark.parametrize("status", [401, 403, 429])
def test_a_non_2xx_from_connect_refuses_the_handshake_with_that_status(echo_stack: LocalStack, status: int) -> None:
    async def scenario() -> None:
        async with open_socket(echo_stack, f"?status={status}"):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run(scenario())

    assert refused.value.response.status_code == status
    assert echo_handlers.events("$disconnect") == []  # a refused socket never connected


def test_a_failing_connect_handler_refuses_with_500(echo_stack: LocalStack) -> None:
    async def scenario() -> None:
        async with open_socket(echo_stack, "?raise=1"):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run(scenario())

    assert refused.value.response.status_code == 500
