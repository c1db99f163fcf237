"""The return page in a real browser, against buyers' systems that answer the cart's POST with a redirect.

A procurement system that receives the cart may send the browser on to another of its hosts (the
requisition on another subdomain, a load balancer's canonical host). Chromium checks the page's
`form-action` on every redirect of the form's navigation, not only on the POST itself.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from playwright.sync_api import Page

from tests.e2e.conftest import DevStack
from tests.e2e.sites import Answer, call, html, punchout, site
from tests.support import builders

pytestmark = pytest.mark.e2e

REDIRECTING_IDENTITY = "AN-REDIRECTING-BUYER"


def _return_url(dev_stack: DevStack, browser_form_post: str) -> str:
    """A cart transferred in a session opened by the network-authenticated buyer: its return link."""
    setup = builders.setup_request(browser_form_post=browser_form_post, identity=REDIRECTING_IDENTITY, secret=None)
    answer = call(dev_stack.base_url, "POST", "/cxml/setup", setup, **{"Content-Type": "text/xml"})
    assert answer.status == 200, answer.body
    start_url = etree.fromstring(answer.body).findtext(".//StartPage/URL") or ""
    shop = call(dev_stack.base_url, "GET", str(urlsplit(start_url).path))
    assert shop.status == 303, shop
    session_id = parse_qs(urlsplit(shop.headers["Location"]).query)["punchout_session"][0]
    key = {"x-api-key": dev_stack.state["api_key"], "Content-Type": "application/json"}
    cart = {"lines": [{"supplier_part_id": "P1", "quantity": "1", "unit_price": "9.50", "description": "Widget"}]}
    stored = call(dev_stack.base_url, "PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart).encode(), **key)
    assert stored.status == 200, stored.body
    transfer = call(dev_stack.base_url, "POST", f"/shop/sessions/{session_id}/transfer", b"{}", **key)
    assert transfer.status == 200, transfer.body
    return str(json.loads(transfer.body)["return_url"])


def test_the_buyers_redirect_to_another_of_its_hosts_after_the_cart_is_not_blocked(
    page: Page, dev_stack: DevStack
) -> None:
    def buyer_system(method: str, path: str) -> Answer:
        if method == "POST":  # the cart arrives, and the browser is sent on to the requisition
            return Answer(303, {"Location": f"http://localhost:{buyer.port}/requisition"})
        return html("Requisition")

    with site(buyer_system) as buyer:
        # Given a buyer whose system is on two hosts (both allowed for it), and that answers the cart's POST
        # to one of them with a redirect to the other
        punchout(
            dev_stack,
            *("partners", "add", "redirecting-buyer", "--name", "Buyer on two hosts"),
            *("--from", f"NetworkID:{REDIRECTING_IDENTITY}", "--no-secret", "--source-network", "127.0.0.1/32"),
            *("--post-host", f"127.0.0.1:{buyer.port}", "--post-host", f"localhost:{buyer.port}"),
            *("--allow-http", "--unspsc", "44120000", "--shop-url", dev_stack.state["urls"]["demo_shop"]),
        )
        return_url = _return_url(dev_stack, buyer.url("/punchout/cart?session=42"))
        # When the browser follows the return link
        page.goto(return_url, wait_until="commit")
        # Then the cart is posted, and the browser reaches the requisition
        page.wait_for_url(buyer.url("/requisition", host="localhost"))
        assert page.title() == "Requisition"
        assert buyer.requests[0] == ("POST", "/punchout/cart?session=42")
