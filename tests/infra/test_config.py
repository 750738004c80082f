"""Context settings: one typed reader, the same defaults in cdk.json, strings from `-c` accepted."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App

from infra.app import cdk_json_context
from infra.config import Config, ConfigError


def _config(**context: Any) -> Config:
    return Config.from_context(App(context=context).node)


def test_cdk_json_lists_every_setting_with_its_default() -> None:
    defaults = Config.context_defaults()

    assert {key: cdk_json_context()[key] for key in defaults} == defaults


def test_no_context_gives_the_defaults() -> None:
    assert _config() == Config()


def test_command_line_strings_are_parsed_to_their_types() -> None:
    config = _config(
        maxCapacity="4",
        allowedOrigins="https://a.example/, http://localhost:8000",
        iceServers='[{"urls": "stun:s.example"}]',
        turnUrls="turn:t.example:3478",
        retainTable="true",
        logLevel="warning",
    )

    assert config.max_capacity == 4
    assert config.allowed_origins == ("https://a.example", "http://localhost:8000")
    assert config.ice_servers == ({"urls": "stun:s.example"},)
    assert config.turn_urls == ("turn:t.example:3478",)
    assert config.retain_table is True
    assert config.log_level == "WARNING"


def test_turn_settings_are_parsed() -> None:
    config = _config(turn="true", turnCount="3", turnInstanceType="c7gn.medium", turnDomainName="turn.example.com")

    assert config.turn is True
    assert config.turn_count == 3
    assert config.turn_instance_type == "c7gn.medium"
    assert config.turn_domain_name == "turn.example.com"


def test_powertools_layer_arn_is_taken_verbatim() -> None:
    arn = "arn:aws-cn:lambda:cn-north-1:123456789012:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7"

    assert _config(powertoolsLayerArn=arn).powertools_layer_arn == arn


def test_json_values_from_cdk_json_are_accepted() -> None:
    config = _config(maxCapacity=6, allowedOrigins=["https://a.example"], retainTable=False, iceServers=[])

    assert (config.max_capacity, config.allowed_origins, config.retain_table) == (6, ("https://a.example",), False)
    assert config.ice_servers == ()


@pytest.mark.parametrize(
    "context",
    [
        {"maxCapacity": "1"},
        {"maxCapacity": "many"},
        {"logRetentionDays": "10"},
        {"logLevel": "CHATTY"},
        {"memorySize": "64"},
        {"throttleRate": "100", "throttleBurst": "50"},
        {"throttleRate": "10001", "throttleBurst": "20000"},
        {"maxSignalBytes": "32768"},
        {"allowedOrigins": "*"},
        {"allowedOrigins": "example.com"},
        {"iceServers": '{"urls": "stun:x"}'},
        {"domainName": "call.example.com"},
        {"retainTable": "perhaps"},
        {"alarms": "false", "alarmEmail": "ops@example.com"},
        # A layer ARN without its version, and a function ARN: Lambda accepts neither as a layer.
        {"powertoolsLayerArn": "arn:aws:lambda:eu-west-1:123456789012:layer:powertools"},
        {"powertoolsLayerArn": "arn:aws:lambda:eu-west-1:123456789012:function:powertools:3"},
        # TURN settings that mean nothing without turn=true, an x86 type for the arm64 image, a bare host name.
        {"turnCount": "2"},
        {"turnDomainName": "turn.example.com"},
        {"turn": "true", "turnInstanceType": "t3.small"},
        {"turn": "true", "turnDomainName": "turn"},
        {"turn": "true", "turnCount": "0"},
    ],
    ids=lambda context: ",".join(f"{k}={v}" for k, v in context.items()),
)
def test_unusable_settings_stop_the_synth_with_a_clear_error(context: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        _config(**context)
