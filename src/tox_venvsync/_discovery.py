"""Discovery: the base interpreter and the venv's paths, found without building a virtualenv session.

tox's virtualenv runner builds virtualenv's command-line session (its parser and every plugin) on each
run just to learn which interpreter a ``base_python`` names and where the venv keeps its files: about
20 ms of every ``tox run``, also when the venv exists and nothing changes. The interpreter comes from
the same lookup the session uses (virtualenv's ``get_interpreter``, with its interpreter cache), and the
paths of an existing venv from the same rule virtualenv's ``Describe`` applies (the interpreter's
install scheme under the venv). The session is built only to create a venv.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

#: the executable's name in a venv's scripts directory (virtualenv's creators all make it)
_PYTHON = "python.exe" if sys.platform == "win32" else "python"


def discover(specs: Sequence[str], *, try_first_with: Iterable[str], env: Mapping[str, str]) -> Any | None:  # noqa: ANN401  # virtualenv's PythonInfo, whose class moved between versions
    """The first interpreter one of ``specs`` names, as virtualenv's session finds it; ``None`` if none does."""
    from virtualenv.app_data import make_app_data  # noqa: PLC0415  # imported by tox already; here for the types
    from virtualenv.discovery.builtin import get_interpreter  # noqa: PLC0415

    app_data = make_app_data(None, read_only=False, env=env)
    first = list(try_first_with)
    for spec in specs:
        try:
            found = get_interpreter(spec, first, app_data=app_data, env=env)
        except RuntimeError:  # python-discovery refuses an interpreter it cannot query (Python 2): not found, as tox
            continue  # says of it with its own runner
        if found is not None:
            return found
    return None


@frozen
class VenvLayout:
    """Where a venv made from an interpreter keeps its interpreter, scripts and packages."""

    python: Path
    scripts: Path
    purelib: Path
    platlib: Path

    @classmethod
    def of(cls, venv: Path, interpreter: Any) -> VenvLayout:  # noqa: ANN401  # virtualenv's PythonInfo
        """The layout virtualenv's ``Describe`` gives a venv at ``venv`` for ``interpreter``."""
        scripts = venv / interpreter.install_path("scripts")
        return cls(
            python=scripts / _PYTHON,
            scripts=scripts,
            purelib=venv / interpreter.install_path("purelib"),
            platlib=venv / interpreter.install_path("platlib"),
        )

    def exists(self, venv: Path) -> bool:
        """Whether the venv is there as predicted (else the session, which knows every creator, answers)."""
        return (venv / "pyvenv.cfg").is_file() and self.python.exists() and self.purelib.is_dir()
