"""Slim botocore's data in a built function to what its clients read: ``slim_botocore.py DATA SERVICE...``.

Run by infra/build/Makefile after the other services' folders are removed. Creating a client parses
``endpoints.json`` (1.2 MB: every service in every partition) and the service's ``service-2.json``,
which is mostly documentation (DynamoDB's: 500 KB, 110 KB without it). Both are parsed at every cold
start; the documentation only feeds docstrings. So:

- ``endpoints.json`` keeps every partition with its defaults and regions, and the kept services only;
- each kept service's models lose their ``documentation`` and ``documentationUrl`` members, and its
  ``examples-1.json`` (docstrings only) goes.

The shapes, operations, endpoint rules, paginators and waiters stay as published, so a client
behaves exactly as with the full data (the smoke test and the cold-start benchmark call it).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

DOCUMENTATION_KEYS = frozenset({"documentation", "documentationUrl"})


def without_documentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_documentation(item) for key, item in value.items() if key not in DOCUMENTATION_KEYS}
    if isinstance(value, list):
        return [without_documentation(item) for item in value]
    return value


def slim_endpoints(path: Path, services: set[str]) -> None:
    endpoints = json.loads(path.read_text(encoding="utf-8"))
    for partition in endpoints["partitions"]:
        partition["services"] = {name: spec for name, spec in partition["services"].items() if name in services}
    path.write_text(json.dumps(endpoints, separators=(",", ":")), encoding="utf-8")


def slim_model(path: Path) -> None:
    """``service-2.json`` (or ``.json.gz``, as botocore ships most models) without its documentation."""
    compressed = path.suffix == ".gz"
    raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    slim = json.dumps(without_documentation(json.loads(raw)), separators=(",", ":")).encode("utf-8")
    path.write_bytes(gzip.compress(slim, mtime=0) if compressed else slim)


def slim(data: Path, services: list[str]) -> None:
    slim_endpoints(data / "endpoints.json", set(services))
    for service in services:
        folder = data / service
        if not folder.is_dir():
            raise SystemExit(f"botocore has no data for {service!r} in {data}")
        for model in sorted(folder.glob("*/service-2.json*")):
            slim_model(model)
        for examples in folder.glob("*/examples-1.json*"):
            examples.unlink()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.splitlines()[0] if __doc__ else "usage: slim_botocore.py DATA SERVICE...")
    slim(Path(sys.argv[1]), sys.argv[2:])
