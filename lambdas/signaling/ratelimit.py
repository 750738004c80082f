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

Only requests that passed strict parsing and validation are counted (a malformed frame costs no table access,
and is answered `bad-request` as before). A refused request gets `rate-limited` with `retryAfterMs`. The limits
are signaling.settings.Settings.message_limit and join_limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from signaling.definition import CONNECTION_MAX_SECONDS, TABLE
from signaling.errors import RateLimited
from signaling.settings import Bucket

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RateLimiter:
    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._db = client
        self._table = table_name
        self._clock = clock

    def admit(self, conn: str, bucket: Bucket) -> None:
        """Take one token from `conn`'s `bucket`, or raise RateLimited."""
        now = int(self._clock() * 1000)
        interval, tolerance = bucket.interval_ms, bucket.tolerance_ms
        attribute = f"tat_{bucket.name}"
        idle = ("attribute_not_exists(#tat) OR #tat <= :now", "SET #tat = :next, #ttl = :exp")
        # An atomic increment, not a compare-and-set: concurrent requests of one socket never fail each other.
        busy = ("#tat > :now AND #tat <= :limit", "SET #tat = #tat + :interval, #ttl = :exp")
        values = {":now": now, ":next": now + interval, ":limit": now + tolerance, ":interval": interval}
        stored = None
        for condition, update in (idle, busy, idle, busy):
            stored = self._update(conn, attribute, condition, update, values, now)
            if stored is None:
                return
            if stored - now > tolerance:
                break
        wait = max(1, (stored or now) - tolerance - now)
        raise RateLimited(
            f"This connection sent too many '{bucket.name}' requests: at most {bucket.burst} at once and"
            f" {bucket.per_second:g} a second. Wait {wait} ms.",
            retry_after_ms=wait,
        )

    def _update(
        self, conn: str, attribute: str, condition: str, update: str, values: dict[str, int], now: int
    ) -> int | None:
        """Apply `update` if `condition` holds: None when it did, else the stored tat (0 if none)."""
        names = {"#tat": attribute, "#ttl": TABLE.ttl_attribute}
        used = {name: value for name, value in values.items() if name in condition or name in update}
        expression_values: dict[str, Any] = {name: {"N": str(value)} for name, value in used.items()}
        expression_values[":exp"] = {"N": str(now // 1000 + CONNECTION_MAX_SECONDS)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={TABLE.partition_key: {"S": f"conn#{conn}"}, TABLE.sort_key: {"S": "limits"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expression_values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item: dict[str, Any] = exc.response.get("Item", {})  # type: ignore[assignment]
            return int(item[attribute]["N"]) if attribute in item else 0
        return None
