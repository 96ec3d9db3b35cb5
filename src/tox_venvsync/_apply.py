"""Apply: uninstall what goes, install what comes, with a journal so an interrupted apply is redone."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import SCHEME_NAMES

from tox_venvsync import __version__
from tox_venvsync._errors import InstallError
from tox_venvsync._installed import OUR_METADATA

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._target import Target

INSTALLER_NAME = b"venvsync\n"


class Installer(Protocol):
    """Puts one verified wheel into the venv."""

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Refuse a wheel that cannot be installed safely, before anything is written."""

    def install(self, wheel: Path, wanted: Wanted) -> None:
        """Install ``wheel`` for ``wanted``."""


class WheelInstaller:
    """The real installer: pypa/installer writing into the target's scheme, scripts for its interpreter."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Every entry stays inside its scheme and RECORD matches every file."""
        name = str(wanted.pick.name)
        try:
            with WheelFile.open(wheel) as source:
                _check_wheel(source, name, wheel)
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc

    def install(self, wheel: Path, wanted: Wanted) -> None:
        """Install a wheel that passed :meth:`check`."""
        name = str(wanted.pick.name)
        try:
            with WheelFile.open(wheel) as source:
                destination = SchemeDictionaryDestination(
                    scheme_dict=dict(self._target.scheme),
                    interpreter=self._target.executable,
                    script_kind="posix",
                    overwrite_existing=True,  # files an interrupted apply left behind are replaced
                )
                install(source, destination, additional_metadata=_metadata(wanted))
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc


def _check_wheel(source: WheelFile, name: str, wheel: Path) -> None:
    # refuse a hostile wheel before any file is written: every entry stays inside its scheme
    for entry in source._zipfile.namelist():  # noqa: SLF001  # installer exposes the zip only privately
        parts = entry.split("/")
        if entry.startswith("/") or "\\" in entry or ".." in parts or (parts and ":" in parts[0]):
            raise InstallError(name, wheel.name, f"the entry {entry!r} would be written outside the venv")
        if entry.startswith(f"{source.data_dir}/") and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):  # noqa: PLR2004
            raise InstallError(name, wheel.name, f"the entry {entry!r} is not in a known .data scheme")
    try:
        source.validate_record()  # every file's hash against RECORD
    except InstallerError as exc:
        raise InstallError(name, wheel.name, f"its RECORD does not match its content ({exc})") from exc


def _metadata(wanted: Wanted) -> dict[str, bytes]:
    metadata = {
        "INSTALLER": INSTALLER_NAME,
        OUR_METADATA: json.dumps({"by": __version__, "content": wanted.content}).encode(),
    }
    if wanted.direct_url is not None:
        info = {"dir_info": {"editable": True}} if wanted.editable else {"archive_info": {}}
        metadata["direct_url.json"] = json.dumps({"url": wanted.direct_url, **info}).encode()
    return metadata


def uninstall(dist: InstalledDist, venv: Path) -> None:
    """Remove a distribution's files as its RECORD lists them, then its ``.dist-info`` directory.

    Path guard: a RECORD is data from a wheel, so an entry that points outside the venv
    (``..``, an absolute path elsewhere) is skipped, never deleted.
    """
    root = Path(os.path.abspath(venv))
    base = dist.dist_info.parent
    parents: set[Path] = set()
    for relative in _record_paths(dist.dist_info):
        path = Path(os.path.normpath(base / relative))
        if not path.is_relative_to(root) or path == root:
            continue
        if path.is_relative_to(dist.dist_info):
            continue  # the directory goes as a whole below
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            continue
        _drop_pyc(path)
        parents.add(path.parent)
    shutil.rmtree(dist.dist_info, ignore_errors=True)
    _prune_empty(parents, stop=base)


def _record_paths(dist_info: Path) -> list[str]:
    try:
        with (dist_info / "RECORD").open(encoding="utf-8", newline="") as handle:
            return [row[0] for row in csv.reader(handle) if row]
    except FileNotFoundError:
        return []  # an interrupted install: only its dist-info can be removed; reinstall overwrites the rest


def _drop_pyc(path: Path) -> None:
    if path.suffix == ".py":
        cache = path.parent / "__pycache__"
        if cache.is_dir():
            for pyc in cache.glob(f"{path.stem}.*.pyc"):
                pyc.unlink(missing_ok=True)


def _prune_empty(directories: Iterable[Path], *, stop: Path) -> None:
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        current = directory
        while current != stop and current.is_relative_to(stop):
            cache = current / "__pycache__"
            if cache.is_dir() and not any(cache.iterdir()):
                cache.rmdir()
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent


class Journal:
    """The names an apply is changing, written before it starts and removed after the state is written."""

    def __init__(self, venv: Path) -> None:
        self._file = venv / ".venvsync" / "journal.json"

    def pending(self) -> frozenset[str]:
        """Names an interrupted apply was changing (empty when the last apply finished)."""
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return frozenset()
        return frozenset(str(n) for n in data) if isinstance(data, list) else frozenset()

    def start(self, names: Iterable[str]) -> None:
        """Record the names before the first change (merged with a previous unfinished apply)."""
        self._file.parent.mkdir(exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(self.pending() | set(names))), encoding="utf-8")
        tmp.replace(self._file)

    def finish(self) -> None:
        """Forget the names: the apply finished."""
        self._file.unlink(missing_ok=True)


def apply(plan: Plan, wheels: Mapping[str, Path], *, venv: Path, installer: Installer) -> None:
    """Check every wheel, then uninstall what goes or changes, then install what comes."""
    for step in plan.to_install:
        assert step.wanted is not None  # noqa: S101  # to_install holds only steps with a wanted pick
        installer.check(wheels[step.name], step.wanted)
    for step in plan.to_remove:
        for dist in step.old:
            uninstall(dist, venv)
    for step in plan.to_install:
        assert step.wanted is not None  # noqa: S101  # to_install holds only steps with a wanted pick
        installer.install(wheels[step.name], step.wanted)


__all__ = ["Installer", "Journal", "WheelInstaller", "apply", "uninstall"]
