"""`make test`, the README's test command: from nothing, a Python 3.12 venv, then ruff, mypy (strict on
`functions/`), both `sam validate` runs and the whole pytest suite.

The recipe is read with `make -n` on a copy of the Makefile (nothing is installed or run); the search for
Python 3.12 is run for real, on a PATH and a pyenv root made up here.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def dry_run(folder: Path, target: str) -> list[str]:
    """The commands `make -n <target>` prints in a fresh checkout (Makefile and pyproject.toml only)."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(folder)}
    done = subprocess.run(
        ["make", "-n", target], cwd=folder, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def index_of(lines: list[str], wanted: str, after: int = -1) -> int:
    found = [index for index, line in enumerate(lines) if wanted in line and index > after]
    assert found, f"`make test` does not run {wanted!r} (after line {after}):\n" + "\n".join(lines)
    return found[0]


def test_make_test_creates_the_venv_then_lints_type_checks_validates_and_runs_the_whole_suite(tmp_path: Path):
    # Given a fresh checkout: no .venv
    # When `make test` is dry-run
    lines = dry_run(tmp_path, "test")

    # Then it first creates .venv from a Python 3.12 it looks for, and installs the project with its dev tools
    venv = index_of(lines, "-m venv .venv")
    assert any("python3.12" in line for line in lines[:venv]), "the venv is not made from a Python 3.12 it looks for"
    installed = index_of(lines, "-m pip install --progress-bar off -e '.[dev]'", venv)
    # ... then runs ruff, mypy and both template validations with the venv's tools
    bin_dir = f"{tmp_path}/.venv/bin/"
    step = installed
    for wanted in (
        f"{bin_dir}ruff check .",
        f"{bin_dir}ruff format --check .",
        f"{bin_dir}mypy",
        f"{bin_dir}sam validate --lint --template template.yaml",
        f"{bin_dir}sam validate --region us-east-1 --template template.yaml",
    ):
        step = index_of(lines, wanted, step)
    # ... and, last, pytest on the whole suite: no path narrows it and no marker deselects a tier
    pytest_line = lines[-1]
    words = shlex.split(pytest_line)
    command = next(index for index, word in enumerate(words) if word.endswith("/pytest"))
    assert words[command] == f"{bin_dir}pytest", pytest_line
    arguments = words[command + 1 :]
    assert all(word.startswith("-") or word == "auto" for word in arguments), pytest_line
    assert not {"-m", "-k", "--ignore", "--deselect"} & set(arguments), pytest_line


def test_mypy_is_strict_on_functions_and_pytest_collects_every_tier() -> None:
    # Given the tools' configuration, which `make test` runs them with
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    mypy, pytest_options = config["mypy"], config["pytest"]["ini_options"]

    # Then mypy checks functions/ strictly, and no override loosens it for a package Lambda imports
    assert mypy["strict"] is True
    assert "functions" in mypy["files"]
    packages = {path.name for path in (ROOT / "functions").iterdir() if (path / "__init__.py").is_file()}
    assert {"punchout", "setup_request", "order_message", "order_request"} <= packages
    for override in mypy.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        loosened = {module.split(".")[0] for module in modules} & packages
        assert not loosened, f"a mypy override applies to {loosened}: {override}"
    # And pytest collects the whole tests/ folder
    assert pytest_options["testpaths"] == ["tests"]


def find_python(folder: Path, path: list[Path], home: Path) -> str:
    """What the Makefile's search for Python 3.12 prints with this PATH and HOME (nothing else)."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    (folder / "probe.mk").write_text("include Makefile\nprint-python:\n\t@$(find_python312)\n", encoding="utf-8")
    environment = {"PATH": os.pathsep.join([*map(str, path), "/usr/bin", "/bin"]), "HOME": str(home)}
    done = subprocess.run(
        ["make", "-f", "probe.mk", "print-python"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def python312() -> Path:
    """A real Python 3.12 interpreter (the one running the tests, outside its venv)."""
    real = Path(os.path.realpath(sys.executable))
    if sys.version_info[:2] != (3, 12):
        pytest.skip("the tests do not run on Python 3.12")
    return real


@pytest.fixture
def other_python() -> str | None:
    """A Python of another version on this machine, if there is one (Debian 12's python3 is 3.11)."""
    for name in ("python3.11", "python3.13", "python3.10", "python3.14"):
        found = shutil.which(name, path="/usr/bin:/usr/local/bin")
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("pyenv_on_path", [True, False], ids=["pyenv on PATH", "pyenv root in HOME only"])
def test_make_finds_a_python_312_that_runs_past_a_broken_shim_and_another_version(
    tmp_path: Path, python312: Path, other_python: str | None, pyenv_on_path: bool
):
    # Given a PATH whose python3.12 is a pyenv shim that fails (no 3.12 selected), then one that is another version
    shims, other = tmp_path / "shims", tmp_path / "other"
    executable(shims / "python3.12", "#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    path = [shims]
    if other_python is not None:
        executable(other / "python3.12", f'#!/bin/sh\nexec {other_python} "$@"\n')
        path.append(other)
    # ... and a 3.12 among pyenv's builds, found through `pyenv root` or in ~/.pyenv
    home = tmp_path / "home"
    root = tmp_path / "pyenv-root" if pyenv_on_path else home / ".pyenv"
    build = root / "versions" / "3.12.99" / "bin" / "python3.12"
    build.parent.mkdir(parents=True)
    build.symlink_to(python312)
    if pyenv_on_path:
        executable(tmp_path / "pyenv-bin" / "pyenv", f'#!/bin/sh\n[ "$1" = root ] && echo {root}\n')
        path.append(tmp_path / "pyenv-bin")
    workdir = tmp_path / "checkout"
    workdir.mkdir()

    # When make looks for Python 3.12
    found = find_python(workdir, path, home)

    # Then it is pyenv's build, the first candidate that runs and is 3.12
    assert found == str(build)


def test_make_takes_a_working_python312_on_path_first(tmp_path: Path, python312: Path):
    # Given a python3.12 on PATH that runs
    onpath = tmp_path / "bin" / "python3.12"
    onpath.parent.mkdir()
    onpath.symlink_to(python312)
    workdir = tmp_path / "checkout"
    workdir.mkdir()

    # When make looks for Python 3.12, then it is that one
    assert find_python(workdir, [onpath.parent], tmp_path / "home") == str(onpath)
