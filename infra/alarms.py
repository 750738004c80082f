"""Alarms that say the service is failing callers, with an optional e-mail notification.

WebSocket APIs publish no 4XX/5XX metrics; of the AWS/ApiGateway metrics they do publish (ConnectCount,
MessageCount, IntegrationError, ClientError, ExecutionError, IntegrationLatency; see "Monitor WebSocket API
execution with CloudWatch metrics" in the API Gateway developer guide):
- ExecutionError counts failures calling the integration (Lambda crashed, timed out, or was throttled): the
  server-side failure the caller sees as an internal error.
- ClientError counts 4XX answers API Gateway gives before invoking the integration. Stage throttling (429) is
  one and, with no authorizer or API keys here, the one that happens in practice.
IntegrationError is not used: it also counts the 403 the $connect handler returns to a refused Origin, which is
the service working as designed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        stage: apigwv2.WebSocketStage,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        email: str | None,
        more: Sequence[cloudwatch.Alarm] = (),
    ) -> None:
        """more: alarms made elsewhere (the TURN servers') that notify through the same topic."""
        super().__init__(scope, construct_id)
        self.alarms = [
            self._sum_alarm(
                "LambdaErrors",
                "A signaling function raised an error or timed out",
                {name: function.metric_errors(period=PERIOD) for name, function in functions.items()},
            ),
            self._sum_alarm(
                "LambdaThrottles",
                "A signaling function was throttled (account concurrency exhausted)",
                {name: function.metric_throttles(period=PERIOD) for name, function in functions.items()},
            ),
            self._alarm(
                "ApiExecutionErrors",
                "API Gateway failed to invoke a route's integration (callers got an internal error)",
                stage.metric("ExecutionError", statistic="Sum", period=PERIOD),
            ),
            self._alarm(
                "ApiClientErrors",
                "API Gateway refused messages before any integration ran (mostly stage throttling)",
                stage.metric("ClientError", statistic="Sum", period=PERIOD),
                threshold=10,
            ),
            *(
                self._alarm(
                    f"{name}DeadLetters",
                    f"Messages of the {name} queue failed every delivery attempt and wait in its dead-letter queue "
                    "(for the grace queue: seats that were not freed, until their records expire)",
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                )
                for name, queue in dead_letter_queues.items()
            ),
        ]
        self.alarms += more
        self.topic = self._topic(email) if email else None
        if self.topic is not None:
            for alarm in self.alarms:
                alarm.add_alarm_action(actions.SnsAction(self.topic))

    def _alarm(
        self, construct_id: str, description: str, metric: cloudwatch.IMetric, threshold: float = 1
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No traffic is the normal state of a signaling service between calls, not a reason to alarm.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _sum_alarm(
        self, construct_id: str, description: str, metrics: Mapping[str, cloudwatch.IMetric]
    ) -> cloudwatch.Alarm:
        # One alarm over the sum of every function's metric, not one per function (fewer alarms to pay for).
        # Math expression variables must start with a lower-case letter.
        variables = {f"m{index}": metric for index, metric in enumerate(metrics.values())}
        total = cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({name}, 0)" for name in variables),
            using_metrics=variables,
            label=construct_id,
            period=PERIOD,
        )
        return self._alarm(construct_id, description, total)

    def _topic(self, email: str) -> sns.Topic:
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key (its key policy cannot
        # name CloudWatch), so the topic gets its own key.
        key = kms.Key(self, "TopicKey", description="Parley alarm topic", enable_key_rotation=True)
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Topic", display_name="Parley alarms", master_key=key, enforce_ssl=True)
        topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic
