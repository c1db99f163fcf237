"""The runbook's Logs Insights queries (README.md, *Runbook*), run on the lines the real handlers write.

Each query is read from README.md as written and evaluated by a small interpreter of the part of the
Logs Insights language the runbook uses (``fields``, ``filter`` with ``=``, ``<``, ``in``, ``like``,
``ispresent`` and ``and``, ``stats count() by`` with ``bin``, ``sort``), so that a query naming a field
no line has, or selecting other lines than its text says, fails here rather than in an incident.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import punchout.store.orders
from punchout.partners import hash_secret
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.unit.gateway.conftest import shop_headers  # noqa: F401 - a fixture
from tests.unit.gateway.helpers import call, cxml, open_session, register
from tests.unit.orders.conftest import drain

README = Path(__file__).resolve().parents[3] / "README.md"

Line = dict[str, Any]
Row = tuple[Any, ...]


def runbook_queries() -> list[str]:
    """Every Logs Insights query of README's Runbook: code spans that start with ``fields`` or ``filter``
    (a span may wrap over lines, as Markdown allows; it reads as one space)."""
    text = README.read_text(encoding="utf-8")
    runbook = text[text.index("\n## Runbook\n") : text.index("\n## ", text.index("\n## Runbook\n") + 1)]
    spans = (" ".join(span.split()) for span in re.findall(r"`([^`]+)`", runbook))
    return [span for span in spans if re.match(r"(fields|filter) ", span)]


def query(start: str) -> str:
    """The one runbook query that starts with ``start``."""
    [found] = [q for q in runbook_queries() if q.startswith(start)]
    return found


# --- a small Logs Insights ------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\d+[smhd](?!\w)|\d+(?:\.\d+)?|[A-Za-z_@][\w@.]*|<=|>=|!=|[=<>\[\](),|])')
_KEYWORDS = {"and", "in", "like", "by", "desc", "asc"}
_FUNCTIONS = {"ispresent", "count", "bin"}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        assert match, f"cannot read {text[position:]!r} in {text!r}"
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _value(line: Line, field: str) -> Any:
    return line.get("timestamp") if field == "@timestamp" else line.get(field)


def _literal(token: str) -> Any:
    return json.loads(token) if token.startswith('"') else float(token)


Term = tuple[str, str, Any, Any]  # (kind, field, operator, operand)


def _condition(tokens: list[str]) -> list[Term]:
    """A filter's condition: its terms, joined with ``and``."""
    terms: list[Term] = []
    index = 0
    while index < len(tokens):
        if tokens[index] == "ispresent":
            terms.append(("present", tokens[index + 2], None, None))
            index += 4
        elif tokens[index + 1] == "in":
            end = tokens.index("]", index)
            values = [_literal(t) for t in tokens[index + 3 : end] if t != ","]
            terms.append(("in", tokens[index], None, values))
            index = end + 1
        else:
            terms.append(("compare", tokens[index], tokens[index + 1], _literal(tokens[index + 2])))
            index += 3
        if index < len(tokens):
            assert tokens[index] == "and", tokens
            index += 1
    return terms


def _holds(line: Line, term: Term) -> bool:
    kind, field, operator, operand = term
    value = _value(line, field)
    if kind == "present":
        return value is not None
    if kind == "in":
        return value in operand
    return _compare(value, operator, operand)


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if value is None:
        return False  # a line without the field is never selected by a comparison
    if operator == "=":
        return bool(value == literal)
    if operator == "!=":
        return bool(value != literal)
    if operator == "like":
        return isinstance(value, str) and literal in value
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return bool(value < literal if operator == "<" else value > literal)


def _bin(line: Line, size: str) -> str:
    stamp = datetime.strptime(str(line["timestamp"]), "%Y-%m-%d %H:%M:%S,%f%z")
    unit = size[-1]
    return stamp.strftime({"m": "%Y-%m-%d %H:%M", "h": "%Y-%m-%d %H", "d": "%Y-%m-%d"}[unit])


def fields_of(text: str) -> set[str]:
    """The log fields a query names (not its functions, keywords or literals)."""
    return {
        token
        for token in _tokens(text)
        if re.fullmatch(r"[A-Za-z_@][\w@.]*", token)
        and token not in _KEYWORDS | _FUNCTIONS | {"fields", "filter", "stats", "sort"}
        and not re.fullmatch(r"\d+[smhd]", token)
    }


def run(text: str, lines: list[Line]) -> list[Line] | Counter[Row]:
    """The query's result: the lines it keeps, or with ``stats count() by ...`` the count per group."""
    selected: list[Line] = list(lines)
    for stage in (part.strip() for part in text.split("|")):
        command, _, rest = stage.partition(" ")
        tokens = _tokens(rest)
        if command == "filter":
            terms = _condition(tokens)
            selected = [line for line in selected if all(_holds(line, term) for term in terms)]
        elif command == "stats":
            assert tokens[:4] == ["count", "(", ")", "by"], stage
            groups: list[tuple[str, str]] = []  # ("bin", size) or ("field", name)
            by, index = tokens[4:], 0
            while index < len(by):
                if by[index] == "bin":
                    groups.append(("bin", by[index + 2]))
                    index += 4
                else:
                    groups.append(("field", by[index]))
                    index += 1
                if index < len(by):
                    assert by[index] == ",", stage
                    index += 1
            return Counter(
                tuple(_bin(line, name) if kind == "bin" else _value(line, name) for kind, name in groups)
                for line in selected
            )
        elif command in ("fields", "sort"):
            continue  # which fields are shown, and in which order: the lines stay the same
        else:
            raise AssertionError(f"the runbook's query uses {command!r}, which this interpreter does not know")
    return selected


def lines_of(stream: io.StringIO, start: int = 0) -> list[Line]:
    return [json.loads(line) for line in stream.getvalue()[start:].splitlines()]


# --- the scenarios --------------------------------------------------------------------------------

NEW_SECRET = "the new secret of the rotation 2026"
TEST_SECRET = builders.SECRET + " test"


def _setup(**changes: Any) -> int:
    return cxml(call("POST", "/cxml/setup", builders.setup_request(**changes))).status.code


def _setup_test_mode() -> int:
    return _setup(mode="test", identity=builders.BUYER_IDENTITY + "-T", secret=TEST_SECRET)


def _rotate(table: Any) -> None:
    """`punchout partners rotate-secret acme`: the production secret gets a successor, both active."""
    partners = PartnerRepository(table)
    partner = partners.get("acme")
    assert partner is not None
    current = partner.credentials["production"]
    rotated = current.model_copy(
        update={"secret_hashes": [*current.secret_hashes, hash_secret(NEW_SECRET, iterations=1000)]}
    )
    partners.update(partner.model_copy(update={"credentials": {**partner.credentials, "production": rotated}}))


def test_the_runbook_has_its_queries() -> None:
    # The queries these tests run are those README shows (a query dropped or reworded is seen here)
    starts = [q.split("|")[0].strip() for q in runbook_queries()]
    assert len(starts) >= 7, starts
    assert any("secret_in_use" in q for q in runbook_queries())
    assert any("auth_failure" in q for q in runbook_queries())


def test_the_rotation_query_shows_the_buyer_switched_only_once_production_uses_the_new_secret(
    table: Any, log_lines: io.StringIO
) -> None:
    # Given a partner with production and test credentials, whose buyer used its production secret
    register(table)
    assert _setup() == 200
    # When the operator rotates the production secret, and since then the buyer's production system
    # still sends the old one while its test system sends its own (the only test secret)
    _rotate(table)
    since_rotation = len(log_lines.getvalue())
    assert _setup() == 200
    assert _setup_test_mode() == 200
    rotation = query('filter partner_id = "acme"')
    # Then the runbook's query over the time since the rotation shows no request with the newest secret
    before_switch = run(rotation, lines_of(log_lines, since_rotation))
    assert isinstance(before_switch, Counter)
    used = {value for row in before_switch for value in row if value in ("newest", "older", None)}
    assert "newest" not in used, (rotation, before_switch)
    assert "older" in used
    # And once the buyer's production system sends the new secret, it does
    assert _setup(secret=NEW_SECRET) == 200
    after_switch = run(rotation, lines_of(log_lines, since_rotation))
    assert isinstance(after_switch, Counter)
    assert "newest" in {value for row in after_switch for value in row}


def test_the_failure_queries_select_the_gateway_faults_and_the_buyers_refusals(
    table: Any, log_lines: io.StringIO
) -> None:
    # Given a partner without a shop URL (no ShopEntryUrl either: our fault, a cXML 500), and another
    # buyer sending a wrong secret (a refusal of the buyer's document, 401)
    register(table, shop_url=None)
    assert _setup() == 500
    assert _setup(secret="not the secret at all 7f3a") == 401
    lines = lines_of(log_lines)
    # When the operator runs the runbook's queries for failures
    errors = run(query("fields @timestamp, level, message"), lines)
    warnings = run(query('filter level in ["ERROR", "WARNING"]'), lines)
    refused = run(query('filter message = "cXML request refused"'), lines)
    auth = run(query("filter ispresent(auth_failure)"), lines)
    # Then the ERROR query finds the 500 with what it names, and not the 401
    assert isinstance(errors, list) and isinstance(warnings, list) and isinstance(refused, list)
    assert [line["status"] for line in errors] == [500]
    shown = fields_of(query("fields @timestamp, level, message").split("|")[0].removeprefix("fields"))
    assert all(_value(errors[0], field) is not None for field in shown), shown
    assert [line["status"] for line in warnings] == [500]
    # And the refusal query finds the 401 only
    assert [line["status"] for line in refused] == [401]
    # And the authentication query says who and why
    assert auth == Counter({("wrong_secret", "acme", f"{builders.BUYER_DOMAIN}:{builders.BUYER_IDENTITY}"): 1})


def test_the_payload_id_query_finds_one_exchange(table: Any, log_lines: io.StringIO) -> None:
    # Given two exchanges of one buyer
    register(table)
    first = builders.setup_request()
    assert cxml(call("POST", "/cxml/setup", first)).status.code == 200
    assert _setup() == 200
    payload_id = re.search(rb'payloadID="([^"]+)"', first)
    assert payload_id
    # When the operator looks for the first one's payloadID
    template = query("filter payload_id =")
    found = run(re.sub(r'"<[^>]*>"', json.dumps(payload_id.group(1).decode()), template), lines_of(log_lines))
    # Then they find its lines and no other
    assert isinstance(found, list) and found
    assert {line["payload_id"] for line in found} == {payload_id.group(1).decode()}


def test_the_resend_query_names_the_buyer_and_the_order(
    table: Any, queue_url: str, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order record that keeps one resend's payloadID (100 in production)
    monkeypatch.setattr(punchout.store.orders, "MAX_RESENT_PAYLOAD_IDS", 1)
    register(table)
    for _ in range(3):  # the order, a resend that is recorded, one that is not
        body = builders.order_request("PO-LOOP", [builders.item_out("P1", "1", price="5.00")])
        assert cxml(call("POST", "/cxml/order", body)).status.code == 200
    drain(queue_url)
    # When the operator runs the runbook's query for looping buyers
    found = run(query('filter message like "was not recorded"'), lines_of(log_lines))
    # Then it names the partner and the order
    assert found == Counter({("acme", "PO-LOOP"): 1})


def test_every_field_the_runbook_queries_name_is_logged(
    table: Any, queue_url: str, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the lines of an answered setup and order, a refused buyer and a gateway fault
    monkeypatch.setattr(punchout.store.orders, "MAX_RESENT_PAYLOAD_IDS", 0)
    register(table)
    assert _setup() == 200
    assert _setup(secret="not the secret at all 7f3a") == 401
    for _ in range(2):
        body = builders.order_request("PO-2", [builders.item_out("P1", "1", price="5.00")])
        assert cxml(call("POST", "/cxml/order", body)).status.code == 200
    drain(queue_url)
    partners = PartnerRepository(table)
    partner = partners.get("acme")
    assert partner is not None
    partners.update(partner.model_copy(update={"shop_url": None}))
    assert _setup() == 500
    logged = {field for line in lines_of(log_lines) for field in line} | {"@timestamp"}
    # Then every field a runbook query names is a field of those lines
    for text in runbook_queries():
        assert fields_of(text) <= logged, (text, fields_of(text) - logged)


def test_the_interpreter_reads_what_it_is_given() -> None:
    # The interpreter itself: a filter keeps matching lines, stats counts per group, an unknown command fails
    lines: list[Line] = [
        {"a": "x", "n": 1, "timestamp": "2026-11-28 02:05:25,403+0000"},
        {"a": "y", "n": 501, "timestamp": "2026-11-28 03:05:25,403+0000"},
        {"b": "z", "timestamp": "2026-11-28 03:06:00,000+0000"},
    ]
    assert run('filter a = "x"', lines) == [lines[0]]
    assert run("filter n < 500", lines) == [lines[0]]
    assert run('filter a in ["x", "y"] and n < 1000', lines) == lines[:2]
    assert run("filter ispresent(b)", lines) == [lines[2]]
    assert run('filter a like "y"', lines) == [lines[1]]
    assert run("stats count() by a", lines) == Counter({("x",): 1, ("y",): 1, (None,): 1})
    assert run("stats count() by bin(1h)", lines) == Counter({("2026-11-28 02",): 1, ("2026-11-28 03",): 2})
    assert fields_of('filter a = "x" and ispresent(b) | stats count() by bin(1h), c') == {"a", "b", "c"}
    with pytest.raises(AssertionError):
        run("parse a", lines)


def test_a_session_opened_before_its_partner_was_disabled_runs_on(
    table: Any,
    shop_headers: dict[str, str],  # noqa: F811 - the fixture
) -> None:
    # Given a session of a partner, opened through its start link
    register(table)
    session_id, _ = open_session()
    # When the operator disables the partner (`punchout partners disable acme`)
    partners = PartnerRepository(table)
    partner = partners.get("acme")
    assert partner is not None
    partners.update(partner.model_copy(update={"enabled": False}))
    # Then its cXML requests are refused (403)
    assert _setup() == 403
    # But the open session runs on as README says: the shop stores and transfers its cart, and the
    # return page posts it to the buyer
    cart = {"lines": [{"supplier_part_id": "A", "quantity": "1", "unit_price": "10.00", "description": "Alpha"}]}
    assert call("PUT", f"/shop/sessions/{session_id}/cart", json.dumps(cart), shop_headers)["statusCode"] == 200
    transfer = call("POST", f"/shop/sessions/{session_id}/transfer", "", shop_headers)
    assert transfer["statusCode"] == 200
    return_url = json.loads(transfer["body"])["return_url"]
    assert call("GET", "/punchout/return/" + return_url.rsplit("/", 1)[1])["statusCode"] == 200
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "sessions it opened before run on" in text
