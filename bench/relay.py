"""Relay latency and throughput between two WebSocket clients, and join latency as the room grows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import websockets

from bench.localstack import local_stack_process
from bench.stats import percentile, summary
from signaling.settings import MESSAGE_LIMIT


async def _join(url: str, room: str, capacity: int = 2) -> tuple[Any, dict[str, Any]]:
    # No client keepalive pings: a browser sends none, and under the throughput burst a ping queued behind the
    # backlog would close the socket (1011) before the backlog is through.
    ws = await websockets.connect(url, max_size=None, ping_interval=None)
    await ws.send(json.dumps({"action": "join", "room": room, "capacity": capacity}))
    joined = json.loads(await ws.recv())
    assert joined["type"] == "joined", joined
    return ws, joined


async def _next(ws: Any, kind: str, timeout: float = 30) -> dict[str, Any]:
    """The next message of `kind`; a lost one fails the benchmark instead of hanging it."""
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        except TimeoutError:
            raise RuntimeError(f"no {kind!r} within {timeout} s") from None
        if message.get("type") == kind:
            return message
        if message.get("type") == "error" or "type" not in message:  # ours, or API Gateway's own
            raise RuntimeError(message)


async def _pending(ws: Any) -> list[str]:
    """What a socket has received and nobody read (to explain a lost message)."""
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(await asyncio.wait_for(ws.recv(), 0.5))
    return frames


# Each sender stays within its socket's per-connection limit (signaling.ratelimit: a burst of 100 signals), as a
# real client does (a 1:1 setup sends about 6): the messages are spread over as many calls as that takes, so the
# benchmark measures the stack with its limits on, as deployed.
PER_SENDER = MESSAGE_LIMIT.burst - 10  # a margin: the latency rounds of a sender also refill, but need not


async def _pairs(url: str, count: int, name: str) -> list[tuple[Any, Any, str]]:
    """`count` 1:1 calls: (sender, receiver, the receiver's peerId), each in a room of its own."""
    pairs = []
    for n in range(count):
        a, _ = await _join(url, f"{name}{n}")
        b, joined_b = await _join(url, f"{name}{n}")
        await _next(a, "peer-joined")
        pairs.append((a, b, joined_b["peerId"]))
    return pairs


def _shares(messages: int) -> list[int]:
    """How many messages each sender sends: at most PER_SENDER each."""
    senders = -(-messages // PER_SENDER)
    return [messages // senders + (1 if n < messages % senders else 0) for n in range(senders)]


async def relay(url: str, messages: int) -> dict[str, Any]:
    payload = {"candidates": [{"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}]}

    # Latency: one message in flight at a time, timed from send to arrival at the other client.
    latencies = []
    shares = _shares(messages)
    seq = 0
    for (a, b, target), share in zip(await _pairs(url, len(shares), "latency"), shares, strict=True):
        for _ in range(share):
            started = time.perf_counter()
            await a.send(json.dumps({"action": "signal", "to": target, "data": {"seq": seq, **payload}}))
            try:
                await _next(b, "signal")
            except RuntimeError as lost:
                pending = await _pending(a)
                raise RuntimeError(f"signal {seq} was not relayed ({lost}); the sender got {pending}") from None
            latencies.append((time.perf_counter() - started) * 1000)
            seq += 1
        await a.close()
        await b.close()

    # Throughput: everything sent at once by every sender; the gateway handles messages concurrently, as API
    # Gateway does.
    pairs = await _pairs(url, len(shares), "throughput")

    async def send(a: Any, target: str, share: int) -> None:
        for seq in range(share):
            await a.send(json.dumps({"action": "signal", "to": target, "data": {"seq": seq, **payload}}))

    async def receive(b: Any, share: int) -> None:
        for _ in range(share):
            await _next(b, "signal")

    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(send(a, target, share) for (a, _, target), share in zip(pairs, shares, strict=True)),
            *(receive(b, share) for (_, b, _), share in zip(pairs, shares, strict=True)),
        )
    except RuntimeError as lost:
        answers = [frame for a, _, _ in pairs for frame in await _pending(a)]
        raise RuntimeError(f"a signal was not relayed ({lost}); {len(answers)} answers, first {answers[:5]}") from None
    elapsed = time.perf_counter() - started
    for a, b, _ in pairs:
        await a.close()
        await b.close()
    return {
        "messages": messages,
        "senders": len(shares),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "min": round(min(latencies), 2),
            "max": round(max(latencies), 2),
        },
        "throughput_per_s": round(messages / elapsed, 1),
    }


async def join_latency(url: str, present: int, repeats: int) -> dict[str, Any]:
    """Time from sending `join` to receiving `joined` with `present` peers already in the room (each of whom is
    sent `peer-joined` before `joined` is answered)."""
    room = f"fanout{present}"
    members = [await _join(url, room, capacity=present + 1) for _ in range(present)]
    timings = []
    for _ in range(repeats):
        ws = await websockets.connect(url)
        started = time.perf_counter()
        await ws.send(json.dumps({"action": "join", "room": room}))
        joined = json.loads(await ws.recv())
        timings.append((time.perf_counter() - started) * 1000)
        if joined["type"] != "joined" or len(joined["peers"]) != present:
            raise RuntimeError(f"unexpected reply: {joined}")
        await asyncio.gather(*(_next(m, "peer-joined") for m, _ in members))
        await ws.send(json.dumps({"action": "leave"}))
        await asyncio.gather(*(_next(m, "peer-left") for m, _ in members))
        await ws.close()
    for member, _ in members:
        await member.close()
    return summary(timings, digits=2)


def run(messages: int, room_sizes: tuple[int, ...], repeats: int) -> dict[str, Any]:
    capacity = max(room_sizes) + 1
    # This measures the stack's own speed, not the limits: 2,000 messages sent at once would be partly throttled by
    # the stage, and partly refused by Lambda's concurrency, the account's and the signal function's reservation
    # (locally they run on few threads, so they pile up). The per-connection limits stay as deployed: the messages
    # are spread over senders that each keep within them.
    unthrottled = (
        *("--throttle-rate", "10000", "--throttle-burst", "10000"),
        *("--lambda-concurrency", "100000", "--no-reserved-concurrency"),
    )
    with local_stack_process({"MAX_CAPACITY": str(capacity)}, args=unthrottled) as stack:
        result = asyncio.run(relay(stack.url, messages))
        result["join_latency_ms"] = {
            str(size): asyncio.run(join_latency(stack.url, size, repeats)) for size in room_sizes
        }
    return result
