"""`make deploy` for more than one stack of the template in an account (staging beside production).

`sam deploy --guided` saves its answers (stack name, parameters) in a config environment of
infra/samconfig.toml; a second stack guided into the same environment would replace the first's
answers, and the next `make deploy` meant for production would deploy the second. Each stack keeps its
own environment, which `make deploy` must be able to name. Read with `make -n` (nothing is run).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def _deploy_command(folder: Path, *variables: str) -> str:
    """The `sam deploy` command `make -n deploy <variables>` prints in a fresh checkout."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    done = subprocess.run(
        ["make", "-n", "deploy", *variables],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (command,) = [line for line in done.stdout.splitlines() if "sam deploy" in line]
    return command


def test_make_deploy_uses_the_default_config_environment(tmp_path: Path) -> None:
    # When `make deploy` is dry-run without naming an environment
    command = _deploy_command(tmp_path)
    # Then it deploys the stack whose answers `sam deploy --guided` saved in the default environment
    assert command.endswith("sam deploy --config-file infra/samconfig.toml --config-env default")


def test_make_deploy_deploys_the_stack_of_a_named_config_environment(tmp_path: Path) -> None:
    # Given a second stack, guided with `--config-env staging` (its own stack name and parameters)
    # When `make deploy` names that environment
    command = _deploy_command(tmp_path, "SAM_CONFIG_ENV=staging")
    # Then sam deploys with that environment's answers, not the default (production's)
    assert command.endswith("sam deploy --config-file infra/samconfig.toml --config-env staging")
