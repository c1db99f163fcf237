"""Generates the published JSON Schema of the shop's order message (``punchout.order.v1``).

Run ``python -m order_request.schema`` after changing ``punchout.orders``; a test fails when the
committed schema is stale, and the order tests validate real messages against it (closed, so that a
field the gateway sends but the schema does not describe fails them). Its objects are open
(``punchout.published_schema``): releases within ``punchout.order.v1`` only add fields, which shops ignore.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from punchout.orders import SCHEMA_ID, OrderMessage
from punchout.published_schema import PublishedJsonSchema

SCHEMA = Path(__file__).resolve().parents[1] / "punchout" / "schemas" / f"{SCHEMA_ID}.json"


def schema() -> dict[str, Any]:
    document = OrderMessage.model_json_schema(by_alias=True, mode="serialization", schema_generator=PublishedJsonSchema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://punchout-gateway/schemas/{SCHEMA_ID}.json",
        **document,
        "title": SCHEMA_ID,
        "description": (
            "A purchase order (cXML OrderRequest: new, update or delete) accepted by the PunchOut gateway, "
            "as the shop receives it from the FIFO order queue. When `complete` is false the lines were left "
            "out to fit the queue: GET /shop/orders/{message_id} on the shop API (with the shop's x-api-key) "
            "for the complete message, and when that too says `complete: false` (too large for one answer), "
            "GET /shop/orders/{message_id}/pages/{page} for its lines."
        ),
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
