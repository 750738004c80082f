"""The one definition of the WebSocket API's routes and of the table, shared by the CDK stack and the local stack.

Standard library only: the CDK app and the local stack import this without pulling in the handlers' dependencies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ROUTE_SELECTION_EXPRESSION = "$request.body.action"

PING_RESPONSE = '{"type":"pong"}'
"""What the MOCK `ping` route answers, without invoking Lambda."""

DISCONNECT_GRACE_SECONDS = 10
"""How long a seat is held after its socket closed without `leave`, so that a client whose socket was closed (the
2-hour limit, the idle timeout, a network drop) can resume without the others hearing anything. `leave` frees it at
once. Nothing waits it out: $disconnect enqueues a message delayed by this much (GRACE_QUEUE), and the seat is freed
when it is delivered, unless a resume or a `leave` came first."""

MAILBOX_MAX_MESSAGES = 64
MAILBOX_MAX_BYTES = 128 * 1024
"""While a member's socket is gone (the grace period), signals to it are held for it in the table, at most this many
messages and bytes (of the `signal` frames as they would have been posted); they are delivered, in order, when it
resumes. A signal beyond either bound is refused: its sender gets `undelivered` (reason "mailbox-full")."""
MAILBOX_SLACK_SECONDS = 60
"""A held message's TTL is the grace period plus this: a backstop only (a resume delivers the messages, a lapse reports
them), covering the moments between the failed post and the $disconnect that starts the grace period."""

FOLLOW_UP_DELAY_SECONDS = 60
"""How long after a removal starts its follow-up message (signaling.grace.Departure) is delivered: longer than any
function's timeout (the queue consumer's 30 s is the longest), so the invocation that removed the seat has either
announced it or is dead by then."""

MAX_QUEUE_DELAY_SECONDS = 900
"""SQS's longest per-message delay (DelaySeconds), so the longest grace period a deployment can choose."""


def page_config(ws_url: str, ice_servers: Iterable[dict[str, Any]], *, turn: bool) -> dict[str, Any]:
    """What /config.json beside the page holds (the CDK stack writes it, the local stack serves it): where the
    signaling socket is, and the ICE servers when they are the same for everyone. With TURN they are not (each
    client gets its own time-limited credentials), so they are left out and the page asks `ice` on its socket; either
    way it has them before the click, to prepare its first offer in the lobby (frontend/js/prepared.js)."""
    config: dict[str, Any] = {"wsUrl": ws_url}
    if not turn:
        config["iceServers"] = [dict(server) for server in ice_servers]
    return config


TABLE_CALLS: dict[str, tuple[str, ...]] = {
    "GetItem": ("dynamodb:GetItem",),
    "BatchGetItem": ("dynamodb:BatchGetItem",),
    "Query": ("dynamodb:Query",),
    "DeleteItem": ("dynamodb:DeleteItem",),
    "UpdateItem": ("dynamodb:UpdateItem",),
    # IAM has no action for a transaction itself: each of its items needs the single-item action. Ours put, update
    # and delete (signaling.storage), and never use ConditionCheck.
    "TransactWriteItems": ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
}
"""The IAM actions each DynamoDB call of the handlers needs."""

MANAGEMENT_CALLS: dict[str, str] = {"PostToConnection": "POST", "GetConnection": "GET", "DeleteConnection": "DELETE"}
"""The HTTP method of each Management API call: execute-api:ManageConnections is granted per method
(.../{stage}/{method}/@connections/*), so a function that only posts cannot close or inspect sockets."""

_REMOVES_MEMBERS = frozenset({"Query", "TransactWriteItems", "DeleteItem", "GetItem"})
"""The calls of freeing a seat and telling the room (Signaling._remove: it reads the room's sequence), and of
reporting the messages held for it to their senders: every route that can free one makes them."""

_LIMITED = frozenset({"UpdateItem"})
"""The call of the per-connection limits (signaling.ratelimit), made by every route a client's request reaches a
table through."""


class _Calls:
    """What a function's handler calls, declared with its route; the grants are derived from it (and a test records
    each route's real calls under moto, so the declaration cannot drift)."""

    table_calls: frozenset[str]
    management_calls: frozenset[str]

    @property
    def posts(self) -> bool:
        """The handler calls the Management API."""
        return bool(self.management_calls)

    @property
    def uses_table(self) -> bool:
        return bool(self.table_calls)

    @property
    def table_actions(self) -> list[str]:
        """The IAM actions on the table, sorted."""
        return sorted({action for call in self.table_calls for action in TABLE_CALLS[call]})

    @property
    def management_methods(self) -> list[str]:
        """The HTTP methods on @connections, sorted."""
        return sorted({MANAGEMENT_CALLS[call] for call in self.management_calls})


@dataclass(frozen=True)
class Bulkhead:
    """A function's reserved concurrency, sized from the capacity arithmetic (docs/deploy.md, "Capacity"): the most
    invocations the traffic that feeds it can keep running at once if each took `seconds` (the duration assumed in
    AWS), times BULKHEAD_HEADROOM. Reserved concurrency is a guarantee (no other function, of this stack or of the
    account, can take it) and a cap (one more invocation is throttled), so no route can starve another.

    fed_by: "stage" for a message route (the stage throttle bounds its rate), "connections" for $connect (the
        account's new connections per second bound it, and the stage's)."""

    fed_by: str
    seconds: float


@dataclass(frozen=True)
class Route(_Calls):
    """One WebSocket route.

    handler: dotted path of the Lambda handler ("module.function"), or None for a MOCK integration.
    timeout_seconds: the function's timeout.
    table_calls: the DynamoDB operations the handler calls (keys of TABLE_CALLS).
    management_calls: the Management API operations the handler calls (keys of MANAGEMENT_CALLS).
    reads_turn_secret: the handler hands out TURN credentials, so it may read the TURN secret.
    enqueues_grace: the handler starts grace periods or frees seats (whose announcement it follows through with a
        queued signaling.grace.Departure), so it may send to GRACE_QUEUE: $disconnect, every handler that frees
        seats, and every handler that posts to members (a post that finds a socket gone starts its grace period:
        protocol rule 5).
    route_response: the integration's return body is sent back to the caller (a two-way route).
    mock_response: the body a MOCK route answers with.
    bulkhead: how its reserved concurrency is sized; None leaves the function on the account's unreserved pool.
    """

    key: str
    handler: str | None
    table_calls: frozenset[str] = frozenset()
    management_calls: frozenset[str] = frozenset()
    reads_turn_secret: bool = False
    enqueues_grace: bool = False
    route_response: bool = False
    mock_response: str | None = None
    timeout_seconds: int = 10
    bulkhead: Bulkhead | None = None

    @property
    def function_id(self) -> str:
        """A construct id for the route's function, e.g. "$connect" -> "Connect"."""
        return self.key.lstrip("$").title().replace("-", "")


ROUTES: tuple[Route, ...] = (
    Route("$connect", "signaling.handlers.connect", bulkhead=Bulkhead("connections", 0.02)),
    # Frees the seat and posts only when the grace period is configured to 0 (it then frees the seat at once).
    # No bulkhead: reserved concurrency is also a cap, and API Gateway never retries a throttled $disconnect, so a
    # cap would turn a burst of closing sockets into lost $disconnects. It draws on the unreserved pool, which no
    # interactive route depends on (theirs are reserved).
    Route(
        "$disconnect",
        "signaling.handlers.disconnect",
        table_calls=_REMOVES_MEMBERS | {"GetItem"},
        management_calls=frozenset({"PostToConnection"}),
        enqueues_grace=True,
    ),
    Route("$default", "signaling.handlers.default", route_response=True, bulkhead=Bulkhead("stage", 0.01)),
    # Reads a peer to resume it, closes the socket it replaces, and asks whether members of a full room are alive.
    Route(
        "join",
        "signaling.handlers.join",
        table_calls=_REMOVES_MEMBERS | _LIMITED | {"GetItem"},
        management_calls=frozenset({"PostToConnection", "GetConnection", "DeleteConnection"}),
        reads_turn_secret=True,
        enqueues_grace=True,
        route_response=True,
        bulkhead=Bulkhead("stage", 0.10),
    ),
    # Reads sender and target in one BatchGetItem; holds the message if the target's socket is gone and starts
    # that socket's grace period (a $disconnect may never come).
    Route(
        "signal",
        "signaling.handlers.signal",
        table_calls=_REMOVES_MEMBERS | _LIMITED | {"BatchGetItem"},
        management_calls=frozenset({"PostToConnection"}),
        enqueues_grace=True,
        bulkhead=Bulkhead("stage", 0.04),
    ),
    Route(
        "leave",
        "signaling.handlers.leave",
        table_calls=_REMOVES_MEMBERS | _LIMITED | {"GetItem"},
        management_calls=frozenset({"PostToConnection"}),
        enqueues_grace=True,
        bulkhead=Bulkhead("stage", 0.08),
    ),
    # The ICE servers before joining (the lobby prepares its first connection with them): no table, no post, the
    # TURN secret when TURN is configured.
    Route(
        "ice",
        "signaling.handlers.ice",
        reads_turn_secret=True,
        route_response=True,
        bulkhead=Bulkhead("stage", 0.01),
    ),
    Route("ping", None, route_response=True, mock_response=PING_RESPONSE),
)

ROUTES_BY_KEY: dict[str, Route] = {route.key: route for route in ROUTES}


@dataclass(frozen=True)
class QueueSpec(_Calls):
    """An SQS standard queue consumed by one function through a Lambda event source mapping, with a dead-letter
    queue. The CDK stack deploys it from this, and the local stack emulates it (devstack/queues.py) from the same
    values.

    handler: the consumer ("module.function"); it reports partial batch failures (ReportBatchItemFailures).
    batch_size: at most this many messages per invocation.
    max_concurrency: at most this many invocations at once (the event source mapping's MaximumConcurrency): a
        burst of disconnects can never take Lambda concurrency from `join` and `signal`.
    visibility_timeout_seconds: a received message is hidden this long before it is delivered again; AWS advises
        at least six times the consumer's timeout, so a retry never overlaps the invocation still working on it.
    max_receive_count: a message received this often without being deleted moves to the dead-letter queue.
    retention_seconds: an undelivered message is dropped after this long (every seat it could free has expired by
        then: seats live at most a connection's 2 hours).
    """

    key: str
    handler: str
    table_calls: frozenset[str] = _REMOVES_MEMBERS | {"GetItem"}
    """As a Route's: the consumer frees seats (Signaling.grace_over)."""
    management_calls: frozenset[str] = frozenset({"PostToConnection"})
    enqueues_grace: bool = True
    """As a Route's: freeing a seat queues its follow-up (signaling.grace.Departure) on GRACE_QUEUE, and a post of
    `peer-left` that finds another member's socket gone starts that socket's grace period."""
    batch_size: int = 10
    max_concurrency: int = 10
    timeout_seconds: int = 30
    visibility_timeout_seconds: int = 180
    max_receive_count: int = 5
    retention_seconds: int = 2 * 60 * 60
    dead_letter_retention_seconds: int = 14 * 24 * 60 * 60

    @property
    def function_id(self) -> str:
        """A construct id for the consumer's function, e.g. "disconnect-grace" -> "DisconnectGrace"."""
        return self.key.title().replace("-", "")

    def create_queue_requests(self, name: str) -> tuple[dict[str, Any], Callable[[str], dict[str, Any]]]:
        """SQS CreateQueue arguments for the dead-letter queue, and a function of the dead-letter queue's ARN giving
        those of the queue itself (the local stack and the tests create them this way)."""
        dead_letter = {
            "QueueName": f"{name}-dlq",
            "Attributes": {"MessageRetentionPeriod": str(self.dead_letter_retention_seconds)},
        }

        def queue(dead_letter_arn: str) -> dict[str, Any]:
            redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receive_count}
            return {
                "QueueName": name,
                "Attributes": {
                    "VisibilityTimeout": str(self.visibility_timeout_seconds),
                    "MessageRetentionPeriod": str(self.retention_seconds),
                    "RedrivePolicy": json.dumps(redrive),
                },
            }

        return dead_letter, queue


GRACE_QUEUE = QueueSpec("disconnect-grace", "signaling.consumers.grace_expired")
"""Messages "the grace period of socket X is over", each delayed by the grace period when $disconnect sends it."""

FUNCTIONS: dict[str, Route | QueueSpec] = {
    **{route.key: route for route in ROUTES if route.handler},
    GRACE_QUEUE.key: GRACE_QUEUE,
}
"""Every Lambda function, a WebSocket route's or a queue consumer's, by the route's or the queue's key."""


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
"""What a `signal` frame holds besides `data` (compact JSON, the longest peerId): 99 bytes."""
MAX_ROOM_LENGTH = 64
RELAYED_SIGNAL_ENVELOPE_BYTES = (
    len('{"type":"signal","room":"","from":"","data":}') + MAX_ROOM_LENGTH + MAX_PEER_ID_LENGTH
)
"""What the relayed `signal` holds besides `data` (it names the room and the sender): 173 bytes, so the largest one
(31,917 bytes with MAX_SIGNAL_BYTES) is still one frame under either reading of "32 KB", held or not."""
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


STAGE_THROTTLE = ThrottleLimits(rate=510, burst=1020)
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

UNRESERVED_CONCURRENCY_MINIMUM = 100
"""Lambda refuses a reservation that would leave less than this much of the account's concurrency unreserved
("You can reserve up to the Unreserved account concurrency value minus 100", Configuring reserved concurrency)."""
BULKHEAD_HEADROOM = 2
"""A bulkhead holds twice what its route needs at the full stage throttle with the assumed durations: it only
throttles when the function runs more than twice as slow as assumed while the stage is saturated."""
BULKHEAD_MINIMUM = 10
"""No bulkhead holds fewer: at a small stage throttle the arithmetic gives 1 or 2, and a few requests arriving
together (the stage's burst lets them through at once) would then be throttled by Lambda rather than by the stage."""


def reserved_concurrency(
    stage_rate: int = STAGE_THROTTLE.rate, functions: Iterable[Route | QueueSpec] | None = None
) -> dict[str, int]:
    """The reserved concurrency of `functions` (default: every function), by function key; those left out draw on
    the unreserved pool. A route's comes from its Bulkhead and the stage's steady rate; a queue consumer's is its
    event source mapping's maximum concurrency (AWS advises reserving at least that much, or the mapping's
    invocations are throttled)."""
    reserved: dict[str, int] = {}
    for function in FUNCTIONS.values() if functions is None else functions:
        key = function.key
        if isinstance(function, QueueSpec):
            reserved[key] = function.max_concurrency
        elif function.bulkhead is not None:
            rate = stage_rate
            if function.bulkhead.fed_by == "connections":
                rate = min(stage_rate, NEW_CONNECTIONS_PER_SECOND)
            needed = math.ceil(rate * function.bulkhead.seconds * BULKHEAD_HEADROOM)
            reserved[key] = max(BULKHEAD_MINIMUM, needed)
    return reserved


RESERVED_CONCURRENCY = reserved_concurrency()
"""The deployed default (stage throttle 510/s): $connect 20, $default 11, join 102, signal 41, leave 82, ice 11, the
grace consumer 10; 277 of the account's 1,000, leaving 723 unreserved, $disconnect's among them."""
