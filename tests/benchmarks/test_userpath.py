"""The critical-path trip count of bench/userpath.py, from hand-made socket traces (no browser, no time assertion)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.userpath import critical_hops

OFFER = {"sid": "a", "seq": 1, "description": {"type": "offer", "sdp": "v=0"}}
ANSWER = {"sid": "b", "seq": 1, "description": {"type": "answer", "sdp": "v=0"}}
HOST = "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host"
NEWCOMER_CANDIDATES = {"sid": "a", "seq": 2, "candidates": [{"candidate": HOST}]}
MEMBER_CANDIDATES = {"sid": "b", "seq": 2, "candidates": [{"candidate": HOST.replace("5000", "6000")}]}


def out(at: float, data: dict[str, Any] | None = None, kind: str = "signal") -> dict[str, Any]:
    return {"dir": "out", "at": at, "type": kind, "data": None if data is None else json.dumps(data)}


def into(at: float, data: dict[str, Any] | None = None, kind: str = "signal") -> dict[str, Any]:
    return {"dir": "in", "at": at, "type": kind, "data": None if data is None else json.dumps(data)}


def traces(newcomer_candidates_sent: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The member (first) and the newcomer (second) after the newcomer's click at 0."""
    member = [
        into(-500, kind="joined"),  # the member's own join, before the click: not part of this setup
        into(20, kind="peer-joined"),
        into(60, OFFER),
        out(80, ANSWER),
        out(85, MEMBER_CANDIDATES),
        into(newcomer_candidates_sent + 10, NEWCOMER_CANDIDATES),
    ]
    newcomer = [
        out(1, kind="join"),
        into(30, kind="joined"),
        out(50, OFFER),
        out(newcomer_candidates_sent, NEWCOMER_CANDIDATES),
        into(95, ANSWER),
        into(100, MEMBER_CANDIDATES),
    ]
    return member, newcomer


def test_candidates_right_behind_the_offer_make_three_trips() -> None:
    member, newcomer = traces(newcomer_candidates_sent=52)

    assert critical_hops(member, newcomer, since=0) == 3  # join, offer, answer


def test_candidates_held_until_after_the_answer_make_a_fourth_trip() -> None:
    member, newcomer = traces(newcomer_candidates_sent=120)  # the answer came in at 95

    assert critical_hops(member, newcomer, since=0) == 4


def test_a_side_that_never_got_what_ice_needs_is_an_error() -> None:
    member, newcomer = traces(newcomer_candidates_sent=52)
    member = [event for event in member if "candidates" not in (event["data"] or "")]

    with pytest.raises(RuntimeError, match="first side"):
        critical_hops(member, newcomer, since=0)
