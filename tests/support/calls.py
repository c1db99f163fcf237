"""A check run before every AWS call a client makes, on the call's own parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Check = Callable[..., None]  # check(model=<botocore OperationModel>, params=<the call's parameters>, **_)


@contextmanager
def checking_calls(client: Any, check: Check) -> Iterator[None]:
    """``check`` runs before each call through ``client`` while the block runs; what it raises, the call raises."""
    # before-parameter-build sees the call's own parameters (before-call sees the HTTP request instead).
    client.meta.events.register("before-parameter-build.*.*", check)
    try:
        yield
    finally:
        client.meta.events.unregister("before-parameter-build.*.*", check)
