"""Pure cXML: hardened parsing into models, strict rendering, status codes. No AWS, no environment."""

from .errors import CXMLError, status_for
from .parser import DEFAULT_LIMITS, ParseLimits, parse_xml
from .reader import read_document, read_tree
from .status import StatusCode
from .writer import DEFAULT_VERSION, RenderError, new_envelope, new_payload_id, render, render_status

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
    "read_tree",
    "render",
    "render_status",
    "status_for",
]
