"""Atomic writes of small files that several threads or processes may write at the same time."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, text: str | bytes, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file of its own beside it, then one rename.

    A reader sees the old file or the new one, never a part; two writers (tox runs environments in
    threads of one process) never share a temporary file, and the last rename wins. ``mode`` sets
    the file's permissions before it appears.
    """
    import tempfile  # noqa: PLC0415  # ~5 ms to import; runs that write nothing (a no-op) skip it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode() if isinstance(text, str) else text)
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
