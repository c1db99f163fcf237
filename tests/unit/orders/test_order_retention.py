"""ORDER_RETENTION_DAYS (template parameter OrderRetentionDays): every item an order writes expires together,
at its receipt plus the retention; 0 (the default) keeps orders forever, and items written before the setting,
or while it is 0, are never given a TTL. From its expiry on, an order is gone for every read, whether or not
DynamoDB's TTL has deleted it yet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import order_request.handler
import punchout.store.orders
from punchout.cxml.models import Comments
from punchout.settings import clear_settings_cache
from punchout.store.dynamo import Table
from punchout.store.orders import OrderRecord
from tests.support import builders
from tests.unit.gateway.conftest import TABLE_NAME
from tests.unit.gateway.helpers import call, cxml, register, shop_key, table_items
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_cli_orders import Run
from tests.unit.orders.test_order_request import post_order

DAY = 86400
DRAWING = b"%PDF-1.4 a drawing"


def _retain(monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    monkeypatch.setenv("ORDER_RETENTION_DAYS", days)
    clear_settings_cache()
    order_request.handler.service.cache_clear()


@pytest.fixture
def retention(table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Orders kept 30 days; the default partner registered."""
    register(table)
    _retain(monkeypatch, "30")
    yield 30
    clear_settings_cache()
    order_request.handler.service.cache_clear()


def _order_items(table: Table, order_id: str) -> list[dict[str, Any]]:
    """Every item of the order ``order_id`` (any partner, mode, version) and the lookups of its versions."""
    items = [item for item in table_items(table) if item["pk"]["S"].split("#")[-1] == order_id]
    message_ids = {json.loads(item["data"]["S"])["message_id"] for item in items if item["sk"]["S"].startswith("VER")}
    return items + [item for item in table_items(table) if item["pk"]["S"].removeprefix("ORDERMSG#") in message_ids]


def _record(table: Table, order_id: str, version: str = "1", order_type: str = "new") -> OrderRecord:
    [item] = [
        item
        for item in _order_items(table, order_id)
        if item["sk"]["S"] == f"VERSION#{order_type}#{version}" and item["pk"]["S"].startswith("ORDER#")
    ]
    return OrderRecord.model_validate_json(item["data"]["S"])


def _expiries(items: list[dict[str, Any]]) -> set[int | None]:
    return {int(item["expires_at"]["N"]) if "expires_at" in item else None for item in items}


def _kinds(items: list[dict[str, Any]]) -> set[str]:
    """VERSION, ORDERMSG, and each payload kind (MESSAGE, RAW, ATTACHMENT)."""
    return {
        item["sk"]["S"].split("#")[2] if item["sk"]["S"].startswith("BLOB#") else item["sk"]["S"].split("#")[0]
        for item in items
    }


def _set_expiry(table: Table, items: list[dict[str, Any]], expires_at: int) -> None:
    """Give the items another expiry, as if the order had been received at another time."""
    for item in items:
        table.client.update_item(
            TableName=table.name,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET expires_at = :at",
            ExpressionAttributeValues={":at": {"N": str(expires_at)}},
        )


def _order(order_id: str, **changes: Any) -> bytes:
    return builders.order_request(order_id, [builders.item_out("P1", "1", price="1.00")], **changes)


def _order_with_drawing(order_id: str) -> tuple[bytes, str]:
    """A one-line order with a PDF attachment, as a multipart body and its content type."""
    cid = "drawing-1@buyer.example"
    document = _order(order_id, comments=[Comments(text="See the drawing", attachments=[f"cid:{cid}"])])
    return builders.multipart_related(document, [(cid, "application/pdf", "d.pdf", DRAWING, "base64")])


def test_every_item_an_order_writes_expires_at_its_receipt_plus_the_retention(
    table: Table, queue_url: str, retention: int
) -> None:
    # Given orders kept 30 days, and an order with an attachment
    body, content_type = _order_with_drawing("PO-TTL")
    # When it is received
    assert cxml(post_order(body, content_type)).status.code == 200
    drain(queue_url)
    # Then its record, its lookup and every payload chunk (message, raw document, attachment) expire together,
    # 30 days after the record's received_at
    items = _order_items(table, "PO-TTL")
    assert _kinds(items) == {"VERSION", "ORDERMSG", "MESSAGE", "RAW", "ATTACHMENT"}
    received = int(_record(table, "PO-TTL").received_at.timestamp())
    assert _expiries(items) == {received + retention * DAY}


@pytest.mark.parametrize("days", [None, "0"], ids=["unset", "0"])
def test_without_a_retention_no_order_item_expires(
    table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch, days: str | None
) -> None:
    # Given the retention unset or 0
    register(table)
    if days is not None:
        _retain(monkeypatch, days)
    # When an order is received
    assert cxml(post_order(_order("PO-KEEP"))).status.code == 200
    drain(queue_url)
    # Then none of its items carries the TTL attribute
    items = _order_items(table, "PO-KEEP")
    assert _kinds(items) == {"VERSION", "ORDERMSG", "MESSAGE", "RAW"}
    assert _expiries(items) == {None}


def test_orders_received_before_the_retention_was_set_are_never_given_one(
    table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order received while orders were kept forever
    register(table)
    original = _order("PO-OLD", payload_id="old-1@buyer")
    assert cxml(post_order(original)).status.code == 200
    # When a retention is set, and the buyer resends the order (the same document, and under another payloadID)
    _retain(monkeypatch, "30")
    resent = _order("PO-OLD", payload_id="old-1r@buyer")
    assert cxml(post_order(original)).status.code == 200
    assert cxml(post_order(resent)).status.code == 200
    # and then sends an update of it
    update = _order("PO-OLD", order_type="update", version=2, reference="old-1@buyer", payload_id="old-2@buyer")
    assert cxml(post_order(update)).status.code == 200
    # Then the order's first version is still kept forever (its record recorded the resend all the same)
    assert len(drain(queue_url)) == 2
    first = [item for item in _order_items(table, "PO-OLD") if "expires_at" not in item]
    assert _kinds(first) == {"VERSION", "ORDERMSG", "MESSAGE", "RAW"}
    [record] = [item for item in first if item["sk"]["S"] == "VERSION#new#1"]
    assert record["resent_as"]["SS"] == ["old-1r@buyer"]
    # And only the update, received since, expires: 30 days after its own receipt
    later = [item for item in _order_items(table, "PO-OLD") if "expires_at" in item]
    assert _kinds(later) == {"VERSION", "ORDERMSG", "MESSAGE", "RAW"}
    received = int(_record(table, "PO-OLD", "2", "update").received_at.timestamp())
    assert _expiries(later) == {received + 30 * DAY}


def test_an_update_expires_after_its_own_receipt_and_leaves_the_earlier_versions_expiry_alone(
    table: Table, queue_url: str, retention: int
) -> None:
    # Given an order received with a retention, whose items expire in two days
    assert cxml(post_order(_order("PO-UPD", payload_id="upd-1@buyer"))).status.code == 200
    first = _order_items(table, "PO-UPD")
    soon = int(_record(table, "PO-UPD").received_at.timestamp()) + 2 * DAY
    _set_expiry(table, first, soon)
    # When the buyer sends an update of it
    update = _order("PO-UPD", order_type="update", version=2, reference="upd-1@buyer", payload_id="upd-2@buyer")
    assert cxml(post_order(update)).status.code == 200
    assert len(drain(queue_url)) == 2
    # Then the first version still expires when it did, the update 30 days after its own receipt
    items = {(item["pk"]["S"], item["sk"]["S"]): item for item in _order_items(table, "PO-UPD")}
    assert _expiries([items[(item["pk"]["S"], item["sk"]["S"])] for item in first]) == {soon}
    later = [item for key, item in items.items() if key not in {(i["pk"]["S"], i["sk"]["S"]) for i in first}]
    assert _kinds(later) == {"VERSION", "ORDERMSG", "MESSAGE", "RAW"}
    received = int(_record(table, "PO-UPD", "2", "update").received_at.timestamp())
    assert _expiries(later) == {received + retention * DAY}


def test_the_shop_reads_an_order_until_its_expiry_and_not_from_then_on(
    table: Table, queue_url: str, retention: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order with an attachment, received with a retention
    body, content_type = _order_with_drawing("PO-GET")
    assert cxml(post_order(body, content_type)).status.code == 200
    [queued] = drain(queue_url)
    message_id = queued["body"]["message_id"]
    headers = shop_key(table)
    [expires_at] = _expiries(_order_items(table, "PO-GET"))
    assert expires_at is not None
    paths = [
        f"/shop/orders/{message_id}",
        f"/shop/orders/{message_id}/pages/1",
        f"/shop/orders/{message_id}/attachments/0",
    ]
    # When the shop reads it in the last second before its expiry, Then it gets it
    monkeypatch.setattr(punchout.store.orders, "now", lambda: expires_at - 1)
    assert [call("GET", path, headers=headers)["statusCode"] for path in paths] == [200, 200, 200]
    # And from its expiry on (TTL deletes it within days), the order is gone, as one never received
    monkeypatch.setattr(punchout.store.orders, "now", lambda: expires_at)
    assert [call("GET", path, headers=headers)["statusCode"] for path in paths] == [404, 404, 404]


def test_an_order_resent_after_its_expiry_is_received_again(table: Table, queue_url: str, retention: int) -> None:
    # Given an order past its expiry that TTL has not deleted yet
    document = _order("PO-AGAIN")
    assert cxml(post_order(document)).status.code == 200
    [first] = drain(queue_url)
    gone = _record(table, "PO-AGAIN")
    _set_expiry(table, _order_items(table, "PO-AGAIN"), int(gone.received_at.timestamp()) - 1)
    # When the buyer sends it again
    assert cxml(post_order(document)).status.code == 200
    # Then it is stored and queued again, as after TTL's deletion (under the same message id: one order)
    [again] = drain(queue_url)
    assert again["body"]["message_id"] == first["body"]["message_id"]
    record = _record(table, "PO-AGAIN")
    assert record.blob_id != gone.blob_id and record.received_at > gone.received_at
    fresh = [item for item in _order_items(table, "PO-AGAIN") if gone.blob_id not in item["sk"]["S"]]
    assert _expiries(fresh) == {int(record.received_at.timestamp()) + retention * DAY}
    # And the shop reads the new one
    response = call("GET", f"/shop/orders/{record.message_id}", headers=shop_key(table))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["received_at"] == again["body"]["received_at"]


def test_an_update_of_an_order_past_its_expiry_is_refused_as_one_never_received(
    table: Table, queue_url: str, retention: int
) -> None:
    # Given an order past its expiry, not yet deleted by TTL
    assert cxml(post_order(_order("PO-LATE", payload_id="late-1@buyer"))).status.code == 200
    drain(queue_url)
    _set_expiry(table, _order_items(table, "PO-LATE"), int(_record(table, "PO-LATE").received_at.timestamp()))
    # When the buyer sends an update of it
    update = _order("PO-LATE", order_type="update", version=2, reference="late-1@buyer", payload_id="late-2@buyer")
    # Then it is refused (417), as after TTL's deletion, and nothing is queued
    assert cxml(post_order(update)).status.code == 417
    assert drain(queue_url) == []


def test_the_operators_cli_treats_an_order_past_its_expiry_as_gone(
    table: Table, queue_url: str, retention: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two orders received with a retention, one of them past its expiry
    assert cxml(post_order(_order("PO-LIVE"))).status.code == 200
    assert cxml(post_order(_order("PO-PAST"))).status.code == 200
    drain(queue_url)
    live, past = _record(table, "PO-LIVE"), _record(table, "PO-PAST")
    _set_expiry(table, _order_items(table, "PO-PAST"), int(past.received_at.timestamp()))
    punchout = Run(capsys, TABLE_NAME, ("orders",))
    # When the operator lists, shows and requeues them
    listed = {row["order_id"] for row in punchout.listed()} | {
        row["order_id"] for row in punchout.listed("--partner", "acme", "--order-id", "PO-PAST")
    }
    shown = json.loads(punchout.ok("show", live.message_id))
    code, _, err = punchout("show", past.message_id)
    requeued, _, requeue_err = punchout("requeue", past.message_id)
    # Then the expired one is gone for each, as an unknown order; the live one shows when it expires
    assert listed == {"PO-LIVE"}
    expires_at = datetime.fromtimestamp(int(live.received_at.timestamp()) + 30 * DAY, UTC)
    assert datetime.fromisoformat(shown["expires_at"]) == expires_at
    assert (code, requeued) == (1, 1)
    assert f"no order message {past.message_id}" in err and f"no order message {past.message_id}" in requeue_err
    assert drain(queue_url) == []


def test_orphans_leaves_out_payloads_past_their_expiry(
    table: Table, queue_url: str, retention: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order past its expiry (record, lookup, payloads: DynamoDB deletes them, not always together),
    # whose record TTL already deleted, and an order received again after its expiry (the old attempt's
    # payloads are still there)
    assert cxml(post_order(_order("PO-SWEPT"))).status.code == 200
    assert cxml(post_order(_order("PO-RENEW"))).status.code == 200
    drain(queue_url)
    swept, renewed = _record(table, "PO-SWEPT"), _record(table, "PO-RENEW")
    _set_expiry(table, _order_items(table, "PO-SWEPT"), int(swept.received_at.timestamp()))
    _set_expiry(table, _order_items(table, "PO-RENEW"), int(renewed.received_at.timestamp()))
    table.client.delete_item(
        TableName=table.name, Key={"pk": {"S": "ORDER#acme#PO-SWEPT"}, "sk": {"S": "VERSION#new#1"}}
    )
    assert cxml(post_order(_order("PO-RENEW"))).status.code == 200
    drain(queue_url)
    monkeypatch.setattr("punchout.store.orders.time.sleep", lambda _: None)
    # When the operator looks for payloads no record names
    found = json.loads(Run(capsys, TABLE_NAME, ("orders",)).ok("orphans"))
    # Then those past their expiry are not among them: they are gone, DynamoDB deletes them
    assert found == {"deleted_items": 0, "unnamed_payloads": []}


def _swept_after(monkeypatch: pytest.MonkeyPatch, cls: Any, name: str, table: Table, key: dict[str, Any]) -> None:
    """``cls.name`` runs, then TTL deletes the record ``key`` (at its expiry, within the delivery)."""
    original = getattr(cls, name)

    def then_swept(*arguments: Any, **options: Any) -> Any:
        result = original(*arguments, **options)
        boto3.client("dynamodb").delete_item(TableName=table.name, Key=key)  # TTL, not the function
        return result

    monkeypatch.setattr(cls, name, then_swept)


@pytest.mark.parametrize("moment", ["resend", "send"])
def test_a_record_ttl_deletes_during_a_delivery_is_not_written_back_as_a_stub(
    table: Table, queue_url: str, retention: int, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    # Given an order received with a retention (for "send": stored, its first send failed), whose record TTL
    # deletes while a delivery of it runs: after the resend found it, or after its message was sent
    from punchout.store.orders import OrderRepository
    from punchout.store.queue import OrderQueue
    from tests.unit.orders.test_faults import fail_once

    document = _order("PO-STUB", payload_id="stub-1@buyer")
    key = {"pk": {"S": "ORDER#acme#PO-STUB"}, "sk": {"S": "VERSION#new#1"}}
    if moment == "resend":
        assert cxml(post_order(document)).status.code == 200
        drain(queue_url)
        _swept_after(monkeypatch, OrderRepository, "get", table, key)
        document = _order("PO-STUB", payload_id="stub-1r@buyer")
    else:
        fail_once(monkeypatch, OrderQueue, "send")
        assert cxml(post_order(document)).status.code >= 500
        _swept_after(monkeypatch, OrderQueue, "send", table, key)
    # When the delivery goes on (recording the resend's payloadID; recording the order as queued)
    assert cxml(post_order(document)).status.code == 200
    drain(queue_url)
    # Then no record is written back without its order (an update creates what it does not find): the order
    # stays gone, and every reader of records still reads them
    assert [item for item in table_items(table) if item["sk"]["S"].startswith("VERSION#")] == []


def test_orphans_waits_only_for_live_payloads_and_leaves_out_those_that_expire_meanwhile(
    table: Table, queue_url: str, retention: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order whose stopped delivery left payloads no record names, expiring at `ends` (as its
    # order would have); a clock the test moves, and a wait that only records how long it was asked for
    from punchout.store.orders import OrderRepository

    assert cxml(post_order(_order("PO-STOP"))).status.code == 200
    drain(queue_url)
    ends = int(_record(table, "PO-STOP").received_at.timestamp()) + retention * DAY
    table.put_chunks("ORDER#acme#PO-STOP", "BLOB#stopped#MESSAGE#", b"a stopped delivery's message", ends)
    clock, waits = [ends - 1], list[float]()

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.append(ends)

    monkeypatch.setattr("punchout.store.orders.time.sleep", wait)
    monkeypatch.setattr(punchout.store.orders, "now", lambda: clock[-1])
    orders = OrderRepository(table)
    # When the operator looks for payloads no record names, and they expire during the wait
    during = orders.unnamed_payloads(30)
    # And again once they have expired
    after = orders.unnamed_payloads(30)
    # Then the first search waited for them and then left them out (gone, as every read treats them), and
    # the second found nothing to wait for
    assert (during, after, waits) == ([], [], [30])
