"""The resume grace period in real Chromium: a socket the server closed comes back silently, and a browser that
vanishes without `leave` is announced once its grace period (an SQS delay locally as in AWS) is over."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, WebSocket

from devstack.server import LocalStack
from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, two_person_call, video_advances

pytestmark = pytest.mark.browser

GRACE_SECONDS = 2


@pytest.fixture(scope="module")
def local_stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    """A short grace period (the default is 10 s), and every grace message delivered twice (at-least-once)."""
    return start_local_stack(env={"DISCONNECT_GRACE_SECONDS": str(GRACE_SECONDS)}, redeliver=1.0)


class Frames:
    """Every signaling frame the page receives, with the time it arrived, read off the wire by Playwright."""

    def __init__(self, page: Page) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self._record(payload))

    def _record(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        if isinstance(message, dict):
            self.received.append((time.monotonic(), message))

    def of_type(self, *kinds: str, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        """The frames of these types that arrived at `since` (time.monotonic()) or later."""
        return [(at, message) for at, message in self.received if message.get("type") in kinds and at >= since]


def _peer_id(page: Page) -> str:
    return str(page.evaluate("() => parley.call.signaling.peerId"))


def _socket_of(stack: LocalStack, peer_id: str) -> str:
    """The socket the server has on record for a peer."""
    return str(stack.table.get_item(Key={"pk": f"peer#{peer_id}", "sk": "peer"})["Item"]["conn"])


def _watched_call(new_page: NewPage) -> tuple[Page, Page, str, Frames]:
    """Ada and Grace in a call, Grace's peerId, and the frames Ada's page receives from the start."""
    frames: list[Frames] = []

    def open_page(*args: Any, **kwargs: Any) -> Page:
        if not frames:  # the first page two_person_call opens is Ada's: watched from before it loads
            kwargs["watch"] = lambda page: frames.append(Frames(page))
        return new_page(*args, **kwargs)

    ada, grace = two_person_call(open_page)
    return ada, grace, _peer_id(grace), frames[0]


def test_a_socket_the_server_closed_resumes_silently_and_keeps_the_connection(
    new_page: NewPage, local_stack: LocalStack
) -> None:
    ada, grace, grace_id, frames = _watched_call(new_page)
    ada.evaluate(f"() => {{ window.__pc = parley.call.peers.get({grace_id!r}).peer.pc; }}")

    dropped = time.monotonic()
    local_stack.management_client().delete_connection(ConnectionId=_socket_of(local_stack, grace_id))
    grace.wait_for_function(
        "() => parley.call.signaling.stats.reconnects > 0 && parley.call.signaling.state === 'joined'"
    )
    local_stack.wait_queues_settled()  # the grace period has ended and its message was delivered (twice)

    assert _peer_id(grace) == grace_id
    assert frames.of_type("peer-left", "peer-joined", since=dropped) == []
    assert ada.evaluate(f"() => parley.call.peers.get({grace_id!r}).peer.pc === window.__pc")
    video_advances(ada)


def test_a_browser_that_vanishes_is_announced_once_after_the_grace_period(
    new_page: NewPage, local_stack: LocalStack
) -> None:
    ada, grace, grace_id, frames = _watched_call(new_page)
    socket = _socket_of(local_stack, grace_id)

    # The renderer dies: its socket closes without `leave`, and nobody comes back for the seat.
    crashed = time.monotonic()
    grace.on("crash", lambda _: None)
    with contextlib.suppress(PlaywrightError):
        grace.goto("chrome://crash", timeout=2000)
    ada.wait_for_function(
        f"() => !parley.call.peers.has({grace_id!r}) || Boolean(parley.call.peers.get({grace_id!r}).away)",
        timeout=TIMEOUT_MS,
    )
    grace.close()
    # Ada may notice before the server does (her media link fails first): wait for the server's side of the crash,
    # the socket's close and its $disconnect, which starts the grace period; then for the grace period's end.
    local_stack.wait_closed(socket)
    local_stack.wait_queues_settled()

    left = frames.of_type("peer-left", since=crashed)
    assert [(m["type"], m["peerId"], m["reason"]) for _, m in left] == [("peer-left", grace_id, "disconnected")]
    assert left[0][0] - crashed >= GRACE_SECONDS
