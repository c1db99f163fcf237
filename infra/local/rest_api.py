"""What a REST API of template.yaml adds around its functions: binary media types and gateway responses.

The local gateway (``infra/local/gateway.py``) uses these so that a request meets locally what it
meets deployed:
- ``BinaryMediaTypes``: a body whose Content-Type matches one reaches the function base64-encoded
  (``isBase64Encoded``), whatever its bytes.
- ``GatewayResponses``: the answers API Gateway gives itself (unknown route, missing API key, an
  event too large for Lambda, a function that failed) use the API's template for that response
  type, else its ``DEFAULT_4XX`` / ``DEFAULT_5XX``, else API Gateway's own JSON. Only ``$context`` variables are
  substituted, as API Gateway does in gateway responses (those the local gateway knows; the others
  stay as written), and only literal header values (``'...'``) are sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from infra.local.template import Intrinsics, Template

# SAM's implicit API, used by Api events that name no RestApiId (its settings are Globals.Api).
IMPLICIT_API: Final = "ServerlessRestApi"


@dataclass(frozen=True)
class GatewayError:
    """An answer API Gateway gives without (or instead of) the function's."""

    response_type: str  # GatewayResponses key, e.g. MISSING_AUTHENTICATION_TOKEN
    status: int  # API Gateway's default status for it
    message: str  # API Gateway's default JSON body: {"message": ...}
    error_type: str  # x-amzn-ErrorType

    @property
    def fallback_type(self) -> str:
        return "DEFAULT_4XX" if self.status < 500 else "DEFAULT_5XX"


MISSING_AUTHENTICATION_TOKEN: Final = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
INVALID_API_KEY: Final = GatewayError("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
# An event over what Lambda takes (6 MB); a body over 10 MB is refused before any API sees it.
REQUEST_TOO_LARGE: Final = GatewayError("REQUEST_TOO_LARGE", 413, "Request Too Long", "BadRequestException")
# A function that raised or answered something that is not a proxy response: API Gateway says 502.
# It names no response type of its own for that here, so the API's DEFAULT_5XX applies.
FUNCTION_FAILED: Final = GatewayError("DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException")
# Lambda could not hand the function's answer back (over its 6 MB): API Gateway's access log names
# this INTEGRATION_FAILURE (observed, DataBiosphere/azul#8258), so that response type applies.
INTEGRATION_FAILURE: Final = GatewayError(
    "INTEGRATION_FAILURE", 502, "Internal server error", "InternalServerErrorException"
)
# A base64 answer (isBase64Encoded) that is not base64, where API Gateway decodes it ("when base64
# decoding fails on binary data when binary support is enacted", Gateway response types).
API_CONFIGURATION_ERROR: Final = GatewayError(
    "API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException"
)
# No answer from the function within the integration timeout (29 s at most for a REST API).
INTEGRATION_TIMEOUT: Final = GatewayError(
    "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out", "InternalServerErrorException"
)


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: Mapping[str, str]
    templates: Mapping[str, str]  # media type -> body template


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class RestApi:
    logical_id: str
    binary_media_types: tuple[str, ...] = ()
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)

    def is_binary(self, content_type: str) -> bool:
        """Whether a body of ``content_type`` reaches the function base64-encoded (``*/*`` and ``type/*`` included)."""
        media_type = content_type.split(";", 1)[0].strip().lower()
        if not media_type:
            return False
        major = media_type.split("/", 1)[0]
        return any(binary in (media_type, "*/*", f"{major}/*") for binary in self.binary_media_types)

    def answer(self, error: GatewayError, *, context: Mapping[str, str], accept: str = "") -> Answer:
        """API Gateway's answer for ``error`` on this API; ``context`` holds the request's ``$context``
        variables (``requestId``, ``stage``...)."""
        specific = self.gateway_responses.get(error.response_type)
        fallback = self.gateway_responses.get(error.fallback_type)
        response = specific or fallback
        # A response of the type's own keeps the type's status unless it sets one; the fallback's
        # status, when set, applies to every type of its class that has no response of its own.
        if specific is not None:
            status = specific.status or error.status
        else:
            status = (fallback and fallback.status) or error.status
        headers = [("x-amzn-ErrorType", error.error_type)]
        if response is None or not response.templates:
            body = json.dumps({"message": error.message}).encode()
            headers.append(("Content-Type", "application/json"))
        else:
            template = _template_for(response.templates, accept)
            body = _substitute(template, context, error).encode("utf-8")
        if response is not None:
            headers += list(response.headers.items())
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return Answer(status, headers, body)


PLAIN_API: Final = RestApi("(none)")


def rest_apis(template: Template, intrinsics: Intrinsics) -> dict[str, RestApi]:
    """Every ``AWS::Serverless::Api`` of the template, and the implicit one; Globals.Api applies to all."""
    resources = template.get("Resources") or {}
    globals_api = (template.get("Globals") or {}).get("Api") or {}
    apis = {
        logical_id: _rest_api(logical_id, {**globals_api, **(resource.get("Properties") or {})}, intrinsics)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Api"
    }
    apis.setdefault(IMPLICIT_API, _rest_api(IMPLICIT_API, globals_api, intrinsics))
    return apis


def api_of_event(event_properties: Mapping[str, Any]) -> str:
    """The logical id of the API an ``Api`` event belongs to."""
    match event_properties.get("RestApiId"):
        case {"Ref": str() as api_id}:
            return api_id
        case str() as api_id:
            return api_id
    return IMPLICIT_API


def _rest_api(logical_id: str, properties: Mapping[str, Any], intrinsics: Intrinsics) -> RestApi:
    resolved = intrinsics.resolve_known(dict(properties))
    if not isinstance(resolved, dict):
        resolved = {}
    binary = tuple(
        str(media_type).replace("~1", "/").lower()
        for media_type in resolved.get("BinaryMediaTypes") or ()
        if isinstance(media_type, str)
    )
    responses = {
        str(response_type): _gateway_response(settings)
        for response_type, settings in (resolved.get("GatewayResponses") or {}).items()
        if isinstance(settings, dict)
    }
    return RestApi(logical_id, binary, responses)


def _gateway_response(settings: Mapping[str, Any]) -> GatewayResponse:
    status = settings.get("StatusCode")
    headers = ((settings.get("ResponseParameters") or {}).get("Headers")) or {}
    return GatewayResponse(
        status=int(status) if status is not None else None,
        # Values are mapping expressions: a static value is written in single quotes. Others
        # (method.request.header.X...) are not evaluated locally, so those headers are left out.
        headers={str(name): str(value)[1:-1] for name, value in headers.items() if _is_literal(value)},
        templates={str(media): str(body) for media, body in (settings.get("ResponseTemplates") or {}).items()},
    )


def _is_literal(expression: Any) -> bool:
    text = str(expression)
    return len(text) >= 2 and text[0] == text[-1] == "'"


def _template_for(templates: Mapping[str, str], accept: str) -> str:
    # The template of the media type the client accepts, else application/json (API Gateway's default).
    for media_type in (part.split(";", 1)[0].strip().lower() for part in accept.split(",")):
        if media_type in templates:
            return templates[media_type]
    if "application/json" in templates:
        return templates["application/json"]
    return next(iter(templates.values()))


_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])")


def _substitute(template: str, context: Mapping[str, str], error: GatewayError) -> str:
    values = {
        **context,
        "error.responseType": error.response_type,
        "error.message": error.message,
        "error.messageString": json.dumps(error.message),
    }
    # A variable the local gateway does not know stays as written, as Velocity leaves an unset one.
    return _CONTEXT_VARIABLE.sub(lambda found: values.get(found.group(1), found.group(0)), template)
