"""The pinned CDK CLI (package.json) reads the cloud assembly this aws-cdk-lib writes, offline, on the pinned Node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
NODE = ROOT / "node_modules" / ".bin" / "node"
SUPPORTED_NODE_MAJORS = {22, 24}  # what this aws-cdk-lib's jsii lists as supported (its warning banner names them)

pytestmark = pytest.mark.skipif(not CDK.exists(), reason="node_modules/.bin/cdk missing: `make test` installs it")


def _npx(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # npx puts node_modules/.bin first on PATH, as the Makefile does: the CLI and the app's jsii both find the
    # project's node there. No notices and no telemetry: the suite runs without a network.
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run(
        ["npx", "--no-install", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_project_node_is_a_supported_release() -> None:
    result = _npx("node", "--version")

    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().lstrip("v").split(".")[0]) in SUPPORTED_NODE_MAJORS, result.stdout
    assert NODE.exists(), "package.json's node devDependency did not install node_modules/.bin/node"


def test_pinned_cli_synthesizes_the_app_without_a_node_end_of_life_warning(tmp_path: Path) -> None:
    result = _npx("cdk", "synth", "--quiet", "--no-notices", "-o", str(tmp_path))
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert (tmp_path / "Parley.template.json").is_file()
    # jsii prints this banner for a Node past (or within six months after) its end of life; nothing silences it
    # any more. If it appears for the pinned Node, move package.json's "node" to the next supported major.
    assert "end-of-life" not in output, output
