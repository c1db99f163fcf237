"""Runs ``read_document`` on attack documents in a clean process and reports what happened.

Usage: ``python _probe.py CASES.json`` where the file lists ``{"name", "path", "max_bytes"}``
objects (``max_bytes`` null for the default limits), and ``content_type`` for a multipart body, whose
document is read after ``split_related``. Each case runs in its own forked child, so
that its peak memory (``ru_maxrss``, which counts libxml2's C allocations too) and its time are
its own; a case that does not finish within the timeout is killed and reported as such. Prints a
JSON object ``{name: result}`` on stdout.

Not a test module: test_attacks.py runs it with ``sys.executable``.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
import tracemalloc
from typing import Any

from punchout.cxml import CXMLError, ParseLimits, read_document
from punchout.mime import split_related

TIMEOUT_SECONDS = 20.0


def run_case(path: str, max_bytes: int | None, content_type: str | None = None) -> dict[str, Any]:
    with open(path, "rb") as file:
        data = file.read()
    limits = ParseLimits(max_bytes=max_bytes) if max_bytes is not None else ParseLimits()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        if content_type is not None:
            data = split_related(content_type, data)[0]
        document = read_document(data, limits)
        result.update(outcome="accepted", model=type(document).__name__)
    except CXMLError as error:
        result.update(outcome="refused", status=int(error.status), error=type(error).__name__, text=error.text)
    except BaseException as error:  # reported to the test, which fails on it
        result.update(outcome="crashed", error=type(error).__name__, text=str(error)[:500])
    result["seconds"] = time.perf_counter() - started
    result["python_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Linux reports ru_maxrss in kilobytes.
    result["rss_growth_bytes"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    return result


def run_forked(path: str, max_bytes: int | None, content_type: str | None = None) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one case, then out without running any cleanup of the parent's
        os.close(read_end)
        try:
            payload = json.dumps(run_case(path, max_bytes, content_type)).encode()
        except BaseException as error:  # reported as a crash
            payload = json.dumps({"outcome": "crashed", "error": type(error).__name__}).encode()
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([pipe], [], [], remaining)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"outcome": "timeout", "seconds": TIMEOUT_SECONDS}
            chunk = pipe.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result


def main(cases_path: str) -> int:
    with open(cases_path, encoding="utf-8") as file:
        cases = json.load(file)
    results = {
        case["name"]: run_forked(case["path"], case.get("max_bytes"), case.get("content_type")) for case in cases
    }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
