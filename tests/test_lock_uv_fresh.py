"""A uv.lock whose pyproject.toml files changed since it was made is stale, as ``uv sync --locked`` says.

The cases and uv's verdicts come from the real uv (``tests/data/expected/uv_fresh/regenerate.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tox_venvsync._cli import main
from tox_venvsync._errors import SelectionError
from tox_venvsync._lock import Request
from tox_venvsync._lock._toml import read_toml
from tox_venvsync._lock._uv import read_uv_lock
from tox_venvsync._lock._uv_fresh import stale_reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox_venvsync._target import Target

DATA = Path(__file__).parent / "data"
PROJECTS = DATA / "lockfiles" / "uv_fresh"
RECORDED = json.loads((DATA / "expected" / "uv_fresh" / "verdicts.json").read_text())
REAL = DATA / "lockfiles" / "uv"

#: the differences left to uv (see the module docstring of _uv_fresh): uv calls these stale, we do not
MISSED = {
    "single/source-added": "a source in tool.uv.sources: where a requirement comes from is left to uv",
    "workspace/member-source-not-editable": "a source in tool.uv.sources: where a requirement comes from is left to uv",
    "workspace/virtual-member-package-unset": "a member without [build-system] is built when another member needs "
    "it; only tool.uv.package decides for a member here",
}


def _edited(tmp_path: Path, case: str) -> Path:
    """The case's project with its edits made, in ``tmp_path``; the path of its lock."""
    project = tmp_path / case.partition("/")[0]
    shutil.copytree(PROJECTS / project.name, project)
    for file, old, new in RECORDED["cases"][case]["edits"]:
        text = (project / file).read_text()
        assert old in text, (file, old)
        (project / file).write_text(text.replace(old, new, 1))
    return project / "uv.lock"


def _reason(lock: Path) -> str | None:
    return stale_reason(lock, read_toml(lock)[1], read_toml(lock.parent / "pyproject.toml")[1])


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.xfail(reason=MISSED[case], strict=True)) if case in MISSED else case
        for case in RECORDED["cases"]
    ],
)
def test_a_lock_is_stale_where_uv_says_so(tmp_path: Path, case: str) -> None:
    stale = RECORDED["cases"][case]["stale"]
    reason = _reason(_edited(tmp_path, case))
    assert (reason is not None) == stale, reason


def test_the_recorded_cases_cover_both_verdicts() -> None:
    verdicts = [case["stale"] for case in RECORDED["cases"].values()]
    assert verdicts.count(True) >= 30
    assert verdicts.count(False) >= 15


@pytest.mark.parametrize(
    ("case", "clause"),
    [
        (
            "single/dependency-added",
            "pyproject.toml changed since uv.lock was made (the dependencies name eps, the lock's do not)",
        ),
        ("single/dependency-removed", "(the dependencies no longer name gamma, the lock's do)"),
        ("single/specifier-tightened", "(the dependencies ask for alpha>=1.5, the lock's for alpha>=1)"),
        ("single/extra-added", "(the extras name y, the lock's do not)"),
        ("single/group-added", "(the dependency groups name docs, the lock's do not)"),
        ("single/group-dependency-added", "(the dependency group dev's requirements name gamma, the lock's do not)"),
        ("single/version-bumped", "(the project's version is 0.2.0, the lock's 0.1.0)"),
        ("single/renamed", "(the project is named proj2, the lock's proj)"),
        ("single/requires-python-raised", "(requires-python is >=3.10, the lock's >=3.9)"),
        ("single/constraint-changed", "(tool.uv.constraint-dependencies ask for alpha<2.5, the lock's for alpha<3)"),
        ("single/default-groups-lint", "(tool.uv.default-groups is not the lock's)"),
        (
            "single/package-false",
            "(the project is virtual now (no [build-system], or tool.uv.package = false), the lock's is built)",
        ),
        ("single/conflicts-added", "(tool.uv.conflicts is set now, unlike when the lock was made)"),
        (
            "workspace/member-dependency-added",
            "packages/a/pyproject.toml changed since uv.lock was made (the dependencies name eps, the lock's do not)",
        ),
        (
            "path-deps/path-dependency-added",
            "libs/plain/pyproject.toml changed since uv.lock was made (the dependencies name eps, the lock's do not)",
        ),
        ("path-deps/editable-version-bumped", "(the project's version is 2.1, the lock's 2.0)"),
        (
            "workspace/member-requires-python-raised",
            (
                "a pyproject.toml of the workspace changed since uv.lock was "
                "made (requires-python is >=3.11 and >=3.9, the lock's >=3.10)"
            ),
        ),
    ],
)
def test_the_reason_names_the_file_and_the_difference(tmp_path: Path, case: str, clause: str) -> None:
    reason = _reason(_edited(tmp_path, case))
    assert reason is not None
    assert clause in reason
    assert reason.endswith("), so the lock is stale")


#: the conflicts of ``uv_fresh/conflicts`` (locked by uv 0.13.9), and edits of them with ``uv lock --check``'s verdict
CONFLICTS = 'conflicts = [[{extra="cpu"},{extra="gpu"}], [{group="g1"},{group="g2"}], [{group="g1"}, {extra="gpu"}]]'


@pytest.mark.parametrize(
    ("edited", "stale"),
    [
        pytest.param(
            CONFLICTS.replace('{extra="cpu"},{extra="gpu"}', '{extra="gpu"},{extra="cpu"}'), False, id="in-a-set-moved"
        ),
        pytest.param(
            CONFLICTS.replace('[{extra="cpu"}', '[{package="proj", extra="cpu"}'), False, id="package-spelt-out"
        ),
        pytest.param(CONFLICTS.replace('[{group="g1"}, {extra', '[{group="g2"}, {extra'), True, id="item-changed"),
        pytest.param(CONFLICTS[:-1] + ', [{extra="cpu"},{extra="both"}]]', True, id="set-added"),
        pytest.param(CONFLICTS.replace(', [{group="g1"}, {extra="gpu"}]', ""), True, id="set-removed"),
        pytest.param(
            'conflicts = [[{group="g1"},{group="g2"}], [{extra="cpu"},{extra="gpu"}], [{group="g1"}, {extra="gpu"}]]',
            True,
            id="sets-moved",
        ),
    ],
)
def test_changed_conflicts_make_the_lock_stale_as_uv_says(tmp_path: Path, edited: str, *, stale: bool) -> None:
    """Only conflicts set or not set were compared: a set added, removed or changed kept the lock, which uv refuses.

    Found by QA: ``uv sync --locked`` (tox-uv's default) said the lock needs to be updated; the sync installed it.
    """
    project = tmp_path / "conflicts"
    shutil.copytree(PROJECTS / "conflicts", project)
    assert _reason(project / "uv.lock") is None
    text = (project / "pyproject.toml").read_text()
    assert CONFLICTS in text
    (project / "pyproject.toml").write_text(text.replace(CONFLICTS, edited))
    reason = _reason(project / "uv.lock")
    if stale:
        assert reason == (
            "pyproject.toml changed since uv.lock was made (tool.uv.conflicts declares other conflicts than the "
            "lock's), so the lock is stale"
        )
    else:
        assert reason is None


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.iterdir() if (p / "pyproject.toml").is_file()))
def test_the_real_locks_match_their_pyproject(name: str) -> None:
    # pallets/flask's lock (revision 3) sets tool.uv.default-groups, which uv recorded only from revision 5
    assert _reason(REAL / name / "uv.lock") is None


def test_a_stale_lock_is_refused_and_frozen_installs_it_as_it_is(
    tmp_path: Path, target_of: Callable[[str], Target]
) -> None:
    target = target_of("3.12")
    fresh = read_uv_lock(PROJECTS / "single" / "uv.lock")
    lock = _edited(tmp_path, "single/dependency-added")
    stale = read_uv_lock(lock)
    with pytest.raises(SelectionError) as info:
        stale.select(target, Request())
    assert str(info.value) == (
        f"{lock}: pyproject.toml changed since uv.lock was made (the dependencies name eps, the lock's do not), so "
        "the lock is stale; run uv lock, or add --frozen to sync_flags to install the lock as it is"
    )
    names = [p.name for p in fresh.select(target, Request())]
    assert "alpha" in names
    assert [p.name for p in stale.select(target, Request(frozen=True))] == names


def test_the_command_line_refuses_a_stale_lock_before_the_venv_is_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path
) -> None:
    lock = _edited(tmp_path, "single/version-bumped")
    venv = tmp_path / "venv"
    code = main(["sync", "--lock", str(lock), "--venv", str(venv), "--python", str(python312)])
    assert (code, capsys.readouterr().err) == (
        2,
        (
            f"venvsync: error: {lock}: pyproject.toml changed since uv.lock was made (the project's version is "
            "0.2.0, the lock's 0.1.0), so the lock is stale; run uv lock, or add --frozen to install the lock as "
            "it is\n"
        ),
    )
    assert not venv.exists()
    code = main(["select", "--lock", str(lock), "--python", str(python312), "--frozen"])
    assert code == 0
    assert "alpha==2.0" in capsys.readouterr().out


def test_a_project_with_edges_and_no_recorded_metadata_is_not_compared(tmp_path: Path) -> None:
    # uv leaves [package.metadata] out only when it would be empty: with edges and none, the lock is hand-made (or
    # older than the record) and its requirements cannot be compared; an empty project's can
    lock = tmp_path / "uv.lock"
    head = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
    project = '[[package]]\nname = "app"\nversion = "0.1"\nsource = { editable = "." }\n'
    wheel = '[[package]]\nname = "alpha"\nversion = "1.0"\nsource = { registry = "https://x.example/simple" }\n'
    pyproject = '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["beta"]\n[tool.uv]\npackage = true\n'
    (tmp_path / "pyproject.toml").write_text(pyproject)
    lock.write_text(head + project + 'dependencies = [{ name = "alpha" }]\n\n' + wheel)
    assert _reason(lock) is None
    lock.write_text(head + project + "\n" + wheel)
    assert _reason(lock) == (
        "pyproject.toml changed since uv.lock was made (the dependencies name beta, the lock's do not), so the lock "
        "is stale"
    )


@pytest.mark.parametrize(("revision", "stale"), [("", False), ("revision = 3\n", False), ("revision = 5\n", True)])
def test_an_empty_group_counts_only_in_a_lock_that_records_one(tmp_path: Path, revision: str, *, stale: bool) -> None:
    # uv 0.5 wrote no empty group, and uv 0.13 keeps such a lock when one is added or removed (found by QA)
    lock = tmp_path / "uv.lock"
    lock.write_text(
        f'version = 1\n{revision}requires-python = ">=3.10"\n\n[[package]]\nname = "p6"\nversion = "0.1"\n'
        'source = { editable = "." }\n\n[package.dev-dependencies]\ndev = [{ name = "six" }]\n\n'
        '[package.metadata]\n\n[package.metadata.requires-dev]\ndev = [{ name = "six" }]\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p6"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = []\n'
        '[dependency-groups]\ndev = ["six"]\nempty = []\n[build-system]\nrequires = ["hatchling"]\n'
        'build-backend = "hatchling.build"\n'
    )
    assert (_reason(lock) is not None) == stale
