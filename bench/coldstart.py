"""What a Lambda cold start pays for our code: importing each function's handler module in a fresh interpreter, and
the size of the code asset (`lambdas/`, zipped as CDK uploads it; the Powertools layer is not part of it).

Every function counts, the WebSocket routes' and the queue consumer's (signaling.definition.FUNCTIONS). Each figure
is a median with its range: the machines this runs on are shared and noisy.

To compare with another revision, measured in the same run so that both see the same machine load:

    python -m bench.coldstart --against main --repeats 30

imports that revision's `lambdas/` and this tree's alternately, module by module, and prints both medians.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import summary
from signaling.definition import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "lambdas"
# The code root goes first on sys.path (as Lambda's /var/task does), outside the timed part, so that --against can
# point the same probe at another revision's code.
_PROBE = (
    "import sys; sys.path.insert(0, {root!r}); import time; t = time.perf_counter(); import {module};"
    " print(time.perf_counter() - t)"
)
# As deployed: tracing on (infra sets no POWERTOOLS_TRACE_DISABLED), so a Tracer, if any, does its real work.
_ENV = {"POWERTOOLS_TRACE_DISABLED": "false", "TABLE_NAME": "bench"}


def handler_modules() -> list[str]:
    """The module of every Lambda function's handler, the routes' and the queue consumers'."""
    return sorted({function.handler.rpartition(".")[0] for function in FUNCTIONS.values() if function.handler})


def import_seconds(module: str, root: Path = ASSET) -> float:
    # -I isolates from the user's env vars, site directory and cwd, as a Lambda sandbox is.
    out = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE.format(root=str(root), module=module)],
        check=True,
        capture_output=True,
        text=True,
        env=_ENV,
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


def measure(roots: Sequence[Path], modules: Sequence[str], repeats: int) -> list[dict[str, dict[str, float | int]]]:
    """Import times (ms) of each module from each code root. Rounds interleave every (root, module) pair, so that a
    burst of load from elsewhere on the machine lands on all of them rather than on one."""
    for root in roots:
        for module in modules:
            import_seconds(module, root)  # warm the OS file cache once, as a Lambda's code is on local disk
    samples: list[dict[str, list[float]]] = [{module: [] for module in modules} for _ in roots]
    for _ in range(repeats):
        for index, root in enumerate(roots):
            for module in modules:
                samples[index][module].append(import_seconds(module, root) * 1000)
    return [{module: summary(values, digits=1) for module, values in by_module.items()} for by_module in samples]


def run(repeats: int) -> dict[str, Any]:
    modules = handler_modules()
    (imports,) = measure([ASSET], modules, repeats)
    zipped, unzipped = asset_bytes()
    return {
        "import_ms": imports,
        "functions_per_module": {
            module: [key for key, f in FUNCTIONS.items() if f.handler and f.handler.startswith(module + ".")]
            for module in modules
        },
        "asset_zip_bytes": zipped,
        "asset_bytes": unzipped,
    }


def _export(revision: str, into: Path) -> Path:
    """The `lambdas/` folder of a git revision, extracted under `into`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "lambdas"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "lambdas"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REVISION", help="also measure this git revision, alternately")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    modules = handler_modules()
    with tempfile.TemporaryDirectory() as scratch:
        labels, roots = ["this tree"], [ASSET]
        if args.against:
            labels.insert(0, args.against)
            roots.insert(0, _export(args.against, Path(scratch)))
            # A module the other revision lacks cannot be compared; measure only those both have.
            modules = [m for m in modules if (roots[0] / (m.replace(".", "/") + ".py")).exists()]
        results = measure(roots, modules, args.repeats)
    for label, result in zip(labels, results, strict=True):
        print(f"{label}:")
        for module, figures in result.items():
            print(
                f"  {module:24} median {figures['median']:6.1f} ms  (min {figures['min']}, max {figures['max']},"
                f" {figures['runs']} runs)"
            )
    print(json.dumps(dict(zip(labels, results, strict=True))))


if __name__ == "__main__":
    main()
