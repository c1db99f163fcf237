"""PunchOutSetupRequest limits: an authenticated buyer's request repeating an element past what any session
holds is a quick 400 naming the element and the limit, counted before any is read into models (590,000
empty ``<Contact/>`` in 5.9 MB took 4.5 s and 1.2 GB here before the session was refused as too large: a
crash of the 512 MB setup function, which the buyer retries)."""

from __future__ import annotations

import pytest

from punchout.cxml.reader import MAX_ORDER_ELEMENTS
from punchout.partners import TradingPartner
from tests.support import builders
from tests.unit.gateway.helpers import post_setup

_REPEATED = {
    "Contact": b"<Contact/>",
    "Extrinsic": b'<Extrinsic name="a">b</Extrinsic>',
    "ItemOut": b'<ItemOut quantity="1"><ItemID><SupplierPartID>P</SupplierPartID></ItemID></ItemOut>',
}


def setup_with(tag: str, count: int) -> bytes:
    """A create request holding exactly ``count`` ``tag`` elements in all."""
    document = builders.setup_request()
    present = document.count(f"<{tag}".encode())
    return document.replace(b"</PunchOutSetupRequest>", _REPEATED[tag] * (count - present) + b"</PunchOutSetupRequest>")


@pytest.mark.parametrize("tag", list(_REPEATED))
def test_a_setup_request_with_one_more_of_an_element_than_the_limit_is_400_naming_it(
    partner: TradingPartner, tag: str
) -> None:
    # Given a buyer's PunchOutSetupRequest holding one more of a repeated element than an order may hold
    limit = MAX_ORDER_ELEMENTS[tag]
    # When it is sent
    answer = post_setup(setup_with(tag, limit + 1))
    # Then it is a Bad Request naming the element, how many there are and the limit
    assert answer.status.code == 400, answer.status
    assert f"{limit + 1:,} {tag} elements; at most {limit:,}" in answer.status.message


def test_a_setup_request_with_as_many_contacts_as_the_limit_is_accepted(partner: TradingPartner) -> None:
    # Given a PunchOutSetupRequest holding exactly the limit of Contact elements (control for the test above)
    # When it is sent, Then a session is opened
    assert post_setup(setup_with("Contact", MAX_ORDER_ELEMENTS["Contact"])).status.code == 200
