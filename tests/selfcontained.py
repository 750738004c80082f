"""A guard that the suite needs nothing from beside the repository (see OutsideReads)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


class OutsideReads:
    """Records every file or folder this process opens or lists beside the repository (a sibling of the checkout,
    such as a folder of notes next to the project), so a test that depends on something a fresh clone does not have
    fails here, not only on a user's machine. Dot-folders beside it (~/.aws, ~/.cache when the checkout is in a home
    folder) are the user's configuration, not project files. `.ci/run` goes further and runs the suite in a clone
    with nothing beside it."""

    def __init__(self, repository: Path, temporary: str | None = None) -> None:
        self._repository = str(repository)
        self._beside = str(repository.parent)
        # A checkout right in /tmp has the tools' scratch files (jsii, pytest's tmp_path) as its siblings.
        self._temporary = os.path.realpath(temporary or tempfile.gettempdir())
        self.paths: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        target = args[0]
        if not isinstance(target, str | bytes | os.PathLike):
            return  # a file descriptor
        path = os.path.abspath(os.fsdecode(target))
        if self._outside(path):
            self.paths.append(path)

    def _outside(self, path: str) -> bool:
        if self._beside == os.path.dirname(self._beside):
            return False  # the checkout sits at the file system's root: it has no siblings to guard against
        if path == self._repository or path.startswith(self._repository + os.sep):
            return False
        if not path.startswith(self._beside + os.sep) or path.startswith(self._temporary + os.sep):
            return False
        return not path[len(self._beside) + 1 :].startswith(".")
