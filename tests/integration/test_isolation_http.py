"""What one trading partner can reach of another's, and a partner's test system of its production.

Partners A and B, each with production and test credentials, are registered with the `punchout` CLI.
An insider at B (or A's own test system) knows A's identifiers: cart line references, BuyerCookie and
payloadIDs, order ids, the one-time links and session id of A's punchout. Whatever it sends with them,
nothing of A's is reopened, compared against, changed or forwarded for it, and the answer is the one an
identifier nobody has gets. (The shop API is the supplier's own, one key for all partners: a buyer never
holds it, and a session id or link opens the session it was issued for, whatever else comes with it.)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

import pytest

from punchout.cxml import read_document
from punchout.cxml.models import MessageDocument, PunchOutSetupResponse
from punchout.sessions import parse_line_reference
from punchout.store.dynamo import Table
from punchout.store.sessions import SessionRepository
from tests.integration.helpers import (
    SHOP_URL,
    Answer,
    Buyer,
    PostedForm,
    Queue,
    create_api_key,
    cxml_answer,
    order,
    payload_id,
    post_cxml,
    query_parameter,
    register_buyer,
    request,
    run_cli,
    shown_once,
)
from tests.support import builders
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Side:
    """A partner in one deployment mode: the credentials that authenticate it there."""

    buyer: Buyer
    mode: str = "production"

    @property
    def credentials(self) -> dict[str, Any]:
        return {**self.buyer.credentials, "mode": self.mode}


def with_test_mode(stack: StackProcess, buyer: Buyer) -> Buyer:
    """`punchout partners update --mode test --from ...`: the test system's credentials, secret shown once."""
    identity = f"{buyer.identity}-T"
    output = run_cli(stack, "partners", "update", buyer.partner_id, "--mode", "test", "--from", f"NetworkID:{identity}")
    return replace(buyer, identity=identity, secret=shown_once(output))


@pytest.fixture(scope="module")
def sides(stack: StackProcess) -> dict[str, Side]:
    a, b = register_buyer(stack, "iso-a"), register_buyer(stack, "iso-b")
    return {
        "A": Side(a),
        "A test": Side(with_test_mode(stack, a), "test"),
        "B": Side(b),
        "B test": Side(with_test_mode(stack, b), "test"),
    }


# The others, as they come at A's production identifiers: the other partner in either mode, and A's test system.
OTHERS = ["B", "B test", "A test"]


@pytest.fixture(scope="module")
def shop_headers(stack: StackProcess) -> dict[str, str]:
    return create_api_key(stack, "isolation test shop")


@pytest.fixture(scope="module")
def sessions(stack: StackProcess) -> SessionRepository:
    return SessionRepository(Table(stack.table_name, client=stack.dynamodb))


def setup(stack: StackProcess, side: Side, **options: Any) -> Answer:
    return post_cxml(f"{stack.base_url}/cxml/setup", builders.setup_request(**{**side.credentials, **options}))


def start_url(stack: StackProcess, side: Side, **options: Any) -> str:
    answer = cxml_answer(setup(stack, side, **options))
    assert answer.status.code == 200, answer.status
    assert isinstance(answer.response, PunchOutSetupResponse)
    return answer.response.start_page_url


def entered(url: str) -> str:
    """The browser follows the StartPage; the session id the shop is sent."""
    answer = request("GET", url)
    assert answer.status == 303, (answer.status, answer.body[:300])
    return query_parameter(answer.headers["Location"], "punchout_session")


@dataclass(frozen=True)
class Returned:
    """A's production punchout, returned: what A's systems (and the insider) now know."""

    session_id: str
    cart_ref: str
    return_url: str
    lines: list[tuple[str, str]]  # (SupplierPartID, SupplierPartAuxiliaryID) as the buyer received them

    def item_outs(self, quantity: str = "2") -> list[Any]:
        return [
            builders.item_out(part, quantity, auxiliary=reference, price="10.00", line=number)
            for number, (part, reference) in enumerate(self.lines, 1)
        ]


CART = {
    "lines": [
        {"supplier_part_id": "P-1", "quantity": "2", "unit_price": "10.00", "description": "Part 1"},
        {"supplier_part_id": "P-2", "quantity": "1", "unit_price": "10.00", "description": "Part 2"},
    ]
}


@pytest.fixture(scope="module")
def returned(stack: StackProcess, sides: dict[str, Side], shop_headers: dict[str, str]) -> Returned:
    a = sides["A"]
    document = builders.setup_request(**a.credentials, buyer_cookie="A's cookie")
    answer = cxml_answer(post_cxml(f"{stack.base_url}/cxml/setup", document))
    assert isinstance(answer.response, PunchOutSetupResponse)
    session_id = entered(answer.response.start_page_url)
    shop = f"{stack.base_url}/shop/sessions/{session_id}"
    assert request("PUT", f"{shop}/cart", json.dumps(CART), shop_headers).status == 200
    transfer = request("POST", f"{shop}/transfer", None, shop_headers)
    return_url = transfer.json()["return_url"]
    posted = PostedForm.of(request("GET", return_url)).document(a.buyer.encoding)
    message = read_document(posted)
    assert isinstance(message, MessageDocument)
    lines = [(i.item_id.supplier_part_id, i.item_id.supplier_part_auxiliary_id or "") for i in message.message.items]
    (cart_ref,) = {parse_line_reference(reference)[0] for _, reference in lines}  # type: ignore[index]
    return Returned(session_id, cart_ref, return_url, lines)


def unknown_references(returned: Returned) -> list[Any]:
    """The same lines under a cart reference nobody has."""
    return [
        builders.item_out(part, "2", auxiliary=f"{'a' * 16}-{number}", price="10.00", line=number)
        for number, (part, _) in enumerate(returned.lines, 1)
    ]


# --- carts: edit and inspect ----------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["edit", "inspect"])
@pytest.mark.parametrize("who", OTHERS)
def test_another_partners_or_modes_cart_references_reopen_nothing(
    stack: StackProcess, sides: dict[str, Side], returned: Returned, sessions: SessionRepository, who: str, operation
) -> None:
    side = sides[who]
    before = sessions.cart_state(returned.cart_ref)
    # When the other side sends A's line references, with A's BuyerCookie, in an edit or inspect
    answer = cxml_answer(setup(stack, side, operation=operation, items=returned.item_outs(), buyer_cookie="A's cookie"))
    # Then no cart is found: the very answer references nobody has get
    unknown = cxml_answer(setup(stack, side, operation=operation, items=unknown_references(returned)))
    assert (answer.status.code, answer.status.message) == (412, unknown.status.message)
    assert unknown.status.code == 412
    # and A's cart is as it was
    assert sessions.cart_state(returned.cart_ref) == before


def test_a_partners_own_mode_reopens_its_cart(
    stack: StackProcess, sides: dict[str, Side], returned: Returned, shop_headers: dict[str, str]
) -> None:
    # Control for the test above: the references are good, for A in the mode it punched out in
    session_id = entered(start_url(stack, sides["A"], operation="edit", items=returned.item_outs("3")))
    context = request("GET", f"{stack.base_url}/shop/sessions/{session_id}", headers=shop_headers).json()
    assert [(line["supplier_part_id"], line["quantity"]) for line in context["cart"]["lines"]] == [
        ("P-1", "3"),
        ("P-2", "3"),
    ]


# --- orders ---------------------------------------------------------------------------------------


def post_order(stack: StackProcess, document: bytes) -> Answer:
    return post_cxml(f"{stack.base_url}/cxml/order", document)


def one_line() -> list[Any]:
    return [builders.item_out("P-1", "1", price="40.00")]


def order_of(side: Side, order_id: str, items: list[Any], **options: Any) -> bytes:
    return builders.order_request(order_id, items, **{"total": "40.00", **side.credentials, **options})


@pytest.mark.parametrize("who", OTHERS)
def test_an_order_naming_another_partners_or_modes_cart_is_not_compared_with_it(
    stack: StackProcess, sides: dict[str, Side], returned: Returned, queue: Queue, who: str
) -> None:
    side = sides[who]
    # When the other side orders A's cart lines, by A's references
    answer = post_order(stack, order_of(side, f"PO-ISO-CART-{who}", returned.item_outs()))
    # Then the order is its own, compared with no cart: as lines of a cart nobody has
    assert cxml_answer(answer).status.code == 200
    (message,) = queue.drain()
    body = message["body"]
    assert (body["partner"]["id"], body["deployment_mode"]) == (side.buyer.partner_id, side.mode)
    assert body["sessions"] == []
    reconciliation = body["reconciliation"]
    assert (reconciliation["from_punchout"], reconciliation["cart_refs"]) == (False, [])
    assert [line["status"] for line in reconciliation["lines"]] == ["unmatched", "unmatched"]
    # and nothing of A's punchout travels with it
    assert returned.session_id not in message["raw"]
    assert "jane.buyer@acme.example" not in message["raw"]  # the user of A's session


def test_an_order_of_the_partners_own_mode_is_compared_with_its_cart(
    stack: StackProcess, sides: dict[str, Side], returned: Returned, queue: Queue
) -> None:
    # Control for the test above
    assert (
        cxml_answer(post_order(stack, order_of(sides["A"], "PO-ISO-CART-A", returned.item_outs()))).status.code == 200
    )
    (message,) = queue.drain()
    assert message["body"]["reconciliation"]["cart_refs"] == [returned.cart_ref]
    assert [s["id"] for s in message["body"]["sessions"]] == [returned.session_id]


@pytest.mark.parametrize("who", OTHERS)
def test_another_partners_or_modes_order_ids_and_payload_ids_are_not_its_own(
    stack: StackProcess, sides: dict[str, Side], queue: Queue, who: str
) -> None:
    a, side = sides["A"], sides[who]
    order_id = f"PO-ISO-{who}-{secrets.token_hex(4)}"
    a_new = order_of(a, order_id, one_line())
    assert cxml_answer(post_order(stack, a_new)).status.code == 200
    (a_message,) = queue.drain()
    a_payload = payload_id(a_new)

    # When the other side updates and deletes A's order, naming A's document
    refused = [
        cxml_answer(
            post_order(stack, order_of(side, order_id, one_line(), order_type=kind, version=2, reference=a_payload))
        ).status
        for kind in ("update", "delete")
    ]
    # Then each is refused as for an order nobody sent (417), and nothing reaches the shop
    nobody = f"PO-NOBODY-{secrets.token_hex(4)}"
    unknown = [
        cxml_answer(
            post_order(stack, order_of(side, nobody, one_line(), order_type=kind, version=2, reference=a_payload))
        ).status
        for kind in ("update", "delete")
    ]
    assert [(s.code, s.message.replace(order_id, "X")) for s in refused] == [
        (s.code, s.message.replace(nobody, "X")) for s in unknown
    ]
    assert {s.code for s in refused} == {417}
    assert queue.drain() == []

    # When it sends A's order number, under A's very payloadID, with other content
    other = order_of(side, order_id, [builders.item_out("P-9", "4", price="10.00")], payload_id=a_payload)
    answer = cxml_answer(post_order(stack, other))
    # Then it is a new order of its own (not a 409 that would tell A's exists), in its own message group
    assert answer.status.code == 200
    (message,) = queue.drain()
    body = message["body"]
    assert (body["partner"]["id"], body["deployment_mode"], body["order_id"]) == (
        side.buyer.partner_id,
        side.mode,
        order_id,
    )
    assert body["message_id"] != a_message["body"]["message_id"]
    assert message["attributes"]["MessageGroupId"] != a_message["attributes"]["MessageGroupId"]

    # And A's own retry and update still find A's order alone
    assert cxml_answer(post_order(stack, a_new)).status.code == 200
    assert queue.drain() == []
    a_update = order_of(a, order_id, one_line(), order_type="update", version=2, reference=a_payload)
    assert cxml_answer(post_order(stack, a_update)).status.code == 200
    (a_updated,) = queue.drain()
    assert a_updated["body"]["follows_message_id"] == a_message["body"]["message_id"]
    assert a_updated["body"]["partner"]["id"] == a.buyer.partner_id


@pytest.mark.parametrize("who", OTHERS)
def test_a_change_naming_another_partners_or_modes_document_is_417(
    stack: StackProcess, sides: dict[str, Side], queue: Queue, who: str
) -> None:
    a, side = sides["A"], sides[who]
    a_new = order_of(a, f"PO-ISO-A-{secrets.token_hex(4)}", one_line())
    assert cxml_answer(post_order(stack, a_new)).status.code == 200
    own_id = f"PO-ISO-OWN-{secrets.token_hex(4)}"
    own_new = order_of(side, own_id, one_line())
    assert cxml_answer(post_order(stack, own_new)).status.code == 200
    queue.drain()

    # When the other side updates its own order, naming A's document as the one it changes
    answer = cxml_answer(
        post_order(
            stack,
            order_of(side, own_id, one_line(), order_type="update", version=2, reference=payload_id(a_new)),
        )
    )
    # Then the reference is unknown, as one nobody sent
    nobody = f"{secrets.token_hex(8)}@buyer.example.com"
    unknown = cxml_answer(
        post_order(stack, order_of(side, own_id, one_line(), order_type="update", version=2, reference=nobody))
    )
    assert answer.status.code == unknown.status.code == 417
    assert answer.status.message.replace(payload_id(a_new), "X") == unknown.status.message.replace(nobody, "X")
    assert queue.drain() == []


def credential(identity: str) -> bytes:
    return f'<Credential domain="NetworkID"><Identity>{identity}</Identity></Credential>'.encode()


def test_the_order_message_names_the_partner_that_authenticated(
    stack: StackProcess, sides: dict[str, Side], queue: Queue
) -> None:
    a, b = sides["A"].buyer, sides["B"].buyer
    document = order(b, f"PO-ISO-FROM-{secrets.token_hex(4)}", ("P-1", "1"))
    b_from = b"<From>" + credential(b.identity) + b"</From>"
    assert document.count(b_from) == 1

    # When B's order names A's credential too, after its own
    answer = post_order(
        stack, document.replace(b_from, b"<From>" + credential(b.identity) + credential(a.identity) + b"</From>")
    )
    # Then the shop is told it is B's order
    assert cxml_answer(answer).status.code == 200
    (message,) = queue.drain()
    assert message["body"]["partner"]["id"] == b.partner_id
    assert message["attributes"]["MessageGroupId"].startswith(f"{b.partner_id}:")

    # And with A's credential first, B's secret authenticates nobody: the 401 anyone gets
    a_first = document.replace(b_from, b"<From>" + credential(a.identity) + credential(b.identity) + b"</From>")
    refused = cxml_answer(post_order(stack, a_first))
    stranger = cxml_answer(post_order(stack, order(replace(b, identity="AN-NOBODY"), "PO-ISO-X", ("P-1", "1"))))
    assert (refused.status.code, refused.status.message) == (401, stranger.status.message)
    assert queue.drain() == []


# --- links and the shop API -----------------------------------------------------------------------


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_start_link_opens_its_own_session_whatever_the_query_names(
    stack: StackProcess, sides: dict[str, Side], returned: Returned
) -> None:
    # When B's StartPage is opened with A's session id in the query
    url = start_url(stack, sides["B"])
    answer = request("GET", f"{url}?punchout_session={returned.session_id}")
    # Then the shop is sent to B's session alone
    assert answer.status == 303
    location = answer.headers["Location"]
    assert location.startswith(SHOP_URL.split("?")[0])
    assert query_parameter(location, "punchout_session") != returned.session_id
    assert location.count("punchout_session=") == 1


@pytest.mark.parametrize("kind", ["start", "return"])
def test_a_link_or_session_id_is_not_another_kind_of_key(
    stack: StackProcess, sides: dict[str, Side], returned: Returned, shop_headers: dict[str, str], kind: str
) -> None:
    start_token = token_of(start_url(stack, sides["A"]))
    return_token = token_of(returned.return_url)
    other = {"start": "return", "return": "start"}[kind]
    # A start token at the return route and the other way round, and a session id at either:
    # each the page of an unknown link
    for key in ({"start": start_token, "return": return_token}[kind], returned.session_id):
        answer = request("GET", f"{stack.base_url}/punchout/{other}/{key}")
        assert answer.status == 404, (key, answer.status)
        assert "not valid" in answer.text
    # and a link's token is no session id for the shop API: as unknown as a random id
    random = request("GET", f"{stack.base_url}/shop/sessions/{secrets.token_urlsafe(32)}", headers=shop_headers)
    for token in (start_token, return_token):
        answer = request("GET", f"{stack.base_url}/shop/sessions/{token}", headers=shop_headers)
        assert (answer.status, answer.json()) == (404, random.json())
