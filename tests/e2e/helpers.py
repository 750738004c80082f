"""What a person does in the page, as small steps the tests compose."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import NewPage

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
"""The phone viewport the tests use (a common 390x844 phone)."""

# axe-core (package.json devDependency) is injected by the tests only, through the DevTools protocol (Playwright's
# evaluate), which the page's Content-Security-Policy does not govern: the production CSP stays as strict as it is.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_FAILS_ON = ("serious", "critical")
# Also fail on these whatever their impact: moderate, or off by default in axe 4 (experimental), but each was a real
# finding of issue 12.
AXE_ALSO_FAILS = ("page-has-heading-one", "label-content-name-mismatch")


@cache
def _axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm install` (make installs it with the other devDependencies)")
    return AXE.read_text(encoding="utf-8")


def check_accessibility(page: Page, screen: str) -> None:
    """Runs axe-core (WCAG 2.x A/AA and best practices) on what the page shows now and fails on any serious or
    critical violation, naming the rule and the elements. Call it at each screen a test visits."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    violations = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                rules: {'label-content-name-mismatch': {enabled: true}},
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }"""
    )
    failing = [v for v in violations if v["impact"] in AXE_FAILS_ON or v["id"] in AXE_ALSO_FAILS]
    assert not failing, f"axe-core on the {screen} screen ({page.viewport_size}): " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {v['targets']}" for v in failing
    )


def create_room(page: Page, capacity: int = 2) -> str:
    """Creates a room from the lobby and returns its id once the page waits for others."""
    page.get_by_test_id("capacity-select").select_option(str(capacity))
    page.get_by_test_id("create-button").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "waiting", timeout=TIMEOUT_MS)
    check_accessibility(page, "waiting")
    return parse_qs(urlparse(page.url).query)["room"][0]


def join_room(page: Page) -> None:
    """Joins the room the page was opened with (/?room=...)."""
    page.get_by_test_id("join-button").click()


def remote_videos_playing(page: Page, count: int, timeout_ms: int = TIMEOUT_MS) -> None:
    """Waits until `count` remote tiles show decoded video (videoWidth > 0)."""
    page.wait_for_function(
        """n => {
            const videos = [...document.querySelectorAll('[data-testid=remote-video]')];
            return videos.length === n && videos.every(v => v.videoWidth > 0 && v.dataset.peerId);
        }""",
        arg=count,
        timeout=timeout_ms,
    )


def quality_shown(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Waits until every remote tile shows a measured incoming bitrate above zero (what a screenshot should show)."""
    page.wait_for_function(
        """() => {
            const tiles = [...document.querySelectorAll('[data-testid=tile-stats]')];
            return tiles.length > 0 && tiles.every(t => Number(t.dataset.inKbps) > 0);
        }""",
        timeout=timeout_ms,
    )


def send_chat(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()


def open_chat(page: Page) -> None:
    """On narrow screens the chat is a drawer behind the Chat button."""
    toggle = page.get_by_test_id("chat-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def video_progress(page: Page, peer_id: str | None = None) -> float:
    """Frames decoded so far by the (first, or given) remote video element."""
    selector = "[data-testid=remote-video]" + (f"[data-peer-id='{peer_id}']" if peer_id else "")
    return float(
        page.evaluate(
            """sel => {
                const v = document.querySelector(sel);
                const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
                return q || v.currentTime;
            }""",
            selector,
        )
    )


def video_advances(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Waits until the remote video has decoded more frames than it had when called."""
    before = video_progress(page)
    page.wait_for_function(
        """before => {
            const v = document.querySelector('[data-testid=remote-video]');
            const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
            return (q || v.currentTime) > before + 5;
        }""",
        arg=before,
        timeout=timeout_ms,
    )


def two_person_call(new_page: NewPage, timeout_ms: int = TIMEOUT_MS) -> tuple[Page, Page]:
    """Ada creates a room, Grace opens its link, and both see each other's video (within `timeout_ms` each)."""
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    remote_videos_playing(ada, 1, timeout_ms)
    remote_videos_playing(grace, 1, timeout_ms)
    check_accessibility(grace, "in-call")
    return ada, grace


# The lobby has prepared its first offer (frontend/js/prepared.js) and gathered all its candidates.
PREPARED_COMPLETE = "() => { const p = window.parley?.prepared(); return p && p.iceGatheringState === 'complete'; }"


class Frames:
    """Every frame the page sends and receives on its signaling sockets, parsed, in order, read off the wire by
    Playwright (attach it with new_page(watch=...) to see them from the first)."""

    def __init__(self, page: Page) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        socket.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def signals(self) -> list[dict[str, Any]]:
        return [frame for frame in self.sent if frame.get("action") == "signal"]


class Overtake:
    """A page's signaling sockets through Playwright's WebSocket routing (new_page(watch=lambda p:
    p.route_web_socket(re.compile("^ws"), overtake))), holding back the server's messages that `hold(message, order)`
    picks until one of type `release_after` has reached the page, then delivering them right behind it: the rare order
    of two racing messages, made certain. Each socket holds its own. `order` lists the types the page heard
    ("<type> (held)" for a held one); `sent`, every frame the page sent, parsed; `holding`, how many are held now."""

    def __init__(self, hold: Callable[[dict[str, Any], list[str]], bool], release_after: str) -> None:
        self.hold = hold
        self.release_after = release_after
        self.order: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.holding = 0

    def __call__(self, route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        held: list[str | bytes] = []

        def from_server(message: str | bytes) -> None:
            parsed = json.loads(message)
            if self.hold(parsed, self.order):
                held.append(message)
                self.holding += 1
                return
            route.send(message)
            self.order.append(parsed.get("type"))
            if parsed.get("type") == self.release_after:
                while held:
                    released = held.pop(0)
                    self.holding -= 1
                    route.send(released)
                    self.order.append(f"{json.loads(released).get('type')} (held)")

        def from_page(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        server.on_message(from_server)
        route.on_message(from_page)
