"""Rule 5 under traffic in real Chromium: a socket drops in the middle of a renegotiation, the offer sent to it is held
by the server and delivered when the socket resumes, and the renegotiation completes on the same RTCPeerConnection
on both sides, with nobody hearing `peer-left`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from playwright.sync_api import Page

from devstack.server import LocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, Frames, two_person_call, video_advances

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def local_stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    """The deployed default grace period (10 s): the held offer must wait out a real reconnect backoff."""
    return start_local_stack()


# Grace's page opens its next sockets to a closed port until window.__block is cleared: its reconnect attempts fail
# (and back off) as on a dead network, while its media keeps flowing.
BLOCK_RECONNECTS = """() => {
  const Real = window.WebSocket;
  window.__block = true;
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(window.__block ? "ws://127.0.0.1:9/" : url, protocols);
    }
  };
}"""

UFRAG = "(d) => (d && d.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1]"


def _wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def test_a_socket_dropped_mid_renegotiation_resumes_and_the_renegotiation_completes_on_the_same_connection(
    new_page: NewPage, local_stack: LocalStack
) -> None:
    ada_frames: list[Frames] = []
    grace_frames: list[Frames] = []

    def open_page(*args: Any, **kwargs: Any) -> Page:  # each page watched from before it loads
        kwargs["watch"] = lambda page: (grace_frames if ada_frames else ada_frames).append(Frames(page))
        return new_page(*args, **kwargs)

    ada, grace = two_person_call(open_page)
    ada_id = str(ada.evaluate("() => parley.call.signaling.peerId"))
    grace_id = str(grace.evaluate("() => parley.call.signaling.peerId"))
    ada.evaluate(f"() => {{ window.__pc = parley.call.peers.get({grace_id!r}).peer.pc; }}")
    grace.evaluate(f"() => {{ window.__pc = parley.call.peers.get({ada_id!r}).peer.pc; }}")
    before = ada.evaluate(f"() => ({UFRAG})(window.__pc.localDescription)")
    seen_by_ada = len(ada_frames[0].received)
    seen_by_grace = len(grace_frames[0].received)

    grace.evaluate(BLOCK_RECONNECTS)
    socket = str(local_stack.table.get_item(Key={"pk": f"peer#{grace_id}", "sk": "peer"})["Item"]["conn"])
    local_stack.management_client().delete_connection(ConnectionId=socket)  # Grace's signaling socket drops
    grace.wait_for_function("() => parley.call.signaling.state === 'reconnecting'", timeout=TIMEOUT_MS)

    # Ada renegotiates now (an ICE restart: a new offer on the same connection), into Grace's dead socket.
    ada.evaluate("() => window.__pc.restartIce()")
    mailbox = Key("pk").eq(f"mail#{grace_id}")
    _wait_until(lambda: local_stack.table.query(KeyConditionExpression=mailbox, ConsistentRead=True)["Count"] > 0)
    grace.evaluate("() => { window.__block = false; }")  # the network is back: the next attempt resumes

    grace.wait_for_function("() => parley.call.signaling.state === 'joined'", timeout=TIMEOUT_MS)
    ada.wait_for_function(
        f"() => window.__pc.signalingState === 'stable' && ({UFRAG})(window.__pc.localDescription) !== {before!r}"
        f" && parley.call.peers.get({grace_id!r}).peer.pc === window.__pc",
        timeout=TIMEOUT_MS,
    )
    after = ada.evaluate(f"() => ({UFRAG})(window.__pc.localDescription)")
    assert grace.evaluate(f"() => ({UFRAG})(window.__pc.remoteDescription)") == after  # Grace took the new offer
    assert grace.evaluate(f"() => parley.call.peers.get({ada_id!r}).peer.pc === window.__pc")
    assert str(grace.evaluate("() => parley.call.signaling.peerId")) == grace_id  # resumed, not joined afresh

    # The offer reached Grace's new socket before its `joined` (held, then delivered on resume), and the room
    # heard nothing: no peer-left, no peer-joined, no undelivered.
    after_drop = grace_frames[0].received[seen_by_grace:]
    kinds = [m["type"] for m in after_drop]
    resumed_at = next(i for i, m in enumerate(after_drop) if m["type"] == "joined")
    assert after_drop[resumed_at]["resumed"] is True
    held = [m for m in after_drop[:resumed_at] if m["type"] == "signal"]
    assert any(m["data"].get("description", {}).get("type") == "offer" for m in held), kinds
    assert not [m for m in ada_frames[0].received[seen_by_ada:] if m["type"] != "signal" and m["type"] != "pong"]
    assert local_stack.table.query(KeyConditionExpression=mailbox, ConsistentRead=True)["Count"] == 0
    video_advances(ada)
    video_advances(grace)
