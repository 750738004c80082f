"""The route functions: runtime, code, observability and the environment the handlers read."""

from __future__ import annotations

import importlib
import json
from importlib import metadata

import pytest
from aws_cdk.assertions import Template
from cdk_template import resources, signaling_functions, text

from signaling.definition import FUNCTIONS, STAGE_NAME

HANDLERS = [spec.handler for spec in FUNCTIONS.values() if spec.handler]


def test_there_is_one_function_per_handler_route_and_queue_consumer(template: Template) -> None:
    assert sorted(signaling_functions(template)) == sorted(HANDLERS)


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_string_names_a_function_that_exists(template: Template, handler: str) -> None:
    module_name, _, attribute = signaling_functions(template)[handler]["Handler"].rpartition(".")

    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_functions_run_python_3_13_on_arm64(template: Template) -> None:
    for function in signaling_functions(template).values():
        assert (function["Runtime"], function["Architectures"]) == ("python3.13", ["arm64"])


def test_functions_share_one_code_asset_built_from_lambdas(template: Template) -> None:
    keys = {text(function["Code"]["S3Key"]) for function in signaling_functions(template).values()}

    assert len(keys) == 1


def test_functions_use_the_layer_of_the_installed_powertools_release(template: Template) -> None:
    release = metadata.version("aws-lambda-powertools")
    parameters = template.to_json()["Parameters"]

    for function in signaling_functions(template).values():
        (layer,) = function["Layers"]
        parameter = parameters[layer["Ref"]]
        # A stack parameter CloudFormation fills from SSM at deploy time: synth looks nothing up.
        assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
        # The public parameter of exactly this release, for the function's own architecture and runtime.
        assert parameter["Default"] == (
            f"/aws/service/powertools/python/{function['Architectures'][0]}/{function['Runtime']}/{release}"
        )


def test_a_layer_arn_from_context_replaces_the_ssm_parameter(configured: Template) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:parley-powertools:3"  # conftest.CONFIGURED

    for function in signaling_functions(configured).values():
        assert function["Layers"] == [arn]
    assert not [
        name
        for name, parameter in configured.to_json()["Parameters"].items()
        if "/powertools/" in str(parameter.get("Default", ""))
    ]


def test_functions_trace_and_log_json_at_the_configured_level(configured: Template) -> None:
    for function in signaling_functions(configured).values():
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["LoggingConfig"]["LogFormat"] == "JSON"
        assert function["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
        assert function["Environment"]["Variables"]["LOG_LEVEL"] == "DEBUG"


def test_each_function_logs_to_its_own_log_group_with_the_retention(configured: Template) -> None:
    groups = resources(configured, "AWS::Logs::LogGroup")
    used = [function["LoggingConfig"]["LogGroup"]["Ref"] for function in signaling_functions(configured).values()]

    assert len(set(used)) == len(used)
    assert all(groups[name]["Properties"]["RetentionInDays"] == 7 for name in used)


def test_functions_have_the_default_memory_and_their_declared_timeout(template: Template) -> None:
    timeouts = {spec.handler: spec.timeout_seconds for spec in FUNCTIONS.values()}
    functions = signaling_functions(template)

    assert {handler: function["Timeout"] for handler, function in functions.items()} == timeouts
    assert {function["MemorySize"] for function in functions.values()} == {256}


def test_memory_comes_from_context(configured: Template) -> None:
    assert {f["MemorySize"] for f in signaling_functions(configured).values()} == {512}


def test_functions_get_every_setting_the_handlers_read(template: Template) -> None:
    for function in signaling_functions(template).values():
        env = function["Environment"]["Variables"]
        assert {
            "TABLE_NAME",
            "MANAGEMENT_API_ENDPOINT",
            "ALLOWED_ORIGINS",
            "MAX_CAPACITY",
            "ICE_SERVERS",
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_METRICS_NAMESPACE",
            "LOG_LEVEL",
        } <= env.keys()
        assert (env["POWERTOOLS_SERVICE_NAME"], env["POWERTOOLS_METRICS_NAMESPACE"]) == ("parley", "Parley")


def test_optional_settings_are_absent_by_default(template: Template) -> None:
    for function in signaling_functions(template).values():
        assert not {"TURN_URLS", "TURN_SECRET_ARN", "MAX_SIGNAL_BYTES"} & function["Environment"]["Variables"].keys()


def test_optional_settings_reach_the_functions_when_configured(configured: Template) -> None:
    for function in signaling_functions(configured).values():
        env = function["Environment"]["Variables"]
        assert env["TURN_URLS"] == "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349"
        assert env["MAX_SIGNAL_BYTES"] == "16384"
        assert env["MAX_CAPACITY"] == "4"
        assert json.loads(env["ICE_SERVERS"]) == [{"urls": ["stun:stun.example.com:3478"]}]
        assert text(env["TURN_SECRET_ARN"]).endswith(":secret:parley/turn")


def test_ice_servers_default_to_one_public_stun_server(template: Template) -> None:
    for function in signaling_functions(template).values():
        ice_servers = json.loads(function["Environment"]["Variables"]["ICE_SERVERS"])
        assert ice_servers == [{"urls": ["stun:stun.l.google.com:19302"]}]


def test_management_endpoint_is_this_apis_stage_url(template: Template) -> None:
    (api_id,) = resources(template, "AWS::ApiGatewayV2::Api")
    expected = f"https://${{{api_id}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE_NAME}"

    for function in signaling_functions(template).values():
        assert text(function["Environment"]["Variables"]["MANAGEMENT_API_ENDPOINT"]) == expected


def test_table_name_is_the_tables(template: Template) -> None:
    (table_id,) = resources(template, "AWS::DynamoDB::Table")

    for function in signaling_functions(template).values():
        assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": table_id}


def test_allowed_origins_is_the_cloudfront_origin_by_default(template: Template) -> None:
    (distribution_id,) = resources(template, "AWS::CloudFront::Distribution")

    for function in signaling_functions(template).values():
        origins = text(function["Environment"]["Variables"]["ALLOWED_ORIGINS"])
        assert origins == f"https://${{{distribution_id}.DomainName}}"


def test_allowed_origins_add_the_custom_domain_and_context_origins(configured: Template) -> None:
    (distribution_id,) = resources(configured, "AWS::CloudFront::Distribution")

    for function in signaling_functions(configured).values():
        origins = text(function["Environment"]["Variables"]["ALLOWED_ORIGINS"]).split(",")
        assert origins == [
            f"https://${{{distribution_id}.DomainName}}",
            "https://call.example.com",
            "http://localhost:8000",
        ]


def test_tracer_never_records_handler_responses(template: Template) -> None:
    # The join reply carries the peer's resume token.
    for function in signaling_functions(template).values():
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
