"""The PunchOut as procurement systems open it, in a real browser: inside an iframe of the buyer's page, in a
window of its own (`window.open`), or in the buyer's window itself.

Three parties, as deployed: the buyer's page and its BrowserFormPost receiver on one site (served by the test,
reached as http://localhost:<port>), the gateway on another (http://127.0.0.1:<port>), and the shop (the demo
shop, same origin as the gateway here, talking to the shop API server-side). The cart comes back through the
return page wherever the StartPage was opened, and no step relies on a cookie: inside the buyer's iframe the
gateway and the shop are third parties, whose cookies Chromium may block and `SameSite=Lax` ones are never sent.
"""

from __future__ import annotations

import html as html_text
import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from punchout.cxml.models import Extrinsic
from tests.e2e.conftest import DevStack
from tests.e2e.simulator import Buyer, Scope
from tests.e2e.sites import BuyerSystem, buyer_system, call

pytestmark = pytest.mark.e2e

EMBEDDING_IDENTITY = "AN-EMBEDDING-BUYER"
FIELD = "cxml-urlencoded"


@pytest.fixture(scope="module")
def buyer(dev_stack: DevStack) -> Iterator[BuyerSystem]:
    """The procurement system's site, reached as http://localhost:<port> (another site than the gateway's)."""
    with buyer_system(
        dev_stack,
        *("embedding-buyer", "Buyer embedding the PunchOut", EMBEDDING_IDENTITY),
        host="localhost",
        receiver_path="/punchout/cart?session=42",
    ) as system:
        yield system


def start_page(dev_stack: DevStack, buyer: BuyerSystem, *, return_frame: str | None = None) -> str:
    return buyer.start_page(dev_stack, [Extrinsic(name="ReturnFrame", value=return_frame)] if return_frame else [])


def buyer_page(start: str, embedding: str, *, window_name: str = "") -> str:
    url = json.dumps(start)
    name = f"<script>window.name = {json.dumps(window_name)};</script>" if window_name else ""
    opener = {
        "iframe": f'<iframe id="punchout" name="punchout" src="{html_text.escape(start)}"></iframe>',
        "popup": f'<button id="open">Shop</button><script>document.getElementById("open").onclick = '
        f'() => window.open({url}, "punchout");</script>',
        "same window": f'<a id="open" href="{html_text.escape(start)}">Shop</a>',
    }[embedding]
    return f"<!DOCTYPE html><title>Requisition</title>{name}{opener}"


def open_shop(page: Page, context: BrowserContext, embedding: str) -> Scope:
    if embedding == "iframe":
        return page.frame_locator("#punchout")
    if embedding == "popup":
        with context.expect_page() as popup:
            page.click("#open")
        return popup.value
    page.click("#open")
    return page


def cart_of(request: Request) -> str:
    """The PunchOutOrderMessage the browser posted."""
    fields = parse_qs(request.post_data or "")
    assert list(fields) == [FIELD], fields
    return fields[FIELD][0]


def shop_and_check_out(page: Page, shop: Scope, receiver: str) -> Request:
    Buyer(page).add("PEN-BLU-12", scope=shop)
    with page.context.expect_event("request", lambda r: r.method == "POST" and r.url == receiver) as post:
        shop.locator("#checkout").click()
    return post.value


@pytest.mark.parametrize("embedding", ["iframe", "popup", "same window"])
def test_the_cart_comes_back_from_the_punchout_wherever_the_buyer_opened_it(
    page: Page, context: BrowserContext, dev_stack: DevStack, buyer: BuyerSystem, embedding: str
) -> None:
    # Given a buyer's page, on another site than the gateway's, that opens the StartPage its way
    start = start_page(dev_stack, buyer)
    page.goto(buyer.show(f"/requisition/{embedding.replace(' ', '-')}", buyer_page(start, embedding)))
    shop = open_shop(page, context, embedding)

    # When the user shops and checks out there
    posted = shop_and_check_out(page, shop, buyer.receiver)

    # Then the return page posted the cart to the buyer's receiver from where the shop was: the iframe (its
    # frame-ancestors allow the buyer's host), the popup, or the buyer's window
    cart = cart_of(posted)
    assert "<PunchOutOrderMessage>" in cart and "PEN-BLU-12" in cart
    frame = posted.frame
    if embedding == "iframe":
        assert frame.parent_frame == page.main_frame and frame.name == "punchout"
    elif embedding == "popup":
        assert frame.page is shop and frame.page.opener() == page
    else:
        assert frame == page.main_frame
    # ...and neither the gateway nor the shop needed a cookie on the way (none was set)
    assert context.cookies() == []


def test_a_cart_for_the_window_the_return_frame_names_leaves_the_popup_without_a_second_post(
    page: Page, context: BrowserContext, dev_stack: DevStack, buyer: BuyerSystem
) -> None:
    # Given a buyer whose window is named "requisition", which opens the PunchOut in a popup and asks for the
    # cart in its own window (Extrinsic ReturnFrame)
    start = start_page(dev_stack, buyer, return_frame="requisition")
    page.goto(buyer.show("/requisition/named", buyer_page(start, "popup", window_name="requisition")))
    popup = open_shop(page, context, "popup")
    assert isinstance(popup, Page)

    # When the user checks out in the popup
    posted = shop_and_check_out(page, popup, buyer.receiver)

    # Then the cart reaches the buyer's window, and the popup, still showing the return page, says so and
    # offers no button that would post the same cart a second time
    assert posted.frame == page.main_frame
    assert "PEN-BLU-12" in cart_of(posted)
    assert "/punchout/return/" in popup.url
    expect(popup.locator("h1")).to_have_text("Your cart was returned to your procurement system")
    expect(popup.get_by_role("button")).to_have_count(0)


def test_a_return_frame_of_top_takes_the_cart_from_the_iframe_to_the_buyers_window(
    page: Page, context: BrowserContext, dev_stack: DevStack, buyer: BuyerSystem
) -> None:
    # Given a buyer that shows the PunchOut in an iframe and wants the cart in its whole window (ReturnFrame
    # _top: Chromium lets a cross-site frame navigate the top window only after the user acted in it)
    start = start_page(dev_stack, buyer, return_frame="_top")
    page.goto(buyer.show("/requisition/top", buyer_page(start, "iframe")))

    # When the user checks out inside the frame
    posted = shop_and_check_out(page, open_shop(page, context, "iframe"), buyer.receiver)

    # Then the cart is posted in the buyer's window, which leaves its page for the receiver's
    assert posted.frame == page.main_frame
    assert "PEN-BLU-12" in cart_of(posted)
    page.wait_for_url(buyer.receiver)


def test_without_javascript_the_return_page_posts_the_cart_with_its_button(
    browser: Browser, dev_stack: DevStack, buyer: BuyerSystem
) -> None:
    # Given a browser without JavaScript, punched out in the buyer's window
    context = browser.new_context(base_url=dev_stack.base_url, java_script_enabled=False)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        start = start_page(dev_stack, buyer)
        page.goto(buyer.show("/requisition/no-script", buyer_page(start, "same window")))
        page.click("#open")
        Buyer(page).add("PEN-BLU-12")
        page.click("#checkout")

        # When the return page shows (nothing was posted yet) and the user presses its button
        expect(page.locator("h1")).to_have_text("Returning your cart to your procurement system")
        with page.expect_request(lambda r: r.method == "POST" and r.url == buyer.receiver) as post:
            page.get_by_role("button", name="Return the cart").click()

        # Then the cart is posted
        assert "PEN-BLU-12" in cart_of(post.value)
    finally:
        context.close()


def test_a_used_start_link_inside_the_buyers_iframe_shows_the_already_used_page(
    page: Page, dev_stack: DevStack, buyer: BuyerSystem
) -> None:
    # Given a StartPage link that was already followed
    start = start_page(dev_stack, buyer)
    assert call(dev_stack.base_url, "GET", start.removeprefix(dev_stack.base_url)).status == 303

    # When the buyer's page shows it in its iframe again
    page.goto(buyer.show("/requisition/used", buyer_page(start, "iframe")))

    # Then the frame shows the plain "already used" page (framing allowed), with what to do next
    frame = page.frame_locator("#punchout")
    expect(frame.locator("h1")).to_have_text("This link was already used")
    expect(frame.locator("p")).to_have_text("Start PunchOut again from your procurement system.")
