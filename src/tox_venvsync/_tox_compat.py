"""The one place that touches tox internals; tests/test_tox_compat.py breaks if tox changes them."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox.config.main import Config
    from tox.config.sets import EnvConfigSet
    from tox.tox_env.python.api import PythonInfo
    from tox.tox_env.runner import RunToxEnv

_LOGGER = logging.getLogger(__name__)


def follow_env_dir(conf: EnvConfigSet, location: Callable[[], Path], tox_root: Callable[[], Path]) -> None:
    """Make tox's ``env_dir`` default to our ``env_location``, and a relative ``env_dir`` start at the tox root.

    tox has no public way to change another key's default, and defining ``env_dir`` again raises
    "duplicate configuration definition"; so we swap the default of tox's own definition
    (``ConfigSet._defined``, ``ConfigDynamicDefinition.default``). An explicit ``env_dir`` still wins. A relative
    one is taken from the tox root, as tox 4.67.15 takes it (its ``post_process``): older tox (4.65.0 to 4.67.0
    at least) left it relative, so the venv went to the current directory and the commands, run in
    ``change_dir``, found no ``bin/python``.
    """
    definition: Any = conf._defined["env_dir"]  # noqa: SLF001  # private: see the docstring

    def default(_conf: Config, _name: str | None) -> Path:
        return location()

    definition.default = default
    if definition.post_process is None:  # a tox that leaves a relative env_dir relative

        def from_root(value: Path) -> Path:
            return value if value.is_absolute() else tox_root() / value

        definition.post_process = from_root


def make_work_dir_first(location: Path, work_dir: Path) -> None:
    """Make tox's work directory as tox makes it, before our guard makes a venv ``location`` inside it.

    tox 4.67.15 makes the work directory (and its missing parents) for its user alone, 0700
    (``tox.util.path.ensure_private_dir``, first thing in ``ToxEnv._setup_env``), "before anything creates it as a
    parent with the umask: group-writable environments must stay unreachable". Our guard makes the venv's directory
    before tox's step runs, so at the default ``env_location`` it made the work directory with the umask (0775
    under umask 002), and tox's step then found it there. A tox without the function makes it with the umask.
    """
    if work_dir not in location.parents:  # elsewhere: tox makes the work directory in its own step
        return
    try:
        from tox.util.path import ensure_private_dir  # noqa: PLC0415  # a tox that has it
    except ImportError:  # pragma: no cover  # older tox
        return
    ensure_private_dir(work_dir)


def python_info(interpreter: Any) -> PythonInfo | None:  # noqa: ANN401  # virtualenv's PythonInfo
    """The ``PythonInfo`` tox keeps for a discovered interpreter, built as ``VirtualEnv._get_python`` builds it.

    Our runner finds the interpreter without virtualenv's session (see ``_discovery``), so it builds
    tox's ``PythonInfo`` itself; fields a given tox version does not have are left out.
    """
    from tox.tox_env.python.api import PythonInfo, VersionInfo  # noqa: PLC0415  # loaded by tox already

    if (executable := interpreter.system_executable) is None:
        return None
    vi = interpreter.version_info
    values: dict[str, Any] = {
        "implementation": interpreter.implementation,
        "version_info": VersionInfo(vi.major, vi.minor, vi.micro, vi.releaselevel, vi.serial),
        "version": interpreter.version,
        "is_64": interpreter.architecture == 64,  # noqa: PLR2004  # bits
        "platform": interpreter.platform,
        "extra": {"executable": Path(executable).resolve()},
        "free_threaded": getattr(interpreter, "free_threaded", False),
        "debug": getattr(interpreter, "debug_build", False),
        "machine": getattr(interpreter, "machine", None),
        "marker_environment": getattr(interpreter, "marker_environment", None),
    }
    known = {field.name for field in dataclasses.fields(PythonInfo)}
    return PythonInfo(**{key: value for key, value in values.items() if key in known})


def release_tox_redirect(env_dir: Path, work_dir: Path) -> bool:
    """Remove ``env_dir`` if it is the ``.venv`` redirect file tox wrote, as tox's ``ToxEnv._setup_env`` does.

    tox (4.50 and later) writes a file at ``{tox_root}/.venv`` naming a dev environment's directory and
    removes it itself before an environment lives there; our location guard looks first, so it asks tox's
    own test (``tox.util.venv_redirect.release_venv_redirect``: a redirect pointing into the work
    directory). A tox without redirects removes nothing.
    """
    try:
        from tox.util.venv_redirect import release_venv_redirect  # noqa: PLC0415  # a tox that has it
    except ImportError:  # pragma: no cover  # older tox
        return False
    return release_venv_redirect(env_dir, lambda target: target.is_relative_to(work_dir))


def run_recreate_commands(env: RunToxEnv) -> None:
    """Run ``recreate_commands`` before the venv is removed, as tox's ``RunToxEnv._clean`` does for its runners.

    tox's ``_run_recreate_commands`` puts the venv's scripts directory on ``PATH`` by setting
    ``ToxEnv._paths_private``, which keeps the environment variables tox cached earlier (a built project has them
    worked out while the package environment is defined): the commands then ran with a ``PATH`` without the venv,
    and its ``python`` was "not allowed". Setting tox's ``_paths`` property drops that cache, so we set it to
    itself before the commands and again after them (their ``PATH`` is not the one of the venv made next). A
    failure is logged and the recreate goes on, as tox does.
    """
    env._paths = env._paths  # noqa: SLF001  # private: the setter drops tox's cached variables
    try:
        env._run_recreate_commands()  # noqa: SLF001  # private: tox's own step
    except Exception as exc:  # noqa: BLE001  # tox catches every failure here too
        _LOGGER.warning("recreate_commands failed (%s), continuing with recreation", exc)
    finally:
        env._paths = env._paths  # noqa: SLF001


def recreated_by_record(env_dir: Path, env: dict[str, Any], python: dict[str, Any]) -> str | None:
    """Why tox removes ``env_dir`` and makes it again in its setup, by its record there; ``None``: tox keeps it.

    tox compares the sections ``ToxEnv`` (``env``: the environment's name and runner class) and ``Python``
    (``python``: the runner's ``python_cache()``) of its ``.tox-info.json`` with its ``Info.compare``, which
    rewrites the file; this reads it only. A tox that changes the record or the comparison breaks
    tests/test_runner.py::test_sync_dry_run_for_a_venv_tox_recreates_by_its_record_says_so.
    """
    from tox_venvsync._installed import read_json  # noqa: PLC0415  # a dry run's only

    record = read_json(str(env_dir / ".tox-info.json"))
    if not isinstance(record, dict):
        return None
    if isinstance(old := record.get("ToxEnv"), dict) and old != env:
        return f"tox's record of it names another environment ({old}), so tox makes it again"
    if isinstance(old := record.get("Python"), dict) and old != python:
        differ = ", ".join(sorted(key for key in {*old, *python} if old.get(key) != python.get(key)))
        return f"tox's record of its interpreter differs ({differ}), so tox makes it again"
    return None
