"""`ice`: the ICE servers for a socket that has not joined, so that the lobby can prepare its first connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from signaling import wiring

from .conftest import Harness


def test_a_socket_that_has_not_joined_gets_the_configured_ice_servers(aws: Harness) -> None:
    before = aws.items()

    reply = aws.send("lobby=", {"action": "ice"})

    assert reply == {"type": "ice-servers", "iceServers": [{"urls": ["stun:stun.l.google.com:19302"]}]}
    assert aws.items() == before  # nothing stored: no item, no limiter state
    assert aws.inbox("lobby=") == []  # the reply is the route response, nothing is posted


def test_turn_credentials_name_the_socket_and_follow_the_turn_rest_api_convention(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURN_URLS", "turn:turn.example.com:3478?transport=udp")
    monkeypatch.setenv("TURN_SECRET", "s3cret")
    monkeypatch.setenv("ICE_SERVERS", "[]")
    wiring.reset()

    reply = aws.send("lobby=", {"action": "ice"})

    assert reply is not None
    (turn,) = reply["iceServers"]
    expiry, user = turn["username"].split(":")
    assert user == "conn-lobby="
    assert 0 < int(expiry) - time.time() <= 24 * 3600
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=udp"]


def test_a_joined_socket_may_ask_too_and_unknown_fields_are_ignored(aws: Harness) -> None:
    aws.join("connA=")

    reply = aws.send("connA=", {"action": "ice", "extra": [1, 2]})

    assert reply is not None
    assert reply["type"] == "ice-servers"


def test_a_frame_that_is_not_strict_json_is_a_bad_request(aws: Harness) -> None:
    reply = aws.send("lobby=", '{"action": "ice", "n": NaN}')

    assert reply is not None
    assert reply["type"] == "error"
    assert reply["code"] == "bad-request"
    assert reply["action"] == "ice"
