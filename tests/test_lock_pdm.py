"""Tests of the pdm.lock reader: errors, pdm's group translation, the real locks against ``pdm sync``, tox."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from _support.tags import no_wheel_summary
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._errors import LockFileError, SelectionError, VenvSyncError
from tox_venvsync._lock import (
    Artifact,
    DirectorySource,
    Pick,
    Request,
    VcsSource,
    detect_format,
    not_in_lock,
    read_lock,
)
from tox_venvsync._lock._pdm import PdmLockFile, parse_pdm_lock, read_pdm_lock
from tox_venvsync._target import Target
from tox_venvsync._values import replace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 floor
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tox.pytest import ToxProjectCreator

    from _support.index import LocalIndex

DATA = Path(__file__).parent / "data"
LOCKS = DATA / "lockfiles" / "pdm"
EXPECTED = DATA / "expected" / "pdm"
SHARED = Path("/work/shared/lockfiles")
PDM = LOCKS / "pdm-project__pdm"
HASH = "ab" * 32


@pytest.fixture(scope="module")
def target(target_of: Callable[[str], Target]) -> Target:
    return target_of("3.12")


def _file(name: str, *, url: str | None = None) -> dict[str, str]:
    entry = {"url": url} if url else {"file": name}
    return {**entry, "hash": f"sha256:{HASH}"}


def _package(name: str, version: str = "1.0", groups: Sequence[str] = ("default",), **keys: object) -> dict[str, Any]:
    """A ``[[package]]`` table as pdm writes it, with one py3-none-any wheel unless it has files or a direct source."""
    entry: dict[str, Any] = {"name": name, "version": version, "summary": "", "groups": list(groups)}
    entry.update(keys)
    direct = any(key in keys for key in ("git", "url", "path"))
    if "files" not in keys and not direct:
        entry["files"] = [_file(f"{name.replace('-', '_')}-{version}-py3-none-any.whl")]
    return entry


def _document(
    packages: Sequence[Mapping[str, Any]],
    *,
    groups: Sequence[str] = ("default",),
    strategy: Sequence[str] = ("inherit_metadata",),
    targets: Sequence[Mapping[str, Any]] = ({"requires_python": ">=3.10"},),
    lock_version: str = "4.5.1",
) -> dict[str, Any]:
    metadata = {"groups": list(groups), "strategy": list(strategy), "lock_version": lock_version}
    return {"metadata": {**metadata, "targets": [dict(t) for t in targets]}, "package": [dict(p) for p in packages]}


def _write(directory: Path, document: Mapping[str, Any], pyproject: Mapping[str, Any] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if pyproject is not None:
        (directory / "pyproject.toml").write_text(tomli_w.dumps(pyproject), encoding="utf-8")
    path = directory / "pdm.lock"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def _lock(tmp_path: Path, packages: Sequence[Mapping[str, Any]], **metadata: Any) -> PdmLockFile:  # noqa: ANN401
    return read_pdm_lock(_write(tmp_path, _document(packages, **metadata)))


def _names(picks: Sequence[Pick]) -> list[str]:
    return [str(pick.name) for pick in picks]


def _lock_error(
    tmp_path: Path, document: Mapping[str, Any], pyproject: Mapping[str, Any] | None = None
) -> LockFileError:
    path = _write(tmp_path, document, pyproject)
    with pytest.raises(LockFileError) as info:
        read_pdm_lock(path)
    return info.value


# --- reading -----------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "pdm.lock"
    with pytest.raises(LockFileError) as info:
        read_pdm_lock(path)
    assert str(info.value) == f"{path}: the lockfile does not exist; create it or set lock_file to the right path"


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "pdm.lock"
    path.write_text("[metadata]\nthis is not toml\n", encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_pdm_lock(path)
    assert str(info.value).startswith(f"{path}: is not valid TOML (")


def test_without_inherit_metadata(tmp_path: Path) -> None:
    error = _lock_error(tmp_path, _document([], strategy=["cross_platform", "static_urls"]))
    assert error.context == "metadata.strategy"
    assert str(error) == (
        f"{tmp_path / 'pdm.lock'} at metadata.strategy: the lock was made without the inherit_metadata strategy, so "
        "it does not say which groups and environments each package is for; re-lock with "
        "`pdm lock --strategy inherit_metadata`"
    )


def test_without_any_strategy(tmp_path: Path) -> None:
    document = _document([])
    del document["metadata"]["strategy"]
    assert _lock_error(tmp_path, document).context == "metadata.strategy"


def _unsupported(version: str) -> str:
    return (
        f"pdm lock_version {version} is not supported; this tool reads lock_version 4.x (written by pdm 2.x): "
        "re-create the lock with `pdm lock`"
    )


@pytest.mark.parametrize(
    ("lock_version", "reason"),
    [
        pytest.param(
            "5.0.0",
            "pdm lock_version 5.0.0 is newer than this tool reads (lock_version 4.x, written by pdm 2.x); "
            "upgrade tox-venvsync, or re-create the lock with pdm 2 (`pdm lock`)",
            id="major-5",
        ),
        pytest.param("3.1", _unsupported("3.1"), id="major-3"),
        pytest.param("four", "'four' is not a version; re-create the lock with `pdm lock`", id="not-a-version"),
    ],
)
def test_lock_version(tmp_path: Path, lock_version: str, reason: str) -> None:
    error = _lock_error(tmp_path, _document([], lock_version=lock_version))
    assert (error.context, error.reason) == ("metadata.lock_version", reason)


def test_newer_minor_lock_version_is_read(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, [_package("pkg")], lock_version="4.9.0")
    assert _names(lock.select(target, Request())) == ["pkg"]


@pytest.mark.parametrize(
    ("change", "context", "reason"),
    [
        pytest.param(lambda d: d.pop("metadata"), "metadata", "is missing; re-create the lock with `pdm lock`",
                     id="no-metadata"),
        pytest.param(lambda d: d["metadata"].pop("lock_version"), "metadata.lock_version",
                     "is missing; re-create the lock with `pdm lock`", id="no-lock-version"),
        pytest.param(lambda d: d["metadata"].pop("groups"), "metadata.groups",
                     "is missing; re-create the lock with `pdm lock`", id="no-groups"),
        pytest.param(lambda d: d["metadata"].update(groups="default"), "metadata.groups",
                     "must be an array, not a string; re-create the lock with `pdm lock`", id="groups-string"),
        pytest.param(lambda d: d["metadata"].update(groups=["default", 3]), "metadata.groups[1]",
                     "must be a string, not an integer; re-create the lock with `pdm lock`", id="group-integer"),
        pytest.param(lambda d: d.update(package={"name": "x"}), "package",
                     "must be an array, not a table; re-create the lock with `pdm lock`",
                     id="package-table"),
        pytest.param(lambda d: d["package"][1].pop("name"), "package[1].name",
                     "is missing; re-create the lock with `pdm lock`", id="no-name"),
        pytest.param(lambda d: d["package"][1].update(name="-x-"), "package[1].name",
                     "'-x-' is not a valid package name; re-create the lock with `pdm lock`", id="bad-name"),
        pytest.param(lambda d: d["package"][1].pop("version"), "package[1].version",
                     "is missing; re-create the lock with `pdm lock`", id="no-version"),
        pytest.param(lambda d: d["package"][1].update(version="1.x"), "package[1].version",
                     "'1.x' is not a valid version; re-create the lock with `pdm lock`", id="bad-version"),
        pytest.param(lambda d: d["package"][1].update(groups="default"), "package[1].groups",
                     "must be an array, not a string; re-create the lock with `pdm lock`", id="groups-not-a-list"),
        pytest.param(lambda d: d["package"][1].update(marker="python_version <"), "package[1].marker",
                     None, id="bad-marker"),
        pytest.param(lambda d: d["package"][1].update(files=[{"hash": f"sha256:{HASH}"}]), "package[1].files[0].file",
                     "is missing (and so is url); re-create the lock with `pdm lock`", id="no-file"),
        pytest.param(lambda d: d["package"][1]["files"][0].update(hash="md5"), "package[1].files[0].hash",
                     "'md5' is not an algorithm:hexdigest hash; re-create the lock with `pdm lock`", id="bad-hash"),
        pytest.param(lambda d: d["package"][1]["files"][0].update(hash="sha256:xyz"), "package[1].files[0].hash",
                     "'sha256:xyz' is not an algorithm:hexdigest hash; re-create the lock with `pdm lock`",
                     id="hash-not-hex"),
        pytest.param(lambda d: d["package"][1]["files"][0].pop("hash"), "package[1].files[0].hash",
                     "is missing; re-create the lock with `pdm lock`", id="no-hash"),
        pytest.param(lambda d: d["package"][1]["files"][0].update(hash="sha256:ab"), "package[1].files[0].hash",
                     "'ab' is not a sha256 digest (64 hex digits); re-create the lock with `pdm lock`",
                     id="hash-too-short"),
        pytest.param(lambda d: d["package"][1]["files"][0].update(url="https://x/b-1.0-py3-none-any.whl"),
                     "package[1].files[0].url",
                     "a file URL in a lock without the static_urls strategy; re-lock with `pdm lock --static-urls`",
                     id="url-without-static-urls"),
        pytest.param(lambda d: d["metadata"]["targets"][0].update(requires_python="=>3"),
                     "metadata.targets[0].requires_python",
                     "'=>3' is not a version specifier; re-create the lock with `pdm lock`",
                     id="bad-target"),
        pytest.param(lambda d: d["metadata"]["targets"][0].update(platform="amiga_m68k"),
                     "metadata.targets[0].platform",
                     "'amiga_m68k' is not a platform pdm knows; re-create the lock with `pdm lock`",
                     id="bad-platform"),
        pytest.param(lambda d: d["metadata"]["targets"][0].update(gil_disabled="no"),
                     "metadata.targets[0].gil_disabled",
                     "must be a boolean, not a string; re-create the lock with `pdm lock`",
                     id="gil-string"),
        pytest.param(lambda d: d["package"].append(_package("g", git="https://x/g.git")), "package[2].revision",
                     "is missing: an editable VCS requirement is not pinned to a commit; lock it without -e",
                     id="vcs-without-revision"),
        pytest.param(lambda d: d["package"].append(_package("g", git="https://x/g.git", revision="v1.0")),
                     "package[2].revision",
                     "'v1.0' is no full commit id (40 hex digits); a branch, tag or short id is not pinned; re-create "
                     "the lock with `pdm lock`", id="vcs-tag-for-revision"),
        pytest.param(lambda d: d["package"].append(_package("p", path="a\x00b")), "package[2].path",
                     None, id="path-with-a-nul"),  # Path.resolve's ValueError was a traceback (found by QA)
        pytest.param(lambda d: d["package"].append(_package("g", git="--upload-pack=x", revision="a" * 40)),
                     "package[2].git",
                     "'--upload-pack=x' is no git URL that pip or uv clones: use https://, ssh://, "
                     "git://, http:// or file:// (or user@host:path); re-create the lock with `pdm lock`",
                     id="vcs-git-option"),
    ],
)  # fmt: skip
def test_invalid_lock(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], context: str, reason: str | None
) -> None:
    document = _document([_package("first"), _package("second")])
    change(document)
    error = _lock_error(tmp_path, document)
    assert error.context == context
    assert str(error).startswith(f"{tmp_path / 'pdm.lock'} at {context}: ")
    if reason is not None:
        assert error.reason == reason


def test_invalid_marker_message(tmp_path: Path) -> None:
    error = _lock_error(tmp_path, _document([_package("pkg", marker="python_version <")]))
    # one line: packaging's message goes on with the marker and a ^ under the fault, which read "\\n    ^" in
    # the one-line sentence, and it said nothing of what to do (found by QA)
    assert error.reason == (
        "'python_version <' is not a valid environment marker (Expected a marker variable or quoted string: "
        "python_version <); re-create the lock with `pdm lock`"
    )


def test_pyproject_errors_name_the_pyproject(tmp_path: Path) -> None:
    error = _lock_error(tmp_path, _document([]), {"dependency-groups": ["test"]})
    assert str(error) == (
        f"{tmp_path / 'pyproject.toml'} at dependency-groups: must be a table, not an array; correct it"
    )
    error = _lock_error(tmp_path, _document([]), {"tool": {"pdm": {"resolution": {"excludes": "x"}}}})
    assert error.context == "tool.pdm.resolution.excludes"


def test_detect_and_read_lock(tmp_path: Path) -> None:
    path = _write(tmp_path, _document([]))
    assert detect_format(path) == "pdm"
    lock = read_lock(path)
    assert isinstance(lock, PdmLockFile)
    assert (lock.path, lock.format) == (path, "pdm")


def test_real_lock_copies_are_unchanged() -> None:
    if not SHARED.is_dir():  # pragma: no cover - the shared tree is not always beside the checkout
        pytest.skip("no shared lockfiles here")
    for name in ("pdm.lock", "pyproject.toml"):
        assert (PDM / name).read_bytes() == (SHARED / f"pdm-project__pdm__{name}").read_bytes()


# --- pdm's group translation -------------------------------------------------------------------------------------

GROUPS = ("default", "cli", "fast", "lint", "test")
PYPROJECT = {
    "project": {"name": "demo", "optional-dependencies": {"cli": ["click"], "fast": ["msgpack"]}},
    "dependency-groups": {"test": ["pytest"]},
    "tool": {"pdm": {"dev-dependencies": {"lint": ["ruff"]}}},
}


def _request(
    extras: Sequence[str] = (), groups: Sequence[str] = (), *, defaults: bool = True, only: bool = False
) -> Request:
    return Request(extras=frozenset(extras), groups=frozenset(groups), default_groups=defaults, only_groups=only)


@pytest.mark.parametrize(
    ("request_", "with_pyproject", "without_pyproject"),
    [
        pytest.param(_request(), GROUPS, GROUPS, id="pdm-sync"),
        pytest.param(_request(defaults=False), {"default"}, {"default"}, id="prod"),
        pytest.param(_request(["cli"]), {"default", "cli", "lint", "test"}, GROUPS,
                     id="G-extra-adds-dev-groups"),  # without a pyproject, fast could be a dependency group
        pytest.param(_request(groups=["test"]), {"default", "test"}, {"default", "test"}, id="G-dev-group-alone"),
        pytest.param(_request(["cli"], ["test"]), {"default", "cli", "test"}, {"default", "cli", "test"},
                     id="G-extra-and-dev-group"),
        pytest.param(_request(["cli", "fast"], defaults=False), {"default", "cli", "fast"},
                     {"default", "cli", "fast"}, id="prod-G-extras"),
        pytest.param(_request(groups=["fast"]), {"default", "fast", "lint", "test"}, {"default", "fast"},
                     id="G-extra-named-as-group"),
        pytest.param(_request(groups=["default"], defaults=False), {"default"}, {"default"}, id="default-by-name"),
        pytest.param(_request(groups=["test"], only=True), {"test"}, {"test"}, id="no-default-G-test"),
        pytest.param(_request(groups=["lint", "fast"], only=True), {"lint", "fast"}, {"lint", "fast"},
                     id="no-default-G-two"),
    ],
)  # fmt: skip
def test_selected_groups(
    tmp_path: Path, request_: Request, with_pyproject: set[str], without_pyproject: set[str]
) -> None:
    with_project = read_pdm_lock(_write(tmp_path / "with", _document([], groups=GROUPS), PYPROJECT))
    assert with_project.selected_groups(request_) == frozenset(with_pyproject)
    bare = read_pdm_lock(_write(tmp_path / "bare", _document([], groups=GROUPS)))
    assert bare.selected_groups(request_) == frozenset(without_pyproject)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(Request(all_extras=True), {"default", "cli", "fast", "lint", "test"}, id="G-all-extras"),
        pytest.param(Request(all_extras=True, default_groups=False), {"default", "cli", "fast"}, id="prod-all-extras"),
        pytest.param(Request(all_groups=True), {"default", "lint", "test"}, id="G-all-dependency-groups"),
        pytest.param(Request(all_extras=True, all_groups=True), set(GROUPS), id="G-all"),
        pytest.param(Request(extras=frozenset({":all"})), set(GROUPS), id="extras-colon-all"),
        pytest.param(Request(groups=frozenset({":all"})), set(GROUPS), id="groups-colon-all"),
        pytest.param(Request(no_groups=frozenset({"lint"})), {"default", "cli", "fast", "test"}, id="without-lint"),
        pytest.param(
            Request(extras=frozenset({"cli"}), no_groups=frozenset({"test"})),
            {"default", "cli", "lint"},
            id="G-cli-without-test",
        ),
        # pdm's --without takes an extra too: --no-extra and --no-group both mean it (found by QA)
        pytest.param(Request(no_extras=frozenset({"cli"})), {"default", "fast", "lint", "test"}, id="no-extra-cli"),
        pytest.param(Request(no_groups=frozenset({"cli"})), {"default", "fast", "lint", "test"}, id="no-group-cli"),
        pytest.param(
            Request(all_extras=True, no_extras=frozenset({"fast"})),
            {"default", "cli", "lint", "test"},
            id="all-extras-no-extra-fast",
        ),
    ],
)
def test_every_extra_or_group_and_without(tmp_path: Path, request_: Request, expected: set[str]) -> None:
    # pdm sync -G :all is every extra and every dependency group; --without leaves a group out
    lock = read_pdm_lock(_write(tmp_path, _document([], groups=GROUPS), PYPROJECT))
    assert lock.selected_groups(request_) == frozenset(expected)


def test_a_lock_kept_elsewhere_reads_the_project_above_it(tmp_path: Path) -> None:
    # pdm lock -L locks/ci.lock: PDM's project is the nearest pyproject.toml above, and relative paths start there
    written = _write(tmp_path, _document([_package("local", path="./libs/local")], groups=GROUPS), PYPROJECT)
    lock = tmp_path / "locks" / "ci.lock"
    lock.parent.mkdir()
    written.rename(lock)
    read = read_pdm_lock(lock)
    assert read.packages[0].directory is not None
    assert read.packages[0].directory.path == (tmp_path / "libs" / "local").resolve()
    with_project = read_pdm_lock(_write(tmp_path / "with", _document([], groups=GROUPS), PYPROJECT))
    assert read.project == with_project.project is not None


def test_without_names_a_group_of_the_lock(tmp_path: Path) -> None:
    lock = read_pdm_lock(_write(tmp_path, _document([], groups=GROUPS), PYPROJECT))
    with pytest.raises(SelectionError) as info:
        lock.selected_groups(Request(no_extras=frozenset({"gui"})))
    assert info.value.reason == not_in_lock("group", ["gui"], GROUPS)


def test_every_extra_needs_the_pyproject_to_tell_extras_from_groups(tmp_path: Path) -> None:
    bare = read_pdm_lock(_write(tmp_path, _document([], groups=GROUPS)))
    with pytest.raises(SelectionError) as info:
        bare.selected_groups(Request(all_extras=True))
    assert info.value.reason == (
        "without the pyproject.toml beside the lock its extras cannot be told from its dependency groups, so every "
        "extra or group cannot be selected; name them instead"
    )


def test_pdm_sync_leaves_out_locked_groups_the_project_lost(tmp_path: Path) -> None:
    lock = read_pdm_lock(_write(tmp_path, _document([], groups=(*GROUPS, "gone")), PYPROJECT))
    assert lock.selected_groups(Request()) == frozenset(GROUPS)


def test_dev_groups_missing_from_the_lock_are_left_out(tmp_path: Path) -> None:
    lock = read_pdm_lock(_write(tmp_path, _document([], groups=("default", "cli")), PYPROJECT))
    assert lock.selected_groups(_request(["cli"])) == {"default", "cli"}


def test_group_not_in_the_lock(tmp_path: Path, target: Target) -> None:
    lock = read_pdm_lock(_write(tmp_path, _document([], groups=GROUPS), PYPROJECT))
    with pytest.raises(SelectionError) as info:
        lock.select(target, _request(["gui"], ["docs", "test"]))
    assert str(info.value) == (f"{lock.path}: the lock has no group docs, gui; it has: cli, default, fast, lint, test")
    assert info.value.exit_code == 2


# --- selection ---------------------------------------------------------------------------------------------------


def test_groups_and_markers(tmp_path: Path, target: Target) -> None:
    packages = [
        _package("base"),
        _package("click", groups=["cli"]),
        _package("pytest", groups=["test"]),
        _package("shared", groups=["cli", "test"]),
        _package("win", groups=["default"], marker="sys_platform == 'win32'"),
        _package("here", groups=["default"], marker=f"python_full_version == '{target.python_full_version}'"),
        _package("ungrouped", groups=[]),
    ]
    lock = read_pdm_lock(_write(tmp_path, _document(packages, groups=GROUPS), PYPROJECT))
    assert _names(lock.select(target, _request(defaults=False))) == ["base", "here", "ungrouped"]
    assert _names(lock.select(target, _request(["cli"], defaults=False))) == [
        "base", "click", "shared", "here", "ungrouped",
    ]  # fmt: skip
    assert _names(lock.select(target, Request())) == ["base", "click", "pytest", "shared", "here", "ungrouped"]


def test_excluded_packages_are_never_selected(tmp_path: Path, target: Target) -> None:
    pyproject = {**PYPROJECT, "tool": {"pdm": {"resolution": {"excludes": ["Skip_Me"]}}}}
    lock = read_pdm_lock(_write(tmp_path, _document([_package("skip-me"), _package("kept")]), pyproject))
    assert _names(lock.select(target, Request())) == ["kept"]


def test_pick_details(tmp_path: Path, target: Target) -> None:
    files = [
        _file("demo_pkg-1.2.tar.gz"),
        {"file": "demo_pkg-1.2-py3-none-any.whl", "hash": f"SHA256:{HASH.upper()}"},
    ]
    lock = _lock(
        tmp_path, [_package("other", marker="sys_platform == 'none'"), _package("Demo.Pkg", "1.2", files=files)]
    )
    assert lock.select(target, Request()) == [
        Pick(
            name=canonicalize_name("demo-pkg"),
            version=Version("1.2"),
            kind="wheel",
            artifact=Artifact(
                filename="demo_pkg-1.2-py3-none-any.whl", url=None, path=None, size=None, hashes={"sha256": HASH}
            ),
            index=None,
            context="package[1].files[1]",
            direct=False,  # a package's files are a registry's: no direct_url.json, as for uv's and PEP 751's
        )
    ]


def test_best_wheel_then_sdist(tmp_path: Path, target: Target) -> None:
    best = f"native-2.0-{target.tag_strings[0]}.whl"
    foreign = "native-2.0-cp27-cp27m-win32.whl"
    files = [_file("native-2.0.tar.gz"), _file("native-2.0-py3-none-any.whl"), _file(foreign), _file(best)]
    only_sdist = [_file(foreign), _file("other-1.0.tar.gz")]
    lock = _lock(tmp_path, [_package("native", "2.0", files=files), _package("other", files=only_sdist)])
    picks = lock.select(target, Request())
    assert [(p.kind, p.artifact.filename if p.artifact else None, p.context) for p in picks] == [
        ("wheel", best, "package[0].files[3]"),
        ("sdist", "other-1.0.tar.gz", "package[1].files[1]"),
    ]


def test_the_wheel_pdm_sync_installs_is_chosen(tmp_path: Path, target: Target) -> None:
    # found comparing with pdm sync 2.29: a lock with a wheel built here (linux_x86_64) beside a manylinux one (a
    # private index) got the linux one, which packaging 26 ranks first; pdm (dep_logic) ranks it after manylinux
    glibc = (
        "cp312-cp312-linux_x86_64",
        "cp312-cp312-manylinux_2_28_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp312-abi3-linux_x86_64",
        "cp312-abi3-manylinux_2_17_x86_64",
        "cp37-abi3-manylinux_2_17_x86_64",
        "py312-none-any",
        "py3-none-any",
    )
    musl = ("cp312-cp312-linux_x86_64", "cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-musllinux_1_1_x86_64")

    def picked(tags: Sequence[str], *wheel_tags: str) -> str:
        files = [_file(f"native-1.0-{tag}.whl") for tag in wheel_tags]
        [pick] = _lock(tmp_path, [_package("native", files=files)]).select(replace(target, tag_strings=tags), Request())
        assert pick.artifact is not None
        return pick.artifact.filename.removeprefix("native-1.0-").removesuffix(".whl")

    linux, newer, older = (
        "cp312-cp312-linux_x86_64",
        "cp312-cp312-manylinux_2_28_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64",
    )
    assert picked(glibc, linux, older) == older
    assert picked(glibc, older, linux, newer) == newer
    assert picked(glibc, "cp312-abi3-manylinux_2_17_x86_64", linux) == linux  # the ABI before the platform
    assert picked(glibc, "cp37-abi3-manylinux_2_17_x86_64", "py312-none-any") == "py312-none-any"  # 3.12 over 3.7
    assert picked(glibc, "py3-none-any", "cp37-abi3-manylinux_2_17_x86_64") == "cp37-abi3-manylinux_2_17_x86_64"
    # on musl, dep_logic puts linux_x86_64 first, then musllinux from the oldest
    assert picked(musl, "cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-musllinux_1_1_x86_64") == musl[2]
    assert picked(musl, "cp312-cp312-musllinux_1_1_x86_64", linux) == linux


def test_no_file_fits(tmp_path: Path, target: Target) -> None:
    win = "native-2.0-cp27-cp27m-win32.whl"
    mac = "native-2.0-cp312-cp312-macosx_11_0_arm64.whl"
    lock = _lock(tmp_path, [_package("fine"), _package("native", "2.0", files=[_file(win), _file(mac)])])
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    tags = target.tags
    assert str(info.value) == (
        f"{lock.path}: no file of native 2.0 at package[1] fits the interpreter {target.executable} "
        f"(Python {target.python_full_version}, tags {no_wheel_summary(tags)}); "
        f"the lock has {win}, {mac}: re-lock for this interpreter with `pdm lock --append` or use another Python"
    )


def test_no_files_at_all(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, [_package("empty", files=[])])
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == "the lock has no files for empty 1.0 at package[0]; re-create the lock with `pdm lock`"


def test_static_urls(tmp_path: Path, target: Target) -> None:
    url = "https://files.example.invalid/p/pkg_x-1.0%2Blocal-py3-none-any.whl"
    for strategy in (["inherit_metadata", "static_urls"], ["inherit_metadata"]):
        document = _document([_package("pkg-x", "1.0+local", files=[_file("", url=url)])], strategy=strategy)
        if "static_urls" not in strategy:
            document["metadata"]["static_urls"] = True  # how locks of pdm < 2.8 say it
        [pick] = read_pdm_lock(_write(tmp_path, document)).select(target, Request())
        assert pick.artifact == Artifact(
            filename="pkg_x-1.0+local-py3-none-any.whl", url=url, path=None, size=None, hashes={"sha256": HASH}
        )


def test_entries_with_extras_install_the_base_distribution_once(tmp_path: Path, target: Target) -> None:
    packages = [
        _package("httpx", "0.28"),
        _package("httpx", "0.28", extras=["socks"]),
        _package("coverage", "7.1", groups=["test"], extras=["toml"]),  # only the entry with extras is selected
        _package("legacy[cli]", "2.0", files=[_file("legacy-2.0-py3-none-any.whl")]),  # extras in the name
    ]
    lock = _lock(tmp_path, packages, groups=["default", "test"])
    picks = lock.select(target, Request())
    assert [(str(p.name), str(p.version), p.context) for p in picks] == [
        ("httpx", "0.28", "package[0].files[0]"),
        ("coverage", "7.1", "package[2].files[0]"),
        ("legacy", "2.0", "package[3].files[0]"),
    ]


def test_two_versions_selected(tmp_path: Path, target: Target) -> None:
    packages = [_package("pkg", "1.0"), _package("pkg", "2.0", marker="python_version >= '3'")]
    lock = _lock(tmp_path, packages)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"pkg is selected twice for the interpreter {target.executable} (Python {target.python_full_version}): "
        "1.0 at package[0] and 2.0 at package[1]; fix the markers and re-lock with `pdm lock`"
    )


def test_forks_by_marker(tmp_path: Path, target: Target) -> None:
    packages = [
        _package("numpy", "1.26", marker="python_version < '3.12'"),
        _package("numpy", "2.3", marker="python_version >= '3.12'"),
    ]
    [pick] = _lock(tmp_path, packages).select(target, Request())
    assert (pick.version, pick.context) == (Version("2.3"), "package[1].files[0]")


def test_marker_that_cannot_be_evaluated(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, [_package("pkg", marker="os_name ~= 'posix'")])
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "package[0].marker"
    assert info.value.reason.startswith("the marker 'os_name ~= \"posix\"' cannot be evaluated (")


def test_direct_sources(tmp_path: Path, target: Target) -> None:
    archive_hash = {"file": "direct-3.0.tar.gz", "hash": f"sha256:{HASH}"}
    packages = [
        _package("gitdep", "0.1", git="https://example.invalid/g.git", ref="main", revision="c" * 40, subdirectory="s"),
        _package("local", "1.0", path="./sub", editable=True),
        _package("plain", "1.0", path="../elsewhere/plain"),
        _package("wheel-file", "1.0", path="dist/wheel_file-1.0-py3-none-any.whl", files=[_file("x")]),
        _package("direct", "3.0", url="https://example.invalid/dl/direct-3.0.tar.gz", files=[archive_hash]),
    ]
    for entry in packages[1:3]:
        del entry["version"]  # pdm leaves out the version of a source tree whose version is dynamic
    picks = _lock(tmp_path / "project", packages).select(target, Request())
    project = (tmp_path / "project").resolve()
    assert picks == [
        Pick(
            name=canonicalize_name("gitdep"), version=Version("0.1"), kind="vcs", artifact=None, context="package[0]",
            vcs=VcsSource(type="git", url="https://example.invalid/g.git", commit="c" * 40, requested="main",
                          subdirectory="s"),
        ),
        Pick(
            name=canonicalize_name("local"), version=None, kind="directory", artifact=None, context="package[1]",
            directory=DirectorySource(path=project / "sub", editable=True),
        ),
        Pick(
            name=canonicalize_name("plain"), version=None, kind="directory", artifact=None, context="package[2]",
            directory=DirectorySource(path=tmp_path.resolve() / "elsewhere" / "plain"),
        ),
        Pick(
            name=canonicalize_name("wheel-file"), version=Version("1.0"), kind="archive", context="package[3]",
            artifact=Artifact(filename="wheel_file-1.0-py3-none-any.whl", url=None, size=None,
                              path=project / "dist" / "wheel_file-1.0-py3-none-any.whl", hashes={"sha256": HASH}),
        ),
        Pick(
            name=canonicalize_name("direct"), version=Version("3.0"), kind="archive", context="package[4]",
            artifact=Artifact(filename="direct-3.0.tar.gz", url="https://example.invalid/dl/direct-3.0.tar.gz",
                              path=None, size=None, hashes={"sha256": HASH}),
        ),
    ]  # fmt: skip


def test_a_direct_archive_takes_the_hash_its_files_give_for_its_name(tmp_path: Path, target: Target) -> None:
    # a files list of more than one entry: the archive's own is found by its name, wherever it is listed
    (tmp_path / "project").mkdir()
    url = "https://example.invalid/dl/direct-3.0.tar.gz"
    files = [{"file": "direct-2.0.tar.gz", "hash": f"sha256:{'a' * 64}"}, _file("direct-3.0.tar.gz")]
    local = [{"file": "local-1.0.tar.gz", "hash": f"sha256:{'a' * 64}"}, _file("local-1.0-py3-none-any.whl")]
    packages = [
        _package("direct", "3.0", url=url, files=files),
        _package("local", "1.0", path="dist/local-1.0-py3-none-any.whl", files=local),
    ]
    picks = _lock(tmp_path / "project", packages).select(target, Request())
    assert [(pick.artifact.filename, pick.artifact.hashes) for pick in picks if pick.artifact] == [
        ("direct-3.0.tar.gz", {"sha256": HASH}),
        ("local-1.0-py3-none-any.whl", {"sha256": HASH}),
    ]


def test_real_paths_lock(target: Target) -> None:
    picks = {str(p.name): p for p in read_pdm_lock(LOCKS / "paths" / "pdm.lock").select(target, Request())}
    assert picks["sub-pkg"].directory == DirectorySource(path=(LOCKS / "paths" / "sub").resolve(), editable=True)
    assert picks["plain-pkg"].directory == DirectorySource(path=(LOCKS / "paths" / "plain").resolve())
    six = picks["six"]
    assert six.kind == "archive"
    assert six.artifact is not None
    assert six.artifact.url is not None
    assert six.artifact.url.endswith("/six-1.17.0-py2.py3-none-any.whl")
    assert six.artifact.strongest_hash == (
        "sha256",
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
    )


# --- lock targets ------------------------------------------------------------------------------------------------


def _machine(target: Target) -> str:
    return {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[target.markers["platform_machine"]]


def _target_cases(target: Target) -> list[tuple[list[dict[str, Any]], bool]]:
    here = target.python_full_version
    arch = _machine(target)
    return [
        ([], True),
        ([{"requires_python": f"=={here}"}], True),
        ([{"requires_python": ">=3.99"}], False),
        ([{"requires_python": ">=3.99"}, {"requires_python": ""}], True),
        ([{"requires_python": "", "platform": f"manylinux_2_17_{arch}"}], True),
        ([{"requires_python": "", "platform": f"manylinux_2_99_{arch}"}], True),  # newer glibc only warns in pdm
        ([{"requires_python": "", "platform": "linux"}], arch == "x86_64"),
        ([{"requires_python": "", "platform": f"musllinux_1_2_{arch}"}], False),
        ([{"requires_python": "", "platform": "windows_amd64"}], False),
        ([{"requires_python": "", "platform": "macos_14_0_arm64"}], False),
        ([{"requires_python": "", "platform": "manylinux_2_17_s390x"}], arch == "s390x"),
        ([{"requires_python": "", "implementation": "cpython", "gil_disabled": False}], True),
        ([{"requires_python": "", "implementation": "cpython", "gil_disabled": True}], False),
        ([{"requires_python": "", "implementation": "pypy"}], False),
    ]


def test_lock_targets(tmp_path: Path, target: Target) -> None:
    assert target.markers["sys_platform"] == "linux"  # the cases are written for a glibc Linux
    for index, (targets, fits) in enumerate(_target_cases(target)):
        lock = _lock(tmp_path / str(index), [_package("pkg")], targets=targets)
        if fits:
            assert _names(lock.select(target, Request())) == ["pkg"], targets
            continue
        with pytest.raises(SelectionError, match="none of the lock targets"):
            lock.select(target, Request())


def test_lock_target_refusal_message(tmp_path: Path, target: Target) -> None:
    targets = [{"requires_python": ">=3.99", "platform": "windows_arm64", "implementation": "cpython"}]
    lock = _lock(tmp_path, [], targets=targets)
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"none of the lock targets (>=3.99, windows_arm64, cpython) fits the interpreter {target.executable} "
        f"(Python {target.python_full_version}, manylinux_{_machine(target)}, cpython); "
        "add a target with `pdm lock --append` run for this Python, or use another Python"
    )


def test_a_python_built_from_source_fits_the_targets_of_its_version(tmp_path: Path, target: Target) -> None:
    """A CPython built from a git checkout says 3.13.0+ (platform.python_version()): a 3.13, as for uv.lock and pylock.

    The target check compared that string, which is no version, so no lock target fitted (found by QA).
    """
    release = target.markers["python_version"]
    source_build = replace(target, markers={**target.markers, "python_full_version": f"{release}.0+"})
    lock = _lock(tmp_path, [_package("pkg")], targets=[{"requires_python": f">={release}"}])
    assert _names(lock.select(source_build, Request())) == ["pkg"]


@pytest.mark.parametrize("full", ["3.12.1rc1", "3.12.1+"])
def test_a_pre_release_or_git_build_python_is_its_release_as_pdm_sync_takes_it(
    tmp_path: Path, target: Target, full: str
) -> None:
    """``pdm sync`` on Python 3.12.1rc1 fits a ``>=3.12.1`` target and the ``>= '3.12.1'`` package (found by QA).

    The target was refused (3.12.1+ read as 3.12, 3.12.1rc1 as a pre-release), and neither package was selected.
    """
    source_build = replace(target, markers={**target.markers, "python_full_version": full, "python_version": "3.12"})
    packages = [
        _package("old", marker="python_full_version < '3.12.1'"),
        _package("new", marker="python_full_version >= '3.12.1'"),
    ]
    lock = _lock(tmp_path, packages, targets=[{"requires_python": ">=3.12.1"}])
    assert _names(lock.select(source_build, Request())) == ["new"]


@pytest.mark.parametrize(
    ("platform", "fits_musl"),
    [("alpine", True), ("linux", False), ("musllinux_1_1_x86_64", True), ("freebsd_14_x86_64", False)],
)
def test_platform_families(tmp_path: Path, target: Target, platform: str, *, fits_musl: bool) -> None:
    musl = Target(
        executable="/usr/bin/python3",
        prefix="/",
        base_prefix="/",
        markers={**target.markers, "platform_machine": "x86_64", "python_full_version": "3.12.1"},
        tag_strings=("cp312-cp312-musllinux_1_2_x86_64", "py3-none-any"),
        scheme={},
    )
    lock = _lock(tmp_path, [_package("pkg")], targets=[{"requires_python": "", "platform": platform}])
    if fits_musl:
        assert _names(lock.select(musl, Request())) == ["pkg"]
    else:
        with pytest.raises(SelectionError):
            lock.select(musl, Request())


# --- the real locks against what `pdm sync --dry-run` installs -----------------------------------------------------


def _expected_cases() -> list[Any]:
    cases: list[Any] = []
    for path in sorted(EXPECTED.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        cases.extend(pytest.param(path.stem, minor, id=f"{path.stem}-{minor}") for minor in document["results"])
    return cases


EXPECTED_CASES = _expected_cases()


def test_expected_sets_cover_every_lock() -> None:
    locks = {json.loads(p.read_text(encoding="utf-8"))["lock"] for p in EXPECTED.glob("*.json")}
    assert locks == {f"lockfiles/pdm/{p.parent.name}/pdm.lock" for p in LOCKS.glob("*/pdm.lock")}
    assert len(EXPECTED_CASES) >= 50


@pytest.mark.parametrize(("case", "minor"), EXPECTED_CASES)
def test_real_lock_selects_what_pdm_sync_installs(target_of: Callable[[str], Target], case: str, minor: str) -> None:
    document = json.loads((EXPECTED / f"{case}.json").read_text(encoding="utf-8"))
    expected = document["results"][minor]
    target = target_of(minor)
    assert target.python_full_version == expected["python"]
    asked = document["request"]
    request = _request(asked["extras"], asked["groups"], defaults=asked["default_groups"])
    lock = read_pdm_lock(DATA / document["lock"])
    if "refused" in expected:
        with pytest.raises(SelectionError):
            lock.select(target, request)
        return
    picks = lock.select(target, request)
    assert {str(p.name): str(p.version) for p in picks} == expected["packages"], document["command"]
    _check_picks(picks, target)


def _check_picks(picks: Sequence[Pick], target: Target) -> None:
    assert len({p.name for p in picks}) == len(picks)
    supported = set(target.tags)
    for pick in picks:
        if pick.kind in {"wheel", "sdist"}:
            assert pick.artifact is not None
            assert pick.artifact.strongest_hash is not None
        if pick.kind == "wheel":
            assert pick.artifact is not None
            assert parse_wheel_filename(pick.artifact.filename)[3] & supported


def test_real_pdm_lock_details(target: Target) -> None:
    picks = {str(p.name): p for p in read_pdm_lock(PDM / "pdm.lock").select(target, Request())}
    assert picks["anyio"] == Pick(
        name=canonicalize_name("anyio"),
        version=Version("4.13.0"),
        kind="wheel",
        artifact=Artifact(
            filename="anyio-4.13.0-py3-none-any.whl",
            url=None,
            path=None,
            size=None,
            hashes={"sha256": "08b310f9e24a9594186fd75b4f73f4a4152069e3853f1ed8bfbf58369f4ad708"},
        ),
        context="package[0].files[0]",
        direct=False,
    )
    coverage = picks["coverage"].artifact
    assert coverage is not None
    assert coverage.filename.startswith("coverage-7.13.5-cp312-cp312-manylinux")
    assert "pywin32-ctypes" not in picks  # sys_platform == "win32"
    assert "pdm" not in picks  # the project itself is not in its lock


def test_real_static_urls_lock(target: Target) -> None:
    picks = read_pdm_lock(LOCKS / "static-urls" / "pdm.lock").select(target, Request())
    for pick in picks:
        assert pick.artifact is not None
        assert pick.artifact.url is not None
        assert pick.artifact.url.startswith("https://files.pythonhosted.org/packages/")
        assert not pick.direct  # a registry's file, which pdm, uv and pip install without a direct_url.json
        assert pick.artifact.url.endswith("/" + pick.artifact.filename)


# --- no input makes the reader fail with anything but our errors -------------------------------------------------


@pytest.fixture(scope="module")
def documents() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {
        name: (
            tomllib.loads((LOCKS / name / "pdm.lock").read_text(encoding="utf-8")),
            tomllib.loads((LOCKS / name / "pyproject.toml").read_text(encoding="utf-8")),
        )
        for name in ("pdm-project__pdm", "static-urls")
    }


JSONISH = st.recursive(
    st.booleans()
    | st.integers(-3, 2**40)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            ".",
            "default",
            "test",
            "inherit_metadata",
            "static_urls",
            "sha256:zz",
            "sha256:",
            "sha256:AB",
            "4.5.1",
            "5",
            ">=3.99",
            "((",
            "extra == 'x'",
            "python_version < '3'",
            "os_name ~= 'x'",
            "linux",
            "windows_amd64",
            "https://x/y-1.0-py3-none-any.whl",
            "../up",
            "x-1.0.tar.gz",
            "anyio",
            "name[x]",
            "pypy",
        ]
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _retype(value: object) -> object:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return str(value)


def _mutate(draw: st.DataObject, document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with one value deleted, retyped or replaced; only the containers on the way are copied."""
    root = dict(document)
    node: dict[Any, Any] | list[Any] = root
    while node:
        key = draw.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        child = node[key]
        if isinstance(child, dict | list) and child and draw.draw(st.integers(0, 9)) < 8:
            node[key] = node = dict(child) if isinstance(child, dict) else list(child)
            continue
        action = draw.draw(st.sampled_from(["delete", "retype", "replace"]))
        if action == "delete":
            del node[key]
        else:
            node[key] = _retype(child) if action == "retype" else draw.draw(JSONISH)
        break
    return root


REQUESTS = st.sampled_from(
    [Request(), _request(defaults=False), _request(["keyring"]), _request(groups=["test"]), _request(["yaml"])]
)


@pytest.mark.parametrize("name", ["pdm-project__pdm", "static-urls"])
@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_mutated_lock_raises_only_our_errors(
    documents: dict[str, tuple[dict[str, Any], dict[str, Any]]], target: Target, name: str, draw: st.DataObject
) -> None:
    data, project = documents[name]
    mutated = _mutate(draw, data)
    for _ in range(draw.draw(st.integers(0, 2))):
        mutated = _mutate(draw, mutated)
    pyproject = draw.draw(st.sampled_from([project, None]))
    with contextlib.suppress(VenvSyncError):
        parse_pdm_lock(LOCKS / name / "pdm.lock", mutated, pyproject).select(target, draw.draw(REQUESTS))


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_mutated_pyproject_raises_only_our_errors(
    documents: dict[str, tuple[dict[str, Any], dict[str, Any]]], target: Target, draw: st.DataObject
) -> None:
    data, project = documents["static-urls"]
    with contextlib.suppress(VenvSyncError):
        parse_pdm_lock(LOCKS / "static-urls" / "pdm.lock", data, _mutate(draw, project)).select(target, Request())


# --- through tox -------------------------------------------------------------------------------------------------

INI = """
[tox]
env_list = py312
[testenv]
runner = venvsync
env_location = {env_location}
package = skip
commands =
    python -c "import alpha, beta; print('from pdm.lock', alpha.__version__, beta.__version__)"
    python -c "import importlib.util as u; print('gamma installed:', u.find_spec('gamma') is not None)"
"""

E2E_PYPROJECT = """
[project]
name = "demo"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["alpha", "gamma; sys_platform == 'win32'"]
[dependency-groups]
test = ["beta"]
"""


def _e2e_lock(index: LocalIndex, wheels: Sequence[Path]) -> dict[str, Any]:
    """A pdm.lock as ``pdm lock --static-urls`` writes it, its files served by the local index."""
    groups = {"alpha": ["default"], "beta": ["test"], "gamma": ["default"]}
    packages = []
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        entry = _package(name, str(version), groups[name], files=[])
        entry["files"] = [{"url": index.file_url(wheel.name), "hash": f"sha256:{sha256_file(wheel)}"}]
        if name == "gamma":
            entry["marker"] = 'sys_platform == "win32"'
        packages.append(entry)
    return _document(packages, groups=["default", "test"], strategy=["inherit_metadata", "static_urls"])


@pytest.mark.slow
def test_tox_syncs_from_a_pdm_lock(
    tmp_path: Path,
    local_index: LocalIndex,
    tox_project: ToxProjectCreator,
    cache_dir: Path,  # noqa: ARG001  # a private artifact cache
) -> None:
    versions = {"alpha": "1.0", "beta": "2.5", "gamma": "3.0"}
    wheels = [make_wheel(local_index.directory, name, version) for name, version in versions.items()]
    venvs = tmp_path / "venvs"
    project = tox_project(
        {"tox.ini": INI.replace("{env_location}", str(venvs / "{env_name}")), "pyproject.toml": E2E_PYPROJECT}
    )
    (project.path / "pdm.lock").write_text(tomli_w.dumps(_e2e_lock(local_index, wheels)), encoding="utf-8")
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    result.assert_success()
    assert "from pdm.lock 1.0 2.5" in result.out
    assert "gamma installed: False" in result.out
    assert (venvs / "py312" / "pyvenv.cfg").is_file()
    assert not (project.path / ".venv").exists()
    assert not any(request.endswith("gamma-3.0-py3-none-any.whl") for request in local_index.requests)
