"""What an accepted order leaves behind (its stored raw document, every table item, its queued message)
holds no secret, however the buyer wrote it: the redaction works on the parsed tree, so that character
references, CDATA sections, comments and UTF-16 cannot carry a secret past it.

Found by a canary sweep of the local stack: a ``SharedSecret``'s attributes and a ``CredentialMac``
(a credential computed from the shared secret, valid until its ``expirationDate``) were stored in clear.
"""

from __future__ import annotations

import zlib
from contextlib import suppress
from typing import Any

import pytest

from punchout.store.dynamo import Table
from punchout.store.orders import OrderRepository
from tests.support import builders
from tests.unit.gateway.helpers import register
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_order_request import post_order, status_of

SECRET = builders.SECRET
SENDER_SECRET = f"<SharedSecret>{SECRET}</SharedSecret>"
OTHER = "CANARY-not-for-storage-5d1c"  # a second secret value, where the variant puts one
MAC = "CANARYmacQmFzZTY0TUFDdmFsdWU="


def _char_references(text: str) -> str:
    return "".join(f"&#x{ord(c):X};" if i % 2 == 0 else c for i, c in enumerate(text))


# How the buyer writes its Sender's secret (which must still authenticate), or what else it sends.
VARIANTS: dict[str, str] = {
    "character references": f"<SharedSecret>{_char_references(SECRET)}</SharedSecret>",
    "CDATA": f"<SharedSecret><![CDATA[{SECRET}]]></SharedSecret>",
    "split by CDATA and a comment": f"<SharedSecret>{SECRET[:5]}<![CDATA[{SECRET[5:12]}]]><!--x-->{SECRET[12:]}"
    "</SharedSecret>",
    "an attribute of SharedSecret": f'<SharedSecret value="{OTHER}">{SECRET}</SharedSecret>',
    "a CredentialMac beside it": f'{SENDER_SECRET}</Credential><Credential domain="NetworkID">'
    f'<Identity>AN01000000001</Identity><CredentialMac type="FromSenderCredentials" algorithm="HMAC-SHA1-96"'
    f' creationDate="2026-11-26T10:00:00+00:00" expirationDate="2026-12-26T10:00:00+00:00">{MAC}</CredentialMac>',
}


def stored_texts(table: Table) -> str:
    """Every attribute of every item, binary ones unpacked as the gateway packs them (gzip)."""
    texts: list[str] = []
    for item in table.client.scan(TableName=table.name)["Items"]:
        for value in item.values():
            if "B" in value:
                data = bytes(value["B"])
                with suppress(zlib.error):
                    data = zlib.decompressobj(wbits=31).decompress(data)
                texts.append(data.decode("utf-8", "replace"))
            else:
                texts.append(repr(value))
    return "\n".join(texts)


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_is_stored_or_queued_however_the_buyer_wrote_it(
    table: Table, queue_url: str, variant: str, encoding: str
) -> None:
    # Given a registered partner, and an order whose Sender credential the buyer wrote so
    register(table)
    text = builders.order_request(f"PO-{len(variant)}", [builders.item_out("P1", "1", price="5.00")]).decode()
    text = text.replace(SENDER_SECRET, VARIANTS[variant], 1)
    body = text.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1).encode(encoding.lower())

    # When it is sent, Then it is accepted (the secret authenticated)
    assert status_of(post_order(body)) == 200

    # And neither the stored raw document, nor any table item, nor the queued message holds a secret
    message: dict[str, Any] = drain(queue_url)[0]["body"]
    record = OrderRepository(table).find(message["message_id"])
    assert record is not None
    raw = OrderRepository(table).raw(record).decode("utf-8")
    for where, content in {
        "the raw document": raw,
        "the table": stored_texts(table),
        "the message": repr(message),
    }.items():
        for secret in (SECRET, OTHER, MAC):
            assert secret not in content, f"{secret[:8]}... in {where}"
    assert "[redacted]" in raw


VIRTUAL_CARD = "5555555555554444"
CARD_TOKEN = "CANARY-card-token-9f2e"


def test_a_virtual_card_number_and_its_token_are_neither_stored_nor_queued(table: Table, queue_url: str) -> None:
    # Given a registered partner, and an order paid with a virtual card: the DTD's other payment
    # (`PaymentToken`, beside `PCard`), whose `number` is a card number and whose `token` stands for it
    register(table)
    text = builders.order_request("PO-VCARD", [builders.item_out("P1", "1", price="5.00")]).decode()
    payment = (
        f'<Payment><PaymentToken number="{VIRTUAL_CARD}" expiration="2027-12-31" name="Jane Buyer"'
        f' token="{CARD_TOKEN}"/></Payment>'
    )
    body = text.replace("</OrderRequestHeader>", f"{payment}</OrderRequestHeader>", 1).encode()

    # When it is sent, Then it is accepted
    assert status_of(post_order(body)) == 200

    # And the stored raw document keeps the number masked (last four digits) and the token blanked,
    # and no table item nor the queued message holds either
    message: dict[str, Any] = drain(queue_url)[0]["body"]
    record = OrderRepository(table).find(message["message_id"])
    assert record is not None
    raw = OrderRepository(table).raw(record).decode("utf-8")
    assert 'number="************4444"' in raw
    for where, content in {
        "the raw document": raw,
        "the table": stored_texts(table),
        "the message": repr(message),
    }.items():
        for secret in (VIRTUAL_CARD, CARD_TOKEN):
            assert secret not in content, f"{secret[:8]}... in {where}"
