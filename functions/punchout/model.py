"""The base of the gateway's own pydantic models (the cXML models have theirs in ``cxml.models``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GatewayModel(BaseModel):
    # A model's validator is built on first use, not at import: each function imports models that
    # only some of its routes use, and building them all would lengthen every cold start.
    # Empty list and dict defaults are `Field(default=[])`, not `default_factory=list`: pydantic
    # copies a default for each instance anyway, and a factory makes it inspect `list`'s signature
    # for each such field as it builds a validator (~10 ms of a cold start over all our models).
    model_config = ConfigDict(defer_build=True)
