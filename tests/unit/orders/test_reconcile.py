"""Reconciliation of order lines with the transferred cart, on hand-built carts and order lines.

The shop acts on these statuses (PROTOCOL.md section 5): a line reported ``unchanged`` is shipped as
the cart had it, so every difference approval made must show.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal
from typing import Literal

import pytest

from punchout.cxml.models import Money
from punchout.orders import OrderLine, Reconciliation, UnitsSent, reconcile
from punchout.sessions import Cart, CartLine, line_reference

Form = Literal["NFC", "NFD"]
REF = "abcdefghijklmnop"  # a cart ref as new_cart_ref() makes them: 16 characters of base32
OTHER_REF = "qrstuvwxyz234567"


def cart(*lines: tuple[str, str, str], currency: str = "EUR") -> Cart:
    """A transferred cart of ``(part, quantity, unit price)`` lines."""
    return Cart(
        currency=currency,
        lines=[
            CartLine(supplier_part_id=part, quantity=Decimal(quantity), unit_price=Decimal(price), description=part)
            for part, quantity, price in lines
        ],
    )


def order_line(
    number: int, part: str, quantity: str, price: str | None, auxiliary: str | None, currency: str = "EUR"
) -> OrderLine:
    return OrderLine(
        line_number=number,
        quantity=Decimal(quantity),
        supplier_part_id=part,
        supplier_part_auxiliary_id=auxiliary,
        unit_price=Money(amount=Decimal(price), currency=currency) if price is not None else None,
    )


def statuses(reconciliation: Reconciliation) -> list[tuple[str, str, str | None, int | None, int | None]]:
    """Each reconciled line as (status, part, auxiliary id, order line number, cart line number)."""
    return [
        (ln.status, ln.supplier_part_id, ln.supplier_part_auxiliary_id, ln.order_line_number, ln.cart_line_number)
        for ln in reconciliation.lines
    ]


def test_each_kind_of_change_gets_its_status() -> None:
    # Given a cart of four lines
    carts = {REF: cart(("A", "1", "10.00"), ("B", "2", "20.00"), ("C", "3", "30.00"), ("D", "4", "40.00"))}
    # When approval kept A, changed B's quantity, C's price, D's quantity and price, and added E
    lines = [
        order_line(1, "A", "1", "10.00", line_reference(REF, 1)),
        order_line(2, "B", "5", "20.00", line_reference(REF, 2)),
        order_line(3, "C", "3", "29.00", line_reference(REF, 3)),
        order_line(4, "D", "1", "41.00", line_reference(REF, 4)),
        order_line(5, "E", "1", "7.00", None),
    ]
    result = reconcile(lines, carts)
    # Then each line says exactly what happened to it
    assert result.from_punchout is True
    assert result.cart_refs == [REF]
    assert statuses(result) == [
        ("unchanged", "A", f"{REF}-1", 1, 1),
        ("quantity_changed", "B", f"{REF}-2", 2, 2),
        ("price_changed", "C", f"{REF}-3", 3, 3),
        ("quantity_and_price_changed", "D", f"{REF}-4", 4, 4),
        ("added", "E", None, 5, None),
    ]


def test_an_order_line_without_a_price_changes_only_by_quantity() -> None:
    # Given a cart line, and an order line for it without ItemDetail (no price to compare)
    carts = {REF: cart(("A", "2", "10.00"))}
    lines = [order_line(1, "A", "2", None, line_reference(REF, 1))]
    # Then it is unchanged
    assert statuses(reconcile(lines, carts)) == [("unchanged", "A", f"{REF}-1", 1, 1)]


def test_a_price_in_another_currency_is_a_price_change() -> None:
    # Given a cart in EUR, and an order line at the same number in USD
    carts = {REF: cart(("A", "2", "10.00"), ("B", "1", "5.00"), currency="EUR")}
    lines = [
        order_line(1, "A", "2", "10.00", line_reference(REF, 1), currency="USD"),
        order_line(2, "B", "3", "5.00", line_reference(REF, 2), currency="USD"),
    ]
    # When they are reconciled
    result = reconcile(lines, carts)
    # Then the price changed (10 USD is not 10 EUR), and the cart's and the order's currencies show it
    assert statuses(result) == [
        ("price_changed", "A", f"{REF}-1", 1, 1),
        ("quantity_and_price_changed", "B", f"{REF}-2", 2, 2),
    ]
    first = result.lines[0]
    assert first.cart is not None and first.order is not None
    assert (first.cart.currency, first.order.currency) == ("EUR", "USD")


def test_a_line_split_in_two_matches_the_cart_line_once_and_the_other_half_is_added() -> None:
    # Given a cart line of 10 pieces
    carts = {REF: cart(("A", "10", "3.00"))}
    # When approval splits it into two order lines of 6 and 4 that both carry its reference
    lines = [
        order_line(1, "A", "6", "3.00", line_reference(REF, 1)),
        order_line(2, "A", "4", "3.00", line_reference(REF, 1)),
    ]
    result = reconcile(lines, carts)
    # Then the first matches the cart line (its quantity changed), the second is an added line
    assert statuses(result) == [
        ("quantity_changed", "A", f"{REF}-1", 1, 1),
        ("added", "A", f"{REF}-1", 2, None),
    ]
    assert result.lines[1].cart is None


def test_a_substituted_part_at_the_same_reference_is_added_and_the_cart_line_removed() -> None:
    # Given a cart line for part A
    carts = {REF: cart(("A", "1", "10.00"), ("B", "1", "5.00"))}
    # When approval replaced A with part Z (same quantity and price) and kept the reference
    lines = [
        order_line(1, "Z", "1", "10.00", line_reference(REF, 1)),
        order_line(2, "B", "1", "5.00", line_reference(REF, 2)),
    ]
    result = reconcile(lines, carts)
    # Then Z is not reported unchanged against A: Z is added, A removed
    assert statuses(result) == [
        ("unchanged", "B", f"{REF}-2", 2, 2),
        ("added", "Z", f"{REF}-1", 1, None),
        ("removed", "A", f"{REF}-1", None, 1),
    ]


def test_cart_lines_missing_from_the_order_are_removed_with_the_cart_values() -> None:
    # Given two carts, and an order taking one line of the first
    carts = {REF: cart(("A", "1", "10.00"), ("B", "2", "20.00")), OTHER_REF: cart(("C", "3", "30.00"))}
    lines = [order_line(1, "A", "1", "10.00", line_reference(REF, 1))]
    result = reconcile(lines, carts)
    # Then every other cart line is removed, by cart ref and line number
    assert result.cart_refs == [REF, OTHER_REF]
    assert statuses(result) == [
        ("unchanged", "A", f"{REF}-1", 1, 1),
        ("removed", "B", f"{REF}-2", None, 2),
        ("removed", "C", f"{OTHER_REF}-1", None, 1),
    ]
    removed = result.lines[1]
    assert removed.order is None and removed.cart is not None
    assert (removed.cart.quantity, removed.cart.unit_price, removed.cart.currency) == (
        Decimal(2),
        Decimal("20.00"),
        "EUR",
    )


def test_an_order_from_no_cart_of_ours_has_only_unmatched_lines() -> None:
    # Given no cart (the order did not come from PunchOut), and lines citing a cart not among them or
    # a line number beyond the cart
    carts = {REF: cart(("A", "1", "10.00"))}
    lines = [
        order_line(1, "A", "1", "10.00", line_reference(OTHER_REF, 1)),
        order_line(2, "A", "1", "10.00", line_reference(REF, 2)),
        order_line(3, "X", "1", "1.00", "shop-own-id"),
    ]
    # When they are reconciled without the cart, or against a cart none of them matches
    alone = reconcile(lines, {})
    unmatched = reconcile(lines, carts)
    # Then the lines are unmatched (not "added": nothing came from a cart), and the cart line removed
    assert alone.from_punchout is False
    assert statuses(alone) == [
        ("unmatched", "A", f"{OTHER_REF}-1", 1, None),
        ("unmatched", "A", f"{REF}-2", 2, None),
        ("unmatched", "X", "shop-own-id", 3, None),
    ]
    assert unmatched.from_punchout is False
    assert statuses(unmatched)[-1] == ("removed", "A", f"{REF}-1", None, 1)


def test_lines_of_a_cart_not_read_are_unmatched_beside_lines_that_matched() -> None:
    # Given a cart that was read and one that was not (damaged, or past what one order reconciles), an order
    # taking a line of each and a line from neither
    carts = {REF: cart(("A", "1", "10.00"), ("B", "1", "5.00"))}
    lines = [
        order_line(1, "A", "1", "10.00", line_reference(REF, 1)),
        order_line(2, "C", "1", "3.00", line_reference(OTHER_REF, 1)),
        order_line(3, "D", "1", "4.00", None),
    ]
    # When they are reconciled
    result = reconcile(lines, carts, unread=frozenset({OTHER_REF}))
    # Then the unread cart's line is unmatched (nothing says approval added it), the line from no cart is
    # added, the unread cart is named as such, and only the read cart's lines left out are removed
    assert result.from_punchout is True
    assert (result.cart_refs, result.unread_cart_refs) == ([REF], [OTHER_REF])
    assert statuses(result) == [
        ("unchanged", "A", f"{REF}-1", 1, 1),
        ("unmatched", "C", f"{OTHER_REF}-1", 2, None),
        ("added", "D", None, 3, None),
        ("removed", "B", f"{REF}-2", None, 2),
    ]


def test_the_cart_side_carries_the_shops_own_reference_description_and_unit() -> None:
    # Given a cart whose lines carry the shop's own auxiliary ids, descriptions and units
    lines = [
        CartLine(
            supplier_part_id=part,
            supplier_part_auxiliary_id=f"shop-{part}",
            quantity=Decimal(1),
            unit_price=Decimal("10.00"),
            description=f"Part {part}",
            unit_of_measure="BX",
        )
        for part in ("A", "B")
    ]
    carts = {REF: Cart(currency="EUR", lines=lines)}
    # When the order takes the first line and drops the second
    result = reconcile([order_line(1, "A", "1", "10.00", line_reference(REF, 1))], carts)
    # Then the matched line and the removed one each carry their cart line's shop reference, description
    # and unit: what the shop finds its own lines by
    matched, removed = result.lines
    assert (matched.status, removed.status) == ("unchanged", "removed")
    assert (matched.shop_auxiliary_id, removed.shop_auxiliary_id) == ("shop-A", "shop-B")
    assert matched.cart is not None and removed.cart is not None
    assert [(side.description, side.unit_of_measure) for side in (matched.cart, removed.cart)] == [
        ("Part A", "BX"),
        ("Part B", "BX"),
    ]


def test_lines_match_by_their_reference_whatever_their_order_and_line_zero_matches_nothing() -> None:
    # Given a cart of three lines
    carts = {REF: cart(("A", "1", "10.00"), ("B", "2", "20.00"), ("C", "3", "30.00"))}
    # When the order lists them in another order, under its own line numbers, and adds a line citing
    # line 0 of the cart (no such line: lines count from 1)
    lines = [
        order_line(10, "C", "3", "30.00", line_reference(REF, 3)),
        order_line(20, "A", "1", "10.00", line_reference(REF, 1)),
        order_line(30, "C", "1", "30.00", line_reference(REF, 0)),
    ]
    result = reconcile(lines, carts)
    # Then each is matched to the cart line its reference names, the line-0 one is added, B removed
    assert statuses(result) == [
        ("unchanged", "C", f"{REF}-3", 10, 3),
        ("unchanged", "A", f"{REF}-1", 20, 1),
        ("added", "C", f"{REF}-0", 30, None),
        ("removed", "B", f"{REF}-2", None, 2),
    ]


@pytest.mark.parametrize(("cart_form", "order_form"), [("NFC", "NFD"), ("NFD", "NFC")], ids=["nfd-order", "nfd-cart"])
def test_a_part_id_the_buyer_sends_back_in_another_unicode_normalization_form_is_the_same_part(
    cart_form: Form, order_form: Form
) -> None:
    # Given a cart line whose part id holds an accented letter ("é": one code point in NFC, "e" and a
    # combining accent in NFD), and whose description is Japanese with a voiced kana ("ガ": one or two)
    part, description = "CAFÉ-Ø1", "ガラス瓶 café"
    carts = {
        REF: Cart(
            currency="JPY",
            lines=[
                CartLine(
                    supplier_part_id=unicodedata.normalize(cart_form, part),
                    quantity=Decimal(2),
                    unit_price=Decimal(500),
                    description=unicodedata.normalize(cart_form, description),
                )
            ],
        )
    }
    # When the buyer's system sends the line back with the same text in the other form (macOS and Java
    # front ends, and some databases, normalise what they store)
    line = order_line(1, unicodedata.normalize(order_form, part), "2", "500", line_reference(REF, 1), "JPY")
    line = line.model_copy(update={"description": unicodedata.normalize(order_form, description)})
    result = reconcile([line], carts)
    # Then it is the cart's line, unchanged: the same characters, not a part added and another removed
    assert statuses(result) == [("unchanged", unicodedata.normalize(order_form, part), f"{REF}-1", 1, 1)]
    assert result.from_punchout is True


@pytest.mark.parametrize(("cart_part", "order_part"), [("P²", "P2"), ("\uff21\uff22-1", "AB-1"), ("ﬁlter", "filter")])
def test_a_part_id_equal_only_under_compatibility_normalization_is_another_part(
    cart_part: str, order_part: str
) -> None:
    # Given a cart of X and of a part id holding a superscript, full-width letters or a ligature
    carts = {REF: cart(("X", "1", "5.00"), (cart_part, "1", "5.00"))}
    # When the order names both lines' references, the second with the part id NFKC would make of it
    order = [
        order_line(1, "X", "1", "5.00", line_reference(REF, 1)),
        order_line(2, order_part, "1", "5.00", line_reference(REF, 2)),
    ]
    # Then it is not the cart's part (other characters: NFC, not NFKC): a line added and the cart's removed
    assert [line.status for line in reconcile(order, carts).lines] == ["unchanged", "added", "removed"]


def test_numbers_are_compared_as_values_and_the_smallest_change_shows_whatever_the_currencys_places() -> None:
    # Given a cart in yen (no minor unit) whose quantities and prices the shop wrote in several ways
    carts = {REF: cart(("A", "10", "10"), ("B", "10.00", "1E+1"), ("C", "2.5", "100"), currency="JPY")}
    # When the buyer writes the same values otherwise, and changes C's price by a thousandth of a yen (its
    # system priced it with more places than yen have; the gateway reads what buyers send as written)
    lines = [
        order_line(1, "A", "1E+1", "10.000", line_reference(REF, 1), "JPY"),
        order_line(2, "B", "10", "10", line_reference(REF, 2), "JPY"),
        order_line(3, "C", "2.500", "100.001", line_reference(REF, 3), "JPY"),
    ]
    result = reconcile(lines, carts)
    # Then the same values are unchanged, and the thousandth is a price change: nothing is rounded away
    assert statuses(result) == [
        ("unchanged", "A", f"{REF}-1", 1, 1),
        ("unchanged", "B", f"{REF}-2", 2, 2),
        ("price_changed", "C", f"{REF}-3", 3, 3),
    ]


def _unit_flags(reconciliation: Reconciliation) -> list[tuple[str, str, object]]:
    """Each reconciled line as the shop receives it: (part, status, ``unit_of_measure_changed`` or absent)."""
    dumped = reconciliation.model_dump(mode="json", by_alias=True)["lines"]
    return [
        (line["supplier_part_id"], line["status"], line.get("unit_of_measure_changed", "absent")) for line in dumped
    ]


def test_a_unit_the_buyer_changed_is_flagged_beside_the_status_which_keeps_its_values() -> None:
    # Given a cart of six lines of 10 EA each
    lines = [
        CartLine(supplier_part_id=part, quantity=Decimal(10), unit_price=Decimal("5.00"), description=part)
        for part in ("A", "B", "C", "D", "E", "F")
    ]
    carts = {REF: Cart(currency="EUR", lines=lines)}

    def ordered(number: int, part: str, quantity: str, unit: str | None) -> OrderLine:
        line = order_line(number, part, quantity, "5.00", line_reference(REF, number))
        return line.model_copy(update={"unit_of_measure": unit})

    # When approval orders A as 10 boxes, B as " ea " (the same code, read as cXML codes are), C as 12
    # boxes, D without a unit (an ItemDetail without UnitOfMeasure), E without ItemDetail, and drops F
    order = [
        ordered(1, "A", "10", "BX"),
        ordered(2, "B", "10", " ea "),
        ordered(3, "C", "12", "BX"),
        ordered(4, "D", "10", ""),
        ordered(5, "E", "10", None),
        order_line(6, "G", "1", "5.00", None),
    ]
    result = reconcile(order, carts)
    # Then the status says what it always said (the published enum has no value for a unit), and a line whose
    # unit changed says so beside it: ten boxes are not ten eaches. Lines with nothing to compare, and lines
    # without both sides, carry no flag (absent, as before the field)
    assert _unit_flags(result) == [
        ("A", "unchanged", True),
        ("B", "unchanged", "absent"),
        ("C", "quantity_changed", True),
        ("D", "unchanged", "absent"),
        ("E", "unchanged", "absent"),
        ("G", "added", "absent"),
        ("F", "removed", "absent"),
    ]
    # And both units are shown side by side, as the buyer and the shop wrote them
    assert result.lines[0].cart is not None and result.lines[0].order is not None
    assert (result.lines[0].cart.unit_of_measure, result.lines[0].order.unit_of_measure) == ("EA", "BX")


def test_a_cart_line_stored_without_a_unit_was_sent_as_each() -> None:
    # Given a cart stored without units (the shop sent none, or null): the buyer was sent EA
    lines = [{"supplier_part_id": part, "quantity": "1", "unit_price": "1", "description": part} for part in "AB"]
    stored = json.dumps({"currency": "EUR", "lines": lines})
    carts = {REF: Cart.model_validate_json(stored)}
    # When the buyer orders A as EA and B as BX
    order = [
        order_line(1, "A", "1", "1", line_reference(REF, 1)).model_copy(update={"unit_of_measure": "EA"}),
        order_line(2, "B", "1", "1", line_reference(REF, 2)).model_copy(update={"unit_of_measure": "BX"}),
    ]
    # Then only B's unit changed
    assert _unit_flags(reconcile(order, carts)) == [("A", "unchanged", "absent"), ("B", "unchanged", True)]


def test_a_recorded_mapping_is_what_was_sent_and_an_unrecorded_one_also_takes_the_shops_unit() -> None:
    # Given a cart of A and B in BOX, a unit the partner maps to BX
    lines = [
        CartLine(
            supplier_part_id=part, quantity=Decimal(1), unit_price=Decimal(5), description=part, unit_of_measure="BOX"
        )
        for part in "AB"
    ]
    carts = {REF: Cart(currency="EUR", lines=lines)}
    # When the buyer orders A as BX and B as BOX (the shop's own unit)
    order = [
        order_line(n, part, "1", "5", line_reference(REF, n)).model_copy(update={"unit_of_measure": unit})
        for n, (part, unit) in enumerate((("A", "BX"), ("B", "BOX")), 1)
    ]
    # Then, the transfer having recorded the mapping, the buyer was sent BX: B's BOX is a change
    recorded = reconcile(order, carts, frozenset(), {REF: UnitsSent({"BOX": "BX"})})
    assert _unit_flags(recorded) == [("A", "unchanged", "absent"), ("B", "unchanged", True)]
    # And for a cart transferred before mappings were recorded, either unit could have been sent: neither changed
    unrecorded = reconcile(order, carts, frozenset(), {REF: UnitsSent({"BOX": "BX"}, recorded=False)})
    assert _unit_flags(unrecorded) == [("A", "unchanged", "absent"), ("B", "unchanged", "absent")]
