"""Partial failures inside one action: what an action committed stays valid whatever happens after it. A fan-out
waits for its posts only within the invocation's budget; a removal that dies before telling the room is announced
by its queued follow-up; and a normal removal's follow-up announces nothing again."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest

from signaling import handlers
from signaling.definition import FOLLOW_UP_DELAY_SECONDS
from signaling.logic import Signaling
from tests.fuzzing import table_problems

from .conftest import Harness
from .faults import Faults


class Killed(BaseException):
    """The invocation stopped where it was (Lambda's timeout, the environment crashing): nothing catches it."""


class ShortContext:
    """A Lambda context with `remaining_ms` left."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "parley-test"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:parley-test"
        self.aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _join_event(aws: Harness, conn: str, body: str) -> dict[str, Any]:
    event = aws._context(copy.deepcopy(aws._message), conn, "join")
    event["body"] = body
    return event


def _peer_left(messages: list[dict[str, Any]], peer_id: str) -> int:
    return sum(1 for m in messages if m.get("type") == "peer-left" and m.get("peerId") == peer_id)


def test_a_post_that_hangs_past_the_budget_does_not_hold_the_join(aws: Harness, faults: Faults) -> None:
    a = aws.join("connA=")
    released = threading.Event()
    reached = threading.Event()

    def hang(params: dict[str, Any]) -> None:
        if params["ConnectionId"] == "connA=":
            reached.set()
            released.wait()

    faults.before("PostToConnection", hang)
    try:
        # 1.5 s left: the budget keeps 1 s back, so the fan-out may wait 0.5 s for A's post.
        response = handlers.join(_join_event(aws, "connC=", '{"action":"join","room":"room1"}'), ShortContext(1500))

        assert reached.is_set()
        assert not released.is_set()  # A's post is still running: the join did not wait for it
    finally:
        released.set()
    joined = json.loads(response["body"])
    assert joined["type"] == "joined"
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]  # nothing is known about A: it stays
    assert table_problems(aws.items()) == []


def test_a_removal_that_dies_before_telling_the_room_is_announced_by_its_follow_up(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(Signaling, "_tell_room", die)
    with pytest.raises(Killed):
        aws.send("connB=", {"action": "leave"})
    monkeypatch.undo()

    assert aws.inbox("connA=") == []  # the room was not told
    assert {item["pk"] for item in aws.items() if item["pk"].startswith("conn#")} == {"conn#connA="}  # but B is out
    ((follow_up, delay),) = aws.follow_ups()
    assert follow_up["peerId"] == b["peerId"]
    assert follow_up["connectionId"] == "connB="
    assert round(delay) == FOLLOW_UP_DELAY_SECONDS
    assert [item["sk"] for item in aws.items() if item["pk"] == f"peer#{b['peerId']}"] == ["departure", "peer"]
    assert table_problems(aws.items()) == []

    aws.end_grace_periods()

    assert aws.inbox("connA=") == [{"type": "peer-left", "peerId": b["peerId"], "reason": "left"}]
    assert [item["sk"] for item in aws.items() if item["pk"] == f"peer#{b['peerId']}"] == ["peer"]
    aws.end_grace_periods()
    assert aws.inbox("connA=") == []


def test_a_removal_that_told_the_room_leaves_a_follow_up_that_announces_nothing(aws: Harness) -> None:
    aws.join("connA=")
    b = aws.join("connB=")
    aws.inbox("connA=")

    aws.send("connB=", {"action": "leave"})

    assert _peer_left(aws.inbox("connA="), b["peerId"]) == 1
    assert len(aws.follow_ups()) == 1
    assert not [item for item in aws.items() if item["sk"] == "departure"]
    aws.end_grace_periods()
    assert aws.inbox("connA=") == []


def test_the_last_member_leaving_deletes_the_room_and_its_follow_up_changes_nothing(aws: Harness) -> None:
    a = aws.join("connA=")
    aws.send("connA=", {"action": "leave"})
    after = aws.items()

    aws.end_grace_periods()

    assert aws.items() == after
    assert {item["pk"] for item in after} == {f"peer#{a['peerId']}"}  # the tombstone
