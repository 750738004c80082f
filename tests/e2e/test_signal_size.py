"""Signal sizes against API Gateway's 32 KB frame: every frame the client sends, screen share included, stays under
the limit (bench/signalsize.py measures it; `make bench` reports it for a room of eight), and a payload over the
limit is refused in the page, visibly, instead of costing the socket."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench import signalsize
from signaling.definition import MAX_FRAME_BYTES, MAX_SIGNAL_BYTES
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import two_person_call

pytestmark = pytest.mark.browser


def _signaling(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate("() => ({...parley.call.signaling.stats, state: parley.call.signaling.state})"),
    )


def test_a_signal_over_the_limit_is_refused_visibly_and_one_at_the_limit_is_delivered(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    ada_id = grace.evaluate("() => [...parley.call.peers.keys()][0]")
    assert grace.evaluate("() => parley.call.signaling.limits") == {
        "maxFrameBytes": MAX_FRAME_BYTES,
        "maxSignalBytes": MAX_SIGNAL_BYTES,
    }
    send = "([to, length]) => parley.call.signaling.signal(to, 'x'.repeat(length))"  # JSON adds the two quotes

    # Over the limit by one byte: not sent, and the page says so
    assert grace.evaluate(send, [ada_id, MAX_SIGNAL_BYTES - 1]) is False
    expect(grace.get_by_test_id("error-banner")).to_contain_text("too large for the signaling server")
    assert _signaling(grace)["tooLarge"] == 1

    # At the limit: sent and relayed, in one frame that API Gateway accepts
    received = _signaling(ada)["received"]
    assert grace.evaluate(send, [ada_id, MAX_SIGNAL_BYTES - 2]) is True
    ada.wait_for_function("n => parley.call.signaling.stats.received > n", arg=received)

    for page in (ada, grace):
        stats = _signaling(page)
        assert (stats["state"], stats["reconnects"]) == ("joined", 0)  # nobody lost the socket


def test_every_frame_of_a_room_with_a_screen_share_fits(new_page: NewPage) -> None:
    # Each connection's descriptions are the same size whatever the room's size (every one is 1:1), so three people
    # show it here; `make bench` measures a room of eight (bench/signalsize.py, docs/protocol.md).
    people = 3

    def open_page(path: str) -> Page:
        return new_page(path, viewport={"width": 640, "height": 480})

    sizes = signalsize.measure(open_page, people=people)

    pairs, others = people * (people - 1) // 2, people - 1
    assert sizes["by_kind"]["offer"] >= pairs + 2 * others  # every pair's first offer, two renegotiations
    assert sizes["by_kind"]["answer"] >= pairs + 2 * others
    assert sizes["offer_bytes"]["setup"] > 1000  # a real description (audio, video, data), not a stub
    assert sizes["offer_bytes"]["screen share"] > 1000
    assert sizes["largest_frame"]["bytes"] <= MAX_FRAME_BYTES
    assert sizes["largest_data_bytes"] <= MAX_SIGNAL_BYTES
