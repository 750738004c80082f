"""The signaling service: the WebSocket API, one Lambda function per route, and the table.

Routes, handlers and the table's keys come from `signaling.definition`, the same definition the local stack
reads, so the two cannot drift. One loop wires every route; nothing here is written once per route.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Config
from infra.powertools import powertools_layer
from signaling.definition import GRACE_QUEUE, ROUTE_SELECTION_EXPRESSION, ROUTES, STAGE_NAME, TABLE, QueueSpec, Route

LAMBDA_CODE = Path(__file__).resolve().parent.parent / "lambdas"
# Build and tool leftovers that must not change the asset hash or ship to Lambda.
LAMBDA_CODE_EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache", "**/*.egg-info"]

# Every function's runtime and architecture; the Powertools layer is looked up for exactly these (infra/powertools.py).
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64

# One JSON object per WebSocket event; $context.requestId is required by API Gateway.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "eventType": "$context.eventType",
        "routeKey": "$context.routeKey",
        "connectionId": "$context.connectionId",
        "sourceIp": "$context.identity.sourceIp",
        "status": "$context.status",
        "error": "$context.error.message",
        "integrationError": "$context.integration.error",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
    },
    separators=(",", ":"),
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """IAccessLogSettings is a jsii interface, not a struct: Python provides it as a small class."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class SignalingApi(Construct):
    """WebSocket API, stage, functions and table. `allow_origins` must be called once the site's origin is known."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        turn_secret: secretsmanager.ISecret | None = None,
    ) -> None:
        """turn_secret: the TURN secret when the stack holds it (turn=true); else turnSecretName names one."""
        super().__init__(scope, construct_id)
        self._config = config
        self.api_gateway_logs_role: iam.Role | None = None
        self.table = self._table()
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"{Aws.STACK_NAME}-signaling",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
            description="Parley WebRTC signaling",
        )
        self.stage = self._stage()
        # Built from the API id and the literal stage name: referring to the stage resource from the
        # functions' environment would make the functions wait for the stage for no reason.
        self.endpoint_host = f"{self.api.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.websocket_origin = f"wss://{self.endpoint_host}"
        self.management_endpoint = f"https://{self.endpoint_host}/{STAGE_NAME}"

        layer = powertools_layer(
            self, "Powertools", runtime=RUNTIME, architecture=ARCHITECTURE, layer_arn=config.powertools_layer_arn
        )
        if turn_secret is None and config.turn_secret_name:
            turn_secret = secretsmanager.Secret.from_secret_name_v2(self, "TurnSecret", config.turn_secret_name)
        self.grace_dead_letters = self._dead_letter_queue(GRACE_QUEUE)
        self.grace_queue = self._queue(GRACE_QUEUE, self.grace_dead_letters)
        self.functions: dict[str, lambda_.Function] = {}
        """Every function, by route key or queue key."""
        for route in ROUTES:
            if route.handler is None:
                self._mock_route(route)
            else:
                self.functions[route.key] = self._lambda_route(route, layer, turn_secret)
        self.functions[GRACE_QUEUE.key] = self._queue_consumer(GRACE_QUEUE, self.grace_queue, layer, turn_secret)

    def allow_origins(self, origins: Iterable[str]) -> None:
        """Sets the $connect Origin allow-list (every function gets the same configuration)."""
        value = ",".join(dict.fromkeys(origins))
        for function in self.functions.values():
            function.add_environment("ALLOWED_ORIGINS", value)

    def _table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=TABLE.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=TABLE.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TABLE.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Every item expires within two hours (API Gateway's connection maximum), so by default the table
            # goes with the stack; retainTable=true keeps it (and its PITR backups) for an audit.
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_table else RemovalPolicy.DESTROY,
        )

    def _stage(self) -> apigwv2.WebSocketStage:
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=self._config.log_retention,
            # Access logs are the audit trail: they outlive the stack and expire on their own.
            removal_policy=RemovalPolicy.RETAIN,
        )
        stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=self._config.throttle_rate, burst_limit=self._config.throttle_burst
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(access_logs), apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT)
            ),
        )
        if self._config.api_gateway_cloudwatch_role:
            stage.node.add_dependency(self._api_gateway_account())
        return stage

    def _api_gateway_account(self) -> apigw.CfnAccount:
        """WebSocket stages log through API Gateway's per-account, per-region CloudWatch role; creating a
        logging stage in an account without one fails ("CloudWatch Logs role ARN must be set in account
        settings to enable logging")."""
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        # The setting outlives the stack (CloudFormation does not reset it) and other APIs may come to rely on
        # it, so the role stays when the stack goes.
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.api_gateway_logs_role = role
        return apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)

    def _environment(self) -> dict[str, str]:
        config = self._config
        env = {
            "TABLE_NAME": self.table.table_name,
            "MANAGEMENT_API_ENDPOINT": self.management_endpoint,
            "MAX_CAPACITY": str(config.max_capacity),
            "ICE_SERVERS": json.dumps(list(config.ice_servers), separators=(",", ":")),
            "POWERTOOLS_SERVICE_NAME": "parley",
            "POWERTOOLS_METRICS_NAMESPACE": "Parley",
            # The join reply carries the peer's resume token: never copy handler results into X-Ray.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "LOG_LEVEL": config.log_level,
        }
        if config.turn_urls:
            env["TURN_URLS"] = ",".join(config.turn_urls)
        if config.max_signal_bytes:
            env["MAX_SIGNAL_BYTES"] = str(config.max_signal_bytes)
        return env

    def _function(
        self,
        spec: Route | QueueSpec,
        description: str,
        layer: lambda_.ILayerVersion,
        turn_secret: secretsmanager.ISecret | None = None,
    ) -> lambda_.Function:
        """One function with its own log group and role, granted exactly what `spec` declares."""
        assert spec.handler is not None
        name = spec.function_id  # never the bare id "Default": CDK drops it from logical ids
        environment = self._environment()
        if turn_secret is not None:
            # Settings reads it everywhere; only the TURN route's function may read the secret itself.
            environment["TURN_SECRET_ARN"] = turn_secret.secret_arn
        if spec.enqueues_grace:
            environment["GRACE_QUEUE_URL"] = self.grace_queue.queue_url
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=self._config.log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to every log group.
        role = iam.Role(self, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            f"{name}Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(LAMBDA_CODE), exclude=LAMBDA_CODE_EXCLUDE),
            handler=spec.handler,
            layers=[layer],
            memory_size=self._config.memory_size,
            timeout=Duration.seconds(spec.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=self._config.application_log_level,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            role=role,
            environment=environment,
            # The bulkhead (None: the account's unreserved pool), as the local stack's invoker applies it.
            reserved_concurrent_executions=self._config.reserved.get(spec.key),
        )
        # Exactly the calls `spec` declares: per DynamoDB action on the table, per HTTP method on @connections.
        if spec.table_calls:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=spec.table_actions, resources=[self.table.table_arn])
            )
        if spec.management_calls:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["execute-api:ManageConnections"],
                    resources=[self.connections_arn(method) for method in spec.management_methods],
                )
            )
        if isinstance(spec, Route) and turn_secret is not None and spec.reads_turn_secret:
            turn_secret.grant_read(function)
        if spec.enqueues_grace:
            self.grace_queue.grant_send_messages(function)
        return function

    def connections_arn(self, method: str) -> str:
        """execute-api ARN of one HTTP method on this API's stage's @connections (any connection id)."""
        return Stack.of(self).format_arn(
            service="execute-api", resource=self.api.api_id, resource_name=f"{STAGE_NAME}/{method}/@connections/*"
        )

    def _lambda_route(
        self, route: Route, layer: lambda_.ILayerVersion, turn_secret: secretsmanager.ISecret | None
    ) -> lambda_.Function:
        function = self._function(route, f"Parley WebSocket route {route.key}", layer, turn_secret)
        self.api.add_route(
            route.key,
            integration=integrations.WebSocketLambdaIntegration(f"{route.function_id}Integration", function),
            return_response=route.route_response,
        )
        return function

    def _dead_letter_queue(self, spec: QueueSpec) -> sqs.Queue:
        return sqs.Queue(
            self,
            f"{spec.function_id}DeadLetters",
            retention_period=Duration.seconds(spec.dead_letter_retention_seconds),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def _queue(self, spec: QueueSpec, dead_letters: sqs.IQueue) -> sqs.Queue:
        """A standard queue (per-message delays exist only on standard queues) with its redrive policy."""
        return sqs.Queue(
            self,
            f"{spec.function_id}Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
            retention_period=Duration.seconds(spec.retention_seconds),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=spec.max_receive_count),
        )

    def _queue_consumer(
        self,
        spec: QueueSpec,
        queue: sqs.IQueue,
        layer: lambda_.ILayerVersion,
        turn_secret: secretsmanager.ISecret | None,
    ) -> lambda_.Function:
        function = self._function(spec, f"Parley queue consumer {spec.key}", layer, turn_secret)
        # No batching window: a message is handed over as soon as its grace period ends, not when a batch fills.
        function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=spec.batch_size,
                max_concurrency=spec.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        return function

    def _mock_route(self, route: Route) -> None:
        """A route API Gateway answers itself (keepalive), so it never costs a Lambda invocation."""
        assert route.mock_response is not None
        integration_id = f"{route.function_id}Integration"
        api_route = self.api.add_route(
            route.key,
            integration=integrations.WebSocketMockIntegration(
                integration_id,
                # A MOCK integration answers with the status the request template produces. "\$default" is a
                # literal key: an unescaped $ would start a selection expression.
                request_templates={"$default": json.dumps({"statusCode": 200})},
                template_selection_expression="\\$default",
            ),
            return_response=route.route_response,
        )
        # The L2 route creates the integration as its child but does not expose it; the integration response
        # (what the MOCK sends back) has no L2 yet.
        integration = api_route.node.find_child(integration_id)
        assert isinstance(integration, apigwv2.WebSocketIntegration)
        apigwv2.CfnIntegrationResponse(
            api_route,
            "IntegrationResponse",
            api_id=self.api.api_id,
            integration_id=integration.integration_id,
            integration_response_key="$default",
            response_templates={"$default": route.mock_response},
            template_selection_expression="\\$default",
        )
