"""The published order message schema is generated from the models and kept in the repository."""

from __future__ import annotations

from order_request import schema


def test_committed_schema_matches_the_models():
    # Given the models, When the schema is generated, Then it equals the committed file
    assert schema.SCHEMA.read_text(encoding="utf-8") == schema.render(), (
        "functions/punchout/schemas/punchout.order.v1.json is stale: run `python -m order_request.schema` in functions/"
    )


def test_schema_requires_the_schema_id_and_the_reconciliation():
    document = schema.schema()
    assert document["title"] == "punchout.order.v1"
    assert {"schema", "message_id", "complete", "reconciliation", "lines"} <= set(document["required"])
