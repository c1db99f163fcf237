"""``split_related`` splits a body as the email package does, without reading the parts' bodies line by line.

The oracle is the email package itself reading the whole body (as the gateway did until parts of parts, or
many short lines, made that too slow before anyone is authenticated).
"""

from __future__ import annotations

import base64
import quopri
from email.message import Message
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punchout.cxml.errors import MalformedXML
from punchout.mime import (
    MimePart,
    _policy,
    is_multipart,
    media_charset,
    split_related,
)

Reading = tuple[bytes, str | None, list[tuple[str, str, str | None, bytes]]]


def read_by_the_email_package(content_type: str, body: bytes) -> Reading:
    """What the gateway read from a multipart body before it split bodies itself (no nesting here)."""
    message = BytesParser(policy=_policy()).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = [part for part in message.get_payload() if isinstance(part, Message)]
    start = str(message.get_param("start", "") or "").strip().strip("<>")

    def content_id(part: Message) -> str:
        return str(part.get("Content-ID", "")).strip().strip("<>")

    root = next((p for p in parts if start and content_id(p) == start), None)
    if root is None:
        root = next((p for p in parts if "xml" in p.get_content_type()), parts[0])
    others = [part for part in parts if part is not root]
    attachments = [(content_id(p), p.get_content_type(), p.get_filename(), p.get_payload(decode=True)) for p in others]
    return root.get_payload(decode=True), root.get_content_charset(), attachments  # type: ignore[return-value]


def read_by_the_gateway(content_type: str, body: bytes) -> Reading:
    document, charset, attachments = split_related(content_type, body)
    return document, charset, [(a.content_id, a.content_type, a.filename, a.data) for a in attachments]


LINE_ENDS = st.sampled_from([b"\r\n", b"\n", b"\r"])
# Text and bytes that hold no "-": no delimiter line but the ones a case writes.
TEXT = st.binary(max_size=40).map(lambda data: data.replace(b"-", b"_"))
HEADERS = [
    b"Content-Type: text/xml; charset=ISO-8859-1",
    b"Content-Type: application/xml",
    b"Content-Type: application/pdf",
    b'Content-Type: text/plain; name="a;b"',
    b"Content-ID: <doc@buyer.example>",
    b"Content-ID: <part@buyer.example>",
    b'Content-Disposition: attachment; filename="drawing.pdf"',
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt",
    b"X-Folded: a{eol} b{eol}\tc",
    b"From someone",
    b"not a header",
]


@st.composite
def parts(draw: st.DrawFn, boundary: bytes, eol: bytes) -> bytes:
    headers = [h.replace(b"{eol}", eol) for h in draw(st.lists(st.sampled_from(HEADERS), max_size=4))]
    data = draw(TEXT)
    encoding = draw(st.sampled_from([None, b"base64", b"quoted-printable", b"8bit"]))
    if encoding == b"base64":
        data = base64.encodebytes(data).replace(b"\n", eol)
    elif encoding == b"quoted-printable":
        data = quopri.encodestring(data).replace(b"-", b"=2D")
    if encoding:
        headers.append(b"Content-Transfer-Encoding: " + encoding)
    padding = draw(st.sampled_from([b"", b" ", b"\t "]))
    blank = draw(st.sampled_from([eol, eol, b""]))  # a part may lack the line that ends its headers
    lines = draw(st.sampled_from([b"", eol + b"more" + eol, eol + b"--not the boundary" + eol]))
    delimiter = b"--" + boundary + padding + eol
    doubled = delimiter if draw(st.booleans()) and draw(st.booleans()) else b""
    return doubled + delimiter + b"".join(h + eol for h in headers) + blank + data + lines + eol


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    eol = draw(LINE_ENDS)
    boundary = draw(st.sampled_from([b"B", b"----=_Part_7_1.2", b"a b", b"x'(y)+_,./:=?"]))
    content_type = f'multipart/related; boundary="{boundary.decode()}"'
    if draw(st.booleans()):
        content_type += '; type="text/xml"; start="<doc@buyer.example>"'
    preamble = draw(st.sampled_from([b"", b"This is a multi-part message" + eol]))
    body = preamble + b"".join(draw(st.lists(parts(boundary, eol), min_size=1, max_size=4)))
    close = draw(st.sampled_from([b"--" + boundary + b"--" + eol, b"--" + boundary + b"-- ", b""]))
    epilogue = draw(st.sampled_from([b"", b"epilogue" + eol + b"--" + boundary + eol + b"more"]))
    return content_type, body + close + (epilogue if close else b"")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies())
def test_a_body_is_read_as_the_email_package_reads_it(case: tuple[str, bytes]) -> None:
    # Given a multipart body, its line ends, padding, preamble and epilogue as senders write them
    content_type, body = case
    # When the gateway splits it, Then it finds what the email package finds reading the whole body
    assert read_by_the_gateway(content_type, body) == read_by_the_email_package(content_type, body)


def test_a_part_that_is_itself_multipart_is_kept_whole() -> None:
    # Given an attachment with parts of its own, each of them delimited
    inner = b"--C\r\nContent-Type: text/plain\r\n\r\nx\r\n--C\r\nContent-Type: text/plain\r\n\r\ny\r\n--C--"
    body = (
        b"--B\r\nContent-Type: text/xml\r\n\r\n<cXML/>\r\n"
        b'--B\r\nContent-Type: multipart/mixed; boundary="C"\r\nContent-ID: <mail@x>\r\n\r\n' + inner + b"\r\n--B--\r\n"
    )
    # When the body is split
    document, _, attachments = split_related('multipart/related; boundary="B"', body)
    # Then the attachment is its bytes as sent, its parts unread (the email package gave nothing for it)
    assert document == b"<cXML/>"
    assert [(a.content_id, a.content_type, a.data) for a in attachments] == [("mail@x", "multipart/mixed", inner)]


DOCUMENT_PART = b"--B\r\nContent-Type: text/xml\r\n\r\n<cXML/>\r\n"


def _attachment_headers(*headers: bytes, eol: bytes = b"\r\n") -> MimePart:
    """The one attachment of a body whose second part has these header lines."""
    body = DOCUMENT_PART + b"--B" + eol + b"".join(h + eol for h in headers) + eol + b"x" + eol + b"--B--"
    [attachment] = split_related('multipart/related; boundary="B"', body)[2]
    return attachment


@pytest.mark.parametrize(
    ("content_type", "multipart"),
    [
        ('multipart/related; boundary="B"', True),
        ('Multipart/Related; boundary="B"', True),
        (' multipart/related; boundary="B"', True),
        ("text/xml; charset=UTF-8", False),
        ("multipartial/related", False),
        (None, False),
    ],
)
def test_a_multipart_media_type_is_told_whatever_its_case_and_leading_space(
    content_type: str | None, multipart: bool
) -> None:
    # Given a request's Content-Type, in the case and spacing a sender wrote
    # When it is asked whether the body is multipart
    # Then only a multipart/ media type is, in any case
    assert is_multipart(content_type) is multipart


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("text/xml; charset=ISO-8859-1", "ISO-8859-1"),
        ('text/xml;CHARSET="utf-8"', "utf-8"),
        ("text/xml; charset=utf-8; format=flowed", "utf-8"),
        ("text/xml; mycharset=utf-8", None),
        ("text/xml", None),
    ],
)
def test_the_charset_parameter_is_read_alone(content_type: str, charset: str | None) -> None:
    # Given a media type with or without a charset parameter, another parameter after it, or one merely
    # ending in "charset"
    # When its charset is read
    # Then it is that parameter's value only, in any case of its name
    assert media_charset(content_type) == charset


@pytest.mark.parametrize(
    ("content_type", "body", "refusal"),
    [
        ("multipart/related", DOCUMENT_PART + b"--B--", "no boundary parameter"),
        ('multipart/related; boundary="\xe9"', DOCUMENT_PART + b"--B--", "could not be parsed"),
        ('multipart/related/x; boundary="B"', DOCUMENT_PART + b"--B--", "could not be parsed"),
        ('multipart/related; boundary="B"', b"--B\r\n--B--\r\n", "has no parts"),
    ],
    ids=["no-boundary", "non-ascii-boundary", "not-a-media-type", "no-part"],
)
def test_a_body_that_cannot_be_split_is_refused_as_malformed(content_type: str, body: bytes, refusal: str) -> None:
    # Given a multipart body without a usable boundary, or whose delimiters enclose no part
    # When it is split
    # Then it is refused as unusable (406), saying why, not failed with another error (500)
    with pytest.raises(MalformedXML, match=refusal):
        split_related(content_type, body)


def test_a_delimiter_ending_the_body_adds_no_part() -> None:
    # Given a body whose last delimiter line is not the close delimiter, and nothing after it
    body = DOCUMENT_PART + b"--B\r\n"
    # When it is split
    document, _, attachments = split_related('multipart/related; boundary="B"', body)
    # Then there is the document and no empty attachment after it
    assert (document, attachments) == (b"<cXML/>", [])


@pytest.mark.parametrize("close", [b"--B--\r\n", b""], ids=["closed", "not-closed"])
@pytest.mark.parametrize(("count", "refused"), [(100, False), (101, True)])
def test_a_body_may_have_up_to_100_parts(count: int, refused: bool, close: bytes) -> None:
    # Given a body of that many parts (the document and attachments), with or without its close delimiter
    body = DOCUMENT_PART + b"".join(b"--B\r\nContent-ID: <%d@x>\r\n\r\nx\r\n" % n for n in range(count - 1)) + close
    # When it is split
    # Then up to 100 parts are read; more are refused before any is read
    if refused:
        with pytest.raises(MalformedXML, match="more than 100 parts"):
            split_related('multipart/related; boundary="B"', body)
    else:
        assert len(split_related('multipart/related; boundary="B"', body)[2]) == count - 1


@pytest.mark.parametrize(("count", "refused"), [(100, False), (101, True)])
def test_a_part_may_have_up_to_100_header_lines(count: int, refused: bool) -> None:
    # Given an attachment of that many header lines, its Content-ID last
    headers = [b"X-Line: %d" % n for n in range(count - 1)] + [b"Content-ID: <last@x>"]
    # When the body is split
    # Then up to 100 lines are read; more are refused
    if refused:
        with pytest.raises(MalformedXML, match="more than 100 header lines"):
            _attachment_headers(*headers)
    else:
        assert _attachment_headers(*headers).content_id == "last@x"


def test_a_content_id_is_read_without_the_spaces_around_its_brackets() -> None:
    # Given an attachment whose Content-ID has spaces after its closing bracket
    # When the body is split
    # Then its Content-ID is what the brackets enclose
    assert _attachment_headers(b"Content-ID: <drawing@buyer.example>  ").content_id == "drawing@buyer.example"


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_a_folded_file_name_is_read_unfolded(eol: bytes) -> None:
    # Given an attachment whose quoted file name is folded over two lines
    header = b'Content-Disposition: attachment; filename="long' + eol + b' name.pdf"'
    # When the body is split
    # Then the file name is read as one line
    assert _attachment_headers(header, eol=eol).filename == "long name.pdf"


def test_a_file_name_in_raw_utf8_is_read_as_utf8() -> None:
    # Given an attachment whose file name is written in UTF-8, not in encoded words
    name = "€ Zeichnung.pdf"
    # When the body is split
    # Then the file name is read as written
    assert _attachment_headers(f'Content-Disposition: attachment; filename="{name}"'.encode()).filename == name


@pytest.mark.parametrize(("length", "decoded"), [(4_000, True), (4_001, False)])
def test_a_file_name_in_encoded_words_is_decoded_up_to_4000_characters(length: int, decoded: bool) -> None:
    # Given an attachment whose file name is one encoded word of that length
    name = "=?UTF-8?Q?" + "a" * (length - 12) + "?="
    # When the body is split
    filename = _attachment_headers(f'Content-Disposition: attachment; filename="{name}"'.encode()).filename
    # Then it is decoded up to 4,000 characters, and kept as sent beyond
    assert filename == ("a" * (length - 12) if decoded else name)


def test_a_file_name_in_encoded_words_of_an_unknown_charset_is_kept_as_sent() -> None:
    # Given an attachment whose file name looks like an encoded word in a charset Python does not know
    name = "=?x-unknown?Q?drawing?=.pdf"
    # When the body is split
    # Then the file name is kept as sent, the body not refused
    assert _attachment_headers(f'Content-Disposition: attachment; filename="{name}"'.encode()).filename == name


@pytest.mark.parametrize(
    ("content_type", "body", "header"),
    [
        ('multipart/related; boundary="B"' + "; x=1" * 65, DOCUMENT_PART + b"--B--", "Content-Type"),
        (
            'multipart/related; boundary="B"',
            b"--B\r\nContent-Type: text/xml\r\nContent-Disposition: inline"
            + b"; x=1" * 65
            + b"\r\n\r\n<cXML/>\r\n--B--",
            "Content-Disposition",
        ),
    ],
    ids=["request-content-type", "document-content-disposition"],
)
def test_a_header_of_more_than_64_parameters_is_refused_wherever_it_is(
    content_type: str, body: bytes, header: str
) -> None:
    # Given 65 parameters in the request's own Content-Type, or in the document part's Content-Disposition
    # (which nothing reads)
    # When the body is split
    # Then it is refused as unusable before any parameter is read
    with pytest.raises(MalformedXML, match=f"A part's {header} has more than 64 parameters"):
        split_related(content_type, body)
