"""Debian's Chromium as the browser tests and the call-setup benchmark launch it (see ../shared/FACTS.md)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Without it Chromium gathers no ICE candidates on loopback and never connects.
    "--allow-loopback-in-peer-connection",
]
