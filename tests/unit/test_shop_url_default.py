"""A partner without its own shop URL is sent to the deployment's default (template parameter ShopEntryUrl).

Driven through the setup handler against moto's DynamoDB, with the table created from template.yaml,
as in tests/unit/gateway/conftest.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from punchout.cxml import StatusCode
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import response_header
from tests.unit.gateway.conftest import ENVIRONMENT, TABLE_NAME, clear_caches, table_definition
from tests.unit.gateway.helpers import call, cxml, register, start_token

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

DEFAULT_SHOP = "https://shop.example.com/default-entry"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """moto's DynamoDB with the template's table; the gateway's environment; no DEFAULT_SHOP_URL yet."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "DEFAULT_SHOP_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        clear_caches(client=True)
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_definition())
        try:
            yield Table(TABLE_NAME)
        finally:
            clear_caches(client=True)


def configure(monkeypatch: pytest.MonkeyPatch, **environment: str) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    clear_caches()


def shop_location(session_start: dict[str, object]) -> str:
    assert session_start["statusCode"] == 303, session_start
    location = response_header(session_start, "Location")
    assert location
    return location


def test_a_partner_without_shop_url_starts_at_the_default_shop(table: Table, monkeypatch: pytest.MonkeyPatch):
    # Given a partner registered without a shop URL, and a deployment default
    register(table, shop_url=None)
    configure(monkeypatch, DEFAULT_SHOP_URL=DEFAULT_SHOP)

    # When the buyer punches out and follows the StartPage link
    token = start_token(cxml(call("POST", "/cxml/setup", builders.setup_request())))
    location = shop_location(call("GET", f"/punchout/start/{token}"))

    # Then the browser lands on the default shop, with the session
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == DEFAULT_SHOP
    assert parse_qs(parts.query)["punchout_session"]


def test_the_partner_shop_url_wins_over_the_default(table: Table, monkeypatch: pytest.MonkeyPatch):
    # Given a partner with its own shop URL, and a deployment default
    partner = register(table)
    configure(monkeypatch, DEFAULT_SHOP_URL=DEFAULT_SHOP)

    # When the buyer punches out and follows the StartPage link
    token = start_token(cxml(call("POST", "/cxml/setup", builders.setup_request())))
    location = shop_location(call("GET", f"/punchout/start/{token}"))

    # Then the browser lands on the partner's shop
    assert partner.shop_url
    assert location.startswith(partner.shop_url.split("?")[0] + "?")


def test_without_partner_or_default_shop_url_the_setup_answers_a_retryable_500(
    table: Table, monkeypatch: pytest.MonkeyPatch
):
    # Given a partner without a shop URL and no deployment default (an empty parameter is no default)
    register(table, shop_url=None)
    configure(monkeypatch, DEFAULT_SHOP_URL="")

    # When the buyer sends a PunchOutSetupRequest
    response = call("POST", "/cxml/setup", builders.setup_request())
    answer = cxml(response)

    # Then it is a cXML 500 (buyers retry it) that says what is missing, and no session was opened
    assert answer.status.code == StatusCode.INTERNAL_SERVER_ERROR
    assert response["statusCode"] == 500
    assert "shop URL" in (answer.status.message or "")
    assert not list(table.scan_prefix("SESSION#", "SESSION"))


def test_a_missing_shop_url_is_logged_as_an_error(
    table: Table, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # Given a partner without a shop URL and no deployment default
    register(table, shop_url=None)
    configure(monkeypatch, DEFAULT_SHOP_URL="")
    caplog.set_level(logging.DEBUG)

    # When the buyer sends a PunchOutSetupRequest
    assert cxml(call("POST", "/cxml/setup", builders.setup_request())).status.code == 500

    # Then the 500 (our fault, alarmed) is logged at ERROR, where the runbook's query looks
    refused = [r for r in caplog.records if getattr(r, "status", None) == 500]
    assert [(r.levelname, r.getMessage()) for r in refused] == [("ERROR", "cXML request refused")]
