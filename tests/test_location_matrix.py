"""Every kind of location, through ``tox`` and through ``venvsync sync``: refused untouched, adopted or (re)created."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel
from tox_venvsync._cli import main

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox.pytest import ToxProjectCreator

pytestmark = [pytest.mark.slow, pytest.mark.reliability("locations")]


class Case:
    """Makes a location under ``tmp``; returns the path to give as env_location and what must survive."""

    def __init__(self, tmp: Path, project: Path, python312: Path, python311: Path) -> None:
        self.tmp, self.project, self.python312, self.python311 = tmp, project, python312, python311

    def venv(self, path: Path, *command: str) -> Path:
        subprocess.run([*command, str(path)], check=True, capture_output=True)
        (path / "added-by-hand.txt").write_text("a venv's own file")
        return path


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


#: name -> (make the location, outcome) where the outcome is "created", "adopted", "recreated" or a refusal reason
CASES: dict[str, tuple[Callable[[Case], Path], str]] = {
    "empty directory": (lambda c: _mkdir(c.tmp / "empty"), "created"),
    "missing with missing parents": (lambda c: c.tmp / "a" / "b" / "c", "created"),
    "directory with other files": (
        lambda c: _with_file(c.tmp / "data", "notes.txt"),
        "it holds files and no pyvenv.cfg (notes.txt)",
    ),
    "home directory": (lambda c: c.project.parent.parent, "it is your home directory"),  # HOME=<tmp>/home
    "project root": (lambda c: c.project, "it is the project root or one of its ancestors"),
    "ancestor of the project": (lambda c: c.project.parent, "it is the project root or one of its ancestors"),
    "a file": (lambda c: _file(c.tmp / "a-file"), "it is a file, not a directory"),
    "symlink to a venv": (
        lambda c: _link(c.tmp / "link", c.venv(c.tmp / "real-venv", str(c.python312), "-m", "venv", "--without-pip")),
        "it is a symbolic link",
    ),
    "symlink to a directory": (
        lambda c: _link(c.tmp / "link", _with_file(c.tmp / "real", "keep.txt")),
        "it is a symbolic link",
    ),
    "dangling symlink": (lambda c: _link(c.tmp / "link", c.tmp / "nowhere"), "it is a symbolic link"),
    "venv made by python -m venv": (
        lambda c: c.venv(c.tmp / "venv", str(c.python312), "-m", "venv", "--without-pip"),
        "adopted",
    ),
    "venv made by virtualenv": (
        lambda c: c.venv(c.tmp / "venv", sys.executable, "-m", "virtualenv", "--no-seed", "-p", str(c.python312)),
        "adopted",
    ),
    "venv made by uv": (
        lambda c: c.venv(c.tmp / "venv", sys.executable, "-m", "uv", "venv", "-q", "--python", str(c.python312)),
        "adopted",
    ),
    "venv of another Python": (
        lambda c: c.venv(c.tmp / "venv", str(c.python311), "-m", "venv", "--without-pip"),
        "recreated",
    ),
    "venv with a broken interpreter link": (
        lambda c: _broken(c.venv(c.tmp / "venv", str(c.python312), "-m", "venv", "--without-pip")),
        "recreated",
    ),
}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _with_file(path: Path, name: str) -> Path:
    _mkdir(path)
    (path / name).write_text("precious")
    return path


def _file(path: Path) -> Path:
    path.write_text("precious")
    return path


def _link(path: Path, to: Path) -> Path:
    path.symlink_to(to)
    return path


def _broken(venv: Path) -> Path:
    for name in ("python", "python3", "python3.12"):
        (venv / "bin" / name).unlink(missing_ok=True)
    (venv / "bin" / "python").symlink_to(venv / "no-such-python")
    return venv


@pytest.fixture
def setup(tmp_path: Path, python312: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> tuple[Path, Case]:  # noqa: ARG001
    project = tmp_path / "home" / "work" / "project"
    project.mkdir(parents=True)
    (tmp_path / "home" / ".bashrc").write_text("precious")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    entries = [package_entry(n, "1.0", [wheel_entry(make_wheel(wheels, n, "1.0"))]) for n in ("alpha", "beta")]
    lock = write_pylock(project / "pylock.toml", entries)
    python311 = shutil.which("python3.11")
    assert python311 is not None
    return lock, Case(tmp_path / "places", project, python312, Path(python311))


def _outcome(location: Path, expected: str, output: str, code: int) -> None:
    if expected in {"created", "adopted", "recreated"}:
        assert code == 0, output
        site = location / "lib" / "python3.12" / "site-packages"
        assert sorted(p.name for p in site.glob("*.dist-info")) == ["alpha-1.0.dist-info", "beta-1.0.dist-info"]
        assert (location / "added-by-hand.txt").exists() is (expected == "adopted")
        if expected == "recreated":
            assert "3.12" in (location / "pyvenv.cfg").read_text()
    else:
        assert code != 0
        assert f"refusing to use {location} as a virtual environment: {expected}" in output
        assert "Traceback" not in output


@pytest.mark.parametrize("case", list(CASES))
def test_through_venvsync_sync(case: str, setup: tuple[Path, Case], capsys: pytest.CaptureFixture[str]) -> None:
    lock, maker = setup
    maker.tmp.mkdir(exist_ok=True)
    make, expected = CASES[case]
    location = make(maker)
    watched = location.parent if location.is_symlink() or not location.is_dir() else location
    before = _files(watched)
    code = main(["sync", "--lock", str(lock), "--venv", str(location), "--python", str(maker.python312)])
    out, err = capsys.readouterr()
    # the command line knows no project: the lockfile's directory is protected in its place, and named so
    _outcome(location, expected.replace("the project root", "the lockfile's directory"), out + err, code)
    if expected not in {"created", "adopted", "recreated"}:
        assert _files(watched) == before
        assert err.count("\n") == 1  # one sentence


@pytest.mark.parametrize("case", list(CASES))
def test_through_tox(case: str, setup: tuple[Path, Case], tox_project: ToxProjectCreator, tmp_path: Path) -> None:
    lock, maker = setup
    maker.tmp.mkdir(exist_ok=True)
    make, expected = CASES[case]
    ini = "[testenv:py312]\nrunner = venvsync\npackage = skip\ncommands = python -c 'import alpha, beta'\n"
    project = tox_project({"tox.ini": ini, "pylock.toml": lock.read_text()}, prj_path=maker.project)
    location = make(maker)
    watched = location.parent if location.is_symlink() or not location.is_dir() else location
    before = _files(watched)
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "tox-work"), "--env-location", str(location))
    _outcome(location, expected, result.out + result.err, result.code)
    if expected not in {"created", "adopted", "recreated"}:
        assert _files(watched) == before
