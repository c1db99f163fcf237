"""OrderRequest intake under concurrent deliveries of different documents, over HTTP against DynamoDB
Local and the local SQS FIFO queue.

As in test_sessions_concurrency_http.py, the requests are spread over ENVIRONMENTS gateway processes
sharing the stack's DynamoDB Local and queue (one local gateway runs one invocation at a time, as one
Lambda execution environment does) and released together once every connection is open. Twenty
deliveries of one identical new order are test_orders_http.py's; these race versions of one order
against each other, different contents of one order key, and the shop's reads against deliveries.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from punchout.orders import OrderKey
from punchout.store.orders import OrderRepository
from tests.integration.helpers import (
    CXML,
    Buyer,
    Queue,
    at_once,
    connection,
    create_api_key,
    cxml_answer,
    items_of,
    order,
    payload_id,
    post_cxml,
    register_buyer,
    send,
    warmed,
)
from tests.integration.helpers import environments as concurrent_environments
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration

ENVIRONMENTS = 5  # the stack's own gateway and four more processes
COPIES = 3  # deliveries of each document in one race
RETRY_FOR = 20.0  # seconds a delivery answered 417 keeps being resent, as a buyer's retry would
LARGE = 1500  # lines of a version whose message is a claim check: it takes a while to be sent
ROUNDS = 3  # races of versions per test: the window between storing a version and queueing it is short


@pytest.fixture(scope="module")
def buyer(stack: StackProcess) -> Buyer:
    return register_buyer(stack, "orders-race")


@pytest.fixture(scope="module")
def shop_headers(stack: StackProcess) -> dict[str, str]:
    return create_api_key(stack, "orders race shop")


@pytest.fixture(scope="module")
def environments(stack: StackProcess, buyer: Buyer) -> Iterator[list[str]]:
    """Base URLs of ENVIRONMENTS gateways sharing the stack's DynamoDB Local and queue, each one warm."""
    with concurrent_environments(stack, "orders-race", ENVIRONMENTS) as urls:
        warmed(urls, "/cxml/order", buyer)
        yield urls


# --- racing deliveries ----------------------------------------------------------------------------


@dataclass
class Delivery:
    """One buyer's delivery of a document: its answers' cXML codes, in turn (417s resent when asked)."""

    name: str
    document: bytes
    resend_417: bool = False
    codes: list[int] = field(default_factory=list)


def race(urls: list[str], deliveries: list[Delivery]) -> list[Delivery]:
    """Every delivery on its own connection to one of ``urls`` in turn, all released together; one that
    is answered 417 is sent again (when ``resend_417``) until it is answered otherwise."""
    barrier = threading.Barrier(len(deliveries))

    def run(numbered: tuple[int, Delivery]) -> Delivery:
        number, delivery = numbered
        url = f"{urls[number % len(urls)]}/cxml/order"
        conn = connection(url)
        try:
            conn.connect()
            barrier.wait(timeout=60)
            deadline = time.monotonic() + RETRY_FOR
            while True:
                answer = send(conn, "POST", url, delivery.document, {"Content-Type": CXML})
                delivery.codes.append(cxml_answer(answer).status.code)
                assert answer.status == delivery.codes[-1] or delivery.codes[-1] >= 500, answer.status
                if not (delivery.resend_417 and delivery.codes[-1] == 417 and time.monotonic() < deadline):
                    return delivery
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        return list(pool.map(run, enumerate(deliveries)))


def copies(name: str, document: bytes, *, resend_417: bool = False) -> list[Delivery]:
    return [Delivery(name, document, resend_417) for _ in range(COPIES)]


def interleaved(*groups: list[Delivery]) -> list[Delivery]:
    """The groups' deliveries alternating, so that each document goes to several environments."""
    return [delivery for row in zip(*groups, strict=True) for delivery in row]


def assert_stored_once(orders: OrderRepository, buyer: Buyer, order_id: str, versions: list[tuple[str, str]]) -> None:
    """Each version has one record, queued, and the order's partition holds the payloads of those
    records only: every losing attempt deleted its own."""
    records = []
    for order_type, version in versions:
        key = OrderKey(partner_id=buyer.partner_id, order_id=order_id, type=order_type, version=version)
        record = orders.get(key)
        assert record is not None and record.status == "queued", (order_type, version, record)
        records.append(record)
    items = items_of(orders, f"ORDER#{buyer.partner_id}#{order_id}")
    stored = sorted(item["sk"]["S"] for item in items if item["sk"]["S"].startswith("VERSION#"))
    assert stored == sorted(f"VERSION#{order_type}#{version}" for order_type, version in versions)
    blobs = {item["sk"]["S"].split("#")[1] for item in items if item["sk"]["S"].startswith("BLOB#")}
    assert blobs == {record.blob_id for record in records}


def large_lines(count: int) -> list[tuple[str, str]]:
    return [(f"P{n:05d}", str(1 + n % 5)) for n in range(count)]


# --- versions of one order racing each other ------------------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("second_type", ["delete", "update"])
def test_versions_2_and_3_delivered_at_once_are_queued_once_each_in_version_order(
    buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository, second_type: str, round_: int
) -> None:
    # Given an accepted order, and its version 2 (an update, large: it takes a while to queue) and a
    # version 3 (a delete or a second update) referring to version 2
    order_id = f"PO-RACE-V23-{second_type}-{round_}"
    new = order(buyer, order_id, ("P1", "1"))
    assert cxml_answer(post_cxml(f"{environments[0]}/cxml/order", new)).status.code == 200
    queue.drain()
    v2 = order(buyer, order_id, *large_lines(LARGE), order_type="update", version=2, reference=payload_id(new))
    v3 = order(buyer, order_id, ("P1", "2"), order_type=second_type, version=3, reference=payload_id(v2))

    # When several deliveries of each arrive at once over five environments, version 3's resent while
    # it is answered 417 (version 2 is not received yet)
    raced = race(environments, interleaved(copies("v2", v2), copies("v3", v3, resend_417=True)))

    # Then version 2 is accepted at once, and version 3 once version 2 is received: 417 before
    assert {code for d in raced if d.name == "v2" for code in d.codes} == {200}, [d.codes for d in raced]
    for delivery in (d for d in raced if d.name == "v3"):
        assert delivery.codes[-1] == 200 and set(delivery.codes[:-1]) <= {417}, delivery.codes
    # And the shop gets one message of each, version 2 first, in the order's message group
    messages = queue.drain()
    assert [(m["body"]["type"], m["body"]["order_version"]) for m in messages] == [
        ("update", 2),
        (second_type, 3),
    ]
    assert len({m["attributes"]["MessageGroupId"] for m in messages}) == 1
    assert messages[1]["body"]["follows_message_id"] == messages[0]["body"]["message_id"]
    # And each version was stored once, and is queued, without orphaned payloads
    assert_stored_once(orders, buyer, order_id, [("new", "1"), ("update", "2"), (second_type, "3")])


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_new_order_and_its_update_delivered_at_once_are_queued_new_first(
    buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository, round_: int
) -> None:
    # Given a new order (large: it takes a while to queue) and its update referring to it
    order_id = f"PO-RACE-NEW-UPDATE-{round_}"
    new = order(buyer, order_id, *large_lines(LARGE))
    update = order(buyer, order_id, ("P1", "2"), order_type="update", version=2, reference=payload_id(new))

    # When several deliveries of each arrive at once, the update's resent while it is answered 417
    raced = race(environments, interleaved(copies("new", new), copies("update", update, resend_417=True)))

    # Then the new order is accepted, and the update once the order is received: 417 before
    assert {code for d in raced if d.name == "new" for code in d.codes} == {200}, [d.codes for d in raced]
    for delivery in (d for d in raced if d.name == "update"):
        assert delivery.codes[-1] == 200 and set(delivery.codes[:-1]) <= {417}, delivery.codes
    # And the shop gets the new order, then its update, once each
    messages = queue.drain()
    assert [(m["body"]["type"], m["body"]["order_version"]) for m in messages] == [("new", 1), ("update", 2)]
    assert messages[1]["body"]["follows_message_id"] == messages[0]["body"]["message_id"]
    assert_stored_once(orders, buyer, order_id, [("new", "1"), ("update", "2")])


# --- one order key, different contents ------------------------------------------------------------

CONTENTS = 10


def test_one_order_key_with_different_contents_at_once_is_accepted_once(
    buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository
) -> None:
    # Given ten documents of one order key (partner + orderID + new + version 1), each another quantity
    order_id = "PO-RACE-CONTENTS"
    documents = [order(buyer, order_id, ("P1", str(quantity))) for quantity in range(1, CONTENTS + 1)]

    # When they arrive at once, spread over five environments
    raced = race(environments, [Delivery(str(number), document) for number, document in enumerate(documents)])

    # Then exactly one is accepted, and every other is refused with 409 (none with a retryable 5xx)
    codes = [delivery.codes for delivery in raced]
    assert sorted(code for (code,) in codes) == [200] + [409] * (CONTENTS - 1), codes
    (winner,) = (int(delivery.name) for delivery in raced if delivery.codes == [200])
    # And the shop gets the winner's order only
    (message,) = queue.drain()
    assert message["body"]["payload_id"] == payload_id(documents[winner])
    assert [line["quantity"] for line in message["body"]["lines"]] == [str(winner + 1)]
    # And the stored record and its payloads are the winner's; the losers' payloads were deleted
    key = OrderKey(partner_id=buyer.partner_id, order_id=order_id, type="new", version="1")
    record = orders.get(key)
    assert record is not None and record.payload_id == payload_id(documents[winner])
    assert payload_id(documents[winner]).encode() in orders.raw(record)
    assert orders.message(record).decode("utf-8").count(payload_id(documents[winner])) == 1
    assert_stored_once(orders, buyer, order_id, [("new", "1")])


# --- the shop's reads racing deliveries -----------------------------------------------------------

READ_LINES = 300  # too large for one queue message: a claim check


def test_the_shop_reads_a_queued_order_whole_while_its_deliveries_race(
    buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository, shop_headers: dict[str, str]
) -> None:
    # Given a large order just queued (a claim check), and the shop's first read of it
    order_id = "PO-RACE-READ"
    new = order(buyer, order_id, *large_lines(READ_LINES))
    assert cxml_answer(post_cxml(f"{environments[0]}/cxml/order", new)).status.code == 200
    (claim,) = queue.drain()
    assert claim["body"]["complete"] is False
    order_url = f"{{url}}/shop/orders/{claim['body']['message_id']}"
    first = at_once([("GET", order_url.format(url=environments[0]), None, shop_headers)])[0].answer.json()
    page = at_once([("GET", f"{order_url.format(url=environments[0])}/pages/1", None, shop_headers)])[0].answer
    assert page.status == 200 and page.json()["pages"] == 1
    conflicting = order(buyer, order_id, ("P1", "9"))

    # When resends of it, a conflicting document of its key and the shop's reads arrive at once
    reads: list[tuple[str, str, bytes | None, dict[str, str]]] = [
        ("GET", f"{order_url.format(url=url)}{suffix}", None, shop_headers)
        for url in environments
        for suffix in ("", "/pages/1")
    ]
    writes: list[tuple[str, str, bytes | None, dict[str, str]]] = [
        ("POST", f"{url}/cxml/order", document, {"Content-Type": CXML})
        for url in environments
        for document in (new, conflicting)
    ]
    answers = [raced.answer for raced in at_once(reads + writes)]

    # Then the shop reads the same order every time
    read_answers, write_answers = answers[: len(reads)], answers[len(reads) :]
    assert [answer.status for answer in read_answers] == [200] * len(reads), [a.body[:300] for a in read_answers]
    assert [answer.json() for answer in read_answers[::2]] == [first] * len(environments)
    assert [answer.json() for answer in read_answers[1::2]] == [page.json()] * len(environments)
    # And the resends are 200, the conflicting documents 409, and no second message is queued
    codes = Counter(cxml_answer(answer).status.code for answer in write_answers)
    assert codes == {200: len(environments), 409: len(environments)}, codes
    assert queue.drain() == []
    assert_stored_once(orders, buyer, order_id, [("new", "1")])


# --- resends under other payloadIDs ---------------------------------------------------------------


def test_resends_under_other_payload_ids_at_once_are_each_remembered(
    buyer: Buyer, environments: list[str], queue: Queue, orders: OrderRepository
) -> None:
    # Given one order sent ten times, each time under its own payloadID (a buyer's resends)
    order_id = "PO-RACE-RESENDS"
    documents = [order(buyer, order_id, ("P1", "1")) for _ in range(CONTENTS)]
    assert len({payload_id(document) for document in documents}) == CONTENTS

    # When they arrive at once
    raced = race(environments, [Delivery(str(number), document) for number, document in enumerate(documents)])

    # Then each is accepted, and the shop gets the order once
    assert [delivery.codes for delivery in raced] == [[200]] * CONTENTS
    (message,) = queue.drain()
    # And the record remembers every other payloadID as a resend of it (none lost to a concurrent
    # write), so that an update may refer to any of them
    (item,) = (
        item for item in items_of(orders, f"ORDER#{buyer.partner_id}#{order_id}") if item["sk"]["S"] == "VERSION#new#1"
    )
    record = orders.get(OrderKey(partner_id=buyer.partner_id, order_id=order_id, type="new", version="1"))
    assert record is not None and record.payload_id == message["body"]["payload_id"]
    others = {payload_id(document) for document in documents} - {record.payload_id}
    assert set(item.get("resent_as", {}).get("SS", [])) == others
    assert_stored_once(orders, buyer, order_id, [("new", "1")])
