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


async def _join(url: str, room: str, capacity: int = 2) -> tuple[Any, dict[str, Any]]:
    ws = await websockets.connect(url, max_size=None)
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


async def relay(url: str, messages: int) -> dict[str, Any]:
    a, _ = await _join(url, "relay")
    b, joined_b = await _join(url, "relay")
    await _next(a, "peer-joined")
    target = joined_b["peerId"]
    payload = {"candidates": [{"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}]}

    # Latency: one message in flight at a time, timed from send to arrival at the other client.
    latencies = []
    for seq in range(messages):
        started = time.perf_counter()
        await a.send(json.dumps({"action": "signal", "to": target, "data": {"seq": seq, **payload}}))
        try:
            await _next(b, "signal")
        except RuntimeError as lost:
            raise RuntimeError(f"signal {seq} was not relayed ({lost}); the sender got {await _pending(a)}") from None
        latencies.append((time.perf_counter() - started) * 1000)

    # Throughput: everything sent at once; the gateway handles messages concurrently, as API Gateway does.
    started = time.perf_counter()
    for seq in range(messages):
        await a.send(json.dumps({"action": "signal", "to": target, "data": {"seq": seq, **payload}}))
    for _ in range(messages):
        await _next(b, "signal")
    elapsed = time.perf_counter() - started
    await a.close()
    await b.close()
    return {
        "messages": messages,
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
    # the stage, and partly refused by Lambda's concurrency (locally they run on few threads, so they pile up), and
    # one socket sending them all is far past its per-connection limits (signaling.ratelimit; each still costs its
    # UpdateItem, as in AWS).
    unthrottled = ("--throttle-rate", "10000", "--throttle-burst", "10000", "--lambda-concurrency", "100000")
    limits = {"LIMIT_MESSAGE_BURST": "1000000", "LIMIT_JOIN_BURST": "1000000"}
    with local_stack_process({"MAX_CAPACITY": str(capacity), **limits}, args=unthrottled) as stack:
        result = asyncio.run(relay(stack.url, messages))
        result["join_latency_ms"] = {
            str(size): asyncio.run(join_latency(stack.url, size, repeats)) for size in room_sizes
        }
    return result
