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
# An order and its attachments need a handful of parts (each one's headers go through the email package).
MAX_PARTS = 100
# A part's header lines, continuation lines included: a part has a handful. The email package finds each
# header it is asked for by going through all of them (a 6 MB body of header lines took 6 s, before
# anyone is authenticated).
MAX_PART_HEADER_LINES = 100
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# The email package reads a header's parameters in time that grows with their number times the header's
# length (a part's Content-Type of 1,280,000 ";" took 54 s, before anyone is authenticated); no part of
# an order needs more than a few.
MAX_HEADER_PARAMETERS = 64
# A file name in RFC 2047 encoded words (=?UTF-8?B?...?=, as some mail libraries write it) is decoded
# up to this length; a longer one is kept as sent (only its first 1,000 characters are kept anyway).
_MAX_ENCODED_FILENAME_CHARS = 4_000
# What follows "--" and the boundary on a delimiter line (RFC 2046 5.1.1): "--" on the last one, then
# spaces or tabs up to the line's end, as the email package reads it.
_DELIMITER_END = re.compile(rb"(--)?[ \t]*+(?:\r\n|\r|\n|\Z)")
# A header line or a continuation line, as the email package tells them from the body.
_HEADER_LINE = re.compile(rb"(?:From |[\041-\071\073-\176]*+:|[ \t])[^\r\n]*+(?:\r\n|\r|\n)?")
_LINE_END = re.compile(rb"\r\n|\r|\n")


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


def _split(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts' bytes between the delimiter lines; None without any delimiter. The preamble and the
    epilogue are left out, as is what two delimiter lines in a row enclose."""
    separator = b"--" + boundary
    parts: list[bytes] | None = None
    start = 0
    found = body.find(separator)
    while found >= 0:
        at_line_start = found == 0 or body[found - 1] in b"\r\n"
        end = _DELIMITER_END.match(body, found + len(separator)) if at_line_start else None
        if end is not None:
            if parts is not None and found > start:  # two delimiter lines in a row enclose no part
                parts.append(body[start:found])
            if end.group(1):  # the close delimiter (before any other: no part at all)
                return parts
            parts, start = parts or [], end.end()
        found = body.find(separator, found + len(separator))
    if parts is not None and start < len(body):  # no close delimiter: the last part runs to the end
        parts.append(body[start:])
    return parts


def _without_line_end(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\r", "\n")) else text


def _part(data: bytes) -> Message:
    """One part: its header lines read by the email package, its body kept as sent. A part that is itself
    multipart is not split: no part of an order needs nesting, and the email package read nested parts in
    time that grows with their depth times the lines below them (4 MB 200 deep: 167 s)."""
    from email.parser import BytesParser

    position = lines = 0
    while line := _HEADER_LINE.match(data, position):
        lines += 1
        if lines > MAX_PART_HEADER_LINES:
            raise MalformedXML(f"A part has more than {MAX_PART_HEADER_LINES} header lines")
        position = line.end()
    blank = _LINE_END.match(data, position)  # the line that ends the headers, if any
    part = BytesParser(policy=_policy()).parsebytes(data[:position], headersonly=True)
    # What the headers' reading left (a "From " line last) starts the body, as it would after a blank line
    # too. The line end before the next delimiter belongs to the delimiter (RFC 2046).
    head = part.get_payload()
    assert isinstance(head, str)  # noqa: S101 - headersonly: the text after the headers
    body = head + data[blank.end() if blank else position :].decode("ascii", "surrogateescape")
    part.set_payload(_without_line_end(body))
    return part


def split_related(content_type: str, body: bytes) -> tuple[bytes, str | None, list[MimePart]]:
    """The cXML document, its part's charset, and the attachments of a ``multipart/related`` body.

    The body is split here, in one pass, and only each part's headers go through the email package."""
    # Imported here: the email package costs a cold start tens of milliseconds, and few requests are multipart.
    from email.parser import BytesParser

    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=_policy()).parsebytes(head, headersonly=True)
    boundary = message.get_boundary()
    if not boundary:
        raise MalformedXML("The multipart body has no boundary parameter")
    if message.get_content_maintype() != "multipart" or not boundary.isascii():
        raise MalformedXML("The multipart body could not be parsed (check the boundary)")
    # Each part's delimiter line and the close delimiter, counted before anything is split; a body without
    # its close delimiter has one part more than that count allows for, refused once it is split.
    too_many = MalformedXML(f"The multipart body has more than {MAX_PARTS} parts")
    if body.count(b"--" + boundary.encode("ascii")) > MAX_PARTS + 1:
        raise too_many
    split = _split(body, boundary.encode("ascii"))
    if split is None:
        raise MalformedXML("The multipart body could not be parsed (check the boundary)")
    if len(split) > MAX_PARTS:
        raise too_many
    parts = [_part(data) for data in split]
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
