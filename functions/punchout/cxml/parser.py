"""Hardened parsing of untrusted bytes into an lxml tree.

Every cXML document names a remote DTD, and attackers send entity tricks (billion laughs, XXE). So:
no network, no DTD loading, no entity resolution; a DOCTYPE with an internal subset, any entity
declaration and any entity reference are refused before or right after parsing; size and depth
are bounded. Encodings are decided here, not by libxml2, so that a document that lies about its
encoding is refused instead of being read as something else.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from .errors import DocumentTooDeep, DocumentTooLarge, EncodingError, MalformedXML, UnsafeXML


@dataclass(frozen=True)
class ParseLimits:
    # A 5,000-line OrderRequest with ItemDetail and accounting on every line is about 3.6 MB (the lines of
    # tests/benchmarks/bench_cxml.py). API Gateway caps request bodies at 10 MB; on AWS, Lambda's 6 MB event
    # lets a document of about 4.5 MB through (README, "cXML bodies arrive as binary").
    max_bytes: int = 10 * 1024 * 1024
    # Real cXML nests about 10 levels deep; libxml2 itself stops at 256.
    max_depth: int = 48
    # Markup ("<" characters, counted before parsing): memory grows with elements, not bytes. 10 MB of
    # "<a/>" would make a 350 MB tree before anyone is authenticated; a realistic 5,000-line order
    # (3.6 MB) has 165,000.
    max_tags: int = 600_000
    # Namespace declarations ("xmlns", counted before parsing, in text too). lxml serialises an element
    # that is not the root (a BuyerCookie holding markup, read before anyone is authenticated) with every
    # namespace its ancestors declare, in time that grows with their number squared: 18,700 on the cXML
    # element took 1.4 s, 75,000 (1 MB) 26 s. Real documents declare a handful.
    max_namespaces: int = 1_000
    # Attributes ("=" characters, counted before parsing, in text too): the tree grows with them as with
    # elements, which max_tags does not count. 1.3 million in 10 MB (51 KB of gzip) took ~300 MB before the
    # buyer was known; a 5,000-line order has about 30,000.
    max_attributes: int = 600_000


DEFAULT_LIMITS = ParseLimits()

# Python codec name -> the name libxml2 is told to use. Only encodings seen from real buyers.
# Keys are the names `codecs.lookup(...).name` returns ("iso8859-1", not "iso-8859-1").
_ASCII_COMPATIBLE = {
    "utf-8": "UTF-8",
    "ascii": "UTF-8",  # ASCII is a subset of UTF-8
    "iso8859-1": "ISO-8859-1",
    "iso8859-15": "ISO-8859-15",
    "cp1252": "windows-1252",
}
_UTF16 = {"utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE"}

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARED_ENCODING_TEXT = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
# The markup checks run on bytes: markup is ASCII in every encoding read here but UTF-16, which is
# checked re-encoded as UTF-8.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# A DOCTYPE up to its end or the "[" that opens an internal subset, skipping quoted literals whole (a DTD
# address may hold ">"); possessive, so a reading costs one pass over what it reads.
_DOCTYPE_DECLARATION = re.compile(rb"""<!DOCTYPE(?:[^>\["']++|"[^"]*+"|'[^']*+')*+""", re.IGNORECASE)
# A document has one DOCTYPE; more "<!DOCTYPE" can sit in comments or CDATA. Each is read to its end,
# which may be the document's: bounded, or 8,000 of them would take seconds before anyone is known.
MAX_DOCTYPES = 8
# An "&" that starts no predefined entity nor character reference. Without one, the tree holds no
# entity reference and need not be searched for one (with one, it may be literal: in CDATA, a comment).
_ENTITY_REFERENCE = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos);|#)")
# Encodings in which libxml2 refuses exactly the bytes Python's codec does (tested), so the
# document need not be decoded beforehand; in ISO-8859-1 and -15 every byte is a character.
_CHECKED_BY_LIBXML2 = frozenset(("utf-8", "iso8859-1", "iso8859-15"))


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def detect_encoding(data: bytes, charset: str | None = None) -> str:
    """The Python codec the document is in: BOM first, then the XML declaration, then ``charset``
    (the media type's, RFC 7303), else UTF-8.

    The document's own declaration wins over the media type's charset: buyers' HTTP stacks often add
    a default ``charset`` that the document does not follow."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise EncodingError("UTF-32 documents are not supported; send UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        declared = _DECLARED_ENCODING.match(data[3:200])
        if declared and _codec(declared.group(1).decode("ascii")) != "utf-8":
            raise EncodingError("The document has a UTF-8 byte order mark but declares another encoding")
        return "utf-8"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(b"<\x00?\x00"):
        return _check_utf16(data, "utf-16-le")
    if data.startswith(codecs.BOM_UTF16_BE) or data.startswith(b"\x00<\x00?"):
        return _check_utf16(data, "utf-16-be")
    declared = _DECLARED_ENCODING.match(data[:200])
    if declared is None:
        if not charset:
            return "utf-8"
        codec = _codec(charset)
        if codec == "ascii":  # the old default of text/xml (RFC 3023), mostly on UTF-8 documents
            return "utf-8"
        if codec == "utf-16" or codec in _UTF16:  # no BOM (a Java Writer in UTF-16BE writes none): "<"'s bytes
            order = "utf-16-be" if data.startswith(b"\x00<") else "utf-16-le" if data.startswith(b"<\x00") else None
            if order is None or codec not in ("utf-16", order):
                raise EncodingError(f"The document is not encoded in {charset[:40]}, as its media type says")
            return _check_utf16(data, order)
        if codec not in _ASCII_COMPATIBLE:
            raise EncodingError(f"Unsupported charset {charset[:40]!r} and no XML declaration; send UTF-8")
        return codec
    name = declared.group(1).decode("ascii")
    codec = _codec(name)
    if codec in _UTF16 or codec in ("utf-16", "utf-32"):
        raise EncodingError(f"The document declares {name} but is not encoded in it")
    if codec not in _ASCII_COMPATIBLE:
        raise EncodingError(f"Unsupported encoding {name!r}; send UTF-8")
    return codec


def _check_utf16(data: bytes, codec: str) -> str:
    head = data[:400].decode(codec, errors="replace").lstrip("\ufeff")
    declared = _DECLARED_ENCODING_TEXT.match(head)
    if declared and _codec(declared.group(1)) not in ("utf-16", codec):
        raise EncodingError(f"The document is UTF-16 but declares {declared.group(1)}")
    return codec


def decode(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """The document's text and its codec; bytes that are invalid in that encoding are refused."""
    codec = detect_encoding(data, charset)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        raise EncodingError(f"The document is not valid {codec.upper()} (byte offset {error.start})") from None
    return text, codec


def _parser(encoding: str) -> etree.XMLParser:
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        # Not collect_ids=False: with libxml2 2.14 that flag makes the parser load the external DTD.
    )


def _check_doctypes(markup: bytes) -> None:
    """Refuse an internal subset. Every "<!DOCTYPE" is read, not only the first: one in a comment
    before the real DOCTYPE could otherwise hide it."""
    for found, doctype in enumerate(_DOCTYPE.finditer(markup), 1):
        if found > MAX_DOCTYPES:
            raise UnsafeXML(f"More than {MAX_DOCTYPES} DOCTYPE declarations are not accepted")
        end = _DOCTYPE_DECLARATION.match(markup, doctype.start()).end()  # type: ignore[union-attr]  # starts there
        if markup[end : end + 1] == b"[":
            raise UnsafeXML("A DOCTYPE with an internal subset is not accepted")


@lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> etree.XPath:
    # Evaluated by libxml2 in C: true when any element sits deeper than max_depth.
    return etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")


def _without_space_before_declaration(data: bytes) -> bytes:
    """``data`` without the white space some generators write before the XML declaration (a template's
    first line break): XML allows none there, yet nothing about the document is in doubt. In UTF-8 and
    the single-byte encodings only (a UTF-16 document's BOM or first "<" is how its encoding is found)."""
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    rest = data[len(bom) :]
    if rest[:1] not in (b" ", b"\t", b"\r", b"\n"):
        return data
    stripped = rest.lstrip(b" \t\r\n")
    return bom + stripped if stripped.startswith(b"<?xml") else data


# libxml2's messages that quote the document on their first line, after these words: a comment with "--" in
# it ("Double hyphen within comment: <!--" and the comment's first 50 characters).
_QUOTING_FIRST_LINE = ("Double hyphen within comment",)


def _without_excerpt(message: str, error: etree.XMLSyntaxError) -> str:
    """libxml2's message without the document text some of its messages quote on their second line
    (an unfinished CDATA section's first 50 characters: a SharedSecret's, say), or on their first
    (``_QUOTING_FIRST_LINE``), which would reach the answer and the log; the line and column stay."""
    first, newline, _ = message.partition("\n")
    quoting = next((words for words in _QUOTING_FIRST_LINE if first.startswith(words)), None)
    if quoting is not None:
        first = quoting
    elif not newline:
        return message
    line, column = error.position
    return f"{first}, line {line}, column {column}"


def parse_xml(data: bytes, limits: ParseLimits = DEFAULT_LIMITS, charset: str | None = None) -> etree._Element:
    """Parse untrusted bytes into the root element, or raise a typed refusal (cXML 406).

    ``charset``: the media type's (``Content-Type: text/xml; charset=...``), for documents that
    declare no encoding."""
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(f"The document is larger than the limit of {limits.max_bytes} bytes")
    if not data or data.isspace():
        raise MalformedXML("The request body is empty; a cXML document was expected")
    if data.count(b"<") > limits.max_tags:
        raise DocumentTooLarge(f"The document has more markup than the limit of {limits.max_tags} tags")
    data = _without_space_before_declaration(data)
    codec = detect_encoding(data, charset)
    markup = data
    if codec not in _CHECKED_BY_LIBXML2:
        text, _ = decode(data, charset)
        if codec in _UTF16:
            markup = text.encode()
    if markup.count(b"=") > limits.max_attributes:
        raise DocumentTooLarge(
            f"The document has more attributes than the limit of {limits.max_attributes} (its '=' counted)"
        )
    if markup.count(b"xmlns") > limits.max_namespaces:
        raise DocumentTooLarge(f"The document has more than {limits.max_namespaces} namespace declarations")
    if _ENTITY_DECLARATION.search(markup):
        raise UnsafeXML("Entity declarations are not accepted")
    _check_doctypes(markup)
    libxml_encoding = _ASCII_COMPATIBLE.get(codec) or _UTF16[codec]
    try:
        root = etree.fromstring(data, _parser(libxml_encoding))
    except etree.XMLSyntaxError as error:
        decode(data, charset)  # bytes invalid in the encoding: refused as such, with their offset
        message = str(error.msg or error)
        if "Excessive depth" in message:
            raise DocumentTooDeep(f"Elements nest deeper than {limits.max_depth} levels") from None
        if "Entity" in message and "not defined" in message:
            raise UnsafeXML("Entity references are not accepted") from None
        raise MalformedXML(f"The document is not well-formed XML: {_without_excerpt(message, error)[:160]}") from None
    if root is None:
        raise MalformedXML("The document is not well-formed XML")
    # With an external DTD named but not loaded, libxml2 keeps unknown references as nodes.
    if _ENTITY_REFERENCE.search(markup) and next(root.iter(etree.Entity), None) is not None:
        raise UnsafeXML("Entity references are not accepted")
    if _too_deep(limits.max_depth)(root):
        raise DocumentTooDeep(f"Elements nest deeper than {limits.max_depth} levels")
    return root
