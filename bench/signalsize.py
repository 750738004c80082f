"""The largest messages the browser client sends, measured in real Chromium: an 8-person room (28 connections,
each with audio, video and the data channels), then one participant turns the camera off and shares the screen
(both renegotiate with all 7 others). Every frame sent on the signaling sockets is recorded by bench/frames.js.

The figures go into results.json and docs/protocol.md ("Limits"), beside the limits they must stay under.
Run inside a loopback-only network namespace, with iceServers [] (only host candidates exist there).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from signaling.definition import MAX_FRAME_BYTES, MAX_SIGNAL_BYTES

FRAMES = Path(__file__).with_name("frames.js").read_text()
TIMEOUT_MS = 180_000  # eight browsers on two cores take minutes, not seconds
READY = "domcontentloaded"
"""What a page load waits for here: its scripts have run. Not "load": a `<video>` delays the load event until it has
a frame, and with six pages in a call on two cores headless Chromium stops giving the seventh page's camera preview
any (its track is live; the element stays at HAVE_NOTHING), so "load" never comes."""

OpenPage = Callable[[str], Page]
"""Opens a page of the local stack at a path (e.g. "/?room=x") with a fake camera and microphone."""


def _instrumented(open_page: OpenPage, path: str) -> Page:
    page = open_page(path)
    page.add_init_script(FRAMES)
    page.reload(wait_until=READY)
    return page


def _all_negotiated(page: Page, peers: int) -> None:
    """Every connection of the page has exchanged descriptions and finished gathering (its last candidate batch,
    the one with `end`, is sent), and is connected."""
    page.wait_for_function(
        """n => {
            const peers = [...(window.parley?.call?.peers?.values() ?? [])];
            return peers.length === n && peers.every(e => e.peer.started && e.peer.pc.signalingState === 'stable'
                && e.peer.pc.iceGatheringState === 'complete' && e.peer.pc.connectionState === 'connected');
        }""",
        arg=peers,
        timeout=TIMEOUT_MS,
    )


def _joined(page: Page) -> None:
    page.wait_for_function("() => window.parley?.call?.signaling?.state === 'joined'", timeout=TIMEOUT_MS)


def room(open_page: OpenPage, people: int = 8) -> list[Page]:
    """`people` pages in one room, joined one after the other, every connection up."""
    first = _instrumented(open_page, "/")
    first.get_by_test_id("capacity-select").select_option(str(people))
    first.get_by_test_id("create-button").click()
    _joined(first)
    name = first.evaluate("() => parley.call.room")
    pages = [first]
    for _ in range(people - 1):
        page = _instrumented(open_page, f"/?room={name}")
        page.get_by_test_id("join-button").click()
        _joined(page)
        pages.append(page)
    for page in pages:
        _all_negotiated(page, people - 1)
    return pages


def renegotiate_with_screen(pages: list[Page]) -> None:
    """The first participant turns the camera off, then shares the screen: two renegotiations with everyone (the
    screen goes out on the video sender, so the second offer is the one that carries it)."""
    sharer = pages[0]
    for page in pages:
        page.evaluate("() => { window.__phase = 'screen share'; }")
    sharer.get_by_test_id("camera-button").click()
    sharer.wait_for_function(
        "() => [...parley.call.peers.values()].every(e => e.peer.transceivers.video?.currentDirection === 'recvonly')",
        timeout=TIMEOUT_MS,
    )
    sharer.get_by_test_id("screen-button").click()
    sharer.wait_for_function(
        "() => [...parley.call.peers.values()].every(e => e.peer.transceivers.video?.currentDirection === 'sendrecv')",
        timeout=TIMEOUT_MS,
    )
    for page in pages:
        _all_negotiated(page, len(pages) - 1)


def frames(pages: list[Page]) -> list[dict[str, Any]]:
    return [frame for page in pages for frame in page.evaluate("window.__frames")]


def summarize(recorded: list[dict[str, Any]], people: int) -> dict[str, Any]:
    signals = [f for f in recorded if f["kind"] is not None]  # signals, and the offers joins carried

    def largest(kind: str, phase: str | None = None, key: str = "bytes") -> int:
        return max(
            (f[key] for f in signals if f["kind"] == kind and phase in (None, f["phase"])),
            default=0,
        )

    biggest = max(recorded, key=lambda f: f["bytes"])
    biggest_data = max((f["dataBytes"] for f in signals), default=0)
    return {
        "people": people,
        "frames": len(recorded),
        "by_kind": {kind: sum(1 for f in signals if f["kind"] == kind) for kind in ("offer", "answer", "candidates")},
        "largest_frame": {"bytes": biggest["bytes"], "action": biggest["action"], "kind": biggest["kind"]},
        "largest_data_bytes": biggest_data,
        "offer_bytes": {"setup": largest("offer", "setup"), "screen share": largest("offer", "screen share")},
        "answer_bytes": {"setup": largest("answer", "setup"), "screen share": largest("answer", "screen share")},
        "candidate_batch": {"bytes": largest("candidates"), "candidates": largest("candidates", key="candidates")},
        "limits": {"max_frame_bytes": MAX_FRAME_BYTES, "max_signal_bytes": MAX_SIGNAL_BYTES},
        "headroom": round(MAX_SIGNAL_BYTES / biggest_data, 1) if biggest_data else None,
    }


def measure(open_page: OpenPage, people: int = 8) -> dict[str, Any]:
    pages = room(open_page, people)
    renegotiate_with_screen(pages)
    return summarize(frames(pages), people)


def run() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from bench.chromium import CHROMIUM, CHROMIUM_FLAGS
    from bench.localstack import local_stack_process

    # The stack in a process of its own: eight pages keep Playwright's driver (in this process) busy enough to starve
    # an in-process stack of the GIL, and its Management API would time out under the handlers.
    with local_stack_process() as stack, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:

            def open_page(path: str) -> Page:
                context = browser.new_context(
                    permissions=["camera", "microphone"], viewport={"width": 640, "height": 480}
                )
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(stack.http_url + path, wait_until=READY)
                return page

            return measure(open_page)
        finally:
            browser.close()


def render(results: dict[str, Any]) -> str:
    """docs/protocol.md's table, from results.json."""
    sizes = results["signal_sizes"]
    limits = sizes["limits"]
    batch = sizes["candidate_batch"]

    def size(value: int) -> str:
        return f"{value:,} ({value / 1024:.1f} KiB)"

    return "\n".join(
        [
            "<!-- Written by `make bench` (bench/signalsize.py) from bench/results.json; edit the code, not this. -->",
            "",
            f"Measured in real Chromium ({results['machine']['description']}, {results['generated'][:10]}): a room of "
            f"{sizes['people']} (28 connections with audio, video and the data channels), then one participant "
            "turns the camera off and shares the screen, renegotiating with all 7 others; "
            f"{sizes['frames']:,} frames in all.",
            "",
            "| the largest `signal` frame sent, of | bytes |",
            "|---|---:|",
            f"| offers (audio, video, data) | {size(sizes['offer_bytes']['setup'])} |",
            f"| answers | {size(sizes['answer_bytes']['setup'])} |",
            f"| offers with the screen share | {size(sizes['offer_bytes']['screen share'])} |",
            f"| answers with the screen share | {size(sizes['answer_bytes']['screen share'])} |",
            f"| candidate batches ({batch['candidates']} candidates at most: loopback) | {size(batch['bytes'])} |",
            f"| all frames | {size(sizes['largest_frame']['bytes'])} |",
            "",
            f"The largest `signal.data` was {size(sizes['largest_data_bytes'])}: 1/{sizes['headroom']:g} of "
            f"`maxSignalBytes` ({size(limits['max_signal_bytes'])}), a margin of "
            f"{limits['max_signal_bytes'] - sizes['largest_data_bytes']:,} bytes; every frame is far under the "
            f"{size(limits['max_frame_bytes'])} frame limit. Session descriptions do not grow with the room (each "
            "connection is 1:1); renegotiating for the screen share made the offer "
            f"{sizes['offer_bytes']['screen share'] - sizes['offer_bytes']['setup']:,} bytes longer. Candidate "
            "batches grow with network interfaces, STUN and TURN: at about 100 to 250 bytes a candidate, a batch "
            "reaches the limit only past a hundred candidates, and the client splits a larger one (2.1).",
            "",
        ]
    )
