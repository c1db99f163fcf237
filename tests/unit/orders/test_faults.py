"""Fault injection at every step of order intake (issue 4).

After each fault the buyer gets a retryable 5xx, never a 200 for an order that is not both stored
and queued, and the buyer's retry leads to exactly one message for the shop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

import order_request.handler
from punchout.settings import clear_settings_cache
from punchout.store.dynamo import ConditionFailed, dynamodb_client
from punchout.store.orders import OrderRepository
from punchout.store.queue import OrderQueue, sqs_client
from tests.support import builders
from tests.support.faults import fault_at, recorded_calls
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


def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A delivery that finds the lease taken answers at once instead of waiting for it."""
    monkeypatch.setenv("ORDER_DISPATCH_WAIT_SECONDS", "0")
    clear_settings_cache()
    order_request.handler.service.cache_clear()


FAULTS = [
    ("payload write", OrderRepository, "store_payloads", False),
    ("record write", OrderRepository, "create", False),
    ("lease", OrderRepository, "acquire_lease", False),
    ("queue send", OrderQueue, "send", False),
    ("queue send, response lost", OrderQueue, "send", True),
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


def test_a_fault_reading_back_the_message_of_an_order_not_yet_queued_answers_5xx_and_the_retry_delivers_once(
    table, queue_url, monkeypatch
):
    # Given an order stored but not queued (the queue failed once), and a fault in reading its stored
    # message back, which only a later delivery does (the first one queues the message it stored)
    register(table)
    fail_once(monkeypatch, OrderQueue, "send")
    document = builders.order_request("PO-RB", [builders.item_out("P1", "3", price="2.50")])
    assert cxml(post_order(document)).status.code >= 500
    reads = fail_once(monkeypatch, OrderRepository, "message")
    # When the buyer retries, Then the failed read is a retryable 5xx
    assert cxml(post_order(document)).status.code >= 500
    assert reads[0] == 1
    # And the next retry gets 200, and the shop exactly one message
    assert cxml(post_order(document)).status.code == 200
    messages = drain(queue_url)
    assert [message["body"]["order_id"] for message in messages] == ["PO-RB"]


@pytest.mark.parametrize("after_call", [False, True], ids=["status update", "status update, response lost"])
def test_a_fault_recording_queued_after_the_send_is_retried_and_answers_200(table, queue_url, monkeypatch, after_call):
    # Given a fault in recording `queued`, once the message is on the queue
    register(table)
    calls = fail_once(monkeypatch, OrderRepository, "mark_queued", after_call=after_call)
    document = builders.order_request("PO-Q", [builders.item_out("P1", "3", price="2.50")])
    # When the buyer sends the order
    answer = post_order(document)
    # Then the step is retried and the buyer gets 200 (a 5xx would bring a resend, maybe past SQS's
    # five-minute deduplication), and the shop one message
    assert calls[0] == 2
    assert cxml(answer).status.code == 200
    assert len(drain(queue_url)) == 1
    record = next(iter(OrderRepository(table).table.query("ORDER#acme#PO-Q", "VERSION#")))
    assert record["status"]["S"] == "queued"


def test_an_order_on_the_queue_answers_200_even_if_queued_cannot_be_recorded(table, queue_url, monkeypatch, caplog):
    # Given a table that refuses every status update, while the queue works
    register(table)

    def down(self: OrderRepository, *args: Any, **kwargs: Any) -> None:
        raise _throttled("mark_queued")

    monkeypatch.setattr(OrderRepository, "mark_queued", down)
    document = builders.order_request("PO-M", [builders.item_out("P1", "1", price="1.00")])
    # When the buyer sends the order
    # Then it is answered 200 (stored and queued), the shop gets it once, and the error is logged
    assert cxml(post_order(document)).status.code == 200
    assert len(drain(queue_url)) == 1
    assert "not recorded as queued" in caplog.text


def test_a_resend_whose_payload_id_cannot_be_recorded_is_retried_and_then_remembered(
    table, queue_url, monkeypatch, caplog
):
    # Given a received order, and a table that fails once to record a resend's payloadID
    register(table)
    lines = [builders.item_out("P1", "1", price="1.00")]
    assert cxml(post_order(builders.order_request("PO-P", lines, payload_id="a@b"))).status.code == 200
    fail_once(monkeypatch, OrderRepository, "add_payload_id")
    resend = builders.order_request("PO-P", lines, payload_id="b@b")
    # When the buyer resends it under a new payloadID
    # Then the answer is a 500 the buyer retries (an update naming this payloadID would otherwise be 417,
    # which it does not retry), and the failure is logged
    assert cxml(post_order(resend)).status.code == 500
    assert "payloadID could not be recorded" in caplog.text
    # And its retry is 200, the shop having got the order once
    assert cxml(post_order(resend)).status.code == 200
    assert len(drain(queue_url)) == 1
    # And an update naming the resend's payloadID is accepted and queued
    update = builders.order_request(
        "PO-P", [builders.item_out("P1", "2", price="1.00")], order_type="update", version=2, reference="b@b"
    )
    assert cxml(post_order(update)).status.code == 200
    assert len(drain(queue_url)) == 1


def test_a_resend_whose_payload_id_cannot_be_recorded_is_one_error_line_naming_the_step(
    table, queue_url, monkeypatch, log_lines
):
    # Given a received order, and a table that fails once to record a resend's payloadID
    register(table)
    lines = [builders.item_out("P1", "1", price="1.00")]
    assert cxml(post_order(builders.order_request("PO-P1", lines, payload_id="a@b"))).status.code == 200
    fail_once(monkeypatch, OrderRepository, "add_payload_id")
    start = len(log_lines.getvalue())
    # When the buyer resends it under a new payloadID (answered 500, which it retries)
    assert cxml(post_order(builders.order_request("PO-P1", lines, payload_id="b@b"))).status.code == 500
    # Then the failure is one ERROR line with one traceback (not a WARNING repeating it), which says
    # what failed: the operator's ERROR query finds it whole
    written = [json.loads(line) for line in log_lines.getvalue()[start:].splitlines()]
    assert [(line["level"], line["status"]) for line in written] == [("ERROR", 500)]
    assert "payloadID could not be recorded" in written[0]["exception"]
    assert written[0]["exception"].count("Traceback") == 1


@pytest.mark.parametrize("after_call", [False, True], ids=["record write", "record write, response lost"])
def test_a_failed_record_write_leaves_no_payloads_without_a_record(table, queue_url, monkeypatch, after_call):
    # Given a fault in writing the order's record (before it, or after it with the answer lost)
    register(table)
    fail_once(monkeypatch, OrderRepository, "create", after_call=after_call)
    document = builders.order_request("PO-O", [builders.item_out("P1", "1", price="1.00")])
    # When the buyer sends the order, retrying after a 5xx
    if cxml(post_order(document)).status.code != 200:
        assert cxml(post_order(document)).status.code == 200
    # Then the shop has it once, and every stored payload belongs to the record
    assert len(drain(queue_url)) == 1
    [record] = table.query("ORDER#acme#PO-O", "VERSION#")
    blobs = table.query("ORDER#acme#PO-O", "BLOB#")
    assert {i["sk"]["S"].split("#")[1] for i in blobs} == {json.loads(record["data"]["S"])["blob_id"]}


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


def test_contention_is_logged_as_a_warning_and_a_refused_document_as_info(table, queue_url, monkeypatch, caplog):
    # Given an order whose lease another delivery holds (and no time to wait for it)
    register(table)
    no_wait(monkeypatch)
    monkeypatch.setattr(OrderRepository, "acquire_lease", lambda self, *args, **kwargs: None)
    caplog.set_level(logging.DEBUG)
    document = builders.order_request("PO-BUSY", [builders.item_out("P1", "1", price="1.00")])
    # When the buyer sends it, and then an update of an order never received
    assert cxml(post_order(document)).status.code == 560
    unknown = builders.order_request("PO-NONE", [builders.item_out("P1", "1", price="1.00")], order_type="update")
    assert cxml(post_order(unknown)).status.code == 417
    # Then the 560 (the buyer's retry resolves it) is a WARNING, the refusal of the document INFO:
    # the runbook's ERROR query stays for our faults
    refused = [r for r in caplog.records if r.getMessage() == "cXML request refused"]
    levels = {getattr(r, "status", None): r.levelname for r in refused}
    assert levels == {560: "WARNING", 417: "INFO"}


def test_a_delivery_that_loses_the_race_to_store_the_order_queues_the_stored_message(table, queue_url, monkeypatch):
    # Given two deliveries of one order at once: the other one stores its record (and its message, with
    # its own received_at) first, and fails to queue it
    register(table)
    document = builders.order_request("PO-RACE", [builders.item_out("P1", "3", price="2.50")])
    create = OrderRepository.create

    def other_delivery_first(self: OrderRepository, record: Any, expires_at: int | None = None) -> None:
        monkeypatch.setattr(OrderRepository, "create", create)
        fail_once(monkeypatch, OrderQueue, "send")
        assert post_order(document)["statusCode"] >= 500
        create(self, record, expires_at)

    monkeypatch.setattr(OrderRepository, "create", other_delivery_first)
    # When this delivery then finds the record taken
    assert cxml(post_order(document)).status.code == 200
    # Then it queues the order as stored, not the message it had made itself: the shop reads the same
    [queued] = drain(queue_url)
    stored = OrderRepository(table).find(queued["body"]["message_id"])
    assert stored is not None
    assert queued["body"] == json.loads(OrderRepository(table).message(stored))


def _stored_but_not_queued(table: Any, monkeypatch: Any, order_id: str) -> bytes:
    """An order whose first delivery stored it and failed to queue it (5xx), deliveries that may not wait
    for a lease from now on; returns the document, for the buyer's retry."""
    register(table)
    no_wait(monkeypatch)
    fail_once(monkeypatch, OrderQueue, "send")
    document = builders.order_request(order_id, [builders.item_out("P1", "1", price="1.00")])
    assert cxml(post_order(document)).status.code >= 500
    return document


def test_a_failed_send_gives_the_lease_back_so_the_retry_need_not_wait_for_it(table, queue_url, monkeypatch):
    # Given a delivery that may not wait for a lease, and a queue that fails once
    document = _stored_but_not_queued(table, monkeypatch, "PO-L")
    # When the buyer retries at once, Then the order is queued (the failed delivery's lease is not in the way)
    assert cxml(post_order(document)).status.code == 200
    assert len(drain(queue_url)) == 1


def test_a_delivery_that_finds_the_order_queued_by_another_answers_200_without_waiting(table, queue_url, monkeypatch):
    # Given an order stored but not queued (the queue failed once), and a delivery that may not wait
    document = _stored_but_not_queued(table, monkeypatch, "PO-W")
    acquire = OrderRepository.acquire_lease

    def queued_by_another_delivery(self: OrderRepository, order_key: Any, seconds: int) -> str | None:
        self.mark_queued(order_key)
        return acquire(self, order_key, seconds)

    monkeypatch.setattr(OrderRepository, "acquire_lease", queued_by_another_delivery)
    # When the buyer's retry finds the lease refused because another delivery queued the order meanwhile
    # Then it answers 200 at once (the order is stored and queued), not a 560 after waiting
    assert cxml(post_order(document)).status.code == 200


def test_a_record_write_refused_with_no_record_to_find_is_a_560_and_leaves_no_payloads(table, queue_url, monkeypatch):
    # Given a table whose record write is refused by its condition, yet no record of the order is there
    register(table)

    def refused(self: OrderRepository, record: Any, expires_at: int | None = None) -> None:
        raise ConditionFailed("injected")

    monkeypatch.setattr(OrderRepository, "create", refused)
    document = builders.order_request("PO-C", [builders.item_out("P1", "1", price="1.00")])
    # When the buyer sends the order
    answer = post_order(document)
    # Then it is the temporary failure the buyer retries (560, HTTP 503), not an unexpected 500, and the
    # payloads written for it are gone again
    assert (cxml(answer).status.code, answer["statusCode"]) == (560, 503)
    assert list(table.query("ORDER#acme#PO-C", "BLOB#")) == []
    assert drain(queue_url) == []


def test_a_lease_write_repeated_after_its_answer_was_lost_is_the_deliverys_own(table, queue_url, monkeypatch):
    # Given an order whose lease write takes effect but whose answer is lost, and which botocore repeats:
    # the repeat fails its condition on the lease the first attempt took
    # (and no waiting for a lease held by another delivery: a lease outlives the wait, 20 s and 8 s by default)
    register(table)
    no_wait(monkeypatch)
    document = builders.order_request("PO-L", [builders.item_out("P1", "1", price="1.00")])
    with fault_at(_lease_write_position(document, queue_url), "retried", dynamodb_client()) as injector:
        answer = post_order(document)
    # Then the delivery knows the lease for its own and sends the order (200, not a 560 for a lease that
    # only its own expiry would free)
    assert str(injector.injected) == "UpdateItem ORDER/VERSION", injector.injected
    assert cxml(answer).status.code == 200
    assert [m["body"]["order_id"] for m in drain(queue_url)] == ["PO-L"]


def _lease_write_position(document: bytes, queue_url: str) -> int:
    """The position of the lease write among an order's calls (its first UpdateItem), found on a copy."""
    copy = document.replace(b'orderID="PO-L"', b'orderID="PO-L-COPY"')
    with recorded_calls(dynamodb_client(), sqs_client()) as calls:
        assert cxml(post_order(copy)).status.code == 200
    drain(queue_url)
    return [str(call) for call in calls].index("UpdateItem ORDER/VERSION") + 1
