"""Interpreters installed through pyenv, also those the active versions (``PYENV_VERSION``) leave out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def installed_python(minor: str) -> Path | None:
    """The newest pyenv-installed ``python<minor>`` (``"3.9"``), else ``None``."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
    found = sorted(Path(root, "versions").glob(f"{minor}.*/bin/python{minor}")) if root else []
    return max(found, key=lambda p: int(p.parts[-3].rsplit(".", 1)[1]), default=None)
