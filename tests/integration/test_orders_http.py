"""OrderRequest intake over HTTP against DynamoDB Local and the local SQS FIFO queue (issue 4).

The buyer's side is HTTP only (`POST /cxml/order`), the shop's side is the queue and
`GET /shop/orders/{message_id}` (and its attachments), the partner and the shop's key come from the `punchout` CLI.

The concurrency test needs concurrent handlers, which one local gateway never runs (one invocation
per function at a time, like one Lambda execution environment): `environments` adds gateway
processes against the same DynamoDB Local and queue, and the deliveries are spread over them, as
API Gateway spreads concurrent requests over execution environments.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from punchout.cxml.models import Comments
from punchout.orders import OrderKey
from punchout.store.orders import OrderRepository
from punchout.store.queue import MAX_MESSAGE_BYTES
from tests.integration.helpers import (
    CXML,
    Answer,
    Buyer,
    Queue,
    Raced,
    at_once,
    create_api_key,
    cxml_answer,
    items_of,
    order,
    payload_id,
    post_cxml,
    register_buyer,
    request,
    warmed,
)
from tests.integration.helpers import environments as concurrent_environments
from tests.support import builders
from tests.support.contract import assert_published_message
from tests.support.dynamodb import ITEM_BYTES as DYNAMODB_ITEM_LIMIT
from tests.support.sqs import SQS_MESSAGE_LIMIT
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration

ENVIRONMENTS = 5  # the stack's own gateway and four more processes
DELIVERIES = 20


@pytest.fixture(scope="module")
def buyer(stack: StackProcess) -> Buyer:
    return register_buyer(stack, "orders-http")


@pytest.fixture(scope="module")
def shop_headers(stack: StackProcess) -> dict[str, str]:
    return create_api_key(stack, "orders test shop")


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, roughly: attribute names plus values."""
    size = 0
    for name, value in item.items():
        (kind, content), *_ = value.items()
        size += len(name) + (len(content) if kind == "B" else len(str(content).encode("utf-8")))
    return size


def post_order(stack: StackProcess, document: bytes, content_type: str = CXML) -> Answer:
    return post_cxml(f"{stack.base_url}/cxml/order", document, content_type)


# --- concurrency ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def environments(stack: StackProcess, buyer: Buyer) -> Iterator[list[str]]:
    """Base URLs of ENVIRONMENTS gateways sharing the stack's DynamoDB Local and queue, each one warm."""
    with concurrent_environments(stack, "orders", ENVIRONMENTS) as urls:
        warmed(urls, "/cxml/order", buyer)
        yield urls


def deliver_at_once(urls: list[str], document: bytes, count: int) -> list[Raced]:
    """`count` POSTs of `document`, spread over `urls`, released together once every connection is open."""
    headers = {"Content-Type": CXML}
    return at_once([("POST", f"{urls[number % len(urls)]}/cxml/order", document, headers) for number in range(count)])


def most_in_flight(deliveries: list[Raced]) -> int:
    """The most requests that were sent and not yet answered at one moment."""
    moments = sorted([(d.started, 1) for d in deliveries] + [(d.finished, -1) for d in deliveries])
    in_flight = most = 0
    for _, change in moments:
        in_flight += change
        most = max(most, in_flight)
    return most


def test_twenty_concurrent_deliveries_of_one_order_queue_exactly_one_message(
    stack: StackProcess, buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository
) -> None:
    # Given one OrderRequest
    document = order(buyer, "PO-RACE-1", ("P1", "2"), ("P2", "1"))

    # When twenty deliveries of it arrive at once, spread over five execution environments
    deliveries = deliver_at_once(environments, document, DELIVERIES)

    # Then they were concurrent: requests to several environments were in flight at once
    assert len({d.url for d in deliveries}) == ENVIRONMENTS
    assert most_in_flight(deliveries) >= 2, [(d.started, d.finished) for d in deliveries]
    # And every delivery is answered 200 — no retryable 5xx either: the deliveries that lose the race
    # to create the order record find it, and wait (ORDER_DISPATCH_WAIT_SECONDS, 8 s) for the one
    # holding the dispatch lease to queue the message, which takes milliseconds here
    codes = Counter(cxml_answer(d.answer).status.code for d in deliveries)
    assert codes == {200: DELIVERIES}, [d.answer.body[:600] for d in deliveries if d.answer.status != 200]
    # And the FIFO queue holds exactly one message for the shop
    messages = queue.drain()
    assert [m["body"]["order_id"] for m in messages] == ["PO-RACE-1"]
    # And one record was stored, holding the only payloads kept: the losers' were deleted
    key = OrderKey(partner_id=buyer.partner_id, order_id="PO-RACE-1", type="new", version="1")
    record = orders.get(key)
    assert record is not None and record.status == "queued"
    assert record.message_id == messages[0]["body"]["message_id"]
    items = items_of(orders, f"ORDER#{buyer.partner_id}#PO-RACE-1")
    blobs = {item["sk"]["S"].split("#")[1] for item in items if item["sk"]["S"].startswith("BLOB#")}
    assert blobs == {record.blob_id}
    assert [item["sk"]["S"] for item in items if item["sk"]["S"].startswith("VERSION#")] == ["VERSION#new#1"]


# --- idempotency and ordering ---------------------------------------------------------------------


def test_new_update_and_delete_arrive_in_version_order_in_one_message_group(
    stack: StackProcess, buyer: Buyer, queue: Queue
) -> None:
    # Given an order, then an update and a delete of it, each pointing at the version before
    new = order(buyer, "PO-SEQ-1", ("P1", "1"), ("P2", "1"))
    update = order(
        buyer, "PO-SEQ-1", ("P1", "3"), order_type="update", version=2, reference=payload_id(new), total="30.00"
    )
    delete = order(
        buyer, "PO-SEQ-1", ("P1", "3"), order_type="delete", version=3, reference=payload_id(update), total="30.00"
    )

    # When the buyer sends them in turn
    codes = [cxml_answer(post_order(stack, document)).status.code for document in (new, update, delete)]

    # Then each is accepted, and the shop receives them in version order, in one message group
    assert codes == [200, 200, 200]
    messages = queue.drain()
    assert [(m["body"]["type"], m["body"]["order_version"]) for m in messages] == [
        ("new", 1),
        ("update", 2),
        ("delete", 3),
    ]
    groups = {m["attributes"]["MessageGroupId"] for m in messages}
    assert len(groups) == 1
    (group,) = groups
    # the partner's production group for this order: not the partner's alone, which every order would share
    assert group.startswith(f"{buyer.partner_id}:") and not group.startswith(f"{buyer.partner_id}:test:"), group
    assert len(group) <= 128
    assert [m["body"]["document_reference"] for m in messages] == [None, payload_id(new), payload_id(update)]
    # and each change names the message it follows, resolved by the gateway from that reference
    ids = [m["body"]["message_id"] for m in messages]
    assert [m["body"]["follows_message_id"] for m in messages] == [None, ids[0], ids[1]]
    # deduplicated by the idempotency key (partner + order + type + version), which is the message id
    assert [m["attributes"]["MessageDeduplicationId"] for m in messages] == [m["body"]["message_id"] for m in messages]
    assert [m["message_attributes"]["schema"]["StringValue"] for m in messages] == ["punchout.order.v1"] * 3


def test_the_same_document_again_is_200_without_a_second_message(
    stack: StackProcess, buyer: Buyer, queue: Queue
) -> None:
    document = order(buyer, "PO-AGAIN-1", ("P1", "1"))

    first, second = (post_order(stack, document) for _ in range(2))

    assert (cxml_answer(first).status.code, cxml_answer(second).status.code) == (200, 200)
    assert len(queue.drain()) == 1


def test_the_same_order_version_with_other_content_is_409(stack: StackProcess, buyer: Buyer, queue: Queue) -> None:
    # Given an accepted order
    assert cxml_answer(post_order(stack, order(buyer, "PO-CONFLICT-1", ("P1", "1")))).status.code == 200

    # When the same partner + orderID + type + version arrives with another quantity
    answer = post_order(stack, order(buyer, "PO-CONFLICT-1", ("P1", "9")))

    # Then it is refused with 409, in the cXML body and the HTTP status, and the shop got only the first
    assert cxml_answer(answer).status.code == 409
    assert answer.status == 409
    assert [m["body"]["lines"][0]["quantity"] for m in queue.drain()] == ["1"]


@pytest.mark.parametrize("order_type", ["update", "delete"])
def test_a_change_of_an_order_never_received_is_417(
    stack: StackProcess, buyer: Buyer, queue: Queue, order_type: str
) -> None:
    # When an update or delete arrives for an order that was never received
    document = order(
        buyer, f"PO-UNKNOWN-{order_type}", ("P1", "1"), order_type=order_type, version=2, reference="1.2.3@buyer"
    )
    answer = post_order(stack, document)

    # Then it is refused with 417 (a referenced document is unknown), and nothing reaches the shop
    assert cxml_answer(answer).status.code == 417
    assert answer.status == 417
    assert queue.drain() == []


# --- size -----------------------------------------------------------------------------------------

LARGE_LINES = 5000


def test_a_5000_line_order_is_accepted_queued_as_a_claim_check_and_fetched_whole(
    stack: StackProcess, buyer: Buyer, queue: Queue, orders: OrderRepository, shop_headers: dict[str, str]
) -> None:
    # One test, not one per aspect: pytest-xdist would build a shared module fixture once per worker.
    # Given an OrderRequest of 5,000 lines, each with a delivery note: megabytes of XML, far over
    # DynamoDB's item limit, and a message over the 6 MB Lambda can answer
    note = Comments(text=" ".join(['Deliver to "Dock 4", gate B; call "Ann" on arrival.'] * 4))
    items = [
        builders.item_out(
            f"SKU-{n:06d}-{secrets.token_hex(4)}", str(1 + n % 7), price=f"{n % 997 + 0.99:.2f}", line=n
        ).model_copy(update={"comments": note})
        for n in range(1, LARGE_LINES + 1)
    ]
    document = builders.order_request("PO-LARGE-1", items, total="1234567.89", **buyer.credentials)
    assert len(document) > 1024 * 1024

    # When the buyer sends it
    started = time.monotonic()
    answer = post_order(stack, document)
    print(f"\n5,000-line OrderRequest: {len(document):,} bytes answered in {time.monotonic() - started:.1f} s")

    # Then it is accepted
    assert cxml_answer(answer).status.code == 200
    # And stored in compressed chunk items, each well below 400 KB (DynamoDB Local refuses larger ones)
    sizes = {item["sk"]["S"]: item_size(item) for item in items_of(orders, f"ORDER#{buyer.partner_id}#PO-LARGE-1")}
    assert max(sizes.values()) < DYNAMODB_ITEM_LIMIT, sizes
    assert any("#MESSAGE#" in sk for sk in sizes) and any("#RAW#" in sk for sk in sizes), sorted(sizes)
    # And the shop gets one message below the queue's limit: the order without its lines (a claim check)
    (message,) = queue.drain()
    assert len(message["raw"].encode("utf-8")) <= min(MAX_MESSAGE_BYTES, SQS_MESSAGE_LIMIT)
    claim = message["body"]
    assert (claim["complete"], claim["lines"], claim["reconciliation"]) == (False, None, None)
    assert claim["line_count"] == LARGE_LINES

    # When the shop asks for the order with its API key, and with a wrong one, then for its pages
    order_url = f"{stack.base_url}/shop/orders/{claim['message_id']}"
    header = request("GET", order_url, headers=shop_headers)
    refused = request("GET", order_url, headers={"x-api-key": "pk_wrong"})
    answers = [request("GET", f"{order_url}/pages/1", headers=shop_headers)]
    while len(answers) < answers[0].json()["pages"]:
        answers.append(request("GET", f"{order_url}/pages/{len(answers) + 1}", headers=shop_headers))

    # Then the order is too large for one answer: it comes as the claim check does, and its lines
    # come in pages (each one an answer the local gateway, like Lambda, lets through: below 6 MB)
    assert header.status == 200, header.body[:500]
    assert header.json() == claim
    assert len(answers) > 1
    assert all(answer.status == 200 for answer in answers), [answer.body[:300] for answer in answers]
    pages = [answer.json() for answer in answers]
    lines = [line for page in pages for line in page["lines"]]
    reconciled = [line for page in pages for line in page["reconciliation"]["lines"]]
    # And together they make a complete message valid against the published schema
    order_message = {
        **claim,
        "complete": True,
        "lines": lines,
        "reconciliation": {**pages[0]["reconciliation"], "lines": reconciled},
    }
    assert_published_message(order_message)
    assert [line["line_number"] for line in lines] == list(range(1, LARGE_LINES + 1))
    assert {line["comments"]["text"] for line in lines} == {note.text}
    assert [line["status"] for line in reconciled] == ["unmatched"] * LARGE_LINES
    # And without a valid key nothing: API Gateway's key check (403) where the API requires keys, else
    # the function's (401)
    assert refused.status in (401, 403), refused.status
    assert b"PO-LARGE-1" not in refused.body


# --- attachments ----------------------------------------------------------------------------------

ATTACHMENT = bytes(range(256)) * 64 + b"\r\n--not-a-boundary\r\n\n\r"  # binary, with line ends and dashes


def ruby_form_data(document: bytes, filename: str, data: bytes) -> tuple[bytes, str]:
    """The body and Content-Type Ruby's Net::HTTP writes with ``set_form([["cxml", xml], ["drawing", file,
    {filename:, content_type:}]], "multipart/form-data")``, as captured: the document in a part without a
    Content-Type (set_form drops it for a string), the file in a part without a Content-ID."""
    boundary = "UulzqidNpURbqMumAHSJpJWHPnubMuNYjCwLn_fQ34EErrXzHrPagw"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="cxml"\r\n\r\n'.encode()
        + document
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="drawing"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_order_posted_as_ruby_multipart_form_data_keeps_its_attachments_bytes(
    stack: StackProcess, buyer: Buyer, queue: Queue, orders: OrderRepository
) -> None:
    # Given an OrderRequest with a binary file, posted as a form upload (multipart/form-data, what Ruby's
    # Net::HTTP, and most HTTP libraries, write for files) rather than cXML's multipart/related
    document = order(buyer, "PO-FORM-DATA", ("P1", "1"))
    body, content_type = ruby_form_data(document, "drawing.pdf", ATTACHMENT)
    # When the buyer posts it
    answer = post_order(stack, body, content_type)
    # Then it is accepted, and the stored attachment is the very bytes that were sent (a form part has no
    # Content-ID: the shop finds it by its position and file name)
    assert cxml_answer(answer).status.code == 200
    (message,) = queue.drain()
    assert message["body"]["attachments"] == [
        {"content_id": "", "content_type": "application/pdf", "filename": "drawing.pdf", "size": len(ATTACHMENT)}
    ]
    record = orders.find(message["body"]["message_id"])
    assert record is not None
    assert orders.attachment(record, 0) == ATTACHMENT


@pytest.mark.parametrize("transfer_encoding", ["binary", "base64"])
def test_a_multipart_order_with_a_cid_attachment_is_accepted_and_the_attachment_kept(
    stack: StackProcess,
    buyer: Buyer,
    queue: Queue,
    orders: OrderRepository,
    shop_headers: dict[str, str],
    transfer_encoding: str,
) -> None:
    # Given an OrderRequest whose Comments reference an attachment sent beside it as a MIME part
    cid = f"drawing-{transfer_encoding}@buyer.example"
    document = order(
        buyer,
        f"PO-MIME-{transfer_encoding}",
        ("P1", "1"),
        comments=[Comments(text="See the drawing", lang="en", attachments=[f"cid:{cid}"])],
    )
    body, content_type = builders.multipart_related(
        document, [(cid, "application/pdf", "drawing.pdf", ATTACHMENT, transfer_encoding)]
    )

    # When the buyer posts it as multipart/related
    answer = post_order(stack, body, content_type)

    # Then it is accepted
    assert cxml_answer(answer).status.code == 200
    # And the shop's message lists the attachment and the comment that references it
    (message,) = queue.drain()
    expected = {
        "content_id": cid,
        "content_type": "application/pdf",
        "filename": "drawing.pdf",
        "size": len(ATTACHMENT),
    }
    assert message["body"]["attachments"] == [expected]
    assert message["body"]["comments"][0]["attachments"] == [f"cid:{cid}"]
    # And the stored attachment is the very bytes that were sent
    record = orders.find(message["body"]["message_id"])
    assert record is not None
    assert orders.attachment(record, 0) == ATTACHMENT
    # And the stored raw document is the cXML part, not the whole multipart body, without the secret
    raw = orders.raw(record)
    assert raw.lstrip().startswith(b"<?xml") and b"cid:" + cid.encode() in raw
    assert buyer.secret.encode() not in raw and b"<SharedSecret>[redacted]</SharedSecret>" in raw
    orders_url = f"{stack.base_url}/shop/orders/{message['body']['message_id']}"
    full = request("GET", orders_url, headers=shop_headers)
    assert full.json()["attachments"] == [expected]
    # And the shop downloads it through its API: the very bytes, base64 in JSON; there is no second one
    fetched = request("GET", f"{orders_url}/attachments/0", headers=shop_headers)
    assert fetched.status == 200, fetched.body
    assert fetched.json() == {**expected, "content_base64": base64.b64encode(ATTACHMENT).decode("ascii")}
    assert request("GET", f"{orders_url}/attachments/1", headers=shop_headers).status == 404
