"""Per-connection limits, enforced by the handlers: API Gateway throttles a stage, a route or an account, never one
socket, so one socket could otherwise take the whole stage's share.

Each limit is a token bucket (`Bucket`: `burst` requests at once, refilled at `per_second`), kept as GCRA: one
number per bucket, the "theoretical arrival time" `tat` in epoch milliseconds, on the socket's own item:

    pk conn#<conn>   sk limits   tat_<bucket>..., expiresAt (the socket's 2-hour maximum)

A request at `now` conforms when tat - now <= (burst - 1) * interval; it then moves tat to max(tat, now) + interval.
DynamoDB has no max(), so that is two conditional UpdateItems: "idle" (tat <= now: set it to now + interval), which
is the usual case and one round trip; and, when that fails, "busy" (now < tat <= now + tolerance: add the interval,
atomically). A failed condition returns the stored tat (ReturnValuesOnConditionCheckFailure), which says how long to
wait. Concurrent requests of one socket (API Gateway runs them in parallel) cannot overdraw the bucket, and do not
fail each other: the increment needs no read.

Which of the two to try first is a guess, never a decision: each limiter remembers the tat it last saw for each
socket and bucket (`_recent`, bounded: the execution environment's memory must not grow with traffic), and a
request that arrives before that tat (a burst under way: the first ICE candidates right behind an offer) tries
"busy" first. A wrong guess (another execution environment moved the tat meanwhile, or the memory forgot it) costs
the other attempt, as it did before there was a guess; the conditions decide, so the guess can never admit a request
the bucket does not hold, nor refuse one it does.

Only requests that passed strict parsing and validation are counted (a malformed frame costs no table access,
and is answered `bad-request` as before). A refused request gets `rate-limited` with `retryAfterMs`. The limits
are signaling.settings.Settings.message_limit and join_limit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from signaling.definition import CONNECTION_MAX_SECONDS, TABLE
from signaling.errors import RateLimited
from signaling.settings import Bucket

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


RECENT_SOCKETS = 4096
"""How many (socket, bucket) pairs a limiter remembers the last tat of, the least recently used forgotten first."""

_Attempt = tuple[str, str]


class RateLimiter:
    """One per execution environment (signaling.wiring), so that its memory of recent tats serves the next request."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._db = client
        self._table = table_name
        self._clock = clock
        self._recent: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._recent_lock = threading.Lock()

    def admit(self, conn: str, bucket: Bucket) -> None:
        """Take one token from `conn`'s `bucket`, or raise RateLimited."""
        now = int(self._clock() * 1000)
        interval, tolerance = bucket.interval_ms, bucket.tolerance_ms
        attribute = f"tat_{bucket.name}"
        idle = ("attribute_not_exists(#tat) OR #tat <= :now", "SET #tat = :next, #ttl = :exp")
        # An atomic increment, not a compare-and-set: concurrent requests of one socket never fail each other.
        busy = ("#tat > :now AND #tat <= :limit", "SET #tat = #tat + :interval, #ttl = :exp")
        values = {":now": now, ":next": now + interval, ":limit": now + tolerance, ":interval": interval}
        key = (conn, bucket.name)
        stored = self._recalled(key) or 0
        for _ in range(4):
            stored, taken = self._update(conn, attribute, busy if stored > now else idle, values, now)
            if taken:
                self._remember(key, stored)
                return
            if stored - now > tolerance:
                break
        self._remember(key, stored)
        wait = max(1, (stored or now) - tolerance - now)
        raise RateLimited(
            f"This connection sent too many '{bucket.name}' requests: at most {bucket.burst} at once and"
            f" {bucket.per_second:g} a second. Wait {wait} ms.",
            retry_after_ms=wait,
        )

    def _recalled(self, key: tuple[str, str]) -> int | None:
        with self._recent_lock:
            return self._recent.get(key)

    def _remember(self, key: tuple[str, str], tat: int) -> None:
        with self._recent_lock:
            self._recent[key] = tat
            self._recent.move_to_end(key)
            while len(self._recent) > RECENT_SOCKETS:
                self._recent.popitem(last=False)

    def _update(
        self, conn: str, attribute: str, attempt: _Attempt, values: dict[str, int], now: int
    ) -> tuple[int, bool]:
        """Apply the attempt's update if its condition holds. (the tat now, True) when it did; else (the stored tat,
        0 if none, False)."""
        condition, update = attempt
        names = {"#tat": attribute, "#ttl": TABLE.ttl_attribute}
        used = {name: value for name, value in values.items() if name in condition or name in update}
        expression_values: dict[str, Any] = {name: {"N": str(value)} for name, value in used.items()}
        expression_values[":exp"] = {"N": str(now // 1000 + CONNECTION_MAX_SECONDS)}
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key={TABLE.partition_key: {"S": f"conn#{conn}"}, TABLE.sort_key: {"S": "limits"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expression_values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item: dict[str, Any] = exc.response.get("Item", {})  # type: ignore[assignment]
            return (int(item[attribute]["N"]) if attribute in item else 0), False
        return int(response["Attributes"][attribute]["N"]), True
