"""Pure cXML: hardened parsing into models, strict rendering, status codes. No AWS, no environment.

The names below are loaded on first use (PEP 562): importing ``punchout.cxml.models`` or
``.errors`` (as the shop's JSON routes do) must not load the parser, reader and writer with lxml,
which would lengthen every cold start of a function that never reads or writes a document.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import CXMLError, status_for
    from .parser import DEFAULT_LIMITS, ParseLimits, parse_xml
    from .reader import read_document, read_request, read_request_head, read_tree
    from .status import StatusCode
    from .writer import DEFAULT_VERSION, RenderError, new_envelope, new_payload_id, render, render_status

_EXPORTS = {
    "CXMLError": ".errors",
    "status_for": ".errors",
    "DEFAULT_LIMITS": ".parser",
    "ParseLimits": ".parser",
    "parse_xml": ".parser",
    "read_document": ".reader",
    "read_request": ".reader",
    "read_request_head": ".reader",
    "read_tree": ".reader",
    "StatusCode": ".status",
    "DEFAULT_VERSION": ".writer",
    "RenderError": ".writer",
    "new_envelope": ".writer",
    "new_payload_id": ".writer",
    "render": ".writer",
    "render_status": ".writer",
}

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_VERSION",
    "CXMLError",
    "ParseLimits",
    "RenderError",
    "StatusCode",
    "new_envelope",
    "new_payload_id",
    "parse_xml",
    "read_document",
    "read_request",
    "read_request_head",
    "read_tree",
    "render",
    "render_status",
    "status_for",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
