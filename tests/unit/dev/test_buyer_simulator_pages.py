"""The buyer simulator's pages as a browser uses them, with the gateway's answers stubbed (no stack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from lxml import html as lxml_html

from infra.local.dev import buyer
from infra.local.dev.buyer import COOKIE, BuyerSimulator
from infra.local.dev.web import HttpAnswer, Reply, Request
from punchout.cxml import render, render_status
from punchout.cxml.models import (
    Classification,
    Credential,
    Description,
    Envelope,
    Header,
    ItemDetail,
    ItemID,
    ItemIn,
    MessageDocument,
    Money,
    PunchOutOrderMessage,
    PunchOutOrderMessageHeader,
    Timestamp,
)

LOCAL_GATEWAY = "http://127.0.0.1:3000"


def cart_document(*lines: tuple[str, str, str]) -> str:
    """A PunchOutOrderMessage of (SKU, quantity, unit price) lines, as a shop's browser posts it."""
    items = [
        ItemIn(
            quantity=Decimal(quantity),
            item_id=ItemID(supplier_part_id=sku, supplier_part_auxiliary_id=f"cart:{number}"),
            item_detail=ItemDetail(
                unit_price=Money(amount=Decimal(price), currency="USD"),
                descriptions=[Description(text=f"Product {sku}")],
                unit_of_measure="EA",
                classifications=[Classification(domain="UNSPSC", value="44120000")],
            ),
        )
        for number, (sku, quantity, price) in enumerate(lines, 1)
    ]
    total = sum((item.quantity * item.item_detail.unit_price.amount for item in items), Decimal(0))
    document = MessageDocument(
        envelope=Envelope(payload_id="cart@shop", timestamp=Timestamp.of(datetime(2026, 1, 31, tzinfo=UTC))),
        header=Header(
            from_credentials=[Credential(domain="DUNS", identity="shop")],
            to_credentials=[Credential(domain="NetworkID", identity="buyer")],
            sender_credentials=[Credential(domain="DUNS", identity="shop")],
            user_agent="Demo shop",
        ),
        message=PunchOutOrderMessage(
            buyer_cookie="cookie",
            header=PunchOutOrderMessageHeader(operation_allowed="edit", total=Money(amount=total, currency="USD")),
            items=items,
        ),
    )
    return render(document).decode()


@dataclass
class Gateway:
    """Stands in for the gateway's /cxml/order: answers each OrderRequest with `status` and records its URL."""

    status: tuple[int, str] = (200, "OK")
    urls: list[str] = field(default_factory=list)

    def __call__(self, method: str, url: str, **_: Any) -> HttpAnswer:
        self.urls.append(url)
        return HttpAnswer(self.status[0], "text/xml", render_status(*self.status))


@dataclass
class Browser:
    """One browser on the simulator: keeps its session cookie, posts forms, reads the page."""

    simulator: BuyerSimulator
    cookie: str = ""

    def _request(self, method: str, form: dict[str, str] | None = None) -> Request:
        return Request(
            method=method,
            path="/_dev/buyer",
            query={},
            headers={"host": "127.0.0.1:3000", "content-type": "application/x-www-form-urlencoded"},
            body=urlencode(form or {}).encode(),
            cookies={COOKIE: self.cookie} if self.cookie else {},
        )

    def _keep_cookie(self, reply: Reply) -> Reply:
        for name, value in reply.headers:
            if name == "Set-Cookie" and value.startswith(f"{COOKIE}="):
                self.cookie = value.split(";")[0].split("=", 1)[1]
        return reply

    def post(self, action: str, form: dict[str, str]) -> None:
        pages = {"preset": self.simulator.preset, "return": self.simulator.receive_cart}
        pages["order"] = self.simulator.send_order
        reply = self._keep_cookie(pages[action](self._request("POST", form)))
        assert reply.status == 303

    def page(self) -> Any:
        reply = self._keep_cookie(self.simulator.home(self._request("GET")))
        assert reply.status == 200
        return lxml_html.fromstring(reply.body)

    def receive_cart(self, *lines: tuple[str, str, str]) -> None:
        self.post("return", {"cxml-urlencoded": cart_document(*lines)})

    def send_order(self, **form: str) -> None:
        self.post("order", form)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Gateway:
    stub = Gateway()
    monkeypatch.setattr(buyer, "http_request", stub)
    return stub


@pytest.fixture
def browser(gateway: Gateway) -> Browser:
    browser = Browser(BuyerSimulator(LOCAL_GATEWAY, partners=[]))
    browser.page()
    return browser


def value(page: Any, name: str) -> str:
    (field_,) = page.xpath(f'//input[@name="{name}"]')
    return str(field_.get("value"))


def offered_type(page: Any) -> str:
    (selected,) = page.xpath('//select[@id="order_type"]/option[@selected]/text()')
    return str(selected)


def text(page: Any, element_id: str) -> str:
    (element,) = page.xpath(f'//*[@id="{element_id}"]')
    return str(element.text_content())


# --- counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lines", "wording"), [(1, "1 line"), (2, "2 lines")])
def test_counts_of_cart_lines_agree_with_their_number(browser: Browser, lines: int, wording: str):
    # Given a returned cart of one line, or of two
    browser.receive_cart(*[(f"SKU-{n}", "1", "2.50") for n in range(lines)])

    # Then the cart's summary and the setup form's note count them in the right number
    page = browser.page()
    (summary,) = page.xpath('//p[strong[@id="cart-total"]]')
    assert summary.text_content().startswith(f"{wording}, total ")
    assert setup_note(page).endswith(f"the last returned cart ({wording})")


def test_before_any_cart_the_setup_form_says_there_is_none(browser: Browser):
    assert setup_note(browser.page()).endswith("the last returned cart (none yet)")


def setup_note(page: Any) -> str:
    (note,) = page.xpath('//span[starts-with(normalize-space(), "edit and inspect reopen")]')
    return " ".join(note.text_content().split())


# --- the approval form after an OrderRequest ------------------------------------------------------

CART = (("PEN", "1", "4.95"), ("TIES", "2", "3.50"), ("NOTES", "5", "1.20"))
APPROVED = {"quantity-1": "3", "price-1": "4.95", "quantity-2": "2", "price-2": "2.99", "remove-3": "on"}


def test_after_a_new_order_the_form_keeps_the_approved_values_and_offers_its_update(browser: Browser):
    # Given a returned cart, approved with a quantity and a price changed and a line removed
    browser.receive_cart(*CART)

    # When the new order is sent and accepted
    browser.send_order(order_id="PO-7", order_type="new", **APPROVED)

    # Then the form shows what was approved, not the cart's values, and offers the update (version 2)
    page = browser.page()
    assert text(page, "order-status") == "Order PO-7 (new, version 1): 200 OK"
    assert (value(page, "quantity-1"), value(page, "price-2")) == ("3", "2.99")
    assert page.xpath('//input[@name="remove-3"]/@checked')
    assert not page.xpath('//input[@name="remove-1"]/@checked')
    assert offered_type(page) == "update"
    assert "order PO-7 is sent as version 2" in text(page, "order-reference")
    assert value(page, "order_id") == ""  # a new order's orderID: another one, generated unless typed


def test_an_update_sent_unchanged_from_the_kept_form_repeats_the_approved_lines(browser: Browser, gateway: Gateway):
    # Given an accepted new order with changes
    browser.receive_cart(*CART)
    browser.send_order(order_type="new", **APPROVED)

    # When the form is sent again as it is shown, with one more change, as an update
    page = browser.page()
    form = {name: value(page, name) for name in ("quantity-1", "price-1", "quantity-2", "price-2", "quantity-3")}
    browser.send_order(order_type=offered_type(page), **{**form, "quantity-2": "4", "remove-3": "on"})

    # Then the update carries the earlier changes and the new one
    sent = browser.simulator._sessions[browser.cookie].order
    assert sent is not None and (sent.type, sent.version) == ("update", 2)
    assert [(item.item_id.supplier_part_id, item.quantity) for item in sent.items] == [
        ("PEN", Decimal(3)),
        ("TIES", Decimal(4)),
    ]
    assert offered_type(browser.page()) == "update"


def test_a_refused_order_keeps_what_was_typed_and_offers_the_same_type_again(browser: Browser, gateway: Gateway):
    # Given a returned cart
    browser.receive_cart(*CART)

    # When the gateway refuses the new order
    gateway.status = (400, "Bad Request")
    browser.send_order(order_id="PO-8", order_type="new", **APPROVED)

    # Then the form keeps everything typed, orderID included, for a retry
    page = browser.page()
    assert (value(page, "order_id"), value(page, "price-2"), offered_type(page)) == ("PO-8", "2.99", "new")


def test_an_invalid_quantity_is_shown_again_to_be_corrected(browser: Browser):
    # Given a returned cart
    browser.receive_cart(*CART)

    # When the approver types a quantity that is not a number
    browser.send_order(order_type="new", **{**APPROVED, "quantity-1": "three"})

    # Then the page says so and shows the form as typed
    page = browser.page()
    assert "Line 1: quantity and price must be numbers" in text(page, "flash")
    assert (value(page, "quantity-1"), value(page, "price-2")) == ("three", "2.99")


def test_after_a_delete_a_new_order_is_offered(browser: Browser):
    # Given an accepted new order
    browser.receive_cart(*CART)
    browser.send_order(order_type="new", **APPROVED)

    # When it is deleted
    browser.send_order(order_type="delete", **APPROVED)

    # Then the next order offered is a new one
    assert offered_type(browser.page()) == "new"


def test_a_new_cart_shows_its_own_values(browser: Browser):
    # Given an order sent from a first cart
    browser.receive_cart(*CART)
    browser.send_order(order_type="new", **APPROVED)

    # When another cart comes back
    browser.receive_cart(("STAPLER", "1", "12.00"))

    # Then the form shows that cart's values
    page = browser.page()
    assert (value(page, "quantity-1"), value(page, "price-1")) == ("1", "12.00")
    assert not page.xpath('//input[@name="remove-1"]/@checked')


# --- where the orders can be seen -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateway_url", "orders_page"),
    [
        (LOCAL_GATEWAY, "http://127.0.0.1:3000/_dev/shop/orders"),
        ("http://127.0.0.1:3001", "http://127.0.0.1:3001/_dev/shop/orders"),  # a second local stack
        ("http://localhost:3002/", "http://localhost:3002/_dev/shop/orders"),
        ("http://127.0.0.1:3000/dev", "http://127.0.0.1:3000/_dev/shop/orders"),  # under the stage, as deployed
    ],
)
def test_the_orders_link_goes_to_the_demo_shop_of_the_gateway_the_order_went_to(
    browser: Browser, gateway: Gateway, gateway_url: str, orders_page: str
):
    # Given a simulator aimed at a local stack's gateway
    browser.post("preset", {"gateway_url": gateway_url})
    browser.receive_cart(*CART)

    # When an order is sent
    browser.send_order(order_type="new")

    # Then the order went there, and the link shows that stack's demo shop's orders
    assert gateway.urls == [f"{gateway_url.rstrip('/')}/cxml/order"]
    (link,) = browser.page().xpath('//section[@id="order-result"]//a')
    assert link.get("href") == orders_page


def test_an_order_to_a_deployed_gateway_says_no_demo_shop_lists_it(browser: Browser):
    # Given a simulator aimed at a deployed gateway
    deployed = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"
    browser.post("preset", {"gateway_url": deployed})
    browser.receive_cart(*CART)

    # When an order is sent
    browser.send_order(order_type="new")

    # Then the answer offers no link to a demo shop, and says why
    page = browser.page()
    assert page.xpath('//section[@id="order-result"]//a') == []
    assert text(page, "shop-orders").startswith(f"{deployed} is not a local stack, so no demo shop lists this order")
