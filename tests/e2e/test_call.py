"""Two and three people in a room: video both ways, chat, a file moved byte-exactly, a full mesh, a full room,
hanging up."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import NewPage, save_readme_image
from tests.e2e.helpers import (
    TIMEOUT_MS,
    check_accessibility,
    create_room,
    join_room,
    open_chat,
    quality_shown,
    remote_videos_playing,
    send_chat,
    two_person_call,
)

pytestmark = pytest.mark.browser


def test_two_people_see_each_other_chat_and_move_a_file_exactly(
    new_page: NewPage, artifacts: Path, tmp_path: Path
) -> None:
    # Given Ada created a room and Grace opened its link, each sees the other's video (two_person_call waits for it)
    ada, grace = two_person_call(new_page)

    # Then the call is shown as such, with names
    expect(ada.get_by_test_id("status")).to_have_attribute("data-state", "in-call")
    expect(ada.get_by_test_id("participant-list")).to_contain_text("Grace")
    expect(grace.get_by_test_id("participant-list")).to_contain_text("Ada")

    # And chat works both ways
    send_chat(ada, "Hello Grace")
    expect(grace.get_by_test_id("chat-log")).to_contain_text("Hello Grace")
    send_chat(grace, "Hi Ada!")
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Hi Ada!")

    # When Ada sends a 1.5 MB file
    payload = os.urandom(1_500_000 + 123)
    sent = tmp_path / "notes.bin"
    sent.write_bytes(payload)
    ada.get_by_test_id("file-input").set_input_files(str(sent))

    # Then Grace gets it verified, Ada hears it was verified, and the bytes are the same
    expect(grace.get_by_test_id("file-status")).to_contain_text("SHA-256 verified", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("file-status")).to_contain_text("delivered · SHA-256 verified", timeout=TIMEOUT_MS)
    with grace.expect_download() as download_info:
        grace.get_by_test_id("file-download").click()
    download = download_info.value
    assert download.suggested_filename == "notes.bin"
    received = Path(download.path()).read_bytes()
    assert len(received) == len(payload)
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert grace.get_by_test_id("file-progress").evaluate("p => p.value === p.max")

    # A picture of the call for the README
    quality_shown(ada)  # the tiles show measured figures, not "0 kb/s"
    shot = artifacts / "two-party-call.png"
    ada.screenshot(path=str(shot))
    save_readme_image(shot)


def test_three_people_form_a_full_mesh(new_page: NewPage) -> None:
    first = new_page(name="One")
    room = create_room(first, capacity=3)
    others = [new_page(f"/?room={room}", name=name) for name in ("Two", "Three")]
    for page in others:
        join_room(page)

    for page in [first, *others]:
        remote_videos_playing(page, 2)
        expect(page.get_by_test_id("participant-list").locator("li")).to_have_count(3)


def test_a_third_person_is_told_the_room_is_full(new_page: NewPage, local_stack: Any) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    remote_videos_playing(ada, 1)

    late = new_page(f"/?room={room}", name="Late")
    join_room(late)

    expect(late.get_by_test_id("error-banner")).to_be_visible(timeout=TIMEOUT_MS)
    expect(late.get_by_test_id("error-banner")).to_contain_text("full")
    expect(late.get_by_test_id("status")).to_have_attribute("data-state", "room-full")
    expect(late.get_by_test_id("ended-title")).to_have_text("This room is full")
    check_accessibility(late, "room full")
    # The two in the call are undisturbed
    expect(ada.locator("[data-testid=remote-video]")).to_have_count(1)


def test_hanging_up_shows_the_peer_leaving(new_page: NewPage) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    remote_videos_playing(ada, 1)
    open_chat(ada)

    grace.get_by_test_id("hangup-button").click()

    expect(grace.get_by_test_id("ended-title")).to_have_text("You left the call")
    check_accessibility(grace, "ended")
    expect(ada.locator("[data-testid=remote-video]")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Grace left")
    expect(ada.get_by_test_id("status")).to_have_attribute("data-state", "waiting")


# bench/instrument.js: among its marks, the size of the first remote video frame the page decodes (its own probe)
INSTRUMENT = (Path(__file__).resolve().parents[2] / "bench" / "instrument.js").read_text()

SENDER_SCALE = """() => {
    const [entry] = parley.call.peers.values();
    return entry.peer.transceivers.video.sender.getParameters().encodings[0].scaleResolutionDownBy ?? 1;
}"""


def test_the_video_starts_small_enough_to_be_kept_then_goes_to_full_size(new_page: NewPage) -> None:
    # Given two people whose 720p cameras would be too large for the start's bitrate (peer.js startScale)
    ada = new_page(name="Ada", watch=lambda p: p.add_init_script(INSTRUMENT))
    room = create_room(ada)
    grace = new_page(f"/?room={room}", name="Grace", watch=lambda p: p.add_init_script(INSTRUMENT))
    assert grace.evaluate("() => parley.lobby.tracks.video.getSettings().width") == 1280

    # When they call
    join_room(grace)
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)

    for page in (ada, grace):
        # Then the first frame each decodes is within 320x240 pixels (libwebrtc keeps it at the start's bitrate)
        page.wait_for_function("() => window.__bench.firstFrameSize !== null")
        first = page.evaluate("window.__bench.firstFrameSize")
        assert first["width"] * first["height"] <= 320 * 240, first
        # And each side's video goes to full size once the estimate allows: the remote picture grows
        page.wait_for_function(f"() => ({SENDER_SCALE})() === 1", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "w => document.querySelector('[data-testid=remote-video]').videoWidth > w", arg=first["width"]
        )


SLOW_SET_PARAMETERS = """(() => {
    // Every RTCRtpSender.setParameters takes effect at once but tells the page 1.5 s late (a busy browser), and the
    // scales asked for are recorded.
    window.__scales = [];
    const native = RTCRtpSender.prototype.setParameters;
    RTCRtpSender.prototype.setParameters = function (parameters, ...rest) {
        const scale = parameters.encodings?.[0]?.scaleResolutionDownBy;
        if (scale !== undefined) window.__scales.push(scale);
        const done = native.call(this, parameters, ...rest);
        return done.then((result) => new Promise((resolve) => setTimeout(() => resolve(result), 1500)));
    };
})();"""


def test_the_video_goes_to_full_size_when_its_start_scaling_settles_after_the_connection(new_page: NewPage) -> None:
    # Given two people whose browsers apply the start's scaling only after their connection is up
    watch = lambda p: p.add_init_script(SLOW_SET_PARAMETERS)  # noqa: E731
    ada = new_page(name="Ada", watch=watch)
    room = create_room(ada)
    grace = new_page(f"/?room={room}", name="Grace", watch=watch)

    # When they call
    join_room(grace)
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)

    # Then each side's video is scaled down for the start, then asked back to full size and gets there (a start
    # scaling that settled after "connected" used to keep the video small for the whole call)
    scaled_then_full = """() => {
        const scales = window.__scales, start = scales.findIndex((scale) => scale > 1);
        return start >= 0 && scales.slice(start + 1).includes(1);
    }"""
    for page in (ada, grace):
        page.wait_for_function(scaled_then_full, timeout=TIMEOUT_MS)
        page.wait_for_function(f"() => ({SENDER_SCALE})() === 1", timeout=TIMEOUT_MS)
