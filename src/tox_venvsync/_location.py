"""Location: where the venv lives, and the guard that decides to create, adopt, empty or refuse it."""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._atomic import remove_tree
from tox_venvsync._cache import CACHE_DIR_ENV, default_cache_dir
from tox_venvsync._errors import FULL, InterpreterError, LocationError, named, not_writable
from tox_venvsync._state import State
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from tox_venvsync._errors import VenvSyncError
    from tox_venvsync._target import Target

#: Files tox or we put in an env directory that do not make it "somebody else's".
_OURS = frozenset({".tox-info.json", ".venvsync"})

#: in a venv being made: written before the first of its files, removed once it is whole (see :func:`creating`)
CREATING = ".venvsync/creating"
#: what making a venv puts at its top (the standard library's venv, virtualenv): all a cut-off creation may leave
_MADE_BY_CREATION = frozenset(
    {"bin", "include", "lib", "lib64", "Include", "Lib", "Scripts", "pyvenv.cfg", ".gitignore", "CACHEDIR.TAG"}
)


class Kind(enum.Enum):
    """What is found at a venv location."""

    MISSING = "missing"
    EMPTY = "empty"
    VENV = "venv"


@frozen
class Found:
    """The outcome of inspecting a location that we may use."""

    path: Path
    kind: Kind


#: why each kind of protected path is refused
_ROOT = "it is the filesystem root"
_HOME = "it is your home directory; choose a directory below it"


def _project() -> str:
    own = f"choose a directory of its own for {named('env_location')}"
    return f"it is {named('project root')} or one of its ancestors; {own}"


def _running() -> str:
    return (
        "it is the Python environment tox-venvsync itself runs from "
        f"(syncing it would remove {named('what runs here')}); choose a directory of its own for the environment"
    )


def protected_paths(project_root: Path | None, home: Path | None = None) -> Mapping[Path, str]:
    """Paths never used as a venv nor emptied, each with the reason.

    ``/``, home, the project and its ancestors, the environment this process runs from (``sys.prefix``:
    ``env_location = .venv`` where tox itself is installed would sync tox away), and the cache
    (``TOX_VENVSYNC_CACHE_DIR``, else the user cache directory) and its ancestors: a sync would write the cache into
    the venv it is about to refuse.

    Each path is kept as spelled and as resolved, so reaching one through a symbolic link does not unprotect it.
    """
    reasons: dict[Path, str] = {}
    # the cache the sync fills, and the directories that hold it
    root = default_cache_dir()
    where = f"{CACHE_DIR_ENV}={cache}" if (cache := os.environ.get(CACHE_DIR_ENV)) else str(root)
    reason = f"it holds tox-venvsync's cache ({where}); choose a venv outside the cache"
    for spelling in _spellings(root):
        reasons.update(dict.fromkeys((spelling, *spelling.parents), reason))
    if project_root is not None:
        for root in _spellings(project_root):
            reasons.update(dict.fromkeys((root, *root.parents), _project()))
    try:
        home = home or Path.home()
    except RuntimeError:  # pragma: no cover - no HOME and no passwd entry
        home = None
    if home is not None:
        reasons.update(dict.fromkeys(_spellings(home), _HOME))
    reasons.update(dict.fromkeys(_spellings(Path(sys.prefix)), _running()))
    reasons.update(dict.fromkeys(_spellings(Path(os.sep)), _ROOT))
    return reasons


#: a shell variable as a user writes one at the start of a path: ``$HOME``, ``${HOME}``
_SHELL_VARIABLE = r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*))$"


def unexpanded_start(value: Path, key: str, *, in_tox: bool) -> str | None:
    """The sentence for a relative venv path starting with ``~`` or a shell variable (``$HOME``), else None.

    Nothing expanded it (tox never does in its configuration; a shell does not in quotes, after ``--venv=`` or in a
    Dockerfile's exec form): the venv went into a directory named ``~`` or ``$HOME`` in the project or the current
    directory, one ``rm -rf ~`` from the home directory. Only a relative value's first part is read: an absolute one
    (``{tox_root}/.tox``) may hold a ``$`` or ``~`` of a real directory's name.
    """
    if value.is_absolute() or not value.parts:
        return None
    first = value.parts[0]
    found = re.match(_SHELL_VARIABLE, first)  # compiled where first used: most venv paths are absolute
    if not first.startswith("~") and found is None:
        return None
    if in_tox:
        why, where = "tox does not expand in its configuration", "the project"
    else:
        why, where = "nothing expanded (a shell does not in quotes or after =)", "the current directory"
    if found is not None:
        name = found["braced"] or found["bare"]
        instead = f"{{env:{name}}}" if in_tox else f"the value of {name}"
    else:
        instead = "{env:HOME}" if in_tox and first == "~" else "the home directory's path"
    start = "~" if found is None else first
    return (
        f"{key} {str(value)!r} starts with {start}, which {why}, so it names a directory {first} in {where}; "
        f"write {instead} instead of {first}"
    )


def kernel_path(path: Path) -> Path:
    """``path`` made absolute as the system finds it: a ``..`` after a linked directory is that directory's parent.

    ``os.path.abspath`` drops ``link/..`` as text, which names another directory than the system opens when
    ``link`` is a symbolic link (``$PWD/../venv`` in a linked directory): the part up to the last ``..`` is
    resolved instead. A path without ``..`` keeps its spelling (a linked ``/opt`` stays ``/opt`` in the
    scripts' first lines), and the last name is never followed (a venv that is a link is refused).
    """
    absolute = Path.cwd() / path  # pathlib keeps each ".." as it was written
    parts = absolute.parts
    if ".." not in parts:
        return Path(os.path.normpath(absolute))
    last = len(parts) - parts[::-1].index("..")
    head = Path(os.path.realpath(Path(*parts[:last])))
    return Path(os.path.normpath(head.joinpath(*parts[last:])))


def nowhere() -> Path:
    """A venv path nothing made or will make: a dry run plans a venv about to be recreated there, from empty."""
    import tempfile  # noqa: PLC0415  # a dry run's only
    import uuid  # noqa: PLC0415

    return Path(tempfile.gettempdir(), f"venvsync-dry-run-{uuid.uuid4().hex}", "venv")


def _spellings(path: Path) -> set[Path]:
    return {Path(os.path.abspath(path)), Path(os.path.realpath(path))}


def inspect(
    path: Path, protected: Mapping[Path, str], *, tox_dirs: Iterable[str] = (), removing: bool = False
) -> Found:
    """Classify ``path``; raise :class:`LocationError` for anything we must not touch.

    ``removing``: for :func:`remove_venv`, which unlinks a ``.venvsync`` that is a link and never enters it (see
    :func:`_no_link_at_records`).

    ``tox_dirs`` names directories tox keeps inside the env directory (its ``tmp`` and ``log``
    when ``env_location`` is tox's default, ``{work_dir}/{env_name}``): there they are tox's, also
    without its ``.tox-info.json`` (a run with ``--env-location`` put that in the venv it moved).
    Nothing is created or changed here: a refusal leaves every file as it was.
    """
    path = kernel_path(path)  # the link itself, never its target
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 in the name: venv writes the path into its scripts as text
        raise LocationError(path, "its name is not valid UTF-8 text; choose a path in UTF-8") from None
    if os.pathsep in str(path):  # venv and virtualenv refuse it (ValueError, a traceback); PATH could not name bin/
        reason = (
            f"its path holds {os.pathsep!r}, the separator of PATH, so its bin directory could not be put on PATH "
            f"(python -m venv, virtualenv and uv refuse it too); choose a path without {os.pathsep!r}"
        )
        raise LocationError(path, reason)
    for spelling in (path, Path(os.path.realpath(path))):
        if spelling in protected:
            raise LocationError(path, protected[spelling])
    if _is_link(path):
        # tox refuses links too; following one could put or delete files where the user did not say
        raise LocationError(path, f"it is a symbolic link; point {named('env_location')} at the real directory instead")
    if not path.exists():
        return Found(path=path, kind=Kind.MISSING)
    if not path.is_dir():
        raise LocationError(path, f"it is a file, not a directory; remove it or choose another {named('env_location')}")
    _not_another_name_of(path, protected)
    _no_link_at_records(path, removing=removing)
    if (path / "pyvenv.cfg").is_file():
        if not os.access(str(path / "pyvenv.cfg"), os.R_OK):  # its Python unknown: taken for another one, emptied
            raise LocationError(
                path,
                "its pyvenv.cfg cannot be read (Permission denied), so the Python it was made for is not known; "
                f"make it readable, or choose another {named('env_location')}",
            )
        return Found(path=path, kind=Kind.VENV)
    return Found(path=path, kind=_without_pyvenv_cfg(path, _OURS | set(tox_dirs)))


def _is_link(path: Path) -> bool:
    """Whether ``path`` is a symbolic link; one below a directory this user may not search is refused."""
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except PermissionError as exc:  # a directory above it another user's, mode 0700
        reason = (
            f"it cannot be reached ({exc.strerror}: {exc.filename}); check the permissions of the directories above "
            f"it, or choose another {named('env_location')}"
        )
        raise LocationError(path, reason) from exc
    except OSError:
        return False  # missing (or a file on the way): told by the caller


def _no_link_at_records(path: Path, *, removing: bool) -> None:
    """Refuse a venv whose ``.venvsync`` is a link: its records (state, journal, marks) are written and removed there.

    A link planted there (a venv others may write) sent those writes and removals wherever it led: a sync removed a
    ``state.json`` outside the venv and wrote its own there (found by QA). Never followed, never removed here: a
    refusal leaves every file as it was. A removal (``removing``) unlinks the link, and goes on.
    """
    records = path / ".venvsync"
    if removing or not records.is_symlink():
        return
    reason = (
        f"its {records.name}, where tox-venvsync keeps the venv's records, is a symbolic link (to "
        f"{records.readlink()}), and writing through it would change files outside the venv; remove the link "
        f"(rm {records}) and run again"
    )
    raise LocationError(path, reason)


def _without_pyvenv_cfg(path: Path, ours: set[str] | frozenset[str]) -> Kind:
    """An empty directory (but for ``ours``), or a venv whose creation was cut off; else refused."""
    try:
        others = sorted(entry for entry in os.listdir(path) if entry not in ours)
    except OSError as exc:
        raise LocationError(path, f"it cannot be listed ({exc.strerror}); check its permissions") from exc
    if others and (path / CREATING).is_file() and _MADE_BY_CREATION.issuperset(others):
        return Kind.VENV  # a creation cut off before pyvenv.cfg: never adopted, made again
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")  # noqa: PLR2004
        raise LocationError(
            path,
            f"it holds files and no pyvenv.cfg ({shown}), so it is not a virtual environment; "
            f"choose an empty or missing directory for {named('env_location')}",
        )
    return Kind.EMPTY


def _not_another_name_of(path: Path, protected: Mapping[Path, str]) -> None:
    """Refuse ``path`` when it is a protected directory under another name: a bind mount has no link to resolve."""
    try:
        here = path.stat()
    except OSError:
        return
    for other, reason in protected.items():
        try:
            there = other.stat()
        except OSError:
            continue
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            raise LocationError(path, reason)


def create_dir(path: Path) -> None:
    """Create a missing venv directory and its parents, or take an empty one; or say why it cannot be.

    An empty directory this user may not write (one made for another user, root's ``/opt/venvs/py312``, or on a
    read-only mount) is refused as one that cannot be created is, before tox or the sync write into it: the
    first write's error named a temporary file (``.tox-info.json.62eqe91f.tmp``) and no setting.
    """
    made_from = missing_from(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if made_from is not None:  # a refusal leaves nothing behind, not the parents made on the way
            with contextlib.suppress(OSError):  # the refusal is what to say, not a parent that stays
                _remove_made_parents(path, (made_from,))
        fix = "shorter" if exc.errno == errno.ENAMETOOLONG else "writable"
        reason = f"it cannot be created ({exc.strerror}: {exc.filename}); choose a {fix} {named('env_location')}"
        raise LocationError(path, reason) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        why = not_writable(path).strerror
        reason = f"it cannot be written ({why}); make it writable or choose a writable {named('env_location')}"
        raise LocationError(path, reason)


def read_pyvenv_cfg(venv: Path) -> Mapping[str, str]:
    """The ``key = value`` pairs of a venv's ``pyvenv.cfg`` (empty when unreadable)."""
    values: dict[str, str] = {}
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def venv_python_version(venv: Path) -> tuple[int, ...] | None:
    """The ``(major, minor, micro)`` a venv was made for, from ``pyvenv.cfg`` (venv, virtualenv and uv spell it)."""
    cfg = read_pyvenv_cfg(venv)
    raw = cfg.get("version_info") or cfg.get("version") or ""
    parts = raw.split(".")[:3]
    # ASCII digits: "²" is a digit to isdigit, and no number to int()
    if len(parts) < 3 or not all(p.isascii() and p.isdigit() for p in parts):  # noqa: PLR2004
        return None
    return tuple(int(p) for p in parts)


def sees_system_site_packages(venv: Path) -> bool:
    """Whether the venv's ``pyvenv.cfg`` says ``include-system-site-packages = true`` (venv, virtualenv and uv)."""
    return read_pyvenv_cfg(venv).get("include-system-site-packages", "false").strip().lower() == "true"


def remove_venv(path: Path, protected: Mapping[Path, str], *, keep_dir: bool, tox_dirs: Iterable[str] = ()) -> None:
    """Empty the venv at ``path``; with ``keep_dir`` keep the directory (it may be a mount point or pre-owned).

    The delete guard (DESIGN.md safety rules): only a directory with ``pyvenv.cfg``, or an empty one,
    is ever emptied; never a protected path; symbolic links are unlinked, never followed; and
    ``pyvenv.cfg`` goes last so a half-emptied directory is still recognisably a venv. The sync state
    goes first, so nothing takes a venv being emptied for one in sync (``venvsync sync`` checks that
    without the lock).
    """
    found = inspect(path, protected, tox_dirs=tox_dirs, removing=True)
    if found.kind is Kind.MISSING:
        return
    if (inner := _venv_inside(found.path)) is not None:
        reason = f"it holds another virtual environment, {inner}, that emptying it would remove"
        raise LocationError(found.path, f"{reason}; move that one out, or remove it yourself first")
    if not (found.path / ".venvsync").is_symlink():  # a link is removed below, never entered
        State(found.path).clear()
    marker = found.path / CREATING
    last = {"pyvenv.cfg", marker.parent.name}  # what keeps a half-removed directory recognisable, kept for the end
    _empty(found.path, keep=last)
    if marker.parent.is_dir() and not marker.parent.is_symlink():
        _empty(marker.parent, keep={marker.name})  # a cut-off creation's mark goes after pyvenv.cfg (below)
    (found.path / "pyvenv.cfg").unlink(missing_ok=True)
    _empty(found.path, keep=set())
    if not keep_dir:
        with contextlib.suppress(OSError):  # a mount point or a directory we may not remove: it stays, empty
            found.path.rmdir()


#: how deep below a venv's top another venv is looked for (``outer/sub/inner``: 2), outside the venv's own layout
_NESTED_DEPTH = 3


def _venv_inside(venv: Path) -> Path | None:
    """Another venv (a ``pyvenv.cfg``) in a directory at the top of ``venv`` that making a venv does not create.

    Two environments whose locations nest (``env_location = /v/outer`` and ``/v/outer/sub/inner``) in separate runs:
    recreating the outer one emptied the inner one with it. Looked for only where a venv's own files are not (its
    ``bin``, ``lib``, ``include``, tox-venvsync's directory), down to :data:`_NESTED_DEPTH` levels; links are not
    followed. Only a removal pays for this walk, never a sync.
    """
    with os.scandir(venv) as entries:
        tops = [
            entry.path
            for entry in entries
            if entry.name not in _MADE_BY_CREATION and entry.name not in _OURS and entry.is_dir(follow_symlinks=False)
        ]
    for top in tops:
        depth = top.count(os.sep)
        for root, directories, files in os.walk(top):  # links to directories are listed, never entered
            if "pyvenv.cfg" in files:
                return Path(root)
            if root.count(os.sep) - depth >= _NESTED_DEPTH - 1:
                directories.clear()
    return None


def missing_from(path: Path) -> Path | None:
    """The highest of ``path`` and its parents that does not exist (what making ``path`` creates), if any."""
    if path.exists():
        return None
    highest = path
    while not highest.parent.exists() and highest.parent != highest:
        highest = highest.parent
    return highest


def undo_creation(
    venv: Path,
    protected: Mapping[Path, str],
    made_from: Path | None,
    tox_dirs: Iterable[str] = (),
    *,
    run_made: Iterable[Path] = (),
) -> None:
    """Remove a venv this run made and could not fill, and the parents its making created (``made_from`` up).

    ``made_from`` is what :func:`missing_from` said before the venv was made: ``None`` keeps the directory
    (it was there, empty: a mount point, a directory made for it). The removal is :func:`remove_venv`'s.
    No directory above ``made_from`` is removed: ``venv`` is taken as the system finds it (``made_from``
    is), so a ``..`` in its spelling (an explicit ``env_dir = {tox_root}/../venvs/py``) does not walk up
    other directories than the ones made, emptying every empty one that was there before. ``run_made``:
    the ``made_from`` of the other venvs of this run (``tox p``), whose parents this one may share: the
    venv removed last finds them empty and removes them too.
    """
    venv = kernel_path(venv)
    remove_venv(venv, protected, keep_dir=made_from is None, tox_dirs=tox_dirs)
    if made_from is None:
        return
    _remove_made_parents(venv, (made_from, *run_made))


def left_behind(venv: Path, exc: OSError | VenvSyncError) -> str:
    """What of the venv this run made :func:`undo_creation` left, where, and what to do, after it raised ``exc``."""
    import shlex  # noqa: PLC0415  # only for a removal that failed

    why = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.filename else str(exc)
    if not os.path.lexists(venv):  # the venv went, a directory made for it stayed
        return f"{venv}, which this run made, was removed, but a directory made for it was not ({why}); remove it"
    start, remove = f"{venv}, which this run made, could not be removed ({why})", f"rm -rf {shlex.quote(str(venv))}"
    if (venv / "pyvenv.cfg").is_file():  # still a venv: the next sync adopts it, or makes it again
        return f"{start} and is left half made: the next sync finishes it, or remove it ({remove})"
    return f"{start}, and what is left is no venv a sync takes: remove it ({remove})"


def _remove_made_parents(path: Path, tops: Iterable[Path]) -> None:
    """Remove the parents of ``path`` this run made (each of ``tops`` and below, see :func:`missing_from`).

    Only empty directories go (``rmdir``), none above the ``tops``, which were missing before: nothing that was
    there is touched.
    """
    tops = tuple(tops)
    for parent in path.parents:
        if not any(parent.is_relative_to(top) for top in tops):  # never above what this run made
            return
        try:
            parent.rmdir()  # made by this run and empty again
        except OSError as exc:
            if exc.errno in {errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT}:  # another venv there, or it went first
                return
            raise


def _empty(directory: Path, *, keep: set[str]) -> None:
    """Remove every entry of ``directory`` but those named in ``keep``; links are removed, never followed."""
    with os.scandir(directory) as entries:  # closed also when a removal is interrupted
        for entry in entries:
            if entry.name in keep:
                continue
            if entry.is_dir(follow_symlinks=False):
                remove_tree(entry.path)  # rmtree unlinks symlinks inside, never follows them
            else:
                Path(entry.path).unlink()


def prepare(
    path: Path, python: Path, version: tuple[int, ...], protected: Mapping[Path, str], *, seed: bool = False
) -> str:
    """Make ``path`` a venv of ``python`` (of ``version``): create, adopt or recreate; returns which it did.

    Used by the command line; the tox runner does the same through :func:`create_in_process` or tox's own
    virtualenv session.
    """
    found = inspect(path, protected)
    if found.kind is Kind.VENV:
        if _adopts(found.path, version):
            return "adopted"
        remove_venv(found.path, protected, keep_dir=True)  # a venv of another Python: recreate it
        made = "recreated"
    else:
        create_dir(found.path)
        made = "created"
    with creating(found.path):
        if seed or not create_in_process(found.path, python):
            _virtualenv(found.path, python, seed=seed)
    return made


@contextlib.contextmanager
def creating(path: Path) -> Iterator[None]:
    """Mark ``path`` as a venv being made while the block makes it; the mark goes once it is made.

    A creation cut off (a kill, Ctrl-C, a full disk) leaves the mark: :func:`inspect` then takes the
    directory, holding only what a creation makes, for a venv to make again instead of refusing it
    for ever, and :func:`adoptable` never adopts it (it may lack its interpreter or scripts).
    """
    marker = path / CREATING
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    yield
    marker.unlink()


def cut_off(venv: Path) -> bool:
    """Whether making ``venv`` was cut off (it holds the mark of :func:`creating`)."""
    return (venv / CREATING).exists()


def adoptable(found: Found, version: tuple[int, ...]) -> bool:
    """Whether :func:`prepare` would adopt what :func:`inspect` found, as it is (read only)."""
    return found.kind is Kind.VENV and _adopts(found.path, version)


def _adopts(venv: Path, version: tuple[int, ...]) -> bool:
    return (
        venv_python_version(venv) == version[:3]
        and (venv / "bin" / "python").exists()
        and not cut_off(venv)
        and interpreter_broken(venv) is None
    )


def interpreter_broken(venv: Path) -> str | None:
    """Why the venv's ``bin/python`` is not the Python it was made for (another one, or none that runs), or None.

    Its base interpreter upgraded in place, moved or removed: adopted as it was, the venv was found in sync while its
    python ran another Python (or nothing) and saw none of its packages (found by QA). The remembered facts answer
    while the interpreter is unchanged; else it is asked, once a process (see ``TargetMemo.broken``).
    """
    from tox_venvsync._target import TargetMemo, base_facts  # noqa: PLC0415  # _target reads pyvenv.cfg here

    python = venv / "bin" / "python"
    real = Path(os.path.realpath(python))

    def own() -> Target | None:
        """The facts of the file ``bin/python`` leads to, as the cache remembers a base's (a venv made here)."""
        try:
            return base_facts(default_cache_dir(), real, remember=False)  # reads only: a dry run checks this too
        except InterpreterError:
            return None  # the venv's interpreter is asked, and says why it does not run

    return TargetMemo(venv, python, base=own).broken()


#: why a venv is made again when it was made for another Python version (see :func:`not_adopted`)
ANOTHER_PYTHON = "it was made for another Python"


def not_adopted(found: Found, version: tuple[int, ...]) -> str | None:
    """Why the venv :func:`inspect` found is not adopted for ``version`` but made again; ``None`` when it is."""
    if adoptable(found, version):
        return None
    if cut_off(found.path):
        return "its creation was cut off"
    if venv_python_version(found.path) != version[:3]:
        return ANOTHER_PYTHON
    if not (found.path / "bin" / "python").exists():
        return no_interpreter(found.path)
    return interpreter_broken(found.path) or no_interpreter(found.path)


def recreate_line(venv: Path, why: str, python: str, full_version: str) -> str:
    """A dry run's first line for a venv the sync would empty and make again (``python``: the option naming it)."""
    if why != ANOTHER_PYTHON:
        return f"recreate: {venv}: {why}"
    had = ".".join(map(str, venv_python_version(venv) or ())) or "another Python"
    return f"recreate: {venv} is a venv of Python {had}, {python} is {full_version}"


def made_for(venv: Path, python: str, full_version: str) -> str:
    """:data:`ANOTHER_PYTHON` with both versions: ``it was made for Python 3.11.7, base_python is 3.12.1``."""
    had = ".".join(map(str, venv_python_version(venv) or ()))
    return f"{ANOTHER_PYTHON if not had else f'it was made for Python {had}'}, {python} is {full_version}"


def no_interpreter(venv: Path) -> str:
    """Why a venv of the right Python is made again: its interpreter is gone."""
    return f"its interpreter {venv / 'bin' / 'python'} is missing or a link to nothing"


#: written into a venv made in-process, as virtualenv (and Python 3.13's venv) write it: git ignores the venv
_GITIGNORE = "# created by tox-venvsync automatically\n*\n"


def can_create_in_process(python: Path) -> bool:
    """Whether :func:`create_in_process` can make a venv of ``python``: the running CPython, on POSIX."""
    running = getattr(sys, "_base_executable", None) or sys.executable  # the base interpreter, also from a venv
    if os.name != "posix" or sys.implementation.name != "cpython" or not running:
        return False
    return os.path.realpath(running) == os.path.realpath(python)


def create_in_process(path: Path, python: Path, *, system_site_packages: bool = False, copies: bool = False) -> bool:
    """Create a venv of ``python`` at ``path`` with the standard library's ``venv``, in this process.

    Only when ``python`` is the interpreter running this process (the usual case: tox and its env on one
    Python) and on CPython for POSIX; returns ``False`` otherwise, and the caller uses virtualenv. The
    result is what ``python -m venv --without-pip`` makes (the activation scripts are that Python's own),
    in a few milliseconds instead of virtualenv's ~100 ms of plugin loading. Nothing in ``path`` is removed.
    """
    if not can_create_in_process(python):
        return False
    import venv  # noqa: PLC0415  # only creating a venv needs it

    builder = venv.EnvBuilder(system_site_packages=system_site_packages, symlinks=not copies, with_pip=False)
    try:
        builder.create(str(path))
        ignore = path / ".gitignore"
        if not ignore.exists():
            ignore.write_text(_GITIGNORE, encoding="utf-8")
    except OSError as exc:
        _raise_if_full(exc, path)
        where = f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
        msg = (
            f"the venv could not be created with {python} ({where}); "
            f"make it writable or choose another {named('env_location')}"
        )
        raise LocationError(path, msg) from exc
    return True


def _virtualenv(path: Path, python: Path, *, seed: bool) -> None:
    from virtualenv import cli_run  # noqa: PLC0415  # only the command line creates venvs without tox

    args = [str(path), "--python", str(python), "--no-periodic-update", "--quiet"]
    try:
        cli_run([*args, *([] if seed else ["--no-seed"])], setup_logging=False)
    except (SystemExit, RuntimeError, OSError) as exc:
        _raise_if_full(exc, path)
        raise LocationError(path, f"virtualenv could not create it with {python} ({exc})") from exc


def _raise_if_full(exc: BaseException, path: Path) -> None:
    """A full disk's (or quota's) error as it is, named by its file or the venv: no location to refuse, no bad input.

    The front ends then say ``No space left on device at <path>; free some space and run again``; a refusal read
    ``make it writable or choose another env_location``, exit code 2.
    """
    if isinstance(exc, OSError) and exc.errno in FULL:
        raise OSError(exc.errno, exc.strerror, exc.filename or os.fspath(path)) from exc
