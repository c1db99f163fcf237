"""The functions' settings from the environment: defaults as README.md documents them, nonsense refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from punchout.settings import GatewaySettings, OrderSettings

README = Path(__file__).resolve().parents[2] / "README.md"
REQUIRED = {"TABLE_NAME": "punchout-test", "ORDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/orders.fifo"}


def _documented_defaults() -> dict[str, str]:
    """README's Configuration table: variable -> default, for rows naming one variable."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README.read_text(encoding="utf-8"), re.MULTILINE)
    return {name: value.strip().strip("`") for name, value in rows}


def _defaults() -> dict[str, Any]:
    fields = OrderSettings.model_fields.values()
    return {
        str(field.alias): field.default for field in fields if not field.is_required() and field.default is not None
    }


def test_every_default_is_the_one_the_readme_documents() -> None:
    # Given the Configuration table of README.md
    documented = _documented_defaults()
    # When the settings' defaults are compared with it
    defaults = _defaults()
    # Then each is documented, with its value
    assert defaults
    assert {name: type(value)(documented.get(name, "undocumented")) for name, value in defaults.items()} == defaults


# ORDER_RETENTION_DAYS=0 is no lifetime of zero: it keeps orders forever (its own tests below).
NOT_A_LIFETIME = {"ORDER_RETENTION_DAYS"}


@pytest.mark.parametrize(
    "name", [name for name, value in _defaults().items() if isinstance(value, int) and name not in NOT_A_LIFETIME]
)
def test_a_lifetime_or_limit_of_zero_is_refused(name: str) -> None:
    # Given a lifetime or size limit set to 0 (links that expire at once, no cart fits)
    # When the settings are read
    # Then they are refused, naming the variable
    with pytest.raises(ValidationError, match=rf"{name}\n  Input should be greater than 0"):
        OrderSettings.model_validate({**REQUIRED, name: "0"})


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_base_or_shop_url_is_unset(value: str) -> None:
    # Given PUBLIC_BASE_URL and DEFAULT_SHOP_URL set empty (CloudFormation cannot leave them out) or blank
    # When the settings are read
    settings = GatewaySettings.model_validate({**REQUIRED, "PUBLIC_BASE_URL": value, "DEFAULT_SHOP_URL": value})
    # Then both are unset: URLs are derived from the request, partners need their own shop URL
    assert (settings.public_base_url, settings.default_shop_url) == (None, None)


def test_orders_are_kept_forever_unless_a_retention_is_set() -> None:
    # Given no ORDER_RETENTION_DAYS, or 0
    # When the settings are read
    # Then orders are kept forever (no retention), as before the setting existed
    for environment in (REQUIRED, {**REQUIRED, "ORDER_RETENTION_DAYS": "0"}):
        assert OrderSettings.model_validate(environment).model_dump(by_alias=True)["ORDER_RETENTION_DAYS"] == 0


@pytest.mark.parametrize("days", ["30", "365", "3653", "9999"])
def test_an_order_retention_of_30_days_or_more_is_taken(days: str) -> None:
    settings = OrderSettings.model_validate({**REQUIRED, "ORDER_RETENTION_DAYS": days})
    assert settings.model_dump(by_alias=True)["ORDER_RETENTION_DAYS"] == int(days)


@pytest.mark.parametrize("days", ["-1", "1", "29", "10000", "thirty"])
def test_an_order_retention_shorter_than_the_queues_keep_an_order_or_absurdly_long_is_refused(days: str) -> None:
    # Given a retention under 30 days: an order could be deleted while its message still waits in the queue
    # or the dead-letter queue (14 days each; a FIFO dead-letter queue starts its 14 days anew), its claim
    # check unreadable; or one of 10,000 days or more (the template's parameter takes 0 or 30 to 9999)
    # When the settings are read, Then they are refused, naming the variable
    with pytest.raises(ValidationError, match="ORDER_RETENTION_DAYS"):
        OrderSettings.model_validate({**REQUIRED, "ORDER_RETENTION_DAYS": days})
