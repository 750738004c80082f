"""Every cdk-nag (AwsSolutions) finding this stack accepts, in one place for a security review.

Each acknowledgment names one rule (and, for IAM4/IAM5, the one finding) on the narrowest construct that
produces it. Anything not listed here fails `make synth` and the test suite.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

from infra.signaling_api import RUNTIME
from infra.stack import ParleyStack
from signaling.definition import FUNCTIONS

BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def acknowledge_findings(stack: ParleyStack) -> None:
    _signaling(stack)
    _site(stack)
    _bucket_deployment(stack)


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def _logical_id(element: IConstruct | None) -> str:
    assert isinstance(element, CfnElement)
    stack = Stack.of(element)
    return str(stack.resolve(stack.get_logical_id(element)))


def _signaling(stack: ParleyStack) -> None:
    signaling = stack.signaling
    _ack(
        signaling.api,
        "APIG4",
        "No authorizer by design: there are no accounts; rooms are capability URLs, $connect checks the browser "
        "Origin, and every route acts only for the calling connection (docs/protocol.md).",
    )
    if signaling.api_gateway_logs_role is not None:
        _ack(
            signaling.api_gateway_logs_role,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The role API Gateway itself assumes to write stage logs; AWS documents this managed policy for it "
            "and the service picks the log groups at runtime.",
        )
    api_id = _logical_id(signaling.api.node.default_child)
    connections = (
        "Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
        f"<{api_id}>/prod/{{method}}/@connections/*"
    )
    for key, function in signaling.functions.items():
        assert function.role is not None
        _ack(
            function.role,
            "IAM5[Resource::*]",
            "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions, so their statement must use Resource *; no other statement does.",
        )
        for method in FUNCTIONS[key].management_methods:
            _ack(
                function.role,
                f"IAM5[{connections.format(method=method)}]",
                f"execute-api:ManageConnections for {method} on this API's prod stage only; connection ids are "
                "created at runtime, so the @connections/{id} segment can only be a wildcard.",
            )
        _ack(
            function,
            "L1",
            f"Pinned to {RUNTIME.name} (supported by Lambda); the Powertools layer is resolved for this runtime "
            "and architecture, so moving to a newer runtime is a deliberate change, tested with its layer.",
        )


def _site(stack: ParleyStack) -> None:
    distribution = stack.site.distribution
    _ack(
        distribution,
        "CFR1",
        "No geo restriction: calls are meant to work from anywhere and the site serves only public static files.",
    )
    _ack(
        distribution,
        "CFR2",
        "No WAF: the distribution serves a few public static files (no forms, no API behind it); a web ACL "
        "would add a fixed monthly cost to a service that otherwise costs nothing when idle.",
    )
    if not stack.site.custom_domain:
        _ack(
            distribution,
            "CFR4",
            "The default *.cloudfront.net certificate cannot be given a minimum TLS version; with domainName and "
            "certificateArn set the distribution uses TLSv1.2_2021 (docs/deploy.md).",
        )


def _bucket_deployment(stack: ParleyStack) -> None:
    """The singleton Lambda behind s3_deployment.BucketDeployment: code, runtime and policy come from CDK."""
    handlers = [child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")]
    assert handlers, "BucketDeployment's handler not found: check the acknowledgments below still apply"
    site_bucket = _logical_id(stack.site.bucket.node.default_child)
    grants = (
        "Action::s3:GetBucket*",
        "Action::s3:GetObject*",
        "Action::s3:List*",
        "Action::s3:Abort*",
        "Action::s3:DeleteObject*",
        "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
        f"Resource::<{site_bucket}.Arn>/*",
    )
    for handler in handlers:
        _ack(handler, "L1", "Runtime chosen by aws-cdk-lib for its BucketDeployment handler; it moves with CDK.")
        _ack(
            handler,
            f"IAM4[{BASIC_EXECUTION_ROLE}]",
            "CDK's deploy-time BucketDeployment function logs through AWSLambdaBasicExecutionRole; it runs only "
            "during deployments and handles no user data.",
        )
        _ack(
            handler,
            "IAM5[Resource::*]",
            "Generated by BucketDeployment for the invalidation after each deployment: "
            "cloudfront:CreateInvalidation/GetInvalidation on *, the only statement with Resource *.",
        )
        for grant in grants:
            _ack(
                handler,
                f"IAM5[{grant}]",
                "Generated by BucketDeployment: read the CDK asset bucket, then write, list and prune the site "
                "bucket's objects (and nothing else).",
            )
