"""Client messages as typed models (parsed at the edge) and the server's messages as plain dicts."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, ValidationError

from signaling import wire
from signaling.errors import BadRequest

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
ACTIONS = ("join", "signal", "leave", "ice", "ping")
MAX_NAME_LENGTH = 64


class ClientMessage(BaseModel):
    # strict: "3" is not a capacity and 1 is not a name. Unknown fields are ignored so clients can add their own.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Join(ClientMessage):
    action: Literal["join"]
    room: Identifier
    peer_id: Identifier | None = Field(None, alias="peerId")
    token: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME_LENGTH)] = ""
    capacity: Annotated[int, Field(ge=2)] | None = None
    offer: JsonValue = None
    """The newcomer's first `signal.data` for the room's first peer (its offer), relayed with the join: one trip
    instead of two (docs/protocol.md, "join"). Null or absent: none."""


class Signal(ClientMessage):
    action: Literal["signal"]
    to: Identifier
    data: JsonValue


class Leave(ClientMessage):
    action: Literal["leave"]


M = TypeVar("M", bound=ClientMessage)

_FIELD_HINTS = {
    "room": "must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'",
    "peerId": "must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'",
    "to": "must be a peerId: 1-64 characters from A-Z, a-z, 0-9, '_' and '-'",
    "name": f"must be a string of at most {MAX_NAME_LENGTH} characters",
    "capacity": "must be an integer of at least 2",
    "token": "must be the string from a previous 'joined'",
}


def parse(body: str | None, model: type[M]) -> M:
    """Parse one client frame (signaling.wire, strictly) into `model`, or raise BadRequest with a sentence naming
    what is wrong."""
    return validate(wire.decode(body), model)


def validate(payload: dict[str, Any], model: type[M]) -> M:
    """A frame already decoded by signaling.wire as `model`, or BadRequest."""
    if "data" in model.model_fields and payload.get("data") is None:
        raise BadRequest("'data' is required: the payload to relay to the other peer.")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from exc


def describe_unroutable(body: str | None) -> BadRequest:
    """Why a frame reached $default: not JSON, not an object, or no known action."""
    try:
        payload = wire.decode(body)
    except BadRequest as exc:
        return exc
    return describe_payload(payload)


def describe_payload(payload: dict[str, Any]) -> BadRequest:
    """Why a decoded frame reached $default: no action, or an unknown one."""
    action = payload.get("action")
    expected = ", ".join(ACTIONS)
    if action is None:
        return BadRequest(f"The message has no 'action'. Use one of: {expected}.")
    return BadRequest(f"Unknown action {wire.dumps(action)[:80]}. Use one of: {expected}.")


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "message"
    if error["type"] == "missing":
        return f"'{field}' is required."
    hint = _FIELD_HINTS.get(field)
    return f"'{field}' {hint}." if hint else f"'{field}': {error['msg']}."


# --- server -> client ------------------------------------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    return wire.dumps(message)


def peer_joined(room: str, peer_id: str, name: str, seq: int) -> dict[str, Any]:
    return {"type": "peer-joined", "room": room, "peerId": peer_id, "name": name, "seq": seq}


def peer_left(room: str, peer_id: str, reason: Literal["left", "disconnected", "gone"], seq: int) -> dict[str, Any]:
    return {"type": "peer-left", "room": room, "peerId": peer_id, "reason": reason, "seq": seq}


def left(room: str, peer_id: str, seq: int) -> dict[str, Any]:
    """The answer to `leave`: `peer_id` left `room`, membership change number `seq`."""
    return {"type": "left", "room": room, "peerId": peer_id, "seq": seq}


def relayed(room: str, sender: str, data: str) -> str:
    """A `signal` as its recipient hears it; `data` is the payload already serialized (it is relayed untouched)."""
    return f'{{"type":"signal","room":{wire.dumps(room)},"from":{wire.dumps(sender)},"data":{data}}}'


def undelivered(room: str, to: str, count: int, reason: Literal["mailbox-full", "peer-left"]) -> dict[str, Any]:
    """To a sender: `count` of its signals to `to` were not delivered and never will be."""
    return {"type": "undelivered", "room": room, "to": to, "count": count, "reason": reason}


def error(code: str, message: str, action: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if action:
        reply["action"] = action
    return reply
