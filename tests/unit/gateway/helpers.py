"""Calling the handlers the way API Gateway does, and reading their answers."""

from __future__ import annotations

import base64
import contextlib
import gzip
import importlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html
import pytest
from lxml import etree

from punchout import cli
from punchout.cxml import new_envelope, render
from punchout.cxml.models import (
    Contact,
    Credential,
    Extrinsic,
    Header,
    ItemID,
    ItemOut,
    PunchOutSetupRequest,
    RequestDocument,
    ResponseDocument,
    ShipTo,
)
from punchout.partners import TradingPartner
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.partners import PartnerRepository
from punchout.store.queue import sqs_client
from tests.support import builders
from tests.support.contract import (
    CXML_ROUTES,
    assert_documented,
    assert_request_documented,
    cxml_answer,
    punchout_order_message,
)
from tests.support.dynamodb import as_dynamodb
from tests.support.events import (
    DEFAULT_SOURCE_IP,
    LambdaContext,
    api_event,
    assert_fits_lambda,
    response_body,
    response_header,
)
from tests.support.iam import only_granted
from tests.support.leaks import assert_answer_keeps_secrets, assert_no_secret, remember_sent, secrets_kept
from tests.support.round_trip import FUNCTIONS

ROUTES = {
    "/cxml/setup": "/cxml/setup",
    "/cxml/profile": "/cxml/profile",
    "/punchout/start/": "/punchout/start/{token}",
    "/punchout/return/": "/punchout/return/{token}",
    "/shop/openapi.json": "/shop/openapi.json",
    "/shop/orders/": "/shop/orders/{id}",
}
BASE_URL = "https://gateway.example.com"  # the Host header of api_event, without a stage (custom domain)
# The default return address registered for partners whose requests carry no BrowserFormPost.
DEFAULT_RETURN_URL = "https://buyer.example.com/carts/inbox"


def _resource(path: str) -> str:
    if path.startswith("/shop/sessions/"):
        rest = path.removeprefix("/shop/sessions/")
        if rest.endswith("/cart"):
            return "/shop/sessions/{id}/cart"
        if rest.endswith("/transfer"):
            return "/shop/sessions/{id}/transfer"
        return "/shop/sessions/{id}"
    if path.startswith("/shop/orders/") and "/attachments/" in path:
        return "/shop/orders/{id}/attachments/{index}"
    for prefix, resource in ROUTES.items():
        if path.startswith(prefix):
            return resource
    return path


def call(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    *,
    binary: bool = False,
    source_ip: str = DEFAULT_SOURCE_IP,
) -> dict[str, Any]:
    """Invoke the function that template.yaml routes ``path`` to, called from ``source_ip``."""
    if path.startswith(("/cxml/setup", "/cxml/profile", "/punchout/start/")):
        function = "SetupRequestFunction"
    elif path.startswith(("/cxml/order", "/shop/orders/")):
        function = "OrderRequestFunction"
    else:
        function = "OrderMessageFunction"
    event = api_event(
        method, path, resource=_resource(path), body=body, headers=headers, binary=binary, source_ip=source_ip
    )
    return invoke(function, event)


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run ``function``'s handler (its template logical id) on ``event``, its table and queue calls failing
    as in AWS when its policies do not grant them (moto enforces no IAM) or DynamoDB would refuse them
    (``tests.support.dynamodb``: moto takes over-long keys in reads); its answer must be one Lambda
    can return and, by route, a cXML answer or one the published OpenAPI document describes (and no 422
    to a body the document accepts). No secret the tests have sent may come out of it (``leaks``)."""
    handler = importlib.import_module(FUNCTIONS[function]).lambda_handler
    remember_sent(event)
    dynamodb, sqs = dynamodb_client(), sqs_client()
    with (
        only_granted(dynamodb, function),
        only_granted(sqs, function),
        as_dynamodb(dynamodb),
        secrets_kept(dynamodb, sqs),
    ):
        response: dict[str, Any] = handler(event, LambdaContext())
    assert_fits_lambda(response)
    assert_answer_keeps_secrets(response)
    if event.get("httpMethod") == "POST" and event["path"] in CXML_ROUTES:
        cxml(response)
    elif event.get("httpMethod"):
        assert_documented(event["httpMethod"], event["path"], response)
        assert_request_documented(event["httpMethod"], event["path"], event.get("body"), response)
    return response


def cxml(response: dict[str, Any]) -> ResponseDocument:
    """The cXML answer, checked as every answer to a cXML POST is (``cxml_answer``)."""
    return cxml_answer(response["statusCode"], response_header(response, "Content-Type") or "", response_body(response))


def published_metrics(stdout: str) -> set[str]:
    """The names of the metrics a handler published: Powertools prints them to stdout (CloudWatch's
    embedded metric format), one JSON object with an ``_aws`` key per flush."""
    names: set[str] = set()
    for line_ in stdout.splitlines():
        record = json.loads(line_) if line_.startswith('{"_aws"') else {}
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def body_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# --- partners and keys ----------------------------------------------------------------------------


def register(table: Table, **changes: Any) -> TradingPartner:
    return PartnerRepository(table).create(builders.partner(**changes))


def stored_partner(table: Table, partner_id: str = "acme") -> TradingPartner:
    partner = PartnerRepository(table).get(partner_id)
    assert partner is not None
    return partner


def shop_key(table: Table) -> dict[str, str]:
    _, raw = ApiKeyRepository(table).create("test shop")
    return {"x-api-key": raw, "Content-Type": "application/json"}


# --- cXML requests --------------------------------------------------------------------------------


def setup_document(
    operation: str = "create",
    *,
    browser_form_post: str | None = builders.RETURN_URL,
    items: list[ItemOut] | None = None,
    mode: str = "production",
    buyer_cookie: str = "  cookie-1234 <&> ",
    extrinsics: list[Extrinsic] | None = None,
    contacts: list[Contact] | None = None,
    ship_to: ShipTo | None = None,
    selected_item: ItemID | None = None,
    header: Header | None = None,
    version: str = "1.2.069",
    lang: str = "en-US",
) -> bytes:
    """A PunchOutSetupRequest with everything the builder's fixed one keeps fixed made adjustable."""
    document = RequestDocument(
        envelope=new_envelope("buyer.example.com", lang),
        header=header or builders.header(),
        deployment_mode=mode,  # type: ignore[arg-type]
        request=PunchOutSetupRequest(
            operation=operation,  # type: ignore[arg-type]
            buyer_cookie=buyer_cookie,
            extrinsics=[
                Extrinsic(name="UserEmail", value="jane.buyer@acme.example"),
                Extrinsic(name="UniqueName", value="jbuyer"),
                Extrinsic(name="CostCenter", value="CC-100"),
            ]
            if extrinsics is None
            else extrinsics,
            browser_form_post=browser_form_post,
            contacts=[Contact(role="endUser", name="Jane Buyer", emails=["jane.buyer@acme.example"])]
            if contacts is None
            else contacts,
            ship_to=builders.ship_to() if ship_to is None else ship_to,
            selected_item=selected_item,
            items=items or [],
        ),
    )
    return render(document, version)


def ariba_header(sender_identity: str = "sysadmin@ariba.com", secret: str | None = builders.SECRET) -> Header:
    """As the Ariba Network sends: From the buyer's AN id, Sender the network itself with the secret."""
    return Header(
        from_credentials=[Credential(domain=builders.BUYER_DOMAIN, identity=builders.BUYER_IDENTITY)],
        to_credentials=[builders.SUPPLIER],
        sender_credentials=[
            Credential(domain="AribaNetworkUserId", identity=sender_identity, shared_secret=secret)  # type: ignore[arg-type]
        ],
        user_agent="Ariba Network V1.1",
    )


def without(document: bytes, xpath: str) -> bytes:
    """``document`` with the elements ``xpath`` selects removed (shapes our writer would never produce)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(document, parser)
    found: Any = root.xpath(xpath)
    for element in found:
        element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def post_setup(body: bytes, *, source_ip: str = DEFAULT_SOURCE_IP) -> ResponseDocument:
    return cxml(call("POST", "/cxml/setup", body, source_ip=source_ip))


def start_token(answer: ResponseDocument) -> str:
    assert answer.status.code == 200, answer.status
    url: str = answer.response.start_page_url  # type: ignore[union-attr]
    assert url.startswith(f"{BASE_URL}/punchout/start/"), url
    return url.rsplit("/", 1)[1]


def session_from_start(token: str) -> str:
    start = call("GET", f"/punchout/start/{token}")
    assert start["statusCode"] == 303, start
    location = response_header(start, "Location") or ""
    match = re.search(r"[?&]punchout_session=([^&]+)", location)
    assert match, location
    return match.group(1)


def open_session(operation: str = "create", **changes: Any) -> tuple[str, str]:
    """Setup → StartPage → start link: (session id, start token)."""
    token = start_token(post_setup(builders.setup_request(operation, **changes)))
    return session_from_start(token), token


def open_session_with(body: bytes) -> str:
    """The session id that ``body`` (a PunchOutSetupRequest) opens, through its start link."""
    return session_from_start(start_token(post_setup(body)))


def item_outs(document: bytes) -> list[ItemOut]:
    """The returned cart's lines as the buyer sends them back in an edit."""
    return [
        builders.item_out(
            item.xpath("string(ItemID/SupplierPartID)"),
            item.get("quantity"),
            auxiliary=item.xpath("string(ItemID/SupplierPartAuxiliaryID)"),
            line=number,
        )
        for number, item in enumerate(message_tree(document).xpath("//ItemIn"), 1)
    ]


def limit_at_measured_size(monkeypatch: Any, service: Any, over: int) -> None:
    """Make ``service``'s response limit, as it measures an answer (``carried_size``), that answer's size less
    ``over`` bytes: the edge of its check."""
    from punchout.http import carried_size

    def at_limit(body: str) -> int:
        size = carried_size(body)
        monkeypatch.setattr(service, "MAX_RESPONSE_BYTES", size - over)
        return size

    monkeypatch.setattr(service, "carried_size", at_limit)


# --- the shop -------------------------------------------------------------------------------------


def line(part: str = "P1", quantity: str = "1", price: str = "1.00", **fields: Any) -> dict[str, Any]:
    return {
        "supplier_part_id": part,
        "quantity": quantity,
        "unit_price": price,
        "description": fields.pop("description", f"Part {part}"),
        **fields,
    }


@dataclass
class Shop:
    """The supplier's shop talking to the API about one session."""

    headers: dict[str, str]
    session_id: str

    def get(self) -> dict[str, Any]:
        return call("GET", f"/shop/sessions/{self.session_id}", headers=self.headers)

    def context(self) -> Any:
        response = self.get()
        assert response["statusCode"] == 200, response
        return body_json(response)

    def put(self, cart: dict[str, Any] | str) -> dict[str, Any]:
        body = cart if isinstance(cart, str) else json.dumps(cart)
        return call("PUT", f"/shop/sessions/{self.session_id}/cart", body, self.headers)

    def put_lines(self, *lines: dict[str, Any], **cart: Any) -> dict[str, Any]:
        response = self.put({"lines": list(lines), **cart})
        assert response["statusCode"] == 200, response
        return response

    def transfer(self, *, cancel: bool = False) -> dict[str, Any]:
        body = json.dumps({"cancel": True}) if cancel else ""
        return call("POST", f"/shop/sessions/{self.session_id}/transfer", body, self.headers)

    def return_url(self, *, cancel: bool = False) -> str:
        response = self.transfer(cancel=cancel)
        assert response["statusCode"] == 200, response
        url: str = body_json(response)["return_url"]
        return url

    def checkout(self, *lines: dict[str, Any], **cart: Any) -> dict[str, Any]:
        """PUT the cart, transfer it and follow the return link: the auto-post page's response."""
        if lines or cart:
            self.put_lines(*lines, **cart)
        page = follow(self.return_url())
        assert page["statusCode"] == 200, page
        return page


def follow(url: str) -> dict[str, Any]:
    assert url.startswith(BASE_URL), url
    return call("GET", url.removeprefix(BASE_URL))


# --- the return page ------------------------------------------------------------------------------


@dataclass
class ReturnPage:
    html: str
    csp: str
    tree: Any  # lxml.html element

    @classmethod
    def of(cls, response: dict[str, Any]) -> ReturnPage:
        assert response["statusCode"] == 200, response
        assert (response_header(response, "Content-Type") or "").startswith("text/html"), response
        return cls(
            html=response["body"],
            csp=response_header(response, "Content-Security-Policy") or "",
            tree=lxml.html.document_fromstring(response["body"]),
        )

    @property
    def form(self) -> Any:
        forms = self.tree.xpath("//form")
        assert len(forms) == 1, self.html[:2000]
        return forms[0]

    @property
    def field(self) -> Any:
        fields = self.form.xpath(".//input[@type='hidden']")
        assert len(fields) == 1, self.html[:2000]
        return fields[0]

    def document(self, partner: TradingPartner) -> bytes:
        """The posted cXML bytes, decoded the way the partner's field encoding says, and checked to be
        valid cXML (``punchout_order_message``) holding no secret sent (base64 hid it from ``invoke``)."""
        assert self.field.get("name") == partner.cart_field_name
        value: str = self.field.get("value")
        document = base64.b64decode(value, validate=True) if partner.cart_encoding == "base64" else value.encode()
        punchout_order_message(document)
        assert_no_secret("the cart posted to the buyer", document)
        return document

    def directive(self, name: str) -> str:
        for part in self.csp.split(";"):
            words = part.strip().split(None, 1)
            if words and words[0] == name:
                return words[1] if len(words) > 1 else ""
        raise AssertionError(f"no {name} in {self.csp!r}")


def message_tree(document: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(document, parser)


# --- the table ------------------------------------------------------------------------------------


def table_items(table: Table) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"TableName": table.name}
    while True:
        page = table.client.scan(**arguments)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def item_text(item: dict[str, Any]) -> str:
    """Everything an item holds as text, compressed chunks included."""
    parts: list[str] = []
    for name, value in item.items():
        parts.append(name)
        for kind, content in value.items():
            if kind == "B":
                raw = bytes(content)
                # A chunk of a multi-chunk value does not decompress alone: searched as it is.
                with contextlib.suppress(OSError, EOFError):
                    raw = gzip.decompress(raw)
                parts.append(raw.decode("utf-8", "replace"))
            else:
                parts.append(json.dumps(content))
    return "\n".join(parts)


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers counted as their text, generously)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        for kind, content in value.items():
            if kind == "B":
                size += len(bytes(content))
            elif kind in ("S", "N"):
                size += len(str(content).encode("utf-8"))
            else:
                size += len(json.dumps(content).encode("utf-8"))
    return size


def cart_header(table: Table, session_id: str) -> dict[str, Any]:
    """The header item (``CART#<ref>/CART``) of the cart of session ``session_id``."""
    headers = [item for item in table_items(table) if item["sk"]["S"] == "CART"]
    [header] = [item for item in headers if json.loads(item["data"]["S"])["session_id"] == session_id]
    return header


def expire(table: Table, pk_prefix: str, sk: str, *, seconds_ago: int = 60) -> int:
    """Move ``expires_at`` of matching items into the past (TTL has not deleted them yet)."""
    import time

    moment = int(time.time()) - seconds_ago
    count = 0
    for item in table_items(table):
        if item["pk"]["S"].startswith(pk_prefix) and item["sk"]["S"] == sk:
            table.client.update_item(
                TableName=table.name,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET expires_at = :t",
                ExpressionAttributeValues={":t": {"N": str(moment)}},
            )
            count += 1
    assert count, f"no {pk_prefix}*/{sk} item to expire"
    return count


def configure(monkeypatch: Any, **environment: str) -> None:
    """Change the gateway's settings for one test (the handlers cache them)."""
    import order_message.handler
    import setup_request.handler
    from punchout.settings import clear_settings_cache

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    clear_settings_cache()
    setup_request.handler.service.cache_clear()
    order_message.handler.service.cache_clear()


@dataclass
class Run:
    """``punchout --table <table> <group...> ...``: exit code, stdout and stderr."""

    capsys: pytest.CaptureFixture[str]
    table: str
    group: tuple[str, ...] = field(default=())

    def __call__(self, *arguments: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli.main(["--table", self.table, *self.group, *arguments])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def ok(self, *arguments: str) -> str:
        code, out, err = self(*arguments)
        assert code == 0, err
        return out
