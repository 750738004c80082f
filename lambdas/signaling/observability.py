"""Logger and Metrics, created once; `entrypoint` applies them in the same order to every handler.

Tracing: every function has X-Ray active tracing (infra), so Lambda itself records a segment per invocation, with
its initialisation, invocation and overhead, without any SDK in the function. The Powertools Tracer would add a
subsegment for each boto3 call (DynamoDB, the Management API, SQS), but importing it loads aws_xray_sdk, about 110 ms
of every cold start, more than the rest of a handler's imports together. So it is off unless a function's
environment sets TRACE_AWS_CALLS=true (for a latency investigation; it then costs that at initialisation).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from signaling import budget

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

TRACE_AWS_CALLS = "TRACE_AWS_CALLS"
"""The environment variable that turns on the Powertools Tracer (subsegments for AWS calls)."""


def entrypoint(handler: Handler) -> Handler:
    """For WebSocket routes: logs carry API Gateway's request id as the correlation id."""
    return _observed(handler, correlation_id_path="requestContext.requestId")


def queue_entrypoint(handler: Handler) -> Handler:
    """For queue consumers: a batch has no single request id (each record has its messageId)."""
    return _observed(handler, correlation_id_path=None)


def _observed(handler: Handler, *, correlation_id_path: str | None) -> Handler:
    traced = _traced(handler)
    logged = logger.inject_lambda_context(correlation_id_path=correlation_id_path)(traced)
    published = metrics.log_metrics(logged)

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Whatever the handler waits for, it waits at most until its budget's deadline (signaling.budget).
        started = budget.start(context)
        try:
            response: dict[str, Any] = published(event, context)
            return response
        finally:
            budget.end(started)
            # With metrics disabled (the local stack, or POWERTOOLS_METRICS_DISABLED in AWS) Powertools neither
            # publishes nor clears them: they would pile up across invocations, and at 100 values of one metric
            # Powertools serialises them anyway, which fails the invocation when no namespace is set.
            metrics.clear_metrics()

    return run


def _traced(handler: Handler) -> Handler:
    if os.environ.get(TRACE_AWS_CALLS, "").lower() != "true":
        return handler
    return _tracer().capture_lambda_handler(handler)


@functools.cache
def _tracer() -> Tracer:
    # Imported here, at initialisation and only when asked for: see the module's docstring. One Tracer for all
    # handlers; creating it patches botocore, so every client made afterwards records its calls.
    from aws_lambda_powertools import Tracer

    return Tracer()
