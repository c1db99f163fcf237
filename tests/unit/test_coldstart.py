"""``punchout.coldstart.loading``: the collector is paused while modules load, then what loaded is frozen."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator

import pytest

from punchout.coldstart import loading


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_collector_is_paused_inside_and_resumes_after() -> None:
    # Given a running collector
    gc.enable()
    # When modules load inside loading()
    with loading():
        paused = not gc.isenabled()
    # Then it was paused meanwhile and runs again afterwards
    assert paused
    assert gc.isenabled()


def test_what_loaded_is_frozen_before_the_collector_resumes() -> None:
    # Given a running collector and nothing frozen
    gc.enable()
    gc.unfreeze()
    # When objects are created inside loading()
    with loading():
        loaded = [{"n": n} for n in range(1000)]
    # Then they are in the permanent generation, out of the collector's sight
    assert gc.get_freeze_count() >= len(loaded)
    assert gc.get_count()[0] < len(loaded)


def test_a_paused_collector_stays_paused() -> None:
    # Given a collector someone else paused
    gc.disable()
    # When modules load inside loading()
    with loading():
        pass
    # Then it is not resumed behind their back
    assert not gc.isenabled()


def test_collector_resumes_when_an_import_fails() -> None:
    # Given a running collector
    gc.enable()
    # When an import inside loading() fails
    with pytest.raises(ImportError), loading():
        importlib.import_module("punchout.no_such_module")
    # Then the collector runs again
    assert gc.isenabled()
