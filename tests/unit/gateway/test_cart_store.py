"""Carts in DynamoDB (moto): revisions written concurrently, and read while a new one lands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from punchout.sessions import Cart, CartLine
from punchout.store.dynamo import ConditionFailed, Table
from punchout.store.sessions import CartState, SessionRepository

REF = "cart-ref-1"
EXPIRES = datetime.now(UTC) + timedelta(days=1)


def cart(part: str, lines: int = 3) -> Cart:
    return Cart(
        currency="EUR",
        lines=[
            CartLine(supplier_part_id=f"{part}-{n}", quantity=Decimal(n), unit_price=Decimal("2.50"), description="Pen")
            for n in range(1, lines + 1)
        ],
    )


def save(sessions: SessionRepository, content: Cart, expected_revision: int) -> None:
    sessions.save_cart(REF, "session-1", "acme", content, expected_revision=expected_revision, expires_at=EXPIRES)


def line_items(table: Table) -> list[str]:
    return sorted(item["sk"]["S"] for item in table.query(f"CART#{REF}", "LINES#"))


def test_the_loser_of_two_writes_of_one_revision_leaves_the_winners_cart_intact(table: Table) -> None:
    # Given a cart at revision 1, read by two PUTs at once
    sessions = SessionRepository(table)
    save(sessions, cart("first"), expected_revision=0)
    # When both write revision 2, the second one losing the race for the header
    save(sessions, cart("winner"), expected_revision=1)
    with pytest.raises(ConditionFailed):
        save(sessions, cart("loser", lines=5), expected_revision=1)
    # Then the cart is the winner's, whole, and only its chunks are left
    current = sessions.current_cart(REF)
    assert current is not None
    state, stored = current
    assert state.revision == 2
    assert stored == cart("winner")
    assert line_items(table) == [f"LINES#000002#{state.lines_id}#0000"]


def test_a_first_write_that_loses_leaves_the_winners_cart_intact(table: Table) -> None:
    # Given an empty cart written by two PUTs at once (both expect no cart)
    sessions = SessionRepository(table)
    save(sessions, cart("winner"), expected_revision=0)
    # When the second one loses
    with pytest.raises(ConditionFailed):
        save(sessions, cart("loser"), expected_revision=0)
    # Then the winner's cart is read back whole
    current = sessions.current_cart(REF)
    assert current is not None and current[1] == cart("winner")


def test_a_write_landing_between_header_and_lines_is_read_whole(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a cart at revision 1, and a PUT that lands just after a reader has read the header
    sessions = SessionRepository(table)
    save(sessions, cart("old"), expected_revision=0)
    read_header = sessions.cart_state
    landed: list[bool] = []

    def header_then_a_write(ref: str) -> CartState | None:
        state = read_header(ref)
        if not landed:
            landed.append(True)
            save(sessions, cart("new"), expected_revision=1)  # deletes revision 1's chunks
        return state

    monkeypatch.setattr(sessions, "cart_state", header_then_a_write)
    # When the reader reads the cart
    current = sessions.current_cart(REF)
    # Then it gets the new revision, whole
    assert current is not None
    assert (current[0].revision, current[1]) == (2, cart("new"))
