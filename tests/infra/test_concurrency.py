"""Bulkheads: each function's reserved concurrency, as sized in signaling.definition (docs/architecture.md,
"Concurrency and bulkheads")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template
from cdk_template import Synthesis, properties, signaling_functions, synthesize

from bench.capacity import AWS_DURATION_S
from infra.app import STACK_NAME, build_app
from infra.config import Config, ConfigError
from signaling.definition import (
    FUNCTIONS,
    GRACE_QUEUE,
    LAMBDA_CONCURRENCY,
    NEW_CONNECTIONS_PER_SECOND,
    RESERVED_CONCURRENCY,
    ROUTES_BY_KEY,
    STAGE_THROTTLE,
)

EXPECTED = {
    # The stage's 510 requests/s (new connections' 500/s for $connect) x the duration assumed in AWS x 2, written
    # out: a change to the sizing shows up here rather than passing through unseen.
    "signaling.handlers.connect": 20,  # 500/s x 20 ms x 2
    "signaling.handlers.default": 11,  # 510/s x 10 ms x 2 = 10.2
    "signaling.handlers.join": 102,  # 510/s x 100 ms x 2
    "signaling.handlers.signal": 41,  # 510/s x 40 ms x 2 = 40.8
    "signaling.handlers.leave": 82,  # 510/s x 80 ms x 2 = 81.6
    "signaling.handlers.ice": 11,  # 510/s x 10 ms x 2 = 10.2
    "signaling.consumers.grace_expired": 10,  # the event source mapping's maximum concurrency
}


def _reserved(template: Template) -> dict[str, int | None]:
    return {
        handler: function.get("ReservedConcurrentExecutions")
        for handler, function in signaling_functions(template).items()
    }


# What `make deploy` passes for an account with the default quota and nothing else reserved (infra/account.py).
ACCOUNT = {"accountConcurrency": str(LAMBDA_CONCURRENCY)}


@pytest.fixture(scope="module")
def reserved_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(tmp_path_factory.mktemp("cdk-account"), ACCOUNT)


def test_every_interactive_function_has_its_bulkhead_and_disconnect_draws_on_the_unreserved_pool(
    reserved_synthesis: Synthesis,
) -> None:
    reserved = _reserved(reserved_synthesis.template)

    assert reserved == {**EXPECTED, "signaling.handlers.disconnect": None}
    assert LAMBDA_CONCURRENCY - sum(EXPECTED.values()) >= 100  # Lambda keeps 100 unreserved


def test_the_grace_consumer_reserves_at_least_its_mappings_maximum_concurrency(reserved_synthesis: Synthesis) -> None:
    (mapping,) = properties(reserved_synthesis.template, "AWS::Lambda::EventSourceMapping")
    maximum = mapping["ScalingConfig"]["MaximumConcurrency"]

    assert maximum == GRACE_QUEUE.max_concurrency
    assert (
        _reserved(reserved_synthesis.template)[GRACE_QUEUE.handler] == maximum
    )  # less would throttle the mapping's invocations


def test_bulkheads_follow_the_configured_stage_throttle(tmp_path_factory: pytest.TempPathFactory) -> None:
    context = {"throttleRate": "1500", "throttleBurst": "3000", **ACCOUNT}
    reserved = _reserved(synthesize(tmp_path_factory.mktemp("cdk-1500"), context).template)

    assert reserved["signaling.handlers.join"] == 300  # 1,500/s x 100 ms x 2
    assert reserved["signaling.handlers.connect"] == 20  # still new connections' 500/s x 20 ms x 2
    assert reserved["signaling.handlers.disconnect"] is None
    assert sum(r for r in reserved.values() if r) == 750  # 250 of 1,000 left unreserved


def test_a_small_stage_throttle_still_gets_bulkheads_of_ten(tmp_path_factory: pytest.TempPathFactory) -> None:
    # throttleRate 20: join 20/s x 100 ms x 2 = 4, $connect 1: both raised to the minimum.
    context = {"throttleRate": "20", "throttleBurst": "40", **ACCOUNT}
    reserved = _reserved(synthesize(tmp_path_factory.mktemp("cdk-20"), context).template)

    assert reserved["signaling.handlers.join"] == 10
    assert reserved["signaling.handlers.connect"] == 10


def test_reserved_concurrency_can_be_switched_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    synthesis = synthesize(tmp_path_factory.mktemp("cdk-unreserved"), {"reservedConcurrency": "false", **ACCOUNT})

    assert set(_reserved(synthesis.template).values()) == {None}


def test_without_the_accounts_concurrency_nothing_is_reserved_and_synthesis_says_why(template: Template) -> None:
    # cdk.json as committed, as `cdk deploy` without `make deploy` synthesizes it: a reservation the account cannot
    # hold would fail the deploy, so none is made on a guess.
    assert set(_reserved(template).values()) == {None}
    stack = build_app(nag=False).node.find_child(STACK_NAME)
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("reserved concurrency"))
    assert "accountConcurrency" in str(warning.entry.data)


@pytest.mark.parametrize(
    "context",
    [
        {"accountConcurrency": "376"},  # 277 reserved would leave 99
        {"throttleRate": "3000", "throttleBurst": "6000", **ACCOUNT},  # 1,410 reserved: more than 1,000 allows
    ],
)
def test_auto_reserves_nothing_where_the_reservations_do_not_fit(context: dict[str, str]) -> None:
    config = Config.from_context(App(context=context).node)

    assert config.reserved == {}
    assert config.reservation_warning is not None
    assert "unreserved" in config.reservation_warning


def test_reservations_forced_on_that_would_leave_less_than_100_unreserved_stop_the_synth() -> None:
    with pytest.raises(ConfigError, match="unreserved"):
        Config.from_context(App(context={"accountConcurrency": "376", "reservedConcurrency": "true"}).node)
    forced = Config.from_context(App(context={"reservedConcurrency": "true"}).node)  # account unknown: as told
    assert forced.reserved_total == 277
    assert forced.reserved["join"] == 102
    assert forced.reservation_warning is None


def test_a_larger_account_or_no_reservations_lifts_the_check() -> None:
    assert Config.from_context(App(context={"accountConcurrency": "377"}).node).reserved_total == 277
    raised = {"throttleRate": "3000", "throttleBurst": "6000", "accountConcurrency": "1570"}
    assert Config.from_context(App(context=raised).node).reserved["join"] == 600
    unreserved = {"throttleRate": "3000", "throttleBurst": "6000", "reservedConcurrency": "false"}
    assert Config.from_context(App(context=unreserved).node).reserved == {}


def test_bulkheads_assume_the_durations_of_the_capacity_arithmetic() -> None:
    for key, seconds in AWS_DURATION_S.items():
        bulkhead = ROUTES_BY_KEY[key].bulkhead
        if bulkhead is not None:
            assert bulkhead.seconds == seconds, key
    assert set(FUNCTIONS) >= set(AWS_DURATION_S)


def test_the_architecture_docs_table_of_bulkheads_is_the_codes() -> None:
    """docs/architecture.md writes the reservations out by hand; a resized stage throttle must update them too."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| `?([$\w]+(?: consumer)?)`? \| (\d+) \| ([^|]*)\|", text, flags=re.MULTILINE)
    documented = {("disconnect-grace" if name == "grace consumer" else name): int(n) for name, n, _ in rows}
    rates = {name: why.split("/s")[0] for name, _, why in rows if "/s" in why}
    total = sum(RESERVED_CONCURRENCY.values())

    assert documented == RESERVED_CONCURRENCY
    assert rates == {
        name: str(min(STAGE_THROTTLE.rate, NEW_CONNECTIONS_PER_SECOND) if name == "$connect" else STAGE_THROTTLE.rate)
        for name in RESERVED_CONCURRENCY
        if name != GRACE_QUEUE.key
    }
    assert f"reserved (default stage throttle, {STAGE_THROTTLE.rate}/s)" in text
    assert f"Together {total} of the account's {LAMBDA_CONCURRENCY:,}, leaving {LAMBDA_CONCURRENCY - total} " in text
    assert f"the stage's burst ({STAGE_THROTTLE.burst:,} at once)" in text
