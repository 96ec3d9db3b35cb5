from __future__ import annotations

import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from tox_venvsync._threads import each_in_threads

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

#: how long a thread of the test waits for the main thread to get where it is looked for before it goes on anyway
#: (a guard against a test that hangs, not a measure: the test passes or fails the same either way)
_PATIENCE = 60.0


def _main_waiting_in_close() -> FrameType | None:
    """The main thread's innermost frame while it waits for the items under way to end; else ``None``."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)  # the only way to look
    top, names = frame, []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return top if names[:1] == ["wait"] and "close" in names else None


def _until(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + _PATIENCE
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("first", ["ctrl-c", "failure"])
def test_a_second_ctrl_c_while_the_items_under_way_end_is_raised_once_they_have(first: str) -> None:
    # a Ctrl-C while each_in_threads waited for the items under way (after a first Ctrl-C, or a failure) ended the
    # wait: the caller went on to remove the venv this run made while a thread still placed its wheel there
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover  # pytest runs tests there
        pytest.skip("signals are raised in the main thread")
    main = threading.main_thread().ident or 0
    handled = [threading.Event(), threading.Event()]
    slow_started, done, out = threading.Event(), threading.Event(), threading.Event()

    def on_sigint(_signum: int, _frame: object) -> None:
        handled[1 if handled[0].is_set() else 0].set()
        raise KeyboardInterrupt

    def item(name: str) -> str:
        if name == "fails":
            slow_started.wait()
            msg = "refused"
            raise ValueError(msg)
        slow_started.set()
        if first == "ctrl-c":
            signal.pthread_kill(main, signal.SIGINT)
            handled[0].wait()
        _until(_main_waiting_in_close)
        waiting = _main_waiting_in_close()
        signal.pthread_kill(main, signal.SIGINT)  # the second stop, while the main thread waits for this item
        handled[-1 if first == "ctrl-c" else 0].wait()
        # on until the main thread has left each_in_threads, or waits in a wait of its own again (a new frame)
        _until(lambda: out.is_set() or ((again := _main_waiting_in_close()) is not None and again is not waiting))
        done.set()  # the wheel placed
        return name

    ended: list[bool] = []

    def run() -> None:
        try:
            each_in_threads(item, ["slow"] if first == "ctrl-c" else ["fails", "slow"], workers=2, name="test-threads")
        finally:
            ended.append(done.is_set())
            out.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ended == [True]  # the item under way ended before each_in_threads raised the second stop
