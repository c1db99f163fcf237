"""Secrets in log lines are redacted by the gateway's formatter, whatever slipped into a message.

Each test logs through the real Powertools logger and its RedactingFormatter and reads the line
as CloudWatch would get it (JSON, newlines escaped).
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from punchout.observability import logger, redact
from tests.support.logs import captured_log_lines

SECRET = "Sesame-7f3a-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emitted() -> Iterator[io.StringIO]:
    """The lines the gateway's logger writes, through its own formatter."""
    with captured_log_lines() as stream:
        yield stream


def _line(stream: io.StringIO) -> dict[str, Any]:
    """The one line written, which must still be valid JSON after redaction."""
    [line] = stream.getvalue().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def _assert_redacts_to(line: str, expected: str) -> None:
    """``line`` redacts to exactly ``expected``, still a JSON object, with no secret left in it."""
    redacted = redact(line)
    assert redacted == expected
    json.loads(redacted)
    assert SECRET not in redacted


# --- SharedSecret ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fragment",
    [
        f"<SharedSecret>{SECRET}</SharedSecret>",
        f'<SharedSecret xmlns="urn:example:x">{SECRET}</SharedSecret>',
        f"<cxml:SharedSecret>{SECRET}</cxml:SharedSecret>",
        f'<c-1.x:SharedSecret xmlns:c-1.x="urn:example:x">{SECRET}</c-1.x:SharedSecret >',
        f"<sharedsecret>{SECRET}</sharedsecret>",
        f"<SharedSecret>\n  {SECRET}\n  second line\n</SharedSecret>",
        f"<SharedSecret><b>{SECRET}</b></SharedSecret>",
        f"<SharedSecret><![CDATA[a<b {SECRET}]]></SharedSecret>",
        f"<SharedSecret>a&lt;b&amp;{SECRET}</SharedSecret>",
        f"<SHAREDSECRET>{SECRET}</sharedSecret>",
    ],
    ids=[
        "plain",
        "default-namespace",
        "prefix",
        "odd-prefix",
        "lower-case",
        "multi-line",
        "child-markup",
        "cdata",
        "entities",
        "mixed-case",
    ],
)
def test_a_shared_secret_in_a_message_is_redacted(emitted: io.StringIO, fragment: str) -> None:
    # Given a message quoting a Sender credential
    # When it is logged
    logger.info(f"<Sender><Credential domain='NetworkID'><Identity>AN01</Identity>{fragment}</Credential></Sender>")
    # Then the line keeps the element but not the secret
    line = _line(emitted)
    assert SECRET not in json.dumps(line)
    assert "[redacted]" in line["message"]
    assert "AN01" in line["message"]
    assert "a<b" not in line["message"]


def test_a_shared_secret_in_an_extra_key_is_redacted(emitted: io.StringIO) -> None:
    # Given a secret in a structured key of the line, not in its message
    # When it is logged
    logger.info("Request received", extra={"body": f"<Sender><SharedSecret>{SECRET}</SharedSecret></Sender>"})
    # Then it is redacted there too
    line = _line(emitted)
    assert SECRET not in json.dumps(line)
    assert line["body"] == "<Sender><SharedSecret>[redacted]</SharedSecret></Sender>"


def test_a_shared_secret_in_an_exception_is_redacted(emitted: io.StringIO) -> None:
    # Given an exception whose text quotes a secret
    try:
        raise ValueError(f"cannot read <SharedSecret>{SECRET}</SharedSecret>")
    except ValueError:
        # When it is logged with its traceback
        logger.exception("Unexpected failure")
    # Then neither the exception text nor the traceback carry the secret
    line = _line(emitted)
    assert "ValueError" in line["exception"]
    assert SECRET not in json.dumps(line)


def test_an_exception_is_written_once_in_its_line(emitted: io.StringIO) -> None:
    # Given an unexpected failure, raised a few calls deep
    def read_table() -> None:
        raise RuntimeError(" on ".join(("ThrottlingException", "GetItem")))  # its text not in its source line

    try:
        read_table()
    except RuntimeError:
        # When it is logged with its traceback
        logger.exception("Unexpected failure")
    # Then the line holds the traceback once (log ingestion is paid per byte): in `exception`, with the
    # frames and the error, not again as a structured copy of the same frames
    line = _line(emitted)
    assert "in read_table" in line["exception"]
    assert line["exception_name"] == "RuntimeError"
    assert json.dumps(line).count("ThrottlingException on GetItem") == 1


# Excerpts whose SharedSecret has no closing tag (a body cut short, a malformed document) end in
# "<SharedSecret>[redacted]"; those whose opening tag holds a `<` before its `>`, or never gets its `>`
# (malformed markup quoted in an error text), in "<SharedSecret[redacted]": the opening tag may hold the
# secret, and its closing tag cannot be trusted.
UNCLOSED = "<SharedSecret>[redacted]"
MALFORMED = "<SharedSecret[redacted]"
CUT_SHORT_EXCERPTS = {
    "cut-short": (f"<Credential><SharedSecret>{SECRET}", UNCLOSED),
    "closing-missing": (f"<SharedSecret>{SECRET}</Credential><Identity>AN01</Identity>", UNCLOSED),
    "cdata-cut-short": (f"<SharedSecret><![CDATA[a<b {SECRET}", UNCLOSED),
    "nested-opening": (f"<SharedSecret>a<SharedSecret>{SECRET}</SharedSecret>", UNCLOSED),
    "lt-in-attributes": (f"<SharedSecret a<b>{SECRET}</SharedSecret>", MALFORMED),
    "inside-credential": (f"<Credential><SharedSecret a<b>{SECRET}</SharedSecret></Credential>", MALFORMED),
    "lt-in-a-value": (f'<SharedSecret a="x<y">{SECRET}</SharedSecret>', MALFORMED),
    "child-as-attribute": (f"<SharedSecret <b>{SECRET}</b></SharedSecret>", MALFORMED),
    "malformed-cut-short": (f"<SharedSecret a<b>{SECRET}", MALFORMED),
    "then-an-opening": (f"<SharedSecret a<SharedSecret>x</SharedSecret>{SECRET}", MALFORMED),
    "no-bracket": (f"<SharedSecret {SECRET}", MALFORMED),
}


@pytest.mark.parametrize(("excerpt", "ending"), CUT_SHORT_EXCERPTS.values(), ids=CUT_SHORT_EXCERPTS.keys())
def test_a_shared_secret_without_a_trustworthy_closing_is_redacted_to_the_end_of_its_string(
    emitted: io.StringIO, excerpt: str, ending: str
) -> None:
    # Given an excerpt whose SharedSecret has no closing tag, or an opening tag that is malformed
    # When it is logged before another key
    logger.info("Document refused", extra={"excerpt": excerpt, "after": "kept"})
    # Then everything from the opening to the end of that string is hidden, and the line is still JSON
    line = _line(emitted)
    assert SECRET not in json.dumps(line)
    assert line["excerpt"].endswith(ending)
    assert line["after"] == "kept"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'{{"a":"<SharedSecret>{SECRET}","after":"kept","c":"</SharedSecret>"}}',
            '{"a":"<SharedSecret>[redacted]","after":"kept","c":"</SharedSecret>"}',
        ),
        (
            f'{{"a":{{"b":"<SharedSecret>{SECRET}"}},"c":"</SharedSecret>"}}',
            '{"a":{"b":"<SharedSecret>[redacted]"},"c":"</SharedSecret>"}',
        ),
    ],
    ids=["later-key", "closing-an-object"],
)
def test_a_shared_secret_never_reads_to_a_closing_tag_in_a_later_string(line: str, expected: str) -> None:
    # Given a line whose SharedSecret opens in one string and a closing tag comes in a later one
    # When it is redacted
    # Then the secret is hidden to the end of its own string, and the keys between are kept
    _assert_redacts_to(line, expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            json.dumps({"m": f"<SharedSecret><![CDATA[a</SharedSecret>{SECRET}]]></SharedSecret>", "after": "kept"}),
            json.dumps({"m": "<SharedSecret>[redacted]</SharedSecret>", "after": "kept"}),
        ),
        (
            json.dumps({"m": f"<SharedSecret><!-- a</SharedSecret> -->{SECRET}</SharedSecret>", "after": "kept"}),
            json.dumps({"m": "<SharedSecret>[redacted]</SharedSecret>", "after": "kept"}),
        ),
        (
            json.dumps({"m": f'<SharedSecret><![CDATA["]</SharedSecret>]]]>{SECRET}</SharedSecret> x'}),
            json.dumps({"m": "<SharedSecret>[redacted]</SharedSecret> x"}),
        ),
        (
            json.dumps({"m": f"<SharedSecret><![CDATA[a</SharedSecret>{SECRET}", "after": "</SharedSecret>"}),
            json.dumps({"m": "<SharedSecret>[redacted]", "after": "</SharedSecret>"}),
        ),
        (
            json.dumps({"m": json.dumps({"x": f"<é:SharedSecret>{SECRET}</é:SharedSecret>"}), "after": "kept"}),
            json.dumps({"m": json.dumps({"x": "<é:SharedSecret>[redacted]</é:SharedSecret>"}), "after": "kept"}),
        ),
    ],
    ids=["closing-in-cdata", "closing-in-comment", "quote-and-brackets-in-cdata", "cdata-cut-short", "escaped-prefix"],
)
def test_a_shared_secret_is_redacted_through_cdata_comments_and_escaped_prefixes(line: str, expected: str) -> None:
    # Given a SharedSecret whose text holds a closing tag inside a CDATA section or a comment, or whose
    # namespace prefix has a letter escaped as \u00e9 in JSON text
    # When it is redacted
    # Then its whole text is hidden, up to its real closing tag or the end of its JSON string
    _assert_redacts_to(line, expected)


def test_an_opening_tag_never_reads_into_a_later_string() -> None:
    # Given a line whose SharedSecret opening tag is cut short by the end of its string, and a `>` in a
    # later one
    line = json.dumps({"a": "<SharedSecret x", "after": "kept", "c": "y>z"})
    # When it is redacted
    # Then its own string is hidden after the element's name, and the keys after it are kept
    _assert_redacts_to(line, json.dumps({"a": "<SharedSecret[redacted]", "after": "kept", "c": "y>z"}))


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        ("<SharedSecret>", "<SharedSecret>[redacted]"),
        ("<SharedSecret a<", "<SharedSecret[redacted]"),
        ("<SharedSecret a<b></SharedSecret>", "<SharedSecret[redacted]"),
    ],
    ids=["openings", "malformed-openings", "malformed-openings-closed"],
)
def test_a_line_of_many_unclosed_shared_secret_openings_is_redacted(
    emitted: io.StringIO, opening: str, expected: str
) -> None:
    # Given a message of 20,000 SharedSecret openings without a closing (or malformed, a `<` before
    # their `>`), then a secret
    # When it is logged
    logger.info(opening * 20_000 + SECRET, extra={"after": "kept"})
    # Then all of it after the first opening is hidden, and the rest of the line kept
    line = _line(emitted)
    assert line["message"] == expected
    assert line["after"] == "kept"


def test_a_closing_tag_with_a_space_before_its_bracket_ends_the_secret() -> None:
    # Given a SharedSecret whose closing tag has a space before its ">" (XML allows white space there)
    line = json.dumps({"message": f"<SharedSecret>{SECRET}</SharedSecret > <Identity>AN01</Identity>"})
    # When it is redacted
    # Then only its text is hidden: the closing tag and the rest of the string are kept
    expected = json.dumps({"message": "<SharedSecret>[redacted]</SharedSecret > <Identity>AN01</Identity>"})
    _assert_redacts_to(line, expected)


def test_redact_spans_lines_in_raw_text() -> None:
    # Given raw text (not yet JSON-escaped) with a secret spread over lines
    text = f"<SharedSecret>\r\n{SECRET}\nmore\n</SharedSecret> after"
    # When it is redacted
    # Then the whole value is replaced, the text around it kept
    assert redact(text) == "<SharedSecret>[redacted]</SharedSecret> after"


def test_redact_reads_a_backslash_before_a_line_break_in_raw_text() -> None:
    # Given raw text whose secret has a backslash at the end of one of its lines (a Windows path)
    text = f"<SharedSecret>C:\\\n{SECRET}</SharedSecret> after"
    # When it is redacted
    # Then the whole value is replaced, up to its closing tag
    assert redact(text) == "<SharedSecret>[redacted]</SharedSecret> after"


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"message": "<SharedSecretHint>kept</SharedSecretHint>", "after": "kept"}),
        json.dumps({'"password': ["kept"], "after": "kept"}),
    ],
    ids=["element-name-starting-with-shared-secret", "key-holding-a-quoted-secret-key"],
)
def test_names_that_only_contain_a_secrets_name_are_kept(line: str) -> None:
    # Given a line whose element or key only contains a secret's name (an element named SharedSecretHint,
    # a key "\"password" of the line)
    # When it is redacted
    # Then it is unchanged
    assert redact(line) == line


# --- PCard numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "4000123456789",  # 13 digits
        "4000123456789010",  # 16
        "6200098765432101234",  # 19
        "4000 1234 5678 9010",
        "4000-1234-5678-9010",
        "6200 0987 6543 2101 234",
        "4000\t1234\t5678\t9010",
        "4000\n1234\n5678\n9010",
        "4000\u00a01234\u00a05678\u00a09010",
        "4000.1234.5678.9010",
    ],
)
@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_card_number_is_masked_to_its_last_four_digits(emitted: io.StringIO, number: str, quote: str) -> None:
    # Given a message quoting a PCard
    # When it is logged
    logger.info(f"<Payment><PCard number={quote}{number}{quote} expiration='2027-12-31'/></Payment>")
    # Then only the last four digits are left of the number
    message = _line(emitted)["message"]
    match = re.search(r"number=[\"']([^\"']*)[\"']", message)
    assert match, message
    assert re.sub(r"\D", "", match.group(1)) == re.sub(r"\D", "", number)[-4:]
    assert "expiration='2027-12-31'" in message


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_card_number_in_json_text_is_masked_at_any_escaping_depth(depth: int) -> None:
    # Given a line whose string holds a PCard inside JSON text, nested depth times
    text = '<PCard number="4000123456789010" expiration="2027-12-31"/>'
    for _ in range(depth):
        text = json.dumps({"body": text})
    # When it is redacted
    redacted = redact(text)
    # Then only the last four digits are left of the number, the rest of the line unchanged
    assert "4000123456789010" not in redacted and "123456789010" not in redacted
    assert redacted == text.replace("4000123456789010", "************9010")


@pytest.mark.parametrize("separator", ["\t", "\n", "\u00a0", "."], ids=["tab", "newline", "no-break-space", "dot"])
@pytest.mark.parametrize("depth", [1, 2])
def test_a_grouped_card_number_in_json_text_is_masked(separator: str, depth: int) -> None:
    # Given a PCard number grouped by a separator that JSON escapes (\t, \n, \u00a0) or a dot, in JSON text
    number = separator.join(["4000", "1234", "5678", "9010"])
    line = _in_json_strings(f'<PCard number="{number}" expiration="2027-12-31"/>', depth)
    # When it is redacted
    # Then only the last four digits are left of the number, the rest of the line unchanged
    expected = _in_json_strings('<PCard number="************9010" expiration="2027-12-31"/>', depth)
    _assert_redacts_to(line, expected)
    assert "5678" not in redact(line)


def test_only_a_number_attribute_is_masked() -> None:
    # Given a line number next to a card number, the card's attribute after an escaped line break
    line = json.dumps({"message": '<ItemOut lineNumber="1000"/><PCard\nnumber="4000123456789010"/>'})
    # When it is redacted
    # Then the card number is masked and the line number kept
    _assert_redacts_to(line, line.replace("4000123456789010", "************9010"))
    assert '<ItemOut lineNumber=\\"1000\\"/>' in redact(line)


@pytest.mark.parametrize("depth", [0, 1, 2])
@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_payment_tokens_token_is_redacted(depth: int, quote: str) -> None:
    # Given a virtual card (PaymentToken) quoted in a line, raw or inside JSON text nested depth times
    element = (
        f"<PaymentToken number={quote}5555555555554444{quote} token={quote}tok_9f8e7d{quote} expiration='2027-12-31'/>"
    )
    line = _in_json_strings(element, depth) if depth else element
    # When it is redacted
    redacted = redact(line)
    # Then its token is gone, its number masked as a PCard's, and the rest of the element kept
    assert "tok_9f8e7d" not in redacted and "5555555555554444" not in redacted
    assert "4444" in redacted and "2027-12-31" in redacted


def test_a_token_after_an_escaped_line_break_is_redacted() -> None:
    # Given a PaymentToken whose token attribute starts a line, inside a logged JSON string
    line = json.dumps({"message": '<PaymentToken number="5555555555554444"\ntoken="tok_9f8e7d"/>'})
    # When it is redacted
    # Then the token is gone
    assert "tok_9f8e7d" not in redact(line)
    assert json.loads(redact(line))["message"].endswith('token="[redacted]"/>')


def test_only_a_token_attribute_is_redacted() -> None:
    # Given names that end in "token" (the gateway's own, never secrets in the line's sense)
    line = json.dumps({"message": "refused", "start_token_kind": "start", "detail": 'tokens="3"'})
    # When it is redacted
    # Then the line is unchanged
    assert redact(line) == line


# --- Secret keys ----------------------------------------------------------------------------------

# One of each secret key, with neighbours that must survive. The quotes and the backslash in the second
# secret make every way of quoting it escape something inside the value.
_QUOTED = f'{SECRET}"a\\b\'c"'


def _headers(secret: str) -> dict[str, str]:
    return {
        "X-Api-Key": secret,
        "Accept": "text/xml",
        "Authorization": f"Bearer {secret}",
        "api_key": secret,
        "apiKey": secret,
        "sharedSecret": secret,
        "secret": secret,
        "password": secret,
        "shop": "acme",
    }


_SECRET_KEYS = {"X-Api-Key", "Authorization", "api_key", "apiKey", "sharedSecret", "secret", "password"}
_REDACTED_HEADERS = {key: "[redacted]" if key in _SECRET_KEYS else value for key, value in _headers(SECRET).items()}


def _in_json_strings(text: str, depth: int) -> str:
    """``text`` as the value of a JSON object's key, ``depth`` times: its quotes escaped once more each time."""
    for _ in range(depth):
        text = json.dumps({"body": text})
    return text


@pytest.mark.parametrize("secret", [SECRET, _QUOTED], ids=["plain", "quotes-and-backslash"])
@pytest.mark.parametrize("depth", [0, 1, 2], ids=["in-message", "in-json-in-message", "two-levels-down"])
@pytest.mark.parametrize("render", [json.dumps, repr], ids=["json", "repr"])
def test_redact_hides_secret_keys_in_escaped_json_and_reprs(
    secret: str, depth: int, render: Callable[[dict[str, str]], str]
) -> None:
    # Given a line whose message holds a header map as JSON text or a dict's repr, maybe itself in JSON
    # text, so that its quotes reach the line escaped once, twice or three times
    line = json.dumps({"message": _in_json_strings(render(_headers(secret)), depth), "level": "INFO"})
    # When it is redacted
    redacted = redact(line)
    # Then each secret's value, and nothing else, is gone, and the line is still JSON
    assert json.loads(redacted) == {"message": _in_json_strings(render(_REDACTED_HEADERS), depth), "level": "INFO"}
    assert SECRET not in redacted


def test_redact_hides_a_repr_value_ending_in_a_backslash() -> None:
    # Given a dict's repr whose secret ends in a backslash, so its closing quote has one before it
    line = json.dumps({"message": repr({"password": f"{SECRET}\\", "shop": "acme"}), "level": "INFO"})
    # When it is redacted
    redacted = redact(line)
    # Then the secret is hidden up to the next bare quote (more than the value, never less)
    assert json.loads(redacted) == {"message": "{'password': '[redacted]'shop': 'acme'}", "level": "INFO"}


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["in-message", "in-json-in-message", "two-levels-down"])
def test_redact_hides_a_repr_value_in_double_quotes(depth: int) -> None:
    # Given a dict's repr whose secret holds a single quote, which repr then writes in double quotes
    # (escaped in the line: \"it's ...\")
    headers = {"password": f"it's {SECRET}", "shop": "acme"}
    line = json.dumps({"message": _in_json_strings(repr(headers), depth), "level": "INFO"})
    # When it is redacted
    redacted = redact(line)
    # Then the value is hidden in its double quotes, the rest kept
    expected = _in_json_strings("{'password': \"[redacted]\", 'shop': 'acme'}", depth)
    assert json.loads(redacted) == {"message": expected, "level": "INFO"}
    assert SECRET not in redacted


def test_secret_keys_in_logged_json_text_and_reprs_are_redacted(emitted: io.StringIO) -> None:
    # Given a header map logged as JSON text after words (a message that is only JSON is logged as an
    # object), as a dict's repr, as JSON inside JSON, and as a mapping
    headers = _headers(_QUOTED)
    # When it is logged
    logger.info(
        f"Shop request headers: {json.dumps(headers)}",
        extra={"as_repr": str(headers), "nested": json.dumps({"request": json.dumps(headers)}), "as_map": headers},
    )
    # Then no secret is left in the line, and every other key and value is
    line = _line(emitted)
    assert SECRET not in json.dumps(line)
    assert json.loads(line["message"].removeprefix("Shop request headers: ")) == _REDACTED_HEADERS
    assert ast.literal_eval(line["as_repr"]) == _REDACTED_HEADERS
    assert json.loads(json.loads(line["nested"])["request"]) == _REDACTED_HEADERS
    assert line["as_map"] == _REDACTED_HEADERS


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'{{"excerpt":"{{\\"api_key\\":","password":"{SECRET}"}}',
            '{"excerpt":"{\\"api_key\\":","password":"[redacted]"}',
        ),
        (
            f'{{"excerpt":"{{\'password\':","password":"{SECRET}"}}',
            '{"excerpt":"{\'password\':","password":"[redacted]"}',
        ),
        ('{"message":"\\"secret\\":","after":"kept"}', '{"message":"\\"secret\\":","after":"kept"}'),
    ],
    ids=["json-key", "repr-key", "key-alone"],
)
def test_a_string_ending_in_a_secret_key_takes_no_value_from_the_line(line: str, expected: str) -> None:
    # Given a string of the line that ends in a secret key and its colon, quoted deeper than the line
    # When it is redacted
    # Then the quote closing that string is not taken for the value's: the line's own keys are redacted
    _assert_redacts_to(line, expected)


def test_a_logged_secret_key_without_its_value_leaves_the_line_json(emitted: io.StringIO) -> None:
    # Given a message that is a secret key and its colon
    # When it is logged
    logger.info('"secret":', extra={"after": "kept"})
    # Then the line is still JSON, with its message and later keys
    line = _line(emitted)
    assert line["message"] == '"secret":'
    assert line["after"] == "kept"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"password":123456,"after":"kept"}', '{"password":"[redacted]","after":"kept"}'),
        (f'{{"authorization":["Bearer {SECRET}"],"after":"kept"}}', '{"authorization":"[redacted]","after":"kept"}'),
        (f'{{"password":{{"v":"{SECRET}","w":["}}]"]}},"after":"kept"}}', '{"password":"[redacted]","after":"kept"}'),
        (
            json.dumps({"message": json.dumps({"password": -123456.5}), "after": "kept"}),
            json.dumps({"message": json.dumps({"password": "[redacted]"}), "after": "kept"}),
        ),
        (
            json.dumps({"message": repr({"password": 123456}), "after": "kept"}),
            json.dumps({"message": repr({"password": "[redacted]"}), "after": "kept"}),
        ),
    ],
    ids=["number", "array", "object", "number-in-json-text", "number-in-repr"],
)
def test_a_secret_key_whose_value_is_not_a_string_is_redacted(line: str, expected: str) -> None:
    # Given a secret key whose value is a number, or an array or an object of the line
    # When it is redacted
    # Then the whole value becomes "[redacted]", and the rest of the line is kept
    _assert_redacts_to(line, expected)


@pytest.mark.parametrize(
    "text",
    [f'{{"authorization":["Bearer {SECRET}", {{"a": "b"', f'{{"password":{{"v":["{SECRET}'],
    ids=["array", "object"],
)
def test_an_array_or_object_value_without_its_end_is_hidden_to_the_end_of_the_text(text: str) -> None:
    # Given text (not a formatted line) whose secret key's array or object never closes
    # When it is redacted
    # Then everything after the key is hidden, not left in clear after "[redacted]"
    assert redact(text) == text[: text.index(":") + 1] + '"[redacted]"'


# --- Metrics --------------------------------------------------------------------------------------


def test_a_request_that_counts_nothing_writes_no_warning() -> None:
    # Given a fresh interpreter in which a warning is an error, and the gateway's Metrics
    probe = "from punchout.observability import metrics\nmetrics.flush_metrics()\n"
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(["functions", "."])}
    # When metrics are flushed after a request that counted none (a page, a ProfileRequest)
    run = [sys.executable, "-W", "error::UserWarning", "-c", probe]
    flushed = subprocess.run(run, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)
    # Then nothing is warned ("No application metrics to publish" on stderr at every environment's first one)
    assert flushed.returncode == 0, flushed.stderr[-3000:]
    assert flushed.stderr == ""
