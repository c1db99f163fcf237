"""The whole PunchOut round trip in a real browser: buyer simulator → gateway → demo shop → back.

Each test uses a fresh browser context, so a fresh simulator session; the seeded demo partners are
`demo-buyer` (carts as `cxml-urlencoded`) and `demo-buyer-base64` (as `cXML-base64`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DevStack
from tests.e2e.simulator import Buyer

pytestmark = pytest.mark.e2e

MARKUP_DESCRIPTION = 'Cable ties 200 mm, "black" & <UV-resistant>'
ORDER_ARRIVAL_SECONDS = 20


def expected_dtd_state() -> str:
    # CI sets CXML_SHARED_DIR (.ci/run); without it the simulator says validation is unavailable.
    return "valid" if os.environ.get("CXML_SHARED_DIR", "").strip() else "unavailable"


@pytest.fixture
def buyer(page: Page) -> Buyer:
    buyer = Buyer(page)
    buyer.open_simulator()
    return buyer


def shop_a_cart(buyer: Buyer, *skus: str) -> None:
    buyer.send_setup("create")
    buyer.enter_shop()
    for sku in skus:
        buyer.add(sku)
    buyer.checkout()


@pytest.mark.parametrize(
    ("partner_id", "field_name", "encoding"),
    [("demo-buyer", "cxml-urlencoded", "urlencoded"), ("demo-buyer-base64", "cXML-base64", "base64")],
)
def test_a_cart_comes_back_to_the_simulator_dtd_valid_in_the_partners_encoding(
    buyer: Buyer, partner_id: str, field_name: str, encoding: str
):
    # Given the simulator speaks as a partner that wants its carts in this encoding
    buyer.use_partner(partner_id)

    # When the buyer punches out, fills a cart (with markup and non-ASCII text) and checks out
    buyer.send_setup("create", expect_field=field_name.lower())
    buyer.enter_shop()
    expect(buyer.page.locator("#buyer-name")).to_have_text("Jane Buyer")
    buyer.add("TIES-200", 2)
    buyer.add("NOTES-76-Y")
    buyer.checkout()

    # Then the simulator received it in that field and encoding, DTD-valid, with the cookie echoed
    page = buyer.page
    expect(page.locator("#cart-field")).to_have_text(field_name)
    expect(page.locator("#cart-encoding")).to_have_text(encoding)
    expect(page.locator("#cart-expectation")).to_have_text("as expected")
    expect(page.locator("#cart-dtd")).to_have_attribute("data-state", expected_dtd_state())
    expect(page.locator("#cart-cookie")).to_have_text("BuyerCookie echoed unchanged")
    expect(page.locator("#operation-allowed")).to_have_text("edit")
    assert buyer.cart_skus() == ["TIES-200", "NOTES-76-Y"]
    # ...with its text intact and inert (shown as text, not markup), and our reference on every line
    expect(page.locator('#cart-lines tr[data-sku="TIES-200"] td').nth(3)).to_have_text(MARKUP_DESCRIPTION)
    expect(page.locator('#cart-lines tr[data-sku="NOTES-76-Y"] td').nth(3)).to_contain_text("76×76 mm")  # noqa: RUF001
    for aux in page.locator("#cart-lines td.aux").all_inner_texts():
        assert re.fullmatch(r"[a-z2-7]{16}-\d+", aux)
    expect(page.locator("#cart-total")).to_have_text("13.50 USD")


def test_approval_changes_reach_the_shop_as_exactly_those_differences(buyer: Buyer, dev_stack: DevStack):
    # Given a returned cart of four lines
    shop_a_cart(buyer, "PEN-BLU-12", "TIES-200", "NOTES-76-Y", "PAPER-A4-500")
    page = buyer.page

    # When the approver changes one quantity and one price, removes one line, and the order is sent
    page.fill(f'input[name="quantity-{buyer.line_number("PEN-BLU-12")}"]', "3")
    page.fill(f'input[name="price-{buyer.line_number("TIES-200")}"]', "2.99")
    page.check(f'input[name="remove-{buyer.line_number("NOTES-76-Y")}"]')
    order_id = f"PO-E2E-{secrets.token_hex(4).upper()}"
    page.fill("#order_id", order_id)
    page.select_option("#order_type", "new")
    page.click("#send-order")
    expect(page.locator("#order-status")).to_contain_text(f"Order {order_id} (new, version 1): 200 OK")

    # Then the demo shop, reading the order queue, lists the order with exactly those changes
    order = wait_for_order(page, order_id)
    statuses = dict(
        zip(
            order.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.sku)"),
            order.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)"),
            strict=True,
        )
    )
    assert statuses == {
        "PEN-BLU-12": "quantity_changed",
        "TIES-200": "price_changed",
        "NOTES-76-Y": "removed",
        "PAPER-A4-500": "unchanged",
    }
    pen = order.locator('tr[data-sku="PEN-BLU-12"] td.num')
    assert [Decimal(text) for text in pen.all_inner_texts()[:2]] == [Decimal(1), Decimal(3)]  # cart, order qty
    expect(order.locator('tr[data-sku="TIES-200"] td.num').nth(3)).to_have_text("2.99 USD")


def wait_for_order(page: Page, order_id: str, version: int = 1):
    """The order's section on the shop's orders page, once the queue consumer has received it."""
    page.goto("/_dev/shop/orders")
    selector = f'section.order[data-order-id="{order_id}"][data-version="{version}"]'
    deadline = time.monotonic() + ORDER_ARRIVAL_SECONDS
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"order {order_id} v{version} did not reach the demo shop"
        time.sleep(0.3)
        page.reload()
    return page.locator(selector)


def test_an_update_reaches_the_shop_as_the_next_version(buyer: Buyer):
    # Given an order sent from a returned cart
    shop_a_cart(buyer, "STAPLER-HD", "PEN-BLU-12")
    page = buyer.page
    order_id = f"PO-E2E-{secrets.token_hex(4).upper()}"
    page.fill("#order_id", order_id)
    page.click("#send-order")
    expect(page.locator("#order-status")).to_contain_text("200 OK")

    # When the buyer changes it after approval: one more stapler
    page.fill(f'input[name="quantity-{buyer.line_number("STAPLER-HD")}"]', "2")
    page.select_option("#order_type", "update")
    page.click("#send-order")
    expect(page.locator("#order-status")).to_contain_text(f"Order {order_id} (update, version 2): 200 OK")

    # Then the shop receives version 2 as an update, reconciled against the same cart
    order = wait_for_order(page, order_id, version=2)
    expect(order).to_have_attribute("data-type", "update")
    expect(order.locator('tr[data-sku="STAPLER-HD"]')).to_have_attribute("data-status", "quantity_changed")
    expect(order.locator('tr[data-sku="PEN-BLU-12"]')).to_have_attribute("data-status", "unchanged")


def test_edit_reopens_the_earlier_cart_with_its_lines(buyer: Buyer):
    # Given a returned cart
    shop_a_cart(buyer, "PEN-BLU-12", "TONER-BK-26A")
    earlier = buyer.page.locator("#cart-lines td.aux").all_inner_texts()

    # When the buyer reopens it with an edit
    buyer.send_setup("edit")
    buyer.enter_shop()

    # Then the shop shows the earlier lines, editable, and the changed cart comes back
    shop = buyer.page
    expect(shop.locator("#operation")).to_have_text("edit")
    expect(shop.locator("#read-only")).to_have_count(0)
    expect(shop.locator("#cart-lines tbody tr")).to_have_count(2)
    assert shop.locator("#cart-lines tbody tr").evaluate_all("rows => rows.map(r => r.dataset.sku)") == [
        "PEN-BLU-12",
        "TONER-BK-26A",
    ]
    buyer.add("PEN-BLU-12")
    buyer.add("STAPLER-HD")
    buyer.checkout()
    assert buyer.cart_skus() == ["PEN-BLU-12", "TONER-BK-26A", "STAPLER-HD"]
    assert buyer.page.locator('input[name="quantity-1"]').input_value() == "2"
    assert buyer.page.locator("#cart-lines td.aux").all_inner_texts() != earlier  # a new cart of its own


def test_inspect_shows_the_earlier_cart_read_only(buyer: Buyer):
    # Given a returned cart
    shop_a_cart(buyer, "PAPER-A4-500", "NOTES-76-Y")

    # When the buyer opens it with an inspect
    buyer.send_setup("inspect")
    buyer.enter_shop()

    # Then the shop shows its lines and offers no way to change them
    shop = buyer.page
    expect(shop.locator("#operation")).to_have_text("inspect")
    expect(shop.locator("#read-only")).to_be_visible()
    expect(shop.locator("#cart-lines tbody tr")).to_have_count(2)
    expect(shop.locator("button[data-add]")).to_have_count(0)
    expect(shop.locator("button[data-remove]")).to_have_count(0)
    expect(shop.locator("#cancel")).to_have_count(0)


def test_a_reused_start_link_shows_the_already_used_page(buyer: Buyer):
    # Given a StartPage link that was followed once
    buyer.send_setup("create")
    start_link = buyer.start_link
    buyer.enter_shop()

    # When it is opened again
    response = buyer.page.goto(start_link)

    # Then the browser gets the plain "already used" page
    assert response is not None and response.status == 410
    expect(buyer.page.locator("h1")).to_have_text("This link was already used")


def test_a_reused_return_link_shows_the_already_used_page(buyer: Buyer):
    # Given a cart returned through the one-time return link
    shop_a_cart(buyer, "PEN-BLU-12")
    assert len(buyer.return_links) == 1

    # When the return link is opened again
    response = buyer.page.goto(buyer.return_links[0])

    # Then the cart is not posted again: the browser gets the plain "already used" page
    assert response is not None and response.status == 410
    expect(buyer.page.locator("h1")).to_have_text("This link was already used")
    assert "/_dev/buyer" not in buyer.page.url


def test_the_punchout_works_inside_an_iframe_of_the_simulators_origin(buyer: Buyer, dev_stack: DevStack):
    # Given the simulator opens the StartPage inside an iframe of its own page
    buyer.use_partner("demo-buyer-base64")
    buyer.send_setup("create", in_iframe=True)
    shop = buyer.frame
    expect(shop.locator("#buyer-name")).to_have_text("Jane Buyer")

    # When the buyer shops and checks out inside the frame
    buyer.add("TONER-BK-26A", scope=shop)
    buyer.add("PEN-BLU-12", 2, scope=shop)
    buyer.checkout(scope=shop)

    # Then the return page was allowed to run in the frame (CSP frame-ancestors lists the simulator's
    # host), posted the cart, and the simulator shows it, full window
    page = buyer.page
    assert page.url.startswith(f"{dev_stack.base_url}/_dev/buyer")
    expect(page.locator("#punchout-frame")).to_have_count(0)
    assert buyer.cart_skus() == ["TONER-BK-26A", "PEN-BLU-12"]
    expect(page.locator("#cart-field")).to_have_text("cXML-base64")
    expect(page.locator("#cart-dtd")).to_have_attribute("data-state", expected_dtd_state())
