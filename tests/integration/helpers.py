"""Talking to the local stack the way buyers, browsers, shops and operators do: HTTP and the CLI.

Everything here goes through a socket or a child process (stdlib `http.client`, the installed
`punchout` console script); nothing calls a handler directly.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import lxml.html

from punchout.cxml import read_document
from punchout.cxml.models import ResponseDocument
from punchout.store.orders import OrderRepository
from tests.support import builders, contract, leaks
from tests.support.contract import assert_published_message
from tests.support.sqs import assert_fits_sqs
from tests.support.stack_process import StackProcess, clean_environment, stop_all

CXML = "text/xml; charset=UTF-8"


# --- HTTP -----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def connection(url: str, timeout: float = 120.0) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)


def send(
    conn: http.client.HTTPConnection,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request on an open connection (redirects are not followed: a browser's next step is the test's);
    its answer checked as the unit tier's are (``contract``, and no secret sent so far in it: ``leaks``)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, target, body=body, headers=headers or {})
    response = conn.getresponse()
    answer = Answer(response.status, response.headers, response.read())
    leaks.remember_sent({"body": (body or b"").decode("utf-8", "replace"), "headers": headers or {}})
    leaks.assert_no_secret("the answer", answer.body, json.dumps(dict(answer.headers)))
    if method == "POST" and parts.path.endswith(contract.CXML_ROUTES):  # errors of its gateway included
        cxml_answer(answer)
    elif "/shop/" in parts.path:  # the shop API, its gateway's answers included, as the OpenAPI document says
        shop_answer = {
            "statusCode": answer.status,
            "headers": {"Content-Type": answer.content_type},
            "body": answer.body.decode("utf-8", "replace"),
        }
        shop_path = parts.path[parts.path.index("/shop/") :]
        contract.assert_documented(method, shop_path, shop_answer)
        contract.assert_request_documented(
            method, shop_path, body.decode("utf-8", "replace") if body else None, shop_answer
        )
    return answer


def request(method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None) -> Answer:
    conn = connection(url)
    try:
        return send(conn, method, url, body.encode("utf-8") if isinstance(body, str) else body, headers)
    finally:
        conn.close()


def post_cxml(url: str, document: bytes, content_type: str = CXML) -> Answer:
    return request("POST", url, document, {"Content-Type": content_type})


def cxml_answer(answer: Answer) -> ResponseDocument:
    """The answer as cXML, checked as every answer to a cXML POST is (``tests.support.contract``)."""
    return contract.cxml_answer(answer.status, answer.content_type, answer.body)


# --- concurrent requests --------------------------------------------------------------------------


@contextmanager
def environments(stack: StackProcess, name: str, count: int) -> Iterator[list[str]]:
    """Base URLs of ``count`` gateways sharing the stack's DynamoDB Local and queue: the stack's own and
    ``count - 1`` more processes. One local gateway runs one invocation of a function at a time, as one
    Lambda execution environment does, so requests race only across these, as API Gateway spreads
    concurrent requests over execution environments."""
    extra = [stack.gateway_process(f"{name}-{n}") for n in range(1, count)]
    try:
        for gateway in extra:
            gateway.launch()
        for gateway in extra:
            gateway.wait_ready()
        yield [stack.base_url, *(gateway.base_url for gateway in extra)]
    finally:
        stop_all(extra)


def warmed(urls: list[str], route: str, buyer: Buyer) -> None:
    """Warm one cXML function of every environment as a Lambda environment is after its first request
    (handler imported, clients built, the buyer's secret derived), so that the requests a test then
    sends race each other rather than the cold starts."""
    profile = builders.profile_request(**buyer.credentials)
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        answers = list(pool.map(lambda url: post_cxml(f"{url}{route}", profile), urls))
    assert [cxml_answer(answer).status.code for answer in answers] == [200] * len(urls)


Call = tuple[str, str, bytes | None, dict[str, str]]  # method, URL, body, headers


@dataclass
class Raced:
    url: str
    started: float
    finished: float
    answer: Answer


def at_once(calls: list[Call]) -> list[Raced]:
    """Every call on its own connection, all sent together once every connection is open."""
    barrier = threading.Barrier(len(calls))

    def run(call: Call) -> Raced:
        method, url, body, headers = call
        conn = connection(url)
        try:
            conn.connect()
            barrier.wait(timeout=60)
            started = time.monotonic()
            answer = send(conn, method, url, body, headers)
            return Raced(url, started, time.monotonic(), answer)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# --- the browser ----------------------------------------------------------------------------------


@dataclass
class PostedForm:
    """What the return page makes the browser post: where, the field's name and value."""

    action: str
    field: str
    value: str

    @classmethod
    def of(cls, page: Answer) -> PostedForm:
        assert page.status == 200, (page.status, page.body[:500])
        assert page.content_type.startswith("text/html"), page.content_type
        tree: Any = lxml.html.document_fromstring(page.body)
        (form,) = tree.xpath("//form")
        (field,) = form.xpath(".//input[@type='hidden']")
        return cls(action=form.get("action"), field=field.get("name"), value=field.get("value"))

    def document(self, encoding: str) -> bytes:
        """The PunchOutOrderMessage as the buyer receives it: form-encoded by the browser, then decoded."""
        posted = parse_qs(urlencode({self.field: self.value}), keep_blank_values=True)[self.field][0]
        if encoding == "base64":
            return base64.b64decode(posted, validate=True)
        return posted.encode("utf-8")


def query_parameter(url: str, name: str) -> str:
    values = parse_qs(urlsplit(url).query).get(name)
    assert values, f"no {name} in {url}"
    return values[0]


# --- the operator's CLI ---------------------------------------------------------------------------


def punchout_cli() -> list[str]:
    """The installed console script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / "punchout"
    return [str(script)] if script.exists() else [sys.executable, "-m", "punchout.cli"]


def run_cli(stack: StackProcess, *arguments: str, table: bool = True) -> str:
    """`punchout [--table T] ...` against the stack; its stdout. `table=False`: found through stack.json."""
    environment = clean_environment(stack.sdk_environment() if table else {})
    environment.pop("TABLE_NAME", None)
    command = [*punchout_cli(), *(["--table", stack.table_name] if table else []), *arguments]
    result = subprocess.run(
        command, cwd=stack.work_dir, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    return result.stdout


def shown_once(output: str) -> str:
    """The secret or API key the CLI prints once, on the last line after '... shown once:'."""
    match = re.search(r"shown once:\n(\S+)\n?\Z", output)
    assert match, output
    return match.group(1)


@dataclass(frozen=True)
class Buyer:
    """A trading partner registered through the CLI, with the secret the CLI generated and printed once."""

    partner_id: str
    identity: str  # its From credential: NetworkID:<identity>
    secret: str
    encoding: str = "urlencoded"
    field_name: str = "cxml-urlencoded"

    @property
    def credentials(self) -> dict[str, Any]:
        """The builders' header arguments (tests/support/builders.py) that authenticate as this buyer."""
        return {"domain": "NetworkID", "identity": self.identity, "secret": self.secret}


RETURN_HOST = "buyer.example.com"
RETURN_URL = f"https://{RETURN_HOST}/punchout/return?session=42"
SHOP_URL = "https://shop.example.com/punchout?store=1"


def register_buyer(
    stack: StackProcess,
    partner_id: str,
    *,
    encoding: str = "urlencoded",
    field_name: str | None = None,
    extra: tuple[str, ...] = (),
) -> Buyer:
    """`punchout partners add` without --secret: the CLI generates the shared secret and shows it once."""
    identity = f"AN-{partner_id.upper()}"
    field_name = field_name or f"cxml-{encoding}"
    output = run_cli(
        stack,
        "partners",
        "add",
        partner_id,
        "--name",
        f"Buyer {partner_id}",
        "--from",
        f"NetworkID:{identity}",
        "--shop-url",
        SHOP_URL,
        "--post-host",
        RETURN_HOST,
        "--encoding",
        encoding,
        "--field-name",
        field_name,
        "--cxml-version",
        "1.2.069",
        "--unspsc",
        "44120000",
        *extra,
    )
    return Buyer(partner_id, identity, shown_once(output), encoding, field_name)


def create_api_key(stack: StackProcess, name: str) -> dict[str, str]:
    """`punchout api-keys create`: the shop's headers with the key shown once."""
    raw = shown_once(run_cli(stack, "api-keys", "create", "--name", name))
    return {"x-api-key": raw, "Content-Type": "application/json"}


# --- orders ---------------------------------------------------------------------------------------


class Queue:
    """The shop's side of the FIFO order queue."""

    def __init__(self, stack: StackProcess) -> None:
        self.url = stack.queue_url("OrderQueue")
        self.sqs = stack.sqs

    def drain(self) -> list[dict[str, Any]]:
        """Every message now in the queue, in delivery order, deleted once read (as a consumer does);
        each checked to be one real SQS takes and the published schema describes."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                assert_fits_sqs(message)  # the local queue takes far larger messages than SQS
                body = json.loads(message["Body"])
                assert_published_message(body)
                messages.append(
                    {
                        "raw": message["Body"],
                        "body": body,
                        "attributes": message.get("Attributes", {}),
                        "message_attributes": message.get("MessageAttributes", {}),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


def items_of(orders: OrderRepository, pk: str) -> list[dict[str, Any]]:
    """Every item of one partition (an order: its versions and their payload chunks)."""
    pages = orders.table.client.get_paginator("query").paginate(
        TableName=orders.table.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def payload_id(document: bytes) -> str:
    return read_document(document).envelope.payload_id


def order(buyer: Buyer, order_id: str, *lines: tuple[str, str], **options: Any) -> bytes:
    """An OrderRequest of `buyer` with lines (part, quantity) at 10.00 each."""
    items = [builders.item_out(part, quantity, price="10.00", line=n) for n, (part, quantity) in enumerate(lines, 1)]
    return builders.order_request(order_id, items, **options, **buyer.credentials)
