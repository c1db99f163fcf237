"""What real SQS accepts: moto and the local stack's queue take far larger messages, and any
character, so without this check a claim check that came too late would go unnoticed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SQS_MESSAGE_LIMIT = 262_144  # bytes, body and message attributes together
# The characters SQS takes in a body or a String attribute (XML's Char production); it refuses the
# message (InvalidMessageContents) for any other, where moto takes it as sent.
_REFUSED_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# MessageGroupId and MessageDeduplicationId: 1 to 128 alphanumerics and punctuation.
_FIFO_ID = re.compile(r"""[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}""")


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
    """A received message (with ``AttributeNames=["All"]``) is one real SQS would have taken."""
    size = sqs_size(message)
    assert size <= SQS_MESSAGE_LIMIT, f"a {size:,}-byte message: SQS refuses more than {SQS_MESSAGE_LIMIT:,}"
    texts = {"body": message["Body"]}
    texts.update(
        {f"attribute {name}": a.get("StringValue") or "" for name, a in message.get("MessageAttributes", {}).items()}
    )
    for where, text in texts.items():
        refused = _REFUSED_CHARACTER.search(text)
        assert refused is None, f"U+{ord(refused.group()):04X} in the message's {where}: SQS refuses it"
    for name in ("MessageGroupId", "MessageDeduplicationId"):
        value = message.get("Attributes", {}).get(name)
        assert value is None or _FIFO_ID.fullmatch(value), f"{name} {value!r}: SQS refuses it"
