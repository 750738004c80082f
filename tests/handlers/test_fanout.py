"""A join's announcements go out at once, not one after another: each post waits at a barrier until all of them
have started, which only concurrent posts can reach (sequential ones would break it after its timeout)."""

from __future__ import annotations

import threading
from typing import Any

from signaling import wiring

from .conftest import MANAGEMENT_ENDPOINT, Harness

MEMBERS = 7
EVENT = "before-parameter-build.apigatewaymanagementapi.PostToConnection"


def test_a_join_announces_the_newcomer_to_every_member_concurrently(aws: Harness) -> None:
    members = [f"conn{index}=" for index in range(MEMBERS)]
    for conn in members:
        assert aws.join(conn, capacity=MEMBERS + 1)["type"] == "joined"
    for conn in members:
        aws.inbox(conn)  # what the earlier joins announced
    everyone_posting = threading.Barrier(MEMBERS, timeout=5)
    started: list[str] = []

    def hold(params: dict[str, Any], **_: Any) -> None:
        started.append(params["ConnectionId"])
        everyone_posting.wait()

    client = wiring._management(MANAGEMENT_ENDPOINT)
    client.meta.events.register(EVENT, hold)
    try:
        joined = aws.join("connNew=")
    finally:
        client.meta.events.unregister(EVENT, hold)

    assert joined["type"] == "joined"
    assert not everyone_posting.broken
    assert sorted(started) == sorted(members)
    for conn in members:
        assert [message["type"] for message in aws.inbox(conn)] == ["peer-joined"]
