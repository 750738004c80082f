from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import boto3
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

from signaling import wiring
from signaling.logic import Signaling
from signaling.storage import Storage

from .conftest import API, Harness


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


def _service_sleeping(aws: Harness, during_grace: Callable[[], None]) -> Signaling:
    """The service as the $disconnect handler builds it, with a 10 s grace whose sleep runs `during_grace`."""
    settings = replace(wiring.settings(), disconnect_grace_seconds=10)
    context = dict(API)
    storage = Storage(boto3.client("dynamodb"), settings.table_name)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        during_grace()

    service = Signaling(storage, wiring.sender(context), settings, sleep=sleep)
    service.slept = slept  # type: ignore[attr-defined]
    return service


def test_a_socket_closed_before_its_resume_keeps_its_seat_through_the_grace_period(aws: Harness) -> None:
    a = aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    resumed: dict[str, Any] = {}
    service = _service_sleeping(aws, lambda: resumed.update(aws.join("connB2=", peerId=b["peerId"], token=b["token"])))

    service.disconnect("connB=")  # $disconnect arrives first (the server closed the socket), then B resumes

    assert service.slept == [10]  # type: ignore[attr-defined]
    assert resumed["resumed"] is True
    assert aws.inbox("connA=") == []
    aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": 3}})
    assert aws.inbox("connB2=") == [{"type": "signal", "from": a["peerId"], "data": {"seq": 3}}]


def test_a_socket_not_resumed_within_the_grace_period_is_removed(aws: Harness) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")
    service = _service_sleeping(aws, lambda: None)

    service.disconnect("connB=")

    assert aws.inbox("connA=") == [{"type": "peer-left", "peerId": b["peerId"], "reason": "disconnected"}]
