"""Debian's coturn as the browser tests and the relayed-call benchmark start it: a real `turnserver` on 127.0.0.1,
configured as a deploy configures it: TURN REST API credentials (`use-auth-secret`) with a shared secret, listening
on UDP and TCP, relaying over UDP.

Everything it writes (log, pid file, its SQLite user database, which `use-auth-secret` leaves empty) goes into a
directory the caller owns, and nothing listens beyond loopback. `--allow-loopback-peers` is what lets it relay at
all here: both browsers' relay addresses are 127.0.0.1, and coturn refuses loopback peers by default (a safeguard
for a public server, which the CDK deploy keeps)."""

from __future__ import annotations

import os
import secrets
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TURNSERVER = "/usr/bin/turnserver"
REALM = "parley.test"
HOST = "127.0.0.1"
RELAY_PORTS = 200
"""Relay ports for one run: a 2-person call needs one allocation per page and transport, a few at most."""
STARTUP_SECONDS = 10.0
REFUSED = "check_stun_auth: Cannot find credentials of user <"
"""What coturn 4.6 logs for a username whose HMAC does not match the secret or whose expiry has passed (every
allocation also starts with a 401 that asks for credentials, so "401" alone proves nothing)."""

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def urls(self) -> tuple[str, str]:
        """The `turn:` URLs a deploy hands out, UDP and TCP, as TURN_URLS takes them."""
        return (f"turn:{HOST}:{self.port}?transport=udp", f"turn:{HOST}:{self.port}?transport=tcp")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(workdir: Path, *, secret: str | None = None) -> Coturn:
    """Starts turnserver on a free port and returns once it answers a STUN Binding request over UDP."""
    if not Path(TURNSERVER).exists():
        raise FileNotFoundError(f"{TURNSERVER} is not installed (apt-get install coturn)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    low = _relay_range_start(port)
    secret = secret or secrets.token_urlsafe(24)
    log = workdir / "turnserver.log"
    args = [
        TURNSERVER,
        "-n",  # no configuration file: every setting is here
        f"--listening-ip={HOST}",
        f"--relay-ip={HOST}",
        f"--listening-port={port}",
        f"--min-port={low}",
        f"--max-port={low + RELAY_PORTS - 1}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={REALM}",
        "--fingerprint",
        "--allow-loopback-peers",
        "--no-multicast-peers",
        # No TLS/DTLS listeners (no certificate here), no telnet CLI, no files outside workdir.
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        f"--userdb={workdir / 'turndb'}",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--log-file={log}",
        "--simple-log",
        "--no-stdout-log",
        "--verbose",
    ]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Coturn(port=port, secret=secret, log=log, process=process)
    try:
        _wait_until_answering(server)
    except BaseException:
        server.stop()
        raise
    return server


def _free_port() -> int:
    """A port free for both UDP and TCP (turnserver listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
                return port


def _relay_range_start(listening_port: int) -> int:
    """A relay range away from the listening port and the kernel's ephemeral range (32768+), where Chromium's own
    sockets live."""
    low = 20_000 + secrets.randbelow(10_000)
    return low + RELAY_PORTS if low <= listening_port < low + RELAY_PORTS else low


def _wait_until_answering(server: Coturn) -> None:
    """STUN Binding over UDP until a response comes (turnserver answers once its listeners are up)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    sent: set[bytes] = set()  # a late reply answers an earlier request: any of ours will do
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                stderr = server.process.stderr.read().decode(errors="replace") if server.process.stderr else ""
                raise RuntimeError(f"turnserver exited ({server.process.returncode}): {stderr}\n{server.log_text()}")
            transaction = os.urandom(12)
            sent.add(transaction)
            sock.sendto(struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC_COOKIE) + transaction, (HOST, server.port))
            try:
                reply = sock.recv(2048)
            except (TimeoutError, ConnectionRefusedError):
                continue  # not listening yet: the recv timeout paces the retries
            if len(reply) >= 20 and struct.unpack("!H", reply[:2])[0] == BINDING_SUCCESS and reply[8:20] in sent:
                return
    raise TimeoutError(f"turnserver did not answer on {HOST}:{server.port} within {STARTUP_SECONDS} s")
