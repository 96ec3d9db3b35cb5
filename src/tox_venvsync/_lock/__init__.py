"""Lock: read a lockfile into the common model, one reader per format."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from tox_venvsync._errors import BadInputError, LockFileError, named
from tox_venvsync._lock._file import missing
from tox_venvsync._lock._request import Request

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tox_venvsync._lock._model import (
        Artifact,
        DirectorySource,
        Lock,
        Pick,
        SourceKind,
        VcsSource,
        best_wheel,
        not_in_lock,
    )


def __getattr__(name: str) -> object:
    """The model's names in :data:`__all__`, defined when first used.

    A tox run of an environment in sync needs only :class:`Request` (defining the rest of the model
    took 5 ms of every such run on a slow machine).
    """
    if name in __all__:  # the names this module defines never reach here
        from tox_venvsync._lock import _model  # noqa: PLC0415  # see the docstring

        return getattr(_model, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


#: lock_format value -> the reader, imported when first used (only the format in use is loaded)
READERS: dict[str, str] = {
    "pylock": "tox_venvsync._lock._pylock:read_pylock",
    "uv": "tox_venvsync._lock._uv:read_uv_lock",
    "pdm": "tox_venvsync._lock._pdm:read_pdm_lock",
    "poetry": "tox_venvsync._lock._poetry:read_poetry_lock",
    "requirements": "tox_venvsync._lock._requirements:read_requirements",
}

#: what is looked for in the tox root when lock_file is not set, in this order
DETECTED = ("pylock.toml", "uv.lock", "pdm.lock", "poetry.lock")


def detect_format(path: Path) -> str:
    """The format of a lockfile, from its name."""
    name = path.name
    if name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml") and name.count(".") == 2):  # noqa: PLR2004
        return "pylock"
    by_name = {"uv.lock": "uv", "pdm.lock": "pdm", "poetry.lock": "poetry"}
    if name in by_name:
        return by_name[name]
    if name.endswith((".txt", ".in")):
        return "requirements"
    msg = (
        f"cannot tell the format of the lockfile {path} from its name; "
        f"{named('set lock_format to')} one of {', '.join(sorted(READERS))}"
    )
    raise BadInputError(msg)


def find_lock(root: Path) -> Path:
    """The first of :data:`DETECTED` in ``root``; else the ``uv.lock`` of a uv workspace ``root`` is a member of.

    uv finds a member's lock at its workspace root, above it: so does this, for the nearest ``uv.lock``
    that locks ``root``'s project (``root``, or the nearest directory above it with a ``pyproject.toml``: a
    member's ``tests/``) as a member of its workspace.
    """
    for name in DETECTED:
        if (root / name).is_file():
            return root / name
    for parent in root.parents:
        if (lock := parent / "uv.lock").is_file() and workspace_project(lock, root) != ".":
            return lock
    import os  # noqa: PLC0415  # see _workspace_member

    if (there := next((root / name for name in DETECTED if os.path.lexists(root / name)), None)) is not None:
        # a directory, or a link to nothing, of a lockfile's name: said as such, not "no lockfile in" (found by QA)
        from tox_venvsync._lock._file import lock_bytes  # noqa: PLC0415

        lock_bytes(there)  # raises what is wrong with it
        return there  # made a file meanwhile
    msg = f"no lockfile in {root}: looked for {', '.join(DETECTED)}; create one or set {named('lock_file')}"
    raise BadInputError(msg)


def _workspace_member(lock: Path, directory: Path) -> str | None:
    """``directory`` relative to the ``uv.lock``'s (posix), when the lock has a workspace project there; else ``None``.

    Read from the lock's text as uv writes it (``source = { editable = "libs/one" }``), without parsing the lock.
    """
    import os  # noqa: PLC0415  # only for a project below the lock's directory
    import re  # noqa: PLC0415

    from tox_venvsync._lock._file import file_bytes  # noqa: PLC0415

    relative = os.path.relpath(os.path.realpath(directory), os.path.realpath(lock.parent))
    if relative == "." or relative.startswith(".."):
        return None
    member = relative.replace(os.sep, "/")
    data = file_bytes(lock) or b""
    # the package at that path, and its name among [manifest] members (a path dependency is no member)
    package = (
        rb'^name = "([^"]+)"\n(?:version = "[^"]*"\n)?source = \{ (?:editable|virtual|directory) = "'
        + re.escape(member.encode())
        + rb'" \}$'
    )
    found = re.search(package, data, re.MULTILINE)
    manifest = re.search(rb"^\[manifest\]\nmembers = \[([^\]]*)\]", data, re.MULTILINE)
    if found is None or manifest is None:
        return None
    return member if b'"' + found.group(1) + b'"' in manifest.group(1) else None


def workspace_project(lock: Path, root: Path) -> str:
    """Where ``uv sync`` run in ``root`` starts in ``lock``: the member at the nearest project at or above ``root``.

    That is the nearest directory from ``root`` up to the lock's with a ``pyproject.toml``; ``.`` (the lock's
    own project) when it is the lock's directory, is outside it, or is no member of its workspace.
    """
    import os  # noqa: PLC0415  # see _workspace_member
    from pathlib import Path  # noqa: PLC0415

    lock, root = Path(os.path.realpath(lock)), Path(os.path.realpath(root))  # a linked directory on the way
    for directory in (root, *root.parents):
        if directory == lock.parent or lock.parent not in directory.parents:
            return "."
        if (directory / "pyproject.toml").is_file():
            return _workspace_member(lock, directory) or "."
    return "."


def chosen_format(path: Path, lock_format: str | None) -> str:
    """The reader ``lock_format`` names (detected from ``path``'s name when empty); one sentence for neither."""
    chosen = lock_format or detect_format(path)
    if chosen not in READERS:
        msg = f"unknown {named('lock_format')} {chosen!r} for {path}; known formats: {', '.join(sorted(READERS))}"
        raise BadInputError(msg)
    return chosen


def read_lock(path: Path, lock_format: str | None = None, *, paths_from: Path | None = None) -> Lock:
    """Read ``path`` with the reader for ``lock_format`` (detected from the name when ``None``).

    ``paths_from``: where a requirements file's relative paths start (pip's current directory); other
    formats' paths start at the lock's directory, as their tools write them.
    """
    if not path.exists():
        raise LockFileError(path, missing())
    chosen = chosen_format(path, lock_format)
    module, _, function = READERS[chosen].partition(":")
    reader = cast("Callable[..., Lock]", getattr(importlib.import_module(module), function))
    return reader(path, paths_from) if chosen == "requirements" else reader(path)


def build_constraints(path: Path, lock_format: str | None = None) -> tuple[str, ...]:
    """What the lock pins every build's own requirements to: a ``uv.lock``'s build constraints; others have none."""
    if (lock_format or detect_format(path)) != "uv":
        return ()
    from tox_venvsync._lock._uv import read_build_constraints  # noqa: PLC0415  # a build's only

    return read_build_constraints(path)


__all__ = [
    "DETECTED",
    "Artifact",
    "DirectorySource",
    "Lock",
    "Pick",
    "Request",
    "SourceKind",
    "VcsSource",
    "best_wheel",
    "chosen_format",
    "detect_format",
    "find_lock",
    "not_in_lock",
    "read_lock",
    "workspace_project",
]
