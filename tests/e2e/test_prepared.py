"""The newcomer's first offer is made in the lobby (frontend/js/prepared.js): with the ICE servers from config.json
(no TURN here; tests/e2e/test_turn.py has the `ice` request), the page makes its first connection and offer before
the click; `join` carries that offer, every candidate inside, to the room's first member (`joined.offeredTo`)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import (
    PREPARED_COMPLETE,
    TIMEOUT_MS,
    Frames,
    Overtake,
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


def test_the_first_offer_is_prepared_in_the_lobby_and_rides_on_the_join(new_page: NewPage) -> None:
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

    # Then her whole side of the setup was her `join`: it carried the offer, its candidates in the SDP, and the end
    ada_id = ada.evaluate("() => parley.call.signaling.peerId")
    (join,) = [frame for frame in frames.sent if frame.get("action") == "join"]
    data = join["offer"]
    assert data["seq"] == 1
    assert data["description"]["type"] == "offer"
    assert "a=candidate:" in data["description"]["sdp"]
    assert data["candidates"] == []
    assert data["end"] is True
    assert not frames.signals()
    (joined,) = [frame for frame in frames.received if frame.get("type") == "joined"]
    assert joined["offeredTo"] == ada_id
    # And nothing is left prepared: the connection is the call's now
    assert grace.evaluate("() => parley.prepared()") is None


def test_an_answer_that_overtakes_joined_is_kept_for_it(new_page: NewPage) -> None:
    """The answer to the offer `join` carried comes from another invocation than `joined` (the route's reply), so it
    can arrive first; the page keeps it until `joined` says whose it is."""
    # Given Ada waits in a room, and Grace's socket hears `joined` only after the first `signal` (held back here)
    ada = new_page("/", name="Ada")
    room = create_room(ada)
    # (held until the first signal has been delivered)
    overtake = Overtake(lambda message, heard: message.get("type") == "joined" and not heard, release_after="signal")
    grace = new_page(f"/?room={room}", name="Grace", watch=lambda p: p.route_web_socket(re.compile("^ws"), overtake))
    grace.wait_for_function(PREPARED_COMPLETE, timeout=TIMEOUT_MS)

    # When she joins, her offer riding on the join
    join_room(grace)

    # Then the answer came before `joined`, was applied after it, and they see each other: she never offered again
    remote_videos_playing(grace, 1)
    remote_videos_playing(ada, 1)
    assert overtake.order[:2] == ["signal", "joined (held)"]
    (join,) = [frame for frame in overtake.sent if frame.get("action") == "join"]
    assert join["offer"]["description"]["type"] == "offer"
    assert not [frame for frame in overtake.sent if frame.get("action") == "signal"]


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

    # Then the offer her `join` carried is the one prepared again (whole: gathered before the click), asking to
    # receive video but sending none, and she sees Ada's
    (join,) = [frame for frame in frames.sent if frame.get("action") == "join"]
    assert not frames.signals()
    assert join["offer"]["end"] is True
    video = join["offer"]["description"]["sdp"].split("m=video", 1)[1].split("m=", 1)[0]
    assert "a=recvonly" in video
    remote_videos_playing(grace, 1)


def test_a_first_joiner_closes_what_it_prepared(new_page: NewPage) -> None:
    # Given Ada's lobby has prepared an offer
    ada, _ = _lobby_ready(new_page, "/")

    # When she creates a room, there is nobody to offer to: it is closed, and nothing is left prepared
    create_room(ada)
    assert ada.evaluate("() => parley.prepared()") is None
