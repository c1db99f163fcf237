"""Order tests: the gateway's moto table plus the FIFO order queue and its dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.dynamo_type import LimitedSizeDict

from punchout.settings import clear_settings_cache
from punchout.store.dynamo import dynamodb_client
from punchout.store.queue import sqs_client
from tests.support.contract import assert_published_message
from tests.support.dynamodb import ITEM_BYTES as DYNAMODB_ITEM_LIMIT
from tests.support.round_trip import item_size
from tests.support.sqs import assert_fits_sqs
from tests.unit.gateway.conftest import (  # noqa: F401 - fixtures shared with the gateway tests
    _moto,
    aws,
    dynamodb_keys,
    log_lines,
    table,
)


def _clear() -> None:
    import order_request.handler

    clear_settings_cache()
    sqs_client.cache_clear()
    order_request.handler.service.cache_clear()
    order_request.handler.api_keys.cache_clear()


@pytest.fixture
def queue_url(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: F811
    client = boto3.client("sqs")
    dead = client.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = client.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    monkeypatch.setenv("ORDER_QUEUE_URL", url)
    monkeypatch.setenv("ORDER_DISPATCH_WAIT_SECONDS", "2")
    monkeypatch.setenv("ORDER_DISPATCH_LEASE_SECONDS", "1")
    _clear()
    yield url
    drain(url)  # what the test left in the queue is checked too, as drained messages are
    client.delete_queue(QueueUrl=url)
    client.delete_queue(QueueUrl=dead)
    _clear()


@pytest.fixture
def dynamodb_item_limit(aws: None) -> Iterator[None]:  # noqa: F811
    """Updates refused as DynamoDB refuses them when the item would outgrow 400 KB: a
    ValidationException, the item unchanged. moto grows a set in place without checking its size."""
    unchecked = boto3.client("dynamodb")  # not the gateway's client: its calls pass no check
    before: dict[str, Any] = {}

    def remember(params: dict[str, Any], **_: Any) -> None:
        before.update(TableName=params["TableName"], Key=params["Key"])
        before["Item"] = unchecked.get_item(TableName=params["TableName"], Key=params["Key"]).get("Item")

    def check(parsed: dict[str, Any], **_: Any) -> None:
        if item_size(parsed.get("Attributes") or {}) <= DYNAMODB_ITEM_LIMIT:
            return
        unchecked.delete_item(TableName=before["TableName"], Key=before["Key"])
        if before["Item"] is not None:
            # moto refuses to put an item over 405,000 bytes (its count), which DynamoDB holds.
            with patch.object(LimitedSizeDict, "__setitem__", dict.__setitem__):
                unchecked.put_item(TableName=before["TableName"], Item=before["Item"])
        message = "Item size to update has exceeded the maximum allowed size"
        raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "UpdateItem")

    events = dynamodb_client().meta.events
    events.register("provide-client-params.dynamodb.UpdateItem", remember, unique_id="dynamodb-item-limit-before")
    events.register("after-call.dynamodb.UpdateItem", check, unique_id="dynamodb-item-limit-after")
    try:
        yield
    finally:
        events.unregister("provide-client-params.dynamodb.UpdateItem", unique_id="dynamodb-item-limit-before")
        events.unregister("after-call.dynamodb.UpdateItem", unique_id="dynamodb-item-limit-after")


def drain(url: str, *, published: bool = True) -> list[dict[str, Any]]:
    """Every message in the queue (received and deleted), as parsed JSON (and its exact ``text``) with its
    attributes; each checked to be within what real SQS accepts and (unless a test made up the message:
    ``published`` false) to be one the published schema describes."""
    client = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            assert_fits_sqs(message)  # moto takes far larger messages than SQS
            body = json.loads(message["Body"])
            if published:
                assert_published_message(body)
            messages.append(
                {
                    "body": body,
                    "text": message["Body"],
                    "attributes": message["Attributes"],
                    "message_attributes": message.get("MessageAttributes", {}),
                }
            )
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
