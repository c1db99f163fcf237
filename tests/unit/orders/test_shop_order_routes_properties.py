"""Property test of the shop's order routes: any message id, page and attachment index is answered as the
OpenAPI document lists (``invoke`` checks), never with a server error.

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import api_event
from tests.support.fuzz import fuzz_settings
from tests.unit.gateway.helpers import call, invoke, register, shop_key
from tests.unit.orders.conftest import drain

FUZZ = fuzz_settings(60)
segment = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=40),
    st.sampled_from(["0", "-1", "1", "01", "1e3", "٣", "9" * 5000, "x" * 3000, "%2F", "..", " 1", "1 ", "+1"]),
)


_ORDERS: dict[int, tuple[str, dict[str, str]]] = {}


def _an_order(table: Table, queue_url: str) -> tuple[str, dict[str, str]]:
    """The message id of an order stored in ``table``, and a shop key (made once per test)."""
    if id(table) not in _ORDERS:
        register(table)
        body = builders.order_request("PO-R", [builders.item_out("P1", "1", price="1.00")])
        event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": "text/xml"}, binary=True)
        assert invoke("OrderRequestFunction", event)["statusCode"] == 200
        (queued,) = drain(queue_url)
        _ORDERS[id(table)] = (queued["body"]["message_id"], shop_key(table))
    return _ORDERS[id(table)]


@FUZZ
@given(
    message_id=st.one_of(st.none(), segment),
    page=st.one_of(segment, st.integers(-2, 3).map(str)),
    kind=st.sampled_from(["", "/pages/", "/attachments/"]),
)
def test_any_order_route_is_answered_as_documented(
    table: Table, queue_url: str, message_id: str | None, page: str, kind: str
) -> None:
    real_id, headers = _an_order(table, queue_url)
    message_id = real_id if message_id is None else message_id
    path = f"/shop/orders/{message_id}" + (kind + page if kind else "")
    response = call("GET", path, headers=headers)
    assert response["statusCode"] < 500, response
