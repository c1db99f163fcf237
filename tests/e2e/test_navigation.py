"""What browsers and users do to one-time links and one-way steps besides a single click on each.

Fetched ahead of time: a buyer's page (here on 127.0.0.1, the gateway's site, so that Chromium may prerender
it) may hint the StartPage link to the browser: `<link rel=prefetch>`, or Speculation Rules asking for a
prefetch or a prerender. Chromium then fetches the link before the user opens it (with `Sec-Purpose:
prefetch`), and only a navigation of that same tab could use what it fetched: procurement systems open the
PunchOut in an iframe, where the link must still open the shop.

Reloaded: a return page reloaded before its form was sent (a browser without JavaScript, or a reload while it
posts) is the one-time link followed again.

Clicked twice: a second click on a form's button while its first submission is under way makes the browser
follow the second answer only, and the server gets both.
"""

from __future__ import annotations

import html as html_text
import json
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from lxml import etree
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DevStack
from tests.e2e.simulator import Buyer
from tests.e2e.sites import Answer, BuyerSystem, buyer_system, call, html, punchout, site
from tests.support import builders

pytestmark = pytest.mark.e2e

NAVIGATING_IDENTITY = "AN-NAVIGATING-BUYER"
PREFETCH_SECONDS = 10


@pytest.fixture(scope="module")
def buyer_site(dev_stack: DevStack) -> Iterator[BuyerSystem]:
    """The buyer's site on 127.0.0.1, the gateway's site, so that Chromium may prerender its hints."""
    with buyer_system(
        dev_stack,
        *("navigating-buyer", "Buyer whose page hints links", NAVIGATING_IDENTITY),
        host="127.0.0.1",
        receiver_path="/punchout/cart",
    ) as system:
        yield system


def hinting_page(start: str, hint: str) -> str:
    """The buyer's page: it hints the StartPage to the browser, and opens it in an iframe on a click."""
    rules = {"speculation rules prefetch": "prefetch", "speculation rules prerender": "prerender"}
    if hint == "link rel=prefetch":
        head = f'<link rel="prefetch" href="{html_text.escape(start)}">'
    else:
        head = f'<script type="speculationrules">{json.dumps({rules[hint]: [{"source": "list", "urls": [start]}]})}'
        head += "</script>"
    frame = json.dumps(f'<iframe id="punchout" src="{html_text.escape(start)}"></iframe>')
    return (
        f"<!DOCTYPE html><title>Requisition</title>{head}<button id='open'>Shop</button><div id='slot'></div>"
        f"<script>document.getElementById('open').onclick = () => "
        f"document.getElementById('slot').innerHTML = {frame};</script>"
    )


def gateway_requests(dev_stack: DevStack, path: str) -> int:
    """How many requests for ``path`` the local gateway has answered (its access log)."""
    return len(re.findall(rf'"GET {re.escape(path)} HTTP', dev_stack.log.read_text(errors="replace")))


@pytest.mark.parametrize("hint", ["link rel=prefetch", "speculation rules prefetch", "speculation rules prerender"])
def test_a_start_link_the_browser_fetched_ahead_of_time_still_opens_the_shop(
    page: Page, dev_stack: DevStack, buyer_site: BuyerSystem, hint: str
) -> None:
    # Given a buyer's page that hints its StartPage link to the browser, which fetches it ahead of time
    start = buyer_site.start_page(dev_stack)
    path = start.removeprefix(dev_stack.base_url)
    page.goto(buyer_site.show(f"/requisition/{hint.replace(' ', '-')}", hinting_page(start, hint)))
    deadline = time.monotonic() + PREFETCH_SECONDS
    while gateway_requests(dev_stack, path) == 0:
        assert time.monotonic() < deadline, f"Chromium did not act on the {hint}"
        time.sleep(0.2)

    # When the user opens the PunchOut, in the buyer's iframe
    page.click("#open")

    # Then the link opens the shop: fetching it ahead of time did not spend it
    expect(page.frame_locator("#punchout").locator("#shop-session")).to_be_visible()


def test_a_head_request_of_a_start_link_does_not_spend_it(
    page: Page, dev_stack: DevStack, buyer_site: BuyerSystem
) -> None:
    # Given a fresh StartPage link, checked first with HEAD (as link checkers and some unfurlers do)
    start = buyer_site.start_page(dev_stack)
    head = call(dev_stack.base_url, "HEAD", start.removeprefix(dev_stack.base_url))
    # Then HEAD has no route (as deployed: the API has a GET method only), and the link still opens the shop
    assert head.status == 404
    page.goto(start)
    expect(page.locator("#shop-session")).to_be_visible()


@pytest.fixture
def buyer(page: Page) -> Buyer:
    buyer = Buyer(page)
    buyer.open_simulator()
    return buyer


def test_a_double_click_on_the_shops_transfer_button_still_returns_the_cart(buyer: Buyer) -> None:
    # Given a cart in the shop
    buyer.send_setup("create")
    buyer.enter_shop()
    buyer.add("PEN-BLU-12")

    # When the user clicks the transfer button twice: the second click submits the form again while the first
    # is under way, so the browser drops the first answer (the shop did transfer the cart) for the second's
    buyer.page.evaluate(
        "() => { const button = document.getElementById('checkout'); button.click(); "
        "setTimeout(() => button.click(), 10); }"
    )

    # Then the cart still reaches the buyer, once
    buyer.carts += 1
    expect(buyer.page).to_have_url(re.compile(rf"/_dev/buyer\?.*\bcart={buyer.carts}\b"))
    expect(buyer.page.locator("#cart-dtd")).to_be_visible()
    assert buyer.cart_skus() == ["PEN-BLU-12"]
    assert len(buyer.return_links) == 1


def test_a_return_page_reloaded_before_it_posted_tells_the_user_what_to_do(
    browser: Browser, dev_stack: DevStack, buyer_site: BuyerSystem
) -> None:
    # Given a browser without JavaScript, whose return page waits for the user's click on its button
    context = browser.new_context(base_url=dev_stack.base_url, java_script_enabled=False)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(buyer_site.start_page(dev_stack))
        Buyer(page).add("PEN-BLU-12")
        page.click("#checkout")
        expect(page.locator("h1")).to_have_text("Returning your cart to your procurement system")

        # When the user reloads it instead
        page.reload()

        # Then the link is spent and nothing reached the buyer; the page says so much, and what to do now
        expect(page.locator("h1")).to_have_text("This link was already used")
        assert [method for method, _ in buyer_site.site.requests if method == "POST"] == []
        expect(page.locator("p")).to_contain_text("If it did not arrive")
        expect(page.locator("p")).to_contain_text("start PunchOut again from your procurement system")
    finally:
        context.close()


def test_a_session_that_expired_while_the_user_shopped_sends_the_user_back_to_the_procurement_system(
    buyer: Buyer, dev_stack: DevStack
) -> None:
    # Given a user shopping, whose session expires meanwhile (DynamoDB Local never deletes by TTL: the gateway
    # refuses it by its expires_at)
    buyer.send_setup("create")
    buyer.enter_shop()
    buyer.add("PEN-BLU-12")
    [session_id] = parse_qs(urlsplit(buyer.page.url).query)["punchout_session"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=dev_stack.state["dynamodb"]["endpoint_url"],
        region_name=dev_stack.state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    dynamodb.update_item(
        TableName=dev_stack.state["tables"]["PunchOutTable"]["name"],
        Key={"pk": {"S": f"SESSION#{session_id}"}, "sk": {"S": "SESSION"}},
        UpdateExpression="SET expires_at = :t",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}},
    )

    # When the user transfers the cart
    buyer.page.click("#checkout")

    # Then the shop (told 404 by the gateway) says the session ended and where to go on, and offers no way back
    # into a shop that can no longer open it
    error = buyer.page.locator("#shop-error")
    expect(error.locator("h1")).to_have_text("This PunchOut session has ended")
    expect(error).to_contain_text("Start PunchOut again from your procurement system")
    expect(error.get_by_role("link")).to_have_count(0)


SLOW_BUYER_SECONDS = 2


def test_the_return_pages_button_does_not_post_the_cart_again_while_the_buyer_is_slow_to_answer(
    page: Page, dev_stack: DevStack
) -> None:
    def slow_buyer(method: str, path: str) -> Answer:
        if method == "POST":  # the cart arrives; the procurement system takes its time to answer
            time.sleep(SLOW_BUYER_SECONDS)
            return html("Cart received")
        return html("Requisition")

    with site(slow_buyer) as buyer_system:
        identity = "AN-SLOW-BUYER"
        punchout(
            dev_stack,
            *("partners", "add", "slow-buyer", "--name", "Buyer slow to answer the cart"),
            *("--from", f"NetworkID:{identity}", "--no-secret", "--source-network", "127.0.0.1/32"),
            *("--post-host", f"127.0.0.1:{buyer_system.port}", "--allow-http", "--unspsc", "44120000"),
            *("--shop-url", dev_stack.state["urls"]["demo_shop"]),
        )
        receiver = buyer_system.url("/punchout/cart")
        setup = builders.setup_request(browser_form_post=receiver, identity=identity, secret=None)
        answer = call(dev_stack.base_url, "POST", "/cxml/setup", setup, **{"Content-Type": "text/xml"})
        assert answer.status == 200, answer.body
        page.goto(etree.fromstring(answer.body).findtext(".//StartPage/URL") or "")
        Buyer(page).add("PEN-BLU-12")

        # Given a return page that has posted the cart, to a buyer slow to answer: the page stays in view, with
        # its button ("If nothing happens, press the button")
        page.click("#checkout", no_wait_after=True)
        deadline = time.monotonic() + PREFETCH_SECONDS
        while not buyer_system.requests:
            assert time.monotonic() < deadline, "the return page posted nothing"
            time.sleep(0.05)

        # When the user presses the button (from the keyboard: the only control on the page), twice
        for _ in range(2):
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            time.sleep(0.3)

        # Then the buyer receives the cart once, and the browser reaches its answer
        expect(page).to_have_url(receiver, timeout=(SLOW_BUYER_SECONDS * 4) * 1000)
        assert [request for request in buyer_system.requests if request[0] == "POST"] == [("POST", "/punchout/cart")]
