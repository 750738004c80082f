"""Lambda entry points, one per WebSocket route (see signaling.definition.ROUTES). Each parses its event (the frame
exactly once, strictly, through signaling.wire), calls one function of the service and turns a domain error into a
reply.

Every route's function imports this whole module at its cold start, so it imports only what every route needs.
signaling.models (pydantic: about 75 ms) is imported inside the routes that use it, on their first call, so that
$connect never loads it (signaling.wiring defers boto3 the same way). $connect and $disconnect read the one field
each needs from API Gateway's envelope directly: the Powertools parser's event models would cost another ~80 ms to
validate what API Gateway, not the client, wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from signaling import wire, wiring
from signaling.errors import INTERNAL_MESSAGE, BadRequest, SignalingError
from signaling.observability import entrypoint, logger, metrics

OK: dict[str, Any] = {"statusCode": 200}


@entrypoint
def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in event["headers"].items()}
    origin = headers.get("origin")
    if not wiring.settings().origin_allowed(origin):
        logger.warning("origin refused", extra={"origin": origin})
        metrics.add_metric(name="OriginRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": 403, "body": "Origin not allowed"}
    return OK


@entrypoint
def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    conn = event["requestContext"]["connectionId"]
    wiring.service(event["requestContext"]).disconnect(conn)
    return OK


@entrypoint
def default(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from signaling.models import describe_payload, error

    try:
        problem = describe_payload(wire.decode_event(event))
    except BadRequest as exc:
        problem = exc
    metrics.add_metric(name=f"Error-{problem.code}", unit=MetricUnit.Count, value=1)
    return _reply(error(problem.code, problem.message))


@entrypoint
def join(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def run(conn: str) -> dict[str, Any]:
        from signaling.models import Join, validate

        context_ = event["requestContext"]
        request = validate(wire.decode_event(event), Join)
        joined = wiring.service(context_).join(
            conn, request, connected_at=context_["connectedAt"] / 1000, admit=_limit(conn, "join_limit")
        )
        metrics.add_metric(name="Resumed" if joined["resumed"] else "Joined", unit=MetricUnit.Count, value=1)
        return _reply(joined)

    return _guard(event, "join", run, reply=True)


@entrypoint
def signal(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def run(conn: str) -> dict[str, Any]:
        from signaling.models import Signal, validate

        request = validate(wire.decode_event(event), Signal)
        wiring.service(event["requestContext"]).signal(conn, request, admit=_limit(conn, "message_limit"))
        return OK

    return _guard(event, "signal", run, reply=False)


@entrypoint
def leave(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def run(conn: str) -> dict[str, Any]:
        from signaling.models import Leave, validate

        validate(wire.decode_event(event), Leave)
        wiring.service(event["requestContext"]).leave(conn, admit=_limit(conn, "message_limit"))
        return OK

    return _guard(event, "leave", run, reply=False)


@entrypoint
def ice(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def run(conn: str) -> dict[str, Any]:
        from signaling.ice import lobby_message

        payload = wire.decode_event(event)  # strictly parsed like every frame; `ice` has no fields of its own
        if payload.get("action") != "ice":
            raise BadRequest("'action' must be \"ice\" on this route.")
        return _reply(lobby_message(wiring.ice_servers(f"conn-{conn}")))

    return _guard(event, "ice", run, reply=True)


def _limit(conn: str, bucket: Literal["join_limit", "message_limit"]) -> Callable[[], None]:
    """The request's per-connection limit (signaling.ratelimit), for the service to take alongside its first read.
    Only requests that passed validation get here: a malformed frame costs no token."""
    limits = wiring.limiter()
    chosen = getattr(wiring.settings(), bucket)
    return lambda: limits.admit(conn, chosen)


def _guard(event: dict[str, Any], action: str, run: Callable[[str], dict[str, Any]], *, reply: bool) -> dict[str, Any]:
    """Turn any failure into an error message for the caller: the route response on two-way routes, a post on
    the others. Unexpected failures are logged with their stack and reported as `internal`, without details."""
    from signaling.models import error

    conn = event["requestContext"]["connectionId"]
    try:
        return run(conn)
    except SignalingError as exc:
        metrics.add_metric(name=f"Error-{exc.code}", unit=MetricUnit.Count, value=1)
        message = error(exc.code, exc.message, action)
        if exc.retry_after_ms is not None:
            message["retryAfterMs"] = exc.retry_after_ms
    except Exception as exc:
        from signaling.faults import transient

        busy = transient(exc)
        if busy is not None:
            logger.warning("a dependency failed", extra={"action": action, "error": repr(exc)})
            metrics.add_metric(name=f"Error-{busy.code}", unit=MetricUnit.Count, value=1)
            message = error(busy.code, busy.message, action) | {"retryAfterMs": busy.retry_after_ms}
        else:
            logger.exception("unhandled error", extra={"action": action})
            metrics.add_metric(name="Error-internal", unit=MetricUnit.Count, value=1)
            message = error("internal", INTERNAL_MESSAGE, action)
    if reply:
        return _reply(message)
    try:
        wiring.sender(event["requestContext"]).send(conn, wire.dumps(message))
    except Exception:
        logger.exception("could not post the error to the caller")
    return OK


def _reply(message: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": wire.dumps(message)}
