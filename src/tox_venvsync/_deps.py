"""Deps: tox's ``deps`` installed on top of the lock by pip, constrained to the locked versions.

tox-venvsync has no resolver of its own: a ``deps`` entry names a package the lock does not pin, so
pip (from the environment tox runs in, aimed at the venv with ``--python``) resolves it, with every
locked package pinned by a constraints file so the lock's versions never move. A Python older than
that pip runs on (3.9), and a tox without pip beside it (``uv tool install tox``, pipx), get the pip
virtualenv bundles for the venv's Python, run from its wheel; so does a pip there older than 22.3, which has no
``--python``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from tox_venvsync._errors import VenvSyncError, printed
from tox_venvsync._target import bundled_pip, older_than_own_packaging

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class DepsError(VenvSyncError):
    """tox's deps could not be installed on top of the lock."""


def install_deps(  # noqa: PLR0913  # what pip installs where, then how (keyword-only)
    python: Path,
    deps: Sequence[str],
    pins: Mapping[str, str],
    *,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    version: str,
    offline: bool = False,
) -> None:
    """Run pip for ``deps`` in the venv of ``python`` (Python ``version``), every locked package pinned to its version.

    pip runs in ``environ`` (tox's set_env laid over this process's environment), or this process's. ``offline``
    (``--sync-offline``): pip asks no index, only its find-links, as the builds' pip does then.
    """
    if older_than_own_packaging(version) or not _pip_beside_tox():
        # pip runs from its wheel: uv's and pipx's tools have no pip of their own (uv tool install tox), and the pip
        # of an older Python's system or venv may be too old for --python (Ubuntu 22.04's is 22.0.2)
        pip = [str(python), str(bundled_pip(python, version) / "pip")]
    else:
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
    with tempfile.TemporaryDirectory(prefix="venvsync-deps-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{name}=={pinned}\n" for name, pinned in sorted(pins.items())))
        # not quiet: conflicts are info
        command = [*pip, "install", "--disable-pip-version-check", *(["--no-index"] if offline else [])]
        command += ["--constraint", str(constraints), *deps]
        env = dict(environ) if environ is not None else None
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        offline_note = "; offline, pip downloads nothing and looks only in its find-links (PIP_FIND_LINKS)"
        output = printed(result.stdout, result.stderr)
        raise DepsError(_explain(output, deps) + (offline_note if offline else ""), output=output)


#: the first pip with ``--python``, which installs into the environment of another interpreter
_PIP_WITH_PYTHON = (22, 3)


def _pip_beside_tox() -> bool:
    """Whether pip is installed in the environment tox runs in, new enough to install into another (``--python``)."""
    # sys.path's finder alone: setuptools' distutils hack answers a search for pip by replacing distutils, with a
    # warning (Python 3.10 and 3.11, where the standard library still has distutils)
    if importlib.machinery.PathFinder.find_spec("pip") is None:
        return False
    try:
        return Version(importlib.metadata.version("pip")).release >= _PIP_WITH_PYTHON
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):  # a pip without readable metadata: tried
        return True


def _explain(output: str, deps: Sequence[str]) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # pip names both sides of a conflict: a dependency ("x 1.0 depends on beta==9.9") or a requirement of deps
    # ("The user requested beta==1.0"), and the locked version ("The user requested (constraint) beta==2.0")
    causes = [line for line in lines if " depends on " in line or line.startswith("The user requested")]
    detail = "; ".join(causes) or (lines[-1] if lines else "pip gave no output")
    if causes:
        detail = f"{detail} (the constraint is the locked version)"
    return f"deps ({' '.join(deps)}) cannot be installed on top of the lock: {detail}"
