"""Per-connection limits (signaling.ratelimit): a socket that pipelines joins or floods signals is refused with
`rate-limited` and a retry hint, each refusal answered, other sockets unaffected, and the bucket refills with time
(an injected clock: tests/clock.py)."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from signaling import wiring
from signaling.errors import RateLimited
from signaling.ratelimit import RateLimiter
from signaling.settings import JOIN_LIMIT, MESSAGE_LIMIT, Bucket
from tests.clock import FakeClock
from tests.fuzzing import table_problems

from .conftest import TABLE_NAME, Harness


class Atomic:
    """The handlers' DynamoDB client with each UpdateItem applied atomically, as DynamoDB applies a conditional
    write (moto in-process does not serialise them; the local stack's embedded moto does, behind its lock)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def update_item(self, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.update_item(**kwargs)


@pytest.fixture
def clock(aws: Harness, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(wiring, "limiter", functools.partial(wiring.limiter, clock=clock))
    return clock


def test_a_socket_that_pipelines_joins_is_rate_limited_after_its_burst(aws: Harness, clock: FakeClock) -> None:
    replies = [aws.join("connA=", room=f"room{i}") for i in range(100)]

    codes = [reply.get("code", reply["type"]) for reply in replies]
    assert codes == ["joined"] + ["already-joined"] * (JOIN_LIMIT.burst - 1) + ["rate-limited"] * (
        100 - JOIN_LIMIT.burst
    )
    refused = replies[-1]
    assert refused["action"] == "join"
    assert refused["retryAfterMs"] == JOIN_LIMIT.interval_ms  # the next token, 10 s away
    assert len([item for item in aws.items() if item["sk"].startswith("slot#")]) == 1
    assert table_problems(aws.items()) == []

    clock.advance(JOIN_LIMIT.interval_ms / 1000)
    assert aws.join("connA=", room="again")["code"] == "already-joined"  # one token came back
    assert aws.join("connA=", room="again")["code"] == "rate-limited"


def test_signals_past_the_burst_are_refused_until_the_bucket_refills(aws: Harness, clock: FakeClock) -> None:
    a = aws.join("connA=")["peerId"]
    aws.join("connB=")
    aws.inbox("connA=")

    for seq in range(MESSAGE_LIMIT.burst + 5):
        aws.send("connB=", {"action": "signal", "to": a, "data": {"seq": seq}})

    assert [m["data"]["seq"] for m in aws.inbox("connA=")] == list(range(MESSAGE_LIMIT.burst))
    refusals = aws.inbox("connB=")
    assert [(m["code"], m["action"]) for m in refusals] == [("rate-limited", "signal")] * 5
    assert all(m["retryAfterMs"] == MESSAGE_LIMIT.interval_ms for m in refusals)

    clock.advance(1.0)  # 20 tokens come back
    for seq in range(25):
        aws.send("connB=", {"action": "signal", "to": a, "data": {"seq": seq}})
    assert len(aws.inbox("connA=")) == MESSAGE_LIMIT.per_second
    assert len(aws.inbox("connB=")) == 25 - MESSAGE_LIMIT.per_second


def test_one_socket_over_its_limit_does_not_limit_another(aws: Harness, clock: FakeClock) -> None:
    a = aws.join("connA=")["peerId"]
    b = aws.join("connB=")["peerId"]
    aws.inbox("connA=")
    for _ in range(MESSAGE_LIMIT.burst + 1):
        aws.send("connB=", {"action": "signal", "to": a, "data": {}})
    assert aws.inbox("connB=")[-1]["code"] == "rate-limited"

    aws.send("connA=", {"action": "signal", "to": b, "data": {"hello": 1}})

    assert aws.inbox("connB=") == [{"type": "signal", "from": a, "data": {"hello": 1}}]


def test_leave_counts_and_a_limited_leave_leaves_nothing_half_done(aws: Harness, clock: FakeClock) -> None:
    a = aws.join("connA=")["peerId"]
    aws.join("connB=")
    for _ in range(MESSAGE_LIMIT.burst):
        aws.send("connB=", {"action": "signal", "to": a, "data": {}})

    aws.inbox("connA=")
    aws.send("connB=", {"action": "leave"})

    (refused,) = aws.inbox("connB=")
    assert (refused["code"], refused["action"]) == ("rate-limited", "leave")
    assert aws.inbox("connA=") == []
    assert len([item for item in aws.items() if item["sk"].startswith("slot#")]) == 2  # still seated
    clock.advance(MESSAGE_LIMIT.interval_ms / 1000)
    aws.send("connB=", {"action": "leave"})
    assert len([item for item in aws.items() if item["sk"].startswith("slot#")]) == 1


def test_malformed_frames_cost_no_tokens(aws: Harness, clock: FakeClock) -> None:
    a = aws.join("connA=")["peerId"]
    b = aws.join("connB=")["peerId"]
    aws.inbox("connA=")
    for _ in range(MESSAGE_LIMIT.burst * 2):
        aws.send("connB=", '{"action":"signal","to":"x"}')  # no data: bad-request before any table access
    assert {m["code"] for m in aws.inbox("connB=")} == {"bad-request"}

    aws.send("connB=", {"action": "signal", "to": a, "data": {"ok": True}})

    assert aws.inbox("connA=") == [{"type": "signal", "from": b, "data": {"ok": True}}]
    assert aws.limits("connB=") is not None


def test_concurrent_requests_of_one_socket_never_take_more_than_the_burst(aws: Harness) -> None:
    clock = FakeClock(1_800_000_000.0)
    limiter = RateLimiter(Atomic(wiring._dynamodb()), TABLE_NAME, clock)  # type: ignore[arg-type]
    bucket = Bucket("test", per_second=1, burst=3)

    def admit(_: int) -> bool:
        try:
            limiter.admit("connZ=", bucket)
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = list(pool.map(admit, range(16)))

    assert admitted.count(True) == bucket.burst


def test_concurrent_requests_within_the_burst_never_refuse_each_other(aws: Harness) -> None:
    clock = FakeClock(1_800_000_000.0)
    limiter = RateLimiter(Atomic(wiring._dynamodb()), TABLE_NAME, clock)  # type: ignore[arg-type]
    bucket = Bucket("test", per_second=1, burst=16)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: limiter.admit("connY=", bucket), range(16)))  # raises if any was refused

    with pytest.raises(RateLimited) as refused:
        limiter.admit("connY=", bucket)
    assert refused.value.retry_after_ms == bucket.interval_ms
