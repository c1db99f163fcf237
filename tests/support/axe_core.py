"""axe-core, the accessibility engine the browser tests run on every page (Deque Systems, MPL-2.0).

`make axe-core` (a step of `make test`) runs this module: `npm pack axe-core@VERSION` downloads the
package tarball (about 0.7 MB; npm's cache, then a scratch folder under `.local/cache/`), its sha512 is
checked against INTEGRITY (the registry's `dist.integrity` for that version, pinned here), and
`package/axe.min.js` with its licence is unpacked into `.local/cache/axe-core-VERSION/` (never
committed). The e2e tests call `ensure_script()` too, so a clean checkout with npm fetches it on first
use; without npm, or on a tarball that does not match, they fail (never skip).

    python -m tests.support.axe_core     # fetch if missing; prints the path of axe.min.js
"""

from __future__ import annotations

import base64
import hashlib
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Final

from infra.local.npm import NpmMissing, NpmPackFailed, exclusive_lock, npm_pack

PACKAGE: Final = "axe-core"
VERSION: Final = "4.14.1"
# `npm view axe-core@4.14.1 dist.integrity`
INTEGRITY: Final = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
SCRIPT_NAME: Final = "axe.min.js"
# What is kept of the package: the engine and its licence (MPL-2.0 asks that it travels with the file).
KEPT: Final = (SCRIPT_NAME, "LICENSE", "LICENSE-3RD-PARTY.txt")

ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR: Final = ROOT / ".local" / "cache"


class AxeCoreUnavailable(Exception):
    """axe-core is not in the cache and cannot be fetched (no npm, npm failed, or the tarball is not the pinned one)."""


def integrity_of(tarball: Path) -> str:
    """The tarball's Subresource-Integrity string, as npm's `dist.integrity` writes it."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")


def ensure_script(cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """The path of the pinned `axe.min.js`: from the cache, or fetched through npm and checked first."""
    target = cache_dir / f"{PACKAGE}-{VERSION}"
    if (target / SCRIPT_NAME).is_file():
        return target / SCRIPT_NAME
    cache_dir.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers may start at the same time: one fetches, the others wait and reuse.
    with exclusive_lock(cache_dir / f".{PACKAGE}.lock"):
        if (target / SCRIPT_NAME).is_file():
            return target / SCRIPT_NAME
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as scratch:
            tarball = _npm_pack(Path(scratch))
            found = integrity_of(tarball)
            if found != INTEGRITY:
                raise AxeCoreUnavailable(
                    f"{tarball.name} is not the pinned {PACKAGE}@{VERSION}: integrity {found}, expected {INTEGRITY}"
                )
            unpacked = Path(scratch) / "unpacked"
            unpacked.mkdir()
            with tarfile.open(tarball) as archive:
                for name in KEPT:
                    member = archive.getmember(f"package/{name}")
                    source = archive.extractfile(member)
                    if source is None:
                        raise AxeCoreUnavailable(f"{tarball.name}: package/{name} is not a file")
                    (unpacked / name).write_bytes(source.read())
            # A rename is atomic: an interrupted fetch never leaves a half-written cache behind.
            unpacked.rename(target)
    return target / SCRIPT_NAME


def _npm_pack(destination: Path) -> Path:
    try:
        return npm_pack(PACKAGE, VERSION, destination, timeout=300)
    except NpmMissing:
        raise AxeCoreUnavailable(
            f"npm is not on PATH: it fetches {PACKAGE}@{VERSION} (Debian: apt-get install npm)"
        ) from None
    except NpmPackFailed as error:
        raise AxeCoreUnavailable(str(error)) from None


def main() -> int:
    try:
        print(ensure_script())
    except AxeCoreUnavailable as error:
        print(f"axe-core: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
