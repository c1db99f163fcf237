"""Integration tier: the local stack (DynamoDB Local, moto's SQS, the local gateway) on loopback.

`local_stack` starts the real stack from template.yaml once per test process (each pytest-xdist
worker has its own, on free ports) with DynamoDB Local in memory, and stops it, Java included, at the
end of the session.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.stack import LocalStack

INTEGRATION_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The session's local stack leaves its environment (endpoints, dummy credentials, the functions'
    # variables) in place until the session ends; running this tier after the others keeps faster,
    # environment-free tiers from seeing it.
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(INTEGRATION_DIR))


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_file = tmp_path_factory.mktemp("local-stack") / "stack.json"
    with LocalStack(port=0, persistent=False, state_file=state_file) as stack:
        java_pid = stack.dynamodb_local.pid if stack.dynamodb_local else None
        yield stack
    if java_pid is not None:
        assert not Path(f"/proc/{java_pid}").exists(), f"DynamoDB Local (pid {java_pid}) outlived the stack"
