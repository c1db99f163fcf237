"""PunchOut sessions and carts: the domain models the setup and cart functions share.

A session is opened by a ``PunchOutSetupRequest`` and lives until it expires; its cart is filled by
the shop (server to server), frozen by the transfer and returned through the browser. Carts outlive
their session: edit, inspect and the later ``OrderRequest`` find them again through the
``SupplierPartAuxiliaryID`` we put on every returned line (``<cart ref>-<line number>``).
"""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from .currencies import places as decimal_places
from .cxml.models import (
    Address,
    Contact,
    Credential,
    DeploymentMode,
    ItemID,
    PlainDecimal,
    SetupOperation,
    empty_dict,
    empty_list,
)
from .model import SHOP_INPUT, GatewayModel

SessionStatus = Literal["open", "transferred", "cancelled"]
_CART_REFERENCE = re.compile(r"^([a-z2-7]{16})-(\d{1,6})$")


_ISSUED_KEY = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes in unpadded URL-safe base64


def new_session_id() -> str:
    """256 random bits, URL-safe: a session id is a bearer key for the shop API."""
    return secrets.token_urlsafe(32)


def new_token() -> str:
    """256 random bits for one-time start and return links."""
    return secrets.token_urlsafe(32)


def could_be_issued(value: str) -> bool:
    """Whether ``value`` has the form of our session ids and link tokens. Anything else is unknown
    without a lookup (an id over DynamoDB's 2,048-byte key limit would make the lookup itself fail)."""
    return _ISSUED_KEY.fullmatch(value) is not None


def new_cart_ref() -> str:
    """80 random bits in lowercase base32 (16 characters): short, and free of ``?{}``."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def cart_expiry(now: datetime, retention_days: int, session_expires_at: datetime, return_link_seconds: int) -> datetime:
    """When a cart written ``now`` in a session may go: after its retention, and never before the last
    return link the session could hand out has lapsed (a transfer in the session's last second makes one
    that lives ``return_link_seconds`` more). One day of retention and a day-long session would
    otherwise let the return page post the buyer an empty cart."""
    return max(now + timedelta(days=retention_days), session_expires_at + timedelta(seconds=return_link_seconds))


# What one request reads of the carts its lines name (an order's, to reconcile them; an edit's or inspect's, to
# restore them): each cart is a table read before the buyer is answered, one after the other, and is read
# whole into models. A requisition gathers a few PunchOut carts. Carts past MAX_CARTS_READ are not read:
# 25,000 order lines each naming another cart took 64 s here, 5,000 edit lines 8 s. Their lines in all stop
# at MAX_CART_LINES_READ: ten carts of 5,000 lines named by a 10,000-line order took 6.7 s and 440 MB, near a
# 512 MB Lambda's end; two full carts fit, with one more read. Each use says what happens at the limit.
MAX_CARTS_READ = 100
MAX_CART_LINES_READ = 10_000


def line_reference(cart_ref: str, line_number: int) -> str:
    return f"{cart_ref}-{line_number}"


def same_part(cart_part_id: str, buyer_part_id: str) -> bool:
    """Whether the ``SupplierPartID`` a buyer sent back (stripped, as the cXML reader strips it) names the cart
    line's part: the cart may hold ``"P1 "``, and a buyer's system may have stored the text in another Unicode
    normalization form (``"é"`` as ``"e"`` and a combining accent, NFD, where the shop wrote NFC): the same
    characters, so the same part, compared in NFC."""
    cart_part_id = cart_part_id.strip()
    if cart_part_id == buyer_part_id:
        return True
    return unicodedata.normalize("NFC", cart_part_id) == unicodedata.normalize("NFC", buyer_part_id)


def parse_line_reference(auxiliary_id: str | None) -> tuple[str, int] | None:
    """``(cart_ref, line_number)`` from one of our ``SupplierPartAuxiliaryID``s, else None."""
    match = _CART_REFERENCE.match((auxiliary_id or "").strip())
    return (match.group(1), int(match.group(2))) if match else None


class BuyerUser(GatewayModel):
    """The person punching out. Not standardised: gathered from Extrinsics, Contact and ShipTo."""

    email: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    unique_name: str | None = None


# --- carts (the shop's JSON, validated) -----------------------------------------------------------

# Characters XML 1.0 cannot carry (most C0 controls, lone surrogates, U+FFFE/U+FFFF): JSON can, but a
# cart holding one could never be rendered as the buyer's PunchOutOrderMessage, so it is refused when it
# is stored (and SQS refuses them in a message). Written as the small complement of XML's Char production:
# the negated class of all legal ranges takes ~6-10 ms to compile, at every cold start.
NOT_XML_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    found = NOT_XML_CHARACTER.search(value)
    if found is not None:
        raise ValueError(f"U+{ord(found.group()):04X} cannot be sent in cXML")
    return value


def _not_blank(value: str, info: ValidationInfo) -> str:
    # Stripped as the cXML reader strips what the buyer sends back; a blank part id, description or unit of
    # measure would reach the buyer's requisition as one (a product database's empty field often is "  ").
    if info.context is SHOP_INPUT and not value.strip():
        raise ValueError("must hold more than whitespace")
    return value


# The published patterns, in the syntax JSON Schema's (ECMA-262) and Python's engines share. Lone surrogates
# are left out: they are no JSON a shop would write, and regex engines disagree on matching them.
_NOT_XML = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF"
# What str.strip() removes among the characters XML can carry (ECMA's \s is another set).
_BLANK = r"\u0009\u000A\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"


class _Published:
    """Publishes a refusal in the OpenAPI document as a pattern, so that a shop's own validator finds such
    a text before the gateway answers 422."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


XmlText = Annotated[str, AfterValidator(_xml_text), _Published(rf"^[^{_NOT_XML}]*$")]
# A text a cart line must have: XML's characters, not all of them whitespace.
RequiredXmlText = Annotated[
    str,
    AfterValidator(_xml_text),
    AfterValidator(_not_blank),
    _Published(rf"^[^{_NOT_XML}]*[^{_NOT_XML}{_BLANK}][^{_NOT_XML}]*$"),
]


def _unsigned_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value  # "-0.00" would be written as a negative amount


def _decimal_schema(whole: int, places: int, *, positive: bool, note: str = "") -> WithJsonSchema:
    """The OpenAPI document's request schema for a decimal of at most ``whole`` digits before the point
    and ``places`` after: what the Field's limits refuse, the pattern refuses too (the server also
    takes leading zeros, exponents and trailing zeros the pattern leaves out).

    A number's places are published as ``x-maxDecimalPlaces``, not as ``multipleOf``: validators that
    compute in floats (Python's jsonschema among them) find 0.1 no multiple of 0.000001 and would refuse
    good carts. The shop API reads JSON numbers exactly (``shop_api.parse_body``)."""
    digits = rf"[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?"
    lower = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return WithJsonSchema(
        {
            "description": f"A decimal of at most {whole} digits before the point and {places} after: "
            'a string such as "12.5", or a number' + note,
            "anyOf": [
                {"type": "string", "pattern": rf"^(?=.*[1-9]){digits}$" if positive else rf"^{digits}$"},
                {
                    "type": "number",
                    **lower,
                    "exclusiveMaximum": 10**whole,
                    "x-maxDecimalPlaces": places,
                    "description": f"At most {places} digits after the point (x-maxDecimalPlaces). Read "
                    "exactly, as written: never through a binary double",
                },
            ],
        },
        mode="validation",
    )


# The decimal strings the cXML reader takes (its ``_NUMBER``, not imported: it loads lxml): ASCII digits, an
# optional sign, point and exponent. Decimal() alone would also take "1_000", Arabic-Indic or full-width digits.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_DECIMAL_CHARS = 64  # as the cXML reader's: a longer text is no number within the bounds


def _plain_length(number: Decimal) -> int:
    """The characters of ``number`` in plain notation (how it is stored and written on), without forming
    it: "0E-999999999" is 12 characters, and a gigabyte plainly."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # NaN, Infinity: pydantic refuses them
        return 0
    if exponent >= 0:
        return sign + len(digits) + exponent
    return sign + max(len(digits), 1 - exponent) + 1


def _shop_decimal(places: int) -> BeforeValidator:
    """A shop's decimal, read in one pass and refused for a reason the shop can act on, before pydantic's own
    limits, which count the digits in total first (a quotient of Ruby's BigDecimal,
    "0.6663333333333333333333333333333333333e1", was refused as "no more than 18 digits in total"):

    - a text must be ASCII digits (``_DECIMAL_TEXT``, as the cXML reader's), stripped as the reader strips;
    - written plainly it must fit the reader's 64 characters, or an order carrying it back would be refused.
      A JSON number (its form is the shop's JSON writer's, not the shop's) is read without the trailing
      zeros past them, as its value is all the published schema bounds;
    - it has at most ``places`` places, trailing zeros not counted.

    An integer, or what is no decimal at all, is left to pydantic."""

    def read(value: object, info: ValidationInfo) -> object:
        if info.context is not SHOP_INPUT:
            return value
        if isinstance(value, str):
            text = value.strip()
            if len(text) > _MAX_DECIMAL_CHARS or not _DECIMAL_TEXT.fullmatch(text):
                raise ValueError('must be a decimal of ASCII digits, such as "12.50" (no digit grouping)')
            value, number = text, Decimal(text)
        elif isinstance(value, Decimal):
            number = value
        else:
            return value
        if not number.is_finite():  # NaN or Infinity in a JSON number: pydantic refuses it
            return value
        if _plain_length(number) > _MAX_DECIMAL_CHARS:
            # normalize() would overflow on 1e999999999: the zeros are dropped in time linear in the digits
            number = _without_trailing_zeros(number)
            if not isinstance(value, Decimal) or _plain_length(number) > _MAX_DECIMAL_CHARS:
                raise ValueError(f"must be at most {_MAX_DECIMAL_CHARS} characters written plainly (no exponent)")
            value = number
        if decimal_places(number) > places:
            raise PydanticCustomError(
                "decimal_max_places",
                "Decimal input should have no more than {decimal_places} decimal places",
                {"decimal_places": places},
            )
        return value

    return BeforeValidator(read)


def _without_trailing_zeros(number: Decimal) -> Decimal:
    """``number`` without the zeros after its point, in time linear in its digits (``normalize()`` would
    overflow on 1e999999999, and a zero's places are its exponent, not digits)."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return number
    if not any(digits):
        return Decimal((sign, (0,), 0))
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0 and exponent + len(digits) - kept < 0:
        kept -= 1
    return Decimal((sign, digits[:kept], exponent + len(digits) - kept))


# --- what PHP's json_encode writes ----------------------------------------------------------------
# PHP shops build their bodies from arrays: an empty one is written `[]` (never `{}`), a missing value is
# often `null`, and ids are integers when a database returns them so (pdo_mysql does since PHP 8.1) or
# when they were array keys (PHP turns the key "12345" into 12345). Each is read as the shop meant it, in
# what the shop sends only (stored carts are read back as stored), and the request schema says so.


class _AlsoTaken:
    """Publishes, in the request schema only, the JSON values a field also takes from a shop."""

    def __init__(self, *alternatives: JsonSchemaValue) -> None:
        self.alternatives = alternatives

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        if handler.mode != "validation":
            return schema
        if "anyOf" in schema:
            return {**schema, "anyOf": [*schema["anyOf"], *self.alternatives]}
        return {"anyOf": [schema, *self.alternatives]}


def _read_as(sent: object, meant: object) -> BeforeValidator:
    """Reads ``sent`` in what a shop sends as ``meant`` (stored carts are read back as stored)."""

    def substitute(value: object, info: ValidationInfo) -> object:
        return meant if value == sent and info.context is SHOP_INPUT else value

    return BeforeValidator(substitute)


def _text_of_integer(value: object, info: ValidationInfo) -> object:
    # Integers only: a number with a point or an exponent, or a boolean, has no one text an id could be.
    return str(value) if type(value) is int and info.context is SHOP_INPUT else value


_NULL = {"type": "null"}
_PHP_EMPTY_ARRAY = {"type": "array", "maxItems": 0, "description": "PHP's json_encode([]): none"}
# Published within PHP's integers (which every limit on an id's length holds); the server takes any.
_INTEGER_ID = {
    "type": "integer",
    "minimum": -(2**63),
    "maximum": 2**63 - 1,
    "description": "An integer id: stored as the text of its digits",
}
# An optional object of the cart: `[]` stands for none.
OptionalObject = (_read_as([], None), _AlsoTaken(_PHP_EMPTY_ARRAY))
IntegerText = (BeforeValidator(_text_of_integer), _AlsoTaken(_INTEGER_ID))
# An optional text none of whose values may be empty: Go's `""` stands for none.
_GO_EMPTY_STRING = {"type": "string", "maxLength": 0, "description": 'Go\'s zero value "": none'}
# An optional text whose schema takes "" already (it has no pattern refusing it): "" stands for none too,
# as Go's json.Marshal writes an unset string field (no `omitempty`).
GoZeroIsNone = (_read_as("", None),)
OptionalByGoZero = (*GoZeroIsNone, _AlsoTaken(_GO_EMPTY_STRING))
Currency = Annotated[str | None, *OptionalByGoZero]
Amount = Annotated[PlainDecimal, AfterValidator(_unsigned_zero)]
_TOTAL_PRECISION = 80


class CartClassification(GatewayModel):
    model_config = ConfigDict(extra="forbid")

    domain: Annotated[RequiredXmlText, _read_as(None, "UNSPSC"), _AlsoTaken(_NULL)] = Field(
        default="UNSPSC", min_length=1, max_length=40
    )
    value: Annotated[RequiredXmlText, *IntegerText] = Field(min_length=1, max_length=40)


# The cart service holds a charge to its currency too (``punchout.currencies``): places a schema cannot give.
_CHARGE_PLACES = (
    ". An amount the buyer pays: at most as many places as the currency's ISO 4217 minor unit (trailing zeros "
    "not counted; 0 for JPY and KRW, 2 for EUR and USD, 3 for KWD, 4 for CLF), else 422; a code ISO 4217 does "
    "not list is held to 4"
)


class CartCharge(GatewayModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Amount, _decimal_schema(14, 4, positive=False, note=_CHARGE_PLACES), _shop_decimal(4)] = Field(
        ge=0, max_digits=18, decimal_places=4
    )
    description: RequiredXmlText = Field(min_length=1, max_length=500)


class CartLine(GatewayModel):
    """One line of the shop's cart. Prices come from the shop's server, never from the browser."""

    model_config = ConfigDict(extra="forbid")

    supplier_part_id: Annotated[RequiredXmlText, *IntegerText] = Field(min_length=1, max_length=255)
    supplier_part_auxiliary_id: Annotated[XmlText | None, *IntegerText, *GoZeroIsNone] = Field(
        default=None,
        max_length=255,
        description="The shop's own reference for the line: kept with the cart, restored in edit and inspect, "
        "and given back in an order's reconciliation as `shop_auxiliary_id`. The buyer receives the gateway's "
        "line reference as SupplierPartAuxiliaryID instead (the order and edit lines carry that one).",
    )
    quantity: Annotated[PlainDecimal, _decimal_schema(12, 6, positive=True), _shop_decimal(6)] = Field(
        gt=0, max_digits=18, decimal_places=6
    )
    unit_price: Annotated[Amount, _decimal_schema(12, 6, positive=False), _shop_decimal(6)] = Field(
        ge=0, max_digits=18, decimal_places=6
    )
    currency: Currency = Field(default=None, pattern=r"^[A-Z]{3}$")
    description: RequiredXmlText = Field(min_length=1, max_length=2000)
    unit_of_measure: Annotated[RequiredXmlText, _read_as(None, "EA"), _AlsoTaken(_NULL)] = Field(
        default="EA", min_length=1, max_length=10
    )
    classification: Annotated[CartClassification | None, *OptionalObject] = None
    manufacturer_part_id: Annotated[XmlText | None, *IntegerText, *GoZeroIsNone] = Field(default=None, max_length=255)
    manufacturer_name: Annotated[XmlText | None, *GoZeroIsNone] = Field(default=None, max_length=255)
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    url: Annotated[XmlText | None, *GoZeroIsNone] = Field(
        default=None,
        max_length=2000,
        description="The product's page: an absolute http or https URL (any other is refused with 422, as the "
        'buyer\'s system shows it as a link; `""` is none)',
    )


def publish_max_cart_lines(cart_input: JsonSchemaValue, limit: int) -> None:
    """Give CartInput's JSON schema the deployment's line limit (MAX_CART_LINES), which the model does not
    know: on the array branch of `lines`' anyOf (array or null), beside its type. ajv's strict mode refuses
    `maxItems` where no type says the value is an array, and datamodel-code-generator made the null a model."""
    (array,) = [branch for branch in cart_input["properties"]["lines"]["anyOf"] if branch.get("type") == "array"]
    array["maxItems"] = limit


class CartInput(GatewayModel):
    """The body of ``PUT /shop/sessions/{id}/cart``."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency = Field(default=None, pattern=r"^[A-Z]{3}$")
    # fail_fast: the errors of the first invalid line only. Listing every line's was unbounded: a 3 MB body
    # of 1,000,000 `{}` lines took a minute to answer, in a 268 MB error body Lambda cannot send.
    lines: Annotated[list[CartLine], _read_as(None, []), _AlsoTaken(_NULL)] = empty_list(fail_fast=True)
    shipping: Annotated[CartCharge | None, *OptionalObject] = None
    tax: Annotated[CartCharge | None, *OptionalObject] = None
    comments: XmlText | None = Field(default=None, max_length=4000)

    @field_validator("lines", mode="before")
    @classmethod
    def _lines_are_an_array(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, dict) and info.context is SHOP_INPUT:
            # Its order is the keys', which no JSON reader has to keep: not guessed.
            raise ValueError(
                "should be a JSON array, not an object: PHP's json_encode writes an array whose keys are not "
                "0, 1, 2... (after unset() or array_filter()) as an object; send array_values($lines)"
            )
        return value


class Cart(CartInput):
    """A stored cart: one currency for all lines (cXML has one ``Total``), lines numbered from 1."""

    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @property
    def total(self) -> Decimal:
        # Exact: 18 digits times 18 digits needs more than Decimal's default 28 of precision.
        with localcontext(prec=_TOTAL_PRECISION):
            return sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))


def _also_an_empty_array(schema: JsonSchemaValue) -> None:
    # The options as an object, or PHP's `[]` or null, both no options: one schema per type, as ajv's strict
    # mode refuses a list of types (`"type": ["object", "array", "null"]`) unless allowUnionTypes is set
    options = {key: schema.pop(key) for key in ("type", "properties", "additionalProperties") if key in schema}
    schema["anyOf"] = [options, dict(_PHP_EMPTY_ARRAY), dict(_NULL)]


class TransferRequest(GatewayModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_also_an_empty_array)

    cancel: Annotated[bool, _read_as(None, False), _AlsoTaken(_NULL)] = False

    @model_validator(mode="before")
    @classmethod
    def _php_empty_array(cls, data: object, info: ValidationInfo) -> object:
        # No options: PHP's json_encode([]) is `[]`, Ruby's nil.to_json `null`. (A cart body of `[]` or `null`
        # stays refused: the shop built nothing.)
        return {} if (data == [] or data is None) and info.context is SHOP_INPUT else data


# --- sessions -------------------------------------------------------------------------------------


class EarlierItem(GatewayModel):
    """An ``ItemOut`` of an edit/inspect request, and what we restored from it."""

    supplier_part_id: str
    supplier_part_auxiliary_id: str | None = Field(
        description="As the buyer sent it: the gateway's line reference for lines of its carts (the shop's own "
        "reference is in the restored cart's line)"
    )
    quantity: PlainDecimal | None
    restored: bool  # found in one of our earlier carts


class Session(GatewayModel):
    # Unknown keys of a stored item are ignored (GatewayModel's default), never forbidden: items the
    # release before wrote still carry `restored_from` (the cart refs an edit/inspect reopened, never read).
    id: str
    partner_id: str
    operation: SetupOperation
    deployment_mode: DeploymentMode
    status: SessionStatus = "open"
    buyer_cookie: str
    buyer_cookie_markup: bool = False  # the cookie is XML content (see PunchOutSetupRequest)
    return_url: str | None  # BrowserFormPost, or the partner's default
    return_frame: str | None = None  # Extrinsic ReturnFrame: the form's target window
    shop_url: str
    # The buyer-facing API's URL, from the setup request: the return link must point there even
    # though the shop asks for it through the shop API (a separate API in the deployed stack).
    base_url: str
    lang: str = "en-US"
    cxml_version: str
    payload_id: str  # of the PunchOutSetupRequest
    # Echoed into the cart's Header: we answer as the supplier the buyer addressed, to the buyer.
    buyer_credentials: list[Credential]
    supplier_credentials: list[Credential]
    user: BuyerUser = Field(default_factory=BuyerUser)
    ship_to: Address | None = None
    contacts: list[Contact] = empty_list()
    extrinsics: dict[str, str] = empty_dict()
    selected_item: ItemID | None = None  # SelectedItem: the product the user punched out to
    earlier_items: list[EarlierItem] = empty_list()
    cart_ref: str
    created_at: datetime
    expires_at: datetime

    @field_validator("expires_at")
    @classmethod
    def _whole_seconds(cls, value: datetime) -> datetime:
        # The table holds the expiry in whole epoch seconds (DynamoDB's TTL attribute), and every read
        # refuses the session from that second on: the expiry the shop is told is that one, not the
        # fraction of a second later it was computed as (sessions stored with one are read back so).
        return value.replace(microsecond=0)

    @field_validator("buyer_credentials", "supplier_credentials")
    @classmethod
    def _no_secrets(cls, credentials: list[Credential]) -> list[Credential]:
        # Secrets never travel further than authentication: not stored, never in a cart.
        return [c.model_copy(update={"shared_secret": None}) for c in credentials]

    @model_validator(mode="after")
    def _read_only_operations(self) -> Self:
        if self.operation == "source":
            raise ValueError("source sessions are not supported")
        return self

    @property
    def read_only(self) -> bool:
        return self.operation == "inspect"
