"""Debian's Chromium as the browser tests and the call-setup benchmark launch it.

The flags keep a headless Chromium quiet on a machine with no outside network (no background requests, no component
updates, no QUIC), give it fake camera and microphone devices that need no permission prompt, and let WebRTC use
loopback addresses. Never `playwright install`: the browser is Debian's (`apt-get install chromium`)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    # The fake camera delivers 20 frames a second unless told otherwise; a webcam (and what the client asks for) is
    # 30. The first video frame of a call waits for the camera's next frame, so the rate is part of what is measured.
    "--use-fake-device-for-media-stream=fps=30",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Without it Chromium gathers no ICE candidates on loopback and never connects.
    "--allow-loopback-in-peer-connection",
    # Headless Chromium 156 still builds each window's omnibox popup, two WebUI pages in a renderer of their own
    # (`--top-chrome-webui`) that burn ~18% of a core each, per browser context, all the time: on two cores that is
    # CPU taken from the pages under test (and from the local stack). Chromium merges this list with Playwright's.
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
]
