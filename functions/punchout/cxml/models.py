"""Typed models of the cXML documents the gateway reads and writes.

Field names follow the protocol's element and attribute names (snake_case). The models are the
only thing the rest of the gateway sees: the reader fills them leniently from real-world documents,
the writer renders them strictly in DTD order.
"""

# No `from __future__ import annotations` in this module: pydantic would evaluate each field's
# annotation text again when it creates the class (~18 % of this module's import, at every cold start).
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SecretStr, WithJsonSchema, field_validator

DeploymentMode = Literal["production", "test"]
SetupOperation = Literal["create", "edit", "inspect", "source"]
OperationAllowed = Literal["create", "edit", "inspect"]
OrderType = Literal["new", "update", "delete"]


def empty_list(**constraints: Any) -> Any:
    """The default of a list field: a new empty list for each instance, published as ``[]``.

    Not ``Field(default=[])``: pydantic deep-copies such a default for each instance (~2 µs, a sixth
    of reading a 1,000-line order). Not ``default_factory=list``: pydantic inspects a factory's
    signature as it builds a validator, ~1 ms for a builtin at each cold start (~10 µs for ours)."""
    return Field(default_factory=_new_list, json_schema_extra={"default": []}, **constraints)


def empty_dict() -> Any:
    """The default of a dict field, as ``empty_list`` is of a list field."""
    return Field(default_factory=_new_dict, json_schema_extra={"default": {}})


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


# The numbers the reader takes: 1e999 or a 40-digit number is no buyer's order, and would reach shops that
# hold far less. Here, not in the reader, so that the cart API can hold its totals to them (a cart whose
# total the buyer's order could not carry back is refused) without loading the reader and lxml.
MAX_INTEGER_DIGITS = 24
MAX_FRACTION_DIGITS = 12


def plain_decimal(value: Decimal) -> str:
    """A decimal in plain notation, with the places it was written with ("12.50", "0.00000001", "1000").

    ``str`` gives the same text, three times faster, unless it uses an exponent ("1E-8", "1E+3"): cXML's
    number types have none, and many shops' decimal readers (PHP's bcmath, decimal columns) take none."""
    text = str(value)
    return format(value, "f") if "E" in text or "e" in text else text


# An integer a buyer writes (lineNumber, orderVersion, LeadTime) goes to the shop as a JSON number: held to
# what every JSON reader holds exactly (RFC 7493's I-JSON). PHP's json_decode reads 2**63 as a float, and
# JavaScript's JSON.parse 2**53 + 1 as 2**53, without a word; cXML's uint allows 20 digits, no buyer uses them.
MAX_SAFE_INTEGER = 2**53 - 1
SafeInt = Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]


# A decimal as the gateway writes it in JSON (order messages, the shop API): a string in plain notation.
PlainDecimal = Annotated[
    Decimal,
    PlainSerializer(plain_decimal, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "A decimal in plain notation"},
        mode="serialization",
    ),
]


class CXMLModel(BaseModel):
    # Empty list defaults are `empty_list()`: see there.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --- Timestamps -----------------------------------------------------------------------------------

# Read from the stripped text: the pattern's two "\s*" around an absent zone once took quadratic time
# on a run of spaces (20,000 took 3 s). The longest timestamp it reads has 38 characters. "UTC" is how
# Ruby's Time#to_s writes the zone of a UTC time (Time.now.utc, Rails' Time.current): "2026-11-28 07:30:37 UTC".
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_UTC_ZONES = ("Z", "UTC")
MAX_TIMESTAMP_CHARS = 64


class Timestamp(CXMLModel):
    """A cXML date or date-time: the original text, and its value when the text could be read.

    PROTOCOL.md: never reject a document for its date format alone, so an unreadable text is kept
    with ``value=None``. A value without a zone is taken as UTC.
    """

    text: str
    value: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(text=text, value=parse_datetime(text))

    @classmethod
    def of(cls, value: datetime) -> Self:
        """A timestamp for ``value`` as the writer renders it (numeric offset, seconds)."""
        text = format_datetime(value)
        return cls(text=text, value=parse_datetime(text))


def parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    match = _TIMESTAMP.fullmatch(text) if len(text) <= MAX_TIMESTAMP_CHARS else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = UTC
        if zone and zone not in _UTC_ZONES:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tz = timezone(sign * offset) if offset else UTC
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:  # e.g. month 13, or an offset of 24 hours or more
        return None


def format_datetime(value: datetime) -> str:
    """ISO 8601 with seconds and a numeric offset (``+00:00``, never ``Z``), as buyers expect."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


# --- Shared building blocks -----------------------------------------------------------------------


class Money(CXMLModel):
    amount: PlainDecimal
    currency: str
    alternate_amount: PlainDecimal | None = None
    alternate_currency: str | None = None


class Description(CXMLModel):
    text: str
    lang: str = "en"
    short_name: str | None = None


class Extrinsic(CXMLModel):
    """``Extrinsic@name`` is required by the DTD, but real buyers send it without one."""

    name: str | None
    value: str


class Credential(CXMLModel):
    domain: str
    identity: str
    shared_secret: SecretStr | None = None
    type: str | None = None


class Header(CXMLModel):
    from_credentials: list[Credential]
    to_credentials: list[Credential]
    sender_credentials: list[Credential]
    user_agent: str = ""


class Envelope(CXMLModel):
    payload_id: str
    timestamp: Timestamp
    version: str | None = None
    lang: str | None = None


class TelephoneNumber(CXMLModel):
    country_code: str
    iso_country_code: str
    area_or_city_code: str
    number: str
    extension: str | None = None


class Phone(CXMLModel):
    name: str | None = None
    telephone_number: TelephoneNumber


class PostalAddress(CXMLModel):
    name: str | None = None
    deliver_to: list[str] = empty_list()
    street: list[str]
    city: str
    municipality: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str
    iso_country_code: str


class Address(CXMLModel):
    name: str
    name_lang: str = "en"
    address_id: str | None = None
    iso_country_code: str | None = None
    postal_address: PostalAddress | None = None
    email: str | None = None
    phone: Phone | None = None
    url: str | None = None


class ShipTo(CXMLModel):
    address: Address


class BillTo(CXMLModel):
    address: Address


class Contact(CXMLModel):
    role: str | None = None
    name: str
    name_lang: str = "en"
    postal_addresses: list[PostalAddress] = empty_list()
    emails: list[str] = empty_list()
    phones: list[Phone] = empty_list()
    urls: list[str] = empty_list()


class Shipping(CXMLModel):
    money: Money
    description: Description
    tracking_domain: str | None = None
    tracking_id: str | None = None


class Tax(CXMLModel):
    money: Money
    description: Description


def mask_card_number(number: str) -> str:
    """Keep only the last four digits of a card number (PCI DSS: never store the full PAN).

    Idempotent: an already masked number (``************3456``) keeps its length.
    """
    digits = re.sub(r"[^\d*]", "", number)
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


class PCard(CXMLModel):
    """A procurement card. The number is masked on construction: the full number never lives here."""

    number: str
    expiration: str
    name: str | None = None

    @field_validator("number")
    @classmethod
    def _mask(cls, number: str) -> str:
        return mask_card_number(number)


class Payment(CXMLModel):
    pcard: PCard | None = None


class Comments(CXMLModel):
    """Free text; ``attachments`` are the ``Attachment/URL`` values (``cid:`` for MIME parts)."""

    text: str = ""
    lang: str | None = None
    attachments: list[str] = empty_list()


class DocumentReference(CXMLModel):
    payload_id: str


class Classification(CXMLModel):
    domain: str
    value: str


class ItemID(CXMLModel):
    supplier_part_id: str
    supplier_part_auxiliary_id: str | None = None


class ItemDetail(CXMLModel):
    unit_price: Money
    descriptions: list[Description]
    unit_of_measure: str
    # Required by the DTD (one or more each); the writer refuses a line without them.
    classifications: list[Classification]
    manufacturer_part_id: str | None = None
    manufacturer_name: str | None = None
    url: str | None = None
    lead_time: SafeInt | None = None
    extrinsics: list[Extrinsic] = empty_list()

    @property
    def description(self) -> str:
        return self.descriptions[0].text if self.descriptions else ""


class AccountingSegment(CXMLModel):
    """``Segment`` (older buyers: type, id, description) or ``AccountingSegment`` (id, Name, Description)."""

    id: str
    type: str
    description: str


class Accounting(CXMLModel):
    name: str
    segments: list[AccountingSegment] = Field(min_length=1)


class Distribution(CXMLModel):
    accounting: Accounting
    charge: Money


class ItemIn(CXMLModel):
    """A cart line of a ``PunchOutOrderMessage``."""

    quantity: PlainDecimal
    line_number: SafeInt | None = None
    item_id: ItemID
    item_detail: ItemDetail
    ship_to: ShipTo | None = None
    shipping: Shipping | None = None
    tax: Tax | None = None


class ItemOut(CXMLModel):
    """An order line (``OrderRequest``) or an earlier cart line (``PunchOutSetupRequest`` edit/inspect).

    ``quantity`` is required by the DTD; setup requests from real buyers sometimes omit it, so it is
    optional here and the writer refuses to render a line without one.
    """

    quantity: PlainDecimal | None
    line_number: SafeInt | None = None
    requested_delivery_date: Timestamp | None = None
    item_id: ItemID
    item_detail: ItemDetail | None = None
    ship_to: ShipTo | None = None
    shipping: Shipping | None = None
    tax: Tax | None = None
    distributions: list[Distribution] = empty_list()
    contacts: list[Contact] = empty_list()
    comments: Comments | None = None


# --- Payloads -------------------------------------------------------------------------------------


class PunchOutSetupRequest(CXMLModel):
    kind: Literal["PunchOutSetupRequest"] = "PunchOutSetupRequest"
    operation: SetupOperation
    buyer_cookie: str
    # True: ``buyer_cookie`` is the whole BuyerCookie element as XML, for content with child elements
    # (the DTD allows ANY; it is echoed unchanged in the cart).
    buyer_cookie_markup: bool = False
    extrinsics: list[Extrinsic] = empty_list()
    browser_form_post: str | None = None
    contacts: list[Contact] = empty_list()
    supplier_setup_url: str | None = None
    ship_to: ShipTo | None = None
    selected_item: ItemID | None = None
    items: list[ItemOut] = empty_list()


class OrderRequestHeader(CXMLModel):
    order_id: str
    order_date: Timestamp
    type: OrderType = "new"
    order_version: SafeInt | None = None
    requisition_id: str | None = None
    ship_complete: bool = False  # shipComplete="yes": the buyer wants one shipment, not partial ones
    requested_delivery_date: Timestamp | None = None
    total: Money
    ship_to: ShipTo | None = None
    bill_to: BillTo | None = None  # required by the DTD, missing in some real orders
    shipping: Shipping | None = None
    tax: Tax | None = None
    payment: Payment | None = None
    contacts: list[Contact] = empty_list()
    comments: list[Comments] = empty_list()
    document_reference: DocumentReference | None = None
    extrinsics: list[Extrinsic] = empty_list()


class OrderRequest(CXMLModel):
    kind: Literal["OrderRequest"] = "OrderRequest"
    header: OrderRequestHeader
    items: list[ItemOut] = Field(min_length=1)


class ProfileRequest(CXMLModel):
    kind: Literal["ProfileRequest"] = "ProfileRequest"


class PunchOutOrderMessageHeader(CXMLModel):
    operation_allowed: OperationAllowed | None
    quote_status: Literal["pending", "final"] | None = None
    total: Money
    ship_to: ShipTo | None = None
    shipping: Shipping | None = None
    tax: Tax | None = None
    supplier_order_id: str | None = None


class PunchOutOrderMessage(CXMLModel):
    kind: Literal["PunchOutOrderMessage"] = "PunchOutOrderMessage"
    buyer_cookie: str | None
    buyer_cookie_markup: bool = False  # as in PunchOutSetupRequest
    header: PunchOutOrderMessageHeader
    items: list[ItemIn] = empty_list()


class PunchOutSetupResponse(CXMLModel):
    kind: Literal["PunchOutSetupResponse"] = "PunchOutSetupResponse"
    start_page_url: str


class Option(CXMLModel):
    name: str
    value: str


class Transaction(CXMLModel):
    request_name: str
    url: str
    options: list[Option] = empty_list()


class ProfileResponse(CXMLModel):
    kind: Literal["ProfileResponse"] = "ProfileResponse"
    effective_date: Timestamp
    last_refresh: Timestamp | None = None
    options: list[Option] = empty_list()
    transactions: list[Transaction] = Field(min_length=1)


class Status(CXMLModel):
    code: int
    text: str
    message: str = ""
    lang: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


# --- Documents ------------------------------------------------------------------------------------

RequestPayload = Annotated[PunchOutSetupRequest | OrderRequest | ProfileRequest, Field(discriminator="kind")]
ResponsePayload = Annotated[PunchOutSetupResponse | ProfileResponse, Field(discriminator="kind")]


class RequestDocument(CXMLModel):
    """``cXML/Request``. ``header`` is None only when a sender left it out (then authentication fails)."""

    kind: Literal["Request"] = "Request"
    envelope: Envelope
    header: Header | None
    deployment_mode: DeploymentMode = "production"
    request: RequestPayload


class RequestHead(CXMLModel):
    """What of a ``cXML/Request`` is read before its sender is authenticated: envelope, Header and which
    request it is. The rest is read once the buyer is known, so a stranger's large document is not."""

    envelope: Envelope
    header: Header | None
    deployment_mode: DeploymentMode = "production"
    kind: Literal["PunchOutSetupRequest", "OrderRequest", "ProfileRequest"]


class MessageDocument(CXMLModel):
    kind: Literal["Message"] = "Message"
    envelope: Envelope
    header: Header | None
    deployment_mode: DeploymentMode = "production"
    in_reply_to: str | None = None
    status: Status | None = None
    message: PunchOutOrderMessage


class ResponseDocument(CXMLModel):
    kind: Literal["Response"] = "Response"
    envelope: Envelope
    status: Status
    response: ResponsePayload | None = None


# The parts most documents hold are built once, here: a document's validator, built on first use,
# then reuses their schemas instead of generating them again (an order's first request generated
# Money's 17 times; 19M fewer instructions in its cold start, measured with callgrind).
_SHARED_PARTS: tuple[type[CXMLModel], ...] = (
    Timestamp,
    Money,
    Description,
    Extrinsic,
    Credential,
    TelephoneNumber,
    Phone,
    PostalAddress,
    Address,
    ShipTo,
    Contact,
    Shipping,
    Tax,
    Comments,
    Classification,
)
for _part in _SHARED_PARTS:
    _part.model_rebuild()
