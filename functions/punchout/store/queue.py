"""The FIFO order queue the shop consumes."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

from ..sessions import NOT_XML_CHARACTER
from . import aws

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

# SQS's classic limit is 256 KiB per message; larger orders travel as a claim check
# (OrderMessage.complete is false; the shop fetches GET /shop/orders/{message_id}).
MAX_MESSAGE_BYTES = 200_000


def sqs_json(body: str) -> str:
    """A JSON ``body`` as SQS takes it: the characters it refuses (InvalidMessageContents; moto takes them),
    those outside XML's Char production, written as JSON escapes (outside a string JSON has only ASCII),
    which give the shop's parser the same text. A MIME header may hold U+FFFE or U+FFFF (an attachment's
    Content-ID or file name, kept in the order)."""
    return NOT_XML_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", body)


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
