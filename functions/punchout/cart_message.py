"""The returned cart: a ``PunchOutOrderMessage`` built from a frozen cart, and the page that posts it.

PROTOCOL.md section 4: ``BuyerCookie`` echoed unchanged, ``operationAllowed`` as configured, every
line with a Classification (the partner's default when the shop gave none), our reference to the
cart line in ``SupplierPartAuxiliaryID``, no credential secret anywhere in the document.
"""

from __future__ import annotations

import base64
import html
from urllib.parse import urlsplit

from .cxml.models import (
    Classification,
    Credential,
    Description,
    Header,
    ItemDetail,
    ItemID,
    ItemIn,
    MessageDocument,
    Money,
    PunchOutOrderMessage,
    PunchOutOrderMessageHeader,
    Shipping,
    Status,
    Tax,
)
from .http import content_security_policy, new_nonce
from .partners import TradingPartner
from .sessions import Cart, CartLine, Session, line_reference

USER_AGENT = "punchout-gateway"


class MissingClassification(ValueError):
    """A line has no classification and the partner has no default: the cart would be invalid."""


def _language(session: Session) -> str:
    return session.lang or "en-US"


def line_classification(line: CartLine, partner: TradingPartner) -> Classification:
    if line.classification is not None:
        return Classification(domain=line.classification.domain, value=line.classification.value)
    if partner.default_classification is not None:
        return Classification(domain=partner.default_classification.domain, value=partner.default_classification.value)
    raise MissingClassification(line.supplier_part_id)


def item_in(session: Session, partner: TradingPartner, currency: str, number: int, line: CartLine) -> ItemIn:
    lang = _language(session)
    return ItemIn(
        quantity=line.quantity,
        line_number=number,
        item_id=ItemID(
            supplier_part_id=line.supplier_part_id, supplier_part_auxiliary_id=line_reference(session.cart_ref, number)
        ),
        item_detail=ItemDetail(
            unit_price=Money(amount=line.unit_price, currency=currency),
            descriptions=[Description(text=line.description, lang=lang)],
            unit_of_measure=partner.unit_of_measure(line.unit_of_measure),
            classifications=[line_classification(line, partner)],
            manufacturer_part_id=line.manufacturer_part_id,
            manufacturer_name=line.manufacturer_name,
            url=line.url,
            lead_time=line.lead_time_days,
        ),
    )


def order_message(session: Session, partner: TradingPartner, cart: Cart | None, payload_domain: str) -> MessageDocument:
    """The cart as a document; ``cart=None`` (cancelled, or nothing chosen) is an empty cart."""
    from .cxml.writer import new_envelope  # see render_cart

    cart = cart or Cart()
    currency = partner.money_currency(cart.currency)
    lang = _language(session)
    supplier = [Credential(domain=c.domain, identity=c.identity) for c in session.supplier_credentials]
    buyer = [Credential(domain=c.domain, identity=c.identity) for c in session.buyer_credentials]
    return MessageDocument(
        envelope=new_envelope(payload_domain, lang),
        # From the supplier the buyer addressed, to the buyer; a Sender without any SharedSecret.
        header=Header(
            from_credentials=supplier,
            to_credentials=buyer,
            sender_credentials=supplier,
            user_agent=USER_AGENT,
        ),
        deployment_mode=session.deployment_mode,
        # PROTOCOL.md section 4: an empty cart alone on an edit means "remove the lines"; a cancel
        # says with Status 204 that the session ended without change.
        status=Status(code=204, text="No Content", message="The user cancelled the PunchOut session", lang=lang)
        if session.status == "cancelled"
        else None,
        message=PunchOutOrderMessage(
            buyer_cookie=session.buyer_cookie,
            buyer_cookie_markup=session.buyer_cookie_markup,
            header=PunchOutOrderMessageHeader(
                operation_allowed=partner.operation_allowed,
                total=Money(amount=cart.total, currency=currency),
                shipping=Shipping(
                    money=Money(amount=cart.shipping.amount, currency=currency),
                    description=Description(text=cart.shipping.description, lang=lang),
                )
                if cart.shipping
                else None,
                tax=Tax(
                    money=Money(amount=cart.tax.amount, currency=currency),
                    description=Description(text=cart.tax.description, lang=lang),
                )
                if cart.tax
                else None,
            ),
            items=[item_in(session, partner, currency, number, line) for number, line in enumerate(cart.lines, 1)],
        ),
    )


def form_value(document: bytes, partner: TradingPartner) -> str:
    """The hidden field's value: the XML itself (the browser form-encodes it) or its base64."""
    if partner.cart_encoding == "base64":
        return base64.b64encode(document).decode("ascii")
    return document.decode("utf-8")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _partner_sources(partner: TradingPartner) -> list[str]:
    """The partner's hosts as CSP sources: https, and http too for a partner allowed it."""
    sources = []
    for host in partner.browser_form_post_hosts:
        sources.append(f"https://{host}")
        if partner.allow_http:
            sources.append(f"http://{host}")
    return sources


def frame_ancestors(partner: TradingPartner) -> str:
    """PunchOut runs inside the buyer's iframe: allow the partner's hosts to frame us, nobody else."""
    return " ".join(_partner_sources(partner)) or "'none'"


def form_action(return_url: str, partner: TradingPartner) -> str:
    """Where the page's form may go: the return URL's origin, and the partner's hosts, to which the buyer's
    system may redirect the post (Chromium checks form-action on each redirect that follows it)."""
    return " ".join(dict.fromkeys([_origin(return_url), *_partner_sources(partner)]))


_RETURN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Returning your cart</title><style nonce="{nonce}">body{{font-family:system-ui,sans-serif;margin:3rem auto;
max-width:36rem;padding:0 1rem;color:#222}}button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><main><h1>Returning your cart to your procurement system</h1>
<form id="punchout-cart" method="post" action="{action}"{target} accept-charset="UTF-8">
<input type="hidden" name="{field}" value="{value}">
<p role="status">If nothing happens, press the button.</p>
<button type="submit">Return the cart</button>
</form></main>
<script nonce="{nonce}">(function () {{
var form = document.getElementById("punchout-cart");
form.submit();
// Posted: the button (and Enter) would post the same cart again while the buyer's answer is on its way.
form.querySelector("button").remove();
form.addEventListener("submit", function (event) {{ event.preventDefault(); }});
var target = (form.getAttribute("target") || "").toLowerCase();
if (!target || target === "_self" || target === "_top" || target === "_parent") {{
  form.querySelector("p").textContent = "Your cart was sent. Waiting for your procurement system to answer...";
  return;
}}
document.querySelector("h1").textContent = "Your cart was returned to your procurement system";
form.querySelector("p").textContent = "It was sent to the procurement system's window: you can close this one. "
  + "If it did not arrive there, start PunchOut again from your procurement system.";
}})();</script>
</body></html>
"""


def return_page(session: Session, partner: TradingPartner, document: bytes) -> tuple[str, dict[str, str]]:
    """The auto-posting page and its headers. URL, field name and payload are HTML-escaped.

    Without JavaScript the button posts the form. With it the form posts itself and the button goes, as it
    would post the same cart a second time: this page stays in view until the buyer answers (seconds, for a
    slow procurement system), and for good when the form targets another window (a ReturnFrame that names
    the buyer's window, the PunchOut in a popup or a frame beside it), where it then says where the cart
    went."""
    assert session.return_url is not None  # noqa: S101 - transfer refuses sessions without one
    nonce = new_nonce()
    target = f' target="{html.escape(session.return_frame, quote=True)}"' if session.return_frame else ""
    page = _RETURN_PAGE.format(
        nonce=nonce,
        action=html.escape(session.return_url, quote=True),
        target=target,
        field=html.escape(partner.cart_field_name, quote=True),
        value=html.escape(form_value(document, partner), quote=True),
    )
    policy = content_security_policy(
        nonce, form_action=form_action(session.return_url, partner), frame_ancestors=frame_ancestors(partner)
    )
    return page, {"Content-Security-Policy": policy}


def render_cart(session: Session, partner: TradingPartner, cart: Cart | None, payload_domain: str) -> bytes:
    # Imported here, not at the top: PUT cart uses this module too (line_classification) and never
    # needs the writer, nor lxml, which would lengthen its cold start.
    from .cxml.writer import render

    return render(order_message(session, partner, cart, payload_domain), session.cxml_version)
