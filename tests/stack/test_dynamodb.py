"""The embedded DynamoDB: the table from the shared definition, and atomic requests under concurrent handlers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator

import boto3
import pytest

from devstack.server import LocalStack
from signaling.definition import TABLE

from . import echo_handlers
from .conftest import eventually, open_socket, receive_json, run


def test_the_table_follows_the_shared_definition(echo_stack: LocalStack) -> None:
    client = boto3.client("dynamodb")
    table = client.describe_table(TableName="parley-local")["Table"]
    ttl = client.describe_time_to_live(TableName="parley-local")["TimeToLiveDescription"]

    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        (TABLE.partition_key, "HASH"),
        (TABLE.sort_key, "RANGE"),
    }
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TABLE.ttl_attribute}
    assert echo_stack.table.name == "parley-local"


@pytest.fixture
def contention() -> Iterator[None]:
    """Switch threads far more often than the default 5 ms, so unsynchronised moto calls really interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("contention")
@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_conditional_transactions_have_exactly_one_winner(echo_stack: LocalStack, round_: int) -> None:
    count = 40

    async def scenario() -> list[object]:
        sockets = [await open_socket(echo_stack) for _ in range(count)]
        try:
            frame = json.dumps({"action": "claim", "key": f"seat-{round_}"})
            await asyncio.gather(*(ws.send(frame) for ws in sockets))
            return list(await asyncio.gather(*(receive_json(ws, timeout=30) for ws in sockets)))
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))

    replies = run(scenario())

    assert sorted(json.dumps(r) for r in replies) == sorted(
        [json.dumps({"type": "claimed", "won": True})] + [json.dumps({"type": "claimed", "won": False})] * (count - 1)
    )
    items = echo_stack.table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"claim#seat-{round_}"}
    )["Items"]
    assert sum(item["sk"] == "seat" for item in items) == 1
    assert len(items) == 2  # the winner's member row and the seat: every loser's transaction was undone


def test_ttl_deletes_expired_items_only_and_leaves_the_rest(echo_stack: LocalStack) -> None:
    table = echo_stack.table
    now = 1_800_000_000
    items = {
        "expired": {"expiresAt": now - 1},
        "expires-now": {"expiresAt": now},  # not below now: not yet expired
        "later": {"expiresAt": now + 60},
        "no-ttl": {},
        "not-a-number": {"expiresAt": str(now - 1)},  # DynamoDB's TTL ignores an attribute that is not a Number
    }
    for name, attributes in items.items():
        table.put_item(Item={"pk": f"ttl#{name}", "sk": "x", **attributes})

    deleted = echo_stack.housekeeping(now=now)["expired_items"]

    left = {item["pk"] for item in table.scan(ConsistentRead=True)["Items"] if item["pk"].startswith("ttl#")}
    assert deleted == 1
    assert left == {"ttl#expires-now", "ttl#later", "ttl#no-ttl", "ttl#not-a-number"}
    echo_stack.housekeeping(now=now + 61)
    left = {item["pk"] for item in table.scan(ConsistentRead=True)["Items"] if item["pk"].startswith("ttl#")}
    assert left == {"ttl#no-ttl", "ttl#not-a-number"}
    for name in ("no-ttl", "not-a-number"):
        table.delete_item(Key={"pk": f"ttl#{name}", "sk": "x"})


def test_ttl_runs_in_the_background_on_its_own(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes(), housekeeping_interval=0.05)
    stack.table.put_item(Item={"pk": "ttl#gone", "sk": "x", "expiresAt": 1})

    eventually(lambda: not stack.table.get_item(Key={"pk": "ttl#gone", "sk": "x"}, ConsistentRead=True).get("Item"))
