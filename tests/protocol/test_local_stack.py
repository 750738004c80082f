"""Protocol v1 against the running local stack (the real handlers behind the local API Gateway), with real
WebSocket clients."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .client import Client

pytestmark = pytest.mark.usefixtures("local_stack")


@pytest.fixture
def clients(local_stack: Any) -> Iterator[Any]:
    opened: list[Client] = []

    def open_client(origin: str | None = None) -> Client:
        client = Client(local_stack.ws_url, origin=origin)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def room_of_three(clients: Any, room: str) -> tuple[Client, Client, Client]:
    """Three members who have each heard of the others."""
    a, b, c = clients(), clients(), clients()
    a.join(room, capacity=3)
    b.join(room)
    c.join(room)
    a.expect("peer-joined"), a.expect("peer-joined"), b.expect("peer-joined")
    return a, b, c


def test_join_announces_the_newcomer_to_the_room(clients: Any) -> None:
    ada, grace = clients(), clients()
    first = ada.join("announce", name="Ada")

    second = grace.join("announce", name="Grace")

    assert first["peers"] == []
    assert second["peers"] == [{"peerId": ada.peer_id, "name": "Ada"}]
    assert ada.expect("peer-joined") == {"type": "peer-joined", "peerId": grace.peer_id, "name": "Grace"}


def test_a_signal_is_relayed_to_its_target_only(clients: Any, local_stack: Any) -> None:
    a, b, c = room_of_three(clients, "relay")
    offer = {"seq": 1, "description": {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 200}}

    c.signal(a.peer_id, offer)

    assert a.expect("signal") == {"type": "signal", "from": c.peer_id, "data": offer}
    local_stack.wait_invocations()  # the relay is over: anything it posted to b is already on b's socket
    assert b.heard_nothing()


def test_a_full_room_refuses_the_next_joiner(clients: Any) -> None:
    clients().join("full")
    clients().join("full")

    refused = clients().join("full")

    assert refused["type"] == "error"
    assert refused["code"] == "room-full"


def test_rooms_are_isolated(clients: Any, local_stack: Any) -> None:
    a, b = clients(), clients()
    a.join("red")
    b.join("blue")

    a.signal(b.peer_id, {"hello": 1})

    assert a.expect("error")["code"] == "unknown-peer"
    local_stack.wait_invocations()
    assert b.heard_nothing()


def test_leave_and_disconnect_each_give_peer_left(clients: Any) -> None:
    a, b, c = room_of_three(clients, "bye")

    b.send({"action": "leave"})
    assert a.expect("peer-left") == {"type": "peer-left", "peerId": b.peer_id, "reason": "left"}
    assert c.expect("peer-left")["peerId"] == b.peer_id

    c.close()
    assert a.expect("peer-left") == {"type": "peer-left", "peerId": c.peer_id, "reason": "disconnected"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "bad-request"),
        (json.dumps({"action": "dance"}), "bad-request"),
        (json.dumps({"action": "join", "room": 42}), "bad-request"),
        (json.dumps({"action": "join", "room": "r", "capacity": "two"}), "bad-request"),
        (json.dumps({"action": "signal", "to": "x", "data": {}}), "not-joined"),
        (json.dumps({"action": "leave"}), "not-joined"),
        # over maxSignalBytes, yet in one frame the gateway lets through
        (json.dumps({"action": "signal", "to": "x", "data": "a" * 32_000}), "too-large"),
    ],
)
def test_bad_input_gets_an_error_frame_and_the_socket_stays_usable(clients: Any, frame: str, code: str) -> None:
    client = clients()

    client.send(frame)

    error = client.expect("error")
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert len(error["message"]) > 10
    assert client.usable()


def test_signal_to_yourself_is_refused_and_the_socket_stays_usable(clients: Any) -> None:
    me = clients()
    me.join("mirror")

    me.signal(me.peer_id, {"x": 1})

    assert me.expect("error")["code"] == "bad-request"
    assert me.usable()


def test_a_message_over_128_kib_closes_the_socket_with_1009(clients: Any) -> None:
    client = clients()

    client.send(json.dumps({"action": "signal", "to": "x", "data": "a" * (130 * 1024)}))

    assert client.closed_with() == 1009


def test_resume_with_the_token_keeps_the_call_and_closes_the_old_socket(clients: Any, local_stack: Any) -> None:
    a, b = clients(), clients()
    a.join("resume")
    b.join("resume", name="Bea")
    a.expect("peer-joined")

    b2 = clients()
    resumed = b2.join("resume", peerId=b.peer_id, token=b.token)

    assert resumed["resumed"] is True
    assert resumed["peerId"] == b.peer_id
    assert resumed["peers"] == [{"peerId": a.peer_id, "name": ""}]
    assert b.closed_with() is not None  # the server closed the replaced socket
    local_stack.wait_invocations()  # its $disconnect has run and started a grace period
    local_stack.wait_queues_settled()  # which is over, its message delivered (twice) and settled
    assert a.heard_nothing()  # no peer-left, no peer-joined: the call goes on
    a.signal(b.peer_id, {"seq": 2})
    assert b2.expect("signal") == {"type": "signal", "from": a.peer_id, "data": {"seq": 2}}


def test_a_socket_the_server_closed_resumes_within_the_grace_period_silently(clients: Any, local_stack: Any) -> None:
    a = clients()
    a.join("closed")
    before = set(local_stack.connection_ids())
    b = clients()
    b.join("closed")
    a.expect("peer-joined")
    (b_socket,) = set(local_stack.connection_ids()) - before

    local_stack.management_client().delete_connection(ConnectionId=b_socket)  # as the 2-hour limit would
    assert b.closed_with() is not None
    b2 = clients()
    resumed = b2.join("closed", peerId=b.peer_id, token=b.token)

    assert resumed["resumed"] is True
    local_stack.wait_invocations()  # b's $disconnect has run and started a grace period
    local_stack.wait_queues_settled()  # the grace period is over and its message settled
    assert a.heard_nothing()  # no peer-left, no peer-joined


def test_a_socket_closed_without_leave_is_announced_once_after_the_grace_period(clients: Any, local_stack: Any) -> None:
    a, b = clients(), clients()
    a.join("twice")
    b.join("twice")
    a.expect("peer-joined")
    closed = time.monotonic()
    b.close()

    left = a.expect("peer-left")
    waited = time.monotonic() - closed
    local_stack.wait_queues_settled()  # this stack delivers every grace message twice

    assert left == {"type": "peer-left", "peerId": b.peer_id, "reason": "disconnected"}
    assert waited >= 1.0  # not before the grace period
    assert a.heard_nothing()


def test_resume_with_a_wrong_token_is_refused(clients: Any) -> None:
    b = clients()
    b.join("resume-bad")

    refused = clients().join("resume-bad", peerId=b.peer_id, token="wrong")

    assert refused["code"] == "invalid-token"
    assert b.usable()


def test_fifty_simultaneous_joins_admit_exactly_the_capacity_and_leave_no_orphans(local_stack: Any) -> None:
    count = 50
    start = threading.Barrier(count)
    sockets = [Client(local_stack.ws_url) for _ in range(count)]

    def join(client: Client) -> dict[str, Any]:
        start.wait()
        return client.join("crowd", capacity=2)

    with ThreadPoolExecutor(max_workers=count) as pool:
        replies = list(pool.map(join, sockets))

    admitted = [c for c, r in zip(sockets, replies, strict=True) if r["type"] == "joined"]
    codes = sorted(r.get("code", r["type"]) for r in replies)
    assert codes.count("joined") == 2
    assert codes.count("room-full") == count - 2
    items = local_stack.table.scan(ConsistentRead=True)["Items"]
    crowd = [i for i in items if i.get("room") == "crowd" or i["pk"] == "room#crowd"]
    assert sorted(i["sk"] for i in crowd) == ["conn", "conn", "meta", "peer", "peer", "slot#0", "slot#1"]
    assert {i["peerId"] for i in crowd if i["sk"] == "conn"} == {c.peer_id for c in admitted}

    for client in sockets:
        client.close()
    assert eventually(lambda: not [i for i in local_stack.table.scan()["Items"] if "crowd" in str(i)])


def eventually(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    """$disconnect runs after the socket closes; poll for its effect rather than sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
