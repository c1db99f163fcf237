"""functions/requirements.txt, which `sam build` installs, must list exactly pyproject's runtime deps."""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# PEP 503 name -> (extras, specifier, marker), all normalised so that spelling does not count as drift.
Pins = dict[str, tuple[frozenset[str], str, str]]


def pins(lines: list[str]) -> Pins:
    result: Pins = {}
    for line in lines:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name not in result, f"{name} is listed twice"
        result[name] = (
            frozenset(canonicalize_name(extra) for extra in requirement.extras),
            str(requirement.specifier),
            str(requirement.marker or ""),
        )
    return result


def pyproject_dependencies(path: Path) -> list[str]:
    with path.open("rb") as file:
        dependencies: list[str] = tomllib.load(file)["project"]["dependencies"]
    return dependencies


def requirements_lines(text: str) -> list[str]:
    lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    for line in lines:
        # Options (-r, --hash, -e ...) would install something pyproject does not describe.
        assert not line.startswith("-"), f"unsupported requirements.txt option: {line}"
    return lines


def test_requirements_txt_matches_pyproject_runtime_dependencies() -> None:
    # Given the runtime dependencies the tests run with and those `sam build` packages
    declared = pins(pyproject_dependencies(ROOT / "pyproject.toml"))
    packaged = pins(requirements_lines((ROOT / "functions" / "requirements.txt").read_text()))

    # Then they are the same packages, extras and versions
    assert packaged == declared


def test_runtime_dependencies_are_pinned_exactly() -> None:
    # Given the runtime dependencies
    declared = pins(pyproject_dependencies(ROOT / "pyproject.toml"))

    # Then each names one exact version, so a deployment is reproducible
    loose = {name: spec for name, (_, spec, _) in declared.items() if not spec.startswith("==") or "," in spec}
    assert declared
    assert loose == {}


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("aws-lambda-powertools[tracer]==3.37.0", "AWS_Lambda.Powertools[Tracer] == 3.37.0"),
        ("lxml==6.1.3", "lxml ==6.1.3  # comment"),
    ],
)
def test_spelling_differences_are_not_drift(left: str, right: str) -> None:
    assert pins(requirements_lines(left)) == pins(requirements_lines(right))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("lxml==6.1.3", "lxml==6.1.2"),
        ("aws-lambda-powertools[tracer]==3.37.0", "aws-lambda-powertools==3.37.0"),
        ("boto3==1.44.8", "boto3>=1.44.8"),
        ("boto3==1.44.8", "botocore==1.44.8"),
        ("pydantic==2.14.4", "pydantic==2.14.4; python_version < '3.13'"),
    ],
)
def test_version_extra_name_or_marker_changes_are_drift(left: str, right: str) -> None:
    assert pins([left]) != pins([right])
