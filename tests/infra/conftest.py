"""Synthesizes the stack once per configuration, with cdk-nag, for every test in tests/infra.

Synthesis writes the template before cdk-nag's verdict, so a nag failure shows up in its own tests and the
template tests still run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build_app

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Every optional setting switched on, given the way `cdk deploy -c key=value` gives them: as strings.
CONFIGURED: dict[str, Any] = {
    "maxCapacity": "4",
    "allowedOrigins": "http://localhost:8000,https://call.example.com/",
    "iceServers": '[{"urls":["stun:stun.example.com:3478"]}]',
    "turnSecretName": "parley/turn",
    "turnUrls": "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349",
    "maxSignalBytes": "32768",
    "throttleRate": "20",
    "throttleBurst": "40",
    "logRetentionDays": "7",
    "logLevel": "debug",
    "memorySize": "512",
    "alarmEmail": "ops@example.com",
    "retainTable": "true",
    "domainName": "call.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    "powertoolsLayerVersion": "40",
}


@dataclass(frozen=True)
class Synthesis:
    template: Template
    nag_error: str | None
    """None when cdk-nag passed; otherwise the error and every unacknowledged finding."""


def synthesize(outdir: Path, context: dict[str, Any]) -> Synthesis:
    app = build_app(context, outdir=str(outdir))
    try:
        app.synth()
        nag_error = None
    except RuntimeError as exc:
        nag_error = f"{exc}\n" + "\n".join(_violations(outdir))
    template = Template.from_json(json.loads((outdir / f"{STACK_NAME}.template.json").read_text()))
    return Synthesis(template, nag_error)


def _violations(outdir: Path) -> list[str]:
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    lines = []
    for plugin in json.loads(report.read_text())["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                lines.append(f"{violation['ruleName']} at {construct['constructPath']}")
    return lines


@pytest.fixture(scope="session")
def default_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack as `make deploy` builds it with cdk.json unchanged."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"), {})


@pytest.fixture(scope="session")
def configured_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack with every optional setting on (TURN, alarm e-mail, custom domain, extra origins)."""
    return synthesize(tmp_path_factory.mktemp("cdk-configured"), CONFIGURED)


@pytest.fixture(scope="session")
def template(default_synthesis: Synthesis) -> Template:
    return default_synthesis.template


@pytest.fixture(scope="session")
def configured(configured_synthesis: Synthesis) -> Template:
    return configured_synthesis.template
