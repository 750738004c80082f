"""Start the local stack as its own process (as `make dev` does) so the load generator does not share its GIL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_READY = re.compile(r"(ws://127\.0\.0\.1:\d+/\S+)")


@contextmanager
def local_stack_process(env: dict[str, str] | None = None, timeout: float = 30) -> Iterator[str]:
    """Yields the WebSocket URL of a freshly started `python -m devstack --port 0`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ICE_SERVERS": "[]", "LOG_LEVEL": "ERROR", "DISCONNECT_GRACE_SECONDS": "0", **(env or {})},
    )
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        for line in process.stdout:
            match = _READY.search(line)
            if match:
                yield match.group(1)
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the local stack did not start")
        else:
            raise RuntimeError(f"the local stack exited with {process.wait()}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
