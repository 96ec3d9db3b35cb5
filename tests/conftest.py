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

from _support.disks import SmallDisks
from _support.index import LocalIndex
from _support.venvs import new_venv
from tox_venvsync import _http
from tox_venvsync._target import query_interpreter
from tox_venvsync._values import replace

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tox_venvsync._target import Target

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


#: the artifact cache this session made for itself (none when TOX_VENVSYNC_CACHE_DIR names one), removed at its end
SESSION_CACHE = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Set the process environment once, before any test: the Pythons and a private artifact cache."""
    if "PYENV_VERSION" not in os.environ and (versions := _pyenv_versions()):
        os.environ["PYENV_VERSION"] = versions
    if "TOX_VENVSYNC_CACHE_DIR" not in os.environ:
        config.stash[SESSION_CACHE] = Path(tempfile.mkdtemp(prefix="venvsync-test-cache-"))
        os.environ["TOX_VENVSYNC_CACHE_DIR"] = str(config.stash[SESSION_CACHE])
    # a login of the developer's own (~/.netrc) is never sent to a test's server
    os.environ["NETRC"] = str(Path(tempfile.gettempdir()) / "venvsync-test-no-netrc")
    os.environ["PDM_CONFIG_FILE"] = str(Path(tempfile.gettempdir()) / "venvsync-test-no-pdm-config.toml")
    os.environ["VIRTUALENV_OVERRIDE_APP_DATA"] = os.environ.get(
        "VIRTUALENV_OVERRIDE_APP_DATA", str(Path(tempfile.gettempdir()) / "venvsync-test-virtualenv-data")
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the artifact cache this session made: each run left one in the system's temporary directory."""
    made = config.stash.get(SESSION_CACHE, None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def python312() -> Path:
    """A Python 3.12 interpreter, found on PATH as a user's tox would find it."""
    found = shutil.which("python3.12")
    if found is None:
        pytest.fail("python3.12 is not on PATH; install it (pyenv install 3.12) to run the suite")
    return Path(found)


@pytest.fixture(scope="session")
def target_of() -> Callable[[str], Target]:
    """The facts of python3.X, asked once per version for the session."""
    known: dict[str, Target] = {}

    def target(version: str) -> Target:
        if version not in known:
            found = shutil.which(f"python{version}")
            if found is None:
                pytest.fail(f"python{version} is not on PATH; install it (pyenv install {version})")
            known[version] = query_interpreter(Path(found))
        return known[version]

    return target


@pytest.fixture(scope="session")
def make_venv(python312: Path, target_of: Callable[[str], Target]) -> Callable[[Path], Target]:
    """Make a venv at a path as ``python3.12 -m venv --without-pip`` makes it; return its interpreter's facts.

    Where python3.12 is the Python running the tests, the venv is made in this process (see ``new_venv``) and the
    facts are the base interpreter's, asked once for the session, moved into the venv as the runner's own memo of
    a venv's facts moves them (``Target.in_venv``). Each of the two was an interpreter started per venv: about a
    second of every test that made one, on CI's loaded 2 cores. Elsewhere both are asked as before.
    """

    def make(path: Path) -> Target:
        python = path / "bin" / "python"
        if not new_venv(path, python312):
            return query_interpreter(python)
        base = target_of("3.12")
        return replace(base.in_venv(path, python), venv_scheme=base.venv_scheme)

    return make


@pytest.fixture(autouse=True, scope="session")
def _tox_reaps_its_build_backends() -> Iterator[None]:
    """tox's close of a PEP 517 backend waits for its process, also after it had to terminate it.

    tox gives the backend 0.1 s to exit after its ``_exit`` and then sends SIGTERM without waiting; a loaded machine
    lets it run past that, and the ``Popen`` collected while it still runs is an unraisable ResourceWarning, which
    ``filterwarnings = error`` turns into a failure of whichever test's tox run built a package (9 of them in one
    run beside other test runs). What tox does is kept; the process it stopped is waited for.
    """
    from tox.execute.pep517_backend import LocalSubProcessPep517Executor  # noqa: PLC0415  # tox's, patched here

    close = LocalSubProcessPep517Executor.close

    def close_and_reap(self: LocalSubProcessPep517Executor) -> None:
        running = self._local_execute  # the backend's process, if it started
        close(self)
        process = running[0].process if running is not None else None
        if process is not None:
            try:
                process.wait(timeout=60)  # ended, or told to end (SIGTERM) by tox's close
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalSubProcessPep517Executor, "close", close_and_reap)
        yield


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that failed in a way that may pass is asked again at once, not after 0.5 s, 1 s and 2 s."""
    monkeypatch.setattr(_http, "_BACKOFF", 0.0)


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


@pytest.fixture
def small_disks(tmp_path: Path) -> Iterator[SmallDisks]:
    """tmpfs mounts of a given size, to fill up; the test is skipped where it may not mount (only root may)."""
    disks = SmallDisks(tmp_path / "disks")
    try:
        yield disks
    finally:
        disks.unmount_all()


# --- the figures of the Reliability docs page, written by a full passing run of the suite --------------------------

FIGURES = Path(__file__).parent.parent / "docs" / "explanation" / "reliability-figures.inc"


def _category(item: pytest.Item) -> object:
    """The category a test counts toward (``@pytest.mark.reliability("hostile")``), else ``None``."""
    marker = item.get_closest_marker("reliability")
    return marker.args[0] if marker is not None and marker.args else None


def _weight(item: pytest.Item) -> int:
    """How many cases one test counts for (``@pytest.mark.reliability("concurrent", cases=4)``; else 1)."""
    marker = item.get_closest_marker("reliability")
    return int(marker.kwargs.get("cases", 1)) if marker is not None else 1


def _figures(session: pytest.Session, passed: set[str]) -> list[tuple[str, int]]:
    items = [item for item in session.items if item.nodeid in passed]

    def count(predicate: Callable[[pytest.Item], bool]) -> int:
        return sum(1 for item in items if predicate(item))

    def mutations(item: pytest.Item) -> int:
        settings = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
        fuzzing = "mutat" in item.name or "fuzz" in item.name
        return int(settings.max_examples) if settings is not None and fuzzing else 0

    return [
        (
            "location cases, each through tox and through venvsync sync",
            count(lambda i: i.nodeid.startswith("tests/test_location_matrix.py::")) // 2,
        ),
        (
            "SIGKILL points after which the next run restored the exact lock state",
            count(lambda i: i.name.startswith("test_killed_sync")),
        ),
        (
            "tox runs started together on one env_location",
            sum(_weight(i) for i in items if _category(i) == "concurrent"),
        ),
        ("hostile wheels, downloads and transports refused", count(lambda i: _category(i) == "hostile")),
        ("mutated lockfiles read, raising only our errors", sum(mutations(i) for i in items)),
    ]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a full run that passed, rewrite the figures the docs quote (so they stay true)."""
    options = session.config.option
    if (
        exitstatus != 0
        or options.keyword
        or options.markexpr
        or getattr(options, "deselect", None)  # --deselect: a part of the suite, as -k is
        or (session.config.args != ["tests"] and session.config.args)
    ):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = {report.nodeid for report in (reporter.stats.get("passed", []) if reporter else [])}
    figures = _figures(session, passed)
    if not all(value for _, value in figures):
        return  # a partial run: keep the figures of the last full one
    rows = "\n".join(f"   * - {label}\n     - {value}" for label, value in figures)
    FIGURES.write_text(f".. list-table::\n   :header-rows: 0\n\n{rows}\n")
