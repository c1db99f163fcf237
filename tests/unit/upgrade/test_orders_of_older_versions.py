"""Orders received by an older version (3d51d1a), met by this one after the deploy: a buyer's retry of
one of them, and its next version.

Buyers retry for hours (Coupa: five times, an hour apart), and a deploy does not wait for them: a retry
of an order the old version stored must be the same order (200, no second message), and an update or
delete must find the order it changes. Orders are kept forever, so these items are in every table
upgraded from then.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from tests.support.contract import published_message_schema
from tests.unit.gateway.conftest import TABLE_NAME
from tests.unit.gateway.helpers import Run
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_order_request import post_order, status_of
from tests.unit.upgrade import older_items


def _next_version(name: str, order_type: str, version: int | None) -> bytes:
    """The buyer's next document for the order ``name`` was: same order, another type and version,
    naming the old document in its DocumentReference, under a new payloadID."""
    text = older_items.document(name).decode("latin-1")
    text = text.replace(f'payloadID="{older_items.payload_id(name)}"', 'payloadID="next-version@buyer.example"')
    header = re.search(r"<OrderRequestHeader [^>]*>", text)
    assert header is not None
    changed = re.sub(r' type="new"', f' type="{order_type}"', header.group())
    changed = re.sub(r' orderVersion="\d+"', "", changed)
    if version is not None:
        changed = changed.replace(">", f' orderVersion="{version}">', 1)
    reference = f'<DocumentReference payloadID="{older_items.payload_id(name)}"/>'
    text = text.replace(header.group(), changed, 1).replace(
        "</OrderRequestHeader>", reference + "</OrderRequestHeader>"
    )
    return text.encode("latin-1")


# The orders 3d51d1a received and queued: versioned ones; new ones without orderVersion (it keyed those by
# payloadID); one in test mode (under the partner's production key: the test system's orders had no key of
# their own then).
@pytest.mark.parametrize(
    "name", ["o1_new", "o1_update", "o2_delete", "o6_new", "o3_versionless", "o8_versionless", "o5_test"]
)
def test_a_retry_of_an_order_an_older_version_received_is_the_same_order(table: Any, queue_url: str, name: str) -> None:
    # Given the orders 3d51d1a received and queued
    older_items.load(table)
    # When the buyer's retry of one arrives after the deploy, the very document it sent then
    answer = post_order(older_items.document(name))
    # Then it is the same order: accepted, and not queued again (under another message_id)
    assert status_of(answer) == 200
    assert drain(queue_url) == []


def test_an_order_differing_from_the_one_an_older_version_received_is_still_a_conflict(
    table: Any, queue_url: str
) -> None:
    # Given the orders 3d51d1a received
    older_items.load(table)
    # When a document with the key of one of them but another quantity arrives
    document = older_items.document("o1_new")
    assert document.count(b'<ItemOut quantity="2"') == 3
    changed = document.replace(b'<ItemOut quantity="2"', b'<ItemOut quantity="3"', 1)
    # Then it is refused as another order under the same key, and nothing is queued
    assert status_of(post_order(changed)) == 409
    assert drain(queue_url) == []


def test_an_update_of_a_test_mode_order_an_older_version_received_follows_it(table: Any, queue_url: str) -> None:
    # Given an order 3d51d1a received in test mode
    older_items.load(table)
    # When the buyer's test system sends its update after the deploy
    answer = post_order(_next_version("o7_test", "update", 2))
    # Then the update is accepted (the order was received) and follows the old version's message
    assert status_of(answer) == 200
    (queued,) = drain(queue_url)
    message = queued["body"]
    assert (message["order_id"], message["type"], message["deployment_mode"]) == ("UP-7", "update", "test")
    assert message["follows_message_id"] == older_items.message("UP-7")["message_id"]


def test_an_update_of_an_order_an_older_version_received_is_reconciled_with_its_cart(
    table: Any, queue_url: str
) -> None:
    # Given an order 3d51d1a received for a cart it transferred (three lines, quantities 1, 2 and 3)
    older_items.load(table)
    # When the buyer updates it after the deploy, without its first line, quantities at 2
    document = _next_version("o6_new", "update", 2)
    first_line = re.search(rb"<ItemOut .*?</ItemOut>", document, re.S)
    assert first_line is not None
    answer = post_order(document.replace(first_line.group(), b""))
    # Then the update follows the old message, and is compared with the old cart
    assert status_of(answer) == 200
    (queued,) = drain(queue_url)
    message = queued["body"]
    assert message["follows_message_id"] == older_items.message("UP-6")["message_id"]
    lines = {line["supplier_part_id"]: line["status"] for line in message["reconciliation"]["lines"]}
    assert lines == {"U1": "removed", "U2": "unchanged", "U3": "quantity_changed"}
    old_carts = [session["cart_ref"] for session in older_items.message("UP-6")["sessions"]]
    assert [session["cart_ref"] for session in message["sessions"]] == old_carts


def test_units_of_a_cart_an_older_version_transferred_are_compared_with_the_partners_mapping_or_the_shops_unit(
    table: Any, queue_url: str
) -> None:
    # Given a cart 3d51d1a transferred (U1-U3 in EA, quantities 1, 2 and 3), which recorded no unit
    # mapping, and the partner mapping EA to PCE since
    from punchout.store.partners import PartnerRepository

    older_items.load(table)
    partners = PartnerRepository(table)
    partner = partners.get("up-main")
    assert partner is not None
    partners.update(partner.model_copy(update={"unit_of_measure_map": {"EA": "PCE"}}))
    # When the buyer updates its order after the deploy (every quantity 2): U1 as " pce ", U2 as EA, U3 as BX
    document = _next_version("o6_new", "update", 2)
    unit = b"<UnitOfMeasure>EA</UnitOfMeasure>"
    assert document.count(unit) == 3
    first, second, third = document.split(unit)[1:]
    document = document.split(unit)[0]
    document += b"<UnitOfMeasure> pce </UnitOfMeasure>" + first + unit + second + b"<UnitOfMeasure>BX</UnitOfMeasure>"
    document += third
    answer = post_order(document)
    # Then it is reconciled: what the buyer may have been sent (the mapping now, or the shop's own unit, as the
    # mapping then is unknown) is no change, another unit is
    assert status_of(answer) == 200
    (queued,) = drain(queue_url)
    lines = queued["body"]["reconciliation"]["lines"]
    assert [(ln["supplier_part_id"], ln["status"], ln.get("unit_of_measure_changed")) for ln in lines] == [
        ("U1", "quantity_changed", None),
        ("U2", "unchanged", None),
        ("U3", "quantity_changed", True),
    ]


def test_a_versionless_update_of_a_versionless_order_an_older_version_received_follows_it(
    table: Any, queue_url: str
) -> None:
    # Given a versionless new order 3d51d1a received
    older_items.load(table)
    # When the buyer sends a versionless update naming it
    answer = post_order(_next_version("o8_versionless", "update", None))
    # Then it follows that order's message
    assert status_of(answer) == 200
    (queued,) = drain(queue_url)
    assert queued["body"]["follows_message_id"] == older_items.message("UP-8")["message_id"]


def test_an_order_an_older_version_received_but_never_queued_is_queued_as_the_schema_says(
    table: Any, queue_url: str
) -> None:
    # Given an order 3d51d1a received but could not queue (its delivery failed after storing it)
    older_items.load(table)
    boto3.client("dynamodb").update_item(
        TableName=table.name,
        Key={"pk": {"S": "ORDER#up-main#UP-6"}, "sk": {"S": "VERSION#new#1"}},
        UpdateExpression="SET #status = :received",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":received": {"S": "received"}},
    )
    # When the buyer's retry arrives after the deploy
    assert status_of(post_order(older_items.document("o6_new"))) == 200
    # Then the message stored then is queued, in the form the published schema describes now (drain
    # checks it), with the fields added since at the values that mean what their absence meant
    (queued,) = drain(queue_url)
    message = queued["body"]
    assert message["message_id"] == older_items.message("UP-6")["message_id"]
    assert {name: message[name] for name in ("requisition_id", "requested_delivery_date", "follows_message_id")} == {
        "requisition_id": None,
        "requested_delivery_date": None,
        "follows_message_id": None,
    }
    assert message["ship_complete"] is False


def _opened(schema: Any) -> Any:
    """The schema without its ``additionalProperties: false``: what it says of the fields it names."""
    if isinstance(schema, dict):
        return {
            name: _opened(value)
            for name, value in schema.items()
            if not (name == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [_opened(value) for value in schema]
    return schema


def test_messages_keep_every_field_the_schema_published_by_an_older_version_describes(
    table: Any, queue_url: str
) -> None:
    # Given the schema 3d51d1a published (punchout.order.v1.3d51d1a.json, from this repository's history)
    published = json.loads(Path(__file__).with_name("punchout.order.v1.3d51d1a.json").read_text(encoding="utf-8"))
    # When this version queues an update of an order 3d51d1a received (every part of a message filled)
    older_items.load(table)
    assert status_of(post_order(_next_version("o6_new", "update", 2))) == 200
    (queued,) = drain(queue_url)
    message = queued["body"]
    # Then every field that schema describes is there, of the type and form it gives: fields are only
    # added (that schema's objects were closed, so a shop validating with it refuses the added ones)
    assert [error.message for error in jsonschema.Draft202012Validator(_opened(published)).iter_errors(message)] == []
    assert [error.message for error in jsonschema.Draft202012Validator(published).iter_errors(message)] != []
    # And the schema published now takes it as published (drain held it to that schema closed): its objects
    # are open, so the shop that downloads it today also takes the fields a later release adds (README)
    today = jsonschema.Draft202012Validator(published_message_schema())
    assert [error.message for error in today.iter_errors(message)] == []
    assert [error.message for error in today.iter_errors({**message, "added_later": True})] == []


def test_an_update_naming_a_document_an_older_version_did_not_record_is_accepted(table: Any, queue_url: str) -> None:
    # Given an order 3d51d1a received: it recorded no resend's payloadID (and accepted any reference), so
    # a resend the buyer sent it under a new payloadID is known to the buyer only
    older_items.load(table)
    # When the buyer's update names that resend after the deploy
    document = _next_version("o6_new", "update", 2).replace(
        f'<DocumentReference payloadID="{older_items.payload_id("o6_new")}"/>'.encode(),
        b'<DocumentReference payloadID="resent-by-hand@buyer.example"/>',
    )
    assert b"resent-by-hand@buyer.example" in document
    answer = post_order(document)
    # Then it is accepted, as that version accepted it, without a message it is known to follow
    assert status_of(answer) == 200
    (queued,) = drain(queue_url)
    message = queued["body"]
    assert (message["order_id"], message["type"], message["document_reference"]) == (
        "UP-6",
        "update",
        "resent-by-hand@buyer.example",
    )
    assert message["follows_message_id"] is None


def _in_test_mode(document: bytes) -> bytes:
    """The document as the buyer's test system sends it: its test credentials, deploymentMode test."""
    secrets = older_items.fixture()["secrets"]
    changed = (
        document.replace(b'deploymentMode="production"', b'deploymentMode="test"')
        .replace(b"<Identity>AN-UPMAIN</Identity>", b"<Identity>AN-UPMAIN-T</Identity>")
        .replace(secrets["production"].encode(), secrets["test"].encode())
    )
    assert changed.count(b'deploymentMode="test"') == 1 and changed.count(b"AN-UPMAIN-T") == 2
    return changed


def test_a_test_mode_order_is_not_taken_for_the_production_order_an_older_version_received(
    table: Any, queue_url: str
) -> None:
    # Given a production order 3d51d1a received (UP-6)
    older_items.load(table)
    # When the buyer's test system sends an update of an order of that number, naming that document
    update = post_order(_in_test_mode(_next_version("o6_new", "update", 2)))
    # Then it is refused: the test system never sent that order
    assert status_of(update) == 417
    # And when the test system sends its own order of that number
    first = post_order(_in_test_mode(older_items.document("o6_new")))
    # Then it is a new order of the test system's, queued in test mode under its own message id
    assert status_of(first) == 200
    (queued,) = drain(queue_url)
    assert (queued["body"]["order_id"], queued["body"]["deployment_mode"]) == ("UP-6", "test")
    assert queued["body"]["message_id"] != older_items.message("UP-6")["message_id"]


def test_an_update_naming_a_resend_of_a_test_mode_order_an_older_version_received_follows_it(
    table: Any, queue_url: str
) -> None:
    # Given an order 3d51d1a received in test mode, resent by the buyer's test system after the deploy
    # under a new payloadID (the same order: not queued again)
    older_items.load(table)
    old_payload_id = older_items.payload_id("o5_test")
    resend = older_items.document("o5_test").replace(old_payload_id.encode(), b"resent-after-upgrade@buyer.example")
    assert status_of(post_order(resend)) == 200
    assert drain(queue_url) == []
    # When its update names the resend's payloadID
    update = _next_version("o5_test", "update", 2).replace(
        f'<DocumentReference payloadID="{old_payload_id}"/>'.encode(),
        b'<DocumentReference payloadID="resent-after-upgrade@buyer.example"/>',
    )
    assert status_of(post_order(update)) == 200
    # Then the update follows the order's message: the resend was recorded with the record that holds it
    (queued,) = drain(queue_url)
    assert queued["body"]["follows_message_id"] == older_items.message("UP-5")["message_id"]


# --- the operator's CLI ---------------------------------------------------------------------------


def test_the_orders_cli_tells_a_test_mode_order_an_older_version_received_as_test(
    table: Any, queue_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the orders 3d51d1a received, two of them (UP-5, UP-7) in test mode, under the partner's
    # production key
    older_items.load(table)
    punchout = Run(capsys, TABLE_NAME, ("orders",))

    def listed(*options: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(punchout.ok("list", "--json", *options))
        return rows

    # When the operator lists them by mode, by a scan or by the order's partitions
    # Then they are test-mode orders, as their messages say, and not production's
    assert sorted(row["order_id"] for row in listed("--mode", "test")) == ["UP-5", "UP-7"]
    assert not {"UP-5", "UP-7"} & {row["order_id"] for row in listed("--mode", "production")}
    (row,) = listed("--partner", "up-main", "--order-id", "UP-5")
    assert row["deployment_mode"] == "test"
    (row,) = listed("--partner", "up-main", "--order-id", "UP-7", "--mode", "test")
    assert row["message_id"] == older_items.message("UP-7")["message_id"]
    # And shown as such
    shown = json.loads(punchout.ok("show", row["message_id"]))
    assert shown["deployment_mode"] == "test"
