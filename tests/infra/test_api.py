"""The WebSocket API: every route of signaling.definition.ROUTES, wired as the definition says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from cdk_template import properties, resources, text

from signaling.definition import (
    ROUTE_SELECTION_EXPRESSION,
    ROUTES,
    STAGE_NAME,
    STAGE_THROTTLE,
    Route,
)

PROTOCOL_ROUTES = {"$connect", "$disconnect", "$default", "join", "signal", "leave", "ice", "ping"}
"""The routes docs/protocol.md and the README name, written out here: the template is checked against the protocol,
not only against the definition it was generated from."""
TWO_WAY_ROUTES = {"join", "$default", "ice", "ping"}
"""Routes whose reply is the route response (protocol.md: `joined`, the error for a malformed frame, `pong`)."""


def _route(template: Template, route: Route) -> tuple[str, dict[str, Any]]:
    matches = {
        logical_id: resource
        for logical_id, resource in resources(template, "AWS::ApiGatewayV2::Route").items()
        if resource["Properties"]["RouteKey"] == route.key
    }
    assert len(matches) == 1, f"expected one {route.key} route, found {len(matches)}"
    ((logical_id, resource),) = matches.items()
    return logical_id, resource["Properties"]


def _integration(template: Template, route: Route) -> tuple[str, dict[str, Any]]:
    _, props = _route(template, route)
    integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
    return integration_id, resources(template, "AWS::ApiGatewayV2::Integration")[integration_id]["Properties"]


def test_api_selects_routes_by_the_definitions_expression(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": ROUTE_SELECTION_EXPRESSION},
    )


def test_api_has_exactly_the_routes_of_the_definition(template: Template) -> None:
    keys = sorted(props["RouteKey"] for props in properties(template, "AWS::ApiGatewayV2::Route"))

    assert keys == sorted(PROTOCOL_ROUTES)
    assert keys == sorted(route.key for route in ROUTES)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.handler], ids=lambda r: r.key)
def test_handler_route_proxies_to_its_own_lambda_function(template: Template, route: Route) -> None:
    _, integration = _integration(template, route)
    function_id = integration["IntegrationUri"]["Fn::Join"][1][5]["Fn::GetAtt"][0]
    function = resources(template, "AWS::Lambda::Function")[function_id]["Properties"]

    assert integration["IntegrationType"] == "AWS_PROXY"
    assert function["Handler"] == route.handler


def test_every_handler_route_has_a_function_of_its_own(template: Template) -> None:
    uris = [
        text(integration["IntegrationUri"])
        for integration in properties(template, "AWS::ApiGatewayV2::Integration")
        if integration["IntegrationType"] == "AWS_PROXY"
    ]

    assert len(set(uris)) == len(uris) == len([r for r in ROUTES if r.handler])


@pytest.mark.parametrize("route", [r for r in ROUTES if r.handler is None], ids=lambda r: r.key)
def test_mock_route_answers_from_api_gateway_without_lambda(template: Template, route: Route) -> None:
    _, integration = _integration(template, route)

    assert integration["IntegrationType"] == "MOCK"
    assert json.loads(integration["RequestTemplates"]["$default"]) == {"statusCode": 200}
    assert integration["TemplateSelectionExpression"] == "\\$default"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.handler is None], ids=lambda r: r.key)
def test_mock_route_replies_with_the_definitions_body(template: Template, route: Route) -> None:
    integration_id, _ = _integration(template, route)

    template.has_resource_properties(
        "AWS::ApiGatewayV2::IntegrationResponse",
        {
            "IntegrationId": {"Ref": integration_id},
            "IntegrationResponseKey": "$default",
            "ResponseTemplates": {"$default": route.mock_response},
            "TemplateSelectionExpression": "\\$default",
        },
    )
    assert route.key == "ping"
    assert json.loads(route.mock_response or "") == {"type": "pong"}  # protocol.md: `ping` gets `pong`


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_route_has_a_route_response_exactly_when_the_definition_says(template: Template, route: Route) -> None:
    logical_id, props = _route(template, route)
    responses = [
        response
        for response in properties(template, "AWS::ApiGatewayV2::RouteResponse")
        if response["RouteId"] == {"Ref": logical_id}
    ]

    assert route.route_response == (route.key in TWO_WAY_ROUTES)
    if route.route_response:
        assert props["RouteResponseSelectionExpression"] == "$default"
        assert [response["RouteResponseKey"] for response in responses] == ["$default"]
    else:
        assert "RouteResponseSelectionExpression" not in props
        assert responses == []


def test_stage_is_the_definitions_stage_and_deploys_itself(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGatewayV2::Stage", {"StageName": STAGE_NAME, "AutoDeploy": True})


def test_stage_throttles_by_default_as_the_local_stack_does(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": STAGE_THROTTLE.rate,
                "ThrottlingBurstLimit": STAGE_THROTTLE.burst,
            }
        },
    )


def test_stage_throttles_with_the_context_rate_and_burst(configured: Template) -> None:
    configured.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"DefaultRouteSettings": {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}},
    )


def test_stage_writes_json_access_logs_to_a_log_group(template: Template) -> None:
    (stage,) = properties(template, "AWS::ApiGatewayV2::Stage")
    log_group = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    entry = json.loads(stage["AccessLogSettings"]["Format"])

    assert log_group in resources(template, "AWS::Logs::LogGroup")
    assert entry["requestId"] == "$context.requestId"
    assert {"routeKey", "connectionId", "status", "integrationError"} <= entry.keys()


def test_api_gateway_gets_the_account_logging_role_a_websocket_stage_needs(template: Template) -> None:
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    (account_id,) = resources(template, "AWS::ApiGateway::Account")

    assert account_id in stage["DependsOn"]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})]
            }
        },
    )
