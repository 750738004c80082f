"""Keyboard-only use of the whole call (every control reached with Tab, focus always visible, Escape closes panels),
and axe-core on the screens the other tests do not already check (ended, room full, a phone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import PHONE, TIMEOUT_MS, check_accessibility, create_room, join_room, remote_videos_playing

pytestmark = pytest.mark.browser


# What the focused element shows: the focus ring (a box-shadow) or an outline. Empty when focus is invisible.
_FOCUS_RING = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return '';
    const target = e.matches('input[type=file]') ? e.closest('label') : e;  // the visible label carries its ring
    const s = getComputedStyle(target);
    const ring = s.boxShadow !== 'none' ? s.boxShadow : (s.outlineStyle !== 'none' ? s.outlineStyle : '');
    const box = target.getBoundingClientRect();
    return box.width > 0 && box.height > 0 ? ring : '';
}"""


def _focused_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def tab_to(page: Page, element_id: str, *, limit: int = 40, backwards: bool = False) -> list[str]:
    """Presses Tab (or Shift+Tab) until `element_id` has the focus, checking at every stop that the focus is visible.
    Returns the ids passed on the way; fails if the element is not reached within `limit` presses."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = _focused_id(page)
        seen.append(focused)
        assert page.evaluate(_FOCUS_RING), f"the focus on #{focused or '?'} is not visible (after {seen})"
        if focused == element_id:
            return seen
    raise AssertionError(f"#{element_id} was not reached with the keyboard; Tab went through {seen}")


def test_a_whole_call_with_the_keyboard_only(new_page: NewPage, artifacts: Path) -> None:
    ada = new_page(name="Ada")

    # The lobby starts with the focus on the name; every control is reached, in reading order
    expect(ada.get_by_test_id("name-input")).to_be_focused()
    passed = tab_to(ada, "create-button")
    assert passed == ["room-input", "join-button", "capacity-select", "create-button"], passed
    passed = tab_to(ada, "skip-link", backwards=True)
    lobby_backwards = ["name-input", "mic-select", "camera-select", "preview-cam", "preview-mic", "brand", "skip-link"]
    assert passed[-7:] == lobby_backwards, passed
    # then "New room" with Enter
    tab_to(ada, "create-button")
    ada.keyboard.press("Enter")
    expect(ada.get_by_test_id("status")).to_have_attribute("data-state", "waiting", timeout=TIMEOUT_MS)
    room = ada.url.split("room=")[1]

    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    remote_videos_playing(ada, 1)

    # In the call: every control in the toolbar and the chat is reached
    passed = tab_to(ada, "hangup-button", limit=60)
    for control in ("chat-input", "chat-send", "mute-button", "camera-button", "devices-button", "copy-link"):
        assert control in passed, f"Tab skipped #{control}: {passed}"

    # Mute with the keyboard
    tab_to(ada, "mute-button", backwards=True)
    ada.keyboard.press("Enter")
    expect(ada.get_by_test_id("mute-button")).to_have_attribute("aria-pressed", "true")
    expect(grace.get_by_test_id("participant-list")).to_contain_text("Ada · muted", timeout=TIMEOUT_MS)

    # The devices panel opens with Enter, takes the focus, and Escape closes it and gives the focus back
    tab_to(ada, "devices-button")
    ada.keyboard.press("Enter")
    expect(ada.get_by_test_id("devices-panel")).to_be_visible()
    expect(ada.get_by_test_id("call-camera-select")).to_be_focused()
    check_accessibility(ada, "devices panel")
    ada.keyboard.press("Escape")
    expect(ada.get_by_test_id("devices-panel")).to_be_hidden()
    expect(ada.get_by_test_id("devices-button")).to_be_focused()

    # Chat: type and send with Enter
    tab_to(ada, "chat-input", backwards=True)
    ada.keyboard.type("typed, not clicked")
    ada.keyboard.press("Enter")
    expect(grace.get_by_test_id("chat-log")).to_contain_text("typed, not clicked", timeout=TIMEOUT_MS)

    # Leaving: the ended screen has the focus on its first action
    tab_to(ada, "hangup-button")
    ada.keyboard.press("Enter")
    expect(ada.get_by_test_id("ended-title")).to_have_text("You left the call")
    expect(ada.get_by_test_id("rejoin-button")).to_be_focused()
    check_accessibility(ada, "ended")
    ada.screenshot(path=str(artifacts / "ended.png"))


def test_on_a_phone_the_chat_drawer_works_with_the_keyboard(new_page: NewPage, artifacts: Path) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada)
    phone = new_page(f"/?room={room}", name="Grace", viewport=PHONE, is_mobile=True, has_touch=True)
    join_room(phone)
    remote_videos_playing(phone, 1)
    check_accessibility(phone, "in-call (phone)")

    tab_to(phone, "chat-toggle")
    phone.keyboard.press("Enter")
    expect(phone.get_by_test_id("chat-toggle")).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_test_id("chat-input")).to_be_focused()
    check_accessibility(phone, "chat drawer (phone)")
    phone.screenshot(path=str(artifacts / "phone-chat-keyboard.png"))
    phone.keyboard.press("Escape")
    expect(phone.get_by_test_id("chat-toggle")).to_have_attribute("aria-expanded", "false")
    expect(phone.get_by_test_id("chat-input")).to_be_hidden()
    expect(phone.get_by_test_id("chat-toggle")).to_be_focused()


def test_the_room_full_screen_is_accessible(new_page: NewPage) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    late = new_page(f"/?room={room}", name="Late", viewport=PHONE, is_mobile=True, has_touch=True)
    join_room(late)
    expect(late.get_by_test_id("ended-title")).to_have_text("This room is full", timeout=TIMEOUT_MS)
    check_accessibility(late, "room full (phone)")
