"""The strict writer: DTD order, version differences, and refusals of models it cannot render validly.

These need no DTD files; test_dtd_validity.py checks the same documents against the DTDs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from punchout.cxml import DEFAULT_VERSION, RenderError, new_envelope, render, render_status
from punchout.cxml.models import (
    Classification,
    Extrinsic,
    ItemID,
    ItemOut,
    Phone,
    ShipTo,
    TelephoneNumber,
    Timestamp,
)
from punchout.cxml.reader import XML_LANG
from tests.support.zone import local_zone

from ._support import (
    TWO_COMMENTS,
    address,
    envelope,
    item_detail,
    order_message_document,
    order_of,
    order_request_document,
    postal_address,
    setup_request_document,
)


def order_header(data: bytes) -> etree._Element:
    header = etree.fromstring(data).find("Request/OrderRequest/OrderRequestHeader")
    assert header is not None
    return header


@pytest.mark.parametrize("version", ["1.2.014", "1.2.036"])
def test_several_comments_are_merged_into_one_before_1_2_063(version: str) -> None:
    # Given an order whose header has two Comments, each with an attachment
    document = order_request_document(comments=TWO_COMMENTS)

    # When it is rendered for a version with Comments? in OrderRequestHeader
    header = order_header(render(document, version))

    # Then one Comments element, in the first one's language, holds both texts and both attachments
    (comments,) = header.findall("Comments")
    assert comments.get(XML_LANG) == "en"
    assert comments.text == "First note\n\nSecond note"
    assert comments.xpath("Attachment/URL/text()") == ["cid:a@buyer.example", "cid:b@buyer.example"]


@pytest.mark.parametrize("version", ["1.2.063", "1.2.069"])
def test_several_comments_stay_separate_from_1_2_063(version: str) -> None:
    # Given an order whose header has two Comments
    document = order_request_document(comments=TWO_COMMENTS)

    # When it is rendered for a version with Comments* in OrderRequestHeader
    header = order_header(render(document, version))

    # Then both are kept as they are
    assert [c.text for c in header.findall("Comments")] == ["First note", "Second note"]


def test_municipality_is_folded_into_city_for_1_2_014() -> None:
    # Given an address in Lyon, municipality Vieux Lyon
    document = order_request_document(municipality="Vieux Lyon")

    # When it is rendered for 1.2.014
    root = etree.fromstring(render(document, "1.2.014"))

    # Then the municipality is kept in City rather than lost
    address = root.find(".//ShipTo/Address/PostalAddress")
    assert address is not None
    assert address.findtext("City") == "Lyon, Vieux Lyon"
    assert address.find("Municipality") is None


@pytest.mark.parametrize("version", ["1.2.036", "1.2.063"])
def test_municipality_is_its_own_element_from_1_2_036(version: str) -> None:
    # Given an address in Lyon, municipality Vieux Lyon
    document = order_request_document(municipality="Vieux Lyon")

    # When it is rendered for a version with Municipality
    address = etree.fromstring(render(document, version)).find(".//ShipTo/Address/PostalAddress")

    # Then City and Municipality are separate, in DTD order
    assert address is not None
    assert [child.tag for child in address][-5:] == ["City", "Municipality", "State", "PostalCode", "Country"]
    assert (address.findtext("City"), address.findtext("Municipality")) == ("Lyon", "Vieux Lyon")


def test_render_declares_the_version_in_doctype_and_root() -> None:
    # Given an order read from a 1.2.014 document
    document = order_request_document("1.2.014")

    # When it is rendered for 1.2.063
    data = render(document, "1.2.063")

    # Then the XML declaration, the DOCTYPE and the root all say so
    assert re.match(rb"<\?xml version=[\"']1\.0[\"'] encoding=[\"']UTF-8[\"']\?>\n<!DOCTYPE", data)
    assert b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">' in data
    assert etree.fromstring(data).get("version") == "1.2.063"


def test_render_defaults_to_1_2_014() -> None:
    # Given a status answer rendered without a version
    data = render_status(200, "OK", envelope=envelope())

    # Then it declares the default version, the one Coupa still declares
    assert DEFAULT_VERSION == "1.2.014"
    assert etree.fromstring(data).get("version") == "1.2.014"


def test_a_new_envelope_has_a_unique_payload_id_of_the_recommended_form_and_its_language() -> None:
    # Given two envelopes made for one host, in German
    first, second = new_envelope("gateway.example", "de-DE"), new_envelope("gateway.example", "de-DE")

    # When one is rendered
    root = etree.fromstring(render_status(200, "OK", envelope=first))

    # Then each payloadID is time.pid.random@host, with 64 random bits, and no two are the same
    for made in (first, second):
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9a-f]{16}@gateway\.example", made.payload_id)
    assert first.payload_id != second.payload_id
    # And the root carries that payloadID and language
    assert (root.get("payloadID"), root.get(XML_LANG)) == (first.payload_id, "de-DE")


def test_a_new_envelope_is_stamped_with_the_current_time_whatever_the_local_zone() -> None:
    # Given a machine whose local time is nine hours ahead of UTC
    with local_zone("JST-9"):
        # When an envelope is made
        before = datetime.now(UTC).replace(microsecond=0)
        stamped = new_envelope().timestamp
        after = datetime.now(UTC)

    # Then its timestamp is the current time, with a numeric offset
    assert stamped.value is not None and before <= stamped.value <= after
    assert re.fullmatch(r"[0-9-]{10}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}", stamped.text)


def test_timestamps_are_rendered_with_a_numeric_offset_and_unreadable_ones_as_they_came() -> None:
    # Given an order dated with a Z, whose line is due on a date no reader understands
    document = order_request_document()
    order = order_of(document)
    header = order.header.model_copy(update={"order_date": Timestamp.parse("2026-01-31T10:00:00Z")})
    line = order.items[0].model_copy(update={"requested_delivery_date": Timestamp.parse("end of March")})
    order = order.model_copy(update={"header": header, "items": [line]})

    # When it is rendered
    root = etree.fromstring(render(document.model_copy(update={"request": order}), "1.2.069"))

    # Then the order date has a numeric offset, and the unreadable date is kept as it came
    order_element = root.find("Request/OrderRequest")
    assert order_element is not None
    assert order_element.xpath("string(OrderRequestHeader/@orderDate)") == "2026-01-31T10:00:00+00:00"
    assert order_element.xpath("string(ItemOut/@requestedDeliveryDate)") == "end of March"


def test_render_refuses_a_version_that_is_not_one() -> None:
    # Given an order
    # When it is rendered for a version that is not dotted numbers
    # Then the writer refuses
    with pytest.raises(RenderError, match="Not a cXML version"):
        render(order_request_document(), "1.2.x")


def test_item_out_without_quantity_is_refused() -> None:
    # Given a setup request whose earlier cart line has no quantity (as some buyers send)
    document = setup_request_document()
    request = document.request.model_copy(
        update={"items": [ItemOut(quantity=None, item_id=ItemID(supplier_part_id="BP-10"))]}
    )

    # When it is rendered
    # Then the writer refuses: ItemOut@quantity is required
    with pytest.raises(RenderError, match="ItemOut needs a quantity"):
        render(document.model_copy(update={"request": request}))


def test_extrinsic_without_name_is_refused() -> None:
    # Given a setup request with an Extrinsic that has no name
    document = setup_request_document()
    request = document.request.model_copy(update={"extrinsics": [Extrinsic(name=None, value="x")]})

    # When it is rendered
    # Then the writer refuses: Extrinsic@name is required
    with pytest.raises(RenderError, match="Extrinsic needs a name"):
        render(document.model_copy(update={"request": request}))


@pytest.mark.parametrize("party", ["from_credentials", "to_credentials", "sender_credentials"])
def test_header_without_a_credential_of_each_party_is_refused(party: str) -> None:
    # Given an order whose Header lacks the credentials of one party
    document = order_request_document()
    assert document.header is not None
    header = document.header.model_copy(update={party: []})

    # When it is rendered
    # Then the writer refuses: From, To and Sender each need a Credential
    with pytest.raises(RenderError, match="Header needs From, To and Sender credentials"):
        render(document.model_copy(update={"header": header}))


def test_item_detail_without_classification_is_refused() -> None:
    # Given a cart line whose ItemDetail has no Classification
    document = order_message_document()
    line = document.message.items[0]
    bare = line.model_copy(update={"item_detail": item_detail().model_copy(update={"classifications": []})})
    message = document.message.model_copy(update={"items": [bare]})

    # When it is rendered
    # Then the writer refuses: a cart without Classification is invalid
    with pytest.raises(RenderError, match="Classification"):
        render(document.model_copy(update={"message": message}))


def test_cart_without_operation_allowed_is_refused() -> None:
    # Given a cart read from a buyer that left operationAllowed out
    document = order_message_document()
    header = document.message.header.model_copy(update={"operation_allowed": None})
    message = document.message.model_copy(update={"header": header})

    # When it is rendered
    # Then the writer refuses: operationAllowed is required
    with pytest.raises(RenderError, match="operationAllowed"):
        render(document.model_copy(update={"message": message}))


def test_order_without_bill_to_is_refused() -> None:
    # Given an order without BillTo (seen in real orders)
    document = order_request_document()
    header = order_of(document).header.model_copy(update={"bill_to": None})

    # When it is rendered
    # Then the writer refuses: BillTo is required by the DTD
    with pytest.raises(RenderError, match="BillTo"):
        render(document.model_copy(update={"request": document.request.model_copy(update={"header": header})}))


# What the writer says, for each address it refuses (as changes to the sample address).
ADDRESS_REFUSALS: dict[str, dict[str, Any]] = {
    "PostalAddress needs at least one Street": {"postal_address": postal_address().model_copy(update={"street": []})},
    "Country needs an isoCountryCode": {"postal_address": postal_address().model_copy(update={"iso_country_code": ""})},
    "CountryCode needs an isoCountryCode": {
        "phone": Phone(
            telephone_number=TelephoneNumber(
                country_code="33", iso_country_code="", area_or_city_code="4", number="78000000"
            )
        )
    },
}


@pytest.mark.parametrize("refusal", sorted(ADDRESS_REFUSALS))
def test_an_incomplete_address_is_refused(refusal: str) -> None:
    # Given an order shipped to an address without a Street, or with a country but not its ISO code
    document = order_request_document()
    order = order_of(document)
    ship_to = ShipTo(address=address().model_copy(update=ADDRESS_REFUSALS[refusal]))
    order = order.model_copy(update={"header": order.header.model_copy(update={"ship_to": ship_to})})

    # When it is rendered
    # Then the writer refuses, saying what is missing
    with pytest.raises(RenderError, match=refusal):
        render(document.model_copy(update={"request": order}))


@pytest.mark.parametrize(
    ("markup", "refusal"),
    [("<Session>x</Session>", "not a BuyerCookie element"), ("<BuyerCookie>x", "not well-formed")],
    ids=["another element", "not well-formed"],
)
def test_buyer_cookie_markup_that_is_not_one_buyer_cookie_is_refused(markup: str, refusal: str) -> None:
    # Given a cart whose BuyerCookie markup (kept for a cookie holding elements) is another element, or not XML
    document = order_message_document()
    message = document.message.model_copy(update={"buyer_cookie": markup, "buyer_cookie_markup": True})

    # When it is rendered
    # Then the writer refuses rather than put something else in the BuyerCookie's place
    with pytest.raises(RenderError, match=refusal):
        render(document.model_copy(update={"message": message}))


def test_item_detail_children_come_in_dtd_order() -> None:
    # Given a cart line with every ItemDetail child the writer knows
    document = order_message_document()

    # When it is rendered
    detail = etree.fromstring(render(document, "1.2.069")).find(".//ItemIn/ItemDetail")

    # Then the children follow the DTD's sequence
    assert detail is not None
    assert [child.tag for child in detail] == [
        "UnitPrice",
        "Description",
        "UnitOfMeasure",
        "Classification",
        "ManufacturerPartID",
        "ManufacturerName",
        "URL",
        "LeadTime",
        "Extrinsic",
    ]


def test_money_is_rendered_as_a_plain_decimal() -> None:
    # Given a cart total of 1E+3 (a Decimal in exponent form) and a price of 0.10
    document = order_message_document()
    total = document.message.header.total.model_copy(update={"amount": Decimal("1E+3")})
    header = document.message.header.model_copy(update={"total": total})
    line = document.message.items[0]
    detail = item_detail(price="0.10").model_copy(
        update={"classifications": [Classification(domain="UNSPSC", value="44121704")]}
    )
    message = document.message.model_copy(
        update={"header": header, "items": [line.model_copy(update={"item_detail": detail})]}
    )

    # When it is rendered
    root = etree.fromstring(render(document.model_copy(update={"message": message})))

    # Then amounts are plain decimal strings, trailing zeros kept
    assert root.findtext(".//PunchOutOrderMessageHeader/Total/Money") == "1000"
    assert root.findtext(".//ItemIn/ItemDetail/UnitPrice/Money") == "0.10"
