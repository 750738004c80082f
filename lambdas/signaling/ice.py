"""ICE servers for `joined`, with TURN REST API credentials (coturn `use-auth-secret`) when a secret is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


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
