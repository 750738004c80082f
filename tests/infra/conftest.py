"""Synthesizes the stack once per configuration, with cdk-nag, for every test in tests/infra.

Synthesis writes the template before cdk-nag's verdict, so a nag failure shows up in its own tests and the
template tests still run.

This folder has no __init__.py on purpose: as a package it would be named `infra` and shadow the real `infra`
package under pytest's default import mode. Its modules are imported by file name, so keep those names unique.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cdk_template import Synthesis, synthesize

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Every optional setting switched on, given the way `cdk deploy -c key=value` gives them: as strings.
CONFIGURED: dict[str, Any] = {
    "maxCapacity": "4",
    "allowedOrigins": "http://localhost:8000,https://call.example.com/",
    "iceServers": '[{"urls":["stun:stun.example.com:3478"]}]',
    "turnSecretName": "parley/turn",
    "turnUrls": "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349",
    "maxSignalBytes": "16384",
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
