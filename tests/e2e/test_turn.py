"""A call that can only go through a relay: both pages use `?ice=relay` (iceTransportPolicy "relay"), the local stack
hands out TURN REST credentials for a real coturn exactly as a deploy does (TURN_URLS, TURN_SECRET), and the call
completes: video both ways, chat, and getStats shows a relay-to-relay candidate pair on both sides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench.coturn import REFUSED, Coturn
from devstack.server import LocalStack
from tests.conftest import StartLocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import (
    PREPARED_COMPLETE,
    TIMEOUT_MS,
    Frames,
    create_room,
    join_room,
    open_chat,
    remote_videos_playing,
    send_chat,
    video_advances,
)

pytestmark = pytest.mark.browser

# The candidate pair ICE selected on the page's only peer connection, with both candidates and the bytes it carried.
SELECTED_PAIR = """async () => {
    const entry = [...parley.call.peers.values()][0];
    const report = await entry.peer.pc.getStats();
    const stats = [...report.values()];
    const transport = stats.find(s => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport && report.get(transport.selectedCandidatePairId);
    if (!pair) return null;
    const local = report.get(pair.localCandidateId), remote = report.get(pair.remoteCandidateId);
    return {
        state: pair.state,
        local: {type: local.candidateType, address: local.address, relayProtocol: local.relayProtocol ?? null,
                url: local.url ?? null},
        remote: {type: remote.candidateType, address: remote.address},
        bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        policy: entry.peer.pc.getConfiguration().iceTransportPolicy,
    };
}"""


@pytest.fixture(scope="module")
def transport(request: pytest.FixtureRequest) -> str:
    """Which TURN URLs the local stack hands out; "both" unless a test asks for another (indirect parametrization).
    udp: only the UDP URL, so the browser must relay over UDP. tcp: only the TCP URL, as a network that blocks UDP
    leaves it, so the relay must work over TCP. both: the URLs a deploy hands out (UDP and TCP). With both, Chromium
    usually relays over UDP, but in about one call in three here one side ended its gathering with only its TCP relay
    candidate (its UDP allocation reached coturn later) and the call went over TCP, so that case asserts only that
    the call goes through this coturn."""
    return str(getattr(request, "param", "both"))


@pytest.fixture(scope="module")
def local_stack(start_local_stack: StartLocalStack, coturn: Coturn, transport: str) -> LocalStack:
    """The local stack configured as a deploy with a TURN server is: its turn: URLs and the shared secret, and no
    other ICE server (tests/conftest.py sets ICE_SERVERS to [])."""
    udp, tcp = coturn.urls
    urls = {"udp": [udp], "tcp": [tcp], "both": [udp, tcp]}[transport]
    return start_local_stack(env={"TURN_URLS": ",".join(urls), "TURN_SECRET": coturn.secret})


def selected_pair(page: Page) -> dict[str, Any]:
    page.wait_for_function(f"({SELECTED_PAIR})().then(p => p !== null && p.state === 'succeeded')", timeout=TIMEOUT_MS)
    pair: dict[str, Any] = page.evaluate(SELECTED_PAIR)
    return pair


@pytest.mark.parametrize("transport", ["udp", "tcp", "both"], indirect=True)
def test_a_relay_only_call_goes_through_coturn(
    new_page: NewPage, coturn: Coturn, transport: str, artifacts: Path
) -> None:
    log_before = len(coturn.log_text())

    # Given Ada and Grace both force their connections through the relay (?ice=relay)
    ada = new_page("/?ice=relay", name="Ada")
    room = create_room(ada, capacity=2)
    grace = new_page(f"/?room={room}&ice=relay", name="Grace")
    join_room(grace)

    # Then each sees the other's video, and it keeps playing
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)
    video_advances(ada)
    video_advances(grace)

    # And chat works both ways (the data channel goes through the relay too)
    open_chat(ada)
    open_chat(grace)
    send_chat(ada, "Through the relay")
    expect(grace.get_by_test_id("chat-log")).to_contain_text("Through the relay")
    send_chat(grace, "Loud and clear")
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Loud and clear")

    # And on both sides the selected candidate pair is relay to relay, through our coturn, carrying the call
    for page in (ada, grace):
        pair = selected_pair(page)
        assert pair["policy"] == "relay"
        assert pair["local"]["type"] == "relay", pair
        assert pair["remote"]["type"] == "relay", pair
        assert f"127.0.0.1:{coturn.port}" in (pair["local"]["url"] or ""), pair
        # how the browser reached the relay
        assert pair["local"]["relayProtocol"] in (("udp", "tcp") if transport == "both" else (transport,)), pair
        assert pair["bytesSent"] > 10_000, pair
        assert pair["bytesReceived"] > 10_000, pair

    # And no TURN warning is shown
    expect(ada.get_by_test_id("error-banner")).to_be_hidden()
    expect(grace.get_by_test_id("error-banner")).to_be_hidden()
    ada.screenshot(path=str(artifacts / f"relay-call-{transport}.png"))

    # And coturn accepted every credential it was shown (the refusal line test_turn_refused.py looks for is absent)
    assert REFUSED not in coturn.log_text()[log_before:]


def test_with_turn_the_lobby_asks_ice_and_prepares_its_offer_through_the_relay(new_page: NewPage) -> None:
    # Given a deployment with TURN: config.json names no ICE servers (each client gets its own credentials)
    ada = new_page("/?ice=relay", name="Ada")
    room = create_room(ada, capacity=2)
    assert "iceServers" not in ada.evaluate("() => fetch('config.json').then(r => r.json())")

    # When Grace opens the link, her lobby asks `ice` on its socket and prepares the offer with what it got
    frames: list[Frames] = []
    grace = new_page(f"/?room={room}&ice=relay", name="Grace", watch=lambda p: frames.append(Frames(p)))
    grace.wait_for_function(PREPARED_COMPLETE, timeout=TIMEOUT_MS)
    assert [frame for frame in frames[0].sent if frame.get("action") == "ice"] == [{"action": "ice"}]

    # Then her `join` carries that offer, whose candidates are the relay's, and the call connects through coturn
    join_room(grace)
    remote_videos_playing(ada, 1)
    remote_videos_playing(grace, 1)
    (join,) = [frame for frame in frames[0].sent if frame.get("action") == "join"]
    first = join["offer"]
    assert first["description"]["type"] == "offer"
    assert "typ relay" in first["description"]["sdp"]
    assert selected_pair(grace)["local"]["type"] == "relay"
