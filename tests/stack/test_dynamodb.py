"""The embedded DynamoDB: the table from the shared definition, and atomic requests under concurrent handlers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import moto.dynamodb.models as moto_models
import pytest
from botocore.exceptions import ClientError

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


def _transaction(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{kind: {"TableName": "parley-local", **request}} for item in items for kind, request in item.items()]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(echo_stack: LocalStack) -> None:
    """All or nothing: the items a cancelled transaction changed before the failing condition are put back."""
    client = boto3.client("dynamodb")
    key = {"pk": {"S": "tx#kept"}, "sk": {"S": "x"}}
    client.put_item(TableName="parley-local", Item=key | {"n": {"N": "1"}, "tags": {"SS": ["a"]}})
    client.put_item(TableName="parley-local", Item={"pk": {"S": "tx#doomed"}, "sk": {"S": "x"}})
    before = echo_stack.table.scan(ConsistentRead=True)["Items"]

    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=_transaction(  # type: ignore[arg-type]
                {"Put": {"Item": {"pk": {"S": "tx#new"}, "sk": {"S": "x"}}}},
                {
                    "Update": {
                        "Key": key,
                        "UpdateExpression": "SET n = n + :one ADD tags :b",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":b": {"SS": ["b"]}},
                    }
                },
                {"Delete": {"Key": {"pk": {"S": "tx#doomed"}, "sk": {"S": "x"}}}},
                {
                    "Put": {
                        "Item": {"pk": {"S": "tx#never"}, "sk": {"S": "x"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            )
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert echo_stack.table.scan(ConsistentRead=True)["Items"] == before
    client.transact_write_items(
        TransactItems=_transaction(  # type: ignore[arg-type]
            {
                "Update": {
                    "Key": key,
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"Key": {"pk": {"S": "tx#doomed"}, "sk": {"S": "x"}}}},
        )
    )
    assert echo_stack.table.get_item(Key={"pk": "tx#kept", "sk": "x"})["Item"]["n"] == 2
    assert "Item" not in echo_stack.table.get_item(Key={"pk": "tx#doomed", "sk": "x"})
    echo_stack.table.delete_item(Key={"pk": "tx#kept", "sk": "x"})


def test_a_transaction_copies_its_items_not_the_table(echo_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto copied every table a transaction names, a cost that grew with the table (devstack.dynamodb)."""
    copied: list[type] = []
    deepcopy = moto_models.copy.deepcopy

    def spy(value: Any, memo: Any = None) -> Any:
        result = deepcopy(value, memo)
        if result is not value:
            copied.append(type(value))
        return result

    monkeypatch.setattr(moto_models, "copy", SimpleNamespace(deepcopy=spy))
    for n in range(50):
        echo_stack.table.put_item(Item={"pk": f"tx#filler{n}", "sk": "x"})
    client = boto3.client("dynamodb")
    item = {"pk": {"S": "tx#one"}, "sk": {"S": "x"}}

    client.transact_write_items(TransactItems=_transaction({"Put": {"Item": item}}))  # type: ignore[arg-type]

    assert copied == []
    assert echo_stack.table.get_item(Key={"pk": "tx#one", "sk": "x"})["Item"] == {"pk": "tx#one", "sk": "x"}
    for n in range(50):
        echo_stack.table.delete_item(Key={"pk": f"tx#filler{n}", "sk": "x"})
    echo_stack.table.delete_item(Key={"pk": "tx#one", "sk": "x"})


def test_a_query_reads_its_partition_as_moto_would_and_only_that(
    echo_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's Query sorted the whole table to find one partition (devstack.dynamodb): the answers stay the same."""
    table = echo_stack.table
    for n in range(12):
        table.put_item(Item={"pk": "q#a", "sk": f"s#{n:02d}", "n": n})
        table.put_item(Item={"pk": f"q#other{n}", "sk": f"s#{n:02d}", "n": n})
    scanned = [item for item in table.scan(ConsistentRead=True)["Items"] if item["pk"] == "q#a"]
    expected = sorted(scanned, key=lambda item: item["sk"])
    whole_table: list[object] = []
    all_items = moto_models.table.Table.all_items

    def spy(self: Any) -> Any:
        whole_table.append(self)
        return all_items(self)

    monkeypatch.setattr(moto_models.table.Table, "all_items", spy)

    def query(**request: Any) -> list[dict[str, Any]]:
        items, start = [], None
        while True:
            page = table.query(**request, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if start is None:
                return items

    key = "pk = :pk"
    assert query(KeyConditionExpression=key, ExpressionAttributeValues={":pk": "q#a"}) == expected
    assert query(
        KeyConditionExpression=f"{key} AND begins_with(sk, :p)", ExpressionAttributeValues={":pk": "q#a", ":p": "s#0"}
    ) == [item for item in expected if item["sk"].startswith("s#0")]
    assert query(
        KeyConditionExpression=key, ExpressionAttributeValues={":pk": "q#a"}, ScanIndexForward=False, Limit=5
    ) == list(reversed(expected))
    assert query(
        KeyConditionExpression=key,
        FilterExpression="n > :n",
        ExpressionAttributeValues={":pk": "q#a", ":n": 8},
        ProjectionExpression="sk",
    ) == [{"sk": item["sk"]} for item in expected if item["n"] > 8]
    assert query(KeyConditionExpression=key, ExpressionAttributeValues={":pk": "q#none"}) == []
    assert whole_table == []
    monkeypatch.undo()
    assert not any(item["pk"] == "q#none" for item in table.scan(ConsistentRead=True)["Items"])
    for n in range(12):
        table.delete_item(Key={"pk": "q#a", "sk": f"s#{n:02d}"})
        table.delete_item(Key={"pk": f"q#other{n}", "sk": f"s#{n:02d}"})
