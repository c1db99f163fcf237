"""Cart texts hold exactly the characters XML 1.0 can carry (its Char production), nothing less; the texts
a line must have (part id, description, unit of measure...) hold more than whitespace."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from punchout.model import SHOP_INPUT
from punchout.sessions import RequiredXmlText, XmlText

TEXT = TypeAdapter(XmlText)
REQUIRED = TypeAdapter(RequiredXmlText)


def is_xml_char(code: int) -> bool:
    # XML 1.0 (fifth edition), production [2]
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


# Each edge of the production, and a few characters near them that are easy to get wrong.
EDGES = [
    *range(0x00, 0x21),
    0x7F,
    0x85,
    0xA0,
    0xD7FF,
    0xD800,
    0xDBFF,
    0xDC00,
    0xDFFF,
    0xE000,
    0xFFFC,
    0xFFFD,
    0xFFFE,
    0xFFFF,
    0x10000,
    0x1F600,
    0x10FFFF,
]


@pytest.mark.parametrize("code", EDGES, ids=lambda code: f"U+{code:04X}")
def test_a_cart_text_accepts_a_character_exactly_when_xml_can_carry_it(code: int) -> None:
    # Given a text holding the character between two letters
    text = f"a{chr(code)}b"
    # When it is validated as a cart text
    if is_xml_char(code):
        # Then a character XML can carry is kept as is
        assert TEXT.validate_python(text) == text
    else:
        # Then any other one is refused, named by its code point
        with pytest.raises(ValidationError, match=f"U\\+{code:04X} cannot be sent in cXML"):
            TEXT.validate_python(text)


PUBLISHED = re.compile(TEXT.json_schema()["pattern"])


@pytest.mark.parametrize("code", [code for code in EDGES if not 0xD800 <= code <= 0xDFFF], ids=lambda c: f"U+{c:04X}")
def test_the_published_pattern_accepts_a_character_exactly_when_the_gateway_does(code: int) -> None:
    # Given a text holding the character, and the pattern the OpenAPI document publishes for cart texts
    text = f"a{chr(code)}b"
    # When a shop's validator applies the pattern, Then it agrees with the gateway (lone surrogates aside:
    # no JSON a shop writes, and regex engines disagree on them)
    assert (PUBLISHED.search(text) is not None) is is_xml_char(code)


# Every character Python's str.strip() removes (the cXML reader strips what buyers send back), and a few
# that look blank but are not whitespace to it.
WHITESPACE = [code for code in range(0x110000) if chr(code).isspace()]
NOT_WHITESPACE = [0x200B, 0x2060, 0xFEFF, 0x3164]


@pytest.mark.parametrize("code", [code for code in WHITESPACE if is_xml_char(code)], ids=lambda c: f"U+{c:04X}")
def test_a_required_text_of_whitespace_only_is_refused_and_so_is_it_by_the_published_pattern(code: int) -> None:
    # Given a text of nothing but whitespace (what a product database's empty field often holds)
    text = f"{chr(code)} {chr(code)}"
    # When it is validated as a text a cart line must have
    # Then it is refused: the buyer's system would get a blank part id, description or unit of measure
    with pytest.raises(ValidationError, match="must hold more than whitespace"):
        REQUIRED.validate_python(text, context=SHOP_INPUT)
    # And a shop's validator refuses it too, by the pattern the OpenAPI document publishes
    assert re.search(REQUIRED.json_schema()["pattern"], text) is None


@pytest.mark.parametrize("code", NOT_WHITESPACE, ids=lambda c: f"U+{c:04X}")
def test_a_required_text_of_a_character_that_is_no_whitespace_is_kept(code: int) -> None:
    text = chr(code)
    assert REQUIRED.validate_python(text, context=SHOP_INPUT) == text
    assert re.search(REQUIRED.json_schema()["pattern"], text) is not None


@pytest.mark.parametrize("text", ["P1", " P1 ", "\tBolt M8\n", "\u00a0EA"])
def test_a_required_text_with_whitespace_around_is_kept_as_the_shop_sent_it(text: str) -> None:
    assert REQUIRED.validate_python(text, context=SHOP_INPUT) == text
    assert re.search(REQUIRED.json_schema()["pattern"], text) is not None


@pytest.mark.parametrize("code", [code for code in EDGES if not 0xD800 <= code <= 0xDFFF], ids=lambda c: f"U+{c:04X}")
def test_a_required_text_refuses_what_xml_cannot_carry_as_any_cart_text_does(code: int) -> None:
    text = f"a{chr(code)}b"
    accepted = re.search(REQUIRED.json_schema()["pattern"], text) is not None
    assert accepted is is_xml_char(code)
    if is_xml_char(code):
        assert REQUIRED.validate_python(text, context=SHOP_INPUT) == text
    else:
        with pytest.raises(ValidationError, match=f"U\\+{code:04X} cannot be sent in cXML"):
            REQUIRED.validate_python(text, context=SHOP_INPUT)


def test_a_blank_text_of_a_cart_stored_before_the_check_is_read_back_as_stored() -> None:
    # Given a text stored before blank ones were refused; When the stored cart is read back (no context)
    # Then it loads as it was, so its session can still be transferred, edited and reconciled
    assert REQUIRED.validate_python("   ") == "   "
