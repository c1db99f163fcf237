"""What the property tests share: their settings, and the characters XML 1.0 allows."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz_settings(examples: int) -> settings:
    """``examples`` per test in ``make test``; ``FUZZ_EXAMPLES`` sets another count, for a deeper search.
    No deadline: a handler's first call builds its validators, which a deadline would misjudge."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", examples)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# XML 1.0 Char: no C0/C1 controls other than tab, newline and carriage return, no surrogates, no
# U+FFFE/U+FFFF.
XML_CHARACTERS = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    include_characters="\t\n\r",
    exclude_characters="\ufffe\uffff",
)
