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
