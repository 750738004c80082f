from __future__ import annotations

from urllib.parse import quote

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
    assert aws.inbox("connB2=") == [{"type": "signal", "from": a["peerId"], "data": {"seq": 9}}]


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
    assert aws.inbox("connA=") == [{"type": "peer-joined", "peerId": b["peerId"], "name": ""}]
    assert again["peers"] == [{"peerId": a["peerId"], "name": ""}]
