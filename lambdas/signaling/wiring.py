"""Builds the service from configuration, once per execution environment. Clients are created on first use, so
importing a handler costs nothing and tests need no import tricks."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from signaling.grace import GraceQueue
from signaling.logic import Signaling
from signaling.sender import Sender
from signaling.settings import Settings
from signaling.storage import Storage

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

_FANOUT = 16  # concurrent posts per invocation; also the HTTP pool size of the Management API client
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=_FANOUT,
    tcp_keepalive=True,
)


@functools.cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


@functools.cache
def _dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


@functools.cache
def _sqs() -> SQSClient:
    return boto3.client("sqs", config=_CLIENT_CONFIG)


@functools.cache
def _management(endpoint: str) -> ApiGatewayManagementApiClient:
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=_CLIENT_CONFIG)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_FANOUT, thread_name_prefix="post")


@functools.cache
def _turn_secret() -> str | None:
    config = settings()
    if config.turn_secret:
        return config.turn_secret
    if not config.turn_secret_arn:
        return None
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=config.turn_secret_arn)
    return secret["SecretString"]


def management_endpoint(request_context: dict[str, Any]) -> str:
    configured = settings().management_endpoint
    if configured:
        return configured
    return f"https://{request_context['domainName']}/{request_context['stage']}"


def sender(request_context: dict[str, Any]) -> Sender:
    return Sender(_management(management_endpoint(request_context)), _pool())


def service(request_context: dict[str, Any]) -> Signaling:
    config = settings()
    return Signaling(
        Storage(_dynamodb(), config.table_name),
        sender(request_context),
        config,
        grace=GraceQueue(_sqs, config.grace_queue_url, request_context),
        turn_secret=_turn_secret,
    )


def reset() -> None:
    """Forget configuration and clients (after the environment changed: tests, the local stack)."""
    for cached in (settings, _dynamodb, _sqs, _management, _pool, _turn_secret):
        cached.cache_clear()
