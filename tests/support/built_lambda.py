"""Running the functions the way Lambda does: a fresh python3.12 process, importing from the built package.

Used by the smoke test (tests/smoke) and the cold-start benchmark (tests/benchmarks/bench_cold_start.py).

- **What is imported.** The child runs `python3.12 -S -s` with `PYTHONPATH=<build dir>/<Function>`
  and that folder as its working directory (Lambda's /var/task): no site-packages, no repository, so
  a module missing from the package fails the import as it would on Lambda. The child also reports
  every loaded module that came from neither the package nor the standard library.
- **Which build.** `make build` produces aarch64 wheels (lxml, pydantic-core), which cannot load
  on an x86_64 machine; `make build-host` runs the same recipe with this machine's wheels into
  .aws-sam/build-host. `host_build_dir()` picks the build that can run here.
- **AWS.** moto's server in a child process on 127.0.0.1 (never in the test process: a `mock_aws`
  elsewhere in the same process would reset its state), reached through `AWS_ENDPOINT_URL`; the
  table and queues are created from template.yaml.
- **Lambda's environment.** The function's variables from template.yaml, plus what the runtime sets:
  `LAMBDA_TASK_ROOT` (the X-Ray SDK and Powertools behave as on Lambda: tracing on, no sampling
  client), a trace header, and an X-Ray daemon address on loopback where nothing listens (UDP).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3

from infra.local.template import Intrinsics, functions, load_template, resources_of_type

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
HOST_BUILD_DIR = REPO_ROOT / ".aws-sam" / "build-host"
REGION = "us-east-1"
TABLE_NAME = "punchout-built"
ORDER_QUEUE = "punchout-built-orders.fifo"

# Reference processes that answer nothing: "floor" is what any boto3 function pays: boto3 as
# published, with botocore's data for every service, as the Lambda runtime carries it (the
# package's own boto3 keeps only the services the functions call; "package-floor" measures that
# one); "libraries" creates the DynamoDB client as the functions do (botocore's, without importing
# boto3: punchout.store.aws) and adds the libraries every function of this product loads whatever
# its route (Powertools' logger, metrics, tracer and event handler, pydantic, lxml), loaded as the
# handlers load them (with the collector paused, see punchout.coldstart), and validates one
# one-field pydantic model: the least any handler built on them that validates its input can cost
# (a route that validates nothing, such as the OpenAPI document, skips pydantic's first-model cost).
REFERENCES = ("floor", "package-floor", "libraries")

# Runs in the child; argv: handler ("module.attribute", or a reference), event file, result file.
CHILD = r"""
import time
started, started_cpu = time.perf_counter(), time.process_time()
import json, os, sys

handler_name, event_file, result_file = sys.argv[1:4]
if handler_name in ("floor", "package-floor", "libraries"):
    if handler_name != "libraries":
        import boto3
        boto3.client("dynamodb")
    else:
        from punchout.coldstart import loading  # as the handlers load them
        from punchout.store.aws import client  # as the handlers make it (botocore's, without boto3)
        client("dynamodb")
        with loading():
            from aws_lambda_powertools import Logger, Metrics, Tracer
            # As punchout.observability makes them (patch_all would import more)
            Logger(), Metrics(namespace="PunchOutGateway"), Tracer(patch_modules=("botocore",))
            import aws_lambda_powertools.event_handler, pydantic.main, lxml.etree
        # The least use of pydantic: its first model builds pydantic's schema machinery (~10 % of
        # the floor), which importing pydantic.main alone does not.
        class Ping(pydantic.main.BaseModel):
            name: str
        Ping.model_validate({"name": "ping"})
    imported = answered = time.perf_counter()
    imported_cpu = answered_cpu = time.process_time()
    response = None
else:
    import importlib
    module_name, _, attribute = handler_name.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    imported, imported_cpu = time.perf_counter(), time.process_time()

    class Context:
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        aws_request_id = "c0ld-5ta7-0000-0000-000000000000"

        def get_remaining_time_in_millis(self):
            return 10_000

    with open(event_file, encoding="utf-8") as file:
        event = json.load(file)
    response = handler(event, Context())
    answered, answered_cpu = time.perf_counter(), time.process_time()

root = os.path.realpath(os.getcwd())
stdlib = os.path.realpath(sys.base_prefix)
# Skipped under a profiler that counts the whole process: resolving every module's path costs more
# than some of the differences measured.
foreign = [] if os.environ.get("COLD_START_COUNTED") else sorted(
    name
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not os.path.realpath(module.__file__).startswith((root + os.sep, stdlib + os.sep))
)
with open(result_file, "w", encoding="utf-8") as file:
    json.dump(
        {
            "import_s": imported - started,
            "answer_s": answered - imported,
            "total_s": answered - started,
            "import_cpu_s": imported_cpu - started_cpu,
            "total_cpu_s": answered_cpu - started_cpu,
            "response": response,
            "foreign_modules": foreign,
            "modules": len(sys.modules),
        },
        file,
    )
sys.stdout.flush()
os._exit(0)
"""


class BuildMissing(Exception):
    pass


def published_boto3_path() -> Path:
    """boto3 as published: the build's shared install for this machine, before the package trims
    botocore's data (infra/build/Makefile), compiled like the package."""
    site = REPO_ROOT / ".aws-sam" / "lambda-deps" / "host" / "site"
    data = site / "botocore" / "data"
    if not data.is_dir() or len([p for p in data.iterdir() if p.is_dir()]) < 100:
        raise BuildMissing(f"{site} holds no complete botocore: run `make build-host`")
    return site


@cache
def botocore_services() -> tuple[str, ...]:
    """The services whose botocore data the build keeps (BOTOCORE_SERVICES in infra/build/Makefile)."""
    makefile = (REPO_ROOT / "infra" / "build" / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^BOTOCORE_SERVICES := (.+)$", makefile, re.MULTILINE)
    assert match, "infra/build/Makefile defines no BOTOCORE_SERVICES"
    return tuple(match.group(1).split())


def python312() -> str:
    """The interpreter that built the package (the venv's python is 3.12; Lambda runs python3.12)."""
    for candidate in (REPO_ROOT / ".venv" / "bin" / "python3.12", shutil.which("python3.12")):
        if candidate and Path(candidate).exists():
            real = os.path.realpath(candidate)
            probe = subprocess.run(
                [real, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.stdout.strip() == "True":
                return real
    raise BuildMissing("no python3.12 to run the built package with")


def host_build_dir() -> Path:
    """The build whose native wheels load on this machine."""
    if platform.machine() in ("aarch64", "arm64") and (BUILD_DIR / "template.yaml").exists():
        return BUILD_DIR
    if (HOST_BUILD_DIR / "template.yaml").exists():
        return HOST_BUILD_DIR
    raise BuildMissing(f"no build for {platform.machine()}: run `make build-host` (writes {HOST_BUILD_DIR})")


@cache
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def function_handlers() -> dict[str, str]:
    """Logical id → Handler, for every function of template.yaml."""
    intrinsics = Intrinsics(template())
    return {logical_id: spec.handler for logical_id, spec in functions(template(), intrinsics).items()}


# --- AWS: moto's server in a child process --------------------------------------------------------

_MOTO_CHILD = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the parent closes it (or dies)
server.stop()
"""


class MotoProcess:
    """moto's server (DynamoDB, SQS, ...) in a child process on a free loopback port."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _MOTO_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().strip()
        if not port.isdigit():
            self.__exit__(None, None, None)
            raise RuntimeError("moto's server did not start")
        self.endpoint_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@dataclass(frozen=True)
class Provisioned:
    endpoint_url: str
    table_name: str
    order_queue_url: str


def provision(moto: MotoProcess) -> Provisioned:
    """The template's table (key schema, TTL) and the FIFO order queue, in moto."""
    properties = resources_of_type(template(), "AWS::DynamoDB::Table")["PunchOutTable"]["Properties"]
    dynamodb = moto.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE_NAME,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    queue_url = moto.client("sqs").create_queue(
        QueueName=ORDER_QUEUE, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    return Provisioned(moto.endpoint_url, TABLE_NAME, queue_url)


def sdk_environment(endpoint_url: str) -> dict[str, str]:
    """For this process's own boto3 calls against moto (registering partners, keys, sessions)."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def template_variables(logical_id: str, aws: Provisioned) -> dict[str, str]:
    """The function's Environment.Variables from template.yaml (Globals merged), against ``aws``."""
    intrinsics = Intrinsics(template())
    intrinsics.bind("PunchOutTable", aws.table_name, Arn=f"arn:aws:dynamodb:{REGION}:123456789012:table/x")
    intrinsics.bind("OrderQueue", aws.order_queue_url, QueueName=ORDER_QUEUE, Arn="arn:aws:sqs:x")
    spec = functions(template(), intrinsics)[logical_id]
    variables = {}
    for name, raw in spec.variables.items():
        value = intrinsics.resolve_known(raw)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            variables[name] = str(value)
    return variables


def lambda_environment(logical_id: str, build_dir: Path, aws: Provisioned) -> dict[str, str]:
    """The variables Lambda would give the function: the template's, and the runtime's own."""
    variables = template_variables(logical_id, aws)
    spec = functions(template(), Intrinsics(template()))[logical_id]
    task_root = str(build_dir / logical_id)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": task_root,
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_REGION": REGION,
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **sdk_environment(aws.endpoint_url),
        **variables,
    }


@dataclass(frozen=True)
class ChildRun:
    import_s: float
    answer_s: float
    total_s: float
    import_cpu_s: float
    total_cpu_s: float
    response: dict[str, Any] | None
    foreign_modules: list[str]
    modules: int
    stdout: str
    stderr: str


def run_fresh(
    build_dir: Path,
    logical_id: str,
    event: dict[str, Any] | None,
    environment: dict[str, str],
    reference: str = "floor",
    wrapper: Sequence[str] = (),
) -> ChildRun:
    """One cold start: a new python3.12 imports the function's handler and answers ``event``.

    ``event=None`` runs a reference process instead (see REFERENCES): ``floor`` imports the published
    boto3 and creates a DynamoDB client, nothing else. ``wrapper`` prefixes the command (a profiler).
    """
    task_root = build_dir / logical_id
    if not (task_root / "punchout").is_dir():
        raise BuildMissing(f"{task_root} holds no built package")
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference process {reference!r}")
    handler = reference if event is None else function_handlers()[logical_id]
    with tempfile.TemporaryDirectory() as scratch:
        event_file, result_file = Path(scratch, "event.json"), Path(scratch, "result.json")
        event_file.write_text(json.dumps(event), encoding="utf-8")
        if wrapper:
            environment = {**environment, "COLD_START_COUNTED": "1"}
        if event is None and reference == "floor":
            cwd, environment = scratch, {**environment, "PYTHONPATH": str(published_boto3_path())}
        else:
            cwd = str(task_root)
        completed = subprocess.run(
            [*wrapper, python312(), "-S", "-s", "-c", CHILD, handler, str(event_file), str(result_file)],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600 if wrapper else 120,  # a profiler slows the child tenfold and more
            check=False,
        )
        if completed.returncode != 0 or not result_file.exists():
            raise RuntimeError(
                f"{logical_id} failed in a fresh process (exit {completed.returncode}):\n{completed.stderr[-4000:]}"
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    return ChildRun(stdout=completed.stdout, stderr=completed.stderr, **result)
