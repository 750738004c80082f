"""What a cold start loads, checked by module rather than by time (timing belongs to bench/coldstart.py): each of
these packages costs tens of milliseconds to import, and a route that does not need one must not load it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from signaling.definition import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
HANDLER_MODULES = sorted({f.handler.rpartition(".")[0] for f in FUNCTIONS.values() if f.handler})
XRAY, BOTO, PYDANTIC = "aws_xray_sdk", "boto3", "pydantic"
HEAVY = (XRAY, BOTO, PYDANTIC)
# As deployed: tracing is not disabled (bench/coldstart.py probes with the same setting).
ENV = {"POWERTOOLS_TRACE_DISABLED": "false", "POWERTOOLS_METRICS_DISABLED": "true", "TABLE_NAME": "t"}

# Imports `module`, optionally invokes one of its handlers with an event file, and prints the top-level packages
# loaded. The context is a plain namespace, so that nothing the test itself imports pollutes sys.modules.
_SCRIPT = """
import importlib, json, sys, types
module = importlib.import_module({module!r})
if {handler!r}:
    context = types.SimpleNamespace(function_name="f", memory_limit_in_mb=128, aws_request_id="r",
                                    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f")
    with open({event!r}) as file:
        getattr(module, {handler!r})(json.load(file), context)
print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
"""


def loaded(module: str, handler: str = "", event: str = "", **env: str) -> set[str]:
    script = _SCRIPT.format(module=module, handler=handler, event=str(EVENTS / event) if event else "")
    out = subprocess.run(
        [sys.executable, "-I", "-c", script], env=ENV | env, capture_output=True, text=True, check=False, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_every_function_has_a_handler_module() -> None:
    assert HANDLER_MODULES == ["signaling.consumers", "signaling.handlers"]


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_importing_a_handler_module_loads_neither_the_xray_sdk_nor_boto3_nor_pydantic(module: str) -> None:
    assert loaded(module).isdisjoint(HEAVY)


def test_connect_never_loads_them() -> None:
    assert loaded("signaling.handlers", "connect", "connect.json").isdisjoint(HEAVY)


def test_default_calls_no_aws_service_so_never_loads_boto3() -> None:
    modules = loaded("signaling.handlers", "default", "message-default-route.json")

    assert BOTO not in modules
    assert XRAY not in modules


def test_the_tracer_is_loaded_when_the_environment_asks_for_it() -> None:
    assert XRAY in loaded("signaling.handlers", TRACE_AWS_CALLS="true")
    assert XRAY in loaded("signaling.consumers", TRACE_AWS_CALLS="true")
