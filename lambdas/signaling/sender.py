"""Posting to sockets through the API Gateway Management API.

What a post can end in, and what it means here:
- 200: delivered.
- 410 GoneException: the socket is closed. A result, not a failure: the caller frees its seat (its $disconnect may
  never come).
- anything else (429 LimitExceededException: the account's throttle or the client's buffer; 403 ForbiddenException;
  5xx; a timeout; no answer within the invocation's budget): not delivered, and nothing is known about the socket.
  A fan-out (`fan_out`, `send_many`) reports such sockets as `failed` and carries on: one slow or refusing socket
  never fails the action that posts to a room. A single relay (`send`) raises Undelivered, which the caller hears
  as `unavailable` (retrying is safe), or `internal` for a 403 (the function may not post: a deployment fault).

Every wait is bounded by the invocation's budget (signaling.budget): a post still running at the deadline counts as
failed, and the invocation returns in time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from signaling import budget
from signaling.errors import Internal, Unavailable
from signaling.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

T = TypeVar("T")

RETRY_AFTER_MS = 1000
"""The retry hint of `unavailable` when a post failed (429, 5xx, a timeout)."""


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _is_gone(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "GoneException" or _status(exc) == 410


def _is_forbidden(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ForbiddenException" or _status(exc) == 403


class Gone(Exception):
    """The socket is closed (HTTP 410)."""


@dataclass
class Delivery:
    """The outcome of posting one message to several sockets."""

    gone: set[str] = field(default_factory=set)
    """Closed (410): their seats can be freed."""
    failed: set[str] = field(default_factory=set)
    """Not delivered, for another reason (429, 403, 5xx, a timeout, the budget): nothing is known about them."""


class Sender:
    def __init__(self, client: ApiGatewayManagementApiClient, pool: ThreadPoolExecutor) -> None:
        self._client = client
        self._pool = pool

    def _bounded(self, call: Callable[[], T]) -> T:
        """Run `call` on the pool and wait for it at most until the budget's deadline (FutureTimeout past it)."""
        future: Future[T] = self._pool.submit(call)
        return future.result(timeout=budget.current().remaining())

    def _post(self, conn: str, data: bytes) -> None:
        """Raises Gone, or what the client raised."""
        try:
            self._client.post_to_connection(ConnectionId=conn, Data=data)
        except ClientError as exc:
            if _is_gone(exc):
                raise Gone(conn) from exc
            raise

    def send(self, conn: str, message: str) -> bool:
        """Post one message. False when the socket is gone; Undelivered (or Internal, for a 403) when the post failed
        otherwise."""
        data = message.encode()
        try:
            self._bounded(lambda: self._post(conn, data))
        except Gone:
            return False
        except FutureTimeout as exc:
            logger.warning("post timed out", extra={"connection": conn})
            raise Unavailable("The message could not be delivered in time.", retry_after_ms=RETRY_AFTER_MS) from exc
        except ClientError as exc:
            logger.warning("post failed", extra={"connection": conn, "error": exc.response["Error"]})
            if _is_forbidden(exc):
                raise Internal("The server may not post to sockets.") from exc
            raise Unavailable("The message could not be delivered right now.", retry_after_ms=RETRY_AFTER_MS) from exc
        except BotoCoreError as exc:  # connection errors, read timeouts after the client's retries
            logger.warning("post failed", extra={"connection": conn, "error": str(exc)})
            raise Unavailable("The message could not be delivered right now.", retry_after_ms=RETRY_AFTER_MS) from exc
        return True

    def fan_out(self, conns: Iterable[str], message: str) -> Delivery:
        """Post the same message to several sockets at once. Never raises for a post: each socket ends delivered,
        gone or failed, and the whole fan-out ends by the budget's deadline."""
        data = message.encode()
        futures = {conn: self._pool.submit(self._post, conn, data) for conn in dict.fromkeys(conns)}
        delivery = Delivery()
        current = budget.current()
        for conn, future in futures.items():
            try:
                future.result(timeout=current.remaining())
            except Gone:
                delivery.gone.add(conn)
            except FutureTimeout:
                delivery.failed.add(conn)  # still running; it may yet arrive
            except Exception as exc:  # any other failure of one post must not fail the others
                delivery.failed.add(conn)
                logger.warning("post failed", extra={"connection": conn, "error": repr(exc)})
        if delivery.failed:
            logger.warning("fan-out incomplete", extra={"failed": len(delivery.failed), "of": len(futures)})
        return delivery

    def send_many(self, conns: Iterable[str], message: str) -> set[str]:
        """Post the same message to several sockets at once; returns the ones that are gone (see fan_out)."""
        return self.fan_out(conns, message).gone

    def is_connected(self, conn: str) -> bool:
        """False only when the socket is known to be closed (410). Any other answer, or none in time, counts as
        connected: a seat is never freed on a guess."""
        try:
            self._bounded(lambda: self._client.get_connection(ConnectionId=conn))
        except ClientError as exc:
            if _is_gone(exc):
                return False
            logger.warning("GetConnection failed", extra={"connection": conn, "error": exc.response["Error"]})
        except (FutureTimeout, BotoCoreError) as exc:
            logger.warning("GetConnection failed", extra={"connection": conn, "error": repr(exc)})
        return True

    def disconnect(self, conn: str) -> None:
        """Close a socket (a replaced one, after a resume). Already gone is fine; a failure is logged and left:
        the replaced socket's record is already gone, so it can do nothing but idle until API Gateway closes it."""
        try:
            self._bounded(lambda: self._client.delete_connection(ConnectionId=conn))
        except ClientError as exc:
            if not _is_gone(exc):
                logger.warning("DeleteConnection failed", extra={"connection": conn, "error": exc.response["Error"]})
        except (FutureTimeout, BotoCoreError) as exc:
            logger.warning("DeleteConnection failed", extra={"connection": conn, "error": repr(exc)})
