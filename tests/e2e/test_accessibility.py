"""Accessibility of every page a person sees: axe-core on each, and the return page and demo shop from the keyboard.

Procurement users include people with screen readers and people who use only the keyboard, and the pages
show inside the buyer's iframe. axe-core (`tests/support/axe_core.py`, pinned and integrity-checked) runs
on each page in the state a person sees it: the gateway's return page as it auto-posted the cart (the post
is answered 204, so the page stays), without JavaScript (the page as such a browser renders it, audited
with its scripts removed, as axe itself needs JavaScript), and after posting to another window; the link
pages (used, unknown, fetched ahead); the buyer simulator and demo shop at each step of a round trip,
and their error pages. axe's CSS checks (contrast) see the page's own styles. Every page must also show
without a horizontal scroll bar at 640 CSS pixels wide (a 1280-pixel window zoomed to 200 %), and nothing on
it may move (no animation or transition, so nothing that `prefers-reduced-motion` would have to stop).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from lxml import etree
from playwright.sync_api import Browser, BrowserContext, Page, expect

from punchout.cxml.models import Extrinsic
from tests.e2e.conftest import DevStack
from tests.e2e.simulator import Buyer
from tests.e2e.sites import call
from tests.support import builders
from tests.support.axe_core import AxeCoreUnavailable, ensure_script

pytestmark = pytest.mark.e2e

ZOOMED_WIDTH = 640  # CSS pixels: a 1280-pixel-wide window at 200 %
SIMULATOR_RETURN = "**/_dev/buyer/return**"
# The checks axe reports as violations, each as "rule (impact): help — where".
REPORT = """() => axe.run(document, {resultTypes: ["violations"]}).then(result => result.violations.map(
  v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(" ")).join(", ")}`))"""


# Elements that move: none today, so nothing for prefers-reduced-motion to turn off; one added must honour it.
MOVING = """() => [...document.querySelectorAll("*")].filter(e => { const s = getComputedStyle(e);
  return s.animationName !== "none" || s.transitionDuration.split(",").some(d => parseFloat(d) > 0); })
  .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : ""))"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return ensure_script().read_text(encoding="utf-8")
    except AxeCoreUnavailable as error:
        pytest.fail(f"axe-core is needed for the accessibility tests (make axe-core): {error}", pytrace=False)


@pytest.fixture
def audited(browser: Browser, dev_stack: DevStack) -> Iterator[BrowserContext]:
    """A context whose pages axe can be injected into: the pages' CSP allows only their own nonce'd scripts."""
    context = browser.new_context(base_url=dev_stack.base_url, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


class Audit:
    """axe's violations, and a horizontal scroll bar at 200 % zoom, page by page."""

    def __init__(self, axe_source: str) -> None:
        self.axe_source = axe_source
        self.findings: dict[str, list[str]] = {}

    def check(self, page: Page, name: str) -> None:
        page.evaluate("source => { if (!window.axe) (0, eval)(source); }", self.axe_source)
        found: list[str] = page.evaluate(REPORT)
        viewport = page.viewport_size
        page.set_viewport_size({"width": ZOOMED_WIDTH, "height": 800})
        width, shown = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width > shown:
            found.append(f"at {ZOOMED_WIDTH} CSS pixels (200 % zoom) the page is {width} wide: a horizontal scroll bar")
        if viewport:
            page.set_viewport_size(viewport)
        moving = page.evaluate(MOVING)
        if moving:
            found.append(f"animated or transitioned, which prefers-reduced-motion would have to stop: {moving}")
        assert page.title().strip(), f"{name}: the page has no title"
        self.findings[name] = found

    @property
    def violations(self) -> dict[str, list[str]]:
        return {name: found for name, found in self.findings.items() if found}

    def report(self) -> str:
        return "\n".join(f"{name}:\n" + "".join(f"  - {v}\n" for v in found) for name, found in self.violations.items())


def _as_without_javascript(html: str) -> str:
    """A page as a browser without JavaScript shows it: no scripts, and what <noscript> holds shown."""
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL | re.IGNORECASE)
    return re.sub(r"</?noscript\b[^>]*>", "", html, flags=re.IGNORECASE)


def _start_page(dev_stack: DevStack, return_url: str, *, return_frame: str | None = None) -> str:
    """A new session's StartPage URL, opened by the demo partner with the simulator's receiver."""
    partner = dev_stack.partner("demo-buyer")["credentials"]["production"]
    setup = builders.setup_request(
        browser_form_post=return_url,
        identity=partner["identity"],
        secret=partner["shared_secret"],
        extrinsics=[Extrinsic(name="ReturnFrame", value=return_frame)] if return_frame else [],
    )
    answer = call(dev_stack.base_url, "POST", "/cxml/setup", setup, **{"Content-Type": "text/xml"})
    assert answer.status == 200, answer.body
    return etree.fromstring(answer.body).findtext(".//StartPage/URL") or ""


def test_every_page_of_the_gateway_passes_axe(
    audited: BrowserContext, browser: Browser, dev_stack: DevStack, axe_source: str
) -> None:
    audit = Audit(axe_source)
    page = audited.new_page()
    buyer = Buyer(page)
    buyer.open_simulator()
    buyer.send_setup("create")
    start_link = buyer.start_link
    buyer.enter_shop()
    buyer.add("PEN-BLU-12", 2)

    # The return page as it posted the cart, with the buyer's answer yet to come (a 204 leaves it in view)
    page.route(SIMULATOR_RETURN, lambda route: route.fulfill(status=204))
    page.click("#checkout", no_wait_after=True)
    expect(page.locator("h1")).to_have_text("Returning your cart to your procurement system")
    expect(page.locator("form p")).to_contain_text("Your cart was sent")
    audit.check(page, "return page, cart posted")
    # (what the page says once it posted is announced: a screen reader reads a status as it changes)
    announced = page.get_by_role("status").all_inner_texts()
    return_link = buyer.return_links[-1]

    # ...the same link again, used
    page.goto(return_link)
    audit.check(page, "return link already used (410)")
    page.goto(start_link)
    audit.check(page, "start link already used (410)")
    page.goto("/punchout/return/not-a-token")
    audit.check(page, "return link not valid (404)")

    # ...fetched ahead of the user (a prefetch)
    ahead = browser.new_context(
        base_url=dev_stack.base_url, bypass_csp=True, extra_http_headers={"Sec-Purpose": "prefetch"}
    )
    try:
        ahead_page = ahead.new_page()
        ahead_page.goto("/punchout/start/not-a-token")
        expect(ahead_page.locator("h1")).to_have_text("This link opens when you follow it")
        audit.check(ahead_page, "link fetched ahead (403)")
    finally:
        ahead.close()

    # ...for a ReturnFrame naming another window: the page stays and says where the cart went
    receiver = f"{dev_stack.base_url}/_dev/buyer/return?sim=accessibility"
    audited.route(SIMULATOR_RETURN, lambda route: route.fulfill(status=204))
    page.goto(_start_page(dev_stack, receiver, return_frame="requisition"))
    buyer.add("PEN-BLU-12")
    page.click("#checkout")
    expect(page.locator("h1")).to_have_text("Your cart was returned to your procurement system")
    audit.check(page, "return page, cart posted to another window")

    # ...and without JavaScript, where its button posts the cart
    plain = browser.new_context(base_url=dev_stack.base_url, java_script_enabled=False)
    try:
        plain_page = plain.new_page()
        plain_page.goto(_start_page(dev_stack, receiver))
        Buyer(plain_page).add("PEN-BLU-12")
        plain_page.click("#checkout")
        expect(plain_page.get_by_role("button", name="Return the cart")).to_be_visible()
        url, html = plain_page.url, plain_page.content()
    finally:
        plain.close()
    page.route(
        url, lambda route: route.fulfill(content_type="text/html; charset=utf-8", body=_as_without_javascript(html))
    )
    page.goto(url)
    audit.check(page, "return page without JavaScript")

    assert audit.violations == {}, audit.report()
    assert announced == ["Your cart was sent. Waiting for your procurement system to answer..."]


def test_every_page_of_the_buyer_simulator_and_demo_shop_passes_axe(
    audited: BrowserContext, dev_stack: DevStack, axe_source: str
) -> None:
    audit = Audit(axe_source)
    page = audited.new_page()
    buyer = Buyer(page)
    page.goto("/_dev/shop")
    audit.check(page, "demo shop without a session")
    page.goto("/_dev/shop?punchout_session=not-a-session")
    audit.check(page, "demo shop, session not known")
    page.goto("/_dev/shop/orders")
    audit.check(page, "orders received, none")
    page.goto("/_dev/buyer/no-such-page")
    audit.check(page, "no such page (404)")

    buyer.open_simulator()
    audit.check(page, "buyer simulator")
    page.select_option("#operation", "edit")
    page.click("#send-setup")
    expect(page.locator("#flash")).to_be_visible()
    audit.check(page, "buyer simulator, a notice")
    buyer.send_setup("create")
    audit.check(page, "buyer simulator, setup answered")
    buyer.enter_shop()
    audit.check(page, "demo shop, empty cart")
    buyer.add("PEN-BLU-12", 2)
    buyer.add("TIES-200")
    audit.check(page, "demo shop, a cart")
    row = page.locator('#catalogue tr[data-sku="PEN-BLU-12"]')
    row.locator('input[name="quantity"]').fill("many")
    row.locator("button[data-add]").click()
    expect(page.locator("#shop-error")).to_be_visible()
    audit.check(page, "demo shop, cart not changed")
    page.go_back()
    buyer.checkout()
    audit.check(page, "buyer simulator, cart received")
    page.click("#send-order")
    expect(page.locator("#order-status")).to_contain_text("200")
    audit.check(page, "buyer simulator, order answered")
    page.goto("/_dev/shop/orders")
    expect(page.locator("section.order").first).to_be_visible(timeout=20_000)
    audit.check(page, "orders received, one")

    buyer.open_simulator()
    buyer.send_setup("create", in_iframe=True)
    expect(buyer.frame.locator("#shop-session")).to_be_visible()
    audit.check(page, "buyer simulator, shop in its iframe")

    assert audit.violations == {}, audit.report()


def _focus(page: Page) -> dict[str, str]:
    """The focused element: its role-ish description and whether its focus is drawn."""
    return page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {name: (e.getAttribute("aria-label") || e.innerText || e.name || "").trim(), tag: e.tagName,
                outline: s.outlineStyle === "none" || s.outlineWidth === "0px" ? "none" : s.outlineStyle}; }"""
    )


def test_the_return_page_without_javascript_posts_the_cart_from_the_keyboard(
    browser: Browser, dev_stack: DevStack
) -> None:
    # Given a browser without JavaScript, on the return page
    context = browser.new_context(base_url=dev_stack.base_url, java_script_enabled=False)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        receiver = f"{dev_stack.base_url}/_dev/buyer/return?sim=keyboard"
        page.goto(_start_page(dev_stack, receiver))
        Buyer(page).add("PEN-BLU-12")
        page.click("#checkout")
        expect(page.locator("h1")).to_have_text("Returning your cart to your procurement system")

        # When the user presses Tab: the button has the focus, and shows it
        page.keyboard.press("Tab")
        focused = _focus(page)
        assert (focused["tag"], focused["name"]) == ("BUTTON", "Return the cart")
        assert focused["outline"] != "none"

        # ...and then Enter, and the cart is posted
        with page.expect_request(lambda r: r.method == "POST" and urlsplit(r.url).path == "/_dev/buyer/return"):
            page.keyboard.press("Enter")
    finally:
        context.close()


def test_the_demo_shop_is_used_from_the_keyboard(page: Page) -> None:
    # Given a PunchOut session in the demo shop
    buyer = Buyer(page)
    buyer.open_simulator()
    buyer.send_setup("create")
    buyer.enter_shop()

    # When the user tabs from the top of the page: every control is reached, named by what it acts on, focus drawn
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = _focus(page)
        assert focused["outline"] != "none", focused
        reached.append(focused["name"])
    assert "quantity of PEN-BLU-12" in reached
    assert reached.index("Add PEN-BLU-12 to the cart") == reached.index("quantity of PEN-BLU-12") + 1

    # ...types a quantity and presses Enter, then presses Space on another product's button
    page.get_by_label("quantity of PEN-BLU-12").fill("3")
    page.get_by_label("quantity of PEN-BLU-12").press("Enter")
    expect(page.locator('#cart-lines tr[data-sku="PEN-BLU-12"] [data-field="quantity"]')).to_have_text("3")
    page.get_by_role("button", name="Add STAPLER-HD to the cart").focus()
    page.keyboard.press("Space")

    # Then both are in the cart, and each line's button says which line it removes
    expect(page.locator('#cart-lines tr[data-sku="STAPLER-HD"]')).to_be_visible()
    expect(page.get_by_role("button", name="Remove line 1")).to_be_visible()
    expect(page.get_by_role("button", name="Remove line 2")).to_be_visible()
