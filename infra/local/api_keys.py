"""The local gateway's API-key check, answered from the table as the shop API's own check is.

Deployed, ShopApi's usage plan checks `x-api-key` (API Gateway) and the function checks it again
against the table; `punchout api-keys create` registers a key in both places. Locally there is no
usage plan: looking each key up in the table lets a key made with the CLI work at both checks, as the
seeded demo shop's key does. `LocalStack` gives it to its gateway.
"""

from __future__ import annotations

from typing import Any

from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table


class TableApiKeys(dict[str, str]):
    """`Gateway.api_keys` (key value → key id), read from the table at each request."""

    def __init__(self, table_name: str) -> None:
        super().__init__()
        self._keys = ApiKeyRepository(Table(table_name))

    def __contains__(self, raw: object) -> bool:
        return isinstance(raw, str) and self._keys.verify(raw) is not None

    def __getitem__(self, raw: str) -> str:
        found = self._keys.verify(raw)
        if found is None:
            raise KeyError("unknown or revoked API key")
        return found.id

    def get(self, raw: str, default: Any = None) -> Any:
        found = self._keys.verify(raw)
        return default if found is None else found.id
