"""What the deployer reads (outputs) and what watches the service (alarms)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template
from cdk_template import properties, resources, synthesize, text


def test_site_url_output_is_the_https_site(template: Template) -> None:
    (distribution_id,) = resources(template, "AWS::CloudFront::Distribution")

    assert text(template.find_outputs("SiteUrl")["SiteUrl"]["Value"]) == f"https://${{{distribution_id}.DomainName}}"


def test_site_url_output_is_the_custom_domain_when_configured(configured: Template) -> None:
    assert configured.find_outputs("SiteUrl")["SiteUrl"]["Value"] == "https://call.example.com"


def test_websocket_url_output_is_the_wss_stage_url(template: Template) -> None:
    (api_id,) = resources(template, "AWS::ApiGatewayV2::Api")

    assert text(template.find_outputs("WebSocketUrl")["WebSocketUrl"]["Value"]) == (
        f"wss://${{{api_id}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/prod"
    )


def _alarm_metrics(template: Template) -> set[str]:
    names = set()
    for alarm in properties(template, "AWS::CloudWatch::Alarm"):
        if "MetricName" in alarm:
            names.add(f"{alarm['Namespace']}/{alarm['MetricName']}")
        for query in alarm.get("Metrics", []):
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                names.add(f"{metric['Namespace']}/{metric['MetricName']}")
    return names


def test_alarms_watch_lambda_errors_and_throttles_and_api_gateway_failures(template: Template) -> None:
    assert {
        "AWS/Lambda/Errors",
        "AWS/Lambda/Throttles",
        "AWS/ApiGateway/ExecutionError",
        "AWS/ApiGateway/ClientError",
    } <= _alarm_metrics(template)


def test_lambda_alarms_sum_every_function(template: Template) -> None:
    functions = {i for i, r in resources(template, "AWS::Lambda::Function").items() if "signaling." in str(r)}
    summed = {}
    for alarm in properties(template, "AWS::CloudWatch::Alarm"):
        if "Metrics" in alarm:
            stats = [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]
            summed[stats[0]["MetricName"]] = {d["Value"]["Ref"] for m in stats for d in m["Dimensions"]}

    assert summed == {"Errors": functions, "Throttles": functions}


def test_no_alarm_topic_without_an_alarm_email(template: Template) -> None:
    alarms = properties(template, "AWS::CloudWatch::Alarm")

    template.resource_count_is("AWS::SNS::Topic", 0)
    assert len(alarms) >= 4  # errors, throttles, execution errors, client errors: there is something to look at
    assert [alarm for alarm in alarms if "AlarmActions" in alarm] == []


def test_alarm_email_gets_an_encrypted_https_only_topic(configured: Template) -> None:
    (topic_id,) = resources(configured, "AWS::SNS::Topic")

    configured.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    configured.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": {"Ref": topic_id}}
    )
    configured.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    alarms = properties(configured, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 4
    assert [alarm.get("AlarmActions") for alarm in alarms] == [[{"Ref": topic_id}]] * len(alarms)


def test_alarms_can_be_switched_off_for_zero_idle_cost(tmp_path_factory: pytest.TempPathFactory) -> None:
    synthesis = synthesize(tmp_path_factory.mktemp("cdk-no-alarms"), {"alarms": "false"})

    synthesis.template.resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert synthesis.nag_error is None, synthesis.nag_error
