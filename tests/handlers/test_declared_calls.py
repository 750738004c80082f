"""The AWS calls each route declares (signaling.definition: table_calls, management_calls; the IAM grants are derived
from them) are exactly the calls its handler makes. Every boto3 call is recorded while a handler runs, through
scenarios that reach every path: the happy ones, resumes, dead sockets, and the conditional removal losing a race.
An undeclared call would be AccessDenied in AWS; a declared call no scenario makes is a grant nobody needs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from signaling import wiring
from signaling.definition import FUNCTIONS

from .conftest import Harness

SERVICES = {"dynamodb": "table_calls", "apigatewaymanagementapi": "management_calls"}


class Recorder:
    def __init__(self) -> None:
        self.route: str | None = None
        self.calls: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        self.dead: set[str] = set()  # sockets the Management API reports gone
        self.on_gone: dict[str, Any] = {}  # conn -> what happens meanwhile, when a post finds it gone

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        service = client.meta.service_model.service_name
        if self.route is not None and service in SERVICES:
            self.calls[self.route].add((service, operation))
        if service == "apigatewaymanagementapi" and params.get("ConnectionId") in self.dead:
            meanwhile = self.on_gone.pop(params["ConnectionId"], None)
            if meanwhile is not None:
                route, self.route = self.route, None  # another invocation's calls, not this route's
                meanwhile()
                self.route = route
            error = {"Error": {"Code": "GoneException", "Message": "gone"}, "ResponseMetadata": {"HTTPStatusCode": 410}}
            raise ClientError(error, operation)  # type: ignore[arg-type]


@pytest.fixture
def recorder(aws: Harness, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        recorder.record(client, operation, params)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return recorder


class Routes:
    """Calls the harness with the route being recorded set."""

    def __init__(self, aws: Harness, recorder: Recorder) -> None:
        self.aws, self.recorder = aws, recorder

    def __getattr__(self, route: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            key = {"disconnect": "$disconnect", "grace": "disconnect-grace"}.get(route, route)
            self.recorder.route = key
            try:
                if route == "grace":
                    return self.aws.end_grace_periods()
                if route == "disconnect":
                    return self.aws.disconnect(*args)
                if route == "join":
                    return self.aws.join(*args, **kwargs)
                return self.aws.send(args[0], {"action": route, **kwargs})
            finally:
                self.recorder.route = None

        return call


def _scenarios(aws: Harness, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Routes(aws, recorder)
    # ice: before joining, and after.
    run.ice("lobby=")
    # join: fresh, announced, resumed (closes the old socket), and a full room whose members are all dead (reaped,
    # the room record deleted).
    a = run.join("a=")
    b = run.join("b=")
    run.join("b2=", peerId=b["peerId"], token=b["token"])
    recorder.dead |= {"a=", "b2="}
    run.join("c=")
    recorder.dead.clear()
    # signal: relayed; to a dead socket (held for its resume); and holding while another invocation held one.
    d = run.join("d=", room="r2", capacity=3)
    e = run.join("e=", room="r2")
    f = run.join("f=", room="r2")
    run.signal("d=", to=e["peerId"], data={"seq": 1})
    recorder.dead.add("e=")
    run.signal("d=", to=e["peerId"], data={"seq": 2})
    recorder.dead.add("f=")
    recorder.on_gone["f="] = lambda: aws.table.update_item(
        Key={"pk": f"peer#{f['peerId']}", "sk": "peer"},
        UpdateExpression="SET mailSeq = :n, mailHeld = :n, mailBytes = :n",
        ExpressionAttributeValues={":n": 1},
    )
    run.signal("d=", to=f["peerId"], data={"seq": 3})
    recorder.dead.clear()
    # leave, telling the others, and the last one deleting the room.
    run.join("g=", room="r3")
    run.join("h=", room="r3")
    run.leave("g=")
    run.leave("h=")
    # $disconnect with the grace period (the default), then the consumer frees the seats and deletes the room.
    run.join("i=", room="r4")
    run.join("j=", room="r4")
    run.disconnect("i=")
    run.disconnect("j=")
    run.grace()
    # $disconnect with no grace period frees the seat itself.
    monkeypatch.setenv("DISCONNECT_GRACE_SECONDS", "0")
    wiring.reset()
    run.join("k=", room="r5", capacity=3)
    l_ = run.join("l=", room="r5")
    m = run.join("m=", room="r5")
    # ... and a signal to a dead socket frees its seat at once, or loses the race to someone who freed it.
    recorder.dead.add("l=")
    run.signal("k=", to=l_["peerId"], data={"seq": 1})
    seat = next(i for i in aws.items() if i["pk"] == "room#r5" and i.get("peerId") == m["peerId"])
    aws.table.delete_item(Key={"pk": seat["pk"], "sk": seat["sk"]})  # freed meanwhile by another invocation
    recorder.dead.add("m=")
    run.signal("k=", to=m["peerId"], data={"seq": 2})
    recorder.dead.clear()
    run.join("n=", room="r5")
    run.disconnect("k=")
    run.disconnect("n=")
    assert a["type"] == d["type"] == "joined"


def test_each_route_calls_exactly_what_it_declares(
    aws: Harness, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scenarios(aws, recorder, monkeypatch)

    for key, spec in FUNCTIONS.items():
        calls = recorder.calls.get(key, set())
        for service, field in SERVICES.items():
            made = sorted(operation for s, operation in calls if s == service)
            assert made == sorted(getattr(spec, field)), f"{key}: {service} calls made {made}"
