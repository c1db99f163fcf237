"""OrderRequest limits, kept rather than a run past the order function's memory or timeout (a 5xx the buyer
retries, then gives up on): repeated elements are a quick 400 naming the element and the limit; carts one
order names past their limits are not read, and the order goes on with their lines unmatched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from punchout.cxml.reader import MAX_ORDER_ELEMENTS
from punchout.sessions import Cart
from punchout.store.orders import OrderRepository
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


# The limits README.md documents for buyers (Security): what the refusals must name.
DOCUMENTED_LIMITS = {
    **dict.fromkeys(("ItemOut", "Contact", "PostalAddress", "Phone", "Comments", "Attachment"), 10_000),
    **dict.fromkeys(("Distribution", "Description", "Classification"), 20_000),
    **dict.fromkeys(("Segment", "Extrinsic"), 60_000),
}
# The carts, and their lines in all, that one order is compared with (README, Order messages).
DOCUMENTED_CARTS = 100
DOCUMENTED_CART_LINES = 10_000


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
    assert set(_PLACES) == set(MAX_ORDER_ELEMENTS) == set(DOCUMENTED_LIMITS)


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
    assert f"at most {DOCUMENTED_LIMITS[tag]:,}" in answer.status.message
    assert drain(queue_url) == []


def _order_naming_carts(count: int) -> bytes:
    # Each line names its own cart (a reference as the gateway makes them: 16 base32 letters, a line number)
    refs = [f"{n:016b}".replace("0", "a").replace("1", "b") for n in range(count)]
    items = [builders.item_out(f"P{n}", "1", auxiliary=f"{ref}-1", price="1.00") for n, ref in enumerate(refs)]
    return builders.order_request(f"PO-CARTS-{count}", items, total=f"{count}.00")


def _reconciliation(table: Any, queue_url: str) -> dict[str, Any]:
    """The reconciliation of the one order queued, read from the stored message (the queued one may leave it out)."""
    (queued,) = drain(queue_url)
    record = OrderRepository(table).find(queued["body"]["message_id"])
    assert record is not None
    reconciliation: dict[str, Any] = json.loads(OrderRepository(table).message(record))["reconciliation"]
    return reconciliation


def test_an_order_whose_lines_name_as_many_carts_as_the_limit_is_accepted(table: Any, queue_url: str) -> None:
    # Given a registered partner, and an order whose lines name the limit of distinct (unknown) carts
    register(table)
    # When it is sent
    answer = cxml(post_order(_order_naming_carts(DOCUMENTED_CARTS)))
    # Then it is accepted, every cart looked for, its lines unmatched (none of those carts is ours); with no
    # cart left unread the reconciliation has the keys it had before unread_cart_refs (older shops' schema)
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    assert set(reconciliation) == {"from_punchout", "cart_refs", "lines"}
    assert {line["status"] for line in reconciliation["lines"]} == {"unmatched"}


def _save_carts(
    table: Any, sizes: list[int], *, partner_id: str = "acme", mode: str = "production", first: int = 0
) -> list[tuple[str, str]]:
    """Transferred carts of the default partner (or ``partner_id`` in ``mode``) holding ``sizes`` lines: each
    one's ref and first part. Refs sort in the order of ``first`` and the carts' positions from it."""
    saved = []
    for n, size in enumerate(sizes, first):
        ref = f"{n:016b}".replace("0", "c").replace("1", "d")
        cart = Cart.model_validate({"currency": "USD", "lines": builders.large_cart_lines(size)})
        SessionRepository(table).save_cart(
            ref,
            f"session-{n}",
            partner_id,
            cart,
            deployment_mode=mode,  # type: ignore[arg-type]
            expected_revision=0,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        saved.append((ref, cart.lines[0].supplier_part_id))
    return saved


def _order_from_carts(carts: list[tuple[str, str]]) -> bytes:
    # The first line of each cart (the cart's part at the cart's reference)
    items = [builders.item_out(part, "1", auxiliary=f"{ref}-1", price="1.00") for ref, part in carts]
    return builders.order_request("PO-FROM-CARTS", items, total=f"{len(carts)}.00")


def _statuses(reconciliation: dict[str, Any]) -> dict[str, str]:
    """The status of each order line, by the cart it names."""
    return {
        line["supplier_part_auxiliary_id"].rsplit("-", 1)[0]: line["status"]
        for line in reconciliation["lines"]
        if line["order_line_number"] is not None
    }


def test_carts_past_the_limit_of_carts_are_not_read_and_their_lines_are_unmatched(table: Any, queue_url: str) -> None:
    # Given a registered partner with one cart more than the limit, and an order taking a line of each
    # (each cart is read from the table before the answer: 25,000 of them took 64 s)
    register(table)
    carts = _save_carts(table, [1] * (DOCUMENTED_CARTS + 1))
    # When it is sent
    answer = cxml(post_order(_order_from_carts(carts)))
    # Then it is accepted; the first carts are compared, the last is named unread and its line unmatched
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    last = carts[-1][0]
    assert reconciliation["unread_cart_refs"] == [last]
    assert reconciliation["cart_refs"] == [ref for ref, _ in carts[:-1]]
    statuses = _statuses(reconciliation)
    assert statuses.pop(last) == "unmatched"
    assert set(statuses.values()) == {"quantity_and_price_changed"}


def test_an_order_from_carts_holding_as_many_lines_as_the_limit_is_reconciled_with_all(
    table: Any, queue_url: str
) -> None:
    # Given a registered partner with two transferred carts holding the limit of lines between them
    register(table)
    half = DOCUMENTED_CART_LINES // 2
    carts = _save_carts(table, [half, DOCUMENTED_CART_LINES - half])
    # When an order naming both is sent
    answer = cxml(post_order(_order_from_carts(carts)))
    # Then it is accepted, reconciled with both carts (their other lines removed)
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    assert (reconciliation["cart_refs"], reconciliation.get("unread_cart_refs")) == ([ref for ref, _ in carts], None)
    assert set(_statuses(reconciliation).values()) == {"quantity_and_price_changed"}
    removed = [line for line in reconciliation["lines"] if line["status"] == "removed"]
    assert len(removed) == DOCUMENTED_CART_LINES - 2


@pytest.mark.parametrize(
    ("sizes", "compared"),
    [
        ([DOCUMENTED_CART_LINES // 2, DOCUMENTED_CART_LINES - DOCUMENTED_CART_LINES // 2, 1], 2),
        ([DOCUMENTED_CART_LINES // 2, DOCUMENTED_CART_LINES - DOCUMENTED_CART_LINES // 2 + 1, 1], 1),
    ],
    ids=["the last cart one line over", "a middle cart one line over"],
)
def test_carts_past_the_line_limit_are_not_read_and_their_lines_are_unmatched(
    table: Any, queue_url: str, sizes: list[int], compared: int
) -> None:
    # Given a registered partner with carts holding one line more than the limit in all (each cart read
    # into models and reconciled: ten 5,000-line carts took 440 MB), and an order naming all of them
    register(table)
    carts = _save_carts(table, sizes)
    # When it is sent
    answer = cxml(post_order(_order_from_carts(carts)))
    # Then it is accepted; the carts within the limit are compared, the one that goes over it and those
    # after it are named unread, their lines unmatched and their other lines not reported removed
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    refs = [ref for ref, _ in carts]
    assert (reconciliation["cart_refs"], reconciliation["unread_cart_refs"]) == (refs[:compared], refs[compared:])
    statuses = _statuses(reconciliation)
    assert [statuses[ref] for ref in refs[compared:]] == ["unmatched"] * (len(refs) - compared)
    assert {statuses[ref] for ref in refs[:compared]} == {"quantity_and_price_changed"}
    removed = [line for line in reconciliation["lines"] if line["status"] == "removed"]
    assert len(removed) == sum(sizes[:compared]) - compared


@pytest.mark.parametrize(("partner_id", "mode"), [("globex", "production"), ("acme", "test")])
def test_carts_of_another_partner_or_mode_spend_nothing_of_the_line_limit(
    table: Any, queue_url: str, partner_id: str, mode: str
) -> None:
    # Given carts of another partner (or of the partner's test system) holding more than the limit of lines,
    # and a cart of the partner whose ref sorts after theirs
    register(table)
    half = DOCUMENTED_CART_LINES // 2
    others = _save_carts(table, [half, half + 1], partner_id=partner_id, mode=mode)
    own = _save_carts(table, [1], first=len(others))
    # When the partner's order names a line of each
    answer = cxml(post_order(_order_from_carts([*others, *own])))
    # Then its own cart is compared, and the others are as carts nobody has: neither compared nor named unread
    # (their lines are not read for it), their lines added beside the matched one
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    assert (reconciliation["cart_refs"], reconciliation.get("unread_cart_refs")) == ([own[0][0]], None)
    assert [_statuses(reconciliation)[ref] for ref, _ in others] == ["added", "added"]


def test_a_damaged_cart_is_not_read_and_its_lines_are_unmatched_beside_a_cart_that_was(
    table: Any, queue_url: str
) -> None:
    # Given a registered partner with two transferred carts, the second damaged (its lines no longer stored)
    register(table)
    carts = _save_carts(table, [2, 2])
    damaged = carts[1][0]
    for item in table.query(f"CART#{damaged}", "LINES#"):
        table.delete(f"CART#{damaged}", item["sk"]["S"])
    # When an order taking a line of each is sent
    answer = cxml(post_order(_order_from_carts(carts)))
    # Then it is accepted; the damaged cart is named unread and its line is unmatched, not "added"
    assert answer.status.code == 200
    reconciliation = _reconciliation(table, queue_url)
    assert (reconciliation["cart_refs"], reconciliation["unread_cart_refs"]) == ([carts[0][0]], [damaged])
    assert _statuses(reconciliation) == {carts[0][0]: "quantity_and_price_changed", damaged: "unmatched"}
