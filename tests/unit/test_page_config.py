"""page_config: what /config.json holds, written by the CDK stack and served by the local stack alike."""

from __future__ import annotations

from signaling.definition import page_config

STUN = ({"urls": ["stun:stun.example.org:3478"]},)


def test_without_turn_the_page_gets_the_ice_servers_with_the_socket() -> None:
    assert page_config("wss://x/prod", STUN, turn=False) == {"wsUrl": "wss://x/prod", "iceServers": list(STUN)}


def test_with_turn_it_gets_none_and_asks_ice_for_its_own_credentials() -> None:
    assert page_config("wss://x/prod", STUN, turn=True) == {"wsUrl": "wss://x/prod"}
