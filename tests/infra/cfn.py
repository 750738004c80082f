"""Small readers for a synthesized CloudFormation template, so tests can say what they check."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template


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
    found: dict[str, dict[str, Any]] = template.find_resources(type_)
    return found


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

