"""Venvs made as ``python -m venv --without-pip`` makes them, in the test process where the Python is its own."""

from __future__ import annotations

import subprocess
import venv
from typing import TYPE_CHECKING

from tox_venvsync._location import can_create_in_process

if TYPE_CHECKING:
    from pathlib import Path


def new_venv(path: Path, python: Path) -> bool:
    """Make a venv of ``python`` at ``path``; whether it was made in this process.

    Where ``python`` is the Python running the tests, the standard library's venv makes it here: the same code and
    files as the command (only ``pyvenv.cfg``'s ``command`` line names another executable), without the
    interpreter start-up each venv cost (0.3-1 s on CI's loaded 2 cores). Elsewhere the command makes it.
    """
    if can_create_in_process(python):
        venv.EnvBuilder(symlinks=True, with_pip=False).create(str(path))
        return True
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(path)], check=True)
    return False
