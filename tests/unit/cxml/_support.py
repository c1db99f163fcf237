"""Helpers for the cXML tests: corpus discovery at collection time, DTD validation, sample models."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from punchout.cxml.models import (
    Accounting,
    AccountingSegment,
    Address,
    BillTo,
    Classification,
    Comments,
    Contact,
    Credential,
    Description,
    Distribution,
    DocumentReference,
    Envelope,
    Extrinsic,
    Header,
    ItemDetail,
    ItemID,
    ItemIn,
    ItemOut,
    MessageDocument,
    Money,
    Option,
    OrderRequest,
    OrderRequestHeader,
    Payment,
    PCard,
    Phone,
    PostalAddress,
    ProfileRequest,
    ProfileResponse,
    PunchOutOrderMessage,
    PunchOutOrderMessageHeader,
    PunchOutSetupRequest,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
    Shipping,
    ShipTo,
    Status,
    Tax,
    TelephoneNumber,
    Timestamp,
    Transaction,
)

VERSIONS = ("1.2.014", "1.2.063", "1.2.069")
# With 1.2.036, the first version with Municipality and OrderRequestHeader@requestedDeliveryDate (and
# still one header Comments): for the tests of what the writer does differently from one version on.
BOUNDARY_VERSIONS = ("1.2.014", "1.2.036", "1.2.063", "1.2.069")

# --- the shared corpus, listed when the tests are collected ---------------------------------------

GENUINE_KINDS = ("setup_request", "setup_response", "order_request", "order_message", "profile", "response")

# Negative tests among the genuine kinds, by file name: (status, a phrase of the refusal text).
REFUSED = {
    "ariba1.1010__SGML.OrderRequest.xml": (406, "Entity declarations"),  # internal DTD subset with an entity
    "bizcxml__garbage-response.xml": (400, "no Status"),  # Response without Status
    "bizcxml__unintelligible-response.xml": (406, "not well-formed"),  # malformed on purpose
}


def corpus_dir_from_environment() -> Path | None:
    value = os.environ.get("CXML_SHARED_DIR", "").strip()
    return Path(value) / "corpus" if value else None


def corpus_params(*kinds: str, exclude: Iterable[str] = ()) -> list[Any]:
    """One parameter per file in ``corpus/<kind>/`` (except the ``exclude`` names), as ``"<kind>/<file>"``.

    Without the corpus (variable unset, or set to a missing folder) a single ``None`` parameter
    stands in: the test then asks for the ``cxml_shared_dir`` fixture, which skips or fails
    loudly. An empty parameter list would make pytest skip silently instead.
    """
    corpus = corpus_dir_from_environment()
    if corpus is None or not corpus.is_dir():
        return [pytest.param(None, id="corpus-unavailable")]
    excluded = set(exclude)
    files = sorted(path for kind in kinds for path in (corpus / kind).glob("*.xml") if path.name not in excluded)
    if not files:
        return [pytest.param(None, id="corpus-empty")]
    return [pytest.param(f"{path.parent.name}/{path.name}", id=f"{path.parent.name}/{path.name}") for path in files]


def corpus_file(shared_dir: Path, relative: str | None) -> Path:
    assert relative is not None, f"no corpus files found under {shared_dir / 'corpus'}"
    return shared_dir / "corpus" / relative


def with_version(document: Any, version: str) -> Any:
    """``document`` with ``envelope.version`` set, as ``read_document`` returns it after ``render``."""
    return document.model_copy(update={"envelope": document.envelope.model_copy(update={"version": version})})


# --- sample models ---------------------------------------------------------------------------------

WHEN = Timestamp.of(datetime(2026, 1, 31, 10, 0, 0, tzinfo=UTC))


def envelope(version: str | None = None) -> Envelope:
    return Envelope(payload_id="1769853600.4242.abcdef@test.example", timestamp=WHEN, version=version, lang="en-US")


def header() -> Header:
    return Header(
        from_credentials=[Credential(domain="NetworkID", identity="AN01000000001-T")],
        to_credentials=[Credential(domain="DUNS", identity="123456789")],
        sender_credentials=[
            Credential(domain="NetworkID", identity="AN01000000001-T", shared_secret=SecretStr("s3cr3t-value"))
        ],
        user_agent="Test Procurement 1.0",
    )


def money(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def postal_address(*, municipality: str | None = None) -> PostalAddress:
    return PostalAddress(
        name="default",
        deliver_to=["Jane Doe", "Mailstop 7"],
        street=["Rue de l'Exemple 1"],
        city="Lyon",
        municipality=municipality,
        state="ARA",
        postal_code="69001",
        country="France",
        iso_country_code="FR",
    )


def address(name: str = "Acme SAS", *, municipality: str | None = None) -> Address:
    return Address(
        name=name,
        name_lang="fr",
        address_id="ADDR-1",
        iso_country_code="FR",
        postal_address=postal_address(municipality=municipality),
        email="receiving@acme.example",
        phone=Phone(
            name="work",
            telephone_number=TelephoneNumber(
                country_code="33", iso_country_code="FR", area_or_city_code="4", number="78000000"
            ),
        ),
        url="https://acme.example/",
    )


def item_detail(price: str = "12.50", description: str = "Blue ballpoint pen, box of 10") -> ItemDetail:
    return ItemDetail(
        unit_price=money(price),
        descriptions=[Description(text=description, lang="en", short_name="Pen")],
        unit_of_measure="BX",
        classifications=[Classification(domain="UNSPSC", value="44121704")],
        manufacturer_part_id="BP-10",
        manufacturer_name="Pens Inc.",
        url="https://shop.example/p/BP-10",
        lead_time=3,
        extrinsics=[Extrinsic(name="Colour", value="blue")],
    )


def distribution(charge: str = "25.00") -> Distribution:
    return Distribution(
        accounting=Accounting(
            name="DistributionCharge",
            segments=[
                AccountingSegment(id="6100", type="G/L Account", description="Office supplies"),
                AccountingSegment(id="CC-42", type="Cost Center", description="Lyon office"),
            ],
        ),
        charge=money(charge),
    )


def contact() -> Contact:
    return Contact(
        role="endUser",
        name="Jane Doe",
        postal_addresses=[postal_address()],
        emails=["jane.doe@acme.example"],
        urls=["https://acme.example/jane"],
    )


def order_request_document(
    version: str | None = None,
    *,
    comments: list[Comments] | None = None,
    municipality: str | None = None,
) -> RequestDocument:
    """An OrderRequest with PCard, ShipTo/BillTo, Shipping, Tax, Contact, Comments and Distribution."""
    line = ItemOut(
        quantity=Decimal(2),
        line_number=1,
        requested_delivery_date=WHEN,
        item_id=ItemID(supplier_part_id="BP-10", supplier_part_auxiliary_id="cart-7:1"),
        item_detail=item_detail(),
        shipping=Shipping(money=money("4.90"), description=Description(text="Standard"), tracking_domain="UPS"),
        tax=Tax(money=money("5.00"), description=Description(text="VAT 20%")),
        distributions=[distribution()],
        contacts=[contact()],
        comments=Comments(text="Leave at reception", lang="en"),
    )
    return RequestDocument(
        envelope=envelope(version),
        header=header(),
        deployment_mode="test",
        request=OrderRequest(
            header=OrderRequestHeader(
                order_id="PO-2026-0001",
                order_date=WHEN,
                type="new",
                order_version=1,
                total=money("34.90"),
                ship_to=ShipTo(address=address(municipality=municipality)),
                bill_to=BillTo(address=address("Acme Accounts Payable")),
                shipping=Shipping(money=money("4.90"), description=Description(text="Standard")),
                tax=Tax(money=money("5.00"), description=Description(text="VAT")),
                payment=Payment(pcard=PCard(number="4111111111111111", expiration="2027-12-31", name="Jane Doe")),
                contacts=[contact()],
                comments=comments if comments is not None else [Comments(text="Please deliver by noon", lang="en")],
                document_reference=DocumentReference(payload_id="previous@test.example"),
                extrinsics=[Extrinsic(name="CostCenter", value="CC-42")],
            ),
            items=[line],
        ),
    )


def setup_request_document(version: str | None = None) -> RequestDocument:
    return RequestDocument(
        envelope=envelope(version),
        header=header(),
        request=PunchOutSetupRequest(
            operation="edit",
            buyer_cookie="cookie-0001",
            extrinsics=[Extrinsic(name="UserEmail", value="jane.doe@acme.example")],
            browser_form_post="https://buyer.example/punchout/return",
            contacts=[contact()],
            supplier_setup_url="https://supplier.example/punchout",
            ship_to=ShipTo(address=address()),
            selected_item=ItemID(supplier_part_id="BP-10"),
            items=[
                ItemOut(quantity=Decimal(1), item_id=ItemID(supplier_part_id="BP-10", supplier_part_auxiliary_id="a"))
            ],
        ),
    )


def profile_request_document(version: str | None = None) -> RequestDocument:
    return RequestDocument(envelope=envelope(version), header=header(), request=ProfileRequest())


def order_message_document(version: str | None = None) -> MessageDocument:
    return MessageDocument(
        envelope=envelope(version),
        header=header().model_copy(update={"sender_credentials": [Credential(domain="DUNS", identity="123456789")]}),
        in_reply_to="setup-payload@buyer.example",
        status=Status(code=200, text="OK"),
        message=PunchOutOrderMessage(
            buyer_cookie="cookie-0001",
            header=PunchOutOrderMessageHeader(
                operation_allowed="edit",
                quote_status="final",
                total=money("25.00"),
                ship_to=ShipTo(address=address()),
                shipping=Shipping(money=money("0"), description=Description(text="Free")),
                tax=Tax(money=money("5.00"), description=Description(text="VAT")),
                supplier_order_id="CART-7",
            ),
            items=[
                ItemIn(
                    quantity=Decimal(2),
                    line_number=1,
                    item_id=ItemID(supplier_part_id="BP-10", supplier_part_auxiliary_id="cart-7:1"),
                    item_detail=item_detail(),
                    tax=Tax(money=money("5.00"), description=Description(text="VAT")),
                )
            ],
        ),
    )


def setup_response_document(version: str | None = None) -> ResponseDocument:
    return ResponseDocument(
        envelope=envelope(version),
        status=Status(code=200, text="OK", lang="en-US"),
        response=PunchOutSetupResponse(start_page_url="https://gateway.example/punchout/start/abc123"),
    )


def profile_response_document(version: str | None = None) -> ResponseDocument:
    return ResponseDocument(
        envelope=envelope(version),
        status=Status(code=200, text="OK"),
        response=ProfileResponse(
            effective_date=WHEN,
            last_refresh=WHEN,
            options=[Option(name="Service", value="PunchOut")],
            transactions=[
                Transaction(request_name="PunchOutSetupRequest", url="https://gateway.example/cxml/setup"),
                Transaction(
                    request_name="OrderRequest",
                    url="https://gateway.example/cxml/order",
                    options=[Option(name="attachments", value="yes")],
                ),
            ],
        ),
    )


TWO_COMMENTS = [
    Comments(text="First note", lang="en", attachments=["cid:a@buyer.example"]),
    Comments(text="Second note", lang="en", attachments=["cid:b@buyer.example"]),
]


# --- small documents as buyers send them ------------------------------------------------------------

HEADER_XML = """<Header>
<From><Credential domain="NetworkId"><Identity>AN01000000001-T</Identity></Credential></From>
<To><Credential domain="DUNS"><Identity>123456789</Identity></Credential></To>
<Sender><Credential domain="NetworkId"><Identity>AN01000000001-T</Identity>
<SharedSecret>abracadabra</SharedSecret></Credential><UserAgent>Buyer 1.0</UserAgent></Sender>
</Header>"""


def setup_request_xml(
    body: str = "", *, header: str = HEADER_XML, request_attributes: str = "", operation: str = "create"
) -> str:
    """A PunchOutSetupRequest as text; ``body`` goes after the BuyerCookie."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">\n'
        '<cXML payloadID="1769853600.1.setup@buyer.example" timestamp="2026-01-31T10:00:00+00:00" xml:lang="en-US">\n'
        f"{header}\n"
        f"<Request{request_attributes}>\n"
        f'<PunchOutSetupRequest operation="{operation}">\n'
        "<BuyerCookie>cookie-1</BuyerCookie>\n"
        f"{body}\n"
        "</PunchOutSetupRequest>\n"
        "</Request>\n"
        "</cXML>\n"
    )


def order_request_xml(*, header_attributes: str = 'orderID="PO-1" orderDate="2026-01-31"', total: str = "10.00") -> str:
    """An OrderRequest as text, with one line."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<cXML payloadID="1769853600.1.order@buyer.example" timestamp="2026-01-31T10:00:00+00:00">\n'
        f"{HEADER_XML}\n"
        "<Request><OrderRequest>\n"
        f'<OrderRequestHeader {header_attributes}><Total><Money currency="EUR">{total}</Money></Total>\n'
        '<BillTo><Address><Name xml:lang="en">Acme</Name></Address></BillTo></OrderRequestHeader>\n'
        '<ItemOut quantity="1"><ItemID><SupplierPartID>BP-10</SupplierPartID></ItemID></ItemOut>\n'
        "</OrderRequest></Request>\n"
        "</cXML>\n"
    )


# --- typed access to what read_document returns ------------------------------------------------------


def request_document(document: object) -> RequestDocument:
    assert isinstance(document, RequestDocument), type(document)
    return document


def order_of(document: object) -> OrderRequest:
    request = request_document(document).request
    assert isinstance(request, OrderRequest), type(request)
    return request


def setup_of(document: object) -> PunchOutSetupRequest:
    request = request_document(document).request
    assert isinstance(request, PunchOutSetupRequest), type(request)
    return request


def header_of(document: object) -> Header:
    header = request_document(document).header
    assert header is not None
    return header
