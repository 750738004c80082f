"""Faults AWS injects, in every AWS call the routes make (tests/handlers/faults.py): throttling, a transaction that
keeps conflicting, 5xx, timeouts, and the Management API's 410, 403 and 429. For each: what the caller hears (a
stable code, never silence, `internal` only for a 403 that no retry can fix), that the table is consistent afterwards
(tests.fuzzing.table_problems), and that retrying the action then works: nothing half-done is left to trip over."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from signaling import wiring
from tests.fuzzing import table_problems

from .conftest import Harness
from .faults import (
    CONFLICT,
    DYNAMODB_FAULTS,
    FORBIDDEN,
    GONE,
    LIMIT_EXCEEDED,
    MANAGEMENT_FAULTS,
    SERVER_ERROR,
    SQS_FAULTS,
    TIMEOUT,
    Fault,
    Faults,
)

TRANSIENT = [fault for fault in DYNAMODB_FAULTS if fault is not CONFLICT]


def _cases(operations: tuple[str, ...], faults: list[Fault] | tuple[Fault, ...]) -> list[Any]:
    return [pytest.param(op, fault, id=f"{op}-{fault.name}") for op in operations for fault in faults]


def _peer_left(messages: list[dict[str, Any]], peer_id: str) -> int:
    return sum(1 for m in messages if m.get("type") == "peer-left" and m.get("peerId") == peer_id)


def _consistent(aws: Harness) -> None:
    assert table_problems(aws.items()) == []


# --- join -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        *_cases(("UpdateItem", "Query", "TransactWriteItems"), TRANSIENT),
        pytest.param("TransactWriteItems", CONFLICT, id="TransactWriteItems-conflict-persistent"),
    ],
)
def test_a_join_hit_by_a_table_fault_is_unavailable_and_a_retry_joins(
    aws: Harness, faults: Faults, operation: str, fault: Fault
) -> None:
    a = aws.join("connA=", capacity=3)
    aws.inbox("connA=")
    rule = faults.inject(operation, fault, times=100)

    refused = aws.join("connC=")

    assert rule.hits >= 1
    assert refused["type"] == "error"
    assert refused["code"] == "unavailable"
    assert refused["retryAfterMs"] > 0
    _consistent(aws)
    faults.clear()
    joined = aws.join("connC=")
    assert joined["type"] == "joined"
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]
    _consistent(aws)


def test_a_transaction_conflict_that_passes_is_retried_and_the_join_succeeds(aws: Harness, faults: Faults) -> None:
    aws.join("connA=")
    rule = faults.inject("TransactWriteItems", CONFLICT, times=2)

    joined = aws.join("connC=")

    assert rule.hits == 2
    assert joined["type"] == "joined"
    _consistent(aws)


def test_a_failure_after_the_seat_committed_frees_it_so_a_retry_on_the_same_socket_joins(
    aws: Harness, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a join needs after its seat committed: the TURN secret, for `joined`'s credentials (read once per
    # execution environment, so the first join of a fresh one reads it after committing).
    arn = boto3.client("secretsmanager").create_secret(Name="parley/turn", SecretString="s3cret")["ARN"]
    monkeypatch.setenv("TURN_URLS", "turn:turn.example.com:3478")
    monkeypatch.setenv("TURN_SECRET_ARN", arn)
    wiring.reset()
    a = aws.join("connA=", capacity=3)
    aws.inbox("connA=")
    wiring.reset()
    faults.calls.clear()
    rule = faults.inject("GetSecretValue", SERVER_ERROR)

    refused = aws.join("connC=")

    assert rule.hits == 1
    assert faults.calls.index("GetSecretValue") > faults.calls.index("TransactWriteItems")
    assert refused["code"] == "unavailable"
    _consistent(aws)
    assert {item["pk"] for item in aws.items() if item["pk"].startswith("conn#")} == {"conn#connA="}
    faults.clear()
    joined = aws.join("connC=")
    assert joined["type"] == "joined"
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]
    assert ["turn:turn.example.com:3478"] in [server["urls"] for server in joined["iceServers"]]


@pytest.mark.parametrize("fault", [f for f in MANAGEMENT_FAULTS if f is not GONE], ids=lambda f: f.name)
def test_a_post_failing_while_announcing_a_newcomer_never_fails_the_join(
    aws: Harness, faults: Faults, fault: Fault
) -> None:
    a = aws.join("connA=")
    rule = faults.inject("PostToConnection", fault, when=lambda p: p["ConnectionId"] == "connA=")

    joined = aws.join("connC=")

    assert rule.hits == 1
    assert joined["type"] == "joined"
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]  # nothing is known about A: it stays
    _consistent(aws)


def test_a_gone_member_found_while_announcing_a_newcomer_is_freed_when_its_grace_period_ends(
    aws: Harness, faults: Faults
) -> None:
    a = aws.join("connA=")
    faults.inject("PostToConnection", GONE, times=100, when=lambda p: p["ConnectionId"] == "connA=")

    joined = aws.join("connC=")

    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]  # held for the grace period (protocol rule 5)
    assert [body["connectionId"] for body, _ in aws.grace_periods()] == ["connA="]
    _consistent(aws)
    aws.end_grace_periods()
    assert _peer_left(aws.inbox("connC="), a["peerId"]) == 1
    assert all(a["peerId"] not in str(item.get("peerId")) for item in aws.items() if item["sk"] != "peer")
    _consistent(aws)


def test_get_connection_failing_on_a_full_room_frees_nothing_and_answers_room_full(
    aws: Harness, faults: Faults
) -> None:
    aws.join("connA=")
    aws.join("connB=")
    rule = faults.inject("GetConnection", LIMIT_EXCEEDED, times=100)

    refused = aws.join("connC=")

    assert rule.hits == 2
    assert refused["code"] == "room-full"  # a seat is never freed on a guess
    _consistent(aws)


# --- signal -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "fault"), _cases(("UpdateItem", "BatchGetItem"), TRANSIENT))
def test_a_signal_hit_by_a_table_fault_is_unavailable_and_a_retry_is_delivered(
    aws: Harness, faults: Faults, operation: str, fault: Fault
) -> None:
    a = aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    rule = faults.inject(operation, fault, times=100)

    aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"seq": 1}})

    assert rule.hits >= 1
    (reply,) = aws.inbox("connB=")
    assert (reply["code"], reply["action"]) == ("unavailable", "signal")
    assert aws.inbox("connA=") == []
    faults.clear()
    aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"seq": 1}})
    assert aws.inbox("connA=") == [{"type": "signal", "room": "room1", "from": b["peerId"], "data": {"seq": 1}}]
    _consistent(aws)


@pytest.mark.parametrize(
    ("fault", "code"),
    [(LIMIT_EXCEEDED, "unavailable"), (SERVER_ERROR, "unavailable"), (TIMEOUT, "unavailable"), (FORBIDDEN, "internal")],
    ids=lambda v: v.name if isinstance(v, Fault) else v,
)
def test_a_relay_whose_post_fails_tells_the_sender(aws: Harness, faults: Faults, fault: Fault, code: str) -> None:
    a = aws.join("connA=")
    aws.join("connB=")
    aws.inbox("connA=")
    rule = faults.inject("PostToConnection", fault, when=lambda p: p["ConnectionId"] == "connA=")

    aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"seq": 1}})

    assert rule.hits == 1
    (reply,) = aws.inbox("connB=")
    assert reply["code"] == code
    assert ("retryAfterMs" in reply) is (code == "unavailable")
    assert {item["pk"] for item in aws.items() if item["pk"].startswith("conn#")} == {"conn#connA=", "conn#connB="}
    _consistent(aws)


# --- leave ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "fault"),
    [*_cases(("UpdateItem", "GetItem", "TransactWriteItems"), TRANSIENT), *_cases(("SendMessage",), SQS_FAULTS)],
)
def test_a_leave_failing_before_it_commits_is_unavailable_and_a_retry_leaves(
    aws: Harness, faults: Faults, operation: str, fault: Fault
) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    rule = faults.inject(operation, fault, times=100)

    aws.send("connB=", {"action": "leave"})

    assert rule.hits >= 1
    (reply,) = aws.inbox("connB=")
    assert (reply["code"], reply["action"]) == ("unavailable", "leave")
    _consistent(aws)
    faults.clear()
    aws.send("connB=", {"action": "leave"})
    aws.end_grace_periods()  # the follow-ups of both attempts: neither announces again
    assert [m["type"] for m in aws.inbox("connB=")] == ["left"]
    assert _peer_left(aws.inbox("connA="), b["peerId"]) == 1
    _consistent(aws)


@pytest.mark.parametrize(
    ("operation", "fault", "announced"),
    [
        *[pytest.param("Query", f, 1, id=f"Query-{f.name}") for f in TRANSIENT],
        *[pytest.param("PostToConnection", f, 1, id=f"PostToConnection-{f.name}") for f in MANAGEMENT_FAULTS[1:]],
        # The room was told, and the record of it failed to go: the follow-up tells it once more.
        *[pytest.param("DeleteItem", f, 2, id=f"DeleteItem-{f.name}") for f in TRANSIENT],
    ],
)
def test_a_leave_failing_after_it_commits_succeeds_and_the_room_hears_it_by_the_follow_up(
    aws: Harness, faults: Faults, operation: str, fault: Fault, announced: int
) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    rule = faults.inject(operation, fault, times=1)

    aws.send("connB=", {"action": "leave"})

    assert rule.hits == 1
    assert [m["type"] for m in aws.inbox("connB=")] == ["left"]  # the leave succeeded
    _consistent(aws)
    assert aws.join("connC=")["type"] == "joined"  # the seat is free
    aws.end_grace_periods()
    assert _peer_left(aws.inbox("connA="), b["peerId"]) == announced
    assert not [item for item in aws.items() if item["sk"] == "departure"]
    _consistent(aws)


# --- $disconnect and the grace queue's consumer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        *_cases(("Query", "TransactWriteItems", "GetItem", "DeleteItem"), TRANSIENT),
        *_cases(("SendMessage",), SQS_FAULTS),
    ],
)
def test_a_grace_period_ending_under_faults_is_retried_until_the_room_hears_it(
    aws: Harness, faults: Faults, operation: str, fault: Fault
) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    aws.disconnect("connB=")
    rule = faults.inject(operation, fault, times=1)

    aws.end_grace_periods()
    faults.clear()
    aws.end_grace_periods()  # what failed was left on the queue (ReportBatchItemFailures) and comes again

    assert rule.hits == 1
    assert 1 <= _peer_left(aws.inbox("connA="), b["peerId"]) <= (2 if operation == "DeleteItem" else 1)
    assert {item["pk"] for item in aws.items() if item["pk"].startswith("conn#")} == {"conn#connA="}
    assert not [item for item in aws.items() if item["sk"] == "departure"]
    _consistent(aws)


@pytest.mark.parametrize("fault", SQS_FAULTS, ids=lambda f: f.name)
def test_a_lost_disconnect_is_recovered_when_the_room_needs_the_seat(
    aws: Harness, faults: Faults, fault: Fault
) -> None:
    """$disconnect failed (its grace message could not be sent), as if it had never been delivered: the seat stays,
    until someone needs it. A join into the full room asks API Gateway whether its members' sockets are open
    (GetConnection: 410) and frees the dead one; a post to it (410) does the same; every record also expires with the
    socket's 2-hour maximum."""
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    faults.inject("SendMessage", fault)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure: Lambda records it, nobody hears it
        aws.disconnect("connB=")
    assert aws.grace_periods() == []
    faults.inject("GetConnection", GONE, times=100, when=lambda p: p["ConnectionId"] == "connB=")
    faults.inject("PostToConnection", GONE, times=100, when=lambda p: p["ConnectionId"] == "connB=")

    joined = aws.join("connC=")

    assert joined["type"] == "joined"
    assert [p["peerId"] for p in joined["peers"]] != [b["peerId"]]
    assert _peer_left(aws.inbox("connA="), b["peerId"]) == 1
    aws.end_grace_periods()
    assert _peer_left(aws.inbox("connA="), b["peerId"]) == 0
    _consistent(aws)


@pytest.mark.parametrize("fault", [f for f in MANAGEMENT_FAULTS if f is not GONE], ids=lambda f: f.name)
def test_a_resume_whose_old_socket_cannot_be_closed_still_resumes(aws: Harness, faults: Faults, fault: Fault) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    rule = faults.inject("DeleteConnection", fault, when=lambda p: p["ConnectionId"] == "connB=")

    resumed = aws.join("connB2=", peerId=b["peerId"], token=b["token"])

    assert rule.hits == 1
    assert resumed["type"] == "joined"
    assert resumed["resumed"] is True
    assert aws.inbox("connA=") == []  # the others notice nothing
    assert {item["pk"] for item in aws.items() if item["pk"].startswith("conn#")} == {"conn#connA=", "conn#connB2="}
    _consistent(aws)
