"""Secrets that a canary sweep of the local stack found leaving the gateway, each held to staying in.

The sweep planted distinctive values (shared secrets, API keys, card numbers) in every flow and looked
for them in every answer, log line, stored item and queued message. The leak guard of the unit tier
(tests/support/leaks.py) judges only the secrets it can recognise in a request (a complete
``<SharedSecret>...</SharedSecret>``, a ``PCard@number``, an ``x-api-key``); these tests name the value.
"""

from __future__ import annotations

import io

import pytest

from punchout.partners import TradingPartner
from tests.support import builders
from tests.unit.gateway.helpers import call, configure, cxml

CANARY = "CANARY-shared-secret-7f3e9a"


def cut_short_in_the_secret(opening: str) -> bytes:
    """A setup request whose SharedSecret starts with ``opening`` (a CDATA section, a comment) and whose
    body ends a little after the secret: the section never closes."""
    document = builders.setup_request(secret=CANARY).decode()
    start = document.index(f"<SharedSecret>{CANARY}")
    document = document.replace(f"<SharedSecret>{CANARY}", f"<SharedSecret>{opening}{CANARY}", 1)
    return document[: start + len("<SharedSecret>") + len(opening) + len(CANARY) + 20].encode()


@pytest.mark.parametrize("route", ["/cxml/setup", "/cxml/profile", "/cxml/order"])
@pytest.mark.parametrize("opening", ["<![CDATA[", "<!-- "], ids=["cdata", "comment"])
def test_a_document_cut_short_inside_its_secret_is_refused_without_quoting_it(
    partner: TradingPartner, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch, route: str, opening: str
) -> None:
    configure(monkeypatch, ORDER_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unused.fifo")
    # Given a body cut short inside its SharedSecret's CDATA section (or comment), which the XML parser's
    # error message would quote ("CData section not finished\n<the section's first 50 characters>")
    body = cut_short_in_the_secret(opening)

    # When it is posted
    response = call("POST", route, body, {"Content-Type": "text/xml"}, binary=True)

    # Then it is 406, and neither the answer nor a log line holds the secret
    assert cxml(response).status.code == 406
    assert CANARY not in response["body"]
    assert CANARY not in log_lines.getvalue()


@pytest.mark.parametrize("route", ["/cxml/setup", "/cxml/order"])
@pytest.mark.parametrize("comment", [f"<!-- {CANARY} -- old -->", f"<!--{CANARY}--->"], ids=["double-hyphen", "three"])
def test_a_comment_in_the_secret_with_a_double_hyphen_is_refused_without_quoting_it(
    partner: TradingPartner, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch, route: str, comment: str
) -> None:
    configure(monkeypatch, ORDER_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unused.fifo")
    # Given a whole document whose SharedSecret holds a comment with "--" in it (a secret commented out when it
    # was rotated, say), which XML forbids: libxml2's message quotes the comment on its first line ("Double
    # hyphen within comment: <!--<the comment's first 50 characters>")
    body = builders.setup_request(secret=CANARY).replace(
        f"<SharedSecret>{CANARY}".encode(), f"<SharedSecret>{comment}x".encode(), 1
    )

    # When it is posted
    response = call("POST", route, body, {"Content-Type": "text/xml"}, binary=True)

    # Then it is 406, and neither the answer nor a log line holds what the comment held
    assert cxml(response).status.code == 406
    assert CANARY not in response["body"]
    assert CANARY not in log_lines.getvalue()
