"""SQS queues and their Lambda event source mappings, as AWS runs them, on moto's SQS.

The queue itself is moto's (in this process, behind the same lock as DynamoDB): per-message delays, visibility
timeouts, receive counts and the redrive to a dead-letter queue behave as SQS documents them. What Lambda's event
source mapping does is emulated here, from the same `QueueSpec` the CDK stack deploys:
- it polls the queue and invokes the consumer with up to `batch_size` messages, in Lambda's SQS event shape, with
  at most `max_concurrency` invocations at once;
- it deletes what the consumer processed. With ReportBatchItemFailures, the records named in `batchItemFailures`
  stay; if the function raised, or answered with an item identifier that is not in the batch, the whole batch stays.
  What stays becomes visible again after the visibility timeout, and after `max_receive_count` receives SQS moves it
  to the dead-letter queue;
- delivery is at least once: a share of the messages it processed (`redeliver`) is delivered a second time, as a
  standard queue sometimes does, so consumers are always exercised for idempotency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from devstack.runtime import LambdaThrottled
from signaling.definition import QueueSpec

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("devstack")

POLL_INTERVAL_SECONDS = 0.05
"""How often an idle mapping looks at the queue again. Lambda long-polls, so a message is picked up about as soon as
it becomes visible; a short local poll keeps that (a long poll would hold the moto lock)."""

Invoke = Callable[[dict[str, Any]], Awaitable[Any]]


def housekeep_queues(region: str, lock: threading.Lock, now: float | None = None) -> dict[str, int]:
    """What SQS does in the background and moto does not, over every queue of the region:

    - drop messages older than their queue's MessageRetentionPeriod (as of `now`, epoch seconds): moto keeps them
      forever (it only stops delivering them), so a dead-letter queue nobody reads would grow without end;
    - forget the receipt handles of deleted messages: moto remembers every one, forever (so that deleting one again
      succeeds). A second delete of a message deleted before the last housekeeping then gets ReceiptHandleIsInvalid,
      as a stale receipt handle can in SQS; the event source mapping deletes each receipt once.

    How many messages and receipt handles went."""
    cutoff = time.time() if now is None else now
    expired = forgotten = 0
    with lock:
        for queue in sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.values():
            retention = int(queue.message_retention_period)  # type: ignore[attr-defined]  # set from its attributes
            kept: list[Any] = []
            gone: list[Any] = []
            for message in queue._messages:
                (kept if (message.sent_timestamp or 0) / 1000 + retention > cutoff else gone).append(message)
            for message in gone:
                queue.pending_messages.discard(message)
            expired += len(gone)
            queue._messages = kept
            forgotten += len(queue.deleted_messages)
            queue.deleted_messages = set()
    return {"expired_messages": expired, "receipts": forgotten}


def deleted_receipts(region: str, lock: threading.Lock) -> int:
    """How many deleted receipt handles moto holds, over every queue."""
    with lock:
        return sum(len(queue.deleted_messages) for queue in sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.values())


@dataclass(frozen=True)
class LocalQueue:
    url: str
    arn: str
    dead_letter_url: str


def create_queue(client: SQSClient, spec: QueueSpec, name: str) -> LocalQueue:
    """The queue and its dead-letter queue, as the CDK stack declares them."""
    dead_letter_request, queue_request = spec.create_queue_requests(name)
    dead_letter_url = client.create_queue(**dead_letter_request)["QueueUrl"]
    dead_letter_arn = _arn(client, dead_letter_url)
    url = client.create_queue(**queue_request(dead_letter_arn))["QueueUrl"]
    return LocalQueue(url=url, arn=_arn(client, url), dead_letter_url=dead_letter_url)


def _arn(client: SQSClient, url: str) -> str:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@dataclass
class EventSourceMapping:
    """One queue's event source mapping. `poll_once` delivers one batch synchronously (handler tests use it);
    `run` is the mapping's loop in the local stack."""

    spec: QueueSpec
    client: SQSClient
    queue: LocalQueue
    region: str
    redeliver: float = 0.0
    """The share of successfully processed messages that is delivered a second time (at-least-once delivery)."""
    rng: random.Random = field(default_factory=random.Random)
    ticks: int = field(default=0, init=False)
    """Turns of the mapping's loop (each either starts a batch or waits a poll interval)."""
    _stopping: asyncio.Event | None = field(default=None, init=False, repr=False)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    # --- one batch ----------------------------------------------------------------------------------------------

    def receive(self) -> list[dict[str, Any]]:
        response = self.client.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=self.spec.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])  # type: ignore[assignment]
        return messages

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Lambda's SQS event for a batch (the shape of tests/events/sqs.json)."""
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": _record_attributes(message.get("Attributes", {})),
                    "messageAttributes": _record_message_attributes(message.get("MessageAttributes", {})),
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue.arn,
                    "awsRegion": self.region,
                }
                for message in messages
            ]
        }

    def settle(self, messages: list[dict[str, Any]], response: Any, *, raised: bool = False) -> None:
        """Delete what the consumer processed; leave the rest to become visible again."""
        failed = _failed_ids(messages, response, raised=raised)
        done = [message for message in messages if message["MessageId"] not in failed]
        again = [message for message in done if _first_delivery(message) and self.rng.random() < self.redeliver]
        for message in again:
            self.client.change_message_visibility(
                QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        delete = [message for message in done if message not in again]
        if delete:
            self.client.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(delete)],
            )

    def poll_once(self, invoke: Callable[[dict[str, Any]], Any]) -> int:
        """Receive one batch, invoke the consumer with it and settle it; the number of messages delivered."""
        messages = self.receive()
        if not messages:
            return 0
        try:
            response = invoke(self.event(messages))
        except Exception:
            log.exception("%s consumer %s failed", self.spec.key, self.spec.handler)
            self.settle(messages, None, raised=True)
        else:
            self.settle(messages, response)
        return len(messages)

    # --- the mapping's loop ---------------------------------------------------------------------------------------

    async def run(self, invoke: Invoke) -> None:
        """Poll and deliver until stop(), with at most `max_concurrency` batches in flight."""
        self._stopping = asyncio.Event()
        while not self._stopping.is_set():
            self.ticks += 1
            if len(self._in_flight) < self.spec.max_concurrency:
                messages = await asyncio.to_thread(self.receive)
                if messages:
                    task = asyncio.create_task(self._deliver(invoke, messages))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_INTERVAL_SECONDS)

    async def _deliver(self, invoke: Invoke, messages: list[dict[str, Any]]) -> None:
        try:
            response = await invoke(self.event(messages))
        except LambdaThrottled:
            # The function's concurrency is in use: the batch goes back to the queue, visible again after the
            # visibility timeout, its receive count raised. (Lambda may first retry a throttled batch within the
            # visibility timeout, which AWS sizes at six times the function's timeout for that; not emulated.)
            log.warning(
                "%s consumer %s throttled; %d messages stay queued", self.spec.key, self.spec.handler, len(messages)
            )
            await asyncio.to_thread(self.settle, messages, None, raised=True)
        except Exception:
            log.exception("%s consumer %s failed", self.spec.key, self.spec.handler)
            await asyncio.to_thread(self.settle, messages, None, raised=True)
        else:
            await asyncio.to_thread(self.settle, messages, response)

    async def stop(self, timeout: float) -> None:
        """Stop polling and let the batches in flight finish (for at most `timeout` seconds)."""
        if self._stopping is not None:
            self._stopping.set()
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=timeout)

    @property
    def in_flight(self) -> int:
        """Batches delivered and not yet settled (at most max_concurrency)."""
        return len(self._in_flight)

    def pending(self) -> int:
        """Messages not yet settled: waiting (delayed ones included), received and in flight."""
        response = self.client.get_queue_attributes(QueueUrl=self.queue.url, AttributeNames=["All"])
        attributes: dict[str, str] = response["Attributes"]  # type: ignore[assignment]
        return sum(int(attributes.get(name, "0")) for name in _PENDING)

    def dead_letters(self) -> list[dict[str, Any]]:
        """What the dead-letter queue holds (received without deleting, so it stays)."""
        response = self.client.receive_message(
            QueueUrl=self.queue.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])  # type: ignore[assignment]
        return messages


def _failed_ids(messages: list[dict[str, Any]], response: Any, *, raised: bool) -> set[str]:
    """The message ids to keep, as the event source mapping reads a ReportBatchItemFailures response: a function
    error, or a response naming an identifier that is not in the batch (or none at all), fails the whole batch; no
    response or no `batchItemFailures` means every record succeeded."""
    everything = {message["MessageId"] for message in messages}
    if raised:
        return everything
    if not isinstance(response, dict) or response.get("batchItemFailures") is None:
        return set()
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return everything
    ids = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
    if not ids <= everything:
        return everything
    return {str(identifier) for identifier in ids}


def _first_delivery(message: dict[str, Any]) -> bool:
    return str(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) == "1"


_PENDING = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
_RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")


def _record_attributes(attributes: dict[str, str]) -> dict[str, str]:
    return {name: attributes[name] for name in _RECORD_ATTRIBUTES if name in attributes}


def _record_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    # ReceiveMessage spells them StringValue/DataType; the Lambda event spells them stringValue/dataType.
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }
