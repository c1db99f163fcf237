"""Lenient reading of parsed cXML trees into models.

Real buyers break the DTD in known ways (PROTOCOL.md sections 3 and 7): elements out of order,
``Extrinsic`` without a name, credential domains in any case, odd timestamps, a missing DOCTYPE.
So elements are found by name wherever they sit among their siblings, unknown elements are
ignored, and only what the gateway cannot work without is refused (cXML 400).

The tree is turned into plain dicts and validated by pydantic in one call per document: for a
1,000-line order that is several times faster than building each model on its own. The lines,
which are nearly all of a large document, are read by code tuned for that (see "order and cart
lines" below).
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lxml import etree
from pydantic import ValidationError

from ._gc import paused_gc
from .errors import InvalidDocument, NotImplementedRequest
from .models import (
    MAX_FRACTION_DIGITS,
    MAX_INTEGER_DIGITS,
    Accounting,
    AccountingSegment,
    Classification,
    CXMLModel,
    MessageDocument,
    RequestDocument,
    RequestHead,
    ResponseDocument,
    parse_datetime,
)
from .parser import DEFAULT_LIMITS, ParseLimits, parse_xml

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

Element = etree._Element

# The list of an element's children, built by lxml in C: iterating the element instead creates an
# iterator object per element, which makes reading a large order noticeably slower.
_children: Callable[[Element], list[Element]] = operator.itemgetter(slice(None))
_tag: Callable[[Element], str] = operator.attrgetter("tag")
Data = dict[str, Any]
Document = RequestDocument | MessageDocument | ResponseDocument


# --- small helpers --------------------------------------------------------------------------------


class _Children:
    """An element's children by tag, found in one pass (lxml's ``find`` is several times slower)."""

    __slots__ = ("_index", "element")

    def __init__(self, element: Element) -> None:
        self.element = element
        index: dict[Any, list[Element]] = {}
        for child in _children(element):
            tag = child.tag
            if tag in index:
                index[tag].append(child)
            else:
                index[tag] = [child]
        self._index = index

    def first(self, tag: str) -> Element | None:
        found = self._index.get(tag)
        return found[0] if found else None

    def all(self, tag: str) -> list[Element]:
        return self._index.get(tag, [])

    def required(self, tag: str) -> Element:
        found = self._index.get(tag)
        if not found:
            raise InvalidDocument(f"{self.element.tag} has no {tag}")
        return found[0]

    def text(self, tag: str) -> str | None:
        found = self._index.get(tag)
        return None if not found else _text(found[0])

    def texts(self, tag: str) -> list[str]:
        return [_text(e) for e in self._index.get(tag, ())]


def _text(element: Element | None) -> str:
    """The text inside ``element`` (ANY content included), stripped."""
    if element is None:
        return ""
    if len(element) == 0:
        return (element.text or "").strip()
    return "".join(element.itertext()).strip()  # type: ignore[arg-type]  # str input: str pieces


def _own_text(element: Element) -> str:
    """Mixed content (``Description``, ``Comments``): the text around child elements, not inside them."""
    if len(element) == 0:
        return (element.text or "").strip()
    return ((element.text or "") + "".join([child.tail or "" for child in _children(element)])).strip()


def _attribute(element: Element, name: str) -> str:
    value = element.get(name)
    if value is None or not value.strip():
        raise InvalidDocument(f"{element.tag} has no {name} attribute")
    return value.strip()


def _lang(element: Element | None, default: str = "en") -> str:
    if element is None:
        return default
    return (element.get(XML_LANG) or "").strip() or default


def _timestamp(text: str | None) -> Data | None:
    if text is None:
        return None
    return {"text": text, "value": parse_datetime(text)}


# --- building blocks ------------------------------------------------------------------------------


def _first(element: Element, tag: str) -> Element | None:
    """The first child named ``tag`` (faster than ``iterchildren`` for the few children cXML has)."""
    for child in _children(element):
        if child.tag == tag:
            return child
    return None


# Decimal() would also take "1_000", Arabic-Indic or full-width digits: cXML numbers are ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Longer texts are refused before any pattern reads them: the checks below take quadratic time on a long
# run of digits (a 40,000-digit quantity took seconds). The longest number within the bounds, written
# plainly or with an exponent, is ~40 characters.
MAX_NUMBER_CHARS = 64


# What nearly every number is ("2", "12.50"): within the bounds by its shape alone.
_PLAIN_NUMBER = re.compile(rf"-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{0,{MAX_FRACTION_DIGITS}}})?")


def _number(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidDocument(f"{what} {text[:40]!r}... is longer than {MAX_NUMBER_CHARS} characters")
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if not _NUMBER.fullmatch(text):
        raise InvalidDocument(f"{what} {text[:40]!r} is not a decimal number")
    _, digits, exponent = Decimal(text).as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - the pattern admits no NaN or Infinity
    if -exponent > MAX_NUMBER_CHARS - 2:
        # More places than a number of MAX_NUMBER_CHARS written plainly holds ("0." and the rest): only a zero
        # gets here within the bounds (0E-999999999), whose places the loop below would strip one at a time
        # (minutes), and which is written plainly to the shop (a gigabyte).
        raise InvalidDocument(f"{what} {text[:40]!r} is out of range: at most {MAX_NUMBER_CHARS - 2} places as written")
    while exponent < 0 and digits[-1] == 0:  # "1.50000" has two places, "0.0000" none
        digits, exponent = digits[:-1] or (0,), exponent + 1
    if len(digits) + exponent > MAX_INTEGER_DIGITS or -exponent > MAX_FRACTION_DIGITS:
        raise InvalidDocument(
            f"{what} {text[:40]!r} is out of range: at most {MAX_INTEGER_DIGITS} digits before the point"
            f" and {MAX_FRACTION_DIGITS} after"
        )
    return text


def read_money(element: Element) -> Data:
    """``element`` holds a ``Money`` (``Total``, ``UnitPrice``, ``Charge``, ``Shipping``, ``Tax``)."""
    money = _first(element, "Money")
    if money is None:
        raise InvalidDocument(f"{element.tag} has no Money")
    money_data: Data = {
        "amount": _number(money.text or "", f"{element.tag} amount"),
        "currency": _attribute(money, "currency").upper(),
    }
    # Absent attributes are left out rather than passed as None: pydantic then skips the field.
    alternate = money.get("alternateAmount")
    if alternate is not None:
        money_data["alternate_amount"] = _number(alternate, "Money@alternateAmount")
    # Read as the currency is (a shop compares ISO codes); a blank one names no currency.
    alternate_currency = (money.get("alternateCurrency") or "").strip()
    if alternate_currency:
        money_data["alternate_currency"] = alternate_currency.upper()
    return money_data


def read_description(element: Element | None) -> Data:
    if element is None:
        return {"text": ""}
    description: Data = {"lang": (element.get(XML_LANG) or "").strip() or "en"}
    if len(element):
        children = _children(element)
        # Mixed content: the text around the child elements, not inside them.
        description["text"] = ((element.text or "") + "".join([child.tail or "" for child in children])).strip()
        for child in children:
            if child.tag == "ShortName":
                description["short_name"] = _text(child)
                break
    else:
        description["text"] = (element.text or "").strip()
    return description


def read_extrinsics(children: _Children) -> list[Data]:
    return _extrinsics(children.all("Extrinsic"))


def _extrinsics(elements: list[Element]) -> list[Data]:
    return [{"name": (e.get("name") or "").strip() or None, "value": _text(e)} for e in elements]


def read_credential(element: Element) -> Data:
    children = _Children(element)
    secret = children.first("SharedSecret")
    return {
        "domain": (element.get("domain") or "").strip(),
        "identity": children.text("Identity") or "",
        "shared_secret": _text(secret) if secret is not None else None,
        "type": element.get("type"),
    }


# Senders present one to four credentials of each kind. The Header is read before anyone is
# authenticated, so a document repeating them is refused, not read into thousands of models.
MAX_HEADER_CREDENTIALS = 32


def read_header(header: Element | None) -> Data | None:
    if header is None:
        return None
    parts = _Children(header)

    def credentials(tag: str) -> list[Data]:
        part = parts.first(tag)
        if part is None:
            return []
        found = list(part.iterchildren("Credential"))
        if len(found) > MAX_HEADER_CREDENTIALS:
            raise InvalidDocument(f"{tag} has more than {MAX_HEADER_CREDENTIALS} Credential elements")
        return [read_credential(c) for c in found]

    sender = parts.first("Sender")
    return {
        "from_credentials": credentials("From"),
        "to_credentials": credentials("To"),
        "sender_credentials": credentials("Sender"),
        "user_agent": (_Children(sender).text("UserAgent") or "") if sender is not None else "",
    }


def read_phone(element: Element) -> Data | None:
    number = next(element.iterchildren("TelephoneNumber"), None)
    if number is None:
        return None
    parts = _Children(number)
    country = parts.first("CountryCode")
    return {
        "name": element.get("name"),
        "telephone_number": {
            "country_code": _text(country),
            "iso_country_code": (country.get("isoCountryCode") or "").strip() if country is not None else "",
            "area_or_city_code": parts.text("AreaOrCityCode") or "",
            "number": parts.text("Number") or "",
            "extension": parts.text("Extension"),
        },
    }


def read_postal_address(element: Element) -> Data:
    parts = _Children(element)
    country = parts.first("Country")
    return {
        "name": element.get("name"),
        "deliver_to": parts.texts("DeliverTo"),
        "street": parts.texts("Street"),
        "city": parts.text("City") or "",
        "municipality": parts.text("Municipality"),
        "state": parts.text("State") or None,
        "postal_code": parts.text("PostalCode") or None,
        "country": _text(country),
        "iso_country_code": (country.get("isoCountryCode") or "").strip() if country is not None else "",
    }


def read_address(element: Element) -> Data:
    parts = _Children(element)
    name = parts.first("Name")
    postal = parts.first("PostalAddress")
    phone = parts.first("Phone")
    return {
        "name": _text(name),
        "name_lang": _lang(name),
        "address_id": element.get("addressID"),
        "iso_country_code": element.get("isoCountryCode"),
        "postal_address": read_postal_address(postal) if postal is not None else None,
        "email": parts.text("Email"),
        "phone": read_phone(phone) if phone is not None else None,
        "url": parts.text("URL"),
    }


def read_ship_to(element: Element | None) -> Data | None:
    """``ShipTo`` or ``BillTo``: both hold one ``Address``."""
    if element is None:
        return None
    address = next(element.iterchildren("Address"), None)
    if address is None:
        raise InvalidDocument(f"{element.tag} has no Address")
    return {"address": read_address(address)}


def read_contact(element: Element) -> Data:
    parts = _Children(element)
    name = parts.first("Name")
    phones = [read_phone(p) for p in parts.all("Phone")]
    return {
        "role": element.get("role"),
        "name": _text(name),
        "name_lang": _lang(name),
        "postal_addresses": [read_postal_address(p) for p in parts.all("PostalAddress")],
        "emails": parts.texts("Email"),
        "phones": [p for p in phones if p is not None],
        "urls": parts.texts("URL"),
    }


def read_shipping(element: Element | None) -> Data | None:
    if element is None:
        return None
    return {
        "money": read_money(element),
        "description": read_description(next(element.iterchildren("Description"), None)),
        "tracking_domain": element.get("trackingDomain"),
        "tracking_id": element.get("trackingId"),
    }


def read_tax(element: Element | None) -> Data | None:
    if element is None:
        return None
    return {
        "money": read_money(element),
        "description": read_description(next(element.iterchildren("Description"), None)),
    }


def read_comments(element: Element) -> Data:
    return {
        "text": _own_text(element),
        "lang": element.get(XML_LANG),
        "attachments": [_Children(a).text("URL") or "" for a in element.iterchildren("Attachment")],
    }


# --- order and cart lines -------------------------------------------------------------------------
# These run once per line, thousands of times for a large order, so they trade some repetition for
# speed: children are found in one pass per element, dispatching on the tag (the first occurrence
# wins, as with ``_Children.first``); leaf text is read without a helper call; keys whose value
# would be the model's default are left out, which pydantic then does not validate; and the
# Classification and Accounting values that lines repeat are validated once per document and the
# frozen models shared (see ``_Shared``).


class _Shared:
    """The frozen models a document's lines repeat, validated once per document.

    Large orders repeat the same UNSPSC code and cost centre on most lines. Pydantic takes a model
    instance as it is, so a shared one costs a type check where a dict costs a new model. Sharing
    is safe because models are frozen values (``Accounting.segments`` is then one list for all the
    lines that share it: like every list in a model, it is never mutated).
    """

    __slots__ = ("accountings", "classifications")

    def __init__(self) -> None:
        self.classifications: dict[tuple[str, str], Classification] = {}
        self.accountings: dict[tuple[str, tuple[tuple[str, str, str], ...]], Accounting] = {}

    def classification(self, element: Element) -> Classification:
        key = ((element.get("domain") or "").strip(), _text(element) if len(element) else (element.text or "").strip())
        found = self.classifications.get(key)
        if found is None:
            found = self.classifications[key] = Classification(domain=key[0], value=key[1])
        return found

    def accounting(self, name: str, segments: tuple[tuple[str, str, str], ...]) -> Accounting:
        key = (name, segments)
        found = self.accountings.get(key)
        if found is None:
            found = self.accountings[key] = Accounting(
                name=name,
                segments=[AccountingSegment(id=i, type=t, description=d) for i, t, d in segments],
            )
        return found


def read_item_id(element: Element) -> Data:
    part_id: Element | None = None
    auxiliary_id: Element | None = None
    for child in _children(element):
        tag = child.tag
        if tag == "SupplierPartID":
            if part_id is None:
                part_id = child
        elif tag == "SupplierPartAuxiliaryID" and auxiliary_id is None:
            auxiliary_id = child
    data: Data = {
        "supplier_part_id": ""
        if part_id is None
        else (_text(part_id) if len(part_id) else (part_id.text or "").strip())
    }
    if auxiliary_id is not None:
        data["supplier_part_auxiliary_id"] = (
            _text(auxiliary_id) if len(auxiliary_id) else (auxiliary_id.text or "").strip()
        )
    return data


def read_item_detail(element: Element, shared: _Shared) -> Data:
    unit_price = unit_of_measure = part_id = manufacturer = url = lead_time = None
    descriptions: list[Element] = []
    classifications: list[Element] = []
    extrinsics: list[Element] = []
    for child in _children(element):
        tag = child.tag
        if tag == "Description":
            descriptions.append(child)
        elif tag == "Classification":
            classifications.append(child)
        elif tag == "Extrinsic":
            extrinsics.append(child)
        elif tag == "UnitPrice":
            if unit_price is None:
                unit_price = child
        elif tag == "UnitOfMeasure":
            if unit_of_measure is None:
                unit_of_measure = child
        elif tag == "ManufacturerPartID":
            if part_id is None:
                part_id = child
        elif tag == "ManufacturerName":
            if manufacturer is None:
                manufacturer = child
        elif tag == "URL":
            if url is None:
                url = child
        elif tag == "LeadTime" and lead_time is None:
            lead_time = child
    if unit_price is None:
        raise InvalidDocument(f"{element.tag} has no UnitPrice")
    detail: Data = {
        "unit_price": read_money(unit_price),
        "descriptions": [read_description(d) for d in descriptions],
        "unit_of_measure": ""
        if unit_of_measure is None
        else (_text(unit_of_measure) if len(unit_of_measure) else (unit_of_measure.text or "").strip()),
        "classifications": [shared.classification(c) for c in classifications],
    }
    if part_id is not None:
        detail["manufacturer_part_id"] = _text(part_id) if len(part_id) else (part_id.text or "").strip()
    if manufacturer is not None:
        detail["manufacturer_name"] = _text(manufacturer) if len(manufacturer) else (manufacturer.text or "").strip()
    if url is not None:
        detail["url"] = _text(url)
    if lead_time is not None:
        detail["lead_time"] = _text(lead_time) or None
    if extrinsics:
        detail["extrinsics"] = _extrinsics(extrinsics)
    return detail


def _segment(segment: Element) -> tuple[str, str, str] | None:
    tag = segment.tag
    if tag == "Segment":
        return (
            (segment.get("id") or "").strip(),
            segment.get("type") or "",
            segment.get("description") or "",
        )
    if tag == "AccountingSegment":
        named = _Children(segment)
        return (
            (segment.get("id") or "").strip(),
            named.text("Name") or "",
            named.text("Description") or "",
        )
    return None


def read_distribution(element: Element, shared: _Shared) -> Data:
    accounting: Element | None = None
    charge: Element | None = None
    for child in _children(element):
        tag = child.tag
        if tag == "Accounting":
            if accounting is None:
                accounting = child
        elif tag == "Charge" and charge is None:
            charge = child
    if accounting is None:
        raise InvalidDocument(f"{element.tag} has no Accounting")
    segments = tuple([segment for segment in map(_segment, _children(accounting)) if segment is not None])
    if not segments:
        raise InvalidDocument("Accounting has no Segment or AccountingSegment")
    if charge is None:
        raise InvalidDocument(f"{element.tag} has no Charge")
    return {
        "accounting": shared.accounting(accounting.get("name") or "", segments),
        "charge": read_money(charge),
    }


def _read_line(element: Element, shared: _Shared, *, order_line: bool) -> Data:
    """What an ``ItemOut`` (``order_line``) and an ``ItemIn`` share; refuses a line without ItemID."""
    item_id = item_detail = ship_to = shipping = tax = comments = None
    distributions: list[Element] = []
    contacts: list[Element] = []
    for child in _children(element):
        tag = child.tag
        if tag == "ItemID":
            if item_id is None:
                item_id = child
        elif tag == "ItemDetail":
            if item_detail is None:
                item_detail = child
        elif tag == "Distribution":
            distributions.append(child)
        elif tag == "ShipTo":
            if ship_to is None:
                ship_to = child
        elif tag == "Shipping":
            if shipping is None:
                shipping = child
        elif tag == "Tax":
            if tax is None:
                tax = child
        elif tag == "Contact":
            contacts.append(child)
        elif tag == "Comments" and comments is None:
            comments = child
    if item_id is None:
        raise InvalidDocument(f"{element.tag} has no ItemID")
    if item_detail is None and not order_line:
        raise InvalidDocument(f"{element.tag} has no ItemDetail")
    line: Data = {"item_id": read_item_id(item_id)}
    number = element.get("lineNumber")
    if number:
        line["line_number"] = number
    if item_detail is not None:
        line["item_detail"] = read_item_detail(item_detail, shared)
    if ship_to is not None:
        line["ship_to"] = read_ship_to(ship_to)
    if shipping is not None:
        line["shipping"] = read_shipping(shipping)
    if tax is not None:
        line["tax"] = read_tax(tax)
    if order_line:
        if distributions:
            line["distributions"] = [read_distribution(d, shared) for d in distributions]
        if contacts:
            line["contacts"] = [read_contact(c) for c in contacts]
        if comments is not None:
            line["comments"] = read_comments(comments)
    return line


def read_item_out(element: Element, shared: _Shared, *, quantity_required: bool) -> Data:
    quantity = element.get("quantity")
    if quantity is None and quantity_required:
        raise InvalidDocument("ItemOut has no quantity attribute")
    line = _read_line(element, shared, order_line=True)
    line["quantity"] = _number(quantity, "ItemOut@quantity")
    delivery = element.get("requestedDeliveryDate")
    if delivery is not None:
        line["requested_delivery_date"] = {"text": delivery, "value": parse_datetime(delivery)}
    return line


def read_item_in(element: Element, shared: _Shared) -> Data:
    line = _read_line(element, shared, order_line=False)
    line["quantity"] = _number(element.get("quantity"), "ItemIn@quantity")
    return line


def read_buyer_cookie(element: Element | None) -> Data:
    """Opaque and echoed unchanged: its text as it is (never stripped), or the whole element as XML when
    it holds elements (the DTD allows ANY); whole, so that it declares the namespaces its content uses."""
    if element is None:
        return {}
    if len(element) == 0:
        return {"buyer_cookie": element.text or ""}
    return {"buyer_cookie": etree.tostring(element, encoding="unicode", with_tail=False), "buyer_cookie_markup": True}


def _url(element: Element | None) -> str | None:
    if element is None:
        return None
    return _Children(element).text("URL") or None


# --- payloads -------------------------------------------------------------------------------------


def read_punchout_setup_request(element: Element) -> Data:
    check_order_elements(element)
    parts = _Children(element)
    shared = _Shared()
    written = (element.get("operation") or "").strip()
    operation = written.lower()  # in any case, as deploymentMode
    if operation not in ("create", "edit", "inspect", "source"):
        raise InvalidDocument(f"PunchOutSetupRequest has an unknown operation {written[:20]!r}")
    selected = parts.first("SelectedItem")
    return {
        "kind": "PunchOutSetupRequest",
        "operation": operation,
        "buyer_cookie": "",
        **read_buyer_cookie(parts.first("BuyerCookie")),
        "extrinsics": read_extrinsics(parts),
        "browser_form_post": _url(parts.first("BrowserFormPost")),
        "contacts": [read_contact(c) for c in parts.all("Contact")],
        "supplier_setup_url": _url(parts.first("SupplierSetup")),
        "ship_to": read_ship_to(parts.first("ShipTo")),
        "selected_item": read_item_id(_Children(selected).required("ItemID")) if selected is not None else None,
        "items": [read_item_out(i, shared, quantity_required=False) for i in parts.all("ItemOut")],
    }


# What one OrderRequest may repeat, in the whole order: every such element becomes models (the order's,
# then the shop's message) and JSON, and a 6 MB body within the parse limits could hold hundreds of
# thousands of them: 590,000 empty <Contact/> took 14 s and 1.5 GB here (a 512 MB Lambda crashes: a 5xx,
# retried and lost), 35,000 minimal lines 6 s and 500 MB. Far above real orders: the README's
# 5,000-line order has 5,000 of each of ItemOut, Description, Classification, Distribution and Segment.
# All of them at their limit at once in 6.5 MB peaked at 391 MB. Counted before any is read into models.
MAX_ORDER_ELEMENTS: dict[str, int] = {
    "ItemOut": 10_000,
    "Distribution": 20_000,
    "Segment": 60_000,  # and AccountingSegment: Ariba's lines carry up to 4 per Distribution
    "Description": 20_000,
    "Classification": 20_000,
    "Extrinsic": 60_000,  # buyers' custom fields, often several per line
    "Contact": 10_000,
    "PostalAddress": 10_000,
    "Phone": 10_000,
    "Comments": 10_000,
    "Attachment": 10_000,
}
_COUNTED_AS = {"AccountingSegment": "Segment"}
_LIMITED_TAGS = (*MAX_ORDER_ELEMENTS, *_COUNTED_AS)


def check_order_elements(element: Element) -> None:
    """Refuse (400) an OrderRequest or a PunchOutSetupRequest (whose ItemOut, Contact and Extrinsic elements
    cost as much: 590,000 empty <Contact/> took 4.5 s and 1.2 GB before the session was refused as too large)
    that repeats an element more than ``MAX_ORDER_ELEMENTS`` allows."""
    # One pass over the limited elements only (eleven XPath counts took 3 ms on a 1,000-line order, this 2).
    counts = Counter([_COUNTED_AS.get(tag, tag) for tag in map(_tag, element.iter(*_LIMITED_TAGS))])
    for tag, limit in MAX_ORDER_ELEMENTS.items():
        if counts[tag] > limit:
            named = "Segment and AccountingSegment" if tag == "Segment" else tag
            raise InvalidDocument(
                f"The {_tag(element)} has {counts[tag]:,} {named} elements; at most {limit:,} are accepted"
            )


# shipComplete: the DTD's one value, "yes", and XML Schema's boolean true ("true" is how Ruby's Nokogiri
# builder writes `shipComplete: true`).
_SHIP_COMPLETE = frozenset({"yes", "true", "1"})


def read_order_request(element: Element) -> Data:
    check_order_elements(element)
    parts = _Children(element)
    header = parts.required("OrderRequestHeader")
    head = _Children(header)
    written = (header.get("type") or "new").strip()
    order_type = written.lower()  # in any case, as deploymentMode
    if order_type not in ("new", "update", "delete"):
        raise InvalidDocument(f"OrderRequestHeader has an unknown type {written[:20]!r}")
    shared = _Shared()
    items = [read_item_out(i, shared, quantity_required=True) for i in parts.all("ItemOut")]
    if not items:
        raise InvalidDocument("OrderRequest has no ItemOut")
    reference = head.first("DocumentReference")
    payment = head.first("Payment")
    pcard = next(payment.iterchildren("PCard"), None) if payment is not None else None
    return {
        "kind": "OrderRequest",
        "header": {
            "order_id": _attribute(header, "orderID"),
            "order_date": _timestamp(_attribute(header, "orderDate")),
            "type": order_type,
            "order_version": header.get("orderVersion") or None,
            "requisition_id": header.get("requisitionID") or None,
            "ship_complete": (header.get("shipComplete") or "").strip().lower() in _SHIP_COMPLETE,
            "requested_delivery_date": _timestamp(header.get("requestedDeliveryDate") or None),
            "total": read_money(head.required("Total")),
            "ship_to": read_ship_to(head.first("ShipTo")),
            "bill_to": read_ship_to(head.first("BillTo")),
            "shipping": read_shipping(head.first("Shipping")),
            "tax": read_tax(head.first("Tax")),
            "payment": None
            if payment is None
            else {
                "pcard": None
                if pcard is None
                else {
                    # PCard masks the number on validation: the full number never reaches a model.
                    "number": pcard.get("number") or "",
                    "expiration": pcard.get("expiration") or "",
                    "name": pcard.get("name"),
                }
            },
            "contacts": [read_contact(c) for c in head.all("Contact")],
            "comments": [read_comments(c) for c in head.all("Comments")],
            "document_reference": None if reference is None else {"payload_id": _attribute(reference, "payloadID")},
            "extrinsics": read_extrinsics(head),
        },
        "items": items,
    }


def read_punchout_order_message(element: Element) -> Data:
    parts = _Children(element)
    shared = _Shared()
    header = parts.required("PunchOutOrderMessageHeader")
    head = _Children(header)
    allowed = (header.get("operationAllowed") or "").strip()
    quote_status = (header.get("quoteStatus") or "").strip()
    supplier_order = head.first("SupplierOrderInfo")
    return {
        "kind": "PunchOutOrderMessage",
        "buyer_cookie": None,
        **read_buyer_cookie(parts.first("BuyerCookie")),
        "header": {
            "operation_allowed": allowed if allowed in ("create", "edit", "inspect") else None,
            "quote_status": quote_status if quote_status in ("pending", "final") else None,
            "total": read_money(head.required("Total")),
            "ship_to": read_ship_to(head.first("ShipTo")),
            "shipping": read_shipping(head.first("Shipping")),
            "tax": read_tax(head.first("Tax")),
            "supplier_order_id": supplier_order.get("orderID") if supplier_order is not None else None,
        },
        "items": [read_item_in(i, shared) for i in parts.all("ItemIn")],
    }


def read_options(element: Element) -> list[Data]:
    return [{"name": o.get("name") or "", "value": _text(o)} for o in element.iterchildren("Option")]


def read_profile_response(element: Element) -> Data:
    return {
        "kind": "ProfileResponse",
        "effective_date": _timestamp(element.get("effectiveDate") or ""),
        "last_refresh": _timestamp(element.get("lastRefresh")),
        "options": read_options(element),
        "transactions": [
            {
                "request_name": t.get("requestName") or "",
                "url": _Children(t).text("URL") or "",
                "options": read_options(t),
            }
            for t in element.iterchildren("Transaction")
        ],
    }


def read_status(element: Element) -> Data:
    code = (element.get("code") or "").strip()
    if not code:
        raise InvalidDocument("Status has no code attribute")
    return {"code": code, "text": element.get("text") or "", "message": _text(element), "lang": element.get(XML_LANG)}


# --- documents ------------------------------------------------------------------------------------

_REQUESTS: dict[str, Callable[[Element], Data]] = {
    "PunchOutSetupRequest": read_punchout_setup_request,
    "OrderRequest": read_order_request,
    "ProfileRequest": lambda _: {"kind": "ProfileRequest"},
}


def _payload(container: Element) -> Element:
    for child in container:
        if child.tag != "Status":
            return child
    raise InvalidDocument(f"{container.tag} is empty")


def _message_payload(message: Element) -> Element:
    """The Message's PunchOutOrderMessage; any other message is one the gateway never reads (450)."""
    payload = _payload(message)
    if payload.tag != "PunchOutOrderMessage":
        raise NotImplementedRequest(f"{str(payload.tag)[:60]} is not supported")
    return payload


def _deployment_mode(element: Element) -> str:
    mode = (element.get("deploymentMode") or "production").strip().lower()
    if mode not in ("production", "test"):
        raise InvalidDocument(f"Unknown deploymentMode {mode[:20]!r}")
    return mode


def _check_root(cxml: Element) -> None:
    if cxml.tag != "cXML":
        namespace, _, local = str(cxml.tag).partition("}")
        if local == "cXML":  # "{namespace}cXML": a default xmlns, as some XML binders write one
            raise InvalidDocument(
                f"The root element cXML is in the namespace {namespace[1:201]}; cXML elements have none: "
                "remove the xmlns declaration"
            )
        raise InvalidDocument(f"The root element is {str(cxml.tag)[:40]}, not cXML")


def _envelope(cxml: Element) -> Data:
    return {
        "payload_id": (cxml.get("payloadID") or "").strip(),
        "timestamp": _timestamp(cxml.get("timestamp") or ""),
        "version": cxml.get("version"),
        "lang": cxml.get(XML_LANG),
    }


def _request_head(cxml: Element, parts: _Children, request: Element) -> tuple[Data, Element]:
    """A RequestHead's data, and the request's payload element (not read)."""
    payload = _payload(request)
    kind = str(payload.tag)
    if kind not in _REQUESTS:
        raise NotImplementedRequest(f"{kind[:60]} is not supported")
    head = {
        "envelope": _envelope(cxml),
        "header": read_header(parts.first("Header")),
        "deployment_mode": _deployment_mode(request),
        "kind": kind,
    }
    return head, payload


def _request(head: Data, payload: Element) -> Data:
    """A RequestDocument's data: its head's parts and the payload, read."""
    return {
        "envelope": head["envelope"],
        "header": head["header"],
        "deployment_mode": head["deployment_mode"],
        "request": _REQUESTS[head["kind"]](payload),
    }


def _read(cxml: Element) -> tuple[type[Document], Data]:
    _check_root(cxml)
    parts = _Children(cxml)
    request = parts.first("Request")
    if request is not None:
        return RequestDocument, _request(*_request_head(cxml, parts, request))
    envelope = _envelope(cxml)
    message = parts.first("Message")
    if message is not None:
        payload = _message_payload(message)
        status = next(message.iterchildren("Status"), None)
        return MessageDocument, {
            "envelope": envelope,
            "header": read_header(parts.first("Header")),
            "deployment_mode": _deployment_mode(message),
            "in_reply_to": message.get("inReplyTo"),
            "status": read_status(status) if status is not None else None,
            "message": read_punchout_order_message(payload),
        }
    response = parts.first("Response")
    if response is not None:
        answer = _Children(response)
        setup = answer.first("PunchOutSetupResponse")
        profile = answer.first("ProfileResponse")
        result: Data | None = None
        if setup is not None:
            result = {
                "kind": "PunchOutSetupResponse",
                "start_page_url": _url(_Children(setup).first("StartPage")) or "",
            }
        elif profile is not None:
            result = read_profile_response(profile)
        return ResponseDocument, {
            "envelope": envelope,
            "status": read_status(answer.required("Status")),
            "response": result,
        }
    raise InvalidDocument("cXML has no Request, Message or Response")


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    return f"Invalid value at {where}: {first['msg']}"


def _validated[Model: CXMLModel](read: Callable[[], tuple[type[Model], Data]]) -> Model:
    with paused_gc():
        try:
            # Inside the try: the models lines share are validated while the tree is read.
            model, data = read()
            return model.model_validate(data)
        except ValidationError as error:
            raise InvalidDocument(_describe(error)) from None


def read_tree(cxml: Element) -> Document:
    """The model of a parsed document; refuses what is not a usable cXML document (400/450)."""
    return _validated(lambda: _read(cxml))


def _request_element(cxml: Element) -> tuple[_Children, Element]:
    _check_root(cxml)
    parts = _Children(cxml)
    request = parts.first("Request")
    if request is not None:
        return parts, request
    message = parts.first("Message")
    if message is not None:
        _message_payload(message)  # a message kind never read is a 450, as read_tree says
        raise InvalidDocument("Expected a cXML Request, got a Message")
    if parts.first("Response") is not None:
        raise InvalidDocument("Expected a cXML Request, got a Response")
    raise InvalidDocument("cXML has no Request, Message or Response")


def read_request_head(cxml: Element) -> RequestHead:
    """Envelope, Header and kind of a request, all that authenticating it needs; refuses what is not a
    request (400) or a request of a kind not supported (450), without reading any payload."""

    def read() -> tuple[type[RequestHead], Data]:
        parts, request = _request_element(cxml)
        return RequestHead, _request_head(cxml, parts, request)[0]

    return _validated(read)


def read_request(cxml: Element, head: RequestHead) -> RequestDocument:
    """The whole request whose head was read (its sender authenticated since)."""

    def read() -> tuple[type[RequestDocument], Data]:
        _, request = _request_element(cxml)
        return RequestDocument, _request(dict(head), _payload(request))

    return _validated(read)


def read_document(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Document:
    """Parse untrusted bytes (hardened) and read them into a model."""
    return read_tree(parse_xml(data, limits))
