"""The WebSocket side of the local API Gateway: the $connect handshake, route selection on `action`, throttling,
Lambda-shaped events, route responses, MOCK routes, the frame and message limits, idle and maximum connection time,
and $disconnect."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from devstack.events import ConnectionInfo, connect_event, disconnect_event, message_event, new_id, now_ms
from devstack.frames import GatewayWebSocket, send_message
from devstack.runtime import IntegrationTimeout, Invoker, LambdaThrottled
from devstack.throttle import Throttle
from devstack.traffic import Traffic
from signaling.definition import CONNECTION_MAX_SECONDS, IDLE_TIMEOUT_SECONDS, Route

log = logging.getLogger("devstack")

_LIFECYCLE_ROUTES = frozenset({"$connect", "$disconnect", "$default"})

# disconnectReason for closes whose real wording we have no recording of; 1005's is recorded (disconnect.json).
_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going away",
    1005: "Client-side close frame status not set",
    1006: "Connection closed abnormally",
    1009: "Message too big",
}

THROTTLED = "Too Many Requests"
"""API Gateway's message for a throttled request (its 429's reason phrase and default THROTTLED response)."""

CLIENT_BUFFER_BYTES = 256 * 1024
"""Bytes waiting to be written to one client past which a post is refused (429 LimitExceededException: "the
WebSocket client side buffer is full") and a response is dropped. AWS documents no size: two full messages."""


class ClientBufferFull(Exception):
    """The client is not reading: what is already waiting for it is over CLIENT_BUFFER_BYTES."""


@dataclass(eq=False)
class Connection:
    info: ConnectionInfo
    ws: GatewayWebSocket
    transport: asyncio.BaseTransport | None
    opened: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    last_active_epoch: float = field(default_factory=time.time)
    closing: tuple[int, str] | None = None
    """Set when the gateway itself closes the socket: the code and reason its $disconnect reports."""

    @property
    def open(self) -> bool:
        return self.closing is None and not self.ws.closed

    def touch(self) -> None:
        # API Gateway's idle timer counts messages in either direction.
        self.last_active = time.monotonic()
        self.last_active_epoch = time.time()


class Gateway:
    def __init__(
        self,
        routes: Iterable[Route],
        invoker: Invoker,
        traffic: Traffic,
        *,
        stage: str,
        throttle: Throttle | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connection_time: float = CONNECTION_MAX_SECONDS,
    ) -> None:
        self.routes = {route.key: route for route in routes}
        self.invoker = invoker
        self.traffic = traffic
        self.throttle = throttle or Throttle()
        self.stage = stage
        self.api_id = "local"
        self.idle_timeout = idle_timeout
        self.max_connection_time = max_connection_time
        self.connections: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._departing: set[str] = set()
        """Sockets closed whose $disconnect is not yet started (between the close and the spawn)."""

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"/{self.stage}", self.handshake)

    # --- connection lifecycle -------------------------------------------------------------------------------------

    async def handshake(self, request: web.Request) -> web.StreamResponse:
        ws = GatewayWebSocket()
        if not ws.can_prepare(request).ok:
            return web.Response(status=426, text="This is a WebSocket endpoint.\n")
        info = ConnectionInfo(
            connection_id=new_id(),
            connected_at=now_ms(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent"),
            domain_name=request.host,
            stage=self.stage,
            api_id=self.api_id,
        )
        status, body = await self._connect(info, request)
        if not 200 <= status < 300:
            kind = "application/json" if status == 429 else "text/plain"  # the throttled answer is API Gateway's JSON
            return web.Response(status=status, text=body, content_type=kind)

        await ws.prepare(request)
        connection = Connection(info, ws, request.transport)
        self.connections[info.connection_id] = connection
        expiry = asyncio.create_task(self._expire(connection))
        code, reason = 1006, ""
        try:
            while True:
                message = await ws.receive()
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    connection.touch()
                    await self._receive(connection, message.data)
                    continue
                if message.type is WSMsgType.CLOSE:
                    code, reason = int(message.data) or 1005, message.extra or ""
                elif message.type is WSMsgType.ERROR:  # aiohttp closed it: 1009 for a message too big, 1007, ...
                    code = int(getattr(message.data, "code", 0)) or 1006
                else:  # closed by us (connection.closing says why) or lost
                    code = int(ws.close_code or 1006)
                break
        finally:
            self._departing.add(info.connection_id)
            expiry.cancel()
            self.connections.pop(info.connection_id, None)
            if connection.closing is not None:
                code, reason = connection.closing
            try:
                if not ws.closed:
                    await ws.close()
            finally:
                # Best-effort and after the fact, as in AWS: the socket is already closed and nobody waits for this.
                self._spawn(
                    self._invoke_lifecycle(
                        "$disconnect", disconnect_event(info, code, reason or _REASONS.get(code, ""))
                    )
                )
                self._departing.discard(info.connection_id)
        return ws

    async def _connect(self, info: ConnectionInfo, request: web.Request) -> tuple[int, str]:
        """Run $connect before the upgrade completes; its statusCode decides the handshake."""
        if not self.throttle.admit_connect():
            return 429, json.dumps({"message": THROTTLED})
        route = self.routes.get("$connect")
        if route is None or route.handler is None:
            return 200, ""
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.raw_headers]
        query = list(request.query.items()) if request.query_string else None
        event = connect_event(info, headers, query, local_port=_local_port(request))
        try:
            response = await self.invoker.invoke(route, event)
        except LambdaThrottled:
            return 500, "Internal server error"  # API Gateway reports Lambda's 429 as its own 500
        except Exception:
            log.exception("$connect handler %s failed", route.handler)
            return 500, "Internal server error"
        if response is None:
            return 200, ""
        if not isinstance(response, dict) or not isinstance(response.get("statusCode", 200), int):
            log.error("$connect handler %s returned a malformed proxy response: %r", route.handler, response)
            return 502, "Internal server error"
        body = response.get("body")
        return response.get("statusCode", 200), body if isinstance(body, str) else ""

    async def _expire(self, connection: Connection) -> None:
        while True:
            deadline = min(connection.last_active + self.idle_timeout, connection.opened + self.max_connection_time)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(remaining)
        await self.close(connection, 1001, "Going away")

    async def close(self, connection: Connection, code: int, reason: str, *, frame_reason: str | None = None) -> None:
        """Close from the server side; $disconnect will report `code` and `reason`."""
        if connection.closing is None:
            connection.closing = (code, reason)
        message = reason if frame_reason is None else frame_reason
        await connection.ws.close(code=code, message=message.encode())

    def close_soon(self, connection: Connection, code: int, reason: str, *, frame_reason: str | None = None) -> None:
        """Like close, without waiting for the client's closing handshake; the connection counts as gone at once."""
        if connection.closing is None:
            connection.closing = (code, reason)
        self._spawn(self.close(connection, code, reason, frame_reason=frame_reason))

    @property
    def tasks(self) -> frozenset[asyncio.Task[None]]:
        """What the gateway started and has not finished: invocations, replies, closes."""
        return frozenset(self._tasks)

    @property
    def settling(self) -> bool:
        """Something is unfinished: a task the gateway started, or a socket closing (server-side, or closed) whose
        $disconnect is not started yet."""
        return bool(self._tasks or self._departing or any(not c.open for c in self.connections.values()))

    @property
    def busy(self) -> bool:
        """Some socket is open, or some invocation (a message, a $disconnect) has not finished."""
        return bool(self.connections or self._tasks or self._departing)

    async def shutdown(self) -> None:
        """Close every socket with 1001 and let in-flight invocations (and the $disconnects, which may wait out a
        grace period) finish, for at most the longest function timeout the routes declare."""
        await asyncio.gather(
            *(self.close(c, 1001, "Going away") for c in list(self.connections.values())), return_exceptions=True
        )
        if self._tasks:
            timeout = max(route.timeout_seconds for route in self.routes.values())
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # --- messages -------------------------------------------------------------------------------------------------

    def select(self, frame: str | bytes) -> Route | None:
        """Route selection on $request.body.action: a text frame holding a JSON object whose string `action` names
        a route; anything else goes to $default (None when there is none)."""
        action = None
        if isinstance(frame, str):
            try:
                message = json.loads(frame)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser follows
                message = None
            action = message.get("action") if isinstance(message, dict) else None
        route = self.routes.get(action) if isinstance(action, str) and action not in _LIFECYCLE_ROUTES else None
        return route or self.routes.get("$default")

    async def _receive(self, connection: Connection, frame: str | bytes) -> None:
        """Decide on one message as it arrives: throttled ones are answered here and now, without a task, so a
        flood costs a reply each and nothing piles up; the rest run concurrently."""
        route = self.select(frame)
        if not self.throttle.admit_message(route.key if route else "$default"):
            self.traffic.inbound("(throttled)")
            event = message_event(connection.info, "", "", is_base64=False)  # only for its ids
            await self._reply(connection, self._gateway_error(THROTTLED, event))
            return
        self.traffic.inbound(route.key if route else "(unrouted)")
        self._spawn(self._on_message(connection, route, frame))

    async def _on_message(self, connection: Connection, route: Route | None, frame: str | bytes) -> None:
        if route is None:
            event = message_event(connection.info, "", "", is_base64=False)  # only for its ids
            await self._reply(connection, self._gateway_error("Forbidden", event))
            return
        if route.handler is None:
            # A MOCK integration: API Gateway answers by itself and no Lambda runs.
            if route.route_response and route.mock_response is not None:
                await self._reply(connection, route.mock_response)
            return
        if isinstance(frame, bytes):
            event = message_event(connection.info, route.key, base64.b64encode(frame).decode(), is_base64=True)
        else:
            event = message_event(connection.info, route.key, frame, is_base64=False)
        try:
            response = await self.invoker.invoke(route, event)
        except LambdaThrottled:
            # Lambda answered 429 before running anything; API Gateway treats it as an integration failure.
            await self._reply(connection, self._gateway_error("Internal server error", event))
            return
        except IntegrationTimeout:
            await self._reply(connection, self._gateway_error("Endpoint request timed out", event))
            return
        except Exception:
            log.exception("%s handler %s failed", route.key, route.handler)
            await self._reply(connection, self._gateway_error("Internal server error", event))
            return
        if route.route_response and isinstance(response, dict) and isinstance(response.get("body"), str):
            await self._reply(connection, response["body"])

    @staticmethod
    def _gateway_error(message: str, event: dict[str, Any]) -> str:
        context = event["requestContext"]
        return json.dumps(
            {"message": message, "connectionId": context["connectionId"], "requestId": context["requestId"]}
        )

    async def send(self, connection: Connection, data: str | bytes) -> None:
        """One message to the client (fragmented when it is over a frame); ConnectionError when the socket is
        (being) closed, ClientBufferFull when the client is not reading what it was already sent."""
        if not connection.open:
            raise ConnectionResetError("the connection is closed")
        transport = connection.transport
        if isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size() > CLIENT_BUFFER_BYTES:
            raise ClientBufferFull(f"{transport.get_write_buffer_size()} bytes are waiting for the client")
        connection.touch()
        self.traffic.outbound(data)
        await send_message(connection.ws, transport, data)

    async def _reply(self, connection: Connection, data: str) -> None:
        # The caller is gone, or reads nothing: the response is dropped (API Gateway drops it for a gone caller).
        with contextlib.suppress(ConnectionError, ClientBufferFull):
            await self.send(connection, data)

    async def _invoke_lifecycle(self, route_key: str, event: dict[str, Any]) -> None:
        route = self.routes.get(route_key)
        if route is None or route.handler is None:
            return
        try:
            await self.invoker.invoke(route, event)
        except LambdaThrottled:
            # Nobody is waiting for a $disconnect, and API Gateway does not retry one: it is lost.
            connection_id = event["requestContext"]["connectionId"]
            log.warning("%s for %s not run: Lambda concurrency exhausted", route_key, connection_id)
        except Exception:
            log.exception("%s handler %s failed", route_key, route.handler)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _local_port(request: web.Request) -> int:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return int(sockname[1]) if sockname else 0
