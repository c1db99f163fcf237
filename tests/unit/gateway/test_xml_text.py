"""Cart texts hold exactly the characters XML 1.0 can carry (its Char production), nothing less."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from punchout.sessions import XmlText

TEXT = TypeAdapter(XmlText)


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
