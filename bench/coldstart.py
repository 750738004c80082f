"""What a Lambda cold start pays for our code: importing the handler module in a fresh interpreter, and the size of
the code asset (`lambdas/`, zipped as CDK uploads it; the Powertools layer is not part of it)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from bench.stats import summary
from signaling.definition import ROUTES

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "lambdas"
_PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def handler_modules() -> list[str]:
    return sorted({route.handler.rpartition(".")[0] for route in ROUTES if route.handler})


def import_seconds(module: str) -> float:
    # -S would skip site-packages; -I isolates from the user's env vars and cwd, as a Lambda sandbox is.
    out = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        env={"POWERTOOLS_TRACE_DISABLED": "false", "TABLE_NAME": "bench"},
    )
    return float(out.stdout.strip().splitlines()[-1])


def asset_bytes() -> tuple[int, int]:
    """(zipped, unzipped) size of the Lambda code asset, excluding caches as the CDK asset does."""
    buffer, raw = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ASSET.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(ASSET))
                raw += path.stat().st_size
    return len(buffer.getvalue()), raw


def run(repeats: int) -> dict[str, Any]:
    imports = {}
    for module in handler_modules():
        import_seconds(module)  # warm the OS file cache once, as a Lambda image's layers are warm on local disk
        imports[module] = summary([import_seconds(module) * 1000 for _ in range(repeats)], digits=1)
    zipped, unzipped = asset_bytes()
    return {
        "import_ms": imports,
        "routes_per_module": {
            m: [r.key for r in ROUTES if r.handler and r.handler.startswith(m + ".")] for m in imports
        },
        "asset_zip_bytes": zipped,
        "asset_bytes": unzipped,
    }
