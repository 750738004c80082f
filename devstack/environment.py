"""The handlers' environment: what the CDK stack gives each function in AWS, pointed at this process."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

TABLE_NAME = "parley-local"
REGION = "us-east-1"


def handler_defaults(port: int, management_url: str) -> dict[str, str]:
    return {
        "TABLE_NAME": TABLE_NAME,
        "MANAGEMENT_API_ENDPOINT": management_url,
        "ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        "POWERTOOLS_SERVICE_NAME": "parley",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Parley",
        # Metrics would otherwise print one EMF JSON document per invocation on stdout.
        "POWERTOOLS_METRICS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
        # A departure's follow-up (signaling.grace.Departure) comes after 60 s in AWS, past any function's timeout,
        # because Lambda may stop an invocation between freeing a seat and telling the room. The local runtime
        # cannot stop a thread, so the follow-up only redoes an announcement that failed; 2 s keeps the queue from
        # holding a minute of pending messages after every departure (wait_idle and make dev's shutdown wait for it).
        "FOLLOW_UP_DELAY_SECONDS": "2",
        "AWS_DEFAULT_REGION": REGION,
    }


class HandlerEnvironment:
    """Sets os.environ for the handlers (the process's own values win over the defaults, `overrides` win over
    both) and puts it back on restore(). The environment is process-wide, hence one running stack per process."""

    def __init__(self, defaults: Mapping[str, str], overrides: Mapping[str, str]) -> None:
        self._values = {**defaults, **{k: v for k, v in os.environ.items() if k in defaults}, **overrides}
        self._saved: dict[str, str | None] = {}

    def get(self, name: str) -> str:
        return self._values[name]

    def values(self) -> dict[str, str]:
        """Every variable the handlers see."""
        return dict(self._values)

    def set(self, name: str, value: str) -> None:
        """A value known only once the stack runs (a queue's URL), unless the caller's overrides name it."""
        self._values.setdefault(name, value)
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = self._values[name]
        _reset_handler_wiring()

    def apply(self) -> None:
        for name, value in self._values.items():
            self._saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        _reset_handler_wiring()

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
        _reset_handler_wiring()


def _reset_handler_wiring() -> None:
    """The handlers read settings and build boto3 clients once per execution environment; make them start over."""
    wiring = sys.modules.get("signaling.wiring")  # not imported yet: nothing is cached
    reset = getattr(wiring, "reset", None)
    if callable(reset):
        reset()
