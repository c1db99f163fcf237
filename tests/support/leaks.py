"""Secrets sent to the gateway never come out of it: in no answer, log line, stored item or queued message.

Shared secrets, API keys and card numbers must never appear in logs, errors or stored documents. The
redaction tests check the places they are about; this check runs in every handler call of the unit
tier (``invoke`` in tests/unit/gateway/helpers.py) against every secret the test has sent so far: a
secret sent in one request must not come out of a later one either (a session's answer, an order
page). Secrets are what requests carry: each ``SharedSecret`` (its text as a parser reads it, CDATA
sections, comments and character references included, also in a namespace or cut short, and its
attributes' values), each full ``PCard@number`` (as written and as its digits) and each ``x-api-key``,
looked for also as HTML and JSON would escape them; shorter than 8 characters, they are not judged (a
secret "wrong" would match ordinary text). Each test starts with none (tests/conftest.py), so that no
verdict depends on which tests ran before in the process; the integration tier's stack logs, written by
the whole session, are judged against all.
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any
from unittest.mock import patch

from tests.support.calls import checking_calls
from tests.support.logs import written_log_lines

MIN_JUDGED = 8
# A SharedSecret however a sender wrote it (attributes, a namespace prefix, CDATA sections and comments in
# its text, character references, a body cut short in it): its attributes, and its text up to other markup
# (its closing tag, a child) or the end of the body.
_SHARED_SECRET = re.compile(
    r"<(?:[\w.-]+:)?SharedSecret\b([^<>]*)>((?:<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|[^<])*)", re.DOTALL
)
_ATTRIBUTE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CDATA_OR_COMMENT = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)", re.DOTALL)
_CARD_NUMBER = re.compile(r"<PCard\b[^>]*?\bnumber\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_FULL_CARD_NUMBER = re.compile(r"[0-9](?:[ -]?[0-9]){11,18}")
_SENT: set[str] = set()  # by this test
_SENT_IN_PROCESS: set[str] = set()  # by every test so far


def forget_sent() -> None:
    """A new test: what earlier ones sent is no longer judged in answers, writes and logs."""
    _SENT.clear()


def _forms(secret: str) -> set[str]:
    """``secret`` as written and as an HTML page or a JSON text would carry it."""
    return {secret, html.escape(secret), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def remember_sent(event: dict[str, Any]) -> None:
    """The secrets ``event`` (an API Gateway event) carries, never to come out for the rest of the test."""
    text = _text_of(event)
    found = list(_shared_secrets(text))
    for as_written in (next(filter(None, pair)) for pair in _CARD_NUMBER.findall(text) if any(pair)):
        number = html.unescape(as_written).strip()
        if _FULL_CARD_NUMBER.fullmatch(number):  # not one masked already ("************1111")
            found += [number, re.sub(r"\D", "", number)]
    found += [value for name, value in (event.get("headers") or {}).items() if name.lower() == "x-api-key"]
    for secret in (secret.strip() for secret in found):
        if len(secret) >= MIN_JUDGED:
            _SENT.update(_forms(secret))
            _SENT_IN_PROCESS.update(_forms(secret))


def _shared_secrets(text: str) -> Iterator[str]:
    """The values of the SharedSecret elements of ``text``, as a parser would read them, and of their
    attributes (namespace declarations and ``xml:`` attributes aside)."""
    for attributes, content in _SHARED_SECRET.findall(text):
        yield html.unescape(_CDATA_OR_COMMENT.sub(lambda section: section[1] or "", content))
        for name, double, single in _ATTRIBUTE.findall(attributes):
            if not name.startswith(("xmlns", "xml:")):
                yield html.unescape(double or single)


def _texts(value: Any) -> Iterator[str]:
    """The texts in a call's parameters: strings, and bytes read as text (gzip-compressed ones unpacked;
    a chunk of a larger stream is judged whole where ``Table.put_chunks`` is given it)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray):
        data = bytes(value)
        if data[:2] == b"\x1f\x8b":  # a whole gzip stream, or the first chunk of one (what it holds)
            with suppress(zlib.error):  # only starts as gzip does (an attachment's bytes, a later chunk)
                data = zlib.decompressobj(wbits=31).decompress(data)
        yield data.decode("utf-8", "replace")
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _leaks(where: str, *values: Any, sent: set[str] = _SENT) -> list[str]:
    return [
        f"a secret the test sent ({secret[:3]}...) is in {where}"
        for text in (text for value in values for text in _texts(value))
        for secret in sent
        if secret in text
    ]


def assert_no_secret(where: str, *values: Any, by_any_test: bool = False) -> None:
    """No secret this test sent (or, ``by_any_test``, any test of the process) is in ``values``."""
    leaks = _leaks(where, *values, sent=_SENT_IN_PROCESS if by_any_test else _SENT)
    assert not leaks, leaks[0]


@contextmanager
def secrets_kept(*clients: Any) -> Iterator[None]:
    """While the block runs, every write through ``clients`` (DynamoDB, SQS) and every line the gateway
    logs hold no secret sent so far."""
    from punchout.store.dynamo import Table

    leaks: list[str] = []

    def check(model: Any, params: dict[str, Any], **_: Any) -> None:
        # Recorded, not raised: the handler would answer the error as its own 500.
        if not model.name.startswith(("Get", "Query", "Scan", "BatchGet", "Receive", "Describe", "List")):
            leaks.extend(_leaks(f"a {model.service_model.endpoint_prefix} {model.name}", params))

    put_chunks = Table.put_chunks

    def put_chunks_kept(table: Table, pk: str, sk_prefix: str, payload: bytes, expires_at: int | None) -> int:
        leaks.extend(_leaks("a stored chunked value", payload))
        return put_chunks(table, pk, sk_prefix, payload, expires_at)

    with ExitStack() as stack:
        stream = stack.enter_context(written_log_lines())
        for client in clients:
            stack.enter_context(checking_calls(client, check))
        stack.enter_context(patch.object(Table, "put_chunks", put_chunks_kept))
        yield
    assert not leaks, leaks[0]
    assert_no_secret("a log line", stream.getvalue())


def assert_answer_keeps_secrets(response: dict[str, Any]) -> None:
    assert_no_secret("the answer", _text_of(response), json.dumps(response.get("headers") or {}))


def _text_of(message: dict[str, Any]) -> str:
    """An event's or an answer's body as text (as sent, when it is marked base64 but is not)."""
    body = message.get("body") or ""
    if message.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True).decode("utf-8", "replace")
        except ValueError:  # binascii.Error included
            return body
    return body
