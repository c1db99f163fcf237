"""Order handler: time per 1-line and 1,000-line OrderRequest, and peak memory for a 5,000-line one.

Run from the repository root: ``python -m tests.benchmarks.bench_orders`` (or ``make bench``).

What runs where
- The local stack (DynamoDB Local in memory, moto's SQS) runs in a child process
  (``tests.support.stack_process``), so its threads do not share this process's interpreter.
- The order handler runs in this process: ``order_request.handler.lambda_handler`` called in-process
  with an API Gateway REST proxy event, the body base64-encoded as BuyerApi delivers ``text/xml`` (a
  binary media type there), and the template's environment (LOG_LEVEL INFO: log lines and metrics
  are formatted and written, to /dev/null). No HTTP in the timed path: the figure is the function's
  own duration, DynamoDB and SQS round trips on loopback included.
- Each iteration is a new orderID (a new order: store payloads, create the record, take the
  dispatch lease, send the message, mark it queued). Three 1-line orders warm the handler first
  (imports, clients, the partner's derived secret), as on a warm Lambda.
- Memory: a fresh child process per figure, warmed with one 1-line order, then one 5,000-line order.
  ``VmHWM`` (/proc/self/status) is the whole process's high-water mark (interpreter, imports, the event, the
  handler's working set), the figure that decides whether the function fits a 256 MB Lambda; the
  tracemalloc peak is the Python allocations of that one call. The 5,000-line document is rendered
  by the parent, so building it does not count.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from punchout.cxml import new_envelope, render
from punchout.cxml.models import Credential, Header, OrderRequest
from tests.benchmarks import bench_cxml

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMED = {1: 20, 1_000: 7}  # lines -> runs
WARM_UP = 3
MEMORY_LINES = 5_000
TARGET_MB = 256
PARTNER_ID = "bench"
IDENTITY = "AN-BENCH"
SECRET = "bench shared secret, not a real one"
MB = 1024 * 1024


# --- documents ------------------------------------------------------------------------------------


def order_document(order_id: str, lines: int) -> bytes:
    """bench_cxml's realistic OrderRequest (every line with ItemDetail, classification and an
    accounting split), as the registered partner sends it: its credentials, a fresh payloadID."""
    document = bench_cxml.order_request(lines)
    order = document.request
    assert isinstance(order, OrderRequest)
    credential = Credential(domain="NetworkID", identity=IDENTITY)
    header = Header(
        from_credentials=[credential],
        to_credentials=[Credential(domain="DUNS", identity="123456789")],
        sender_credentials=[Credential(domain="NetworkID", identity=IDENTITY, shared_secret=SECRET)],  # type: ignore[arg-type]
        user_agent="Bench 1.0",
    )
    return render(
        document.model_copy(
            update={
                "envelope": new_envelope("bench.example"),
                "header": header,
                "request": order.model_copy(update={"header": order.header.model_copy(update={"order_id": order_id})}),
            }
        ),
        bench_cxml.VERSION,
    )


def new_order_id(lines: int) -> str:
    return f"BENCH-{lines}-{secrets.token_hex(6)}"


def event(document: bytes) -> dict[str, Any]:
    """The API Gateway REST proxy event of a POST /cxml/order (BuyerApi: text/xml is binary)."""
    from tests.support.events import api_event

    return api_event(
        "POST", "/cxml/order", body=document, headers={"Content-Type": "text/xml; charset=UTF-8"}, binary=True
    )


# --- this process as a Lambda environment ---------------------------------------------------------


def lambda_environment(state: dict[str, Any]) -> dict[str, str]:
    """The order function's environment against the stack described by ``state`` (its stack.json)."""
    from tests.support.stack_process import clean_environment, sdk_environment

    return clean_environment(
        {
            **sdk_environment(state["dynamodb"]["endpoint_url"], state["sqs"]["endpoint_url"]),
            **state["environment"],
        }
    )


_SINK = open(os.devnull, "w")  # noqa: SIM115 - for the whole process: the handler's logger keeps it


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The handler's log lines and metrics go to /dev/null (they are still formatted and written).

    Powertools' Logger writes to the stream it found when it was created (another benchmark of this
    run may have created it): its handlers are pointed at /dev/null too, and back afterwards.
    """
    with contextlib.redirect_stdout(_SINK):
        from punchout.observability import logger as gateway_logger

        handlers = [h for h in logging.getLogger(gateway_logger.name).handlers if isinstance(h, logging.StreamHandler)]
        streams = [handler.setStream(_SINK) for handler in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                if stream is not None:
                    handler.setStream(stream)


def reset_caches() -> None:
    """Forget settings, clients and services cached by an earlier benchmark of this run (or by this one)."""
    for module, names in {
        "punchout.settings": ("gateway_settings", "order_settings"),
        "punchout.store.dynamo": ("dynamodb_client",),
        "punchout.store.queue": ("sqs_client",),
        "order_request.handler": ("service", "api_keys"),
        "order_message.handler": ("service", "api_keys"),
        "setup_request.handler": ("service",),
    }.items():
        loaded = sys.modules.get(module)
        for name in names:
            cached = getattr(loaded, name, None)
            if cached is not None and hasattr(cached, "cache_clear"):
                cached.cache_clear()


def load_handler() -> Any:
    with quiet():
        import order_request.handler

    return order_request.handler.lambda_handler


def invoke(handler: Any, request: dict[str, Any]) -> None:
    from tests.support.events import LambdaContext

    with quiet():
        response = handler(request, LambdaContext(function_name="OrderRequestFunction", memory_limit_in_mb=TARGET_MB))
    if response.get("statusCode") != 200 or 'code="200"' not in response.get("body", ""):
        raise RuntimeError(f"the order was not accepted: {response.get('statusCode')} {response.get('body', '')[:600]}")


def register_partner(table_name: str) -> None:
    from punchout.partners import CredentialRef, CredentialSet, TradingPartner, hash_secret
    from punchout.store.dynamo import Table
    from punchout.store.partners import PartnerRepository

    PartnerRepository(Table(table_name)).create(
        TradingPartner(
            id=PARTNER_ID,
            name="Benchmark buyer",
            credentials={
                "production": CredentialSet(
                    from_credentials=[CredentialRef(domain="NetworkID", identity=IDENTITY)],
                    secret_hashes=[hash_secret(SECRET)],
                )
            },
            shop_url="https://shop.example.com/punchout",
        )
    )


# --- timing ---------------------------------------------------------------------------------------


def time_orders(handler: Any, lines: int, runs: int) -> list[float]:
    seconds: list[float] = []
    for _ in range(runs):
        request = event(order_document(new_order_id(lines), lines))
        gc.collect()
        started = time.perf_counter()
        invoke(handler, request)
        seconds.append(time.perf_counter() - started)
    return seconds


def purge(queue_url: str) -> None:
    from punchout.store.queue import sqs_client

    with contextlib.suppress(Exception):
        sqs_client().purge_queue(QueueUrl=queue_url)


# --- memory (in a fresh child) --------------------------------------------------------------------


def memory_status(field: str) -> int:
    """A figure of /proc/self/status in bytes: VmRSS (now) or VmHWM (the high-water mark).

    Not ``ru_maxrss``: Linux carries that over from the parent across fork and exec, so a child of
    this (large) process would report the parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory(mode: str, document_path: Path) -> dict[str, Any]:
    """Child side: warm with one 1-line order, then one large order; the figures as JSON."""
    handler = load_handler()
    invoke(handler, event(order_document(new_order_id(1), 1)))
    document = document_path.read_bytes()
    request = event(document)
    del document
    gc.collect()
    figures: dict[str, Any] = {"rss_before": memory_status("VmRSS"), "peak_before": memory_status("VmHWM")}
    if mode == "tracemalloc":
        tracemalloc.start()
        invoke(handler, request)
        _, figures["tracemalloc_peak"] = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    else:
        started = time.perf_counter()
        invoke(handler, request)
        figures["seconds"] = time.perf_counter() - started
    figures["peak_after"] = memory_status("VmHWM")
    return figures


def run_child(mode: str, document_path: Path, environment: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_orders", "--memory", mode, "--document", str(document_path)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {mode} child failed ({result.returncode}):\n{result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# --- the report -----------------------------------------------------------------------------------


def main() -> None:
    saved = dict(os.environ)
    try:
        report()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()


def report() -> None:
    from tests.support.stack_process import StackProcess

    with tempfile.TemporaryDirectory(prefix="bench-orders-") as scratch, StackProcess(Path(scratch)) as stack:
        print(
            f"Order handler (order_request.handler.lambda_handler, in-process, API Gateway REST event) against "
            f"{stack.dynamodb_engine} and moto's SQS on loopback (stack started in {stack.state['started_in']:.1f} s)"
        )
        environment = lambda_environment(stack.state)
        os.environ.clear()
        os.environ.update(environment)
        reset_caches()
        register_partner(stack.table_name)
        handler = load_handler()
        for _ in range(WARM_UP):
            invoke(handler, event(order_document(new_order_id(1), 1)))

        header = f"{'lines':>6} {'runs':>5} {'min ms':>9} {'median ms':>10} {'max ms':>9} {'median ms/line':>15}"
        print(header)
        print("-" * len(header))
        for lines, runs in TIMED.items():
            seconds = time_orders(handler, lines, runs)
            purge(stack.queue_url())
            median = statistics.median(seconds)
            print(
                f"{lines:>6,} {runs:>5} {min(seconds) * 1e3:>9.1f} {median * 1e3:>10.1f} "
                f"{max(seconds) * 1e3:>9.1f} {median * 1e3 / lines:>15.3f}"
            )

        # A new order for each child (the same one twice would be a duplicate: no store, no send).
        figures: dict[str, dict[str, Any]] = {}
        for mode in ("rss", "tracemalloc"):
            document = order_document(new_order_id(MEMORY_LINES), MEMORY_LINES)
            document_path = Path(scratch) / f"order-{mode}.xml"
            document_path.write_bytes(document)
            figures[mode] = run_child(mode, document_path, environment)

    rss, traced = figures["rss"], figures["tracemalloc"]
    peak = rss["peak_after"]
    print()
    print(f"Peak memory of one {MEMORY_LINES:,}-line OrderRequest ({len(document) / MB:.1f} MB of XML), fresh process:")
    print(f"  process RSS before the order (warm, event in memory) {rss['rss_before'] / MB:8.1f} MB")
    print(f"  process peak RSS before the order (imports, warm-up) {rss['peak_before'] / MB:8.1f} MB")
    print(f"  process peak RSS (VmHWM) after the order             {peak / MB:8.1f} MB")
    print(f"  of which the order added (peak - RSS before)         {(peak - rss['rss_before']) / MB:8.1f} MB")
    print(f"  Python allocations during the call (tracemalloc peak){traced['tracemalloc_peak'] / MB:8.1f} MB")
    print(f"  handler time for it                                  {rss['seconds']:8.1f} s")
    verdict = "fits" if peak < TARGET_MB * MB else "DOES NOT FIT"
    print(f"Target: peak RSS below {TARGET_MB} MB (a {TARGET_MB} MB Lambda): {peak / MB:.0f} MB, {verdict}.")
    print("command: .venv/bin/python -m tests.benchmarks.bench_orders  (part of make bench)")


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_orders")
    parser.add_argument("--memory", choices=["rss", "tracemalloc"], required=True)
    parser.add_argument("--document", type=Path, required=True)
    arguments = parser.parse_args(argv)
    figures = measure_memory(arguments.memory, arguments.document)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child_main(sys.argv[1:])
    else:
        main()
