"""The local SQS queue and its Lambda event source mapping (devstack/queues.py), with a test-only consumer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from devstack.server import LocalStack
from tests import events

from . import echo_handlers
from .conftest import eventually, shape


def _start(
    start_local_stack: Callable[..., LocalStack],
    redeliver: float = 0.0,
    reserved: dict[str, int] | None = None,
    **spec: Any,
) -> LocalStack:
    return start_local_stack(
        routes=echo_handlers.routes(), grace_queue=echo_handlers.queue(**spec), redeliver=redeliver, reserved=reserved
    )


def _send(stack: LocalStack, *bodies: str, delay: int = 0) -> None:
    assert stack.grace_mapping is not None
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in bodies:
        sqs.send_message(QueueUrl=stack.grace_mapping.queue.url, MessageBody=body, DelaySeconds=delay)


def _delivered() -> list[str]:
    return [record["body"] for batch in echo_handlers.BATCHES for record in batch["Records"]]


def test_the_consumer_gets_lambdas_sqs_event(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = _start(start_local_stack)

    _send(stack, '{"hello": 1}')

    (event,) = eventually(lambda: list(echo_handlers.BATCHES))
    assert shape(event) == shape(events.load("sqs.json"))
    (record,) = event["Records"]
    assert record["body"] == '{"hello": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.grace_mapping.queue.arn  # type: ignore[union-attr]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    stack.wait_idle()  # and it was deleted


def test_batches_hold_at_most_the_batch_size(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = _start(start_local_stack, batch_size=2)

    _send(stack, *(f"m{i}" for i in range(7)))
    stack.wait_idle()

    assert sorted(_delivered()) == [f"m{i}" for i in range(7)]
    assert max(len(batch["Records"]) for batch in echo_handlers.BATCHES) == 2


def test_a_delayed_message_is_not_delivered_before_its_delay(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = _start(start_local_stack)

    sent = time.monotonic()
    _send(stack, "later", delay=1)
    eventually(lambda: _delivered() == ["later"])

    assert time.monotonic() - sent >= 1.0


def test_a_failed_record_stays_in_the_queue_and_the_rest_of_its_batch_is_deleted(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = _start(start_local_stack, visibility_timeout_seconds=1)

    _send(stack, "ok", "fail")
    # The failed record is delivered again once its visibility timeout passes; "ok" never is.
    eventually(lambda: _delivered().count("fail") >= 2)

    assert _delivered().count("ok") == 1
    again = [r for b in echo_handlers.BATCHES for r in b["Records"] if r["body"] == "fail"][1]
    assert again["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_batch_whose_function_raised_is_delivered_again_whole(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = _start(start_local_stack, visibility_timeout_seconds=1)

    _send(stack, "raise")
    eventually(lambda: _delivered().count("raise") >= 2)


def test_a_record_that_keeps_failing_ends_in_the_dead_letter_queue(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = _start(start_local_stack, visibility_timeout_seconds=1, max_receive_count=2)
    assert stack.grace_mapping is not None

    _send(stack, "fail")
    dead = eventually(stack.grace_mapping.dead_letters, timeout=10)

    assert [m["Body"] for m in dead] == ["fail"]
    assert _delivered() == ["fail", "fail"]


def test_no_more_batches_run_at_once_than_the_maximum_concurrency(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stack = _start(start_local_stack, batch_size=1, max_concurrency=2)
    mapping = stack.grace_mapping
    assert mapping is not None

    _send(stack, "wait", "wait", "wait", "wait")
    eventually(lambda: len(echo_handlers.BATCHES) >= 2)
    seen = mapping.ticks
    eventually(lambda: mapping.ticks >= seen + 3)  # three more turns of its loop, with two messages waiting
    started_while_blocked = len(echo_handlers.BATCHES)
    echo_handlers.RELEASE.set()
    stack.wait_idle()

    assert started_while_blocked == 2
    assert max(echo_handlers.CONCURRENCY) == 2
    assert _delivered() == ["wait"] * 4


def test_delivery_is_at_least_once(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = _start(start_local_stack, redeliver=1.0)

    _send(stack, "once")
    stack.wait_idle()

    counts = [r["attributes"]["ApproximateReceiveCount"] for b in echo_handlers.BATCHES for r in b["Records"]]
    assert counts == ["1", "2"]  # delivered a second time, then deleted


def test_housekeeping_drops_messages_past_their_queues_retention(echo_stack: LocalStack) -> None:
    """moto keeps expired messages forever; SQS deletes them after MessageRetentionPeriod (the dead-letter queue,
    which nothing in the stack reads, would otherwise grow without end)."""
    mapping = echo_stack.grace_mapping
    assert mapping is not None
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=mapping.queue.dead_letter_url, MessageBody="dead")
    retention = mapping.spec.dead_letter_retention_seconds

    kept = echo_stack.housekeeping(now=time.time() + retention - 60)
    assert kept["expired_messages"] == 0
    assert [m["Body"] for m in mapping.dead_letters()] == ["dead"]

    dropped = echo_stack.housekeeping(now=time.time() + retention + 1)
    assert dropped["expired_messages"] == 1
    assert mapping.dead_letters() == []


def test_a_batch_throttled_by_the_consumers_reserved_concurrency_returns_to_the_queue(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    """A reservation below the mapping's maximum concurrency (what AWS advises against): the mapping invokes more
    batches than the function may run, Lambda throttles them, and their messages come back after the visibility
    timeout, none lost and none processed while throttled."""
    stack = _start(
        start_local_stack,
        reserved={"echo-queue": 1},
        batch_size=1,
        max_concurrency=2,
        visibility_timeout_seconds=1,
    )
    _send(stack, "wait", "wait")
    eventually(lambda: stack.invoker.throttled >= 1)  # one batch runs and holds the only unit; the other is refused
    assert _delivered() == ["wait"]  # the throttled batch never reached the function
    echo_handlers.RELEASE.set()
    stack.wait_idle()

    assert _delivered() == ["wait", "wait"]  # delivered again once visible, and processed
