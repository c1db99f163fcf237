"""Every genuine OrderRequest of the shared corpus is accepted once its partner is registered (issue 4)."""

from __future__ import annotations

import json

import pytest

from punchout.cxml import read_document
from punchout.cxml.models import RequestDocument
from punchout.partners import CredentialRef, CredentialSet, TradingPartner, hash_secret
from punchout.store.partners import PartnerRepository
from tests.unit.cxml._support import corpus_file, corpus_params
from tests.unit.gateway.helpers import cxml
from tests.unit.orders.conftest import drain
from tests.unit.orders.test_order_request import post_order

# Refused by design, named here so that a new corpus file is never silently skipped.
REFUSED = {"ariba1.1010__SGML.OrderRequest.xml": 406}  # internal DTD subset with an entity declaration


def register_from(document: RequestDocument, table) -> None:
    """A partner whose credentials are the document's own From credentials and Sender secret."""
    header = document.header
    assert header is not None
    secrets = [c.shared_secret.get_secret_value() for c in header.sender_credentials if c.shared_secret]
    PartnerRepository(table).create(
        TradingPartner(
            id="corpus",
            name="Corpus buyer",
            credentials={
                document.deployment_mode: CredentialSet(
                    from_credentials=[
                        CredentialRef(domain=c.domain, identity=c.identity) for c in header.from_credentials
                    ],
                    secret_hashes=[hash_secret(s, iterations=1000) for s in secrets[:2]],
                    # A document without a SharedSecret: its buyer authenticates by network.
                    source_networks=[] if secrets else ["192.0.2.0/24"],
                )
            },
            shop_url="https://shop.example.com/",
        )
    )


@pytest.mark.conformance
# Without the corpus, or with an empty order_request folder, one stand-in parameter makes the test
# skip (variable unset) or fail loudly, never "got empty parameter set".
@pytest.mark.parametrize("relative", corpus_params("order_request"))
def test_genuine_order_is_accepted_and_its_message_matches_the_schema(cxml_shared_dir, table, queue_url, relative):
    path = corpus_file(cxml_shared_dir, relative)
    name, data = path.name, path.read_bytes()
    if name in REFUSED:
        assert cxml(post_order(data)).status.code == REFUSED[name]
        assert drain(queue_url) == []
        return
    # Given the document's partner is registered
    document = read_document(data)
    assert isinstance(document, RequestDocument)
    register_from(document, table)
    # When the buyer sends it, Then it is accepted and the shop gets one schema-valid message
    answer = cxml(post_order(data))
    assert answer.status.code == 200, answer.status
    messages = drain(queue_url)
    assert len(messages) == 1
    message = messages[0]["body"]
    assert message["order_id"] == document.request.header.order_id  # type: ignore[union-attr]
    assert message["line_count"] == len(document.request.items)  # type: ignore[union-attr]
    # and no secret or full card number travels to the shop
    text = json.dumps(message)
    for credential in document.header.sender_credentials:  # type: ignore[union-attr]
        if credential.shared_secret:
            assert credential.shared_secret.get_secret_value() not in text
    assert "1234567890123456" not in text
