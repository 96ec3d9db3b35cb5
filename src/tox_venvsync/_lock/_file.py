"""The lockfile's bytes, one sentence for every problem (its own module: a remembered plan needs no TOML reader)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tox_venvsync._errors import LockFileError, named

if TYPE_CHECKING:
    from pathlib import Path


def missing() -> str:
    """What a missing lockfile is told with, wherever it is found missing."""
    return f"the lockfile does not exist; create it or set {named('lock_file')} to the right path"


def lock_bytes(path: Path) -> bytes:
    """A lockfile's bytes; every problem names the file and what to do."""
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
        raise LockFileError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc
