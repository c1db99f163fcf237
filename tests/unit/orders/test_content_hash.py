"""The content hash decides whether a resent order is "the same order" (200) or a conflict (409).

Buyers retry for hours (Coupa: five times, an hour apart), so a retry may reach a newer release than
the first delivery did: the hash of an order must not change between releases.
"""

from __future__ import annotations

from punchout.cxml.models import OrderRequestHeader
from punchout.orders import content_hash
from tests.unit.cxml._support import order_of, order_request_document

# The hash of ``order_request_document()``'s order. If a change to the models alters it, orders stored
# before the deploy answer their buyers' retries with 409 (or queue them twice): give new fields a
# default that means "absent" instead.
REFERENCE_HASH = "cf55a4e68a1acc98a7ee1317e2a2db9cbe29536a5af0df15b91f14c41133b6a0"


def test_the_hash_of_an_order_does_not_change_between_releases() -> None:
    assert content_hash(order_of(order_request_document())) == REFERENCE_HASH


def test_fields_at_their_default_do_not_count() -> None:
    # Given an order, and the same order with a header field set to its default explicitly
    order = order_of(order_request_document())
    explicit = order.model_copy(update={"header": OrderRequestHeader(**{**dict(order.header), "ship_complete": False})})
    # Then both hash alike, and a field set otherwise makes another order
    assert content_hash(explicit) == content_hash(order)
    changed = order.model_copy(update={"header": order.header.model_copy(update={"ship_complete": True})})
    assert content_hash(changed) != content_hash(order)
