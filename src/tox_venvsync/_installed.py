"""Installed: the distributions a venv holds now, read from their ``.dist-info`` directories."""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

# packaging is imported where dist-info names are parsed: the no-op's one listing (dist_info_names) needs none of it

#: the file in a dist-info directory where we note what was installed (as uv does with uv_cache.json)
OUR_METADATA = "venvsync.json"
#: what making a venv (virtualenv) puts into ``site-packages``, which no distribution's RECORD lists
MADE_WITH_THE_VENV = frozenset({"_virtualenv.pth", "_virtualenv.py"})


class InstalledDist:
    """One ``.dist-info`` directory in the venv: its name and version, and what its notes say, each read once.

    Its ``direct_url.json`` and ``venvsync.json`` are read when first asked for, and then kept: a plan asks
    every distribution it keeps for both, and some for one several times (a source tree's: three reads of
    ``venvsync.json``). Nothing changes them between the scan and the apply, and the objects of a scan live
    no longer than that: a sync scans again after its apply.

    Equal, hashed and shown by its name, version and directory only (a hand-written class, not a value
    class of ``_values``, for the one mutable memo slot).
    """

    __slots__ = ("_location", "_notes", "dist_info", "name", "version")

    def __init__(
        self, *, name: NormalizedName, version: Version | None, dist_info: Path, location: str | None = None
    ) -> None:
        """A distribution named ``name`` at ``version`` (``None``: unreadable) whose metadata is ``dist_info``.

        ``location``: ``dist_info`` as a string, when the caller has it (a scan joins it from the listing; a new
        Path parses its string form anew when first asked, about 5 us, a quarter of a plan's time per package).
        """
        self.name = name
        self.version = version
        self.dist_info = dist_info
        self._location = location
        self._notes: dict[str, object] = {}

    def __eq__(self, other: object) -> bool:
        if type(other) is not InstalledDist:
            return NotImplemented
        return (self.name, self.version, self.dist_info) == (other.name, other.version, other.dist_info)

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.dist_info))

    def __repr__(self) -> str:
        return f"InstalledDist(name={self.name!r}, version={self.version!r}, dist_info={self.dist_info!r})"

    @property
    def direct_url(self) -> str | None:
        """Where it was installed from, as :func:`source_id` spells it; ``None`` for an install from an index."""
        data = self._note("direct_url.json")
        return source_id_of(data) if isinstance(data, dict) else None

    @property
    def archive_hashes(self) -> dict[str, str]:
        """The archive's hex digests its ``direct_url.json`` records (PEP 610 ``hashes``, or the older ``hash``)."""
        data = self._note("direct_url.json")
        info = data.get("archive_info") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            return {}
        hashes = info.get("hashes")
        found = {str(k): str(v).lower() for k, v in hashes.items()} if isinstance(hashes, dict) else {}
        if isinstance(old := info.get("hash"), str) and "=" in old:
            algorithm, _, digest = old.partition("=")
            found.setdefault(algorithm, digest.lower())
        return found

    @property
    def content(self) -> str | None:
        """The content key we noted when we installed it (project wheels), else ``None``."""
        return self._ours("content")

    @property
    def tree(self) -> str | None:
        """The signature of the source tree we built it from, as we noted it; else ``None``."""
        return self._ours("tree")

    @property
    def artifact_hash(self) -> str | None:
        """``algorithm:digest`` of the file we installed it from, as we noted it; ``None`` if not installed by us."""
        return self._ours("artifact")

    @property
    def noted(self) -> bool:
        """Whether a tox-venvsync installed it (of any build: its ``venvsync.json`` is there, whatever it notes)."""
        return isinstance(self._note(OUR_METADATA), dict)

    def _ours(self, key: str) -> str | None:
        data = self._note(OUR_METADATA)
        value = data.get(key) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    def _note(self, file: str) -> object:
        """The JSON document of ``file`` in the ``.dist-info`` (``None`` when missing or unreadable), read once."""
        if file not in self._notes:
            if self._location is None:
                self._location = str(self.dist_info)
            self._notes[file] = read_json(f"{self._location}{os.sep}{file}")
        return self._notes[file]


def read_json(path: str) -> object:
    """The JSON document in the file at ``path``; ``None`` when it cannot be read or is no UTF-8 JSON."""
    try:
        with open(path, "rb") as handle:  # noqa: PTH123  # a string: thousands of dists, no Path for each
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def dist_info_names(site_packages: Iterable[Path]) -> list[str]:
    """The sorted ``.dist-info`` directory names: one listing per directory, nothing parsed."""
    names: set[str] = set()
    for directory in dict.fromkeys(site_packages):
        with contextlib.suppress(FileNotFoundError):
            names.update(entry for entry in os.listdir(directory) if entry.endswith(".dist-info"))
    return sorted(names)


def scan(site_packages: Iterable[Path]) -> dict[NormalizedName, list[InstalledDist]]:
    """Every distribution in the venv by normalized name (a broken venv may hold one name twice)."""
    found: dict[NormalizedName, list[InstalledDist]] = {}
    for directory in dict.fromkeys(site_packages):
        try:
            entries = sorted(os.listdir(directory))
        except FileNotFoundError:
            continue
        where = str(directory)
        for entry in entries:
            if entry.endswith(".dist-info") and (dist := _read(directory, where, entry)) is not None:
                found.setdefault(dist.name, []).append(dist)
    return found


def _read(directory: Path, where: str, entry: str) -> InstalledDist | None:
    """The distribution of the ``.dist-info`` directory ``entry`` of ``directory`` (``where``: it as a string)."""
    from packaging.utils import canonicalize_name  # noqa: PLC0415  # see the imports
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415

    dist_info, location = directory / entry, os.path.join(where, entry)  # noqa: PTH118  # see InstalledDist
    stem = entry[: -len(".dist-info")]  # the listing's name: a Path's name is parsed anew for each new path (~5 us)
    name, sep, version = stem.rpartition("-")
    if sep and name:
        try:
            version_read = Version(version)
        except InvalidVersion:
            pass
        else:
            return InstalledDist(
                name=canonicalize_name(name), version=version_read, dist_info=dist_info, location=location
            )
    return _read_metadata(dist_info)


def _read_metadata(dist_info: Path) -> InstalledDist | None:
    from email.parser import HeaderParser  # noqa: PLC0415  # rarely needed: only for oddly named dist-info

    from packaging.utils import canonicalize_name  # noqa: PLC0415  # see the imports
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415

    try:
        headers = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if not (name := headers.get("Name")):
        return None
    try:
        version: Version | None = Version(headers.get("Version", ""))
    except InvalidVersion:
        version = None
    return InstalledDist(name=canonicalize_name(name), version=version, dist_info=dist_info)


def source_id(
    url: str,
    *,
    vcs: str | None = None,
    commit: str | None = None,
    editable: bool = False,
    subdirectory: str | None = None,
) -> str:
    """One string for where a distribution came from: ``git+URL@COMMIT``, ``editable+URL`` or the URL.

    With the ``subdirectory`` of an archive or a checkout, which is another project of the same file or commit.
    """
    found = f"{vcs}+{url}@{commit}" if vcs is not None else (f"editable+{url}" if editable else url)
    return f"{found}#subdirectory={subdirectory}" if subdirectory else found


def source_id_of(direct_url: dict[str, object]) -> str | None:
    """:func:`source_id` of a PEP 610 ``direct_url.json`` document."""
    url = direct_url.get("url")
    if not isinstance(url, str):
        return None
    vcs_info, dir_info = direct_url.get("vcs_info"), direct_url.get("dir_info")
    subdirectory = direct_url.get("subdirectory")
    within = subdirectory if isinstance(subdirectory, str) else None
    if isinstance(vcs_info, dict):
        return source_id(url, vcs=str(vcs_info.get("vcs")), commit=str(vcs_info.get("commit_id")), subdirectory=within)
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return source_id(url, editable=editable, subdirectory=within)
