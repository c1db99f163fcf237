"""Everything else a table upgraded from 3d51d1a holds, read and continued by this version through its
handlers and CLI: partners (rotating, disabled, with test credentials, authenticated by their network),
shop API keys, sessions in every state, unused start and return links, and the orders the shop reads.
"""

from __future__ import annotations

import base64
import json
import re
from functools import partial
from typing import Any

import pytest

from punchout import cli
from punchout.partners import hash_secret
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import response_header
from tests.unit.gateway.conftest import TABLE_NAME
from tests.unit.gateway.helpers import ReturnPage, body_json, call, cxml
from tests.unit.upgrade import older_items

OLD_ATTACHMENT = b"%PDF-1.4 old"


def _setup(partner_id: str, secret: str | None, *, mode: str = "production", source_ip: str = "192.0.2.10") -> int:
    identity = {"up-main": "AN-UPMAIN", "up-rot": "AN-UPROT", "up-dis": "AN-UPDIS", "up-net": "AN-UPNET"}[partner_id]
    body = builders.setup_request(
        mode=mode, domain="NetworkID", identity=identity + ("-T" if mode == "test" else ""), secret=secret
    )
    return cxml(call("POST", "/cxml/setup", body, source_ip=source_ip)).status.code


def _headers(name: str = "old-key") -> dict[str, str]:
    return {"x-api-key": older_items.fixture()["api_keys"][name], "Content-Type": "application/json"}


def _cart(prefix: str) -> str:
    line = {"supplier_part_id": f"{prefix}1", "quantity": "2", "unit_price": "3.50", "description": "New line"}
    return json.dumps({"currency": "USD", "lines": [line]})


def test_partners_an_older_version_added_authenticate_as_they_did(table: Table) -> None:
    # Given the partners 3d51d1a's CLI added
    data = older_items.load(table)
    secrets = data["partner_secrets"]
    # Then their buyers authenticate with the secrets they had, in either mode
    assert _setup("up-main", secrets["up-main"]["production"][0]) == 200
    assert _setup("up-main", secrets["up-main"]["test"][0], mode="test") == 200
    assert _setup("up-main", "not-the-secret-at-all") == 401
    # And a rotation in progress goes on: both secrets are valid
    assert [_setup("up-rot", secret) for secret in secrets["up-rot"]["production"]] == [200, 200]
    # And the disabled partner stays disabled
    assert _setup("up-dis", secrets["up-dis"]["production"][0]) == 403
    # And the partner without a secret is known by its network only
    assert _setup("up-net", None, source_ip="127.0.0.1") == 200
    assert _setup("up-net", None) == 401


def test_the_cli_reads_and_changes_what_an_older_version_wrote(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "hash_secret", partial(hash_secret, iterations=1000))

    def punchout(*arguments: str) -> str:
        capsys.readouterr()
        code = cli.main(["--table", TABLE_NAME, *arguments])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    # Given what 3d51d1a wrote
    data = older_items.load(table)
    rotating = data["partner_secrets"]["up-rot"]["production"]
    # When the supplier lists and shows its partners
    listing = punchout("partners", "list")
    # Then each is there as it was left: enabled or not, in its modes, a rotation in progress told
    rows = {line.split()[0]: line for line in listing.splitlines()}
    assert set(rows) == {"up-main", "up-rot", "up-dis", "up-net"}
    assert "DISABLED" in rows["up-dis"] and "production,test" in rows["up-main"] and "rotating" in rows["up-rot"]
    shown = json.loads(punchout("partners", "show", "up-net"))
    assert shown["credentials"]["production"]["source_networks"] == ["127.0.0.0/8"]
    # And the rotation finishes: the new secret stays, the old one is retired
    punchout("partners", "retire-secrets", "up-rot")
    assert [_setup("up-rot", secret) for secret in rotating] == [401, 200]
    # And the next rotation starts from it: the secret printed once, and the one kept, both valid
    printed = re.search(r"shown once:\n(\S+)\n", punchout("partners", "rotate-secret", "up-rot"))
    assert printed is not None
    assert [_setup("up-rot", secret) for secret in (rotating[1], printed.group(1))] == [200, 200]
    # And the disabled partner is enabled again
    punchout("partners", "enable", "up-dis")
    assert _setup("up-dis", data["partner_secrets"]["up-dis"]["production"][0]) == 200
    # And the shop's keys are listed as they were, and one of them revoked now
    keys = {key["name"]: key for key in json.loads(punchout("api-keys", "list"))}
    assert {name: key["enabled"] for name, key in keys.items()} == {
        "old-key": True,
        "old-key-2": True,
        "old-key-revoked": False,
    }
    session = data["sessions"]["started"]
    assert call("GET", f"/shop/sessions/{session}", headers=_headers("old-key-2"))["statusCode"] == 200
    punchout("api-keys", "revoke", keys["old-key-2"]["id"])
    assert call("GET", f"/shop/sessions/{session}", headers=_headers("old-key-2"))["statusCode"] == 401


def test_shop_api_keys_an_older_version_made_still_open_the_shop_api(table: Table) -> None:
    data = older_items.load(table)
    session = data["sessions"]["started"]
    assert call("GET", f"/shop/sessions/{session}", headers=_headers())["statusCode"] == 200
    assert call("GET", f"/shop/sessions/{session}", headers=_headers("old-key-revoked"))["statusCode"] == 401


@pytest.mark.parametrize(
    ("name", "status", "lines"),
    [
        ("started", "open", 0),
        ("cart1", "open", 2),
        ("cart3", "open", 2),  # written three times: 1, 3, then 2 lines
        ("edit", "open", 3),
        ("inspect", "open", 3),
        ("test", "open", 1),
        ("xfer", "transferred", 3),
        ("xfer_empty", "transferred", 0),
        ("cancelled", "cancelled", 1),
    ],
)
def test_sessions_an_older_version_opened_read_as_they_were_left(
    table: Table, name: str, status: str, lines: int
) -> None:
    data = older_items.load(table)
    answer = call("GET", f"/shop/sessions/{data['sessions'][name]}", headers=_headers())
    assert answer["statusCode"] == 200
    session = body_json(answer)
    assert session["status"] == status
    assert len((session["cart"] or {"lines": []})["lines"]) == lines


@pytest.mark.parametrize("name", ["started", "cart1", "cart3", "edit", "test"])
def test_open_sessions_an_older_version_opened_take_a_cart_and_return_it(table: Table, name: str) -> None:
    # Given a session 3d51d1a opened, still open
    data = older_items.load(table)
    session = data["sessions"][name]
    # When the shop writes its cart and transfers it
    assert call("PUT", f"/shop/sessions/{session}/cart", _cart("N"), _headers())["statusCode"] == 200
    transfer = call("POST", f"/shop/sessions/{session}/transfer", "", _headers())
    assert transfer["statusCode"] == 200
    # Then the return link posts the new cart to the buyer's address of the old session
    page = ReturnPage.of(call("GET", "/punchout/return/" + body_json(transfer)["return_url"].rsplit("/", 1)[1]))
    assert page.form.get("action") == "https://buyer.example.com/punchout/return?session=42"
    assert "<SupplierPartID>N1</SupplierPartID>" in page.field.get("value")


@pytest.mark.parametrize("name", ["xfer", "xfer_empty", "cancelled", "inspect"])
def test_ended_and_read_only_sessions_an_older_version_opened_refuse_a_cart(table: Table, name: str) -> None:
    data = older_items.load(table)
    session = data["sessions"][name]
    assert call("PUT", f"/shop/sessions/{session}/cart", _cart("N"), _headers())["statusCode"] == 409
    if name != "inspect":
        assert call("POST", f"/shop/sessions/{session}/transfer", "", _headers())["statusCode"] == 409


def test_links_an_older_version_handed_out_still_work_once(table: Table) -> None:
    # Given the links 3d51d1a handed out and nobody used yet
    data = older_items.load(table)
    links = data["links"]
    # Then the start link opens its session, at the partner's shop, once
    start = call("GET", links["start_unused"])
    assert start["statusCode"] == 303
    location = response_header(start, "Location") or ""
    assert location.startswith("https://shop.example.com/punchout?store=1&punchout_session="), location
    assert call("GET", links["start_unused"])["statusCode"] != 303
    # And the edit's start link opens the earlier cart restored, with the requisition's quantities
    edit = call("GET", links["start_edit_unused"])
    assert edit["statusCode"] == 303
    session_id = re.sub(r".*punchout_session=", "", response_header(edit, "Location") or "")
    restored = body_json(call("GET", f"/shop/sessions/{session_id}", headers=_headers()))
    assert [(line["supplier_part_id"], line["quantity"]) for line in restored["cart"]["lines"]] == [
        ("T1", "5"),
        ("T2", "5"),
        ("T3", "5"),
    ]
    # And the return link posts the cart it was made for
    page = ReturnPage.of(call("GET", links["return_unused"]))
    value = page.field.get("value")
    assert "<SupplierPartID>R1</SupplierPartID>" in value and "<SupplierPartID>R2</SupplierPartID>" in value


def test_the_shop_reads_orders_an_older_version_received(table: Table, queue_url: str) -> None:
    # Given the orders 3d51d1a received, and the messages the shop got for them
    data = older_items.load(table)
    for message in data["messages"]:
        message_id = message["message_id"]
        # Then each is read whole by its message id, as the published document describes it
        answer = call("GET", f"/shop/orders/{message_id}", headers=_headers())
        assert answer["statusCode"] == 200, (message["order_id"], answer)
        read: dict[str, Any] = body_json(answer)
        assert {name: read.get(name) for name in message} == message
        # And its lines page by page
        page = call("GET", f"/shop/orders/{message_id}/pages/1", headers=_headers())
        assert page["statusCode"] == 200
        assert body_json(page)["lines"] == message["lines"]
    # And the attachment of the order that had one
    (attached,) = [message for message in data["messages"] if message["attachments"]]
    answer = call("GET", f"/shop/orders/{attached['message_id']}/attachments/0", headers=_headers())
    assert answer["statusCode"] == 200
    assert base64.b64decode(body_json(answer)["content_base64"]) == OLD_ATTACHMENT


def test_an_edit_sent_now_restores_a_cart_an_older_version_transferred(table: Table) -> None:
    # Given a cart 3d51d1a transferred (lines T1-T3, quantities 1-3), its lines as the buyer got them
    data = older_items.load(table)
    lines = data["cart_lines"]
    # When the buyer edits its requisition now: T1 at 4, T3 at 6, T2 left out
    items = [
        builders.item_out(part, quantity, auxiliary=auxiliary, price="10.50")
        for (part, auxiliary), quantity in zip((lines[0], lines[2]), ("4", "6"), strict=True)
    ]
    body = builders.setup_request(
        "edit",
        items=items,
        domain="NetworkID",
        identity="AN-UPMAIN",
        secret=data["partner_secrets"]["up-main"]["production"][0],
    )
    answer = cxml(call("POST", "/cxml/setup", body))
    assert answer.status.code == 200
    token = answer.response.start_page_url.rsplit("/", 1)[1]  # type: ignore[union-attr]
    start = call("GET", f"/punchout/start/{token}")
    session_id = re.sub(r".*punchout_session=", "", response_header(start, "Location") or "")
    # Then the shop gets the old cart's lines back with the requisition's quantities
    session = body_json(call("GET", f"/shop/sessions/{session_id}", headers=_headers()))
    assert [(line["supplier_part_id"], line["quantity"]) for line in session["cart"]["lines"]] == [
        ("T1", "4"),
        ("T3", "6"),
    ]
    assert [item["restored"] for item in session["items"]] == [True, True]


def test_orders_orphans_finds_no_payload_without_a_record_in_what_an_older_version_wrote(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given what 3d51d1a wrote: its orders (test-mode ones under production's key, versionless ones under
    # their payloadID) with their payloads, and payloads of a delivery that stopped before its record
    older_items.load(table)
    blobs = list(table.scan("begins_with(sk, :b)", {":b": {"S": "BLOB#"}}, {}, {"#pk": "pk"}))
    assert blobs
    lost = {"pk": {"S": "ORDER#up-main#LOST"}, "sk": {"S": "BLOB#" + "f" * 32 + "#MESSAGE#0000"}, "data": {"B": b""}}
    table.batch_write([{"PutRequest": {"Item": lost}}])
    monkeypatch.setattr("punchout.store.orders.time.sleep", lambda seconds: None)
    # When the operator looks for orphaned payloads
    capsys.readouterr()
    assert cli.main(["--table", TABLE_NAME, "orders", "orphans", "--delete"]) == 0
    # Then only the stopped delivery's are found and deleted: every older order keeps its payloads
    found = json.loads(capsys.readouterr().out)
    assert found["unnamed_payloads"] == [{"partition": "ORDER#up-main#LOST", "attempt": "f" * 32, "items": 1}]
    left = list(table.scan("begins_with(sk, :b)", {":b": {"S": "BLOB#"}}, {}, {"#pk": "pk"}))
    assert len(left) == len(blobs)
