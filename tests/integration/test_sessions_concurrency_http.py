"""Session state transitions under concurrent requests, over HTTP against DynamoDB Local.

The local gateway runs one invocation of a function at a time, as one Lambda execution environment
does; requests race only across environments. So each test spreads its requests over ENVIRONMENTS
gateway processes sharing the stack's DynamoDB Local, and releases them together (a Barrier, once
every connection is open). Orders have their own race test (test_orders_http.py).
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from punchout.cxml import read_document
from punchout.cxml.models import MessageDocument
from punchout.store.dynamo import Table
from punchout.store.sessions import SessionRepository
from tests.integration.helpers import (
    Answer,
    Buyer,
    Call,
    PostedForm,
    at_once,
    create_api_key,
    register_buyer,
    request,
    warmed,
)
from tests.integration.helpers import environments as concurrent_environments
from tests.integration.test_sessions_http import Shop, enter_shop, line, start_url
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration

ENVIRONMENTS = 5  # the stack's own gateway and four more processes
RACERS = 20


@pytest.fixture(scope="module")
def buyer(stack: StackProcess) -> Buyer:
    return register_buyer(stack, "sessions-race")


@pytest.fixture(scope="module")
def shop_headers(stack: StackProcess) -> dict[str, str]:
    return create_api_key(stack, "sessions race shop")


@pytest.fixture(scope="module")
def sessions(stack: StackProcess) -> SessionRepository:
    return SessionRepository(Table(stack.table_name, client=stack.dynamodb))


@pytest.fixture(scope="module")
def environments(stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str]) -> Iterator[list[str]]:
    """Base URLs of ENVIRONMENTS gateways sharing the stack's DynamoDB Local, each one warm."""
    with concurrent_environments(stack, "sessions", ENVIRONMENTS) as urls:
        # Warm both functions of every environment: the setup function, and the cart function (an
        # unknown session).
        warmed(urls, "/cxml/profile", buyer)
        unknown = secrets.token_urlsafe(32)
        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            shop = list(
                pool.map(lambda url: request("GET", f"{url}/shop/sessions/{unknown}", None, shop_headers), urls)
            )
        assert [answer.status for answer in shop] == [404] * len(urls)
        yield urls


def answers_at_once(calls: list[Call]) -> list[Answer]:
    return [raced.answer for raced in at_once(calls)]


def spread(environments: list[str], url: str, number: int) -> str:
    """``url`` (of the stack's own gateway) as served by the ``number``-th environment, round robin."""
    return environments[number % len(environments)] + url[len(environments[0]) :]


def open_session(stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str]) -> Shop:
    return Shop(stack.base_url, shop_headers, enter_shop(start_url(stack, buyer)))


def cart_of(part_prefix: str, count: int, description: Callable[[int], str] | None = None) -> dict[str, Any]:
    return {
        "lines": [
            line(f"{part_prefix}-{n}", "1", "1.00", description=description(n) if description else f"{part_prefix} {n}")
            for n in range(1, count + 1)
        ]
    }


def returned_parts(page: Answer, encoding: str = "urlencoded") -> list[str]:
    """The supplier part ids of the PunchOutOrderMessage a return page posts."""
    document = read_document(PostedForm.of(page).document(encoding))
    assert isinstance(document, MessageDocument)
    return [item.item_id.supplier_part_id for item in document.message.items]


# --- one-time links -------------------------------------------------------------------------------


def test_a_start_link_followed_by_many_browsers_at_once_opens_the_shop_once(
    stack: StackProcess, environments: list[str], buyer: Buyer
) -> None:
    url = start_url(stack, buyer)

    answers = answers_at_once([("GET", spread(environments, url, n), None, {}) for n in range(RACERS)])

    assert Counter(answer.status for answer in answers) == {303: 1, 410: RACERS - 1}
    assert all("already used" in answer.text for answer in answers if answer.status == 410)


def test_a_return_link_followed_by_many_browsers_at_once_returns_the_cart_once(
    stack: StackProcess, environments: list[str], buyer: Buyer, shop_headers: dict[str, str]
) -> None:
    shop = open_session(stack, buyer, shop_headers)
    assert shop.put(cart_of("R", 2)).status == 200
    url = shop.return_url()

    answers = answers_at_once([("GET", spread(environments, url, n), None, {}) for n in range(RACERS)])

    assert Counter(answer.status for answer in answers) == {200: 1, 410: RACERS - 1}
    (page,) = [answer for answer in answers if answer.status == 200]
    assert returned_parts(page) == ["R-1", "R-2"]


# --- the transfer ---------------------------------------------------------------------------------


def transfer_call(environments: list[str], shop: Shop, number: int, *, cancel: bool = False) -> Call:
    body = json.dumps({"cancel": True}).encode() if cancel else None
    return ("POST", spread(environments, f"{shop.url}/transfer", number), body, shop.headers)


@pytest.mark.parametrize("cancels", [False, True], ids=["transfers", "transfers and cancels"])
@pytest.mark.parametrize("with_cart", [True, False], ids=["with a cart", "without a cart"])
def test_a_session_ended_many_times_at_once_hands_out_one_return_link(
    stack: StackProcess,
    environments: list[str],
    buyer: Buyer,
    shop_headers: dict[str, str],
    with_cart: bool,
    cancels: bool,
) -> None:
    # Given an open session, with or without a cart
    shop = open_session(stack, buyer, shop_headers)
    if with_cart:
        assert shop.put(cart_of("T", 3)).status == 200

    # When the shop's checkout transfers it many times at once (or transfers and cancels it)
    calls = [transfer_call(environments, shop, n, cancel=cancels and n % 2 == 1) for n in range(RACERS)]
    answers = answers_at_once(calls)

    # Then exactly one of them hands out a return link; the others get the documented 409
    assert Counter(answer.status for answer in answers) == {200: 1, 409: RACERS - 1}, [
        answer.body[:300] for answer in answers
    ]
    # And the session ends the way the winner asked, and its one link returns the cart (or none)
    (winner,) = [n for n, answer in enumerate(answers) if answer.status == 200]
    cancelled = cancels and winner % 2 == 1
    assert shop.context().json()["status"] == ("cancelled" if cancelled else "transferred")
    page = request("GET", answers[winner].json()["return_url"])
    assert returned_parts(page) == (["T-1", "T-2", "T-3"] if with_cart and not cancelled else [])


# --- carts ----------------------------------------------------------------------------------------


def large_description(number: int) -> str:
    # Random text: compressed, each cart below is still several chunk items (CHUNK_BYTES, 350 KB)
    return f"{number} " + secrets.token_urlsafe(300)


def test_carts_stored_at_once_leave_one_of_them_whole_and_it_is_the_one_transferred(
    stack: StackProcess,
    environments: list[str],
    buyer: Buyer,
    shop_headers: dict[str, str],
    sessions: SessionRepository,
) -> None:
    # Given an open session and ten different carts, each stored in several chunks
    shop = open_session(stack, buyer, shop_headers)
    racers = 10
    carts = [cart_of(f"K{n}", 1500 + n, large_description) for n in range(racers)]
    parts = [[cart_line["supplier_part_id"] for cart_line in cart["lines"]] for cart in carts]

    # When the shop stores them all at once, while the session is read at the same time
    calls: list[Call] = [
        ("PUT", spread(environments, f"{shop.url}/cart", n), json.dumps(cart).encode(), shop.headers)
        for n, cart in enumerate(carts)
    ]
    reads: list[Call] = [("GET", spread(environments, shop.url, n), None, shop.headers) for n in range(racers)]
    answers = answers_at_once(calls + reads)
    puts, gets = answers[:racers], answers[racers:]

    # Then at least one is stored; the others get 409 (they read a revision another one replaced)
    assert {answer.status for answer in puts} <= {200, 409}, [answer.body[:300] for answer in puts]
    stored = [n for n, answer in enumerate(puts) if answer.status == 200]
    assert stored
    # And every read saw no cart or one of them whole, never lines of two
    for answer in gets:
        assert answer.status == 200, answer.body[:300]
        seen = [cart_line["supplier_part_id"] for cart_line in (answer.json()["cart"] or {"lines": []})["lines"]]
        assert seen == [] or seen in parts, seen[:3]
    # And the cart now is the one of the last accepted write, whole
    last = max(stored, key=lambda n: puts[n].json()["revision"])
    current = shop.context().json()["cart"]
    assert [cart_line["supplier_part_id"] for cart_line in current["lines"]] == parts[last]
    session = sessions.get(shop.session_id)
    state = sessions.cart_state(session.cart_ref) if session else None
    assert state is not None and state.chunk_count >= 2, state  # the race was between chunked writes
    # And it is the cart the buyer receives
    assert returned_parts(request("GET", shop.return_url())) == parts[last]


@pytest.mark.parametrize("first", [True, False], ids=["first cart", "later cart"])
def test_carts_stored_while_the_cart_is_transferred_never_change_the_transferred_cart(
    stack: StackProcess,
    environments: list[str],
    buyer: Buyer,
    shop_headers: dict[str, str],
    sessions: SessionRepository,
    first: bool,
) -> None:
    # Given an open session, without a cart or with one
    shop = open_session(stack, buyer, shop_headers)
    if not first:
        assert shop.put(cart_of("OLD", 1)).status == 200
    racers = 2 * (ENVIRONMENTS - 1)
    carts = [cart_of(f"W{n}", 1 + n) for n in range(racers)]
    parts = [[cart_line["supplier_part_id"] for cart_line in cart["lines"]] for cart in carts]

    # When the shop stores carts while its checkout transfers the session: the transfer in one
    # environment, the PUTs in the others (an environment runs one request at a time)
    puts: list[Call] = [
        ("PUT", f"{environments[1 + n % (ENVIRONMENTS - 1)]}/shop/sessions/{shop.session_id}/cart", body, shop.headers)
        for n, body in enumerate(json.dumps(cart).encode() for cart in carts)
    ]
    answers = answers_at_once([transfer_call(environments, shop, 0), *puts])
    transfer, put_answers = answers[0], answers[1:]

    # Then each answer is a success or the documented 409
    assert {answer.status for answer in put_answers} <= {200, 409}, [answer.body[:300] for answer in put_answers]
    stored = [n for n, answer in enumerate(put_answers) if answer.status == 200]
    if transfer.status == 409:  # a PUT changed the cart under it: the shop transfers again
        transfer = shop.transfer()
    assert transfer.status == 200, transfer.body[:300]
    # And what the buyer receives is the last cart the shop was told was stored
    if stored:
        last = max(stored, key=lambda n: put_answers[n].json()["revision"])
        expected = parts[last]
    else:
        expected = [] if first else ["OLD-1"]
    assert returned_parts(request("GET", transfer.json()["return_url"])) == expected
    # And the cart stays frozen: no PUT slipped in after the transfer, none succeeds any more
    session = sessions.get(shop.session_id)
    assert session is not None
    state = sessions.cart_state(session.cart_ref)
    assert state is not None and state.status == "transferred", state
    assert state.revision == (put_answers[last].json()["revision"] if stored else 0 if first else 1)
    assert shop.put(cart_of("LATE", 1)).status == 409
