"""DynamoDB embedded in this process through moto, with the table built from the shared definition."""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws
from moto.core.config import default_user_config
from moto.core.models import botocore_stubber

from devstack import latency
from signaling.definition import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_lock = threading.Lock()


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
        client = boto3.client("dynamodb", region_name=self.region)
        client.create_table(**TABLE.create_table_request(self.table_name))
        client.update_time_to_live(
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TABLE.ttl_attribute},
        )

    def table(self) -> Table:
        return boto3.resource("dynamodb", region_name=self.region).Table(self.table_name)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        # Back to moto's own method (the instance attribute shadowed the class's), then the mock resets its data.
        botocore_stubber.__dict__.pop("process_request", None)
        self._mock.stop()
