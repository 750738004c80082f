"""Fuzz: at least 10,000 seeded frames (tests/fuzzing.py) through the handlers under moto, routed as API Gateway
would route them. Zero `internal`, zero silence where a reply is due, only RFC 8259 JSON out, and the table's
invariants hold throughout.

PARLEY_FUZZ_SEED replays a run (the seed is in every failure message); PARLEY_FUZZ_FRAMES changes its length."""

from __future__ import annotations

import base64
import os
import random
import time
from collections import Counter
from typing import Any

import pytest

from signaling import handlers, wiring
from signaling.sender import Sender
from tests.fuzzing import KINDS_ALLOWED_SILENT, Frame, Generator, State, route_of, strict_json, table_problems

from .conftest import ACTION_ROUTES, CONTEXT, Harness

FRAMES = int(os.environ.get("PARLEY_FUZZ_FRAMES", "10000"))
SEED = int(os.environ.get("PARLEY_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
BUDGET_SECONDS = 120.0
"""The run stops here even if frames are left (a slow machine); it then fails, saying how far it got."""
CONNECTIONS = [f"fuzz{i}=" for i in range(8)]
ROUTES = {**ACTION_ROUTES, "$default": handlers.default}


class Posts:
    """Every message the handlers post, as (connection, text), in order. They are recorded instead of going through
    moto's Management API (a third of the run time, and these tests are about what is posted, not how)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, str]] = []

        def send(sender: Sender, conn: str, message: str) -> bool:
            self.sent.append((conn, message))
            return True

        def post(sender: Sender, conn: str, data: bytes) -> None:  # a fan-out's posts (peer-joined, peer-left)
            self.sent.append((conn, data.decode()))

        monkeypatch.setattr(Sender, "send", send)
        monkeypatch.setattr(Sender, "_post", post)

    def since(self, start: int) -> list[tuple[str, str]]:
        return self.sent[start:]


def _strict(text: str, where: str) -> dict[str, Any]:
    try:
        message = strict_json(text)
    except ValueError as exc:
        raise AssertionError(f"{where}: the server sent non-RFC 8259 JSON {text[:300]!r}: {exc}") from exc
    assert isinstance(message, dict), f"{where}: {text[:300]!r}"
    return message


def _invoke(aws: Harness, conn: str, route: str, frame: Frame) -> dict[str, Any]:
    message = aws._message
    event = aws._context({**message, "requestContext": dict(message["requestContext"])}, conn, route)
    if isinstance(frame.payload, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(frame.payload).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = frame.payload, False
    return ROUTES[route](event, CONTEXT)


def test_fuzzed_frames_get_a_reply_a_relay_or_nothing_never_internal(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = SEED
    where = f"PARLEY_FUZZ_SEED={seed}"
    # Eight sockets send ten thousand frames as fast as the handlers go: far past the per-connection limits, which
    # tests/handlers/test_limits.py covers. Here every frame is to get its own answer.
    monkeypatch.setenv("LIMIT_MESSAGE_BURST", str(FRAMES))
    monkeypatch.setenv("LIMIT_JOIN_BURST", str(FRAMES))
    wiring.reset()
    posts = Posts(monkeypatch)
    state = State()
    generator = Generator(seed, state)
    rng = random.Random(seed + 1)
    for conn in CONNECTIONS:
        assert aws.connect(conn)["statusCode"] == 200
    kinds: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    started = time.monotonic()
    frames = generator.frames()
    for number in range(FRAMES):
        assert time.monotonic() - started < BUDGET_SECONDS, f"{where}: only {number} frames in {BUDGET_SECONDS} s"
        frame = next(frames)
        kinds[frame.kind] += 1
        if frame.kind == "ping":
            continue  # a MOCK route: API Gateway answers it, no handler runs (the local stack fuzz sends them)
        conn = rng.choice(CONNECTIONS)
        route = route_of(frame, set(ROUTES), rng)
        if rng.random() < 0.05:
            route = rng.choice(list(ROUTES))  # API Gateway's parser and ours may disagree: any handler, any frame
        kind = frame.kind
        if kind in ("join", "signal", "ghost", "leave", "ice") and route != frame.action:
            kind = "bad"  # a valid message on another route is still answered, with bad-request
        where = f"PARLEY_FUZZ_SEED={seed}, frame {number} ({kind} on {route}): {frame.payload[:300]!r}"
        start = len(posts.sent)

        try:
            response = _invoke(aws, conn, route, frame)
        except Exception as exc:  # a handler must answer, never raise
            raise AssertionError(f"{where}: the handler raised {exc!r}") from exc

        assert response["statusCode"] == 200, where
        replies: list[dict[str, Any]] = []
        if "body" in response:
            replies.append(_strict(response["body"], where))
        effects = []
        for target, text in posts.since(start):
            message = _strict(text, where)
            if target == conn and message.get("type") == "error":
                replies.append(message)
            else:
                effects.append((target, message))
        for reply in replies:
            state.learn(reply)
            assert reply.get("type") in ("joined", "ice-servers", "error"), where
            if reply["type"] == "error":
                codes[reply["code"]] += 1
                assert reply["code"] != "internal", where
                assert isinstance(reply["message"], str), where
                assert len(reply["message"]) > 10, where
        assert len(replies) <= 1, f"{where}: {replies}"
        reply = replies[0] if replies else None
        code = reply.get("code") if reply else None
        if kind == "bad":
            assert code == "bad-request", f"{where}: {reply}"
        elif kind == "join":
            assert reply is not None, where
            assert reply["type"] == "joined" or code in (
                "room-full",
                "already-joined",
                "invalid-token",
                "bad-request",  # peerId is a member of another room
            ), f"{where}: {reply}"
        elif kind == "ghost":
            assert code in ("unknown-peer", "not-joined"), f"{where}: {reply}"
        elif kind == "ice":
            assert reply is not None, where
            assert reply["type"] == "ice-servers", f"{where}: {reply}"
        elif kind == "signal":
            if reply is None:
                relayed = [m for _, m in effects if m.get("type") == "signal"]
                assert len(relayed) == 1, f"{where}: {effects}"
                assert relayed[0]["data"] == frame.data, where
            else:
                assert code in ("not-joined", "unknown-peer", "bad-request", "too-large"), f"{where}: {reply}"
        elif kind == "leave":
            assert reply is None or code == "not-joined", f"{where}: {reply}"
        else:  # "any": a mutated frame, valid or not
            assert reply is not None or route in KINDS_ALLOWED_SILENT, where
        if number % 500 == 499:
            items = aws.items()
            assert table_problems(items) == [], where
            # Tombstones expire with their TTL (two hours); here, every 500 frames. moto copies the whole table for
            # every transaction, so a table that only grows would make each frame slower than the last.
            for item in items:
                if item["pk"].startswith("peer#") and "conn" not in item:
                    aws.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    elapsed = time.monotonic() - started
    assert table_problems(aws.items()) == [], f"PARLEY_FUZZ_SEED={seed}"
    # The run covered what it is meant to: the generator is not stuck in one corner.
    for kind in ("join", "signal", "ghost", "leave", "ice", "bad", "any"):
        assert kinds[kind] > FRAMES // 100, f"PARLEY_FUZZ_SEED={seed}: {kinds}"
    for code in ("bad-request", "unknown-peer", "not-joined"):
        assert codes[code] > 0, f"PARLEY_FUZZ_SEED={seed}: {codes}"
    print(f"fuzz: {FRAMES} frames, seed {seed}, {elapsed:.1f} s, kinds {dict(kinds)}, error codes {dict(codes)}")
