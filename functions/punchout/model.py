"""The base of the gateway's own pydantic models (the cXML models have theirs in ``cxml.models``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GatewayModel(BaseModel):
    # A model's validator is built on first use, not at import: each function imports models that
    # only some of its routes use, and building them all would lengthen every cold start.
    # Empty list and dict defaults are `empty_list()` / `empty_dict()`: see
    # `cxml.models.empty_list`.
    model_config = ConfigDict(defer_build=True)


# The validation context of what the shop sends (``shop_api.parse_body``): checks of its input that
# stored data, validated again when it is read back, is not held to (it was stored before them).
SHOP_INPUT = {"shop_input": True}
