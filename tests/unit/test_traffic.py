"""The benchmarks' counters stay bounded whatever the frames say."""

from __future__ import annotations

import json

from devstack.traffic import DURATIONS_KEPT, KINDS_KEPT, Traffic


def test_message_kinds_beyond_the_bound_are_counted_together() -> None:
    traffic = Traffic()

    for index in range(KINDS_KEPT + 36):
        traffic.outbound(json.dumps({"type": f"kind-{index}"}))
        traffic.inbound(f"route-{index}")

    assert len(traffic.frames_out) == len(traffic.frames_in) == KINDS_KEPT + 1
    assert traffic.frames_out["(other)"] == traffic.frames_in["(other)"] == 36
    assert traffic.frames_out["kind-0"] == 1  # the first kinds keep their own counters
    traffic.outbound(json.dumps({"type": "kind-0"}))
    assert traffic.frames_out["kind-0"] == 2


def test_handler_durations_keep_only_the_latest() -> None:
    traffic = Traffic()

    for index in range(DURATIONS_KEPT + 5):
        traffic.handled("signal", float(index))

    assert len(traffic.handler_ms["signal"]) == DURATIONS_KEPT
    assert traffic.handler_ms["signal"][0] == 5.0
