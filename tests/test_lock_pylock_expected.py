"""The pylock.toml reader against the real installer: every real test lock selects what uv 0.13 installs.

The expected sets in ``tests/data/expected/pylock/`` were recorded with ``uv pip install --dry-run -r pylock.toml``
by ``tests/data/expected/pylock/regenerate.py`` (not run here), for Python 3.10, 3.12 and 3.13.

How uv's flags map onto :class:`Request` (uv 0.13, ``uv pip install`` of a ``pylock.toml``, checked by hand):

- no flag: ``extras`` is empty and ``dependency_groups`` is the lock's ``default-groups``:
  ``Request()``.
- ``--extra X``: ``X`` in ``extras``; ``--all-extras``: every name of the lock's ``extras`` key.
- ``--group G`` (repeatable): ``dependency_groups`` is exactly the named groups, the lock's ``default-groups``
  are *replaced*, not added to (``--group tests`` on Perdoo installs the tests group without the ``default``
  group). Our ``Request`` adds ``groups`` to the defaults unless ``default_groups=False``, so any ``--group``
  maps to ``Request(groups={G, ...}, default_groups=False)``; "defaults plus tests" is uv's
  ``--group default --group tests``. ``uv pip`` has no ``--no-default-groups`` / ``--only-group``: naming groups
  is its no-default-groups style, and it cannot express "no group at all" for a lock with default groups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.utils import canonicalize_name

from tox_venvsync._errors import SelectionError
from tox_venvsync._lock import Request
from tox_venvsync._lock._pylock import PylockFile, read_pylock

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tox_venvsync._target import Target

DATA = Path(__file__).parent / "data"
LOCKS = DATA / "lockfiles"
EXPECTED = DATA / "expected" / "pylock"
PYTHONS = ("3.10", "3.12", "3.13")

#: cases where our selection deliberately differs from uv's: case name suffix -> why
DIVERGENT = {
    "unknown-extra": (
        "uv 0.13 ignores an --extra the lock's `extras` key does not list (and the single-use comfy-cli export "
        "has no `extras` key at all) and installs the rest; we raise SelectionError naming the lock's extras. "
        "PEP 751's installation steps do not say what to do with an unknown name (packaging.pylock.select does "
        "not check either), so both conform; we refuse so a typo cannot silently install less"
    ),
    "unknown-group": (
        "uv 0.13 ignores a --group the lock's `dependency-groups` does not list, and since naming any group "
        "replaces default-groups it installs *nothing* of Perdoo/ldlite (and everything of the comfy-cli "
        "export, which has no group markers); we raise SelectionError naming the lock's groups. PEP 751 is "
        "silent on unknown names (packaging does not check), so both conform; we refuse so a typo cannot "
        "empty the env"
    ),
}


def _recorded() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXPECTED.glob("*.json"))}


RECORDED = _recorded()


#: locks PDM wrote: their ``default`` group holds the project's own dependencies, which we always select
PDM_LOCKS = frozenset({"Buried-In-Code__Perdoo", "Five-Colleges-Incorporated__ldlite"})
#: why naming groups without ``default`` differs from uv on those locks
PDM_DEFAULT = (
    "uv 0.13 replaces default-groups with the named groups, so `--group tests` on a PDM lock installs the tests "
    "group without the project's own dependencies (PDM's `default` group); we keep `default` selected, as PDM "
    "itself does (`pdm sync -G tests`) and as our pdm.lock reader does, because a tox environment naming its "
    "groups still needs what the project needs (test_a_pdm_lock_keeps_its_default_group_when_groups_are_named)"
)


def _param(case: str) -> Any:  # noqa: ANN401  # pytest's ParameterSet is not public
    for suffix, reason in DIVERGENT.items():
        if case.endswith(f"-{suffix}"):
            return pytest.param(case, marks=pytest.mark.xfail(strict=True, raises=SelectionError, reason=reason))
    recorded = RECORDED[case]
    flags = recorded["flags"]
    named = {flags[i + 1] for i, flag in enumerate(flags) if flag == "--group"}
    if recorded["lock"] in PDM_LOCKS and named and "default" not in named:
        return pytest.param(case, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=PDM_DEFAULT))
    return case


_LOCKS: dict[str, PylockFile] = {}


def _lock(name: str) -> PylockFile:
    if name not in _LOCKS:
        _LOCKS[name] = read_pylock(LOCKS / f"{name}__pylock.toml")
    return _LOCKS[name]


def _request(flags: Sequence[str], lock: PylockFile) -> Request:
    """The :class:`Request` equal to uv's flags (the mapping is in the module docstring)."""
    extras: set[str] = set()
    groups: set[str] = set()
    named_groups = False
    words = iter(flags)
    for flag in words:
        if flag == "--extra":
            extras.add(canonicalize_name(next(words)))
        elif flag == "--all-extras":
            extras.update(canonicalize_name(extra) for extra in lock.pylock.extras or ())
        elif flag == "--group":
            groups.add(canonicalize_name(next(words)))
            named_groups = True
        else:  # pragma: no cover - regenerate.py uses only these
            pytest.fail(f"unmapped uv flag {flag}")
    return Request(extras=frozenset(extras), groups=frozenset(groups), default_groups=not named_groups)


def test_every_lock_and_python_has_expected_sets() -> None:
    locks = {path.name.removesuffix("__pylock.toml") for path in LOCKS.glob("*__pylock.toml")}
    pairs = {(lock, python) for lock in locks for python in PYTHONS}
    assert {(case["lock"], case["python"]) for case in RECORDED.values()} == pairs
    for name, case in RECORDED.items():
        assert name == f"{case['lock']}-py{case['python']}-{case['case']}"
        assert case["uv"].startswith("uv 0.13.")
    assert len(RECORDED) >= 70


@pytest.mark.parametrize("case", [_param(case) for case in RECORDED])
def test_selection_matches_uv(target_of: Callable[[str], Target], case: str) -> None:
    recorded = RECORDED[case]
    lock = _lock(recorded["lock"])
    target = target_of(recorded["python"])
    request = _request(recorded["flags"], lock)
    if "error" in recorded:  # uv refused (requires-python, environments): we must refuse too
        with pytest.raises(SelectionError):
            lock.select(target, request)
        return
    picks = lock.select(target, request)
    assert len({pick.name for pick in picks}) == len(picks)
    # registry packages: name and version; directory entries (the comfy-cli project): uv prints no version
    registry = {str(pick.name): str(pick.version) for pick in picks if pick.kind != "directory"}
    assert registry == recorded["packages"]
    directories = {str(pick.name): pick for pick in picks if pick.kind == "directory"}
    assert sorted(directories) == sorted(recorded["direct"])
    for name, url in recorded["direct"].items():
        assert url == "{lockdir}"  # directory = {path = "."}: the lock's own directory
        source = directories[name].directory
        assert source is not None
        assert source.path == lock.path.parent.resolve()
        assert source.editable


@pytest.mark.parametrize(
    ("lock_name", "group"), [("Buried-In-Code__Perdoo", "tests"), ("Five-Colleges-Incorporated__ldlite", "test")]
)
@pytest.mark.parametrize("python", PYTHONS)
def test_a_pdm_lock_keeps_its_default_group_when_groups_are_named(
    target_of: Callable[[str], Target], lock_name: str, group: str, python: str
) -> None:
    # a group named without the defaults selects what uv selects for `--group default --group <group>`
    recorded = RECORDED[f"{lock_name}-py{python}-group-default-{group}"]
    assert recorded["flags"] == ["--group", "default", "--group", group]
    picks = _lock(lock_name).select(target_of(python), Request(groups=frozenset({group}), default_groups=False))
    assert {str(pick.name): str(pick.version) for pick in picks} == recorded["packages"]
