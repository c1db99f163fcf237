"""Typed refusals of the cXML layer and the one mapping from errors to cXML statuses.

Every error carries a short text that is safe to send back to the buyer: it names what was wrong
with the document but never echoes secrets or internal details.
"""

from __future__ import annotations

from .status import StatusCode


class CXMLError(Exception):
    """Base of every error that ends a cXML exchange with a ``Response/Status``."""

    status: StatusCode = StatusCode.BAD_REQUEST

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# 406: the bytes cannot be turned into an XML tree we are willing to read.
class NotAcceptable(CXMLError):
    status = StatusCode.NOT_ACCEPTABLE


class MalformedXML(NotAcceptable):
    """Not well-formed XML."""


class DocumentTooLarge(NotAcceptable):
    """The body exceeds the configured size limit."""


class DocumentTooDeep(NotAcceptable):
    """Elements nest deeper than the configured limit."""


class UnsafeXML(NotAcceptable):
    """A DTD internal subset, an entity declaration or an entity reference: never processed."""


class EncodingError(NotAcceptable):
    """The bytes do not decode in the declared (or default) encoding, or the encoding is unsupported."""


# 400: well-formed XML that is not a usable cXML document.
class InvalidDocument(CXMLError):
    status = StatusCode.BAD_REQUEST


class Unauthorized(CXMLError):
    status = StatusCode.UNAUTHORIZED


class Forbidden(CXMLError):
    status = StatusCode.FORBIDDEN


class Conflict(CXMLError):
    status = StatusCode.CONFLICT


class PreconditionFailed(CXMLError):
    status = StatusCode.PRECONDITION_FAILED


class ReferenceUnknown(CXMLError):
    """A referenced document (an earlier order version, an earlier cart) is unknown."""

    status = StatusCode.EXPECTATION_FAILED


class NotImplementedRequest(CXMLError):
    """A request type or operation the gateway does not support."""

    status = StatusCode.NOT_IMPLEMENTED


class TemporaryFailure(CXMLError):
    """Something we depend on failed; the buyer should retry."""

    status = StatusCode.TEMPORARY_SERVER_ERROR


INTERNAL_ERROR_TEXT = "The request could not be processed; please retry later"


def status_for(error: BaseException) -> tuple[StatusCode, str]:
    """The cXML status and text that answer ``error``.

    Anything that is not one of ours is an unexpected fault: the buyer gets a retryable 500 with a
    generic text, never the exception's message (it may carry internals).
    """
    if isinstance(error, CXMLError):
        return error.status, error.text
    return StatusCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_TEXT
