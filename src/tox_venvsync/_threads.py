"""Threads: work shared out to threads, every item under way waited for, wherever a Ctrl-C lands in the caller."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_T = TypeVar("_T")
_R = TypeVar("_R")


def each_in_threads(function: Callable[[_T], _R], items: Iterable[_T], *, workers: int, name: str) -> list[_R]:
    """``function`` of every item, in order, on up to ``workers`` threads (named ``name``, numbered).

    On a failure, or a Ctrl-C (or ``SIGTERM``, see ``_entry``) raised in the calling thread, no other item starts,
    and this raises only once every item under way has ended, also when another Ctrl-C comes while it waits: what
    comes next (removing the venv the items were writing into) never races a thread still writing there.

    ``ThreadPoolExecutor``'s own shutdown does not give that: it waits for the threads it knows, and a thread is
    known only once ``Thread.start`` has returned in the calling thread. A Ctrl-C raised while the caller waits in
    ``Thread.start`` for the new thread to run (a signal sent while the first items are placed lands there more
    often than anywhere else) left that thread unknown, placing its wheel while the venv this run made was being
    removed: the removal failed, and the venv stayed half made (found in CI, with ``SIGHUP``).
    """
    crew = _Crew()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        return list(pool.map(lambda item: crew.run(function, item), items))
    finally:
        crew.close()  # first: an item no thread has taken yet is not started
        pool.shutdown(wait=True, cancel_futures=True)


class _Crew:
    """The items that threads are running, counted by the threads themselves; none starts once closed."""

    __slots__ = ("_closed", "_condition", "_running")

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running = 0
        self._closed = False

    def run(self, function: Callable[[_T], _R], item: _T) -> _R:
        """``function(item)`` in a thread of the pool, counted while it runs; refused once :meth:`close` was called."""
        with self._condition:
            if self._closed:
                raise CancelledError
            self._running += 1
        try:
            return function(item)
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()

    def close(self) -> None:
        """Start no other item, and wait until every item under way has ended (in a thread known or not).

        A Ctrl-C raised in the calling thread while it waits (a second one: the first, or a failure, is why it
        closes) does not cut the wait short: it is raised once the items under way have ended. Cut short, it let
        the caller remove the venv this run made while a thread still placed a wheel there, the race the wait is
        for; an item is one wheel being placed, which takes milliseconds. A second SIGTERM or SIGHUP still ends
        the process at once (see ``_entry``).
        """
        stop: KeyboardInterrupt | None = None
        while True:
            try:
                with self._condition:
                    self._closed = True
                    self._condition.wait_for(lambda: self._running == 0)
            except KeyboardInterrupt as exc:  # noqa: PERF203  # Ctrl-C, or Stopped: raised once the wait is over
                stop = exc
            else:
                break
        if stop is not None:
            raise stop
