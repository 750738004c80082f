from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from signaling.storage import Member, Room, Storage, StorageError


def seat(slot: int, *, expired: bool = False) -> Member:
    return Member(peer_id=f"p{slot}", name="", conn=f"c{slot}", slot=slot, expired=expired)


def test_the_lowest_free_seat_is_chosen() -> None:
    room = Room("r", capacity=4, members=[seat(0), seat(2)])

    assert room.free_slot(4) == 1


def test_a_full_room_has_no_free_seat() -> None:
    assert Room("r", capacity=2, members=[seat(0), seat(1)]).free_slot(2) is None


def test_an_expired_seat_is_free_again() -> None:
    room = Room("r", capacity=2, members=[seat(0), seat(1, expired=True)])

    assert room.free_slot(2) == 1
    assert [m.slot for m in room.live] == [0]


def _cancelled(*codes: str) -> dict[str, Any]:
    return {"CancellationReasons": [{"Code": code} for code in codes]}


def _sequence_is(stub: Stubber, seq: int) -> None:
    """The room's membership sequence, which remove_member reads before its transaction."""
    item = {"pk": {"S": "room#r"}, "sk": {"S": "seq"}, "seq": {"N": str(seq)}}
    key = {"pk": {"S": "room#r"}, "sk": {"S": "seq"}}
    stub.add_response("get_item", {"Item": item}, {"TableName": "t", "Key": key, "ConsistentRead": True})


@pytest.fixture
def sleeps() -> list[float]:
    """The back-off delays Storage asked for: it sleeps through this, never for real, in these tests."""
    return []


@pytest.fixture
def stubbed(sleeps: list[float]) -> tuple[Storage, Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return Storage(client, "t", sleep=sleeps.append), Stubber(client)


def test_a_transaction_conflict_is_retried_until_it_commits(
    stubbed: tuple[Storage, Stubber], sleeps: list[float]
) -> None:
    # Real DynamoDB cancels concurrent transactions on one item with TransactionConflict (moto never does).
    storage, stub = stubbed
    _sequence_is(stub, 5)
    for _ in range(2):
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            response_meta=None,
            modeled_fields=_cancelled("None", "TransactionConflict", "None", "None"),
        )
    stub.add_response("transact_write_items", {}, {"TransactItems": ANY})

    with stub:
        removed = storage.remove_member(room="r", slot=0, peer_id="p", conn="c")

    assert removed == 6  # the room's sequence number of this removal
    stub.assert_no_pending_responses()
    assert len(sleeps) == 2  # one back-off before each retry, with jitter growing from at most 10 ms
    assert 0 <= sleeps[0] <= 0.01
    assert 0 <= sleeps[1] <= 0.02


def test_a_conflict_that_never_ends_gives_up_after_six_attempts(
    stubbed: tuple[Storage, Stubber], sleeps: list[float]
) -> None:
    storage, stub = stubbed
    _sequence_is(stub, 1)
    for _ in range(6):
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields=_cancelled("TransactionConflict", "None", "None", "None"),
        )

    with stub, pytest.raises(StorageError):
        storage.remove_member(room="r", slot=0, peer_id="p", conn="c")

    stub.assert_no_pending_responses()
    assert len(sleeps) == 6  # one after every attempt, the last included (it could be skipped: noted, not changed)
    assert all(0 <= delay <= 0.01 * 2**attempt for attempt, delay in enumerate(sleeps))


def test_a_failed_condition_is_not_retried(stubbed: tuple[Storage, Stubber], sleeps: list[float]) -> None:
    storage, stub = stubbed
    _sequence_is(stub, 3)
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields=_cancelled("ConditionalCheckFailed", "None", "None", "None"),
    )
    stub.add_response("delete_item", {}, {"TableName": "t", "Key": ANY})

    with stub:
        removed = storage.remove_member(room="r", slot=0, peer_id="p", conn="c")

    assert removed is None
    stub.assert_no_pending_responses()
    assert sleeps == []


def test_a_removal_that_only_lost_the_sequence_reads_it_again_and_takes_the_next_number(
    stubbed: tuple[Storage, Stubber], sleeps: list[float]
) -> None:
    storage, stub = stubbed
    _sequence_is(stub, 3)
    stub.add_client_error(  # another member joined or left meanwhile: the seat is still ours to free
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields=_cancelled("None", "None", "None", "ConditionalCheckFailed"),
    )
    _sequence_is(stub, 4)
    stub.add_response("transact_write_items", {}, {"TransactItems": ANY})

    with stub:
        removed = storage.remove_member(room="r", slot=0, peer_id="p", conn="c")

    assert removed == 5
    stub.assert_no_pending_responses()
