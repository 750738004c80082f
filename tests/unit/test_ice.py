from __future__ import annotations

from signaling.ice import ice_servers, turn_credentials


def test_turn_credentials_match_a_precomputed_coturn_vector() -> None:
    # echo -n "1700000000:peer1" | openssl dgst -binary -sha1 -hmac "north" | base64
    username, credential = turn_credentials("north", peer_id="peer1", expires_at=1_700_000_000)

    assert username == "1700000000:peer1"
    assert credential == "K5uDot1F2Xe8vV/LSdlGIqxmSXk="


def test_without_a_secret_only_the_configured_servers_are_returned() -> None:
    configured = ({"urls": ["stun:s.example:3478"]},)

    servers = ice_servers(configured, peer_id="p", now=0, turn_urls=("turn:t.example",), turn_secret=None)

    assert servers == [{"urls": ["stun:s.example:3478"]}]


def test_with_a_secret_a_turn_entry_expiring_after_the_ttl_is_added() -> None:
    servers = ice_servers((), peer_id="p", now=1000.7, turn_urls=("turn:t.example",), turn_secret="k", ttl_seconds=60)

    assert servers[0]["username"] == "1060:p"
    assert servers[0]["urls"] == ["turn:t.example"]
