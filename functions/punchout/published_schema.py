"""The JSON Schema generator of the gateway's published documents (``order_request.schema``,
``order_message.openapi``; never imported by a function).

What the gateway sends (order messages, the shop API's answers) is described open: within a schema id
(``punchout.order.v1``) and the API's version, releases only add fields, and a consumer validating with
the copy it downloaded, or a client generated from it, must take a message or answer carrying fields
added after that copy. What the gateway receives (the cart, the transfer request) stays closed: it
refuses a field it does not know (422), and its schema says so. A model used both ways is then two
schemas, and pydantic names them ``<Model>-Input`` and ``<Model>-Output``.
"""

from __future__ import annotations

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema


class PublishedJsonSchema(GenerateJsonSchema):
    """Closes an object (``extra="forbid"``) in validation mode only: the serialization schema of a
    model, what the gateway sends, lets its reader ignore the fields a later release adds."""

    def _opened(self, json_schema: JsonSchemaValue) -> JsonSchemaValue:
        if self.mode == "serialization" and json_schema.get("additionalProperties") is False:
            del json_schema["additionalProperties"]
        return json_schema

    def field_title_should_be_set(self, schema: core_schema.CoreSchema | core_schema.ModelField) -> bool:
        # Only models are titled (their names): pydantic titles every other field after its name, and
        # json-schema-to-typescript names a type after each title, so a field "comments" took the name
        # `Comments` from the model of that name (generated as `Comments1`), and "type" `Type` from the
        # order's type (`Type1`).
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        if self.mode == "serialization":
            # A field left out of what the gateway sends when it holds its default (``exclude_if``) is
            # described without that default: generators (openapi-typescript's defaultNonNullable) type a
            # property with a default as always present, and a client reading it would meet `undefined`.
            properties = json_schema.get("properties", {})
            for name, field in schema["cls"].model_fields.items():
                if field.exclude_if is not None:
                    properties.get(field.serialization_alias or field.alias or name, {}).pop("default", None)
        return self._opened(json_schema)

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        return self._opened(super().dataclass_schema(schema))

    def typed_dict_schema(self, schema: core_schema.TypedDictSchema) -> JsonSchemaValue:
        return self._opened(super().typed_dict_schema(schema))
