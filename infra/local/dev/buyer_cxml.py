"""The buyer simulator's cXML: the documents a procurement system sends, and the checks on what comes back.

Built with the gateway's own writer and read with its hardened reader, as a buyer's cXML library would
be; nothing here talks HTTP or keeps state (`infra.local.dev.buyer` does).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from lxml import etree

from punchout.cxml import CXMLError, new_envelope, parse_xml, read_tree
from punchout.cxml import render as render_cxml
from punchout.cxml.models import (
    Address,
    BillTo,
    Contact,
    Credential,
    DeploymentMode,
    DocumentReference,
    Extrinsic,
    Header,
    ItemID,
    ItemIn,
    ItemOut,
    Money,
    OrderRequest,
    OrderRequestHeader,
    OrderType,
    PostalAddress,
    PunchOutSetupRequest,
    RequestDocument,
    ResponseDocument,
    ShipTo,
    Timestamp,
)

CXML_CONTENT_TYPE: Final = "text/xml; charset=UTF-8"
USER_AGENT: Final = "PunchOut buyer simulator (local stack)"
PAYLOAD_HOST: Final = "buyer-simulator.local"
# Who the simulated buyer addresses: the supplier, as the buyer's system knows it.
SUPPLIER: Final = Credential(domain="NetworkID", identity="AN-DEMO-SUPPLIER")
CXML_VERSIONS: Final = ("1.2.014", "1.2.036", "1.2.063", "1.2.069")
CART_FIELDS: Final = {"cxml-urlencoded": "urlencoded", "cxml-base64": "base64"}
SHARED_SECRET = re.compile(r"(<SharedSecret\b[^>]*>)(.*?)(</SharedSecret>)", re.DOTALL | re.IGNORECASE)
MASK: Final = "••••••••"

SetupOperation = Literal["create", "edit", "inspect"]
Expectation = Literal["any", "cxml-urlencoded", "cxml-base64"]


@dataclass(frozen=True)
class BuyerSettings:
    gateway_url: str
    partner_id: str
    domain: str
    identity: str
    secret: str
    mode: DeploymentMode = "production"
    cxml_version: str = "1.2.014"
    user_email: str = "jane.buyer@demo-buyer.example"
    user_name: str = "Jane Buyer"
    expect: Expectation = "any"
    operation: SetupOperation = "create"
    in_iframe: bool = False


@dataclass(frozen=True)
class DtdCheck:
    state: Literal["valid", "invalid", "unavailable"]
    message: str
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SentOrder:
    order_id: str
    type: OrderType
    version: int
    payload_id: str
    items: tuple[ItemOut, ...]
    currency: str
    status: str
    accepted: bool


def mask_secrets(text: str, known: list[str]) -> str:
    """Hide SharedSecret contents, and any known secret wherever it appears, before display."""
    text = SHARED_SECRET.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    for secret in known:
        if len(secret) >= 4:
            for form in {secret, etree_escape(secret)}:
                text = text.replace(form, MASK)
    return text


def etree_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pretty(data: bytes) -> str:
    """The document indented for reading; as it came when it is not well-formed XML."""
    try:
        root = parse_xml(data)
    except CXMLError:
        return data.decode("utf-8", "replace")
    return etree.tostring(root.getroottree(), pretty_print=True, encoding="unicode")


_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def text_to_bytes(text: str) -> bytes:
    """A document that arrived as text (a form field) as bytes in the encoding it declares."""
    declared = _DECLARED_ENCODING.match(text)
    codec = "utf-8"
    if declared:
        try:
            codec = codecs.lookup(declared.group(1)).name
        except LookupError:
            codec = "utf-8"
    try:
        return text.encode(codec, errors="xmlcharrefreplace")
    except (LookupError, UnicodeError):
        return text.encode("utf-8")


@lru_cache(maxsize=8)
def _load_dtd(path: Path) -> etree.DTD:
    return etree.DTD(str(path))


_DTD_VERSION = re.compile(r"/cXML/(\d+\.\d+\.\d+)/cXML\.dtd$")


def check_dtd(root: etree._Element) -> DtdCheck:
    """Validity against the official DTD the document names, read from CXML_SHARED_DIR (never fetched)."""
    shared = os.environ.get("CXML_SHARED_DIR", "").strip()
    if not shared:
        return DtdCheck("unavailable", "DTD validation is unavailable: CXML_SHARED_DIR is not set")
    system_url = root.getroottree().docinfo.system_url or ""  # type: ignore[attr-defined]
    found = _DTD_VERSION.search(str(system_url))
    if found is None:
        return DtdCheck("invalid", "The document names no cXML DTD in its DOCTYPE")
    version = found.group(1)
    path = Path(shared) / "dtd" / version / "cXML.dtd"
    if not path.is_file():
        return DtdCheck("unavailable", f"DTD validation is unavailable: no DTD for cXML {version} in {shared}/dtd")
    dtd = _load_dtd(path)
    if dtd.validate(root):
        return DtdCheck("valid", f"DTD-valid (cXML {version})")
    errors = tuple(str(dtd.error_log).splitlines())[:20]
    return DtdCheck("invalid", f"Not valid for the cXML {version} DTD", errors)


def status_of(data: bytes) -> tuple[str, ResponseDocument | None]:
    """`"<code> <text>: message"` of a cXML answer, and the document when it is one."""
    try:
        document = read_tree(parse_xml(data))
    except CXMLError as error:
        return f"not a cXML answer ({error})", None
    if not isinstance(document, ResponseDocument):
        return f"not a cXML Response but a {document.kind}", None
    status = document.status
    return f"{status.code} {status.text}" + (f": {status.message}" if status.message else ""), document


def buyer_header(settings: BuyerSettings) -> Header:
    return Header(
        from_credentials=[Credential(domain=settings.domain, identity=settings.identity)],
        to_credentials=[SUPPLIER],
        sender_credentials=[
            Credential(domain=settings.domain, identity=settings.identity, shared_secret=settings.secret)  # type: ignore[arg-type]
        ],
        user_agent=USER_AGENT,
    )


def demo_address(settings: BuyerSettings) -> Address:
    return Address(
        name="Demo Buyer Inc. — Receiving",
        address_id="DEMO-HQ",
        postal_address=PostalAddress(
            deliver_to=[settings.user_name or "Receiving"],
            street=["1 Procurement Way"],
            city="Springfield",
            state="IL",
            postal_code="62701",
            country="United States",
            iso_country_code="US",
        ),
        email=settings.user_email or None,
    )


def item_out(item: ItemIn, *, line_number: int, quantity: Decimal, unit_price: Decimal | None = None) -> ItemOut:
    """A cart line as the buyer sends it back (edit/inspect, or an order line), with our IDs unchanged."""
    detail = item.item_detail
    if unit_price is not None:
        detail = detail.model_copy(update={"unit_price": detail.unit_price.model_copy(update={"amount": unit_price})})
    return ItemOut(
        quantity=quantity,
        line_number=line_number,
        item_id=ItemID(
            supplier_part_id=item.item_id.supplier_part_id,
            supplier_part_auxiliary_id=item.item_id.supplier_part_auxiliary_id,
        ),
        item_detail=detail,
    )


def setup_document(
    settings: BuyerSettings, operation: SetupOperation, buyer_cookie: str, return_url: str, items: list[ItemOut]
) -> bytes:
    document = RequestDocument(
        envelope=new_envelope(PAYLOAD_HOST),
        header=buyer_header(settings),
        deployment_mode=settings.mode,
        request=PunchOutSetupRequest(
            operation=operation,
            buyer_cookie=buyer_cookie,
            extrinsics=[
                Extrinsic(name="UserEmail", value=settings.user_email),
                Extrinsic(name="UniqueName", value=settings.user_email or "jbuyer"),
                Extrinsic(name="UserFullName", value=settings.user_name),
                Extrinsic(name="CostCenter", value="CC-4711"),
            ],
            browser_form_post=return_url,
            contacts=[Contact(role="endUser", name=settings.user_name or "Buyer", emails=[settings.user_email])]
            if settings.user_email
            else [],
            ship_to=ShipTo(address=demo_address(settings)),
            items=items,
        ),
    )
    return render_cxml(document, settings.cxml_version)


def order_document(settings: BuyerSettings, order: SentOrder, reference: str | None) -> tuple[bytes, str]:
    envelope = new_envelope(PAYLOAD_HOST)
    total = sum(((item.quantity or Decimal(0)) * _price(item) for item in order.items), Decimal(0))
    document = RequestDocument(
        envelope=envelope,
        header=buyer_header(settings),
        deployment_mode=settings.mode,
        request=OrderRequest(
            header=OrderRequestHeader(
                order_id=order.order_id,
                order_date=Timestamp.of(datetime.now(UTC).replace(microsecond=0)),
                type=order.type,
                order_version=order.version,
                total=Money(amount=total, currency=order.currency),
                ship_to=ShipTo(address=demo_address(settings)),
                bill_to=BillTo(address=demo_address(settings)),
                document_reference=DocumentReference(payload_id=reference) if reference else None,
            ),
            items=list(order.items),
        ),
    )
    return render_cxml(document, settings.cxml_version), envelope.payload_id


def _price(item: ItemOut) -> Decimal:
    return item.item_detail.unit_price.amount if item.item_detail else Decimal(0)


def decode_cart(pairs: list[tuple[str, str]]) -> tuple[str, str, bytes] | str:
    """(field name, encoding, document bytes) from the posted form, or what is wrong with it."""
    for name, value in pairs:
        encoding = CART_FIELDS.get(name.strip().lower())
        if encoding is None:
            continue
        if encoding == "urlencoded":
            return name, encoding, text_to_bytes(value)
        try:
            return name, encoding, base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            return f"The {name} field is not valid base64"
    names = ", ".join(sorted({name for name, _ in pairs})) or "none"
    return f"No cxml-urlencoded or cxml-base64 field in the form (fields: {names})"
