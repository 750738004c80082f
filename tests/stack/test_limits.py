"""API Gateway's limits: the 128 KiB message (1009), the idle timeout and the maximum connection time (1001)."""

from __future__ import annotations

from collections.abc import Callable

from devstack.server import LocalStack
from signaling.definition import MAX_MESSAGE_BYTES

from . import echo_handlers
from .conftest import close_code, eventually, open_socket, receive_json, run


def test_a_message_over_128_kib_closes_the_socket_with_1009(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())

    async def scenario() -> tuple[str, int | None]:
        async with open_socket(stack, max_size=None) as ws:
            at_limit = "x" * MAX_MESSAGE_BYTES
            await ws.send(at_limit)
            reply = await receive_json(ws)
            assert reply["body"] == at_limit
            await ws.send(at_limit + "x")
            return echo_handlers.events("$connect")[0]["requestContext"]["connectionId"], await close_code(ws)

    conn, code = run(scenario())

    assert code == 1009
    assert len(echo_handlers.events("$default")) == 1  # the oversized message never reached a handler
    disconnect = eventually(lambda: echo_handlers.events("$disconnect", conn))[0]["requestContext"]
    assert disconnect["disconnectStatusCode"] == 1009


def test_an_idle_socket_is_closed_with_1001_going_away(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes(), idle_timeout=0.3)

    async def scenario() -> tuple[int | None, str | None]:
        async with open_socket(stack) as ws:
            await ws.send('{"action": "echo"}')
            await receive_json(ws)
            code = await close_code(ws)
            return code, ws.close_reason

    assert run(scenario()) == (1001, "Going away")
    disconnect = eventually(lambda: echo_handlers.events("$disconnect"))[0]["requestContext"]
    assert (disconnect["disconnectStatusCode"], disconnect["disconnectReason"]) == (1001, "Going away")
    assert stack.connection_ids() == []


def test_every_socket_is_closed_after_the_maximum_connection_time(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes(), max_connection_time=0.3)

    async def scenario() -> int | None:
        async with open_socket(stack) as ws:
            return await close_code(ws)

    assert run(scenario()) == 1001
