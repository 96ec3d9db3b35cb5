"""Full disks: tmpfs mounts of a given size to fill (root only), and writes that fail as on a full disk."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from typing_extensions import Buffer


class SmallDisks:
    """Mounts tmpfs file systems below ``root``; :meth:`unmount_all` takes them away again.

    Only root (``CAP_SYS_ADMIN``) may mount: elsewhere (a user's machine, most CI runners) the test that asks
    for one is skipped, and the suite's simulated full disks (a write patched to fail) cover the same code.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._mounted: list[Path] = []

    def mount(self, size: str) -> Path:
        """A new empty directory on a tmpfs of ``size`` (``"64k"``, ``"1m"``)."""
        where = self._root / f"disk{len(self._mounted)}"
        where.mkdir(parents=True)
        self._run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
        self._mounted.append(where)
        return where

    def resize(self, where: Path, size: str) -> None:
        """Give the disk at ``where`` another size: room freed, as a user who cleaned up would have it."""
        self._run("mount", "-o", f"remount,size={size}", str(where))

    def unmount_all(self) -> None:
        for where in reversed(self._mounted):
            subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)  # noqa: S607  # umount from PATH
        self._mounted.clear()

    @staticmethod
    def _run(*command: str) -> None:
        if shutil.which(command[0]) is None:
            pytest.skip(f"{command[0]} is not installed: no small disk to fill")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small disk here ({done.stderr.strip() or done.returncode}): root only")


#: a full disk's error, as ``os.write`` and a file object's ``write`` raise it: naming no file
NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDiskWriter(io.BufferedWriter):
    """A file opened for writing on a disk without room: each write raises :data:`NO_SPACE`; counts them."""

    writes = 0

    def write(self, data: Buffer) -> int:  # noqa: ARG002  # BufferedWriter's signature
        type(self).writes += 1
        raise OSError(NO_SPACE.errno, NO_SPACE.strerror)


def full_fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> IO[bytes]:  # noqa: ARG001
    """``os.fdopen`` for writing onto a full disk (see :class:`FullDiskWriter`)."""
    assert "w" in mode  # only writes are made to fail
    return FullDiskWriter(io.FileIO(fd, "wb"))
