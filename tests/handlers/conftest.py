"""Handlers under moto, driven by events built from the real-shaped API Gateway events in tests/events."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.models import botocore_stubber
from moto.sqs.models import sqs_backends

from devstack.queues import EventSourceMapping, LocalQueue, create_queue
from devstack.runtime import LambdaContext
from signaling import consumers, handlers, wiring
from signaling.definition import GRACE_QUEUE, ROUTES, ROUTES_BY_KEY, TABLE
from tests import events

from .faults import faults  # noqa: F401 - the fault switch fixture, for every handler test

TABLE_NAME = "parley-test"
GRACE_QUEUE_NAME = "parley-test-grace"
ORIGIN = "https://app.example.com"


class InvocationContext(LambdaContext):
    """A Lambda context whose remaining time is a route's whole timeout at every call: the harness's invocations
    each start afresh (one module-level context counting down would run out in a long test session)."""

    def get_remaining_time_in_millis(self) -> int:
        return ROUTES_BY_KEY["join"].timeout_seconds * 1000


CONTEXT = InvocationContext(function_name="parley-test")
ACTION_ROUTES: dict[str, Any] = {
    route.key: getattr(handlers, route.handler.rsplit(".", 1)[1])
    for route in ROUTES
    if route.handler and not route.key.startswith("$")
}
"""The handler of every route an `action` selects (the others go to $default), as API Gateway routes them."""
API = {key: events.load("message.json")["requestContext"][key] for key in ("domainName", "stage")}
"""Where the events say the API is: the handlers derive the Management API endpoint from it."""
MANAGEMENT_ENDPOINT = f"https://{API['domainName']}/{API['stage']}"


class Harness:
    """Sends real-shaped events to the handlers and reads what each socket received from moto's Management API."""

    def __init__(self, grace_queue: LocalQueue) -> None:
        self.grace_queue = grace_queue
        self.grace = EventSourceMapping(GRACE_QUEUE, boto3.client("sqs"), grace_queue, "us-east-1")
        self._connect = events.load("connect.json")
        self._message = events.load("message.json")
        self._disconnect = events.load("disconnect.json")
        self.table = boto3.resource("dynamodb").Table(TABLE_NAME)
        self._read: dict[str, int] = {}

    def _context(self, event: dict[str, Any], conn: str, route: str) -> dict[str, Any]:
        now = int(time.time() * 1000)
        ctx = event["requestContext"]
        ctx.update(routeKey=route, connectionId=conn, connectedAt=now, requestTimeEpoch=now)
        return event

    def connect(self, conn: str, origin: str | None = ORIGIN) -> dict[str, Any]:
        event = self._context(copy.deepcopy(self._connect), conn, "$connect")
        if origin is not None:
            event["headers"]["Origin"] = origin
            event["multiValueHeaders"]["Origin"] = [origin]
        return handlers.connect(event, CONTEXT)

    def send(self, conn: str, body: str | dict[str, Any]) -> dict[str, Any] | None:
        """Send a frame the way API Gateway would route it; returns the route response message, if any."""
        text = body if isinstance(body, str) else json.dumps(body)
        try:
            action = json.loads(text).get("action")
        except (ValueError, AttributeError):
            action = None
        routes = ACTION_ROUTES
        route = action if action in routes else "$default"
        event = self._context(copy.deepcopy(self._message), conn, route)
        event["body"] = text
        response = routes.get(route, handlers.default)(event, CONTEXT)
        assert response["statusCode"] == 200
        return json.loads(response["body"]) if "body" in response else None

    def join(self, conn: str, room: str = "room1", **fields: Any) -> dict[str, Any]:
        reply = self.send(conn, {"action": "join", "room": room, **fields})
        assert reply is not None
        return reply

    def disconnect(self, conn: str) -> dict[str, Any]:
        event = self._context(copy.deepcopy(self._disconnect), conn, "$disconnect")
        return handlers.disconnect(event, CONTEXT)

    def grace_periods(self) -> list[tuple[dict[str, Any], float]]:
        """The grace periods running: each queued message's body and the delay it was sent with, in seconds."""
        return [(body, delay) for body, delay in self._queued() if "kind" not in body]

    def follow_ups(self) -> list[tuple[dict[str, Any], float]]:
        """The departures' follow-ups queued (signaling.grace.Departure), with their delays."""
        return [(body, delay) for body, delay in self._queued() if body.get("kind") == "departure"]

    def _queued(self) -> list[tuple[dict[str, Any], float]]:
        return [
            (json.loads(message.body), (message.delayed_until - message.sent_timestamp) / 1000)
            for message in self._moto_grace_queue()._messages
        ]

    def end_grace_periods(self, *, redeliver: float = 0.0) -> list[dict[str, Any] | Exception]:
        """As if every grace period running had passed: the delayed messages (follow-ups too) fall due, and so do
        the ones whose delivery failed (their visibility timeout passes), and the event source mapping hands them,
        batch by batch, to the consumer function. What each invocation returned or raised.

        redeliver: the share of processed messages delivered once more (SQS delivers at least once)."""
        for message in self._moto_grace_queue()._messages:
            message.delayed_until = 0  # moto keeps the delay on the message; nothing else reads the clock
            message.visible_at = 0  # and a failed one's visibility timeout: it is received again
        self.grace.redeliver = redeliver
        responses: list[dict[str, Any] | Exception] = []

        def consume(event: dict[str, Any]) -> dict[str, Any]:
            try:
                response = consumers.grace_expired(event, CONTEXT)
            except Exception as exc:
                responses.append(exc)
                raise
            responses.append(response)
            return response

        while self.grace.poll_once(consume):
            pass
        return responses

    def _moto_grace_queue(self) -> Any:
        return sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[GRACE_QUEUE_NAME]

    def inbox(self, conn: str) -> list[dict[str, Any]]:
        """Messages posted to `conn` since the last call (moto concatenates them; JSON objects split cleanly)."""
        backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        connection = backend.connections.get(quote(conn, safe=""))  # moto keys them URL-encoded
        data = connection.data.decode() if connection else ""
        start = self._read.get(conn, 0)
        self._read[conn] = len(data)
        decoder, messages, index = json.JSONDecoder(), [], start
        while index < len(data):
            message, index = decoder.raw_decode(data, index)
            messages.append(message)
        return messages

    def items(self) -> list[dict[str, Any]]:
        """Every item but the sockets' per-connection limits (signaling.ratelimit; see `limits`)."""
        return [item for item in self.all_items() if item["sk"] != "limits"]

    def limits(self, conn: str) -> dict[str, Any] | None:
        """The per-connection limits item of `conn`."""
        return next(
            (item for item in self.all_items() if item["pk"] == f"conn#{conn}" and item["sk"] == "limits"), None
        )

    def all_items(self) -> list[dict[str, Any]]:
        return self.table.scan(ConsistentRead=True)["Items"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": TABLE_NAME,
        "ALLOWED_ORIGINS": f"{ORIGIN},http://localhost:8000",
        "MAX_CAPACITY": "8",
        "POWERTOOLS_SERVICE_NAME": "parley",
        "POWERTOOLS_METRICS_NAMESPACE": "Parley",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("MANAGEMENT_API_ENDPOINT", "DISCONNECT_GRACE_SECONDS", "GRACE_QUEUE_URL", "FOLLOW_UP_DELAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)  # the deployed defaults: a 10 s grace period
    return values


def _atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request moto serves runs alone, as each DynamoDB request is atomic (the local stack does the same,
    devstack.dynamodb): a handler's calls can run on several threads at once (a fan-out's posts, a limit taken
    alongside a read), and moto's backends hold no lock."""
    lock = threading.Lock()
    process_request = type(botocore_stubber).process_request.__get__(botocore_stubber)

    def serialized(request: Any) -> Any:
        with lock:
            return process_request(request)

    monkeypatch.setattr(botocore_stubber, "process_request", serialized)


@pytest.fixture
def aws(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    _atomic_requests(monkeypatch)
    with mock_aws():
        boto3.client("dynamodb").create_table(**TABLE.create_table_request(TABLE_NAME))
        grace_queue = create_queue(boto3.client("sqs"), GRACE_QUEUE, GRACE_QUEUE_NAME)
        monkeypatch.setenv("GRACE_QUEUE_URL", grace_queue.url)
        wiring.reset()
        yield Harness(grace_queue)
        wiring.reset()


@pytest.fixture
def pair(aws: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ada (connA=) and Grace (connB=) joined in one room, Ada's peer-joined already read: their `joined` replies."""
    a = aws.join("connA=", name="Ada")
    b = aws.join("connB=", name="Grace")
    aws.inbox("connA=")
    return a, b
