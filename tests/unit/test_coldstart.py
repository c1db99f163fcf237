"""``punchout.coldstart.loading``: the collector is paused while modules load, then what loaded is frozen."""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from punchout.coldstart import loading


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_collector_is_paused_inside_and_resumes_after() -> None:
    # Given a running collector
    gc.enable()
    # When modules load inside loading()
    with loading():
        paused = not gc.isenabled()
    # Then it was paused meanwhile and runs again afterwards
    assert paused
    assert gc.isenabled()


def test_what_loaded_is_frozen_before_the_collector_resumes() -> None:
    # Given a running collector and nothing frozen
    gc.enable()
    gc.unfreeze()
    # When objects are created inside loading()
    with loading():
        loaded = [{"n": n} for n in range(1000)]
    # Then they are in the permanent generation, out of the collector's sight
    assert gc.get_freeze_count() >= len(loaded)
    assert gc.get_count()[0] < len(loaded)


def test_a_paused_collector_stays_paused() -> None:
    # Given a collector someone else paused
    gc.disable()
    # When modules load inside loading()
    with loading():
        pass
    # Then it is not resumed behind their back
    assert not gc.isenabled()


def test_collector_resumes_when_an_import_fails() -> None:
    # Given a running collector
    gc.enable()
    # When an import inside loading() fails
    with pytest.raises(ImportError), loading():
        importlib.import_module("punchout.no_such_module")
    # Then the collector runs again
    assert gc.isenabled()


# boto3's own packages (its resource layer, S3 transfers and what they import): ~70 ms of a cold start
# that the functions would spend for nothing.
BOTO3_ONLY = ("boto3", "s3transfer")

_PROBE = """
import json, sys
import setup_request.handler, order_message.handler, order_request.handler
from punchout.store.dynamo import dynamodb_client
from punchout.store.queue import sqs_client
clients = [type(dynamodb_client()).__name__, type(sqs_client()).__name__]
print(json.dumps({"clients": clients, "loaded": sorted(sys.modules)}))
"""


def test_the_functions_make_their_clients_without_importing_boto3() -> None:
    # Given a fresh interpreter in a Lambda-like environment (region, credentials, table name)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "punchout",
        "POWERTOOLS_SERVICE_NAME": "punchout-gateway",
    }

    # When it imports the three handlers and makes the DynamoDB and SQS clients
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], env=environment, capture_output=True, text=True, timeout=120, check=False
    )

    # Then it has the two botocore clients, and none of boto3's own modules was loaded
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout)
    assert result["clients"] == ["DynamoDB", "SQS"]
    assert [name for name in result["loaded"] if name.split(".")[0] in BOTO3_ONLY] == []


def test_the_cart_function_loads_no_xml_library_before_it_renders_a_cart() -> None:
    # Given a fresh interpreter in a Lambda-like environment
    environment = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": "punchout"}
    # When it imports the cart function's handler (its shop routes take and answer JSON)
    probe = subprocess.run(
        [sys.executable, "-c", "import json, sys, order_message.handler; print(json.dumps(sorted(sys.modules)))"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then neither lxml nor the cXML reader and writer were loaded: they load with the first cart rendered
    assert probe.returncode == 0, probe.stderr[-3000:]
    loaded = json.loads(probe.stdout)
    heavy = {"punchout.cxml.reader", "punchout.cxml.parser", "punchout.cxml.writer", "punchout.cxml._shapes"}
    assert [name for name in loaded if name.split(".")[0] == "lxml" or name in heavy] == []
