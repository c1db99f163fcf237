"""Settings from the environment, validated by pydantic when first needed and then cached.

Nothing is read at import time: tests and the local stack set the environment before the first
request, and a missing variable fails that request with a clear message instead of an import error.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache

from pydantic import ConfigDict, Field, field_validator

from .model import GatewayModel

# OrderRetentionDays: 0, or this many days to the most (the template's AllowedPattern says the same).
MIN_ORDER_RETENTION_DAYS = 30
MAX_ORDER_RETENTION_DAYS = 9999


class GatewaySettings(GatewayModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    # The public base URL (custom domain) for StartPage and profile URLs; derived from the request
    # (Host header and API stage) when unset.
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    start_token_ttl_seconds: int = Field(default=600, alias="START_TOKEN_TTL_SECONDS", gt=0)
    return_token_ttl_seconds: int = Field(default=600, alias="RETURN_TOKEN_TTL_SECONDS", gt=0)
    session_ttl_seconds: int = Field(default=4 * 3600, alias="SESSION_TTL_SECONDS", gt=0)
    # Carts outlive their session: edit, inspect and the later OrderRequest refer back to them.
    cart_retention_days: int = Field(default=180, alias="CART_RETENTION_DAYS", gt=0)
    cxml_max_bytes: int = Field(default=10 * 1024 * 1024, alias="CXML_MAX_BYTES", gt=0)
    max_cart_lines: int = Field(default=5000, alias="MAX_CART_LINES", gt=0)
    payload_id_domain: str = Field(default="punchout-gateway", alias="PAYLOAD_ID_DOMAIN")
    # The shop's entry URL for partners registered without their own (template parameter ShopEntryUrl).
    default_shop_url: str | None = Field(default=None, alias="DEFAULT_SHOP_URL")

    @field_validator("public_base_url", "default_shop_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CloudFormation cannot leave a variable out conditionally everywhere; "" means unset.
        return None if isinstance(value, str) and not value.strip() else value


class OrderSettings(GatewaySettings):
    order_queue_url: str = Field(alias="ORDER_QUEUE_URL", min_length=1)
    # How long one delivery may hold the right to send an order's message, and how long a concurrent
    # duplicate waits for it before answering a retryable 560. Buyers wait at most 30 to 60 s.
    dispatch_lease_seconds: int = Field(default=20, alias="ORDER_DISPATCH_LEASE_SECONDS", gt=0)
    dispatch_wait_seconds: float = Field(default=8.0, alias="ORDER_DISPATCH_WAIT_SECONDS", ge=0)
    # Days an order version's items are kept after its receipt (template parameter OrderRetentionDays); 0 keeps
    # them forever. At least 30: its message may wait 14 days in the queue and 14 more in the dead-letter queue,
    # and a claim check is read from the table.
    order_retention_days: int = Field(default=0, alias="ORDER_RETENTION_DAYS", ge=0, le=MAX_ORDER_RETENTION_DAYS)

    @field_validator("order_retention_days")
    @classmethod
    def _kept_while_queued(cls, value: int) -> int:
        if 0 < value < MIN_ORDER_RETENTION_DAYS:
            raise ValueError(
                f"an order retention is 0 (kept forever) or at least {MIN_ORDER_RETENTION_DAYS} days: the order's"
                " message may wait 14 days in the queue and 14 more in the dead-letter queue"
            )
        return value

    def order_expiry(self, received_at: datetime) -> int | None:
        """The TTL (epoch seconds) of every item an order version received at ``received_at`` writes; None:
        kept forever."""
        if self.order_retention_days == 0:
            return None
        return int(received_at.timestamp()) + self.order_retention_days * 86400


def payload_id_domain() -> str:
    """PAYLOAD_ID_DOMAIN alone: the answer to a request whose other settings cannot be read names it too."""
    default: str = GatewaySettings.model_fields["payload_id_domain"].default
    return os.environ.get("PAYLOAD_ID_DOMAIN", default)


@lru_cache(maxsize=1)
def gateway_settings() -> GatewaySettings:
    return GatewaySettings.model_validate(dict(os.environ))


@lru_cache(maxsize=1)
def order_settings() -> OrderSettings:
    return OrderSettings.model_validate(dict(os.environ))


def clear_settings_cache() -> None:
    """Forget cached settings (tests that change the environment)."""
    gateway_settings.cache_clear()
    order_settings.cache_clear()
