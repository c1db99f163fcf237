"""Property tests of the cXML POSTs: valid PunchOutSetupRequests and OrderRequests from the tests' builders,
mutated on their lxml tree (elements deleted, duplicated, reordered, renamed; attributes and texts
replaced, numbers at the limits) and sent to the real handlers through ``invoke``, which holds every
answer to the cXML contract (well-formed, DTD-valid, HTTP status mirroring the Status code).

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

import itertools
import os
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st
from lxml import etree

from punchout.cxml.models import ItemOut, ResponseDocument
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import api_event
from tests.support.fuzz import XML_CHARACTERS, fuzz_settings
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    body_json,
    call,
    cxml,
    follow,
    invoke,
    item_outs,
    line,
    open_session,
    register,
    session_from_start,
    shop_key,
    start_token,
    stored_partner,
)
from tests.unit.orders.conftest import drain

FUZZ = fuzz_settings(40)
_ORDER_NUMBERS = itertools.count(1)

NUMBERS = [
    "0", "-0", "-1", "1E+1", "1e-8", "1.", ".5", " 2 ", "+3", "1,5", "NaN", "Infinity", "-Infinity", "sNaN",
    "9" * 24, "9" * 24 + "." + "9" * 12, "9" * 25, "0." + "0" * 11 + "1", "0." + "0" * 12 + "1", "1" + "0" * 70,
    "1e999999999", "1e-999999999", "0x10", "١٢", "1_000", "0" * 64 + "1", "1.000000000000000",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(NUMBERS),
    st.text(XML_CHARACTERS, max_size=20),
    st.sampled_from(["", " ", "new", "update", "delete", "create", "edit", "inspect", "source", "USD", "EUR", "xx"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "\U0001f600", " ", "é"]), st.integers(100, 3000)),
)
NAMES = [
    "ItemOut", "ItemID", "SupplierPartID", "SupplierPartAuxiliaryID", "ItemDetail", "UnitPrice", "Money",
    "Description", "Header", "From", "To", "Sender", "Credential", "Identity", "Request",
    "OrderRequest", "OrderRequestHeader", "PunchOutSetupRequest", "BrowserFormPost", "URL", "Extrinsic",
    "Total", "ShipTo", "BillTo", "Address", "Contact", "Comments", "Unknown", "x", "BuyerCookie",
    "StatusUpdateRequest", "ProfileRequest", "Message", "PunchOutOrderMessage", "Response", "Status",
]  # fmt: skip
ATTRIBUTES = [
    "quantity", "lineNumber", "orderID", "orderVersion", "type", "operation", "currency", "payloadID",
    "timestamp", "orderDate", "domain", "xml:lang", "name", "deploymentMode", "version", "role",
    "requestedDeliveryDate",
]  # fmt: skip


def _parse(document: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(document, parser)


def _protected(element: Any) -> bool:
    """The header's credentials: most mutations there only make an unknown sender (401)."""
    return any(ancestor.tag == "Header" for ancestor in element.iterancestors()) or element.tag == "Header"


@st.composite
def mutated(draw: st.DrawFn, document: bytes) -> bytes:
    root = _parse(document)
    touch_header = draw(st.integers(0, 9)) == 0
    for _ in range(draw(st.integers(1, 4))):
        # (a SharedSecret's text is judged a secret wherever it is: tests.support.leaks)
        elements = [
            e
            for e in root.iter()
            if isinstance(e.tag, str) and e.tag != "SharedSecret" and (touch_header or not _protected(e))
        ]
        if not elements:  # the root renamed Header: everything is protected
            break
        element = draw(st.sampled_from(elements))
        parent = element.getparent()
        kind = draw(
            st.sampled_from(
                ["delete", "duplicate", "reorder", "rename", "attribute", "unset", "text", "number", "quantity"]
            )
        )
        if kind == "delete" and parent is not None:
            parent.remove(element)
        elif kind == "duplicate" and parent is not None:
            parent.insert(parent.index(element) + 1, _parse(etree.tostring(element)))
        elif kind == "reorder" and parent is not None:
            children = list(parent)
            order = draw(st.permutations(range(len(children))))
            for child in children:
                parent.remove(child)
            for index in order:
                parent.append(children[index])
        elif kind == "rename":
            element.tag = draw(st.sampled_from(NAMES))
        elif kind == "attribute":
            name = draw(st.sampled_from(list(element.attrib) + ATTRIBUTES))
            if name == "xml:lang":
                name = "{http://www.w3.org/XML/1998/namespace}lang"
            element.set(name, draw(values))
        elif kind == "unset" and element.attrib:
            del element.attrib[draw(st.sampled_from(sorted(element.attrib)))]
        elif kind == "text":
            element.text = draw(values)
        elif kind == "number":
            money = root.xpath("//Money") or [element]
            draw(st.sampled_from(money)).text = draw(st.sampled_from(NUMBERS))
        elif kind == "quantity":
            items = root.xpath("//ItemOut") or [element]
            draw(st.sampled_from(items)).set("quantity", draw(st.sampled_from(NUMBERS)))
    return bytes(etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8"))


def _keep(body: bytes) -> None:
    """While hunting: the document under test, in the file ``FUZZ_KEEP`` names."""
    if os.environ.get("FUZZ_KEEP"):
        with open(os.environ["FUZZ_KEEP"], "wb") as file:
            file.write(body)


def assert_useful(answer: ResponseDocument) -> None:
    event(f"cXML {answer.status.code}")
    assert answer.status.code < 500, answer.status
    if not answer.status.ok:
        assert (answer.status.message or "").strip() or answer.status.text.strip(), answer.status


# --- PunchOutSetupRequest -----------------------------------------------------------------------


_RETURNED: dict[int, list[ItemOut]] = {}


def _returned_items(table: Table) -> list[ItemOut]:
    """The ItemOuts of a cart returned to the buyer (made once per test): what an edit sends back."""
    if id(table) not in _RETURNED:
        register(table)
        shop = Shop(shop_key(table), open_session()[0])
        page = shop.checkout(
            line("P1", "2", "10.00", supplier_part_auxiliary_id="shop-1"),
            line("P2", "1.5", "0.25", unit_of_measure="BOX"),
            line("P3", "1", "0"),
        )
        _RETURNED[id(table)] = item_outs(ReturnPage.of(page).document(stored_partner(table)))
    return _RETURNED[id(table)]


def _setup_document(table: Table, operation: str) -> bytes:
    items = [*_returned_items(table), builders.item_out("P9", "1", auxiliary="aux")]
    return builders.setup_request(operation, items=items if operation != "create" else None)


@FUZZ
@given(data=st.data(), operation=st.sampled_from(["create", "edit", "inspect"]))
def test_a_mutated_setup_request_is_answered_in_cxml_without_a_server_error(
    table: Table, data: st.DataObject, operation: str
) -> None:
    body = data.draw(mutated(_setup_document(table, operation)))
    _keep(body)
    answer = cxml(call("POST", "/cxml/setup", body))
    assert_useful(answer)
    if answer.status.ok and _parse(body).find("Request/PunchOutSetupRequest") is not None:
        # Then the session it opened can be started, read by the shop and returned to the buyer
        headers = shop_key(table)
        shop = Shop(headers, session_from_start(start_token(answer)))
        assert shop.get()["statusCode"] == 200
        transfer = shop.transfer()
        assert transfer["statusCode"] in (200, 409), transfer
        if transfer["statusCode"] == 200:
            page = follow(body_json(transfer)["return_url"])
            assert page["statusCode"] == 200, page
            ReturnPage.of(page).document(stored_partner(table))


# --- OrderRequest -------------------------------------------------------------------------------


def _order_document() -> bytes:
    number = next(_ORDER_NUMBERS)
    items = [
        builders.item_out("P1", "2", price="10.00", line=1),
        builders.item_out("P2", "1.5", auxiliary="aux-2", price="0.25", line=2),
    ]
    return builders.order_request(f"PO-FUZZ-{number}", items)


def post_order(body: bytes) -> dict[str, Any]:
    event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": "text/xml"}, binary=True)
    return invoke("OrderRequestFunction", event)


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


@FUZZ
@given(data=st.data())
def test_a_mutated_order_is_answered_in_cxml_and_a_stored_one_queued_as_sent(
    table: Table, queue_url: str, data: st.DataObject
) -> None:
    if not list(table.client.scan(TableName=table.name, Limit=1).get("Items", [])):
        register(table)
    body = data.draw(mutated(_order_document()))
    _keep(body)
    answer = cxml(post_order(body))
    assert_useful(answer)
    messages = drain(queue_url)  # each checked against the published schema
    if not answer.status.ok:
        assert messages == [], answer.status
        return
    # The reader takes the first Request and its first OrderRequest, the lines their ItemOut children
    order = _parse(body).find("Request/OrderRequest")
    if order is None:
        return  # a ProfileRequest, answered with its profile
    assert len(messages) <= 1, messages
    if not messages:
        return  # a resend of an order already queued
    message = messages[0]["body"]
    items = order.findall("ItemOut")
    lines = message.get("lines")
    if lines is None:
        assert message["complete"] is False
        return
    assert len(lines) == len(items), (len(lines), len(items))
    for item, queued in zip(items, lines, strict=True):
        assert queued["supplier_part_id"] == item.xpath("string(ItemID/SupplierPartID)").strip(), queued
        assert Decimal(queued["quantity"]) == _decimal(item.get("quantity")), (queued["quantity"], item.get("quantity"))
        price = item.xpath("ItemDetail/UnitPrice/Money")
        if price and queued.get("unit_price") is not None:
            assert Decimal(queued["unit_price"]["amount"]) == _decimal(price[0].text), (queued, price[0].text)
