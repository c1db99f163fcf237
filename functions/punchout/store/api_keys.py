"""API keys of the supplier's shop for the shop routes (``x-api-key``).

Keys are 256 random bits, so a plain SHA-256 is a safe way to store them: ``APIKEY#<sha256>/APIKEY``.
The key itself is shown once, when it is created. Keys are alphanumeric because a deployed stack
registers the same value as an API Gateway API key (``punchout --stack``), which allows no other
characters.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import UTC, datetime

from ..model import GatewayModel
from .dynamo import ConditionFailed, Table, key, s


class ApiKey(GatewayModel):
    id: str  # the first 12 hex digits of the hash: enough to name it, useless to use it
    name: str
    enabled: bool = True
    created_at: datetime


_ALPHABET = string.ascii_letters + string.digits
_KEY_CHARACTERS = 43  # 43 * log2(62) > 256 bits


def generate_api_key() -> str:
    return "pk" + "".join(secrets.choice(_ALPHABET) for _ in range(_KEY_CHARACTERS))


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiKeyRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, name: str) -> tuple[ApiKey, str]:
        raw = generate_api_key()
        digest = _digest(raw)
        api_key = ApiKey(id=digest[:12], name=name, created_at=datetime.now(UTC))
        self.table.put(
            {**key(f"APIKEY#{digest}", "APIKEY"), "data": s(api_key.model_dump_json())},
            condition="attribute_not_exists(pk)",
        )
        return api_key, raw

    def verify(self, raw: str | None) -> ApiKey | None:
        if not raw:
            return None
        item = self.table.get(f"APIKEY#{_digest(raw)}", "APIKEY")
        if item is None:
            return None
        api_key = ApiKey.model_validate_json(item["data"]["S"])
        return api_key if api_key.enabled else None

    def list(self) -> list[tuple[str, ApiKey]]:
        found = [
            (item["pk"]["S"], ApiKey.model_validate_json(item["data"]["S"]))
            for item in self.table.scan_prefix("APIKEY#", "APIKEY")
        ]
        return sorted(found, key=lambda pair: pair[1].created_at)

    def revoke(self, key_id: str) -> ApiKey:
        for pk, api_key in self.list():
            if api_key.id == key_id:
                revoked = api_key.model_copy(update={"enabled": False})
                try:
                    self.table.put(
                        {**key(pk, "APIKEY"), "data": s(revoked.model_dump_json())}, condition="attribute_exists(pk)"
                    )
                except ConditionFailed:
                    break
                return revoked
        raise KeyError(key_id)
