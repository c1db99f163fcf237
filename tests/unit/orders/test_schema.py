"""The published order message schema is generated from the models and kept in the repository."""

from __future__ import annotations

import json

from order_request import schema
from tests.support.contract import subschemas


def test_committed_schema_matches_the_models():
    # Given the models, When the schema is generated, Then it equals the committed file
    assert schema.SCHEMA.read_text(encoding="utf-8") == schema.render(), (
        "functions/punchout/schemas/punchout.order.v1.json is stale: run `python -m order_request.schema` in functions/"
    )


def test_schema_requires_the_schema_id_and_the_reconciliation():
    document = schema.schema()
    assert document["title"] == "punchout.order.v1"
    assert {"schema", "message_id", "complete", "reconciliation", "lines"} <= set(document["required"])


def test_the_published_schema_closes_no_object():
    # Given the schema as generated and as committed (what shops download)
    for document in (schema.schema(), json.loads(schema.SCHEMA.read_text(encoding="utf-8"))):
        objects = [s for s in subschemas(document) if "properties" in s]
        # Then none of its objects refuses other fields: a release within punchout.order.v1 adds fields,
        # which a shop validating with an older copy must be able to ignore
        assert len(objects) > 20
        assert [s["title"] for s in objects if s.get("additionalProperties") is False] == []
