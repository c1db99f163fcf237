"""Local-only developer tools on the local stack (never deployed): demo data, a buyer simulator, a demo shop.

`install` is a `LocalStack` ready hook (`python -m infra.local.stack` adds it): once the gateway runs,
it seeds the demo trading partners and the shop's API key, serves the buyer simulator at
`/_dev/buyer` and the demo shop at `/_dev/shop`, starts the shop's order-queue consumer, and puts
what scripts need into `stack.extra` (and so into `.local/stack.json`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.local.dev.buyer import BuyerSimulator
from infra.local.dev.html import Html
from infra.local.dev.seed import seed
from infra.local.dev.shop import DemoShop, OrderConsumer, OrderInbox, ShopApiClient
from infra.local.dev.web import Pages, Reply, Request, html_reply
from infra.local.template import REGION

if TYPE_CHECKING:
    from infra.local.stack import LocalStack

__all__ = ["install"]


def _index(request: Request) -> Reply:
    return html_reply(
        "Local stack",
        Html(
            '<section><h1>Local PunchOut stack</h1><ul><li><a href="/_dev/buyer">Buyer simulator</a></li>'
            '<li><a href="/_dev/shop">Demo shop</a></li><li><a href="/_dev/shop/orders">Orders the demo shop '
            'received</a></li><li><a href="/shop/openapi.json">Shop API (OpenAPI)</a></li></ul></section>'
        ),
    )


def install(stack: LocalStack) -> None:
    environment = stack.function_environment
    table_name, queue_url = environment["TABLE_NAME"], environment["ORDER_QUEUE_URL"]
    base_url = stack.base_url
    demo = seed(table_name, base_url, stack.state_dir)

    simulator = BuyerSimulator(base_url, demo.partners)
    api = ShopApiClient(base_url, demo.api_key)
    inbox = OrderInbox()
    shop = DemoShop(api, inbox)
    index = Pages("/_dev")
    index.route("GET", "")(_index)
    stack.gateway.add_dev_route("/_dev/buyer/", simulator.pages)
    stack.gateway.add_dev_route("/_dev/shop/", shop.pages)
    stack.gateway.add_dev_route("/_dev/", index)

    consumer = OrderConsumer(stack.sqs_client(), queue_url, api, inbox)
    consumer.start()
    stack.on_stop(consumer.stop)

    urls = {
        "buyer_simulator": f"{base_url}/_dev/buyer",
        "demo_shop": f"{base_url}/_dev/shop",
        "shop_orders": f"{base_url}/_dev/shop/orders",
    }
    extra: dict[str, Any] = {
        "region": REGION,
        # The demo shop's key for the shop API (x-api-key), and the demo partners' credentials.
        "api_key": demo.api_key,
        "api_key_id": demo.api_key_id,
        "demo_partners": [partner.describe() for partner in demo.partners],
        "urls": urls,
    }
    stack.extra.update(extra)
