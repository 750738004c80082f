"""Which Powertools layer the stack asks for: the release installed here, which pyproject.toml pins exactly."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from infra import powertools
from infra.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_pins_exactly_the_powertools_release_installed_here() -> None:
    # The layer follows the installed release; an exact pin keeps `pip install` from moving it away from the
    # release the tests ran against (and a stale .venv shows up here, not as a different layer in Lambda).
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [match for d in dependencies if (match := re.fullmatch(r"aws-lambda-powertools(\[.*\])?==(\S+)", d))]

    assert len(pins) == 1, f"aws-lambda-powertools must be pinned with == in pyproject.toml: {dependencies}"
    assert pins[0].group(2) == metadata.version("aws-lambda-powertools")


def test_the_installed_release_names_the_layer() -> None:
    assert powertools.installed_release() == metadata.version("aws-lambda-powertools")


@pytest.mark.parametrize("release", ["3.38.0a1", "3.38.0.dev0", "3.38.0+local"])
def test_a_release_without_a_layer_parameter_is_refused(monkeypatch: pytest.MonkeyPatch, release: str) -> None:
    monkeypatch.setattr(powertools.metadata, "version", lambda _name: release)

    with pytest.raises(ConfigError, match="powertoolsLayerArn"):
        powertools.installed_release()


def test_without_powertools_installed_the_error_names_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(powertools.metadata, "version", missing)

    with pytest.raises(ConfigError, match="powertoolsLayerArn"):
        powertools.installed_release()
