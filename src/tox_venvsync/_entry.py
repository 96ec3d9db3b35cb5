"""The ``venvsync`` script: the command line; Ctrl-C, SIGTERM and SIGHUP end it in one line, also while it loads."""

from __future__ import annotations

import contextlib
import signal
import sys

#: what Ctrl-C prints, at any moment of a ``venvsync`` command
INTERRUPTED = "venvsync: interrupted; the next sync finishes or redoes what was started"
#: what SIGTERM and SIGHUP print (``{signal}``: the signal's name)
STOPPED = "venvsync: stopped by {signal}; the next sync finishes or redoes what was started"

#: the signals that stop a command as Ctrl-C does: ``kill``, ``timeout``, ``docker stop`` and a CI's cancel send
#: SIGTERM; a closed terminal or ssh session sends SIGHUP (which Windows, not supported yet, does not have)
STOPPING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it ends as Ctrl-C ends it.

    Python's default for these signals ends the process on the spot: a build backend, pip or git it ran went
    on running without it, a venv this run made and had not filled stayed, and the build's temporary
    directories too. As a ``KeyboardInterrupt``, every cleanup that Ctrl-C runs runs for them.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once, cleanup or not
    raise Stopped(signum)


def catch_stops() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Stopped`; one that is ignored (``nohup``) stays ignored."""
    for signum in STOPPING:
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _stop)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Say that the command was stopped (by Ctrl-C, or the signal :class:`Stopped` names); the exit code, 128 + n."""
    signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    line = INTERRUPTED if signum == signal.SIGINT else STOPPED.format(signal=signal.Signals(signum).name)
    with contextlib.suppress(OSError):  # the terminal that sent SIGHUP is gone
        print(line, file=sys.stderr)
    return 128 + signum


def run() -> int:
    """Load and run the command line; Ctrl-C before its own handler is in place ends the same way (exit 130).

    Loading the command line takes tens of milliseconds; a Ctrl-C then printed a traceback of the import.
    """
    catch_stops()
    try:
        from tox_venvsync._cli import main  # noqa: PLC0415  # loaded inside the handler

        return main()
    except KeyboardInterrupt as exc:
        return interrupted(exc)
