"""Builds the CDK app the same way for `cdk synth` (app.py) and for the tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.nag import acknowledge_findings
from infra.stack import ParleyStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
STACK_NAME = "Parley"


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def build_app(context: Mapping[str, Any] | None = None, *, nag: bool = True, outdir: str | None = None) -> App:
    """The app with cdk.json's context (the CLI passes the same, and its -c values win) plus `context`."""
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = ParleyStack(app, STACK_NAME, description="Parley: WebRTC signaling on API Gateway WebSocket + Lambda")
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        acknowledge_findings(stack)
    return app
