"""Generated blocks inside hand-written documents: `make bench` rewrites what lies between

    <!-- generated: NAME -->
    ...
    <!-- /generated: NAME -->

and leaves the rest of the file alone; the tests compare each block with what the code would write."""

from __future__ import annotations

import re
from pathlib import Path


class MissingBlock(ValueError):
    """The document has no such block (or an unterminated one)."""


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)} -->\n)(.*?)(<!-- /generated: {re.escape(name)} -->)", re.DOTALL
    )


def read(text: str, name: str) -> str:
    match = _pattern(name).search(text)
    if match is None:
        raise MissingBlock(f"no generated block {name!r}")
    return match.group(2)


def replace(text: str, name: str, content: str) -> str:
    pattern = _pattern(name)
    if pattern.search(text) is None:
        raise MissingBlock(f"no generated block {name!r}")
    body = content if content.endswith("\n") else content + "\n"
    return pattern.sub(lambda match: match.group(1) + body + match.group(3), text, count=1)


def rewrite(path: Path, name: str, content: str) -> None:
    path.write_text(replace(path.read_text(), name, content))
