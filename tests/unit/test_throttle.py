"""The local gateway's throttling: token buckets on an injected clock, and how stage, route and account combine."""

from __future__ import annotations

import pytest

from devstack.throttle import Throttle, ThrottleSettings, TokenBucket
from signaling.definition import ACCOUNT_THROTTLE, NEW_CONNECTIONS_PER_SECOND, STAGE_THROTTLE, ThrottleLimits
from tests.clock import FakeClock


def admitted(take: object, attempts: int) -> int:
    return sum(1 for _ in range(attempts) if take())  # type: ignore[operator]


def test_a_full_bucket_admits_the_burst_then_throttles() -> None:
    bucket = TokenBucket(ThrottleLimits(rate=10, burst=25), FakeClock())

    assert admitted(bucket.take, 100) == 25


def test_tokens_flow_back_at_the_rate_and_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=10, burst=25), clock)
    admitted(bucket.take, 25)

    clock.advance(0.35)  # 3.5 tokens: three whole ones
    assert admitted(bucket.take, 10) == 3
    clock.advance(3600)  # an idle hour refills to the burst, not to 36,000
    assert admitted(bucket.take, 100) == 25


def test_a_throttled_request_takes_no_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=1, burst=1), clock)
    assert bucket.take()
    assert not bucket.take()  # throttled: the half token that is there stays

    clock.advance(0.5)
    assert not bucket.take()
    clock.advance(0.5)
    assert bucket.take()


def test_a_clock_that_steps_back_refills_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=100, burst=1), clock)
    assert bucket.take()

    clock.advance(-10)
    assert not bucket.take()


@pytest.mark.parametrize("limits", [ThrottleLimits(rate=0, burst=10), ThrottleLimits(rate=5, burst=0)])
def test_an_unusable_bucket_is_refused(limits: ThrottleLimits) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(limits)


def test_every_route_shares_the_stage_bucket() -> None:
    throttle = Throttle(ThrottleSettings(stage=ThrottleLimits(rate=1, burst=4)), FakeClock())

    results = [throttle.admit_message(key) for key in ("join", "signal", "ping", "$default", "signal")]

    assert results == [True, True, True, True, False]


def test_a_route_with_its_own_settings_uses_its_own_bucket_instead_of_the_stages() -> None:
    settings = ThrottleSettings(stage=ThrottleLimits(rate=1, burst=2), routes={"join": ThrottleLimits(rate=1, burst=5)})
    throttle = Throttle(settings, FakeClock())

    assert admitted(lambda: throttle.admit_message("join"), 10) == 5
    assert admitted(lambda: throttle.admit_message("signal"), 10) == 2  # the join flood left the stage alone


def test_the_account_bucket_caps_the_stage_and_is_shared_with_callbacks() -> None:
    settings = ThrottleSettings(stage=ThrottleLimits(rate=1, burst=100), account=ThrottleLimits(rate=1, burst=3))
    throttle = Throttle(settings, FakeClock())

    assert throttle.admit_callback()
    assert admitted(lambda: throttle.admit_message("signal"), 10) == 2
    assert not throttle.admit_callback()


def test_a_request_throttled_by_the_account_keeps_its_stage_token() -> None:
    clock = FakeClock()
    settings = ThrottleSettings(stage=ThrottleLimits(rate=1, burst=2), account=ThrottleLimits(rate=1, burst=1))
    throttle = Throttle(settings, clock)
    assert throttle.admit_message("signal")
    assert not throttle.admit_message("signal")  # the account is empty; the stage still holds one token

    clock.advance(1)  # one account token back, no new stage token needed
    assert throttle.admit_message("signal")


def test_connects_need_a_new_connection_token_as_well_as_a_stage_one() -> None:
    settings = ThrottleSettings(
        stage=ThrottleLimits(rate=1, burst=100), new_connections=ThrottleLimits(rate=1, burst=2)
    )
    throttle = Throttle(settings, FakeClock())

    assert admitted(throttle.admit_connect, 10) == 2
    assert throttle.admit_message("join")  # messages on open sockets are not new connections


def test_the_defaults_are_the_deployed_limits() -> None:
    settings = ThrottleSettings()

    assert (settings.stage, settings.account) == (STAGE_THROTTLE, ACCOUNT_THROTTLE)
    assert settings.new_connections.rate == NEW_CONNECTIONS_PER_SECOND
