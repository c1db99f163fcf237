"""The check every handler call runs (tests/support/leaks.py) finds a secret wherever it comes out."""

from __future__ import annotations

import html

import pytest

from punchout.observability import logger
from punchout.store.dynamo import Table, dynamodb_client
from tests.support.leaks import assert_answer_keeps_secrets, forget_sent, remember_sent, secrets_kept

SECRET = "leak-guard shared secret"
CARD = "4000 1234 5678 9010"
API_KEY = "leak-guard-api-key-0123456789abcdefghijklmnop"


@pytest.fixture
def sent() -> None:
    """A request that carried a shared secret, a card number and an API key."""
    body = (
        f"<Sender><Credential><SharedSecret>{SECRET}</SharedSecret></Credential></Sender>"
        f'<Payment><PCard number="{CARD}"/></Payment><Payment><PCard number="************1234"/></Payment>'
    )
    remember_sent({"body": body, "headers": {"X-Api-Key": API_KEY}})


@pytest.mark.parametrize("secret", [SECRET, CARD, CARD.replace(" ", ""), API_KEY])
def test_a_secret_sent_in_a_later_answer_is_found(sent: None, secret: str) -> None:
    with pytest.raises(AssertionError, match="is in the answer"):
        assert_answer_keeps_secrets({"statusCode": 200, "body": f"<x>{secret}</x>"})


def test_a_masked_card_number_or_a_short_secret_is_not_judged(sent: None) -> None:
    remember_sent({"body": "<SharedSecret>wrong</SharedSecret>"})
    assert_answer_keeps_secrets({"statusCode": 200, "body": "************1234 is wrong"})


def test_a_secret_in_a_table_write_is_found(sent: None, table: Table) -> None:
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, "note": {"S": f"kept: {SECRET}"}}
    with pytest.raises(AssertionError, match="dynamodb PutItem"), secrets_kept(dynamodb_client()):
        table.client.put_item(TableName=table.name, Item=item)


def test_a_secret_in_a_compressed_chunked_value_is_found(sent: None, table: Table) -> None:
    payload = b"x" * 1_000_000 + SECRET.encode()  # past the first chunk
    with pytest.raises(AssertionError, match="stored chunked value"), secrets_kept(dynamodb_client()):
        table.put_chunks("P", "C#", payload, None)


def test_a_secret_in_a_log_line_is_found(sent: None) -> None:
    with pytest.raises(AssertionError, match="log line"), secrets_kept():
        logger.info("request refused", extra={"note": API_KEY})


@pytest.mark.parametrize("payload", [b"\x1f\x8b" + b"not gzip at all", b"\x1f\x8b\x08\x00" + b"\xff" * 40])
def test_a_stored_value_that_only_looks_gzip_compressed_is_judged_not_crashed_on(
    sent: None, table: Table, payload: bytes
) -> None:
    # Given a value that starts as gzip does without being gzip (an attachment's bytes, or a chunk of
    # a compressed stream past the first: 1 in 65,536 starts so), holding a secret
    value = payload + SECRET.encode()
    # When it is stored, Then the check finds the secret rather than failing the call on the bytes
    with pytest.raises(AssertionError, match="stored chunked value"), secrets_kept(dynamodb_client()):
        table.put_chunks("P", "C#", value, None)


QUOTED_SECRET = 'buyer\'s "test" <secret>'
CARRIED = ["buyer&#x27;s &quot;test&quot; &lt;secret&gt;", 'buyer\'s \\"test\\" <secret>', QUOTED_SECRET]


@pytest.mark.parametrize("carried", CARRIED, ids=["html", "json", "as sent"])
def test_a_secret_is_found_as_html_or_json_carries_it(carried: str) -> None:
    # Given a shared secret holding characters HTML and JSON escape, sent in a request
    remember_sent({"body": f"<SharedSecret>{html.escape(QUOTED_SECRET, quote=False)}</SharedSecret>"})
    # When an answer carries it escaped, Then it is found
    with pytest.raises(AssertionError, match="is in the answer"):
        assert_answer_keeps_secrets({"statusCode": 200, "body": f"<p>{carried}</p>"})


def test_a_new_test_judges_only_what_it_sent(sent: None) -> None:
    # Given secrets sent, and then a new test starting (what tests/conftest.py does before each)
    forget_sent()
    # When an answer carries one of them, Then it is not judged in this test
    assert_answer_keeps_secrets({"statusCode": 200, "body": SECRET})


@pytest.mark.parametrize(
    "written",
    [
        "<SharedSecret><![CDATA[{s}]]></SharedSecret>",
        "<SharedSecret>{a}<!-- a comment -->{b}</SharedSecret>",
        "<SharedSecret>{a}<![CDATA[{b}]]></SharedSecret>",
        '<SharedSecret xml:lang="en">{s}</SharedSecret>',
        '<x:SharedSecret xmlns:x="urn:x">{s}</x:SharedSecret>',
        '<SharedSecret note="{s}">other text</SharedSecret>',
        "<SharedSecret>{s}",  # a body cut short
        "<SharedSecret><![CDATA[{s}",
    ],
    ids=[
        "cdata",
        "split by a comment",
        "split by cdata",
        "attributes",
        "namespace",
        "in an attribute",
        "cut",
        "cut cdata",
    ],
)
def test_a_secret_however_written_is_judged(written: str) -> None:
    # Given a request whose SharedSecret (found by the canary sweep's ways of writing one) holds a secret
    secret = "leak-guard secret 42"
    forget_sent()
    remember_sent({"body": written.format(s=secret, a=secret[:7], b=secret[7:]) + "\n"})

    # When an answer carries the secret, Then the guard finds it
    with pytest.raises(AssertionError, match="is in the answer"):
        assert_answer_keeps_secrets({"statusCode": 406, "body": f"<x>{secret}</x>"})
