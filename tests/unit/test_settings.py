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


@pytest.mark.parametrize("name", [name for name, value in _defaults().items() if isinstance(value, int)])
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
