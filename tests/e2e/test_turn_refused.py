"""TURN credentials the server must refuse: signed with the wrong secret, or expired. coturn answers the allocation
with 401, and a relay-only page says so in its banner instead of waiting forever for a connection."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from bench.coturn import REFUSED, Coturn
from devstack.server import LocalStack
from signaling.ice import turn_credentials
from tests.conftest import StartLocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, create_room, join_room

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["wrong-secret", "expired"])
def local_stack(request: pytest.FixtureRequest, start_local_stack: StartLocalStack, coturn: Coturn) -> LocalStack:
    urls = ",".join(coturn.urls)
    if request.param == "wrong-secret":
        # The signaling side and the TURN server disagree on the secret (a misconfigured deploy).
        return start_local_stack(env={"TURN_URLS": urls, "TURN_SECRET": coturn.secret + "-not"})
    # Correctly signed with the right secret, but the expiry in the username is an hour in the past, as it would be
    # for a client that kept its `joined` credentials too long. TURN_TTL_SECONDS cannot go negative, so the stack
    # hands out this entry as a configured ICE server.
    username, credential = turn_credentials(coturn.secret, peer_id="stale", expires_at=int(time.time()) - 3600)
    servers = [{"urls": list(coturn.urls), "username": username, "credential": credential}]
    return start_local_stack(env={"ICE_SERVERS": json.dumps(servers)})


def test_refused_credentials_are_reported_not_waited_on(new_page: NewPage, coturn: Coturn) -> None:
    log_before = len(coturn.log_text())

    # Given Ada and Grace try a relay-only call with credentials coturn does not accept
    ada = new_page("/?ice=relay", name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}&ice=relay", name="Grace")
    join_room(grace)

    # Then both pages say the relay refused the credentials, naming the TURN URL and the 401
    for page in (ada, grace):
        banner = page.get_by_test_id("error-banner")
        expect(banner).to_be_visible(timeout=TIMEOUT_MS)
        expect(banner).to_have_attribute("data-code", "turn-refused")
        expect(banner).to_contain_text("refused this call's credentials")
        expect(banner).to_contain_text(f"127.0.0.1:{coturn.port}")
        expect(banner).to_contain_text("401")

    # And no video got through (the relay was the only way)
    for page in (ada, grace):
        assert not page.evaluate(
            "[...document.querySelectorAll('[data-testid=remote-video]')].some(v => v.videoWidth > 0)"
        )

    # And it was coturn that said no: it logs the allocations whose credentials did not check out (the 401 without
    # credentials that starts every allocation is not enough, hence this line)
    log = coturn.log_text()[log_before:]
    assert REFUSED in log, log[-2000:]
