"""Use cases of the setup function: open a PunchOut session, describe ourselves, start shopping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError

from punchout.auth import Authenticated
from punchout.cxml.errors import CXMLError, Forbidden, InvalidDocument, NotImplementedRequest, PreconditionFailed
from punchout.cxml.models import (
    DeploymentMode,
    Extrinsic,
    ItemOut,
    PunchOutSetupRequest,
    RequestDocument,
)
from punchout.cxml.status import StatusCode
from punchout.http import MAX_RESPONSE_BYTES, carried_size
from punchout.session_view import SessionContext, session_context
from punchout.sessions import (
    MAX_CART_LINES_READ,
    MAX_CARTS_READ,
    BuyerUser,
    Cart,
    CartLine,
    EarlierItem,
    Session,
    cart_expiry,
    new_cart_ref,
    new_session_id,
    new_token,
    parse_line_reference,
    same_part,
)
from punchout.settings import GatewaySettings
from punchout.store.sessions import SessionRepository, SessionTooLarge, TokenKind

# What a partner's carts allow, from least to most: edit implies inspect.
_PERMISSIONS = {"create": 0, "inspect": 1, "edit": 2}


# --- the buyer's user -----------------------------------------------------------------------------

_EMAIL_EXTRINSICS = ("useremail", "email", "emailaddress", "user_email")
_UNIQUE_NAME_EXTRINSICS = ("uniquename", "user", "username", "userid")
_FULL_NAME_EXTRINSICS = ("userfullname", "userprintablename", "fullname", "name")


def _first(values: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((values[n] for n in names if values.get(n)), None)


def buyer_user(request: PunchOutSetupRequest) -> BuyerUser:
    """Who is shopping: buyers put it in Extrinsics, in a Contact (often role endUser) or in ShipTo."""
    values = {(e.name or "").lower(): e.value for e in request.extrinsics if e.name and e.value}
    contact = next((c for c in request.contacts if (c.role or "").lower() == "enduser"), None) or next(
        iter(request.contacts), None
    )
    address = request.ship_to.address if request.ship_to else None
    email = _first(values, _EMAIL_EXTRINSICS)
    unique_name = _first(values, _UNIQUE_NAME_EXTRINSICS)
    if email is None and unique_name and "@" in unique_name:
        email = unique_name
    if email is None and contact is not None and contact.emails:
        email = contact.emails[0]
    if email is None and address is not None:
        email = address.email
    first_name, last_name = values.get("firstname"), values.get("lastname")
    name = _first(values, _FULL_NAME_EXTRINSICS)
    if name is None and (first_name or last_name):
        name = " ".join(part for part in (first_name, last_name) if part)
    if name is None and contact is not None and contact.name:
        name = contact.name
    if name is None and address is not None and address.postal_address and address.postal_address.deliver_to:
        name = address.postal_address.deliver_to[0]
    return BuyerUser(email=email, name=name, first_name=first_name, last_name=last_name, unique_name=unique_name)


def _extrinsics(extrinsics: list[Extrinsic]) -> dict[str, str]:
    return {e.name: e.value for e in extrinsics if e.name}


# --- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    items: list[EarlierItem]
    cart: Cart | None


class SetupService:
    def __init__(self, sessions: SessionRepository, settings: GatewaySettings) -> None:
        self.sessions = sessions
        self.settings = settings

    def open_session(self, document: RequestDocument, auth: Authenticated, base_url: str) -> str:
        """Answer a PunchOutSetupRequest: a new session and its one-time StartPage URL."""
        request = document.request
        assert isinstance(request, PunchOutSetupRequest)  # noqa: S101 - the handler dispatches by type
        partner = auth.partner
        if request.operation == "source":
            raise NotImplementedRequest("PunchOutSetupRequest operation source is not supported")
        if request.operation != "create" and _PERMISSIONS[request.operation] > _PERMISSIONS[partner.operation_allowed]:
            raise PreconditionFailed(f"This supplier's carts do not allow {request.operation}")
        shop_url = partner.shop_url or self.settings.default_shop_url
        if not shop_url:
            raise ShopUrlMissing(
                "The supplier has not configured a shop URL for this buyer; please retry later or contact the supplier"
            )
        if document.header is None or not document.header.to_credentials:
            # The cart goes back from the supplier the buyer addressed: without a To, it could not.
            raise InvalidDocument("The Header has no To credential: the cart could not be sent back")
        return_url = self._return_url(request, auth)
        restored = self._restore(request, auth, document.deployment_mode)
        now = datetime.now(UTC)
        session = Session(
            id=new_session_id(),
            partner_id=partner.id,
            operation=request.operation,
            deployment_mode=document.deployment_mode,
            buyer_cookie=request.buyer_cookie,
            buyer_cookie_markup=request.buyer_cookie_markup,
            return_url=return_url,
            return_frame=next((e.value for e in request.extrinsics if (e.name or "").lower() == "returnframe"), None),
            lang=document.envelope.lang or "en-US",
            cxml_version=partner.cxml_version,
            payload_id=document.envelope.payload_id,
            buyer_credentials=document.header.from_credentials if document.header else [],
            supplier_credentials=document.header.to_credentials if document.header else [],
            user=buyer_user(request),
            ship_to=request.ship_to.address if request.ship_to else None,
            contacts=request.contacts,
            extrinsics=_extrinsics(request.extrinsics),
            selected_item=request.selected_item,
            earlier_items=restored.items,
            cart_ref=new_cart_ref(),
            shop_url=shop_url,
            base_url=base_url,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.session_ttl_seconds),
        )
        _check_readable(session_context(session, partner, restored.cart))
        try:
            self.sessions.create(session)
        except SessionTooLarge:
            raise InvalidDocument(
                "The request carries more ItemOut, Contact and Extrinsic data than a session can keep"
            ) from None
        if restored.cart is not None:
            self.sessions.save_cart(
                session.cart_ref,
                session.id,
                partner.id,
                restored.cart,
                deployment_mode=session.deployment_mode,
                expected_revision=0,
                expires_at=cart_expiry(
                    now, self.settings.cart_retention_days, session.expires_at, self.settings.return_token_ttl_seconds
                ),
                user=session.user,
            )
        token = new_token()
        self.sessions.issue_token(TokenKind.START, token, session.id, self.settings.start_token_ttl_seconds)
        return f"{base_url}/punchout/start/{token}"

    @staticmethod
    def _return_url(request: PunchOutSetupRequest, auth: Authenticated) -> str | None:
        partner = auth.partner
        parts = urlsplit((request.browser_form_post or "").strip())
        if request.browser_form_post and (parts.scheme.lower() not in ("http", "https") or not parts.netloc):
            # Not a URL at all (test tools send template placeholders such as "HOOK PLACEHOLDER"):
            # the partner's default return URL stands in, as for a request without BrowserFormPost.
            if partner.default_return_url:
                return partner.default_return_url
            raise InvalidDocument("The BrowserFormPost URL is not an absolute http(s) URL")
        if request.browser_form_post:
            if not partner.allows_return_url(request.browser_form_post):
                raise Forbidden(f"BrowserFormPost URL {_shown_origin(parts)} is not allowed for this trading partner")
            return request.browser_form_post
        if partner.default_return_url:
            return partner.default_return_url
        if request.operation in ("create", "edit"):
            raise InvalidDocument("PunchOutSetupRequest has no BrowserFormPost and no return URL is configured")
        return None  # inspect: nothing to return

    def _restore(self, request: PunchOutSetupRequest, auth: Authenticated, mode: DeploymentMode) -> Restored:
        """Reopen the earlier cart of an edit/inspect from the ItemOut lines' SupplierPartAuxiliaryIDs: one of
        this partner's in this deployment mode (another's, or the other mode's, is as unknown as none)."""
        if not request.items:
            return Restored(items=[], cart=None)
        if request.operation == "create":
            # A create may carry ItemOut lines too (items the buyer chose beforehand): the shop sees
            # them in the session, but there is no earlier cart of ours to restore.
            return Restored(items=[_earlier(item, restored=False) for item in request.items], cart=None)
        carts: dict[str, Cart] = {}
        looked_up: set[str] = set()  # misses too: 5,000 lines naming one expired cart are one read
        lines_read = 0
        for item in request.items:
            reference = parse_line_reference(item.item_id.supplier_part_auxiliary_id)
            if reference is None or reference[0] in looked_up:
                continue
            if len(looked_up) >= MAX_CARTS_READ or lines_read >= MAX_CART_LINES_READ:
                break  # the lines of carts past the limits are not restored; the shop sees them among the items
            looked_up.add(reference[0])
            current = self.sessions.current_cart(reference[0], (auth.partner.id, mode))
            if current is not None:
                carts[reference[0]] = current[1]
                lines_read += len(current[1].lines)
        earlier: list[EarlierItem] = []
        lines: list[CartLine] = []
        currency: str | None = None
        for item in request.items:
            line: CartLine | None = None
            reference = parse_line_reference(item.item_id.supplier_part_auxiliary_id)
            if reference is not None and reference[0] in carts:
                cart = carts[reference[0]]
                index = reference[1] - 1
                cart_currency = auth.partner.money_currency(cart.currency)
                # One currency per cart: lines of an earlier cart in another one are not restored (their
                # prices would be relabelled); the shop sees them among the items, not restored.
                if (
                    0 <= index < len(cart.lines)
                    and same_part(cart.lines[index].supplier_part_id, item.item_id.supplier_part_id)
                    and currency in (None, cart_currency)
                ):
                    # The requisition's quantity wins (the buyer may have changed it); prices stay ours.
                    line = _with_quantity(cart.lines[index], item.quantity)
                    lines.append(line)
                    currency = cart_currency
            earlier.append(_earlier(item, restored=line is not None))
        if not lines:
            raise PreconditionFailed(
                f"The cart to {request.operation} was not found: no ItemOut names, by the SupplierPartID and "
                "SupplierPartAuxiliaryID of our PunchOutOrderMessage, a line of a cart of this trading partner in "
                f"this deploymentMode (carts are kept {self.settings.cart_retention_days} days); punch out with "
                "operation create"
            )
        return Restored(items=earlier, cart=Cart(currency=currency, lines=lines))

    def start(self, token: str) -> str:
        """Redeem a StartPage link: the shop URL the browser is sent to (303)."""
        # Redeemed last: a failure to read the session leaves the link usable for the browser's retry.
        session_id = self.sessions.token_session(TokenKind.START, token)
        session = self.sessions.get(session_id)
        if session is None:
            raise SessionExpired(session_id)
        self.sessions.redeem_token(TokenKind.START, token)
        return with_query(session.shop_url, punchout_session=session.id)


def _with_quantity(line: CartLine, quantity: Decimal | None) -> CartLine:
    """``line`` with the requisition's quantity, when that is one a cart line can hold."""
    if quantity is None or quantity == line.quantity:
        return line
    try:
        return CartLine.model_validate({**line.model_dump(), "quantity": quantity})
    except ValidationError:  # zero, negative, or too many digits: the cart's own quantity stays
        return line


def _earlier(item: ItemOut, *, restored: bool) -> EarlierItem:
    return EarlierItem(
        supplier_part_id=item.item_id.supplier_part_id,
        supplier_part_auxiliary_id=item.item_id.supplier_part_auxiliary_id,
        quantity=item.quantity,
        restored=restored,
    )


class SessionExpired(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id


class ShopUrlMissing(CXMLError):
    """Neither the partner nor the deployment (DEFAULT_SHOP_URL) names the shop: a supplier-side fault.

    A 500, which buyers retry: once the supplier configures a URL, the same request succeeds."""

    status = StatusCode.INTERNAL_SERVER_ERROR


def _check_readable(context: SessionContext) -> None:
    """Refuse a session the shop could not read: ``GET /shop/sessions/{id}`` answers it with its cart in
    one response, within Lambda's 6 MB, where a quote takes four bytes (escaped in the answer's JSON, and
    that again in Lambda's): 1.6 MB of quotes in an Extrinsic became 6.4 MB, a 502 at every read."""
    size = carried_size(context.model_dump_json())
    if size > MAX_RESPONSE_BYTES:
        raise InvalidDocument(
            "The session (the request's ItemOut lines, the cart they restore, its Contact and Extrinsic data) is"
            f" too large for the supplier's shop to read ({size:,} bytes as it would receive them; at most"
            f" {MAX_RESPONSE_BYTES:,})"
        )


def _shown_origin(parts: SplitResult) -> str:
    """Scheme, host and port of a buyer's URL for a refusal (answer and log): never its user info,
    which may hold a password (http://user:password@host/)."""
    try:
        port = parts.port
    except ValueError:  # out of range or not a number
        port = None
    user_info = "[user info]@" if "@" in parts.netloc else ""
    host = (parts.hostname or "")[:255]
    return f"{parts.scheme.lower()}://{user_info}{host}" + (f":{port}" if port is not None else "")


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
