"""Builds the service from configuration, once per execution environment. Clients are created on first use, so
importing a handler costs nothing and tests need no import tricks.

boto3 and the service (which brings pydantic, through signaling.models) are imported on first use too, not with the
handler module that every route's function loads: together they are about 160 ms of a cold start, and neither
$connect nor $default ever needs a client.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from signaling.settings import Settings

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    from signaling.logic import Signaling
    from signaling.ratelimit import RateLimiter
    from signaling.sender import Sender

_FANOUT = 16  # concurrent posts per invocation; also the HTTP pool size of the Management API client


@functools.cache
def _client_config(max_attempts: int = 3) -> Config:
    """1 s to connect and 1.5 s to read (DynamoDB, SQS and the Management API answer in milliseconds; a call that
    takes seconds has failed), so a call that hangs is given up after max_attempts * 2.5 s plus backoff: 7.5 s for
    DynamoDB and SQS, whose throttling retries are worth their three attempts, 5 s for a post (signaling.budget: a
    fan-out waits for posts only until the invocation's deadline anyway). Either is less than a route's budget."""
    from botocore.config import Config

    return Config(
        connect_timeout=1,
        read_timeout=1.5,
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=_FANOUT,
        tcp_keepalive=True,
    )


@functools.cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


@functools.cache
def _dynamodb() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb", config=_client_config())


@functools.cache
def _sqs() -> SQSClient:
    import boto3

    return boto3.client("sqs", config=_client_config())


@functools.cache
def _management(endpoint: str) -> ApiGatewayManagementApiClient:
    import boto3

    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=_client_config(max_attempts=2))


def _secrets_manager() -> SecretsManagerClient:
    import boto3

    return boto3.client("secretsmanager")


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_FANOUT, thread_name_prefix="post")


@functools.cache
def _alongside() -> ThreadPoolExecutor:
    """Runs a request's per-connection limit (its UpdateItem) while the calling thread makes the route's first read,
    so the two cost one DynamoDB round trip (signaling.logic: Signaling's `admit`). One invocation at a time needs
    one thread in Lambda; the local stack runs many invocations in one process."""
    return ThreadPoolExecutor(max_workers=_FANOUT, thread_name_prefix="limit")


@functools.cache
def _turn_secret() -> str | None:
    config = settings()
    if config.turn_secret:
        return config.turn_secret
    if not config.turn_secret_arn:
        return None
    secret = _secrets_manager().get_secret_value(SecretId=config.turn_secret_arn)
    return secret["SecretString"]


def ice_servers(user: str) -> list[dict[str, Any]]:
    """The ICE servers (signaling.ice) with TURN credentials naming `user`."""
    from signaling.ice import configured_ice_servers

    return configured_ice_servers(settings(), user=user, now=time.time(), turn_secret=_turn_secret)


def management_endpoint(request_context: dict[str, Any]) -> str:
    configured = settings().management_endpoint
    if configured:
        return configured
    return f"https://{request_context['domainName']}/{request_context['stage']}"


def sender(request_context: dict[str, Any]) -> Sender:
    from signaling.sender import Sender

    return Sender(_management(management_endpoint(request_context)), _pool())


def service(request_context: dict[str, Any]) -> Signaling:
    from signaling.grace import GraceQueue
    from signaling.logic import Signaling
    from signaling.storage import Storage

    config = settings()
    return Signaling(
        Storage(_dynamodb(), config.table_name),
        sender(request_context),
        config,
        grace=GraceQueue(_sqs, config.grace_queue_url, request_context),
        turn_secret=_turn_secret,
        alongside=_alongside(),
    )


def limiter(clock: Callable[[], float] = time.time) -> RateLimiter:
    """The per-connection limits (signaling.ratelimit): one per execution environment (and clock), which remembers
    the sockets' recent state between invocations."""
    return _limiter(clock)


@functools.cache
def _limiter(clock: Callable[[], float]) -> RateLimiter:
    from signaling.ratelimit import RateLimiter

    return RateLimiter(_dynamodb(), settings().table_name, clock)


def reset() -> None:
    """Forget configuration and clients (after the environment changed: tests, the local stack)."""
    for cached in (settings, _client_config, _dynamodb, _sqs, _management, _pool, _alongside, _turn_secret, _limiter):
        cached.cache_clear()
