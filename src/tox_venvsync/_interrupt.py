"""Interrupt: a tox environment's Ctrl-C, handed to the sync that runs in the environment's own thread."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Interrupt:
    """Set when tox interrupts an environment; the downloads its sync is waiting for are cut then.

    tox sets an environment up in a thread of its own. On Ctrl-C its main thread calls the environment's
    ``interrupt()``, which stops the commands tox runs itself (pip, for its own runner), and waits for the
    thread. A sync is no such command: one downloading a file went on until the file was whole, installed it
    and said "synced", while tox ignored every further Ctrl-C.
    """

    __slots__ = ("_halts", "_lock", "_set")

    def __init__(self) -> None:
        self._set = False
        self._lock = threading.Lock()
        self._halts: list[Callable[[], object]] = []

    def set(self) -> None:
        """Interrupt: every ``halt`` registered with :meth:`halting` is called (from the thread that interrupts)."""
        with self._lock:
            self._set = True
            halts = list(self._halts)
        for halt in halts:
            halt()

    def is_set(self) -> bool:
        """Whether the environment was interrupted."""
        return self._set

    @contextlib.contextmanager
    def halting(self, halt: Callable[[], object]) -> Iterator[None]:
        """Call ``halt`` on an interrupt while inside (at once, if it came already)."""
        with self._lock:
            self._halts.append(halt)
            already = self._set
        if already:
            halt()
        try:
            yield
        finally:
            with self._lock:
                self._halts.remove(halt)


#: the interrupt of the tox environment whose sync runs in this thread (and the threads it starts); none outside tox
CURRENT: contextvars.ContextVar[Interrupt | None] = contextvars.ContextVar("venvsync_interrupt", default=None)


def interrupted() -> bool:
    """Whether this thread's tox environment was interrupted."""
    current = CURRENT.get()
    return current is not None and current.is_set()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if this thread's tox environment was interrupted, as Ctrl-C does in ``venvsync``."""
    if interrupted():
        raise KeyboardInterrupt
