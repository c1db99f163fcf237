"""Conformance with real documents: every genuine corpus document is read into the right model.

The files are listed from disk when the tests are collected, so a file added to the corpus is
covered without touching this module. The documents the gateway must refuse are named here, one
by one, with the status they get.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from punchout.cxml import CXMLError, parse_xml, read_document, read_request, read_request_head, read_tree
from punchout.cxml.models import (
    MessageDocument,
    OrderRequest,
    ProfileRequest,
    ProfileResponse,
    PunchOutOrderMessage,
    PunchOutSetupRequest,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
)

from ._support import GENUINE_KINDS, REFUSED, corpus_file, corpus_params

pytestmark = pytest.mark.conformance

# corpus/other/: what the gateway does with each, by file name (a status, or the model it reads).
OTHER: dict[str, int | type] = {
    "bizcxml__garbage-request.xml": 450,  # unknown request element
    "friendsofcxml__Index.xml": 400,  # not a cXML document at all
    "ariba1.1010__StatusUpdateRequest.xml": 450,
    "friendsofcxml__StatusUpdateRequest.xml": 450,
    "friendsofcxml__CatalogUploadRequest.xml": 450,
    "friendsofcxml__ShipNoticeRequest.xml": 450,
    "friendsofcxml__QuoteMessage.xml": 450,
    "friendsofcxml__ProductActivityMessage.xml": 450,
    "friendsofcxml__handling_quote_request.xml": 450,  # a QuoteMessage
    # A Response whose payload the gateway has no model for: read as its bare Status.
    "ariba1.1010__GetPendingResponse.xml": ResponseDocument,
}


def expected_types(relative: str) -> tuple[type[Any], type[Any]]:
    """The document model and payload model a genuine file of ``corpus/<kind>/`` must read into."""
    kind, name = relative.split("/")
    if kind == "profile":
        if "response" in name.lower():
            return ResponseDocument, ProfileResponse
        return RequestDocument, ProfileRequest
    table: dict[str, tuple[type[Any], type[Any]]] = {
        "setup_request": (RequestDocument, PunchOutSetupRequest),
        "order_request": (RequestDocument, OrderRequest),
        "order_message": (MessageDocument, PunchOutOrderMessage),
        "setup_response": (ResponseDocument, PunchOutSetupResponse),
        "response": (ResponseDocument, type(None)),  # bare statuses
    }
    return table[kind]


def payload(document: Any) -> Any:
    if isinstance(document, RequestDocument):
        return document.request
    if isinstance(document, MessageDocument):
        return document.message
    return document.response


def read(shared_dir: Path, relative: str) -> Any:
    return read_document((shared_dir / "corpus" / relative).read_bytes())


# --- every file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", corpus_params(*GENUINE_KINDS, exclude=REFUSED))
def test_genuine_corpus_document_reads_into_its_model(cxml_shared_dir: Path, relative: str | None) -> None:
    # Given a real document of a kind the gateway handles
    path = corpus_file(cxml_shared_dir, relative)
    document_type, payload_type = expected_types(f"{path.parent.name}/{path.name}")

    # When it is read
    document = read_document(path.read_bytes())

    # Then it becomes the model of its kind, with the payload of its kind
    assert type(document) is document_type
    assert isinstance(payload(document), payload_type)


REQUESTS = [
    param
    for param in corpus_params("setup_request", "order_request", "profile", exclude=REFUSED)
    if param.values[0] is None or expected_types(param.values[0])[0] is RequestDocument
]


@pytest.mark.parametrize("relative", REQUESTS)
def test_a_genuine_request_reads_the_same_when_its_head_is_read_first(
    cxml_shared_dir: Path, relative: str | None
) -> None:
    # Given a real request, parsed
    root = parse_xml(corpus_file(cxml_shared_dir, relative).read_bytes())
    whole = read_tree(root)
    assert isinstance(whole, RequestDocument)
    # When its head is read (all that authentication needs), then the rest
    head = read_request_head(root)
    # Then the head is the document's, and the request is the one read in one go
    assert (head.envelope, head.header, head.deployment_mode, head.kind) == (
        whole.envelope,
        whole.header,
        whole.deployment_mode,
        whole.request.kind,
    )
    assert read_request(root, head) == whole


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_negative_corpus_document_is_refused(cxml_shared_dir: Path, name: str) -> None:
    # Given one of the corpus's deliberately broken documents
    matches = sorted((cxml_shared_dir / "corpus").glob(f"*/{name}"))
    assert len(matches) == 1, f"{name} is not (or more than once) in the corpus"
    status, phrase = REFUSED[name]

    # When it is read
    with pytest.raises(CXMLError) as refusal:
        read_document(matches[0].read_bytes())

    # Then it is refused with the expected status and a text saying why
    assert refusal.value.status == status
    assert phrase in refusal.value.text


@pytest.mark.parametrize("relative", corpus_params("other"))
def test_other_corpus_document_gets_its_expected_answer(cxml_shared_dir: Path, relative: str | None) -> None:
    # Given a document of a kind the gateway does not implement (or not cXML at all)
    path = corpus_file(cxml_shared_dir, relative)
    assert path.name in OTHER, f"new file corpus/other/{path.name}: add its expected answer to OTHER"
    expected = OTHER[path.name]

    # When it is read
    try:
        outcome: int | type = type(read_document(path.read_bytes()))
    except CXMLError as error:
        outcome = int(error.status)

    # Then it gets the answer the table names
    assert outcome == expected


# --- values from particular documents ------------------------------------------------------------


def test_ariba_order_request_reads_its_header_values(cxml_shared_dir: Path) -> None:
    # Given Ariba's OrderRequest example
    # When it is read
    document = read(cxml_shared_dir, "order_request/ariba1.1010__OrderRequest.xml")

    # Then its order ID, both From credentials and the test deployment mode come through
    assert isinstance(document.request, OrderRequest)
    assert document.request.header.order_id == "DO1234"
    assert [c.identity for c in document.header.from_credentials] == ["admin@acme.com", "bigadmin@marketplace.org"]
    assert document.header.from_credentials[1].type == "marketplace"
    assert document.deployment_mode == "test"


def test_ariba_order_request_masks_the_pcard_number(cxml_shared_dir: Path) -> None:
    # Given Ariba's OrderRequest example, paid with PCard 1234567890123456
    # When it is read
    document = read(cxml_shared_dir, "order_request/ariba1.1010__OrderRequest.xml")

    # Then the model only ever holds the last four digits
    pcard = document.request.header.payment.pcard
    assert pcard.number == "************3456"
    assert "1234567890123456" not in document.model_dump_json()


def test_ariba_order_request_reads_both_distributions(cxml_shared_dir: Path) -> None:
    # Given Ariba's OrderRequest example, whose line is split over two cost centres
    # When it is read
    line = read(cxml_shared_dir, "order_request/ariba1.1010__OrderRequest.xml").request.items[0]

    # Then both Distributions come through with their segments and charges
    assert len(line.distributions) == 2
    assert [d.charge.amount for d in line.distributions] == [Decimal(".34"), Decimal("1")]
    assert [s.id for s in line.distributions[0].accounting.segments] == ["23456", "2323"]


def test_ariba_order_request_keeps_a_date_only_order_date(cxml_shared_dir: Path) -> None:
    # Given Ariba's OrderRequest example, whose orderDate is "1999-03-12" (no time, no zone)
    # When it is read
    order_date = read(cxml_shared_dir, "order_request/ariba1.1010__OrderRequest.xml").request.header.order_date

    # Then the text is kept as sent and the value is that day, taken as UTC
    assert order_date.text == "1999-03-12"
    assert order_date.value == datetime(1999, 3, 12, tzinfo=UTC)


def test_extrinsic_without_name_is_read_with_name_none(cxml_shared_dir: Path) -> None:
    # Given the PunchoutExpress sample, one of whose Extrinsics has no name attribute
    # When it is read
    request = read(cxml_shared_dir, "setup_request/punchoutcatalogs__DecoderTest_setup_request.xml").request

    # Then that Extrinsic is kept, with no name
    assert [(e.name, e.value) for e in request.extrinsics if e.name is None] == [(None, "cxml@punchoutcatalogs.net2")]


def test_item_out_without_quantity_is_read_in_a_setup_request(cxml_shared_dir: Path) -> None:
    # Given the PunchoutExpress sample, whose three ItemOut have no quantity and no SupplierPartID
    # When it is read
    request = read(cxml_shared_dir, "setup_request/punchoutcatalogs__DecoderTest_setup_request.xml").request

    # Then all three lines come through, without a quantity
    assert [(i.quantity, i.item_id.supplier_part_auxiliary_id) for i in request.items] == [
        (None, "fakeInternalId"),
        (None, "fakeInternalId2"),
        (None, "fakeInternalId3"),
    ]


def test_timestamp_with_offset_without_colon_is_parsed(cxml_shared_dir: Path) -> None:
    # Given a setup request stamped "2018-01-01T00:00:00-0500"
    # When it is read
    timestamp = read(cxml_shared_dir, "setup_request/bizcxml__punchoutsetup1-request.xml").envelope.timestamp

    # Then the text is kept and the value carries the five hours west of UTC
    assert timestamp.text == "2018-01-01T00:00:00-0500"
    assert timestamp.value == datetime(2018, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
    assert timestamp.value is not None and timestamp.value.utcoffset() == timedelta(hours=-5)


def test_invalid_timestamp_is_kept_without_a_value(cxml_shared_dir: Path) -> None:
    # Given the simulator's setup request stamped "2019-06-20UTC12:52:15+00:00"
    # When it is read (never rejected for its date format alone)
    timestamp = read(
        cxml_shared_dir, "setup_request/punchoutcatalogs__Helper_dynamic_setup_request.xml"
    ).envelope.timestamp

    # Then the text is kept and there is no value
    assert timestamp.text == "2019-06-20UTC12:52:15+00:00"
    assert timestamp.value is None


def test_order_message_without_header_has_no_header_and_no_cookie(cxml_shared_dir: Path) -> None:
    # Given the Wurth module's bare cart: no Header, no BuyerCookie
    # When it is read
    document = read(cxml_shared_dir, "order_message/wurth-dolibarr__parser_test_poom.xml")

    # Then it is a cart without header and without cookie, its line intact
    assert isinstance(document, MessageDocument)
    assert document.header is None
    assert document.message.buyer_cookie is None
    assert document.message.items[0].item_detail.descriptions[0].short_name == "Nettoyant freins"


def test_response_with_short_version_keeps_it(cxml_shared_dir: Path) -> None:
    # Given the fake PO endpoint's answer, version="1.1" and no DOCTYPE
    # When it is read
    document = read(cxml_shared_dir, "response/fakepo__accept_response.xml")

    # Then the version is kept as written, with the status
    assert document.envelope.version == "1.1"
    assert (document.status.code, document.status.text) == (200, "PO = Test PO")
