"""The cXML status codes the gateway answers with (cXML User's Guide, "Status codes").

The body's ``Status@code`` is authoritative for buyers; the HTTP status mirrors it where HTTP has
an equivalent so that intermediaries (API Gateway metrics, load balancers) see the same class.
"""

from __future__ import annotations

from enum import IntEnum


class StatusCode(IntEnum):
    OK = 200
    ACCEPTED = 201
    NO_CONTENT = 204
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_ACCEPTABLE = 406
    CONFLICT = 409
    PRECONDITION_FAILED = 412
    EXPECTATION_FAILED = 417
    NOT_IMPLEMENTED = 450
    INTERNAL_SERVER_ERROR = 500
    TEMPORARY_SERVER_ERROR = 560

    @property
    def text(self) -> str:
        """The short ``Status@text`` that goes with the code."""
        return _TEXTS[self]

    @property
    def http_status(self) -> int:
        """The HTTP status for the answer carrying this cXML status.

        cXML-only codes map onto their HTTP class: 450 is a permanent refusal (a 4xx buyers never
        retry), 560 a transient one (a 5xx buyers retry).
        """
        return _HTTP.get(self, int(self))

    @property
    def is_transient(self) -> bool:
        """Buyers retry 5xx answers; everything else is final."""
        return int(self) >= 500


_TEXTS = {
    StatusCode.OK: "OK",
    StatusCode.ACCEPTED: "Accepted",
    StatusCode.NO_CONTENT: "No Content",
    StatusCode.BAD_REQUEST: "Bad Request",
    StatusCode.UNAUTHORIZED: "Unauthorized",
    StatusCode.FORBIDDEN: "Forbidden",
    StatusCode.NOT_ACCEPTABLE: "Not Acceptable",
    StatusCode.CONFLICT: "Conflict",
    StatusCode.PRECONDITION_FAILED: "Precondition Failed",
    StatusCode.EXPECTATION_FAILED: "Expectation Failed",
    StatusCode.NOT_IMPLEMENTED: "Not Implemented",
    StatusCode.INTERNAL_SERVER_ERROR: "Internal Server Error",
    StatusCode.TEMPORARY_SERVER_ERROR: "Temporary server error",
}

_HTTP = {
    StatusCode.NO_CONTENT: 200,  # a 204 HTTP answer may not carry the cXML body
    StatusCode.NOT_IMPLEMENTED: 400,
    StatusCode.TEMPORARY_SERVER_ERROR: 503,
}
