"""What real SQS accepts: moto and the local stack's queue take far larger messages, so without this
check a claim check that came too late would go unnoticed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SQS_MESSAGE_LIMIT = 262_144  # bytes, body and message attributes together


def sqs_size(message: Mapping[str, Any]) -> int:
    """A received message's size as SQS counts it: the body's UTF-8 bytes plus each message
    attribute's name, data type and value."""
    size = len(message["Body"].encode("utf-8"))
    for name, attribute in message.get("MessageAttributes", {}).items():
        value = attribute.get("StringValue")
        data = value.encode("utf-8") if value is not None else attribute.get("BinaryValue", b"")
        size += len(name.encode("utf-8")) + len(attribute["DataType"].encode("utf-8")) + len(data)
    return size


def assert_fits_sqs(message: Mapping[str, Any]) -> None:
    size = sqs_size(message)
    assert size <= SQS_MESSAGE_LIMIT, f"a {size:,}-byte message: SQS refuses more than {SQS_MESSAGE_LIMIT:,}"
