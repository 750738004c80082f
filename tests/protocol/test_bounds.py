"""Nothing in the local stack grows with the traffic: after many sockets join, leave or drop, and their grace periods
and the table's TTL have run, every structure that holds per-socket or per-message state is back where it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from devstack.server import LocalStack

from .client import Client

ROOM_SIZE = 4
FAR_FUTURE = 30 * 24 * 60 * 60
"""Seconds past now at which every item the sockets left has expired (the longest TTL is a connection's 2 hours)."""


@pytest.fixture(scope="module")
def stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    # A one-second grace period, each message delivered once; housekeeping only when the test asks for it.
    return start_local_stack(env={"DISCONNECT_GRACE_SECONDS": "1"}, redeliver=0.0, housekeeping_interval=3600)


def _until(client: Client, kind: str) -> None:
    """Read until a message of `kind` (membership events come in between)."""
    while client.recv().get("type") != kind:
        pass


def a_round(stack: LocalStack, sockets: int, tag: str, *, settle: bool = False) -> None:
    """`sockets` sockets in rooms of ROOM_SIZE: each joins, each relays a signal; half leave before closing, the
    others just close (their seats wait out the grace period). `settle`: the signal is received and each `left` read
    before the sockets close, so the round surely sends every kind of message (otherwise a socket that closes first
    may never be sent its `left`, and the next round's would be a kind the stack had not counted yet)."""
    clients = [Client(stack.ws_url) for _ in range(sockets)]
    try:
        for index, client in enumerate(clients):
            reply = client.join(f"{tag}-{index // ROOM_SIZE}", capacity=ROOM_SIZE)
            assert reply["type"] == "joined", reply
        for index in range(0, sockets, ROOM_SIZE):
            first, second = clients[index], clients[index + 1]
            first.signal(second.peer_id or "", {"seq": 1})
            if settle:
                _until(second, "signal")
        for index, client in enumerate(clients):
            if index % 2:
                client.send({"action": "leave"})
                if settle:
                    _until(client, "left")
    finally:
        for client in clients:
            client.close()
    stack.wait_idle(timeout=60)  # sockets gone, invocations done, grace periods over and settled


def test_many_sockets_opening_and_closing_leave_every_structure_as_it_was(stack: LocalStack) -> None:
    a_round(stack, 8, "warm", settle=True)  # first calls create what later ones reuse (clients, counters by kind)
    stack.housekeeping(now=time.time() + FAR_FUTURE)
    baseline = stack.footprint()

    a_round(stack, 96, "many")
    before: dict[str, Any] = stack.footprint()
    swept = stack.housekeeping(now=time.time() + FAR_FUTURE)
    after = stack.footprint()

    # What the round left behind until the background deletes ran: the table's items (every one with a TTL) and
    # moto's memory of deleted queue messages.
    assert before["table_items"] > baseline["table_items"]
    assert before["deleted_receipts"] > baseline["deleted_receipts"]
    assert swept["expired_items"] == before["table_items"] - baseline["table_items"]
    assert after == baseline
    assert baseline == {
        "connections": 0,
        "tasks": 0,
        "invocations": 0,
        "functions_running": 0,
        "traffic_kinds": baseline["traffic_kinds"],  # bounded by the kinds of message (traffic.KINDS_KEPT)
        "table_items": 0,
        "queued_messages": 0,
        "batches_in_flight": 0,
        "deleted_receipts": 0,
        "moto_instances": 0,  # moto keeps every model object it creates unless told not to
    }
