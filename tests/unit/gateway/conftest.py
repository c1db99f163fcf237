"""Fixtures for driving the three handlers against moto's in-memory DynamoDB.

The table is created from template.yaml itself, so the tested schema cannot drift from the
deployed one.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode
from moto import mock_aws

from punchout.partners import TradingPartner
from punchout.settings import clear_settings_cache
from punchout.store.dynamo import Table, dynamodb_client
from tests.support.calls import checking_calls
from tests.support.logs import captured_log_lines
from tests.unit.gateway.helpers import Shop, open_session, register, shop_key

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
TABLE_NAME = "punchout-test"


@cache
def table_definition() -> dict[str, Any]:
    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert template is not None
    properties = template["Resources"]["PunchOutTable"]["Properties"]
    return {
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties["BillingMode"],
    }


def clear_caches(*, client: bool = False) -> None:
    import order_message.handler
    import setup_request.handler

    clear_settings_cache()
    if client:
        dynamodb_client.cache_clear()
    setup_request.handler.service.cache_clear()
    order_message.handler.service.cache_clear()
    order_message.handler.api_keys.cache_clear()


ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": TABLE_NAME,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "PunchOutGatewayTest",
    "POWERTOOLS_SERVICE_NAME": "punchout-gateway-test",
}


@pytest.fixture(scope="package")
def _moto() -> Iterator[None]:
    """moto's in-memory AWS for this package's tests only (started once: starting it costs ~0.3 s)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        clear_caches(client=True)
        try:
            with mock_aws():
                yield
        finally:
            clear_caches(client=True)  # no client bound to moto survives this package


@pytest.fixture
def aws(_moto: None) -> Iterator[None]:
    """A fresh, empty table for each test, created from template.yaml and deleted afterwards."""
    clear_caches()
    client = boto3.client("dynamodb")
    client.create_table(TableName=TABLE_NAME, **table_definition())
    try:
        yield
    finally:
        client.delete_table(TableName=TABLE_NAME)
        clear_caches()


@pytest.fixture
def table(aws: None) -> Table:
    return Table(TABLE_NAME)


@pytest.fixture
def partner(table: Table) -> TradingPartner:
    """The default trading partner of tests/support/builders.py, registered."""
    return register(table)


@pytest.fixture
def shop_headers(table: Table) -> dict[str, str]:
    """Headers of a shop with a valid API key."""
    return shop_key(table)


@pytest.fixture
def shop(partner: TradingPartner, shop_headers: dict[str, str]) -> Shop:
    """A create session of the default partner, opened through its start link, and the shop's client."""
    session_id, _ = open_session()
    return Shop(shop_headers, session_id)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every line the gateway's Powertools logger writes, formatted as in production (stdout)."""
    with captured_log_lines() as stream:
        yield stream


@pytest.fixture
def dynamodb_keys(aws: None) -> Iterator[list[str]]:
    """The partition keys of every DynamoDB request the handlers make (``invoke`` refuses those over
    DynamoDB's limit as DynamoDB would: tests/support/dynamodb.py)."""
    requested: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requested.extend(item["pk"]["S"] for item in (params.get("Key"), params.get("Item")) if item is not None)

    with checking_calls(dynamodb_client(), record):
        yield requested
