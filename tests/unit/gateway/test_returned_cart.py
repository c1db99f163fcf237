"""The returned cart: the ``PunchOutOrderMessage`` and the page that auto-posts it (issue 3).

Each test drives the real round trip (setup → start link → PUT cart → transfer → return link) and
reads what a browser would post: the form field of the page, decoded per the partner's encoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import pytest
from lxml import etree

from punchout.cart_message import frame_ancestors
from punchout.cxml.models import Extrinsic
from punchout.partners import TradingPartner
from punchout.sessions import parse_line_reference
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.events import response_header
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    follow,
    line,
    message_tree,
    open_session_with,
    register,
    setup_document,
    stored_partner,
)

COOKIE = "  cookie-1234 <&> "  # the builder's BuyerCookie: spaces and markup characters
INJECTION = "</textarea><script>alert(1)</script>\"'"
HOSTILE_RETURN_URL = 'https://buyer.example.com/return?a="><script>alert(2)</script>&b=<img src=x onerror=alert(3)>'


@dataclass
class Returned:
    page: ReturnPage
    partner: TradingPartner
    response: dict[str, Any]

    @property
    def document(self) -> bytes:
        return self.page.document(self.partner)

    @property
    def tree(self) -> Any:
        return message_tree(self.document)


Checkout = Callable[..., Returned]


@pytest.fixture
def checkout(table: Table, shop_headers: dict[str, str]) -> Checkout:
    """Register a partner (with ``partner`` changes), open a session, return a cart: what was posted."""

    def run(
        *lines: dict[str, Any],
        partner: dict[str, Any] | None = None,
        setup: dict[str, Any] | None = None,
        cart: dict[str, Any] | None = None,
    ) -> Returned:
        registered = register(table, **(partner or {}))
        shop = Shop(shop_headers, open_session_with(setup_document(**(setup or {}))))
        if lines or cart:
            shop.put_lines(*lines, **(cart or {}))
        response = shop.checkout()
        return Returned(ReturnPage.of(response), registered, response)

    return run


RICH_LINES = [
    line(
        "P-100",
        "3",
        "0.10",
        description="Ballpoint pen, blue \u2013 Café µ 日本",
        unit_of_measure="BOX",
        classification={"domain": "UNSPSC", "value": "44121700"},
        manufacturer_part_id="BP-1",
        manufacturer_name="Pens & Co",
        lead_time_days=5,
        url="https://shop.example.com/p/100?x=1&y=2",
        supplier_part_auxiliary_id="shop-variant-7",
    ),
    line("P-200", "1.5", "19.99", description="Paper A4, 500 sheets", unit_of_measure="PK"),
    line("P-300", "2", "0"),
]
RICH_CART = {
    "shipping": {"amount": "4.95", "description": "Standard delivery"},
    "tax": {"amount": "3.80", "description": "VAT 19%"},
    "comments": "Deliver to gate 3",
}


# --- validity -------------------------------------------------------------------------------------


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["1.2.014", "1.2.069"])
def test_returned_cart_is_dtd_valid_for_the_partners_version(
    checkout: Checkout, dtd: Callable[[str], etree.DTD], version: str
) -> None:
    # Given a partner on cXML `version` and a cart using every line field, shipping and tax
    returned = checkout(*RICH_LINES, partner={"cxml_version": version}, cart=RICH_CART)
    # When the posted document is validated against that version's DTD
    tree = returned.tree
    validator = dtd(version)
    # Then it is valid, and declares that version
    assert validator.validate(tree), validator.error_log
    assert f"/cXML/{version}/cXML.dtd" in tree.getroottree().docinfo.system_url


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["1.2.014", "1.2.069"])
def test_empty_cart_is_dtd_valid(checkout: Checkout, dtd: Callable[[str], etree.DTD], version: str) -> None:
    # Given a partner on cXML `version` and a session where the shop stored nothing
    returned = checkout(partner={"cxml_version": version})
    # When the posted document is validated
    validator = dtd(version)
    # Then it is valid
    assert validator.validate(returned.tree), validator.error_log


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["1.2.014", "1.2.069"])
def test_a_cancelled_cart_is_dtd_valid(
    table: Table, shop_headers: dict[str, str], dtd: Callable[[str], etree.DTD], version: str
) -> None:
    # Given a partner on cXML `version` and a stored cart that the shop cancels
    partner = register(table, cxml_version=version)
    shop = Shop(shop_headers, open_session_with(setup_document()))
    shop.put_lines(*RICH_LINES, **RICH_CART)
    page = ReturnPage.of(follow(shop.return_url(cancel=True)))
    # When the posted document (an empty cart with its Status 204) is validated
    tree = message_tree(page.document(partner))
    validator = dtd(version)
    # Then it is valid
    assert tree.xpath("string(/cXML/Message/Status/@code)") == "204"
    assert validator.validate(tree), validator.error_log


# --- what the document says -----------------------------------------------------------------------


def test_buyer_cookie_is_echoed_byte_for_byte(checkout: Checkout) -> None:
    # Given a setup request whose BuyerCookie has spaces and markup characters
    returned = checkout(line(), setup={"buyer_cookie": COOKIE})
    # When the posted document is read
    # Then its BuyerCookie is exactly the one received
    assert returned.tree.xpath("//PunchOutOrderMessage/BuyerCookie")[0].text == COOKIE


def test_non_ascii_buyer_cookie_is_echoed_unchanged(checkout: Checkout) -> None:
    # Given a BuyerCookie with non-ASCII characters and a line break
    cookie = "Sitzung\n№ 42 \u2013 ÄÖÜ"
    returned = checkout(line(), setup={"buyer_cookie": cookie})
    # When the posted document is read
    # Then the cookie is unchanged
    assert returned.tree.xpath("string(//BuyerCookie)") == cookie


def test_buyer_cookie_with_elements_is_echoed_unchanged(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a setup request whose BuyerCookie holds elements (the DTD declares it ANY, which admits only
    # its own elements: these are the buyer's, invalid in its request and echoed as they came)
    partner = register(table)
    cookie = '<Id kind="a&amp;b">123</Id> after &lt;id&gt; <Empty/>\n'
    body = re.sub(
        rb"<BuyerCookie>.*?</BuyerCookie>",
        b"<BuyerCookie>" + cookie.encode() + b"</BuyerCookie>",
        setup_document(),
        flags=re.DOTALL,
    )
    shop = Shop(shop_headers, open_session_with(body))
    # When the cart goes back to the buyer
    document = ReturnPage.of(shop.checkout(line())).document(partner)
    # Then its BuyerCookie holds the same content, elements included
    echoed = etree.tostring(message_tree(document).find(".//BuyerCookie"), encoding="unicode", with_tail=False)
    assert echoed == f"<BuyerCookie>{cookie}</BuyerCookie>"


@pytest.mark.parametrize("content", ["<Id>123</Id>", "123"], ids=["elements", "text"])
def test_attributes_on_buyer_cookie_itself_are_not_echoed(
    table: Table, shop_headers: dict[str, str], content: str
) -> None:
    # Given a BuyerCookie carrying attributes of its own, which the DTD does not give it
    partner = register(table)
    cookie = f'<BuyerCookie role="x" id="7">{content}</BuyerCookie>'
    body = re.sub(rb"<BuyerCookie>.*?</BuyerCookie>", cookie.encode(), setup_document(), flags=re.DOTALL)
    shop = Shop(shop_headers, open_session_with(body))
    # When the cart goes back to the buyer (its document DTD-checked by ReturnPage.document)
    document = ReturnPage.of(shop.checkout(line())).document(partner)
    # Then the cookie's content comes back, without those attributes
    echoed = etree.tostring(message_tree(document).find(".//BuyerCookie"), encoding="unicode", with_tail=False)
    assert echoed == f"<BuyerCookie>{content}</BuyerCookie>"


@pytest.mark.parametrize(
    ("cookie", "declared"),
    [
        ('<x:a y:k="v">1</x:a>', ""),  # prefixes declared on the cXML root
        ('<x:a xmlns:x="urn:example:x">1<b xmlns="urn:example:d"><c/></b></x:a>', ""),  # declared within
    ],
    ids=["declared on the root", "declared within, a default namespace too"],
)
def test_buyer_cookie_with_namespaced_elements_is_echoed_with_its_prefixes(
    table: Table, shop_headers: dict[str, str], cookie: str, declared: str
) -> None:
    # Given a BuyerCookie whose elements are in namespaces, under the buyer's prefixes
    partner = register(table)
    body = re.sub(rb"<BuyerCookie>.*?</BuyerCookie>", f"<BuyerCookie>{cookie}</BuyerCookie>".encode(), setup_document())
    body = body.replace(b"<cXML ", b'<cXML xmlns:x="urn:example:x" xmlns:y="urn:example:y" ', 1)
    sent = etree.fromstring(body).find(".//BuyerCookie")
    assert sent is not None
    shop = Shop(shop_headers, open_session_with(body))
    # When the cart goes back to the buyer
    document = ReturnPage.of(shop.checkout(line())).document(partner)
    # Then the cookie holds the same elements, in the same namespaces, under the same prefixes
    echoed = message_tree(document).find(".//BuyerCookie")
    assert echoed is not None and echoed.nsmap == {}  # no xmlns on it: the DTD declares it none
    assert [(e.tag, e.prefix, e.text, dict(e.attrib)) for e in echoed.iter()] == [
        (e.tag, e.prefix, e.text, dict(e.attrib)) for e in sent.iter()
    ]
    assert etree.tostring(echoed[0], with_tail=False) == etree.tostring(sent[0], with_tail=False)


@pytest.mark.parametrize("allowed", ["create", "inspect", "edit"])
def test_operation_allowed_is_the_partners(checkout: Checkout, allowed: str) -> None:
    # Given a partner whose carts allow `allowed`
    returned = checkout(line(), partner={"operation_allowed": allowed})
    # When the posted document is read
    # Then its header says so
    assert returned.tree.xpath("string(//PunchOutOrderMessageHeader/@operationAllowed)") == allowed


def test_total_is_computed_in_decimal(checkout: Checkout) -> None:
    # Given lines whose float sum would not be exact (3 x 0.1 + 1 x 0.2)
    returned = checkout(line("P1", "3", "0.1"), line("P2", "1", "0.2"))
    # When the posted document is read
    total = returned.tree.xpath("string(//PunchOutOrderMessageHeader/Total/Money)")
    # Then the total is exactly 0.5
    assert Decimal(total) == Decimal("0.5")
    assert "0000000" not in total


def test_the_total_keeps_every_digit_of_large_and_tiny_lines(checkout: Checkout) -> None:
    # Given a line at the limits of a cart line (18 digits each) and a tiny one
    big = line("P1", "999999999999.999999", "123456789012.345678")
    returned = checkout(big, line("P2", "1", "0.000001"))
    # When the posted document is read
    # Then the total is their exact sum (Decimal's default 28 digits would drop the tiny line)
    with localcontext(prec=60):
        expected = Decimal("999999999999.999999") * Decimal("123456789012.345678") + Decimal("0.000001")
    assert str(expected).endswith(".210988654322")
    total = Decimal(returned.tree.xpath("string(//PunchOutOrderMessageHeader/Total/Money)"))
    assert total == expected


def test_a_negative_zero_price_is_written_as_zero(checkout: Checkout) -> None:
    # Given a free line whose price the shop wrote as "-0.00", and a shipping of "-0"
    returned = checkout(line("P1", "1", "-0.00"), cart={"shipping": {"amount": "-0", "description": "Free"}})
    # When the posted document is read
    # Then no amount is written with a minus sign
    amounts = returned.tree.xpath("//Money/text()")
    assert amounts and not [a for a in amounts if a.startswith("-")], amounts


def test_three_times_a_tenth_is_three_tenths(checkout: Checkout) -> None:
    # Given one line of 3 x 0.1
    returned = checkout(line("P1", "3", "0.1"))
    # When the posted document is read
    # Then the total is 0.3 exactly
    assert Decimal(returned.tree.xpath("string(//Total/Money)")) == Decimal("0.3")


def test_shipping_and_tax_are_in_the_header(checkout: Checkout) -> None:
    # Given a cart with shipping and tax
    returned = checkout(line(), cart=RICH_CART)
    # When the posted document is read
    header = returned.tree.xpath("//PunchOutOrderMessageHeader")[0]
    # Then both are there with their amounts and descriptions
    assert Decimal(header.xpath("string(Shipping/Money)")) == Decimal("4.95")
    assert header.xpath("normalize-space(Shipping/Description)") == "Standard delivery"
    assert Decimal(header.xpath("string(Tax/Money)")) == Decimal("3.80")
    assert header.xpath("normalize-space(Tax/Description)") == "VAT 19%"


def test_shipping_and_tax_descriptions_are_in_the_requests_language(checkout: Checkout) -> None:
    # Given a setup request in German, and a cart with shipping and tax
    returned = checkout(line(), setup={"lang": "de-DE"}, cart=RICH_CART)
    # When the header's descriptions are read
    header = returned.tree.xpath("//PunchOutOrderMessageHeader")[0]
    # Then both are marked with that language
    assert header.xpath("Shipping/Description/@xml:lang | Tax/Description/@xml:lang") == ["de-DE", "de-DE"]


def test_every_money_is_in_the_carts_currency(checkout: Checkout) -> None:
    # Given a cart in EUR
    returned = checkout(line("P1"), line("P2"), cart={"currency": "EUR", **RICH_CART})
    # When the posted document is read
    # Then every Money is in EUR
    assert set(returned.tree.xpath("//Money/@currency")) == {"EUR"}


def test_an_empty_carts_total_is_in_the_partners_currency(checkout: Checkout) -> None:
    # Given a partner whose default currency is EUR, and a session where the shop stored nothing
    returned = checkout(partner={"default_currency": "EUR"})
    # When the posted document is read
    # Then its Total is in EUR
    assert returned.tree.xpath("string(//PunchOutOrderMessageHeader/Total/Money/@currency)") == "EUR"


def test_every_line_has_a_classification(checkout: Checkout) -> None:
    # Given a line with its own classification and one without, and a partner default of 44120000
    returned = checkout(line("P1", classification={"domain": "UNSPSC", "value": "44121700"}), line("P2"))
    # When the posted document is read
    items = returned.tree.xpath("//ItemIn")
    # Then the first keeps its own, the second has the partner's default
    assert [i.xpath("string(ItemDetail/Classification)") for i in items] == ["44121700", "44120000"]
    assert [i.xpath("string(ItemDetail/Classification/@domain)") for i in items] == ["UNSPSC", "UNSPSC"]


def test_no_shared_secret_in_the_cart(checkout: Checkout) -> None:
    # Given a full round trip of an authenticated partner
    returned = checkout(*RICH_LINES, cart=RICH_CART)
    # When the posted document and the page are searched
    # Then neither holds a SharedSecret or the secret itself
    assert returned.tree.xpath("count(//SharedSecret)") == 0
    assert builders.SECRET not in returned.document.decode()
    assert builders.SECRET not in returned.page.html


def test_header_answers_as_the_supplier_to_the_buyer(checkout: Checkout) -> None:
    # Given a setup request From the buyer To our DUNS
    returned = checkout(line())
    header = returned.tree.xpath("/cXML/Header")[0]
    # When the posted document's header is read
    # Then it comes From our DUNS, goes To the buyer, and the Sender is us
    assert header.xpath("string(From/Credential/Identity)") == "123456789"
    assert header.xpath("string(To/Credential/Identity)") == builders.BUYER_IDENTITY
    assert header.xpath("string(Sender/Credential/Identity)") == "123456789"


def test_test_mode_session_returns_a_test_mode_cart(checkout: Checkout) -> None:
    # Given a test-mode session
    header = builders.header(identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test")
    returned = checkout(line(), setup={"mode": "test", "header": header})
    # When the posted document is read
    # Then its Message is in test mode too
    assert returned.tree.xpath("string(/cXML/Message/@deploymentMode)") == "test"


def test_lines_carry_our_short_cart_line_reference(checkout: Checkout) -> None:
    # Given a cart of three lines, one with the shop's own auxiliary id
    returned = checkout(*RICH_LINES)
    # When the posted lines' SupplierPartAuxiliaryIDs are read
    references = returned.tree.xpath("//ItemIn/ItemID/SupplierPartAuxiliaryID/text()")
    parsed = [parse_line_reference(r) for r in references]
    # Then each is "<cart ref>-<line>", one cart ref for all, numbered from 1, short and free of ?{}
    assert all(p is not None for p in parsed), references
    assert [p[1] for p in parsed if p] == [1, 2, 3]
    assert len({p[0] for p in parsed if p}) == 1
    assert all(len(r) <= 24 and not set(r) & set("?{}") for r in references)
    assert all(re.fullmatch(r"[a-z2-7]{16}-\d+", r) for r in references)


def test_line_numbers_and_part_ids_follow_the_cart(checkout: Checkout) -> None:
    # Given a cart of three lines
    returned = checkout(*RICH_LINES)
    # When the posted lines are read
    items = returned.tree.xpath("//ItemIn")
    # Then they keep the cart's order, quantities and part ids
    assert [i.get("lineNumber") for i in items] == ["1", "2", "3"]
    assert [i.xpath("string(ItemID/SupplierPartID)") for i in items] == ["P-100", "P-200", "P-300"]
    assert [Decimal(i.get("quantity")) for i in items] == [Decimal(3), Decimal("1.5"), Decimal(2)]


def test_line_details_are_carried(checkout: Checkout) -> None:
    # Given a line with manufacturer, lead time and URL
    returned = checkout(*RICH_LINES)
    detail = returned.tree.xpath("//ItemIn[1]/ItemDetail")[0]
    # When its ItemDetail is read
    # Then every field is there
    assert detail.xpath("string(Description)") == "Ballpoint pen, blue \u2013 Café µ 日本"
    assert detail.xpath("string(ManufacturerPartID)") == "BP-1"
    assert detail.xpath("string(ManufacturerName)") == "Pens & Co"
    assert detail.xpath("string(URL)") == "https://shop.example.com/p/100?x=1&y=2"
    assert detail.xpath("string(LeadTime)") == "5"
    assert Decimal(detail.xpath("string(UnitPrice/Money)")) == Decimal("0.10")


def test_a_line_as_go_writes_it_without_omitempty_sends_no_empty_details(checkout: Checkout) -> None:
    # Given a line as Go's json.Marshal writes a struct whose optional texts the shop left unset: ""
    empty = {"manufacturer_part_id": "", "manufacturer_name": "", "url": "", "supplier_part_auxiliary_id": ""}
    returned = checkout(line("P-100", **empty))
    detail = returned.tree.xpath("//ItemIn[1]/ItemDetail")[0]
    # When its ItemDetail is read
    # Then it has none of them: no empty element reaches the buyer's requisition
    assert [child.tag for child in detail if child.tag in ("ManufacturerPartID", "ManufacturerName", "URL")] == []


def test_unit_of_measure_mapping_is_applied(checkout: Checkout) -> None:
    # Given a partner that maps the shop's BOX to BX and PCS to EA
    returned = checkout(*RICH_LINES, partner={"unit_of_measure_map": {"BOX": "BX", "PCS": "EA"}})
    # When the posted units are read
    units = returned.tree.xpath("//ItemIn/ItemDetail/UnitOfMeasure/text()")
    # Then mapped units are translated, others (PK, EA) pass unchanged
    assert units == ["BX", "PK", "EA"]


def test_the_documents_language_is_the_requests(checkout: Checkout) -> None:
    # Given a setup request in German
    returned = checkout(line(), setup={"lang": "de-DE"})
    # When the posted document's root is read
    # Then it is marked with that language
    assert returned.tree.xpath("string(/cXML/@xml:lang)") == "de-DE"


def test_the_cart_is_written_in_the_cxml_version_of_the_session(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a session opened while the partner was on cXML 1.2.014, and the partner moved to 1.2.069 since
    from punchout.store.partners import PartnerRepository

    partner = register(table, cxml_version="1.2.014")
    shop = Shop(shop_headers, open_session_with(setup_document()))
    partner = PartnerRepository(table).update(partner.model_copy(update={"cxml_version": "1.2.069"}))
    # When the cart goes back to the buyer
    document = ReturnPage.of(shop.checkout(line())).document(partner)
    # Then it is written in the version the buyer's session started with
    assert "/cXML/1.2.014/cXML.dtd" in message_tree(document).getroottree().docinfo.system_url


def test_each_cart_has_a_fresh_payload_id_of_the_gateways_domain_and_a_timestamp_with_a_numeric_offset(
    checkout: Checkout, shop_headers: dict[str, str]
) -> None:
    # Given two carts returned from two sessions opened by setup requests
    from punchout.settings import gateway_settings

    first = checkout(line())
    setup = setup_document()
    second = ReturnPage.of(Shop(shop_headers, open_session_with(setup)).checkout(line())).document(first.partner)
    documents = [first.tree, message_tree(second)]
    # When their envelopes are read
    payload_ids = [tree.get("payloadID") for tree in documents]
    timestamps = [tree.get("timestamp") for tree in documents]
    # Then each has a payloadID of its own (time.pid.random@host, the gateway's domain), not the request's
    assert payload_ids[0] != payload_ids[1]
    requested = re.search(rb'payloadID="([^"]+)"', setup)
    assert requested is not None
    assert requested[1].decode() not in payload_ids
    domain = re.escape(gateway_settings().payload_id_domain)
    assert all(re.fullmatch(rf"\d+\.\d+\.[0-9a-f]{{16}}@{domain}", payload_id) for payload_id in payload_ids)
    # And is stamped with seconds and a numeric offset, never "Z"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stamp) for stamp in timestamps)


def test_a_cancelled_sessions_status_is_in_the_requests_language(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a session opened by a setup request in German
    partner = register(table)
    shop = Shop(shop_headers, open_session_with(setup_document(lang="de-DE")))
    # When the shop cancels, and the browser follows the return link
    posted = message_tree(ReturnPage.of(follow(shop.return_url(cancel=True))).document(partner))
    # Then the Status 204 that says so is marked with that language
    assert posted.xpath("string(/cXML/Message/Status/@code)") == "204"
    assert posted.xpath("string(/cXML/Message/Status/@xml:lang)") == "de-DE"


def test_description_language_is_the_requests(checkout: Checkout) -> None:
    # Given a setup request in German
    returned = checkout(line(), setup={"lang": "de-DE"})
    # When the posted description is read
    # Then it is marked with that language
    assert returned.tree.xpath("string(//ItemIn/ItemDetail/Description/@xml:lang)") == "de-DE"


# --- the page: field name and encoding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "encoding"),
    [("cxml-urlencoded", "urlencoded"), ("cXML-base64", "base64"), ("cxml-base64", "base64"), ("oracleCart", "base64")],
)
def test_page_posts_with_the_partners_field_name_and_encoding(checkout: Checkout, field: str, encoding: str) -> None:
    # Given a partner that wants its cart in field `field`, encoded `encoding`
    returned = checkout(*RICH_LINES, partner={"cart_field_name": field, "cart_encoding": encoding})
    # When the page's form is read
    form = returned.page.form
    # Then it posts (UTF-8) exactly one hidden field of that name, whose value decodes to the cart
    assert form.get("method") == "post"
    assert form.get("accept-charset") == "UTF-8"
    assert returned.page.field.get("name") == field
    assert returned.tree.tag == "cXML"
    assert returned.tree.xpath("count(//ItemIn)") == 3


def _normalised(document: bytes) -> bytes:
    """The document without what differs between two sessions: payloadID, timestamp, cart ref."""
    text = document.decode("utf-8")
    text = re.sub(r'payloadID="[^"]*"', 'payloadID="*"', text)
    text = re.sub(r'timestamp="[^"]*"', 'timestamp="*"', text)
    return re.sub(r">[a-z2-7]{16}-(\d+)<", r">REF-\1<", text).encode("utf-8")


def test_both_encodings_decode_back_to_the_same_document(table: Table, shop_headers: dict[str, str]) -> None:
    # Given the same cart returned once urlencoded and once base64
    documents = []
    partner = register(table)
    for field, encoding in (("cxml-urlencoded", "urlencoded"), ("cXML-base64", "base64")):
        from punchout.store.partners import PartnerRepository

        partner = PartnerRepository(table).update(
            partner.model_copy(update={"cart_field_name": field, "cart_encoding": encoding})
        )
        shop = Shop(shop_headers, open_session_with(setup_document()))
        shop.put_lines(*RICH_LINES, **RICH_CART)
        documents.append(ReturnPage.of(shop.checkout()).document(partner))
    # When both posted values are decoded
    urlencoded, base64_encoded = documents
    # Then they are the same UTF-8 document, byte for byte apart from ids and time
    assert _normalised(urlencoded) == _normalised(base64_encoded)
    assert "Café µ 日本".encode() in urlencoded


# --- the page: nothing in it runs but our script --------------------------------------------------


def _scripts(page: ReturnPage) -> list[Any]:
    return page.tree.xpath("//script")


def _event_handlers(page: ReturnPage) -> list[str]:
    return [name for element in page.tree.iter() for name in element.attrib if name.lower().startswith("on")]


def test_markup_in_the_partners_field_name_stays_inert(checkout: Checkout) -> None:
    # Given a partner whose cart field name holds quotes and markup
    name = 'cxml"><img src=x onerror=alert(4)>'
    returned = checkout(line(), partner={"cart_field_name": name})
    # When the page is parsed as a browser would
    # Then the one hidden field has exactly that name, and nothing in it runs
    assert returned.page.field.get("name") == name
    assert returned.page.tree.xpath("count(//img)") == 0
    assert not _event_handlers(returned.page)


@pytest.mark.parametrize("encoding", ["urlencoded", "base64"])
def test_markup_in_a_description_stays_inert(checkout: Checkout, encoding: str) -> None:
    # Given a line whose description tries to close the field and open a script
    returned = checkout(line(description=INJECTION), partner={"cart_encoding": encoding})
    # When the page is parsed as a browser would
    page = returned.page
    # Then the only script is ours (with the nonce), no element has event handlers,
    # and the description arrives in the cart unchanged
    assert len(_scripts(page)) == 1
    assert _scripts(page)[0].get("nonce")
    assert not _event_handlers(page)
    assert "<script>alert" not in page.html
    assert returned.tree.xpath("string(//ItemIn/ItemDetail/Description)") == INJECTION


def test_markup_in_the_return_url_stays_inert(checkout: Checkout) -> None:
    # Given a BrowserFormPost (on an allowed host) whose query tries to break out of the attribute
    returned = checkout(line(), setup={"browser_form_post": HOSTILE_RETURN_URL})
    page = returned.page
    # When the page is parsed as a browser would
    # Then the form posts to exactly that URL, and nothing in it runs
    assert page.form.get("action") == HOSTILE_RETURN_URL
    assert len(_scripts(page)) == 1
    assert not _event_handlers(page)
    assert page.tree.xpath("count(//img)") == 0


def test_markup_in_the_return_frame_stays_inert(checkout: Checkout) -> None:
    # Given a ReturnFrame Extrinsic that tries to add an attribute
    frame = 'top" onfocus="alert(1)" autofocus="'
    returned = checkout(line(), setup={"extrinsics": [Extrinsic(name="ReturnFrame", value=frame)]})
    # When the page is parsed
    # Then the target is that text, and no handler was added
    assert returned.page.form.get("target") == frame
    assert not _event_handlers(returned.page)


def test_script_nonce_matches_the_policy(checkout: Checkout) -> None:
    # Given a returned cart
    page = checkout(line()).page
    # When the page's script and style are compared with its Content-Security-Policy
    nonce = _scripts(page)[0].get("nonce")
    # Then the policy allows scripts and styles by that nonce only
    assert len(nonce) >= 16
    assert page.directive("script-src") == f"'nonce-{nonce}'"
    assert page.directive("style-src") == f"'nonce-{nonce}'"
    assert page.tree.xpath("//style")[0].get("nonce") == nonce
    assert page.directive("default-src") == "'none'"
    assert "unsafe-inline" not in page.csp


def test_each_page_has_a_fresh_nonce(checkout: Checkout, table: Table, shop_headers: dict[str, str]) -> None:
    # Given two returned carts
    first = checkout(line()).page
    second = ReturnPage.of(Shop(shop_headers, open_session_with(setup_document())).checkout(line()))
    # When their nonces are compared
    # Then they differ
    assert _scripts(first)[0].get("nonce") != _scripts(second)[0].get("nonce")


def test_form_action_is_the_return_origin_and_the_partners_hosts_only(checkout: Checkout) -> None:
    # Given a partner with two hosts, one a wildcard, and a BrowserFormPost with a port and a path, that
    # port allowed for the partner
    returned = checkout(
        line(),
        partner={"browser_form_post_hosts": ["buyer.example.com:8443", "*.procure.example"]},
        setup={"browser_form_post": "https://buyer.example.com:8443/cart/in?x=1"},
    )
    # When the policy is read
    # Then forms may post to that origin, and the buyer's system may send the browser on to its other
    # hosts (Chromium checks form-action on every redirect that follows the post); nowhere else
    assert returned.page.directive("form-action").split() == [
        "https://buyer.example.com:8443",
        "https://*.procure.example",
    ]


def test_form_action_keeps_the_return_origin_of_a_host_the_partner_no_longer_has(
    table: Table, shop_headers: dict[str, str]
) -> None:
    # Given a cart transferred in a session whose BrowserFormPost host was then removed from the partner
    register(table, browser_form_post_hosts=["buyer.example.com", "old.buyer.example"])
    shop = Shop(shop_headers, open_session_with(setup_document(browser_form_post="https://old.buyer.example/in")))
    shop.put_lines(line())
    return_url = shop.return_url()
    partner = stored_partner(table)
    PartnerRepository(table).update(partner.model_copy(update={"browser_form_post_hosts": ["buyer.example.com"]}))
    # When the return link is followed and the page's policy read
    page = ReturnPage.of(follow(return_url))
    # Then the page may still post where the session's cart goes
    assert page.directive("form-action").split() == ["https://old.buyer.example", "https://buyer.example.com"]


@pytest.mark.parametrize(
    ("allowed", "url", "accepted"),
    [
        ("buyer.example.com", "https://buyer.example.com/in", True),
        ("buyer.example.com", "https://buyer.example.com:443/in", True),
        ("buyer.example.com", "https://buyer.example.com:8443/in", False),
        ("buyer.example.com", "https://buyer.example.com:0/in", False),
        ("buyer.example.com", "https://buyer.example.com:99999/in", False),  # no such port
        ("buyer.example.com:8443", "https://buyer.example.com:8443/in", True),
        ("buyer.example.com:8443", "https://buyer.example.com/in", False),
        ("*.procure.example", "https://eu.procure.example/in", True),
        ("*.procure.example", "https://eu.procure.example:9000/in", False),
    ],
)
def test_a_host_listed_without_a_port_allows_the_default_port_only(allowed: str, url: str, accepted: bool) -> None:
    partner = builders.partner(browser_form_post_hosts=[allowed])
    assert partner.allows_return_url(url) is accepted


@pytest.mark.parametrize("url", ["https://buyer.example.com/in", "https://BUYER.example.com/in"])
def test_a_host_registered_in_capitals_allows_the_host_in_any_case(url: str) -> None:
    # Given a partner whose host was registered as the buyer spelled it, in capitals
    partner = builders.partner(browser_form_post_hosts=[" Buyer.Example.COM "])
    # When a BrowserFormPost names that host, in whatever case
    # Then the cart may go there (host names are case-insensitive)
    assert partner.allows_return_url(url) is True


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://eu.procure.example/in", True),
        ("https://a.eu.procure.example/in", True),
        ("https://EU.Procure.Example/in", True),
        # the wildcard covers subdomains only, not the domain itself nor names that merely end alike
        ("https://procure.example/in", False),
        ("https://evilprocure.example/in", False),
        ("https://eu-procure.example/in", False),
        ("https://eu.procure.example.evil.example/in", False),
        ("https://eu.procure.examples/in", False),
    ],
)
def test_a_wildcard_host_allows_its_subdomains_and_nothing_that_looks_like_them(url: str, accepted: bool) -> None:
    partner = builders.partner(browser_form_post_hosts=["*.procure.example"])
    assert partner.allows_return_url(url) is accepted


def test_form_action_keeps_the_http_scheme_of_a_partner_allowed_http(checkout: Checkout) -> None:
    # Given a partner marked for plain http, and a BrowserFormPost over http
    returned = checkout(
        line(), partner={"allow_http": True}, setup={"browser_form_post": "http://buyer.example.com/in"}
    )
    # When the policy is read
    # Then forms may post to that http origin (an https one would make the browser block the post), and
    # be sent on to the partner's hosts over either scheme
    assert returned.page.directive("form-action").split() == ["http://buyer.example.com", "https://buyer.example.com"]


def test_frame_ancestors_are_the_partners_hosts(checkout: Checkout) -> None:
    # Given a partner with two allowed hosts, one a wildcard
    returned = checkout(line(), partner={"browser_form_post_hosts": ["buyer.example.com", "*.procure.example"]})
    # When the policy is read
    # Then exactly those hosts may frame the page, over https
    assert returned.page.directive("frame-ancestors").split() == [
        "https://buyer.example.com",
        "https://*.procure.example",
    ]


def test_frame_ancestors_include_http_for_partners_allowed_http(checkout: Checkout) -> None:
    # Given a partner marked for plain http
    returned = checkout(line(), partner={"allow_http": True})
    # When the policy is read
    # Then its hosts may frame the page over http too
    assert set(returned.page.directive("frame-ancestors").split()) == {
        "https://buyer.example.com",
        "http://buyer.example.com",
    }


def test_a_partner_without_hosts_lets_nobody_frame_the_page() -> None:
    # Given a partner whose hosts were all removed while one of its sessions was open
    partner = builders.partner(browser_form_post_hosts=[])
    # When the page's frame-ancestors are made
    # Then no site may frame it
    assert frame_ancestors(partner) == "'none'"


def test_page_has_a_visible_submit_button(checkout: Checkout) -> None:
    # Given a returned cart
    page = checkout(line()).page
    # When the form's buttons are read
    buttons = page.form.xpath(".//button[@type='submit'] | .//input[@type='submit']")
    # Then there is a submit button, not hidden, with a label, for browsers without JavaScript
    assert len(buttons) == 1
    button = buttons[0]
    assert button.get("hidden") is None
    assert "display:none" not in (button.get("style") or "").replace(" ", "")
    assert (button.text_content() or button.get("value") or "").strip()
    assert not button.xpath("ancestor::noscript")


@pytest.mark.parametrize("name", ["ReturnFrame", "returnFrame", "RETURNFRAME"])
def test_return_frame_sets_the_form_target(checkout: Checkout, name: str) -> None:
    # Given a setup request with a ReturnFrame Extrinsic, its name in any case
    returned = checkout(line(), setup={"extrinsics": [Extrinsic(name=name, value="_top")]})
    # When the form is read
    # Then it targets that frame
    assert returned.page.form.get("target") == "_top"


def test_no_return_frame_no_target(checkout: Checkout) -> None:
    # Given a setup request without ReturnFrame
    returned = checkout(line())
    # When the form is read
    # Then it posts in its own window
    assert returned.page.form.get("target") is None


def test_page_is_not_cached_nor_sniffed(checkout: Checkout) -> None:
    # Given a returned cart
    response = checkout(line()).response
    # When the page's headers are read
    # Then it is never cached, never sniffed, and sends no referrer
    assert response_header(response, "Cache-Control") == "no-store"
    assert response_header(response, "X-Content-Type-Options") == "nosniff"
    assert response_header(response, "Referrer-Policy") == "no-referrer"
    assert (response_header(response, "Content-Type") or "").startswith("text/html")
