"""ICE servers for `joined` and `ice-servers`, with TURN REST API credentials (coturn `use-auth-secret`) when a
secret is set. Standard library only: the `ice` route's function loads nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signaling.settings import Settings


def configured_ice_servers(
    settings: Settings, *, user: str, now: float, turn_secret: Callable[[], str | None]
) -> list[dict[str, Any]]:
    """The deployment's ICE servers, with TURN credentials naming `user` (a peerId, or a socket before it joins)
    when TURN is configured; `turn_secret` is only called then."""
    return ice_servers(
        settings.ice_servers,
        peer_id=user,
        now=now,
        turn_urls=settings.turn_urls,
        turn_secret=turn_secret() if settings.turn_urls else None,
        ttl_seconds=settings.turn_ttl_seconds,
    )


def lobby_message(servers: list[dict[str, Any]]) -> dict[str, Any]:
    """The reply to `ice`: a socket that has not joined asks while its user is still in the lobby, so that the
    first connection and its offer are ready before `join` is sent."""
    return {"type": "ice-servers", "iceServers": servers}


def ice_servers(
    configured: tuple[dict[str, Any], ...],
    *,
    peer_id: str,
    now: float,
    turn_urls: tuple[str, ...] = (),
    turn_secret: str | None = None,
    ttl_seconds: int = 24 * 60 * 60,
) -> list[dict[str, Any]]:
    servers = [dict(server) for server in configured]
    if turn_urls and turn_secret:
        username, credential = turn_credentials(turn_secret, peer_id=peer_id, expires_at=int(now) + ttl_seconds)
        servers.append({"urls": list(turn_urls), "username": username, "credential": credential})
    return servers


def turn_credentials(secret: str, *, peer_id: str, expires_at: int) -> tuple[str, str]:
    """username = "<expiry-unix-time>:<peerId>", credential = base64(HMAC-SHA1(secret, username))."""
    username = f"{expires_at}:{peer_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
