"""Model-level rules: timestamps never reject a document, card numbers are masked once and for all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from punchout.cxml import read_document, render
from punchout.cxml.models import PCard, Status, Timestamp, mask_card_number

from ._support import order_of, order_request_document

EST = timezone(timedelta(hours=-5))
IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2026-01-31T10:00:00+00:00", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T10:00:00Z", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T10:00:00-0500", datetime(2026, 1, 31, 10, tzinfo=EST)),
        ("2026-01-31T10:00:00-05", datetime(2026, 1, 31, 10, tzinfo=EST)),
        ("2026-01-31T10:00:00.123456789-05:00", datetime(2026, 1, 31, 10, 0, 0, 123456, tzinfo=EST)),
        ("2026-01-31T10:00:00.5+05:30", datetime(2026, 1, 31, 10, 0, 0, 500000, tzinfo=IST)),
        ("2026-01-31T10:00", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31 10:00:00", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        (" 2026-01-31T10:00:00 -05:00\n", datetime(2026, 1, 31, 10, tzinfo=EST)),
        # Ruby's Time#to_s: a UTC time (Time.now.utc, Rails' Time.current) ends with the zone's name
        ("2026-01-31 10:00:00 UTC", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31 05:00:00 -0500", datetime(2026, 1, 31, 5, tzinfo=EST)),
    ],
)
def test_timestamp_forms_buyers_send_are_parsed(text: str, value: datetime) -> None:
    # Given a timestamp in one of the forms seen from buyers
    # When it is parsed
    timestamp = Timestamp.parse(text)

    # Then the text is kept and the value is the instant meant (no zone: UTC)
    assert (timestamp.text, timestamp.value) == (text, value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2019-06-20UTC12:52:15+00:00",
        "2026-13-01",
        "2026-01-31T25:00:00",
        "2026-01-01T10:00:00+24:00",
        "2026-01-01T10:00:00+2500",
        "2026-01-01T10:00:00-99:00",
        "2026-01-31T10:00:00" + " " * 40 + "+00:00",  # over 64 characters: not read
    ],
)
def test_unreadable_timestamp_is_kept_without_value(text: str) -> None:
    # Given a timestamp that cannot be read
    # When it is parsed
    timestamp = Timestamp.parse(text)

    # Then it is kept as text, with no value, and nothing is raised
    assert (timestamp.text, timestamp.value) == (text, None)


def test_timestamp_of_renders_a_numeric_offset_with_seconds() -> None:
    # Given an aware datetime with microseconds
    value = datetime(2026, 1, 31, 10, 0, 0, 999999, tzinfo=UTC)

    # When a timestamp is made for it
    timestamp = Timestamp.of(value)

    # Then its text has seconds and +00:00 (never Z)
    assert timestamp.text == "2026-01-31T10:00:00+00:00"


def test_timestamp_of_a_naive_datetime_is_taken_as_utc() -> None:
    # Given a datetime without a zone
    # When a timestamp is made for it
    timestamp = Timestamp.of(datetime(2026, 1, 31, 10, 0, 0))

    # Then it is rendered and read as UTC, with its numeric offset
    assert (timestamp.text, timestamp.value) == ("2026-01-31T10:00:00+00:00", datetime(2026, 1, 31, 10, tzinfo=UTC))


@pytest.mark.parametrize(("code", "ok"), [(199, False), (200, True), (204, True), (299, True), (300, False)])
def test_a_status_is_ok_for_2xx_codes_only(code: int, ok: bool) -> None:
    # Given a Status with a code around the 2xx range
    # Then it is ok exactly when the code is 2xx
    assert Status(code=code, text="").ok is ok


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("4111111111111111", "************1111"),
        ("4111 1111 1111 1111", "************1111"),
        ("4111-1111-1111-1111", "************1111"),
        ("123", "123"),
    ],
)
def test_card_number_keeps_only_the_last_four_digits(number: str, masked: str) -> None:
    # Given a card number as buyers write it
    # When it is masked
    # Then only the last four digits remain visible
    assert mask_card_number(number) == masked


def test_masking_a_masked_card_number_changes_nothing() -> None:
    # Given a number that was masked already (a stored order, a re-read rendered order)
    # When it is masked again
    # Then it keeps its length and last four digits
    assert mask_card_number("************3456") == "************3456"


def test_pcard_model_never_holds_the_full_number() -> None:
    # Given a PCard built from a full number
    card = PCard(number="4111111111111111", expiration="2027-12-31")

    # Then the model holds the masked number only
    assert card.number == "************1111"


def test_masked_pcard_survives_render_and_read_unchanged() -> None:
    # Given an order paid with a PCard (masked in the model)
    document = order_request_document("1.2.069")

    # When it is rendered and read back
    read_back = read_document(render(document, "1.2.069"))

    # Then the masked number is the same
    payment = order_of(read_back).header.payment
    assert payment is not None and payment.pcard is not None
    assert payment.pcard.number == "************1111"
