"""States a user meets: a bad room link, a phone-sized lobby, another microphone chosen mid-call, who is speaking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, check_accessibility, two_person_call

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


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
