"""Tests of the sync fingerprint and the state file that makes a repeated sync a no-op."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from _support.disks import full_fdopen
from tox_venvsync import __version__, _values
from tox_venvsync._lock import Request
from tox_venvsync._state import Inputs, State, modules_digest, tree_listing, tree_signature
from tox_venvsync._target import Target

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET = Target(
    executable="/envs/py/bin/python",
    prefix="/envs/py",
    base_prefix="/usr",
    markers={"python_full_version": "3.12.1", "sys_platform": "linux"},
    tag_strings=("cp312-cp312-manylinux_2_36_x86_64", "cp312-abi3-linux_x86_64", "py3-none-any"),
    scheme={"purelib": "/envs/py/lib/python3.12/site-packages"},
)

BASE = Inputs(
    lock_bytes=b'lock-version = "1.0"\n',
    lock_path="/p/pylock.toml",
    lock_format="",
    request=Request(extras=frozenset({"cli"}), groups=frozenset({"test"})),
    target=TARGET,
    extra=("proj=abc:False",),
    exact=True,
)


def _with_target(**changes: Any) -> Inputs:  # noqa: ANN401  # replace() keywords
    return _values.replace(BASE, target=_values.replace(TARGET, **changes))


def _with_request(**changes: Any) -> Inputs:  # noqa: ANN401  # replace() keywords
    return _values.replace(BASE, request=_values.replace(BASE.request, **changes))


CHANGES: dict[str, Callable[[], Inputs]] = {
    "lock-bytes": lambda: _values.replace(BASE, lock_bytes=b'lock-version = "1.0"\n# changed\n'),
    "lock-path": lambda: _values.replace(BASE, lock_path="/p/pylock.dev.toml"),
    "lock-format": lambda: _values.replace(BASE, lock_format="pylock"),
    "extras-added": lambda: _with_request(extras=frozenset({"cli", "gui"})),
    "extras-none": lambda: _with_request(extras=frozenset()),
    "groups-other": lambda: _with_request(groups=frozenset({"docs"})),
    "groups-none": lambda: _with_request(groups=frozenset()),
    "no-default-groups": lambda: _with_request(default_groups=False),
    "workspace-member": lambda: _with_request(project="libs/one"),
    "only-groups": lambda: _with_request(only_groups=True),
    "executable": lambda: _with_target(executable="/envs/other/bin/python"),
    "python-version": lambda: _with_target(markers={**TARGET.markers, "python_full_version": "3.12.2"}),
    "first-tag": lambda: _with_target(tag_strings=("cp312-cp312-manylinux_2_39_x86_64", *TARGET.tag_strings[1:])),
    "extra-content": lambda: _values.replace(BASE, extra=("proj=def:False",)),
    "extra-editable": lambda: _values.replace(BASE, extra=("proj=abc:True",)),
    "extra-none": lambda: _values.replace(BASE, extra=()),
    "not-exact": lambda: _values.replace(BASE, exact=False),
    "all-extras": lambda: _with_request(all_extras=True),
    "no-groups": lambda: _with_request(no_groups=frozenset({"dev"})),
    "all-packages": lambda: _with_request(all_packages=True),
    "packages": lambda: _with_request(packages=frozenset({"lib-one"})),
    "no-editable": lambda: _with_request(no_editable=True),
    "frozen": lambda: _with_request(frozen=True),
    "paths-from": lambda: _values.replace(BASE, paths_from="/src"),
    "paths-from-other": lambda: _values.replace(BASE, paths_from="/elsewhere"),
    "pyproject": lambda: _values.replace(BASE, project_bytes=b"[tool.uv]\n"),
    "pyproject-edited": lambda: _values.replace(BASE, project_bytes=b"[tool.uv]\ndefault-groups = []\n"),
}


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", BASE.fingerprint())


@pytest.mark.parametrize("change", list(CHANGES))
def test_fingerprint_changes_with_each_input(change: str) -> None:
    assert CHANGES[change]().fingerprint() != BASE.fingerprint()


def test_fingerprints_of_all_changes_differ() -> None:
    prints = [BASE.fingerprint()] + [make().fingerprint() for make in CHANGES.values()]
    assert len(set(prints)) == len(prints)


def test_fingerprint_changes_with_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    before = BASE.fingerprint()
    monkeypatch.setattr("tox_venvsync._state.__version__", "99.0")
    assert BASE.fingerprint() != before


def test_fingerprint_changes_with_packaging(monkeypatch: pytest.MonkeyPatch) -> None:
    # packaging evaluates the lock's markers and lists the interpreter's tags: after an upgrade of it a lock can
    # select otherwise (a new platform tag), and the venv the older one synced was taken as in sync
    before = BASE.fingerprint()
    monkeypatch.setattr("packaging.__version__", "99.0")
    assert BASE.fingerprint() != before


#: the fingerprint of BASE as every build from b0d2299 to 9ee9d4a computed it (the installed b0d2299 and 1b374b1 gave
#: this digest): "engine" was the version alone, "0.1.0" in each of them, though they selected otherwise
OLDER_BUILD_FINGERPRINT = "962bbc216a93989400aae217f9a9d305215da7aaa51091021a2c3fd19fb4ed43"


def test_a_state_an_older_build_of_the_same_version_wrote_is_not_current(tmp_path: Path) -> None:
    # an upgrade between two builds of one version (an install from git) kept a venv as the older build had
    # synced it: a uv.lock's two builds of one wheel (-1-, -2-) gave build 1 for good, where a new venv got build 2
    # (found by QA, installing 1b374b1 and then 9ee9d4a); the state file is the one 1b374b1 wrote for BASE
    state_file = tmp_path / ".venvsync" / "state.json"
    state_file.parent.mkdir()
    state_file.write_text(json.dumps({"fingerprint": OLDER_BUILD_FINGERPRINT, "dists": DISTS, "trees": {}}))
    assert not State(tmp_path).is_current(BASE.fingerprint(), DISTS)


def _install(site: Path, rows: list[str], *, newline: str = "\n") -> Path:
    """A package ``tox_venvsync`` installed in ``site`` as pip or uv leave it: its modules and the RECORD of them."""
    package = site / "tox_venvsync"
    package.mkdir(parents=True)
    dist_info = site / f"tox_venvsync-{__version__}.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text(newline.join(rows) + newline, encoding="utf-8", newline="")
    return package


MODULE_ROWS = [
    "tox_venvsync/__init__.py,sha256=4Zb-VBF9wuMKlh0IdLvo-TdaRgMHLE0XmPmUl9rf0e4,196",
    "tox_venvsync/_lock/_uv.py,sha256=TwX7_IIx-H6AUoQNy83G565fMttNEjWJoaj0JjemRmw,59528",
    "tox_venvsync/py.typed,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0",
]


def test_two_installs_of_one_wheel_are_one_build(tmp_path: Path) -> None:
    # pip (LF) and uv (CRLF) into two venvs: the console script's row names each one's interpreter; the runtime's tox
    # finds the venv an image's build stage synced in sync (how-to/docker)
    by_pip = _install(
        tmp_path / "a", ["../../../bin/venvsync,sha256=spwhfBCpbrUsBH9CQ24XuziNsmgDZmwkQ_nEgU9-0M4,238", *MODULE_ROWS]
    )
    by_uv = _install(
        tmp_path / "b", [*reversed(MODULE_ROWS), "../../../bin/venvsync,sha256=UBTr9Nlfs,312"], newline="\r\n"
    )
    assert modules_digest(by_pip) == modules_digest(by_uv)


def test_another_build_of_the_same_version_is_another_engine(tmp_path: Path) -> None:
    one = _install(tmp_path / "a", MODULE_ROWS)
    other = _install(tmp_path / "b", [MODULE_ROWS[0], MODULE_ROWS[1].replace("TwX7", "Xw7T"), MODULE_ROWS[2]])
    assert modules_digest(one) != modules_digest(other)


def test_a_package_without_its_record_is_told_by_its_modules(tmp_path: Path) -> None:
    # an editable install, the tests' own: the modules' sizes and mtimes stand in for their hashes
    package = tmp_path / "src" / "tox_venvsync"
    (package / "_lock" / "__pycache__").mkdir(parents=True)
    module = package / "_lock" / "_uv.py"
    module.write_text("x = 1\n", encoding="utf-8")
    (package / "_lock" / "__pycache__" / "_uv.cpython-312.pyc").write_bytes(b"compiled")
    before = modules_digest(package)
    (package / "_lock" / "__pycache__" / "_uv.cpython-312.pyc").write_bytes(b"compiled again")
    assert modules_digest(package) == before
    module.write_text("x = 12\n", encoding="utf-8")
    assert modules_digest(package) != before


@pytest.mark.parametrize(
    "same",
    [
        pytest.param(lambda: _values.replace(BASE), id="copy"),
        pytest.param(lambda: _values.replace(BASE, extra=["proj=abc:False"]), id="list-or-tuple"),
        pytest.param(lambda: _with_request(extras=frozenset(["cli"])), id="equal-extras"),
        pytest.param(lambda: _with_target(prefix="/elsewhere", base_prefix="/opt"), id="prefix"),
        pytest.param(lambda: _with_target(scheme={"purelib": "/x"}), id="scheme"),
        pytest.param(lambda: _with_target(tag_strings=(*TARGET.tag_strings, "py2-none-any")), id="later-tags"),
    ],
)
def test_fingerprint_is_stable_otherwise(same: Callable[[], Inputs]) -> None:
    assert same().fingerprint() == BASE.fingerprint()


def test_fingerprint_does_not_depend_on_set_order() -> None:
    one = _with_request(extras=frozenset(["a", "b", "c"]), groups=frozenset(["x", "y"]))
    two = _with_request(extras=frozenset(["c", "b", "a"]), groups=frozenset(["y", "x"]))
    assert one.fingerprint() == two.fingerprint()


# --- State -------------------------------------------------------------------------------------------------------


DISTS = ["a-1.0.dist-info", "b-2.0.dist-info"]


def test_state_round_trip(tmp_path: Path) -> None:
    state = State(tmp_path)
    fingerprint = BASE.fingerprint()
    assert not state.is_current(fingerprint, DISTS)
    state.write(fingerprint, DISTS)
    file = tmp_path / ".venvsync" / "state.json"
    assert json.loads(file.read_text(encoding="utf-8")) == {"fingerprint": fingerprint, "dists": DISTS, "trees": {}}
    assert [path.name for path in file.parent.iterdir()] == ["state.json"]  # no temporary file left
    assert state.is_current(fingerprint, DISTS)
    assert State(tmp_path).is_current(fingerprint, list(DISTS))


def test_the_state_and_the_journal_are_readable_as_the_venvs_other_files(tmp_path: Path) -> None:
    # a venv made by root in an image's build stage kept its state.json (and journal) 0600 from the user who runs the
    # image: its venvsync sync found the venv in sync only by planning the whole sync (0.22 s against 0.10 s); found
    # by QA as a user other than root
    from tox_venvsync._journal import Journal  # noqa: PLC0415  # as the sync imports it

    state = State(tmp_path)
    state.write(BASE.fingerprint(), DISTS)
    state.mark_bytecode_compiled()
    Journal(tmp_path).start(["alpha"])
    for name in ("state.json", "journal.json"):
        assert (tmp_path / ".venvsync" / name).stat().st_mode & 0o777 == 0o644, name


@pytest.mark.parametrize(
    ("fingerprint", "dists"),
    [
        pytest.param("0" * 64, DISTS, id="other-fingerprint"),
        pytest.param(None, ["a-1.0.dist-info"], id="dist-removed"),
        pytest.param(None, [*DISTS, "c-1.dist-info"], id="dist-added"),
        pytest.param(None, ["a-1.0.dist-info", "b-2.1.dist-info"], id="dist-changed"),
        pytest.param(None, [], id="emptied"),
    ],
)
def test_state_is_not_current(tmp_path: Path, fingerprint: str | None, dists: list[str]) -> None:
    state = State(tmp_path)
    state.write(BASE.fingerprint(), DISTS)
    assert not state.is_current(fingerprint or BASE.fingerprint(), dists)


def test_what_deps_installed_is_read_back_while_the_deps_are_the_same_or_only_added_to(tmp_path: Path) -> None:
    state = State(tmp_path)
    assert state.deps_names("key") == frozenset()  # no state yet
    state.write("f", DISTS, deps=("key", ["extra", "other"], ["a", "b"]))
    assert state.deps_names("key", ["a", "b"]) == frozenset({"extra", "other"})
    assert state.deps_names("added", ["a", "b", "c"]) == frozenset({"extra", "other"})  # a line added: kept
    assert state.deps_names("changed", ["a", "c"]) == frozenset()  # a line gone: what they installed is not known
    # a state an earlier release wrote has no lines: only the same deps keep what they installed
    state.write("f", DISTS, deps=("key", ["extra"], []))
    document = json.loads((tmp_path / ".venvsync" / "state.json").read_text(encoding="utf-8"))
    (tmp_path / ".venvsync" / "state.json").write_text(json.dumps(document | {"deps": ["key", ["extra"]]}))
    assert state.deps_names("key", ["a"]) == frozenset({"extra"})
    assert state.deps_names("added", ["a"]) == frozenset()


def test_deps_that_installed_nothing_are_not_recorded(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.write("f", DISTS, deps=("key", [], ["a"]))
    assert "deps" not in json.loads((tmp_path / ".venvsync" / "state.json").read_text(encoding="utf-8"))
    assert state.deps_names("key") == frozenset()


def test_the_project_wheels_are_read_back(tmp_path: Path) -> None:
    state = State(tmp_path)
    assert state.project_names() == frozenset()
    state.write("f", DISTS, project=["proj", "lib"])
    assert state.project_names() == frozenset({"proj", "lib"})
    state.write("f", DISTS)
    assert state.project_names() == frozenset()


def test_state_clear(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.write("f", DISTS)
    state.clear()
    assert not (tmp_path / ".venvsync" / "state.json").exists()
    assert not state.is_current("f", DISTS)
    state.clear()  # clearing twice is fine


def test_state_write_replaces(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.write("first", DISTS)
    state.write("second", [])
    assert not state.is_current("first", DISTS)
    assert state.is_current("second", [])


def test_a_state_write_that_fails_leaves_the_old_state_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = State(tmp_path)
    state.write("first", DISTS)

    def refuse(self: Path, target: Path) -> Path:  # noqa: ARG001  # Path.replace's signature
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        state.write("second", [])
    monkeypatch.undo()
    assert state.is_current("first", DISTS)
    assert [path.name for path in (tmp_path / ".venvsync").iterdir()] == ["state.json"]


def test_a_full_disk_names_the_file_it_could_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a file object's write raises a full disk's error naming no file: "No space left on device; free some space and
    # run again" named nothing (found by QA filling a tmpfs)
    state = State(tmp_path)
    state.write("first", DISTS)
    monkeypatch.setattr(os, "fdopen", full_fdopen)
    with pytest.raises(OSError, match="No space left") as info:
        state.write("second", [])
    monkeypatch.undo()
    assert info.value.filename == str(tmp_path / ".venvsync" / "state.json")
    assert state.is_current("first", DISTS)
    assert [path.name for path in (tmp_path / ".venvsync").iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    "content",
    [
        "{broken",
        "[]",
        '"f"',
        '{"fingerprint": "f"}',
        '{"dists": []}',
        '{"fingerprint": "f", "dists": [], "trees": ["/p"]}',  # edited by hand: no traceback, and not current
    ],
)
def test_state_unreadable_is_not_current(tmp_path: Path, content: str) -> None:
    (tmp_path / ".venvsync").mkdir()
    (tmp_path / ".venvsync" / "state.json").write_text(content, encoding="utf-8")
    assert not State(tmp_path).is_current("f", [])


def test_an_edited_source_tree_makes_the_state_stale(tmp_path: Path) -> None:
    tree = tmp_path / "src-tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "__init__.py").write_text("A = 1\n")
    (tree / "build").mkdir()
    (tmp_path / "venv").mkdir()
    state = State(tmp_path / "venv")
    fingerprint = BASE.fingerprint()
    state.write(fingerprint, DISTS, trees={str(tree): tree_signature(tree)})
    assert state.is_current(fingerprint, DISTS)
    (tree / "build" / "ignored.o").write_text("build output is not a source")
    assert state.is_current(fingerprint, DISTS)
    (tree / "pkg" / "__init__.py").write_text("A = 22\n")
    assert not state.is_current(fingerprint, DISTS)


def test_a_tree_signature_sees_sources_in_nested_build_dirs_and_linked_dirs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "src" / "lib" / "build").mkdir(parents=True)  # a subpackage named build is a source
    (tree / "src" / "lib" / "build" / "__init__.py").write_text("X = 1\n")
    (tree / "build" / "lib").mkdir(parents=True)  # the top-level build output is not
    (tree / "dist").mkdir()
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "mod.py").write_text("Y = 1\n")
    (tree / "src" / "lib" / "linked").symlink_to(shared)  # a package linked into the tree is part of it
    (tree / "src" / "lib" / "loop").symlink_to(tree / "src")  # a link back up the tree is walked once
    first = tree_signature(tree)

    (tree / "build" / "lib" / "out.py").write_text("built\n")
    (tree / "dist" / "x-1.0.tar.gz").write_bytes(b"x")
    (tree / "src" / "lib" / "build" / "__pycache__").mkdir()
    (tree / "src" / "lib" / "build" / "__pycache__" / "x.pyc").write_bytes(b"pyc")
    assert tree_signature(tree) == first

    (tree / "src" / "lib" / "build" / "__init__.py").write_text("X = 22\n")
    second = tree_signature(tree)
    assert second != first
    (shared / "mod.py").write_text("Y = 22\n")
    assert tree_signature(tree) != second


def test_a_tree_listing_names_each_source_file_once(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_text("X = 1\n")
    (tree / "pkg" / "again").symlink_to(tree / "pkg")  # a link back up: walked once, not ELOOP levels deep
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "one.py").write_text("Y = 1\n")
    (tree / "first").symlink_to(shared)
    (tree / "second").symlink_to(shared)  # a second link to one directory: its files are listed once
    (tree / "proj.egg-info").mkdir()  # setuptools' output, rewritten by every build
    (tree / "proj.egg-info" / "PKG-INFO").write_text("Name: proj\n")
    (tree / "gone.py").symlink_to(tmp_path / "missing.py")  # a dangling link is no file to list
    (tree / "setup.py").write_text("")
    assert sorted(tree_listing(tree)) == ["./setup.py", "first/one.py", "pkg/mod.py"]
