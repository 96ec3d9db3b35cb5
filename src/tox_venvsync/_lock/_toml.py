"""Reading a TOML lockfile into a dict, with errors that name the file."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tox_venvsync._errors import LockFileError

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover - depends on the interpreter
    import tomli as tomllib

if TYPE_CHECKING:
    from pathlib import Path


def read_text(path: Path) -> str:
    """A lockfile's text; every problem names the file and what to do."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise LockFileError(path, "the lockfile does not exist; create it or set lock_file to the right path") from exc
    except IsADirectoryError as exc:
        raise LockFileError(path, "is a directory, not a lockfile; set lock_file to a file") from exc
    except OSError as exc:
        raise LockFileError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LockFileError(path, f"is not UTF-8 text (byte {exc.start}); is this the right file?") from exc


def read_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and its parsed content."""
    text = read_text(path)
    try:
        return text.encode(), tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockFileError(path, f"is not valid TOML ({exc}); fix the file or re-create it with its tool") from exc
