"""The gateway's answers held to what its two kinds of clients are promised.

Procurement systems get a cXML document for every answer to a cXML POST, errors included: the XML
content type, well-formed, valid against the DTD it names, with the HTTP status its Status code maps to
(they retry on 5xx, never on 4xx). Shops build their clients from ``functions/order_message/openapi.json``:
an answer it does not describe (a status it does not list, a Content-Type or a body its schema refuses)
breaks them. Every test that calls a handler or the local stack checks its answer here (``invoke`` in
tests/unit/gateway/helpers.py, ``send`` in tests/integration/helpers.py), so the whole suite holds the
functions to both promises, not only the tests written about them. The DTD check needs the official DTDs
(``CXML_SHARED_DIR``, which .ci/run always sets). Shops also validate the order messages the queue
carries against ``punchout.order.v1``: every test that drains the queue checks each message here.

The JSON checks judge ``format`` too (``date-time`` is RFC 3339, with its offset), as strict validators
in other languages do; jsonschema alone ignores it.

What the gateway sends (answers, order messages) is published open, so that shops ignore the fields a
later release adds; the checks of what it sends judge it against the schemas closed (``closed``): a field
sent but described nowhere fails them, as it would have failed a shop's validator before it was added.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

from punchout.cxml import StatusCode, read_document
from punchout.cxml.models import ResponseDocument
from tests.support.events import response_body, response_header

DOCUMENT = Path(__file__).resolve().parents[2] / "functions/order_message/openapi.json"
ORDER_MESSAGE_SCHEMA = Path(__file__).resolve().parents[2] / "functions/punchout/schemas/punchout.order.v1.json"

# jsonschema judges "date-time" only when rfc3339-validator is installed (a dev dependency): without
# it, the check would pass unnoticed values a shop's validator refuses.
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
assert "date-time" in FORMATS.checkers, "jsonschema cannot judge date-time: install rfc3339-validator"


@cache
def _published() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


@cache
def _paths() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile("^" + re.sub(r"{\w+}", "[^/]+", path) + "$"), path) for path in _published()["paths"]]


def documented_operation(method: str, path: str) -> dict[str, Any] | None:
    """The operation the document gives for ``method`` on ``path`` (None: API Gateway routes no such request)."""
    for pattern, template in _paths():
        if pattern.match(path):
            operation: dict[str, Any] | None = _published()["paths"][template].get(method.lower())
            return operation
    return None


def published_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, a part of the published document, standing alone: its components as ``$defs``."""
    whole = {**schema, "$defs": _published()["components"]["schemas"]}
    standalone: dict[str, Any] = json.loads(json.dumps(whole).replace("#/components/schemas/", "#/$defs/"))
    return standalone


# Keywords whose value is a schema, a list of schemas, or a map of names to schemas (JSON Schema 2020-12).
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """``schema`` and every schema within it (``$defs`` included; a ``$ref`` is not followed)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for keyword in _SUBSCHEMA:
        yield from subschemas(schema.get(keyword))
    for keyword in _SUBSCHEMA_LISTS:
        for item in schema.get(keyword, []):
            yield from subschemas(item)
    for keyword in _SUBSCHEMA_MAPS:
        for item in schema.get(keyword, {}).values():
            yield from subschemas(item)


def closed(schema: Any) -> Any:
    """``schema`` with every object schema that names its ``properties`` closed (``additionalProperties:
    false`` where it says nothing of other fields): the variant of a published schema that the tests hold
    what the gateway sends to, so that a field it sends but no schema describes fails them."""
    if not isinstance(schema, dict):
        return schema
    result = {**schema}
    for keyword in _SUBSCHEMA:
        if keyword in result:
            result[keyword] = closed(result[keyword])
    for keyword in _SUBSCHEMA_LISTS:
        if keyword in result:
            result[keyword] = [closed(item) for item in result[keyword]]
    for keyword in _SUBSCHEMA_MAPS:
        if keyword in result:
            result[keyword] = {name: closed(item) for name, item in result[keyword].items()}
    if "properties" in result:
        result.setdefault("additionalProperties", False)
    return result


def _max_decimal_places(validator: Any, places: int, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    # In the widest context: normalize() in the default one overflows on 1e999999999, which a shop may send.
    with localcontext(Context(Emax=MAX_EMAX, Emin=MIN_EMIN)):
        exponent = Decimal(instance).normalize().as_tuple().exponent if validator.is_type(instance, "number") else 0
    if isinstance(exponent, int) and -exponent > places:
        yield jsonschema.ValidationError(f"{instance} has more than {places} digits after the point")


# The document publishes a number's places as x-maxDecimalPlaces (multipleOf would be misjudged by
# validators that compute in floats): a shop's validator is told of it, so this one knows it too.
_PublishedValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-maxDecimalPlaces": _max_decimal_places}
)


@cache
def _validator(schema_json: str, *, closing: bool) -> jsonschema.Draft202012Validator:
    standalone = published_schema(json.loads(schema_json))
    validator: jsonschema.Draft202012Validator = _PublishedValidator(
        closed(standalone) if closing else standalone, format_checker=FORMATS
    )
    return validator


def validator_of(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of ``schema``, a part of the published document, as a shop's would judge it (formats,
    ``x-maxDecimalPlaces``); read numbers as exact decimals before validating."""
    return _validator(json.dumps(schema, sort_keys=True), closing=False)


def closed_validator_of(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """``validator_of`` ``schema`` closed (``closed``): what the tests hold the gateway's answers to."""
    return _validator(json.dumps(schema, sort_keys=True), closing=True)


def assert_documented(method: str, path: str, response: dict[str, Any]) -> None:
    """Fail when the published document does not describe ``response`` to ``method`` ``path``, or its
    body holds a field no schema of the document describes."""
    operation = documented_operation(method, path)
    if operation is None:
        return
    where = f"{method} {path} answered {response['statusCode']}"
    described = operation["responses"].get(str(response["statusCode"]))
    assert described is not None, f"{where}, a status the OpenAPI document does not list"
    content = described.get("content")
    if not content:
        return
    media_type = (response_header(response, "Content-Type") or "").split(";")[0].strip().lower()
    assert media_type in content, f"{where} as {media_type!r}; the OpenAPI document says {sorted(content)}"
    if media_type != "application/json":
        return
    errors = sorted(
        closed_validator_of(content[media_type]["schema"]).iter_errors(json.loads(response_body(response))),
        key=lambda e: e.path,
    )
    assert not errors, (
        f"{where} with a body the OpenAPI document refuses: {errors[0].message} at {list(errors[0].path)}"
    )


def request_validator(method: str, path: str) -> jsonschema.Draft202012Validator:
    """A validator of the JSON request body the document gives for ``method`` on ``path``."""
    operation = documented_operation(method, path)
    assert operation is not None and "requestBody" in operation, (method, path)
    return validator_of(operation["requestBody"]["content"]["application/json"]["schema"])


def _refused_constant(name: str) -> None:
    raise ValueError(name)


def _judged_by_the_document(body: str) -> Any:
    """``body`` as a shop's validator reads it, or None when it is outside what the document judges: not
    strict JSON (NaN, Infinity), nested too deep to read, or text holding a lone surrogate (which the
    document's text pattern leaves out)."""
    try:
        request = json.loads(body, parse_float=Decimal, parse_constant=_refused_constant)
        json.dumps(request, ensure_ascii=False, default=str).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError included; nesting past Python's stack
        return None
    return request


def assert_request_documented(method: str, path: str, body: str | None, response: dict[str, Any]) -> None:
    """Fail when the gateway refused, field by field, a request body the published document accepts: a
    shop that checks its request against the document must not meet a 422 naming its fields. (The
    gateway may take more than the document says, e.g. exponents in decimal strings, not less.)"""
    operation = documented_operation(method, path)
    if operation is None or "requestBody" not in operation or not body or response["statusCode"] != 422:
        return
    details = json.loads(response["body"])["error"].get("errors")
    request = _judged_by_the_document(body)
    if not details or request is None:
        return
    assert not request_validator(method, path).is_valid(request), (
        f"{method} {path} answered 422 to a body the OpenAPI document accepts: {details}"
    )


# --- order messages -------------------------------------------------------------------------------


def published_message_schema() -> dict[str, Any]:
    """``punchout.order.v1`` as published (its objects open)."""
    schema: dict[str, Any] = json.loads(ORDER_MESSAGE_SCHEMA.read_text(encoding="utf-8"))
    return schema


@cache
def _order_message_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(closed(published_message_schema()), format_checker=FORMATS)


def assert_published_message(message: Any) -> None:
    """Fail when ``message`` (an order message's parsed JSON) is not one ``punchout.order.v1`` describes,
    or holds a field it does not describe (the schema closed: ``closed``)."""
    errors = sorted(_order_message_validator().iter_errors(message), key=lambda e: e.path)
    assert not errors, f"an order message punchout.order.v1 refuses: {errors[0].message} at {list(errors[0].path)}"


# --- cXML -----------------------------------------------------------------------------------------

CXML_ROUTES = ("/cxml/setup", "/cxml/order", "/cxml/profile")
# Never loads the DTD a document names, never touches the network: the DTD comes from CXML_SHARED_DIR.
_VALIDATION_PARSER = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
_DECLARED_VERSION = re.compile(r"/schemas/cXML/([0-9.]+)/cXML\.dtd$")


def declared_version(data: bytes) -> str:
    """The cXML version of the DTD the document's DOCTYPE names."""
    docinfo = etree.fromstring(data, _VALIDATION_PARSER).getroottree().docinfo
    system_url = docinfo.system_url or ""  # type: ignore[union-attr]  # lxml-stubs call it system_id
    match = _DECLARED_VERSION.search(system_url)
    assert match, f"the document names no cXML DTD: {system_url!r}"
    return match.group(1)


def dtd_errors(dtd: etree.DTD, data: bytes) -> list[str]:
    """The DTD's complaints about ``data`` (empty when valid)."""
    root = etree.fromstring(data, _VALIDATION_PARSER)
    if dtd.validate(root):
        return []
    return str(dtd.error_log).splitlines()


@cache
def _dtd(version: str) -> etree.DTD | None:
    shared = os.environ.get("CXML_SHARED_DIR", "").strip()
    return etree.DTD(str(Path(shared) / "dtd" / version / "cXML.dtd")) if shared else None


def assert_valid_cxml(body: bytes, where: str) -> None:
    """``body`` is well-formed, names a cXML DTD and is valid against it."""
    dtd = _dtd(declared_version(body))  # well-formed, naming a cXML DTD, or this fails
    assert dtd is None or not (errors := dtd_errors(dtd, body)), f"{where} is not valid against its DTD: {errors}"


def punchout_order_message(body: bytes) -> None:
    """A cart the gateway posts to the buyer, checked to be valid cXML. A BuyerCookie holding elements is
    left out of the check: ANY admits only elements the DTD declares, and the gateway echoes the buyer's
    own as they came (its setup request was no more valid)."""
    tree = etree.fromstring(body, _VALIDATION_PARSER)
    cookies = [cookie for cookie in tree.iter("BuyerCookie") if len(cookie)]
    for cookie in cookies:
        cookie[:] = []
    checked = etree.tostring(tree.getroottree(), xml_declaration=True, encoding="UTF-8") if cookies else body
    assert_valid_cxml(checked, f"PunchOutOrderMessage {body[:300]!r}")


def cxml_answer(status: int, content_type: str, body: bytes) -> ResponseDocument:
    """The answer to a cXML POST as its model, checked to be what a procurement system is promised."""
    where = f"cXML answer {status} ({content_type}): {body[:300]!r}"
    assert content_type.startswith("text/xml"), where
    assert_valid_cxml(body, where)
    document = read_document(body)
    assert isinstance(document, ResponseDocument), where
    assert status == StatusCode(document.status.code).http_status, f"{where}: its Status code maps to another status"
    return document
