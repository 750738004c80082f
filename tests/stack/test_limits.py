"""API Gateway's limits: the 32 KiB frame and the 128 KiB message (1009), the idle timeout and the maximum
connection time (1001)."""

from __future__ import annotations

from collections.abc import Callable

from devstack.server import LocalStack
from signaling.definition import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

from . import echo_handlers
from .conftest import close_code, eventually, open_socket, receive_json, run


def test_a_33_kb_frame_closes_the_socket_with_1009_and_reaches_no_handler(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())

    async def scenario() -> tuple[str, int | None, str | None]:
        async with open_socket(stack, max_size=None, compression=None) as ws:
            at_limit = "x" * MAX_FRAME_BYTES  # one frame of exactly 32 KiB passes
            await ws.send(at_limit)
            assert (await receive_json(ws))["body"] == at_limit
            await ws.send("x" * 33 * 1000)  # 33 KB in one frame, as a browser sends any message
            code = await close_code(ws)
            return echo_handlers.events("$connect")[0]["requestContext"]["connectionId"], code, ws.close_reason

    conn, code, reason = run(scenario())

    assert (code, reason) == (1009, "Message too big")
    assert len(echo_handlers.events("$default")) == 1  # the oversized frame never reached a handler
    disconnect = eventually(lambda: echo_handlers.events("$disconnect", conn))[0]["requestContext"]
    assert (disconnect["disconnectStatusCode"], disconnect["disconnectReason"]) == (1009, "Message too big")


def test_a_128_kib_message_in_32_kib_frames_is_delivered_whole(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())
    frame = "y" * MAX_FRAME_BYTES

    async def scenario() -> str:
        async with open_socket(stack, max_size=None, compression=None) as ws:
            await ws.send(iter([frame] * (MAX_MESSAGE_BYTES // MAX_FRAME_BYTES)))  # websockets: one frame each
            reply: str = (await receive_json(ws))["body"]
            return reply

    assert run(scenario()) == frame * 4


def test_a_message_over_128_kib_closes_the_socket_with_1009_even_in_small_frames(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())

    async def scenario() -> int | None:
        async with open_socket(stack, max_size=None, compression=None) as ws:
            await ws.send(iter(["z" * 16 * 1024] * 8 + ["z"]))  # 128 KiB + 1 byte
            return await close_code(ws)

    assert run(scenario()) == 1009
    assert echo_handlers.events("$default") == []


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
