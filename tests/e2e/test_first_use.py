"""What a first-time visitor meets: the lobby, a blocked camera, a phone-sized screen. Screenshots of each go to
tests/artifacts/ for a person to look at."""

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
    open_chat,
    quality_shown,
    remote_videos_playing,
    send_chat,
)

pytestmark = pytest.mark.browser


def test_the_lobby_explains_itself(new_page: NewPage, artifacts: Path) -> None:
    page = new_page()
    expect(page.get_by_label("Your name")).to_be_visible()
    expect(page.get_by_label("Room code or invite link")).to_be_visible()
    expect(page.get_by_test_id("create-button")).to_be_enabled()
    page.wait_for_function("() => document.querySelector('[data-testid=preview-video]').videoWidth > 0")
    expect(page.get_by_test_id("camera-select").locator("option")).not_to_have_count(0)
    page.screenshot(path=str(artifacts / "lobby.png"))

    # A bad code is explained, not sent
    page.get_by_test_id("room-input").fill("not a room!")
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("error-banner")).to_contain_text("not a room code")


def test_a_pasted_invite_link_joins_that_room(new_page: NewPage) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(name="Grace")
    grace.get_by_test_id("room-input").fill(f"https://parley.example/?room={room}")
    grace.get_by_test_id("join-button").click()
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)


def test_the_display_name_is_remembered(new_page: NewPage, artifacts: Path) -> None:
    page = new_page()
    page.get_by_test_id("name-input").fill("Katherine")
    create_room(page)
    expect(page.get_by_test_id("waiting")).to_be_visible()
    expect(page.get_by_test_id("invite-url")).to_have_value(page.url)
    page.screenshot(path=str(artifacts / "waiting.png"))
    page.get_by_test_id("hangup-button").click()
    page.reload()
    expect(page.get_by_test_id("name-input")).to_have_value("Katherine")


@pytest.fixture(scope="module")
def browser_without_media_permission(playwright: Playwright) -> Iterator[Browser]:
    """Chromium without the fake permission UI: headless, every camera/microphone prompt is refused."""
    flags = [f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
    yield browser
    browser.close()


def _denied_page(browser: Browser, url: str, permissions: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=permissions)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


def _close_without_problems(page: Page) -> None:
    """Close a _denied_page's context, failing if the page reported a CSP violation or an uncaught error (what
    WATCH recorded: the new_page fixture checks its own pages the same way)."""
    problems = page.evaluate("window.__problems || []")
    page.context.close()
    assert not problems, f"the page reported problems: {problems}"


def test_a_blocked_camera_is_explained_and_joining_with_audio_works(
    new_page: NewPage, browser_without_media_permission: Browser, local_stack: Any, artifacts: Path
) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = _denied_page(browser_without_media_permission, f"{local_stack.http_url}/?room={room}", ["microphone"])

    expect(grace.get_by_test_id("media-message")).to_contain_text("Camera access was blocked")
    expect(grace.get_by_test_id("media-message")).to_contain_text("audio only")
    check_accessibility(grace, "lobby, camera blocked")
    grace.screenshot(path=str(artifacts / "camera-denied.png"))
    join_room(grace)

    # Grace sees Ada; Ada sees Grace's avatar in place of video
    remote_videos_playing(grace, 1)
    expect(ada.locator("[data-testid=remote-tile]")).to_have_count(1)
    expect(ada.locator("[data-testid=remote-tile].no-video")).to_have_count(1)
    expect(ada.get_by_test_id("participant-list")).to_contain_text("Connected")
    send_chat(grace, "I can see you")
    expect(ada.get_by_test_id("chat-log")).to_contain_text("I can see you")
    grace.screenshot(path=str(artifacts / "camera-denied-in-call.png"))
    _close_without_problems(grace)


def test_with_camera_and_microphone_blocked_one_can_still_join(
    new_page: NewPage, browser_without_media_permission: Browser, local_stack: Any, artifacts: Path
) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    viewer = _denied_page(browser_without_media_permission, f"{local_stack.http_url}/?room={room}", [])

    expect(viewer.get_by_test_id("media-message")).to_contain_text("Camera and microphone access were blocked")
    check_accessibility(viewer, "lobby, camera and microphone blocked")
    viewer.screenshot(path=str(artifacts / "media-denied.png"))
    join_room(viewer)

    # Both are in the room (Chromium gathers no ICE candidates without any media permission in a loopback-only
    # namespace, which has no default route, so the media link itself is not checked here)
    expect(viewer.get_by_test_id("participant-list").locator("li")).to_have_count(2)
    expect(ada.get_by_test_id("participant-list").locator("li")).to_have_count(2)
    expect(viewer.get_by_test_id("error-banner")).to_contain_text("You can still join")
    _close_without_problems(viewer)


def test_a_call_on_a_phone_sized_screen(new_page: NewPage, artifacts: Path) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    phone = new_page(f"/?room={room}", name="Grace", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.screenshot(path=str(artifacts / "phone-lobby.png"))
    join_room(phone)
    remote_videos_playing(phone, 1)
    for testid in ("mute-button", "camera-button", "hangup-button", "chat-toggle"):
        expect(phone.get_by_test_id(testid)).to_be_in_viewport()
    check_accessibility(phone, "in-call (phone)")
    quality_shown(phone)
    phone.screenshot(path=str(artifacts / "phone-call.png"))

    send_chat(ada, "hello phone")
    open_chat(phone)
    expect(phone.get_by_test_id("chat-log")).to_contain_text("hello phone")
    check_accessibility(phone, "chat drawer (phone)")
    phone.screenshot(path=str(artifacts / "phone-chat.png"))


def test_room_full_screen(new_page: NewPage, artifacts: Path) -> None:
    ada = new_page(name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}", name="Grace")
    join_room(grace)
    late = new_page(f"/?room={room}", name="Late")
    join_room(late)
    expect(late.get_by_test_id("error-banner")).to_contain_text("full")
    late.screenshot(path=str(artifacts / "room-full.png"))
