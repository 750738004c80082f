from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from signaling import observability, wiring
from signaling.definition import CONNECTION_MAX_SECONDS

from .conftest import Harness


def test_first_joiner_gets_an_identity_an_empty_room_and_the_configured_ice_servers(aws: Harness) -> None:
    joined = aws.join("connA=", name="Ada")

    assert joined["type"] == "joined"
    assert joined["room"] == "room1"
    assert len(joined["peerId"]) == 22
    assert len(joined["token"]) >= 40
    assert joined["peers"] == []
    assert joined["capacity"] == 2
    assert joined["resumed"] is False
    assert joined["iceServers"] == [{"urls": ["stun:stun.l.google.com:19302"]}]
    assert joined["limits"] == {
        "maxSignalBytes": 31744,
        "maxCapacity": 8,
        "maxMessageBytes": 131072,
        "maxFrameBytes": 32768,
    }


def test_second_joiner_sees_the_first_and_the_first_hears_peer_joined(aws: Harness) -> None:
    first = aws.join("connA=", name="Ada")

    second = aws.join("connB=", name="Grace")

    assert second["peers"] == [{"peerId": first["peerId"], "name": "Ada"}]
    assert aws.inbox("connA=") == [
        {"type": "peer-joined", "room": "room1", "peerId": second["peerId"], "name": "Grace", "seq": 2}
    ]
    assert aws.inbox("connB=") == []


def test_a_full_room_refuses_the_next_joiner_and_stores_nothing_for_it(aws: Harness) -> None:
    aws.join("connA=")
    aws.join("connB=")
    before = aws.items()

    refused = aws.join("connC=")

    assert refused["type"] == "error"
    assert refused["code"] == "room-full"
    assert refused["action"] == "join"
    assert "2 of 2" in refused["message"]
    assert aws.items() == before


def test_the_first_joiner_chooses_the_capacity_and_later_requests_do_not_change_it(aws: Harness) -> None:
    aws.join("connA=", capacity=3)
    second = aws.join("connB=", capacity=8)
    third = aws.join("connC=")

    assert second["capacity"] == 3
    assert third["type"] == "joined"
    assert aws.join("connD=")["code"] == "room-full"


def test_capacity_above_the_deployment_maximum_is_a_bad_request(aws: Harness) -> None:
    reply = aws.join("connA=", capacity=9)

    assert reply["code"] == "bad-request"
    assert "at most 8" in reply["message"]
    assert aws.items() == []


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"room": "has space"}, "'room'"),
        ({"room": "x" * 65}, "'room'"),
        ({"room": 7}, "'room'"),
        ({"room": "ok", "capacity": "3"}, "'capacity'"),
        ({"room": "ok", "capacity": True}, "'capacity'"),
        ({"room": "ok", "name": 5}, "'name'"),
        ({"room": "ok", "name": "n" * 65}, "'name'"),
        ({"room": "ok", "peerId": "bad/id"}, "'peerId'"),
        ({}, "'room' is required"),
    ],
)
def test_malformed_join_fields_are_named_in_a_bad_request(aws: Harness, fields: dict, mentions: str) -> None:
    reply = aws.send("connA=", {"action": "join", **fields})

    assert reply is not None
    assert reply["code"] == "bad-request"
    assert mentions in reply["message"]


def test_joining_twice_on_one_connection_is_refused(aws: Harness) -> None:
    aws.join("connA=", room="one")

    again = aws.join("connA=", room="two")

    assert again["code"] == "already-joined"
    assert not [item for item in aws.items() if item["pk"] == "room#two" or item.get("room") == "two"]


def test_a_proposed_peer_id_is_accepted_when_free(aws: Harness) -> None:
    joined = aws.join("connA=", peerId="bot-7")

    assert joined["peerId"] == "bot-7"


def test_nobody_can_take_over_a_peer_id_without_its_token(aws: Harness) -> None:
    aws.join("connA=", peerId="alice")

    no_token = aws.join("connB=", peerId="alice")
    wrong_token = aws.join("connC=", peerId="alice", token="guess")

    assert no_token["code"] == "invalid-token"
    assert wrong_token["code"] == "invalid-token"
    assert aws.inbox("connA=") == []


def test_turn_credentials_follow_the_turn_rest_api_convention(aws: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_URLS", "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349")
    monkeypatch.setenv("TURN_SECRET", "s3cret")
    monkeypatch.setenv("ICE_SERVERS", "[]")
    wiring.reset()

    joined = aws.join("connA=")

    (turn,) = joined["iceServers"]
    expiry, peer = turn["username"].split(":")
    assert peer == joined["peerId"]
    assert 0 < int(expiry) - time.time() <= 24 * 3600
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"]


def test_every_item_expires_no_later_than_the_sockets_two_hour_maximum(aws: Harness) -> None:
    aws.join("connA=")
    aws.join("connB=")
    limit = time.time() + CONNECTION_MAX_SECONDS + 1

    items = aws.items()

    assert len(items) == 8  # room record, its sequence, 2 seats, 2 peers, 2 connections
    assert all(0 < int(item["expiresAt"]) <= limit for item in items)


def test_joins_keep_working_when_metrics_are_disabled_and_have_no_namespace(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Powertools keeps unpublished metrics when they are disabled; it must not pile them up across invocations.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(observability.metrics, "namespace", None)

    replies = [aws.join(f"conn{i}=", room=f"solo{i}")["type"] for i in range(120)]

    assert set(replies) == {"joined"}
