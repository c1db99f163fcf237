"""Property tests of an order's round trip: a generated cart is transferred and posted to the buyer, and
the buyer orders its lines back (some changed, dropped or added by approval); the queued message
reconciles each line with the cart as the README says.

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from punchout.cxml.models import ItemOut
from punchout.partners import TradingPartner
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.events import api_event
from tests.support.fuzz import fuzz_settings
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    cxml,
    follow,
    invoke,
    message_tree,
    open_session,
    register,
    shop_key,
)
from tests.unit.gateway.test_shop_api_properties import dumps, storable_cart
from tests.unit.orders.conftest import drain

FUZZ = fuzz_settings(30)
_ORDER_NUMBERS = itertools.count(1)
CHANGES = ["keep", "quantity", "price", "both", "drop"]


def _partner_and_key(table: Table) -> tuple[TradingPartner, dict[str, str]]:
    partner = PartnerRepository(table).get("acme") or register(table)
    return partner, shop_key(table)


def post_order(body: bytes) -> dict[str, Any]:
    event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": "text/xml"}, binary=True)
    return invoke("OrderRequestFunction", event)


@FUZZ
@given(cart=storable_cart.filter(lambda c: c["lines"]), data=st.data())
def test_an_order_of_a_returned_cart_is_reconciled_with_it(
    table: Table, queue_url: str, cart: dict[str, Any], data: st.DataObject
) -> None:
    # Given a valid cart, stored, transferred and posted to the buyer
    partner, headers = _partner_and_key(table)
    shop = Shop(headers, open_session()[0])
    assert shop.put(dumps(cart))["statusCode"] == 200
    stored = shop.context()["cart"]["lines"]
    document = ReturnPage.of(follow(shop.return_url())).document(partner)
    returned = message_tree(document).xpath("//ItemIn")
    # When approval changes, drops or adds lines and the buyer orders the rest
    changes = data.draw(st.lists(st.sampled_from(CHANGES), min_size=len(returned), max_size=len(returned)))
    added = data.draw(st.booleans())
    items: list[ItemOut] = []
    for item, change in zip(returned, changes, strict=True):
        if change == "drop":
            continue
        quantity = Decimal(item.get("quantity")) + (1 if change in ("quantity", "both") else 0)
        price = Decimal(item.xpath("string(ItemDetail/UnitPrice/Money)")) + (1 if change in ("price", "both") else 0)
        items.append(
            builders.item_out(
                item.xpath("string(ItemID/SupplierPartID)"),
                str(quantity),
                auxiliary=item.xpath("string(ItemID/SupplierPartAuxiliaryID)"),
                price=str(price),
                line=len(items) + 1,
            )
        )
    if added or not items:
        items.append(builders.item_out("NEW-PART", "1", price="1.00", line=len(items) + 1))
    answer = cxml(post_order(builders.order_request(f"PO-RT-{next(_ORDER_NUMBERS)}", items)))
    # Then it is accepted, and the message reconciles every line as approval changed it
    assert answer.status.code == 200, answer.status
    (queued,) = drain(queue_url)
    reconciliation = queued["body"]["reconciliation"]
    expected = {
        "keep": "unchanged",
        "quantity": "quantity_changed",
        "price": "price_changed",
        "both": "quantity_and_price_changed",
    }
    statuses = [line["status"] for line in reconciliation["lines"]]
    matched = [expected[change] for change in changes if change != "drop"]
    wanted = matched + (["added" if matched else "unmatched"] if added or not matched else [])
    # (an order naming none of the cart's lines names no cart: none of its lines is reported removed)
    wanted += ["removed" for change in changes if change == "drop" and matched]
    assert statuses == wanted, (statuses, wanted, [line["supplier_part_id"] for line in stored])
    assert reconciliation["from_punchout"] is bool(matched)
