"""The resume grace period: $disconnect starts it with a delayed SQS message and returns; the consumer ends it."""

from __future__ import annotations

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from signaling import consumers, wiring
from signaling.definition import DISCONNECT_GRACE_SECONDS
from signaling.grace import GraceOver
from signaling.settings import ConfigurationError
from tests import events

from .conftest import API, CONTEXT, Harness


def test_disconnect_starts_the_grace_period_and_returns_without_touching_the_room(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    before = aws.items()

    assert aws.disconnect("connB=")["statusCode"] == 200

    ((body, delay),) = aws.grace_periods()
    assert body == {"connectionId": "connB=", **API}
    assert round(delay) == DISCONNECT_GRACE_SECONDS
    assert aws.items() == before  # the seat is held
    assert aws.inbox("connA=") == []


def test_when_the_grace_period_ends_the_room_hears_peer_left_and_the_seat_is_free(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    _, b = pair
    aws.disconnect("connB=")

    responses = aws.end_grace_periods()

    assert responses == [{"batchItemFailures": []}]
    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "disconnected", "seq": 3}
    ]
    assert aws.join("connC=")["type"] == "joined"


def test_a_resume_within_the_grace_period_is_silent_and_survives_its_end(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    a, b = pair
    aws.disconnect("connB=")  # the server closed B's socket: $disconnect arrives before B reconnects
    resumed = aws.join("connB2=", peerId=b["peerId"], token=b["token"])

    aws.end_grace_periods()

    assert resumed["resumed"] is True
    assert aws.inbox("connA=") == []
    aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": 3}})
    assert aws.inbox("connB2=") == [{"type": "signal", "room": "room1", "from": a["peerId"], "data": {"seq": 3}}]


def test_a_leave_before_the_grace_period_ends_is_announced_once(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    _, b = pair
    aws.disconnect("connB=")
    b2 = aws.join("connB2=", peerId=b["peerId"], token=b["token"])
    aws.send("connB2=", {"action": "leave"})

    aws.end_grace_periods()

    assert b2["resumed"] is True
    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "left", "seq": 3}
    ]


def test_a_grace_message_delivered_twice_announces_the_departure_once(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    _, b = pair
    aws.disconnect("connB=")

    responses = aws.end_grace_periods(redeliver=1.0)  # SQS delivers at least once

    assert len(responses) == 2
    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "disconnected", "seq": 3}
    ]
    assert aws.join("connC=")["type"] == "joined"


def test_every_socket_of_a_batch_is_released(aws: Harness) -> None:
    members = [aws.join(f"conn{i}=", room="big", capacity=8) for i in range(8)]
    for i in range(1, 8):
        aws.disconnect(f"conn{i}=")

    responses = aws.end_grace_periods()

    assert responses == [{"batchItemFailures": []}]  # seven messages, one batch
    left = {m["peerId"] for m in aws.inbox("conn0=") if m["type"] == "peer-left"}
    assert left == {m["peerId"] for m in members[1:]}
    assert {item["pk"] for item in aws.items() if item["sk"].startswith("slot#")} == {"room#big"}


def test_a_bad_record_fails_alone_and_the_rest_of_the_batch_is_processed(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    _, b = pair
    event = events.load("sqs.json")
    good, bad = event["Records"][0], dict(event["Records"][0], messageId="bad-1", body='{"not": "ours"}')
    good["body"] = GraceOver("connB=", API["domainName"], API["stage"]).dumps()
    event["Records"] = [good, bad]

    response = consumers.grace_expired(event, CONTEXT)

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "disconnected", "seq": 3}
    ]


def test_a_record_that_keeps_failing_moves_to_the_dead_letter_queue(aws: Harness) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws.grace_queue.url, MessageBody="not JSON")
    backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    queue = backend.queues[aws.grace_queue.url.rsplit("/", 1)[1]]
    queue.visibility_timeout = 0  # no waiting for the 3-minute visibility timeout between attempts

    attempts = aws.end_grace_periods()

    assert len(attempts) == queue.redrive_policy["maxReceiveCount"]
    assert [m["Body"] for m in aws.grace.dead_letters()] == ["not JSON"]


def test_with_no_grace_period_disconnect_frees_the_seat_at_once(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, b = pair
    monkeypatch.setenv("DISCONNECT_GRACE_SECONDS", "0")
    wiring.reset()

    aws.disconnect("connB=")

    assert aws.grace_periods() == []
    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "disconnected", "seq": 3}
    ]


def test_a_deployment_without_the_queue_reports_its_disconnects_as_failures(
    aws: Harness, pair: tuple[dict[str, str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRACE_QUEUE_URL")
    wiring.reset()
    before = aws.items()

    with pytest.raises(ConfigurationError, match="GRACE_QUEUE_URL"):
        aws.disconnect("connB=")

    assert aws.items() == before  # nothing half-done; the seat lapses with its TTL or is reaped
