"""Strict writing: models rendered element by element in DTD order, never by string concatenation.

The writer targets one cXML version per document (partners differ in what they accept) and
refuses, with ``RenderError``, a model that would not be valid for the DTD it declares.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree

from ._gc import paused_gc
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
)
from .reader import XML_LANG

Element = etree._Element
_SubElement = etree.SubElement

DEFAULT_VERSION = "1.2.014"
DEFAULT_LANG = "en-US"


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


class _Writer:
    def __init__(self, version: str) -> None:
        self.version = version
        parts = version_tuple(version)
        # Known from the DTDs: 1.2.014 lacks these, 1.2.036 has them (later versions keep them).
        self.has_municipality = parts >= (1, 2, 36)
        # OrderRequestHeader allows Comments* from 1.2.063 (Comments? before).
        self.has_repeated_comments = parts >= (1, 2, 63)

    # -- primitives --------------------------------------------------------------------------------

    @staticmethod
    def el(parent: Element, tag: str, content: str | None = None, /, **attributes: str | None) -> Element:
        element = _SubElement(parent, tag)
        for name, value in attributes.items():
            if value is not None:
                element.set(XML_LANG if name == "xml_lang" else name, value)
        if content is not None:
            element.text = content
        return element

    @staticmethod
    def number(value: Decimal) -> str:
        return format(value, "f")

    @staticmethod
    def timestamp(value: Timestamp) -> str:
        return format_datetime(value.value) if value.value is not None else value.text

    # The primitives and line writers below run once or more per order or cart line: they call
    # lxml directly (``SubElement``, ``set``, ``text``) rather than through ``el`` and its keyword
    # dictionary. ``set`` per attribute is cheaper in lxml than passing an attribute dictionary.

    @staticmethod
    def money(parent: Element, money: Money) -> None:
        element = _SubElement(parent, "Money")
        element.set("currency", money.currency)
        if money.alternate_amount is not None:
            element.set("alternateAmount", format(money.alternate_amount, "f"))
            if money.alternate_currency is not None:
                element.set("alternateCurrency", money.alternate_currency)
        element.text = format(money.amount, "f")

    def wrapped_money(self, parent: Element, tag: str, money: Money) -> None:
        self.money(_SubElement(parent, tag), money)

    @staticmethod
    def description(parent: Element, description: Description) -> None:
        element = _SubElement(parent, "Description")
        element.set(XML_LANG, description.lang)
        if description.short_name is not None:
            short_name = _SubElement(element, "ShortName")
            short_name.text = description.short_name
            short_name.tail = description.text
        else:
            element.text = description.text

    @staticmethod
    def extrinsics(parent: Element, extrinsics: Iterable[Extrinsic]) -> None:
        for extrinsic in extrinsics:
            if not extrinsic.name:
                raise RenderError("Extrinsic needs a name")
            element = _SubElement(parent, "Extrinsic")
            element.set("name", extrinsic.name)
            element.text = extrinsic.value

    def url(self, parent: Element, tag: str, url: str) -> None:
        self.el(self.el(parent, tag), "URL", url)

    # -- envelope ----------------------------------------------------------------------------------

    def root(self, envelope: Envelope) -> Element:
        root = etree.Element("cXML")
        root.set("payloadID", envelope.payload_id)
        root.set("timestamp", self.timestamp(envelope.timestamp))
        root.set("version", self.version)
        root.set(XML_LANG, envelope.lang or DEFAULT_LANG)
        return root

    def credential(self, parent: Element, credential: Credential) -> None:
        element = self.el(parent, "Credential", domain=credential.domain, type=credential.type)
        self.el(element, "Identity", credential.identity)
        if credential.shared_secret is not None:
            self.el(element, "SharedSecret", credential.shared_secret.get_secret_value())

    def header(self, parent: Element, header: Header | None) -> None:
        if header is None or not (header.from_credentials and header.to_credentials and header.sender_credentials):
            raise RenderError("Header needs From, To and Sender credentials")
        element = self.el(parent, "Header")
        for tag, credentials in (
            ("From", header.from_credentials),
            ("To", header.to_credentials),
            ("Sender", header.sender_credentials),
        ):
            part = self.el(element, tag)
            for credential in credentials:
                self.credential(part, credential)
        self.el(part, "UserAgent", header.user_agent)

    def status(self, parent: Element, status: Status) -> None:
        self.el(parent, "Status", status.message or None, code=str(status.code), text=status.text, xml_lang=status.lang)

    # -- addresses and contacts --------------------------------------------------------------------

    def phone(self, parent: Element, phone: Phone) -> None:
        number = self.el(self.el(parent, "Phone", name=phone.name), "TelephoneNumber")
        telephone = phone.telephone_number
        if not telephone.iso_country_code:
            raise RenderError("CountryCode needs an isoCountryCode")
        self.el(number, "CountryCode", telephone.country_code, isoCountryCode=telephone.iso_country_code)
        self.el(number, "AreaOrCityCode", telephone.area_or_city_code)
        self.el(number, "Number", telephone.number)
        if telephone.extension is not None:
            self.el(number, "Extension", telephone.extension)

    def postal_address(self, parent: Element, address: PostalAddress) -> None:
        if not address.street:
            raise RenderError("PostalAddress needs at least one Street")
        if not address.iso_country_code:
            raise RenderError("Country needs an isoCountryCode")
        element = self.el(parent, "PostalAddress", name=address.name)
        for deliver_to in address.deliver_to:
            self.el(element, "DeliverTo", deliver_to)
        for street in address.street:
            self.el(element, "Street", street)
        city = address.city
        if address.municipality is not None:
            if self.has_municipality:
                self.el(element, "City", city)
                self.el(element, "Municipality", address.municipality)
                city = None  # type: ignore[assignment]
            else:  # older DTDs have no Municipality: keep it with the city rather than lose it
                city = f"{city}, {address.municipality}" if city else address.municipality
        if city is not None:
            self.el(element, "City", city)
        if address.state is not None:
            self.el(element, "State", address.state)
        if address.postal_code is not None:
            self.el(element, "PostalCode", address.postal_code)
        self.el(element, "Country", address.country, isoCountryCode=address.iso_country_code)

    def address(self, parent: Element, address: Address) -> None:
        element = self.el(parent, "Address", isoCountryCode=address.iso_country_code, addressID=address.address_id)
        self.el(element, "Name", address.name, xml_lang=address.name_lang)
        if address.postal_address is not None:
            self.postal_address(element, address.postal_address)
        if address.email is not None:
            self.el(element, "Email", address.email)
        if address.phone is not None:
            self.phone(element, address.phone)
        if address.url is not None:
            self.el(element, "URL", address.url)

    def ship_to(self, parent: Element, ship_to: ShipTo | None) -> None:
        if ship_to is not None:
            self.address(self.el(parent, "ShipTo"), ship_to.address)

    def contact(self, parent: Element, contact: Contact) -> None:
        element = self.el(parent, "Contact", role=contact.role)
        self.el(element, "Name", contact.name, xml_lang=contact.name_lang)
        for postal in contact.postal_addresses:
            self.postal_address(element, postal)
        for email in contact.emails:
            self.el(element, "Email", email)
        for phone in contact.phones:
            self.phone(element, phone)
        for url in contact.urls:
            self.el(element, "URL", url)

    def shipping(self, parent: Element, shipping: Shipping | None) -> None:
        if shipping is not None:
            element = self.el(
                parent, "Shipping", trackingDomain=shipping.tracking_domain, trackingId=shipping.tracking_id
            )
            self.money(element, shipping.money)
            self.description(element, shipping.description)

    def tax(self, parent: Element, tax: Tax | None) -> None:
        if tax is not None:
            element = self.el(parent, "Tax")
            self.money(element, tax.money)
            self.description(element, tax.description)

    def comments(self, parent: Element, comments: Comments) -> None:
        element = self.el(parent, "Comments", comments.text or None, xml_lang=comments.lang)
        for attachment in comments.attachments:
            self.url(element, "Attachment", attachment)

    # -- lines -------------------------------------------------------------------------------------

    @staticmethod
    def item_id(parent: Element, item_id: ItemID) -> None:
        element = _SubElement(parent, "ItemID")
        _SubElement(element, "SupplierPartID").text = item_id.supplier_part_id
        if item_id.supplier_part_auxiliary_id is not None:
            _SubElement(element, "SupplierPartAuxiliaryID").text = item_id.supplier_part_auxiliary_id

    def item_detail(self, parent: Element, detail: ItemDetail) -> None:
        if not detail.descriptions or not detail.classifications:
            raise RenderError("ItemDetail needs a Description and a Classification")
        element = _SubElement(parent, "ItemDetail")
        self.money(_SubElement(element, "UnitPrice"), detail.unit_price)
        for description in detail.descriptions:
            self.description(element, description)
        _SubElement(element, "UnitOfMeasure").text = detail.unit_of_measure
        for classification in detail.classifications:
            child = _SubElement(element, "Classification")
            child.set("domain", classification.domain)
            child.text = classification.value
        if detail.manufacturer_part_id is not None:
            _SubElement(element, "ManufacturerPartID").text = detail.manufacturer_part_id
        if detail.manufacturer_name is not None:
            _SubElement(element, "ManufacturerName").text = detail.manufacturer_name
        if detail.url is not None:
            _SubElement(element, "URL").text = detail.url
        if detail.lead_time is not None:
            _SubElement(element, "LeadTime").text = str(detail.lead_time)
        if detail.extrinsics:
            self.extrinsics(element, detail.extrinsics)

    def distribution(self, parent: Element, distribution: Distribution) -> None:
        element = _SubElement(parent, "Distribution")
        accounting = _SubElement(element, "Accounting")
        accounting.set("name", distribution.accounting.name)
        for segment in distribution.accounting.segments:
            child = _SubElement(accounting, "Segment")
            child.set("type", segment.type)
            child.set("id", segment.id)
            child.set("description", segment.description)
        self.money(_SubElement(element, "Charge"), distribution.charge)

    def item_in(self, parent: Element, item: ItemIn) -> None:
        element = _SubElement(parent, "ItemIn")
        element.set("quantity", format(item.quantity, "f"))
        if item.line_number is not None:
            element.set("lineNumber", str(item.line_number))
        self.item_id(element, item.item_id)
        self.item_detail(element, item.item_detail)
        self.ship_to(element, item.ship_to)
        self.shipping(element, item.shipping)
        self.tax(element, item.tax)

    def item_out(self, parent: Element, item: ItemOut) -> None:
        if item.quantity is None:
            raise RenderError("ItemOut needs a quantity")
        element = _SubElement(parent, "ItemOut")
        element.set("quantity", format(item.quantity, "f"))
        if item.line_number is not None:
            element.set("lineNumber", str(item.line_number))
        if item.requested_delivery_date is not None:
            element.set("requestedDeliveryDate", self.timestamp(item.requested_delivery_date))
        self.item_id(element, item.item_id)
        if item.item_detail is not None:
            self.item_detail(element, item.item_detail)
        if item.ship_to is not None:
            self.ship_to(element, item.ship_to)
        if item.shipping is not None:
            self.shipping(element, item.shipping)
        if item.tax is not None:
            self.tax(element, item.tax)
        for distribution in item.distributions:
            self.distribution(element, distribution)
        for contact in item.contacts:
            self.contact(element, contact)
        if item.comments is not None:
            self.comments(element, item.comments)

    # -- payloads ----------------------------------------------------------------------------------

    def punchout_setup_request(self, parent: Element, request: PunchOutSetupRequest) -> None:
        element = self.el(parent, "PunchOutSetupRequest", operation=request.operation)
        self.el(element, "BuyerCookie", request.buyer_cookie)
        self.extrinsics(element, request.extrinsics)
        if request.browser_form_post is not None:
            self.url(element, "BrowserFormPost", request.browser_form_post)
        for contact in request.contacts:
            self.contact(element, contact)
        if request.supplier_setup_url is not None:
            self.url(element, "SupplierSetup", request.supplier_setup_url)
        self.ship_to(element, request.ship_to)
        if request.selected_item is not None:
            self.item_id(self.el(element, "SelectedItem"), request.selected_item)
        for item in request.items:
            self.item_out(element, item)

    def order_request(self, parent: Element, order: OrderRequest) -> None:
        header = order.header
        if header.bill_to is None:
            raise RenderError("OrderRequestHeader needs a BillTo")
        element = self.el(parent, "OrderRequest")
        head = self.el(
            element,
            "OrderRequestHeader",
            orderID=header.order_id,
            orderDate=self.timestamp(header.order_date),
            type=header.type,
            orderVersion=str(header.order_version) if header.order_version is not None else None,
        )
        self.wrapped_money(head, "Total", header.total)
        self.ship_to(head, header.ship_to)
        self.address(self.el(head, "BillTo"), header.bill_to.address)
        self.shipping(head, header.shipping)
        self.tax(head, header.tax)
        if header.payment is not None and header.payment.pcard is not None:
            card = header.payment.pcard
            self.el(self.el(head, "Payment"), "PCard", number=card.number, expiration=card.expiration, name=card.name)
        for contact in header.contacts:
            self.contact(head, contact)
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
            self.comments(head, comment)
        if header.document_reference is not None:
            self.el(head, "DocumentReference", payloadID=header.document_reference.payload_id)
        self.extrinsics(head, header.extrinsics)
        for item in order.items:
            self.item_out(element, item)

    def punchout_order_message(self, parent: Element, message: PunchOutOrderMessage) -> None:
        header = message.header
        if header.operation_allowed is None:
            raise RenderError("PunchOutOrderMessageHeader needs operationAllowed")
        element = self.el(parent, "PunchOutOrderMessage")
        self.el(element, "BuyerCookie", message.buyer_cookie or "")
        head = self.el(
            element,
            "PunchOutOrderMessageHeader",
            operationAllowed=header.operation_allowed,
            quoteStatus=header.quote_status,
        )
        self.wrapped_money(head, "Total", header.total)
        self.ship_to(head, header.ship_to)
        self.shipping(head, header.shipping)
        self.tax(head, header.tax)
        if header.supplier_order_id is not None:
            self.el(head, "SupplierOrderInfo", orderID=header.supplier_order_id)
        for item in message.items:
            self.item_in(element, item)

    def options(self, parent: Element, options: Iterable[Option]) -> None:
        for option in options:
            self.el(parent, "Option", option.value, name=option.name)

    def profile_response(self, parent: Element, profile: ProfileResponse) -> None:
        element = self.el(
            parent,
            "ProfileResponse",
            effectiveDate=self.timestamp(profile.effective_date),
            lastRefresh=self.timestamp(profile.last_refresh) if profile.last_refresh is not None else None,
        )
        self.options(element, profile.options)
        for transaction in profile.transactions:
            entry = self.el(element, "Transaction", requestName=transaction.request_name)
            self.el(entry, "URL", transaction.url)
            self.options(entry, transaction.options)

    # -- documents ---------------------------------------------------------------------------------

    def document(self, document: RequestDocument | MessageDocument | ResponseDocument) -> Element:
        root = self.root(document.envelope)
        if isinstance(document, ResponseDocument):
            response = self.el(root, "Response")
            self.status(response, document.status)
            if isinstance(document.response, PunchOutSetupResponse):
                self.url(self.el(response, "PunchOutSetupResponse"), "StartPage", document.response.start_page_url)
            elif isinstance(document.response, ProfileResponse):
                self.profile_response(response, document.response)
            return root
        self.header(root, document.header)
        if isinstance(document, MessageDocument):
            message = self.el(root, "Message", deploymentMode=document.deployment_mode, inReplyTo=document.in_reply_to)
            if document.status is not None:
                self.status(message, document.status)
            self.punchout_order_message(message, document.message)
            return root
        request = self.el(root, "Request", deploymentMode=document.deployment_mode)
        payload = document.request
        if isinstance(payload, PunchOutSetupRequest):
            self.punchout_setup_request(request, payload)
        elif isinstance(payload, OrderRequest):
            self.order_request(request, payload)
        elif isinstance(payload, ProfileRequest):
            self.el(request, "ProfileRequest")
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
