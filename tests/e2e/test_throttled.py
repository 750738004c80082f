"""A call through a stage throttled far below what the call needs: API Gateway answers most requests "Too Many
Requests", and the clients retry with backoff until the call stands, without a reconnect, without giving up and
without spinning."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.throttle import ThrottleSettings
from signaling.definition import ThrottleLimits
from tests.conftest import StartLocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, two_person_call

pytestmark = pytest.mark.browser

RATE = 2  # requests per second for every socket together: a 1:1 setup needs about ten
MOST_REFUSALS = 30  # measured: 6 to 10 with backoff
SETUP_TIMEOUT_MS = 60_000
"""How long the call may take to stand: the client's backoff doubles from 0.4 s up to 15 s while refusals keep
coming, so a few refusals in a row cost tens of seconds by design (measured: 5 to 20 s at 2 requests/s)."""


@pytest.fixture(scope="module")
def local_stack(start_local_stack: StartLocalStack) -> Any:
    return start_local_stack(throttle=ThrottleSettings(stage=ThrottleLimits(rate=RATE, burst=RATE)))


def _stats(page: Any) -> dict[str, int]:
    return dict(page.evaluate("() => ({...parley.call.signaling.stats, state: 0})"))


def test_a_call_sets_up_through_a_throttled_stage(new_page: NewPage, local_stack: Any) -> None:
    started = time.monotonic()
    ada, grace = two_person_call(new_page, timeout_ms=SETUP_TIMEOUT_MS)
    print(f"call set up through a {RATE}/s stage in {time.monotonic() - started:.1f} s")

    # A refusal of a message still in flight when the call stood (a trailing candidate batch) reaches its client a
    # moment after the stage counted it: compare once they agree, or after a few seconds, whichever comes first.
    deadline = time.monotonic() + 5
    while True:
        throttled = local_stack.traffic.snapshot()["in"].get("(throttled)", 0)
        stats = {"ada": _stats(ada), "grace": _stats(grace)}
        if sum(s["throttled"] for s in stats.values()) == throttled or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert throttled > 0, "the stage never throttled: this test tested nothing"
    assert sum(s["throttled"] for s in stats.values()) == throttled  # every refusal reached a client and was seen
    # No spinning: a client that retried without backing off would be refused dozens of times a second here.
    assert throttled <= MOST_REFUSALS, stats
    for name, s in stats.items():
        assert s["reconnects"] == 0, name  # throttling is no reason to drop the socket
        assert s["resent"] > 0 or s["throttled"] == 0, (name, s)  # what may have been refused was sent again
    expect(ada.get_by_test_id("status")).to_have_attribute("data-state", "in-call", timeout=TIMEOUT_MS)
    expect(grace.get_by_test_id("status")).to_have_attribute("data-state", "in-call", timeout=TIMEOUT_MS)
