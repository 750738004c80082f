"""The benchmark code runs in the suite with tiny sizes so that it cannot rot. No test here asserts a time."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import cost, docblock
from devstack.runtime import WORKERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--skip-browser", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "relay latency p50" in completed.stdout
    return json.loads(output.read_text())


def test_a_relay_costs_one_batch_read_and_one_post(quick_results: dict[str, Any]) -> None:
    signal = quick_results["aws_ops"]["actions"]["signal"]

    assert signal["dynamodb_calls"] == {"BatchGetItem": 1}
    assert signal["management_calls"] == {"PostToConnection": 1}
    assert (signal["messages_in"], signal["messages_out"]) == (1, 1)


def test_connect_touches_no_aws_service(quick_results: dict[str, Any]) -> None:
    connect = quick_results["aws_ops"]["actions"]["$connect"]

    assert connect["dynamodb_calls"] == {}
    assert connect["management_calls"] == {}


def test_a_disconnect_after_leave_is_one_read(quick_results: dict[str, Any]) -> None:
    after_leave = quick_results["aws_ops"]["actions"]["$disconnect (after leave)"]

    assert after_leave["dynamodb_calls"] == {"GetItem": 1}
    assert after_leave["write_units"] == 0


def test_a_join_is_one_transaction_and_announces_to_the_one_member(quick_results: dict[str, Any]) -> None:
    join = quick_results["aws_ops"]["actions"]["join"]

    assert join["dynamodb_calls"]["TransactWriteItems"] == 1
    assert join["write_units"] == 8  # four items, each under 1 KB, doubled inside a transaction
    assert join["management_calls"] == {"PostToConnection": 1}
    assert join["frames_out"] == {"peer-joined": 1, "joined": 1}


def test_a_join_into_a_room_of_seven_posts_seven_announcements(quick_results: dict[str, Any]) -> None:
    fanout = quick_results["aws_ops"]["fanout"]

    assert fanout["posts"] == 7
    assert 1 <= fanout["max_in_flight"] <= 7


def test_relay_and_cold_start_sections_are_filled(quick_results: dict[str, Any]) -> None:
    assert quick_results["relay"]["messages"] == 20
    assert set(quick_results["relay"]["join_latency_ms"]) == {"1", "3"}
    assert 0 < quick_results["cold_start"]["asset_zip_bytes"] < quick_results["cold_start"]["asset_bytes"]
    assert quick_results["cold_start"]["import_ms"]["signaling.handlers"]["runs"] == 2


def test_the_cost_model_multiplies_measured_counts_by_list_prices() -> None:
    one_ms = {"median": 1.0}
    op = {"read_units": 1, "write_units": 2, "lambda_ms": one_ms}
    results = {
        "call_setup": {"messages": {"signal_in": {"median": 4}, "in_total": {"median": 6}, "out_total": {"median": 9}}},
        "aws_ops": {"actions": dict.fromkeys(("$connect", "join", "signal", "leave", "$disconnect (after leave)"), op)},
    }

    model = cost.costs(results, cost.CallPattern(calls=1_000_000, participants=2, minutes=30))

    one = model["per_call"]
    assert one["lambda_invocations"] == 2 + 2 + 4 + 2 + 2
    assert one["messages_in"] == 6 + 12 + 2  # setup + pings every 5 min for 30 min, 2 people + leaves
    assert one["connection_minutes"] == 60
    assert model["parley"]["API Gateway connection-minutes"] == pytest.approx(60 * 0.25)
    assert model["parley"]["DynamoDB writes (on-demand)"] == pytest.approx(12 * 2 * 0.625)
    assert model["kvs"]["Signaling channels (one per room)"] == pytest.approx(1_000_000 * 0.03)


def test_request_units_follow_dynamodb_sizing_rules() -> None:
    reads, writes = cost.units(reads=[(False, 100), (False, 5000), (True, 10)], writes=[(False, 1025), (True, 10)])

    assert reads == 1 + 2 + 2
    assert writes == 2 + 2


def test_the_flood_is_throttled_and_the_stacks_memory_is_sampled(quick_results: dict[str, Any]) -> None:
    flood = quick_results["flood"]

    assert flood["sockets"] == 20
    assert flood["received_total"] > flood["throttled"] > 0  # the stage throttle answered part of it
    assert flood["received"].get("signal", 0) > 0  # and let the rest through to the handlers
    rss = flood["rss_mib"]
    assert flood["rss_samples"] >= 4
    assert 0 < rss["start"] <= rss["peak"]
    assert rss["end"] <= rss["peak"]
    assert flood["threads_peak"] <= WORKERS + 50  # the handlers' threads and the stack's own few: no more


@pytest.mark.parametrize(
    ("document", "block", "render"),
    [
        ("README.md", "flood", "bench.flood"),
        ("docs/deploy.md", "capacity", "bench.capacity"),
        ("docs/protocol.md", "signal-sizes", "bench.signalsize"),
    ],
)
def test_generated_blocks_match_the_committed_results(document: str, block: str, render: str) -> None:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    module = importlib.import_module(render)

    assert docblock.read((ROOT / document).read_text(), block) == module.render(results)
