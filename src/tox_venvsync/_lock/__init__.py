"""Lock: read a lockfile into the common model, one reader per format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tox_venvsync._errors import BadInputError
from tox_venvsync._lock._model import Artifact, Lock, Pick, Request, SourceKind
from tox_venvsync._lock._pylock import read_pylock

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: lock_format value -> reader
READERS: dict[str, Callable[[Path], Lock]] = {"pylock": read_pylock}


def detect_format(path: Path) -> str:
    """The format of a lockfile, from its name (``pylock.toml``, ``pylock.<name>.toml``)."""
    name = path.name
    if name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml") and name.count(".") == 2):  # noqa: PLR2004
        return "pylock"
    msg = f"cannot tell the format of the lockfile {path} from its name; name it pylock.toml or set lock_format"
    raise BadInputError(msg)


def read_lock(path: Path, lock_format: str | None = None) -> Lock:
    """Read ``path`` with the reader for ``lock_format`` (detected from the name when ``None``)."""
    chosen = lock_format or detect_format(path)
    try:
        reader = READERS[chosen]
    except KeyError:
        msg = f"unknown lock_format {chosen!r} for {path}; known formats: {', '.join(sorted(READERS))}"
        raise BadInputError(msg) from None
    return reader(path)


__all__ = ["Artifact", "Lock", "Pick", "Request", "SourceKind", "detect_format", "read_lock"]
