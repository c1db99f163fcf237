"""`make clean`, run for real on a copy of the Makefile in an empty folder: what it removes, and what it leaves."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def run_make(folder: Path, target: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(MAKEFILE, folder / "Makefile")
    return subprocess.run(["make", target], cwd=folder, capture_output=True, text=True, timeout=60, check=False)


def make(folder: Path, target: str) -> str:
    done = run_make(folder, target)
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


def test_clean_is_refused_while_a_local_stack_runs(tmp_path: Path):
    # Given two stacks' state, the second one's stack running (it holds the flock on its stack.lock)
    for state in (".local", ".local2"):
        (tmp_path / state / "dynamodb").mkdir(parents=True)
        (tmp_path / state / "stack.lock").touch()
    (tmp_path / ".pytest_cache").mkdir()
    with (tmp_path / ".local2" / "stack.lock").open("a") as running:
        fcntl.flock(running, fcntl.LOCK_EX | fcntl.LOCK_NB)

        # When the developer cleans
        done = run_make(tmp_path, "clean")

    # Then make fails naming the running stack's state, and nothing is removed
    assert done.returncode != 0
    assert "a local stack is running with its state in .local2" in done.stderr
    assert all((tmp_path / state / "dynamodb").is_dir() for state in (".local", ".local2"))
    assert (tmp_path / ".pytest_cache").is_dir()


def test_clean_goes_ahead_when_the_stacks_have_stopped(tmp_path: Path):
    # Given a stack's state with the lock file a stopped stack leaves behind
    (tmp_path / ".local" / "dynamodb").mkdir(parents=True)
    (tmp_path / ".local" / "stack.lock").touch()

    # When the developer cleans, Then its state is gone
    make(tmp_path, "clean")
    assert not (tmp_path / ".local").exists()
