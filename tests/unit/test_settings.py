from __future__ import annotations

import json

import pytest

from signaling.definition import MAX_FRAME_BYTES, MAX_SIGNAL_BYTES, SIGNAL_ENVELOPE_BYTES
from signaling.settings import DEFAULT_ICE_SERVERS, ConfigurationError, Settings


def test_defaults_need_only_a_table_name() -> None:
    settings = Settings.from_env({"TABLE_NAME": "t"})

    assert settings.max_capacity == 8
    assert settings.default_capacity == 2
    assert settings.max_signal_bytes == MAX_SIGNAL_BYTES == 31744
    assert settings.ice_servers == DEFAULT_ICE_SERVERS
    assert settings.management_endpoint is None
    assert settings.disconnect_grace_seconds == 10


def test_every_setting_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TABLE_NAME": "t",
            "MANAGEMENT_API_ENDPOINT": "http://127.0.0.1:8000/local/",
            "ALLOWED_ORIGINS": "https://a.example/, http://localhost:8000",
            "MAX_CAPACITY": "4",
            "MAX_SIGNAL_BYTES": "1000",
            "ICE_SERVERS": "[]",
            "TURN_URLS": "turn:t.example:3478",
            "TURN_SECRET_ARN": "parley/turn",
            "TURN_TTL_SECONDS": "600",
        }
    )

    assert settings.management_endpoint == "http://127.0.0.1:8000/local"
    assert settings.allowed_origins == {"https://a.example", "http://localhost:8000"}
    assert (settings.max_capacity, settings.max_signal_bytes, settings.turn_ttl_seconds) == (4, 1000, 600)
    assert settings.ice_servers == ()
    assert settings.turn_urls == ("turn:t.example:3478",)
    assert settings.turn_secret_arn == "parley/turn"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "TABLE_NAME"),
        ({"TABLE_NAME": "t", "MAX_CAPACITY": "many"}, "MAX_CAPACITY"),
        ({"TABLE_NAME": "t", "MAX_CAPACITY": "1"}, "MAX_CAPACITY"),
        ({"TABLE_NAME": "t", "MAX_SIGNAL_BYTES": "-5"}, "MAX_SIGNAL_BYTES"),
        ({"TABLE_NAME": "t", "MAX_SIGNAL_BYTES": "65536"}, "MAX_SIGNAL_BYTES"),
        ({"TABLE_NAME": "t", "ICE_SERVERS": "{"}, "ICE_SERVERS"),
        ({"TABLE_NAME": "t", "ICE_SERVERS": '[{"url": "stun:x"}]'}, "ICE_SERVERS"),
        ({"TABLE_NAME": "t", "DISCONNECT_GRACE_SECONDS": "soon"}, "DISCONNECT_GRACE_SECONDS"),
        ({"TABLE_NAME": "t", "DISCONNECT_GRACE_SECONDS": "901"}, "DISCONNECT_GRACE_SECONDS"),
        ({"TABLE_NAME": "t", "DISCONNECT_GRACE_SECONDS": "-1"}, "DISCONNECT_GRACE_SECONDS"),
        ({"TABLE_NAME": "t", "DISCONNECT_GRACE_SECONDS": "2.5"}, "DISCONNECT_GRACE_SECONDS"),
    ],
)
def test_a_bad_setting_is_named_at_startup(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example", True),
        ("https://app.example/", True),
        ("https://evil.example", False),
        ("http://app.example", False),
        (None, True),
    ],
)
def test_origin_allow_list(origin: str | None, allowed: bool) -> None:
    settings = Settings.from_env({"TABLE_NAME": "t", "ALLOWED_ORIGINS": "https://app.example"})

    assert settings.origin_allowed(origin) is allowed


def test_a_star_allows_every_origin() -> None:
    assert Settings.from_env({"TABLE_NAME": "t", "ALLOWED_ORIGINS": "*"}).origin_allowed("https://any.example")


def test_the_largest_signal_frame_fits_one_websocket_frame_under_either_reading_of_32_kb() -> None:
    frame = {"action": "signal", "to": "p" * 64, "data": "d" * (MAX_SIGNAL_BYTES - 2)}  # the quotes are data too
    encoded = json.dumps(frame, separators=(",", ":")).encode()

    assert len(encoded) == MAX_SIGNAL_BYTES + SIGNAL_ENVELOPE_BYTES
    assert len(encoded) <= 32_000 < MAX_FRAME_BYTES


def test_per_connection_limits_and_the_follow_up_delay_default_to_the_documented_values() -> None:
    settings = Settings.from_env({"TABLE_NAME": "t"})

    assert (settings.message_limit.per_second, settings.message_limit.burst) == (20, 100)
    assert (settings.join_limit.per_second * 60, settings.join_limit.burst) == (6, 10)
    assert settings.join_limit.interval_ms == 10_000
    assert settings.follow_up_delay_seconds == 60


def test_per_connection_limits_and_the_follow_up_delay_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TABLE_NAME": "t",
            "LIMIT_MESSAGES_PER_SECOND": "5",
            "LIMIT_MESSAGE_BURST": "7",
            "LIMIT_JOINS_PER_MINUTE": "2",
            "LIMIT_JOIN_BURST": "3",
            "FOLLOW_UP_DELAY_SECONDS": "2",
        }
    )

    assert (settings.message_limit.interval_ms, settings.message_limit.tolerance_ms) == (200, 1200)
    assert (settings.join_limit.interval_ms, settings.join_limit.burst) == (30_000, 3)
    assert settings.follow_up_delay_seconds == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("LIMIT_MESSAGE_BURST", "0"), ("LIMIT_JOINS_PER_MINUTE", "-1"), ("FOLLOW_UP_DELAY_SECONDS", "901")],
)
def test_impossible_limits_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({"TABLE_NAME": "t", name: value})
