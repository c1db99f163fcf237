"""What an order keeps of its attachments' MIME headers (``kept_attachments``), at the exact bounds.

The end-to-end tests send values far past each bound; these pin where each one is."""

from __future__ import annotations

from dataclasses import replace

import pytest

from punchout.cxml.errors import InvalidDocument
from punchout.mime import MimePart
from punchout.orders import Attachment, kept_attachments


def _part(content_id: str = "drawing@buyer.example", content_type: str = "application/pdf") -> MimePart:
    return MimePart(content_id=content_id, content_type=content_type, filename="drawing.pdf", data=b"%PDF")


def _stored(parts: list[MimePart]) -> int:
    """The bytes the order record stores for these attachments' metadata (JSON, UTF-8)."""
    return sum(len(Attachment.of(part).model_dump_json().encode("utf-8")) for part in parts)


def _parts_storing(total: int) -> list[MimePart]:
    """80 attachments, each within every per-field bound, whose metadata takes exactly ``total`` bytes."""
    parts = [MimePart(f"{n:02d}@buyer.example", "application/pdf", "📄" * 900, b"x") for n in range(80)]
    missing = total - _stored(parts)
    for index, part in enumerate(parts):
        pad = min(missing, 900)
        parts[index] = replace(part, content_id="c" * pad + part.content_id)
        missing -= pad
    assert missing == 0 and _stored(parts) == total
    return parts


@pytest.mark.parametrize(
    ("kept", "refused"),
    [
        (_part(content_id="c" * 986 + "@buyer.example"), _part(content_id="c" * 987 + "@buyer.example")),
        (_part(content_type="application/" + "x" * 243), _part(content_type="application/" + "x" * 244)),
    ],
    ids=["content-id-of-1000", "media-type-of-255"],
)
def test_a_content_id_of_1000_characters_and_a_media_type_of_255_are_the_most_kept(
    kept: MimePart, refused: MimePart
) -> None:
    # Given an attachment at the bound, and one a character over it
    assert {len(kept.content_id), len(kept.content_type)} & {1000, 255}
    # Then the first is kept as it is, the second refuses the order (400)
    assert kept_attachments([kept]) == [kept]
    with pytest.raises(InvalidDocument, match="at most"):
        kept_attachments([refused])


def test_attachments_whose_metadata_takes_300000_bytes_are_kept() -> None:
    parts = _parts_storing(300_000)
    assert kept_attachments(parts) == parts


def test_attachments_whose_metadata_takes_one_byte_more_are_refused() -> None:
    with pytest.raises(InvalidDocument, match=r"300,001 bytes; at most 300,000"):
        kept_attachments(_parts_storing(300_001))
