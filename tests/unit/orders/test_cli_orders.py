"""``punchout orders``: the operator's view of received orders, and sending their messages again."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from punchout import cli
from punchout.orders import OrderKey
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.orders import OrderRecord, OrderRepository
from punchout.store.queue import MAX_MESSAGE_BYTES, group_id
from tests.support import builders
from tests.support.events import api_event
from tests.unit.gateway import helpers
from tests.unit.gateway.conftest import TABLE_NAME
from tests.unit.gateway.helpers import invoke, register, table_items
from tests.unit.orders.conftest import drain

TEST_IDENTITY: dict[str, Any] = {"identity": builders.BUYER_IDENTITY + "-T", "secret": builders.SECRET + " test"}


class Run(helpers.Run):
    """``punchout --table <moto table> orders ...``."""

    def listed(self, *arguments: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = json.loads(self.ok("list", "--json", *arguments))
        return listed


@pytest.fixture
def punchout(table: Table, queue_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys, TABLE_NAME, ("orders",))


def post_order(body: bytes, content_type: str = "text/xml") -> int:
    event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": content_type}, binary=True)
    return int(invoke("OrderRequestFunction", event)["statusCode"])


def stored_order(
    table: Table,
    order_id: str,
    received_at: str,
    *,
    partner_id: str = "acme",
    mode: str = "production",
    version: str = "1",
    status: str = "queued",
    message: bytes | None = None,
) -> OrderRecord:
    """A record written as the gateway writes one (payloads first), received at ``received_at``."""
    orders = OrderRepository(table)
    key = OrderKey(partner_id, order_id, "new", version, mode)  # type: ignore[arg-type]
    body = message if message is not None else json.dumps({"message_id": key.message_id, "order_id": order_id})
    blob_id = uuid.uuid4().hex  # each delivery attempt's own, as the gateway's
    message_chunks, raw_chunks, _ = orders.store_payloads(
        key, blob_id, body.encode() if isinstance(body, str) else body, b"<cXML/>", []
    )
    record = OrderRecord(
        blob_id=blob_id,
        partner_id=partner_id,
        deployment_mode=mode,  # type: ignore[arg-type]
        order_id=order_id,
        type="new",
        version=version,
        message_id=key.message_id,
        content_hash="0" * 64,
        payload_id=f"{order_id}@buyer",
        received_at=datetime.fromisoformat(received_at),
        message_chunks=message_chunks,
        raw_chunks=raw_chunks,
    )
    orders.create(record)
    if status == "queued":
        orders.mark_queued(key)
    return record


@contextmanager
def dynamodb_calls(page_size: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """The DynamoDB calls made meanwhile (operation, parameters, items returned); ``page_size``: each Scan
    returns pages of that many items, as DynamoDB returns pages of 1 MB."""
    calls: list[dict[str, Any]] = []
    events = dynamodb_client().meta.events

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        if page_size is not None and model.name == "Scan":
            params["Limit"] = page_size
        calls.append({"operation": model.name, "params": dict(params)})

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        calls[-1]["items"] = parsed.get("Items", [])

    events.register("provide-client-params.dynamodb.*", before, unique_id="orders-cli-before")
    events.register("after-call.dynamodb.*", after, unique_id="orders-cli-after")
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.dynamodb.*", unique_id="orders-cli-before")
        events.unregister("after-call.dynamodb.*", unique_id="orders-cli-after")


def queued(url: str, *, published: bool = True) -> list[dict[str, Any]]:
    """The queue's messages as SQS holds them (``drain``): the body's exact text, its group and
    deduplication id."""
    return [
        {
            "body": message["text"],
            "group": message["attributes"]["MessageGroupId"],
            "deduplication_id": message["attributes"]["MessageDeduplicationId"],
            "schema": message["message_attributes"]["schema"]["StringValue"],
        }
        for message in drain(url, published=published)
    ]


# --- list -----------------------------------------------------------------------------------------


def test_orders_are_listed_newest_first_with_their_record_and_nothing_else(punchout: Run, table: Table) -> None:
    # Given three orders received at different times, in another order than their numbers, one not queued
    older = stored_order(table, "PO-2", "2026-11-20T08:00:00+00:00")
    newest = stored_order(table, "PO-1", "2026-11-27T09:30:00+00:00", status="received")
    middle = stored_order(table, "PO-3", "2026-11-25T12:00:00+00:00", mode="test")
    # When they are listed
    listed = punchout.listed()
    # Then newest first, each with its record's fields: queued_at once it was queued, no payload
    assert [row["message_id"] for row in listed] == [newest.message_id, middle.message_id, older.message_id]
    assert listed[0] == {
        "message_id": newest.message_id,
        "partner_id": "acme",
        "deployment_mode": "production",
        "order_id": "PO-1",
        "type": "new",
        "version": "1",
        "received_at": "2026-11-27T09:30:00+00:00",
        "status": "received",
    }
    assert listed[1]["deployment_mode"] == "test"
    assert listed[2]["status"] == "queued"
    assert datetime.fromisoformat(listed[2]["queued_at"]) > datetime(2026, 11, 27, tzinfo=UTC)


def test_the_text_listing_has_one_line_per_order_newest_first(punchout: Run, table: Table) -> None:
    # Given two orders, one from the buyer's test system
    first = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    second = stored_order(table, "PO-2", "2026-11-21T08:00:00+00:00", mode="test", status="received")
    # When they are listed without --json
    lines = punchout.ok("list").splitlines()
    # Then each is a line naming its time, status, message id, partner (and test mode) and order
    assert len(lines) == 2
    assert lines[0].split() == [
        "2026-11-21T08:00:00+00:00",
        "received",
        second.message_id,
        "acme",
        "(test)",
        "new",
        "1",
        "PO-2",
    ]
    assert lines[1].split()[:4] == ["2026-11-20T08:00:00+00:00", "queued", first.message_id, "acme"]


@pytest.mark.parametrize("version", ["after:PO-1@buyer\n2026-11-28T00:00:00+00:00  queued  forged", "payload:x\x9b2J"])
def test_a_version_the_buyer_named_cannot_garble_the_text_listing(punchout: Run, table: Table, version: str) -> None:
    # Given a versionless update, whose version is the buyer's payloadID (a newline or a C1 control
    # character is XML's, written as a character reference)
    stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00", version=version)
    # When it is listed without --json
    lines = punchout.ok("list").splitlines()
    # Then it is one line, its version quoted as the order id is
    assert len(lines) == 1
    assert lines[0].endswith(f"new {version!r}  PO-1")


def test_the_listing_reads_every_page_of_the_scan_and_only_the_records_attributes(punchout: Run, table: Table) -> None:
    # Given seven orders (each a record, two payload chunks and a lookup item) and a partner
    register(table)
    records = [stored_order(table, f"PO-{n}", f"2026-11-{10 + n}T08:00:00+00:00") for n in range(7)]
    # When they are listed while DynamoDB returns pages of three items
    with dynamodb_calls(page_size=3) as calls:
        listed = punchout.listed()
    # Then every page was read, and every order listed, newest first
    scans = [call for call in calls if call["operation"] == "Scan"]
    assert len(scans) > len(table_items(table)) // 3
    assert {call["operation"] for call in calls} == {"Scan"}
    assert [row["message_id"] for row in listed] == [record.message_id for record in reversed(records)]
    # And each page asked for the records' attributes only: no payload chunk, no partner came back
    returned = [item for call in scans for item in call["items"]]
    assert len(returned) == len(records)
    assert {attribute for item in returned for attribute in item} <= {
        "pk",
        "sk",
        "data",
        "status",
        "queued_at",
        "lease_until",
    }
    assert all("ProjectionExpression" in call["params"] for call in scans)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--partner", "acme"], ["acme-1", "acme-2", "acme-test", "odd"]),
        (["--partner", "acme", "--mode", "test"], ["acme-test"]),
        (["--mode", "test"], ["acme-test", "globex-test"]),
        (["--mode", "production"], ["acme-1", "acme-2", "globex-1", "odd"]),
        (["--order-id", "PO-2"], ["acme-2", "acme-test"]),
        (["--status", "received"], ["acme-2", "globex-test"]),
        (["--status", "queued", "--partner", "globex"], ["globex-1"]),
        (["--since", "2026-11-21"], ["acme-2", "acme-test", "globex-1", "globex-test", "odd"]),
        (["--since", "2026-11-21T09:00:00+01:00", "--until", "2026-11-23"], ["acme-2", "globex-1"]),
        (["--until", "2026-11-21T08:00:00Z"], ["acme-1"]),
    ],
)
def test_the_listing_selects_by_partner_mode_order_status_and_time(
    punchout: Run, table: Table, options: list[str], expected: list[str]
) -> None:
    # Given orders of two partners, in both modes, at different times; and a production order whose number
    # ends with another's and looks like a test system's key (ORDER#acme#x:test#PO-2)
    names = {
        "acme-1": stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00"),
        "acme-2": stored_order(table, "PO-2", "2026-11-22T08:00:00+00:00", status="received"),
        "acme-test": stored_order(table, "PO-2", "2026-11-24T08:00:00+00:00", mode="test"),
        "globex-1": stored_order(table, "PO-7", "2026-11-21T08:00:00+00:00", partner_id="globex"),
        "globex-test": stored_order(
            table, "PO-1", "2026-11-25T08:00:00+00:00", partner_id="globex", mode="test", status="received"
        ),
        "odd": stored_order(table, "x:test#PO-2", "2026-11-26T08:00:00+00:00"),
    }
    by_message_id = {record.message_id: name for name, record in names.items()}
    # When they are listed with the options
    listed = punchout.listed(*options)
    # Then exactly the expected ones are, newest first
    assert sorted(by_message_id[row["message_id"]] for row in listed) == sorted(expected)
    times = [row["received_at"] for row in listed]
    assert times == sorted(times, reverse=True)


# Test mode queries production's partition too: an older version stored test-mode orders there.
@pytest.mark.parametrize(("mode", "partitions"), [([], 2), (["--mode", "test"], 2), (["--mode", "production"], 1)])
def test_an_order_of_a_named_partner_is_found_by_query_without_a_scan(
    punchout: Run, table: Table, mode: list[str], partitions: int
) -> None:
    # Given an order number both of a partner's systems used, with two versions in production
    stored_order(table, "PO-9", "2026-11-20T08:00:00+00:00")
    stored_order(table, "PO-9", "2026-11-21T08:00:00+00:00", version="2")
    stored_order(table, "PO-9", "2026-11-22T08:00:00+00:00", mode="test")
    # When "did we receive PO-9 from acme?" is asked
    with dynamodb_calls() as calls:
        listed = punchout.listed("--partner", "acme", "--order-id", "PO-9", *mode)
    # Then the order's partitions are queried (one per mode), and the table is not scanned
    assert [call["operation"] for call in calls] == ["Query"] * partitions
    everything = [("test", "1"), ("production", "2"), ("production", "1")]
    expected = [row for row in everything if not mode or row[0] == mode[1]]
    assert [(row["deployment_mode"], row["version"]) for row in listed] == expected


def test_a_listing_of_no_orders_is_empty(punchout: Run, table: Table) -> None:
    register(table)
    assert punchout.listed() == []
    assert punchout.ok("list") == ""


def test_a_time_that_is_not_iso_8601_is_refused(punchout: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--table", TABLE_NAME, "orders", "list", "--since", "27.11.2026"])
    assert exit_.value.code == 2
    assert "expected an ISO 8601 date or time" in capsys.readouterr().err


# --- show -----------------------------------------------------------------------------------------


def test_show_tells_the_record_and_what_is_stored_but_never_a_secret(punchout: Run, table: Table) -> None:
    # Given an order received with an attachment, its SharedSecret in the document
    register(table)
    document = builders.order_request("PO-S", [builders.item_out("P1", "2", price="10.00")])
    body, content_type = builders.multipart_related(
        document, [("spec@buyer", "application/pdf", "spec.pdf", b"%PDF-1.4 spec", "base64")]
    )
    assert post_order(body, content_type) == 200
    [row] = punchout.listed()
    # When it is shown
    shown = json.loads(punchout.ok("show", row["message_id"]))
    # Then the record, its sizes and attachments are, never the secret
    record = OrderRepository(table).find(row["message_id"])
    assert record is not None
    orders = OrderRepository(table)
    assert {key: shown[key] for key in row} == row
    assert shown["status"] == "queued" and "dispatch_lease_until" not in shown
    assert shown["expires_at"] is None  # no order retention: kept forever (README: `show` prints null)
    assert shown["payload_id"] == record.payload_id
    assert shown["stored"] == {
        "message_bytes": len(orders.message(record)),
        "raw_document_bytes": len(orders.raw(record)),
        "attachments": [
            {"content_id": "spec@buyer", "content_type": "application/pdf", "filename": "spec.pdf", "size": 13}
        ],
    }
    assert builders.SECRET not in json.dumps(shown)


def test_show_raw_prints_the_document_as_stored_with_its_secret_redacted(
    table: Table, queue_url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # Given an order received with its SharedSecret
    register(table)
    assert post_order(builders.order_request("PO-R", [builders.item_out("P1", "1", price="1.00")])) == 200
    [stored] = OrderRepository(table).listing()
    record = stored.record
    # When its raw document is shown
    capsysbinary.readouterr()
    assert cli.main(["--table", TABLE_NAME, "orders", "show", record.message_id, "--raw"]) == 0
    out = capsysbinary.readouterr().out
    # Then it is the stored document, byte for byte, which holds no secret
    assert out == OrderRepository(table).raw(record)
    assert b"<OrderRequest" in out
    assert builders.SECRET.encode() not in out


@pytest.mark.parametrize("message_id", ["0" * 64, "not-a-message-id"])
def test_an_unknown_message_id_is_refused(punchout: Run, table: Table, queue_url: str, message_id: str) -> None:
    # Given an order that was received
    stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    # When another message id is shown or requeued
    for command in (["show", message_id], ["requeue", message_id]):
        code, _, err = punchout(*command)
        # Then the command fails with one line naming it, and nothing is sent
        assert code == 1
        assert err == f"punchout: no order message {message_id}\n"
    assert queued(queue_url, published=False) == []


# --- requeue --------------------------------------------------------------------------------------


def test_requeue_sends_the_same_message_in_its_group_under_a_new_deduplication_id(
    punchout: Run, table: Table, queue_url: str
) -> None:
    # Given an order the gateway queued, which the shop never read before SQS deleted it
    register(table)
    assert post_order(builders.order_request("PO 7/ü", [builders.item_out("P1", "2", price="10.00")])) == 200
    [original] = queued(queue_url)
    [row] = punchout.listed()
    before = table_items(table)
    # When it is requeued
    out = json.loads(punchout.ok("requeue", row["message_id"]))
    # Then the shop gets the same body, byte for byte, in the same FIFO group, with the same attributes
    [again] = queued(queue_url)
    assert again["body"] == original["body"]
    assert again["group"] == original["group"] == group_id("acme", "PO 7/ü")
    assert again["schema"] == original["schema"]
    # And under a deduplication id of its own (the gateway's would be dropped within five minutes)
    assert original["deduplication_id"] == row["message_id"]
    assert again["deduplication_id"] != original["deduplication_id"]
    # And the command says what it sent where, and leaves the record as it was
    [sent] = out["sent"]
    assert out["queue_url"] == queue_url
    assert sent["message_id"] == row["message_id"]
    assert (sent["message_group_id"], sent["deduplication_id"]) == (again["group"], again["deduplication_id"])
    assert sent["sqs_message_id"]
    assert table_items(table) == before


def test_requeue_stops_at_an_order_whose_message_is_missing_and_says_what_it_sent(
    punchout: Run, table: Table, queue_url: str
) -> None:
    # Given two orders, the newer one's stored message gone (its chunk items deleted)
    older = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    newer = stored_order(table, "PO-2", "2026-11-21T08:00:00+00:00")
    chunks = [
        item
        for item in table_items(table)
        if item["pk"]["S"] == "ORDER#acme#PO-2" and item["sk"]["S"].startswith(f"BLOB#{newer.blob_id}#MESSAGE#")
    ]
    assert chunks
    for item in chunks:
        table.client.delete_item(TableName=table.name, Key={"pk": item["pk"], "sk": item["sk"]})
    # When both are requeued
    code, out, err = punchout("requeue", newer.message_id, older.message_id)
    # Then the command fails naming the missing message, after the older one went (oldest first), and says so
    assert code == 1
    assert err.startswith("punchout: ") and "chunks" in err
    assert [sent["message_id"] for sent in json.loads(out)["sent"]] == [older.message_id]
    assert [json.loads(message["body"])["order_id"] for message in queued(queue_url, published=False)] == ["PO-1"]


def test_an_error_naming_a_buyer_text_stays_one_terminal_line(punchout: Run, table: Table) -> None:
    # Given an order whose id holds a line break and a C1 control (sent as XML character references), and
    # whose stored message is gone
    order_id = "PO-9\n\x9b31mforged"
    record = stored_order(table, order_id, "2026-11-21T08:00:00+00:00")
    for item in table_items(table):
        if item["sk"]["S"].startswith(f"BLOB#{record.blob_id}#MESSAGE#"):
            table.client.delete_item(TableName=table.name, Key={"pk": item["pk"], "sk": item["sk"]})
    # When it is requeued
    code, _, err = punchout("requeue", record.message_id)
    # Then the error that names it is one line, with nothing a terminal would act on
    assert code == 1
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.isprintable() is False and err[:-1].isprintable()
    assert "PO-9\\n\\x9b31mforged" in err


def test_show_reports_a_missing_stored_message_and_still_shows_the_record(punchout: Run, table: Table) -> None:
    # Given an order whose stored message is gone (its chunk items deleted), its raw document kept
    record = stored_order(table, "PO-3", "2026-11-21T08:00:00+00:00")
    for item in table_items(table):
        if item["sk"]["S"].startswith(f"BLOB#{record.blob_id}#MESSAGE#"):
            table.client.delete_item(TableName=table.name, Key={"pk": item["pk"], "sk": item["sk"]})
    # When the operator shows it
    shown = json.loads(punchout.ok("show", record.message_id))
    # Then the record is there, and what is stored says which payload is missing
    assert (shown["message_id"], shown["order_id"], shown["status"]) == (record.message_id, "PO-3", "queued")
    assert shown["stored"]["message_bytes"] is None
    assert shown["stored"]["raw_document_bytes"] == len(b"<cXML/>")


def test_each_requeue_of_an_order_reaches_the_queue(punchout: Run, table: Table, queue_url: str) -> None:
    # Given a queued order
    record = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    # When it is requeued twice within five minutes
    punchout.ok("requeue", record.message_id)
    punchout.ok("requeue", record.message_id)
    # Then both are delivered: neither is dropped as the other's duplicate
    messages = queued(queue_url, published=False)
    assert len(messages) == 2
    assert messages[0]["deduplication_id"] != messages[1]["deduplication_id"]


def test_requeue_sends_the_claim_check_the_gateway_sent_for_a_large_order(
    punchout: Run, table: Table, queue_url: str
) -> None:
    # Given a stored message larger than the queue takes
    message: dict[str, Any] = {
        "message_id": "m",
        "follows_message_id": None,
        "complete": True,
        "lines": ["x" * MAX_MESSAGE_BYTES],
        "reconciliation": {},
    }
    record = stored_order(table, "PO-L", "2026-11-20T08:00:00+00:00", message=json.dumps(message).encode())
    # When it is requeued
    punchout.ok("requeue", record.message_id)
    # Then the queue gets the claim check, as from the gateway: the shop reads the lines from its API
    [sent] = queued(queue_url, published=False)
    assert json.loads(sent["body"]) == {**message, "complete": False, "lines": None, "reconciliation": None}


def test_requeue_sends_a_message_an_older_version_stored_as_the_schema_describes_it_now(
    punchout: Run, table: Table, queue_url: str
) -> None:
    # Given a message stored before the schema required requisition_id, ship_complete,
    # requested_delivery_date and follows_message_id
    message = {"message_id": "m", "complete": True, "lines": [], "reconciliation": None}
    record = stored_order(table, "PO-O", "2026-11-20T08:00:00+00:00", message=json.dumps(message).encode())
    # When it is requeued
    punchout.ok("requeue", record.message_id)
    # Then it goes out with those fields, at the values that mean what their absence meant
    [sent] = queued(queue_url, published=False)
    assert json.loads(sent["body"]) == {
        **message,
        "requisition_id": None,
        "ship_complete": False,
        "requested_delivery_date": None,
        "follows_message_id": None,
    }


def test_requeue_is_refused_while_the_gateway_is_sending_the_order(punchout: Run, table: Table, queue_url: str) -> None:
    # Given one order queued, and another the gateway is sending now (received, its dispatch lease held)
    done = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    sending = stored_order(table, "PO-2", "2026-11-20T09:00:00+00:00", status="received")
    assert OrderRepository(table).acquire_lease(sending.key, 60) is not None
    # When both are requeued
    code, out, err = punchout("requeue", done.message_id, sending.message_id)
    # Then nothing is sent, and the error names the order being sent
    assert code == 1
    assert out == ""
    assert err.startswith("punchout: the gateway is sending ") and sending.message_id in err
    assert done.message_id not in err
    assert err.count("\n") == 1
    assert queued(queue_url, published=False) == []
    # And show tells the lease
    assert "dispatch_lease_until" in json.loads(punchout.ok("show", sending.message_id))


def test_requeue_is_refused_in_the_last_second_of_the_lease(
    punchout: Run, table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order whose dispatch lease ends at this very second (acquire_lease hands it to another
    # delivery only after: lease_until < now)
    sending = stored_order(table, "PO-2", "2026-11-20T09:00:00+00:00", status="received")
    assert OrderRepository(table).acquire_lease(sending.key, 60) is not None
    lease = OrderRepository(table).stored(sending.message_id)
    assert lease is not None and lease.lease_until is not None
    monkeypatch.setattr(cli, "now", lambda: lease.lease_until)
    # When it is requeued
    code, _, err = punchout("requeue", sending.message_id)
    # Then it is refused: the gateway may still be sending it
    assert code == 1
    assert "is sending" in err
    assert queued(queue_url, published=False) == []


def test_an_order_left_received_after_its_lease_lapsed_is_requeued(punchout: Run, table: Table, queue_url: str) -> None:
    # Given an order whose delivery failed to queue it, its lease lapsed (the buyer never retried)
    record = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00", status="received")
    assert OrderRepository(table).acquire_lease(record.key, -1) is not None
    # When it is requeued
    punchout.ok("requeue", record.message_id)
    # Then it is sent, and its record still says received
    assert len(queued(queue_url, published=False)) == 1
    [row] = punchout.listed()
    assert row["status"] == "received"


def _selection(table: Table) -> dict[str, OrderRecord]:
    return {
        "old": stored_order(table, "PO-1", "2026-11-01T08:00:00+00:00"),
        "v1": stored_order(table, "PO-2", "2026-11-20T08:00:00+00:00"),
        "v2": stored_order(table, "PO-2", "2026-11-21T08:00:00+00:00", version="2"),
        "globex": stored_order(table, "PO-3", "2026-11-22T08:00:00+00:00", partner_id="globex"),
    }


def test_requeue_of_a_selection_asks_first_and_sends_oldest_first(
    punchout: Run, table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given orders of two partners, one of them in two versions
    records = _selection(table)
    # When acme's orders since the 15th are requeued, and the operator answers "y"
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = punchout("requeue", "--partner", "acme", "--since", "2026-11-15")
    # Then it asked, naming each, and sent them oldest first: the versions keep their order in their group
    assert code == 0, err
    assert "Send these 2 order messages to" in err
    assert records["v1"].message_id in err and records["v2"].message_id in err
    sent = json.loads(out)["sent"]
    assert [row["message_id"] for row in sent] == [records["v1"].message_id, records["v2"].message_id]
    bodies = [json.loads(message["body"]) for message in queued(queue_url, published=False)]
    assert [body["message_id"] for body in bodies] == [records["v1"].message_id, records["v2"].message_id]


@pytest.mark.parametrize("answer", ["n\n", "\n", ""], ids=["no", "enter", "end of input"])
def test_requeue_of_a_selection_not_confirmed_sends_nothing(
    punchout: Run, table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    _selection(table)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    code, out, err = punchout("requeue", "--partner", "acme")
    assert code == 1
    assert err.endswith("punchout: not confirmed: nothing sent\n")
    assert out == ""
    assert queued(queue_url, published=False) == []


def test_requeue_of_a_selection_with_yes_does_not_ask(
    punchout: Run, table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _selection(table)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody to answer
    out = punchout.ok("requeue", "--until", "2026-11-21", "--yes")
    assert [row["message_id"] for row in json.loads(out)["sent"]] == [
        records["old"].message_id,
        records["v1"].message_id,
    ]
    assert len(queued(queue_url, published=False)) == 2


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ([], "name the orders: message ids, or a selection"),
        (["0" * 64, "--partner", "acme"], "give message ids or --since/--until/--partner/--mode/--order-id, not both"),
        (["--partner", "nobody", "--yes"], "no order matches the selection: nothing sent"),
    ],
)
def test_requeue_needs_orders_named_one_way(
    punchout: Run, table: Table, queue_url: str, arguments: list[str], error: str
) -> None:
    _selection(table)
    code, _, err = punchout("requeue", *arguments)
    assert code == 1
    assert error in err
    assert queued(queue_url, published=False) == []


# --- which queue ----------------------------------------------------------------------------------


def test_a_table_named_without_its_queue_is_refused(
    punchout: Run, table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table named with --table, and no queue URL given or in the environment
    record = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    monkeypatch.delenv("ORDER_QUEUE_URL")
    # When an order is requeued
    code, _, err = punchout("requeue", record.message_id)
    # Then it is refused (the local stack's queue, say, is not that table's), and nothing is sent
    assert code == 1
    assert "no order queue for that table: pass --queue-url" in err
    assert queued(queue_url, published=False) == []
    # And --queue-url sends it
    punchout.ok("requeue", record.message_id, "--queue-url", queue_url)
    assert len(queued(queue_url, published=False)) == 1


def test_a_stack_names_its_queue_by_its_output(
    table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack whose outputs name the table and the order queue (template.yaml's)
    record = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    monkeypatch.delenv("ORDER_QUEUE_URL")
    monkeypatch.setattr(cli, "_stack_outputs", lambda stack: {"TableName": TABLE_NAME, "OrderQueueUrl": queue_url})
    # When an order is requeued with --stack
    assert cli.main(["--stack", "punchout-prod", "orders", "requeue", record.message_id]) == 0, capsys.readouterr()
    # Then it goes to that queue
    assert json.loads(capsys.readouterr().out)["queue_url"] == queue_url
    assert len(queued(queue_url, published=False)) == 1


def test_a_table_of_another_stack_never_sends_its_orders_to_the_stacks_queue(
    table: Table, queue_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two stacks in one account (staging and production): the order is in staging's table, and
    # --stack names production, whose outputs name its own table and queue
    record = stored_order(table, "PO-1", "2026-11-20T08:00:00+00:00")
    monkeypatch.delenv("ORDER_QUEUE_URL")
    outputs = {"TableName": "punchout-prod-PunchOutTable-1A2B", "OrderQueueUrl": queue_url}
    monkeypatch.setattr(cli, "_stack_outputs", lambda stack: outputs)
    # When staging's order is requeued naming staging's table with --table and production with --stack
    code = cli.main(["--table", TABLE_NAME, "--stack", "punchout-prod", "orders", "requeue", record.message_id])
    # Then it is refused, saying why, and production's shop never receives staging's order
    err = capsys.readouterr().err
    assert code == 1
    assert f"--table {TABLE_NAME} is not the table of stack punchout-prod" in err
    assert queued(queue_url, published=False) == []


def test_a_local_stack_names_its_queue_and_sqs_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a local stack's stack.json (a copy of the environment, so that what the CLI sets leaks nowhere)
    monkeypatch.setattr("os.environ", {})
    state = tmp_path / ".local2"
    state.mkdir()
    stack = {
        "region": "us-east-1",
        "dynamodb": {"endpoint_url": "http://127.0.0.1:45678"},
        "sqs": {"endpoint_url": "http://127.0.0.1:45679"},
        "tables": {"PunchOutTable": {"name": "punchout-local"}},
        "queues": {"OrderQueue": {"url": "http://127.0.0.1:45679/123456789012/orders.fifo"}},
    }
    (state / "stack.json").write_text(json.dumps(stack))
    arguments = cli.parser().parse_args(["--state-dir", str(state), "orders", "requeue", "0" * 64])
    # When the CLI resolves the table and the queue
    table = cli.resolve_table(arguments)
    queue = cli.resolve_queue(arguments)
    # Then they are that stack's, at its endpoints
    assert (table.name, queue.url) == ("punchout-local", "http://127.0.0.1:45679/123456789012/orders.fifo")
    import os

    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:45678"
    assert os.environ["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:45679"


# --- orders orphans ---------------------------------------------------------------------------------


def _left_payloads(table: Table, order_id: str) -> str:
    """Payloads of a delivery that stopped before writing its record (the function's timeout): no record
    names them."""
    blob_id = uuid.uuid4().hex
    OrderRepository(table).store_payloads(
        OrderKey("acme", order_id, "new", "1", "production"), blob_id, b"{}", b"<cXML/>", [(_attachment(), b"x")]
    )
    return blob_id


def _attachment() -> Any:
    from punchout.store.orders import StoredAttachment

    return StoredAttachment(content_id="a@b", content_type="text/plain", size=1, chunks=0)


def _blob_ids(table: Table) -> set[str]:
    return {item["sk"]["S"].split("#")[1] for item in table_items(table) if item["sk"]["S"].startswith("BLOB#")}


def test_orphans_lists_payloads_no_record_names_and_deletes_only_those(
    table: Table, punchout: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stored orders, one of them with a later version, and payloads of deliveries that stopped before
    # their record: one of a new order, one beside a stored order's
    first = stored_order(table, "PO-1", "2026-11-01T10:00:00+00:00")
    second = stored_order(table, "PO-1", "2026-11-02T10:00:00+00:00", version="2")
    other = stored_order(table, "PO-2", "2026-11-03T10:00:00+00:00")
    lost = _left_payloads(table, "PO-3")
    beside = _left_payloads(table, "PO-1")
    waited: list[float] = []
    monkeypatch.setattr("punchout.store.orders.time.sleep", waited.append)
    # When the operator lists them
    found = json.loads(punchout.ok("orphans"))
    # Then the command waited as told, and found exactly those, with their items (message, raw, attachment)
    assert waited == [60.0]
    assert found == {
        "deleted_items": 0,
        "unnamed_payloads": [
            {"partition": "ORDER#acme#PO-1", "attempt": beside, "items": 3},
            {"partition": "ORDER#acme#PO-3", "attempt": lost, "items": 3},
        ],
    }
    assert _blob_ids(table) == {first.blob_id, second.blob_id, other.blob_id, lost, beside}
    # And when they delete them, only those go: every record's payloads are still read
    deleted = json.loads(punchout.ok("orphans", "--delete", "--wait", "25"))
    assert deleted["deleted_items"] == 6 and len(deleted["unnamed_payloads"]) == 2
    assert _blob_ids(table) == {first.blob_id, second.blob_id, other.blob_id}
    orders = OrderRepository(table)
    for record in (first, second, other):
        assert json.loads(orders.message(record))["order_id"] == record.order_id
    assert json.loads(punchout.ok("orphans")) == {"deleted_items": 0, "unnamed_payloads": []}


def test_orphans_spares_deliveries_still_running(table: Table, punchout: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given payloads without a record when the table is scanned, whose delivery then writes its record while
    # the command waits, and another delivery that writes its payloads meanwhile
    blob_id = _left_payloads(table, "PO-R")
    orders = OrderRepository(table)
    key = OrderKey("acme", "PO-R", "new", "1", "production")

    def deliveries_go_on(seconds: float) -> None:
        orders.create(
            OrderRecord(
                blob_id=blob_id,
                partner_id="acme",
                order_id="PO-R",
                type="new",
                version="1",
                message_id=key.message_id,
                content_hash="0" * 64,
                payload_id="r@b",
                received_at=datetime.now(UTC),
                message_chunks=1,
                raw_chunks=1,
            )
        )
        _left_payloads(table, "PO-R")

    monkeypatch.setattr("punchout.store.orders.time.sleep", deliveries_go_on)
    # When the operator deletes what the command finds, Then neither is found, nor deleted
    assert json.loads(punchout.ok("orphans", "--delete")) == {"deleted_items": 0, "unnamed_payloads": []}
    assert len(_blob_ids(table)) == 2


def test_orphans_waits_at_least_the_order_functions_timeout(table: Table, punchout: Run) -> None:
    # Given the order function's timeout in the template
    from cfnlint.decode import decode

    template, _ = decode(str(Path(__file__).resolve().parents[3] / "template.yaml"))
    assert template is not None
    timeout = template["Resources"]["OrderRequestFunction"]["Properties"].get(
        "Timeout", template["Globals"]["Function"]["Timeout"]
    )
    # When the operator asks for a shorter wait, Then it is refused: a delivery still running could name them
    code, _, err = punchout("orphans", "--wait", str(timeout - 1))
    assert code == 1 and f"({timeout} s)" in err
