"""Cache: a content-addressed store of verified artifacts, shared by every env and run on the machine.

Layout under the cache root (``TOX_VENVSYNC_CACHE_DIR``, else the platform's user cache dir)::

    artifacts/<algorithm>/<digest[:2]>/<digest>/<filename>   verified files, named by their hash
    unpacked/<algorithm>/<digest[:2]>/<digest>/              a wheel's verified, unpacked tree, to link from
    files/<digest[:2]>/<digest>[-x]                          generated files (RECORD, scripts...) by content
    built/<sha256|git>/<key[:2]>/<key>/<wheel>               wheels built from an sdist hash or a VCS commit
    locks/<key>.lock                                         one file lock per venv path
    locks/unpacked-<algorithm>-<digest>.lock                 taken while a broken unpacked tree is replaced
    interpreters/<key>.json                                  an interpreter's facts, while its binary is unchanged
    discovered/<key>.json                                    the interpreter a base_python named, when tox's own was it
    toml/<key>.json                                          a lockfile's parsed tables, by the digest of their text
    selections/<key>.json                                    what a lock selected for one request and interpreter
    pins/<key>.json                                          the file the index gave a requirements pin, per tags
    placements/<key>.json                                    the last placement into a new venv at one path
    tmp/p<pid>/                                               each process's work in progress (same filesystem)

A file only ever appears at its address by an atomic rename after its size and hash were checked,
so a reader never sees a partial or unverified file.
"""

from __future__ import annotations

import array
import contextlib
import errno
import hashlib
import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tox_venvsync._errors import BadInputError
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from filelock import FileLock

# filelock, platformdirs and shutil are imported where they are used: together ~25 ms of the command line's
# start-up. A ``venvsync sync`` that finds the venv in sync (see _cli) takes no lock and removes nothing, and
# needs platformdirs only without TOX_VENVSYNC_CACHE_DIR.

CACHE_DIR_ENV = "TOX_VENVSYNC_CACHE_DIR"


def default_cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``TOX_VENVSYNC_CACHE_DIR`` when set, else the user cache directory."""
    environ = os.environ if environ is None else environ
    if value := environ.get(CACHE_DIR_ENV):
        return Path(value).expanduser().absolute()
    import platformdirs  # noqa: PLC0415  # see the imports

    return Path(platformdirs.user_cache_dir("tox-venvsync", appauthor=False))


@frozen(kw_only=False)
class Cache:
    """The cache rooted at ``root``."""

    root: Path

    def artifact(self, algorithm: str, digest: str, filename: str) -> Path:
        """Where the verified file with this hash lives (whether or not it is there yet)."""
        if filename in {"", ".", ".."} or "/" in filename or "\0" in filename:
            msg = f"the cache has no place for a file named {filename!r}: a lock's file name is a plain name"
            raise BadInputError(msg)
        return self.root / "artifacts" / _address(algorithm, digest) / filename

    @property
    def unpacked_dir(self) -> Path:
        """The directory of every unpacked tree."""
        return self.root / "unpacked"

    def unpacked(self, algorithm: str, digest: str) -> Path:
        """Where the unpacked tree of the wheel with this hash lives."""
        return self.unpacked_dir / _address(algorithm, digest)

    def built(self, kind: str, key: str) -> Path:
        """Where the wheel built from an sdist (by its hash) or a VCS commit is kept."""
        return self.root / "built" / kind / key[:2] / key

    def venv_lock(self, venv: Path) -> Path:
        """The lock file that serialises syncs of the venv at ``venv`` (by real path: one lock for every spelling)."""
        key = hashlib.sha256(os.fsencode(os.path.realpath(venv))).hexdigest()[:32]
        return self.root / "locks" / f"{key}.lock"

    def tree_lock(self, algorithm: str, digest: str) -> Path:
        """The lock file that serialises replacing the broken unpacked tree of the wheel with this hash."""
        _address(algorithm, digest)  # checked as the tree's own place is
        return self.root / "locks" / f"unpacked-{algorithm}-{digest}.lock"

    def download_lock(self, algorithm: str, digest: str) -> Path:
        """The lock file two processes fetching the file with this hash take turns with (see :func:`one_at_a_time`)."""
        _address(algorithm, digest)  # checked as the file's own place is
        return self.root / "locks" / f"fetch-{algorithm}-{digest}.lock"

    def build_lock(self, kind: str, key: str) -> Path:
        """The lock file two processes building the wheel kept at :meth:`built` take turns with."""
        return self.root / "locks" / f"build-{kind}-{key}.lock"

    def tmp_dir(self) -> Path:
        """The directory of this process for work in progress, on the cache filesystem so a rename is atomic.

        The process removes it when it exits. A process killed mid-download leaves its directory behind; the
        next process to ask removes the directories of processes that no longer run. The name holds the
        process's PID namespace too (``p<pid>-<namespace>``): a cache shared by containers (a Docker build's
        cache mount) sees processes of other namespaces, whose numbers say nothing here; their directories go
        only once a day old.
        """
        namespace = _pid_namespace()
        path = self.root / "tmp" / (f"p{os.getpid()}-{namespace}" if namespace else f"p{os.getpid()}")
        if not path.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            spread_out(path.parent)  # before this process's directory is made: see spread_out
            path.mkdir(exist_ok=True)
            _remove_dead(path.parent)
        if path not in _OWN:  # also one a process of the same number left: this process's now
            import atexit  # noqa: PLC0415  # see the imports

            _OWN.add(path)
            atexit.register(_remove_own, path)
        return path


#: the work directories this process made (or took over), removed when it exits
_OWN: set[Path] = set()


def _remove_own(path: Path) -> None:
    """Remove the work directory as the process exits; Ctrl-C (or SIGTERM, see ``_entry``) then leaves it.

    Its result was printed already: an interrupt in the last milliseconds printed a traceback ("Exception ignored
    in atexit callback"). What stays is a dead process's directory, which the next process removes.
    """
    with contextlib.suppress(KeyboardInterrupt):
        _remove_work(path)  # what is in it was work in progress of this process, which is ending


def _remove_work(path: Path) -> None:
    """Remove a work directory (this process's, or a dead one's of this user), whatever its directories' modes.

    An sdist unpacked there keeps its directories' modes (tarfile's data filter drops only the group's and others'
    write): one of ``r-x`` (a tree packed from a read-only store) could not be emptied, so ``rmtree`` left it and
    every directory above it, and no later process removed them either (found by QA, as a user who is not root).
    Each directory is made writable to its owner, and the removal tried again; links are never followed.
    """
    import shutil  # noqa: PLC0415  # see the imports

    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path) or path.is_symlink():
        return
    for directory, dirs, _ in os.walk(path):  # top-down: a directory is opened for writing before it is entered
        for name in (directory, *(os.path.join(directory, d) for d in dirs)):  # noqa: PTH118  # strings from os.walk
            if not os.path.islink(name):  # noqa: PTH114  # strings from os.walk
                with contextlib.suppress(OSError):  # another user's: left, as before
                    os.chmod(name, stat.S_IRWXU)  # noqa: PTH101
    shutil.rmtree(path, ignore_errors=True)


def _address(algorithm: str, digest: str) -> Path:
    """``<algorithm>/<digest[:2]>/<digest>``, the place of a file by its hash, for a hex digest only.

    The digest comes from the lock; every reader checks it, and this is the last guard: a value with a path in
    it (``../``, ``/home``) would otherwise name a place outside the cache, to be read as verified or replaced.
    """
    from tox_venvsync._lock._model import HEX_LENGTHS, wrong_digest  # noqa: PLC0415  # a sync placing files loads it

    if algorithm not in HEX_LENGTHS or digest != digest.lower() or wrong_digest(algorithm, digest) is not None:
        msg = f"{digest!r} is not a {algorithm} digest in lower-case hex; correct the lock (or lock again)"
        raise BadInputError(msg)
    return Path(algorithm, digest[:2], digest)


def env_lock(cache: Cache, venv: Path) -> FileLock:
    """The lock that makes two syncs of one venv take turns (kept in the cache, not in the venv)."""
    return _lock_at(cache.venv_lock(venv))


def waiting_for(venv: Path) -> str:
    """Why a command waits at :func:`taking_turns`: another sync of the venv (a ``venvsync sync``, a tox run)."""
    return f"another venvsync or tox run is working on {venv}; waiting for it to finish"


@contextlib.contextmanager
def taking_turns(
    cache: Cache, venv: Path, *, waiting: Callable[[], object], stopped: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Hold :func:`env_lock`; ``waiting()`` is called first when another process holds it and this one must wait.

    A wait that says nothing looks like a hang: a second sync (or a ``verify``) of a venv whose sync takes minutes.
    A wait ends with ``KeyboardInterrupt`` once ``stopped()`` (tox's Ctrl-C, which reaches a thread as a flag).
    """
    from filelock import Timeout  # noqa: PLC0415  # see the imports

    lock = env_lock(cache, venv)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        waiting()
        while True:
            try:
                lock.acquire(timeout=0.1)
                break
            except Timeout:  # the loop is the waiting
                if stopped():
                    raise KeyboardInterrupt from None
    try:
        yield
    finally:
        lock.release()


def tree_lock(cache: Cache, algorithm: str, digest: str) -> FileLock:
    """The lock two processes replacing the same broken unpacked tree take turns with (only taken on that path).

    Without it, the second could move the first one's fresh tree aside while the first links from it.
    """
    return _lock_at(cache.tree_lock(algorithm, digest))


#: how often a wait for another process's turn (:func:`one_at_a_time`) tries again, in seconds
_POLL = 0.02


@contextlib.contextmanager
def one_at_a_time(path: Path, *, stopped: Callable[[], bool] = lambda: False) -> Iterator[bool]:
    """Held while a file is fetched or a wheel built into the cache: another process doing the same waits for it.

    The envs of ``tox p`` on one lock fetch and build the same things at once; with this lock (the files of
    :meth:`Cache.download_lock` and :meth:`Cache.build_lock`) the second finds the first's result. Gives
    whether it waited: the other process may have stored the result meanwhile. The lock only saves a second
    download or build, as uv's cache saves it: a result enters the cache whole, by an atomic rename, either
    way. So a lock that cannot be taken (a filesystem without locks) is done without, and its file is removed
    when the work ends (a process that opened it before still takes turns on it; one that comes later finds
    the result stored, or does the work too). A wait ends when ``stopped()`` (Ctrl-C, a failure), and the work
    is then done without the lock (the caller checks what stopped it).

    Written by hand with ``flock(2)``, the call filelock's ``UnixFileLock`` makes (so the two take turns, and an
    older tox-venvsync's lock is honoured): filelock 4's machinery around it (fork tracking, a registry, its
    settings) cost 0.35-0.55 ms of CPU per file here, against 13-16 us for the call itself; a cold sync takes
    one per download (0.9 s of CPU for 2,000 wheels). The venv's own lock, taken once a sync, stays filelock's.
    """
    import fcntl  # noqa: PLC0415  # POSIX only, as the package is; see the imports

    waited = writable = False
    descriptor: int | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # read-only: another user's lock file in a shared cache (0644) is waited on, not passed over; and never
        # through a link planted at its name, which O_CREAT would follow to make a file wherever it leads
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # another process's turn: the loop is the waiting
                if stopped():
                    raise
                waited = True
                time.sleep(_POLL)
            except OSError as exc:
                # NFS emulates flock(2) with a POSIX lock of the whole file, which needs it open for writing: on a
                # read-only one it fails (EBADF), and every lock was done without. Opened again for writing (this
                # user's own file; another user's stays without a lock, as before)
                if exc.errno != errno.EBADF or writable:
                    raise
                os.close(descriptor)
                descriptor = None
                descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
                writable = True
    except OSError:
        if descriptor is not None:
            os.close(descriptor)
        descriptor = None  # no lock here: the work is done without one
    try:
        yield waited
    finally:
        if descriptor is not None:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(descriptor)  # closing the file lets go of its lock


def _lock_at(path: Path) -> FileLock:
    from filelock import FileLock  # noqa: PLC0415  # see the imports

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


#: Linux's ``FS_IOC_GETFLAGS`` / ``FS_IOC_SETFLAGS`` (``_IOR``/``_IOW('f', 1|2, long)``) where ioctl numbers
#: have the common layout (not alpha, mips, powerpc, sparc), and ext2/3/4's ``FS_TOPDIR_FL``
_IOCTL_LAYOUT_MACHINES = frozenset({"x86_64", "i386", "i686", "aarch64", "armv7l", "armv8l", "riscv64", "s390x"})
_FS_IOC_GETFLAGS = (2 << 30) | (array.array("l").itemsize << 16) | (ord("f") << 8) | 1
_FS_IOC_SETFLAGS = (1 << 30) | (array.array("l").itemsize << 16) | (ord("f") << 8) | 2
_FS_TOPDIR_FL = 0x00020000


def spread_out(directory: Path) -> bool:
    """Ask ext4 to place each directory made in ``directory`` in a quiet part of the disk; whether it took.

    ext4 without a journal (common on CI and micro-VM images) does not reuse an inode freed in the
    last minute (five while its table block is unwritten) and scans its block group past every such
    inode for each file or directory it creates there (``fs/ext4/ialloc.c``: ``find_inode_bit``,
    ``recently_deleted``). Right after a cache or venv was deleted, each file made near where it was
    cost 0.5-3 ms of kernel time instead of about 0.05: a bump's one wheel (105 files) took 145-225 ms
    to unpack instead of 25-35. ext4 puts a directory made in one flagged "top" (``chattr +T``) into
    a block group with the fewest directories, searching from a place given by the new directory's
    name. Set on the cache's ``tmp/``: each process's ``tmp/p<pid>/`` (a new name each time), where
    every tree is unpacked and every download written before its rename into place, lands away from
    that churn, and what is made in it follows it; nothing else about a file changes. Anywhere else
    (other filesystems, other systems) the request fails and is ignored.
    """
    if sys.platform != "linux" or os.uname().machine not in _IOCTL_LAYOUT_MACHINES:
        return False
    import fcntl  # noqa: PLC0415  # Unix only

    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        flags = array.array("i", [0])  # the kernel reads and writes an int, whatever the number says
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)  # noqa: FBT003  # fcntl's positional mutate_flag
        if not flags[0] & _FS_TOPDIR_FL:
            flags[0] |= _FS_TOPDIR_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)  # noqa: FBT003
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


#: how old a work directory of another PID namespace's process must be before it is taken for a dead one's
_FOREIGN_AGE = 24 * 3600


def _pid_namespace() -> str:
    """The PID namespace of this process (its inode on Linux), or ``""`` where there is none to read."""
    try:
        return str(Path("/proc/self/ns/pid").stat().st_ino)
    except OSError:
        return ""


def _remove_dead(tmp: Path) -> None:
    import re  # noqa: PLC0415  # see the imports
    import time  # noqa: PLC0415

    namespace = _pid_namespace()
    for entry in tmp.iterdir():
        if (found := re.fullmatch(r"p(\d+)(?:-(\d+))?", entry.name)) is None:
            continue
        if (found[2] or "") != namespace:  # another container's process, or an older version's name
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > _FOREIGN_AGE:
                    _remove_work(entry)
        elif not _alive(int(found[1])):
            _remove_work(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
