"""Helpers of the browser tests that stand for other parties: the operator's CLI against the test's stack,
and small web sites on this machine (another origin than the gateway's), as a buyer's system or any
page a user opens would be."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.conftest import DevStack


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
