"""The ``venvsync`` command line (also ``python -m tox_venvsync``): the engine without tox, for Docker stages."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync import __version__
from tox_venvsync._cache import Cache, default_cache_dir, taking_turns, waiting_for
from tox_venvsync._entry import interrupted
from tox_venvsync._errors import (
    BadInputError,
    InterpreterError,
    VenvSyncError,
    command_line_names,
    file_system_error,
    resource_error,
    shown,
)
from tox_venvsync._location import (
    ANOTHER_PYTHON,
    Kind,
    adoptable,
    inspect,
    kernel_path,
    left_behind,
    made_for,
    missing_from,
    no_interpreter,
    not_adopted,
    prepare,
    protected_paths,
    recreate_line,
    undo_creation,
    unexpanded_start,
)
from tox_venvsync._lock import Request, detect_format, read_lock, workspace_project
from tox_venvsync._selection import add_selection_flags, given_selection_flags, make_request
from tox_venvsync._state import State, moved_from, moved_warning, remember_place
from tox_venvsync._sync import (
    LockAhead,
    SyncSpec,
    check_before_recreating,
    check_keyring_providers,
    in_sync,
    link_mode,
    sync,
)
from tox_venvsync._target import Target, TargetMemo, base_facts, planned_target

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from tox_venvsync._location import Found
    from tox_venvsync._plan import Plan

# What only one command or option uses (packaging's name rules, the plan's actions, the bytecode compiler,
# the RECORD check) is imported where it is used: a ``venvsync sync`` that finds the venv in sync starts in
# about half the time it took with everything imported up front.


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``command``, only that command's options are added (see :func:`_command`).

    argparse makes a help formatter for each option it is given: building the three commands' options (69 with
    their ``-h``) cost about 1 ms more CPU than building one command's (29); the rest of the 8-10 ms the arguments
    take is argparse's own start (``gettext`` and ``locale``; ``shutil`` no longer, see :func:`_formatter`).
    """
    parser = argparse.ArgumentParser(
        prog="venvsync",
        description="Sync a virtual environment exactly from a lockfile; the engine of the tox runner 'venvsync'. "
        "Exit codes: 0 ok, 1 the venv differs from the lock (verify) or the sync failed, 2 bad input.",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (summary, described, add_options) in _COMMANDS.items():
        if command in {None, name}:
            add_options(commands.add_parser(name, help=summary, description=described, formatter_class=_formatter))
    return parser


def _formatter(prog: str) -> argparse.HelpFormatter:
    """The help formatter argparse makes, as wide as it makes it, without importing ``shutil`` to learn the width.

    Left to find its width, the formatter imports ``shutil`` (with ``lzma`` and ``bz2``: 3-5 ms of CPU here) for
    ``shutil.get_terminal_size``, which nothing else a no-op ``venvsync sync`` does needs.
    """
    return argparse.HelpFormatter(prog, width=_terminal_columns() - 2)  # the 2 argparse takes off


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``$COLUMNS`` when above 0, else standard output's terminal's, else 80."""
    with contextlib.suppress(ValueError):
        if (columns := int(os.environ.get("COLUMNS", "0"))) > 0:
            return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]  # None: AttributeError
    except (AttributeError, ValueError, OSError):  # no standard output, closed, detached, or not a terminal
        return 80


def _command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs when it starts with one (``venvsync sync ...``); else ``None``: all are parsed."""
    return argv[0] if argv and argv[0] in _COMMANDS else None


def _select_options(select: argparse.ArgumentParser) -> None:
    _lock_args(select, lock_required=True)
    select.add_argument(
        "--python", default=sys.executable, help="the target interpreter (a path, a name on PATH, or a version: 3.12)"
    )


def _sync_options(sync_: argparse.ArgumentParser) -> None:
    _lock_args(sync_, lock_required=True)
    sync_.add_argument("--venv", type=Path, required=True, help="the virtual environment's directory")
    sync_.add_argument(
        "--python",
        help="the interpreter to create it with (a path, a name on PATH, or a version: 3.12); default: the venv's "
        "own, else this one",
    )
    _inexact_arg(sync_)
    _no_install_project_arg(sync_)
    sync_.add_argument("--offline", action="store_true", help="install only from the artifact cache")
    sync_.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    sync_.add_argument("--seed", action="store_true", help="give a venv it creates pip (and setuptools/wheel)")
    sync_.add_argument(
        "--compile-bytecode",
        action="store_true",
        help="compile every installed module after the sync, as pip does (bytecode kept in the cache is linked)",
    )


def _verify_options(verify: argparse.ArgumentParser) -> None:
    _lock_args(verify, lock_required=False)
    verify.add_argument("--venv", type=Path, required=True, help="the virtual environment's directory")
    _no_install_project_arg(verify)  # a venv synced without the project is compared with the same selection
    _inexact_arg(verify)  # and one synced keeping packages the lock does not name


#: each command's one-line help in ``venvsync --help``, the description its own ``--help`` starts with (what it
#: does and its exit codes), and the function that adds its options, in the order ``--help`` lists them
_COMMANDS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = {
    "select": (
        "print what the lock installs for an interpreter, extras and groups",
        (
            "Print what the lock installs for an interpreter, extras and groups, changing nothing. "
            "Exit codes: 0 ok, 2 bad input."
        ),
        _select_options,
    ),
    "sync": (
        "make a venv match the lock exactly (create, adopt or update it)",
        (
            "Make a venv match the lock exactly (create, adopt or update it). "
            "Exit codes: 0 ok, 1 the sync failed, 2 bad input."
        ),
        _sync_options,
    ),
    "verify": (
        "check installed files against RECORD and the venv against the lock",
        (
            "Check installed files against RECORD and the venv against the lock, changing nothing. "
            "Exit codes: 0 nothing found, 1 a difference found, 2 bad input."
        ),
        _verify_options,
    ),
}


def _inexact_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inexact", action="store_true", help="keep packages the lock does not name")


def _no_install_project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-install-project",
        action="store_true",
        help="leave the project (pyproject.toml's [project] name) out, not its dependencies, as uv sync does",
    )


def _lock_args(parser: argparse.ArgumentParser, *, lock_required: bool) -> None:
    parser.add_argument("--lock", type=Path, required=lock_required, help="the lockfile")
    parser.add_argument("--lock-format", default=None, help="the lockfile's format (default: from its name)")
    parser.add_argument("--extra", action="append", default=[], help="an extra to select (repeatable)")
    parser.add_argument("--group", action="append", default=[], help="a dependency group to select (repeatable)")
    parser.add_argument(
        "--no-default-groups",
        action="store_true",
        help="leave out the lock's default groups (not the project's own dependencies: poetry's main, pdm's default)",
    )
    parser.add_argument(
        "--only-group",
        action="append",
        default=[],
        help="select only this dependency group: not the project or its dependencies (repeatable; as uv sync)",
    )
    add_selection_flags(parser)
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="the uv workspace member to start from, by its directory (as uv sync run there; default: the lock's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 drift or failure, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(_command(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    run = {"select": _select, "sync": _sync, "verify": _verify}[args.command]
    try:
        try:
            with command_line_names():  # the engine's sentences name this command's options (--venv), not tox's keys
                return run(args)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) or (error := file_system_error(exc, default_cache_dir())) is None:
                raise
            raise error from exc
        except (MemoryError, RuntimeError) as exc:
            if (short := resource_error(exc)) is None:
                raise
            raise short from exc
    except VenvSyncError as exc:
        if exc.output:  # a failed build backend's, pip's or git's own words (a compiler's error), as pip and uv show
            print(f"venvsync: the output of the step that failed:\n{exc.output}", file=sys.stderr)
        print(f"venvsync: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM and SIGHUP as the script catches them (_entry.Stopped)
        return interrupted(exc)
    except BrokenPipeError:  # the output's reader is gone (| head): stop quietly, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 1


def _request(args: argparse.Namespace) -> Request:
    left_out = ["--no-install-project"] if getattr(args, "no_install_project", False) else []  # sync's and verify's
    left_out += ["--inexact"] if getattr(args, "inexact", False) else []
    if args.lock is None and (given := given_selection_flags(args) + left_out):
        msg = f"{given[0]} chooses from a lock, and verify without --lock compares with none; pass --lock too"
        raise BadInputError(msg)
    return make_request(
        extras=args.extra,
        groups=args.group,
        only_groups=args.only_group,
        no_default_groups=args.no_default_groups,
        flags=args,
        project=_project(args),
    )


def _project(args: argparse.Namespace) -> str:
    """``--project``: the workspace member's directory relative to the lock's (``.`` without it)."""
    if args.project is None:
        return "."
    if args.lock is None:
        msg = f"--project {args.project} picks a member of a lock's workspace; pass --lock too"
        raise BadInputError(msg)
    chosen = args.lock_format or detect_format(args.lock)
    if chosen != "uv":
        msg = f"--project {args.project} picks a uv workspace member; the {chosen} lock {args.lock} has none: "
        msg += "leave it out"
        raise BadInputError(msg)
    lock = Path(os.path.realpath(args.lock))  # --lock ../../uv.lock, or through a linked directory
    workspace, project = lock.parent, Path(os.path.realpath(args.project))
    if project != workspace and workspace not in project.parents:
        msg = f"--project {args.project} is not inside {workspace}, the lock's workspace; pass a member's directory"
        raise BadInputError(msg)
    # as uv's --project: the nearest project at or above the directory (a member's src/ is that member)
    found = workspace_project(lock, project)
    return found if found != "." or project == workspace else project.relative_to(workspace).as_posix()


def _left_out(args: argparse.Namespace) -> frozenset[str]:
    """``--no-install-project``: the project's name, from the ``pyproject.toml`` of the lock's (or --project's) root.

    Its lock entry is left out and its dependencies are installed, as with ``uv sync --no-install-project``: a
    Docker layer of the dependencies alone, made before the sources are copied in. One already installed stays.
    A ``pyproject.toml`` without ``[project]`` (a virtual workspace root) has no project to leave out.
    """
    from packaging.utils import canonicalize_name  # noqa: PLC0415  # see the imports

    from tox_venvsync._lock._file import project_file, project_name  # noqa: PLC0415
    from tox_venvsync._lock._toml import read_toml  # noqa: PLC0415

    lock = args.lock.absolute()
    member = _project(args)
    # the format as the sync reads the lock: a pdm.lock kept elsewhere has its project above it (project_file)
    lock_format = args.lock_format or detect_format(args.lock)
    pyproject = lock.parent / member / "pyproject.toml" if member != "." else project_file(lock, lock_format)
    if not pyproject.is_file():
        msg = (
            f"--no-install-project leaves out the project that {pyproject} names, and there is none; copy the "
            "pyproject.toml beside the lock (as uv needs it too), or leave the option out"
        )
        raise BadInputError(msg)
    name = project_name(read_toml(pyproject)[1])
    return frozenset({canonicalize_name(name)}) if name is not None else frozenset()


def _interpreter(given: str, *, remember: bool = True, ahead: LockAhead | None = None) -> Target:
    """The facts of ``--python``: a path (relative to here), or a bare name looked up on PATH as a shell would.

    A version (``3.12``, ``3``) is ``python3.12`` (``python3``) on PATH, as ``uv --python 3.12`` and tox's
    ``base_python = 3.12`` find one.
    """
    if not given.strip():  # --python "$PY" with PY unset: no name to look up
        msg = "--python is empty (an unset variable?); "
        msg += "pass the path of a Python, a name on PATH or a version such as 3.12"
        raise BadInputError(msg)
    if os.sep not in given:
        import re  # noqa: PLC0415  # only for a name
        import shutil  # noqa: PLC0415

        name = f"python{given}" if re.fullmatch(r"3(\.\d+)?", given) else given
        found = shutil.which(name)
        if found is None:
            named = f"{name} (for {given})" if name != given else given
            msg = f"the interpreter {named} is not on PATH; pass --python with the path of a Python, or a name on PATH"
            raise BadInputError(msg)
        given = found
    # absolute: Path("./python3.12") prints as "python3.12", which a child process would look up on PATH (another
    # interpreter than the one whose facts are remembered under this file's real path)
    python = Path(given).absolute()
    if not python.exists():
        msg = f"the interpreter {python} does not exist; pass --python with the path of a Python"
        raise BadInputError(msg)
    if python.is_dir():
        msg = f"the interpreter {python} is a directory; pass --python with the path of a Python (its bin/python)"
        raise BadInputError(msg)
    return base_facts(default_cache_dir(), python, remember=remember, meanwhile=ahead.read if ahead else None)


def _venv(args: argparse.Namespace) -> Path:
    """``--venv``'s directory as the system finds it (``link/../venv``), refused where it starts with ``~``."""
    if unexpanded := unexpanded_start(args.venv, "--venv", in_tox=False):  # ./~ made, one `rm -rf ~` from home
        raise BadInputError(unexpanded)
    return kernel_path(args.venv)


def _select(args: argparse.Namespace) -> int:
    lock = read_lock(args.lock, args.lock_format, paths_from=Path.cwd())  # a requirements file's paths: as pip's
    picks = lock.select(_interpreter(args.python), _request(args))
    rows = [{"name": p.name, "version": str(p.version) if p.version else None, "source": p.kind} for p in picks]
    rows.sort(key=lambda row: str(row["name"]))
    # a source tree or checkout the lock gives no version is built when installed: no version to print
    _emit(args, rows, [f"{r['name']}{'==' + str(r['version']) if r['version'] else ''} ({r['source']})" for r in rows])
    return 0


def _sync(args: argparse.Namespace) -> int:
    link_mode()  # refused before the venv is made
    check_keyring_providers()  # so is a keyring provider uv or pip would refuse
    venv = _venv(args)
    spec = SyncSpec(
        venv=venv,
        lock_path=args.lock,  # named as typed, as select and verify name it; the fingerprint takes it absolute
        lock_format=args.lock_format,
        request=_request(args),
        exact=not args.inexact,
        offline=args.offline,
        paths_from=Path.cwd(),  # a requirements file's relative paths start here, as pip's and uv's do
        project_names=_left_out(args) if args.no_install_project else frozenset(),
    )
    # a dry run writes nothing, not even to the cache; the lock is read while the interpreter is asked, if it is
    protected = protected_paths(args.lock.absolute().parent)
    found = inspect(venv, protected)  # what the sync refuses, a dry run refuses too, before anything is read
    ahead = LockAhead(spec, default_cache_dir(), write=not args.dry_run)
    python = args.python if args.python is not None else _default_python(found)
    try:
        base = _interpreter(python, remember=not args.dry_run, ahead=ahead)
    except InterpreterError as exc:
        if args.python is not None:
            raise
        # a --python of the venv's own version adopts it as it is, broken interpreter and all: only a new venv mends it
        msg = (
            f"{venv}'s own interpreter does not work ({exc}); remove the venv and sync again, with --python naming "
            "the Python to make it with"
        )
        raise InterpreterError(msg) from None
    version = tuple(int(p) for p in base.python_full_version.split(".")[:3] if p.isdigit())
    named = args.python is not None
    if args.dry_run:
        return _dry_run(args, spec, base, ahead, recreate=_recreate_preview(found, version, base, named=named))
    if adoptable(found, version) and _found_in_sync(spec, base, compiled=args.compile_bytecode):
        _warn_if_moved(venv, moved_from(venv))
        _report(args, venv, "adopted", None, applied=False)
        return 0
    cache = Cache(default_cache_dir())
    with taking_turns(cache, venv, waiting=lambda: _waiting(venv)):
        made_from = missing_from(venv)
        now = inspect(venv, protected)  # again, holding the lock: another sync may have changed it meanwhile
        # read before the venv is emptied: its pyvenv.cfg names the Python it had
        why = _why_made_again(now, version, base, named=named)
        if why is not None:
            check_before_recreating(spec, base, cache)  # a venv of another Python: emptied only once the input is good
        made: str | None = None  # what prepare did, once it returned
        making = not adoptable(now, version)  # read before prepare changes it
        try:  # one block from the making on: a Ctrl-C between the making and the sync left the new venv behind
            made = prepare(venv, Path(base.executable), version, protected, seed=args.seed)
            moved = moved_from(venv)  # a venv made again here just now has no record of another place
            target = TargetMemo(venv, venv / "bin" / "python", base=lambda: base).load()
            outcome = sync(spec, target, cache=cache, ahead=ahead)
            remember_place(venv)
            if args.compile_bytecode:
                from tox_venvsync._bytecode import compile_venv  # noqa: PLC0415  # see the imports

                compile_venv(venv, target, cache.unpacked_dir, synced=outcome.plan is not None)
        except BaseException:
            # a venv this run made and could not fill (a broken lock, offline, Ctrl-C...) is not left, nor one whose
            # making was cut off (a full disk, Ctrl-C), also where a venv was to be made again
            if made == "created" or (made is None and making):
                _undo_creation(venv, protected, made_from)
            raise
    _warn_if_moved(venv, moved)
    _report(args, venv, made, outcome.plan, applied=outcome.applied, why=why if made == "recreated" else None)
    return 0


def _warn_if_moved(venv: Path, moved: str | None) -> None:
    """Say that the venv is a copy of one made at ``moved``, whose scripts start that path's Python, and what to do."""
    if moved is not None:
        remedy = "remove it and sync again to make it here"
        print(f"venvsync: warning: {moved_warning(venv, moved, remedy)}", file=sys.stderr)


def _why_made_again(found: Found, version: tuple[int, ...], base: Target, *, named: bool) -> str | None:
    """Why the venv found is emptied and made again, naming the Python it had and the one it gets; ``None``: it is not.

    The line said ``recreated`` alone: which Python the venv had, and which it gets, was not said (found by QA).
    ``named``: ``--python`` was given; without it the venv's own Python is taken unless its interpreter is gone (see
    :func:`_default_python`).
    """
    if found.kind is not Kind.VENV or (why := not_adopted(found, version)) is None:
        return None
    if why != ANOTHER_PYTHON:
        return why
    if not named and not (found.path / "bin" / "python").exists():
        return _made_with(found.path, base)
    return made_for(found.path, "--python" if named else "its bin/python", base.python_full_version)


def _made_with(venv: Path, base: Target) -> str:
    """Why a venv whose interpreter is gone is made again when no ``--python`` was given, and with which Python."""
    return f"{no_interpreter(venv)}; made with {base.executable}, Python {base.python_full_version}"


def _recreate_preview(found: Found, version: tuple[int, ...], base: Target, *, named: bool) -> str | None:
    """A dry run's first line for a venv the sync would empty and make again, for the sync's reason; else ``None``.

    Without ``--python`` the line named ``--python`` anyway, and for a venv whose interpreter is gone gave another
    Python as the reason where the sync says the interpreter is missing (found by QA, base Python removed).
    """
    if found.kind is not Kind.VENV or (why := not_adopted(found, version)) is None:
        return None
    if why == ANOTHER_PYTHON and not named and not (found.path / "bin" / "python").exists():
        why = _made_with(found.path, base)
    return recreate_line(found.path, why, "--python" if named else "its bin/python", base.python_full_version)


def _undo_creation(venv: Path, protected: Mapping[Path, str], made_from: Path | None) -> None:
    """Remove the venv this run made (:func:`undo_creation`); one that cannot be is told: what is left, and where.

    The error that stopped the sync is the one to report, and a failed removal's error was swallowed: a venv left
    half made (or a directory that no longer is one, which the next sync refuses) was left without a word.
    """
    try:
        undo_creation(venv, protected, made_from)
    except (OSError, VenvSyncError) as exc:
        with contextlib.suppress(OSError):  # the terminal that sent SIGHUP is gone
            print(f"venvsync: warning: {left_behind(venv, exc)}", file=sys.stderr)


def _default_python(found: Found) -> str:
    """``--python`` left out: the Python of the venv found there, while it runs; else the one running venvsync.

    ``uv sync`` keeps the Python of the project environment it finds; taking this process's made a venv of 3.13 one
    of 3.12 (emptied, every package installed again) when venvsync ran on 3.12 and the command named no Python.
    """
    python = found.path / "bin" / "python"
    if found.kind is Kind.VENV and python.exists():  # a link to nothing (its base Python gone) is made again
        return os.path.realpath(python)  # its base interpreter, as a venv's python links to it
    return sys.executable


def _dry_run(args: argparse.Namespace, spec: SyncSpec, base: Target, ahead: LockAhead, *, recreate: str | None) -> int:
    """Print the plan a sync would apply, changing nothing; a venv the sync would recreate (``recreate``) from empty."""
    python = spec.venv / "bin" / "python"
    if recreate is not None:  # a venv of another Python (or a broken one): the sync would empty it and start again
        plan = _preview(spec, planned_target(spec.venv, lambda: python, base, recreated=True), ahead)
        _emit(args, {"recreate": True, **plan.as_json()}, [recreate, *plan.lines()])
        return 0
    plan = _preview(spec, planned_target(spec.venv, lambda: python, base, recreated=False), ahead)
    _emit(args, plan.as_json(), plan.lines())
    return 0


def _found_in_sync(spec: SyncSpec, base: Target, *, compiled: bool) -> bool:
    """Whether the adoptable venv is in sync (and compiled, when asked), found by reading only, without the lock.

    The common case of a build or a script that syncs every time: no lock is taken or imported (filelock
    alone is ~25 ms of the command's start-up). :func:`in_sync` says why this is sound; anything else
    (a venv to create, adopt for another Python, or change) takes the lock and checks again.
    """
    target = TargetMemo(spec.venv, spec.venv / "bin" / "python", base=lambda: base).load(remember=False)
    return in_sync(spec, target) and (not compiled or State(spec.venv).bytecode_compiled())


def _report(  # noqa: PLR0913  # what was done and why, keyword-only past the plan
    args: argparse.Namespace, venv: Path, made: str, done: Plan | None, *, applied: bool, why: str | None = None
) -> None:
    """What the sync did: one line, or a JSON document with ``--json``; ``why``: why the venv was made again."""
    text = [
        f"{venv}: {made}{f' ({why})' if why else ''}, "
        + (done.summary() if done is not None and applied else "in sync, nothing to do")
        + (", bytecode compiled" if args.compile_bytecode else "")
    ]
    if not args.json:  # the plan's document is a line per package (thousands): made only when it is printed
        _emit(args, None, text)
        return
    document = {"venv": str(venv), "made": made, **(done.as_json() if done is not None else {})}
    _emit(args, document | ({"bytecode": "compiled"} if args.compile_bytecode else {}), text)


def _waiting(venv: Path) -> None:
    """Say why the command waits: another sync of the venv (a ``venvsync sync``, a tox run) holds its lock."""
    print(f"venvsync: {waiting_for(venv)}", file=sys.stderr)


def _verify(args: argparse.Namespace) -> int:
    venv = _venv(args)
    with _sync_finished(venv):
        return _verify_now(args, venv)


@contextlib.contextmanager
def _sync_finished(venv: Path) -> Iterator[None]:
    """Hold the venv's lock while it is checked: a sync under way is waited for, not reported as interrupted.

    Read during another process's sync, the venv showed the files of its half-placed wheels as unowned and the
    packages of its journal as ``interrupted: ... (a sync did not finish)``. verify makes no file: without the
    lock's file no sync that uses this cache ever ran there; a lock that cannot be taken (a cache this user may
    not write) is done without.
    """
    cache = Cache(default_cache_dir())
    with contextlib.ExitStack() as stack:
        if cache.venv_lock(venv).is_file():
            with contextlib.suppress(OSError):
                stack.enter_context(taking_turns(cache, venv, waiting=lambda: _waiting(venv)))
        yield


def _verify_now(args: argparse.Namespace, venv: Path) -> int:
    from tox_venvsync._verify import check_venv  # noqa: PLC0415  # see the imports

    def plan(target: Target) -> Plan | None:
        spec = SyncSpec(
            venv=venv,
            lock_path=args.lock,
            lock_format=args.lock_format,
            request=_request(args),
            paths_from=Path.cwd(),
            project_names=_left_out(args) if args.no_install_project else frozenset(),
            exact=not args.inexact,
        )
        return _preview(spec, target) if args.lock else None

    found = check_venv(venv, _existing_target(venv), plan)
    _emit(args, found.as_json(), found.lines())
    return 1 if found else 0


def _preview(spec: SyncSpec, target: Target, ahead: LockAhead | None = None) -> Plan:
    """The plan a sync would apply; nothing in the venv changes."""
    outcome = sync(spec, target, cache=Cache(default_cache_dir()), dry_run=True, ahead=ahead)
    assert outcome.plan is not None  # noqa: S101  # a dry run always plans
    return outcome.plan


def _existing_target(venv: Path) -> Target | None:
    python = venv / "bin" / "python"
    if not (venv / "pyvenv.cfg").is_file() or not python.exists():
        return None
    return TargetMemo(venv, python).load(remember=False)  # dry-run and verify change nothing


def _emit(args: argparse.Namespace, document: object, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(document, indent=2))
    else:  # a control character a file's name holds is shown escaped, never sent to the terminal
        print("\n".join(shown(line) for line in lines))
