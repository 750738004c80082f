"""What each route costs on its way to the post (call setup is three sequential trips through the service): a join
reads its room once, and its seat's transaction proves that read still true; a request's per-connection limit is
taken alongside the route's first read, never after it; a socket in the middle of a burst pays one UpdateItem for its
limit, not two. None of it may change what anyone hears."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from signaling import ratelimit, wiring
from signaling.errors import RateLimited
from signaling.ratelimit import RateLimiter
from signaling.settings import MESSAGE_LIMIT, Bucket
from signaling.storage import Room, Storage
from tests.clock import FakeClock
from tests.fuzzing import table_problems

from .conftest import TABLE_NAME, Harness
from .faults import Faults

WAIT = 10.0
"""How long one call waits for the other to start before the test fails (never reached when they overlap)."""


def _table_calls(faults: Faults) -> list[str]:
    return [call for call in faults.calls if call not in ("PostToConnection", "SendMessage")]


# --- join -------------------------------------------------------------------------------------------------------


def test_a_join_reads_its_room_once(aws: Harness, faults: Faults) -> None:
    a = aws.join("connA=", name="Ada")
    faults.calls.clear()

    joined = aws.join("connB=", name="Grace")

    assert sorted(_table_calls(faults)) == ["Query", "TransactWriteItems", "UpdateItem"]
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]
    (heard,) = aws.inbox("connA=")
    assert (heard["type"], heard["peerId"], heard["seq"]) == ("peer-joined", joined["peerId"], joined["seq"])
    assert joined["seq"] == a["seq"] + 1


def test_a_member_resuming_between_a_newcomers_read_and_its_seat_is_announced_on_its_new_socket(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = aws.join("connA=", name="Ada", capacity=3)
    original = Storage.add_member
    attempts: list[int] = []

    def add_member(self: Storage, room: Room, **seat: Any) -> None:
        attempts.append(room.version)
        if len(attempts) == 1:  # Ada's socket drops and she resumes on a new one, after the newcomer read the room
            resumed = aws.join("connA2=", peerId=a["peerId"], token=a["token"])
            assert resumed["resumed"] is True
        original(self, room, **seat)

    monkeypatch.setattr(Storage, "add_member", add_member)

    joined = aws.join("connN=", name="Nan")

    assert len(attempts) == 2  # the first transaction found the room's version moved, and the join read again
    assert attempts[1] == attempts[0] + 1
    assert [p["peerId"] for p in joined["peers"]] == [a["peerId"]]
    assert [(m["type"], m["peerId"]) for m in aws.inbox("connA2=")] == [("peer-joined", joined["peerId"])]
    assert table_problems(aws.items()) == []


# --- the limit alongside the first read -------------------------------------------------------------------------


def _overlap(faults: Faults, limit: str, read: str) -> threading.Event:
    """Makes the limit's UpdateItem wait until the route's first read has started: a limit taken before (or after)
    the read times out instead. Returns the event set when they overlapped."""
    read_started, overlapped = threading.Event(), threading.Event()

    def on_read(_: dict[str, Any]) -> None:
        read_started.set()

    def on_limit(params: dict[str, Any]) -> None:
        if params["Key"]["sk"]["S"] == "limits" and read_started.wait(WAIT):
            overlapped.set()

    faults.before(read, on_read)
    faults.before(limit, on_limit)
    return overlapped


def test_a_signals_limit_is_taken_alongside_its_read(aws: Harness, faults: Faults, pair: Any) -> None:
    a, b = pair
    overlapped = _overlap(faults, "UpdateItem", "BatchGetItem")

    aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"n": 1}})

    assert overlapped.is_set()
    assert aws.inbox("connA=") == [{"type": "signal", "room": "room1", "from": b["peerId"], "data": {"n": 1}}]


def test_a_joins_limit_is_taken_alongside_its_read(aws: Harness, faults: Faults) -> None:
    aws.join("connA=")
    overlapped = _overlap(faults, "UpdateItem", "Query")

    joined = aws.join("connB=")

    assert overlapped.is_set()
    assert joined["type"] == "joined"


def test_a_leaves_limit_is_taken_alongside_its_read(aws: Harness, faults: Faults, pair: Any) -> None:
    overlapped = _overlap(faults, "UpdateItem", "GetItem")

    aws.send("connB=", {"action": "leave"})

    assert overlapped.is_set()
    assert [m["type"] for m in aws.inbox("connB=")] == ["left"]


@pytest.fixture
def frozen_limits(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The handlers' per-connection limits on a clock that stands still: a burst is all at one instant."""
    clock = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(wiring, "limiter", lambda: wiring._limiter(clock))
    return clock


@pytest.mark.usefixtures("frozen_limits")
def test_a_refused_signal_is_not_relayed_though_its_read_ran(aws: Harness, faults: Faults, pair: Any) -> None:
    a, _ = pair
    for n in range(MESSAGE_LIMIT.burst):
        aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"n": n}})
    assert len(aws.inbox("connA=")) == MESSAGE_LIMIT.burst
    faults.calls.clear()

    aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"n": "one too many"}})

    assert "BatchGetItem" in faults.calls
    assert aws.inbox("connA=") == []
    (refused,) = aws.inbox("connB=")
    assert (refused["code"], refused["action"]) == ("rate-limited", "signal")


# --- the limit's guess ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_limits")
def test_a_burst_pays_one_update_per_request(aws: Harness, faults: Faults, pair: Any) -> None:
    a, _ = pair
    faults.calls.clear()
    for n in range(20):  # all at one instant: every one after the first finds the bucket busy
        aws.send("connB=", {"action": "signal", "to": a["peerId"], "data": {"n": n}})

    assert faults.calls.count("UpdateItem") == 20
    assert len(aws.inbox("connA=")) == 20


def _admits(limiter: RateLimiter, conn: str, bucket: Bucket) -> bool | int | None:
    """True, or the refusal's retry hint."""
    try:
        limiter.admit(conn, bucket)
    except RateLimited as refused:
        return refused.retry_after_ms
    return True


def test_a_wrong_guess_never_changes_the_outcome(aws: Harness) -> None:
    """Two execution environments serve one socket: each one's memory of the bucket goes stale when the other takes
    tokens. What they answer is what one limiter reading the table every time would answer. (A tat only moves
    forward, so only a guess of "idle" can be wrong: then the bucket was busy, and the second attempt takes it.)"""
    clock = FakeClock(1_800_000_000.0)
    here = RateLimiter(wiring._dynamodb(), TABLE_NAME, clock)
    there = RateLimiter(wiring._dynamodb(), TABLE_NAME, clock)
    bucket = Bucket("test", per_second=10, burst=3)  # a token every 100 ms

    assert [_admits(here, "connZ=", bucket) for _ in range(2)] == [True, True]
    clock.advance(1.0)  # full again
    assert _admits(there, "connZ=", bucket) is True
    assert _admits(here, "connZ=", bucket) is True  # remembered a bucket idle by now: it was busy (there's token)
    assert _admits(there, "connZ=", bucket) is True
    assert _admits(there, "connZ=", bucket) == bucket.interval_ms  # three taken at once: the burst is spent
    assert _admits(here, "connZ=", bucket) == bucket.interval_ms
    clock.advance(1.0)
    assert _admits(there, "connZ=", bucket) is True
    assert _admits(here, "connZ=", bucket) is True  # remembered idle, was busy
    assert _admits(here, "connZ=", bucket) is True
    assert _admits(there, "connZ=", bucket) == bucket.interval_ms
    assert _admits(here, "connZ=", bucket) == bucket.interval_ms


def test_the_limiters_memory_is_bounded(aws: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "RECENT_SOCKETS", 4)
    limiter = RateLimiter(wiring._dynamodb(), TABLE_NAME, FakeClock(1_800_000_000.0))
    bucket = Bucket("test", per_second=1, burst=2)
    for n in range(10):
        limiter.admit(f"conn{n}=", bucket)

    assert len(limiter._recent) == 4
    assert _admits(limiter, "conn0=", bucket) is True  # forgotten: guessed idle, and it was busy (one token left)
    assert _admits(limiter, "conn0=", bucket) == 1000
