"""The gateway's log lines as production writes them (its Powertools logger, its formatter)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def captured_log_lines() -> Iterator[io.StringIO]:
    """Every line the gateway's logger writes while the block runs, at every level."""
    from punchout.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    level = std_logger.level
    std_logger.addHandler(handler)
    std_logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        std_logger.removeHandler(handler)
        std_logger.setLevel(level)
