"""The whole user path of call setup, Parley against the textbook flow, in the same headless Chromium.

One person is already in a room; the second opens the invite link. Measured by the pages' own clocks (epoch
milliseconds: performance.timeOrigin + performance.now(), the first decoded remote frame by requestVideoFrameCallback,
bench/instrument.js), from the second person's navigation, and from their join click (made as soon as the page's
script has set up the lobby, i.e. as soon as a click does anything), to the moment both people have decoded a remote
video frame.

The baseline (bench/baseline/, served and relayed by bench/baselinerelay.py) is the WebRTC codelab's flow: page load
-> getUserMedia -> WebSocket -> the first person offers on "ready" -> every candidate sent the moment it exists. It
has no lobby and so no click: Parley's click -> frames is compared with the baseline's navigation -> frames.

Rounds alternate (baseline, Parley, Parley, baseline, ...) so that a noisy machine weighs on both alike. Parley also
runs under the local stack's AWS-like latency profile (devstack/latency.py), where the number of sequential trips
through the signaling service on the critical path is what counts; it is counted from the pages' socket traces.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from bench.baselinerelay import BaselineRelay
from bench.chromium import CHROMIUM, CHROMIUM_FLAGS
from bench.stats import summary

INSTRUMENT = (Path(__file__).with_name("instrument.js")).read_text()
TIMEOUT_MS = 20_000
JOIN_ENABLED = """() => {
    const button = document.querySelector("[data-testid=join-button]");
    return window.parley !== undefined && Boolean(button) && !button.disabled;
}"""
LOBBY_SECONDS = 1.0
"""The lingered rounds: a quick person's look at the preview before clicking."""
JOIN_WHEN_READY = """() => {
    const button = document.querySelector("[data-testid=join-button]");
    if (window.parley === undefined || !button || button.disabled) return false;
    button.click();
    return true;
}"""


def _context_page(browser: Browser) -> Page:
    context = browser.new_context(permissions=["camera", "microphone"])
    context.add_init_script(INSTRUMENT)
    return context.new_page()


def _mark(page: Page, name: str) -> float:
    page.wait_for_function(f"() => window.__bench && window.__bench.{name} !== null", timeout=TIMEOUT_MS)
    return float(page.evaluate(f"window.__bench.{name}"))


def _close(*pages: Page) -> None:
    for page in pages:
        page.context.close()


def baseline_round(browser: Browser, relay: BaselineRelay) -> dict[str, float]:
    url = f"{relay.url}/?room={secrets.token_urlsafe(9)}"
    first = _context_page(browser)
    first.goto(url)
    first.wait_for_function("() => window.__bench.trace.some(e => e.type === 'join')", timeout=TIMEOUT_MS)
    second = _context_page(browser)
    second.goto(url, wait_until="commit")
    frames = max(_mark(first, "firstFrame"), _mark(second, "firstFrame"))
    navigation = _mark(second, "navigation")
    _close(first, second)
    return {"navigation_s": (frames - navigation) / 1000}


def parley_round(browser: Browser, stack: Any, lobby_s: float = 0.0) -> dict[str, float]:
    """One call; the second person clicks as soon as the button is enabled, or `lobby_s` seconds after that (the
    time a person looks at the preview: what the page does meanwhile is then off their path)."""
    stack.wait_idle(timeout=10)  # the previous round's sockets closed and their $disconnects done
    url = f"{stack.http_url}/?room={secrets.token_urlsafe(12)}"
    first = _context_page(browser)
    first.goto(url)
    first.get_by_test_id("join-button").click()
    _mark(first, "joined")
    second = _context_page(browser)
    second.goto(url, wait_until="commit")
    if lobby_s:
        second.wait_for_function(JOIN_ENABLED, timeout=TIMEOUT_MS, polling="raf")
        time.sleep(lobby_s)
    # Clicked from inside the page, in the first animation frame in which a click does something (app.js has built
    # the lobby and bound the join form): a harness-side click would add its own actionability checks' time.
    second.wait_for_function(JOIN_WHEN_READY, timeout=TIMEOUT_MS, polling="raf")
    frames = max(_mark(first, "firstFrame"), _mark(second, "firstFrame"))
    navigation, click = _mark(second, "navigation"), _mark(second, "click")
    hops = critical_hops(first.evaluate("window.__bench.trace"), second.evaluate("window.__bench.trace"), since=click)
    _close(first, second)
    return {"navigation_s": (frames - navigation) / 1000, "click_s": (frames - click) / 1000, "hops": float(hops)}


def _carries_candidates(data: dict[str, Any]) -> bool:
    sdp = (data.get("description") or {}).get("sdp") or ""
    return bool(data.get("candidates")) or "a=candidate:" in sdp


def critical_hops(first: list[dict[str, Any]], second: list[dict[str, Any]], *, since: float) -> int:
    """Sequential trips through the signaling service before both sides can start ICE checks.

    Each trip's depth: `joined` (and the other side's `peer-joined`) is 1; a `signal` is one more than the deepest
    message its sender had received when it sent it (so the offer a `join` carried is 1, like `joined`). A side can
    start its checks once it has the remote description and the first remote candidates; the critical path is the
    deepest of those four messages."""
    traces = {"first": [e for e in first if e["at"] >= since], "second": [e for e in second if e["at"] >= since]}
    depth_of: dict[tuple[str, int], int] = {}

    def depth_at(side: str, at: float) -> int:
        return max((d for (s, i), d in depth_of.items() if s == side and traces[side][i]["at"] <= at), default=0)

    sent: dict[str, tuple[str, float]] = {}
    for side, trace in traces.items():
        for event in trace:
            if event["dir"] == "out" and event["type"] in ("signal", "join") and event["data"] is not None:
                sent[event["data"]] = (side, event["at"])
    # In order of arrival, so a sender's depth is known before its messages are reached.
    arrivals = sorted(
        (event["at"], side, i)
        for side, trace in traces.items()
        for i, event in enumerate(trace)
        if event["dir"] == "in"
    )
    needed = []
    for _, side, i in arrivals:
        event = traces[side][i]
        if event["type"] in ("joined", "peer-joined"):
            depth_of[(side, i)] = 1
        elif event["type"] == "signal" and event["data"] in sent:
            sender, at = sent[event["data"]]
            depth_of[(side, i)] = depth_at(sender, at) + 1
            needed.append((side, i, json.loads(event["data"])))
    critical = 0
    for side in traces:
        mine = [(i, data) for s, i, data in needed if s == side]
        description = next((i for i, data in mine if (data.get("description") or {}).get("type")), None)
        candidates = next((i for i, data in mine if _carries_candidates(data)), None)
        if description is None or candidates is None:
            raise RuntimeError(f"the {side} side never got a remote description and candidates: {mine}")
        critical = max(critical, depth_of[(side, description)], depth_of[(side, candidates)])
    return critical


def run(rounds: int, aws_rounds: int, lobby_rounds: int = 0) -> dict[str, Any]:
    from devstack import latency
    from devstack.server import LocalStack

    env = {"ICE_SERVERS": "[]", "DISCONNECT_GRACE_SECONDS": "0"}
    baseline: list[dict[str, float]] = []
    parley: list[dict[str, float]] = []
    aws: list[dict[str, float]] = []
    lingered: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            with BaselineRelay() as relay, LocalStack(port=0, env=env) as stack:
                baseline_round(browser, relay)  # warm-up of both: first page loads, codec init
                parley_round(browser, stack)
                for i in range(rounds):
                    order = (0, 1) if i % 2 == 0 else (1, 0)
                    for which in order:
                        if which == 0:
                            baseline.append(baseline_round(browser, relay))
                        else:
                            parley.append(parley_round(browser, stack))
                lingered = [parley_round(browser, stack, LOBBY_SECONDS) for _ in range(lobby_rounds)]
            if aws_rounds:
                with latency.profile("aws"), LocalStack(port=0, env=env) as stack:
                    parley_round(browser, stack)
                    aws = [parley_round(browser, stack) for _ in range(aws_rounds)]
        finally:
            browser.close()

    def series(rows: list[dict[str, float]], key: str) -> list[float]:
        return [row[key] for row in rows]

    base_nav = summary(series(baseline, "navigation_s"))
    parley_nav = summary(series(parley, "navigation_s"))
    parley_click = summary(series(parley, "click_s"))
    result: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": rounds,
        "baseline": {"navigation_s": base_nav},
        "parley": {
            "navigation_s": parley_nav,
            "click_s": parley_click,
            "hops": summary(series(parley, "hops"), digits=0),
        },
        "ratio": {
            "navigation": round(float(parley_nav["median"]) / float(base_nav["median"]), 2),
            "click_vs_baseline_navigation": round(float(parley_click["median"]) / float(base_nav["median"]), 2),
        },
    }
    if lingered:
        result["parley_after_lobby"] = {
            "lobby_s": LOBBY_SECONDS,
            "click_s": summary(series(lingered, "click_s")),
            "hops": summary(series(lingered, "hops"), digits=0),
        }
    if aws:
        result["parley_aws"] = {
            "profile": latency.PROFILES["aws"].describe(),
            "navigation_s": summary(series(aws, "navigation_s")),
            "click_s": summary(series(aws, "click_s")),
            "hops": summary(series(aws, "hops"), digits=0),
        }
    return result
