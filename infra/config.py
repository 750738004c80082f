"""The deployment's settings: read once from CDK context into one typed object.

Every setting can live in cdk.json's "context" or be given on the command line (`cdk deploy -c maxCapacity=4`).
Command-line values always arrive as strings, cdk.json values as JSON, so each parser accepts both.
docs/deploy.md documents every key; tests check that cdk.json's values equal the defaults below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Node

from signaling.definition import (
    ACCOUNT_THROTTLE,
    MAX_SIGNAL_BYTES,
    STAGE_THROTTLE,
    UNRESERVED_CONCURRENCY_MINIMUM,
    reserved_concurrency,
)

RESERVATION_MODES = ("auto", "true", "false")

# CloudWatch Logs accepts only these retention periods.
_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
LOG_RETENTION_DAYS = tuple(_RETENTION)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# A layer *version* ARN (Lambda's LayerVersionArn pattern): the trailing :N is required, a function ARN is not one.
# Graviton instance families: a "g" right after the generation digit (t4g, c7g, m8g, c7gn, r7gd...).
_GRAVITON = re.compile(r"[a-z]+[0-9]+g[a-z]*\.[a-z0-9]+")
_LAYER_VERSION_ARN = re.compile(r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9_-]+:[0-9]+")


class ConfigError(ValueError):
    """A context value the stack cannot be built with."""


@dataclass(frozen=True)
class Config:
    """Deployment settings. Field metadata "context" is the context key."""

    max_capacity: int = field(default=8, metadata={"context": "maxCapacity"})
    allowed_origins: tuple[str, ...] = field(default=(), metadata={"context": "allowedOrigins"})
    """Browser origins allowed besides the site's own CloudFront (or custom-domain) origin."""
    ice_servers: tuple[dict[str, Any], ...] = field(
        default=({"urls": ["stun:stun.l.google.com:19302"]},), metadata={"context": "iceServers"}
    )
    turn_secret_name: str | None = field(default=None, metadata={"context": "turnSecretName"})
    """Name of a Secrets Manager secret holding a TURN REST API shared secret (coturn `use-auth-secret`)."""
    turn_urls: tuple[str, ...] = field(default=(), metadata={"context": "turnUrls"})
    turn: bool = field(default=False, metadata={"context": "turn"})
    """Deploy coturn on EC2 (infra/turn_server.py); its URLs join turnUrls and it shares the TURN secret."""
    turn_count: int = field(default=1, metadata={"context": "turnCount"})
    turn_instance_type: str = field(default="t4g.small", metadata={"context": "turnInstanceType"})
    turn_domain_name: str | None = field(default=None, metadata={"context": "turnDomainName"})
    """A DNS name for the first TURN server (turn.example.com; then turn-2.example.com...): adds turns: on 443."""
    max_signal_bytes: int | None = field(default=None, metadata={"context": "maxSignalBytes"})
    throttle_rate: int = field(default=STAGE_THROTTLE.rate, metadata={"context": "throttleRate"})
    """Steady-state requests per second for the whole stage (every socket together); the local stack's default too."""
    throttle_burst: int = field(default=STAGE_THROTTLE.burst, metadata={"context": "throttleBurst"})
    reserved_concurrency: str = field(default="auto", metadata={"context": "reservedConcurrency"})
    """Each function's bulkhead (signaling.definition.reserved_concurrency, sized from throttleRate). "auto": only
    when accountConcurrency is known and holds them with 100 left unreserved (otherwise none, with a synth
    warning); "true": always (synthesis fails if accountConcurrency is known and cannot hold them); "false": never."""
    account_concurrency: int | None = field(default=None, metadata={"context": "accountConcurrency"})
    """The Lambda concurrency this stack may reserve from: the account's unreserved concurrency in the region plus
    what this stack's functions already reserve. `make deploy` reads it from the account (infra/account.py); a
    guess here could make a deploy fail, so there is no default."""
    log_retention_days: int = field(default=30, metadata={"context": "logRetentionDays"})
    log_level: str = field(default="INFO", metadata={"context": "logLevel"})
    memory_size: int = field(default=256, metadata={"context": "memorySize"})
    alarms: bool = field(default=True, metadata={"context": "alarms"})
    """CloudWatch alarms are the only fixed monthly cost (about $0.10 per alarm metric); false drops them."""
    alarm_email: str | None = field(default=None, metadata={"context": "alarmEmail"})
    retain_table: bool = field(default=False, metadata={"context": "retainTable"})
    domain_name: str | None = field(default=None, metadata={"context": "domainName"})
    certificate_arn: str | None = field(default=None, metadata={"context": "certificateArn"})
    """ACM certificate in us-east-1 covering domain_name (CloudFront only reads certificates from us-east-1)."""
    powertools_layer_arn: str | None = field(default=None, metadata={"context": "powertoolsLayerArn"})
    """A Lambda layer version ARN used verbatim for Powertools instead of the one the public SSM parameter of the
    installed release names (infra/powertools.py): for partitions and regions without that parameter, or to pin."""
    api_gateway_cloudwatch_role: bool = field(default=True, metadata={"context": "apiGatewayCloudWatchRole"})
    """Set API Gateway's account-wide CloudWatch Logs role, without which a WebSocket stage cannot log. False
    when the account (in this region) already has one: there is one such setting per account and region."""

    def __post_init__(self) -> None:
        if self.max_capacity < 2:
            raise ConfigError("maxCapacity must be at least 2 (a room of one is not a call)")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"logLevel must be one of {LOG_LEVELS}")
        if not 128 <= self.memory_size <= 10240:
            raise ConfigError("memorySize must be between 128 and 10240 MB")
        if self.throttle_burst < self.throttle_rate:
            raise ConfigError("throttleBurst must be at least throttleRate")
        if self.throttle_rate > ACCOUNT_THROTTLE.rate:
            # API Gateway refuses stage limits above the account's; raise the account quota first.
            raise ConfigError(f"throttleRate cannot exceed the account throttle quota ({ACCOUNT_THROTTLE.rate}/s)")
        if self.reserved_concurrency not in RESERVATION_MODES:
            raise ConfigError(f"reservedConcurrency must be one of {', '.join(RESERVATION_MODES)}")
        if self.reserved_concurrency == "true" and not self._reservations_fit():
            raise ConfigError(self._reservations_do_not_fit())
        if self.max_signal_bytes is not None and self.max_signal_bytes > MAX_SIGNAL_BYTES:
            # A browser sends each message as one frame; API Gateway closes the socket on a frame over 32 KB.
            raise ConfigError(
                f"maxSignalBytes can be at most {MAX_SIGNAL_BYTES}: a larger signal would not fit in one 32 KB "
                "WebSocket frame"
            )
        if self.alarm_email and not self.alarms:
            raise ConfigError("alarmEmail needs alarms=true")
        if self.turn_count > 1 and not self.turn:
            raise ConfigError("turnCount needs turn=true")
        if self.turn_domain_name and not self.turn:
            raise ConfigError("turnDomainName needs turn=true")
        if self.turn_domain_name and "." not in self.turn_domain_name:
            raise ConfigError(f"turnDomainName must be a DNS name like turn.example.com, got {self.turn_domain_name!r}")
        if not _GRAVITON.fullmatch(self.turn_instance_type):
            # coturn is installed from Ubuntu's arm64 image: the type must be a Graviton (arm64) one.
            raise ConfigError(
                f"turnInstanceType must be a Graviton (arm64) type like t4g.small, got {self.turn_instance_type!r}"
            )
        if bool(self.domain_name) != bool(self.certificate_arn):
            raise ConfigError("domainName and certificateArn go together")
        if self.powertools_layer_arn is not None and not _LAYER_VERSION_ARN.fullmatch(self.powertools_layer_arn):
            # Caught here, not by CloudFormation after the stack update has begun.
            raise ConfigError(
                "powertoolsLayerArn must be a layer version ARN like "
                f"arn:aws:lambda:eu-west-1:123456789012:layer:name:3, got {self.powertools_layer_arn!r}"
            )
        for origin in self.allowed_origins:
            # "*" would let any web site use the service through its visitors' browsers: list origins instead.
            if not origin.startswith(("https://", "http://")):
                raise ConfigError(f"allowedOrigins entries are origins like https://example.com, got {origin!r}")

    @property
    def reserved(self) -> dict[str, int]:
        """Reserved concurrency by function key ({} when none is reserved: see reservation_warning)."""
        if self.reserved_concurrency == "true" or (
            self.reserved_concurrency == "auto" and self.account_concurrency is not None and self._reservations_fit()
        ):
            return reserved_concurrency(self.throttle_rate)
        return {}

    @property
    def reserved_total(self) -> int:
        return sum(reserved_concurrency(self.throttle_rate).values())

    @property
    def reservation_warning(self) -> str | None:
        """Why "auto" reserved nothing, for a synth warning; None when it reserved or was told not to."""
        if self.reserved_concurrency != "auto" or self.reserved:
            return None
        if self.account_concurrency is None:
            return (
                "no reserved concurrency (bulkheads): the account's Lambda concurrency is unknown. `make deploy` "
                "reads it; with the CDK CLI alone pass -c accountConcurrency=N (docs/deploy.md, Capacity)"
            )
        return self._reservations_do_not_fit() + "; deploying without bulkheads"

    def _reservations_fit(self) -> bool:
        available = self.account_concurrency
        return available is None or available - self.reserved_total >= UNRESERVED_CONCURRENCY_MINIMUM

    def _reservations_do_not_fit(self) -> str:
        return (
            f"the functions' reserved concurrency ({self.reserved_total} at throttleRate {self.throttle_rate}) "
            f"must leave {UNRESERVED_CONCURRENCY_MINIMUM} of accountConcurrency ({self.account_concurrency}) "
            "unreserved: raise the account's Lambda quota, lower throttleRate, or set reservedConcurrency=false"
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def application_log_level(self) -> lambda_.ApplicationLogLevel:
        # Lambda's log filter spells it WARN; Python's logging (and so Powertools' LOG_LEVEL) spells it WARNING.
        return lambda_.ApplicationLogLevel("WARN" if self.log_level == "WARNING" else self.log_level)

    @classmethod
    def from_context(cls, node: Node) -> Config:
        values: dict[str, Any] = {}
        for spec in fields(cls):
            key = spec.metadata["context"]
            raw = node.try_get_context(key)
            if raw is None or raw == "":
                continue
            try:
                values[spec.name] = _PARSERS[spec.name](raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"context {key}: {exc}") from exc
        return cls(**values)

    @classmethod
    def context_defaults(cls) -> dict[str, Any]:
        """The defaults as cdk.json spells them (None for an optional setting that is off)."""
        return {spec.metadata["context"]: _as_json(getattr(cls(), spec.name)) for spec in fields(cls)}


def _as_json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("expected an integer, got a boolean")
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


def _reservation_mode(raw: Any) -> str:
    return str(_bool(raw)).lower() if str(raw).strip().lower() != "auto" else "auto"


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"expected a string, got {raw!r}")
    return raw.strip()


def _list(raw: Any) -> tuple[str, ...]:
    """A JSON list, or a comma-separated string (what `-c key=a,b` gives)."""
    if isinstance(raw, str):
        text = raw.strip()
        items = json.loads(text) if text.startswith("[") else text.split(",")
    else:
        items = raw
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise TypeError(f"expected a list of strings, got {raw!r}")
    return tuple(item.strip().rstrip("/") for item in items if item.strip())


def _ice_servers(raw: Any) -> tuple[dict[str, Any], ...]:
    servers = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError('expected a JSON list of RTCIceServer objects ({"urls": ...})')
    return tuple(servers)


def _log_level(raw: Any) -> str:
    return _str(raw).upper()


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "max_capacity": _int,
    "allowed_origins": _list,
    "ice_servers": _ice_servers,
    "turn_secret_name": _str,
    "turn_urls": _list,
    "turn": _bool,
    "turn_count": _int,
    "turn_instance_type": _str,
    "turn_domain_name": _str,
    "max_signal_bytes": _int,
    "throttle_rate": _int,
    "throttle_burst": _int,
    "reserved_concurrency": _reservation_mode,
    "account_concurrency": _int,
    "log_retention_days": _int,
    "log_level": _log_level,
    "memory_size": _int,
    "alarms": _bool,
    "alarm_email": _str,
    "retain_table": _bool,
    "domain_name": _str,
    "certificate_arn": _str,
    "powertools_layer_arn": _str,
    "api_gateway_cloudwatch_role": _bool,
}
