"""Orders past their retention on DynamoDB Local, which, like DynamoDB before its TTL deletes them, still
holds items whose ``expires_at`` has passed: every read treats such an order as gone, and a buyer's resend
replaces its record (the conditional write DynamoDB evaluates) instead of being taken for a duplicate.

The local stack runs with the template's default (orders kept forever): the test gives the order's items
the expiry a retention would have written, as ``OrderRepository`` writes it (``expires_at``, epoch seconds).
"""

from __future__ import annotations

import time

import pytest

from punchout.store.orders import OrderRepository
from tests.integration.helpers import (
    Queue,
    create_api_key,
    cxml_answer,
    items_of,
    order,
    post_cxml,
    register_buyer,
    request,
)
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration


def test_an_order_past_its_expiry_is_gone_and_its_resend_is_received_again(
    stack: StackProcess, orders: OrderRepository, queue: Queue
) -> None:
    # Given an order received over HTTP and read by the shop
    buyer = register_buyer(stack, "retention")
    headers = create_api_key(stack, "retention-shop")
    document = order(buyer, "PO-RET 1", ("P1", "2"))
    assert cxml_answer(post_cxml(f"{stack.base_url}/cxml/order", document)).status.code == 200
    [first] = queue.drain()
    message_id = first["body"]["message_id"]
    url = f"{stack.base_url}/shop/orders/{message_id}"
    assert request("GET", url, headers=headers).status == 200
    pk = f"ORDER#{buyer.partner_id}#PO-RET 1"
    old = orders.find(message_id)
    assert old is not None
    # When its items reach the expiry a retention gave them (record, payloads and lookup), TTL not run yet
    expired = int(time.time()) - 1
    for item in [*items_of(orders, pk), *items_of(orders, f"ORDERMSG#{message_id}")]:
        orders.table.client.update_item(
            TableName=orders.table.name,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET expires_at = :at",
            ExpressionAttributeValues={":at": {"N": str(expired)}},
        )
    # Then the order is gone for the shop, the operator's reads and the repository
    assert request("GET", url, headers=headers).status == 404
    assert orders.find(message_id) is None
    assert orders.listing(partner_id=buyer.partner_id) == []
    assert orders.listing(partner_id=buyer.partner_id, order_id="PO-RET 1") == []
    # And its payloads are no orphans to look for: they expire with it
    assert [found for found in orders.unnamed_payloads(0) if found.partition == pk] == []
    # When the buyer sends the order again
    assert cxml_answer(post_cxml(f"{stack.base_url}/cxml/order", document)).status.code == 200
    # Then it is received again: stored under a new attempt (the stack keeps orders forever: no expiry) and
    # queued again, under the same message id
    [again] = queue.drain()
    assert again["body"]["message_id"] == message_id
    record = orders.find(message_id)
    assert record is not None and record.blob_id != old.blob_id
    [version] = [item for item in items_of(orders, pk) if item["sk"]["S"].startswith("VERSION#")]
    assert "expires_at" not in version
    assert request("GET", url, headers=headers).status == 200
    # And the expired attempt's payloads, still there until TTL deletes them, are no orphans either
    assert [found for found in orders.unnamed_payloads(0) if found.partition == pk] == []
