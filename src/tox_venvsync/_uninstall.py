"""Uninstall: remove what a RECORD lists, but the venv's own files and those another distribution's RECORD lists."""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._atomic import remove_tree
from tox_venvsync._errors import not_writable
from tox_venvsync._installed import MADE_WITH_THE_VENV

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from collections.abc import Set as AbstractSet

    from tox_venvsync._installed import InstalledDist


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


#: what the venv itself keeps in its scripts directory (bin/): its interpreter links and activation scripts; a
#: free-threaded Python's venv is made around python3.13t (python and python3 link to it), PyPy's around pypy3.10,
#: and Python 3.14's venv adds 𝜋thon
_VENV_SCRIPTS = re.compile(
    r"(python|pypy)(\d+(\.\d+)?)?t?w?|\U0001d70bthon|activate(\.\w+|_this\.py)?|Activate\.ps1|deactivate"
)
