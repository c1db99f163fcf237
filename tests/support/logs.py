"""The gateway's log lines as production writes them (its Powertools logger, its formatter)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

# PutLogEvents documents log events of at most 256 KB (their UTF-8 bytes; the 26 bytes each adds count
# toward a batch's 1 MB, kept off here as a margin). Lambda splits a longer line into several events, and
# none of them is JSON that Logs Insights can read a field of.
CLOUDWATCH_EVENT_BYTES = 262_144 - 26


def assert_fits_cloudwatch(lines: str) -> None:
    """Each line is one log event CloudWatch keeps whole."""
    for number, line in enumerate(lines.splitlines(), 1):
        size = len(line.encode("utf-8"))
        if size > CLOUDWATCH_EVENT_BYTES:  # not an assert: its report would repeat the line
            raise AssertionError(f"log line {number} is {size:,} bytes: CloudWatch cuts it ({line[:200]}...)")


@contextmanager
def written_log_lines(level: int | None = None) -> Iterator[io.StringIO]:
    """Every line the gateway's logger writes while the block runs: at ``level`` and above if given,
    else at the level it logs at."""
    from punchout.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    before = std_logger.level
    std_logger.addHandler(handler)
    if level is not None:
        std_logger.setLevel(level)
    try:
        yield stream
    finally:
        std_logger.removeHandler(handler)
        std_logger.setLevel(before)


@contextmanager
def captured_log_lines() -> Iterator[io.StringIO]:
    """Every line the gateway's logger writes while the block runs, at every level; each checked, once
    the block is done, to fit one CloudWatch log event."""
    with written_log_lines(logging.DEBUG) as stream:
        yield stream
    assert_fits_cloudwatch(stream.getvalue())
