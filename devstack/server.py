"""The whole product on one port: the frontend, /config.json, the local API Gateway (WebSocket + Management API)
and the embedded DynamoDB, with the very handlers Lambda runs."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import boto3
from aiohttp import web

from devstack.dynamodb import (
    TTL_SWEEP_SECONDS,
    EmbeddedDynamoDB,
    moto_lock,
    stop_tracking_moto_instances,
    tracked_moto_instances,
)
from devstack.environment import HandlerEnvironment, handler_defaults
from devstack.gateway import Gateway
from devstack.management import ManagementApi
from devstack.queues import EventSourceMapping, create_queue, deleted_receipts, housekeep_queues
from devstack.runtime import Invoker
from devstack.throttle import Clock, Throttle, ThrottleSettings
from devstack.traffic import Traffic
from signaling.definition import (
    CONNECTION_MAX_SECONDS,
    GRACE_QUEUE,
    IDLE_TIMEOUT_SECONDS,
    LAMBDA_CONCURRENCY,
    MAX_MESSAGE_BYTES,
    ROUTES,
    QueueSpec,
    Route,
    page_config,
    reserved_concurrency,
)
from signaling.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb.service_resource import Table

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
STAGE = "local"

T = TypeVar("T")


class LocalStack:
    """One local stack: `start()` runs it on its own event loop in a background thread and returns once it listens;
    `stop()` closes every socket (1001), lets the $disconnects run, and leaves no moto mock and no handler
    environment behind. The handlers' environment and moto are process-wide, so one stack runs at a time."""

    _running: ClassVar[LocalStack | None] = None
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        env: Mapping[str, str] | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connection_time: float = CONNECTION_MAX_SECONDS,
        routes: Iterable[Route] = ROUTES,
        frontend: Path = FRONTEND,
        throttle: ThrottleSettings | None = None,
        lambda_concurrency: int = LAMBDA_CONCURRENCY,
        clock: Clock = time.monotonic,
        grace_queue: QueueSpec = GRACE_QUEUE,
        redeliver: float = 0.01,
        reserved: Mapping[str, int] | None = None,
        housekeeping_interval: float = TTL_SWEEP_SECONDS,
    ) -> None:
        """throttle: the stage's, routes' and account's limits (default: what `make deploy` sets); clock: what the
        throttle's token buckets read (a test's fake makes throttling deterministic); redeliver: the share of
        processed queue messages delivered a second time (SQS delivers at least once; 1% keeps the consumers'
        idempotency exercised in every run, tests set 0 or 1 to decide); reserved: each function's reserved
        concurrency by key (default: as the CDK stack reserves it for these functions at this stage throttle; {}
        puts every function on the shared pool, as an account with too little concurrency to reserve any)."""
        self.host = host
        self.port = port
        self.frontend = frontend
        self.traffic = Traffic()
        routes = tuple(routes)
        if reserved is None:
            stage_rate = (throttle or ThrottleSettings()).stage.rate
            reserved = reserved_concurrency(stage_rate, [*(r for r in routes if r.handler), grace_queue])
        self.invoker = Invoker(lambda_concurrency, on_done=self.traffic.handled, reserved=reserved)
        self.gateway = Gateway(
            routes,
            self.invoker,
            self.traffic,
            stage=STAGE,
            throttle=Throttle(throttle, clock),
            idle_timeout=idle_timeout,
            max_connection_time=max_connection_time,
        )
        self.housekeeping_interval = housekeeping_interval
        self._housekeeping_task: asyncio.Task[None] | None = None
        self._overrides = dict(env or {})
        self._grace_queue = grace_queue
        self._redeliver = redeliver
        self.grace_mapping: EventSourceMapping | None = None
        self._mapping_task: asyncio.Task[None] | None = None
        self._environment: HandlerEnvironment | None = None
        self._dynamodb: EmbeddedDynamoDB | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @classmethod
    def current(cls) -> LocalStack | None:
        """The stack running in this process, if any."""
        return cls._running

    # --- addresses ------------------------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        """The page, e.g. http://127.0.0.1:8000 (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/{STAGE}"

    @property
    def management_url(self) -> str:
        """The Management API endpoint_url, as the handlers get it in MANAGEMENT_API_ENDPOINT."""
        return f"{self.http_url}/{STAGE}"

    # --- inspection -----------------------------------------------------------------------------------------------

    @property
    def table(self) -> Table:
        """The embedded table as a boto3 Table resource, to look at what the handlers stored."""
        if self._dynamodb is None:
            raise RuntimeError("the local stack is not running")
        return self._dynamodb.table()

    def management_client(self) -> ApiGatewayManagementApiClient:
        """A boto3 apigatewaymanagementapi client for this stack, like the one the handlers build."""
        return boto3.client("apigatewaymanagementapi", endpoint_url=self.management_url, region_name="us-east-1")

    def connection_ids(self) -> list[str]:
        """The ids of the sockets open right now."""
        return self._on_loop(lambda: [cid for cid, c in self.gateway.connections.items() if c.open])

    def wait_idle(self, timeout: float = 10) -> None:
        """Wait until no socket is open, every invocation ($disconnect included) has finished and no grace period
        is running (its queue message is delivered and settled)."""
        deadline = time.monotonic() + timeout
        while self._on_loop(lambda: self.gateway.busy) or (self.grace_mapping and self.grace_mapping.pending()):
            if time.monotonic() > deadline:
                raise TimeoutError("the local stack is still busy")
            time.sleep(0.01)

    def wait_invocations(self, timeout: float = 10) -> None:
        """Wait until no invocation is in flight, nothing the gateway started (a reply, a close) is unfinished and
        every socket the server closed has had its $disconnect: whatever a handler posted has then reached its
        socket, so a ping sent after this is answered after it. (A socket the client closes counts once the
        gateway has seen the close.)"""
        deadline = time.monotonic() + timeout
        while self.invoker.running or self._on_loop(lambda: self.gateway.settling):
            if time.monotonic() > deadline:
                raise TimeoutError("invocations are still running")
            time.sleep(0.01)

    def wait_closed(self, connection_id: str, timeout: float = 10) -> None:
        """Wait until the gateway has seen `connection_id` close (however it closed) and its $disconnect, like every
        other invocation, has finished: what that $disconnect queued is then on its queue."""
        deadline = time.monotonic() + timeout
        while self._on_loop(lambda: connection_id in self.gateway.connections):
            if time.monotonic() > deadline:
                raise TimeoutError(f"socket {connection_id} is still open")
            time.sleep(0.01)
        self.wait_invocations(max(0.0, deadline - time.monotonic()))

    def housekeeping(self, now: float | None = None) -> dict[str, int]:
        """What AWS does in the background and moto does not: delete the table's expired items (DynamoDB's TTL) and
        the queues' messages past their retention period, as of `now` (epoch seconds), and forget moto's deleted
        SQS receipt handles. Runs every `housekeeping_interval` seconds; tests call it with a `now` of their
        choosing."""
        if self._dynamodb is None:
            raise RuntimeError("the local stack is not running")
        region = self._environment.get("AWS_DEFAULT_REGION") if self._environment else "us-east-1"
        stop_tracking_moto_instances()  # any moto model class imported since
        return {"expired_items": self._dynamodb.delete_expired(now), **housekeep_queues(region, moto_lock(), now)}

    def footprint(self) -> dict[str, int]:
        """The size of every structure of the stack that grows with sockets or messages, to show each is bounded
        or returns to where it was (the handler durations the benchmarks read are bounded by DURATIONS_KEPT)."""
        region = self._environment.get("AWS_DEFAULT_REGION") if self._environment else "us-east-1"
        gateway = self._on_loop(
            lambda: {"connections": len(self.gateway.connections), "tasks": len(self.gateway.tasks)}
        )
        mapping = self.grace_mapping
        return {
            **gateway,
            "invocations": self.invoker.running,
            "functions_running": self.invoker.functions_running,
            "traffic_kinds": len(self.traffic.frames_in) + len(self.traffic.frames_out),
            "table_items": len(self._all_items()),
            "queued_messages": mapping.pending() if mapping is not None else 0,
            "batches_in_flight": mapping.in_flight if mapping is not None else 0,
            "deleted_receipts": deleted_receipts(region, moto_lock()),
            "moto_instances": tracked_moto_instances(),
        }

    def _all_items(self) -> list[dict[str, Any]]:
        table, items = self.table, []
        scan: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = table.scan(**scan)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def wait_queues_settled(self, timeout: float = 30) -> None:
        """Wait until every queued message (grace periods still running included) is delivered and settled."""
        deadline = time.monotonic() + timeout
        while self.grace_mapping is not None and self.grace_mapping.pending():
            if time.monotonic() > deadline:
                raise TimeoutError("queue messages are still pending")
            time.sleep(0.01)

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        with LocalStack._running_lock:
            if LocalStack._running is not None:
                raise RuntimeError("a local stack is already running in this process (stop it first)")
            LocalStack._running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Bound here, before anything else, so port 0 becomes a real port the handlers' settings can name.
        listener = socket.create_server((self.host, self.port))
        try:
            self._start_serving(listener)
        except BaseException:
            listener.close()  # the site owns it once serving; before that, nobody else would close it
            raise

    def _start_serving(self, listener: socket.socket) -> None:
        self.port = listener.getsockname()[1]
        self._environment = HandlerEnvironment(handler_defaults(self.port, self.management_url), self._overrides)
        self._environment.apply()
        self._dynamodb = EmbeddedDynamoDB(
            self._environment.get("TABLE_NAME"),
            self._environment.get("AWS_DEFAULT_REGION"),
            passthrough_url=f"http://{self.host}:{self.port}/",
        )
        self._dynamodb.start()
        region = self._environment.get("AWS_DEFAULT_REGION")
        sqs = boto3.client("sqs", region_name=region)
        queue = create_queue(sqs, self._grace_queue, f"{self._environment.get('TABLE_NAME')}-{self._grace_queue.key}")
        stop_tracking_moto_instances()  # SQS's model classes, imported by now
        self._environment.set("GRACE_QUEUE_URL", queue.url)
        self.grace_mapping = EventSourceMapping(self._grace_queue, sqs, queue, region, redeliver=self._redeliver)
        self.invoker.warm([*self.gateway.routes.values(), self._grace_queue])

        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="devstack", daemon=True)
        self._thread.start()
        self._run(self._serve(listener))

    async def _serve(self, listener: socket.socket) -> None:
        # Management API posts go up to the message limit and a little over, so the 413 is ours, not aiohttp's.
        app = web.Application(client_max_size=4 * MAX_MESSAGE_BYTES)
        self.gateway.add_routes(app)
        ManagementApi(self.gateway).add_routes(app)
        app.router.add_get("/config.json", self._config)
        app.router.add_get("/_devstack/traffic", self._traffic)
        app.router.add_delete("/_devstack/traffic", self._traffic_reset)
        app.router.add_get("/{path:.*}", self._static)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        mapping, spec = self.grace_mapping, self._grace_queue
        if mapping is not None:
            self._mapping_task = asyncio.create_task(mapping.run(lambda event: self.invoker.invoke(spec, event)))
        self._housekeeping_task = asyncio.create_task(self._housekeep())

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(self.housekeeping_interval)
            try:
                await asyncio.to_thread(self.housekeeping)
            except Exception:
                logging.getLogger("devstack").exception("housekeeping failed")

    def stop(self) -> None:
        """Idempotent; safe after a failed start."""
        if self._loop is not None and self._thread is not None:
            try:
                self._run(self._shutdown(), timeout=60)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
                self._loop.close()
                self._loop = self._thread = None
        self.invoker.shutdown()
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        if self._environment is not None:
            self._environment.restore()
            self._environment = None
        with LocalStack._running_lock:
            if LocalStack._running is self:
                LocalStack._running = None

    async def _shutdown(self) -> None:
        if self._housekeeping_task is not None:
            self._housekeeping_task.cancel()
            await asyncio.gather(self._housekeeping_task, return_exceptions=True)
        await self.gateway.shutdown()
        # Grace periods still running end with the stack (their seats vanish with the embedded table); batches
        # already delivered finish first.
        if self.grace_mapping is not None:
            await self.grace_mapping.stop(timeout=self._grace_queue.timeout_seconds)
        if self._mapping_task is not None:
            self._mapping_task.cancel()
            await asyncio.gather(self._mapping_task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, coroutine: Any, timeout: float = 30) -> Any:
        if self._loop is None:
            raise RuntimeError("the local stack is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _on_loop(self, function: Callable[[], T]) -> T:
        """Run `function` on the gateway's loop, which owns the connection table."""
        if self._loop is None:
            raise RuntimeError("the local stack is not running")
        result: Future[T] = Future()
        self._loop.call_soon_threadsafe(lambda: result.set_result(function()))
        return result.result(timeout=10)

    # --- HTTP -----------------------------------------------------------------------------------------------------

    async def _config(self, request: web.Request) -> web.Response:
        # The host the browser used (127.0.0.1 or localhost), so the socket's Origin is one the handlers allow; the
        # ICE servers as the handlers read them (signaling.settings), as the CDK stack writes them.
        assert self._environment is not None  # set before the server starts
        settings = Settings.from_env(self._environment.values())
        config = page_config(f"ws://{request.host}/{STAGE}", settings.ice_servers, turn=bool(settings.turn_urls))
        return web.json_response(config, headers={"Cache-Control": "no-store"})

    async def _traffic(self, request: web.Request) -> web.Response:
        """Signaling messages by direction and kind as the gateway saw them (benchmarks read this)."""
        return web.json_response(self.traffic.snapshot(), headers={"Cache-Control": "no-store"})

    async def _traffic_reset(self, request: web.Request) -> web.Response:
        self.traffic.reset()
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        root = self.frontend.resolve()
        target = (root / request.match_info["path"]).resolve()
        if target != root and root not in target.parents:
            raise web.HTTPNotFound()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(target, headers={"Cache-Control": "no-cache"})
