"""The @connections Management API, through a real boto3 apigatewaymanagementapi client as the handlers use it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from devstack.server import LocalStack
from signaling.definition import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

from . import echo_handlers
from .conftest import close_code, eventually, open_socket, receive_json, run


async def connection_id(ws: object) -> str:
    """The server-side id of a socket just opened (from the $connect event it caused)."""
    await ws.send('{"action": "echo"}')  # type: ignore[attr-defined]
    reply = await receive_json(ws)  # type: ignore[arg-type]
    assert reply["type"] == "echo"
    return str(echo_handlers.events("echo")[-1]["requestContext"]["connectionId"])


def assert_error(raised: pytest.ExceptionInfo[ClientError], code: str, status: int) -> None:
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_each_post_is_one_text_frame(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()

    async def scenario() -> list[str | bytes]:
        async with open_socket(echo_stack) as ws:
            conn = await connection_id(ws)
            for n in range(3):
                await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=json.dumps({"n": n}))
            return [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]

    assert run(scenario()) == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


def test_a_handler_posts_to_another_socket_with_its_own_client(echo_stack: LocalStack) -> None:
    async def scenario() -> tuple[object, object]:
        async with open_socket(echo_stack) as alice, open_socket(echo_stack) as bob:
            bob_id = await connection_id(bob)
            await alice.send(json.dumps({"action": "post", "to": bob_id, "data": "hello bob"}))
            return await receive_json(alice), await asyncio.wait_for(bob.recv(), 5)

    reply, delivered = run(scenario())

    assert reply == {"type": "posted", "error": None}
    assert delivered == "hello bob"


def test_get_connection_describes_the_socket(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()

    async def scenario() -> dict[str, object]:
        async with open_socket(echo_stack, user_agent_header="parley-test/1") as ws:
            conn = await connection_id(ws)
            return dict(await asyncio.to_thread(client.get_connection, ConnectionId=conn))

    described = run(scenario())

    assert isinstance(described["ConnectedAt"], datetime)
    assert isinstance(described["LastActiveAt"], datetime)
    assert described["ConnectedAt"] <= described["LastActiveAt"]
    assert described["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "parley-test/1"}


def test_delete_closes_the_socket_with_1000_and_then_the_connection_is_gone(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()

    async def scenario() -> tuple[str, int | None]:
        async with open_socket(echo_stack) as ws:
            conn = await connection_id(ws)
            assert conn in echo_stack.connection_ids()
            await asyncio.to_thread(client.delete_connection, ConnectionId=conn)
            return conn, await close_code(ws)

    conn, code = run(scenario())

    assert code == 1000
    disconnect = eventually(lambda: echo_handlers.events("$disconnect", conn))[0]["requestContext"]
    assert disconnect["disconnectStatusCode"] == 1000
    assert disconnect["disconnectReason"] == "Connection Closed Normally"
    assert conn not in echo_stack.connection_ids()
    for call in (client.post_to_connection, client.get_connection, client.delete_connection):
        kwargs = {"Data": b"x"} if call == client.post_to_connection else {}
        with pytest.raises(ClientError) as gone:
            call(ConnectionId=conn, **kwargs)
        assert_error(gone, "GoneException", 410)


def test_posting_to_a_socket_the_client_closed_raises_gone_exception(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()

    async def scenario() -> str:
        async with open_socket(echo_stack) as ws:
            return await connection_id(ws)

    conn = run(scenario())

    with pytest.raises(client.exceptions.GoneException) as gone:
        client.post_to_connection(ConnectionId=conn, Data=b"anyone there?")
    assert_error(gone, "GoneException", 410)


@pytest.mark.parametrize("conn", ["AAAAAAAAAAAAAAA=", "a/b+c=", "not-even-close"])
def test_unknown_ids_are_gone_however_they_are_encoded(echo_stack: LocalStack, conn: str) -> None:
    with pytest.raises(ClientError) as gone:
        echo_stack.management_client().get_connection(ConnectionId=conn)
    assert_error(gone, "GoneException", 410)


def test_a_post_over_128_kib_is_refused_with_payload_too_large(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()

    async def scenario() -> str | bytes:
        async with open_socket(echo_stack) as ws:
            conn = await connection_id(ws)
            with pytest.raises(ClientError) as refused:
                await asyncio.to_thread(
                    client.post_to_connection, ConnectionId=conn, Data=b"a" * (MAX_MESSAGE_BYTES + 1)
                )
            assert_error(refused, "PayloadTooLargeException", 413)
            await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=b"b" * MAX_MESSAGE_BYTES)
            return await asyncio.wait_for(ws.recv(), 5)

    assert run(scenario()) == "b" * MAX_MESSAGE_BYTES


def test_a_post_over_32_kib_arrives_in_frames_of_at_most_32_kib(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()
    message = "".join(chr(ord("a") + n % 26) for n in range(100_000))

    async def scenario() -> tuple[list[str], list[str]]:
        async with open_socket(echo_stack, max_size=None) as ws:
            conn = await connection_id(ws)
            framed = []
            for data in (message, "small"):
                await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=data.encode())
                framed.append([fragment async for fragment in ws.recv_streaming()])  # one item per frame
            return framed[0], framed[1]

    large, small = run(scenario())

    assert [len(fragment) for fragment in large] == [MAX_FRAME_BYTES] * 3 + [100_000 - 3 * MAX_FRAME_BYTES]
    assert "".join(large) == message
    assert small == ["small"]


def test_a_client_that_does_not_read_gets_limit_exceeded_and_keeps_its_socket(echo_stack: LocalStack) -> None:
    client = echo_stack.management_client()
    chunk = b"q" * MAX_MESSAGE_BYTES

    async def scenario() -> tuple[int, str]:
        # max_queue=1: the client stops reading from the network once one message waits for it
        async with open_socket(echo_stack, max_size=None, max_queue=1) as ws:
            conn = await connection_id(ws)
            posted, refused = 0, None
            while refused is None and posted < 1000:  # the kernel's buffers take some first, far fewer than 1000
                try:
                    await asyncio.to_thread(client.post_to_connection, ConnectionId=conn, Data=chunk)
                    posted += 1
                except ClientError as exc:
                    refused = exc
            assert refused is not None
            assert refused.response["Error"]["Code"] == "LimitExceededException"
            assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            for _ in range(posted):  # everything that was accepted is still delivered, in order
                assert await asyncio.wait_for(ws.recv(), 5) == chunk.decode()
            await ws.send('{"action": "echo"}')  # and the socket works
            return posted, (await receive_json(ws))["type"]

    posted, reply = run(scenario())

    assert posted > 0, posted
    assert reply == "echo"
