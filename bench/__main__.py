"""`make bench`: run every benchmark, print a table, write bench/results.json, docs/cost.md and the generated
blocks of README.md (the flood), docs/deploy.md (capacity) and docs/protocol.md (signal sizes).

python -m bench            full run (about twenty minutes on two cores); results.json is written after each section
python -m bench --quick    tiny sizes, seconds: what the test suite runs so this code cannot rot (writes no docs)
python -m bench --only user_path [--only relay ...]   those sections measured again into the existing results.json
                           (and the generated blocks): to refresh one figure, or finish a run one section failed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import awsops, capacity, coldstart, cost, docblock, flood, readme, relay

ROOT = Path(__file__).resolve().parents[1]
FLOOD_SECONDS = {True: 3.0, False: 60.0}  # by --quick

TARGETS = {
    "invite link -> both remote frames, Parley / textbook flow": ("user_path", "ratio", "navigation", 1.0),
    "join click -> both remote frames, median (s)": ("user_path", "parley", "click_s", 0.30),
    "sequential signaling trips on the critical path, median": ("user_path", "parley", "hops", 3),
    "first remote frame after second join, median (s)": ("call_setup", "first_frame_s", "median", 1.0),
    "signal messages per 1:1 setup, median": ("call_setup", "messages", "signal_in", 6),
    "relay latency p50 (ms)": ("relay", "latency_ms", "p50", 5.0),
    "handler import, median (ms)": ("cold_start", "import_ms", "signaling.handlers", 150.0),
    "queue consumer import, median (ms)": ("cold_start", "import_ms", "signaling.consumers", 150.0),
    "Lambda asset (bytes, zipped)": ("cold_start", "asset_zip_bytes", None, 1024 * 1024),
}


USER_PATH_ROUNDS, AWS_ROUNDS = 11, 5


def _relay(quick: bool) -> dict[str, Any]:
    return relay.run(
        messages=20 if quick else 2000, room_sizes=(1, 3) if quick else (1, 7, 49), repeats=2 if quick else 10
    )


def _call_setup(quick: bool) -> dict[str, Any]:
    from bench import callsetup  # needs Chromium and Playwright

    return callsetup.run(runs=1 if quick else 10)


def _user_path(quick: bool) -> dict[str, Any]:
    from bench import userpath  # needs Chromium and Playwright

    return userpath.run(
        rounds=1 if quick else USER_PATH_ROUNDS,
        aws_rounds=1 if quick else AWS_ROUNDS,
        lobby_rounds=1 if quick else AWS_ROUNDS,
    )


def _signal_sizes_section(quick: bool) -> dict[str, Any]:
    from bench import signalsize  # eight browsers: minutes, not seconds

    return signalsize.run()


def _relayed_call(quick: bool) -> dict[str, Any]:
    from bench import relaycall  # also needs coturn (apt-get install coturn)

    return relaycall.run(runs=1 if quick else 3, seconds=2 if quick else 20)


# Every section of results.json, in the order a full run measures them: (measure, needs Chromium, in a quick run).
SECTIONS: dict[str, tuple[Callable[[bool], dict[str, Any]], bool, bool]] = {
    "cold_start": (lambda quick: coldstart.run(repeats=2 if quick else 10), False, True),
    "aws_ops": (lambda quick: awsops.run(repeats=1 if quick else 5), False, True),
    "relay": (_relay, False, True),
    "flood": (lambda quick: flood.run(seconds=FLOOD_SECONDS[quick]), False, True),
    "call_setup": (_call_setup, True, True),
    "user_path": (_user_path, True, True),
    "signal_sizes": (_signal_sizes_section, True, False),
    "relayed_call": (_relayed_call, True, True),
}


def main() -> None:
    # Powertools warns on every invocation that publishes no metric; it says nothing about the benchmark.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the test suite)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--cost-doc", type=Path, default=ROOT / "docs" / "cost.md")
    parser.add_argument("--skip-browser", action="store_true", help="skip the Chromium call-setup benchmark")
    parser.add_argument(
        "--only",
        choices=list(SECTIONS),
        action="append",
        help="measure this section (repeatable) again and put it into the existing results; the other figures "
        "stay as they are (e.g. to finish a full run that one section failed: what it had measured is kept)",
    )
    args = parser.parse_args()
    if args.only:
        results = json.loads(args.output.read_text())
        results["machine"] = _machine()
        run(results, args.output, quick=results.get("quick", False), sections=args.only)
    else:
        results = {"generated": "", "quick": args.quick, "machine": _machine()}
        sections = [name for name, (_, browser, in_quick) in SECTIONS.items() if in_quick or not args.quick]
        run(
            results,
            args.output,
            quick=args.quick,
            sections=[n for n in sections if not (args.skip_browser and SECTIONS[n][1])],
        )
    written = [args.output]
    if "call_setup" in results:
        args.cost_doc.write_text(cost.render(results))
        written.append(args.cost_doc)
    if not results["quick"]:
        written += write_docs(results)
    print(report(results))
    print("\nwrote " + ", ".join(str(path) for path in written))


def _machine() -> dict[str, str]:
    return {"description": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"}


def run(results: dict[str, Any], output: Path, *, quick: bool, sections: list[str]) -> dict[str, Any]:
    """Measure `sections` into `results`, writing `output` after each: a section that fails (eight browsers on two
    cores can time out) loses only itself, and `--only` measures it again."""
    for name in sections:
        measure, _, _ = SECTIONS[name]
        results[name] = measure(quick)
        results["generated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        output.write_text(json.dumps(results, indent=2) + "\n")
    return results


def write_docs(results: dict[str, Any]) -> list[Path]:
    """The generated blocks of hand-written documents, from a full run (a quick run's figures mean nothing)."""
    blocks: list[tuple[Path, str, Callable[[dict[str, Any]], str], str]] = [
        (ROOT / "README.md", "flood", flood.render, "flood"),
        (ROOT / "README.md", "performance", readme.render, "call_setup"),
        (ROOT / "docs" / "deploy.md", "capacity", capacity.render, "call_setup"),
        (ROOT / "docs" / "protocol.md", "signal-sizes", _signal_sizes, "signal_sizes"),
    ]
    written = []
    for path, name, render, needs in blocks:
        if needs in results:
            docblock.rewrite(path, name, render(results))
            written.append(path)
    return written


def _signal_sizes(results: dict[str, Any]) -> str:
    from bench import signalsize  # needs Playwright

    return signalsize.render(results)


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def report(results: dict[str, Any]) -> str:
    rows = [("figure", "measured", "target", "met")]
    for label, (section, key, sub, target) in TARGETS.items():
        if section not in results:
            continue
        value = results[section][key]
        if sub is not None:
            value = value[sub]
        if isinstance(value, dict):
            value = value["median"]
        rows.append((label, _number(value), f"<= {_number(target)}", "yes" if value <= target else "NO"))
    relay_result = results["relay"]
    rows.append(("relay latency p99 (ms)", f"{relay_result['latency_ms']['p99']:g}", "", ""))
    rows.append(("relay throughput (messages/s)", f"{relay_result['throughput_per_s']:g}", "", ""))
    for size, timing in relay_result["join_latency_ms"].items():
        rows.append((f"join latency, {size} peers present, median (ms)", f"{timing['median']:g}", "", ""))
    fanout = results["aws_ops"]["fanout"]
    label = f"peer-joined posts in flight at once, join into 7 (of {fanout['posts']})"
    rows.append((label, str(fanout["max_in_flight"]), "", ""))
    flooded = results["flood"]
    rss = flooded["rss_mib"]
    rows.append(
        (
            f"flood, {flooded['sockets']} sockets for {flooded['seconds']:g} s: RSS start / peak / end (MiB)",
            f"{rss['start']:g} / {rss['peak']:g} / {rss['end']:g}",
            "",
            "",
        )
    )
    rows.append(
        (
            "flood: messages read / answered Too Many Requests",
            f"{flooded['received_total']:,} / {flooded['throttled']:,}",
            "",
            "",
        )
    )
    rows.append(("flood: stop after it (s)", f"{flooded['stop_seconds']:g}", "", ""))
    if "signal_sizes" in results:
        sizes = results["signal_sizes"]
        label = f"largest signal frame, room of {sizes['people']} with screen share (bytes)"
        rows.append((label, f"{sizes['largest_frame']['bytes']:,}", f"<= {sizes['limits']['max_frame_bytes']:,}", ""))
    if "call_setup" in results:
        setup = results["call_setup"]
        rows.append(("ICE connected after second join, median (s)", f"{setup['connected_s']['median']:g}", "", ""))
        model = cost.costs(results)
        rows.append(("1,000 1:1 calls of 30 min on AWS (USD)", f"{sum(model['parley'].values()):.4f}", "", ""))
        rows.append(("same calls on Kinesis Video Streams (USD)", f"{sum(model['kvs'].values()):.2f}", "", ""))
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
