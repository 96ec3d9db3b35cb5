"""Link: install from the cache's unpacked trees, hard-linking or copying each file into the venv's scheme."""

from __future__ import annotations

import base64
import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import os
import shutil
import stat
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tox_venvsync._apply import (
    _NOT_FILE_NAMES,
    WheelInstaller,
    _a_file_in_the_way,
    _leaves_the_venv_its_own,
    _metadata,
    _replacing,
    _script,
    data_script,
    fits_python,
    for_python,
    with_headers_of,
)
from tox_venvsync._atomic import write_atomic
from tox_venvsync._bytecode import cache_tag, compiled, outdated, remember_sources, reproducible
from tox_venvsync._errors import InstallError
from tox_venvsync._placeable import link_out_of
from tox_venvsync._threads import each_in_threads

# the unpacking (``_unpacked``, with ``_verify`` and ``_zip``) is imported where a tree is taken or made: a sync
# that only removes packages does not load it.

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tox_venvsync._cache import Cache
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._replay import Recorder
    from tox_venvsync._target import Target
    from tox_venvsync._unpacked import Entry, UnpackedWheel


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
        # bytecode is shared only through links, and not with a reproducible build (see _bytecode.reproducible)
        self._tag = cache_tag(target) if link and not reproducible() else None
        self._sources: set[tuple[str, str, str]] = set()
        self._real_venv = os.path.realpath(target.prefix)  # resolved once for every placement
        #: notes what the placements do, for a sync into a new venv to remember (see ``_replay``)
        self.recorder: Recorder | None = None
        #: the last plan :meth:`tree_roots` was asked about, and its answer (a sync asks three times)
        self._roots: tuple[Plan, dict[str, str]] | None = None

    def ready(self, wheel: Path, wanted: Wanted) -> bool:
        """Whether the wheel's verified tree is in the cache already (then it is taken, and needs no :meth:`check`).

        Taking a tree is reading one small JSON file: pure Python, which threads would only take turns
        at, so it is done on the caller's thread (the benchmark's 53 trees: 12-16 ms of checks on two
        threads before, 6-9 ms now).
        """
        from tox_venvsync._unpacked import cached_tree  # noqa: PLC0415  # see the imports

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
        from tox_venvsync._unpacked import unpacked  # noqa: PLC0415  # see the imports

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
            raise InstallError(wanted.pick.name, wheel.name, reason, remedied=True)
        return tree

    def tree_roots(self, plan: Plan) -> dict[str, str]:
        """Where the cache keeps the tree each install of ``plan`` is placed from (those from the cache), by name.

        Worked out once per plan (a warm create asks for its key, its replay and its journal: 1.5 ms a time for the
        benchmark's 53 trees); plans are immutable, and the same plan object is the same question.
        """
        if self._roots is not None and self._roots[0] is plan:
            return dict(self._roots[1])
        hashed = {step.name: self._hashed(step.wanted) for step in plan.to_install if step.wanted is not None}
        roots: dict[str, str] = {
            name: str(self._cache.unpacked(*pair)) for name, pair in hashed.items() if pair is not None
        }
        self._roots = (plan, roots)
        return dict(roots)

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
            if self.recorder is not None:
                self.recorder.spoil()  # its manifest is another: the key the recording was for is no more
            self._place(self._unpacked_again(wheel, wanted), wanted)

    def _unpacked_again(self, wheel: Path, wanted: Wanted) -> UnpackedWheel:
        """The wheel's tree, unpacked again where the cache's lacks a file its manifest lists (see :func:`unpacked`)."""
        from tox_venvsync._unpacked import unpacked  # noqa: PLC0415  # see the imports

        hashed = self._hashed(wanted)
        assert hashed is not None  # noqa: S101  # a tree is taken only for a wheel with a hash
        tree = unpacked(self._cache, wheel, *hashed, wanted.pick.name, damaged=True)
        return self._fits(_named_as_locked(tree, wanted, wheel), wanted, wheel)

    def _place(self, tree: UnpackedWheel, wanted: Wanted) -> None:
        shared = _SharedFiles(self._cache) if self._link else None
        placement = _Placement(
            tree, self._target, link=self._link, shared=shared, tag=self._tag, real_venv=self._real_venv
        )
        placement.recorder = self.recorder
        placement.place(_metadata(wanted))
        self._sources.update(placement.sources)  # one call: safe from several linking threads

    @property
    def links(self) -> bool:
        """Whether files are hard-linked from the cache (else copied)."""
        return self._link

    @property
    def tag(self) -> str | None:
        """The interpreter's cache tag when bytecode is shared through the cache (see ``_bytecode``), else ``None``."""
        return self._tag

    @property
    def sources(self) -> set[tuple[str, str, str]]:
        """Where modules without bytecode in the cache were linked from (see :meth:`remember_sources`)."""
        return self._sources

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
            # on an error or Ctrl-C, no other wheel starts, and every wheel under way is placed before this raises
            each_in_threads(lambda item: self.install(*item), trees, workers=_LINK_WORKERS, name="venvsync-link")
        else:
            rest = list(installs)
            if self.recorder is not None and len(trees) != len(installs):
                self.recorder.spoil()  # in the plan's order: a replay installs the trees first (see _sync._replayed)
        for wheel, wanted in rest:
            self.install(wheel, wanted)

    def destinations(self, wheel: Path, wanted: Wanted) -> dict[str, list[str]]:
        """The name of every file :meth:`install` writes, by directory (see :meth:`_Placement.destinations`)."""
        tree = self._trees.get(wanted.pick.name)
        if tree is None:
            return self._wheels.destinations(wheel, wanted)
        return _Placement(tree, self._target, link=self._link, real_venv=self._real_venv).destinations()

    def _disjoint(self, installs: Sequence[tuple[Path, Wanted]]) -> bool:
        """Whether no two of these trees write the same file (or console script), by where in the venv it lands.

        Not by scheme: ``.data/data/lib/python3.X/site-packages/x.py`` (the data scheme is the venv's root) is another
        wheel's ``x.py``, ``.data/data/bin/x`` its ``.data/scripts/x``, and ``lib64/`` is a link to ``lib/``.
        """
        claimed: set[str] = set()
        tops: dict[str, str] = {}
        for wheel, wanted in installs:
            paths = {
                os.path.join(_resolved_top(folder, self._target.prefix, tops), name)
                for folder, names in self.destinations(wheel, wanted).items()
                for name in names
            }
            if not claimed.isdisjoint(paths):
                return False
            claimed |= paths
        return True


def _resolved_top(folder: str, venv: str, tops: dict[str, str]) -> str:
    """``folder`` with its first directory below ``venv`` resolved (``lib64`` leads to ``lib``), each one once."""
    if not folder.startswith(venv + os.sep):
        return folder
    top, separator, rest = folder[len(venv) + 1 :].partition(os.sep)
    if (real := tops.get(top)) is None:
        real = tops[top] = os.path.realpath(os.path.join(venv, top))
    return os.path.join(real, rest) if separator else real


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
        self._cache = cache

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
            write_atomic(path, data, mode=mode, scratch=self._cache.tmp_dir())  # a kill leaves no .tmp in files/
        except OSError:
            return None
        return str(path)

    def linked(self, shared: str, destination: str, data: bytes) -> bool:
        """Whether ``destination`` was made a hard link to the cache's copy ``shared`` of ``data``.

        A copy with as many links as its filesystem allows (``EMLINK``; ext4: 65,000) is put in its place anew, a
        file of its own with the same bytes and mode, and linked: every distribution of every venv on the machine
        links one ``INSTALLER``, and past the limit each venv wrote its own, so no placement was remembered again
        (see ``_replay``) and a memo that links the full one failed each time (found by QA with 65,000 links).
        The venvs linked to the full one keep it. One linking thread puts it anew; the others that found it full
        meanwhile link that new copy: each put its own, and all but the last were left linked to a copy the cache
        no longer held (a flaky test showed it).
        """
        if (failure := _link_failure(shared, destination)) != errno.EMLINK:
            return not failure
        with _RENEWING:
            if (failure := _link_failure(shared, destination)) != errno.EMLINK:  # another thread put it anew
                return not failure
            try:
                mode = stat.S_IMODE(os.stat(shared).st_mode)
                write_atomic(Path(shared), data, mode=mode, scratch=self._cache.tmp_dir())  # no .tmp left in files/
            except OSError:
                return False
            return _hardlink(shared, destination)


#: held while a shared file at its link limit is put anew (see :meth:`_SharedFiles.linked`)
_RENEWING = threading.Lock()


_LIBRARIES = frozenset({"purelib", "platlib"})


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
        #: the console and GUI scripts written, pip's named for this Python (``pip3.12``, see :func:`for_python`)
        self._scripts = for_python(tree.scripts, target.markers["python_version"])
        self._link = link
        self._made: set[str] = set()
        self._checked: dict[str, bool] = {}  # directories looked at (see link_out_of)
        self._real_venv = real_venv or os.path.realpath(target.prefix)
        self._records: list[tuple[str, str, str]] = []
        self._clone = _CAN_CLONE  # until the filesystem refuses one
        #: notes each directory made and file linked, when the placement is to be remembered (see ``_replay``)
        self.recorder: Recorder | None = None

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
        if self._scripts:
            found.setdefault(self._scheme["scripts"], []).extend(name for name, *_ in self._scripts)
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
        for name, module, attr, _ in self._scripts:
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
        for name, module, attr, _ in self._scripts:  # console and GUI scripts alike on POSIX
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
            elif self.recorder is not None:
                self.recorder.link(source + entry.path, destination)
            self._records.append((where.record + name, entry.hash, str(entry.size)))
            if where.modules is not None and name.endswith(".py"):
                self._modules.setdefault(where.modules, set()).add(name[:-3])

    def _directory(self, directory: str) -> _Directory:
        """Where the files of the tree's ``directory`` go (made now), checked to stay inside their scheme."""
        scheme, relative = self._destination(directory + "/") if directory else (self._library, "")
        path = self._inside(scheme, relative + "_")[:-1]  # the directory, with a separator at its end
        if (link := self._links_out(scheme, relative)) is not None:
            reason = f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove the link"
            raise InstallError(self._tree.dist_info, self._source, reason, remedied=True)
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
        paths = compiled(self._tree.root, tag)
        if outdated(self._tree.root, paths, tag):
            return linked  # compiled for sources of other times: its modules are noted, and the harvest replaces them
        for path in paths:
            scheme, relative = self._destination(path)
            if scheme in _LIBRARIES:
                destination = self._inside(scheme, relative)
                self._parent(destination)
                if not _hardlink(source := os.path.join(self._source, path), destination):
                    continue
                if self.recorder is not None:
                    self.recorder.link(source, destination)
                if path.endswith(plain):
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
                if self.recorder is not None:
                    self.recorder.makedirs(parent)
                else:
                    os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _copy_file(self, entry: Entry, destination: str) -> None:
        # copied under a temporary name and renamed: a kill mid-copy leaves no partial file at the destination
        if self.recorder is not None:
            self.recorder.spoil()
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
        from tox_venvsync._unpacked import relative_record_path  # noqa: PLC0415  # see the imports

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
        if shared is not None and self._shared is not None and self._shared.linked(shared, destination, data):
            if self.recorder is not None:
                self.recorder.link_shared(shared, destination, len(data), executable=executable)
            return
        if self.recorder is not None:
            self.recorder.spoil()
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
    return not _link_failure(source, destination)


def _link_failure(source: str, destination: str) -> int:
    """Make ``destination`` a hard link to ``source``: ``0``, else the ``errno`` that stopped it."""
    try:
        os.link(source, destination)
    except FileExistsError:  # a file another wheel placed, or an interrupted apply left: replaced in one step
        try:
            if os.path.samefile(source, destination):
                return 0  # that very file already (rename(2) of one link over another of it does nothing)
            with _replacing(destination) as temporary:
                os.link(source, temporary)
        except OSError as exc:
            return exc.errno or errno.EIO
    except OSError as exc:
        return exc.errno or errno.EIO  # another filesystem, or links not allowed: copy instead
    return 0


def _shebang(path: Path, interpreter: str) -> bytes:
    """The ``.data/scripts`` file at ``path``, its ``#!python`` line made the venv's (see ``data_script``)."""
    return data_script(path.read_bytes(), interpreter)
