"""The fetch of axe-core for the browser tests (tests/support/axe_core.py): only the pinned tarball is unpacked."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.support import axe_core


def _tarball(folder: Path, script: bytes) -> Path:
    path = folder / f"axe-core-{axe_core.VERSION}.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name in axe_core.KEPT:
            data = script if name == axe_core.SCRIPT_NAME else b"licence"
            member = tarfile.TarInfo(f"package/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def test_a_tarball_other_than_the_pinned_one_is_refused_and_nothing_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given npm hands over a tarball whose content is not the pinned release's
    monkeypatch.setattr(axe_core, "_npm_pack", lambda destination: _tarball(destination, b"window.axe = {};"))
    cache = tmp_path / "cache"

    # When the script is asked for, then it is refused, naming both integrities, and the cache stays empty
    with pytest.raises(axe_core.AxeCoreUnavailable, match="expected sha512-"):
        axe_core.ensure_script(cache)
    assert not (cache / f"axe-core-{axe_core.VERSION}").exists()


def test_the_pinned_tarball_is_unpacked_once_and_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tarball npm hands over, pinned by its integrity
    release = _tarball(tmp_path, b"window.axe = {};")
    fetched: list[Path] = []

    def pack(destination: Path) -> Path:
        fetched.append(destination)
        return Path(shutil.copy(release, destination))

    monkeypatch.setattr(axe_core, "_npm_pack", pack)
    monkeypatch.setattr(axe_core, "INTEGRITY", axe_core.integrity_of(release))
    cache = tmp_path / "cache"

    # When the script is asked for twice
    first = axe_core.ensure_script(cache)
    second = axe_core.ensure_script(cache)

    # Then it was fetched once, and the engine with its licence is in the cache
    assert first == second == cache / f"axe-core-{axe_core.VERSION}" / "axe.min.js"
    assert first.read_bytes() == b"window.axe = {};"
    assert (first.parent / "LICENSE").is_file()
    assert len(fetched) == 1
