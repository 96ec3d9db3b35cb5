"""``venvsync sync`` and ``venvsync verify``: the engine without tox, as a Docker build stage uses it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from _support.lines import first_line
from _support.no_op import NO_OP_UNLOADED
from _support.order import watch_query_and_lock
from _support.project import write_project
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.pythons import installed_python
from _support.wheels import make_wheel
from tox_venvsync import _bytecode, _verify
from tox_venvsync._apply import TEMPORARY_SUFFIX
from tox_venvsync._build import Builder
from tox_venvsync._cache import Cache, env_lock
from tox_venvsync._cli import main
from tox_venvsync._entry import INTERRUPTED
from tox_venvsync._errors import BadInputError, file_system_error
from tox_venvsync._installed import dist_info_names
from tox_venvsync._journal import Journal
from tox_venvsync._location import CREATING
from tox_venvsync._state import State
from tox_venvsync._target import TargetMemo

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_mock import MockerFixture
    from tox.pytest import ToxProjectCreator

    from _support.disks import SmallDisks
    from _support.index import LocalIndex
    from tox_venvsync._target import Target

pytestmark = pytest.mark.slow


@pytest.fixture
def lock(tmp_path: Path, local_index: LocalIndex, cache_dir: Path) -> Path:  # noqa: ARG001
    entries = []
    for name, version in (("alpha", "1.0"), ("beta", "2.0")):
        wheel = make_wheel(local_index.directory, name, version)
        entries.append(package_entry(name, version, [wheel_entry(wheel, url=local_index.file_url(wheel.name))]))
    return write_pylock(tmp_path / "project" / "pylock.toml", entries)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tree(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(path)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))}


def sync_args(lock: Path, venv: Path, python: Path, *more: str) -> list[str]:
    return ["sync", "--lock", str(lock), "--venv", str(venv), "--python", str(python), *more]


def test_sync_creates_then_does_nothing(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "opt" / "deep" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, err) == (0, "")
    assert out == f"{venv}: created, synced 2 packages: 2 installed\n"
    site = venv / "lib" / "python3.12" / "site-packages"
    assert dist_info_names([site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    before = tree(site)
    code, out, _ = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (0, f"{venv}: adopted, in sync, nothing to do\n")
    assert tree(site) == before


def test_a_venv_path_with_dot_dot_after_a_linked_directory_is_the_one_the_system_finds(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --venv link/../venv where link -> real/deep: the system opens real/venv, and so must every step of the sync
    # (checking it by its text, tmp/venv, and changing real/venv changed two venvs and broke both); found by QA
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep")
    textual, real = tmp_path / "venv", tmp_path / "real" / "venv"
    assert run(capsys, *sync_args(lock, textual, python312))[0] == 0
    before = tree(textual)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, *sync_args(lock, tmp_path / "link" / ".." / "venv", python312))
    assert (code, out) == (0, f"{real}: created, synced 2 packages: 2 installed\n")
    assert dist_info_names([real / "lib" / "python3.12" / "site-packages"]) == [
        "alpha-1.0.dist-info",
        "beta-2.0.dist-info",
    ]
    assert tree(textual) == before  # the other venv is not touched
    code, out, _ = run(capsys, "verify", "--venv", "link/../venv", "--lock", str(lock))
    assert (code, out) == (0, f"{real}: every file matches its RECORD and the lock\n")


def test_a_first_sync_reads_the_lock_once_while_the_interpreter_is_asked(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], mocker: MockerFixture
) -> None:
    # an empty cache: the interpreter's facts come from a child process, and the lock is read meanwhile
    events = watch_query_and_lock(mocker)
    code, out, _ = run(capsys, *sync_args(lock, tmp_path / "venv", python312))
    assert (code, out) == (0, f"{tmp_path / 'venv'}: created, synced 2 packages: 2 installed\n")
    assert events == ["ask", "read", "answered"]


#: the command line in a process of its own, printing its exit code and every module it loaded
_LOADED = """
import sys
from tox_venvsync._cli import main
from tox_venvsync._errors import file_system_error
code = main(sys.argv[1:])
print(code, " ".join(sorted(sys.modules)))
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", _LOADED, *args]


def _loaded_by(done: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules the command line loaded, less those this Python loads at start-up (a ``.pth`` may add some)."""
    bare = [sys.executable, "-c", "import sys; print(*sys.modules)"]
    start = subprocess.run(bare, capture_output=True, text=True, check=True)
    return set(done.stdout.splitlines()[-1].split()[1:]) - set(start.stdout.split())


def test_a_sync_that_finds_the_venv_in_sync_loads_no_lock_packaging_or_compiler(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # each of these is milliseconds of every run's start-up (filelock alone ~25 ms); an env in sync needs none
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    done = subprocess.run(_cli(*sync_args(lock, venv, python312)), capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"{venv}: adopted, in sync, nothing to do\n")
    assert done.stdout.splitlines()[-1].startswith("0 ")  # the exit code
    modules = _loaded_by(done)
    assert "tox_venvsync._sync" in modules
    for name in ("filelock", "packaging.utils", "packaging.tags", "tempfile", "shutil", "tox_venvsync._bytecode"):
        assert name not in modules
    for name in (*NO_OP_UNLOADED, "_verify"):
        assert f"tox_venvsync.{name}" not in modules


def test_installing_from_the_caches_unpacked_trees_loads_no_wheel_metadata_parser(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the trees were unpacked by the first sync: linking them again reads no WHEEL file (email.parser: ~14 ms); the
    # lock is one for every Python it names, as uv writes it (a lock of one Python has its METADATA checked whole)
    lock.write_text(f'requires-python = ">=3.9"\n{lock.read_text()}', encoding="utf-8")
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    shutil.rmtree(venv / "lib" / "python3.12" / "site-packages" / "beta-2.0.dist-info")  # beta goes in again
    done = subprocess.run(_cli(*sync_args(lock, venv, python312)), capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"{venv}: adopted, synced 2 packages: 1 installed\n")
    modules = _loaded_by(done)
    assert "tox_venvsync._apply" in modules
    assert "email.parser" not in modules
    assert "configparser" not in modules  # for a wheel's entry_points.txt, read when it is unpacked (2-3 ms)


def test_a_sync_without_a_project_wheel_loads_no_requirement_parser(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command line installs no project: no project's requirements are held against the lock, and importing
    # packaging's requirement parser for that cost a removal or a bump 12-17 ms of its start-up (found by QA)
    lock.write_text(f'requires-python = ">=3.9"\n{lock.read_text()}', encoding="utf-8")  # no whole-lock check
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    shutil.rmtree(venv / "lib" / "python3.12" / "site-packages" / "beta-2.0.dist-info")
    done = subprocess.run(_cli(*sync_args(lock, venv, python312)), capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"{venv}: adopted, synced 2 packages: 1 installed\n")
    modules = _loaded_by(done)
    assert "tox_venvsync._plan" in modules
    assert "tox_venvsync._complete" not in modules
    assert "packaging.requirements" not in modules


def test_a_sync_builds_its_plans_json_document_only_for_json(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], mocker: MockerFixture
) -> None:
    # a row per package, thousands in a big venv (10 ms at 2,000 packages), for a line that does not show it
    from tox_venvsync._plan import Plan  # noqa: PLC0415  # the class whose method is spied on

    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    shutil.rmtree(site / "beta-2.0.dist-info")
    as_json = mocker.spy(Plan, "as_json")
    assert run(capsys, *sync_args(lock, venv, python312))[:2] == (
        0,
        f"{venv}: adopted, synced 2 packages: 1 installed\n",
    )
    assert as_json.call_count == 0
    shutil.rmtree(site / "beta-2.0.dist-info")
    code, out, _ = run(capsys, *sync_args(lock, venv, python312, "--json"))
    assert (code, [row["name"] for row in json.loads(out)["install"]], as_json.call_count) == (0, ["beta"], 1)


def test_a_venv_in_sync_is_reported_while_another_sync_holds_its_lock(
    lock: Path, tmp_path: Path, python312: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the in-sync check reads only, so a build step is not held up by a sync of the same venv that changes
    # nothing yet (its state is cleared before its first change: the next test)
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    with env_lock(Cache(cache_dir), venv):
        done = subprocess.run(
            _cli(*sync_args(lock, venv, python312)), capture_output=True, text=True, check=True, timeout=120
        )
    assert done.stdout.startswith(f"{venv}: adopted, in sync, nothing to do\n")


WAITING = "venvsync: another venvsync or tox run is working on {}; waiting for it to finish\n"


def test_a_venv_whose_sync_is_under_way_waits_for_the_lock_then_is_checked_again(
    lock: Path, tmp_path: Path, python312: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    with env_lock(Cache(cache_dir), venv):
        State(venv).clear()  # what a sync does before it changes the first file
        waiting = subprocess.Popen(
            _cli(*sync_args(lock, venv, python312)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # held by the lock, not answered from a venv that may be half changed: it says so before it waits (a 2 s
        # wait from the process's start could run out on a loaded machine before it had even reached the lock)
        assert first_line(waiting.stderr) == WAITING.format(venv)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=1)  # and waits: timed from its finding the lock held, not from its start
    out, _ = waiting.communicate(timeout=120)
    assert out.startswith(f"{venv}: adopted, in sync, nothing to do\n")
    assert (venv / ".venvsync" / "state.json").is_file()  # written again by the sync that waited


def test_verify_waits_for_a_sync_under_way_instead_of_calling_it_interrupted(
    lock: Path, tmp_path: Path, python312: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # verify read the venv while another process synced it and said "interrupted: alpha (a sync did not finish;
    # run it again)", exit 1, for a sync that was running (found by QA: verify beside a sync in another terminal)
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    with env_lock(Cache(cache_dir), venv):
        State(venv).clear()  # what a sync does before it changes the first file, then it writes its journal
        Journal(venv).start(["alpha"], {}, {})
        verify = [sys.executable, "-m", "tox_venvsync", "verify", "--venv", str(venv), "--lock", str(lock)]
        checking = subprocess.Popen(verify, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert first_line(checking.stderr) == WAITING.format(venv)  # said before it waits: the sync is under way
        Journal(venv).finish()  # the sync finishes, then lets go of the lock
    out, err = checking.communicate(timeout=60)
    assert (checking.returncode, out, err) == (0, f"{venv}: every file matches its RECORD and the lock\n", "")


def test_a_second_sync_says_it_waits_for_the_first(
    lock: Path, tmp_path: Path, python312: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    with env_lock(Cache(cache_dir), venv):
        State(venv).clear()
        second = subprocess.Popen(
            _cli(*sync_args(lock, venv, python312)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert first_line(second.stderr) == WAITING.format(venv)
    out, _ = second.communicate(timeout=60)
    assert out.startswith(f"{venv}: adopted, in sync, nothing to do\n")


def test_verify_of_a_venv_no_sync_of_this_cache_touched_makes_no_file_in_the_cache(
    lock: Path, tmp_path: Path, python312: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    shutil.rmtree(cache_dir / "locks")
    assert run(capsys, "verify", "--venv", str(venv))[0] == 0
    assert not (cache_dir / "locks").exists()


def test_dry_run_prints_the_plan_and_changes_nothing(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    extra = make_wheel(tmp_path, "gamma", "0.3")
    write_pylock(
        lock,
        [
            package_entry("alpha", "1.0", [wheel_entry(make_wheel(tmp_path, "alpha", "1.0"))]),
            package_entry("gamma", "0.3", [wheel_entry(extra)]),
        ],
    )
    before = tree(venv)
    shutil.rmtree(cache_dir / "tmp")  # what the first sync left there (its own process's directory)
    cache_before = tree(cache_dir)
    code, out, _ = run(capsys, *sync_args(lock, venv, python312, "--dry-run", "--json"))
    assert code == 0
    assert json.loads(out) == {
        "install": [{"name": "gamma", "version": "0.3", "action": "install", "from": None}],
        "remove": [{"name": "beta", "version": "2.0", "action": "remove", "from": "2.0"}],
        "keep": [{"name": "alpha", "version": "1.0", "action": "keep", "from": "1.0"}],
    }
    assert tree(venv) == before
    assert tree(cache_dir) == cache_before  # not even the cache's work directory


@pytest.mark.parametrize("inside", ["", "cache"])
def test_a_venv_at_or_above_the_cache_is_refused_before_anything_is_written(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    # the sync would write the cache's files into the venv and then refuse it for holding them; found by QA
    venv = tmp_path / "L5"
    cache = venv / inside if inside else venv
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    code, _, err = run(capsys, *sync_args(lock, venv, Path(sys.executable)))
    expected = (
        f"venvsync: error: refusing to use {venv} as a virtual environment: it holds tox-venvsync's cache "
        f"(TOX_VENVSYNC_CACHE_DIR={cache}); choose a venv outside the cache\n"
    )
    assert (code, err) == (2, expected)
    assert not venv.exists()


def test_a_venv_copied_to_another_path_is_in_sync_with_a_warning_until_made_again_there(
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    local_index: LocalIndex,
    cache_dir: Path,  # noqa: ARG001
) -> None:
    # found by QA: a venv restored (cp -a, a CI cache) at another path was found in sync, silently, while its console
    # scripts started the old path's python (verify reports them "moved"); uv sync says nothing either
    wheel = make_wheel(local_index.directory, "alpha", "1.0", console_scripts={"alpha-cli": "alpha:main"})
    entry = package_entry("alpha", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    old, new = tmp_path / "old", tmp_path / "new"
    assert run(capsys, *sync_args(lock, old, python312)) == (0, f"{old}: created, synced 1 package: 1 installed\n", "")
    assert run(capsys, *sync_args(lock, old, python312))[2] == ""
    subprocess.run(["cp", "-a", str(old), str(new)], check=True)  # noqa: S607  # a copy that keeps every file
    code, out, err = run(capsys, *sync_args(lock, new, python312))
    assert (code, out) == (0, f"{new}: adopted, in sync, nothing to do\n")
    assert err == (
        f"venvsync: warning: {new} was made at {old} and copied or moved here since: its scripts still start "
        f"{old}/bin/python and its activate sets that path, which a sync does not rewrite (nor does uv's); remove it "
        "and sync again to make it here\n"
    )
    shutil.rmtree(new)
    assert run(capsys, *sync_args(lock, new, python312)) == (0, f"{new}: created, synced 1 package: 1 installed\n", "")
    assert run(capsys, *sync_args(lock, new, python312))[2] == ""


@pytest.mark.parametrize("command", ["select", "sync", "sync --dry-run"])
def test_a_relative_lock_is_named_as_typed_by_every_command(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # found by QA: select and verify named --lock sub/deps.lock as typed, sync (and its dry run) by its absolute path
    # (verify's naming is the dry run's: it plans with the same engine)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deps.lock").write_text("")
    venv = ["--venv", str(tmp_path / "venv")] if command != "select" else []
    args = [*command.split(), "--lock", "sub/deps.lock", *venv, "--python", str(python312)]
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: cannot tell the format of the lockfile sub/deps.lock from its name; pass --lock-format with "
        "one of pdm, poetry, pylock, requirements, uv\n"
    )
    assert not (tmp_path / "venv").exists()


def test_a_lock_named_relative_or_absolute_is_one_lock_to_the_state(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the lock is named as typed; the fingerprint takes it absolute, so the venv synced with one spelling is in sync
    # with the other
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    state = (venv / ".venvsync" / "state.json").read_bytes()
    monkeypatch.chdir(lock.parent)
    code, out, err = run(capsys, *sync_args(Path(lock.name), venv, python312))
    assert (code, out, err) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")
    assert (venv / ".venvsync" / "state.json").read_bytes() == state


def test_a_venv_whose_venvsync_is_a_link_out_is_refused_and_nothing_is_written_through_it(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: a sync removed the state.json the link led to, wrote its own there and recorded its journal there
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "state.json").write_text("theirs")
    shutil.rmtree(venv / ".venvsync")
    (venv / ".venvsync").symlink_to(elsewhere)
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")
    assert err.startswith(f"venvsync: error: refusing to use {venv} as a virtual environment: its .venvsync, ")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["state.json"]
    assert (elsewhere / "state.json").read_text() == "theirs"


@pytest.mark.parametrize(
    ("given", "instead"),
    [
        ("~/venvs/x", "the home directory's path instead of ~"),
        ("~root/x", "the home directory's path instead of ~root"),
        ("$HOME/x", "the value of HOME instead of $HOME"),
        ("${VENVS}", "the value of VENVS instead of ${VENVS}"),
    ],
)
def test_a_venv_starting_with_an_unexpanded_tilde_or_variable_is_refused_before_anything_is_made(
    lock: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given: str, instead: str
) -> None:
    # quoted, after --venv= or in a Dockerfile's exec form no shell expands ~: the venv went to ./~/venvs/x, one
    # `rm -rf ~` from the home directory (as env_location's ~ in tox); found by a left-alone note
    monkeypatch.chdir(lock.parent)
    first = given.split("/", 1)[0]
    start = "~" if first.startswith("~") else first
    expected = (
        f"venvsync: error: --venv {given!r} starts with {start}, which nothing expanded (a shell does not in quotes "
        f"or after =), so it names a directory {first} in the current directory; write {instead}\n"
    )
    for command in ("sync", "verify"):
        code, _, err = run(capsys, command, "--lock", str(lock), "--venv", given)
        assert (command, code, err) == (command, 2, expected)
    assert not (lock.parent / first).exists()


def test_a_venv_with_a_tilde_or_dollar_past_its_first_part_is_used(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "$HOME" / "~"  # absolute: real directories may be named so
    code, out, _ = run(capsys, *sync_args(lock, venv, Path(sys.executable)))
    assert (code, out) == (0, f"{venv}: created, synced 2 packages: 2 installed\n")


@pytest.mark.parametrize("inside", ["", "tox-venvsync"])
def test_a_venv_at_or_above_the_default_cache_is_refused_before_anything_is_written(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    # without TOX_VENVSYNC_CACHE_DIR the cache is the user cache directory: a venv there got the cache's lock file
    # written into it, and was then refused for "holding files"; found by the whole-codebase health review
    monkeypatch.delenv("TOX_VENVSYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = tmp_path / "xdg" / "tox-venvsync"
    venv = tmp_path / "xdg" / inside  # the directory that holds the cache, or the cache itself
    code, _, err = run(capsys, *sync_args(lock, venv, Path(sys.executable)))
    expected = (
        f"venvsync: error: refusing to use {venv} as a virtual environment: it holds tox-venvsync's cache "
        f"({cache}); choose a venv outside the cache\n"
    )
    assert (code, err) == (2, expected)
    assert not venv.exists()


def test_verify_names_the_interpreter_a_venv_lost(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a runtime image on another base image: pyvenv.cfg is there, bin/python points at a Python that is not
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    link = venv / "bin" / "python3.12"
    link.unlink()
    link.symlink_to(tmp_path / "gone" / "python3.12")
    code, out, err = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {venv}'s interpreter {tmp_path / 'gone' / 'python3.12'} does not exist (moved or "
        "removed); run sync to make the venv again\n"
    )


def test_a_dry_run_with_another_python_says_the_venv_would_be_recreated(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sync empties a venv of another Python and installs everything again: so does its dry run's plan
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    before = tree(venv)
    python310 = shutil.which("python3.10")
    assert python310 is not None
    code, out, err = run(capsys, *sync_args(lock, venv, Path(python310), "--dry-run"))
    assert (code, err) == (0, "")
    first, *plan = out.splitlines()
    assert first.startswith(f"recreate: {venv} is a venv of Python 3.12.")
    assert ", --python is 3.10." in first
    assert plan == ["install: alpha 1.0", "install: beta 2.0", "keep 0 packages"]
    code, out, _ = run(capsys, *sync_args(lock, venv, Path(python310), "--dry-run", "--json"))
    assert json.loads(out)["recreate"] is True
    assert tree(venv) == before


def test_a_venv_of_another_python_is_recreated_naming_the_python_it_had_and_the_one_it_gets(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: the line said "recreated" alone, where the dry run and tox name both Pythons
    found = installed_python("3.11")
    assert found is not None
    python311 = Path(found)
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python311))[0] == 0
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    why = f"it was made for Python {_version(python311)}, --python is {_version(python312)}"
    assert (code, out, err) == (0, f"{venv}: recreated ({why}), synced 2 packages: 2 installed\n", "")
    code, out, _ = run(capsys, *sync_args(lock, venv, python311, "--json"))
    assert (code, json.loads(out)["made"]) == (0, "recreated")  # the document's word stays one of three


def _version(python: Path) -> str:
    query = [str(python), "-c", "import platform; print(platform.python_version())"]
    return str(subprocess.run(query, capture_output=True, text=True, check=True).stdout).strip()


def test_a_sync_without_python_keeps_the_venvs_own(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a venv of 3.10 synced again without --python was emptied and made again with the Python running venvsync,
    # every package installed again, where uv sync keeps the Python of the environment it finds; found by QA
    python310 = shutil.which("python3.10")
    assert python310 is not None
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, Path(python310)))[0] == 0
    before = tree(venv)
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv), "--dry-run")
    assert (code, out, err) == (0, "keep 2 packages\n", "")
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv))
    assert (code, out, err) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")
    assert tree(venv) == before
    (venv / "bin" / "python").unlink()  # a venv whose interpreter is gone is made again, with this Python
    (venv / "bin" / "python").symlink_to(tmp_path / "gone")
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv))
    why = (
        f"its interpreter {venv}/bin/python is missing or a link to nothing; made with {sys.executable}, "
        f"Python {'.'.join(map(str, sys.version_info[:3]))}"
    )
    assert (code, out, err) == (0, f"{venv}: recreated ({why}), synced 2 packages: 2 installed\n", "")
    assert f"version = {sys.version_info.major}.{sys.version_info.minor}." in (venv / "pyvenv.cfg").read_text()
    (venv / "bin" / "python").unlink()  # one that does not work is not taken for another: the error says what to do
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")
    (venv / "bin" / "python").chmod(0o755)
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv))
    assert (code, out) == (2, "")
    assert err.startswith(f"venvsync: error: {venv}'s own interpreter does not work (the interpreter ")
    assert err.endswith("; remove the venv and sync again, with --python naming the Python to make it with\n")
    # the advice works: a --python of the venv's own version adopted it with its broken interpreter ("in sync")
    shutil.rmtree(venv)
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv), "--python", sys.executable)
    assert (code, out, err) == (0, f"{venv}: created, synced 2 packages: 2 installed\n", "")
    subprocess.run([venv / "bin" / "python", "-c", ""], check=True)


def test_a_dry_run_without_python_gives_the_syncs_reason_for_making_the_venv_again(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA (a venv whose base Python was removed, then upgraded in place): without --python the dry run's
    # first line named --python anyway, and for a venv whose interpreter is gone gave "a venv of Python 3.10.13,
    # --python is 3.12.1" where the sync says the interpreter is missing and names the Python it makes the venv with
    python310, python311 = shutil.which("python3.10"), installed_python("3.11")
    assert python310 is not None
    assert python311 is not None
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, Path(python310)))[0] == 0
    sync = ["sync", "--lock", str(lock), "--venv", str(venv)]
    python = venv / "bin" / "python"
    python.unlink()  # its base Python upgraded in place: bin/python runs 3.11, pyvenv.cfg says 3.10
    python.symlink_to(python311)
    code, out, err = run(capsys, *sync, "--dry-run")
    had, has = _version(Path(python310)), _version(Path(python311))
    assert (code, out.splitlines()[0], err) == (
        0,
        f"recreate: {venv} is a venv of Python {had}, its bin/python is {has}",
        "",
    )
    python.unlink()  # its base Python removed
    python.symlink_to(tmp_path / "gone")
    code, out, err = run(capsys, *sync, "--dry-run")
    why = (
        f"its interpreter {python} is missing or a link to nothing; made with {sys.executable}, "
        f"Python {'.'.join(map(str, sys.version_info[:3]))}"
    )
    assert (code, out.splitlines()[0], err) == (0, f"recreate: {venv}: {why}", "")
    code, out, err = run(capsys, *sync)
    assert (code, out, err) == (0, f"{venv}: recreated ({why}), synced 2 packages: 2 installed\n", "")


def test_a_dry_run_for_a_venv_whose_interpreter_leads_nowhere_says_so(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").symlink_to(tmp_path / "gone")
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"recreate: {venv}: its interpreter {venv}/bin/python is missing or a link to nothing"


@pytest.mark.parametrize("flag", [["--extra", "x"], ["--all-groups"], ["--no-dev"], ["--package", "p"]])
def test_verify_without_a_lock_refuses_what_chooses_from_one(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    code, out, err = run(capsys, "verify", "--venv", str(venv), *flag)
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {flag[0]} chooses from a lock, and verify without --lock compares with none; "
        "pass --lock too\n"
    )


@pytest.mark.slow
def test_a_dry_run_for_a_missing_venv_builds_a_source_tree_with_the_given_python(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    write_project(tmp_path / "project" / "helper", "helper", "0.1", {"helper/__init__.py": "X = 1\n"})
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [{"name": "helper", "directory": {"path": "helper"}}])
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, out, err) == (0, "install: helper 0.1\nkeep 0 packages\n", "")
    assert not venv.exists()
    assert not (tmp_path / "opt").exists()
    assert not cache_dir.exists() or not list(cache_dir.rglob("*.whl"))  # built in the system's temp, not kept


@pytest.mark.slow
@pytest.mark.usefixtures("cache_dir")
def test_a_failed_builds_output_comes_before_its_sentence(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sentence keeps one line of what the backend said; what it printed before (a compiler's error) was shown
    # by no option of venvsync, where pip and uv print a failed build's output, and tox -v shows it (found by QA)
    tree = write_project(tmp_path / "project" / "helper", "helper", "0.1", {"helper/__init__.py": "X = 1\n"})
    backend = tree / "_build" / "backend.py"
    compiler = "    print('gcc: error: _speedups.c: no such file')\n"
    failing = f"\ndef build_wheel(*args, **kwargs):\n{compiler}    raise SystemExit(1)\n"
    backend.write_text(backend.read_text() + failing)
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [{"name": "helper", "directory": {"path": "helper"}}])
    venv = tmp_path / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (1, "")
    shown = err.partition("venvsync: the output of the step that failed:\n")[2]
    printed, _, sentence = shown.partition("venvsync: error:")
    assert "gcc: error: _speedups.c: no such file" in printed, err
    assert sentence.startswith(f" cannot build helper from {tree}: "), err
    assert err.count("venvsync: error:") == 1
    assert err.startswith("venvsync: the output of the step that failed:\n")
    assert not venv.exists()


def test_inexact_keeps_what_the_lock_does_not_name(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    alpha_only = make_wheel(tmp_path, "alpha", "1.0")
    write_pylock(lock, [package_entry("alpha", "1.0", [wheel_entry(alpha_only)])])
    assert run(capsys, *sync_args(lock, venv, python312, "--inexact"))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    assert "beta-2.0.dist-info" in dist_info_names([site])
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert dist_info_names([site]) == ["alpha-1.0.dist-info"]


def test_verify_finds_edited_and_deleted_files(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert run(capsys, "verify", "--venv", str(venv), "--lock", str(lock)) == (
        0,
        f"{venv}: every file matches its RECORD and the lock\n",
        "",
    )
    site = venv / "lib" / "python3.12" / "site-packages"
    (site / "alpha" / "__init__.py").write_text("edited = True\n")
    (site / "beta" / "__init__.py").unlink()
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--json")
    assert code == 1
    assert json.loads(out) == {
        "modified": ["lib/python3.12/site-packages/alpha/__init__.py"],
        "missing": ["lib/python3.12/site-packages/beta/__init__.py"],
        "unreadable": [],
        "unowned": [],
        "moved": [],
        "interrupted": [],
        "created": True,
        "differs": None,
    }


def synced_gamma(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], local_index: LocalIndex, names: list[str]
) -> tuple[Path, Path]:
    """A venv synced with gamma 1.0, one module ``gamma/<name>.py`` (``SAME = 1``) each; the venv and its package."""
    wheel = make_wheel(local_index.directory, "gamma", "1.0", modules={f"gamma/{n}.py": "SAME = 1\n" for n in names})
    lock = write_pylock(
        tmp_path / "project" / "pylock.toml",
        [package_entry("gamma", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])],
    )
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    return venv, venv / "lib" / "python3.12" / "site-packages" / "gamma"


def replace(path: Path, make: Callable[[Path], object]) -> None:
    """Put something else at ``path`` (unlinked first: a synced file may be a hard link into the cache)."""
    path.unlink()
    make(path)


def test_verify_reports_a_record_row_it_cannot_check(
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    local_index: LocalIndex,
    cache_dir: Path,  # noqa: ARG001
) -> None:
    venv, package = synced_gamma(tmp_path, python312, capsys, local_index, ["fine", "upper", "bare", "none", "shake"])
    record = package.parent / "gamma-1.0.dist-info" / "RECORD"
    fields = {"upper": "SHA256=abc", "bare": "abc", "none": "nohash=", "shake": "shake_128=abc"}
    damaged = {f"gamma/{name}.py": field for name, field in fields.items()}
    rows = [
        f"{path},{damaged[path]},9" if (path := row.partition(",")[0]) in damaged else row
        for row in record.read_text().splitlines()
    ]
    replace(record, lambda path: path.write_text("\n".join(rows) + "\n"))
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    shown = "lib/python3.12/site-packages/gamma-1.0.dist-info/RECORD: the row of lib/python3.12/site-packages/gamma"
    unknown = "is not a hash algorithm hashlib has with a fixed-size digest (such as sha256)"
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"unreadable: {shown}/bare.py: hash 'abc' is not <algorithm>=<digest>",
        f"unreadable: {shown}/none.py: hash 'nohash=' is not <algorithm>=<digest>",
        f"unreadable: {shown}/shake.py: 'shake_128' {unknown}",
        f"unreadable: {shown}/upper.py: 'SHA256' {unknown}",
    ]
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--json")
    assert (code, len(json.loads(out)["unreadable"]), json.loads(out)["modified"]) == (1, 4, [])
    # rows whose paths no file has: a NUL byte, an escape sequence, a name longer than any file system's
    long = "x" * 300
    odd = ["gamma/nul\0.py", "gamma/\x1b[31mred.py", f"gamma/{long}.py"]
    replace(record, lambda path: path.write_text("".join(f"{row},sha256=abc,9\n" for row in odd)))
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "missing: lib/python3.12/site-packages/gamma/\\x1b[31mred.py",  # escaped, never sent to the terminal
        f"unreadable: {shown}/nul\\x00.py: its path holds a NUL byte, which no file's path can",
        f"unreadable: lib/python3.12/site-packages/gamma/{long}.py: File name too long",
        *(f"unowned: lib/python3.12/site-packages/gamma/{n}.py" for n in ("bare", "fine", "none", "shake", "upper")),
    ]
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--json")
    assert (code, json.loads(out)["missing"], json.loads(out)["modified"]) == (
        1,
        ["lib/python3.12/site-packages/gamma/\x1b[31mred.py"],  # as it is: JSON escapes it
        [],
    )
    replace(record, lambda path: path.write_bytes(b"\xffgamma/fine.py,sha256=abc,9\n"))  # not UTF-8
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        (
            "unreadable: lib/python3.12/site-packages/gamma-1.0.dist-info/RECORD: it is not UTF-8 CSV ('utf-8' codec "
            "can't decode byte 0xff in position 0: invalid start byte)"
        ),
        *(
            f"unowned: lib/python3.12/site-packages/gamma/{name}.py"
            for name in ("bare", "fine", "none", "shake", "upper")
        ),
    ]


@pytest.mark.usefixtures("cache_dir")
def test_verify_reports_a_file_it_may_not_read_as_unreadable_not_modified(
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    local_index: LocalIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    venv, _ = synced_gamma(tmp_path, python312, capsys, local_index, ["secret", "fine"])
    real_digest = _verify.record_digest

    def refusing(path: str, algorithm: str) -> str | None:
        if path.endswith("secret.py"):  # what a file of another user, mode 600, gives (the tests run as root)
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_digest(path, algorithm)

    monkeypatch.setattr(_verify, "record_digest", refusing)
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    assert (code, err) == (1, "")
    assert out.splitlines() == ["unreadable: lib/python3.12/site-packages/gamma/secret.py: Permission denied"]


def test_verify_reports_what_is_no_regular_file_as_modified_without_reading_it(
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    local_index: LocalIndex,
    cache_dir: Path,  # noqa: ARG001
) -> None:
    names = ["loop", "fifo", "zero", "directory", "outside", "inside", "fine"]
    venv, package = synced_gamma(tmp_path, python312, capsys, local_index, names)
    (tmp_path / "outside.py").write_text("SAME = 1\n")  # the same bytes, but not the venv's
    replace(package / "loop.py", lambda path: path.symlink_to(path.name))
    replace(package / "fifo.py", os.mkfifo)  # opened, it would wait for a writer forever
    replace(package / "zero.py", lambda path: path.symlink_to("/dev/zero"))  # read, it would never end
    replace(package / "directory.py", lambda path: path.mkdir())
    replace(package / "outside.py", lambda path: path.symlink_to(tmp_path / "outside.py"))
    replace(package / "inside.py", lambda path: path.symlink_to("fine.py"))  # leads to the same bytes in the venv
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"modified: lib/python3.12/site-packages/gamma/{name}.py"
        for name in ("directory", "fifo", "loop", "outside", "zero")
    ]
    (package / "zero.py").unlink()  # nothing at the path at all: missing
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--json")
    assert (code, json.loads(out)["modified"], json.loads(out)["missing"]) == (
        1,
        [f"lib/python3.12/site-packages/gamma/{name}.py" for name in ("directory", "fifo", "loop", "outside")],
        ["lib/python3.12/site-packages/gamma/zero.py"],
    )


def test_verify_lists_files_no_distribution_owns(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    (site / "alpha" / "leftover.py").write_text("X = 1\n")
    (site / "alpha" / "__pycache__").mkdir(exist_ok=True)
    (site / "alpha" / "__pycache__" / "leftover.cpython-312.pyc").write_bytes(b"bytecode is not counted")
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert (code, out) == (1, "unowned: lib/python3.12/site-packages/alpha/leftover.py\n")


def test_verify_reads_each_record_once(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], mocker: MockerFixture
) -> None:
    # its three checks (hashes, unowned files, moved scripts) each read every RECORD: 6,000 reads and CSV parses
    # for a venv of 2,000 packages (4.2 s of CPU), where one each serves all three
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    (site / "alpha" / "leftover.py").write_text("X = 1\n")
    read = mocker.spy(_verify, "_read_rows")
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert (code, out) == (1, "unowned: lib/python3.12/site-packages/alpha/leftover.py\n")
    records = [str(call.args[0]) for call in read.call_args_list]
    assert sorted(records) == sorted(str(p) for p in site.glob("*.dist-info/RECORD"))
    assert len(records) == len(dist_info_names([site])) > 1


@pytest.mark.parametrize("top", ["old", "x" * 120], ids=["short path", "path too long for a shebang"])
def test_verify_names_the_scripts_a_moved_or_copied_venv_starts_the_old_interpreter_with(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], local_index: LocalIndex, top: str
) -> None:
    # cp -a of a venv to another path (a Docker COPY to another directory): every RECORD hash still matches, but
    # the console scripts start the old venv's python; a script that finds its python at run time is fine
    wheel = make_wheel(
        local_index.directory, "tool", "1.0", console_scripts={"tool": "tool:main", "tool-gui": "tool:gui"}
    )
    lock = write_pylock(
        tmp_path / "project" / "pylock.toml",
        [package_entry("tool", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])],
    )
    old, deep = tmp_path / top / "venv", top != "old"
    assert run(capsys, *sync_args(lock, old, python312))[0] == 0
    assert (old / "bin" / "tool").read_bytes().startswith(b"#!/bin/sh\n" if deep else f"#!{old}/bin/python".encode())
    assert run(capsys, "verify", "--venv", str(old), "--lock", str(lock))[:2] == (
        0,
        f"{old}: every file matches its RECORD and the lock\n",
    )
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    relocatable = new / "bin" / "tool-gui"  # as uv's --relocatable writes it: found next to the script
    relocatable.unlink()
    relocatable.write_text(
        "#!/bin/sh\n" + "'''exec' " + '"$(dirname -- "$(realpath -- "$0")")"/' + "'python' " + '"$0" "$@"\n' + "' '''\n"
    )
    code, out, _ = run(capsys, "verify", "--venv", str(new))
    assert code == 1
    assert f"moved: bin/tool starts {old}/bin/python, not this venv's (moved or copied; recreate it)\n" in out
    assert "tool-gui starts" not in out
    code, out, _ = run(capsys, "verify", "--venv", str(new), "--json")
    assert (code, json.loads(out)["moved"]) == (1, ["bin/tool"])


@pytest.mark.parametrize("how", ["copied", "moved"])
def test_verify_names_the_data_scripts_a_moved_venv_starts_the_old_interpreter_with(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], local_index: LocalIndex, how: str
) -> None:
    # found by QA: a .data/scripts file's #!python line is made the venv's interpreter too (awscli's bin/aws,
    # docutils' rst2html.py), so it starts the old one after a move as a console script does, but only the
    # console scripts were reported; a line the wheel wrote itself names a python of the system and is fine
    data = {
        "scripts/tool.py": b"#!python\nprint('tool')\n",
        "scripts/env.py": b"#!/usr/bin/env python\nprint('env')\n",
        "scripts/system.py": b"#!/usr/bin/python3\nprint('system')\n",
        "scripts/shell": b"#!/bin/sh\necho shell\n",
    }
    wheel = make_wheel(local_index.directory, "tool", "1.0", data=data)
    lock = write_pylock(
        tmp_path / "project" / "pylock.toml",
        [package_entry("tool", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])],
    )
    old, new = tmp_path / "old" / "venv", tmp_path / "new"
    assert run(capsys, *sync_args(lock, old, python312))[0] == 0
    assert run(capsys, "verify", "--venv", str(old))[:2] == (0, f"{old}: every file matches its RECORD\n")
    if how == "copied":
        shutil.copytree(old, new, symlinks=True)
    else:
        old.rename(new)
    code, out, _ = run(capsys, "verify", "--venv", str(new))
    assert (code, out) == (
        1,
        f"moved: bin/tool.py starts {old}/bin/python, not this venv's (moved or copied; recreate it)\n",
    )


def test_verify_reports_what_an_interrupted_sync_left(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a sync killed mid-apply: its journal names what it was changing, and a wheel cut off before its RECORD
    # cannot be checked file by file; verify without --lock must not call that venv sound
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    State(venv).clear()  # what a sync does before its first change
    (site / "beta-2.0.dist-info" / "RECORD").unlink()
    Journal(venv).start(["beta"])
    code, out, _ = run(capsys, "verify", "--venv", str(venv))
    assert code == 1
    assert out == (
        "missing: lib/python3.12/site-packages/beta-2.0.dist-info/RECORD\n"
        "unowned: lib/python3.12/site-packages/beta/__init__.py\n"  # no RECORD lists what it placed
        "interrupted: beta (a sync did not finish; run it again)\n"
    )
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert run(capsys, "verify", "--venv", str(venv))[:2] == (0, f"{venv}: every file matches its RECORD\n")
    cut = tmp_path / "cut"  # cut off before its interpreter was in place
    (cut / "bin").mkdir(parents=True)
    (cut / CREATING).parent.mkdir()
    (cut / CREATING).touch()
    assert run(capsys, "verify", "--venv", str(cut)) == (
        1,
        "interrupted: the venv's creation did not finish; run sync again\n",
        "",
    )
    (venv / CREATING).touch()  # its making cut off (by hand here: the files are all in place)
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--json")
    assert (code, json.loads(out)["created"]) == (1, False)
    code, out, _ = run(capsys, "verify", "--venv", str(venv))
    assert (code, out) == (1, "interrupted: the venv's creation did not finish; run sync again\n")


def test_verify_of_a_venv_without_an_interpreter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the document of a venv cut off before its interpreter was in place, and the sentence for a directory that is
    # no venv: both kept as they were when the checks moved from the command line to _verify
    cut = tmp_path / "cut"
    (cut / CREATING).parent.mkdir(parents=True)
    (cut / CREATING).touch()
    code, out, err = run(capsys, "verify", "--venv", str(cut), "--json")
    empty: dict[str, object] = {k: [] for k in ("modified", "missing", "unreadable", "unowned", "moved", "interrupted")}
    assert (code, out, err) == (1, json.dumps({**empty, "created": False, "differs": None}, indent=2) + "\n", "")
    plain = tmp_path / "plain"
    plain.mkdir()
    sentence = f"{plain} is not a virtual environment (no pyvenv.cfg or bin/python); pass the venv's directory"
    assert run(capsys, "verify", "--venv", str(plain), "--extra", "x") == (2, "", f"venvsync: error: {sentence}\n")


def test_verify_reports_a_package_the_lock_does_not_name(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    write_pylock(lock, [package_entry("alpha", "1.0", [wheel_entry(make_wheel(tmp_path, "alpha", "1.0"))])])
    code, out, _ = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert code == 1
    assert out == "remove: beta 2.0\n"


def test_a_wrong_hash_is_bad_input_and_leaves_no_venv(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = lock.read_text()
    digest = text.split('sha256 = "', 1)[1].split('"', 1)[0]
    lock.write_text(text.replace(digest, "0" * 64, 1))
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")  # the lock, or what serves it, is to fix: bad input
    assert err.startswith("venvsync: error: the sha256 hash of alpha from http://127.0.0.1")
    assert err.endswith(
        f"but {lock} says {'0' * 64} at packages[0].wheels[0]; nothing was installed: check the lockfile or the index "
        "that serves this file\n"
    )
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize("status", [404, 410])
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # an HTTPError's connection (see test_fetch)
def test_a_file_gone_from_the_locks_url_is_bad_input_and_leaves_no_venv(  # noqa: PLR0913, PLR0917  # fixtures, parameter
    lock: Path,
    tmp_path: Path,
    python312: Path,
    local_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    status: int,
) -> None:
    # a lock's URL the server answers "not there" (a release deleted, a URL mistyped) is the lock's to fix: exit 2, as
    # a wrong hash; it exited 1, as a server that failed
    local_index.fail_paths["/files/alpha-1.0-py3-none-any.whl"] = status
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")
    url = local_index.file_url("alpha-1.0-py3-none-any.whl")
    assert err.startswith(f"venvsync: error: cannot fetch alpha from {url}: the server answered HTTP {status} ")
    assert err.endswith("; the file is not at that URL: check the URL in the lock, or lock again\n")
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize(
    ("pinned", "reason"),
    [
        pytest.param(
            "2.0",
            "no index lists alpha==2.0; check the file's --index-url and --extra-index-url, or the configured index",
            id="release-not-listed",
        ),
        pytest.param(
            "1.0",
            "the index lists 1 file(s) of alpha==1.0, none with a hash the file's --hash allows (the "
            "index holds other files than the lock was made from, or a hash was mistyped); compile the file "
            "again",
            id="no-allowed-hash",
        ),
    ],
)
def test_a_pin_its_index_does_not_list_is_bad_input_as_a_locks_url_gone(  # noqa: PLR0913, PLR0917  # fixtures, parameters
    tmp_path: Path,
    python312: Path,
    local_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    pinned: str,
    reason: str,
) -> None:
    # the index answered and has no file the hashed pin allows: the file is to fix, as a lock URL that answers 404
    # (exit 2); it exited 1, as a server that failed (found by an earlier pass)
    make_wheel(local_index.directory, "alpha", "1.0")
    lock = tmp_path / "project" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text(f"--index-url {local_index.simple_url}\nalpha=={pinned} --hash=sha256:{'0' * 64}\n")
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: cannot fetch alpha from {local_index.simple_url}: {reason}\n"
    assert not (tmp_path / "opt").exists()


def test_a_hostile_wheel_is_bad_input_and_leaves_no_venv(
    tmp_path: Path, local_index: LocalIndex, cache_dir: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a wheel the lock pins that would write outside the venv is refused like a wrong hash: exit 2, not 1
    wheel = make_wheel(local_index.directory, "evil", "1.0", extra_entries={"../evil.py": b"x"})
    entry = package_entry("evil", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")
    # the sentence said what is wrong, not what to do: the lock pins a file that is broken (found by QA)
    assert err == (
        f"venvsync: error: cannot install evil from {wheel.name}: the entry '../evil.py' would be written outside "
        f"the venv; the file {lock} pins for it is at fault: lock again, or lock another release of evil if this one "
        "is broken (and tell its maintainers)\n"
    )
    assert not (tmp_path / "opt").exists()
    assert not (tmp_path / "evil.py").exists()
    assert cache_dir.exists()


def test_offline_with_a_warm_cache_works_and_a_cold_one_lists_every_missing_file(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, *sync_args(lock, tmp_path / "warm", python312))[0] == 0
    code, out, _ = run(capsys, *sync_args(lock, tmp_path / "again", python312, "--offline"))
    assert (code, out) == (0, f"{tmp_path / 'again'}: created, synced 2 packages: 2 installed\n")

    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(tmp_path / "cold-cache"))
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "cold", python312, "--offline"))
    assert code == 2  # bad input: the cache lacks what the sync needs
    assert err == (
        "venvsync: error: offline and 2 file(s) are not in the cache: alpha (alpha-1.0-py3-none-any.whl), "
        "beta (beta-2.0-py3-none-any.whl); run once online (or fill TOX_VENVSYNC_CACHE_DIR) first\n"
    )
    assert dist_info_names([tmp_path / "cold" / "lib" / "python3.12" / "site-packages"]) == []


def _damage_tree(cache_dir: Path, part: str) -> Path:
    """Delete ``part`` (a file or a directory) from beta's unpacked tree; the tree's root."""
    [root] = {path.parent for path in (cache_dir / "unpacked").rglob("beta-2.0.dist-info")}
    if (root / part).is_dir():
        shutil.rmtree(root / part)
    else:
        (root / part).unlink()
    return root


@pytest.mark.parametrize("part", ["beta/__init__.py", "beta"])
def test_a_tree_that_lost_a_file_is_unpacked_again_for_a_venv_that_gains_the_package(  # noqa: PLR0913, PLR0917  # fixtures and the parameter
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], cache_dir: Path, part: str
) -> None:
    # deleting any part of unpacked/ is safe: a tree whose manifest still loads but lacks a file it lists is set
    # aside and unpacked again from the wheel in artifacts/, instead of failing every sync that needs it
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    shutil.rmtree(site / "beta")
    shutil.rmtree(site / "beta-2.0.dist-info")  # beta goes in again, from the damaged tree
    root = _damage_tree(cache_dir, part)
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, err) == (0, "")
    assert out == f"{venv}: adopted, synced 2 packages: 1 installed\n"
    assert (root / "beta" / "__init__.py").stat().st_ino == (site / "beta" / "__init__.py").stat().st_ino
    assert run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))[:2] == (
        0,
        f"{venv}: every file matches its RECORD and the lock\n",
    )
    assert not Journal(venv).pending()
    assert not list((cache_dir / "tmp").rglob("stale-*"))  # the damaged tree is gone, not kept aside


def test_a_tree_that_lost_a_file_and_its_wheel_is_fetched_again_or_offline_says_so(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    assert run(capsys, *sync_args(lock, tmp_path / "one", python312))[0] == 0
    _damage_tree(cache_dir, "beta/__init__.py")
    shutil.rmtree(cache_dir / "artifacts")
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "offline", python312, "--offline"))
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: offline and 2 file(s) are not in the cache: alpha (alpha-1.0-py3-none-any.whl), "
        "beta (beta-2.0-py3-none-any.whl); run once online (or fill TOX_VENVSYNC_CACHE_DIR) first\n"
    )
    two = tmp_path / "two"
    code, out, err = run(capsys, *sync_args(lock, two, python312))
    assert (code, err) == (0, "")
    assert out == f"{two}: created, synced 2 packages: 2 installed\n"
    assert run(capsys, "verify", "--venv", str(two), "--lock", str(lock))[0] == 0


def _project_locked_with_alpha(root: Path, local_index: LocalIndex, lock_name: str) -> Path:
    """A project that needs ``buildhelp`` to build, and its lock naming it (editable) and the wheel alpha.

    The ``uv.lock`` holds its build to ``buildhelp==1.0`` (uv's build constraints).
    """
    project = write_project(root, "demo", "0.1.0", {"demo/__init__.py": ""})
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requires = []", 'requires = ["buildhelp>=1"]'))
    wheel = make_wheel(local_index.directory, "alpha", "1.0")
    if lock_name == "pylock.toml":  # pip lock . names the project by its directory
        entry = package_entry("alpha", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
        return write_pylock(project / "pylock.toml", [{"name": "demo", "directory": {"path": "."}}, entry])
    pyproject.write_text(pyproject.read_text() + '[tool.uv]\nbuild-constraint-dependencies = ["buildhelp==1.0"]\n')
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock = project / "uv.lock"
    lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        '[manifest]\nbuild-constraints = [{ name = "buildhelp", specifier = "==1.0" }]\n\n'
        f'[[package]]\nname = "alpha"\nversion = "1.0"\nsource = {{ registry = "{local_index.simple_url}" }}\n'
        f'wheels = [{{ url = "{local_index.file_url(wheel.name)}", hash = "sha256:{digest}", '
        f"size = {wheel.stat().st_size} }}]\n\n"
        '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { editable = "." }\n'
        'dependencies = [{ name = "alpha" }]\n'
    )
    return lock


@pytest.mark.usefixtures("cache_dir")
@pytest.mark.parametrize("lock_name", ["uv.lock", "pylock.toml"])
def test_offline_with_a_cold_cache_lists_what_is_missing_before_the_project_is_built(  # noqa: PLR0913, PLR0917  # fixtures and the parameter
    tmp_path: Path,
    local_index: LocalIndex,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    mocker: MockerFixture,
    monkeypatch: pytest.MonkeyPatch,
    lock_name: str,
) -> None:
    # a lock that names the project itself (uv's editable root, pip lock .'s directory): the plan built the project
    # first, to compare its contents, and offline that build failed on its build requirements (exit code 1: "cannot
    # build demo ...: installing its build requirements failed (...)") where every file missing was to be listed, as
    # for a lock without the project (found by QA)
    lock = _project_locked_with_alpha(tmp_path / "project", local_index, lock_name)
    venv = tmp_path / "venv"
    built = mocker.spy(Builder, "from_tree")
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--offline"))
    assert (code, out) == (2, "")
    held = " (held to buildhelp==1.0)" if lock_name == "uv.lock" else ""  # by the uv.lock's build constraints
    assert err == (
        "venvsync: error: offline and 1 file(s) are not in the cache: alpha (alpha-1.0-py3-none-any.whl); run once "
        f"online (or fill TOX_VENVSYNC_CACHE_DIR) first; building demo from {lock.parent} needs its build "
        f"requirements buildhelp>=1{held} too, which offline pip takes only from PIP_FIND_LINKS: put them there, or "
        "leave the project out with --no-install-project\n"
    )
    assert not venv.exists()
    assert local_index.requests == []
    assert built.call_count == 0  # refused before the project's build started

    # its advice holds: with the files in the cache and the build's requirements in the find-links, offline works
    assert run(capsys, *sync_args(lock, tmp_path / "online", python312, "--no-install-project"))[0] == 0
    links = tmp_path / "links"
    make_wheel(links, "buildhelp", "1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--offline"))
    assert (code, err) == (0, ""), err
    assert dist_info_names([venv / "lib" / "python3.12" / "site-packages"]) == [
        "alpha-1.0.dist-info",
        "demo-0.1.0.dist-info",
    ]


@pytest.mark.usefixtures("cache_dir")
def test_verify_and_a_dry_run_say_why_the_same_version_is_installed_again(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "reinstall: demo 0.1.0 -> 0.1.0" did not say why (here: synced with --no-editable, the lock's root is editable)
    project = write_project(tmp_path / "project", "demo", "0.1.0", {"demo/__init__.py": ""})
    lock = project / "uv.lock"
    lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { editable = "." }\n'
    )
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312, "--no-editable"))[0] == 0
    reason = "installed not editable; the lock wants it editable"
    line = f"reinstall: demo 0.1.0 -> 0.1.0 ({reason})"
    verify = ["verify", "--venv", str(venv), "--lock", str(lock)]
    assert run(capsys, *verify)[:2] == (1, f"{line}\n")
    code, out, _ = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, out.splitlines()[:1]) == (0, [line])
    code, out, _ = run(capsys, *verify, "--json")
    assert code == 1
    assert json.loads(out)["differs"]["install"] == [
        {"name": "demo", "version": "0.1.0", "action": "reinstall", "from": "0.1.0", "reason": reason}
    ]
    assert run(capsys, *verify, "--no-editable")[0] == 0


def test_an_unknown_link_mode_is_refused_before_the_venv_is_made(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOX_VENVSYNC_LINK_MODE", "symlink")
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "venv", python312))
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: TOX_VENVSYNC_LINK_MODE='symlink' is not a link mode: "
        "set it to hardlink (the default) or copy (clone and reflink mean copy)\n"
    )
    assert not (tmp_path / "venv").exists()


def test_refuses_a_directory_that_is_not_a_venv(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "data"
    target.mkdir()
    (target / "important.db").write_text("do not lose me")
    code, out, err = run(capsys, *sync_args(lock, target, python312))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: refusing to use {target} as a virtual environment: it holds files and no pyvenv.cfg "
        "(important.db), so it is not a virtual environment; choose an empty or missing directory for --venv\n"
    )
    assert sorted(os.listdir(target)) == ["important.db"]


def test_a_venv_made_by_venvsync_sync_is_adopted_by_tox_without_install_work(
    lock: Path, tmp_path: Path, python312: Path, tox_project: ToxProjectCreator
) -> None:
    venv = tmp_path / "opt" / "venv"
    assert main(sync_args(lock, venv, python312)) == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    before = {n: (site / n).stat().st_ino for n in dist_info_names([site])}
    ini = (
        f"[testenv:py312]\nrunner = venvsync\nenv_location = {venv}\npackage = skip\n"
        "commands = python -c 'import alpha, beta'\n"
    )
    project = tox_project({"tox.ini": ini, "pylock.toml": lock.read_text()})
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    result.assert_success()
    assert "adopt the existing virtual environment" in result.out
    assert "synced" not in result.out
    assert {n: (site / n).stat().st_ino for n in dist_info_names([site])} == before


def test_compile_bytecode_compiles_every_module_and_the_next_venv_links_it(
    tmp_path: Path, local_index: LocalIndex, cache_dir: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modules = {
        "gamma/__init__.py": "from gamma import sub\n",
        "gamma/sub.py": "VALUE = 1\n",
        "gamma/py2.py": "print 'code for another Python'\n",  # some wheels ship it: left without bytecode
    }
    wheel = make_wheel(local_index.directory, "gamma", "1.0", modules=modules)
    entry = package_entry("gamma", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    compiled = ["gamma/__pycache__/__init__.cpython-312.pyc", "gamma/__pycache__/sub.cpython-312.pyc"]

    one = tmp_path / "one"
    code, out, err = run(capsys, *sync_args(lock, one, python312, "--compile-bytecode"))
    assert (code, err) == (0, "")
    assert out == f"{one}: created, synced 1 package: 1 installed, bytecode compiled\n"
    site_one = one / "lib" / "python3.12" / "site-packages"
    assert sorted(str(p.relative_to(site_one)) for p in site_one.rglob("*.pyc")) == compiled
    kept = {p.name: p.stat().st_ino for p in cache_dir.rglob("gamma/__pycache__/*.pyc")}
    assert kept == {p.split("/")[-1]: (site_one / p).stat().st_ino for p in compiled}  # linked into the cache

    two = tmp_path / "two"
    assert run(capsys, *sync_args(lock, two, python312, "--compile-bytecode"))[0] == 0
    site_two = two / "lib" / "python3.12" / "site-packages"
    # the cache's copies, which compileall found current: it rewrote none
    assert {p.split("/")[-1]: (site_two / p).stat().st_ino for p in compiled} == kept
    assert run(capsys, *sync_args(lock, two, python312))[0] == 0  # without the option: nothing removed
    code, out, _ = run(capsys, *sync_args(lock, two, python312, "--compile-bytecode", "--json"))
    assert (code, json.loads(out)["bytecode"], json.loads(out)["made"]) == (0, "compiled", "adopted")
    assert sorted(str(p.relative_to(site_two)) for p in site_two.rglob("*.pyc")) == compiled


@pytest.mark.usefixtures("cache_dir")
def test_compile_bytecode_under_source_date_epoch_is_the_same_in_every_build(
    tmp_path: Path,
    local_index: LocalIndex,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a reproducible image build sets SOURCE_DATE_EPOCH: py_compile, pip and uv then write hash-checked .pyc, whose
    # bytes do not hold the time the sources were written (copied from a cache mount: the time of the build)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    wheel = make_wheel(local_index.directory, "gamma", "1.0", modules={"gamma/__init__.py": "VALUE = 1\n"})
    entry = package_entry("gamma", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    venv = tmp_path / "venv"
    pyc = venv / "lib" / "python3.12" / "site-packages" / "gamma" / "__pycache__" / "__init__.cpython-312.pyc"
    assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b11  # hash-based, checked against the source
    first = pyc.read_bytes()
    shutil.rmtree(venv)
    monkeypatch.setenv("TOX_VENVSYNC_LINK_MODE", "copy")  # the sources written anew, as across file systems
    assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert pyc.read_bytes() == first


def test_source_date_epoch_links_no_bytecode_an_earlier_build_left_in_the_cache(
    tmp_path: Path,
    local_index: LocalIndex,
    cache_dir: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a cache that an earlier build (or tox's commands) filled with timestamp .pyc gave them, by hard links, to the
    # venv of a reproducible build on the same file system: SOURCE_DATE_EPOCH promised hash-checked bytecode, and a
    # layer whose times were rewritten found those stale (found by QA following the Docker guide)
    wheel = make_wheel(local_index.directory, "gamma", "1.0", modules={"gamma/__init__.py": "VALUE = 1\n"})
    entry = package_entry("gamma", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    relative = Path("lib", "python3.12", "site-packages", "gamma", "__pycache__", "__init__.cpython-312.pyc")
    assert run(capsys, *sync_args(lock, tmp_path / "one", python312, "--compile-bytecode"))[0] == 0
    assert [p.name for p in cache_dir.rglob("gamma/__pycache__/*.pyc")] == [relative.name]  # kept in the cache
    shutil.rmtree(tmp_path / "one")  # made again: its placement, bytecode linked, is remembered for that path
    assert run(capsys, *sync_args(lock, tmp_path / "one", python312))[0] == 0
    assert (tmp_path / "one" / relative).stat().st_nlink > 1

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        two = tmp_path / "two"
        assert run(capsys, *sync_args(lock, two, python312, "--compile-bytecode"))[0] == 0
        assert int.from_bytes((two / relative).read_bytes()[4:8], "little") == 0b11  # hash-based, checked
        assert (two / relative).stat().st_nlink == 1  # its own, not the cache's
        three = tmp_path / "three"  # nothing compiled: nothing of the cache's either
        assert run(capsys, *sync_args(lock, three, python312))[0] == 0
        assert not (three / relative).exists()
        shutil.rmtree(tmp_path / "one")  # made again at its path: the placement remembered there is not replayed
        assert run(capsys, *sync_args(lock, tmp_path / "one", python312, "--compile-bytecode"))[0] == 0
        assert int.from_bytes((tmp_path / "one" / relative).read_bytes()[4:8], "little") == 0b11


@pytest.mark.usefixtures("cache_dir")
def test_compile_bytecode_compiles_again_only_after_a_sync_changed_the_venv(
    tmp_path: Path,
    local_index: LocalIndex,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def locked(version: str) -> Path:
        modules = {"gamma/__init__.py": f"VERSION = {version!r}\n", "gamma/py2.py": "print 'never compiles'\n"}
        wheel = make_wheel(local_index.directory, "gamma", version, modules=modules)
        entry = package_entry("gamma", version, [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
        return write_pylock(tmp_path / "project" / "pylock.toml", [entry])

    compiles: list[str] = []
    real = _bytecode.compile_all

    def compile_all(target: Target) -> None:
        compiles.append(target.prefix)
        real(target)

    monkeypatch.setattr(_bytecode, "compile_all", compile_all)
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.12" / "site-packages"
    pyc = site / "gamma" / "__pycache__" / "__init__.cpython-312.pyc"
    lock = locked("1.0")
    assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert (compiles, pyc.is_file()) == ([str(venv)], True)

    # in sync and compiled since: nothing runs, although py2.py still has no bytecode
    code, out, _ = run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))
    assert (code, out) == (0, f"{venv}: adopted, in sync, nothing to do, bytecode compiled\n")
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0  # a no-op without the option keeps that
    assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert compiles == [str(venv)]

    lock = locked("2.0")  # a sync that changes the venv compiles again
    assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert (compiles, pyc.is_file()) == ([str(venv)] * 2, True)

    lock = locked("3.0")  # changed by a sync without the option: the next one with it compiles, then rests
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert not pyc.exists()  # a version never compiled (1.0 would bring the bytecode the cache kept)
    for _ in range(2):
        assert run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))[0] == 0
    assert (compiles, pyc.is_file()) == ([str(venv)] * 3, True)


@pytest.mark.usefixtures("cache_dir")
@pytest.mark.parametrize("read_only", ["site-packages", "one package"])
def test_compile_bytecode_in_a_read_only_venv_says_so_and_claims_nothing(  # noqa: PLR0913, PLR0917  # fixtures
    tmp_path: Path,
    local_index: LocalIndex,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read_only: str,
) -> None:
    # a venv in a read-only image layer (or one package's directory a read-only mount), synced without bytecode:
    # compileall would skip those modules silently, and the venv be marked compiled for good
    modules = {"gamma/__init__.py": "VALUE = 1\n", "top.py": "TOP = 1\n"}
    wheel = make_wheel(local_index.directory, "gamma", "1.0", modules=modules)
    entry = package_entry("gamma", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [entry])
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    refused = site if read_only == "site-packages" else site / "gamma"
    access = os.access

    def no_write_below(path: str, mode: int) -> bool:  # what access(2) answers on a read-only mount
        inside = path == str(refused) or path.startswith(f"{refused}/")
        return not (inside and mode & os.W_OK) and access(path, mode)

    def erofs(prefix: str, dir: str) -> tuple[int, str]:  # noqa: A002  # mkstemp's keyword
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}xyz")

    monkeypatch.setattr(os, "access", no_write_below)
    monkeypatch.setattr(tempfile, "mkstemp", erofs)
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))
    assert (code, out) == (1, "")
    assert err == (
        f"venvsync: error: Read-only file system at {refused}; the file system is read-only: make it writable, "
        "or put the venv and the cache on one that is\n"
    )
    assert not list(site.rglob("*.pyc"))  # refused before any module was compiled
    monkeypatch.undo()  # writable again: the bytecode was never claimed, so this run compiles it
    code, out, _ = run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))
    assert (code, out) == (0, f"{venv}: adopted, in sync, nothing to do, bytecode compiled\n")
    assert sorted(p.name for p in site.rglob("*.pyc")) == ["__init__.cpython-312.pyc", "top.cpython-312.pyc"]
    assert not list(site.rglob(".venvsync-probe-*"))


def test_compile_bytecode_when_the_venvs_interpreter_does_not_run_is_one_sentence(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    python = venv / "bin" / "python"
    target = TargetMemo(venv, python).load()
    python.unlink()
    python.write_text("not an interpreter")  # not executable, since the sync found it in place
    with pytest.raises(BadInputError) as raised:
        _bytecode.compile_venv(venv, target, tmp_path / "unpacked", synced=True)
    assert (
        str(raised.value)
        == f"cannot compile the bytecode of {venv}: {python} does not run (Permission denied); recreate it"
    )
    # a sync does not get there: a venv whose interpreter does not run is made again (found by QA)
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--compile-bytecode"))
    why = f"its interpreter {python} does not run (Permission denied)"
    assert (code, out, err) == (
        0,
        f"{venv}: recreated ({why}), synced 2 packages: 2 installed, bytecode compiled\n",
        "",
    )


def test_the_environment_venvsync_runs_from_is_refused(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a Docker stage with venvsync installed in /opt/venv, told to sync /opt/venv: it would remove itself
    running = tmp_path / "tools"
    assert run(capsys, *sync_args(lock, running, python312))[0] == 0
    before = sorted(dist_info_names([running / "lib" / "python3.12" / "site-packages"]))
    monkeypatch.setattr(sys, "prefix", str(running))
    other = tmp_path / "other-lock" / "pylock.toml"
    write_pylock(other, [])  # a lock that would remove everything
    for extra in ((), ("--dry-run",)):
        code, out, err = run(capsys, *sync_args(other, running, python312), *extra)
        assert (code, out) == (2, "")
        assert err == (
            f"venvsync: error: refusing to use {running} as a virtual environment: it is the Python environment "
            "tox-venvsync itself runs from (syncing it would remove venvsync itself); choose a directory of its own "
            "for the environment\n"
        )
    assert sorted(dist_info_names([running / "lib" / "python3.12" / "site-packages"])) == before


@pytest.mark.parametrize("kind", ["files", "file", "link"])
def test_a_dry_run_refuses_what_a_sync_refuses(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    place = tmp_path / "place"
    if kind == "files":
        place.mkdir()
        (place / "notes.txt").write_text("mine\n")
    elif kind == "file":
        place.write_text("mine\n")
    else:
        (tmp_path / "real").mkdir()
        place.symlink_to(tmp_path / "real")
    before = sorted(tmp_path.rglob("*"))
    for extra in (("--dry-run",), ("--dry-run", "--json"), ()):
        code, out, err = run(capsys, *sync_args(lock, place, python312), *extra)
        assert (code, out) == (2, "")
        assert err.startswith(f"venvsync: error: refusing to use {place} as a virtual environment: ")
        assert err.count("\n") == 1
    assert sorted(tmp_path.rglob("*")) == before  # nothing made, not even in the cache


@pytest.mark.parametrize(
    ("error", "remedy"),
    [
        (errno.ENOSPC, "free some space and run again (the next sync finishes what this one started)"),
        (errno.EROFS, "the file system is read-only: make it writable, or put the venv and the cache on one that is"),
        (errno.EACCES, "check the permissions of that path (or run as the user who owns it)"),
    ],
)
def test_a_file_system_that_refuses_a_write_is_one_sentence(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    mocker: MockerFixture,
    error: int,
    remedy: str,
) -> None:
    venv = tmp_path / "venv"
    state = venv / ".venvsync" / "state.json"
    mocker.patch("tox_venvsync._state.write_atomic", side_effect=OSError(error, os.strerror(error), str(state)))
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (1, "")
    assert err == f"venvsync: error: {os.strerror(error)} at {state}; {remedy}\n"


def test_a_package_directory_it_may_not_write_leaves_the_venv_recorded_in_sync(  # noqa: PLR0913, PLR0917
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    local_index: LocalIndex,
) -> None:
    # found by QA with site-packages on a read-only bind mount: an upgrade refused before any file changed, yet the
    # state was cleared and the journal named the packages, so verify called the venv "interrupted" and the next
    # sync of the old lock reinstalled them (failing again on the read-only mount, where it had been a no-op). The
    # suite runs as root, whom access(2) lets write anywhere: its answer is simulated
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    wheel = make_wheel(local_index.directory, "beta", "2.1")
    newer = write_pylock(
        tmp_path / "newer" / "pylock.toml",
        [package_entry("beta", "2.1", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])],
    )
    site = venv / "lib" / "python3.12" / "site-packages"
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != site / "beta" and access(path, mode))
    code, _, err = run(capsys, *sync_args(newer, venv, python312))
    assert code == 1
    assert err == (
        f"venvsync: error: Permission denied at {site / 'beta'}; check the permissions of that path (or run as the "
        "user who owns it)\n"
    )
    assert run(capsys, "verify", "--lock", str(lock), "--venv", str(venv)) == (
        0,
        f"{venv}: every file matches its RECORD and the lock\n",
        "",
    )
    assert run(capsys, *sync_args(lock, venv, python312)) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")


def test_another_os_error_is_not_dressed_up(lock: Path, tmp_path: Path, python312: Path, mocker: MockerFixture) -> None:
    # only what a full, read-only or foreign file system raises gets a sentence: anything else is a bug to see
    mocker.patch("tox_venvsync._state.write_atomic", side_effect=OSError(errno.EIO, "Input/output error"))
    with pytest.raises(OSError, match="Input/output error"):
        main(sync_args(lock, tmp_path / "venv", python312))


@pytest.mark.parametrize(
    ("raised", "what"),
    [(MemoryError(), "memory"), (RuntimeError("can't start new thread"), "threads (each needs memory for its stack)")],
    ids=["memory", "threads"],
)
def test_a_process_out_of_memory_or_threads_is_one_sentence(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    mocker: MockerFixture,
    raised: BaseException,
    what: str,
) -> None:
    # found by QA under ulimit -v (200 to 400 MB) with a lock of 60 wheels: a traceback ending in MemoryError in a
    # download's read, or RuntimeError: can't start new thread (each thread's stack and malloc arena count)
    mocker.patch("tox_venvsync._cli.sync", side_effect=raised)
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "venv", python312))
    assert (code, out) == (1, "")
    assert err == (
        f"venvsync: error: the process ran out of {what}; raise its limits (ulimit -v for memory, ulimit -u for "
        "processes and threads) or free some memory, and run again (the next sync finishes what this one started)\n"
    )
    assert not (tmp_path / "venv").exists()  # made by this run: not left behind
    mocker.patch("tox_venvsync._cli.sync", side_effect=RuntimeError("a bug"))  # another RuntimeError is a bug to see
    with pytest.raises(RuntimeError, match="a bug"):
        main(sync_args(lock, tmp_path / "venv", python312))


def test_a_reader_that_goes_away_ends_the_output_quietly(lock: Path, python312: Path) -> None:
    # venvsync select ... | head -1
    command = [sys.executable, "-m", "tox_venvsync", "select", "--lock", str(lock), "--python", str(python312)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.close()  # the reader is gone before the command writes
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == b""


def test_a_cache_directory_that_cannot_be_used_is_named(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "not-a-directory"
    cache.write_text("a file where the cache should be\n")
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "venv", python312))
    assert (code, out) == (1, "")
    assert err.startswith(f"venvsync: error: the cache {cache} cannot be used (Not a directory at {cache}/")
    assert err.endswith("); set TOX_VENVSYNC_CACHE_DIR to a directory you can write\n")
    assert cache.read_text() == "a file where the cache should be\n"


def _bad_input(problem: str, lock: Path, venv: Path, python: Path) -> list[str]:  # noqa: PLR0911  # one per problem
    """``venvsync sync`` arguments with one bad input: no lock, an unknown extra, offline, a wrong hash or URL...

    ... a wheel that is no zip, or a source directory that is not there.
    """
    if problem == "missing lock":
        return sync_args(lock.parent / "nowhere" / "pylock.toml", venv, python)
    args = sync_args(lock, venv, python)
    if problem == "unknown extra":
        return [*args, "--extra", "typo"]
    if problem == "offline":  # with a cache that lacks the files
        return [*args, "--offline"]
    text = lock.read_text()
    if problem == "corrupt wheel":  # its hash is the lock's, but it is no zip: found when it is unpacked
        wheel = lock.parent / "gamma-1.0-py3-none-any.whl"
        wheel.write_bytes(b"not a zip" * 100)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        entry = f'wheels = [{{ name = "{wheel.name}", path = "{wheel.name}", hashes = {{ sha256 = "{digest}" }} }}]'
        lock.write_text(f'{text}\n[[packages]]\nname = "gamma"\nversion = "1.0"\n{entry}\n')
        return args
    if problem == "missing directory":  # a source tree the lock names, not there
        lock.write_text(f'{text}\n[[packages]]\nname = "gamma"\ndirectory = {{ path = "gone" }}\n')
        return args
    if problem == "bad url":  # one that does not parse (an IPv6 host without its "]")
        assert "http://127.0.0.1:" in text
        lock.write_text(text.replace("http://127.0.0.1:", "https://[::1:", 1))
        return args
    start = text.index('sha256 = "') + len('sha256 = "')
    lock.write_text(text[:start] + "0" * 64 + text[start + 64 :])
    return args


@pytest.mark.parametrize("problem", ["missing lock", "unknown extra", "offline", "wrong hash", "bad url"])
@pytest.mark.parametrize("existed", [False, True])
def test_a_venv_a_failed_sync_made_is_not_left_behind(  # noqa: PLR0913  # fixtures and parameters
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    problem: str,
    *,
    existed: bool,
) -> None:
    venv = tmp_path / "venv"
    if existed:
        venv.mkdir()  # an empty directory (a mount point, say) stays, empty
    args = _bad_input(problem, lock, venv, python312)
    code, _, err = run(capsys, *args)
    assert code in {1, 2}
    assert err.startswith("venvsync: error: ")
    assert err.count("\n") == 1
    assert (sorted(venv.iterdir()) == []) if existed else not venv.exists()
    deep = tmp_path / "new" / "parents" / "venv"  # the parents this run made go too
    assert run(capsys, *[a if a != str(venv) else str(deep) for a in args])[0] in {1, 2}
    assert not (tmp_path / "new").exists()


def test_a_lock_that_is_a_pipe_is_refused_not_read_for_ever(tmp_path: Path, python312: Path) -> None:
    pipe = tmp_path / "pylock.toml"
    os.mkfifo(pipe)
    for command in (["select"], ["sync", "--venv", str(tmp_path / "venv")]):
        done = subprocess.run(
            [*_cli(*command, "--lock", str(pipe), "--python", str(python312))],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.stdout.splitlines()[-1].startswith("2 ")  # the exit code
        assert done.stderr == (
            f"venvsync: error: {pipe}: is not a regular file (a device or a pipe); set --lock to a lockfile\n"
        )
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize(
    "problem",
    ["missing lock", "unknown extra", "wrong hash", "offline", "bad url", "corrupt wheel", "missing directory"],
)
def test_bad_input_does_not_empty_a_venv_of_another_python(  # noqa: PLR0913, PLR0917  # fixtures and the parameter
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    cache_dir: Path,
    problem: str,
) -> None:
    # --python names another version: the venv is recreated, but only once the input turned out good
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    before = tree(venv)
    found = shutil.which("python3.11")
    assert found is not None, "python3.11 is needed on PATH"
    python311 = tmp_path.joinpath(found)  # an absolute path joined is that path
    shutil.rmtree(cache_dir / "artifacts")  # offline, the files must come from the cache: it has none
    args = _bad_input(problem, lock, venv, python311)
    code, _, err = run(capsys, *args)
    assert code in {1, 2}
    assert err.startswith("venvsync: error: ")
    assert tree(venv) == before


def test_a_directory_where_a_file_goes_is_one_sentence(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    site = venv / "lib" / "python3.12" / "site-packages"
    (site / "alpha" / "__init__.py").unlink()
    (site / "alpha" / "__init__.py").mkdir()  # somebody's directory where the package's file goes
    State(venv).clear()
    Journal(venv).start(["alpha"])  # so that alpha is installed again
    before = tree(venv)
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    # refused before any change; exit 1, as when an install that uninstalls nothing meets it at placement
    assert (code, out) == (1, "")
    # found before anything changes (the uninstall of alpha went first, and left it uninstalled)
    assert err == (
        f"venvsync: error: cannot install alpha from alpha-1.0-py3-none-any.whl: the directory "
        f"{site / 'alpha' / '__init__.py'} stands where it places a file; remove it, or make the environment again\n"
    )
    assert tree(venv) == before
    assert not list(site.rglob(f"*{TEMPORARY_SUFFIX}"))


def _big_lock(tmp_path: Path) -> Path:
    """A lock of one wheel of ~0.3 MB that unpacks to ~0.6 MB (random text: it hardly compresses)."""
    module = "# " + random.Random(0).randbytes(300_000).hex() + "\n"  # noqa: S311  # filler, not a secret
    wheel = make_wheel(tmp_path / "wheels", "big", "1.0", modules={"big/__init__.py": "", "big/blob.py": module})
    return write_pylock(tmp_path / "project" / "pylock.toml", [package_entry("big", "1.0", [wheel_entry(wheel)])])


_CACHE_FULL = (
    "); free some space on its disk (or set TOX_VENVSYNC_CACHE_DIR to a directory on one with room) and run again\n"
)


@pytest.mark.parametrize(("size", "step"), [("128k", "dl-"), ("512k", "unpack-")], ids=["download", "unpack"])
def test_a_full_cache_is_named_and_keeps_no_part_of_the_file(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    small_disks: SmallDisks,
    size: str,
    step: str,
) -> None:
    # found by QA on a real tmpfs: a download into a full cache read "the download broke off (OSError(28, ...)) (asked
    # 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)", an unpacking "cannot install big from big-1.0-...whl: it is
    # not a readable wheel ([Errno 28] No space left on device)"
    lock = _big_lock(tmp_path)
    disk = small_disks.mount(size)
    cache = disk / "cache"
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    venv = tmp_path / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (1, "")
    assert err.startswith(f"venvsync: error: the cache {cache} is full (No space left on device at {cache / 'tmp'}/p")
    assert f"/{step}" in err
    assert err.endswith(_CACHE_FULL)
    assert err.count("\n") == 1
    assert not venv.exists()  # made by this run, and not left behind
    assert not list(cache.rglob("dl-*"))
    assert not list(cache.rglob("unpack-*"))
    assert not (cache / "unpacked").exists() or not list((cache / "unpacked").rglob("blob.py"))
    small_disks.resize(disk, "4m")  # room made: the next sync does it all
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert run(capsys, "verify", "--lock", str(lock), "--venv", str(venv))[0] == 0


@pytest.mark.parametrize("size", ["16k", "256k"], ids=["creating", "installing"])
def test_a_full_venv_disk_is_one_sentence_and_the_next_sync_after_room_was_made_finishes(  # noqa: PLR0913, PLR0917
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    cache_dir: Path,  # noqa: ARG001  # on the test's own disk, with room
    small_disks: SmallDisks,
    size: str,
) -> None:
    # found by QA on a real tmpfs: a venv that could not be created for want of room was refused as bad input (exit
    # code 2) with "make it writable or choose another --venv"
    lock = _big_lock(tmp_path)
    disk = small_disks.mount(size)
    venv = disk / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (1, "")
    assert err.startswith(f"venvsync: error: No space left on device at {venv}")
    assert err.endswith("; free some space and run again (the next sync finishes what this one started)\n")
    assert err.count("\n") == 1
    assert not venv.exists()  # made by this run: not left half made
    small_disks.resize(disk, "4m")
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    assert run(capsys, "verify", "--lock", str(lock), "--venv", str(venv))[0] == 0


@pytest.mark.parametrize("interrupt", [False, True], ids=["full-disk", "ctrl-c"])
def test_a_venv_whose_creation_is_cut_off_is_not_left_half_made(  # noqa: PLR0913  # fixtures and the parameter
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    interrupt: bool,
) -> None:
    # the CLI removed a venv it made and could not fill, but not one whose making failed: a full disk at
    # creation left opt/venv with bin/ and the creation mark (the next sync made it again; nothing said so)
    def cut_off(path: Path, python: Path, **_: object) -> bool:  # noqa: ARG001  # create_in_process's signature
        (path / "bin").mkdir()
        (path / "pyvenv.cfg").write_text("home = /nowhere\n")
        if interrupt:
            raise KeyboardInterrupt
        raise file_system_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path / "bin")), None) or OSError

    monkeypatch.setattr("tox_venvsync._location.create_in_process", cut_off)
    venv = tmp_path / "opt" / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == ((130, "") if interrupt else (1, ""))
    assert err.count("\n") == 1
    assert not (tmp_path / "opt").exists()  # the venv and the parent this run made


def test_ctrl_c_between_the_making_of_a_venv_and_its_sync_leaves_no_venv(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], mocker: MockerFixture
) -> None:
    # the making's clean-up ended with the making, and the sync's started with the sync: a Ctrl-C (or SIGTERM) on the
    # line between them left the new venv behind, made by this run and never filled
    mocker.patch("tox_venvsync._cli.moved_from", side_effect=KeyboardInterrupt)
    code, out, err = run(capsys, *sync_args(lock, tmp_path / "opt" / "venv", python312))
    assert (code, out, err) == (130, "", INTERRUPTED + "\n")
    assert not (tmp_path / "opt").exists()  # the venv and the parent this run made


@pytest.mark.parametrize("still_a_venv", [True, False], ids=["half-made", "no-venv"])
def test_a_venv_this_run_made_that_cannot_be_removed_is_told_with_what_is_left_where(  # noqa: PLR0913  # fixtures
    lock: Path,
    tmp_path: Path,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
    mocker: MockerFixture,
    *,
    still_a_venv: bool,
) -> None:
    # the removal's error was swallowed (the sync's error is the one to report): the venv stayed half made without a
    # word, or, once its pyvenv.cfg was gone, as a directory the next sync refuses
    venv = tmp_path / "venv"
    refused = OSError(errno.EACCES, os.strerror(errno.EACCES), str(venv / "lib"))
    mocker.patch("tox_venvsync._cli.sync", side_effect=KeyboardInterrupt)
    if still_a_venv:  # the first directory's removal refused: pyvenv.cfg goes last, it is still a venv
        mocker.patch("tox_venvsync._location.remove_tree", side_effect=refused)
    else:  # refused after pyvenv.cfg went
        mocker.patch("tox_venvsync._location.remove_tree")
        real_unlink = Path.unlink

        def unlink(path: Path, *, missing_ok: bool = False) -> None:
            real_unlink(path, missing_ok=missing_ok)
            if path.name == "pyvenv.cfg":
                raise refused

        mocker.patch.object(Path, "unlink", unlink)
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (130, "")
    made = f"venvsync: warning: {venv}, which this run made, could not be removed (Permission denied: {venv / 'lib'})"
    then = (
        " and is left half made: the next sync finishes it, or remove it"
        if still_a_venv
        else ", and what is left is no venv a sync takes: remove it"
    )
    assert err == f"{made}{then} (rm -rf {venv})\n{INTERRUPTED}\n"
    assert (venv / "pyvenv.cfg").is_file() is still_a_venv


def test_a_full_cache_that_holds_every_file_still_fills_a_venv_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, small_disks: SmallDisks
) -> None:
    # found by QA: the facts of an interpreter (not a pyenv shim) that the cache had not remembered yet were written
    # to it, and a full cache stopped a sync that needed nothing else from it: "No space left on device; free some
    # space and run again", naming no file
    lock = _big_lock(tmp_path)
    cache = small_disks.mount("2m") / "cache"
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    python = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))  # a binary: its facts are kept
    assert run(capsys, *sync_args(lock, tmp_path / "first", python))[0] == 0
    shutil.rmtree(cache / "interpreters")
    with (cache.parent / "filler").open("wb") as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
    code, _, err = run(capsys, *sync_args(lock, tmp_path / "second", python))
    assert (code, err) == (0, "")
    assert run(capsys, "verify", "--lock", str(lock), "--venv", str(tmp_path / "second"))[0] == 0


def test_a_full_venv_disk_is_not_blamed_on_the_cache(cache_dir: Path, tmp_path: Path) -> None:
    # shutil's copy and os.link name the source first: the cache's file; the destination is the one that failed
    venv_file = tmp_path / "venv" / "lib" / "x.py"
    exc = OSError(errno.ENOSPC, "No space left on device", str(cache_dir / "unpacked" / "x.py"), None, str(venv_file))
    error = file_system_error(exc, cache_dir)
    assert error is not None
    assert str(error) == (
        f"No space left on device at {venv_file}; free some space and run again (the next sync finishes what this "
        "one started)"
    )


@pytest.mark.parametrize(
    ("error", "remedy"),
    [
        (errno.EMFILE, "raise the limit of open files (ulimit -n) and run again"),
        (errno.ENFILE, "the system has too many files open: close some programs and run again"),
    ],
)
def test_running_out_of_file_descriptors_is_not_blamed_on_the_cache(cache_dir: Path, error: int, remedy: str) -> None:
    # found by QA with ulimit -n 20 and a lock of 60 wheels: "the cache ... cannot be used (Too many open files at
    # .../dl-...); set TOX_VENVSYNC_CACHE_DIR to a directory you can write", a setting that would not help
    download = cache_dir / "tmp" / "p1-2" / "dl-x"
    found = file_system_error(OSError(error, os.strerror(error), str(download)), cache_dir)
    assert found is not None
    assert str(found) == f"{os.strerror(error)} at {download}; {remedy}"


def test_a_cache_that_cannot_be_made_in_a_read_only_home_says_which_setting_to_change(tmp_path: Path) -> None:
    # the default cache ~/.cache/tox-venvsync, with HOME read-only: its parent .cache cannot be made; found by QA
    cache = tmp_path / "home" / ".cache" / "tox-venvsync"
    exc = OSError(errno.EROFS, "Read-only file system", str(cache.parent))
    error = file_system_error(exc, cache)
    assert error is not None
    assert str(error) == (
        f"the cache {cache} cannot be made (Read-only file system at {cache.parent}); set TOX_VENVSYNC_CACHE_DIR "
        "to a directory you can write"
    )
    venv = tmp_path / "venv"  # a venv's parent that cannot be made is not the cache's problem
    other = file_system_error(OSError(errno.EROFS, "Read-only file system", str(venv)), cache)
    assert other is not None
    assert "TOX_VENVSYNC_CACHE_DIR" not in str(other)


def test_select_and_a_venv_in_sync_need_no_cache_they_may_write(
    lock: Path, tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the user of a Docker image's last stage, whose home (so ~/.cache) it may not write: venvsync select and a sync
    # of a venv already in sync change nothing, yet both stopped with "the cache ... cannot be used (Permission
    # denied at .../interpreters)", writing the interpreter's facts, which are only remembered; found by QA as a
    # user other than root. The suite runs as root: the refusal is simulated for every temporary file in the cache.
    # An interpreter binary, not a pyenv shim (whose facts are never remembered, so never written)
    python = Path(os.path.realpath(sys.executable))
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python))[0] == 0
    shutil.rmtree(cache_dir / "interpreters")
    mkstemp = tempfile.mkstemp

    def refused(*, dir: Path, prefix: str, suffix: str) -> tuple[int, str]:  # noqa: A002  # mkstemp's keyword
        if dir.is_relative_to(cache_dir):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return mkstemp(dir=dir, prefix=prefix, suffix=suffix)

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    assert run(capsys, *sync_args(lock, venv, python)) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")
    assert run(capsys, "select", "--lock", str(lock), "--python", str(python)) == (
        0,
        "alpha==1.0 (wheel)\nbeta==2.0 (wheel)\n",
        "",
    )
    assert not (cache_dir / "interpreters").exists() or not any((cache_dir / "interpreters").iterdir())


@pytest.mark.parametrize("name", [".tox-info.json.62eqe91f.tmp", ".state.json.k2j4_x9a.tmp"], ids=["tox's", "ours"])
def test_a_refused_temporary_file_is_named_by_its_directory(tmp_path: Path, name: str) -> None:
    # tox run as a user other than root on root's venv (made by venvsync sync in an image's build stage): tox's
    # atomic write of .tox-info.json was refused, and the sentence named its temporary file, which never existed
    # ("Permission denied at /opt/venvs/rootv/.tox-info.json.9v19dfnu.tmp"); found by QA
    venv = tmp_path / "venv"
    venv.mkdir()
    error = file_system_error(OSError(errno.EACCES, "Permission denied", str(venv / name)), tmp_path / "cache")
    assert error is not None
    assert (
        str(error)
        == f"Permission denied at {venv}; check the permissions of that path (or run as the user who owns it)"
    )
    mine = venv / "notes.abcdefgh.tmp"  # a file of that shape that is there is the user's: named as it is
    mine.write_text("")
    other = file_system_error(OSError(errno.EACCES, "Permission denied", str(mine)), tmp_path / "cache")
    assert str(other).startswith(f"Permission denied at {mine}; ")


def test_a_cache_emptied_under_a_run_says_to_run_again(cache_dir: Path) -> None:
    # the cache deleted (rm -rf, a cleaning job) while a sync linked from it: not a setting to change
    cache_dir.mkdir(parents=True, exist_ok=True)
    gone = cache_dir / "unpacked" / "sha256" / "ab" / "x.py"
    error = file_system_error(OSError(errno.ENOENT, "No such file or directory", str(gone)), cache_dir)
    assert error is not None
    assert str(error) == (
        f"the cache {cache_dir} changed under this run (No such file or directory at {gone}): something removed "
        "part of it while it was in use; run again"
    )


@pytest.mark.usefixtures("cache_dir")
def test_a_hash_naming_a_directory_neither_installs_nor_empties_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the digest is the file's address in the cache: a path there took the file found at it for the locked one,
    # unverified, and replaced the directory with the wheel's unpacked tree
    locked = make_wheel(tmp_path / "project", "alpha", "1.0")
    elsewhere = tmp_path / "dist"
    make_wheel(elsewhere, "alpha", "1.0", modules={"alpha/__init__.py": "raise SystemExit('not the locked file')\n"})
    (elsewhere / "notes.txt").write_text("mine\n")
    entry = wheel_entry(locked, path=locked.name)
    entry.pop("size")
    entry["hashes"] = {"sha256": str(elsewhere)}
    lock = write_pylock(tmp_path / "project" / "pylock.toml", [package_entry("alpha", "1.0", [entry])])
    venv = tmp_path / "venv"
    code, out, err = run(capsys, "sync", "--lock", str(lock), "--venv", str(venv), "--python", sys.executable)
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {lock} at packages[0].wheels[0].hashes.sha256: {str(elsewhere)!r} is not a sha256 digest "
        "(64 hex digits); correct that value, or lock again with the tool that wrote the file\n"
    )
    assert sorted(p.name for p in elsewhere.iterdir()) == ["alpha-1.0-py3-none-any.whl", "notes.txt"]
    assert not venv.exists()


def test_a_lock_that_cannot_be_read_says_so(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # its permissions (chmod 000, as another user): the fingerprint's read got no bytes, and the lock was pinned as
    # empty, so the reader said "at lock-version: Missing required value"; found by QA
    read_bytes = Path.read_bytes

    def refused(path: Path) -> bytes:
        if path == lock:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refused)
    venv = tmp_path / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: {lock}: cannot be read (Permission denied); check its permissions\n"
    assert not venv.exists()


@pytest.mark.usefixtures("cache_dir")
def test_no_install_project_finds_the_project_of_a_pdm_lock_kept_elsewhere(
    tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: pdm lock -L locks/pdm.lock; the sync reads the project's pyproject.toml above the lock, as PDM
    # finds it, but --no-install-project looked only beside the lock unless --lock-format pdm was given
    project = tmp_path / "project"
    (project / "locks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "my-app"\nversion = "1.0"\n', encoding="utf-8")
    lock = project / "locks" / "pdm.lock"
    metadata = '[metadata]\ngroups = ["default"]\nstrategy = ["inherit_metadata"]\nlock_version = "4.5.0"\n'
    lock.write_text(metadata + '[[metadata.targets]]\nrequires_python = ">=3.10"\n', encoding="utf-8")
    venv = tmp_path / "venv"
    for more in ((), ("--lock-format", "pdm")):
        code, _, err = run(capsys, *sync_args(lock, venv, python312, "--no-install-project", "--dry-run", *more))
        assert (code, err) == (0, ""), err
        assert not venv.exists()


@pytest.mark.usefixtures("cache_dir")
def test_no_install_project_installs_the_projects_dependencies_alone_before_its_sources_are_there(
    tmp_path: Path, local_index: LocalIndex, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Docker layer of the dependencies, made from pyproject.toml and the lock before the sources are copied in
    # (uv sync --no-install-project): the project's own entry is not built, its dependencies are installed
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "My_App"\nversion = "1.0"\n', encoding="utf-8")
    wheel = make_wheel(local_index.directory, "alpha", "1.0")
    entries: list[dict[str, object]] = [
        {"name": "my-app", "directory": {"path": "."}},  # no sources yet: not built
        package_entry("alpha", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))]),
    ]
    lock = write_pylock(project / "pylock.toml", entries)
    venv = tmp_path / "venv"
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--no-install-project"))
    assert (code, out, err) == (0, f"{venv}: created, synced 1 package: 1 installed\n", "")
    assert dist_info_names([venv / "lib" / "python3.12" / "site-packages"]) == ["alpha-1.0.dist-info"]
    code, out, err = run(capsys, *sync_args(lock, venv, python312))  # without it: the project is built too
    assert (code, out, err) == (0, f"{venv}: adopted, synced 2 packages: 1 installed\n", "")
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--no-install-project"))  # one installed stays
    assert (code, out, err) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")
    assert dist_info_names([venv / "lib" / "python3.12" / "site-packages"]) == [
        "alpha-1.0.dist-info",
        "my_app-1.0.dist-info",
    ]

    (project / "pyproject.toml").unlink()
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--no-install-project"))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: --no-install-project leaves out the project that {project / 'pyproject.toml'} names, and "
        "there is none; copy the pyproject.toml beside the lock (as uv needs it too), or leave the option out\n"
    )


@pytest.mark.usefixtures("cache_dir")
def test_verify_inexact_keeps_packages_the_lock_does_not_name_out_of_the_report(
    tmp_path: Path, local_index: LocalIndex, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: a venv synced with --inexact could not be verified; verify refused the option
    alpha, beta = make_wheel(local_index.directory, "alpha", "1.0"), make_wheel(local_index.directory, "beta", "1.0")
    venv = tmp_path / "venv"
    both = write_pylock(
        tmp_path / "both" / "pylock.toml",
        [
            package_entry(name, "1.0", [wheel_entry(w, url=local_index.file_url(w.name))])
            for name, w in (("alpha", alpha), ("beta", beta))
        ],
    )
    assert run(capsys, *sync_args(both, venv, python312))[0] == 0
    lock = write_pylock(
        tmp_path / "pylock.toml",
        [package_entry("alpha", "1.0", [wheel_entry(alpha, url=local_index.file_url(alpha.name))])],
    )
    assert run(capsys, *sync_args(lock, venv, python312, "--inexact"))[0] == 0
    verify = ["verify", "--venv", str(venv), "--lock", str(lock)]
    assert run(capsys, *verify, "--inexact") == (0, f"{venv}: every file matches its RECORD and the lock\n", "")
    code, out, _ = run(capsys, *verify)  # an exact sync would remove it
    assert (code, out) == (1, "remove: beta 1.0\n")
    code, out, err = run(capsys, "verify", "--venv", str(venv), "--inexact")  # no lock to compare with
    assert (code, out) == (2, "")
    assert "--inexact chooses from a lock" in err


@pytest.mark.usefixtures("cache_dir")
def test_verify_no_install_project_compares_with_the_selection_the_sync_was_given(
    tmp_path: Path, local_index: LocalIndex, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA on real locks (flask's, comfy-cli's uv.lock): a venv synced with --no-install-project could not be
    # verified, as verify refused the option ("unrecognized arguments") and without it reported the project as missing
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "My_App"\nversion = "1.0"\n', encoding="utf-8")
    wheel = make_wheel(local_index.directory, "alpha", "1.0")
    entries: list[dict[str, object]] = [
        {"name": "my-app", "directory": {"path": "."}},
        package_entry("alpha", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))]),
    ]
    lock = write_pylock(project / "pylock.toml", entries)
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312, "--no-install-project"))[0] == 0
    verify = ["verify", "--venv", str(venv), "--lock", str(lock)]
    assert run(capsys, *verify, "--no-install-project") == (
        0,
        f"{venv}: every file matches its RECORD and the lock\n",
        "",
    )
    code, out, _ = run(capsys, *verify)  # the default selection has the project
    assert (code, out) == (1, "install: my-app 1.0\n")

    code, out, err = run(capsys, "verify", "--venv", str(venv), "--no-install-project")  # no lock to leave it out of
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: --no-install-project chooses from a lock, and verify without --lock compares with none; "
        "pass --lock too\n"
    )


def _binary(name: str) -> tuple[Path, str]:
    """The interpreter binary behind ``name`` on PATH (pyenv's shim is a script that runs it) and its version."""
    found = shutil.which(name)
    assert found is not None, f"{name} is not on PATH"
    code = "import platform, sys; print(sys.executable); print(platform.python_version())"
    executable, version = subprocess.run([found, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return Path(executable).resolve(), version


def test_a_venv_whose_base_python_was_replaced_under_it_is_made_again_not_found_in_sync(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: the base Python at a fixed path upgraded in place (another release built into the same directory,
    # a container's /usr/local/bin/python3 from a newer image) leaves pyvenv.cfg as it was, and the facts remembered
    # in the venv were taken for its new interpreter: verify said every file matched the lock and a sync naming the
    # old Python said "in sync", while the venv's python ran another Python and imported none of the packages
    python312, version312 = _binary("python3.12")
    python313, version313 = _binary("python3.13")
    base = tmp_path / "base" / "python3"  # the base's fixed path, whose content is replaced below
    base.parent.mkdir()
    base.symlink_to(python312)
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", venv], check=True)
    assert run(capsys, *sync_args(lock, venv, python312)) == (
        0,
        f"{venv}: adopted, synced 2 packages: 2 installed\n",
        "",
    )
    assert run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))[0] == 0
    base.unlink()
    base.symlink_to(python313)
    python = venv / "bin" / "python"
    why = f"its interpreter {python} runs Python {version313}, not the {version312} it was made for"
    code, out, err = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {venv}'s interpreter {python} runs Python {version313}, not the {version312} the venv was "
        "made for (its base Python was replaced); make the venv again (tox -r, or venvsync sync into it with --python "
        "naming the Python to make it with)\n"
    )
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"recreate: {venv}: {why}"
    assert run(capsys, *sync_args(lock, venv, python312)) == (
        0,
        f"{venv}: recreated ({why}), synced 2 packages: 2 installed\n",
        "",
    )
    subprocess.run([python, "-c", "import alpha, beta"], check=True)
    assert run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))[0] == 0


def test_a_venv_whose_interpreter_does_not_run_is_made_again_when_its_python_is_named(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by QA: a venv whose bin/python is there and runs nothing (a copy, python -m venv --copies or tox's
    # always_copy, whose base Python was removed: its libpython is gone) was adopted as it was when --python named a
    # Python of its version, and said "in sync"; verify said every file matched
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    python = venv / "bin" / "python"
    python.unlink()
    gone = "python: error while loading shared libraries: libpython3.12.so.1.0: cannot open shared object file"
    python.write_text(f"#!/bin/sh\necho '{gone}' >&2\nexit 127\n")
    python.chmod(0o755)
    code, out, err = run(capsys, "verify", "--venv", str(venv), "--lock", str(lock))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {venv}'s interpreter {python} does not run ({gone}); make the venv again (tox -r, or "
        "venvsync sync into it with --python naming the Python to make it with)\n"
    )
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"recreate: {venv}: its interpreter {python} does not run ({gone})"
    assert run(capsys, *sync_args(lock, venv, python312)) == (
        0,
        f"{venv}: recreated (its interpreter {python} does not run ({gone})), synced 2 packages: 2 installed\n",
        "",
    )
    subprocess.run([python, "-c", "import alpha, beta"], check=True)


def test_verify_of_a_venv_too_old_to_sync_says_so_in_its_own_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an interpreter that answers and is refused is no interpreter that "does not run"
    python38 = installed_python("3.8")
    if python38 is None:
        pytest.skip("no Python 3.8 installed through pyenv")
    venv = tmp_path / "venv"
    subprocess.run([python38, "-m", "venv", "--without-pip", venv], check=True)
    code, out, err = run(capsys, "verify", "--venv", str(venv))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: the interpreter {venv / 'bin' / 'python'} is Python 3.8; tox-venvsync makes environments "
        "of Python 3.9 or newer (the oldest virtualenv bundles pip for): use a newer Python for this environment\n"
    )


def test_a_venv_whose_interpreter_link_leads_to_another_python_now_is_recreated(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a venv restored from a CI cache onto a newer image, whose python3 its bin/python links to is another Python
    # now: pyvenv.cfg still says 3.12, so it was adopted and found in sync while its python saw none of its packages
    python313 = installed_python("3.13")  # the binary: a pyenv shim linked as bin/python runs the version named python
    assert python313 is not None
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").symlink_to(python313)
    why = f"its interpreter {venv}/bin/python runs Python 3.13.0, not the 3.12.1 it was made for"
    code, out, err = run(capsys, *sync_args(lock, venv, python312, "--dry-run"))
    assert (code, out.splitlines()[0], err) == (0, f"recreate: {venv}: {why}", "")
    code, out, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, out, err) == (0, f"{venv}: recreated ({why}), synced 2 packages: 2 installed\n", "")
    subprocess.run([venv / "bin" / "python", "-c", "import alpha, beta"], check=True)
    assert run(capsys, *sync_args(lock, venv, python312)) == (0, f"{venv}: adopted, in sync, nothing to do\n", "")


def test_records_nested_too_deeply_to_read_are_passed_over_as_any_unreadable_record(
    lock: Path, tmp_path: Path, python312: Path, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    # json.loads raises RecursionError, no ValueError, for "[[[[...": the venv's state, journal and facts, and the
    # cache's memos, manifests and interpreter facts, each read as JSON, ended the sync with a traceback
    venv = tmp_path / "venv"
    assert run(capsys, *sync_args(lock, venv, python312))[0] == 0
    records = [*(venv / ".venvsync").glob("*.json"), *venv.glob("lib/python3.12/site-packages/*.dist-info/*.json")]
    records += [p for p in cache_dir.rglob("*.json") if p.relative_to(cache_dir).parts[0] not in {"locks", "tmp"}]
    assert {p.name for p in records} >= {"state.json", "target.json", "venvsync.json"}
    assert any("interpreters" in p.parts for p in records)
    assert any("unpacked" in p.parts for p in records)
    for record in records:
        record.write_text("[" * 100_000)
    code, _, err = run(capsys, *sync_args(lock, venv, python312))
    assert (code, err) == (0, "")
    subprocess.run([venv / "bin" / "python", "-c", "import alpha, beta"], check=True)
