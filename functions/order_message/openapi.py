"""Generates the shop API's OpenAPI document from the pydantic models (``openapi.json`` beside it).

Run ``python -m order_message.openapi`` after changing a model; a test fails when the committed
document is stale. The Lambda only serves the file, so this module stays off its import path; it
adds ``servers``, the URL the document was fetched under, which only the request can tell, and gives the
cart's line limit its deployment's value (``MAX_CART_LINES``; the file holds the default). The schemas of
what the gateway answers are open, those of what the shop sends closed (``punchout.published_schema``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from punchout.model import GatewayModel
from punchout.orders import AttachmentContent, OrderMessage, OrderPage
from punchout.published_schema import PublishedJsonSchema
from punchout.session_view import SessionContext
from punchout.sessions import CartInput, TransferRequest, publish_max_cart_lines
from punchout.settings import GatewaySettings

from .service import CartSummary, TransferResult

DOCUMENT = Path(__file__).with_name("openapi.json")


class ErrorDetail(GatewayModel):
    location: str
    message: str


class ErrorBody(GatewayModel):
    status: int
    message: str
    errors: list[ErrorDetail] | None = None


class Error(GatewayModel):
    error: ErrorBody


class GatewayErrorBody(GatewayModel):
    status: int | None = None
    type: str
    message: str
    request_id: str


class GatewayError(GatewayModel):
    """An answer API Gateway gives itself, before any function runs (ShopApi's GatewayResponses)."""

    error: GatewayErrorBody


def _json_ref(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return _json_ref(model.__name__)


def _any_of(*schemas: str | dict[str, Any]) -> dict[str, Any]:
    """JSON of one of ``schemas``: names of the document's schemas, or schemas."""
    choices = [{"$ref": f"#/components/schemas/{s}"} if isinstance(s, str) else s for s in schemas]
    return {"content": {"application/json": {"schema": {"anyOf": choices}}}}


# What API Gateway answers on every route that needs the key (template.yaml, ShopApi and its usage plan),
# and the function's own 500.
_GATEWAY_ERRORS = {
    "403": {"description": "Missing x-api-key, or a key the usage plan does not know", **_json_ref("GatewayError")},
    "429": {"description": "Throttled, or the key's daily quota is used up (Retry-After)", **_json_ref("GatewayError")},
    "500": {
        "description": "Internal error; retry later (the function's `Error`, or API Gateway's `GatewayError`)",
        **_any_of("Error", "GatewayError"),
    },
    "502": {"description": "The function failed or timed out; retry later", **_json_ref("GatewayError")},
    "504": {"description": "No answer within API Gateway's 29 seconds; retry later", **_json_ref("GatewayError")},
}
# Routes with a body: one over Lambda's 6 MB request limit is REQUEST_TOO_LARGE (GatewayError, through
# ShopApi's DEFAULT_4XX); one over API Gateway's 10 MB gets its plain text, which no gateway response shapes.
_PAYLOAD_TOO_LARGE = {
    "413": {
        "description": "The request body is too large: send fewer lines or shorter texts",
        "content": {
            **_json_ref("GatewayError")["content"],
            "text/plain": {"schema": {"type": "string"}, "example": "HTTP content length exceeded 10485760 bytes."},
        },
    }
}


_ERROR_TEXTS = {
    401: "Missing or invalid x-api-key",
    404: "No open session with this id (unknown or expired)",
    409: "The session is read-only (inspect), already transferred, or the cart changed meanwhile",
    422: "The body or the cart cannot be used (e.g. a cart too large to send back): `message` says why, "
    "`errors` lists each invalid field (of the cart's first invalid line only; at most 100)",
}


# A transfer of an inspect session is not refused: its cart goes back unchanged.
_TRANSFER_CONFLICT = (
    "The session was already transferred or cancelled (also when a transfer's answer was lost and the shop "
    "repeats it: that answer held the session's one return link; `GET /shop/sessions/{id}` then says "
    "`transferred` or `cancelled`), the cart changed meanwhile (transfer again), or an inspect session has no "
    "return URL"
)


def _errors(*codes: int, not_found: str = _ERROR_TEXTS[404], conflict: str = _ERROR_TEXTS[409]) -> dict[str, Any]:
    """The function's own error answers, and API Gateway's that precede it on every route needing the key."""
    texts = {**_ERROR_TEXTS, 404: not_found, 409: conflict}
    return {**{str(code): {"description": texts[code], **_json(Error)} for code in codes}, **_GATEWAY_ERRORS}


SESSION_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The session id the shop received as `punchout_session` on its entry URL.",
    "schema": {"type": "string", "minLength": 32},
}
MESSAGE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The order message's `message_id`.",
    "schema": {"type": "string"},
}


def _number(name: str, description: str, minimum: int) -> dict[str, Any]:
    """A path parameter holding a number."""
    schema = {"type": "integer", "minimum": minimum}
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (m, "serialization")
            for m in (
                SessionContext,
                CartSummary,
                TransferResult,
                Error,
                GatewayError,
                OrderMessage,
                OrderPage,
                AttachmentContent,
            )
        ]
        + [(m, "validation") for m in (CartInput, TransferRequest)],
        ref_template="#/components/schemas/{model}",
        schema_generator=PublishedJsonSchema,
    )
    # The line limit is a setting the cart's model does not know (the served document gives the
    # deployment's MAX_CART_LINES): without it a shop's validator would pass a cart the gateway refuses.
    publish_max_cart_lines(schemas["$defs"]["CartInput"], GatewaySettings.model_fields["max_cart_lines"].default)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PunchOut gateway shop API",
            "version": "1.0.0",
            "description": (
                "Server-to-server API for the supplier's shop: read the PunchOut session, store the cart, "
                "and transfer it back to the buyer's procurement system; read an order message in full and "
                "its attachments."
            ),
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"ApiKey": []}],
        "paths": {
            "/shop/sessions/{id}": {
                "get": {
                    "operationId": "getSession",
                    "summary": "The session's context: partner, operation, user, ship-to, earlier items, cart",
                    "parameters": [SESSION_ID],
                    "responses": {
                        "200": {"description": "The session", **_json(SessionContext)},
                        **_errors(401, 404),
                    },
                }
            },
            "/shop/sessions/{id}/cart": {
                "put": {
                    "operationId": "putCart",
                    "summary": "Replace the session's cart (validated; prices from the shop's server only)",
                    "parameters": [SESSION_ID],
                    "requestBody": {"required": True, **_json(CartInput)},
                    "responses": {
                        "200": {"description": "Stored", **_json(CartSummary)},
                        **_errors(401, 404, 409, 422),
                        **_PAYLOAD_TOO_LARGE,
                    },
                }
            },
            "/shop/sessions/{id}/transfer": {
                "post": {
                    "operationId": "transferCart",
                    "summary": "Freeze the cart (or cancel) and get the one-time URL to send the browser to",
                    "parameters": [SESSION_ID],
                    "requestBody": {"required": False, **_json(TransferRequest)},
                    "responses": {
                        "200": {"description": "Send the browser to return_url", **_json(TransferResult)},
                        **_errors(401, 404, 409, 422, conflict=_TRANSFER_CONFLICT),
                        **_PAYLOAD_TOO_LARGE,
                    },
                }
            },
            "/shop/orders/{id}": {
                "get": {
                    "operationId": "getOrder",
                    "summary": "An order message (punchout.order.v1): in full, also when the queued one was not, "
                    "unless its lines are too many for one answer (then `complete` is false: read them by page)",
                    "parameters": [MESSAGE_ID],
                    "responses": {
                        "200": {"description": "The order message", **_json(OrderMessage)},
                        **_errors(401, 404, not_found="No order with this message id"),
                    },
                }
            },
            "/shop/orders/{id}/pages/{page}": {
                "get": {
                    "operationId": "getOrderPage",
                    "summary": "A page of the order's lines and reconciliation lines; pages 1 to `pages`, "
                    "concatenated in order, hold them all",
                    "parameters": [MESSAGE_ID, _number("page", "The page number, from 1 (every order has page 1).", 1)],
                    "responses": {
                        "200": {"description": "The page", **_json(OrderPage)},
                        **_errors(401, 404, not_found="No order with this message id, or no such page"),
                    },
                }
            },
            "/shop/orders/{id}/attachments/{index}": {
                "get": {
                    "operationId": "getOrderAttachment",
                    "summary": "One attachment of the order, its bytes base64-encoded",
                    "parameters": [
                        MESSAGE_ID,
                        _number("index", "The attachment's position in the message's `attachments`, from 0.", 0),
                    ],
                    "responses": {
                        "200": {"description": "The attachment", **_json(AttachmentContent)},
                        **_errors(401, 404, not_found="No order with this message id, or no attachment at this index"),
                    },
                }
            },
            "/shop/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object", "required": ["openapi"]}}},
                        },
                        **{code: _GATEWAY_ERRORS[code] for code in ("429", "500", "502", "504")},
                    },
                }
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    DOCUMENT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
