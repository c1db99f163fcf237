"""Order and cart lines: the reader's tuned line code keeps the lenient rules and shares only equal values."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from punchout.cxml import read_document, render
from punchout.cxml.models import (
    Accounting,
    AccountingSegment,
    Classification,
    Distribution,
    ItemID,
    ItemOut,
)

from ._support import item_detail, money, order_request_document
from .strategies import documents

VERSION = "1.2.069"
LINES = ("ItemOut", "ItemIn")
# Elements whose own text is read around their children: moving a child would move its tail.
MIXED_CONTENT = ("Description", "Comments")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def line(number: int, classification: Classification, accounting: Accounting) -> ItemOut:
    detail = item_detail().model_copy(update={"classifications": [classification]})
    return ItemOut(
        quantity=Decimal(1),
        line_number=number,
        item_id=ItemID(supplier_part_id=f"SKU-{number}"),
        item_detail=detail,
        distributions=[Distribution(accounting=accounting, charge=money("1.00"))],
    )


def accounting(name: str, description: str) -> Accounting:
    return Accounting(name=name, segments=[AccountingSegment(id="6100", type="G/L Account", description=description)])


def test_lines_repeating_or_nearly_repeating_values_read_back_as_sent() -> None:
    # Given lines that repeat a classification and an accounting, and lines that differ from
    # them in a single field each
    unspsc = Classification(domain="UNSPSC", value="44121704")
    office = accounting("DistributionCharge", "Office supplies")
    lines = [
        line(1, unspsc, office),
        line(2, unspsc, office),
        line(3, Classification(domain="UNSPSC", value="44121705"), accounting("DistributionCharge", "Travel")),
        line(4, Classification(domain="eCl@ss", value="44121704"), accounting("Other", "Office supplies")),
        line(5, unspsc, office),
    ]
    document = order_request_document(VERSION)
    document = document.model_copy(update={"request": document.request.model_copy(update={"items": lines})})

    # When it is rendered and read back
    read = read_document(render(document, VERSION))

    # Then every line has its own values, none taken from a line that merely looks alike
    assert read == document


def _perturb(root: etree._Element, rng: random.Random) -> None:
    """Change the lines only in ways the lenient rules must ignore (PROTOCOL.md sections 3 and 7)."""
    for item in list(root.iter(*LINES)):
        for element in list(item.iter()):
            children = list(element)
            if not children:
                # Surrounding whitespace, as pretty-printing buyers send it: every line text is stripped.
                element.text = rng.choice([" ", "\n    ", "\t", "\u00a0"]) + (element.text or "") + "\n  "
                continue
            if element.tag not in MIXED_CONTENT:
                # Children out of DTD order; siblings of one name keep their order (lists, first wins).
                tags = list(dict.fromkeys(child.tag for child in children))
                rng.shuffle(tags)
                rank = {tag: position for position, tag in enumerate(tags)}
                for child in sorted(children, key=lambda child: rank[child.tag]):
                    element.append(child)
            # An element no DTD knows, empty so that no text changes.
            unknown = etree.Element("VendorSpecific", {"a": "1"})
            if element.tag == "Money":
                element.append(unknown)  # the amount is the text before any child
            else:
                element.insert(rng.randrange(len(element) + 1), unknown)


@pytest.mark.parametrize("kind", ["OrderRequest", "PunchOutOrderMessage", "PunchOutSetupRequest"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_lines_out_of_order_with_whitespace_and_unknown_elements_read_the_same(kind: str, data: st.DataObject) -> None:
    # Given a valid document whose lines are then reordered, padded and given unknown elements
    document = data.draw(documents(VERSION, kind), label="document")
    root = etree.fromstring(render(document, VERSION), _PARSER)
    _perturb(root, data.draw(st.randoms(use_true_random=False), label="rng"))
    perturbed = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")

    # When it is read
    read = read_document(perturbed)

    # Then it is the document rendered
    assert read == document
