"""The newcomer's first offer is made in the lobby (frontend/js/prepared.js): with the ICE servers from config.json
(no TURN here; tests/e2e/test_turn.py has the `ice` request), the page makes its first connection and offer before
the click, and sends that offer, every candidate inside, the moment `joined` names the first peer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import (
    PREPARED_COMPLETE,
    TIMEOUT_MS,
    Frames,
    create_room,
    join_room,
    remote_videos_playing,
)

pytestmark = pytest.mark.browser


def _lobby_ready(new_page: NewPage, path: str) -> tuple[Page, Frames]:
    frames: list[Frames] = []
    page = new_page(path, name="Grace", watch=lambda p: frames.append(Frames(p)))
    page.wait_for_function(PREPARED_COMPLETE, timeout=TIMEOUT_MS)
    return page, frames[0]


def test_the_inline_early_script_runs_under_the_pages_policy(new_page: NewPage) -> None:
    """index.html's inline script (early.js) is allowed by its hash: it ran, so boot.js took its work over instead of
    starting it again, and the browser reported no policy violation."""
    violations: list[str] = []

    def watch(page: Page) -> None:
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    page = new_page("/", name="Ada", watch=watch)
    page.wait_for_function(PREPARED_COMPLETE, timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.parleyEarly !== undefined")  # only early.js sets it
    assert violations == []


def test_the_first_offer_is_prepared_in_the_lobby_and_sent_whole(new_page: NewPage) -> None:
    # Given Ada waits in a room, and Grace's lobby has prepared its offer (gathering complete) before she clicks
    ada = new_page("/", name="Ada")
    room = create_room(ada)
    grace, frames = _lobby_ready(new_page, f"/?room={room}")
    assert not [frame for frame in frames.sent if frame.get("action") == "ice"]  # config.json had them
    assert not frames.signals()

    # When she joins, they see each other
    join_room(grace)
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)

    # Then her whole side of the setup was one message: the offer, its candidates in the SDP, and the end
    ada_id = ada.evaluate("() => parley.call.signaling.peerId")
    (offer,) = frames.signals()
    assert offer["to"] == ada_id
    data = offer["data"]
    assert data["seq"] == 1
    assert data["description"]["type"] == "offer"
    assert "a=candidate:" in data["description"]["sdp"]
    assert data["candidates"] == []
    assert data["end"] is True
    # And nothing is left prepared: the connection is the call's now
    assert grace.evaluate("() => parley.prepared()") is None


def test_turning_the_camera_off_in_the_lobby_prepares_again_without_video(new_page: NewPage) -> None:
    # Given Grace's lobby prepared an offer with her camera, then she turns the camera off
    ada = new_page("/", name="Ada")
    room = create_room(ada)
    grace, frames = _lobby_ready(new_page, f"/?room={room}")
    assert grace.evaluate("() => parley.prepared().video") is True
    grace.get_by_test_id("preview-cam").click()
    grace.wait_for_function(
        "() => { const p = parley.prepared(); return p && !p.video && p.iceGatheringState === 'complete'; }",
        timeout=TIMEOUT_MS,
    )

    # When she joins
    join_room(grace)
    expect(ada.get_by_test_id("participant-list")).to_contain_text("Grace", timeout=TIMEOUT_MS)
    connected = "() => [...parley.call.peers.values()].some(e => e.state === 'connected')"
    grace.wait_for_function(connected, timeout=TIMEOUT_MS)

    # Then the offer she sent is the one prepared again (whole: gathered before the click), asking to receive video
    # but sending none, and she sees Ada's
    (offer,) = frames.signals()
    assert offer["data"]["end"] is True
    video = offer["data"]["description"]["sdp"].split("m=video", 1)[1].split("m=", 1)[0]
    assert "a=recvonly" in video
    remote_videos_playing(grace, 1)


def test_a_first_joiner_closes_what_it_prepared(new_page: NewPage) -> None:
    # Given Ada's lobby has prepared an offer
    ada, _ = _lobby_ready(new_page, "/")

    # When she creates a room, there is nobody to offer to: it is closed, and nothing is left prepared
    create_room(ada)
    assert ada.evaluate("() => parley.prepared()") is None
