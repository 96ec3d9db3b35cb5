"""The kernel's refusals a user other than root meets, simulated: the test suite runs as root, which may do anything."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


def refuse_unlink(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``os.unlink`` of a file called ``name`` fail as a directory its user may not write makes it fail.

    ``shutil.rmtree`` unlinks through the directory's descriptor, by the bare name, as this sees it.
    """
    unlink = os.unlink

    def refusing(path: str, *, dir_fd: int | None = None) -> None:
        if Path(path).name == name:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", refusing)


def refuse_writes_below(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Make every file opened for writing below ``directory`` fail as on a read-only mount (an image's layer).

    Both ways a file is made are covered: ``open`` (``Path.write_text``) and ``os.open`` (``tempfile.mkstemp``).
    """
    import io  # noqa: PLC0415  # only the tests that refuse writes need it

    os_open, io_open = os.open, io.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def below(path: object) -> bool:
        return isinstance(path, (str, Path)) and Path(path).is_relative_to(directory)

    def refused(path: object) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    def refusing_os_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if flags & writing and below(path):
            raise refused(path)
        return os_open(path, flags, mode, dir_fd=dir_fd)

    def refusing_io_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if set(mode) & set("wax+") and below(file):
            raise refused(file)
        return io_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", refusing_os_open)
    monkeypatch.setattr(io, "open", refusing_io_open)
