"""Hostile documents: refused with 406 and a useful text, without reading a file or opening a socket,
in bounded time and memory.

Proofs that nothing is fetched:
- file: the DTD or entity is a named pipe; the parse runs in a subprocess while this process keeps
  trying to open the pipe for writing, which only succeeds once someone has opened it for reading.
  (lxml's ``collect_ids=False`` makes libxml2 2.14 load the external DTD: this catches it.)
- http: a real HTTP server on loopback counts every connection; it must see none.
Time and memory are measured per case in a forked child of a clean interpreter (``_probe.py``):
``ru_maxrss`` counts libxml2's allocations as well as Python's. The bounds are for safety, not speed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import punchout
from punchout.cxml import ParseLimits, read_document
from punchout.cxml.errors import (
    CXMLError,
    DocumentTooDeep,
    DocumentTooLarge,
    EncodingError,
    InvalidDocument,
    MalformedXML,
    UnsafeXML,
)
from punchout.cxml.models import RequestDocument
from punchout.mime import split_related

from ._support import order_request_xml

PROBE = Path(__file__).with_name("_probe.py")
FUNCTIONS_DIR = Path(punchout.__file__).resolve().parents[1]

MAX_SECONDS = 2.0
MAX_MEMORY_BYTES = 64 * 1024 * 1024
CANARY = "CANARY-7f3a9c"  # the content of the local "secret" file: must never come back

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def profile_request(prolog: bytes = b"", user_agent: bytes = b"Probe 1.0", declaration: bytes = DECLARATION) -> bytes:
    """A small, otherwise valid ProfileRequest; ``user_agent`` is where entity references go."""
    return (
        declaration
        + prolog
        + b'<cXML payloadID="1769853600.1.probe@test.example" timestamp="2026-01-31T10:00:00+00:00">'
        b'<Header><From><Credential domain="NetworkID"><Identity>AN01</Identity></Credential></From>'
        b'<To><Credential domain="DUNS"><Identity>123456789</Identity></Credential></To>'
        b'<Sender><Credential domain="NetworkID"><Identity>AN01</Identity>'
        b"<SharedSecret>s3cr3t</SharedSecret></Credential>"
        b"<UserAgent>" + user_agent + b"</UserAgent></Sender></Header>"
        b"<Request><ProfileRequest/></Request></cXML>"
    )


@dataclass(frozen=True)
class Targets:
    """Where attack documents point: a local file that must stay unread, a DTD, an HTTP base URL."""

    secret_file: Path
    local_dtd: Path
    http_base: str


@dataclass(frozen=True)
class Attack:
    build: Callable[[Targets], bytes]
    error: type[CXMLError]
    phrase: str
    max_bytes: int | None = None  # None: the default limits
    status: int = 406  # cannot be parsed (406) or, read, cannot be used (400)
    content_type: str | None = None  # a multipart/related body: its document is read after split_related


def billion_laughs(_: Targets) -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10)
    )
    return profile_request(b"<!DOCTYPE cXML [" + entities + b"]>", b"&lol9;")


def quadratic_blowup(_: Targets) -> bytes:
    # 200 KB entity referenced 20,000 times: 4 GB if expanded.
    return profile_request(b'<!DOCTYPE cXML [<!ENTITY big "' + b"x" * 200_000 + b'">]>', b"&big;" * 20_000)


def external_entity(url: Callable[[Targets], str]) -> Callable[[Targets], bytes]:
    def build(targets: Targets) -> bytes:
        return profile_request(b'<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "%s">]>' % url(targets).encode(), b"&xxe;")

    return build


def external_parameter_entity(targets: Targets) -> bytes:
    uri = targets.local_dtd.as_uri().encode()
    return profile_request(b'<!DOCTYPE cXML [<!ENTITY %% remote SYSTEM "%s"> %%remote;]>' % uri, b"&xxe;")


def external_dtd(targets: Targets) -> bytes:
    return profile_request(b'<!DOCTYPE cXML SYSTEM "%s">' % targets.local_dtd.as_uri().encode(), b"&xxe;")


def external_dtd_entity_named_like_a_predefined_one(targets: Targets) -> bytes:
    # &ampx; is no &amp;: a reference to an entity the DTD would declare, kept as a node.
    return profile_request(b'<!DOCTYPE cXML SYSTEM "%s">' % targets.local_dtd.as_uri().encode(), b"&ampx;")


def in_utf16(build: Callable[[Targets], bytes]) -> Callable[[Targets], bytes]:
    """The attack in UTF-16 with a byte order mark: its markup is no longer ASCII bytes."""

    def build_in_utf16(targets: Targets) -> bytes:
        declaration = b'<?xml version="1.0" encoding="UTF-16"?>\n'
        return build(targets).replace(DECLARATION, declaration, 1).decode("ascii").encode("utf-16")

    return build_in_utf16


def doctype_openings(_: Targets) -> bytes:
    # Each "<!DOCTYPE" was read to the document's end: quadratic (8,000 of them took 19 s).
    return profile_request(b"<!DOCTYPE " * 8_000)


def internal_subset_behind_a_doctype_in_a_comment(_: Targets) -> bytes:
    # Read from the comment's "<!DOCTYPE", the quotes pair up differently and skip the real "[".
    return profile_request(b'<!-- <!DOCTYPE x " --><!DOCTYPE cXML SYSTEM "u" [<!ATTLIST PCard xmlns CDATA "c">]>')


def long_number(_: Targets) -> bytes:
    # The number patterns took quadratic time on a long run of digits (40,000 took 12 s).
    return order_request_xml(total="1" * 100_000 + "x").encode()


def timestamp_padded_with_spaces(_: Targets) -> bytes:
    # The timestamp pattern took quadratic time on a run of spaces; the unknown mode refuses the document
    # after its timestamp was read.
    document = profile_request().replace(b'+00:00"', b" " * 100_000 + b'x"', 1)
    return document.replace(b"<Request>", b'<Request deploymentMode="staging">', 1)


# A multipart body whose document, once found, is refused as unusable (400): the cost is in finding it.
MULTIPART = 'multipart/related; boundary="B"'
EMPTY_CXML = b'--B\r\nContent-Type: text/xml\r\nContent-ID: <cxml@x>\r\n\r\n<cXML payloadID="p" timestamp="t"/>\r\n'


def part_header_of_semicolons(header: bytes) -> Callable[[Targets], bytes]:
    # The email package's structured header parser took quadratic time on it (8,000 took 1.8 s); so did its
    # plain parameter reading, on more (1,280,000 took 54 s).
    def build(_: Targets) -> bytes:
        return EMPTY_CXML + b"--B\r\n" + header + b": attachment" + b";" * 1_000_000 + b"\r\n\r\nx\r\n--B--\r\n"

    return build


def nested_parts_with_costly_content_types(_: Targets) -> bytes:
    # Nested parts escape the 100-part bound; each Content-Type was parsed again and again (3 MB took 146 s
    # with 300 ";" each, which are now more parameters than a part may have).
    inner = b"--C\r\nContent-Type: text/plain" + b";" * 64 + b"\r\n\r\nx\r\n"
    return (
        EMPTY_CXML
        + b'--B\r\nContent-Type: multipart/mixed; boundary="C"\r\n\r\n'
        + inner * 1_000
        + b"--C--\r\n--B--\r\n"
    )


def nested_parts_above_short_lines(_: Targets) -> bytes:
    # The email package checked every line against the boundary of each enclosing part: 100 levels above
    # 500,000 short lines (1 MB) took 15 s, 200 levels above 4 MB 167 s.
    levels = b"".join(
        b'--C%d\r\nContent-Type: multipart/mixed; boundary="C%d"\r\n\r\n' % (n, n + 1) for n in range(100)
    )
    lines = b"--C100\r\n\r\n" + b"x\n" * 500_000
    return EMPTY_CXML + b'--B\r\nContent-Type: multipart/mixed; boundary="C0"\r\n\r\n' + levels + lines + b"--B--\r\n"


def part_of_header_lines(_: Targets) -> bytes:
    # Each header read from a part went through all of the part's lines: 700,000 (4.2 MB) took 5 s.
    return EMPTY_CXML + b"--B\r\n" + b"X: x\r\n" * 700_000 + b"\r\nx\r\n--B--\r\n"


def content_id_of_encoded_words(_: Targets) -> bytes:
    # Quadratic in the email package's parser too (8,000 took 0.5 s).
    return EMPTY_CXML + b"--B\r\nContent-ID: " + b"=?utf-8?q?a?= " * 40_000 + b"\r\n\r\nx\r\n--B--\r\n"


def namespaces_around_a_buyer_cookie_holding_markup(_: Targets) -> bytes:
    # lxml serialises a BuyerCookie holding markup with every namespace its ancestors declare, in time that
    # grows with their number squared (75,000, 1 MB, took 26 s).
    declarations = b"".join(b' xmlns:n%d="urn:x"' % index for index in range(100_000))
    return (
        DECLARATION
        + b'<cXML payloadID="1769853600.1.probe@test.example" timestamp="2026-01-31T10:00:00+00:00"'
        + declarations
        + b'><Request><PunchOutSetupRequest operation="create"><BuyerCookie><a/></BuyerCookie>'
        b"</PunchOutSetupRequest></Request></cXML>"
    )


def deep_nesting(_: Targets) -> bytes:
    return profile_request(user_agent=b"<a>" * 100_000 + b"</a>" * 100_000)


def millions_of_empty_elements(_: Targets) -> bytes:
    return profile_request(user_agent=b"<a/>" * 2_500_000)  # 10 MB, under the size limit


def internal_subset_behind_a_quoted_bracket(_: Targets) -> bytes:
    # The DTD's address holds a ">": a text pattern for "<!DOCTYPE ... [" stops there.
    return profile_request(
        b'<!DOCTYPE cXML SYSTEM "http://x.example/cXML.dtd?>" [<!ATTLIST PCard xmlns CDATA "urn:x">]>'
    )


def internal_subset_behind_a_single_quoted_literal(_: Targets) -> bytes:
    return profile_request(
        b"<!DOCTYPE cXML SYSTEM 'http://x.example/cXML.dtd?>' [<!ATTLIST PCard xmlns CDATA \"urn:x\">]>"
    )


def over_small_limit(_: Targets) -> bytes:
    document = profile_request(user_agent=b"x" * 2048)
    assert len(document) > 1024
    return document


def over_default_limit(_: Targets) -> bytes:
    return profile_request(user_agent=b"x" * (11 * 1024 * 1024))


def invalid_utf8(_: Targets) -> bytes:
    return profile_request(user_agent=b"Probe \xff\xfe\x80 1.0")


def declares_utf16_but_single_byte(_: Targets) -> bytes:
    return profile_request(declaration=b'<?xml version="1.0" encoding="UTF-16"?>\n')


def declares_utf8_but_latin1(_: Targets) -> bytes:
    return profile_request(user_agent="Café".encode("iso-8859-1"))


def declares_ascii_but_utf8(_: Targets) -> bytes:
    # Read as UTF-8 by libxml2 (ASCII is a subset of it): only Python's codec refuses these bytes.
    return profile_request(declaration=b'<?xml version="1.0" encoding="US-ASCII"?>\n', user_agent="Café".encode())


def unsupported_encoding_name(_: Targets) -> bytes:
    return profile_request(declaration=b'<?xml version="1.0" encoding="EBCDIC-CP-US"?>\n')


def encoded_in_ebcdic(_: Targets) -> bytes:
    declaration = b'<?xml version="1.0" encoding="EBCDIC-CP-US"?>\n'
    return profile_request(declaration=declaration).decode("ascii").encode("cp037")


def utf32_with_bom(_: Targets) -> bytes:
    text = profile_request(declaration=b'<?xml version="1.0" encoding="UTF-32"?>\n').decode("ascii")
    return ("\ufeff" + text).encode("utf-32-le")


ATTACKS: dict[str, Attack] = {
    "billion laughs": Attack(billion_laughs, UnsafeXML, "Entity declarations are not accepted"),
    "quadratic blow-up": Attack(quadratic_blowup, UnsafeXML, "Entity declarations are not accepted"),
    "external entity file://": Attack(
        external_entity(lambda t: t.secret_file.as_uri()), UnsafeXML, "Entity declarations are not accepted"
    ),
    "external entity http://": Attack(
        external_entity(lambda t: f"{t.http_base}/xxe"), UnsafeXML, "Entity declarations are not accepted"
    ),
    "external parameter entity": Attack(external_parameter_entity, UnsafeXML, "Entity declarations are not accepted"),
    "external DTD declaring the entity used": Attack(external_dtd, UnsafeXML, "Entity references are not accepted"),
    "billion laughs, in UTF-16": Attack(in_utf16(billion_laughs), UnsafeXML, "Entity declarations are not accepted"),
    "external DTD declaring the entity used, in UTF-16": Attack(
        in_utf16(external_dtd), UnsafeXML, "Entity references are not accepted"
    ),
    "external DTD declaring an entity named like a predefined one": Attack(
        external_dtd_entity_named_like_a_predefined_one, UnsafeXML, "Entity references are not accepted"
    ),
    "8,000 DOCTYPE openings": Attack(doctype_openings, UnsafeXML, "More than 8 DOCTYPE declarations"),
    "internal subset behind a DOCTYPE in a comment": Attack(
        internal_subset_behind_a_doctype_in_a_comment, UnsafeXML, "A DOCTYPE with an internal subset is not accepted"
    ),
    "100,000-digit number": Attack(long_number, InvalidDocument, "is longer than 64 characters", status=400),
    "timestamp padded with 100,000 spaces": Attack(
        timestamp_padded_with_spaces, InvalidDocument, "Unknown deploymentMode", status=400
    ),
    "multipart part whose Content-Type holds 1,000,000 semicolons": Attack(
        part_header_of_semicolons(b"Content-Type"),
        MalformedXML,
        "Content-Type has more than 64 parameters",
        content_type=MULTIPART,
    ),
    "multipart part whose Content-Disposition holds 1,000,000 semicolons": Attack(
        part_header_of_semicolons(b"Content-Disposition"),
        MalformedXML,
        "Content-Disposition has more than 64 parameters",
        content_type=MULTIPART,
    ),
    "multipart of 1,000 nested parts with 64 semicolons each": Attack(
        nested_parts_with_costly_content_types, InvalidDocument, "no Request", status=400, content_type=MULTIPART
    ),
    "multipart part nesting parts 100 deep above 500,000 short lines": Attack(
        nested_parts_above_short_lines, InvalidDocument, "no Request", status=400, content_type=MULTIPART
    ),
    "multipart part of 700,000 header lines": Attack(
        part_of_header_lines, MalformedXML, "A part has more than 100 header lines", content_type=MULTIPART
    ),
    "multipart part whose Content-ID holds 40,000 encoded words": Attack(
        content_id_of_encoded_words, InvalidDocument, "no Request", status=400, content_type=MULTIPART
    ),
    "100,000 namespace declarations around a BuyerCookie holding markup": Attack(
        namespaces_around_a_buyer_cookie_holding_markup, DocumentTooLarge, "more than 1000 namespace declarations"
    ),
    "100,000-deep nesting": Attack(deep_nesting, DocumentTooDeep, "nest deeper than 48 levels"),
    "2.5 million empty elements": Attack(millions_of_empty_elements, DocumentTooLarge, "more markup than the limit"),
    "internal subset behind a quoted >": Attack(
        internal_subset_behind_a_quoted_bracket, UnsafeXML, "A DOCTYPE with an internal subset is not accepted"
    ),
    "internal subset behind a quoted >, in UTF-16": Attack(
        in_utf16(internal_subset_behind_a_quoted_bracket),
        UnsafeXML,
        "A DOCTYPE with an internal subset is not accepted",
    ),
    "internal subset behind a single-quoted literal": Attack(
        internal_subset_behind_a_single_quoted_literal, UnsafeXML, "A DOCTYPE with an internal subset is not accepted"
    ),
    "body over a 1 KB limit": Attack(over_small_limit, DocumentTooLarge, "larger than the limit of 1024 bytes", 1024),
    "11 MB body, default limit": Attack(
        over_default_limit, DocumentTooLarge, "larger than the limit of 10485760 bytes"
    ),
    "invalid UTF-8": Attack(invalid_utf8, EncodingError, "not valid UTF-8"),
    "declares UTF-16, is single-byte": Attack(declares_utf16_but_single_byte, EncodingError, "declares UTF-16"),
    "declares UTF-8, has ISO-8859-1 bytes": Attack(declares_utf8_but_latin1, EncodingError, "not valid UTF-8"),
    "declares US-ASCII, has UTF-8 bytes": Attack(declares_ascii_but_utf8, EncodingError, "not valid ASCII"),
    "unsupported encoding EBCDIC-CP-US": Attack(unsupported_encoding_name, EncodingError, "Unsupported encoding"),
    "document encoded in EBCDIC": Attack(encoded_in_ebcdic, EncodingError, "not valid UTF-8"),
    "UTF-32 with BOM": Attack(utf32_with_bom, EncodingError, "UTF-32"),
}


# --- fixtures -------------------------------------------------------------------------------------


class CountingServer(ThreadingHTTPServer):
    """Counts every TCP connection (a fetch that never completes a request counts too)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.paths: list[str] = []

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, CountingServer)
        self.server.paths.append(self.path)
        body = f'<!ENTITY xxe "{CANARY}">'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_server() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory, http_server: CountingServer) -> Targets:
    folder = tmp_path_factory.mktemp("attack-targets")
    secret = folder / "secret.txt"
    secret.write_text(CANARY)
    local_dtd = folder / "evil.dtd"
    local_dtd.write_text(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">\n<!ENTITY lol "{CANARY}">\n')
    return Targets(secret_file=secret, local_dtd=local_dtd, http_base=http_server.base_url)


def probe_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FUNCTIONS_DIR), environment.get("PYTHONPATH")]))
    return environment


def start_probe(cases: list[dict[str, Any]], folder: Path) -> subprocess.Popen[bytes]:
    cases_file = folder / "cases.json"
    cases_file.write_text(json.dumps(cases))
    return subprocess.Popen(
        [sys.executable, str(PROBE), str(cases_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=probe_environment(),
    )


def probe_results(process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode(errors="replace")
    results: dict[str, Any] = json.loads(stdout)
    return results


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory, targets: Targets) -> dict[str, Any]:
    """Every attack, run once each in a forked child of a clean interpreter."""
    folder = tmp_path_factory.mktemp("attack-documents")
    cases = []
    for index, (name, attack) in enumerate(ATTACKS.items()):
        path = folder / f"case-{index}.xml"
        path.write_bytes(attack.build(targets))
        cases.append(
            {"name": name, "path": str(path), "max_bytes": attack.max_bytes, "content_type": attack.content_type}
        )
    return probe_results(start_probe(cases, folder), timeout=300)


def limits_for(attack: Attack) -> ParseLimits:
    return ParseLimits(max_bytes=attack.max_bytes) if attack.max_bytes is not None else ParseLimits()


def read_attack(attack: Attack, document: bytes) -> object:
    if attack.content_type is not None:
        document = split_related(attack.content_type, document)[0]
    return read_document(document, limits_for(attack))


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_refused_with_its_status_and_a_useful_text(targets: Targets, name: str) -> None:
    # Given a hostile document
    attack = ATTACKS[name]
    document = attack.build(targets)

    # When it is read
    with pytest.raises(CXMLError) as refusal:
        read_attack(attack, document)

    # Then it is refused (Not Acceptable, or Bad Request once read), by the right check, saying what was wrong
    assert type(refusal.value) is attack.error
    assert refusal.value.status == attack.status
    assert attack.phrase in refusal.value.text
    assert CANARY not in refusal.value.text


def nested(depth: int) -> bytes:
    """A ProfileRequest whose deepest element is at ``depth``, the cXML root element being level 1."""
    extra = depth - 4  # cXML / Header / Sender / UserAgent
    document = profile_request(user_agent=b"<a>" * extra + b"</a>" * extra)
    root = etree.fromstring(document)
    assert max(sum(1 for _ in element.iterancestors()) + 1 for element in root.iter()) == depth
    return document


def test_a_document_exactly_at_the_depth_limit_is_read() -> None:
    # Given a document whose elements nest 48 levels deep, counted from the cXML element
    document = nested(48)
    # When it is read
    # Then it is accepted
    assert isinstance(read_document(document), RequestDocument)


def test_one_level_beyond_the_depth_limit_is_refused() -> None:
    # Given a document whose elements nest 49 levels deep, far below libxml2's own limit of 256
    document = nested(49)
    # When it is read
    with pytest.raises(DocumentTooDeep) as refusal:
        read_document(document)
    # Then the gateway's own check refuses it as Not Acceptable
    assert refusal.value.status == 406
    assert refusal.value.text == "Elements nest deeper than 48 levels"


def with_markup(tags: int) -> bytes:
    """A ProfileRequest holding exactly ``tags`` ``<``: the ones it lacks are empty elements in its UserAgent."""
    return profile_request(user_agent=b"<a/>" * (tags - profile_request(user_agent=b"").count(b"<")))


def test_a_document_of_600_000_tags_is_read_and_one_tag_more_is_refused() -> None:
    # Given a document of exactly 600,000 "<", the default limit, and one of 600,001
    at_limit, beyond = with_markup(600_000), with_markup(600_001)
    # When each is read
    # Then the first is accepted, the second refused as too large, before it is parsed
    assert isinstance(read_document(at_limit), RequestDocument)
    with pytest.raises(DocumentTooLarge) as refusal:
        read_document(beyond)
    assert refusal.value.status == 406
    assert refusal.value.text == "The document has more markup than the limit of 600000 tags"


def with_attributes(equals: int) -> bytes:
    """A ProfileRequest holding exactly ``equals`` ``=``: the ones it lacks are attributes of empty elements in its
    UserAgent, a hundred to an element."""
    missing = equals - profile_request(user_agent=b"").count(b"=")
    full = b"<a " + b" ".join(b'a%d="1"' % n for n in range(100)) + b"/>"
    rest = b"<a " + b" ".join(b'a%d="1"' % n for n in range(missing % 100)) + b"/>"
    return profile_request(user_agent=full * (missing // 100) + rest)


def test_a_document_of_600_000_attributes_is_read_and_one_more_is_refused() -> None:
    # Given a document of exactly 600,000 "=" (attributes), the default limit, and one of 600,001: attributes
    # grow the tree as elements do, and the "<" limit does not count them (1.3 million of them, 51 KB of gzip
    # unpacked to 10 MB, took 300 MB before the buyer was known to be nobody: a 401)
    at_limit, beyond = with_attributes(600_000), with_attributes(600_001)
    assert (at_limit.count(b"="), beyond.count(b"=")) == (600_000, 600_001)
    # When each is read
    # Then the first is accepted, the second refused as too large, before it is parsed
    assert isinstance(read_document(at_limit), RequestDocument)
    with pytest.raises(DocumentTooLarge) as refusal:
        read_document(beyond)
    assert refusal.value.status == 406
    assert refusal.value.text == "The document has more attributes than the limit of 600000 (its '=' counted)"


def test_a_document_of_1000_namespace_declarations_is_read_and_one_more_is_refused() -> None:
    # Given a document declaring exactly 1,000 namespaces, the default limit, and one declaring 1,001
    def declaring(count: int) -> bytes:
        return profile_request(user_agent=b"".join(b'<a xmlns:n%d="urn:x"/>' % n for n in range(count)))

    # When each is read
    # Then the first is accepted, the second refused as too large, before it is parsed
    assert isinstance(read_document(declaring(1_000)), RequestDocument)
    with pytest.raises(DocumentTooLarge) as refusal:
        read_document(declaring(1_001))
    assert refusal.value.status == 406
    assert refusal.value.text == "The document has more than 1000 namespace declarations"


def test_a_document_exactly_at_the_size_limit_is_read_and_one_byte_more_is_refused() -> None:
    # Given a document and a size limit of exactly its length
    document = profile_request()
    limits = ParseLimits(max_bytes=len(document))
    # When it is read, and read again one byte longer (a trailing newline)
    # Then it is accepted at the limit and refused as too large one byte beyond it
    assert isinstance(read_document(document, limits), RequestDocument)
    with pytest.raises(DocumentTooLarge) as refusal:
        read_document(document + b"\n", limits)
    assert refusal.value.status == 406


# Sequences Python's UTF-8 codec refuses; the parser leaves finding them to libxml2, which must too.
INVALID_UTF8 = {
    "lone continuation byte": b"\x80",
    "overlong '/'": b"\xc0\xaf",
    "overlong in three bytes": b"\xe0\x80\xaf",
    "overlong in four bytes": b"\xf0\x80\x80\xaf",
    "encoded surrogate": b"\xed\xa0\x80",
    "above U+10FFFF": b"\xf4\x90\x80\x80",
    "truncated sequence": b"\xe2\x82 ",
    "byte FF": b"\xff",
}
PLACES = {
    "text": b"<UserAgent>%s</UserAgent>",
    "attribute": b'<UserAgent xml:lang="%s">x</UserAgent>',
    "comment": b"<UserAgent><!-- %s -->x</UserAgent>",
    "CDATA": b"<UserAgent><![CDATA[%s]]></UserAgent>",
    "processing instruction": b"<UserAgent><?probe %s?>x</UserAgent>",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("sequence", INVALID_UTF8)
def test_invalid_utf8_anywhere_is_refused_as_such(place: str, sequence: str) -> None:
    # Given a UTF-8 document with an invalid sequence in one place
    document = profile_request().replace(b"<UserAgent>Probe 1.0</UserAgent>", PLACES[place] % INVALID_UTF8[sequence])
    assert INVALID_UTF8[sequence] in document
    # When it is read
    with pytest.raises(EncodingError) as refusal:
        read_document(document)
    # Then it is refused as invalid UTF-8, saying where
    assert refusal.value.status == 406
    assert "not valid UTF-8 (byte offset" in refusal.value.text


def test_a_literal_ampersand_name_semicolon_in_cdata_is_text() -> None:
    # Given a document naming an external DTD whose CDATA holds what looks like an entity reference
    document = profile_request(
        b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">', b"<![CDATA[AT&T &xxe;]]>"
    )
    # When it is read
    read = read_document(document)
    # Then it is text, not a reference
    assert isinstance(read, RequestDocument)
    assert read.header is not None and read.header.user_agent == "AT&T &xxe;"


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_refused_in_bounded_time_and_memory(measured: dict[str, Any], name: str) -> None:
    # Given a hostile document read in a clean process (see the `measured` fixture)
    result = measured[name]

    # Then it was refused, not accepted, crashed or stuck
    assert result["outcome"] == "refused", result
    assert result["status"] == ATTACKS[name].status
    # And within the safety bounds
    assert result["seconds"] < MAX_SECONDS, result
    assert result["rss_growth_bytes"] < MAX_MEMORY_BYTES, result
    assert result["python_peak_bytes"] < MAX_MEMORY_BYTES, result


# --- nothing fetched over HTTP --------------------------------------------------------------------


def http_documents(base: str) -> dict[str, tuple[bytes, bool]]:
    """Documents pointing at the server: (bytes, accepted?)."""
    return {
        "DOCTYPE names an http DTD (a genuine document)": (
            profile_request(b'<!DOCTYPE cXML SYSTEM "%s/cXML.dtd">' % base.encode()),
            True,
        ),
        "http DTD declares the entity the body uses": (
            profile_request(b'<!DOCTYPE cXML SYSTEM "%s/evil.dtd">' % base.encode(), b"&xxe;"),
            False,
        ),
        "external entity over http": (
            profile_request(b'<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "%s/xxe">]>' % base.encode(), b"&xxe;"),
            False,
        ),
        "external parameter entity over http": (
            profile_request(b'<!DOCTYPE cXML [<!ENTITY %% p SYSTEM "%s/p.dtd"> %%p;]>' % base.encode(), b"&xxe;"),
            False,
        ),
    }


HTTP_CASES = sorted(http_documents("http://127.0.0.1:1"))


@pytest.mark.parametrize("name", HTTP_CASES)
def test_document_pointing_at_http_opens_no_connection(http_server: CountingServer, name: str) -> None:
    # Given a document whose DTD or entity lives on a real HTTP server
    document, accepted = http_documents(http_server.base_url)[name]
    before = http_server.connections

    # When it is read
    try:
        outcome: object = read_document(document)
    except CXMLError as error:
        outcome = error

    # Then it is accepted (a genuine document) or refused (an attack), and the server saw nothing
    assert isinstance(outcome, RequestDocument) if accepted else isinstance(outcome, UnsafeXML), outcome
    assert http_server.connections == before
    assert http_server.paths == []


# --- nothing read from the file system ------------------------------------------------------------


def fifo_documents(fifo: Path) -> dict[str, tuple[bytes, str]]:
    """Documents pointing at the pipe: (bytes, expected outcome)."""
    uri = fifo.as_uri().encode()
    return {
        "DOCTYPE names a local DTD (a genuine document)": (
            profile_request(b'<!DOCTYPE cXML SYSTEM "%s">' % uri),
            "accepted",
        ),
        "local DTD declares the entity the body uses": (
            profile_request(b'<!DOCTYPE cXML SYSTEM "%s">' % uri, b"&xxe;"),
            "refused",
        ),
        "external entity file://": (
            profile_request(b'<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "%s">]>' % uri, b"&xxe;"),
            "refused",
        ),
        "external parameter entity file://": (
            profile_request(b'<!DOCTYPE cXML [<!ENTITY %% p SYSTEM "%s"> %%p;]>' % uri, b"&xxe;"),
            "refused",
        ),
    }


FIFO_CASES = sorted(fifo_documents(Path("/fifo")))


def pipe_was_opened_for_reading(fifo: Path, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Watch ``fifo`` while ``process`` runs: True as soon as anyone has it open for reading."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader, which is what we want
                raise
            time.sleep(0.002)
            continue
        # A reader is there: hand it something harmless and close, so that it does not hang.
        with contextlib.suppress(OSError):
            os.write(descriptor, b"<!-- opened -->")
        os.close(descriptor)
        return True
    return False


@pytest.mark.parametrize("name", FIFO_CASES)
def test_document_pointing_at_a_local_file_never_opens_it(tmp_path: Path, name: str) -> None:
    # Given a document whose DTD or entity is a named pipe (opening it for reading would block)
    fifo = tmp_path / "cXML.dtd"
    os.mkfifo(fifo)
    document, expected = fifo_documents(fifo)[name]
    (tmp_path / "case.xml").write_bytes(document)

    # When a separate process reads it while this one watches the pipe
    process = start_probe([{"name": name, "path": str(tmp_path / "case.xml"), "max_bytes": None}], tmp_path)
    try:
        opened = pipe_was_opened_for_reading(fifo, process, timeout=60)
        result = probe_results(process, timeout=60)[name]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Then nobody opened the pipe, and the document got its answer promptly
    assert not opened, "the parser opened the local file named by the document"
    assert result["outcome"] == expected, result
    assert result["seconds"] < MAX_SECONDS, result


def with_doctypes(count: int) -> bytes:
    """A ProfileRequest whose bytes hold ``count`` "<!DOCTYPE": its own, after the others in comments."""
    hidden = b"<!-- <!DOCTYPE cXML> -->" * (count - 1)
    return profile_request(hidden + b'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">')


def test_a_document_of_8_doctypes_is_read_and_one_more_is_refused() -> None:
    # Given a document holding 8 "<!DOCTYPE" (7 of them in comments), the limit, and one holding 9
    # When each is read
    # Then the first is accepted, the second refused as unsafe
    assert isinstance(read_document(with_doctypes(8)), RequestDocument)
    with pytest.raises(UnsafeXML) as refusal:
        read_document(with_doctypes(9))
    assert refusal.value.status == 406
    assert refusal.value.text == "More than 8 DOCTYPE declarations are not accepted"


def test_invalid_utf8_is_refused_naming_the_offset_of_its_first_byte() -> None:
    # Given a UTF-8 document with one invalid byte in its UserAgent
    document = profile_request(user_agent=b"Probe \xff 1.0")
    # When it is read
    with pytest.raises(EncodingError) as refusal:
        read_document(document)
    # Then the text names where the byte is, for the buyer to find it
    assert refusal.value.text == f"The document is not valid UTF-8 (byte offset {document.index(b'\xff')})"


def test_an_undeclared_namespace_prefix_is_refused_as_not_well_formed() -> None:
    # Given a document using a namespace prefix it never declares
    document = profile_request(user_agent=b"<n:Probe>1.0</n:Probe>")
    # When it is read
    with pytest.raises(MalformedXML) as refusal:
        read_document(document)
    # Then it is refused as not well-formed, naming the prefix (not as an entity reference)
    assert refusal.value.status == 406
    assert refusal.value.text.startswith(
        "The document is not well-formed XML: Namespace prefix n on Probe is not defined"
    )
