"""Domain errors. Each carries a stable code and a sentence for a person; the handlers turn them into replies."""

from __future__ import annotations

from typing import ClassVar


class SignalingError(Exception):
    code: ClassVar[str] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class Internal(SignalingError):
    code = "internal"


INTERNAL_MESSAGE = "Something went wrong on the server. Retrying is safe."
