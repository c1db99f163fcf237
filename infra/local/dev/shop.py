"""The demo shop at `/_dev/shop`: a small catalogue that integrates exactly as a supplier's shop would.

It knows the gateway only through the shop API, over HTTP with its API key (never by importing the
gateway's code): `GET /shop/sessions/{id}` when the buyer's browser arrives with `?punchout_session=`,
`PUT /shop/sessions/{id}/cart` after each change, `POST /shop/sessions/{id}/transfer` at checkout (or
`{"cancel": true}`), then a redirect of the browser to the `return_url` it got back; a repeated checkout
of the session (a double click) is sent to that same `return_url`, as the browser follows only the last
answer and the gateway transfers a session once. Prices come from this server's catalogue, never from the
browser (PROTOCOL.md section 9).

It also consumes the order queue, as a shop's back office would (a thread polling SQS; a message with
`complete: false` is fetched in full from `GET /shop/orders/{message_id}`), and lists the orders with
what approval changed against the cart, at `/_dev/shop/orders`.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from infra.local.dev.html import Html, join, render, scrolling
from infra.local.dev.web import HttpAnswer, HttpFailure, Pages, Reply, Request, html_reply, http_request, redirect

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PREFIX: Final = "/_dev/shop"
MAX_REMEMBERED_CHECKOUTS: Final = 1000

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Product:
    sku: str
    description: str
    unit_price: Decimal
    unit_of_measure: str  # UN/CEFACT Rec. 20
    unspsc: str
    manufacturer_name: str
    manufacturer_part_id: str
    lead_time_days: int


# Non-ASCII and markup characters on purpose: they must survive both cart encodings and stay inert.
CATALOGUE: Final = (
    Product("PEN-BLU-12", "Ballpoint pens, blue, box of 12", Decimal("4.95"), "BX", "44121704", "Inkwell", "IW-B12", 2),
    Product(
        "PAPER-A4-500", "Copy paper A4 80 g/m², ream of 500", Decimal("6.49"), "RM", "14111507", "Papyra", "PA-80", 3
    ),
    Product("STAPLER-HD", "Heavy-duty stapler, 100 sheets", Decimal("24.90"), "EA", "44121615", "Clampco", "CL-100", 5),
    Product(
        "TONER-BK-26A", "Toner cartridge, black, 3100 pages", Decimal("89.00"), "EA", "44103103", "Inkwell", "IW-26A", 4
    ),
    Product(
        "NOTES-76-Y",
        "Sticky notes 76×76 mm, yellow, pack of 12",  # noqa: RUF001 - the multiplication sign is meant
        Decimal("7.20"),
        "PK",
        "14111514",
        "Papyra",
        "PN-76",
        2,
    ),
    Product(
        "TIES-200",
        'Cable ties 200 mm, "black" & <UV-resistant>',
        Decimal("3.15"),
        "PK",
        "39121702",
        "Clampco",
        "CT2",
        7,
    ),
)
PRODUCTS: Final = {product.sku: product for product in CATALOGUE}


class ShopApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ShopApiClient:
    """The shop API as a shop's server calls it: JSON over HTTP with the `x-api-key` header."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        headers = {"x-api-key": self.api_key, "Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            answer = http_request(method, self.base_url + path, body=body, headers=headers)
        except HttpFailure as failure:
            raise ShopApiError(502, str(failure)) from None
        if answer.status >= 400:
            raise ShopApiError(answer.status, _error_message(answer))
        return answer.json()

    def session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/shop/sessions/{quote(session_id, safe='')}")
        return result

    def put_cart(self, session_id: str, cart: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PUT", f"/shop/sessions/{quote(session_id, safe='')}/cart", cart)
        return result

    def transfer(self, session_id: str, *, cancel: bool) -> str:
        result = self._call("POST", f"/shop/sessions/{quote(session_id, safe='')}/transfer", {"cancel": cancel})
        return str(result["return_url"])

    def order(self, message_id: str) -> dict[str, Any]:
        """The complete order message: in one answer, or its lines page by page when too many for one."""
        path = f"/shop/orders/{quote(message_id, safe='')}"
        message: dict[str, Any] = self._call("GET", path)
        if message["complete"]:
            return message
        lines: list[Any] = []
        reconciled: list[Any] = []
        number = pages = 1
        while number <= pages:
            page = self._call("GET", f"{path}/pages/{number}")
            lines += page["lines"]
            reconciled += page["reconciliation"]["lines"]
            pages, number = page["pages"], number + 1
        reconciliation = {**page["reconciliation"], "lines": reconciled}
        return {**message, "complete": True, "lines": lines, "reconciliation": reconciliation}


def _error_message(answer: HttpAnswer) -> str:
    try:
        payload = answer.json()
        return str(payload.get("error", {}).get("message") or payload.get("message") or payload)
    except (ValueError, AttributeError):
        return answer.body[:300].decode("utf-8", "replace")


# --- orders from the queue ------------------------------------------------------------------------


class OrderInbox:
    """Orders received from the queue, newest first; a message seen twice is kept once (by message_id)."""

    def __init__(self) -> None:
        self._orders: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, message: dict[str, Any]) -> bool:
        with self._lock:
            if message["message_id"] in self._orders:
                return False
            self._orders[message["message_id"]] = message
            return True

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._orders.values()))


class OrderConsumer:
    """Polls the FIFO order queue in a thread; deletes a message only once it is safely in the inbox."""

    def __init__(self, sqs: SQSClient, queue_url: str, api: ShopApiClient, inbox: OrderInbox) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.api = api
        self.inbox = inbox
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-shop-orders", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                received = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
                )
            except Exception as error:  # the endpoint is going away, or a hiccup: try again shortly
                if not self._stopping.is_set():
                    logger.warning("demo shop: cannot read the order queue: %s", error)
                self._stopping.wait(2)
                continue
            for message in received.get("Messages", []):
                try:
                    self.accept(json.loads(message["Body"]))
                except Exception:
                    # Left in the queue: SQS redelivers it after the visibility timeout.
                    logger.exception("demo shop: order message %s not processed", message.get("MessageId"))
                    continue
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def accept(self, message: dict[str, Any]) -> None:
        if not message.get("complete", True):
            # A claim check: the order was too large for the queue.
            message = self.api.order(str(message["message_id"]))
        if self.inbox.add(message):
            logger.info(
                "demo shop: order %s (%s, version %s) received",
                message.get("order_id"),
                message.get("type"),
                message.get("order_version"),
            )


# --- pages ----------------------------------------------------------------------------------------

_NAV = Html(
    '<strong>Demo shop</strong><a href="/_dev/shop">Catalogue</a><a href="/_dev/shop/orders">Orders received</a>'
    '<a href="/_dev/buyer">Buyer simulator</a>'
)
# The checkout redirects the form's POST to the gateway's return URL, whose origin the page cannot
# know in advance (form-action also governs redirects), so form-action is left open. Shops run inside
# the buyer's iframe: any ancestor may frame this local page.
_CSP: Final = {"form-action": "", "frame-ancestors": "*"}


def _money(amount: Decimal | str | None, currency: str | None = None) -> str:
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    cents = value.quantize(Decimal("0.01"))
    shown = cents if cents == value else value.normalize()
    return f"{shown} {currency}" if currency else str(shown)


def _page(title: str, body: Html, *, status: int = 200) -> Reply:
    return html_reply(title, body, status=status, nav=_NAV, csp=_CSP)


def _problem(title: str, message: str, session_id: str | None = None, status: int = 409) -> Reply:
    back = (
        render('<p><a href="/_dev/shop?punchout_session={id}">Back to the shop</a></p>', id=session_id)
        if session_id
        else Html("")
    )
    return _page(
        title,
        render(
            '<section class="error" id="shop-error"><h1>{title}</h1><p>{message}</p>{back}</section>',
            title=title,
            message=message,
            back=back,
        ),
        status=status,
    )


def _refused(title: str, error: ShopApiError, session_id: str) -> Reply:
    """The page for a shop API refusal; a session the gateway no longer knows (404: it expired, or never was)
    cannot be shopped in again, so the user is sent back to the procurement system, not to the shop."""
    if error.status == 404:
        return _problem(
            "This PunchOut session has ended",
            "It expired, or is not known. Start PunchOut again from your procurement system.",
            status=404,
        )
    return _problem(title, error.message, session_id, status=error.status)


def _buyer_name(context: dict[str, Any]) -> str:
    user = context.get("user") or {}
    return str(user.get("name") or user.get("email") or user.get("unique_name") or "an unnamed buyer")


def _cart_lines(context: dict[str, Any]) -> list[dict[str, Any]]:
    cart = context.get("cart") or {}
    return list(cart.get("lines") or [])


def _catalogue_rows(session_id: str | None, can_edit: bool) -> Html:
    rows = []
    for product in CATALOGUE:
        action = (
            render(
                '<form method="post" action="/_dev/shop/cart/add">'
                '<input type="hidden" name="punchout_session" value="{session}">'
                '<input type="hidden" name="sku" value="{sku}">'
                '<input class="narrow" type="text" name="quantity" value="1" aria-label="quantity of {sku}">'
                '<button type="submit" data-add="{sku}" aria-label="Add {sku} to the cart">Add</button></form>',
                session=session_id,
                sku=product.sku,
            )
            if session_id and can_edit
            else Html("")
        )
        rows.append(
            render(
                '<tr data-sku="{sku}"><td>{sku}</td><td>{description}</td><td>{uom}</td><td>{unspsc}</td>'
                '<td class="num">{price}</td><td>{action}</td></tr>',
                sku=product.sku,
                description=product.description,
                uom=product.unit_of_measure,
                unspsc=product.unspsc,
                price=_money(product.unit_price, "USD"),
                action=action,
            )
        )
    table = render(
        "<table><thead><tr><th>Part</th><th>Description</th><th>UOM</th><th>UNSPSC</th>"
        '<th class="num">Price</th><th><span class="vh">Add to the cart</span></th></tr></thead><tbody>{rows}</tbody>'
        "</table>",
        rows=join(rows),
    )
    return render('<section id="catalogue"><h2>Catalogue</h2>{table}</section>', table=scrolling(table, "Catalogue"))


def _cart_section(session_id: str, context: dict[str, Any], can_edit: bool) -> Html:
    lines = _cart_lines(context)
    currency = (context.get("cart") or {}).get("currency") or context.get("currency") or ""
    rows = []
    total = Decimal(0)
    for number, line in enumerate(lines, 1):
        amount = Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"]))
        total += amount
        remove = (
            render(
                '<form method="post" action="/_dev/shop/cart/remove">'
                '<input type="hidden" name="punchout_session" value="{session}">'
                '<input type="hidden" name="line" value="{number}">'
                '<button type="submit" data-remove="{number}" aria-label="Remove line {number}">Remove</button></form>',
                session=session_id,
                number=number,
            )
            if can_edit
            else Html("")
        )
        rows.append(
            render(
                '<tr data-line="{number}" data-sku="{sku}"><td>{number}</td><td>{sku}</td><td>{description}</td>'
                '<td class="num" data-field="quantity">{quantity}</td><td>{uom}</td><td class="num">{price}</td>'
                '<td class="num">{amount}</td><td>{remove}</td></tr>',
                number=number,
                sku=line["supplier_part_id"],
                description=line["description"],
                quantity=line["quantity"],
                uom=line.get("unit_of_measure") or "",
                price=_money(line["unit_price"]),
                amount=_money(amount),
                remove=remove,
            )
        )
    table = (
        scrolling(
            render(
                '<table id="cart-lines"><thead><tr><th>#</th><th>Part</th><th>Description</th><th class="num">Qty</th>'
                '<th>UOM</th><th class="num">Unit price</th><th class="num">Amount</th>'
                '<th><span class="vh">Remove</span></th></tr></thead><tbody>{rows}</tbody><tfoot><tr>'
                '<th colspan="6">Total</th><td class="num" id="cart-total">{total}</td><td></td></tr></tfoot></table>',
                rows=join(rows),
                total=_money(total, currency),
            ),
            "Cart",
        )
        if lines
        else Html('<p id="cart-empty" class="muted">The cart is empty.</p>')
    )
    if context.get("status") != "open":
        buttons = render(
            '<p class="notice">This session\'s cart was already {status}.</p>', status=context.get("status")
        )
    elif context.get("read_only"):
        buttons = render(
            '<form method="post" action="/_dev/shop/checkout"><input type="hidden" name="punchout_session" '
            'value="{session}"><button type="submit" name="action" value="transfer" id="checkout">'
            "Back to the procurement system</button></form>",
            session=session_id,
        )
    else:
        buttons = render(
            '<form method="post" action="/_dev/shop/checkout"><input type="hidden" name="punchout_session" '
            'value="{session}"><button type="submit" name="action" value="transfer" id="checkout">'
            'Transfer the cart to the procurement system</button><button type="submit" name="action" '
            'value="cancel" id="cancel">Cancel and return an empty cart</button></form>',
            session=session_id,
        )
    return render('<section id="cart"><h2>Cart</h2>{table}{buttons}</section>', table=table, buttons=buttons)


class DemoShop:
    def __init__(self, api: ShopApiClient, inbox: OrderInbox) -> None:
        self.api = api
        self.inbox = inbox
        # The return link each session's checkout got, for a repeated checkout (the latest sessions only).
        self.return_urls: dict[str, str] = {}
        self.checkout_lock = threading.Lock()
        self.pages = Pages(PREFIX)
        self.pages.route("GET", "")(self.home)
        self.pages.route("POST", "/cart/add")(self.add)
        self.pages.route("POST", "/cart/remove")(self.remove)
        self.pages.route("POST", "/checkout")(self.checkout)
        self.pages.route("GET", "/orders")(self.orders)

    # -- shopping ----------------------------------------------------------------------------------

    def home(self, request: Request) -> Reply:
        session_id = request.query.get("punchout_session")
        if not session_id:
            intro = Html(
                "<section><h1>Demo shop</h1><p>Open this shop through PunchOut from the "
                '<a href="/_dev/buyer">buyer simulator</a>: the procurement system\'s StartPage brings you here '
                "with a session, and the cart goes back to it.</p></section>"
            )
            return _page("Demo shop", join([intro, _catalogue_rows(None, can_edit=False)]))
        try:
            context = self.api.session(session_id)
        except ShopApiError as error:
            return _problem("This PunchOut session cannot be opened", error.message, status=error.status)
        read_only = bool(context.get("read_only"))
        can_edit = not read_only and context.get("status") == "open"
        heading = render(
            '<section id="shop-session"><h1>Welcome, <span id="buyer-name">{name}</span></h1>'
            '<p>Shopping for <strong id="partner-name">{partner}</strong> ({mode}); operation '
            '<strong id="operation">{operation}</strong>{read_only}.</p></section>',
            name=_buyer_name(context),
            partner=(context.get("partner") or {}).get("name"),
            mode=context.get("deployment_mode"),
            operation=context.get("operation"),
            read_only=Html(' — <strong id="read-only">read-only</strong>') if read_only else Html(""),
        )
        body = join([heading, _cart_section(session_id, context, can_edit), _catalogue_rows(session_id, can_edit)])
        return _page("Demo shop", body)

    def _change_cart(self, request: Request, change: Any) -> Reply:
        form = request.form()
        session_id = form.get("punchout_session", "")
        try:
            context = self.api.session(session_id)
            lines = _cart_lines(context)
            problem = change(form, lines)
            if problem:
                return _problem("The cart was not changed", problem, session_id, status=400)
            cart = context.get("cart") or {}
            self.api.put_cart(
                session_id,
                {
                    "currency": cart.get("currency") or context.get("currency"),
                    "lines": lines,
                    **{name: cart[name] for name in ("shipping", "tax", "comments") if cart.get(name) is not None},
                },
            )
        except ShopApiError as error:
            return _refused("The cart was not changed", error, session_id)
        return redirect(f"{PREFIX}?punchout_session={quote(session_id, safe='')}")

    def add(self, request: Request) -> Reply:
        def add_line(form: dict[str, str], lines: list[dict[str, Any]]) -> str | None:
            product = PRODUCTS.get(form.get("sku", ""))
            if product is None:
                return "No such product"
            try:
                quantity = Decimal(form.get("quantity", "1").strip())
            except InvalidOperation:
                return "The quantity is not a number"
            if not quantity.is_finite() or quantity <= 0:
                return "The quantity must be above zero"
            for line in lines:
                if line["supplier_part_id"] == product.sku:
                    line["quantity"] = str(Decimal(str(line["quantity"])) + quantity)
                    return None
            lines.append(
                {
                    "supplier_part_id": product.sku,
                    "quantity": str(quantity),
                    "unit_price": str(product.unit_price),  # from the catalogue, never from the form
                    "currency": "USD",
                    "description": product.description,
                    "unit_of_measure": product.unit_of_measure,
                    "classification": {"domain": "UNSPSC", "value": product.unspsc},
                    "manufacturer_name": product.manufacturer_name,
                    "manufacturer_part_id": product.manufacturer_part_id,
                    "lead_time_days": product.lead_time_days,
                }
            )
            return None

        return self._change_cart(request, add_line)

    def remove(self, request: Request) -> Reply:
        def remove_line(form: dict[str, str], lines: list[dict[str, Any]]) -> str | None:
            number = form.get("line", "")
            if not number.isdigit() or not 1 <= int(number) <= len(lines):
                return "No such cart line"
            del lines[int(number) - 1]
            return None

        return self._change_cart(request, remove_line)

    def checkout(self, request: Request) -> Reply:
        form = request.form()
        session_id = form.get("punchout_session", "")
        # One checkout at a time: a double click sends a second one while the first is under way, and the
        # browser follows only the second's answer. The gateway transfers a session once (a second transfer is
        # 409), so the second is sent to the return link the first got; that link is still unused, its page
        # having never been reached. (Once it was, the gateway's page says the cart was already returned.)
        with self.checkout_lock:
            return_url = self.return_urls.get(session_id)
            if return_url is None:
                try:
                    return_url = self.api.transfer(session_id, cancel=form.get("action") == "cancel")
                except ShopApiError as error:
                    return _refused("The cart could not be returned", error, session_id)
                self.return_urls[session_id] = return_url
                while len(self.return_urls) > MAX_REMEMBERED_CHECKOUTS:
                    del self.return_urls[next(iter(self.return_urls))]
        # The browser carries the cart back: the gateway's one-time page auto-posts it to the buyer.
        return redirect(return_url)

    # -- orders ------------------------------------------------------------------------------------

    def orders(self, request: Request) -> Reply:
        sections = [_order_section(order) for order in self.inbox.all()]
        body = render(
            '<section><h1>Orders received</h1><p class="muted">From the order queue, newest first. Each line '
            "is matched to the cart it came from (SupplierPartID + SupplierPartAuxiliaryID) and says what "
            'approval changed.</p><p><a href="/_dev/shop/orders" id="refresh">Refresh</a></p></section>{orders}',
            orders=join(sections) if sections else Html('<section id="no-orders"><p>No orders yet.</p></section>'),
        )
        return _page("Orders received", body)


def _order_section(order: dict[str, Any]) -> Html:
    total = order.get("total") or {}
    reconciliation = order.get("reconciliation") or {}
    rows = []
    for line in reconciliation.get("lines") or []:
        cart, ordered = line.get("cart") or {}, line.get("order") or {}
        rows.append(
            render(
                '<tr data-status="{status}" data-sku="{sku}"><td class="status">{status}</td><td>{sku}</td>'
                '<td>{aux}</td><td>{cart_line}</td><td>{order_line}</td><td class="num">{cart_quantity}</td>'
                '<td class="num">{order_quantity}</td><td class="num">{cart_price}</td>'
                '<td class="num">{order_price}</td></tr>',
                status=line.get("status"),
                sku=line.get("supplier_part_id"),
                aux=line.get("supplier_part_auxiliary_id") or "",
                cart_line=line.get("cart_line_number") or "",
                order_line=line.get("order_line_number") or "",
                cart_quantity=cart.get("quantity", ""),
                order_quantity=ordered.get("quantity", ""),
                cart_price=_money(cart.get("unit_price"), cart.get("currency")),
                order_price=_money(ordered.get("unit_price"), ordered.get("currency")),
            )
        )
    return render(
        '<section class="order" data-order-id="{order_id}" data-type="{type}" data-version="{version}">'
        '<h2>Order {order_id} <span class="muted">({type}, version {version})</span></h2>'
        "<p>From <strong>{partner}</strong> ({mode}); total {total}; received {received}; "
        "{from_punchout}</p>{lines}</section>",
        order_id=order.get("order_id"),
        type=order.get("type"),
        version=order.get("order_version"),
        partner=(order.get("partner") or {}).get("name"),
        mode=order.get("deployment_mode"),
        total=_money(total.get("amount"), total.get("currency")),
        received=order.get("received_at"),
        from_punchout="from a PunchOut cart" if reconciliation.get("from_punchout") else "not from a PunchOut cart",
        lines=scrolling(
            render(
                "<table><thead><tr><th>Reconciliation</th><th>Part</th><th>Auxiliary ID</th>"
                '<th>Cart line</th><th>Order line</th><th class="num">Cart qty</th><th class="num">Order qty</th>'
                '<th class="num">Cart price</th><th class="num">Order price</th></tr></thead><tbody>{rows}</tbody>'
                "</table>",
                rows=join(rows),
            ),
            f"Lines of order {order.get('order_id')}",
        ),
    )
