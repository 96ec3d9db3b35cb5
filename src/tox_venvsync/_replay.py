"""Replay: a placement into a new venv, remembered per lock, interpreter and place, made again by mkdir and link.

A venv created empty and filled from the cache's trees (a warm create, ``tox -r``) costs ~70-90 ms of Python
above its ``mkdir`` and ``link`` calls: loading each tree's manifest, checking it, working out each directory's
place, writing RECORD and the other generated files. The first such placement is recorded as it happens (the
directories it made, each file it linked and from where); the next one with the same key makes the same
directories and links the same files, in one flat loop. The key holds everything the placement depended on: the
engine's build, the interpreter's facts and scheme, the venv's path (shebangs and RECORD name it), the cache, and
for each tree its place, its manifest's and bytecode list's identity (a tree unpacked again, or given more
bytecode, is another key) and the metadata written beside it.

The memo is a file in the cache, read as untrusted input: every path in it is checked to stay in the venv (or to
come from the cache's trees and shared files) before anything is made; a directory it makes must not exist (an
exclusive ``mkdir``), one it relies on must be a directory inside the venv. A replay that fails half way (a tree's
file gone, a file in the way, another file system) removes exactly what it made and says so: the sync then places
the trees the usual way. RECORDs come last, so the journal's trees tell a later sync what a cut-off replay left
(see ``_journal.clear_half_placed``), as for a placement.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
from typing import TYPE_CHECKING

from tox_venvsync._atomic import write_atomic
from tox_venvsync._bytecode import _LIST as _BYTECODE_LIST
from tox_venvsync._placeable import _leads_inside
from tox_venvsync._unpacked import _MANIFEST

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from tox_venvsync._cache import Cache
    from tox_venvsync._target import Target

#: the memo's own format: a memo of another is ignored (and written again)
_FORMAT = 1
#: the top directories of the cache a replay links from: the unpacked trees and the shared generated files
_SOURCES = ("unpacked", "files")


def memo_path(cache: Cache, venv: Path) -> Path:
    """Where the placement memo of the venv at ``venv`` is kept: one a venv, so memos do not pile up."""
    return cache.root / "placements" / f"{hashlib.sha256(os.fsencode(venv)).hexdigest()[:32]}.json"


def placement_key(
    target: Target, cache: Cache, venv: Path, installs: Sequence[tuple[str, str, str, bytes]], tag: str | None
) -> str | None:
    """The digest of everything a placement of ``installs`` into the new venv depends on; ``None`` if a tree is missing.

    ``installs``: ``(name, version, tree root, metadata)`` for each install of the plan, in its order, where
    metadata is the bytes of what is written beside the tree's ``.dist-info`` (INSTALLER, direct_url.json...).
    """
    from tox_venvsync._state import engine  # noqa: PLC0415  # loaded by every sync already

    described: list[object] = [_FORMAT, engine(), str(venv), str(cache.root), tag, target.to_json()]
    for name, version, root, metadata in installs:
        manifest = _identity(os.path.join(root, _MANIFEST))
        if manifest is None:
            return None
        listing = _identity(os.path.join(root, _BYTECODE_LIST.format(tag=tag))) if tag is not None else None
        described.append([name, version, root, manifest, listing, hashlib.sha256(metadata).hexdigest()])
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _identity(path: str) -> list[int] | None:
    """What changes when the file at ``path`` is written again: its inode, size, mode and times."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_dev, found.st_ino, found.st_size, found.st_mode, found.st_mtime_ns, found.st_ctime_ns]


class Recorder:
    """What a placement into a new venv did, as it does it: the directories it made and the files it linked.

    Shared by the linking threads (each call appends to a list: safe under the GIL). ``spoiled`` once anything
    was placed otherwise (a copy, a file written): such a placement is not remembered.
    """

    def __init__(self) -> None:
        self.made: list[str] = []
        #: ``(source, destination, size, mode)``; size and mode ``-1`` for a file of a tree, linked under its own name
        self.linked: list[tuple[str, str, int, int]] = []
        self.spoiled = False

    def makedirs(self, directory: str) -> None:
        """``os.makedirs(directory, exist_ok=True)``, noting each directory it made (this thread's ``mkdir`` did)."""
        try:
            os.mkdir(directory)
        except FileNotFoundError:
            parent = os.path.dirname(directory)
            if parent == directory:
                raise
            self.makedirs(parent)
            self.makedirs(directory)  # its parent is there now
            return
        except FileExistsError:
            if os.path.isdir(directory):  # made before, or by the other linking thread just now
                return
            raise  # a file stands there, as os.makedirs raises it
        self.made.append(directory)

    def link(self, source: str, destination: str) -> None:
        """Note that ``destination`` was made a hard link to ``source``, a file of a tree of the same name."""
        self.linked.append((source, destination, -1, -1))

    def link_shared(self, source: str, destination: str, size: int, *, executable: bool) -> None:
        """Note that ``destination`` was made a hard link to ``source``, a shared generated file of ``size`` bytes."""
        self.linked.append((source, destination, size, 0o755 if executable else 0o644))

    def spoil(self) -> None:
        """Note that a file was placed otherwise than by a link."""
        self.spoiled = True

    def memo(self, key: str, venv: Path, cache: Cache, sources: Iterable[tuple[str, str, str]]) -> dict[str, object]:
        """The memo of what was recorded, paths relative to the venv and the cache; empty if it cannot be made."""
        if self.spoiled:
            return {}
        into, root = os.path.join(str(venv), ""), os.path.join(str(cache.root), "")
        skip_into, skip_root = len(into), len(root)
        last = {row[1]: row for row in self.linked}  # a file placed twice: the later one wins, as in the venv
        made = sorted({d[skip_into:] for d in self.made if d.startswith(into)})
        groups: dict[tuple[str, str], list[str]] = {}
        shared: list[list[object]] = []
        records: list[list[object]] = []
        for source, destination, size, mode in last.values():
            if not (destination.startswith(into) and source.startswith(root)):
                return {}
            folder, _, name = destination[skip_into:].rpartition("/")
            if size < 0:  # a tree's file, linked under its own name
                source_dir, _, source_name = source[skip_root:].rpartition("/")
                if source_name != name:
                    return {}
                groups.setdefault((source_dir, folder), []).append(name)
                continue
            row = [source[skip_root:], destination[skip_into:], size, mode]  # checked again before a replay links it
            (records if name == "RECORD" and folder.endswith(".dist-info") else shared).append(row)
        return {
            "format": _FORMAT,
            "key": key,
            "made": made,
            "links": [[src, dest, names] for (src, dest), names in groups.items()],
            "shared": shared,
            "records": records,
            "sources": [[_relative(d, into), _relative(t, root), r] for d, t, r in sorted(sources)],
        }


def _relative(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else "/"  # "/" fails the memo's check: never replayed


def remember(memo: Mapping[str, object], cache: Cache, venv: Path) -> None:
    """Keep ``memo`` as the memo of the venv at ``venv``; a cache that cannot be written only keeps no memo.

    Written in the process's work directory of the cache and renamed into place: one killed while writing it
    (megabytes, for thousands of packages) left the temporary file in ``placements/`` for good (found by QA);
    a dead process's work directory is removed by the next (see :meth:`Cache.tmp_dir`).

    An empty ``memo`` (a placement that copied or wrote a file) removes the one kept there: it is of other
    inputs, or of these and its replay just failed (the venv on another filesystem now, a tree's file at its
    filesystem's limit of links). Kept, it was made again up to the link that failed, undone and placed from the
    trees on every recreate of the venv (found by QA).
    """
    path = memo_path(cache, venv)
    with contextlib.suppress(OSError):
        if memo:
            write_atomic(path, json.dumps(memo, separators=(",", ":")), scratch=cache.tmp_dir())
            _forget_unused(path.parent)
        elif os.path.exists(path):  # a cache that is not written to (read-only) is only looked at
            path.unlink()


#: the memos kept: the most recently written or replayed (see :func:`_forget_unused`)
_KEPT = 256


def _forget_unused(directory: Path) -> None:
    """Remove the memos of ``directory`` but the :data:`_KEPT` most recently written or replayed.

    A memo is one venv path's, used only when a venv is made there again: CI jobs and scripts that sync into a new
    temporary path each run left one for each (674 KB for 500 small packages, megabytes for real ones), and
    nothing ever removed them (found by QA). Run after a memo is written, never on the way of a replay.
    """
    kept: list[tuple[int, str]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".json"):
                with contextlib.suppress(OSError):  # removed meanwhile by another process doing the same
                    kept.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
    for _, path in sorted(kept, reverse=True)[_KEPT:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


class Replay:
    """A memo found for the key and checked: what to make, what to link from where, and the bytecode note."""

    def __init__(self, data: Mapping[str, object], venv: Path, cache: Cache) -> None:
        """``data``: a memo that passed :func:`_checked` (a :class:`ValueError` otherwise)."""
        self._venv = str(venv)
        self._into = os.path.join(self._venv, "")
        self._root = os.path.join(str(cache.root), "")
        made, links, shared, records, sources, relied = _checked(data)
        self._made = made
        self._links = links
        self._shared = shared
        self._records = records
        self._relied = relied
        self.sources = {(self._into + d if d else self._venv, self._root + t, r) for d, t, r in sources}

    def run(self) -> bool:
        """Make the remembered placement; ``False`` (with nothing of it left) when it could not be made whole."""
        if not self._can_start():
            return False
        made: list[str] = []
        linked: list[str] = []
        into, root = self._into, self._root
        try:
            for directory in self._made:
                os.mkdir(into + directory)  # exclusive: whatever stands there (a link of the user's) stops it
                made.append(into + directory)
            for source, destination, names in self._links:
                source_dir, destination_dir = f"{root}{source}/", f"{into}{destination}/" if destination else into
                for name in names:
                    os.link(source_dir + name, destination_dir + name)
                    linked.append(destination_dir + name)
            for rows in (self._shared, self._records):  # each RECORD last: it marks its distribution placed
                for source, destination, size, mode in rows:
                    _unchanged(root + source, size, mode)
                    os.link(root + source, into + destination)
                    linked.append(into + destination)
        except BaseException as exc:
            _undo(linked, made)
            if not isinstance(exc, OSError):
                raise
            return False
        return True

    def _can_start(self) -> bool:
        """Whether every directory the memo places into without making it is a directory inside the venv."""
        real_venv = os.path.realpath(self._venv)
        return all(
            os.path.isdir(path) and _leads_inside(path, real_venv)
            for path in (self._into + d if d else self._venv for d in self._relied)
        )


def _unchanged(shared: str, size: int, mode: int) -> None:
    """Refuse a shared file whose size or mode changed (edited through a venv's link): a placement writes it again."""
    found = os.stat(shared)
    if found.st_size != size or stat.S_IMODE(found.st_mode) != mode:
        raise FileNotFoundError(errno.ENOENT, "changed since it was remembered", shared)


def _undo(linked: Sequence[str], made: Sequence[str]) -> None:
    """Remove what a replay made (its links, then its directories, deepest first); nothing else is touched."""
    for path in reversed(linked):
        with contextlib.suppress(OSError):
            os.unlink(path)
    for directory in reversed(made):
        with contextlib.suppress(OSError):
            os.rmdir(directory)  # only if empty: a file somebody else put there stays, and so does its directory


def found(cache: Cache, venv: Path, key: str) -> Replay | None:
    """The replay of the memo kept for ``venv`` if it is for ``key`` and passes its checks, else ``None``."""
    path = memo_path(cache, venv)
    try:
        with path.open("rb") as file:
            data = json.loads(file.read())
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("key") != key:
            return None
        replay = Replay(data, venv, cache)
    except (OSError, ValueError, TypeError, KeyError, RecursionError):  # RecursionError: JSON nested too deeply
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used: among the last to be forgotten (see _forget_unused)
    return replay


_Rows = list[tuple[str, str, int, int]]


def _checked(
    data: Mapping[str, object],
) -> tuple[list[str], list[tuple[str, str, list[str]]], _Rows, _Rows, list[tuple[str, str, str]], list[str]]:
    """The memo's parts, every path checked: the venv's side stays in the venv, the cache's in its trees and files.

    A path is relative, without ``.``, ``..`` or empty parts; a name is one part. Every directory made has its
    parent made before it or relied on, and so does every file linked: a relied-on directory is checked to be a
    directory inside the venv before the replay starts (:meth:`Replay._can_start`), a made one is new (an
    exclusive ``mkdir``), so no file lands outside the venv, even through a link planted there. Raises
    :class:`ValueError` (or :class:`TypeError`, :class:`KeyError`) for a memo that does not pass.
    """
    made = [_path(d) for d in _list(data["made"])]
    places = set(made)
    if len(places) != len(made) or made != sorted(made):
        raise ValueError(made)
    links = [(_path(s, cache=True), _path(d, empty=True), _names(names)) for s, d, names in _rows(data["links"], 3)]
    shared = [_row(row) for row in _rows(data["shared"], 4)]
    records = [_row(row) for row in _rows(data["records"], 4)]
    sources = [
        (_path(d, empty=True), _path(t, cache=True), _path(r, empty=True)) for d, t, r in _rows(data["sources"], 3)
    ]
    parents = {os.path.dirname(d) for d in made} | {d for _, d, _ in links}
    parents |= {os.path.dirname(d) for _, d, _, _ in (*shared, *records)}
    relied = sorted(parents - places)
    return made, links, shared, records, sources, relied


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(value)
    return value


def _rows(value: object, width: int) -> list[list[object]]:
    rows = _list(value)
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise ValueError(row)
    return rows  # type: ignore[return-value]  # each checked to be a list above


def _row(row: list[object]) -> tuple[str, str, int, int]:
    source, destination, size, mode = row
    if not isinstance(size, int) or not isinstance(mode, int):
        raise TypeError(row)
    return _path(source, cache=True), _path(destination), size, mode


def _names(value: object) -> list[str]:
    """``value`` if it is a list of file names, each one part of a path (checked at once: thousands of them)."""
    names = _list(value)
    joined = "".join(names)  # type: ignore[arg-type]  # a TypeError for anything but strings
    if "/" in joined or "\0" in joined or not _NOT_NAMES.isdisjoint(names):
        raise ValueError(value)
    return names  # type: ignore[return-value]  # strings, as the join found


#: what is no file name in a directory
_NOT_NAMES = frozenset({"", ".", ".."})


def _path(value: object, *, cache: bool = False, empty: bool = False) -> str:
    """``value`` if it is a relative path without ``.``, ``..`` or empty parts (from the cache: below its trees)."""
    if not isinstance(value, str) or "\0" in value or "\\" in value:
        raise ValueError(value)
    if not value and empty:
        return value
    # an empty part is a "//" between slashes put around the path, and so on: one scan each, not a split (a memo
    # holds ~2,000 paths, each checked before a replay)
    around = f"/{value}/"
    if "//" in around or "/./" in around or "/../" in around or (cache and value.partition("/")[0] not in _SOURCES):
        raise ValueError(value)
    return value
