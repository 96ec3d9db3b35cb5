"""Tests of the venv location guard: inspect, remove_venv and the pyvenv.cfg readers."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from _support.refusals import refuse_unlink
from tox_venvsync._errors import LocationError
from tox_venvsync._location import (
    CREATING,
    Found,
    Kind,
    adoptable,
    can_create_in_process,
    create_dir,
    create_in_process,
    creating,
    cut_off,
    inspect,
    kernel_path,
    missing_from,
    prepare,
    protected_paths,
    read_pyvenv_cfg,
    remove_venv,
    undo_creation,
    venv_python_version,
)

_NOT_A_VENV = "so it is not a virtual environment; choose an empty or missing directory for env_location"
_PROJECT = "it is the project root or one of its ancestors; choose a directory of its own for env_location"

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_mock import MockerFixture


def _refusal(path: Path, reason: str) -> str:
    return f"refusing to use {path} as a virtual environment: {reason}"


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below root: files by content, links by target, directories by a marker."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            key = str(full.relative_to(root))
            if full.is_symlink():
                found[key] = f"-> {full.readlink()}"
            elif full.is_dir():
                found[key] = "<dir>"
            else:
                found[key] = full.read_bytes()
    return found


def _make_venv(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "lib" / "python3.12" / "site-packages" / "pkg").mkdir(parents=True)
    (path / "lib" / "python3.12" / "site-packages" / "pkg" / "__init__.py").write_text("x = 1\n")
    (path / "bin" / "tool").write_text("#!/bin/sh\n")
    (path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.12.1\n")
    return path


@pytest.fixture
def nothing_protected() -> Mapping[Path, str]:
    return {}


# --- inspect -----------------------------------------------------------------------------------------------------


def test_inspect_missing(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    assert inspect(path, nothing_protected) == Found(path=path, kind=Kind.MISSING)
    assert not path.exists()


def test_inspect_empty(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    path.mkdir()
    assert inspect(path, nothing_protected) == Found(path=path, kind=Kind.EMPTY)


@pytest.mark.parametrize("ours", [".tox-info.json", ".venvsync"])
def test_inspect_dir_with_only_our_files_is_empty(
    tmp_path: Path, nothing_protected: Mapping[Path, str], ours: str
) -> None:
    path = tmp_path / "env"
    path.mkdir()
    (path / ours).write_text("{}")
    assert inspect(path, nothing_protected).kind is Kind.EMPTY


def test_inspect_venv(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = _make_venv(tmp_path / "env")
    assert inspect(path, nothing_protected) == Found(path=path, kind=Kind.VENV)


def test_inspect_relative_path_is_made_absolute(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_venv(tmp_path / "env")
    monkeypatch.chdir(tmp_path)
    assert inspect(Path("env"), nothing_protected) == Found(path=tmp_path / "env", kind=Kind.VENV)


def test_inspect_refuses_dir_with_unrelated_files(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    path.mkdir()
    (path / "notes.txt").write_text("keep me")
    (path / ".venvsync").mkdir()
    before = _snapshot(path)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(path, f"it holds files and no pyvenv.cfg (notes.txt), {_NOT_A_VENV}")
    assert info.value.exit_code == 2
    assert info.value.path == path
    assert _snapshot(path) == before


def _cut_off(path: Path, *extra: str) -> Path:
    """What a venv creation killed before its pyvenv.cfg leaves (and ``extra`` files of somebody's)."""
    (path / "bin").mkdir(parents=True)
    (path / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (path / "include").mkdir()
    (path / "lib64").symlink_to("lib")
    (path / ".tox-info.json").write_text("{}")
    (path / CREATING).parent.mkdir()
    (path / CREATING).touch()
    for name in extra:
        (path / name).write_text("keep me")
    return path


def test_a_cut_off_creation_is_a_venv_to_make_again_never_adopted(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    path = _cut_off(tmp_path / "env")
    found = inspect(path, nothing_protected)
    assert found == Found(path=path, kind=Kind.VENV)
    assert not adoptable(found, (3, 12, 1))
    remove_venv(path, nothing_protected, keep_dir=True)  # what a recreate does first
    assert list(path.iterdir()) == []
    # with pyvenv.cfg written but the creation still cut off (no scripts yet): not adopted either
    venv = _make_venv(tmp_path / "half")
    assert adoptable(inspect(venv, nothing_protected), (3, 12, 1)) is False  # no bin/python
    (venv / "bin" / "python").symlink_to(sys.executable)
    assert adoptable(inspect(venv, nothing_protected), (3, 12, 1)) is True
    (venv / CREATING).parent.mkdir()
    (venv / CREATING).touch()
    assert adoptable(inspect(venv, nothing_protected), (3, 12, 1)) is False


def test_a_cut_off_creation_holding_anything_else_is_refused_untouched(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    path = _cut_off(tmp_path / "env", "data.db")
    before = _snapshot(path)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(
        path, f"it holds files and no pyvenv.cfg (bin, data.db, include, ...), {_NOT_A_VENV}"
    )
    with pytest.raises(LocationError):
        remove_venv(path, nothing_protected, keep_dir=True)
    assert _snapshot(path) == before


def test_a_directory_holding_what_a_venv_creation_makes_without_its_mark_is_refused_untouched(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # bin/, lib/ and include/ (a prefix of the user's, /opt/tool) are no cut-off creation without the mark that
    # creation writes first: taken for one, they would be emptied as a venv to make again (no test held the mark's
    # check: mutation testing)
    path = _cut_off(tmp_path / "env")
    (path / CREATING).unlink()
    (path / "bin" / "tool").write_text("#!/bin/sh\n")
    before = _snapshot(path)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(
        path, f"it holds files and no pyvenv.cfg (bin, include, lib, ...), {_NOT_A_VENV}"
    )
    with pytest.raises(LocationError):
        remove_venv(path, nothing_protected, keep_dir=True)
    assert _snapshot(path) == before


def test_a_directory_that_cannot_be_listed_is_refused_in_one_sentence(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a directory of another user's, mode 0311 (as a user other than root meets it; simulated: the suite runs as
    # root): the refusal says so; without it the listing's error would end in a traceback (mutation testing)
    path = tmp_path / "env"
    path.mkdir()
    listdir = os.listdir

    def refusing(where: str | os.PathLike[str]) -> list[str]:
        if Path(where) == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where))
        return listdir(where)

    monkeypatch.setattr(os, "listdir", refusing)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(path, "it cannot be listed (Permission denied); check its permissions")


def test_removing_a_cut_off_venv_keeps_its_mark_to_the_end(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the recreate of a cut-off venv cut off in turn, just before pyvenv.cfg goes: still never adopted
    path = _cut_off(tmp_path / "env")
    (path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.12.1\n")
    (path / "bin" / "python").symlink_to(sys.executable)
    (path / ".venvsync" / "state.json").write_text("{}")
    real = Path.unlink

    def interrupted(self: Path, *, missing_ok: bool = False) -> None:
        if self.name == "pyvenv.cfg":
            raise KeyboardInterrupt
        real(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", interrupted)
    with pytest.raises(KeyboardInterrupt):
        remove_venv(path, nothing_protected, keep_dir=True)
    monkeypatch.undo()
    assert sorted(p.name for p in path.iterdir()) == [".venvsync", "pyvenv.cfg"]
    assert [p.name for p in (path / ".venvsync").iterdir()] == ["creating"]
    assert not adoptable(inspect(path, nothing_protected), (3, 12, 1))
    remove_venv(path, nothing_protected, keep_dir=True)
    assert list(path.iterdir()) == []


def test_creating_marks_the_venv_only_while_it_is_made(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.mkdir()
    with creating(path):
        assert (path / CREATING).is_file()
    assert not (path / CREATING).exists()
    with pytest.raises(KeyboardInterrupt), creating(path):
        raise KeyboardInterrupt  # cut off: the mark stays for the next run
    assert (path / CREATING).is_file()


def test_prepare_makes_a_cut_off_venv_again(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = _cut_off(tmp_path / "env")
    python = Path(getattr(sys, "_base_executable", sys.executable))
    version = tuple(sys.version_info[:3])
    assert prepare(path, python, version, nothing_protected) == "recreated"
    assert (path / "pyvenv.cfg").is_file()
    assert (path / "bin" / "activate").is_file()
    assert not (path / CREATING).exists()
    assert adoptable(inspect(path, nothing_protected), version)
    assert prepare(path, python, version, nothing_protected) == "adopted"


@pytest.mark.parametrize(
    ("flags", "why"), [(0, "Permission denied"), (os.ST_RDONLY, "Read-only file system")], ids=["another's", "ro"]
)
def test_prepare_refuses_an_empty_directory_it_may_not_write(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch, flags: int, why: str
) -> None:
    # an empty directory made for another user (root's /opt/venvs/py312, mode 755) or on a read-only mount: its first
    # write failed with a sentence naming a temporary file (".tox-info.json.62eqe91f.tmp") or .venvsync, exit code 1,
    # where a missing one under the same parent is a refused location (exit code 2); found by QA as a user other than
    # root. The suite runs as root, whom access(2) lets write anywhere: its answer is simulated
    path = tmp_path / "env"
    path.mkdir()
    access, statvfs = os.access, os.statvfs
    monkeypatch.setattr(os, "access", lambda p, mode: p != path and access(p, mode))
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=flags) if p == path else statvfs(p))
    python = Path(getattr(sys, "_base_executable", sys.executable))
    with pytest.raises(LocationError) as info:
        prepare(path, python, tuple(sys.version_info[:3]), nothing_protected)
    assert info.value.reason == f"it cannot be written ({why}); make it writable or choose a writable env_location"
    assert list(path.iterdir()) == []


def test_a_venv_whose_pyvenv_cfg_cannot_be_read_is_refused_not_recreated(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyvenv.cfg another user's, mode 0600: its version read as none, so the venv was taken for one of another Python
    # and emptied (a file of the user's in it gone) and made again, also by tox; found by QA as a user other than
    # root. The suite runs as root, who reads anything: access(2)'s answer is simulated
    path = _make_venv(tmp_path / "env")
    (path / "notes.txt").write_text("mine\n")
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != str(path / "pyvenv.cfg") and access(p, mode))
    before = sorted(path.rglob("*"))
    python = Path(getattr(sys, "_base_executable", sys.executable))
    for step in (
        lambda: inspect(path, nothing_protected),
        lambda: prepare(path, python, (3, 12, 1), nothing_protected),
        lambda: remove_venv(path, nothing_protected, keep_dir=True),
    ):
        with pytest.raises(LocationError) as info:
            step()
        assert info.value.reason == (
            "its pyvenv.cfg cannot be read (Permission denied), so the Python it was made for is not known; make it "
            "readable, or choose another env_location"
        )
    assert sorted(path.rglob("*")) == before


def test_a_location_below_a_directory_it_may_not_search_is_refused(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --venv /srv/private/venv, /srv/private another user's with mode 0700: "Permission denied at /srv/private/venv;
    # check the permissions of that path", exit code 1, naming no setting; found by QA as a user other than root.
    # The suite runs as root, who searches any directory: the refusal of lstat(2) is simulated
    path = tmp_path / "private" / "venv"
    lstat = Path.lstat

    def refusing(self: Path) -> os.stat_result:
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return lstat(self)

    monkeypatch.setattr(Path, "lstat", refusing)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert info.value.reason == (
        f"it cannot be reached (Permission denied: {path}); check the permissions of the directories above it, or "
        "choose another env_location"
    )


def test_inspect_refusal_shows_three_names_sorted(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    path.mkdir()
    for name in ("d", "b", "a", "c"):
        (path / name).write_text(name)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert info.value.reason == f"it holds files and no pyvenv.cfg (a, b, c, ...), {_NOT_A_VENV}"
    assert sorted(p.name for p in path.iterdir()) == ["a", "b", "c", "d"]
    (path / "d").unlink()  # three names are all shown: nothing is left out (mutation testing)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert info.value.reason == f"it holds files and no pyvenv.cfg (a, b, c), {_NOT_A_VENV}"


def test_inspect_refuses_a_file(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    path.write_text("data")
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(path, "it is a file, not a directory; remove it or choose another env_location")
    assert path.read_text() == "data"


@pytest.mark.parametrize("dangling", [False, True])
def test_inspect_refuses_a_symlink(tmp_path: Path, nothing_protected: Mapping[Path, str], *, dangling: bool) -> None:
    real = _make_venv(tmp_path / "real")
    link = tmp_path / "env"
    link.symlink_to(tmp_path / "nowhere" if dangling else real)
    with pytest.raises(LocationError) as info:
        inspect(link, nothing_protected)
    assert str(info.value) == _refusal(link, "it is a symbolic link; point env_location at the real directory instead")
    assert link.is_symlink()
    assert (real / "pyvenv.cfg").is_file()


@pytest.mark.parametrize("venv", [True, False])
def test_inspect_refuses_a_venvsync_that_is_a_link(
    tmp_path: Path, nothing_protected: Mapping[Path, str], *, venv: bool
) -> None:
    # found by QA: the records dir planted as a link out (a venv others may write), a sync removed the state.json
    # it led to and wrote its own there; in an "empty" directory, the creation's mark went through it
    path = _make_venv(tmp_path / "env") if venv else tmp_path / "env"
    path.mkdir(exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "state.json").write_text("theirs")
    (path / ".venvsync").symlink_to(elsewhere)
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == _refusal(
        path,
        f"its .venvsync, where tox-venvsync keeps the venv's records, is a symbolic link (to {elsewhere}), and "
        f"writing through it would change files outside the venv; remove the link (rm {path}/.venvsync) and run again",
    )
    assert (path / ".venvsync").is_symlink()
    assert (elsewhere / "state.json").read_text() == "theirs"


def test_inspect_refuses_the_root() -> None:
    with pytest.raises(LocationError) as info:
        inspect(Path("/"), protected_paths(None))
    assert str(info.value) == _refusal(Path("/"), "it is the filesystem root")


@pytest.mark.parametrize("through_link", [False, True])
def test_inspect_refuses_the_environment_this_process_runs_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, through_link: bool
) -> None:
    # env_location = .venv where tox itself is installed: a sync would remove tox and the plugin
    running = tmp_path / "tools-venv"
    (running / "bin").mkdir(parents=True)
    (running / "pyvenv.cfg").write_text("version = 3.12.1\n")
    monkeypatch.setattr(sys, "prefix", str(running))
    protected = protected_paths(None, home=tmp_path / "home")
    path = running
    if through_link:
        path = tmp_path / "link"
        path.symlink_to(running)
    with pytest.raises(LocationError) as info:
        inspect(path, protected)
    assert info.value.reason == (
        "it is the Python environment tox-venvsync itself runs from (syncing it would remove tox and this plugin); "
        "choose a directory of its own for the environment"
    )
    assert sorted(p.name for p in running.iterdir()) == ["bin", "pyvenv.cfg"]


def test_inspect_refuses_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(LocationError) as info:
        inspect(home, protected_paths(None))
    assert str(info.value) == _refusal(home, "it is your home directory; choose a directory below it")


def test_inspect_refuses_home_given_as_argument(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pyvenv.cfg").write_text("version = 3.12.1\n")  # even a venv-looking home is refused
    protected = protected_paths(None, home=home)
    assert home in protected
    with pytest.raises(LocationError):
        inspect(home, protected)
    assert inspect(home / "env", protected).kind is Kind.MISSING


def test_inspect_home_argument_names_the_home_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(LocationError) as info:
        inspect(home, protected_paths(None, home=home))
    assert info.value.reason == "it is your home directory; choose a directory below it"


def test_inspect_symlink_to_root_names_the_root(tmp_path: Path) -> None:
    link = tmp_path / "env"
    link.symlink_to("/")
    with pytest.raises(LocationError) as info:
        inspect(link, protected_paths(None))
    assert info.value.reason == "it is the filesystem root"


def test_inspect_symlink_to_protected_path_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    link = tmp_path / "env"
    link.symlink_to(project)
    with pytest.raises(LocationError) as info:
        inspect(link, protected_paths(project, home=tmp_path / "elsewhere"))
    assert info.value.path == link
    assert link.is_symlink()


def test_inspect_refuses_project_root_and_ancestors(tmp_path: Path) -> None:
    project = tmp_path / "a" / "b" / "project"
    project.mkdir(parents=True)
    protected = protected_paths(project, home=tmp_path / "home")
    for path in (project, project.parent, tmp_path / "a", tmp_path):
        with pytest.raises(LocationError) as info:
            inspect(path, protected)
        assert str(info.value) == _refusal(path, _PROJECT)
    assert inspect(project / ".tox" / "py", protected).kind is Kind.MISSING
    assert inspect(tmp_path / "a" / "sibling", protected).kind is Kind.MISSING


def test_protected_paths_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOX_VENVSYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "p" / "xdg"))  # the default cache: inside the project here
    project = tmp_path / "p"
    home = tmp_path / "h"
    cache = project / "xdg" / "tox-venvsync"
    cache_reason = f"it holds tox-venvsync's cache ({cache}); choose a venv outside the cache"
    project_reason = "it is the project root or one of its ancestors; choose a directory of its own for env_location"
    running_reason = (
        "it is the Python environment tox-venvsync itself runs from (syncing it would remove tox and this plugin); "
        "choose a directory of its own for the environment"
    )
    running = dict.fromkeys({Path(os.path.abspath(sys.prefix)), Path(os.path.realpath(sys.prefix))}, running_reason)
    assert protected_paths(project, home=home) == {
        **dict.fromkeys((cache, cache.parent), cache_reason),
        **dict.fromkeys((project, *project.parents), project_reason),
        home: "it is your home directory; choose a directory below it",
        **running,
        Path("/"): "it is the filesystem root",
    }
    assert protected_paths(None, home=home) == {
        **dict.fromkeys((cache, *cache.parents), cache_reason),
        home: "it is your home directory; choose a directory below it",
        **running,
        Path("/"): "it is the filesystem root",
    }


def test_the_cache_and_the_directories_that_hold_it_are_protected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "c" / "cache"
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    protected = protected_paths(tmp_path / "p", home=tmp_path / "h")
    reason = f"it holds tox-venvsync's cache (TOX_VENVSYNC_CACHE_DIR={cache}); choose a venv outside the cache"
    assert protected[cache] == protected[cache.parent] == reason
    assert protected[tmp_path].startswith("it is the project root")  # the project's reason wins where both hold
    assert tmp_path / "c" / "cache" / "venv" not in protected
    with pytest.raises(LocationError, match="it holds tox-venvsync's cache"):
        inspect(cache.parent, protected)
    # the cache, the project and the home directory named here do not exist yet (a first run): each is passed over
    # when another directory is compared with them by device and inode, not an error (mutation testing)
    elsewhere = tmp_path / "venv"
    elsewhere.mkdir()
    assert inspect(elsewhere, protected) == Found(path=elsewhere, kind=Kind.EMPTY)


def test_protected_paths_keep_the_spelling_given(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    protected = protected_paths(link / "project", home=tmp_path / "h")
    assert {link / "project", link, real / "project", real} <= protected.keys()


# --- remove_venv -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep_dir", [True, False])
def test_remove_venv_removes_everything(
    tmp_path: Path, nothing_protected: Mapping[Path, str], *, keep_dir: bool
) -> None:
    path = _make_venv(tmp_path / "env")
    (path / "lib64").symlink_to("lib")
    (path / ".venvsync").mkdir()
    (path / ".venvsync" / "state.json").write_text("{}")
    remove_venv(path, nothing_protected, keep_dir=keep_dir)
    if keep_dir:
        assert path.is_dir()
        assert list(path.iterdir()) == []
    else:
        assert not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["env"] if keep_dir else [])


def test_remove_venv_forgets_the_sync_state_before_anything_else(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a removal interrupted at its first directory leaves no state that calls the venv in sync: venvsync sync
    # reads the state without the lock, and must never take a venv being emptied for one in sync
    path = _make_venv(tmp_path / "env")
    (path / ".venvsync").mkdir()
    (path / ".venvsync" / "state.json").write_text("{}")
    (path / ".venvsync" / "target.json").write_text("{}")

    def interrupted(entry: str, **_: object) -> None:
        raise KeyboardInterrupt(entry)

    monkeypatch.setattr(shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        remove_venv(path, nothing_protected, keep_dir=True)
    assert not (path / ".venvsync" / "state.json").exists()
    assert (path / "pyvenv.cfg").is_file()  # still recognisably a venv, for the next removal to finish


def test_remove_venv_names_the_whole_path_of_a_file_it_may_not_remove(
    tmp_path: Path, nothing_protected: Mapping[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox -r by a user other than root, on a venv where another user left a directory (root's share/rootstuff):
    # rmtree's error named the file relative to its directory, "Permission denied at f.txt"; found by QA. The
    # suite runs as root, which may remove anything: the kernel's refusal is simulated (os.unlink through the
    # directory's descriptor, as rmtree calls it)
    path = _make_venv(tmp_path / "env")
    stuck = path / "share" / "rootstuff" / "f.txt"
    stuck.parent.mkdir(parents=True)
    stuck.write_text("x\n")
    refuse_unlink(monkeypatch, "f.txt")
    with pytest.raises(PermissionError) as raised:
        remove_venv(path, nothing_protected, keep_dir=False)
    assert raised.value.filename == str(stuck)
    assert (path / "pyvenv.cfg").is_file()  # still recognisably a venv, for the next removal to finish
    monkeypatch.undo()
    remove_venv(path, nothing_protected, keep_dir=False)
    assert not path.exists()


def test_remove_venv_with_a_file_where_our_directory_goes(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # the state is forgotten first: a venv whose .venvsync is a file has none, and is removed like any other
    path = _make_venv(tmp_path / "env")
    (path / ".venvsync").write_text("not a directory\n")
    remove_venv(path, nothing_protected, keep_dir=True)
    assert list(path.iterdir()) == []


def test_remove_venv_does_not_follow_symlinks(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    (outside / "sub").mkdir()
    (outside / "sub" / "deep.txt").write_text("deep")
    path = _make_venv(tmp_path / "env")
    (path / "linked-dir").symlink_to(outside)
    (path / "linked-file").symlink_to(outside / "precious.txt")
    (path / "lib" / "nested-link").symlink_to(outside)
    # tox-venvsync's own directory too, which is emptied on its own before pyvenv.cfg goes: a link is never entered
    # (no test held that check: mutation testing)
    (path / ".venvsync").symlink_to(outside)
    (outside / "state.json").write_text("theirs")  # the state is forgotten first: never through the link
    before = _snapshot(outside)

    remove_venv(path, nothing_protected, keep_dir=False)

    assert not path.exists()
    assert _snapshot(outside) == before


def test_remove_venv_refuses_non_venv_and_leaves_files(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    path = tmp_path / "env"
    (path / "src").mkdir(parents=True)
    (path / "src" / "main.py").write_text("print()\n")
    (path / "README").write_text("hi")
    before = _snapshot(path)
    with pytest.raises(LocationError) as info:
        remove_venv(path, nothing_protected, keep_dir=False)
    assert str(info.value) == _refusal(path, f"it holds files and no pyvenv.cfg (README, src), {_NOT_A_VENV}")
    assert _snapshot(path) == before


@pytest.mark.parametrize("inner", ["inner", "sub/inner", "a/b/inner"])
def test_remove_venv_refuses_a_venv_holding_another_venv(
    tmp_path: Path, nothing_protected: Mapping[Path, str], inner: str
) -> None:
    # two environments whose locations nest, synced in separate runs: recreating the outer one (tox -r) emptied
    # the inner venv with it (found by QA)
    path = _make_venv(tmp_path / "outer")
    nested = _make_venv(path / inner)
    (path / ".venvsync").mkdir()
    (path / "log").mkdir()  # tox's own directory in an env_dir is looked through like any other
    before = _snapshot(path)
    with pytest.raises(LocationError) as info:
        remove_venv(path, nothing_protected, keep_dir=False)
    reason = f"it holds another virtual environment, {nested}, that emptying it would remove"
    assert str(info.value) == _refusal(path, f"{reason}; move that one out, or remove it yourself first")
    assert _snapshot(path) == before


def test_remove_venv_looks_for_another_venv_only_outside_its_own_layout(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # a package may ship a file named pyvenv.cfg (test data): site-packages is never searched, and a directory deeper
    # than three levels below the top is not either; a link to a venv elsewhere is removed, never entered
    path = _make_venv(tmp_path / "env")
    (path / "lib" / "python3.12" / "site-packages" / "pkg" / "pyvenv.cfg").write_text("data\n")
    deep = path / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "pyvenv.cfg").write_text("home = /usr/bin\n")
    elsewhere = _make_venv(tmp_path / "elsewhere")
    (path / "linked").symlink_to(elsewhere)
    remove_venv(path, nothing_protected, keep_dir=False)
    assert not path.exists()
    assert (elsewhere / "pyvenv.cfg").is_file()


def test_remove_venv_refuses_protected(tmp_path: Path) -> None:
    project = _make_venv(tmp_path / "project")  # a project root that happens to hold a pyvenv.cfg
    before = _snapshot(project)
    with pytest.raises(LocationError) as info:
        remove_venv(project, protected_paths(project, home=tmp_path / "h"), keep_dir=True)
    assert info.value.reason == _PROJECT
    assert _snapshot(project) == before


def test_remove_venv_missing_is_a_no_op(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    remove_venv(tmp_path / "env", nothing_protected, keep_dir=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("keep_dir", [True, False])
def test_remove_venv_empty_dir(tmp_path: Path, nothing_protected: Mapping[Path, str], *, keep_dir: bool) -> None:
    path = tmp_path / "env"
    path.mkdir()
    (path / ".tox-info.json").write_text("{}")
    remove_venv(path, nothing_protected, keep_dir=keep_dir)
    assert path.exists() is keep_dir
    if keep_dir:
        assert list(path.iterdir()) == []


def test_remove_venv_refuses_symlink(tmp_path: Path, nothing_protected: Mapping[Path, str]) -> None:
    real = _make_venv(tmp_path / "real")
    link = tmp_path / "env"
    link.symlink_to(real)
    before = _snapshot(real)
    with pytest.raises(LocationError):
        remove_venv(link, nothing_protected, keep_dir=False)
    assert _snapshot(real) == before
    assert link.is_symlink()


# --- pyvenv.cfg --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("home = /usr/bin\nversion = 3.12.1\n", (3, 12, 1), id="venv"),
        pytest.param(
            "home = /usr/bin\nversion_info = 3.12.1.final.0\nvirtualenv = 20.29\n", (3, 12, 1), id="virtualenv"
        ),
        pytest.param(
            "home = /usr/bin\nimplementation = CPython\nuv = 0.5\nversion_info = 3.12.1\n", (3, 12, 1), id="uv"
        ),
        pytest.param("version_info = 3.13.0.candidate.1\nversion = 3.12.9\n", (3, 13, 0), id="version-info-wins"),
        pytest.param("VERSION=3.11.7\n", (3, 11, 7), id="case-and-spacing"),
        pytest.param("version = 3.12\n", None, id="two-parts"),
        pytest.param("version = banana\n", None, id="garbage"),
        # a digit to str.isdigit, no number to int(): a ValueError traceback (found by QA)
        pytest.param("version = 3.12.\u00b2\n", None, id="other-digits"),
        pytest.param("home = /usr/bin\n", None, id="no-version"),
    ],
)
def test_venv_python_version(tmp_path: Path, content: str, expected: tuple[int, ...] | None) -> None:
    (tmp_path / "pyvenv.cfg").write_text(content, encoding="utf-8")
    assert venv_python_version(tmp_path) == expected


def test_venv_python_version_without_cfg(tmp_path: Path) -> None:
    assert venv_python_version(tmp_path) is None


def test_read_pyvenv_cfg(tmp_path: Path) -> None:
    (tmp_path / "pyvenv.cfg").write_text(
        "home = /opt/py/bin\nInclude-System-Site-Packages = false\nno equals sign here\ncommand = a = b\n",
        encoding="utf-8",
    )
    assert read_pyvenv_cfg(tmp_path) == {
        "home": "/opt/py/bin",
        "include-system-site-packages": "false",
        "command": "a = b",
    }


@pytest.mark.parametrize("content", [None, b"\xff\xfe version = 3.12.1\n"])
def test_read_pyvenv_cfg_unreadable_is_empty(tmp_path: Path, content: bytes | None) -> None:
    if content is not None:
        (tmp_path / "pyvenv.cfg").write_bytes(content)
    assert read_pyvenv_cfg(tmp_path) == {}


def test_real_venv_version(tmp_path: Path, python312: Path) -> None:
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(tmp_path / "env")], check=True)
    out = subprocess.run(
        [str(python312), "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True, text=True, check=True
    ).stdout
    assert venv_python_version(tmp_path / "env") == tuple(int(part) for part in out.split())
    assert inspect(tmp_path / "env", {}).kind is Kind.VENV


def test_project_reached_through_its_real_path_is_protected(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    project = _make_venv(real / "proj")  # someone ran `python -m venv .` in the project
    (project / "setup.py").write_text("precious")
    protected = protected_paths(tmp_path / "link" / "proj", home=tmp_path / "home")
    with pytest.raises(LocationError):
        inspect(project, protected)


def test_create_in_process_makes_a_venv_of_the_running_python(tmp_path: Path) -> None:
    running = Path(getattr(sys, "_base_executable", sys.executable))
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".gitignore").write_text("mine\n")  # a file already there is kept as it is
    assert can_create_in_process(running)
    assert create_in_process(venv, running)
    assert (venv / ".gitignore").read_text() == "mine\n"
    assert venv_python_version(venv) == sys.version_info[:3]
    answer = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.prefix != sys.base_prefix, sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.split() == ["True", str(venv)]
    assert (venv / "bin" / "activate").is_file()


def test_create_in_process_leaves_another_python_to_virtualenv(tmp_path: Path) -> None:
    other = shutil.which("python3.11") if sys.version_info[:2] != (3, 11) else shutil.which("python3.12")
    assert other is not None, "tests/conftest.py puts several Pythons on PATH"
    code = "import sys; print(sys.executable)"
    asked = subprocess.run([other, "-c", code], capture_output=True, text=True, check=True)
    real = Path(asked.stdout.strip())
    assert not can_create_in_process(real)
    assert not create_in_process(tmp_path / "venv", real)
    assert not (tmp_path / "venv").exists()


def test_create_in_process_failing_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")  # the venv would go under a file: mkdir fails, also for root
    expected = r"file/venv as a virtual environment: the venv could not be created with .*python.* "
    expected += r"\(Not a directory: .*/file/venv\); make it writable or choose another env_location$"
    with pytest.raises(LocationError, match=expected):
        create_in_process(tmp_path / "file" / "venv", Path(getattr(sys, "_base_executable", sys.executable)))
    assert (tmp_path / "file").read_text() == "x"


def test_a_location_that_cannot_be_made_leaves_no_parent_it_made(tmp_path: Path) -> None:
    # found by QA: env_location = /srv/new/venvs/<a name of 256 characters> was refused, and /srv/new/venvs stayed
    # behind, made for nothing; the refusal said to choose a "writable" location
    name = "n" * 256  # longer than any file system of Linux takes (NAME_MAX, 255)
    (tmp_path / "there").mkdir()
    path = tmp_path / "there" / "new" / "venvs" / name
    with pytest.raises(LocationError) as info:
        create_dir(path)
    assert info.value.reason == f"it cannot be created (File name too long: {path}); choose a shorter env_location"
    assert list((tmp_path / "there").iterdir()) == []  # what was there stays; what was made goes


def test_virtualenv_on_a_full_disk_is_the_disk_not_the_location(
    tmp_path: Path, mocker: MockerFixture, nothing_protected: Mapping[Path, str]
) -> None:
    # another Python than the running one, or --seed: virtualenv makes the venv; a full disk read "refusing to use
    # ... as a virtual environment: virtualenv could not create it with ... ([Errno 28] No space left on device)"
    mocker.patch("virtualenv.cli_run", side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    venv = tmp_path / "venv"
    python = Path(getattr(sys, "_base_executable", sys.executable))
    with pytest.raises(OSError, match="No space left on device") as info:
        prepare(venv, python, tuple(sys.version_info[:3]), nothing_protected, seed=True)
    assert not isinstance(info.value, LocationError)
    assert (info.value.errno, info.value.filename) == (errno.ENOSPC, str(venv))
    assert cut_off(venv)  # the next run makes it again


def test_create_in_process_on_a_full_disk_is_the_disk_not_the_location(tmp_path: Path, mocker: MockerFixture) -> None:
    # found by QA on a full tmpfs: "refusing to use ... as a virtual environment: the venv could not be created with
    # ... ([Errno 28] No space left on device); make it writable or choose another --venv", exit code 2 (bad input)
    mocker.patch("venv.EnvBuilder.create", side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    venv = tmp_path / "venv"
    with pytest.raises(OSError, match="No space left on device") as info:
        create_in_process(venv, Path(getattr(sys, "_base_executable", sys.executable)))
    assert not isinstance(info.value, LocationError)
    assert (info.value.errno, info.value.filename) == (errno.ENOSPC, str(venv))


def test_a_name_that_is_not_utf8_is_refused_before_anything_is_made(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # venv writes the path into its activation scripts as text: it failed half-way with a UnicodeEncodeError
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/venv-\xff"))
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert info.value.reason == "its name is not valid UTF-8 text; choose a path in UTF-8"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("made", [False, True], ids=["missing", "a venv"])
def test_a_path_with_the_path_separator_is_refused_before_anything_is_made(
    tmp_path: Path, nothing_protected: Mapping[Path, str], *, made: bool
) -> None:
    # found by QA: env_location = /srv/a:b/venv ended in a traceback (the standard library's venv raises ValueError
    # for it, as virtualenv refuses it in its usage text); a venv there could not have its bin/ on PATH either
    path = tmp_path / "a:b" / "venv"
    if made:
        path.mkdir(parents=True)
        (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with pytest.raises(LocationError) as info:
        inspect(path, nothing_protected)
    assert str(info.value) == (
        f"refusing to use {path} as a virtual environment: its path holds ':', the separator of PATH, so its bin "
        "directory could not be put on PATH (python -m venv, virtualenv and uv refuse it too); choose a path without "
        "':'"
    )
    assert [p.name for p in tmp_path.rglob("*")] == (["a:b", "venv", "pyvenv.cfg"] if made else [])


def test_a_protected_directory_under_another_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a bind mount shows a protected directory (the running venv, home) at another path no link resolves
    protected_dir = tmp_path / "tools-venv"
    protected_dir.mkdir()
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "pyvenv.cfg").write_text("version = 3.12.1\n")
    real_stat = Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        return real_stat(protected_dir if self == mounted else self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(LocationError) as info:
        inspect(mounted, {protected_dir: "it is the protected one"})
    assert info.value.reason == "it is the protected one"
    assert inspect(tmp_path / "elsewhere", {protected_dir: "it is the protected one"}).kind is Kind.MISSING


def test_kernel_path_resolves_what_comes_before_the_last_dot_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep")
    monkeypatch.chdir(tmp_path)
    assert kernel_path(Path("link/../venv")) == tmp_path / "real" / "venv"
    assert kernel_path(Path("link/../../x/venv")) == tmp_path / "x" / "venv"
    assert kernel_path(tmp_path / "link" / ".." / "venv" / "sub") == tmp_path / "real" / "venv" / "sub"
    # without "..", the spelling stays: a linked directory is not replaced by its target, nor is the last name
    assert kernel_path(Path("link/venv")) == tmp_path / "link" / "venv"
    assert kernel_path(Path("link")) == tmp_path / "link"
    assert kernel_path(Path("./a/./b")) == tmp_path / "a" / "b"
    assert kernel_path(Path("missing/../venv")) == tmp_path / "venv"


def test_undo_creation_removes_a_parent_another_venv_of_the_run_made_once_both_are_gone(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # tox p: env a made new/ for its venv, env b then made only new/b; a is undone first (b still there), then b
    made_a = missing_from(tmp_path / "new" / "a")
    _make_venv(tmp_path / "new" / "a")
    made_b = missing_from(tmp_path / "new" / "b")
    _make_venv(tmp_path / "new" / "b")
    assert (made_a, made_b) == (tmp_path / "new", tmp_path / "new" / "b")
    assert made_a is not None
    assert made_b is not None
    run_made = {made_a, made_b}
    undo_creation(tmp_path / "new" / "a", nothing_protected, made_a, run_made=run_made)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["b"]  # not empty: a's made parent stays
    undo_creation(tmp_path / "new" / "b", nothing_protected, made_b, run_made=run_made)
    assert list(tmp_path.iterdir()) == []  # b, the last, finds new/ empty: made by the run, removed


def test_undo_creation_never_removes_a_directory_the_run_did_not_make(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    (tmp_path / "there").mkdir()  # empty, there before the run: a mount point, say
    made = missing_from(tmp_path / "there" / "new" / "a")
    _make_venv(tmp_path / "there" / "new" / "a")
    undo_creation(tmp_path / "there" / "new" / "a", nothing_protected, made, run_made={tmp_path / "other"})
    assert [p.name for p in tmp_path.iterdir()] == ["there"]
    assert list((tmp_path / "there").iterdir()) == []


def test_undo_creation_in_a_directory_that_was_there_empties_it_and_keeps_it(
    tmp_path: Path, nothing_protected: Mapping[Path, str]
) -> None:
    # an empty directory made for the venv (a mount point, a Docker volume): what the run put there goes, the
    # directory and its parents stay (no test made the venv in a directory that was there: mutation testing)
    volume = tmp_path / "volume"
    volume.mkdir()
    made = missing_from(volume)
    assert made is None
    _make_venv(volume)
    undo_creation(volume, nothing_protected, made)
    assert volume.is_dir()
    assert list(volume.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["volume"]
