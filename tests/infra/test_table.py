"""The table: the definition's keys, TTL, recovery, encryption, on demand."""

from __future__ import annotations

from aws_cdk.assertions import Template

from signaling.definition import TABLE


def test_table_uses_the_definitions_string_keys(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
                {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": TABLE.partition_key, "AttributeType": "S"},
                {"AttributeName": TABLE.sort_key, "AttributeType": "S"},
            ],
        },
    )


def test_table_expires_items_on_the_definitions_ttl_attribute(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": TABLE.ttl_attribute, "Enabled": True}},
    )


def test_table_has_point_in_time_recovery(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )


def test_table_is_on_demand_and_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table", {"BillingMode": "PAY_PER_REQUEST", "SSESpecification": {"SSEEnabled": True}}
    )


def test_table_goes_with_the_stack_by_default(template: Template) -> None:
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_table_is_kept_when_retain_table_is_set(configured: Template) -> None:
    configured.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})
