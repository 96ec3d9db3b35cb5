"""A sync killed with SIGKILL at any of many points is finished by the next run: the exact lock state, no litter."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest

from _support.project import make_sdist, write_project
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._entry import STOPPED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

#: the child process: wrap one function so that its n-th call kills the process, then run ``venvsync``;
#: an n-th written ``5:/delta/`` counts only the calls with ``/delta/`` in an argument (placement runs in threads,
#: so the n-th call overall lands in another wheel from run to run)
#: Python's own Ctrl-C handler in a child, as a terminal's Ctrl-C finds it: a shell without job control starts a
#: job given ``&`` with SIGINT ignored, and a child inherits that (the tests then never saw their SIGINT)
DEFAULT_SIGINT = "signal.signal(signal.SIGINT, signal.default_int_handler)"

CHILD = textwrap.dedent(f"""
    import importlib, os, signal, sys
    {DEFAULT_SIGINT}
    module, attribute = sys.argv[1], sys.argv[2]
    count, _, needle = sys.argv[3].partition(":")
    nth = int(count)
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original, calls = getattr(owner, name), [0]
    def killer(*args, **kwargs):
        if needle and not any(needle in str(arg) for arg in args):
            return original(*args, **kwargs)
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    setattr(owner, name, killer)
    from tox_venvsync._cli import main
    sys.exit(main(sys.argv[4:]))
""")

#: (module, attribute, n-th call): downloads, unpacking, removal, linking, per-venv files, journal, state
KILL_POINTS = [
    ("tox_venvsync._fetch", "_copy_hashing", 1),
    ("tox_venvsync._fetch", "_copy_hashing", 2),
    ("tox_venvsync._fetch", "_verify", 2),
    ("tox_venvsync._unpacked", "_extract", 1),  # unpacking while the other files download
    ("tox_venvsync._unpacked", "_extract", 2),
    ("tox_venvsync._unpacked", "cached_tree", 1),  # the check before any change (the trees unpacked ahead)
    ("tox_venvsync._journal", "Journal.start", 1),
    ("tox_venvsync._state", "State.clear", 1),
    ("tox_venvsync._apply", "uninstall", 1),
    ("tox_venvsync._apply", "uninstall", 2),
    ("shutil", "rmtree", 1),
    ("os", "link", 1),
    ("os", "link", 3),
    ("os", "link", 8),
    ("os", "link", 20),
    ("os", "link", 45),
    ("tox_venvsync._link", "_Placement._write", 1),
    ("tox_venvsync._link", "_Placement._write", 2),
    ("tox_venvsync._link", "_Placement._write", 4),
    ("tox_venvsync._link", "_Placement._write_record", 1),
    ("tox_venvsync._link", "_Placement._write_record", 2),
    ("tox_venvsync._state", "State.write", 1),
    ("tox_venvsync._journal", "Journal.finish", 1),
]


def big_modules(name: str, count: int) -> dict[str, str]:
    return {f"{name}/m{i:02d}.py": f"VALUE = {i}\n" for i in range(count)} | {f"{name}/__init__.py": "OK = True\n"}


@pytest.fixture(scope="module")
def locks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two locks (v1 -> v2: an upgrade, a removal, an addition, a keep) and the wheelhouse they use."""
    root = tmp_path_factory.mktemp("interrupt")
    wheels = root / "wheels"
    wheels.mkdir()

    def entry(name: str, version: str, files: int) -> dict[str, object]:
        wheel = make_wheel(
            wheels, name, version, modules=big_modules(name, files), console_scripts={f"{name}-cli": f"{name}:x"}
        )
        return package_entry(name, version, [wheel_entry(wheel)])

    v1 = write_pylock(
        root / "v1" / "pylock.toml", [entry("alpha", "1.0", 20), entry("beta", "2.0", 15), entry("keep", "1.0", 5)]
    )
    v2 = write_pylock(
        root / "v2" / "pylock.toml", [entry("alpha", "1.1", 25), entry("delta", "0.1", 20), entry("keep", "1.0", 5)]
    )
    return v1, v2, wheels


def venvsync(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "tox_venvsync", *args], capture_output=True, text=True, env=env, check=False
    )


def killed_at(  # noqa: PLR0913  # where to stop, how, and the command
    module: str,
    attribute: str,
    nth: int | str,
    *args: str,
    cache: Path,
    how: str = "SIGKILL",
    mode: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``venvsync *args``, stopped with the signal ``how`` at the ``nth`` call of ``module.attribute``."""
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(cache)} | ({"TOX_VENVSYNC_LINK_MODE": mode} if mode else {})
    child = CHILD.replace("signal.SIGKILL", f"signal.{how}")
    command = [sys.executable, "-c", child, module, attribute, str(nth), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def bump_killed_at(  # noqa: PLR0913  # the locks and where to stop, then how
    locks: tuple[Path, Path, Path],
    python: Path,
    tmp_path: Path,
    kill: tuple[str, str, int | str],
    *,
    mode: str | None = None,
    cold: bool = False,
) -> tuple[Path, Path, list[str]]:
    """A venv synced to v1, then its sync to v2 killed at ``kill`` (module, attribute, n-th call).

    Returns the venv, the cache the killed sync used (a cold one with ``cold``) and the venv's options.
    """
    v1, v2, _ = locks
    venv, cache = tmp_path / "venv", tmp_path / "cache"
    common = ["--venv", str(venv), "--python", str(python)]
    assert venvsync("sync", "--lock", str(v1), *common, cache=cache).returncode == 0
    if cold:  # a download must happen to be interrupted: start v2 from a cold cache
        cache = tmp_path / "cold-cache"
    killed = killed_at(*kill, "sync", "--lock", str(v2), *common, cache=cache, mode=mode)
    assert killed.returncode == -signal.SIGKILL, f"the kill point was not reached: {killed.stdout}{killed.stderr}"
    return venv, cache, common


def site_tree(venv: Path) -> dict[str, int]:
    site = venv / "lib" / "python3.12" / "site-packages"
    return {
        str(p.relative_to(venv)): p.stat().st_size
        for p in sorted(site.rglob("*"))
        if "__pycache__" not in p.parts and p.name not in {"_virtualenv.py", "_virtualenv.pth"}
    } | {f"bin/{p.name}": 0 for p in (venv / "bin").iterdir() if p.name.endswith("-cli")}


@pytest.fixture(scope="module")
def reference(
    locks: tuple[Path, Path, Path], python312: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, int]:
    root = tmp_path_factory.mktemp("reference")
    result = venvsync(
        "sync", "--lock", str(locks[1]), "--venv", str(root / "venv"), "--python", str(python312), cache=root / "cache"
    )
    assert result.returncode == 0, result.stderr
    return site_tree(root / "venv")


@pytest.mark.parametrize(("module", "attribute", "nth"), KILL_POINTS, ids=[f"{a}-{n}" for _, a, n in KILL_POINTS])
def test_killed_sync_is_finished_by_the_next_run(  # noqa: PLR0913, PLR0917  # the kill point and the fixtures
    module: str,
    attribute: str,
    nth: int,
    locks: tuple[Path, Path, Path],
    reference: dict[str, int],
    python312: Path,
    tmp_path: Path,
) -> None:
    _, v2, _ = locks
    venv, cache, common = bump_killed_at(locks, python312, tmp_path, (module, attribute, nth), cold="_fetch" in module)

    repaired = venvsync("sync", "--lock", str(v2), *common, cache=cache)
    assert repaired.returncode == 0, repaired.stderr
    assert site_tree(venv) == reference
    verify = venvsync("verify", "--venv", str(venv), "--lock", str(v2), cache=cache)
    assert (verify.returncode, verify.stdout) == (0, f"{venv}: every file matches its RECORD and the lock\n")
    assert venvsync("sync", "--lock", str(v2), *common, cache=cache).stdout.endswith("in sync, nothing to do\n")
    assert [p for p in (cache / "tmp").rglob("*") if not p.is_dir()] == []  # the killed run's work is gone
    assert sorted(p.name for p in (cache / "unpacked").glob("*/*/*")) == sorted(
        p.name for p in (cache / "unpacked").glob("*/*/*") if (p / ".venvsync-wheel.json").is_file()
    )


@pytest.fixture(scope="module")
def reference_v1(
    locks: tuple[Path, Path, Path], python312: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, int]:
    root = tmp_path_factory.mktemp("reference-v1")
    result = venvsync(
        "sync", "--lock", str(locks[0]), "--venv", str(root / "venv"), "--python", str(python312), cache=root / "cache"
    )
    assert result.returncode == 0, result.stderr
    return site_tree(root / "venv")


#: kill points inside the placing of a wheel's files, before its RECORD says what it placed
#: (module, attribute, n-th call, link mode): in copy mode a file is copied under a temporary name, then renamed
PLACING = [
    ("os", "link", 8, "hardlink"),
    ("os", "link", 30, "hardlink"),
    ("os", "link", 45, "hardlink"),
    ("tox_venvsync._link", "_Placement._write", 2, "hardlink"),
    ("shutil", "copyfile", 8, "copy"),
    ("os", "replace", 30, "copy"),
]


@pytest.mark.parametrize(
    ("module", "attribute", "nth", "mode"), PLACING, ids=[f"{m}-{a}-{n}" for _, a, n, m in PLACING]
)
def test_a_half_placed_wheel_leaves_nothing_when_the_next_sync_wants_another_lock(  # noqa: PLR0913, PLR0917
    module: str,
    attribute: str,
    nth: int,
    mode: str,
    locks: tuple[Path, Path, Path],
    reference_v1: dict[str, int],
    python312: Path,
    tmp_path: Path,
) -> None:
    # v1 -> v2 killed while alpha 1.1 (25 modules, 1.0 has 20) or delta (not in v1) is half placed, then the
    # lock goes back to v1 (a git checkout): their files are no RECORD's, and must not stay behind
    v1, _, _ = locks
    venv, cache, common = bump_killed_at(locks, python312, tmp_path, (module, attribute, nth), mode=mode)

    repaired = venvsync("sync", "--lock", str(v1), *common, cache=cache)
    assert repaired.returncode == 0, repaired.stderr
    assert site_tree(venv) == reference_v1  # no partial copy, no temporary name left
    verify = venvsync("verify", "--venv", str(venv), "--lock", str(v1), cache=cache)
    assert (verify.returncode, verify.stdout) == (0, f"{venv}: every file matches its RECORD and the lock\n")


def test_what_a_cut_off_placement_left_is_listed_by_verify_when_the_cache_lost_its_tree(
    locks: tuple[Path, Path, Path], python312: Path, tmp_path: Path
) -> None:
    # the cache deleted between the kill and the next sync: the journal's tree is gone, nothing can be matched
    # and removed; verify must not call the venv sound. The kill is at delta's 5th file (delta is not in v1): at
    # the 45th link overall, delta was sometimes placed whole and alpha 1.1 was placing files 1.0 also has
    v1, _, _ = locks
    venv, cache, common = bump_killed_at(locks, python312, tmp_path, ("os", "link", "5:/site-packages/delta/"))
    shutil.rmtree(cache)
    assert venvsync("sync", "--lock", str(v1), *common, cache=cache).returncode == 0
    verify = venvsync("verify", "--venv", str(venv), "--lock", str(v1), cache=cache)
    assert verify.returncode == 1
    assert verify.stdout.startswith("unowned: lib/python3.12/site-packages/")
    assert all(line.startswith("unowned: ") for line in verify.stdout.splitlines())


#: kill points inside the making of a new venv: before its pyvenv.cfg, and after it but before its scripts
CREATING = [("venv", "EnvBuilder.create_configuration", 1), ("venv", "EnvBuilder.setup_scripts", 1)]


@pytest.mark.parametrize(("module", "attribute", "nth"), CREATING, ids=[a for _, a, _ in CREATING])
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGINT"])
def test_a_venv_whose_making_was_cut_off_is_made_again(  # noqa: PLR0913, PLR0917
    module: str,
    attribute: str,
    nth: int,
    signal_name: str,
    locks: tuple[Path, Path, Path],
    reference: dict[str, int],
    python312: Path,
    tmp_path: Path,
) -> None:
    _, v2, _ = locks
    venv, cache = tmp_path / "venv", tmp_path / "cache"
    common = ["--venv", str(venv), "--python", str(python312)]
    killed = killed_at(module, attribute, nth, "sync", "--lock", str(v2), *common, cache=cache, how=signal_name)
    assert killed.returncode in {-signal.SIGKILL, 130}, f"the kill point was not reached: {killed.stderr}"
    # killed outright it is left half made, for the next sync to make again; Ctrl-C removes it on the way out
    assert venv.is_dir() is (signal_name == "SIGKILL")

    repaired = venvsync("sync", "--lock", str(v2), *common, cache=cache)
    assert repaired.returncode == 0, repaired.stderr
    made = "recreated (its creation was cut off)" if signal_name == "SIGKILL" else "created"
    assert repaired.stdout.startswith(f"{venv}: {made}, synced 3 packages")
    assert site_tree(venv) == reference
    assert (venv / "bin" / "activate").is_file()
    assert venvsync("sync", "--lock", str(v2), *common, cache=cache).stdout.endswith(
        "adopted, in sync, nothing to do\n"
    )


@pytest.mark.parametrize("module", ["argparse", "tox_venvsync._cli", "tox_venvsync._errors"])
def test_ctrl_c_while_the_command_line_loads_is_one_line(module: str, tmp_path: Path) -> None:
    # the script's first tens of milliseconds import the command line: Ctrl-C there is the same one line
    child = textwrap.dedent(f"""
        import builtins, os, signal, sys
        {DEFAULT_SIGINT}
        real = builtins.__import__
        def interrupting(name, *args, **kwargs):
            if name == {module!r}:
                os.kill(os.getpid(), signal.SIGINT)
            return real(name, *args, **kwargs)
        builtins.__import__ = interrupting
        from tox_venvsync._entry import run
        sys.exit(run())
    """)
    args = ["sync", "--lock", str(tmp_path / "pylock.toml"), "--venv", str(tmp_path / "venv")]
    done = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (
        130,
        "venvsync: interrupted; the next sync finishes or redoes what was started\n",
    )
    assert not (tmp_path / "venv").exists()


def test_ctrl_c_is_one_line_and_the_next_run_finishes(
    locks: tuple[Path, Path, Path], reference: dict[str, int], python312: Path, tmp_path: Path
) -> None:
    _, v2, _ = locks
    venv, cache = tmp_path / "venv", tmp_path / "cache"
    common = ["--venv", str(venv), "--python", str(python312)]
    interrupted = killed_at("os", "link", 5, "sync", "--lock", str(v2), *common, cache=cache, how="SIGINT")
    assert interrupted.returncode == 130
    assert interrupted.stderr == "venvsync: interrupted; the next sync finishes or redoes what was started\n"
    assert venvsync("sync", "--lock", str(v2), *common, cache=cache).returncode == 0
    assert site_tree(venv) == reference


#: the child of :func:`killed_at` run as the ``venvsync`` script runs: through ``_entry.run``, its signal handlers
SCRIPT_CHILD = CHILD.replace(
    "from tox_venvsync._cli import main\nsys.exit(main(sys.argv[4:]))",
    "from tox_venvsync._entry import run\nsys.argv[1:] = sys.argv[4:]\nsys.exit(run())",
)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_sync_as_ctrl_c_does(
    signal_name: str, locks: tuple[Path, Path, Path], reference: dict[str, int], python312: Path, tmp_path: Path
) -> None:
    # Python's default for these ended the process on the spot: exit -15 without a word, and the venv this run made
    # stayed half filled (``kill``, ``timeout``, ``docker stop`` and a CI's cancel send SIGTERM; found by QA)
    _, v2, _ = locks
    venv, cache = tmp_path / "venv", tmp_path / "cache"
    common = ["--venv", str(venv), "--python", str(python312)]
    child = SCRIPT_CHILD.replace("signal.SIGKILL", f"signal.{signal_name}")
    command = [sys.executable, "-c", child, "os", "link", "5", "sync", "--lock", str(v2), *common]
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(cache)}
    stopped = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert (stopped.returncode, stopped.stderr) == (
        128 + getattr(signal, signal_name),
        f"venvsync: stopped by {signal_name}; the next sync finishes or redoes what was started\n",
    )
    assert not venv.exists()  # made by this run and not filled: removed, as after Ctrl-C
    assert [p for p in (cache / "tmp").rglob("*") if not p.is_dir()] == []
    assert venvsync("sync", "--lock", str(v2), *common, cache=cache).returncode == 0
    assert site_tree(venv) == reference


#: the child of :func:`test_a_stop_while_a_linking_thread_starts_leaves_no_half_made_venv`: ``venvsync sync`` through
#: the script, SIGHUP raised in the main thread inside ``Thread.start`` of the first linking thread once that thread
#: has taken its wheel (where a signal sent during the first links lands most of the time); the thread then waits, at
#: its first directory, until the venv's removal is over or until the main thread waits for it inside install_all
STARTING_CHILD = textwrap.dedent(f"""
    import os, signal, sys, threading, time
    {DEFAULT_SIGINT}
    from tox_venvsync import _cli, _link
    _link._LINK_WORKERS = 2  # the trees are placed by two threads also on a machine of one core
    began, signalled, undone = threading.Event(), threading.Event(), threading.Event()
    real_start, real_parent, real_undo = threading.Thread.start, _link._Placement._parent, _cli.undo_creation
    def start(self):
        real_start(self)
        if self.name == "venvsync-link_0":
            began.wait()
            signalled.set()
            os.kill(os.getpid(), signal.SIGHUP)  # raised here, in the main thread: Thread.start never returns
    def main_waits():
        frame, names = sys._current_frames().get(threading.main_thread().ident), []
        while frame is not None:
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        return names[:1] in (["wait"], ["join"], ["_wait_for_tstate_lock"]) and "install_all" in names
    def parent(self, path):
        if threading.current_thread().name == "venvsync-link_0" and not began.is_set():
            began.set()
            while not (undone.is_set() or (signalled.is_set() and main_waits())):
                time.sleep(0.01)
        return real_parent(self, path)
    def undo(*args, **kwargs):
        try:
            return real_undo(*args, **kwargs)
        finally:
            undone.set()
    threading.Thread.start, _link._Placement._parent, _cli.undo_creation = start, parent, undo
    from tox_venvsync._entry import run
    sys.exit(run())
""")


def test_a_stop_while_a_linking_thread_starts_leaves_no_half_made_venv(
    locks: tuple[Path, Path, Path], reference: dict[str, int], python312: Path, tmp_path: Path
) -> None:
    # found in CI: a SIGHUP raised while the main thread waited in Thread.start for the first linking thread left that
    # thread unknown to its pool, which waited for none: the thread went on placing alpha while the venv this run had
    # made was removed, the removal failed (its error swallowed) and the venv stayed half made; here the thread goes on
    # once the removal is over, and made the venv's directories again, without a pyvenv.cfg (a directory the next
    # sync refused to touch)
    _, v2, _ = locks
    venv, cache = tmp_path / "venv", tmp_path / "cache"
    common = ["--venv", str(venv), "--python", str(python312)]
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(cache)}
    command = [sys.executable, "-c", STARTING_CHILD, "sync", "--lock", str(v2), *common]
    stopped = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert (stopped.returncode, stopped.stderr) == (129, STOPPED.format(signal="SIGHUP") + "\n")
    assert not venv.exists()  # made by this run: removed once every wheel under way was placed
    assert venvsync("sync", "--lock", str(v2), *common, cache=cache).returncode == 0
    assert site_tree(venv) == reference


#: the child of :func:`test_a_stop_while_bytecode_compiles_ends_the_compiling_processes`: ``venvsync sync`` through the
#: script, SIGHUP raised in the main thread as it waits for the processes compiling the venv's bytecode, which are
#: paused first (SIGSTOP: still there, whatever their speed) and whose ids go to the file named by $COMPILERS
COMPILING_CHILD = textwrap.dedent(f"""
    import os, signal, subprocess, sys
    {DEFAULT_SIGINT}
    real_init, real_wait, compilers = subprocess.Popen.__init__, subprocess.Popen.wait, []
    def init(self, args, *more, **kwargs):
        real_init(self, args, *more, **kwargs)
        if "compileall" in args:
            compilers.append(self)
    def wait(self, *args, **kwargs):
        if self in compilers:
            with open(os.environ["COMPILERS"], "w") as ids:
                ids.write(" ".join(str(process.pid) for process in compilers))
            for process in compilers:
                os.kill(process.pid, signal.SIGSTOP)
            compilers.clear()
            os.kill(os.getpid(), signal.SIGHUP)
        return real_wait(self, *args, **kwargs)
    subprocess.Popen.__init__, subprocess.Popen.wait = init, wait
    from tox_venvsync._entry import run
    sys.exit(run())
""")


def test_a_stop_while_bytecode_compiles_ends_the_compiling_processes(
    locks: tuple[Path, Path, Path], python312: Path, tmp_path: Path
) -> None:
    # the processes compiling the bytecode of a venv this run made went on writing __pycache__ directories into it
    # while it was removed (py_compile makes a missing one, and the directories above it), and after venvsync was gone
    _, v2, _ = locks
    venv, ids = tmp_path / "venv", tmp_path / "compilers"
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(tmp_path / "cache"), "COMPILERS": str(ids)}
    command = [sys.executable, "-c", COMPILING_CHILD, "sync", "--lock", str(v2), "--venv", str(venv)]
    command += ["--python", str(python312), "--compile-bytecode"]
    # its output to a file, not a pipe: a compiling process left behind holds a pipe open, and the run never ended
    with (tmp_path / "stderr").open("w") as stderr:
        stopped = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, check=False, timeout=300)
    compilers = [int(pid) for pid in ids.read_text().split()]
    with contextlib.ExitStack() as stack:
        for pid in compilers:
            stack.enter_context(killed_at_the_end(pid))  # a paused one left behind is ended when the test ends
        said = (tmp_path / "stderr").read_text()
        assert (stopped.returncode, said) == (129, STOPPED.format(signal="SIGHUP") + "\n")
        assert compilers
        for pid in compilers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # ended and reaped by venvsync before it removed the venv
        assert not venv.exists()


#: a build backend that says it started (its process id, in the file $BUILD_STARTED) and then builds for ever
HANGING_BUILD = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import os, time
    with open(os.environ["BUILD_STARTED"] + ".tmp", "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(os.environ["BUILD_STARTED"] + ".tmp", os.environ["BUILD_STARTED"])
    time.sleep(300)
"""


def hanging_sdist_lock(tmp_path: Path) -> Path:
    """A pylock of one sdist whose build never ends (see :data:`HANGING_BUILD`)."""
    tree = write_project(tmp_path / "src", "hangs", "1.0", {"hangs/__init__.py": ""})
    backend = tree / "_build" / "backend.py"
    backend.write_text(backend.read_text() + HANGING_BUILD)
    sdist = make_sdist(tmp_path, tree, "hangs", "1.0")
    entry = {"name": sdist.name, "url": sdist.as_uri(), "size": sdist.stat().st_size}
    entry["hashes"] = {"sha256": sha256_file(sdist)}
    return write_pylock(tmp_path / "pylock.toml", [{"name": "hangs", "version": "1.0", "sdist": entry}])


def building(tmp_path: Path, python: Path, **environ: str) -> tuple[subprocess.Popen[str], int]:
    """``venvsync sync`` of :func:`hanging_sdist_lock` in a process of its own, once its build runs; the backend id."""
    started = tmp_path / "started"
    env = {**os.environ, "TOX_VENVSYNC_CACHE_DIR": str(tmp_path / "cache"), "BUILD_STARTED": str(started), **environ}
    lock = hanging_sdist_lock(tmp_path)
    command = [sys.executable, "-c", SCRIPT_CHILD, "os", "link", "0", "sync", "--lock", str(lock)]
    command += ["--venv", str(tmp_path / "venv"), "--python", str(python)]
    sync = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    while not started.exists() and sync.poll() is None:
        time.sleep(0.02)  # the backend's file is the event; nothing else says the build runs
    assert started.exists(), sync.communicate()
    return sync, int(started.read_text())


@contextlib.contextmanager
def killed_at_the_end(pid: int) -> Iterator[None]:
    """Kill process ``pid`` when the block ends, through a pidfd: never another process given its number since.

    ``os.kill(pid, SIGKILL)`` in a clean-up reached whatever process had the number by then: on a busy machine
    numbers wrap round (at 32,768 here) while a test runs.
    """
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(handle, signal.SIGKILL)
            os.close(handle)


def test_sigterm_during_a_build_ends_the_build_backend_too(python312: Path, tmp_path: Path) -> None:
    # the backend went on building for minutes after venvsync was gone, in directories of the system's temp
    # directory that nothing removed (found by QA)
    sync, builder = building(tmp_path, python312)
    with killed_at_the_end(builder):
        try:
            sync.send_signal(signal.SIGTERM)
            _, err = sync.communicate(timeout=30)
            assert (sync.returncode, err) == (143, STOPPED.format(signal="SIGTERM") + "\n")
            with pytest.raises(ProcessLookupError):
                os.kill(builder, 0)  # ended and reaped by venvsync before it exited
            assert not (tmp_path / "venv").exists()
        finally:
            sync.kill()


def test_a_build_killed_with_its_sync_leaves_nothing_in_the_systems_temporary_directory(
    python312: Path, tmp_path: Path
) -> None:
    # the build unpacked the sdist and made its isolated environment (7.5 MB) in the system's temporary directory,
    # which a SIGKILL left there for good; in the cache's work directory of the process, the next process removes it
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    sync, builder = building(tmp_path, python312, TMPDIR=str(system_tmp))
    with killed_at_the_end(builder):
        sync.kill()
        sync.communicate(timeout=30)
        assert sorted(p.name for p in system_tmp.iterdir() if p.name.startswith("venvsync-")) == []
        work = tmp_path / "cache" / "tmp"
        assert [p.name for p in work.iterdir()] == [p.name for p in work.glob(f"p{sync.pid}*")]  # the build's place
        next_process = "import sys; from pathlib import Path; from tox_venvsync._cache import Cache; "
        next_process += "Cache(Path(sys.argv[1])).tmp_dir()"
        subprocess.run([sys.executable, "-c", next_process, str(tmp_path / "cache")], check=True)
        assert [p.name for p in work.glob(f"p{sync.pid}*")] == []  # removed by the next process: the killed one's
