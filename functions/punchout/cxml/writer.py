"""Strict writing: models rendered in DTD order into an lxml tree, never by string concatenation.

The writer targets one cXML version per document (partners differ in what they accept) and
refuses, with ``RenderError``, a model that would not be valid for the DTD it declares.

It records the document as shapes and values (``_shapes``), which lxml then builds: a line of the
same shape as an earlier one is a copy of that line's subtree with its own values set.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from lxml import etree

from ._gc import paused_gc
from ._shapes import END, TAIL, TEXT, Builder, Leaf, Qualified, Var
from .models import (
    Address,
    Comments,
    Contact,
    Credential,
    Description,
    Distribution,
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
    Phone,
    PostalAddress,
    ProfileRequest,
    ProfileResponse,
    PunchOutOrderMessage,
    PunchOutSetupRequest,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
    Shipping,
    ShipTo,
    Status,
    Tax,
    Timestamp,
    format_datetime,
    plain_decimal,
)
from .reader import XML_LANG

Element = etree._Element

DEFAULT_VERSION = "1.2.014"
DEFAULT_LANG = "en-US"

# XML 1.0 (fifth edition) Nmtoken: the one attribute type the DTD checks in what we render
# (Contact@role); a role with a space or a slash in it would make the document invalid.
_NMTOKEN_ASCII = re.compile("[-.0-9:A-Z_a-z]+")


@functools.cache
def _nmtoken() -> re.Pattern[str]:
    # Compiled on first use: its Unicode ranges take ~3 ms to compile, and roles are ASCII in practice.
    return re.compile(
        "[-.0-9:A-Z_a-z\u00b7\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u037d\u037f-\u1fff\u200c\u200d"
        "\u203f\u2040\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
        "\U00010000-\U000effff]+"
    )


def _is_nmtoken(value: str) -> bool:
    if value.isascii():
        return _NMTOKEN_ASCII.fullmatch(value) is not None
    return _nmtoken().fullmatch(value) is not None


class RenderError(ValueError):
    """The model cannot be rendered as a document valid for its DTD."""


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise RenderError(f"Not a cXML version: {version!r}") from None


def doctype(version: str) -> str:
    return f'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/{version}/cXML.dtd">'


def new_payload_id(host: str = "punchout-gateway") -> str:
    """``time.pid.random@host``, the form cXML recommends; 64 random bits make it globally unique."""
    return f"{time.time_ns()}.{os.getpid()}.{secrets.token_hex(8)}@{host}"


def new_envelope(host: str = "punchout-gateway", lang: str = DEFAULT_LANG) -> Envelope:
    return Envelope(payload_id=new_payload_id(host), timestamp=Timestamp.of(datetime.now(UTC)), lang=lang)


# Attributes that may differ from line to line: their values go with the texts, so that lines
# differing only in them share a shape (see _shapes). Every other attribute value is part of the
# shape: lines that differ in one are built element by element.
_QUANTITY = Var("quantity")
_LINE_NUMBER = Var("lineNumber")
_REQUESTED_DELIVERY_DATE = Var("requestedDeliveryDate")
_ALTERNATE_AMOUNT = Var("alternateAmount")
_SEGMENT_ID = Var("id")  # cost centres and accounts often change from line to line
_SEGMENT_DESCRIPTION = Var("description")
_ADDRESS_ID = Var("addressID")
_TRACKING_ID = Var("trackingId")

# What every line repeats, as shape tokens built once.
_ITEM_ID = ("ItemID", Leaf("SupplierPartID"), END)
_ITEM_ID_WITH_AUXILIARY = ("ItemID", Leaf("SupplierPartID"), Leaf("SupplierPartAuxiliaryID"), END)
_UNIT_OF_MEASURE = Leaf("UnitOfMeasure")
_MANUFACTURER_PART_ID = Leaf("ManufacturerPartID")
_MANUFACTURER_NAME = Leaf("ManufacturerName")
_URL = Leaf("URL")
_LEAD_TIME = Leaf("LeadTime")
_TEXT_END = (TEXT, END)
_SHORT_NAME = (Leaf("ShortName"), TAIL, END)

# For the BuyerCookie markup a session kept (it came through the hardened parser once already).
_FRAGMENT_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
)


class _Writer:
    """Records a document as a shape and its values (see ``_shapes``), in DTD order."""

    def __init__(self, version: str) -> None:
        self.version = version
        parts = version_tuple(version)
        # Known from the DTDs: 1.2.014 lacks these, 1.2.036 has them (later versions keep them).
        self.has_municipality = parts >= (1, 2, 36)
        self.has_requested_delivery_date = parts >= (1, 2, 36)  # on OrderRequestHeader
        # OrderRequestHeader allows Comments* from 1.2.063 (Comments? before).
        self.has_repeated_comments = parts >= (1, 2, 63)
        self.shape: list[object] = []
        self.values: list[str | None] = []
        self.builder: Builder

    # -- primitives --------------------------------------------------------------------------------

    def open(self, tag: str, /, **attributes: str | None) -> None:
        shape = self.shape
        shape.append(tag)
        for name, value in attributes.items():
            if value is not None:
                shape.append((XML_LANG if name == "xml_lang" else name, value))

    def close(self) -> None:
        self.shape.append(END)

    def var(self, attribute: Var, value: str | None) -> None:
        if value is not None:
            self.shape.append(attribute)
            self.values.append(value)

    def leaf(self, tag: str, content: str | None = None, /, **attributes: str | None) -> None:
        self.open(tag, **attributes)
        if content is not None:
            self.shape.append(TEXT)
            self.values.append(content)
        self.shape.append(END)

    def buyer_cookie(self, cookie: str, *, markup: bool) -> None:
        if not markup:
            self.leaf("BuyerCookie", cookie)
            return
        try:
            element = etree.fromstring(cookie, _FRAGMENT_PARSER)
        except etree.XMLSyntaxError:
            raise RenderError("BuyerCookie markup is not well-formed XML") from None
        if element.tag != "BuyerCookie":
            raise RenderError("BuyerCookie markup is not a BuyerCookie element")
        self.markup(element)

    def markup(self, element: etree._Element, scope: dict[str | None, str] | None = None) -> None:
        """``element`` (the BuyerCookie) and its descendants as they are: content the DTD declares ANY.

        The buyer's namespace prefixes come back as it sent them (lxml would call them ns0, ns1...):
        each element declares those not yet in ``scope``, the declarations in force above it. The
        BuyerCookie itself declares none (the DTD gives it no xmlns attributes): its elements do."""
        declared = {} if scope is None else {p: uri for p, uri in element.nsmap.items() if scope.get(p) != uri}
        tag = str(element.tag)
        self.shape.append(Qualified(tag, declared) if declared else tag)
        if scope is not None:  # BuyerCookie's own are dropped, as for a cookie of text: the DTD gives it none
            self.shape.extend((str(name), str(value)) for name, value in element.attrib.items())
        if element.text is not None:
            self.shape.append(TEXT)
            self.values.append(element.text)
        inner = {} if scope is None else {**scope, **declared}
        for child in element:
            self.markup(child, inner)
            if child.tail is not None:
                self.shape.append(TAIL)
                self.values.append(child.tail)
        self.shape.append(END)

    @staticmethod
    def timestamp(value: Timestamp) -> str:
        return format_datetime(value.value) if value.value is not None else value.text

    # The writers below run once or more per order or cart line: they extend the shape with tuples
    # rather than through ``open`` and its keyword dictionary.

    def money(self, money: Money) -> None:
        shape = self.shape
        if money.alternate_amount is None:
            shape += ("Money", ("currency", money.currency), TEXT, END)
            self.values.append(plain_decimal(money.amount))
            return
        shape += ("Money", ("currency", money.currency), _ALTERNATE_AMOUNT)
        if money.alternate_currency is not None:
            shape.append(("alternateCurrency", money.alternate_currency))
        shape += _TEXT_END
        self.values += (plain_decimal(money.alternate_amount), plain_decimal(money.amount))

    def wrapped_money(self, tag: str, money: Money) -> None:
        self.shape.append(tag)
        self.money(money)
        self.shape.append(END)

    def description(self, description: Description) -> None:
        shape = self.shape
        shape += ("Description", (XML_LANG, description.lang))
        if description.short_name is None:
            shape += _TEXT_END
            self.values.append(description.text)
        else:
            shape += _SHORT_NAME
            self.values += (description.short_name, description.text)

    def extrinsics(self, extrinsics: Iterable[Extrinsic]) -> None:
        shape, values = self.shape, self.values
        for extrinsic in extrinsics:
            if not extrinsic.name:
                raise RenderError("Extrinsic needs a name")
            shape += ("Extrinsic", ("name", extrinsic.name), TEXT, END)
            values.append(extrinsic.value)

    def url(self, tag: str, url: str) -> None:
        self.open(tag)
        self.leaf("URL", url)
        self.close()

    # -- envelope ----------------------------------------------------------------------------------

    def root(self, envelope: Envelope) -> Element:
        root = etree.Element("cXML")
        root.set("payloadID", envelope.payload_id)
        root.set("timestamp", self.timestamp(envelope.timestamp))
        root.set("version", self.version)
        root.set(XML_LANG, envelope.lang or DEFAULT_LANG)
        return root

    def credential(self, credential: Credential) -> None:
        if credential.type not in (None, "marketplace"):
            raise RenderError(f"Credential type must be marketplace or absent, not {credential.type[:40]!r}")
        self.open("Credential", domain=credential.domain, type=credential.type)
        self.leaf("Identity", credential.identity)
        if credential.shared_secret is not None:
            self.leaf("SharedSecret", credential.shared_secret.get_secret_value())
        self.close()

    def header(self, header: Header | None) -> None:
        if header is None or not (header.from_credentials and header.to_credentials and header.sender_credentials):
            raise RenderError("Header needs From, To and Sender credentials")
        self.open("Header")
        for tag, credentials in (
            ("From", header.from_credentials),
            ("To", header.to_credentials),
            ("Sender", header.sender_credentials),
        ):
            if tag != "From":
                self.close()
            self.open(tag)
            for credential in credentials:
                self.credential(credential)
        self.leaf("UserAgent", header.user_agent)  # in Sender
        self.close()
        self.close()

    def status(self, status: Status) -> None:
        self.leaf("Status", status.message or None, code=str(status.code), text=status.text, xml_lang=status.lang)

    # -- addresses and contacts --------------------------------------------------------------------

    def phone(self, phone: Phone) -> None:
        telephone = phone.telephone_number
        if not telephone.iso_country_code:
            raise RenderError("CountryCode needs an isoCountryCode")
        self.open("Phone", name=phone.name)
        self.open("TelephoneNumber")
        self.leaf("CountryCode", telephone.country_code, isoCountryCode=telephone.iso_country_code)
        self.leaf("AreaOrCityCode", telephone.area_or_city_code)
        self.leaf("Number", telephone.number)
        if telephone.extension is not None:
            self.leaf("Extension", telephone.extension)
        self.close()
        self.close()

    def postal_address(self, address: PostalAddress) -> None:
        if not address.street:
            raise RenderError("PostalAddress needs at least one Street")
        if not address.iso_country_code:
            raise RenderError("Country needs an isoCountryCode")
        self.open("PostalAddress", name=address.name)
        for deliver_to in address.deliver_to:
            self.leaf("DeliverTo", deliver_to)
        for street in address.street:
            self.leaf("Street", street)
        city: str | None = address.city
        if address.municipality is not None:
            if self.has_municipality:
                self.leaf("City", city)
                self.leaf("Municipality", address.municipality)
                city = None
            else:  # older DTDs have no Municipality: keep it with the city rather than lose it
                city = f"{city}, {address.municipality}" if city else address.municipality
        if city is not None:
            self.leaf("City", city)
        if address.state is not None:
            self.leaf("State", address.state)
        if address.postal_code is not None:
            self.leaf("PostalCode", address.postal_code)
        self.leaf("Country", address.country, isoCountryCode=address.iso_country_code)
        self.close()

    def address(self, address: Address) -> None:
        self.open("Address", isoCountryCode=address.iso_country_code)
        self.var(_ADDRESS_ID, address.address_id)
        self.leaf("Name", address.name, xml_lang=address.name_lang)
        if address.postal_address is not None:
            self.postal_address(address.postal_address)
        if address.email is not None:
            self.leaf("Email", address.email)
        if address.phone is not None:
            self.phone(address.phone)
        if address.url is not None:
            self.leaf("URL", address.url)
        self.close()

    def ship_to(self, ship_to: ShipTo | None) -> None:
        if ship_to is not None:
            self.open("ShipTo")
            self.address(ship_to.address)
            self.close()

    def contact(self, contact: Contact) -> None:
        if contact.role is not None and not _is_nmtoken(contact.role):
            raise RenderError(f"Contact role must be a single name token, not {contact.role[:40]!r}")
        self.open("Contact", role=contact.role)
        self.leaf("Name", contact.name, xml_lang=contact.name_lang)
        for postal in contact.postal_addresses:
            self.postal_address(postal)
        for email in contact.emails:
            self.leaf("Email", email)
        for phone in contact.phones:
            self.phone(phone)
        for url in contact.urls:
            self.leaf("URL", url)
        self.close()

    def shipping(self, shipping: Shipping | None) -> None:
        if shipping is not None:
            self.open("Shipping", trackingDomain=shipping.tracking_domain)
            self.var(_TRACKING_ID, shipping.tracking_id)
            self.money(shipping.money)
            self.description(shipping.description)
            self.close()

    def tax(self, tax: Tax | None) -> None:
        if tax is not None:
            self.open("Tax")
            self.money(tax.money)
            self.description(tax.description)
            self.close()

    def comments(self, comments: Comments) -> None:
        self.open("Comments", xml_lang=comments.lang)
        if comments.text:
            self.shape.append(TEXT)
            self.values.append(comments.text)
        for attachment in comments.attachments:
            self.url("Attachment", attachment)
        self.close()

    # -- lines -------------------------------------------------------------------------------------

    def lines[T](self, write: Callable[[T], None], items: Iterable[T]) -> None:
        """Each line recorded and built on its own, so that lines of the same shape can be copies."""
        builder = self.builder
        builder.add(self.shape, self.values)  # up to the lines' parent
        shape: list[object] = []
        values: list[str | None] = []
        self.shape, self.values = shape, values
        for item in items:
            write(item)
            builder.line(tuple(shape), values)
            shape.clear()
            values.clear()
        self.shape, self.values = [], []

    def item_id(self, item_id: ItemID) -> None:
        if item_id.supplier_part_auxiliary_id is None:
            self.shape += _ITEM_ID
            self.values.append(item_id.supplier_part_id)
        else:
            self.shape += _ITEM_ID_WITH_AUXILIARY
            self.values += (item_id.supplier_part_id, item_id.supplier_part_auxiliary_id)

    def item_detail(self, detail: ItemDetail) -> None:
        if not detail.descriptions or not detail.classifications:
            raise RenderError("ItemDetail needs a Description and a Classification")
        shape, values = self.shape, self.values
        price = detail.unit_price
        if price.alternate_amount is None:  # money(), inlined for the usual price
            shape += ("ItemDetail", "UnitPrice", "Money", ("currency", price.currency), TEXT, END, END)
            values.append(plain_decimal(price.amount))
        else:
            shape += ("ItemDetail", "UnitPrice")
            self.money(price)
            shape.append(END)
        for description in detail.descriptions:
            shape += ("Description", (XML_LANG, description.lang))  # description(), inlined
            if description.short_name is None:
                shape += _TEXT_END
                values.append(description.text)
            else:
                shape += _SHORT_NAME
                values += (description.short_name, description.text)
        shape.append(_UNIT_OF_MEASURE)
        values.append(detail.unit_of_measure)
        for classification in detail.classifications:
            shape += ("Classification", ("domain", classification.domain), TEXT, END)
            values.append(classification.value)
        if detail.manufacturer_part_id is not None:
            shape.append(_MANUFACTURER_PART_ID)
            values.append(detail.manufacturer_part_id)
        if detail.manufacturer_name is not None:
            shape.append(_MANUFACTURER_NAME)
            values.append(detail.manufacturer_name)
        if detail.url is not None:
            shape.append(_URL)
            values.append(detail.url)
        if detail.lead_time is not None:
            shape.append(_LEAD_TIME)
            values.append(str(detail.lead_time))
        if detail.extrinsics:
            self.extrinsics(detail.extrinsics)
        shape.append(END)

    def distribution(self, distribution: Distribution) -> None:
        shape, values = self.shape, self.values
        accounting = distribution.accounting
        shape += ("Distribution", "Accounting", ("name", accounting.name))
        for segment in accounting.segments:
            shape += ("Segment", ("type", segment.type), _SEGMENT_ID, _SEGMENT_DESCRIPTION, END)
            values += (segment.id, segment.description)
        shape += (END, "Charge")
        self.money(distribution.charge)
        shape += (END, END)

    def item_in(self, item: ItemIn) -> None:
        shape, values = self.shape, self.values
        shape += ("ItemIn", _QUANTITY)
        values.append(plain_decimal(item.quantity))
        if item.line_number is not None:
            shape.append(_LINE_NUMBER)
            values.append(str(item.line_number))
        self.item_id(item.item_id)
        self.item_detail(item.item_detail)
        self.ship_to(item.ship_to)
        self.shipping(item.shipping)
        self.tax(item.tax)
        shape.append(END)

    def item_out(self, item: ItemOut) -> None:
        if item.quantity is None:
            raise RenderError("ItemOut needs a quantity")
        shape, values = self.shape, self.values
        shape += ("ItemOut", _QUANTITY)
        values.append(plain_decimal(item.quantity))
        if item.line_number is not None:
            shape.append(_LINE_NUMBER)
            values.append(str(item.line_number))
        if item.requested_delivery_date is not None:
            shape.append(_REQUESTED_DELIVERY_DATE)
            values.append(self.timestamp(item.requested_delivery_date))
        self.item_id(item.item_id)
        if item.item_detail is not None:
            self.item_detail(item.item_detail)
        self.ship_to(item.ship_to)
        self.shipping(item.shipping)
        self.tax(item.tax)
        for distribution in item.distributions:
            self.distribution(distribution)
        for contact in item.contacts:
            self.contact(contact)
        if item.comments is not None:
            self.comments(item.comments)
        shape.append(END)

    # -- payloads ----------------------------------------------------------------------------------

    def punchout_setup_request(self, request: PunchOutSetupRequest) -> None:
        self.open("PunchOutSetupRequest", operation=request.operation)
        self.buyer_cookie(request.buyer_cookie, markup=request.buyer_cookie_markup)
        self.extrinsics(request.extrinsics)
        if request.browser_form_post is not None:
            self.url("BrowserFormPost", request.browser_form_post)
        for contact in request.contacts:
            self.contact(contact)
        if request.supplier_setup_url is not None:
            self.url("SupplierSetup", request.supplier_setup_url)
        self.ship_to(request.ship_to)
        if request.selected_item is not None:
            self.open("SelectedItem")
            self.item_id(request.selected_item)
            self.close()
        self.lines(self.item_out, request.items)
        self.close()

    def order_request(self, order: OrderRequest) -> None:
        header = order.header
        if header.bill_to is None:
            raise RenderError("OrderRequestHeader needs a BillTo")
        self.open("OrderRequest")
        self.open(
            "OrderRequestHeader",
            orderID=header.order_id,
            orderDate=self.timestamp(header.order_date),
            type=header.type,
            orderVersion=str(header.order_version) if header.order_version is not None else None,
            requisitionID=header.requisition_id,
            shipComplete="yes" if header.ship_complete else None,
            requestedDeliveryDate=self.timestamp(header.requested_delivery_date)
            if header.requested_delivery_date is not None and self.has_requested_delivery_date
            else None,
        )
        self.wrapped_money("Total", header.total)
        self.ship_to(header.ship_to)
        self.open("BillTo")
        self.address(header.bill_to.address)
        self.close()
        self.shipping(header.shipping)
        self.tax(header.tax)
        if header.payment is not None and header.payment.pcard is not None:
            card = header.payment.pcard
            self.open("Payment")
            self.leaf("PCard", number=card.number, expiration=card.expiration, name=card.name)
            self.close()
        for contact in header.contacts:
            self.contact(contact)
        comments = list(header.comments)
        if len(comments) > 1 and not self.has_repeated_comments:
            comments = [
                Comments(
                    text="\n\n".join(c.text for c in comments if c.text),
                    lang=comments[0].lang,
                    attachments=[a for c in comments for a in c.attachments],
                )
            ]
        for comment in comments:
            self.comments(comment)
        if header.document_reference is not None:
            self.leaf("DocumentReference", payloadID=header.document_reference.payload_id)
        self.extrinsics(header.extrinsics)
        self.close()
        self.lines(self.item_out, order.items)
        self.close()

    def punchout_order_message(self, message: PunchOutOrderMessage) -> None:
        header = message.header
        if header.operation_allowed is None:
            raise RenderError("PunchOutOrderMessageHeader needs operationAllowed")
        self.open("PunchOutOrderMessage")
        self.buyer_cookie(message.buyer_cookie or "", markup=message.buyer_cookie_markup)
        self.open(
            "PunchOutOrderMessageHeader",
            operationAllowed=header.operation_allowed,
            quoteStatus=header.quote_status,
        )
        self.wrapped_money("Total", header.total)
        self.ship_to(header.ship_to)
        self.shipping(header.shipping)
        self.tax(header.tax)
        if header.supplier_order_id is not None:
            self.leaf("SupplierOrderInfo", orderID=header.supplier_order_id)
        self.close()
        self.lines(self.item_in, message.items)
        self.close()

    def options(self, options: Iterable[Option]) -> None:
        for option in options:
            self.leaf("Option", option.value, name=option.name)

    def profile_response(self, profile: ProfileResponse) -> None:
        self.open(
            "ProfileResponse",
            effectiveDate=self.timestamp(profile.effective_date),
            lastRefresh=self.timestamp(profile.last_refresh) if profile.last_refresh is not None else None,
        )
        self.options(profile.options)
        for transaction in profile.transactions:
            self.open("Transaction", requestName=transaction.request_name)
            self.leaf("URL", transaction.url)
            self.options(transaction.options)
            self.close()
        self.close()

    # -- documents ---------------------------------------------------------------------------------

    def document(self, document: RequestDocument | MessageDocument | ResponseDocument) -> Element:
        root = self.root(document.envelope)
        self.builder = Builder(root)
        if isinstance(document, ResponseDocument):
            self.open("Response")
            self.status(document.status)
            if isinstance(document.response, PunchOutSetupResponse):
                self.open("PunchOutSetupResponse")
                self.url("StartPage", document.response.start_page_url)
                self.close()
            elif isinstance(document.response, ProfileResponse):
                self.profile_response(document.response)
            self.close()
        elif isinstance(document, MessageDocument):
            self.header(document.header)
            self.open("Message", deploymentMode=document.deployment_mode, inReplyTo=document.in_reply_to)
            if document.status is not None:
                self.status(document.status)
            self.punchout_order_message(document.message)
            self.close()
        else:
            self.header(document.header)
            self.open("Request", deploymentMode=document.deployment_mode)
            payload = document.request
            if isinstance(payload, PunchOutSetupRequest):
                self.punchout_setup_request(payload)
            elif isinstance(payload, OrderRequest):
                self.order_request(payload)
            elif isinstance(payload, ProfileRequest):
                self.leaf("ProfileRequest")
            self.close()
        self.builder.add(self.shape, self.values)
        return root


def render(document: RequestDocument | MessageDocument | ResponseDocument, version: str = DEFAULT_VERSION) -> bytes:
    """The document as UTF-8 bytes with an XML declaration and a DOCTYPE for ``version``."""
    with paused_gc():
        root = _Writer(version).document(document)
        # The declaration with double quotes, as every cXML sample has it (some buyers' parsers are picky).
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + doctype(version).encode("ascii")
            + b"\n"
            + etree.tostring(root, encoding="UTF-8")
        )


def render_status(
    code: int,
    text: str,
    message: str = "",
    *,
    envelope: Envelope | None = None,
    version: str = DEFAULT_VERSION,
) -> bytes:
    """A bare ``Response/Status`` document: the answer to every refused or failed request."""
    return render(
        ResponseDocument(
            envelope=envelope or new_envelope(),
            status=Status(code=code, text=text, message=message, lang=DEFAULT_LANG),
        ),
        version,
    )
