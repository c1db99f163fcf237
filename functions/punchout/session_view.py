"""The shop's view of a session (``GET /shop/sessions/{id}``): built by the cart function, and measured by
setup, which refuses a session the shop could not read. Apart from punchout.sessions so that the order
function, which never shows a session, does not create these models at its cold start."""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

from datetime import datetime

from .cxml.models import Address, Contact, DeploymentMode, ItemID, SetupOperation
from .model import GatewayModel
from .partners import TradingPartner
from .sessions import BuyerUser, Cart, EarlierItem, Session, SessionStatus


class PartnerSummary(GatewayModel):
    id: str
    name: str


class SessionContext(GatewayModel):
    """``GET /shop/sessions/{id}``: what the shop needs to serve this buyer."""

    id: str
    partner: PartnerSummary
    operation: SetupOperation
    deployment_mode: DeploymentMode
    read_only: bool
    status: SessionStatus
    user: BuyerUser
    ship_to: Address | None
    contacts: list[Contact]
    extrinsics: dict[str, str]
    selected_item: ItemID | None  # SelectedItem: open the shop at this product
    items: list[EarlierItem]  # the request's ItemOut lines, and whether each restored an earlier cart line
    cart: Cart | None  # the current cart: for edit/inspect, restored from the earlier one
    currency: str
    expires_at: datetime


def session_context(session: Session, partner: TradingPartner, cart: Cart | None) -> SessionContext:
    """The shop's view of ``session`` and its current ``cart``."""
    return SessionContext(
        id=session.id,
        partner=PartnerSummary(id=partner.id, name=partner.name),
        operation=session.operation,
        deployment_mode=session.deployment_mode,
        read_only=session.read_only,
        status=session.status,
        user=session.user,
        ship_to=session.ship_to,
        contacts=session.contacts,
        extrinsics=session.extrinsics,
        selected_item=session.selected_item,
        items=session.earlier_items,
        cart=cart,
        currency=partner.money_currency(cart.currency if cart else None),
        expires_at=session.expires_at,
    )
