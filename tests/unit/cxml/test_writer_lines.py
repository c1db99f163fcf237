"""Lines of one shape: the writer builds the first and copies it for the next ones (see cxml/_shapes.py).

Whatever the writer copies, a line must come out exactly as it does when it is the only line of its
document, built element by element.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import BaseModel

from punchout.cxml import render
from punchout.cxml.models import (
    Classification,
    Description,
    Extrinsic,
    ItemOut,
    Money,
    Shipping,
    Timestamp,
)

from ._support import VERSIONS, order_message_document, order_of, order_request_document
from .strategies import documents, item_ins, item_outs

LINE_KINDS = ("OrderRequest", "PunchOutOrderMessage", "PunchOutSetupRequest")


def with_items(document: Any, items: list[Any]) -> Any:
    if hasattr(document, "message"):
        return document.model_copy(update={"message": document.message.model_copy(update={"items": items})})
    return document.model_copy(update={"request": document.request.model_copy(update={"items": items})})


def rendered_lines(document: Any, items: list[Any], version: str) -> bytes:
    """The lines of ``document`` with ``items``, as rendered: bytes, not parsed (which would hide
    ``<a></a>`` versus ``<a/>``). They are the payload's last children, before its end tag."""
    payload = document.message if hasattr(document, "message") else document.request
    bare = render(with_items(document, []), version)
    cut = bare.rindex(f"</{payload.kind}>".encode())
    data = render(with_items(document, items), version)
    assert data[:cut] == bare[:cut] and data[len(data) - (len(bare) - cut) :] == bare[cut:]
    return data[cut : len(data) - (len(bare) - cut)]


def revalued(value: Any, rng: random.Random) -> Any:
    """``value`` with some of its texts, numbers and dates changed (and so, often, the same shape)."""
    if isinstance(value, Timestamp):
        if value.value is None or rng.random() < 0.5:
            return value
        return Timestamp.of(value.value + timedelta(days=1))
    if isinstance(value, BaseModel):
        fields = {name: revalued(getattr(value, name), rng) for name in type(value).model_fields if name != "kind"}
        return value.model_copy(update=fields)
    if isinstance(value, list):
        return [revalued(item, rng) for item in value]
    if isinstance(value, str):
        choice = rng.random()
        return value if choice < 0.4 else "" if choice < 0.5 else f"{value} <&\"'> {rng.randint(0, 9)}"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | int):
        return value if rng.random() < 0.5 else value + 1
    return value


@pytest.mark.parametrize("kind", LINE_KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_each_line_renders_as_it_does_alone(kind: str, data: st.DataObject) -> None:
    # Given a document whose lines are a few generated ones, repeated with some values changed
    version = data.draw(st.sampled_from(VERSIONS), label="version")
    document = data.draw(documents(version, kind), label="document")
    lines = item_ins(version) if kind == "PunchOutOrderMessage" else item_outs(version)
    originals = data.draw(st.lists(lines, min_size=1, max_size=3), label="lines")
    rng = data.draw(st.randoms(use_true_random=False), label="rng")
    items = [revalued(rng.choice(originals), rng) for _ in range(rng.randint(2, 10))]
    try:
        render(with_items(document, items), version)
    except ValueError:  # a changed value the writer refuses (an empty Extrinsic name...)
        return

    # When the whole document is rendered
    together = rendered_lines(document, items, version)

    # Then each line is the same as in a document of its own
    assert together == b"".join(rendered_lines(document, [item], version) for item in items)


def test_a_copied_line_takes_all_its_own_values() -> None:
    # Given two order lines of the same shape that differ in every text, attribute and tail
    document = order_request_document()
    first = order_of(document).items[0]
    detail = first.item_detail
    assert detail is not None
    second = first.model_copy(
        update={
            "quantity": Decimal("3.5"),
            "line_number": 2,
            "requested_delivery_date": Timestamp.of(datetime(2026, 2, 2, 9, 30, tzinfo=UTC)),
            "item_id": first.item_id.model_copy(update={"supplier_part_id": "BP-20"}),
            "item_detail": detail.model_copy(
                update={
                    "unit_price": Money(amount=Decimal("7.25"), currency="EUR"),
                    "descriptions": [Description(text="Red pen", lang="en", short_name="Red")],
                    "extrinsics": [Extrinsic(name="Colour", value="red")],
                    "lead_time": 9,
                }
            ),
        }
    )
    version = "1.2.069"

    # When both are rendered in one order
    together = rendered_lines(document, [first, second], version)

    # Then the second has its own values, not the first's
    alone = rendered_lines(document, [second], version)
    assert together == rendered_lines(document, [first], version) + alone
    line = etree.fromstring(alone)
    assert (line.get("quantity"), line.get("lineNumber")) == ("3.5", "2")
    assert line.get("requestedDeliveryDate") == "2026-02-02T09:30:00+00:00"
    assert line.findtext("ItemDetail/Description/ShortName") == "Red"
    assert line.find("ItemDetail/Description").xpath("string()") == "RedRed pen"  # type: ignore[union-attr]


def test_a_copied_line_can_lose_a_text_the_first_had() -> None:
    # Given two cart lines of the same shape: the first Extrinsic has a value, the second an empty one
    document = order_message_document()
    first = document.message.items[0]
    no_colour = first.item_detail.model_copy(update={"extrinsics": [Extrinsic(name="Colour", value="")]})
    second = first.model_copy(update={"item_detail": no_colour})

    # When both are rendered in one cart, in both orders
    for items in ([first, second], [second, first]):
        together = rendered_lines(document, items, "1.2.014")

        # Then each is as it is alone: an empty Extrinsic where the value is empty
        assert together == b"".join(rendered_lines(document, [item], "1.2.014") for item in items)
        assert b'<Extrinsic name="Colour"></Extrinsic>' in together


def _with_detail(line: ItemOut, **changes: Any) -> ItemOut:
    assert line.item_detail is not None
    return line.model_copy(update={"item_detail": line.item_detail.model_copy(update=changes)})


# Changes to the sample order line that change its shape (the key its copies are found by), not only
# its values: an attribute whose value is part of the shape, or an attribute left out.
SHAPE_CHANGES: dict[str, Callable[[ItemOut], ItemOut]] = {
    "no lineNumber": lambda line: line.model_copy(update={"line_number": None}),
    "no requestedDeliveryDate": lambda line: line.model_copy(update={"requested_delivery_date": None}),
    "UnitPrice currency": lambda line: _with_detail(line, unit_price=Money(amount=Decimal("12.50"), currency="USD")),
    "Description language": lambda line: _with_detail(
        line, descriptions=[Description(text="Blue ballpoint pen, box of 10", lang="fr", short_name="Pen")]
    ),
    "Classification domain": lambda line: _with_detail(
        line, classifications=[Classification(domain="eCl@ss", value="44121704")]
    ),
    "Extrinsic name": lambda line: _with_detail(line, extrinsics=[Extrinsic(name="Couleur", value="blue")]),
    "Contact role": lambda line: line.model_copy(
        update={"contacts": [contact.model_copy(update={"role": "buyer"}) for contact in line.contacts]}
    ),
    "Shipping trackingDomain": lambda line: line.model_copy(
        update={
            "shipping": Shipping(
                money=Money(amount=Decimal("4.90"), currency="EUR"),
                description=Description(text="Standard"),
                tracking_domain="DHL",
            )
        }
    ),
}


@pytest.mark.parametrize("change", sorted(SHAPE_CHANGES))
def test_lines_differing_only_in_an_attribute_of_their_shape_each_keep_their_own(change: str) -> None:
    # Given two order lines alike but for one attribute whose value or absence is part of a line's shape
    document = order_request_document()
    first = order_of(document).items[0]
    second = SHAPE_CHANGES[change](first)

    # When both are rendered in one order
    together = rendered_lines(document, [first, second], "1.2.069")

    # Then the second is as it is alone, not a copy of the first
    assert together == b"".join(rendered_lines(document, [item], "1.2.069") for item in (first, second))


@pytest.mark.parametrize(
    ("amount", "text"),
    [("12.50", "12.50"), ("1E+3", "1000"), ("1E-7", "0.0000001"), ("-0.00", "-0.00"), ("0.000001", "0.000001")],
)
def test_amounts_are_plain_decimals(amount: str, text: str) -> None:
    # Given a cart line priced at ``amount``
    document = order_message_document()
    line = document.message.items[0]
    detail = line.item_detail.model_copy(update={"unit_price": Money(amount=Decimal(amount), currency="EUR")})
    items = [line.model_copy(update={"item_detail": detail})]

    # When it is rendered
    root = etree.fromstring(render(with_items(document, items)))

    # Then the price is written without an exponent, every digit kept
    assert root.findtext(".//ItemIn/ItemDetail/UnitPrice/Money") == text
