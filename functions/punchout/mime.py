"""``multipart/related`` bodies: an OrderRequest with attachments (cXML User's Guide, "Attachments").

The cXML document is the ``start`` part (or the first part); the others are attachments that the
document's ``Comments/Attachment/URL`` elements reference as ``cid:<Content-ID>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from .cxml.errors import MalformedXML

if TYPE_CHECKING:
    from email.message import Message
    from email.policy import Compat32


@dataclass(frozen=True)
class MimePart:
    content_id: str
    content_type: str
    filename: str | None
    data: bytes


_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*"?([^";\s]+)""", re.IGNORECASE)
_BOUNDARY = re.compile(r"""(?:^|;)\s*boundary\s*=\s*(?:"([^"]+)"|([^";\s]+))""", re.IGNORECASE)
# The email parser's work grows with parts and nesting, and it runs before anyone is authenticated:
# an order and its attachments need a handful of parts, never nesting.
MAX_PARTS = 100
_MAX_DELIMITER_LINES = 10_000  # lines starting with "--" at all: nested multiparts' delimiters included
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# The email package reads a header's parameters in time that grows with their number times the header's
# length (a part's Content-Type of 1,280,000 ";" took 54 s, before anyone is authenticated); no part of
# an order needs more than a few.
MAX_HEADER_PARAMETERS = 64
# A file name in RFC 2047 encoded words (=?UTF-8?B?...?=, as some mail libraries write it) is decoded
# up to this length; a longer one is kept as sent (only its first 1,000 characters are kept anyway).
_MAX_ENCODED_FILENAME_CHARS = 4_000


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().lstrip().startswith("multipart/")


def media_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a media type (``text/xml; charset=ISO-8859-1``), if any."""
    found = _CHARSET.search(content_type or "")
    return found.group(1) if found else None


@cache
def _policy() -> Compat32:
    """compat32, whose header values are the text as sent and whose parameters are read with plain string
    operations: policy.default's structured header parser takes quadratic time on some values (a part
    whose Content-Type held 8,000 ";" took 1.8 s; a 3 MB body of nested parts, each with 300, 146 s)."""
    from email.message import Message
    from email.policy import Compat32

    class _Part(Message):
        # Every parameter read goes through these two (boundaries while parsing, charsets, file names).
        def get_params(self, failobj: Any = None, header: str = "content-type", unquote: bool = True) -> Any:
            _check_parameters(self, header)
            return super().get_params(failobj, header, unquote)

        def get_param(self, param: str, failobj: Any = None, header: str = "content-type", unquote: bool = True) -> Any:
            _check_parameters(self, header)
            return super().get_param(param, failobj, header, unquote)

    class _RawUtf8(Compat32):
        def header_fetch_parse(self, name: str, value: str) -> str:
            # Unfolded; the parser keeps bytes beyond ASCII as surrogates, which senders write in UTF-8.
            return _FOLD.sub("", value).encode("ascii", "surrogateescape").decode("utf-8", "replace")

    return _RawUtf8(message_factory=_Part)


def _check_parameters(part: Message, header: str) -> None:
    value = part.get(header)
    if value is not None and str(value).count(";") > MAX_HEADER_PARAMETERS:
        raise MalformedXML(f"A part's {header.title()} has more than {MAX_HEADER_PARAMETERS} parameters")


def _content_id(part: Message) -> str:
    return str(part.get("Content-ID", "")).strip().strip("<>")


def _filename(part: Message) -> str | None:
    from email.errors import HeaderParseError
    from email.header import decode_header, make_header

    name = part.get_filename()
    if name is None or "=?" not in name or len(name) > _MAX_ENCODED_FILENAME_CHARS:
        return name
    try:
        return str(make_header(decode_header(name)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):  # not encoded words after all
        return name


def split_related(content_type: str, body: bytes) -> tuple[bytes, str | None, list[MimePart]]:
    """The cXML document, its part's charset, and the attachments of a ``multipart/related`` body."""
    # Imported here: the email package costs a cold start tens of milliseconds, and few requests are multipart.
    from email.message import Message
    from email.parser import BytesParser

    found = _BOUNDARY.search(content_type)
    if found is None:
        raise MalformedXML("The multipart body has no boundary parameter")
    boundary = (found.group(1) or found.group(2)).encode("latin-1", errors="replace")
    if body.count(b"--" + boundary) > MAX_PARTS + 1 or body.count(b"\n--") > _MAX_DELIMITER_LINES:
        raise MalformedXML(f"The multipart body has more than {MAX_PARTS} parts")
    head = f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n".encode("latin-1", errors="replace")
    try:
        message = BytesParser(policy=_policy()).parsebytes(head + body)
    except RecursionError:
        raise MalformedXML("The multipart body nests parts too deeply") from None
    if not message.is_multipart():
        raise MalformedXML("The multipart body could not be parsed (check the boundary)")
    parts = [p for p in message.get_payload() if isinstance(p, Message)]
    if not parts:
        raise MalformedXML("The multipart body has no parts")
    for part in parts:  # whether or not their parameters are read below
        _check_parameters(part, "content-type")
        _check_parameters(part, "content-disposition")
    start = str(message.get_param("start", "", header="Content-Type") or "").strip().strip("<>")
    root = next((p for p in parts if start and _content_id(p) == start), None)
    if root is None:
        root = next((p for p in parts if "xml" in p.get_content_type()), parts[0])
    attachments = [
        MimePart(
            content_id=_content_id(part),
            content_type=part.get_content_type(),
            filename=_filename(part),
            data=part.get_payload(decode=True) or b"",  # type: ignore[arg-type]
        )
        for part in parts
        if part is not root
    ]
    return root.get_payload(decode=True) or b"", root.get_content_charset(), attachments  # type: ignore[return-value]
