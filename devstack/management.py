"""The API Gateway Management API (@connections) over plain HTTP, so the handlers' own unmodified boto3
`apigatewaymanagementapi` client works against endpoint_url=http://127.0.0.1:PORT/local. Its requests count against
the account's throttle quota, as callbacks do in AWS."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from devstack import latency
from devstack.events import new_id
from devstack.gateway import THROTTLED, ClientBufferFull, Connection, Gateway
from signaling.definition import MAX_MESSAGE_BYTES

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _error(status: int, kind: str, message: str) -> web.Response:
    # What botocore's rest-json parser turns into client.exceptions.<kind>: the code comes from x-amzn-ErrorType.
    return web.Response(
        status=status,
        text=json.dumps({"message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": kind, "x-amzn-RequestId": new_id()},
    )


def _gone() -> web.Response:
    return _error(410, "GoneException", "")


def _limit_exceeded() -> web.Response:
    # The API reference: "The client is sending more than the allowed number of requests per unit of time or the
    # WebSocket client side buffer is full."
    return _error(429, "LimitExceededException", THROTTLED)


def _iso8601(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ManagementApi:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def add_routes(self, app: web.Application) -> None:
        # botocore percent-encodes the id ("=" as %3D, "/" as %2F, even "@" as %40); aiohttp matches the decoded
        # path and hands over the decoded id, with a %2F kept inside the one segment.
        path = f"/{self.gateway.stage}/@connections/{{connection_id:.+}}"
        app.router.add_post(path, self._throttled(self.post))
        app.router.add_get(path, self._throttled(self.get))
        app.router.add_delete(path, self._throttled(self.delete))

    def _throttled(self, handler: Handler) -> Handler:
        async def admit(request: web.Request) -> web.Response:
            if not self.gateway.throttle.admit_callback():
                return _limit_exceeded()
            return await handler(request)

        return admit

    def _connection(self, request: web.Request) -> Connection | None:
        connection = self.gateway.connections.get(request.match_info["connection_id"])
        return connection if connection is not None and connection.open else None

    async def post(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_MESSAGE_BYTES:
            return _error(413, "PayloadTooLargeException", "Message too long")
        data = await request.read()
        if len(data) > MAX_MESSAGE_BYTES:
            return _error(413, "PayloadTooLargeException", "Message too long")
        connection = self._connection(request)
        if connection is None:
            return _gone()
        await latency.post()  # the post's trip to @connections and on to the socket (zero unless profiled)
        try:
            # A text frame, as API Gateway sends; bytes that are not UTF-8 cannot be one.
            await self.gateway.send(connection, data.decode() if _is_utf8(data) else data)
        except ConnectionError:
            return _gone()
        except ClientBufferFull:
            return _limit_exceeded()
        return web.Response(status=200, headers={"x-amzn-RequestId": new_id()})

    async def get(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        if connection is None:
            return _gone()
        info = connection.info
        return web.json_response(
            {
                "connectedAt": _iso8601(info.connected_at / 1000),
                "lastActiveAt": _iso8601(connection.last_active_epoch),
                "identity": info.identity(),
            },
            headers={"x-amzn-RequestId": new_id()},
        )

    async def delete(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        if connection is None:
            return _gone()
        # API Gateway reports a deleted connection as a normal closure (1000, "Connection Closed Normally").
        self.gateway.close_soon(connection, 1000, "Connection Closed Normally", frame_reason="")
        return web.Response(status=204, headers={"x-amzn-RequestId": new_id()})


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
