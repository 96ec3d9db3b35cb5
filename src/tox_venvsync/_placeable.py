"""Placeable: refuse, before any change, an install that a file in the way, a link out or a long path would stop."""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING

from tox_venvsync._errors import InstallError, InTheWayError, LocationError, not_writable
from tox_venvsync._uninstall import _under

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from tox_venvsync._apply import Installer
    from tox_venvsync._plan import Wanted


def _real(path: str) -> str:
    """``path`` with the links of its directory resolved (``lib64`` is ``lib``), the last part as it is."""
    directory, name = os.path.split(os.path.normpath(path))
    return os.path.join(os.path.realpath(directory), name)


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


def refuse_schemes_linked_out(venv: Path, scheme: Mapping[str, str]) -> None:
    """Refuse a venv where the way to a directory of its scheme (``bin``, ``site-packages``) is a link out of it.

    :func:`link_out_of` looks below each scheme directory; the scheme directory itself and the way to it were not
    looked at: a ``bin/`` or ``site-packages`` linked to a directory outside had a sync's scripts and packages
    written there, hard-linked to the cache's files (found by mutation testing). Asked before anything is fetched
    or changed; a few ``lstat`` calls, once per sync with work.
    """
    root = os.fspath(venv)
    real_venv, checked = os.path.realpath(root), dict[str, bool]()
    for key in sorted(scheme):
        path = os.path.normpath(scheme[key])
        if not _under(path, root):  # the data scheme is the venv itself
            continue
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if (link := link_out_of(root, relative, real_venv, checked)) is not None:
            reason = f"{link} is a link to {os.path.realpath(link)}, outside it; remove the link and sync again"
            raise LocationError(venv, reason)


def _leads_inside(path: str, real_venv: str) -> bool:
    """Whether ``path``, its links followed, is inside the venv whose real path is ``real_venv``."""
    real = os.path.realpath(path)
    return real == real_venv or _under(real, real_venv)


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
        raise InstallError(wanted.pick.name, wheel.name, too_long[1], remedied=True)
    if (found := _in_the_way(owners, removed, _LinksOut(venv))) is not None:
        index, reason, standing = found
        wheel, wanted = installs[index]
        # a file or directory standing in the way is the venv's state (exit 1, as met at placement); a link out of
        # the venv is refused as a cached tree's is when it is taken (exit 2)
        if standing:
            raise InTheWayError(wanted.pick.name, wheel.name, reason)
        raise InstallError(wanted.pick.name, wheel.name, reason, remedied=True)  # a link out: "remove the link"


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
