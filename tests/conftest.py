"""Fixtures the whole suite shares: the cXML reference data beside the checkout (DTDs and corpus).

The data is never copied into the repository. Tests read it from the folder named by the
``CXML_SHARED_DIR`` environment variable: when the variable is unset, the tests that need it skip
(a developer without the data can still run everything else); when it is set but the folder is
missing, they fail, so that CI cannot silently lose its conformance tests.

The ``conformance`` marker those tests carry is registered in pyproject.toml.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

SHARED_DIR_VARIABLE = "CXML_SHARED_DIR"
SKIP_REASON = f"{SHARED_DIR_VARIABLE} is not set: the cXML DTDs and corpus are not available"


@pytest.fixture(scope="session")
def cxml_shared_dir() -> Path:
    """The folder holding ``dtd/`` and ``corpus/``; skips when the variable is unset."""
    value = os.environ.get(SHARED_DIR_VARIABLE, "").strip()
    if not value:
        pytest.skip(SKIP_REASON)
    folder = Path(value).resolve()
    if not (folder / "dtd").is_dir() or not (folder / "corpus").is_dir():
        pytest.fail(
            f"{SHARED_DIR_VARIABLE}={value!r} is set but {folder} has no dtd/ and corpus/ folders",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def dtd(cxml_shared_dir: Path) -> Callable[[str], etree.DTD]:
    """``dtd("1.2.069")``: the official cXML DTD of that version, loaded once per session."""

    @cache
    def load(version: str) -> etree.DTD:
        path = cxml_shared_dir / "dtd" / version / "cXML.dtd"
        if not path.is_file():
            pytest.fail(f"No DTD for cXML {version} at {path}", pytrace=False)
        return etree.DTD(str(path))

    return load


@pytest.fixture(autouse=True)
def _secrets_sent_by_this_test_only() -> None:
    """Each test's answers, writes and logs are judged against the secrets it sent (tests/support/leaks.py)."""
    from tests.support.leaks import forget_sent

    forget_sent()
