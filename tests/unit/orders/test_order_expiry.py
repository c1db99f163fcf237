"""Time in the order path: the dispatch lease of a delivery that died holding it, carts past their retention
that TTL has not swept yet, and order records, which never expire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import punchout.store.orders
from punchout.sessions import Cart
from punchout.store.dynamo import Table
from punchout.store.orders import OrderRepository
from punchout.store.queue import OrderQueue
from punchout.store.sessions import SessionRepository
from tests.support import builders
from tests.unit.gateway.helpers import cxml, register, table_items
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_faults import no_wait
from tests.unit.orders.test_order_request import post_order

REF = "cccccccccccccccc"


def _lease_until(table: Table) -> int:
    [record] = [item for item in table_items(table) if item["sk"]["S"].startswith("VERSION#")]
    return int(record["lease_until"]["N"])


@pytest.mark.parametrize(("late", "status"), [(0, 560), (1, 200)], ids=["at its end", "a second after"])
def test_a_lease_left_by_a_delivery_that_died_is_taken_once_its_time_is_over(
    table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch, late: int, status: int
) -> None:
    # Given an order whose delivery died while sending it, holding the dispatch lease (never given back)
    register(table)
    no_wait(monkeypatch)

    def died(*_: Any, **__: Any) -> None:
        raise RuntimeError("the Lambda timed out")

    send, release = OrderQueue.send, OrderRepository.release_lease
    monkeypatch.setattr(OrderQueue, "send", died)
    monkeypatch.setattr(OrderRepository, "release_lease", lambda *_: None)
    document = builders.order_request("PO-LEASE", [builders.item_out("P1", "1", price="1.00")])
    assert cxml(post_order(document)).status.code >= 500
    monkeypatch.setattr(OrderQueue, "send", send)
    monkeypatch.setattr(OrderRepository, "release_lease", release)
    # When the buyer's retry comes at the lease's last second (or a second later)
    monkeypatch.setattr(punchout.store.orders, "now", lambda: _lease_until(table) + late)
    # Then the lease holds to its end (a retryable 560), and after it the retry queues the order, once
    assert cxml(post_order(document)).status.code == status
    assert len(drain(queue_url)) == (1 if status == 200 else 0)


def test_an_order_naming_a_cart_past_its_retention_that_ttl_has_not_swept_is_unmatched(
    table: Table, queue_url: str
) -> None:
    # Given a cart of the partner whose retention is over, still in the table (TTL deletes within days)
    register(table)
    cart = Cart.model_validate(
        {
            "currency": "USD",
            "lines": [{"supplier_part_id": "P1", "quantity": "1", "unit_price": "1.00", "description": "P1"}],
        }
    )
    SessionRepository(table).save_cart(
        REF,
        "session-1",
        "acme",
        cart,
        deployment_mode="production",
        expected_revision=0,
        expires_at=datetime.now(UTC) - timedelta(seconds=60),
    )
    # When an order names its line
    document = builders.order_request("PO-OLD", [builders.item_out("P1", "1", auxiliary=f"{REF}-1", price="1.00")])
    assert cxml(post_order(document)).status.code == 200
    # Then the cart is not read: the line is unmatched and no session is named
    [queued] = drain(queue_url)
    record = OrderRepository(table).find(queued["body"]["message_id"])
    assert record is not None
    message = json.loads(OrderRepository(table).message(record))
    assert [line["status"] for line in message["reconciliation"]["lines"]] == ["unmatched"]
    assert message["sessions"] == []


def test_no_order_item_carries_the_ttl_attribute(table: Table, queue_url: str) -> None:
    # Given an order received and queued (its record is what makes a resend a duplicate: it must stay)
    register(table)
    document = builders.order_request("PO-KEEP", [builders.item_out("P1", "1", price="1.00")])
    assert cxml(post_order(document)).status.code == 200
    drain(queue_url)
    # When the table is read
    items = [item for item in table_items(table) if item["pk"]["S"].startswith(("ORDER#", "ORDERMSG#"))]
    # Then none of the order's items (record, payloads, lookup) would be deleted by TTL
    assert {item["sk"]["S"].split("#", 1)[0] for item in items} >= {"VERSION", "BLOB", "ORDERMSG"}
    assert [item for item in items if "expires_at" in item] == []
