"""The FIFO order queue the shop consumes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from ..orders import compact_json
from ..sessions import NOT_XML_CHARACTER
from . import aws

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

# SQS's classic limit is 256 KiB per message; larger orders travel as a claim check
# (OrderMessage.complete is false; the shop fetches GET /shop/orders/{message_id}).
MAX_MESSAGE_BYTES = 200_000

# An order without its lines (claim check, the shop's GET of a large order): the shop reads them by page.
WITHOUT_LINES: dict[str, object] = {"complete": False, "lines": None, "reconciliation": None}
# What a claim check also leaves out, step by step, while it is still too large for the queue.
CLAIM_CHECK_CUTS: tuple[dict[str, object], ...] = (
    {"comments": [], "extrinsics": [], "contacts": []},
    {"ship_to": None, "bill_to": None, "shipping": None, "tax": None, "attachments": [], "sessions": []},
)


def sqs_json(body: str) -> str:
    """A JSON ``body`` as SQS takes it: the characters it refuses (InvalidMessageContents; moto takes them),
    those outside XML's Char production, written as JSON escapes (outside a string JSON has only ASCII),
    which give the shop's parser the same text. A MIME header may hold U+FFFE or U+FFFF (an attachment's
    Content-ID or file name, kept in the order)."""
    return NOT_XML_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", body)


def fitted(full: bytes, fits: Callable[[str], bool], cuts: tuple[dict[str, object], ...] = ()) -> str:
    """The stored message when it ``fits``, else the order without its lines (claim check), and then
    without the ``cuts``, one after the other, while it still does not fit.

    ``full`` is the stored message, serialised from ``OrderMessage``; the claim check is cut from it as
    plain JSON rather than validated back into models: for a 5,000-line order those are ~10,000 models,
    about 50 MB of a 256 MB Lambda (the dicts take half of that, and only for a moment).
    """
    body = full.decode("utf-8")
    if fits(body):
        return body
    message = json.loads(full)
    message.update(WITHOUT_LINES)
    body = compact_json(message)
    for fields in cuts:
        if fits(body):
            break
        message.update(fields)
        body = compact_json(message)
    return body


def queue_body(full: bytes) -> str:
    """The queue message of the stored message ``full``: the whole order when it fits SQS's limit, else a
    claim check. The gateway sends it, and ``punchout orders requeue`` the same again."""
    # Without its lines an order still fits, unless its header carries a large text (comments,
    # extrinsics, contacts, addresses); those go too then: the shop reads them from its API.
    return sqs_json(fitted(full, _queueable, CLAIM_CHECK_CUTS))


def _queueable(body: str) -> bool:
    # Measured as sent: a character SQS refuses takes six bytes escaped. Escaping only adds bytes, so a
    # body already too large is refused unescaped: escaping a whole 5 MB order costs tens of milliseconds.
    return len(body.encode("utf-8")) <= MAX_MESSAGE_BYTES and len(sqs_json(body).encode("utf-8")) <= MAX_MESSAGE_BYTES


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    # Endpoint from AWS_ENDPOINT_URL_SQS when set (local stack).
    client: SQSClient = aws.client("sqs")
    return client


def group_id(owner: str, order_id: str) -> str:
    """One FIFO group per partner (``OrderKey.owner``) and order: versions stay in order, orders do not
    wait for each other.

    Group ids allow 128 characters of a limited set; an order id may hold anything, so it is hashed."""
    return f"{owner}:{hashlib.sha256(order_id.encode('utf-8')).hexdigest()[:40]}"


def requeue_deduplication_id(message_id: str) -> str:
    """A deduplication id of its own for an order message sent again by hand (``punchout orders
    requeue``): under the gateway's (``message_id``), or an earlier requeue's, SQS would drop it as a
    duplicate for five minutes."""
    return f"{message_id}:requeue:{uuid.uuid4().hex}"


class OrderQueue:
    def __init__(self, url: str, client: SQSClient | None = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = sqs_client()
        return self._client

    def send(self, body: str, *, group: str, deduplication_id: str) -> str:
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=deduplication_id,
            MessageAttributes={"schema": {"DataType": "String", "StringValue": "punchout.order.v1"}},
        )
        return response["MessageId"]
