"""Items an older version of the gateway wrote, as a deployed table holds them when a new version arrives.

``items_3d51d1a.json`` is a scan of a local stack run at 3d51d1a (2026-11-26): partners added with its
CLI (one rotating its secret, one disabled, one with test credentials, one authenticated by its network
only), shop API keys (one revoked), sessions in every state (open, with a cart written once or three
times, transferred, cancelled, edit and inspect), unused start and return links, carts, and orders
(new, update, delete, versionless, with an attachment, in test mode, resent), with the cXML documents
the buyer sent and the messages the shop received. Binary values are in base64.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from punchout.store.dynamo import Table

FIXTURE = Path(__file__).with_name("items_3d51d1a.json")


@cache
def _fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def fixture() -> dict[str, Any]:
    """The fixture's documents, messages, secrets, keys, session ids and links (not to be changed)."""
    return _fixture()


def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: base64.b64decode(inner) if name == "B" else _decoded(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_decoded(inner) for inner in value]
    return value


def load(table: Table, *, lifetime: int = 3600) -> dict[str, Any]:
    """Put every item into ``table`` as the old version wrote it, but for expiries: what expired since the
    run (links live 10 minutes, sessions 4 hours) expires ``lifetime`` seconds from now instead."""
    client = boto3.client("dynamodb")
    expires = int(time.time()) + lifetime
    for item in _fixture()["items"]:
        stored = _decoded(item)
        if "expires_at" in stored:
            stored["expires_at"] = {"N": str(expires)}
            if stored["pk"]["S"].startswith("SESSION#"):
                session = json.loads(stored["data"]["S"])
                session["expires_at"] = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
                stored["data"] = {"S": json.dumps(session, separators=(",", ":"))}
        client.put_item(TableName=table.name, Item=stored)
    return fixture()


def document(name: str) -> bytes:
    """A cXML document the old version accepted, byte for byte as the buyer sent it."""
    text: str = _fixture()["documents"][name]["cxml"]
    return text.encode("latin-1")


def payload_id(name: str) -> str:
    value: str = _fixture()["documents"][name]["payload_id"]
    return value


def message(order_id: str, order_type: str = "new") -> dict[str, Any]:
    """The message the shop received for that order from the old version."""
    (found,) = [m for m in _fixture()["messages"] if (m["order_id"], m["type"]) == (order_id, order_type)]
    return dict(found)
