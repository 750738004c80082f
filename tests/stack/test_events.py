"""The events the gateway hands to Lambda have the shapes of the real ones in tests/events."""

from __future__ import annotations

import base64
import json
import re

from devstack.server import LocalStack
from tests import events

from . import echo_handlers
from .conftest import eventually, open_socket, receive_json, run, shape

ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")
REQUEST_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")


def connect_once(stack: LocalStack, path: str = "", **options: object) -> dict[str, object]:
    async def scenario() -> None:
        async with open_socket(stack, path, **options) as ws:
            await ws.send(json.dumps({"action": "echo"}))
            await receive_json(ws)

    run(scenario())
    return echo_handlers.events("$connect")[0]


def test_connect_without_origin_or_query_has_exactly_the_recorded_shape(echo_stack: LocalStack) -> None:
    # No User-Agent either, like the recorded non-browser client.
    event = connect_once(echo_stack, user_agent_header=None)

    assert shape(event) == shape(events.load("connect.json"))
    context = event["requestContext"]
    assert isinstance(context, dict)
    assert context["routeKey"] == "$connect"
    assert context["eventType"] == "CONNECT"
    assert context["messageDirection"] == "IN"
    assert context["stage"] == "local"
    assert context["domainName"] == f"127.0.0.1:{echo_stack.port}"
    assert context["identity"] == {"sourceIp": "127.0.0.1"}
    assert context["requestId"] == context["extendedRequestId"]
    assert ID.match(context["connectionId"])
    assert ID.match(context["requestId"])
    assert REQUEST_TIME.match(context["requestTime"])
    assert context["connectedAt"] <= context["requestTimeEpoch"]
    headers = event["headers"]
    assert isinstance(headers, dict)
    assert headers["Host"] == f"127.0.0.1:{echo_stack.port}"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert event["multiValueHeaders"] == {name: [value] for name, value in headers.items()}


def test_a_browser_handshake_adds_origin_user_agent_and_query_parameters(echo_stack: LocalStack) -> None:
    origin = f"http://localhost:{echo_stack.port}"
    event = connect_once(echo_stack, "?room=a&tag=1&tag=2", origin=origin, user_agent_header="Mozilla/5.0 test")

    expected = shape(events.load("connect.json"))
    expected["headers"] |= {"Origin": "str", "User-Agent": "str"}
    expected["multiValueHeaders"] |= {"Origin": ["str"], "User-Agent": ["str"]}
    expected["queryStringParameters"] = {"room": "str", "tag": "str"}
    expected["multiValueQueryStringParameters"] = {"room": ["str"], "tag": ["str"]}
    expected["requestContext"]["identity"]["userAgent"] = "str"
    assert shape(event) == expected
    assert event["headers"]["Origin"] == origin  # type: ignore[index]
    assert event["queryStringParameters"] == {"room": "a", "tag": "2"}
    assert event["multiValueQueryStringParameters"] == {"room": ["a"], "tag": ["1", "2"]}
    assert event["requestContext"]["identity"]["userAgent"] == "Mozilla/5.0 test"  # type: ignore[index]


def test_message_events_have_the_recorded_shapes(echo_stack: LocalStack) -> None:
    async def scenario() -> None:
        async with open_socket(echo_stack, user_agent_header=None) as ws:
            await ws.send('{"action": "echo", "n": 1}')
            await receive_json(ws)
        async with open_socket(echo_stack) as ws:
            await ws.send('{\r\n\t"a": 1\r\n}')
            await receive_json(ws)

    run(scenario())

    routed, default = echo_handlers.events("echo")[0], echo_handlers.events("$default")[0]
    assert shape(routed) == shape(events.load("message.json"))
    assert shape(default) == shape(events.load("message-default-route.json"))
    assert routed["body"] == '{"action": "echo", "n": 1}'
    assert default["body"] == '{\r\n\t"a": 1\r\n}'
    for event in (routed, default):
        context = event["requestContext"]
        assert context["eventType"] == "MESSAGE"
        assert ID.match(context["messageId"])
        assert event["isBase64Encoded"] is False
        assert "headers" not in event


def test_each_event_of_a_connection_repeats_its_id_and_connected_at(echo_stack: LocalStack) -> None:
    connect = connect_once(echo_stack)
    conn = connect["requestContext"]["connectionId"]  # type: ignore[index]

    seen = eventually(lambda: echo_handlers.events(connection_id=conn) if echo_handlers.events("$disconnect") else [])

    assert [e["requestContext"]["routeKey"] for e in seen] == ["$connect", "echo", "$disconnect"]
    assert len({e["requestContext"]["connectedAt"] for e in seen}) == 1
    assert len({e["requestContext"]["requestId"] for e in seen}) == 3


def test_disconnect_has_the_recorded_shape_and_the_client_close_code(echo_stack: LocalStack) -> None:
    async def scenario() -> None:
        async with open_socket(echo_stack) as ws:
            await ws.close(code=4001, reason="bye now")

    run(scenario())
    event = eventually(lambda: echo_handlers.events("$disconnect"))[0]

    expected = shape(events.load("disconnect.json"))
    expected["requestContext"]["identity"]["userAgent"] = "str"
    assert shape(event) == expected
    assert event["requestContext"]["eventType"] == "DISCONNECT"
    assert event["requestContext"]["disconnectStatusCode"] == 4001
    assert event["requestContext"]["disconnectReason"] == "bye now"
    assert event["headers"]["Host"] == f"127.0.0.1:{echo_stack.port}"


def test_a_close_frame_without_a_code_is_reported_as_1005(echo_stack: LocalStack) -> None:
    async def scenario() -> None:
        async with open_socket(echo_stack) as ws:
            await ws.close(code=None)  # type: ignore[arg-type]  # an empty close frame

    run(scenario())
    context = eventually(lambda: echo_handlers.events("$disconnect"))[0]["requestContext"]

    assert context["disconnectStatusCode"] == 1005
    assert context["disconnectReason"] == events.load("disconnect.json")["requestContext"]["disconnectReason"]


def test_a_binary_frame_goes_to_default_base64_encoded(echo_stack: LocalStack) -> None:
    payload = bytes(range(256))

    async def scenario() -> dict[str, object]:
        async with open_socket(echo_stack) as ws:
            await ws.send(payload)
            reply: dict[str, object] = await receive_json(ws)
            return reply

    reply = run(scenario())

    assert reply["routeKey"] == "$default"
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(str(reply["body"])) == payload
