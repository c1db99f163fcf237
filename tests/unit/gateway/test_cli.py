"""The ``punchout`` console script against the moto table, checked through the handlers it configures."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest

from punchout import cli
from punchout.cxml.models import Credential
from punchout.partners import TradingPartner, hash_secret
from punchout.store.dynamo import Item, Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.events import DEFAULT_SOURCE_IP
from tests.unit.gateway.conftest import TABLE_NAME, table_definition
from tests.unit.gateway.helpers import Run, Shop, call, cxml, item_text, open_session, stored_partner, table_items

ADD = [
    "partners",
    "add",
    "acme",
    "--name",
    "Acme Procurement",
    "--from",
    f"{builders.BUYER_DOMAIN}:{builders.BUYER_IDENTITY}",
    "--shop-url",
    "https://shop.example.com/punchout",
    "--post-host",
    "buyer.example.com",
    "--unspsc",
    "44120000",
]


@pytest.fixture
def punchout(table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    # PBKDF2 with 1,000 rounds instead of 120,000: the hash is the same kind, only faster.
    monkeypatch.setattr(cli, "hash_secret", partial(hash_secret, iterations=1000))
    return Run(capsys, TABLE_NAME)


def _printed_secret(out: str) -> str:
    match = re.search(r"shown once:\n(\S+)\n", out)
    assert match, out
    return match.group(1)


def _setup_code(secret: str | None, source_ip: str = DEFAULT_SOURCE_IP, **changes: Any) -> int:
    body = builders.setup_request(secret=secret, **changes)
    return cxml(call("POST", "/cxml/setup", body, source_ip=source_ip)).status.code


def _stored_hashes(table: Table) -> list[str]:
    partner = stored_partner(table)
    return [h for credential_set in partner.credentials.values() for h in credential_set.secret_hashes]


# --- add ------------------------------------------------------------------------------------------


def test_add_without_secret_prints_a_generated_secret_once(punchout: Run) -> None:
    # Given no partner yet
    # When one is added without --secret
    out = punchout.ok(*ADD)
    # Then a strong secret is printed, exactly once
    secret = _printed_secret(out)
    assert len(secret) >= 32
    assert out.count(secret) == 1


def test_generated_secret_authenticates(punchout: Run) -> None:
    # Given a partner added with a generated secret
    secret = _printed_secret(punchout.ok(*ADD))
    # When the buyer sends a setup request with it
    # Then it is accepted
    assert _setup_code(secret) == 200


def test_add_with_a_given_secret_does_not_print_it(punchout: Run) -> None:
    # Given a secret chosen by the buyer
    # When the partner is added with it
    out = punchout.ok(*ADD, "--secret", "chosen by the buyer 123")
    # Then the secret is not printed, and it authenticates
    assert "chosen by the buyer 123" not in out
    assert "shown once" not in out
    assert _setup_code("chosen by the buyer 123") == 200


@pytest.mark.parametrize("typed", ["chosen by the buyer 123\n", "  chosen by the buyer 123  \r\n"])
def test_a_chosen_secret_read_from_standard_input_authenticates(
    punchout: Run, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    # Given a secret the buyer chose, piped in (`--secret -`), so that it is in neither the shell's
    # history nor the process list
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    # When the partner is added with it
    out = punchout.ok(*ADD, "--secret", "-")
    # Then it authenticates, read without its line break, and it is not printed
    assert "chosen by the buyer" not in out
    assert _setup_code("chosen by the buyer 123") == 200


def test_a_secret_rotated_from_standard_input_authenticates(punchout: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partner, and its new secret piped in
    punchout.ok(*ADD)
    monkeypatch.setattr("sys.stdin", io.StringIO("the next secret, 2027\n"))
    # When the secret is rotated with it
    punchout.ok("partners", "rotate-secret", "acme", "--secret", "-")
    # Then it authenticates
    assert _setup_code("the next secret, 2027") == 200


def test_a_secret_from_a_terminal_is_asked_without_echo(punchout: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given `--secret -` in a terminal: the person types the secret
    terminal = io.StringIO("")
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", terminal)
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed by the operator 1"

    monkeypatch.setattr("getpass.getpass", getpass)
    # When the partner is added
    out = punchout.ok(*ADD, "--secret", "-")
    # Then it was asked for without echo (getpass), and it authenticates
    assert prompts == ["Shared secret: "]
    assert "typed by the operator" not in out
    assert _setup_code("typed by the operator 1") == 200


@pytest.mark.parametrize("piped", ["", "\n", " \t\n"], ids=["nothing", "an-empty-line", "a-blank-line"])
def test_an_empty_standard_input_is_no_secret(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, piped: str
) -> None:
    # Given `--secret -` with nothing piped in, or a first line without a secret (`echo | punchout ...`)
    monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    # When the partner is added
    with pytest.raises(SystemExit) as exit_:
        punchout(*ADD, "--secret", "-")
    # Then it is refused with one line saying where the secret was looked for, and nothing is stored
    assert exit_.value.code == 2
    assert "argument --secret: no secret on standard input" in capsys.readouterr().err
    assert table_items(table) == []


def test_a_partner_added_without_secret_is_authenticated_by_its_source_network(punchout: Run, table: Table) -> None:
    # Given a buyer that sends no SharedSecret, added with its source network instead
    out = punchout.ok(*ADD, "--no-secret", "--source-network", "198.51.100.0/24")
    # Then no secret is generated or stored
    assert "shown once" not in out
    assert _stored_hashes(table) == []
    # And its requests are accepted from that network only
    assert _setup_code(None, source_ip="198.51.100.7") == 200
    assert _setup_code(None, source_ip="203.0.113.7") == 401


def test_no_secret_without_a_source_network_is_refused(punchout: Run, table: Table) -> None:
    # Given a buyer added with --no-secret and nothing else to prove itself with
    code, _, err = punchout(*ADD, "--no-secret")
    # Then the command fails, naming the missing option, and stores nothing
    assert code != 0
    assert "--source-network" in err
    assert table_items(table) == []


def test_added_partner_has_the_given_settings(punchout: Run, table: Table) -> None:
    # Given options for every setting
    punchout.ok(
        *ADD,
        "--field-name",
        "cXML-base64",
        "--encoding",
        "base64",
        "--cxml-version",
        "1.2.069",
        "--operation-allowed",
        "inspect",
        "--currency",
        "EUR",
        "--uom",
        "BOX=BX",
        "--default-return-url",
        "https://buyer.example.com/inbox",
        "--sender",
        "AribaNetworkUserId:sysadmin@ariba.com",
    )
    # When the stored partner is read
    partner = stored_partner(table)
    # Then it has them
    assert (partner.cart_field_name, partner.cart_encoding, partner.cxml_version) == (
        "cXML-base64",
        "base64",
        "1.2.069",
    )
    assert (partner.operation_allowed, partner.default_currency) == ("inspect", "EUR")
    assert partner.unit_of_measure_map == {"BOX": "BX"}
    assert partner.default_return_url == "https://buyer.example.com/inbox"
    assert partner.default_classification is not None and partner.default_classification.value == "44120000"
    assert [s.identity for s in partner.credentials["production"].sender_identities] == ["sysadmin@ariba.com"]


def test_show_and_list_never_print_a_secret_or_hash(punchout: Run, table: Table) -> None:
    # Given a partner with a generated secret
    secret = _printed_secret(punchout.ok(*ADD))
    hashes = _stored_hashes(table)
    # When it is shown and listed, in both formats
    outputs = [
        punchout.ok("partners", "show", "acme"),
        punchout.ok("partners", "list"),
        punchout.ok("partners", "list", "--json"),
    ]
    # Then neither the secret nor any part of its hash appears; the count of secrets does
    for out in outputs:
        assert secret not in out
        assert "pbkdf2" not in out
        for stored in hashes:
            for part in stored.split("$")[2:]:
                assert part not in out
    shown = json.loads(outputs[0])
    assert shown["credentials"]["production"]["active_secrets"] == 1
    assert "secret_hashes" not in json.dumps(shown)


def test_list_shows_each_partner(punchout: Run) -> None:
    # Given two partners, one disabled
    punchout.ok(*ADD)
    punchout.ok(
        "partners",
        "add",
        "globex",
        "--name",
        "Globex",
        "--from",
        "DUNS:987654321",
        "--shop-url",
        "https://shop.example.com/",
    )
    punchout.ok("partners", "disable", "globex")
    # When they are listed
    out = punchout.ok("partners", "list")
    # Then each has a line with its state
    lines = out.splitlines()
    assert re.match(r"acme\s+enabled\s+production\s+Acme Procurement", lines[0]), lines
    assert re.match(r"globex\s+DISABLED", lines[1]), lines


def test_partners_are_listed_by_id_in_whatever_order_the_table_returns_them(
    punchout: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two partners, which DynamoDB scans in the order of its key hashes (here: the reverse of their ids)
    punchout.ok(*ADD)
    punchout.ok("partners", "add", "globex", "--name", "Globex", "--from", "DUNS:987654321")
    scan = Table.scan_prefix

    def reversed_scan(table: Table, *where: str) -> Iterator[Item]:
        return iter(sorted(scan(table, *where), key=lambda item: item["pk"]["S"], reverse=True))

    monkeypatch.setattr(Table, "scan_prefix", reversed_scan)
    # When they are listed, in both formats
    lines = punchout.ok("partners", "list").splitlines()
    listed = json.loads(punchout.ok("partners", "list", "--json"))
    # Then they come in the order of their ids
    assert [line.split()[0] for line in lines] == [partner["id"] for partner in listed] == ["acme", "globex"]


@pytest.mark.parametrize(
    ("given", "domain", "identity"),
    [
        # The Punchout Cloud Simulator's domain is a URL with a port
        ("http://localhost:8899:user_1", "http://localhost:8899", "user_1"),
        ("https://sim.example.com:user:1", "https://sim.example.com:user", "1"),
        # Plain domains end at the first ":": the identity may hold more
        ("NetworkID:AN01:42", "NetworkID", "AN01:42"),
        # Spaces around either part are not part of it
        (" NetworkID : AN01 ", "NetworkID", "AN01"),
    ],
)
def test_from_credential_splits_where_the_domain_ends(
    punchout: Run, table: Table, given: str, domain: str, identity: str
) -> None:
    # Given a From credential on the command line
    punchout.ok("partners", "add", "sim", "--name", "Sim", "--from", given, "--shop-url", "https://shop.example.com/")
    # Then domain and identity are stored as the buyer sends them
    [credential] = stored_partner(table, "sim").credentials["production"].from_credentials
    assert (credential.domain, credential.identity) == (domain, identity)


def test_a_credential_without_domain_is_refused(punchout: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        punchout("partners", "add", "sim", "--name", "Sim", "--from", ":x", "--shop-url", "https://s.example/")
    assert exit_.value.code == 2
    assert "expected DOMAIN:IDENTITY" in capsys.readouterr().err


def test_a_credential_domain_holding_a_hash_is_refused(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a partner whose From identity holds a "#" (identities may)
    punchout.ok("partners", "add", "one", "--name", "One", "--from", "a:b#c", "--shop-url", "https://s.example/")
    # When another is added with a domain holding one: its credential's key would be the first one's
    with pytest.raises(SystemExit) as exit_:
        punchout("partners", "add", "two", "--name", "Two", "--from", "a#b:c", "--shop-url", "https://s.example/")
    # Then it is refused as a usage error, and nothing is stored for it
    assert exit_.value.code == 2
    assert "a credential domain cannot hold '#'" in capsys.readouterr().err
    assert stored_partner(table, "one").credentials["production"].from_credentials[0].identity == "b#c"
    assert punchout("partners", "show", "two")[0] == 1


@pytest.mark.parametrize("option", ["--shop-url", "--default-return-url"])
@pytest.mark.parametrize("url", ["https://a b.example/", "https://s.example/\tx", "https://s.example/x\n"])
def test_a_url_holding_whitespace_or_controls_is_refused(
    punchout: Run, capsys: pytest.CaptureFixture[str], option: str, url: str
) -> None:
    # When a partner is given a URL a browser could not be sent to as it is (a Location header, a form)
    with pytest.raises(SystemExit) as exit_:
        punchout(*ADD, "--post-host", "s.example", option, url.encode().decode("unicode_escape"))
    # Then it is refused as a usage error
    assert exit_.value.code == 2
    assert "a URL cannot hold spaces or control characters" in capsys.readouterr().err


def test_add_with_another_partners_from_credential_fails(punchout: Run, table: Table) -> None:
    # Given a partner with From NetworkID:AN01000000001
    punchout.ok(*ADD)
    # When another partner is added claiming the same credential (domain in another case)
    code, _, err = punchout(
        "partners",
        "add",
        "copycat",
        "--name",
        "Copycat",
        "--from",
        f"networkid:{builders.BUYER_IDENTITY}",
        "--shop-url",
        "https://shop.example.com/",
    )
    # Then the command fails with exit 1, naming the credential and the partner that owns it, and
    # nothing is stored for it
    assert code == 1
    assert f"production From credential networkid:{builders.BUYER_IDENTITY} belongs to partner acme" in err
    assert punchout("partners", "show", "copycat")[0] == 1


def test_update_claiming_another_partners_from_credential_names_its_owner(punchout: Run) -> None:
    # Given two partners
    punchout.ok(*ADD)
    punchout.ok("partners", "add", "globex", "--name", "Globex", "--from", "DUNS:987654321")
    # When globex is given acme's From credential besides its own
    code, _, err = punchout(
        "partners", "update", "globex", "--from", "DUNS:987654321", "--from", f"NetworkID:{builders.BUYER_IDENTITY}"
    )
    # Then the command fails and names acme (not globex, which owns the other credential)
    assert code == 1
    assert err.strip().endswith("belongs to partner acme"), err


def test_add_of_an_existing_id_fails(punchout: Run) -> None:
    # Given a partner acme
    punchout.ok(*ADD)
    # When acme is added again with other credentials
    code, _, err = punchout(
        "partners", "add", "acme", "--name", "Acme 2", "--from", "DUNS:111", "--shop-url", "https://shop.example.com/"
    )
    # Then it fails, saying so
    assert code == 1
    assert "partner acme exists already" in err


def test_add_with_invalid_settings_fails_without_storing(punchout: Run, table: Table) -> None:
    # Given an http default return URL for a partner not marked for http
    # When the partner is added
    code, _, err = punchout(*ADD, "--default-return-url", "http://buyer.example.com/inbox")
    # Then it is refused as invalid (exit 2), and nothing is stored
    assert code == 2
    assert "invalid partner" in err
    assert table_items(table) == []


@pytest.mark.parametrize(
    ("given", "invalid", "message"),
    [
        ("acme", "acme#test", "id: String should match pattern"),
        ("acme", "a" * 64, "id: String should match pattern"),
        ("buyer.example.com", "https://buyer.example.com", "not a host name"),
        ("buyer.example.com", "buyer.example.com/cart", "not a host name"),
        ("https://shop.example.com/punchout", "shop.example.com/punchout", "not an absolute http(s) URL"),
        ("https://shop.example.com/punchout", "ftp://shop.example.com/punchout", "not an absolute http(s) URL"),
        ("https://shop.example.com/punchout", "https:///punchout", "not an absolute http(s) URL"),
    ],
)
def test_an_invalid_id_host_or_shop_url_is_refused_without_storing(
    punchout: Run, table: Table, given: str, invalid: str, message: str
) -> None:
    # Given an id, a BrowserFormPost host or a shop URL that is not one
    # When the partner is added with it
    code, _, err = punchout(*[invalid if option == given else option for option in ADD])
    # Then it is refused as invalid (exit 2), saying why, and nothing is stored
    assert code == 2
    assert err.startswith("punchout: invalid partner: ") and message in err, err
    assert table_items(table) == []


@pytest.mark.parametrize(
    "command",
    [
        [*ADD],
        ["partners", "update", "acme", "--mode", "test", "--from", "NetworkID:AN01-T"],
        ["partners", "rotate-secret", "acme"],
    ],
    ids=["add", "update", "rotate-secret"],
)
@pytest.mark.parametrize("secret", ["fifteen-chars!!", "  fifteen-chars!!  "], ids=["bare", "padded"])
def test_a_chosen_secret_shorter_than_16_characters_is_refused(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str], command: list[str], secret: str
) -> None:
    # Given a partner acme (for update and rotate-secret; add uses another id)
    punchout.ok(*ADD)
    before = table_items(table)
    if command[1] == "add":
        command = [*command[:2], "initech", *command[3:]]
    # When the command is given a 15-character secret (spaces around it do not count)
    with pytest.raises(SystemExit) as exit_:
        punchout(*command, "--secret", secret)
    # Then it is refused with one clear line that does not repeat the secret, and nothing changed
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --secret: a shared secret needs at least 16 characters" in err
    assert "fifteen-chars!!" not in err
    assert table_items(table) == before


def test_a_chosen_secret_of_16_characters_is_accepted(punchout: Run) -> None:
    # Given a secret the buyer chose, as short as allowed
    # When the partner is added with it
    punchout.ok(*ADD, "--secret", "sixteen-chars!!!")
    # Then it authenticates
    assert _setup_code("sixteen-chars!!!") == 200


def test_a_shorter_secret_the_buyers_system_dictates_is_accepted_when_said_so(punchout: Run) -> None:
    # Given a buyer whose system sends a short secret it dictates (Ariba's example: "coyote")
    # When the partner is added with it and --short-secret, and later rotated to another such secret
    punchout.ok(*ADD, "--secret", "coyote", "--short-secret")
    added = _setup_code("coyote")
    punchout.ok("partners", "rotate-secret", "acme", "--secret", "roadrunner", "--short-secret")
    # Then each authenticates
    assert (added, _setup_code("roadrunner"), _setup_code("coyote")) == (200, 200, 200)


def test_a_refused_short_secret_says_how_to_accept_one(punchout: Run, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a short secret without --short-secret
    # When a partner is added with it
    with pytest.raises(SystemExit):
        punchout(*ADD, "--secret", "coyote")
    # Then the refusal names the option (and not the secret)
    err = capsys.readouterr().err
    assert "--short-secret" in err
    assert "coyote" not in err


@pytest.mark.parametrize("secret", ["", "   "])
def test_a_blank_secret_is_refused_even_when_short_ones_are_accepted(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    # Given a blank secret with --short-secret
    # When a partner is added with it
    with pytest.raises(SystemExit) as exit_:
        punchout(*ADD, "--secret", secret, "--short-secret")
    # Then it is refused and nothing is stored
    assert exit_.value.code == 2
    assert table_items(table) == []


def test_a_chosen_secret_with_spaces_around_it_authenticates(punchout: Run) -> None:
    # Given a secret the buyer chose, pasted with spaces around it (the gateway reads a SharedSecret
    # trimmed, as every cXML text)
    punchout.ok(*ADD, "--secret", "  sixteen-chars!!! ")
    # When the buyer sends it
    # Then it authenticates
    assert _setup_code("sixteen-chars!!!") == 200


@pytest.mark.parametrize("credential", ["NetworkID:   ", "  :AN01000000001"], ids=["identity", "domain"])
def test_a_from_credential_empty_once_trimmed_is_refused(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str], credential: str
) -> None:
    # Given a From credential whose identity (or domain) is only spaces
    # When a partner is added with it
    with pytest.raises(SystemExit) as exit_:
        punchout(*[credential if arg.startswith(builders.BUYER_DOMAIN + ":") else arg for arg in ADD])
    # Then it is refused as the option's error, and nothing is stored (a stored one could not be read
    # back: show, list and the gateway's authentication of a From with an empty identity would fail on it)
    assert exit_.value.code == 2
    assert f"argument --from: expected DOMAIN:IDENTITY, got {credential!r}" in capsys.readouterr().err
    assert table_items(table) == []


def test_a_unit_mapping_without_its_equals_sign_is_refused(punchout: Run, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a unit-of-measure mapping that names the shop's unit only
    # When a partner is added with it
    with pytest.raises(SystemExit) as exit_:
        punchout(*ADD, "--uom", "BOX")
    # Then it is refused, saying what a mapping looks like
    assert exit_.value.code == 2
    assert "expected SHOP=BUYER, got 'BOX'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["4412-0000", "4412000", "UNSPSC44120000", "441200001"])
def test_an_unspsc_code_must_be_eight_digits(punchout: Run, capsys: pytest.CaptureFixture[str], value: str) -> None:
    # Given a code that is not 8 digits (nor 10)
    # When a partner is added with it
    with pytest.raises(SystemExit) as exit_:
        punchout(*[value if option == "44120000" else option for option in ADD])
    # Then it is refused, saying what a code looks like
    assert exit_.value.code == 2
    assert "an UNSPSC code is 8 digits" in capsys.readouterr().err


def test_an_unspsc_code_with_a_business_function_is_accepted(punchout: Run, table: Table) -> None:
    # Given a 10-digit code (8 digits and a business function)
    # When a partner is added with it
    punchout.ok(*[" 4412000014 " if option == "44120000" else option for option in ADD])
    # Then it is stored as given, trimmed
    classification = stored_partner(table).default_classification
    assert classification is not None and classification.value == "4412000014"


# A buyer reads the cart by its field's name: `cxml-urlencoded` holds the document, `cxml-base64` its
# base64 (as the buyer simulator does). Base64 under `cxml-urlencoded` reaches it as a broken document.


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--encoding", "base64"), ("cxml-base64", "base64")),
        (("--encoding", "urlencoded"), ("cxml-urlencoded", "urlencoded")),
        (("--field-name", "cXML-base64"), ("cXML-base64", "base64")),
        (("--field-name", "CXML-URLENCODED"), ("CXML-URLENCODED", "urlencoded")),
    ],
)
def test_an_encoding_or_a_conventional_field_name_alone_brings_the_other(
    punchout: Run, table: Table, options: tuple[str, str], expected: tuple[str, str]
) -> None:
    # Given a partner added with only one of --encoding and --field-name
    punchout.ok(*ADD, *options)
    # When the stored partner is read
    partner = stored_partner(table)
    # Then its field is the one buyers read in that encoding
    assert (partner.cart_field_name, partner.cart_encoding) == expected


def test_a_field_name_of_the_buyers_own_keeps_the_default_encoding(punchout: Run, table: Table) -> None:
    # Given a partner added with a field name that names no encoding
    punchout.ok(*ADD, "--field-name", "cart")
    # Then the name is kept, and the cart urlencoded
    partner = stored_partner(table)
    assert (partner.cart_field_name, partner.cart_encoding) == ("cart", "urlencoded")


def test_both_given_are_kept_as_given(punchout: Run, table: Table) -> None:
    # Given a buyer that wants base64 in a field of its own name
    punchout.ok(*ADD, "--field-name", "cart", "--encoding", "base64")
    # Then both are stored as given
    partner = stored_partner(table)
    assert (partner.cart_field_name, partner.cart_encoding) == ("cart", "base64")


@pytest.mark.parametrize(
    "command",
    [("partners", "add", *ADD[2:]), ("partners", "update", "acme")],
    ids=["add", "update"],
)
@pytest.mark.parametrize(
    ("name", "encoding"), [("cxml-base64", "urlencoded"), ("cXML-urlencoded", "base64")], ids=["base64", "urlencoded"]
)
def test_a_conventional_field_name_with_the_other_encoding_is_refused(
    punchout: Run, table: Table, capsys: pytest.CaptureFixture[str], command: tuple[str, ...], name: str, encoding: str
) -> None:
    # Given a field name buyers read in one encoding, and the other encoding (the cart would reach the
    # buyer as a broken document, as when --encoding alone left the field's name as it was)
    if command[1] == "update":
        punchout.ok(*ADD)
    before = table_items(table)
    # When a partner is added or updated with both
    with pytest.raises(SystemExit) as exit_:
        punchout(*command, "--field-name", name, "--encoding", encoding)
    # Then it is refused, saying why, and nothing is stored
    assert exit_.value.code == 2
    assert f"{name} holds the cart" in capsys.readouterr().err
    assert table_items(table) == before


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_field_name_is_refused(punchout: Run, table: Table, name: str) -> None:
    # Given a blank field name (a browser posts no field without a name: the buyer would get nothing)
    # When a partner is added with it
    with pytest.raises(SystemExit) as exit_:
        punchout(*ADD, "--field-name", name)
    # Then it is refused and nothing is stored
    assert exit_.value.code == 2
    assert table_items(table) == []


def test_a_field_name_is_stored_trimmed(punchout: Run, table: Table) -> None:
    # Given a field name typed with spaces around it (the buyer looks the field up by its name)
    punchout.ok(*ADD, "--field-name", " cXML-base64 ")
    # Then it is stored without them
    assert stored_partner(table).cart_field_name == "cXML-base64"


# --- update ---------------------------------------------------------------------------------------


def test_update_adds_test_mode_credentials(punchout: Run) -> None:
    # Given a partner with production credentials only
    production = _printed_secret(punchout.ok(*ADD))
    # When test-mode credentials are added
    out = punchout.ok(
        "partners", "update", "acme", "--mode", "test", "--from", f"NetworkID:{builders.BUYER_IDENTITY}-T"
    )
    test_secret = _printed_secret(out)
    # Then test requests authenticate with the new secret, production ones still with theirs
    assert _setup_code(test_secret, mode="test", identity=builders.BUYER_IDENTITY + "-T") == 200
    assert _setup_code(production) == 200
    assert _setup_code(production, mode="test", identity=builders.BUYER_IDENTITY + "-T") == 401


def test_update_adds_test_mode_credentials_with_a_chosen_secret(punchout: Run) -> None:
    # Given a partner with production credentials only
    punchout.ok(*ADD)
    # When test-mode credentials are added with a secret the buyer chose
    out = punchout.ok(
        "partners", "update", "acme", "--mode", "test", "--from", f"NetworkID:{builders.BUYER_IDENTITY}-T",
        "--secret", "the buyer's test secret",
    )  # fmt: skip
    # Then that secret is neither printed nor replaced by a generated one, and test requests authenticate with it
    assert "the buyer's test secret" not in out and "shown once" not in out
    assert _setup_code("the buyer's test secret", mode="test", identity=builders.BUYER_IDENTITY + "-T") == 200


def test_update_restricts_who_may_present_the_secret(punchout: Run) -> None:
    # Given a partner whose buyer sends directly
    secret = _printed_secret(punchout.ok(*ADD))
    # When it is changed to come through the Ariba Network
    punchout.ok("partners", "update", "acme", "--sender", "AribaNetworkUserId:sysadmin@ariba.com")
    # Then the network's sender may present the secret, the buyer itself no longer
    ariba = Credential(domain="AribaNetworkUserId", identity="sysadmin@ariba.com", shared_secret=secret)  # type: ignore[arg-type]
    assert _setup_code(secret, sender=ariba) == 200
    assert _setup_code(secret) == 401


def test_update_binds_a_partner_to_the_network_of_an_address_given(punchout: Run, table: Table) -> None:
    # Given a partner with a secret
    secret = _printed_secret(punchout.ok(*ADD))
    # When it is bound to a source network given by one of its addresses (as copied from a log)
    punchout.ok("partners", "update", "acme", "--source-network", "198.51.100.7/24")
    # Then the network is stored, and the secret is accepted from inside it only
    assert stored_partner(table).credentials["production"].source_networks == ["198.51.100.0/24"]
    assert _setup_code(secret, source_ip="198.51.100.200") == 200
    assert _setup_code(secret, source_ip="203.0.113.7") == 401


def test_the_last_network_of_a_partner_without_secret_cannot_be_removed(punchout: Run, table: Table) -> None:
    # Given a partner authenticated by its source network alone
    punchout.ok(*ADD, "--no-secret", "--source-network", "198.51.100.0/24")
    before = table_items(table)
    # When its networks are emptied
    code, _, err = punchout("partners", "update", "acme", "--source-network", "")
    # Then the command is refused as invalid, nothing changed, and requests from elsewhere are still refused
    assert code == 2
    assert "a credential set needs a shared secret or source networks" in err
    assert table_items(table) == before
    assert _setup_code(None, source_ip="203.0.113.7") == 401


def test_an_update_racing_another_fails_without_undoing_it(
    punchout: Run, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a partner, renamed by another operator while this command runs (after it read the partner)
    punchout.ok(*ADD)
    load = cli._load

    def renamed_meanwhile(partners: PartnerRepository, partner_id: str) -> TradingPartner:
        loaded = load(partners, partner_id)
        partners.update(loaded.model_copy(update={"name": "Renamed meanwhile"}))
        return loaded

    monkeypatch.setattr(cli, "_load", renamed_meanwhile)
    # When the command changes the cXML version from what it read
    code, _, err = punchout("partners", "update", "acme", "--cxml-version", "1.2.069")
    # Then it fails, saying to run it again, and the other change stays
    assert code == 1
    assert "partner acme changed meanwhile; run the command again" in err
    assert (stored_partner(table).name, stored_partner(table).cxml_version) == ("Renamed meanwhile", "1.2.014")


def test_update_changes_only_the_given_settings(punchout: Run, table: Table) -> None:
    # Given a partner
    punchout.ok(*ADD)
    before = stored_partner(table)
    # When its cXML version is updated
    punchout.ok("partners", "update", "acme", "--cxml-version", "1.2.069")
    # Then that changed and everything else stayed
    after = stored_partner(table)
    assert after.cxml_version == "1.2.069"
    assert after.model_dump(exclude={"cxml_version", "updated_at", "revision"}) == before.model_dump(
        exclude={"cxml_version", "updated_at", "revision"}
    )


def test_restoring_the_hosts_after_a_local_test_warns_while_http_stays_allowed(punchout: Run, table: Table) -> None:
    # Given a partner opened to the local simulator over plain http
    punchout.ok(*ADD)
    punchout.ok("partners", "update", "acme", "--post-host", "127.0.0.1:3000", "--allow-http")
    # When its real hosts are restored without --https-only
    code, _, err = punchout("partners", "update", "acme", "--post-host", "buyer.example.com")
    # Then the update is done, with a warning that http is still allowed
    assert code == 0
    assert "acme still allows plain http" in err and "--https-only" in err
    assert stored_partner(table).allow_http
    # ... and restoring them with --https-only turns http off, without a warning
    code, _, err = punchout("partners", "update", "acme", "--post-host", "buyer.example.com", "--https-only")
    assert (code, err) == (0, "")
    assert not stored_partner(table).allow_http


def test_changing_the_hosts_of_an_https_only_partner_warns_nothing(punchout: Run, table: Table) -> None:
    # Given a partner whose carts go over https only
    punchout.ok(*ADD)
    # When its hosts are changed
    code, _, err = punchout(
        "partners", "update", "acme", "--post-host", "buyer.example.com", "--post-host", "*.b.example"
    )
    # Then they are, without a warning about plain http
    assert (code, err) == (0, "")
    assert stored_partner(table).browser_form_post_hosts == ["buyer.example.com", "*.b.example"]


def test_update_replacing_from_credentials_frees_the_old_one(punchout: Run) -> None:
    # Given a partner whose From credential is replaced
    secret = _printed_secret(punchout.ok(*ADD))
    punchout.ok("partners", "update", "acme", "--from", "DUNS:555555555")
    # When requests arrive with the old and the new credential
    # Then only the new one is recognised
    assert _setup_code(secret, domain="DUNS", identity="555555555") == 200
    assert _setup_code(secret) == 401


def test_changing_the_encoding_renames_a_conventional_field_name(punchout: Run, table: Table) -> None:
    # Given a partner whose cart goes in the conventional `cXML-urlencoded` field
    punchout.ok(*ADD, "--field-name", "cXML-urlencoded")
    # When its encoding is changed to base64, and back
    punchout.ok("partners", "update", "acme", "--encoding", "base64")
    to_base64 = stored_partner(table)
    punchout.ok("partners", "update", "acme", "--encoding", "urlencoded")
    back = stored_partner(table)
    # Then the field follows, in the spelling the buyer had
    assert (to_base64.cart_field_name, to_base64.cart_encoding) == ("cXML-base64", "base64")
    assert (back.cart_field_name, back.cart_encoding) == ("cXML-urlencoded", "urlencoded")


def test_changing_to_a_conventional_field_name_changes_the_encoding(punchout: Run, table: Table) -> None:
    # Given a urlencoded partner
    punchout.ok(*ADD)
    # When its field is renamed to cxml-base64 alone
    punchout.ok("partners", "update", "acme", "--field-name", "cxml-base64")
    # Then the cart is base64 in it
    partner = stored_partner(table)
    assert (partner.cart_field_name, partner.cart_encoding) == ("cxml-base64", "base64")


def test_changing_the_encoding_keeps_a_field_name_of_the_buyers_own(punchout: Run, table: Table) -> None:
    # Given a partner whose cart goes in a field of the buyer's own name
    punchout.ok(*ADD, "--field-name", "cart")
    # When its encoding is changed
    punchout.ok("partners", "update", "acme", "--encoding", "base64")
    # Then the name stays
    partner = stored_partner(table)
    assert (partner.cart_field_name, partner.cart_encoding) == ("cart", "base64")


# --- rotate-secret --------------------------------------------------------------------------------


def test_rotation_keeps_the_old_and_the_new_secret(punchout: Run) -> None:
    # Given a partner with one secret
    old = _printed_secret(punchout.ok(*ADD))
    # When the secret is rotated
    new = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    # Then both authenticate
    assert new != old
    assert _setup_code(old) == 200
    assert _setup_code(new) == 200


def test_a_second_rotation_is_refused_while_two_secrets_are_active(punchout: Run, table: Table) -> None:
    # Given a partner rotated once: the buyer still uses the first secret, the second may be lost in e-mail
    first = _printed_secret(punchout.ok(*ADD))
    second = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    before = _stored_hashes(table)
    # When it is rotated again without --replace
    code, out, err = punchout("partners", "rotate-secret", "acme")
    # Then the command fails with one line that says what to do, and both secrets still work
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "retire-secrets acme --keep oldest" in err and "--replace" in err
    assert _stored_hashes(table) == before
    assert _setup_code(first) == 200
    assert _setup_code(second) == 200


def test_a_new_secret_that_never_reached_the_buyer_can_be_dropped_and_rotated_again(punchout: Run) -> None:
    # Given a partner rotated once, whose new secret never reached the buyer
    first = _printed_secret(punchout.ok(*ADD))
    lost = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    # When the oldest is kept and the secret is rotated again
    out = punchout.ok("partners", "retire-secrets", "acme", "--keep", "oldest")
    assert json.loads(out)["credentials"]["production"]["active_secrets"] == 1
    again = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    # Then the buyer's secret and the new one work, the lost one does not
    assert _setup_code(first) == 200
    assert _setup_code(again) == 200
    assert _setup_code(lost) == 401


def test_rotation_with_replace_during_a_rotation_keeps_only_the_new_secret(punchout: Run, table: Table) -> None:
    # Given a partner rotated once (two active secrets)
    first = _printed_secret(punchout.ok(*ADD))
    second = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    # When it is rotated with --replace (a leaked secret)
    third = _printed_secret(punchout.ok("partners", "rotate-secret", "acme", "--replace"))
    # Then only the newest works, and one hash is stored
    assert (_setup_code(first), _setup_code(second), _setup_code(third)) == (401, 401, 200)
    assert len(_stored_hashes(table)) == 1


def test_show_and_list_tell_a_rotation_in_progress(punchout: Run) -> None:
    # Given a partner with one secret
    punchout.ok(*ADD)
    shown = json.loads(punchout.ok("partners", "show", "acme"))["credentials"]["production"]
    assert shown["rotation_in_progress"] is False
    assert "rotating" not in punchout.ok("partners", "list")
    # When its secret is rotated
    punchout.ok("partners", "rotate-secret", "acme")
    # Then show, list and list --json say a rotation is in progress (two active secrets)
    shown = json.loads(punchout.ok("partners", "show", "acme"))["credentials"]["production"]
    assert (shown["active_secrets"], shown["rotation_in_progress"]) == (2, True)
    listing = punchout.ok("partners", "list")
    assert re.match(r"acme\s+enabled\s+production\s+Acme Procurement\s+\(rotating: production", listing), listing
    listed = json.loads(punchout.ok("partners", "list", "--json"))
    assert listed[0]["credentials"]["production"]["rotation_in_progress"] is True


def test_rotation_with_replace_retires_every_older_secret(punchout: Run) -> None:
    # Given a partner with one secret
    old = _printed_secret(punchout.ok(*ADD))
    # When it is rotated with --replace
    new = _printed_secret(punchout.ok("partners", "rotate-secret", "acme", "--replace"))
    # Then only the new one works
    assert _setup_code(old) == 401
    assert _setup_code(new) == 200


def test_retiring_after_a_rotation_keeps_only_the_new_secret(punchout: Run, table: Table) -> None:
    # Given a partner whose secret was rotated (two active secrets)
    old = _printed_secret(punchout.ok(*ADD))
    new = _printed_secret(punchout.ok("partners", "rotate-secret", "acme"))
    # When the older secrets are retired
    out = punchout.ok("partners", "retire-secrets", "acme")
    # Then the new one still works and the old one no longer does; nothing secret is printed
    assert _setup_code(new) == 200
    assert _setup_code(old) == 401
    assert json.loads(out)["credentials"]["production"]["active_secrets"] == 1
    assert new not in out and len(_stored_hashes(table)) == 1


def test_retiring_with_a_single_secret_changes_nothing(punchout: Run) -> None:
    # Given a partner with one secret
    secret = _printed_secret(punchout.ok(*ADD))
    # When older secrets are retired twice
    punchout.ok("partners", "retire-secrets", "acme")
    punchout.ok("partners", "retire-secrets", "acme")
    # Then its only secret still works
    assert _setup_code(secret) == 200


def test_update_refuses_a_secret_for_existing_credentials(punchout: Run, table: Table) -> None:
    # Given a partner with production credentials
    secret = _printed_secret(punchout.ok(*ADD))
    before = _stored_hashes(table)
    # When an update gives it a secret
    code, _, err = punchout("partners", "update", "acme", "--secret", "Another-Secret-456")
    # Then the command fails, says how to change a secret, and the stored secret is unchanged
    assert code == 1
    assert "rotate-secret" in err
    assert _stored_hashes(table) == before
    assert _setup_code(secret) == 200


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["rotate-secret", "acme", "--mode", "test"], "acme has no test credentials"),
        (["retire-secrets", "acme", "--mode", "test"], "acme has no test credentials"),
        (["update", "acme", "--mode", "test", "--source-network", "198.51.100.0/24"], "acme has no test credentials"),
        (
            ["update", "acme", "--mode", "test", "--sender", "AribaNetworkUserId:an"],
            "test credentials need at least one --from",
        ),
        (
            ["update", "acme", "--mode", "test", "--secret", "the buyer's test secret"],
            "test credentials need at least one --from",
        ),
    ],
    ids=["rotate-secret", "retire-secrets", "source-network", "sender", "secret"],
)
def test_a_command_on_a_mode_the_partner_lacks_fails(
    punchout: Run, table: Table, command: list[str], message: str
) -> None:
    # Given a partner with production credentials only
    punchout.ok(*ADD)
    before = table_items(table)
    # When a command changes its test credentials without creating them (no --from)
    code, out, err = punchout("partners", *command)
    # Then it fails with one line saying what is missing, and nothing changed
    assert (code, out) == (1, "")
    assert err == f"punchout: {message}\n"
    assert table_items(table) == before


# --- disable / enable -----------------------------------------------------------------------------


def test_disabled_partner_gets_403(punchout: Run) -> None:
    # Given a partner
    secret = _printed_secret(punchout.ok(*ADD))
    # When it is disabled
    punchout.ok("partners", "disable", "acme")
    # Then its requests are forbidden
    assert _setup_code(secret) == 403


def test_enabled_again_partner_is_accepted(punchout: Run) -> None:
    # Given a disabled partner
    secret = _printed_secret(punchout.ok(*ADD))
    punchout.ok("partners", "disable", "acme")
    # When it is enabled again
    punchout.ok("partners", "enable", "acme")
    # Then its requests are accepted
    assert _setup_code(secret) == 200


def test_commands_on_an_unknown_partner_fail(punchout: Run) -> None:
    # Given no partner
    # When one is shown, disabled or rotated
    # Then each command fails with exit 1
    for command in ("show", "disable", "rotate-secret"):
        assert punchout("partners", command, "nobody")[0] == 1


# --- API keys -------------------------------------------------------------------------------------


def test_api_key_is_printed_once_and_works(punchout: Run, table: Table) -> None:
    # Given a registered partner and an open session
    punchout.ok(*ADD, "--secret", builders.SECRET)
    session_id, _ = open_session()
    # When an API key is created
    out = punchout.ok("api-keys", "create", "--name", "main shop")
    raw = _printed_secret(out)
    # Then it is printed once, and the shop API accepts it
    assert out.count(raw) == 1
    assert Shop({"x-api-key": raw}, session_id).get()["statusCode"] == 200


def test_api_key_list_never_prints_a_key(punchout: Run, table: Table) -> None:
    # Given two API keys
    raws = [_printed_secret(punchout.ok("api-keys", "create", "--name", name)) for name in ("one", "two")]
    # When they are listed
    listed = json.loads(punchout.ok("api-keys", "list"))
    # Then both are named, neither key is printed, nor stored in clear
    assert [k["name"] for k in listed] == ["one", "two"]
    assert all(k["enabled"] for k in listed)
    stored = "\n".join(item_text(i) for i in table_items(table))
    for raw in raws:
        assert raw not in json.dumps(listed)
        assert raw not in stored


def test_revoked_api_key_is_refused(punchout: Run) -> None:
    # Given an API key used by the shop
    punchout.ok(*ADD, "--secret", builders.SECRET)
    session_id, _ = open_session()
    raw = _printed_secret(punchout.ok("api-keys", "create", "--name", "main shop"))
    [listed] = json.loads(punchout.ok("api-keys", "list"))
    # When it is revoked
    revoked = json.loads(punchout.ok("api-keys", "revoke", listed["id"]))
    # Then the listing says so, and the shop API refuses it
    assert revoked["enabled"] is False
    assert json.loads(punchout.ok("api-keys", "list"))[0]["enabled"] is False
    assert Shop({"x-api-key": raw}, session_id).get()["statusCode"] == 401


def test_a_key_created_for_a_bare_table_warns_that_api_gateway_lacks_it(punchout: Run) -> None:
    # Given a table named on the command line (no --stack: no usage plan to register the key with)
    # When a key is created
    code, out, err = punchout("api-keys", "create", "--name", "web shop")
    # Then it is created, with a warning that a deployed ShopApi needs --stack
    assert code == 0 and _printed_secret(out)
    assert "--stack" in err


def test_aws_errors_are_one_line_not_a_traceback(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a table name that does not exist
    # When the partners are listed
    code = cli.main(["--table", "no-such-table", "partners", "list"])
    # Then the command fails with one line naming the problem
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("punchout: AWS: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_revoking_an_unknown_key_fails(punchout: Run) -> None:
    # Given no such key
    # When it is revoked
    # Then the command fails
    assert punchout("api-keys", "revoke", "000000000000")[0] == 1


# --- the real hash --------------------------------------------------------------------------------


def test_cli_stores_a_chosen_secret_as_a_slow_hash(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the CLI as installed (120,000 PBKDF2 rounds)
    # When a partner is added with a secret a person chose
    assert cli.main(["--table", TABLE_NAME, *ADD, "--secret", "s3cret value, chosen"]) == 0
    # Then its secret is stored as a PBKDF2-SHA256 hash of at least 120,000 rounds
    [stored] = _stored_hashes(table)
    scheme, rounds, _, _ = stored.split("$")
    assert scheme == "pbkdf2_sha256"
    assert int(rounds) >= 120_000


def test_cli_stores_a_generated_secret_as_a_salted_hmac(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the CLI as installed
    # When a partner is added without --secret, and then the secret is rotated
    assert cli.main(["--table", TABLE_NAME, *ADD]) == 0
    assert cli.main(["--table", TABLE_NAME, "partners", "rotate-secret", "acme"]) == 0
    # Then both generated secrets are stored as salted HMAC-SHA256 hashes, each with its own salt
    hashes = _stored_hashes(table)
    assert [h.split("$")[0] for h in hashes] == ["hmac_sha256", "hmac_sha256"]
    assert len({h.split("$")[1] for h in hashes}) == 2


# --- a second local stack (--state-dir) -----------------------------------------------------------

SECOND_TABLE = "punchout-local-second"


def _state_dir(folder: Path, table: str, endpoint: str | None = None) -> Path:
    """A state directory as `python -m infra.local.stack --state-dir` leaves it while the stack runs."""
    folder.mkdir()
    stack: dict[str, Any] = {"region": "us-east-1", "tables": {"PunchOutTable": {"name": table}}}
    if endpoint:
        stack["dynamodb"] = {"endpoint_url": endpoint}
    (folder / "stack.json").write_text(json.dumps(stack))
    return folder


@pytest.fixture
def second_table(table: Table) -> Iterator[Table]:
    client = boto3.client("dynamodb")
    client.create_table(TableName=SECOND_TABLE, **table_definition())
    try:
        yield Table(SECOND_TABLE)
    finally:
        client.delete_table(TableName=SECOND_TABLE)


def test_state_dir_manages_the_partners_of_that_local_stack(
    table: Table,
    second_table: Table,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a second local stack started with --state-dir .local2, while TABLE_NAME names another table
    monkeypatch.chdir(tmp_path)
    _state_dir(tmp_path / ".local2", SECOND_TABLE)
    assert os.environ["TABLE_NAME"] == TABLE_NAME
    # When a partner is added with --state-dir .local2
    assert cli.main(["--state-dir", ".local2", *ADD]) == 0, capsys.readouterr().err
    # Then it is in that stack's table, and only there
    assert stored_partner(second_table, "acme") is not None
    assert table_items(table) == []


def test_state_dir_reaches_dynamodb_at_that_stacks_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a second local stack, whose DynamoDB listens on its own port (and a copy of the environment, so
    # that the endpoint and credentials the CLI sets reach no other test)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    monkeypatch.setattr(os, "environ", environment)
    state = _state_dir(tmp_path / ".local2", SECOND_TABLE, endpoint="http://127.0.0.1:45678")
    # When the CLI resolves its table through --state-dir
    resolved = cli.resolve_table(cli.parser().parse_args(["--state-dir", str(state), "partners", "list"]))
    # Then it is that stack's table, at that stack's endpoint
    assert resolved.name == SECOND_TABLE
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:45678"


def test_state_dir_of_no_running_stack_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state directory without stack.json (its stack is not running)
    # When the CLI is pointed at it
    code = cli.main(["--state-dir", str(tmp_path), "partners", "list"])
    # Then it fails with one line saying so and how to start that stack
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"punchout: no local stack runs with the state directory {tmp_path} (no {tmp_path / 'stack.json'}): "
        f"start it with `.venv/bin/python -m infra.local.stack --state-dir {tmp_path}`\n"
    )


@pytest.mark.parametrize("option", [["--table", TABLE_NAME], ["--stack", "punchout-prod"]], ids=["table", "stack"])
def test_state_dir_with_table_or_stack_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    code = cli.main(["--state-dir", str(tmp_path), *option, "partners", "list"])
    assert code == 1
    assert "--state-dir names a local stack's table: give it without --table and --stack" in capsys.readouterr().err


@pytest.mark.parametrize(("table_name_set", "expected"), [(True, TABLE_NAME), (False, SECOND_TABLE)])
def test_table_name_in_the_environment_hides_the_local_stack(
    table: Table,
    second_table: Table,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    table_name_set: bool,
    expected: str,
) -> None:
    # Given the local stack running (.local/stack.json), and TABLE_NAME left in the shell or not
    monkeypatch.chdir(tmp_path)
    _state_dir(tmp_path / ".local", SECOND_TABLE)
    if not table_name_set:
        monkeypatch.delenv("TABLE_NAME")
    # When a partner is added without naming a table
    assert cli.main(ADD) == 0, capsys.readouterr().err
    # Then it is in TABLE_NAME's table if set, else in the local stack's
    assert [name for name in (TABLE_NAME, SECOND_TABLE) if table_items(Table(name))] == [expected]


@pytest.mark.parametrize("endpoint", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"])
def test_state_dir_leaves_an_endpoint_and_credentials_of_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    # Given an endpoint, credentials and a region in the environment (its copy, so that nothing leaks)
    environment = {
        endpoint: "http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID": "mine",
        "AWS_SECRET_ACCESS_KEY": "mine too",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    monkeypatch.setattr(os, "environ", dict(environment))
    state = _state_dir(tmp_path / ".local2", SECOND_TABLE, endpoint="http://127.0.0.1:45678")
    # When the CLI resolves its table through --state-dir
    cli.resolve_table(cli.parser().parse_args(["--state-dir", str(state), "partners", "list"]))
    # Then the environment's endpoint, credentials and region win over the local stack's
    assert os.environ == environment


def test_state_dir_whose_stack_names_no_table_is_explained(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state directory whose stack.json names no table (left by an older local stack)
    state = _state_dir(tmp_path / ".local2", "")
    # When the CLI is pointed at it
    code = cli.main(["--state-dir", str(state), "partners", "list"])
    # Then it fails with one line saying so and what to do
    assert code == 1
    assert capsys.readouterr().err == (
        f"punchout: {state / 'stack.json'} names no PunchOutTable: restart the local stack (`make dev`)\n"
    )


def test_the_local_stack_is_found_from_any_folder_of_the_checkout(
    table: Table,
    second_table: Table,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the local stack running from a checkout (its .local/stack.json), and the operator in a
    # folder of that checkout, as README's commands in functions/ have them (TABLE_NAME not set)
    _state_dir(tmp_path / ".local", SECOND_TABLE)
    (tmp_path / "functions" / "punchout").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "functions" / "punchout")
    monkeypatch.delenv("TABLE_NAME")
    # When a partner is added without naming a table
    code = cli.main(ADD)
    # Then it is in the local stack's table, not refused with "run `make dev`" while the stack runs
    assert code == 0, capsys.readouterr().err
    assert stored_partner(second_table, "acme") is not None
    assert table_items(table) == []
