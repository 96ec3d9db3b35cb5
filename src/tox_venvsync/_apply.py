"""Apply: uninstall what goes, install what comes, with a journal so an interrupted apply is redone."""

from __future__ import annotations

import base64
import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import stat
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, Protocol

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tox_venvsync import __version__
from tox_venvsync._atomic import remove_tree, write_atomic
from tox_venvsync._bytecode import cache_tag, compiled, remember_sources
from tox_venvsync._errors import InstallError, InTheWayError, not_writable
from tox_venvsync._installed import MADE_WITH_THE_VENV, OUR_METADATA
from tox_venvsync._state import READABLE
from tox_venvsync._unpacked import (
    Entry,
    UnpackedWheel,
    cached_tree,
    entry_scripts,
    relative_record_path,
    tree_at,
    unpacked,
)

# pypa/installer is imported where it is used: a sync that only removes packages, or links them
# from the cache, does not load it.

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from collections.abc import Set as AbstractSet

    from installer.destinations import SchemeDictionaryDestination
    from installer.records import RecordEntry
    from installer.scripts import ScriptSection
    from installer.sources import WheelFile
    from installer.utils import Scheme

    from tox_venvsync._cache import Cache
    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._target import Target

INSTALLER_NAME = b"venvsync\n"


class Installer(Protocol):
    """Puts verified wheels into the venv."""

    def ready(self, wheel: Path, wanted: Wanted) -> bool:
        """Whether ``wheel`` is known to be safe already, so it needs no :meth:`check`."""

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Refuse a wheel that cannot be installed safely, before anything is written."""

    def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
        """Install every ``(wheel, wanted)`` of ``installs``, each of which passed :meth:`check` or was ready."""

    def destinations(self, wheel: Path, wanted: Wanted) -> Mapping[str, Iterable[str]]:
        """The name of every file the install of ``wheel`` (checked, or ready) writes, by directory; none is written."""


class WheelInstaller:
    """The real installer: pypa/installer writing into the target's scheme, scripts for its interpreter."""

    def __init__(self, target: Target) -> None:
        self._target = target
        #: what :meth:`planned` found, by wheel and name: the check before the uninstalls and the journal both ask
        self._planned: dict[tuple[Path, str, int, int], list[str]] = {}

    def ready(self, wheel: Path, wanted: Wanted) -> bool:  # noqa: ARG002  # the protocol's signature
        """Never: every wheel is checked."""
        return False

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Every entry stays inside its scheme and RECORD matches every file."""
        from installer.exceptions import InstallerError  # noqa: PLC0415  # see the imports
        from installer.sources import WheelFile  # noqa: PLC0415

        name = str(wanted.pick.name)
        _fits_tags(wheel, self._target, name)
        try:
            with WheelFile.open(wheel) as source:
                _check_wheel(source, name, wheel)
                fits_python(source.read_dist_info("METADATA"), self._target, name, wheel.name)
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc

    def install(self, wheel: Path, wanted: Wanted) -> None:
        """Install a wheel that passed :meth:`check`."""
        from installer.destinations import SchemeDictionaryDestination  # noqa: PLC0415  # see the imports
        from installer.records import RecordEntry  # noqa: PLC0415
        from installer.utils import Scheme  # noqa: PLC0415

        name = str(wanted.pick.name)
        real_venv, checked = os.path.realpath(self._target.prefix), dict[str, bool]()

        class Destination(SchemeDictionaryDestination):
            """Never writes through a link (to a file, or a directory leading out of the venv), nor into a fifo."""

            def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:  # noqa: FBT001  # installer's signature
                base = self.scheme_dict[scheme]
                if (link := link_out_of(base, os.path.dirname(path), real_venv, checked)) is not None:
                    reason = f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove it"
                    raise InstallError(name, wheel.name, reason)
                target = os.path.join(base, path)
                try:
                    found = os.lstat(target)
                except FileNotFoundError:
                    return super().write_to_fs(scheme, path, stream, is_executable)
                if not stat.S_ISREG(found.st_mode):
                    if not stat.S_ISDIR(found.st_mode):
                        os.unlink(target)  # a link (its target stays), a fifo (opening it would wait for ever)...
                    return super().write_to_fs(scheme, path, stream, is_executable)
                # a file there may be a hard link into the cache (another wheel's, or one a killed run left):
                # writing into it would change the cache and every venv linked to it; a new file replaces it
                with _replacing(target) as temporary:
                    aside = os.path.join(os.path.dirname(path), os.path.basename(temporary))
                    entry = super().write_to_fs(scheme, aside, stream, is_executable)
                return RecordEntry(path, entry.hash_, entry.size)

            def write_file(
                self,
                scheme: Scheme,
                path: str | os.PathLike[str],
                stream: BinaryIO,
                is_executable: bool,  # noqa: FBT001  # installer's signature
            ) -> RecordEntry:
                if scheme != "scripts":
                    return super().write_file(scheme, path, stream, is_executable)
                # a .data/scripts file: its #!python line made as for a file from the cache (see _shebang)
                data = stream.read()
                if data.startswith(b"#!python"):
                    data = _shebang_line(self.interpreter) + b"\n" + data.partition(b"\n")[2]
                return self.write_to_fs(scheme, os.fspath(path), io.BytesIO(data), is_executable)

            def write_script(self, name: str, module: str, attr: str, section: ScriptSection) -> RecordEntry:  # noqa: ARG002  # installer's signature
                # pypa/installer's script with the first lines _shebang_line makes: a tab or a newline in the venv's
                # path goes through /bin/sh (installer wrote it as it is, and the kernel cut the path there)
                script = _script(module, attr, self.interpreter)
                return self.write_to_fs(Scheme("scripts"), name, io.BytesIO(script), is_executable=True)

        self._run(wheel, wanted, Destination, overwrite=True)  # files an interrupted apply left are replaced

    def planned(self, wheel: Path, wanted: Wanted) -> list[str]:
        """Every path :meth:`install` writes for ``wheel``, its RECORD last, found by an install that writes nothing.

        For the journal: a build's wheel is gone after a sync is cut off, and with it what it placed. Worked out
        once a wheel (a dry run of pypa/installer, a few ms): :func:`checked` asks first, when the sync uninstalls.
        """
        file = os.stat(wheel)  # the same file still: a wheel written again at its path is planned again
        key = (wheel, str(wanted.pick.name), file.st_size, file.st_mtime_ns)
        if (found := self._planned.get(key)) is None:
            found = self._planned[key] = self._dry_run(wheel, wanted)
        return list(found)

    def _dry_run(self, wheel: Path, wanted: Wanted) -> list[str]:
        from installer.destinations import SchemeDictionaryDestination  # noqa: PLC0415  # see the imports
        from installer.records import RecordEntry  # noqa: PLC0415
        from installer.scripts import Script  # noqa: PLC0415
        from installer.utils import Scheme  # noqa: PLC0415

        paths: list[str] = []

        class Recorder(SchemeDictionaryDestination):
            def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:  # noqa: ARG002, FBT001  # installer's signature
                paths.append(os.path.normpath(os.path.join(self.scheme_dict[scheme], path)))
                return RecordEntry(path, None, None)

            def write_script(self, name: str, module: str, attr: str, section: ScriptSection) -> RecordEntry:
                # installer's own makes the file it wrote executable: there is none here
                script_name, _ = Script(name, module, attr, section).generate(self.interpreter, self.script_kind)
                return self.write_to_fs(Scheme("scripts"), script_name, io.BytesIO(), is_executable=True)

        self._run(wheel, wanted, Recorder)
        return paths

    def _run(
        self, wheel: Path, wanted: Wanted, destination: type[SchemeDictionaryDestination], *, overwrite: bool = False
    ) -> None:
        """pypa/installer's install of ``wheel`` into ``destination``, made for the target's scheme."""
        from installer import install  # noqa: PLC0415  # see the imports
        from installer.exceptions import InstallerError  # noqa: PLC0415
        from installer.sources import WheelFile  # noqa: PLC0415

        name = str(wanted.pick.name)
        scheme = with_headers_of(self._target.scheme, name)
        try:
            with WheelFile.open(wheel) as source:
                into = destination(
                    scheme_dict=scheme,
                    interpreter=self._target.executable,
                    script_kind="posix",
                    overwrite_existing=overwrite,
                )
                with _a_file_in_the_way():
                    install(source, into, additional_metadata=_metadata(wanted))
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc

    def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
        """Install the wheels one after another, in the plan's order."""
        for wheel, wanted in installs:
            self.install(wheel, wanted)

    def destinations(self, wheel: Path, wanted: Wanted) -> dict[str, list[str]]:
        """The name of every file :meth:`install` writes for ``wheel``, by directory (see :meth:`planned`)."""
        return by_directory(self.planned(wheel, wanted))


def by_directory(paths: Iterable[str]) -> dict[str, list[str]]:
    """The last part of each of ``paths``, by the directory it is in."""
    found: dict[str, list[str]] = {}
    for path in paths:
        directory, name = os.path.split(path)
        found.setdefault(directory, []).append(name)
    return found


@contextlib.contextmanager
def _a_file_in_the_way() -> Iterator[None]:
    """A directory the block makes (``os.makedirs``) where a file stands is refused as ``ENOTDIR``, naming the file.

    ``makedirs`` raises ``FileExistsError`` for a file at the directory's own path (``ENOTDIR`` for one above it),
    which reached the user as a traceback; ``ENOTDIR`` is said in one sentence (see ``_errors._REMEDIES``).
    """
    try:
        yield
    except FileExistsError as exc:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), exc.filename) from exc


def with_headers_of(scheme: Mapping[str, str], name: str) -> dict[str, str]:
    """``scheme`` with the headers of distribution ``name`` in a directory of their own, as pip and uv place them.

    (``include/site/pythonX.Y/<name>``: distutils' ``install_headers`` and pip's ``get_scheme(dist_name)``;
    without it two distributions' headers would share one directory.)
    """
    return {**scheme, "headers": os.path.join(scheme["headers"], canonicalize_name(name))}


def fits_python(metadata: str, target: Target, name: str, wheel: str) -> None:
    """Refuse a wheel whose ``Requires-Python`` excludes the interpreter, as pip and uv do (an invalid one goes)."""
    from email.parser import HeaderParser  # noqa: PLC0415  # only for wheels built here and requirements pins

    value = HeaderParser().parsestr(metadata, headersonly=True).get("Requires-Python")
    if excludes(value, target):
        reason = (
            f"it requires Python {value} and the interpreter {target.executable} is Python {target.python_release}; "
            "pin a release that supports it (the lock was made for another Python) or use a Python it supports"
        )
        raise InstallError(name, wheel, reason)


def excludes(requires_python: str | None, target: Target) -> bool:
    """Whether a ``Requires-Python`` value excludes the interpreter; an invalid one excludes none (pip warns)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415  # see fits_python

    if not requires_python:
        return False
    try:
        specifier = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return False
    return not specifier.contains(target.python_release, prereleases=True)


def _fits_tags(wheel: Path, target: Target, name: str) -> None:
    """Refuse a wheel for another interpreter or platform (one given to ``--installpkg``), as pip and uv do."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415  # see the imports

    try:
        tags = parse_wheel_filename(wheel.name)[3]
    except InvalidWheelFilename:
        return  # its name is checked where it is made
    if not tags & set(target.tags):
        reason = (
            f"it is a wheel for {', '.join(sorted(map(str, tags)))}, which the interpreter {target.executable} "
            f"(Python {target.python_full_version}) cannot use; build or pick the wheel for this interpreter"
        )
        raise InstallError(name, wheel.name, reason)


def _check_wheel(source: WheelFile, name: str, wheel: Path) -> None:
    from installer.exceptions import InstallerError  # noqa: PLC0415  # see the imports
    from installer.utils import SCHEME_NAMES  # noqa: PLC0415

    # refuse a hostile wheel before any file is written: every entry stays inside its scheme
    names = source._zipfile.namelist()  # noqa: SLF001  # installer exposes the zip only privately
    for entry in names:
        parts = entry.split("/")
        if entry.startswith("/") or "\\" in entry or ".." in parts or (parts and ":" in parts[0]):
            raise InstallError(name, wheel.name, f"the entry {entry!r} would be written outside the venv")
        if entry.startswith(f"{source.data_dir}/") and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):  # noqa: PLR2004
            raise InstallError(name, wheel.name, f"the entry {entry!r} is not in a known .data scheme")
    try:
        source.validate_record()  # every file's hash against RECORD
    except InstallerError as exc:
        raise InstallError(name, wheel.name, f"its RECORD does not match its content ({exc})") from exc
    points = f"{source.dist_info_dir}/entry_points.txt"
    scripts = entry_scripts(source.read_dist_info("entry_points.txt"), wheel, name) if points in names else []
    _leaves_the_venv_its_own((script for script, *_ in scripts), names, source.data_dir, name, wheel)


def _metadata(wanted: Wanted) -> dict[str, bytes]:
    ours = {"by": __version__, "content": wanted.content}
    if (artifact := wanted.artifact_hash) is not None:
        ours["artifact"] = artifact
    if wanted.tree is not None:
        ours["tree"] = wanted.tree
    # REQUESTED (empty): the lock names every package it installs, as uv sync and pip install -r mark them
    metadata = {"INSTALLER": INSTALLER_NAME, "REQUESTED": b"", OUR_METADATA: json.dumps(ours).encode()}
    if wanted.direct_url is not None:
        metadata["direct_url.json"] = json.dumps({"url": wanted.direct_url, **_direct_info(wanted)}).encode()
    return metadata


def _direct_info(wanted: Wanted) -> dict[str, object]:
    """PEP 610's info: a VCS commit, a directory (editable or not), or an archive."""
    pick = wanted.pick
    if pick.vcs is not None:
        vcs_info: dict[str, object] = {"vcs": pick.vcs.type, "commit_id": pick.vcs.commit}
        if pick.vcs.requested:
            vcs_info["requested_revision"] = pick.vcs.requested
        return {"vcs_info": vcs_info, **({"subdirectory": pick.vcs.subdirectory} if pick.vcs.subdirectory else {})}
    if wanted.editable or wanted.from_directory:
        return {"dir_info": {"editable": wanted.editable}}
    hashes = _file_hashes(wanted)
    subdirectory = {"subdirectory": pick.subdirectory} if pick.subdirectory else {}  # as pip records it
    if not hashes:
        return {"archive_info": {}, **subdirectory}
    algorithm = next(iter(hashes))
    # "hash" is PEP 610's older key, which pip still writes for readers that know no other
    return {"archive_info": {"hash": f"{algorithm}={hashes[algorithm]}", "hashes": hashes}, **subdirectory}


def _file_hashes(wanted: Wanted) -> dict[str, str]:
    """The archive's hex digest: the lock's (verified when fetched), or that of a file given to ``--installpkg``."""
    artifact = wanted.pick.artifact
    if artifact is None:
        return {}
    if wanted.content is None:  # a file the lock names
        strongest = artifact.strongest_hash
        return {strongest[0]: strongest[1]} if strongest is not None else {}
    if wanted.direct_url is None or not wanted.direct_url.startswith("file:"):
        return {}
    from urllib.parse import unquote, urlsplit  # noqa: PLC0415  # only for a file given to tox

    from tox_venvsync._verify import file_digests  # noqa: PLC0415

    # the project's wheel, or the sdist it was built from: the file recorded (its content key is no file hash)
    return file_digests(unquote(urlsplit(wanted.direct_url).path), ["sha256"])


def uninstall(
    dist: InstalledDist,
    venv: Path,
    *,
    kept: AbstractSet[str] = frozenset(),
    files: Sequence[tuple[str, str, str]] | None = None,
) -> None:
    """Remove a distribution's files as its RECORD lists them, then its ``.dist-info`` directory.

    Path guard: a RECORD is data from a wheel, so an entry that points outside the venv
    (``..``, an absolute path elsewhere, a path through a directory link that leads out) is
    skipped, never deleted; so is the venv's own file (its interpreter, activation, ``pyvenv.cfg``,
    state), which no wheel may replace either. (Paths as strings, each directory resolved once: this
    is a hot loop.) ``kept``: paths another distribution's RECORD lists, which stay. ``files``: what
    :func:`removed_files` found for ``dist`` already (else its RECORD is read here).
    """
    root = os.path.abspath(venv)
    compiled = _CompiledFiles()
    parents: set[str] = set()
    for path, directory, name in removed_files(dist, venv, kept) if files is None else files:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except (IsADirectoryError, NotADirectoryError):
            continue  # a directory, or a path through a file: no file of its own to remove (pip passes over it)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:  # a name no file system takes is no file either
                raise
            continue
        if name.endswith(".py"):
            compiled.drop(directory, name[:-3])
        parents.add(directory)
    _remove_dist_info(dist.dist_info)
    # emptied directories are pruned by their real paths: climbing a written path through a link (lib64 -> lib,
    # a link to the venv's root) would reach directories that are not the ones above it
    real_root, library = os.path.realpath(root), os.path.realpath(dist.dist_info.parent)
    real_parents = {os.path.realpath(directory) for directory in parents}
    if library in real_parents:  # a top-level module's bytecode directory goes once empty, as pip removes it
        with contextlib.suppress(OSError):  # not empty (another module's), or no directory (a link stays)
            os.rmdir(os.path.join(library, "__pycache__"))
    real_parents -= {library}
    _prune_empty((Path(p) for p in real_parents if _under(p, library)), stop=Path(library))
    # data, headers, scripts: directories it emptied go too (the recording spec's "complete uninstall"), up to
    # but never the venv's own top directories (bin, include, share, etc)
    outside = (Path(p) for p in real_parents if not _under(p, library) and _under(p, real_root))
    _prune_empty(outside, stop=Path(real_root), keep_top=True)


def removed_files(dist: InstalledDist, venv: Path, kept: AbstractSet[str]) -> list[tuple[str, str, str]]:
    """The path, directory and name of each file of ``dist``'s RECORD that an uninstall removes (see its guards)."""
    return list(_removed_files(dist, venv, kept))


def _removed_files(dist: InstalledDist, venv: Path, kept: AbstractSet[str]) -> Iterator[tuple[str, str, str]]:
    root = os.path.abspath(venv)
    removable = _removable_in(venv)
    base = str(dist.dist_info.parent)
    dist_info = str(dist.dist_info)
    for relative in _record_paths(dist.dist_info):
        path = os.path.normpath(os.path.join(base, relative))
        directory, name = os.path.split(path)
        if not _under(path, root) or _under(path, dist_info) or path == dist_info or path in kept:
            continue  # outside the venv; the dist-info, which goes as a whole below; another's file
        if not removable(directory, name) or _in_another_dist_info(path, base):
            continue
        yield path, directory, name


def check_removable(removing: Sequence[tuple[InstalledDist, Sequence[tuple[str, str, str]]]]) -> None:
    """Stop before the first removal if a directory whose files an uninstall removes cannot be written.

    ``removing``: each distribution with what :func:`removed_files` found for it. A package directory this user
    may not write (``chmod a-w``, another user's, a read-only mount) stopped the uninstall at its first file there,
    with the files before it gone: a package half removed, which the next sync repairs, but which the environment's
    commands meet until then. Root writes anywhere, but on a read-only mount.
    """
    directories: set[str] = set()
    for dist, files in removing:
        directories.add(str(dist.dist_info.parent))
        for _, directory, name in files:
            directories.add(directory)
            if name.endswith(".py"):  # its bytecode goes too
                directories.add(os.path.join(directory, "__pycache__"))
        if not dist.dist_info.is_symlink():  # a .dist-info goes as a whole, with what is below it
            directories.update(top for top, _, _ in os.walk(dist.dist_info))
    for directory in sorted(directories):
        if not os.access(directory, os.W_OK | os.X_OK) and os.path.isdir(directory):
            raise not_writable(directory)


def _remove_dist_info(dist_info: Path) -> None:
    """Remove a ``.dist-info``; a link (to a directory of the user's, say) or a file goes itself, never its target.

    What stops the removal is raised: a ``.dist-info`` that stayed would be called removed by this sync, and the
    next one would find the environment in sync with it still installed.
    """
    if os.path.isdir(dist_info) and not os.path.islink(dist_info):
        shutil.rmtree(dist_info, ignore_errors=True)
        if os.path.lexists(dist_info):
            remove_tree(dist_info)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dist_info)


def _under(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def _in_another_dist_info(path: str, library: str) -> bool:
    """Whether ``path`` is in a ``.dist-info`` directory of ``library`` (the uninstalled one's own went before).

    A distribution's metadata is its own even where its RECORD does not list it (hand-made, or no RECORD).
    """
    if ".dist-info" not in path or not _under(path, library):
        return False
    return path[len(library.rstrip(os.sep)) + 1 :].partition(os.sep)[0].endswith(".dist-info")


class _CompiledFiles:
    """The ``__pycache__/<module>.*.pyc`` files of removed modules (each ``__pycache__`` listed once)."""

    def __init__(self) -> None:
        self._listed: dict[str, list[str]] = {}

    def drop(self, directory: str, module: str) -> None:
        cache = os.path.join(directory, "__pycache__")
        names = self._listed.get(cache)
        if names is None:
            try:
                names = self._listed[cache] = os.listdir(cache)
            except OSError:
                names = self._listed[cache] = []
        prefix = module + "."
        for name in names:
            if name.startswith(prefix) and name.endswith(".pyc"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(cache, name))


def _record_paths(dist_info: Path) -> list[str]:
    """The paths a RECORD lists; one another tool wrote may be messy, and a sync must not stop half done on it.

    Bytes that are not UTF-8 stay the bytes of the name on disk (``surrogateescape``, as ``os.fsdecode`` gives
    them); a row csv cannot read (a field past its size limit) ends the list: the files after it stay.
    """
    paths: list[str] = []
    try:
        with (dist_info / "RECORD").open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            # a row with a NUL names no file (and csv before Python 3.11 stops at it): passed over, the rest read
            lines = (line for line in handle if "\0" not in line)
            paths.extend(row[0] for row in csv.reader(lines) if row)  # what it read stays when a row fails
    except FileNotFoundError:
        return []  # an interrupted install: only its dist-info can be removed; reinstall overwrites the rest
    except csv.Error:
        pass
    return paths


def _prune_empty(directories: Iterable[Path], *, stop: Path, keep_top: bool = False) -> None:
    """Remove each of ``directories`` that is empty, then its parents that become empty, below ``stop``.

    ``keep_top``: never the directories right below ``stop`` either, nor a ``site-packages`` on the way (a
    separate platlib directory, which a venv keeps even when empty).
    """
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        current = directory
        while (
            current != stop
            and current.is_relative_to(stop)
            and not (keep_top and (current.parent == stop or current.name == "site-packages"))
        ):
            cache = current / "__pycache__"
            if cache.is_dir() and not any(cache.iterdir()):
                cache.rmdir()
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent


class Journal:
    """What an apply is changing, written before it starts and removed after the state is written.

    The names it changes (an interrupted apply's are reinstalled), and for each install from the cache
    the tree it places: a wheel cut off half placed has no RECORD yet, and its tree tells what it placed.
    """

    def __init__(self, venv: Path) -> None:
        self._file = venv / ".venvsync" / "journal.json"

    def _read(self) -> tuple[frozenset[str], dict[str, str], dict[str, list[str]]]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return frozenset(), {}, {}
        if isinstance(data, list):  # what earlier versions wrote: the names only
            return frozenset(str(n) for n in data), {}, {}
        if not isinstance(data, dict) or not isinstance(data.get("names"), list):
            return frozenset(), {}, {}
        trees, files = data.get("trees"), data.get("files")
        placing = {str(k): str(v) for k, v in trees.items()} if isinstance(trees, dict) else {}
        writing = (
            {str(k): [str(p) for p in v] for k, v in files.items() if isinstance(v, list)}
            if isinstance(files, dict)
            else {}
        )
        return frozenset(str(n) for n in data["names"]), placing, writing

    def pending(self) -> frozenset[str]:
        """Names an interrupted apply was changing (empty when the last apply finished)."""
        return self._read()[0]

    def placing(self) -> dict[str, str]:
        """The cache's tree each install of an interrupted apply placed from, by name."""
        return self._read()[1]

    def started_ns(self) -> int | None:
        """When the journal was last written (before the first change of the apply it names), if it is there."""
        try:
            return self._file.stat().st_mtime_ns
        except OSError:
            return None

    def writing(self) -> dict[str, list[str]]:
        """The paths each install of a built wheel (not from the cache) writes, its RECORD last, by name."""
        return self._read()[2]

    def start(
        self,
        names: Iterable[str],
        trees: Mapping[str, str] | None = None,
        files: Mapping[str, list[str]] | None = None,
    ) -> None:
        """Record the names (trees, files) before the first change (merged with a previous unfinished apply)."""
        before, placing, writing = self._read()
        document = {
            "names": sorted(before | set(names)),
            "trees": placing | dict(trees or {}),
            "files": writing | dict(files or {}),
        }
        write_atomic(self._file, json.dumps(document), mode=READABLE)

    def finish(self) -> None:
        """Forget the names: the apply finished."""
        if self._file.exists():  # Linux refuses even a missing file's unlink on a read-only file system
            self._file.unlink(missing_ok=True)


def clear_half_placed(venv: Path, target: Target, unpacked_dir: Path) -> None:
    """Remove the files of each wheel an interrupted apply left half placed, whatever the lock wants next.

    A finished install writes its RECORD last, so a tree (named by the journal) whose ``.dist-info`` has no
    RECORD in the venv was cut off: the files found where it places them that are its own
    (:meth:`_Placement.placed`) are removed, unless another distribution's RECORD lists them. The journal
    is a file anyone who can write the venv can edit: only trees inside the cache's ``unpacked_dir`` are
    read, only paths inside the venv's schemes are looked at (as any placement is checked), and nothing is
    removed through a linked directory that leads out of the venv.
    """
    journal = Journal(venv)
    cut = _cut_off(venv, target, unpacked_dir)
    written = {name: paths for name, paths in journal.writing().items() if paths and not os.path.exists(paths[-1])}
    if not cut and not written:
        return
    claimed = _claimed(target)
    inside = _inside_the_venv(venv)
    # a file another distribution's RECORD lists stays, but the cut-off install may have replaced it: that one is
    # reinstalled too (the journal's names are, see make_sync_plan)
    touched = _clear_written(written, target, claimed, inside, venv, since=journal.started_ns())
    for placement, dist_info in cut:
        compiled = _CompiledFiles()
        files, directories = placement.placed()
        for path in files:
            if path in claimed:
                touched.add(claimed[path])
                continue
            if not inside(os.path.dirname(path)):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            directory, name = os.path.split(path)
            if name.endswith(".py"):
                compiled.drop(directory, name[:-3])
        if inside(dist_info):
            shutil.rmtree(dist_info, ignore_errors=True)
        made = [d for d in directories if inside(d)]
        _clear_temporaries(made)  # a file it was renaming into place when it was cut off
        _prune_empty((Path(d) for d in made), stop=Path(placement.root))  # the empty ones it made
    if touched:
        journal.start(touched)


def _clear_written(  # noqa: PLR0913  # what it clears and what guards it
    written: Mapping[str, list[str]],
    target: Target,
    claimed: Mapping[str, str],
    inside: Callable[[str], bool],
    venv: Path,
    *,
    since: int | None,
) -> set[str]:
    """Remove what each cut-off install of a built wheel wrote (the journal's paths, its RECORD not yet there).

    Its files (as :class:`_WrittenGuard` lets them go), its ``.dist-info`` whole, then the directories it left
    empty (never the venv's top ones). Returns the distributions whose files it listed (and may have replaced).
    """
    guard = _WrittenGuard(venv, target, claimed, inside, since=since)
    touched: set[str] = set()
    for name, paths in written.items():
        if (dist_info := guard.dist_info(name, paths[-1])) is None:
            continue
        made: set[str] = set()
        for path in map(_real, paths[:-1]):
            if (owner := guard.owner(path)) is not None:
                touched.add(owner)
            elif guard.removable(path, dist_info):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(path)
                made.add(os.path.dirname(path))
        shutil.rmtree(dist_info, ignore_errors=True)
        _clear_temporaries(made)
        _prune_empty((Path(d) for d in made), stop=Path(guard.real_venv), keep_top=True)
    return touched


class _WrittenGuard:
    """What of the journal's paths of a cut-off install may go: the journal is a file, and anyone can edit it.

    An entry counts only when its last path is the RECORD of its name's ``.dist-info`` in site-packages; of
    its paths only files in the venv (by real path, ``lib64`` is ``lib``) go that no RECORD lists, written
    since the journal was (a file of the user's is older), outside any other ``.dist-info``, and not
    ``pyvenv.cfg``, ``.venvsync`` or the interpreter.
    """

    def __init__(  # the venv and what guards it
        self,
        venv: Path,
        target: Target,
        claimed: Mapping[str, str],
        inside: Callable[[str], bool],
        *,
        since: int | None,
    ) -> None:
        self.real_venv = os.path.realpath(venv)
        self._libraries = {os.path.realpath(target.scheme[key]) for key in ("purelib", "platlib")}
        self._scripts = os.path.realpath(target.scheme["scripts"])
        self._owners = {_real(path): name for path, name in claimed.items()}
        self._inside = inside
        #: nothing older goes: the journal is written before the install's first file (two seconds' leeway)
        self._since = None if since is None else since - 2_000_000_000

    def owner(self, path: str) -> str | None:
        """The distribution whose RECORD lists ``path`` (a real path), if one does."""
        return self._owners.get(path)

    def dist_info(self, name: str, record: str) -> str | None:
        """The real path of the ``.dist-info`` whose RECORD ``record`` is, if it is ``name``'s in site-packages."""
        dist_info = _real(os.path.dirname(record))
        folder, _, entry = dist_info.rpartition(os.sep)
        if folder not in self._libraries or os.path.basename(record) != "RECORD" or not entry.endswith(".dist-info"):
            return None
        return dist_info if canonicalize_name(entry.partition("-")[0]) == canonicalize_name(name) else None

    def removable(self, path: str, dist_info: str) -> bool:
        """Whether the file ``path`` (a real path) may go."""
        directory, base = os.path.split(path)
        own = path[len(self.real_venv) :]
        return (
            _under(path, self.real_venv)
            and self._inside(directory)
            and path not in self._owners
            and _new(path, self._since)
            and not _under(path, dist_info)
            and own != f"{os.sep}pyvenv.cfg"
            and not own.startswith(f"{os.sep}.venvsync{os.sep}")
            and ".dist-info" not in own
            and not (directory == self._scripts and base.startswith("python"))  # the interpreter and its links
        )


def _new(path: str, since: int | None) -> bool:
    try:
        return since is None or os.lstat(path).st_mtime_ns >= since
    except OSError:
        return False


def _clear_temporaries(directories: Iterable[str]) -> None:
    """Remove the files an install was renaming into place in ``directories`` (see :func:`_replacing`)."""
    for directory in directories:
        with contextlib.suppress(OSError):
            for item in os.listdir(directory):
                if item.endswith(TEMPORARY_SUFFIX):
                    os.unlink(os.path.join(directory, item))


def _real(path: str) -> str:
    """``path`` with the links of its directory resolved (``lib64`` is ``lib``), the last part as it is."""
    directory, name = os.path.split(os.path.normpath(path))
    return os.path.join(os.path.realpath(directory), name)


def _cut_off(venv: Path, target: Target, unpacked_dir: Path) -> list[tuple[_Placement, str]]:
    """Each placement the journal names whose tree the cache holds and whose ``.dist-info`` has no RECORD."""
    prefix = os.path.join(os.path.abspath(unpacked_dir), "")
    cut: list[tuple[_Placement, str]] = []
    for root in Journal(venv).placing().values():
        tree = tree_at(Path(root)) if os.path.abspath(root).startswith(prefix) else None
        if tree is None:
            continue  # the cache lost it: nothing to match files against (verify lists them as unowned)
        placement = _Placement(tree, target, link=False)
        dist_info = os.path.join(placement.root, tree.dist_info)
        if not os.path.exists(os.path.join(dist_info, "RECORD")):
            cut.append((placement, dist_info))
    return cut


def _claimed(target: Target) -> dict[str, str]:
    """Every path a RECORD of an installed distribution lists, and the distribution's name."""
    from tox_venvsync._installed import scan  # noqa: PLC0415  # an interrupted apply only

    site_packages = [Path(target.scheme["purelib"]), Path(target.scheme["platlib"])]
    return {
        os.path.normpath(os.path.join(dist.dist_info.parent, relative)): str(name)
        for name, dists in scan(site_packages).items()
        for dist in dists
        for relative in _record_paths(dist.dist_info)
    }


def link_out_of(base: str, relative: str, real_venv: str, checked: dict[str, bool]) -> str | None:
    """The first directory on the way from ``base`` to ``base/relative`` that is a link out of the venv, if any.

    Asked before anything is made there: a package directory the user replaced by a link to a checkout of
    theirs would have that checkout's files overwritten (hard-linked to the cache's, at that). One ``lstat``
    per directory the venv already has, and one for the first missing one on a way (``checked`` remembers both:
    ``True`` looked at, ``False`` missing); below a missing one all is made new, so nothing there is looked at:
    a new venv's 400 directories cost one ``lstat`` a package instead of one each (twice: when its tree is taken
    and as it is placed).
    """
    current = base
    for part in (p for p in relative.split("/") if p):
        current = os.path.join(current, part)
        if (there := checked.get(current)) is not None:
            if not there:
                return None  # made by this placement or missing still: no link of the user's below it
            continue
        checked[current] = True
        try:
            found = os.lstat(current)
        except FileNotFoundError:
            checked[current] = False
            return None
        if stat.S_ISLNK(found.st_mode) and not _leads_inside(current, real_venv):
            return current
    return None


def _leads_inside(path: str, real_venv: str) -> bool:
    """Whether ``path``, its links followed, is inside the venv whose real path is ``real_venv``."""
    real = os.path.realpath(path)
    return real == real_venv or _under(real, real_venv)


def _inside_the_venv(venv: Path) -> Callable[[str], bool]:
    """Whether a directory's real path is inside the venv's (each directory resolved once)."""
    real_venv = os.path.realpath(venv)
    known: dict[str, bool] = {}

    def inside(directory: str) -> bool:
        if (found := known.get(directory)) is None:
            found = known[directory] = _leads_inside(directory, real_venv)
        return found

    return inside


#: a venv's own files at its root, beside its interpreter and state: lib64 is the link to lib (a platlib's way on some
#: systems); virtualenv and uv write .gitignore, uv CACHEDIR.TAG, tox .tox-info.json
_VENV_ROOT_FILES = frozenset({"pyvenv.cfg", "lib64", ".gitignore", "CACHEDIR.TAG", ".tox-info.json"})


def _removable_in(venv: Path) -> Callable[[str, str], bool]:
    """Whether an uninstall may remove a directory's file: inside the venv (links followed), not the venv's own.

    The venv's own are ``pyvenv.cfg``, ``lib64``, its state, interpreter and activation: a RECORD row may name them
    (an adopted venv's RECORD is anyone's), and removing them would leave a directory that is no venv at all. So are
    the files its makers leave at its root (virtualenv's and uv's ``.gitignore``, uv's ``CACHEDIR.TAG``, tox's
    ``.tox-info.json``) and virtualenv's ``_virtualenv.pth``/``.py`` in ``site-packages``, which no wheel ships.
    Directories compared by real path, each resolved once (this is uninstall's hot loop).
    """
    real_venv = os.path.realpath(venv)
    state = os.path.join(real_venv, ".venvsync")
    scripts = {os.path.join(real_venv, "bin"), os.path.join(real_venv, "Scripts")}
    known: dict[str, str] = {}

    def removable(directory: str, name: str) -> bool:
        if (real := known.get(directory)) is None:
            real = known[directory] = os.path.realpath(directory)
        if real == real_venv:
            return name not in _VENV_ROOT_FILES
        if not _under(real, real_venv) or real == state or _under(real, state):
            return False
        if name in MADE_WITH_THE_VENV and os.path.basename(real) == "site-packages":
            return False
        return real not in scripts or _VENV_SCRIPTS.fullmatch(name) is None

    return removable


def _is_copy_of(path: str, source: str, entry: Entry) -> bool:
    """Whether the regular file at ``path`` is the tree's file ``source``: a hard link to it, or a copy."""
    try:
        found = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(found.st_mode):
        return False
    with contextlib.suppress(OSError):
        ours = os.stat(source)
        if (ours.st_dev, ours.st_ino) == (found.st_dev, found.st_ino):
            return True
    from tox_venvsync._verify import checkable, record_digest  # noqa: PLC0415  # an interrupted apply only

    algorithm, _, digest = entry.hash.partition("=")
    if found.st_size != entry.size or not checkable(algorithm):  # shake's digest needs a length a RECORD lacks
        return False
    try:
        return record_digest(path, algorithm) == digest
    except OSError:
        return False


def _holds(path: str, data: bytes) -> bool:
    """Whether ``path`` is a regular file whose bytes are ``data``."""
    try:
        if not stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode):
            return False
        with open(path, "rb") as file:
            return file.read(len(data) + 1) == data
    except OSError:
        return False


def apply(plan: Plan, wheels: Mapping[str, Path], *, venv: Path, installer: Installer) -> None:
    """Check every wheel (in parallel), then uninstall what goes or changes, then install what comes."""
    checked(plan, wheels, venv=venv, installer=installer)()


def checked(plan: Plan, wheels: Mapping[str, Path], *, venv: Path, installer: Installer) -> Callable[[], None]:
    """Check every wheel (in parallel) and that what goes can be removed; the apply that follows, to call next.

    Only reads: a sync calls it before it clears the venv's state and starts its journal, so a wheel that fails
    or a directory that cannot be written stops it with the venv as it was, still recorded in sync with its lock.
    """
    installs = [(wheels[step.name], step.wanted) for step in plan.to_install if step.wanted is not None]
    checks = [item for item in installs if not installer.ready(*item)]  # the cache's trees need no check
    if checks:
        with ThreadPoolExecutor(max_workers=min(UNPACK_WORKERS, len(checks))) as pool:
            list(pool.map(lambda item: installer.check(*item), checks))
    removing = [dist for step in plan.to_remove for dist in step.old]
    # a change keeps another's file too: the new version need not ship it again (a script or a namespace's
    # __init__.py it dropped), and the distribution that stays would be left without it
    kept = _claimed_by_others(removing) if removing else set()
    removals = [(dist, removed_files(dist, venv, kept)) for dist in removing]  # each RECORD read once
    check_removable(removals)  # none half removed for a directory this user may not write
    if removals:  # without, an install stopped half way changed nothing else (and the journal clears it)
        _check_placeable(installs, installer, _Removed(path for _, files in removals for path, _, _ in files), venv)

    def applied() -> None:
        for dist, files in removals:
            uninstall(dist, venv, kept=kept, files=files)
        installer.install_all(installs)

    return applied


def _claimed_by_others(removing: Sequence[InstalledDist]) -> set[str]:
    """The paths of those ``removing`` that a RECORD of a distribution that stays lists too.

    Two distributions may ship one file (a namespace's ``__init__.py``, psycopg2 beside psycopg2-binary):
    removing one keeps the file the other still needs (pip and uv delete it, leaving the other broken).
    Every other RECORD beside theirs is read, but searched as text for the first parts of their paths
    before its rows are (a removal is on the benchmark's paths: 50 RECORDs, 4,000 rows).
    """
    going = {str(dist.dist_info) for dist in removing}
    rows = {  # their rows' paths but their .dist-info's own files, which no other distribution lists
        relative
        for dist in removing
        for relative in _record_paths(dist.dist_info)
        if not relative.startswith(f"{dist.dist_info.name}/")
    }
    # a row of another RECORD can only name one of theirs if it starts with one of their rows' first parts (or,
    # for a row out of site-packages, a script say, or a top-level file, with that row: a RECORD written by hand
    # may give a path alone, without the hash and size after it)
    starts = {f"\n{row}" if row.startswith("../") or "/" not in row else f"\n{row.partition('/')[0]}/" for row in rows}
    searched = _Starts(start.encode("utf-8", "surrogateescape") for start in starts)
    directories = {str(dist.dist_info.parent) for dist in removing}
    claimed: set[str] = set()
    for directory in directories:  # (bytes and strings, not paths: an upgrade is on a bump's path, every RECORD read)
        for entry in os.listdir(directory):
            dist_info = os.path.join(directory, entry)
            if not entry.endswith(".dist-info") or dist_info in going:
                continue
            try:
                with open(os.path.join(dist_info, "RECORD"), "rb") as handle:
                    record = handle.read()
            except OSError:
                continue
            probe = b"\n" + record
            if b'"' in record:
                probe = probe.replace(b'\n"', b"\n")  # a quoted row (a comma in its path) starts the same
            if not searched.found_in(probe):
                continue  # no row of it starts where theirs do (searched in C: most RECORDs are passed over)
            for line in record.decode("utf-8", "surrogateescape").splitlines():
                plain = not line.startswith('"') and line.count(",") >= 2  # noqa: PLR2004  # the hash and the size
                relative = line.rpartition(",")[0].rpartition(",")[0] if plain else _row(line)
                claimed.add(os.path.normpath(os.path.join(directory, relative)))
    if not claimed:
        return claimed
    return claimed & {os.path.normpath(os.path.join(directory, row)) for directory in directories for row in rows}


#: a line's first part up to its first ``/``, at the start of each line (the RECORD is searched with ``\n`` before it)
_FIRST_PARTS = re.compile(rb"^[^/\n]*/", re.MULTILINE)
#: up to this many first parts a RECORD is searched for one by one; more, its own first parts are listed once
#: (measured on 2,000 RECORDs: one search 5 ms, 16 about 45, 1,000 3.5 s; the listing 30-40 ms whatever the count)
_ONE_BY_ONE = 16
#: how many bytes of a line :class:`_Starts` compares before it looks for whole rows at its beginning
_HEAD = 4


class _Starts:
    """What :func:`_claimed_by_others` searches each other RECORD for: a line break and the start of a removed row.

    Searched for one by one, a removal searched each RECORD that stays once per start: a lock that drops a
    thousand packages of two thousand, or one package with 2,000 console scripts (a row each), took seconds.
    With many starts, each RECORD is read once instead. A directory's start (a line break, then ``pkg/``) is in
    it exactly when one of its lines' first part is ``pkg/``: its first parts are listed and compared as a set.
    A whole row's (a script, a top-level module) is in it exactly when one of its lines begins with that row:
    the beginnings of the rows' lengths of each line that begins as a row does are looked up in a set.
    """

    def __init__(self, starts: Iterable[bytes]) -> None:
        found = list(starts)
        self._parts = frozenset(s[1:] for s in found if s.endswith(b"/") and b"/" not in s[:-1] and b"\n" not in s[1:])
        rows = [s[1:] for s in found if s[1:] not in self._parts]
        # few rows, or one with a line break in it (a quoted CSV field spans lines): searched for as they are
        few = len(rows) <= _ONE_BY_ONE
        self._searched = [b"\n" + row for row in rows if few or b"\n" in row]
        self._rows: dict[int, set[bytes]] = {}
        for row in rows:
            if not few and b"\n" not in row:
                self._rows.setdefault(len(row), set()).add(row)
        # a line can begin with one of the rows only if it begins as one does: most lines are passed over at that
        self._head = min(_HEAD, *self._rows) if self._rows else 0
        self._heads = {row[: self._head] for rows in self._rows.values() for row in rows}

    def found_in(self, probe: bytes) -> bool:
        """Whether ``probe`` (a RECORD with a line break before it) holds one of the starts."""
        return any(start in probe for start in self._searched) or self._has_part(probe) or self._has_row(probe)

    def _has_part(self, probe: bytes) -> bool:
        if len(self._parts) <= _ONE_BY_ONE:
            return any(b"\n" + part in probe for part in self._parts)
        return not self._parts.isdisjoint(_FIRST_PARTS.findall(probe))

    def _has_row(self, probe: bytes) -> bool:
        if not self._rows:
            return False
        lines = probe.split(b"\n")[1:]  # the probe starts with a line break
        head, heads = self._head, self._heads
        candidates = [line for line in lines if line[:head] in heads]
        return any(line[:length] in rows for length, rows in self._rows.items() for line in candidates)


def _row(line: str) -> str:
    """The path of a RECORD row whose path is quoted (it holds a comma or a quote), or that lacks a column."""
    try:
        return next(csv.reader([line]), [""])[0]
    except csv.Error:  # a field past csv's size limit: no path a file has
        return ""


class _Removed:
    """The paths the uninstalls of an apply remove, asked by the path as written, else by its real path.

    A path a wheel writes and one a RECORD names may spell one file two ways (``lib64`` is ``lib``); the real
    paths are worked out only when a file in the way is found, which is rare.
    """

    def __init__(self, paths: Iterable[str]) -> None:
        self._paths = set(paths)
        self._real: set[str] | None = None

    def __contains__(self, path: str) -> bool:
        if path in self._paths:
            return True
        if self._real is None:
            self._real = {_real(removed) for removed in self._paths}
        return _real(path) in self._real


def _check_placeable(
    installs: Sequence[tuple[Path, Wanted]], installer: Installer, removed: _Removed, venv: Path
) -> None:
    """Refuse an install that a file or directory the uninstalls leave standing would stop half way.

    A directory where the wheel places a file (a package that became a module or a data file, with a file of the
    user's left in it), or a file where it makes a directory: the install met it after the uninstalls and stopped
    with the old version gone and the new one half placed (pip stops too, and puts the old version back; a file
    where a directory goes ended in a traceback). Found before anything changes, naming what is in the way. So is
    a directory link out of the venv where a wheel pypa/installer places goes (a cached tree's are checked when it
    is taken): a package directory linked to the user's checkout was met after the old version was uninstalled.
    And a directory there this user may not write (``bin/`` made read-only, where an upgrade adds a script) is
    raised as :func:`check_removable` raises one, and a path too long for the venv's file system (:func:`_too_long`)
    is refused. A file in the way is the venv's state (:class:`InTheWayError`, exit code 1, as a directory this user
    may not write is); a link out and a path too long are refused as a wheel that cannot be installed (exit 2).
    """
    owners: dict[str, dict[str, int]] = {}  # the install (its index) that writes each file, by directory
    for index, (wheel, wanted) in enumerate(installs):
        for directory, names in installer.destinations(wheel, wanted).items():
            owners.setdefault(directory, {}).update(dict.fromkeys(names, index))
    if (too_long := _too_long(owners, venv)) is not None:
        wheel, wanted = installs[too_long[0]]
        raise InstallError(wanted.pick.name, wheel.name, too_long[1])
    if (found := _in_the_way(owners, removed, _LinksOut(venv))) is not None:
        index, reason, standing = found
        wheel, wanted = installs[index]
        # a file or directory standing in the way is the venv's state (exit 1, as met at placement); a link out of
        # the venv is refused as a cached tree's is when it is taken (exit 2)
        raise (InTheWayError if standing else InstallError)(wanted.pick.name, wheel.name, reason)


def _too_long(owners: Mapping[str, Mapping[str, int]], venv: Path) -> tuple[int, str] | None:
    """The install that writes a path the venv's file system refuses as too long, and why, if one does.

    The system takes no path of ``PC_PATH_MAX`` bytes or more (4096 on Linux) and no name longer than
    ``PC_NAME_MAX`` (255; 143 on eCryptfs): a module deep in a package, in a venv at a deep location, was met as it
    was placed, after the uninstalls, with the old version gone and the new one half placed.
    """
    path_max, name_max = _limit(venv, "PC_PATH_MAX"), _limit(venv, "PC_NAME_MAX")
    for directory, names in owners.items():
        parts = os.path.relpath(directory, venv).split(os.sep)  # the venv's own are there already
        for name, index in names.items():
            path = os.path.join(directory, name)
            if (size := len(os.fsencode(path))) >= path_max:
                reason = (
                    f"{path} is {size} bytes long, and the file system takes paths shorter than {path_max} bytes; "
                    "choose a shorter location for the environment"
                )
                return index, reason
            if (part := next((p for p in (*parts, name) if len(os.fsencode(p)) > name_max), None)) is not None:
                reason = (
                    f"{path} has the name {part!r} of {len(os.fsencode(part))} bytes, and the file system of the "
                    f"environment takes names of {name_max} bytes at most; put the environment on another one"
                )
                return index, reason
    return None


def _limit(venv: Path, name: str) -> int:
    """The file system's ``os.pathconf`` limit ``name`` at ``venv``; ``sys.maxsize`` when it has none or says none."""
    try:
        limit = os.pathconf(venv, name)
    except (OSError, ValueError):
        return sys.maxsize
    return limit if limit > 0 else sys.maxsize


def _in_the_way(
    owners: Mapping[str, Mapping[str, int]], removed: _Removed, links: _LinksOut
) -> tuple[int, str, bool] | None:
    """The install that cannot place a file once ``removed`` are gone, why, and whether a file stands in its way.

    ``None`` when every install can (one scan a directory). Not a file in the way: a link out of the venv.
    """
    known: dict[str, bool] = {}
    asked: set[str] = set()  # the directories that exist, each asked once whether files can be placed in it
    for directory, names in sorted(owners.items()):
        if (found := _not_a_directory(directory, removed, known)) is not None:
            what = f"a link to {os.readlink(found)}" if os.path.islink(found) else "a file"  # a dangling link, say
            reason = (
                f"{found} is {what} where it makes a directory; move it out of the way, or make the environment again"
            )
            return next(iter(names.values())), reason, True
        # a directory the install makes is made in the nearest one that exists: that one is asked instead (a new
        # include/site/ for an upgrade's first header, include/ read-only)
        existing = directory if known[directory] else _existing_above(directory, known)
        if existing is not None and existing not in asked:
            asked.add(existing)
            if (refused := _not_placeable_in(existing, links)) is not None:
                return next(iter(names.values())), refused, False
        if not known[directory]:
            continue  # made by the install: nothing stands in it
        try:
            with os.scandir(directory) as entries:
                standing = [(e.name, e.path) for e in entries if e.name in names and e.is_dir(follow_symlinks=False)]
        except OSError:
            continue  # a link the link check names
        for name, path in standing:
            if (left := _left_in(path, removed)) is not None:
                return names[name], _where_a_file_goes(path, left), True
    return None


def _not_placeable_in(directory: str, links: _LinksOut) -> str | None:
    """Why no file can be placed in (or below) the existing ``directory``: a link out of the venv on the way to it.

    One this user may not write is raised, as :func:`check_removable` raises one it would empty.
    """
    if (link := links.first(directory)) is not None:
        return f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove the link"
    if not os.access(directory, os.W_OK | os.X_OK):
        raise not_writable(directory)
    return None


def _existing_above(directory: str, known: dict[str, bool]) -> str | None:
    """The nearest directory above ``directory`` that exists (``known``: see :func:`_not_a_directory`, filled in)."""
    current = directory
    while (parent := os.path.dirname(current)) != current:
        current = parent
        if (is_directory := known.get(current)) is None:  # above a file an uninstall removes: not looked at yet
            is_directory = known[current] = os.path.isdir(current)
        if is_directory:
            return current
    return None


class _LinksOut:
    """The first directory on the way to one in the venv that is a link out of it (see :func:`link_out_of`)."""

    def __init__(self, venv: Path) -> None:
        self._real_venv = os.path.realpath(venv)
        self._roots = sorted({os.path.abspath(venv), self._real_venv}, key=len, reverse=True)
        self._checked: dict[str, bool] = {}

    def first(self, directory: str) -> str | None:
        """The link out on the way from the venv's root to ``directory``, if any (each directory looked at once)."""
        root = next((root for root in self._roots if _under(directory, root)), None)
        if root is None:
            return None  # spelt through another path to the venv: placing it checks it again
        return link_out_of(root, directory[len(root) + 1 :], self._real_venv, self._checked)


def _where_a_file_goes(directory: str, left: str) -> str:
    """Why a file cannot be placed where ``directory`` stands, in which the uninstalls leave ``left``."""
    if left == directory:
        return f"the directory {directory} stands where it places a file; remove it, or make the environment again"
    return (
        f"the directory {directory} stands where it places a file, and the sync would leave {left} in it; "
        "move that out of the way, or make the environment again"
    )


def _not_a_directory(directory: str, removed: _Removed, known: dict[str, bool]) -> str | None:
    """The file (or link to no directory) on the way to ``directory`` that stays after the uninstalls, if any.

    ``known``: whether each directory looked at is one now (filled in here: each is looked at once).
    """
    current = directory
    while current not in known:
        # a link to a directory is one (lib64); one out of the venv is refused apart
        known[current] = is_directory = os.path.isdir(current)
        if is_directory:
            return None
        if os.path.lexists(current):
            return None if current in removed else current
        current = os.path.dirname(current)
    return None


def _left_in(directory: str, removed: _Removed) -> str | None:
    """What the uninstalls leave in ``directory``, or ``None`` when it goes with them (itself when it stays empty).

    It goes when they remove every file in it (a module's bytecode goes with the module) and every directory in it
    goes too: an uninstall prunes a directory it removed a file from, and those above it, once empty.
    """
    emptied = False
    try:
        with os.scandir(directory) as scan:
            entries = list(scan)
    except OSError:
        return directory
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            if entry.path not in removed:
                return entry.path
            emptied = True
        elif not (entry.name == "__pycache__" and _compiled_only(entry.path, directory, removed)):
            if (left := _left_in(entry.path, removed)) is not None:
                return left
            emptied = True
    return None if emptied else directory


def _compiled_only(cache: str, directory: str, removed: _Removed) -> bool:
    """Whether the ``__pycache__`` directory ``cache`` holds only bytecode of modules of ``directory`` that go."""
    try:
        names = os.listdir(cache)
    except OSError:
        return False
    return all(
        name.endswith(".pyc") and os.path.join(directory, name.partition(".")[0] + ".py") in removed for name in names
    )


#: threads unpacking (and checking) wheels at once: unzipping and hashing are CPU work that releases the
#: GIL in C, so one thread per core (up to 8) is fastest; more contend for the GIL (53 wheels on 2 cores,
#: in memory: 1 thread 580 ms, 2 threads 383 ms, 8 threads 530-575 ms)
UNPACK_WORKERS = max(1, min(8, os.cpu_count() or 1))

#: threads linking unpacked trees at once: a link or mkdir releases the GIL, so two overlap where the kernel's
#: calls are slow; more contend for it (measured on 2 cores: 1 thread 111 ms, 2 threads 70-78 ms, 3 threads
#: 83-105 ms). Where they are quick (a new directory tree, 6-9 us a link) the GIL's hand-overs cost more than the
#: overlap gains (1 thread 64-96 ms, 2 threads 93-108); right after ext4 deleted a venv (a mkdir 0.1-0.3 ms) two
#: win (230-252 vs 181-200 ms). Timing the first trees alone to choose cost that overlap back (~30 ms), so two it is
_LINK_WORKERS = max(1, min(2, os.cpu_count() or 1))


class LinkInstaller:
    """Installs from the cache's unpacked trees by hard-linking each file, or copying it.

    Files are copied across filesystems, or all of them with ``link`` false; a copy is a
    copy-on-write clone where the filesystem makes them.

    The files generated per install (scripts, whose shebang names the venv's interpreter, RECORD,
    INSTALLER, ``direct_url.json`` and ``venvsync.json``) are linked from one copy per content in the
    cache (:class:`_SharedFiles`), and so are the ``.pyc`` files earlier venvs compiled for the same
    interpreter version (:mod:`tox_venvsync._bytecode`). A wheel built on every run (the project) goes
    through :class:`WheelInstaller` instead, so it does not fill the cache.
    """

    def __init__(self, target: Target, cache: Cache, *, link: bool = True) -> None:
        self._target = target
        self._cache = cache
        self._link = link
        self._wheels = WheelInstaller(target)
        self._trees: dict[str, UnpackedWheel] = {}
        self._tag = cache_tag(target) if link else None  # bytecode is shared only through links
        self._sources: set[tuple[str, str, str]] = set()
        self._real_venv = os.path.realpath(target.prefix)  # resolved once for every placement

    def ready(self, wheel: Path, wanted: Wanted) -> bool:
        """Whether the wheel's verified tree is in the cache already (then it is taken, and needs no :meth:`check`).

        Taking a tree is reading one small JSON file: pure Python, which threads would only take turns
        at, so it is done on the caller's thread (the benchmark's 53 trees: 12-16 ms of checks on two
        threads before, 6-9 ms now).
        """
        hashed = self._hashed(wanted)
        tree = None if hashed is None else cached_tree(self._cache, *hashed)
        if tree is None:
            return False
        try:
            self._trees[wanted.pick.name] = self._fits(_named_as_locked(tree, wanted, wheel), wanted, wheel)
        except FileNotFoundError as exc:  # its METADATA, read for a requirements pin
            if not _lost_from(tree, exc, wheel):
                raise
            self._trees[wanted.pick.name] = self._unpacked_again(wheel, wanted)
        self._no_link_out(self._trees[wanted.pick.name], wanted, wheel)
        return True

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Unpack and verify the wheel into the cache (once per wheel, ever)."""
        hashed = self._hashed(wanted)
        if hashed is None:  # built here: not cached
            self._wheels.check(wheel, wanted)
            return
        tree = _named_as_locked(unpacked(self._cache, wheel, *hashed, wanted.pick.name), wanted, wheel)
        self._trees[wanted.pick.name] = self._no_link_out(self._fits(tree, wanted, wheel), wanted, wheel)

    def _fits(self, tree: UnpackedWheel, wanted: Wanted, wheel: Path) -> UnpackedWheel:
        """``tree``, once a requirements pin's ``Requires-Python`` is found to hold (as pip checks it).

        A lock's own selection has settled the Python versions; a requirements file pins whatever it was
        made for, and its file may come from the cache without an index's ``data-requires-python``.
        """
        if wanted.pick.lookup is not None:
            metadata = (tree.root / tree.dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
            fits_python(metadata, self._target, wanted.pick.name, wheel.name)
        return tree

    def _no_link_out(self, tree: UnpackedWheel, wanted: Wanted, wheel: Path) -> UnpackedWheel:
        """``tree``, once no directory its files go to is a link out of the venv (checked again as they are placed).

        Asked before the sync uninstalls anything: a link the user made (``share/jupyter`` to a directory of theirs,
        a package directory to a checkout) stopped the sync only as the tree was placed, after the uninstalls.
        """
        placement = _Placement(tree, self._target, link=self._link, real_venv=self._real_venv)
        if (link := placement.link_out()) is not None:
            reason = f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove the link"
            raise InstallError(wanted.pick.name, wheel.name, reason)
        return tree

    def tree_roots(self, plan: Plan) -> dict[str, str]:
        """Where the cache keeps the tree each install of ``plan`` is placed from (those from the cache), by name."""
        hashed = {step.name: self._hashed(step.wanted) for step in plan.to_install if step.wanted is not None}
        return {name: str(self._cache.unpacked(*pair)) for name, pair in hashed.items() if pair is not None}

    def placing(self, plan: Plan, wheels: Mapping[str, Path]) -> tuple[dict[str, str], dict[str, list[str]]]:
        """What the journal notes of each install of ``plan``, by name (see :func:`clear_half_placed`).

        The cache's tree it is placed from, or for a wheel built here, the paths it writes.
        """
        trees = self.tree_roots(plan)
        files = {
            str(step.name): self._wheels.planned(wheels[step.name], step.wanted)
            for step in plan.to_install
            if step.wanted is not None and step.name not in trees and step.name in wheels
        }
        return trees, files

    @staticmethod
    def _hashed(wanted: Wanted) -> tuple[str, str] | None:
        """The hash the wheel's tree is cached under; ``None`` for a wheel that is not cached (one built here)."""
        hashed = wanted.pick.artifact.strongest_hash if wanted.pick.artifact else None
        if wanted.content is not None or hashed is None or wanted.pick.kind != "wheel":
            return None
        return hashed

    def install(self, wheel: Path, wanted: Wanted) -> None:
        """Link the unpacked files into the target's scheme and write the per-venv files."""
        tree = self._trees.get(wanted.pick.name)
        if tree is None:
            self._wheels.install(wheel, wanted)
            return
        try:
            self._place(tree, wanted)
        except FileNotFoundError as exc:
            if not _lost_from(tree, exc, wheel):
                raise
            # a file of the cache's tree is gone (deleted by hand, or by a cleaner while this run linked from it):
            # the tree is unpacked again from the wheel, and placed again over what was placed from it (RECORD
            # comes last, so until then the journal's tree tells a later sync what to clear)
            self._place(self._unpacked_again(wheel, wanted), wanted)

    def _unpacked_again(self, wheel: Path, wanted: Wanted) -> UnpackedWheel:
        """The wheel's tree, unpacked again where the cache's lacks a file its manifest lists (see :func:`unpacked`)."""
        hashed = self._hashed(wanted)
        assert hashed is not None  # noqa: S101  # a tree is taken only for a wheel with a hash
        tree = unpacked(self._cache, wheel, *hashed, wanted.pick.name, damaged=True)
        return self._fits(_named_as_locked(tree, wanted, wheel), wanted, wheel)

    def _place(self, tree: UnpackedWheel, wanted: Wanted) -> None:
        shared = _SharedFiles(self._cache) if self._link else None
        placement = _Placement(
            tree, self._target, link=self._link, shared=shared, tag=self._tag, real_venv=self._real_venv
        )
        placement.place(_metadata(wanted))
        self._sources.update(placement.sources)  # one call: safe from several linking threads

    def remember_sources(self, venv: Path) -> None:
        """Note in ``venv`` where modules were linked from, so the next command's bytecode reaches the cache."""
        if self._tag is not None and self._sources:
            remember_sources(venv, self._tag, self._sources)

    def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
        """Install every wheel: unpacked trees in parallel when no two write the same path, then the rest.

        Two wheels that ship the same file keep the lock's order (the later one's file wins, as when
        installing one by one); a wheel not from the cache (the project, a build) comes after the trees.
        """
        trees = [item for item in installs if item[1].pick.name in self._trees]
        rest = [item for item in installs if item[1].pick.name not in self._trees]
        if _LINK_WORKERS > 1 and len(trees) > 1 and self._disjoint(trees):
            # biggest first, so the workers finish at about the same time
            trees.sort(key=lambda item: -len(self._trees[item[1].pick.name].entries))
            pool = ThreadPoolExecutor(max_workers=_LINK_WORKERS, thread_name_prefix="venvsync-link")
            try:
                for _ in pool.map(lambda item: self.install(*item), trees):
                    pass
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # on an error or Ctrl-C, start no other wheel
        else:
            rest = list(installs)
        for wheel, wanted in rest:
            self.install(wheel, wanted)

    def destinations(self, wheel: Path, wanted: Wanted) -> dict[str, list[str]]:
        """The name of every file :meth:`install` writes, by directory (see :meth:`_Placement.destinations`)."""
        tree = self._trees.get(wanted.pick.name)
        if tree is None:
            return self._wheels.destinations(wheel, wanted)
        return _Placement(tree, self._target, link=self._link, real_venv=self._real_venv).destinations()

    def _disjoint(self, installs: Sequence[tuple[Path, Wanted]]) -> bool:
        """Whether no two of these trees write the same file (or console script)."""
        claimed: set[str] = set()
        for _, wanted in installs:
            tree = self._trees[wanted.pick.name]
            paths = {_claim(tree, entry.path) for entry in tree.entries}
            paths.update(f"scripts/{name}" for name, *_ in tree.scripts)
            if not claimed.isdisjoint(paths):
                return False
            claimed |= paths
        return True


def _lost_from(tree: UnpackedWheel, exc: FileNotFoundError, wheel: Path) -> bool:
    """Whether ``exc`` is about a file gone from the cache's ``tree`` (not the venv's), which ``wheel`` can make again.

    A wheel gone as well was removed during this run with the rest of the cache: the error says so, and the
    next run fetches it again.
    """
    lost = isinstance(exc.filename, str) and exc.filename.startswith(os.path.join(tree.root, ""))
    return lost and wheel.is_file()


def _named_as_locked(tree: UnpackedWheel, wanted: Wanted, wheel: Path) -> UnpackedWheel:
    """``tree``, once its ``.dist-info`` is found to be the locked name and version.

    The cache keeps trees by the wheel's hash, so another lock can name the same bytes another
    package (or version): checked on every install, not only when the wheel is first unpacked.
    """
    pick = wanted.pick
    dist_name, _, dist_version = tree.dist_info.removesuffix(".dist-info").rpartition("-")
    if canonicalize_name(dist_name) != pick.name:
        raise InstallError(pick.name, wheel.name, f"its metadata directory {tree.dist_info} is not for {pick.name}")
    if pick.version is not None:
        try:
            same = Version(dist_version) == pick.version
        except InvalidVersion:
            same = False
        if not same:
            reason = f"its metadata directory {tree.dist_info} is not for version {pick.version}"
            raise InstallError(pick.name, wheel.name, reason)
    _leaves_the_venv_its_own(
        (n for n, *_ in tree.scripts), (e.path for e in tree.entries), tree.data_dir, pick.name, wheel
    )
    return tree


def _leaves_the_venv_its_own(
    scripts: Iterable[str], paths: Iterable[str], data_dir: str, name: str, wheel: Path
) -> None:
    """Refuse a wheel whose files or scripts would replace the venv's interpreter, activation, root files or state.

    The root files are ``pyvenv.cfg``, the ``lib64`` link and what virtualenv, uv and tox leave there
    (:data:`_VENV_ROOT_FILES`): a ``.data/data/lib64`` file replaced the link to ``lib``, and an uninstall then left
    the wheel's file in its place. pip would let them; checked with the wheel's names (its console and GUI scripts,
    its entries' paths), before anything of any wheel is placed: for trees from the cache and for wheels
    pypa/installer places.
    """
    inside_data, data = f"{data_dir}/", f"{data_dir}/data/"
    # the data scheme is the venv's root, so its bin/ is the scripts directory: data/bin/python3 replaces the link too
    bins = (f"{data_dir}/scripts/", f"{data}bin/")
    scripts = list(scripts)
    _scripts_stay_in_bin(scripts, name, wheel)
    found = [script for script in scripts if _VENV_SCRIPTS.fullmatch(script)]
    for path in paths:
        if not path.startswith(inside_data):
            continue  # the library's files, most of a wheel's: both places looked for are in its .data directory
        in_bin = next((path[len(bin_dir) :] for bin_dir in bins if path.startswith(bin_dir)), None)
        if in_bin is not None and _VENV_SCRIPTS.fullmatch(in_bin):
            found.append(in_bin)
        elif path.startswith(data) and (path[len(data) :] in _VENV_ROOT_FILES or path.startswith(f"{data}.venvsync/")):
            found.append(path[len(data) :])
    if found:
        reason = f"it ships {found[0]!r}, which would replace the virtual environment's own file of that name"
        raise InstallError(name, wheel.name, reason)


def _scripts_stay_in_bin(scripts: list[str], name: str, wheel: Path) -> None:
    """Refuse a console or GUI script whose name is no path below the scripts directory (``../x``, ``/x``, ``.``).

    Path traversal: the name comes from the wheel's ``entry_points.txt`` and becomes a path under ``bin/``. uv refuses
    such a name, pip one that ends outside ``bin/`` (it lets ``../bin/python`` replace the interpreter). Checked with
    the wheel's other names, before anything is uninstalled or placed: the check where the script is written comes
    after the sync's uninstalls.
    """
    for script in scripts:
        if script.startswith("/") or any(part in _NOT_FILE_NAMES for part in script.split("/")):
            reason = (
                f"its entry_points.txt names the script {script!r}, which is not a path below the venv's bin/ "
                "directory (no leading '/', no '.' or '..' parts)"
            )
            raise InstallError(name, wheel.name, reason)


def _claim(tree: UnpackedWheel, path: str) -> str:
    """Where an entry lands, as ``<scheme>/<path>`` (the two library schemes are one place in a venv)."""
    prefix = tree.data_dir + "/"
    if path.startswith(prefix):
        scheme, _, rest = path[len(prefix) :].partition("/")
        return f"{'lib' if scheme in {'purelib', 'platlib'} else scheme}/{rest}"
    return f"lib/{path}"


class _SharedFiles:
    """Generated files (``RECORD``, ``INSTALLER``, console scripts...) kept once in the cache by content.

    The same package installed again at the same place generates the same bytes: linking them from
    the cache (``files/``) instead of creating a file each time saves most of a venv's file creations
    for packages with many small dist-info files. A shared file whose size or mode changed (someone edited an
    installed copy, or took a console script's executable bit off with ``chmod``: the same file) is replaced
    before it is used again.
    """

    def __init__(self, cache: Cache) -> None:
        self._root = cache.root / "files"

    def path(self, data: bytes, *, executable: bool) -> str | None:
        """The cache's copy of ``data`` (made now if missing); ``None`` when it cannot be made."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._root / digest[:2] / (digest + ("-x" if executable else ""))
        mode = 0o755 if executable else 0o644
        try:
            found = os.stat(path)
            if found.st_size == len(data) and stat.S_IMODE(found.st_mode) == mode:
                return str(path)
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            write_atomic(path, data, mode=mode)
        except OSError:
            return None
        return str(path)


_LIBRARIES = frozenset({"purelib", "platlib"})
#: what the venv itself keeps in its scripts directory (bin/): its interpreter links and activation scripts
_VENV_SCRIPTS = re.compile(r"python(\d+(\.\d+)?)?w?|activate(\.\w+|_this\.py)?|Activate\.ps1|deactivate")
#: last parts of an entry's path that do not name a file in its directory
_NOT_FILE_NAMES = frozenset({"", ".", ".."})


class _Directory(NamedTuple):
    """Where the files of one of a tree's directories go (worked out once per directory and install)."""

    scheme: str
    #: the venv's directory, with a separator at its end
    path: str
    #: its RECORD path (relative to the root scheme), with a ``/`` at its end, or empty for the root itself
    record: str
    #: ``(venv directory, tree, tree-relative directory)`` for the bytecode harvest; ``None`` when not harvested
    modules: tuple[str, str, str] | None


class _Placement:
    """One unpacked wheel being placed into a venv (paths as strings: this is the hot loop of an install)."""

    def __init__(  # noqa: PLR0913  # the tree and the venv, then how (keyword-only)
        self,
        tree: UnpackedWheel,
        target: Target,
        *,
        link: bool,
        shared: _SharedFiles | None = None,
        tag: str | None = None,
        real_venv: str | None = None,
    ) -> None:
        self._shared = shared
        self._tag = tag
        #: ``(venv directory, tree, tree-relative directory)`` of linked modules the cache has no bytecode for yet,
        #: for the bytecode harvest (filled in by :meth:`place`)
        self.sources: set[tuple[str, str, str]] = set()
        #: the module names (no ``.py``) linked into each such directory
        self._modules: dict[tuple[str, str, str], set[str]] = {}
        self._tree = tree
        self._source = str(tree.root)
        self._scheme = with_headers_of(
            {k: os.path.normpath(v) for k, v in target.scheme.items()},
            tree.dist_info.removesuffix(".dist-info").rsplit("-", 1)[0],
        )
        self._library = "purelib" if tree.purelib else "platlib"  # the scheme of the wheel's root
        self._root = self._scheme[self._library]
        self._interpreter = target.executable
        self._link = link
        self._made: set[str] = set()
        self._checked: dict[str, bool] = {}  # directories looked at (see link_out_of)
        self._real_venv = real_venv or os.path.realpath(target.prefix)
        self._records: list[tuple[str, str, str]] = []
        self._clone = _CAN_CLONE  # until the filesystem refuses one

    @property
    def root(self) -> str:
        """The scheme directory the wheel's root goes to (its ``.dist-info`` lands there)."""
        return self._root

    def destinations(self) -> dict[str, list[str]]:
        """The name of every file :meth:`place` writes, by directory (the files it generates go beside RECORD).

        Each of the tree's directories is worked out once, as :meth:`_place_entries` does: a tree of thousands of
        files costs a dictionary lookup a file.
        """
        found: dict[str, list[str]] = {}
        places: dict[str, list[str]] = {}  # the tree's directory: the names in its place in the venv
        for entry in self._tree.entries:
            directory, _, name = entry.path.rpartition("/")
            if (names := places.get(directory)) is None:
                scheme, relative = self._destination(directory + "/") if directory else (self._library, "")
                names = places[directory] = found.setdefault(self._inside(scheme, relative + "_")[:-2], [])
            names.append(name)
        if self._tree.scripts:
            found.setdefault(self._scheme["scripts"], []).extend(name for name, *_ in self._tree.scripts)
        found.setdefault(os.path.join(self._root, self._tree.dist_info), []).append("RECORD")
        return found

    def placed(self) -> tuple[list[str], set[str]]:
        """The files of this tree found in the venv as :meth:`place` writes them, and every directory they go to.

        For a placement cut off before its RECORD: a file counts only when it is the tree's own (a hard link
        to it, or a copy with its size and hash) or, for a script, holds what the placement writes, so a file
        of somebody else's at one of the paths stays, also when the placement never got to it. The
        ``.dist-info``'s own files are not included.
        """
        found: list[str] = []
        directories: set[str] = set()
        for entry in self._tree.entries:
            scheme, relative = self._destination(entry.path)
            try:
                path = self._inside(scheme, relative)
            except InstallError:  # a path no placement would write (a tampered manifest)
                continue
            directories.add(os.path.dirname(path))
            source = os.path.join(self._source, entry.path)
            if scheme == "scripts":
                with contextlib.suppress(OSError):
                    if _holds(path, _shebang(Path(source), self._interpreter)):
                        found.append(path)
            elif _is_copy_of(path, source, entry):
                found.append(path)
        for name, module, attr, _ in self._tree.scripts:
            path = self._inside("scripts", name)
            directories.add(os.path.dirname(path))
            if _holds(path, _script(module, attr, self._interpreter)):
                found.append(path)
        return found, directories

    def place(self, metadata: dict[str, bytes]) -> None:
        self._place_entries()
        if self._tag is not None:
            linked = self._place_compiled(self._tag)
            # a directory whose every module came with its bytecode has nothing for the harvest to keep: a venv
            # placed from a cache that holds all of it then leaves no note, and its first command no harvest
            self.sources = {where for where, names in self._modules.items() if not names <= linked.get(where[2], set())}
        for name, module, attr, _ in self._tree.scripts:  # console and GUI scripts alike on POSIX
            self._write(self._inside("scripts", name), _script(module, attr, self._interpreter), executable=True)
        for filename, data in metadata.items():
            self._write(os.path.join(self._root, self._tree.dist_info, filename), data, executable=False)
        self._write_record()

    def _place_entries(self) -> None:
        # where each of the tree's directories goes is worked out once (its scheme, the path checks, the
        # RECORD prefix, the mkdir); each file then costs a string and a link (3,675 files in this loop)
        directories: dict[str, _Directory] = {}
        source = self._source + "/"
        for entry in self._tree.entries:
            directory, _, name = entry.path.rpartition("/")
            where = directories.get(directory)
            if where is None:
                where = directories[directory] = self._directory(directory)
            if name in _NOT_FILE_NAMES:
                raise InstallError(self._tree.dist_info, self._source, f"{entry.path!r} is not a file's path")
            destination = where.path + name
            if where.scheme == "scripts":
                data = _shebang(Path(source + entry.path), self._interpreter)
                self._write(destination, data, executable=True)
                continue
            if not (self._link and _hardlink(source + entry.path, destination)):
                self._copy_file(entry, destination)
            self._records.append((where.record + name, entry.hash, str(entry.size)))
            if where.modules is not None and name.endswith(".py"):
                self._modules.setdefault(where.modules, set()).add(name[:-3])

    def _directory(self, directory: str) -> _Directory:
        """Where the files of the tree's ``directory`` go (made now), checked to stay inside their scheme."""
        scheme, relative = self._destination(directory + "/") if directory else (self._library, "")
        path = self._inside(scheme, relative + "_")[:-1]  # the directory, with a separator at its end
        if (link := self._links_out(scheme, relative)) is not None:
            reason = f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove the link"
            raise InstallError(self._tree.dist_info, self._source, reason)
        if scheme != "scripts":
            self._parent(path + "_")
        modules = None
        if self._tag is not None and scheme in _LIBRARIES:
            modules = (path.rstrip(os.sep), self._source, directory)
        return _Directory(scheme=scheme, path=path, record=self._record_path(path + "_")[:-1], modules=modules)

    def _links_out(self, scheme: str, relative: str) -> str | None:
        return link_out_of(self._scheme[scheme], relative, self._real_venv, self._checked)

    def link_out(self) -> str | None:
        """The first directory the tree's files go to that is a link out of the venv, if any; nothing is made."""
        directories = {entry.path.rpartition("/")[0] for entry in self._tree.entries}
        for directory in sorted(directories):
            scheme, relative = self._destination(directory + "/") if directory else (self._library, "")
            if scheme in self._scheme and (link := self._links_out(scheme, relative)) is not None:
                return link
        return None

    def _place_compiled(self, tag: str) -> dict[str, set[str]]:
        """Link the ``.pyc`` files earlier venvs compiled for this tree's modules (see ``_bytecode``).

        Returns the modules linked with their bytecode, by tree-relative directory.
        """
        linked: dict[str, set[str]] = {}
        plain = f".{tag}.pyc"  # what an import without -O reads
        for path in compiled(self._tree.root, tag):
            scheme, relative = self._destination(path)
            if scheme in _LIBRARIES:
                destination = self._inside(scheme, relative)
                self._parent(destination)
                if _hardlink(os.path.join(self._source, path), destination) and path.endswith(plain):
                    directory, _, name = path.rpartition("/")
                    linked.setdefault(directory.rpartition("/")[0], set()).add(name[: -len(plain)])
        return linked

    def _destination(self, path: str) -> tuple[str, str]:
        prefix = self._tree.data_dir + "/"
        if path.startswith(prefix):
            scheme, _, rest = path[len(prefix) :].partition("/")
            return scheme, rest
        return self._library, path

    def _inside(self, scheme: str, relative: str) -> str:
        # path traversal, checked again at the destination: the file stays inside its scheme directory
        base = self._scheme.get(scheme)
        if base is None:
            msg = f"{relative!r} is in no scheme of the wheel spec ({scheme!r})"
            raise InstallError(self._tree.dist_info, self._source, msg)
        path = os.path.normpath(os.path.join(base, relative))
        if not path.startswith(base + os.sep):
            msg = f"{relative!r} would be written outside {base}"
            raise InstallError(self._tree.dist_info, self._source, msg)
        return path

    def _parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self._made:
            with _a_file_in_the_way():
                os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _copy_file(self, entry: Entry, destination: str) -> None:
        # copied under a temporary name and renamed: a kill mid-copy leaves no partial file at the destination
        with _replacing(destination) as temporary:
            self._copy(self._source + "/" + entry.path, temporary)
            if entry.executable:
                os.chmod(temporary, 0o755)

    def _copy(self, source: str, destination: str) -> None:
        """A file of the venv's own: a copy-on-write clone while the filesystem makes them, else a byte copy."""
        if self._clone:
            self._clone = _clone(source, destination)
            if self._clone:
                return
        shutil.copyfile(source, destination)

    def _write(self, destination: str, data: bytes, *, executable: bool) -> None:
        self._parent(destination)
        self._emit(destination, data, executable=executable)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self._records.append((self._record_path(destination), f"sha256={digest}", str(len(data))))

    def _record_path(self, path: str) -> str:
        """RECORD paths are relative to the root scheme (``../../../bin/tool`` for scripts)."""
        if path.startswith(self._root + os.sep):
            return path[len(self._root) + 1 :].replace(os.sep, "/")
        return relative_record_path(Path(path), Path(self._root))

    def _write_record(self) -> None:
        record = os.path.join(self._root, self._tree.dist_info, "RECORD")
        # a wheel may place two members at one path (pkg/x.py and .data/purelib/pkg/x.py): the last one written is
        # the file, so its row is the one kept (pip keeps both, and a check of the first would call the file modified)
        last = {row[0]: row for row in self._records}
        rows = [*last.values(), (self._record_path(record), "", "")]
        self._emit(record, record_text(rows).encode("utf-8"), executable=False)

    def _emit(self, destination: str, data: bytes, *, executable: bool) -> None:
        """A file of this venv: linked from the cache's shared copy, else written."""
        shared = self._shared.path(data, executable=executable) if self._shared is not None else None
        if shared is not None and _hardlink(shared, destination):
            return
        with _replacing(destination) as temporary:  # a RECORD cut off half written would pass for a whole one
            Path(temporary).write_bytes(data)
            if executable:
                os.chmod(temporary, 0o755)


def record_text(rows: Sequence[tuple[str, str, str]]) -> str:
    """A RECORD file's text: what ``csv.writer`` writes (joined directly, 9x faster, when no field needs quoting)."""
    text = "".join(f"{path},{digest},{size}\n" for path, digest, size in rows)
    if text.count(",") == 2 * len(rows) and text.count("\n") == len(rows) and '"' not in text and "\r" not in text:
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


#: Linux's ``FICLONE`` ioctl (``_IOW(0x94, 9, int)`` in linux/fs.h): a new file sharing another's blocks until
#: either is written (btrfs, XFS, bcachefs; other filesystems refuse it, and other systems do not have it)
_FICLONE = 0x40049409
_CAN_CLONE = sys.platform.startswith("linux")


def _clone(source: str, destination: str) -> bool:
    """Make ``destination`` a copy-on-write clone of ``source``; ``False`` (and an empty file) where it cannot be."""
    with open(source, "rb") as original, open(destination, "wb") as clone:
        try:
            fcntl.ioctl(clone.fileno(), _FICLONE, original.fileno())
        except OSError:
            return False  # ext4, tmpfs, another filesystem: the caller copies the bytes over the empty file
    return True


def _hardlink(source: str, destination: str) -> bool:
    try:
        os.link(source, destination)
    except FileExistsError:  # a file another wheel placed, or an interrupted apply left: replaced in one step
        try:
            if os.path.samefile(source, destination):
                return True  # that very file already (rename(2) of one link over another of it does nothing)
            with _replacing(destination) as temporary:
                os.link(source, temporary)
        except OSError:
            return False
    except OSError:
        return False  # another filesystem, or links not allowed: copy instead
    return True


#: the end of the temporary name a file gets before it is renamed over the one it replaces
TEMPORARY_SUFFIX = ".venvsync-tmp"


@contextlib.contextmanager
def _replacing(destination: str) -> Iterator[str]:
    """A temporary name beside ``destination`` for the block to make its new file at; renamed over it after.

    A file that is replaced is never missing: a kill between an unlink and a new link left a file another
    distribution owns missing while the next sync found the venv in sync. A temporary left by a kill
    carries :data:`TEMPORARY_SUFFIX` (removed by :func:`clear_half_placed`).
    """
    # a short name of its own, not the destination's plus a suffix: that could pass the file system's limit (255)
    temporary = os.path.join(
        os.path.dirname(destination), f".{os.getpid()}.{threading.get_native_id()}{TEMPORARY_SUFFIX}"
    )
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # this process and thread's, from a run that was killed
        yield temporary
        os.replace(temporary, destination)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        # the file is what to name; a write's error (a full disk's, from a file object) names none
        if isinstance(exc, OSError) and (
            temporary in (exc.filename, exc.filename2) or (exc.filename is None and exc.errno is not None)
        ):
            raise OSError(exc.errno, exc.strerror, destination) from exc
        raise


#: a console or GUI script's code: ``installer.scripts._SCRIPT_TEMPLATE`` (a test checks that the scripts agree)
_SCRIPT = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func_path}())
"""
#: the longest ``#!`` line (with its newline) written as it is; longer ones go through ``/bin/sh``
_SHEBANG_MAX = 127
#: the bytes that end the interpreter's path in a ``#!`` line (space, tab and newline, as Linux reads it)
_CUT_BY_KERNEL = frozenset(b" \t\n")


def _script(module: str, attr: str, interpreter: str) -> bytes:
    """The POSIX script for an entry point: what ``installer.scripts.Script.generate(interpreter, "posix")`` writes.

    Written here because importing pypa/installer (its package loads ``email.policy`` and its writers) took
    11-20 ms of every sync that installs a console script, for a template and a shebang line.
    """
    code = _SCRIPT.format(module=module, import_name=attr.partition(".")[0], func_path=attr)
    return _shebang_line(interpreter) + b"\n" + code.encode("utf-8")


def _shebang_line(interpreter: str) -> bytes:
    """``#!<interpreter>``; for a path the kernel would cut or that is too long for it, lines that make /bin/sh run it.

    The kernel ends the interpreter's path at a space or a tab, and the line at a newline: pypa/installer, pip and
    uv go through /bin/sh for a space only, and their scripts in a venv whose path holds a tab or a newline fail.
    """
    executable = interpreter.encode("utf-8")
    if not _CUT_BY_KERNEL.intersection(executable) and len(executable) + 3 <= _SHEBANG_MAX:
        return b"#!" + executable
    import shlex  # noqa: PLC0415  # only for such paths

    # installer's and distlib's way: lines /bin/sh runs and Python reads as a string
    return b"#!/bin/sh\n'''exec' " + shlex.quote(interpreter).encode("utf-8") + b' "$0" "$@"\n' + b"' '''"


def _shebang(path: Path, interpreter: str) -> bytes:
    """A ``.data/scripts`` file whose first line starts ``#!python``, with that whole line made the venv's.

    The whole line, as pip and pypa/installer replace it (``#!python3.11``, or a carriage return at its end, names
    no interpreter of the venv); through /bin/sh where the path needs it, as for console scripts (and uv).
    """
    data = path.read_bytes()
    if not data.startswith(b"#!python"):
        return data
    _, _, rest = data.partition(b"\n")
    return _shebang_line(interpreter) + b"\n" + rest
