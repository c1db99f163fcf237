"""OrderRequest intake: stored, queued once, reconciled with the cart (issue 4)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from punchout.cxml import new_envelope, render
from punchout.cxml.models import Comments, Contact, Description, Extrinsic, RequestDocument
from punchout.mime import MAX_HEADER_PARAMETERS
from punchout.orders import MAX_ID_BYTES
from punchout.partners import CredentialRef, CredentialSet, hash_secret
from punchout.store.orders import MAX_RESENT_PAYLOAD_IDS, OrderRepository
from punchout.store.queue import MAX_MESSAGE_BYTES
from tests.support import builders
from tests.support.contract import (
    FORMATS,
    assert_documented,
    assert_published_message,
    closed_validator_of,
    documented_operation,
    published_message_schema,
    validator_of,
)
from tests.support.contract import ORDER_MESSAGE_SCHEMA as ORDER_SCHEMA
from tests.support.dynamodb import ITEM_BYTES as DYNAMODB_ITEM_LIMIT
from tests.support.events import api_event, response_header
from tests.support.round_trip import item_size
from tests.support.sqs import SQS_MESSAGE_LIMIT
from tests.unit.cxml._support import order_of, order_request_document
from tests.unit.gateway.helpers import (
    ReturnPage,
    body_json,
    call,
    cxml,
    invoke,
    message_tree,
    open_session,
    published_metrics,
    register,
    shop_key,
)
from tests.unit.orders.conftest import drain


def _transferred_cart(table: Any, headers: dict[str, str]) -> tuple[str, str]:
    """A session of the default partner whose one-line cart (part A) was transferred: (session id, cart ref)."""
    from punchout.store.sessions import SessionRepository

    session_id, _ = open_session()
    cart = {"lines": [{"supplier_part_id": "A", "quantity": "1", "unit_price": "10.00", "description": "Alpha"}]}
    assert call("PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart), headers)["statusCode"] == 200
    assert call("POST", f"/shop/sessions/{session_id}/transfer", "", headers)["statusCode"] == 200
    session = SessionRepository(table).get(session_id)
    assert session is not None
    return session_id, session.cart_ref


def post_order(body: bytes, content_type: str = "text/xml") -> dict[str, Any]:
    event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": content_type}, binary=True)
    return invoke("OrderRequestFunction", event)


def status_of(response: dict[str, Any]) -> int:
    return cxml(response).status.code


def test_numbers_reach_the_shop_in_plain_notation_whatever_the_buyer_wrote(table, queue_url):
    # Given a registered partner, and an order whose quantity and unit price are written with exponents
    register(table)
    document = builders.order_request("PO-EXP", [builders.item_out("P1", "2", price="7.00")])
    assert document.count(b'quantity="2"') == 1 and document.count(b">7.00</Money>") == 1
    document = document.replace(b'quantity="2"', b'quantity="1E+1"').replace(b">7.00</Money>", b">1E-8</Money>")
    # When it is sent
    assert status_of(post_order(document)) == 200
    # Then the shop gets the same numbers in plain notation, as its schema says (no "1E+1", no "1E-8")
    (queued,) = drain(queue_url)
    message = queued["body"]
    (line,) = message["lines"]
    assert (line["quantity"], line["unit_price"]["amount"]) == ("10", "0.00000001")
    (reconciled,) = message["reconciliation"]["lines"]
    assert (reconciled["order"]["quantity"], reconciled["order"]["unit_price"]) == ("10", "0.00000001")


# The bytes a Ruby procurement system wrote with Nokogiri's builder (`Nokogiri::XML::Builder.new(encoding: "UTF-8")`,
# `to_xml`): BigDecimal amounts and quantities through their `to_s` ("0.105e2"), and dates through `Time#to_s`,
# which writes a UTC time (`Time.now.utc`, Rails' `Time.current`) with the zone's name: "2026-11-28 07:30:37 UTC".
RUBY_ORDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">
<cXML payloadID="1795850977.755.9abbd675@ruby.example.com" timestamp="2026-11-28 07:30:37 UTC" xml:lang="en-US">
  <Header>
    <From>
      <Credential domain="NetworkID">
        <Identity>AN01000000001</Identity>
      </Credential>
    </From>
    <To>
      <Credential domain="DUNS">
        <Identity>SUPPLIER</Identity>
      </Credential>
    </To>
    <Sender>
      <Credential domain="NetworkID">
        <Identity>AN01000000001</Identity>
        <SharedSecret>correct horse battery staple</SharedSecret>
      </Credential>
      <UserAgent>Ruby Procurement 1.0</UserAgent>
    </Sender>
  </Header>
  <Request deploymentMode="production">
    <OrderRequest>
      <OrderRequestHeader orderID="PO-RUBY-1" orderDate="2026-11-28 07:30:37 UTC" type="new" orderVersion="1">
        <Total>
          <Money currency="USD">0.21e2</Money>
        </Total>
      </OrderRequestHeader>
      <ItemOut quantity="0.2e1" lineNumber="1">
        <ItemID>
          <SupplierPartID>P1</SupplierPartID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">0.105e2</Money>
          </UnitPrice>
          <Description xml:lang="en">Widget</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">44121600</Classification>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>"""


def test_an_order_as_a_ruby_buyer_writes_it_reaches_the_shop_as_meant(table, queue_url):
    # Given a registered partner, and an order as Ruby's Nokogiri builder wrote it (BigDecimal#to_s numbers,
    # Time#to_s dates of a UTC time)
    register(table)
    # When it is sent
    assert status_of(post_order(RUBY_ORDER)) == 200
    # Then the shop gets the numbers in plain notation, the date as written, and the instant it names
    (queued,) = drain(queue_url)
    message = queued["body"]
    (line,) = message["lines"]
    assert (line["quantity"], line["unit_price"]["amount"], message["total"]["amount"]) == ("2", "10.5", "21")
    assert message["order_date"] == "2026-11-28 07:30:37 UTC"
    assert message["order_date_parsed"] == "2026-11-28T07:30:37Z"


def test_new_order_is_answered_200_and_queued_once_with_a_valid_message(table, queue_url):
    # Given a registered partner
    register(table)
    # When it sends a new order
    response = post_order(builders.order_request("PO-1", [builders.item_out("P1", "2", price="10.00")]))
    # Then it gets 200 and the shop exactly one message that matches the published schema
    assert status_of(response) == 200
    assert response["statusCode"] == 200
    messages = drain(queue_url)
    assert len(messages) == 1
    message = messages[0]["body"]
    assert message["order_id"] == "PO-1"
    assert message["complete"] is True
    assert message["reconciliation"]["from_punchout"] is False
    assert [line["status"] for line in message["reconciliation"]["lines"]] == ["unmatched"]


def test_an_accepted_order_is_one_log_line_naming_its_message(table, queue_url, log_lines):
    # Given a registered partner
    register(table)
    document = builders.order_request("PO-L", [builders.item_out("P1", "2", price="10.00")])
    # When it sends a new order, and sends it again (a resend, also 200)
    assert status_of(post_order(document)) == 200
    assert status_of(post_order(document)) == 200
    # Then each request wrote one line (log volume is paid per byte): the answer, with its status, the
    # order, and the message_id the shop and `orders show` know it by
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (message,) = drain(queue_url)
    assert [(line["message"], line["status"], line["order_id"]) for line in lines] == [
        ("cXML request answered", 200, "PO-L"),
        ("cXML request answered", 200, "PO-L"),
    ]
    assert [line["message_id"] for line in lines] == [message["body"]["message_id"]] * 2


@pytest.mark.parametrize("time", ["2026-11-27T10:00:00", "27.11.2026 10:00", ""])
def test_the_answer_and_queue_checks_refuse_a_time_a_strict_validator_refuses(table, queue_url, time):
    # Given an order's message as queued and a session's answer to the shop, which both checks passed
    register(table)
    headers = shop_key(table)
    session_id, _ = _transferred_cart(table, headers)
    session = call("GET", f"/shop/sessions/{session_id}", headers=headers)
    assert status_of(post_order(builders.order_request("PO-F", [builders.item_out("P1", "1", price="1.00")]))) == 200
    (queued,) = drain(queue_url)
    # When their times lose the RFC 3339 form that the schemas' "date-time" promises
    message = {**queued["body"], "received_at": time}
    session = {**session, "body": json.dumps({**body_json(session), "expires_at": time})}
    # Then both checks refuse them: they judge formats, as validators in other languages do
    with pytest.raises(AssertionError, match="is not a 'date-time'"):
        assert_published_message(message)
    with pytest.raises(AssertionError, match="is not a 'date-time'"):
        assert_documented("GET", f"/shop/sessions/{session_id}", session)


def test_a_field_a_later_release_adds_passes_the_published_schemas_and_fails_the_tests_checks(table, queue_url):
    # Given an order's message as queued and a session's answer to the shop, which both checks passed
    register(table)
    headers = shop_key(table)
    session_id, _ = _transferred_cart(table, headers)
    session = call("GET", f"/shop/sessions/{session_id}", headers=headers)
    assert status_of(post_order(builders.order_request("PO-X", [builders.item_out("P1", "1", price="1.00")]))) == 200
    (queued,) = drain(queue_url)
    # When they carry fields neither schema describes, as a later release's may
    message = queued["body"]
    message = {**message, "added_later": "x", "lines": [{**message["lines"][0], "added_later": 1}]}
    answer = body_json(session)
    answer = {**answer, "added_later": "x", "cart": {**answer["cart"], "added_later": [1]}}
    # Then the schemas as published take them: a shop validating with its copy ignores the fields added
    published = jsonschema.Draft202012Validator(published_message_schema(), format_checker=FORMATS)
    assert list(published.iter_errors(message)) == []
    operation = documented_operation("GET", f"/shop/sessions/{session_id}")
    assert operation is not None
    assert validator_of(operation["responses"]["200"]["content"]["application/json"]["schema"]).is_valid(answer)
    # But the tests' checks refuse them, at the top as in a line (which they passed without the field):
    # the gateway sends no field its schemas do not describe
    with pytest.raises(AssertionError, match="'added_later' was unexpected"):
        assert_published_message(message)
    with pytest.raises(AssertionError, match="added_later"):
        assert_published_message({**queued["body"], "lines": message["lines"]})
    with pytest.raises(AssertionError, match="'added_later' was unexpected"):
        assert_documented("GET", f"/shop/sessions/{session_id}", {**session, "body": json.dumps(answer)})
    in_the_cart = {**body_json(session), "cart": answer["cart"]}
    with pytest.raises(AssertionError, match="added_later"):
        assert_documented("GET", f"/shop/sessions/{session_id}", {**session, "body": json.dumps(in_the_cart)})


def test_an_accepted_order_counts_as_accepted_and_a_refused_one_does_not(table, queue_url, capsys):
    # Given a registered partner and its accepted order
    register(table)
    assert status_of(post_order(builders.order_request("PO-M", [builders.item_out("P1", "1", price="5.00")]))) == 200
    # Then it counts in OrdersAccepted
    assert published_metrics(capsys.readouterr().out) == {"OrdersAccepted"}
    # And when the same order comes with other content (409), it counts as a client error only
    assert status_of(post_order(builders.order_request("PO-M", [builders.item_out("P1", "2", price="5.00")]))) == 409
    assert published_metrics(capsys.readouterr().out) == {"CxmlClientErrors"}


def test_a_new_order_is_queued_from_the_message_it_stored_without_reading_it_back(table, queue_url, monkeypatch):
    # Given a registered partner, and the reads of stored order messages counted
    register(table)
    reads: list[str] = []
    read = OrderRepository.message

    def counted(self: OrderRepository, record: Any) -> bytes:
        reads.append(record.message_id)
        return read(self, record)

    monkeypatch.setattr(OrderRepository, "message", counted)
    # When it sends a new order
    assert status_of(post_order(builders.order_request("PO-R", [builders.item_out("P1", "2", price="10.00")]))) == 200
    # Then the message it just stored went to the queue without a query and a decompression to read it back
    assert reads == []
    # And the shop got exactly the stored message
    [queued] = drain(queue_url)
    record = OrderRepository(table).find(queued["body"]["message_id"])
    assert record is not None
    assert queued["body"] == json.loads(read(OrderRepository(table), record))


def test_same_document_again_is_200_without_a_second_message(table, queue_url):
    register(table)
    document = builders.order_request("PO-2", [builders.item_out("P1", "1", price="5.00")])
    assert status_of(post_order(document)) == 200
    assert status_of(post_order(document)) == 200
    assert len(drain(queue_url)) == 1


def test_same_key_with_other_content_is_409(table, queue_url):
    register(table)
    assert status_of(post_order(builders.order_request("PO-3", [builders.item_out("P1", "1", price="5.00")]))) == 200
    changed = builders.order_request("PO-3", [builders.item_out("P1", "9", price="5.00")])
    response = post_order(changed)
    assert status_of(response) == 409
    assert response["statusCode"] == 409
    assert len(drain(queue_url)) == 1


def test_a_resend_whose_numbers_are_written_otherwise_is_the_same_order(table, queue_url):
    # Given an order received and queued
    register(table)
    first = builders.order_request("PO-N", [builders.item_out("P1", "10", price="5.00")], total="50.00")
    assert status_of(post_order(first)) == 200
    # When the buyer sends it again with the same values written otherwise: an exponent (Go's float64 writes
    # 1e+06), trailing zeros dropped or added (a decimal type re-serialised, a resend from another system)
    again = first.replace(b'quantity="10"', b'quantity="1E+1"').replace(b">5.00<", b">5<")
    again = again.replace(b">50.00<", b">50.000<")
    assert again.count(b"1E+1") == 1 and b">5<" in again and b">50.000<" in again
    response = post_order(again)
    # Then it is the same order (200, no second message), not a conflict the buyer would never retry
    assert status_of(response) == 200, cxml(response).status
    assert len(drain(queue_url)) == 1
    # And a value that differs is still another order
    other = first.replace(b">5.00<", b">5.001<")
    assert status_of(post_order(other)) == 409


def test_update_of_an_unknown_order_is_417_and_nothing_is_queued(table, queue_url):
    register(table)
    update = builders.order_request(
        "PO-404", [builders.item_out("P1", "1", price="5.00")], order_type="update", version=2, reference="x@y"
    )
    assert status_of(post_order(update)) == 417
    assert drain(queue_url) == []


def _sent_in_turn(queue_url: str, order_id: str, *changes: tuple[str, int]) -> list[dict[str, Any]]:
    """A new order, then each (type, orderVersion) of it, each answered 200: the messages queued."""
    lines = [builders.item_out("P1", "1", price="5.00")]
    assert status_of(post_order(builders.order_request(order_id, lines))) == 200
    for order_type, version in changes:
        document = builders.order_request(order_id, lines, order_type=order_type, version=version)
        assert status_of(post_order(document)) == 200
    return drain(queue_url)


def test_update_and_delete_follow_the_new_order_in_version_order(table, queue_url):
    register(table)
    messages = _sent_in_turn(queue_url, "PO-5", ("update", 2), ("delete", 3))
    assert [(m["body"]["type"], m["body"]["order_version"]) for m in messages] == [
        ("new", 1),
        ("update", 2),
        ("delete", 3),
    ]
    assert len({m["attributes"]["MessageGroupId"] for m in messages}) == 1


def test_lines_without_a_line_number_are_numbered_by_their_position_from_1(table, queue_url):
    # Given an order whose lines carry no lineNumber (it is optional), the third with one
    register(table)
    lines = [builders.item_out(part, "1", price="5.00") for part in ("P1", "P2")]
    lines.append(builders.item_out("P3", "1", price="5.00", line=7))
    # When it is sent
    assert status_of(post_order(builders.order_request("PO-LN", lines))) == 200
    # Then the shop's lines, and their reconciliation, are numbered 1 and 2 by position, the third as sent
    [message] = [m["body"] for m in drain(queue_url)]
    assert [line["line_number"] for line in message["lines"]] == [1, 2, 7]
    assert [line["order_line_number"] for line in message["reconciliation"]["lines"]] == [1, 2, 7]


SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON reader holds exactly (RFC 7493)


@pytest.mark.parametrize(
    ("where", "number"),
    [
        ("lineNumber", SAFE_INTEGER + 1),
        ("lineNumber", 2**63),  # past PHP's int: json_decode makes it a float, 9.2233720368547758E+18
        ("lineNumber", -(2**63) - 1),
        ("orderVersion", 10**20),
        ("LeadTime", 10**20),
    ],
)
def test_an_integer_no_shop_could_read_exactly_is_400_naming_it(table, queue_url, where, number):
    # Given an order with an integer past what JSON readers hold exactly (a shop's json_decode or JSON.parse
    # would read another number, without a word): cXML's uint allows 20 digits, no buyer's system writes them
    register(table)
    document = builders.order_request("PO-BIG", [builders.item_out("P1", "1", price="5.00", line=1)], version=1)
    document = {  # written into the document: the builders' models hold these numbers to the bounds too
        "lineNumber": document.replace(b'lineNumber="1"', f'lineNumber="{number}"'.encode()),
        "orderVersion": document.replace(b'orderVersion="1"', f'orderVersion="{number}"'.encode()),
        "LeadTime": document.replace(b"</ItemDetail>", f"<LeadTime>{number}</LeadTime></ItemDetail>".encode()),
    }[where]
    assert str(number).encode() in document
    # When it is sent
    answer = cxml(post_order(document))
    # Then it is refused with 400 naming the field, and nothing is queued
    assert answer.status.code == 400, answer.status
    assert ("line_number" if where == "lineNumber" else "version" if where == "orderVersion" else "lead_time") in (
        answer.status.message
    )
    assert drain(queue_url) == []


def test_the_largest_integer_every_json_reader_holds_is_queued_and_published_as_the_limit(table, queue_url):
    # Given an order whose line number is the largest integer JSON readers hold exactly
    register(table)
    document = builders.order_request("PO-SAFE", [builders.item_out("P1", "1", price="5.00", line=SAFE_INTEGER)])
    # When it is sent, Then it is queued with that number, and the schema publishes the bounds
    assert status_of(post_order(document)) == 200
    [message] = [m["body"] for m in drain(queue_url)]
    assert message["lines"][0]["line_number"] == SAFE_INTEGER
    schema = json.loads(ORDER_SCHEMA.read_text(encoding="utf-8"))
    [number] = [s for s in schema["$defs"]["OrderLine"]["properties"]["line_number"]["anyOf"] if s["type"] != "null"]
    assert (number["minimum"], number["maximum"]) == (-SAFE_INTEGER, SAFE_INTEGER)


def test_an_update_and_a_delete_under_the_same_order_version_are_two_messages(table, queue_url):
    # Given an order and its update 2, When the buyer deletes it without raising the orderVersion
    register(table)
    queued = _sent_in_turn(queue_url, "PO-UD", ("update", 2), ("delete", 2))
    # Then the shop gets the delete too, under a message id of its own (the type is part of the key)
    messages = [m["body"] for m in queued]
    assert [(m["type"], m["order_version"]) for m in messages] == [("new", 1), ("update", 2), ("delete", 2)]
    assert len({m["message_id"] for m in messages}) == 3


# SQS's MessageGroupId: at most 128 characters, letters, digits and ASCII punctuation.
_GROUP_ID = re.compile(r"[A-Za-z0-9!-/:-@\[-`{-~]{1,128}")


def test_each_order_has_its_own_message_group_per_deployment_mode(table, queue_url):
    # Given a partner's production system sending two orders, one with an id no group id may hold,
    # and its test system sending an order of the same number
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    test_identity: dict[str, Any] = {"identity": builders.BUYER_IDENTITY + "-T", "secret": builders.SECRET + " test"}
    odd = "PO 2/ü " + "x" * 200
    sent = [
        builders.order_request("PO-G1", lines, payload_id="g1@buyer"),
        builders.order_request(odd, lines, payload_id="g2@buyer"),
        builders.order_request("PO-G1", lines, mode="test", payload_id="g1-test@buyer", **test_identity),
    ]
    assert [status_of(post_order(document)) for document in sent] == [200, 200, 200]
    # When the shop receives them
    messages = drain(queue_url)
    groups = [m["attributes"]["MessageGroupId"] for m in messages]
    # Then no order waits behind another: three groups, the partner's and its test system's apart
    assert [m["body"]["order_id"] for m in messages] == ["PO-G1", odd, "PO-G1"]
    assert len(set(groups)) == 3
    assert groups[0].startswith("acme:") and not groups[0].startswith("acme:test:")
    assert groups[1].startswith("acme:") and not groups[1].startswith("acme:test:")
    assert groups[2].startswith("acme:test:")
    assert all(_GROUP_ID.fullmatch(group) for group in groups), groups


def test_the_deduplication_id_is_the_message_id_not_the_payload_id(table, queue_url):
    # Given an order, and an update of it whose payloadID is that of no other document
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    assert status_of(post_order(builders.order_request("PO-DD", lines, payload_id="dd-1@buyer"))) == 200
    update = builders.order_request("PO-DD", lines, order_type="update", version=2, payload_id="dd-2@buyer")
    assert status_of(post_order(update)) == 200
    # When the shop receives them
    messages = drain(queue_url)
    # Then each is deduplicated by its message id (stable across the buyer's resends under new
    # payloadIDs), which the shop deduplicates on too
    assert [m["attributes"]["MessageDeduplicationId"] for m in messages] == [m["body"]["message_id"] for m in messages]
    assert [m["body"]["payload_id"] for m in messages] == ["dd-1@buyer", "dd-2@buyer"]
    assert len({m["body"]["message_id"] for m in messages}) == 2


def test_a_versionless_new_order_resent_under_a_new_payload_id_is_delivered_once(table, queue_url, caplog):
    # Given a new order sent without orderVersion (version 1, as cXML says versions start)
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    first = builders.order_request("PO-V", lines, version=None, payload_id="first@buyer")
    assert status_of(post_order(first)) == 200
    # When the buyer resends it by hand: same content, a new payloadID, then once more with other content
    resent = post_order(builders.order_request("PO-V", lines, version=None, payload_id="second@buyer"))
    changed = post_order(
        builders.order_request("PO-V", [builders.item_out("P1", "7", price="5.00")], version=None, payload_id="x@b")
    )
    # Then the resend is the same order (200, no second message) and the changed one a conflict
    assert status_of(resent) == 200
    assert status_of(changed) == 409
    assert [m["body"]["payload_id"] for m in drain(queue_url)] == ["first@buyer"]
    # And the resend's payloadID was recorded without a warning
    assert "recorded" not in caplog.text


def test_a_versionless_update_resent_is_delivered_once_and_the_next_one_is_not(table, queue_url):
    # Given a versionless order and a versionless update of it that names it
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    assert status_of(post_order(builders.order_request("PO-W", lines, version=None, payload_id="n@b"))) == 200

    def update(payload_id: str, reference: str) -> bytes:
        return builders.order_request(
            "PO-W", lines, order_type="update", version=None, reference=reference, payload_id=payload_id
        )

    assert status_of(post_order(update("u1@b", "n@b"))) == 200
    # When the update is resent under a new payloadID, and a second update names the resend
    assert status_of(post_order(update("u1-again@b", "n@b"))) == 200
    assert status_of(post_order(update("u2@b", "u1-again@b"))) == 200
    # Then the shop gets the order, the first update once, and the second update
    messages = [m["body"] for m in drain(queue_url)]
    assert [m["payload_id"] for m in messages] == ["n@b", "u1@b", "u2@b"]
    # And each update names the message it follows, the second one through the resend it refers to
    assert [m["follows_message_id"] for m in messages] == [None, messages[0]["message_id"], messages[1]["message_id"]]


@pytest.mark.parametrize("reference", ["n@b", "n-again@b"])
def test_a_versionless_update_names_the_message_it_follows_whichever_payload_id_it_refers_to(
    table, queue_url, reference
):
    # Given a versionless order, resent under a new payloadID (which made no second message)
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    for payload_id in ("n@b", "n-again@b"):
        assert status_of(post_order(builders.order_request("PO-F", lines, version=None, payload_id=payload_id))) == 200
    # When an update names the original's payloadID, or the resend's
    update = builders.order_request(
        "PO-F", lines, order_type="update", version=None, reference=reference, payload_id="u@b"
    )
    assert status_of(post_order(update)) == 200
    # And the buyer retries it as it was: the same order, not a conflict and no second message
    assert status_of(post_order(update)) == 200
    # Then the update's message names the order's message, in the queue and from the shop API alike
    new, changed = (m["body"] for m in drain(queue_url))
    assert (new["follows_message_id"], changed["document_reference"]) == (None, reference)
    assert changed["follows_message_id"] == new["message_id"]
    fetched = body_json(call("GET", f"/shop/orders/{changed['message_id']}", "", shop_key(table)))
    assert fetched["follows_message_id"] == new["message_id"]


def test_a_versioned_update_and_delete_name_the_messages_they_follow(table, queue_url):
    # Given an order with its orderVersion, an update that names it, a delete that names the update's
    # resend, and a second order's update that names no document
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    sent = [
        builders.order_request("PO-VF", lines, payload_id="v1@b"),
        builders.order_request("PO-VF", lines, order_type="update", version=2, reference="v1@b", payload_id="v2@b"),
        builders.order_request("PO-VF", lines, order_type="update", version=2, reference="v1@b", payload_id="v2r@b"),
        builders.order_request("PO-VF", lines, order_type="delete", version=3, reference="v2r@b", payload_id="v3@b"),
        builders.order_request("PO-VN", lines, payload_id="w1@b"),
        builders.order_request("PO-VN", lines, order_type="update", version=2, payload_id="w2@b"),
    ]
    assert [status_of(post_order(document)) for document in sent] == [200] * 6
    # Then each change names the message it follows, and an update without a reference none
    new, update, delete, other, unreferenced = (m["body"] for m in drain(queue_url))
    assert [m["follows_message_id"] for m in (new, update, delete, other)] == [
        None,
        new["message_id"],
        update["message_id"],
        None,
    ]
    assert unreferenced["follows_message_id"] is None


def test_a_payload_id_the_buyer_used_twice_names_the_document_first_received_under_it(table, queue_url):
    # Given an order, its update 2, and an update 10 sent (against cXML's rule) under update 2's
    # payloadID; the store lists version 10 first ("10" sorts before "2")
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    sent = [
        builders.order_request("PO-T", lines, payload_id="t1@b"),
        builders.order_request("PO-T", lines, order_type="update", version=2, reference="t1@b", payload_id="same@b"),
        builders.order_request("PO-T", lines, order_type="update", version=10, reference="same@b", payload_id="same@b"),
    ]
    assert [status_of(post_order(document)) for document in sent] == [200] * 3
    # When a delete names that payloadID
    delete = builders.order_request("PO-T", lines, order_type="delete", version=11, reference="same@b")
    assert status_of(post_order(delete)) == 200
    # Then it follows update 2, the document first received under it
    _, first, _, deleted = (m["body"] for m in drain(queue_url))
    assert deleted["follows_message_id"] == first["message_id"]


def test_a_payload_id_a_later_resend_reused_names_the_document_first_received_under_it(table, queue_url):
    # Given an order, its update 2, and the order resent (against cXML's rule) under update 2's payloadID
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    sent = [
        builders.order_request("PO-R", lines, payload_id="r1@b"),
        builders.order_request("PO-R", lines, order_type="update", version=2, reference="r1@b", payload_id="r2@b"),
        builders.order_request("PO-R", lines, payload_id="r2@b"),
    ]
    assert [status_of(post_order(document)) for document in sent] == [200] * 3
    # When a delete names that payloadID
    delete = builders.order_request("PO-R", lines, order_type="delete", version=3, reference="r2@b")
    assert status_of(post_order(delete)) == 200
    # Then it follows update 2, the document received under it, not the order the resend was of
    _, update, deleted = (m["body"] for m in drain(queue_url))
    assert deleted["follows_message_id"] == update["message_id"]


# The largest order record intake accepts: orderID and payloadIDs of 512 bytes, and 99 attachments
# whose names take nearly MAX_ATTACHMENTS_BYTES.
LARGEST_ORDER_ID = "PO-".ljust(MAX_ID_BYTES, "9")


def _long_payload_id(number: int) -> str:
    return f"{number}@buyer.example".ljust(MAX_ID_BYTES, "x")


def _largest_order(number: int, **changes: Any) -> bytes:
    lines = [builders.item_out("P1", "1", price="5.00")]
    return builders.order_request(LARGEST_ORDER_ID, lines, payload_id=_long_payload_id(number), **changes)


def _send_largest_order(table) -> None:
    """Send it under payloadID 0, with its attachments."""
    register(table)
    parts = [(f"{n:02d}".ljust(1000, "c"), "application/" + "x" * 243, "ü" * 850, b"x", "binary") for n in range(99)]
    assert status_of(post_order(*builders.multipart_related(_largest_order(0), parts))) == 200


def _order_record(table) -> dict[str, Any]:
    [record] = [item for item in _stored_orders(table) if item["sk"]["S"].startswith("VERSION#")]
    return record


def _record_resends(table, numbers: range) -> None:
    """Record payloadIDs of resends as the order function does, without sending each one."""
    record = _order_record(table)
    table.client.update_item(
        TableName=table.name,
        Key={"pk": record["pk"], "sk": record["sk"]},
        UpdateExpression="ADD resent_as :ids",
        ExpressionAttributeValues={":ids": {"SS": [_long_payload_id(number) for number in numbers]}},
    )


def test_resends_past_the_most_kept_are_200_and_the_order_record_stays_within_its_item(
    table, queue_url, dynamodb_item_limit, caplog
):
    # Given the largest order record, with all its resends but the last two that it keeps recorded
    _send_largest_order(table)
    _record_resends(table, range(1, MAX_RESENT_PAYLOAD_IDS - 1))
    # When the buyer resends it five more times under new payloadIDs, and retries the last one it kept
    resends = [*range(MAX_RESENT_PAYLOAD_IDS - 1, MAX_RESENT_PAYLOAD_IDS + 4), MAX_RESENT_PAYLOAD_IDS]
    answers = [status_of(post_order(_largest_order(number))) for number in resends]
    # Then each is the same order (200), and the shop has it once
    assert answers == [200] * len(resends)
    [message] = drain(queue_url)
    # And no write failed: the record keeps its first resends' payloadIDs, and stays within its item;
    # the three past them are logged as not recorded
    assert "could not be recorded" not in caplog.text
    assert caplog.text.count("payloadID was not recorded") == 3
    record = _order_record(table)
    assert sorted(record["resent_as"]["SS"]) == sorted(map(_long_payload_id, range(1, MAX_RESENT_PAYLOAD_IDS + 1)))
    assert 300_000 < item_size(record) < DYNAMODB_ITEM_LIMIT
    # And an update naming a resend not recorded is 417, one naming the last one recorded follows the order
    update = {"order_type": "update", "version": 2}
    unrecorded, recorded = _long_payload_id(MAX_RESENT_PAYLOAD_IDS + 1), _long_payload_id(MAX_RESENT_PAYLOAD_IDS)
    assert status_of(post_order(_largest_order(1000, reference=unrecorded, **update))) == 417
    assert status_of(post_order(_largest_order(1001, reference=recorded, **update))) == 200
    [changed] = drain(queue_url)
    assert changed["body"]["follows_message_id"] == message["body"]["message_id"]


def test_resends_of_an_order_whose_record_earlier_releases_filled_are_200_and_recorded_no_more(
    table, queue_url, dynamodb_item_limit, caplog
):
    # Given the largest order record, holding 200 resends' payloadIDs as releases before the bound kept
    # them: ten more of 512 bytes fill its 400 KB item, and DynamoDB refuses the next write
    _send_largest_order(table)
    _record_resends(table, range(1, 201))
    # When the buyer resends it 15 more times under new payloadIDs
    answers = [status_of(post_order(_largest_order(number))) for number in range(201, 216)]
    # Then each is the same order (200), the shop has it once, and no write failed
    assert answers == [200] * 15
    assert len(drain(queue_url)) == 1
    assert "could not be recorded" not in caplog.text
    record = _order_record(table)
    assert len(record["resent_as"]["SS"]) == 200
    assert item_size(record) < DYNAMODB_ITEM_LIMIT


def test_an_update_naming_a_document_never_received_is_417(table, queue_url):
    # Given a received order
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    assert status_of(post_order(builders.order_request("PO-R", lines, payload_id="known@b"))) == 200
    drain(queue_url)
    # When an update's DocumentReference names a payloadID we never received
    answer = cxml(post_order(builders.order_request("PO-R", lines, order_type="update", version=2, reference="gone@b")))
    # Then it is 417 naming the reference, and nothing reaches the shop
    assert answer.status.code == 417
    assert "gone@b" in answer.status.message
    assert drain(queue_url) == []
    # And one that names the order is accepted
    named = builders.order_request("PO-R", lines, order_type="update", version=2, reference="known@b")
    assert status_of(post_order(named)) == 200


def test_the_shop_receives_line_details_and_header_attributes_the_buyer_sent(table, queue_url):
    # Given an order line with extrinsics, a contact, a URL, a lead time and two descriptions, and a
    # header asking for one shipment by a date under a requisition number
    register(table)
    line = builders.item_out("P1", "2", price="10.00")
    assert line.item_detail is not None
    line = line.model_copy(
        update={
            "item_detail": line.item_detail.model_copy(
                update={
                    "descriptions": [
                        Description(text="Part P1", short_name="P1"),
                        Description(text="Teil P1", lang="de"),
                    ],
                    "url": "https://shop.example.com/p1",
                    "lead_time": 5,
                    "extrinsics": [Extrinsic(name="BuyerPartNumber", value="B-77")],
                }
            ),
            "contacts": [Contact(role="endUser", name="Ann Buyer", emails=["ann@buyer.example"])],
        }
    )
    document = builders.order_request("PO-D", [line]).replace(
        b"<OrderRequestHeader ",
        b'<OrderRequestHeader requisitionID="REQ-7" shipComplete="yes"'
        b' requestedDeliveryDate="2026-12-24T09:00:00-05:00" ',
    )
    # When it is sent
    assert status_of(post_order(document)) == 200
    # Then the shop's message carries all of it, and still matches the published schema
    [message] = [m["body"] for m in drain(queue_url)]
    assert (message["requisition_id"], message["ship_complete"], message["requested_delivery_date"]) == (
        "REQ-7",
        True,
        "2026-12-24T09:00:00-05:00",
    )
    [sent] = message["lines"]
    assert sent["extrinsics"] == [{"name": "BuyerPartNumber", "value": "B-77"}]
    assert [(d["text"], d["lang"], d["short_name"]) for d in sent["descriptions"]] == [
        ("Part P1", "en", "P1"),
        ("Teil P1", "de", None),
    ]
    assert (sent["url"], sent["lead_time"]) == ("https://shop.example.com/p1", 5)
    assert [(c["role"], c["name"], c["emails"]) for c in sent["contacts"]] == [
        ("endUser", "Ann Buyer", ["ann@buyer.example"])
    ]


def _as_sent(model: Any) -> Any:
    """A part of the buyer's order as the shop's message carries it (JSON)."""
    return json.loads(model.model_dump_json(by_alias=True))


def test_the_shop_receives_every_header_and_line_part_the_buyer_sent(table, queue_url):
    # Given an order with ShipTo, BillTo, Shipping, Tax, a Contact and an Extrinsic in its header, and a
    # line with its delivery date, ShipTo, Shipping, Tax, accounting and ItemDetail (manufacturer,
    # classification, unit), sent as a new order of the registered partner in EUR
    register(table)
    order = order_of(order_request_document())
    line = order.items[0].model_copy(update={"ship_to": order.header.ship_to})
    order = order.model_copy(
        update={"header": order.header.model_copy(update={"document_reference": None}), "items": [line]}
    )
    document = RequestDocument(envelope=new_envelope("buyer.example.com"), header=builders.header(), request=order)
    body = render(document, "1.2.014")
    assert body.count(f'orderDate="{order.header.order_date.text}"'.encode()) == 1
    body = body.replace(f'orderDate="{order.header.order_date.text}"'.encode(), b'orderDate="2026-01-31T11:00:00+0100"')
    # When it is sent
    assert status_of(post_order(body)) == 200
    # Then the shop's message carries each part as the buyer sent it (the date as written), in the order's currency
    [message] = [m["body"] for m in drain(queue_url)]
    header = order.header
    assert (
        header.ship_to is not None and header.bill_to is not None and header.bill_to.address != header.ship_to.address
    )
    assert (message["currency"], message["order_date"]) == ("EUR", "2026-01-31T11:00:00+0100")
    assert message["order_date_parsed"] == "2026-01-31T11:00:00+01:00"
    assert message["ship_to"] == _as_sent(header.ship_to.address)
    assert message["bill_to"] == _as_sent(header.bill_to.address)
    assert (message["shipping"], message["tax"]) == (_as_sent(header.shipping), _as_sent(header.tax))
    assert message["contacts"] == [_as_sent(contact) for contact in header.contacts] != []
    assert message["extrinsics"] == [_as_sent(extrinsic) for extrinsic in header.extrinsics] != []
    [sent] = message["lines"]
    detail = line.item_detail
    assert detail is not None and line.ship_to is not None and line.requested_delivery_date is not None
    assert (sent["line_number"], sent["requested_delivery_date"]) == (1, line.requested_delivery_date.text)
    assert sent["ship_to"] == _as_sent(line.ship_to.address)
    assert (sent["shipping"], sent["tax"]) == (_as_sent(line.shipping), _as_sent(line.tax))
    assert sent["accounting"] == [_as_sent(distribution) for distribution in line.distributions] != []
    assert (sent["unit_of_measure"], sent["manufacturer_part_id"], sent["manufacturer_name"]) == (
        "BX",
        "BP-10",
        "Pens Inc.",
    )
    assert sent["classifications"] == [{"domain": "UNSPSC", "value": "44121704"}]


def test_a_body_marked_base64_that_is_not_is_406(table, queue_url):
    register(table)
    event = api_event("POST", "/cxml/order", body="not base64!", headers={"Content-Type": "text/xml"})
    event["isBase64Encoded"] = True
    assert status_of(invoke("OrderRequestFunction", event)) == 406
    assert drain(queue_url) == []


def test_a_payload_id_too_long_to_store_is_400(table, queue_url):
    # Given an order (with its orderVersion) whose payloadID is far longer than any real one
    register(table)
    document = builders.order_request("PO-LONG", [builders.item_out("P1", "1", price="5.00")], payload_id="p" * 600)
    # When it is sent, Then it is refused with 400 (its record could not be stored: a 500 on every retry)
    answer = cxml(post_order(document))
    assert answer.status.code == 400
    assert "payloadID" in answer.status.message
    assert drain(queue_url) == []


def test_pcard_number_is_masked_in_message_and_storage(table, queue_url):
    register(table)
    document = builders.order_request("PO-6", [builders.item_out("P1", "1", price="5.00")])
    document = document.replace(
        b"</BillTo>", b'</BillTo><Payment><PCard number="4111111111111111" expiration="2027-01-31"/></Payment>'
    )
    assert status_of(post_order(document)) == 200
    message = drain(queue_url)[0]["body"]
    assert message["payment_card"] == "************1111"
    dump = json.dumps(table.client.scan(TableName=table.name)["Items"], default=str)
    assert "4111111111111111" not in dump
    record = OrderRepository(table).find(message["message_id"])
    assert record is not None
    raw = OrderRepository(table).raw(record)
    assert b"4111111111111111" not in raw
    assert builders.SECRET.encode() not in raw
    assert b"************1111" in raw


def test_round_trip_reconciliation_reports_exactly_the_four_differences(table, queue_url):
    # Given a punchout cart of three lines, transferred and returned
    register(table)
    headers = shop_key(table)
    session_id, _ = open_session()
    cart = {
        "lines": [
            {"supplier_part_id": "A", "quantity": "1", "unit_price": "10.00", "description": "Alpha"},
            {"supplier_part_id": "B", "quantity": "2", "unit_price": "20.00", "description": "Beta"},
            {"supplier_part_id": "C", "quantity": "3", "unit_price": "30.00", "description": "Gamma"},
            {"supplier_part_id": "D", "quantity": "4", "unit_price": "40.00", "description": "Delta"},
        ]
    }
    assert call("PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart), headers)["statusCode"] == 200
    context = body_json(call("GET", f"/shop/sessions/{session_id}", headers=headers))
    assert call("POST", f"/shop/sessions/{session_id}/transfer", "", headers)["statusCode"] == 200
    # the returned lines carry our references <cart ref>-<line>
    from punchout.store.sessions import SessionRepository

    ref = SessionRepository(table).get(session_id).cart_ref  # type: ignore[union-attr]
    assert context["id"] == session_id
    # When approval changes one quantity (A), one price (B), removes one line (C), keeps D and adds E
    order = builders.order_request(
        "PO-RT",
        [
            builders.item_out("A", "5", auxiliary=f"{ref}-1", price="10.00", line=1),
            builders.item_out("B", "2", auxiliary=f"{ref}-2", price="18.50", line=2),
            builders.item_out("D", "4", auxiliary=f"{ref}-4", price="40.00", line=3),
            builders.item_out("E", "1", price="7.00", line=4),
        ],
    )
    assert status_of(post_order(order)) == 200
    # Then the message shows exactly those four differences, cart and order values side by side
    message = drain(queue_url)[0]["body"]
    reconciliation = message["reconciliation"]
    assert reconciliation["from_punchout"] is True
    by_part = {line["supplier_part_id"]: line for line in reconciliation["lines"]}
    assert {part: line["status"] for part, line in by_part.items()} == {
        "A": "quantity_changed",
        "B": "price_changed",
        "C": "removed",
        "D": "unchanged",
        "E": "added",
    }
    assert Decimal(by_part["A"]["cart"]["quantity"]) == 1 and Decimal(by_part["A"]["order"]["quantity"]) == 5
    assert Decimal(by_part["B"]["cart"]["unit_price"]) == Decimal("20.00")
    assert Decimal(by_part["B"]["order"]["unit_price"]) == Decimal("18.50")
    assert by_part["C"]["order"] is None and Decimal(by_part["C"]["cart"]["quantity"]) == 3
    assert by_part["E"]["cart"] is None
    assert message["sessions"][0]["id"] == session_id
    assert message["sessions"][0]["user"]["email"] == "jane.buyer@acme.example"


def _ordered(part: str, quantity: str, auxiliary: str, unit: str) -> Any:
    item = builders.item_out(part, quantity, auxiliary=auxiliary, price="10.00")
    assert item.item_detail is not None
    return item.model_copy(update={"item_detail": item.item_detail.model_copy(update={"unit_of_measure": unit})})


def _sent_after_remapping(table, lines: list[tuple[str, str]], mapping: dict[str, str]) -> tuple[list[str], str]:
    """Transfer a cart of ``lines`` (part, unit), then give the partner the unit ``mapping`` before the browser
    follows the return link: the units the buyer was sent, and the cart's ref."""
    from punchout.store.partners import PartnerRepository
    from punchout.store.sessions import SessionRepository

    headers = shop_key(table)
    session_id, _ = open_session()
    cart = {
        "lines": [
            {
                "supplier_part_id": part,
                "quantity": "10",
                "unit_price": "10.00",
                "description": part,
                "unit_of_measure": unit,
            }
            for part, unit in lines
        ]
    }
    assert call("PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart), headers)["statusCode"] == 200
    return_url = body_json(call("POST", f"/shop/sessions/{session_id}/transfer", "", headers))["return_url"]
    partners = PartnerRepository(table)
    partner = partners.get("acme")
    assert partner is not None
    partners.update(partner.model_copy(update={"unit_of_measure_map": mapping}))
    page = call("GET", "/" + return_url.split("/", 3)[3])
    document = ReturnPage.of(page).document(partner)
    sent = message_tree(document).xpath("//ItemIn/ItemDetail/UnitOfMeasure/text()")
    return sent, SessionRepository(table).get(session_id).cart_ref  # type: ignore[union-attr]


def _reconciled_units(queue_url: str, order_id: str, ordered: list[tuple[str, str]], ref: str) -> list[dict[str, Any]]:
    """The reconciled lines of an order of ``ordered`` (part, unit), line n naming the cart's line n."""
    order = builders.order_request(
        order_id, [_ordered(part, "10", f"{ref}-{n}", unit) for n, (part, unit) in enumerate(ordered, 1)]
    )
    assert status_of(post_order(order)) == 200
    (queued,) = drain(queue_url)
    return queued["body"]["reconciliation"]["lines"]


def test_units_are_compared_with_what_the_buyer_was_sent_through_the_mapping_used_then(table, queue_url):
    # Given a partner that maps the shop's BOX to the buyer's BX, and a cart of A and C in BOX and B in EA,
    # transferred; and the partner's mapping changed before the browser followed the return link (BOX is now CT)
    register(table, unit_of_measure_map={"BOX": "BX"})
    sent, ref = _sent_after_remapping(table, [("A", "BOX"), ("B", "EA"), ("C", "BOX")], {"BOX": "CT"})
    # Then the buyer was sent the units of the mapping the transfer used
    assert sent == ["BX", "EA", "BX"]
    # When the buyer orders A as " bx " (what it was sent), B as BX (sent EA) and C as CT (sent BX: CT is only
    # what the mapping says now)
    lines = _reconciled_units(queue_url, "PO-UOM", [("A", " bx "), ("B", "BX"), ("C", "CT")], ref)
    # Then only B's and C's units changed, their status still unchanged, both sides' units shown
    assert [(ln["status"], ln.get("unit_of_measure_changed")) for ln in lines] == [
        ("unchanged", None),
        ("unchanged", True),
        ("unchanged", True),
    ]
    assert [(ln["cart"]["unit_of_measure"], ln["order"]["unit_of_measure"]) for ln in lines] == [
        ("BOX", "bx"),
        ("EA", "BX"),
        ("BOX", "CT"),
    ]


def test_a_transfer_that_mapped_no_unit_recorded_so_and_a_mapping_added_later_is_not_what_was_sent(table, queue_url):
    # Given a partner without a unit mapping, and a cart of A and B in EA, transferred (the buyer is sent EA);
    # and a mapping of EA to C62 added before the browser followed the return link
    register(table)
    sent, ref = _sent_after_remapping(table, [("A", "EA"), ("B", "EA")], {"EA": "C62"})
    # Then the buyer was sent EA: the transfer recorded that it mapped none (not "nothing recorded")
    assert sent == ["EA", "EA"]
    # When the buyer orders A as EA (what it was sent) and B as C62 (only what the mapping says now)
    lines = _reconciled_units(queue_url, "PO-UOM-NONE", [("A", "EA"), ("B", "C62")], ref)
    # Then B's unit changed, A's did not
    assert [ln.get("unit_of_measure_changed") for ln in lines] == [None, True]


def test_an_order_of_lines_from_two_carts_is_reconciled_with_both(table, queue_url):
    # Given two transferred carts of the partner (two punchouts into one requisition), each of part A
    register(table)
    headers = shop_key(table)
    transferred = [_transferred_cart(table, headers) for _ in range(2)]
    sessions = {ref: session_id for session_id, ref in transferred}
    first, second = sorted(sessions)
    # When one order carries the line of each, the second at another quantity
    order = builders.order_request(
        "PO-TWO",
        [
            builders.item_out("A", "1", auxiliary=f"{first}-1", price="10.00", line=1),
            builders.item_out("A", "3", auxiliary=f"{second}-1", price="10.00", line=2),
        ],
    )
    assert status_of(post_order(order)) == 200
    # Then each line is matched to its own cart, and both sessions are named
    message = drain(queue_url)[0]["body"]
    reconciliation = message["reconciliation"]
    assert reconciliation["cart_refs"] == [first, second]
    assert [(line["status"], line["supplier_part_auxiliary_id"]) for line in reconciliation["lines"]] == [
        ("unchanged", f"{first}-1"),
        ("quantity_changed", f"{second}-1"),
    ]
    assert [(s["cart_ref"], s["id"]) for s in message["sessions"]] == [
        (first, sessions[first]),
        (second, sessions[second]),
    ]


def test_an_order_citing_another_partners_cart_is_not_reconciled_with_it(table, queue_url):
    # Given acme's transferred cart, and a second partner with its own credentials

    register(table)
    register(
        table,
        partner_id="globex",
        name="Globex Purchasing",
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain="DUNS", identity="987654321")],
                secret_hashes=[hash_secret("globex secret", iterations=1000)],
            )
        },
    )
    headers = shop_key(table)
    session_id, ref = _transferred_cart(table, headers)
    # When globex orders a line whose SupplierPartAuxiliaryID names acme's cart
    order = builders.order_request(
        "PO-GLOBEX",
        [builders.item_out("A", "1", auxiliary=f"{ref}-1", price="10.00", line=1)],
        domain="DUNS",
        identity="987654321",
        secret="globex secret",
    )
    assert status_of(post_order(order)) == 200
    # Then globex's message names neither acme's session nor its user, and its line matches no cart
    message = drain(queue_url)[0]["body"]
    assert message["partner"]["id"] == "globex"
    assert message["sessions"] == []
    assert message["reconciliation"]["from_punchout"] is False
    assert message["reconciliation"]["cart_refs"] == []
    assert [line["status"] for line in message["reconciliation"]["lines"]] == ["unmatched"]
    assert session_id not in json.dumps(message)
    assert "jane.buyer@acme.example" not in json.dumps(message)


def test_large_order_travels_as_a_claim_check_and_the_shop_can_fetch_it(table, queue_url):
    register(table)
    headers = shop_key(table)
    items = [builders.item_out(f"P{n}", "1", price="1.00", line=n) for n in range(1, 2001)]
    assert status_of(post_order(builders.order_request("PO-BIG", items, total="2000.00"))) == 200
    message = drain(queue_url)[0]["body"]
    assert message["complete"] is False
    assert message["lines"] is None
    assert message["line_count"] == 2000
    full = call("GET", f"/shop/orders/{message['message_id']}", headers=headers)
    assert full["statusCode"] == 200, full
    complete = body_json(full)
    assert_published_message(complete)
    assert complete["complete"] is True
    assert len(complete["lines"]) == 2000


def test_an_order_too_large_for_one_answer_is_read_page_by_page(table, queue_url, monkeypatch):
    # Given answers that hold little (as Lambda's 6 MB holds little of a large order), and a 40-line
    # order reconciled with its cart (one cart line removed in approval)
    import order_request.service

    monkeypatch.setattr(order_request.service, "MAX_RESPONSE_BYTES", 8_000)
    monkeypatch.setattr(order_request.service, "_PAGE_BYTES", 6_000)
    register(table)
    headers = shop_key(table)
    items = [builders.item_out(f"P{n}", "1", price="1.00", line=n) for n in range(1, 41)]
    assert status_of(post_order(builders.order_request("PO-PAGES", items, total="40.00"))) == 200
    queued = drain(queue_url)[0]["body"]
    path = f"/shop/orders/{queued['message_id']}"
    record = OrderRepository(table).find(queued["message_id"])
    assert record is not None
    full = json.loads(OrderRepository(table).message(record))

    # When the shop reads the order, then its pages
    first = call("GET", path, headers=headers)
    answers = [call("GET", f"{path}/pages/1", headers=headers)]
    while len(answers) < body_json(answers[0])["pages"]:
        answers.append(call("GET", f"{path}/pages/{len(answers) + 1}", headers=headers))
    pages = [body_json(answer) for answer in answers]

    # Then the order comes without its lines (complete: false), its header whole
    message = body_json(first)
    assert_published_message(message)
    assert (message["complete"], message["lines"], message["reconciliation"]) == (False, None, None)
    assert message["ship_to"] == full["ship_to"]
    # And the pages, each within the answer's size, hold every line and reconciliation line in order
    assert len(pages) > 2
    for number, (answer, page) in enumerate(zip(answers, pages, strict=True), 1):
        closed_validator_of({"$ref": "#/components/schemas/OrderPage"}).validate(page)
        assert (page["message_id"], page["page"]) == (queued["message_id"], number)
        assert len(json.dumps(answer["body"])) <= 8_000  # as Lambda carries it
    assert [line for page in pages for line in page["lines"]] == full["lines"]
    assert [line for page in pages for line in page["reconciliation"]["lines"]] == full["reconciliation"]["lines"]
    assert pages[-1]["reconciliation"]["from_punchout"] == full["reconciliation"]["from_punchout"]


def test_a_page_holds_the_lines_that_fit_its_budget_and_no_more():
    from order_request.service import page_slices
    from punchout.http import carried_size

    # Given three order lines and four reconciliation lines (one removed cart line) of one size each
    lines: list[object] = ["x" * 100] * 3
    reconciled: list[object] = ["y" * 100] * 4
    line = carried_size(json.dumps(lines[0]))
    # When they are cut into pages of a budget of two and a half indexes (an index: its order line and its
    # reconciliation line, which go together)
    pages = page_slices(lines, reconciled, 2 * line * 2 + line)
    # Then each page takes as many indexes as fit, never one more: the page of a 6 MB answer stays one
    assert [(page.start, page.stop) for page in pages] == [(0, 2), (2, 4)]


@pytest.mark.parametrize(
    ("where", "repeats"),
    [("header", 500), ("line", 500), ("line", 280)],
    ids=["header", "line", "line-just-over-a-page"],
)
def test_an_order_the_shop_could_not_read_is_refused_with_400(table, queue_url, monkeypatch, where, repeats):
    # Given answers that hold little, and an order whose header (or one line) alone exceeds one; a
    # line must fit a page (6,000 bytes here), which leaves room for the page's other keys
    import order_request.service

    monkeypatch.setattr(order_request.service, "MAX_RESPONSE_BYTES", 8_000)
    monkeypatch.setattr(order_request.service, "_PAGE_BYTES", 6_000)
    register(table)
    note = Comments(text="Call Ann at the gate. " * repeats, lang="en")
    items = [builders.item_out(f"P{n}", "1", price="1.00", line=n) for n in range(1, 4)]
    if where == "line":
        items[1] = items[1].model_copy(update={"comments": note})
    document = builders.order_request("PO-HUGE", items, total="3.00", comments=[note] if where == "header" else [])
    # When it is sent
    answer = cxml(post_order(document))
    # Then the buyer hears at once that it is too large (400, not retried), and nothing is kept or queued
    assert answer.status.code == 400
    assert ("header" if where == "header" else "line 2") in answer.status.message
    assert drain(queue_url) == []
    assert [i for i in table.client.scan(TableName=table.name)["Items"] if i["pk"]["S"].startswith("ORDER")] == []


_HUGE = "q" * 300_000  # alone larger than a queue message


@pytest.mark.parametrize(
    "attribute",
    [
        f'requisitionID="{_HUGE}"',
        f'orderDate="2026-11-26T10:00:00+00:00 {_HUGE}"',
        f'requestedDeliveryDate="{_HUGE}"',
        "DocumentReference",
        "PCard",
    ],
    ids=["requisitionID", "orderDate", "requestedDeliveryDate", "DocumentReference", "PCard"],
)
def test_an_order_whose_header_attribute_alone_overflows_the_queue_is_refused_with_400(table, queue_url, attribute):
    # Given a new order whose header carries an attribute of 300,000 characters: one a claim check cannot
    # leave out (a DocumentReference of a new order, a requisitionID, a date, a card number)
    register(table)
    lines = [builders.item_out("P1", "1", price="5.00")]
    document = builders.order_request("PO-ATTR", lines, reference=_HUGE if attribute == "DocumentReference" else None)
    if attribute == "PCard":
        card = f'<Payment><PCard number="{"4" * 300_000}" expiration="2027-01-31"/></Payment>'
        document = document.replace(b"</BillTo>", b"</BillTo>" + card.encode())
    elif attribute.startswith("orderDate"):
        document = re.sub(rb'orderDate="[^"]*"', attribute.encode(), document)
    elif attribute != "DocumentReference":
        document = document.replace(b"<OrderRequestHeader ", f"<OrderRequestHeader {attribute} ".encode())
    # When it is sent
    answer = cxml(post_order(document))
    # Then the buyer hears at once that it is too large (400), rather than a 5xx at every retry while SQS
    # refuses its message; nothing is stored or queued
    assert answer.status.code == 400, answer.status
    assert "header attributes" in answer.status.message
    assert drain(queue_url) == []
    assert _stored_orders(table) == []


@pytest.mark.parametrize("page", ["0", "99", "x", "-1", "1.5", "\u0661"])  # U+0661: ARABIC-INDIC DIGIT ONE
def test_a_page_that_is_not_there_is_404(table, queue_url, page):
    register(table)
    headers = shop_key(table)
    assert status_of(post_order(builders.order_request("PO-P1", [builders.item_out("P1", "1", price="5.00")]))) == 200
    message_id = drain(queue_url)[0]["body"]["message_id"]
    assert call("GET", f"/shop/orders/{message_id}/pages/1", headers=headers)["statusCode"] == 200
    assert call("GET", f"/shop/orders/{message_id}/pages/{page}", headers=headers)["statusCode"] == 404
    assert call("GET", f"/shop/orders/{message_id}/pages/1", headers={"x-api-key": "pk_wrong"})["statusCode"] == 401


def test_shop_order_route_needs_the_api_key(table, queue_url):
    register(table)
    assert status_of(post_order(builders.order_request("PO-7", [builders.item_out("P1", "1", price="5.00")]))) == 200
    message = drain(queue_url)[0]["body"]
    response = call("GET", f"/shop/orders/{message['message_id']}")
    assert response["statusCode"] == 401


@pytest.mark.parametrize("secret", ["wrong", None])
def test_orders_authenticate_like_setup(table, queue_url, secret):
    register(table)
    document = builders.order_request("PO-8", [builders.item_out("P1", "1", price="5.00")], secret=secret)
    assert status_of(post_order(document)) == 401
    assert drain(queue_url) == []


# --- the shop downloads an order's attachments ------------------------------------------------------

DRAWING = b"%PDF-1.7\r\n" + bytes(range(256)) * 8


def _order_with_a_drawing(table, queue_url) -> tuple[str, dict[str, str]]:
    register(table)
    cid = "drawing-1@buyer.example"
    document = builders.order_request(
        "PO-ATT",
        [builders.item_out("P1", "1", price="5.00")],
        comments=[Comments(text="See the drawing", attachments=[f"cid:{cid}"])],
    )
    body, content_type = builders.multipart_related(
        document, [(cid, "application/pdf", "drawing.pdf", DRAWING, "base64")]
    )
    assert status_of(post_order(body, content_type)) == 200
    return drain(queue_url)[0]["body"]["message_id"], shop_key(table)


def test_the_shop_downloads_an_attachment_listed_in_the_order_message(table, queue_url):
    # Given an accepted order with one attachment
    message_id, headers = _order_with_a_drawing(table, queue_url)
    # When the shop asks for the message's first attachment
    response = call("GET", f"/shop/orders/{message_id}/attachments/0", headers=headers)
    # Then it gets what the message lists, with the very bytes, base64-encoded
    assert response["statusCode"] == 200, response
    assert body_json(response) == {
        "content_id": "drawing-1@buyer.example",
        "content_type": "application/pdf",
        "filename": "drawing.pdf",
        "size": len(DRAWING),
        "content_base64": base64.b64encode(DRAWING).decode("ascii"),
    }


def test_the_shop_order_routes_answer_json(table, queue_url):
    # Given an accepted order with one attachment
    message_id, headers = _order_with_a_drawing(table, queue_url)
    # When the shop reads the order, its first page of lines and its attachment
    routes = ("", "/pages/1", "/attachments/0")
    answers = [call("GET", f"/shop/orders/{message_id}{route}", headers=headers) for route in routes]
    # Then each is JSON, and says so
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200]
    assert [(response_header(answer, "Content-Type") or "").split(";")[0] for answer in answers] == [
        "application/json"
    ] * 3
    for answer in answers:
        body_json(answer)


@pytest.mark.parametrize("index", ["1", "-1", "x", "01x", "\u0661", "\u0660", "9" * 5000, "0" * 5000])
def test_an_attachment_index_that_is_not_in_the_message_is_404(table, queue_url, index):
    message_id, headers = _order_with_a_drawing(table, queue_url)
    response = call("GET", f"/shop/orders/{message_id}/attachments/{index}", headers=headers)
    assert response["statusCode"] == 404, response
    assert body_json(response)["error"]["status"] == 404


@pytest.mark.parametrize("route", ["", "/pages/1", "/attachments/0"], ids=["order", "page", "attachment"])
def test_an_unexpected_failure_on_a_shop_order_route_is_the_json_500(table, queue_url, monkeypatch, log_lines, route):
    # Given an accepted order, and a table that fails as nobody expected when the shop reads it
    message_id, headers = _order_with_a_drawing(table, queue_url)

    def broken(self: OrderRepository, message_id: str) -> None:
        raise RuntimeError("DynamoDB is down at internal-host-42")

    monkeypatch.setattr(OrderRepository, "find", broken)
    # When the shop reads the order, a page or an attachment
    response = call("GET", f"/shop/orders/{message_id}{route}", headers=headers)
    # Then it gets the shop API's JSON 500 (worth a retry), not the browser's HTML page, and nothing internal
    assert response["statusCode"] == 500
    assert body_json(response) == {"error": {"status": 500, "message": "Internal error; retry later"}}
    assert "internal-host-42" not in response["body"]
    assert "Unexpected failure" in log_lines.getvalue()


def test_an_unexpected_failure_on_a_shop_route_is_an_error_line_with_its_status(
    table, queue_url, monkeypatch, log_lines
):
    # Given an accepted order, and a table that fails as nobody expected when the shop reads it
    message_id, headers = _order_with_a_drawing(table, queue_url)
    monkeypatch.setattr(OrderRepository, "find", lambda self, message_id: 1 / 0)
    start = len(log_lines.getvalue())
    # When the shop reads the order
    assert call("GET", f"/shop/orders/{message_id}", headers=headers)["statusCode"] == 500
    # Then its one line is an ERROR with the status and reason the shop got, as a cXML 500's line has them
    # (the runbook's ERROR query shows `status` and `reason`), and the traceback
    (line,) = [json.loads(text) for text in log_lines.getvalue()[start:].splitlines()]
    assert (line["level"], line["status"], line["reason"]) == ("ERROR", 500, "Internal error; retry later")
    assert "ZeroDivisionError" in line["exception"]


def test_attachments_of_an_unknown_order_are_404_and_need_the_api_key(table, queue_url):
    message_id, headers = _order_with_a_drawing(table, queue_url)
    assert call("GET", "/shop/orders/no-such-message/attachments/0", headers=headers)["statusCode"] == 404
    refused = call("GET", f"/shop/orders/{message_id}/attachments/0")
    assert refused["statusCode"] == 401
    assert "content_base64" not in body_json(refused)


# --- what an order keeps of its attachments' MIME headers ---------------------------------------------


def _order_with_parts(table, parts: list[tuple[str, str, str, bytes, str]]) -> dict[str, Any]:
    """The answer to an order whose header comment references every part's ``cid:``."""
    register(table)
    document = builders.order_request(
        "PO-PARTS",
        [builders.item_out("P1", "1", price="5.00")],
        comments=[Comments(text="See the attachments", attachments=[f"cid:{part[0]}" for part in parts])],
    )
    return post_order(*builders.multipart_related(document, parts))


def _stored_orders(table) -> list[dict[str, Any]]:
    return [i for i in table.client.scan(TableName=table.name)["Items"] if i["pk"]["S"].startswith("ORDER")]


@pytest.mark.parametrize(
    ("cid", "media_type", "named"),
    [
        ("c" * 200_000 + "@buyer.example", "application/pdf", "Content-ID"),
        ("long-type@buyer.example", "application/" + "x" * 300, "media type"),
    ],
    ids=["content-id", "media-type"],
)
def test_a_content_id_or_media_type_too_long_to_keep_is_400_naming_the_attachment(
    table, queue_url, log_lines, cid, media_type, named
):
    # Given an order whose second attachment has a Content-ID (which its cid: URL must match) or a media
    # type far longer than any sender writes
    parts = [("drawing@buyer.example", "application/pdf", "drawing.pdf", DRAWING, "base64")]
    parts.append((cid, media_type, "specification.pdf", DRAWING, "base64"))
    # When it is sent
    answer = cxml(_order_with_parts(table, parts))
    # Then it is refused with 400 (the buyer does not retry it) naming the attachment and the field, and
    # nothing is stored or queued
    assert answer.status.code == 400, answer.status
    assert f"Attachment 2 of 2 ('specification.pdf') has a {named} of" in answer.status.message
    assert drain(queue_url) == []
    assert _stored_orders(table) == []
    # And neither the answer nor the log repeats the over-long text
    assert "x" * 100 not in answer.status.message and "c" * 100 not in answer.status.message
    logged = log_lines.getvalue()
    assert "cXML request refused" in logged
    assert "x" * 100 not in logged and "c" * 100 not in logged


def _accepted_or_refused_unstored(table: Any, queue_url: str, answer: Any, status: int, refusal: str) -> None:
    """The answer has ``status``; a 406 says ``refusal``, and nothing was stored or queued."""
    assert answer.status.code == status, answer.status
    if status == 406:
        assert answer.status.message == refusal
        assert _stored_orders(table) == []
        assert drain(queue_url) == []


@pytest.mark.parametrize(("parameters", "status"), [(MAX_HEADER_PARAMETERS, 200), (MAX_HEADER_PARAMETERS + 1, 406)])
def test_an_attachment_may_have_up_to_64_header_parameters(table, queue_url, parameters, status):
    # Given an order whose attachment's Content-Type has that many parameters (the email package reads them
    # in time that grows with their number times the header's length, before anyone is authenticated)
    media_type = "application/pdf" + "; x=1" * parameters
    parts = [("drawing@buyer.example", media_type, "drawing.pdf", DRAWING, "base64")]
    # When it is sent
    answer = cxml(_order_with_parts(table, parts))
    # Then up to 64 it is an attachment like any other; over, the body is refused as unusable, nothing stored
    _accepted_or_refused_unstored(table, queue_url, answer, status, "A part's Content-Type has more than 64 parameters")


@pytest.mark.parametrize(("lines", "status"), [(100, 200), (101, 406)])
def test_an_attachment_may_have_up_to_100_header_lines(table, queue_url, lines, status):
    # Given an order whose attachment has that many header lines (each header the email package read from a
    # part went through all of the part's lines, before anyone is authenticated: 700,000 took 5 s)
    register(table)
    cid = "drawing@buyer.example"
    document = builders.order_request(
        "PO-LINES", [builders.item_out("P1", "1", price="5.00")], comments=[Comments(attachments=[f"cid:{cid}"])]
    )
    body, content_type = builders.multipart_related(
        document, [(cid, "application/pdf", "drawing.pdf", DRAWING, "base64")]
    )
    disposition = b'Content-Disposition: attachment; filename="drawing.pdf"\r\n'
    head = body[body.index(b"Content-Type: application/pdf") : body.index(disposition) + len(disposition)]
    body = body.replace(disposition, disposition + b"X-Line: 1\r\n" * (lines - head.count(b"\r\n")), 1)
    # When it is sent
    answer = cxml(post_order(body, content_type))
    # Then up to 100 it is an attachment like any other; over, the body is refused as unusable, nothing stored
    _accepted_or_refused_unstored(table, queue_url, answer, status, "A part has more than 100 header lines")


@pytest.mark.parametrize(("attachments", "status"), [(99, 200), (100, 406)])
def test_a_multipart_order_may_have_up_to_100_parts(table, queue_url, attachments, status):
    # Given an order of the cXML part and that many attachments: 100 parts, or 101
    parts = [(f"note{n}@buyer.example", "text/plain", f"note{n}.txt", b"x", "binary") for n in range(attachments)]
    # When it is sent
    answer = cxml(_order_with_parts(table, parts))
    # Then up to 100 parts it is an order like any other; over, the body is refused as unusable, nothing stored
    _accepted_or_refused_unstored(table, queue_url, answer, status, "The multipart body has more than 100 parts")


def test_an_attachment_that_is_itself_multipart_is_kept_as_sent(table, queue_url):
    # Given an order whose attachment has parts of its own (an e-mail with its attachments)
    mail = b"--inner\r\nContent-Type: text/plain\r\n\r\nSee the drawing\r\n--inner--"
    answer = _order_with_parts(
        table, [("mail@buyer.example", 'multipart/mixed; boundary="inner"', "mail.eml", mail, "8bit")]
    )
    # When it is sent, Then the order is accepted
    assert status_of(answer) == 200
    # And the shop downloads the attachment as sent (its parts are not read: nesting them cost time in
    # their depth times the lines below them, before anyone is authenticated)
    message_id = drain(queue_url)[0]["body"]["message_id"]
    download = body_json(call("GET", f"/shop/orders/{message_id}/attachments/0", headers=shop_key(table)))
    assert (download["content_type"], base64.b64decode(download["content_base64"])) == ("multipart/mixed", mail)


def test_a_long_file_name_is_kept_cut_to_its_first_1000_characters(table, queue_url):
    # Given an order whose attachment's file name is 20,000 characters long (it is shown, never referenced)
    filename = "Zeichnung-" + "ü" * 20_000 + ".pdf"
    answer = _order_with_parts(table, [("drawing@buyer.example", "application/pdf", filename, DRAWING, "base64")])
    # When it is sent, Then the order is accepted
    assert status_of(answer) == 200
    # And the message, the record and the shop's download carry the name's first 1,000 characters
    message_id = drain(queue_url)[0]["body"]["message_id"]
    headers = shop_key(table)
    full = body_json(call("GET", f"/shop/orders/{message_id}", headers=headers))
    assert full["attachments"][0]["filename"] == filename[:1000]
    record = OrderRepository(table).find(message_id)
    assert record is not None
    assert record.attachments[0].filename == filename[:1000]
    download = body_json(call("GET", f"/shop/orders/{message_id}/attachments/0", headers=headers))
    assert (download["filename"], download["content_base64"]) == (filename[:1000], base64.b64encode(DRAWING).decode())


def test_attachment_names_with_characters_sqs_refuses_reach_the_shop_escaped(table, queue_url):
    # Given an order whose attachment's Content-ID and file name (MIME headers, in raw UTF-8: not XML,
    # whose parser refuses them) hold U+FFFE and U+FFFF, which SQS refuses in a message body
    # (no cid: URL of the document can name it: XML cannot hold them either)
    register(table)
    document = builders.order_request("PO-CHARS", [builders.item_out("P1", "1", price="5.00")])
    cid, filename = "drawing\ufffe@buyer.example", "Zeichnung\uffff.pdf"
    answer = post_order(*builders.multipart_related(document, [(cid, "application/pdf", filename, DRAWING, "base64")]))
    # When it is sent, Then the order is accepted and queued (drain checks the message is one SQS takes)
    assert status_of(answer) == 200, cxml(answer).status
    [message] = drain(queue_url)
    # And the shop reads the names as sent: JSON escapes carry them
    assert (message["body"]["attachments"][0]["content_id"], message["body"]["attachments"][0]["filename"]) == (
        cid,
        filename,
    )


def test_a_hundred_parts_with_names_at_the_limits_are_accepted_and_stored(table, queue_url):
    # Given an order of 100 MIME parts (the most accepted): the document and 99 attachments, each with a
    # Content-ID of 1,000 characters, a media type of 255 and a file name of 5,000 (kept: 1,000)
    media_type = "application/" + "x" * 243
    parts = [
        (f"{n:02d}".ljust(990, "c") + "@buyer.one", media_type, f"{n:02d}".ljust(5000, "f"), bytes([n]) * 10, "binary")
        for n in range(99)
    ]
    assert [len(parts[0][i]) for i in range(3)] == [1000, 255, 5000]
    # When it is sent
    answer = _order_with_parts(table, parts)
    # Then it is accepted and queued (drain checks the message fits SQS: a claim check without them)
    assert status_of(answer) == 200, cxml(answer).status
    [message] = drain(queue_url)
    # And the shop reads every attachment's metadata from the order and each one's bytes
    headers = shop_key(table)
    full = body_json(call("GET", f"/shop/orders/{message['body']['message_id']}", headers=headers))
    assert [(a["content_id"], a["content_type"], a["filename"]) for a in full["attachments"]] == [
        (cid, content_type, filename[:1000]) for cid, content_type, filename, _, _ in parts
    ]
    last = body_json(call("GET", f"/shop/orders/{message['body']['message_id']}/attachments/98", headers=headers))
    assert (last["content_id"], base64.b64decode(last["content_base64"])) == (parts[98][0], bytes([98]) * 10)


def test_attachment_names_that_together_overflow_the_order_record_are_400(table, queue_url):
    # Given 99 attachments, each with a Content-ID and a file name within the limits (1,000 characters)
    # but of four-byte characters: together several times what one DynamoDB item holds
    parts = [
        (f"{n:02d}".ljust(990, "📎") + "@buyer.one", "application/pdf", "📄" * 1000, b"x", "binary") for n in range(99)
    ]
    # When it is sent
    answer = cxml(_order_with_parts(table, parts))
    # Then it is refused with 400, not a 500 the buyer would retry forever, and nothing is stored
    assert answer.status.code == 400, answer.status
    assert "too long together" in answer.status.message
    assert "at most 300,000)" in answer.status.message  # the bound README documents for buyers
    assert drain(queue_url) == []
    assert _stored_orders(table) == []


NOT_OUR_MESSAGE_IDS = {
    "over the key limit": "a" * 2100,
    "too short": "a" * 63,
    "too long": "a" * 65,
    "upper case": "A" * 64,
    "non-ASCII": "a" * 63 + "\u00e9",
}


@pytest.mark.parametrize("message_id", list(NOT_OUR_MESSAGE_IDS.values()), ids=list(NOT_OUR_MESSAGE_IDS))
@pytest.mark.parametrize("route", ["", "/attachments/0"], ids=["order", "attachment"])
def test_a_message_id_that_cannot_be_ours_is_404_without_a_lookup(
    table, queue_url, dynamodb_keys, log_lines, route, message_id
):
    # Given a message id we could never have issued (ours are SHA-256 in hex)
    headers = shop_key(table)
    # When the shop asks for the order or one of its attachments
    response = call("GET", f"/shop/orders/{message_id}{route}", headers=headers)
    # Then it is the 404 of any unknown order, DynamoDB was not asked, and nothing was logged as an error
    assert response["statusCode"] == 404, response
    assert body_json(response)["error"]["status"] == 404
    assert not [pk for pk in dynamodb_keys if pk.startswith("ORDERMSG#")]
    assert '"level":"ERROR"' not in log_lines.getvalue()


# --- test mode and production, odd identifiers -------------------------------------------------------


def test_a_test_order_does_not_stand_for_the_production_order_of_the_same_number(table, queue_url):
    # Given a partner whose test system sent order PO-100 first
    register(table)
    test_identity: dict[str, Any] = {"identity": builders.BUYER_IDENTITY + "-T", "secret": builders.SECRET + " test"}
    test_order = builders.order_request(
        "PO-100", [builders.item_out("P1", "1", price="5.00")], mode="test", **test_identity
    )
    assert status_of(post_order(test_order)) == 200
    # When production sends its own PO-100, with other content
    production = builders.order_request("PO-100", [builders.item_out("P2", "3", price="7.00")])
    assert status_of(post_order(production)) == 200
    # Then the shop receives both, each with its mode and its own message id
    messages = [m["body"] for m in drain(queue_url)]
    assert [(m["deployment_mode"], m["lines"][0]["supplier_part_id"]) for m in messages] == [
        ("test", "P1"),
        ("production", "P2"),
    ]
    assert messages[0]["message_id"] != messages[1]["message_id"]


def test_an_update_in_production_needs_the_production_order(table, queue_url):
    # Given only a test-mode PO-101
    register(table)
    test_identity: dict[str, Any] = {"identity": builders.BUYER_IDENTITY + "-T", "secret": builders.SECRET + " test"}
    first = builders.order_request("PO-101", [builders.item_out("P1", "1", price="5.00")], mode="test", **test_identity)
    assert status_of(post_order(first)) == 200
    # When production sends an update of PO-101
    update = builders.order_request(
        "PO-101", [builders.item_out("P1", "2", price="5.00")], order_type="update", version=2
    )
    # Then it is refused as an update of an unknown order
    assert status_of(post_order(update)) == 417


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"order_id": "PO-" + "9" * 3000}, "orderID"),
        ({"order_id": "PO-" + "\u00fc" * 300}, "orderID"),  # 303 characters, 603 bytes
        ({"order_type": "update", "version": None, "payload_id": "p" * 1100 + "@buyer"}, "payloadID"),
        ({"order_type": "update", "version": None, "reference": "r" * 1100}, "DocumentReference payloadID"),
    ],
)
def test_an_identifier_too_long_for_a_key_is_400(table, queue_url, changes, name):
    # Given an order whose orderID (or, for a versionless update, payloadID or reference) is thousands of
    # characters long, or fewer characters than the bound but more bytes (keys are bounded in bytes)
    register(table)
    fields = {"order_id": "PO-102", **changes}
    document = builders.order_request(fields.pop("order_id"), [builders.item_out("P1", "1", price="5.00")], **fields)
    # When it is sent
    answer = cxml(post_order(document))
    # Then it is refused with 400 naming the identifier and the bound (not retried as a 5xx), and nothing is queued
    assert answer.status.code == 400
    assert answer.status.message == f"The {name} is longer than 512 bytes"
    assert drain(queue_url) == []


# --- the media type's charset -----------------------------------------------------------------------


def _latin1_without_declaration(document: bytes) -> bytes:
    text = document.decode("utf-8")
    assert text.startswith("<?xml")
    return text[text.index("?>") + 2 :].lstrip().encode("iso-8859-1")


def test_a_text_body_is_utf8_whatever_charset_its_media_type_names(table, queue_url):
    # Given an order without declaration that API Gateway passed as text (not a binary media type):
    # the bytes the function sees are UTF-8 whatever the buyer sent
    register(table)
    comments = [Comments(text="Lieferung an Acme München", lang="de")]
    document = builders.order_request("PO-TEXT", [builders.item_out("P1", "1", price="5.00")], comments=comments)
    text = document.decode("utf-8")
    event = api_event(
        "POST",
        "/cxml/order",
        body=text[text.index("?>") + 2 :].lstrip(),
        headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
    )
    # When it is received
    assert cxml(invoke("OrderRequestFunction", event)).status.code == 200
    # Then the text is read as UTF-8, not as the charset says
    assert drain(queue_url)[0]["body"]["comments"][0]["text"] == "Lieferung an Acme München"


@pytest.mark.parametrize("multipart", [False, True], ids=["text-xml", "multipart"])
def test_a_gzip_compressed_order_is_received_with_its_attachments(table, queue_url, multipart):
    # Given an order a buyer's HTTP client sent gzip-compressed (Content-Encoding: gzip), as multipart/related
    # with a file or as text/xml
    register(table)
    document = builders.order_request("PO-GZIP", [builders.item_out("P1", "2", price="5.00")])
    content_type = "text/xml; charset=UTF-8"
    if multipart:
        boundary = "gz-boundary"
        document = (
            f"--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-ID: <po@buyer>\r\n\r\n".encode()
            + document
            + f"\r\n--{boundary}\r\nContent-Type: application/pdf\r\nContent-ID: <a1@buyer>\r\n\r\n".encode()
            + b"%PDF-1.4 \xe2\xe3"
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f'multipart/related; boundary="{boundary}"; type="text/xml"; start="<po@buyer>"'
    event = api_event(
        "POST",
        "/cxml/order",
        body=gzip.compress(document),
        headers={"Content-Type": content_type, "Content-Encoding": "gzip"},
        binary=True,
    )
    # When it is received
    assert cxml(invoke("OrderRequestFunction", event)).status.code == 200
    # Then the shop gets the order as sent, its file included
    (message,) = drain(queue_url)
    assert message["body"]["order_id"] == "PO-GZIP"
    assert [a["content_id"] for a in message["body"]["attachments"]] == (["a1@buyer"] if multipart else [])


def _gzip_order_with_a_file(size: int) -> dict[str, Any]:
    boundary = "gz-boundary"
    document = (
        f"--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-ID: <po@buyer>\r\n\r\n".encode()
        + builders.order_request(f"PO-GZ-{size}", [builders.item_out("P1", "2", price="5.00")])
        + f"\r\n--{boundary}\r\nContent-Type: application/pdf\r\nContent-ID: <a1@buyer>\r\n\r\n".encode()
        + b"%PDF" + b"\0" * (size - 4)
        + f"\r\n--{boundary}--\r\n".encode()
    )  # fmt: skip
    content_type = f'multipart/related; boundary="{boundary}"; type="text/xml"; start="<po@buyer>"'
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip"}
    return invoke(
        "OrderRequestFunction",
        api_event("POST", "/cxml/order", body=gzip.compress(document), headers=headers, binary=True),
    )


def test_a_compressed_order_whose_file_the_shop_could_not_download_is_400_naming_it(table, queue_url):
    # Given an order sent gzip-compressed (a few kilobytes) with a 4.7 MB file, which unpacked is within the
    # document limit but whose download (base64 in JSON: 6.27 MB) Lambda could never answer (6 MB: a 502 at
    # every try; an uncompressed body that could carry it is over Lambda's request limit already)
    register(table)
    # When it is received
    answer = cxml(_gzip_order_with_a_file(4_700_000))
    # Then it is refused, naming the attachment and the limit
    assert answer.status.code == 400, answer.status
    assert "Attachment 1 of 1" in answer.status.message
    assert "4,700,000 bytes" in answer.status.message


def test_a_compressed_order_with_the_largest_file_the_shop_can_download_is_received(table, queue_url):
    # Given an order sent gzip-compressed with a file whose download just fits Lambda's answer (control)
    register(table)
    # When it is received, Then it is accepted, and the shop downloads the file (``invoke`` checks it fits)
    assert cxml(_gzip_order_with_a_file(4_640_000)).status.code == 200
    (message,) = drain(queue_url)
    headers = shop_key(table)
    download = call("GET", f"/shop/orders/{message['body']['message_id']}/attachments/0", headers=headers)
    assert download["statusCode"] == 200
    assert body_json(download)["size"] == 4_640_000


@pytest.mark.parametrize("multipart", [False, True], ids=["text-xml", "multipart"])
def test_an_order_without_declaration_is_read_in_the_charset_it_was_sent_with(table, queue_url, multipart):
    # Given an ISO-8859-1 order without an XML declaration, the charset named by its media type
    register(table)
    comments = [Comments(text="Lieferung an Acme München", lang="de")]
    document = _latin1_without_declaration(
        builders.order_request("PO-LATIN", [builders.item_out("P1", "1", price="5.00")], comments=comments)
    )
    if multipart:
        body, content_type = builders.multipart_related(document, [], charset="ISO-8859-1")
    else:
        body, content_type = document, "text/xml; charset=ISO-8859-1"
    # When it is sent
    # Then it is accepted and its text comes through
    assert status_of(post_order(body, content_type)) == 200
    assert drain(queue_url)[0]["body"]["comments"][0]["text"] == "Lieferung an Acme München"


# --- claim checks and carts that are gone -------------------------------------------------------------


def test_an_order_whose_header_alone_overflows_the_queue_travels_without_it(table, queue_url):
    # Given a one-line order whose header comment alone is larger than a queue message
    register(table)
    headers = shop_key(table)
    comment = "Delivery instructions. " * 50_000  # ~1.15 MB
    document = builders.order_request(
        "PO-HUGE", [builders.item_out("P1", "1", price="5.00")], comments=[Comments(text=comment)]
    )
    # When it is sent
    assert status_of(post_order(document)) == 200
    # Then the shop gets a claim check that validates, without the comment, and reads it in full from the API
    message = drain(queue_url)[0]["body"]
    assert (message["complete"], message["comments"], message["lines"]) == (False, [], None)
    full = body_json(call("GET", f"/shop/orders/{message['message_id']}", headers=headers))
    assert full["comments"][0]["text"] == comment.strip()


def test_the_queue_limit_counts_bytes_not_characters(table, queue_url):
    # Given an order of 30 lines with long Japanese descriptions (3 bytes a character in UTF-8): its
    # message is under the queue limit in characters, over it in bytes
    register(table)
    headers = shop_key(table)
    text = ("東京都港区の倉庫へ納品。" * 100)[:1000]
    items = []
    for number in range(1, 31):
        item = builders.item_out(f"P{number}", "1", price="1.00", line=number)
        assert item.item_detail is not None
        detail = item.item_detail.model_copy(update={"descriptions": [Description(text=text, lang="ja")]})
        items.append(item.model_copy(update={"item_detail": detail}))
    # When it is sent
    assert status_of(post_order(builders.order_request("PO-JA", items, total="30.00"))) == 200
    # Then it travels as a claim check (drain checks it fits SQS), and the shop reads it whole from the API
    message = drain(queue_url)[0]["body"]
    record = OrderRepository(table).find(message["message_id"])
    assert record is not None
    stored = OrderRepository(table).message(record)
    assert len(stored.decode("utf-8")) < MAX_MESSAGE_BYTES < len(stored)
    assert (message["complete"], message["lines"]) == (False, None)
    full = body_json(call("GET", f"/shop/orders/{message['message_id']}", headers=headers))
    assert [line["description"] for line in full["lines"]] == [text] * 30


@pytest.mark.parametrize("size", [MAX_MESSAGE_BYTES + 1, SQS_MESSAGE_LIMIT], ids=["over-threshold", "at-sqs-limit"])
def test_what_the_queue_gets_fits_sqs_with_its_attributes(queue_url, size):
    # Given a stored message just over the claim-check threshold, or exactly SQS's limit on its own (the
    # message attributes would push it over)
    from punchout.store.queue import OrderQueue, queue_body

    message = {"message_id": "m", "complete": True, "comments": [], "lines": [], "reconciliation": None}
    padding = size - len(json.dumps({**message, "lines": [""]}, separators=(",", ":")))
    full = json.dumps({**message, "lines": ["x" * padding]}, separators=(",", ":")).encode("utf-8")
    assert len(full) == size
    # When it is queued as the order function queues it
    OrderQueue(queue_url).send(queue_body(full), group="g", deduplication_id="d")
    # Then it is a claim check, and it fits SQS together with its message attributes (drain checks)
    [queued] = drain(queue_url, published=False)  # a made-up message, not one of the schema
    assert (queued["body"]["complete"], queued["body"]["lines"]) == (False, None)


def _stored_message(size: int, **fields: Any) -> bytes:
    """A stored order message of exactly ``size`` bytes (compact JSON), padded in its one line."""
    message = {"message_id": "m", "complete": True, **fields, "lines": [""], "reconciliation": {"lines": []}}
    padding = size - len(json.dumps(message, separators=(",", ":")))
    full = json.dumps({**message, "lines": ["x" * padding]}, separators=(",", ":")).encode("utf-8")
    assert len(full) == size
    return full


def test_a_message_of_exactly_the_queue_threshold_travels_whole():
    from punchout.store.queue import queue_body

    # Given a stored message of exactly the claim-check threshold
    full = _stored_message(MAX_MESSAGE_BYTES)
    # When it is queued, Then it travels whole, not as a claim check the shop must fetch
    assert queue_body(full) == full.decode("utf-8")


def test_a_large_order_is_not_escaped_whole_to_be_measured_for_the_queue(monkeypatch):
    import punchout.store.queue
    from punchout.store.queue import queue_body, sqs_json

    # Given a stored message of 5 MB, 25 times the queue's threshold (a 5,000-line order)
    full = _stored_message(5_000_000)
    escaped: list[int] = []

    def counted(body: str) -> str:
        escaped.append(len(body))
        return sqs_json(body)

    monkeypatch.setattr(punchout.store.queue, "sqs_json", counted)
    # When it is queued
    body = json.loads(queue_body(full))
    # Then it is a claim check, and only bodies that could fit were escaped (UTF-8 never shrinks when escaped):
    # the whole order escaped to be measured cost 50 ms more at every order intake
    assert (body["complete"], body["lines"]) == (False, None)
    assert max(escaped) <= MAX_MESSAGE_BYTES, escaped


@pytest.mark.parametrize(
    "taken",
    ["\t", "\n", "\r", " ", "\ud7ff", "\ue000", "\ufffd", "\U00010000", "\U0010ffff"],
    ids=["tab", "line feed", "carriage return", "space", "U+D7FF", "U+E000", "U+FFFD", "U+10000", "U+10FFFF"],
)
def test_a_character_sqs_takes_is_queued_as_it_is(taken):
    from punchout.store.queue import sqs_json

    # Given a message holding a character at an edge of what SQS takes (XML's Char production): in a string,
    # or, for tab, line feed and carriage return, as whitespace between JSON's tokens (in a string, escaped)
    body = '{"text":' + (f'{taken}"ab"' if taken in "\t\n\r" else f'"a{taken}b"') + "}"
    assert json.loads(body)
    # When it is made ready for the queue, Then it is unchanged
    assert sqs_json(body) == body


@pytest.mark.parametrize(
    "refused",
    ["\x00", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"],
    ids=["U+0000", "U+001F", "U+D800", "U+DFFF", "U+FFFE", "U+FFFF"],
)
def test_a_character_sqs_refuses_is_queued_as_a_json_escape_of_the_same_text(refused):
    from punchout.store.queue import sqs_json

    # Given a message holding, raw, a character SQS refuses
    body = '{"text":"a' + refused + 'b"}'
    # When it is made ready for the queue
    queued = sqs_json(body)
    # Then it is written as its JSON escape, and the shop reads the same text
    assert queued == '{"text":"a\\u' + f"{ord(refused):04x}" + 'b"}'
    assert json.loads(queued) == {"text": f"a{refused}b"}


def test_a_message_that_fits_the_queue_only_unescaped_travels_as_a_claim_check():
    from punchout.store.queue import queue_body

    # Given a stored message of exactly the queue's threshold whose line holds one U+FFFF (three bytes, six
    # escaped for SQS) and ten "é" (two bytes, one character)
    full = _stored_message(MAX_MESSAGE_BYTES)
    full = full.replace(b"x" * 23, "\uffff".encode() + "é".encode() * 10, 1)
    assert len(full) == MAX_MESSAGE_BYTES
    # When it is queued
    body = queue_body(full)
    # Then it is a claim check: whole, it would be three bytes over the threshold as sent
    assert (json.loads(body)["complete"], json.loads(body)["lines"]) == (False, None)
    assert len(body.encode("utf-8")) <= MAX_MESSAGE_BYTES


def test_an_order_whose_smallest_claim_check_is_exactly_the_queue_threshold_is_accepted(table, queue_url, monkeypatch):
    import order_request.service
    import punchout.store.queue
    from order_request.service import check_queueable
    from punchout.cxml.errors import InvalidDocument
    from punchout.orders import OrderMessage
    from punchout.store.queue import queue_body

    # Given an accepted order's message, and its smallest claim check (without its lines and every cut) as
    # sent: in UTF-8, escaped where the partner's name (the supplier's registry, not XML) holds U+FFFF (six bytes)
    register(table)
    assert status_of(post_order(builders.order_request("PO-EDGE", [builders.item_out("P1", "1", price="5.00")]))) == 200
    [queued] = drain(queue_url)
    message = OrderMessage.model_validate(queued["body"])
    message = message.model_copy(update={"partner": message.partner.model_copy(update={"name": "Acme Büro \uffff"})})
    monkeypatch.setattr(punchout.store.queue, "MAX_MESSAGE_BYTES", 0)  # queue_body cuts all it can
    smallest = len(queue_body(message.model_dump_json(by_alias=True).encode("utf-8")).encode("utf-8"))
    # When the queue's threshold is exactly that size, Then the order is queueable
    monkeypatch.setattr(order_request.service, "MAX_MESSAGE_BYTES", smallest)
    check_queueable(message)
    # And when it is one byte less, it is refused
    monkeypatch.setattr(order_request.service, "MAX_MESSAGE_BYTES", smallest - 1)
    with pytest.raises(InvalidDocument):
        check_queueable(message)


def test_a_claim_check_keeps_the_header_when_leaving_out_the_lines_is_enough():
    from punchout.store.queue import queue_body

    # Given a stored message over the threshold by its lines alone, with comments and addresses
    header = {"comments": [{"text": "Leave at reception"}], "contacts": [{"name": "Ann"}], "ship_to": {"name": "HQ"}}
    full = _stored_message(MAX_MESSAGE_BYTES + 1, **header)
    # When it is queued
    body = json.loads(queue_body(full))
    # Then the claim check leaves out the lines, and keeps the header the shop needs no second call for
    assert (body["complete"], body["lines"], body["reconciliation"]) == (False, None, None)
    assert {name: body[name] for name in header} == header


def test_an_order_as_large_as_one_answer_is_answered_whole_and_a_line_as_large_as_a_page_is_readable(monkeypatch):
    import order_request.service
    from order_request.service import check_readable, shop_body
    from punchout.http import carried_size

    # Given an order message exactly as large as Lambda's answer (here), whose one line is exactly a page
    full = _stored_message(3_000)
    [line] = json.loads(full)["lines"]
    monkeypatch.setattr(order_request.service, "MAX_RESPONSE_BYTES", carried_size(full.decode("utf-8")))
    monkeypatch.setattr(order_request.service, "_PAGE_BYTES", carried_size(json.dumps(line)))
    # When the shop reads it, Then it gets it whole
    assert shop_body(full) == full.decode("utf-8")
    # And when an answer holds one byte less, the order is still readable: its line fits a page
    monkeypatch.setattr(order_request.service, "MAX_RESPONSE_BYTES", carried_size(full.decode("utf-8")) - 1)
    assert json.loads(shop_body(full))["complete"] is False
    check_readable(full)


def test_an_order_for_a_cart_whose_lines_are_gone_is_accepted_with_its_lines_unmatched(table, queue_url):
    # Given a returned cart whose line items DynamoDB's TTL already deleted (the header goes separately)

    register(table)
    headers = shop_key(table)
    _, ref = _transferred_cart(table, headers)
    for item in list(table.query(f"CART#{ref}", "LINES#")):
        table.client.delete_item(TableName=table.name, Key={"pk": item["pk"], "sk": item["sk"]})
    # When an order for that cart arrives
    order = builders.order_request("PO-GONE", [builders.item_out("A", "1", auxiliary=f"{ref}-1", price="10.00")])
    # Then it is accepted (not a 500 the buyer would retry forever), its line unmatched to any cart
    assert status_of(post_order(order)) == 200
    message = drain(queue_url)[0]["body"]
    assert message["reconciliation"]["from_punchout"] is False


# --- multipart bodies that cost before authentication ------------------------------------------------


def _nested(depth: int) -> tuple[bytes, str]:
    body = b"<cXML/>"
    for level in range(depth):
        boundary = f"b{level}"
        body = (
            f'--{boundary}\r\nContent-Type: multipart/related; boundary="b{level - 1}"\r\n\r\n'.encode() + body
            if level
            else f"--{boundary}\r\nContent-Type: text/xml\r\n\r\n".encode() + body
        ) + f"\r\n--{boundary}--\r\n".encode()
    return body, f'multipart/related; boundary="b{depth - 1}"'


@pytest.mark.parametrize(
    "body",
    [
        (b"--B\r\n\r\nx\r\n" * 40_000 + b"--B--\r\n", 'multipart/related; boundary="B"'),
        _nested(1_500),
    ],
    ids=["40,000 parts", "nested 1,500 deep"],
)
def test_a_costly_multipart_body_is_refused_with_406_before_it_is_parsed(table, queue_url, body):
    # Given no credentials at all, and a multipart body built to cost time or stack
    register(table)
    data, content_type = body
    # When it is sent to the order URL
    answer = cxml(post_order(data, content_type))
    # Then it is refused at once as unusable (406, not a 500 the buyer would retry)
    assert answer.status.code == 406, answer.status


def test_a_multipart_body_at_the_setup_url_is_refused(table):
    # Given a setup request sent as multipart/related (attachments come with orders only)
    register(table)
    body, content_type = builders.multipart_related(builders.setup_request(), [])
    # When it is sent, Then it is refused with 406
    answer = cxml(call("POST", "/cxml/setup", body, {"Content-Type": content_type}, binary=True))
    assert answer.status.code == 406
    assert "order URL only" in answer.status.message


def test_a_cart_line_whose_part_id_has_surrounding_whitespace_is_matched_when_ordered(table, queue_url):
    # Given a transferred cart whose part id ends in a space (the shop API takes it), posted to the buyer
    partner = register(table)
    headers = shop_key(table)
    session_id, _ = open_session()
    cart = {"lines": [{"supplier_part_id": "P1 ", "quantity": "1", "unit_price": "2.00", "description": "One"}]}
    assert call("PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart), headers)["statusCode"] == 200
    transfer = call("POST", f"/shop/sessions/{session_id}/transfer", "", headers)
    page = call("GET", "/punchout/return/" + body_json(transfer)["return_url"].rsplit("/", 1)[1])
    [item] = message_tree(ReturnPage.of(page).document(partner)).xpath("//ItemIn")
    assert item.xpath("string(ItemID/SupplierPartID)") == "P1 "
    # When the buyer orders that line back unchanged, as it received it
    ordered = builders.item_out(
        "P1 ", "1", auxiliary=item.xpath("string(ItemID/SupplierPartAuxiliaryID)"), price="2.00", line=1
    )
    assert status_of(post_order(builders.order_request("PO-WS", [ordered]))) == 200
    # Then the shop learns the line is the cart's, unchanged (not an unknown line beside a removed one)
    (queued,) = drain(queue_url)
    statuses = [line["status"] for line in queued["body"]["reconciliation"]["lines"]]
    assert statuses == ["unchanged"]


@pytest.mark.parametrize("browser", ["fetch", "form", "origin-only", "fetch-metadata-only"])
def test_an_order_a_web_page_makes_a_browser_send_is_refused_and_never_queued(table, queue_url, browser):
    from tests.unit.gateway.helpers import table_items
    from tests.unit.gateway.test_authentication import BROWSER_HEADERS, INSIDE, _network_partner

    # Given a partner authenticated by its network alone, and a browser inside that network
    _network_partner(table, with_secret=False)
    document = builders.order_request("PO-BROWSER", [builders.item_out("P1", "1000")], secret=None)
    # When a web page makes the browser post an order (fetch in mode no-cors, or a text/plain form)
    headers = {"Content-Type": "text/plain;charset=UTF-8", **BROWSER_HEADERS[browser]}
    event = api_event("POST", "/cxml/order", body=document, headers=headers, source_ip=INSIDE[0])
    # Then it is refused, and nothing is stored or queued
    assert status_of(invoke("OrderRequestFunction", event)) == 403
    assert drain(queue_url) == []
    assert not [item for item in table_items(table) if item["pk"]["S"].startswith("ORDER")]
    # (the buyer's server, sending the same order without a browser's headers, is accepted)
    event = api_event("POST", "/cxml/order", body=document, headers={"Content-Type": "text/xml"}, source_ip=INSIDE[0])
    assert status_of(invoke("OrderRequestFunction", event)) == 200
    assert len(drain(queue_url)) == 1
