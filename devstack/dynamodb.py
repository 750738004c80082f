"""DynamoDB embedded in this process through moto, with the table built from the shared definition."""

from __future__ import annotations

import copy
import functools
import inspect
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.config import default_user_config
from moto.core.model_instances import model_data
from moto.core.models import botocore_stubber
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table as MotoTable

from devstack import latency
from signaling.definition import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TTL_SWEEP_SECONDS = 60.0
"""How often the local stack deletes expired items (DynamoDB: "typically within a few days"; nothing may rely on
either)."""

_lock = threading.Lock()
_MOTO_TRANSACT = DynamoDBBackend.transact_write_items
_MOTO_QUERY = MotoTable.query


def moto_lock() -> threading.Lock:
    """The lock every moto request runs under (below): hold it to touch moto's state directly."""
    return _lock


def _serialize(process_request: Any, passthrough_url: str) -> Any:
    """Wrap moto's entry point for every request a boto3 client makes while the mock is active.

    Why: the handlers run concurrently on worker threads, as Lambda runs them concurrently, and moto's backends
    hold no lock. A conditional write (or a transaction) checks its condition and then writes, and another
    thread's write can land in between: fifty simultaneous joins could all see a free seat. Real DynamoDB makes
    each request atomic, and the capacity guarantee rests on that, so each request moto serves runs alone.
    `process_request` is the narrowest point that sees one whole request: it parses it, runs the backend and
    renders the response, all in memory. Requests to our own Management API on 127.0.0.1 skip the lock: moto
    passes them through (returns None) and botocore then sends them over real HTTP, so no network I/O ever
    happens under the lock and a slow post never holds up the table.
    """

    @functools.wraps(process_request)
    def serialized(request: Any) -> Any:
        if request.url.startswith(passthrough_url):
            return process_request(request)
        latency.dynamodb_call()  # a request's round trip to DynamoDB (zero unless profiled), outside the lock
        with _lock:
            return process_request(request)

    return serialized


def _rollback_by_item(transact: Callable[..., None]) -> Callable[..., None]:
    """Wrap moto's TransactWriteItems so that a transaction costs what its items cost, not what the table holds.

    Why: moto deep-copies every table a transaction names before it starts, to put the copy back if the transaction
    is cancelled. That grows with the table (the local stack keeps every item until its TTL, up to 2 hours): with
    about 300 items it was 34 ms of a 39 ms transaction, most of a `join`. A transaction can only change the items
    it names, so a copy of those (taken under the same lock: nothing else runs meanwhile) restores exactly what
    moto's would, and is what this keeps; while it runs, moto's copy of each table it names is the table itself.
    All or nothing, as in DynamoDB: a cancelled transaction leaves every item as it was. Anything it cannot read a
    key from is left to moto's own copy."""

    @functools.wraps(transact)
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        try:
            saved = [_saved(backend, item) for item in transact_items]
        except Exception:
            return transact(backend, transact_items)  # a malformed request: moto's copy, and moto's error
        tables = {id(table): table for table, _, _, _ in saved}.values()
        for table in tables:
            table.__deepcopy__ = functools.partial(_itself, table)
        try:
            transact(backend, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in reversed(saved):
                table.delete_item(hash_key, range_key)
                if before is not None:
                    table.put_item(before.to_json()["Attributes"])
            raise
        finally:
            for table in tables:
                del table.__deepcopy__

    return transact_write_items


def _partition_query(query: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's Query so that it reads the partition it asks for, not the whole table.

    Why: without an index, moto's Query sorts every item of the table (Table.all_items) and keeps those whose
    partition key matches: about 2 ms a query with 300 items, growing with the table (a join's room read, a leave's).
    The table keeps each partition's items together (Table.items: partition key -> sort key -> item), so while a
    Query runs, its table's all_items is that partition's items; moto filters, sorts, pages and projects them as
    before. Under the request lock, like every moto request here."""

    signature = inspect.signature(query)

    @functools.wraps(query)
    def partition_query(table: MotoTable, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # By name, not position: moto's parameter order is not an interface.
        index_name = signature.bind(table, hash_key, *args, **kwargs).arguments.get("index_name")
        if index_name is not None or hash_key is None or table.range_key_attr is None:
            return query(table, hash_key, *args, **kwargs)
        table.all_items = lambda: list(table.items.get(hash_key, {}).values())  # type: ignore[method-assign]
        try:
            return query(table, hash_key, *args, **kwargs)
        finally:
            del table.all_items

    return partition_query


def _itself(table: Any, memo: Any) -> Any:
    return table


def _saved(backend: DynamoDBBackend, transact_item: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(table, hash key, range key, a copy of the item as it is now or None) for one item of a transaction."""
    ((kind, operation),) = transact_item.items()
    table = backend.get_table(operation["TableName"])
    if kind == "Put":
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        key = {name: operation["Item"][name] for name in names}
    else:
        key = operation["Key"]
    hash_key, range_key = backend.get_keys_value(table, key)
    return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))


class _Untracked(list[Any]):
    """A list that keeps nothing appended to it."""

    def append(self, item: Any) -> None:
        pass


def stop_tracking_moto_instances() -> None:
    """moto appends every model object it ever creates to its class's `instances_tracked`, for its server's
    dashboard, and never lets go. A DynamoDB transaction deep-copies the whole table first (to roll back), so every
    transaction added a copy of every item: 1.8 GB after a few hundred sockets. Nothing here reads those lists, so
    every moto model class (those imported so far) gets one that keeps nothing."""
    for models in list(model_data.values()):
        for model in list(models.values()):
            if not isinstance(getattr(model, "instances_tracked", None), _Untracked):
                model.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def tracked_moto_instances() -> int:
    """moto model objects held for its dashboard (0 once stop_tracking_moto_instances ran)."""
    return sum(
        len(getattr(model, "instances_tracked", ())) for models in model_data.values() for model in models.values()
    )


class EmbeddedDynamoDB:
    """moto's mock_aws, active process-wide from start() to stop(), with the table created."""

    def __init__(self, table_name: str, region: str, passthrough_url: str) -> None:
        self.table_name = table_name
        self.region = region
        self._passthrough_url = passthrough_url
        # moto already lets a 127.0.0.1 URL through (no service pattern matches it); saying so keeps it that way.
        passthrough = {"urls": [re.escape(passthrough_url) + ".*"], "services": []}
        config: Any = {"core": {**default_user_config["core"], "passthrough": passthrough}}
        self._mock = mock_aws(config=config)
        self._started = False

    def start(self) -> None:
        self._mock.start()
        self._started = True
        moto_process_request = type(botocore_stubber).process_request.__get__(botocore_stubber)
        botocore_stubber.process_request = _serialize(moto_process_request, self._passthrough_url)  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _rollback_by_item(_MOTO_TRANSACT)  # type: ignore[method-assign]
        MotoTable.query = _partition_query(_MOTO_QUERY)  # type: ignore[method-assign]
        client = boto3.client("dynamodb", region_name=self.region)
        client.create_table(**TABLE.create_table_request(self.table_name))
        client.update_time_to_live(
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TABLE.ttl_attribute},
        )
        stop_tracking_moto_instances()

    def table(self) -> Table:
        return boto3.resource("dynamodb", region_name=self.region).Table(self.table_name)

    def delete_expired(self, now: float | None = None) -> int:
        """DynamoDB's TTL, which moto does not run: delete every item whose TTL attribute is a number below `now`
        (epoch seconds; default the time now), and return how many went.

        As in DynamoDB, this is a background process on its own schedule (the local stack runs it every
        TTL_SWEEP_SECONDS; AWS "typically within a few days"), an item whose TTL was moved into the future before
        its turn stays (each delete is conditional on the item still being expired), and until then reads still
        return expired items: the handlers treat them as absent, never relying on when they go."""
        table = self.table()
        cutoff = int(time.time() if now is None else now)
        names = {"#ttl": TABLE.ttl_attribute}
        # TTL only reads a Number attribute (the type check first: moto cannot compare a string with a number).
        expired = "attribute_type(#ttl, :number) AND #ttl < :now"
        values: dict[str, Any] = {":now": cutoff, ":number": "N"}
        keys = (TABLE.partition_key, TABLE.sort_key)
        scan: dict[str, Any] = {
            "FilterExpression": expired,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": ", ".join(keys),
        }
        deleted = 0
        while True:
            page = table.scan(**scan)
            for item in page.get("Items", []):
                try:
                    table.delete_item(
                        Key={key: item[key] for key in keys},
                        ConditionExpression=expired,
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues=values,
                    )
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
                else:
                    deleted += 1
            if "LastEvaluatedKey" not in page:
                return deleted
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        # Back to moto's own method (the instance attribute shadowed the class's), then the mock resets its data.
        botocore_stubber.__dict__.pop("process_request", None)
        DynamoDBBackend.transact_write_items = _MOTO_TRANSACT  # type: ignore[method-assign]
        MotoTable.query = _MOTO_QUERY  # type: ignore[method-assign]
        self._mock.stop()
