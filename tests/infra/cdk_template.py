"""Small readers for a synthesized CloudFormation template, so tests can say what they check."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build_app


def text(value: Any) -> str:
    """A string with tokens spelled out: {"Ref": "X"} -> "${X}", GetAtt -> "${X.Attr}", Fn::Join flattened."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{argument[0]}.{argument[1]}}}"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(text(part) for part in parts)
        if function == "Fn::Sub":
            return str(argument)
    raise ValueError(f"cannot flatten {value!r}")


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {logical_id: dict(resource) for logical_id, resource in template.find_resources(type_).items()}


def properties(template: Template, type_: str) -> list[dict[str, Any]]:
    return [resource.get("Properties", {}) for resource in resources(template, type_).values()]


def signaling_functions(template: Template) -> dict[str, dict[str, Any]]:
    """The route functions (those whose handler lives in the signaling package), by handler."""
    functions = {}
    for resource in resources(template, "AWS::Lambda::Function").values():
        handler = resource["Properties"].get("Handler", "")
        if handler.startswith("signaling."):
            functions[handler] = resource["Properties"]
    return functions


def role_statements(template: Template, function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement attached to a function's execution role."""
    role = function["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in properties(template, "AWS::IAM::Policy"):
        if {"Ref": role} in policy["Roles"]:
            statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Synthesis:
    template: Template
    nag_error: str | None
    """None when cdk-nag passed; otherwise the error and every unacknowledged finding."""
    outdir: Path
    """The cloud assembly: the template and the staged assets."""

    def site_config(self) -> dict[str, Any]:
        """The /config.json the deployment writes, as staged (deploy-time values are markers)."""
        (path,) = list(self.outdir.glob("asset.*/config.json"))
        text = re.sub(r"<<marker:[^>]*>>", '"(deploy-time value)"', path.read_text())
        config: dict[str, Any] = json.loads(text)
        return config


def synthesize(outdir: Path, context: dict[str, Any]) -> Synthesis:
    app = build_app(context, outdir=str(outdir))
    try:
        app.synth()
        nag_error = None
    except RuntimeError as exc:
        nag_error = f"{exc}\n" + "\n".join(_violations(outdir))
    template = Template.from_json(json.loads((outdir / f"{STACK_NAME}.template.json").read_text()))
    return Synthesis(template, nag_error, outdir)


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
