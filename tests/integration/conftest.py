"""Integration tier: the local stack (DynamoDB Local, moto's SQS, the local gateway) on loopback.

Two fixtures start it, once per test process (each pytest-xdist worker has its own, on free ports,
DynamoDB Local in memory), and stop it, Java included, at the end of the session:

- `stack`: the stack in a child process (`tests/support/stack_process.py`). The gateway, the
  handlers, moto's backends and the SDK environment live there, so nothing the tests' process does —
  a unit test's `mock_aws`, which resets moto's process-wide backends when it stops, another tier's
  stack, cached settings — can reach them, whichever order or worker xdist gives a test. The
  application tests (`test_*_http.py`) use it through HTTP and the `punchout` CLI only.
- `local_stack`: `LocalStack` in this process, for `test_local_stack.py`, which tests that class
  itself (the environment it sets, its resources, its state file).

Without Java or npm both fall back to moto's DynamoDB, unless PUNCHOUT_REQUIRE_DYNAMODB_LOCAL is set
(.ci/run sets it): then they fail to start.

`local_stack` shares this process with every other test the worker runs, so the order matters for
it: it must not start while a `mock_aws` is active nor have one started after it. Integration tests
therefore run last (`pytest_collection_modifyitems`); xdist's default `load` scheduling hands each
worker tests in collection order, so no unit test follows an integration test in a worker. (Modes
that reorder a worker's tests, such as `--dist worksteal` or `--ff`, can break that; the child-process
`stack` is immune.)
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from punchout.store.dynamo import Table
from punchout.store.orders import OrderRepository
from tests.integration.helpers import Queue
from tests.support import leaks
from tests.support.stack_process import StackProcess, dynamodb_engine

INTEGRATION_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The session's in-process stack leaves its environment (endpoints, dummy credentials, the
    # functions' variables) in place until the session ends; running this tier after the others
    # keeps faster, environment-free tiers from seeing it.
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(INTEGRATION_DIR))


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_file = tmp_path_factory.mktemp("local-stack") / "stack.json"
    with LocalStack(port=0, persistent=False, state_file=state_file, dynamodb=dynamodb_engine()) as stack:
        java_pid = stack.dynamodb_local.pid if stack.dynamodb_local else None
        yield stack
    if java_pid is not None:
        assert not Path(f"/proc/{java_pid}").exists(), f"DynamoDB Local (pid {java_pid}) outlived the stack"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """The local stack in a child process; its log is `stack.log` in the fixture's temporary directory.
    No secret the tests sent it may be in its logs (``leaks``), as in the unit tier's."""
    with StackProcess(tmp_path_factory.mktemp("stack-process")) as running:
        pids = [running.pid, running.java_pid]
        yield running
    logs = [log.read_bytes() for log in running.work_dir.glob("*.log")]
    leaks.assert_no_secret("the local stack's logs", *logs, by_any_test=True)
    for pid in pids:
        if pid is not None:
            # A zombie (exited, not yet reaped by its parent) has no cmdline; a live process does.
            cmdline = Path(f"/proc/{pid}/cmdline")
            assert not cmdline.exists() or not cmdline.read_bytes(), f"process {pid} outlived the stack"


@pytest.fixture(scope="module")
def orders(stack: StackProcess) -> OrderRepository:
    """The stored orders, read with the product's own repository (on this process's own client)."""
    return OrderRepository(Table(stack.table_name, client=stack.dynamodb))


@pytest.fixture
def queue(stack: StackProcess) -> Queue:
    """The order queue, emptied of whatever an earlier test left in it."""
    fifo = Queue(stack)
    fifo.drain()
    return fifo
