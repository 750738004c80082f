"""tests/selfcontained.py: the guard (installed by tests/conftest.py) against reading files from beside the checkout."""

from __future__ import annotations

from pathlib import Path

from tests.selfcontained import OutsideReads

ELSEWHERE = "/var/empty/parley-tmp"
"""The temporary folder the guard is told of, where these tests' tmp_path is not (it is in the real one)."""


def _reads(tmp_path: Path, *paths: Path) -> list[str]:
    guard = OutsideReads(tmp_path / "parley", temporary=ELSEWHERE)
    for path in paths:
        guard("open", (str(path), "r", 0))
    return guard.paths


def test_a_read_from_a_sibling_of_the_checkout_is_recorded(tmp_path: Path) -> None:
    sibling = tmp_path / "notes" / "events" / "connect.json"

    assert _reads(tmp_path, sibling) == [str(sibling)]


def test_a_listing_of_a_sibling_is_recorded(tmp_path: Path) -> None:
    guard = OutsideReads(tmp_path / "parley", temporary=ELSEWHERE)

    guard("os.listdir", (str(tmp_path / "notes"),))

    assert guard.paths == [str(tmp_path / "notes")]


def test_relative_paths_that_climb_out_of_the_checkout_are_recorded(tmp_path: Path) -> None:
    climbing = tmp_path / "parley" / "tests" / ".." / ".." / "notes" / "README.md"

    assert _reads(tmp_path, climbing) == [str(tmp_path / "notes" / "README.md")]


def test_reads_inside_the_checkout_and_elsewhere_on_the_system_are_not(tmp_path: Path) -> None:
    inside = tmp_path / "parley" / "tests" / "events" / "connect.json"

    assert _reads(tmp_path, tmp_path / "parley", inside, Path("/usr/bin/chromium"), Path("/etc/hosts")) == []


def test_dot_folders_beside_the_checkout_are_the_users_configuration(tmp_path: Path) -> None:
    # A checkout in a home folder: botocore looks for ~/.aws/config, pip for ~/.cache.
    assert _reads(tmp_path, tmp_path / ".aws" / "config", tmp_path / ".cache" / "pip") == []


def test_file_descriptors_are_not_paths(tmp_path: Path) -> None:
    guard = OutsideReads(tmp_path / "parley", temporary=ELSEWHERE)

    guard("open", (3, "r", 0))

    assert guard.paths == []


def test_scratch_files_in_the_temporary_folder_are_not_project_files(tmp_path: Path) -> None:
    # A checkout right in the temporary folder: jsii and pytest write their scratch files beside it.
    guard = OutsideReads(tmp_path / "parley", temporary=str(tmp_path))

    guard("open", (str(tmp_path / "jsii-kernel-abc" / "lib.js"), "r", 0))

    assert guard.paths == []
