"""Start the local stack as its own process (as `make dev` does) so the load generator does not share its GIL, and
so its memory can be measured on its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_READY = re.compile(r"(ws://127\.0\.0\.1:\d+/\S+)")


@dataclass
class RunningStack:
    url: str
    """The WebSocket URL."""
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def http_url(self) -> str:
        """The page, e.g. http://127.0.0.1:8000 (no trailing slash)."""
        return "http" + self.url.removeprefix("ws").rsplit("/", 1)[0]

    def stop(self, timeout: float = 60) -> float:
        """SIGINT, as Ctrl-C in `make dev`; seconds until the process has exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def resident_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS), from /proc."""
    return _status(pid, "VmRSS") * 1024


def threads(pid: int) -> int:
    return _status(pid, "Threads")


@contextmanager
def local_stack_process(
    env: dict[str, str] | None = None, args: tuple[str, ...] = (), timeout: float = 30
) -> Iterator[RunningStack]:
    """A freshly started `python -m devstack --port 0 [args]`, stopped on the way out (unless already stopped)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ICE_SERVERS": "[]", "LOG_LEVEL": "ERROR", "DISCONNECT_GRACE_SECONDS": "0", **(env or {})},
    )
    stack = None
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        for line in process.stdout:
            match = _READY.search(line)
            if match:
                stack = RunningStack(match.group(1), process)
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the local stack did not start")
        else:
            raise RuntimeError(f"the local stack exited with {process.wait()}")
        # Keep draining its output (warnings under load, "Stopping."), so that a full pipe never blocks it.
        threading.Thread(target=process.stdout.read, name="devstack-output", daemon=True).start()
        yield stack
    finally:
        if process.poll() is None:
            RunningStack("", process).stop(timeout=10)
