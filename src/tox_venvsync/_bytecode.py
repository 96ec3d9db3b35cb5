"""Bytecode: the modules earlier venvs compiled, shared through the cache with every venv placed later.

pip compiles every module it installs (slow installs, fast first imports); uv and this engine
install sources only, so the first command after a sync compiles what it imports (``import
requests``: 61 modules, 0.3 s on a slow machine). A venv placed by hard links shares each source
file's inode with the cache's unpacked tree, and Python's default ``.pyc`` records the source's
mtime and size in its header, so a ``.pyc`` compiled for one link is valid for every other:

- :func:`remember_sources` notes, in the venv, where a sync linked modules from which tree (only
  directories with a module the tree has no ``.pyc`` for: the others have nothing to harvest);
- after a command ran (tox: after the env's commands), :func:`harvest` hard-links the ``.pyc``
  files Python wrote next to those modules into the tree, once per sync, and lists them in the
  tree (``.venvsync-bytecode-<cache tag>.json``);
- placing a tree links the ``.pyc`` files it lists for the interpreter's cache tag
  (:func:`compiled`) next to the sources.

Safe by construction: Python never writes into an existing ``.pyc`` (it writes a new file and
renames it over), so no venv can change the cache's copy; the harvest adds names to a tree and
replaces no file of it (a wheel may ship its own ``.pyc``) but a ``.pyc`` it kept whose source's time
changed since (a cache copied without its times, see :func:`outdated`); only a timestamp ``.pyc`` whose header
matches the shared source is kept; a ``.pyc`` that does not match its source is recompiled by
Python as it always is. CPython only (its cache tag follows from the markers); hard-linked
placements only; not in a reproducible build (:func:`reproducible`), whose bytecode is its own. Every failure
here is ignored: the cost of a missing ``.pyc`` is one compile.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._atomic import READ_BY_OTHERS, readable_by_all, write_atomic
from tox_venvsync._errors import BadInputError
from tox_venvsync._state import BYTECODE_PENDING, State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tox_venvsync._target import Target

_LIST = ".venvsync-bytecode-{tag}.json"
_PYCACHE = "__pycache__"
#: modules per compiling process, at least (a process costs about what compiling 50 modules does)
_PER_WORKER = 50
#: a timestamp .pyc's header: magic (4 bytes), flags (4, zero), source mtime (4), source size (4)
_HEADER = 16


def cache_tag(target: Target) -> str | None:
    """``sys.implementation.cache_tag`` of CPython (``cpython-312``); ``None`` for other interpreters."""
    if target.markers.get("implementation_name") != "cpython":
        return None
    major, _, minor = target.markers.get("python_version", "").partition(".")
    return f"cpython-{major}{minor}" if major.isdigit() and minor.isdigit() else None


def reproducible() -> bool:
    """Whether ``SOURCE_DATE_EPOCH`` asks for a reproducible build: hash-checked bytecode, none from the cache.

    py_compile, pip and uv then write ``.pyc`` files that hold no source time. The cache's are timestamp ones
    (compiled by Python or by an earlier build): linked into such a venv, they would make it depend on what ran
    before, and a layer whose times are rewritten finds them stale.
    """
    return bool(os.environ.get("SOURCE_DATE_EPOCH"))


def compiled(tree: Path, tag: str) -> list[str]:
    """The tree-relative paths of the ``.pyc`` files ``tree`` holds for ``tag`` (none when unreadable)."""
    listing = tree / _LIST.format(tag=tag)
    try:
        with listing.open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            listed = json.loads(file.read())
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(listed, list):
        return []
    paths = [path for path in listed if isinstance(path, str) and _is_compiled_path(path, tag)]
    if mode & READ_BY_OTHERS != READ_BY_OTHERS:  # its list without them says the files may lack them
        _readable_by_all(tree, paths, listing)
    return paths


def outdated(tree: Path, paths: list[str], tag: str) -> bool:
    """Whether the tree's sources changed their times since its ``.pyc`` files (``paths``) were compiled.

    A copy of the cache that does not keep the files' times (``cp -r``, a CI cache step or artifact that sets
    them anew) leaves every ``.pyc`` it keeps stale: each records its source's mtime. Linked into a venv, Python
    compiled the module again in every process of a read-only image, and ``--compile-bytecode``, seeing a
    ``.pyc`` beside each module, compiled none of them (found by QA). Such a copy changes every file's time, so
    one ``.pyc`` is read (16 bytes and a stat, once per tree: reading each would cost a warm install ~50 ms);
    one that cannot be read counts as outdated too.
    """
    if not paths:
        return False
    path = next((path for path in paths if path.endswith(f".{tag}.pyc")), paths[0])  # else an -O one
    pycache, _, name = path.rpartition("/")
    source = os.path.join(tree, pycache.rpartition("/")[0], name.partition(".")[0] + ".py")
    try:
        return not _matches(os.path.join(tree, path), os.stat(source))
    except OSError:
        return True


def _readable_by_all(tree: Path, paths: list[str], listing: Path) -> None:
    """Give the ``.pyc`` files a tree keeps, and their list, mode 0644: the list's mode says whether they need it.

    They are hard-linked into venvs, so they share one mode (as the tree's own files, see ``_unpacked``): one
    that Python wrote under a umask that hides reads (077: 0600) would reach a venv a later sync made under 022
    for other users unreadable. A harvest now gives each file it keeps that mode and writes the list 0644 last;
    a list of an earlier version (always 0600) has its files mended once, here. A cache this process cannot
    change is left as it is.
    """
    readable_by_all([*((tree / path, 0o644) for path in paths), (listing, 0o644)])


def _is_compiled_path(path: str, tag: str) -> bool:
    parts = path.split("/")
    return (
        len(parts) >= 2  # noqa: PLR2004  # __pycache__/<module>.<tag>.pyc
        and parts[-2] == _PYCACHE
        and parts[-1].endswith(".pyc")
        and f".{tag}." in parts[-1]
        and not path.startswith("/")
        and ".." not in parts
        and "" not in parts
    )


def remember_sources(venv: Path, tag: str, directories: Iterable[tuple[str, str, str]]) -> None:
    """Note ``(venv directory, tree, tree-relative directory)`` of linked modules, for the next :func:`harvest`.

    Merged with what an earlier sync noted and no command has harvested yet.
    """
    pending = venv / BYTECODE_PENDING
    known: set[tuple[str, str, str]] = set()
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, RecursionError):  # edited by hand: replaced
        data = json.loads(pending.read_text(encoding="utf-8"))
        if data["tag"] == tag:
            known = {(str(a), str(b), str(c)) for a, b, c in data["directories"]}
    merged = known | set(directories)
    if merged != known:
        with contextlib.suppress(OSError):
            write_atomic(pending, json.dumps({"tag": tag, "directories": sorted(merged)}))


def harvest(venv: Path, unpacked: Path) -> int:
    """Link the ``.pyc`` files Python wrote for modules a sync linked into their trees; how many were new.

    ``unpacked`` is the cache's directory of unpacked trees: the note in the venv is a file anyone
    who can write the venv can edit, so only directories inside the venv are read and only trees
    inside ``unpacked`` are written.
    """
    pending = venv / BYTECODE_PENDING
    try:
        data = json.loads(pending.read_text(encoding="utf-8"))
        tag, directories = str(data["tag"]), [(str(a), str(b), str(c)) for a, b, c in data["directories"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return 0
    with contextlib.suppress(OSError):
        pending.unlink()  # once per sync: later runs pay nothing
    inside_venv, inside_cache = _inside(venv), _inside(unpacked)
    added: dict[str, set[str]] = {}
    known: dict[str, frozenset[str]] = {}  # what each tree lists already: its .pyc files that may be replaced
    for directory, tree, relative in directories:
        parts = relative.split("/")
        if not (inside_venv(directory) and inside_cache(tree)) or ".." in parts or relative.startswith("/"):
            continue
        if tree not in known:
            known[tree] = frozenset(compiled(Path(tree), tag))
        for name in _new_compiled(directory, tree, relative, tag, known[tree]):
            added.setdefault(tree, set()).add(_listed_path(relative, name))
    for tree, paths in added.items():
        listed = _LIST.format(tag=tag)
        with contextlib.suppress(OSError):
            # 0644, written after the files it lists were given that mode (see _readable_by_all)
            write_atomic(Path(tree, listed), json.dumps(sorted(set(compiled(Path(tree), tag)) | paths)), mode=0o644)
    return sum(len(paths) for paths in added.values())


def compile_venv(venv: Path, target: Target, unpacked_dir: Path, *, synced: bool) -> bool:
    """Compile the venv's modules (:func:`compile_all`) and keep the result in the cache; whether it did.

    Nothing is done when the venv is in sync (``synced`` false: the sync found its state current)
    and its bytecode was compiled after the sync that last changed it: no walk, no process.
    """
    state = State(venv)
    if not synced and state.bytecode_compiled():
        return False
    compile_all(target)
    harvest(venv, unpacked_dir)  # the next venv of this cache links what was just compiled
    state.mark_bytecode_compiled()
    return True


def compile_all(target: Target) -> None:
    """Compile every module of the venv's site-packages with its interpreter, as pip does after an install.

    Only modules without a ``.pyc`` for the interpreter's cache tag are handed to ``compileall``
    (those linked from the cache have one), so a venv whose bytecode all came from the cache
    starts no process. A file that does not compile (code for another Python version, which some
    wheels ship) is left without bytecode, as pip and uv leave it (and is tried again next time).
    """
    tag = cache_tag(target)
    directories = sorted({target.scheme["purelib"], target.scheme["platlib"]})
    missing = directories if tag is None else [path for root in directories for path in _uncompiled(root, tag)]
    if not missing:
        return
    _writable_for_bytecode(missing if tag is not None else [os.path.join(d, "_") for d in directories])
    # compileall compiles a list of files in one process: one process per core, each with its share
    workers = max(1, min(os.cpu_count() or 1, len(missing) // _PER_WORKER))
    # SOURCE_DATE_EPOCH (a reproducible build's) asks for bytecode that does not record the sources' times, as
    # py_compile, pip and uv then give: a layer whose times are rewritten to it would find timestamp .pyc stale
    mode = "checked-hash" if reproducible() else "timestamp"
    command = [target.executable, "-m", "compileall", "-qq", "--invalidation-mode", mode, "-i", "-"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(workers):
            processes.append(_compiler(command, target))  # noqa: PERF401  # each listed once started: ended below
        for number, process in enumerate(processes):  # every process gets its list (read whole at start), then all run
            with contextlib.suppress(BrokenPipeError), process.stdin as stdin:  # type: ignore[union-attr]  # a PIPE
                stdin.write("\n".join(missing[number::workers]).encode())
        for process in processes:
            process.wait()
    except BaseException:
        _end(processes)
        raise


def _compiler(command: list[str], target: Target) -> subprocess.Popen[bytes]:
    """A ``compileall`` process of the venv's interpreter, reading the modules to compile on its standard input."""
    try:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    except OSError as exc:
        python = target.executable
        msg = f"cannot compile the bytecode of {target.prefix}: {python} does not run ({exc.strerror}); recreate it"
        raise BadInputError(msg) from exc


def _end(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill and reap the compiling processes of a compile that failed or was stopped (Ctrl-C, SIGTERM: ``_entry``).

    Left running, they went on writing into the venv, which a run that made it removes next (``py_compile`` makes a
    missing ``__pycache__``, and the directories above it), and outlived venvsync.
    """
    for process in processes:
        process.kill()  # one that ended already is not signalled
    for process in processes:
        process.wait()


def _writable_for_bytecode(modules: Iterable[str]) -> None:
    """Raise the file system's refusal for the first place where a module's ``.pyc`` cannot be written.

    Each module's ``__pycache__`` (or its directory, where that is still to be made) is asked with
    ``access`` (which knows read-only mounts); a refusal is confirmed by writing there (:func:`_can_write`).
    """
    seen: set[str] = set()
    for module in modules:
        directory = os.path.dirname(module)
        if directory in seen:
            continue
        seen.add(directory)
        pycache = os.path.join(directory, _PYCACHE)
        place = pycache if os.path.isdir(pycache) else directory
        if not os.access(place, os.W_OK):
            _can_write(place)


def _can_write(directory: str) -> None:
    """Raise the file system's refusal, naming ``directory``, when it cannot take a new file.

    ``compileall`` (as Python) lets a ``__pycache__`` it cannot write go: a venv in a read-only layer
    would be reported compiled. A probe file, made and removed, asks the file system itself.
    """
    import tempfile  # noqa: PLC0415  # only when there is something to compile

    try:
        handle, probe = tempfile.mkstemp(prefix=".venvsync-probe-", dir=directory)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, directory) from exc
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _uncompiled(root: str, tag: str) -> list[str]:
    """The modules under ``root`` without a ``__pycache__/<module>.<tag>.pyc``."""
    missing = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name != _PYCACHE]
        modules = [name for name in files if name.endswith(".py")]
        if not modules:
            continue
        try:
            present = set(os.listdir(os.path.join(directory, _PYCACHE)))
        except OSError:
            present = set()
        missing += [os.path.join(directory, name) for name in modules if f"{name[:-3]}.{tag}.pyc" not in present]
    return missing


def _inside(root: Path) -> Callable[[str], bool]:
    prefix = os.path.join(os.path.abspath(root), "")
    return lambda path: os.path.abspath(path).startswith(prefix)


def _listed_path(relative: str, name: str) -> str:
    """The tree-relative path of the ``.pyc`` ``name`` for the modules of the tree's directory ``relative``."""
    return f"{relative}/{_PYCACHE}/{name}" if relative else f"{_PYCACHE}/{name}"


def _new_compiled(directory: str, tree: str, relative: str, tag: str, listed: frozenset[str]) -> list[str]:
    """The ``.pyc`` names of ``directory`` for ``tag`` that are valid for the tree's source and now in the tree.

    A name the tree has already is passed over, but for one the tree lists (``listed``: kept by an earlier harvest,
    never the wheel's own) that is stale for the tree's source while the venv's is valid: the cache was copied
    without its files' times (see :func:`outdated`), and the venv's file, compiled again, takes its place.
    """
    try:
        names = os.listdir(os.path.join(directory, _PYCACHE))
    except OSError:
        return []
    source_dir = os.path.join(tree, relative)
    target_dir = os.path.join(source_dir, _PYCACHE)
    try:
        kept = set(os.listdir(target_dir))  # linked into the venv from here, or kept by another venv: no new name
    except OSError:
        kept = set()
    new = []
    for name in names:
        module, dot, rest = name.partition(".")
        if not dot or not rest.startswith(f"{tag}.") or not name.endswith(".pyc"):
            continue
        pyc = os.path.join(directory, _PYCACHE, name)
        kept_as = os.path.join(target_dir, name)
        try:
            if name in kept and (_listed_path(relative, name) not in listed or os.path.samefile(pyc, kept_as)):
                continue  # the wheel's own .pyc, or the tree's own file linked into the venv: read no further
            source = os.stat(os.path.join(directory, module + ".py"))
            shared = os.stat(os.path.join(source_dir, module + ".py"))
            if (source.st_dev, source.st_ino) != (shared.st_dev, shared.st_ino) or not _matches(pyc, source):
                continue  # not the tree's own file (copied, replaced), or not Python's timestamp .pyc for it
            if name in kept and _matches(kept_as, shared):
                continue  # another venv's, valid as well
            os.makedirs(target_dir, exist_ok=True)
            # a new name, or in place of the tree's stale .pyc by a rename; never over the wheel's own file, nor a
            # valid one: one link makes the whole file appear at once
            if name in kept:
                _link_over(pyc, kept_as)
            else:
                os.link(pyc, kept_as)
            # the cache's file now, linked into later venvs: readable by all whatever the umask Python wrote it under
            # (changed only once linked: no file that is the venv's alone changes); one it cannot change is not listed
            os.chmod(kept_as, 0o644)
        except OSError:  # FileExistsError included
            continue
        new.append(name)
    return new


def _link_over(source: str, destination: str) -> None:
    """Link ``source`` at ``destination`` in place of the file there: by a rename, so the name is never missing."""
    temporary = os.path.join(os.path.dirname(destination), f".{os.getpid()}.venvsync-pyc")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # this process's own, from a run that was killed
    os.link(source, temporary)
    try:
        os.replace(temporary, destination)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _matches(pyc: str, source: os.stat_result) -> bool:
    """Whether ``pyc`` is a timestamp ``.pyc`` of a source with this mtime and size (what Python checks)."""
    with open(pyc, "rb") as handle:
        header = handle.read(_HEADER)
    if len(header) != _HEADER:
        return False
    flags = int.from_bytes(header[4:8], "little")
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return flags == 0 and mtime == int(source.st_mtime) & 0xFFFFFFFF and size == source.st_size & 0xFFFFFFFF
