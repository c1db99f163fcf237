"""The shop's API keys as API Gateway knows them, on a deployed stack (used by the ``punchout`` CLI).

ShopApi requires an API key of its usage plan before a request reaches the function, which then
checks the same value against its hash in DynamoDB (``ApiKeyRepository``). So a key is created in
both places with one value, and revoked in both. API Gateway keys are named
``<stack>-shop-<key id>``: the key id is the one DynamoDB stores, so a key can be found again by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient


class GatewayKeys:
    def __init__(self, client: APIGatewayClient, usage_plan_id: str, prefix: str) -> None:
        self.client = client
        self.usage_plan_id = usage_plan_id
        self.prefix = prefix

    def name(self, key_id: str) -> str:
        return f"{self.prefix}-shop-{key_id}"

    def create(self, key_id: str, value: str, description: str) -> str:
        """Create the key with ``value``, attach it to the usage plan; return API Gateway's key id."""
        created = self.client.create_api_key(
            name=self.name(key_id),
            description=description[:1000],
            enabled=True,
            value=value,
            tags={"punchout:key-id": key_id},
        )
        gateway_id = created["id"]
        try:
            self.client.create_usage_plan_key(usagePlanId=self.usage_plan_id, keyId=gateway_id, keyType="API_KEY")
        except Exception:
            # A key outside the usage plan is refused by ShopApi anyway; do not leave it behind.
            self.client.delete_api_key(apiKey=gateway_id)
            raise
        return gateway_id

    def find(self, key_id: str) -> list[str]:
        """API Gateway ids of the keys named for ``key_id`` (normally one)."""
        name = self.name(key_id)
        found: list[str] = []
        for page in self.client.get_paginator("get_api_keys").paginate(nameQuery=name):
            found += [item["id"] for item in page.get("items", []) if item.get("name") == name and "id" in item]
        return found

    def disable(self, key_id: str) -> list[str]:
        """Disable every API Gateway key of ``key_id``; return their ids (empty if there was none)."""
        disabled = self.find(key_id)
        for gateway_id in disabled:
            self.client.update_api_key(
                apiKey=gateway_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
            )
        return disabled
