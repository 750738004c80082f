"""Grace periods and departures' follow-through as delayed SQS messages on one queue (GRACE_QUEUE).

- GraceOver: $disconnect starts a grace period, and the seat is freed when the message is delivered.
- Departure: freeing a seat queues one *before* it commits, delayed past any invocation's timeout
  (signaling.definition.FOLLOW_UP_DELAY_SECONDS). The removal writes a departure record in the same transaction, and
  the invocation deletes it once the room was told `peer-left`. If the invocation died between the two (a timeout, a
  crash), the message finds the record and tells the room then: the announcement survives the invocation.

Nothing sleeps: a Lambda that waited out the grace period would hold an execution environment (and a share of the
account's concurrency) for all of it, exactly when many sockets drop at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signaling.settings import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class MalformedGraceMessage(ValueError):
    """A queue message that is not one this module sent: retrying cannot help, so it ends in the dead-letter queue."""


@dataclass(frozen=True)
class GraceOver:
    """The body of one queue message: "socket `connection_id` of the API at `domain_name`/`stage` closed a grace
    period ago". The API's address lets the consumer post `peer-left` through the right Management API endpoint."""

    connection_id: str
    domain_name: str
    stage: str

    def dumps(self) -> str:
        return json.dumps(
            {"connectionId": self.connection_id, "domainName": self.domain_name, "stage": self.stage},
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, body: str) -> GraceOver:
        try:
            fields = json.loads(body)
            values = (fields["connectionId"], fields["domainName"], fields["stage"])
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedGraceMessage(f"not a grace message: {body[:200]!r}") from exc
        if not all(isinstance(value, str) and value for value in values):
            raise MalformedGraceMessage(f"not a grace message: {body[:200]!r}")
        return cls(*values)

    @property
    def request_context(self) -> dict[str, Any]:
        """The part of an API Gateway request context that wiring.service() reads."""
        return {"domainName": self.domain_name, "stage": self.stage}


@dataclass(frozen=True)
class Departure:
    """The body of a follow-up message: "peer `peer_id`, on socket `connection_id`, was being removed; if the room
    was not told, tell it"."""

    peer_id: str
    connection_id: str
    domain_name: str
    stage: str

    def dumps(self) -> str:
        fields = {"kind": "departure", "peerId": self.peer_id, "connectionId": self.connection_id}
        return json.dumps(fields | {"domainName": self.domain_name, "stage": self.stage}, separators=(",", ":"))

    @property
    def request_context(self) -> dict[str, Any]:
        return {"domainName": self.domain_name, "stage": self.stage}


def loads(body: str) -> GraceOver | Departure:
    """Either message kind from a queue message's body; MalformedGraceMessage for anything else."""
    try:
        fields = json.loads(body)
        kind = fields.get("kind") if isinstance(fields, dict) else None
    except ValueError as exc:
        raise MalformedGraceMessage(f"not a grace message: {body[:200]!r}") from exc
    if kind is None:
        return GraceOver.loads(body)
    try:
        values = (fields["peerId"], fields["connectionId"], fields["domainName"], fields["stage"])
    except KeyError as exc:
        raise MalformedGraceMessage(f"not a departure message: {body[:200]!r}") from exc
    if kind != "departure" or not all(isinstance(value, str) and value for value in values):
        raise MalformedGraceMessage(f"not a departure message: {body[:200]!r}")
    return Departure(*values)


class GraceQueue:
    """Sends "grace over" messages, each delayed by the grace period. The client is created on first use, so the
    routes that never start a grace period never build one."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str | None, request_context: dict[str, Any]) -> None:
        self._client = client
        self._queue_url = queue_url
        self._domain_name = str(request_context["domainName"])
        self._stage = str(request_context["stage"])

    def start(self, conn: str, delay_seconds: int) -> None:
        if not self._queue_url:
            raise ConfigurationError("GRACE_QUEUE_URL is not set, so no grace period can start")
        message = GraceOver(conn, self._domain_name, self._stage)
        self._client().send_message(QueueUrl=self._queue_url, MessageBody=message.dumps(), DelaySeconds=delay_seconds)

    def follow_up(self, peer_id: str, conn: str, delay_seconds: int) -> bool:
        """Queue a Departure; False (and nothing queued) when no queue is configured (a deployment without grace
        periods): the removal's announcement is then only as durable as the invocation."""
        if not self._queue_url:
            return False
        message = Departure(peer_id, conn, self._domain_name, self._stage)
        self._client().send_message(QueueUrl=self._queue_url, MessageBody=message.dumps(), DelaySeconds=delay_seconds)
        return True
