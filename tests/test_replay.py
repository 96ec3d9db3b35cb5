"""The placement memo: a new venv filled again as the last one at its place was, and never otherwise."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.utils import parse_wheel_filename

from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _placeable, _replay, _unpacked
from tox_venvsync._cache import Cache
from tox_venvsync._installed import scan
from tox_venvsync._journal import Journal
from tox_venvsync._sync import LocalWheel, SyncSpec, sync
from tox_venvsync._verify import check_records

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from _support.index import LocalIndex
    from tox_venvsync._target import Target


class Env:
    """A venv at a fixed place that can be made again, its interpreter's facts, a cache and a lock."""

    def __init__(self, venv: Path, make_venv: Callable[[Path], Target], cache: Cache, lock: Path) -> None:
        self.venv = venv
        self.make_venv = make_venv
        self.cache = cache
        self.lock = lock
        self.target = self.create()

    def create(self) -> Target:
        if self.venv.exists():
            shutil.rmtree(self.venv)
        return self.make_venv(self.venv)

    def sync(self, project: Sequence[LocalWheel] = ()) -> bool:
        outcome = sync(SyncSpec(venv=self.venv, lock_path=self.lock, project=project), self.target, cache=self.cache)
        return outcome.applied

    def tree(self) -> dict[str, tuple[object, ...]]:
        """Every entry of the venv: its kind, mode, bytes (or link target) and inode, but the sync's own state."""
        found: dict[str, tuple[object, ...]] = {}
        for path in sorted(self.venv.rglob("*")):
            relative = str(path.relative_to(self.venv))
            if relative in {".venvsync/state.json", ".venvsync/target.json"}:
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", str(path.readlink()))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", stat.S_IMODE(info.st_mode))
            else:  # a file linked from the cache: the same inode (its file there), else a file of the venv's own
                inode = info.st_ino if info.st_nlink > 1 else None
                found[relative] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes(), inode)
        return found


@pytest.fixture
def env(
    tmp_path: Path, make_venv: Callable[[Path], Target], cache_dir: Path, wheelhouse: Path, local_index: LocalIndex
) -> Env:
    wheels = [
        make_wheel(
            wheelhouse,
            "alpha",
            "1.0",
            modules={"alpha/__init__.py": "A = 1\n", "alpha/sub/deep/mod.py": "B = 2\n", "alpha/data.txt": "x"},
            console_scripts={"alpha-cli": "alpha:main"},
            data={"scripts/alpha-tool": b"#!python\nprint(1)\n", "data/share/alpha/doc.txt": b"doc\n"},
        ),
        make_wheel(wheelhouse, "beta", "2.0", data={"headers/beta.h": b"int beta;\n"}),
        make_wheel(wheelhouse, "gamma", "3.0", modules={"gamma.py": "G = 3\n"}),
    ]
    env = Env(tmp_path / "venv", make_venv, Cache(cache_dir), tmp_path / "lock" / "pylock.toml")
    _lock(env, local_index, wheels)
    return env


def _lock(env: Env, index: LocalIndex, wheels: list[Path]) -> None:
    packages = []
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        packages.append(package_entry(name, str(version), [wheel_entry(wheel, url=index.file_url(wheel.name))]))
    write_pylock(env.lock, packages)


def _drift(env: Env, count: int = 3) -> bool:
    """Whether a file differs from its RECORD, or is missing, or the venv does not hold ``count`` distributions."""
    site = env.venv / "lib" / "python3.12" / "site-packages"
    return bool(check_records(scan([site]), env.venv)) or len(scan([site])) != count


def _placed(env: Env) -> dict[str, tuple[object, ...]]:
    """The venv as a placement without a memo makes it, from a warm cache; the memo of it is kept.

    Not the first sync's: two linking threads may each write one of the cache's shared files (INSTALLER) while
    the other links the one it wrote, which is replaced (the same bytes, another inode); a placement that then
    writes the file instead of linking it is not remembered at all (CI saw no memo after the first sync).
    """
    assert env.sync()
    env.create()
    _memo(env).unlink(missing_ok=True)
    assert env.sync()
    return env.tree()


def _memo(env: Env) -> Path:
    return _replay.memo_path(env.cache, env.venv)


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[bool]:
    """Count the calls to ``module.name`` (each appends what it returned)."""
    calls: list[bool] = []
    original: Callable[..., object] = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        calls.append(bool(result))
        return result

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_new_venv_made_from_the_memo_equals_one_placed_from_the_trees(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = _placed(env)
    assert _memo(env).is_file()

    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    manifests = _counting(monkeypatch, _unpacked, "_load")
    assert env.sync()
    assert runs == [True]
    assert manifests == []  # no tree's manifest read: the memo holds every path
    assert env.tree() == placed  # every file the same bytes, mode and inode; the same directories and links
    assert not _drift(env)
    assert not (env.venv / ".venvsync" / "journal.json").exists()
    out = subprocess.run(
        [str(env.venv / "bin" / "alpha-tool")], capture_output=True, text=True, check=True
    ).stdout  # its #! line names the new venv's interpreter
    assert out == "1\n"
    assert not env.sync()  # in sync, recorded as such


def test_the_projects_wheel_is_installed_after_the_replay(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built = tmp_path / "built"
    built.mkdir()
    project = [LocalWheel(path=make_wheel(built, "proj", "0.1", modules={"proj/__init__.py": "P = 1\n"}))]
    assert env.sync(project)
    env.create()
    _memo(env).unlink(missing_ok=True)  # none when the first placement wrote a shared file
    assert env.sync(project)  # the cache's shared files were there: see _placed
    placed = env.tree()
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync(project)
    assert runs == [True]
    assert env.tree() == placed
    assert not _drift(env, 4)
    assert not env.sync(project)


def test_a_memo_of_another_lock_is_not_replayed_and_is_replaced(
    env: Env, monkeypatch: pytest.MonkeyPatch, wheelhouse: Path, local_index: LocalIndex
) -> None:
    assert env.sync()
    _lock(env, local_index, [make_wheel(wheelhouse, "alpha", "1.1"), make_wheel(wheelhouse, "gamma", "3.0")])
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == []
    assert not _drift(env, 2)
    placed = env.tree()

    env.create()
    assert env.sync()
    assert runs == [True]  # the memo of the new lock
    assert env.tree() == placed


def test_a_memo_for_another_place_or_interpreter_is_another_key(
    env: Env, target_of: Callable[[str], Target], tmp_path: Path
) -> None:
    installs = [("alpha", "1.0", str(tmp_path / "tree"), b"")]
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / ".venvsync-wheel.json").write_text("{}")
    target = target_of("3.12")
    key = _replay.placement_key(target, env.cache, env.venv, installs, "cpython-312")
    assert key is not None
    assert _replay.placement_key(target, env.cache, tmp_path / "other", installs, "cpython-312") != key
    assert _replay.placement_key(target_of("3.11"), env.cache, env.venv, installs, "cpython-311") != key
    assert _replay.placement_key(target, env.cache, env.venv, [(*installs[0][:3], b"x")], "cpython-312") != key
    assert _replay.memo_path(env.cache, env.venv) != _replay.memo_path(env.cache, tmp_path / "other")
    (tmp_path / "tree" / ".venvsync-wheel.json").unlink()
    assert _replay.placement_key(target, env.cache, env.venv, installs, "cpython-312") is None


def test_a_tree_unpacked_again_is_another_key(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    placed = _placed(env)
    for tree in env.cache.unpacked_dir.glob("*/*/*"):
        shutil.rmtree(tree)
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == []  # unpacked again: new inodes, another key
    assert not _drift(env)
    assert {k: v[:3] for k, v in env.tree().items()} == {k: v[:3] for k, v in placed.items()}


@pytest.mark.parametrize("where", ["tree-file", "record"])
def test_a_replay_that_fails_half_way_leaves_nothing_and_the_sync_places_the_trees(
    env: Env, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    placed = _placed(env)
    if where == "tree-file":  # a file of a tree gone: the replay's link of it fails after others were made
        next(env.cache.unpacked_dir.rglob("sub/deep/mod.py")).unlink()
    else:  # found by mutation testing: a RECORD changed in the cache stops the replay after every other shared file
        record = json.loads(_memo(env).read_text())["records"][-1][0]
        with (env.cache.root / record).open("ab") as file:
            file.write(b"changed,,\n")
    env.create()
    before = {k: v for k, v in env.tree().items() if not k.startswith(".venvsync")}
    seen: list[dict[str, tuple[object, ...]]] = []
    original = _replay.Replay.run

    def run(self: _replay.Replay) -> bool:
        result = original(self)
        seen.append({k: v for k, v in env.tree().items() if not k.startswith(".venvsync")})
        return result

    monkeypatch.setattr(_replay.Replay, "run", run)
    assert env.sync()
    assert seen == [before]  # undone: not a directory or file of its own left
    assert not _drift(env)
    assert env.tree().keys() == placed.keys()
    assert (env.venv / "lib" / "python3.12" / "site-packages" / "alpha" / "sub" / "deep" / "mod.py").read_text() == (
        "B = 2\n"
    )


def test_a_file_in_the_way_stops_the_replay_and_stays_for_the_placement(env: Env) -> None:
    assert env.sync()
    env.create()
    mine = env.venv / "lib" / "python3.12" / "site-packages" / "gamma.py"
    mine.write_text("mine\n")
    assert env.sync()
    assert mine.read_text() == "G = 3\n"  # placed as without a memo: the wheel's file replaces it
    assert not _drift(env)


@pytest.mark.parametrize("change", ["mode", "size"])
def test_a_shared_file_changed_through_a_venv_is_written_again_not_replayed(env: Env, change: str) -> None:
    # found by mutation testing: a console script is a hard link to the cache's one copy (files/), so a chmod or
    # an edit in place in one venv changes that copy; the replay must not link it into the next venv as it is now
    placed = _placed(env)
    script = env.venv / "bin" / "alpha-cli"
    if change == "mode":
        script.chmod(0o644)  # the executable bit taken off by hand
    else:
        with script.open("ab") as file:
            file.write(b"# edited\n")
    env.create()
    assert env.sync()
    assert not _drift(env)
    assert script.read_bytes() == placed["bin/alpha-cli"][2]
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert subprocess.run([str(script)], capture_output=True, text=True, check=False).returncode != 126  # it runs


def test_a_replay_cut_off_is_cleared_by_the_next_sync(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    placed = _placed(env)
    env.create()
    links = 0
    real_link = os.link

    def cut(source: str, destination: str) -> None:
        nonlocal links
        links += 1
        if links == 4:
            raise KeyboardInterrupt  # a kill: nothing after it runs
        real_link(source, destination)

    monkeypatch.setattr(_replay, "_undo", lambda *_: None)  # a kill undoes nothing
    monkeypatch.setattr(os, "link", cut)  # the replay's links: it makes the first ones
    with pytest.raises(KeyboardInterrupt):
        env.sync()
    monkeypatch.undo()
    assert Journal(env.venv).pending() == frozenset({"alpha", "beta", "gamma"})
    assert not (env.venv / ".venvsync" / "state.json").exists()
    assert env.sync()
    assert not _drift(env)
    assert env.tree() == placed
    assert not env.sync()


_OUTSIDE = "../../outside"


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("made", [_OUTSIDE]),
        ("made", ["/abs"]),
        ("links", [["unpacked/x", _OUTSIDE, ["f"]]]),
        ("links", [["unpacked/../../etc", "lib", ["passwd"]]]),
        ("links", [["elsewhere/x", "lib", ["f"]]]),
        ("links", [["unpacked/x", "lib", ["../f"]]]),
        ("links", [["unpacked/x", "lib", [".."]]]),
        ("links", [["unpacked/x", "lib", [1]]]),
        ("links", [["unpacked/x", "lib", ["a\0b"]]]),  # os.link raises ValueError, no OSError, for it
        ("shared", [["files/x", "bin/../../x", 1, 420]]),
        ("records", [["/etc/passwd", "x/RECORD", 1, 420]]),
        ("sources", [["lib", "unpacked/../x", ""]]),
        ("made", "lib"),
    ],
)
def test_a_memo_that_leads_anywhere_else_is_not_replayed(
    env: Env, monkeypatch: pytest.MonkeyPatch, part: str, value: object
) -> None:
    placed = _placed(env)
    memo = json.loads(_memo(env).read_text())
    memo[part] = value
    _memo(env).write_text(json.dumps(memo))
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == []
    assert env.tree() == placed
    assert not (env.venv.parent / "outside").exists()


@pytest.mark.parametrize(
    ("value", "cache", "empty", "passes"),
    [
        ("lib/python3.12/site-packages", False, False, True),
        ("a", False, False, True),
        ("...", False, False, True),  # a name, if an odd one
        ("a../.b", False, False, True),
        ("", False, False, False),
        ("", False, True, True),  # the venv's own top directory, where a caller allows it
        ("/", False, True, False),
        ("/abs", False, False, False),
        ("a/", False, False, False),
        ("a//b", False, False, False),
        (".", False, False, False),
        ("..", False, False, False),
        ("a/./b", False, False, False),
        ("a/..", False, False, False),
        ("../a", False, False, False),
        ("a\\..\\b", False, False, False),
        ("a\0b", False, False, False),
        ("unpacked/sha256/ab/x", True, False, True),
        ("files/ab", True, False, True),
        ("files", True, False, True),
        ("unpackedx/a", True, False, False),
        ("other/unpacked", True, False, False),
        ("unpacked/../../etc", True, False, False),
        ("", True, False, False),
    ],
)
def test_a_memo_path_is_relative_without_dot_parts(value: str, *, cache: bool, empty: bool, passes: bool) -> None:
    if passes:
        assert _replay._path(value, cache=cache, empty=empty) == value
    else:
        with pytest.raises(ValueError, match=f"^{re.escape(value)}$"):  # the path refused is named
            _replay._path(value, cache=cache, empty=empty)


def test_a_memo_nested_too_deeply_to_read_is_not_replayed(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    placed = _placed(env)
    _memo(env).write_text("[" * 100_000)  # json.loads raises RecursionError, no ValueError, for this
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == []
    assert env.tree() == placed


def test_a_memo_relying_on_a_directory_that_links_out_is_not_replayed(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert env.sync()
    memo = json.loads(_memo(env).read_text())
    site = "lib/python3.12/site-packages"
    memo["made"] = [d for d in memo["made"] if d != f"{site}/alpha" and not d.startswith(f"{site}/alpha/")]
    _memo(env).write_text(json.dumps(memo))  # alpha's directories are relied on, no longer made
    env.create()
    outside = tmp_path / "outside"
    (outside / "sub" / "deep").mkdir(parents=True)
    (env.venv / site / "alpha").symlink_to(outside)
    runs = _counting(monkeypatch, _replay.Replay, "run")
    with pytest.raises(Exception, match="outside the virtual environment"):
        env.sync()  # refused as a placement refuses it
    assert runs == [False]
    assert list(outside.rglob("*")) == [outside / "sub", outside / "sub" / "deep"]


def test_a_memo_linking_shared_files_into_a_directory_that_links_out_is_not_replayed(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # found by mutation testing: bin/ holds only generated (shared) files, so only their rows make the replay rely
    # on it; it is checked to lead inside the venv as the directories of the trees' links are (behind the sync's own
    # refusal of a scheme directory linked out, see test_sync, left out here to reach the replay's)
    monkeypatch.setattr(_placeable, "refuse_schemes_linked_out", lambda *_: None)
    _placed(env)
    env.create()
    outside = tmp_path / "outside-bin"
    shutil.move(env.venv / "bin", outside)
    (env.venv / "bin").symlink_to(outside)
    mine = sorted(p.name for p in outside.iterdir())
    seen: list[tuple[bool, list[str]]] = []
    original = _replay.Replay.run

    def run(self: _replay.Replay) -> bool:
        result = original(self)
        seen.append((result, sorted(p.name for p in outside.iterdir())))
        raise KeyboardInterrupt  # what the placement does then is not this test's

    monkeypatch.setattr(_replay.Replay, "run", run)
    with pytest.raises(KeyboardInterrupt):
        env.sync()
    assert seen == [(False, mine)]


def test_a_shared_file_with_as_many_links_as_allowed_is_put_anew_and_the_placement_remembered(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = _placed(env)
    memo = json.loads(_memo(env).read_text())
    installer = next(env.cache.root / row[0] for row in memo["shared"] if row[1].endswith("/INSTALLER"))
    full = installer.stat().st_ino
    real_link = os.link

    def link(source: str, destination: str) -> None:
        if Path(source).stat().st_ino == full:  # ext4's 65,000: every distribution of every venv links INSTALLER
            raise OSError(errno.EMLINK, "Too many links", source, None, destination)
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link)
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == [False]  # the memo links the full file: undone, and placed from the trees
    installed = [path.stat() for path in env.venv.rglob("INSTALLER")]
    assert len(installed) == 3
    assert {(found.st_ino, found.st_nlink > 1) for found in installed} == {(installer.stat().st_ino, True)}
    assert installer.stat().st_ino != full  # the cache's copy is a new file; the venvs linked to the old keep it
    assert not _drift(env)

    env.create()
    assert env.sync()
    assert runs == [False, True]  # remembered again, with the new copy
    assert {k: v[:3] for k, v in env.tree().items()} == {k: v[:3] for k, v in placed.items()}
    assert not _drift(env)


def test_a_memo_whose_replay_fails_and_whose_placement_copies_is_removed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = _placed(env)
    real_link = os.link

    def link(source: str, destination: str) -> None:
        if destination.startswith(str(env.venv)):  # the venv on another filesystem now (a tmpfs mounted there)
            raise OSError(errno.EXDEV, "Invalid cross-device link", source, None, destination)
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link)
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == [False]  # its first link fails: undone, and every file copied
    assert not _drift(env)
    assert not _memo(env).exists()  # not made again up to its first link, and undone, on every recreate
    env.create()
    assert env.sync()
    assert runs == [False]

    monkeypatch.setattr(os, "link", real_link)  # back on the cache's filesystem: remembered again
    env.create()
    assert env.sync()
    env.create()
    assert env.sync()
    assert runs == [False, True]
    assert env.tree() == placed


#: a sync that is killed (SIGKILL) as it renames the placement memo into ``placements/``
_KILLED_AT_THE_MEMO = """
import os, signal, sys
from pathlib import Path
from tox_venvsync._cache import Cache
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._target import query_interpreter

real = os.replace
def replace(source, destination, *args, **kwargs):
    if "placements" in Path(destination).parts:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(source, destination, *args, **kwargs)
os.replace = replace
venv, lock, cache = map(Path, sys.argv[1:])
sync(SyncSpec(venv=venv, lock_path=lock), query_interpreter(venv / "bin" / "python"), cache=Cache(cache))
"""


def test_a_sync_killed_as_it_writes_the_memo_leaves_nothing_of_it_in_placements(env: Env) -> None:
    placed = _placed(env)
    _memo(env).unlink()
    env.create()
    args = [str(env.venv), str(env.lock), str(env.cache.root)]
    killed = subprocess.run([sys.executable, "-c", _KILLED_AT_THE_MEMO, *args], check=False)
    assert killed.returncode == -signal.SIGKILL
    assert list(_memo(env).parent.iterdir()) == []  # its temporary file was in the process's work directory
    assert env.sync()  # the journal's: the placement was not known to be whole
    env.create()
    assert env.sync()
    assert _memo(env).is_file()
    assert [path.name for path in _memo(env).parent.iterdir()] == [_memo(env).name]
    assert env.tree() == placed


#: a first sync into an empty cache, killed (SIGKILL) as it renames a file into the cache's directory ``argv[4]``
_KILLED_AT_A_CACHE_WRITE = """
import os, signal, sys
from pathlib import Path
from tox_venvsync._cache import Cache
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._target import base_facts, query_interpreter

venv, lock, cache, where = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
real = os.replace
def replace(source, destination, *args, **kwargs):
    if Path(destination).is_relative_to(cache / where):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(source, destination, *args, **kwargs)
os.replace = replace
base_facts(cache, Path(os.path.realpath(venv / "bin" / "python")))
sync(SyncSpec(venv=venv, lock_path=lock), query_interpreter(venv / "bin" / "python"), cache=Cache(cache))
"""


@pytest.mark.parametrize("where", ["files", "selections", "toml", "interpreters", "pins"])
def test_a_sync_killed_as_it_writes_into_the_cache_leaves_no_temporary_there(
    env: Env, where: str, wheelhouse: Path, local_index: LocalIndex
) -> None:
    # as the placement memo's (placements/): each memo or shared file was written through a temporary file beside
    # it, which a kill at the rename left in the cache for good (nothing looks there but by a file's own name)
    if where == "pins":  # a hashed requirements file's pins, whose files found on the index are remembered there
        pins = [f"--index-url {local_index.simple_url}"]
        for wheel in sorted(wheelhouse.glob("*.whl")):
            name, version, _, _ = parse_wheel_filename(wheel.name)
            pins.append(f"{name}=={version} --hash=sha256:{sha256_file(wheel)}")
        env.lock = env.lock.parent / "requirements.txt"
        env.lock.write_text("\n".join(pins) + "\n")
    args = [str(env.venv), str(env.lock), str(env.cache.root), where]
    killed = subprocess.run([sys.executable, "-c", _KILLED_AT_A_CACHE_WRITE, *args], check=False)
    assert killed.returncode == -signal.SIGKILL
    directory = env.cache.root / where
    assert directory.is_dir()  # the kill was at a write there
    assert [path.name for path in directory.rglob("*") if path.name.endswith(".tmp")] == []
    env.create()
    assert env.sync()  # the next sync makes the venv, and the dead process's work directory goes
    assert [path.name for path in env.cache.root.rglob("*") if path.name.endswith(".tmp")] == []


def test_only_the_most_recently_written_or_replayed_memos_are_kept(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _placed(env)
    monkeypatch.setattr(_replay, "_KEPT", 3, raising=False)
    placements = _memo(env).parent
    gone = [placements / f"{number:032x}.json" for number in range(4)]  # of venv paths never made again
    for days, path in enumerate(gone, start=1):
        path.write_text("{}")
        os.utime(path, (time.time() - days * 86_400,) * 2)
    os.utime(_memo(env), (time.time() - 10 * 86_400,) * 2)  # the oldest of all, until it is replayed
    env.create()
    runs = _counting(monkeypatch, _replay.Replay, "run")
    assert env.sync()
    assert runs == [True]

    other = Env(tmp_path / "other", env.make_venv, env.cache, env.lock)
    assert other.sync()  # a placement, remembered: the memos past the newest three go
    assert sorted(placements.iterdir()) == sorted([_memo(other), _memo(env), gone[0]])
    env.create()
    assert env.sync()
    assert runs == [True, True]


def test_a_placement_key_changes_with_the_interpreter_and_a_manifest_written_again(
    env: Env, target_of: Callable[[str], Target], tmp_path: Path
) -> None:
    # found by mutation testing: the interpreter's facts are in the key whatever the bytecode tag, and a manifest
    # written again with the same bytes (a tree unpacked again in place) is another key by its inode and times
    tree = tmp_path / "tree"
    tree.mkdir()
    manifest = tree / ".venvsync-wheel.json"
    manifest.write_text("{}")
    installs = [("alpha", "1.0", str(tree), b"")]
    target = target_of("3.12")
    key = _replay.placement_key(target, env.cache, env.venv, installs, None)
    assert key == _replay.placement_key(target, env.cache, env.venv, installs, None)
    assert _replay.placement_key(target_of("3.11"), env.cache, env.venv, installs, None) != key
    again = tree / "again"
    again.write_text("{}")
    os.utime(again, ns=(manifest.stat().st_atime_ns, manifest.stat().st_mtime_ns + 1))
    again.replace(manifest)
    assert _replay.placement_key(target, env.cache, env.venv, installs, None) != key


def test_a_memo_is_made_only_of_links_from_the_cache_into_the_venv_each_under_its_own_name(tmp_path: Path) -> None:
    # found by mutation testing: what a placement did otherwise is never remembered, and a file linked twice is
    # remembered as the later link made it
    cache, venv = Cache(tmp_path / "cache"), tmp_path / "venv"
    tree, site = f"{cache.root}/unpacked/sha256/ab/abcd", f"{venv}/lib/python3.12/site-packages"

    def memo(*links: tuple[str, str]) -> dict[str, object]:
        recorder = _replay.Recorder()
        for source, destination in links:
            recorder.link(source, destination)
        return recorder.memo("key", venv, cache, [])

    assert memo((f"{tree}/a.py", f"{site}/a.py"))["links"] == [
        ["unpacked/sha256/ab/abcd", "lib/python3.12/site-packages", ["a.py"]]
    ]
    assert memo((f"{tmp_path}/elsewhere/a.py", f"{site}/a.py")) == {}
    assert memo((f"{tree}/a.py", f"{tmp_path}/elsewhere/a.py")) == {}
    assert memo((f"{tree}/a.py", f"{site}/b.py")) == {}  # a replay links a tree's file under its own name
    later = memo((f"{tree}/a.py", f"{site}/a.py"), (f"{tree}/sub/a.py", f"{site}/a.py"))
    assert later["links"] == [["unpacked/sha256/ab/abcd/sub", "lib/python3.12/site-packages", ["a.py"]]]
    sources = [(f"{venv}/lib", tree, ""), (f"{tmp_path}/elsewhere", tree, "")]  # "/" fails the memo's check
    assert _replay.Recorder().memo("key", venv, cache, sources)["sources"] == [
        ["/", "unpacked/sha256/ab/abcd", ""],
        ["lib", "unpacked/sha256/ab/abcd", ""],
    ]


def test_a_memo_keeps_the_records_apart_to_link_them_last(tmp_path: Path) -> None:
    # found by mutation testing: a RECORD marks its distribution placed, so a replay links the RECORDs after every
    # other file (see _journal.clear_half_placed); another file named RECORD is a shared file as any other
    cache, venv = Cache(tmp_path / "cache"), tmp_path / "venv"
    site = f"{venv}/lib/python3.12/site-packages"
    recorder = _replay.Recorder()
    recorder.link_shared(f"{cache.root}/files/ab/1", f"{site}/alpha-1.0.dist-info/RECORD", 10, executable=False)
    recorder.link_shared(f"{cache.root}/files/ab/2", f"{site}/alpha-1.0.dist-info/INSTALLER", 9, executable=False)
    recorder.link_shared(f"{cache.root}/files/ab/3", f"{site}/alpha/RECORD", 4, executable=False)
    recorder.link_shared(f"{cache.root}/files/ab/4", f"{venv}/bin/alpha", 5, executable=True)
    memo = recorder.memo("key", venv, cache, [])
    site_in = "lib/python3.12/site-packages"
    assert memo["records"] == [["files/ab/1", f"{site_in}/alpha-1.0.dist-info/RECORD", 10, 0o644]]
    assert memo["shared"] == [
        ["files/ab/2", f"{site_in}/alpha-1.0.dist-info/INSTALLER", 9, 0o644],
        ["files/ab/3", f"{site_in}/alpha/RECORD", 4, 0o644],
        ["files/ab/4", "bin/alpha", 5, 0o755],
    ]
