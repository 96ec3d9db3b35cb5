"""State: the fingerprint of a finished sync, written last, so the next run with the same inputs does nothing."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import packaging

from tox_venvsync import __version__
from tox_venvsync._atomic import write_atomic
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tox_venvsync._lock import Request
    from tox_venvsync._target import Target

#: the mode of the venv's own records (state, journal), as its other files have it: a sync's temporary file is 0600,
#: and a venv made by root (an image's build stage) kept its state from the user who runs it (the no-op check then
#: planned the whole sync, twice as slow); a venv made under umask 077 stays private through its 0700 directories
READABLE = 0o644


@frozen
class Inputs:
    """Everything a sync's outcome depends on besides the venv's contents."""

    lock_bytes: bytes
    lock_path: str
    #: the ``pyproject.toml`` beside the lock (uv's default groups and pdm's and Poetry's groups are read there)
    project_bytes: bytes | None = None
    lock_format: str
    request: Request
    target: Target
    extra: Sequence[str] = ()
    exact: bool = True
    #: where a requirements file's relative paths started, when not at its own directory
    paths_from: str | None = None

    def fingerprint(self) -> str:
        """A digest of the inputs and this engine's version."""
        described: dict[str, object] = {
            "engine": engine(),
            "lock": hashlib.sha256(self.lock_bytes).hexdigest(),
            "lock_path": self.lock_path,
            "pyproject": None if self.project_bytes is None else hashlib.sha256(self.project_bytes).hexdigest(),
            "lock_format": self.lock_format,
            "extras": sorted(self.request.extras),
            "groups": sorted(self.request.groups),
            "default_groups": self.request.default_groups,
            "interpreter": [self.target.executable, self.target.python_full_version, self.target.tag_strings[:1]],
            "extra": list(self.extra),
            "exact": self.exact,
        }
        described |= self.request.options()  # only the options set: earlier states stay valid
        if self.paths_from is not None:
            described["paths_from"] = self.paths_from
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def engine() -> str:
    """The build running, as the fingerprint names it: its version, its modules' digest, ``packaging``'s version.

    The version alone does not tell builds apart: every build between two releases (an install from git) says
    the same, and a venv that an older build synced was taken as in sync by a newer one that installs otherwise
    (found by QA). Two installs of one wheel give the same digest (see :func:`modules_digest`), so a venv made in
    an image's build stage is still found in sync by the runtime's tox. An upgrade of ``packaging`` (a new
    platform tag, a marker compared otherwise) can change what a lock selects, so it is another engine too.
    """
    return f"{__version__}+{_own_modules_digest()}+packaging-{packaging.__version__}"


@functools.cache
def _own_modules_digest() -> str:
    return modules_digest(Path(__file__).parent)  # once a process: about 0.3 ms


#: a module's row in a ``RECORD``: its path and hash (the size follows)
_MODULE_ROW = re.compile(r"^([^,\r\n]+\.py,[^,\r\n]*)", re.MULTILINE)


def modules_digest(package: Path) -> str:
    """A digest of ``package``'s modules: their hashes in the ``RECORD`` of its install, else their sizes and mtimes.

    pip and uv copy each module's hash from the wheel into the ``RECORD`` they write beside the package, so it is
    the same wherever that wheel is installed (the console script's row, which names the interpreter, is left
    out). A package run from its source tree (an editable install) has no such rows: each module's size and
    modification time stand in, so that an edit counts as another build.
    """
    rows = _recorded_modules(package) or [
        f"{os.path.relpath(path, package)},{stat.st_size},{stat.st_mtime_ns}"
        for path in _modules(package)
        for stat in (os.stat(path),)  # noqa: PTH116  # the paths are strings from os.walk
    ]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def _recorded_modules(package: Path) -> list[str]:
    """The ``path,hash`` of each module of ``package`` in the ``RECORD`` of its install; empty without one."""
    record = package.parent / f"{package.name}-{__version__}.dist-info" / "RECORD"
    try:
        text = record.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return sorted(row for row in _MODULE_ROW.findall(text) if row.startswith(f"{package.name}/"))


def _modules(package: Path) -> list[str]:
    """Every module file below ``package``, sorted."""
    found: list[str] = []
    for directory, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.extend(os.path.join(directory, name) for name in files if name.endswith(".py"))  # noqa: PTH118
    return sorted(found)


#: in the venv: where the last sync linked modules from, for the bytecode harvest (see ``_bytecode``); here so
#: that a tox run asks whether it is there without loading the harvest's module (about 0.5 ms) to learn its name
BYTECODE_PENDING = ".venvsync/bytecode.json"


class State:
    """The state file of a venv: the fingerprint and the ``.dist-info`` names a finished sync left."""

    def __init__(self, venv: Path) -> None:
        self._file = venv / ".venvsync" / "state.json"

    def _read(self) -> dict[str, Any]:
        """The state file's content; empty when it is missing, unreadable or not an object."""
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def is_current(self, fingerprint: str, dist_infos: list[str]) -> bool:
        """Whether the last finished sync had these inputs and left what the venv holds, trees unchanged."""
        data = self._read()
        if data.get("fingerprint") != fingerprint or data.get("dists") != dist_infos:
            return False
        trees = data.get("trees") or {}
        return isinstance(trees, dict) and all(tree_signature(Path(p)) == s for p, s in trees.items())

    def clear(self) -> None:
        """Forget the state before changing the venv: an interrupted sync is never taken as in sync."""
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # none there (``.venvsync`` may be a file)
            self._file.unlink()

    def deps_names(self, deps_key: str, line_digests: Sequence[str] = ()) -> frozenset[str]:
        """What tox's deps installed at the last finished sync, if the deps are the same or only had lines added.

        As tox's own pip installer: deps only added to are installed on top, and what the earlier ones installed
        stays; once a line is gone, what they installed goes and pip installs what stays listed again (tox's runner
        recreates the environment). ``line_digests``: a digest of each line of the deps now.
        """
        try:
            key, names, *rest = self._read()["deps"]
            earlier = set(rest[0]) if rest else None  # a state of an earlier release: no lines, only the key
            kept = frozenset(str(n) for n in names)
        except (KeyError, TypeError, ValueError):
            return frozenset()
        if key == deps_key or (earlier is not None and earlier <= set(line_digests)):
            return kept
        return frozenset()

    def project_names(self) -> frozenset[str]:
        """The names of the project's wheels (tox's ``package``) that the last finished sync installed or kept."""
        names = self._read().get("project")
        return frozenset(str(n) for n in names) if isinstance(names, list) else frozenset()

    def bytecode_compiled(self) -> bool:
        """Whether the bytecode was compiled after the last finished sync (:meth:`mark_bytecode_compiled`)."""
        return self._read().get("bytecode") is True

    def mark_bytecode_compiled(self) -> None:
        """Record that the venv's bytecode was compiled; the next sync that changes the venv forgets it."""
        if data := self._read():
            with contextlib.suppress(OSError):  # not recorded: the next run compiles again, nothing worse
                write_atomic(self._file, json.dumps(data | {"bytecode": True}), mode=READABLE)

    def write(
        self,
        fingerprint: str,
        dist_infos: list[str],
        *,
        trees: Mapping[str, str] | None = None,
        deps: tuple[str, list[str], list[str]] | None = None,
        project: Sequence[str] = (),
    ) -> None:
        """Record a finished sync (the last write of a sync); ``project``: the names of the project's wheels."""
        document: dict[str, object] = {"fingerprint": fingerprint, "dists": dist_infos, "trees": dict(trees or {})}
        if deps is not None and deps[1]:
            document["deps"] = [deps[0], deps[1], deps[2]]
        if project:
            document["project"] = sorted(project)
        write_atomic(self._file, json.dumps(document), mode=READABLE)


#: in the venv: the path it was first synced at (see :func:`moved_from`); kept across syncs, gone with the venv
MADE_AT = ".venvsync/made-at"


def remember_place(venv: Path) -> None:
    """Record where the venv is, once: at its first sync here (made, or adopted), never after."""
    marker = venv / MADE_AT
    if not marker.exists():
        with contextlib.suppress(OSError):  # not recorded: a later copy is not told, nothing worse
            write_atomic(marker, str(venv), mode=READABLE)


def moved_from(venv: Path) -> str | None:
    """The path the venv was first synced at when that is another directory (it was copied or moved), else ``None``.

    A copy (``cp -a``, a restored archive or CI cache) at another path keeps its files, its state and its RECORDs,
    so a sync finds it in sync, as uv does; yet its entry-point scripts start the old path's ``bin/python`` and its
    ``activate`` sets the old path (``venvsync verify`` reports the scripts as ``moved``). Found by QA.
    """
    try:
        recorded = (venv / MADE_AT).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not recorded or recorded == str(venv):
        return None
    with contextlib.suppress(OSError, ValueError):
        if Path(recorded).samefile(venv):  # the same directory by another name (a linked parent)
            return None
    return recorded


def moved_warning(venv: Path, moved: str, remedy: str) -> str:
    """The warning for a venv :func:`moved_from` ``moved``: what stays wrong in it, and ``remedy``."""
    return (
        f"{venv} was made at {moved} and copied or moved here since: its scripts still start {moved}/bin/python and "
        f"its activate sets that path, which a sync does not rewrite (nor does uv's); {remedy}"
    )


#: directories that hold tool state or bytecode, not sources, wherever they are
_NOT_SOURCES = frozenset({"__pycache__", ".git", ".hg", ".tox", ".venv", ".nox", ".mypy_cache"})
#: directories of build output at the top of a tree (a package of that name deeper down is a source)
_BUILD_OUTPUT = frozenset({"build", "dist"})


def tree_signature(root: Path) -> str:
    """A digest of every source file's path, size and mtime under ``root``: changes when the tree is edited."""
    return signature_of(tree_listing(root))


def signature_of(listing: Mapping[str, tuple[int, int]]) -> str:
    """The digest of a :func:`tree_listing`."""
    digest = hashlib.sha256()
    for path, (size, mtime) in listing.items():
        digest.update(f"{path}:{size}:{mtime}\n".encode())
    return digest.hexdigest()


def tree_listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every source file under ``root``: its path (``dir/name``, ``./name`` at the top) to its size and mtime.

    Directory links are followed (a package linked into the tree is part of it), each real directory once.
    """
    listing: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for directory, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a link back up the tree, or a second link to one directory
            dirs[:] = []
            continue
        seen.add(real)
        top = directory == str(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _NOT_SOURCES and not d.endswith(".egg-info") and not (top and d in _BUILD_OUTPUT)
        )
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(directory, name))  # noqa: PTH116, PTH118  # the cheap calls, on purpose
            except OSError:
                continue
            listing[f"{os.path.relpath(directory, root)}/{name}"] = (stat.st_size, stat.st_mtime_ns)
    return listing
