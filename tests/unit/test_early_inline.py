"""index.html carries frontend/js/early.js inline (it must run while the page is parsed), and its own
Content-Security-Policy allows exactly that script by hash, as the CDK stack's header does (infra.page)."""

from __future__ import annotations

import re

from infra.page import EARLY_SCRIPT, INDEX_HTML, inline_block, inline_script_hashes, script_hash, with_early_script
from infra.static_site import content_security_policy


def _meta_csp(html: str) -> dict[str, list[str]]:
    (content,) = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    return {name: values for name, *values in (part.split() for part in content.split(";") if part.strip())}


def test_index_html_carries_early_js_inline_exactly() -> None:
    html = INDEX_HTML.read_text()
    block = inline_block(EARLY_SCRIPT.read_text())
    assert block in html, "frontend/index.html's inline script is not frontend/js/early.js: run python -m infra.page"
    assert html.count("<script>") == 1


def test_the_meta_policy_allows_that_script_by_its_hash_and_nothing_else_inline() -> None:
    html = INDEX_HTML.read_text()
    expected = script_hash("\n" + EARLY_SCRIPT.read_text())
    assert inline_script_hashes(html) == [expected]
    assert _meta_csp(html)["script-src"] == ["'self'", expected], "run python -m infra.page"
    assert "'unsafe-inline'" not in html


def test_the_meta_policy_is_the_header_policy_minus_what_only_a_header_can_say() -> None:
    header = {
        name: values
        for name, *values in (part.split() for part in content_security_policy("wss://api.example").split(";"))
    }
    meta = _meta_csp(INDEX_HTML.read_text())
    assert meta.pop("connect-src") == ["'self'", "ws:", "wss:"]  # the header names the deployment's own API
    assert header.pop("connect-src") == ["'self'", "wss://api.example"]
    assert header.pop("frame-ancestors") == ["'none'"]  # ignored in a meta policy
    assert meta == header


def test_the_writer_puts_a_changed_script_and_its_hash_in_place() -> None:
    html = INDEX_HTML.read_text()
    changed = with_early_script(html, "window.x = 1;\n")
    assert inline_script_hashes(changed) == [script_hash("\nwindow.x = 1;\n")]
    assert _meta_csp(changed)["script-src"] == ["'self'", script_hash("\nwindow.x = 1;\n")]
    assert with_early_script(changed, EARLY_SCRIPT.read_text()) == html  # and back: nothing else moved
