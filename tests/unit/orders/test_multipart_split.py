"""``split_related`` splits a body as the email package does, without reading the parts' bodies line by line.

The oracle is the email package itself reading the whole body (as the gateway did until parts of parts, or
many short lines, made that too slow before anyone is authenticated).
"""

from __future__ import annotations

import base64
import quopri
from email.message import Message
from email.parser import BytesParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punchout.mime import _policy, split_related

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
