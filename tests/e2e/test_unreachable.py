"""The signaling service goes away and stays away: after a bounded time (frontend/js/reachability.js,
UNREACHABLE_AFTER_MS) the page says so, with a retry button, instead of "Reconnecting…" forever; when the service is
back, Retry joins again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from devstack.server import LocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import (
    TIMEOUT_MS,
    check_accessibility,
    create_room,
    open_chat,
    send_chat,
    two_person_call,
    video_advances,
)

pytestmark = pytest.mark.browser

UNREACHABLE_AFTER_MS = 20_000  # frontend/js/reachability.js


@pytest.fixture
def local_stack() -> Iterator[LocalStack]:
    """A stack of this test's own, which it stops and starts again on the same port."""
    stack = LocalStack(port=0, env={"ICE_SERVERS": "[]"}).start()
    yield stack
    stack.stop()


def test_an_unreachable_service_is_said_so_with_a_retry(
    new_page: NewPage, local_stack: LocalStack, artifacts: Path
) -> None:
    ada = new_page(name="Ada")
    create_room(ada)
    port = local_stack.port

    local_stack.stop()

    status = ada.get_by_test_id("status")
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=TIMEOUT_MS)
    expect(status).to_have_attribute("data-state", "unreachable", timeout=UNREACHABLE_AFTER_MS + TIMEOUT_MS)
    banner = ada.get_by_test_id("error-banner")
    expect(banner).to_contain_text("The Parley service is unreachable")
    expect(banner).to_contain_text("Nobody can join you until it is back")
    expect(ada.get_by_test_id("waiting")).to_be_hidden()  # no invitation while nobody can follow it
    retry = ada.get_by_test_id("error-action")
    expect(retry).to_have_text("Retry now")
    check_accessibility(ada, "service unreachable")
    ada.screenshot(path=str(artifacts / "unreachable.png"))

    # The service comes back on the same address; Retry joins again (a new stack: a new identity)
    back = LocalStack(port=port, env={"ICE_SERVERS": "[]"}).start()
    try:
        retry.click()
        expect(status).to_have_attribute("data-state", "waiting", timeout=TIMEOUT_MS)
        expect(banner.filter(has_text="unreachable")).to_have_count(0)
        expect(ada.get_by_test_id("waiting")).to_be_visible()
    finally:
        back.stop()


def test_in_a_call_the_media_continues_while_the_service_is_unreachable(
    new_page: NewPage, local_stack: LocalStack
) -> None:
    ada, grace = two_person_call(new_page)

    local_stack.stop()

    for page in (ada, grace):
        expect(page.get_by_test_id("status")).to_have_attribute(
            "data-state", "unreachable", timeout=UNREACHABLE_AFTER_MS + TIMEOUT_MS
        )
        expect(page.get_by_test_id("error-banner")).to_contain_text(
            "Your call with the people already connected continues"
        )
    video_advances(ada)
    video_advances(grace)
    send_chat(ada, "still talking")
    open_chat(grace)
    expect(grace.get_by_test_id("chat-log")).to_contain_text("still talking")
