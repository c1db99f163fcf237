"""The shop API: ``/shop/sessions/{id}``, its cart and transfer, and ``/shop/openapi.json``."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from order_message import openapi
from order_message.service import CartService
from punchout.cxml.models import Contact, Extrinsic, ItemID
from punchout.sessions import CartInput
from punchout.settings import GatewaySettings
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.contract import closed_validator_of, documented_operation, request_validator, subschemas
from tests.support.events import LAMBDA_RESPONSE_LIMIT, api_event, lambda_payload_bytes, response_header
from tests.unit.gateway.helpers import (
    BASE_URL,
    ReturnPage,
    Shop,
    body_json,
    call,
    cart_header,
    configure,
    follow,
    invoke,
    item_outs,
    limit_at_measured_size,
    line,
    message_tree,
    open_session,
    open_session_with,
    register,
    setup_document,
    shop_key,
)

# --- API keys -------------------------------------------------------------------------------------


def _shop_routes(session_id: str) -> list[tuple[str, str, str | None]]:
    return [
        ("GET", f"/shop/sessions/{session_id}", None),
        ("PUT", f"/shop/sessions/{session_id}/cart", json.dumps({"lines": [line()]})),
        ("POST", f"/shop/sessions/{session_id}/transfer", ""),
    ]


@pytest.mark.parametrize("route", [0, 1, 2], ids=["get", "put", "transfer"])
@pytest.mark.parametrize(
    "key",
    ["missing", "wrong", "revoked"],
)
def test_shop_routes_need_a_valid_api_key(shop: Shop, table: Table, route: int, key: str) -> None:
    # Given an open session, and a shop key that is missing, wrong or revoked
    headers = {"Content-Type": "application/json"}
    if key == "wrong":
        headers["x-api-key"] = shop.headers["x-api-key"] + "x"
    elif key == "revoked":
        api_key, raw = ApiKeyRepository(table).create("old shop")
        ApiKeyRepository(table).revoke(api_key.id)
        headers["x-api-key"] = raw
    method, path, body = _shop_routes(shop.session_id)[route]
    # When the shop calls the route with it
    response = call(method, path, body, headers)
    # Then it is refused with a JSON 401, and the session is untouched
    assert response["statusCode"] == 401
    assert response_header(response, "Content-Type") == "application/json"
    assert body_json(response)["error"]["status"] == 401
    assert shop.context()["status"] == "open"
    assert shop.context()["cart"] is None


def test_api_key_header_name_is_case_insensitive(shop: Shop) -> None:
    # Given a valid key sent as X-API-Key
    headers = {"X-API-Key": shop.headers["x-api-key"]}
    # When the shop reads its session
    response = call("GET", f"/shop/sessions/{shop.session_id}", headers=headers)
    # Then it is accepted
    assert response["statusCode"] == 200


def test_unknown_session_is_404(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given no such session
    # When the shop reads it
    response = Shop(shop_headers, "nosuchsession0123456789abcdefghijklmnopqrs").get()
    # Then it is a JSON 404
    assert response["statusCode"] == 404
    assert body_json(response)["error"]["status"] == 404


def test_a_path_no_route_serves_is_a_json_404(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a path under /shop/ the function has no route for
    # When the shop calls it
    response = call("GET", "/shop/nothing-here", headers=shop_headers)
    # Then it is a JSON 404, not the catch-all's 500
    assert response["statusCode"] == 404
    assert body_json(response)["error"] == {"status": 404, "message": "No such route"}


# Ids that cannot be ours: over DynamoDB's key limit, or not what new_session_id makes.
UNISSUED = "nosuchsession0123456789abcdefghijklmnopqrs"  # 42 characters: one short of ours
NOT_OUR_IDS = {
    "over the key limit": "A" * 2100,
    "too short": UNISSUED,
    "too long": UNISSUED + "t_",
    "other characters": UNISSUED + ".",
    "non-ASCII": UNISSUED + "\u00e9",
}


@pytest.mark.parametrize("session_id", list(NOT_OUR_IDS.values()), ids=list(NOT_OUR_IDS))
@pytest.mark.parametrize("route", [0, 1, 2], ids=["get", "put", "transfer"])
def test_an_id_that_cannot_be_ours_is_404_without_a_lookup(
    partner: Any, shop_headers: dict[str, str], dynamodb_keys: list[str], log_lines: Any, route: int, session_id: str
) -> None:
    # Given a session id we could never have issued
    method, path, body = _shop_routes(session_id)[route]
    # When the shop calls a session route with it
    response = call(method, path, body, shop_headers)
    # Then it is the 404 of any unknown session, DynamoDB was not asked, and nothing was logged as an error
    assert response["statusCode"] == 404, response
    assert body_json(response)["error"]["message"] == "No open session with this id (unknown or expired)"
    assert not [pk for pk in dynamodb_keys if pk.startswith("SESSION#")]
    assert '"level":"ERROR"' not in log_lines.getvalue()


# --- the session context --------------------------------------------------------------------------


def test_context_names_partner_operation_and_mode(shop: Shop) -> None:
    # Given a create session of the default partner
    # When the shop reads it
    response = shop.get()
    context = body_json(response)
    # Then no cache keeps the answer (it holds the user's name and address)
    assert response_header(response, "Cache-Control") == "no-store"
    # And it names the partner, the operation and the deployment mode, and is writable
    assert context["id"] == shop.session_id
    assert context["partner"] == {"id": "acme", "name": "Acme Procurement"}
    assert (context["operation"], context["deployment_mode"], context["read_only"]) == ("create", "production", False)
    assert context["status"] == "open"
    assert context["currency"] == "USD"


def test_context_has_the_user_from_extrinsics_and_contact(shop: Shop) -> None:
    # Given a setup request with UserEmail and UniqueName Extrinsics and an endUser Contact
    # When the shop reads the session
    user = shop.context()["user"]
    # Then the user's email, name and unique name are there
    assert user["email"] == "jane.buyer@acme.example"
    assert user["name"] == "Jane Buyer"
    assert user["unique_name"] == "jbuyer"


def test_context_lists_the_requests_contacts(shop: Shop) -> None:
    # Given a setup request with an endUser Contact
    # When the shop reads the session
    [contact] = shop.context()["contacts"]
    # Then the Contact is there as the buyer sent it
    assert (contact["role"], contact["name"], contact["emails"]) == (
        "endUser",
        "Jane Buyer",
        ["jane.buyer@acme.example"],
    )


def test_context_user_falls_back_to_ship_to(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a setup request whose only trace of the user is in ShipTo
    body = setup_document(extrinsics=[], contacts=[])
    # When the shop reads the session
    user = Shop(shop_headers, open_session_with(body)).context()["user"]
    # Then the ship-to email and DeliverTo name are used
    assert user["email"] == "receiving@acme.example"
    assert user["name"] == "Jane Buyer"


def test_context_has_ship_to_extrinsics_and_expiry(shop: Shop) -> None:
    # Given a setup request with a ShipTo and Extrinsics
    # When the shop reads the session
    context = shop.context()
    # Then the address, every Extrinsic and the expiry are there
    assert context["ship_to"]["name"] == "Acme HQ"
    assert context["ship_to"]["postal_address"]["city"] == "Springfield"
    assert context["ship_to"]["postal_address"]["iso_country_code"] == "US"
    assert context["extrinsics"] == {
        "UserEmail": "jane.buyer@acme.example",
        "UniqueName": "jbuyer",
        "CostCenter": "CC-100",
    }
    assert context["expires_at"]


def test_context_expires_when_the_session_does(shop: Shop) -> None:
    # Given a session opened a moment ago (its lifetime: four hours by default)
    now = datetime.now(UTC)
    # When the shop reads it
    expires_at = datetime.fromisoformat(shop.context()["expires_at"])
    # Then it names when the session ends: four hours after it was opened
    assert now + timedelta(hours=4) - timedelta(minutes=1) < expires_at <= now + timedelta(hours=4)


def test_context_names_the_selected_item(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a setup request that punches out to one product (SelectedItem)
    body = setup_document(selected_item=ItemID(supplier_part_id="4545321", supplier_part_auxiliary_id="blue"))
    # When the shop reads the session
    context = Shop(shop_headers, open_session_with(body)).context()
    # Then it knows which product to open
    assert context["selected_item"] == {"supplier_part_id": "4545321", "supplier_part_auxiliary_id": "blue"}


def test_context_without_selected_item_says_so(shop: Shop) -> None:
    assert shop.context()["selected_item"] is None


def test_context_user_is_the_end_user_contact_in_any_case(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a setup request whose user is known only from its Contacts: a buyer first, then the end user
    contacts = [
        Contact(role="buyer", name="Purchasing Desk", emails=["purchasing@acme.example"]),
        Contact(role="EndUser", name="Jane Buyer", emails=["jane.buyer@acme.example"]),
    ]
    body = setup_document(extrinsics=[], contacts=contacts)
    # When the shop reads the session
    user = Shop(shop_headers, open_session_with(body)).context()["user"]
    # Then the user is the end user's Contact, whatever the case of its role
    assert (user["email"], user["name"]) == ("jane.buyer@acme.example", "Jane Buyer")


def test_context_user_email_is_a_unique_name_that_is_one(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a setup request whose only Extrinsic is a UniqueName that is an e-mail address, no Contact
    body = setup_document(extrinsics=[Extrinsic(name="UniqueName", value="jane.buyer@acme.example")], contacts=[])
    # When the shop reads the session
    user = Shop(shop_headers, open_session_with(body)).context()["user"]
    # Then that address is the user's, before the ShipTo's (the receiving dock)
    assert (user["email"], user["unique_name"]) == ("jane.buyer@acme.example", "jane.buyer@acme.example")


def test_context_shows_the_stored_cart(shop: Shop) -> None:
    # Given a stored cart
    shop.put_lines(line("P1", "2", "3.50"))
    # When the shop reads the session
    cart = shop.context()["cart"]
    # Then the cart is there, in the partner's default currency
    assert [(ln["supplier_part_id"], Decimal(ln["quantity"])) for ln in cart["lines"]] == [("P1", Decimal(2))]
    assert cart["currency"] == "USD"


def test_context_currency_is_the_carts(shop: Shop) -> None:
    # Given a partner whose default currency is USD, and a cart stored in EUR
    shop.put_lines(line("P1"), currency="EUR")
    # When the shop reads the session
    # Then its currency is the cart's
    assert shop.context()["currency"] == "EUR"


# --- storing the cart -----------------------------------------------------------------------------


def test_put_cart_answers_a_summary(shop: Shop) -> None:
    # Given an open session
    # When the shop stores a cart of two lines
    response = shop.put_lines(line("P1", "3", "0.10"), line("P2", "1", "2.00"))
    # Then the answer sums it up in Decimal
    summary = body_json(response)
    assert summary["line_count"] == 2
    assert Decimal(summary["total"]) == Decimal("2.30")
    assert summary["currency"] == "USD"
    assert summary["revision"] == 1


def test_put_cart_answers_the_total_to_the_last_digit(shop: Shop) -> None:
    # Given a cart at the price limits: 12 digits before the point and 6 after, 18 significant digits
    # When the shop stores it
    summary = body_json(shop.put_lines(line("P1", "1", "123456789012.345678"), line("P2", "1", "0.000001")))
    # Then the total is the exact sum as a string (a float keeps 15 to 17 digits)
    assert summary["total"] == "123456789012.345679"


def test_a_cart_whose_total_no_order_could_carry_back_is_422(shop: Shop) -> None:
    # Given two lines at the quantity and price limits: a total of 25 digits before the point, which the
    # buyer's OrderRequest could not carry back (amounts there have at most 24: cXML 400)
    big = {"quantity": "999999999999", "unit_price": "999999999999.999999"}
    # When the shop stores it
    response = shop.put({"lines": [line("A", **big), line("B", **big)]})
    # Then it is refused while the shop can change it, saying why, and one such line alone is accepted
    assert response["statusCode"] == 422, response
    assert "total" in body_json(response)["error"]["message"]
    assert shop.put({"lines": [line("A", **big)]})["statusCode"] == 200


def test_numbers_the_shop_wrote_with_exponents_are_answered_in_plain_notation(shop: Shop) -> None:
    # Given a cart whose quantity and price the shop wrote with exponents (the API takes them)
    # When the shop stores it and reads its session
    summary = body_json(shop.put_lines(line("P1", "1E+2", "1E-6")))
    (stored,) = shop.context()["cart"]["lines"]
    # Then every number in the answers is a plain decimal: no "1E+2" for a shop's decimal reader to refuse
    assert (stored["quantity"], stored["unit_price"], summary["total"]) == ("100", "0.000001", "0.0001")


NOT_ASCII_DECIMALS = {
    "Arabic-Indic digits": "\u0661\u0669.\u0669\u0669",
    "full-width digits": "\uff11\uff19.\uff19\uff19",
    "digit grouping with underscores": "1_000",
}


@pytest.mark.parametrize("text", NOT_ASCII_DECIMALS.values(), ids=NOT_ASCII_DECIMALS.keys())
@pytest.mark.parametrize("field", ["quantity", "unit_price", "shipping"])
def test_a_decimal_string_that_is_no_ascii_decimal_is_422(shop: Shop, text: str, field: str) -> None:
    # Given a decimal written as Python's Decimal() reads it but as no decimal reader of a shop or buyer
    # does (cXML's amounts are ASCII decimals: the cXML reader refuses these, and "1,000" is refused too)
    if field == "shipping":
        cart = {"lines": [line()], "shipping": {"amount": text, "description": "Freight"}}
        location = "shipping.amount"
    else:
        cart = {"lines": [line(**{field.removeprefix("unit_"): text})]}
        location = f"lines.0.{field}"
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused at that field, and nothing is stored
    assert response["statusCode"] == 422, response
    assert location in [e["location"] for e in body_json(response)["error"]["errors"]]
    assert shop.context()["cart"] is None


def test_a_decimal_string_is_held_to_the_cxml_readers_64_characters(shop: Shop) -> None:
    # Given a quantity of 1.5 written with leading zeros, in 64 characters and in 65 (the cXML reader's limit:
    # a longer text is no number within the bounds, and reading one costs time on every character)
    within, beyond = "0" * 61 + "1.5", "0" * 62 + "1.5"
    # When the shop stores each
    # Then 64 characters are read, 65 are 422 at the quantity
    shop.put_lines(line("P1", within))
    response = shop.put({"lines": [line("P1", beyond)]})
    assert response["statusCode"] == 422, response
    assert "lines.0.quantity" in [e["location"] for e in body_json(response)["error"]["errors"]]


# Decimals whose plain notation, in which the gateway stores and writes every number, is over 64 characters.
LONG_WHEN_PLAIN = {
    "zero with a million places": '"0E-1000000"',  # 98 bytes of body made a 1 MB price, 0E-200000000 a crash
    "zero with more places than 64 characters hold": '"0E-63"',
    "an exponent past Decimal's range": '"1e999999999"',  # was a 500: normalize() overflows
    "an exponent past Decimal's range, a JSON number": "1e999999999",
}


@pytest.mark.parametrize("number", LONG_WHEN_PLAIN.values(), ids=LONG_WHEN_PLAIN.keys())
@pytest.mark.parametrize("field", ["unit_price", "shipping"])
def test_a_decimal_longer_than_64_characters_written_plainly_is_422(shop: Shop, number: str, field: str) -> None:
    # Given a decimal that is short as written, or within the bounds by its value, but that the gateway
    # would store and write (to the buyer, in cXML) in plain notation over the cXML reader's 64 characters
    placeholder = "__NUMBER__"
    if field == "shipping":
        cart = {"lines": [line()], "shipping": {"amount": placeholder, "description": "Freight"}}
        location = "shipping.amount"
    else:
        cart = {"lines": [line(price=placeholder)]}
        location = f"lines.0.{field}"
    body = json.dumps(cart).replace(f'"{placeholder}"', number)
    # When the shop stores it
    response = shop.put(body)
    # Then it is refused at that field (never a 500), and nothing is stored
    assert response["statusCode"] == 422, response
    assert location in [e["location"] for e in body_json(response)["error"]["errors"]]
    assert shop.context()["cart"] is None


@pytest.mark.parametrize(
    ("number", "stored"),
    [("0e-1000000", "0"), ("1." + "0" * 63, "1"), ("-0." + "0" * 70, "0"), ("2.50" + "0" * 70, "2.5")],
)
def test_a_json_number_longer_than_64_characters_written_plainly_is_read_without_its_trailing_zeros(
    shop: Shop, number: str, stored: str
) -> None:
    # Given a price written as a JSON number whose plain notation is over 64 characters by the zeros after
    # its point only (its form is the shop's JSON writer's; the published schema bounds its value only)
    # When the shop stores it
    response = shop.put(json.dumps({"lines": [line(price="__NUMBER__")]}).replace('"__NUMBER__"', number))
    # Then it is stored without those zeros: neither a megabyte of them nor a refusal the schema does not tell
    assert response["statusCode"] == 200, response
    (line_,) = shop.context()["cart"]["lines"]
    assert line_["unit_price"] == stored


def test_a_decimal_string_with_spaces_around_or_a_sign_is_read_as_the_cxml_reader_reads_it(shop: Shop) -> None:
    # Given decimals written with spaces around them and a plus sign (the cXML reader takes both)
    # When the shop stores them
    shop.put_lines(line("P1", " +2 ", "19.99\n"))
    # Then their values are stored
    (stored,) = shop.context()["cart"]["lines"]
    assert (stored["quantity"], stored["unit_price"]) == ("2", "19.99")


def test_a_total_below_a_millionth_is_answered_in_plain_notation(shop: Shop) -> None:
    # Given a cart of one millionth of a part at a millionth each (a total Python writes as 1E-12)
    # When the shop stores it
    summary = body_json(shop.put_lines(line("P1", "0.000001", "0.000001")))
    # Then the summary's total is a plain decimal
    assert summary["total"] == "0.000000000001"


def test_put_cart_replaces_the_previous_cart(shop: Shop) -> None:
    # Given a stored cart
    shop.put_lines(line("P1"), line("P2"))
    # When the shop stores another one
    summary = body_json(shop.put_lines(line("P3")))
    # Then the session holds only the new one, at the next revision
    assert summary["revision"] == 2
    assert [ln["supplier_part_id"] for ln in shop.context()["cart"]["lines"]] == ["P3"]


@pytest.mark.parametrize(
    ("cart", "location"),
    [
        ({"lines": [line(quantity="-1")]}, "lines.0.quantity"),
        ({"lines": [line(quantity="0")]}, "lines.0.quantity"),
        ({"lines": [line(price="abc")]}, "lines.0.unit_price"),
        ({"lines": [line(), {"quantity": "1", "unit_price": "1", "description": "x"}]}, "lines.1.supplier_part_id"),
        ({"lines": [line(description="")]}, "lines.0.description"),
        ({"lines": [line(currency="usd")]}, "lines.0.currency"),
        ({"lines": [line(unexpected="field")]}, "lines.0.unexpected"),
        ({"lines": [line()], "currency": "EURO"}, "currency"),
        ({"lines": "not a list"}, "lines"),
        ({"lines": [line(description="Bolt\u000bM8")]}, "lines.0.description"),
        ({"lines": [line(supplier_part_id="P\u0001")]}, "lines.0.supplier_part_id"),
        ({"lines": [line(manufacturer_name="Pens\ufffe")]}, "lines.0.manufacturer_name"),
        ({"lines": [line(classification={"value": "27-11", "Domain": "eCl@ss"})]}, "lines.0.classification.Domain"),
        (
            {"lines": [line()], "shipping": {"amount": "9.50", "description": "Freight", "currency": "EUR"}},
            "shipping.currency",
        ),
        ({"lines": [line()], "tax": {"amount": "1", "description": "VAT\u001f"}}, "tax.description"),
        ({"lines": [line(supplier_part_id="   ")]}, "lines.0.supplier_part_id"),
        ({"lines": [line(description="\u00a0\t")]}, "lines.0.description"),
        ({"lines": [line(unit_of_measure=" ")]}, "lines.0.unit_of_measure"),
        ({"lines": [line(classification={"value": " ", "domain": "UNSPSC"})]}, "lines.0.classification.value"),
        ({"lines": [line(classification={"value": "1", "domain": "\u3000"})]}, "lines.0.classification.domain"),
        ({"lines": [line()], "shipping": {"amount": "9.50", "description": "\n"}}, "shipping.description"),
    ],
    ids=[
        "negative",
        "zero",
        "price",
        "missing-part",
        "empty-description",
        "currency-case",
        "extra",
        "cart-currency",
        "lines",
        "control-character",
        "control-character-in-part-id",
        "non-character",
        "classification-extra",
        "shipping-extra",
        "tax-control-character",
        "blank-part-id",
        "blank-description",
        "blank-unit-of-measure",
        "blank-classification-value",
        "blank-classification-domain",
        "blank-shipping-description",
    ],
)
def test_invalid_cart_is_422_with_locations(shop: Shop, cart: dict[str, Any], location: str) -> None:
    # Given an open session
    # When the shop stores an invalid cart
    response = shop.put(cart)
    # Then it is refused with 422, naming where each problem is
    assert response["statusCode"] == 422, response
    errors = body_json(response)["error"]["errors"]
    assert location in [e["location"] for e in errors], errors
    assert shop.context()["cart"] is None


@pytest.mark.parametrize("body", ["", "not json", "null", "[]"], ids=["empty", "text", "null", "list"])
def test_cart_body_that_is_not_an_object_is_422(shop: Shop, body: str) -> None:
    # Given an open session
    # When the shop sends a body that is not a cart object
    response = shop.put(body)
    # Then it is refused with 422
    assert response["statusCode"] == 422


NOT_JSON = {
    "cut short": '{"lines": [',
    "NaN": '{"lines": [], "shipping": {"amount": NaN, "description": "Freight"}}',
    "Infinity": '{"lines": [], "shipping": {"amount": -Infinity, "description": "Freight"}}',
    "nested 100,000 deep": '{"lines": ' + "[" * 100_000,
    "an integer of 5,000 digits": '{"lines": [], "comments": ' + "9" * 5_000 + "}",
}


@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_cart_body_that_is_not_json_is_422_saying_so(shop: Shop, body: str) -> None:
    # Given an open session
    # When the shop sends a body that no JSON reader should take
    response = shop.put(body)
    # Then it is refused with 422 and one error saying the JSON is invalid (never a 500), and nothing is stored
    assert response["statusCode"] == 422, response
    [error] = body_json(response)["error"]["errors"]
    assert (error["location"], error["message"][:13]) == ("", "Invalid JSON:")
    assert shop.context()["cart"] is None


def test_an_invalid_cart_names_the_problems_of_its_first_invalid_line_only(shop: Shop) -> None:
    # Given an open session, and a cart body of many lines, invalid from the second one on
    cart = {"lines": [line(), *[{"quantity": "-1"}] * 20_000]}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused with the errors of the first invalid line, not one list entry per line
    assert response["statusCode"] == 422, response
    locations = [e["location"] for e in body_json(response)["error"]["errors"]]
    assert "lines.1.quantity" in locations
    assert all(location.startswith("lines.1.") for location in locations), locations


def test_an_invalid_cart_lists_at_most_a_hundred_errors(shop: Shop) -> None:
    # Given an open session, and a cart body with 5,000 keys a cart does not have
    cart = {"lines": [line()], **{f"key{n}": 0 for n in range(5_000)}}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused with the first hundred errors, and says how many there were
    assert response["statusCode"] == 422, response
    error = body_json(response)["error"]
    assert [e["location"] for e in error["errors"]] == [f"key{n}" for n in range(100)]
    assert error["message"] == "The request body is invalid: the first 100 of 5,000 errors"


# The object keys a body may hold in all (README, shop API): 30 for each of MAX_CART_LINES lines.
DOCUMENTED_BODY_KEYS = 150_000


def test_a_body_of_more_keys_than_the_limit_is_422_before_it_is_validated(shop: Shop) -> None:
    # Given a cart body holding one more object key, in all, than the limit: a line's four, the cart's "lines",
    # and unknown keys (600,000 of them, each an error, took 5.6 s and 526 MB to refuse: over the function's 512)
    cart = {"lines": [line()], **{f"k{n}": 0 for n in range(DOCUMENTED_BODY_KEYS - 4)}}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused as a body too large to read, not validated key by key
    assert response["statusCode"] == 422, response
    (error,) = body_json(response)["error"]["errors"]
    assert f"more than {DOCUMENTED_BODY_KEYS:,} keys" in error["message"], error


def test_a_body_of_as_many_keys_as_the_limit_is_validated(shop: Shop) -> None:
    # Given a cart body holding exactly the limit of object keys in all (control for the test above)
    cart = {"lines": [line()], **{f"k{n}": 0 for n in range(DOCUMENTED_BODY_KEYS - 5)}}
    # When the shop stores it, Then each unknown key is an error, as in any body
    response = shop.put(cart)
    assert response["statusCode"] == 422, response
    assert body_json(response)["error"]["message"].endswith(f"of {DOCUMENTED_BODY_KEYS - 5:,} errors")


def test_an_invalid_cart_of_a_hundred_errors_lists_them_all(shop: Shop) -> None:
    # Given an open session, and a cart body with exactly 100 keys a cart does not have
    cart = {"lines": [line()], **{f"key{n}": 0 for n in range(100)}}
    # When the shop stores it
    error = body_json(shop.put(cart))["error"]
    # Then every error is listed, and the message does not say some were left out
    assert len(error["errors"]) == 100
    assert error["message"] == "The request body is invalid"


def test_cart_body_that_is_not_utf8_is_422(shop: Shop) -> None:
    # Given an open session, and a body API Gateway passes on base64-encoded (a binary media type)
    body = b'{"lines": []}\xff'
    event = api_event(
        "PUT",
        f"/shop/sessions/{shop.session_id}/cart",
        resource="/shop/sessions/{id}/cart",
        body=body,
        headers={**shop.headers, "Content-Type": "application/xml"},
        binary=True,
    )
    # When the shop sends bytes that are not UTF-8
    response = invoke("OrderMessageFunction", event)
    # Then it is refused with 422, not a server error
    assert response["statusCode"] == 422, response
    assert "UTF-8" in body_json(response)["error"]["message"]


def test_mixed_currencies_are_422(shop: Shop) -> None:
    # Given an open session
    # When the shop stores lines in two currencies
    response = shop.put({"lines": [line("P1", currency="USD"), line("P2", currency="EUR")]})
    # Then it is refused: a cXML cart has one Total and one currency
    assert response["statusCode"] == 422
    assert "currency" in body_json(response)["error"]["message"]


def test_line_currency_must_match_the_cart_currency(shop: Shop) -> None:
    # Given an open session
    # When the cart says EUR but a line says USD
    response = shop.put({"currency": "EUR", "lines": [line("P1", currency="USD")]})
    # Then it is refused
    assert response["statusCode"] == 422


def test_lines_in_one_foreign_currency_make_the_cart_currency(shop: Shop) -> None:
    # Given a partner whose default currency is USD
    # When every line is in EUR and the cart names no currency
    summary = body_json(shop.put_lines(line("P1", currency="EUR"), line("P2", currency="EUR")))
    # Then the cart is in EUR
    assert summary["currency"] == "EUR"


def test_line_without_classification_needs_a_partner_default(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a partner without a default classification
    register(table, default_classification=None)
    session_id, _ = open_session()
    # When the shop stores a line without classification
    response = Shop(shop_headers, session_id).put({"lines": [line("P1"), line("P2")]})
    # Then it is refused, naming the line
    assert response["statusCode"] == 422
    assert "P1" in body_json(response)["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",  # browsers and urlsplit skip leading spaces and controls
        "java\tscript:alert(1)",  # and drop tabs and line breaks anywhere
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//shop.example.com/p/1",  # relative: to the buyer's own host
        "/p/1",
        "shop.example.com/p/1",
        "https:shop.example.com/p/1",
        "https://[::1/p/1",  # a malformed IPv6 host: urlsplit raises ValueError
    ],
)
def test_a_line_url_that_is_not_an_absolute_web_url_is_422(shop: Shop, url: str) -> None:
    # Given an open session
    # When the shop stores a line whose URL the buyer's system would show as a link, but that is no web page
    # of the shop's (a script, an inline document, a path on the buyer's own host)
    response = shop.put({"lines": [line("P1"), line("P2", url=url)]})
    # Then it is refused, naming the line: it would reach the buyer's requisition as it is
    assert response["statusCode"] == 422
    assert "P2" in body_json(response)["error"]["message"]


@pytest.mark.parametrize("url", ["https://shop.example.com/p/1?x=1&y=2#spec", "HTTP://shop.example.com:8080/p"])
def test_a_line_url_on_the_web_is_stored(shop: Shop, url: str) -> None:
    shop.put_lines(line("P1", url=url))
    assert shop.context()["cart"]["lines"][0]["url"] == url


def test_line_with_classification_needs_no_partner_default(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a partner without a default classification
    register(table, default_classification=None)
    session_id, _ = open_session()
    # When every line brings its own classification
    response = Shop(shop_headers, session_id).put({"lines": [line("P1", classification={"value": "44121700"})]})
    # Then the cart is stored
    assert response["statusCode"] == 200


def test_the_stored_cart_keeps_the_lines_the_body_was_validated_into() -> None:
    # Given a shop's cart as the request body was validated, lines in EUR on a USD partner
    sent = CartInput.model_validate({"lines": [line("P1", currency="EUR"), line("P2")], "comments": "Rush"})
    # When it becomes the cart to store
    cart = CartService._normalise(sent, builders.partner())
    # Then it has the cart's currency, and the very line models the body gave: every text of every
    # line is not validated a second time (a dump and a new model would be)
    assert cart.currency == "EUR"
    assert cart.comments == "Rush"
    assert [id(stored) for stored in cart.lines] == [id(validated) for validated in sent.lines]


def test_a_stored_cart_is_kept_for_the_cart_retention(
    shop: Shop, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given carts kept 30 days
    configure(monkeypatch, CART_RETENTION_DAYS="30")
    # When the shop stores a cart
    shop.put_lines(line())
    # Then it expires in 30 days, not with its session: the OrderRequest comes days later
    expires_at = int(cart_header(table, shop.session_id)["expires_at"]["N"])
    assert 30 * 86400 - 60 <= expires_at - time.time() <= 30 * 86400


def test_cart_over_the_line_limit_is_422(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given carts limited to 3 lines
    configure(monkeypatch, MAX_CART_LINES="3")
    # When the shop stores 4
    response = shop.put({"lines": [line(f"P{i}") for i in range(4)]})
    # Then it is refused; 3 are stored
    assert response["statusCode"] == 422
    assert shop.put({"lines": [line(f"P{i}") for i in range(3)]})["statusCode"] == 200


def test_the_openapi_document_refuses_a_cart_over_the_line_limit() -> None:
    # Given the gateway's line limit (5,000 unless configured), which refuses one line more with 422
    limit = GatewaySettings.model_fields["max_cart_lines"].default
    validator = request_validator("put", "/shop/sessions/{id}/cart")
    # When a shop's validator judges carts at the limit and one line over it
    # Then the document accepts the one the gateway stores, and refuses the one it refuses
    assert validator.is_valid({"lines": [line()] * limit})
    assert not validator.is_valid({"lines": [line()] * (limit + 1)})


def test_the_served_openapi_document_gives_the_configured_line_limit(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given carts limited to 3 lines
    configure(monkeypatch, MAX_CART_LINES="3")
    # When the shop fetches the document and judges a cart of 4 lines with it
    document = body_json(call("GET", "/shop/openapi.json"))
    lines = document["components"]["schemas"]["CartInput"]["properties"]["lines"]
    # Then the document refuses it, as the gateway does (the limit on the array of the lines' array-or-null)
    assert [branch.get("maxItems") for branch in lines["anyOf"]] == [3, None]
    assert shop.put({"lines": [line(f"P{i}") for i in range(4)]})["statusCode"] == 422


# --- what PHP's json_encode writes ----------------------------------------------------------------
# PHP shops build their bodies as arrays: json_encode writes an empty array as `[]` (there is no empty
# `{}` without JSON_FORCE_OBJECT), a missing value is often `null`, and an id read from a database (pdo_mysql
# returns integers since PHP 8.1) or used as an array key (PHP turns "12345" keys into integers) is a number.


def test_a_cart_with_null_for_fields_that_have_a_default_takes_the_defaults(shop: Shop) -> None:
    # Given a cart whose line has null for its unit of measure and its classification's domain
    cart = {
        "lines": [line("P1", unit_of_measure=None, classification={"domain": None, "value": "31201500"})],
        "currency": None,
    }
    # When the shop stores it
    response = shop.put(cart)
    # Then it is stored with the defaults, as if the keys were left out, and the document says so
    assert response["statusCode"] == 200, response
    (stored,) = shop.context()["cart"]["lines"]
    assert (stored["unit_of_measure"], stored["classification"]) == ("EA", {"domain": "UNSPSC", "value": "31201500"})
    assert request_validator("put", "/shop/sessions/{id}/cart").is_valid(cart)


def test_a_cart_with_an_empty_php_array_for_an_optional_object_has_none(shop: Shop) -> None:
    # Given a cart with `[]` (PHP's empty array) for a line's classification, the shipping and the tax
    cart = {"lines": [line("P1", classification=[])], "shipping": [], "tax": []}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is stored without them, as a cart that leaves them out (its line gets the partner's default
    # classification when it is sent), and the document says so
    assert response["statusCode"] == 200, response
    stored = shop.context()["cart"]
    assert (stored["shipping"], stored["tax"], stored["lines"][0]["classification"]) == (None, None, None)
    assert request_validator("put", "/shop/sessions/{id}/cart").is_valid(cart)


# Go's encoding/json writes a struct's string field that the shop left unset as `""` (its zero value) unless
# the field is tagged `omitempty`: for the optional URL and currencies, whose every other text is refused,
# `""` can only mean none.


def test_a_cart_with_go_empty_strings_for_its_url_and_currencies_has_none(shop: Shop) -> None:
    # Given a cart as Go's json.Marshal writes a struct without omitempty: "" for the URL and the currencies
    cart = {"lines": [line("P1", url="", currency="")], "currency": ""}
    # When the shop stores it
    response = shop.put(cart)
    # Then it is stored as a cart that leaves them out (the partner's currency, no URL), and the document says so
    assert response["statusCode"] == 200, response
    stored = shop.context()["cart"]
    assert (stored["currency"], stored["lines"][0]["url"], stored["lines"][0]["currency"]) == ("USD", None, None)
    assert request_validator("put", "/shop/sessions/{id}/cart").is_valid(cart)


def test_a_blank_url_is_still_422(shop: Shop) -> None:
    # Given a line whose URL is spaces only: no zero value writes it, and it is no web page
    response = shop.put({"lines": [line("P1", url="  ")]})
    # Then it is refused, naming the line
    assert response["statusCode"] == 422
    assert "P1" in body_json(response)["error"]["message"]


def test_an_empty_object_for_an_optional_object_is_still_422(shop: Shop) -> None:
    # Given a cart with `{}` for the shipping: no PHP array writes it, and a charge needs amount and description
    # When the shop stores it
    response = shop.put({"lines": [line()], "shipping": {}})
    # Then it is refused
    assert response["statusCode"] == 422
    assert "shipping.amount" in [e["location"] for e in body_json(response)["error"]["errors"]]


def test_integer_ids_are_stored_as_their_digits(shop: Shop) -> None:
    # Given a line whose ids and classification code are JSON integers
    ids = {"supplier_part_auxiliary_id": 7, "manufacturer_part_id": 990011, "classification": {"value": 31201500}}
    cart = {"lines": [line(12345, **ids)]}  # type: ignore[arg-type]
    # When the shop stores it
    response = shop.put(cart)
    # Then they are stored as the texts of their digits, and the document says so
    assert response["statusCode"] == 200, response
    (stored,) = shop.context()["cart"]["lines"]
    assert (stored["supplier_part_id"], stored["supplier_part_auxiliary_id"], stored["manufacturer_part_id"]) == (
        "12345",
        "7",
        "990011",
    )
    assert stored["classification"]["value"] == "31201500"
    assert request_validator("put", "/shop/sessions/{id}/cart").is_valid(cart)


@pytest.mark.parametrize("part", [1.5, 1e3, True], ids=["fraction", "float", "boolean"])
def test_an_id_that_is_a_float_or_a_boolean_is_422(shop: Shop, part: Any) -> None:
    # Given a line whose part id is a JSON number with a point or an exponent, or a boolean: no id's text
    # When the shop stores it
    response = shop.put(json.dumps({"lines": [line(part)]}))
    # Then it is refused at the part id
    assert response["statusCode"] == 422, response
    assert "lines.0.supplier_part_id" in [e["location"] for e in body_json(response)["error"]["errors"]]


def test_lines_that_php_wrote_as_an_object_are_422_saying_what_to_do(shop: Shop) -> None:
    # Given lines that PHP's json_encode wrote as an object: an array whose keys are not 0, 1, 2... (after
    # unset() or array_filter()) becomes {"0": ..., "2": ...}, whose order no JSON reader has to keep
    # When the shop stores them
    response = shop.put({"lines": {"0": line("P1"), "2": line("P2")}})
    # Then they are refused at `lines`, and the message names PHP's remedy
    assert response["statusCode"] == 422
    [error] = body_json(response)["error"]["errors"]
    assert error["location"] == "lines"
    assert "array_values" in error["message"]


# What Ruby's `cart.to_json` wrote (the json library, no ActiveSupport) for a shop's hash with symbol keys:
# BigDecimal through its `to_s`, a string in scientific notation ("0.105e2" is 10.5, "0.1e-3" is 0.0001),
# Floats as Ruby prints them (1.0e-05), symbols as strings, nil as null.
RUBY_CART = (
    '{"currency":"USD","lines":[{"supplier_part_id":"P-1","supplier_part_auxiliary_id":42,"quantity":"0.2e1",'
    '"unit_price":"0.105e2","description":"Widget","unit_of_measure":"EA","classification":{"domain":"UNSPSC",'
    '"value":44121600},"manufacturer_part_id":null,"manufacturer_name":null,"lead_time_days":null,"url":null,'
    '"currency":null},{"supplier_part_id":"P-2","quantity":1.5,"unit_price":1.0e-05,"description":"Tiny",'
    '"unit_of_measure":"EA"},{"supplier_part_id":"P-4","quantity":"0.1e-3","unit_price":"0.1e0",'
    '"description":"Small","unit_of_measure":"EA"}],"shipping":{"amount":"0.5e1","description":"Ground"},'
    '"tax":{"amount":1.0,"description":"VAT"},"comments":null}'
)


def test_a_cart_as_ruby_to_json_writes_it_is_stored_as_the_shop_meant_it(shop: Shop) -> None:
    # Given the cart body Ruby wrote
    # When the shop stores it
    summary = body_json(shop.put(RUBY_CART))
    # Then every value is the one the Ruby hash held, the BigDecimals' values in plain notation
    cart = shop.context()["cart"]
    first, second, third = cart["lines"]
    assert (first["quantity"], first["unit_price"], first["supplier_part_auxiliary_id"]) == ("2", "10.5", "42")
    assert (second["quantity"], second["unit_price"]) == ("1.5", "0.000010")
    assert (third["quantity"], third["unit_price"]) == ("0.0001", "0.1")
    assert (cart["shipping"]["amount"], cart["tax"]["amount"], summary["total"]) == ("5", "1.0", "21.0000250")


@pytest.mark.parametrize(
    ("field", "places"),
    [(("lines", 0, "unit_price"), 6), (("lines", 0, "quantity"), 6), (("shipping", "amount"), 4)],
    ids=["unit_price", "quantity", "shipping"],
)
def test_a_ruby_bigdecimal_quotient_is_refused_naming_the_places_allowed(
    shop: Shop, field: tuple[str | int, ...], places: int
) -> None:
    # Given a cart with a value Ruby computed by BigDecimal division and wrote with to_json:
    # (BigDecimal("19.99") / 3).to_json, 37 significant digits
    cart: dict[str, Any] = {"lines": [line("P1")], "shipping": {"amount": "4.95", "description": "Ground"}}
    target: Any = cart
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = "0.6663333333333333333333333333333333333e1"
    # When the shop stores it
    response = shop.put(cart)
    # Then it is refused, and the error says what to change: the places (round it), not the digits in total
    assert response["statusCode"] == 422, response
    [error] = body_json(response)["error"]["errors"]
    assert error["location"] == ".".join(map(str, field))
    assert error["message"] == f"Decimal input should have no more than {places} decimal places"


def test_trailing_zeros_past_the_places_allowed_are_no_places(shop: Shop) -> None:
    # Given a cart whose values are written with more places than allowed, all of them trailing zeros
    # (Ruby's BigDecimal#round(2).to_s("F") padded, PHP's number_format($amount, 8)): the places of their values
    # are within the limits
    cart = {
        "lines": [line("P1", "2.00000000", "10.50000000")],
        "shipping": {"amount": "4.9500000", "description": "Ground"},
    }
    # When the shop stores it
    response = shop.put(cart)
    # Then it is taken, as their values
    assert response["statusCode"] == 200, response
    stored = shop.context()["cart"]
    assert Decimal(stored["lines"][0]["quantity"]) == 2 and Decimal(stored["shipping"]["amount"]) == Decimal("4.95")


@pytest.mark.parametrize("route", ["cart", "transfer"])
def test_a_body_starting_with_a_byte_order_mark_is_read_without_it(shop: Shop, route: str) -> None:
    # Given a body written by a tool that puts a UTF-8 byte order mark first (Windows editors, PowerShell's
    # Set-Content, .NET's UTF8Encoding(true)); RFC 8259 lets a reader ignore it
    if route == "cart":
        response = shop.put("\ufeff" + json.dumps({"lines": [line("P1")]}))
    else:
        shop.put_lines(line("P1"))
        response = call("POST", f"/shop/sessions/{shop.session_id}/transfer", "\ufeff{}", shop.headers)
    # Then it is read as the JSON after it
    assert response["statusCode"] == 200, response
    assert shop.context()["cart"]["lines"][0]["supplier_part_id"] == "P1"


# What PHP 8's json_encode wrote (default flags, serialize_precision -1) for a shop's cart array: escaped
# slashes, \uXXXX escapes (a surrogate pair for the emoji), floats, an integer id, null and [] for absent values.
PHP_CART = (
    '{"currency":"EUR","lines":[{"supplier_part_id":4711,"supplier_part_auxiliary_id":null,"quantity":2,'
    '"unit_price":19.99,"description":"Caf\\u00e9 \\ud83d\\ude00 1\\/2","unit_of_measure":null,"classification":[],'
    '"lead_time_days":3,"url":"https:\\/\\/shop.example.com\\/p\\/4711"},{"supplier_part_id":"B-2","quantity":1.5,'
    '"unit_price":1.0e-5,"description":"Rope","classification":{"domain":"UNSPSC","value":31151500}}],'
    '"shipping":{"amount":4.95,"description":"DHL"},"tax":[],"comments":null}'
)


def test_a_cart_as_php_json_encode_writes_it_is_stored_as_the_shop_meant_it(shop: Shop) -> None:
    # Given the cart body PHP wrote
    # When the shop stores it
    summary = body_json(shop.put(PHP_CART))
    # Then every value is the one the PHP array held, numbers to the digit as written (1.0e-5 has two digits)
    cart = shop.context()["cart"]
    first, second = cart["lines"]
    assert (first["supplier_part_id"], first["unit_price"], first["unit_of_measure"]) == ("4711", "19.99", "EA")
    assert (first["description"], first["url"]) == ("Caf\u00e9 \U0001f600 1/2", "https://shop.example.com/p/4711")
    assert (second["quantity"], second["unit_price"], second["classification"]["value"]) == (
        "1.5",
        "0.000010",
        "31151500",
    )
    assert (cart["shipping"]["amount"], cart["tax"], summary["total"]) == ("4.95", None, "39.9800150")
    assert request_validator("put", "/shop/sessions/{id}/cart").is_valid(json.loads(PHP_CART, parse_float=Decimal))


@pytest.mark.parametrize(
    "body", ["[]", '{"cancel": null}', "null"], ids=["empty-php-array", "null-cancel", "ruby-nil-to-json"]
)
def test_a_transfer_body_of_an_empty_php_array_or_a_null_cancel_transfers(shop: Shop, body: str) -> None:
    # Given a stored cart, and the transfer body PHP writes for no options (json_encode([]) is `[]`), or Ruby
    # (`nil.to_json`, and PHP's json_encode(null) and Go's json.Marshal of a nil pointer) is `null`
    shop.put_lines(line("P1"))
    # When the shop transfers with it
    response = call("POST", f"/shop/sessions/{shop.session_id}/transfer", body, shop.headers)
    # Then the cart is transferred (not cancelled), and the document takes that body
    assert response["statusCode"] == 200, response
    assert shop.context()["status"] == "transferred"
    assert request_validator("post", "/shop/sessions/{id}/transfer").is_valid(json.loads(body))


# --- transfer -------------------------------------------------------------------------------------


def test_transfer_returns_a_one_time_return_url(shop: Shop) -> None:
    # Given a stored cart
    shop.put_lines(line())
    # When the shop transfers it
    response = shop.transfer()
    # Then it gets the return URL to send the browser to
    assert response["statusCode"] == 200
    assert body_json(response)["return_url"].startswith(f"{BASE_URL}/punchout/return/")


def test_transfer_freezes_the_session(shop: Shop) -> None:
    # Given a transferred cart
    shop.put_lines(line())
    shop.return_url()
    # When the shop reads the session
    # Then it is transferred
    assert shop.context()["status"] == "transferred"


def _too_large_to_return(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored cart of two lines, and return pages limited to 3,000 bytes (Lambda's 6 MB, scaled down)."""
    import order_message.service

    monkeypatch.setattr(order_message.service, "MAX_RESPONSE_BYTES", 3_000)
    shop.put_lines(line("P1", "2", "10.00"), line("P2", "1", "5.00"))


def test_a_cart_whose_return_page_lambda_could_not_send_is_refused_at_transfer(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored cart whose return page would be over the limit
    _too_large_to_return(shop, monkeypatch)
    # When the shop transfers it
    response = shop.transfer()
    # Then it is refused with 422 saying why, and the cart stays open: the shop can shrink it or cancel
    assert response["statusCode"] == 422, response
    assert "too large to return" in body_json(response)["error"]["message"]
    assert shop.context()["status"] == "open"
    shop.put_lines(line("P1", "2", "10.00"))
    assert shop.transfer(cancel=True)["statusCode"] == 200


def test_a_cart_too_large_to_return_can_still_be_cancelled(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored cart whose return page would be over the limit
    _too_large_to_return(shop, monkeypatch)
    # When the shop cancels, without shrinking it
    response = shop.transfer(cancel=True)
    # Then the session ends: a cancel returns an empty cart, whatever the cart's size
    assert response["statusCode"] == 200, response
    assert shop.context()["status"] == "cancelled"


def test_the_return_page_is_measured_as_lambda_sends_it(
    partner: Any, shop_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cart whose texts are full of line ends and backslashes (two bytes each in Lambda's JSON)
    import order_message.service

    texts = line("P1", "1", "1.00", description="C:\\parts\\bolt\n" * 100)
    page = Shop(shop_headers, open_session()[0]).checkout(texts)["body"]
    # When the same cart is transferred with a limit above the page's own size but below its JSON's
    monkeypatch.setattr(order_message.service, "MAX_RESPONSE_BYTES", len(page.encode()) + 500)
    shop = Shop(shop_headers, open_session()[0])
    shop.put_lines(texts)
    # Then it is refused: what counts is what Lambda would send
    assert shop.transfer()["statusCode"] == 422


@pytest.mark.parametrize(
    ("text", "status"),
    [("é", 200), ("\u2028", 422), ("\u2029", 422)],
    ids=["non-ASCII text as its UTF-8", "line separators escaped", "paragraph separators escaped"],
)
def test_the_return_page_counts_text_as_python_3_12_sends_it(
    partner: Any, shop_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch, text: str, status: int
) -> None:
    # Given a cart described in "é" (two bytes in Lambda's answer: python3.12's runtime writes UTF-8, where
    # older ones escaped it in six) or in U+2028 (six bytes: simplejson escapes it even then, UTF-8 takes three;
    # after a letter: a description of whitespace only is refused)
    import order_message.service

    texts = line("P1", "1", "1.00", description="x" + text * 1999)
    page = Shop(shop_headers, open_session()[0]).checkout(texts)["body"]
    shop = Shop(shop_headers, open_session()[0])
    shop.put_lines(texts)
    # When the same cart is transferred with a limit a little above the page's JSON written in UTF-8
    limit = len(json.dumps(page, ensure_ascii=False).encode()) + 500
    assert len(json.dumps(page)) > limit  # and below it escaped as ASCII
    monkeypatch.setattr(order_message.service, "MAX_RESPONSE_BYTES", limit)
    # Then the "é" cart goes back to the buyer, the U+2028 one is refused: what counts is what Lambda sends
    assert shop.transfer()["statusCode"] == status


def test_a_body_is_counted_as_python_3_12_sends_it() -> None:
    from punchout.http import carried_size

    # Given a body holding a quote (escaped: two bytes), "é" (UTF-8: two), "€" (three) and U+2028 and U+2029
    # (three in UTF-8, but escaped by simplejson: six each)
    body = '"é€\u2028\u2029'
    # When it is counted, Then each takes the bytes Lambda sends, with the two quotes of the JSON string
    assert carried_size(body) == 2 + 2 + 2 + 3 + 6 + 6


def test_transfer_twice_is_409(shop: Shop) -> None:
    # Given a transferred cart
    shop.put_lines(line())
    shop.return_url()
    # When the shop transfers again
    response = shop.transfer()
    # Then it conflicts
    assert response["statusCode"] == 409


def _refusals(log_lines: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(text) for text in log_lines.getvalue().splitlines()]
    return [line for line in lines if line["message"] == "Shop API request refused"]


def test_each_shop_api_refusal_is_logged_with_the_key_but_never_the_body(
    shop: Shop, table: Table, log_lines: io.StringIO
) -> None:
    # Given the shop's key id
    [(_, api_key)] = ApiKeyRepository(table).list()
    # When the shop sends an invalid cart, transfers twice, and reads an unknown session
    invalid = line(description="a description that must not reach the log")
    invalid["quantity"] = "-1"
    assert shop.put({"lines": [invalid]})["statusCode"] == 422
    shop.put_lines(line())
    shop.return_url()
    assert shop.transfer()["statusCode"] == 409
    assert Shop(shop.headers, "no-such-session").get()["statusCode"] == 404
    # Then each refusal is one INFO line with its status, a short reason and the key's id
    refusals = _refusals(log_lines)
    assert [(r["level"], r["status"], r["api_key_id"]) for r in refusals] == [
        ("INFO", 422, api_key.id),
        ("INFO", 409, api_key.id),
        ("INFO", 404, api_key.id),
    ]
    assert refusals[0]["reason"] == "The request body is invalid"
    assert refusals[0]["locations"] == ["lines.0.quantity"]
    assert "already transferred" in refusals[1]["reason"]
    # ... and no request body, nor the key
    assert "must not reach the log" not in log_lines.getvalue()
    assert shop.headers["x-api-key"] not in log_lines.getvalue()


def test_a_refused_cart_logs_what_was_wrong_not_only_where(shop: Shop, log_lines: io.StringIO) -> None:
    # Given a body that is not JSON, and a cart that is JSON but whose line lacks its price
    missing_price = {key: value for key, value in line().items() if key != "unit_price"}
    # When the shop sends each
    assert shop.put("{not json")["statusCode"] == 422
    assert shop.put({"lines": [missing_price]})["statusCode"] == 422
    # Then each refusal line tells the operator the kind of error at each location (the location alone is ""
    # for a body that is not JSON, the same as for a body of the wrong shape), never the shop's text
    refusals = _refusals(log_lines)
    assert [(r["locations"], r["error_types"]) for r in refusals] == [
        ([""], ["json_invalid"]),
        (["lines.0.unit_price"], ["missing"]),
    ]


def test_a_refusal_logs_the_first_ten_locations_of_a_long_error_list(shop: Shop, log_lines: io.StringIO) -> None:
    # Given a cart line with fifteen fields the cart does not know
    invalid = {**line(), **{f"unknown_{n:02d}": "x" for n in range(15)}}
    # When the shop sends it
    response = shop.put({"lines": [invalid]})
    # Then the shop hears of all fifteen, and the log line names only the first ten (short, one per refusal)
    assert response["statusCode"] == 422
    locations = [e["location"] for e in body_json(response)["error"]["errors"]]
    assert len(locations) == 15
    [refusal] = _refusals(log_lines)
    assert refusal["locations"] == locations[:10]


def test_an_unknown_field_of_a_long_name_is_reported_and_logged_cut_short(shop: Shop, log_lines: io.StringIO) -> None:
    # Given a cart line with a field the cart does not know, whose name is 300,000 characters long
    name = "unknown_" + "é" * 300_000
    # When the shop sends it
    response = shop.put({"lines": [{**line(), name: "x"}]})
    # Then it is refused, the location naming the field by its first 200 characters, in the answer and in
    # the log line, which stays one CloudWatch event (log_lines checks it; a longer one would be cut)
    assert response["statusCode"] == 422
    [error] = body_json(response)["error"]["errors"]
    assert error["location"] == f"lines.0.{name}"[:200] + "..."
    [refusal] = _refusals(log_lines)
    assert refusal["locations"] == [error["location"]]


@pytest.mark.parametrize(("length", "shown"), [(200, 200), (201, 200)], ids=["kept whole", "cut"])
def test_a_location_is_cut_only_past_200_characters(shop: Shop, length: int, shown: int) -> None:
    # Given a cart line with an unknown field whose location is 200 or 201 characters, of "é" (two bytes each)
    location = "lines.0.unknown_".ljust(length, "é")
    name = location.removeprefix("lines.0.")
    # When the shop sends it
    response = shop.put({"lines": [{**line(), name: "x"}]})
    # Then a location of 200 characters is reported whole, one longer by its first 200 characters
    [error] = body_json(response)["error"]["errors"]
    assert error["location"] == (location if length == shown else location[:shown] + "...")


def test_a_cart_the_session_could_not_be_read_back_with_is_422(shop: Shop) -> None:
    # Given a cart of 5,000 lines described in 1,000 characters each: an event Lambda takes, but the
    # session's answer spells out every line's fields (empty ones as null), past Lambda's 6 MB
    body = json.dumps({"lines": [line(f"P{n}", description="d" * 1000) for n in range(5000)]})
    assert lambda_payload_bytes(api_event("PUT", "/shop/sessions/x/cart", body=body)) < LAMBDA_RESPONSE_LIMIT
    # When the shop puts it
    response = shop.put(body)
    # Then it is refused with 422 saying why, while the shop can change it
    assert response["statusCode"] == 422
    assert "too large to read back" in body_json(response)["error"]["message"]
    # And the session can still be read (Lambda could not have answered it with that cart: a 502 at every GET)
    assert shop.get()["statusCode"] == 200


def test_a_cart_its_buyer_could_not_edit_is_422(shop: Shop) -> None:
    # Given 5,000 lines described in 220 backslashes each (two bytes each escaped, four in Lambda's answer):
    # the session's answer carries the cart (5.9 MB), but the buyer's edit of it lists every line again as
    # a request item (6.5 MB), past Lambda's 6 MB: it could be returned, then never edited (400)
    lines = [line(f"P{n}", description="\\" * 220) for n in range(5000)]
    # When the shop puts it
    response = shop.put({"lines": lines})
    # Then it is refused with 422 saying why, while the shop can change it
    assert response["statusCode"] == 422, response["statusCode"]
    assert "in the buyer's edit" in body_json(response)["error"]["message"]


def test_a_cart_accepted_near_the_limit_can_be_edited(table: Table) -> None:
    # Given a returned cart of 5,000 lines described in 200 backslashes each, which the buyer's edit shows
    # in 6.1 MB: just within what PUT cart accepts (the edit's answer, measured as setup measures it)
    partner = register(table)
    headers = shop_key(table)
    shop = Shop(headers, open_session()[0])
    shop.put_lines(*[line(f"P{n}", description="\\" * 200) for n in range(5000)])
    document = ReturnPage.of(shop.checkout()).document(partner)
    # When the buyer edits it
    edit = Shop(headers, open_session_with(setup_document("edit", items=item_outs(document))))
    # Then the shop reads the session, every line restored (invoke checks the answer fits Lambda's 6 MB)
    assert len(edit.context()["cart"]["lines"]) == 5000


def test_put_cart_measures_the_answer_the_buyers_edit_of_the_cart_gets(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given what PUT cart measures of a cart of twelve lines (the session's answer in the buyer's edit of it)
    import order_message.service
    from punchout.http import carried_size

    partner = register(table)
    headers = shop_key(table)
    measured: list[str] = []

    def recorded(body: str) -> int:
        measured.append(body)
        return carried_size(body)

    monkeypatch.setattr(order_message.service, "carried_size", recorded)
    shop = Shop(headers, open_session()[0])
    shop.put_lines(*[line(f"P{n}", str(n)) for n in range(1, 13)])
    [put] = [json.loads(body) for body in measured]
    # When the buyer returns it and edits it
    document = ReturnPage.of(shop.checkout()).document(partner)
    edit = Shop(headers, open_session_with(setup_document("edit", items=item_outs(document)))).context()
    # Then the edit's session lists the very items measured (every line restored, under its reference) and cart
    assert put["items"] == edit["items"]
    assert put["cart"]["lines"] == edit["cart"]["lines"]


@pytest.mark.parametrize(("over", "status"), [(0, 200), (1, 422)], ids=["exactly the limit", "one byte over"])
def test_a_cart_whose_edit_is_exactly_the_limit_is_accepted(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, over: int, status: int
) -> None:
    # Given a response limit exactly the size of the session's answer in the buyer's edit of the cart (or a
    # byte less), set as PUT cart measures it
    import order_message.service

    limit_at_measured_size(monkeypatch, order_message.service, over)
    # When the shop puts the cart, Then it is accepted at the limit, refused one byte over it
    assert shop.put({"lines": [line()]})["statusCode"] == status


def test_put_after_transfer_is_409(shop: Shop) -> None:
    # Given a transferred cart
    shop.put_lines(line())
    shop.return_url()
    # When the shop changes the cart
    response = shop.put({"lines": [line("P9")]})
    # Then it conflicts, saying why, and the transferred cart stays
    assert response["statusCode"] == 409
    assert "already transferred" in body_json(response)["error"]["message"]
    assert [ln["supplier_part_id"] for ln in shop.context()["cart"]["lines"]] == ["P1"]


def test_cancel_returns_an_empty_cart(shop: Shop, partner: Any) -> None:
    # Given a stored cart
    shop.put_lines(line("P1", "2", "5.00"))
    # When the shop cancels, and the browser follows the return link
    page = ReturnPage.of(follow(shop.return_url(cancel=True)))
    # Then an empty cart is posted: no lines, total 0
    posted = message_tree(page.document(partner))
    assert posted.xpath("count(//ItemIn)") == 0
    assert Decimal(posted.xpath("string(//PunchOutOrderMessageHeader/Total/Money)")) == 0
    assert shop.context()["status"] == "cancelled"
    # And a Status 204 says the session ended without change (an empty cart alone, on an edit, would
    # tell the buyer to remove the lines)
    assert posted.xpath("string(/cXML/Message/Status/@code)") == "204"


def test_a_transferred_cart_carries_no_status(shop: Shop, partner: Any) -> None:
    shop.put_lines(line("P1", "2", "5.00"))
    posted = message_tree(ReturnPage.of(follow(shop.return_url())).document(partner))
    assert posted.xpath("count(/cXML/Message/Status)") == 0


def test_transfer_after_cancel_is_409(shop: Shop) -> None:
    # Given a cancelled session
    shop.return_url(cancel=True)
    # When the shop transfers
    # Then it conflicts
    assert shop.transfer()["statusCode"] == 409


def test_transfer_without_a_cart_returns_an_empty_cart(shop: Shop, partner: Any) -> None:
    # Given a session where the shop stored nothing
    # When it transfers
    page = ReturnPage.of(follow(shop.return_url()))
    # Then an empty cart is posted
    assert message_tree(page.document(partner)).xpath("count(//ItemIn)") == 0


def test_a_first_put_that_read_the_session_before_a_transfer_is_409(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a session without a cart, and a transfer that completes between the PUT's reading of the
    # session (still open) and its writing of the cart
    import order_message.handler
    from punchout.sessions import TransferRequest
    from punchout.store.sessions import SessionRepository

    transfers: list[Any] = []
    save_cart = SessionRepository.save_cart

    def transfer_first(self: SessionRepository, *args: Any, **kwargs: Any) -> Any:
        if not transfers:
            transfers.append(order_message.handler.service().transfer(shop.session_id, TransferRequest()))
        return save_cart(self, *args, **kwargs)

    monkeypatch.setattr(SessionRepository, "save_cart", transfer_first)
    # When the shop PUTs its first cart
    response = shop.put({"lines": [line("LATE")]})
    # Then the PUT conflicts, and the buyer gets the cart the transfer saw: an empty one
    assert response["statusCode"] == 409, response
    assert (shop.context()["status"], shop.context()["cart"]) == ("transferred", None)
    page = ReturnPage.of(follow(transfers[0].return_url))
    assert message_tree(page.document(partner)).xpath("count(//ItemIn)") == 0


def test_a_transfer_that_found_no_cart_before_a_first_put_is_409(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a session without a cart, and a PUT that completes between the transfer's looking for the
    # cart (none) and its ending the session
    import order_message.handler
    from punchout.sessions import CartInput
    from punchout.store.sessions import SessionRepository

    puts: list[Any] = []
    current_cart = SessionRepository.current_cart

    def put_after(self: SessionRepository, ref: str) -> Any:
        found = current_cart(self, ref)
        if not puts:
            cart = CartInput.model_validate({"lines": [line("P1")]})
            puts.append(order_message.handler.service().put_cart(shop.session_id, cart))
        return found

    monkeypatch.setattr(SessionRepository, "current_cart", put_after)
    # When the shop transfers
    response = shop.transfer()
    # Then the transfer conflicts and the session stays open with the PUT's cart; transferred again, the
    # buyer gets that cart
    assert response["statusCode"] == 409, response
    monkeypatch.undo()
    assert shop.context()["status"] == "open"
    page = ReturnPage.of(follow(shop.return_url()))
    assert message_tree(page.document(partner)).xpath("//ItemIn//SupplierPartID/text()") == ["P1"]


def _throttled(*_: Any) -> None:
    """A DynamoDB write refused, in place of a repository method (``self`` and arguments ignored)."""
    from botocore.exceptions import ClientError

    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutItem")


def test_a_transfer_retried_after_its_session_was_not_saved_succeeds(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a transfer without a cart that failed after ending the cart, before saving the session
    from punchout.store.sessions import SessionRepository

    with monkeypatch.context() as patch:
        patch.setattr(SessionRepository, "save", _throttled)
        assert shop.transfer()["statusCode"] == 500
    # When the shop transfers again
    # Then it succeeds, with an empty cart
    page = ReturnPage.of(follow(shop.return_url()))
    assert message_tree(page.document(partner)).xpath("count(//ItemIn)") == 0
    assert shop.context()["status"] == "transferred"


def _transfer_failing_in(shop: Shop, monkeypatch: pytest.MonkeyPatch, with_cart: bool, *methods: str) -> None:
    """A transfer (of a one-line cart, or none) that fails while the named session writes are refused;
    the session stays open."""
    from punchout.store.sessions import SessionRepository

    if with_cart:
        shop.put_lines(line("P1"))
    with monkeypatch.context() as patch:
        for method in methods:
            patch.setattr(SessionRepository, method, _throttled)
        assert shop.transfer()["statusCode"] == 500
    assert shop.context()["status"] == "open"


@pytest.mark.parametrize("with_cart", [False, True], ids=["no cart", "a cart"])
def test_a_transfer_whose_session_was_not_saved_leaves_the_cart_open(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch, with_cart: bool
) -> None:
    # Given a transfer that failed after ending the cart, before saving the session
    _transfer_failing_in(shop, monkeypatch, with_cart, "save")
    # When the user goes on shopping, and the shop then transfers again
    # Then the cart can still change (the session is open), and the buyer gets the changed cart
    shop.put_lines(line("P2"))
    page = ReturnPage.of(follow(shop.return_url()))
    assert message_tree(page.document(partner)).xpath("//ItemIn//SupplierPartID/text()") == ["P2"]


@pytest.mark.parametrize("with_cart", [False, True], ids=["no cart", "a cart"])
def test_a_transfer_retried_after_neither_its_session_was_saved_nor_its_cart_reopened_succeeds(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch, with_cart: bool
) -> None:
    # Given a transfer that ended the cart, then could neither save the session nor reopen the cart:
    # the session is open, its cart transferred (or, without a cart, ended at revision 0)
    _transfer_failing_in(shop, monkeypatch, with_cart, "save", "reopen_cart")
    # When the shop transfers again
    # Then it succeeds, with the cart the first transfer ended
    page = ReturnPage.of(follow(shop.return_url()))
    expected = ["P1"] if with_cart else []
    assert message_tree(page.document(partner)).xpath("//ItemIn//SupplierPartID/text()") == expected
    assert shop.context()["status"] == "transferred"


@pytest.mark.parametrize("cancel", [False, True], ids=["transfer", "cancel"])
@pytest.mark.parametrize("with_cart", [False, True], ids=["no cart", "a cart"])
def test_a_transfer_whose_return_link_could_not_be_stored_can_be_retried(
    shop: Shop, partner: Any, monkeypatch: pytest.MonkeyPatch, with_cart: bool, cancel: bool
) -> None:
    # Given a transfer (or cancel) that failed with the function's 500 ("retry later") because its
    # return link could not be stored
    from punchout.store.sessions import SessionRepository

    if with_cart:
        shop.put_lines(line("P1"))
    with monkeypatch.context() as patch:
        patch.setattr(SessionRepository, "issue_token", _throttled)
        failed = shop.transfer(cancel=cancel)
    assert failed["statusCode"] == 500, failed
    # When the shop retries, as the README tells it to after a 5xx
    retried = shop.transfer(cancel=cancel)
    # Then the retry hands out the link (it is not refused as "already transferred", which would leave
    # the user with no way back to the procurement system), and the link returns the cart
    assert retried["statusCode"] == 200, retried
    page = ReturnPage.of(follow(body_json(retried)["return_url"]))
    expected = ["P1"] if with_cart and not cancel else []
    assert message_tree(page.document(partner)).xpath("//ItemIn//SupplierPartID/text()") == expected
    assert shop.context()["status"] == ("cancelled" if cancel else "transferred")


@pytest.mark.parametrize("cancel", [False, True], ids=["transfer", "cancel"])
@pytest.mark.parametrize("with_cart", [False, True], ids=["no cart", "a cart"])
def test_a_transfer_that_read_the_session_before_another_ended_it_is_409(
    shop: Shop, partner: Any, table: Table, monkeypatch: pytest.MonkeyPatch, with_cart: bool, cancel: bool
) -> None:
    # Given a session one transfer ended, and a second transfer (or cancel) that read it while it was open
    from punchout.store.sessions import SessionRepository

    if with_cart:
        shop.put_lines(line("P1"))
    first = shop.return_url()
    read = SessionRepository.get

    def read_while_open(self: SessionRepository, session_id: str) -> Any:
        found = read(self, session_id)
        return found.model_copy(update={"status": "open"}) if found else None

    # When the second one goes on
    with monkeypatch.context() as patch:
        patch.setattr(SessionRepository, "get", read_while_open)
        response = shop.transfer(cancel=cancel)
    # Then it is refused and hands out no link; the session and its cart stay as the first left them
    assert response["statusCode"] == 409, response
    assert "return_url" not in response["body"]
    assert shop.context()["status"] == "transferred"
    sessions = SessionRepository(table)
    session = sessions.get(shop.session_id)
    state = sessions.cart_state(session.cart_ref) if session else None
    assert state is not None and state.status != "open", state  # not reopened for a PUT to change
    page = ReturnPage.of(follow(first))
    expected = ["P1"] if with_cart else []
    assert message_tree(page.document(partner)).xpath("//ItemIn//SupplierPartID/text()") == expected


def test_transfer_body_with_unknown_fields_is_422(shop: Shop) -> None:
    # Given an open session
    # When the transfer body has a field the API does not know
    response = call("POST", f"/shop/sessions/{shop.session_id}/transfer", '{"cancle": true}', shop.headers)
    # Then it is refused, and nothing was transferred
    assert response["statusCode"] == 422
    assert shop.context()["status"] == "open"


def test_transfer_of_an_unknown_session_is_404(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given no such session
    # When the shop transfers it
    response = Shop(shop_headers, "nosuchsession0123456789abcdefghijklmnopqrs").transfer()
    # Then it is a 404
    assert response["statusCode"] == 404


# --- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_document_is_served_without_a_key(partner: Any) -> None:
    # Given the committed OpenAPI document
    committed = json.loads((Path(openapi.__file__).with_name("openapi.json")).read_text(encoding="utf-8"))
    # When anyone fetches /shop/openapi.json
    response = call("GET", "/shop/openapi.json")
    # Then it is that document, as JSON, with the servers it was fetched from
    assert response["statusCode"] == 200
    assert response_header(response, "Content-Type") == "application/json"
    served = body_json(response)
    assert {k: v for k, v in served.items() if k != "servers"} == committed
    assert "servers" not in committed


def test_the_openapi_document_describes_its_own_answer(partner: Any) -> None:
    # Given the document's operation for itself
    operation = documented_operation("GET", "/shop/openapi.json")
    assert operation is not None
    # When a shop's client fetches it
    response = call("GET", "/shop/openapi.json")
    # Then the answer's content type is one the operation gives, with a schema the body matches
    content = operation["responses"]["200"].get("content", {})
    assert response_header(response, "Content-Type") in content, operation
    assert closed_validator_of(content["application/json"]["schema"]).is_valid(body_json(response))


@pytest.mark.parametrize(
    ("requested", "host", "proto", "server"),
    [
        (
            "/dev/shop/openapi.json",
            "abc123.execute-api.eu-west-1.amazonaws.com",
            "https",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/dev",
        ),
        ("/shop/openapi.json", "shop-api.supplier.example", "https", "https://shop-api.supplier.example"),
        ("/dev/shop/openapi.json", "127.0.0.1:3000", "http", "http://127.0.0.1:3000/dev"),
        ("/shop/openapi.json", "127.0.0.1:3000", "http", "http://127.0.0.1:3000"),
    ],
    ids=["execute-api", "custom domain", "local gateway with the stage", "local gateway without"],
)
def test_served_openapi_document_names_the_url_it_was_fetched_under(
    partner: Any, requested: str, host: str, proto: str, server: str
) -> None:

    # Given a request for the document as API Gateway (or the local gateway) passes it on: the path
    # without the stage, the path as requested in requestContext
    event = api_event("GET", "/shop/openapi.json", host=host, headers={"X-Forwarded-Proto": proto})
    event["requestContext"]["path"] = requested
    # When the function answers it
    response = invoke("OrderMessageFunction", event)
    # Then its servers are that URL, so tools calling its paths keep the stage prefix
    assert body_json(response)["servers"] == [{"url": server}]


def _documented(status: str, method: str, path: str) -> Any:
    """A validator of the answers the document describes (closed: no field it does not describe)."""
    operation = documented_operation(method, path)
    assert operation is not None, (method, path)
    return closed_validator_of(operation["responses"][status]["content"]["application/json"]["schema"])


def test_the_functions_internal_error_is_described(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a failure nobody expected
    from punchout.store.sessions import SessionRepository

    def broken(self: SessionRepository, session_id: str) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(SessionRepository, "get", broken)
    # When the shop reads its session
    response = shop.get()
    # Then the 500 is one the document describes
    assert response["statusCode"] == 500
    _documented("500", "get", "/shop/sessions/{id}").validate(body_json(response))


CART_VALUES = [
    ("quantity", "1"),
    ("quantity", "0.000001"),
    ("quantity", "999999999999.999999"),
    ("quantity", 2.5),
    ("quantity", "0"),
    ("quantity", "0.000"),
    ("quantity", "0.0000001"),
    ("quantity", "1000000000000"),
    ("quantity", "-1"),
    ("quantity", "1.5.0"),
    ("quantity", 0),
    ("quantity", 1e12),
    ("unit_price", "0"),
    ("unit_price", "0.00"),
    ("unit_price", "12.345678"),
    ("unit_price", "12.3456789"),
    ("unit_price", "-0.01"),
    ("unit_price", "1000000000000.00"),
    ("shipping", "0.0001"),
    ("shipping", "0.00001"),
    ("shipping", "99999999999999.9999"),
    ("shipping", "100000000000000"),
]


@pytest.mark.parametrize(("field", "value"), CART_VALUES)
def test_a_cart_the_openapi_document_accepts_is_stored_and_one_it_refuses_is_422(
    shop: Shop, field: str, value: Any
) -> None:
    # Given a cart whose quantity, unit price or shipping amount is that value (shipping in CLF, whose 4 minor
    # units are the document's 4 places: a charge in another currency is held to its own, see test_cart_money)
    cart: dict[str, Any] = {"lines": [line()]}
    if field == "shipping":
        cart["shipping"] = {"amount": value, "description": "Freight"}
        cart["currency"] = "CLF"
    else:
        cart["lines"][0][field] = value
    documented = request_validator("put", "/shop/sessions/{id}/cart").is_valid(cart)
    # When the shop stores it
    response = shop.put(cart)
    # Then the server and the document agree on it
    assert response["statusCode"] == (200 if documented else 422), response


def _cart_with_number(field: str, number: str) -> str:
    """A cart body whose quantity, unit price or shipping amount is the JSON number ``number``, as written."""
    cart: dict[str, Any] = {"lines": [line()]}
    if field == "shipping":  # in CLF, whose 4 minor units are the document's 4 places (see above)
        cart["shipping"] = {"amount": "@", "description": "Freight"}
        cart["currency"] = "CLF"
    else:
        cart["lines"][0][field] = "@"
    return json.dumps(cart).replace('"@"', number)


# JSON numbers exactly at the limits the document publishes for the number form (accepted), and one step
# past each (refused): 12 digits before the point and 6 after for a line, 14 and 4 for a charge.
CART_NUMBERS = [
    ("quantity", "0.000001", True),
    ("quantity", "1e-6", True),
    ("quantity", "0.0000001", False),
    ("quantity", "1e-7", False),
    ("quantity", "999999999999", True),
    ("quantity", "1000000000000", False),
    ("quantity", "1e12", False),
    ("quantity", "999999999.999999", True),
    ("quantity", "999999999.9999999", False),
    ("quantity", "0.10000000", True),
    ("quantity", "0", False),
    ("quantity", "-0.000001", False),
    ("unit_price", "0", True),
    ("unit_price", "-0.000001", False),
    ("unit_price", "0.000001", True),
    ("unit_price", "0.0000001", False),
    ("unit_price", "999999999999", True),
    ("unit_price", "1000000000000", False),
    ("unit_price", "999999999.999999", True),
    ("unit_price", "12.3456789", False),
    ("unit_price", "1e-400", False),  # read as a double, it was 0: a free line
    ("shipping", "0", True),
    ("shipping", "-0.0001", False),
    ("shipping", "0.0001", True),
    ("shipping", "0.00001", False),
    ("shipping", "99999999999999", True),
    ("shipping", "100000000000000", False),
    ("shipping", "99999999999.9999", True),
    ("shipping", "99999999999.99999", False),
]


@pytest.mark.parametrize(("field", "number", "accepted"), CART_NUMBERS)
def test_a_json_number_is_accepted_at_the_published_limits_and_refused_one_step_past(
    shop: Shop, field: str, number: str, accepted: bool
) -> None:
    # Given a cart whose quantity, unit price or shipping amount is a JSON number at a limit, or one step past
    body = _cart_with_number(field, number)
    # When the document judges it, and the shop stores it
    documented = request_validator("put", "/shop/sessions/{id}/cart").is_valid(json.loads(body, parse_float=Decimal))
    response = shop.put(body)
    # Then both take it at the limit and refuse it one step past
    assert (documented, response["statusCode"]) == ((True, 200) if accepted else (False, 422)), response


@pytest.mark.parametrize("number", ["123456789012.345678", "999999999999.999999", "12345678901.2345678e1"])
def test_a_json_number_past_what_a_double_holds_is_stored_exactly_as_written(shop: Shop, number: str) -> None:
    # Given a quantity of up to 18 significant digits, which a binary double does not hold
    # When the shop sends it as a JSON number, then as a string
    as_number = shop.put(_cart_with_number("quantity", number))
    stored_from_number = shop.context()["cart"]["lines"][0]["quantity"]
    as_string = shop.put({"lines": [line(quantity=number)]})
    stored_from_string = shop.context()["cart"]["lines"][0]["quantity"]
    # Then both are stored as the same exact value (never rounded, never refused over a rounding)
    assert (as_number["statusCode"], as_string["statusCode"]) == (200, 200)
    assert Decimal(stored_from_number) == Decimal(stored_from_string) == Decimal(number)


def test_committed_openapi_document_is_up_to_date() -> None:
    # Given the committed OpenAPI document
    committed = openapi.DOCUMENT.read_text(encoding="utf-8")
    # When it is generated again from the models
    # Then nothing changed (else: run `python -m order_message.openapi`)
    assert committed == openapi.render()


def _components_reached(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """The names of the document's schemas that ``schema`` refers to, directly or through others."""
    reached: set[str] = set()
    pending = [schema]
    while pending:
        for part in subschemas(pending.pop()):
            name = part.get("$ref", "").removeprefix("#/components/schemas/")
            if name and name not in reached:
                reached.add(name)
                pending.append(components[name])
    return reached


def test_the_openapi_document_closes_what_the_shop_sends_and_opens_what_the_gateway_answers() -> None:
    # Given the generated OpenAPI document, its request bodies and its JSON answers
    document = json.loads(openapi.render())
    components = document["components"]["schemas"]
    operations = [operation for methods in document["paths"].values() for operation in methods.values()]
    requests = [o["requestBody"]["content"]["application/json"]["schema"] for o in operations if "requestBody" in o]
    answers = [
        content["schema"]
        for operation in operations
        for response in operation["responses"].values()
        for media_type, content in response.get("content", {}).items()
        if media_type == "application/json"
    ]
    sent = {name for schema in requests for name in _components_reached(schema, components)}
    answered = {name for schema in answers for name in _components_reached(schema, components)}
    assert {"CartInput", "TransferRequest"} <= sent
    assert {"SessionContext", "OrderMessage", "OrderPage", "Error", "GatewayError"} <= answered
    # Then every object the shop sends refuses fields it does not name (the gateway answers them 422)
    assert sent.isdisjoint(answered)
    for schema in requests + [components[name] for name in sent]:
        assert all(s.get("additionalProperties") is False for s in subschemas(schema) if "properties" in s), schema
    # And none of the gateway's answers does: a client generated from it ignores the fields a release adds
    for schema in answers + [components[name] for name in answered]:
        assert not [s for s in subschemas(schema) if s.get("additionalProperties") is False], schema


def test_openapi_document_describes_every_shop_route() -> None:
    # Given the generated OpenAPI document
    document = json.loads(openapi.render())
    # When its paths are listed
    # Then every shop route is described, behind the x-api-key scheme
    assert {(p, m) for p, ms in document["paths"].items() for m in ms} == {
        ("/shop/sessions/{id}", "get"),
        ("/shop/sessions/{id}/cart", "put"),
        ("/shop/sessions/{id}/transfer", "post"),
        ("/shop/orders/{id}", "get"),
        ("/shop/orders/{id}/pages/{page}", "get"),
        ("/shop/orders/{id}/attachments/{index}", "get"),
        ("/shop/openapi.json", "get"),
    }
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_shop_key_of_one_shop_reads_any_session(table: Table, partner: Any) -> None:
    # Given two API keys (two shops of the same supplier)
    session_id, _ = open_session()
    # When the second reads a session
    response = Shop(shop_key(table), session_id).get()
    # Then it may (keys are per supplier, not per session)
    assert response["statusCode"] == 200
    assert builders.SECRET not in response["body"]


def test_the_openapi_document_says_how_an_attachments_bytes_are_encoded() -> None:
    # Given the published document (an attachment's bytes are base64 inside JSON: which alphabet and padding
    # decide whether a client's decoder reads them, Go's []byte field wants RFC 4648's standard one, padded)
    document = json.loads((Path(openapi.__file__).with_name("openapi.json")).read_text(encoding="utf-8"))
    # When a client generator reads the attachment's content
    content = document["components"]["schemas"]["AttachmentContent"]["properties"]["content_base64"]
    # Then it is declared base64 (JSON Schema's contentEncoding, which generators map to bytes)
    assert content.get("contentEncoding") == "base64"
