"""Helpers of the browser tests that stand for other parties: the operator's CLI against the test's stack,
and small web sites on this machine (another origin than the gateway's), as a buyer's system or any
page a user opens would be."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from punchout.cxml.models import Extrinsic
from tests.e2e.conftest import DevStack
from tests.support import builders


def punchout(dev_stack: DevStack, *arguments: str) -> str:
    """`punchout --state-dir <the stack's> ...`; its stdout."""
    script = Path(sys.executable).parent / "punchout"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "punchout.cli"]
    environment = {key: value for key, value in os.environ.items() if key != "TABLE_NAME"}
    result = subprocess.run(
        [*command, "--state-dir", str(dev_stack.log.parent), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""


Handler = Callable[[str, str], Answer]  # (method, path) -> answer


@dataclass
class Site:
    port: int
    requests: list[tuple[str, str]]  # (method, path) as received

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def site(handle: Handler) -> Iterator[Site]:
    """A web site on 127.0.0.1 (Chromium lets only pages served from a loopback address reach the
    gateway's); reached as http://localhost:<port> it is another origin than the gateway's too."""
    received: list[tuple[str, str]] = []

    class Request(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            received.append((self.command, self.path))
            answer = handle(self.command, self.path)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(port=server.server_address[1], requests=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def html(title: str, script: str = "") -> Answer:
    body = f"<!DOCTYPE html><title>{title}</title>" + (f"<script>{script}</script>" if script else "")
    return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, body.encode())


def call(base_url: str, method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
    """One HTTP request to ``base_url`` as a server would send it (no browser): its answer."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@dataclass
class BuyerSystem:
    """A procurement system's site, reached under ``host``: pages the test puts up, and the cart receiver
    (any POST), registered as a partner authenticated by its network."""

    site: Site
    pages: dict[str, str]
    identity: str
    host: str
    receiver_path: str

    @property
    def receiver(self) -> str:
        return self.site.url(self.receiver_path, host=self.host)

    def show(self, path: str, body: str) -> str:
        self.pages[path] = body
        return self.site.url(path, host=self.host)

    def start_page(self, dev_stack: DevStack, extrinsics: list[Extrinsic] | None = None) -> str:
        """The StartPage URL of a new session, as the procurement system's server gets it."""
        setup = builders.setup_request(
            browser_form_post=self.receiver, identity=self.identity, secret=None, extrinsics=extrinsics or []
        )
        answer = call(dev_stack.base_url, "POST", "/cxml/setup", setup, **{"Content-Type": "text/xml"})
        assert answer.status == 200, answer.body
        return etree.fromstring(answer.body).findtext(".//StartPage/URL") or ""


@contextmanager
def buyer_system(
    dev_stack: DevStack, partner_id: str, name: str, identity: str, *, host: str, receiver_path: str
) -> Iterator[BuyerSystem]:
    """A procurement system's site on this machine, registered with the stack as partner ``partner_id``."""
    pages: dict[str, str] = {}

    def handle(method: str, path: str) -> Answer:
        if method == "POST":
            return html("Cart received")
        if path in pages:
            return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, pages[path].encode())
        return Answer(404, {"Content-Type": "text/plain"}, b"not found")

    with site(handle) as system:
        punchout(
            dev_stack,
            *("partners", "add", partner_id, "--name", name),
            *("--from", f"NetworkID:{identity}", "--no-secret", "--source-network", "127.0.0.1/32"),
            *("--post-host", f"{host}:{system.port}", "--allow-http", "--unspsc", "44120000"),
            *("--shop-url", dev_stack.state["urls"]["demo_shop"]),
        )
        yield BuyerSystem(system, pages, identity, host, receiver_path)
