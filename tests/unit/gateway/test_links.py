"""One-time start and return links, and session expiry (issue 3, "Routes").

A reused or expired link gets a plain HTML page (410), an unknown one 404, never a stack trace.
Expiry is simulated the way it happens in production: the item's ``expires_at`` lies in the past but
DynamoDB's TTL has not deleted it yet.
"""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest

import punchout.store.sessions
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import response_header
from tests.unit.gateway.helpers import (
    BASE_URL,
    ReturnPage,
    Shop,
    call,
    configure,
    expire,
    follow,
    line,
    open_session,
    post_setup,
    register,
    start_token,
    table_items,
)


def _page(response: dict[str, Any]) -> tuple[int, str]:
    """Status and visible text of an HTML page; asserts it is a plain page, not an error dump."""
    assert (response_header(response, "Content-Type") or "").startswith("text/html"), response
    body = response["body"]
    assert "Traceback" not in body
    assert 'File "' not in body
    assert "Error:" not in body
    text = lxml.html.document_fromstring(body).text_content()  # type: ignore[attr-defined]
    return response["statusCode"], " ".join(text.split())


def _new_start_token() -> str:
    return start_token(post_setup(builders.setup_request()))


def _stored_expiry(table: Table, sk: str) -> int:
    """The ``expires_at`` of the one item whose sort key is ``sk`` (START, RETURN, SESSION)."""
    [item] = [i for i in table_items(table) if i["sk"]["S"] == sk]
    return int(item["expires_at"]["N"])


def _clock_at(monkeypatch: pytest.MonkeyPatch, moment: int) -> None:
    monkeypatch.setattr(punchout.store.sessions, "now", lambda: moment)


def _bits(token: str) -> int:
    """Random bits in a URL-safe base64 token (6 per character)."""
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), token
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


def test_a_plain_page_shows_its_title_and_message_as_text() -> None:
    from punchout.http import html_page

    # Given a title and a message with markup in them
    title, message = "<b>Gone</b>", '<script>alert(1)</script> & "more"'
    # When they are shown on a plain page
    page = lxml.html.document_fromstring(str(html_page(410, title, message).body))
    # Then the browser shows them as written, and has no script to run
    assert (page.findtext(".//h1"), page.findtext(".//p")) == (title, message)
    assert page.xpath("//script") == []


# --- start links ----------------------------------------------------------------------------------


def test_start_link_redirects_to_the_shop_with_the_session(partner: Any) -> None:
    # Given a fresh start link, and a partner whose shop URL has a query of its own (?store=1)
    token = _new_start_token()
    # When the browser opens it
    response = call("GET", f"/punchout/start/{token}")
    # Then it is sent (303) to the shop entry URL with punchout_session added and store=1 kept
    assert response["statusCode"] == 303
    # And no cache keeps the redirect, and the shop is sent no Referer
    assert (response_header(response, "Cache-Control"), response_header(response, "Referrer-Policy")) == (
        "no-store",
        "no-referrer",
    )
    location = urlsplit(response_header(response, "Location") or "")
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example.com", "/punchout")
    query = parse_qs(location.query)
    assert query["store"] == ["1"]
    assert len(query["punchout_session"]) == 1


def test_start_link_works_only_once(partner: Any) -> None:
    # Given a start link that was opened once
    token = _new_start_token()
    assert call("GET", f"/punchout/start/{token}")["statusCode"] == 303
    # When it is opened again
    response = call("GET", f"/punchout/start/{token}")
    status, text = _page(response)
    # Then a plain page says it was already used, one that may show in the buyer's iframe
    assert status == 410
    assert "already used" in text
    assert "frame-ancestors *" in (response_header(response, "Content-Security-Policy") or "")


# What browsers send when they fetch a page ahead of the user: Chromium's <link rel=prefetch> and Speculation
# Rules (a prerender adds its own token), older Chromium, older Firefox, Safari's previews.
PREFETCH_HEADERS = [
    {"Sec-Purpose": "prefetch"},
    {"Sec-Purpose": "prefetch;prerender"},
    {"sec-purpose": "prefetch; anonymous-client-ip"},
    {"Purpose": "prefetch"},
    {"X-Moz": "prefetch"},
    {"X-Purpose": "preview"},
    {"Purpose": "preload, prefetch"},  # two Purpose headers, joined by a proxy
]


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-User": "?1"},  # the user's click
        {"X-Moz": "livebookmarks"},  # Firefox's other, older use of the header
    ],
)
def test_a_start_link_the_user_opens_is_not_taken_for_a_fetch_ahead(partner: Any, headers: dict[str, str]) -> None:
    # Given a fresh start link, opened with headers that name no fetch ahead of the user
    token = _new_start_token()
    # Then it opens the shop
    assert call("GET", f"/punchout/start/{token}", headers=headers)["statusCode"] == 303


@pytest.mark.parametrize("headers", PREFETCH_HEADERS)
def test_a_start_link_fetched_ahead_of_the_user_is_not_spent(partner: Any, headers: dict[str, str]) -> None:
    # Given a fresh start link, fetched by the browser ahead of time (a prefetch or prerender)
    token = _new_start_token()
    ahead = call("GET", f"/punchout/start/{token}", headers=headers)
    # Then that fetch gets a plain page that no cache keeps and no browser shows (not a 2xx: Chromium drops a
    # prefetch or prerender answered so), with no way into the shop
    status, _ = _page(ahead)
    assert status == 403
    assert response_header(ahead, "Location") is None
    assert response_header(ahead, "Cache-Control") == "no-store"
    # And the user's own click still opens the shop
    assert call("GET", f"/punchout/start/{token}")["statusCode"] == 303


@pytest.mark.parametrize("headers", PREFETCH_HEADERS)
def test_a_return_link_fetched_ahead_of_the_user_is_not_spent(shop: Shop, headers: dict[str, str]) -> None:
    # Given a transferred cart's return link, fetched by the browser ahead of time
    shop.put_lines(line())
    url = shop.return_url()
    ahead = call("GET", url.removeprefix(BASE_URL), headers=headers)
    # Then that fetch holds no cart, and the link still opens the page that posts it
    status, _ = _page(ahead)
    assert status == 403
    assert "PunchOutOrderMessage" not in ahead["body"]
    assert response_header(ahead, "Cache-Control") == "no-store"
    ReturnPage.of(follow(url))


def test_unknown_start_link_is_404(partner: Any) -> None:
    # Given no such start link was ever issued
    # When the browser opens one
    status, text = _page(call("GET", "/punchout/start/thisTokenWasNeverIssued0123456789abcdefghij"))
    # Then a plain page says it is not valid
    assert status == 404
    assert "not valid" in text


def test_expired_start_link_is_410(partner: Any, table: Table) -> None:
    # Given a start link whose lifetime is over
    token = _new_start_token()
    expire(table, "TOKEN#", "START")
    # When the browser opens it
    status, text = _page(call("GET", f"/punchout/start/{token}"))
    # Then a plain page says it expired
    assert status == 410
    assert "expired" in text


def test_expired_start_link_stays_unusable(partner: Any, table: Table) -> None:
    # Given an expired start link that was refused once
    token = _new_start_token()
    expire(table, "TOKEN#", "START")
    call("GET", f"/punchout/start/{token}")
    # When it is tried again
    status, _ = _page(call("GET", f"/punchout/start/{token}"))
    # Then it is still refused
    assert status == 410


@pytest.mark.parametrize(("early", "status"), [(1, 303), (0, 410)], ids=["a second before", "at its expiry"])
def test_a_start_link_expires_at_the_second_its_lifetime_ends(
    partner: Any, table: Table, monkeypatch: pytest.MonkeyPatch, early: int, status: int
) -> None:
    # Given a start link, and the clock at its stored expiry (or a second before)
    token = _new_start_token()
    _clock_at(monkeypatch, _stored_expiry(table, "START") - early)
    # When the browser opens it
    # Then it works until that second, and from that second on it is expired
    assert call("GET", f"/punchout/start/{token}")["statusCode"] == status


def test_start_link_replaces_a_punchout_session_the_shop_url_already_has(table: Table) -> None:
    # Given a partner whose shop URL carries a punchout_session of its own (a placeholder)
    register(table, shop_url="https://shop.example.com/punchout?punchout_session=PLACEHOLDER&store=1")
    # When the browser opens a start link
    response = call("GET", f"/punchout/start/{_new_start_token()}")
    # Then the shop gets one punchout_session, the new session's, and its other parameters
    query = parse_qs(urlsplit(response_header(response, "Location") or "").query)
    assert len(query["punchout_session"]) == 1
    assert query["punchout_session"] != ["PLACEHOLDER"]
    assert query["store"] == ["1"]


def test_an_unexpected_failure_opening_a_start_link_is_a_plain_500_page(
    partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import setup_request.handler

    # Given a start link, and a session store that fails when it is redeemed
    token = _new_start_token()

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB is down at internal-host-42")

    monkeypatch.setattr(setup_request.handler.service(), "start", broken)
    # When the browser opens it
    status, text = _page(call("GET", f"/punchout/start/{token}"))
    # Then a plain page says something went wrong and what to do next, and nothing about the failure
    assert status == 500
    assert "start PunchOut again from your procurement system" in text
    assert "internal-host-42" not in text


def test_start_link_lifetime_is_configurable(partner: Any, table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given start links configured to live 5 seconds
    configure(monkeypatch, START_TOKEN_TTL_SECONDS="5")
    # When one is issued
    _new_start_token()
    # Then its stored expiry is 5 seconds away
    assert 0 <= _stored_expiry(table, "START") - int(time.time()) <= 5


def test_start_link_of_an_expired_session_is_410(partner: Any, table: Table) -> None:
    # Given a valid start link whose session has expired (TTL has not deleted it yet)
    token = _new_start_token()
    expire(table, "SESSION#", "SESSION")
    # When the browser opens it
    status, text = _page(call("GET", f"/punchout/start/{token}"))
    # Then a plain page says the session expired
    assert status == 410
    assert "expired" in text


def test_start_link_is_stored_only_as_a_hash(partner: Any, table: Table) -> None:
    # Given a start link
    token = _new_start_token()
    # When the table is searched for it
    stored = repr(table_items(table))
    # Then only its hash is there (the link is a bearer key)
    assert token not in stored


# --- return links ---------------------------------------------------------------------------------


def test_return_link_works_only_once(shop: Shop) -> None:
    # Given a transferred cart and its return link, followed once
    shop.put_lines(line())
    url = shop.return_url()
    assert follow(url)["statusCode"] == 200
    # When the return link is followed again
    status, text = _page(follow(url))
    # Then the plain "already used" page says the cart was already returned
    assert status == 410
    assert "already used" in text
    assert "already returned" in text
    # And what to do if it did not arrive: after a reload before its form was sent (a browser without
    # JavaScript shows the button; a reload cancels the post under way), the cart may never have left, and
    # the gateway cannot tell (the browser posts it to the buyer, not to us)
    assert "If it did not arrive" in text
    assert "start PunchOut again from your procurement system" in text


def test_a_used_return_link_still_says_so_once_its_session_is_gone(shop: Shop, table: Table) -> None:
    # Given a return link followed once, and its session since deleted (TTL)
    shop.put_lines(line())
    url = shop.return_url()
    assert follow(url)["statusCode"] == 200
    table.delete(f"SESSION#{shop.session_id}", "SESSION")
    # When the browser follows it again
    status, text = _page(follow(url))
    # Then it is told the cart was already returned (the link is refused before the session is read), not
    # that the session ended
    assert status == 410
    assert "already returned" in text


def test_unknown_return_link_is_404(partner: Any) -> None:
    # Given no such return link was ever issued
    # When the browser opens one
    status, _ = _page(call("GET", "/punchout/return/thisTokenWasNeverIssued0123456789abcdefghij"))
    # Then a plain page says it is not valid
    assert status == 404


UNISSUED = "thisTokenWasNeverIssued0123456789abcdefghi"  # 42 characters: one short of ours
NOT_OUR_TOKENS = {
    "over the key limit": "A" * 2100,
    "too short": UNISSUED,
    "too long": UNISSUED + "j_",
    "other characters": UNISSUED + "~",
    "non-ASCII": UNISSUED + "\u00e9",
}


@pytest.mark.parametrize("token", list(NOT_OUR_TOKENS.values()), ids=list(NOT_OUR_TOKENS))
@pytest.mark.parametrize("link", ["start", "return"])
def test_a_link_that_cannot_be_ours_is_404_without_a_lookup(
    partner: Any, dynamodb_keys: list[str], log_lines: Any, link: str, token: str
) -> None:
    # Given a link token we could never have issued
    # When the browser opens it
    status, text = _page(call("GET", f"/punchout/{link}/{token}"))
    # Then it is the page of any unknown link, and DynamoDB was not asked
    assert status == 404
    assert "not valid" in text
    assert not [pk for pk in dynamodb_keys if pk.startswith(("TOKEN#", "SESSION#"))]
    assert '"level":"ERROR"' not in log_lines.getvalue()


# A return link refused when its own lifetime is over, or when its session's is (TTL has not deleted either yet).
ENDED_RETURN_LINKS = {
    "link expired": ("TOKEN#", "RETURN", "expired"),
    "session ended": ("SESSION#", "SESSION", "session has ended"),
}


@pytest.mark.parametrize(("prefix", "sort_key", "phrase"), ENDED_RETURN_LINKS.values(), ids=ENDED_RETURN_LINKS.keys())
def test_a_return_link_whose_lifetime_or_session_is_over_is_410(
    shop: Shop, table: Table, prefix: str, sort_key: str, phrase: str
) -> None:
    # Given a return link whose lifetime, or whose session's, is over
    shop.put_lines(line())
    url = shop.return_url()
    expire(table, prefix, sort_key)
    # When the browser opens it
    status, text = _page(follow(url))
    # Then a plain page says which
    assert status == 410
    assert phrase in text


def test_a_return_link_outlives_the_session_it_was_issued_in(
    partner: Any, shop_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given sessions that live one minute, and a cart transferred in that minute (return links live 10)
    configure(monkeypatch, SESSION_TTL_SECONDS="60")
    shop = Shop(shop_headers, open_session()[0])
    shop.put_lines(line())
    url = shop.return_url()
    # When the browser follows the link five minutes later, after the session's own expiry
    monkeypatch.setattr(punchout.store.sessions, "now", lambda: int(time.time()) + 300)
    response = follow(url)
    # Then the cart is still posted back to the buyer
    assert response["statusCode"] == 200
    assert "PunchOutOrderMessage" in ReturnPage.of(response).field.get("value")


def test_start_token_is_not_a_return_token(partner: Any) -> None:
    # Given a fresh, unused start link
    token = _new_start_token()
    # When its token is used as a return link
    status, _ = _page(call("GET", f"/punchout/return/{token}"))
    # Then it is not valid there
    assert status == 404
    # ... and still works as a start link
    assert call("GET", f"/punchout/start/{token}")["statusCode"] == 303


# --- refused links are logged, their tokens never ---------------------------------------------------


def test_each_refused_link_is_logged_without_its_token(shop: Shop, table: Table, log_lines: io.StringIO) -> None:
    # Given a used start link, an unknown one, a used return link and a start link of an expired session
    used_start = _new_start_token()
    assert call("GET", f"/punchout/start/{used_start}")["statusCode"] == 303
    unknown = "thisTokenWasNeverIssued0123456789abcdefghij"
    shop.put_lines(line())
    return_url = shop.return_url()
    assert follow(return_url)["statusCode"] == 200
    orphan = _new_start_token()
    # When each is opened (the orphan once its session has expired)
    assert call("GET", f"/punchout/start/{used_start}")["statusCode"] == 410
    assert call("GET", f"/punchout/start/{unknown}")["statusCode"] == 404
    assert follow(return_url)["statusCode"] == 410
    expire(table, "SESSION#", "SESSION")
    assert call("GET", f"/punchout/start/{orphan}")["statusCode"] == 410
    # Then each refusal is one INFO line with its status, link and reason
    lines = [json.loads(text) for text in log_lines.getvalue().splitlines()]
    refused = [line for line in lines if line["message"] == "Link refused"]
    assert [(r["level"], r["status"], r["link"], r["reason"]) for r in refused] == [
        ("INFO", 410, "start", "link used"),
        ("INFO", 404, "start", "link unknown"),
        ("INFO", 410, "return", "link used"),
        ("INFO", 410, "start", "session expired"),
    ]
    # ... and no token, nor any part of it, reaches the log
    tokens = [used_start, unknown, urlsplit(return_url).path.rsplit("/", 1)[1], orphan]
    for token in tokens:
        assert token[:8] not in log_lines.getvalue()


def test_a_start_link_refused_for_its_expired_session_is_logged_with_the_session_id(
    partner: Any, table: Table, log_lines: io.StringIO
) -> None:
    # Given a start link whose session (the only one) has expired
    token = _new_start_token()
    [session_id] = [i["pk"]["S"].removeprefix("SESSION#") for i in table_items(table) if i["sk"]["S"] == "SESSION"]
    expire(table, "SESSION#", "SESSION")
    # When the browser opens it
    assert call("GET", f"/punchout/start/{token}")["statusCode"] == 410
    # Then the refusal's log line names the session, so that support finds what expired (never the token)
    lines = [json.loads(text) for text in log_lines.getvalue().splitlines()]
    [refused] = [line for line in lines if line["message"] == "Link refused"]
    assert (refused["reason"], refused["session_id"]) == ("session expired", session_id)


# --- session expiry -------------------------------------------------------------------------------


def test_expired_session_is_404_for_the_shop(shop: Shop, table: Table) -> None:
    # Given a session that expired, its item not yet deleted by TTL
    expire(table, "SESSION#", "SESSION")
    # When the shop reads it
    response = shop.get()
    # Then it is unknown
    assert response["statusCode"] == 404


def test_expired_session_refuses_a_cart(shop: Shop, table: Table) -> None:
    # Given a session that expired, its item not yet deleted by TTL
    expire(table, "SESSION#", "SESSION")
    # When the shop stores a cart
    response = shop.put({"lines": [line()]})
    # Then it is refused as unknown
    assert response["statusCode"] == 404


@pytest.mark.parametrize(("early", "status"), [(1, 200), (0, 404)], ids=["a second before", "at its expiry"])
def test_a_session_expires_at_the_second_its_lifetime_ends(
    shop: Shop, table: Table, monkeypatch: pytest.MonkeyPatch, early: int, status: int
) -> None:
    # Given an open session, and the clock at its stored expiry (or a second before)
    _clock_at(monkeypatch, _stored_expiry(table, "SESSION") - early)
    # When the shop reads it
    # Then it is there until that second, and from that second on it is unknown
    assert shop.get()["statusCode"] == status


def test_session_expiry_is_stored_for_ttl(shop: Shop, table: Table) -> None:
    # Given an open session (4 hours by default)
    # When its item is read
    expires_at = _stored_expiry(table, "SESSION")
    # Then DynamoDB's TTL attribute holds its expiry, as the session context reports it
    assert 4 * 3600 - 60 <= expires_at - time.time() <= 4 * 3600
    assert shop.context()["expires_at"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(expires_at)))


# --- strength of the ids --------------------------------------------------------------------------


def test_session_ids_and_tokens_carry_at_least_128_random_bits(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given several sessions, their start links and return links
    values: list[str] = []
    for _ in range(8):
        session_id, token = open_session()
        url = Shop(shop_headers, session_id).return_url()
        values += [session_id, token, url.rsplit("/", 1)[1]]
    # When their encoding is examined
    # Then each holds at least 128 bits, all differ, and their characters look uniformly random
    assert all(_bits(value) >= 128 for value in values), values
    assert len(set(values)) == len(values)
    counts = Counter("".join(values))
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    assert entropy > 5.5, entropy  # of at most 6 bits per base64 character
