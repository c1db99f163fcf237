"""Property tests of the shop API: carts generated near the valid shape, then mutated, sent to the real
handler through ``invoke`` (which holds every answer to the published OpenAPI document).

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from punchout.partners import TradingPartner
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support.fuzz import XML_CHARACTERS, fuzz_settings
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    body_json,
    call,
    follow,
    item_outs,
    message_tree,
    open_session,
    open_session_with,
    setup_document,
    stored_partner,
)

FUZZ = fuzz_settings(40)


class Raw:
    """A JSON literal written as it is (numbers json.dumps could not write: 1e400, -0, 1E-8...)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


class Pairs:
    """A JSON object written from pairs, so that a key may appear twice."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs

    def __repr__(self) -> str:
        return f"Pairs({self.pairs!r})"


def dumps(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


# --- generated carts ------------------------------------------------------------------------------

# Often with surrounding whitespace: the cXML reader strips what the buyer sends back, the cart keeps it.
good_text = st.text(XML_CHARACTERS, min_size=1, max_size=30).flatmap(
    lambda s: st.sampled_from([s, s, f" {s}", f"{s} \t", "\n"])
)
# The texts a line must have: not whitespace only (whitespace around is kept).
required_text = (
    st.text(XML_CHARACTERS, min_size=1, max_size=30)
    .filter(str.strip)
    .flatmap(lambda s: st.sampled_from([s, s, f" {s}", f"{s} \t"]))
)


def filled(size: int) -> st.SearchStrategy[str]:
    return st.text(XML_CHARACTERS, min_size=1, max_size=size).filter(str.strip)


any_text = st.one_of(
    good_text,
    st.text(st.characters(codec="utf-8"), max_size=30),  # controls, U+FFFE...
    st.text(st.sampled_from("\x00\x01\x0b\x1f\ufffe\uffff\U0001f600\u0301\u200b \t\n"), max_size=8),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\U0001f600", " "]), st.integers(250, 4100)),
)


def decimal_text(whole: int, places: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda w, p: w + ("." + p if p else ""),
        st.text("0123456789", min_size=1, max_size=whole).map(lambda s: s.lstrip("0") or "0"),
        st.text("0123456789", max_size=places),
    )


positive_decimal = decimal_text(12, 6).filter(lambda s: Decimal(s) > 0)
number_literals = st.sampled_from(
    [
        "0", "-0", "-0.0", "0.0", "1", "-1", "1e400", "-1e400", "1E-8", "1e-7", "1E+3", "1e2", "123456789012.345678",
        "999999999999.999999", "1000000000000", "0.0000001", "9" * 30, "1" + "0" * 4400, "1e999999999", "1.5e-999999",
        "2.50", "0.000001", "00012", "1.0e0", "3.14159265358979323846264338327950288",
    ]
)  # fmt: skip
exotic_number = st.one_of(
    number_literals.map(Raw),
    number_literals.map(lambda s: s),  # the same as strings
    st.integers(-(10**20), 10**20).map(lambda n: Raw(str(n))),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).map(lambda d: Raw(str(d))),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", " 1", "1 ", "1,5", "١٢", "½", "0x10", "+1", ".5", "5."]),
)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), exotic_number, any_text),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["a", "lines", "", "é"]), children, max_size=3)
    ),
    max_leaves=6,
)

valid_line = st.fixed_dictionaries(
    {
        "supplier_part_id": required_text,
        "quantity": st.one_of(positive_decimal, positive_decimal.map(Raw)),
        "unit_price": st.one_of(decimal_text(12, 6), decimal_text(12, 6).map(Raw)),
        "description": required_text,
    },
    optional={
        "supplier_part_auxiliary_id": good_text,
        "currency": st.just("USD"),
        "unit_of_measure": filled(10),
        "classification": st.fixed_dictionaries(
            {"value": filled(40)},
            optional={"domain": filled(40)},
        ),
        "manufacturer_part_id": good_text,
        "manufacturer_name": good_text,
        "lead_time_days": st.integers(0, 3650),
        # the shop's page of the product: an absolute web URL (anything else is refused, see test_shop_api)
        "url": good_text.map(lambda s: f"https://shop.example.com/{s}"),
    },
)
# A charge is an amount paid: within USD's 2 minor units (more places are 422, see test_cart_money), written
# with up to the 4 places the document gives (trailing zeros).
charge_amount = st.builds(
    lambda amount, zeros: amount + zeros if "." in amount else amount,
    decimal_text(14, 2),
    st.sampled_from(["", "0", "00"]),
)
valid_charge = st.fixed_dictionaries({"amount": charge_amount, "description": required_text})
valid_cart = st.fixed_dictionaries(
    {"lines": st.lists(valid_line, max_size=4)},
    optional={
        "currency": st.just("USD"),
        "shipping": valid_charge,
        "tax": valid_charge,
        "comments": st.text(XML_CHARACTERS, max_size=50),
    },
)


def _total_fits(cart: dict[str, Any]) -> bool:
    """Whether an order could carry the cart's total back (24 digits before the point): else it is 422."""
    total = sum(
        Decimal(dumps(ln["quantity"]).strip('"')) * Decimal(dumps(ln["unit_price"]).strip('"')) for ln in cart["lines"]
    )
    return total < 10**24


storable_cart = valid_cart.filter(_total_fits)
LINE_KEYS = [
    "supplier_part_id", "supplier_part_auxiliary_id", "quantity", "unit_price", "currency", "description",
    "unit_of_measure", "classification", "manufacturer_part_id", "manufacturer_name", "lead_time_days", "url",
]  # fmt: skip
CART_KEYS = ["currency", "lines", "shipping", "tax", "comments"]


@st.composite
def mutated_cart(draw: st.DrawFn) -> Any:
    cart: Any = draw(valid_cart)
    for _ in range(draw(st.integers(0, 3))):
        # pick a target object: the cart, a line, a charge or a classification
        targets: list[dict[str, Any]] = [cart]
        for value in cart.get("lines", []) if isinstance(cart.get("lines"), list) else []:
            if isinstance(value, dict):
                targets.append(value)
                if isinstance(value.get("classification"), dict):
                    targets.append(value["classification"])
        targets += [cart[k] for k in ("shipping", "tax") if isinstance(cart.get(k), dict)]
        target = draw(st.sampled_from(targets))
        keys = CART_KEYS if target is cart else [*LINE_KEYS, "amount", "domain", "value"]
        kind = draw(st.sampled_from(["drop", "extra", "junk", "number", "text", "dup", "wrap", "null"]))
        key = draw(st.sampled_from(keys))
        if kind == "drop":
            target.pop(key, None)
        elif kind == "extra":
            target[draw(st.sampled_from(["extra", "Quantity", "quantity ", "__proto__", "é"]))] = draw(junk)
        elif kind == "junk":
            target[key] = draw(junk)
        elif kind == "number":
            target[key] = draw(exotic_number)
        elif kind == "text":
            target[key] = draw(any_text)
        elif kind == "null":
            target[key] = None
        elif kind == "wrap":
            target[key] = [target.get(key)]
        elif kind == "dup" and target is cart:
            pairs = [*cart.items(), (key, draw(junk))]
            return Pairs(draw(st.permutations(pairs)))
    if draw(st.integers(0, 20)) == 0:
        return draw(junk)
    return cart


# --- the expected normal form -----------------------------------------------------------------------


def _same_decimal(sent: Any, stored: str) -> bool:
    text = sent.text if isinstance(sent, Raw) else str(sent)
    return Decimal(text) == Decimal(stored)


# What the shop API reads as meant (README, "What PHP and Go send"): null as a field's default, Go's "" as
# none for these texts, PHP's [] as no classification, an integer id as the text of its digits.
_DEFAULT_FOR_NULL = {"unit_of_measure": "EA"}
_GO_ZERO_IS_NONE = {"supplier_part_auxiliary_id", "manufacturer_part_id", "manufacturer_name", "url", "currency"}
_INTEGER_IDS = {"supplier_part_id", "supplier_part_auxiliary_id", "manufacturer_part_id"}


def _as_meant(key: str, value: Any) -> Any:
    if value is None:
        return _DEFAULT_FOR_NULL.get(key)
    if value == "" and key in _GO_ZERO_IS_NONE:
        return None
    if value == [] and key == "classification":
        return None
    number = json.loads(value.text, parse_float=Decimal) if isinstance(value, Raw) else value
    if type(number) is int and key in _INTEGER_IDS:  # not a bool, nor a number with a point or an exponent
        return str(number)
    return value


def assert_stored_as_sent(sent: dict[str, Any], stored: dict[str, Any]) -> None:
    assert stored is not None
    sent_lines = sent.get("lines") or []
    assert len(stored["lines"]) == len(sent_lines)
    for given_line, kept in zip(sent_lines, stored["lines"], strict=True):
        for key, sent_value in given_line.items():
            value = _as_meant(key, sent_value)
            if value is None:
                assert kept[key] is None, (key, sent_value, kept[key])
            elif key in ("quantity", "unit_price"):
                assert _same_decimal(value, kept[key]), (key, value, kept[key])
                if not isinstance(value, Raw) and "e" not in str(value).lower():
                    # the places written are kept
                    places = len(str(value).partition(".")[2])
                    assert len(kept[key].partition(".")[2]) == places, (key, value, kept[key])
            elif key == "classification":
                assert kept[key]["value"] == str(value["value"])
                assert kept[key]["domain"] == (value.get("domain") or "UNSPSC")
            else:
                # A literal (Raw) is read as JSON reads it: lead_time_days 0 written so is stored as 0
                expected = json.loads(value.text, parse_float=Decimal) if isinstance(value, Raw) else value
                assert kept[key] == expected, (key, value, kept[key])
    for key in ("shipping", "tax"):
        if sent.get(key) in (None, []):  # PHP's json_encode([]) is none
            assert stored[key] is None, (key, stored[key])
        else:
            assert kept_charge_equal(sent[key], stored[key]), (sent[key], stored[key])
    if "comments" in sent:
        assert stored["comments"] == sent["comments"]


def kept_charge_equal(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    return _same_decimal(sent["amount"], stored["amount"]) and sent["description"] == stored["description"]


# --- the properties ---------------------------------------------------------------------------------


@FUZZ
@given(cart=mutated_cart())
# Found by CI: a literal 0 as lead_time_days, stored as the 0 it is
@example(
    cart={
        "lines": [
            {
                "supplier_part_id": "p",
                "quantity": "1",
                "unit_price": "1",
                "description": "d",
                "lead_time_days": Raw("0"),
            }
        ]
    }
)
def test_a_mutated_cart_is_never_a_server_error_and_a_stored_one_reads_back(shop: Shop, cart: Any) -> None:
    # Given an open session and a cart near the valid shape
    # When the shop PUTs it (invoke holds the answer to the OpenAPI document)
    response = shop.put(dumps(cart))
    # Then it is no server error
    assert response["statusCode"] < 500, response
    # And a stored cart reads back as sent
    if response["statusCode"] == 200:
        if isinstance(cart, Pairs):  # a key given twice: the last one counts, as JSON readers do
            cart = dict(cart.pairs)
        assert isinstance(cart, dict), cart
        stored = shop.context()["cart"]
        assert_stored_as_sent(cart, stored)
        assert body_json(response)["line_count"] == len(cart.get("lines") or [])
    else:
        assert response["statusCode"] in (409, 422), response


@FUZZ
@given(
    cart=storable_cart,
    cancel=st.booleans(),
    raw_body=st.one_of(st.none(), junk.map(dumps)),
    version=st.sampled_from(["1.2.014", "1.2.036", "1.2.063", "1.2.069"]),
    encoding=st.sampled_from(["urlencoded", "base64"]),
)
def test_a_valid_cart_transferred_returns_a_valid_order_message(
    table: Table,
    partner: TradingPartner,
    shop_headers: dict[str, str],
    cart: dict[str, Any],
    cancel: bool,
    raw_body: str | None,
    version: str,
    encoding: str,
) -> None:
    # Given a fresh session of a partner answered in any cXML version and cart encoding, with a valid cart
    repository = PartnerRepository(table)
    current = repository.get(partner.id)
    assert current is not None
    repository.update(current.model_copy(update={"cxml_version": version, "cart_encoding": encoding}))
    partner = stored_partner(table)
    session_id, _ = open_session()
    shop = Shop(shop_headers, session_id)
    put = shop.put(dumps(cart))
    assert put["statusCode"] == 200, put
    # When the transfer body is junk, it is refused with no server error and the cart stays open
    if raw_body is not None:
        refused = call("POST", f"/shop/sessions/{session_id}/transfer", raw_body, shop_headers)
        assert refused["statusCode"] < 500, refused
        if refused["statusCode"] == 200:
            return
    # And the cart is transferred (or cancelled) and the browser follows the return link
    page = ReturnPage.of(follow(shop.return_url(cancel=cancel)))
    # Then the page posts a DTD-valid PunchOutOrderMessage (ReturnPage.document checks it) with the lines
    document = page.document(partner)
    items = message_tree(document).xpath("//ItemIn")
    assert len(items) == (0 if cancel else len(cart["lines"]))
    for item, sent in zip(items, [] if cancel else cart["lines"], strict=True):
        assert item.xpath("string(ItemID/SupplierPartID)") == sent["supplier_part_id"]
        assert Decimal(item.get("quantity")) == Decimal(dumps(sent["quantity"]).strip('"'))
        assert Decimal(item.xpath("string(ItemDetail/UnitPrice/Money)")) == Decimal(
            dumps(sent["unit_price"]).strip('"')
        )


@FUZZ
@given(body=st.one_of(junk.map(dumps), st.sampled_from(["", "{}", '{"cancel": true}', '{"cancel": "yes"}'])))
def test_transfer_and_reads_with_any_body_are_never_server_errors(shop: Shop, body: str) -> None:
    response = call("POST", f"/shop/sessions/{shop.session_id}/transfer", body, shop.headers)
    assert response["statusCode"] < 500, response
    again = call("GET", f"/shop/sessions/{shop.session_id}", None, shop.headers)
    assert again["statusCode"] == 200, again


requisition_quantity = st.one_of(
    positive_decimal,
    st.sampled_from(["0", "0.0000001", "1234567890123", "999999999999.999999", "0.000001", "3.1234567", "2.500000"]),
)


def _cart_quantity(text: str) -> bool:
    """Whether a cart line can hold the quantity: above 0, 12 digits before the point and 6 after."""
    value = Decimal(text)
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return value > 0 and value < 10**12 and -exponent <= 6


@FUZZ
@given(cart=storable_cart.filter(lambda c: c["lines"]), data=st.data())
def test_an_edit_of_a_returned_cart_restores_it(
    partner: TradingPartner, shop_headers: dict[str, str], cart: dict[str, Any], data: st.DataObject
) -> None:
    # Given a valid cart, stored, transferred and posted to the buyer
    session_id, _ = open_session()
    shop = Shop(shop_headers, session_id)
    assert shop.put(dumps(cart))["statusCode"] == 200
    stored = shop.context()["cart"]
    document = ReturnPage.of(follow(shop.return_url())).document(partner)
    # When the buyer edits it, sending back its lines (all, or some)
    items = item_outs(document)
    chosen = data.draw(st.lists(st.sampled_from(range(len(items))), min_size=1, unique=True).map(sorted))
    # (approval may have changed quantities: to any number the reader takes)
    quantities = [data.draw(st.one_of(st.none(), requisition_quantity)) for _ in chosen]
    sent = [
        items[i] if q is None else items[i].model_copy(update={"quantity": Decimal(q)})
        for i, q in zip(chosen, quantities, strict=True)
    ]
    reopened = Shop(shop_headers, open_session_with(setup_document("edit", items=sent)))
    # Then the edit's cart is those lines as they were stored, with the requisition's quantities where a
    # cart line can hold them
    restored = reopened.context()["cart"]
    assert restored is not None
    expected = [
        stored["lines"][i] if q is None or not _cart_quantity(q) else {**stored["lines"][i], "quantity": q}
        for i, q in zip(chosen, quantities, strict=True)
    ]
    assert [{**ln, "quantity": Decimal(ln["quantity"])} for ln in restored["lines"]] == [
        {**ln, "quantity": Decimal(ln["quantity"])} for ln in expected
    ], (restored["lines"], expected)
    assert restored["currency"] == stored["currency"]
