"""Lenient reading: real buyers break the DTD in known ways; only what cannot be worked with is refused."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from lxml import etree

from punchout.cxml import CXMLError, parse_xml, read_document, read_request_head, render
from punchout.cxml.models import (
    MessageDocument,
    OrderRequest,
    PunchOutSetupRequest,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
)
from punchout.cxml.reader import MAX_ORDER_ELEMENTS, check_order_elements
from tests.support import builders

from ._support import (
    HEADER_XML,
    header_of,
    order_message_document,
    order_of,
    order_request_document,
    order_request_xml,
    request_document,
    setup_request_xml,
    setup_response_document,
)

BROWSER_FORM_POST = "<BrowserFormPost><URL>https://buyer.example/return</URL></BrowserFormPost>"
CONTACT = '<Contact role="endUser"><Name xml:lang="en">Jane Doe</Name><Email>jane@buyer.example</Email></Contact>'


def setup_request(text: str) -> PunchOutSetupRequest:
    document = read_document(text.encode())
    assert isinstance(document, RequestDocument)
    assert isinstance(document.request, PunchOutSetupRequest)
    return document.request


def refusal(text: str) -> CXMLError:
    with pytest.raises(CXMLError) as error:
        read_document(text.encode())
    return error.value


def test_contact_before_browser_form_post_is_read() -> None:
    # Given a setup request with Contact before BrowserFormPost (as Coupa has sent)
    text = setup_request_xml(CONTACT + BROWSER_FORM_POST)

    # When it is read
    request = setup_request(text)

    # Then both are found where they are
    assert request.browser_form_post == "https://buyer.example/return"
    assert [(c.role, c.name, c.emails) for c in request.contacts] == [("endUser", "Jane Doe", ["jane@buyer.example"])]


def test_credential_domains_are_kept_in_their_case() -> None:
    # Given credentials whose domains are spelled in different cases
    header = HEADER_XML.replace('domain="DUNS"', 'domain="duns"').replace(
        '<From><Credential domain="NetworkId">', '<From><Credential domain="NETWORKID">'
    )

    # When the request is read
    document = read_document(setup_request_xml(header=header).encode())

    # Then the domains are kept as sent (comparison is the authenticator's business)
    credentials = header_of(document)
    assert credentials.from_credentials[0].domain == "NETWORKID"
    assert credentials.to_credentials[0].domain == "duns"
    assert credentials.sender_credentials[0].domain == "NetworkId"


def test_a_credential_domain_with_surrounding_spaces_is_read_trimmed() -> None:
    # Given a From credential whose domain is padded with spaces
    header = HEADER_XML.replace('<From><Credential domain="NetworkId">', '<From><Credential domain=" NetworkId ">')

    # When the request is read
    document = read_document(setup_request_xml(header=header).encode())

    # Then the domain is read without them, as the partner's configuration names it
    assert header_of(document).from_credentials[0].domain == "NetworkId"


def test_extrinsic_without_name_is_read() -> None:
    # Given an Extrinsic without the name the DTD requires
    text = setup_request_xml('<Extrinsic>jane@buyer.example</Extrinsic><Extrinsic name="User">jane</Extrinsic>')

    # When it is read
    request = setup_request(text)

    # Then it is kept with no name, beside the named one
    assert [(e.name, e.value) for e in request.extrinsics] == [(None, "jane@buyer.example"), ("User", "jane")]


def test_unknown_elements_and_attributes_are_ignored() -> None:
    # Given a setup request with elements and attributes no DTD knows, at several levels
    text = setup_request_xml(
        '<VendorSpecific a="1"><Deep/></VendorSpecific>' + BROWSER_FORM_POST.replace("<URL>", '<Foo/><URL x="y">'),
        request_attributes=' custom="1"',
    ).replace("<Header>", "<Header><Routing/>")

    # When it is read
    request = setup_request(text)

    # Then what is known is read and the rest ignored
    assert request.browser_form_post == "https://buyer.example/return"
    assert request.buyer_cookie == "cookie-1"


def test_money_with_surrounding_whitespace_is_read() -> None:
    # Given an order total written across lines
    text = order_request_xml(total="\n      42.50\n   ")

    # When it is read
    document = read_document(text.encode())

    # Then the amount is the decimal inside
    assert order_of(document).header.total.amount == Decimal("42.50")


@pytest.mark.parametrize("inside", ["<!-- net -->", "<?buyer trace?>"])
def test_a_comment_or_processing_instruction_inside_an_amount_is_left_out(inside: str) -> None:
    # Given an order total split by a comment or a processing instruction
    text = order_request_xml(total=f"10{inside}.50")

    # When it is read
    document = read_document(text.encode())

    # Then the amount reads whole, as if it were not there
    assert order_of(document).header.total.amount == Decimal("10.50")


def test_an_element_sent_twice_is_read_from_its_first_occurrence() -> None:
    # Given a setup request with two BrowserFormPost elements, where the DTD allows one
    second = BROWSER_FORM_POST.replace("https://buyer.example/return", "https://elsewhere.example/return")
    text = setup_request_xml(BROWSER_FORM_POST + second)

    # When it is read
    request = setup_request(text)

    # Then the first one is the address the cart goes back to
    assert request.browser_form_post == "https://buyer.example/return"


def test_attribute_values_with_surrounding_whitespace_are_read_trimmed() -> None:
    # Given an order whose orderID and currency are padded with spaces
    text = order_request_xml(header_attributes='orderID=" PO-1 " orderDate="2026-01-31"')
    text = text.replace('currency="EUR"', 'currency=" EUR "')

    # When it is read
    header = order_of(read_document(text.encode())).header

    # Then the values are read without the spaces
    assert (header.order_id, header.total.currency) == ("PO-1", "EUR")


def test_comments_text_around_an_attachment_is_read_without_its_layout() -> None:
    # Given order Comments written across lines around an Attachment
    comments = "<Comments>\n  Deliver by noon\n  <Attachment><URL>cid:a@buyer.example</URL></Attachment>\n</Comments>"
    text = order_request_xml().replace("</OrderRequestHeader>", comments + "</OrderRequestHeader>")

    # When it is read
    header = order_of(read_document(text.encode())).header

    # Then the note is its text without the line ends around it, and the attachment is listed apart
    assert [(c.text, c.attachments) for c in header.comments] == [("Deliver by noon", ["cid:a@buyer.example"])]


def test_a_name_without_language_is_taken_as_english() -> None:
    # Given a Contact whose Name has no xml:lang
    request = setup_request(setup_request_xml(CONTACT.replace(' xml:lang="en"', "")))

    # Then its language is English, the models' default
    assert [(c.name, c.name_lang) for c in request.contacts] == [("Jane Doe", "en")]


def test_descriptions_without_language_are_taken_as_english() -> None:
    # Given a cart whose Descriptions (header and line) have no xml:lang
    text = render(order_message_document()).replace(b'<Description xml:lang="en">', b"<Description>")
    assert b"<Description xml:lang" not in text

    # When it is read
    document = read_document(text)

    # Then every description is in English, as it was rendered
    assert document == read_document(render(order_message_document()))


def test_a_line_whose_item_id_repeats_its_part_id_is_read_from_the_first() -> None:
    # Given an order line whose ItemID holds two SupplierPartIDs
    text = order_request_xml().replace(
        "<SupplierPartID>BP-10</SupplierPartID>",
        "<SupplierPartID>BP-10</SupplierPartID><SupplierPartID>X</SupplierPartID>",
    )

    # When it is read
    # Then the part is the first one, as for every element read once
    assert order_of(read_document(text.encode())).items[0].item_id.supplier_part_id == "BP-10"


def test_an_empty_lead_time_is_read_as_none() -> None:
    # Given a cart line whose LeadTime is empty
    text = render(order_message_document()).replace(b"<LeadTime>3</LeadTime>", b"<LeadTime> </LeadTime>")
    assert b"<LeadTime> </LeadTime>" in text

    # When it is read
    document = read_document(text)

    # Then the line has no lead time, rather than being refused
    assert isinstance(document, MessageDocument)
    assert document.message.items[0].item_detail.lead_time is None


def test_an_order_without_type_is_a_new_order() -> None:
    # Given an order header without the type attribute (the DTD's default is "new")
    document = read_document(order_request_xml().encode())

    # When it is read
    # Then it is a new order, not an update of one never received
    assert order_of(document).header.type == "new"


@pytest.mark.parametrize(
    ("written", "wanted"),
    [
        ("Yes", True),
        # Ruby's Nokogiri builder writes `shipComplete: true` as "true" (true.to_s), and XML Schema's
        # boolean has "true" and "1": the buyer wants one shipment all the same
        ("true", True),
        ("1", True),
        ("false", False),
        ("no", False),
        ("0", False),
    ],
)
def test_ship_complete_in_another_case_or_as_a_boolean_is_read(written: str, wanted: bool) -> None:
    # Given an order whose shipComplete is written so
    text = order_request_xml(header_attributes=f'orderID="PO-1" orderDate="2026-01-31" shipComplete="{written}"')

    # When it is read
    # Then the buyer wants one shipment, or does not
    assert order_of(read_document(text.encode())).header.ship_complete is wanted


def test_a_document_reference_without_payload_id_is_refused() -> None:
    # Given an order update whose DocumentReference has an empty payloadID
    reference = '<DocumentReference payloadID=" "/></OrderRequestHeader>'
    text = order_request_xml(header_attributes='orderID="PO-1" orderDate="2026-01-31" type="update"')
    error = refusal(text.replace("</OrderRequestHeader>", reference))

    # Then it is a Bad Request naming the attribute, not an update of a document named ""
    assert error.status == 400
    assert error.text == "DocumentReference has no payloadID attribute"


def test_a_description_with_two_short_names_is_read_with_the_first() -> None:
    # Given a cart line whose Description holds two ShortNames, where the DTD allows one
    text = render(order_message_document()).replace(
        b"<ShortName>Pen</ShortName>", b"<ShortName>Pen</ShortName><ShortName>Other</ShortName>"
    )

    # When it is read
    document = read_document(text)

    # Then the short name is the first one
    assert isinstance(document, MessageDocument)
    assert document.message.items[0].item_detail.descriptions[0].short_name == "Pen"


def test_invalid_decimal_is_refused_with_its_location() -> None:
    # Given an order total that is not a decimal
    error = refusal(order_request_xml(total="12,50"))

    # Then it is a Bad Request naming where the value is
    assert error.status == 400
    assert "Total amount '12,50'" in error.text
    assert "decimal" in error.text


@pytest.mark.parametrize(
    ("total", "quantity"),
    [
        ("1e999", "1"),
        ("0E+1000000", "1"),
        ("1" * 40, "1"),
        ("1" * 25, "1"),  # one integer digit over the bound, yet of a plain number's shape
        ("0.0000000000001", "1"),
        ("1." + "0" * 63, "1"),  # within the bounds, but longer than any number a buyer writes (65 characters)
        # zero written with more places than 64 characters hold plainly: read, it was stripped of its zeros one
        # place at a time (0E-999999999, 12 characters, took minutes) and written plainly to the shop (1 GB)
        ("0E-63", "1"),
        ("-0E-999999", "1"),
        ("0.0E-999999999", "1"),
        ("1_000", "1"),
        ("\u0663", "1"),  # an Arabic-Indic three
        ("\uff11\uff12", "1"),  # full-width 12
        ("10.00", "1e999"),
        ("10.00", "\u0663"),
    ],
)
def test_numbers_no_buyer_sends_are_refused(total: str, quantity: str) -> None:
    # Given an order whose total or quantity is a number out of any order's range, or not in ASCII digits
    text = order_request_xml(total=total).replace('quantity="1"', f'quantity="{quantity}"', 1)
    assert f'quantity="{quantity}"' in text
    # Then it is a Bad Request, not a number that would reach the shop
    assert refusal(text).status == 400


@pytest.mark.parametrize(
    "total",
    [
        "999999999999999999999999.999999999999",
        "1.500000000000000000",
        "0." + "0" * 18,  # zero, however many places it is written with
        "-0.0000000000000",
        "-0.5",
        "1E+3",
        # at the bounds, in a shape that takes the full check (a sign, an exponent)
        "+" + "9" * 24,
        "+0." + "9" * 12,
        "9.99999999999999999999999E+23",
        "1." + "0" * 62,  # 64 characters, the longest text read as a number
        "0E-62",  # zero with as many places as "0." + "0" * 62 (64 characters) holds
    ],
)
def test_numbers_within_the_range_are_read(total: str) -> None:
    order = order_of(read_document(order_request_xml(total=total).encode()))
    assert order.header.total.amount == Decimal(total)


def test_an_alternate_amount_out_of_range_is_refused() -> None:
    # Given an order total whose Money carries an alternateAmount no buyer sends
    money = '<Money currency="EUR" alternateAmount="1e999" alternateCurrency="USD">'
    text = order_request_xml().replace('<Money currency="EUR">', money, 1)
    assert money in text
    # Then it is a Bad Request naming the attribute, as the amount itself would be
    error = refusal(text)
    assert error.status == 400
    assert "Money@alternateAmount '1e999' is out of range" in error.text


def test_a_cart_line_quantity_out_of_range_is_refused() -> None:
    # Given a PunchOutOrderMessage whose ItemIn quantity is a number out of any cart's range
    text = render(order_message_document()).replace(b'<ItemIn quantity="2"', b'<ItemIn quantity="1e999"', 1)
    assert b'quantity="1e999"' in text
    # Then it is a Bad Request naming the attribute
    error = refusal(text.decode())
    assert error.status == 400
    assert "ItemIn@quantity '1e999' is out of range" in error.text


def test_missing_order_id_is_refused() -> None:
    # Given an order header without orderID
    error = refusal(order_request_xml(header_attributes='orderDate="2026-01-31"'))

    # Then it is a Bad Request naming the attribute
    assert error.status == 400
    assert error.text == "OrderRequestHeader has no orderID attribute"


def test_unknown_operation_is_refused() -> None:
    # Given a setup request with an operation cXML does not define
    error = refusal(setup_request_xml(operation="browse"))

    # Then it is a Bad Request naming the operation
    assert error.status == 400
    assert "unknown operation 'browse'" in error.text


def test_unknown_deployment_mode_is_refused() -> None:
    # Given a request whose deploymentMode is neither production nor test
    error = refusal(setup_request_xml(request_attributes=' deploymentMode="staging"'))

    # Then it is a Bad Request naming the mode
    assert error.status == 400
    assert "deploymentMode 'staging'" in error.text


def test_a_request_without_deployment_mode_is_in_production() -> None:
    # Given a request without deploymentMode (the DTD's default is production)
    document = read_document(setup_request_xml().encode())

    # Then it is a production request, never a test one
    assert request_document(document).deployment_mode == "production"


def test_deployment_mode_in_another_case_is_read() -> None:
    # Given a request whose deploymentMode is "Test"
    document = read_document(setup_request_xml(request_attributes=' deploymentMode="Test"').encode())

    # Then it is the test mode
    assert request_document(document).deployment_mode == "test"


@pytest.mark.parametrize("written", ["Create", "EDIT", " inspect "])
def test_operation_in_another_case_is_read(written: str) -> None:
    # Given a setup request whose operation is written in another case, as deploymentMode may be
    document = read_document(setup_request_xml(operation=written).encode())

    # Then it is the operation cXML defines
    request = request_document(document).request
    assert isinstance(request, PunchOutSetupRequest)
    assert request.operation == written.strip().lower()


@pytest.mark.parametrize("written", ["Update", "DELETE", "New"])
def test_order_type_in_another_case_is_read(written: str) -> None:
    # Given an order whose type is written in another case
    data = builders.order_request("PO-CASE", [builders.item_out("P1", "1")], order_type=written.lower())
    assert data.count(f'type="{written.lower()}"'.encode()) == 1
    data = data.replace(f'type="{written.lower()}"'.encode(), f'type="{written}"'.encode())

    # Then it is the type cXML defines
    request = request_document(read_document(data)).request
    assert isinstance(request, OrderRequest)
    assert request.header.type == written.lower()


def test_request_without_header_is_read_with_header_none() -> None:
    # Given a request without Header (authentication will fail later, with 401)
    document = read_document(setup_request_xml(header="").encode())

    # When it is read
    # Then there is simply no header
    assert isinstance(document, RequestDocument)
    assert document.header is None


def test_currency_in_lower_case_is_read_in_upper_case() -> None:
    # Given an order total in "eur"
    text = order_request_xml().replace('currency="EUR"', 'currency="eur"')

    # When it is read
    document = read_document(text.encode())

    # Then the currency is the ISO code
    assert order_of(document).header.total.currency == "EUR"


@pytest.mark.parametrize(("written", "read"), [(" usd ", "USD"), ("Usd", "USD"), ("  ", None), ("", None)])
def test_an_alternate_currency_is_read_as_the_currency_is(written: str, read: str | None) -> None:
    # Given an order total whose Money also gives the amount in another currency, its code padded, in lower
    # case, or blank
    money = f'<Money currency=" eur " alternateAmount="12.34" alternateCurrency="{written}">'
    text = order_request_xml().replace('<Money currency="EUR">', money, 1)
    assert money in text

    # When it is read
    total = order_of(read_document(text.encode())).header.total

    # Then both codes are the ISO codes the shop compares (a blank one is none), as the currency is
    assert (total.currency, total.alternate_amount, total.alternate_currency) == ("EUR", Decimal("12.34"), read)


def test_order_line_without_quantity_is_refused() -> None:
    # Given an order whose line has no quantity (required for an order, unlike a setup request)
    error = refusal(order_request_xml().replace('<ItemOut quantity="1">', "<ItemOut>"))

    # Then it is a Bad Request
    assert error.status == 400
    assert error.text == "ItemOut has no quantity attribute"


def test_document_whose_root_is_not_cxml_is_refused() -> None:
    # Given well-formed XML that is not cXML
    error = refusal('<?xml version="1.0"?><Envelope><Body/></Envelope>')

    # Then it is a Bad Request naming the root
    assert error.status == 400
    assert "Envelope" in error.text


def test_a_cxml_root_in_a_namespace_is_refused_saying_so() -> None:
    # Given a setup request whose cXML root declares a default namespace, as some XML binders write it
    namespace = "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd"
    text = builders.setup_request().decode().replace("<cXML ", f'<cXML xmlns="{namespace}" ', 1)
    error = refusal(text)

    # Then it is a Bad Request that names the namespace whole and says what to change
    assert error.status == 400
    assert f"cXML is in the namespace {namespace}" in error.text
    assert "xmlns" in error.text


def test_an_extrinsic_holding_elements_is_read_with_their_text() -> None:
    # Given an Extrinsic whose value sits in child elements (the DTD allows ANY content)
    text = setup_request_xml('<Extrinsic name="CostCenter"><Code>4711</Code> <Unit>Sales</Unit></Extrinsic>')

    # When it is read
    request = setup_request(text)

    # Then its value is the text inside them, as the shop is given it
    assert [(e.name, e.value) for e in request.extrinsics] == [("CostCenter", "4711 Sales")]


def test_comments_text_after_an_attachment_is_kept() -> None:
    # Given order Comments whose note goes on after the Attachment
    comments = "<Comments>Deliver <Attachment><URL>cid:a@buyer.example</URL></Attachment>by noon</Comments>"
    text = order_request_xml().replace("</OrderRequestHeader>", comments + "</OrderRequestHeader>")

    # When it is read
    header = order_of(read_document(text.encode())).header

    # Then the note is whole, the attachment listed apart
    assert [(c.text, c.attachments) for c in header.comments] == [("Deliver by noon", ["cid:a@buyer.example"])]


@pytest.mark.parametrize(("written", "lang"), [(" de ", "de"), (" ", "en")])
def test_a_name_language_with_surrounding_spaces_is_read_trimmed(written: str, lang: str) -> None:
    # Given a Contact whose Name's xml:lang is padded, or only spaces
    request = setup_request(setup_request_xml(CONTACT.replace('xml:lang="en"', f'xml:lang="{written}"')))

    # Then the language is read without the spaces (none left: English, the default)
    assert [(c.name, c.name_lang) for c in request.contacts] == [("Jane Doe", lang)]


def rendered_order_with(pattern: bytes, new: bytes) -> bytes:
    """The sample order, rendered, with what ``pattern`` finds (exactly once) replaced by ``new``."""
    text, count = re.subn(pattern, new, render(order_request_document()))
    assert count == 1, pattern
    return text


@pytest.mark.parametrize(
    ("pattern", "new", "said"),
    [
        (rb"<UnitPrice>.*?</UnitPrice>", b"", "ItemDetail has no UnitPrice"),
        (rb"<Charge>.*?</Charge>", b"", "Distribution has no Charge"),
        (rb"(<Accounting [^>]*>).*?(</Accounting>)", rb"\1\2", "Accounting has no Segment or AccountingSegment"),
        (rb"(<ShipTo>)<Address .*?</Address>(</ShipTo>)", rb"\1\2", "ShipTo has no Address"),
    ],
    ids=[
        "item-detail-without-unit-price",
        "distribution-without-charge",
        "accounting-without-segment",
        "ship-to-without-address",
    ],
)
def test_an_order_missing_what_it_cannot_do_without_is_400_naming_it(pattern: bytes, new: bytes, said: str) -> None:
    # Given an order lacking a part the gateway needs (a line's price, an accounting's charge or segments, an address)
    text = rendered_order_with(pattern, new)

    # When it is read
    with pytest.raises(CXMLError) as error:
        read_document(text)

    # Then it is a Bad Request saying what is missing, not a server error
    assert (error.value.status, error.value.text) == (400, said)


def test_a_phone_without_telephone_number_is_left_out() -> None:
    # Given an order line's Contact with an empty Phone beside its email
    text = rendered_order_with(rb'(<ItemOut .*<Contact role="endUser">.*?)(<URL>)', rb'\1<Phone name="work"/>\2')

    # When it is read
    contacts = order_of(read_document(text)).items[0].contacts

    # Then the contact is read without a phone, rather than the order being refused
    assert [(c.name, c.emails, c.phones) for c in contacts] == [("Jane Doe", ["jane.doe@acme.example"], [])]


def test_an_empty_state_is_read_as_none() -> None:
    # Given an order whose ship-to address has an empty State
    text = rendered_order_with(rb"(<ShipTo>.*?)<State>ARA</State>", rb"\1<State> </State>")

    # When it is read
    ship_to = order_of(read_document(text)).header.ship_to
    assert ship_to is not None and ship_to.address.postal_address is not None

    # Then it has no state, as when the element is absent
    assert ship_to.address.postal_address.state is None


def test_a_buyer_cookie_is_kept_as_sent_white_space_included() -> None:
    # Given a setup request whose BuyerCookie starts and ends with white space
    text = setup_request_xml().replace("<BuyerCookie>cookie-1</BuyerCookie>", "<BuyerCookie>  cookie-1\n</BuyerCookie>")

    # When it is read
    # Then the cookie is kept exactly, to be echoed unchanged in the cart
    assert setup_request(text).buyer_cookie == "  cookie-1\n"


def test_a_buyer_cookie_holding_elements_is_kept_without_the_text_after_it() -> None:
    # Given a setup request whose BuyerCookie holds an element and is followed by a line break
    text = setup_request_xml().replace("<BuyerCookie>cookie-1</BuyerCookie>", "<BuyerCookie><id>7</id></BuyerCookie>")

    # When it is read
    # Then the cookie is the element, as sent, and ends where it does
    assert setup_request(text).buyer_cookie == "<BuyerCookie><id>7</id></BuyerCookie>"


def test_a_source_operation_is_read() -> None:
    # Given a setup request whose operation is "source" (sourcing events, in the DTD beside create/edit/inspect)
    # When it is read
    # Then it is read as such, not refused as unknown
    assert setup_request(setup_request_xml(operation="source")).operation == "source"


@pytest.mark.parametrize(("written", "read"), [("edit", "edit"), ("reopen", None), ("", None)])
def test_a_cart_operation_allowed_outside_the_dtd_is_read_as_none(written: str, read: str | None) -> None:
    # Given a cart whose operationAllowed is one the DTD lists, another word, or empty
    text = re.sub(
        rb'operationAllowed="[^"]*"', f'operationAllowed="{written}"'.encode(), render(order_message_document())
    )

    # When it is read
    document = read_document(text)

    # Then a known value is kept and another is read as none, rather than the cart being refused
    assert isinstance(document, MessageDocument)
    assert document.message.header.operation_allowed == read


@pytest.mark.parametrize(("written", "name"), [(" User ", "User"), (" ", None)])
def test_an_extrinsic_name_is_read_trimmed_and_a_blank_one_as_none(written: str, name: str | None) -> None:
    # Given an Extrinsic whose name is padded, or only spaces
    text = setup_request_xml(f'<Extrinsic name="{written}">jane</Extrinsic>')

    # When it is read
    # Then the name is read without the spaces, none when nothing is left (as without a name)
    assert [(e.name, e.value) for e in setup_request(text).extrinsics] == [(name, "jane")]


def test_a_description_language_with_surrounding_spaces_is_read_trimmed() -> None:
    # Given a cart line whose Description's xml:lang is padded
    text = render(order_message_document()).replace(
        b'<Description xml:lang="en"><ShortName>', b'<Description xml:lang=" de "><ShortName>'
    )

    # When it is read
    document = read_document(text)

    # Then the language is read without the spaces
    assert isinstance(document, MessageDocument)
    assert document.message.items[0].item_detail.descriptions[0].lang == "de"


def test_a_payload_id_with_surrounding_spaces_is_read_trimmed() -> None:
    # Given a request whose payloadID is padded (it identifies the document in the answer and in logs)
    text = setup_request_xml().replace(
        'payloadID="1769853600.1.setup@buyer.example"', 'payloadID=" 1769853600.1.setup@buyer.example "'
    )

    # When it is read
    document = read_document(text.encode())

    # Then it is read without the spaces
    assert request_document(document).envelope.payload_id == "1769853600.1.setup@buyer.example"


def test_identifiers_with_surrounding_spaces_are_read_trimmed() -> None:
    # Given an order whose classification domain, accounting segment id and phone country code are padded
    text = render(order_request_document())
    for old, new in [
        (b'<Classification domain="UNSPSC">', b'<Classification domain=" UNSPSC ">'),
        (b'id="6100"', b'id=" 6100 "'),
        (b'<CountryCode isoCountryCode="FR">', b'<CountryCode isoCountryCode=" FR ">'),
    ]:
        assert old in text
        text = text.replace(old, new)

    # When it is read
    order = order_of(read_document(text))

    # Then each is read without the spaces, as the shop and the partner's defaults name it
    line = order.items[0]
    assert line.item_detail is not None and line.distributions[0].accounting.segments[0].id == "6100"
    assert line.item_detail.classifications[0].domain == "UNSPSC"
    ship_to = order.header.ship_to
    assert ship_to is not None and ship_to.address.phone is not None
    assert ship_to.address.phone.telephone_number.iso_country_code == "FR"


def test_a_credential_with_two_identities_is_read_with_the_first() -> None:
    # Given a From credential holding two Identity elements, where the DTD allows one
    header = HEADER_XML.replace(
        "<Identity>AN01000000001-T</Identity></Credential></From>",
        "<Identity>AN01000000001-T</Identity><Identity>AN02</Identity></Credential></From>",
    )
    assert header != HEADER_XML

    # When it is read
    # Then the identity is the first one, as for every element read once
    assert (
        header_of(read_document(setup_request_xml(header=header).encode())).from_credentials[0].identity
        == "AN01000000001-T"
    )


def test_a_line_with_two_item_ids_is_read_from_the_first() -> None:
    # Given an order line holding two ItemIDs
    text = order_request_xml().replace(
        "<ItemID><SupplierPartID>BP-10</SupplierPartID></ItemID>",
        "<ItemID><SupplierPartID>BP-10</SupplierPartID></ItemID><ItemID><SupplierPartID>X</SupplierPartID></ItemID>",
    )

    # When it is read
    # Then the part is the first one
    assert order_of(read_document(text.encode())).items[0].item_id.supplier_part_id == "BP-10"


def test_an_empty_order_version_and_line_number_are_read_as_none() -> None:
    # Given an order whose orderVersion and lineNumber are empty
    text = re.sub(rb'orderVersion="1"', b'orderVersion=""', render(order_request_document()))
    text = re.sub(rb'lineNumber="1"', b'lineNumber=""', text)

    # When it is read
    order = order_of(read_document(text))

    # Then both are none, as when absent, rather than the order being refused
    assert (order.header.order_version, order.items[0].line_number) == (None, None)


def test_an_order_without_lines_is_refused() -> None:
    # Given an OrderRequest with a header and no ItemOut (the DTD requires one at least)
    text = re.sub(rb"<ItemOut .*</ItemOut>", b"", render(order_request_document()), flags=re.DOTALL)

    # When it is read
    with pytest.raises(CXMLError) as error:
        read_document(text)

    # Then it is a Bad Request saying so
    assert (error.value.status, error.value.text) == (400, "OrderRequest has no ItemOut")


@pytest.mark.parametrize(("written", "read"), [("final", "final"), ("draft", None)])
def test_a_cart_quote_status_outside_the_dtd_is_read_as_none(written: str, read: str | None) -> None:
    # Given a cart whose quoteStatus is one the DTD lists, or another word
    text = re.sub(rb'quoteStatus="[^"]*"', f'quoteStatus="{written}"'.encode(), render(order_message_document()))

    # When it is read
    document = read_document(text)

    # Then a known value is kept and another is read as none, rather than the cart being refused
    assert isinstance(document, MessageDocument)
    assert document.message.header.quote_status == read


def test_a_status_without_code_is_refused() -> None:
    # Given a setup response whose Status has no code
    text = re.sub(rb'<Status code="200"', b"<Status", render(setup_response_document()))

    # When it is read
    with pytest.raises(CXMLError) as error:
        read_document(text)

    # Then it is a Bad Request saying so
    assert (error.value.status, error.value.text) == (400, "Status has no code attribute")


def test_a_setup_response_is_read_with_its_start_page() -> None:
    # Given a setup response as a supplier sends it
    # When it is read
    document = read_document(render(setup_response_document()))

    # Then the start page is the URL the buyer's browser opens
    assert isinstance(document, ResponseDocument) and isinstance(document.response, PunchOutSetupResponse)
    assert document.response.start_page_url == "https://gateway.example/punchout/start/abc123"


def test_a_money_alternate_currency_is_read() -> None:
    # Given an order total with an alternate amount in another currency
    text = order_request_xml().replace(
        '<Money currency="EUR">', '<Money currency="EUR" alternateAmount="11.70" alternateCurrency="USD">'
    )

    # When it is read
    total = order_of(read_document(text.encode())).header.total

    # Then both are kept
    assert (total.alternate_amount, total.alternate_currency) == (Decimal("11.70"), "USD")


def test_timestamps_keep_their_text_as_sent() -> None:
    # Given an order whose envelope timestamp and line delivery date are written with surrounding line breaks
    text = render(order_request_document())
    text = text.replace(b'timestamp="2026-01-31T10:00:00+00:00"', b'timestamp="\n2026-01-31T10:00:00+00:00 "')
    text = text.replace(b'requestedDeliveryDate="2026-01-31T10:00:00+00:00"', b'requestedDeliveryDate=" 2026-01-31 "')

    # When it is read
    document = request_document(read_document(text))

    # Then each keeps its original text (attribute normalisation makes the line break a space) and is understood
    line = order_of(document).items[0]
    assert document.envelope.timestamp is not None and line.requested_delivery_date is not None
    assert (document.envelope.timestamp.text, line.requested_delivery_date.text) == (
        " 2026-01-31T10:00:00+00:00 ",
        " 2026-01-31 ",
    )
    assert document.envelope.timestamp.value is not None and line.requested_delivery_date.value is not None


def test_a_message_of_a_kind_never_read_sent_as_a_request_is_450() -> None:
    # Given a Message holding something other than a cart, sent where a request is expected
    text = render(order_message_document()).replace(b"PunchOutOrderMessage>", b"ProductActivityMessage>")
    root = parse_xml(text)

    # When its head is read (what authenticating a request needs)
    with pytest.raises(CXMLError) as error:
        read_request_head(root)

    # Then it is Not Implemented, as when the whole document is read, not a Bad Request
    assert error.value.status == 450
    assert error.value.text == "ProductActivityMessage is not supported"


def test_accounting_segments_count_with_segments_toward_their_limit() -> None:
    # Given an order holding Segment and AccountingSegment elements, one more in all than the Segment limit
    limit = MAX_ORDER_ELEMENTS["Segment"]
    order = etree.Element("OrderRequest")
    order.extend(etree.Element("Segment") for _ in range(limit // 2 + 1))
    order.extend(etree.Element("AccountingSegment") for _ in range(limit - limit // 2))

    # When its elements are counted
    with pytest.raises(CXMLError) as error:
        check_order_elements(order)

    # Then both kinds count together and the order is refused, naming both
    assert error.value.status == 400
    assert (
        error.value.text
        == f"The OrderRequest has {limit + 1:,} Segment and AccountingSegment elements; at most {limit:,} are accepted"
    )
