"""Domain errors. Each carries a stable code and a sentence for a person; the handlers turn them into replies."""

from __future__ import annotations

from typing import ClassVar


class SignalingError(Exception):
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, retry_after_ms: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_ms = retry_after_ms
        """When set, the reply carries it as `retryAfterMs`: the caller may retry after that long."""


class BadRequest(SignalingError):
    code = "bad-request"


class RoomFull(SignalingError):
    code = "room-full"


class NotJoined(SignalingError):
    code = "not-joined"


class AlreadyJoined(SignalingError):
    code = "already-joined"


class UnknownPeer(SignalingError):
    code = "unknown-peer"


class InvalidToken(SignalingError):
    code = "invalid-token"


class TooLarge(SignalingError):
    code = "too-large"


class Unavailable(SignalingError):
    """Something the action needs (a post to another socket, DynamoDB) failed or was throttled, and nothing was
    committed that a retry would trip over: retrying is safe."""

    code = "unavailable"


class RateLimited(SignalingError):
    """The socket sent more than its per-connection limits allow (signaling.ratelimit)."""

    code = "rate-limited"


class Internal(SignalingError):
    code = "internal"


INTERNAL_MESSAGE = "Something went wrong on the server. Retrying is safe."
