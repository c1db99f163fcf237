"""The whole gateway on this machine: `with LocalStack() as stack: stack.base_url`.

Started in order (and stopped in reverse, also when a later step fails):
1. moto's server: the SQS endpoint, and the DynamoDB fallback.
2. DynamoDB Local (Java), persistent under `.local/dynamodb/` or in memory. If Java, npm or the
   jar is missing, moto's in-memory DynamoDB on the same server instead, with a warning.
3. The process environment every AWS SDK call here will use: loopback endpoints
   (AWS_ENDPOINT_URL_DYNAMODB/_SQS), dummy credentials with any profile unset, us-east-1.
4. The tables and queues of template.yaml, then each function's `Environment.Variables` (Globals
   merged) with `!Ref`/`!GetAtt` of those resources resolved to their local names and URLs; tracing
   off (no X-Ray daemon here).
5. The gateway on `port` (3000; 0 picks a free one) with the template API's stage (`dev` with the
   parameters' defaults), then the ready hooks (later: API key, demo partner), then
   `.local/stack.json` describing it all (removed again at stop).

`python -m infra.local.stack` runs it in the foreground until Ctrl-C, SIGTERM or SIGHUP (a closed terminal).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import threading
import warnings
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from infra.local import clients
from infra.local.api_keys import TableApiKeys
from infra.local.dynamodb_local import (
    DEFAULT_CACHE_DIR,
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    REPO_ROOT,
    DynamoDBLocal,
    DynamoDBLocalUnavailable,
)
from infra.local.environ import patched_environ
from infra.local.gateway import Gateway, routes_from_template
from infra.local.lifecycle import Service
from infra.local.resources import DEFAULT_PREFIX, QUEUE_TYPE, LocalResource, create_resources
from infra.local.sqs_local import MotoServer
from infra.local.template import (
    REGION,
    Intrinsics,
    Template,
    Unresolved,
    function_environment,
    load_template,
    resources_of_type,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_TEMPLATE: Final = REPO_ROOT / "template.yaml"
DEFAULT_STATE_DIR: Final = REPO_ROOT / ".local"
DEFAULT_PORT: Final = 3000

# Local-only settings for the handlers, on top of the template's.
LOCAL_FUNCTION_ENVIRONMENT: Final = {"POWERTOOLS_TRACE_DISABLED": "true"}

DynamoDBEngine = Literal["auto", "dynamodb-local", "moto"]
ReadyHook = Callable[["LocalStack"], None]

logger = logging.getLogger(__name__)


class LocalStack(Service):
    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        persistent: bool = True,
        dynamodb: DynamoDBEngine = "auto",
        state_dir: Path = DEFAULT_STATE_DIR,
        state_file: Path | None = DEFAULT_STATE_DIR / "stack.json",
        cache_dir: Path = DEFAULT_CACHE_DIR,
        prefix: str = DEFAULT_PREFIX,
        stage: str | None = None,
        ready_hooks: list[ReadyHook] | None = None,
    ) -> None:
        """`persistent` keeps DynamoDB data in `state_dir/dynamodb`; `state_file=None` writes no stack.json."""
        self.port = port
        self.persistent = persistent
        self.requested_dynamodb_engine: DynamoDBEngine = dynamodb
        self.dynamodb_engine: DynamoDBEngine = dynamodb  # after start: the engine actually serving
        self.state_dir = state_dir
        self.state_file = state_file
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.stage = stage or ""  # None: the template's API stage (see _template_stage)
        self.ready_hooks: list[ReadyHook] = list(ready_hooks or [])
        # Ready hooks add what they create here (an API key, a demo partner); it lands in stack.json.
        self.extra: dict[str, Any] = {}
        self.template: Template = {}
        self.resources: dict[str, LocalResource] = {}
        self.function_environment: dict[str, str] = {}
        self.dynamodb_endpoint = ""
        self.sqs_endpoint = ""
        self.dynamodb_local: DynamoDBLocal | None = None  # None when moto serves DynamoDB
        self._gateway: Gateway | None = None
        self._cleanup = ExitStack()

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError("the local stack is not running")
        return self._gateway

    @property
    def base_url(self) -> str:
        return self.gateway.base_url

    def dynamodb_client(self) -> DynamoDBClient:
        return clients.dynamodb_client(self.dynamodb_endpoint)

    def sqs_client(self) -> SQSClient:
        return clients.sqs_client(self.sqs_endpoint)

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Run `callback` at stop, before everything started so far (ready hooks stop their threads here)."""
        self._cleanup.callback(callback)

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._gateway = None
        self._cleanup.close()
        self.dynamodb_local = None

    def _start(self) -> None:
        self.template = load_template(DEFAULT_TEMPLATE)
        moto = self._cleanup.enter_context(MotoServer())
        self.sqs_endpoint = moto.endpoint_url
        self.dynamodb_endpoint = self._start_dynamodb(fallback=moto.endpoint_url)
        self._cleanup.enter_context(patched_environ(self._sdk_environment()))

        intrinsics = Intrinsics(self.template)
        self.stage = self.stage or _template_stage(self.template, intrinsics)
        self.resources = create_resources(
            self.template, intrinsics, dynamodb=self.dynamodb_client(), sqs=self.sqs_client(), prefix=self.prefix
        )
        self.function_environment = {**function_environment(self.template, intrinsics), **LOCAL_FUNCTION_ENVIRONMENT}
        self._gateway = self._cleanup.enter_context(
            Gateway(
                routes_from_template(self.template, intrinsics),
                port=self.port,
                stage=self.stage,
                environment=self.function_environment,
                # No usage plan locally: x-api-key is looked up in the table, like the functions do.
                api_keys=TableApiKeys(self.function_environment["TABLE_NAME"]),
            )
        )
        for hook in self.ready_hooks:
            hook(self)
        if self.state_file is not None:
            self.write_state(self.state_file)
            # A stack.json left behind would point at ports nobody listens on any more.
            self._cleanup.callback(self.state_file.unlink, missing_ok=True)

    def _start_dynamodb(self, *, fallback: str) -> str:
        self.dynamodb_engine = self.requested_dynamodb_engine
        if self.dynamodb_engine == "moto":
            return fallback
        db_path = self.state_dir / "dynamodb" if self.persistent else None
        try:
            dynamodb_local = DynamoDBLocal(db_path=db_path, cache_dir=self.cache_dir)
            self._cleanup.enter_context(dynamodb_local)
        except DynamoDBLocalUnavailable as error:
            if self.dynamodb_engine == "dynamodb-local":
                raise
            warnings.warn(
                f"DynamoDB Local is unavailable ({error}); using moto's in-memory DynamoDB instead, "
                "which differs in details and keeps nothing across restarts",
                RuntimeWarning,
                stacklevel=3,
            )
            self.dynamodb_engine = "moto"
            return fallback
        self.dynamodb_engine = "dynamodb-local"
        self.dynamodb_local = dynamodb_local
        return dynamodb_local.endpoint_url

    def _sdk_environment(self) -> dict[str, str | None]:
        # Every AWS client in this process (the handlers' botocore ones included) talks to the local
        # endpoints with dummy credentials; a developer's profile or session token must not leak into them.
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_ENDPOINT_URL_SQS": self.sqs_endpoint,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_SESSION_TOKEN": None,
            "AWS_SECURITY_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_DEFAULT_PROFILE": None,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def describe(self) -> dict[str, Any]:
        def entry(resource: LocalResource) -> dict[str, str]:
            return {"name": resource.name, "arn": resource.arn} | ({"url": resource.url} if resource.url else {})

        return {
            "base_url": self.base_url,
            "stage": self.stage,
            "routes": [f"{route.method} {route.path}" for route in self.gateway.routes],
            "dynamodb": {"engine": self.dynamodb_engine, "endpoint_url": self.dynamodb_endpoint},
            "sqs": {"endpoint_url": self.sqs_endpoint},
            "tables": {i: entry(r) for i, r in self.resources.items() if r.type != QUEUE_TYPE},
            "queues": {i: entry(r) for i, r in self.resources.items() if r.type == QUEUE_TYPE},
            "environment": self.function_environment,
            **self.extra,
        }

    def write_state(self, path: Path) -> None:
        """Write stack.json atomically (scripts poll for it) and owner-only (it may hold credentials)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(self.describe(), indent=2) + "\n")
        temporary.replace(path)


def _template_stage(template: Template, intrinsics: Intrinsics) -> str:
    """The first API's StageName, as deployed with the parameters' defaults; "local" without one."""
    for api in resources_of_type(template, "AWS::Serverless::Api").values():
        try:
            stage = intrinsics.resolve((api.get("Properties") or {}).get("StageName"))
        except Unresolved:
            continue
        if isinstance(stage, str) and stage:
            return stage
    return "local"


def _lock_state_dir(state_dir: Path, advice: str = "stop it, or start this one with --state-dir OTHER_DIR") -> TextIO:
    """One stack per state directory: a second would share its DynamoDB data and re-seed the demo
    partners for its own port, breaking the first. The lock lasts as long as the returned file is open."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = (state_dir / "stack.lock").open("w")
    except OSError as error:
        raise SystemExit(f"Cannot use {state_dir} as the state directory: {error.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SystemExit(
            f"A local stack already runs with the state directory {state_dir} (see {state_dir / 'stack.json'}): "
            f"{advice}"
        ) from None
    return handle


def reset(state_dir: Path) -> None:
    """`make dev-reset`: forget the DynamoDB data. Refused while a stack runs on it: DynamoDB Local keeps
    serving deleted files, so nothing would be forgotten, and what it writes next would be lost."""
    with _lock_state_dir(state_dir, advice="stop it first (Ctrl-C), then reset"):
        shutil.rmtree(state_dir / "dynamodb", ignore_errors=True)


def _check_port(port: int) -> None:
    """Refuse a busy port before starting DynamoDB Local and the rest (one line, not a traceback)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"Port {port} is in use: start on another one, e.g. PORT={port + 1} make dev") from None


def _port(value: str) -> int:
    """A TCP port for argparse (0: any free one)."""
    if value.strip().isdigit() and 0 <= int(value) <= 65535:
        return int(value)
    raise argparse.ArgumentTypeError(f"{value!r} is not a port (0-65535)")


def _plain_warning(message: Warning | str, *_: object, **__: object) -> None:
    logger.warning("%s", message)


def parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    """The options of `python -m infra.local.stack` (README.md names them; a test holds it to them)."""
    options = argparse.ArgumentParser(
        prog="python -m infra.local.stack",
        description="Serve the gateway locally from template.yaml (DynamoDB Local, SQS, API Gateway) until Ctrl-C.",
    )
    # A string default goes through `type` too, so a bad $PORT is the same one-line usage error.
    options.add_argument(
        "--port", type=_port, default=environ.get("PORT", str(DEFAULT_PORT)), help="default: $PORT or 3000"
    )
    options.add_argument("--in-memory", action="store_true", help="keep no DynamoDB data across restarts")
    options.add_argument("--dynamodb", choices=["auto", "dynamodb-local", "moto"], default="auto")
    options.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where stack.json, the demo credentials and DynamoDB data go (default: .local)",
    )
    options.add_argument("--no-dev-tools", action="store_true", help="no demo data, buyer simulator or demo shop")
    options.add_argument(
        "--reset", action="store_true", help="forget the DynamoDB data of the state directory and exit (make dev-reset)"
    )
    return options


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> None:
    arguments = parser(environ).parse_args(argv)
    if arguments.reset:
        reset(arguments.state_dir)
        print(f"Forgot the local DynamoDB data ({arguments.state_dir / 'dynamodb'})")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: every SDK call
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found endpoint ... via environment" per client
    warnings.showwarning = _plain_warning  # e.g. "DynamoDB Local is unavailable": one line, not a source excerpt
    lock = _lock_state_dir(arguments.state_dir)
    _check_port(arguments.port)

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Imported here: the dev tools import the gateway's library, which nothing else in this module needs.
    from infra.local.dev import install as install_dev_tools

    with LocalStack(
        port=arguments.port,
        persistent=not arguments.in_memory,
        dynamodb=arguments.dynamodb,
        state_dir=arguments.state_dir,
        state_file=arguments.state_dir / "stack.json",
        ready_hooks=[] if arguments.no_dev_tools else [install_dev_tools],
    ) as stack:
        # SIGHUP: the terminal was closed. Python would die at once, leaving stack.json behind and, where
        # Linux's parent-death signal does not exist (macOS), DynamoDB Local's JVM holding its port.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, request_stop)
        description = stack.describe()
        print(f"\nPunchOut gateway on {stack.base_url}  (also under /{stack.stage}/)")
        for route in description["routes"]:
            print(f"  {route}")
        print(f"DynamoDB ({stack.dynamodb_engine}): {stack.dynamodb_endpoint}")
        for logical_id, table in description["tables"].items():
            print(f"  {logical_id}: {table['name']}")
        print(f"SQS: {stack.sqs_endpoint}")
        for logical_id, queue in description["queues"].items():
            print(f"  {logical_id}: {queue['url']}")
        if stack.state_file:
            where = "" if arguments.no_dev_tools else " (the demo partners' secrets and the shop's API key are there)"
            print(f"State: {stack.state_file}{where}")
        if urls := stack.extra.get("urls"):
            print("\nOpen:")
            print(f"  buyer simulator  {urls['buyer_simulator']}")
            print(f"  demo shop        {urls['demo_shop']}")
            print(f"  shop's orders    {urls['shop_orders']}")
        print("Ctrl-C stops.", flush=True)
        stopping.wait()
        print("\nStopping...", flush=True)
    lock.close()


if __name__ == "__main__":
    main()
