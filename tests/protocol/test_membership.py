"""Rule 5 under traffic and membership convergence, against the running local stack with real WebSocket clients.

The convergence test applies docs/protocol.md's reconciliation rule (section 1, "Membership and sequence numbers")
to what each client received, the way frontend/js/roster.js does, and compares every view with the table."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.roster import view

from .client import Client

pytestmark = pytest.mark.usefixtures("local_stack")


def test_signals_to_a_dropped_socket_are_held_and_delivered_on_resume(local_stack: Any) -> None:
    a = Client(local_stack.ws_url)
    before = set(local_stack.connection_ids())
    b = Client(local_stack.ws_url)
    try:
        a.join("held")
        b.join("held")
        a.expect("peer-joined")
        (b_socket,) = set(local_stack.connection_ids()) - before
        local_stack.management_client().delete_connection(ConnectionId=b_socket)  # B's socket is gone
        assert b.closed_with() is not None

        mailbox = Key("pk").eq(f"mail#{b.peer_id}")
        for seq in (1, 2, 3):
            a.signal(b.peer_id, {"seq": seq})  # each post finds the socket gone: held, not "gone"
            # One at a time: signals sent at once may be processed in any order (section 1, Transport).
            wait_until(lambda n=seq: local_stack.table.query(KeyConditionExpression=mailbox)["Count"] == n)
        assert a.heard_nothing()  # no peer-left, no error

        b2 = Client(local_stack.ws_url)
        try:
            b2.send({"action": "join", "room": "held", "peerId": b.peer_id, "token": b.token})
            frames = [b2.recv() for _ in range(4)]
        finally:
            b2.close()
        assert [f["type"] for f in frames] == ["signal", "signal", "signal", "joined"]
        assert [f["data"]["seq"] for f in frames[:3]] == [1, 2, 3]
        assert frames[3]["resumed"] is True
        assert a.heard_nothing()  # the resume was silent
    finally:
        a.close()
        b.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


class Member:
    """One client: a socket, every frame it received (read by a thread), and how many replies it awaits."""

    def __init__(self, url: str) -> None:
        self.client = Client(url)
        self.received: list[dict[str, Any]] = []
        self.replies = 0  # joined, left, or error: one for each join and leave sent
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while True:
                message = json.loads(self.client.ws.recv())
                with self.changed:
                    self.received.append(message)
                    if message.get("type") in ("joined", "left", "error") or "type" not in message:
                        self.replies += 1  # (no type: API Gateway's own answer, e.g. a failed invocation)
                    self.changed.notify_all()
        except Exception:
            return

    def wait_for(self, predicate: Any, timeout: float = 20) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), (self.replies, self.received)

    def send(self, message: dict[str, Any]) -> None:
        self.client.send(message)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_members_view_converges_to_the_table_under_racing_joins_leaves_and_switches(
    local_stack: Any, seed: int
) -> None:
    rng = random.Random(seed)
    rooms = [f"race{seed}-{i}" for i in range(2)]
    members = [Member(local_stack.ws_url) for _ in range(16)]
    plans = [[rng.choice(["join", "leave", "switch"]) for _ in range(10)] for _ in members]
    sent = [0] * len(members)  # joins and leaves sent, each answered by exactly one joined/left/error

    def run(index: int) -> None:
        member, plan, pick = members[index], plans[index], random.Random(seed * 100 + index)
        for step in plan:
            if step in ("leave", "switch"):
                member.send({"action": "leave"})
                sent[index] += 1
            if step in ("join", "switch"):  # a switch joins at once, without waiting for `left`
                member.send({"action": "join", "room": pick.choice(rooms), "capacity": 8, "name": str(index)})
                sent[index] += 1
            target = sent[index]
            if pick.random() < 0.3:  # sometimes wait for the answers, sometimes race ahead
                member.wait_for(lambda m=member, t=target: m.replies >= t)  # type: ignore[misc]

    try:
        with ThreadPoolExecutor(len(members)) as pool:
            list(pool.map(run, range(len(members))))
        for index, member in enumerate(members):
            member.wait_for(lambda m=member, t=sent[index]: m.replies >= t)  # type: ignore[misc]
        for member in members:  # anything posted before this ping reaches the socket before its pong
            member.send({"action": "ping"})
            member.wait_for(lambda m=member: bool(m.received) and m.received[-1]["type"] == "pong")  # type: ignore[misc]

        table = local_stack.table
        seated: dict[str, set[str]] = {}
        for room in rooms:
            items = table.query(KeyConditionExpression=Key("pk").eq(f"room#{room}"), ConsistentRead=True)["Items"]
            seated[room] = {str(i["peerId"]) for i in items if str(i["sk"]).startswith("slot#")}
        where = {peer: room for room, peers in seated.items() for peer in peers}
        mismatches = []
        for index, member in enumerate(members):
            joined = [m for m in member.received if m["type"] == "joined"]
            me = joined[-1]["peerId"] if joined else None
            room, peers = view(member.received)
            actual_room = where.get(me) if me else None
            expected = seated[actual_room] - {me} if actual_room else set()
            if (room, peers) != (actual_room, expected):
                trace = [
                    (m["type"], m.get("room"), m.get("seq"), m.get("code"))
                    for m in member.received
                    if m.get("type") in ("joined", "left", "error")
                ]
                mismatches.append((index, room, sorted(peers), actual_room, sorted(expected), trace))
        refused = [m for member in members for m in member.received if "type" not in m]
        assert refused == []  # API Gateway answered nothing itself: every request ran
        assert mismatches == []
        assert sum(len(peers) for peers in seated.values()) > 0  # the storm left some rooms with members
    finally:
        for member in members:
            member.client.close()
