"""The cache's work directory: placed by ext4 away from recently deleted files (see ``spread_out``)."""

from __future__ import annotations

import array
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from tox_venvsync import _cache
from tox_venvsync._cache import Cache, spread_out
from tox_venvsync._errors import BadInputError, file_system_error

#: ``FS_TOPDIR_FL`` and ``FS_NODUMP_FL`` (``chattr +T``, ``chattr +d``) from linux/fs.h, and the ioctl numbers
#: chattr uses on 64-bit Linux with the common layout (e2fsprogs: ``EXT2_IOC_GETFLAGS``/``SETFLAGS``)
TOPDIR = 0x00020000
NODUMP = 0x00000040
GETFLAGS = 0x80086601
SETFLAGS = 0x40086602

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="inode flags are a Linux ioctl")


def _flags(path: Path) -> int:
    import fcntl  # noqa: PLC0415  # Unix only

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, GETFLAGS, flags, True)  # noqa: FBT003
        return flags[0]
    finally:
        os.close(fd)


def _set_flags(path: Path, value: int) -> None:
    import fcntl  # noqa: PLC0415

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, SETFLAGS, array.array("i", [value]), True)  # noqa: FBT003
    finally:
        os.close(fd)


@pytest.fixture
def flaggable(tmp_path: Path) -> Path:
    """A directory on a filesystem that keeps ext4's "top directory" flag (the test is skipped elsewhere)."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        pytest.skip("the flag's ioctl numbers are checked for 64-bit x86 Linux")
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        _set_flags(probe, _flags(probe) | TOPDIR)
    except OSError:
        pytest.skip(f"the filesystem of {tmp_path} has no top-directory flag")
    if not _flags(probe) & TOPDIR:
        pytest.skip(f"the filesystem of {tmp_path} ignores the top-directory flag")
    return tmp_path


def test_the_work_directory_s_parent_is_flagged(flaggable: Path) -> None:
    cache = Cache(flaggable / "cache")
    work = cache.tmp_dir()
    assert work.is_dir()
    assert work.parent == cache.root / "tmp"
    assert _flags(work.parent) & TOPDIR


def test_spreading_keeps_the_directory_s_other_flags(flaggable: Path) -> None:
    directory = flaggable / "d"
    directory.mkdir()
    _set_flags(directory, _flags(directory) | NODUMP)
    assert spread_out(directory)
    assert _flags(directory) & (TOPDIR | NODUMP) == TOPDIR | NODUMP


def test_a_flag_already_set_is_only_read(flaggable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl  # noqa: PLC0415

    directory = flaggable / "d"
    directory.mkdir()
    assert spread_out(directory)
    asked: list[int] = []
    real = fcntl.ioctl

    def recording(fd: int, request: int, *args: object) -> object:
        asked.append(request)
        return real(fd, request, *args)  # type: ignore[call-overload]

    monkeypatch.setattr(fcntl, "ioctl", recording)
    assert spread_out(directory)
    assert asked == [GETFLAGS]


def test_the_work_directory_s_parent_is_spread_before_the_work_directory_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    work = cache.root / "tmp" / f"p{os.getpid()}-{_cache._pid_namespace()}"
    asked: list[tuple[Path, bool]] = []

    def recording(directory: Path) -> bool:
        asked.append((directory, work.exists()))
        return True

    monkeypatch.setattr(_cache, "spread_out", recording)
    assert cache.tmp_dir() == work
    assert asked == [(cache.root / "tmp", False)]
    assert cache.tmp_dir() == work
    assert len(asked) == 1  # once per process


@linux_only
def test_a_filesystem_that_refuses_the_flag_still_gets_its_work_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl  # noqa: PLC0415

    def refused(*_: object) -> None:
        raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))

    monkeypatch.setattr(fcntl, "ioctl", refused)
    assert not spread_out(tmp_path)
    work = Cache(tmp_path / "cache").tmp_dir()
    assert work.is_dir()


@linux_only
def test_no_flag_is_asked_for_where_ioctl_numbers_are_laid_out_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl  # noqa: PLC0415

    def unexpected(*_: object) -> None:
        pytest.fail("an ioctl was sent with numbers of another layout")

    monkeypatch.setattr(fcntl, "ioctl", unexpected)
    monkeypatch.setattr(os, "uname", lambda: SimpleNamespace(machine="ppc64le"))
    assert not spread_out(tmp_path)
    assert Cache(tmp_path / "cache").tmp_dir().is_dir()


def test_a_directory_that_cannot_be_opened_is_not_spread(tmp_path: Path) -> None:
    assert not spread_out(tmp_path / "missing")


@linux_only
def test_a_dead_process_s_work_directory_goes_and_another_namespace_s_only_once_old(tmp_path: Path) -> None:
    ended = subprocess.Popen(["true"])  # noqa: S607  # a process that has ended: its number runs nothing now
    ended.wait()
    namespace = _cache._pid_namespace()
    tmp = tmp_path / "tmp"
    names = {
        "dead": f"p{ended.pid}-{namespace}",
        "alive": f"p{os.getpid()}-{namespace}",
        # a container's process sharing the cache: its number says nothing in this namespace
        "foreign": f"p{ended.pid}-1",
        "foreign-old": f"p{ended.pid}-2",
        "not-a-work-directory": "unpack-x",
    }
    for name in names.values():
        (tmp / name).mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(tmp / names["foreign-old"], (two_days_ago, two_days_ago))
    _cache._remove_dead(tmp)
    assert sorted(p.name for p in tmp.iterdir()) == sorted(
        [names["alive"], names["foreign"], names["not-a-work-directory"]]
    )


def _ended() -> int:
    """The number of a process that has ended: it runs nothing now."""
    ended = subprocess.Popen(["true"])  # noqa: S607  # any program that exits
    ended.wait()
    return ended.pid


def test_the_work_directory_of_another_user_s_process_or_of_another_name_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by mutation testing: a process this user may not signal runs; a name that only starts as a work
    # directory's is none; a dead process's "directory" that is a link is not walked (its target's modes stay)
    namespace = _cache._pid_namespace()
    theirs, dead, linked = _ended(), _ended(), _ended()
    kill = os.kill

    def another_users(pid: int, signal_number: int) -> None:
        if pid == theirs:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        kill(pid, signal_number)

    monkeypatch.setattr(os, "kill", another_users)
    tmp = tmp_path / "tmp"
    (tmp / f"p{theirs}-{namespace}").mkdir(parents=True)
    (tmp / f"p{dead}-{namespace}.keep").mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(tmp / f"p{dead}-{namespace}.keep", (two_days_ago, two_days_ago))
    target = tmp_path / "elsewhere"
    (target / "sub").mkdir(parents=True)
    (target / "sub").chmod(0o555)
    (tmp / f"p{linked}-{namespace}").symlink_to(target)
    _cache._remove_dead(tmp)
    assert (tmp / f"p{theirs}-{namespace}").is_dir()
    assert (tmp / f"p{dead}-{namespace}.keep").is_dir()
    assert (target / "sub").stat().st_mode & 0o777 == 0o555


def test_a_process_s_first_work_directory_removes_the_dead_ones(tmp_path: Path) -> None:
    # found by mutation testing: the next process to make its work directory removes what a killed one left
    dead = tmp_path / "tmp" / f"p{_ended()}-{_cache._pid_namespace()}"
    (dead / "download").mkdir(parents=True)
    own = Cache(tmp_path).tmp_dir()
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == [own.name]


def test_one_venv_reached_two_ways_has_one_lock(tmp_path: Path) -> None:
    # two syncs of one directory through a linked parent must take turns like any two syncs of it
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    cache = Cache(tmp_path / "cache")
    assert cache.venv_lock(tmp_path / "link" / "venv") == cache.venv_lock(tmp_path / "real" / "venv")
    assert cache.venv_lock(tmp_path / "real" / "other") != cache.venv_lock(tmp_path / "real" / "venv")


@pytest.mark.parametrize(
    ("algorithm", "digest", "filename"),
    [
        pytest.param("sha256", "../../../etc", "x.whl", id="digest-with-a-path"),
        pytest.param("sha256", "/home/me/dist", "x.whl", id="absolute-digest"),
        pytest.param("sha256", "AB" * 32, "x.whl", id="upper-case"),
        pytest.param("md5", "ab" * 16, "x.whl", id="unverified-algorithm"),
        pytest.param("sha256", "ab" * 32, "../x.whl", id="file-name-with-a-path"),
        pytest.param("sha256", "ab" * 32, "..", id="file-name-dot-dot"),
    ],
)
def test_no_place_in_the_cache_is_named_by_anything_but_a_hex_digest_and_a_plain_name(
    tmp_path: Path, algorithm: str, digest: str, filename: str
) -> None:
    # the last guard behind the readers: a lock's hash or file name with a path in it would name a place outside
    cache = Cache(tmp_path / "cache")
    with pytest.raises(BadInputError):
        cache.artifact(algorithm, digest, filename)
    if filename == "x.whl":
        with pytest.raises(BadInputError):
            cache.unpacked(algorithm, digest)
        with pytest.raises(BadInputError):
            cache.tree_lock(algorithm, digest)


def test_a_hex_digest_has_its_place_in_the_cache(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    digest = "0a" * 48
    assert cache.artifact("sha384", digest, "x-1.0.tar.gz") == tmp_path / "cache/artifacts/sha384/0a" / digest / (
        "x-1.0.tar.gz"
    )
    assert cache.unpacked("sha384", digest) == tmp_path / "cache/unpacked/sha384/0a" / digest


@pytest.mark.parametrize(("ending", "left"), [("pass", False), ("os._exit(0)", True)])
def test_a_process_removes_its_work_directory_when_it_exits_and_one_cut_off_leaves_it(
    tmp_path: Path, ending: str, *, left: bool
) -> None:
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tox_venvsync._cache import Cache\n"
        "work = Cache(Path(sys.argv[1])).tmp_dir()\n"
        "(work / 'partial.whl').write_bytes(b'x')\n"
        "print(work)\n"
        f"{ending}\n"
    )
    command = [sys.executable, "-c", code, str(tmp_path / "cache")]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    work = Path(done.stdout.strip())
    assert work.parent == tmp_path / "cache" / "tmp"
    assert work.exists() is left  # a killed process's goes with the next process to ask (the test above)


#: a process that makes its work directory and is interrupted while it removes it at exit (Ctrl-C, or the SIGTERM
#: the venvsync script turns into the same exception, as the command ends)
_INTERRUPTED_AT_EXIT = """
import os, shutil, signal, sys
from pathlib import Path
from tox_venvsync._cache import Cache
signal.signal(signal.SIGINT, signal.default_int_handler)
real = shutil.rmtree
def interrupted(path, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return real(path, *args, **kwargs)
shutil.rmtree = interrupted
print(Cache(Path(sys.argv[1])).tmp_dir())
"""


def test_ctrl_c_while_the_work_directory_is_removed_at_exit_prints_no_traceback(tmp_path: Path) -> None:
    # the command had printed its result; a Ctrl-C in its last milliseconds printed "Exception ignored in atexit
    # callback" and a traceback (found by QA)
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_AT_EXIT, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert Path(done.stdout.strip()).is_dir()  # left for the next process, which removes a dead one's directory


def test_a_link_planted_at_a_lock_files_name_is_not_followed(tmp_path: Path) -> None:
    # opening the lock file with O_CREAT through a link made a file wherever the link led (in a cache another user
    # may write, anywhere this user may); the work goes on without the lock, as on a filesystem without locks
    lock = tmp_path / "cache" / "locks" / "x.lock"
    lock.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    lock.symlink_to(target)
    with _cache.one_at_a_time(lock) as waited:
        assert not waited
        assert not target.exists()
    assert not target.exists()
    assert lock.is_symlink()


def test_the_lock_is_taken_where_flock_needs_a_file_open_for_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NFS emulates flock(2) with a POSIX lock of the whole file, which a file open read-only cannot take (EBADF):
    # since the lock file was opened read-only, every download and build there went on without the lock
    import fcntl  # noqa: PLC0415  # Unix only

    real_flock = fcntl.flock

    def nfs_flock(descriptor: int, operation: int) -> None:
        if fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY and operation & fcntl.LOCK_EX:
            raise OSError(errno.EBADF, "Bad file descriptor")
        real_flock(descriptor, operation)

    monkeypatch.setattr(fcntl, "flock", nfs_flock)
    lock = tmp_path / "locks" / "x.lock"
    with _cache.one_at_a_time(lock) as waited:
        assert not waited
        other = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # held: another process waits its turn
                real_flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    assert not lock.exists()  # removed when the work ends, as where flock takes a read-only file


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="becomes another user: needs root")
def test_another_users_lock_file_is_waited_on() -> None:
    # in a cache two users share, the first one's lock file is 0644: opened for writing it was refused to the second,
    # who went on without waiting (a second download or build); read-only, the second waits its turn
    import fcntl  # noqa: PLC0415  # Unix only

    shared = Path(tempfile.mkdtemp(prefix="venvsync-shared-", dir="/tmp"))
    try:
        shared.chmod(0o755)  # the other user may enter it, not write in it
        lock = shared / "x.lock"
        held = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(held, fcntl.LOCK_EX)
        with warnings.catch_warnings():  # the suite's servers are threads: the child only opens, locks and exits
            warnings.simplefilter("ignore", DeprecationWarning)
            child = os.fork()
        if child == 0:  # pragma: no cover - the child reports by its exit status
            code = 3
            try:
                os.setgid(65534)
                os.setuid(65534)  # nobody
                polls = iter(range(3))
                with _cache.one_at_a_time(lock, stopped=lambda: next(polls, None) is None) as waited:
                    code = 0 if waited else 1
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        os.close(held)
        assert done[0] == child
        assert os.waitstatus_to_exitcode(done[1]) == 0  # it had the file open, and saw the lock taken
    finally:
        shutil.rmtree(shared)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="becomes another user: needs root")
def test_another_users_venv_lock_file_is_named_with_what_to_do() -> None:
    # found by QA: in a cache two users may write, the first one's venv lock file (0644) stopped the second with "the
    # cache ... cannot be used (Permission denied at .../locks/<key>.lock); set TOX_VENVSYNC_CACHE_DIR to a directory
    # you can write", which the cache is
    import filelock  # noqa: F401, PLC0415  # loaded before the child drops to a user who may not read this Python

    shared = Path(tempfile.mkdtemp(prefix="venvsync-shared-", dir="/tmp"))
    try:
        cache, venv = Cache(shared / "cache"), shared / "venv"
        lock = cache.venv_lock(venv)
        lock.parent.mkdir(parents=True)
        for directory in (shared, cache.root, lock.parent):
            directory.chmod(0o777)  # a cache every user may write
        lock.touch(0o644)
        read, write = os.pipe()
        with warnings.catch_warnings():  # the suite's servers are threads: the child only locks, reports and exits
            warnings.simplefilter("ignore", DeprecationWarning)
            child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            said = "failed"
            try:
                os.setgid(65534)
                os.setuid(65534)  # nobody
                with _cache.taking_turns(cache, venv, waiting=lambda: None):
                    said = "took the lock"
            except OSError as exc:
                said = str(file_system_error(exc, cache.root))
            finally:
                os.write(write, said.encode())
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            said = pipe.read().decode()
        os.waitpid(child, 0)
        assert said == (
            f"the cache {cache.root} has a lock file you may not write (Permission denied at {lock}), another user's "
            "or made read-only; a cache serves one user: set TOX_VENVSYNC_CACHE_DIR to a directory of your own, or, "
            "if this cache is yours, remove that file (it holds no data) while no other sync runs"
        )
    finally:
        shutil.rmtree(shared)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="becomes another user: needs root")
def test_a_dead_process_s_work_directory_goes_with_its_read_only_directories() -> None:
    # found by QA as a user who is not root: an sdist unpacked there keeps its r-x directories, which rmtree could
    # not empty, so the dead process's directory stayed for good (root may write any directory, and never saw it)
    ended = subprocess.Popen(["true"])  # noqa: S607  # a process that has ended: its number runs nothing now
    ended.wait()
    shared = Path(tempfile.mkdtemp(prefix="venvsync-tmp-", dir="/tmp"))
    try:
        shared.chmod(0o777)  # the other user works here
        read, write = os.pipe()
        with warnings.catch_warnings():  # the suite's servers are threads: the child only removes, reports and exits
            warnings.simplefilter("ignore", DeprecationWarning)
            child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            said = "failed"
            try:
                os.setgid(65534)
                os.setuid(65534)  # nobody
                tmp = shared / "tmp"
                unpacked = tmp / f"p{ended.pid}-{_cache._pid_namespace()}" / "built-x" / "proj-1.0" / "src"
                unpacked.mkdir(parents=True)
                (unpacked / "proj.py").write_text("x = 1\n")
                theirs = shared / "theirs"  # a directory of the user's a link in the tree leads to: its mode stays
                theirs.mkdir(mode=0o555)
                (unpacked / "linked").symlink_to(theirs)
                unpacked.chmod(0o555)
                unpacked.parent.chmod(0o555)
                _cache._remove_dead(tmp)
                said = ",".join(sorted(entry.name for entry in tmp.iterdir())) + f";{theirs.stat().st_mode & 0o777:o}"
            finally:
                os.write(write, said.encode())
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            said = pipe.read().decode()
        os.waitpid(child, 0)
        assert said == ";555"
    finally:
        for directory, _, _ in os.walk(shared):
            Path(directory).chmod(0o755)
        shutil.rmtree(shared)
