"""States a user meets: a bad room link, a phone-sized lobby, another microphone chosen mid-call, who is speaking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, WATCH, NewPage
from tests.e2e.helpers import (
    PHONE,
    TIMEOUT_MS,
    check_accessibility,
    create_room,
    join_room,
    remote_videos_playing,
    two_person_call,
    video_advances,
)

pytestmark = pytest.mark.browser


def _below_heading(page: Page) -> None:
    """The banner does not cover the lobby's heading (it is above it, in the page's flow)."""
    banner = page.get_by_test_id("error-banner").bounding_box()
    heading = page.locator("#lobby-title").bounding_box()
    assert banner is not None
    assert heading is not None
    assert banner["y"] + banner["height"] <= heading["y"], (banner, heading)


@pytest.mark.parametrize(
    ("room", "says"),
    [
        ("bad%20room!!", "it contains a space, “!”"),
        ("x" * 70, "it is 70 characters long"),
    ],
)
def test_a_bad_room_link_is_explained_and_cleaned(new_page: NewPage, room: str, says: str, artifacts: Path) -> None:
    page = new_page(f"/?room={room}")
    banner = page.get_by_test_id("error-banner")
    expect(banner).to_contain_text("Room codes are 1 to 64 letters, digits, - and _")
    expect(banner).to_contain_text(says)
    _below_heading(page)
    # The address bar no longer holds the bad link, and the lobby offers a new room
    assert "room=" not in page.url, page.url
    expect(page.get_by_test_id("create-button")).to_be_visible()
    check_accessibility(page, "bad room link")
    page.screenshot(path=str(artifacts / f"bad-link-{len(room)}.png"))


def test_the_join_box_states_the_rule(new_page: NewPage) -> None:
    page = new_page()
    page.get_by_test_id("room-input").fill("bad room!!")
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("error-banner")).to_contain_text("Room codes are 1 to 64 letters, digits, - and _")


def test_on_a_phone_new_room_is_above_the_fold(new_page: NewPage, artifacts: Path) -> None:
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    for testid in ("name-input", "room-input", "join-button", "create-button"):
        expect(page.get_by_test_id(testid)).to_be_in_viewport(ratio=1)
    page.screenshot(path=str(artifacts / "phone-lobby-new-room.png"))


_SENDER = """kind => {
    const entry = [...parley.call.peers.values()][0];
    const sender = entry.peer.pc.getSenders().find(s => s.track && s.track.kind === kind);
    return {track: sender ? sender.track.id : null, label: sender ? sender.track.label : null,
            sdp: entry.peer.pc.localDescription.sdp, signaling: entry.peer.pc.signalingState};
}"""


def test_another_microphone_mid_call_replaces_the_track_without_renegotiation(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    before = ada.evaluate(_SENDER, "audio")

    ada.get_by_test_id("devices-button").click()
    picker = ada.get_by_test_id("call-mic-select")
    expect(picker.locator("option")).not_to_have_count(0)
    options: list[dict[str, Any]] = picker.locator("option").evaluate_all(
        "os => os.map(o => ({value: o.value, label: o.textContent, selected: o.selected}))"
    )
    assert len(options) >= 2, f"Chromium's fake devices should offer several microphones: {options}"
    current = next(o for o in options if o["selected"])
    assert current["label"] == before["label"], (current, before)
    other = next(o for o in options if not o["selected"])
    picker.select_option(other["value"])

    # The sender carries a new track from the chosen device, and the session description did not change
    ada.wait_for_function(f"before => ({_SENDER})('audio').track !== before", arg=before["track"], timeout=TIMEOUT_MS)
    after = ada.evaluate(_SENDER, "audio")
    assert after["label"] == other["label"], (after, other)
    assert after["sdp"] == before["sdp"], "switching the microphone renegotiated"
    assert after["signaling"] == "stable"
    expect(ada.get_by_test_id("toast")).to_contain_text(other["label"])
    # Grace still receives Ada's audio: packets keep coming on her audio receiver
    grace.wait_for_function(
        """async () => {
            const entry = [...parley.call.peers.values()][0];
            const stats = await entry.peer.pc.getStats();
            const inbound = [...stats.values()].find(s => s.type === 'inbound-rtp' && s.kind === 'audio');
            window.__audioPackets ??= inbound.packetsReceived;
            return inbound.packetsReceived > window.__audioPackets + 50;
        }""",
        timeout=TIMEOUT_MS,
    )


def test_tiles_show_who_is_speaking(new_page: NewPage, artifacts: Path) -> None:
    ada, grace = two_person_call(new_page)
    remote = grace.get_by_test_id("remote-tile")
    # Chromium's fake microphone beeps: Ada's tile on Grace's screen lights up, and so does Ada's own
    expect(remote).to_have_attribute("data-speaking", "true", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("self-tile")).to_have_attribute("data-speaking", "true", timeout=TIMEOUT_MS)
    grace.screenshot(path=str(artifacts / "speaking.png"))

    # Once Ada mutes, her tile stays dark
    ada.get_by_test_id("mute-button").click()
    expect(remote).to_have_attribute("data-speaking", "false", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("self-tile")).to_have_attribute("data-speaking", "false", timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser_with_three_cameras(playwright: Playwright) -> Iterator[Browser]:
    """Chromium whose fake capture offers three cameras. The test switches from fake_device_0 to fake_device_2:
    the encoder takes no frames from fake_device_1 (seen here; Chromium's fake capture gives that one a depth pixel
    format), which no real camera picker would offer either."""
    flags = [
        f"{f},device-count=3" if f.startswith("--use-fake-device-for-media-stream=") else f for f in CHROMIUM_FLAGS
    ]
    assert flags != CHROMIUM_FLAGS, "no fake-device flag to extend"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
    yield browser
    browser.close()


def test_another_camera_mid_call_replaces_the_track_without_renegotiation(
    new_page: NewPage, browser_with_three_cameras: Browser, local_stack: Any
) -> None:
    context = browser_with_three_cameras.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"]
    )
    context.add_init_script(WATCH)
    context.add_init_script("localStorage.setItem('parley.name', 'Ada');")
    ada = context.new_page()
    ada.set_default_timeout(TIMEOUT_MS)
    ada.goto(local_stack.http_url + "/")
    room = create_room(ada)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)
    video_advances(grace)
    before = ada.evaluate(_SENDER, "video")
    assert before["label"] == "fake_device_0", before

    ada.get_by_test_id("devices-button").click()
    picker = ada.get_by_test_id("call-camera-select")
    expect(picker.locator("option:checked")).to_have_text("fake_device_0")
    picker.select_option(label="fake_device_2")

    ada.wait_for_function(f"() => ({_SENDER})('video').label === 'fake_device_2'", timeout=TIMEOUT_MS)
    after = ada.evaluate(_SENDER, "video")
    assert after["sdp"] == before["sdp"], "switching the camera renegotiated"
    assert after["signaling"] == "stable"
    # The self view shows the new camera, and Grace keeps receiving video
    assert ada.evaluate("() => document.getElementById('local-video').srcObject.getVideoTracks()[0].label") == (
        "fake_device_2"
    )
    video_advances(grace)
    problems = ada.evaluate("window.__problems || []")
    context.close()
    assert not problems, f"the page reported problems: {problems}"
