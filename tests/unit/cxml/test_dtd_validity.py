"""Everything the writer renders is valid for the DTD it declares (1.2.014, 1.2.063 and 1.2.069).

The DTDs are Ariba's official ones from CXML_SHARED_DIR; the rendered bytes are parsed without
loading the DTD they name (no network) and validated against the local copy of that version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from punchout.cxml import RenderError, StatusCode, read_document, render, render_status
from punchout.cxml.models import Comments
from punchout.cxml.reader import XML_LANG
from tests.support.contract import declared_version, dtd_errors

from ._support import (
    BOUNDARY_VERSIONS,
    GENUINE_KINDS,
    REFUSED,
    TWO_COMMENTS,
    VERSIONS,
    corpus_file,
    corpus_params,
    envelope,
    order_message_document,
    order_of,
    order_request_document,
    profile_request_document,
    profile_response_document,
    setup_request_document,
    setup_response_document,
    with_version,
)

pytestmark = pytest.mark.conformance

LoadDTD = Callable[[str], etree.DTD]

# Genuine documents the lenient reader accepts but the strict writer must refuse: what it says.
RENDER_REFUSED = {
    "punchoutcatalogs__DecoderTest_setup_request.xml": "Extrinsic needs a name",
    "wurth-dolibarr__parser_test_poom.xml": "Header needs From, To and Sender",
}


def assert_valid(dtd: LoadDTD, data: bytes) -> None:
    """``data`` is valid for the DTD its DOCTYPE declares."""
    errors = dtd_errors(dtd(declared_version(data)), data)
    assert errors == [], "\n".join(errors)


# --- the corpus, re-rendered ---------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("relative", corpus_params(*GENUINE_KINDS, exclude={*REFUSED, *RENDER_REFUSED}))
def test_corpus_document_rerendered_is_valid(
    cxml_shared_dir: Path, dtd: LoadDTD, relative: str | None, version: str
) -> None:
    # Given a genuine corpus document, read leniently
    document = read_document(corpus_file(cxml_shared_dir, relative).read_bytes())

    # When it is rendered for a cXML version
    data = render(with_version(document, version), version)

    # Then the bytes declare that version and are valid for its DTD
    assert declared_version(data) == version
    assert_valid(dtd, data)


@pytest.mark.parametrize("name", sorted(RENDER_REFUSED))
def test_corpus_document_the_writer_cannot_render_is_refused(cxml_shared_dir: Path, name: str) -> None:
    # Given a genuine document the reader accepts although it breaks the DTD
    (path,) = (cxml_shared_dir / "corpus").glob(f"*/{name}")
    document = read_document(path.read_bytes())

    # When it is rendered
    # Then the strict writer refuses, saying what is missing
    with pytest.raises(RenderError, match=RENDER_REFUSED[name]):
        render(document, "1.2.069")


# --- documents built by the gateway ---------------------------------------------------------------

STATUS_CODES = [200, 201, 204, 400, 401, 403, 406, 409, 412, 417, 450, 500, 560]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("code", STATUS_CODES)
def test_render_status_is_valid(dtd: LoadDTD, code: int, version: str) -> None:
    # Given a status the gateway answers with
    status = StatusCode(code)

    # When it is rendered as a bare Response/Status
    data = render_status(code, status.text, "Details for the buyer", envelope=envelope(), version=version)

    # Then it is valid, and carries the code, the text and the language of the details
    assert_valid(dtd, data)
    element = etree.fromstring(data).find("Response/Status")
    assert element is not None
    assert (element.get("code"), element.get("text"), element.get(XML_LANG)) == (str(code), status.text, "en-US")


BUILT: dict[str, Callable[[], Any]] = {
    "ProfileResponse": profile_response_document,
    "PunchOutSetupResponse": setup_response_document,
    "PunchOutOrderMessage": order_message_document,
    "OrderRequest with PCard, Distribution, Comments": order_request_document,
    "OrderRequest with Comments holding attachments": lambda: order_request_document(
        comments=[Comments(text="See the drawing", lang="en", attachments=["cid:drawing-1@buyer.example"])]
    ),
    "PunchOutSetupRequest (edit, with ItemOut)": setup_request_document,
    "ProfileRequest": profile_request_document,
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_document_is_valid(dtd: LoadDTD, name: str, version: str) -> None:
    # Given a document the gateway builds
    document = BUILT[name]()

    # When it is rendered for a version
    data = render(document, version)

    # Then it is valid for that version's DTD
    assert_valid(dtd, data)


@pytest.mark.parametrize("version", BOUNDARY_VERSIONS)
def test_order_with_several_comments_is_valid(dtd: LoadDTD, version: str) -> None:
    # Given an order whose header has two Comments (allowed only from 1.2.063)
    document = order_request_document(comments=TWO_COMMENTS)

    # When it is rendered
    data = render(document, version)

    # Then it is valid for every version
    assert_valid(dtd, data)


@pytest.mark.parametrize("version", BOUNDARY_VERSIONS)
def test_postal_address_with_municipality_is_valid(dtd: LoadDTD, version: str) -> None:
    # Given an order shipped to an address with a Municipality (absent from the DTDs before 1.2.036)
    document = order_request_document(municipality="Vieux Lyon")

    # When it is rendered
    data = render(document, version)

    # Then it is valid for every version
    assert_valid(dtd, data)


@pytest.mark.parametrize("version", BOUNDARY_VERSIONS)
def test_order_header_attributes_are_valid_and_read_back(dtd: LoadDTD, version: str) -> None:
    # Given an order with a requisition number, one shipment and a delivery date (absent before 1.2.036)
    document = order_request_document()
    order = order_of(document)
    header = order.header.model_copy(
        update={"requisition_id": "REQ-7", "ship_complete": True, "requested_delivery_date": order.header.order_date}
    )
    document = document.model_copy(update={"request": order.model_copy(update={"header": header})})

    # When it is rendered and read back
    data = render(document, version)
    read = order_of(read_document(data)).header

    # Then it is valid for that version, and keeps what the version's DTD can carry
    assert_valid(dtd, data)
    assert (read.requisition_id, read.ship_complete) == ("REQ-7", True)
    assert read.requested_delivery_date == (None if version == "1.2.014" else header.order_date)


def _with_contact_role(document: Any, role: str) -> Any:
    order = order_of(document)
    (line,) = order.items
    (contact,) = line.contacts
    line = line.model_copy(update={"contacts": [contact.model_copy(update={"role": role})]})
    return document.model_copy(update={"request": order.model_copy(update={"items": [line]})})


# Contact@role is an NMTOKEN: name characters only, including letters beyond ASCII.
NMTOKEN_ROLES = ["endUser", "buyer.contact", "ship-to_2", "Käufer", "·réception", "12", "ns:role", "€uro"]
NOT_NMTOKEN_ROLES = ["end user", "buyer/contact", "", "role,2", "a\tb", "2\u00d73"]  # a multiplication sign


@pytest.mark.parametrize("role", NMTOKEN_ROLES + NOT_NMTOKEN_ROLES)
def test_contact_role_is_rendered_exactly_when_the_dtd_accepts_it(dtd: LoadDTD, role: str) -> None:
    # Given an order line whose Contact has this role, and the DTD's verdict on that role
    # (set into an otherwise valid document by hand, past the writer)
    document = _with_contact_role(order_request_document(), role)
    valid = etree.fromstring(render(order_request_document(), "1.2.069"))
    (contact,) = valid.iterfind("Request/OrderRequest/ItemOut/Contact")
    contact.set("role", role)
    dtd_accepts = dtd("1.2.069").validate(valid)
    assert dtd_accepts == (role in NMTOKEN_ROLES)

    # When the writer renders it
    # Then it renders a valid document when the DTD accepts the role, and refuses otherwise
    if dtd_accepts:
        assert_valid(dtd, render(document, "1.2.069"))
    else:
        with pytest.raises(RenderError, match="Contact role must be a single name token"):
            render(document, "1.2.069")


@pytest.mark.parametrize("credential_type", ["marketplace", "Marketplace", "network"])
def test_credential_type_is_rendered_exactly_when_the_dtd_accepts_it(dtd: LoadDTD, credential_type: str) -> None:
    # Given an order whose From credential has this type, and the DTD's verdict on that type
    document = order_request_document()
    valid = etree.fromstring(render(document, "1.2.069"))
    (credential, *_) = valid.iterfind("Header/From/Credential")
    credential.set("type", credential_type)
    assert dtd("1.2.069").validate(valid) == (credential_type == "marketplace")
    assert document.header is not None
    sender = document.header.from_credentials[0].model_copy(update={"type": credential_type})
    header = document.header.model_copy(update={"from_credentials": [sender]})
    document = document.model_copy(update={"header": header})

    # When the writer renders it
    # Then it renders a valid document when the DTD accepts the type, and refuses otherwise
    if credential_type == "marketplace":
        assert_valid(dtd, render(document, "1.2.069"))
    else:
        with pytest.raises(RenderError, match="Credential type must be marketplace"):
            render(document, "1.2.069")
