"""Tests of the hermetic test helpers in ``tests/_support``."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import pytest
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.pylock import Pylock

from _support.index import LocalIndex
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.served import Served
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._target import query_interpreter

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox_venvsync._target import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 floor
    import tomli as tomllib

_SCHEMES = ("purelib", "platlib", "headers", "scripts", "data")


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_wheel_installs_with_installer(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "dist",
        "Demo.Pkg",
        "1.2",
        console_scripts={"demo-tool": "demo_pkg:main"},
        requires_dist=["attrs>=23"],
        data={"data/share/demo/x.txt": b"payload\n"},
    )
    assert wheel.name == "demo_pkg-1.2-py3-none-any.whl"
    scheme = {key: str(tmp_path / "target" / key) for key in _SCHEMES}

    with WheelFile.open(wheel) as source:
        source.validate_record()
        install(source, SchemeDictionaryDestination(scheme, sys.executable, "posix"), {"INSTALLER": b"tests"})

    purelib = tmp_path / "target" / "purelib"
    assert (purelib / "demo_pkg" / "__init__.py").read_text() == '__version__ = "1.2"\n'
    dist_info = purelib / "demo_pkg-1.2.dist-info"
    assert (dist_info / "RECORD").is_file()
    assert "Requires-Dist: attrs>=23" in (dist_info / "METADATA").read_text()
    assert (tmp_path / "target" / "scripts" / "demo-tool").is_file()
    assert (tmp_path / "target" / "data" / "share" / "demo" / "x.txt").read_bytes() == b"payload\n"


def test_bad_record_fails_validation(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", record=b"demo/__init__.py,sha256=AAAA,1\n")
    with WheelFile.open(wheel) as source, pytest.raises(ValueError, match="RECORD"):
        source.validate_record()


def test_extra_entries_are_kept_verbatim(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", extra_entries={"../evil.py": b"x", "/abs.py": b"y"})
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read("demo-1.0.dist-info/RECORD").decode()
    assert {"../evil.py", "/abs.py"} <= set(names)
    assert "../evil.py,sha256=" in record


def test_make_wheel_is_deterministic(tmp_path: Path) -> None:
    first, second = (
        make_wheel(
            tmp_path / sub, "pkg", "0.1", console_scripts={"a": "b:c"}, requires_dist=["x"], data={"data/d": b"d"}
        )
        for sub in ("one", "two")
    )
    assert first.read_bytes() == second.read_bytes()
    assert sha256_file(first) == hashlib.sha256(first.read_bytes()).hexdigest()


def test_index_serves_simple_pages_and_files(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "My_Pkg", "1.0")
    with LocalIndex(tmp_path) as index:
        status, root = _fetch(index.simple_url)
        assert status == 200
        assert b'href="my-pkg/"' in root

        status, page = _fetch(f"{index.simple_url}my-pkg/")
        assert status == 200
        assert f'href="../../files/{wheel.name}#sha256={sha256_file(wheel)}"'.encode() in page

        late = make_wheel(tmp_path, "late", "2.0")
        status, body = _fetch(index.file_url(late.name))
        assert (status, body) == (200, late.read_bytes())
        assert index.requests == ["/simple/", "/simple/my-pkg/", f"/files/{late.name}"]

        status, _ = _fetch(f"{index.simple_url}missing/")
        assert status == 404


def test_a_served_server_runs_only_inside_its_with_block(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path)
    with pytest.raises(RuntimeError, match="the local index is not running"):
        _ = index.address
    with index:
        host, port = index.address.split(":")
        with urllib.request.urlopen(f"http://{index.address}/simple/", timeout=10) as response:
            assert response.status == 200
    with pytest.raises(RuntimeError, match="the local index is not running"):
        _ = index.url
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=2):
        pass  # stopped, and its socket closed
    with pytest.raises(TypeError, match="abstract"):
        Served()  # type: ignore[abstract]


def test_index_fail_and_truncate_paths(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0")
    with LocalIndex(tmp_path) as index:
        path = f"/files/{wheel.name}"
        index.fail_paths[path] = 500
        assert _fetch(index.file_url(wheel.name))[0] == 500
        del index.fail_paths[path]

        index.truncate_paths.add(path)
        with urllib.request.urlopen(index.file_url(wheel.name), timeout=10) as response:
            assert int(response.headers["Content-Length"]) == wheel.stat().st_size
            with pytest.raises(http.client.IncompleteRead):
                response.read()
        assert index.requests.count(path) == 2


def test_pylock_round_trips(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0")
    package = package_entry("pkg", "1.0", [wheel_entry(wheel)], marker="python_version >= '3'")
    lock = write_pylock(
        tmp_path / "pylock.toml",
        [package],
        requires_python=">=3.10",
        environments=["sys_platform == 'linux'"],
        extras=[],
        dependency_groups=["test"],
        default_groups=["test"],
    )
    parsed = Pylock.from_dict(tomllib.loads(lock.read_text()))
    assert parsed.created_by == "tests"
    [locked] = parsed.packages
    assert locked.version is not None
    assert str(locked.version) == "1.0"
    assert locked.wheels is not None
    [locked_wheel] = locked.wheels
    assert locked_wheel.url == wheel.resolve().as_uri()
    assert locked_wheel.size == wheel.stat().st_size
    assert locked_wheel.hashes == {"sha256": sha256_file(wheel)}


def test_pylock_wheel_entry_by_path_and_overrides(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0")
    entry = wheel_entry(wheel, path="./pkg-1.0-py3-none-any.whl", sha256="0" * 64, size=1)
    assert entry == {
        "name": wheel.name,
        "path": "./pkg-1.0-py3-none-any.whl",
        "size": 1,
        "hashes": {"sha256": "0" * 64},
    }
    lock = write_pylock(tmp_path / "pylock.toml", [package_entry("pkg", "1.0", [entry])])
    Pylock.from_dict(tomllib.loads(lock.read_text()))
    with pytest.raises(ValueError, match="not both"):
        wheel_entry(wheel, url="https://example.invalid/x.whl", path="x.whl")


def test_the_sessions_own_cache_is_removed_at_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the session's own artifact cache (when TOX_VENVSYNC_CACHE_DIR names none) was made with mkdtemp and never
    # removed: 2,046 of them had piled up in /tmp on the test machine (found by the test-suite health review)
    import conftest  # noqa: PLC0415  # the suite's own hooks, run here on a config of their own

    for name in ("NETRC", "PDM_CONFIG_FILE", "VIRTUALENV_OVERRIDE_APP_DATA"):  # set again by the hook: restored
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.delenv("TOX_VENVSYNC_CACHE_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = cast("pytest.Config", SimpleNamespace(stash=pytest.Stash()))
    conftest.pytest_configure(config)
    made = Path(os.environ["TOX_VENVSYNC_CACHE_DIR"])
    assert made.parent == tmp_path
    assert made.is_dir()
    conftest.pytest_unconfigure(config)
    assert list(tmp_path.iterdir()) == []


def test_a_cache_the_user_named_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import conftest  # noqa: PLC0415  # as above

    for name in ("NETRC", "PDM_CONFIG_FILE", "VIRTUALENV_OVERRIDE_APP_DATA"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(tmp_path))
    (tmp_path / "kept").touch()
    config = cast("pytest.Config", SimpleNamespace(stash=pytest.Stash()))
    conftest.pytest_configure(config)
    conftest.pytest_unconfigure(config)
    assert os.environ["TOX_VENVSYNC_CACHE_DIR"] == str(tmp_path)
    assert (tmp_path / "kept").is_file()


@pytest.mark.parametrize("narrowed", [{}, {"deselect": ["tests/test_values.py"]}, {"keyword": "x"}])
def test_the_figures_are_rewritten_only_after_a_whole_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, narrowed: dict[str, object]
) -> None:
    # a passing `pytest --deselect ...` rewrote the docs' reliability figures with a part of the suite's counts
    import conftest  # noqa: PLC0415  # as above

    figures = tmp_path / "figures.inc"
    monkeypatch.setattr(conftest, "FIGURES", figures)
    monkeypatch.setattr(conftest, "_figures", lambda _session, _passed: [("tests", "2,000")])
    options = SimpleNamespace(**{"keyword": "", "markexpr": "", "deselect": [], **narrowed})
    config = SimpleNamespace(option=options, args=["tests"], pluginmanager=SimpleNamespace(get_plugin=lambda _: None))
    conftest.pytest_sessionfinish(cast("pytest.Session", SimpleNamespace(config=config)), 0)
    assert figures.exists() == (not narrowed)


def _venv_files(root: Path) -> dict[str, tuple[int, str | bytes]]:
    """Each entry's mode and link target or bytes, the venv's own path and name written as ``VENV``."""
    found: dict[str, tuple[int, str | bytes]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            found[str(path.relative_to(root))] = (info.st_mode, str(path.readlink()))
        elif path.is_file() and path.name != "pyvenv.cfg":  # its command line names the executable that ran venv
            data = path.read_bytes().replace(os.fsencode(root), b"VENV").replace(os.fsencode(root.name), b"VENV")
            found[str(path.relative_to(root))] = (info.st_mode, data)
        else:
            found[str(path.relative_to(root))] = (info.st_mode, "")
    return found


def test_make_venv_makes_what_python_m_venv_makes_with_the_facts_its_interpreter_gives(
    tmp_path: Path, python312: Path, make_venv: Callable[[Path], Target]
) -> None:
    # the fixture that replaced a `python3.12 -m venv --without-pip` and a query of the new venv's interpreter in
    # the engine's tests: the same files, the same pyvenv.cfg but its command line, the same facts
    made = tmp_path / "venv-made"
    target = make_venv(made)
    ran = tmp_path / "venv-ran"
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(ran)], check=True)
    assert _venv_files(made) == _venv_files(ran)
    config = [(made / "pyvenv.cfg").read_text(), (ran / "pyvenv.cfg").read_text()]
    assert [text.split("command = ")[0] for text in config] == [config[1].split("command = ")[0]] * 2
    assert target == query_interpreter(made / "bin" / "python")
