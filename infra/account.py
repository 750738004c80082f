"""Prints the Lambda concurrency this stack may reserve from, for `make deploy` (-c accountConcurrency=N).

That is the account's unreserved concurrency in the region plus what the stack's own functions reserve today (an
update gives those back before it takes them again). Read from the account rather than assumed: a new account's
quota can be far below the 1,000 default, and a reservation it cannot hold fails the deploy. Prints nothing and
exits 0 when the account cannot be read (no credentials, no permission): synthesis then reserves nothing and warns.
"""

from __future__ import annotations

import sys
from typing import Any

from infra.app import STACK_NAME


def available_concurrency(lambda_client: Any, cloudformation: Any, stack_name: str = STACK_NAME) -> int:
    unreserved: int = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    return unreserved + sum(_own_reservations(lambda_client, cloudformation, stack_name))


def _own_reservations(lambda_client: Any, cloudformation: Any, stack_name: str) -> list[int]:
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        names = [
            resource["PhysicalResourceId"]
            for page in pages
            for resource in page["StackResourceSummaries"]
            if resource["ResourceType"] == "AWS::Lambda::Function" and resource.get("PhysicalResourceId")
        ]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):  # a first deploy: nothing of ours is reserved yet
            return []
        raise
    reserved = (lambda_client.get_function_concurrency(FunctionName=name) for name in names)
    return [
        int(answer["ReservedConcurrentExecutions"]) for answer in reserved if "ReservedConcurrentExecutions" in answer
    ]


def main() -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        print(available_concurrency(boto3.client("lambda"), boto3.client("cloudformation")))
    except (BotoCoreError, ClientError) as error:
        print(f"infra.account: could not read the account's Lambda concurrency ({error})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
