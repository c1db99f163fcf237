"""Fault injection at every step of order intake (issue 4).

After each fault the buyer gets a retryable 5xx, never a 200 for an order that is not both stored
and queued, and the buyer's retry leads to exactly one message for the shop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from punchout.store.orders import OrderRepository
from punchout.store.queue import OrderQueue
from tests.support import builders
from tests.unit.gateway.helpers import cxml, register
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_order_request import post_order


def _throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, operation)


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, *, after_call: bool = False) -> list[int]:
    """Make ``owner.name`` fail on its first call (before, or after doing its work: a lost response)."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def faulty(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            if after_call:
                original(self, *args, **kwargs)
            raise _throttled(name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, faulty)
    return calls


FAULTS = [
    ("payload write", OrderRepository, "store_payloads", False),
    ("record write", OrderRepository, "create", False),
    ("lease", OrderRepository, "acquire_lease", False),
    ("payload read", OrderRepository, "message", False),
    ("queue send", OrderQueue, "send", False),
    ("queue send, response lost", OrderQueue, "send", True),
    ("status update", OrderRepository, "mark_queued", False),
    ("status update, response lost", OrderRepository, "mark_queued", True),
]


@pytest.mark.parametrize(("step", "owner", "name", "after_call"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_answers_5xx_and_the_retry_delivers_exactly_once(
    table, queue_url, monkeypatch, step, owner, name, after_call
):
    # Given a registered partner and a fault injected into one step
    register(table)
    calls = fail_once(monkeypatch, owner, name, after_call=after_call)
    document = builders.order_request("PO-F", [builders.item_out("P1", "3", price="2.50")])
    # When the buyer sends the order
    first = post_order(document)
    # Then it gets a retryable 5xx as a well-formed cXML document
    assert calls[0] >= 1, f"the {step} step was never reached"
    assert first["statusCode"] >= 500
    assert cxml(first).status.code >= 500
    # And when it retries (as Coupa does), it gets 200 and the shop exactly one message
    second = post_order(document)
    assert cxml(second).status.code == 200
    messages = drain(queue_url)
    assert len(messages) == 1
    assert messages[0]["body"]["order_id"] == "PO-F"
    # And a third delivery changes nothing
    assert cxml(post_order(document)).status.code == 200
    assert drain(queue_url) == []


def test_no_200_while_the_order_is_not_queued(table, queue_url, monkeypatch):
    # Given a queue that is down for good
    register(table)

    def down(self: OrderQueue, *args: Any, **kwargs: Any) -> str:
        raise _throttled("send")

    monkeypatch.setattr(OrderQueue, "send", down)
    document = builders.order_request("PO-DOWN", [builders.item_out("P1", "1", price="1.00")])
    # When the buyer retries several times, Then every answer is a 5xx (the order is stored, not delivered)
    for _ in range(3):
        assert cxml(post_order(document)).status.code >= 500
    record = next(iter(OrderRepository(table).table.query("ORDER#acme#PO-DOWN", "VERSION#")))
    assert record["status"]["S"] == "received"
