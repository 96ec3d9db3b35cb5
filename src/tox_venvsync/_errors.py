"""The error types of tox-venvsync: one root, each rendering one sentence a user can act on."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# The patterns below are compiled where first used (``re`` keeps them compiled after that): a tox run that finds its
# venv in sync uses none of them, and compiling them all when the module loads was about 0.3 ms of every run.

#: the user info of a URL (``user:password@``, a token), which an index URL may carry and a message never shows
_USER_INFO = (
    r"(?<=://)[^/?#\s]+@"  # to the last "@": a password may hold a raw one
    # or "user:" and a password holding a raw "/", "?" or "#" (not a port: digits and then a path)
    r"|(?<=://)[^/?#\s@:]*:(?!\d+(?:[/?#\s]|$))[^\s@]*@"
)


#: How the engine's sentences name what a user sets, for each front end: tox's keys (the default) or, while
#: ``venvsync`` runs (:func:`command_line_names`), its options. One engine, two front ends.
_TOX_NAMES = {
    "env_location": "env_location",
    "lock_file": "lock_file",
    "lock_format": "lock_format",
    "set lock_format to": "set lock_format to",
    "project root": "the project root",
    "what runs here": "tox and this plugin",
    "only_groups": "only_groups",
    "extras": "extras",
    "leave extras and groups out": "leave extras and dependency_groups empty in this environment",
    "frozen": "--frozen to sync_flags",
    "no group": "--no-group {} to sync_flags",
    "offline": "tox --sync-offline",
}
_COMMAND_LINE_NAMES = {
    "env_location": "--venv",
    "lock_file": "--lock",
    "lock_format": "--lock-format",
    "set lock_format to": "pass --lock-format with",
    "project root": "the lockfile's directory",
    "what runs here": "venvsync itself",
    "only_groups": "--only-group",
    "extras": "--extra",
    "leave extras and groups out": "leave out --extra and --group",
    "frozen": "--frozen",
    "no group": "--no-group {}",
    "offline": "--offline",
}
_names = _TOX_NAMES
#: this thread's own spellings over the front end's (tox p sets up environments in threads)
_renamed = threading.local()


def named(what: str) -> str:
    """How the front end running now spells ``what`` (a key of the tables above) in a sentence."""
    own: dict[str, str] = getattr(_renamed, "names", {})
    return own.get(what) or _names[what]


@contextlib.contextmanager
def renamed(what: str, name: str) -> Iterator[None]:
    """Within the block, this thread's sentences call ``what`` ``name``: tox's ``env_dir``, where one is set."""
    before: dict[str, str] = getattr(_renamed, "names", {})
    _renamed.names = {**before, what: name}
    try:
        yield
    finally:
        _renamed.names = before


@contextlib.contextmanager
def command_line_names() -> Iterator[None]:
    """Within the block, sentences name the command line's options (``--venv``), not tox's keys."""
    global _names  # noqa: PLW0603  # one front end runs a process's sentences at a time
    before, _names = _names, _COMMAND_LINE_NAMES
    try:
        yield
    finally:
        _names = before


#: a URL with a login in it, inside quoted text (TOML, JSON): in a "..." string a login may hold a ', in a '...' one
#: (TOML's literal strings) a "
_QUOTED_LOGIN = r"://[^/?#\s\"]+@|://[^/?#\s']+@"


def carries_login(text: str) -> bool:
    """Whether ``text`` (a lockfile's, or JSON) holds a URL with a login: such text is not kept in the cache."""
    return "@" in text and re.search(_QUOTED_LOGIN, text) is not None


def redacted(text: str) -> str:
    """``text`` with the user info of every URL in it shown as ``****@``."""
    return re.sub(_USER_INFO, "****@", text)


def shown(text: str) -> str:
    """``text`` with each character a terminal does not print (ESC, CR, a line feed...) written as its escape.

    A message quotes what a lock says (a URL, a path, a file name): ESC ``[2J`` there would clear the screen or
    recolour tox's output, a carriage return or a line feed would write over a line or forge one (``py312: OK``).
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def printed(*texts: object) -> str:
    """What a tool printed (its stdout, then its stderr: ``None`` or empty where it printed nothing there)."""
    return "\n".join(text.strip("\n") for text in texts if isinstance(text, str) and text.strip())


class VenvSyncError(Exception):
    """The root of every error tox-venvsync reports to a user instead of a traceback.

    ``exit_code`` is what the command line exits with: 2 for bad input, 1 for a sync that failed.
    The message never shows a URL's user info (a password or token in an index URL would end up in a
    CI log): it reads ``https://****@host/...``.
    """

    exit_code = 1

    def __init__(self, message: str, *, output: str = "") -> None:
        """``output``: what the tool that failed printed (pip, a build backend, git), shown at ``tox -v``."""
        message = shown(redacted(message))  # one line, with no terminal's control sequences from the lock in it
        super().__init__(message)
        self.message = message
        self.output = redacted(output.strip())

    def __str__(self) -> str:
        return self.message


class BadInputError(VenvSyncError):
    """Input the user can fix: a lockfile, a path, a configuration value."""

    exit_code = 2


class LockFileError(BadInputError):
    """A lockfile that cannot be read, parsed or validated; names the file and the context path."""

    def __init__(self, path: Path, reason: str, *, context: str | None = None) -> None:
        where = f" at {context}" if context else ""
        super().__init__(f"{path}{where}: {reason}")
        self.path = path
        self.context = context
        self.reason = reason


class SelectionError(BadInputError):
    """The lock has nothing (or something ambiguous) for this interpreter, extras and groups."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LocationError(BadInputError):
    """A venv location that tox-venvsync refuses to create, use or empty; nothing was touched."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"refusing to use {path} as a virtual environment: {reason}")
        self.path = path
        self.reason = reason


class InterpreterError(BadInputError):
    """The interpreter for the environment is missing or does not answer; ``reason``: why, in its own words."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        """``reason``: what running it said (its last line of errors, the system's error); empty when it answered.

        An interpreter that answered and is refused (too old) has no reason: its message is the sentence to show.
        """
        super().__init__(message)
        self.reason = shown(redacted(reason))


class ReplacedInterpreterError(InterpreterError):
    """A venv's own interpreter does not run, or runs another Python than the venv was made for.

    ``reason`` says so as a reason to make the venv again: ``its interpreter <venv>/bin/python runs Python 3.12.1, not
    the 3.11.7 it was made for``.
    """


class FetchError(VenvSyncError):
    """An artifact could not be downloaded or read.

    ``transient``: the network or the server failed in a way that asking again may mend (an HTTP 5xx or 429, a
    connection reset or timed out, a body cut short), as uv and pip tell such failures from the others.
    """

    def __init__(self, name: str, source: str, reason: str, *, transient: bool = False) -> None:
        super().__init__(f"cannot fetch {name} from {source}: {reason}")
        self.name = name
        self.source = source
        self.reason = reason
        self.transient = transient


class BadUrlError(FetchError):
    """A URL in the lock that cannot be fetched from whatever the network does: the lock is to fix (exit code 2)."""

    exit_code = 2


class NoFittingFileError(FetchError):
    """A requirements pin whose allowed files are all wheels for other interpreters: the file is to fix (exit code 2).

    The same refusal as a ``uv.lock`` or ``pylock.toml`` entry with no wheel for the interpreter (compiled for
    another platform, ``uv pip compile --python-platform windows``), which is bad input too.
    """

    exit_code = 2


class NotListedError(FetchError):
    """A file the lock names that no index lists: a requirements pin's release, or a file a lock gives by name only.

    The lock (or the index setting) is to fix, as for a lock URL its server answers HTTP 404: exit code 2. The
    index answered; an index that did not (the network, a login) fails the fetch as before (exit code 1).
    """

    exit_code = 2


class OfflineError(VenvSyncError):
    """Offline, and the cache lacks files the sync needs; lists every one (bad input: exit code 2)."""

    exit_code = 2

    def __init__(self, missing: list[str], *, builds: Sequence[str] = (), leave_out: str = "") -> None:
        """``builds``: what the sync would build and what each build needs (``demo from <dir> needs hatchling``).

        A build's requirements are not in the cache (pip installs them, offline from its find-links alone): told
        beside the files, so that one run online, or the find-links, or ``leave_out`` (the project) is done at once.
        """
        needs = ""
        if builds:
            either = f", or {leave_out}" if leave_out else ""
            needs = f"; building {' and '.join(builds)} too, which offline pip takes only from PIP_FIND_LINKS: put "
            needs += f"them there{either}"
        super().__init__(
            f"offline and {len(missing)} file(s) are not in the cache: {', '.join(missing)}; "
            f"run once online (or fill TOX_VENVSYNC_CACHE_DIR) first{needs}",
        )
        self.missing = missing


class HashMismatchError(VenvSyncError):
    """An artifact's size or hash differs from the lock; nothing of it was installed (bad input: exit code 2).

    The lock and the bytes served for it disagree: the lock, or the index, is to fix; running again does not help.
    """

    exit_code = 2

    def __init__(  # noqa: PLR0913  # what was found, what the lock says and where, keyword-only
        self,
        name: str,
        source: str,
        *,
        what: str,
        expected: str,
        actual: str,
        context: str = "",
        lock: Path | None = None,
        served_html: bool = False,
    ) -> None:
        where = f" at {context}" if context else ""
        advice = "check the lockfile or the index that serves this file"
        if served_html:  # a proxy's login page, an index's error page sent with 200 OK
            advice = "the server sent a web page, not the file (a login or error page?): check the URL and its login"
        super().__init__(
            f"{what} of {name} from {source} is {actual} but {lock or 'the lock'} says {expected}{where}; "
            f"nothing was installed: {advice}",
        )
        self.name = name
        self.source = source
        self.what = what
        self.expected = expected
        self.actual = actual
        self.context = context
        self.lock = lock
        self.served_html = served_html

    def of(self, lock: Path) -> HashMismatchError:
        """The same mismatch, naming the lockfile (the fetch knows the entry, its caller the file)."""
        return self._again(lock, served_html=self.served_html)

    def of_a_page(self) -> HashMismatchError:
        """The same mismatch, saying that what the server sent is a web page (see ``_fetch``)."""
        return self._again(self.lock, served_html=True)

    def _again(self, lock: Path | None, *, served_html: bool) -> HashMismatchError:
        return HashMismatchError(
            self.name,
            self.source,
            what=self.what,
            expected=self.expected,
            actual=self.actual,
            context=self.context,
            lock=lock,
            served_html=served_html,
        )


class InstallError(VenvSyncError):
    """A wheel that cannot be installed (invalid or hostile content): bad input, as a wrong hash is.

    ``remedied``: the reason says what to do (a link to remove, a Python to use, the cache to fix). Otherwise the
    wheel's contents are broken (a RECORD that lies, an entry out of the venv, an entry point that does not parse),
    and what to do depends on where the wheel came from, which the unpacking does not know: the sync adds it
    (:meth:`with_remedy`), as it names the lockfile of a hash mismatch.
    """

    exit_code = 2

    def __init__(self, name: str, wheel: str, reason: str, *, remedied: bool = False) -> None:
        super().__init__(f"cannot install {name} from {wheel}: {reason}")
        self.name = name
        self.wheel = wheel
        self.reason = reason
        self.remedied = remedied

    def with_remedy(self, remedy: str) -> InstallError:
        """The same refusal, saying what to do about a broken wheel from where it came (see ``_sync``)."""
        return InstallError(self.name, self.wheel, f"{self.reason}; {remedy}", remedied=True)


class FileSystemError(VenvSyncError):
    """The disk refused a write or a read: full, read-only, or not ours to change; says which file and what to do."""


class InTheWayError(FileSystemError):
    """A file or directory in the venv stands where an install places one: the venv's state, not the wheel's.

    Exit code 1, as when an install that uninstalls nothing meets it at placement (``ENOTDIR``, ``EISDIR``).
    """

    def __init__(self, name: str, wheel: str, reason: str) -> None:
        super().__init__(f"cannot install {name} from {wheel}: {reason}")
        self.name = name
        self.wheel = wheel
        self.reason = reason


class ResourceError(VenvSyncError):
    """The process ran out of memory or threads (``ulimit -v``, ``ulimit -u``): says which, and what to do."""


def resource_error(exc: BaseException) -> ResourceError | None:
    """One sentence for a process out of memory or out of threads; ``None`` for any other exception.

    Under ``ulimit -v`` each download thread's stack and malloc arena count, so a limit of a few hundred
    megabytes is met by a ``MemoryError`` in a read or ``can't start new thread``: a traceback, before.
    """
    if isinstance(exc, MemoryError):
        what = "memory"
    elif isinstance(exc, RuntimeError) and str(exc) == "can't start new thread":
        what = "threads (each needs memory for its stack)"
    else:
        return None
    return ResourceError(
        f"the process ran out of {what}; raise its limits (ulimit -v for memory, ulimit -u for processes and "
        "threads) or free some memory, and run again (the next sync finishes what this one started)"
    )


#: what to do when the file system refuses, by errno
_REMEDIES = {
    errno.ENOSPC: "free some space and run again (the next sync finishes what this one started)",
    errno.EDQUOT: "free some space within your quota and run again (the next sync finishes what this one started)",
    errno.EROFS: "the file system is read-only: make it writable, or put the venv and the cache on one that is",
    errno.EACCES: "check the permissions of that path (or run as the user who owns it)",
    errno.EPERM: "check the permissions of that path (or run as the user who owns it)",
    errno.EISDIR: "a directory stands where a file goes: remove it, or make the environment again",
    errno.ENOTDIR: "a file stands where a directory goes: remove it, or make the environment again",
    errno.ENAMETOOLONG: "the path is longer than the file system takes: choose a shorter location",
    errno.EMFILE: "raise the limit of open files (ulimit -n) and run again",
    errno.ENFILE: "the system has too many files open: close some programs and run again",
}
#: the errors of a process or system out of file descriptors: no fault of the file named
OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE})


def file_system_error(exc: OSError, cache: Path | None = None) -> FileSystemError | None:
    """One sentence for an ``OSError`` a full, read-only or foreign file system raises; ``None`` for any other.

    Inside ``cache`` (the cache's root), any refusal of the file system gets one: a cache directory that is a
    file, or was taken away, is the user's setting to fix.
    """
    # a link or a rename names its destination second: that is where the space or the permission lacked
    filename = exc.filename2 if exc.filename2 is not None else exc.filename
    named = isinstance(filename, str | bytes | os.PathLike)  # not a file descriptor
    if named and exc.errno in REFUSED | FULL and _made_for_a_moment(Path(os.fsdecode(filename))):
        filename = str(Path(os.fsdecode(filename)).parent)  # the directory that refused it, which is there to see
    where = f" at {filename}" if named else ""
    path = Path(os.fsdecode(filename)) if named else None
    making_cache = path is not None and cache is not None and path in cache.parents and exc.errno in REFUSED
    if making_cache:  # a directory the cache goes in (a read-only home's .cache) cannot be made
        return FileSystemError(
            f"the cache {cache} cannot be made ({exc.strerror or exc}{where}); "
            "set TOX_VENVSYNC_CACHE_DIR to a directory you can write"
        )
    if cache is not None and path is not None and _inside(path, cache) and exc.errno not in OUT_OF_FILES:
        return _in_cache(exc, path, cache, where)
    remedy = _REMEDIES.get(exc.errno or 0)
    if remedy is None:
        return None
    return FileSystemError(f"{exc.strerror or exc}{where}; {remedy}")


def _in_cache(exc: OSError, path: Path, cache: Path, where: str) -> FileSystemError:
    """The sentence for an error of the file system at ``path``, in the cache rooted at ``cache``."""
    if exc.errno == errno.ENOENT and cache.is_dir():  # it was there a moment ago: removed by someone meanwhile
        return FileSystemError(
            f"the cache {cache} changed under this run ({exc.strerror or exc}{where}): something removed "
            "part of it while it was in use; run again"
        )
    if exc.errno in FULL:  # a disk without room: another directory you can write would be full as well
        return FileSystemError(
            f"the cache {cache} is full ({exc.strerror or exc}{where}); free some space on its disk (or set "
            "TOX_VENVSYNC_CACHE_DIR to a directory on one with room) and run again"
        )
    if exc.errno in REFUSED and _lock_file_in_writable_locks(path, cache):
        return FileSystemError(
            f"the cache {cache} has a lock file you may not write ({exc.strerror or exc}{where}), another "
            "user's or made read-only; a cache serves one user: set TOX_VENVSYNC_CACHE_DIR to a directory of "
            "your own, or, if this cache is yours, remove that file (it holds no data) while no other sync runs"
        )
    return FileSystemError(
        f"the cache {cache} cannot be used ({exc.strerror or exc}{where}); "
        "set TOX_VENVSYNC_CACHE_DIR to a directory you can write"
    )


#: the errors of a file system that refuses a write: read-only, or not the user's
REFUSED = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: the errors of a file system without room for a write: its disk, or the user's quota, is full
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextlib.contextmanager
def naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """An ``OSError`` of the block that names no file names ``path``: the file a write through a descriptor made.

    ``os.write``, a file object's ``write`` and ``close`` and ``os.sendfile`` raise a full disk's error without a
    file name, which left ``No space left on device; free some space ...`` saying nothing of where.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc


def not_writable(directory: str | os.PathLike[str]) -> OSError:
    """The error a write into ``directory`` meets when access(2) says this user may not write it.

    ``Read-only file system`` on a read-only mount, else ``Permission denied``; named by the directory.
    """
    code = errno.EROFS if os.statvfs(directory).f_flag & os.ST_RDONLY else errno.EACCES
    return OSError(code, os.strerror(code), os.fspath(directory))


#: the name ``tempfile.mkstemp`` gives the temporary file of an atomic write (ours, ``.state.json.k2j4_x9a.tmp``;
#: tox's, ``.tox-info.json.62eqe91f.tmp``), which exists only while the write runs
_TEMPORARY = r".+\.[a-z0-9_]{8}\.tmp"


def _made_for_a_moment(path: Path) -> bool:
    """Whether ``path`` is a temporary file of an atomic write that is not there (refused, or gone with the write)."""
    return re.fullmatch(_TEMPORARY, path.name) is not None and not os.path.lexists(path)


def _lock_file_in_writable_locks(path: Path, cache: Path) -> bool:
    """Whether ``path`` is a lock file there in the cache's ``locks/``, a directory this user may write.

    Refused such a file (another user's, mode 0644, in a cache two users share), a sync said to set
    ``TOX_VENVSYNC_CACHE_DIR`` to a directory you can write, which the cache is (found by QA).
    """
    return (
        path.parent == cache / "locks"
        and path.name.endswith(".lock")
        and path.is_file()
        and os.access(path.parent, os.W_OK | os.X_OK)
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
