"""Least privilege: each function's role allows what its route needs and nothing broader."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template
from cdk_template import actions, properties, resources, role_statements, signaling_functions, text

from signaling.definition import FUNCTIONS, ROUTES, STAGE_NAME, QueueSpec, Route

HANDLER_ROUTES: list[Route | QueueSpec] = list(FUNCTIONS.values())
"""Every function: the routes' and the queue consumer's."""


def _statements(template: Template, route: Route | QueueSpec) -> list[dict[str, Any]]:
    return role_statements(template, signaling_functions(template)[route.handler or ""])


def _all_actions(template: Template) -> list[str]:
    return [
        action
        for policy in properties(template, "AWS::IAM::Policy")
        for statement in policy["PolicyDocument"]["Statement"]
        for action in actions(statement)
    ]


def test_no_policy_grants_every_execute_api_action(template: Template) -> None:
    assert "execute-api:*" not in _all_actions(template)


def test_no_policy_grants_every_dynamodb_action(template: Template) -> None:
    assert not [action for action in _all_actions(template) if action.startswith("dynamodb:*")]


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_only_posting_routes_may_manage_connections(template: Template, route: Route | QueueSpec) -> None:
    granted = [s for s in _statements(template, route) if "execute-api:ManageConnections" in actions(s)]

    assert bool(granted) == route.posts


@pytest.mark.parametrize("route", [r for r in HANDLER_ROUTES if r.posts], ids=lambda r: r.key)
def test_manage_connections_is_scoped_to_this_apis_stage_and_the_methods_declared(
    template: Template, route: Route | QueueSpec
) -> None:
    (api_id,) = resources(template, "AWS::ApiGatewayV2::Api")
    (statement,) = [s for s in _statements(template, route) if "execute-api:ManageConnections" in actions(s)]
    granted = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]

    assert actions(statement) == ["execute-api:ManageConnections"]
    assert sorted(text(resource) for resource in granted) == sorted(
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api_id}}}"
        f"/{STAGE_NAME}/{method}/@connections/*"
        for method in route.management_methods
    )


def test_only_join_may_close_or_inspect_sockets() -> None:
    """A posting function that is compromised or confused cannot close anyone's socket."""
    closers = [key for key, spec in FUNCTIONS.items() if {"DELETE", "GET"} & set(spec.management_methods)]

    assert closers == ["join"]


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_only_routes_that_declare_it_touch_the_table(template: Template, route: Route | QueueSpec) -> None:
    (table_id,) = resources(template, "AWS::DynamoDB::Table")
    table_statements = [s for s in _statements(template, route) if any(a.startswith("dynamodb:") for a in actions(s))]

    if route.uses_table:
        (statement,) = table_statements
        assert statement["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
        assert sorted(actions(statement)) == route.table_actions  # exactly what the route declares
    else:
        assert table_statements == []


def test_no_function_may_scan_batch_write_read_streams_or_describe_the_table(template: Template) -> None:
    never = {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}

    assert never.isdisjoint(_all_actions(template))
    assert not [a for a in _all_actions(template) if a.startswith("dynamodb:Describe")]


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_the_only_unscoped_statement_is_x_ray(template: Template, route: Route | QueueSpec) -> None:
    unscoped = [s for s in _statements(template, route) if s["Resource"] == "*"]

    assert [sorted(actions(s)) for s in unscoped] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_functions_write_only_to_their_own_log_group(template: Template, route: Route | QueueSpec) -> None:
    function = signaling_functions(template)[route.handler or ""]
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
    (statement,) = [s for s in _statements(template, route) if any(a.startswith("logs:") for a in actions(s))]

    assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}
    assert (
        "ManagedPolicyArns"
        not in resources(template, "AWS::IAM::Role")[function["Role"]["Fn::GetAtt"][0]]["Properties"]
    )


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_only_the_functions_that_hand_out_turn_credentials_may_read_the_secret(
    configured: Template, route: Route
) -> None:
    readers = [s for s in _statements(configured, route) if "secretsmanager:GetSecretValue" in actions(s)]

    assert [r.key for r in ROUTES if r.reads_turn_secret] == ["join", "ice"]
    if isinstance(route, Route) and route.reads_turn_secret:
        (statement,) = readers
        assert text(statement["Resource"]).endswith(":secret:parley/turn-??????")
    else:
        assert readers == []
