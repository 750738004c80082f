"""The plain HTTP side: the frontend's files, /config.json, and the traffic counters benchmarks read."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack.server import LocalStack

from . import echo_handlers
from .conftest import open_socket, receive_json, run


def fetch(stack: LocalStack, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    frontend = tmp_path_factory.mktemp("frontend")
    (frontend / "index.html").write_text("<!doctype html><title>Parley</title>")
    (frontend / "js").mkdir()
    (frontend / "js" / "app.js").write_text("console.log('hi');")
    return start_local_stack(routes=echo_handlers.routes(), frontend=frontend)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}"])
def test_config_points_the_page_at_the_socket_on_the_host_it_used(site: LocalStack, host: str) -> None:
    host = host.format(port=site.port)

    status, headers, body = fetch(site, "/config.json", host=host)

    assert status == 200
    # tests/conftest.py sets ICE_SERVERS to []: the handlers' ICE servers, the same for everyone without TURN
    assert json.loads(body) == {"wsUrl": f"ws://{host}/local", "iceServers": []}
    assert headers["Cache-Control"] == "no-store"


def test_the_frontend_is_served_with_index_html_at_the_root(site: LocalStack) -> None:
    status, headers, body = fetch(site, "/")
    assert (status, body) == (200, b"<!doctype html><title>Parley</title>")
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-cache"

    status, headers, body = fetch(site, "/js/app.js")
    assert (status, body) == (200, b"console.log('hi');")
    assert "javascript" in headers["Content-Type"]


@pytest.mark.parametrize("path", ["/missing.html", "/js/", "/../pyproject.toml", "/%2e%2e/pyproject.toml"])
def test_anything_else_is_a_clean_404(site: LocalStack, path: str) -> None:
    status, _, _ = fetch(site, path)
    assert status == 404


def test_a_missing_frontend_folder_is_a_404_not_a_crash(
    start_local_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_local_stack(routes=echo_handlers.routes(), frontend=tmp_path / "nowhere")

    assert fetch(stack, "/")[0] == 404
    assert fetch(stack, "/config.json")[0] == 200


# After the module's `site` tests: a stack started here stops the one before (one runs at a time).
def test_config_names_the_configured_ice_servers_but_none_with_turn(
    start_local_stack: Callable[..., LocalStack],
) -> None:
    stun = [{"urls": ["stun:stun.example.org:3478"]}]
    plain = start_local_stack(routes=echo_handlers.routes(), env={"ICE_SERVERS": json.dumps(stun)})
    assert json.loads(fetch(plain, "/config.json")[2])["iceServers"] == stun

    turn = start_local_stack(
        routes=echo_handlers.routes(),
        env={"ICE_SERVERS": json.dumps(stun), "TURN_URLS": "turn:127.0.0.1:3478", "TURN_SECRET": "s"},
    )
    assert "iceServers" not in json.loads(fetch(turn, "/config.json")[2])  # per-client credentials: ask `ice`


def test_the_gateway_counts_messages_by_direction_and_kind(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())

    async def scenario() -> None:
        async with open_socket(stack) as ws:
            for frame in ['{"action": "echo"}', '{"action": "echo"}', '{"action": "ping"}', "nonsense", b"\x00"]:
                await ws.send(frame)
                await receive_json(ws)

    run(scenario())

    expected = {"in": {"echo": 2, "ping": 1, "$default": 2}, "out": {"echo": 4, "pong": 1}}
    assert stack.traffic.snapshot() == expected
    status, _, body = fetch(stack, "/_devstack/traffic")
    assert (status, json.loads(body)) == (200, expected)
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=5)
    connection.request("DELETE", "/_devstack/traffic")
    assert connection.getresponse().status == 204
    assert stack.traffic.snapshot() == {"in": {}, "out": {}}


def test_handler_durations_are_kept_by_route(start_local_stack: Callable[..., LocalStack]) -> None:
    stack = start_local_stack(routes=echo_handlers.routes())
    echo_handlers.RELEASE.clear()
    held: list[float] = []

    async def scenario() -> None:
        async with open_socket(stack) as ws:
            await ws.send('{"action": "wait"}')  # runs until `release`
            while not echo_handlers.events("wait"):  # its handler has started
                await asyncio.sleep(0.001)
            started = time.perf_counter()
            for _ in range(10):
                await ws.send('{"action": "ping"}')
                await receive_json(ws)
            held.append((time.perf_counter() - started) * 1000)
            await ws.send('{"action": "release"}')
            replies = [await receive_json(ws), await receive_json(ws)]
            assert {reply["type"] for reply in replies} == {"waited", "released"}

    began = time.perf_counter()
    run(scenario())
    stack.wait_idle()
    wall = (time.perf_counter() - began) * 1000

    assert {route: len(times) for route, times in stack.traffic.handler_ms.items()} == {
        "$connect": 1,
        "wait": 1,
        "release": 1,
        "$disconnect": 1,
    }
    # Milliseconds of each handler's own run: `wait` ran at least while the pings went back and forth, and no
    # handler ran longer than the whole scenario.
    assert stack.traffic.handler_ms["wait"][0] >= held[0] > 0
    assert all(0 < ms <= wall for times in stack.traffic.handler_ms.values() for ms in times)
