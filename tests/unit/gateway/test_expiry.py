"""Lifetimes read on one clock: sessions, links and carts, with time moved forward.

The clock of the gateway (the store's ``now`` and the services' ``datetime.now``) is moved as one, from a
base time that is not a whole second; expired items stay in the table, as in a deployed table before TTL
has swept them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import pytest

from tests.support import builders
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    configure,
    follow,
    line,
    message_tree,
    open_session,
    open_session_with,
    setup_document,
)

_FRACTION = 0.654321  # the base time's part of a second: sessions are opened between two whole seconds


@dataclass
class Clock:
    """The gateway's time: ``base`` plus ``offset`` seconds."""

    base: float
    offset: float = 0.0

    def time(self) -> float:
        return self.base + self.offset

    def at(self, moment: float) -> None:
        self.offset = moment - self.base


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    import order_message.service
    import punchout.store.sessions
    import setup_request.service

    moved = Clock(base=int(time.time()) + _FRACTION)

    class MovedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            return datetime.fromtimestamp(moved.time(), tz or UTC)

    monkeypatch.setattr(punchout.store.sessions, "now", lambda: int(moved.time()))
    monkeypatch.setattr(setup_request.service, "datetime", MovedDatetime)
    monkeypatch.setattr(order_message.service, "datetime", MovedDatetime)
    yield moved


def _advertised_expiry(shop: Shop) -> float:
    return datetime.fromisoformat(shop.context()["expires_at"]).timestamp()


@pytest.mark.parametrize("transferred", [False, True], ids=["open", "transferred"])
def test_a_session_is_there_until_the_expiry_the_shop_is_told(
    partner: Any, shop_headers: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch, transferred: bool
) -> None:
    # Given a session of one minute opened between two whole seconds, its cart transferred or not (a
    # transfer extends its life for the return link), and the expiry its context tells the shop
    configure(monkeypatch, SESSION_TTL_SECONDS="60")
    shop = Shop(shop_headers, open_session()[0])
    if transferred:
        shop.put_lines(line())
        shop.return_url()
    advertised = _advertised_expiry(shop)
    # When the shop reads it half a second before that expiry
    clock.at(advertised - 0.5)
    # Then it is still there (it was refused up to a second before the expiry it announced)
    assert shop.get()["statusCode"] == 200
    # ... and from the advertised expiry on it is unknown
    clock.at(advertised)
    assert shop.get()["statusCode"] == 404


def test_a_cart_outlives_its_session_and_return_link_whatever_the_retention(
    partner: Any, shop_headers: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the shortest retention the template allows (1 day) and the longest session (1 day)
    configure(monkeypatch, CART_RETENTION_DAYS="1", SESSION_TTL_SECONDS="86400")
    shop = Shop(shop_headers, open_session()[0])
    # ... a cart stored at the session's start, and transferred ten seconds before the session ends
    shop.put_lines(line("KEEP-ME"))
    clock.at(_advertised_expiry(shop) - 10)
    url = shop.return_url()
    # When the browser follows the return link a minute later, within the link's lifetime
    clock.at(clock.time() + 70)
    document = ReturnPage.of(follow(url)).document(partner)
    # Then the buyer receives the cart that was transferred (it was posted empty: the cart had expired)
    assert message_tree(document).xpath("//ItemIn/ItemID/SupplierPartID/text()") == ["KEEP-ME"]


def test_a_restored_cart_outlives_its_edit_session_and_return_link_whatever_the_retention(
    partner: Any, shop_headers: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cart returned to the buyer
    returned = message_tree(
        ReturnPage.of(Shop(shop_headers, open_session()[0]).checkout(line("KEEP-ME"))).document(partner)
    )
    [reference] = returned.xpath("//ItemIn/ItemID/SupplierPartAuxiliaryID/text()")
    # ... and, with the shortest retention and the longest session, an edit of it the shop leaves as restored
    configure(monkeypatch, CART_RETENTION_DAYS="1", SESSION_TTL_SECONDS="86400")
    items = [builders.item_out("KEEP-ME", "1", auxiliary=reference, line=1)]
    shop = Shop(shop_headers, open_session_with(setup_document("edit", items=items)))
    # ... transferred ten seconds before the session ends
    clock.at(_advertised_expiry(shop) - 10)
    url = shop.return_url()
    # When the browser follows the return link a minute later
    clock.at(clock.time() + 70)
    document = ReturnPage.of(follow(url)).document(partner)
    # Then the buyer receives the restored cart (it was posted empty: the cart expired with the session)
    assert message_tree(document).xpath("//ItemIn/ItemID/SupplierPartID/text()") == ["KEEP-ME"]
