"""`python -m devstack`: the whole product on 127.0.0.1, with the handlers Lambda runs (what `make dev` starts)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings
from types import FrameType

from signaling.definition import (
    CONNECTION_MAX_SECONDS,
    IDLE_TIMEOUT_SECONDS,
    LAMBDA_CONCURRENCY,
    STAGE_THROTTLE,
    UNRESERVED_CONCURRENCY_MINIMUM,
    ThrottleLimits,
    reserved_concurrency,
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive_int.__name__ = "positive integer"  # argparse names the type in its error: "invalid positive integer value"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("PORT") or "8000",  # a string default still goes through type=int, with a clean error
        help="0 picks a free one (default: $PORT, else 8000)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_TIMEOUT_SECONDS,
        help=f"seconds without a message before a socket is closed with 1001 (default {IDLE_TIMEOUT_SECONDS})",
    )
    parser.add_argument(
        "--max-connection-time",
        type=float,
        default=CONNECTION_MAX_SECONDS,
        help=f"seconds before any socket is closed with 1001 (default {CONNECTION_MAX_SECONDS})",
    )
    parser.add_argument(
        "--throttle-rate",
        type=_positive_int,
        default=os.environ.get("DEVSTACK_THROTTLE_RATE") or str(STAGE_THROTTLE.rate),
        help="stage throttling, requests per second for all sockets together, as deployed "
        f"(default: $DEVSTACK_THROTTLE_RATE, else {STAGE_THROTTLE.rate})",
    )
    parser.add_argument(
        "--throttle-burst",
        type=_positive_int,
        default=os.environ.get("DEVSTACK_THROTTLE_BURST") or str(STAGE_THROTTLE.burst),
        help=f"stage throttling burst (default: $DEVSTACK_THROTTLE_BURST, else {STAGE_THROTTLE.burst})",
    )
    parser.add_argument(
        "--lambda-concurrency",
        type=_positive_int,
        default=os.environ.get("DEVSTACK_LAMBDA_CONCURRENCY") or str(LAMBDA_CONCURRENCY),
        help="invocations running at once before Lambda throttles, as the account's default quota "
        f"(default: $DEVSTACK_LAMBDA_CONCURRENCY, else {LAMBDA_CONCURRENCY})",
    )
    parser.add_argument(
        "--latency",
        choices=["zero", "aws"],
        default=os.environ.get("DEVSTACK_LATENCY") or "zero",
        help="add each AWS hop's latency (invocation, DynamoDB request, @connections post; devstack/latency.py) "
        "(default: $DEVSTACK_LATENCY, else zero)",
    )
    parser.add_argument(
        "--no-reserved-concurrency",
        dest="reserved_concurrency",
        action="store_false",
        help="every function shares the account's concurrency, as a deployment with -c reservedConcurrency=false "
        f"(needed below {UNRESERVED_CONCURRENCY_MINIMUM} + the reservations' sum of --lambda-concurrency)",
    )
    args = parser.parse_args(argv)
    if args.latency not in ("zero", "aws"):  # from $DEVSTACK_LATENCY, which argparse does not check
        parser.error(f"DEVSTACK_LATENCY must be zero or aws, not {args.latency!r}")
    if args.throttle_burst < args.throttle_rate:
        parser.error("--throttle-burst must be at least --throttle-rate (as API Gateway requires)")
    reserved = sum(reserved_concurrency(args.throttle_rate).values())
    if args.reserved_concurrency and args.lambda_concurrency - reserved < UNRESERVED_CONCURRENCY_MINIMUM:
        parser.error(
            f"the functions' reserved concurrency ({reserved}) would leave less than {UNRESERVED_CONCURRENCY_MINIMUM} "
            "of --lambda-concurrency unreserved (as Lambda refuses): raise it or pass --no-reserved-concurrency"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Installed first, so a Ctrl-C during startup still ends in a clean stop rather than a traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    # Metrics are off locally (POWERTOOLS_METRICS_DISABLED), yet Powertools still warns on every empty flush.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    from devstack import latency
    from devstack.server import LocalStack  # after the signal handlers: importing moto takes a moment

    latency.use(args.latency)
    from devstack.throttle import ThrottleSettings

    stack = LocalStack(
        args.host,
        args.port,
        idle_timeout=args.idle_timeout,
        max_connection_time=args.max_connection_time,
        throttle=ThrottleSettings(stage=ThrottleLimits(rate=args.throttle_rate, burst=args.throttle_burst)),
        lambda_concurrency=args.lambda_concurrency,
        reserved=None if args.reserved_concurrency else {},
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        # The WebSocket URL ends the line: scripts (bench/localstack.py) read it with a pattern.
        print(f"Parley local stack ready: open {stack.http_url}/ - WebSocket {stack.ws_url}", flush=True)
        stopping.wait()
        print("Stopping.", flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
