"""Protocol rule 5 under traffic: a member whose socket is gone keeps its seat for the grace period whatever is posted
to it, the signals for it are held (bounded) and delivered in order on its resume, and a sender whose signal will
never be delivered is told so (`undelivered`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from signaling import wiring
from signaling.definition import MAILBOX_MAX_BYTES, MAILBOX_MAX_MESSAGES

from .conftest import Harness


class Sockets:
    """Which sockets the Management API reports gone (410), and what happens meanwhile when a post finds one."""

    def __init__(self) -> None:
        self.dead: set[str] = set()
        self.meanwhile: dict[str, Callable[[], Any]] = {}


@pytest.fixture
def sockets(aws: Harness, monkeypatch: pytest.MonkeyPatch) -> Sockets:
    sockets = Sockets()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        conn = params.get("ConnectionId")
        if client.meta.service_model.service_name == "apigatewaymanagementapi" and conn in sockets.dead:
            meanwhile = sockets.meanwhile.pop(conn, None)
            if meanwhile is not None:
                meanwhile()
            error = {"Error": {"Code": "GoneException", "Message": "gone"}, "ResponseMetadata": {"HTTPStatusCode": 410}}
            raise ClientError(error, operation)  # type: ignore[arg-type]
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return sockets


def _signal(aws: Harness, conn: str, to: str, seq: int) -> None:
    aws.send(conn, {"action": "signal", "to": to, "data": {"seq": seq}})


def test_signals_to_a_dropped_peer_wait_for_its_resume_and_arrive_in_order_before_joined(
    aws: Harness, sockets: Sockets, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = pair
    sockets.dead.add("connB=")  # B's network dropped; no $disconnect yet

    for seq in (1, 2, 3):
        _signal(aws, "connA=", b["peerId"], seq)

    assert aws.inbox("connA=") == []  # the room hears nothing: no peer-left, no error
    assert len([body for body, _ in aws.grace_periods() if body["connectionId"] == "connB="]) == 1
    aws.disconnect("connB=")  # the $disconnect comes late; the grace period runs either way

    resumed = aws.join("connB2=", peerId=b["peerId"], token=b["token"])

    assert resumed["resumed"] is True
    assert [m["data"]["seq"] for m in aws.inbox("connB2=")] == [1, 2, 3]  # posted before the route's reply
    assert not [item for item in aws.items() if item["pk"].startswith("mail#")]
    aws.end_grace_periods()  # both grace messages end: the resume came first, so nothing happens
    assert aws.inbox("connA=") == []
    _signal(aws, "connA=", b["peerId"], 4)
    assert aws.inbox("connB2=") == [{"type": "signal", "room": "room1", "from": a["peerId"], "data": {"seq": 4}}]


def test_a_full_mailbox_refuses_the_next_signal_and_tells_its_sender(
    aws: Harness, sockets: Sockets, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, b = pair
    sockets.dead.add("connB=")
    for seq in range(1, MAILBOX_MAX_MESSAGES + 1):
        _signal(aws, "connA=", b["peerId"], seq)
    assert aws.inbox("connA=") == []

    _signal(aws, "connA=", b["peerId"], MAILBOX_MAX_MESSAGES + 1)

    assert aws.inbox("connA=") == [
        {"type": "undelivered", "room": "room1", "to": b["peerId"], "count": 1, "reason": "mailbox-full"}
    ]
    aws.join("connB2=", peerId=b["peerId"], token=b["token"])
    assert [m["data"]["seq"] for m in aws.inbox("connB2=")] == list(range(1, MAILBOX_MAX_MESSAGES + 1))


def test_the_mailbox_is_bounded_in_bytes_too(
    aws: Harness, sockets: Sockets, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, b = pair
    sockets.dead.add("connB=")
    big = "x" * 30_000
    fits = MAILBOX_MAX_BYTES // 30_100
    for seq in range(fits):
        aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": seq, "blob": big}})
    assert aws.inbox("connA=") == []

    aws.send("connA=", {"action": "signal", "to": b["peerId"], "data": {"seq": fits, "blob": big}})

    assert [(m["type"], m["reason"]) for m in aws.inbox("connA=")] == [("undelivered", "mailbox-full")]
    assert sum(len(i["data"].encode()) for i in aws.items() if i["pk"].startswith("mail#")) <= MAILBOX_MAX_BYTES


def test_when_the_seat_lapses_with_signals_held_each_sender_hears_how_many_were_lost(
    aws: Harness, sockets: Sockets
) -> None:
    a = aws.join("connA=", capacity=3)
    b = aws.join("connB=")
    c = aws.join("connC=")
    aws.inbox("connA=")
    aws.inbox("connB=")
    sockets.dead.add("connC=")
    _signal(aws, "connA=", c["peerId"], 1)
    _signal(aws, "connA=", c["peerId"], 2)
    _signal(aws, "connB=", c["peerId"], 1)

    aws.end_grace_periods()  # C never came back ($disconnect never came either)

    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": c["peerId"], "reason": "disconnected", "seq": 4},
        {"type": "undelivered", "room": "room1", "to": c["peerId"], "count": 2, "reason": "peer-left"},
    ]
    assert aws.inbox("connB=")[-1] == {
        "type": "undelivered",
        "room": "room1",
        "to": c["peerId"],
        "count": 1,
        "reason": "peer-left",
    }
    assert not [item for item in aws.items() if item["pk"].startswith("mail#")]
    assert a["type"] == b["type"] == "joined"


def test_a_signal_racing_the_resume_goes_to_the_new_socket(
    aws: Harness, sockets: Sockets, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = pair
    sockets.dead.add("connB=")
    resumed: list[dict[str, Any]] = []
    # The post to B's old socket fails; B resumes before the signal could be held.
    sockets.meanwhile["connB="] = lambda: resumed.append(aws.join("connB2=", peerId=b["peerId"], token=b["token"]))

    _signal(aws, "connA=", b["peerId"], 7)

    assert resumed[0]["resumed"] is True
    assert aws.inbox("connB2=") == [{"type": "signal", "room": "room1", "from": a["peerId"], "data": {"seq": 7}}]
    assert aws.inbox("connA=") == []
    assert not [item for item in aws.items() if item["pk"].startswith("mail#")]


def test_a_signal_racing_the_lapse_is_reported_undelivered(
    aws: Harness, sockets: Sockets, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, b = pair
    sockets.dead.add("connB=")
    aws.disconnect("connB=")
    sockets.meanwhile["connB="] = aws.end_grace_periods  # the seat lapses between the post and the hold

    _signal(aws, "connA=", b["peerId"], 1)

    assert [m["type"] for m in aws.inbox("connA=")] == ["peer-left", "undelivered"]
    assert not [item for item in aws.items() if item["pk"].startswith("mail#")]


def test_membership_events_carry_consecutive_sequence_numbers_and_joined_the_current_one(aws: Harness) -> None:
    first = aws.join("conn1=", capacity=4)
    second = aws.join("conn2=")
    aws.send("conn1=", {"action": "leave"})
    third = aws.join("conn3=")

    heard = aws.inbox("conn2=")

    assert (first["seq"], second["seq"], third["seq"]) == (1, 2, 4)
    assert [(m["type"], m["seq"]) for m in heard] == [("peer-left", 3), ("peer-joined", 4)]
    assert all(m["room"] == "room1" for m in heard)


def test_without_a_grace_period_a_gone_target_is_removed_and_the_sender_hears_undelivered(
    aws: Harness, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCONNECT_GRACE_SECONDS", "0")
    wiring.reset()
    aws.join("connA=", capacity=3)
    b = aws.join("connB=")
    aws.join("connC=")
    aws.inbox("connA=")
    aws.inbox("connC=")
    sockets.dead.add("connB=")

    _signal(aws, "connA=", b["peerId"], 1)

    assert aws.inbox("connA=") == [
        {"type": "peer-left", "room": "room1", "peerId": b["peerId"], "reason": "gone", "seq": 4},
        {"type": "undelivered", "room": "room1", "to": b["peerId"], "count": 1, "reason": "peer-left"},
    ]
    assert [m["type"] for m in aws.inbox("connC=")] == ["peer-left"]
    assert aws.grace_periods() == []
    assert not [item for item in aws.items() if item["pk"].startswith("mail#")]
