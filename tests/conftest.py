"""Shared fixtures: several Pythons on PATH, a private cache, wheels made on the fly and a local index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from _support.index import LocalIndex

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = ["tox.pytest"]

#: the interpreters the suite runs against, as a user's machine has them on PATH
WANTED_MINORS = ("3.12", "3.11", "3.13", "3.10")


def _pyenv_versions() -> str | None:
    """A PYENV_VERSION naming the newest installed patch of each wanted minor, if pyenv is here."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    out = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, check=False).stdout.split()
    chosen = []
    for minor in WANTED_MINORS:
        patches = [v for v in out if v.startswith(f"{minor}.") and v.removeprefix(f"{minor}.").isdigit()]
        if patches:
            chosen.append(max(patches, key=lambda v: int(v.rsplit(".", 1)[1])))
    return ":".join(chosen) or None


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001  # pytest's hook signature
    """Set the process environment once, before any test: the Pythons and a private artifact cache."""
    if "PYENV_VERSION" not in os.environ and (versions := _pyenv_versions()):
        os.environ["PYENV_VERSION"] = versions
    os.environ.setdefault("TOX_VENVSYNC_CACHE_DIR", tempfile.mkdtemp(prefix="venvsync-test-cache-"))
    os.environ["VIRTUALENV_OVERRIDE_APP_DATA"] = os.environ.get(
        "VIRTUALENV_OVERRIDE_APP_DATA", str(Path(tempfile.gettempdir()) / "venvsync-test-virtualenv-data")
    )


@pytest.fixture(scope="session")
def python312() -> Path:
    """A Python 3.12 interpreter, found on PATH as a user's tox would find it."""
    found = shutil.which("python3.12")
    if found is None:
        pytest.fail("python3.12 is not on PATH; install it (pyenv install 3.12) to run the suite")
    return Path(found)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """An empty directory for the wheels a test makes."""
    path = tmp_path / "wheelhouse"
    path.mkdir()
    return path


@pytest.fixture
def local_index(wheelhouse: Path) -> Iterator[LocalIndex]:
    """A simple index on 127.0.0.1 serving the wheelhouse."""
    with LocalIndex(wheelhouse) as index:
        yield index


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh artifact cache for this test only."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def interpreter() -> Path:
    """The interpreter running the tests."""
    return Path(sys.executable)
