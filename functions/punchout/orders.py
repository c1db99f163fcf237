"""Purchase orders for the shop: the ``punchout.order.v1`` message and the reconciliation with the cart.

The message is what the shop consumes from the FIFO queue; its JSON Schema is generated from these
models (``schemas/punchout.order.v1.json``). Reconciliation matches order lines to the transferred
cart by ``SupplierPartID`` + ``SupplierPartAuxiliaryID`` (ours: ``<cart ref>-<line>``) and reports
what approval changed (PROTOCOL.md section 5): approvers change quantities and prices, remove lines
and add others. Orders that did not come from a PunchOut cart are legal: their lines are unmatched.
"""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import ConfigDict, Field

from .cxml.errors import InvalidDocument
from .cxml.models import (
    Address,
    Comments,
    Contact,
    DeploymentMode,
    Description,
    Distribution,
    Extrinsic,
    ItemOut,
    Money,
    OrderRequest,
    OrderType,
    PlainDecimal,
    SafeInt,
    Shipping,
    Tax,
    empty_list,
)
from .http import MAX_RESPONSE_BYTES, carried_size
from .mime import MimePart
from .model import GatewayModel
from .sessions import BuyerUser, Cart, CartLine, line_reference, parse_line_reference, same_part

SCHEMA_ID: Literal["punchout.order.v1"] = "punchout.order.v1"

LineStatus = Literal[
    "unchanged", "quantity_changed", "price_changed", "quantity_and_price_changed", "added", "removed", "unmatched"
]


class Model(GatewayModel):
    model_config = ConfigDict(extra="forbid")


class PartnerRef(Model):
    id: str
    name: str


class LineValues(Model):
    """One side of a reconciled line (the cart's or the order's)."""

    quantity: PlainDecimal
    unit_price: PlainDecimal | None  # None: the order line carried no ItemDetail
    currency: str | None
    description: str | None = None
    unit_of_measure: str | None = None


def _false(value: bool) -> bool:
    return not value


class ReconciledLine(Model):
    status: LineStatus
    supplier_part_id: str
    supplier_part_auxiliary_id: str | None = Field(
        description="As the order carries it: the gateway's line reference for lines of its carts"
    )
    order_line_number: SafeInt | None = None  # ItemOut@lineNumber, or the position in the order
    cart_line_number: int | None = None
    shop_auxiliary_id: str | None = Field(
        default=None, description="The shop's own `supplier_part_auxiliary_id` of the matched cart line"
    )
    cart: LineValues | None = None
    order: LineValues | None = None
    unit_of_measure_changed: bool = Field(
        default=False,
        exclude_if=_false,  # left out when false: as before the field
        description="Present (true) only when the order line's unit of measure is not the one the buyer was sent "
        "for the cart line (the cart's unit through the partner's unit-of-measure mapping), compared as cXML codes "
        "are read (trimmed, in any case); whatever the `status`, which compares quantities and prices only. An "
        "order line without a unit changes none",
    )


def _empty(value: list[str]) -> bool:
    return not value


class Reconciliation(Model):
    """The order compared with the carts its lines came from. ``cart_refs``: the carts compared;
    ``unread_cart_refs``: carts the lines name that were not (a damaged cart, or past the carts or cart
    lines one order is compared with), whose lines are ``unmatched`` and whose lines left out are not
    ``removed``."""

    from_punchout: bool  # at least one line came from one of our carts
    cart_refs: list[str]
    unread_cart_refs: list[str] = empty_list(exclude_if=_empty)  # left out when empty: as before the field
    lines: list[ReconciledLine]


class SessionRef(Model):
    id: str
    cart_ref: str
    user: BuyerUser | None = None


class OrderLine(Model):
    line_number: SafeInt | None
    quantity: PlainDecimal
    supplier_part_id: str
    supplier_part_auxiliary_id: str | None = Field(
        description="As the buyer sent it: for a line of the gateway's cart, the gateway's line reference "
        "(the shop's own reference is the reconciliation line's `shop_auxiliary_id`)"
    )
    description: str | None = None  # the first description's text
    descriptions: list[Description] = empty_list()  # every language, with ShortName
    unit_price: Money | None = None
    unit_of_measure: str | None = None
    classifications: list[dict[str, str]] = empty_list()
    manufacturer_part_id: str | None = None
    manufacturer_name: str | None = None
    url: str | None = None
    lead_time: SafeInt | None = None  # days
    extrinsics: list[Extrinsic] = empty_list()  # ItemDetail's: buyer part numbers, requester...
    requested_delivery_date: str | None = None
    ship_to: Address | None = None
    shipping: Shipping | None = None
    tax: Tax | None = None
    accounting: list[Distribution] = empty_list()
    contacts: list[Contact] = empty_list()
    comments: Comments | None = None


class Attachment(Model):
    content_id: str
    content_type: str
    filename: str | None = None
    size: int

    @classmethod
    def of(cls, part: MimePart) -> Self:
        return cls(
            content_id=part.content_id, content_type=part.content_type, filename=part.filename, size=len(part.data)
        )


class AttachmentContent(Attachment):
    """``GET /shop/orders/{id}/attachments/{index}``: an order's attachment with its bytes.

    Base64 inside JSON, so that the shop API needs no binary media types and every answer, errors
    included, stays JSON.
    """

    content_base64: str = Field(
        description="The attachment's bytes in base64: RFC 4648's standard alphabet (`+`, `/`), padded with `=`, "
        "on one line (Go's []byte, Python's base64.b64decode, PHP's base64_decode read it as is)",
        json_schema_extra={"contentEncoding": "base64"},
    )


class OrderPage(Model):
    """``GET /shop/orders/{id}/pages/{page}``: a slice of an order's lines and reconciliation lines.

    Lambda answers at most 6 MB, less than a large order's message: the shop reads its lines page by
    page. The pages' ``lines``, and their ``reconciliation.lines``, concatenated in page order are the
    message's."""

    message_id: str
    page: int  # from 1
    pages: int
    lines: list[OrderLine]
    reconciliation: Reconciliation


class OrderMessage(Model):
    """The message the shop receives for every accepted ``OrderRequest`` (new, update or delete)."""

    schema_: Literal["punchout.order.v1"] = Field(default=SCHEMA_ID, alias="schema")
    message_id: str  # stable per partner + order + type + version: the shop can deduplicate on it
    # False: lines and reconciliation left out to fit the queue (GET /shop/orders/{message_id} has them)
    # or one answer (GET /shop/orders/{message_id}/pages/{page} has them)
    complete: bool
    partner: PartnerRef
    deployment_mode: DeploymentMode
    payload_id: str
    order_id: str
    order_version: SafeInt | None
    type: OrderType
    order_date: str
    order_date_parsed: datetime | None
    requisition_id: str | None
    ship_complete: bool
    requested_delivery_date: str | None
    received_at: datetime
    document_reference: str | None  # payloadID of the version this one updates or deletes
    # message_id of the message that version made, resolved through the buyer's resends (the reference
    # may name a resend, which made no message); None for a new order, or without a reference
    follows_message_id: str | None
    currency: str
    total: Money
    shipping: Shipping | None
    tax: Tax | None
    ship_to: Address | None
    bill_to: Address | None
    contacts: list[Contact]
    comments: list[Comments]
    extrinsics: list[Extrinsic]
    payment_card: str | None  # masked: last four digits only
    attachments: list[Attachment]
    sessions: list[SessionRef]
    line_count: int
    lines: list[OrderLine] | None
    reconciliation: Reconciliation | None

    # The published schema marks every field required: the shop always receives all of them.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True)


def compact_json(value: object) -> str:
    """The JSON the models give: compact, UTF-8, the fields in the same order."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# The fields the published message has required since its first release, each with the value that means
# what a message without it meant: a message stored before (orders are kept forever) is given them when it
# is read again, so that the shop reads and receives every message as the schema describes it now. The
# last one added (2026-11-27, after the three others) is in every message stored since.
_ADDED_FIELDS: dict[str, object] = {
    "requisition_id": None,
    "ship_complete": False,
    "requested_delivery_date": None,
    "follows_message_id": None,
}
_LAST_ADDED = b'"follows_message_id":'  # a key: within a JSON string its quotes would be escaped


def as_published(stored: bytes) -> bytes:
    """The stored message as the published schema describes it: as stored, or with the fields added since
    it was stored at their ``_ADDED_FIELDS`` value, each in its place (before the next field it precedes)."""
    if _LAST_ADDED in stored:
        return stored
    message = json.loads(stored)
    order = [field.alias or name for name, field in OrderMessage.model_fields.items()]
    known = [name for name in order if name in message or name in _ADDED_FIELDS]
    upgraded = {name: message[name] if name in message else _ADDED_FIELDS[name] for name in known}
    upgraded.update((name, value) for name, value in message.items() if name not in upgraded)
    return compact_json(upgraded).encode("utf-8")


# --- identity -------------------------------------------------------------------------------------


# DynamoDB keys hold at most 2,048 (partition) and 1,024 (sort) bytes; real ids are far shorter.
MAX_ID_BYTES = 512


@dataclass(frozen=True)
class OrderKey:
    """partner + mode + orderID + type + version: one delivery to the shop per key (idempotency).

    The deploymentMode is part of it: a buyer's test system is often a copy of production and sends
    the same order numbers, which must not be taken for (or block) the production orders.
    """

    partner_id: str
    order_id: str
    type: str
    version: str  # orderVersion, or what stands for it when the buyer sends none (``_implied_version``)
    deployment_mode: DeploymentMode = "production"

    @classmethod
    def of(cls, partner_id: str, order: OrderRequest, payload_id: str, deployment_mode: DeploymentMode) -> Self:
        header = order.header
        version = str(header.order_version) if header.order_version is not None else _implied_version(order, payload_id)
        implied = "DocumentReference payloadID" if version.startswith("after:") else "payloadID"
        # The payloadID is stored with the record (and its resends' beside it): bounded like the keys.
        for name, value in (("orderID", header.order_id), (implied, version), ("payloadID", payload_id)):
            if len(value.encode("utf-8")) > MAX_ID_BYTES:
                raise InvalidDocument(f"The {name} is longer than {MAX_ID_BYTES} bytes")
        return cls(
            partner_id=partner_id,
            order_id=header.order_id,
            type=header.type,
            version=version,
            deployment_mode=deployment_mode,
        )

    @property
    def owner(self) -> str:
        """Whose order numbers these are: the partner's production or its test system (``:`` is
        never in a partner id)."""
        return order_owner(self.partner_id, self.deployment_mode)

    @property
    def message_id(self) -> str:
        text = "\x1f".join((self.owner, self.order_id, self.type, self.version))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def order_owner(partner_id: str, deployment_mode: DeploymentMode) -> str:
    """``OrderKey.owner`` of a partner's orders in one mode."""
    return partner_id if deployment_mode == "production" else f"{partner_id}:test"


_MESSAGE_ID = re.compile(r"[0-9a-f]{64}")  # OrderKey.message_id: a SHA-256 in hex


def could_be_message_id(value: str) -> bool:
    """Whether ``value`` has the form of our message ids: anything else is unknown without a lookup."""
    return _MESSAGE_ID.fullmatch(value) is not None


def content_hash(order: OrderRequest) -> str:
    """What makes two deliveries "the same order": the order itself, not the envelope around it.

    Fields at their default are left out, so that a field a later release adds changes no earlier
    order's hash: a buyer's retry that spans a deploy is still the same order, not a 409."""
    return hashlib.sha256(order.model_dump_json(exclude_defaults=True).encode("utf-8")).hexdigest()


def _implied_version(order: OrderRequest, payload_id: str) -> str:
    """The version of an order sent without ``orderVersion``, stable across the buyer's resends.

    A new order is version 1 (cXML: versions start at 1). An update or delete follows the document
    its DocumentReference names; without one, only its own payloadID tells it apart."""
    if order.header.type == "new":
        return "1"
    reference = order.header.document_reference
    return f"after:{reference.payload_id}" if reference is not None else f"payload:{payload_id}"


# --- attachments ----------------------------------------------------------------------------------

# What an order keeps of an attachment's MIME headers, far above what senders write: a Content-ID is a
# generated msg-id of a few dozen characters, which RFC 5322 cannot fold across the 998 characters of a
# header line; file systems cap a file name at 255 bytes; RFC 6838 a media type at 127 + 1 + 127.
MAX_CONTENT_ID_CHARS = 1_000
MAX_FILENAME_CHARS = 1_000
MAX_MEDIA_TYPE_CHARS = 255
# All attachments' metadata as the order record stores it (JSON), within its 400 KB item: 99 at the
# limits take ~230 KB; only names of control characters (6 bytes each) or emoji (4) reach this.
MAX_ATTACHMENTS_BYTES = 300_000


def download_size(part: MimePart) -> int:
    """The bytes ``GET /shop/orders/{id}/attachments/{index}`` takes in Lambda's answer for ``part``: its metadata
    and its bytes in base64 (4 characters for every 3 bytes, none of them escaped). Only a compressed body can
    carry a file too large for it: a 10 KB gzip body unpacks to a 9 MB file, which no answer could hold."""
    empty = AttachmentContent(**Attachment.of(part).model_dump(), content_base64="").model_dump_json()
    return carried_size(empty) + 4 * -(-len(part.data) // 3)


def kept_attachments(parts: list[MimePart]) -> list[MimePart]:
    """The attachments as the order keeps them: file names cut to their first ``MAX_FILENAME_CHARS``
    (shown to people, referenced by nothing); a longer Content-ID or media type refuses the order (400).

    The document's ``cid:`` URLs must match the Content-ID: a cut one would match none."""
    kept: list[MimePart] = []
    for number, part in enumerate(parts, 1):
        name = f" ({part.filename[:100]!r})" if part.filename else ""  # quoted: it may hold control characters
        for field, value, limit in (
            ("Content-ID", part.content_id, MAX_CONTENT_ID_CHARS),
            ("media type", part.content_type, MAX_MEDIA_TYPE_CHARS),
        ):
            if len(value) > limit:
                raise InvalidDocument(
                    f"Attachment {number} of {len(parts)}{name} has a {field} of {len(value):,} characters"
                    f" (it begins {value[:40]!r}); at most {limit:,} are accepted"
                )
        if part.filename is not None and len(part.filename) > MAX_FILENAME_CHARS:
            part = replace(part, filename=part.filename[:MAX_FILENAME_CHARS])
        answer = download_size(part)
        if answer > MAX_RESPONSE_BYTES:
            raise InvalidDocument(
                f"Attachment {number} of {len(parts)}{name} has {len(part.data):,} bytes, which the supplier's shop"
                f" could not download ({answer:,} bytes as base64 in its answer; at most {MAX_RESPONSE_BYTES:,}):"
                " send smaller files"
            )
        kept.append(part)
    stored = sum(len(Attachment.of(part).model_dump_json().encode("utf-8")) for part in kept)
    if stored > MAX_ATTACHMENTS_BYTES:
        raise InvalidDocument(
            f"The attachments' Content-IDs, media types and file names are too long together ({stored:,} bytes;"
            f" at most {MAX_ATTACHMENTS_BYTES:,}): send fewer attachments or shorter names"
        )
    return kept


# --- lines and reconciliation ---------------------------------------------------------------------


def order_line(position: int, item: ItemOut) -> OrderLine:
    detail = item.item_detail
    return OrderLine(
        line_number=item.line_number if item.line_number is not None else position,
        quantity=item.quantity or Decimal(0),
        supplier_part_id=item.item_id.supplier_part_id,
        supplier_part_auxiliary_id=item.item_id.supplier_part_auxiliary_id,
        description=detail.description if detail else None,
        descriptions=detail.descriptions if detail else [],
        unit_price=detail.unit_price if detail else None,
        unit_of_measure=detail.unit_of_measure if detail else None,
        classifications=[{"domain": c.domain, "value": c.value} for c in detail.classifications] if detail else [],
        manufacturer_part_id=detail.manufacturer_part_id if detail else None,
        manufacturer_name=detail.manufacturer_name if detail else None,
        url=detail.url if detail else None,
        lead_time=detail.lead_time if detail else None,
        extrinsics=detail.extrinsics if detail else [],
        requested_delivery_date=item.requested_delivery_date.text if item.requested_delivery_date else None,
        ship_to=item.ship_to.address if item.ship_to else None,
        shipping=item.shipping,
        tax=item.tax,
        accounting=item.distributions,
        contacts=item.contacts,
        comments=item.comments,
    )


def _cart_values(line: CartLine, currency: str | None) -> LineValues:
    return LineValues(
        quantity=line.quantity,
        unit_price=line.unit_price,
        currency=currency,
        description=line.description,
        unit_of_measure=line.unit_of_measure,
    )


def _order_values(line: OrderLine) -> LineValues:
    return LineValues(
        quantity=line.quantity,
        unit_price=line.unit_price.amount if line.unit_price else None,
        currency=line.unit_price.currency if line.unit_price else None,
        description=line.description,
        unit_of_measure=line.unit_of_measure,
    )


def _unit_code(unit: str) -> str:
    """A unit of measure as cXML codes are read: trimmed, in upper case."""
    return unit.strip().upper()


@dataclass(frozen=True)
class UnitsSent:
    """How a cart's units reached the buyer: through ``mapping`` (the shop's unit to the buyer's, entries that
    change one), as its transfer recorded it. A cart transferred before that was recorded (``recorded``
    false) is given the partner's mapping now, and its own unit is taken as sent too: the mapping then is
    not known, and a unit either could have been is no change."""

    mapping: Mapping[str, str]
    recorded: bool = True

    def changed(self, cart_unit: str, order_unit: str | None) -> bool:
        if order_unit is None or not order_unit.strip():  # none to compare (no ItemDetail, or no unit in it)
            return False
        sent = {self.mapping.get(cart_unit, cart_unit)} | (set() if self.recorded else {cart_unit})
        return _unit_code(order_unit) not in {_unit_code(unit) for unit in sent}


_AS_IS = UnitsSent({})


def _status(cart: LineValues, order: LineValues) -> LineStatus:
    quantity = cart.quantity != order.quantity
    price = order.unit_price is not None and (
        cart.unit_price != order.unit_price or (order.currency or cart.currency) != cart.currency
    )
    if quantity and price:
        return "quantity_and_price_changed"
    if quantity:
        return "quantity_changed"
    return "price_changed" if price else "unchanged"


def reconcile(
    lines: list[OrderLine],
    carts: dict[str, Cart],
    unread: frozenset[str] = frozenset(),
    units: Mapping[str, UnitsSent] | None = None,
) -> Reconciliation:
    """Compare the order with the carts its lines came from (``carts``: ref → transferred cart).

    ``unread``: carts the lines name that could not be compared; their lines are ``unmatched`` whatever
    the others are (``added`` would tell the shop that approval added them). ``units``: ref → how the
    cart's units were sent (a cart not in it: as the shop wrote them)."""
    matched: set[tuple[str, int]] = set()
    results: list[ReconciledLine] = []
    pending: list[tuple[OrderLine, bool]] = []  # lines matched to no cart line, and whether their cart was read
    for line in lines:
        reference = parse_line_reference(line.supplier_part_auxiliary_id)
        cart = carts.get(reference[0]) if reference else None
        if reference is None or cart is None or not 1 <= reference[1] <= len(cart.lines):
            pending.append((line, reference is None or reference[0] not in unread))
            continue
        cart_line = cart.lines[reference[1] - 1]
        if not same_part(cart_line.supplier_part_id, line.supplier_part_id) or reference in matched:
            pending.append((line, True))
            continue
        matched.add(reference)
        cart_values, order_values = _cart_values(cart_line, cart.currency), _order_values(line)
        results.append(
            ReconciledLine(
                status=_status(cart_values, order_values),
                supplier_part_id=line.supplier_part_id,
                supplier_part_auxiliary_id=line.supplier_part_auxiliary_id,
                order_line_number=line.line_number,
                cart_line_number=reference[1],
                shop_auxiliary_id=cart_line.supplier_part_auxiliary_id,
                cart=cart_values,
                order=order_values,
                unit_of_measure_changed=(units or {})
                .get(reference[0], _AS_IS)
                .changed(cart_line.unit_of_measure, line.unit_of_measure),
            )
        )
    from_punchout = bool(matched)
    for line, compared in pending:
        results.append(
            ReconciledLine(
                status="added" if from_punchout and compared else "unmatched",
                supplier_part_id=line.supplier_part_id,
                supplier_part_auxiliary_id=line.supplier_part_auxiliary_id,
                order_line_number=line.line_number,
                order=_order_values(line),
            )
        )
    for ref, cart in sorted(carts.items()):
        for number, cart_line in enumerate(cart.lines, 1):
            if (ref, number) not in matched:
                results.append(
                    ReconciledLine(
                        status="removed",
                        supplier_part_id=cart_line.supplier_part_id,
                        supplier_part_auxiliary_id=line_reference(ref, number),
                        cart_line_number=number,
                        shop_auxiliary_id=cart_line.supplier_part_auxiliary_id,
                        cart=_cart_values(cart_line, cart.currency),
                    )
                )
    return Reconciliation(
        from_punchout=from_punchout, cart_refs=sorted(carts), unread_cart_refs=sorted(unread), lines=results
    )


def referenced_carts(order: OrderRequest) -> list[str]:
    """The carts the order's lines name (our ``SupplierPartAuxiliaryID``s), in order of their refs."""
    refs = {parse_line_reference(item.item_id.supplier_part_auxiliary_id) for item in order.items}
    return sorted({ref[0] for ref in refs if ref is not None})


__all__ = ["SCHEMA_ID", "OrderKey", "OrderMessage", "Reconciliation", "UnitsSent", "content_hash", "reconcile"]
