"""Regenerate the bench project's locks from PyPI: ``uv.lock``, ``pylock.toml`` and ``requirements.txt``.

``bench/project/`` gets the base locks with ``rich`` held at the older version, ``bench/project/bump/`` the same
locks with ``rich`` at the newer one (the bump scenario). Needs PyPI and the uv of ``bench/.work/venvs/tox-uv``
(``python bench/run.py`` makes it). The locks then hold whatever PyPI has today: run.py's BUMPED names the two
versions of rich it checks for, update them together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from run import BUMPED, PROJECT, PYENV_VERSION, PYTHON, VENVS

UV = VENVS / "tox-uv" / "bin" / "uv"


def uv(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PYENV_VERSION": PYENV_VERSION, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([str(UV), *args], cwd=cwd, env=env, check=True)


def export(folder: Path) -> None:
    """``pylock.toml`` and ``requirements.txt`` (with hashes) from ``folder/uv.lock``, without the project."""
    for fmt, name in (("pylock.toml", "pylock.toml"), ("requirements-txt", "requirements.txt")):
        uv("export", "--frozen", "-q", "--format", fmt, "--no-emit-project", "-o", name, cwd=folder)


def main() -> int:
    if not UV.exists():
        sys.exit(f"relock: {UV} is missing; run python bench/run.py once first")
    name, old, _new = BUMPED
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copy(PROJECT / "pyproject.toml", work)
        uv("lock", "-p", PYTHON, "--upgrade", cwd=work)  # every package at its newest: the bumped lock
        export(work)
        bump = PROJECT / "bump"
        bump.mkdir(exist_ok=True)
        for file in ("uv.lock", "pylock.toml", "requirements.txt"):
            shutil.copy(work / file, bump / file)
        uv("lock", "-p", PYTHON, "--upgrade-package", f"{name}=={old}", cwd=work)  # the base: one package older
        export(work)
        for file in ("uv.lock", "pylock.toml", "requirements.txt"):
            shutil.copy(work / file, PROJECT / file)
    print(f"relock: wrote {PROJECT} and {PROJECT / 'bump'}; check that BUMPED in run.py names the bumped versions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
