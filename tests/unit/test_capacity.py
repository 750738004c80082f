"""The capacity arithmetic of docs/deploy.md: checked by hand on made-up measurements, and the deployed defaults
checked against the stated target with the measured ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import capacity
from signaling.definition import STAGE_THROTTLE

ROOT = Path(__file__).resolve().parents[2]


def op(reads: float, writes: float) -> dict[str, float]:
    return {"read_units": reads, "write_units": writes}


MEASURED: dict[str, Any] = {
    "call_setup": {"messages": {"signal_in": {"median": 4}}},
    "aws_ops": {
        "actions": {
            "$connect": op(0, 0),
            "join": op(2, 8),
            "signal": op(2, 0),
            "leave": op(2, 6),
            "$disconnect (after leave)": op(1, 0),
        }
    },
}


def test_one_participant_in_a_room_of_eight() -> None:
    one = capacity.per_participant(MEASURED, room_size=8)

    # 7 pairs x 2 signals, and the offers that did not ride on a join: a room filled one by one has 28 pairs, 7 of
    # them a joiner's first (its join carried the offer), so 21 more signals over 8 people
    signals = 14 + 21 / 8
    # $connect + join + signals + 30 min / 5 min pings + leave
    assert one["stage_requests"] == 1 + 1 + signals + 6 + 1
    # peer-joined to half the others, the offer 7 of 8 joins carry, each signal relayed, peer-left
    assert one["posts"] == 3.5 + 7 / 8 + signals + 3.5
    assert one["write_units"] == 8 + 6
    assert one["read_units"] == 2 + signals * 2 + 2 + 1


def test_ten_thousand_people_at_the_peak() -> None:
    load = capacity.load(MEASURED, participants=10_000, room_size=8)

    starts = 10_000 / 1800 * 4
    signals = 14 + 21 / 8
    assert load.connections == pytest.approx(starts)
    assert load.stage_requests == pytest.approx((9 + signals) * starts)
    assert load.account_requests == pytest.approx((9 + signals + 7 + 7 / 8 + signals) * starts)
    assert load.invocations == pytest.approx((1 + 1 + signals + 1 + 1) * starts)
    # nothing waits out the 10 s grace period (a delay queue does): each invocation is busy only while it works
    busy = 0.02 + 0.10 + signals * 0.04 + 0.08 + 0.03
    assert load.concurrency == pytest.approx(busy * starts)
    assert load.write_units == pytest.approx(14 * starts)


def test_what_a_load_exceeds_names_each_remedy_once() -> None:
    big = capacity.load(MEASURED, participants=1_000_000, room_size=8)
    small = capacity.load(MEASURED, participants=1_000, room_size=2)

    needed = capacity.exceeded(big)
    assert len(needed) == len(set(needed))
    assert any("new WebSocket connections" in remedy for remedy in needed)
    assert any("table-level throughput quota" in remedy for remedy in needed)
    assert capacity.exceeded(small) == []


def test_the_deployed_stage_throttle_serves_the_stated_target_within_every_default_quota() -> None:
    measured = json.loads((ROOT / "bench" / "results.json").read_text())
    target = capacity.load(measured, capacity.TARGET_PARTICIPANTS, capacity.TARGET_ROOM_SIZE)

    assert target.stage_requests <= STAGE_THROTTLE.rate <= 1.25 * target.stage_requests  # sized, not guessed
    assert STAGE_THROTTLE.burst == 2 * STAGE_THROTTLE.rate
    assert capacity.exceeded(target) == []
    ten_times = capacity.load(measured, 10 * capacity.TARGET_PARTICIPANTS, capacity.TARGET_ROOM_SIZE)
    assert any("stage throttle" in remedy for remedy in capacity.exceeded(ten_times))
