"""Tests of the plan: what a sync changes to make the venv equal the selection."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tox_venvsync._installed import OUR_METADATA, InstalledDist
from tox_venvsync._lock import Artifact, Pick, VcsSource
from tox_venvsync._plan import SEED_PACKAGES, Action, Plan, Step, Wanted, make_plan
from tox_venvsync._values import replace


@dataclass(frozen=True)
class W:
    """A wanted package in a table row."""

    name: str
    version: str | None
    direct_url: str | None = None
    content: str | None = None
    #: the URL the lock gives its file, and the file's sha256
    url: str | None = None
    sha256: str | None = None
    #: the path the lock gives its file instead of a URL (a pylock.toml's local wheel)
    path: str | None = None


@dataclass(frozen=True)
class I:  # noqa: E742  # short on purpose: the table reads better
    """An installed distribution in a table row."""

    name: str
    version: str
    direct_url: str | None = None
    content: str | None = None
    #: the archive's sha256 its direct_url.json records
    sha256: str | None = None
    #: ``algorithm:digest`` of the file a sync installed it from, as the sync notes it
    artifact: str | None = None
    #: its ``venvsync.json`` as it is (one an older build wrote)
    noted: str | None = None


def _wanted(item: W) -> Wanted:
    pick = Pick(
        name=canonicalize_name(item.name),
        version=None if item.version is None else Version(item.version),
        kind="wheel",
        artifact=None
        if item.url is None and item.path is None
        else Artifact(
            filename="a-1.0-py3-none-any.whl",
            url=item.url,
            path=None if item.path is None else Path(item.path),
            size=None,
            hashes={"sha256": item.sha256} if item.sha256 else {},
        ),
    )
    return Wanted(pick=pick, direct_url=item.direct_url, content=item.content)


def _installed(site: Path, item: I) -> InstalledDist:
    dist_info = site / f"{item.name}-{item.version}.dist-info"
    dist_info.mkdir(parents=True)
    if item.direct_url is not None:
        info = {"hashes": {"sha256": item.sha256}} if item.sha256 else {}
        (dist_info / "direct_url.json").write_text(json.dumps({"url": item.direct_url, "archive_info": info}))
    ours = {key: value for key, value in (("content", item.content), ("artifact", item.artifact)) if value}
    if ours:
        (dist_info / OUR_METADATA).write_text(json.dumps({"by": "test", **ours}))
    if item.noted is not None:
        (dist_info / OUR_METADATA).write_text(item.noted)
    try:
        version: Version | None = Version(item.version)
    except ValueError:
        version = None
    return InstalledDist(name=canonicalize_name(item.name), version=version, dist_info=dist_info)


def _by_name(dists: list[InstalledDist]) -> dict[NormalizedName, list[InstalledDist]]:
    found: dict[NormalizedName, list[InstalledDist]] = {}
    for dist in dists:
        found.setdefault(dist.name, []).append(dist)
    return found


TABLE = [
    pytest.param([W("a", "1.0")], [], (), True, [("a", "install", "1.0", None)], id="install"),
    pytest.param([W("a", "2.0")], [I("a", "1.0")], (), True, [("a", "upgrade", "2.0", "1.0")], id="upgrade"),
    pytest.param([W("a", "1.0")], [I("a", "2.0")], (), True, [("a", "downgrade", "1.0", "2.0")], id="downgrade"),
    pytest.param([W("a", "1.0")], [I("a", "1.0")], (), True, [("a", "keep", "1.0", "1.0")], id="keep"),
    pytest.param([W("a", "1.0")], [I("a", "1.0.0")], (), True, [("a", "keep", "1.0", "1.0.0")], id="keep-equal"),
    pytest.param([], [I("b", "1.0")], (), True, [("b", "remove", "1.0", "1.0")], id="remove"),
    pytest.param(
        [W("a", "1.0", direct_url="file:///new/a.whl")],
        [I("a", "1.0", direct_url="file:///old/a.whl")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-direct-url-changed",
    ),
    pytest.param(
        [W("a", "1.0")], [I("a", "1.0", direct_url="file:///w/a.whl")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-from-index-now",
    ),
    pytest.param(
        [W("a", "1.0", direct_url="file:///w/a.whl")], [I("a", "1.0", direct_url="file:///w/a.whl")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-same-direct-url",
    ),
    pytest.param(  # pip install <the lock's URL> records it as a direct URL: the same file, as uv pip sync keeps it
        [W("a", "1.0", url="file:///w/a.whl#sha256=00")], [I("a", "1.0", direct_url="file:///w/a.whl")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-installed-from-the-locked-url",
    ),
    pytest.param(
        [W("a", "1.0", url="https://files.example/a.whl")], [I("a", "1.0", direct_url="file:///w/a.whl")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-installed-from-another-url",
    ),
    pytest.param(
        [W("a", "1.0", url="file:///w/a.whl", sha256="AA")],
        [I("a", "1.0", direct_url="file:///w/a.whl", sha256="aa")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-installed-from-the-locked-url-and-file",
    ),
    pytest.param(  # the URL served another file when it was installed: the hash it recorded tells
        [W("a", "1.0", url="file:///w/a.whl", sha256="bb")],
        [I("a", "1.0", direct_url="file:///w/a.whl", sha256="aa")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-installed-from-the-locked-url-another-file",
    ),
    pytest.param(  # a path the lock names is no direct URL: one pip installed from a URL is another source
        [W("a", "1.0", path="/w/a.whl")], [I("a", "1.0", direct_url="file:///w/a.whl")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-locked-path-installed-from-a-url",
    ),
    pytest.param(  # a wheel rebuilt and uploaded again under the same version: the file we installed from tells
        [W("a", "1.0", url="https://files.example/a.whl", sha256="BB")], [I("a", "1.0", artifact="sha256:aa")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-installed-from-another-file",
    ),
    pytest.param(  # the digest as the lock spells it (upper case) is the one we noted
        [W("a", "1.0", url="https://files.example/a.whl", sha256="BB")], [I("a", "1.0", artifact="sha256:bb")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-installed-from-the-locked-file",
    ),
    pytest.param(  # installed by another tool: nothing tells which file, its version is trusted
        [W("a", "1.0", url="https://files.example/a.whl", sha256="bb")], [I("a", "1.0")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-file-unknown",
    ),
    pytest.param(  # installed by an older build, which noted no file (df772cc wrote this venvsync.json): after an
        # upgrade, a wheel of the same version from another file than the lock's (its other build) stayed; found by QA
        [W("a", "1.0", url="https://files.example/a.whl", sha256="bb")],
        [I("a", "1.0", noted='{"by": "0.1.0", "content": null}')],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-file-an-older-build-did-not-note",
    ),
    pytest.param(  # ... and one that notes the lock's file is kept
        [W("a", "1.0", url="https://files.example/a.whl", sha256="bb")],
        [I("a", "1.0", noted='{"by": "0.1.0", "content": null, "artifact": "sha256:bb"}')],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-file-noted",
    ),
    pytest.param(  # a tree rebuilt on every run is compared by its contents, not by the file the lock names
        [W("a", "1.0", content="same", url="https://files.example/a.whl", sha256="bb")],
        [I("a", "1.0", content="same", artifact="sha256:aa")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-same-content-other-file",
    ),
    pytest.param(
        [W("a", "1.0", content="new")], [I("a", "1.0", content="old")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-content-changed",
    ),
    pytest.param(
        [W("a", "1.0", content="same")], [I("a", "1.0", content="same")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-same-content",
    ),
    pytest.param(
        [W("a", "1.0", content="new")], [I("a", "1.0")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="reinstall-content-unknown",
    ),
    pytest.param(
        [W("a", "1.0")], [I("a", "1.0", content="whatever")],
        (), True, [("a", "keep", "1.0", "1.0")], id="keep-content-not-wanted",
    ),
    pytest.param(
        [W("a", "1.0")], [I("a", "1.0"), I("A", "2.0")],
        (), True, [("a", "reinstall", "1.0", "1.0")], id="duplicates-reinstall",
    ),
    pytest.param([], [I("b", "1.0"), I("B", "2.0")], (), True, [("b", "remove", "1.0", "1.0")], id="duplicates-remove"),
    pytest.param([W("a", "1.0")], [I("a", "1.0")], ("a",), True, [("a", "reinstall", "1.0", "1.0")], id="suspect"),
    pytest.param([W("a", "1.0")], [], ("a",), True, [("a", "install", "1.0", None)], id="suspect-missing"),
    pytest.param([W("a", None)], [I("a", "1.0")], (), True, [("a", "keep", None, "1.0")], id="unversioned-same-source"),
    pytest.param(
        [W("a", None, content="new")], [I("a", "1.0", content="old")],
        (), True, [("a", "reinstall", None, "1.0")], id="unversioned-tree-changed",
    ),
    pytest.param([W("a", "1.0")], [I("a", "bogus")], (), True, [("a", "reinstall", "1.0", None)], id="no-version"),
    pytest.param(
        [W("a", "1.0")],
        [I("pip", "24.0"), I("setuptools", "70.0"), I("wheel", "0.43"), I("a", "1.0")],
        (), True,
        [("a", "keep", "1.0", "1.0"), ("pip", "keep", "24.0", "24.0"),
         ("setuptools", "keep", "70.0", "70.0"), ("wheel", "keep", "0.43", "0.43")],
        id="seeds-kept",
    ),
    pytest.param(
        [W("pip", "25.0")], [I("pip", "24.0"), I("wheel", "0.43")], (), True,
        [("pip", "upgrade", "25.0", "24.0"), ("wheel", "keep", "0.43", "0.43")],
        id="seed-locked",
    ),
    pytest.param([], [I("pip", "24.0")], ("pip",), True, [("pip", "remove", "24.0", "24.0")], id="seed-suspect"),
    pytest.param(
        [W("a", "1.0")], [I("a", "1.0"), I("extra", "3.0")], (), False,
        [("a", "keep", "1.0", "1.0"), ("extra", "keep", "3.0", "3.0")], id="not-exact-keeps-extraneous",
    ),
    pytest.param(
        [W("a", "2.0")], [I("a", "1.0"), I("extra", "3.0")], ("extra",), False,
        [("a", "upgrade", "2.0", "1.0"), ("extra", "remove", "3.0", "3.0")], id="not-exact-suspect-removed",
    ),
    pytest.param(
        [W("zz", "1"), W("b", "1"), W("mm", "1")], [I("c", "1"), I("a", "1")], (), True,
        [("a", "remove", "1", "1"), ("b", "install", "1", None), ("c", "remove", "1", "1"),
         ("mm", "install", "1", None), ("zz", "install", "1", None)],
        id="sorted-by-name",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("wanted", "installed", "suspect", "exact", "expected"), TABLE)
def test_make_plan(  # noqa: PLR0913, PLR0917  # one argument per column of the table
    tmp_path: Path,
    wanted: list[W],
    installed: list[I],
    suspect: tuple[str, ...],
    exact: bool,  # noqa: FBT001  # a column of the table
    expected: list[tuple[str, str, str | None, str | None]],
) -> None:
    dists = [_installed(tmp_path, item) for item in installed]
    plan = make_plan([_wanted(w) for w in wanted], _by_name(dists), suspect=suspect, exact=exact)
    got = [
        (
            step.name,
            step.action.value,
            None if step.version is None else str(step.version),
            None if step.old_version is None else str(step.old_version),
        )
        for step in plan.steps
    ]
    assert got == expected
    for step in plan.steps:
        assert step.old == tuple(d for d in dists if d.name == step.name)
        wanted_names = {canonicalize_name(w.name) for w in wanted}
        assert (step.wanted is not None) is (step.name in wanted_names)


def test_plan_views(tmp_path: Path) -> None:
    dists = [_installed(tmp_path, item) for item in (I("keep", "1"), I("old", "1"), I("gone", "1"), I("pip", "1"))]
    wanted = [_wanted(W("keep", "1")), _wanted(W("old", "2")), _wanted(W("new", "1"))]
    plan = make_plan(wanted, _by_name(dists))
    assert [s.name for s in plan.steps] == ["gone", "keep", "new", "old", "pip"]
    assert [s.name for s in plan.changes] == ["gone", "new", "old"]
    assert [s.name for s in plan.to_remove] == ["gone", "old"]
    assert [s.name for s in plan.to_install] == ["new", "old"]
    assert [s.name for s in plan.of(Action.KEEP)] == ["keep", "pip"]
    assert [s.name for s in plan.of(Action.INSTALL, Action.REMOVE)] == ["gone", "new"]
    assert plan.of() == []


def test_last_wanted_entry_of_a_name_wins() -> None:
    plan = make_plan([_wanted(W("a", "1")), _wanted(W("A", "2"))], {})
    assert [(s.name, s.version) for s in plan.steps] == [("a", Version("2"))]


def test_empty_plan() -> None:
    assert make_plan([], {}) == Plan(steps=())
    assert Step(action=Action.INSTALL, name=canonicalize_name("x"), version=None).old_version is None


def test_seed_packages() -> None:
    assert frozenset({"pip", "setuptools", "wheel"}) == SEED_PACKAGES


# --- property: applying a plan reaches a fixed point --------------------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "c", "d-e", "pip", "setuptools", "wheel"])
_VERSIONS = st.sampled_from(["1", "1.0.1", "2", "2.0rc1", "10"])


@settings(max_examples=150, deadline=None)
@given(
    wanted=st.dictionaries(_NAMES, _VERSIONS, max_size=7),
    installed=st.dictionaries(_NAMES, st.lists(_VERSIONS, min_size=1, max_size=2, unique=True), max_size=7),
    suspect=st.frozensets(_NAMES, max_size=3),
    exact=st.booleans(),
)
def test_applied_plan_has_no_changes(
    wanted: dict[str, str],
    installed: dict[str, list[str]],
    suspect: frozenset[str],
    exact: bool,  # noqa: FBT001  # drawn by hypothesis
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        before = _by_name([_installed(site / "before", I(n, v)) for n, versions in installed.items() for v in versions])
        wants = [_wanted(W(n, v)) for n, v in wanted.items()]
        plan = make_plan(wants, before, suspect=suspect, exact=exact)

        assert {s.name for s in plan.steps} == set(wanted) | set(installed)
        kept = {s.name for s in plan.of(Action.KEEP)}
        removed = {s.name for s in plan.of(Action.REMOVE)}
        assert removed == {
            n for n in installed if n not in wanted and (n in suspect or (exact and n not in SEED_PACKAGES))
        }
        assert kept.isdisjoint(suspect)

        # apply: wanted packages at their versions, kept distributions untouched, everything else gone
        after = _by_name(
            [_installed(site / "after", I(n, v)) for n, v in wanted.items()]
            + [dist for name in kept - set(wanted) for dist in before[canonicalize_name(name)]]
        )
        assert set(after) == set(wanted) | (kept - set(wanted))
        again = make_plan(wants, after, suspect=(), exact=exact)
        assert again.changes == []
        assert len(again.steps) == len(after)


def test_what_deps_installed_on_top_is_kept_and_not_counted(tmp_path: Path) -> None:
    # tox's deps installed "extra" on top of the lock: an exact sync keeps it, and says nothing of it
    installed = [I("a", "1.0"), I("extra", "3.0"), I("gone", "1.0"), I("pip", "24.0")]
    dists = _by_name([_installed(tmp_path, item) for item in installed])
    plan = make_plan([_wanted(W("a", "1.0"))], dists, keep={"extra"})
    assert [(s.name, s.action) for s in plan.steps] == [
        ("a", Action.KEEP),
        ("extra", Action.KEEP),
        ("gone", Action.REMOVE),
        ("pip", Action.KEEP),
    ]
    assert plan.on_top == frozenset({"extra"})  # not the seed pip, nor what is removed
    assert plan.summary() == "synced 2 packages: 1 removed"  # a and pip


def test_what_deps_installed_that_an_interrupted_sync_was_changing_is_removed(tmp_path: Path) -> None:
    dists = _by_name([_installed(tmp_path, I("extra", "3.0"))])
    plan = make_plan([], dists, keep={"extra"}, suspect={"extra"})
    assert [(s.name, s.action) for s in plan.steps] == [("extra", Action.REMOVE)]
    assert plan.on_top == frozenset()


def test_plan_lines_and_summary(tmp_path: Path) -> None:
    installed = [I("up", "1"), I("down", "2"), I("same", "1", content="old"), I("gone", "1"), I("kept", "1")]
    dists = _by_name([_installed(tmp_path, item) for item in installed])
    wanted = [W("new", "1"), W("up", "2"), W("down", "1"), W("same", "1", content="new"), W("kept", "1")]
    plan = make_plan([_wanted(w) for w in wanted], dists)
    assert plan.lines() == [
        "downgrade: down 2 -> 1",
        "remove: gone 1",
        "install: new 1",
        "reinstall: same 1 -> 1 (rebuilt with changed contents)",
        "upgrade: up 1 -> 2",
        "keep 1 package",
    ]
    assert plan.summary() == "synced 5 packages: 1 installed, 1 upgraded, 1 downgraded, 1 reinstalled, 1 removed"
    assert make_plan([_wanted(W("kept", "1"))], {}).summary() == "synced 1 package: 1 installed"
    in_sync = make_plan([_wanted(W("kept", "1"))], _by_name([dists[canonicalize_name("kept")][0]]))
    assert (in_sync.summary(), in_sync.lines()) == ("synced 1 package: nothing changed", ["keep 1 package"])


def test_a_step_without_a_version_shows_its_kind() -> None:
    vcs = Pick(name=canonicalize_name("a"), version=None, kind="vcs", artifact=None)
    assert Step(action=Action.INSTALL, name=vcs.name, version=None, wanted=Wanted(pick=vcs)).describe() == (
        "install: a (vcs)"
    )
    assert Step(action=Action.INSTALL, name=vcs.name, version=None).describe() == "install: a (unknown)"


def _vcs_installed(site: Path, commit: str) -> InstalledDist:
    dist_info = site / "a-1.0.dist-info"
    dist_info.mkdir(parents=True)
    direct = {"url": "https://git.example/a", "vcs_info": {"vcs": "git", "commit_id": commit}}
    (dist_info / "direct_url.json").write_text(json.dumps(direct))
    return InstalledDist(name=canonicalize_name("a"), version=Version("1.0"), dist_info=dist_info)


@pytest.mark.parametrize(("installed", "action"), [("1" * 40, Action.KEEP), ("2" * 40, Action.REINSTALL)])
def test_a_checkout_is_kept_at_the_locked_commit_only(tmp_path: Path, installed: str, action: Action) -> None:
    vcs = VcsSource(type="git", url="https://git.example/a", commit="1" * 40)
    pick = Pick(name=canonicalize_name("a"), version=Version("1.0"), kind="vcs", artifact=None, vcs=vcs)
    wanted = Wanted(pick=pick, direct_url="https://git.example/a")
    assert wanted.source_id == f"git+https://git.example/a@{'1' * 40}"
    plan = make_plan([wanted], {pick.name: [_vcs_installed(tmp_path, installed)]})
    assert [s.action for s in plan.steps] == [action]


def test_source_ids_of_editable_and_subdirectory_installs() -> None:
    pick = Pick(name=canonicalize_name("a"), version=None, kind="directory", artifact=None)
    assert Wanted(pick=pick).source_id is None  # from an index
    assert Wanted(pick=pick, direct_url="file:///p", editable=True).source_id == "editable+file:///p"
    within = Pick(name=pick.name, version=None, kind="archive", artifact=None, subdirectory="sub")
    assert Wanted(pick=within, direct_url="file:///a.zip").source_id == "file:///a.zip#subdirectory=sub"
    assert Wanted(pick=within).source_id is None


def test_another_project_of_the_locked_archive_is_reinstalled(tmp_path: Path) -> None:
    # pip installed the archive's top project from the locked URL; the lock wants the one in its subdirectory
    url = "https://files.example/a.zip"
    artifact = Artifact(filename="a.zip", url=url, path=None, size=None, hashes={})
    pick = Pick(
        name=canonicalize_name("a"), version=Version("1.0"), kind="archive", artifact=artifact, subdirectory="s"
    )
    installed = _installed(tmp_path, I("a", "1.0", direct_url=url))
    plan = make_plan([Wanted(pick=pick, direct_url=url)], {pick.name: [installed]})
    assert [s.action for s in plan.steps] == [Action.REINSTALL]


def _dist(site: Path, direct_url: dict[str, object] | None, name: str = "demo") -> InstalledDist:
    """demo 0.1.0 installed in ``site`` (one more ``.dist-info`` per call), with a ``direct_url.json`` if given."""
    dist_info = Path(tempfile.mkdtemp(dir=site)) / f"{name}-0.1.0.dist-info"
    dist_info.mkdir()
    if direct_url is not None:
        (dist_info / "direct_url.json").write_text(json.dumps(direct_url))
    return InstalledDist(name=canonicalize_name(name), version=Version("0.1.0"), dist_info=dist_info)


_TREE = {"url": "file:///src/demo", "dir_info": {"editable": False}}
_EDITABLE = {"url": "file:///src/demo", "dir_info": {"editable": True}}
_COMMIT = {"url": "https://git.example/demo", "vcs_info": {"vcs": "git", "commit_id": "1" * 40}}
_DEMO = Pick(name=canonicalize_name("demo"), version=Version("0.1.0"), kind="directory", artifact=None)
_AT_COMMIT = VcsSource(type="git", url="https://git.example/demo", commit="2" * 40)


@pytest.mark.parametrize(
    ("wanted", "installed", "reason"),
    [
        pytest.param(
            Wanted(pick=_DEMO, direct_url="file:///src/demo", from_directory=True),
            [_EDITABLE],
            "installed editable; the lock wants it built",
            id="editable-to-built",
        ),
        pytest.param(
            Wanted(pick=_DEMO, direct_url="file:///src/demo", editable=True, from_directory=True),
            [_TREE],
            "installed not editable; the lock wants it editable",
            id="built-to-editable",
        ),
        pytest.param(
            Wanted(pick=_DEMO, direct_url="https://files.example/demo-0.1.0.tar.gz"),
            [None],
            "installed from an index; the lock wants it from https://files.example/demo-0.1.0.tar.gz",
            id="index-to-url",
        ),
        pytest.param(
            Wanted(pick=_DEMO),
            [_EDITABLE],
            "installed editable from file:///src/demo; the lock wants it from an index",
            id="editable-to-index",
        ),
        pytest.param(
            Wanted(pick=replace(_DEMO, kind="vcs", vcs=_AT_COMMIT), direct_url=_AT_COMMIT.url),
            [_COMMIT],
            f"installed from a different commit; the lock wants {'2' * 40}",
            id="another-commit",
        ),
        pytest.param(
            Wanted(pick=_DEMO, direct_url="file:///src/demo", from_directory=True, content="new"),
            [_TREE],
            "rebuilt with changed contents",
            id="contents",
        ),
        pytest.param(Wanted(pick=_DEMO), [None, None], "2 copies installed", id="twice"),
    ],
)
def test_a_reinstall_of_the_same_version_says_why(
    tmp_path: Path, wanted: Wanted, installed: list[dict[str, object] | None], reason: str
) -> None:
    # "reinstall: demo 0.1.0 -> 0.1.0" did not say why the same version is installed again (found by QA); the line
    # keeps its start, as quoted before, and --json adds a "reason" to the entry (its other keys as they were)
    plan = make_plan([wanted], {canonicalize_name("demo"): [_dist(tmp_path, found) for found in installed]})
    assert plan.lines() == [f"reinstall: demo 0.1.0 -> 0.1.0 ({reason})", "keep 0 packages"]
    assert plan.as_json()["install"] == [
        {"name": "demo", "version": "0.1.0", "action": "reinstall", "from": "0.1.0", "reason": reason}
    ]


def test_the_reinstall_of_a_package_an_interrupted_sync_was_changing_says_so(tmp_path: Path) -> None:
    plan = make_plan([Wanted(pick=_DEMO)], {canonicalize_name("demo"): [_dist(tmp_path, None)]}, suspect={"demo"})
    assert plan.lines() == ["reinstall: demo 0.1.0 -> 0.1.0 (an interrupted sync was changing it)", "keep 0 packages"]


def test_other_changes_have_no_reason_in_their_json(tmp_path: Path) -> None:
    plan = make_plan([_wanted(W("demo", "0.2.0"))], {canonicalize_name("demo"): [_dist(tmp_path, None)]})
    assert plan.lines() == ["upgrade: demo 0.1.0 -> 0.2.0", "keep 0 packages"]
    assert plan.as_json()["install"] == [{"name": "demo", "version": "0.2.0", "action": "upgrade", "from": "0.1.0"}]


def test_a_reinstall_from_another_file_of_the_same_version_says_so(tmp_path: Path) -> None:
    wanted = _wanted(W("a", "1.0", url="https://files.example/a.whl", sha256="bb"))
    plan = make_plan([wanted], _by_name([_installed(tmp_path, I("a", "1.0", artifact="sha256:aa"))]))
    assert plan.lines() == [
        "reinstall: a 1.0 -> 1.0 (installed from a file whose hash is not the lock's)",
        "keep 0 packages",
    ]
