"""What a person does in the buyer simulator and the demo shop, as steps the browser tests share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from playwright.sync_api import FrameLocator, Page, Request, expect

Scope = Page | FrameLocator


@dataclass
class Buyer:
    """One browser tab playing the buyer: the simulator page, and the shop it punches out to."""

    page: Page
    carts: int = 0  # carts the simulator has received in this tab's simulator session
    return_links: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        if "/punchout/return/" in request.url:
            self.return_links.append(request.url)

    def open_simulator(self) -> None:
        self.page.goto("/_dev/buyer")
        expect(self.page.locator("#setup-form")).to_be_visible()

    def use_partner(self, partner_id: str, mode: str = "production") -> None:
        self.page.select_option("#preset", partner_id)
        self.page.select_option("#mode", mode)
        self.page.click("#load-preset")
        expect(self.page.locator("#flash")).to_contain_text(f"Loaded the {partner_id} {mode} credentials")

    def send_setup(self, operation: str = "create", *, in_iframe: bool = False, expect_field: str = "any") -> None:
        self.page.select_option("#operation", operation)
        self.page.select_option("#expect", expect_field)
        self.page.set_checked("#in_iframe", in_iframe)
        self.page.click("#send-setup")
        expect(self.page.locator("#setup-status")).to_have_text("200 OK")

    @property
    def start_link(self) -> str:
        href = self.page.get_attribute("#start-link", "href")
        assert href, "the simulator shows no StartPage link"
        return href

    def enter_shop(self) -> None:
        self.page.click("#start-link")
        expect(self.page.locator("#shop-session")).to_be_visible()

    @property
    def frame(self) -> FrameLocator:
        return self.page.frame_locator("#punchout-frame")

    def add(self, sku: str, quantity: int = 1, *, scope: Scope | None = None) -> None:
        shop = scope or self.page
        row = shop.locator(f'#catalogue tr[data-sku="{sku}"]')
        before = _quantity(shop, sku)
        row.locator('input[name="quantity"]').fill(str(quantity))
        row.locator("button[data-add]").click()
        expect(shop.locator(f'#cart-lines tr[data-sku="{sku}"] [data-field="quantity"]')).to_have_text(
            re.compile(rf"^{before + quantity}(\.0*)?$")
        )

    def checkout(self, *, scope: Scope | None = None, button: str = "#checkout") -> None:
        """Transfer the cart; the browser carries it back to the simulator's BrowserFormPost URL."""
        (scope or self.page).locator(button).click()
        self.carts += 1
        self.page.wait_for_url(re.compile(rf"/_dev/buyer\?.*\bcart={self.carts}\b"))
        expect(self.page.locator("#cart-dtd")).to_be_visible()

    def cart_skus(self) -> list[str]:
        return self.page.locator("#cart-lines tbody tr").evaluate_all("rows => rows.map(r => r.dataset.sku)")

    def line_number(self, sku: str) -> int:
        return int(self.page.locator(f'#cart-lines tr[data-sku="{sku}"]').get_attribute("data-line") or 0)


def _quantity(shop: Scope, sku: str) -> int:
    cell = shop.locator(f'#cart-lines tr[data-sku="{sku}"] [data-field="quantity"]')
    return int(Decimal(cell.inner_text())) if cell.count() else 0
