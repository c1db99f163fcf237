"""Every list and dict field of our models defaults through ``empty_list()`` / ``empty_dict()``.

A ``Field(default=[])`` is deep-copied by pydantic for each instance (a sixth of reading a 1,000-line
order), and ``default_factory=list`` costs ~1 ms per field at a cold start (see ``cxml.models.empty_list``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from pydantic import BaseModel

import order_message
import order_request
import punchout
import setup_request
from punchout.cxml.models import ItemOut, empty_dict, empty_list


def _our_models() -> Iterator[type[BaseModel]]:
    for package in (punchout, setup_request, order_message, order_request):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.split(".")[0] in {"punchout", "setup_request", "order_message", "order_request"}:
            yield model


def test_no_field_defaults_to_a_copied_or_builtin_made_container() -> None:
    # Given every field of every model of ours
    fields = [(model, name, field) for model in _our_models() for name, field in model.model_fields.items()]
    assert {"ItemOut", "Session", "OrderLine"} <= {model.__name__ for model, _, _ in fields}
    # Then no container default is copied for each instance or made by a builtin
    copied = [
        f"{model.__module__}.{model.__qualname__}.{name}"
        for model, name, field in fields
        if isinstance(field.default, list | dict | set) or field.default_factory in (list, dict, set)
    ]
    assert copied == [], "use empty_list() / empty_dict()"


def test_empty_defaults_are_new_for_each_instance_and_published_as_empty() -> None:
    # Given two lines without distributions
    first = ItemOut.model_validate({"quantity": "1", "item_id": {"supplier_part_id": "A"}})
    second = ItemOut.model_validate({"quantity": "1", "item_id": {"supplier_part_id": "B"}})
    # Then each has its own empty list, and the schema still says the default is []
    assert first.distributions == [] and second.distributions == []
    assert first.distributions is not second.distributions
    assert ItemOut.model_json_schema()["properties"]["distributions"]["default"] == []
    assert empty_dict().json_schema_extra == {"default": {}}
    assert empty_list(max_length=2).metadata  # constraints pass through
