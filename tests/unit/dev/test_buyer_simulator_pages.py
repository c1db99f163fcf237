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
