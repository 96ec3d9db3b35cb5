"""Remembered selections: the same picks as a fresh selection, asked again whenever an input changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tox_venvsync._errors import SelectionError
from tox_venvsync._lock import read_lock
from tox_venvsync._lock._memo import remembered_selection
from tox_venvsync._lock._request import Request
from tox_venvsync._lock._toml import memo_dir

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tox_venvsync._lock._model import Pick
    from tox_venvsync._target import Target

DATA = Path(__file__).parent / "data" / "lockfiles"
LOCKS = {
    "uv": DATA / "uv" / "pallets__flask" / "uv.lock",
    "uv-workspace": DATA / "uv" / "synthetic__workspace" / "uv.lock",
    "poetry": DATA / "poetry" / "webapp" / "poetry.lock",
    "pdm": DATA / "pdm" / "paths" / "pdm.lock",
    "pylock": DATA / "Buried-In-Code__Perdoo__pylock.toml",
}
FORMATS = {"uv": "uv", "uv-workspace": "uv", "poetry": "poetry", "pdm": "pdm", "pylock": "pylock"}


class Counting:
    """A selection that counts how often it really ran."""

    def __init__(self, lock: Path, lock_format: str, target: Target, request: Request) -> None:
        self.lock, self.format, self.target, self.request = lock, lock_format, target, request
        self.calls = 0

    def __call__(self) -> Sequence[Pick]:
        self.calls += 1
        return read_lock(self.lock, self.format).select(self.target, self.request)

    def remembered(self, memo: Path, *, write: bool = True) -> Sequence[Pick]:
        return remembered_selection(
            memo,
            lock=self.lock,
            lock_format=self.format,
            request=self.request,
            target=self.target,
            select=self,
            write=write,
        )


def _copy(lock: Path, into: Path) -> Path:
    into.mkdir()
    for name in (lock.name, "pyproject.toml"):
        if (lock.parent / name).is_file():
            shutil.copy(lock.parent / name, into / name)
    return into / lock.name


@pytest.mark.parametrize("case", list(LOCKS))
def test_remembered_picks_equal_a_fresh_selection(
    tmp_path: Path, case: str, target_of: Callable[[str], Target]
) -> None:
    lock = _copy(LOCKS[case], tmp_path / "project")
    selection = Counting(lock, FORMATS[case], target_of("3.12"), Request())
    fresh = selection()
    assert selection.remembered(tmp_path / "memo") == fresh  # asked and kept
    assert selection.remembered(tmp_path / "memo") == fresh  # read back
    assert selection.calls == 2  # the fresh one and the first remembered one


def test_every_input_is_part_of_the_key(tmp_path: Path, target_of: Callable[[str], Target]) -> None:
    lock = _copy(LOCKS["uv"], tmp_path / "project")
    selection = Counting(lock, "uv", target_of("3.12"), Request())
    memo = tmp_path / "memo"
    selection.remembered(memo)
    assert selection.calls == 1
    selection.remembered(memo)
    assert selection.calls == 1

    changes: list[Callable[[], object]] = [
        lambda: lock.write_text(lock.read_text() + "\n"),  # the lock's bytes
        lambda: (lock.parent / "pyproject.toml").write_text((lock.parent / "pyproject.toml").read_text() + "\n"),
        lambda: setattr(selection, "request", Request(groups=frozenset({"dev"}))),
        lambda: setattr(selection, "target", target_of("3.13")),
        (lock.parent / "pyproject.toml").unlink,
    ]
    for number, change in enumerate(changes, start=2):
        change()
        selection.remembered(memo)
        assert selection.calls == number
        selection.remembered(memo)
        assert selection.calls == number


@pytest.mark.parametrize("change", ["tox_venvsync._state._own_modules_digest", "packaging.__version__"])
def test_another_build_selects_again(
    tmp_path: Path, target_of: Callable[[str], Target], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # the key named the version and the lock readers' files; an edit of the selection outside them (an editable
    # checkout's _selection.py or _target.py), another build of one version, or an upgrade of packaging, which
    # evaluates the markers and tags, was answered from the older selection
    lock = _copy(LOCKS["uv"], tmp_path / "project")
    selection = Counting(lock, "uv", target_of("3.12"), Request())
    selection.remembered(tmp_path / "memo")
    selection.remembered(tmp_path / "memo")
    assert selection.calls == 1
    monkeypatch.setattr(change, (lambda: "another") if change.endswith("digest") else "99.0")
    selection.remembered(tmp_path / "memo")
    assert selection.calls == 2


def test_the_workspace_member_is_part_of_the_key(tmp_path: Path, target_of: Callable[[str], Target]) -> None:
    lock = DATA / "uv" / "synthetic__members" / "uv.lock"  # read in place: its members' paths are relative to it
    selection = Counting(lock, "uv", target_of("3.12"), Request())
    root = selection.remembered(tmp_path / "memo")
    selection.request = Request(project="libs/one")
    member = selection.remembered(tmp_path / "memo")
    assert selection.calls == 2
    assert {str(pick.name) for pick in member} == {"fancy-dep", "helper", "lib-one", "lintdep"}
    assert member != root
    assert selection.remembered(tmp_path / "memo") == member
    assert selection.calls == 2


def test_errors_are_not_remembered(tmp_path: Path, target_of: Callable[[str], Target]) -> None:
    lock = _copy(LOCKS["uv"], tmp_path / "project")
    selection = Counting(lock, "uv", target_of("3.12"), Request(extras=frozenset({"nope"})))
    for calls in (1, 2):
        with pytest.raises(SelectionError, match="nope"):
            selection.remembered(tmp_path / "memo")
        assert selection.calls == calls


def test_requirements_and_dry_runs_keep_nothing(tmp_path: Path, target_of: Callable[[str], Target]) -> None:
    lock = _copy(LOCKS["uv"], tmp_path / "project")
    selection = Counting(lock, "uv", target_of("3.12"), Request())
    selection.remembered(tmp_path / "memo", write=False)
    assert not (tmp_path / "memo").exists()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    pins = Counting(requirements, "requirements", target_of("3.12"), Request())
    assert pins.remembered(tmp_path / "memo") == []
    assert not (tmp_path / "memo").exists()


@pytest.mark.parametrize("at", ["@", "\\u0040"], ids=["plain", "toml-escape"])
def test_a_lock_with_a_login_in_a_url_keeps_nothing_in_the_cache(
    tmp_path: Path, target_of: Callable[[str], Target], at: str
) -> None:
    # the lock's login stays in the lock: neither its parsed tables nor its selection are kept in the cache
    lock = _copy(LOCKS["uv"], tmp_path / "project")
    text = lock.read_text()
    assert "https://files.example.org/" in text
    lock.write_text(text.replace("https://files.example.org/", f"https://ci:s3cret{at}files.example.org/"))
    selection = Counting(lock, "uv", target_of("3.12"), Request())
    with memo_dir(tmp_path / "toml"):
        picks = selection.remembered(tmp_path / "memo")
    assert any("s3cret" in (p.artifact.url or "") for p in picks if p.artifact is not None)  # the sync still has it
    assert not (tmp_path / "memo").exists()
    assert not (tmp_path / "toml").exists() or not any((tmp_path / "toml").iterdir())
    lock.write_text(text)  # without the login both are kept, as always
    with memo_dir(tmp_path / "toml"):
        selection.remembered(tmp_path / "memo")
    assert len(list((tmp_path / "memo").iterdir())) == 1
    assert any((tmp_path / "toml").iterdir())


def test_a_damaged_memo_is_asked_again(tmp_path: Path, target_of: Callable[[str], Target]) -> None:
    lock = _copy(LOCKS["poetry"], tmp_path / "project")
    selection = Counting(lock, "poetry", target_of("3.12"), Request())
    fresh = selection.remembered(tmp_path / "memo")
    (memo,) = (tmp_path / "memo").iterdir()
    memo.write_text(memo.read_text()[:-20])
    assert selection.remembered(tmp_path / "memo") == fresh
    assert selection.calls == 2
