"""The local stack in a child process, and extra gateway processes standing in for more Lambda environments.

Why a child process: the stack keeps process-wide state — moto's backends (which any `mock_aws`
started in the same process resets, SQS queues included), the SDK endpoints and the functions'
variables in `os.environ`, and the handlers' cached settings and clients. In a child, none of it can
meet the unit tier's moto mocks or another tier's stack, whatever order pytest-xdist runs tests in.

Why extra gateways: the local gateway runs one invocation of a function at a time, as one Lambda
execution environment does (Powertools' resolver keeps the current event on a module-level app).
Deployed, twenty concurrent requests run in up to twenty environments at once; `GatewayProcess`
adds environments — processes serving the same routes against the same DynamoDB Local and SQS.

Parent side: `with StackProcess(work_dir) as stack: stack.base_url`, `stack.gateway_process()`.
Child side: `python -m tests.support.stack_process stack|gateway ...` (started by those classes).

A child stops when its stdin closes (the parent closed it, or died), on SIGTERM, and — Linux — when
the parent dies (`PR_SET_PDEATHSIG`); DynamoDB Local's JVM dies with the child the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from infra.local import clients
from infra.local.dynamodb_local import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from infra.local.lifecycle import Service
from infra.local.template import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from infra.local.stack import DynamoDBEngine

REPO_ROOT = Path(__file__).resolve().parents[2]
# Set (by .ci/run): the tests' stacks must serve DynamoDB from DynamoDB Local. Where it cannot run
# (no Java, no npm) they fail to start instead of falling back to moto's DynamoDB, which differs in
# details, and the tests that need Java run (and fail) instead of skipping.
REQUIRE_DYNAMODB_LOCAL = "PUNCHOUT_REQUIRE_DYNAMODB_LOCAL"

START_TIMEOUT = 600.0  # ~6 s; a clean checkout first fetches DynamoDB Local (57 MB) through npm
STOP_TIMEOUT = 20.0


def sdk_environment(dynamodb_endpoint: str, sqs_endpoint: str) -> dict[str, str]:
    """What a process needs to reach the local endpoints: endpoints, dummy credentials, the region."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_SQS": sqs_endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def dynamodb_local_required() -> bool:
    return bool(os.environ.get(REQUIRE_DYNAMODB_LOCAL))


def dynamodb_engine() -> DynamoDBEngine:
    """The DynamoDB engine the tests' stacks ask for: DynamoDB Local if required, else the best available."""
    return "dynamodb-local" if dynamodb_local_required() else "auto"


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any AWS setting (a developer's profile must not leak in)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {**environment, **(extra or {})}


class ChildFailed(RuntimeError):
    """A child did not come up; the message carries the end of its log."""


class _Child(Service):
    """A `python -m tests.support.stack_process <role>` child: started, awaited, stopped, logged."""

    role = ""

    def __init__(self, log_path: Path, arguments: list[str], environment: dict[str, str]) -> None:
        self.log_path = log_path
        self._arguments = arguments
        self._environment = environment
        self._process: subprocess.Popen[bytes] | None = None
        self._ready: IO[bytes] | None = None
        self._started = 0.0
        self.state: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the child without waiting for it (several children then start side by side)."""
        read_end, write_end = os.pipe()
        self._ready = os.fdopen(read_end, "rb")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.stack_process",
                    self.role,
                    "--ready-fd",
                    str(write_end),
                    "--parent-pid",
                    str(os.getpid()),
                    *self._arguments,
                ],
                cwd=REPO_ROOT,
                env=self._environment,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_end,),
            )
        os.close(write_end)
        self._started = time.monotonic()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until the child reports ready (one JSON line on the pipe), or fail with its log."""
        if self._process is None or self._ready is None:
            raise RuntimeError("launch() the child first")
        try:
            readable, _, _ = select.select([self._ready], [], [], timeout)
            line = self._ready.readline() if readable else b""
        finally:
            self._ready.close()
            self._ready = None
        if not line:
            self.stop()
            raise ChildFailed(f"{self.role} process did not start ({self._why()}):\n{self.log_tail()}")
        self.state = json.loads(line)
        self.state["started_in"] = time.monotonic() - self._started

    def _why(self) -> str:
        if self._process is not None and self._process.poll() is not None:
            return f"exit {self._process.returncode}"
        return "no answer"

    def log_tail(self, characters: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    def request_stop(self) -> None:
        """Ask the child to stop (it stops in order: gateway, then DynamoDB Local), without waiting."""
        if self._process is not None and self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()

    def stop(self) -> None:
        self.request_stop()
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop_all(children: Sequence[_Child]) -> None:
    """Stop several children side by side."""
    for child in children:
        child.request_stop()
    for child in children:
        child.stop()


class StackProcess(_Child):
    """The whole local stack (DynamoDB Local in memory, moto's SQS, the gateway) in a child process."""

    role = "stack"

    def __init__(self, work_dir: Path) -> None:
        # The state file goes where the `punchout` CLI looks for a running local stack
        # (`.local/stack.json` under its working directory).
        self.work_dir = work_dir
        self.state_file = work_dir / ".local" / "stack.json"
        super().__init__(
            work_dir / "stack.log", ["--state-file", str(self.state_file)], clean_environment({"PYTHONUNBUFFERED": "1"})
        )

    @property
    def base_url(self) -> str:
        return str(self.state["base_url"])

    @property
    def stage(self) -> str:
        return str(self.state["stage"])

    @property
    def dynamodb_engine(self) -> str:
        return str(self.state["dynamodb"]["engine"])

    @property
    def dynamodb_endpoint(self) -> str:
        return str(self.state["dynamodb"]["endpoint_url"])

    @property
    def sqs_endpoint(self) -> str:
        return str(self.state["sqs"]["endpoint_url"])

    @property
    def table_name(self) -> str:
        return str(self.state["tables"]["PunchOutTable"]["name"])

    def queue_url(self, logical_id: str = "OrderQueue") -> str:
        return str(self.state["queues"][logical_id]["url"])

    @property
    def function_environment(self) -> dict[str, str]:
        return dict(self.state["environment"])

    @property
    def java_pid(self) -> int | None:
        pid = self.state.get("java_pid")
        return int(pid) if pid else None

    def sdk_environment(self) -> dict[str, str]:
        return sdk_environment(self.dynamodb_endpoint, self.sqs_endpoint)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return clients.dynamodb_client(self.dynamodb_endpoint)

    @cached_property
    def sqs(self) -> SQSClient:
        return clients.sqs_client(self.sqs_endpoint)

    def gateway_process(self, name: str) -> GatewayProcess:
        """Another execution environment of every function, against this stack's endpoints (not started)."""
        return GatewayProcess(self, self.work_dir / f"gateway-{name}.log")


class GatewayProcess(_Child):
    """The template's routes served by another process: one more Lambda execution environment."""

    role = "gateway"

    def __init__(self, stack: StackProcess, log_path: Path) -> None:
        environment = clean_environment({"PYTHONUNBUFFERED": "1", **stack.sdk_environment()})
        super().__init__(
            log_path,
            ["--stage", stack.stage, "--function-environment", json.dumps(stack.function_environment)],
            environment,
        )

    @property
    def base_url(self) -> str:
        return str(self.state["base_url"])


# --- the child side -------------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Linux: SIGTERM this process when the parent (the pytest worker) dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        raise SystemExit(1)


def _stopping() -> threading.Event:
    """Set when stdin reaches end of file or SIGTERM/SIGINT arrives."""
    stop = threading.Event()

    def watch_stdin() -> None:
        while sys.stdin.buffer.read(65536):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _report_ready(fd: int, state: dict[str, Any]) -> None:
    with os.fdopen(fd, "wb") as ready:
        ready.write(json.dumps(state).encode() + b"\n")


def _run_stack(arguments: argparse.Namespace) -> None:
    from infra.local.stack import LocalStack

    stop = _stopping()
    state_file = Path(arguments.state_file)
    with LocalStack(port=0, persistent=False, state_file=state_file, dynamodb=dynamodb_engine()) as stack:
        state = stack.describe()
        state["java_pid"] = stack.dynamodb_local.pid if stack.dynamodb_local else None
        _report_ready(arguments.ready_fd, state)
        stop.wait()


def _run_gateway(arguments: argparse.Namespace) -> None:
    from infra.local.api_keys import TableApiKeys
    from infra.local.gateway import Gateway, routes_from_template
    from infra.local.template import Intrinsics, load_template

    stop = _stopping()
    template = load_template(REPO_ROOT / "template.yaml")
    environment = json.loads(arguments.function_environment)
    gateway = Gateway(
        routes_from_template(template, Intrinsics(template)),
        port=0,
        stage=arguments.stage,
        environment=environment,
        api_keys=TableApiKeys(environment["TABLE_NAME"]),
    )
    with gateway:
        _report_ready(arguments.ready_fd, {"base_url": gateway.base_url, "pid": os.getpid()})
        stop.wait()


def main(argv: list[str] | None = None) -> None:
    import logging

    parser = argparse.ArgumentParser(prog="python -m tests.support.stack_process")
    parser.add_argument("role", choices=["stack", "gateway"])
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--state-file")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--function-environment", default="{}")
    arguments = parser.parse_args(argv)
    _die_with_parent(arguments.parent_pid)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: every SDK call
    if arguments.role == "stack":
        _run_stack(arguments)
    else:
        _run_gateway(arguments)


if __name__ == "__main__":
    main()
