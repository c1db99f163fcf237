"""Use cases of the cart function: the shop reads its session, stores the cart, transfers it, and the
browser carries it back to the buyer."""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from pydantic import Field

from punchout.cart_message import (
    MissingClassification,
    line_classification,
    render_cart,
    return_page,
)
from punchout.currencies import minor_units, places
from punchout.cxml.models import MAX_INTEGER_DIGITS, plain_decimal
from punchout.http import MAX_RESPONSE_BYTES, carried_size
from punchout.model import GatewayModel
from punchout.partners import TradingPartner
from punchout.session_view import SessionContext, session_context
from punchout.sessions import (
    Cart,
    CartInput,
    EarlierItem,
    Session,
    SessionStatus,
    TransferRequest,
    cart_expiry,
    line_reference,
    new_token,
)
from punchout.settings import GatewaySettings
from punchout.shop_api import Conflict, NotFound, Unprocessable
from punchout.store.dynamo import ConditionFailed
from punchout.store.partners import PartnerRepository
from punchout.store.sessions import SessionRepository, TokenKind


class SessionNotFound(NotFound):
    pass


class SessionConflict(Conflict):
    pass


class InvalidCart(Unprocessable):
    pass


class ReturnRefused(Exception):
    """The return link cannot produce a cart (session gone); the browser gets a plain page."""

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id


class CartSummary(GatewayModel):
    line_count: int
    currency: str
    total: str = Field(description="The lines' sum (without shipping and tax), a decimal string in plain notation")
    revision: int = Field(description="1 for the session's first stored cart, then one more per stored cart")


class TransferResult(GatewayModel):
    return_url: str


def _check_total(cart: Cart) -> None:
    """Refuse a cart whose total the buyer's OrderRequest could not carry back: amounts there have at most
    ``MAX_INTEGER_DIGITS`` before the point (one line at the limits fits; two can exceed it)."""
    total = cart.total
    if total >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise InvalidCart(
            f"The cart's total {plain_decimal(total)} has more than {MAX_INTEGER_DIGITS} digits before the point, "
            "more than an order of it could carry back; split the cart"
        )


def _check_charges(cart: CartInput, currency: str) -> None:
    """Refuse shipping or tax with more places than the currency's minor unit: an amount the buyer pays (not a
    price per unit, which may be finer), which no invoice could hold: converted from another currency and never
    rounded. Refused rather than rounded, as every amount the shop sends (the gateway never rounds)."""
    units = minor_units(currency)
    if units is None:
        return
    for name, charge in (("shipping", cart.shipping), ("tax", cart.tax)):
        if charge is None:
            continue
        written = places(charge.amount)
        if written > units:
            raise InvalidCart(
                f"The cart's {name} {plain_decimal(charge.amount)} has {written} decimal place{'s' * (written != 1)}, "
                f"and {currency} has {units} (ISO 4217 minor unit): round it as you invoice it"
            )


def _web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL, read as browsers read it (leading spaces and controls
    skipped, tabs and line breaks dropped): the buyer's requisition shows a line's URL as a link, where a
    ``javascript:`` or ``data:`` URL would run in the buyer's system and a relative one point into it."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class CartService:
    def __init__(self, sessions: SessionRepository, partners: PartnerRepository, settings: GatewaySettings) -> None:
        self.sessions = sessions
        self.partners = partners
        self.settings = settings

    def _session(self, session_id: str) -> tuple[Session, TradingPartner]:
        session = self.sessions.get(session_id)
        partner = self.partners.get(session.partner_id) if session else None
        if session is None or partner is None:
            raise SessionNotFound("No open session with this id (unknown or expired)")
        return session, partner

    def context(self, session_id: str) -> SessionContext:
        session, partner = self._session(session_id)
        current = self.sessions.current_cart(session.cart_ref)
        return session_context(session, partner, current[1] if current else None)

    def put_cart(self, session_id: str, cart_input: CartInput) -> CartSummary:
        session, partner = self._session(session_id)
        if session.read_only:
            raise SessionConflict("This is an inspect session: its cart is read-only")
        if session.status != "open":
            raise SessionConflict(f"This session's cart was already {session.status}")
        if len(cart_input.lines) > self.settings.max_cart_lines:
            raise InvalidCart(f"A cart may hold at most {self.settings.max_cart_lines} lines")
        cart = self._normalise(cart_input, partner)
        _check_total(cart)
        self._check_readable(session, partner, cart)
        state = self.sessions.cart_state(session.cart_ref)
        try:
            saved = self.sessions.save_cart(
                session.cart_ref,
                session.id,
                partner.id,
                cart,
                deployment_mode=session.deployment_mode,
                expected_revision=state.revision if state else 0,
                expires_at=self._cart_expiry(session),
                user=session.user,
            )
        except ConditionFailed:
            raise SessionConflict("The cart changed meanwhile or was transferred; read the session again") from None
        return CartSummary(
            line_count=saved.line_count,
            currency=cart.currency or partner.default_currency,
            total=plain_decimal(saved.total),
            revision=saved.revision,
        )

    def _cart_expiry(self, session: Session) -> datetime:
        settings = self.settings
        return cart_expiry(
            datetime.now(UTC), settings.cart_retention_days, session.expires_at, settings.return_token_ttl_seconds
        )

    @staticmethod
    def _normalise(cart_input: CartInput, partner: TradingPartner) -> Cart:
        """One currency for the whole cart (cXML has one Total), and a Classification for every line."""
        currencies = {line.currency for line in cart_input.lines if line.currency}
        currency = (
            cart_input.currency or (currencies.pop() if len(currencies) == 1 else None) or partner.default_currency
        )
        if any(line.currency not in (None, currency) for line in cart_input.lines):
            raise InvalidCart(f"Every line must be in the cart's currency {currency}")
        _check_charges(cart_input, currency)
        for number, line in enumerate(cart_input.lines, 1):
            if line.url is not None and not _web_url(line.url):
                raise InvalidCart(
                    f"Line {number} ({line.supplier_part_id}) has a url that is not an absolute http(s) URL: the "
                    "buyer's system shows it as a link to the product"
                )
            try:
                line_classification(line, partner)
            except MissingClassification:
                raise InvalidCart(
                    f"Line {number} ({line.supplier_part_id}) has no classification and the partner has no default"
                ) from None
        # The lines as the body's validation made them: models are not validated again, whereas a dump
        # would be, every text of every line (a third of a 1,000-line PUT's own time).
        return Cart(**{**dict(cart_input), "currency": currency})

    def transfer(self, session_id: str, request: TransferRequest) -> TransferResult:
        """Freeze the cart (or cancel) and hand out the one-time URL the shop sends the browser to."""
        session, partner = self._session(session_id)
        if session.status != "open":
            raise SessionConflict(f"This session's cart was already {session.status}")
        if session.return_url is None:
            raise SessionConflict("This session has no return URL (an inspect without BrowserFormPost)")
        current = self.sessions.current_cart(session.cart_ref)
        state = current[0] if current else None
        status: SessionStatus = "cancelled" if request.cancel else "transferred"
        if current is not None and not request.cancel:
            self._check_returnable(session, partner, current[1])
        # The link is stored before anything ends: stored after, a failure to store it (a 500 the shop
        # retries) would leave the session ended with no link, and every retry refused as already ended.
        # One stored for a transfer that then fails is never handed out, and expires unused.
        ttl = self.settings.return_token_ttl_seconds
        token = new_token()
        self.sessions.issue_token(TokenKind.RETURN, token, session.id, ttl)
        ended = None
        try:
            if state is None:
                # Ended even without a cart: a PUT that read the session before this transfer saved it
                # could otherwise store a cart on the transferred session.
                ended = self.sessions.end_unwritten_cart(
                    session.cart_ref,
                    session.id,
                    partner.id,
                    status,
                    deployment_mode=session.deployment_mode,
                    expires_at=self._cart_expiry(session),
                    user=session.user,
                )
            elif state.status == "open":
                if status == "transferred" and current is not None:  # the units the buyer is sent
                    units = partner.units_mapped({line.unit_of_measure for line in current[1].lines})
                    state = state.model_copy(update={"units_sent": units})
                ended = self.sessions.set_cart_status(state, status)
        except ConditionFailed:
            raise SessionConflict("The cart changed meanwhile; transfer again") from None
        # The return link must work even if the session would expire before the browser follows it.
        expires_at = max(session.expires_at, datetime.now(UTC) + timedelta(seconds=ttl))
        try:
            self.sessions.save(session.model_copy(update={"status": status, "expires_at": expires_at}))
        except ConditionFailed:
            # A concurrent transfer or cancel ended the session first: its link is the only one, and the
            # cart stays ended (reopening it would let a PUT change the cart that transfer handed over).
            raise SessionConflict("This session's cart was already transferred or cancelled") from None
        except Exception:
            if ended is not None:  # the session stays open: so does its cart (a retry ends it again)
                with suppress(Exception):
                    self.sessions.reopen_cart(ended)
            raise
        return TransferResult(return_url=f"{session.base_url}/punchout/return/{token}")

    def _check_readable(self, session: Session, partner: TradingPartner, cart: Cart) -> None:
        """Refuse a cart the session's answer (GET) could not carry within Lambda's 6 MB (a 502 at every GET):
        it spells out every line's fields, empty ones as null, so a cart sent in 5.4 MB can take 6.5 MB.
        Measured as the buyer's edit of it will show it, its lines both restored and listed as the
        request's items: a cart that fits only without them could be returned but never edited (400)."""
        edit = session_context(session, partner, cart).model_copy(
            update={
                "items": [
                    EarlierItem(
                        supplier_part_id=line.supplier_part_id,
                        supplier_part_auxiliary_id=line_reference(session.cart_ref, number),
                        quantity=line.quantity,
                        restored=True,
                    )
                    for number, line in enumerate(cart.lines, 1)
                ]
            }
        )
        size = carried_size(edit.model_dump_json())
        if size > MAX_RESPONSE_BYTES:
            raise InvalidCart(
                f"The cart is too large to read back in the buyer's edit of it: the session's answer would be "
                f"{size:,} bytes, over the {MAX_RESPONSE_BYTES:,} a response may carry; send fewer lines or "
                "shorter texts"
            )

    def _check_returnable(self, session: Session, partner: TradingPartner, cart: Cart) -> None:
        """Refuse, while the shop can still change it, a cart whose return page Lambda could not send."""
        page, headers = return_page(
            session, partner, render_cart(session, partner, cart, self.settings.payload_id_domain)
        )
        size = carried_size(page) + len(json.dumps(headers))
        if size > MAX_RESPONSE_BYTES:
            raise InvalidCart(
                f"The cart is too large to return to the buyer: its page would be {size:,} bytes, over the "
                f"{MAX_RESPONSE_BYTES:,} a response may carry; send fewer lines or shorter texts"
            )

    def return_page(self, token: str) -> tuple[str, dict[str, str]]:
        """Redeem a return link: the page that auto-posts the PunchOutOrderMessage to the buyer."""
        # Redeemed last, once the page is made: a failure to read the session, partner or cart leaves the
        # link usable for the browser's retry (spent, it would say the cart was already returned).
        session_id = self.sessions.token_session(TokenKind.RETURN, token)
        session = self.sessions.get(session_id)
        partner = self.partners.get(session.partner_id) if session else None
        if session is None or partner is None or session.return_url is None:
            raise ReturnRefused(session_id)
        cart = None
        if session.status == "transferred":
            current = self.sessions.current_cart(session.cart_ref)
            cart = current[1] if current else None
            if current is not None and current[0].units_sent is not None:  # the units the transfer recorded
                partner = partner.model_copy(update={"unit_of_measure_map": current[0].units_sent})
        document = render_cart(session, partner, cart, self.settings.payload_id_domain)
        page = return_page(session, partner, document)
        self.sessions.redeem_token(TokenKind.RETURN, token)
        return page
