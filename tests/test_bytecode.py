"""Bytecode shared through the cache: what one venv compiled, the next venv linked from the cache gets."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from _support.installs import from_cache
from _support.venvs import new_venv
from _support.wheels import make_wheel
from tox_venvsync import _bytecode, _values
from tox_venvsync._bytecode import cache_tag, compiled, harvest
from tox_venvsync._cache import Cache
from tox_venvsync._installed import scan
from tox_venvsync._journal import Journal, clear_half_placed
from tox_venvsync._link import LinkInstaller
from tox_venvsync._state import BYTECODE_PENDING
from tox_venvsync._target import query_interpreter
from tox_venvsync._uninstall import uninstall

MODULES = {
    "pkg/__init__.py": "VALUE = 1\n",
    "pkg/sub/mod.py": "NAME = 'mod'\n",
    "single.py": "ONE = 1\n",
    "pkg/unused.py": "NEVER = 'imported'\n",
}
IMPORT = "import pkg.sub.mod, single"
COMPILED = {
    "pkg/__pycache__/__init__.cpython-312.pyc",
    "pkg/sub/__pycache__/mod.cpython-312.pyc",
    "__pycache__/single.cpython-312.pyc",
}


class World:
    """One wheel, one cache, and venvs made from the test's Python 3.12 that link the wheel from the cache."""

    def __init__(self, tmp_path: Path, python: Path, modules: dict[str, str] = MODULES) -> None:
        self.tmp_path = tmp_path
        self.python = python
        self.wheel = make_wheel(tmp_path / "wheels", "pkg", "1.0", modules=modules)
        self.cache = Cache(tmp_path / "cache")

    def venv(self, name: str, *, link: bool = True) -> Path:
        path = self.tmp_path / name
        new_venv(path, self.python)
        self.install(path, link=link)
        return path

    def install(self, path: Path, *, link: bool = True) -> None:
        installer = LinkInstaller(query_interpreter(path / "bin" / "python"), self.cache, link=link)
        installer.check(self.wheel, from_cache(self.wheel))
        installer.install(self.wheel, from_cache(self.wheel))
        installer.remember_sources(path)

    @property
    def tree(self) -> Path:
        return self.cache.unpacked("sha256", hashlib.sha256(self.wheel.read_bytes()).hexdigest())


def run_python(venv: Path, code: str) -> None:
    """Run ``code`` in ``venv`` with bytecode writing on, as a user's command has it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, env=env)


def site(venv: Path) -> Path:
    return venv / "lib" / "python3.12" / "site-packages"


def inode(path: Path) -> int:
    return path.stat().st_ino


@pytest.fixture
def world(tmp_path: Path, python312: Path) -> World:
    return World(tmp_path, python312)


def test_cache_tag_is_cpythons_and_none_for_other_interpreters(python312: Path) -> None:
    target = query_interpreter(python312)
    assert cache_tag(target) == "cpython-312"
    pypy = _values.replace(target, markers={**target.markers, "implementation_name": "pypy"})
    assert cache_tag(pypy) is None


def test_a_new_venv_gets_the_bytecode_an_earlier_venv_compiled(world: World) -> None:
    one = world.venv("one")
    assert not list(site(one).rglob("*.pyc"))  # nothing compiled yet: the first venv has sources only
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    assert not (one / BYTECODE_PENDING).exists()  # once per sync
    assert set(compiled(world.tree, "cpython-312")) == COMPILED
    for path in COMPILED:
        assert inode(world.tree / path) == inode(site(one) / path)  # one file, linked into the cache

    two = world.venv("two")
    linked = {path: inode(site(two) / path) for path in COMPILED}
    assert linked == {path: inode(world.tree / path) for path in COMPILED}
    assert not (site(two) / "pkg/__pycache__/unused.cpython-312.pyc").exists()  # never compiled, never linked
    run_python(two, IMPORT)
    # Python found every .pyc valid for its source: it rewrote none (a rewrite is a new file, a new inode)
    assert {path: inode(site(two) / path) for path in COMPILED} == linked
    assert harvest(two, world.cache.unpacked_dir) == 0  # nothing new to keep


def test_a_venv_that_gets_all_its_bytecode_from_the_cache_leaves_nothing_to_harvest(
    tmp_path: Path, python312: Path
) -> None:
    # the common warm-cache case: the first command after the sync ran a harvest that only found, with a
    # few syscalls per module (2,192 of them: ~0.1 s), that every .pyc came from the cache
    world = World(tmp_path, python312, {path: text for path, text in MODULES.items() if path != "pkg/unused.py"})
    one = world.venv("one")
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    two = world.venv("two")
    assert not (two / BYTECODE_PENDING).exists()


def test_the_harvest_looks_only_where_bytecode_is_missing_and_reads_no_pyc_the_cache_has(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = world.venv("one")
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    two = world.venv("two")  # pkg/unused.py came without bytecode: only its directory is noted
    note = json.loads((two / BYTECODE_PENDING).read_text(encoding="utf-8"))
    assert [relative for _, _, relative in note["directories"]] == ["pkg"]
    run_python(two, "import pkg.unused")
    read: list[str] = []
    real = _bytecode._matches

    def matches(pyc: str, source: os.stat_result) -> bool:
        read.append(Path(pyc).name)
        return real(pyc, source)

    monkeypatch.setattr(_bytecode, "_matches", matches)
    assert harvest(two, world.cache.unpacked_dir) == 1
    assert read == ["unused.cpython-312.pyc"]  # pkg/__init__'s .pyc is the cache's own file: skipped unread
    assert "pkg/__pycache__/unused.cpython-312.pyc" in compiled(world.tree, "cpython-312")


def test_harvest_keeps_only_pythons_own_bytecode_of_the_trees_sources(world: World) -> None:
    one = world.venv("one")
    edited = site(one) / "single.py"
    edited.unlink()
    edited.write_text("ONE = 'edited here'\n")  # no longer the cache's file
    foreign = site(one) / "pkg" / "__pycache__" / "__init__.cpython-311.pyc"
    run_python(one, IMPORT)
    foreign.write_bytes(b"another interpreter's bytecode")
    garbage = site(one) / "pkg" / "sub" / "__pycache__" / "mod.cpython-312.pyc"
    garbage.write_bytes(garbage.read_bytes()[:8] + b"\0" * 8 + garbage.read_bytes()[16:])  # header of no source
    assert harvest(one, world.cache.unpacked_dir) == 1
    assert compiled(world.tree, "cpython-312") == ["pkg/__pycache__/__init__.cpython-312.pyc"]
    assert not (world.tree / "__pycache__").exists()
    assert not (world.tree / "pkg/__pycache__/__init__.cpython-311.pyc").exists()


def test_a_wheels_own_bytecode_in_the_cache_is_never_replaced(tmp_path: Path, python312: Path) -> None:
    shipped = "pkg/__pycache__/__init__.cpython-312.pyc"
    world = World(tmp_path, python312, modules={**MODULES, shipped: "shipped by the wheel, not bytecode"})
    one = world.venv("one")
    before = (world.tree / shipped).stat()
    run_python(one, IMPORT)  # Python rejects the shipped file and writes its own in the venv
    assert (site(one) / shipped).stat().st_ino != before.st_ino
    assert harvest(one, world.cache.unpacked_dir) == 2  # the other two modules
    assert (world.tree / shipped).read_text() == "shipped by the wheel, not bytecode"
    assert (world.tree / shipped).stat().st_ino == before.st_ino
    assert shipped not in compiled(world.tree, "cpython-312")


@pytest.mark.parametrize("old_cache", [False, True])
def test_bytecode_written_under_a_umask_that_hides_reads_reaches_later_venvs_readable(
    world: World, *, old_cache: bool
) -> None:
    # hard links share one mode: a .pyc a command wrote under umask 077 (0600) and the cache kept must not reach a
    # venv a later sync made under 022 (an image's, for other users) readable by its owner only
    before = os.umask(0o077)
    try:
        one = world.venv("one")
        (site(one) / "own.py").write_text("MINE = 1\n")  # the venv's own module, beside one of the tree's
        run_python(one, f"{IMPORT}, own")
        assert harvest(one, world.cache.unpacked_dir) == 3
        if old_cache:  # as earlier versions left it: each .pyc as the umask made it, the list as mkstemp made it
            for path in COMPILED:
                (world.tree / path).chmod(0o600)
            (world.tree / ".venvsync-bytecode-cpython-312.json").chmod(0o600)
        os.umask(0o022)
        two = world.venv("two")
    finally:
        os.umask(before)
    for path in COMPILED:
        assert inode(site(two) / path) == inode(world.tree / path)
        assert stat.S_IMODE((site(two) / path).stat().st_mode) == 0o644
    assert stat.S_IMODE((world.tree / ".venvsync-bytecode-cpython-312.json").stat().st_mode) == 0o644
    # the .pyc of the venv's own module is not the cache's: its mode is the venv's business
    assert stat.S_IMODE((site(one) / "__pycache__" / "own.cpython-312.pyc").stat().st_mode) == 0o600


def copied_without_times(tree: Path) -> None:
    """Give every file of ``tree`` another modification time, as ``cp -r`` or a CI cache step that keeps none does."""
    later = (tree / ".venvsync-wheel.json").stat().st_mtime_ns + 3 * 10**9
    for path in tree.rglob("*"):
        os.utime(path, ns=(later, later))


def valid_for_its_source(pyc: Path) -> bool:
    """Whether Python takes ``pyc`` as it is: its header names its source's time and size."""
    return _bytecode._matches(str(pyc), (pyc.parent.parent / (pyc.name.partition(".")[0] + ".py")).stat())


def test_a_caches_bytecode_whose_sources_changed_times_is_not_linked_and_the_harvest_replaces_it(
    world: World,
) -> None:
    one = world.venv("one")
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    copied_without_times(world.tree)  # every .pyc kept now names its source's old time
    assert not any(valid_for_its_source(world.tree / path) for path in COMPILED)

    two = world.venv("two")
    assert not list(site(two).rglob("*.pyc"))  # none linked: Python would take none of them
    run_python(two, IMPORT)  # compiles them again, in the venv
    assert harvest(two, world.cache.unpacked_dir) == 3  # and the cache keeps those in place of its stale ones
    assert set(compiled(world.tree, "cpython-312")) == COMPILED
    for path in COMPILED:
        assert inode(world.tree / path) == inode(site(two) / path)
        assert valid_for_its_source(world.tree / path)

    three = world.venv("three")
    assert {path: inode(site(three) / path) for path in COMPILED} == {
        path: inode(world.tree / path) for path in COMPILED
    }


def test_compile_bytecode_from_a_cache_copied_without_times_leaves_no_stale_bytecode(world: World) -> None:
    # venvsync sync --compile-bytecode in an image's build stage, with a cache a CI step copied (cp -r): the stale
    # .pyc linked from the cache stood beside every module, so nothing was compiled and the image shipped them
    one = world.venv("one")
    run_python(one, IMPORT)
    harvest(one, world.cache.unpacked_dir)
    copied_without_times(world.tree)
    two = world.venv("two")
    assert _bytecode.compile_venv(two, query_interpreter(two / "bin" / "python"), world.cache.unpacked_dir, synced=True)
    for path in [*COMPILED, "pkg/__pycache__/unused.cpython-312.pyc"]:
        assert valid_for_its_source(site(two) / path), path
        assert inode(site(two) / path) == inode(world.tree / path)  # kept for the next venv too


def test_a_placement_cut_off_before_its_record_is_cleared_with_the_bytecode_it_linked(world: World) -> None:
    # found by mutation testing: a placement links the cache's .pyc beside each module; one cut off before its RECORD
    # (a kill) is cleared by the next sync, and its bytecode with it, or __pycache__ files nobody owns stay
    one = world.venv("one")
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    two = world.venv("two")
    assert {path for path in COMPILED if (site(two) / path).exists()} == COMPILED  # linked from the cache
    (site(two) / "pkg-1.0.dist-info" / "RECORD").unlink()  # as a kill before the RECORD leaves it
    Journal(two).start(["pkg"], {"pkg": str(world.tree)})
    clear_half_placed(two, query_interpreter(two / "bin" / "python"), world.cache.unpacked_dir)
    assert [path for path in site(two).rglob("*") if not path.is_dir()] == []  # no file of it, no .pyc
    assert set(compiled(world.tree, "cpython-312")) == COMPILED  # the cache's own stay


def test_removing_the_package_leaves_the_caches_bytecode(world: World) -> None:
    one = world.venv("one")
    run_python(one, IMPORT)
    harvest(one, world.cache.unpacked_dir)
    two = world.venv("two")
    (dist,) = scan([site(two)])[canonicalize_name("pkg")]
    uninstall(dist, two)
    assert not list(site(two).rglob("*.pyc"))
    assert not (site(two) / "pkg").exists()
    for path in COMPILED:
        assert (world.tree / path).is_file()
        assert (site(one) / path).is_file()


@pytest.mark.reliability("hostile")
def test_a_broken_or_hostile_list_links_nothing(world: World) -> None:
    world.venv("one")  # the tree exists once a venv was placed from it
    (world.tree / ".venvsync-bytecode-cpython-312.json").write_text(
        json.dumps(["../../escape/__pycache__/x.cpython-312.pyc", "/abs/__pycache__/y.cpython-312.pyc", 3])
    )
    assert compiled(world.tree, "cpython-312") == []
    (world.tree / ".venvsync-bytecode-cpython-312.json").write_text("{not json")
    assert compiled(world.tree, "cpython-312") == []
    two = world.venv("two")
    assert not list(site(two).rglob("*.pyc"))


def test_copy_mode_shares_no_bytecode(world: World) -> None:
    one = world.venv("one", link=False)
    assert not (one / BYTECODE_PENDING).exists()
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 0
    assert compiled(world.tree, "cpython-312") == []


def test_another_interpreter_version_gets_none_of_it(world: World) -> None:
    one = world.venv("one")
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
    python311 = shutil.which("python3.11")
    assert python311 is not None, "python3.11 is not on PATH; install it (pyenv install 3.11)"
    other = World(world.tmp_path, Path(python311)).venv("other")  # the same wheel and cache, Python 3.11
    site311 = other / "lib" / "python3.11" / "site-packages"
    assert (site311 / "pkg" / "sub" / "mod.py").stat().st_ino == (world.tree / "pkg/sub/mod.py").stat().st_ino
    assert not list(site311.rglob("*.pyc"))  # 3.12's bytecode stays out of a 3.11 venv


@pytest.mark.reliability("hostile")
def test_a_note_pointing_outside_the_venv_or_the_cache_is_not_followed(world: World, tmp_path: Path) -> None:
    one = world.venv("one")
    run_python(one, IMPORT)
    # the same files elsewhere (hard links, so every other check would pass): a tree outside the cache, and the
    # venv's modules with their bytecode outside the venv
    fake_tree = tmp_path / "fake-tree"
    shutil.copytree(world.tree, fake_tree, copy_function=os.link)
    fake_site = tmp_path / "fake-site"
    shutil.copytree(site(one), fake_site, copy_function=os.link)
    note = json.loads((one / BYTECODE_PENDING).read_text())["directories"]
    edited = [[d, str(fake_tree), r] for d, _, r in note]
    edited += [[d.replace(str(site(one)), str(fake_site)), t, r] for d, t, r in note]
    edited += [[d, t, f"../{Path(t).name}/{r}".rstrip("/")] for d, t, r in note]  # back into the tree, by ..
    (one / BYTECODE_PENDING).write_text(json.dumps({"tag": "cpython-312", "directories": edited}))
    assert harvest(one, world.cache.unpacked_dir) == 0
    assert not list(fake_tree.rglob("*.pyc"))
    assert not list(world.tree.rglob("*.pyc"))


@pytest.mark.parametrize("note", ["{}", "[1, 2]", '{"tag": "cpython-312", "directories": [[1]]}', "not json"])
def test_a_broken_note_is_replaced_by_the_next_sync(world: World, note: str) -> None:
    one = world.venv("one")
    (one / BYTECODE_PENDING).write_text(note)
    world.install(one)  # the next sync notes again instead of failing on the note
    assert json.loads((one / BYTECODE_PENDING).read_text())["tag"] == "cpython-312"
    run_python(one, IMPORT)
    assert harvest(one, world.cache.unpacked_dir) == 3
