"""The README's performance table, generated from bench/results.json (`make bench` rewrites the block; a test checks
the committed README matches the committed results). Every figure is a median with its range over the runs."""

from __future__ import annotations

from typing import Any

from bench import cost


def _spread(figure: dict[str, Any], unit: str, scale: float = 1.0, digits: int = 2) -> str:
    def number(value: float) -> str:
        return f"{value * scale:.{digits}f}".rstrip("0").rstrip(".")

    unit = f" {unit}" if unit else ""
    return f"{number(figure['median'])}{unit} ({number(figure['min'])}–{number(figure['max'])}, {figure['runs']} runs)"


def _user_path_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The whole user path against the textbook flow (bench/userpath.py), when the results have it."""
    if "user_path" not in results:
        return []
    path = results["user_path"]
    base, parley, ratio = path["baseline"], path["parley"], path["ratio"]
    rows = [
        (
            "invite link opened → both people see video: Parley / the textbook flow (bench/baseline), "
            f"{path['rounds']} alternating rounds",
            f"{_spread(parley['navigation_s'], 's')} / {_spread(base['navigation_s'], 's')} = {ratio['navigation']:g}×",
            "≤ 1.0×",
        ),
        (
            "join click → both people see video (Parley; its ratio to the textbook flow's whole path: "
            f"{ratio['click_vs_baseline_navigation']:g}×)",
            _spread(parley["click_s"], "s"),
            "≤ 0.30 s",
        ),
        (
            "sequential trips through signaling on the critical path (counted from the pages' socket traces)",
            _spread(parley["hops"], "", digits=0),
            "3",
        ),
    ]
    if "parley_after_lobby" in path:
        lingered = path["parley_after_lobby"]
        rows.append(
            (
                f"join click {lingered['lobby_s']:g} s after the button is enabled (a person looking at the preview; "
                "the lobby's work is done by then) → both see video",
                _spread(lingered["click_s"], "s"),
                "",
            )
        )
    if "parley_aws" in path:
        aws = path["parley_aws"]
        profile = aws["profile"]
        rows.append(
            (
                f"join click → both see video with the AWS-like latency profile (+{profile['invocation_ms']:g} ms "
                f"per invocation, +{profile['dynamodb_ms']:g} ms per DynamoDB call, +{profile['post_ms']:g} ms per "
                f"post; {aws['hops']['median']:g} trips)",
                _spread(aws["click_s"], "s"),
                "",
            )
        )
    return rows


def render(results: dict[str, Any]) -> str:
    setup, relay, cold = results["call_setup"], results["relay"], results["cold_start"]
    model = cost.costs(results)
    joins = relay["join_latency_ms"]
    fanout = results["aws_ops"]["fanout"]
    latency = relay["latency_ms"]
    rows = [
        (
            f"first remote video frame after the second person joins (real Chromium, {setup['runs']} calls)",
            _spread(setup["first_frame_s"], "s"),
            "≤ 1.0 s",
        ),
        ("ICE connected after the second person joins", _spread(setup["connected_s"], "s"), ""),
        (
            "`signal` messages for a whole 1:1 call setup, both peers",
            _spread(setup["messages"]["signal_in"], "", digits=0),
            "≤ 6",
        ),
        (
            f"relay latency through the local stack, p50 / p99 ({relay['messages']:,} messages)",
            f"{latency['p50']:g} / {latency['p99']:g} ms (min {latency['min']:g}, max {latency['max']:g})",
            "p50 ≤ 5 ms",
        ),
        *(
            (
                f"join latency with {present} peer{'s' if present != '1' else ''} already in the room",
                _spread(figure, "ms", digits=1),
                "",
            )
            for present, figure in joins.items()
        ),
        *(
            (
                f"`{module}` import in a fresh interpreter (the cold-start share of our code)",
                _spread(figure, "ms", digits=1),
                "≤ 150 ms",
            )
            for module, figure in cold["import_ms"].items()
        ),
        (
            "Lambda code asset, zipped (Powertools comes from the AWS layer)",
            f"{cold['asset_zip_bytes'] / 1024:.0f} KB",
            "≤ 1 MB",
        ),
        (
            f"{model['pattern']['calls']:,} one-to-one calls of {model['pattern']['minutes']} minutes, AWS list prices",
            f"${sum(model['parley'].values()):.2f}",
            "",
        ),
        ("the same calls on Kinesis Video Streams WebRTC signaling", f"${sum(model['kvs'].values()):.2f}", ""),
    ]
    rows[0:0] = _user_path_rows(results)
    lines = [
        f"Measured by `make bench` on {results['machine']['description']}, {results['generated'][:10]}; median "
        "(min–max, runs):",
        "",
        "| figure | measured | target |",
        "|---|---:|---:|",
        *(f"| {label} | {value} | {target} |" for label, value, target in rows),
        "",
        "A relay is one DynamoDB `BatchGetItem` plus one `post_to_connection`; a join announces itself to the room "
        f"with concurrent posts ({fanout['max_in_flight']} of {fanout['posts']} in flight at once, joining a room of "
        f"{fanout['posts']}).",
    ]
    return "\n".join(lines) + "\n"
