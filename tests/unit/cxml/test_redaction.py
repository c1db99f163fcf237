"""Secrets never leave in clear: stored documents are redacted, models never print a SharedSecret."""

from __future__ import annotations

from pydantic import SecretStr

from punchout.cxml import parse_xml, read_document
from punchout.cxml.models import Credential
from punchout.cxml.redact import REDACTED, redacted_raw

from ._support import header_of, order_of, order_request_xml

SECRET = "abracadabra"  # the SharedSecret in _support.HEADER_XML
CARD = "4111111111111111"


def order_with_pcard() -> bytes:
    text = order_request_xml().replace(
        "</BillTo>", f'</BillTo><Payment><PCard number="{CARD}" expiration="2027-12-31"/></Payment>'
    )
    return text.encode()


def test_redacted_raw_drops_the_shared_secret() -> None:
    # Given a parsed order whose Sender carries a SharedSecret
    root = parse_xml(order_with_pcard())

    # When it is redacted for storage
    stored = redacted_raw(root)

    # Then the secret is gone and the marker is in its place
    assert SECRET.encode() not in stored
    assert f"<SharedSecret>{REDACTED}</SharedSecret>".encode() in stored


def test_secrets_in_a_namespace_are_redacted_too() -> None:
    # Given a document whose PCard, virtual card (PaymentToken) and SharedSecret a sender put in a namespace
    # of its own
    token = '<PaymentToken xmlns="urn:example:x" number="5555555555554444" expiration="2027-12-31" token="tok_1"/>'
    data = (
        order_with_pcard()
        .replace(b"<PCard ", b'<PCard xmlns="urn:example:x" ')
        .replace(b"</Payment>", f"</Payment><Payment>{token}</Payment>".encode())
        .replace(b"<SharedSecret>", b'<SharedSecret xmlns="urn:example:x">')
    )
    # When it is redacted for storage
    stored = redacted_raw(parse_xml(data))
    # Then neither card number, the token nor the secret survive
    assert b"PaymentToken" in stored
    for secret in (CARD, "5555555555554444", "tok_1", SECRET):
        assert secret.encode() not in stored, secret


def test_redacted_raw_drops_secret_markup_inside_shared_secret() -> None:
    # Given a SharedSecret (ANY content in the DTD) holding the secret inside a child element
    data = order_with_pcard().replace(f"<SharedSecret>{SECRET}".encode(), f"<SharedSecret><b>{SECRET}</b>".encode())
    root = parse_xml(data)

    # When it is redacted
    stored = redacted_raw(root)

    # Then neither the child nor the secret survive
    assert SECRET.encode() not in stored
    assert b"<b>" not in stored


def test_redacted_raw_masks_the_card_number() -> None:
    # Given a parsed order paid with a PCard
    root = parse_xml(order_with_pcard())

    # When it is redacted
    stored = redacted_raw(root)

    # Then only the last four digits remain
    assert CARD.encode() not in stored
    assert b'number="************1111"' in stored


def test_redaction_is_done_in_place() -> None:
    # Given a parsed order
    root = parse_xml(order_with_pcard())

    # When its stored form is made
    redacted_raw(root)

    # Then the tree itself was redacted: no copy of it (~25 MB for a 5,000-line order) was made
    assert root.findtext(".//Sender/Credential/SharedSecret") == REDACTED
    card = root.find(".//PCard")
    assert card is not None and card.get("number") == "************1111"


def test_redacted_raw_is_still_a_readable_document() -> None:
    # Given a redacted order
    stored = redacted_raw(parse_xml(order_with_pcard()))

    # When it is read again
    document = read_document(stored)

    # Then it is the same order, with the marker as secret
    secret = header_of(document).sender_credentials[0].shared_secret
    assert secret is not None and secret.get_secret_value() == REDACTED
    assert order_of(document).header.order_id == "PO-1"


def credential() -> Credential:
    return Credential(domain="NetworkID", identity="AN01", shared_secret=SecretStr(SECRET))


def test_credential_repr_and_str_hide_the_secret() -> None:
    # Given a credential with a shared secret
    # When it is printed or logged
    shown = repr(credential()) + str(credential())

    # Then the secret does not appear
    assert SECRET not in shown
    assert "AN01" in shown


def test_credential_json_hides_the_secret() -> None:
    # Given a credential with a shared secret
    # When it is serialised to JSON (as a log line or a stored record would be)
    dumped = credential().model_dump_json()

    # Then the secret does not appear
    assert SECRET not in dumped
    assert "**********" in dumped


def test_document_read_from_the_wire_hides_the_secret() -> None:
    # Given an order read from the wire
    document = read_document(order_with_pcard())

    # When the whole document is printed or dumped
    shown = repr(document) + str(document) + document.model_dump_json()

    # Then neither the secret nor the card number appear
    assert SECRET not in shown
    assert CARD not in shown


def test_a_credential_mac_is_redacted_and_keeps_its_attributes() -> None:
    # Given a Sender authenticated by a CredentialMac (a MAC under the shared secret, standing for it until
    # its expirationDate) instead of a SharedSecret
    mac = "Dk8cm5HUkQ7f7hQ9"
    attributes = 'type="FromSenderCredentials" algorithm="HMAC-SHA1-96" expirationDate="2027-01-01T00:00:00Z"'
    data = order_with_pcard().replace(
        f"<SharedSecret>{SECRET}</SharedSecret>".encode(), f"<CredentialMac {attributes}>{mac}</CredentialMac>".encode()
    )
    # When it is redacted for storage
    stored = redacted_raw(parse_xml(data))
    # Then the MAC is gone and what names how it was made stays (the SharedSecret's attributes would not)
    assert mac.encode() not in stored
    assert f"<CredentialMac {attributes}>{REDACTED}</CredentialMac>".encode() in stored
