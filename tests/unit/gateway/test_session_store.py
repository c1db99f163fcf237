"""Carts and sessions in DynamoDB (moto): concurrent cart revisions, reads racing a write, the conditional
writes of sessions and one-time links, large sessions."""

from __future__ import annotations

import gzip
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from punchout.sessions import Cart, CartLine, Session, SessionStatus, new_token
from punchout.store import sessions as store_sessions
from punchout.store.dynamo import ChunksMissing, ConditionFailed, Item, Table
from punchout.store.sessions import CartState, SessionRepository, TokenKind, TokenProblem, TokenRefused
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
    sessions.save_cart(
        REF,
        "session-1",
        "acme",
        content,
        deployment_mode="production",
        expected_revision=expected_revision,
        expires_at=EXPIRES,
    )


def line_items(table: Table) -> list[str]:
    return sorted(item["sk"]["S"] for item in table.query(f"CART#{REF}", "LINES#"))


def stored_session(table: Table) -> Session:
    """A session of the default partner opened through the setup route, as the repository reads it."""
    register(table)
    session = SessionRepository(table).get(open_session()[0])
    assert session is not None
    return session


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


def test_a_write_of_a_revision_the_transfer_froze_is_refused(table: Table) -> None:
    # Given a cart at revision 1, read by a PUT, then transferred before the PUT writes
    sessions = SessionRepository(table)
    save(sessions, cart("transferred"), expected_revision=0)
    state = sessions.cart_state(REF)
    assert state is not None
    sessions.set_cart_status(state, "transferred")
    # When the PUT writes revision 2
    with pytest.raises(ConditionFailed):
        save(sessions, cart("late"), expected_revision=1)
    # Then the cart stays as it was transferred
    current = sessions.current_cart(REF)
    assert current is not None
    assert (current[0].status, current[1]) == ("transferred", cart("transferred"))


@pytest.mark.parametrize("second", ["cancelled", "transferred"])
def test_a_cart_another_request_ended_is_not_ended_again_nor_taken_for_ones_own(
    table: Table, second: SessionStatus
) -> None:
    # Given a cart two requests read while it was open, the first of which has transferred it
    sessions = SessionRepository(table)
    save(sessions, cart("first"), expected_revision=0)
    seen_open = sessions.cart_state(REF)
    assert seen_open is not None
    sessions.set_cart_status(seen_open, "transferred")
    # When the second ends it too (a cancel, or a transfer: the same status at the same revision)
    # Then it is told it did not: taking the first one's write for its own, it would reopen the cart the
    # first one hands over if its own session write then failed (its compensation), and a PUT could
    # change the cart the buyer is sent
    with pytest.raises(ConditionFailed):
        sessions.set_cart_status(seen_open, second)
    # And the first one's status stands
    state = sessions.cart_state(REF)
    assert state is not None and state.status == "transferred"


def test_a_cart_whose_lines_are_gone_is_an_error_not_an_empty_cart(table: Table) -> None:
    # Given a cart whose header is current but whose lines are no longer stored
    sessions = SessionRepository(table)
    save(sessions, cart("lost"), expected_revision=0)
    for sk in line_items(table):
        table.delete(f"CART#{REF}", sk)
    # When it is read
    # Then the read fails: an empty cart returned to the buyer would remove the lines on an edit
    with pytest.raises(ChunksMissing):
        sessions.current_cart(REF)


# --- sessions and one-time links: conditional writes ----------------------------------------------


def test_a_session_id_already_stored_is_not_created_again(table: Table) -> None:
    # Given a stored session
    sessions = SessionRepository(table)
    session = stored_session(table)
    # When a session of the same id is created
    with pytest.raises(ConditionFailed):
        sessions.create(session.model_copy(update={"status": "cancelled"}))
    # Then the stored one is unchanged
    assert sessions.get(session.id) == session


def test_a_session_no_longer_stored_is_not_saved_back(table: Table) -> None:
    # Given a session that TTL deleted after a use case read it
    sessions = SessionRepository(table)
    session = stored_session(table)
    table.delete(f"SESSION#{session.id}", "SESSION")
    # When the use case saves it
    with pytest.raises(ConditionFailed):
        sessions.save(session.model_copy(update={"status": "transferred"}))
    # Then it is not brought back
    assert sessions.get(session.id) is None


@pytest.mark.parametrize("status", ["transferred", "cancelled"])
def test_a_session_ended_meanwhile_is_not_ended_again(table: Table, status: str) -> None:
    # Given a session two transfers (or a transfer and a cancel) both read while it was open
    sessions = SessionRepository(table)
    session = stored_session(table)
    # When the first ends it, and the second saves its own ending
    sessions.save(session.model_copy(update={"status": status}))
    with pytest.raises(ConditionFailed):
        sessions.save(session.model_copy(update={"status": "cancelled"}))
    # Then the session stays as the first left it
    stored = sessions.get(session.id)
    assert stored is not None and stored.status == status


@pytest.mark.parametrize("compressed", [False, True], ids=["inline", "compressed"])
def test_a_session_stored_with_restored_from_by_an_earlier_release_is_still_read(
    table: Table, compressed: bool
) -> None:
    # Given a session item as the release before this one wrote it: with `restored_from`, the cart refs an
    # edit or inspect reopened (written, never read, and no longer a field), inline or compressed
    sessions = SessionRepository(table)
    session = stored_session(table)
    data = json.dumps({**json.loads(session.model_dump_json()), "restored_from": ["0a1b2c3d4e5f6g7h"]})
    stored: Item = {"zdata": {"B": gzip.compress(data.encode())}} if compressed else {"data": {"S": data}}
    item = table.get(f"SESSION#{session.id}", "SESSION")
    assert item is not None
    table.put({**{k: v for k, v in item.items() if k not in ("data", "zdata")}, **stored})
    # When the gateway reads it, the shop asks for it, and a use case saves it back
    read = sessions.get(session.id)
    context = Shop(shop_key(table), session.id).context()
    assert read is not None
    sessions.save(read.model_copy(update={"status": "cancelled"}))
    # Then it is the same session, served as before, and written back without the old key
    assert read == session
    assert context["id"] == session.id
    saved = table.get(f"SESSION#{session.id}", "SESSION")
    assert saved is not None and "restored_from" not in saved["data"]["S"]


def test_a_link_already_issued_is_not_issued_again(table: Table) -> None:
    # Given a start link that was used
    sessions = SessionRepository(table)
    token = new_token()
    sessions.issue_token(TokenKind.START, token, "session-1", 600)
    assert sessions.redeem_token(TokenKind.START, token) == "session-1"
    # When the same token is issued again
    with pytest.raises(ConditionFailed):
        sessions.issue_token(TokenKind.START, token, "session-2", 600)
    # Then it stays used (a replaced item would have lost its use)
    with pytest.raises(TokenRefused) as refused:
        sessions.redeem_token(TokenKind.START, token)
    assert refused.value.problem is TokenProblem.USED


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
