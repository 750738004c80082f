"""The page's inline script (frontend/js/early.js, carried inline by index.html) and the CSP hash that allows it.
The CDK stack's Content-Security-Policy header and index.html's own meta policy both name the hash.

`python -m infra.page` writes early.js's current text, and its hash, into index.html; a unit test fails until it has
been run after a change to early.js."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
EARLY_SCRIPT = FRONTEND / "js" / "early.js"
INDEX_HTML = FRONTEND / "index.html"

_INLINE = re.compile(r"<script>(.*?)</script>", re.S)
_HASHED = re.compile(r"script-src 'self' 'sha256-[^']*'")


def inline_block(source: str) -> str:
    """The inline element index.html carries for `source` (early.js's text)."""
    return f"<script>\n{source}</script>"


def script_hash(text: str) -> str:
    """A CSP source allowing an inline script whose text content is `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_script_hashes(html: str | None = None) -> list[str]:
    """The CSP sources of every inline script of index.html (or of `html`), in order."""
    page = INDEX_HTML.read_text() if html is None else html
    return [script_hash(text) for text in _INLINE.findall(page)]


def with_early_script(html: str, source: str) -> str:
    """`html` with its one inline script replaced by `source` and its meta policy's hash by that script's."""
    (_,) = _INLINE.findall(html)
    html = _INLINE.sub(lambda _: inline_block(source), html)
    return _HASHED.sub(lambda _: f"script-src 'self' {script_hash(chr(10) + source)}", html)


def main() -> None:
    INDEX_HTML.write_text(with_early_script(INDEX_HTML.read_text(), EARLY_SCRIPT.read_text()))


if __name__ == "__main__":
    main()
