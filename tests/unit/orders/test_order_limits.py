"""OrderRequest limits on repeated elements and on the carts one order names: a quick 400 naming the
element and the limit, rather than a run past the order function's memory or timeout (a 5xx the buyer
retries, then gives up on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from punchout.cxml.reader import MAX_ORDER_ELEMENTS
from punchout.orders import MAX_ORDER_CARTS, MAX_RECONCILED_CART_LINES
from punchout.sessions import Cart
from punchout.store.sessions import SessionRepository
from tests.support import builders
from tests.unit.gateway.helpers import cxml, register
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_order_request import post_order

_SEGMENT = b'<Segment id="6100" type="G/L Account" description="Office supplies"/>'
_CHARGE = b'<Charge><Money currency="USD">1.00</Money></Charge>'
_ADDRESS = (
    b"<PostalAddress><Street>1 Main St</Street><City>Springfield</City>"
    b'<Country isoCountryCode="US">US</Country></PostalAddress>'
)
_PHONE = (
    b'<Phone><TelephoneNumber><CountryCode isoCountryCode="US">1</CountryCode><AreaOrCityCode>555</AreaOrCityCode>'
    b"<Number>0100</Number></TelephoneNumber></Phone>"
)
_NAME = b'<Name xml:lang="en">Ann</Name>'

# Where each repeated element goes (before the closing tag named), and what holds the repeats.
_PLACES: dict[str, tuple[bytes, bytes, bytes, bytes]] = {  # tag: (before, open, element, close)
    "ItemOut": (
        b"</OrderRequest>",
        b"",
        b'<ItemOut quantity="1"><ItemID><SupplierPartID>P2</SupplierPartID></ItemID><ItemDetail><UnitPrice>'
        b'<Money currency="USD">1.00</Money></UnitPrice></ItemDetail></ItemOut>',
        b"",
    ),
    "Distribution": (
        b"</ItemOut>",
        b"",
        b'<Distribution><Accounting name="Cost centre">' + _SEGMENT + b"</Accounting>" + _CHARGE + b"</Distribution>",
        b"",
    ),
    "Segment": (
        b"</ItemOut>",
        b'<Distribution><Accounting name="Split">',
        _SEGMENT,
        b"</Accounting>" + _CHARGE + b"</Distribution>",
    ),
    "Description": (b"</ItemDetail>", b"", b'<Description xml:lang="de">Teil</Description>', b""),
    "Classification": (b"</ItemDetail>", b"", b'<Classification domain="UNSPSC">44120000</Classification>', b""),
    "Extrinsic": (b"</OrderRequestHeader>", b"", b'<Extrinsic name="CostCenter">6100</Extrinsic>', b""),
    "Contact": (b"</OrderRequestHeader>", b"", b'<Contact role="buyer">' + _NAME + b"</Contact>", b""),
    "PostalAddress": (b"</OrderRequestHeader>", b"<Contact>" + _NAME, _ADDRESS, b"</Contact>"),
    "Phone": (b"</OrderRequestHeader>", b"<Contact>" + _NAME, _PHONE, b"</Contact>"),
    "Comments": (b"</OrderRequestHeader>", b"", b'<Comments xml:lang="en">Leave at the gate</Comments>', b""),
    "Attachment": (
        b"</OrderRequestHeader>",
        b'<Comments xml:lang="en">See the drawings',
        b"<Attachment><URL>cid:drawing@buyer.example</URL></Attachment>",
        b"</Comments>",
    ),
}


def _count(document: bytes, tag: str) -> int:
    path = "count(//Segment | //AccountingSegment)" if tag == "Segment" else f"count(//{tag})"
    return int(etree.fromstring(document).xpath(path))  # type: ignore[arg-type]  # count() is a number


def order_with(tag: str, count: int) -> bytes:
    """A one-line order holding exactly ``count`` ``tag`` elements in all."""
    document = builders.order_request(f"PO-MANY-{tag}", [builders.item_out("P1", "1", price="1.00")])
    before, opening, element, closing = _PLACES[tag]
    assert document.count(before) == 1
    missing = count - _count(document, tag)
    document = document.replace(before, opening + element * missing + closing + before)
    assert _count(document, tag) == count
    return document


def test_every_limited_element_has_a_place_in_these_tests() -> None:
    assert set(_PLACES) == set(MAX_ORDER_ELEMENTS)


@pytest.mark.parametrize("tag", list(MAX_ORDER_ELEMENTS))
def test_an_order_with_as_many_of_an_element_as_the_limit_is_accepted(table: Any, queue_url: str, tag: str) -> None:
    # Given a registered partner, and an order holding exactly the limit of one repeated element
    register(table)
    document = order_with(tag, MAX_ORDER_ELEMENTS[tag])
    # When it is sent, Then it is accepted and queued
    assert cxml(post_order(document)).status.code == 200
    assert len(drain(queue_url)) == 1


@pytest.mark.parametrize("tag", list(MAX_ORDER_ELEMENTS))
def test_an_order_with_one_more_of_an_element_than_the_limit_is_400_naming_it(
    table: Any, queue_url: str, tag: str
) -> None:
    # Given a registered partner, and an order holding one more of a repeated element than the limit
    register(table)
    limit = MAX_ORDER_ELEMENTS[tag]
    document = order_with(tag, limit + 1)
    # When it is sent
    answer = cxml(post_order(document))
    # Then the buyer hears at once (400, not retried) which element is over which limit; nothing is queued
    assert answer.status.code == 400
    assert f"{limit + 1:,} {tag}" in answer.status.message
    assert f"at most {limit:,}" in answer.status.message
    assert drain(queue_url) == []


def _order_naming_carts(count: int) -> bytes:
    # Each line names its own cart (a reference as the gateway makes them: 16 base32 letters, a line number)
    refs = [f"{n:016b}".replace("0", "a").replace("1", "b") for n in range(count)]
    items = [builders.item_out(f"P{n}", "1", auxiliary=f"{ref}-1", price="1.00") for n, ref in enumerate(refs)]
    return builders.order_request(f"PO-CARTS-{count}", items, total=f"{count}.00")


def test_an_order_whose_lines_name_as_many_carts_as_the_limit_is_accepted(table: Any, queue_url: str) -> None:
    # Given a registered partner, and an order whose lines name the limit of distinct (unknown) carts
    register(table)
    # When it is sent
    answer = cxml(post_order(_order_naming_carts(MAX_ORDER_CARTS)))
    # Then it is accepted, its lines unmatched (none of those carts is ours)
    assert answer.status.code == 200
    (message,) = drain(queue_url)
    assert {line["status"] for line in message["body"]["reconciliation"]["lines"]} == {"unmatched"}


def test_an_order_whose_lines_name_more_carts_than_the_limit_is_400(table: Any, queue_url: str) -> None:
    # Given a registered partner, and an order whose lines name one cart more than the limit (each read
    # from the table before the answer: 25,000 of them took 64 s)
    register(table)
    # When it is sent
    answer = cxml(post_order(_order_naming_carts(MAX_ORDER_CARTS + 1)))
    # Then it is refused at once, naming the element and the limit; nothing is queued
    assert answer.status.code == 400
    assert f"{MAX_ORDER_CARTS + 1} carts in SupplierPartAuxiliaryID" in answer.status.message
    assert f"at most {MAX_ORDER_CARTS}" in answer.status.message
    assert drain(queue_url) == []


def _save_carts(table: Any, sizes: list[int]) -> list[str]:
    """Transferred carts of the default partner holding ``sizes`` lines: their refs."""
    refs = [f"{n:016b}".replace("0", "c").replace("1", "d") for n in range(len(sizes))]
    for n, (ref, size) in enumerate(zip(refs, sizes, strict=True)):
        cart = Cart.model_validate({"currency": "USD", "lines": builders.large_cart_lines(size)})
        SessionRepository(table).save_cart(
            ref, f"session-{n}", "acme", cart, expected_revision=0, expires_at=datetime.now(UTC) + timedelta(days=1)
        )
    return refs


def _order_from_carts(refs: list[str]) -> bytes:
    # One line from each cart: its first line (not the cart's part number: reconciled as added and removed)
    items = [builders.item_out(f"P{n}", "1", auxiliary=f"{ref}-1", price="1.00") for n, ref in enumerate(refs)]
    return builders.order_request("PO-FROM-CARTS", items, total=f"{len(refs)}.00")


def test_an_order_from_carts_holding_as_many_lines_as_the_limit_is_accepted(table: Any, queue_url: str) -> None:
    # Given a registered partner with two transferred carts holding the limit of lines between them
    register(table)
    half = MAX_RECONCILED_CART_LINES // 2
    refs = _save_carts(table, [half, MAX_RECONCILED_CART_LINES - half])
    # When an order naming both is sent
    answer = cxml(post_order(_order_from_carts(refs)))
    # Then it is accepted, reconciled with both carts
    assert answer.status.code == 200
    (message,) = drain(queue_url)
    assert message["body"]["complete"] is False  # too large for the queue: the shop reads it by its API
    assert len(message["body"]["sessions"]) == 2


def test_an_order_from_carts_holding_more_lines_than_the_limit_is_400(table: Any, queue_url: str) -> None:
    # Given a registered partner with three transferred carts holding one line more than the limit in all
    register(table)
    half = MAX_RECONCILED_CART_LINES // 2
    refs = _save_carts(table, [half, MAX_RECONCILED_CART_LINES - half, 1])
    # When an order naming all three is sent
    answer = cxml(post_order(_order_from_carts(refs)))
    # Then it is refused at once (each cart read into models and reconciled: ten 5,000-line carts took
    # 440 MB), naming the limit; nothing is queued
    assert answer.status.code == 400
    assert f"at most {MAX_RECONCILED_CART_LINES:,} are reconciled" in answer.status.message
    assert drain(queue_url) == []
