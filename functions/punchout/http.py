"""HTTP helpers shared by the handlers: request bytes, base URLs, and the three kinds of answers.

- cXML: every answer, errors included, is a well-formed cXML document; the HTTP status mirrors the
  cXML code (buyers retry 5xx and never 4xx).
- HTML: pages the browser sees (redirects, the cart's auto-post, "link already used").
- JSON: the shop API.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import zlib
from contextlib import suppress
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from .cxml.errors import CXMLError, DocumentTooLarge, MalformedXML, status_for
from .cxml.status import StatusCode
from .observability import logger, metrics
from .settings import GatewaySettings

CXML_CONTENT_TYPE = "text/xml; charset=UTF-8"
# Lambda hands at most 6 MB (6,291,456 bytes) back to API Gateway, the body as a JSON string and the
# headers included: an answer above this never reaches the caller (API Gateway answers 502).
MAX_RESPONSE_BYTES = 6_200_000
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def carried_size(body: str) -> int:
    """The bytes ``body`` takes in Lambda's response: a JSON string, where quotes, backslashes and
    control characters take more, escaped. Non-ASCII text is its UTF-8: python3.12's runtime writes
    the response with simplejson and ``ensure_ascii=False`` (awslambdaric, AWS_Lambda_python3.12),
    which still escapes U+2028 and U+2029 (six bytes where UTF-8 takes three)."""
    text = json.dumps(body, ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass")) + 3 * (text.count("\u2028") + text.count("\u2029"))


def request_bytes(event: APIGatewayProxyEvent) -> bytes:
    """The body exactly as sent. API Gateway delivers it base64-encoded for binary media types,
    which keeps the bytes of ISO-8859-1 or UTF-16 documents intact."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:  # binascii.Error, or text beyond ASCII: never from API Gateway itself
            raise MalformedXML("The body is marked base64-encoded but is not base64") from None
    return body.encode("utf-8")


# Content codings a buyer's HTTP client may compress a request with. gzip and deflate (zlib) are read;
# other compressions are refused by name. Any other value (identity, or a charset some clients put in
# Content-Encoding: "UTF-8") says nothing about the bytes, which are read as sent.
_READ_CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_REFUSED_CODINGS = frozenset({"br", "compress", "x-compress", "zstd", "exi", "pack200-gzip", "aes128gcm", "dcb", "dcz"})


def _looks_compressed(body: bytes, coding: str) -> bool:
    """Whether ``body`` starts as ``coding``'s data does; no XML document does (it starts with ``<``,
    white space or a byte order mark), so a body API Gateway already decompressed is told apart."""
    if coding == "deflate":  # a zlib header: deflate method, and the check bits of RFC 1950
        return len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    return body[:2] == b"\x1f\x8b"


def decoded_body(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """``body`` without the compression its ``Content-Encoding`` names, unpacked no further than
    ``max_bytes`` (a few kilobytes of gzip can hold gigabytes). API Gateway's REST APIs may have
    decompressed it already, leaving the header: such a body is taken as it is."""
    codings = [token.strip().lower() for token in (content_encoding or "").split(",") if token.strip()]
    refused = [coding for coding in codings if coding in _REFUSED_CODINGS]
    if refused:
        named = ", ".join(dict.fromkeys(refused))[:100]
        raise MalformedXML(f"Content-Encoding {named} is not supported: send the document uncompressed or as gzip")
    compressions = [coding for coding in codings if coding in _READ_CODINGS]
    if len(compressions) > 1:  # each layer could unpack to max_bytes: one is all a client applies
        raise MalformedXML(
            f"Content-Encoding names {len(compressions)} compressions: send the document compressed once, as gzip"
        )
    for coding in compressions:
        if _looks_compressed(body, coding):
            body = _unpacked(body, coding, _READ_CODINGS[coding], max_bytes)
        elif coding == "deflate" and not body.startswith(b"<"):
            # Without a zlib header it may be raw deflate (.NET's DeflateStream and others send it so), or a
            # document decompressed on the way: raw deflate when it unpacks whole, else the body as it is.
            with suppress(MalformedXML):
                body = _unpacked(body, coding, -zlib.MAX_WBITS, max_bytes)
    return body


def _unpacked(body: bytes, coding: str, window_bits: int, max_bytes: int) -> bytes:
    unpacker = zlib.decompressobj(window_bits)
    try:
        unpacked = unpacker.decompress(body, max_bytes + 1)
    except zlib.error:
        raise MalformedXML(f"The body is not valid {coding} data, as its Content-Encoding says") from None
    if len(unpacked) > max_bytes:
        raise DocumentTooLarge(f"The document is larger than the limit of {max_bytes} bytes")
    if not unpacker.eof or unpacker.unused_data:
        raise MalformedXML(f"The {coding} body is incomplete or followed by other data")
    return unpacked


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    lowered = name.lower()
    for key, value in (event.headers or {}).items():
        if key.lower() == lowered:
            return value
    return None


# Headers with which browsers fetch a page ahead of the user, and the tokens that say so: Sec-Purpose
# (`prefetch`, `prefetch;prerender`: <link rel=prefetch> and Speculation Rules), Chromium's older Purpose,
# Firefox's older X-Moz, Safari's X-Purpose (`preview`).
_PURPOSE_HEADERS = ("Sec-Purpose", "Purpose", "X-Moz", "X-Purpose")
_AHEAD_OF_THE_USER = frozenset({"prefetch", "prerender", "preview"})


def fetched_ahead(event: APIGatewayProxyEvent) -> bool:
    """Whether the browser fetches this page before the user asked for it (a prefetch, prerender or
    preview), which it may never show, or show in another frame than the one the user opens it in."""
    for name in _PURPOSE_HEADERS:
        value = header(event, name) or ""
        if any(token.strip().lower() in _AHEAD_OF_THE_USER for token in value.replace(",", ";").split(";")):
            return True
    return False


def base_url(event: APIGatewayProxyEvent, settings: GatewaySettings) -> str:
    """The public URL prefix of this API, for StartPage, return and profile URLs."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    context = event.request_context
    host = header(event, "Host") or context.domain_name or "localhost"
    proto = (header(event, "X-Forwarded-Proto") or "https").split(",")[0].strip()
    # The execute-api domain needs the stage in the path; a custom domain maps it away.
    stage = context.stage if host.endswith(".amazonaws.com") and context.stage else ""
    return f"{proto}://{host}" + (f"/{stage}" if stage else "")


def served_base_url(event: APIGatewayProxyEvent) -> str:
    """The URL this API was called under, without the route: the scheme, the API's domain and what
    precedes the route in the path as requested (the stage on an execute-api URL; nothing on a custom
    domain, nor on the local gateway called without the stage)."""
    context = event.request_context
    host = context.domain_name or header(event, "Host") or "localhost"
    proto = (header(event, "X-Forwarded-Proto") or "https").split(",")[0].strip()
    requested = str(context.get("path") or event.path)
    prefix = requested.removesuffix(event.path) if requested.endswith(event.path) else ""
    return f"{proto}://{host}{prefix.rstrip('/')}"


# --- cXML -----------------------------------------------------------------------------------------


def cxml_response(document: bytes, status: StatusCode = StatusCode.OK) -> Response[str]:
    return Response(
        status_code=status.http_status,
        content_type=CXML_CONTENT_TYPE,
        body=document.decode("utf-8"),
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def cxml_error(error: BaseException, payload_id_domain: str) -> Response[str]:
    """The cXML answer for any failure; unexpected ones are logged with their trace, never sent.

    ``payload_id_domain``: the host part of the answer's payloadID (setting PAYLOAD_ID_DOMAIN)."""
    # Imported here: the shop's JSON routes share this module and never need the writer (nor lxml).
    from .cxml.writer import new_envelope, render_status

    status, text = status_for(error)
    details = {"status": int(status), "reason": text}
    # The level says whose move it is: ERROR our fault (a 500, alarmed through CxmlServerErrors),
    # WARNING a transient 560 the buyer's retry resolves, INFO a refusal of the buyer's document.
    if not isinstance(error, CXMLError):
        logger.exception("Unexpected failure answering a cXML request", extra=details)
    elif status == StatusCode.INTERNAL_SERVER_ERROR:
        logger.error("cXML request refused", extra=details)
    elif status.is_transient:
        logger.warning("cXML request refused", extra=details)
    else:
        logger.info("cXML request refused", extra=details)
    if status.is_transient:
        metrics.add_metric(name="CxmlServerErrors", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="CxmlClientErrors", unit=MetricUnit.Count, value=1)
    return cxml_response(
        render_status(int(status), status.text, text, envelope=new_envelope(payload_id_domain)), status
    )


# --- HTML -----------------------------------------------------------------------------------------


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str, *, form_action: str = "'none'", frame_ancestors: str = "'none'") -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        f"form-action {form_action}; frame-ancestors {frame_ancestors}; base-uri 'none'"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style nonce="{nonce}">body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:36rem;
padding:0 1rem;color:#222}}h1{{font-size:1.4rem}}</style></head>
<body><main><h1>{title}</h1><p>{message}</p></main></body></html>
"""


def html_page(status_code: int, title: str, message: str, *, frame_ancestors: str = "*") -> Response[str]:
    """A plain page for the browser (expired or reused links): text only, never a stack trace.

    Such pages may show inside the buyer's iframe, so framing is allowed; they hold nothing to protect.
    """
    nonce = new_nonce()
    body = _PAGE.format(title=html.escape(title), message=html.escape(message), nonce=nonce)
    return Response(
        status_code=status_code,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": content_security_policy(nonce, frame_ancestors=frame_ancestors),
        },
    )


def redirect(location: str) -> Response[str]:
    return Response(status_code=303, body="", headers={**SECURITY_HEADERS, "Location": location})


# --- JSON -----------------------------------------------------------------------------------------


def json_response(status_code: int, payload: BaseModel | dict[str, Any]) -> Response[str]:
    body = payload.model_dump_json(exclude_none=False) if isinstance(payload, BaseModel) else _dumps(payload)
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=body,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def json_error(status_code: int, message: str, **details: Any) -> Response[str]:
    return json_response(status_code, {"error": {"status": status_code, "message": message, **details}})


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)
