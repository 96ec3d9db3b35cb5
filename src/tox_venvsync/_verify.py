"""Verify: re-hash every installed file against its RECORD, to find what was edited or deleted by hand."""

from __future__ import annotations

import base64
import csv
import hashlib
import os
from typing import TYPE_CHECKING

from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.utils import NormalizedName

    from tox_venvsync._installed import InstalledDist


@frozen
class FileDrift:
    """Files that differ from what their distributions' RECORDs say."""

    modified: list[str]
    missing: list[str]

    def __bool__(self) -> bool:
        return bool(self.modified or self.missing)


def check_records(installed: Mapping[NormalizedName, Sequence[InstalledDist]], venv: Path) -> FileDrift:
    """Every file a RECORD lists with a hash, hashed again (files outside the venv are not looked at)."""
    modified: list[str] = []
    missing: list[str] = []
    root = os.path.abspath(venv)
    for dists in installed.values():
        for dist in dists:
            if not (dist.dist_info / "RECORD").is_file():  # an install cut off before its RECORD wrote it
                missing.append(os.path.relpath(dist.dist_info / "RECORD", root))
                continue
            # a path listed twice (pip lists both members a wheel places at one path) holds the last one written
            rows = {
                os.path.normpath(dist.dist_info.parent / relative): (algorithm, digest)
                for relative, algorithm, digest in _hashed_rows(dist.dist_info / "RECORD")
            }
            for path, (algorithm, digest) in rows.items():
                if os.path.commonpath([root, path]) != root:
                    continue
                shown = os.path.relpath(path, root)
                try:
                    actual = record_digest(path, algorithm)
                except FileNotFoundError:
                    missing.append(shown)
                    continue
                if actual != digest:
                    modified.append(shown)
    return FileDrift(modified=sorted(modified), missing=sorted(missing))


#: what making a venv (virtualenv) puts into ``site-packages``, which no distribution's RECORD lists
_MADE_WITH_THE_VENV = frozenset({"_virtualenv.pth", "_virtualenv.py"})


def unowned_files(
    installed: Mapping[NormalizedName, Sequence[InstalledDist]], site_packages: Iterable[Path], venv: Path
) -> list[str]:
    """Files in ``site-packages`` that no distribution's RECORD lists: what an install cut off, or a hand, left.

    Bytecode (``__pycache__``), ``.dist-info`` directories (one without its RECORD is reported as such) and the
    files a venv is made with are not counted.
    """
    owned: set[str] = set()
    for dists in installed.values():
        for dist in dists:
            owned.add(os.path.normpath(dist.dist_info / "RECORD"))
            owned.update(os.path.normpath(dist.dist_info.parent / row[0]) for row in _rows(dist.dist_info / "RECORD"))
    found: list[str] = []
    for site in dict.fromkeys(os.path.normpath(p) for p in site_packages):
        for directory, subdirectories, files in os.walk(site):
            skip = ("__pycache__",) if directory != site else ("__pycache__", ".dist-info")
            subdirectories[:] = [name for name in subdirectories if not name.endswith(skip)]
            for name in files:
                path = os.path.join(directory, name)  # noqa: PTH118  # strings: a walk of thousands of files
                if path not in owned and not (directory == site and name in _MADE_WITH_THE_VENV):
                    found.append(os.path.relpath(path, venv))
    return sorted(found)


def _rows(record: Path) -> list[list[str]]:
    try:
        with record.open(encoding="utf-8", newline="") as handle:
            return [row for row in csv.reader(handle) if row]
    except OSError:
        return []


def _hashed_rows(record: Path) -> Iterable[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for row in _rows(record):
        if len(row) >= 2 and "=" in row[1]:  # noqa: PLR2004  # path, algorithm=digest, size
            algorithm, _, digest = row[1].partition("=")
            found.append((row[0], algorithm, digest))
    return found


def record_digest(path: str, algorithm: str) -> str:
    """The file's digest as a RECORD writes it (urlsafe base64, no padding)."""
    [hasher] = file_hashers(path, [algorithm]).values()
    return base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, str]:
    """The file's hex digests in each of ``algorithms`` that hashlib has, read once."""
    return {algorithm: hasher.hexdigest() for algorithm, hasher in file_hashers(path, algorithms).items()}


def file_hashers(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, hashlib._Hash]:
    """Each of ``algorithms`` that hashlib has, fed the whole file (read once, in 1 MiB chunks)."""
    hashers = {
        algorithm: hashlib.new(algorithm) for algorithm in algorithms if algorithm in hashlib.algorithms_available
    }
    with open(path, "rb") as handle:  # noqa: PTH123
        while chunk := handle.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(chunk)
    return hashers
