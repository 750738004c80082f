"""Per-connection limits, enforced by the handlers: API Gateway throttles a stage, a route or an account, never one
socket, so one socket could otherwise take the whole stage's share.

Each limit is a token bucket (`Bucket`: `burst` requests at once, refilled at `per_second`), kept as GCRA: one
number per bucket, the "theoretical arrival time" `tat` in epoch milliseconds, on the socket's own item:

    pk conn#<conn>   sk limits   tat_<bucket>..., expiresAt (the socket's 2-hour maximum)

A request at `now` conforms when tat - now <= (burst - 1) * interval; it then moves tat to max(tat, now) + interval.
DynamoDB has no max(), so that is two conditional UpdateItems: "idle" (tat <= now: set it to now + interval), which
is the usual case and one round trip; and, when that fails, the failed condition returns the stored tat
(ReturnValuesOnConditionCheckFailure), which either refuses the request or is advanced by a compare-and-set.
Concurrent requests of one socket (API Gateway runs them in parallel) cannot both take the last token: every write
is conditional on what it read.

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

_ATTEMPTS = 3


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
        stored = self._update(conn, attribute, "attribute_not_exists(#tat) OR #tat <= :now", now + interval, now)
        for _ in range(_ATTEMPTS):
            if stored is None:
                return
            if stored - now > tolerance:
                wait = stored - tolerance - now
                raise RateLimited(
                    f"This connection sent too many '{bucket.name}' requests: at most {bucket.burst} at once and"
                    f" {bucket.per_second:g} a second. Wait {wait} ms.",
                    retry_after_ms=wait,
                )
            stored = self._update(conn, attribute, "#tat = :old", stored + interval, now, old=stored)
        raise RateLimited(f"Too many concurrent '{bucket.name}' requests.", retry_after_ms=interval)

    def _update(
        self, conn: str, attribute: str, condition: str, tat: int, now: int, old: int | None = None
    ) -> int | None:
        """Set tat if `condition` holds: None when it did, else the stored tat (0 if none)."""
        values: dict[str, Any] = {
            ":tat": {"N": str(tat)},
            ":exp": {"N": str(now // 1000 + CONNECTION_MAX_SECONDS)},
        }
        values[":old" if old is not None else ":now"] = {"N": str(old if old is not None else now)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={TABLE.partition_key: {"S": f"conn#{conn}"}, TABLE.sort_key: {"S": "limits"}},
                UpdateExpression="SET #tat = :tat, #ttl = :exp",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#tat": attribute, "#ttl": TABLE.ttl_attribute},
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item: dict[str, Any] = exc.response.get("Item", {})  # type: ignore[assignment]
            return int(item[attribute]["N"]) if attribute in item else 0
        return None
