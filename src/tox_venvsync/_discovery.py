"""Discovery: the base interpreter and the venv's paths, found without building a virtualenv session.

tox's virtualenv runner builds virtualenv's command-line session (its parser and every plugin) on each
run just to learn which interpreter a ``base_python`` names and where the venv keeps its files: about
20 ms of every ``tox run``, also when the venv exists and nothing changes. The interpreter comes from
the same lookup the session uses (virtualenv's ``get_interpreter``, with its interpreter cache), and the
paths of an existing venv from the same rule virtualenv's ``Describe`` applies (the interpreter's
install scheme under the venv). The session is built only to create a venv.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from tox_venvsync._cache import Cache

#: the executable's name in a venv's scripts directory (virtualenv's creators all make it)
_PYTHON = "python.exe" if sys.platform == "win32" else "python"


def discover(
    specs: Sequence[str], *, try_first_with: Iterable[str], env: Mapping[str, str], cache: Cache | None = None
) -> Any | None:  # noqa: ANN401  # virtualenv's PythonInfo, whose class moved between versions
    """The first interpreter one of ``specs`` names, as virtualenv's session finds it; ``None`` if none does.

    ``cache``: where the answer is kept (``discovered/``) when the running interpreter gave it (see the memo below).
    """
    first = list(try_first_with)
    memo = None if cache is None else cache.root / "discovered"
    if memo is not None and not first and specs and (known := _remembered(memo, specs[0])) is not None:
        return known
    from virtualenv.app_data import make_app_data  # noqa: PLC0415  # imported by tox already; here for the types
    from virtualenv.discovery.builtin import get_interpreter  # noqa: PLC0415

    app_data = make_app_data(None, read_only=False, env=env)
    for index, spec in enumerate(specs):
        try:
            found = get_interpreter(spec, first, app_data=app_data, env=env)
        except RuntimeError:  # python-discovery refuses an interpreter it cannot query (Python 2): not found, as tox
            continue  # says of it with its own runner
        if found is not None:
            if cache is not None and memo is not None and index == 0 and not first:
                _remember(memo, spec, found, app_data, scratch=cache.tmp_dir)
            return found
    return None


# The memo of a discovery (about 2 ms of every tox run: virtualenv's lookup reads its interpreter cache under a file
# lock). Kept only for one case, where the answer depends on nothing but the running interpreter: python-discovery
# proposes the interpreter running it (its system interpreter) before any other, unless ``--discover`` names some
# or the spec is a path; so when that interpreter satisfies a spec, it is the answer to it whatever PATH and the
# environment hold. python-discovery's own cache keeps an interpreter's facts while its binary's modification time
# stays; the memo is dropped when anything of the running interpreter or its system interpreter changes (their
# paths, the binaries' inode, size and modification time) or python-discovery or virtualenv is another version.


def _memo_file(memo: Path, spec: str) -> Path | None:
    """Where the memo for ``spec`` lives; ``None`` when the spec may name a path, or python-discovery is not there."""
    try:
        import python_discovery  # noqa: PLC0415  # imported by tox already (virtualenv's discovery)
        import virtualenv  # noqa: PLC0415
    except ImportError:  # an older virtualenv, with a discovery of its own: not memoised
        return None
    if python_discovery.PythonSpec.from_string_spec(spec).path is not None:  # a path, or a name looked up on PATH
        return None
    described = [spec, sys.executable, sys.prefix, sys.base_prefix, sys.version, python_discovery.__version__]
    key = hashlib.sha256(json.dumps([*described, virtualenv.__version__]).encode()).hexdigest()[:32]
    return memo / f"{key}.json"


def _identity(path: str) -> list[object] | None:
    """What tells a binary changed: its real path, inode, size and modification time; ``None`` when it is not there."""
    try:
        found = os.stat(path)  # noqa: PTH116  # a string path, as python-discovery gives it
    except OSError:
        return None
    return [os.path.realpath(path), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns]


def _remembered(memo: Path, spec: str) -> Any | None:  # noqa: ANN401  # python-discovery's PythonInfo
    """The interpreter ``spec`` named the last time, when the running interpreter was the answer and is unchanged."""
    if (file := _memo_file(memo, spec)) is None:
        return None
    try:
        kept = json.loads(file.read_bytes())
        system = kept["info"]["system_executable"]
        if kept["identity"] != [_identity(sys.executable), _identity(system)] or None in kept["identity"]:
            return None
        from python_discovery import PythonInfo  # noqa: PLC0415  # see _memo_file

        return PythonInfo.from_dict(kept["info"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):  # none kept, or not a memo
        return None  # written here: discovered anew


def _remember(memo: Path, spec: str, found: Any, app_data: Any, *, scratch: Callable[[], Path]) -> None:  # noqa: ANN401  # python-discovery's
    """Keep ``found`` for ``spec`` when it is the running interpreter, which python-discovery proposed first.

    ``scratch``: the process's work directory in the cache, where the file is written before it is renamed in.
    """
    if (file := _memo_file(memo, spec)) is None:
        return
    from python_discovery import PythonInfo  # noqa: PLC0415  # see _memo_file

    try:
        current = PythonInfo.current_system(app_data)  # asked already, as the first proposal: kept in this process
    except RuntimeError:
        return
    # the very object python-discovery keeps for the running interpreter: the proposal that came first answered
    if type(found) is not PythonInfo or found is not current:
        return
    identity = [_identity(sys.executable), _identity(str(found.system_executable))]
    if None in identity:
        return
    from tox_venvsync._atomic import write_atomic  # noqa: PLC0415  # written once, not on the runs that read it

    with contextlib.suppress(OSError, TypeError, ValueError):  # not kept (a cache this user may not write): asked again
        write_atomic(file, json.dumps({"identity": identity, "info": found.to_dict()}), scratch=scratch())


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
