"""`python -m devstack` as `make dev` runs it: prints where to go, serves, and stops cleanly on a signal."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.sync.client import connect

from devstack.__main__ import _arguments as arguments
from signaling.definition import LAMBDA_CONCURRENCY, STAGE_THROTTLE
from signaling.settings import DEFAULT_ICE_SERVERS

READY = re.compile(r"open (http://127\.0\.0\.1:(\d+)/) - WebSocket (ws://127\.0\.0\.1:\d+/local)$")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def devstack(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ICE_SERVERS": "[]", **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready = READY.search(line.strip())
        assert ready, f"unexpected first line {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
        yield process, ready
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def stop(process: subprocess.Popen[str], signum: signal.Signals) -> tuple[int, str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


@pytest.mark.parametrize(
    ("args", "env", "signum"),
    [
        (("--port", "0"), {}, signal.SIGINT),
        ((), {"PORT": "0"}, signal.SIGTERM),
    ],
    ids=["--port-0-sigint", "PORT-0-sigterm"],
)
def test_it_prints_the_url_serves_and_exits_0_on_a_signal(
    args: tuple[str, ...], env: dict[str, str], signum: signal.Signals
) -> None:
    with devstack(*args, env=env) as (process, ready):
        page, port, ws_url = ready.group(1), int(ready.group(2)), ready.group(3)
        assert page == f"http://127.0.0.1:{port}/"

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/config.json")
        response = connection.getresponse()
        assert response.status == 200
        # The deployed default ICE servers, as `make dev` runs the handlers with them
        assert json.loads(response.read()) == {"wsUrl": ws_url, "iceServers": [dict(s) for s in DEFAULT_ICE_SERVERS]}

        with connect(ws_url, proxy=None, open_timeout=5) as ws:
            ws.send('{"action": "ping"}')
            assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
            code, _, err = stop(process, signum)
            with pytest.raises(Exception):  # noqa: B017, PT011 - websockets raises ConnectionClosed* on close
                ws.recv(timeout=5)
            assert ws.close_code == 1001  # going away: the server stopped

    assert code == 0
    assert "Traceback" not in err, err


def test_a_busy_port_is_reported_without_a_traceback() -> None:
    with devstack("--port", "0") as (process, ready):
        busy = subprocess.run(
            [sys.executable, "-m", "devstack", "--port", ready.group(2)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        stop(process, signal.SIGINT)

    assert busy.returncode == 1
    assert "Cannot listen on 127.0.0.1:" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_throttling_and_concurrency_default_to_the_deployed_values_and_can_be_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DEVSTACK_THROTTLE_RATE", "DEVSTACK_THROTTLE_BURST", "DEVSTACK_LAMBDA_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    defaults = arguments([])
    assert (defaults.throttle_rate, defaults.throttle_burst) == (STAGE_THROTTLE.rate, STAGE_THROTTLE.burst)
    assert defaults.lambda_concurrency == LAMBDA_CONCURRENCY
    assert defaults.reserved_concurrency is True
    assert arguments(["--no-reserved-concurrency"]).reserved_concurrency is False

    flags = arguments(
        ["--throttle-rate", "5", "--throttle-burst", "9", "--lambda-concurrency", "3", "--no-reserved-concurrency"]
    )
    assert (flags.throttle_rate, flags.throttle_burst, flags.lambda_concurrency) == (5, 9, 3)

    monkeypatch.setenv("DEVSTACK_THROTTLE_RATE", "7")
    monkeypatch.setenv("DEVSTACK_THROTTLE_BURST", "8")
    monkeypatch.setenv("DEVSTACK_LAMBDA_CONCURRENCY", "2")
    from_env = arguments(["--no-reserved-concurrency"])
    assert (from_env.throttle_rate, from_env.throttle_burst, from_env.lambda_concurrency) == (7, 8, 2)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--throttle-rate", "0"], "invalid positive integer value: '0'"),
        (["--lambda-concurrency", "many"], "invalid positive integer value: 'many'"),
        (["--throttle-rate", "10", "--throttle-burst", "5"], "--throttle-burst must be at least --throttle-rate"),
        (["--lambda-concurrency", "376"], "reserved concurrency (277) would leave less than 100"),
    ],
)
def test_unusable_limits_are_refused_with_a_clear_message(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        arguments(args)

    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err
