"""Lambda proxy events for API Gateway WebSocket routes, shaped like the real ones (see tests/events for examples)."""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# API Gateway answers the handshake itself, so the integration never sees these hop-by-hop headers.
_HOP_BY_HOP = frozenset({"connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding", "te"})


def new_id() -> str:
    """An id like API Gateway's connection and request ids ("BFaT_fALIAMCKug="): 11 random bytes, URL-safe
    base64, so 16 characters ending in "="."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def request_time(epoch_ms: int) -> str:
    """API Gateway's requestTime format, e.g. "11/Nov/2024:11:35:24 +0000" (English months whatever the locale)."""
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def trace_id(epoch_ms: int) -> str:
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class ConnectionInfo:
    """What API Gateway keeps from a connection's handshake and repeats in each of its events."""

    connection_id: str
    connected_at: int
    """epoch milliseconds"""
    source_ip: str
    user_agent: str | None
    domain_name: str
    stage: str
    api_id: str

    def identity(self) -> dict[str, str]:
        identity = {"sourceIp": self.source_ip}
        if self.user_agent is not None:
            identity["userAgent"] = self.user_agent
        return identity


def _request_context(info: ConnectionInfo, route_key: str, event_type: str, epoch_ms: int) -> dict[str, Any]:
    request_id = new_id()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(epoch_ms),
        "messageDirection": "IN",
        "stage": info.stage,
        "connectedAt": info.connected_at,
        "requestTimeEpoch": epoch_ms,
        "identity": info.identity(),
        "requestId": request_id,
        "domainName": info.domain_name,
        "connectionId": info.connection_id,
        "apiId": info.api_id,
    }


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_event(
    info: ConnectionInfo,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]] | None,
    *,
    local_port: int,
) -> dict[str, Any]:
    """headers: the request's headers as sent, in order and with their case. query: None when the URL has no
    query string (API Gateway then omits the keys altogether)."""
    epoch_ms = now_ms()
    kept = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    forwarded_for = next((value for name, value in kept if name.lower() == "x-forwarded-for"), None)
    # API Gateway sits in front as a proxy: it appends the caller to X-Forwarded-For and adds its own headers.
    added = {
        "X-Amzn-Trace-Id": trace_id(epoch_ms),
        "X-Forwarded-For": f"{forwarded_for}, {info.source_ip}" if forwarded_for else info.source_ip,
        "X-Forwarded-Port": str(local_port),
        "X-Forwarded-Proto": "http",
    }
    lowered = {name.lower() for name in added}
    kept = [(name, value) for name, value in kept if name.lower() not in lowered]
    single, multi = _single_and_multi([*kept, *added.items()])
    event: dict[str, Any] = {"headers": single, "multiValueHeaders": multi}
    if query is not None:
        event["queryStringParameters"], event["multiValueQueryStringParameters"] = _single_and_multi(query)
    event["requestContext"] = _request_context(info, "$connect", "CONNECT", epoch_ms)
    event["isBase64Encoded"] = False
    return event


def message_event(info: ConnectionInfo, route_key: str, body: str, *, is_base64: bool) -> dict[str, Any]:
    context = _request_context(info, route_key, "MESSAGE", now_ms())
    context = {"routeKey": route_key, "messageId": new_id(), **context}
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def disconnect_event(info: ConnectionInfo, status_code: int, reason: str) -> dict[str, Any]:
    # The recorded $disconnect carries these four headers and nothing from the original handshake.
    headers = {"Host": info.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = _request_context(info, "$disconnect", "DISCONNECT", now_ms())
    context = {"routeKey": "$disconnect", "disconnectStatusCode": status_code, **context}
    context["disconnectReason"] = reason
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }
