"""Call setup in real browsers: two headless Chromium pages (fake camera and microphone) join one room through the
local stack. From the second peer's `joined`, the time to ICE connected and to the first decoded remote video frame
on both sides, and the signaling messages of the whole setup by type and direction, as the gateway saw them.

Run inside a loopback-only network namespace (make bench does), with iceServers [] (the local stack is started so).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from bench.chromium import CHROMIUM, CHROMIUM_FLAGS
from bench.stats import summary

INSTRUMENT = (Path(__file__).with_name("instrument.js")).read_text()
SETTLE_SECONDS = 1.5  # trickled candidates may still be on their way after the first frame


def _open(browser: Browser, url: str) -> Page:
    context = browser.new_context(permissions=["camera", "microphone"])
    context.add_init_script(INSTRUMENT)
    page = context.new_page()
    page.goto(url)
    return page


def _join(page: Page) -> None:
    page.get_by_test_id("join-button").click()


def _mark(page: Page, name: str, timeout: float = 20) -> float:
    # A function, not a string: the page's CSP forbids eval, which a string expression would need.
    page.wait_for_function(f"() => window.__bench && window.__bench.{name} !== null", timeout=timeout * 1000)
    return float(page.evaluate(f"window.__bench.{name}"))


def one_call(browser: Browser, stack: Any) -> dict[str, Any]:
    room = secrets.token_urlsafe(12)
    url = f"{stack.http_url}/?room={room}"
    stack.wait_idle(timeout=10)  # the previous call's sockets closed (a lobby's socket is open from page load on)
    first, second = _open(browser, url), _open(browser, url)
    stack.traffic.reset()
    _join(first)
    _mark(first, "joined")
    _join(second)
    joined = _mark(second, "joined")
    timings = {}
    for side, page in (("first", first), ("second", second)):
        timings[side] = {
            "connected_s": (_mark(page, "connected") - joined) / 1000,
            "first_frame_s": (_mark(page, "firstFrame") - joined) / 1000,
        }
    time.sleep(SETTLE_SECONDS)
    traffic = stack.traffic.snapshot()
    for page in (first, second):
        page.context.close()
    return {"timings": timings, "traffic": traffic}


def run(runs: int) -> dict[str, Any]:
    from devstack.server import LocalStack

    calls = []
    # No resume grace: the benchmark measures call setup, and its teardown need not wait for one.
    env = {"ICE_SERVERS": "[]", "DISCONNECT_GRACE_SECONDS": "0"}
    with LocalStack(port=0, env=env) as stack, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            one_call(browser, stack)  # warm-up: first imports, first page load, codec init
            calls = [one_call(browser, stack) for _ in range(runs)]
        finally:
            browser.close()

    def series(side: str, key: str) -> list[float]:
        return [call["timings"][side][key] for call in calls]

    def worst(key: str) -> list[float]:
        return [max(call["timings"]["first"][key], call["timings"]["second"][key]) for call in calls]

    def count(direction: str, kind: str | None = None) -> list[float]:
        return [float(sum(v for k, v in c["traffic"][direction].items() if kind is None or k == kind)) for c in calls]

    return {
        "runs": runs,
        "connected_s": summary(worst("connected_s")),
        "first_frame_s": summary(worst("first_frame_s")),
        "sides": {
            side: {key: summary(series(side, key)) for key in ("connected_s", "first_frame_s")}
            for side in ("first", "second")
        },
        "messages": {
            "signal_in": summary(count("in", "signal")),
            "in_total": summary(count("in")),
            "out_total": summary(count("out")),
            "by_type": calls[len(calls) // 2]["traffic"],
        },
    }
