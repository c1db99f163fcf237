"""The buyer simulator at `/_dev/buyer`: a procurement system on the developer's machine.

It plays the buyer's side of the round trip (PROTOCOL.md section 1) against the local gateway or a
deployed one: sends a `PunchOutSetupRequest` (create, edit, inspect) built with our cXML writer,
opens the StartPage (as a link, or inside an iframe of this page as many procurement systems do),
receives the returned cart at its own `BrowserFormPost` URL (`cxml-urlencoded` or `cxml-base64`, any
field-name case), reads it with the hardened reader and checks it against the DTD from
`CXML_SHARED_DIR`, then lets the developer play the approver and send an `OrderRequest` (new,
update, delete) built from the cart.

State lives in memory, per simulator session (a cookie, and the `sim` query parameter of the
BrowserFormPost URL, since the cart may arrive from another site where the cookie is not sent).
Everything it shows is HTML-escaped, and shared secrets are masked in the documents it displays.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final, get_args
from urllib.parse import quote, urlsplit

from infra.local.dev.buyer_cxml import (
    CXML_CONTENT_TYPE,
    CXML_VERSIONS,
    BuyerSettings,
    DtdCheck,
    Expectation,
    SentOrder,
    SetupOperation,
    check_dtd,
    decode_cart,
    item_out,
    mask_secrets,
    order_document,
    pretty,
    setup_document,
    status_of,
)
from infra.local.dev.html import Html, counted, join, render, scrolling
from infra.local.dev.seed import DemoPartner
from infra.local.dev.web import (
    HttpFailure,
    Pages,
    Reply,
    Request,
    html_reply,
    http_request,
    is_loopback,
    redirect,
)
from punchout.cxml import CXMLError, parse_xml, read_tree
from punchout.cxml.models import (
    DeploymentMode,
    ItemIn,
    ItemOut,
    MessageDocument,
    OrderType,
    PunchOutSetupResponse,
)

PREFIX: Final = "/_dev/buyer"
COOKIE: Final = "punchout_buyer_simulator"
MAX_SESSIONS: Final = 200  # a dev tool: the oldest simulator sessions are forgotten beyond this


# --- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the simulator shows it (secrets already masked)."""

    title: str
    url: str
    sent: str
    http_status: int | None
    received: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class SetupResult:
    operation: str
    buyer_cookie: str
    status: str  # "200 OK", or the failure
    start_url: str | None
    in_iframe: bool
    framed: bool = False  # the iframe was rendered once: the StartPage link is single use


@dataclass(frozen=True)
class ReceivedCart:
    at: datetime
    field_name: str
    encoding: str
    document_text: str  # as received (decoded), for display
    message: MessageDocument | None
    error: str | None
    dtd: DtdCheck
    expected: Expectation
    cookie_echoed: bool | None  # None: no setup request of this simulator session to compare with

    @property
    def items(self) -> list[ItemIn]:
        return self.message.message.items if self.message else []

    @property
    def currency(self) -> str:
        return self.message.message.header.total.currency if self.message else "USD"

    @property
    def meets_expectation(self) -> bool:
        return self.expected == "any" or self.field_name.lower() == self.expected


@dataclass(frozen=True)
class LineApproval:
    """One cart line as the approver last sent it: the text typed (shown again as it was) and the removal."""

    quantity: str
    price: str
    removed: bool


@dataclass(frozen=True)
class Approval:
    """The approval form as last sent, shown again instead of the cart's values: an update after a new,
    or a retry after a refusal, starts from the changes already made. A new cart starts afresh."""

    lines: dict[int, LineApproval]
    order_id: str  # typed for a new order; kept only while no order was accepted with it
    next_type: OrderType  # the type the form offers for the next OrderRequest


@dataclass
class SimulatorSession:
    id: str
    settings: BuyerSettings
    setup: SetupResult | None = None
    cart: ReceivedCart | None = None
    order: SentOrder | None = None  # the last accepted order: update/delete refer to it
    last_order_status: str | None = None
    last_order_gateway: str | None = None  # where the last OrderRequest went: its stack's demo shop lists it
    approval: Approval | None = None
    flash: str | None = None
    buyer_cookies: set[str] = field(default_factory=set)
    carts_received: int = 0
    exchanges: deque[Exchange] = field(default_factory=lambda: deque(maxlen=12))
    lock: threading.Lock = field(default_factory=threading.Lock)


# --- the simulator --------------------------------------------------------------------------------

_NAV = Html(
    '<strong>Buyer simulator</strong><a href="/_dev/buyer">Simulator</a><a href="/_dev/shop">Demo shop</a>'
    '<a href="/_dev/shop/orders">Orders received by the shop</a>'
)
# When this page shows inside the PunchOut iframe (the cart came back there), show it full-window.
_BREAK_OUT: Final = "if (window.top !== window.self) { window.top.location.replace(window.location.href); }"


class BuyerSimulator:
    def __init__(self, gateway_url: str, partners: list[DemoPartner]) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.partners = {partner.id: partner for partner in partners}
        self._sessions: OrderedDict[str, SimulatorSession] = OrderedDict()
        self._lock = threading.Lock()
        self.pages = Pages(PREFIX)
        self.pages.route("GET", "")(self.home)
        self.pages.route("POST", "/preset")(self.preset)
        self.pages.route("POST", "/setup")(self.send_setup)
        self.pages.route("POST", "/return")(self.receive_cart)
        self.pages.route("POST", "/order")(self.send_order)
        self.pages.route("POST", "/reset")(self.reset)

    # -- sessions ----------------------------------------------------------------------------------

    def default_settings(self, partner_id: str | None = None, mode: DeploymentMode = "production") -> BuyerSettings:
        partner = self.partners.get(partner_id or "") or next(iter(self.partners.values()), None)
        credential = partner.credentials.get(mode) if partner else None
        return BuyerSettings(
            gateway_url=self.gateway_url,
            partner_id=partner.id if partner else "",
            domain=credential.domain if credential else "NetworkID",
            identity=credential.identity if credential else "",
            secret=credential.secret if credential else "",
            mode=mode,
        )

    def _session(self, request: Request) -> tuple[SimulatorSession, bool]:
        """The simulator session of this browser (`sim` wins over the cookie), and whether it is new."""
        wanted = request.query.get("sim") or request.cookies.get(COOKIE) or ""
        with self._lock:
            found = self._sessions.get(wanted)
            if found is not None:
                self._sessions.move_to_end(wanted)
                return found, wanted != request.cookies.get(COOKIE)
            session = SimulatorSession(id=secrets.token_urlsafe(16), settings=self.default_settings())
            self._sessions[session.id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            return session, True

    @staticmethod
    def _cookie(session: SimulatorSession) -> list[tuple[str, str]]:
        return [("Set-Cookie", f"{COOKIE}={session.id}; Path={PREFIX}; HttpOnly; SameSite=Lax")]

    def _back(self, session: SimulatorSession, anchor: str = "", **query: str) -> Reply:
        extra = "".join(f"&{name}={quote(value)}" for name, value in query.items())
        return redirect(f"{PREFIX}?sim={quote(session.id)}{extra}{anchor}", headers=self._cookie(session))

    def _known_secrets(self, session: SimulatorSession) -> list[str]:
        found = [session.settings.secret]
        for partner in self.partners.values():
            found += [credential.secret for credential in partner.credentials.values()]
        return [secret for secret in found if secret]

    def _record(
        self, session: SimulatorSession, title: str, url: str, sent: bytes, status: int | None, received: bytes
    ) -> None:
        known = self._known_secrets(session)
        session.exchanges.appendleft(
            Exchange(
                title=title,
                url=url,
                sent=mask_secrets(pretty(sent), known),
                http_status=status,
                received=mask_secrets(pretty(received), known) if received else "",
            )
        )

    # -- actions -----------------------------------------------------------------------------------

    def reset(self, request: Request) -> Reply:
        request.form()
        with self._lock:
            session = SimulatorSession(id=secrets.token_urlsafe(16), settings=self.default_settings())
            self._sessions[session.id] = session
        return self._back(session)

    def preset(self, request: Request) -> Reply:
        session, _ = self._session(request)
        form = request.form()
        mode: DeploymentMode = "test" if form.get("mode") == "test" else "production"
        with session.lock:
            preset = self.default_settings(form.get("preset"), mode)
            session.settings = replace(
                self._settings_from(form, session.settings),
                partner_id=preset.partner_id,
                domain=preset.domain,
                identity=preset.identity,
                secret=preset.secret,
                mode=mode,
            )
            session.flash = f"Loaded the {preset.partner_id} {mode} credentials"
        return self._back(session)

    @staticmethod
    def _settings_from(form: dict[str, str], current: BuyerSettings) -> BuyerSettings:
        def text(name: str, default: str) -> str:
            return form[name].strip() if name in form else default

        operation = form.get("operation", current.operation)
        expect = form.get("expect", current.expect)
        version = text("cxml_version", current.cxml_version)
        return replace(
            current,
            gateway_url=text("gateway_url", current.gateway_url).rstrip("/"),
            partner_id=text("preset", current.partner_id),
            domain=text("domain", current.domain),
            identity=text("identity", current.identity),
            secret=form.get("secret", current.secret),
            mode="test" if form.get("mode", current.mode) == "test" else "production",
            cxml_version=version if version in CXML_VERSIONS else current.cxml_version,
            user_email=text("user_email", current.user_email),
            user_name=text("user_name", current.user_name),
            expect=expect if expect in get_args(Expectation) else "any",  # type: ignore[arg-type]
            operation=operation if operation in get_args(SetupOperation) else "create",  # type: ignore[arg-type]
            in_iframe=form.get("in_iframe") == "on",
        )

    def send_setup(self, request: Request) -> Reply:
        session, _ = self._session(request)
        form = request.form()
        with session.lock:
            settings = session.settings = self._settings_from(form, session.settings)
            items: list[ItemOut] = []
            if settings.operation != "create":
                if session.cart is None or not session.cart.items:
                    session.flash = f"{settings.operation} reopens the last returned cart, and there is none yet"
                    return self._back(session)
                items = [
                    item_out(item, line_number=number, quantity=item.quantity)
                    for number, item in enumerate(session.cart.items, 1)
                ]
            buyer_cookie = f"sim-{secrets.token_hex(8)}"
            return_url = f"{request.origin}{PREFIX}/return?sim={quote(session.id)}"
            url = f"{settings.gateway_url}/cxml/setup"
            try:
                document = setup_document(settings, settings.operation, buyer_cookie, return_url, items)
            except (CXMLError, ValueError) as error:
                session.flash = f"The PunchOutSetupRequest could not be built: {error}"
                return self._back(session)
            session.buyer_cookies.add(buyer_cookie)
            start_url: str | None = None
            try:
                answer = http_request("POST", url, body=document, headers={"Content-Type": CXML_CONTENT_TYPE})
            except HttpFailure as failure:
                self._record(session, "PunchOutSetupRequest", url, document, None, b"")
                status = f"no answer: {failure}"
            else:
                self._record(session, "PunchOutSetupRequest", url, document, answer.status, answer.body)
                status, response = status_of(answer.body)
                if response is not None and isinstance(response.response, PunchOutSetupResponse):
                    start_url = response.response.start_page_url
            session.setup = SetupResult(
                operation=settings.operation,
                buyer_cookie=buyer_cookie,
                status=status,
                start_url=start_url if start_url and urlsplit(start_url).scheme in ("http", "https") else None,
                in_iframe=settings.in_iframe,
            )
        return self._back(session, "#setup-result")

    def receive_cart(self, request: Request) -> Reply:
        """The BrowserFormPost endpoint: the shop's browser posts the PunchOutOrderMessage here."""
        session, _ = self._session(request)
        if request.content_type != "application/x-www-form-urlencoded":
            with session.lock:
                session.flash = f"A cart arrived as {request.content_type or 'no content type'}, not as a form"
            return self._back(session, "#cart")
        decoded = decode_cart(request.form_pairs())
        with session.lock:
            if isinstance(decoded, str):
                session.flash = decoded
                return self._back(session, "#cart")
            name, encoding, data = decoded
            message: MessageDocument | None = None
            error: str | None = None
            dtd = DtdCheck("unavailable", "Not checked: the document could not be parsed")
            try:
                root = parse_xml(data)
                dtd = check_dtd(root)
                document = read_tree(root)
                if isinstance(document, MessageDocument):
                    message = document
                else:
                    error = f"Expected a PunchOutOrderMessage, got a cXML {document.kind}"
            except CXMLError as refused:
                error = str(refused)
            cookie = message.message.buyer_cookie if message else None
            session.cart = ReceivedCart(
                at=datetime.now(UTC),
                field_name=name,
                encoding=encoding,
                document_text=mask_secrets(pretty(data), self._known_secrets(session)),
                message=message,
                error=error,
                dtd=dtd,
                expected=session.settings.expect,
                cookie_echoed=(cookie in session.buyer_cookies) if session.buyer_cookies else None,
            )
            session.last_order_status = None
            session.approval = None  # the form's line numbers are this cart's
            session.carts_received += 1
            # A URL of its own: when the cart arrives inside the iframe, the page breaks out to it, and a
            # URL that differed from the top page's only in its fragment would not reload that page.
            return self._back(session, "#cart", cart=str(session.carts_received))

    def send_order(self, request: Request) -> Reply:
        session, _ = self._session(request)
        form = request.form()
        with session.lock:
            order_type: OrderType = form.get("order_type", "new")  # type: ignore[assignment]
            if order_type not in ("new", "update", "delete"):
                order_type = "new"
            previous = session.order
            approval = session.approval = self._approval_from(session, form, order_type)
            if order_type != "new" and previous is None:
                session.flash = f"An OrderRequest of type {order_type} refers to an earlier order: send a new one first"
                return self._back(session, "#approval")
            if order_type == "delete":
                assert previous is not None  # noqa: S101 - checked above
                items = list(previous.items)
                currency = previous.currency
            else:
                built = self._approved_items(session, approval)
                if isinstance(built, str):
                    session.flash = built
                    return self._back(session, "#approval")
                items = built
                currency = session.cart.currency if session.cart else "USD"
            if previous is not None and order_type != "new":
                order_id, version = previous.order_id, previous.version + 1
            else:
                order_id = form.get("order_id", "").strip() or f"PO-{secrets.token_hex(4).upper()}"
                version = 1
            draft = SentOrder(order_id, order_type, version, "", tuple(items), currency, "", accepted=False)
            url = f"{session.settings.gateway_url}/cxml/order"
            try:
                document, payload_id = order_document(
                    session.settings, draft, previous.payload_id if previous and order_type != "new" else None
                )
            except (CXMLError, ValueError) as error:
                session.flash = f"The OrderRequest could not be built: {error}"
                return self._back(session, "#approval")
            session.last_order_gateway = session.settings.gateway_url
            try:
                answer = http_request("POST", url, body=document, headers={"Content-Type": CXML_CONTENT_TYPE})
            except HttpFailure as failure:
                self._record(session, f"OrderRequest ({order_type})", url, document, None, b"")
                session.last_order_status = f"no answer: {failure}"
                return self._back(session, "#order-result")
            self._record(session, f"OrderRequest ({order_type})", url, document, answer.status, answer.body)
            status, response = status_of(answer.body)
            accepted = response is not None and response.status.code == 200
            sent = replace(draft, payload_id=payload_id, status=status, accepted=accepted)
            session.last_order_status = f"Order {order_id} ({order_type}, version {version}): {status}"
            if accepted:
                session.order = sent
                # The next order of this one: an update (version + 1), or a new one after a delete.
                next_type: OrderType = "new" if order_type == "delete" else "update"
                session.approval = replace(approval, order_id="", next_type=next_type)
        return self._back(session, "#order-result")

    @staticmethod
    def _approval_from(session: SimulatorSession, form: dict[str, str], order_type: OrderType) -> Approval:
        """The approval form as posted, to show again; it offers the same type until an order is accepted."""
        lines: dict[int, LineApproval] = {}
        for number, item in enumerate(session.cart.items if session.cart else [], 1):
            lines[number] = LineApproval(
                quantity=form.get(f"quantity-{number}", str(item.quantity)).strip(),
                price=form.get(f"price-{number}", str(item.item_detail.unit_price.amount)).strip(),
                removed=form.get(f"remove-{number}") == "on",
            )
        next_type: OrderType = order_type if session.order is not None else "new"
        return Approval(lines=lines, order_id=form.get("order_id", "").strip(), next_type=next_type)

    @staticmethod
    def _approved_items(session: SimulatorSession, approval: Approval) -> list[ItemOut] | str:
        """The cart's lines as the approver left them: quantities and prices changed, lines removed."""
        if session.cart is None or not session.cart.items:
            return "There is no returned cart to order from"
        items: list[ItemOut] = []
        for number, item in enumerate(session.cart.items, 1):
            line = approval.lines[number]
            if line.removed:
                continue
            try:
                quantity = Decimal(line.quantity)
                price = Decimal(line.price)
            except InvalidOperation:
                return f"Line {number}: quantity and price must be numbers"
            if not quantity.is_finite() or not price.is_finite() or quantity <= 0 or price < 0:
                return f"Line {number}: the quantity must be above zero and the price not negative"
            items.append(item_out(item, line_number=len(items) + 1, quantity=quantity, unit_price=price))
        if not items:
            return "Every line was removed: an OrderRequest needs at least one line"
        return items

    # -- the page ----------------------------------------------------------------------------------

    def home(self, request: Request) -> Reply:
        session, new_cookie = self._session(request)
        with session.lock:
            flash, session.flash = session.flash, None
            show_frame = bool(
                session.setup and session.setup.start_url and session.setup.in_iframe and not session.setup.framed
            )
            body = join(
                [
                    render('<section class="notice" id="flash">{flash}</section>', flash=flash) if flash else Html(""),
                    self._settings_section(session),
                    self._setup_section(session),
                    self._cart_section(session),
                    self._order_section(session),
                    self._exchanges_section(session),
                ]
            )
            if show_frame and session.setup:
                session.setup.framed = True
        return html_reply(
            "Buyer simulator",
            body,
            nav=_NAV,
            script=_BREAK_OUT,
            # The StartPage redirects to the partner's shop, wherever that is (frame-src governs redirects).
            csp={"frame-src": "http: https:" if show_frame else "'none'"},
            headers=self._cookie(session) if new_cookie else None,
        )

    def _settings_section(self, session: SimulatorSession) -> Html:
        s = session.settings
        presets = join(
            [
                render(
                    '<option value="{id}"{selected}>{id} — {name} ({field})</option>',
                    id=p.id,
                    name=p.name,
                    field=p.field_name,
                    selected=Html(" selected") if p.id == s.partner_id else Html(""),
                )
                for p in self.partners.values()
            ]
        )

        def options(values: tuple[str, ...], current: str) -> Html:
            return join(
                [
                    render(
                        '<option value="{v}"{selected}>{v}</option>',
                        v=value,
                        selected=Html(" selected") if value == current else Html(""),
                    )
                    for value in values
                ]
            )

        cart_size = f"({counted(len(session.cart.items), 'line')})" if session.cart else "(none yet)"
        return render(
            """<section id="settings"><h1>PunchOutSetupRequest</h1>
<form method="post" action="/_dev/buyer/setup" id="setup-form">
<fieldset><legend>Trading partner</legend>
<label>Preset <select name="preset" id="preset">{presets}</select></label>
<label>deploymentMode <select name="mode" id="mode">{modes}</select></label>
<button type="submit" formaction="/_dev/buyer/preset" id="load-preset">Load the preset's credentials</button><br>
<label>Gateway URL <input type="url" name="gateway_url" id="gateway_url" size="40" value="{gateway}"></label><br>
<label>From/Sender domain <input type="text" name="domain" id="domain" value="{domain}"></label>
<label>identity <input type="text" name="identity" id="identity" value="{identity}"></label>
<label>SharedSecret <input type="password" name="secret" id="secret" value="{secret}" autocomplete="off"></label>
<label>cXML version <select name="cxml_version" id="cxml_version">{versions}</select></label>
</fieldset>
<fieldset><legend>User</legend>
<label>Email <input type="text" name="user_email" id="user_email" value="{email}"></label>
<label>Name <input type="text" name="user_name" id="user_name" value="{name}"></label>
</fieldset>
<fieldset><legend>Operation</legend>
<label>operation <select name="operation" id="operation">{operations}</select></label>
<span class="muted">edit and inspect reopen the last returned cart {cart_size}</span><br>
<label>Expect the cart in <select name="expect" id="expect">{expectations}</select></label>
<label><input type="checkbox" name="in_iframe" id="in_iframe"{iframe}> Open the StartPage inside an iframe
of this page</label>
</fieldset>
<button type="submit" id="send-setup">Send the PunchOutSetupRequest</button>
</form>
<form method="post" action="/_dev/buyer/reset"><button type="submit" id="reset">Start a new simulator session</button>
</form></section>""",
            presets=presets,
            modes=options(("production", "test"), s.mode),
            gateway=s.gateway_url,
            domain=s.domain,
            identity=s.identity,
            secret=s.secret,
            versions=options(CXML_VERSIONS, s.cxml_version),
            email=s.user_email,
            name=s.user_name,
            operations=options(("create", "edit", "inspect"), s.operation),
            cart_size=cart_size,
            expectations=options(("any", "cxml-urlencoded", "cxml-base64"), s.expect),
            iframe=Html(" checked") if s.in_iframe else Html(""),
        )

    @staticmethod
    def _setup_section(session: SimulatorSession) -> Html:
        setup = session.setup
        if setup is None:
            return Html("")
        start = Html("")
        if setup.start_url:
            start = render(
                '<p><a id="start-link" href="{url}">Open the StartPage</a> <span class="muted">(single use: '
                "{url})</span></p>",
                url=setup.start_url,
            )
            if setup.in_iframe and not setup.framed:
                start = render(
                    '{link}<iframe id="punchout-frame" name="punchout" title="PunchOut" src="{url}"></iframe>',
                    link=start,
                    url=setup.start_url,
                )
        return render(
            '<section id="setup-result"><h2>Setup answer</h2><p>{operation}: <strong id="setup-status">{status}'
            '</strong> <span class="muted">BuyerCookie {cookie}</span></p>{start}</section>',
            operation=setup.operation,
            status=setup.status,
            cookie=setup.buyer_cookie,
            start=start,
        )

    @staticmethod
    def _cart_section(session: SimulatorSession) -> Html:
        cart = session.cart
        if cart is None:
            return Html('<section id="cart"><h2>Returned cart</h2><p class="muted">No cart yet.</p></section>')
        ok, bad = "ok", "bad"
        checks = [
            render(
                '<li>Field <code id="cart-field">{name}</code>, encoding <code id="cart-encoding">{encoding}</code>: '
                '<span class="{cls}" id="cart-expectation">{verdict}</span></li>',
                name=cart.field_name,
                encoding=cart.encoding,
                cls=ok if cart.meets_expectation else bad,
                verdict="as expected" if cart.meets_expectation else f"expected {cart.expected}",
            ),
            render(
                '<li id="cart-dtd" data-state="{state}"><span class="{cls}">{message}</span>{errors}</li>',
                state=cart.dtd.state,
                cls=ok if cart.dtd.state == "valid" else bad if cart.dtd.state == "invalid" else "muted",
                message=cart.dtd.message,
                errors=render('<pre tabindex="0">{e}</pre>', e="\n".join(cart.dtd.errors))
                if cart.dtd.errors
                else Html(""),
            ),
        ]
        if cart.cookie_echoed is not None:
            checks.append(
                render(
                    '<li id="cart-cookie" class="{cls}">{text}</li>',
                    cls=ok if cart.cookie_echoed else bad,
                    text="BuyerCookie echoed unchanged"
                    if cart.cookie_echoed
                    else "BuyerCookie does not match any sent by this simulator session",
                )
            )
        if cart.error:
            checks.append(render('<li class="bad" id="cart-error">{error}</li>', error=cart.error))
        last_sent = session.approval
        rows = []
        for number, item in enumerate(cart.items, 1):
            detail = item.item_detail
            approved = last_sent.lines.get(number) if last_sent else None
            classification = ", ".join(f"{c.domain} {c.value}" for c in detail.classifications)
            rows.append(
                render(
                    '<tr data-line="{n}" data-sku="{sku}"><td>{n}</td><td>{sku}</td><td class="aux">{aux}</td>'
                    "<td>{description}</td><td>{uom}</td><td>{classification}</td>"
                    '<td><input class="narrow" type="text" name="quantity-{n}" value="{quantity}" '
                    'aria-label="quantity of line {n}"></td>'
                    '<td><input class="narrow" type="text" name="price-{n}" value="{price}" '
                    'aria-label="price of line {n}"> {currency}</td>'
                    '<td><label><input type="checkbox" name="remove-{n}"{removed}> remove'
                    '<span class="vh"> line {n}</span></label></td></tr>',
                    n=number,
                    sku=item.item_id.supplier_part_id,
                    aux=item.item_id.supplier_part_auxiliary_id or "",
                    description=detail.description,
                    uom=detail.unit_of_measure,
                    classification=classification,
                    quantity=approved.quantity if approved else item.quantity,
                    price=approved.price if approved else detail.unit_price.amount,
                    currency=detail.unit_price.currency,
                    removed=Html(" checked") if approved and approved.removed else Html(""),
                )
            )
        header = cart.message.message.header if cart.message else None
        summary = (
            render(
                '<p>{count}, total <strong id="cart-total">{total} {currency}</strong>; operationAllowed '
                '<code id="operation-allowed">{allowed}</code></p>',
                count=counted(len(cart.items), "line"),
                total=header.total.amount,
                currency=header.total.currency,
                allowed=header.operation_allowed or "(none)",
            )
            if header
            else Html("")
        )
        approval = (
            render(
                """<form method="post" action="/_dev/buyer/order" id="approval">
{lines}
<p>Approve as the buyer's approver (change quantities and prices, remove lines), then send the OrderRequest.</p>
<label>orderID <input type="text" name="order_id" id="order_id" placeholder="generated" value="{order_id}"></label>
<label>type <select name="order_type" id="order_type">{types}</select></label>{reference}
<button type="submit" id="send-order">Send the OrderRequest</button></form>""",
                lines=scrolling(
                    render(
                        """<table id="cart-lines"><thead><tr><th>#</th><th>SupplierPartID</th>
<th>SupplierPartAuxiliaryID</th><th>Description</th><th>UOM</th><th>Classification</th><th>Quantity</th>
<th>Unit price</th><th><span class="vh">Remove</span></th></tr></thead><tbody>{rows}</tbody></table>""",
                        rows=join(rows),
                    ),
                    "Returned cart lines",
                ),
                order_id=last_sent.order_id if last_sent else "",
                types=join(
                    [
                        render(
                            "<option{selected}>{type}</option>",
                            type=order_type,
                            selected=Html(" selected") if last_sent and last_sent.next_type == order_type else Html(""),
                        )
                        for order_type in get_args(OrderType)
                    ]
                ),
                reference=render(
                    ' <span class="muted" id="order-reference">an update or delete of order {id} is sent as version '
                    "{next}</span>",
                    id=session.order.order_id,
                    next=session.order.version + 1,
                )
                if session.order
                else Html(""),
            )
            if rows
            else Html('<p id="cart-empty" class="muted">The cart is empty: nothing chosen, or cancelled.</p>')
        )
        return render(
            '<section id="cart"><h2>Returned cart <span class="muted">received {at}</span></h2><ul>{checks}</ul>'
            "{summary}{approval}<details><summary>The PunchOutOrderMessage as received</summary>"
            '<pre id="cart-cxml" tabindex="0">{document}</pre></details></section>',
            at=cart.at.strftime("%H:%M:%S"),
            checks=join(checks),
            summary=summary,
            approval=approval,
            document=cart.document_text,
        )

    @staticmethod
    def _order_section(session: SimulatorSession) -> Html:
        if session.last_order_status is None:
            return Html("")
        gateway = session.last_order_gateway or ""
        parts = urlsplit(gateway)
        if is_loopback(gateway):
            # A local stack (this one or another, e.g. on another port) serves its demo shop at its root, also
            # when the gateway is addressed under its stage (/dev/cxml/...).
            shop = render(
                '<p><a id="shop-orders" href="{url}">See the orders the demo shop of {origin} received</a></p>',
                url=f"{parts.scheme}://{parts.netloc}/_dev/shop/orders",
                origin=f"{parts.scheme}://{parts.netloc}",
            )
        else:
            shop = render(
                '<p class="muted" id="shop-orders">{gateway} is not a local stack, so no demo shop lists this '
                "order: it reaches the shop that consumes that stack's order queue.</p>",
                gateway=gateway,
            )
        return render(
            '<section id="order-result"><h2>OrderRequest answer</h2><p id="order-status">{status}</p>{shop}</section>',
            status=session.last_order_status,
            shop=shop,
        )

    @staticmethod
    def _exchanges_section(session: SimulatorSession) -> Html:
        if not session.exchanges:
            return Html("")
        entries = [
            render(
                '<details class="exchange"{open}><summary>{at} {title} → {url}: HTTP {status}</summary>'
                '<h3>Sent</h3><pre tabindex="0">{sent}</pre>'
                '<h3>Received</h3><pre tabindex="0">{received}</pre></details>',
                open=Html(" open") if index == 0 else Html(""),
                at=exchange.at.strftime("%H:%M:%S"),
                title=exchange.title,
                url=exchange.url,
                status=exchange.http_status if exchange.http_status is not None else "no answer",
                sent=exchange.sent,
                received=exchange.received or "(nothing)",
            )
            for index, exchange in enumerate(session.exchanges)
        ]
        return render(
            '<section id="exchanges"><h2>cXML exchanged <span class="muted">(secrets masked)</span></h2>{entries}'
            "</section>",
            entries=join(entries),
        )
