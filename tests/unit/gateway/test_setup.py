"""``POST /cxml/setup`` and ``POST /cxml/profile`` (issue 3, "Routes").

Every answer, errors included, is a well-formed cXML document whose HTTP status mirrors its code;
``helpers.cxml`` checks both for every answer read here.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree

import setup_request.handler
from punchout.cxml import StatusCode, render_status
from punchout.cxml.models import ProfileResponse, PunchOutSetupResponse
from punchout.settings import clear_settings_cache
from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.events import LAMBDA_RESPONSE_LIMIT, api_event, lambda_payload_bytes, response_header
from tests.support.zone import local_zone
from tests.unit.gateway.helpers import (
    BASE_URL,
    DEFAULT_RETURN_URL,
    ReturnPage,
    Shop,
    call,
    configure,
    cxml,
    invoke,
    item_outs,
    limit_at_measured_size,
    line,
    open_session,
    open_session_with,
    post_setup,
    published_metrics,
    register,
    session_from_start,
    setup_document,
    start_token,
    without,
)


def _setup(**changes: Any) -> tuple[int, str]:
    answer = post_setup(builders.setup_request(**changes))
    return answer.status.code, answer.status.message


# --- create ---------------------------------------------------------------------------------------


def test_create_answers_a_start_page_under_punchout_start(partner: Any) -> None:
    # Given a registered partner
    # When it sends a create request
    answer = post_setup(builders.setup_request())
    # Then it gets 200 and a StartPage URL on our public base URL
    assert answer.status.code == 200
    assert isinstance(answer.response, PunchOutSetupResponse)
    assert answer.response.start_page_url.startswith(f"{BASE_URL}/punchout/start/")


def test_setup_response_declares_the_partners_cxml_version(table: Table) -> None:
    # Given a partner configured for cXML 1.2.069
    register(table, cxml_version="1.2.069")
    # When it opens a session
    response = call("POST", "/cxml/setup", builders.setup_request())
    # Then the answer declares that version in its DOCTYPE
    assert "/cXML/1.2.069/cXML.dtd" in response["body"].split("<cXML", 1)[0]


def test_each_create_gets_its_own_start_page(partner: Any) -> None:
    # Given a registered partner
    # When it sends the same create request twice
    first = start_token(post_setup(builders.setup_request()))
    second = start_token(post_setup(builders.setup_request()))
    # Then the two start links differ
    assert first != second


def test_source_operation_is_450(partner: Any) -> None:
    # Given a registered partner
    # When it asks for a sourcing session
    response = call("POST", "/cxml/setup", builders.setup_request("source"))
    # Then it is told the operation is not implemented (HTTP 400: a final refusal)
    assert cxml(response).status.code == 450
    assert response["statusCode"] == 400


# --- where the cart goes --------------------------------------------------------------------------


def test_browser_form_post_on_another_host_is_403_naming_the_host(partner: Any) -> None:
    # Given a partner whose carts may go to buyer.example.com only
    # When a request asks for the cart at another host
    code, message = _setup(browser_form_post="https://attacker.example.net/steal?x=1")
    # Then it is forbidden, and the text names the refused host
    assert code == 403
    assert "attacker.example.net" in message


def test_browser_form_post_on_a_subdomain_of_an_allowed_host_is_refused(partner: Any) -> None:
    # Given a partner allowed to receive carts at exactly buyer.example.com
    # When a request names a subdomain of it
    code, _ = _setup(browser_form_post="https://evil.buyer.example.com/return")
    # Then it is forbidden (only "*.host" entries allow subdomains)
    assert code == 403


def test_wildcard_host_allows_subdomains(table: Table) -> None:
    # Given a partner allowed to receive carts at *.buyer.example.com
    register(table, browser_form_post_hosts=["*.buyer.example.com"])
    # When a request names a subdomain
    code, _ = _setup(browser_form_post="https://eu1.buyer.example.com/return")
    # Then it is accepted
    assert code == 200


@pytest.mark.parametrize("url", ["https://evilbuyer.example.com/return", "https://buyer.example.com/return"])
def test_wildcard_host_does_not_allow_lookalikes_or_the_bare_domain(table: Table, url: str) -> None:
    # Given a partner allowed to receive carts at *.buyer.example.com only
    register(table, browser_form_post_hosts=["*.buyer.example.com"])
    # When a request names a host that ends like it without being a subdomain
    code, _ = _setup(browser_form_post=url)
    # Then it is forbidden
    assert code == 403


@pytest.mark.parametrize(
    "url",
    [
        # Browsers treat "\" as "/" in http(s) URLs: these go to attacker.example.net
        "https://attacker.example.net\\@buyer.example.com/return",
        "https://attacker.example.net\\.buyer.example.com/return",
        # user info in front of an allowed host name
        "https://buyer.example.com@attacker.example.net/return",
        "https://buyer.example.com:x@attacker.example.net/return",
    ],
)
def test_browser_form_post_disguised_as_an_allowed_host_is_refused(table: Table, url: str) -> None:
    # Given a partner allowed to receive carts at buyer.example.com and its subdomains
    register(table, browser_form_post_hosts=["buyer.example.com", "*.buyer.example.com"])
    # When the BrowserFormPost only looks like an allowed host to a naive parser
    code, _ = _setup(browser_form_post=url)
    # Then it is forbidden
    assert code == 403


@pytest.mark.parametrize(
    "url",
    ["http://bob:hunter2pass@buyer.example.com:8080/return", "https://hunter2pass@attacker.example.net/return"],
)
def test_a_password_in_the_browser_form_post_is_neither_answered_nor_logged(
    partner: Any, log_lines: io.StringIO, url: str
) -> None:
    # Given a partner not allowing that URL
    # When its BrowserFormPost carries user info (a password)
    code, message = _setup(browser_form_post=url)
    # Then the refusal names scheme, host and port only, in the answer and in the log
    assert code == 403
    host = urlsplit(url).hostname
    assert host and host in message and "[user info]@" in message
    for text in (message, log_lines.getvalue()):
        assert "hunter2pass" not in text and "bob" not in text


def test_http_browser_form_post_is_refused_by_default(partner: Any) -> None:
    # Given a partner not marked for plain http
    # When its request asks for the cart over http on an allowed host
    code, message = _setup(browser_form_post="http://buyer.example.com/return")
    # Then it is forbidden
    assert code == 403
    assert "buyer.example.com" in message


def test_http_browser_form_post_is_accepted_when_the_partner_allows_http(table: Table) -> None:
    # Given a partner explicitly marked for plain http (a test system)
    register(table, allow_http=True)
    # When its request asks for the cart over http
    code, _ = _setup(browser_form_post="http://buyer.example.com/return")
    # Then it is accepted
    assert code == 200


@pytest.mark.parametrize("url", ["HOOK PLACEHOLDER", "https:///punchout/return"], ids=["placeholder", "no host"])
def test_browser_form_post_that_is_not_a_url_is_400(partner: Any, url: str) -> None:
    # Given a registered partner without a default return URL
    # When the BrowserFormPost holds no URL at all (a template placeholder), or one without a host
    code, message = _setup(browser_form_post=url)
    # Then it is a bad request, and the text says what is wrong
    assert code == 400
    assert "BrowserFormPost" in message


def test_browser_form_post_that_is_not_a_url_falls_back_to_the_default(
    table: Table, shop_headers: dict[str, str]
) -> None:
    # Given a partner with a default return URL
    register(table, default_return_url=DEFAULT_RETURN_URL)
    # When the BrowserFormPost holds a template placeholder, and the cart is returned
    session_id, _ = open_session(browser_form_post="HOOK PLACEHOLDER")
    page = ReturnPage.of(Shop(shop_headers, session_id).checkout(line()))
    # Then the cart goes to the default return URL
    assert page.form.get("action") == DEFAULT_RETURN_URL


def test_without_browser_form_post_the_default_return_url_is_used(table: Table, shop_headers: dict[str, str]) -> None:
    # Given a partner with a default return URL
    partner = register(table, default_return_url=DEFAULT_RETURN_URL)
    # When it sends a create request without BrowserFormPost, and the cart is returned
    session_id, _ = open_session(browser_form_post=None)
    page = ReturnPage.of(Shop(shop_headers, session_id).checkout(line()))
    # Then the cart is posted to the default return URL
    assert page.form.get("action") == DEFAULT_RETURN_URL
    assert partner.default_return_url == DEFAULT_RETURN_URL


@pytest.mark.parametrize("operation", ["create", "edit"])
def test_without_browser_form_post_or_default_create_and_edit_are_400(partner: Any, operation: str) -> None:
    # Given a partner without a default return URL
    # When it sends a create or edit request without BrowserFormPost
    items = [builders.item_out("P1", "1", auxiliary="abcdefghijklmnop-1")]
    code, message = _setup(operation=operation, browser_form_post=None, items=items)
    # Then it is a bad request naming the missing BrowserFormPost
    assert code == 400
    assert "BrowserFormPost" in message


# --- documents the setup route does not take ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"this is not XML", b"<cXML><Request>", b"", b"\x00\xff\xfe"],
    ids=["text", "unclosed", "empty", "binary"],
)
def test_garbage_body_is_406(partner: Any, body: bytes) -> None:
    # Given a registered partner
    # When the body is not an XML document at all
    answer = cxml(call("POST", "/cxml/setup", body, binary=True))
    # Then it is not acceptable
    assert answer.status.code == 406


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


# A buyer's HTTP client may compress what it sends (Content-Encoding: gzip or deflate). API Gateway's REST
# APIs document decompressing such bodies themselves; the function reads them either way: a body that still
# holds the coding's bytes is decompressed (within the size limit), one that no longer does is read as it is.
@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),  # no zlib header, as .NET's DeflateStream and some other clients send it
        ("gzip", lambda data: data),  # already decompressed on the way, the header left as sent
        ("deflate", lambda data: data),
    ],
    ids=["gzip", "x-gzip", "upper-case", "deflate", "raw-deflate", "decompressed-on-the-way", "deflate-decompressed"],
)
def test_a_compressed_setup_request_is_answered(partner: Any, coding: str, compress: Callable[[bytes], bytes]) -> None:
    # Given a setup request sent compressed, as its Content-Encoding says
    body = compress(builders.setup_request())
    headers = {"Content-Type": "text/xml; charset=UTF-8", "Content-Encoding": coding}
    # When it arrives
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is read as the document it holds
    assert answer.status.code == 200, answer.status
    start_token(answer)


def test_a_compressed_body_over_the_size_limit_is_406(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a gateway that takes cXML bodies of at most 100,000 bytes
    configure(monkeypatch, CXML_MAX_BYTES="100000")
    # When a few hundred bytes of gzip unpack to a megabyte
    body = gzip.compress(builders.setup_request().replace(b"</cXML>", b" " * 1_000_000 + b"</cXML>"))
    assert len(body) < 10_000
    headers = {"Content-Type": "text/xml", "Content-Encoding": "gzip"}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is refused as too large, unpacked no further than the limit
    assert answer.status.code == 406
    assert "larger than the limit" in answer.status.message


def test_a_body_compressed_more_than_once_is_406_before_it_is_unpacked_again(
    partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a body that names gzip many times, each layer unpacking to a body as large as the limit (a few
    # kilobytes that, before authentication, would cost the function one unpacking of the limit per layer:
    # a thousand layers of 10 MB outlast its timeout)
    configure(monkeypatch, CXML_MAX_BYTES="100000")
    layers = 5
    unpacked = [b"<" + b" " * (100_000 - 100 * layers)]
    for _ in range(layers - 1):  # stored (uncompressed) gzip: each layer as large as the one it holds
        packer = zlib.compressobj(0, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        unpacked.append(packer.compress(unpacked[-1]) + packer.flush())
    body = gzip.compress(unpacked[-1])
    assert len(body) < 10_000
    unpacking: list[tuple[Any, ...]] = []
    real = zlib.decompressobj

    def counted(*args: Any) -> Any:
        unpacking.append(args)
        return real(*args)

    monkeypatch.setattr(zlib, "decompressobj", counted)
    headers = {"Content-Type": "text/xml", "Content-Encoding": ", ".join(["gzip"] * layers)}
    # When it arrives
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is refused, naming Content-Encoding, unpacked once at most
    assert answer.status.code == 406
    assert "Content-Encoding" in answer.status.message
    assert len(unpacking) <= 1


@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, gzip", "x-gzip,gzip"])
def test_a_body_compressed_twice_is_406_naming_content_encoding(partner: Any, coding: str) -> None:
    # Given a setup request whose Content-Encoding names two compressions, and compressed so
    body = gzip.compress(gzip.compress(builders.setup_request()))
    headers = {"Content-Type": "text/xml", "Content-Encoding": coding}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is refused, naming the header to change, and nothing of it is read
    assert answer.status.code == 406
    assert "Content-Encoding" in answer.status.message and "compressions" in answer.status.message


def test_a_utf16_document_decompressed_on_the_way_is_not_taken_for_deflate_data(partner: Any) -> None:
    # Given a UTF-16LE document with its byte order mark, sent deflated and decompressed on the way, the
    # header left as sent: its first two bytes (FF FE) pass the check bits of a zlib header (a multiple of 31),
    # not its compression method (8, deflate)
    body = codecs.BOM_UTF16_LE + builders.setup_request().decode().replace('"UTF-8"', '"UTF-16"').encode("utf-16-le")
    assert int.from_bytes(body[:2], "big") % 31 == 0
    headers = {"Content-Type": "text/xml", "Content-Encoding": "deflate"}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is read as it arrives
    assert answer.status.code == 200, answer.status


@pytest.mark.parametrize(
    "damage",
    [lambda packed: packed[:-4], lambda packed: packed + b"<cXML/>"],
    ids=["trailer-cut", "trailing-data"],
)
def test_a_gzip_body_cut_short_or_followed_by_other_bytes_is_406(
    partner: Any, damage: Callable[[bytes], bytes]
) -> None:
    # Given a setup request whose gzip lost its length field (its document whole, the stream unfinished), or
    # carries bytes after its end
    body = damage(gzip.compress(builders.setup_request()))
    headers = {"Content-Type": "text/xml", "Content-Encoding": "gzip"}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is refused as a damaged body, not read as if whole
    assert answer.status.code == 406
    assert "incomplete or followed by other data" in answer.status.message


@pytest.mark.parametrize("body", [b"", b"<"], ids=["empty", "one-byte"])
def test_a_body_too_short_for_its_deflate_header_is_read_as_it_is(partner: Any, body: bytes) -> None:
    # Given a body of fewer bytes than a zlib header, sent as deflate
    headers = {"Content-Type": "text/xml", "Content-Encoding": "deflate"}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then it is refused as the document it is (a cXML 406), not a failure of the function
    assert answer.status.code == 406


@pytest.mark.parametrize("coding", ["br", "compress", "zstd", "gzip, br"])
def test_a_body_in_a_compression_the_gateway_does_not_read_is_406_naming_it(partner: Any, coding: str) -> None:
    # Given a setup request compressed in a coding the gateway does not read
    body = b"\x28\xb5\x2f\xfd" + builders.setup_request()  # bytes that are not a document
    headers = {"Content-Type": "text/xml", "Content-Encoding": coding}
    answer = cxml(call("POST", "/cxml/setup", body, headers, binary=True))
    # Then the buyer is told which header to change, not that its document is not UTF-8
    assert answer.status.code == 406
    assert "Content-Encoding" in answer.status.message and "gzip" in answer.status.message


@pytest.mark.parametrize("coding", ["identity", "UTF-8", "utf8", "binary", "8bit"])
def test_a_content_encoding_that_is_not_a_compression_leaves_the_body_as_sent(partner: Any, coding: str) -> None:
    # Given a client that puts its charset (or identity) in Content-Encoding, as some do
    headers = {"Content-Type": "text/xml", "Content-Encoding": coding}
    answer = cxml(call("POST", "/cxml/setup", builders.setup_request(), headers, binary=True))
    # Then the document is read as sent
    assert answer.status.code == 200, answer.status


def test_a_body_over_the_configured_size_is_406(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a gateway that takes cXML bodies of at most 1,000 bytes
    configure(monkeypatch, CXML_MAX_BYTES="1000")
    # When a setup request of a few thousand bytes arrives
    body = builders.setup_request()
    assert len(body) > 1000
    answer = cxml(call("POST", "/cxml/setup", body))
    # Then it is refused as too large, before it is read
    assert answer.status.code == 406


def _message(payload: bytes) -> bytes:
    return b'<cXML payloadID="p@x" timestamp="2026-01-01T00:00:00+00:00"><Message>%s</Message></cXML>' % payload


NOT_REQUESTS = {
    "a Response (a status, as if answering us)": (
        lambda: render_status(200, "OK"),
        (400, "Expected a cXML Request, got a Response"),
    ),
    "an unusable PunchOutOrderMessage": (
        lambda: _message(b"<PunchOutOrderMessage/>"),
        (400, "Expected a cXML Request, got a Message"),
    ),
    "a Message of a kind the gateway does not implement": (
        lambda: _message(b"<QuoteMessage><Unread/></QuoteMessage>"),
        (450, "QuoteMessage is not supported"),
    ),
}


@pytest.mark.parametrize("name", NOT_REQUESTS)
def test_a_cxml_document_that_is_not_a_request_is_refused_unread(partner: Any, name: str) -> None:
    build, expected = NOT_REQUESTS[name]
    # Given a registered partner
    # When it posts a cXML document that is not a Request to the setup URL
    answer = cxml(call("POST", "/cxml/setup", build()))
    # Then it is refused as not usable (400) or not implemented (450), both final (not a 500 the buyer
    # would retry), and whatever the document holds, it is not read further
    assert (answer.status.code, answer.status.message) == expected


def test_entity_expansion_is_refused_with_406(partner: Any) -> None:
    # Given a registered partner
    # When a document declares entities (billion laughs, XXE)
    body = (
        b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<cXML payloadID="x" timestamp="2026-01-01T00:00:00+00:00"><Header/>&b;</cXML>'
    )
    # Then it is refused as not acceptable, never expanded
    assert cxml(call("POST", "/cxml/setup", body)).status.code == 406


@pytest.mark.parametrize(("extra", "code"), [(0, 200), (1, 406)], ids=["at the limit", "one more"])
def test_a_document_may_declare_up_to_1000_namespaces(partner: Any, extra: int, code: int) -> None:
    # Given a create request whose BuyerCookie holds markup (serialised with the namespaces its
    # ancestors declare) and whose cXML element declares namespaces up to the limit, or one more
    document = builders.setup_request(buyer_cookie="cookie-1234")
    assert b"xmlns" not in document
    declarations = b"".join(b' xmlns:n%d="urn:x"' % index for index in range(1_000 + extra))
    document = document.replace(b"<cXML ", b"<cXML" + declarations + b" ", 1)
    document = document.replace(b">cookie-1234<", b"><n0:session>1234</n0:session><", 1)
    # When it is sent
    answer = cxml(call("POST", "/cxml/setup", document))
    # Then it is answered as usual at the limit, and refused as not acceptable, saying why, beyond it
    assert answer.status.code == code, answer.status
    if code == 406:
        assert answer.status.message == "The document has more than 1000 namespace declarations"


def test_order_request_at_the_setup_url_is_450(partner: Any) -> None:
    # Given a registered partner
    # When it sends an OrderRequest to /cxml/setup
    body = builders.order_request("PO-1", [builders.item_out("P1", "1", price="1.00", line=1)])
    response = call("POST", "/cxml/setup", body)
    # Then it is told this URL does not take that request
    assert cxml(response).status.code == 450
    assert response["statusCode"] == 400


def test_setup_request_at_the_profile_url_is_450_even_unauthenticated(partner: Any) -> None:
    # Given a registered partner
    # When a PunchOutSetupRequest with a wrong secret is sent to /cxml/profile
    answer = cxml(call("POST", "/cxml/profile", builders.setup_request(secret="wrong")))
    # Then it is told this URL does not take that request, before its credentials are looked up
    assert answer.status.code == 450


def test_unknown_request_is_450_even_unauthenticated(partner: Any) -> None:
    # Given a registered partner
    # When a request of a kind we do not know arrives
    body = (
        b'<?xml version="1.0"?><cXML payloadID="x" timestamp="2026-01-01T00:00:00+00:00">'
        b"<Header/><Request><StatusUpdateRequest/></Request></cXML>"
    )
    # Then it is a 450
    assert cxml(call("POST", "/cxml/setup", body)).status.code == 450


# --- ProfileRequest -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cxml/profile", "/cxml/setup"])
def test_profile_lists_our_transactions_with_absolute_https_urls(partner: Any, path: str) -> None:
    # Given a registered partner
    # When it sends a ProfileRequest
    answer = cxml(call("POST", path, builders.profile_request()))
    # Then the ProfileResponse lists every transaction we take, at absolute https URLs
    assert answer.status.code == 200
    assert isinstance(answer.response, ProfileResponse)
    urls = {t.request_name: t.url for t in answer.response.transactions}
    assert urls == {
        "ProfileRequest": f"{BASE_URL}/cxml/profile",
        "PunchOutSetupRequest": f"{BASE_URL}/cxml/setup",
        "OrderRequest": f"{BASE_URL}/cxml/order",
    }
    assert all(urlsplit(url).scheme == "https" and urlsplit(url).netloc for url in urls.values())


def test_profile_urls_follow_the_public_base_url(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the gateway runs behind a custom domain
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://punchout.supplier.example/")
    clear_settings_cache()
    # When a ProfileRequest arrives
    answer = cxml(call("POST", "/cxml/profile", builders.profile_request()))
    # Then its URLs use that domain
    assert isinstance(answer.response, ProfileResponse)
    assert {t.url for t in answer.response.transactions} >= {"https://punchout.supplier.example/cxml/setup"}


def test_profile_is_stamped_with_the_current_time_whatever_the_local_zone(partner: Any) -> None:
    # Given a gateway running where local time is nine hours ahead of UTC (a developer's machine)
    with local_zone("JST-9"):
        # When a ProfileRequest is answered
        before = datetime.now(UTC).replace(microsecond=0)
        answer = cxml(call("POST", "/cxml/profile", builders.profile_request()))
        after = datetime.now(UTC)
    # Then the answer and the profile's effective date are now
    assert isinstance(answer.response, ProfileResponse)
    for stamp in (answer.envelope.timestamp, answer.response.effective_date):
        assert stamp.value is not None and before <= stamp.value <= after


def test_profile_urls_on_the_execute_api_url_keep_the_stage(partner: Any) -> None:
    # Given the API called on its execute-api URL (no custom domain), under its stage dev
    event = api_event(
        "POST", "/cxml/profile", body=builders.profile_request(), host="abc123.execute-api.eu-west-1.amazonaws.com"
    )
    event["requestContext"]["stage"] = "dev"
    # When a ProfileRequest is answered
    answer = cxml(invoke("SetupRequestFunction", event))
    # Then its URLs have the stage prefix, without which API Gateway finds no route
    assert isinstance(answer.response, ProfileResponse)
    urls = {t.url for t in answer.response.transactions}
    assert "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/cxml/setup" in urls


def test_an_answer_has_a_payload_id_of_the_configured_domain(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a gateway whose payloadIDs are to name gateway.supplier.example
    configure(monkeypatch, PAYLOAD_ID_DOMAIN="gateway.supplier.example")
    # When a ProfileRequest is answered
    answer = cxml(call("POST", "/cxml/profile", builders.profile_request()))
    # Then the answer's payloadID names that domain
    assert answer.envelope.payload_id.endswith("@gateway.supplier.example")


@pytest.mark.parametrize(
    ("path", "document", "code"),
    [
        ("/cxml/profile", builders.profile_request(), 200),
        ("/cxml/profile", builders.profile_request(secret="wrong"), 401),
        ("/cxml/setup", b"garbage", 406),
        ("/cxml/setup", builders.setup_request("source"), 450),
    ],
    ids=["ok", "unauthorised", "not xml", "not implemented"],
)
def test_every_answer_has_a_fresh_payload_id_of_the_configured_domain(
    partner: Any, monkeypatch: pytest.MonkeyPatch, path: str, document: bytes, code: int
) -> None:
    # Given a gateway whose payloadIDs are to name gateway.supplier.example
    configure(monkeypatch, PAYLOAD_ID_DOMAIN="gateway.supplier.example")
    # When the same request is answered twice, accepted or refused
    answers = [cxml(call("POST", path, document)) for _ in range(2)]
    # Then both answers name that domain, each with a payloadID of its own
    assert [answer.status.code for answer in answers] == [code, code]
    payload_ids = [answer.envelope.payload_id for answer in answers]
    assert all(payload_id.endswith("@gateway.supplier.example") for payload_id in payload_ids), payload_ids
    assert payload_ids[0] != payload_ids[1]


# --- every answer is cXML, with the HTTP status mirroring its code --------------------------------


ERROR_CASES: dict[str, tuple[str, bytes, int]] = {
    "ok": ("/cxml/setup", builders.setup_request(), 200),
    "not xml": ("/cxml/setup", b"garbage", 406),
    "unauthorised": ("/cxml/setup", builders.setup_request(secret="wrong"), 401),
    "forbidden host": ("/cxml/setup", builders.setup_request(browser_form_post="https://elsewhere.example/"), 403),
    "no return url": ("/cxml/setup", builders.setup_request(browser_form_post=None), 400),
    "source": ("/cxml/setup", builders.setup_request("source"), 450),
    "edit nothing known": (
        "/cxml/setup",
        builders.setup_request("edit", items=[builders.item_out("P1", "1", auxiliary="zzzzzzzzzzzzzzzz-1")]),
        412,
    ),
    "profile": ("/cxml/profile", builders.profile_request(), 200),
    "profile unauthorised": ("/cxml/profile", builders.profile_request(secret=None), 401),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_every_answer_is_cxml_with_the_mirrored_http_status(
    partner: Any, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a registered partner
    path, body, expected = ERROR_CASES[case]
    # When a request succeeds or fails
    response = call("POST", path, body)
    answer = cxml(response)
    # Then the answer is a cXML Response whose code is the expected one and whose HTTP status mirrors it
    assert answer.status.code == expected
    assert response["statusCode"] == StatusCode(expected).http_status
    assert response["body"].startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE cXML SYSTEM ')
    # And says what it is and in which charset (text/xml without one was once read as US-ASCII)
    assert response_header(response, "Content-Type") == "text/xml; charset=UTF-8"
    assert response_header(response, "Cache-Control") == "no-store"
    # And a refusal counts as a client error, never as the server errors the alarm watches
    metrics = published_metrics(capsys.readouterr().out)
    assert ("CxmlClientErrors" in metrics, "CxmlServerErrors" in metrics) == (expected != 200, False)


def test_unexpected_failure_is_a_cxml_500(
    partner: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given DynamoDB fails while a session is opened
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB is down at internal-host-42")

    monkeypatch.setattr(setup_request.handler.service().sessions, "create", broken)
    # When a setup request arrives
    response = call("POST", "/cxml/setup", builders.setup_request())
    answer = cxml(response)
    # Then the buyer gets a retryable cXML 500 that leaks nothing about the failure
    assert (answer.status.code, response["statusCode"]) == (500, 500)
    assert "internal-host-42" not in response["body"]
    # And it counts as a server error, which the alarm watches
    assert published_metrics(capsys.readouterr().out) == {"CxmlServerErrors"}


@pytest.mark.parametrize("path", ["/cxml/setup", "/cxml/profile", "/cxml/order"])
def test_a_function_whose_settings_cannot_be_read_still_answers_buyers_a_cxml_500(
    partner: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    # Given a function deployed with a setting it cannot read (its settings are read before the
    # cXML pipeline starts), and the domain its payloadIDs are to name
    configure(monkeypatch, SESSION_TTL_SECONDS="four hours", PAYLOAD_ID_DOMAIN="gateway.supplier.example")

    # When a buyer's request arrives (call() checks that a cXML route answers cXML, not a web page)
    response = call("POST", path, builders.profile_request())

    # Then the buyer gets a retryable cXML 500, counted as the server error the alarm watches, with a
    # payloadID of the configured domain as every other answer of the functions (README, PAYLOAD_ID_DOMAIN)
    answer = cxml(response)
    assert (answer.status.code, response["statusCode"]) == (500, 500)
    assert answer.envelope.payload_id.endswith("@gateway.supplier.example"), answer.envelope.payload_id
    assert published_metrics(capsys.readouterr().out) == {"CxmlServerErrors"}


@pytest.mark.conformance
@pytest.mark.parametrize("case", ERROR_CASES)
def test_every_answer_is_dtd_valid(partner: Any, dtd: Callable[[str], etree.DTD], case: str) -> None:
    # Given a registered partner (cXML 1.2.014)
    path, body, _ = ERROR_CASES[case]
    # When a request succeeds or fails
    answer = call("POST", path, body)["body"].encode()
    # Then the answer is valid against the DTD of the version it declares
    root = etree.fromstring(answer, etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False))
    system_url = str(root.getroottree().docinfo.system_url)  # type: ignore[union-attr]
    version = system_url.split("/cXML/")[1].split("/")[0]
    validator = dtd(version)
    assert validator.validate(root), validator.error_log


def test_iso_8859_1_document_arrives_intact_as_binary(partner: Any, shop_headers: dict[str, str]) -> None:
    # Given a setup request in ISO-8859-1 with non-ASCII text, delivered base64-encoded by API Gateway
    text = builders.setup_request().decode("utf-8")
    text = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(">jbuyer<", ">jmüller<")
    body = text.encode("iso-8859-1")
    # When it is sent
    answer = cxml(call("POST", "/cxml/setup", body, binary=True))
    # Then it is accepted and the text is decoded by its declared encoding
    session_id = session_from_start(start_token(answer))
    assert Shop(shop_headers, session_id).context()["user"]["unique_name"] == "jmüller"


def test_a_setup_request_without_a_to_credential_is_400(partner: Any) -> None:
    # Given a setup request whose Header names no supplier (To): the cart could never be addressed back
    body = without(setup_document(), "//Header/To")
    # When it is sent
    answer = post_setup(body)
    # Then it is refused at once with 400, not accepted into a session that could never return a cart
    assert answer.status.code == 400
    assert "To credential" in answer.status.message


def test_a_setup_request_whose_session_the_shop_could_not_read_is_400(partner: Any) -> None:
    # Given a create request with an Extrinsic of 1,600,000 quotes: 2.1 MB in the event (base64), but four
    # bytes each in the session's answer to the shop (GET /shop/sessions/{id}: escaped in its JSON, and that
    # again in Lambda's), past Lambda's 6 MB
    body = builders.setup_request().replace(b"CC-100", b'"' * 1_600_000)
    assert lambda_payload_bytes(api_event("POST", "/cxml/setup", body=body, binary=True)) < LAMBDA_RESPONSE_LIMIT
    # When it is sent
    answer = post_setup(body)
    # Then it is refused with 400 saying why (the buyer does not retry it): opened, the shop could never read
    # the session (Lambda fails the answer: API Gateway's 502)
    assert answer.status.code == 400, answer.status
    assert "too large for the supplier's shop" in answer.status.message


def test_setup_measures_the_very_answer_the_shop_reads_with_the_restored_cart(
    partner: Any, shop_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a returned cart of two lines
    import setup_request.service
    from punchout.http import carried_size

    shop = Shop(shop_headers, open_session()[0])
    shop.put_lines(line("P1"), line("P2", description="Zweite Zeile"))
    document = ReturnPage.of(shop.checkout()).document(partner)
    measured: list[str] = []

    def recorded(body: str) -> int:
        measured.append(body)
        return carried_size(body)

    monkeypatch.setattr(setup_request.service, "carried_size", recorded)
    # When the buyer edits it
    edit = Shop(shop_headers, open_session_with(setup_document("edit", items=item_outs(document))))
    # Then setup measured the session's answer to the shop as the shop reads it: the restored cart in it
    assert [json.loads(body) for body in measured] == [edit.context()]
    assert len(edit.context()["cart"]["lines"]) == 2


@pytest.mark.parametrize(("over", "code"), [(0, 200), (1, 400)], ids=["exactly the limit", "one byte over"])
def test_a_setup_request_whose_session_is_exactly_the_limit_is_opened(
    partner: Any, monkeypatch: pytest.MonkeyPatch, over: int, code: int
) -> None:
    # Given a response limit exactly the size of the session's answer to the shop (or a byte less), set as
    # setup measures it
    import setup_request.service

    limit_at_measured_size(monkeypatch, setup_request.service, over)
    # When a create request is sent, Then the session opens at the limit, and is refused one byte over it
    assert post_setup(builders.setup_request()).status.code == code
