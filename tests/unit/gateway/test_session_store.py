"""Carts and sessions in DynamoDB (moto): concurrent cart revisions, reads racing a write, large sessions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from punchout.sessions import Cart, CartLine
from punchout.store import sessions as store_sessions
from punchout.store.dynamo import ConditionFailed, Table
from punchout.store.sessions import CartState, SessionRepository
from tests.support import builders
from tests.unit.gateway.helpers import Shop, open_session, post_setup, register, shop_key, table_items

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


# --- sessions too large for one item ----------------------------------------------------------------


def test_a_session_too_large_even_compressed_is_a_400_and_nothing_is_stored(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a partner, and sessions limited to 2,000 compressed bytes (DynamoDB's limit, scaled down)
    register(table)
    monkeypatch.setattr(store_sessions, "_INLINE_SESSION_BYTES", 500)
    monkeypatch.setattr(store_sessions, "CHUNK_BYTES", 2_000)
    items = [builders.item_out(secrets.token_hex(16), "1", auxiliary=secrets.token_hex(16)) for _ in range(200)]
    # When a setup request carries more than that
    answer = post_setup(builders.setup_request(items=items))
    # Then it is refused with 400 (not a 500 the buyer would retry), and no session was stored
    assert (answer.status.code, answer.status.text) == (400, "Bad Request"), answer.status
    assert "session" in answer.status.message
    assert not [i for i in table_items(table) if i["pk"]["S"].startswith("SESSION#")]


def test_a_large_session_is_stored_compressed_and_read_back(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partner, and sessions stored inline up to 500 bytes only
    register(table)
    monkeypatch.setattr(store_sessions, "_INLINE_SESSION_BYTES", 500)
    # When a session is opened
    session_id, _ = open_session()
    # Then it was stored compressed, and the shop reads it as usual
    [item] = [i for i in table_items(table) if i["pk"]["S"] == f"SESSION#{session_id}"]
    assert "zdata" in item and "data" not in item
    assert Shop(shop_key(table), session_id).context()["id"] == session_id
