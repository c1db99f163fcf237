"""What a web page can make a browser send to the gateway's cXML routes.

A partner authenticated by its source network alone (`--no-secret --source-network`) trusts every
request from that network, a browser's too: any page an employee opens inside the buyer's network could
post a cXML document (fetch in mode no-cors, or a text/plain form, needs no preflight) and the gateway
would take it as the buyer's. The browser here is inside the partner's network (127.0.0.1), the page on
another origin (http://localhost:<port>, served by the test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import DevStack
from tests.support import builders

pytestmark = pytest.mark.e2e

NETWORK_PARTNER = "network-buyer"
NETWORK_IDENTITY = "AN-NETWORK-BUYER"


def _punchout(dev_stack: DevStack, *arguments: str) -> None:
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


@pytest.fixture(scope="module")
def network_partner(dev_stack: DevStack) -> str:
    _punchout(
        dev_stack,
        "partners",
        "add",
        NETWORK_PARTNER,
        "--name",
        "Buyer authenticated by its network",
        "--from",
        f"NetworkID:{NETWORK_IDENTITY}",
        "--no-secret",
        "--source-network",
        "127.0.0.1/32",
        "--unspsc",
        "44120000",
    )
    return NETWORK_PARTNER


@contextmanager
def _page_on_another_origin(script: str) -> Iterator[str]:
    """The URL of a page running ``script``, on another origin than the gateway's (localhost, another port),
    served from this machine: Chromium lets only a page served from a loopback address reach one."""
    body = f"<!DOCTYPE html><title>page</title><script>{script}</script>".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_order_a_web_page_posts_from_inside_the_buyers_network_is_refused(
    page: Page, dev_stack: DevStack, network_partner: str
) -> None:
    # Given a partner authenticated by its network alone, and a browser inside that network
    order = builders.order_request(
        "PO-FROM-A-WEB-PAGE", [builders.item_out("P1", "1000")], identity=NETWORK_IDENTITY, secret=None
    ).decode("utf-8")
    target = f"{dev_stack.base_url}/cxml/order"
    # When a page on another origin makes the browser post a well-formed order (no preflight needed)
    script = f"fetch({json.dumps(target)}, {{method: 'POST', mode: 'no-cors', body: {json.dumps(order)}}});"
    with _page_on_another_origin(script) as url, page.expect_response(target) as answer:
        page.goto(url)
    # Then the gateway refuses it (the browser's page could not read the answer, but the order would be placed)
    assert answer.value.status == 403
