"""The PunchOut round trip over HTTP against DynamoDB Local (issue 3).

Each party uses what it uses in production: the operator registers buyers and the shop's key with
the `punchout` CLI; the procurement system POSTs cXML; the browser follows the StartPage, then the
return link and posts the form it finds there; the shop calls the JSON API with its `x-api-key`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from punchout.cxml import read_document
from punchout.cxml.models import MessageDocument, ProfileResponse, PunchOutSetupResponse
from punchout.sessions import parse_line_reference
from punchout.store.dynamo import Table
from punchout.store.sessions import SessionRepository
from tests.integration.helpers import (
    RETURN_HOST,
    RETURN_URL,
    SHOP_URL,
    Answer,
    Buyer,
    PostedForm,
    create_api_key,
    cxml_answer,
    post_cxml,
    query_parameter,
    register_buyer,
    request,
    run_cli,
)
from tests.support import builders
from tests.support.dynamodb import ITEM_BYTES as DYNAMODB_ITEM_LIMIT
from tests.support.events import LAMBDA_RESPONSE_LIMIT
from tests.support.stack_process import StackProcess

pytestmark = pytest.mark.integration

COOKIE = "  cookie-1234 <&> "  # the builders' BuyerCookie: spaces and markup characters
INJECTION = "</textarea><script>alert(1)</script>\"'"


@pytest.fixture(scope="module")
def buyers(stack: StackProcess) -> dict[str, Buyer]:
    """One buyer per cart encoding, registered with the CLI (cXML 1.2.069, UNSPSC default)."""
    return {
        "urlencoded": register_buyer(stack, "sessions-urlenc", encoding="urlencoded", field_name="cxml-urlencoded"),
        "base64": register_buyer(stack, "sessions-base64", encoding="base64", field_name="cXML-base64"),
    }


@pytest.fixture(scope="module")
def buyer(buyers: dict[str, Buyer]) -> Buyer:
    return buyers["urlencoded"]


@pytest.fixture(scope="module")
def shop_headers(stack: StackProcess) -> dict[str, str]:
    return create_api_key(stack, "sessions test shop")


@pytest.fixture(scope="module")
def sessions(stack: StackProcess) -> SessionRepository:
    return SessionRepository(Table(stack.table_name, client=stack.dynamodb))


# --- the parties ----------------------------------------------------------------------------------


def setup(stack: StackProcess, buyer: Buyer, **options: Any) -> Answer:
    """The procurement system: a PunchOutSetupRequest (tests/support/builders.py) to /cxml/setup."""
    return post_cxml(f"{stack.base_url}/cxml/setup", builders.setup_request(**{**buyer.credentials, **options}))


def start_url(stack: StackProcess, buyer: Buyer, **options: Any) -> str:
    answer = cxml_answer(setup(stack, buyer, **options))
    assert answer.status.code == 200, answer.status
    assert isinstance(answer.response, PunchOutSetupResponse)
    url = answer.response.start_page_url
    assert url.startswith(f"{stack.base_url}/punchout/start/"), url
    return url


def enter_shop(url: str) -> str:
    """The browser opens the StartPage: 303 to the shop; the session id the shop receives."""
    answer = request("GET", url)
    assert answer.status == 303, (answer.status, answer.body[:500])
    location = answer.headers["Location"]
    assert location.startswith(SHOP_URL.split("?")[0] + "?"), location
    assert query_parameter(location, "store") == "1"  # the shop URL's own query is kept
    return query_parameter(location, "punchout_session")


@dataclass
class Shop:
    """The supplier's shop, server to server, for one session."""

    base_url: str
    headers: dict[str, str]
    session_id: str

    @property
    def url(self) -> str:
        return f"{self.base_url}/shop/sessions/{self.session_id}"

    def context(self) -> Answer:
        return request("GET", self.url, headers=self.headers)

    def put(self, cart: dict[str, Any]) -> Answer:
        return request("PUT", f"{self.url}/cart", json.dumps(cart), self.headers)

    def transfer(self, **body: Any) -> Answer:
        return request("POST", f"{self.url}/transfer", json.dumps(body) if body else None, self.headers)

    def return_url(self) -> str:
        answer = self.transfer()
        assert answer.status == 200, answer.body[:500]
        url: str = answer.json()["return_url"]
        assert url.startswith(f"{self.base_url}/punchout/return/"), url
        return url


def open_shop(stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str], **options: Any) -> Shop:
    return Shop(stack.base_url, shop_headers, enter_shop(start_url(stack, buyer, **options)))


def line(part: str, quantity: str, price: str, **fields: Any) -> dict[str, Any]:
    return {
        "supplier_part_id": part,
        "quantity": quantity,
        "unit_price": price,
        "description": f"Part {part}",
        **fields,
    }


CART = {
    "lines": [
        line(
            "P-100",
            "3",
            "0.10",
            description=f"Ballpoint pen, blue \u2013 Café µ 日本 {INJECTION}",
            unit_of_measure="BX",
            classification={"domain": "UNSPSC", "value": "44121700"},
            supplier_part_auxiliary_id="shop-variant-7",
        ),
        line("P-200", "1.5", "19.99", unit_of_measure="PK"),
        line("P-300", "2", "0"),
    ],
    "shipping": {"amount": "4.95", "description": "Standard delivery"},
}


# --- the round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "base64"])
def test_the_round_trip_returns_the_cart_to_the_buyer(
    stack: StackProcess, buyers: dict[str, Buyer], shop_headers: dict[str, str], sessions: SessionRepository, encoding
) -> None:
    buyer = buyers[encoding]
    # Given a session opened by a PunchOutSetupRequest and entered through its StartPage
    shop = open_shop(stack, buyer, shop_headers)

    # When the shop reads the session, stores a cart and transfers it
    context = shop.context()
    assert context.status == 200, context.body[:500]
    put = shop.put(CART)
    return_url = shop.return_url()

    # Then the shop saw who is shopping, for which partner
    session = context.json()
    assert session["partner"]["id"] == buyer.partner_id
    assert (session["operation"], session["read_only"], session["status"]) == ("create", False, "open")
    assert session["user"]["email"] == "jane.buyer@acme.example"
    assert session["extrinsics"]["CostCenter"] == "CC-100"
    assert session["ship_to"]["postal_address"]["city"] == "Springfield"
    # And the cart was stored whole
    assert put.status == 200, put.body[:500]
    assert put.json()["line_count"] == 3
    assert Decimal(put.json()["total"]) == Decimal("0.30") + Decimal("29.985")

    # When the browser follows the return link
    page = request("GET", return_url)

    # Then the page posts the cart to the buyer's BrowserFormPost URL, in the partner's field and encoding
    form = PostedForm.of(page)
    assert (form.action, form.field) == (RETURN_URL, buyer.field_name)
    policy = page.headers["Content-Security-Policy"]
    assert f"form-action https://{RETURN_HOST}" in policy
    assert f"frame-ancestors https://{RETURN_HOST}" in policy
    # And the description's markup stays inert: the page has only its own script
    assert page.text.count("<script") == 1
    assert "<script>alert(1)" not in page.text

    # And what the buyer receives is the cart as a PunchOutOrderMessage
    posted = form.document(encoding)
    document = read_document(posted)
    assert isinstance(document, MessageDocument)
    message = document.message
    # BuyerCookie echoed byte for byte, with the markup characters escaped as XML requires
    assert b"<BuyerCookie>  cookie-1234 &lt;&amp;&gt; </BuyerCookie>" in posted
    assert message.buyer_cookie == COOKIE
    assert [item.item_id.supplier_part_id for item in message.items] == ["P-100", "P-200", "P-300"]
    assert message.header.total.amount == Decimal("30.285")
    assert message.header.shipping is not None and message.header.shipping.money.amount == Decimal("4.95")
    assert [item.item_detail.classifications[0].value for item in message.items] == ["44121700", "44120000", "44120000"]
    assert message.items[0].item_detail.description.startswith("Ballpoint pen, blue \u2013 Café µ 日本 </textarea>")
    # each line carries our reference to this cart and line, for edit, inspect and the OrderRequest
    cart_ref = sessions.get(shop.session_id).cart_ref  # type: ignore[union-attr]
    references = [parse_line_reference(item.item_id.supplier_part_auxiliary_id) for item in message.items]
    assert references == [(cart_ref, 1), (cart_ref, 2), (cart_ref, 3)]
    # and no credential secret travels through the browser
    assert buyer.secret.encode() not in posted
    assert b"SharedSecret" not in posted


def test_the_operator_cli_finds_the_local_stack_and_never_prints_a_secret(
    stack: StackProcess, buyers: dict[str, Buyer]
) -> None:
    # Given buyers registered with the CLI (each secret was printed once, when generated)
    # When the operator lists and shows them without naming the table (the CLI reads .local/stack.json)
    listing = run_cli(stack, "partners", "list", table=False)
    shown = json.loads(run_cli(stack, "partners", "show", buyers["base64"].partner_id, table=False))

    # Then it finds them in the local stack
    assert {buyer.partner_id for buyer in buyers.values()} <= {row.split()[0] for row in listing.splitlines()}
    assert shown["cart_encoding"] == "base64" and shown["cart_field_name"] == "cXML-base64"
    assert shown["credentials"]["production"]["active_secrets"] == 1
    # And neither a secret nor its hash is ever printed again
    for output in (listing, json.dumps(shown)):
        assert buyers["base64"].secret not in output
        assert "pbkdf2" not in output


# --- one-time links and expiry --------------------------------------------------------------------


def test_a_start_link_works_once(stack: StackProcess, buyer: Buyer) -> None:
    url = start_url(stack, buyer)
    enter_shop(url)

    again = request("GET", url)

    assert again.status == 410
    assert again.content_type.startswith("text/html")
    assert "already used" in again.text
    assert "Traceback" not in again.text


def test_a_return_link_works_once(stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str]) -> None:
    shop = open_shop(stack, buyer, shop_headers)
    assert shop.put({"lines": [line("P1", "1", "1.00")]}).status == 200
    url = shop.return_url()
    assert request("GET", url).status == 200

    again = request("GET", url)

    assert again.status == 410
    assert again.content_type.startswith("text/html")
    assert "already returned" in again.text
    assert "<form" not in again.text


@pytest.mark.parametrize("path", ["/punchout/start/", "/punchout/return/"])
def test_an_unknown_link_is_a_plain_page(stack: StackProcess, path: str) -> None:
    answer = request("GET", f"{stack.base_url}{path}{secrets.token_urlsafe(32)}")

    assert answer.status == 404
    assert answer.content_type.startswith("text/html")
    assert "not valid" in answer.text


def set_expiry(stack: StackProcess, pk: str, sk: str, seconds_from_now: int) -> None:
    """Move an item's `expires_at` (DynamoDB Local never deletes by TTL, so the item stays readable)."""
    stack.dynamodb.update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="SET expires_at = :t",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) + seconds_from_now)}},
    )


def token_pk(url: str) -> str:
    return "TOKEN#" + hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest()


def test_an_expired_start_link_is_refused(stack: StackProcess, buyer: Buyer) -> None:
    # Given a start link whose ten minutes are over
    url = start_url(stack, buyer)
    set_expiry(stack, token_pk(url), "START", -1)

    # When the browser follows it
    answer = request("GET", url)

    # Then it gets a plain page saying so, not the shop
    assert answer.status == 410
    assert "expired" in answer.text
    assert "Location" not in answer.headers


def test_an_expired_session_is_refused_before_dynamodb_deletes_it(
    stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str]
) -> None:
    # Given a session whose time is over, still in the table (TTL deletion lags, and never runs locally)
    shop = open_shop(stack, buyer, shop_headers)
    set_expiry(stack, f"SESSION#{shop.session_id}", "SESSION", -1)

    # When the shop reads it, stores a cart or transfers it
    answers = [shop.context(), shop.put({"lines": [line("P1", "1", "1.00")]}), shop.transfer()]

    # Then each is refused as if the session did not exist
    assert [answer.status for answer in answers] == [404, 404, 404]
    assert all("unknown or expired" in answer.json()["error"]["message"] for answer in answers)


def test_a_start_link_of_an_expired_session_is_refused(stack: StackProcess, buyer: Buyer) -> None:
    # Given a fresh start link whose session has expired meanwhile
    url = start_url(stack, buyer)
    session_id = stack.dynamodb.get_item(
        TableName=stack.table_name, Key={"pk": {"S": token_pk(url)}, "sk": {"S": "START"}}
    )["Item"]["session_id"]["S"]
    set_expiry(stack, f"SESSION#{session_id}", "SESSION", -1)

    answer = request("GET", url)

    assert answer.status == 410
    assert "session has expired" in answer.text


@pytest.mark.parametrize("key", [None, "pk_not-a-key"])
def test_the_shop_api_needs_a_valid_api_key(stack: StackProcess, buyer: Buyer, key: str | None) -> None:
    session_id = enter_shop(start_url(stack, buyer))
    headers = {"x-api-key": key} if key else {}

    answer = request("GET", f"{stack.base_url}/shop/sessions/{session_id}", headers=headers)

    # Refused by API Gateway's key check (403) where the API requires keys, else by the function (401)
    assert answer.status in (401, 403), answer.status
    assert session_id.encode() not in answer.body and b"jane.buyer" not in answer.body


# --- a 5,000-line cart on the real engine ---------------------------------------------------------

LARGE_LINES = 5000


def large_cart_lines() -> list[dict[str, Any]]:
    return builders.large_cart_lines(LARGE_LINES)


def test_dynamodb_local_enforces_the_400_kb_item_limit(stack: StackProcess) -> None:
    # Given the stack's DynamoDB engine (DynamoDB Local wherever Java runs)
    if shutil.which("java"):
        assert stack.dynamodb_engine == "dynamodb-local"

    # When one item of just over 400 KB is written
    with pytest.raises(ClientError) as refused:
        stack.dynamodb.put_item(
            TableName=stack.table_name,
            Item={"pk": {"S": "LIMIT#probe"}, "sk": {"S": "PROBE"}, "data": {"B": b"x" * DYNAMODB_ITEM_LIMIT}},
        )

    # Then it is refused as the real service refuses it: the large cart below proves the chunking
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "maximum allowed size" in refused.value.response["Error"]["Message"]


def test_a_5000_line_cart_goes_round_trip_on_the_real_engine(
    stack: StackProcess, buyers: dict[str, Buyer], shop_headers: dict[str, str], sessions: SessionRepository
) -> None:
    # One test, not one per aspect: pytest-xdist would build a shared module fixture once per worker.
    # Given a session of a base64 buyer (as Ariba prefers) and a cart of 5,000 lines (about 1.3 MB of JSON)
    shop = open_shop(stack, buyers["base64"], shop_headers)
    lines = large_cart_lines()
    seconds: dict[str, float] = {}

    def timed(step: str, action: Callable[[], Answer]) -> Answer:
        started = time.monotonic()
        answer = action()
        seconds[step] = time.monotonic() - started
        return answer

    # When the shop stores it, reads it back and transfers it, and the browser follows the return link
    put = timed("PUT cart", lambda: shop.put({"lines": lines}))
    context = timed("GET session", shop.context)
    return_url = shop.return_url()
    page = timed("GET return page", lambda: request("GET", return_url))
    print("\n5,000-line cart over HTTP: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))

    # Then DynamoDB Local accepted it whole
    assert put.status == 200, put.body[:500]
    assert put.json()["line_count"] == LARGE_LINES
    # And it lives in several compressed chunk items, each below 400 KB
    session = sessions.get(shop.session_id)
    assert session is not None
    pages = stack.dynamodb.get_paginator("query").paginate(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CART#{session.cart_ref}"}},
        ConsistentRead=True,
    )
    chunks = [item for page in pages for item in page["Items"] if item["sk"]["S"].startswith("LINES#")]
    assert len(chunks) >= 2, len(chunks)
    assert max(len(item["data"]["B"]) for item in chunks) < DYNAMODB_ITEM_LIMIT
    # And the shop reads every line back
    assert context.status == 200
    expected_parts = [line["supplier_part_id"] for line in lines]
    assert [line["supplier_part_id"] for line in context.json()["cart"]["lines"]] == expected_parts
    # And the return page fits a Lambda response (6 MB, with room for the proxy response's JSON)
    assert len(page.body) < LAMBDA_RESPONSE_LIMIT - 64 * 1024, len(page.body)
    # And the document the browser posts holds every line, in order, with the cart's total
    document = read_document(PostedForm.of(page).document("base64"))
    assert isinstance(document, MessageDocument)
    assert [item.item_id.supplier_part_id for item in document.message.items] == expected_parts
    total = sum((Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in lines), Decimal(0))
    assert document.message.header.total.amount == total


# --- every answer of the cXML routes is cXML -------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<cXML payloadID="1@attacker" timestamp="2026-01-01T00:00:00+00:00"><Header><From><Credential domain="x">
<Identity>&lol9;</Identity></Credential></From><To/><Sender/></Header><Request><ProfileRequest/></Request></cXML>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<cXML payloadID="2@attacker" timestamp="2026-01-01T00:00:00+00:00"><Header><From><Credential domain="x">
<Identity>&secret;</Identity></Credential></From><To/><Sender/></Header><Request><ProfileRequest/></Request></cXML>
"""


@dataclass(frozen=True)
class Case:
    route: str
    code: int
    body: Callable[[Buyer, Buyer], bytes]  # (an enabled buyer, a disabled one) → the document
    text: str = ""  # expected in Status@text or the message


def _setup(**options: Any) -> Callable[[Buyer, Buyer], bytes]:
    return lambda buyer, _: builders.setup_request(**{**buyer.credentials, **options})


CASES = {
    "billion laughs to /cxml/setup": Case("setup", 406, lambda b, d: BILLION_LAUGHS),
    "billion laughs to /cxml/order": Case("order", 406, lambda b, d: BILLION_LAUGHS),
    "billion laughs to /cxml/profile": Case("profile", 406, lambda b, d: BILLION_LAUGHS),
    "external entity": Case("setup", 406, lambda b, d: XXE),
    "not XML": Case("setup", 406, lambda b, d: b'{"cXML": "no"}'),
    "empty body": Case("order", 406, lambda b, d: b""),
    "truncated document": Case("setup", 406, lambda b, d: builders.setup_request(**b.credentials)[:-40]),
    "wrong secret": Case("setup", 401, _setup(secret="not the secret")),
    "no secret": Case(
        "order",
        401,
        lambda b, d: builders.order_request(
            "PO-X", [builders.item_out("P1", "1")], **{**b.credentials, "secret": None}
        ),
    ),
    "unknown buyer": Case("setup", 401, _setup(identity="AN-NOBODY")),
    "production credentials in test mode": Case("setup", 401, _setup(mode="test")),
    "disabled buyer": Case("setup", 403, lambda b, d: builders.setup_request(**d.credentials)),
    "BrowserFormPost host not allowed": Case(
        "setup", 403, _setup(browser_form_post="https://evil.example/cart"), "https://evil.example"
    ),
    "no BrowserFormPost and no default": Case("setup", 400, _setup(browser_form_post=None)),
    "source operation": Case("setup", 450, _setup(operation="source")),
    "OrderRequest at the setup URL": Case(
        "setup", 450, lambda b, d: builders.order_request("PO-X", [builders.item_out("P1", "1")], **b.credentials)
    ),
    "ProfileRequest": Case("profile", 200, lambda b, d: builders.profile_request(**b.credentials)),
}


@pytest.fixture(scope="module")
def disabled_buyer(stack: StackProcess) -> Buyer:
    disabled = register_buyer(stack, "sessions-disabled")
    run_cli(stack, "partners", "disable", disabled.partner_id)
    return disabled


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_every_answer_of_a_cxml_route_is_cxml_with_the_mirrored_http_status(
    stack: StackProcess, buyer: Buyer, disabled_buyer: Buyer, case: Case
) -> None:
    # When the document is posted to the route over HTTP
    answer = post_cxml(f"{stack.base_url}/cxml/{case.route}", case.body(buyer, disabled_buyer))

    # Then the answer is a well-formed cXML document whose Status carries the code, and the HTTP
    # status mirrors it (cxml_answer checks both)
    document = cxml_answer(answer)
    assert document.status.code == case.code, document.status
    assert case.text in f"{document.status.text} {document.status.message}"
    # and nothing of the attack came back: no expanded entity, no file content
    assert b"lollollol" not in answer.body and b"root:" not in answer.body
    if case.code == 200:
        assert isinstance(document.response, ProfileResponse)
        urls = {t.request_name: t.url for t in document.response.transactions}
        assert urls["PunchOutSetupRequest"] == f"{stack.base_url}/cxml/setup"
        assert urls["OrderRequest"] == f"{stack.base_url}/cxml/order"


def test_authentication_failures_all_read_the_same(stack: StackProcess, buyer: Buyer) -> None:
    answers = [
        cxml_answer(setup(stack, buyer, secret="not the secret")).status,
        cxml_answer(setup(stack, buyer, identity="AN-NOBODY")).status,
        cxml_answer(setup(stack, buyer, secret=None)).status,
    ]
    assert {(status.code, status.text, status.message) for status in answers} == {
        (answers[0].code, answers[0].text, answers[0].message)
    }


@pytest.mark.parametrize(
    "content_type",
    ["text/xml; charset=ISO-8859-1", "application/x-www-form-urlencoded"],
    # The second is what Ruby's Net::HTTP.post, curl's -d and PHP's curl with a string body send when the
    # buyer's code names no Content-Type
    ids=["text-xml", "form-urlencoded-by-default"],
)
def test_a_setup_request_in_iso_8859_1_is_read_in_its_declared_encoding(
    stack: StackProcess, buyer: Buyer, shop_headers: dict[str, str], content_type: str
) -> None:
    # Given a PunchOutSetupRequest declared and encoded as ISO-8859-1, with a non-ASCII user name
    utf8 = builders.setup_request(**buyer.credentials)
    latin1 = (
        utf8.decode("utf-8")
        .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
        .replace("Jane Buyer", "Jörg Müßig")
        .encode("iso-8859-1")
    )
    assert re.search(rb"J\xf6rg M\xfc\xdfig", latin1)

    # When it is posted (the local gateway, like API Gateway for binary bodies, passes the bytes intact)
    answer = cxml_answer(post_cxml(f"{stack.base_url}/cxml/setup", latin1, content_type))

    # Then it is accepted, and the shop sees the name as written
    assert answer.status.code == 200
    assert isinstance(answer.response, PunchOutSetupResponse)
    shop = Shop(stack.base_url, shop_headers, enter_shop(answer.response.start_page_url))
    assert shop.context().json()["user"]["name"] == "Jörg Müßig"
