"""A fault switch for the handlers' AWS calls: moto answers every call, except the ones a test makes fail, which
fail the way botocore reports that fault once its own retries are spent (a ClientError with the service's code and
HTTP status, or a timeout). The switch sits where botocore's client hands a call to its endpoint
(BaseClient._make_api_call), so the handlers' clients, their parameters and everything above them are the real ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError


@dataclass(frozen=True)
class Fault:
    """How one call fails."""

    name: str
    code: str | None  # None: a read timeout (no answer at all)
    status: int = 400
    cancellation: tuple[str, ...] = ()  # TransactionCanceledException's reasons

    def error(self, operation: str) -> Exception:
        if self.code is None:
            return ReadTimeoutError(endpoint_url=f"https://fault.invalid/{operation}")
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": f"injected {self.name}"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }
        if self.cancellation:
            response["CancellationReasons"] = [{"Code": code} for code in self.cancellation]
        return ClientError(response, operation)  # type: ignore[arg-type]


THROUGHPUT = Fault("throughput", "ProvisionedThroughputExceededException")
THROTTLING = Fault("throttling", "ThrottlingException")
CONFLICT = Fault("conflict", "TransactionCanceledException", cancellation=("None", "TransactionConflict"))
SERVER_ERROR = Fault("5xx", "InternalServerError", status=500)
TIMEOUT = Fault("timeout", None)
GONE = Fault("410", "GoneException", status=410)
FORBIDDEN = Fault("403", "ForbiddenException", status=403)
LIMIT_EXCEEDED = Fault("429", "LimitExceededException", status=429)
SERVICE_UNAVAILABLE = Fault("503", "ServiceUnavailable", status=503)

DYNAMODB_FAULTS = (THROUGHPUT, THROTTLING, CONFLICT, SERVER_ERROR, TIMEOUT)
MANAGEMENT_FAULTS = (GONE, FORBIDDEN, LIMIT_EXCEEDED, SERVER_ERROR, TIMEOUT)
SQS_FAULTS = (SERVICE_UNAVAILABLE, THROTTLING, TIMEOUT)


@dataclass
class Rule:
    operation: str
    fault: Fault
    times: int
    when: Callable[[dict[str, Any]], bool]
    hits: int = 0


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    hooks: list[tuple[str, Callable[[dict[str, Any]], None]]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """Every operation called, in order (what a fault could be injected into)."""

    def inject(
        self, operation: str, fault: Fault, *, times: int = 1, when: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> Rule:
        """The next `times` calls of `operation` (botocore's name, "TransactWriteItems") whose parameters satisfy
        `when` fail with `fault`."""
        rule = Rule(operation, fault, times, when)
        self.rules.append(rule)
        return rule

    def before(self, operation: str, hook: Callable[[dict[str, Any]], None]) -> None:
        """Run `hook(params)` on the calling thread before each call of `operation` (to hold it, say)."""
        self.hooks.append((operation, hook))

    def clear(self) -> None:
        self.rules.clear()
        self.hooks.clear()

    def check(self, operation: str, params: dict[str, Any]) -> None:
        self.calls.append(operation)
        for name, hook in self.hooks:
            if name == operation:
                hook(params)
        for rule in self.rules:
            if rule.operation == operation and rule.hits < rule.times and rule.when(params):
                rule.hits += 1
                raise rule.fault.error(operation)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    switch = Faults()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        switch.check(operation, params)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return switch
