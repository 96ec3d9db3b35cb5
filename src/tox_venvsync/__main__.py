"""``python -m tox_venvsync``: the same command line as ``venvsync``."""

from __future__ import annotations

import sys

from tox_venvsync._entry import run

if __name__ == "__main__":
    sys.exit(run())
