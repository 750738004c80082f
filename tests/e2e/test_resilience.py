"""The call outlives its signaling socket: the server drops every socket mid-call, media keeps flowing, the client
resumes its identity, and chat and renegotiation (camera off/on, screen share) still work afterwards."""

from __future__ import annotations

import re
import time
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import (
    TIMEOUT_MS,
    Overtake,
    create_room,
    join_room,
    open_chat,
    remote_videos_playing,
    send_chat,
    two_person_call,
    video_advances,
)

pytestmark = pytest.mark.browser


def _drop_every_socket(stack: Any) -> int:
    """DELETE /@connections/{id} on the local Management API, as an operator (or API Gateway's 2-hour limit) would."""
    ids = stack.connection_ids()
    for connection_id in ids:
        url = f"{stack.management_url}/@connections/{connection_id}"  # http://127.0.0.1:<port>/local/...
        request = urllib.request.Request(url, method="DELETE")  # noqa: S310 - our own local stack
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 204
    return len(ids)


def _identity(page: Page) -> dict[str, Any]:
    return page.evaluate(
        "() => ({peerId: parley.call.signaling.peerId, state: parley.call.signaling.state,"
        " reconnects: parley.call.signaling.stats.reconnects})"
    )


_VIDEO_DIRECTION = """() => {
    const entry = [...parley.call.peers.values()][0];
    const t = entry.peer.pc.getTransceivers().find(t => t.receiver.track.kind === 'video');
    return t ? t.currentDirection : null;
}"""


def _remote_video_direction(page: Page) -> str | None:
    """currentDirection of our video transceiver toward the (only) remote peer: changes only through negotiation."""
    return page.evaluate(_VIDEO_DIRECTION)


def _wait_for_remote_video_direction(page: Page, direction: str) -> None:
    page.wait_for_function(f"() => ({_VIDEO_DIRECTION})() === {direction!r}", timeout=TIMEOUT_MS)


def test_dropped_signaling_keeps_media_and_recovers(new_page: NewPage, local_stack: Any) -> None:
    ada, grace = two_person_call(new_page)
    before = {"ada": _identity(ada), "grace": _identity(grace)}

    # When the server closes both signaling sockets
    assert _drop_every_socket(local_stack) == 2

    # Then both clients reconnect and resume the same identity
    for name, page in (("ada", ada), ("grace", grace)):
        page.wait_for_function(
            "r => parley.call.signaling.state === 'joined' && parley.call.signaling.stats.reconnects > r",
            arg=before[name]["reconnects"],
            timeout=TIMEOUT_MS,
        )
        assert _identity(page)["peerId"] == before[name]["peerId"]
    expect(ada.get_by_test_id("error-banner")).to_be_hidden()

    # And the media never stopped
    video_advances(ada)
    video_advances(grace)
    expect(ada.locator("[data-testid=remote-video]")).to_have_count(1)

    # And chat still works
    open_chat(grace)
    send_chat(grace, "still here")
    expect(ada.get_by_test_id("chat-log")).to_contain_text("still here")

    # And renegotiation through the resumed signaling works: Grace stops her camera, then starts it again
    assert _remote_video_direction(ada) == "sendrecv"
    grace.get_by_test_id("camera-button").click()
    _wait_for_remote_video_direction(ada, "sendonly")
    expect(ada.locator("[data-testid=remote-tile].no-video")).to_have_count(1)
    grace.get_by_test_id("camera-button").click()
    _wait_for_remote_video_direction(ada, "sendrecv")
    video_advances(ada)
    expect(ada.locator("[data-testid=remote-tile].no-video")).to_have_count(0)


def test_socket_closed_by_the_page_is_resumed(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    peer_id = _identity(grace)["peerId"]

    grace.evaluate("() => parley.call.signaling.ws.close()")

    grace.wait_for_function(
        "() => parley.call.signaling.stats.reconnects > 0 && parley.call.signaling.state === 'joined'"
    )
    assert _identity(grace)["peerId"] == peer_id
    open_chat(ada)
    send_chat(ada, "did you drop?")
    expect(grace.get_by_test_id("chat-log")).to_contain_text("did you drop?")
    video_advances(grace)


def test_a_newcomer_whose_peer_joined_overtakes_our_resumed_joined_is_kept(new_page: NewPage) -> None:
    # Given Ada and Grace in a call, and Grace's socket drops: her resume's `joined` is held back (here) until
    # Hedy's `peer-joined`, posted to Grace's new socket after the resume committed, has arrived before it
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=3)
    overtake = Overtake(lambda message, _: message.get("type") == "joined" and message.get("resumed"), "peer-joined")
    grace = new_page(f"/?room={room}", name="Grace", watch=lambda p: p.route_web_socket(re.compile("^ws"), overtake))
    join_room(grace)
    remote_videos_playing(grace, 1)
    grace.evaluate("() => parley.call.signaling.ws.close()")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not overtake.holding:
        assert time.monotonic() < deadline, "Grace never resumed"
        grace.wait_for_timeout(20)

    # When Hedy joins meanwhile
    overtake.order.clear()
    hedy = new_page(f"/?room={room}", name="Hedy")
    join_room(hedy)

    # Then all three see each other, and Grace kept Hedy through her `joined`: she was never told Hedy left (a
    # newcomer missing from the resumed `joined` was dropped there, and came back only with her offer)
    remote_videos_playing(hedy, 2)
    remote_videos_playing(grace, 2)
    remote_videos_playing(ada, 2)
    assert overtake.order[:2] == ["peer-joined", "joined (held)"]
    assert grace.evaluate("() => parley.call.signaling.stats.reconnects") == 1
    log = grace.get_by_test_id("chat-log")
    expect(log).to_contain_text("Hedy joined")
    assert "left" not in log.inner_text()


def test_screen_share_replaces_the_camera_and_comes_back(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    camera_label = grace.evaluate("() => parley.call.camera.label")

    outgoing_video_label = """() => {
        const entry = [...parley.call.peers.values()][0];
        return entry.peer.transceivers.video.sender.track?.label ?? null;
    }"""
    grace.get_by_test_id("screen-button").click()
    expect(grace.get_by_test_id("screen-button")).to_have_attribute("aria-pressed", "true")
    assert grace.evaluate(outgoing_video_label) != camera_label  # the same sender now carries the screen
    expect(ada.locator("[data-testid=remote-tile].screen")).to_have_count(1)
    video_advances(ada)

    # The browser's own "Stop sharing" button ends the track: the camera comes back
    grace.evaluate("() => parley.call.screen.dispatchEvent(new Event('ended'))")
    expect(grace.get_by_test_id("screen-button")).to_have_attribute("aria-pressed", "false")
    assert grace.evaluate(outgoing_video_label) == camera_label
    expect(ada.locator("[data-testid=remote-tile].screen")).to_have_count(0)
    video_advances(ada)
