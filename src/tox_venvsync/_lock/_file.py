"""The lockfile's bytes, one sentence for every problem (its own module: a remembered plan needs no TOML reader)."""

from __future__ import annotations

import contextlib
import errno
import re
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tox_venvsync._errors import LockFileError, named

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

#: the bytes the files of a lock read as for the rest of one sync (see :func:`pinned`)
_pinned: ContextVar[Mapping[Path, bytes]] = ContextVar("pinned_lock_files", default=MappingProxyType({}))


@contextlib.contextmanager
def pinned(files: Mapping[Path, bytes]) -> Iterator[None]:
    """Within the block, :func:`lock_bytes` gives these bytes for these files (in this thread).

    One sync reads its lock and the ``pyproject.toml`` beside it several times: for the fingerprint, the
    remembered selection's key and the reader. A file rewritten in between (a ``git checkout``, an editor)
    would have the state and the memo record one version with another's selection; pinned, every reader of
    the sync sees the bytes the fingerprint was taken of.
    """
    token = _pinned.set(MappingProxyType(dict(files)))
    try:
        yield
    finally:
        _pinned.reset(token)


def file_bytes(path: Path) -> bytes | None:
    """A file's bytes as the sync pinned them, else as they are now; ``None`` when it is missing or unreadable."""
    if (data := _pinned.get().get(path)) is not None:
        return data
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def project_file(lock: Path, lock_format: str | None) -> Path:
    """The project's ``pyproject.toml`` for ``lock``: the one beside it, as every tool writes its lock there.

    A ``pdm.lock`` may live elsewhere (``pdm lock -L locks/ci.lock``): PDM's project is then the directory of
    the nearest ``pyproject.toml`` above it, as PDM finds its project, and its relative paths start there.
    """
    beside = lock.parent / "pyproject.toml"
    if lock_format != "pdm" or beside.is_file():
        return beside
    return next(
        (parent / "pyproject.toml" for parent in lock.parent.parents if (parent / "pyproject.toml").is_file()), beside
    )


def project_name(pyproject: Mapping[str, Any]) -> str | None:
    """The ``[project] name`` of a parsed ``pyproject.toml``, as written; ``None`` where it names none.

    A virtual workspace root has no ``[project]``; a table or a name of another type names none either.
    """
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


def missing() -> str:
    """What a missing lockfile is told with, wherever it is found missing."""
    return f"the lockfile does not exist; create it or set {named('lock_file')} to the right path"


def lock_bytes(path: Path) -> bytes:
    """A lockfile's bytes (as pinned for the sync, see :func:`pinned`); every problem names the file and what to do."""
    if (data := _pinned.get().get(path)) is not None:
        return data
    try:
        if path.exists() and not path.is_file() and not path.is_dir():  # a device or a pipe is read for ever
            reason = f"is not a regular file (a device or a pipe); set {named('lock_file')} to a lockfile"
            raise LockFileError(path, reason)
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise LockFileError(path, missing()) from exc
    except IsADirectoryError as exc:
        raise LockFileError(path, f"is a directory, not a lockfile; set {named('lock_file')} to a file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # links that lead to each other, not a matter of permissions
            reason = f"is a loop of symbolic links ({exc.strerror}); set {named('lock_file')} to the lockfile itself"
            raise LockFileError(path, reason) from exc
        raise LockFileError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc


#: a workspace member's or path dependency's tree in a uv.lock, as uv writes it: ``source = { editable = "libs/a" }``
#: (compiled where first used: only a workspace's lock has such lines, and compiling it was 0.08 ms of every run)
_LOCAL_TREE = rb'^source = \{ (?:editable|virtual|directory) = "([^"]+)" \}$'


def member_projects(lock: Path, data: bytes) -> list[Path]:
    """The ``pyproject.toml`` of each local project a uv workspace's lock names, besides the one at the lock.

    Read from the lock's text without parsing it (a fingerprint asks on every run): a lock without a
    ``[manifest]`` member list (no workspace) has none.
    """
    first = data.find(b"\n[[package]]\n")  # uv writes [manifest] above the packages
    if data.find(b"\n[manifest]\n", 0, len(data) if first < 0 else first) < 0:
        return []
    paths = {m.decode("utf-8", "replace") for m in re.findall(_LOCAL_TREE, data, re.MULTILINE)}
    return [lock.parent / path / "pyproject.toml" for path in sorted(paths) if path.strip("/") not in {"", "."}]


def member_digests(lock: Path, data: bytes) -> list[str]:
    """``path=sha256`` of each file :func:`member_projects` names (``path=`` when it is missing)."""
    import hashlib  # noqa: PLC0415  # only for a workspace's lock

    digests = []
    for project in member_projects(lock, data):
        found = file_bytes(project)
        digests.append(f"{project}={'' if found is None else hashlib.sha256(found).hexdigest()}")
    return digests


def resolved(lock: Path, path: Path, context: str, fix: str) -> Path:
    """``path`` (one the lock names) with its links resolved, or one sentence naming ``context`` when it cannot be.

    A NUL character in the value (``ValueError``) or a loop of links on the way (``RuntimeError`` before Python
    3.13, ``OSError`` since) ended in a traceback. ``fix``: the format's advice, after the reason.
    """
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise LockFileError(lock, f"{str(path)!r} is not a usable path ({exc}); {fix}", context=context) from exc
