"""Cold start: a fresh python3.12 imports each function from the build output and answers one request.

Run from the repository root after `make build-host`: ``python -m tests.benchmarks.bench_cold_start``
(``make bench`` builds it first).

For each function, a new process (as a new Lambda execution environment) imports the handler from
.aws-sam/build-host/<Function> (the build with this machine's wheels; see tests/support/built_lambda.py)
and answers its typical first request against moto's server on loopback; beside it, the floor: a new
process that only imports boto3 and creates a DynamoDB client, which any boto3 function pays: boto3 as
published, with botocore's data for every service (the boto3 the Lambda runtime carries). Two more
references: the same with the package's own boto3, whose botocore keeps only the services the functions
call (infra/build/Makefile), and "libraries": the DynamoDB client made as the functions make it (botocore's,
without importing boto3), what every function loads whatever its route (Powertools, pydantic, lxml) and
one one-field pydantic model validated: the least any handler built on this product's fixed stack that
validates its input can cost.
Lambda's environment is reproduced (LAMBDA_TASK_ROOT, a trace header: Powertools and the X-Ray SDK
behave as deployed). The partner's secret is a generated one, stored as `punchout partners add` stores
it; a second partner with a secret a person chose (PBKDF2, the production work factor) shows the cost
of one key derivation.

Each figure is the median of RUNS runs, the cases taking turns within each run. CPU time (the child's
process time) is the headline: on a busy machine wall time mostly measures the wait for a core. The
target is at most TARGET_RATIO times the floor; a miss is reported, never raised.

CPU time moves by 10-15 % between runs on a shared machine, more than most single changes weigh. With
``--instructions`` (and valgrind installed) each case also runs once under callgrind, which counts the
instructions the whole child process executed: the same count to within 0.1 % run after run, so a
change's effect can be measured by itself. Instructions are not time (reading files and mapping
libraries cost time and few instructions), so the headline stays CPU time.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from punchout.partners import CredentialRef, generate_secret, hash_generated_secret, hash_secret
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.built_lambda import (
    BuildMissing,
    ChildRun,
    MotoProcess,
    Provisioned,
    host_build_dir,
    lambda_environment,
    provision,
    run_fresh,
)
from tests.support.events import api_event

RUNS = 11
TARGET_RATIO = 1.3


CHOSEN_IDENTITY = "AN01000000002"


@dataclass(frozen=True)
class Case:
    name: str
    function: str  # logical id; "" for a reference process
    event: Callable[[], dict[str, Any] | None]
    reference: str = "floor"  # which reference process, when function is ""


def _cxml(path: str, body: bytes) -> dict[str, Any]:
    return api_event("POST", path, body=body, headers={"Content-Type": "text/xml"}, binary=True)


def _order_lines(count: int) -> list[Any]:
    return [builders.item_out(f"P{i:04d}", "2", price="10.00", line=i) for i in range(1, count + 1)]


def _register(aws: Provisioned, moto: MotoProcess, secret: str) -> str:
    """The default partner with a generated ``secret``, and one whose secret a person chose (PBKDF2 at
    the production work factor); returns a new shop API key."""
    partners = PartnerRepository(Table(aws.table_name, client=moto.client("dynamodb")))
    partner = builders.partner()
    production = partner.credentials["production"]
    partners.create(
        partner.model_copy(
            update={
                "credentials": {
                    "production": production.model_copy(update={"secret_hashes": [hash_generated_secret(secret)]})
                }
            }
        )
    )
    chosen = production.model_copy(
        update={
            "from_credentials": [CredentialRef(domain=builders.BUYER_DOMAIN, identity=CHOSEN_IDENTITY)],
            "secret_hashes": [hash_secret(builders.SECRET)],
        }
    )
    partners.create(builders.partner("chosen", credentials={"production": chosen}))
    _, api_key = ApiKeyRepository(Table(aws.table_name, client=moto.client("dynamodb"))).create("bench")
    return api_key


def _open_session(build: Path, aws: Provisioned, secret: str) -> str:
    """A session for the cart function's request, opened through the built setup function."""
    environment = lambda_environment("SetupRequestFunction", build, aws)
    request = _cxml("/cxml/setup", builders.setup_request(secret=secret))
    setup = run_fresh(build, "SetupRequestFunction", request, environment)
    assert setup.response is not None and setup.response["statusCode"] == 200, setup.response
    document = etree.fromstring(setup.response["body"].encode("utf-8"))
    start_url = document.findtext("Response/PunchOutSetupResponse/StartPage/URL") or ""
    token = start_url.rsplit("/", 1)[1]
    start = run_fresh(build, "SetupRequestFunction", api_event("GET", f"/punchout/start/{token}"), environment)
    assert start.response is not None and start.response["statusCode"] == 303, start.response
    headers = {
        **start.response.get("headers", {}),
        **{k: v[0] for k, v in start.response.get("multiValueHeaders", {}).items()},
    }
    location = headers["Location"]
    return parse_qs(urlsplit(location).query)["punchout_session"][0]


def cases(session_id: str, api_key: str, secret: str) -> list[Case]:
    shop = {"x-api-key": api_key}
    return [
        Case("floor: import boto3, create a DynamoDB client", "", lambda: None),
        Case("  the same with the package's trimmed boto3", "", lambda: None, reference="package-floor"),
        Case("libraries: botocore, Powertools, pydantic, lxml", "", lambda: None, reference="libraries"),
        Case(
            "setup: PunchOutSetupRequest",
            "SetupRequestFunction",
            lambda: _cxml("/cxml/setup", builders.setup_request(secret=secret)),
        ),
        Case(
            "setup: the same, secret chosen (PBKDF2)",
            "SetupRequestFunction",
            lambda: _cxml("/cxml/setup", builders.setup_request(identity=CHOSEN_IDENTITY)),
        ),
        Case(
            "setup: ProfileRequest",
            "SetupRequestFunction",
            lambda: _cxml("/cxml/profile", builders.profile_request(secret=secret)),
        ),
        Case(
            "cart: GET /shop/sessions/{id}",
            "OrderMessageFunction",
            lambda: api_event("GET", f"/shop/sessions/{session_id}", resource="/shop/sessions/{id}", headers=shop),
        ),
        Case("cart: GET /shop/openapi.json", "OrderMessageFunction", lambda: api_event("GET", "/shop/openapi.json")),
        Case(
            "order: OrderRequest, 10 lines",
            "OrderRequestFunction",
            lambda: _cxml(
                "/cxml/order", builders.order_request(f"PO-{uuid.uuid4().hex[:10]}", _order_lines(10), secret=secret)
            ),
        ),
    ]


def _function(case: Case) -> str:
    return case.function or "SetupRequestFunction"  # reference processes run in one function's folder


def measure(build: Path, aws: Provisioned, all_cases: list[Case]) -> dict[str, list[ChildRun]]:
    runs: dict[str, list[ChildRun]] = {case.name: [] for case in all_cases}
    environments = {case.name: lambda_environment(_function(case), build, aws) for case in all_cases}
    for _ in range(RUNS):
        for case in all_cases:
            event = case.event()
            run = run_fresh(build, _function(case), event, environments[case.name], case.reference)
            if event is not None:
                status = (run.response or {}).get("statusCode")
                if status not in (200, 303):
                    raise RuntimeError(f"{case.name}: HTTP {status}: {(run.response or {}).get('body', '')[:500]}")
            runs[case.name].append(run)
    return runs


CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
_COLLECTED = re.compile(r"Collected : (\d+)")


def count_instructions(build: Path, aws: Provisioned, all_cases: list[Case]) -> dict[str, int]:
    """Instructions each case's child executes, counted by callgrind (one run each: the count is stable)."""
    counts = {}
    for case in all_cases:
        environment = lambda_environment(_function(case), build, aws)
        run = run_fresh(build, _function(case), case.event(), environment, case.reference, CALLGRIND)
        collected = _COLLECTED.search(run.stderr)
        if collected is None:
            raise RuntimeError(f"{case.name}: callgrind reported no count:\n{run.stderr[-2000:]}")
        counts[case.name] = int(collected.group(1))
    return counts


def print_instructions(all_cases: list[Case], counts: dict[str, int]) -> None:
    floor = counts[all_cases[0].name]
    print(f"Instructions executed by each child (callgrind; one run each, stable to 0.1 %); target <= {TARGET_RATIO}x")
    for case in all_cases:
        print(f"{case.name:46} {counts[case.name] / 1e6:8.0f}M {counts[case.name] / floor:5.2f}x")


def main() -> None:
    try:
        build = host_build_dir()
    except BuildMissing as missing:
        print(f"bench_cold_start: {missing}")
        return
    with_instructions = "--instructions" in sys.argv[1:]
    if with_instructions and shutil.which("valgrind") is None:
        print("bench_cold_start: --instructions needs valgrind (apt-get install valgrind)")
        return
    saved = dict(os.environ)
    try:
        with MotoProcess() as moto:
            aws = provision(moto)
            secret = generate_secret()
            api_key = _register(aws, moto, secret)
            session_id = _open_session(build, aws, secret)
            all_cases = cases(session_id, api_key, secret)
            runs = measure(build, aws, all_cases)
            counts = count_instructions(build, aws, all_cases) if with_instructions else {}
    finally:
        os.environ.clear()
        os.environ.update(saved)

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(run, field) for run in runs[name]) * 1000

    floor_name = all_cases[0].name
    floor_cpu, floor_wall = median(floor_name, "total_cpu_s"), median(floor_name, "total_s")
    print(f"Cold start from {build.relative_to(Path.cwd()) if build.is_relative_to(Path.cwd()) else build}")
    print(f"median of {RUNS} fresh python3.12 processes; CPU = the child's process time; target <= {TARGET_RATIO}x")
    print(f"{'':46} {'import':>8} {'+answer':>8} {'CPU ms':>8} {'ratio':>6} {'wall ms':>8} {'ratio':>6}  modules")
    misses = []
    for case in all_cases:
        cpu, wall = median(case.name, "total_cpu_s"), median(case.name, "total_s")
        import_cpu = median(case.name, "import_cpu_s")
        modules = statistics.median(run.modules for run in runs[case.name])
        ratio = cpu / floor_cpu
        if case.function and ratio > TARGET_RATIO:
            misses.append(case.name)
        print(
            f"{case.name:46} {import_cpu:8.0f} {cpu - import_cpu:8.0f} {cpu:8.0f} {ratio:5.2f}x "
            f"{wall:8.0f} {wall / floor_wall:5.2f}x  {modules:.0f}"
        )
    if misses:
        print(f"MISSED the {TARGET_RATIO}x target: {', '.join(misses)}")
    if counts:
        print_instructions(all_cases, counts)
    print(
        "command: make bench  (or: make build-host && .venv/bin/python -m tests.benchmarks.bench_cold_start"
        " [--instructions])"
    )


if __name__ == "__main__":
    main()
