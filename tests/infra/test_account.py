"""infra/account.py: the Lambda concurrency `make deploy` gives synthesis, read from the account (botocore's Stubber:
moto does not implement GetAccountSettings)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.account import available_concurrency


@pytest.fixture
def clients() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1")
    lambda_client, cloudformation = session.client("lambda"), session.client("cloudformation")
    with Stubber(lambda_client) as lambdas, Stubber(cloudformation) as stacks:
        yield lambda_client, lambdas, cloudformation, stacks
        lambdas.assert_no_pending_responses()
        stacks.assert_no_pending_responses()


def _settings(unreserved: int) -> dict[str, Any]:
    return {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": unreserved}}


def test_a_first_deploy_may_reserve_from_the_accounts_unreserved_concurrency(clients: Any) -> None:
    lambda_client, lambdas, cloudformation, stacks = clients
    lambdas.add_response("get_account_settings", _settings(10), {})
    stacks.add_client_error(
        "list_stack_resources", "ValidationError", "Stack with id Parley does not exist", 400, {"StackName": "Parley"}
    )

    assert available_concurrency(lambda_client, cloudformation) == 10  # a new account: bulkheads will not fit


def test_an_update_counts_what_the_stack_already_reserves_as_available(clients: Any) -> None:
    lambda_client, lambdas, cloudformation, stacks = clients
    lambdas.add_response("get_account_settings", _settings(694), {})
    resources = [
        {"LogicalResourceId": "Join", "PhysicalResourceId": "parley-join", "ResourceType": "AWS::Lambda::Function"},
        {"LogicalResourceId": "Gone", "PhysicalResourceId": "parley-gone", "ResourceType": "AWS::Lambda::Function"},
        {"LogicalResourceId": "Table", "PhysicalResourceId": "parley-table", "ResourceType": "AWS::DynamoDB::Table"},
    ]
    summaries = [
        {**r, "LastUpdatedTimestamp": "2026-01-01T00:00:00Z", "ResourceStatus": "CREATE_COMPLETE"} for r in resources
    ]
    stacks.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": "Parley"})
    lambdas.add_response(
        "get_function_concurrency", {"ReservedConcurrentExecutions": 120}, {"FunctionName": "parley-join"}
    )
    lambdas.add_response(
        "get_function_concurrency", {}, {"FunctionName": "parley-gone"}
    )  # draws on the unreserved pool

    assert available_concurrency(lambda_client, cloudformation) == 694 + 120


def test_any_other_error_is_not_mistaken_for_a_first_deploy(clients: Any) -> None:
    lambda_client, lambdas, cloudformation, stacks = clients
    lambdas.add_response("get_account_settings", _settings(900), {})
    stacks.add_client_error("list_stack_resources", "AccessDenied", "not authorized", 403, {"StackName": "Parley"})

    with pytest.raises(cloudformation.exceptions.ClientError, match="not authorized"):
        available_concurrency(lambda_client, cloudformation)
