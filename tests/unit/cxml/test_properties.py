"""Property test: whatever valid model the gateway renders is valid for the DTD and reads back unchanged.

Generated for each of 1.2.014, 1.2.063 and 1.2.069, with ``envelope.version`` already set to the
version rendered (``read_document`` reports the version the document declares). Both halves are one
property of ``render``: its output is a valid document of that version, and it loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from punchout.cxml import parse_xml, read_document, read_request, read_request_head, render
from tests.support.contract import dtd_errors

from ._support import VERSIONS
from .strategies import KINDS, documents

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_rendered_document_is_valid_and_reads_back_equal(
    dtd: Callable[[str], etree.DTD], version: str, kind: str, data: st.DataObject
) -> None:
    # Given a valid model of that kind, for that version
    document = data.draw(documents(version, kind), label="document")

    # When it is rendered
    rendered = render(document, version)

    # Then the bytes are valid for that version's DTD
    errors = dtd_errors(dtd(version), rendered)
    assert errors == [], "\n".join(errors)
    # And reading them gives back the model rendered
    assert read_document(rendered) == document


@pytest.mark.parametrize("kind", ["PunchOutSetupRequest", "OrderRequest", "ProfileRequest"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_request_reads_the_same_when_its_head_is_read_first(kind: str, data: st.DataObject) -> None:
    # Given a valid request, rendered and parsed
    document = data.draw(documents(VERSIONS[-1], kind), label="document")
    root = parse_xml(render(document, VERSIONS[-1]))
    # When its head is read (what authentication needs), then the rest
    # Then it is the request rendered
    assert read_request(root, read_request_head(root)) == document
