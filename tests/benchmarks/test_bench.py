"""The benchmark code runs in the suite with tiny sizes so that it cannot rot. No test here asserts a time."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import coldstart, cost, docblock, relay
from devstack.runtime import WORKERS
from signaling.definition import FUNCTIONS

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


def test_a_relay_costs_a_limit_update_one_batch_read_and_one_post(quick_results: dict[str, Any]) -> None:
    signal = quick_results["aws_ops"]["actions"]["signal"]

    assert signal["dynamodb_calls"] == {"UpdateItem": 1, "BatchGetItem": 1}  # the per-connection limit, the read
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


def test_a_disconnect_without_leave_reads_once_and_sends_one_delayed_message(quick_results: dict[str, Any]) -> None:
    disconnect = quick_results["aws_ops"]["actions"]["$disconnect"]

    assert disconnect["dynamodb_calls"] == {"GetItem": 1}
    assert disconnect["write_units"] == 0  # the seat is held: nothing changes until the grace period is over
    assert disconnect["sqs_calls"] == {"SendMessage": 1}


def test_the_end_of_a_grace_period_is_one_batch_that_frees_the_seat(quick_results: dict[str, Any]) -> None:
    over = quick_results["aws_ops"]["actions"]["grace over"]

    # Freeing the seat queues its follow-up (signaling.grace.Departure); waiting for the queue to settle also sees it
    # and the leave's follow-up delivered, finding nothing to announce. Every batch received is settled.
    assert over["sqs_calls"]["SendMessage"] == 1
    assert over["sqs_calls"]["ReceiveMessage"] == over["sqs_calls"]["DeleteMessageBatch"] >= 2
    assert set(over["sqs_calls"]) == {"SendMessage", "ReceiveMessage", "DeleteMessageBatch"}
    assert over["dynamodb_calls"]["TransactWriteItems"] == 1
    assert over["write_units"] > 0


def test_a_join_is_one_transaction_and_announces_to_the_one_member(quick_results: dict[str, Any]) -> None:
    join = quick_results["aws_ops"]["actions"]["join"]

    assert join["dynamodb_calls"]["TransactWriteItems"] == 1
    # five items (room, seq, seat, peer, connection) under 1 KB, doubled inside a transaction; the limits item
    assert join["write_units"] == 10 + 1
    assert join["management_calls"] == {"PostToConnection": 1}
    assert join["frames_out"] == {"peer-joined": 1, "joined": 1}


def test_a_join_into_a_room_of_seven_posts_seven_announcements(quick_results: dict[str, Any]) -> None:
    fanout = quick_results["aws_ops"]["fanout"]

    assert fanout["posts"] == 7
    # How many overlapped on this machine is a measurement, not a claim: one post may finish before the next
    # starts. That the posts are concurrent is shown deterministically by tests/handlers/test_fanout.py.
    assert 1 <= fanout["max_in_flight"] <= fanout["posts"]


@pytest.mark.parametrize("messages", [1, 20, 90, 91, 2000, 2001])
def test_the_relay_spreads_its_messages_so_no_sender_passes_its_socket_limit(messages: int) -> None:
    from signaling.settings import MESSAGE_LIMIT

    shares = relay._shares(messages)

    assert sum(shares) == messages
    assert max(shares) < MESSAGE_LIMIT.burst
    assert max(shares) - min(shares) <= 1


def test_relay_and_cold_start_sections_are_filled(quick_results: dict[str, Any]) -> None:
    assert quick_results["relay"]["messages"] == 20
    assert set(quick_results["relay"]["join_latency_ms"]) == {"1", "3"}
    assert 0 < quick_results["cold_start"]["asset_zip_bytes"] < quick_results["cold_start"]["asset_bytes"]


def test_cold_start_measures_the_handler_module_of_every_function(quick_results: dict[str, Any]) -> None:
    cold_start = quick_results["cold_start"]
    measured = {key for keys in cold_start["functions_per_module"].values() for key in keys}

    assert measured == set(FUNCTIONS)  # the queue consumer too, not only the WebSocket routes
    assert set(cold_start["import_ms"]) == set(cold_start["functions_per_module"]) == set(coldstart.handler_modules())
    for figures in cold_start["import_ms"].values():
        assert figures["runs"] == 2
        assert 0 < figures["min"] <= figures["median"] <= figures["max"]


def test_the_cost_model_multiplies_measured_counts_by_list_prices() -> None:
    one_ms = {"median": 1.0}
    op = {"read_units": 1, "write_units": 2, "lambda_ms": one_ms}
    actions = ("$connect", "join", "signal", "leave", "$disconnect (after leave)", "$disconnect", "grace over")
    results = {
        "call_setup": {"messages": {"signal_in": {"median": 4}, "in_total": {"median": 6}, "out_total": {"median": 9}}},
        "aws_ops": {"actions": {action: dict(op, sqs_calls={"SendMessage": 1}) for action in actions}},
    }

    model = cost.costs(results, cost.CallPattern(calls=1_000_000, participants=2, minutes=30, unclean=1))

    one = model["per_call"]
    # two $connect, two join, four signal; one hangs up (leave + $disconnect), one drops ($disconnect + consumer)
    assert one["lambda_invocations"] == 2 + 2 + 4 + 1 + 1 + 1 + 1
    assert one["messages_in"] == 6 + 12 + 1  # setup + pings every 5 min for 30 min, 2 people + one leave
    assert one["connection_minutes"] == 60
    assert model["parley"]["API Gateway connection-minutes"] == pytest.approx(60 * 0.25)
    assert model["parley"]["DynamoDB writes (on-demand)"] == pytest.approx(12 * 2 * 0.625)
    assert model["parley"]["SQS requests (grace periods)"] == pytest.approx(12 * 0.40)
    assert model["kvs"]["Signaling channels (one per room)"] == pytest.approx(1_000_000 * 0.03)


def test_a_relayed_call_is_billed_on_both_streams_it_forwards() -> None:
    # 1.5 Mbit/s each way for 30 minutes: 187,500 B/s x 1,800 s x 2 streams
    assert cost.relayed_gigabytes(1.5e6, cost.CallPattern(minutes=30, participants=2)) == pytest.approx(0.675)


def test_cost_doc_shows_the_measured_relay_rate_when_there_is_one() -> None:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    results["relayed_call"] = {"runs": 1, "seconds": 20, "sent_bytes_per_s": {"median": 125_000, "min": 1, "max": 2}}

    doc = cost.render(results)

    assert "## Relayed calls (TURN)" in doc
    assert "| measured: 1.00 Mbit/s per participant" in doc
    assert "| 0.450 | $0.0405 |" in doc  # 1 Mbit/s x 1,800 s x 2 / 8 = 0.45 GB at $0.09
    del results["relayed_call"]
    assert "measured:" not in cost.render(results)


def test_request_units_follow_dynamodb_sizing_rules() -> None:
    reads, writes = cost.units(reads=[(False, 100), (False, 5000), (True, 10)], writes=[(False, 1025), (True, 10)])

    assert reads == 1 + 2 + 2
    assert writes == 2 + 2


def test_cold_start_compares_with_another_revision_in_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    coldstart.main(["--against", "HEAD", "--repeats", "1"])

    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(results) == ["HEAD", "this tree"]
    for by_module in results.values():
        assert set(by_module) == set(coldstart.handler_modules())
        assert all(figures["runs"] == 1 for figures in by_module.values())


def test_the_flood_is_throttled_and_the_stacks_memory_is_sampled(quick_results: dict[str, Any]) -> None:
    flood = quick_results["flood"]

    assert flood["sockets"] == 20
    assert flood["received_total"] > flood["throttled"] > 0  # the stage throttle answered part of it
    assert flood["received"].get("signal", 0) > 0  # and let the rest through to the handlers
    rss = flood["rss_mib"]
    assert flood["rss_samples"] >= 4
    assert 0 < rss["start"] <= rss["peak"]
    assert rss["end"] <= rss["peak"]
    # Each function's own threads at most and the stack's own few: no more.
    assert flood["threads_peak"] <= len(FUNCTIONS) * WORKERS + 50


@pytest.mark.parametrize(
    ("document", "block", "render"),
    [
        ("README.md", "flood", "bench.flood"),
        ("README.md", "performance", "bench.readme"),
        ("docs/deploy.md", "capacity", "bench.capacity"),
        ("docs/protocol.md", "signal-sizes", "bench.signalsize"),
    ],
)
def test_generated_blocks_match_the_committed_results(document: str, block: str, render: str) -> None:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    module = importlib.import_module(render)

    assert docblock.read((ROOT / document).read_text(), block) == module.render(results)
