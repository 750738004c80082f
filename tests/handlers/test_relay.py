from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from signaling import wiring

from .conftest import MANAGEMENT_ENDPOINT, Harness


@pytest.fixture
def pair(aws: Harness) -> tuple[str, str]:
    a = aws.join("connA=", name="Ada")["peerId"]
    b = aws.join("connB=", name="Grace")["peerId"]
    aws.inbox("connA=")
    return a, b


def test_a_signal_reaches_only_its_target_with_the_senders_id(aws: Harness, pair: tuple[str, str]) -> None:
    a, b = pair
    aws.join("connC=", room="elsewhere")
    data = {"seq": 1, "description": {"type": "offer", "sdp": "v=0\r\n"}}

    assert aws.send("connB=", {"action": "signal", "to": a, "data": data}) is None

    assert aws.inbox("connA=") == [{"type": "signal", "from": b, "data": data}]
    assert aws.inbox("connB=") == []
    assert aws.inbox("connC=") == []


def test_data_may_be_any_json_value_and_is_relayed_untouched(aws: Harness, pair: tuple[str, str]) -> None:
    a, _ = pair
    data = [1, "two", {"three": [None, True]}, "ünïcødé"]

    aws.send("connB=", {"action": "signal", "to": a, "data": data})

    assert aws.inbox("connA=")[0]["data"] == data


def test_a_peer_in_another_room_is_unknown(aws: Harness, pair: tuple[str, str]) -> None:
    outsider = aws.join("connC=", room="elsewhere")["peerId"]

    aws.send("connB=", {"action": "signal", "to": outsider, "data": {}})

    (reply,) = aws.inbox("connB=")
    assert reply["code"] == "unknown-peer"
    assert reply["action"] == "signal"
    assert aws.inbox("connC=") == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "signal", "to": "nobody", "data": {}}, "unknown-peer"),
        ({"action": "signal", "to": "x"}, "bad-request"),
        ({"action": "signal", "to": "x", "data": None}, "bad-request"),
        ({"action": "signal", "data": {}}, "bad-request"),
        ({"action": "signal", "to": ["x"], "data": {}}, "bad-request"),
        ({"action": "signal", "to": "x", "data": "a" * 32_000}, "too-large"),
    ],
)
def test_bad_signals_get_an_error_posted_back(aws: Harness, pair: tuple[str, str], body: dict, code: str) -> None:
    aws.send("connB=", body)

    (reply,) = aws.inbox("connB=")
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["message"]
    assert aws.inbox("connA=") == []


def test_signal_to_yourself_is_a_bad_request(aws: Harness, pair: tuple[str, str]) -> None:
    _, b = pair

    aws.send("connB=", {"action": "signal", "to": b, "data": {}})

    assert aws.inbox("connB=")[0]["code"] == "bad-request"


def test_signal_before_join_is_not_joined(aws: Harness, pair: tuple[str, str]) -> None:
    a, _ = pair

    aws.send("connX=", {"action": "signal", "to": a, "data": {}})

    assert aws.inbox("connX=")[0]["code"] == "not-joined"
    assert aws.inbox("connA=") == []


def test_leave_tells_the_others_and_a_second_leave_is_not_joined(aws: Harness, pair: tuple[str, str]) -> None:
    _, b = pair

    aws.send("connB=", {"action": "leave"})
    aws.send("connB=", {"action": "leave"})

    assert aws.inbox("connA=") == [{"type": "peer-left", "peerId": b, "reason": "left"}]
    assert [m["code"] for m in aws.inbox("connB=")] == ["not-joined"]


def test_the_last_member_leaving_removes_every_record_but_the_tombstones(aws: Harness, pair: tuple[str, str]) -> None:
    aws.send("connB=", {"action": "leave"})
    aws.disconnect("connA=")
    aws.end_grace_periods()

    items = aws.items()
    assert {item["pk"] for item in items} == {f"peer#{pair[0]}", f"peer#{pair[1]}"}
    assert all(set(item) == {"pk", "sk", "tokenHash", "expiresAt"} for item in items)  # tombstones only


def test_a_seat_freed_by_leave_admits_a_newcomer(aws: Harness, pair: tuple[str, str]) -> None:
    aws.send("connB=", {"action": "leave"})

    assert aws.join("connC=")["type"] == "joined"


def test_disconnect_tells_the_others_and_frees_the_seat_after_the_grace_period(
    aws: Harness, pair: tuple[str, str]
) -> None:
    a, _ = pair

    assert aws.disconnect("connA=")["statusCode"] == 200
    aws.end_grace_periods()

    assert aws.inbox("connB=") == [{"type": "peer-left", "peerId": a, "reason": "disconnected"}]
    assert aws.join("connC=")["type"] == "joined"


def test_disconnect_of_a_socket_that_never_joined_changes_nothing(aws: Harness, pair: tuple[str, str]) -> None:
    before = aws.items()

    assert aws.disconnect("connNever=")["statusCode"] == 200

    assert aws.items() == before
    assert aws.grace_periods() == []


@pytest.fixture
def stub(aws: Harness) -> Iterator[Stubber]:
    """The Management API client the handlers use, stubbed: moto never answers 410."""
    client = wiring._management(MANAGEMENT_ENDPOINT)
    with Stubber(client) as stubber:
        yield stubber


def test_a_gone_target_is_removed_and_the_room_is_told(aws: Harness, pair: tuple[str, str], stub: Stubber) -> None:
    a, b = pair
    stub.add_client_error(
        "post_to_connection",
        service_error_code="GoneException",
        http_status_code=410,
        expected_params={"ConnectionId": "connA=", "Data": _frame({"type": "signal", "from": b, "data": {"seq": 1}})},
    )
    stub.add_response(
        "post_to_connection",
        {},
        {
            "ConnectionId": "connB=",
            "Data": _frame({"type": "peer-left", "peerId": a, "reason": "gone"}),
        },
    )

    aws.send("connB=", {"action": "signal", "to": a, "data": {"seq": 1}})

    stub.assert_no_pending_responses()
    assert {item["pk"] for item in aws.items()} == {"room#room1", f"peer#{a}", f"peer#{b}", "conn#connB="}
    assert "conn" not in next(item for item in aws.items() if item["pk"] == f"peer#{a}")  # a tombstone


def test_a_gone_member_found_while_announcing_a_newcomer_is_dropped_from_joined(aws: Harness, stub: Stubber) -> None:
    a = aws.join("connA=")["peerId"]
    stub.add_client_error(  # peer-joined for C, to A
        "post_to_connection",
        service_error_code="GoneException",
        http_status_code=410,
        expected_params={"ConnectionId": "connA=", "Data": (announced := _FrameOf("peer-joined"))},
    )
    stub.add_response(  # peer-left for A, to C
        "post_to_connection",
        {},
        {"ConnectionId": "connC=", "Data": _frame({"type": "peer-left", "peerId": a, "reason": "gone"})},
    )

    joined = aws.join("connC=")

    stub.assert_no_pending_responses()
    assert announced.seen["peerId"] == joined["peerId"]
    assert joined["peers"] == []
    assert [set(item) for item in aws.items() if a in item["pk"]] == [{"pk", "sk", "tokenHash", "expiresAt"}]


def test_a_full_room_with_a_dead_socket_frees_that_seat(aws: Harness, pair: tuple[str, str], stub: Stubber) -> None:
    a, b = pair
    # The room looks full; checking its members finds A's socket gone ($disconnect never came).
    stub.add_client_error(
        "get_connection",
        service_error_code="GoneException",
        http_status_code=410,
        expected_params={"ConnectionId": "connA="},
    )
    stub.add_response("get_connection", {"ConnectedAt": "2026-11-21T00:00:00Z"}, {"ConnectionId": "connB="})
    peer_left = _frame({"type": "peer-left", "peerId": a, "reason": "gone"})
    stub.add_response("post_to_connection", {}, {"ConnectionId": "connB=", "Data": peer_left})
    announced = _FrameOf("peer-joined")
    stub.add_response("post_to_connection", {}, {"ConnectionId": "connB=", "Data": announced})  # C, to B

    joined = aws.join("connC=")

    stub.assert_no_pending_responses()
    assert announced.seen["peerId"] == joined["peerId"]

    assert joined["type"] == "joined"
    assert [peer["peerId"] for peer in joined["peers"]] == [b]


class _FrameOf:
    """Matches a posted frame (the Stubber compares expected_params with ==) that is compact JSON of the given
    `type`, and keeps it, for what is only known afterwards (a newcomer's generated peerId)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen: dict[str, object] = {}

    def __eq__(self, data: object) -> bool:
        if not isinstance(data, bytes):
            return False
        message = json.loads(data)
        if message.get("type") != self.kind or _frame(message) != data:
            return False
        self.seen = message
        return True

    def __ne__(self, data: object) -> bool:
        return not self.__eq__(data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<a {self.kind} frame>"


def _frame(message: dict[str, object]) -> bytes:
    """A message as the server posts it: compact JSON, UTF-8."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
