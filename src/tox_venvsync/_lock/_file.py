"""The lockfile's bytes, one sentence for every problem (its own module: a remembered plan needs no TOML reader)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tox_venvsync._errors import LockFileError

if TYPE_CHECKING:
    from pathlib import Path


#: what a missing lockfile is told with, wherever it is found missing
MISSING = "the lockfile does not exist; create it or set lock_file to the right path"


def lock_bytes(path: Path) -> bytes:
    """A lockfile's bytes; every problem names the file and what to do."""
    try:
        if path.exists() and not path.is_file() and not path.is_dir():  # a device or a pipe is read for ever
            raise LockFileError(path, "is not a regular file (a device or a pipe); set lock_file to a lockfile")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise LockFileError(path, MISSING) from exc
    except IsADirectoryError as exc:
        raise LockFileError(path, "is a directory, not a lockfile; set lock_file to a file") from exc
    except OSError as exc:
        raise LockFileError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc
