"""Cold start: a function's modules load with the garbage collector paused, then are frozen.

A handler's imports create some half a million objects that live as long as the process (modules,
classes, functions, botocore's tables). While they load, the collector runs over a hundred times,
frees nothing and costs about 70 ms of each cold start; afterwards each full collection walks them
all again (about 30 ms during the first request). So handler modules import inside ``loading()``,
which pauses the collector and then moves everything loaded out of its sight (``gc.freeze``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen before the collector resumes: its first pass would otherwise walk all of it.
        gc.freeze()
        if was_enabled:
            gc.enable()
