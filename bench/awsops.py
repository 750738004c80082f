"""AWS operations per action, counted on the real code paths: the handlers run behind the local stack in this
process, and botocore's event hooks record every DynamoDB, Management API and SQS call they make, and the SQS calls
the (emulated) event source mapping makes to hand a grace-period message to its consumer.

DynamoDB capacity: the hooks ask for ReturnConsumedCapacity=TOTAL on every call and record what moto reports
(moto's figures are rough: fixed numbers per call, none for transactions), and they also compute the request units
DynamoDB would bill from its published sizing rules applied to the observed requests and items."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from websockets.sync.client import connect

from bench.cost import units
from bench.stats import summary
from signaling.definition import GRACE_QUEUE

_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
CLIENT_ACTIONS = ("ice", "join", "signal", "leave")
"""The actions that are a client's message (the others are API Gateway's or the queue's)."""


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB item size: attribute names plus values (strings as UTF-8, numbers ~ digits/2 + 1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        kind, raw = next(iter(value.items()))
        size += len(str(raw).encode()) if kind == "S" else (len(str(raw)) + 1) // 2 + 1
    return size


@dataclass
class Recorder:
    action: str | None = None
    calls: dict[str, Counter[str]] = field(default_factory=dict)
    reads: dict[str, list[tuple[bool, int]]] = field(default_factory=dict)
    writes: dict[str, list[tuple[bool, int]]] = field(default_factory=dict)
    moto_capacity: Counter[str] = field(default_factory=Counter)
    posts_in_flight: int = 0
    max_posts_in_flight: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, session: boto3.Session) -> None:
        events = session.events
        events.register("provide-client-params.dynamodb.*", self._ask_for_capacity)
        events.register("provide-client-params.dynamodb.*", self._keep_params)
        events.register("after-call.dynamodb.*", self._after_dynamodb)
        events.register("after-call.apigatewaymanagementapi.*", self._after_management)
        events.register("before-call.apigatewaymanagementapi.PostToConnection", self._post_started)
        events.register("after-call.apigatewaymanagementapi.PostToConnection", self._post_finished)
        events.register("after-call.sqs.*", self._after_sqs)

    def install_poller(self, client: Any) -> None:
        """The event source mapping's own SQS client (Lambda's poller, billed to the queue's owner all the same)."""
        client.meta.events.register("after-call.sqs.*", self._after_sqs)

    def _after_sqs(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "ReceiveMessage" and not parsed.get("Messages"):
            return  # the local poller looks every 50 ms; Lambda long-polls (see bench/cost.py for its idle cost)
        if model.name == "GetQueueAttributes":
            return  # the benchmark's own check that the queue is settled
        self._record("sqs", model.name)

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params  # the same context object reaches after-call

    def _record(self, service: str, operation: str) -> str | None:
        if self.action is None:
            return None
        self.calls.setdefault(self.action, Counter())[f"{service}:{operation}"] += 1
        return self.action

    def _after_dynamodb(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        action = self._record("dynamodb", model.name)
        if action is None:
            return
        params = context["bench_params"]
        reads, writes = self.reads.setdefault(action, []), self.writes.setdefault(action, [])
        if model.name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (body,) = entry.values()  # one of Put, Update, Delete, ConditionCheck
                writes.append((True, _item_size(body.get("Item") or body["Key"])))
        elif model.name in _WRITES:
            writes.append((False, _item_size(params.get("Item") or params["Key"])))
        elif model.name == "GetItem":
            reads.append((False, _item_size(parsed.get("Item") or params["Key"])))
        elif model.name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                reads.extend((False, _item_size(item)) for item in items)
        elif model.name == "Query":
            reads.append((False, sum(_item_size(item) for item in parsed.get("Items", []))))
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.moto_capacity[action] += entry.get("CapacityUnits", 0)

    def _after_management(self, model: Any, **_: Any) -> None:
        self._record("apigatewaymanagementapi", model.name)

    def _post_started(self, **_: Any) -> None:
        with self._lock:
            self.posts_in_flight += 1
            if self.action is not None:
                peak = max(self.max_posts_in_flight[self.action], self.posts_in_flight)
                self.max_posts_in_flight[self.action] = peak

    def _post_finished(self, **_: Any) -> None:
        with self._lock:
            self.posts_in_flight -= 1


class _Client:
    def __init__(self, url: str) -> None:
        self._exit = ExitStack()
        self.ws = self._exit.enter_context(connect(url, open_timeout=5))
        self.peer_id = ""

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def close(self) -> None:
        self._exit.close()

    def expect(self, kind: str) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=5))
        if message.get("type") != kind:
            raise RuntimeError(f"expected {kind}, got {message}")
        return message


def _settle(stack: Any, route: str, invocations: int, timeout: float = 10) -> None:
    """Wait until the gateway has finished `invocations` invocations of `route` (handlers finish after replying)."""
    deadline = time.monotonic() + timeout
    while len(stack.traffic.handler_ms.get(route, [])) < invocations:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{route} did not finish")
        time.sleep(0.005)


def scenario(stack: Any, recorder: Recorder, room: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """A one-to-one call, step by step: (action, step) pairs; each step returns once its invocation is done."""
    traffic = stack.traffic
    url = stack.ws_url
    clients: dict[str, _Client] = {}

    def count(route: str) -> int:
        return len(traffic.handler_ms.get(route, []))

    def step(route: str, run: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            before = count(route)
            run()
            _settle(stack, route, before + 1)

        return go

    def open_a() -> None:
        clients["a"] = _Client(url)

    def ice_a() -> None:
        clients["a"].send({"action": "ice"})
        clients["a"].expect("ice-servers")

    def join_a() -> None:
        clients["a"].send({"action": "join", "room": room})
        clients["a"].peer_id = clients["a"].expect("joined")["peerId"]

    def join_b() -> None:
        clients["b"] = _Client(url)
        clients["b"].send({"action": "join", "room": room})
        clients["b"].peer_id = clients["b"].expect("joined")["peerId"]
        clients["a"].expect("peer-joined")

    def relay() -> None:
        clients["b"].send({"action": "signal", "to": clients["a"].peer_id, "data": {"seq": 1, "candidates": []}})
        clients["a"].expect("signal")

    def leave_b() -> None:
        clients["b"].send({"action": "leave"})
        clients["a"].expect("peer-left")

    def close_a() -> None:
        clients["a"].close()

    def close_b() -> None:
        clients["b"].close()

    def grace_over() -> None:
        stack.wait_queues_settled()  # delivered to the consumer, processed and deleted

    yield "$connect", step("$connect", open_a)
    yield "ice", step("ice", ice_a)
    yield "join (empty room)", step("join", join_a)
    yield "join", step("join", join_b)
    yield "signal", step("signal", relay)
    yield "leave", step("leave", leave_b)
    yield "$disconnect (after leave)", step("$disconnect", close_b)
    # The last member's socket closes without `leave` (a dropped network, a closed laptop): the grace period.
    yield "$disconnect", step("$disconnect", close_a)
    yield "grace over", step(GRACE_QUEUE.key, grace_over)


@contextmanager
def _instrumented_stack() -> Iterator[tuple[Any, Recorder]]:
    from devstack.server import LocalStack
    from signaling import wiring

    recorder = Recorder()
    # The grace period on, as deployed, but short: what it costs does not depend on how long it lasts (nothing
    # waits it out), and every message is delivered once (redeliver=0) so that the counts are exact.
    stack = LocalStack(port=0, env={"ICE_SERVERS": "[]", "DISCONNECT_GRACE_SECONDS": "1"}, redeliver=0.0).start()
    # Starting moto replaces boto3's default session: instrument the new one, then make the handlers create their
    # clients anew from it.
    recorder.install(boto3.DEFAULT_SESSION)  # type: ignore[arg-type]
    assert stack.grace_mapping is not None
    recorder.install_poller(stack.grace_mapping.client)
    wiring.reset()
    try:
        yield stack, recorder
    finally:
        stack.stop()


def fanout(stack: Any, recorder: Recorder, present: int) -> dict[str, Any]:
    """One join into a room of `present` members: how many `peer-joined` posts the handler had in flight at once."""
    members = []
    for _ in range(present):  # one at a time, so each hears `joined` before anyone else's `peer-joined`
        client = _Client(stack.ws_url)
        client.send({"action": "join", "room": "fanout", "capacity": present + 1})
        client.expect("joined")
        members.append(client)
    for index, client in enumerate(members):
        for _ in range(present - index - 1):
            client.expect("peer-joined")
    # Every member has its `joined` (a route response: the handler has returned) and every `peer-joined`.
    action = f"join ({present} peers present)"
    recorder.action = action
    newcomer = _Client(stack.ws_url)
    newcomer.send({"action": "join", "room": "fanout"})
    newcomer.expect("joined")
    recorder.action = None
    for client in [*members, newcomer]:
        client.close()
    return {
        "posts": recorder.calls[action]["apigatewaymanagementapi:PostToConnection"],
        "max_in_flight": recorder.max_posts_in_flight[action],
    }


def run(repeats: int) -> dict[str, Any]:
    per_action: dict[str, dict[str, Any]] = {}
    with _instrumented_stack() as (stack, recorder):
        durations: dict[str, list[float]] = {}
        for repeat in range(repeats):
            stack.wait_idle()  # nothing from the previous round may be counted in this one
            for action, go in scenario(stack, recorder, room=f"ops{repeat}"):
                stack.traffic.reset()
                recorder.action = action
                go()
                recorder.action = None
                route = GRACE_QUEUE.key if action == "grace over" else action.split(" ")[0]
                durations.setdefault(action, []).extend(stack.traffic.handler_ms[route])
                if repeat == 0:  # counts are the same every time; keep the first run's
                    per_action[action] = {
                        "frames_in": dict(stack.traffic.frames_in),
                        "frames_out": dict(stack.traffic.frames_out),
                    }
        for action, info in per_action.items():
            calls = recorder.calls.get(action, Counter())
            read_units, write_units = units(recorder.reads.get(action, []), recorder.writes.get(action, []))
            info.update(
                dynamodb_calls={k.split(":")[1]: v / repeats for k, v in calls.items() if k.startswith("dynamodb")},
                management_calls={k.split(":")[1]: v / repeats for k, v in calls.items() if k.startswith("apigateway")},
                sqs_calls={k.split(":")[1]: v / repeats for k, v in calls.items() if k.startswith("sqs")},
                read_units=read_units / repeats,
                write_units=write_units / repeats,
                moto_reported_capacity=recorder.moto_capacity[action] / repeats,
                messages_in=sum(info["frames_in"].values()) if action.startswith(CLIENT_ACTIONS) else 0,
                messages_out=sum(info["frames_out"].values()),
                lambda_ms=summary(durations[action], digits=2),
            )
        concurrency = fanout(stack, recorder, present=7)
    return {"actions": per_action, "fanout": concurrency}
