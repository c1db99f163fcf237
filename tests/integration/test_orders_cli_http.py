"""``punchout orders`` against the local stack: DynamoDB Local's Scan and Query, moto's SQS FIFO queue.

An order is received over HTTP, the shop's queue drained (as if SQS had deleted the message after 14
days), and the CLI, finding the table and the queue through the stack's ``stack.json``, lists it and
sends it again: the shop reads the identical message once more.
"""

from __future__ import annotations

import json

import pytest

from punchout.store.orders import OrderRepository
from tests.integration.helpers import Queue, cxml_answer, order, post_cxml, register_buyer, run_cli
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration


def test_an_order_the_queue_lost_is_found_and_requeued_with_the_cli(
    stack: StackProcess, orders: OrderRepository, queue: Queue
) -> None:
    # Given an order received over HTTP, whose message the shop never read before the queue lost it
    buyer = register_buyer(stack, "orders-cli")
    answer = post_cxml(f"{stack.base_url}/cxml/order", order(buyer, "PO-CLI 1/ü", ("P1", "2"), ("P2", "1")))
    assert cxml_answer(answer).status.code == 200
    [original] = queue.drain()
    message_id = original["body"]["message_id"]
    # When the operator asks whether it was received (by partner and order id: a Query; and in the whole
    # table: a Scan), through the local stack's stack.json
    [found] = json.loads(
        run_cli(
            stack, "orders", "list", "--partner", buyer.partner_id, "--order-id", "PO-CLI 1/ü", "--json", table=False
        )
    )
    scanned = json.loads(run_cli(stack, "orders", "list", "--partner", buyer.partner_id, "--json", table=False))
    shown = json.loads(run_cli(stack, "orders", "show", message_id, table=False))
    # Then both find it, queued, and show tells what is stored
    assert found["message_id"] == message_id and found["status"] == "queued"
    assert scanned == [found]
    assert shown["stored"]["message_bytes"] > 0 and shown["stored"]["attachments"] == []
    # When it is requeued
    sent = json.loads(run_cli(stack, "orders", "requeue", message_id, table=False))
    # Then the shop reads the identical message again, in the order's group, under a new deduplication id
    [again] = queue.drain()
    assert again["raw"] == original["raw"]
    assert again["attributes"]["MessageGroupId"] == original["attributes"]["MessageGroupId"]
    assert again["attributes"]["MessageDeduplicationId"] != original["attributes"]["MessageDeduplicationId"]
    assert again["message_attributes"] == original["message_attributes"]
    assert sent["queue_url"] == queue.url
    assert [row["message_id"] for row in sent["sent"]] == [message_id]
    assert sent["sent"][0]["deduplication_id"] == again["attributes"]["MessageDeduplicationId"]
    # And the record is as it was
    record = orders.find(message_id)
    assert record is not None and record.status == "queued"
