"""What a web page can make a browser send to the gateway's cXML routes.

A partner authenticated by its source network alone (`--no-secret --source-network`) trusts every
request from that network, a browser's too: any page an employee opens inside the buyer's network could
post a cXML document (fetch in mode no-cors, or a text/plain form, needs no preflight) and the gateway
would take it as the buyer's. The browser here is inside the partner's network (127.0.0.1), the page on
another origin (http://localhost:<port>, served by the test).
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import DevStack
from tests.e2e.sites import html, punchout, site
from tests.support import builders

pytestmark = pytest.mark.e2e

NETWORK_PARTNER = "network-buyer"
NETWORK_IDENTITY = "AN-NETWORK-BUYER"


@pytest.fixture(scope="module")
def network_partner(dev_stack: DevStack) -> str:
    punchout(
        dev_stack,
        "partners",
        "add",
        NETWORK_PARTNER,
        "--name",
        "Buyer authenticated by its network",
        "--from",
        f"NetworkID:{NETWORK_IDENTITY}",
        "--no-secret",
        "--source-network",
        "127.0.0.1/32",
        "--unspsc",
        "44120000",
    )
    return NETWORK_PARTNER


def test_an_order_a_web_page_posts_from_inside_the_buyers_network_is_refused(
    page: Page, dev_stack: DevStack, network_partner: str
) -> None:
    # Given a partner authenticated by its network alone, and a browser inside that network
    order = builders.order_request(
        "PO-FROM-A-WEB-PAGE", [builders.item_out("P1", "1000")], identity=NETWORK_IDENTITY, secret=None
    ).decode("utf-8")
    target = f"{dev_stack.base_url}/cxml/order"
    # When a page on another origin makes the browser post a well-formed order (no preflight needed)
    script = f"fetch({json.dumps(target)}, {{method: 'POST', mode: 'no-cors', body: {json.dumps(order)}}});"
    with site(lambda method, path: html("page", script)) as pages, page.expect_response(target) as answer:
        page.goto(pages.url("/", host="localhost"))
    # Then the gateway refuses it (the browser's page could not read the answer, but the order would be placed)
    assert answer.value.status == 403
