"""The buyer simulator's pure parts: reading a posted cart, masking secrets, escaping, DTD checks."""

from __future__ import annotations

import base64
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from infra.local.dev.buyer_cxml import (
    MASK,
    BuyerSettings,
    SentOrder,
    check_dtd,
    decode_cart,
    item_out,
    mask_secrets,
    order_document,
    setup_document,
    text_to_bytes,
)
from infra.local.dev.html import Html, escape, render
from punchout.cxml import parse_xml, read_document
from punchout.cxml.models import (
    Classification,
    Description,
    ItemDetail,
    ItemID,
    ItemIn,
    Money,
    OrderRequest,
    PunchOutSetupRequest,
    RequestDocument,
)

SECRET = "s3cret&<value>"
SETTINGS = BuyerSettings(
    gateway_url="http://127.0.0.1:3000", partner_id="demo", domain="NetworkID", identity="AN1", secret=SECRET
)
CART = b'<?xml version="1.0" encoding="UTF-8"?><cXML payloadID="p" timestamp="t"><Message/></cXML>'


@pytest.mark.parametrize("name", ["cxml-urlencoded", "cXML-urlencoded", "CXML-URLENCODED"])
def test_a_urlencoded_cart_is_found_whatever_the_field_names_case(name: str):
    assert decode_cart([("other", "x"), (name, CART.decode())]) == (name, "urlencoded", CART)


@pytest.mark.parametrize("name", ["cxml-base64", "cXML-base64"])
def test_a_base64_cart_is_decoded_even_with_line_breaks(name: str):
    encoded = base64.encodebytes(CART).decode()  # 76-character lines, as some encoders send it
    assert "\n" in encoded
    assert decode_cart([(name, encoded)]) == (name, "base64", CART)


def test_a_form_without_a_cart_field_is_explained():
    assert decode_cart([("cxml", "x"), ("foo", "y")]) == (
        "No cxml-urlencoded or cxml-base64 field in the form (fields: cxml, foo)"
    )


def test_invalid_base64_is_explained():
    assert decode_cart([("cxml-base64", "not base64!")]) == "The cxml-base64 field is not valid base64"


def test_a_urlencoded_document_keeps_the_encoding_it_declares():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><cXML>Müller</cXML>'
    assert text_to_bytes(text) == text.encode("iso-8859-1")
    assert text_to_bytes("<cXML>Müller</cXML>") == "<cXML>Müller</cXML>".encode()


def test_shared_secrets_are_masked_in_element_and_anywhere_else():
    text = "<SharedSecret>whatever</SharedSecret><Note>s3cret&amp;&lt;value&gt; and s3cret&<value></Note>"
    masked = mask_secrets(text, [SECRET])
    assert "whatever" not in masked
    assert "s3cret" not in masked
    assert masked.count(MASK) == 3


def test_values_are_escaped_unless_already_markup():
    page = render("<p title={title}>{body}</p>", title='"><script>', body=Html("<b>ok</b>"))
    assert page == "<p title=&quot;&gt;&lt;script&gt;><b>ok</b></p>"
    assert escape("<&>") == "&lt;&amp;&gt;"
    with pytest.raises(KeyError):
        render("{missing}")


def test_without_cxml_shared_dir_dtd_validation_is_unavailable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CXML_SHARED_DIR", raising=False)
    document = setup_document(SETTINGS, "create", "cookie", "http://127.0.0.1:3000/_dev/buyer/return", [])
    assert check_dtd(parse_xml(document)).state == "unavailable"


def cart_item(number: int, quantity: str, price: str) -> ItemIn:
    return ItemIn(
        quantity=Decimal(quantity),
        item_id=ItemID(supplier_part_id=f"SKU-{number}", supplier_part_auxiliary_id=f"abcdefghijklmnop-{number}"),
        item_detail=ItemDetail(
            unit_price=Money(amount=Decimal(price), currency="USD"),
            descriptions=[Description(text=f"Part {number} <&>")],
            unit_of_measure="EA",
            classifications=[Classification(domain="UNSPSC", value="44120000")],
        ),
    )


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["1.2.014", "1.2.069"])
def test_what_the_simulator_sends_is_dtd_valid(cxml_shared_dir: Path, monkeypatch: pytest.MonkeyPatch, version: str):
    # Given an edit of two cart lines and an update order approved from them
    monkeypatch.setenv("CXML_SHARED_DIR", str(cxml_shared_dir))
    settings = replace(SETTINGS, cxml_version=version)
    items = [cart_item(1, "2", "4.95"), cart_item(2, "1", "10")]
    outs = [item_out(item, line_number=n, quantity=item.quantity) for n, item in enumerate(items, 1)]
    setup = setup_document(settings, "edit", "cookie", "http://127.0.0.1:3000/_dev/buyer/return?sim=x", outs)
    approved = (item_out(items[0], line_number=1, quantity=Decimal(3), unit_price=Decimal("4.50")),)
    order = SentOrder("PO-1", "update", 2, "", approved, "USD", "", accepted=False)
    order_bytes, payload_id = order_document(settings, order, "previous@buyer")

    # Then both are valid for the DTD they declare, and say what was meant
    assert check_dtd(parse_xml(setup)).state == "valid"
    assert check_dtd(parse_xml(order_bytes)).state == "valid"
    request = read_document(setup)
    assert isinstance(request, RequestDocument) and isinstance(request.request, PunchOutSetupRequest)
    assert [i.item_id.supplier_part_auxiliary_id for i in request.request.items] == [
        "abcdefghijklmnop-1",
        "abcdefghijklmnop-2",
    ]
    sent = read_document(order_bytes)
    assert isinstance(sent, RequestDocument) and isinstance(sent.request, OrderRequest)
    assert sent.envelope.payload_id == payload_id
    header = sent.request.header
    assert (header.type, header.order_version, header.total.amount) == ("update", 2, Decimal("13.50"))
    assert header.document_reference is not None and header.document_reference.payload_id == "previous@buyer"
    assert sent.request.items[0].item_detail is not None
    assert sent.request.items[0].item_detail.unit_price.amount == Decimal("4.50")
