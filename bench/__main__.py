"""`make bench`: run every benchmark, print a table, write bench/results.json and docs/cost.md.

python -m bench            full run (about five minutes)
python -m bench --quick    tiny sizes, seconds: what the test suite runs so this code cannot rot
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

from bench import awsops, coldstart, cost, relay

ROOT = Path(__file__).resolve().parents[1]

TARGETS = {
    "first remote frame after second join, median (s)": ("call_setup", "first_frame_s", "median", 1.0),
    "signal messages per 1:1 setup, median": ("call_setup", "messages", "signal_in", 6),
    "relay latency p50 (ms)": ("relay", "latency_ms", "p50", 5.0),
    "handler import, median (ms)": ("cold_start", "import_ms", "signaling.handlers", 150.0),
    "queue consumer import, median (ms)": ("cold_start", "import_ms", "signaling.consumers", 150.0),
    "Lambda asset (bytes, zipped)": ("cold_start", "asset_zip_bytes", None, 1024 * 1024),
}


def main() -> None:
    # Powertools warns on every invocation that publishes no metric; it says nothing about the benchmark.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the test suite)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--cost-doc", type=Path, default=ROOT / "docs" / "cost.md")
    parser.add_argument("--skip-browser", action="store_true", help="skip the Chromium call-setup benchmark")
    args = parser.parse_args()
    results = run(quick=args.quick, browser=not args.skip_browser)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    if "call_setup" in results:
        args.cost_doc.write_text(cost.render(results))
    print(report(results))
    written = [args.output] + ([args.cost_doc] if "call_setup" in results else [])
    print("\nwrote " + " and ".join(str(path) for path in written))


def run(*, quick: bool, browser: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": {
            "description": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        },
    }
    results["cold_start"] = coldstart.run(repeats=2 if quick else 10)
    results["aws_ops"] = awsops.run(repeats=1 if quick else 5)
    results["relay"] = relay.run(
        messages=20 if quick else 2000, room_sizes=(1, 3) if quick else (1, 7, 49), repeats=2 if quick else 10
    )
    if browser:
        from bench import callsetup  # needs Chromium and Playwright

        results["call_setup"] = callsetup.run(runs=1 if quick else 10)
        from bench import relaycall  # also needs coturn (apt-get install coturn)

        results["relayed_call"] = relaycall.run(runs=1 if quick else 3, seconds=2 if quick else 20)
    return results


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
