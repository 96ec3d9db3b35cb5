"""Tests of the poetry.lock reader: validation, selection as ``poetry sync`` does it, and real Poetry's own answers."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.tags import no_wheel_summary
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._errors import LockFileError, SelectionError, VenvSyncError
from tox_venvsync._lock import Artifact, DirectorySource, Pick, Request, VcsSource, detect_format, read_lock
from tox_venvsync._lock._poetry import PoetryLockFile, _content_hash, _pep440, read_poetry_lock, read_project
from tox_venvsync._target import Target
from tox_venvsync._values import replace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 floor
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tox.pytest import ToxProjectCreator

    from _support.index import LocalIndex

LOCKS = Path(__file__).parent / "data" / "lockfiles" / "poetry"
EXPECTED = Path(__file__).parent / "data" / "expected" / "poetry"
#: Python 3.12.1 on this Linux machine, as recorded when real Poetry produced the expected sets
TARGET = Target.from_json(json.loads((EXPECTED / "targets" / "cpython-3.12.1.json").read_text(encoding="utf-8")))
HASH = "sha256:" + "ab" * 32
FIX = "fix it or re-create the lock with poetry lock"

PYPROJECT = """
[project]
name = "demo"
version = "1.0"
requires-python = ">=3.10"

[project.optional-dependencies]
cli = ["click"]

[tool.poetry.group.dev.dependencies]
pytest = "*"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
sphinx = "*"

[dependency-groups]
lint = ["ruff"]
"""


def _pkg(name: str, version: str = "1.0", groups: Sequence[str] = ("main",), **fields: Any) -> dict[str, Any]:  # noqa: ANN401
    """A ``[[package]]`` table with one py3-none-any wheel unless ``files`` is given."""
    files = [{"file": f"{name.replace('-', '_')}-{version}-py3-none-any.whl", "hash": HASH}]
    entry: dict[str, Any] = {"name": name, "version": version, "optional": False, "groups": list(groups)}
    return {**entry, "files": files, **fields}


def _write(
    directory: Path,
    packages: Iterable[dict[str, Any]],
    *,
    pyproject: str = PYPROJECT,
    python: str = ">=3.10",
    **top: Any,  # noqa: ANN401
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(textwrap.dedent(pyproject), encoding="utf-8")
    # the hash Poetry writes for this pyproject.toml: the lock is fresh
    content_hash = _content_hash(tomllib.loads(textwrap.dedent(pyproject)), with_groups=True)
    metadata = {"lock-version": "2.1", "python-versions": python, "content-hash": content_hash}
    document = {"package": list(packages), **top, "metadata": metadata}
    path = directory / "poetry.lock"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def _lock(tmp_path: Path, packages: Iterable[dict[str, Any]], **options: Any) -> PoetryLockFile:  # noqa: ANN401
    return read_poetry_lock(_write(tmp_path, packages, **options))


def _names(picks: Sequence[Pick]) -> list[str]:
    return [str(pick.name) for pick in picks]


def _python(version: str) -> Target:
    minor = ".".join(version.split(".")[:2])
    return replace(TARGET, markers={**TARGET.markers, "python_full_version": version, "python_version": minor})


# --- reading -----------------------------------------------------------------------------------------------------


def test_detected_and_read_through_read_lock(tmp_path: Path) -> None:
    path = _write(tmp_path, [_pkg("one")])
    assert detect_format(path) == "poetry"
    lock = read_lock(path)
    assert isinstance(lock, PoetryLockFile)
    assert (lock.path, lock.format) == (path, "poetry")


def test_missing_lock(tmp_path: Path) -> None:
    path = tmp_path / "poetry.lock"
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert str(info.value) == f"{path}: the lockfile does not exist; create it or set lock_file to the right path"


def test_missing_pyproject(tmp_path: Path) -> None:
    path = _write(tmp_path, [])
    (tmp_path / "pyproject.toml").unlink()
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert str(info.value) == (
        f"{path}: Poetry keeps which dependency groups are optional in pyproject.toml, and there is no "
        f"{tmp_path / 'pyproject.toml'}; keep the lock beside the pyproject.toml it was made from"
    )


def test_invalid_pyproject(tmp_path: Path) -> None:
    path = _write(tmp_path, [], pyproject='[tool.poetry.group.docs]\noptional = "yes"\n')
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert str(info.value) == (
        f"{tmp_path / 'pyproject.toml'} at tool.poetry.group.docs.optional: must be true or false, not a string; {FIX}"
    )


@pytest.mark.parametrize("version", ["2.0", "1.1", "1.0"])
def test_old_lock_versions_are_refused(tmp_path: Path, version: str) -> None:
    path = _write(tmp_path, [])
    path.write_text(path.read_text().replace('lock-version = "2.1"', f'lock-version = "{version}"'))
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert str(info.value) == (
        f"{path} at metadata.lock-version: lock-version {version} is not supported; "
        "re-lock with Poetry 2 (poetry lock) to write lock-version 2.1"
    )
    assert info.value.context == "metadata.lock-version"
    assert info.value.exit_code == 2


def test_an_old_lock_without_its_pyproject_is_told_to_re_lock(tmp_path: Path) -> None:
    # a Poetry 1.8 lock (lock-version 2.0) copied without pyproject.toml: re-locking is what it needs first
    path = _write(tmp_path, [])
    path.write_text(path.read_text().replace('lock-version = "2.1"', 'lock-version = "2.0"'))
    (tmp_path / "pyproject.toml").unlink()
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert str(info.value) == (
        f"{path} at metadata.lock-version: lock-version 2.0 is not supported; "
        "re-lock with Poetry 2 (poetry lock) to write lock-version 2.1"
    )


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("2.2", None),
        ("3.0", "lock-version 3.0 is newer than this tool reads (2.x); upgrade tox-venvsync"),
        ("two", f"'two' is not a version; {FIX}"),
    ],
)
def test_other_lock_versions(tmp_path: Path, version: str, reason: str | None) -> None:
    path = _write(tmp_path, [])
    path.write_text(path.read_text().replace('lock-version = "2.1"', f'lock-version = "{version}"'))
    if reason is None:
        assert read_poetry_lock(path).packages == ()
        return
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert info.value.reason == reason


#: (what to change in package[0], the context, the reason before "; fix it or re-create the lock with poetry lock")
INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"groups": "main"}, "package[0].groups", "must be an array, not a string"),
    ({"groups": ["main", 3]}, "package[0].groups[1]", "must be a string, not an integer"),
    ({"groups": None}, "package[0].groups", "the key is missing"),
    ({"name": "not a name"}, "package[0].name", "'not a name' is not a valid project name"),
    ({"version": "one"}, "package[0].version", "'one' is not a valid version"),
    ({"version": 1}, "package[0].version", "must be a string, not an integer"),
    # as the uv.lock, pdm.lock and pylock.toml readers say it; it read "expected a string, found date" (found by QA)
    ({"version": dt.date(1979, 5, 27)}, "package[0].version", "must be a string, not a date"),
    (
        {"markers": "python_version <"},
        "package[0].markers",
        "invalid marker (Expected a marker variable or quoted string: python_version <)",
    ),
    ({"markers": {"main": True}}, "package[0].markers.main", "must be a string, not true or false"),
    ({"markers": ["x"]}, "package[0].markers", "must be a table, not an array"),
    (
        {"files": [{"file": "../one-1.0-py3-none-any.whl", "hash": HASH}]},
        "package[0].files[0].file",
        "'../one-1.0-py3-none-any.whl' is not a plain file name",
    ),
    (
        {"files": [{"file": "one-1.0.tar.gz", "hash": "ab" * 32}]},
        "package[0].files[0].hash",
        f"'{'ab' * 32}' is not ALGORITHM:HEXDIGEST (sha256:...)",
    ),
    (
        {"files": [{"file": "one-1.0.tar.gz", "hash": "sha256:xyz"}]},
        "package[0].files[0].hash",
        "'sha256:xyz' is not ALGORITHM:HEXDIGEST (sha256:...)",
    ),
    ({"files": [{"file": "one-1.0.tar.gz"}]}, "package[0].files[0].hash", "the key is missing"),
    (
        {"files": [{"file": "one-1.0.tar.gz", "hash": "sha512:" + "ab" * 32}]},
        "package[0].files[0].hash",
        f"'{'ab' * 32}' is not a sha512 digest (128 hex digits)",
    ),
    (
        {"files": [{"file": "one.whl", "hash": HASH}]},
        "package[0].files[0].file",
        "Invalid wheel filename (wrong number of parts): 'one'",
    ),
    (
        {"files": [{"file": "one-1.1-py3-none-any.whl", "hash": HASH}]},
        "package[0].files[0].file",
        "the wheel one-1.1-py3-none-any.whl is not of one 1.0",
    ),
    (
        {"files": [{"file": "two-1.0-py3-none-any.whl", "hash": HASH}]},
        "package[0].files[0].file",
        "the wheel two-1.0-py3-none-any.whl is not of one 1.0",
    ),
    ({"develop": "yes"}, "package[0].develop", "must be true or false, not a string"),
    (
        {"source": {"type": "hg", "url": "x"}},
        "package[0].source.type",
        "unknown source type 'hg' (Poetry writes directory, file, git, legacy, url)",
    ),
    (
        {"source": {"type": "git", "url": "https://example.invalid/r.git", "reference": "main"}},
        "package[0].source.resolved_reference",
        "a git source must name the commit it is locked at",
    ),
    (
        {"source": {"type": "git", "url": "https://x/r.git", "reference": "main", "resolved_reference": "e3998b0"}},
        "package[0].source.resolved_reference",
        "'e3998b0' is no full commit id (40 hex digits); a branch, tag or short id is not pinned",
    ),
    (  # an option of git clone's: found by QA of hostile lockfiles
        {"source": {"type": "git", "url": "--upload-pack=x", "resolved_reference": "a" * 40}},
        "package[0].source.url",
        (
            "'--upload-pack=x' is no git URL that pip or uv clones: use https://, ssh://, git://, http:// or file:// "
            "(or user@host:path)"
        ),
    ),
    ({"source": {"type": "legacy"}}, "package[0].source.url", "the key is missing"),
]


@pytest.mark.parametrize(("change", "context", "reason"), INVALID, ids=[c for _, c, _ in INVALID])
def test_invalid_package(tmp_path: Path, change: dict[str, Any], context: str, reason: str) -> None:
    package = {k: v for k, v in {**_pkg("one"), **change}.items() if v is not None}
    path = _write(tmp_path, [_pkg("zero"), package])
    context = context.replace("package[0]", "package[1]")
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert info.value.context == context
    assert str(info.value) == f"{path} at {context}: {reason}; {FIX}"


@pytest.mark.parametrize(
    ("document", "context", "reason"),
    [
        ({"package": []}, "metadata", f"the key is missing; {FIX}"),
        ({"package": {}, "metadata": {"lock-version": "2.1"}}, "package", f"must be an array, not a table; {FIX}"),
        ({"package": ["x"], "metadata": {"lock-version": "2.1"}}, "package[0]", "must be a table, not a string"),
        (
            {"package": [], "metadata": {"lock-version": "2.1", "python-versions": "^three"}},
            "metadata.python-versions",
            f"'^three' is not a Poetry version constraint; {FIX}",
        ),
    ],
)
def test_invalid_document(tmp_path: Path, document: dict[str, Any], context: str, reason: str) -> None:
    path = _write(tmp_path, [])
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_poetry_lock(path)
    assert (info.value.context, info.value.reason.startswith(reason)) == (context, True), info.value.reason


# --- groups, markers, extras -------------------------------------------------------------------------------------


def _groups_lock(tmp_path: Path) -> PoetryLockFile:
    return _lock(
        tmp_path,
        [
            _pkg("base"),
            _pkg("dev-only", groups=["dev"]),
            _pkg("docs-only", groups=["docs"]),
            _pkg("lint-only", groups=["lint"]),
            _pkg("click", groups=["main"], optional=True, markers='extra == "cli"'),
            _pkg("win", markers='sys_platform == "win32"'),
            # what Poetry writes for a package main wants on Windows only and dev wants everywhere
            _pkg("shared", groups=["main", "dev"], markers={"main": 'sys_platform == "win32"'}),
            _pkg("per-group", groups=["main", "docs"], markers={"main": 'python_version < "3"', "docs": "*"}),
        ],
        extras={"cli": ["click"]},
    )


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(Request(), ["base", "dev-only", "lint-only", "shared"], id="defaults"),
        pytest.param(Request(default_groups=False), ["base"], id="main-only"),
        pytest.param(
            Request(groups=frozenset({"docs"})),
            ["base", "dev-only", "docs-only", "lint-only", "shared", "per-group"],
            id="optional-group",
        ),
        pytest.param(
            Request(groups=frozenset({"docs"}), default_groups=False),
            ["base", "docs-only", "per-group"],
            id="docs-and-main",
        ),
        pytest.param(Request(groups=frozenset({"main"}), default_groups=False), ["base"], id="main-by-name"),
        pytest.param(Request(extras=frozenset({"cli"}), default_groups=False), ["base", "click"], id="extra"),
        # poetry install --only docs: the group's packages, not main's
        pytest.param(Request(groups=frozenset({"docs"}), only_groups=True), ["docs-only", "per-group"], id="only-docs"),
        pytest.param(Request(groups=frozenset({"dev"}), only_groups=True), ["dev-only", "shared"], id="only-dev"),
        # poetry install --all-extras, --all-groups, --without lint
        pytest.param(Request(all_extras=True, default_groups=False), ["base", "click"], id="all-extras"),
        pytest.param(
            Request(all_groups=True),
            ["base", "dev-only", "docs-only", "lint-only", "shared", "per-group"],
            id="all-groups",
        ),
        pytest.param(Request(no_groups=frozenset({"lint"})), ["base", "dev-only", "shared"], id="without-lint"),
        pytest.param(Request(no_groups=frozenset({"dev", "lint"})), ["base"], id="without-the-defaults"),
        pytest.param(
            Request(all_groups=True, no_groups=frozenset({"docs"})),
            ["base", "dev-only", "lint-only", "shared"],
            id="all-groups-without-docs",
        ),
    ],
)
def test_groups_and_extras(tmp_path: Path, request_: Request, expected: list[str]) -> None:
    assert _names(_groups_lock(tmp_path).select(TARGET, request_)) == expected


def test_a_lock_whose_pyproject_changed_is_stale_as_poetry_sync_says(tmp_path: Path) -> None:
    # Poetry's content-hash: poetry sync refuses a lock made from another pyproject.toml; so does the reader
    lock = _groups_lock(tmp_path)
    assert _names(lock.select(TARGET, Request()))  # fresh
    pyproject = tmp_path / "pyproject.toml"
    changed = pyproject.read_text().replace(
        'requires-python = ">=3.10"', 'requires-python = ">=3.10"\ndependencies = ["six"]'
    )
    assert changed != pyproject.read_text()
    pyproject.write_text(changed)
    stale = read_poetry_lock(lock.path)
    with pytest.raises(SelectionError) as info:
        stale.select(TARGET, Request())
    assert info.value.reason == (
        "pyproject.toml changed since the lock was made (metadata.content-hash is not its hash any more), so the "
        "lock is stale; run poetry lock, or add --frozen to sync_flags to install the lock as it is"
    )
    assert _names(stale.select(TARGET, Request(frozen=True))) == _names(lock.select(TARGET, Request()))


@pytest.mark.parametrize("lock", ["legacyapp", "webapp", "python-poetry__poetry"])
def test_real_locks_are_fresh_by_poetrys_content_hash(lock: str) -> None:
    # locks Poetry 2.4 and 2.5 made, with and without [dependency-groups], hash as Poetry hashes them
    read = read_poetry_lock(LOCKS / lock / "poetry.lock")
    assert read.content_hash == read.project.content_hashes[0]


#: a [tool.poetry] project without ``source``, ``extras`` or ``dev-dependencies``; Poetry 2.5.1's ``poetry lock`` of it
#: wrote the content-hash below (its lock is that line's [metadata] with ``package = []``), and of it with
#: ``[dependency-groups]`` added the one after
_BARE_PYPROJECT = """\
[tool.poetry]
name = "bareapp"
version = "0.1.0"
description = "A [tool.poetry]-style project without sources, extras or dev-dependencies, for tox-venvsync's tests."
authors = ["tox-venvsync developers <dev@example.invalid>"]
package-mode = false

[tool.poetry.dependencies]
python = "^3.11"

[build-system]
requires = ["poetry-core>=2.0"]
build-backend = "poetry.core.masonry.api"
"""


@pytest.mark.parametrize(
    ("groups", "content_hash"),
    [
        pytest.param("", "81b2fa642d7f2d1219cf80112ace12d689d053d81be7f7addb98144d56fc0fb2", id="kept-as-null"),
        pytest.param(
            "\n[dependency-groups]\nlint = []\n",
            "a665adb0d782c35946fabae1c361045456d39bd5e699741def802f74a8846c70",
            id="left-out-beside-dependency-groups",
        ),
    ],
)
def test_a_tool_poetry_project_without_the_legacy_keys_hashes_them_as_poetry_does(
    tmp_path: Path, groups: str, content_hash: str
) -> None:
    # Poetry's Locker keeps the legacy keys (dependencies, source, extras, dev-dependencies) of [tool.poetry] in the
    # hash when missing, as null, unless [project] or [dependency-groups] has relevant content; the other locks here
    # have every legacy key (legacyapp) or a [project] table, so a rule that dropped missing keys, or kept them
    # beside [dependency-groups], passed them
    (tmp_path / "pyproject.toml").write_text(_BARE_PYPROJECT + groups)
    (tmp_path / "poetry.lock").write_text(
        "# This file is automatically @generated by Poetry 2.5.1 and should not be changed by hand.\n"
        'package = []\n\n[metadata]\nlock-version = "2.1"\npython-versions = "^3.11"\n'
        f'content-hash = "{content_hash}"\n'
    )
    read = read_poetry_lock(tmp_path / "poetry.lock")
    assert read.content_hash == read.project.content_hashes[0]
    assert read.select(TARGET, Request()) == []  # fresh: not refused as stale


def test_a_lock_of_poetry_before_2_3_is_hashed_without_dependency_groups(tmp_path: Path) -> None:
    pyproject = PYPROJECT  # with [dependency-groups], which Poetry 2.3 began to hash
    path = _write(tmp_path, [], pyproject=pyproject)
    data = tomllib.loads(textwrap.dedent(pyproject))
    old_hash = _content_hash(data, with_groups=False)
    assert old_hash != _content_hash(data, with_groups=True)
    text = path.read_text().replace(_content_hash(data, with_groups=True), old_hash)
    path.write_text(
        "# This file is automatically @generated by Poetry 2.2.1 and should not be changed by hand.\n" + text
    )
    assert read_poetry_lock(path).select(TARGET, Request()) == []  # fresh for Poetry 2.2
    path.write_text(path.read_text().replace("Poetry 2.2.1", "Poetry 2.3.0"))
    with pytest.raises(SelectionError, match="the lock is stale"):  # Poetry 2.3 hashes the groups too
        read_poetry_lock(path).select(TARGET, Request())


def test_unknown_extra(tmp_path: Path) -> None:
    lock = _groups_lock(tmp_path)
    with pytest.raises(SelectionError) as info:
        lock.select(TARGET, Request(extras=frozenset({"gui", "cli"})))
    assert str(info.value) == f"{lock.path}: the lock has no extra gui; it has: cli"


def test_unknown_group(tmp_path: Path) -> None:
    lock = _groups_lock(tmp_path)
    with pytest.raises(SelectionError) as info:
        lock.select(TARGET, Request(groups=frozenset({"test", "docs"})))
    assert info.value.reason == "the lock has no dependency group test; it has: dev, docs, lint, main"
    assert info.value.exit_code == 2


def test_tool_poetry_project(tmp_path: Path) -> None:
    pyproject = """
    [tool.poetry.dependencies]
    python = "^3.10"
    [tool.poetry.dev-dependencies]
    pytest = "*"
    [tool.poetry.extras]
    Fancy_UI = ["rich"]
    [tool.poetry.group.Type-Check]
    optional = true
    """
    project = read_project(_write(tmp_path, [], pyproject=pyproject).parent / "pyproject.toml", lock=tmp_path)
    assert project.groups == {"main", "dev", "type-check"}
    assert project.default_groups == {"main", "dev"}
    assert project.extras == {"fancy-ui"}


def test_extra_markers_are_sets(tmp_path: Path) -> None:
    """Poetry evaluates ``extra`` as the set of requested extras, so ``and`` of two extras and ``!=`` work."""
    lock = _lock(
        tmp_path,
        [
            _pkg("both", markers='extra == "a" and extra == "b"'),
            _pkg("not-a", markers="extra != 'a'"),
            _pkg("either", markers='python_version >= "3" and (extra == "A" or extra == "b")'),
        ],
        pyproject="[project.optional-dependencies]\na = []\nb = []\n",
    )
    assert _names(lock.select(TARGET, Request())) == ["not-a"]
    assert _names(lock.select(TARGET, Request(extras=frozenset({"a"})))) == ["either"]
    assert _names(lock.select(TARGET, Request(extras=frozenset({"a", "b"})))) == ["both", "either"]


def test_marker_that_cannot_be_evaluated(tmp_path: Path) -> None:
    lock = _lock(tmp_path, [_pkg("one", markers='os_name ~= "nt"')])
    with pytest.raises(LockFileError) as info:
        lock.select(TARGET, Request())
    assert info.value.context == "package[0].markers"
    assert info.value.reason == f"a marker cannot be evaluated (Undefined <Op('~=')> on 'posix' and 'nt'.); {FIX}"


def test_twice_selected(tmp_path: Path) -> None:
    lock = _lock(tmp_path, [_pkg("one", "1.0"), _pkg("two"), _pkg("one", "2.0", markers='python_version >= "3"')])
    with pytest.raises(SelectionError) as info:
        lock.select(TARGET, Request())
    assert info.value.reason == (
        f"one is selected twice for the interpreter {TARGET.executable}, 1.0 at package[0] and 2.0 at package[2]; "
        f"their markers overlap: {FIX}"
    )


def test_disjoint_duplicates(tmp_path: Path) -> None:
    packages = [
        _pkg("one", "1.0", markers='python_version < "3.11"'),
        _pkg("one", "2.0", markers='python_version >= "3.11"'),
    ]
    lock = _lock(tmp_path, packages)
    assert [str(pick.version) for pick in lock.select(_python("3.10.4"), Request())] == ["1.0"]
    assert [str(pick.version) for pick in lock.select(_python("3.12.1"), Request())] == ["2.0"]


@pytest.mark.parametrize("version", ["3.12.1rc1", "3.12.1+"])
def test_a_pre_release_or_git_build_python_is_its_release_in_markers(tmp_path: Path, version: str) -> None:
    """``poetry sync`` on Python 3.12.1rc1 installs the ``>= "3.12.1"`` package (found by QA): none was selected."""
    packages = [
        _pkg("one", "1.0", markers='python_full_version < "3.12.1"'),
        _pkg("one", "2.0", markers='python_full_version >= "3.12.1"'),
    ]
    lock = _lock(tmp_path, packages)
    assert [str(pick.version) for pick in lock.select(_python(version), Request())] == ["2.0"]


# --- the python constraint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "pep440"),
    [
        ("^3.10", ">=3.10,<4"),
        ("^1.2.3", ">=1.2.3,<2"),
        ("^0.2.3", ">=0.2.3,<0.3"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0.0", ">=0.0,<0.1"),
        ("^0", ">=0,<1"),
        ("~3.10", ">=3.10,<3.11"),
        ("~3.10.2", ">=3.10.2,<3.11"),
        ("~3", ">=3,<4"),
        ("~=3.10", "~=3.10"),
        ("3.11", "==3.11"),
        ("3.11.*", "==3.11.*"),
        ("=3.11", "==3.11"),
        ("*", ""),
        (">=3.9", ">=3.9"),
    ],
)
def test_pep440_clause(clause: str, pep440: str) -> None:
    assert _pep440(clause) == pep440


@pytest.mark.parametrize(
    ("constraint", "allowed", "refused"),
    [
        (">=3.10,<4.0", ["3.10.0", "3.13.0"], ["3.9.18", "4.0.0"]),
        ("^3.11", ["3.11.7", "3.12.1", "3.13.0rc1"], ["3.10.13", "4.0.0"]),
        (">= 3.8, < 3.11 || ^3.12", ["3.8.0", "3.12.1"], ["3.11.7"]),
        (">=3.9 <3.12", ["3.11.7"], ["3.12.1"]),
        ("~3.11", ["3.11.0"], ["3.12.1"]),
        ("*", ["3.10.1"], []),
        # a pre-release and a git build are their release, as poetry sync takes them (found by QA)
        (">=3.12.1", ["3.12.1rc1", "3.12.1+"], ["3.12.0", "3.12.0+"]),
    ],
)
def test_python_constraint(tmp_path: Path, constraint: str, allowed: list[str], refused: list[str]) -> None:
    lock = _lock(tmp_path, [_pkg("one")], python=constraint)
    for version in allowed:
        assert _names(lock.select(_python(version), Request())) == ["one"], version
    for version in refused:
        with pytest.raises(SelectionError) as info:
            lock.select(_python(version), Request())
        assert info.value.reason == (
            f"the project supports Python {constraint} (metadata.python-versions) but the interpreter "
            f"{TARGET.executable} is Python {version}; use a Python the project supports"
        )


# --- artifacts and sources ---------------------------------------------------------------------------------------


def test_wheel_pick_prefers_the_interpreter_specific_wheel(tmp_path: Path) -> None:
    best = f"one-1.0-{TARGET.tag_strings[0]}.whl"
    files = [
        {"file": "one-1.0-cp27-cp27m-win32.whl", "hash": "sha256:" + "11" * 32},
        {"file": "one-1.0-py3-none-any.whl", "hash": "SHA256:" + "AA" * 32},
        {"file": best, "hash": "sha256:" + "22" * 32},
        {"file": "one-1.0.tar.gz", "hash": "sha256:" + "33" * 32},
    ]
    [pick] = _lock(tmp_path, [_pkg("One", files=files)]).select(TARGET, Request())
    assert pick == Pick(
        name=canonicalize_name("one"),
        version=Version("1.0"),
        kind="wheel",
        artifact=Artifact(filename=best, url=None, path=None, size=None, hashes={"sha256": "22" * 32}),
        index=None,
        context="package[0].files[2]",
    )


def test_sdist_when_no_wheel_fits(tmp_path: Path) -> None:
    files = [{"file": "one-1.0-cp27-cp27m-win32.whl", "hash": HASH}, {"file": "One-1.0.tar.gz", "hash": "md5:ABC"}]
    [pick] = _lock(tmp_path, [_pkg("one", files=files)]).select(TARGET, Request())
    assert (pick.kind, pick.context) == ("sdist", "package[0].files[1]")
    assert pick.artifact == Artifact(filename="One-1.0.tar.gz", url=None, path=None, size=None, hashes={"md5": "abc"})


def test_no_file_fits(tmp_path: Path) -> None:
    files = [{"file": "one-1.0-cp27-cp27m-win32.whl", "hash": HASH}, {"file": "one-1.0.exe", "hash": HASH}]
    lock = _lock(tmp_path, [_pkg("zero"), _pkg("one", files=files)])
    with pytest.raises(SelectionError) as info:
        lock.select(TARGET, Request())
    tags = TARGET.tags
    assert str(info.value) == (
        f"{lock.path}: no file of one 1.0 at package[1] fits the interpreter {TARGET.executable} (Python 3.12.1, "
        f"tags {no_wheel_summary(tags)}); the lock has one-1.0-cp27-cp27m-win32.whl, "
        "one-1.0.exe: re-lock for this interpreter or use another Python"
    )


def test_no_files(tmp_path: Path) -> None:
    lock = _lock(tmp_path, [_pkg("one", files=[])])
    with pytest.raises(SelectionError) as info:
        lock.select(TARGET, Request())
    assert info.value.reason == f"the lock lists no files for one 1.0 at package[0]; {FIX}"


def test_sources(tmp_path: Path) -> None:
    sha = "cd" * 32
    archive = [{"file": "four-1.0.tar.gz", "hash": f"sha256:{sha}"}]
    packages = [
        _pkg("one", source={"type": "legacy", "url": "https://example.invalid/simple", "reference": "corp"}),
        _pkg(
            "two",
            files=[],
            develop=False,
            source={
                "type": "git",
                "url": "https://example.invalid/two.git",
                "reference": "HEAD",
                "resolved_reference": "e3998b0e111dc03e4aa721fd054c48e5c7de6fc5",
                "subdirectory": "sub",
            },
        ),
        _pkg("three", files=[], develop=True, source={"type": "directory", "url": "../libs/three"}),
        _pkg("four", files=archive, source={"type": "file", "url": "dist/four-1.0.tar.gz"}),
        _pkg("five", files=[], source={"type": "url", "url": "https://example.invalid/dl/five%201.0.zip"}),
    ]
    one, two, three, four, five = _lock(tmp_path / "project", packages).select(TARGET, Request())
    assert (one.kind, one.index) == ("wheel", "https://example.invalid/simple")
    assert (two.kind, two.version, two.context, two.artifact) == ("vcs", Version("1.0"), "package[1]", None)
    assert two.vcs == VcsSource(
        type="git",
        url="https://example.invalid/two.git",
        commit="e3998b0e111dc03e4aa721fd054c48e5c7de6fc5",
        requested="HEAD",
        subdirectory="sub",
    )
    assert three.kind == "directory"
    assert three.directory == DirectorySource(path=(tmp_path / "libs" / "three").resolve(), editable=True)
    assert (four.kind, four.context, four.index) == ("archive", "package[3].files[0]", None)
    path = (tmp_path / "project" / "dist" / "four-1.0.tar.gz").resolve()
    assert four.artifact == Artifact(filename="four-1.0.tar.gz", url=None, path=path, size=None, hashes={"sha256": sha})
    assert (five.kind, five.context) == ("archive", "package[4]")
    url = "https://example.invalid/dl/five%201.0.zip"
    assert five.artifact == Artifact(filename="five 1.0.zip", url=url, path=None, size=None, hashes={})


def test_a_directory_without_develop_is_installed_as_a_regular_install(tmp_path: Path) -> None:
    # a lock written by hand or by another tool may leave develop out: Poetry reads it as develop = false
    source = {"type": "directory", "url": "../libs/three"}
    [three] = _lock(tmp_path / "project", [_pkg("three", files=[], source=source)]).select(TARGET, Request())
    assert three.directory == DirectorySource(path=(tmp_path / "libs" / "three").resolve(), editable=False)


def test_an_archive_takes_the_hash_its_files_give_for_its_name(tmp_path: Path) -> None:
    # a files list of more than one entry: the archive's own is found by its name, wherever it is listed
    own, other = "cd" * 32, "ef" * 32

    def files(name: str) -> list[dict[str, str]]:
        return [
            {"file": f"{name}-0.9.tar.gz", "hash": f"sha256:{other}"},
            {"file": f"{name}-1.0.tar.gz", "hash": f"sha256:{own}"},
        ]

    packages = [
        _pkg("four", files=files("four"), source={"type": "file", "url": "dist/four-1.0.tar.gz"}),
        _pkg(
            "five", files=files("five")[::-1], source={"type": "url", "url": "https://example.invalid/five-1.0.tar.gz"}
        ),
    ]
    picks = _lock(tmp_path / "project", packages).select(TARGET, Request())
    assert [(p.context, p.artifact.hashes if p.artifact else None) for p in picks] == [
        ("package[0].files[1]", {"sha256": own}),
        ("package[1].files[0]", {"sha256": own}),
    ]


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_a_source_path_with_a_nul_character_is_named_not_a_traceback(tmp_path: Path, kind: str) -> None:
    # Path.resolve raised ValueError: a traceback (found by QA)
    source = {"type": kind, "url": "a\x00b" if kind == "directory" else "a\x00b.tar.gz"}
    package = _pkg("one", source=source)
    if kind == "directory":
        package["files"] = []
    lock = _lock(tmp_path, [package])
    with pytest.raises(LockFileError) as info:
        lock.select(TARGET, Request())
    assert info.value.context == "package[0].source.url"
    assert "is not a usable path (embedded null byte); " in info.value.reason
    assert str(info.value).isprintable()


def test_an_archive_pick_carries_its_subdirectory(tmp_path: Path) -> None:
    # Poetry writes ``subdirectory`` for ``one @ https://.../repo.zip#subdirectory=pkg``: the project built is there
    source = {"type": "url", "url": "https://example.invalid/repo.zip", "subdirectory": "pkg"}
    lock = _lock(tmp_path, [_pkg("one", files=[], source=source)])
    (pick,) = lock.select(TARGET, Request())
    assert (pick.kind, pick.subdirectory, pick.artifact.url if pick.artifact else None) == (
        "archive",
        "pkg",
        "https://example.invalid/repo.zip",
    )


# --- real locks against real Poetry ------------------------------------------------------------------------------


CASES = sorted(path.name for path in EXPECTED.glob("*.json"))


def test_expected_sets_cover_every_lock_and_python() -> None:
    projects = {path.name for path in LOCKS.iterdir()}
    assert projects == {"python-poetry__poetry", "webapp", "legacyapp"}
    for project in projects:
        for minor in ("3.10", "3.12", "3.13"):
            assert any(case.startswith(f"{project}-py{minor}-") for case in CASES), (project, minor)
    original = Path("/work/shared/lockfiles/python-poetry__poetry__poetry.lock")
    if original.is_file():  # the copy is unchanged
        assert (LOCKS / "python-poetry__poetry" / "poetry.lock").read_bytes() == original.read_bytes()


def _case(name: str) -> tuple[dict[str, Any], PoetryLockFile, Target, Request]:
    case = json.loads((EXPECTED / name).read_text(encoding="utf-8"))
    target = Target.from_json(json.loads((EXPECTED / case["target"]).read_text(encoding="utf-8")))
    asked = case["request"]
    request = Request(
        extras=frozenset(asked.get("extras", ())),
        groups=frozenset(asked.get("groups", ())),
        default_groups=asked.get("default_groups", True),
    )
    return case, read_poetry_lock(LOCKS / name.split("-py3.", maxsplit=1)[0] / "poetry.lock"), target, request


@pytest.mark.parametrize("name", CASES)
def test_same_as_poetry_sync(name: str) -> None:
    case, lock, target, request = _case(name)
    assert case["python"] == target.python_full_version
    if "installs" in case:
        picks = lock.select(target, request)
        assert {str(pick.name): pick.version for pick in picks} == {
            name: Version(version) for name, version in case["installs"].items()
        }
        return
    with pytest.raises(SelectionError) as info:
        lock.select(target, request)
    refused = case["refused"]
    if "Group(s) not found" in refused:
        assert info.value.reason.startswith("the lock has no dependency group ")
    elif "Extra [" in refused:
        assert info.value.reason.startswith("the lock has no extra ")
    else:
        assert "is not supported by the project" in refused
        assert info.value.reason.startswith(f"the project supports Python {lock.python} ")


def test_real_picks() -> None:
    poetry = read_poetry_lock(LOCKS / "python-poetry__poetry" / "poetry.lock")
    by_name = {str(pick.name): pick for pick in poetry.select(TARGET, Request())}
    assert by_name["poetry-core"].vcs == VcsSource(
        type="git",
        url="https://github.com/python-poetry/poetry-core.git",
        commit="e3998b0e111dc03e4aa721fd054c48e5c7de6fc5",
        requested="HEAD",
    )
    zstd = by_name["zstandard"]
    assert zstd.kind == "wheel"
    assert zstd.artifact is not None
    assert zstd.artifact.filename.startswith("zstandard-0.25.0-cp312-cp312-manylinux")
    assert (zstd.artifact.url, zstd.artifact.path, zstd.index) == (None, None, None)
    assert zstd.artifact.strongest_hash is not None

    legacy = read_poetry_lock(LOCKS / "legacyapp" / "poetry.lock")
    picks = {str(pick.name): pick for pick in legacy.select(TARGET, Request())}
    assert picks["click"].index == "https://pypi.org/simple"
    assert picks["helper"].directory == DirectorySource(
        path=(LOCKS / "legacyapp" / "libs" / "helper").resolve(), editable=True
    )
    assert picks["six"].kind == "archive"
    assert picks["six"].artifact is not None
    assert picks["six"].artifact.url is not None
    assert picks["six"].artifact.url.endswith("/six-1.17.0-py2.py3-none-any.whl")
    assert picks["six"].artifact.hashes == {
        "sha256": "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    }


# --- fuzzing the real lock ---------------------------------------------------------------------------------------


REAL_PATH = LOCKS / "python-poetry__poetry" / "poetry.lock"
REAL = tomllib.loads(REAL_PATH.read_text(encoding="utf-8"))
REAL_PROJECT = read_project(REAL_PATH.parent / "pyproject.toml", lock=REAL_PATH)
#: the same interpreter with a handful of tags, so that each example is quick
FEW_TAGS = replace(TARGET, tag_strings=(*TARGET.tag_strings[:3], "py3-none-any"))
TRICKY = [
    "",
    "*",
    "main",
    "2.0",
    "2.1",
    "^3.10",
    "1.0",
    "sha256:",
    "md5:ab",
    "../x.whl",
    "x-1.0-py3-none-any.whl",
    "zstandard-0.25.0.tar.gz",
    'python_version < "3"',
    'extra == "x"',
    "os_name === 'nt'",
    "os_name ~= 'nt'",
    "legacy",
    "git",
    "directory",
    "file",
    "url",
    "svn",
]
VALUES = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.sampled_from(TRICKY), max_size=3),
    st.dictionaries(
        st.sampled_from(["main", "dev", "file", "hash", "type", "url"]), st.sampled_from(TRICKY), max_size=3
    ),
)
REQUESTS = st.builds(
    Request,
    extras=st.sampled_from([frozenset(), frozenset(), frozenset(), frozenset({"cli"})]),
    groups=st.frozensets(
        st.sampled_from(["dev", "test", "typing", "github-actions", "github-actions", "docs"]), max_size=2
    ),
    default_groups=st.booleans(),
)


def _mutated(node: Any, data: st.DataObject, *, root: bool = False) -> Any:  # noqa: ANN401  # any TOML value
    """A copy of ``node`` with one key deleted or one value replaced somewhere inside; only the path is copied.

    The document itself stays a table, as every TOML document is.
    """
    if isinstance(node, dict):
        copy: dict[str, Any] | list[Any] = dict(node)
        keys: list[Any] = list(node)
    elif isinstance(node, list):
        copy, keys = list(node), list(range(len(node)))
    else:
        return data.draw(VALUES)
    if not keys:
        return node if root else data.draw(VALUES)
    key = data.draw(st.sampled_from(keys))
    action = data.draw(st.sampled_from(["descend", "descend", "delete", "replace"]))
    if action == "delete":
        del copy[key]
    else:
        copy[key] = _mutated(copy[key], data) if action == "descend" else data.draw(VALUES)
    return copy


def _mutated_lock(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Mostly a change inside one ``[[package]]`` (where nearly all of a lock is), else anywhere."""
    packages = document.get("package")
    if isinstance(packages, list) and packages and data.draw(st.integers(0, 3)):
        index = data.draw(st.integers(0, len(packages) - 1))
        changed = [*packages[:index], _mutated(packages[index], data), *packages[index + 1 :]]
        return {**document, "package": changed}
    mutated: dict[str, Any] = _mutated(document, data, root=True)
    return mutated


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_real_lock_fails_only_with_our_errors(data: st.DataObject) -> None:
    document = REAL
    for _ in range(data.draw(st.integers(1, 3))):
        document = _mutated_lock(document, data)
    try:
        PoetryLockFile.from_data(REAL_PATH, document, REAL_PROJECT).select(FEW_TAGS, data.draw(REQUESTS))
    except VenvSyncError as exc:  # anything else escapes and fails the test
        message = str(exc)
    else:
        message = ""
    assert "\n" not in message


# --- through tox -------------------------------------------------------------------------------------------------


TOX_INI = """
[tox]
env_list = py312
[testenv]
runner = venvsync
env_location = {env_location}
package = skip
commands = python -c "import alpha, beta; print('versions', alpha.__version__, beta.__version__)"
"""


@pytest.mark.slow
def test_tox_syncs_from_a_poetry_lock(
    tmp_path: Path,
    local_index: LocalIndex,
    tox_project: ToxProjectCreator,
    cache_dir: Path,  # noqa: ARG001  # a private artifact cache
) -> None:
    wheels = [make_wheel(local_index.directory, name, version) for name, version in (("alpha", "1.0"), ("beta", "2.0"))]
    source = {"type": "legacy", "url": local_index.simple_url, "reference": "local"}
    packages = [
        _pkg(name, version, files=[{"file": wheel.name, "hash": f"sha256:{sha256_file(wheel)}"}], source=source)
        for wheel, (name, version) in zip(wheels, (("alpha", "1.0"), ("beta", "2.0")), strict=True)
    ]
    packages.append(_pkg("gamma", groups=["docs"], source=source))  # an optional group: not installed
    scratch = tmp_path / "lock"
    _write(scratch, packages)
    venvs = tmp_path / "venvs"
    files = {
        "tox.ini": TOX_INI.replace("{env_location}", str(venvs / "{env_name}")),
        "pyproject.toml": (scratch / "pyproject.toml").read_text(),
        "poetry.lock": (scratch / "poetry.lock").read_text(),
    }
    project = tox_project(files)
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    result.assert_success()
    assert "synced 2 packages: 2 installed" in result.out  # not gamma, of the optional group docs
    assert "versions 1.0 2.0" in result.out
    assert {"/simple/alpha/", "/simple/beta/"} <= set(local_index.requests)  # found on the lock's legacy source
    assert (venvs / "py312" / "pyvenv.cfg").is_file()
    assert not (project.path / ".tox").exists()


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        pytest.param(
            Request(packages=frozenset({"app"})),
            "--package picks members of a uv workspace, and this lock is no uv.lock; leave it out",
            id="package",
        ),
        pytest.param(
            Request(all_packages=True),
            "--all-packages picks members of a uv workspace, and this lock is no uv.lock; leave it out",
            id="all-packages",
        ),
        pytest.param(
            Request(no_groups=frozenset({"test"})),
            "the lock has no dependency group test; it has: dev, docs, lint",
            id="no-group-unknown",
        ),
        pytest.param(
            Request(all_extras=True, no_extras=frozenset({"gui"})),
            "the lock has no extra gui; it has: cli",
            id="no-extra-unknown",
        ),
    ],
)
def test_what_poetry_has_no_such_thing_for(tmp_path: Path, request_: Request, reason: str) -> None:
    with pytest.raises(SelectionError) as info:
        _groups_lock(tmp_path).select(TARGET, request_)
    assert info.value.reason == reason
