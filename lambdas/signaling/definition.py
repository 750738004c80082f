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

# API Gateway WebSocket limits the design respects (and the local stack enforces). The quota table gives sizes in
# KB; they are read as binary (1 KB = 1024 bytes) here, and the client's own budget (MAX_SIGNAL_BYTES) also fits
# the decimal reading, so either way no frame the client sends is closed.
MAX_FRAME_BYTES = 32 * 1024
"""One WebSocket frame ("WebSocket frame size 32 KB", not raisable). A larger frame closes the connection with 1009.
Browsers send every message as a single frame, so for a browser this is the largest message it can send."""
MAX_MESSAGE_BYTES = 128 * 1024
"""One message ("Message payload size 128 KB"), sent as frames of at most MAX_FRAME_BYTES. Larger: 1009."""
CONNECTION_MAX_SECONDS = 2 * 60 * 60
IDLE_TIMEOUT_SECONDS = 10 * 60

MAX_PEER_ID_LENGTH = 64
SIGNAL_ENVELOPE_BYTES = len('{"action":"signal","to":"","data":}') + MAX_PEER_ID_LENGTH
"""What a `signal` frame holds besides `data` (compact JSON, the longest peerId): 99 bytes. The relayed frame
({"type":"signal","from":...}) is one byte shorter, so whatever may be sent may also be delivered."""
MAX_SIGNAL_BYTES = 31 * 1024
"""The largest `signal.data` (compact JSON, UTF-8) by default: the largest signal frame is then 31,843 bytes, 925
under 32 KiB and 157 under 32,000 (the decimal reading of "32 KB"). docs/protocol.md compares it with the largest
payloads the browser client was measured to send."""


@dataclass(frozen=True)
class ThrottleLimits:
    """One token bucket, as API Gateway throttles: `rate` requests per second refill it, `burst` is its size (and
    what it starts with). A request takes one token; with none left it is throttled."""

    rate: int
    burst: int


STAGE_THROTTLE = ThrottleLimits(rate=600, burst=1200)
"""The stage's default route throttling (DefaultRouteSettings), shared by every route (the stack sets no route-level
RouteSettings; the local stack can be given some to match a stage configured by hand). Sized in
docs/deploy.md ("Capacity") for 10,000 participants in rooms of 8 with a 4x peak; `throttleRate`/`throttleBurst`
change it per deployment, `--throttle-rate`/`--throttle-burst` locally."""
ACCOUNT_THROTTLE = ThrottleLimits(rate=10_000, burst=5_000)
"""API Gateway's account-level quota per Region, shared by every API and by @connections callbacks (raisable)."""
NEW_CONNECTIONS_PER_SECOND = 500
"""New WebSocket connections per second, per account and Region, across every WebSocket API (raisable)."""
LAMBDA_CONCURRENCY = 1000
"""Lambda's default concurrency quota per account and Region, shared by every function (new accounts may get less;
`aws lambda get-account-settings` tells). Beyond it an invocation is throttled (429), which API Gateway reports to
the caller as "Internal server error"."""
