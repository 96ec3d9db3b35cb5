"""Tests of the pylock.toml reader: reading errors and the selection for a real interpreter."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.tags import no_wheel_summary
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._errors import LockFileError, SelectionError
from tox_venvsync._lock import Artifact, Pick, Request, SourceKind, detect_format, read_lock
from tox_venvsync._lock._model import DirectorySource, VcsSource
from tox_venvsync._lock._pylock import PylockFile, parse_pylock, read_pylock
from tox_venvsync._target import Target, query_interpreter
from tox_venvsync._values import replace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 floor
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.tags import Tag

DATA = Path(__file__).parent / "data" / "lockfiles"
ALLOWED_KINDS = frozenset(get_args(SourceKind))


@pytest.fixture(scope="module")
def target(python312: Path) -> Target:
    return query_interpreter(python312)


def _lock(path: Path, packages: Sequence[dict[str, object]], **top: object) -> PylockFile:
    write_pylock(path, packages, **top)  # type: ignore[arg-type]
    return read_pylock(path)


def _pkg(
    tmp_path: Path,
    name: str,
    version: str = "1.0",
    *,
    marker: str | None = None,
    requires_python: str | None = None,
) -> dict[str, object]:
    """A package entry with one real py3-none-any wheel of its own name and version."""
    wheel = make_wheel(tmp_path / "w", name, version)
    return package_entry(name, version, [wheel_entry(wheel)], marker=marker, requires_python=requires_python)


def _names(picks: Sequence[Pick]) -> list[str]:
    return [str(pick.name) for pick in picks]


# --- reading -----------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == f"{path}: the lockfile does not exist; create it or set lock_file to the right path"
    assert info.value.exit_code == 2
    assert info.value.context is None


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.mkdir()
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == f"{path}: is a directory, not a lockfile; set lock_file to a file"


def test_a_loop_of_links_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.symlink_to(tmp_path / "other.toml")
    (tmp_path / "other.toml").symlink_to(path)
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value).startswith(f"{path}: is a loop of symbolic links (")
    assert str(info.value).endswith("); set lock_file to the lockfile itself")


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    text = 'lock-version = "1.0"\nthis is not toml\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError) as parse_error:
        tomllib.loads(text)
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == (
        f"{path}: is not valid TOML ({parse_error.value}); fix the file or re-create it with its tool"
    )
    assert "(at line 2, column 6)" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_bytes(b'lock-version = "1.0"\n# caf\xe9\n')
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == f"{path}: is not UTF-8 text (byte 26); is this the right file?"


def test_validation_error_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    wheel = {"name": "pkg-1.0-py3-none-any.whl", "url": "https://example.invalid/pkg-1.0-py3-none-any.whl"}
    document = {"lock-version": "1.0", "created-by": "tests", "packages": [{"name": "pkg", "wheels": [wheel]}]}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == (
        f"{path} at packages[0].wheels[0].hashes: Missing required value; correct that value, or lock again with the "
        "tool that wrote the file"
    )
    assert info.value.context == "packages[0].wheels[0].hashes"
    assert info.value.reason.startswith("Missing required value; ")


def test_validation_error_of_a_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    document = {"lock-version": "1.0", "created-by": "tests", "packages": [{"name": "pkg", "version": 3}]}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert info.value.context == "packages[0].version"
    assert str(info.value).startswith(f"{path} at packages[0].version: ")


@pytest.mark.parametrize(
    ("package", "context", "said"),
    [
        ({"name": 3}, "packages[0].name", "must be a string, not an integer"),
        ({"name": "pkg", "wheels": "x"}, "packages[0].wheels", "must be an array, not a string"),
        ({"name": "pkg", "wheels": [{"name": "pkg-1.0-py3-none-any.whl", "url": "https://example.invalid/w.whl",
                                     "size": "10", "hashes": {"sha256": "ab" * 32}}]},
         "packages[0].wheels[0].size", "must be an integer, not a string"),
        ({"name": "pkg", "wheels": [{"name": "pkg-1.0-py3-none-any.whl", "url": "https://example.invalid/w.whl",
                                     "hashes": 3}]},
         "packages[0].wheels[0].hashes", "must be a table, not an integer"),
    ],
)  # fmt: skip
def test_a_wrong_type_is_named_as_toml_names_it(
    tmp_path: Path, package: dict[str, object], context: str, said: str
) -> None:
    # packaging's "Unexpected type int (expected Mapping)" named Python's types, where the other readers say
    # "must be a table, not an integer" (found by QA)
    path = tmp_path / "pylock.toml"
    document = {"lock-version": "1.0", "created-by": "tests", "packages": [package]}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert (info.value.context, info.value.reason) == (
        context,
        f"{said}; correct that value, or lock again with the tool that wrote the file",
    )


def test_lock_version_2_unsupported(tmp_path: Path) -> None:
    path = write_pylock(tmp_path / "pylock.toml", [], lock_version="2.0")
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == (
        f"{path} at lock-version: pylock version 2.0 is not supported; "
        "this tool reads lock-version 1.x, re-create the lock with a PEP 751 version 1 writer"
    )


def test_a_newer_minor_lock_version_is_read_with_one_warning_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_pylock(tmp_path / "pylock.toml", [], lock_version="1.1")
    with caplog.at_level(logging.WARNING):
        read_pylock(path)
    said = (
        f"{path}: lock-version 1.1 is newer than 1.0, the version this tool reads; it is read as 1.0, and what the "
        "newer version adds is not used"
    )
    assert [(record.name, record.getMessage()) for record in caplog.records] == [("tox_venvsync._lock._pylock", said)]


def test_lock_version_1_0_is_read_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        read_pylock(write_pylock(tmp_path / "pylock.toml", [], lock_version="1.0"))
    assert caplog.records == []


@pytest.mark.parametrize("name", ["pylock.toml", "pylock.dev.toml"])
def test_detect_format(tmp_path: Path, name: str) -> None:
    assert detect_format(tmp_path / name) == "pylock"


def test_read_lock_with_explicit_format(tmp_path: Path) -> None:
    path = write_pylock(tmp_path / "locked.toml", [])
    lock = read_lock(path, "pylock")
    assert (lock.path, lock.format) == (path, "pylock")
    assert isinstance(lock, PylockFile)


# --- selection ---------------------------------------------------------------------------------------------------


def test_select_pick_details(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "Demo.Pkg", "1.2")
    entry = wheel_entry(wheel, url="https://example.invalid/demo_pkg-1.2-py3-none-any.whl")
    entry["hashes"] = {"SHA256": sha256_file(wheel).upper(), "md5": "ABC"}
    package = {**package_entry("demo-pkg", "1.2", [entry]), "index": "https://example.invalid/simple"}
    lock = _lock(
        tmp_path / "pylock.toml",
        [_pkg(tmp_path, "other", marker="sys_platform == 'none'"), package],
    )
    [pick] = lock.select(target, Request())
    assert pick == Pick(
        name=canonicalize_name("demo-pkg"),
        version=Version("1.2"),
        kind="wheel",
        artifact=Artifact(
            filename="demo_pkg-1.2-py3-none-any.whl",
            url="https://example.invalid/demo_pkg-1.2-py3-none-any.whl",
            path=None,
            size=wheel.stat().st_size,
            hashes={"sha256": sha256_file(wheel), "md5": "abc"},
        ),
        index="https://example.invalid/simple",
        context="packages[1].wheels[0]",
        direct=False,  # PEP 751's wheels are no direct reference: no direct_url.json, as uv records none
    )
    assert pick.artifact is not None
    assert pick.artifact.strongest_hash == ("sha256", sha256_file(wheel))


def test_markers_skip_packages(tmp_path: Path, target: Target) -> None:
    packages = [
        _pkg(tmp_path, "win", marker="sys_platform == 'win32'"),
        _pkg(tmp_path, "here", marker=f"python_full_version == '{target.python_full_version}'"),
        _pkg(tmp_path, "old", marker="python_version < '3.9'"),
        _pkg(tmp_path, "always"),
    ]
    assert _names(_lock(tmp_path / "pylock.toml", packages).select(target, Request())) == ["here", "always"]


def test_best_wheel_is_the_most_specific(tmp_path: Path, target: Target) -> None:
    generic = make_wheel(tmp_path / "w", "pkg", "1.0")
    specific = make_wheel(tmp_path / "w", "pkg", "1.0", tag=target.tag_strings[0])
    foreign = make_wheel(tmp_path / "w", "pkg", "1.0", tag="cp27-cp27m-win32")
    entries = [wheel_entry(generic), wheel_entry(foreign), wheel_entry(specific)]
    [pick] = _lock(tmp_path / "pylock.toml", [package_entry("pkg", "1.0", entries)]).select(target, Request())
    assert pick.artifact is not None
    assert pick.artifact.filename == specific.name
    assert pick.context == "packages[0].wheels[2]"  # the entry chosen: the most specific


def _extras_and_groups_lock(tmp_path: Path) -> PylockFile:
    packages = [
        _pkg(tmp_path, "base"),
        _pkg(tmp_path, "cli-dep", marker="'cli' in extras"),
        _pkg(tmp_path, "dev-dep", marker="'dev' in dependency_groups"),
        _pkg(tmp_path, "test-dep", marker="'test' in dependency_groups"),
        _pkg(tmp_path, "test-cli", marker="'test' in dependency_groups and 'cli' in extras"),
    ]
    return _lock(
        tmp_path / "pylock.toml",
        packages,
        extras=["cli"],
        dependency_groups=["dev", "test"],
        default_groups=["dev"],
    )


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(Request(), ["base", "dev-dep"], id="defaults"),
        pytest.param(Request(extras=frozenset({"cli"})), ["base", "cli-dep", "dev-dep"], id="extra"),
        pytest.param(Request(groups=frozenset({"test"})), ["base", "dev-dep", "test-dep"], id="group-adds-to-defaults"),
        pytest.param(
            Request(groups=frozenset({"test"}), default_groups=False), ["base", "test-dep"], id="group-without-defaults"
        ),
        pytest.param(Request(default_groups=False), ["base"], id="no-groups"),
        pytest.param(
            Request(extras=frozenset({"cli"}), groups=frozenset({"dev", "test"})),
            ["base", "cli-dep", "dev-dep", "test-dep", "test-cli"],
            id="everything",
        ),
        pytest.param(Request(all_extras=True), ["base", "cli-dep", "dev-dep"], id="all-extras"),
        pytest.param(Request(all_groups=True), ["base", "dev-dep", "test-dep"], id="all-groups"),
        pytest.param(
            Request(all_extras=True, all_groups=True),
            ["base", "cli-dep", "dev-dep", "test-dep", "test-cli"],
            id="all-of-both",
        ),
        pytest.param(Request(no_groups=frozenset({"dev"})), ["base"], id="no-group-dev"),
        pytest.param(
            Request(all_groups=True, no_groups=frozenset({"dev"})), ["base", "test-dep"], id="all-groups-but-dev"
        ),
    ],
)
def test_extras_and_groups(tmp_path: Path, target: Target, request_: Request, expected: list[str]) -> None:
    assert _names(_extras_and_groups_lock(tmp_path).select(target, request_)) == expected


_PEP_751_SETS = "a lock tests extras and dependency groups as \"'name' in extras\" and \"'name' in dependency_groups\""


@pytest.mark.parametrize(
    ("marker", "where", "reason"),
    [
        pytest.param("extra == 'x'", "packages[1].marker", "'extra' is no marker variable of a lock", id="extra"),
        pytest.param(
            "extras == 'x'",
            "packages[1].marker",
            "Set-valued marker 'extras' can only be used with the membership form (e.g. \"<name>\" in extras); it "
            "cannot appear on the left-hand side of '=='",
            id="extras-equals",
        ),
        pytest.param(
            "dependency_groups == 'dev'",
            "packages[1].marker",
            "Set-valued marker 'dependency_groups' can only be used with the membership form (e.g. \"<name>\" in "
            "dependency_groups); it cannot appear on the left-hand side of '=='",
            id="groups-equals",
        ),
        pytest.param("extra == 'x'", "environments[0]", "'extra' is no marker variable of a lock", id="environments"),
    ],
)
def test_a_marker_packaging_cannot_evaluate_is_one_sentence_naming_it(
    tmp_path: Path, target: Target, marker: str, where: str, reason: str
) -> None:
    # packaging raises its own errors for these, not PylockSelectError: they were tracebacks; the marker named is
    # the one that cannot be evaluated, not the first one met
    fine = _pkg(tmp_path, "fine", marker="python_version >= '3'")
    packages = [fine, _pkg(tmp_path, "odd", marker=None if where == "environments[0]" else marker)]
    top = {"environments": [marker]} if where == "environments[0]" else {}
    lock = _lock(tmp_path / "pylock.toml", packages, **top)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    shown = str(Marker(marker))
    assert str(info.value) == (
        f"{lock.path}: the marker {shown!r} at {where} cannot be evaluated ({reason}); {_PEP_751_SETS} (PEP 751)"
    )
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("created_by", "kept"), [("pdm", True), ("tests", False)])
def test_pdms_default_group_is_the_projects_own_and_always_selected(
    tmp_path: Path, target: Target, created_by: str, *, kept: bool
) -> None:
    # PDM writes the project's dependencies as the group "default" (its default-groups); naming other groups
    # keeps it, as `pdm sync -G tests` and our pdm.lock reader do; another writer's default group is left out
    packages = [_pkg(tmp_path, "main-dep", marker="'default' in dependency_groups"), _pkg(tmp_path, "test-dep")]
    packages[1]["marker"] = "'tests' in dependency_groups"
    path = write_pylock(
        tmp_path / "pylock.toml", packages, dependency_groups=["default", "tests"], default_groups=["default"]
    )
    path.write_text(path.read_text().replace('created-by = "tests"', f'created-by = "{created_by}"'))
    lock = read_pylock(path)
    named = Request(groups=frozenset({"tests"}), default_groups=False)
    assert _names(lock.select(target, named)) == (["main-dep", "test-dep"] if kept else ["test-dep"])
    assert _names(lock.select(target, Request())) == ["main-dep"]


def test_missing_extra(tmp_path: Path, target: Target) -> None:
    lock = _extras_and_groups_lock(tmp_path)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(extras=frozenset({"zz", "gui"})))
    assert str(info.value) == f"{lock.path}: the lock has no extra gui, zz; it has: cli"
    assert info.value.exit_code == 2


def test_missing_group(tmp_path: Path, target: Target) -> None:
    lock = _extras_and_groups_lock(tmp_path)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(groups=frozenset({"dev", "docs"})))
    assert str(info.value) == f"{lock.path}: the lock has no dependency group docs; it has: dev, test"


def test_missing_extra_in_a_lock_without_extras(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0")
    lock = _lock(tmp_path / "pylock.toml", [package_entry("pkg", "1.0", [wheel_entry(wheel)])])
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(extras=frozenset({"cli"})))
    assert info.value.reason == "the lock has no extra cli; it has: none"


def test_default_group_counts_as_known(tmp_path: Path, target: Target) -> None:
    packages = [_pkg(tmp_path, "pkg", marker="'default' in dependency_groups")]
    lock = _lock(tmp_path / "pylock.toml", packages, default_groups=["default"])
    assert _names(lock.select(target, Request(groups=frozenset({"default"})))) == ["pkg"]
    assert _names(lock.select(target, Request())) == ["pkg"]


def test_requires_python_unmet(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path / "pylock.toml", [], requires_python=">=3.99")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert str(info.value) == (
        f"{lock.path}: the lock requires Python >=3.99 (requires-python) but the interpreter {target.executable} is "
        f"Python {target.python_full_version}; use an interpreter the lock supports or export the lock again for "
        "this one"
    )


def test_requires_python_is_held_against_the_whole_version_as_pip_holds_it(tmp_path: Path, target: Target) -> None:
    """pip 26 (``packaging.pylock``) refuses a 3.12.1rc1 for ``>=3.12.1`` and takes a git build's 3.12.1+.

    The message must still name the key (found by QA: the readers of uv, Poetry and PDM take a pre-release as its
    release, as their tools do, and this reader's message must not follow them).
    """
    lock = _lock(tmp_path / "pylock.toml", [_pkg(tmp_path, "pkg")], requires_python=">=3.12.1")
    python = {**target.markers, "python_version": "3.12"}
    git_build = replace(target, markers={**python, "python_full_version": "3.12.1+"})
    assert _names(lock.select(git_build, Request())) == ["pkg"]
    pre_release = replace(target, markers={**python, "python_full_version": "3.12.1rc1"})
    with pytest.raises(SelectionError) as info:
        lock.select(pre_release, Request())
    assert info.value.reason == (
        f"the lock requires Python >=3.12.1 (requires-python) but the interpreter {target.executable} is Python "
        "3.12.1rc1; use an interpreter the lock supports or export the lock again for this one"
    )


def test_package_requires_python_unmet(tmp_path: Path, target: Target) -> None:
    packages = [_pkg(tmp_path, "ok", requires_python=">=3.8"), _pkg(tmp_path, "pkg", requires_python="<3")]
    lock = _lock(tmp_path / "pylock.toml", packages)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"pkg at packages[1] requires Python <3 (packages[1].requires-python) but the interpreter {target.executable} "
        f"is Python {target.python_full_version}; use an interpreter the lock supports or export the lock again for "
        "this one"
    )


def test_a_package_whose_marker_does_not_hold_is_never_named_as_the_selections_failure(
    tmp_path: Path, target: Target
) -> None:
    # a package left out by its marker neither excludes the interpreter nor makes a name ambiguous
    elsewhere = "sys_platform == 'nowhere'"
    left_out = [_pkg(tmp_path, "pkg", "0.1", marker=elsewhere, requires_python="<2")]
    unmet = _lock(tmp_path / "unmet.toml", [*left_out, _pkg(tmp_path, "pkg", requires_python="<3")])
    with pytest.raises(SelectionError) as info:
        unmet.select(target, Request())
    assert info.value.reason.startswith("pkg at packages[1] requires Python <3 (packages[1].requires-python) but ")
    twice = _lock(tmp_path / "twice.toml", [*left_out, _pkg(tmp_path, "pkg", "1.0"), _pkg(tmp_path, "pkg", "2.0")])
    with pytest.raises(SelectionError) as info:
        twice.select(target, Request())
    assert info.value.reason.startswith("packages[1] and packages[2] are both pkg and both their markers hold ")


def test_environments_unmet(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path / "pylock.toml", [], environments=["sys_platform == 'win32'", "python_version < '3'"])
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert str(info.value) == (
        f'{lock.path}: no marker of the lock\'s environments (sys_platform == "win32"; python_version < "3") '
        f"holds for the interpreter {target.executable} (Python {target.python_full_version} on "
        f"{target.markers['sys_platform']}); use an interpreter the lock supports or export the lock again for this "
        "one"
    )


def test_environments_met(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0")
    lock = _lock(
        tmp_path / "pylock.toml",
        [package_entry("pkg", "1.0", [wheel_entry(wheel)])],
        environments=["sys_platform == 'win32'", f"sys_platform == '{target.markers['sys_platform']}'"],
    )
    assert _names(lock.select(target, Request())) == ["pkg"]


def test_duplicate_selection(tmp_path: Path, target: Target) -> None:
    packages = [_pkg(tmp_path, "pkg", "1.0"), _pkg(tmp_path, "pkg", "2.0")]
    lock = _lock(tmp_path / "pylock.toml", packages)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"packages[0] and packages[1] are both pkg and both their markers hold for the interpreter {target.executable} "
        "with the extras and groups selected, so the lock is ambiguous (PEP 751 wants one entry); correct their "
        "markers, or lock again with the tool that wrote the file"
    )


def test_no_wheel_fits(tmp_path: Path, target: Target) -> None:
    fits = make_wheel(tmp_path / "w", "fine", "1.0")
    win = make_wheel(tmp_path / "w", "native", "2.0", tag="cp27-cp27m-win32")
    mac = make_wheel(tmp_path / "w", "native", "2.0", tag="cp312-cp312-macosx_11_0_arm64")
    packages = [
        package_entry("fine", "1.0", [wheel_entry(fits)]),
        package_entry("native", "2.0", [wheel_entry(win)], marker="sys_platform == 'win32'"),
        package_entry("native", "2.0", [wheel_entry(win), wheel_entry(mac)]),
    ]
    lock = _lock(tmp_path / "pylock.toml", packages)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    tags = target.tags
    assert str(info.value) == (
        f"{lock.path}: no wheel of native at packages[2] fits the interpreter {target.executable} "
        f"(Python {target.python_full_version}, tags {no_wheel_summary(tags)}); "
        f"the lock has {win.name}, {mac.name}: re-lock for this interpreter or use another Python"
    )


def test_no_wheel_fits_falls_back_to_sdist(tmp_path: Path, target: Target) -> None:
    win = make_wheel(tmp_path / "w", "native", "2.0", tag="cp27-cp27m-win32")
    sdist = {
        "name": "native-2.0.tar.gz",
        "url": "https://example.invalid/native-2.0.tar.gz",
        "hashes": {"sha256": "ab" * 32},
    }
    package = {**package_entry("native", "2.0", [wheel_entry(win)]), "sdist": sdist}
    [pick] = _lock(tmp_path / "pylock.toml", [package]).select(target, Request())
    assert (pick.kind, pick.context, pick.version) == ("sdist", "packages[0].sdist", Version("2.0"))
    assert pick.artifact == Artifact(
        filename="native-2.0.tar.gz", url="https://example.invalid/native-2.0.tar.gz", path=None, size=None,
        hashes={"sha256": "ab" * 32},
    )  # fmt: skip


def test_relative_path_resolved_against_the_lock(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "wheelhouse", "pkg", "1.0")
    lock = _lock(
        tmp_path / "locks" / "pylock.toml",
        [package_entry("pkg", "1.0", [wheel_entry(wheel, path=f"../wheelhouse/{wheel.name}")])],
    )
    [pick] = lock.select(target, Request())
    assert pick.artifact is not None
    assert pick.artifact.path == wheel.resolve()
    assert pick.artifact.url is None
    assert pick.artifact.location == str(wheel.resolve())


def test_path_preferred_to_url_only_when_the_file_exists(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "wheelhouse", "pkg", "1.0")
    url = "https://example.invalid/pkg-1.0-py3-none-any.whl"
    here = {**wheel_entry(wheel, url=url), "path": f"wheelhouse/{wheel.name}"}
    gone = {**wheel_entry(wheel, url=url), "path": f"missing/{wheel.name}"}
    for entry, path, expected_url in ((here, wheel.resolve(), None), (gone, None, url)):
        lock = _lock(tmp_path / "pylock.toml", [package_entry("pkg", "1.0", [entry])])
        [pick] = lock.select(target, Request())
        assert pick.artifact is not None
        assert (pick.artifact.path, pick.artifact.url) == (path, expected_url)


def test_version_from_the_wheel_filename(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "3.1.4")
    path = tmp_path / "pylock.toml"
    document = {
        "lock-version": "1.0",
        "created-by": "tests",
        "packages": [{"name": "pkg", "wheels": [wheel_entry(wheel)]}],
    }
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    [pick] = read_pylock(path).select(target, Request())
    assert pick.version == Version("3.1.4")


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        pytest.param("sha256", "/home/me/dist", id="absolute-path"),
        pytest.param("sha256", "../../../../" + "a" * 52, id="relative-path"),
        pytest.param("sha256", "", id="empty"),
        pytest.param("sha256", "ab" * 20, id="too-short"),
        pytest.param("sha256", "z" * 64, id="not-hex"),
        pytest.param("SHA512", "ab" * 32, id="sha512-of-a-sha256-length"),
    ],
)
def test_a_hash_that_is_no_hex_digest_names_its_key(
    tmp_path: Path, target: Target, algorithm: str, digest: str
) -> None:
    # the digest is also the file's address in the cache: one with a path in it would name a file outside it
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    entry = wheel_entry(wheel)
    entry["hashes"] = {algorithm: digest}
    lock = _lock(tmp_path / "pylock.toml", [_pkg(tmp_path, "other"), package_entry("demo", "1.0", [entry])])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == f"packages[1].wheels[0].hashes.{algorithm}"
    length = {"sha256": 64, "SHA512": 128}[algorithm]
    assert info.value.reason.startswith(f"{digest!r} is not a {algorithm.lower()} digest ({length} hex digits); ")


def test_a_negative_size_names_its_key(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    entry = {**wheel_entry(wheel), "size": -1}
    lock = _lock(tmp_path / "pylock.toml", [package_entry("demo", "1.0", [entry])])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert (info.value.context, info.value.reason) == (
        "packages[0].wheels[0].size",
        "-1 is no file size; correct that value, or lock again with the tool that wrote the file",
    )


def test_a_size_of_0_is_read_as_a_size_for_an_empty_file(tmp_path: Path, target: Target) -> None:
    # PEP 751: size is optional and an integer, the file's size in bytes; 0 is an empty file's, not "no size" (the
    # fetch then refuses any byte more: test_fetch's test_a_lock_size_of_0_admits_an_empty_file_only)
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    entry = {**wheel_entry(wheel), "size": 0}
    lock = _lock(tmp_path / "pylock.toml", [package_entry("demo", "1.0", [entry])])
    [pick] = lock.select(target, Request())
    assert pick.artifact is not None
    assert pick.artifact.size == 0


def test_the_hash_of_an_sdist_is_checked_too(tmp_path: Path, target: Target) -> None:
    sdist = {"name": "demo-1.0.tar.gz", "url": "https://example.invalid/demo-1.0.tar.gz", "hashes": {"sha384": "/x"}}
    lock = _lock(tmp_path / "pylock.toml", [{"name": "demo", "version": "1.0", "sdist": sdist}])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "packages[0].sdist.hashes.sha384"


def test_hashes_are_lower_cased_and_other_algorithms_left_alone(tmp_path: Path, target: Target) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    entry = wheel_entry(wheel)
    entry["hashes"] = {"SHA256": sha256_file(wheel).upper(), "md5": "not checked", "blake2b": "NOR THIS"}
    [pick] = _lock(tmp_path / "pylock.toml", [package_entry("demo", "1.0", [entry])]).select(target, Request())
    assert pick.artifact is not None
    assert pick.artifact.hashes == {"sha256": sha256_file(wheel), "md5": "not checked", "blake2b": "nor this"}


@pytest.mark.parametrize(("key", "entry_of"), [("wheels[0]", "wheels"), ("sdist", "sdist")])
def test_a_file_without_a_hash_we_verify_names_its_key(tmp_path: Path, target: Target, key: str, entry_of: str) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    file = {"url": "https://example.invalid/demo-1.0.tar.gz", "hashes": {"md5": "d41d8cd98f00b204e9800998ecf8427e"}}
    package: dict[str, object] = {"name": "demo", "version": "1.0", "sdist": file}
    if entry_of == "wheels":
        package = package_entry("demo", "1.0", [{**wheel_entry(wheel), "hashes": file["hashes"]}])
    path = tmp_path / "pylock.toml"
    with pytest.raises(LockFileError) as info:
        _lock(path, [package]).select(target, Request())
    assert str(info.value) == (
        f"{path} at packages[0].{key}.hashes: md5 only: no sha256, sha384 or sha512 hash to check the file's bytes "
        "with before it is installed; add one, or lock again with the tool that wrote the file"
    )
    assert info.value.exit_code == 2


def test_wheel_version_must_match_the_package_version(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "3.1.4")
    path = write_pylock(tmp_path / "pylock.toml", [package_entry("pkg", "3.1.5", [wheel_entry(wheel)])])
    with pytest.raises(LockFileError) as info:
        read_pylock(path)
    assert str(info.value) == (
        f"{path} at packages[0].wheels[0]: Version in '{wheel.name}' is not consistent with package version '3.1.5'; "
        "correct that value, or lock again with the tool that wrote the file"
    )


def test_directory_and_vcs_picks(tmp_path: Path, target: Target) -> None:
    vcs = {"type": "git", "url": "https://example.invalid/g.git", "commit-id": "a" * 40}
    packages: list[dict[str, object]] = [
        {"name": "proj", "directory": {"path": ".", "editable": True}},
        {"name": "gitdep", "version": "0.1", "vcs": vcs},
    ]
    picks = _lock(tmp_path / "pylock.toml", packages).select(target, Request())
    assert picks == [
        Pick(
            name=canonicalize_name("proj"),
            version=None,
            kind="directory",
            artifact=None,
            context="packages[0]",
            directory=DirectorySource(path=tmp_path.resolve(), editable=True),
        ),
        Pick(
            name=canonicalize_name("gitdep"),
            version=Version("0.1"),
            kind="vcs",
            artifact=None,
            context="packages[1]",
            vcs=VcsSource(type="git", url="https://example.invalid/g.git", commit="a" * 40),
        ),
    ]


@pytest.mark.parametrize("commit", ["main", "HEAD~1", "a" * 12, "a" * 39, "g" * 40])
def test_a_git_commit_id_must_be_a_full_commit(tmp_path: Path, target: Target, commit: str) -> None:
    # git checkout takes a branch or tag too: the lock would install whatever it points at when the sync runs
    vcs = {"type": "git", "url": "https://example.invalid/g.git", "commit-id": commit}
    lock = _lock(tmp_path / "pylock.toml", [_pkg(tmp_path, "other"), {"name": "gitdep", "version": "0.1", "vcs": vcs}])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "packages[1].vcs.commit-id"
    assert info.value.reason == (
        f"{commit!r} is no full commit id (40 hex digits); a branch, tag or short id is not pinned; correct that "
        "value, or lock again with the tool that wrote the file"
    )


def test_a_git_url_that_is_an_option_of_git_clone_is_refused(tmp_path: Path, target: Target) -> None:
    # the URL is git clone's argument, where --upload-pack=<command> runs the command (found by QA)
    vcs = {"type": "git", "url": "--upload-pack=touch /tmp/pwned", "commit-id": "a" * 40}
    lock = _lock(tmp_path / "pylock.toml", [{"name": "gitdep", "version": "0.1", "vcs": vcs}])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "packages[0].vcs.url"
    assert info.value.reason == (
        "'--upload-pack=touch /tmp/pwned' is no git URL that pip or uv clones: use https://, ssh://, "
        "git://, http:// or file:// (or user@host:path); correct that value, or lock again with the tool that wrote "
        "the file"
    )


@pytest.mark.parametrize("case", ["a NUL character", "a loop of links"])
def test_a_path_that_cannot_be_resolved_is_named_not_a_traceback(tmp_path: Path, target: Target, case: str) -> None:
    # Path.resolve raised ValueError for a NUL and RuntimeError for a loop of links: a traceback (found by QA)
    (tmp_path / "loop").symlink_to("loop")
    relative = "a\x00b" if case == "a NUL character" else "loop/tree"
    lock = _lock(tmp_path / "pylock.toml", [{"name": "dirpkg", "directory": {"path": relative}}])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "packages[0].directory.path"
    assert info.value.reason.startswith(f"{str(tmp_path / relative)!r} is not a usable path (")
    assert info.value.reason.endswith("); correct that value, or lock again with the tool that wrote the file")
    assert str(info.value).isprintable()


def test_a_sha256_git_commit_id_is_taken(tmp_path: Path, target: Target) -> None:
    vcs = {"type": "git", "url": "https://example.invalid/g.git", "commit-id": "A" * 64}
    [pick] = _lock(tmp_path / "pylock.toml", [{"name": "gitdep", "version": "0.1", "vcs": vcs}]).select(
        target, Request()
    )
    assert pick.vcs is not None
    assert pick.vcs.commit == "A" * 64


def test_archive_pick(tmp_path: Path, target: Target) -> None:
    archive = {"url": "https://example.invalid/dl/proj%201.zip", "hashes": {"sha256": "CD" * 32}, "size": 10}
    [pick] = _lock(tmp_path / "pylock.toml", [{"name": "proj", "version": "1", "archive": archive}]).select(
        target, Request()
    )
    assert pick.kind == "archive"
    assert pick.context == "packages[0].archive"
    assert pick.artifact == Artifact(
        filename="proj 1.zip",
        url="https://example.invalid/dl/proj%201.zip",
        path=None,
        size=10,
        hashes={"sha256": "cd" * 32},
    )


def test_an_archive_pick_carries_its_subdirectory(tmp_path: Path, target: Target) -> None:
    archive = {"url": "https://example.invalid/repo.tar.gz", "hashes": {"sha256": "cd" * 32}, "subdirectory": "pkg/a"}
    [pick] = _lock(tmp_path / "pylock.toml", [{"name": "a", "archive": archive}]).select(target, Request())
    assert pick.subdirectory == "pkg/a"


@pytest.mark.parametrize("subdirectory", ["../elsewhere", "/abs", "a/../../b", "\\\\server\\share"])
@pytest.mark.parametrize(
    ("source", "key"),
    [
        ({"archive": {"url": "https://example.invalid/r.tar.gz", "hashes": {"sha256": "cd" * 32}}}, "archive"),
        ({"directory": {"path": "mono"}}, "directory"),
        ({"vcs": {"type": "git", "url": "https://example.invalid/r.git", "commit-id": "a" * 40}}, "vcs"),
    ],
    ids=["archive", "directory", "vcs"],
)
def test_a_subdirectory_leading_out_of_the_source_tree_names_its_key(
    tmp_path: Path, target: Target, source: dict[str, dict[str, object]], key: str, subdirectory: str
) -> None:
    table = {**source[key], "subdirectory": subdirectory}
    path = tmp_path / "pylock.toml"
    with pytest.raises(LockFileError) as info:
        _lock(path, [{"name": "a", key: table}]).select(target, Request())
    assert str(info.value) == (
        f"{path} at packages[0].{key}.subdirectory: {subdirectory!r} leads out of the source tree, and a subdirectory "
        "must be a path inside it; correct that value, or lock again with the tool that wrote the file"
    )
    assert info.value.exit_code == 2


# --- real lockfiles ----------------------------------------------------------------------------------------------


REAL = [
    pytest.param("Buried-In-Code__Perdoo__pylock.toml", Request(), id="perdoo-defaults"),
    pytest.param(
        "Buried-In-Code__Perdoo__pylock.toml",
        Request(extras=frozenset({"cb7"}), groups=frozenset({"default", "dev", "tests"})),
        id="perdoo-all",
    ),
    pytest.param("Comfy-Org__comfy-cli__pylock.toml", Request(), id="comfy"),
    pytest.param("Five-Colleges-Incorporated__ldlite__pylock.toml", Request(), id="ldlite-defaults"),
    pytest.param(
        "Five-Colleges-Incorporated__ldlite__pylock.toml",
        Request(groups=frozenset({"default", "lint", "test", "types"})),
        id="ldlite-all",
    ),
]


def test_every_real_lock_is_covered() -> None:
    copies = sorted(p.name for p in DATA.glob("*pylock.toml"))
    assert copies == sorted({str(param.values[0]) for param in REAL})
    originals = Path("/work/shared/lockfiles")
    if originals.is_dir():  # the copies are unchanged
        for name in copies:
            assert (DATA / name).read_bytes() == (originals / name).read_bytes()


@pytest.mark.parametrize(("name", "request_"), REAL)
def test_real_lock_selects(tmp_path: Path, target: Target, name: str, request_: Request) -> None:
    path = tmp_path / "pylock.toml"  # read_lock detects the format from this name
    shutil.copy(DATA / name, path)
    picks = read_lock(path).select(target, request_)
    assert picks
    names = _names(picks)
    assert len(set(names)) == len(names)
    assert {pick.kind for pick in picks} <= ALLOWED_KINDS
    supported = set(target.tags)
    for pick in picks:
        if pick.kind == "wheel":
            assert pick.artifact is not None
            assert pick.version is not None
            tags: frozenset[Tag] = parse_wheel_filename(pick.artifact.filename)[3]
            assert tags & supported, pick.artifact.filename
            assert pick.artifact.strongest_hash is not None


def _select_real(target: Target, name: str, request: Request) -> list[str]:
    return _names(read_pylock(DATA / name).select(target, request))


def test_real_lock_details(target: Target) -> None:
    perdoo = "Buried-In-Code__Perdoo__pylock.toml"
    default = _select_real(target, perdoo, Request())
    everything = _select_real(
        target, perdoo, Request(extras=frozenset({"cb7"}), groups=frozenset({"default", "dev", "tests"}))
    )
    assert set(default) < set(everything)
    assert "perdoo" not in default  # PDM leaves the project itself out
    assert "pytest" in everything
    assert "pytest" not in default

    comfy = read_pylock(DATA / "Comfy-Org__comfy-cli__pylock.toml").select(target, Request())
    by_name = {str(pick.name): pick for pick in comfy}
    assert "colorama" not in by_name  # marker sys_platform == 'win32'
    assert (by_name["comfy-cli"].kind, by_name["comfy-cli"].version) == ("directory", None)
    assert by_name["comfy-cli"].directory == DirectorySource(path=DATA.resolve(), editable=True)

    ldlite = "Five-Colleges-Incorporated__ldlite__pylock.toml"
    assert "ruff" not in _select_real(target, ldlite, Request())
    assert "ruff" in _select_real(target, ldlite, Request(groups=frozenset({"lint"}), default_groups=False))
    with pytest.raises(SelectionError) as info:
        read_pylock(DATA / ldlite).select(target, Request(groups=frozenset({"docs"})))
    assert info.value.reason == "the lock has no dependency group docs; it has: default, lint, test, types"


# --- hostile input: mutated real locks give only our errors --------------------------------------------------------

_REAL = sorted((Path(__file__).parent / "data" / "lockfiles").glob("*pylock.toml"))
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["1.0", "2.0", ">=3", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:  # noqa: ANN401  # any TOML value
    """Delete a key, replace a value with another type, or change something deeper."""
    if isinstance(value, dict) and value and depth < 4:
        key = data.draw(st.sampled_from(sorted(value)))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            return {k: v for k, v in value.items() if k != key}
        if choice == 1:
            return {**value, key: data.draw(_VALUES)}
        return {**value, key: _mutate(value[key], data, depth + 1)}
    if isinstance(value, list) and value and depth < 4:
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _mutate(value[index], data, depth + 1), *value[index + 1 :]]
    return data.draw(_VALUES)


@pytest.fixture(scope="module")
def real_documents() -> dict[str, dict[str, Any]]:
    return {path.name: tomllib.loads(path.read_text()) for path in _REAL}


@pytest.mark.parametrize("name", [path.name for path in _REAL])
@settings(max_examples=350, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_lock_raises_only_our_errors(
    real_documents: dict[str, dict[str, Any]], target: Target, name: str, data: st.DataObject
) -> None:
    document = real_documents[name]
    packages = document["packages"]
    if data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(packages) - 1))
        document = {**document, "packages": [*packages[:index], _mutate(packages[index], data), *packages[index + 1 :]]}
    else:
        document = _mutate(document, data)
    with contextlib.suppress(LockFileError, SelectionError):
        parse_pylock(Path("/x/pylock.toml"), document).select(target, Request())
