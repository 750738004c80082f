"""Logger, Tracer and Metrics, created once; `entrypoint` applies them in the same order to every handler."""

from __future__ import annotations

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
    return metrics.log_metrics(logged)
