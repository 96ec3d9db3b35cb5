"""The ``venvsync`` script: the command line, with Ctrl-C one line also while it is still loading."""

from __future__ import annotations

import sys

#: what Ctrl-C prints, at any moment of a ``venvsync`` command
INTERRUPTED = "venvsync: interrupted; the next sync finishes or redoes what was started"


def run() -> int:
    """Load and run the command line; Ctrl-C before its own handler is in place ends the same way (exit 130).

    Loading the command line takes tens of milliseconds; a Ctrl-C then printed a traceback of the import.
    """
    try:
        from tox_venvsync._cli import main  # noqa: PLC0415  # loaded inside the handler

        return main()
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
