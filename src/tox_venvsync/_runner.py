"""The tox run environment ``venvsync``: wires tox's configuration to the location guard and the sync engine."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from packaging.utils import canonicalize_name
from tox.report import HandledError
from tox.tox_env.errors import Fail, Recreate, Skip
from tox.tox_env.package import Package, PathPackage
from tox.tox_env.python.api import Python
from tox.tox_env.python.package import EditablePackage
from tox.tox_env.python.pip.pip_install import Pip
from tox.tox_env.python.pip.req_file import PythonConstraints, PythonDeps
from tox.tox_env.python.runner import PythonRun
from tox.tox_env.python.virtual_env.api import VirtualEnv
from tox.tox_env.runner import RunToxEnv

from tox_venvsync._atomic import READ_BY_OTHERS, readable_by_all
from tox_venvsync._cache import Cache, default_cache_dir, taking_turns, waiting_for
from tox_venvsync._discovery import VenvLayout, discover
from tox_venvsync._errors import (
    BadInputError,
    InterpreterError,
    LockFileError,
    ReplacedInterpreterError,
    VenvSyncError,
    file_system_error,
    named,
    naming,
    renamed,
    resource_error,
)
from tox_venvsync._interrupt import CURRENT, Interrupt
from tox_venvsync._location import (
    ANOTHER_PYTHON,
    Kind,
    can_create_in_process,
    create_dir,
    create_in_process,
    creating,
    cut_off,
    inspect,
    kernel_path,
    left_behind,
    made_for,
    missing_from,
    no_interpreter,
    not_adopted,
    protected_paths,
    recreate_line,
    remove_venv,
    sees_system_site_packages,
    undo_creation,
    unexpanded_start,
)
from tox_venvsync._lock import DETECTED, READERS, build_constraints, chosen_format, find_lock, workspace_project
from tox_venvsync._lock._file import missing, project_name
from tox_venvsync._selection import make_request, parse_sync_flags
from tox_venvsync._state import BYTECODE_PENDING, State, moved_from, moved_warning, remember_place
from tox_venvsync._tox_compat import (
    follow_env_dir,
    make_work_dir_first,
    python_info,
    recreated_by_record,
    release_tox_redirect,
    run_recreate_commands,
)
from tox_venvsync._values import replace

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from tox.config.cli.parser import Parsed
    from tox.config.sets import CoreConfigSet
    from tox.tox_env.api import ToxEnvCreateArgs
    from tox.tox_env.python.api import PythonInfo
    from tox.util.json_types import JsonValue

    from tox_venvsync._location import Found
    from tox_venvsync._lock._request import Request
    from tox_venvsync._sync import LocalWheel, LockAhead, Outcome, SyncSpec
    from tox_venvsync._target import Target

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover - depends on the interpreter
    import tomli as tomllib

_LOGGER = logging.getLogger(__name__)
#: what a sync that tox's Ctrl-C stopped says (as ``venvsync`` says it, see ``_entry.INTERRUPTED``)
INTERRUPTED = "interrupted; the next run finishes or redoes what was started"
#: set to 1 to sync from the cache only, as --sync-offline does
OFFLINE_ENV = "TOX_VENVSYNC_OFFLINE"


#: tox-uv's package types (its default runner's and lock runner's) and this runner's that does the same
_TOX_UV_PACKAGE_TYPES = {"uv": "wheel", "uv-editable": "editable"}


#: the ``deps`` arguments that name a file whose lines pip reads
_FILE_OPTIONS = ("-r", "-c", "--requirement", "--constraint")


class VenvSyncRunner(VirtualEnv, PythonRun):
    """A virtualenv at ``env_location``, synced exactly from the project's lockfile by our own engine."""

    def __init__(self, create_args: ToxEnvCreateArgs) -> None:
        #: the base interpreter as virtualenv's discovery describes it (see :meth:`_get_python`)
        self._interpreter: Any = None
        #: what making the venv's directory created (see ``_location.missing_from``), set before it is made
        self._venvsync_missing_from: Path | None = None
        #: the same, once this run made the venv (``False``: it did not): removed when the setup fails
        self._venvsync_made: Path | Literal[False] | None = False
        #: the ``pyproject.toml`` files this environment read (see ``_pyproject``)
        self._venvsync_parsed: _Parsed = {}
        #: the lockfile, once found (see ``_lock_path``)
        self._venvsync_lock: Path | None = None
        #: the threads working out ``env_location`` for tox's ``env_dir`` now (see :meth:`_location_for_env_dir`)
        self._venvsync_locating: set[int] = set()
        #: tox's Ctrl-C, for the sync running in this environment's thread (see :meth:`interrupt`)
        self._venvsync_interrupt = Interrupt()
        #: whether ``--env-location`` put the venv where it is (see :meth:`_env_location`), for the sentences
        self._venvsync_moved: bool = False
        super().__init__(create_args)

    @staticmethod
    def id() -> str:
        """The runner's name, as ``runner = venvsync`` selects it."""
        return "venvsync"

    @property
    def _package_tox_env_type(self) -> str:
        return "virtualenv-pep-517"

    @property
    def _external_pkg_tox_env_type(self) -> str:
        return "virtualenv-cmd-builder"

    @property
    def _package_types(self) -> tuple[str, ...]:
        return ("wheel", "sdist", "sdist-wheel", "editable", "deps-only", "skip", "external")

    @property
    def pkg_type(self) -> str:
        """tox's, refusing tox-uv's own package types in one sentence that names the type to set here."""
        pkg_type = self.conf.get("package", str)
        if (instead := _TOX_UV_PACKAGE_TYPES.get(pkg_type)) is not None:
            msg = f"package = {pkg_type} is tox-uv's package type; set package = {instead}, which does the same here"
            raise HandledError(msg)
        return super().pkg_type

    @property
    def default_pkg_type(self) -> str:
        """``wheel`` for a project its tool builds, else ``skip``; ``skip`` too for only_groups (uv's rule)."""
        root = self.core["tox_root"]
        if not any((root / name).exists() for name in ("pyproject.toml", "setup.py", "setup.cfg")):
            return "skip"
        flags = (*self.conf["sync_flags"], *self.conf["uv_sync_flags"])
        only_dev = any("--only-dev" in flag.split() for flag in flags)  # read whole when the env is set up
        # what uv installs of it: nothing
        if (
            self.conf["only_groups"]
            or only_dev
            or self._other_members_only(root, flags)
            or _not_built_by_its_tool(root, self._venvsync_parsed)
        ):
            return "skip"
        return "wheel"

    def _other_members_only(self, root: Path, flags: tuple[str, ...]) -> bool:
        """Whether ``--package`` names only workspace members other than the project: uv sync installs none of it."""
        if not any("--package" in flag for flag in flags):  # most environments: the flags are not parsed
            return False
        try:
            named = self._sync_flags.package
        except VenvSyncError:  # the sync says what is wrong with the flags, in one sentence
            return False
        project = _project_names(root, self._venvsync_parsed)
        return bool(named) and not {canonicalize_name(name) for name in named} & project

    def register_config(self) -> None:
        """Tox's keys plus this runner's (see docs/reference/config.rst)."""
        super().register_config()
        self.conf.add_config(
            keys=["env_location"],
            of_type=Path,
            default=lambda conf, name: conf.core["work_dir"] / self.name,  # noqa: ARG005
            post_process=self._env_location,
            desc="where the virtualenv lives (tox's env_dir follows it); relative paths start at the tox root; "
            "the --env-location option overrides it",
        )
        self.conf.add_config(
            keys=["lock_file"],
            of_type=str,
            default=lambda conf, name: self._pylock_path(),  # noqa: ARG005
            desc="the lockfile to sync the environment from, relative to the tox root (default: tox's pylock key); "
            f"empty means the first of {', '.join(DETECTED)} found there",
        )
        self.conf.add_config(
            keys=["lock_format"],
            of_type=str,
            default="",
            desc=f"the lockfile's format ({', '.join(sorted(READERS))}); empty means detect it from the file name",
        )
        self.conf.add_config(
            keys=["no_default_groups"],
            of_type=bool,
            default=lambda conf, name: bool(self.conf["dependency_groups"]),  # noqa: ARG005
            desc="leave out the lock's default dependency groups (default: true when dependency_groups names any)",
        )
        self.conf.add_config(
            keys=["only_groups"],
            of_type=set[str],
            default=set(),
            post_process=lambda names: {canonicalize_name(name) for name in names},
            desc="install only these dependency groups of the lock: not the project or its dependencies (as uv sync "
            "--only-group)",
        )
        for key, desc in (
            (
                "sync_flags",
                (
                    "more of uv sync's flags: --all-extras, --no-extra, --all-groups, --no-group, --no-dev, "
                    "--only-dev, --package, --all-packages, --no-editable, --frozen"
                ),
            ),
            ("uv_sync_flags", "tox-uv's key: read as sync_flags (both may be set)"),
        ):
            self.conf.add_config(
                keys=[key],
                of_type=list[str],
                default=[],
                desc=desc,
            )
        self.conf.add_config(
            keys=["package_root", "setupdir"],
            of_type=Path,
            default=lambda conf, name: self._core_package_root,  # noqa: ARG005
            post_process=lambda path: Path(os.path.normpath(self.core["tox_root"] / path)),
            desc="tox-uv's key: the project's directory, where the lock is looked for (default: the [tox] section's)",
        )
        self.conf.add_config(
            keys=["exact"],
            of_type=bool,
            default=True,
            desc="remove packages the lock (and deps) do not name; false keeps them, as uv sync --inexact",
        )
        self.conf.add_config(
            keys=["venv_seed", "uv_seed"],
            of_type=bool,
            default=False,
            desc="install pip (and setuptools/wheel where virtualenv does) when creating the virtualenv",
        )
        self.conf.add_config(
            keys=["compile_bytecode"],
            of_type=bool,
            default=False,
            desc="compile every module of the environment after a sync that changed it, as pip does",
        )
        follow_env_dir(self.conf, self._location_for_env_dir, lambda: self.core["tox_root"])

    def _location_for_env_dir(self) -> Path:
        """``env_location``, the default of tox's ``env_dir``; one sentence for an ``env_location`` built from it.

        ``{env_dir}`` (or a path in the venv: ``{env_site_packages_dir}``...) in ``env_location`` asks for the value
        being worked out: tox recursed until Python's limit, and a path in the venv ended in a traceback.
        """
        thread = threading.get_ident()
        if thread in self._venvsync_locating:  # asked again while working it out: env_location names env_dir
            raise HandledError(_built_from_itself("env_dir"))
        self._venvsync_locating.add(thread)
        try:
            location: Path = self.conf["env_location"]
        finally:
            self._venvsync_locating.discard(thread)
        return location

    def _refuse_while_locating(self, substitution: str) -> None:
        """A path in the venv asked for while ``env_location`` is worked out: it cannot be known before it."""
        if threading.get_ident() in self._venvsync_locating:
            raise HandledError(_built_from_itself(substitution))

    def _env_location(self, value: Path) -> Path:
        selected = _selected(self.options, self.name, self.core, lambda: self.conf["labels"])
        # --env-location moves the envs of this run only: tox works out the others' directories too (its .venv
        # pointer to the dev env), and they stay where their env_location says
        template: str | None = getattr(self.options, "env_location", None)
        option = bool(template) and selected is not False
        if template and option:
            value = Path(template.replace("{env_name}", self.name)).expanduser()
        self._venvsync_moved = option
        if "\0" in str(value):  # no system call takes it: a stray byte in tox.ini, or a variable's value
            msg = f"env_location {str(value)!r} holds a NUL character, which no path can; correct env_location"
            raise HandledError(msg)
        # tox expands neither ~ nor $HOME: the venv went to a directory named ~ or $HOME in the project, one
        # `rm -rf ~` from the home (an environment that does not run makes nothing there, and does not stop the others)
        if selected is not False and (unexpanded := unexpanded_start(value, "env_location", in_tox=True)):
            raise HandledError(unexpanded)
        root: Path = self.core["tox_root"]
        location = kernel_path(root / value)  # a ".." after a linked directory, as the system finds it
        if selected and getattr(self.options, "command", None) in _RUNNING_COMMANDS:
            self._claim(location, option=option)
        return location

    def _claim(self, location: Path, *, option: bool) -> None:
        """Refuse a location another environment of this run has: one would empty or change the other's venv.

        ``option``: the location comes from ``--env-location``; a template without ``{env_name}`` is refused only
        when several of the environments that run (as tox selects them: ``-e``, ``-m``, ``-f``, ``--skip-env``,
        ``env_list``) are ``venvsync`` environments it moves.
        """
        with _CLAIMING:  # kept on tox's parsed options of this run: one run, one table, gone with it
            claimed: dict[str, str] = vars(self.options).setdefault("_venvsync_claimed", {})
            # by real path: two spellings of one directory (a linked parent) are one venv
            mine = os.path.realpath(location)
            other = claimed.setdefault(mine, self.name)
            nested = [(name, path) for path, name in claimed.items() if name != self.name and _nested(path, mine)]
        if other != self.name and option:
            msg = "--env-location must contain {env_name} when several environments run, or they share one venv"
            raise HandledError(msg)
        if other != self.name:
            msg = (
                f"{other} and {self.name} both have env_location {location} and both run now, so they would share "
                "one venv (tox p would change it under the other's commands); put {env_name} in env_location"
            )
            raise HandledError(msg)
        if nested:  # one venv inside the other: recreating the outer one empties it, the inner venv with it
            (inner, inner_path), (outer, outer_path) = sorted(
                [(self.name, mine), nested[0]], key=lambda claim: len(claim[1]), reverse=True
            )
            msg = (
                f"{inner}'s env_location {inner_path} lies inside {outer}'s {outer_path}, and both run now: recreating "
                f"{outer}'s venv would remove {inner}'s with it; give each a directory of its own, side by side "
                "(end env_location with {env_name})"
            )
            raise HandledError(msg)

    # --- where the venv lives: every path through tox that creates or deletes it passes the guard

    @property
    def _protected(self) -> Mapping[Path, str]:
        return protected_paths(self.core["tox_root"])

    @property
    def _tox_dirs(self) -> frozenset[str]:
        """The tmp and log directories tox keeps inside the env directory (its default layout)."""
        return frozenset(d.name for d in (self.env_tmp_dir, self.env_log_dir) if d.parent == self.env_dir)

    def setup(self) -> None:
        """Set the environment up while holding its lock, so two runs on one location take turns."""
        # where tox.ini sets env_dir, the venv is there and env_location is not read: sentences name env_dir; where
        # --env-location moved it, they name the option the user typed, not a key tox.ini may not even have
        named_as = self._location_named
        with renamed("env_location", named_as) if named_as else contextlib.nullcontext():
            if getattr(self.options, "sync_dry_run", False):
                self._dry_run()
            self._setup_locked()

    def _setup_locked(self) -> None:
        from tox_venvsync._sync import check_keyring_providers, link_mode  # noqa: PLC0415  # see _sync_env

        interrupt = CURRENT.set(self._venvsync_interrupt)  # the sync's downloads stop on tox's Ctrl-C
        stopped = self._venvsync_interrupt.is_set
        try:
            with _one_sentence():
                link_mode()  # refused before the venv is made
                check_keyring_providers(self._tool_environ())  # as is a keyring provider uv or pip would refuse
                with taking_turns(self._cache, self.env_dir, waiting=self._waiting, stopped=stopped):
                    try:
                        super().setup()
                    except BaseException:
                        self._undo_creation()
                        raise
                    _readable_by_all(self.env_dir / ".tox-info.json")
        except BaseException:
            if stopped():  # a wait or a download cut short, or a build whose backend had the Ctrl-C too
                raise Fail(INTERRUPTED) from None
            raise
        finally:
            CURRENT.reset(interrupt)

    def _waiting(self) -> None:
        _LOGGER.warning("%s", waiting_for(self.env_dir))

    def interrupt(self) -> None:
        """Tox's Ctrl-C (from its main thread): also ends the downloads of a sync under way in this env's thread.

        tox stops the commands it runs itself; the sync is none, and went on downloading until its files were
        whole (then installed them) while tox waited for it and ignored any further Ctrl-C.
        """
        super().interrupt()
        self._venvsync_interrupt.set()

    @property
    def _location_named(self) -> str | None:
        """What set the venv's path when it is not ``env_location``: ``env_dir`` in tox.ini, or ``--env-location``."""
        if self._env_dir_set:
            return "env_dir"
        self.env_dir  # noqa: B018  # works the location out, and with it whether --env-location gave it
        return "--env-location" if self._venvsync_moved else None

    @property
    def _env_dir_set(self) -> bool:
        """Whether tox.ini (or tox's ``-x``) sets ``env_dir`` for this environment, over our ``env_location``."""
        keys = ("env_dir", "envdir")
        return any(key in loader or key in loader.overrides for loader in self.conf.loaders for key in keys)

    def _undo_creation(self) -> None:
        """A venv this run made and could not fill (a broken lock, offline, a failed build) is not left behind.

        One that cannot be removed is told, with what is left where: the error swallowed left it without a word.
        """
        made_from = self._venvsync_made
        if made_from is False:
            return
        with _CLAIMING:
            run_made = frozenset(self._run_made)
        try:
            undo_creation(self.env_dir, self._protected, made_from, tox_dirs=self._tox_dirs, run_made=run_made)
        except (OSError, VenvSyncError) as exc:  # the first error is the one to report; this one is told, not raised
            _LOGGER.warning("%s", left_behind(self.env_dir, exc))

    @property
    def _run_made(self) -> set[Path]:
        """The directories this run's environments made for their venvs (kept on tox's options, as claims are)."""
        made: set[Path] = vars(self.options).setdefault("_venvsync_run_made", set())
        return made

    @property
    def _core_package_root(self) -> Path:
        """The ``package_root`` of tox's core, else the tox root (before tox 4.67.5 it may be relative to that)."""
        tox_root: Path = self.core["tox_root"]
        try:
            root: Path = self.core["package_root"]
        except KeyError:
            return tox_root
        return Path(os.path.normpath(tox_root / root))

    def _pylock_path(self) -> str:
        """The path of the ``pylock`` key, from where tox's own runner reads it: the core's ``package_root``.

        ``lock_file`` starts at the tox root; read through it, ``pylock = pylock.toml`` with ``package_root = app``
        in ``[tox]`` named another file than tox's own runner installs (``app/pylock.toml``).
        """
        pylock: str = self.conf["pylock"]
        return str(self._core_package_root / pylock) if pylock else ""

    @property
    def _package_root(self) -> Path:
        """The environment's ``package_root`` (tox-uv's key), by default the core's: where the project is."""
        root: Path = self.conf["package_root"]
        return root

    def _check_package_root(self) -> None:
        """Refuse an environment's own ``package_root`` where tox builds the project (from the core's)."""
        if self.pkg_type in {"wheel", "sdist", "sdist-wheel", "editable"} and (
            self._package_root != self._core_package_root
        ):
            msg = (
                f"package_root = {self._package_root} is set for this environment, but tox builds the project from "
                f"{self._core_package_root} (the package_root of the [tox] section); set it there instead, or set "
                "package = skip to install only the lock's packages"
            )
            raise BadInputError(msg)

    @property
    def _cache(self) -> Cache:
        return Cache(default_cache_dir())

    def _setup_env(self) -> None:
        from tox_venvsync._target import OLDEST, too_old  # noqa: PLC0415  # see _sync_env

        # a value of the wrong type, or selection flags that cannot be read, stop before the venv is made or changed
        self.conf["compile_bytecode"]
        self._request(project=".")
        self._check_package_root()
        self._check_lock()

        if tuple(self.base_python.version_info[:2]) < OLDEST:  # before a venv is made that could not be synced
            version = ".".join(map(str, self.base_python.version_info[:2]))
            raise InterpreterError(too_old(self.base_python.extra["executable"], version))
        if self.env_dir.is_file() and not self.env_dir.is_symlink():  # tox's .venv redirect, which tox would remove
            release_tox_redirect(self.env_dir, self.core["work_dir"])
        found = inspect(self.env_dir, self._protected, tox_dirs=self._tox_dirs)  # before tox writes into it
        if found.kind is Kind.MISSING:
            make_work_dir_first(found.path, self.core["work_dir"])  # tox's, private: not undone with the venv's
            self._venvsync_missing_from = missing_from(found.path)
            if self._venvsync_missing_from is not None:  # tox p: another env of this run may share its parents
                with _CLAIMING:
                    self._run_made.add(self._venvsync_missing_from)
            create_dir(found.path)
        elif found.kind is Kind.EMPTY:
            create_dir(found.path)  # refused if this user may not write it
        python = self.env_dir / "bin" / "python"
        if (
            found.kind is Kind.VENV
            and not python.exists()
            and (self.env_dir / ".tox-info.json").is_file()
            and not cut_off(self.env_dir)
        ):
            # tox's record matches the interpreter, so tox would keep it and its commands find no python (a venv
            # without a record is recreated by create_python_env, see _why_recreated)
            raise Recreate(no_interpreter(self.env_dir))
        super()._setup_env()

    def _clean(self, transitive: bool = False) -> None:  # noqa: FBT001, FBT002  # tox's signature
        if self._run_state["clean"]:
            return
        found = inspect(self.env_dir, self._protected, tox_dirs=self._tox_dirs)  # a non-venv is refused untouched
        if found.kind is Kind.VENV and not self.conf["recreate"] and not cut_off(self.env_dir):
            self._check_before_recreating()  # tox recreates it (another interpreter): emptied once the input is good
        if found.kind is not Kind.MISSING:
            _LOGGER.warning("remove virtual environment %s", self.env_dir)
            run_recreate_commands(self)
            with _one_sentence():
                remove_venv(self.env_dir, self._protected, keep_dir=False, tox_dirs=self._tox_dirs)
        super()._clean(transitive)  # the directory is gone: tox only resets its caches and package envs

    def create_python_env(self) -> None:
        """Create the venv, or adopt the one found there when its Python matches."""
        found = inspect(self.env_dir, self._protected, tox_dirs=self._tox_dirs)
        if found.kind is Kind.VENV:
            why = self._why_recreated(found, tuple(self.base_python.version_info[:3]))
            if why is None:
                _LOGGER.warning("adopt the existing virtual environment %s", self.env_dir)
                return
            if not cut_off(self.env_dir):
                self._check_before_recreating()  # a working venv is emptied only once the input is good
            if why == ANOTHER_PYTHON:  # which Python it had and which it gets (a venv tox's record did not cover)
                why = made_for(self.env_dir, "base_python", ".".join(map(str, self.base_python.version_info[:3])))
            _LOGGER.warning("recreate %s: %s", self.env_dir, why)
            remove_venv(self.env_dir, self._protected, keep_dir=True, tox_dirs=self._tox_dirs)
        else:
            self._say_the_default_place_is_left()
        self._venvsync_made = self._venvsync_missing_from
        with creating(self.env_dir):
            if not self._created_in_process():
                with naming(self.env_dir):  # virtualenv's error of a full disk names no file
                    super().create_python_env()
                return
            python, system_site_packages, copies = (
                self.base_python.extra["executable"],
                self.conf["system_site_packages"],
                self.conf["always_copy"],
            )
            # at -v, as virtualenv says "create virtual environment via CPython3Posix(dest=...)" for the venvs it makes
            _LOGGER.info(
                "create virtual environment via venv(dest=%s, python=%s, system_site_packages=%s, symlinks=%s)",
                self.env_dir,
                python,
                system_site_packages,
                not copies,
            )
            create_in_process(self.env_dir, python, system_site_packages=system_site_packages, copies=copies)

    def _say_the_default_place_is_left(self) -> None:
        """Say that a venv at tox's default place stays there when a new one is made at ``env_location`` elsewhere.

        A ``.tox/py312`` of tox's own runner (or of this one before ``env_location`` was set) is neither used nor
        removed; nothing said so, and it stayed unnoticed (found by QA).
        """
        default = Path(self.core["work_dir"]) / self.conf.name
        if default != self.env_dir and (default / "pyvenv.cfg").is_file():
            _LOGGER.warning(
                "the virtual environment at %s (tox's default env_dir) is left as it is: this environment lives at %s "
                "(env_location); remove that one yourself when you no longer need it",
                default,
                self.env_dir,
            )

    def _check_before_recreating(self) -> None:
        """Read, select and fetch the lock before a working venv is emptied to be made again."""
        if self._install_skipped:  # nothing is installed into the new venv: no input
            return
        from tox_venvsync._sync import check_before_recreating  # noqa: PLC0415  # see _sync_env
        from tox_venvsync._target import base_facts  # noqa: PLC0415

        cache = self._cache
        check_before_recreating(self._spec(), base_facts(cache.root, self.base_python.extra["executable"]), cache)

    def _virtualenv_needed(self) -> bool:
        """Whether only virtualenv's session can make the venv asked for: pip seeded, or virtualenv settings."""
        if self.conf["venv_seed"] or self._virtualenv_session is not None:
            return True
        if "virtualenv_spec" in self.conf and self.conf["virtualenv_spec"]:  # noqa: RUF019  # newer tox only; see _get_python
            return True
        env = self.virtualenv_env_vars()
        settings = {key for key in env if key.startswith("VIRTUALENV_")} - _VIRTUALENV_DEFAULTS
        if _truthy(env.get("VIRTUALENV_SYMLINKS", "")):
            settings.discard("VIRTUALENV_SYMLINKS")  # what the standard library's venv does here too
        return bool(settings)

    @property
    def installer(self) -> Pip:
        """The pip installer tox knows, except that listing what is installed reads the venv, not pip."""
        if self._installer is None:
            self._installer = _Listing(self)
        return self._installer

    def python_cache(self) -> dict[str, JsonValue]:
        """The interpreter's version and path; not virtualenv's version, so upgrading it never recreates."""
        base = Python.python_cache(self)
        base["executable"] = str(self.base_python.extra["executable"])
        if self.conf["system_site_packages"]:
            base["system_site_packages"] = True
        return base

    # --- the interpreter and the venv's paths, without virtualenv's session unless a venv is created

    def _get_python(self, base_python: list[str]) -> PythonInfo | None:
        """The interpreter virtualenv's session would pick, found without building the session."""
        # newer tox only; its ConfigSet.get takes a type, not a default
        subprocess_spec = self.conf["virtualenv_spec"] if "virtualenv_spec" in self.conf else ""  # noqa: SIM401
        if self._virtualenv_session is not None or subprocess_spec:
            return super()._get_python(base_python)  # a session exists, or virtualenv runs in a subprocess
        try_first = getattr(self.options, "discover", None) or []
        # the cache keeps the answer when the interpreter running tox gave it, while that one is unchanged
        env = self.virtualenv_env_vars()
        self._interpreter = discover(base_python, try_first_with=try_first, env=env, cache=self._cache)
        return None if self._interpreter is None else python_info(self._interpreter)

    def _layout(self) -> VenvLayout | None:
        """The venv's paths, predicted from the interpreter; ``None`` when virtualenv's session must answer."""
        if self._virtualenv_session is not None:
            return None
        try:
            self.base_python  # noqa: B018  # discovers the interpreter
        except (HandledError, Skip, Fail):
            return None
        if self._interpreter is None:
            return None
        layout = VenvLayout.of(self.env_dir, self._interpreter)
        return layout if layout.exists(self.env_dir) or self._created_in_process() else None

    def _created_in_process(self) -> bool:
        """Whether a missing venv will be made by the standard library's ``venv`` here (its layout is predicted)."""
        return not self._virtualenv_needed() and can_create_in_process(self.base_python.extra["executable"])

    def env_python(self) -> Path:
        """The venv's interpreter."""
        self._refuse_while_locating("env_python")
        layout = self._layout()
        return layout.python if layout is not None else super().env_python()

    def env_bin_dir(self) -> Path:
        """The venv's scripts directory."""
        self._refuse_while_locating("env_bin_dir")
        layout = self._layout()
        return layout.scripts if layout is not None else super().env_bin_dir()

    def env_site_package_dir(self) -> Path:
        """The venv's pure-Python site-packages."""
        self._refuse_while_locating("env_site_packages_dir")
        layout = self._layout()
        return layout.purelib if layout is not None else super().env_site_package_dir()

    def env_site_package_dir_plat(self) -> Path:
        """The venv's platform site-packages."""
        self._refuse_while_locating("env_site_packages_dir_plat")
        layout = self._layout()
        return layout.platlib if layout is not None else super().env_site_package_dir_plat()

    def prepend_env_var_path(self) -> list[Path]:
        """The directories put first on ``PATH`` for the commands."""
        layout = self._layout()
        return [layout.scripts] if layout is not None else super().prepend_env_var_path()

    def virtualenv_env_vars(self) -> dict[str, str]:
        """Virtualenv's settings: no pip unless ``venv_seed``."""
        env = super().virtualenv_env_vars()
        env["VIRTUALENV_NO_SEED"] = str(not self.conf["venv_seed"])
        return env

    # --- what goes into it: the lock, the project, through our engine instead of pip

    def _install_deps(self) -> None:
        """Tox's deps are installed by the sync, after the lock and pinned to it; plugins hear of it as from tox."""
        if not self._install_skipped:  # tox's --skip-env-install does not come here; tox-uv's --skip-uv-sync does
            self._on_install(self.conf.get("deps", PythonDeps), "deps")

    def _install_dependency_groups(self) -> None:
        """Groups are chosen from the lock by the sync, not installed from pyproject.toml."""

    def _install_pylock(self) -> None:
        """Tox's own ``pylock`` key becomes the default ``lock_file``; the sync installs it (and ``deps``)."""
        if not self._install_skipped:
            self._on_install(self.conf.get("deps", PythonDeps), "deps")

    def _on_install(self, arguments: PythonDeps | list[Package], of_type: str) -> None:
        """Call tox's ``tox_on_install`` hook, as tox's ``_install`` does before its installer runs.

        The sync installs without tox's installer, so the hook never fired: plugins that act before an install
        (tox-extra's check of the system packages in ``bindep.txt``, tox-gh's log group) passed these environments
        over in silence. It fires with ``deps`` before the sync and with the built project (``package``) once it is
        built, as tox's runner does; not as tox's ``pylock`` (tox's ``Pylock`` object would cost an interpreter query
        every run), ``dependency-groups`` or ``package_deps`` (the lock selects those): config.rst names these.
        """
        from tox.plugin.manager import MANAGER  # noqa: PLC0415  # where tox's own _install imports it

        section = RunToxEnv.__name__ if of_type == "package" else PythonRun.__name__
        MANAGER.tox_on_install(self, arguments, section, of_type)

    @property
    def _install_skipped(self) -> bool:
        """Whether tox's ``--skip-env-install`` or tox-uv's ``--skip-uv-sync`` is given: nothing is synced.

        tox-uv adds ``--skip-uv-sync`` to ``tox run`` for its lock runner, whose ``uv sync`` installs the lock and the
        project; a ``tox run --skip-uv-sync`` over both runners' environments synced these ones all the same.
        """
        return bool(getattr(self.options, "skip_env_install", False) or getattr(self.options, "skip_uv_sync", False))

    def _setup_with_env(self) -> None:
        if self._install_skipped:
            # tox's _setup_env says it for its own --skip-env-install: said twice, as if two steps were skipped
            if not getattr(self.options, "skip_env_install", False):
                _LOGGER.warning("skip installing dependencies and package")
            self._say_package_skipped()
        else:
            with _one_sentence():
                self._sync_env()
        # filled: a failure of the commands below is theirs, as with tox's own runner the venv and their logs stay
        self._venvsync_made = False
        self._run_extra_setup_commands()

    def _say_package_skipped(self) -> None:
        """Tox's own sentence for a project not built (``--skip-pkg-install``, ``tox exec``), as its runner says.

        Nothing was said: a run that left the project as installed before looked like one that built it.
        """
        if self.package_env is not None:
            _LOGGER.warning("skip building and installing the package")

    def _sync_env(self) -> None:
        # the engine loads only when an environment is set up, not for every tox command
        from tox_venvsync._sync import LockAhead, sync  # noqa: PLC0415
        from tox_venvsync._target import TargetMemo, base_facts  # noqa: PLC0415

        packages: list[PathPackage] = []
        # deps-only: the lock holds the project's dependencies; the project itself is not built
        if (
            self.package_env is not None
            and self.pkg_type != "deps-only"
            and not getattr(self.options, "skip_pkg_install", False)
        ):
            self._packages = self._build_packages()
            if not self.options.package_only:
                self._on_install(self._packages, "package")
            self._handle_journal_package(self.journal, self._packages)
            packages = [package for package in self._packages if isinstance(package, PathPackage)]
        elif getattr(self.options, "skip_pkg_install", False):
            self._say_package_skipped()
        if self.options.package_only:
            return
        cache = self._cache
        spec = self._spec()  # the project's wheels join it once the target is known (an sdist is built for it)
        ahead = LockAhead(spec, cache.root)  # read while the interpreter is asked, if it is
        base = self.base_python.extra["executable"]
        try:
            target = TargetMemo(
                self.env_dir, self.env_python(), base=lambda: base_facts(cache.root, base, meanwhile=ahead.read)
            ).load()
        except ReplacedInterpreterError as exc:  # base_python's record unchanged, the venv's own python another one
            raise Recreate(exc.reason) from exc
        moved = moved_from(self.env_dir)  # a venv copied here (a restored CI cache) is found in sync, as by uv
        self._refuse_missing_offline(spec, target, ahead, packages)  # before an sdist's build, as the sync does
        with self._project_wheels(packages, cache, target) as project:
            outcome = sync(replace(spec, project=project), target, cache=cache, ahead=ahead)
        remember_place(self.env_dir)
        if moved is not None:
            _LOGGER.warning("%s", moved_warning(self.env_dir, moved, "recreate it here (tox -r)"))
        self._report(outcome)
        self._record(spec, outcome)
        if outcome.plan is not None and not self.conf["lock_file"]:  # compared: a lock beside changed, or this one
            _tell_other_locks(spec.lock_path, [entry.partition(":")[0] for entry in spec.beside])
        if self.conf["compile_bytecode"]:
            from tox_venvsync._bytecode import compile_venv  # noqa: PLC0415  # see the start of this method

            if compile_venv(self.env_dir, target, cache.unpacked_dir, synced=outcome.plan is not None):
                _LOGGER.info("compiled the bytecode of every module")

    def _dry_run(self) -> None:
        """Print what a sync would do and skip the environment: nothing is created, changed or run."""
        from tox_venvsync._sync import sync  # noqa: PLC0415  # see _sync_env
        from tox_venvsync._target import base_facts, planned_target  # noqa: PLC0415

        recreate = None
        with _one_sentence():
            found = inspect(self.env_dir, self._protected, tox_dirs=self._tox_dirs)
            base = base_facts(self._cache.root, self.base_python.extra["executable"], remember=False)
            version = tuple(self.base_python.version_info[:3])
            # emptied and started again: tox's -r (recreate = true) asks for it, or the venv cannot be adopted
            asked = "--recreate (or recreate = true) asks for it" if self.conf["recreate"] else None
            if found.kind is Kind.VENV and (
                why := asked or self._why_recreated(found, version) or self._recreated_by_tox()
            ):
                recreate = recreate_line(self.env_dir, why, "base_python", base.python_full_version)
            target = planned_target(self.env_dir, self.env_python, base, recreated=recreate is not None)
            spec = self._spec()
            outcome = sync(spec, target, cache=self._cache, dry_run=True)
        assert outcome.plan is not None  # noqa: S101  # a dry run always plans
        for line in [*([recreate] if recreate else []), *outcome.plan.lines()]:
            _LOGGER.warning("%s", line)
        if self.journal:  # the plan in --result-json too, as venvsync sync --dry-run --json prints it
            record: dict[str, JsonValue] = {"lock_file": str(spec.lock_path), "dry_run": True}
            record.update({"recreate": True} if recreate else {})
            record.update(cast("dict[str, JsonValue]", outcome.plan.as_json()))
            self.journal["venvsync"] = record
        raise Skip(self._dry_run_skipped())

    def _dry_run_skipped(self) -> str:
        """Why a dry run skips the environment; the project is named only where a run would build it."""
        if self.pkg_type in {"skip", "deps-only"} or getattr(self.options, "skip_pkg_install", False):
            return "sync dry run: nothing was changed"
        return "sync dry run: nothing was changed (the project itself is left out)"

    def _recreated_by_tox(self) -> str | None:
        """Why tox makes the venv again by its record of it (``.tox-info.json``), read only; ``None``: it keeps it.

        tox decides this in its setup, which a dry run does not reach: for a venv of tox's own runner (or tox-uv's)
        switched to this one, the plan upgraded it in place and kept its pip, and the run then removed it and
        installed everything (found by QA).
        """
        return recreated_by_record(
            self.env_dir, {"name": self.conf.name, "type": type(self).__name__}, self.python_cache()
        )

    def _why_recreated(self, found: Found, version: tuple[int, ...]) -> str | None:
        """Why :meth:`create_python_env` empties the venv found and makes it again; ``None``: it adopts it."""
        if (why := not_adopted(found, version)) is not None:
            return why
        wanted: bool = self.conf["system_site_packages"]
        if sees_system_site_packages(self.env_dir) == wanted:
            return None
        return f"it {'does not see' if wanted else 'sees'} the system site-packages (system_site_packages)"

    @contextlib.contextmanager
    def _project_wheels(self, packages: list[PathPackage], cache: Cache, target: Target) -> Iterator[list[LocalWheel]]:
        """The project's wheels as the sync installs them; an sdist is built into one (removed afterwards)."""
        from tox_venvsync._sync import LocalWheel  # noqa: PLC0415  # see _sync_env

        # a package built here comes from the project's directory; one given (--installpkg, external) is its own source
        source = None if self.pkg_type == "external" else self._package_root
        sdists = [package for package in packages if package.path.suffix != ".whl"]  # tox gives wheels and sdists
        with contextlib.ExitStack() as stack:
            built: dict[Path, Path] = {}
            if sdists:
                from tox_venvsync._build import Builder  # noqa: PLC0415  # only when building

                into = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=cache.tmp_dir(), prefix="project-")))
                lock, lock_format = self._lock_path(), self.conf["lock_format"] or None
                builder = Builder(
                    cache,
                    target,
                    environ=self._tool_environ(),
                    offline=self._offline,
                    scratch=cache.tmp_dir(),
                    constraints=lambda: build_constraints(lock, lock_format),  # uv builds the project under them too
                )
                built = {sdist.path: builder.from_project_sdist(sdist.path, into) for sdist in sdists}
            yield [
                LocalWheel(
                    path=built.get(package.path, package.path),
                    editable=isinstance(package, EditablePackage),
                    source=source,
                    sdist=package.path if package.path in built else None,
                )
                for package in packages
            ]

    def _refuse_missing_offline(
        self, spec: SyncSpec, target: Target, ahead: LockAhead, packages: list[PathPackage]
    ) -> None:
        """Offline, the files the cache lacks are told before the project's sdist is built into a wheel.

        That build installs the project's build requirements, which offline pip takes only from its find-links:
        it failed on them where the files missing were to be told (see ``_sync.refuse_missing_offline``).
        """
        from tox_venvsync._sync import build_needs, refuse_missing_offline  # noqa: PLC0415  # see _sync_env

        sdists = [package.path for package in packages if package.path.suffix != ".whl"]  # the others are built
        if not spec.offline or not sdists:
            return
        tree = None if self.pkg_type == "external" else self._package_root  # a given sdist's own are not known
        building = [need for sdist in sdists if (need := build_needs(spec, f"the project from {sdist}", tree))]
        refuse_missing_offline(spec, target, self._cache, ahead=ahead, building=building)

    def _spec(self) -> SyncSpec:
        """What to sync, without the project's wheels (they are added once built)."""
        from tox_venvsync._sync import SyncSpec  # noqa: PLC0415  # see _sync_env

        lock_path, lock_format = self._lock_path(), self.conf["lock_format"] or None
        uv = lock_format == "uv" or (lock_format is None and lock_path.name == "uv.lock")
        # uv sync in the project's directory: a workspace member's own dependencies, as tox-uv gets them
        request = self._request(project=workspace_project(lock_path, self._package_root) if uv else ".")
        return SyncSpec(
            venv=self.env_dir,
            lock_path=lock_path,
            lock_format=lock_format,
            request=request,
            # with only_groups and no package, a group that names the project installs it from the lock, as uv
            project_names=frozenset()
            if request.only_groups and self.pkg_type == "skip"
            else _project_names(self._package_root, self._venvsync_parsed) | self._project_installed_earlier(),
            offline=self._offline,
            deps=self._deps_args(),
            deps_content=self._deps_content(),
            deps_dir=self.core["toxinidir"],  # as tox's own pip runs: -r and relative paths start at tox.ini
            paths_from=self.core["toxinidir"],  # a requirements lock's relative paths too, as pip -r reads them there
            exact=self.conf["exact"],
            environ=self._tool_environ(),
            beside=() if self.conf["lock_file"] else _beside(lock_path),
        )

    def _project_installed_earlier(self) -> frozenset[str]:
        """The project's names an earlier sync installed, when this one does not build it: they stay, as documented.

        A project named in ``setup.cfg``, ``setup.py`` or Poetry 1's ``[tool.poetry]`` is not known from
        ``[project] name``: without its recorded name, ``package = skip`` (or ``deps-only``, ``--skip-pkg-install``)
        removed it as a package the lock does not name.
        """
        if self.pkg_type in {"skip", "deps-only"} or getattr(self.options, "skip_pkg_install", False):
            return State(self.env_dir).project_names()
        return frozenset()  # built now: its wheel names it

    @property
    def _offline(self) -> bool:
        """``--sync-offline`` (or ``TOX_VENVSYNC_OFFLINE``): install from the cache only, download nothing."""
        return bool(getattr(self.options, "sync_offline", False)) or _truthy(os.environ.get(OFFLINE_ENV, ""))

    def _deps_args(self) -> list[str]:
        """The pip arguments of ``deps``, with tox's ``constraints`` files after them, as tox's own pip install runs.

        The constraints alone install nothing: without ``deps`` there is no pip run for them to constrain.
        """
        deps = self.conf.get("deps", PythonDeps).as_root_args
        if not deps:
            return []
        return [*deps, *self._constraints().as_root_args]

    def _constraints(self) -> PythonConstraints:
        """The ``constraints`` setting of tox (its pip installer declares the key; it is read for the ``deps`` pip)."""
        _ = self.installer  # declares the pip keys: constraints, install_command, ...
        return self.conf.get("constraints", PythonConstraints)

    def _deps_content(self) -> list[str]:
        """What ``deps`` ask for with the files they name read, when they name one (else nothing: the lines say it).

        The files of tox's ``constraints`` are read too: a line changed there changes what pip installs.
        """
        deps = self.conf.get("deps", PythonDeps)
        if not deps.as_root_args:
            return []
        names_a_file = any(arg.startswith(_FILE_OPTIONS) for arg in deps.as_root_args)
        files: list[PythonDeps | PythonConstraints] = [deps] if names_a_file else []
        if (constraints := self._constraints()).as_root_args:
            files.append(constraints)
        content: list[str] = []
        for file in files:
            try:
                options, requirements = file.unroll()
            except (ValueError, OSError):  # a file that does not read: pip says so when it runs
                continue
            content.extend([*options, *requirements])
        return content

    def _request(self, project: str) -> Request:
        return make_request(
            extras=self.conf["extras"],
            groups=self.conf["dependency_groups"],
            only_groups=self.conf["only_groups"],
            no_default_groups=self.conf["no_default_groups"],
            flags=self._sync_flags,
            project=project,
            # a wheel of the project (or one built from its sdist) tests what ships: so do the lock's editable
            # trees (workspace members), as tox-uv's lock runner passes uv sync --no-editable for package = wheel
            no_editable=self.pkg_type in {"wheel", "sdist", "sdist-wheel"},
            # uv sync --frozen when UV_FROZEN is set, as tox-uv passes it
            frozen=_truthy(self.environment_variables.get("UV_FROZEN", "")),
        )

    @property
    def _sync_flags(self) -> argparse.Namespace:
        """``uv_sync_flags`` (tox-uv's key) and ``sync_flags`` together, each checked under its own name."""
        flags = [*self.conf["uv_sync_flags"], *self.conf["sync_flags"]]
        if self.conf["uv_sync_flags"]:
            parse_sync_flags(self.conf["uv_sync_flags"], "uv_sync_flags")
        return parse_sync_flags(flags, "sync_flags")

    @property
    def environment_variables(self) -> dict[str, str]:
        """tox's, with ``UV_PROJECT_ENVIRONMENT`` at the venv as tox-uv's lock runner sets it (``uv run`` uses it)."""
        values = super().environment_variables
        values["UV_PROJECT_ENVIRONMENT"] = str(self.env_dir)
        return values

    def _default_pass_env(self) -> list[str]:
        passed = super()._default_pass_env()
        passed.extend(("UV_*", "PKG_CONFIG_PATH"))  # uv's settings and binary builds' search path, as tox-uv passes
        return passed

    def _tool_environ(self) -> dict[str, str]:
        """What builds, pip (``deps``) and the index settings see: this process's environment and ``set_env``.

        tox-uv runs uv with the environment's variables, so a ``set_env`` (a build's setting, ``PIP_INDEX_URL``)
        reaches its builds; here they are laid over tox's own environment, which builds always saw.
        """
        values = self.environment_variables
        return {**os.environ, **{key: values[key] for key in self.conf["set_env"] if key in values}}

    def _check_lock(self) -> None:
        """No lockfile stops the run before the venv is made and the project built for a sync that cannot run."""
        if self._install_skipped or getattr(self.options, "package_only", False):
            # nothing is synced and the lock is not read, but a lock_format no reader has is a typo in the
            # configuration all the same, refused as tox refuses a bad value of its own keys whatever the run does
            if (lock_format := self.conf["lock_format"]) and lock_format not in READERS:
                msg = f"unknown {named('lock_format')} {lock_format!r}; known formats: {', '.join(sorted(READERS))}"
                raise BadInputError(msg)
            return
        if not (path := self._lock_path()).exists():  # none found is refused by _lock_path; a named one here
            raise LockFileError(path, missing())
        chosen_format(path, self.conf["lock_format"] or None)  # a lock_format no reader has, or a name that tells none

    def _lock_path(self) -> Path:
        """The lockfile, found once a run: the early check (``_check_lock``) and the sync ask for it."""
        if self._venvsync_lock is None:
            self._venvsync_lock = self._find_lock()
        return self._venvsync_lock

    def _find_lock(self) -> Path:
        root: Path = self.core["tox_root"]
        if name := self.conf["lock_file"]:
            return Path(os.path.normpath(root / name))
        # the project's directory first, where tox-uv's uv sync --directory finds it; then the tox root
        if self._package_root != root:
            with contextlib.suppress(BadInputError):
                return find_lock(self._package_root)
        return find_lock(root)

    def harvest_bytecode(self) -> None:
        """After the commands: the bytecode they compiled for modules the sync linked goes to the cache."""
        if not (self.env_dir / BYTECODE_PENDING).is_file():  # once per sync: other runs only ask this
            return
        from tox_venvsync._bytecode import harvest  # noqa: PLC0415  # see _sync_env

        count = harvest(self.env_dir, self._cache.unpacked_dir)
        _LOGGER.debug("kept %d compiled modules in the cache for the next venvs", count)

    def _record(self, spec: SyncSpec, outcome: Outcome) -> None:
        """What the sync did, under ``venvsync`` in tox's ``--result-json`` (tox's ``setup`` lists commands it ran).

        tox's runners leave their pip or uv command and its output there; the sync runs none, and a CI reading the
        file found no trace of it. ``changed``: whether the sync installed or removed anything (or ran pip for
        ``deps``); the plan's lists are there when the sync compared the venv with the lock (not on a no-op).
        """
        if not self.journal:  # tox records only for --result-json
            return
        record: dict[str, JsonValue] = {
            "lock_file": str(spec.lock_path),
            "changed": outcome.plan is not None and (outcome.applied or outcome.deps),
            "deps": outcome.deps,
            "seconds": round(outcome.seconds, 3),
        }
        if outcome.plan is not None:
            record["summary"] = outcome.plan.summary()
            record.update(cast("dict[str, JsonValue]", outcome.plan.as_json()))
        self.journal["venvsync"] = record

    @staticmethod
    def _report(outcome: Outcome) -> None:
        if outcome.plan is None or not (outcome.applied or outcome.deps):
            _LOGGER.info("in sync with the lock, nothing to do (%.3f s)", outcome.seconds)
            return
        for step in outcome.plan.changes:
            _LOGGER.info("%s", step.describe())  # one line per package at -v
        deps = " (deps installed by pip on top)" if outcome.deps else ""
        _LOGGER.warning("%s%s, %.2f s", outcome.plan.summary(), deps, outcome.seconds)


def _built_from_itself(substitution: str) -> str:
    """The sentence for an ``env_location`` that names ``substitution``, which tox works out from it."""
    what = "which follows env_location" if substitution == "env_dir" else "a path in the venv that env_location places"
    return (
        f"env_location refers to {{{substitution}}}, {what}, so it cannot be worked out; build env_location from "
        "{work_dir}, {tox_root}, {env_name} or {env:VAR} instead"
    )


def _readable_by_all(record: Path) -> None:
    """Let every user read tox's record of the venv, which tox writes for its owner alone (``mkstemp``'s 0600).

    A venv set up in an image's build stage and used by another user in the runtime image (``USER app``): tox,
    unable to read its record, takes the venv for one it never saw and writes the record again, which the
    read-only layer refuses. The record names the environment, its runner and its Python: nothing private.
    """
    with contextlib.suppress(OSError):  # a venv this run may not change keeps the mode it has
        mode = record.lstat().st_mode
        if stat.S_ISREG(mode) and ~mode & READ_BY_OTHERS:
            readable_by_all([(record, stat.S_IMODE(mode) | READ_BY_OTHERS)])


def _beside(lock: Path) -> list[str]:
    """The other lockfiles of :data:`DETECTED` beside ``lock``, as ``name:sha256`` (see ``SyncSpec.beside``).

    By content, not by modification time: a fresh checkout (a CI job restoring its venvs from a cache) gives every
    file a new time, and each such run compared the whole venv and said which lockfile it took (found by QA).
    """
    import hashlib  # noqa: PLC0415  # only where another lockfile lies beside

    found = []
    for name in DETECTED:
        if name == lock.name:
            continue
        other = lock.parent / name
        try:
            if not stat.S_ISREG(other.stat().st_mode):  # a lockfile, as find_lock takes one
                continue
            found.append(f"{name}:{hashlib.sha256(other.read_bytes()).hexdigest()}")
        except OSError:  # none there (or unreadable: find_lock passes it over too)
            continue
    return found


def _tell_other_locks(lock: Path, others: Sequence[str]) -> None:
    """Say which lockfile a sync took when another of :data:`DETECTED` lies beside it.

    An exported ``pylock.toml`` beside the ``uv.lock`` it came from is taken first, and goes stale when ``uv lock``
    runs again: the environment then matches the old export, which the user may not know they are syncing from.
    Said when the sync compared the environment with the lock: it changed something, or a lock beside changed (its
    content is in the fingerprint); a no-op with nothing changed says nothing.
    ``others``: the names of the other lockfiles there (:func:`_beside`, read for the fingerprint).
    """
    if others:
        found = f"{others[0]} is" if len(others) == 1 else f"{', '.join(others)} are"
        _LOGGER.warning(
            "synced from %s, the first of %s found in %s; %s there too: set lock_file to choose",
            lock.name,
            ", ".join(DETECTED),
            lock.parent,
            found,
        )


#: virtualenv settings that change nothing in a venv made without pip: the ones tox and this runner always
#: pass (see ``virtualenv_env_vars``; the copies and system site-packages ones are honoured in-process),
#: virtualenv's own data and the seed packages' versions; any other ``VIRTUALENV_*`` a user sets
#: (a prompt, activators, a creator...) makes the venv virtualenv's
_VIRTUALENV_DEFAULTS = frozenset(
    f"VIRTUALENV_{name}"
    for name in (
        "NO_PERIODIC_UPDATE",
        "CLEAR",
        "SYSTEM_SITE_PACKAGES",
        "COPIES",
        "DOWNLOAD",
        "NO_DOWNLOAD",
        "NO_VENV_REDIRECT",
        "PYTHON",
        "TRY_FIRST_WITH",
        "NO_SEED",
        "OVERRIDE_APP_DATA",
        "APP_DATA",
        "READ_ONLY_APP_DATA",
        "SYMLINK_APP_DATA",
        "PIP",
        "SETUPTOOLS",
        "WHEEL",
        "NO_PIP",
        "NO_SETUPTOOLS",
        "NO_WHEEL",
    )
)


class _Listing(Pip):
    """What tox shows for ``--list-dependencies`` (the default on CI) and its journal.

    Read from the dist-info directories: the venv has no pip unless ``venv_seed`` is set.
    """

    def installed(self) -> list[str]:
        from tox_venvsync._installed import scan  # noqa: PLC0415  # see _sync_env

        env = self._env
        found = scan([env.env_site_package_dir(), env.env_site_package_dir_plat()])
        return sorted(f"{name}=={dists[0].version}" for name, dists in found.items())


def _project_names(root: Path, parsed: _Parsed) -> frozenset[str]:
    """The project's own name, from ``pyproject.toml``: the lock's entry for it yields to tox's ``package``."""
    try:
        name = project_name(_pyproject(root, parsed))
    except (OSError, ValueError):  # ValueError: not TOML, or a NUL in the path (package_root)
        return frozenset()
    return frozenset({canonicalize_name(name)}) if name is not None else frozenset()


def _not_built_by_its_tool(root: Path, parsed: _Parsed) -> bool:
    """Whether the project's own tool never builds or installs it.

    uv's ``[tool.uv] package = false`` (and uv's and pdm's default for a ``pyproject.toml`` without
    ``[build-system]``), Poetry's ``package-mode = false``, pdm's ``distribution = false``. A project with a
    ``setup.py`` is built, as pip builds it.
    """
    try:
        data = _pyproject(root, parsed)
        tool = data.get("tool", {})
        switches = (
            tool.get("uv", {}).get("package"),
            tool.get("poetry", {}).get("package-mode"),
            tool.get("pdm", {}).get("distribution"),
        )
    except (OSError, ValueError, AttributeError):  # ValueError: not TOML, or a NUL in the path (package_root)
        return False
    if any(switch is not None for switch in switches):
        return any(switch is False for switch in switches)
    return "build-system" not in data and not (root / "setup.py").exists()


#: ``pyproject.toml`` files an environment parsed, by path, with the file's identity then: (inode, size, mtime)
_Parsed = dict[Path, tuple[tuple[int, int, int], dict[str, Any]]]


def _pyproject(root: Path, parsed: _Parsed) -> dict[str, Any]:
    """The project's ``pyproject.toml``, parsed once while the file stays the same (raises as ``tomllib.load``).

    An environment's run reads it twice: for the default ``package`` (``_not_built_by_its_tool``) and for the
    project's name (``_project_names``); parsing it is about 0.4 ms of a no-op. ``parsed`` is the environment's
    own (another run reads the file again); the file's identity is compared on every call, so a file replaced
    or edited in between is parsed again. The parsed tables are only read, never changed.
    """
    path = root / "pyproject.toml"
    with path.open("rb") as handle:
        found = os.fstat(handle.fileno())
        identity = (found.st_ino, found.st_size, found.st_mtime_ns)
        if (known := parsed.get(path)) is not None and known[0] == identity:
            return known[1]
        try:
            data = tomllib.loads(handle.read().decode("utf-8-sig"))  # a byte order mark dropped, as uv does
        except RecursionError as exc:  # nested too deeply to parse: not TOML here, as for the readers (a ValueError)
            raise ValueError(str(exc)) from exc
    parsed[path] = (identity, data)
    return data


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: tox's commands that set environments up and run them (with their aliases)
_RUNNING_COMMANDS = frozenset({"run", "r", "run-parallel", "p", "legacy", "le", "exec", "e"})
#: held while an environment claims its location (tox p works out the environments' settings in threads)
_CLAIMING = threading.Lock()


def _selected(options: Parsed, name: str, core: CoreConfigSet, labels: Callable[[], Iterable[str]]) -> bool | None:
    """Whether the environment ``name`` runs in this tox invocation; ``None`` when tox's options do not say.

    What ``-e``, ``-m``, ``-f`` or ``env_list`` select (:func:`_asked`), less what ``--skip-env`` (or
    ``TOX_SKIP_ENV``) leaves out: tox's ``EnvSelector.iter`` passes over a name its regular expression matches.
    """
    if (skip := (getattr(options, "skip_env", None) or "").strip()) and _skipped(skip, name):
        return False
    return _asked(options, name, core, labels)


def _asked(options: Parsed, name: str, core: CoreConfigSet, labels: Callable[[], Iterable[str]]) -> bool | None:
    """Whether tox's options select the environment ``name``; ``None`` when they do not say.

    ``-m`` and ``-f`` select as tox's ``EnvSelector`` does (they replace ``-e``): a label names the environment
    in the core ``labels`` or in its own ``labels`` (``labels()``), or all factors of one ``-f`` are its name's.
    """
    asked_labels = set(getattr(options, "labels", None) or ())
    asked_factors = getattr(options, "factors", None) or ()
    if asked_labels or asked_factors:
        core_labels = core["labels"]
        if any(name in core_labels.get(label, ()) for label in asked_labels) or asked_labels & set(labels()):
            return True
        parts = set(name.split("-"))
        return any({f for factor in group for f in factor.split("-")} <= parts for group in asked_factors)
    envs = getattr(options, "env", None)
    if envs is None:
        return None
    if getattr(envs, "is_all", False):
        return True
    if getattr(envs, "is_default_list", False):
        # tox runs its env_list, and without one its fallback environment "py" (EnvSelector)
        return name in (getattr(core["env_list"], "envs", ()) or ("py",))
    return name in list(envs)


def _nested(one: str, other: str) -> bool:
    """Whether one of two real paths lies inside the other (a venv within another's directory)."""
    return one.startswith(other.rstrip(os.sep) + os.sep) or other.startswith(one.rstrip(os.sep) + os.sep)


def _skipped(pattern: str, name: str) -> bool:
    """Whether tox's ``--skip-env`` pattern leaves the environment ``name`` out (tox matches it from the start)."""
    try:
        return re.match(pattern, name) is not None
    except re.error:  # tox refuses the pattern itself, in its own sentence
        return False


@contextlib.contextmanager
def _one_sentence() -> Iterator[None]:
    """Our errors, a full, read-only or foreign file system's, and running out of memory: one sentence for tox.

    What the failed tool printed (pip for ``deps``, a build backend, git) comes before the sentence at ``tox -v``,
    as tox shows the output of a pip install that failed: the sentence names the cause, not the compiler's error.
    """
    try:
        yield
    except VenvSyncError as exc:
        if exc.output:
            _LOGGER.info("the output of the step that failed:\n%s", exc.output)
        raise Fail(str(exc)) from exc
    except OSError as exc:
        if (error := file_system_error(exc, default_cache_dir())) is None:
            raise
        raise Fail(str(error)) from exc
    except (MemoryError, RuntimeError) as exc:
        if (short := resource_error(exc)) is None:
            raise
        raise Fail(str(short)) from exc
