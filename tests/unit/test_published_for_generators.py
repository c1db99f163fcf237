"""The published documents as shops' code generators and strict validators read them.

Shops feed ``functions/order_message/openapi.json`` (the shop API) and
``functions/punchout/schemas/punchout.order.v1.json`` (the order message) to generators
(openapi-typescript, json-schema-to-typescript, datamodel-code-generator) and to strict validators (ajv's
strict mode). These tests hold the documents to the rules those tools read them by, which the schema
validators of the other tests do not judge.
"""

from __future__ import annotations

import json
from typing import Any

from order_message import openapi
from order_message.handler import _openapi
from order_request import schema
from punchout.orders import ReconciledLine, Reconciliation
from tests.support.contract import subschemas

# JSON Schema's keywords that judge one type of value only (ajv's strictTypes: such a keyword needs that
# type beside it, else "missing type ... for keyword ...").
_TYPE_KEYWORDS = {
    "array": ("items", "prefixItems", "maxItems", "minItems", "uniqueItems", "contains"),
    "string": ("maxLength", "minLength", "pattern"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "object": ("properties", "additionalProperties", "required", "maxProperties", "minProperties"),
}


def _documents() -> dict[str, Any]:
    """Each published document as one schema whose subschemas are all of its schemas."""
    api = json.loads(openapi.render())
    served = _openapi(3)
    return {
        "openapi.json": {"$defs": api["components"]["schemas"], "anyOf": _path_schemas(api)},
        "served openapi.json": {"$defs": served["components"]["schemas"], "anyOf": _path_schemas(served)},
        "punchout.order.v1.json": schema.schema(),
    }


def _path_schemas(document: dict[str, Any]) -> list[dict[str, Any]]:
    operations = [operation for methods in document["paths"].values() for operation in methods.values()]
    bodies = [operation["requestBody"] for operation in operations if "requestBody" in operation]
    answers = [answer for operation in operations for answer in operation["responses"].values()]
    contents = [content for part in bodies + answers for content in part.get("content", {}).values()]
    return [content["schema"] for content in contents if "schema" in content]


def _declared(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    return types | {"number"} if "integer" in types else types


def test_every_type_specific_keyword_stands_beside_its_type() -> None:
    # Given the published documents, as generated and as the function serves the shop API's
    for name, document in _documents().items():
        # When a strict validator (ajv's strictTypes) or a generator reads a keyword that judges one type only
        misplaced = [
            (keyword, part.get("title"))
            for part in subschemas(document)
            for kind, keywords in _TYPE_KEYWORDS.items()
            for keyword in keywords
            if keyword in part and kind not in _declared(part)
        ]
        # Then the schema holding it declares that type: `maxItems` beside an `anyOf` of an array and null
        # is refused by ajv in strict mode, and made datamodel-code-generator type the null branch as a
        # model of its own whose default is `[]`
        assert misplaced == [], name


def _defaulted_keys_left_out(schemas: dict[str, Any], name: str, sent: dict[str, Any]) -> list[str]:
    """The properties of schema ``name`` that have a ``default`` but are not in ``sent``."""
    properties = schemas[name]["properties"]
    return [f"{name}.{key}" for key, part in properties.items() if "default" in part and key not in sent]


def test_a_key_the_gateway_leaves_out_has_no_default_in_the_published_schemas() -> None:
    # Given a reconciliation as the gateway sends it: every cart read, a line in the unit the buyer was sent
    reconciliation = Reconciliation(
        from_punchout=True,
        cart_refs=["c1"],
        lines=[ReconciledLine(status="unchanged", supplier_part_id="P1", supplier_part_auxiliary_id="c1-1")],
    )
    sent = json.loads(reconciliation.model_dump_json(by_alias=True))
    (line,) = sent["lines"]
    # When the published schemas describe its keys
    api = json.loads(openapi.render())["components"]["schemas"]
    order = schema.schema()["$defs"]
    for schemas in (api, order):
        left_out = _defaulted_keys_left_out(schemas, "Reconciliation", sent)
        left_out += _defaulted_keys_left_out(schemas, "ReconciledLine", line)
        # Then none the message leaves out has a default: openapi-typescript (defaultNonNullable, its default)
        # types a property with a default as always present, and a shop's `unread_cart_refs.length`, which
        # `tsc --strict` passes, throws on every order whose carts were all read
        assert left_out == []


def test_titles_name_the_models_only() -> None:
    # Given the published documents' models (the order message's root is one too)
    for name, document in _documents().items():
        models = [*document.get("$defs", {}).values(), document]
        # When json-schema-to-typescript names a type after every `title` it meets
        titled = sorted(
            {
                part["title"]
                for model in models
                for part in subschemas(model)
                if "title" in part and part is not model and part not in models
            }
        )
        # Then only models have one: a property titled after its field ("Comments", "Description",
        # "Accounting", "Type") took the name, and the models became `Comments1`, `Description2`,
        # `Accounting1`, and the order's type `Type1` beside a `Type` that is a segment's string
        assert titled == [], name


def test_no_schema_gives_its_type_as_a_list() -> None:
    # Given the published documents
    for name, document in _documents().items():
        # When ajv compiles them in strict mode, whose strictTypes refuses `"type": [...]` unless
        # allowUnionTypes is set
        unions = [part.get("title") for part in subschemas(document) if isinstance(part.get("type"), list)]
        # Then no schema names several types: an anyOf of one schema per type says the same
        assert unions == [], name
