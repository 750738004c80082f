"""Generated blocks inside hand-written documents."""

from __future__ import annotations

import pytest

from bench import docblock

DOCUMENT = "# Title\n\nby hand\n<!-- generated: figures -->\nold\n<!-- /generated: figures -->\nalso by hand\n"


def test_a_block_is_replaced_and_the_rest_kept() -> None:
    updated = docblock.replace(DOCUMENT, "figures", "new\nlines")

    assert updated == DOCUMENT.replace("old\n", "new\nlines\n")
    assert docblock.read(updated, "figures") == "new\nlines\n"


def test_a_missing_block_is_an_error_not_a_silent_no_op() -> None:
    with pytest.raises(docblock.MissingBlock, match="other"):
        docblock.replace(DOCUMENT, "other", "x")
    with pytest.raises(docblock.MissingBlock):
        docblock.read("<!-- generated: figures -->\nunterminated\n", "figures")
