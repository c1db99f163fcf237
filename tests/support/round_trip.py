"""One PunchOut round trip through the three handlers in this process, with every AWS call recorded.

Used by the IAM test (every DynamoDB/SQS action a function performs is granted by its policies in
template.yaml) and by the cost benchmark (durations, DynamoDB capacity units, SQS requests, log bytes
per step). The caller provides the AWS side (moto, in-process or a server) and the environment
(TABLE_NAME, ORDER_QUEUE_URL, credentials, endpoints).

The steps, as a buyer, its browser and the shop make them:

  setup     POST /cxml/setup                     PunchOutSetupRequest  -> SetupRequestFunction
  start     GET  /punchout/start/{token}         the browser enters     -> SetupRequestFunction
  session   GET  /shop/sessions/{id}             the shop reads it      -> OrderMessageFunction
  cart      PUT  /shop/sessions/{id}/cart        10 lines               -> OrderMessageFunction
  transfer  POST /shop/sessions/{id}/transfer    checkout               -> OrderMessageFunction
  return    GET  /punchout/return/{token}        auto-post page         -> OrderMessageFunction
  order     POST /cxml/order                     OrderRequest, 10 lines -> OrderRequestFunction

DynamoDB capacity is estimated from the items each call touches, by DynamoDB's published rules:
item size = attribute names + values; a strongly consistent read is 1 RRU per 4 KB (summed over a
query's items, at least 1), a write 1 WRU per 1 KB of the larger of the old and the new item,
transactional writes twice that. Old items are looked up through a separate, unrecorded client.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3

from tests.support import builders
from tests.support.events import LambdaContext, api_event

FUNCTIONS = {
    "SetupRequestFunction": "setup_request.handler",
    "OrderMessageFunction": "order_message.handler",
    "OrderRequestFunction": "order_request.handler",
}
STEPS = ("setup", "start", "session", "cart", "transfer", "return", "order")
LINES = 10


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute name lengths plus value sizes (UTF-8)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        digits = len(str(inner).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner if isinstance(inner, bytes | bytearray) else base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + 1 + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    return len(json.dumps(inner, default=str))


def _rru(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


def _wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class Usage:
    """What one step cost in AWS calls."""

    actions: list[str] = field(default_factory=list)  # "dynamodb:GetItem", "sqs:SendMessage"
    rru: float = 0.0
    wru: float = 0.0
    sqs_requests: int = 0

    @property
    def aws_calls(self) -> int:
        return len(self.actions)


class Recorder:
    """Records the calls of the handlers' cached boto3 clients, attributed to the current function."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.current: Usage | None = None
        self.function = ""
        self.by_function: dict[str, set[str]] = {name: set() for name in FUNCTIONS}
        # Reads item sizes for the estimates; its calls are not recorded.
        self._peek = boto3.client("dynamodb")

    def attach(self, client: Any) -> None:
        # before-parameter-build sees the API parameters; after-call the parsed response. Both get the
        # call's context dict, which carries the parameters from one to the other.
        client.meta.events.register("before-parameter-build.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)

    @contextmanager
    def step(self, function: str, usage: Usage) -> Iterator[None]:
        self.function, self.current = function, usage
        try:
            yield
        finally:
            self.function, self.current = "", None

    def _old_size(self, table: str, key: dict[str, Any]) -> int:
        item = self._peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item_size(item) if item else 0

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = params
        service = model.service_model.endpoint_prefix
        action = f"{service}:{model.name}"
        if self.function:
            self.by_function[self.function].update(iam_actions(action, params))
        usage = self.current
        if usage is None:
            return
        usage.actions.append(action)
        if service == "sqs":
            usage.sqs_requests += max(1, math.ceil(len(params.get("MessageBody", "").encode("utf-8")) / 65536))
            return
        # Writes are charged on the larger of the old and the new item: look at the old one first.
        if model.name in ("PutItem", "UpdateItem"):
            key = params.get("Key") or {k: params["Item"][k] for k in ("pk", "sk")}
            context["recorded_old_size"] = self._old_size(params["TableName"], key)
        elif model.name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        usage.wru += _wru(item_size(request["PutRequest"]["Item"]))
                    else:
                        usage.wru += _wru(self._old_size(table, request["DeleteRequest"]["Key"]))
        elif model.name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, operation),) = entry.items()
                if kind == "Put":
                    size = max(item_size(operation["Item"]), self._old_size(operation["TableName"], _key(operation)))
                elif kind == "ConditionCheck":
                    size = 0
                else:
                    size = self._old_size(operation["TableName"], operation["Key"])
                usage.wru += 2 * _wru(size)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        usage = self.current
        if usage is None or model.service_model.endpoint_prefix != "dynamodb":
            return
        params = context.get("recorded_params") or {}
        old_size = context.get("recorded_old_size", 0)
        name = model.name
        if name == "GetItem":
            item = parsed.get("Item")
            usage.rru += _rru(item_size(item) if item else 0, True)
        elif name in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            usage.rru += _rru(size, bool(params.get("ConsistentRead")))
        elif name == "PutItem":
            usage.wru += _wru(max(item_size(params.get("Item", {})), old_size))
        elif name == "UpdateItem":
            new = item_size(parsed.get("Attributes") or {})
            usage.wru += _wru(max(new, old_size))


_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def iam_actions(action: str, params: dict[str, Any]) -> set[str]:
    """The IAM actions a call needs: transactions have none of their own, only their items' actions."""
    if action == "dynamodb:TransactWriteItems":
        return {_TRANSACT_ACTIONS[kind] for entry in params["TransactItems"] for kind in entry}
    if action == "dynamodb:TransactGetItems":
        return {"dynamodb:GetItem"}
    return {action}


def _key(operation: dict[str, Any]) -> dict[str, Any]:
    return {name: operation["Item"][name] for name in ("pk", "sk")}


def response_header(response: dict[str, Any], name: str) -> str:
    """A header of a proxy response, single- or multi-valued."""
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    raise KeyError(name)


@dataclass
class StepResult:
    step: str
    function: str
    status: int
    wall_ms: float
    cpu_ms: float
    usage: Usage
    log_bytes: int
    response_bytes: int


class StdoutBytes:
    """Counts the bytes written to file descriptor 1 meanwhile (Powertools logs and EMF metrics go there)."""

    def __init__(self) -> None:
        self.count = 0
        self._saved = -1
        self._sink: Any = None

    def __enter__(self) -> StdoutBytes:
        sys.stdout.flush()
        self._sink = tempfile.TemporaryFile()
        self._saved = os.dup(1)
        os.dup2(self._sink.fileno(), 1)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self.count = self._sink.seek(0, os.SEEK_END)
        self._sink.close()


class RoundTrip:
    """Drives the steps against the handlers imported in this process."""

    def __init__(self, recorder: Recorder, shop_key: str) -> None:
        import importlib

        self.recorder = recorder
        self.shop = {"x-api-key": shop_key, "Content-Type": "application/json"}
        self.handlers = {name: importlib.import_module(module).lambda_handler for name, module in FUNCTIONS.items()}

    def _call(self, step: str, function: str, event: dict[str, Any]) -> tuple[StepResult, dict[str, Any]]:
        usage = Usage()
        with self.recorder.step(function, usage), StdoutBytes() as logs:
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = self.handlers[function](event, LambdaContext(function_name=function))
            wall, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        body = response.get("body") or ""
        result = StepResult(
            step=step,
            function=function,
            status=response["statusCode"],
            wall_ms=wall * 1000,
            cpu_ms=cpu * 1000,
            usage=usage,
            log_bytes=logs.count,
            response_bytes=len(body.encode("utf-8")) if isinstance(body, str) else len(body),
        )
        if result.status >= 400:
            raise RuntimeError(f"{step}: HTTP {result.status}: {body[:500]}")
        return result, response

    @staticmethod
    def _cxml(path: str, document: bytes) -> dict[str, Any]:
        return api_event("POST", path, body=document, headers={"Content-Type": "text/xml"}, binary=True)

    def run(self) -> list[StepResult]:
        from lxml import etree

        results: list[StepResult] = []
        setup, response = self._call(
            "setup", "SetupRequestFunction", self._cxml("/cxml/setup", builders.setup_request())
        )
        results.append(setup)
        start_url = etree.fromstring(response["body"].encode("utf-8")).findtext(
            "Response/PunchOutSetupResponse/StartPage/URL"
        )
        token = (start_url or "").rsplit("/", 1)[1]
        start, response = self._call(
            "start",
            "SetupRequestFunction",
            api_event("GET", f"/punchout/start/{token}", resource="/punchout/start/{token}"),
        )
        results.append(start)
        session_id = response_header(response, "Location").split("punchout_session=", 1)[1].split("&", 1)[0]
        base = f"/shop/sessions/{session_id}"
        session, _ = self._call(
            "session", "OrderMessageFunction", api_event("GET", base, resource="/shop/sessions/{id}", headers=self.shop)
        )
        results.append(session)
        lines = [
            {
                "supplier_part_id": f"P{i:04d}",
                "quantity": "2",
                "unit_price": "10.00",
                "description": f"Part {i}",
                "unit_of_measure": "EA",
            }
            for i in range(1, LINES + 1)
        ]
        cart, _ = self._call(
            "cart",
            "OrderMessageFunction",
            api_event(
                "PUT",
                f"{base}/cart",
                resource="/shop/sessions/{id}/cart",
                body=json.dumps({"currency": "USD", "lines": lines}),
                headers=self.shop,
            ),
        )
        results.append(cart)
        transfer, response = self._call(
            "transfer",
            "OrderMessageFunction",
            api_event("POST", f"{base}/transfer", resource="/shop/sessions/{id}/transfer", body="", headers=self.shop),
        )
        results.append(transfer)
        return_path = "/punchout/return/" + json.loads(response["body"])["return_url"].rsplit("/", 1)[1]
        page, _ = self._call(
            "return", "OrderMessageFunction", api_event("GET", return_path, resource="/punchout/return/{token}")
        )
        results.append(page)
        items = [builders.item_out(f"P{i:04d}", "2", price="10.00", line=i) for i in range(1, LINES + 1)]
        total = str(Decimal("20.00") * LINES)
        order, _ = self._call(
            "order",
            "OrderRequestFunction",
            self._cxml("/cxml/order", builders.order_request(f"PO-{uuid.uuid4().hex[:12]}", items, total=total)),
        )
        results.append(order)
        return results
