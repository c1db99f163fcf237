"""Authentication of every cXML request (issue 3, "Authentication").

The buyer is found by a From credential, proves itself with the Sender's SharedSecret, and must use
the credential set of the request's deploymentMode. Every kind of failure answers the same 401.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

import order_message.handler
import punchout.auth
import punchout.store.partners
import setup_request.handler
from punchout.auth import UNAUTHORIZED_TEXT
from punchout.cxml.models import Credential
from punchout.cxml.reader import MAX_HEADER_CREDENTIALS
from punchout.orders import MAX_ID_BYTES
from punchout.partners import CredentialRef, CredentialSet, hash_secret, matching_secret
from punchout.store.dynamo import Table
from tests.support import builders
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    ariba_header,
    call,
    cxml,
    invoke,
    item_text,
    line,
    message_tree,
    open_session,
    open_session_with,
    register,
    setup_document,
    stored_partner,
    table_items,
    without,
)

WRONG_SECRET = "not the secret at all 7f3a"
SECRETS_IN_PLAY = (builders.SECRET, builders.SECRET + " test", WRONG_SECRET)

# Every route that takes a cXML request, and a request it answers with 200.
ROUTES: dict[str, tuple[str, Callable[..., bytes]]] = {
    "setup": ("/cxml/setup", builders.setup_request),
    "profile": ("/cxml/profile", builders.profile_request),
    "profile-at-setup": ("/cxml/setup", builders.profile_request),
}


def _send(route: str, **header_changes: Any) -> tuple[int, str, str]:
    path, build = ROUTES[route]
    return _status(call("POST", path, build(**header_changes)))


def _send_body(route: str, body: bytes) -> tuple[int, str, str]:
    return _status(call("POST", ROUTES[route][0], body))


def _status(response: dict[str, Any]) -> tuple[int, str, str]:
    status = cxml(response).status
    return status.code, status.text, status.message


def _unauthorised_answers(route: str) -> dict[str, tuple[int, str, str]]:
    build = ROUTES[route][1]
    return {
        "unknown partner": _send(route, identity="AN09999999999"),
        "wrong secret": _send(route, secret=WRONG_SECRET),
        "missing SharedSecret": _send(route, secret=None),
        "missing Header": _send_body(route, without(build(), "/cXML/Header")),
        "missing From credential": _send_body(route, without(build(), "/cXML/Header/From/Credential")),
        "missing Sender credential": _send_body(route, without(build(), "/cXML/Header/Sender/Credential")),
    }


@pytest.fixture
def with_partner(table: Table) -> Table:
    register(table)
    return table


def _register_production_only(
    table: Table, partner_id: str = "acme", *, domain: str = builders.BUYER_DOMAIN, identity: str, secret: str
) -> None:
    """A partner with production credentials only: one From credential and one secret."""
    from_credentials = [CredentialRef(domain=domain, identity=identity)]
    secret_hashes = [hash_secret(secret, iterations=1000)]
    credentials = {"production": CredentialSet(from_credentials=from_credentials, secret_hashes=secret_hashes)}
    register(table, partner_id=partner_id, credentials=credentials)


# --- who may come in ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_registered_partner_with_its_secret_is_accepted(with_partner: Table, route: str) -> None:
    # Given the default partner is registered
    # When it sends a request with its production credential and secret
    code, _, _ = _send(route)
    # Then the request is accepted
    assert code == 200


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "failure",
    [
        "unknown partner",
        "wrong secret",
        "missing SharedSecret",
        "missing Header",
        "missing From credential",
        "missing Sender credential",
    ],
)
def test_each_authentication_failure_is_401(with_partner: Table, route: str, failure: str) -> None:
    # Given a registered partner
    # When a request fails authentication in one particular way
    answers = _unauthorised_answers(route)
    # Then that request is answered 401
    assert answers[failure][0] == 401, answers[failure]


@pytest.mark.parametrize("route", ROUTES)
def test_every_authentication_failure_has_the_same_text(with_partner: Table, route: str) -> None:
    # Given a registered partner
    # When requests fail authentication for different reasons
    answers = _unauthorised_answers(route)
    # Then the answers are indistinguishable: same code, status text and message
    assert set(answers.values()) == {(401, "Unauthorized", UNAUTHORIZED_TEXT)}, answers


def test_credential_domain_is_compared_case_insensitively(with_partner: Table) -> None:
    # Given a partner registered with domain "NetworkID"
    # When the buyer spells it "networkid" and pads its identity with spaces
    code, _, _ = _send("setup", domain="networkid", identity="  " + builders.BUYER_IDENTITY + " ")
    # Then it is still recognised
    assert code == 200


def test_any_from_credential_identifies_the_partner(with_partner: Table) -> None:
    # Given a partner registered with NetworkID AN01000000001
    header = builders.header()
    unknown = Credential(domain="DUNS", identity="000000000")
    header = header.model_copy(update={"from_credentials": [unknown, *header.from_credentials]})
    # When the request lists an unknown From credential before the registered one
    # Then the partner is still recognised
    assert _send_body("setup", setup_document(header=header))[0] == 200


def test_the_first_registered_from_credential_decides_the_partner(with_partner: Table) -> None:
    # Given a second partner, globex, with its own From credential and secret
    _register_production_only(with_partner, "globex", domain="DUNS", identity="987654321", secret="globex's secret")
    header = builders.header()
    globex = Credential(domain="DUNS", identity="987654321")
    header = header.model_copy(update={"from_credentials": [*header.from_credentials, globex]})
    # When a request lists acme's From credential, then globex's, and presents acme's secret
    # Then it is acme's request (the first credential that is registered decides), and accepted
    assert _send_body("setup", setup_document(header=header))[0] == 200


def test_identity_is_compared_exactly_apart_from_spaces(with_partner: Table) -> None:
    # Given a partner registered with identity AN01000000001
    # When the buyer sends the identity in another case
    code, _, _ = _send("setup", identity=builders.BUYER_IDENTITY.lower())
    # Then it is not recognised (only domains are case-insensitive)
    assert code == 401


# --- deploymentMode -------------------------------------------------------------------------------


def test_test_credentials_work_in_test_mode(with_partner: Table) -> None:
    # Given a partner with separate test credentials
    # When it sends a test-mode request with its test credential and test secret
    body = builders.setup_request(
        mode="test", identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test"
    )
    # Then it is accepted
    assert _send_body("setup", body)[0] == 200


def test_test_credentials_in_production_are_refused(with_partner: Table) -> None:
    # Given a partner with separate test credentials
    # When a production request presents the test credential and test secret
    body = builders.setup_request(identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test")
    # Then it is refused like any other failure
    assert _send_body("setup", body) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


def test_production_credentials_in_test_mode_are_refused(with_partner: Table) -> None:
    # Given a partner with separate production and test credentials
    # When a test-mode request presents the production credential and secret
    body = builders.setup_request(mode="test")
    # Then it is refused
    assert _send_body("setup", body) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


def test_production_secret_with_test_credential_is_refused(with_partner: Table) -> None:
    # Given a partner whose test credential has its own secret
    # When a test-mode request pairs the test credential with the production secret
    body = builders.setup_request(mode="test", identity=builders.BUYER_IDENTITY + "-T")
    # Then it is refused
    assert _send_body("setup", body)[0] == 401


# --- Sender identities (hubs such as the Ariba Network) -------------------------------------------


@pytest.fixture
def ariba_partner(table: Table) -> Table:
    register(
        table,
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY)],
                sender_identities=[CredentialRef(domain="AribaNetworkUserId", identity="sysadmin@ariba.com")],
                secret_hashes=[hash_secret(builders.SECRET, iterations=1000)],
            )
        },
    )
    return table


def test_hub_sender_with_the_secret_is_accepted(ariba_partner: Table) -> None:
    # Given a partner that comes through the Ariba Network
    # When the request is From the buyer's AN id and Sent by sysadmin@ariba.com with the secret
    body = setup_document(header=ariba_header())
    # Then it is accepted
    assert _send_body("setup", body)[0] == 200


def test_hub_sender_domain_is_case_insensitive(ariba_partner: Table) -> None:
    # Given a partner that comes through the Ariba Network
    # When the Sender domain is spelled in lower case
    header = ariba_header()
    sender = header.sender_credentials[0].model_copy(update={"domain": "aribanetworkuserid"})
    header = header.model_copy(update={"sender_credentials": [sender]})
    # Then it is still accepted
    assert _send_body("setup", setup_document(header=header))[0] == 200


def test_other_sender_with_the_right_secret_is_refused(ariba_partner: Table) -> None:
    # Given a partner restricted to the Ariba Network's sender identity
    # When another sender presents the right secret
    body = setup_document(header=ariba_header(sender_identity="someone@elsewhere.example"))
    # Then it is refused with the common text
    assert _send_body("setup", body) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


def test_buyer_itself_as_sender_is_refused_when_senders_are_restricted(ariba_partner: Table) -> None:
    # Given a partner restricted to the Ariba Network's sender identity
    # When the buyer sends directly, with its own credential and the right secret in Sender
    # Then it is refused
    assert _send("setup")[0] == 401


def test_hub_sender_with_a_wrong_secret_is_refused(ariba_partner: Table) -> None:
    # Given a partner that comes through the Ariba Network
    # When the network's sender presents a wrong secret
    body = setup_document(header=ariba_header(secret=WRONG_SECRET))
    # Then it is refused
    assert _send_body("setup", body)[0] == 401


def test_the_cart_of_a_hub_buyer_goes_to_the_buyer_not_the_hub(
    ariba_partner: Table, shop_headers: dict[str, str]
) -> None:
    # Given a session opened through the Ariba Network: From the buyer's AN id, Sent by the network
    shop = Shop(shop_headers, open_session_with(setup_document(header=ariba_header())))
    # When the cart goes back
    posted = message_tree(ReturnPage.of(shop.checkout(line())).document(stored_partner(ariba_partner)))
    # Then it is addressed To the buyer's From credential, not to the network's Sender
    to = posted.xpath("/cXML/Header/To/Credential")[0]
    assert (to.get("domain"), to.xpath("string(Identity)")) == (builders.BUYER_DOMAIN, builders.BUYER_IDENTITY)


# --- secret rotation ------------------------------------------------------------------------------


@pytest.fixture
def rotating_partner(table: Table) -> Table:
    register(
        table,
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY)],
                secret_hashes=[hash_secret("old secret", iterations=1000), hash_secret("new secret", iterations=1000)],
            )
        },
    )
    return table


@pytest.mark.parametrize("secret", ["old secret", "new secret"])
def test_both_active_secrets_are_accepted(rotating_partner: Table, secret: str) -> None:
    # Given a partner in the middle of a rotation, with two active secrets
    # When it presents either one
    # Then it is accepted
    assert _send("setup", secret=secret)[0] == 200


@pytest.mark.parametrize(("secret", "logged"), [("old secret", "older"), ("new secret", "newest")])
def test_the_log_says_which_secret_the_buyer_used(
    rotating_partner: Table, log_lines: io.StringIO, secret: str, logged: str
) -> None:
    # Given a partner in the middle of a rotation
    # When it authenticates with one of its two secrets
    assert _send("setup", secret=secret)[0] == 200
    # Then the request's log lines say whether it was the newest (the rotation can be finished), never the secret
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert {line.get("secret_in_use") for line in lines if line.get("partner_id") == "acme"} == {logged}
    assert secret not in log_lines.getvalue()


def test_retired_secret_is_refused(rotating_partner: Table) -> None:
    # Given a partner whose two active secrets are "old secret" and "new secret"
    # When it presents a secret that was retired before them
    # Then it is refused
    assert _send("setup", secret=builders.SECRET)[0] == 401


def test_a_document_repeating_sender_secrets_gets_only_the_first_ones_checked(
    rotating_partner: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a partner with two slow (PBKDF2) hashes, and a document with twenty Sender secrets, the right
    # one last
    body = builders.setup_request(secret="new secret")
    tree = etree.fromstring(body)
    sender = tree.find("Header/Sender")
    assert sender is not None
    for n in range(19):
        extra = copy.deepcopy(sender.find("Credential"))
        assert extra is not None
        extra.find("SharedSecret").text = f"guess {n}"  # type: ignore[union-attr]
        sender.insert(0, extra)
    checked: list[str] = []

    def counted(secret: str, hashes: list[str]) -> int | None:
        checked.append(secret)
        return matching_secret(secret, hashes)

    monkeypatch.setattr(punchout.auth, "matching_secret", counted)
    # When it is sent
    code = _send_body("setup", etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))[0]
    # Then only the first two secrets are checked, so the right one, twentieth, does not authenticate
    assert checked == ["guess 18", "guess 17"]
    assert code == 401


def test_a_request_is_read_past_its_header_only_once_its_sender_is_known(with_partner: Table) -> None:
    # Given a setup request that cannot be used (its ShipTo has no Address)
    def unusable(**header_changes: Any) -> bytes:
        return without(builders.setup_request(**header_changes), "//ShipTo/Address")

    # When a stranger sends it, and the registered buyer does
    stranger, buyer = _send_body("setup", unusable(identity="AN09999999999")), _send_body("setup", unusable())
    # Then the stranger is refused as unknown (nothing past the Header was read: a stranger's large
    # document costs a parse, not its reading), and the buyer is told what is wrong
    assert stranger == (401, "Unauthorized", UNAUTHORIZED_TEXT)
    assert (buyer[0], buyer[2]) == (400, "ShipTo has no Address")


@pytest.mark.parametrize("part", ["From", "To", "Sender"])
@pytest.mark.parametrize(("count", "code"), [(MAX_HEADER_CREDENTIALS, 200), (MAX_HEADER_CREDENTIALS + 1, 400)])
def test_a_header_holds_at_most_32_credentials_of_each_kind(
    with_partner: Table, part: str, count: int, code: int
) -> None:
    # Given a request whose From, To or Sender holds its credential and more, up to the limit or one more
    tree = etree.fromstring(builders.setup_request())
    holder = tree.find(f"Header/{part}")
    assert holder is not None
    for n in range(count - 1):
        extra = copy.deepcopy(holder.find("Credential"))
        assert extra is not None
        extra.find("Identity").text = f"AN{n:011d}"  # type: ignore[union-attr]
        holder.append(extra)
    # When it is sent
    answer = _send_body("setup", etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    # Then up to the limit it is read (and authenticated by its first credentials); one more is refused,
    # before anything is looked up
    assert answer[0] == code
    if code == 400:
        assert answer[2] == f"{part} has more than 32 Credential elements"


@pytest.mark.parametrize("route", ROUTES)
def test_a_from_identity_longer_than_any_key_is_401_without_a_lookup(
    with_partner: Table, dynamodb_keys: list[str], route: str
) -> None:
    # When a From Identity is longer than DynamoDB allows in a key (which no registered one can be)
    code = _send(route, identity="A" * 2100)[0]
    # Then it is unknown (401), not a 500 from DynamoDB's refusal
    assert code == 401
    assert not [key for key in dynamodb_keys if len(key) > 2048]


def test_a_from_identity_as_long_as_a_key_may_be_is_found(table: Table, dynamodb_keys: list[str]) -> None:
    # Given a partner whose From identity makes its credential key exactly as long as DynamoDB allows
    prefix = f"CREDENTIAL#production#{builders.BUYER_DOMAIN.lower()}#"
    identity = "A" * (punchout.store.partners.MAX_KEY_BYTES - len(prefix))
    _register_production_only(table, identity=identity, secret=builders.SECRET)
    # When it sends a request with that identity
    # Then it is looked up and accepted (only longer keys are unknown without a lookup)
    assert _send("setup", identity=identity)[0] == 200
    assert prefix + identity in dynamodb_keys


def test_a_document_with_dozens_of_from_credentials_gets_only_the_first_ones_looked_up(
    with_partner: Table, dynamodb_keys: list[str]
) -> None:
    # Given a document with thirty From credentials before the registered one
    tree = etree.fromstring(builders.setup_request())
    sender_from = tree.find("Header/From")
    assert sender_from is not None
    for n in range(30):
        extra = copy.deepcopy(sender_from.find("Credential"))
        assert extra is not None
        extra.find("Identity").text = f"AN{n:011d}"  # type: ignore[union-attr]
        sender_from.insert(0, extra)
    # When it is sent
    code = _send_body("setup", etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))[0]
    # Then only the first eight are looked up: it answers 401 at once
    assert code == 401
    assert len([key for key in dynamodb_keys if key.startswith("CREDENTIAL#")]) == 8


NOT_BASE64 = {
    "text": "not base64!",
    "cut short": "YQ",
    "beyond ASCII": "\u00e9t\u00e9",
    # a request's base64 and a character outside the alphabet, which a lenient decoder would drop
    "stray character": base64.b64encode(builders.profile_request()).decode() + "*",
}


@pytest.mark.parametrize("path", ["/cxml/setup", "/cxml/profile"])
@pytest.mark.parametrize("body", sorted(NOT_BASE64))
def test_a_body_marked_base64_that_is_not_is_406(with_partner: Table, path: str, body: str) -> None:
    # Given an event that says its body is base64 while it is not (API Gateway never sends one; a
    # direct invocation or another proxy might)
    from tests.support.events import api_event

    event = api_event("POST", path, body=NOT_BASE64[body], headers={"Content-Type": "text/xml"})
    event["isBase64Encoded"] = True
    # When it is handled, Then the answer is a cXML 406, not a 500 (the order route: test_order_request)
    assert cxml(invoke("SetupRequestFunction", event)).status.code == 406


# --- source networks ------------------------------------------------------------------------------

# Networks and addresses from the documentation ranges (RFC 5737, RFC 3849).
BUYER_NETWORKS = ["198.51.100.0/24", "2001:db8:1::/48"]
INSIDE = ["198.51.100.7", "198.51.100.255", "2001:db8:1:ffff::5"]
OUTSIDE = ["192.0.2.10", "198.51.101.7", "2001:db8:2::5", "::ffff:203.0.113.9"]


def _network_partner(table: Table, *, with_secret: bool) -> None:
    register(
        table,
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY)],
                secret_hashes=[hash_secret(builders.SECRET, iterations=1000)] if with_secret else [],
                source_networks=BUYER_NETWORKS,
            )
        },
    )


def _send_from(source_ip: str, **header_changes: Any) -> tuple[int, str, str]:
    return _status(call("POST", "/cxml/setup", builders.setup_request(**header_changes), source_ip=source_ip))


@pytest.mark.parametrize("source_ip", INSIDE)
def test_the_secret_from_an_allowed_network_is_accepted(table: Table, source_ip: str) -> None:
    # Given a partner with a secret that must also come from its networks (IPv4 and IPv6)
    _network_partner(table, with_secret=True)
    # When it presents its secret from an address inside them
    # Then it is accepted
    assert _send_from(source_ip)[0] == 200


@pytest.mark.parametrize("source_ip", OUTSIDE)
def test_the_right_secret_from_outside_the_networks_is_refused(table: Table, source_ip: str) -> None:
    # Given a partner with a secret that must also come from its networks
    _network_partner(table, with_secret=True)
    # When the right secret arrives from elsewhere
    # Then it is refused with the common text
    assert _send_from(source_ip) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


def test_a_wrong_secret_from_an_allowed_network_is_refused(table: Table) -> None:
    # Given a partner with a secret that must also come from its networks
    _network_partner(table, with_secret=True)
    # When a wrong secret comes from inside them
    # Then the network alone does not let it in
    assert _send_from(INSIDE[0], secret=WRONG_SECRET)[0] == 401


@pytest.mark.parametrize("source_ip", INSIDE)
def test_a_partner_without_secret_is_accepted_from_its_networks(table: Table, source_ip: str) -> None:
    # Given a partner registered without secret, authenticated by its networks alone
    _network_partner(table, with_secret=False)
    # When it sends a request without SharedSecret from inside them
    # Then it is accepted
    assert _send_from(source_ip, secret=None)[0] == 200


@pytest.mark.parametrize("source_ip", OUTSIDE)
def test_a_partner_without_secret_is_refused_from_elsewhere(table: Table, source_ip: str) -> None:
    # Given a partner registered without secret, authenticated by its networks alone
    _network_partner(table, with_secret=False)
    # When its credentials arrive from elsewhere, with or without a SharedSecret
    # Then they are refused with the common text
    assert _send_from(source_ip, secret=None) == (401, "Unauthorized", UNAUTHORIZED_TEXT)
    assert _send_from(source_ip) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


@pytest.mark.parametrize("with_secret", [False, True])
def test_a_request_from_no_known_address_is_refused_by_a_partner_bound_to_networks(
    table: Table, with_secret: bool
) -> None:
    # Given a partner bound to its networks, with or without a secret
    _network_partner(table, with_secret=with_secret)
    # When a request carries no source address API Gateway saw (a direct invocation, another proxy)
    # Then it is refused: no address is in the partner's networks
    assert _send_from("", secret=builders.SECRET if with_secret else None) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


# --- disabled partners ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_disabled_partner_is_403(table: Table, route: str) -> None:
    # Given a disabled partner
    register(table, enabled=False)
    # When it sends a correctly authenticated request
    code, text, _ = _send(route)
    # Then it is forbidden
    assert (code, text) == (403, "Forbidden")


def test_disabled_partner_with_wrong_secret_gets_401(table: Table) -> None:
    # Given a disabled partner
    register(table, enabled=False)
    # When someone presents its credential with a wrong secret
    # Then the answer does not reveal that the partner exists (401, not 403)
    assert _send("setup", secret=WRONG_SECRET) == (401, "Unauthorized", UNAUTHORIZED_TEXT)


# --- refusals are traceable in the log -----------------------------------------------------------


def _refusal(log_lines: io.StringIO) -> dict[str, Any]:
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [refused] = [line for line in lines if line["message"] == "cXML request refused"]
    return refused


BUYER = f"{builders.BUYER_DOMAIN}:{builders.BUYER_IDENTITY}"


@pytest.mark.parametrize(
    ("partner", "request_changes", "cause", "partner_id"),
    [
        ("plain", {"identity": "AN09999999999"}, "unknown_identity", None),
        ("plain", {"secret": WRONG_SECRET}, "wrong_secret", "acme"),
        ("plain", {"secret": None}, "no_secret", "acme"),
        ("ariba", {}, "sender_not_allowed", "acme"),  # the buyer itself as Sender, not the network
        ("network", {}, "source_not_allowed", "acme"),
    ],
)
def test_a_refused_buyer_can_be_traced_in_the_log(
    table: Table,
    log_lines: io.StringIO,
    partner: str,
    request_changes: dict[str, Any],
    cause: str,
    partner_id: str | None,
) -> None:
    # Given a partner: plain, restricted to the Ariba Network's sender, or to a network the request is not from
    credential_set = CredentialSet(
        from_credentials=[CredentialRef(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY)],
        sender_identities=[CredentialRef(domain="AribaNetworkUserId", identity="sysadmin@ariba.com")]
        if partner == "ariba"
        else [],
        secret_hashes=[hash_secret(builders.SECRET, iterations=1000)],
        source_networks=["198.51.100.0/24"] if partner == "network" else [],
    )
    register(table, credentials={"production": credential_set})
    # When a request is refused for one cause
    code, _, message = _send("setup", **request_changes)
    # Then the buyer's answer is the common one, and the log line says who (as presented), in which
    # mode, which partner when known, and why; never the secret
    assert (code, message) == (401, UNAUTHORIZED_TEXT)
    refused = _refusal(log_lines)
    assert refused["auth_failure"] == cause
    assert refused.get("partner_id") == partner_id
    assert refused["deployment_mode"] == "production"
    assert (
        refused["from_credentials"]
        == f"{builders.BUYER_DOMAIN}:{request_changes.get('identity', builders.BUYER_IDENTITY)}"
    )
    assert refused["sender_credentials"]
    for secret in SECRETS_IN_PLAY:
        assert secret not in log_lines.getvalue()


def test_a_request_without_from_credential_is_logged_as_such(with_partner: Table, log_lines: io.StringIO) -> None:
    # Given a registered partner
    # When a request comes without From credential
    assert _send_body("setup", without(builders.setup_request(), "/cXML/Header/From/Credential"))[0] == 401
    # Then the log says so, with the request's mode
    refused = _refusal(log_lines)
    assert (refused["auth_failure"], refused["deployment_mode"]) == ("no_from_credential", "production")
    assert "from_credentials" not in refused and "partner_id" not in refused


def test_a_disabled_partner_is_logged_with_its_id(table: Table, log_lines: io.StringIO) -> None:
    # Given a disabled partner
    register(table, enabled=False)
    # When it sends a correctly authenticated request
    assert _send("setup")[0] == 403
    # Then the refusal names the partner and the cause
    refused = _refusal(log_lines)
    assert (refused["partner_id"], refused["auth_failure"], refused["from_credentials"]) == ("acme", "disabled", BUYER)


def test_an_answered_request_logs_its_deployment_mode(with_partner: Table, log_lines: io.StringIO) -> None:
    # Given a partner with test credentials
    # When it sends a test-mode request
    body = builders.setup_request(
        mode="test", identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test"
    )
    assert _send_body("setup", body)[0] == 200
    # Then its log lines carry the mode
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    answered = [line for line in lines if line["message"] == "cXML request answered"]
    assert [line["deployment_mode"] for line in answered] == ["test"]


# --- secrets stay secret --------------------------------------------------------------------------


def test_no_secret_reaches_a_log_line(with_partner: Table, log_lines: Any, caplog: pytest.LogCaptureFixture) -> None:
    # Given a registered partner and every log line captured, raw records and formatted output
    caplog.set_level(logging.DEBUG)
    # When requests arrive with the right secret, a wrong one and a test secret in production
    assert _send("setup")[0] == 200
    assert _send("setup", secret=WRONG_SECRET)[0] == 401
    assert _send("profile", identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test")[0] == 401
    # Then the gateway did log (the test would be empty otherwise) ...
    formatted = log_lines.getvalue()
    assert "cXML request refused" in formatted
    raw = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert raw
    # ... but no secret appears, neither in the output nor in any record
    for secret in SECRETS_IN_PLAY:
        assert secret not in formatted
        assert secret not in raw
        assert secret not in caplog.text


def test_no_secret_is_stored(with_partner: Table, shop_headers: dict[str, str]) -> None:
    # Given a registered partner
    # When a whole round trip runs, and a wrong secret is tried too
    session_id, _ = open_session()
    Shop(shop_headers, session_id).checkout(line())
    assert _send("setup", secret=WRONG_SECRET)[0] == 401
    # Then no stored item holds a secret in clear, only its hash
    stored = "\n".join(item_text(item) for item in table_items(with_partner))
    assert "pbkdf2_sha256$" in stored
    for secret in SECRETS_IN_PLAY:
        assert secret not in stored


def test_sender_secret_is_not_kept_in_the_session(with_partner: Table, shop_headers: dict[str, str]) -> None:
    # Given a buyer that (oddly) puts its SharedSecret in From and To credentials too
    leaky = Credential(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY, shared_secret=builders.SECRET)  # type: ignore[arg-type]
    supplier = builders.SUPPLIER.model_copy(update={"shared_secret": leaky.shared_secret})
    header = builders.header().model_copy(update={"from_credentials": [leaky], "to_credentials": [supplier]})
    # When it opens a session
    open_session_with(setup_document(header=header))
    # Then no stored item holds the secret
    stored = "\n".join(item_text(item) for item in table_items(with_partner))
    assert builders.SECRET not in stored


def test_no_secret_reaches_the_log_of_an_unexpected_failure(
    with_partner: Table, log_lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB fails while a session is opened (the failure is logged with its trace)
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(setup_request.handler.service().sessions, "create", broken)
    # When an authenticated request arrives
    assert _send("setup")[0] == 500
    # Then the trace was logged, without the secret
    formatted = log_lines.getvalue()
    assert "DynamoDB is down" in formatted
    assert builders.SECRET not in formatted


def test_shop_api_key_never_reaches_a_log_line(
    with_partner: Table, shop_headers: dict[str, str], log_lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shop with an API key, every log line captured, and a cart store that fails
    session_id, _ = open_session()
    shop = Shop(shop_headers, session_id)

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("cart store is down")

    monkeypatch.setattr(order_message.handler.service(), "put_cart", broken)
    # When the shop stores a cart
    response = shop.put({"lines": [line()]})
    # Then it gets a JSON 500 without details, and the logged failure names the key only by its id
    assert response["statusCode"] == 500
    assert "cart store is down" not in response["body"]
    formatted = log_lines.getvalue()
    assert "cart store is down" in formatted
    assert "api_key_id" in formatted
    assert shop_headers["x-api-key"] not in formatted


def test_a_payload_id_as_long_as_an_order_may_carry_is_logged_whole(
    with_partner: Table, log_lines: io.StringIO
) -> None:
    # Given a refused request whose payloadID is as long as an order's may be (512 bytes), so that the
    # runbook's `filter payload_id = "..."` finds it
    payload_id = "1769853600.1." + "x" * (MAX_ID_BYTES - 13 - len("@buyer.example")) + "@buyer.example"
    assert len(payload_id.encode()) == MAX_ID_BYTES
    body = re.sub(rb'payloadID="[^"]*"', b'payloadID="' + payload_id.encode() + b'"', builders.setup_request(), count=1)
    # When it is refused
    assert _send_body("setup", body.replace(builders.SECRET.encode(), WRONG_SECRET.encode()))[0] == 401
    # Then its log line holds the whole payloadID
    assert _refusal(log_lines)["payload_id"] == payload_id


# --- requests from web browsers -------------------------------------------------------------------

# What a browser adds to a request a page makes it send: a fetch() in mode no-cors and a form POST
# (both carry any body, text/plain, without preflight), and an older browser that sends Origin only.
BROWSER_HEADERS = {
    "fetch": {
        "Origin": "https://attacker.example",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors",
        "Sec-Fetch-Dest": "empty",
    },
    "form": {
        "Origin": "null",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
    },
    "origin-only": {"origin": "https://attacker.example"},
    # Browsers send the Fetch Metadata headers together (Sec-Fetch-Site with every request they carry)
    "fetch-metadata-only": {"sec-fetch-site": "cross-site"},
    "fetch-dest-only": {"sec-fetch-dest": "empty"},
}


@pytest.mark.parametrize("browser", BROWSER_HEADERS)
@pytest.mark.parametrize("route", ROUTES)
def test_a_request_a_web_page_makes_a_browser_send_is_refused(table: Table, route: str, browser: str) -> None:
    # Given a partner authenticated by its network alone: a browser inside that network (an employee
    # visiting any web page) sends from an allowed address, so the address is ambient authority, as a cookie
    # would be
    _network_partner(table, with_secret=False)
    path, build = ROUTES[route]
    body = build(secret=None)
    # When a page makes the browser send a well-formed request from inside the network
    answer = call(
        "POST",
        path,
        body,
        {"Content-Type": "text/plain;charset=UTF-8", **BROWSER_HEADERS[browser]},
        source_ip=INSIDE[0],
    )
    # Then it is refused before anything is done: no session (the order route: test_order_request)
    assert _status(answer)[:2] == (403, "Forbidden")
    assert not [item for item in table_items(table) if item["pk"]["S"].startswith(("SESSION#", "ORDER#"))]
    # (the same request from the buyer's server, without a browser's headers, is accepted)
    assert _status(call("POST", path, body, {"Content-Type": "text/xml"}, source_ip=INSIDE[0]))[0] == 200


# What Node.js's own fetch (undici, Node 18 and later) sends with every request, and its caller cannot
# remove (nodejs/undici#1305): Sec-Fetch-Mode, without Origin or the other Fetch Metadata headers.
NODE_FETCH_HEADERS = {
    "accept": "*/*",
    "accept-language": "*",
    "sec-fetch-mode": "cors",
    "user-agent": "node",
    "accept-encoding": "gzip, deflate",
}


@pytest.mark.parametrize("route", ROUTES)
def test_a_buyer_server_posting_with_node_fetch_is_not_taken_for_a_browser(table: Table, route: str) -> None:
    # Given a partner, and its procurement system's server posting cXML with Node.js's fetch
    _network_partner(table, with_secret=False)
    path, build = ROUTES[route]
    # When it posts a well-formed request
    answer = call(
        "POST", path, build(secret=None), {"Content-Type": "text/xml", **NODE_FETCH_HEADERS}, source_ip=INSIDE[0]
    )
    # Then it is answered as any server's request, not refused as a browser's
    assert _status(answer)[0] == 200
