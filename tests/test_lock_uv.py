"""Tests of the uv.lock reader: errors, the selection walk, the real locks against uv's own install sets, tox."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from _support.project import write_project
from _support.tags import no_wheel_summary
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._errors import BadInputError, LockFileError, SelectionError, VenvSyncError
from tox_venvsync._lock import (
    Artifact,
    DirectorySource,
    Pick,
    Request,
    VcsSource,
    find_lock,
    not_in_lock,
    read_lock,
    workspace_project,
)
from tox_venvsync._lock import _uv as uv_reader
from tox_venvsync._lock._uv import (
    UvLockFile,
    UvSource,
    _file_name,
    _LockReader,
    _plain_wheel,
    parse_uv_lock,
    read_uv_lock,
)
from tox_venvsync._selection import make_request, parse_sync_flags
from tox_venvsync._values import replace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 floor
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from tox.pytest import ToxProjectCreator

    from _support.index import LocalIndex
    from tox_venvsync._target import Target

DATA = Path(__file__).parent / "data"
LOCKS = DATA / "lockfiles" / "uv"
EXPECTED = DATA / "expected" / "uv"
SHARED = Path("/work/shared/lockfiles")
REAL = ["Buried-In-Code__Perdoo", "Comfy-Org__comfy-cli", "modelcontextprotocol__python-sdk", "pallets__flask"]
HEADER = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'
HASH = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def target(target_of: Callable[[str], Target]) -> Target:
    return target_of("3.12")


def _lock(tmp_path: Path, body: str, *, header: str = HEADER, pyproject: str | None = None) -> UvLockFile:
    path = tmp_path / "uv.lock"
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(textwrap.dedent(pyproject), encoding="utf-8")
    return read_uv_lock(path)


def _fails(tmp_path: Path, body: str, *, header: str = HEADER) -> LockFileError:
    with pytest.raises(LockFileError) as info:
        _lock(tmp_path, body, header=header)
    return info.value


def _package(name: str, version: str = "1.0", *, deps: str = "", wheel: str = "py3-none-any", extra: str = "") -> str:
    """A registry package with one wheel of ``wheel``'s tags."""
    filename = f"{name.replace('-', '_')}-{version}-{wheel}.whl"
    return f"""
    [[package]]
    name = "{name}"
    version = "{version}"
    source = {{ registry = "https://example.invalid/simple" }}
    dependencies = [{deps}]
    wheels = [{{ url = "https://example.invalid/{filename}", hash = "{HASH}", size = 10 }}]
    {extra}
    """


def _root(deps: str = "", *, source: str = 'editable = "."', extra: str = "") -> str:
    return f"""
    [[package]]
    name = "proj"
    version = "0.1.0"
    source = {{ {source} }}
    dependencies = [{deps}]
    {extra}
    """


def _names(picks: Sequence[Pick]) -> list[str]:
    return [str(pick.name) for pick in picks]


# --- reading -----------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    with pytest.raises(LockFileError) as info:
        read_uv_lock(path)
    assert str(info.value) == f"{path}: the lockfile does not exist; create it or set lock_file to the right path"


def test_version_2_unsupported(tmp_path: Path) -> None:
    error = _fails(tmp_path, "", header="version = 2\n")
    assert str(error) == (
        f"{tmp_path / 'uv.lock'} at version: uv.lock version 2 is not supported; this tool reads version 1: "
        "update tox-venvsync or re-lock with a uv that writes version 1"
    )
    assert error.context == "version"
    assert error.exit_code == 2


def test_missing_version(tmp_path: Path) -> None:
    assert str(_fails(tmp_path, "", header="revision = 3\n")) == (
        f"{tmp_path / 'uv.lock'} at version: is missing; re-lock with uv"
    )


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    body = _root('{ name = "pkg" }') + _package("pkg").replace(f'hash = "{HASH}"', "hash = 3")
    error = _fails(tmp_path, body)
    assert error.context == "package[1].wheels[0].hash"
    assert error.reason == "must be a string, not an integer; re-lock with uv"


@pytest.mark.parametrize(
    ("body", "context", "reason"),
    [
        pytest.param(
            _package("pkg").replace(HASH, "ab12"),
            "package[0].wheels[0].hash",
            "'ab12' is not <algorithm>:<hex digest>; re-lock with uv",
            id="hash",
        ),
        pytest.param(
            _package("pkg").replace(HASH, "sha256:ab12"),
            "package[0].wheels[0].hash",
            "'ab12' is not a sha256 digest (64 hex digits); re-lock with uv",
            id="hash-too-short",
        ),
        pytest.param(
            _package("pkg").replace("size = 10", "size = -1"),
            "package[0].wheels[0].size",
            "-1 is not a file size; re-lock with uv",
            id="size",
        ),
        pytest.param(
            _package("pkg", deps='{ name = "ghost" }'),
            "package[0].dependencies[0]",
            "names ghost, which is not a package of the lock; re-lock with uv",
            id="unknown-dependency",
        ),
        pytest.param(
            _package("pkg", deps='{ name = "dep", version = "3" }') + _package("dep", "1") + _package("dep", "2"),
            "package[0].dependencies[0]",
            "names dep 3, which is not a package of the lock; re-lock with uv",
            id="unknown-version",
        ),
        pytest.param(
            _package("pkg", deps='{ name = "dep" }') + _package("dep", "1") + _package("dep", "2"),
            "package[0].dependencies[0]",
            "names dep, which the lock has 2 times; it needs a version and source: re-lock with uv",
            id="ambiguous-dependency",
        ),
        pytest.param(
            _package("pkg", deps='{ name = "dep", marker = "python_version >>> \'3\'" }') + _package("dep"),
            "package[0].dependencies[0].marker",
            "\"python_version >>> '3'\" is not a valid marker (Expected a marker variable or quoted string); "
            "re-lock with uv",
            id="marker",
        ),
        pytest.param(
            '\n[[package]]\nname = "pkg"\nversion = "1.0"\n'
            'source = { git = "https://example.invalid/g.git?rev=main#main" }\n',
            "package[0].source.git",
            "the commit (#...) of 'https://example.invalid/g.git?rev=main#main': 'main' is no full commit id (40 hex "
            "digits); a branch, tag or short id is not pinned; re-lock with uv",
            id="git-branch-for-commit",
        ),
        pytest.param(  # a transport that runs a command: found by QA of hostile lockfiles
            '\n[[package]]\nname = "pkg"\nversion = "1.0"\n'
            'source = { git = "ext::sh -c touch% /tmp/pwned#' + "a" * 40 + '" }\n',
            "package[0].source.git",
            "'ext::sh -c touch% /tmp/pwned' is no git URL that pip or uv clones: use https://, ssh://, "
            "git://, http:// or file:// (or user@host:path); re-lock with uv",
            id="git-transport",
        ),
        pytest.param(  # the name was the directory its source tree is built into: /tmp/x wrote the wheel there
            '[[package]]\nname = "/tmp/x"\nversion = "1"\nsource = { directory = "tree" }\n',
            "package[0].name",
            "'/tmp/x' is not a valid package name; re-lock with uv",
            id="name-a-path",
        ),
        pytest.param(  # printed as it is, a terminal's escape sequence reached tox's output
            _package("pkg").replace('name = "pkg"', 'name = "pkg\\u001b[2J"'),
            "package[0].name",
            "'pkg\\x1b[2J' is not a valid package name; re-lock with uv",
            id="name-escape-sequence",
        ),
        pytest.param(
            _package("pkg", "one.two"),
            "package[0].version",
            "'one.two' is not a valid version; re-lock with uv",
            id="version",
        ),
        pytest.param(
            _package("pkg").replace('registry = "https://example.invalid/simple"', 'registry = "a", path = "b"'),
            "package[0].source",
            "must name exactly one of registry, git, url, path, directory, editable, virtual; re-lock with uv",
            id="two-sources",
        ),
        pytest.param(
            '[[package]]\nname = "pkg"\nversion = "1"\n',
            "package[0].source",
            "is missing; re-lock with uv",
            id="no-source",
        ),
        pytest.param(
            '[[package]]\nname = "pkg"\nversion = "1"\nsource = { git = "https://example.invalid/r?rev=main" }\n',
            "package[0].source.git",
            "'https://example.invalid/r?rev=main' pins no commit (#<commit>); re-lock with uv",
            id="git-commit",
        ),
        pytest.param(
            '[manifest]\nmembers = ["ghost"]\n' + _package("pkg"),
            "manifest.members[0]",
            "the workspace member ghost is not a project of the lock; re-lock with uv",
            id="member",
        ),
        pytest.param(
            "package = 3\n",
            "package",
            "must be an array, not an integer; re-lock with uv",
            id="package-type",
        ),
        pytest.param(
            "conflicts = [[{ extra = 'x' }]]\n",
            "conflicts[0][0].package",
            "is missing; re-lock with uv",
            id="conflict",
        ),
    ],
)
def test_invalid_lock(tmp_path: Path, body: str, context: str, reason: str) -> None:
    error = _fails(tmp_path, body)
    assert (error.context, error.reason) == (context, reason)
    assert str(error) == f"{tmp_path / 'uv.lock'} at {context}: {reason}"


def test_invalid_requires_python(tmp_path: Path) -> None:
    error = _fails(tmp_path, "", header='version = 1\nrequires-python = ">=three"\n')
    assert (error.context, error.reason) == (
        "requires-python",
        "'>=three' is not a valid version specifier; re-lock with uv",
    )


def test_pyproject_default_groups_of_a_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(LockFileError) as info:
        _lock(tmp_path, _root(), pyproject="[tool.uv]\ndefault-groups = 3\n")
    assert str(info.value) == (
        f"{tmp_path / 'pyproject.toml'} at tool.uv.default-groups: must be an array, not an integer; re-lock with uv"
    )


def test_read_lock_detects_the_format(tmp_path: Path) -> None:
    lock = _lock(tmp_path, _root())
    found = read_lock(tmp_path / "uv.lock")
    assert isinstance(found, UvLockFile)
    assert (found.path, found.format) == (lock.path, "uv")


# --- selection ---------------------------------------------------------------------------------------------------


def test_registry_pick_details(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, _root('{ name = "Demo.Pkg" }') + _package("demo-pkg", "1.2"))
    assert lock.select(target, Request()) == [
        Pick(
            name=canonicalize_name("proj"),
            version=Version("0.1.0"),
            kind="directory",
            artifact=None,
            directory=DirectorySource(path=tmp_path, editable=True),
            context="package[0]",
        ),
        Pick(
            name=canonicalize_name("demo-pkg"),
            version=Version("1.2"),
            kind="wheel",
            artifact=Artifact(
                filename="demo_pkg-1.2-py3-none-any.whl",
                url="https://example.invalid/demo_pkg-1.2-py3-none-any.whl",
                path=None,
                size=10,
                hashes={"sha256": "ab" * 32},
            ),
            index="https://example.invalid/simple",
            context="package[1].wheels[0]",
            direct=False,  # a registry's file: no direct_url.json, as uv records none
        ),
    ]


def test_best_wheel_is_the_most_specific(tmp_path: Path, target: Target) -> None:
    ranks = uv_reader.uv_ranks(target)  # the interpreter's tags as uv orders them (see the plain linux test)
    order = sorted(ranks, key=ranks.__getitem__)
    wheels = ["py3-none-any", order[0], "cp27-cp27m-win32", order[5]]
    entries = ", ".join(f'{{ url = "https://example.invalid/pkg-1.0-{tag}.whl", hash = "{HASH}" }}' for tag in wheels)
    body = _root('{ name = "pkg" }') + _package("pkg").split("wheels = ")[0] + f"wheels = [{entries}]\n"
    [_, pick] = _lock(tmp_path, body).select(target, Request())
    assert pick.artifact is not None
    assert pick.artifact.filename == f"pkg-1.0-{order[0]}.whl"
    assert pick.context == "package[1].wheels[1]"


def test_of_equally_fitting_wheels_the_highest_build_tag_is_installed(tmp_path: Path, target: Target) -> None:
    """uv sync installs build 2 of a release whose lock lists builds 1, 2 and none of one tag (found by QA: build 1)."""
    names = ["pkg-1.0-1-py3-none-any.whl", "pkg-1.0-2-py3-none-any.whl", "pkg-1.0-py3-none-any.whl"]
    entries = ", ".join(f'{{ url = "https://example.invalid/{name}", hash = "{HASH}" }}' for name in names)
    body = _root('{ name = "pkg" }') + _package("pkg").split("wheels = ")[0] + f"wheels = [{entries}]\n"
    [_, pick] = _lock(tmp_path, body).select(target, Request())
    assert pick.artifact is not None
    assert (pick.artifact.filename, pick.context) == ("pkg-1.0-2-py3-none-any.whl", "package[1].wheels[1]")


def test_sdist_when_no_wheel_fits(tmp_path: Path, target: Target) -> None:
    sdist = f'sdist = {{ url = "https://example.invalid/pkg-1.0.tar.gz", hash = "{HASH}", size = 5 }}'
    body = _root('{ name = "pkg" }') + _package("pkg", wheel="cp27-cp27m-win32", extra=sdist)
    [_, pick] = _lock(tmp_path, body).select(target, Request())
    assert (pick.kind, pick.context, pick.version) == ("sdist", "package[1].sdist", Version("1.0"))
    assert pick.artifact == Artifact(
        filename="pkg-1.0.tar.gz", url="https://example.invalid/pkg-1.0.tar.gz", path=None, size=5,
        hashes={"sha256": "ab" * 32},
    )  # fmt: skip


def test_nothing_installable(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, _root('{ name = "native" }') + _package("native", "2.0", wheel="cp27-cp27m-win32"))
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    tags = target.tags
    assert str(info.value) == (
        f"{lock.path}: no wheel of native 2.0 at package[1] fits the interpreter {target.executable} "
        f"(Python {target.python_full_version}, tags {no_wheel_summary(tags)}) and the lock "
        "has no sdist for it; the lock has native-2.0-cp27-cp27m-win32.whl: re-lock for this interpreter or use "
        "another Python"
    )


SOURCES = (
    """
[[package]]
name = "gitdep"
version = "0.1"
source = { git = "https://example.invalid/g.git?rev=main&subdirectory=sub#0123abcd0123abcd0123abcd0123abcd0123abcd" }

[[package]]
name = "tree"
version = "0.2"
source = { directory = "../libs/tree" }

[[package]]
name = "hidden"
version = "0.3"
source = { virtual = "libs/hidden" }
dependencies = [{ name = "urlwheel" }]

[[package]]
name = "urlwheel"
version = "1.0"
source = { url = "https://example.invalid/urlwheel-1.0-py3-none-any.whl" }
wheels = [{ url = "https://example.invalid/urlwheel-1.0-py3-none-any.whl", hash = "sha256:<AB>" }]

[[package]]
name = "urlsdist"
version = "1.0"
source = { url = "https://example.invalid/dl/urlsdist%201.0.zip", subdirectory = "py" }
sdist = { hash = "sha256:<cd>" }

[[package]]
name = "pathwheel"
version = "1.0"
source = { path = "dist/pathwheel-1.0-py3-none-any.whl" }
wheels = [{ filename = "pathwheel-1.0-py3-none-any.whl", hash = "sha256:<ef>" }]

[[package]]
name = "pathsdist"
version = "1.0"
source = { path = "dist/pathsdist-1.0.tar.gz" }
sdist = { hash = "sha256:<01>", size = 3 }

[[package]]
name = "flat"
version = "1.0"
source = { registry = "wheels" }
wheels = [{ path = "flat-1.0-py3-none-any.whl" }]
""".replace("<AB>", "AB" * 32)
    .replace("<cd>", "cd" * 32)
    .replace("<ef>", "ef" * 32)
    .replace("<01>", "01" * 32)
)


def test_sources(tmp_path: Path, target: Target) -> None:
    names = ["gitdep", "tree", "hidden", "pathwheel", "pathsdist", "urlsdist", "flat"]
    deps = ", ".join(f'{{ name = "{name}" }}' for name in names)
    lock = _lock(tmp_path, _root(deps, source='virtual = "."') + SOURCES)
    picks = {str(pick.name): pick for pick in lock.select(target, Request())}
    assert list(picks) == ["gitdep", "tree", "urlwheel", "urlsdist", "pathwheel", "pathsdist", "flat"]
    vcs = VcsSource(
        type="git", url="https://example.invalid/g.git", commit="0123abcd" * 5, requested="main", subdirectory="sub"
    )
    assert (picks["gitdep"].kind, picks["gitdep"].vcs, picks["gitdep"].context) == ("vcs", vcs, "package[1]")
    assert picks["tree"].directory == DirectorySource(path=tmp_path.parent / "libs" / "tree", editable=False)
    assert (picks["urlwheel"].kind, picks["urlwheel"].index) == ("wheel", None)
    assert picks["urlwheel"].artifact == Artifact(
        filename="urlwheel-1.0-py3-none-any.whl", url="https://example.invalid/urlwheel-1.0-py3-none-any.whl",
        path=None, size=None, hashes={"sha256": "abababababababababababababababababababababababababababababababab"},
    )  # fmt: skip
    assert (picks["urlsdist"].kind, picks["urlsdist"].subdirectory) == ("archive", "py")
    assert (picks["pathsdist"].subdirectory, picks["urlwheel"].subdirectory) == (None, None)
    assert picks["urlsdist"].artifact == Artifact(
        filename="urlsdist 1.0.zip", url="https://example.invalid/dl/urlsdist%201.0.zip", path=None, size=None,
        hashes={"sha256": "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"},
    )  # fmt: skip
    assert (picks["pathwheel"].kind, picks["pathsdist"].kind) == ("wheel", "archive")
    # a path source is a direct reference, as uv records it; a local index's file is a registry's
    assert [picks[n].direct for n in ("pathwheel", "pathsdist", "urlsdist", "flat")] == [True, True, True, False]
    assert picks["pathwheel"].artifact == Artifact(
        filename="pathwheel-1.0-py3-none-any.whl", url=None, path=tmp_path / "dist" / "pathwheel-1.0-py3-none-any.whl",
        size=None, hashes={"sha256": "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"},
    )  # fmt: skip
    assert picks["pathsdist"].artifact is not None
    assert (picks["pathsdist"].artifact.path, picks["pathsdist"].artifact.size) == (
        tmp_path / "dist/pathsdist-1.0.tar.gz",
        3,
    )
    flat = picks["flat"]
    assert flat.artifact is not None
    assert (flat.artifact.path, flat.index) == (
        tmp_path / "wheels" / "flat-1.0-py3-none-any.whl",
        (tmp_path / "wheels").as_uri(),
    )
    assert flat.artifact.strongest_hash is None


def test_markers_edge_extras_and_forks(tmp_path: Path, target: Target) -> None:
    here = target.python_full_version
    deps = (
        '{ name = "win", marker = "sys_platform == \'win32\'" }, { name = "helper", extra = ["fancy"] }, '
        f'{{ name = "dep", version = "1", source = {{ registry = "https://example.invalid/simple" }}, '
        f"marker = \"python_full_version < '{here}'\" }}, "
        f'{{ name = "dep", version = "2", source = {{ registry = "https://example.invalid/simple" }}, '
        f"marker = \"python_full_version >= '{here}'\" }}"
    )
    fancy = '[package.optional-dependencies]\nfancy = [{ name = "fancy-dep" }]\nunused = [{ name = "win" }]'
    body = (
        _root(deps, source='virtual = "."')
        + _package("win")
        + _package("helper", extra=fancy)
        + _package("fancy-dep")
        + _package("dep", "1")
        + _package("dep", "2")
    )
    picks = _lock(tmp_path, body).select(target, Request())
    assert [(str(pick.name), str(pick.version)) for pick in picks] == [
        ("helper", "1.0"),
        ("fancy-dep", "1.0"),
        ("dep", "2"),
    ]


@pytest.mark.parametrize("full", ["3.12.1rc1", "3.12.1+"])
def test_a_pre_release_or_git_build_python_is_its_release_as_uv_sync_takes_it(
    tmp_path: Path, target: Target, full: str
) -> None:
    """uv holds a lock's requires-python and markers against the release (``ResolverMarkerEnvironment``).

    Found by QA on a Python saying 3.12.1rc1: ``python_full_version >= '3.12.1'`` and ``< '3.12.1'`` both failed
    (PEP 440 keeps 3.12.1's pre-releases out of both), so neither fork's dep was selected where uv installs dep 2;
    on 3.12.1rc1 and on a git build's 3.12.1+ (read as 3.12), ``requires-python = ">=3.12.1"`` was refused.
    """
    source = replace(target, markers={**target.markers, "python_full_version": full, "python_version": "3.12"})
    deps = (
        '{ name = "dep", version = "1", source = { registry = "https://example.invalid/simple" }, '
        "marker = \"python_full_version < '3.12.1'\" }, "
        '{ name = "dep", version = "2", source = { registry = "https://example.invalid/simple" }, '
        "marker = \"python_full_version >= '3.12.1'\" }"
    )
    body = _root(deps, source='virtual = "."') + _package("dep", "1") + _package("dep", "2")
    lock = _lock(tmp_path, body, header='version = 1\nrevision = 3\nrequires-python = ">=3.12.1"\n')
    assert [(str(pick.name), str(pick.version)) for pick in lock.select(source, Request())] == [("dep", "2")]


GROUPS = _root(
    '{ name = "base" }',
    extra="""
    [package.optional-dependencies]
    cli = [{ name = "cli-dep" }]
    [package.dev-dependencies]
    dev = [{ name = "dev-dep" }]
    test = [{ name = "test-dep" }, { name = "proj", extra = ["cli"] }]
    """,
) + "".join(_package(name) for name in ("base", "cli-dep", "dev-dep", "test-dep"))


@pytest.mark.parametrize(
    ("pyproject", "request_", "expected"),
    [
        pytest.param(None, Request(), ["base", "dev-dep"], id="dev-by-default"),
        pytest.param(None, Request(default_groups=False), ["base"], id="no-defaults"),
        pytest.param(None, Request(extras=frozenset({"cli"})), ["base", "cli-dep", "dev-dep"], id="extra"),
        pytest.param(None, Request(groups=frozenset({"test"})), ["base", "cli-dep", "dev-dep", "test-dep"], id="group"),
        pytest.param(
            None,
            Request(groups=frozenset({"test"}), default_groups=False),
            ["base", "cli-dep", "test-dep"],
            id="group-pulls-the-project-extra",
        ),
        pytest.param('[tool.uv]\ndefault-groups = ["test"]\n', Request(), ["base", "cli-dep", "test-dep"], id="listed"),
        pytest.param(
            '[tool.uv]\ndefault-groups = "all"\n', Request(), ["base", "cli-dep", "dev-dep", "test-dep"], id="all"
        ),
        pytest.param("[tool.uv]\ndefault-groups = []\n", Request(), ["base"], id="none"),
    ],
)
def test_extras_and_groups(
    tmp_path: Path, target: Target, pyproject: str | None, request_: Request, expected: list[str]
) -> None:
    picks = _lock(tmp_path, GROUPS, pyproject=pyproject).select(target, request_)
    assert _names(picks) == ["proj", *expected]


#: GROUPS as uv records it from a pyproject.toml with an empty group (the one below)
GROUPS_RECORDED = GROUPS.replace(
    'test = [{ name = "test-dep" }, { name = "proj", extra = ["cli"] }]\n',
    """test = [{ name = "test-dep" }, { name = "proj", extra = ["cli"] }]
    [package.metadata]
    requires-dist = [{ name = "base" }, { name = "cli-dep", marker = "extra == 'cli'" }]
    provides-extras = ["cli"]
    [package.metadata.requires-dev]
    dev = [{ name = "dev-dep" }]
    empty = []
    test = [{ name = "proj", extras = ["cli"] }, { name = "test-dep" }]
    """,
)
GROUPS_PROJECT = """
[project]
name = "proj"
version = "0.1.0"
dependencies = ["base"]
optional-dependencies = { cli = ["cli-dep"] }
[dependency-groups]
dev = ["dev-dep"]
empty = []
test = ["test-dep", "proj[cli]"]
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""


def test_a_lock_copied_without_its_pyproject_keeps_the_default_groups_uv_recorded(
    tmp_path: Path, target: Target
) -> None:
    # COPY uv.lock into a Docker build stage, without the pyproject.toml: uv (0.5 and later) records the
    # project's tool.uv.default-groups in the lock, and that is what uv sync would select; dev would be wrong
    recorded = GROUPS_RECORDED.replace(
        'source = { editable = "." }', 'source = { editable = "." }\ndefault-groups = ["test"]'
    )
    lock = _lock(tmp_path, recorded)
    assert _names(lock.select(target, Request())) == ["proj", "base", "cli-dep", "test-dep"]
    assert _names(lock.select(target, Request(groups=frozenset({"empty"})))) == ["proj", "base", "cli-dep", "test-dep"]
    # and with the pyproject.toml beside it, the pyproject decides, as before
    (tmp_path / "pyproject.toml").write_text(GROUPS_PROJECT + '[tool.uv]\ndefault-groups = ["test"]\n')
    assert _names(read_uv_lock(tmp_path / "uv.lock").select(target, Request())) == [
        "proj",
        "base",
        "cli-dep",
        "test-dep",
    ]


def test_missing_extra_and_group(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, GROUPS_RECORDED, pyproject=GROUPS_PROJECT)
    assert lock.stale is None
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(extras=frozenset({"gui", "cli"})))
    assert str(info.value) == f"{lock.path}: {not_in_lock('extra', ['gui'], ['cli'])}"
    assert info.value.reason == "the lock has no extra gui; it has: cli"
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(groups=frozenset({"docs"})))
    assert info.value.reason == "the lock has no dependency group docs; it has: dev, empty, test"
    assert _names(lock.select(target, Request(groups=frozenset({"empty"})))) == ["proj", "base", "dev-dep"]


def test_requires_python_unmet(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, _root(), header='version = 1\nrequires-python = ">=3.99"\n')
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert str(info.value) == (
        f"{lock.path}: the lock requires Python >=3.99 but the interpreter {target.executable} is Python "
        f"{target.python_full_version}; use an interpreter the lock supports or re-lock"
    )


def test_a_group_whose_requires_python_excludes_the_interpreter_is_refused_as_uv_refuses_it(
    tmp_path: Path, target: Target
) -> None:
    # tool.uv.dependency-groups.new.requires-python = ">=3.99": uv sync --group new on an older Python stops ("the
    # requested interpreter resolved to Python 3.12.1, which is incompatible with the project's Python requirement:
    # `>=3.99` (from `tool.uv.dependency-groups.new.requires-python`)"); the walk quietly left rich out
    body = _root(
        extra="""
    [package.dev-dependencies]
    dev = [{ name = "dev-dep" }]
    new = [{ name = "rich", marker = "python_full_version >= '3.99'" }]

    [package.group-requires-python]
    new = ">=3.99"
    """
    )
    lock = _lock(tmp_path, body + _package("dev-dep") + _package("rich"))
    assert _names(lock.select(target, Request())) == ["proj", "dev-dep"]
    assert _names(lock.select(target, Request(all_groups=True, no_groups=frozenset({"new"})))) == ["proj", "dev-dep"]
    for request in (Request(groups=frozenset({"new"})), Request(all_groups=True)):
        with pytest.raises(SelectionError) as info:
            lock.select(target, request)
        assert info.value.reason == (
            "the dependency group new of proj requires Python >=3.99 (tool.uv.dependency-groups.new.requires-python) "
            f"but the interpreter {target.executable} is Python {target.python_full_version}; add --no-group new to "
            "sync_flags for this Python, or use a Python the group supports"
        )
    error = _fails(tmp_path, body.replace('new = ">=3.99"', 'new = ">=three"') + _package("dev-dep") + _package("rich"))
    assert error.context == "package[0].group-requires-python.new"


def test_a_plain_linux_wheel_ranks_after_manylinux_as_uv_ranks_it(tmp_path: Path, target: Target) -> None:
    # a private index with a wheel built here (linux_x86_64) beside a manylinux one: uv sync installs the manylinux
    # wheel on every Python; packaging 26 ranks linux_x86_64 first, so Python 3.10 and newer got the other one
    tags = (
        "cp312-cp312-linux_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp312-cp312-musllinux_1_2_x86_64",
        "cp312-abi3-linux_x86_64",
        "cp312-abi3-manylinux_2_17_x86_64",
        "py3-none-linux_x86_64",
        "py3-none-manylinux_2_17_x86_64",
        "py3-none-any",
    )
    linux = replace(target, tag_strings=tags)

    def picked(*wheel_tags: str) -> str:
        wheels = ", ".join(
            f'{{ url = "https://example.invalid/native-1.0-{tag}.whl", hash = "{HASH}", size = 10 }}'
            for tag in wheel_tags
        )
        body = (
            _root('{ name = "native" }')
            + f"""
    [[package]]
    name = "native"
    version = "1.0"
    source = {{ registry = "https://example.invalid/simple" }}
    wheels = [{wheels}]
    """
        )
        [pick] = [p for p in _lock(tmp_path, body).select(linux, Request()) if p.name == "native"]
        assert pick.artifact is not None
        return pick.artifact.filename

    assert picked("cp312-cp312-linux_x86_64", "cp312-cp312-manylinux_2_17_x86_64") == (
        "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    )
    assert picked("cp312-cp312-linux_x86_64", "cp312-cp312-musllinux_1_2_x86_64") == (
        "native-1.0-cp312-cp312-musllinux_1_2_x86_64.whl"
    )
    # the interpreter and ABI still come first: a cp312 linux wheel beats an abi3 manylinux one, as in uv
    assert picked("cp312-abi3-manylinux_2_17_x86_64", "cp312-cp312-linux_x86_64") == (
        "native-1.0-cp312-cp312-linux_x86_64.whl"
    )
    assert picked("py3-none-linux_x86_64", "py3-none-any") == "native-1.0-py3-none-linux_x86_64.whl"


_NATIVE = """
    [[package]]
    name = "native"
    version = "1.0"
    source = { registry = "https://example.invalid/simple" }
    sdist = { url = "https://example.invalid/native-1.0.tar.gz", hash = "HASH", size = 10 }
    wheels = [{ url = "https://example.invalid/MAC", hash = "HASH", size = 10 }]
    """.replace("HASH", HASH).replace("MAC", "native-1.0-cp312-cp312-macosx_11_0_arm64.whl")


@pytest.mark.parametrize(
    ("uv", "expected"),
    [
        ("", {"native": "sdist", "plain": "wheel"}),
        ('no-build-package = ["plain"]', {"native": "sdist", "plain": "wheel"}),  # plain has a wheel: nothing built
        ('no-binary-package = ["plain"]', "plain 1.0 at package[2] is marked no-binary"),
        ("no-build = true", "no wheel of native 1.0 at package[0] fits"),
        ('no-build-package = ["Native"]', "no wheel of native 1.0 at package[0] fits"),
        ('no-binary-package = ["native"]', {"native": "sdist", "plain": "wheel"}),
        ("no-build = 1", "must be true or false, not an integer; correct it"),
        # native's wheel is for macOS: no-binary leaves out nothing that would serve, and no-build is what to change
        ("no-build = true\nno-binary = true", "no wheel of native 1.0 at package[0] fits"),
    ],
)
def test_no_build_and_no_binary_are_held_as_uv_sync_holds_them(
    tmp_path: Path, target: Target, uv: str, expected: dict[str, str] | str
) -> None:
    # found by QA with a lock made on macOS: uv sync refuses to build native's sdist where tool.uv says no-build
    # ("marked as --no-build but has no binary distribution"), and venvsync built it
    body = _NATIVE + _root('{ name = "native" }, { name = "plain" }') + _package("plain")

    def picked() -> dict[str, str]:
        lock = _lock(tmp_path, body, pyproject=f"[tool.uv]\n{uv}\n")
        return {str(pick.name): pick.kind for pick in lock.select(target, Request(frozen=True))}

    if isinstance(expected, str):
        with pytest.raises(VenvSyncError, match=re.escape(expected)):
            picked()
    else:
        assert picked() == {"proj": "directory", **expected}


def test_the_no_build_sentence(tmp_path: Path, target: Target) -> None:
    body = _NATIVE + _root('{ name = "native" }')
    lock = _lock(tmp_path, body, pyproject="[tool.uv]\nno-build = true\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(frozen=True))
    assert info.value.reason == (
        f"no wheel of native 1.0 at package[0] fits the interpreter {target.executable} (Python "
        f"{target.python_full_version}, tags {no_wheel_summary(target.tags)}), and pyproject.toml's tool.uv marks it "
        "no-build, so its sdist is not built (uv sync refuses it too); the lock has "
        "native-1.0-cp312-cp312-macosx_11_0_arm64.whl: re-lock for this interpreter, use another Python, or take "
        "native out of no-build-package (or no-build)"
    )


@pytest.mark.parametrize("uv", ["no-build = true", "no-binary = true", "no-build = true\nno-binary = true"])
def test_a_setting_that_leaves_out_nothing_that_would_serve_is_not_named(
    tmp_path: Path, target: Target, uv: str
) -> None:
    # found in review: a package without an sdist and without a fitting wheel was told to leave no-build (or
    # no-binary), which changes nothing; the sentence for a package without a file for the interpreter is the one
    body = _NATIVE.replace(
        f'sdist = {{ url = "https://example.invalid/native-1.0.tar.gz", hash = "{HASH}", size = 10 }}\n', ""
    )
    lock = _lock(tmp_path, body + _root('{ name = "native" }'), pyproject=f"[tool.uv]\n{uv}\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(frozen=True))
    assert info.value.reason.endswith(
        "and the lock has no sdist for it; the lock has native-1.0-cp312-cp312-macosx_11_0_arm64.whl: re-lock for "
        "this interpreter or use another Python"
    )


def test_both_settings_are_named_where_each_left_out_a_file_that_would_serve(tmp_path: Path, target: Target) -> None:
    body = _NATIVE.replace("cp312-cp312-macosx_11_0_arm64", "py3-none-any") + _root('{ name = "native" }')
    lock = _lock(tmp_path, body, pyproject='[tool.uv]\nno-build-package = ["native"]\nno-binary-package = ["native"]\n')
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(frozen=True))
    assert info.value.reason.startswith("native 1.0 at package[0] is marked both no-binary and no-build")


def test_supported_markers(tmp_path: Path, target: Target) -> None:
    platform = target.markers["sys_platform"]
    header = f"version = 1\nsupported-markers = [\"sys_platform == 'win32'\", \"sys_platform == '{platform}'\"]\n"
    assert _names(_lock(tmp_path, _root(), header=header).select(target, Request())) == ["proj"]
    lock = _lock(tmp_path, _root(), header="version = 1\nsupported-markers = [\"sys_platform == 'win32'\"]\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f'the lock supports only the environments sys_platform == "win32" and the interpreter {target.executable} '
        f"(Python {target.python_full_version}) is in none of them; re-lock for it"
    )


def test_the_same_name_twice(tmp_path: Path, target: Target) -> None:
    source = 'source = { registry = "https://example.invalid/simple" }'
    deps = f'{{ name = "dep", version = "1", {source} }}, {{ name = "dep", version = "2", {source} }}'
    lock = _lock(tmp_path, _root(deps) + _package("dep", "1") + _package("dep", "2"))
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"the lock selects dep twice, at package[1] and package[2], for the interpreter {target.executable} "
        f"(Python {target.python_full_version}); re-lock"
    )


def test_a_root_without_a_project_finds_the_package_of_each_requirement_without_scanning_the_lock_for_it(
    tmp_path: Path, target: Target
) -> None:
    # found by QA at scale: each requirement of a workspace root that is no project ([manifest]'s dependency
    # groups) scanned every package for its name: a group of 2,000 took 0.9 s to select (quadratic); the lock is
    # read through once, however many requirements there are
    class Counted(tuple):  # type: ignore[type-arg]  # the lock's packages, counting the walks through them
        __slots__ = ()
        walks = 0

        def __iter__(self) -> Iterator[Any]:
            Counted.walks += 1
            return super().__iter__()

    walks = []
    for count in (3, 30):
        names = [f"p{number}" for number in range(count)]
        group = ", ".join(f'{{ name = "{name}" }}' for name in names)
        directory = tmp_path / str(count)
        directory.mkdir()
        body = f"\n[manifest.dependency-groups]\ndev = [{group}]\n" + "".join(_package(name) for name in names)
        lock = _lock(directory, body)
        Counted.walks = 0
        counted = replace(lock, packages=Counted(lock.packages))
        assert sorted(_names(counted.select(target, Request(groups=frozenset({canonicalize_name("dev")}))))) == sorted(
            names
        )
        walks.append(Counted.walks)
    assert walks[0] == walks[1]


def test_marker_that_cannot_be_evaluated(tmp_path: Path, target: Target) -> None:
    lock = _lock(tmp_path, _root('{ name = "dep", marker = "python_version ~= \'x\'" }') + _package("dep"))
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "package[0].dependencies[0]"
    assert info.value.reason.startswith("the marker 'python_version ~= \"x\"' cannot be evaluated (Undefined")
    assert info.value.reason.endswith("; re-lock with uv")  # what to do, as the reader's other sentences say


def test_conflicting_extras(target: Target) -> None:
    lock = read_uv_lock(LOCKS / "synthetic__conflicts" / "uv.lock")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(extras=frozenset({"x1", "x2"})))
    assert info.value.reason == (
        "extra x1 of proj and extra x2 of proj are declared as conflicting (conflicts[0]) and would both be "
        "installed; ask for only one of them"
    )


CONFLICTS = """version = 1
revision = 3
requires-python = ">=3.10"
conflicts = [[
    { package = "proj", extra = "cpu" },
    { package = "proj", extra = "gpu" },
], [
    { package = "proj", extra = "cpu" },
    { package = "proj", group = "alt" },
]]
"""
#: the markers uv 0.13 writes on the edges of ``alt = ["proj[gpu]"]``, ``cpu`` in conflict with ``gpu`` and ``alt``
ALT = "extra != 'extra-4-proj-cpu' or extra == 'extra-4-proj-gpu' or extra == 'group-4-proj-alt'"
ALT_GPU = "extra == 'extra-4-proj-gpu' or (extra == 'extra-4-proj-cpu' and extra == 'group-4-proj-alt')"
SELF_EXTRA_GROUP = _root(
    source='virtual = "."',
    extra=f"""
    [package.optional-dependencies]
    cpu = [{{ name = "torch", version = "1.0", source = {{ registry = "https://example.invalid/simple" }} }}]
    gpu = [{{ name = "torch", version = "2.0", source = {{ registry = "https://example.invalid/simple" }} }}]
    [package.dev-dependencies]
    alt = [{{ name = "proj", marker = "{ALT}" }}, {{ name = "proj", extra = ["gpu"], marker = "{ALT_GPU}" }}]
    """,
)


@pytest.mark.parametrize(
    "request_",
    [Request(groups=frozenset({"alt"})), Request(groups=frozenset({"alt"}), only_groups=True, default_groups=False)],
    ids=["group", "only-group"],
)
def test_a_group_naming_a_conflicting_extra_installs_it_as_uv_does(
    tmp_path: Path, target: Target, request_: Request
) -> None:
    """``uv sync --group alt`` installs torch 2.0 for ``alt = ["proj[gpu]"]``; the walk installed no torch.

    Found by QA comparing with ``uv sync --frozen --dry-run``: uv evaluates a group's edge with the edge's own extras
    active (``extra-4-proj-gpu``), and keeps them active; evaluated as any edge, the marker did not hold.
    """
    body = SELF_EXTRA_GROUP + _package("torch", "1.0") + _package("torch", "2.0")
    lock = _lock(tmp_path, body, header=CONFLICTS)
    assert [(str(pick.name), str(pick.version)) for pick in lock.select(target, request_)] == [("torch", "2.0")]
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(groups=frozenset({"alt"}), extras=frozenset({"cpu"})))
    assert info.value.reason == (
        "extra cpu of proj and group alt of proj are declared as conflicting (conflicts[1]) and would both be "
        "installed; ask for only one of them"
    )


def test_groups_of_a_virtual_root_naming_conflicting_extras_are_refused_as_conflicting(
    tmp_path: Path, target: Target
) -> None:
    """A workspace root without a project: ``c = ["lib[cpu]"]``, ``g = ["lib[gpu]"]``, lib's extras in conflict.

    ``uv sync --all-groups`` refuses them as conflicting extras; the walk took both torch versions and said to re-lock.
    """
    header = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'
        'conflicts = [[{ package = "lib", extra = "cpu" }, { package = "lib", extra = "gpu" }]]\n'
        '[manifest]\nmembers = ["lib"]\n[manifest.dependency-groups]\n'
        'c = [{ name = "lib", extras = ["cpu"], editable = "lib" }]\n'
        'g = [{ name = "lib", extras = ["gpu"], editable = "lib" }]\n'
    )
    lib = """
    [[package]]
    name = "lib"
    version = "0.1.0"
    source = { editable = "lib" }
    [package.optional-dependencies]
    cpu = [{ name = "torch", version = "1.0", source = { registry = "https://example.invalid/simple" } }]
    gpu = [{ name = "torch", version = "2.0", source = { registry = "https://example.invalid/simple" } }]
    """
    lock = _lock(tmp_path, lib + _package("torch", "1.0") + _package("torch", "2.0"), header=header)
    assert _names(lock.select(target, Request(groups=frozenset({"g"})))) == ["lib", "torch"]
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request(all_groups=True))
    assert info.value.reason == (
        "extra cpu of lib and extra gpu of lib are declared as conflicting (conflicts[0]) and would both be "
        "installed; ask for only one of them"
    )


def test_a_group_asked_for_stays_beside_an_extra_another_group_turns_on_as_uv_installs_them(
    tmp_path: Path, target: Target
) -> None:
    """``g1`` conflicts with the extra ``gpu``, which ``gx = ["proj[gpu]"]`` turns on: ``uv sync --group gx --group g1``
    installs both.

    uv checks the extras and groups asked for against ``conflicts`` before its walk, and after it only the extras the
    walk turned on: helper 1.0 and torch 2.0. Found by QA comparing with ``uv sync --frozen --dry-run``
    (uv 0.13.9): the walk refused the pair as conflicting, so did ``--all-groups --no-group g2``.
    """
    header = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'
        'conflicts = [[{ package = "proj", extra = "cpu" }, { package = "proj", extra = "gpu" }], '
        '[{ package = "proj", extra = "gpu" }, { package = "proj", group = "g1" }]]\n'
    )
    gx = "extra == 'extra-4-proj-gpu' or (extra == 'extra-4-proj-cpu' and extra == 'group-4-proj-g1')"
    root = _root(
        source='virtual = "."',
        extra=f"""
    [package.optional-dependencies]
    cpu = [{{ name = "torch", version = "1.0", source = {{ registry = "https://example.invalid/simple" }} }}]
    gpu = [{{ name = "torch", version = "2.0", source = {{ registry = "https://example.invalid/simple" }} }}]
    [package.dev-dependencies]
    g1 = [{{ name = "helper" }}]
    gx = [{{ name = "proj" }}, {{ name = "proj", extra = ["gpu"], marker = "{gx}" }}]
    """,
    )
    lock = _lock(
        tmp_path, root + _package("helper") + _package("torch", "1.0") + _package("torch", "2.0"), header=header
    )
    for request in (Request(groups=frozenset({"gx", "g1"})), Request(all_groups=True)):
        picks = lock.select(target, request)
        assert [(str(pick.name), str(pick.version)) for pick in picks] == [("helper", "1.0"), ("torch", "2.0")]
    with pytest.raises(SelectionError) as info:  # asked for together: refused before the walk, as uv refuses them
        lock.select(target, Request(groups=frozenset({"g1"}), extras=frozenset({"gpu"})))
    assert info.value.reason.startswith(
        "extra gpu of proj and group g1 of proj are declared as conflicting (conflicts[1])"
    )
    with pytest.raises(SelectionError) as info:  # two extras, one turned on by the walk: refused, as uv refuses them
        lock.select(target, Request(groups=frozenset({"gx"}), extras=frozenset({"cpu"})))
    assert info.value.reason.startswith(
        "extra cpu of proj and extra gpu of proj are declared as conflicting (conflicts[0])"
    )


def test_projects_declared_as_conflicting_are_selected_apart_and_refused_together_as_uv_does(
    tmp_path: Path, target: Target
) -> None:
    """``conflicts = [[{ package = "a" }, { package = "b" }]]`` (uv's preview package-conflicts), as uv 0.13.9 locks.

    Checked by QA against ``uv sync --frozen --preview-features package-conflicts``: ``--package a`` installs dep 1.0,
    ``--package b`` dep 2.0, and ``--all-packages`` (or both named) stops with "Package `a` and package `b` are
    incompatible with the declared conflicts". The dependencies' markers name the project (``extra == 'project-1-a'``).
    """
    header = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'
        'conflicts = [[{ package = "a" }, { package = "b" }]]\n'
        '[manifest]\nmembers = ["a", "b", "root"]\n'
    )
    members = """
    [[package]]
    name = "a"
    version = "0.1"
    source = { editable = "a" }
    dependencies = [
        { name = "dep", version = "1.0", source = { registry = "{INDEX}" }, marker = "extra == 'project-1-a'" },
    ]
    [[package]]
    name = "b"
    version = "0.1"
    source = { editable = "b" }
    dependencies = [
        { name = "dep", version = "2.0", source = { registry = "{INDEX}" }, marker = "extra == 'project-1-b'" },
    ]
    [[package]]
    name = "root"
    version = "0.1"
    source = { virtual = "." }
    """
    members = members.replace("{INDEX}", "https://example.invalid/simple")
    lock = _lock(tmp_path, members + _package("dep", "1.0") + _package("dep", "2.0"), header=header)
    for member, version in (("a", "1.0"), ("b", "2.0")):
        picks = lock.select(target, Request(packages=frozenset({member})))
        assert [(str(pick.name), str(pick.version)) for pick in picks] == [(member, "0.1"), ("dep", version)]
    assert _names(lock.select(target, Request())) == []
    for request in (Request(all_packages=True), Request(packages=frozenset({"a", "b"}))):
        with pytest.raises(SelectionError) as info:
            lock.select(target, request)
        assert info.value.reason == (
            "project a and project b are declared as conflicting (conflicts[0]) and would both be installed; ask for "
            "only one of them"
        )


# --- the real locks against what uv installs ---------------------------------------------------------------------


def test_real_locks_are_unchanged_copies() -> None:
    assert sorted(p.name for p in LOCKS.iterdir() if not p.name.startswith("synthetic__")) == REAL
    if SHARED.is_dir():
        for name in REAL:
            for file, original in (("uv.lock", "uv.lock"), ("pyproject.toml", "pyproject.toml")):
                assert (LOCKS / name / file).read_bytes() == (SHARED / f"{name}__{original}").read_bytes()


CASES = sorted(path.name.removesuffix(".json") for path in EXPECTED.glob("*.json"))


def test_every_lock_has_expected_sets() -> None:
    assert {case.split("--")[0] for case in CASES} == {p.name for p in LOCKS.iterdir()}
    assert len(CASES) >= 70


def _request(recorded: dict[str, Any]) -> Request:
    request = Request(
        extras=frozenset(recorded.get("extras", ())),
        groups=frozenset(recorded.get("groups", ())),
        default_groups=recorded.get("default_groups", True),
        project=recorded.get("project", "."),
        only_groups=recorded.get("only_groups", False),
        all_extras=recorded.get("all_extras", False),
        all_groups=recorded.get("all_groups", False),
        no_groups=frozenset(recorded.get("no_groups", ())),
        packages=frozenset(recorded.get("packages", ())),
        all_packages=recorded.get("all_packages", False),
    )
    if recorded.get("no_dev") or recorded.get("only_dev"):  # as the command line makes them (see _selection)
        flags = argparse.Namespace(**{**vars(parse_sync_flags([], "x")), "no_dev": recorded.get("no_dev", False)})
        flags.only_dev = recorded.get("only_dev", False)
        return make_request(
            extras=(), groups=(), only_groups=(), no_default_groups=False, flags=flags, project=request.project
        )
    return request


def _direct_url(pick: Pick, project: Path) -> str:
    """The ``name @ url`` form ``uv sync --dry-run`` prints, with the project directory as ``{project}``."""
    if pick.vcs is not None:
        return f"git+{pick.vcs.url}@{pick.vcs.commit}"
    path = pick.directory.path if pick.directory is not None else pick.artifact.path if pick.artifact else None
    assert path is not None, pick
    relative = path.relative_to(project.absolute()).as_posix()
    return "file://{project}" + ("" if relative == "." else f"/{relative}")


@pytest.mark.parametrize("case", CASES)
def test_selection_matches_uv(target_of: Callable[[str], Target], case: str) -> None:
    recorded = json.loads((EXPECTED / f"{case}.json").read_text(encoding="utf-8"))
    lock = read_uv_lock(LOCKS / recorded["lock"] / "uv.lock")
    target = target_of(recorded["python"])
    if "error" in recorded:  # uv refuses: requires-python unmet, conflicting extras or a group no root has
        with pytest.raises(SelectionError) as info:
            lock.select(target, _request(recorded["request"]))
        if "Python requirement" in recorded["error"]:
            assert info.value.reason.startswith(f"the lock requires Python {lock.requires_python} but the interpreter")
        elif "is not defined in any project's `dependency-groups` table" in recorded["error"]:
            assert info.value.reason.startswith("the lock has no dependency group")
        else:
            assert "incompatible with the declared conflicts" in recorded["error"]
            assert "are declared as conflicting (conflicts[0])" in info.value.reason
        return
    picks = lock.select(target, _request(recorded["request"]))
    registry = {str(pick.name): pick.version for pick in picks if pick.index is not None}
    assert registry == {name: Version(version) for name, version in recorded["packages"].items()}
    direct = {str(pick.name): _direct_url(pick, lock.path.parent) for pick in picks if pick.index is None}
    assert direct == recorded["direct"]
    supported = set(target.tags)
    for pick in picks:
        if pick.kind == "wheel":
            assert pick.artifact is not None
            assert parse_wheel_filename(pick.artifact.filename)[3] & supported
        else:
            assert pick.kind in {"sdist", "directory", "vcs"}, pick


@pytest.mark.parametrize(("python", "tag"), [("3.12", "cp312-cp312-manylinux"), ("3.13", "py3-none-any")])
def test_synthetic_native_wheel(target_of: Callable[[str], Target], python: str, tag: str) -> None:
    lock = read_uv_lock(LOCKS / "synthetic__conflicts" / "uv.lock")
    [native] = [pick for pick in lock.select(target_of(python), Request()) if pick.name == "native"]
    assert native.artifact is not None
    assert native.artifact.filename.startswith(f"native-1.0-{tag}")
    assert native.artifact.path == (LOCKS / "synthetic__conflicts" / "wheels" / native.artifact.filename).absolute()


def test_workspace_member_extra_and_editable_members(target: Target) -> None:
    lock = read_uv_lock(LOCKS / "modelcontextprotocol__python-sdk" / "uv.lock")
    picks = {str(pick.name): pick for pick in lock.select(target, Request())}
    assert "typer" in picks  # the dev group asks for mcp[cli], the root's own extra
    assert picks["mcp"].directory == DirectorySource(path=lock.path.parent.absolute(), editable=True)
    assert picks["mcp"].version is None  # a dynamic version
    assert "mcp-structured-output-lowlevel" not in picks  # a member, but not a dependency of the root


def _workspace(tmp_path: Path) -> Path:
    """A copy of the members workspace (its lock and pyproject files), with a directory that is no member."""
    root = tmp_path / "ws"
    shutil.copytree(LOCKS / "synthetic__members", root, ignore=shutil.ignore_patterns("wheels"))
    (root / "docs" / "api").mkdir(parents=True)
    return root


def test_a_members_lock_is_found_at_its_workspace_root(tmp_path: Path) -> None:
    # as uv finds it: the nearest uv.lock above that locks the directory as a workspace project
    root = _workspace(tmp_path)
    assert find_lock(root / "libs" / "one") == root / "uv.lock"
    assert find_lock(root / "libs" / "three") == root / "uv.lock"  # a virtual member
    (root / "libs" / "one" / "tests").mkdir()
    assert find_lock(root / "libs" / "one" / "tests") == root / "uv.lock"  # below a member: its project's lock
    for elsewhere in (root / "docs" / "api", root / "libs"):  # no member there: the lock is not theirs
        with pytest.raises(BadInputError, match="no lockfile in"):
            find_lock(elsewhere)
    (root / "libs" / "one" / "pylock.toml").write_text("")
    assert find_lock(root / "libs" / "one") == root / "libs" / "one" / "pylock.toml"  # its own lock first


def test_uv_sync_in_a_directory_starts_at_the_nearest_project_when_it_is_a_member(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    lock = root / "uv.lock"
    (root / "libs" / "one" / "src" / "one").mkdir(parents=True)
    assert workspace_project(lock, root) == "."
    assert workspace_project(lock, root / "libs" / "one") == "libs/one"
    assert workspace_project(lock, root / "libs" / "one" / "src" / "one") == "libs/one"  # below a member
    assert workspace_project(lock, root / "docs" / "api") == "."  # the nearest project is the root's
    assert workspace_project(lock, tmp_path) == "."  # above the workspace
    (root / "docs" / "pyproject.toml").write_text('[project]\nname = "docs"\n')
    assert workspace_project(lock, root / "docs" / "api") == "."  # a project, but not the workspace's


@pytest.mark.parametrize("kind", ["directory", "link to nothing"])
def test_a_lockfiles_name_that_is_no_file_is_named_not_missed(tmp_path: Path, kind: str) -> None:
    # "no lockfile in <root>: looked for pylock.toml, ..." where a pylock.toml is there (found by QA)
    path = tmp_path / "pylock.toml"
    if kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "made-later.toml")
    with pytest.raises(LockFileError) as info:
        find_lock(tmp_path)
    said = {
        "directory": "is a directory, not a lockfile; set lock_file to a file",
        "link to nothing": "the lockfile does not exist; create it or set lock_file to the right path",
    }
    assert str(info.value) == f"{path}: {said[kind]}"


def test_a_path_dependency_is_no_workspace_member(tmp_path: Path, target: Target) -> None:
    # uv sync in a path dependency's directory finds no lock (its project is not the workspace's)
    root = _workspace(tmp_path)
    lock = root / "uv.lock"
    lock.write_text(lock.read_text().replace('    "lib-one",\n', "", 1))  # listed as a package, not a member
    with pytest.raises(BadInputError, match="no lockfile in"):
        find_lock(root / "libs" / "one")
    assert workspace_project(lock, root / "libs" / "one") == "."
    assert workspace_project(lock, root / "libs" / "two") == "libs/two"
    with pytest.raises(SelectionError, match="no workspace member of the lock is at"):
        read_uv_lock(lock).select(target, Request(project="libs/one"))


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        pytest.param(
            Request(packages=frozenset({"nope"})),
            "the lock's workspace has no member nope; its members are: app, lib-one, lib-three, lib-two",
            id="no-such-member",
        ),
        pytest.param(  # uv sync --package dep installs dep alone; a registry package is no workspace member
            Request(packages=frozenset({"dep"})),
            "the lock's workspace has no member dep; its members are: app, lib-one, lib-three, lib-two",
            id="a-registry-package",
        ),
        pytest.param(
            Request(no_groups=frozenset({"nope"})),
            "the lock has no dependency group nope; it has: dev",
            id="no-group-unknown",
        ),
        pytest.param(
            Request(all_extras=True, no_extras=frozenset({"x"})),
            "the lock has no extra x; it has: none",  # x is lib-one's, not app's (as uv says)
            id="no-extra-of-another-member",
        ),
    ],
)
def test_workspace_selection_errors_are_one_sentence(target: Target, request_: Request, reason: str) -> None:
    with pytest.raises(SelectionError) as info:
        read_uv_lock(LOCKS / "synthetic__members" / "uv.lock").select(target, request_)
    assert info.value.reason == reason


def test_no_dev_and_only_dev_need_no_dev_group_as_in_uv(tmp_path: Path, target: Target) -> None:
    # uv sync --no-dev / --only-dev on a project without a dev group: nothing left out / nothing selected
    lock = _lock(tmp_path, _root('{ name = "dep" }') + _package("dep"))
    lenient = frozenset({"dev"})
    assert _names(lock.select(target, Request(no_groups=lenient, lenient_groups=lenient))) == ["proj", "dep"]
    only = Request(groups=lenient, default_groups=False, only_groups=True, lenient_groups=lenient)
    assert _names(lock.select(target, only)) == []
    with pytest.raises(SelectionError, match="the lock has no dependency group dev; it has: none"):
        lock.select(target, Request(no_groups=lenient))  # --no-group dev is checked, as uv checks it


def test_the_packages_of_a_lock_of_one_project_are_that_project(tmp_path: Path, target: Target) -> None:
    # no [manifest] members: uv sync --all-packages (or --package proj) installs the project, as plain uv sync
    lock = _lock(tmp_path, _root('{ name = "dep" }') + _package("dep"))
    assert _names(lock.select(target, Request(all_packages=True))) == ["proj", "dep"]
    assert _names(lock.select(target, Request(packages=frozenset({"proj"})))) == ["proj", "dep"]
    with pytest.raises(SelectionError, match=r"has no member dep; its members are: proj$"):
        lock.select(target, Request(packages=frozenset({"dep"})))


def test_a_workspace_reached_through_a_link_is_the_same_workspace(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    (tmp_path / "link").symlink_to(root)
    assert workspace_project(tmp_path / "link" / "uv.lock", root / "libs" / "one") == "libs/one"
    assert workspace_project(root / "uv.lock", tmp_path / "link" / "libs" / "one") == "libs/one"


# --- no input makes the reader fail with anything but our errors -------------------------------------------------


@pytest.fixture(scope="module")
def documents() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {
        name: (
            tomllib.loads((LOCKS / name / "uv.lock").read_text(encoding="utf-8")),
            tomllib.loads((LOCKS / name / "pyproject.toml").read_text(encoding="utf-8")),
        )
        for name in REAL
    }


#: values that look like what the lock holds, so some mutations get past the type checks
TRICKY = [
    "", ".", "all", "dev", "sha256:zz", "sha256:", "2", ">=3.99", "((", "extra == 'x'", "python_version < '3'",
    "https://x/y-1.0-py3-none-any.whl", "https://x/g#", "../up", "anyio", "name",
]  # fmt: skip
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats() | st.text(max_size=12) | st.sampled_from(TRICKY),
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
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if node is root and "package" in root:  # most of a lock is its packages: go there most of the time
            keys += ["package"] * 3 * len(keys)
        key = draw.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw.draw(st.integers(0, 9)) < 8:
            node[key] = node = dict(child) if isinstance(child, dict) else list(child)
            continue
        action = draw.draw(st.sampled_from(["delete", "retype", "replace"]))
        if action == "delete":
            del node[key]
        else:
            node[key] = _retype(child) if action == "retype" else draw.draw(JSONISH)
        return root


REQUESTS = st.sampled_from(
    [Request(), Request(default_groups=False), Request(extras=frozenset({"cli"})), Request(groups=frozenset({"docs"}))]
)


@pytest.mark.parametrize("name", REAL)
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_mutated_lock_raises_only_our_errors(
    documents: dict[str, tuple[dict[str, Any], dict[str, Any]]], target: Target, name: str, draw: st.DataObject
) -> None:
    data, project = documents[name]
    mutated = _mutate(draw, data)
    for _ in range(draw.draw(st.integers(0, 2))):
        mutated = _mutate(draw, mutated)
    with contextlib.suppress(VenvSyncError):
        parse_uv_lock(LOCKS / name / "uv.lock", mutated, project).select(target, draw.draw(REQUESTS))


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data())
def test_mutated_pyproject_raises_only_our_errors(
    documents: dict[str, tuple[dict[str, Any], dict[str, Any]]], target: Target, draw: st.DataObject
) -> None:
    data, project = documents["pallets__flask"]
    with contextlib.suppress(VenvSyncError):
        parse_uv_lock(LOCKS / "pallets__flask" / "uv.lock", data, _mutate(draw, project)).select(target, Request())


_REMOTE = UvSource(kind="registry", value="https://pypi.org/simple")
_URLS = st.sampled_from(
    [
        "https://files.example/p/pkg-1.0-py3-none-any.whl",
        "https://files.example/p/pkg-1.0-py3-none-any.whl?x=1#frag",
        "https://files.example/p/pkg-1.0-py3-none-any.whl#sha256=00",
        "https://files.example/p/pkg%2B1-1.0-py3-none-any.whl",
        "https://files.example/p/",
        "pkg-1.0-py3-none-any.whl",
        "",
    ]
)
_HASHES = st.sampled_from(
    ["sha256:" + "ab" * 32, "SHA256:" + "AB" * 32, "sha256:xyz", ":" + "ab" * 32, "sha256:", "ab"]
)
_OTHER = st.one_of(st.none(), st.booleans(), st.integers(-2, 10**6), st.text(max_size=4), st.lists(st.integers()))
_KEYS = ["url", "hash", "size", "filename", "path", "upload-time"]


@st.composite
def wheel_tables(draw: st.DrawFn) -> dict[str, Any]:
    """uv's usual wheel entry, then some of its keys changed, dropped or added."""
    table: dict[str, Any] = {"url": draw(_URLS), "hash": draw(_HASHES), "size": draw(st.integers(-1, 10**6))}
    if draw(st.booleans()):
        table["filename"] = draw(st.sampled_from(["pkg-1.0-py3-none-any.whl", ""]))
    for key in draw(st.sets(st.sampled_from(_KEYS), max_size=2)):
        table.pop(key, None)
    table.update(draw(st.dictionaries(st.sampled_from(_KEYS), _OTHER | _URLS | _HASHES, max_size=2)))
    return table


# no deadline and no too_slow check, as the other fuzz tests here: on a loaded machine (3.10, dev/test's oldest run)
# one example or the first ones' generation took longer than hypothesis allows and failed a check that passed
@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=wheel_tables())
def test_a_wheel_read_at_once_is_the_checked_reading(table: dict[str, Any]) -> None:
    """The shortcut for uv's usual wheel entries gives what the key-by-key reading gives, or leaves it to it."""
    reader = _LockReader(Path("/p/uv.lock"))
    try:
        checked: Artifact | None = reader._wheel(table, "packages[0].wheels[0]", _REMOTE)
    except LockFileError:
        checked = None
    at_once = _plain_wheel(table)
    assert at_once is None or at_once == checked


@pytest.mark.parametrize(
    ("location", "name"),
    [
        ("https://files.example/p/pkg-1.0-py3-none-any.whl", "pkg-1.0-py3-none-any.whl"),
        ("https://files.example/p/pkg-1.0-py3-none-any.whl#sha256=00", "pkg-1.0-py3-none-any.whl"),
        ("https://files.example/p/pkg-1.0-py3-none-any.whl?x=1", "pkg-1.0-py3-none-any.whl"),
        ("https://files.example/p/pkg%2B1-1.0.tar.gz", "pkg+1-1.0.tar.gz"),
        ("https://files.example/p/dir/", "dir"),
        ("../wheels/pkg-1.0-py3-none-any.whl", "pkg-1.0-py3-none-any.whl"),
        ("pkg-1.0.tar.gz", "pkg-1.0.tar.gz"),
    ],
)
def test_a_file_name_is_the_last_part_of_its_url_or_path(location: str, name: str) -> None:
    assert _file_name(location) == name


@pytest.mark.parametrize("name", sorted(p.name for p in LOCKS.iterdir()))
def test_a_lock_reads_the_same_without_the_wheel_shortcut(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = LOCKS / name / "uv.lock"
    with_shortcut = read_uv_lock(path)
    monkeypatch.setattr(uv_reader, "_plain_wheel", lambda _: None)
    assert read_uv_lock(path) == with_shortcut


def test_the_wheel_shortcut_reads_a_real_lock() -> None:
    """What the comparison above is worth: the real locks' registry wheels do take the shortcut."""
    data = tomllib.loads((LOCKS / "Comfy-Org__comfy-cli" / "uv.lock").read_text(encoding="utf-8"))
    wheels = [wheel for package in data["package"] for wheel in package.get("wheels", ())]
    assert len(wheels) > 100
    assert all(_plain_wheel(wheel) is not None for wheel in wheels)


# --- through tox -------------------------------------------------------------------------------------------------

INI = """
[tox]
env_list = py312
[testenv]
runner = venvsync
env_location = {env_location}
package = skip
commands =
    python -c "import alpha, beta; print('from uv.lock', alpha.__version__, beta.__version__)"
"""


def _uv_lock(index: LocalIndex, wheels: Sequence[Path]) -> str:
    """A uv.lock written the way uv writes it: a virtual root and registry packages with url, hash and size."""
    root = '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
    root += 'dependencies = [{ name = "alpha" }, { name = "beta" }]\n'
    packages = [
        f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "{index.simple_url}" }}\n'
        f'wheels = [{{ url = "{index.file_url(wheel.name)}", hash = "sha256:{sha256_file(wheel)}", '
        f"size = {wheel.stat().st_size} }}]\n"
        for wheel in wheels
        for name, version, _, _ in [parse_wheel_filename(wheel.name)]
    ]
    return "\n".join([HEADER, root, *packages])


@pytest.mark.slow
def test_tox_syncs_from_a_uv_lock(
    tmp_path: Path,
    local_index: LocalIndex,
    tox_project: ToxProjectCreator,
    cache_dir: Path,  # noqa: ARG001  # a private artifact cache
) -> None:
    wheels = [make_wheel(local_index.directory, "alpha", "1.0"), make_wheel(local_index.directory, "beta", "2.5")]
    venvs = tmp_path / "venvs"
    project = tox_project({"tox.ini": INI.replace("{env_location}", str(venvs / "{env_name}"))})
    (project.path / "uv.lock").write_text(_uv_lock(local_index, wheels), encoding="utf-8")
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    result.assert_success()
    assert "synced 2 packages: 2 installed" in result.out
    assert "from uv.lock 1.0 2.5" in result.out
    assert (venvs / "py312" / "pyvenv.cfg").is_file()
    assert not (project.path / ".venv").exists()
    again = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    again.assert_success()
    assert "synced" not in again.out
    assert "from uv.lock 1.0 2.5" in again.out


@pytest.mark.slow
def test_package_editable_on_a_uv_lock_project_is_a_working_editable_install(
    tmp_path: Path,
    local_index: LocalIndex,
    tox_project: ToxProjectCreator,
    cache_dir: Path,  # noqa: ARG001  # a private artifact cache
) -> None:
    wheels = [make_wheel(local_index.directory, "alpha", "1.0"), make_wheel(local_index.directory, "beta", "2.5")]
    venvs = tmp_path / "venvs"
    ini = INI.replace("{env_location}", str(venvs / "{env_name}")).replace("package = skip", "package = editable")
    ini = ini.replace("import alpha, beta;", "import alpha, beta, demo; print(demo.WHO);")
    project = tox_project({"tox.ini": ini})
    write_project(project.path, "demo", "0.1.0", {"demo/__init__.py": "WHO = 'first'\n"})
    lock = _uv_lock(local_index, wheels).replace('source = { virtual = "." }', 'source = { editable = "." }')
    (project.path / "uv.lock").write_text(lock, encoding="utf-8")
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    result.assert_success()
    assert "synced 3 packages: 3 installed" in result.out
    assert "first" in result.out
    (project.path / "src" / "demo" / "__init__.py").write_text("WHO = 'edited in place'\n")
    again = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    again.assert_success()
    assert "edited in place" in again.out
    assert "synced" not in again.out  # the editable install follows the tree: nothing to reinstall


def _forked_dep(version: str, marker: str) -> str:
    return _package("dep", version, extra=f"resolution-markers = [{marker!r}]")


@pytest.mark.parametrize(
    ("forks", "version"),
    [
        pytest.param(
            [("1.0", "python_full_version < '3.11'"), ("2.0", "python_full_version >= '3.11'")], "2.0", id="second"
        ),
        pytest.param(
            [("1.0", "python_full_version >= '3.11'"), ("2.0", "python_full_version < '3.11'")], "1.0", id="first"
        ),
    ],
)
def test_a_requirement_of_a_root_without_a_project_takes_the_fork_whose_markers_hold(
    tmp_path: Path, target: Target, forks: list[tuple[str, str]], version: str
) -> None:
    # uv forks a package by Python version: a [manifest] group's requirement names it without its version
    body = '\n[manifest.dependency-groups]\ndev = [{ name = "dep" }]\n' + "".join(_forked_dep(*f) for f in forks)
    picks = _lock(tmp_path, body).select(target, Request(groups=frozenset({canonicalize_name("dev")})))
    assert [(str(p.name), str(p.version)) for p in picks] == [("dep", version)]


def test_a_requirement_of_a_root_without_a_project_whose_forks_all_miss_is_refused(
    tmp_path: Path, target: Target
) -> None:
    forks = [("1.0", "python_full_version < '3.10'"), ("2.0", "python_full_version == '3.10.*'")]
    body = '\n[manifest.dependency-groups]\ndev = [{ name = "dep" }]\n' + "".join(_forked_dep(*f) for f in forks)
    with pytest.raises(SelectionError) as info:
        _lock(tmp_path, body).select(target, Request(groups=frozenset({canonicalize_name("dev")})))
    assert info.value.reason.endswith("names dep, which the lock has 0 times here; re-lock"), info.value.reason


def test_a_requirement_of_a_root_without_a_project_is_left_out_where_its_marker_does_not_hold(
    tmp_path: Path, target: Target
) -> None:
    group = (
        '{ name = "here", marker = "python_full_version >= \'3.11\'" }, '
        '{ name = "old", marker = "python_full_version < \'3.11\'" }'
    )
    body = f"\n[manifest.dependency-groups]\ndev = [{group}]\n" + _package("here") + _package("old")
    picks = _lock(tmp_path, body).select(target, Request(groups=frozenset({canonicalize_name("dev")})))
    assert _names(picks) == ["here"]
