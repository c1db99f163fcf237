"""Money in the shop's cart as suppliers outside the euro zone send it: currencies of 0, 3 and 4 minor units,
codes the gateway does not know, and amounts with more places than the currency has."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from punchout.currencies import places
from tests.unit.gateway.helpers import ReturnPage, Shop, body_json, line, message_tree

# (currency, ISO 4217 minor units, an amount with one place more than it has)
TOO_PRECISE = [
    ("JPY", 0, "500.5"),
    ("KRW", 0, "1000.1"),
    ("KWD", 3, "1.2345"),
    ("BHD", 3, "0.0001"),
    ("TND", 3, "12.5005"),
    ("USD", 2, "9.999"),
]


@pytest.mark.parametrize("charge", ["shipping", "tax"])
@pytest.mark.parametrize(("currency", "places", "amount"), TOO_PRECISE, ids=[c for c, _, _ in TOO_PRECISE])
def test_a_charge_with_more_places_than_its_currency_has_is_422_naming_them(
    shop: Shop, charge: str, currency: str, places: int, amount: str
) -> None:
    # Given a cart whose shipping or tax (an amount the buyer pays, not a price per unit) has more places than
    # its currency's minor unit: an amount converted from another currency and never rounded
    cart = {"currency": currency, "lines": [line("P1", "1", "100")], charge: {"amount": amount, "description": "X"}}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused while the shop can still round it, saying what and how many places the currency has
    assert response["statusCode"] == 422, response
    message = body_json(response)["error"]["message"]
    assert f"{charge} {amount}" in message
    assert f"{currency} has {places}" in message


@pytest.mark.parametrize(
    ("amount", "says"),
    [("500.5", "has 1 decimal place, and JPY has 0"), ("500.25", "has 2 decimal places, and JPY has 0")],
)
def test_the_refusal_counts_the_places_in_words(shop: Shop, amount: str, says: str) -> None:
    cart = {"currency": "JPY", "lines": [line("P1", "1", "100")], "shipping": {"amount": amount, "description": "X"}}
    response = shop.put(cart)
    assert response["statusCode"] == 422, response
    assert says in body_json(response)["error"]["message"]


def test_the_places_of_an_amount_are_those_its_value_holds() -> None:
    # Trailing zeros are no places, and a whole amount written with an exponent has none (not minus two)
    assert [places(Decimal(text)) for text in ("500", "5E+2", "500.00", "1.250", "0.0001")] == [0, 0, 0, 2, 4]


# (currency, an amount within its minor units, however written)
WITHIN = [
    ("JPY", "500.00"),  # trailing zeros are no places: number_format($amount, 2) writes every amount so
    ("KRW", "1000"),
    ("KWD", "1.234"),
    ("CLF", "0.1234"),  # 4 places (Chile's Unidad de Fomento)
    ("EUR", "9.50"),
    ("XAU", "0.1234"),  # gold: ISO 4217 gives no minor unit, so none is checked
    ("DEM", "1.2345"),  # a withdrawn code, not known: not checked (the cart API's own 4 places hold)
    ("ABC", "1.2345"),  # a code ISO 4217 does not have, such as a private one
]


@pytest.mark.parametrize(("currency", "amount"), WITHIN, ids=[c for c, _ in WITHIN])
def test_a_charge_within_its_currencys_places_or_of_an_unknown_currency_is_stored(
    shop: Shop, currency: str, amount: str
) -> None:
    response = shop.put(
        {
            "currency": currency,
            "lines": [line("P1", "1", "100")],
            "shipping": {"amount": amount, "description": "Freight"},
            "tax": {"amount": amount, "description": "VAT"},
        }
    )
    assert response["statusCode"] == 200, response
    assert body_json(response)["currency"] == currency


def test_a_unit_price_below_the_currencys_minor_unit_is_sent_as_written_and_the_total_is_not_rounded(
    shop: Shop, partner: Any
) -> None:
    # Given a cart in yen of screws at half a yen each (B2B prices per unit below the minor unit are common)
    response = shop.put({"currency": "JPY", "lines": [line("SCREW", "3", "0.5"), line("BOX", "1", "1200")]})
    assert response["statusCode"] == 200, response
    assert body_json(response)["total"] == "1201.5"
    # When it goes back to the buyer
    tree = message_tree(ReturnPage.of(shop.checkout()).document(partner))
    # Then the prices are as the shop wrote them, and the Total is their exact sum, not rounded: the buyer's
    # system rounds its own line amounts, by its own rule
    assert tree.xpath("//ItemIn/ItemDetail/UnitPrice/Money/text()") == ["0.5", "1200"]
    assert tree.xpath("//PunchOutOrderMessageHeader/Total/Money/text()") == ["1201.5"]
    assert Decimal(tree.xpath("string(//PunchOutOrderMessageHeader/Total/Money)")) == Decimal("1201.5")
