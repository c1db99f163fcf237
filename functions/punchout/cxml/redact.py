"""Redaction of secrets from raw documents before they are stored.

Stored documents are for audit and support; a ``SharedSecret`` or a full card number must never
be among them (PROTOCOL.md section 9).
"""

from __future__ import annotations

from lxml import etree

from .models import mask_card_number

REDACTED = "[redacted]"


def redact_tree(root: etree._Element) -> etree._Element:
    """Blank every ``SharedSecret`` (its attributes too: the DTD gives it none, so any is a sender's
    own) and every ``CredentialMac`` (a MAC of the credentials under the shared secret, which stands
    for it until its ``expirationDate``; its attributes, the algorithm and dates, stay), mask every card
    number (``PCard@number``, and ``PaymentToken@number``: the DTD's virtual card) and blank every
    ``PaymentToken@token`` (it stands for the card), in place; returns ``root``.

    Matched by local name, in any namespace: a sender may put them in one (cXML has none)."""
    for secret in root.iter("SharedSecret", "{*}SharedSecret", "CredentialMac", "{*}CredentialMac"):
        for child in list(secret):
            secret.remove(child)
        secret.text = REDACTED
        if etree.QName(secret).localname == "SharedSecret":
            secret.attrib.clear()
    for card in root.iter("PCard", "{*}PCard", "PaymentToken", "{*}PaymentToken"):
        number = card.get("number")
        if number is not None:
            card.set("number", mask_card_number(number))
        if card.get("token") is not None:
            card.set("token", REDACTED)
    return root


def redacted_raw(root: etree._Element) -> bytes:
    """The raw document as it is stored: redacted in place, then serialised as UTF-8.

    In place, not a copy: the order function is the tree's last user (it was read into the models
    already), and a copy of a 5,000-line order's tree costs ~25 MB of a 256 MB Lambda."""
    return etree.tostring(redact_tree(root), xml_declaration=True, encoding="UTF-8")
