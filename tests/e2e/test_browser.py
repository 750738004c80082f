"""The test browser itself (bench/chromium.py's flags): nothing in it but the pages under test competes for the
machine's two cores."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_no_window_builds_an_omnibox_popup_of_its_own(browser: Browser) -> None:
    # Given two contexts with a page each (every context is a window of its own)
    contexts = [browser.new_context() for _ in range(2)]
    for context in contexts:
        context.new_page().goto("about:blank")

    # Then the browser runs those pages and no browser-UI WebUI beside them (the omnibox popup's renderer)
    session = browser.new_browser_cdp_session()
    targets = session.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
    assert [t["url"] for t in targets if t["type"] == "browser_ui"] == []
    assert len([t for t in targets if t["type"] == "page"]) >= 2
    for context in contexts:
        context.close()
