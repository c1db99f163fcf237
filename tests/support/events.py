"""API Gateway REST (proxy, payload v1) events for driving the handlers directly in tests."""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from typing import Any

from infra.local.gateway import MAX_LAMBDA_RESPONSE_BYTES
from infra.local.gateway import lambda_payload_bytes as lambda_payload_bytes  # the tests count as it does

DEFAULT_SOURCE_IP = "192.0.2.10"  # TEST-NET-1
# What Lambda hands back to API Gateway: 6 MB of the response as JSON, counted as the local gateway does.
LAMBDA_RESPONSE_LIMIT = MAX_LAMBDA_RESPONSE_BYTES


def assert_fits_lambda(response: dict[str, Any]) -> None:
    """A handler's answer is one Lambda returns: a larger one fails the invocation (API Gateway's 502),
    where calling the handler directly hands it over whole."""
    size = lambda_payload_bytes(response)
    if size > LAMBDA_RESPONSE_LIMIT:  # not an assert: its report would repeat the response
        raise AssertionError(f"a {size:,}-byte response: Lambda returns at most {LAMBDA_RESPONSE_LIMIT:,}")


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    binary: bool = False,
    host: str = "gateway.example.com",
    source_ip: str = DEFAULT_SOURCE_IP,
) -> dict[str, Any]:
    """An event as API Gateway sends it; ``resource`` is the template path (``/shop/sessions/{id}``).

    ``source_ip`` is the caller's address as API Gateway saw it (what source networks are checked against).
    """
    resource = resource or path
    names = re.findall(r"{(\w+)\+?}", resource)
    pattern = "^" + re.sub(r"{\w+\+?}", "([^/]+)", resource) + "$"
    match = re.match(pattern, path)
    parameters = dict(zip(names, match.groups(), strict=True)) if match and names else None
    all_headers = {"Host": host, "X-Forwarded-Proto": "https", **(headers or {})}
    encoded: str | None
    if isinstance(body, bytes):
        encoded = base64.b64encode(body).decode() if binary else body.decode("utf-8")
    else:
        encoded = body
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/test{path}",
            "stage": "test",
            "domainName": host,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip},
        },
        "body": encoded,
        "isBase64Encoded": binary,
    }


def response_header(response: dict[str, Any], name: str) -> str | None:
    """A header of the handler's answer (Powertools fills multiValueHeaders for REST APIs)."""
    for key, values in {
        **{k: [v] for k, v in (response.get("headers") or {}).items()},
        **(response.get("multiValueHeaders") or {}),
    }.items():
        if key.lower() == name.lower():
            return values[0]
    return None


def response_body(response: dict[str, Any]) -> bytes:
    """The handler's answer's body as the client gets it (API Gateway decodes a base64 one)."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
