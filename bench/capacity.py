"""What a number of people in calls asks of AWS, and which quota gives out first: the "Capacity" section of
docs/deploy.md, generated from bench/results.json and the limits in signaling.definition.

Counts come from the benchmarks (signal messages per 1:1 setup, DynamoDB request units per action); the call pattern
and the Lambda durations in AWS are the stated assumptions below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from signaling.definition import (
    ACCOUNT_THROTTLE,
    DISCONNECT_GRACE_SECONDS,
    GRACE_QUEUE,
    LAMBDA_CONCURRENCY,
    NEW_CONNECTIONS_PER_SECOND,
    STAGE_THROTTLE,
)

CALL_MINUTES = 30
PING_MINUTES = 5  # the browser client's keepalive
PEAK_FACTOR = 4
"""The busiest minute against the average: calls bunch up on the hour (everything starts and ends together)."""

# Lambda durations assumed in AWS (seconds): DynamoDB and the Management API answer in milliseconds there, not in
# microseconds as moto does locally, so these are several times what the local stack measures.
AWS_DURATION_S = {"$connect": 0.02, "join": 0.10, "signal": 0.04, "leave": 0.08, "$disconnect": 0.03}

# DynamoDB on demand: what a new table absorbs at once, and the per-table quota (both raisable with warm throughput
# or a quota request).
NEW_TABLE_WRITE_UNITS = 4_000
NEW_TABLE_READ_UNITS = 12_000
TABLE_QUOTA_UNITS = 40_000

TARGET_PARTICIPANTS = 10_000
TARGET_ROOM_SIZE = 8
"""The capacity the deployed defaults (STAGE_THROTTLE) are sized for: 10,000 people in calls at once, all in rooms
of 8 (the heaviest signaling), at the peak factor above, with every default AWS quota of a fresh account."""


@dataclass(frozen=True)
class Load:
    """Per second, at the peak minute, for `participants` people in calls at once in rooms of `room_size`."""

    participants: int
    room_size: int
    connections: float
    stage_requests: float
    account_requests: float
    invocations: float
    concurrency: float
    write_units: float
    read_units: float


def per_participant(results: dict[str, Any], room_size: int) -> dict[str, float]:
    """What one participant's call of CALL_MINUTES costs: requests through the stage, @connections posts, Lambda
    invocations by route, DynamoDB units. Everyone joins one by one and leaves one by one."""
    pair_setup = results["call_setup"]["messages"]["signal_in"]["median"]  # both sides of one pair
    others = room_size - 1
    # The 1:1 setup measured is a joiner's first pair, whose offer rode on the `join`; every other pair a joiner sets
    # up sends its offer as one more `signal`. Joining a room of k, a joiner's pairs cost pair_setup + (k - 1) more:
    # over a room filled one by one, (others - 1) * others / 2 more, shared by room_size people.
    offers_after_joined = (others - 1) * others / 2 / room_size
    signals = pair_setup / 2 * others + offers_after_joined
    joins_with_an_offer = others / room_size  # every joiner but the room's first
    invocations = {"$connect": 1.0, "join": 1.0, "signal": signals, "leave": 1.0, "$disconnect": 1.0}
    ops = results["aws_ops"]["actions"]
    measured = {"$connect": "$connect", "join": "join", "signal": "signal", "leave": "leave"}
    measured["$disconnect"] = "$disconnect (after leave)"
    return {
        # $disconnect is not a request anyone can throttle: the socket is already gone.
        "stage_requests": 1 + 1 + signals + CALL_MINUTES / PING_MINUTES + 1,
        # peer-joined to those already there (on average half the others), the offer a join carries, each signal
        # relayed, peer-left
        "posts": others / 2 + joins_with_an_offer + signals + others / 2,
        **{f"invocations:{route}": count for route, count in invocations.items()},
        "write_units": sum(ops[measured[r]]["write_units"] * n for r, n in invocations.items()),
        "read_units": sum(ops[measured[r]]["read_units"] * n for r, n in invocations.items()),
    }


def load(results: dict[str, Any], participants: int, room_size: int) -> Load:
    one = per_participant(results, room_size)
    starts = participants / (CALL_MINUTES * 60) * PEAK_FACTOR  # calls starting (and ending) per second at the peak
    invocations = {key.split(":", 1)[1]: value * starts for key, value in one.items() if key.startswith("invoc")}
    # A departure without `leave` (a closed lid, a dropped network) swaps `leave` for the grace queue's consumer,
    # which does the same work a grace period later: nothing waits the grace period out (docs/architecture.md).
    busy = {route: AWS_DURATION_S[route] for route in invocations}
    return Load(
        participants=participants,
        room_size=room_size,
        connections=starts,
        stage_requests=one["stage_requests"] * starts,
        account_requests=(one["stage_requests"] + one["posts"]) * starts,
        invocations=sum(invocations.values()),
        concurrency=sum(rate * busy[route] for route, rate in invocations.items()),
        write_units=one["write_units"] * starts,
        read_units=one["read_units"] * starts,
    )


_WARM = (
    "DynamoDB: warm throughput on the table (a new on-demand table takes 4,000 WRU and 12,000 RRU at once, then "
    "doubles its previous peak every 30 minutes)"
)
_TABLE_QUOTA = "DynamoDB: the table-level throughput quota (40,000 units)"

# Each figure's default limits, lowest first, and what lifts each one.
LIMITS: dict[str, tuple[str, tuple[tuple[int, str], ...]]] = {
    "connections": (
        "new connections/s",
        ((NEW_CONNECTIONS_PER_SECOND, "API Gateway: new WebSocket connections per second (500)"),),
    ),
    "stage_requests": (
        "stage requests/s",
        ((STAGE_THROTTLE.rate, "the stage throttle: deploy with a higher `throttleRate`/`throttleBurst`"),),
    ),
    "account_requests": (
        "account requests/s",
        ((ACCOUNT_THROTTLE.rate, "API Gateway: the account throttle quota (10,000 requests/s, callbacks included)"),),
    ),
    "concurrency": (
        "Lambda concurrency",
        ((LAMBDA_CONCURRENCY, "Lambda: concurrent executions (1,000)"),),
    ),
    "write_units": (
        "DynamoDB WRU/s",
        (
            (NEW_TABLE_WRITE_UNITS, _WARM),
            (TABLE_QUOTA_UNITS, _TABLE_QUOTA),
        ),
    ),
    "read_units": (
        "DynamoDB RRU/s",
        (
            (NEW_TABLE_READ_UNITS, _WARM),
            (TABLE_QUOTA_UNITS, _TABLE_QUOTA),
        ),
    ),
}


def exceeded(row: Load) -> list[str]:
    """What must be raised for this load, in the order of LIMITS (each remedy once)."""
    needed: list[str] = []
    for name, (_, limits) in LIMITS.items():
        for limit, remedy in limits:
            if getattr(row, name) > limit and remedy not in needed:
                needed.append(remedy)
    return needed


def nearly(row: Load) -> list[str]:
    """The figures of this load within 20% under their first default limit."""
    return [
        f"{label} at {getattr(row, name) / limits[0][0]:.0%}"
        for name, (label, limits) in LIMITS.items()
        if 0.8 * limits[0][0] <= getattr(row, name) <= limits[0][0]
    ]


SIZES = (10_000, 100_000, 1_000_000)
ROOMS = (2, 8)


def table(results: dict[str, Any]) -> list[Load]:
    return [load(results, people, room) for people in SIZES for room in ROOMS]


def _cell(value: float, limit: float) -> str:
    text = f"{math.ceil(value):,}"
    return f"**{text}**" if value > limit else text


def render(results: dict[str, Any]) -> str:
    rows = table(results)
    target = load(results, TARGET_PARTICIPANTS, TARGET_ROOM_SIZE)
    one_2, one_8 = per_participant(results, 2), per_participant(results, 8)
    header = "| people in calls | room | " + " | ".join(label for label, _ in LIMITS.values()) + " |"
    lines = [
        "<!-- Written by `make bench` (bench/capacity.py) from bench/results.json; edit the code, not this. -->",
        "",
        f"Per second at the peak minute. **Bold**: over the default ({', '.join(_default(n) for n in LIMITS)}).",
        "",
        header,
        "|---:|---:|" + "---:|" * len(LIMITS),
    ]
    for row in rows:
        cells = " | ".join(_cell(getattr(row, name), limits[0][0]) for name, (_, limits) in LIMITS.items())
        lines.append(f"| {row.participants:,} | {row.room_size} | {cells} |")
    lines += [
        "",
        "How each figure is made (a participant's call of "
        f"{CALL_MINUTES} minutes; calls start and end {PEAK_FACTOR}× as often in the peak minute as on average):",
        "",
        f"- **new connections/s** = people ÷ {CALL_MINUTES * 60} s × {PEAK_FACTOR}: one socket per participant and "
        "call (a reconnect every 115 minutes does not happen within a call).",
        f"- **stage requests/s** = that × ({_stage_formula(one_2, one_8)}): `$connect`, `join`, the `signal`s of "
        f"every pair the participant is in (half of the {_pair(results):g} measured per 1:1 setup), a `ping` every "
        f"{PING_MINUTES} minutes, `leave`. `$disconnect` is not throttled (the socket is already gone).",
        "- **account requests/s** adds the @connections callbacks, which count against the same account quota: "
        "`peer-joined` to those already in the room (half the others on average), one post per relayed `signal`, "
        f"`peer-left` (rooms of 2: {one_2['posts']:g}, rooms of 8: {one_8['posts']:g} per participant).",
        "- **Lambda concurrency** = invocations/s × duration, with durations assumed for AWS ("
        + ", ".join(f"{route} {seconds * 1000:g} ms" for route, seconds in AWS_DURATION_S.items())
        + f"). A departure without `leave` costs the same work through the grace queue's consumer "
        f"{DISCONNECT_GRACE_SECONDS} s later (at most {GRACE_QUEUE.max_concurrency} at once); nothing waits out the "
        "grace period.",
        "- **DynamoDB** request units per participant and call, from the measured actions: "
        f"{one_2['write_units']:g} WRU and {one_2['read_units']:g} RRU in rooms of 2, "
        f"{one_8['write_units']:g} WRU and {one_8['read_units']:g} RRU in rooms of 8 (reads of a larger room are "
        "assumed to cost what a room of 2 costs: its items stay under 4 KB).",
        "",
        f"**The defaults are sized for {TARGET_PARTICIPANTS:,} people in rooms of {TARGET_ROOM_SIZE}**: they need "
        f"{math.ceil(target.stage_requests):,} stage requests/s at the peak, and the stage throttle is "
        f"{STAGE_THROTTLE.rate:,}/s ({STAGE_THROTTLE.rate / target.stage_requests - 1:.0%} above that) with a burst "
        f"of {STAGE_THROTTLE.burst:,} (two seconds of it); every other figure of that row is within the default "
        "quotas of a fresh account.",
        "",
        "What to raise before the traffic comes (a Service Quotas request can take days), and what comes close:",
        "",
    ]
    for people in SIZES:
        rows_here = [load(results, people, room) for room in ROOMS]
        needed = "; ".join(dict.fromkeys(remedy for row in rows_here for remedy in exceeded(row))) or "nothing"
        close = sorted({label for row in rows_here for label in nearly(row)})
        near = f" (within 20% of the limit: {', '.join(close)})" if close else ""
        lines.append(f"- {people:,} people: {needed}{near}.")
    return "\n".join(lines) + "\n"


def _default(name: str) -> str:
    label, limits = LIMITS[name]
    return f"{label.removesuffix('/s')} {limits[0][0]:,}"


def _pair(results: dict[str, Any]) -> float:
    return float(results["call_setup"]["messages"]["signal_in"]["median"])


def _stage_formula(one_2: dict[str, float], one_8: dict[str, float]) -> str:
    return f"{one_2['stage_requests']:g} in rooms of 2, {one_8['stage_requests']:g} in rooms of 8"
