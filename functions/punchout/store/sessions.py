"""Sessions, their one-time links, and carts.

Items:
- ``SESSION#<id>/SESSION``: the session (TTL at its expiry; reads refuse it earlier than TTL would),
  gzip-compressed when large (the ItemOut lines of an edit of a 5,000-line cart are about 1 MB), its
  ``status`` also beside the data: it is ended by a write conditioned on its being open, so that of
  concurrent transfers and cancels one wins;
- ``TOKEN#<sha256(token)>/START|RETURN``: a one-time link, redeemed by a conditional update, so two
  clicks cannot both succeed; only the hash is stored, the link itself is a bearer key;
- ``CART#<ref>/CART``: the cart's header (revision, status, counts), and
  ``CART#<ref>/LINES#<revision>#<write>#<chunk>``: its lines, compressed and chunked (5,000-line
  carts). A new revision's chunks are written before the header moves to it, so a reader never sees
  half a cart; superseded chunks are deleted afterwards. Each write has its own ``<write>`` id, so
  that of two concurrent writes of one revision the loser deletes only its own chunks. A session
  transferred or cancelled before any cart was written leaves a header of revision 0 without lines:
  the first write of a cart needs no header, so a write racing the transfer fails.
"""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import gzip
import hashlib
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ..cxml.models import DeploymentMode
from ..model import GatewayModel
from ..sessions import BuyerUser, Cart, Session, SessionStatus, could_be_issued
from .dynamo import CHUNK_BYTES, ChunksMissing, ConditionFailed, Item, Table, key, n, now, s

_CART_READ_ATTEMPTS = 3
_INLINE_SESSION_BYTES = 64_000  # larger sessions are stored compressed


class SessionTooLarge(Exception):
    """The session would not fit one DynamoDB item even compressed."""


class TokenKind(StrEnum):
    START = "START"
    RETURN = "RETURN"


class TokenProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class TokenRefused(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _token_refusal(found: Item | None) -> TokenRefused:
    if found is None:
        return TokenRefused(TokenProblem.UNKNOWN)
    if "used_at" in found:
        return TokenRefused(TokenProblem.USED)
    return TokenRefused(TokenProblem.EXPIRED)


class CartState(GatewayModel):
    """The cart's header item."""

    ref: str
    session_id: str
    partner_id: str
    revision: int
    status: SessionStatus
    chunk_count: int
    line_count: int
    currency: str | None
    total: Decimal
    user: BuyerUser | None = None  # who filled it: the order message names them after the session ends
    lines_id: str = ""  # the write that stored this revision's chunks ("" for carts stored before it had one)
    # The partner's unit-of-measure mapping as the transfer applied it to the lines (the entries that changed a
    # unit): what the buyer was sent, whatever the mapping is since. None: transferred before it was recorded.
    units_sent: dict[str, str] | None = None
    # The session's mode: None for carts stored before carts named theirs (2026-11-28).
    deployment_mode: DeploymentMode | None = None

    def belongs_to(self, partner_id: str, deployment_mode: DeploymentMode) -> bool:
        """Whether the cart is the partner's in that mode, the only one where edit, inspect and orders find
        it: a buyer's test system is often a copy of production and holds production's references. A cart
        stored before carts named their mode is its partner's in either mode, as it was then."""
        return self.partner_id == partner_id and self.deployment_mode in (None, deployment_mode)


def _token_pk(raw: str) -> str:
    return "TOKEN#" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _cart_pk(ref: str) -> str:
    return f"CART#{ref}"


def _lines_prefix(revision: int, lines_id: str | None = None) -> str:
    """Where a revision's chunks are: those of one write (``lines_id``), or of all its writes."""
    prefix = f"LINES#{revision:06d}#"
    return f"{prefix}{lines_id}#" if lines_id else prefix


def _session_item(session: Session) -> Item:
    data = session.model_dump_json().encode("utf-8")
    stored: Item
    if len(data) <= _INLINE_SESSION_BYTES:
        stored = {"data": s(data.decode("utf-8"))}
    else:
        packed = gzip.compress(data, compresslevel=6)
        if len(packed) > CHUNK_BYTES:
            raise SessionTooLarge(f"The session holds {len(data)} bytes, {len(packed)} compressed")
        stored = {"zdata": {"B": packed}}
    return {
        **key(f"SESSION#{session.id}", "SESSION"),
        **stored,
        "status": s(session.status),  # beside the data, for ``save``'s condition
        "expires_at": n(int(session.expires_at.timestamp())),
    }


class SessionRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- sessions ----------------------------------------------------------------------------------

    def create(self, session: Session) -> None:
        """Store a new session; SessionTooLarge if it cannot be stored at all."""
        self.table.put(_session_item(session), condition="attribute_not_exists(pk)")

    def get(self, session_id: str) -> Session | None:
        """The session, or None when unknown or expired (TTL deletion can lag by hours)."""
        if not could_be_issued(session_id):
            return None
        item = self.table.get(f"SESSION#{session_id}", "SESSION")
        if item is None or int(item["expires_at"]["N"]) <= now():
            return None
        if "zdata" in item:
            return Session.model_validate_json(gzip.decompress(item["zdata"]["B"]))
        return Session.model_validate_json(item["data"]["S"])

    def save(self, session: Session) -> None:
        """Store the session ended (transferred or cancelled); ConditionFailed unless the stored one is
        still open, so that of concurrent transfers and cancels exactly one ends it. (Items written
        before sessions carried ``status`` beside their data count as open.)

        A write that took effect but whose answer was lost (a timeout, or botocore's repeat of it failing
        the condition on what it wrote) is recognised by its own ``ended_by`` id and succeeds."""
        write_id = uuid.uuid4().hex
        try:
            self.table.put(
                {**_session_item(session), "ended_by": s(write_id)},
                condition="attribute_exists(pk) AND (attribute_not_exists(#status) OR #status = :open)",
                values={":open": s("open")},
                names={"#status": "status"},
            )
        except Exception:
            if self._written_by(f"SESSION#{session.id}", "SESSION", "ended_by", write_id) is None:
                raise

    def _written_by(self, pk: str, sk: str, name: str, write_id: str) -> Item | None:
        """The item as stored now if the write ``write_id`` (in attribute ``name``) made it; None when
        another did or it cannot be read (the caller keeps the error it had)."""
        try:
            item = self.table.get(pk, sk)
        except Exception:
            return None
        return item if item is not None and item.get(name, {}).get("S") == write_id else None

    # -- one-time links ----------------------------------------------------------------------------

    def issue_token(self, kind: TokenKind, raw: str, session_id: str, ttl_seconds: int) -> None:
        self.table.put(
            {
                **key(_token_pk(raw), kind.value),
                "session_id": s(session_id),
                "expires_at": n(now() + ttl_seconds),
            },
            condition="attribute_not_exists(pk)",
        )

    def token_session(self, kind: TokenKind, raw: str) -> str:
        """The session id of a link that can still be used, without using it; refuses unknown, used and
        expired links. The routes read everything they need with it and redeem the link last, so that a
        failure on the way leaves the link usable for the browser's retry."""
        if not could_be_issued(raw):
            raise TokenRefused(TokenProblem.UNKNOWN)
        found = self.table.get(_token_pk(raw), kind.value)
        if found is None or "used_at" in found or int(found["expires_at"]["N"]) <= now():
            raise _token_refusal(found)
        return found["session_id"]["S"]

    def redeem_token(self, kind: TokenKind, raw: str) -> str:
        """Mark the link used and return its session id; refuses unknown, used and expired links.

        The write carries its own id (``redeemed_by``): one that took effect but whose answer was lost (a
        timeout, or botocore's repeat of it failing the condition on what it wrote) is recognised and
        succeeds, rather than leaving the link spent by a request that failed."""
        if not could_be_issued(raw):
            raise TokenRefused(TokenProblem.UNKNOWN)
        pk = _token_pk(raw)
        moment = now()
        write_id = uuid.uuid4().hex
        try:
            item = self.table.update(
                pk,
                kind.value,
                "SET used_at = :now, redeemed_by = :by",
                condition="attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now",
                values={":now": n(moment), ":by": s(write_id)},
            )
        except ConditionFailed:
            found = self.table.get(pk, kind.value)
            if found is None or found.get("redeemed_by", {}).get("S") != write_id:
                raise _token_refusal(found) from None
            return found["session_id"]["S"]
        except Exception:
            mine = self._written_by(pk, kind.value, "redeemed_by", write_id)
            if mine is None:
                raise
            return mine["session_id"]["S"]
        return item["session_id"]["S"]

    # -- carts -------------------------------------------------------------------------------------

    def cart_state(self, ref: str) -> CartState | None:
        """The cart's header, or None when unknown or expired (TTL deletes the header and its chunks
        separately, hours apart)."""
        item = self.table.get(_cart_pk(ref), "CART")
        if item is None or int(item["expires_at"]["N"]) <= now():
            return None
        return CartState.model_validate_json(item["data"]["S"])

    def _load_cart(self, state: CartState) -> Cart:
        payload = self.table.get_chunks(
            _cart_pk(state.ref), _lines_prefix(state.revision, state.lines_id), state.chunk_count
        )
        return Cart.model_validate_json(payload)

    def current_cart(self, ref: str, owner: tuple[str, DeploymentMode] | None = None) -> tuple[CartState, Cart] | None:
        """The cart's header and lines as they are now; with ``owner`` (partner id and mode), None unless the
        cart is theirs (``CartState.belongs_to``), whose lines are then not read.

        A write that lands between reading the header and reading the lines deletes the lines the
        header named: the header is then read again.
        """
        for _ in range(_CART_READ_ATTEMPTS):
            state = self.cart_state(ref)
            if state is None or state.revision == 0:  # none, or ended before one was written
                return None
            if owner is not None and not state.belongs_to(*owner):
                return None
            try:
                return state, self._load_cart(state)
            except ChunksMissing:
                latest = self.cart_state(ref)
                if latest is None or latest.revision == state.revision:
                    raise
        raise ChunksMissing(f"The cart {ref} changed on every one of {_CART_READ_ATTEMPTS} reads")

    def save_cart(
        self,
        ref: str,
        session_id: str,
        partner_id: str,
        cart: Cart,
        *,
        deployment_mode: DeploymentMode,
        expected_revision: int,
        expires_at: datetime,
        user: BuyerUser | None = None,
    ) -> CartState:
        """Store a new revision of the cart; ConditionFailed if it changed meanwhile or was frozen."""
        revision = expected_revision + 1
        pk = _cart_pk(ref)
        expiry = int(expires_at.timestamp())
        lines_id = uuid.uuid4().hex[:16]
        chunks = self.table.put_chunks(pk, _lines_prefix(revision, lines_id), cart.model_dump_json().encode(), expiry)
        state = CartState(
            ref=ref,
            session_id=session_id,
            partner_id=partner_id,
            revision=revision,
            status="open",
            chunk_count=chunks,
            line_count=len(cart.lines),
            currency=cart.currency,
            total=cart.total,
            user=user,
            lines_id=lines_id,
            deployment_mode=deployment_mode,
        )
        try:
            self.table.put(
                self._cart_item(state, expiry),
                condition="attribute_not_exists(pk) OR (revision = :expected AND #status = :open)"
                if expected_revision
                else "attribute_not_exists(pk)",
                values={":expected": n(expected_revision), ":open": s("open")} if expected_revision else None,
                names={"#status": "status"} if expected_revision else None,
            )
        except ConditionFailed:
            # Unless the header is this write's: a write that took effect but whose answer was lost is
            # repeated by botocore, and the repeat fails its condition on what the first attempt wrote.
            if not self._header_written_by(ref, lines_id):
                self.table.delete_chunks(pk, _lines_prefix(revision, lines_id))  # only this write's
                raise
        if expected_revision:
            # Every write of the superseded revision: the previous winner's and any loser's leftovers.
            self.table.delete_chunks(pk, _lines_prefix(expected_revision))
        return state

    def _header_written_by(self, ref: str, lines_id: str) -> bool:
        item = self.table.get(_cart_pk(ref), "CART")
        return item is not None and CartState.model_validate_json(item["data"]["S"]).lines_id == lines_id

    def end_unwritten_cart(
        self,
        ref: str,
        session_id: str,
        partner_id: str,
        status: SessionStatus,
        *,
        deployment_mode: DeploymentMode,
        expires_at: datetime,
        user: BuyerUser | None = None,
    ) -> CartState:
        """Transfer or cancel a cart no write has stored: a header of revision 0 without lines, which
        the first write of a cart refuses. ConditionFailed if a cart was written meanwhile."""
        state = CartState(
            ref=ref,
            session_id=session_id,
            partner_id=partner_id,
            revision=0,
            status=status,
            chunk_count=0,
            line_count=0,
            currency=None,
            total=Decimal(0),
            user=user,
            deployment_mode=deployment_mode,
        )
        self.table.put(
            self._cart_item(state, int(expires_at.timestamp())),
            # A retried transfer (its session not saved the first time) finds its own header.
            condition="attribute_not_exists(pk) OR revision = :unwritten",
            values={":unwritten": n(0)},
        )
        return state

    def reopen_cart(self, ended: CartState) -> None:
        """Undo ``end_unwritten_cart`` or ``set_cart_status`` when the session could not be saved with
        it: the session is still open, so the shop must still be able to change its cart."""
        if ended.revision == 0:
            self.table.delete(_cart_pk(ended.ref), "CART")  # no write can replace a revision-0 header
            return
        self._write_status(ended, "open", while_open=False)

    def set_cart_status(self, state: CartState, status: SessionStatus) -> CartState:
        """Freeze (``transferred``) or cancel the cart at the revision the caller saw. The write carries its
        own id (``status_by``): one repeated by botocore after its answer was lost fails its condition on
        what it wrote, and finding that id succeeds; a concurrent transfer's write, the same status at the
        same revision, stays ConditionFailed (taken for this one's, this transfer's compensation could
        reopen the cart the other hands over)."""
        write_id = uuid.uuid4().hex
        try:
            return self._write_status(state, status, while_open=True, write_id=write_id)
        except ConditionFailed:
            if self._written_by(_cart_pk(state.ref), "CART", "status_by", write_id) is None:
                raise
            return state.model_copy(update={"status": status})

    def _write_status(
        self, state: CartState, status: SessionStatus, *, while_open: bool, write_id: str | None = None
    ) -> CartState:
        """Set the status of the cart at ``state``'s revision (and only while it is open, if asked)."""
        changed = state.model_copy(update={"status": status})
        values = {":status": s(status), ":data": s(changed.model_dump_json()), ":revision": n(state.revision)}
        if while_open:
            values[":open"] = s("open")  # DynamoDB refuses values an expression does not use
        update = "SET #status = :status, #data = :data"
        if write_id is not None:
            update += ", status_by = :by"
            values[":by"] = s(write_id)
        self.table.update(
            _cart_pk(state.ref),
            "CART",
            update,
            condition="revision = :revision AND #status = :open" if while_open else "revision = :revision",
            values=values,
            names={"#status": "status", "#data": "data"},
        )
        return changed

    @staticmethod
    def _cart_item(state: CartState, expiry: int) -> Item:
        return {
            **key(_cart_pk(state.ref), "CART"),
            "data": s(state.model_dump_json()),
            "revision": n(state.revision),
            "status": s(state.status),
            "expires_at": n(expiry),
        }
