"""Logger, Tracer and Metrics, created once; `entrypoint` applies them in the same order to every handler."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def entrypoint(handler: Handler) -> Handler:
    """For WebSocket routes: logs carry API Gateway's request id as the correlation id."""
    return _observed(handler, correlation_id_path="requestContext.requestId")


def queue_entrypoint(handler: Handler) -> Handler:
    """For queue consumers: a batch has no single request id (each record has its messageId)."""
    return _observed(handler, correlation_id_path=None)


def _observed(handler: Handler, *, correlation_id_path: str | None) -> Handler:
    traced = tracer.capture_lambda_handler(handler)
    logged = logger.inject_lambda_context(correlation_id_path=correlation_id_path)(traced)
    published = metrics.log_metrics(logged)

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = published(event, context)
            return response
        finally:
            # With metrics disabled (the local stack, or POWERTOOLS_METRICS_DISABLED in AWS) Powertools neither
            # publishes nor clears them: they would pile up across invocations, and at 100 values of one metric
            # Powertools serialises them anyway, which fails the invocation when no namespace is set.
            metrics.clear_metrics()

    return run
