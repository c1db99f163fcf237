"""A local SQS endpoint: moto's server, in a thread of this process, on 127.0.0.1 and a free port.

The same server answers DynamoDB too (moto dispatches on the service named in each request's
signature), which is the local stack's fallback when Java is missing.

moto keeps its state in process-wide backends: a `mock_aws` started in the same process resets them
when it stops, queues included. Tests that use `mock_aws` and tests that use the local stack should
therefore not share a process, or at least not interleave.
"""

from __future__ import annotations

from moto.server import ThreadedMotoServer

from infra.local.lifecycle import Service


class MotoServer(Service):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        server = ThreadedMotoServer(ip_address=self._host, port=self._requested_port, verbose=False)
        server.start()
        # Port 0 asks the OS for a free port at bind time: no window for another process to take it.
        _, self.port = server.get_host_and_port()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
