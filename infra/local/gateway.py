"""A local API Gateway: HTTP requests in, REST API proxy events (payload 1.0) to the real handlers.

Routes come from template.yaml: every `AWS::Serverless::Function` event of `Type: Api` (Path, Method,
`{param}` and greedy `{param+}` placeholders, method `ANY`). As in API Gateway, a literal segment
beats a placeholder, a placeholder beats a greedy one, and an exact method beats `ANY`.

What the handlers see follows the deployed API:
- URLs work with or without the stage prefix (`/cxml/setup` and `/<stage>/cxml/setup`), like an
  execute-api URL and a custom domain. `path` never has the stage; `requestContext.path` is the path
  as requested. `requestContext.domainName` is the Host header, port included, so that handlers
  building absolute URLs from it point back at this server.
- `X-Forwarded-For`, `-Port` and `-Proto` are added as API Gateway adds them; `Content-Length` and
  `Connection` are left out, as API Gateway leaves them out.
- The body is passed base64-encoded (`isBase64Encoded`) when its Content-Type is one of the route's
  API's BinaryMediaTypes, as deployed; otherwise as text, read as UTF-8: bytes that are not UTF-8
  arrive as U+FFFD, garbled as API Gateway garbles them (and the local gateway logs it).
- A response the function marks `isBase64Encoded` reaches the client as the decoded bytes only when
  the first media type of the request's Accept is one of the API's BinaryMediaTypes; otherwise API
  Gateway passes the base64 text on as it is (and the local gateway logs why).
- One invocation at a time per function, as one Lambda execution environment handles one event at a
  time: module-level state (Powertools' resolver keeps the current event on the app) stays safe.
- Timeouts are the deployed ones: a handler still running at its function's `Timeout` (counted from
  the start of the invocation, as Lambda does; the first import is the init phase, not counted) is a
  failed invocation, 502 with the API's DEFAULT_5XX; no answer within the integration timeout (29 s,
  counted from the request, waiting for the function included) is INTEGRATION_TIMEOUT (504
  `{"message": "Endpoint request timed out"}`). A thread cannot be killed: the late handler runs on,
  its answer discarded, and its function takes no other event until it returns.
- API Gateway's own answers come from the API's GatewayResponses (`infra/local/rest_api.py`), else
  are its JSON: an unknown route is MISSING_AUTHENTICATION_TOKEN (403 `{"message": "Missing
  Authentication Token"}`; the API is the one whose routes share the path's first segment); an
  event over Lambda's 6 MB (as JSON: a binary body counts 4/3 of its bytes) is REQUEST_TOO_LARGE
  (413 `{"message": "Request Too Long"}`); a body whose length cannot be read is a 400; a handler that
  raises or returns a malformed response gets 502 with the API's DEFAULT_5XX (`{"message":
  "Internal server error"}`), one over Lambda's 6 MB (as JSON) 502 with its INTEGRATION_FAILURE
  (else DEFAULT_5XX), a base64 one that is not base64 (where API Gateway decodes it) 500 with its
  API_CONFIGURATION_ERROR (else DEFAULT_5XX), and the reason is logged.
- A body over 10 MB never reaches the API: API Gateway's front door answers 413 in plain text
  (`HTTP content length exceeded 10485760 bytes.`), which no gateway response changes, and the
  connection then closes; a client awaiting `100 Continue` is refused before it sends the body.
- API keys: routes whose event (or API) sets `Auth.ApiKeyRequired` need an `x-api-key` header whose
  value is registered in `Gateway.api_keys` (value → key id), otherwise INVALID_API_KEY (403
  `{"message": "Forbidden"}`).

Local-only pages hang off `/_dev/` prefixes (`Gateway.dev_routes`); they never shadow a template route.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from infra.local.environ import patched_environ
from infra.local.lifecycle import Service
from infra.local.rest_api import (
    API_CONFIGURATION_ERROR,
    FUNCTION_FAILED,
    INTEGRATION_FAILURE,
    INTEGRATION_TIMEOUT,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    PLAIN_API,
    REQUEST_TOO_LARGE,
    GatewayError,
    RestApi,
    api_of_event,
    rest_apis,
)
from infra.local.template import ACCOUNT_ID, REGION, FunctionSpec, Intrinsics, Template, functions

DEV_PREFIX: Final = "/_dev/"
# How long API Gateway waits for the function at most (REST API integration timeout: 50 ms to 29 s).
INTEGRATION_TIMEOUT_SECONDS: Final = 29.0
# API Gateway's payload limit for REST APIs.
MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024
# What Lambda hands back to API Gateway at most, the response as JSON (a larger one is an error).
MAX_LAMBDA_RESPONSE_BYTES: Final = 6 * 1024 * 1024
# What Lambda takes at most in a synchronous invocation: the event as JSON, the body base64-encoded
# when it is binary (4/3 of its bytes). API Gateway answers a larger one REQUEST_TOO_LARGE.
MAX_LAMBDA_REQUEST_BYTES: Final = 6 * 1024 * 1024
# API Gateway's answer to a body over MAX_REQUEST_BYTES, before any API sees it (observed answers).
_BODY_OVER_LIMIT: Final = b"HTTP content length exceeded 10485760 bytes."
# A body whose length or chunks cannot be read: refused before any route sees it.
_MALFORMED_REQUEST: Final = GatewayError("DEFAULT_4XX", 400, "Bad Request", "BadRequestException")
# A local-only page that raised: not API Gateway's answer, a plain 500.
_DEV_PAGE_FAILED: Final = GatewayError("DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException")
# What a Lambda proxy response may hold: none of the keys is required, but any other one makes
# API Gateway answer 502 ("Malformed Lambda proxy response").
_PROXY_RESPONSE_KEYS: Final = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
# Response headers a REST API renames (the function's own are sent as x-amzn-Remapped-<name>).
_REMAPPED: Final = {"www-authenticate": "x-amzn-Remapped-WWW-Authenticate"}
# Request headers API Gateway keeps out of the event.
_REQUEST_HEADERS_DROPPED: Final = frozenset({"content-length", "connection"})
# Hop-by-hop and length headers are the server's business, not the handler's.
_RESPONSE_HEADERS_DROPPED: Final = frozenset({"content-length", "transfer-encoding", "connection"})

# A local-only page: it writes the whole response through the request handler it is given.
DevRoute = Callable[[BaseHTTPRequestHandler], None]
LambdaHandler = Callable[[dict[str, Any], Any], Any]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    path: str  # as written in the template: /shop/sessions/{id}
    method: str  # upper case, or ANY
    function: FunctionSpec
    api_key_required: bool = False
    api: RestApi = field(default=PLAIN_API, compare=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _parameters: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # Orders the routes matching one path: per segment, literal (0) < {param} (1) < {param+} (2).
    specificity: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, parameters, specificity = [], [], []
        for segment in self.path.strip("/").split("/") if self.path.strip("/") else []:
            if placeholder := re.fullmatch(r"\{([^}]+?)(\+?)\}", segment):
                name, greedy = placeholder.groups()
                parameters.append(name)
                regex.append("(.+)" if greedy else "([^/]+)")
                specificity.append(2 if greedy else 1)
            else:
                regex.append(re.escape(segment))
                specificity.append(0)
        object.__setattr__(self, "_pattern", re.compile("/" + "/".join(regex)))
        object.__setattr__(self, "_parameters", tuple(parameters))
        object.__setattr__(self, "specificity", tuple(specificity))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._pattern.fullmatch(path)
        if found is None:
            return None
        # As requested, percent-encoding included: API Gateway does not decode path parameters (nor
        # `path`). A greedy one loses a trailing slash, which `path` keeps.
        values = [value.rstrip("/") or value for value in found.groups()]
        return dict(zip(self._parameters, values, strict=True))


def routes_from_template(template: Template, intrinsics: Intrinsics | None = None) -> list[Route]:
    intrinsics = intrinsics or Intrinsics(template)
    apis = rest_apis(template, intrinsics)
    routes = []
    for spec in functions(template, intrinsics).values():
        for event_name, event in spec.events.items():
            if event.get("Type") != "Api":
                continue  # HttpApi (payload 2.0), SQS, schedules...: not served here
            properties = event.get("Properties") or {}
            path, method = intrinsics.resolve(properties.get("Path")), intrinsics.resolve(properties.get("Method"))
            if not isinstance(path, str) or not isinstance(method, str):
                logger.warning("%s.%s: Path and Method must be strings; route skipped", spec.logical_id, event_name)
                continue
            routes.append(
                Route(
                    path=path,
                    method=method.upper(),
                    function=spec,
                    api_key_required=_api_key_required(template, properties),
                    api=apis.get(api_of_event(properties), PLAIN_API),
                )
            )
    return routes


def _api_key_required(template: Template, event_properties: dict[str, Any]) -> bool:
    # The event's own Auth wins, then its API's, then Globals.Api (SAM's precedence).
    if "ApiKeyRequired" in (event_properties.get("Auth") or {}):
        return bool(event_properties["Auth"]["ApiKeyRequired"])
    match event_properties.get("RestApiId"):
        case {"Ref": str() as api_id}:
            api_properties = (template.get("Resources") or {}).get(api_id, {}).get("Properties") or {}
            if "ApiKeyRequired" in (api_properties.get("Auth") or {}):
                return bool(api_properties["Auth"]["ApiKeyRequired"])
    globals_auth = ((template.get("Globals") or {}).get("Api") or {}).get("Auth") or {}
    return bool(globals_auth.get("ApiKeyRequired", False))


@dataclass
class LocalLambdaContext:
    """What the Lambda runtime passes as `context` (the attributes Powertools' LambdaContext types)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float = field(repr=False)  # time.monotonic() at which the function would time out
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class MalformedResponse(Exception):
    """The handler's return value is not a proxy response API Gateway would accept."""


class UndecodableBody(Exception):
    """The handler's answer says isBase64Encoded, API Gateway decodes it, and it is not base64."""


class ResponseTooLarge(Exception):
    """The handler's answer is over what Lambda hands back (6 MB as JSON)."""


class FunctionTimedOut(Exception):
    """The handler ran past its function's Timeout: Lambda ends the invocation as an error."""


class IntegrationTimedOut(Exception):
    """No answer within API Gateway's integration timeout."""


# What API Gateway answers for each way an invocation fails (the reason is logged).
_INVOCATION_FAILURES: Final[dict[type[Exception], GatewayError]] = {
    UndecodableBody: API_CONFIGURATION_ERROR,
    ResponseTooLarge: INTEGRATION_FAILURE,
    MalformedResponse: FUNCTION_FAILED,
    FunctionTimedOut: FUNCTION_FAILED,
    IntegrationTimedOut: INTEGRATION_TIMEOUT,
}


class Gateway(Service):
    """Serves `routes` on http://host:port (port 0: a free one) in a background thread."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "local",
        environment: Mapping[str, str] | None = None,
        api_keys: Mapping[str, str] | None = None,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    ) -> None:
        # Most specific first; ties keep template order.
        self.routes = sorted(routes, key=lambda route: (route.specificity, route.method == "ANY"))
        self.stage = stage
        self.integration_timeout = integration_timeout
        self.environment = dict(environment or {})
        self.dev_routes: dict[str, DevRoute] = {}  # add_dev_route fills it
        # Looked up per request: the stack passes a view of the table (keys made by the CLI work).
        self.api_keys: Mapping[str, str] = api_keys if api_keys is not None else {}
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cleanup = ExitStack()
        self._handlers: dict[str, LambdaHandler] = {}
        self._import_lock = threading.Lock()
        self._invocation_locks = {route.function.logical_id: threading.Lock() for route in self.routes}

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the gateway is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    def add_dev_route(self, prefix: str, page: DevRoute) -> None:
        if not prefix.startswith(DEV_PREFIX):
            raise ValueError(f"local-only routes live under {DEV_PREFIX}, got {prefix!r}")
        self.dev_routes[prefix] = page

    def start(self) -> None:
        # One process serves every function: their environments are set once, before any import.
        self._cleanup.enter_context(patched_environ(self.environment))
        try:
            self._server = _Server(self._address, _RequestHandler, self)
        except OSError as error:
            self._cleanup.close()
            raise OSError(f"cannot listen on {self._address[0]}:{self._address[1]}: {error}") from error
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="local-gateway", daemon=True
        )
        self._thread.start()
        logger.info("gateway listening on %s (%d routes)", self.base_url, len(self.routes))

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._cleanup.close()

    # --- one request ------------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        request_id = str(uuid.uuid4())
        target = urlsplit(request.path)
        for prefix, page in self.dev_routes.items():
            if target.path == prefix.rstrip("/") or target.path.startswith(prefix):
                self._serve_dev_route(request, page)
                return

        found = self._match(request.command, target.path)
        api = self._api_of(found, target.path)
        try:
            body = _read_body(request)
        except _BodyTooLarge:
            self.refuse_too_large(request)
            return
        except _MalformedBody:
            # What is left of the body stays unread, so the connection cannot carry another request.
            self._send_error(request, api, _MALFORMED_REQUEST, request_id, close=True)
            return
        if found is None:
            self._send_error(request, api, MISSING_AUTHENTICATION_TOKEN, request_id)
            return
        route, path, parameters = found
        api_key = request.headers.get("x-api-key")
        if route.api_key_required and (api_key is None or api_key not in self.api_keys):
            self._send_error(request, api, INVALID_API_KEY, request_id)
            return

        event = self._event(request, route, path, parameters, body, request_id, api_key)
        size = len(json.dumps(event, ensure_ascii=False).encode("utf-8"))  # its UTF-8 bytes, as sent
        if size > MAX_LAMBDA_REQUEST_BYTES:
            logger.error("%s %s: the event is %d bytes as JSON, over Lambda's 6 MB", request.command, target.path, size)
            self._send_error(request, api, REQUEST_TOO_LARGE, request_id)
            return
        try:
            accept = request.headers.get("Accept", "").split(",", 1)[0]
            status, headers, payload = _http_response(
                self._invoke(route.function, event), binary_accepted=route.api.is_binary(accept)
            )
        except tuple(_INVOCATION_FAILURES) as error:
            logger.error("%s %s: %s: %s", request.command, target.path, type(error).__name__, error)
            self._send_error(request, api, _INVOCATION_FAILURES[type(error)], request_id)
            return
        except Exception:
            # API Gateway hides the error from the caller; the function's log has the traceback.
            logger.exception("%s %s: %s raised", request.command, target.path, route.function.handler)
            self._send_error(request, api, FUNCTION_FAILED, request_id)
            return
        self._send(request, status, headers, payload, request_id)

    def refuse_too_large(self, request: BaseHTTPRequestHandler) -> None:
        """Answer a body over 10 MB as API Gateway's front door does (plain text, no request id, whatever
        the API's gateway responses), and close the connection: what is left of the body stays unread,
        or was never sent (the client awaits 100 Continue)."""
        headers = [("Content-Type", "text; charset=utf-8"), ("Connection", "close")]
        self._send(request, 413, headers, _BODY_OVER_LIMIT, request_id=None)

    def _api_of(self, found: tuple[Route, str, dict[str, str]] | None, raw_path: str) -> RestApi:
        """The matched route's API; for a path no route serves, the API whose routes start with the
        same segment, if only one does."""
        if found is not None:
            return found[0].api
        first = _first_segment(self._without_stage(raw_path) or raw_path)
        apis = {route.api.logical_id: route.api for route in self.routes if _first_segment(route.path) == first}
        return next(iter(apis.values())) if len(apis) == 1 else PLAIN_API

    def _without_stage(self, raw_path: str) -> str | None:
        """``raw_path`` without its stage prefix (an execute-api URL), or None if it has none."""
        stage_prefix = f"/{self.stage}"
        if raw_path == stage_prefix or raw_path.startswith(stage_prefix + "/"):
            return raw_path[len(stage_prefix) :] or "/"
        return None

    def _match(self, method: str, raw_path: str) -> tuple[Route, str, dict[str, str]] | None:
        without_stage = self._without_stage(raw_path)
        for path in [raw_path] if without_stage is None else [raw_path, without_stage]:
            for route in self.routes:
                if route.method not in (method, "ANY"):
                    continue
                parameters = route.match(path)
                if parameters is not None:
                    return route, path, parameters
        return None

    def _event(
        self,
        request: BaseHTTPRequestHandler,
        route: Route,
        path: str,
        parameters: dict[str, str],
        body: bytes,
        request_id: str,
        api_key: str | None,
    ) -> dict[str, Any]:
        client_ip = request.client_address[0]
        received = list(request.headers.items())
        forwarded_for = ", ".join([*request.headers.get_all("X-Forwarded-For", []), client_ip])
        added = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Port": str(self.port), "X-Forwarded-Proto": "http"}
        # The connection's own headers do not reach the function (API Gateway's events have none).
        replaced = {name.lower() for name in added} | _REQUEST_HEADERS_DROPPED
        received = [(name, value) for name, value in received if name.lower() not in replaced]
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in [*received, *added.items()]:
            headers[name] = value  # the last of repeated headers, as API Gateway does
            multi_headers.setdefault(name, []).append(value)

        target = urlsplit(request.path)
        multi_query: dict[str, list[str]] = {}
        # A literal `;` separates parameters as `&` does for API Gateway (its documented REST API
        # limitation); an encoded one (%3B) stays in the value.
        for name, value in parse_qsl(target.query.replace(";", "&"), keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)

        content_type = request.headers.get("Content-Type", "")
        encoded_body, is_base64 = _event_body(body, content_type, route.api)
        now = datetime.now(UTC)
        domain = request.headers.get("Host") or f"{self._address[0]}:{self.port}"
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.command,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "domainName": domain,
                "domainPrefix": domain.split(".")[0],
                "extendedRequestId": request_id,
                "httpMethod": request.command,
                "identity": {
                    "sourceIp": client_ip,
                    "userAgent": request.headers.get("User-Agent"),
                    "apiKey": api_key if route.api_key_required else None,
                    "apiKeyId": self.api_keys.get(api_key or "") if route.api_key_required else None,
                    "accountId": None,
                    "caller": None,
                    "user": None,
                    "userArn": None,
                    "accessKey": None,
                    "cognitoIdentityPoolId": None,
                    "cognitoIdentityId": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                },
                "path": target.path,
                "protocol": request.request_version,
                "requestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": f"{route.method} {route.path}",
                "resourcePath": route.path,
                "stage": self.stage,
            },
            "body": encoded_body,
            "isBase64Encoded": is_base64,
        }

    def _invoke(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        integration_deadline = time.monotonic() + self.integration_timeout
        handler = self._handler(function.handler)
        started, finished = threading.Event(), threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            with self._invocation_locks[function.logical_id]:
                outcome["deadline"] = time.monotonic() + function.timeout
                context = LocalLambdaContext(
                    function_name=function.logical_id,
                    memory_limit_in_mb=function.memory_size,
                    invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function.logical_id}",
                    aws_request_id=str(uuid.uuid4()),
                    deadline=outcome["deadline"],
                )
                started.set()
                try:
                    outcome["result"] = handler(event, context)
                except Exception as error:
                    outcome["error"] = error
                finally:
                    finished.set()

        threading.Thread(target=run, name=f"invoke-{function.logical_id}", daemon=True).start()
        if not started.wait(max(0.0, integration_deadline - time.monotonic())):
            raise IntegrationTimedOut(
                f"{function.logical_id} was busy past the {self.integration_timeout:g} s integration timeout"
            )
        function_deadline: float = outcome["deadline"]
        if not finished.wait(max(0.0, min(function_deadline, integration_deadline) - time.monotonic())):
            if function_deadline <= integration_deadline:
                raise FunctionTimedOut(
                    f"{function.logical_id} timed out after its {function.timeout} s Timeout (it runs on locally)"
                )
            raise IntegrationTimedOut(
                f"{function.logical_id} gave no answer within the {self.integration_timeout:g} s integration timeout"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _handler(self, dotted: str) -> LambdaHandler:
        # Imported on first use, like a cold start: after the environment is set.
        with self._import_lock:
            if dotted not in self._handlers:
                module_name, _, attribute = dotted.rpartition(".")
                handler = getattr(importlib.import_module(module_name), attribute)
                if not callable(handler):
                    raise TypeError(f"{dotted} is not callable")
                self._handlers[dotted] = handler
            return self._handlers[dotted]

    def _serve_dev_route(self, request: BaseHTTPRequestHandler, page: DevRoute) -> None:
        try:
            page(request)
        except Exception:
            logger.exception("%s %s: local-only page raised", request.command, request.path)
            self._send_error(request, PLAIN_API, _DEV_PAGE_FAILED, str(uuid.uuid4()))

    def _send_error(
        self,
        request: BaseHTTPRequestHandler,
        api: RestApi,
        error: GatewayError,
        request_id: str,
        *,
        close: bool = False,
    ) -> None:
        context = {
            "requestId": request_id,
            "extendedRequestId": request_id,
            "stage": self.stage,
            "httpMethod": request.command,
            "path": urlsplit(request.path).path,
            "protocol": request.request_version,
            "domainName": request.headers.get("Host") or f"{self._address[0]}:{self.port}",
            "identity.sourceIp": request.client_address[0],
        }
        answer = api.answer(error, context=context, accept=request.headers.get("Accept", ""))
        headers = [*answer.headers, ("Connection", "close")] if close else answer.headers
        self._send(request, answer.status, headers, answer.body, request_id)

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        request_id: str | None,
    ) -> None:
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        if request_id is not None:
            request.send_header("x-amzn-RequestId", request_id)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)


def _first_segment(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


class _BodyTooLarge(Exception):
    """The body is over API Gateway's limit."""


class _MalformedBody(Exception):
    """The body's framing (Content-Length, chunk sizes) cannot be read."""


def _read_body(request: BaseHTTPRequestHandler) -> bytes:
    """The request body, up to MAX_REQUEST_BYTES (a chunked body's Content-Length is ignored, as HTTP/1.1 says)."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(request.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise _MalformedBody from None
            if size < 0:  # int() takes a sign: "-1" would read on until the client closes
                raise _MalformedBody
            if size == 0:
                break
            total += size
            if total > 4 * MAX_REQUEST_BYTES:
                raise _BodyTooLarge  # the client is still sending: the connection closes under it
            if total > MAX_REQUEST_BYTES:
                # Read on (up to a bound), as for a Content-Length body, so that the client then reads
                # the answer: closing under a client still sending resets the connection, answer lost.
                chunks.clear()
                _discard(request, size)
            else:
                chunks.append(request.rfile.read(size))
            request.rfile.readline()  # the CRLF after each chunk
        while request.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        if total > MAX_REQUEST_BYTES:
            raise _BodyTooLarge
        return b"".join(chunks)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise _MalformedBody from None
    if length < 0:
        raise _MalformedBody
    if length > MAX_REQUEST_BYTES:
        if request.headers.get("Expect", "").lower() != "100-continue":
            # The client is sending it: read it (up to a bound) so that it then reads the answer.
            _discard(request, min(length, 4 * MAX_REQUEST_BYTES))
        raise _BodyTooLarge
    return request.rfile.read(length) if length > 0 else b""


def _discard(request: BaseHTTPRequestHandler, length: int) -> None:
    while length > 0:
        chunk = request.rfile.read(min(length, 1 << 20))
        if not chunk:
            return
        length -= len(chunk)


def _event_body(body: bytes, content_type: str, api: RestApi) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if api.is_binary(content_type):
        return base64.b64encode(body).decode("ascii"), True
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        # A text payload is a UTF-8 string in the event: the bytes that are not UTF-8 are lost.
        logger.warning(
            "a body of Content-Type %r (not one of the API's BinaryMediaTypes) is not UTF-8: its invalid bytes"
            " reach the function as U+FFFD, as they would deployed",
            content_type,
        )
        return body.decode("utf-8", errors="replace"), False


def lambda_payload_bytes(payload: Any) -> int:
    """The bytes of an event or an answer as Lambda carries it: JSON. python3.12's runtime writes answers with
    simplejson and ensure_ascii=False (awslambdaric, for AWS_Lambda_python3.12 only; earlier runtimes escaped
    non-ASCII text, six bytes a character), so non-ASCII text is its UTF-8, but U+2028 and U+2029, which
    simplejson escapes even then."""
    text = json.dumps(payload, default=str, ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass")) + 3 * (text.count("\u2028") + text.count("\u2029"))


def _http_response(result: Any, *, binary_accepted: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    """A Lambda proxy response as (status, headers, body); MalformedResponse where API Gateway says 502.

    ``binary_accepted``: the request's first Accept media type is one of the API's BinaryMediaTypes,
    the one case in which API Gateway decodes a base64 body."""
    if not isinstance(result, dict):
        raise MalformedResponse(f"expected a dict, got {type(result).__name__}")
    if unexpected := sorted(set(result) - _PROXY_RESPONSE_KEYS):
        raise MalformedResponse(
            f"unexpected keys {unexpected}: a proxy response holds only {sorted(_PROXY_RESPONSE_KEYS)}"
        )
    size = lambda_payload_bytes(result)
    if size > MAX_LAMBDA_RESPONSE_BYTES:
        raise ResponseTooLarge(f"the response is {size:,} bytes as JSON, over Lambda's 6 MB limit")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")

    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded") and not binary_accepted:
        logger.warning(
            "isBase64Encoded answer sent as base64 text: the request's first Accept media type is not one of"
            " the API's BinaryMediaTypes, so API Gateway would not decode it"
        )
        payload = body.encode("utf-8")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise UndecodableBody(f"isBase64Encoded but the body is not base64: {error}") from None
    else:
        payload = body.encode("utf-8")

    # Both maps merge; for a name in both, multiValueHeaders wins (as API Gateway documents).
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise MalformedResponse("headers and multiValueHeaders must be maps")
    headers = [(name, _header_value(value)) for name, values in multi.items() for value in _as_list(values)]
    in_multi = {name.lower() for name in multi}
    for name, value in single.items():
        if not isinstance(value, str | bool):  # API Gateway takes no number here
            raise MalformedResponse(f"headers.{name} must be a string or a boolean, got {value!r}")
    headers += [(name, _header_value(value)) for name, value in single.items() if name.lower() not in in_multi]
    headers = [(name, value) for name, value in headers if name.lower() not in _RESPONSE_HEADERS_DROPPED]
    # A REST API renames a function's challenge header (clients see no WWW-Authenticate from a function).
    headers = [(_REMAPPED.get(name.lower(), name), value) for name, value in headers]
    for name, value in headers:
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or "\r" in value or "\n" in value:
            raise MalformedResponse(f"invalid header {name!r}: {value!r}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise MalformedResponse(f"header {name} is not Latin-1: {value!r}") from None
    if "content-type" not in {name.lower() for name, _ in headers}:
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    return status, headers, payload


def _as_list(values: Any) -> list[Any]:
    if not isinstance(values, list):
        raise MalformedResponse(f"multiValueHeaders values must be lists, got {values!r}")
    return values


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header value {value!r} is not a scalar")


# A query string in a logged request line: from its `?` to the next space or quote.
_QUERY = re.compile(r"\?[^\s\"']*")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must not keep the process alive at exit

    def __init__(self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, handler_class)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers expect; every response has Content-Length

    def _dispatch(self) -> None:
        self.server.gateway.handle(self)

    def handle_expect_100(self) -> bool:
        # A body over the limit is refused before the client is told to send it.
        try:
            too_large = int(self.headers.get("Content-Length") or 0) > MAX_REQUEST_BYTES
        except ValueError:
            too_large = False
        if too_large:
            self.server.gateway.refuse_too_large(self)
            return False
        return super().handle_expect_100()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The request line without its query string (also where an error quotes the line): a client may put
        # a secret there (a shop's key where its header belongs), and the deployed access log records only
        # the route's resource path. The path stays: its one-time tokens are the local log's known exception.
        logger.info("%s %s", self.address_string(), _QUERY.sub("?[query not logged]", format % args))
