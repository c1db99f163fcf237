"""Fault injection into the n-th AWS call a handler makes, whichever repository makes it.

The functions' botocore clients (DynamoDB and SQS) are instrumented through their event hooks, so a
test needs to know nothing of the order of calls: ``recorded_calls`` lists them, and ``fault_at``
makes the call at one position fail in one of three ways:

- ``throttled``: the call fails before reaching AWS (a ClientError once botocore's retries are spent);
- ``timeout``: the call takes effect in AWS but its answer is lost (a read timeout);
- ``retried``: the call takes effect but its answer is lost, and botocore's own retry repeats it with
  the same parameters: the caller sees the repeat's answer (a conditional write then fails its condition
  on what the first attempt wrote);
- ``crash``: the call takes effect and the function stops there (its timeout, or the runtime dying):
  no handler runs, the client gets API Gateway's 502 (``Crash`` is no ``Exception``).

The last three matter for writes only (a read that is repeated or lost changes nothing): ``WRITES``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError, ReadTimeoutError

Mode = Literal["throttled", "timeout", "retried", "crash"]
MODES: tuple[Mode, ...] = ("throttled", "timeout", "retried", "crash")
WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "SendMessage", "DeleteMessage"}
)


class Crash(BaseException):
    """The function stopped after a call took effect: past every ``except Exception`` of the code."""


@dataclass(frozen=True)
class Call:
    operation: str
    target: str  # the item's partition key prefix and sort key, or the queue

    @property
    def writes(self) -> bool:
        return self.operation in WRITES

    def __str__(self) -> str:
        return f"{self.operation} {self.target}"


def _target(operation: str, params: dict[str, Any]) -> str:
    def short(item: dict[str, Any]) -> str:
        return f"{item['pk']['S'].split('#')[0]}/{item['sk']['S'].split('#')[0]}"

    if "QueueUrl" in params:
        return "queue"
    for name in ("Key", "Item"):
        if name in params:
            return short(params[name])
    if operation == "Query":
        return f"{params['ExpressionAttributeValues'][':pk']['S'].split('#')[0]}/*"
    for requests in (params.get("RequestItems") or {}).values():
        kinds = {kind for request in requests for kind in request}
        first = requests[0] if requests else {}
        item = first.get("PutRequest", {}).get("Item") or first.get("DeleteRequest", {}).get("Key")
        return f"{'+'.join(sorted(kinds))} {short(item) if item else ''}"
    if "TransactItems" in params:
        return "transaction"
    return ""


@dataclass
class _Injector:
    clients: tuple[Any, ...]
    position: int | None = None  # 1-based; None records only
    mode: Mode = "throttled"
    calls: list[Call] = field(default_factory=list)
    injected: Call | None = None
    _pending: tuple[Any, str, dict[str, Any]] | None = None
    _repeating: bool = False

    def before(self, client: Any, model: Any, params: dict[str, Any]) -> None:
        if self._repeating:
            return
        call = Call(model.name, _target(model.name, params))
        self.calls.append(call)
        if len(self.calls) != self.position:
            return
        self.injected = call
        if self.mode == "throttled":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, model.name)
        self._pending = (client, model.name, copy.deepcopy(params))

    def after(self, model: Any, http_response: Any, parsed: dict[str, Any]) -> None:
        if self._repeating or self._pending is None or self._pending[1] != model.name:
            return
        client, operation, params = self._pending
        self._pending = None
        if http_response.status_code >= 300:
            return  # the call failed on its own: nothing took effect to lose
        if self.mode == "timeout":
            raise ReadTimeoutError(endpoint_url="https://aws.example/injected")
        if self.mode == "crash":
            raise Crash(operation)
        self._repeating = True
        try:
            repeated = client._make_api_call(operation, params)
        finally:
            self._repeating = False
        parsed.clear()
        parsed.update(repeated)


@contextmanager
def _instrumented(injector: _Injector) -> Iterator[_Injector]:
    hooks = []
    for client in injector.clients:

        def before(model: Any, params: dict[str, Any], _client: Any = client, **_: Any) -> None:
            injector.before(_client, model, params)

        def after(model: Any, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
            injector.after(model, http_response, parsed)

        client.meta.events.register_first("before-parameter-build.*.*", before)
        client.meta.events.register_first("after-call.*.*", after)
        hooks.append((client, before, after))
    try:
        yield injector
    finally:
        for client, before, after in hooks:
            client.meta.events.unregister("before-parameter-build.*.*", before)
            client.meta.events.unregister("after-call.*.*", after)


@contextmanager
def recorded_calls(*clients: Any) -> Iterator[list[Call]]:
    """The calls made through ``clients`` while the block runs, in order."""
    with _instrumented(_Injector(clients)) as injector:
        yield injector.calls


@contextmanager
def fault_at(position: int, mode: Mode, *clients: Any) -> Iterator[_Injector]:
    """The ``position``-th call (1-based) through ``clients`` fails as ``mode`` says; ``injected`` tells
    which call it was (None: the block made fewer calls)."""
    with _instrumented(_Injector(clients, position, mode)) as injector:
        yield injector
