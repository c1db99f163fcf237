"""`make clean`, run for real on a copy of the Makefile in an empty folder: what it removes, and what it leaves."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def make(folder: Path, target: str) -> str:
    shutil.copy(MAKEFILE, folder / "Makefile")
    done = subprocess.run(["make", target], cwd=folder, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_clean_removes_the_state_of_every_local_stack_and_nothing_like_it_elsewhere(tmp_path: Path):
    # Given a checkout with the default stack's state, a second and a third stack's (README: --state-dir .local2)
    checkout = tmp_path / "checkout"
    for state in (".local/dynamodb", ".local2/dynamodb", ".local-e2e"):
        (checkout / state).mkdir(parents=True)
        (checkout / state / "demo-credentials.json").write_text("{}")
    # ... and things that merely look alike: a file, a folder deeper down, a symlink to a folder elsewhere
    (checkout / ".localrc").write_text("keep")
    (checkout / "docs" / ".local3").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").write_text("keep")
    (checkout / ".local-link").symlink_to(elsewhere, target_is_directory=True)

    # When the developer cleans
    make(checkout, "clean")

    # Then every stack's state is gone, and the look-alikes and what the symlink points at are untouched
    assert not any((checkout / state).exists() for state in (".local", ".local2", ".local-e2e"))
    assert (checkout / ".localrc").read_text() == "keep"
    assert (checkout / "docs" / ".local3").is_dir()
    assert (checkout / ".local-link").is_symlink()
    assert (elsewhere / "data").read_text() == "keep"


def test_the_help_says_clean_removes_the_local_stacks_state(tmp_path: Path):
    (line,) = [line for line in make(tmp_path, "help").splitlines() if line.split()[:2] == ["make", "clean"]]
    assert ".local*/" in line
