"""Just enough HTTP for the local-only pages: a parsed request, a reply, a router, and a client.

The local gateway hands each `/_dev/...` request to a `DevRoute` as the raw `BaseHTTPRequestHandler`;
`Pages` turns that into `Request` → `Reply` functions, and writes the reply in full (Content-Length,
keep-alive safe: the request body is always read first).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from ipaddress import ip_address
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from infra.local.dev.html import Html, escape, new_nonce, page

# Forms here are small; a returned cart of thousands of lines is the largest thing posted.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
HTTP_TIMEOUT_SECONDS: Final = 30.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    cookies: dict[str, str]

    @property
    def origin(self) -> str:
        """The origin the browser used to reach us (scheme and host as it sees them)."""
        return f"http://{self.headers.get('host') or '127.0.0.1'}"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def form(self) -> dict[str, str]:
        """An urlencoded form body; the last of repeated fields wins."""
        return dict(self.form_pairs())

    def form_pairs(self) -> list[tuple[str, str]]:
        if self.content_type != "application/x-www-form-urlencoded":
            return []
        return parse_qsl(self.body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def html_reply(
    title: str,
    body: Html,
    *,
    status: int = 200,
    nav: Html | None = None,
    script: str | None = None,
    csp: Mapping[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """A page with a nonce-based Content-Security-Policy; `csp` adds or replaces directives."""
    nonce = new_nonce()
    directives = {
        "default-src": "'none'",
        "script-src": f"'nonce-{nonce}'",
        "style-src": f"'nonce-{nonce}'",
        "img-src": "'self' data:",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
        "base-uri": "'none'",
        **(csp or {}),
    }
    policy = "; ".join(f"{name} {value}" for name, value in directives.items() if value)
    return Reply(
        status=status,
        body=page(title, body, nonce=nonce, nav=nav, script=script),
        headers=[
            ("Content-Security-Policy", policy),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            *(headers or []),
        ],
    )


def redirect(location: str, *, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status=303, headers=[("Location", location), ("Cache-Control", "no-store"), *(headers or [])])


def plain_error(status: int, message: str) -> Reply:
    title = {404: "Page not found", 405: "Method not allowed"}.get(status, "Error")
    body = Html(f"<section class=error><h1>{escape(title)}</h1><p>{escape(message)}</p></section>")
    return html_reply(title, body, status=status)


Page = Callable[[Request], Reply]


class Pages:
    """Routes `(method, path)` under one prefix to page functions; a `DevRoute` for the gateway."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")
        self._routes: dict[tuple[str, str], Page] = {}

    def route(self, method: str, path: str) -> Callable[[Page], Page]:
        def register(function: Page) -> Page:
            self._routes[(method, self.prefix + path.rstrip("/"))] = function
            return function

        return register

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        request = read_request(handler)
        function = self._routes.get((request.method, request.path.rstrip("/")))
        if function is None:
            known_path = any(path == request.path.rstrip("/") for _, path in self._routes)
            reply = plain_error(405 if known_path else 404, f"No page for {request.method} {request.path}")
        else:
            reply = function(request)
        send(handler, reply)


def read_request(handler: BaseHTTPRequestHandler) -> Request:
    length = int(handler.headers.get("Content-Length") or 0)
    if length > MAX_BODY_BYTES:
        raise ValueError(f"request body of {length} bytes is over the limit")
    body = handler.rfile.read(length) if length > 0 else b""
    target = urlsplit(handler.path)
    cookies: dict[str, str] = {}
    try:
        jar = SimpleCookie(handler.headers.get("Cookie") or "")
        cookies = {name: morsel.value for name, morsel in jar.items()}
    except CookieError:
        pass  # a malformed Cookie header from another local app: ignore it
    return Request(
        method=handler.command,
        path=target.path,
        query=dict(parse_qsl(target.query, keep_blank_values=True)),
        headers={name.lower(): value for name, value in handler.headers.items()},
        body=body,
        cookies=cookies,
    )


def send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    for name, value in reply.headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(reply.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(reply.body)


# --- an HTTP client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class HttpFailure(Exception):
    """No HTTP answer at all (refused, timed out, bad URL)."""


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = HTTP_TIMEOUT_SECONDS,
) -> HttpAnswer:
    """One request; any HTTP status is an answer (not an exception). Loopback never goes via a proxy."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise HttpFailure(f"not an http(s) URL: {url!r}")
    handlers = [urllib.request.ProxyHandler({})] if is_loopback(url) else []
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpAnswer(error.code, error.headers.get("Content-Type", ""), error.read())
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise HttpFailure(f"{method} {url}: {getattr(error, 'reason', error)}") from None
