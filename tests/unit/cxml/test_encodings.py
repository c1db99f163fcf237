"""Encodings and prologs real buyers send: each is read, and non-ASCII text comes through intact."""

from __future__ import annotations

import codecs

import pytest

from punchout.cxml import parse_xml, read_document, read_tree
from punchout.cxml.errors import EncodingError, MalformedXML
from punchout.cxml.models import PunchOutSetupRequest, RequestDocument

from ._support import setup_request_xml

NAME = "José Müller"


def with_declaration(encoding: str, extension: str = "") -> str:
    """A setup request declaring ``encoding``, whose Extrinsic UserName is ``NAME + extension``."""
    text = setup_request_xml(f'<Extrinsic name="UserName">{NAME}{extension}</Extrinsic>')
    return text.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)


def user_name(data: bytes) -> str:
    document = read_document(data)
    assert isinstance(document, RequestDocument)
    assert isinstance(document.request, PunchOutSetupRequest)
    return document.request.extrinsics[0].value


def test_utf8_with_bom_is_read() -> None:
    # Given a UTF-8 document starting with a byte order mark
    data = codecs.BOM_UTF8 + with_declaration("UTF-8").encode("utf-8")

    # When it is read
    # Then the non-ASCII name comes through
    assert user_name(data) == NAME


@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf16_with_bom_declared_utf16_is_read(codec: str, bom: bytes) -> None:
    # Given a document declared UTF-16, encoded little- or big-endian with a byte order mark
    data = bom + with_declaration("UTF-16", " €").encode(codec)

    # When it is read
    # Then the name comes through, euro sign included
    assert user_name(data) == f"{NAME} €"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_declared_utf16_is_read(codec: str) -> None:
    # Given a document declared UTF-16 without byte order mark, in either byte order (its first "<" shows which)
    data = with_declaration("UTF-16", " €").encode(codec)
    assert data[:4] in (b"<\x00?\x00", b"\x00<\x00?")

    # When it is read, with no charset to help
    # Then the name comes through, euro sign included
    assert user_name(data) == f"{NAME} €"


def test_iso_8859_1_is_read() -> None:
    # Given a document declared and encoded ISO-8859-1
    data = with_declaration("ISO-8859-1").encode("iso-8859-1")

    # When it is read
    # Then 'é' and 'ü' come through
    assert user_name(data) == NAME


def test_iso_8859_15_is_read_with_the_euro_sign() -> None:
    # Given a document declared and encoded ISO-8859-15 (byte 0xA4 is the euro sign there)
    data = with_declaration("ISO-8859-15", " €").encode("iso-8859-15")
    assert b"\xa4" in data

    # When it is read
    # Then the euro sign comes through, not the ISO-8859-1 currency sign
    assert user_name(data) == f"{NAME} €"


def test_windows_1252_is_read_with_the_euro_sign() -> None:
    # Given a document declared and encoded windows-1252 (byte 0x80 is the euro sign there)
    data = with_declaration("windows-1252", " €").encode("cp1252")

    # When it is read
    # Then the euro sign comes through
    assert user_name(data) == f"{NAME} €"


def test_lowercase_encoding_name_is_read() -> None:
    # Given a document declaring its encoding in lower case
    data = with_declaration("iso-8859-1").encode("iso-8859-1")

    # When it is read
    # Then it is read like the upper-case spelling
    assert user_name(data) == NAME


def test_crlf_line_ends_are_read() -> None:
    # Given a document with Windows line ends
    data = with_declaration("UTF-8").replace("\n", "\r\n").encode("utf-8")
    assert b"\r\n" in data

    # When it is read
    # Then the values carry no stray carriage return
    assert user_name(data) == NAME


def test_document_without_xml_declaration_is_read_as_utf8() -> None:
    # Given a UTF-8 document without an XML declaration
    text = with_declaration("UTF-8")
    data = text[text.index("\n") + 1 :].encode("utf-8")
    assert not data.startswith(b"<?xml")

    # When it is read
    # Then it is taken as UTF-8
    assert user_name(data) == NAME


def test_document_without_doctype_is_read() -> None:
    # Given a document without DOCTYPE
    data = "\n".join(line for line in with_declaration("UTF-8").splitlines() if "DOCTYPE" not in line)
    assert "DOCTYPE" not in data

    # When it is read
    # Then nothing is missing
    assert user_name(data.encode("utf-8")) == NAME


# --- the media type's charset (Content-Type: text/xml; charset=...) -----------------------------------


def _without_declaration(text: str) -> str:
    return text[text.index("\n") + 1 :]


def read_with_charset(data: bytes, charset: str | None) -> str:
    document = read_tree(parse_xml(data, charset=charset))
    assert isinstance(document, RequestDocument)
    assert isinstance(document.request, PunchOutSetupRequest)
    return document.request.extrinsics[0].value


def test_a_document_without_declaration_is_read_in_the_media_types_charset() -> None:
    # Given an ISO-8859-1 document without an XML declaration, sent as text/xml; charset=ISO-8859-1
    data = _without_declaration(with_declaration("ISO-8859-1")).encode("iso-8859-1")
    # When it is read with that charset
    # Then 'é' and 'ü' come through
    assert read_with_charset(data, "ISO-8859-1") == NAME


def test_the_documents_declaration_wins_over_the_media_types_charset() -> None:
    # Given a document declared and encoded ISO-8859-1, sent with a default charset=UTF-8
    data = with_declaration("ISO-8859-1").encode("iso-8859-1")
    # When it is read
    # Then the declaration is followed
    assert read_with_charset(data, "UTF-8") == NAME


def test_a_us_ascii_charset_is_taken_for_utf8() -> None:
    # Given a UTF-8 document without declaration, sent with text/xml's old default charset=us-ascii
    data = _without_declaration(with_declaration("UTF-8")).encode("utf-8")
    # When it is read
    # Then it is read as UTF-8 (ASCII is a subset of it)
    assert read_with_charset(data, "us-ascii") == NAME


@pytest.mark.parametrize(
    ("charset", "codec"),
    [("UTF-16BE", "utf-16-be"), ("utf-16le", "utf-16-le"), ("UTF-16", "utf-16-be"), ("UTF-16", "utf-16-le")],
)
def test_a_utf16_document_without_bom_nor_declaration_is_read_in_the_media_types_charset(
    charset: str, codec: str
) -> None:
    # Given a UTF-16 document with neither byte order mark nor declaration, sent as text/xml; charset=UTF-16BE
    # (RFC 7303: the media type's charset is then the document's; a Java Writer in UTF-16BE writes no BOM)
    data = _without_declaration(with_declaration("UTF-8")).encode(codec)
    assert data[:2] in (b"\x00<", b"<\x00")
    # When it is read with that charset
    # Then 'é' and 'ü' come through
    assert read_with_charset(data, charset) == NAME


def test_a_document_not_in_the_utf16_byte_order_its_charset_names_is_406() -> None:
    # Given a UTF-16LE document without declaration, sent as charset=UTF-16BE
    data = _without_declaration(with_declaration("UTF-8")).encode("utf-16-le")
    # When it is read
    # Then it is refused as an encoding problem, naming the charset
    with pytest.raises(EncodingError) as refused:
        parse_xml(data, charset="UTF-16BE")
    assert refused.value.status == 406
    assert "UTF-16BE" in str(refused.value)


@pytest.mark.parametrize("charset", ["klingon", "UTF-32"])
def test_an_unsupported_charset_without_declaration_is_406(charset: str) -> None:
    # Given a document without a declaration, sent with a charset the gateway does not read
    data = _without_declaration(with_declaration("UTF-8")).encode("utf-8")
    # When it is read
    # Then it is refused as an encoding problem (406), naming the charset
    with pytest.raises(EncodingError) as refused:
        parse_xml(data, charset=charset)
    assert refused.value.status == 406
    assert charset in str(refused.value)


@pytest.mark.parametrize("leading", [b"\n", b"\r\n", b"  \t\r\n\n"], ids=["lf", "crlf", "mixed"])
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["no-bom", "utf8-bom"])
def test_white_space_before_the_xml_declaration_is_tolerated(leading: bytes, bom: bytes) -> None:
    # Given a document whose generator wrote a line break before its XML declaration (a template's
    # first line, a PHP file's trailing newline): not well-formed, but nothing in it is ambiguous
    encoding = "UTF-8" if bom else "ISO-8859-1"
    data = bom + leading + with_declaration(encoding).encode(encoding)
    # When it is read
    # Then it is read, in the encoding it declares
    assert read_with_charset(data, None) == NAME


def test_white_space_after_a_utf8_bom_does_not_lose_the_bom() -> None:
    # Given a document with a UTF-8 byte order mark and a line break before a declaration of another encoding
    data = codecs.BOM_UTF8 + b"\n" + with_declaration("ISO-8859-1").encode("ISO-8859-1")
    # When it is read
    # Then the two are found to disagree, as without the line break (not read as ISO-8859-1)
    with pytest.raises(EncodingError) as refused:
        parse_xml(data)
    assert "byte order mark" in str(refused.value)


@pytest.mark.parametrize("body", [b" ", b"\r\n", b"\n\t \n"], ids=["space", "crlf", "mixed"])
def test_a_body_of_white_space_only_is_refused_as_empty(body: bytes) -> None:
    # Given a request body holding nothing but white space (a client that sent no document)
    # When it is read
    with pytest.raises(MalformedXML) as refused:
        parse_xml(body)
    # Then it is refused (406) saying the body is empty, not pointing at a parser position in it
    assert refused.value.status == 406
    assert refused.value.text == "The request body is empty; a cXML document was expected"


@pytest.mark.parametrize(
    ("codec", "bom", "declared"),
    [("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16LE"), ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16BE")],
)
def test_utf16_with_bom_declaring_its_byte_order_is_read(codec: str, bom: bytes, declared: str) -> None:
    # Given a UTF-16 document with a byte order mark whose declaration names that very byte order
    data = bom + with_declaration(declared, " €").encode(codec)

    # When it is read
    # Then the name comes through
    assert user_name(data) == f"{NAME} €"


@pytest.mark.parametrize("declared", ["ISO-8859-1", "UTF-8", "UTF-16BE"])
def test_utf16_with_bom_declaring_another_encoding_is_406(declared: str) -> None:
    # Given a UTF-16LE document with its byte order mark, whose declaration names another encoding
    data = codecs.BOM_UTF16_LE + with_declaration(declared).encode("utf-16-le")

    # When it is read
    # Then the two are found to disagree: refused, not read in either
    with pytest.raises(EncodingError) as refused:
        parse_xml(data)
    assert refused.value.status == 406
    assert refused.value.text == f"The document is UTF-16 but declares {declared}"


@pytest.mark.parametrize("declared", ["UTF-16", "UTF-32"])
def test_a_single_byte_document_declaring_a_wide_encoding_is_406_saying_so(declared: str) -> None:
    # Given a document written in single bytes whose declaration names UTF-16 or UTF-32
    data = with_declaration(declared).encode("utf-8")

    # When it is read
    # Then it is refused, saying it is not in the encoding it declares (not that the encoding is unsupported)
    with pytest.raises(EncodingError) as refused:
        parse_xml(data)
    assert refused.value.text == f"The document declares {declared} but is not encoded in it"
