"""Upgrade tests: the order tests' moto table and FIFO queue, loaded with items an older version wrote."""

from __future__ import annotations

from tests.unit.gateway.conftest import (  # noqa: F401 - fixtures shared with the gateway tests
    _moto,
    aws,
    dynamodb_keys,
    log_lines,
    table,
)
from tests.unit.orders.conftest import queue_url  # noqa: F401 - the order tests' queue
