"""End-to-end tests of sync() on a real venv with wheels served by a local index."""

from __future__ import annotations

import ast
import errno
import gc
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from _support.no_op import NO_OP_UNLOADED
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _apply, _deps, _unpacked
from tox_venvsync import _lock as lock_package
from tox_venvsync._apply import Installer, WheelInstaller
from tox_venvsync._cache import Cache, env_lock
from tox_venvsync._errors import (
    BadInputError,
    FetchError,
    HashMismatchError,
    InstallError,
    InTheWayError,
    LocationError,
    LockFileError,
    SelectionError,
    file_system_error,
)
from tox_venvsync._installed import dist_info_names, scan
from tox_venvsync._journal import Journal
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._plan import Action, Plan, Wanted
from tox_venvsync._sync import LocalWheel, LockAhead, Outcome, SyncSpec, _UnpackAhead, collector_paused, in_sync, sync
from tox_venvsync._verify import check_records

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_mock import MockerFixture

    from _support.index import LocalIndex
    from tox_venvsync._target import Target


class Env:
    """A real venv, its interpreter's facts, a fresh cache and the lock that describes it."""

    def __init__(self, venv: Path, target: Target, cache: Cache, lock: Path) -> None:
        self.venv = venv
        self.target = target
        self.cache = cache
        self.lock = lock
        self.site = venv / "lib" / "python3.12" / "site-packages"

    def sync(self, *, dry_run: bool = False, exact: bool = True, installer: Installer | None = None) -> Outcome:
        spec = SyncSpec(venv=self.venv, lock_path=self.lock, exact=exact)
        return sync(spec, self.target, cache=self.cache, dry_run=dry_run, installer=installer)

    def dist_infos(self) -> list[str]:
        return dist_info_names([self.site])

    def stats(self) -> dict[str, tuple[int, int]]:
        """Inode and mtime of every entry in site-packages."""
        return {
            str(p.relative_to(self.site)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(self.site.rglob("*"))
        }

    def run(self, code: str) -> str:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
        ).stdout


@pytest.fixture
def env(tmp_path: Path, make_venv: Callable[[Path], Target], cache_dir: Path) -> Env:
    venv = tmp_path / "venv"
    return Env(venv, make_venv(venv), Cache(cache_dir), tmp_path / "lock" / "pylock.toml")


def _lock(env: Env, index: LocalIndex, wheels: list[Path], *, sha256: dict[str, str] | None = None) -> None:
    packages = []
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        entry = wheel_entry(wheel, url=index.file_url(wheel.name), sha256=(sha256 or {}).get(name))
        packages.append(package_entry(name, str(version), [entry]))
    write_pylock(env.lock, packages)


def _steps(plan: Plan | None) -> list[tuple[str, str, str | None, str | None]]:
    assert plan is not None
    return [
        (s.name, s.action.value, str(s.version) if s.version else None, str(s.old_version) if s.old_version else None)
        for s in plan.steps
    ]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _module(name: str, version: str) -> dict[str, str]:
    return {f"{name}/__init__.py": f'__version__ = "{version}"\n'}


@pytest.fixture
def synced(env: Env, wheelhouse: Path, local_index: LocalIndex) -> Env:
    """An env synced from a lock of alpha 1.0 and beta 1.0."""
    wheels = [make_wheel(wheelhouse, "alpha", "1.0"), make_wheel(wheelhouse, "beta", "1.0")]
    _lock(env, local_index, wheels)
    outcome = env.sync()
    assert outcome.applied
    assert _steps(outcome.plan) == [("alpha", "install", "1.0", None), ("beta", "install", "1.0", None)]
    return env


def test_first_sync_installs(synced: Env, local_index: LocalIndex, wheelhouse: Path) -> None:
    assert synced.dist_infos() == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]
    assert synced.run("import alpha, beta; print(alpha.__version__, beta.__version__)") == "1.0 1.0\n"
    assert sorted(local_index.requests) == ["/files/alpha-1.0-py3-none-any.whl", "/files/beta-1.0-py3-none-any.whl"]
    state = json.loads((synced.venv / ".venvsync" / "state.json").read_text())
    assert state["dists"] == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]
    assert not (synced.venv / ".venvsync" / "journal.json").exists()
    assert Journal(synced.venv).pending() == frozenset()
    assert len(_files(synced.cache.root / "artifacts")) == 2
    assert {p.name for p in (synced.cache.root / "artifacts").rglob("*.whl")} == {p.name for p in wheelhouse.iterdir()}


@pytest.mark.parametrize(
    ("mode", "linked"),
    [(None, True), ("", True), ("hardlink", True), ("copy", False), (" Clone ", False), ("reflink", False)],
)
def test_link_mode_from_the_environment(
    synced: Env, monkeypatch: pytest.MonkeyPatch, mode: str | None, *, linked: bool
) -> None:
    if mode is None:
        monkeypatch.delenv("TOX_VENVSYNC_LINK_MODE", raising=False)
    else:
        monkeypatch.setenv("TOX_VENVSYNC_LINK_MODE", mode)
    env = synced
    shutil.rmtree(env.site / "alpha")  # the next sync puts alpha's files back
    shutil.rmtree(env.site / "alpha-1.0.dist-info")
    assert env.sync().applied
    module = env.site / "alpha" / "__init__.py"
    (cached,) = (env.cache.root / "unpacked").rglob("alpha/__init__.py")
    assert module.read_bytes() == cached.read_bytes()
    assert (module.stat().st_ino == cached.stat().st_ino) is linked


@pytest.mark.parametrize("mode", ["symlink", "cpoy", "hard link"])
def test_an_unknown_link_mode_is_refused_before_anything_changes(
    synced: Env, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    env = synced
    for change in (True, False):  # with something to install, and in sync
        if change:
            shutil.rmtree(env.site / "alpha")
        else:
            monkeypatch.delenv("TOX_VENVSYNC_LINK_MODE")
            env.sync()
        monkeypatch.setenv("TOX_VENVSYNC_LINK_MODE", mode)
        before = env.stats()
        with pytest.raises(BadInputError) as info:
            env.sync()
        assert str(info.value) == (
            f"TOX_VENVSYNC_LINK_MODE={mode!r} is not a link mode: "
            "set it to hardlink (the default) or copy (clone and reflink mean copy)"
        )
        assert info.value.exit_code == 2
        assert env.stats() == before


def test_second_sync_is_a_no_op(synced: Env, local_index: LocalIndex) -> None:
    before = synced.stats()
    requests = list(local_index.requests)
    outcome = synced.sync()
    assert outcome.plan is None
    assert not outcome.applied
    assert synced.stats() == before
    assert local_index.requests == requests


def test_in_sync_answers_as_a_sync_would_and_changes_nothing(synced: Env) -> None:
    spec = SyncSpec(venv=synced.venv, lock_path=synced.lock)
    before = synced.stats()
    assert in_sync(spec, synced.target)
    assert not in_sync(SyncSpec(venv=synced.venv, lock_path=synced.lock, exact=False), synced.target)  # other inputs
    shutil.rmtree(synced.site / "beta-1.0.dist-info")  # removed by hand
    assert synced.stats() == {k: v for k, v in before.items() if not k.startswith("beta-1.0.dist-info")}
    assert not in_sync(spec, synced.target)
    assert synced.sync().applied  # and a sync agrees: beta is installed again
    assert in_sync(spec, synced.target)


def test_the_state_is_forgotten_before_pip_installs_tox_deps(synced: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip may change the venv: from then on no reader (venvsync sync checks without the lock) finds it in sync
    state = synced.venv / ".venvsync" / "state.json"
    found: list[bool] = []

    def install_deps(*_: object, **__: object) -> None:
        found.append(state.exists())
        (synced.site / "gamma-1.0.dist-info").mkdir(exist_ok=True)  # what pip would leave

    monkeypatch.setattr(_deps, "install_deps", install_deps)
    spec = SyncSpec(venv=synced.venv, lock_path=synced.lock, deps=("gamma",))
    assert sync(spec, synced.target, cache=synced.cache).deps  # the lock was in sync: only pip ran
    with synced.lock.open("a", encoding="utf-8") as lock:
        lock.write("# a comment: another fingerprint, the same selection\n")
    outcome = sync(spec, synced.target, cache=synced.cache)  # nothing to change; the deps are run again
    assert outcome.plan is not None
    assert not outcome.plan.changes
    assert found == [False, False]
    assert state.is_file()


def test_the_outcome_says_pip_ran_also_when_it_added_nothing(synced: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(_deps, "install_deps", lambda _python, deps, *_, **__: ran.append(tuple(deps)))
    spec = SyncSpec(venv=synced.venv, lock_path=synced.lock, deps=("alpha",))  # locked already: pip adds nothing
    outcome = sync(spec, synced.target, cache=synced.cache)
    assert (ran, outcome.applied, outcome.deps) == ([("alpha",)], False, True)
    assert not sync(spec, synced.target, cache=synced.cache).deps  # the no-op: pip does not run


#: what a tox run of an env in sync loads of tox-venvsync: the no-op needs the fingerprint and one listing only
_NO_OP = """
import sys
from pathlib import Path
import tox_venvsync.plugin
from tox_venvsync._cache import Cache
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._target import TargetMemo

venv, lock, cache = (Path(arg) for arg in sys.argv[1:])
target = TargetMemo(venv, venv / "bin" / "python").load()
assert sync(SyncSpec(venv=venv, lock_path=lock), target, cache=Cache(cache)).plan is None
print(" ".join(sorted(name for name in sys.modules if name.startswith("tox_venvsync"))))
"""


def test_a_no_op_loads_no_lock_reader_planner_or_installer(synced: Env) -> None:
    # each of these costs milliseconds to import on every tox run; a no-op has no use for them
    args = [str(synced.venv), str(synced.lock), str(synced.cache.root)]
    out = subprocess.run([sys.executable, "-c", _NO_OP, *args], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "tox_venvsync._sync" in loaded
    for name in NO_OP_UNLOADED:
        assert f"tox_venvsync.{name}" not in loaded


#: the same, after the modules tox loads on every run (its own runners with them): what the plugin and the no-op add
_NO_OP_IN_TOX = """
import sys
from pathlib import Path
import tox.run, tox.session.cmd.run.common, tox.tox_env.python.virtual_env.runner
before = set(sys.modules)
import tox_venvsync.plugin
plugin = set(sys.modules) - before
from tox_venvsync._cache import Cache
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._target import TargetMemo

venv, lock, cache = (Path(arg) for arg in sys.argv[1:])
target = TargetMemo(venv, venv / "bin" / "python").load()
assert sync(SyncSpec(venv=venv, lock_path=lock), target, cache=Cache(cache)).plan is None
print(" ".join(sorted(plugin)))
print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_the_plugin_and_a_no_op_load_nothing_tox_does_not_but_the_engine(synced: Env) -> None:
    # every tox run imports the plugin, and a run of an env in sync does only the no-op: a library tox itself does
    # not load (pypa/installer, tomli_w, a lock reader's) would be milliseconds on each; found measuring issue 5
    args = [str(synced.venv), str(synced.lock), str(synced.cache.root)]
    done = subprocess.run([sys.executable, "-c", _NO_OP_IN_TOX, *args], capture_output=True, text=True, check=True)
    plugin, no_op = (set(line.split()) for line in done.stdout.splitlines())
    assert "tox_venvsync._runner" in plugin
    # a tox run whose envs use other runners (or ``tox -l``) needs no sync: only a venvsync env's set-up loads it
    for name in ("_sync", "_target", "_installed"):
        assert f"tox_venvsync.{name}" not in plugin
    assert {name for name in no_op if not name.startswith("tox_venvsync.")} <= {
        "tox_venvsync",
        "contextvars",  # the interrupt's context (_interrupt), and its C part
        "_contextvars",
        "gc",  # built in: the sync pauses the collector
    }


#: the same no-op, telling each regular expression tox-venvsync's code compiled (``re`` keeps them compiled after)
_NO_OP_COMPILED = """
import re, sys
from pathlib import Path
import tox.run, tox.session.cmd.run.common, tox.tox_env.python.virtual_env.runner
compiled = []
original = re._compile
def _compile(pattern, flags):
    caller = sys._getframe(2).f_globals.get("__name__", "")
    if caller.startswith("tox_venvsync") and pattern not in compiled:
        compiled.append(pattern)
    return original(pattern, flags)
re._compile = _compile
import tox_venvsync.plugin
from tox_venvsync._cache import Cache
from tox_venvsync._location import unexpanded_start
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._target import TargetMemo

venv, lock, cache = (Path(arg) for arg in sys.argv[1:])
assert unexpanded_start(venv, "env_location", in_tox=True) is None  # each tox run checks its env_location
target = TargetMemo(venv, venv / "bin" / "python").load()
assert sync(SyncSpec(venv=venv, lock_path=lock), target, cache=Cache(cache)).plan is None
print(repr(compiled))
"""


def test_the_plugin_and_a_no_op_compile_only_the_regular_expressions_they_use(synced: Env) -> None:
    # compiling a pattern costs 0.05 to 0.15 ms: those of error messages, a relative env_location starting with a
    # variable and a uv workspace's members were compiled when their modules loaded, on every run; found measuring
    # issue 5
    args = [str(synced.venv), str(synced.lock), str(synced.cache.root)]
    done = subprocess.run([sys.executable, "-c", _NO_OP_COMPILED, *args], capture_output=True, text=True, check=True)
    compiled = ast.literal_eval(done.stdout.strip())
    assert compiled == [r"^([^,\r\n]+\.py,[^,\r\n]*)"]  # the engine's modules in its RECORD (the fingerprint)


_PLANNED = _NO_OP.replace(".plan is None", ".plan is not None")


def test_a_plan_from_a_remembered_selection_loads_no_lock_reader(synced: Env) -> None:
    # the lock is unchanged, so its selection is remembered: reading TOML would be wasted milliseconds
    (synced.venv / ".venvsync" / "state.json").unlink()  # the venv must be compared with the lock again
    args = [str(synced.venv), str(synced.lock), str(synced.cache.root)]
    out = subprocess.run([sys.executable, "-c", _PLANNED, *args], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "tox_venvsync._plan" in loaded
    for name in ("_lock._toml", "_lock._pylock", "_lock._uv"):
        assert f"tox_venvsync.{name}" not in loaded


_REMOVED = _NO_OP.replace(".plan is None", ".plan.changes")


def test_a_removal_loads_no_fetcher_or_unpacker(synced: Env, wheelhouse: Path) -> None:
    # a package installed by hand (the benchmark's remove-extra): nothing to fetch or unpack, so none of their
    # modules (milliseconds of the run's set-up inside tox); found by timing the removal against tox-uv's
    extra = make_wheel(wheelhouse / "by-hand", "stray", "0.1")
    pick = Pick(name=canonicalize_name("stray"), version=Version("0.1"), kind="wheel", artifact=None)
    WheelInstaller(synced.target).install(extra, Wanted(pick=pick))
    args = [str(synced.venv), str(synced.lock), str(synced.cache.root)]
    out = subprocess.run([sys.executable, "-c", _REMOVED, *args], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "tox_venvsync._uninstall" in loaded
    for name in ("_fetch", "_http", "_unpacked", "_verify", "_zip", "_build", "_index", "_replay"):
        assert f"tox_venvsync.{name}" not in loaded
    assert synced.dist_infos() == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]


def _refuse_to_read(path: Path, lock_format: str | None = None) -> None:  # noqa: ARG001  # read_lock's signature
    msg = f"read {path} again"
    raise AssertionError(msg)


def test_a_lock_read_ahead_is_the_one_the_plan_uses(
    env: Env, wheelhouse: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0")])
    spec = SyncSpec(venv=env.venv, lock_path=env.lock)
    ahead = LockAhead(spec, env.cache.root)
    ahead.read()
    monkeypatch.setattr(lock_package, "read_lock", _refuse_to_read)
    outcome = sync(spec, env.target, cache=env.cache, ahead=ahead)
    assert _steps(outcome.plan) == [("alpha", "install", "1.0", None)]
    assert env.dist_infos() == ["alpha-1.0.dist-info"]


def test_a_lock_whose_bytes_changed_after_it_was_read_ahead_is_read_again(
    env: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    # 1.0 -> 2.0: the same size, and likely the same timestamp; only the bytes tell
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0")])
    spec = SyncSpec(venv=env.venv, lock_path=env.lock)
    ahead = LockAhead(spec, env.cache.root)
    ahead.read()
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "2.0")])
    outcome = sync(spec, env.target, cache=env.cache, ahead=ahead)
    assert _steps(outcome.plan) == [("alpha", "install", "2.0", None)]


def test_a_broken_lock_read_ahead_fails_where_the_plan_reads_it(env: Env) -> None:
    env.lock.parent.mkdir()
    env.lock.write_text("lock-version = \n")
    spec = SyncSpec(venv=env.venv, lock_path=env.lock)
    ahead = LockAhead(spec, env.cache.root)
    ahead.read()  # no error here: the query it runs beside must not fail for it
    assert ahead.lock() is None
    with pytest.raises(LockFileError, match="is not valid TOML") as raised:
        sync(spec, env.target, cache=env.cache, ahead=ahead)
    assert str(env.lock) in str(raised.value)
    assert env.dist_infos() == []


class _Watching(WheelInstaller):
    """The real installer, noting whether the garbage collector ran its passes while it installed."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.collector: list[bool] = []

    def install(self, wheel: Path, wanted: Wanted) -> None:
        self.collector.append(gc.isenabled())
        super().install(wheel, wanted)


def test_the_collector_is_paused_while_a_sync_works_and_restored_after(
    env: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0")])
    watching = _Watching(env.target)
    assert gc.isenabled()
    assert env.sync(installer=watching).applied
    assert watching.collector == [False]
    assert gc.isenabled()
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "2.0")])
    gc.disable()  # a process that turned it off keeps it off
    try:
        assert env.sync(installer=watching).applied
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert watching.collector == [False, False]


def test_overlapping_syncs_restore_the_collector_when_the_last_ends() -> None:
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # the other sync still works
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_hand_installed_wheel_is_removed(synced: Env, wheelhouse: Path) -> None:
    extra = make_wheel(wheelhouse / "by-hand", "stray", "0.1", console_scripts={"stray": "stray:main"})
    pick = Pick(name=canonicalize_name("stray"), version=Version("0.1"), kind="wheel", artifact=None)
    WheelInstaller(synced.target).install(extra, Wanted(pick=pick))
    assert (synced.venv / "bin" / "stray").is_file()
    kept = {k: v for k, v in synced.stats().items() if not k.startswith("stray")}

    outcome = synced.sync()
    assert _steps(outcome.plan) == [
        ("alpha", "keep", "1.0", "1.0"),
        ("beta", "keep", "1.0", "1.0"),
        ("stray", "remove", "0.1", "0.1"),
    ]
    assert synced.dist_infos() == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]
    assert not (synced.site / "stray").exists()
    assert not (synced.venv / "bin" / "stray").exists()
    assert synced.stats() == kept
    assert synced.sync().plan is None


def test_inexact_sync_keeps_a_hand_installed_wheel(synced: Env, wheelhouse: Path) -> None:
    extra = make_wheel(wheelhouse / "by-hand", "stray", "0.1")
    pick = Pick(name=canonicalize_name("stray"), version=Version("0.1"), kind="wheel", artifact=None)
    WheelInstaller(synced.target).install(extra, Wanted(pick=pick))
    outcome = synced.sync(exact=False)
    assert _steps(outcome.plan)[-1] == ("stray", "keep", "0.1", "0.1")
    assert not outcome.applied
    assert "stray-0.1.dist-info" in synced.dist_infos()


def test_version_bump_changes_only_that_package(synced: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    alpha_before = {k: v for k, v in synced.stats().items() if k.startswith("alpha")}
    bumped = make_wheel(wheelhouse, "beta", "2.0", modules={**_module("beta", "2.0"), "beta/new.py": "NEW = 1\n"})
    _lock(env=synced, index=local_index, wheels=[wheelhouse / "alpha-1.0-py3-none-any.whl", bumped])
    local_index.requests.clear()

    outcome = synced.sync()
    assert outcome.applied
    assert _steps(outcome.plan) == [("alpha", "keep", "1.0", "1.0"), ("beta", "upgrade", "2.0", "1.0")]
    assert outcome.plan is not None
    assert [s.name for s in outcome.plan.changes] == ["beta"]
    assert local_index.requests == ["/files/beta-2.0-py3-none-any.whl"]
    assert synced.dist_infos() == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert {k: v for k, v in synced.stats().items() if k.startswith("alpha")} == alpha_before
    assert synced.run("import beta, beta.new; print(beta.__version__, beta.new.NEW)") == "2.0 1\n"


def test_downgrade(synced: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    old = make_wheel(wheelhouse, "alpha", "0.9")
    _lock(synced, local_index, [old, wheelhouse / "beta-1.0-py3-none-any.whl"])
    outcome = synced.sync()
    assert _steps(outcome.plan) == [("alpha", "downgrade", "0.9", "1.0"), ("beta", "keep", "1.0", "1.0")]
    assert synced.dist_infos() == ["alpha-0.9.dist-info", "beta-1.0.dist-info"]


def test_wrong_sha256_changes_nothing(synced: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    before = synced.dist_infos()
    stats = synced.stats()
    bumped = make_wheel(wheelhouse, "beta", "2.0")
    good_lock = synced.lock.read_bytes()
    _lock(synced, local_index, [wheelhouse / "alpha-1.0-py3-none-any.whl", bumped], sha256={"beta": "0" * 64})

    with pytest.raises(HashMismatchError) as info:
        synced.sync()
    assert info.value.expected == "0" * 64
    assert str(info.value).startswith(f"the sha256 hash of beta from {local_index.file_url(bumped.name)} is ")
    assert synced.dist_infos() == before
    assert synced.stats() == stats
    assert _files(synced.cache.root / "tmp") == []
    assert not any("beta-2.0" in f for f in _files(synced.cache.root))

    synced.lock.write_bytes(good_lock)  # the venv is still what the old lock made: a no-op
    assert synced.sync().plan is None


def test_dry_run_changes_nothing(env: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0")])
    outcome = env.sync(dry_run=True)
    assert _steps(outcome.plan) == [("alpha", "install", "1.0", None)]
    assert not outcome.applied
    assert env.dist_infos() == []
    assert not (env.venv / ".venvsync" / "state.json").exists()
    assert local_index.requests == []
    assert _files(env.cache.root) == []


def test_dry_run_of_a_synced_env_shows_the_plan(synced: Env) -> None:
    stats = synced.stats()
    outcome = synced.sync(dry_run=True)
    assert _steps(outcome.plan) == [("alpha", "keep", "1.0", "1.0"), ("beta", "keep", "1.0", "1.0")]
    assert not outcome.applied
    assert synced.stats() == stats


class PowerCut(WheelInstaller):
    """The real installer, cut off before its install number ``fail_at`` (0-based)."""

    def __init__(self, target: Target, venv: Path, fail_at: int) -> None:
        super().__init__(target)
        self.venv = venv
        self.fail_at = fail_at
        self.installed: list[str] = []
        self.pending_seen: list[frozenset[str]] = []

    def install(self, wheel: Path, wanted: Wanted) -> None:
        self.pending_seen.append(Journal(self.venv).pending())
        if len(self.installed) == self.fail_at:
            msg = "power cut"
            raise RuntimeError(msg)
        super().install(wheel, wanted)
        self.installed.append(wanted.pick.name)


def test_interrupted_apply_is_repaired(env: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    wheels = [make_wheel(wheelhouse, name, "1.0") for name in ("alpha", "beta", "gamma")]
    _lock(env, local_index, wheels)
    cut = PowerCut(env.target, env.venv, fail_at=1)
    with pytest.raises(RuntimeError, match="power cut"):
        env.sync(installer=cut)
    assert cut.installed == ["alpha"]
    assert cut.pending_seen == [frozenset({"alpha", "beta", "gamma"})] * 2  # the journal was written first
    assert env.dist_infos() == ["alpha-1.0.dist-info"]
    assert not (env.venv / ".venvsync" / "state.json").exists()
    assert Journal(env.venv).pending() == frozenset({"alpha", "beta", "gamma"})

    outcome = env.sync()
    assert _steps(outcome.plan) == [
        ("alpha", "reinstall", "1.0", "1.0"),  # it was being changed: not trusted
        ("beta", "install", "1.0", None),
        ("gamma", "install", "1.0", None),
    ]
    assert env.dist_infos() == ["alpha-1.0.dist-info", "beta-1.0.dist-info", "gamma-1.0.dist-info"]
    assert Journal(env.venv).pending() == frozenset()
    assert env.run("import alpha, beta, gamma") == ""
    assert env.sync().plan is None


def test_interrupted_sync_of_a_synced_env_is_not_a_no_op(
    synced: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    _lock(synced, local_index, [make_wheel(wheelhouse, "alpha", "2.0"), make_wheel(wheelhouse, "beta", "2.0")])
    with pytest.raises(RuntimeError, match="power cut"):
        synced.sync(installer=PowerCut(synced.target, synced.venv, fail_at=0))
    assert synced.dist_infos() == []  # both old versions were removed before the first install
    assert Journal(synced.venv).pending() == frozenset({"alpha", "beta"})

    outcome = synced.sync()
    assert _steps(outcome.plan) == [("alpha", "install", "2.0", None), ("beta", "install", "2.0", None)]
    assert synced.dist_infos() == ["alpha-2.0.dist-info", "beta-2.0.dist-info"]
    assert synced.sync().plan is None


def test_interrupted_sync_with_the_old_lock_repairs(synced: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    """Going back to the lock of the last finished sync must not trust the old state."""
    good_lock = synced.lock.read_bytes()
    _lock(synced, local_index, [wheelhouse / "alpha-1.0-py3-none-any.whl", make_wheel(wheelhouse, "beta", "2.0")])
    with pytest.raises(RuntimeError, match="power cut"):
        synced.sync(installer=PowerCut(synced.target, synced.venv, fail_at=0))
    assert synced.dist_infos() == ["alpha-1.0.dist-info"]
    synced.lock.write_bytes(good_lock)

    outcome = synced.sync()
    assert _steps(outcome.plan) == [("alpha", "keep", "1.0", "1.0"), ("beta", "install", "1.0", None)]
    assert synced.dist_infos() == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]


def test_a_missing_sdist_installs_nothing(env: Env, wheelhouse: Path, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "alpha", "1.0")
    sdist = {"name": "beta-1.0.tar.gz", "url": local_index.file_url("beta-1.0.tar.gz"), "hashes": {"sha256": "ab" * 32}}
    entry = wheel_entry(wheel, url=local_index.file_url(wheel.name))
    write_pylock(env.lock, [package_entry("alpha", "1.0", [entry]), {"name": "beta", "version": "1.0", "sdist": sdist}])
    with pytest.raises(FetchError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot fetch beta from {local_index.file_url('beta-1.0.tar.gz')}: the server answered HTTP 404 Not Found; "
        "the file is not at that URL: check the URL in the lock, or lock again"
    )
    assert env.dist_infos() == []


def test_env_lock_lives_in_the_cache(env: Env) -> None:
    lock = env_lock(env.cache, env.venv)
    assert lock.lock_file == str(env.cache.venv_lock(env.venv))
    assert Path(lock.lock_file).parent == env.cache.root / "locks"
    with lock:
        assert lock.is_locked


def test_plan_actions_cover_the_outcome(synced: Env) -> None:
    outcome = synced.sync(dry_run=True)
    assert outcome.plan is not None
    assert outcome.plan.of(Action.KEEP) == list(outcome.plan.steps)
    assert outcome.seconds >= 0


def test_unpacking_ahead_takes_the_biggest_waiting_wheel_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_apply, "UNPACK_WORKERS", 1)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def unpacked(_cache: Cache, _wheel: Path, _algorithm: str, _digest: str, name: str, *, threads: int) -> None:
        assert threads == 1
        started.set()
        release.wait(timeout=30)  # the first wheel holds the thread while the others queue up
        order.append(name)
        if name == "broken":
            raise OSError(name)  # ahead of the check, a failure is only skipped

    monkeypatch.setattr(_unpacked, "unpacked", unpacked)
    ahead = _UnpackAhead(Cache(tmp_path / "cache"))

    def submit(name: str, size: int) -> None:
        wheel = tmp_path / f"{name}-1.0-py3-none-any.whl"
        wheel.write_bytes(b"x" * size)
        artifact = Artifact(filename=wheel.name, url=None, path=wheel, size=size, hashes={"sha256": "0" * 64})
        ahead.submit(Pick(name=canonicalize_name(name), version=Version("1.0"), kind="wheel", artifact=artifact), wheel)

    submit("first", 10)
    assert started.wait(timeout=30)
    for name, size in {"small": 100, "broken": 5_000, "big": 50_000, "middle": 1_000, "tiny": 1}.items():
        submit(name, size)
    release.set()
    ahead.close()
    assert order == ["first", "big", "broken", "middle", "small", "tiny"]


def test_a_wheel_unpacked_while_no_other_is_gets_every_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_apply, "UNPACK_WORKERS", 2)
    started, release = threading.Semaphore(0), threading.Event()
    threads_of: dict[str, int] = {}

    def unpacked(_cache: Cache, _wheel: Path, _algorithm: str, _digest: str, name: str, *, threads: int) -> None:
        threads_of[name] = threads
        started.release()
        release.wait(timeout=30)

    monkeypatch.setattr(_unpacked, "unpacked", unpacked)
    ahead = _UnpackAhead(Cache(tmp_path / "cache"))
    for name in ("alone", "beside"):
        wheel = tmp_path / f"{name}-1.0-py3-none-any.whl"
        wheel.write_bytes(b"x")
        artifact = Artifact(filename=wheel.name, url=None, path=wheel, size=1, hashes={"sha256": "0" * 64})
        ahead.submit(Pick(name=canonicalize_name(name), version=Version("1.0"), kind="wheel", artifact=artifact), wheel)
        assert started.acquire(timeout=30)  # each starts before the next is submitted
    release.set()
    ahead.close()
    assert threads_of == {"alone": 2, "beside": 1}  # the second came while the first was being unpacked


def test_a_read_only_venv_whose_lock_changed_but_not_its_selection_syncs_without_writing(
    synced: Env, mocker: MockerFixture
) -> None:
    # a venv in a read-only image layer; its lock gained a comment: nothing to change, and nothing may be written
    synced.lock.write_text(synced.lock.read_text() + "# a comment\n")
    before = synced.stats()
    refused = OSError(errno.EROFS, "Read-only file system")
    mocker.patch("tox_venvsync._state.write_atomic", side_effect=refused)
    mocker.patch("pathlib.Path.unlink", side_effect=refused)  # Linux refuses even a missing file's unlink there
    outcome = synced.sync()
    assert outcome.plan is not None
    assert not outcome.applied
    assert outcome.plan.changes == []
    assert synced.stats() == before


def test_a_read_only_venv_with_changes_to_make_fails(
    synced: Env, wheelhouse: Path, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    _lock(synced, local_index, [make_wheel(wheelhouse, "alpha", "1.0"), make_wheel(wheelhouse, "beta", "2.0")])
    mocker.patch("tox_venvsync._state.write_atomic", side_effect=OSError(errno.EROFS, "Read-only file system"))
    with pytest.raises(OSError, match="Read-only file system"):
        synced.sync()


def _at_fault(lock: Path, name: str) -> str:
    """What a broken wheel the lock pins says to do (found by QA: a broken wheel's sentence said nothing of it)."""
    return (
        f"the file {lock} pins for it is at fault: lock again, or lock another release of {name} if this one is "
        "broken (and tell its maintainers)"
    )


def _renamed(wheel: Path, directory: Path, filename: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(wheel, directory / filename))


def test_cached_bytes_locked_under_another_name_are_refused(env: Env, wheelhouse: Path, tmp_path: Path) -> None:
    # the cache holds beta 1.0's tree (by its hash); another lock names the same bytes alpha 1.0
    beta = make_wheel(wheelhouse, "beta", "1.0")
    write_pylock(env.lock, [package_entry("beta", "1.0", [wheel_entry(beta)])])
    env.sync()
    before = env.stats()
    liar = _renamed(beta, tmp_path / "other", "alpha-1.0-py3-none-any.whl")
    write_pylock(env.lock, [package_entry("alpha", "1.0", [wheel_entry(liar)])])
    with pytest.raises(InstallError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot install alpha from {liar.name}: its metadata directory beta-1.0.dist-info is not for alpha; "
        + _at_fault(env.lock, "alpha")
    )
    assert env.stats() == before


@pytest.mark.parametrize("cached", [False, True])
def test_a_wheel_whose_metadata_has_another_version_is_refused(
    env: Env, wheelhouse: Path, tmp_path: Path, *, cached: bool
) -> None:
    two = make_wheel(wheelhouse, "alpha", "2.0")
    if cached:  # its tree is in the cache from a lock that names it right
        write_pylock(env.lock, [package_entry("alpha", "2.0", [wheel_entry(two)])])
        env.sync()
    liar = _renamed(two, tmp_path / "other", "alpha-1.0-py3-none-any.whl")
    write_pylock(env.lock, [package_entry("alpha", "1.0", [wheel_entry(liar)])])
    before = env.dist_infos()
    with pytest.raises(InstallError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot install alpha from {liar.name}: its metadata directory alpha-2.0.dist-info is not for version 1.0; "
        + _at_fault(env.lock, "alpha")
    )
    assert env.dist_infos() == before


def test_the_same_version_from_another_file_is_reinstalled(env: Env, tmp_path: Path) -> None:
    # a wheel rebuilt and uploaded again under the same version: the lock's hash changed, so must the venv
    one = make_wheel(tmp_path / "one", "delta", "1.0", modules={"delta/__init__.py": "X = 1\n"})
    two = make_wheel(tmp_path / "two", "delta", "1.0", modules={"delta/__init__.py": "X = 2\n"})
    write_pylock(env.lock, [package_entry("delta", "1.0", [wheel_entry(one)])])
    env.sync()
    write_pylock(env.lock, [package_entry("delta", "1.0", [wheel_entry(two)])])
    outcome = env.sync()
    assert _steps(outcome.plan) == [("delta", "reinstall", "1.0", "1.0")]
    assert env.run("import delta; print(delta.X)") == "2\n"
    assert env.sync().plan is None  # and then it is in sync


def test_a_package_another_tool_installed_is_trusted_by_its_version(env: Env, tmp_path: Path) -> None:
    # nothing says which file pip or uv installed it from: the same version stays, as uv sync keeps it
    one = make_wheel(tmp_path / "one", "delta", "1.0", modules={"delta/__init__.py": "X = 1\n"})
    two = make_wheel(tmp_path / "two", "delta", "1.0", modules={"delta/__init__.py": "X = 2\n"})
    write_pylock(env.lock, [package_entry("delta", "1.0", [wheel_entry(one)])])
    env.sync()
    (env.site / "delta-1.0.dist-info" / "venvsync.json").unlink()  # as another installer leaves it
    write_pylock(env.lock, [package_entry("delta", "1.0", [wheel_entry(two)])])
    assert _steps(env.sync().plan) == [("delta", "keep", "1.0", "1.0")]
    assert env.run("import delta; print(delta.X)") == "1\n"


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("data", "scripts/python"),
        ("data", "scripts/python3.12"),
        ("data", "scripts/activate"),
        ("data", "data/bin/python3"),  # the data scheme's bin/ is the scripts directory (found by QA)
        ("data", "data/bin/activate"),
        ("data", "data/pyvenv.cfg"),
        ("data", "data/.venvsync/state.json"),
        # the lib64 link to lib was replaced by the wheel's file, and the files virtualenv, uv and tox leave at the
        # root by theirs (an uninstall then left them, as it leaves those files); found by QA
        ("data", "data/lib64"),
        ("data", "data/.gitignore"),
        ("data", "data/CACHEDIR.TAG"),
        ("data", "data/.tox-info.json"),
        ("console script", "python3"),
        # a free-threaded Python's venv is made around python3.13t, PyPy's around pypy3.10, and Python 3.14's venv
        # adds 𝜋thon: a wheel replaced them (found by mutation testing)
        ("console script", "python3.13t"),
        ("data", "scripts/pypy3.10"),
        ("data", "data/bin/\U0001d70bthon"),
    ],
)
def test_a_wheel_cannot_replace_the_venvs_own_files(env: Env, tmp_path: Path, kind: str, name: str) -> None:
    # pip would let it: the venv's interpreter (a link), its activation or its pyvenv.cfg replaced by a wheel's file
    if kind == "data":
        wheel = make_wheel(tmp_path / "w", "sneaky", "1.0", data={name: b"#!/bin/sh\necho replaced\n"})
    else:
        wheel = make_wheel(tmp_path / "w", "sneaky", "1.0", console_scripts={name: "sneaky:main"})
    write_pylock(env.lock, [package_entry("sneaky", "1.0", [wheel_entry(wheel)])])
    paths = [env.venv / "pyvenv.cfg", *(env.venv / "bin").iterdir(), env.venv / "lib64", env.venv / ".gitignore"]
    own = {p: (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in paths if p.is_symlink() or p.exists()}
    with pytest.raises(InstallError) as info:
        env.sync()
    leaf = name.partition("/")[2].removeprefix("bin/") if kind == "data" else name
    assert str(info.value) == (
        f"cannot install sneaky from {wheel.name}: it ships {leaf!r}, which would replace the virtual environment's "
        "own file of that name; " + _at_fault(env.lock, "sneaky")
    )
    assert {p: (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in own} == own
    assert env.dist_infos() == []


def test_a_wheel_may_ship_a_script_whose_name_only_starts_like_the_venvs(env: Env, tmp_path: Path) -> None:
    scripts = {"python-tool": "tool:main", "activator": "tool:x"}
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", console_scripts=scripts)
    write_pylock(env.lock, [package_entry("tool", "1.0", [wheel_entry(wheel)])])
    env.sync()
    assert (env.venv / "bin" / "python-tool").is_file()
    assert (env.venv / "bin" / "activator").is_file()


def test_a_wheel_may_ship_files_named_like_the_venvs_own_inside_its_package(env: Env, tmp_path: Path) -> None:
    # only the data scheme's root is the venv's: a package's own pyvenv.cfg or lib64 is no threat to it (a directory
    # as long as "tool-1.0.data/data/" too, to check that the prefix is compared, not only the length)
    data = "tool-1.0.data/data/"
    deep = "tool/" + "a" * (len(data) - len("tool//")) + "/"
    assert len(deep) == len(data)
    files = {"tool/__init__.py": "", "tool/pyvenv.cfg": "x", f"{deep}pyvenv.cfg": "x", f"{deep}lib64": "x"}
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", modules=files)
    write_pylock(env.lock, [package_entry("tool", "1.0", [wheel_entry(wheel)])])
    env.sync()
    assert (env.site / deep / "pyvenv.cfg").is_file()
    assert (env.site / deep / "lib64").is_file()


@pytest.mark.parametrize("script", ["../escape", "../bin/python", "sub/../../escape", "/opt/escape", "."])
def test_a_script_name_that_leaves_bin_is_refused_before_anything_changes(
    env: Env, tmp_path: Path, script: str
) -> None:
    # found by QA comparing with pip and uv: the name was checked only as the script was written, after the other
    # packages were uninstalled and this one half placed, and ../bin/python passed, replacing the venv's interpreter
    kept = make_wheel(tmp_path / "k", "kept", "1.0")
    write_pylock(env.lock, [package_entry("kept", "1.0", [wheel_entry(kept)])])
    env.sync()
    before = env.stats()
    wheel = make_wheel(tmp_path / "w", "sneaky", "1.0", console_scripts={script: "sneaky:main"})
    write_pylock(env.lock, [package_entry("sneaky", "1.0", [wheel_entry(wheel)])])
    with pytest.raises(InstallError) as info:
        env.sync()
    assert env.dist_infos() == ["kept-1.0.dist-info"]
    assert env.stats() == before
    assert str(info.value) == (
        f"cannot install sneaky from {wheel.name}: its entry_points.txt names the script {script!r}, which is not a "
        "path below the venv's bin/ directory (no leading '/', no '.' or '..' parts); " + _at_fault(env.lock, "sneaky")
    )


def test_a_link_out_of_the_venv_where_a_wheel_goes_stops_the_sync_before_anything_changes(
    env: Env, tmp_path: Path
) -> None:
    # found by QA: share/jupyter linked to a directory of the user's stopped the sync only as the wheel's files were
    # placed, after the package the lock dropped was uninstalled and the wheel half placed (its modules, no RECORD)
    kept = make_wheel(tmp_path / "k", "kept", "1.0")
    write_pylock(env.lock, [package_entry("kept", "1.0", [wheel_entry(kept)])])
    env.sync()
    before = env.stats()
    outside = tmp_path / "outside"
    outside.mkdir()
    (env.venv / "share").mkdir()
    (env.venv / "share" / "kernels").symlink_to(outside)
    data = {"data/share/kernels/python3/kernel.json": b"{}"}
    wheel = make_wheel(tmp_path / "w", "kernel", "1.0", modules={"kernel/__init__.py": ""}, data=data)
    write_pylock(env.lock, [package_entry("kernel", "1.0", [wheel_entry(wheel)])])
    with pytest.raises(InstallError) as info:
        env.sync()
    assert env.dist_infos() == ["kept-1.0.dist-info"]
    assert env.stats() == before
    assert list(outside.iterdir()) == []
    link = env.venv / "share" / "kernels"
    assert str(info.value) == (
        f"cannot install kernel from {wheel.name}: {link} is a link to {outside}, outside the virtual environment; "
        "remove the link"
    )


@pytest.mark.parametrize("where", ["bin", "site-packages", "lib"])
def test_a_scheme_directory_linked_out_of_the_venv_stops_the_sync_before_anything_changes(
    env: Env, tmp_path: Path, where: str
) -> None:
    # found by mutation testing: the links out were looked for below each scheme directory only, so a bin/ or
    # site-packages linked to a directory outside got the sync's scripts and packages written there
    kept = make_wheel(tmp_path / "k", "kept", "1.0")
    write_pylock(env.lock, [package_entry("kept", "1.0", [wheel_entry(kept)])])
    env.sync()
    linked = {"bin": env.venv / "bin", "site-packages": env.site, "lib": env.venv / "lib"}[where]
    outside = tmp_path / "outside"
    shutil.copytree(linked, outside, symlinks=True)
    shutil.rmtree(linked)
    linked.symlink_to(outside)
    before, outside_before = env.stats(), sorted(p.name for p in outside.rglob("*"))
    modules, scripts = {"alpha/__init__.py": "def main(): pass\n"}, {"alpha-cli": "alpha:main"}
    wheel = make_wheel(tmp_path / "w", "alpha", "1.0", modules=modules, console_scripts=scripts)
    entries = [package_entry("kept", "1.0", [wheel_entry(kept)]), package_entry("alpha", "1.0", [wheel_entry(wheel)])]
    write_pylock(env.lock, entries)
    with pytest.raises(LocationError) as info:
        env.sync()
    assert env.stats() == before
    assert sorted(p.name for p in outside.rglob("*")) == outside_before
    assert str(info.value) == (
        f"refusing to use {env.venv} as a virtual environment: {linked} is a link to {outside}, outside it; "
        "remove the link and sync again"
    )


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_path_too_long_for_the_file_system_stops_the_sync_before_anything_changes(
    tmp_path: Path, make_venv: Callable[[Path], Target], cache_dir: Path, how: str
) -> None:
    # found by QA with a venv at a deep location: the upgrade removed the old version (and what the lock dropped),
    # then stopped placing the new one with "File name too long", leaving neither version installed
    parts, rest = divmod(3950 - len(str(tmp_path)), 251)  # a venv of 3950 bytes: below PATH_MAX, 4096
    deep = tmp_path.joinpath(*["d" * 250] * parts, "e" * max(rest - 1, 1))
    env = Env(deep, make_venv(deep), Cache(cache_dir), tmp_path / "lock" / "pylock.toml")
    long = f"dd/{'m' * 200}.py"
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules={"dd/__init__.py": "", long: ""})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    before = env.stats()
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InstallError) as info:
        env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert env.stats() == before
    assert env.dist_infos() == ["dd-1.0.dist-info"]
    path = env.site / long
    assert str(info.value) == (
        f"cannot install dd from {two.name}: {path} is {len(str(path))} bytes long, and the file system takes paths "
        "shorter than 4096 bytes; choose a shorter location for the environment"
    )


def test_a_name_too_long_for_the_file_system_stops_the_sync_before_anything_changes(env: Env, tmp_path: Path) -> None:
    # a name past the file system's NAME_MAX (255 bytes on ext4 and tmpfs); pypa/installer's path, as the linked
    # one unpacks the wheel into the cache first, where the name stops the sync as well
    long = f"dd/{'n' * 256}.py"
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules={"dd/__init__.py": "", long: ""})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    before = env.stats()
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InstallError) as info:
        env.sync(installer=WheelInstaller(env.target))
    assert env.stats() == before
    assert str(info.value) == (
        f"cannot install dd from {two.name}: {env.site / long} has the name '{'n' * 256}.py' of 259 bytes, and the "
        "file system of the environment takes names of 255 bytes at most; put the environment on another one"
    )


@pytest.mark.parametrize("other", ["aa", "zz"])
def test_a_name_too_long_names_the_package_that_ships_it_among_several(env: Env, tmp_path: Path, other: str) -> None:
    # the refusal names the wheel with the long name, not another one the same sync installs (mutation testing)
    long = f"dd/{'n' * 256}.py"
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules={"dd/__init__.py": "", long: ""})
    plain = make_wheel(tmp_path / "other", other, "1.0")
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    write_pylock(
        env.lock, [package_entry("dd", "2.0", [wheel_entry(two)]), package_entry(other, "1.0", [wheel_entry(plain)])]
    )
    with pytest.raises(InstallError) as info:
        env.sync(installer=WheelInstaller(env.target))
    assert str(info.value).startswith(f"cannot install dd from {two.name}: {env.site / long} has the name ")
    assert env.dist_infos() == ["dd-1.0.dist-info"]


_IN_THE_WAY = {
    # a package directory that became a data file, with a file of the user's left in it
    "a directory where a file goes": (
        {"dd/__init__.py": "", "dd/res/one.txt": "1"},
        {"dd/__init__.py": "", "dd/res": "now a file"},
        "dd/res/mine.txt",
        (
            "the directory {site}/dd/res stands where it places a file, and the sync would leave "
            "{site}/dd/res/mine.txt in it; move that out of the way, or make the environment again"
        ),
    ),
    # a data file that became a directory, where the user had put a file of that name
    "a file where a directory goes": (
        {"dd/__init__.py": ""},
        {"dd/__init__.py": "", "dd/res/one.txt": "1"},
        "dd/res",
        "{site}/dd/res is a file where it makes a directory; move it out of the way, or make the environment again",
    ),
}


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
@pytest.mark.parametrize("case", list(_IN_THE_WAY))
def test_a_file_the_uninstall_leaves_in_the_way_stops_the_sync_before_anything_changes(
    env: Env, tmp_path: Path, case: str, how: str
) -> None:
    # found by QA comparing upgrades with pip and uv: the upgrade removed the old version, then met the user's file
    # and stopped with neither version installed (the new one half placed); a file where a directory goes ended in
    # a traceback (FileExistsError from makedirs). pip stops too, and puts the old version back
    old, new, mine, message = _IN_THE_WAY[case]
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules=old)
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules=new)
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    (env.site / mine).write_text("the user's\n")
    before = env.stats()
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InTheWayError) as info:
        env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert str(info.value) == f"cannot install dd from {two.name}: " + message.format(site=env.site)
    # the venv's state, as when an install that uninstalls nothing meets it at placement: not the wheel's fault
    assert info.value.exit_code == 1
    assert env.stats() == before
    assert env.dist_infos() == ["dd-1.0.dist-info"]


@pytest.mark.parametrize("other", ["aa", "zz"])
def test_a_file_in_the_way_names_the_package_it_stops_among_several(env: Env, tmp_path: Path, other: str) -> None:
    # the refusal names the wheel the user's file stands in the way of, not another the same sync installs
    # (mutation testing)
    old, new, mine, message = _IN_THE_WAY["a file where a directory goes"]
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules=old)
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules=new)
    plain = make_wheel(tmp_path / "other", other, "1.0")
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    (env.site / mine).write_text("the user's\n")
    entries = [package_entry("dd", "2.0", [wheel_entry(two)]), package_entry(other, "1.0", [wheel_entry(plain)])]
    write_pylock(env.lock, entries)
    with pytest.raises(InTheWayError) as info:
        env.sync(installer=WheelInstaller(env.target))
    assert str(info.value) == f"cannot install dd from {two.name}: " + message.format(site=env.site)
    assert env.dist_infos() == ["dd-1.0.dist-info"]


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_directory_a_record_spells_through_lib64_is_no_file_in_the_way(env: Env, tmp_path: Path, how: str) -> None:
    # a RECORD written through lib64 -> lib (Fedora's platlib) names the files the upgrade removes by another path
    # than the new wheel's: they are the same files, so the directory they leave is no file of the user's in the way
    # (no test spelt them two ways: mutation testing)
    if not (env.venv / "lib64").is_symlink():
        pytest.skip("the venv has no lib64 link to lib")
    old, new, _, _ = _IN_THE_WAY["a directory where a file goes"]
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules=old)
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules=new)
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    record = env.site / "dd-1.0.dist-info" / "RECORD"
    through = os.path.relpath(env.venv / "lib64" / env.site.relative_to(env.venv / "lib") / "dd" / "res", env.site)
    record.write_text(record.read_text().replace("dd/res/one.txt,", f"{through}/one.txt,"))
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert env.dist_infos() == ["dd-2.0.dist-info"]
    assert (env.site / "dd" / "res").read_text() == "now a file"


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_dangling_link_where_a_directory_goes_is_named_as_a_link(env: Env, tmp_path: Path, how: str) -> None:
    # the review found it called "a file": a link to nothing is no file, and the user looks for one in vain
    old, new, mine, _ = _IN_THE_WAY["a file where a directory goes"]
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules=old)
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules=new)
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    (env.site / mine).symlink_to(env.site / "gone")  # inside the venv: a link out is refused as such, earlier
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InTheWayError) as info:
        env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert str(info.value) == (
        f"cannot install dd from {two.name}: {env.site / mine} is a link to {env.site / 'gone'} where it makes a "
        "directory; move it out of the way, or make the environment again"
    )
    assert env.dist_infos() == ["dd-1.0.dist-info"]  # nothing changed
    assert (env.site / mine).readlink() == env.site / "gone"


def test_a_link_out_where_a_built_wheel_goes_stops_its_upgrade_before_anything_changes(
    env: Env, tmp_path: Path
) -> None:
    # found by QA: a package directory linked to the user's checkout, where pypa/installer (the project's wheel, a
    # build) places the new version, was met after the old version was uninstalled, its new METADATA half placed
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules={"dd/__init__.py": "X = 1\n"})
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules={"dd/__init__.py": "X = 2\n"})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "__init__.py").write_text("mine\n")
    shutil.rmtree(env.site / "dd")
    (env.site / "dd").symlink_to(checkout)
    before = env.stats()
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InstallError) as info:
        env.sync(installer=WheelInstaller(env.target))
    assert str(info.value) == (
        f"cannot install dd from {two.name}: {env.site / 'dd'} is a link to {checkout}, outside the virtual "
        "environment; remove the link"
    )
    assert env.stats() == before
    assert [p.name for p in checkout.iterdir()] == ["__init__.py"]
    assert (checkout / "__init__.py").read_text() == "mine\n"


def test_a_directory_an_upgrade_adds_files_to_and_may_not_write_stops_it_before_anything_changes(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: bin/ made read-only, and an upgrade whose new version adds a console script: the old version was
    # uninstalled, then the script could not be written. The suite runs as root, whom access(2) lets write
    # anywhere: its answer is simulated (the writes themselves would pass)
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", console_scripts={"dd-tool": "dd:main"})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    before = env.stats()
    scripts = os.path.normpath(env.target.scheme["scripts"])
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: not (path == scripts and mode & os.W_OK) and access(path, mode)
    )
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(PermissionError) as raised:
        env.sync()
    assert raised.value.filename == scripts
    assert env.stats() == before
    assert not (env.venv / "bin" / "dd-tool").exists()


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_directory_an_upgrade_makes_a_new_one_in_and_may_not_write_stops_it_before_anything_changes(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # the new version's first header goes to include/site/python3.12/dd/, below include/ (made read-only) where
    # nothing of it exists yet: only the directories that exist were asked, and the old version was uninstalled
    # before include/site could not be made. Root may write anywhere: access(2)'s answer is simulated
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", data={"headers/dd.h": b"int dd;\n"})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    before = env.stats()
    include = str(env.venv / "include")
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: not (path == include and mode & os.W_OK) and access(path, mode)
    )
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(PermissionError) as raised:
        env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert raised.value.filename == include
    assert env.stats() == before
    assert env.dist_infos() == ["dd-1.0.dist-info"]


def test_a_link_out_above_a_directory_a_built_wheels_upgrade_makes_stops_it_before_anything_changes(
    env: Env, tmp_path: Path
) -> None:
    # share/ linked to a directory of the user's, where the new version makes share/dd/: pypa/installer met the link
    # as it placed the file, after the old version was uninstalled
    one = make_wheel(tmp_path / "one", "dd", "1.0")
    two = make_wheel(tmp_path / "two", "dd", "2.0", data={"data/share/dd/notes.txt": b"new\n"})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    mine = tmp_path / "mine"
    mine.mkdir()
    (env.venv / "share").symlink_to(mine)
    before = env.stats()
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    with pytest.raises(InstallError) as info:
        env.sync(installer=WheelInstaller(env.target))
    assert str(info.value) == (
        f"cannot install dd from {two.name}: {env.venv / 'share'} is a link to {mine}, outside the virtual "
        "environment; remove the link"
    )
    assert env.stats() == before
    assert env.dist_infos() == ["dd-1.0.dist-info"]
    assert list(mine.iterdir()) == []


@pytest.mark.parametrize(("how", "named"), [("linked", "ff"), ("pypa/installer", "ff/__init__.py")])
def test_a_file_where_an_install_makes_a_directory_is_one_sentence(
    env: Env, tmp_path: Path, how: str, named: str
) -> None:
    # nothing is removed (the check before the changes is for uninstalls): makedirs' FileExistsError was a traceback
    # (pypa/installer opens the file through the user's, and is refused with ENOTDIR naming it)
    (env.site / "ff").write_text("the user's\n")
    wheel = make_wheel(tmp_path / "w", "ff", "1.0", modules={"ff/__init__.py": ""})
    write_pylock(env.lock, [package_entry("ff", "1.0", [wheel_entry(wheel)])])
    with pytest.raises(NotADirectoryError) as info:
        env.sync(installer=WheelInstaller(env.target) if how == "pypa/installer" else None)
    assert str(file_system_error(info.value)) == (
        f"Not a directory at {env.site / named}; a file stands where a directory goes: remove it, or make the "
        "environment again"
    )
    assert (env.site / "ff").read_text() == "the user's\n"


def test_a_directory_the_uninstall_empties_becomes_the_file_that_goes_there(env: Env, tmp_path: Path) -> None:
    # its modules' bytecode (written by Python at run time, in no RECORD) goes with them
    old = {"dd/__init__.py": "", "dd/res/__init__.py": "", "dd/res/mod.py": "X = 1\n"}
    one = make_wheel(tmp_path / "one", "dd", "1.0", modules=old)
    two = make_wheel(tmp_path / "two", "dd", "2.0", modules={"dd/__init__.py": "", "dd/res": "now a file"})
    write_pylock(env.lock, [package_entry("dd", "1.0", [wheel_entry(one)])])
    env.sync()
    (env.site / "dd" / "res" / "__pycache__").mkdir()
    for module in ("__init__", "mod"):
        (env.site / "dd" / "res" / "__pycache__" / f"{module}.cpython-312.pyc").write_bytes(b"compiled")
    write_pylock(env.lock, [package_entry("dd", "2.0", [wheel_entry(two)])])
    env.sync()
    assert (env.site / "dd" / "res").read_text() == "now a file"
    assert env.dist_infos() == ["dd-2.0.dist-info"]


def _uv_groups_lock(env: Env, index: LocalIndex, wheels: list[Path]) -> None:
    """A uv.lock of a virtual project whose groups dev and docs hold alpha and beta."""
    root = '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
    root += '[package.dev-dependencies]\ndev = [{ name = "alpha" }]\ndocs = [{ name = "beta" }]\n'
    packages = [
        f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "{index.simple_url}" }}\n'
        f'wheels = [{{ url = "{index.file_url(wheel.name)}", hash = "sha256:{sha256_file(wheel)}" }}]\n'
        for wheel in wheels
        for name, version, _, _ in [parse_wheel_filename(wheel.name)]
    ]
    env.lock = env.lock.parent / "uv.lock"
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    header = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'
    env.lock.write_text("\n".join([header, root, *packages]), encoding="utf-8")


def test_a_change_of_the_pyproject_beside_the_lock_is_not_a_no_op(
    env: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    # uv takes its default groups from pyproject.toml, not from uv.lock: editing them changes what a sync installs
    _uv_groups_lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0"), make_wheel(wheelhouse, "beta", "1.0")])
    pyproject = env.lock.parent / "pyproject.toml"
    pyproject.write_text('[project]\nname = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    assert _steps(env.sync().plan) == [("alpha", "install", "1.0", None)]
    pyproject.write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\n[tool.uv]\ndefault-groups = ["dev", "docs"]\n', encoding="utf-8"
    )
    outcome = env.sync()
    assert _steps(outcome.plan) == [("alpha", "keep", "1.0", "1.0"), ("beta", "install", "1.0", None)]


def test_a_change_of_a_workspace_members_pyproject_is_not_a_no_op(
    env: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    # uv sync --locked compares each member's pyproject.toml with the lock: a member's new dependency makes the
    # lock stale although the lock and the pyproject.toml beside it are unchanged
    _uv_groups_lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0"), make_wheel(wheelhouse, "beta", "1.0")])
    workspace = '[manifest]\nmembers = ["demo", "member"]\n\n'
    member = '[[package]]\nname = "member"\nversion = "0.1.0"\nsource = { virtual = "libs/member" }\n'
    recorded = '[package.metadata.requires-dev]\ndev = [{ name = "alpha" }]\ndocs = [{ name = "beta" }]\n'
    header, _, packages = env.lock.read_text(encoding="utf-8").partition("[[package]]")
    demo, _, others = packages.partition("\n[[package]]")
    text = f"{header}{workspace}[[package]]{demo}{recorded}\n{member}\n[[package]]{others}"
    env.lock.write_text(text, encoding="utf-8")
    root = '[project]\nname = "demo"\nversion = "0.1.0"\n[dependency-groups]\ndev = ["alpha"]\ndocs = ["beta"]\n'
    (env.lock.parent / "pyproject.toml").write_text(root + '[tool.uv.workspace]\nmembers = ["libs/*"]\n')
    (env.lock.parent / "libs" / "member").mkdir(parents=True)
    member_file = env.lock.parent / "libs" / "member" / "pyproject.toml"
    member_file.write_text('[project]\nname = "member"\nversion = "0.1.0"\n', encoding="utf-8")
    assert _steps(env.sync().plan) == [("alpha", "install", "1.0", None)]
    assert env.sync().plan is None  # nothing changed: a no-op
    member_file.write_text(
        '[project]\nname = "member"\nversion = "0.1.0"\ndependencies = ["gamma"]\n', encoding="utf-8"
    )
    with pytest.raises(SelectionError) as info:
        env.sync()
    assert info.value.reason.startswith(
        "libs/member/pyproject.toml changed since uv.lock was made (the dependencies name gamma, the lock's do not)"
    )


def test_a_lock_rewritten_while_it_is_read_is_read_as_the_fingerprint_saw_it(
    env: Env, wheelhouse: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "2.0")])
    second = env.lock.read_bytes()
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.0")])
    real = lock_package.read_lock

    def rewritten(path: Path, lock_format: str | None = None, *, paths_from: Path | None = None) -> lock_package.Lock:
        path.write_bytes(second)  # a checkout rewrites the lock while this sync reads it
        return real(path, lock_format, paths_from=paths_from)

    monkeypatch.setattr(lock_package, "read_lock", rewritten)
    # the fingerprint, the remembered selection and the reader all take the version the sync started with
    assert _steps(env.sync().plan) == [("alpha", "install", "1.0", None)]
    monkeypatch.undo()
    assert _steps(env.sync().plan) == [("alpha", "upgrade", "2.0", "1.0")]  # the new version, seen next time


def test_removing_one_of_two_distributions_that_ship_a_file_keeps_it_for_the_other(
    env: Env, wheelhouse: Path, local_index: LocalIndex
) -> None:
    # pip and uv delete it and leave the other broken (verify: missing); the file stays while a RECORD lists it
    shared = {"ns/__init__.py": "SHARED = True\n"}
    first = make_wheel(wheelhouse, "ns-a", "1.0", modules={**shared, "ns/a.py": "A = 1\n"})
    second = make_wheel(wheelhouse, "ns-b", "1.0", modules={**shared, "ns/b.py": "B = 1\n"})
    _lock(env, local_index, [first, second])
    env.sync()
    _lock(env, local_index, [first])
    assert _steps(env.sync().plan) == [("ns-a", "keep", "1.0", "1.0"), ("ns-b", "remove", "1.0", "1.0")]
    assert sorted(p.name for p in (env.site / "ns").glob("*.py")) == ["__init__.py", "a.py"]
    assert check_records(scan([env.site]), env.venv).missing == []
    assert env.run("import ns.a; print(ns.SHARED, ns.a.A)") == "True 1\n"


@pytest.mark.parametrize("linked", [True, False], ids=["from-the-cache", "pypa-installer"])
@pytest.mark.parametrize("ships_again", [False, True], ids=["dropped", "shipped-again"])
def test_upgrading_one_of_two_distributions_that_ship_a_file_keeps_it_for_the_other(
    env: Env, wheelhouse: Path, local_index: LocalIndex, *, linked: bool, ships_again: bool
) -> None:
    # ns-b stays and still needs the namespace's __init__.py and the script it shares with ns-a: an ns-a 2.0
    # that no longer ships them must not take them along, and one that ships them again replaces them
    shared = {"ns/__init__.py": "SHARED = True\n"}
    old = make_wheel(
        wheelhouse, "ns-a", "1.0", modules={**shared, "ns/a.py": "A = 1\n"}, console_scripts={"tool": "ns.a:main"}
    )
    new = make_wheel(
        wheelhouse,
        "ns-a",
        "2.0",
        modules={**(shared if ships_again else {}), "ns/a.py": "A = 2\n"},
        console_scripts={"tool": "ns.a:main"} if ships_again else None,
    )
    other = make_wheel(
        wheelhouse,
        "ns-b",
        "1.0",
        modules={**shared, "ns/b.py": "def main():\n    pass\n"},
        console_scripts={"tool": "ns.b:main"},
    )
    installer = None if linked else WheelInstaller(env.target)
    _lock(env, local_index, [old, other])
    env.sync(installer=installer)
    _lock(env, local_index, [new, other])
    steps = [("ns-a", "upgrade", "2.0", "1.0"), ("ns-b", "keep", "1.0", "1.0")]
    assert _steps(env.sync(installer=installer).plan) == steps
    assert (env.venv / "bin" / "tool").is_file()
    assert check_records(scan([env.site]), env.venv).missing == []
    assert env.run("import ns.a; print(ns.SHARED, ns.a.A)") == "True 2\n"


def test_a_project_reinstalled_is_planned_by_pypa_installer_once(
    env: Env, tmp_path: Path, mocker: MockerFixture
) -> None:
    # the tox loop (edit, run): the project's wheel is built again and reinstalled. The journal notes the paths it
    # writes and the check before the uninstalls (_check_placeable) asks for them too: one dry run of
    # pypa/installer serves both (each is a few ms a small project, 22 ms one of 300 files)
    write_pylock(env.lock, [])
    for text in ("X = 1\n", "X = 2\n"):
        wheel = make_wheel(tmp_path / text[-2], "proj", "1.0", modules={"proj/__init__.py": text})
        runs = mocker.spy(WheelInstaller, "_run")
        sync(
            SyncSpec(venv=env.venv, lock_path=env.lock, project=(LocalWheel(path=wheel),)), env.target, cache=env.cache
        )
        assert runs.call_count == 2  # the dry run, then the install
        mocker.stop(runs)
    assert env.run("import proj; print(proj.X)") == "2\n"
