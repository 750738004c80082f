"""Per-connection limits over real WebSockets against the local stack: a socket that pipelines joins hears exactly
one answer per join, `rate-limited` with `retryAfterMs` past its burst, while another socket joins unhindered. The
stack runs with a small join bucket (3, then one a minute) so that the run cannot refill it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from devstack.server import LocalStack
from tests.fuzzing import table_problems

from .client import Client

BURST = 3
PIPELINED = 30


@pytest.fixture(scope="module")
def local_stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    return start_local_stack(env={"LIMIT_JOIN_BURST": str(BURST), "LIMIT_JOINS_PER_MINUTE": "1"})


@pytest.fixture
def clients(local_stack: LocalStack) -> Iterator[Callable[[], Client]]:
    opened: list[Client] = []

    def open_client() -> Client:
        client = Client(local_stack.ws_url)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def test_pipelined_joins_past_the_burst_are_rate_limited_one_answer_each(
    local_stack: LocalStack, clients: Callable[[], Client]
) -> None:
    flooder, bystander = clients(), clients()
    for i in range(PIPELINED):
        flooder.send({"action": "join", "room": f"flood{i}"})

    replies = [flooder.recv(timeout=30) for _ in range(PIPELINED)]

    # The joins run concurrently (one invocation each): any BURST of them pass the bucket, one of those is seated.
    answers = Counter(reply.get("code", reply["type"]) for reply in replies)
    assert answers == {"joined": 1, "already-joined": BURST - 1, "rate-limited": PIPELINED - BURST}
    limited = [reply for reply in replies if reply.get("code") == "rate-limited"]
    assert all(reply["action"] == "join" and reply["retryAfterMs"] > 0 for reply in limited)
    assert flooder.heard_nothing()  # exactly one answer per join
    assert bystander.join("calm")["type"] == "joined"
    assert table_problems(local_stack.table.scan(ConsistentRead=True)["Items"]) == []
