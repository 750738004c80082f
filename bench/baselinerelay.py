"""The baseline's server (bench/baseline/): serves the textbook page and relays its messages over a WebSocket, on
127.0.0.1, in a thread of this process. Rooms of two: the second to join makes the first hear "ready"; anything else
a socket sends goes to the other socket of its room as it is. No lambdas, no database, no checks: the fastest
signaling there can be, which is what Parley's call setup is compared with."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

PAGE = Path(__file__).with_name("baseline")


class BaselineRelay:
    def __init__(self) -> None:
        self.rooms: dict[str, list[web.WebSocketResponse]] = {}
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="baseline-relay", daemon=True)

    def __enter__(self) -> BaselineRelay:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/", self._page)
        app.router.add_static("/", PAGE)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE / "index.html")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        room: list[web.WebSocketResponse] | None = None
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                message: dict[str, Any] = json.loads(frame.data)
                if room is None and message.get("type") == "join":
                    room = self.rooms.setdefault(str(message.get("room")), [])
                    room.append(ws)
                    if len(room) == 2:
                        await room[0].send_str(json.dumps({"type": "ready"}))
                elif room is not None:
                    for other in room:
                        if other is not ws:
                            await other.send_str(frame.data)
        finally:
            if room is not None:
                room.remove(ws)
        return ws
