"""The embedded DynamoDB: the table from the shared definition, and atomic requests under concurrent handlers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator

import boto3
import pytest

from devstack.server import LocalStack
from signaling.definition import TABLE

from .conftest import open_socket, receive_json, run


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
