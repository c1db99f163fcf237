""".ci/run, CI's entry point, run for real on a copy with `make`, `apt-get` and `dpkg-query` stood in for:
it installs only what the machine lacks, then runs the README's test command (`make test`) with
`CXML_SHARED_DIR` set to `../shared/cxml`, and refuses to run without that folder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_RUN = ROOT / ".ci" / "run"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")

# Each stand-in appends one JSON line (its name, arguments, and the variables .ci/run sets) to calls.jsonl.
RECORDER = """#!/bin/sh
python3 - "$0" "$@" <<'EOF'
import json, os, sys
record = {{"tool": os.path.basename(sys.argv[1]), "args": sys.argv[2:], "cwd": os.getcwd(),
          "CXML_SHARED_DIR": os.environ.get("CXML_SHARED_DIR"),
          "PUNCHOUT_REQUIRE_DYNAMODB_LOCAL": os.environ.get("PUNCHOUT_REQUIRE_DYNAMODB_LOCAL")}}
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(record) + "\\n")
EOF
{after}
"""


def stand_in(folder: Path, name: str, calls: Path, after: str = "exit 0") -> None:
    path = folder / name
    path.write_text(RECORDER.format(calls=str(calls), after=after), encoding="utf-8")
    path.chmod(0o755)


def checkout(tmp_path: Path, *, shared: bool, missing: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """A checkout holding .ci/run (and ../shared/cxml beside it if ``shared``), and a PATH of stand-ins:
    make, apt-get, java, npm, and dpkg-query saying every package but ``missing`` is installed."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(CI_RUN, repo / ".ci" / "run")
    if shared:
        (tmp_path / "shared" / "cxml").mkdir(parents=True)
    tools, calls = tmp_path / "bin", tmp_path / "calls.jsonl"
    tools.mkdir()
    for name in ("make", "apt-get", "java", "npm"):
        stand_in(tools, name, calls)
    status = " ".join(missing)
    stand_in(
        tools,
        "dpkg-query",
        calls,
        after=f'for a in "$@"; do for p in {status or "-"}; do [ "$p" = "$a" ] && exit 1; done; done\n'
        'printf "install ok installed"',
    )
    return repo, tools, calls


def run(repo: Path, tools: Path) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(repo)}
    return subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def recorded(calls: Path) -> list[dict[str, Any]]:
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]


def test_ci_runs_make_test_with_the_shared_cxml_folder_beside_the_checkout(tmp_path: Path):
    # Given a machine with everything installed and the shared data beside the checkout
    repo, tools, calls = checkout(tmp_path, shared=True)

    # When CI runs
    done = run(repo, tools)

    # Then it installs nothing and runs `make test` in the checkout, with CXML_SHARED_DIR=../shared/cxml
    assert done.returncode == 0, done.stderr
    made = [call for call in recorded(calls) if call["tool"] == "make"]
    assert [call["args"] for call in made] == [["test"]]
    assert made[0]["cwd"] == str(repo)
    assert made[0]["CXML_SHARED_DIR"] == str(tmp_path / "shared" / "cxml")
    assert made[0]["PUNCHOUT_REQUIRE_DYNAMODB_LOCAL"] == "1"
    assert not [call for call in recorded(calls) if call["tool"] == "apt-get"]


def test_ci_installs_only_the_packages_the_machine_lacks(tmp_path: Path):
    # Given a machine without chromium (make, java and npm there)
    repo, tools, calls = checkout(tmp_path, shared=True, missing=("chromium",))

    # When CI runs
    done = run(repo, tools)

    # Then it installs chromium alone, before running the tests
    assert done.returncode == 0, done.stderr
    tools_called = [(call["tool"], call["args"]) for call in recorded(calls) if call["tool"] in ("apt-get", "make")]
    installs = [args for tool, args in tools_called if tool == "apt-get" and "install" in args]
    assert len(installs) == 1
    assert [word for word in installs[0] if not word.startswith("-") and word != "install"] == ["chromium"]
    assert tools_called[-1] == ("make", ["test"])


def test_ci_fails_without_the_shared_cxml_folder_instead_of_skipping_the_conformance_tests(tmp_path: Path):
    # Given a checkout without ../shared/cxml beside it
    repo, tools, calls = checkout(tmp_path, shared=False)

    # When CI runs
    done = run(repo, tools)

    # Then it fails, saying where it looked, and runs no test
    assert done.returncode != 0
    assert str(tmp_path / "shared" / "cxml") in done.stderr
    assert not [call for call in recorded(calls) if call["tool"] == "make"]
