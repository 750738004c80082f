"""The one definition of the WebSocket API's routes and of the table, shared by the CDK stack and the local stack.

Standard library only: the CDK app and the local stack import this without pulling in the handlers' dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROUTE_SELECTION_EXPRESSION = "$request.body.action"

PING_RESPONSE = '{"type":"pong"}'
"""What the MOCK `ping` route answers, without invoking Lambda."""

DISCONNECT_GRACE_SECONDS = 10
"""How long $disconnect holds a seat before freeing it, so that a client whose socket was closed (the 2-hour limit,
the idle timeout, a network drop) can resume without the others hearing anything. `leave` frees it at once."""


@dataclass(frozen=True)
class Route:
    """One WebSocket route.

    handler: dotted path of the Lambda handler ("module.function"), or None for a MOCK integration.
    timeout_seconds: the function's timeout ($disconnect waits out the grace period).
    posts: the handler calls the Management API, so its function needs execute-api:ManageConnections.
    uses_table: the handler reads and writes the table.
    reads_turn_secret: the handler hands out TURN credentials, so it may read the TURN secret.
    route_response: the integration's return body is sent back to the caller (a two-way route).
    mock_response: the body a MOCK route answers with.
    """

    key: str
    handler: str | None
    posts: bool = False
    uses_table: bool = False
    reads_turn_secret: bool = False
    route_response: bool = False
    mock_response: str | None = None
    timeout_seconds: int = 10

    @property
    def function_id(self) -> str:
        """A construct id for the route's function, e.g. "$connect" -> "Connect"."""
        return self.key.lstrip("$").title().replace("-", "")


ROUTES: tuple[Route, ...] = (
    Route("$connect", "signaling.handlers.connect"),
    Route(
        "$disconnect",
        "signaling.handlers.disconnect",
        posts=True,
        uses_table=True,
        timeout_seconds=DISCONNECT_GRACE_SECONDS + 10,
    ),
    Route("$default", "signaling.handlers.default", route_response=True),
    Route("join", "signaling.handlers.join", posts=True, uses_table=True, reads_turn_secret=True, route_response=True),
    Route("signal", "signaling.handlers.signal", posts=True, uses_table=True),
    Route("leave", "signaling.handlers.leave", posts=True, uses_table=True),
    Route("ping", None, route_response=True, mock_response=PING_RESPONSE),
)

ROUTES_BY_KEY: dict[str, Route] = {route.key: route for route in ROUTES}


@dataclass(frozen=True)
class TableSpec:
    """The single DynamoDB table: generic string keys, one TTL attribute (epoch seconds)."""

    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = "expiresAt"

    def create_table_request(self, table_name: str) -> dict[str, Any]:
        """DynamoDB CreateTable arguments for this schema (the local stack and the tests create it this way)."""
        keys = ((self.partition_key, "HASH"), (self.sort_key, "RANGE"))
        return {
            "TableName": table_name,
            "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
            "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in keys],
            "BillingMode": "PAY_PER_REQUEST",
        }


TABLE = TableSpec()

STAGE_NAME = "prod"
"""The deployed stage; the local stack uses "local"."""

# API Gateway WebSocket limits the design respects (and the local stack enforces).
MAX_MESSAGE_BYTES = 128 * 1024
CONNECTION_MAX_SECONDS = 2 * 60 * 60
IDLE_TIMEOUT_SECONDS = 10 * 60
