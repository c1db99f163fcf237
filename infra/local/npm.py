"""Fetching a pinned npm package into a cache: how DynamoDB Local (for the local stack) and axe-core (for
the browser tests) arrive on a machine, neither of them committed."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


class NpmMissing(Exception):
    """npm is not on PATH."""


class NpmPackFailed(Exception):
    """npm ran and produced no tarball (no network, an unknown version...)."""


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Held by one process at a time: pytest-xdist workers start together, one fetches, the others wait."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def npm_pack(package: str, version: str, destination: Path, *, timeout: float) -> Path:
    """The tarball of ``package@version``, downloaded by ``npm pack`` into ``destination``."""
    npm = shutil.which("npm")
    if npm is None:
        raise NpmMissing("npm is not on PATH")
    result = subprocess.run(  # noqa: S603 - fixed arguments, npm resolved from PATH above
        [npm, "pack", f"{package}@{version}", "--silent"],
        cwd=destination,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    tarballs = sorted(destination.glob(f"{package}-*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise NpmPackFailed(
            f"npm pack {package}@{version} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return tarballs[0]
