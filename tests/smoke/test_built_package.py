"""The package `sam build` makes, as Lambda will run it.

- The aarch64 build (.aws-sam/build, what `sam deploy` uploads) ships bytecode for CPython 3.12 that
  Lambda uses without checking source timestamps, aarch64 wheels, and no tests or host caches.
- Its host twin (.aws-sam/build-host, same recipe, this machine's wheels: aarch64 lxml cannot load on
  x86_64) holds the same files, and each function, imported in a fresh python3.12 that sees only the
  package and the standard library, answers: a ProfileRequest (setup and order functions, for an
  authenticated partner in moto's DynamoDB) and GET /shop/openapi.json (the cart function); and a
  cXML server error is published as exactly the metric (namespace, name, dimensions) its alarm watches.

These tests skip when no build exists; `make test` builds first and sets PUNCHOUT_REQUIRE_BUILD=1,
which turns the skip into a failure.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from infra.local.template import Intrinsics, resources_of_type
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.built_lambda import (
    BUILD_DIR,
    BuildMissing,
    MotoProcess,
    Provisioned,
    botocore_services,
    function_handlers,
    host_build_dir,
    lambda_environment,
    provision,
    published_boto3_path,
    run_fresh,
    template,
)
from tests.support.events import api_event

pytestmark = pytest.mark.smoke

OUR_PACKAGES = ("punchout", "setup_request", "order_message", "order_request")
ELF_MACHINE_AARCH64 = 183
PYC_FLAG_HASH_BASED = 0b01
PYC_FLAG_CHECK_SOURCE = 0b10


def _missing(reason: str) -> None:
    if os.environ.get("PUNCHOUT_REQUIRE_BUILD"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lambda_build() -> Path:
    if not (BUILD_DIR / "template.yaml").exists():
        _missing(f"no sam build at {BUILD_DIR}: run `make build`")
    return BUILD_DIR


@pytest.fixture(scope="module")
def host_build() -> Path:
    try:
        return host_build_dir()
    except BuildMissing as missing:
        _missing(str(missing))
        raise


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoProcess]:
    with MotoProcess() as server:
        yield server


@pytest.fixture(scope="module")
def aws(moto: MotoProcess) -> Provisioned:
    """moto's server with the template's table and queue, and the default partner registered."""
    provisioned = provision(moto)
    PartnerRepository(Table(provisioned.table_name, client=moto.client("dynamodb"))).create(builders.partner())
    return provisioned


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


# --- the package sam deploy uploads ---------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(function_handlers()))
def test_every_module_ships_bytecode_that_lambda_uses_unchecked(lambda_build: Path, function: str):
    # Given a function's built package
    root = lambda_build / function
    sources = sorted(root.rglob("*.py"))
    assert sources

    # Then every module has a CPython 3.12 .pyc beside it (Lambda cannot write one), hash-based and
    # unchecked (zip files keep no exact timestamps to check against)
    magic = importlib.util.MAGIC_NUMBER
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        header = compiled.read_bytes()[:8]
        assert header[:4] == magic, f"{compiled} is not CPython 3.12 bytecode"
        (flags,) = struct.unpack("<I", header[4:8])
        assert flags & PYC_FLAG_HASH_BASED and not flags & PYC_FLAG_CHECK_SOURCE, compiled


@pytest.mark.parametrize("function", sorted(function_handlers()))
def test_the_package_holds_the_code_and_aarch64_wheels_but_no_tests_or_metadata(lambda_build: Path, function: str):
    # Given a function's built package
    root = lambda_build / function

    # Then it holds every package of the code root, the handler among them
    for package in OUR_PACKAGES:
        assert (root / package / "__init__.py").is_file(), package
    handler_module = function_handlers()[function].rpartition(".")[0]
    assert (root / (handler_module.replace(".", "/") + ".py")).is_file()
    # ... and data files the code reads
    assert (root / "order_message" / "openapi.json").is_file()
    # ... but no tests, egg-info or console scripts
    assert not [p for p in root.rglob("tests") if p.is_dir() and p.parent.name in OUR_PACKAGES]
    assert not list(root.glob("*.egg-info"))
    assert not (root / "bin").exists()
    # ... and botocore's data for the services the code calls only, with the files all clients read
    data = root / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(botocore_services())
    assert {"endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json"} <= {
        p.name for p in data.iterdir() if p.is_file()
    }
    # ... slimmed (infra/build/slim_botocore.py): endpoints of those services only, in every partition
    # botocore publishes, and models without documentation
    endpoints = json.loads((data / "endpoints.json").read_text(encoding="utf-8"))
    published = json.loads((published_boto3_path() / "botocore" / "data" / "endpoints.json").read_text("utf-8"))
    assert [p["partition"] for p in endpoints["partitions"]] == [p["partition"] for p in published["partitions"]]
    assert {name for p in endpoints["partitions"] for name in p["services"]} <= set(botocore_services())
    models = sorted(data.glob("*/*/service-2.json*"))
    assert {model.parts[-3] for model in models} == set(botocore_services())
    for model in models:
        text = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
        assert b'"documentation"' not in text and b'"operations"' in text, model
    # ... and its native code is for Lambda's arm64
    natives = sorted(root.rglob("*.so"))
    assert natives
    for native in natives:
        header = native.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", native
        (machine,) = struct.unpack("<H", header[18:20])
        assert machine == ELF_MACHINE_AARCH64, f"{native} is not aarch64"


def test_the_host_build_is_the_same_package_with_other_wheels(lambda_build: Path, host_build: Path):
    if host_build == lambda_build:
        pytest.skip("this machine runs the aarch64 build itself")
    # Given the aarch64 package and its host twin
    for function in function_handlers():
        lambda_files, host_files = _files(lambda_build / function), _files(host_build / function)

        # Then they hold the same Python modules (the native libraries differ by name and platform)
        def python(files: set[str]) -> set[str]:
            return {f for f in files if f.endswith(".py") and "/__pycache__/" not in f}

        assert python(lambda_files) == python(host_files), function


# --- the functions, imported from the build output ------------------------------------------------


def _cxml_event(path: str) -> dict[str, object]:
    # As BuyerApi delivers it: text/xml is a binary media type, so the body arrives base64-encoded.
    return api_event("POST", path, body=builders.profile_request(), headers={"Content-Type": "text/xml"}, binary=True)


@pytest.mark.parametrize(
    ("function", "path"), [("SetupRequestFunction", "/cxml/profile"), ("OrderRequestFunction", "/cxml/order")]
)
def test_a_cxml_function_answers_a_profile_request_from_the_build_output(
    host_build: Path, aws: Provisioned, function: str, path: str
):
    # Given a fresh python3.12 that sees only the function's package, in Lambda's environment
    environment = lambda_environment(function, host_build, aws)

    # When it imports the handler and answers an authenticated ProfileRequest
    run = run_fresh(host_build, function, _cxml_event(path), environment)

    # Then the answer is a cXML ProfileResponse with status 200 ...
    assert run.response is not None
    assert run.response["statusCode"] == 200, run.response
    document = etree.fromstring(run.response["body"].encode("utf-8"))
    status = document.find("Response/Status")
    assert status is not None and status.get("code") == "200"
    urls = [t.findtext("URL") or "" for t in document.iterfind("Response/ProfileResponse/Transaction")]
    assert any(url.endswith("/cxml/setup") for url in urls), urls
    # ... and nothing was imported from outside the package and the standard library
    assert run.foreign_modules == []


def test_the_cart_function_serves_its_openapi_document_from_the_build_output(host_build: Path, aws: Provisioned):
    # Given a fresh python3.12 that sees only the cart function's package
    environment = lambda_environment("OrderMessageFunction", host_build, aws)

    # When it answers GET /shop/openapi.json
    run = run_fresh(host_build, "OrderMessageFunction", api_event("GET", "/shop/openapi.json"), environment)

    # Then the answer is the OpenAPI document, and only the package and the standard library were imported
    assert run.response is not None
    assert run.response["statusCode"] == 200, run.response
    assert json.loads(run.response["body"])["openapi"].startswith("3.")
    assert run.foreign_modules == []
    # ... and a route that counts nothing leaves no warning on stderr (CloudWatch would log it)
    assert "Warning" not in run.stderr, run.stderr


def test_the_order_function_accepts_an_order_and_queues_it_from_the_build_output(
    host_build: Path, aws: Provisioned, moto: MotoProcess
):
    # Given a fresh python3.12 that sees only the order function's package (its slimmed botocore data)
    environment = lambda_environment("OrderRequestFunction", host_build, aws)
    order_id = f"PO-SMOKE-{uuid.uuid4().hex[:8]}"
    lines = [builders.item_out("P0001", "2", price="10.00", line=1)]
    event = api_event(
        "POST",
        "/cxml/order",
        body=builders.order_request(order_id, lines),
        headers={"Content-Type": "text/xml"},
        binary=True,
    )

    # When it answers an OrderRequest (DynamoDB writes, then the message to the FIFO queue)
    run = run_fresh(host_build, "OrderRequestFunction", event, environment)

    # Then the buyer gets cXML 200, and the shop's queue holds the order
    assert run.response is not None
    assert run.response["statusCode"] == 200, run.response
    status = etree.fromstring(run.response["body"].encode("utf-8")).find("Response/Status")
    assert status is not None and status.get("code") == "200"
    received = moto.client("sqs").receive_message(QueueUrl=aws.order_queue_url, MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["order_id"] for m in received.get("Messages", [])] == [order_id]
    assert run.foreign_modules == []


def test_a_cxml_server_error_is_published_as_exactly_the_metric_its_alarm_watches(host_build: Path, aws: Provisioned):
    # Given the template's alarms on the metrics the functions publish (the AWS/ namespaces are AWS's to
    # write, and a metric filter's CloudWatch Logs writes), their dimensions resolved as the deployed stack
    # resolves them (the stack's name for `service`)
    intrinsics = Intrinsics(template())
    from_logs = {
        metric["MetricName"]
        for log_filter in resources_of_type(template(), "AWS::Logs::MetricFilter").values()
        for metric in log_filter["Properties"]["MetricTransformations"]
    }
    alarms = [
        intrinsics.resolve_known(resource["Properties"])
        for resource in resources_of_type(template(), "AWS::CloudWatch::Alarm").values()
        if not str(resource["Properties"]["Namespace"]).startswith("AWS/")
        and resource["Properties"]["MetricName"] not in from_logs
    ]
    assert [alarm["MetricName"] for alarm in alarms] == ["CxmlServerErrors"]
    # And a fresh setup function, in Lambda's environment, whose table does not exist (DynamoDB fails)
    environment = {**lambda_environment("SetupRequestFunction", host_build, aws), "TABLE_NAME": "punchout-no-such"}

    # When it answers a ProfileRequest: authenticating the buyer needs the table
    run = run_fresh(host_build, "SetupRequestFunction", _cxml_event("/cxml/profile"), environment)

    # Then the buyer gets a cXML 5xx (retried) ...
    assert run.response is not None
    assert run.response["statusCode"] >= 500, run.response
    # ... and the function printed (CloudWatch's embedded metric format) the alarm's metric in its
    # namespace with exactly its dimensions and their values: one dimension more or less, or another
    # value, is another metric, which the alarm would never see
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{"_aws"')]
    published = {
        (directive["Namespace"], metric["Name"], tuple(sorted((name, record[name]) for name in dimensions)))
        for record in records
        for directive in record["_aws"]["CloudWatchMetrics"]
        for dimensions in directive["Dimensions"]
        for metric in directive["Metrics"]
    }
    for alarm in alarms:
        watched = tuple(sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]))
        assert (alarm["Namespace"], alarm["MetricName"], watched) in published, published
