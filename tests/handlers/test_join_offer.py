"""`join` carrying the newcomer's first offer (docs/protocol.md, "join"): the room's first other member hears it as a
`signal` right behind `peer-joined`, and `joined.offeredTo` names who got it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.stub import ANY, Stubber

from signaling import wiring
from signaling.sender import Sender

from .conftest import MANAGEMENT_ENDPOINT, Harness

OFFER = {"sid": "abc123", "seq": 1, "description": {"type": "offer", "sdp": "v=0\r\n"}, "candidates": [], "end": True}


def test_the_offer_reaches_the_first_member_right_behind_peer_joined(aws: Harness) -> None:
    ada = aws.join("connA=", name="Ada")["peerId"]

    joined = aws.join("connB=", name="Grace", offer=OFFER)

    grace = joined["peerId"]
    assert joined["offeredTo"] == ada
    assert joined["peers"] == [{"peerId": ada, "name": "Ada"}]
    assert aws.inbox("connA=") == [
        {"type": "peer-joined", "room": "room1", "peerId": grace, "name": "Grace", "seq": 2},
        {"type": "signal", "room": "room1", "from": grace, "data": OFFER},
    ]


def test_an_offer_into_an_empty_room_goes_nowhere_and_is_not_kept(aws: Harness) -> None:
    joined = aws.join("connA=", offer=OFFER)

    assert joined["type"] == "joined"
    assert joined["offeredTo"] is None
    assert not any(item["pk"].startswith("mail#") for item in aws.items())


def test_only_the_first_member_gets_the_offer_the_others_only_peer_joined(aws: Harness) -> None:
    ada = aws.join("connA=", capacity=3)["peerId"]
    aws.join("connB=")
    aws.inbox("connA=")

    joined = aws.join("connC=", offer=OFFER)

    assert joined["offeredTo"] == ada == joined["peers"][0]["peerId"]
    assert [m["type"] for m in aws.inbox("connA=")] == ["peer-joined", "signal"]
    assert [m["type"] for m in aws.inbox("connB=")] == ["peer-joined"]


def test_a_join_without_an_offer_names_nobody(aws: Harness) -> None:
    aws.join("connA=")

    joined = aws.join("connB=", offer=None)

    assert joined["offeredTo"] is None
    assert [m["type"] for m in aws.inbox("connA=")] == ["peer-joined"]


def test_an_offer_over_the_signal_limit_is_too_large_and_nobody_is_seated(aws: Harness) -> None:
    aws.join("connA=")
    before = aws.items()

    refused = aws.join("connB=", offer={"sdp": "x" * 40_000})

    assert refused["code"] == "too-large"
    assert refused["action"] == "join"
    assert "'offer'" in refused["message"]
    assert "31744" in refused["message"]
    assert aws.items() == before
    assert aws.inbox("connA=") == []


def test_a_resume_ignores_the_offer(aws: Harness) -> None:
    ada = aws.join("connA=")
    aws.join("connB=")
    aws.inbox("connA=")
    aws.disconnect("connA=")

    resumed = aws.join("connA2=", peerId=ada["peerId"], token=ada["token"], offer=OFFER)

    assert resumed["resumed"] is True
    assert resumed["offeredTo"] is None
    assert aws.inbox("connB=") == []


@pytest.fixture
def stub(aws: Harness) -> Iterator[Stubber]:
    client = wiring._management(MANAGEMENT_ENDPOINT)
    with Stubber(client) as stubber:
        yield stubber


@pytest.mark.parametrize(
    ("code", "status"), [("GoneException", 410), ("LimitExceededException", 429), ("ForbiddenException", 403)]
)
def test_when_the_offer_cannot_be_posted_the_join_stands_and_names_nobody(
    aws: Harness, stub: Stubber, code: str, status: int
) -> None:
    ada = aws.join("connA=")["peerId"]
    stub.add_response("post_to_connection", {}, {"ConnectionId": "connA=", "Data": ANY})  # peer-joined
    stub.add_client_error("post_to_connection", service_error_code=code, http_status_code=status)  # the offer

    joined = aws.join("connB=", offer=OFFER)

    stub.assert_no_pending_responses()
    assert joined["type"] == "joined"
    assert joined["offeredTo"] is None  # the client sends it as a signal instead
    assert joined["peers"] == [{"peerId": ada, "name": ""}]
    grace = aws.grace_periods()
    assert [body["connectionId"] for body, _ in grace] == (["connA="] if status == 410 else [])


def test_a_member_that_did_not_hear_peer_joined_is_not_sent_the_offer(
    aws: Harness, stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 3: a signal never comes from a peer its recipient has not heard of."""
    aws.join("connA=")
    stub.add_client_error("post_to_connection", service_error_code="LimitExceededException", http_status_code=429)
    relayed: list[str] = []
    monkeypatch.setattr(Sender, "send", lambda self, conn, message: relayed.append(conn) or True)

    joined = aws.join("connB=", offer=OFFER)

    stub.assert_no_pending_responses()  # peer-joined was refused
    assert joined["type"] == "joined"
    assert joined["offeredTo"] is None
    assert relayed == []
