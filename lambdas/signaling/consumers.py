"""Lambda entry points for queue consumers (SQS event source mappings; see signaling.definition.GRACE_QUEUE)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from signaling import grace, wiring
from signaling.observability import queue_entrypoint

_processor = BatchProcessor(event_type=EventType.SQS)


@queue_entrypoint
def grace_expired(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Free the seats whose grace period is over, and finish the departures an invocation left unannounced.
    Delivery is at least once and both are conditional, so a message delivered twice, or after a resume or a
    `leave`, changes nothing. Failed records are reported back (ReportBatchItemFailures) and retried alone; a record
    that keeps failing ends in the dead-letter queue."""
    response = process_partial_response(event=event, record_handler=_release, processor=_processor, context=context)
    return dict(response)


def _release(record: SQSRecord) -> None:
    message = grace.loads(record.body)
    service = wiring.service(message.request_context)
    if isinstance(message, grace.Departure):
        service.departure_over(message.peer_id, message.connection_id)
    else:
        service.grace_over(message.connection_id)
