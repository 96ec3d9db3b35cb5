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
    lock: Path | None = None,
) -> None:
    """Run pip for ``deps`` in the venv of ``python`` (Python ``version``), every locked package pinned to its version.

    pip runs in ``environ`` (tox's set_env laid over this process's environment), or this process's. ``offline``
    (``--sync-offline``): pip asks no index, only its find-links, as the builds' pip does then. ``lock``: the
    lockfile that pins ``pins``, named when deps conflict with it.
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
        raise DepsError(_explain(output, deps, pins, lock) + (offline_note if offline else ""), output=output)


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


#: how pip names the locked version in a conflict (the constraints file holds ``name==version`` of every pin)
_CONSTRAINT = "The user requested (constraint) "
#: how pip names a requirement of deps itself in a conflict
_REQUESTED = "The user requested "


def _explain(output: str, deps: Sequence[str], pins: Mapping[str, str], lock: Path | None) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # pip names both sides of a conflict: a dependency ("x 1.0 depends on beta==9.9") or a requirement of deps
    # ("The user requested beta==1.0"), and the locked version ("The user requested (constraint) beta==2.0")
    causes = [line for line in lines if " depends on " in line or line.startswith(_REQUESTED)]
    if (against := _against_the_lock(causes, deps, pins, lock)) is not None:
        return against
    detail = "; ".join(causes) or (lines[-1] if lines else "pip gave no output")
    return f"deps ({' '.join(deps)}) cannot be installed on top of the lock: {detail}"


def _against_the_lock(
    causes: Sequence[str], deps: Sequence[str], pins: Mapping[str, str], lock: Path | None
) -> str | None:
    """A conflict of deps with a locked version in one sentence, naming both pins and what to change; else ``None``.

    pip's lines ("The user requested beta==1.0; The user requested (constraint) beta==2.0") were quoted as they are:
    they named neither the lockfile nor the setting to change, and "(constraint)" is no word of the user's.
    """
    locked = _locked_in(causes, pins)
    for line in causes:
        if line.startswith(_CONSTRAINT):
            continue
        requested = line.startswith(_REQUESTED)
        wanted = line.removeprefix(_REQUESTED) if requested else line.partition(" depends on ")[2]
        if (name := _requirement_name(wanted)) is None or name not in locked:
            continue
        asks = f"ask for {wanted}" if requested else f"bring {line.replace(' depends on ', ', which needs ')}"
        where = f"the lock {lock}" if lock is not None else "the lock"
        return (
            f"deps ({' '.join(deps)}) {asks}, and {where} pins {name} {locked[name]}; change deps to accept "
            f"{name} {locked[name]}, or lock {name} at the version they need"
        )
    return None


def _locked_in(causes: Sequence[str], pins: Mapping[str, str]) -> dict[str, str]:
    """The locked versions pip names among ``causes``, by name (not a constraint of tox's ``constraints``)."""
    found = {}
    for line in causes:
        if line.startswith(_CONSTRAINT):
            name, _, version = line.removeprefix(_CONSTRAINT).partition("==")
            if pins.get(_canonical(name)) == version.strip():
                found[_canonical(name)] = version.strip()
    return found


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name  # noqa: PLC0415  # a failed install only

    return str(canonicalize_name(name.strip()))


def _requirement_name(text: str) -> str | None:
    """The canonical name of the requirement ``text`` (``beta==9.9``), or ``None`` for one that does not parse."""
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  # a failed install only

    try:
        return _canonical(Requirement(text).name)
    except InvalidRequirement:
        return None
