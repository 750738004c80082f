"""Configuration, read once from the function's environment into a small typed object."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signaling.definition import (
    DISCONNECT_GRACE_SECONDS,
    FOLLOW_UP_DELAY_SECONDS,
    MAX_QUEUE_DELAY_SECONDS,
    MAX_SIGNAL_BYTES,
)

DEFAULT_ICE_SERVERS: tuple[dict[str, Any], ...] = ({"urls": ["stun:stun.l.google.com:19302"]},)


class ConfigurationError(ValueError):
    """The environment holds a setting the service cannot run with."""


@dataclass(frozen=True)
class Bucket:
    """A per-connection limit (signaling.ratelimit): `burst` requests at once, refilled at `per_second`."""

    name: str
    per_second: float
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000 / self.per_second))

    @property
    def tolerance_ms(self) -> int:
        return self.interval_ms * (self.burst - 1)


MESSAGE_LIMIT = Bucket("messages", per_second=20, burst=100)
"""`signal` and `leave` per socket: bursts of 100, then 20 a second. The bundled client's busiest moment, joining a
full room of 8, sends about 20 signals (offers and candidate batches to 7 peers: bench signal_sizes); a whole
8-person call with a screen share, about 160 frames among all 8 sockets."""
JOIN_LIMIT = Bucket("joins", per_second=0.1, burst=10)
"""`join` per socket: 10 at once, then one every 10 s. A client joins once per socket (a resume opens a new one):
this allows room changes and retries after `room-full`, not a pipeline of joins."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    management_endpoint: str | None = None
    """Management API base URL. None: derive https://{domainName}/{stage} from each event."""
    allowed_origins: frozenset[str] = frozenset()
    """Browser origins allowed to open a socket; "*" allows any. Requests without an Origin are always allowed."""
    max_capacity: int = 8
    default_capacity: int = 2
    max_signal_bytes: int = MAX_SIGNAL_BYTES
    ice_servers: tuple[dict[str, Any], ...] = DEFAULT_ICE_SERVERS
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    """A TURN shared secret given directly (local use). In AWS, turn_secret_arn names a Secrets Manager secret."""
    turn_secret_arn: str | None = None
    turn_ttl_seconds: int = 24 * 60 * 60
    disconnect_grace_seconds: int = DISCONNECT_GRACE_SECONDS
    """0 frees a seat as soon as its socket closes; more needs grace_queue_url."""
    grace_queue_url: str | None = None
    """The SQS queue whose delayed messages end grace periods (signaling.definition.GRACE_QUEUE)."""
    follow_up_delay_seconds: int = FOLLOW_UP_DELAY_SECONDS
    """FOLLOW_UP_DELAY_SECONDS: when a departure's follow-up (signaling.grace.Departure) is delivered."""
    message_limit: Bucket = MESSAGE_LIMIT
    """LIMIT_MESSAGES_PER_SECOND, LIMIT_MESSAGE_BURST."""
    join_limit: Bucket = JOIN_LIMIT
    """LIMIT_JOINS_PER_MINUTE, LIMIT_JOIN_BURST."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        table_name = env.get("TABLE_NAME", "").strip()
        if not table_name:
            raise ConfigurationError("TABLE_NAME is not set")
        settings = cls(
            table_name=table_name,
            management_endpoint=env.get("MANAGEMENT_API_ENDPOINT", "").strip().rstrip("/") or None,
            allowed_origins=frozenset(_split(env.get("ALLOWED_ORIGINS", ""))),
            max_capacity=_int(env, "MAX_CAPACITY", cls.max_capacity),
            max_signal_bytes=_int(env, "MAX_SIGNAL_BYTES", cls.max_signal_bytes),
            ice_servers=_ice_servers(env.get("ICE_SERVERS")),
            turn_urls=tuple(_split(env.get("TURN_URLS", ""))),
            turn_secret=env.get("TURN_SECRET") or None,
            turn_secret_arn=env.get("TURN_SECRET_ARN") or None,
            turn_ttl_seconds=_int(env, "TURN_TTL_SECONDS", cls.turn_ttl_seconds),
            disconnect_grace_seconds=_grace(env.get("DISCONNECT_GRACE_SECONDS", "")),
            grace_queue_url=env.get("GRACE_QUEUE_URL", "").strip() or None,
            follow_up_delay_seconds=_int(env, "FOLLOW_UP_DELAY_SECONDS", FOLLOW_UP_DELAY_SECONDS),
            message_limit=Bucket(
                "messages",
                per_second=_int(env, "LIMIT_MESSAGES_PER_SECOND", int(MESSAGE_LIMIT.per_second)),
                burst=_int(env, "LIMIT_MESSAGE_BURST", MESSAGE_LIMIT.burst),
            ),
            join_limit=Bucket(
                "joins",
                per_second=_int(env, "LIMIT_JOINS_PER_MINUTE", round(JOIN_LIMIT.per_second * 60)) / 60,
                burst=_int(env, "LIMIT_JOIN_BURST", JOIN_LIMIT.burst),
            ),
        )
        if settings.max_signal_bytes > MAX_SIGNAL_BYTES:
            # A browser sends a message as one frame, and API Gateway closes the socket on a frame over 32 KB.
            raise ConfigurationError(f"MAX_SIGNAL_BYTES can be at most {MAX_SIGNAL_BYTES} (one 32 KB frame)")
        if settings.follow_up_delay_seconds > MAX_QUEUE_DELAY_SECONDS:
            raise ConfigurationError(f"FOLLOW_UP_DELAY_SECONDS can be at most {MAX_QUEUE_DELAY_SECONDS}")
        if settings.max_capacity < settings.default_capacity:
            raise ConfigurationError(f"MAX_CAPACITY must be at least {settings.default_capacity}")
        return settings

    def origin_allowed(self, origin: str | None) -> bool:
        # Only browsers send Origin, and the check exists to stop other web sites from using the service
        # through a visitor's browser. A native client can send any Origin it likes, so this is not auth.
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins


def _split(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


def _grace(raw: str) -> int:
    if not raw.strip():
        return DISCONNECT_GRACE_SECONDS
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"DISCONNECT_GRACE_SECONDS must be a whole number of seconds, got {raw!r}") from exc
    if not 0 <= value <= MAX_QUEUE_DELAY_SECONDS:
        # The grace period is an SQS message delay (DelaySeconds), which goes up to 15 minutes.
        raise ConfigurationError(f"DISCONNECT_GRACE_SECONDS must be between 0 and {MAX_QUEUE_DELAY_SECONDS}")
    return value


def _ice_servers(raw: str | None) -> tuple[dict[str, Any], ...]:
    if raw is None or not raw.strip():
        return DEFAULT_ICE_SERVERS
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"ICE_SERVERS is not JSON: {exc}") from exc
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ConfigurationError('ICE_SERVERS must be a JSON list of {"urls": ...} objects')
    return tuple(servers)
