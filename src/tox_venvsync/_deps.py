"""Deps: tox's ``deps`` installed on top of the lock by pip, constrained to the locked versions.

tox-venvsync has no resolver of its own: a ``deps`` entry names a package the lock does not pin, so
pip (from the environment tox runs in, aimed at the venv with ``--python``) resolves it, with every
locked package pinned by a constraints file so the lock's versions never move.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._errors import VenvSyncError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class DepsError(VenvSyncError):
    """tox's deps could not be installed on top of the lock."""


def install_deps(
    python: Path, deps: Sequence[str], pins: Mapping[str, str], *, cwd: Path, environ: Mapping[str, str] | None = None
) -> None:
    """Run pip for ``deps`` in the venv of ``python``, every locked package pinned to its version (in ``environ``)."""
    if importlib.util.find_spec("pip") is None:
        msg = "deps needs pip in the environment tox runs in; install pip there or move the deps into the lock"
        raise DepsError(msg)
    with tempfile.TemporaryDirectory(prefix="venvsync-deps-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
        command = [sys.executable, "-m", "pip", "--python", str(python), "install"]  # not quiet: conflicts are info
        command += ["--disable-pip-version-check", "--constraint", str(constraints), *deps]
        env = dict(environ) if environ is not None else None
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise DepsError(_explain(f"{result.stdout}\n{result.stderr}", deps))


def _explain(output: str, deps: Sequence[str]) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # pip names both sides of a conflict: a dependency ("x 1.0 depends on beta==9.9") or a requirement of deps
    # ("The user requested beta==1.0"), and the locked version ("The user requested (constraint) beta==2.0")
    causes = [line for line in lines if " depends on " in line or line.startswith("The user requested")]
    detail = "; ".join(causes) or (lines[-1] if lines else "pip gave no output")
    if causes:
        detail = f"{detail} (the constraint is the locked version)"
    return f"deps ({' '.join(deps)}) cannot be installed on top of the lock: {detail}"
