"""A relayed call in real browsers: two headless Chromium pages with `?ice=relay` talk only through a real coturn
on loopback (bench/coturn.py), credentials handed out by the local stack as a deploy does. Once both see video, the
bytes on each side's selected (relay) candidate pair are read from getStats twice, `seconds` apart: what one
participant sends through the relay per second, media and data channels and TURN framing included.

That rate times a call's length is what a TURN server forwards for one relayed participant, which is what its
data transfer is billed on (bench/cost.py). The fake camera is Chromium's built-in test pattern (640x480, 30 fps)
and loopback has bandwidth to spare, so the rate is what the browser's encoder chooses for that source unconstrained.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from bench import coturn
from bench.chromium import CHROMIUM, CHROMIUM_FLAGS
from bench.stats import summary

PAIR_BYTES = """async () => {
    const entry = [...parley.call.peers.values()][0];
    if (!entry) return null;
    const report = await entry.peer.pc.getStats();
    const transport = [...report.values()].find(s => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport && report.get(transport.selectedCandidatePairId);
    if (!pair || pair.state !== 'succeeded') return null;
    const local = report.get(pair.localCandidateId), remote = report.get(pair.remoteCandidateId);
    return {sent: pair.bytesSent, received: pair.bytesReceived, at: performance.now(),
            local: local.candidateType, remote: remote.candidateType};
}"""


def _open(browser: Browser, url: str) -> Page:
    page = browser.new_context(permissions=["camera", "microphone"]).new_page()
    page.goto(url)
    return page


def _pair(page: Page) -> dict[str, Any]:
    page.wait_for_function(f"({PAIR_BYTES})().then(p => p !== null)", timeout=20_000)
    pair: dict[str, Any] = page.evaluate(PAIR_BYTES)
    if (pair["local"], pair["remote"]) != ("relay", "relay"):
        raise RuntimeError(f"the call is not relayed: {pair}")
    return pair


def one_call(browser: Browser, stack: Any, seconds: float) -> list[float]:
    """Bytes per second each participant sent through the relay, after `seconds` of a call in progress."""
    room = secrets.token_urlsafe(12)
    pages = [_open(browser, f"{stack.http_url}/?room={room}&ice=relay") for _ in range(2)]
    for page in pages:
        page.get_by_test_id("join-button").click()
    for page in pages:
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=remote-video]')].some(v => v.videoWidth > 0)",
            timeout=20_000,
        )
    # The encoder ramps its bitrate up over the first seconds of a call: measure the steady state after it.
    time.sleep(seconds / 2)
    before = [_pair(page) for page in pages]
    time.sleep(seconds)
    after = [_pair(page) for page in pages]
    for page in pages:
        page.context.close()
    return [(b["sent"] - a["sent"]) / ((b["at"] - a["at"]) / 1000) for a, b in zip(before, after, strict=True)]


def run(runs: int, seconds: float) -> dict[str, Any]:
    from devstack.server import LocalStack

    with tempfile.TemporaryDirectory(prefix="parley-coturn-") as workdir:
        server = coturn.start(Path(workdir))
        env = {
            "ICE_SERVERS": "[]",
            "DISCONNECT_GRACE_SECONDS": "0",
            "TURN_URLS": ",".join(server.urls),
            "TURN_SECRET": server.secret,
        }
        try:
            with LocalStack(port=0, env=env) as stack, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                try:
                    rates = [rate for _ in range(runs) for rate in one_call(browser, stack, seconds)]
                finally:
                    browser.close()
        finally:
            server.stop()
    return {
        "runs": runs,
        "seconds": seconds,
        "source": "Chromium fake camera (640x480 test pattern) and microphone, unconstrained loopback",
        "sent_bytes_per_s": summary(rates),
    }
