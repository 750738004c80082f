from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

from .conftest import Harness


def test_resume_keeps_the_identity_tells_nobody_and_the_old_socket_cannot_remove_it(aws: Harness) -> None:
    a = aws.join("connA=", name="Ada")
    b = aws.join("connB=", name="Grace")
    aws.inbox("connA=")
    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    backend.connections[quote("connB=", safe="")]  # the old socket is still open

    resumed = aws.join("connB2=", peerId=b["peerId"], token=b["token"])
    aws.disconnect("connB=")  # the replaced socket's late $disconnect

    assert resumed["resumed"] is True
    assert resumed["peerId"] == b["peerId"]
    assert resumed["name"] == "Grace"
    assert resumed["peers"] == [{"peerId": a["peerId"], "name": "Ada"}]
    assert quote("connB=", safe="") not in backend.connections  # the server closed the replaced socket
    assert aws.inbox("connA=") == []
    aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": 9}})
    assert aws.inbox("connB2=") == [{"type": "signal", "room": "room1", "from": a["peerId"], "data": {"seq": 9}}]


def test_resume_with_a_wrong_token_is_refused_and_changes_nothing(aws: Harness) -> None:
    b = aws.join("connB=")
    before = aws.items()

    refused = aws.join("connX=", peerId=b["peerId"], token="not-the-token")

    assert refused["code"] == "invalid-token"
    assert aws.items() == before


def test_a_token_from_another_room_cannot_move_the_peer(aws: Harness) -> None:
    b = aws.join("connB=", room="one")

    refused = aws.join("connX=", room="two", peerId=b["peerId"], token=b["token"])

    assert refused["code"] == "bad-request"


def test_after_leaving_the_same_peer_id_joins_afresh(aws: Harness) -> None:
    a = aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    aws.send("connB=", {"action": "leave"})
    aws.inbox("connA=")

    again = aws.join("connB2=", peerId=b["peerId"], token=b["token"])

    assert again["resumed"] is False
    assert again["peerId"] == b["peerId"]
    assert again["token"] != b["token"]
    assert aws.inbox("connA=") == [
        {"type": "peer-joined", "room": "room1", "peerId": b["peerId"], "name": "", "seq": 4}
    ]
    assert again["peers"] == [{"peerId": a["peerId"], "name": ""}]


def _lapsed(aws: Harness, how: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A and B in a room; B's seat then lapses by `leave` or by its grace period ending. (A's joined, B's.)"""
    a = aws.join("connA=")
    b = aws.join("connB=")
    if how == "leave":
        aws.send("connB=", {"action": "leave"})
    else:
        aws.disconnect("connB=")
        aws.end_grace_periods()
    aws.inbox("connA=")
    return a, b


@pytest.mark.parametrize("how", ["leave", "grace period over"])
@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_lapsed_peer_id_is_not_given_to_a_stranger(aws: Harness, how: str, token: str | None) -> None:
    _, b = _lapsed(aws, how)
    before = aws.items()
    fields = {"peerId": b["peerId"]} | ({"token": token} if token else {})

    refused = aws.join("connX=", **fields)

    assert refused["code"] == "invalid-token"
    assert aws.items() == before
    assert aws.inbox("connA=") == []  # nobody heard the identity come back


@pytest.mark.parametrize("how", ["leave", "grace period over"])
def test_a_lapsed_peer_id_comes_back_with_its_token_only_once(aws: Harness, how: str) -> None:
    _, b = _lapsed(aws, how)

    again = aws.join("connB2=", peerId=b["peerId"], token=b["token"])
    aws.send("connB2=", {"action": "leave"})
    stale = aws.join("connB3=", peerId=b["peerId"], token=b["token"])  # the token was replaced by again's

    assert again["type"] == "joined"
    assert again["peerId"] == b["peerId"]
    assert stale["code"] == "invalid-token"
    assert aws.join("connB4=", peerId=b["peerId"], token=again["token"])["peerId"] == b["peerId"]


def test_a_signal_to_a_lapsed_peer_is_unknown_peer(aws: Harness) -> None:
    _, b = _lapsed(aws, "leave")

    aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": 1}})

    assert [m["code"] for m in aws.inbox("connA=")] == ["unknown-peer"]


def test_the_tombstone_lasts_until_the_peer_records_ttl(aws: Harness) -> None:
    _, b = _lapsed(aws, "leave")
    (tombstone,) = [item for item in aws.items() if item["pk"] == f"peer#{b['peerId']}"]
    aws.table.update_item(  # as if its TTL had passed (DynamoDB deletes expired items lazily)
        Key={"pk": tombstone["pk"], "sk": "peer"},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": 1},
    )

    joined = aws.join("connX=", peerId=b["peerId"])

    assert joined["type"] == "joined"
    assert joined["peerId"] == b["peerId"]
