"""Turn measured counts into the list-price cost of calls, and write docs/cost.md from bench/results.json.

Nothing here is measured: every count comes from results.json (the call-setup and AWS-operations benchmarks); the
prices and the call pattern are the stated assumptions below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from signaling.definition import DISCONNECT_GRACE_SECONDS, GRACE_QUEUE

# us-east-1 list prices (checked 2026-11; AWS pricing pages for API Gateway, Lambda, DynamoDB, Kinesis Video Streams).
PRICES = {
    "apigw_message": 1.00 / 1e6,  # WebSocket messages, per 32 KB unit, sent or received (first 1 billion)
    "apigw_connection_minute": 0.25 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "xray_trace": 5.00 / 1e6,  # traces recorded (active tracing is on); first 100,000 a month free
    "sqs_request": 0.40 / 1e6,  # standard queue, per request of up to 64 KB; first million a month free
    "kvs_channel_month": 0.03,  # Kinesis Video Streams WebRTC: per active signaling channel per month
    "kvs_message": 2.25 / 1e6,  # per signaling message
    # TURN (checked 2026-11): AWS EC2 data transfer out to the Internet (first 10 TB a month; the first 100 GB a
    # month are free), a t4g.small on demand, a public IPv4 address; Cloudflare Realtime TURN (first 1,000 GB a
    # month free); Twilio Network Traversal, US, billed on bytes sent and received by each TURN client.
    "ec2_data_out_gb": 0.09,
    "t4g_small_hour": 0.0168,
    "public_ipv4_hour": 0.005,
    "cloudflare_turn_gb": 0.05,
    "twilio_turn_gb": 0.40,
}
LAMBDA_MEMORY_GB = 256 / 1024
PING_INTERVAL_MINUTES = 5  # the browser client's keepalive
AWS_INVOCATION_SECONDS = 0.050  # a stated guess at a handler's duration in AWS (moto on loopback is faster)
# Lambda's SQS poller when the queue is idle: five long polls at a time (the scale-down to two is not available
# when the event source mapping sets a maximum concurrency, as ours does), each waiting up to 20 s ("Configuring
# scaling behavior for SQS event source mappings", AWS Lambda Developer Guide).
IDLE_POLLERS, LONG_POLL_SECONDS, MONTH_SECONDS = 5, 20, 30 * 24 * 3600
# A real webcam at 640x480-720p sends more than Chromium's fake camera (measured): the stated assumption beside it.
WEBCAM_BITS_PER_S = 1.5e6
RELAYED_SHARE = 0.15  # a stated guess: the share of calls that need a relay (more with corporate and mobile users)
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class CallPattern:
    calls: int = 1000
    participants: int = 2
    minutes: int = 30
    unclean: int = 1
    """Sockets per call that close without `leave` (a dropped network, a closed laptop, a crash): each starts a
    grace period. The others hang up (`leave`, also sent when the tab closes)."""


def per_call(results: dict[str, Any], pattern: CallPattern) -> dict[str, float]:
    """Counts for one call: API Gateway messages and connection-minutes, Lambda invocations and GB-s, DynamoDB
    request units. The call: both join, negotiate (measured), keep alive with pings, then both hang up."""
    setup = results["call_setup"]["messages"]
    ops = results["aws_ops"]["actions"]
    people = pattern.participants
    pings = people * (pattern.minutes // PING_INTERVAL_MINUTES)
    signals = setup["signal_in"]["median"]

    clean = people - pattern.unclean
    messages_in = setup["in_total"]["median"] + pings + clean  # + one `leave` per clean hang-up
    messages_out = setup["out_total"]["median"] + pings + (people - 1)  # + pongs + `peer-left`
    invocations = {
        "$connect": people,
        "join": people,
        "signal": signals,
        "leave": clean,
        "$disconnect (after leave)": clean,  # it finds nothing to do, but it is still invoked
        "$disconnect": pattern.unclean,  # starts the grace period: one SQS message
        "grace over": pattern.unclean,  # the consumer, one batch per message at low traffic
    }
    read_units = sum(ops[a]["read_units"] * n for a, n in invocations.items())
    write_units = sum(ops[a]["write_units"] * n for a, n in invocations.items())
    gb_seconds = sum(
        max(1.0, ops[a]["lambda_ms"]["median"]) / 1000 * LAMBDA_MEMORY_GB * n for a, n in invocations.items()
    )
    sqs_requests = sum(sum(ops[a].get("sqs_calls", {}).values()) * n for a, n in invocations.items())
    return {
        "sqs_requests": sqs_requests,
        "messages": messages_in + messages_out,
        "messages_in": messages_in,
        "messages_out": messages_out,
        "connection_minutes": people * pattern.minutes,
        "lambda_invocations": sum(invocations.values()),
        "lambda_gb_seconds": gb_seconds,
        "read_units": read_units,
        "write_units": write_units,
        "signal_messages": signals,
    }


def costs(results: dict[str, Any], pattern: CallPattern = CallPattern()) -> dict[str, Any]:
    one = per_call(results, pattern)
    n = pattern.calls
    ours = {
        "API Gateway messages": one["messages"] * n * PRICES["apigw_message"],
        "API Gateway connection-minutes": one["connection_minutes"] * n * PRICES["apigw_connection_minute"],
        "Lambda requests": one["lambda_invocations"] * n * PRICES["lambda_request"],
        "Lambda compute (arm64, 256 MB)": one["lambda_gb_seconds"] * n * PRICES["lambda_gb_second_arm64"],
        "DynamoDB writes (on-demand)": one["write_units"] * n * PRICES["dynamodb_write_unit"],
        "DynamoDB reads (on-demand)": one["read_units"] * n * PRICES["dynamodb_read_unit"],
        "SQS requests (grace periods)": one["sqs_requests"] * n * PRICES["sqs_request"],
        # Upper bound: X-Ray's default sampling records the first request each second and 5% of the rest.
        "X-Ray traces (at most one per invocation)": one["lambda_invocations"] * n * PRICES["xray_trace"],
    }
    # KVS: one signaling channel per room, active in the month; every offer, answer and candidate message that a
    # peer sends through the channel is billed (we count the same signal messages our clients send).
    kvs = {
        "Signaling channels (one per room)": n * PRICES["kvs_channel_month"],
        "Signaling messages": one["signal_messages"] * n * PRICES["kvs_message"],
    }
    return {"pattern": pattern.__dict__, "per_call": one, "parley": ours, "kvs": kvs}


def _usd(value: float) -> str:
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:,.4f}" if value >= 0.001 or value == 0 else f"${value:.6f}"


def render(results: dict[str, Any]) -> str:
    model = costs(results)
    pattern, one = model["pattern"], model["per_call"]
    ours_total, kvs_total = sum(model["parley"].values()), sum(model["kvs"].values())
    ops = results["aws_ops"]["actions"]
    lines = [
        "# What calls cost",
        "",
        "<!-- Generated by `make bench` from bench/results.json (bench/cost.py). Do not edit by hand. -->",
        "",
        f"**{pattern['calls']:,} one-to-one calls of {pattern['minutes']} minutes cost about "
        f"{_usd(ours_total)} on AWS list prices (us-east-1)**, against {_usd(kvs_total)} for the same calls on "
        "Amazon Kinesis Video Streams WebRTC signaling. Media flows peer to peer in both cases and is not included; "
        "a call that needs a TURN relay costs far more, for the media it relays (see Relayed calls below).",
        "",
        f"Measured on {results['machine']['description']} on {results['generated'][:10]}.",
        "",
        "## One call, as measured",
        "",
        "| what | per call | where it comes from |",
        "|---|---:|---|",
        f"| signal messages for the whole setup (both peers) | {one['signal_messages']:g} | call-setup benchmark, "
        "median of real Chromium calls |",
        f"| API Gateway messages in / out | {one['messages_in']:g} / {one['messages_out']:g} | setup (measured) + "
        f"a ping/pong every {PING_INTERVAL_MINUTES} min per person + `leave` and `peer-left` |",
        f"| connection-minutes | {one['connection_minutes']:g} | {pattern['participants']} sockets × "
        f"{pattern['minutes']} min |",
        f"| Lambda invocations | {one['lambda_invocations']:g} | $connect, join, signal, leave, $disconnect, the "
        "grace-period consumer (ping is a MOCK integration: no Lambda) |",
        f"| Lambda GB-seconds | {one['lambda_gb_seconds']:.4f} | handler time measured on the local stack, at "
        "least 1 ms each, × 256 MB |",
        f"| DynamoDB write / read request units | {one['write_units']:g} / {one['read_units']:g} | per action below |",
        f"| SQS requests | {one['sqs_requests']:g} | per socket closed without `leave`: send, receive, delete |",
        "",
        f"The call: {pattern['participants']} people; {pattern['participants'] - pattern['unclean']} hang up "
        f"(`leave`) and {pattern['unclean']} drops off without it (its seat is held for the grace period, then "
        "freed by the queue's consumer).",
        "",
        f"## {pattern['calls']:,} calls",
        "",
        "| Parley on AWS | cost |",
        "|---|---:|",
        *[f"| {name} | {_usd(value)} |" for name, value in model["parley"].items()],
        f"| **total** | **{_usd(ours_total)}** |",
        "",
        "| Kinesis Video Streams WebRTC, same calls | cost |",
        "|---|---:|",
        *[f"| {name} | {_usd(value)} |" for name, value in model["kvs"].items()],
        f"| **total** | **{_usd(kvs_total)}** |",
        "",
        "## Per action, as measured",
        "",
        "Counted by instrumenting the real handler code (botocore events) on the local stack. Request units follow "
        "DynamoDB's sizing rules applied to the observed requests: a strongly consistent read of up to 4 KB is 1 "
        "unit, a write of up to 1 KB is 1 unit, and both count double inside a transaction.",
        "",
        "| action | DynamoDB calls | write units | read units | Management API calls | SQS calls | "
        "messages in / out | handler ms (median) |",
        "|---|---|---:|---:|---|---|---:|---:|",
    ]
    for action, op in ops.items():
        calls = ", ".join(f"{name} ×{count:g}" for name, count in op["dynamodb_calls"].items()) or "none"
        posts = ", ".join(f"{name} ×{count:g}" for name, count in op["management_calls"].items()) or "none"
        queue = ", ".join(f"{name} ×{count:g}" for name, count in op.get("sqs_calls", {}).items()) or "none"
        lines.append(
            f"| `{action}` | {calls} | {op['write_units']:g} | {op['read_units']:g} | {posts} | {queue} | "
            f"{op['messages_in']} / {op['messages_out']} | {op['lambda_ms']['median']:g} |"
        )
    lines += ["", *_grace_section(results)]
    lines += _turn_section(results, CallPattern())
    lines += [
        "",
        "## Assumptions",
        "",
        "- Prices: API Gateway WebSocket $1.00 per million messages (32 KB units) and $0.25 per million "
        "connection-minutes; Lambda arm64 $0.20 per million requests and $0.0000133334 per GB-second; DynamoDB "
        "on-demand $0.625 per million write and $0.125 per million read request units; X-Ray $5.00 per million "
        "traces; Kinesis Video Streams $0.03 per active signaling channel per month and $2.25 per million "
        "signaling messages. Free tiers ignored.",
        "- Every message here is far below 32 KB, so each counts as one unit.",
        "- Lambda time is measured against moto on loopback; DynamoDB in AWS answers in single-digit milliseconds, "
        "so real invocations take longer. At 50 ms each, Lambda compute for these calls would be "
        f"{_usd(_compute_at(0.050, one['lambda_invocations'] * pattern['calls']))}.",
        "- SQS: $0.40 per million requests (standard queue, up to 64 KB each). `grace over` is one batch per "
        "message, as at low traffic; under load a batch carries up to 10 messages and the receive and delete "
        "requests are shared.",
        f"- Not included: CloudWatch Logs ingestion (structured logs, a few hundred bytes per invocation), the "
        "static site (CloudFront and S3: cents), the fixed cost of the CloudWatch alarms (about $1.70 a month, "
        f"see docs/deploy.md), and Lambda's idle polling of the grace queue: {_idle_polls():,.0f} ReceiveMessage "
        f"requests a month ({IDLE_POLLERS} long polls of {LONG_POLL_SECONDS} s at a time), inside SQS's free "
        f"million requests a month, {_usd(_idle_polls() * PRICES['sqs_request'])} a month without it.",
        "",
    ]
    return "\n".join(lines)


def _idle_polls() -> float:
    return IDLE_POLLERS * MONTH_SECONDS / LONG_POLL_SECONDS


def _grace_section(results: dict[str, Any]) -> list[str]:
    """What a socket closed without `leave` costs now, against a $disconnect that sleeps the grace period."""
    ops = results["aws_ops"]["actions"]
    grace = DISCONNECT_GRACE_SECONDS
    disconnect_s = ops["$disconnect"]["lambda_ms"]["median"] / 1000
    consumer_s = ops["grace over"]["lambda_ms"]["median"] / 1000
    now_gbs = (disconnect_s + consumer_s) * LAMBDA_MEMORY_GB
    slept_gbs = (grace + disconnect_s + consumer_s) * LAMBDA_MEMORY_GB
    burst = 1000

    def peak(seconds_each: float) -> int:
        # Little's law for a burst spread over one second: arrivals per second × seconds each, at most the burst.
        return min(burst, math.ceil(burst * seconds_each))

    batches = burst / GRACE_QUEUE.batch_size
    return [
        "## The grace period",
        "",
        f"A socket that closes without `leave` keeps its seat for {grace} s, so that a reconnecting client resumes "
        "without anyone noticing. Nothing waits that out: `$disconnect` sends one SQS message delayed by the grace "
        "period and returns, and a consumer function frees the seat when the message is delivered "
        "(docs/architecture.md).",
        "",
        "| per socket closed without `leave` | now (delay queue) | a `$disconnect` that sleeps the grace period |",
        "|---|---:|---:|",
        f"| Lambda GB-seconds (256 MB) | {now_gbs:.5f} | {slept_gbs:.2f} |",
        f"| Lambda compute, per {burst:,} such sockets | {_usd(burst * now_gbs * PRICES['lambda_gb_second_arm64'])} | "
        f"{_usd(burst * slept_gbs * PRICES['lambda_gb_second_arm64'])} |",
        f"| SQS requests (send, receive, delete), per {burst:,} such sockets | "
        f"{3 * burst:,} ({_usd(3 * burst * PRICES['sqs_request'])}) | 0 |",
        f"| peak concurrent executions, {burst:,} sockets closing within one second (handler time as measured) | "
        f"{peak(disconnect_s)} + at most {GRACE_QUEUE.max_concurrency} consumers | {peak(grace + disconnect_s)} |",
        f"| the same at {AWS_INVOCATION_SECONDS * 1000:g} ms per invocation (AWS-like) | "
        f"{peak(AWS_INVOCATION_SECONDS)} + at most {GRACE_QUEUE.max_concurrency} | "
        f"{peak(grace + AWS_INVOCATION_SECONDS)} |",
        "",
        f"A sleeping `$disconnect` holds its execution environment for the whole {grace} s: {burst:,} dropped sockets "
        f"(a network blip) would take {peak(grace + AWS_INVOCATION_SECONDS):,} of the account's default 1,000 "
        "concurrent executions, shared by every function, so `join` and `signal` would be throttled exactly when "
        f"people reconnect. With the queue, the consumer works through {batches:g} batches of "
        f"{GRACE_QUEUE.batch_size} with at most {GRACE_QUEUE.max_concurrency} at a time (the event source "
        "mapping's maximum concurrency), and never takes more.",
        "",
    ]


def _compute_at(seconds: float, invocations: float) -> float:
    return invocations * seconds * LAMBDA_MEMORY_GB * PRICES["lambda_gb_second_arm64"]


def units(reads: list[tuple[bool, int]], writes: list[tuple[bool, int]]) -> tuple[float, float]:
    """DynamoDB request units for (transactional, size in bytes) reads and writes."""
    read_units = sum((2 if tx else 1) * max(1, math.ceil(size / 4096)) for tx, size in reads)
    write_units = sum((2 if tx else 1) * max(1, math.ceil(size / 1024)) for tx, size in writes)
    return read_units, write_units


def relayed_gigabytes(bits_per_s: float, pattern: CallPattern) -> float:
    """GB a TURN server sends out for one relayed call: each participant's stream, sent on to the other(s) once."""
    return bits_per_s / 8 * pattern.minutes * 60 * pattern.participants / 1e9


def _turn_section(results: dict[str, Any], pattern: CallPattern) -> list[str]:
    """What a relayed call costs: the bytes a TURN server forwards × a price per GB, for the measured rate and for a
    real webcam's."""
    rates: list[tuple[str, float]] = []
    measured = results.get("relayed_call")
    if measured is not None:
        rate = measured["sent_bytes_per_s"]["median"] * 8
        rates.append(
            (f"measured: {rate / 1e6:.2f} Mbit/s per participant (relay-only Chromium call, fake camera)", rate)
        )
    rates.append(
        (f"assumed: {WEBCAM_BITS_PER_S / 1e6:g} Mbit/s per participant (a real 640x480-720p webcam)", WEBCAM_BITS_PER_S)
    )

    rows = []
    for label, bits in rates:
        gb = relayed_gigabytes(bits, pattern)
        rows.append(
            f"| {label} | {gb:.3f} | {_usd(gb * PRICES['ec2_data_out_gb'])} | "
            f"{_usd(gb * PRICES['cloudflare_turn_gb'])} | {_usd(gb * PRICES['twilio_turn_gb'])} |"
        )
    fixed = HOURS_PER_MONTH * (PRICES["t4g_small_hour"] + PRICES["public_ipv4_hour"])
    webcam = relayed_gigabytes(WEBCAM_BITS_PER_S, pattern)
    relayed_calls = pattern.calls * RELAYED_SHARE
    signaling = sum(costs(results, pattern)["parley"].values()) / pattern.calls
    return [
        "## Relayed calls (TURN)",
        "",
        "When no direct path exists between two participants, their media goes through a TURN server, which "
        "forwards every byte: a relayed call costs hundreds of times its signaling. The relayed-call benchmark "
        "(bench/relaycall.py) runs a call with both pages on `?ice=relay` through a real coturn and reads the bytes "
        "on the selected relay candidate pair from getStats"
        + (
            f" ({measured['runs']} calls, {measured['seconds']:g} s each, after the encoder's ramp-up; "
            f"{measured['sent_bytes_per_s']['min'] * 8 / 1e6:.2f}-{measured['sent_bytes_per_s']['max'] * 8 / 1e6:.2f} "
            "Mbit/s). Chromium's fake camera is an easy test pattern, so a real webcam sends more: both rates are "
            "shown."
            if measured is not None
            else "; no measurement in results.json, so only the stated webcam rate is shown."
        ),
        "",
        f"| one relayed 1:1 call of {pattern.minutes} min | GB relayed | Parley's coturn on AWS "
        f"(${PRICES['ec2_data_out_gb']}/GB out) | Cloudflare Realtime TURN (${PRICES['cloudflare_turn_gb']}/GB) | "
        f"Twilio (${PRICES['twilio_turn_gb']:.2f}/GB, per relayed client) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"For comparison, the signaling of the same call costs {_usd(signaling)}. "
        f"If {RELAYED_SHARE:.0%} of the {pattern.calls:,} calls above need a relay, at the webcam rate they move "
        f"{webcam * relayed_calls:,.0f} GB: {_usd(webcam * relayed_calls * PRICES['ec2_data_out_gb'])} of AWS data "
        f"transfer, on top of {_usd(fixed)} a month for Parley's own TURN instance (t4g.small "
        f"${PRICES['t4g_small_hour']}/h and its public IPv4 address ${PRICES['public_ipv4_hour']}/h, "
        f"{HOURS_PER_MONTH} h; about $17 with its volume, alarms and secret, docs/deploy.md).",
        "",
        "- AWS bills what the server sends out; data in is free. Both directions of a 1:1 call leave the server "
        "once each, so the GB relayed is both participants' streams. Twilio bills bytes sent and received by each "
        "TURN client, so a call where only one participant relays is billed that client's GB (the column), one "
        "where both do, twice.",
        "- Free tiers ignored: AWS's first 100 GB a month of data out and Cloudflare's first 1,000 GB a month would "
        "cover small volumes entirely.",
        "- docs/deploy.md (TURN costs) compares the options and says how to choose.",
    ]
