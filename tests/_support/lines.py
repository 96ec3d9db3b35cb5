"""Reading a child process's output as it comes, without hanging on one that never says the line."""

from __future__ import annotations

import select
from typing import IO


def first_line(stream: IO[str] | None, seconds: float = 30) -> str:
    """The first line ``stream`` gives within ``seconds``; empty if none comes (a command that waits silently)."""
    assert stream is not None  # a pipe the caller asked for
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else ""
