"""Lambda events as API Gateway WebSocket delivers them, kept in the repository as test fixtures.

Written from the shapes AWS documents and sends (keys, nesting, value types and header casing as in real events);
the values are invented (documentation IP range 198.51.100.0/24, made-up API and connection ids). README.md says
what each file is and what it shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


def load(name: str) -> dict[str, Any]:
    """A fresh copy of one event (callers may change it)."""
    event: dict[str, Any] = json.loads((FOLDER / name).read_text())
    return event
