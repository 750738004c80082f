"""The resume grace period as deployed: an SQS delay queue, its consumer and dead-letter queue, least privilege."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template
from cdk_template import actions, properties, resources, role_statements, signaling_functions

from signaling.definition import FUNCTIONS, GRACE_QUEUE, ROUTES_BY_KEY


def _queues(template: Template) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """(logical id, properties) of the grace queue and of its dead-letter queue."""
    queues = resources(template, "AWS::SQS::Queue")
    ((queue_id, queue),) = [(i, q["Properties"]) for i, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    dead_letter_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return queue_id, queue, dead_letter_id, queues[dead_letter_id]["Properties"]


def test_the_grace_queue_is_a_standard_encrypted_queue_with_a_dead_letter_queue(template: Template) -> None:
    _, queue, _, dead_letters = _queues(template)

    assert "FifoQueue" not in queue  # per-message DelaySeconds exists only on standard queues
    assert queue["VisibilityTimeout"] == GRACE_QUEUE.visibility_timeout_seconds
    assert queue["MessageRetentionPeriod"] == GRACE_QUEUE.retention_seconds
    assert queue["RedrivePolicy"]["maxReceiveCount"] == GRACE_QUEUE.max_receive_count
    assert queue["SqsManagedSseEnabled"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True
    assert dead_letters["MessageRetentionPeriod"] == GRACE_QUEUE.dead_letter_retention_seconds


def test_a_retry_never_overlaps_the_invocation_still_working_on_a_message(template: Template) -> None:
    _, queue, _, _ = _queues(template)
    consumer = signaling_functions(template)[GRACE_QUEUE.handler]

    # AWS: the queue's visibility timeout should be at least six times the consumer function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]


def test_both_queues_refuse_requests_without_tls(template: Template) -> None:
    queue_id, _, dead_letter_id, _ = _queues(template)
    guarded = set()
    for policy in properties(template, "AWS::SQS::QueuePolicy"):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                guarded |= {queue["Ref"] for queue in policy["Queues"]}

    assert guarded == {queue_id, dead_letter_id}


def test_the_consumer_reads_the_queue_in_batches_and_reports_partial_failures(template: Template) -> None:
    queue_id, _, _, _ = _queues(template)
    (mapping,) = properties(template, "AWS::Lambda::EventSourceMapping")
    functions = resources(template, "AWS::Lambda::Function")

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert functions[mapping["FunctionName"]["Ref"]]["Properties"]["Handler"] == GRACE_QUEUE.handler
    assert mapping["BatchSize"] == GRACE_QUEUE.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": GRACE_QUEUE.max_concurrency}
    assert "MaximumBatchingWindowInSeconds" not in mapping  # handed over as soon as a grace period ends


def test_only_grace_starters_and_seat_freers_may_send_and_only_the_consumer_may_receive(template: Template) -> None:
    queue_id, _, _, _ = _queues(template)
    functions = signaling_functions(template)
    senders, receivers = set(), set()
    for key, spec in FUNCTIONS.items():
        for statement in role_statements(template, functions[spec.handler or ""]):
            granted = actions(statement)
            if any(action.startswith("sqs:") for action in granted):
                assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
            if "sqs:SendMessage" in granted:
                senders.add(key)
            if "sqs:ReceiveMessage" in granted:
                receivers.add(key)
                assert "sqs:DeleteMessage" in granted

    # $disconnect starts grace periods; whatever frees seats queues the departure's follow-up (signaling.grace).
    expected = {"$disconnect", "join", "signal", "leave", GRACE_QUEUE.key}
    assert senders == {key for key, spec in FUNCTIONS.items() if spec.enqueues_grace} == expected
    assert receivers == {GRACE_QUEUE.key}


def test_disconnect_knows_the_queue_and_no_function_waits_out_the_grace_period(template: Template) -> None:
    queue_id, _, _, _ = _queues(template)
    functions = signaling_functions(template)
    disconnect = functions[ROUTES_BY_KEY["$disconnect"].handler or ""]

    assert disconnect["Environment"]["Variables"]["GRACE_QUEUE_URL"] == {"Ref": queue_id}
    assert disconnect["Timeout"] == ROUTES_BY_KEY["join"].timeout_seconds  # no sleeping: sized like the others
    assert "DISCONNECT_GRACE_SECONDS" not in json.dumps(disconnect["Environment"])  # the definition's default


def test_an_alarm_watches_the_dead_letter_queue(template: Template) -> None:
    _, _, dead_letter_id, _ = _queues(template)
    watched = [
        alarm
        for alarm in properties(template, "AWS::CloudWatch::Alarm")
        if alarm.get("Namespace") == "AWS/SQS"
        and alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letter_id, "QueueName"]}}]
    ]

    (alarm,) = watched
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
