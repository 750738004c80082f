"""Test-only Lambda handlers: they record every event they get and answer predictably, so the gateway's
faithfulness is tested without the real handlers."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from signaling.definition import PING_RESPONSE, QueueSpec, Route

EVENTS: list[dict[str, Any]] = []
"""Every event any handler here received, in arrival order (list.append is atomic under the GIL)."""

RELEASE = threading.Event()
"""Set by `release`; `wait` blocks on it, to show two messages of one socket run at the same time."""


def routes() -> tuple[Route, ...]:
    def route(key: str, function: str, **options: Any) -> Route:
        return Route(key, f"{__name__}.{function}", **options)

    return (
        route("$connect", "connect"),
        route("$disconnect", "record"),
        route("$default", "echo", route_response=True),
        route("echo", "echo", route_response=True),
        route("quiet", "echo"),  # no route response: what it returns must be dropped
        route("boom", "boom", route_response=True),
        route("wait", "wait", route_response=True),
        route("release", "release", route_response=True),
        route("post", "post", route_response=True),
        route("claim", "claim", route_response=True),
        Route("ping", None, route_response=True, mock_response=PING_RESPONSE),
    )


def queue(**options: Any) -> QueueSpec:
    """A queue whose consumer is `consume`, with QueueSpec's options (batch_size, max_concurrency, ...)."""
    return QueueSpec("echo-queue", f"{__name__}.consume", **options)


BATCHES: list[dict[str, Any]] = []
"""Every SQS event `consume` received, in arrival order."""

CONCURRENCY: list[int] = []
"""How many `consume` invocations were running, sampled as each one started."""
_active = [0]
_active_lock = threading.Lock()


def consume(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A queue consumer: a record whose body is "fail" is reported as failed, "raise" fails the whole batch, and
    "wait" blocks until `release` (to see how many batches run at once)."""
    BATCHES.append(event)
    bodies = [record["body"] for record in event["Records"]]
    with _active_lock:
        _active[0] += 1
        CONCURRENCY.append(_active[0])
    try:
        if "raise" in bodies:
            raise RuntimeError("failing the whole batch on purpose")
        if "wait" in bodies:
            RELEASE.wait(timeout=10)
    finally:
        with _active_lock:
            _active[0] -= 1
    failed = [record["messageId"] for record in event["Records"] if record["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def events(route_key: str | None = None, connection_id: str | None = None) -> list[dict[str, Any]]:
    return [
        event
        for event in list(EVENTS)
        if route_key in (None, event["requestContext"]["routeKey"])
        and connection_id in (None, event["requestContext"]["connectionId"])
    ]


def recorded(handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    def wrapper(event: dict[str, Any], context: Any) -> Any:
        EVENTS.append(event)
        return handler(event, context)

    return wrapper


def _reply(**fields: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(fields)}


@recorded
def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    if "status" in query:
        return {"statusCode": int(query["status"]), "body": "refused"}
    if "raise" in query:
        raise RuntimeError("$connect failed on purpose")
    return {"statusCode": 200}


@recorded
def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200}


@recorded
def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _reply(
        type="echo",
        routeKey=event["requestContext"]["routeKey"],
        body=event["body"],
        isBase64Encoded=event["isBase64Encoded"],
        function=context.function_name,
        remainingMs=context.get_remaining_time_in_millis(),
    )


@recorded
def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("failing on purpose")


@recorded
def wait(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _reply(type="waited", released=RELEASE.wait(timeout=10))


@recorded
def release(event: dict[str, Any], context: Any) -> dict[str, Any]:
    RELEASE.set()
    return _reply(type="released")


@recorded
def post(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Posts `data` to `to` through the Management API, as the real handlers do (same client, same endpoint)."""
    message = json.loads(event["body"])
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["MANAGEMENT_API_ENDPOINT"])
    try:
        client.post_to_connection(ConnectionId=message["to"], Data=message["data"].encode())
    except ClientError as exc:
        return _reply(type="posted", error=exc.response["Error"]["Code"])
    return _reply(type="posted", error=None)


@recorded
def claim(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Takes the one seat of `key` in a transaction, as the real join takes a slot: of many simultaneous claims,
    exactly one may win. moto applies a transaction item by item and undoes a failed one by restoring a copy of
    the whole table, so without the gateway's lock a loser can erase the winner's seat (or crash the copy)."""
    key = json.loads(event["body"])["key"]
    conn = event["requestContext"]["connectionId"]
    table = os.environ["TABLE_NAME"]
    try:
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": f"claim#{key}"}, "sk": {"S": f"member#{conn}"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": f"claim#{key}"}, "sk": {"S": "seat"}, "by": {"S": conn}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return _reply(type="claimed", won=False)
    return _reply(type="claimed", won=True)
