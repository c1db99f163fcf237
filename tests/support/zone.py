"""The process's local time zone, changed while a block runs (as on a machine not set to UTC)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_zone(tz: str) -> Iterator[None]:
    """``tz``, a POSIX TZ value such as ``JST-9`` (no zone database needed), as the local zone."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
