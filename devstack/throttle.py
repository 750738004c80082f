"""API Gateway's throttling: token buckets for the stage, its routes and the account, read from the same
definition the CDK stack deploys (signaling.definition).

What the AWS documentation says ("Protect your WebSocket APIs in API Gateway", "Amazon API Gateway quotas") and what
this module chooses where it is silent is in docs/architecture.md, "Limits and throttling".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from signaling.definition import (
    ACCOUNT_THROTTLE,
    NEW_CONNECTIONS_PER_SECOND,
    STAGE_THROTTLE,
    ThrottleLimits,
)

Clock = Callable[[], float]
"""Seconds on a monotonic scale (time.monotonic, or a test's fake)."""


class TokenBucket:
    """`burst` tokens to start with and at most; `rate` tokens per second flow back in. A request that finds a
    whole token takes it; one that does not is throttled and takes nothing. Used from the gateway's event loop
    only (the WebSocket side and the Management API share it), so it needs no lock."""

    def __init__(self, limits: ThrottleLimits, clock: Clock = time.monotonic) -> None:
        if limits.rate <= 0 or limits.burst < 1:
            raise ValueError(f"a token bucket needs a positive rate and a burst of at least 1, got {limits}")
        self.limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)  # a clock that steps back refills nothing
        self._tokens = min(float(self.limits.burst), self._tokens + elapsed * self.limits.rate)
        self._updated = now

    def available(self) -> bool:
        self._refill()
        return self._tokens >= 1

    def take(self) -> bool:
        if not self.available():
            return False
        self._tokens -= 1
        return True

    def take_all(self, *others: TokenBucket) -> bool:
        """One token from this bucket and from each of `others`, or from none: a request throttled at one level
        is not counted at the others."""
        buckets = (self, *others)
        if not all(bucket.available() for bucket in buckets):
            return False
        for bucket in buckets:
            bucket.take()
        return True


NEW_CONNECTIONS = ThrottleLimits(rate=NEW_CONNECTIONS_PER_SECOND, burst=NEW_CONNECTIONS_PER_SECOND)
"""The account's new WebSocket connections per second. The documentation gives no burst: one second's worth."""


@dataclass(frozen=True)
class ThrottleSettings:
    """The limits the local gateway applies; the defaults are the deployed ones."""

    stage: ThrottleLimits = STAGE_THROTTLE
    routes: Mapping[str, ThrottleLimits] = field(default_factory=dict)
    """Route-level settings (RouteSettings), by route key; the deployed stack has none."""
    account: ThrottleLimits = ACCOUNT_THROTTLE
    new_connections: ThrottleLimits = NEW_CONNECTIONS


class Throttle:
    """Decides, request by request, whether API Gateway would let it through.

    A route with route-level settings uses its own bucket instead of the stage's (RouteSettings override the
    stage's DefaultRouteSettings); every request, @connections callbacks included, also needs a token from the
    account's bucket; a $connect also needs one from the account's new-connection bucket."""

    def __init__(self, settings: ThrottleSettings | None = None, clock: Clock = time.monotonic) -> None:
        self.settings = settings or ThrottleSettings()
        self._stage = TokenBucket(self.settings.stage, clock)
        self._routes = {key: TokenBucket(limits, clock) for key, limits in self.settings.routes.items()}
        self._account = TokenBucket(self.settings.account, clock)
        self._connections = TokenBucket(self.settings.new_connections, clock)

    def _route(self, route_key: str) -> TokenBucket:
        return self._routes.get(route_key, self._stage)

    def admit_message(self, route_key: str) -> bool:
        return self._route(route_key).take_all(self._account)

    def admit_connect(self) -> bool:
        return self._connections.take_all(self._route("$connect"), self._account)

    def admit_callback(self) -> bool:
        """An @connections request (POST, GET, DELETE): only the account's quota applies."""
        return self._account.take()
