"""Atomic writes of small files that several threads or processes may write at the same time, and tree removals."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._errors import naming

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: the read bits of the group and of others: a file another user of the cache or venv must read has both
READ_BY_OTHERS = 0o044


def readable_by_all(modes: Iterable[tuple[Path, int]]) -> None:
    """Give each file its mode, in the order given, so other users can read it; stop at the first that cannot be.

    The files a venv shares with the cache (hard links) or with another user (an image's runtime ``USER``) were
    made under a umask that may hide reads (077: 0600). A tree's marker (its manifest, its list) comes last: made
    readable, it says the files before it are. A file this process cannot change is left as it is, and so are the
    ones after it.
    """
    with contextlib.suppress(OSError):
        for path, mode in modes:
            path.chmod(mode)


def write_atomic(path: Path, text: str | bytes, *, mode: int | None = None, scratch: Path | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file of its own beside it, then one rename.

    A reader sees the old file or the new one, never a part; two writers (tox runs environments in
    threads of one process) never share a temporary file, and the last rename wins. ``mode`` sets
    the file's permissions before it appears. ``scratch``: a directory on the same filesystem to make
    the temporary file in instead (the cache's work directory of the process, which goes with it).
    """
    import tempfile  # noqa: PLC0415  # ~5 ms to import; runs that write nothing (a no-op) skip it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=scratch or path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with naming(path), os.fdopen(fd, "wb") as handle:  # a full disk's error names the file it was writing
            handle.write(text.encode() if isinstance(text, str) else text)
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def remove_tree(path: str | os.PathLike[str]) -> None:
    """``shutil.rmtree(path)``, whose error names what could not be removed by its full path.

    rmtree works through directory descriptors, so its own error names the file relative to its directory: a
    user who may not write one directory of a venv read ``Permission denied at METADATA`` (as root, which
    every test suite runs as, it never happens). The error raised is the same, with the whole path.
    """
    import shutil  # noqa: PLC0415  # ~3 ms to import; only a removal needs it

    # Python 3.13 catches the error raised here, renames it for the directory it was in and hands it back: each
    # call raises a new one, for the first file that failed
    first: list[tuple[BaseException, str]] = []

    def named(_function: Callable[..., object], failed: str, exc: BaseException) -> None:
        if not first:
            first.append((exc, failed))
        cause, path = first[0]
        if isinstance(cause, OSError) and cause.errno is not None:
            raise type(cause)(cause.errno, cause.strerror, path) from cause
        raise cause

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=named)
    else:  # onerror, deprecated since 3.12, hands the error over as sys.exc_info()
        shutil.rmtree(path, onerror=lambda function, failed, info: named(function, failed, info[1]))
