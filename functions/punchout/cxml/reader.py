"""Lenient reading of parsed cXML trees into models.

Real buyers break the DTD in known ways (PROTOCOL.md sections 3 and 7): elements out of order,
``Extrinsic`` without a name, credential domains in any case, odd timestamps, a missing DOCTYPE.
So elements are found by name wherever they sit among their siblings, unknown elements are
ignored, and only what the gateway cannot work without is refused (cXML 400).

The tree is turned into plain dicts and validated by pydantic in one call per document: for a
1,000-line order that is several times faster than building each model on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree
from pydantic import ValidationError

from ._gc import paused_gc
from .errors import InvalidDocument, NotImplementedRequest
from .models import MessageDocument, RequestDocument, ResponseDocument, parse_datetime
from .parser import DEFAULT_LIMITS, ParseLimits, parse_xml

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

Element = etree._Element
Data = dict[str, Any]
Document = RequestDocument | MessageDocument | ResponseDocument


# --- small helpers --------------------------------------------------------------------------------


class _Children:
    """An element's children by tag, found in one pass (lxml's ``find`` is several times slower)."""

    __slots__ = ("_index", "element")

    def __init__(self, element: Element) -> None:
        self.element = element
        index: dict[Any, list[Element]] = {}
        for child in element:
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
    return ((element.text or "") + "".join([child.tail or "" for child in element])).strip()


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


def read_money(element: Element) -> Data:
    """``element`` is a ``Money`` or an element holding one (``Total``, ``UnitPrice``, ``Charge``...)."""
    if element.tag == "Money":
        money: Element | None = element
    elif len(element) and element[0].tag == "Money":  # where the DTD puts it: first
        money = element[0]
    else:
        money = next(element.iterchildren("Money"), None)
    if money is None:
        raise InvalidDocument(f"{element.tag} has no Money")
    alternate = money.get("alternateAmount")
    return {
        "amount": (money.text or "").strip(),
        "currency": _attribute(money, "currency").upper(),
        "alternate_amount": alternate,
        "alternate_currency": money.get("alternateCurrency"),
    }


def read_description(element: Element | None) -> Data:
    if element is None:
        return {"text": ""}
    if len(element):
        short = next(element.iterchildren("ShortName"), None)
        text = _own_text(element)
    else:
        short = None
        text = (element.text or "").strip()
    return {
        "text": text,
        "lang": (element.get(XML_LANG) or "").strip() or "en",
        "short_name": _text(short) if short is not None else None,
    }


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


def read_header(header: Element | None) -> Data | None:
    if header is None:
        return None
    parts = _Children(header)

    def credentials(tag: str) -> list[Data]:
        part = parts.first(tag)
        return [] if part is None else [read_credential(c) for c in part.iterchildren("Credential")]

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


# The line readers below run once per order or cart line: they find their children in one pass,
# dispatching on the tag (the first occurrence wins, as with ``_Children.first``), instead of
# building a ``_Children`` index per element. Same results, far fewer Python calls per line.


def read_item_id(element: Element) -> Data:
    part_id: Element | None = None
    auxiliary_id: Element | None = None
    for child in element:
        tag = child.tag
        if tag == "SupplierPartID":
            if part_id is None:
                part_id = child
        elif tag == "SupplierPartAuxiliaryID" and auxiliary_id is None:
            auxiliary_id = child
    return {
        "supplier_part_id": _text(part_id) if part_id is not None else "",
        "supplier_part_auxiliary_id": _text(auxiliary_id) if auxiliary_id is not None else None,
    }


def _classification(element: Element) -> Data:
    return {"domain": (element.get("domain") or "").strip(), "value": _text(element)}


def read_item_detail(element: Element) -> Data:
    unit_price = unit_of_measure = part_id = manufacturer = url = lead_time = None
    descriptions: list[Element] = []
    classifications: list[Element] = []
    extrinsics: list[Element] = []
    for child in element:
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
    return {
        "unit_price": read_money(unit_price),
        "descriptions": [read_description(d) for d in descriptions],
        "unit_of_measure": _text(unit_of_measure) if unit_of_measure is not None else "",
        "classifications": [_classification(c) for c in classifications],
        "manufacturer_part_id": _text(part_id) if part_id is not None else None,
        "manufacturer_name": _text(manufacturer) if manufacturer is not None else None,
        "url": _text(url) if url is not None else None,
        "lead_time": (_text(lead_time) or None) if lead_time is not None else None,
        "extrinsics": _extrinsics(extrinsics),
    }


def _segment(segment: Element) -> Data | None:
    if segment.tag == "Segment":
        return {
            "id": (segment.get("id") or "").strip(),
            "type": segment.get("type") or "",
            "description": segment.get("description") or "",
        }
    if segment.tag == "AccountingSegment":
        named = _Children(segment)
        return {
            "id": (segment.get("id") or "").strip(),
            "type": named.text("Name") or "",
            "description": named.text("Description") or "",
        }
    return None


def read_distribution(element: Element) -> Data:
    accounting: Element | None = None
    charge: Element | None = None
    for child in element:
        tag = child.tag
        if tag == "Accounting":
            if accounting is None:
                accounting = child
        elif tag == "Charge" and charge is None:
            charge = child
    if accounting is None:
        raise InvalidDocument(f"{element.tag} has no Accounting")
    segments = [segment for segment in map(_segment, accounting) if segment is not None]
    if not segments:
        raise InvalidDocument("Accounting has no Segment or AccountingSegment")
    if charge is None:
        raise InvalidDocument(f"{element.tag} has no Charge")
    return {
        "accounting": {"name": accounting.get("name") or "", "segments": segments},
        "charge": read_money(charge),
    }


class _Line:
    """The children of an ``ItemOut`` or ``ItemIn``, found in one pass."""

    __slots__ = ("comments", "contacts", "distributions", "item_detail", "item_id", "ship_to", "shipping", "tax")

    def __init__(self, element: Element) -> None:
        item_id = item_detail = ship_to = shipping = tax = comments = None
        distributions: list[Element] = []
        contacts: list[Element] = []
        for child in element:
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
        self.item_id: Element = item_id
        self.item_detail: Element | None = item_detail
        self.ship_to: Element | None = ship_to
        self.shipping: Element | None = shipping
        self.tax: Element | None = tax
        self.comments: Element | None = comments
        self.distributions = distributions
        self.contacts = contacts


def read_item_out(element: Element, *, quantity_required: bool) -> Data:
    quantity = element.get("quantity")
    if quantity is None and quantity_required:
        raise InvalidDocument("ItemOut has no quantity attribute")
    line = _Line(element)
    return {
        "quantity": quantity,
        "line_number": element.get("lineNumber") or None,
        "requested_delivery_date": _timestamp(element.get("requestedDeliveryDate")),
        "item_id": read_item_id(line.item_id),
        "item_detail": read_item_detail(line.item_detail) if line.item_detail is not None else None,
        "ship_to": read_ship_to(line.ship_to),
        "shipping": read_shipping(line.shipping),
        "tax": read_tax(line.tax),
        "distributions": [read_distribution(d) for d in line.distributions],
        "contacts": [read_contact(c) for c in line.contacts],
        "comments": read_comments(line.comments) if line.comments is not None else None,
    }


def read_item_in(element: Element) -> Data:
    line = _Line(element)
    if line.item_detail is None:
        raise InvalidDocument(f"{element.tag} has no ItemDetail")
    return {
        "quantity": element.get("quantity"),
        "line_number": element.get("lineNumber") or None,
        "item_id": read_item_id(line.item_id),
        "item_detail": read_item_detail(line.item_detail),
        "ship_to": read_ship_to(line.ship_to),
        "shipping": read_shipping(line.shipping),
        "tax": read_tax(line.tax),
    }


def _url(element: Element | None) -> str | None:
    if element is None:
        return None
    return _Children(element).text("URL") or None


# --- payloads -------------------------------------------------------------------------------------


def read_punchout_setup_request(element: Element) -> Data:
    parts = _Children(element)
    operation = (element.get("operation") or "").strip()
    if operation not in ("create", "edit", "inspect", "source"):
        raise InvalidDocument(f"PunchOutSetupRequest has an unknown operation {operation[:20]!r}")
    cookie = parts.first("BuyerCookie")
    selected = parts.first("SelectedItem")
    return {
        "kind": "PunchOutSetupRequest",
        "operation": operation,
        # Opaque and echoed byte for byte in the cart: never stripped.
        "buyer_cookie": (cookie.text or "") if cookie is not None else "",
        "extrinsics": read_extrinsics(parts),
        "browser_form_post": _url(parts.first("BrowserFormPost")),
        "contacts": [read_contact(c) for c in parts.all("Contact")],
        "supplier_setup_url": _url(parts.first("SupplierSetup")),
        "ship_to": read_ship_to(parts.first("ShipTo")),
        "selected_item": read_item_id(_Children(selected).required("ItemID")) if selected is not None else None,
        "items": [read_item_out(i, quantity_required=False) for i in parts.all("ItemOut")],
    }


def read_order_request(element: Element) -> Data:
    parts = _Children(element)
    header = parts.required("OrderRequestHeader")
    head = _Children(header)
    order_type = (header.get("type") or "new").strip()
    if order_type not in ("new", "update", "delete"):
        raise InvalidDocument(f"OrderRequestHeader has an unknown type {order_type[:20]!r}")
    items = [read_item_out(i, quantity_required=True) for i in parts.all("ItemOut")]
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
    header = parts.required("PunchOutOrderMessageHeader")
    head = _Children(header)
    allowed = (header.get("operationAllowed") or "").strip()
    quote_status = (header.get("quoteStatus") or "").strip()
    cookie = parts.first("BuyerCookie")
    supplier_order = head.first("SupplierOrderInfo")
    return {
        "kind": "PunchOutOrderMessage",
        "buyer_cookie": (cookie.text or "") if cookie is not None else None,
        "header": {
            "operation_allowed": allowed if allowed in ("create", "edit", "inspect") else None,
            "quote_status": quote_status if quote_status in ("pending", "final") else None,
            "total": read_money(head.required("Total")),
            "ship_to": read_ship_to(head.first("ShipTo")),
            "shipping": read_shipping(head.first("Shipping")),
            "tax": read_tax(head.first("Tax")),
            "supplier_order_id": supplier_order.get("orderID") if supplier_order is not None else None,
        },
        "items": [read_item_in(i) for i in parts.all("ItemIn")],
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


def _deployment_mode(element: Element) -> str:
    mode = (element.get("deploymentMode") or "production").strip().lower()
    if mode not in ("production", "test"):
        raise InvalidDocument(f"Unknown deploymentMode {mode[:20]!r}")
    return mode


def _read(cxml: Element) -> tuple[type[Document], Data]:
    if cxml.tag != "cXML":
        raise InvalidDocument(f"The root element is {str(cxml.tag)[:40]}, not cXML")
    parts = _Children(cxml)
    envelope = {
        "payload_id": (cxml.get("payloadID") or "").strip(),
        "timestamp": _timestamp(cxml.get("timestamp") or ""),
        "version": cxml.get("version"),
        "lang": cxml.get(XML_LANG),
    }
    request = parts.first("Request")
    if request is not None:
        payload = _payload(request)
        read = _REQUESTS.get(str(payload.tag))
        if read is None:
            raise NotImplementedRequest(f"{str(payload.tag)[:60]} is not supported")
        return RequestDocument, {
            "envelope": envelope,
            "header": read_header(parts.first("Header")),
            "deployment_mode": _deployment_mode(request),
            "request": read(payload),
        }
    message = parts.first("Message")
    if message is not None:
        payload = _payload(message)
        if payload.tag != "PunchOutOrderMessage":
            raise NotImplementedRequest(f"{str(payload.tag)[:60]} is not supported")
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


def read_tree(cxml: Element) -> Document:
    """The model of a parsed document; refuses what is not a usable cXML document (400/450)."""
    with paused_gc():
        model, data = _read(cxml)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise InvalidDocument(_describe(error)) from None


def read_document(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Document:
    """Parse untrusted bytes (hardened) and read them into a model."""
    return read_tree(parse_xml(data, limits))
