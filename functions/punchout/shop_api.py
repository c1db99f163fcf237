"""What every shop route shares: API-key authentication and JSON errors for the shop's developers."""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import json
from decimal import Decimal
from json import JSONDecodeError
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from .http import header, json_error
from .model import SHOP_INPUT
from .observability import logger
from .store.api_keys import ApiKeyRepository


class ShopError(Exception):
    """A refusal of the shop API, with its HTTP status and a message for the shop's developer."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ShopError):
    status_code = 401


class NotFound(ShopError):
    status_code = 404


class Conflict(ShopError):
    status_code = 409


class Unprocessable(ShopError):
    status_code = 422


# The answer stays small whatever the body: one of 6 MB may hold 600,000 unknown keys, each an error.
MAX_REPORTED_ERRORS = 100
# A location names the shop's own keys, an unknown one of any length: cut, so that the refusal's log line
# stays one CloudWatch event (256 KB; a longer one is cut, its JSON broken).
MAX_LOCATION_CHARS = 200


class InvalidBody(Unprocessable):
    def __init__(self, error: ValidationError) -> None:
        errors = error.errors(include_url=False, include_input=False)
        if len(errors) > MAX_REPORTED_ERRORS:
            super().__init__(f"The request body is invalid: the first {MAX_REPORTED_ERRORS} of {len(errors):,} errors")
        else:
            super().__init__("The request body is invalid")
        self.errors = [{"location": _location(e["loc"]), "message": e["msg"]} for e in errors[:MAX_REPORTED_ERRORS]]
        # For the log: pydantic's kind of each error ("json_invalid", "missing"), never the shop's text.
        self.types = [e["type"] for e in errors[:MAX_REPORTED_ERRORS]]


def _location(loc: tuple[int | str, ...]) -> str:
    location = ".".join(str(p) for p in loc)
    return location if len(location) <= MAX_LOCATION_CHARS else location[:MAX_LOCATION_CHARS] + "..."


def authorise(event: APIGatewayProxyEvent, keys: ApiKeyRepository) -> None:
    api_key = keys.verify(header(event, "x-api-key"))
    if api_key is None:
        raise Unauthenticated("Missing or invalid x-api-key")
    logger.append_keys(api_key_id=api_key.id)


def parse_body[M: BaseModel](event: APIGatewayProxyEvent, model: type[M], *, optional: bool = False) -> M:
    try:
        raw = event.decoded_body if event.body else ""
    except UnicodeDecodeError:  # a body API Gateway passed on base64-encoded (its media type is binary)
        raise Unprocessable("The request body is not UTF-8 JSON") from None
    # RFC 8259 lets a reader ignore a byte order mark, which Windows tools put before UTF-8 text.
    raw = (raw or "").removeprefix("\ufeff")
    if not raw and optional:
        return model()
    try:
        return model.model_validate(_json(raw or "null", model.__name__), context=SHOP_INPUT)
    except ValidationError as error:
        raise InvalidBody(error) from None


# The object keys one body may hold in all: 30 for each line of the largest cart (MAX_CART_LINES' default), whose
# lines have 12 fields. Each unknown key is an error, and pydantic lists every one before the first hundred are
# reported: 600,000 in a 7 MB body took 5.6 s and 526 MB to refuse, past the function's 512 MB.
MAX_BODY_KEYS = 150_000


def _json(raw: str, title: str) -> Any:
    """The body's JSON, its numbers with a point or an exponent read exactly (as ``Decimal``):
    pydantic reads a JSON number as a binary double (pydantic#9180), so a price or quantity past
    15 significant digits would be stored rounded, without a word to the shop. At most
    ``MAX_BODY_KEYS`` object keys in all."""
    keys = 0

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal keys
        keys += len(pairs)
        if keys > MAX_BODY_KEYS:
            raise ValueError(f"The body holds more than {MAX_BODY_KEYS:,} keys")
        return dict(pairs)

    # Every key is followed by a colon: a body with no more colons than the limit needs no counting, a Python
    # call per object (a 5,000-line cart of five fields a line parsed in 3.0 ms, 5.1 ms counted).
    hook = counted if raw.count(":") > MAX_BODY_KEYS else None
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_not_json, object_pairs_hook=hook)
    except (ValueError, RecursionError) as error:  # RecursionError: arrays or objects nested too deep
        text = (
            f"{error.msg} at line {error.lineno} column {error.colno}"
            if isinstance(error, JSONDecodeError)
            else str(error)
        )
        raise ValidationError.from_exception_data(
            title, [InitErrorDetails(type="json_invalid", loc=(), input="", ctx={"error": text[:200]})]
        ) from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def shop_error_response(error: ShopError) -> Response[str]:
    details = {"errors": error.errors} if isinstance(error, InvalidBody) else {}
    return json_error(error.status_code, error.message, **details)
