"""The local stack under abuse: 20 sockets send joins, leaves, signals and junk as fast as they can for a while,
with the deployed limits (stage throttle, Lambda concurrency). The stack runs as its own process (`python -m
devstack`, as `make dev`), and its resident memory is sampled throughout: it must stay bounded, because nothing in
the stack may queue without limit. Also reported: what the sockets heard back, and how long the stack took to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

import websockets

from bench.localstack import local_stack_process, resident_bytes, threads

SOCKETS = 20
SAMPLE_SECONDS = 0.25
SETTLE_SECONDS = 3.0  # after the flood: in-flight invocations finish, the sockets' $disconnects run
SEND_BUFFER = 64 * 1024  # per socket: the flooders feel TCP's backpressure early instead of filling the kernel
MIB = 1024 * 1024

JUNK = [
    "not json at all",
    '{"action": "dance"}',
    '{"action": "join", "room": 42}',
    '{"action": "signal", "to": "nobody", "data": {}}',
    json.dumps({"action": "join", "room": "r", "name": "n" * 5000}),
    "[" * 2000,
]


class Sampler:
    """Resident memory (and threads) of one process, every SAMPLE_SECONDS, on a thread of its own."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - started, resident_bytes(self.pid)))
            self.threads = max(self.threads, threads(self.pid))
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _listen(ws: Any, heard: Counter[str], peers: dict[int, str], index: int) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        await _count_replies(ws, heard, peers, index)


async def _count_replies(ws: Any, heard: Counter[str], peers: dict[int, str], index: int) -> None:
    async for frame in ws:
        message = json.loads(frame)
        kind = message.get("type") or message.get("message") or "?"
        if kind == "error":
            kind = f"error:{message.get('code')}"
        if kind == "joined":
            peers[index] = message["peerId"]
        heard[kind] += 1


async def _flood_one(index: int, url: str, until: float, sent: Counter[str], heard: Counter[str]) -> None:
    """One socket: joins its pair's room, then sends without waiting for anything: mostly signals to its partner,
    every 10th message a leave and a new join, every 7th a piece of junk."""
    peers: dict[int, str] = {}
    room = f"flood-{index // 2}"
    # No keepalive pings: behind a flooder's own backlog a pong comes late, and the flood is not about them.
    async with websockets.connect(url, max_size=None, compression=None, ping_interval=None) as ws:
        ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        listener = asyncio.create_task(_listen(ws, heard, peers, index))
        join = json.dumps({"action": "join", "room": room, "capacity": 2})
        payload = {"candidates": [{"candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host"}] * 3}
        await ws.send(join)
        sent["join"] += 1
        try:
            async with asyncio.timeout(until - time.monotonic()):  # a send waiting for the network counts too
                await _send_until_stopped(ws, index, join, payload, peers, sent)
        except TimeoutError:
            pass
        except websockets.ConnectionClosed as closed:  # the stack closed it (it should not): say so in the results
            heard[f"closed:{closed.rcvd.code if closed.rcvd else None}"] += 1
        listener.cancel()
        ws.transport.abort()  # gone at once, like a crashed client: what it wrote and the stack did not read is lost


async def _send_until_stopped(
    ws: Any, index: int, join: str, payload: dict[str, Any], peers: dict[int, str], sent: Counter[str]
) -> None:
    count = 0
    while True:
        count += 1
        if count % 10 == 0:
            await ws.send('{"action": "leave"}')
            await ws.send(join)
            sent["leave"] += 1
            sent["join"] += 1
        elif count % 7 == 0:
            await ws.send(JUNK[count % len(JUNK)])
            sent["junk"] += 1
        else:
            partner = peers.get(index ^ 1, "nobody")
            await ws.send(json.dumps({"action": "signal", "to": partner, "data": {"seq": count, **payload}}))
            sent["signal"] += 1
        if count % 50 == 0:
            await asyncio.sleep(0)  # let the listener read: a flooder that never reads only floods itself


async def _flood(url: str, seconds: float) -> tuple[Counter[str], Counter[str]]:
    sent: Counter[str] = Counter()
    heard: Counter[str] = Counter()
    until = time.monotonic() + seconds
    await asyncio.gather(*(_flood_one(index, url, until, sent, heard) for index in range(SOCKETS)))
    return sent, heard


def _traffic(http_url: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"{http_url}/_devstack/traffic", timeout=30) as response:  # noqa: S310 - loopback
        traffic: dict[str, dict[str, int]] = json.load(response)
    return traffic


def run(seconds: float) -> dict[str, Any]:
    with local_stack_process() as stack:
        with Sampler(stack.pid) as sampler:
            time.sleep(SAMPLE_SECONDS * 2)  # a few samples of the idle stack
            flood_started = time.monotonic()
            sent, heard = asyncio.run(_flood(stack.url, seconds))
            flood_seconds = time.monotonic() - flood_started
            time.sleep(SETTLE_SECONDS)
            received = _traffic(stack.http_url)["in"]
        stop_seconds = stack.stop()
    samples = sampler.samples
    start = samples[0][1]
    return {
        "sockets": SOCKETS,
        "seconds": round(flood_seconds, 1),
        "sent": dict(sent),
        "received": received,
        "received_total": sum(received.values()),
        "throttled": received.get("(throttled)", 0),
        "heard": dict(heard.most_common()),
        "rss_mib": {
            "start": round(start / MIB, 1),
            "peak": round(max(rss for _, rss in samples) / MIB, 1),
            "end": round(samples[-1][1] / MIB, 1),
        },
        "rss_samples": len(samples),
        "threads_peak": sampler.threads,
        "stop_seconds": round(stop_seconds, 2),
    }


def render(results: dict[str, Any]) -> str:
    """The README's sentence, from results.json."""
    flood = results["flood"]
    rss = flood["rss_mib"]
    return (
        f"Under a {flood['seconds']:g}-second flood from {flood['sockets']} sockets sending joins, leaves, signals "
        f"and junk as fast as they could ({flood['received_total']:,} messages read, {flood['throttled']:,} of them "
        f"answered `Too Many Requests` by the stage throttle), the local stack's resident memory went from "
        f"{rss['start']:g} MiB to a peak of {rss['peak']:g} MiB and was {rss['end']:g} MiB afterwards; it then "
        f"stopped in {flood['stop_seconds']:g} s (`make bench`, bench/flood.py).\n"
    )
