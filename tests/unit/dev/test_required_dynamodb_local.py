"""The tests' local stack where DynamoDB Local cannot run: a fallback to moto locally, a failure in CI.

DynamoDB Local is made unavailable by pointing `DYNAMODB_LOCAL_DIR` at an empty directory (no
Java or npm needed to show it); the stack runs in a child process, as the integration tier's does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stack_process import REQUIRE_DYNAMODB_LOCAL, ChildFailed, StackProcess, dynamodb_engine


@pytest.fixture
def no_dynamodb_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "no-dynamodb-local"
    empty.mkdir()
    monkeypatch.setenv("DYNAMODB_LOCAL_DIR", str(empty))
    monkeypatch.delenv(REQUIRE_DYNAMODB_LOCAL, raising=False)
    return tmp_path / "work"


def test_without_the_requirement_the_stack_falls_back_to_moto(no_dynamodb_local: Path) -> None:
    # Given DynamoDB Local unavailable, and nothing requiring it (a developer's machine)
    # When the tests' stack starts
    with StackProcess(no_dynamodb_local) as stack:
        # Then it serves DynamoDB from moto
        assert stack.dynamodb_engine == "moto"


def test_where_dynamodb_local_is_required_the_stack_fails_instead(
    no_dynamodb_local: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB Local unavailable, and the requirement .ci/run sets
    monkeypatch.setenv(REQUIRE_DYNAMODB_LOCAL, "1")
    # When the tests' stack starts
    with pytest.raises(ChildFailed) as failed, StackProcess(no_dynamodb_local):
        pass
    # Then it fails, saying why DynamoDB Local could not run
    assert "DYNAMODB_LOCAL_DIR" in str(failed.value)


@pytest.mark.parametrize(("required", "engine"), [("", "auto"), ("1", "dynamodb-local")])
def test_the_in_process_stack_asks_for_the_same_engine(
    monkeypatch: pytest.MonkeyPatch, required: str, engine: str
) -> None:
    # Given the requirement set or not
    monkeypatch.setenv(REQUIRE_DYNAMODB_LOCAL, required)
    # When the integration tier picks the engine of its in-process stack
    # Then it is DynamoDB Local only where required (LocalStack refuses to fall back from it)
    assert dynamodb_engine() == engine
