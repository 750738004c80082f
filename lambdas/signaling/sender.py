"""Posting to sockets through the API Gateway Management API. A gone socket (HTTP 410) is a result, not a crash."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient


def _is_gone(exc: ClientError) -> bool:
    return (
        exc.response["Error"]["Code"] == "GoneException"
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410
    )


class Sender:
    def __init__(self, client: ApiGatewayManagementApiClient, pool: ThreadPoolExecutor) -> None:
        self._client = client
        self._pool = pool

    def send(self, conn: str, message: str) -> bool:
        """Post one message. False when the socket is gone."""
        try:
            self._client.post_to_connection(ConnectionId=conn, Data=message.encode())
        except ClientError as exc:
            if _is_gone(exc):
                return False
            raise
        return True

    def send_many(self, conns: Iterable[str], message: str) -> set[str]:
        """Post the same message to several sockets at once; returns the ones that are gone."""
        targets = list(conns)
        if len(targets) <= 1:
            return {conn for conn in targets if not self.send(conn, message)}
        results = self._pool.map(lambda conn: (conn, self.send(conn, message)), targets)
        return {conn for conn, delivered in results if not delivered}

    def is_connected(self, conn: str) -> bool:
        try:
            self._client.get_connection(ConnectionId=conn)
        except ClientError as exc:
            if _is_gone(exc):
                return False
            raise
        return True

    def disconnect(self, conn: str) -> None:
        """Close a socket (a replaced one, after a resume). Already gone is fine."""
        try:
            self._client.delete_connection(ConnectionId=conn)
        except ClientError as exc:
            if not _is_gone(exc):
                raise
