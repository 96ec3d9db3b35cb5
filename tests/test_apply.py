"""Tests of installing and uninstalling wheels in a real venv, the hostile-wheel check and the journal."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.installs import from_cache
from _support.refusals import refuse_unlink
from _support.wheels import make_wheel
from tox_venvsync import __version__, _apply, _link, _uninstall
from tox_venvsync._apply import INSTALLER_NAME, WheelInstaller, _replacing, _script, apply
from tox_venvsync._cache import Cache
from tox_venvsync._errors import InstallError
from tox_venvsync._installed import OUR_METADATA, InstalledDist, scan
from tox_venvsync._journal import Journal, clear_half_placed
from tox_venvsync._link import LinkInstaller
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._plan import Action, Plan, Step, Wanted, make_plan
from tox_venvsync._uninstall import uninstall
from tox_venvsync._values import replace
from tox_venvsync._verify import check_records

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pytest_mock import MockerFixture

    from tox_venvsync._target import Target

_DEMO = 'def main():\n    print("hello from demo")\n'


class Venv:
    """A real venv made with ``python -m venv --without-pip`` and the facts of its interpreter."""

    def __init__(self, path: Path, target: Target) -> None:
        self.path = path
        self.target = target
        self.site = Path(target.scheme["purelib"])
        self.bin = Path(target.scheme["scripts"])

    def dists(self) -> dict[str, list[InstalledDist]]:
        return {str(k): v for k, v in scan([self.site]).items()}


@pytest.fixture
def venv(tmp_path: Path, make_venv: Callable[[Path], Target]) -> Venv:
    path = tmp_path / "venv"
    return Venv(path, make_venv(path))


def _wanted(
    name: str, version: str, *, direct_url: str | None = None, content: str | None = None, editable: bool = False
) -> Wanted:
    pick = Pick(name=canonicalize_name(name), version=Version(version), kind="wheel", artifact=None)
    return Wanted(pick=pick, direct_url=direct_url, content=content, editable=editable)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(root.rglob("*"))
        if not p.is_symlink()
    }


def _record(dist_info: Path) -> list[str]:
    with (dist_info / "RECORD").open(newline="") as handle:
        return [row[0] for row in csv.reader(handle) if row]


def test_venv_target(venv: Venv) -> None:
    assert venv.target.prefix != venv.target.base_prefix
    assert venv.target.prefix == str(venv.path)
    assert venv.site == venv.path / "lib" / "python3.12" / "site-packages"
    assert venv.bin == venv.path / "bin"


# --- install -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        pytest.param(
            {"tag": "cp27-cp27m-win32"},
            "it is a wheel for cp27-cp27m-win32, which the interpreter {python} (Python {version}) cannot use; build "
            "or pick the wheel for this interpreter",
            id="another-platform",
        ),
        pytest.param(
            {"requires_python": ">=3.99"},
            "it requires Python >=3.99 and the interpreter {python} is Python {version}; pin a release that supports "
            "it (the lock was made for another Python) or use a Python it supports",
            id="requires-python",
        ),
    ],
)
def test_a_wheel_given_or_built_for_another_python_is_refused_before_anything_is_written(
    venv: Venv, tmp_path: Path, options: dict[str, str], reason: str
) -> None:
    # tox --installpkg with another interpreter's wheel, or a project that does not support this Python: as pip
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", **options)  # type: ignore[arg-type]
    wanted = _wanted("demo", "1.0", direct_url=wheel.as_uri())
    with pytest.raises(InstallError) as info:
        WheelInstaller(venv.target).check(wheel, wanted)
    python, version = venv.target.executable, venv.target.python_full_version
    assert str(info.value) == f"cannot install demo from {wheel.name}: {reason.format(python=python, version=version)}"
    assert not (venv.site / "demo").exists()


def test_a_source_built_pythons_plus_version_is_its_release_for_requires_python(venv: Venv, tmp_path: Path) -> None:
    # a CPython built from a checkout reports python_full_version "3.12.1+": no version, so no specifier held it
    markers = {**venv.target.markers, "python_full_version": "3.12.1+"}
    plus = replace(venv.target, markers=markers)
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", requires_python=">=3.10")
    WheelInstaller(plus).check(wheel, _wanted("demo", "1.0", direct_url=wheel.as_uri()))  # no InstallError
    too_new = make_wheel(tmp_path / "n", "demo", "1.0", requires_python=">=3.13")
    with pytest.raises(InstallError, match=r"it requires Python >=3\.13 and the interpreter"):
        WheelInstaller(plus).check(too_new, _wanted("demo", "1.0", direct_url=too_new.as_uri()))


def test_install_real_wheel(venv: Venv, tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "Demo",
        "1.0",
        # a first line "#!python" is made the venv's interpreter's in .data/scripts only, as pip and installer do
        modules={"demo/__init__.py": _DEMO, "demo/sub/mod.py": "X = 1\n", "demo/run.py": "#!python\nprint(1)\n"},
        console_scripts={"demo-tool": "demo:main"},
        data={
            "data/share/demo/readme.txt": b"shared\n",
            "data/share/demo/run": b"#!python\nprint(2)\n",
            "scripts/demo.sh": b"#!/bin/sh\necho sh\n",
        },
    )
    wanted = _wanted("demo", "1.0", direct_url=wheel.as_uri())
    installer = WheelInstaller(venv.target)
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)

    assert (venv.site / "demo" / "__init__.py").read_text() == _DEMO
    assert (venv.site / "demo" / "sub" / "mod.py").read_text() == "X = 1\n"
    assert (venv.site / "demo" / "run.py").read_text() == "#!python\nprint(1)\n"
    assert (venv.path / "share" / "demo" / "run").read_bytes() == b"#!python\nprint(2)\n"
    assert (venv.path / "share" / "demo" / "readme.txt").read_bytes() == b"shared\n"
    assert os.access(venv.bin / "demo.sh", os.X_OK)
    result = subprocess.run([str(venv.bin / "demo-tool")], capture_output=True, text=True, check=True)
    assert result.stdout == "hello from demo\n"
    assert (venv.bin / "demo-tool").read_text().splitlines()[0] == f"#!{venv.target.executable}"

    dist_info = venv.site / "demo-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_bytes() == INSTALLER_NAME == b"venvsync\n"
    assert json.loads((dist_info / "direct_url.json").read_text()) == {"url": wheel.as_uri(), "archive_info": {}}
    assert json.loads((dist_info / OUR_METADATA).read_text()) == {"by": __version__, "content": None}
    record = _record(dist_info)
    assert set(record) >= {
        "demo/__init__.py",
        "demo/sub/mod.py",
        "demo-1.0.dist-info/INSTALLER",
        "demo-1.0.dist-info/direct_url.json",
        f"demo-1.0.dist-info/{OUR_METADATA}",
        "demo-1.0.dist-info/RECORD",
        "../../../bin/demo-tool",
        "../../../bin/demo.sh",
        "../../../share/demo/readme.txt",
    }
    assert venv.dists() == {
        "demo": [InstalledDist(name=canonicalize_name("demo"), version=Version("1.0"), dist_info=dist_info)]
    }
    assert venv.dists()["demo"][0].direct_url == wheel.as_uri()


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_headers_go_to_a_directory_of_their_distribution_as_pip_and_uv_put_them(
    venv: Venv, tmp_path: Path, how: str
) -> None:
    # include/site/pythonX.Y/<name>/: two distributions shipping pybind11/attr.h do not share one directory
    headers = {"headers/pybind11/attr.h": b"// attr\n"}
    wheel = make_wheel(tmp_path / "w", "Pybind11_Global", "2.13", data=headers)
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("pybind11-global", "2.13")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    header = venv.path / "include" / "site" / "python3.12" / "pybind11-global" / "pybind11" / "attr.h"
    assert header.read_bytes() == b"// attr\n"
    [dist_info] = venv.site.glob("*.dist-info")
    assert "../../../include/site/python3.12/pybind11-global/pybind11/attr.h" in _record(dist_info)
    assert not check_records(scan([venv.site]), venv.path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_file_whose_name_needs_quoting_in_record_is_listed_as_csv_quotes_it(
    venv: Venv, tmp_path: Path, how: str
) -> None:
    # found by mutation testing: the linked install writes RECORD directly, quoting with csv only the rows that need
    # it; no test had such a name, so a RECORD that lists "pkg/a,b.py" as two fields went unseen
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", modules={"demo/__init__.py": "", "demo/a,b.py": "X = 1\n"})
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("demo", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    assert (venv.site / "demo" / "a,b.py").read_text() == "X = 1\n"
    assert "demo/a,b.py" in _record(venv.site / "demo-1.0.dist-info")
    assert not check_records(scan([venv.site]), venv.path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_every_install_is_marked_requested_as_uv_sync_and_pip_mark_it(venv: Venv, tmp_path: Path, how: str) -> None:
    # found by QA comparing .dist-info directories: uv sync writes an empty REQUESTED for every package of the lock,
    # pip for every one a requirements file names (pip inspect's "requested"); ours had none
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("demo", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    dist_info = venv.site / "demo-1.0.dist-info"
    assert (dist_info / "REQUESTED").read_bytes() == b""
    assert "demo-1.0.dist-info/REQUESTED" in _record(dist_info)
    assert not check_records(scan([venv.site]), venv.path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_pips_scripts_are_named_for_the_venvs_python_as_pip_and_uv_name_them(
    venv: Venv, tmp_path: Path, how: str
) -> None:
    # found by QA installing pip 26.3's wheel with uv, pip and a sync side by side: its entry_points.txt names pip and
    # pip3, and pip and uv write pip3.12 for the Python they install for (as python -m venv does); ours had no pip3.12
    modules = {"fakepip/__init__.py": _DEMO}
    scripts = {"pip": "fakepip:main", "pip3": "fakepip:main", "pip3.8": "fakepip:main", "pipx-like": "fakepip:main"}
    wheel = make_wheel(tmp_path / "w", "pip", "26.3", modules=modules, console_scripts=scripts)
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("pip", "26.3")
    installer.check(wheel, wanted)
    written = set(installer.destinations(wheel, wanted)[str(venv.bin)])
    installer.install(wheel, wanted)
    # pip's own rule (get_console_script_specs): pip, pipX, pipX.Y for this Python; pip3.8, baked in by a build on
    # Python 3.8, is dropped; any other script stays
    expected = {"pip", "pip3", "pip3.12", "pipx-like"}
    assert {p.name for p in venv.bin.iterdir() if p.name.startswith("pip")} == expected
    assert written == expected
    for name in expected:
        assert (venv.bin / name).read_bytes() == _script("fakepip", "main", venv.target.executable)
        assert os.access(venv.bin / name, os.X_OK)
    dist_info = venv.site / "pip-26.3.dist-info"
    assert {f"../../../bin/{name}" for name in expected} <= set(_record(dist_info))
    assert "../../../bin/pip3.8" not in _record(dist_info)
    assert (dist_info / "entry_points.txt").read_text() == "[console_scripts]\n" + "".join(
        f"{name} = {target}\n" for name, target in scripts.items()
    )  # the wheel's own file, as it came
    assert not check_records(scan([venv.site]), venv.path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
@pytest.mark.parametrize(("tag", "other"), [("py3-none-any", "platlib"), ("cp312-cp312-linux_x86_64", "purelib")])
def test_the_other_library_schemes_files_are_recorded_as_pip_and_uv_record_them(
    venv: Venv, tmp_path: Path, how: str, tag: str, other: str
) -> None:
    # found by QA comparing RECORDs: pypa/installer's way wrote "./demo/other.py" for a .data/platlib file of a purelib
    # wheel (its relpath from the root scheme, the same directory in a venv); pip, uv and the cache write demo/other.py
    data = {f"{other}/demo/other.py": b"OTHER = 1\n"}
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", tag=tag, data=data)
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("demo", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    assert (venv.site / "demo" / "other.py").read_bytes() == b"OTHER = 1\n"
    rows = _record(venv.site / "demo-1.0.dist-info")
    assert "demo/other.py" in rows
    assert not [row for row in rows if row.startswith("./")]
    assert not check_records(scan([venv.site]), venv.path)


def test_install_from_index_and_editable(venv: Venv, tmp_path: Path) -> None:
    plain = make_wheel(tmp_path / "w", "plain", "1.0")
    project = make_wheel(tmp_path / "w", "proj", "0.1")
    installer = WheelInstaller(venv.target)
    installer.install(plain, _wanted("plain", "1.0"))
    installer.install(project, _wanted("proj", "0.1", direct_url=tmp_path.as_uri(), content="abc", editable=True))

    assert not (venv.site / "plain-1.0.dist-info" / "direct_url.json").exists()
    assert json.loads((venv.site / "proj-0.1.dist-info" / "direct_url.json").read_text()) == {
        "url": tmp_path.as_uri(),
        "dir_info": {"editable": True},
    }
    [proj] = venv.dists()["proj"]
    assert proj.content == "abc"
    assert proj.direct_url == f"editable+{tmp_path.as_uri()}"


def test_an_archive_records_its_files_hash_as_pip_does(venv: Venv, tmp_path: Path) -> None:
    # PEP 610's archive_info.hashes: the lock's strongest hash of a URL it names; for a wheel given to tox
    # (--installpkg, whose content key is no file hash), the file's own sha256
    locked = make_wheel(tmp_path / "w", "locked", "1.0")
    given = make_wheel(tmp_path / "w", "given", "2.0")
    digests = {"sha256": "ab" * 32, "sha512": "CD" * 64}
    url = "https://files.example/locked-1.0-py3-none-any.whl"
    artifact = Artifact(filename=locked.name, url=url, path=None, size=None, hashes=digests)
    pick = Pick(name=canonicalize_name("locked"), version=Version("1.0"), kind="archive", artifact=artifact)
    installer = WheelInstaller(venv.target)
    installer.install(locked, Wanted(pick=pick, direct_url=url))
    artifact = Artifact(filename=given.name, url=None, path=given, size=None, hashes={"sha256": "content-key"})
    pick = Pick(name=canonicalize_name("given"), version=Version("2.0"), kind="wheel", artifact=artifact)
    installer.install(given, Wanted(pick=pick, direct_url=given.as_uri(), content="content-key"))

    assert json.loads((venv.site / "locked-1.0.dist-info" / "direct_url.json").read_text()) == {
        "url": url,
        "archive_info": {"hash": f"sha512={'cd' * 64}", "hashes": {"sha512": "cd" * 64}},
    }
    sha256 = hashlib.sha256(given.read_bytes()).hexdigest()
    assert json.loads((venv.site / "given-2.0.dist-info" / "direct_url.json").read_text()) == {
        "url": given.as_uri(),
        "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}},
    }
    assert [venv.dists()[name][0].direct_url for name in ("locked", "given")] == [url, given.as_uri()]


def test_install_overwrites_leftovers(venv: Venv, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0", modules={"pkg/__init__.py": "NEW = 1\n"})
    (venv.site / "pkg").mkdir()
    (venv.site / "pkg" / "__init__.py").write_text("OLD = 1\n")  # an interrupted apply left this behind
    WheelInstaller(venv.target).install(wheel, _wanted("pkg", "1.0"))
    assert (venv.site / "pkg" / "__init__.py").read_text() == "NEW = 1\n"


def test_install_not_a_zip(venv: Venv, tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")
    installer = WheelInstaller(venv.target)
    for method in (installer.check, installer.install):
        with pytest.raises(InstallError) as info:
            method(wheel, _wanted("pkg", "1.0"))
        assert str(info.value) == "cannot install pkg from pkg-1.0-py3-none-any.whl: File is not a zip file"
        assert info.value.exit_code == 2  # bad input: the lock pins a file that is no wheel


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_wheels_directory_entries_are_passed_over_as_pip_and_uv_pass_them(
    venv: Venv, tmp_path: Path, how: str
) -> None:
    # found by QA installing 191 wheels from PyPI both ways: fonttools 4.68, greenlet 3.5 and ninja 1.13 hold an entry
    # for their .data directory itself ("ninja-1.13.2.data/"), which pypa/installer's way refused as "not in a known
    # .data scheme" (a wheel built from an sdist, or given to --installpkg); pip, uv and the cache install them
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", data={"data/share/demo/d.txt": b"d"})
    with zipfile.ZipFile(wheel, "a") as archive:  # unlisted in RECORD, as the wheels' builders leave them
        for directory in ("demo/", "demo-1.0.data/", "demo-1.0.data/data/", "demo-1.0.data/data/share/"):
            info = zipfile.ZipInfo(directory)
            info.external_attr = (0o40755 << 16) | 0x10  # a directory, as zipfile and the wheel builders mark one
            archive.writestr(info, b"")
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("demo", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    assert (venv.path / "share" / "demo" / "d.txt").read_bytes() == b"d"
    assert not any(path.endswith("/") for path in _record(venv.site / "demo-1.0.dist-info"))
    assert not check_records(scan([venv.site]), venv.path)


# --- hostile wheels ----------------------------------------------------------------------------------------------


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        pytest.param({"../evil.py": b"x"}, "the entry '../evil.py' would be written outside the venv", id="dotdot"),
        pytest.param(
            {"pkg/../../evil.py": b"x"}, "the entry 'pkg/../../evil.py' would be written outside the venv", id="nested"
        ),
        pytest.param(
            {"/abs/evil.py": b"x"}, "the entry '/abs/evil.py' would be written outside the venv", id="absolute"
        ),
        pytest.param({"C:/evil.py": b"x"}, "the entry 'C:/evil.py' would be written outside the venv", id="drive"),
        pytest.param(
            {"pkg\\..\\..\\evil.py": b"x"},
            "the entry 'pkg\\\\..\\\\..\\\\evil.py' would be written outside the venv",
            id="backslash",
        ),
        pytest.param(
            {"pkg-1.0.data/bogus/evil.py": b"x"},
            "the entry 'pkg-1.0.data/bogus/evil.py' is not in a known .data scheme",
            id="bad-scheme",
        ),
        pytest.param(
            {"pkg-1.0.data/purelib": b"x"},
            "the entry 'pkg-1.0.data/purelib' is not in a known .data scheme",
            id="no-path",
        ),
        pytest.param(
            {"pkg-1.0.data/scripts/../../../evil": b"x"},
            "the entry 'pkg-1.0.data/scripts/../../../evil' would be written outside the venv",
            id="scheme-dotdot",
        ),
    ],
)
def test_check_refuses_hostile_entries(venv: Venv, tmp_path: Path, entries: Mapping[str, bytes], reason: str) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0", extra_entries=entries)
    before = _snapshot(venv.path)
    with pytest.raises(InstallError) as info:
        WheelInstaller(venv.target).check(wheel, _wanted("pkg", "1.0"))
    assert str(info.value) == f"cannot install pkg from {wheel.name}: {reason}"
    assert _snapshot(venv.path) == before
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize(
    "path",
    [
        "../evil.py",
        "pkg/../../evil.py",
        "pkg/..",
        "pkg/.",
        "pkg-1.0.data/scripts/../../../evil",
        "pkg-1.0.data/bogus/x",
    ],
)
def test_a_tampered_cache_tree_cannot_place_a_file_outside_its_scheme(venv: Venv, tmp_path: Path, path: str) -> None:
    """The paths are checked when the wheel is unpacked, and again where each file lands: the cache is a directory
    anyone with the user's rights can edit, and its manifest says where each file goes."""
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n", "pkg/mod.py": ""})
    installer = LinkInstaller(venv.target, Cache(tmp_path / "cache"))
    installer.check(wheel, from_cache(wheel))
    (manifest,) = (tmp_path / "cache" / "unpacked").glob("*/*/*/.venvsync-wheel.json")
    data = json.loads(manifest.read_text())
    data["entries"] = [[path, *entry[1:]] if entry[0] == "pkg/mod.py" else entry for entry in data["entries"]]
    manifest.write_text(json.dumps(data))
    installer = LinkInstaller(venv.target, Cache(tmp_path / "cache"))
    installer.check(wheel, from_cache(wheel))
    before = _snapshot(venv.path)
    with pytest.raises(InstallError):
        installer.install(wheel, from_cache(wheel))
    assert {p for p in _snapshot(venv.path) if p not in before} <= {
        "lib/python3.12/site-packages/pkg",
        "lib/python3.12/site-packages/pkg/__init__.py",
    }
    assert not list(tmp_path.rglob("evil*"))


@given(
    st.lists(
        st.tuples(
            # a path holds no NUL (the csv module before Python 3.11 refuses one without an escapechar)
            st.text(st.characters(exclude_characters="\x00"), min_size=1),
            st.text(st.sampled_from('sha256=,"ab\r\n')),
            st.from_regex(r"\d*", fullmatch=True),
        ),
        max_size=5,
    )
)
def test_record_text_is_what_csv_writes(rows: list[tuple[str, str, str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    assert _link.record_text(rows) == buffer.getvalue()


@pytest.mark.reliability("hostile")
def test_check_refuses_record_mismatch(venv: Venv, tmp_path: Path) -> None:
    honest = make_wheel(tmp_path / "honest", "pkg", "1.0")
    with zipfile.ZipFile(honest) as archive:
        record = archive.read("pkg-1.0.dist-info/RECORD")
    wheel = make_wheel(
        tmp_path / "w", "pkg", "1.0", modules={"pkg/__init__.py": "import os  # tampered\n"}, record=record
    )
    before = _snapshot(venv.path)
    with pytest.raises(InstallError) as info:
        WheelInstaller(venv.target).check(wheel, _wanted("pkg", "1.0"))
    # installer's list of issues, each with the wheel's whole path, was shown as its repr: ([\'In /tmp/...\'])
    assert str(info.value) == (
        f"cannot install pkg from {wheel.name}: its RECORD does not match its content (hash / size of "
        "pkg/__init__.py didn't match RECORD)"
    )
    assert _snapshot(venv.path) == before


@pytest.mark.parametrize(
    ("record", "said"),
    [
        (b"garbage\n", "its RECORD does not read (Row Index 0: expected 3 elements, got 1)"),
        (
            b"pkg-1.0.dist-info/RECORD,,\n",
            "its RECORD does not match its content (pkg/__init__.py is not mentioned in RECORD, and 2 more)",
        ),
    ],
    ids=["unreadable", "incomplete"],
)
def test_check_says_what_is_wrong_with_a_record_in_a_clause(
    venv: Venv, tmp_path: Path, record: bytes, said: str
) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0", record=record)
    with pytest.raises(InstallError) as info:
        WheelInstaller(venv.target).check(wheel, _wanted("pkg", "1.0"))
    assert info.value.reason == said
    assert str(tmp_path) not in str(info.value)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_a_record_row_without_a_size_is_checked_by_its_hash_as_pip_and_uv_check_it(
    venv: Venv, tmp_path: Path, how: str
) -> None:
    # found by QA installing a hand-built wheel with pip, uv and both ways: a RECORD row with an empty size (the spec
    # allows it) installed from the cache, and pypa/installer's way refused it: "hash / size of demo/b.py is not
    # included in RECORD"
    honest = make_wheel(tmp_path / "honest", "demo", "1.0", modules={"demo/__init__.py": "", "demo/b.py": "B = 1\n"})
    with zipfile.ZipFile(honest) as archive:
        record = archive.read("demo-1.0.dist-info/RECORD").decode()
    unsized = re.sub(r"^(demo/b\.py,sha256=[^,]+),\d+$", r"\1,", record, flags=re.MULTILINE)
    assert unsized != record
    modules = {"demo/__init__.py": "", "demo/b.py": "B = 1\n"}
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", modules=modules, record=unsized.encode())
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("demo", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    assert (venv.site / "demo" / "b.py").read_text() == "B = 1\n"
    assert not check_records(scan([venv.site]), venv.path)
    # the hash still checks the file: a changed file is refused however the row gives its size
    tampered = make_wheel(
        tmp_path / "t", "demo", "1.0", modules={**modules, "demo/b.py": "B = 2\n"}, record=unsized.encode()
    )
    with pytest.raises(InstallError, match=re.escape("hash / size of demo/b.py didn't match RECORD")):
        WheelInstaller(venv.target).check(tampered, _wanted("demo", "1.0"))


@pytest.mark.reliability("hostile")
def test_check_refuses_file_missing_from_record(venv: Venv, tmp_path: Path) -> None:
    honest = make_wheel(tmp_path / "honest", "pkg", "1.0")
    with zipfile.ZipFile(honest) as archive:
        record = archive.read("pkg-1.0.dist-info/RECORD")
    wheel = make_wheel(
        tmp_path / "w",
        "pkg",
        "1.0",
        modules={"pkg/__init__.py": '__version__ = "1.0"\n', "pkg/sneaky.py": "x = 1\n"},
        record=record,
    )
    with pytest.raises(InstallError) as info:
        WheelInstaller(venv.target).check(wheel, _wanted("pkg", "1.0"))
    assert info.value.reason == "its RECORD does not match its content (pkg/sneaky.py is not mentioned in RECORD)"


def test_apply_checks_every_wheel_before_changing_anything(venv: Venv, tmp_path: Path) -> None:
    installer = WheelInstaller(venv.target)
    old = make_wheel(tmp_path / "w", "old", "1.0")
    installer.install(old, _wanted("old", "1.0"))
    good = make_wheel(tmp_path / "w", "good", "1.0")
    evil = make_wheel(tmp_path / "w", "evil", "1.0", extra_entries={"../x.py": b"x"})
    plan = make_plan([_wanted("good", "1.0"), _wanted("evil", "1.0")], scan([venv.site]))
    assert [(s.name, s.action) for s in plan.steps] == [
        ("evil", Action.INSTALL),
        ("good", Action.INSTALL),
        ("old", Action.REMOVE),
    ]
    before = _snapshot(venv.path)
    with pytest.raises(InstallError):
        apply(plan, {"good": good, "evil": evil}, venv=venv.path, installer=installer)
    assert _snapshot(venv.path) == before


def test_apply_takes_a_tree_the_cache_holds_without_checking_it_again(
    tmp_path: Path, make_venv: Callable[[Path], Target], mocker: MockerFixture
) -> None:
    modules = [{f"pkg{n}/__init__.py": f"N = {n}\n"} for n in range(2)]
    wheels = [make_wheel(tmp_path / "w", f"pkg{n}", "1.0", modules=modules[n]) for n in range(2)]
    cache = Cache(tmp_path / "cache")
    wanted = [from_cache(wheel) for wheel in wheels]
    check = mocker.spy(LinkInstaller, "check")
    trees = []
    for venv in (tmp_path / "one", tmp_path / "two"):
        target = make_venv(venv)
        site = Path(target.scheme["purelib"])
        plan = make_plan(wanted, scan([site]))
        apply(plan, {"pkg0": wheels[0], "pkg1": wheels[1]}, venv=venv, installer=LinkInstaller(target, cache))
        trees.append({name: data for name, data in _snapshot(site).items() if name.endswith("__init__.py")})
    assert check.call_count == 2  # the first venv's two wheels, unpacked then; the second venv's came ready
    assert trees[0] == trees[1] == {"pkg0/__init__.py": b"N = 0\n", "pkg1/__init__.py": b"N = 1\n"}


def test_apply_order(tmp_path: Path) -> None:
    calls: list[str] = []

    class Recorder:
        def ready(self, wheel: Path, wanted: Wanted) -> bool:
            calls.append(f"ready? {wanted.pick.name} {wheel.name}")
            return wanted.pick.name == "a"  # a needs no check

        def check(self, wheel: Path, wanted: Wanted) -> None:
            calls.append(f"check {wanted.pick.name} {wheel.name}")

        def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
            assert not (tmp_path / "old-1.0.dist-info").exists()  # removals go first
            calls.extend(f"install {wanted.pick.name} {wheel.name}" for wheel, wanted in installs)

        def destinations(self, wheel: Path, wanted: Wanted) -> dict[str, list[str]]:  # noqa: ARG002  # the protocol's
            calls.append(f"destinations {wanted.pick.name}")
            return {}

    dist_info = tmp_path / "old-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text("old-1.0.dist-info/RECORD,,\n")
    old = InstalledDist(name=canonicalize_name("old"), version=Version("1.0"), dist_info=dist_info)
    plan = Plan(
        steps=(
            Step(action=Action.INSTALL, name=canonicalize_name("a"), version=Version("1"), wanted=_wanted("a", "1")),
            Step(action=Action.KEEP, name=canonicalize_name("k"), version=Version("1"), wanted=_wanted("k", "1")),
            Step(action=Action.UPGRADE, name=canonicalize_name("old"), version=Version("2"), old=(old,),
                 wanted=_wanted("old", "2")),
        )
    )  # fmt: skip
    apply(plan, {"a": tmp_path / "a.whl", "old": tmp_path / "old.whl"}, venv=tmp_path, installer=Recorder())
    assert calls == [
        "ready? a a.whl",
        "ready? old old.whl",
        "check old old.whl",
        "destinations a",
        "destinations old",
        "install a a.whl",
        "install old old.whl",
    ]


def test_a_removal_keeps_the_files_a_record_of_bare_paths_lists(venv: Venv) -> None:
    # a RECORD written by hand may give each path alone; the distribution that stays still ships those files
    for name, record in (
        ("gone", "ns/__init__.py,,\nshared.py,,\n"),
        ("stays", "ns/__init__.py\nshared.py\nns/b.py\n"),
    ):
        dist_info = venv.site / f"{name}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "RECORD").write_text(f"{record}{name}-1.0.dist-info/RECORD\n")
    (venv.site / "ns").mkdir()
    for path in ("ns/__init__.py", "ns/b.py", "shared.py"):
        (venv.site / path).write_text("X = 1\n")
    [gone] = venv.dists()["gone"]
    plan = Plan(steps=(Step(action=Action.REMOVE, name=canonicalize_name("gone"), version=None, old=(gone,)),))
    apply(plan, {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert list(venv.dists()) == ["stays"]
    assert sorted(str(p.relative_to(venv.site)) for p in venv.site.rglob("*.py")) == [
        "ns/__init__.py",
        "ns/b.py",
        "shared.py",
    ]


def test_a_removal_of_many_packages_lists_each_record_that_stays_once_and_keeps_their_shared_file(
    venv: Venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA at scale: each RECORD that stays was searched once for every directory of every package that
    # goes (a lock dropping 1,000 of 2,000 packages: 2.6 s); with many, each lists its lines' first parts once
    layout = {f"gone{n}": [f"gone{n}/__init__.py", f"gone{n}/mod.py"] for n in range(20)}
    layout["gone7"].append("ns/__init__.py")  # a namespace's file that a package that stays ships too
    layout |= {f"stays{n}": [f"stays{n}/__init__.py"] for n in range(5)}
    layout["keeper"] = ["ns/__init__.py", "ns/b.py"]
    _install_by_hand(venv, layout)
    listed: list[bytes] = []
    first_parts = _uninstall._FIRST_PARTS

    class Counted:
        def findall(self, probe: bytes) -> list[bytes]:
            listed.append(probe)
            return first_parts.findall(probe)

    monkeypatch.setattr(_uninstall, "_FIRST_PARTS", Counted())
    dists = venv.dists()
    steps = tuple(
        Step(action=Action.REMOVE, name=canonicalize_name(name), version=None, old=tuple(dists[name]))
        for name in layout
        if name.startswith("gone")
    )
    apply(Plan(steps=steps), {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert sorted(venv.dists()) == ["keeper", *(f"stays{n}" for n in range(5))]
    assert len(listed) == 6  # the RECORD of each package that stays, once
    assert sorted(str(p.relative_to(venv.site)) for p in venv.site.rglob("*.py")) == [
        "ns/__init__.py",
        "ns/b.py",
        *(f"stays{n}/__init__.py" for n in range(5)),
    ]


def _install_by_hand(venv: Venv, layout: Mapping[str, Sequence[str]]) -> None:
    """Each ``name: rows`` of ``layout`` installed as version 1.0: its files and a RECORD listing them, hashless."""
    for name, rows in layout.items():
        dist_info = venv.site / f"{name}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in [*rows, f"{name}-1.0.dist-info/RECORD"]))
        for row in rows:
            (venv.site / row).parent.mkdir(parents=True, exist_ok=True)
            (venv.site / row).write_text("X = 1\n")


def test_a_removal_of_a_package_with_many_scripts_keeps_the_one_a_package_that_stays_ships_too(venv: Venv) -> None:
    # found by QA at scale: each of its script rows (../../bin/<name>) was searched for in each RECORD that stays
    # (2,000 scripts beside 2,000 packages: 5 s); their rows' beginnings are looked up once per line now
    scripts = [f"../../../bin/cmd{n}" for n in range(40)]
    layout = {"tools": [*scripts, "tools/__init__.py"], "stays": ["stays/__init__.py", "../../../bin/cmd7"]}
    _install_by_hand(venv, layout)
    [tools] = venv.dists()["tools"]
    plan = Plan(steps=(Step(action=Action.REMOVE, name=canonicalize_name("tools"), version=None, old=(tools,)),))
    apply(plan, {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert list(venv.dists()) == ["stays"]
    assert sorted(p.name for p in (venv.path / "bin").glob("cmd*")) == ["cmd7"]


@given(
    rows=st.lists(st.binary(max_size=8).map(lambda row: row.replace(b"\0", b"")), min_size=1, max_size=40),
    record=st.lists(st.sampled_from([b"a", b"b", b"/", b"\n", b"\r", b",", b"../", b'"', b"."]), max_size=80),
)
def test_the_starts_a_removal_searches_other_records_for_are_found_exactly_where_a_search_of_each_finds_them(
    rows: list[bytes], record: list[bytes]
) -> None:
    # the prefilter of _claimed_by_others: listing a RECORD's first parts and its lines' beginnings (many starts)
    # passes exactly the RECORDs that searching it for each start passed, so the same files are kept
    starts = {
        b"\n" + (row if row.startswith(b"../") or b"/" not in row else row.partition(b"/")[0] + b"/") for row in rows
    }
    probe = b"\n" + b"".join(record)
    assert _uninstall._Starts(starts).found_in(probe) is any(start in probe for start in starts)


@pytest.mark.parametrize("refused", ["stuck/sub", "stuck/sub/__pycache__", "stuck-1.0.dist-info", "."])
def test_a_removal_stops_before_any_file_goes_when_a_directory_cannot_be_written(
    venv: Venv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    # a user other than root who may not write one package directory (chmod a-w, another user's, a read-only mount)
    # saw the upgrade stop at its first file there, the files before it (the package's __init__.py, another
    # package) gone: the package half removed until the next sync; found by QA. The suite runs as root, whom
    # access(2) lets write anywhere: its answer is simulated. A RECORD row out of the venv, never removed, is no
    # reason to stop
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.py").write_text("X = 1\n")
    for name, rows in (("first", ["first.py"]), ("stuck", ["stuck/__init__.py", "stuck/sub/mod.py"])):
        dist_info = venv.site / f"{name}-1.0.dist-info"
        dist_info.mkdir()
        escape = os.path.relpath(outside / "x.py", venv.site)
        listed = [*rows, escape, f"{name}-1.0.dist-info/METADATA", f"{name}-1.0.dist-info/RECORD"]
        (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in listed))
        (dist_info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\n")
        for row in rows:
            (venv.site / row).parent.mkdir(parents=True, exist_ok=True)
            (venv.site / row).write_text("X = 1\n")
    (venv.site / "stuck" / "sub" / "__pycache__").mkdir()
    (venv.site / "stuck" / "sub" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"")
    denied = {str(os.path.normpath(venv.site / refused)), str(outside)}
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: not (str(path) in denied and mode & os.W_OK) and access(path, mode)
    )
    before = _snapshot(venv.site)
    steps = tuple(
        Step(action=Action.REMOVE, name=canonicalize_name(name), version=None, old=tuple(venv.dists()[name]))
        for name in ("first", "stuck")
    )
    with pytest.raises(PermissionError) as raised:
        apply(Plan(steps=steps), {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert raised.value.filename == os.path.normpath(venv.site / refused)
    assert _snapshot(venv.site) == before  # nothing removed, of either package
    monkeypatch.undo()
    apply(Plan(steps=steps), {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert not venv.dists()
    assert (outside / "x.py").is_file()


def test_a_removal_stops_before_any_file_goes_when_site_packages_cannot_be_written(
    venv: Venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a package whose files are all in its own directory still needs site-packages written: its .dist-info goes
    # from there, and stopped there, the package was left without its files but listed (mutation testing). The
    # suite runs as root, whom access(2) lets write anywhere: its answer is simulated
    dist_info = venv.site / "stuck-1.0.dist-info"
    dist_info.mkdir()
    listed = ["stuck/__init__.py", "stuck/mod.py", "stuck-1.0.dist-info/METADATA", "stuck-1.0.dist-info/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in listed))
    (dist_info / "METADATA").write_text("Name: stuck\nVersion: 1.0\n")
    (venv.site / "stuck").mkdir()
    for row in listed[:2]:
        (venv.site / row).write_text("X = 1\n")
    denied = str(venv.site)
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: not (str(path) == denied and mode & os.W_OK) and access(path, mode)
    )
    before = _snapshot(venv.site)
    step = Step(action=Action.REMOVE, name=canonicalize_name("stuck"), version=None, old=tuple(venv.dists()["stuck"]))
    with pytest.raises(PermissionError) as raised:
        apply(Plan(steps=(step,)), {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert raised.value.filename == denied
    assert _snapshot(venv.site) == before


def test_a_removal_keeps_a_shared_file_whose_name_is_not_utf8(venv: Venv) -> None:
    # two RECORDs another tool wrote name one file in Latin-1 (the bytes on disk): the one that stays keeps it
    name = os.fsdecode(b"caf\xe9.py")
    for dist, rows in (("gone", [b"caf\xe9.py,,", b"gone.py,,"]), ("stays", [b"caf\xe9.py,,", b"stays.py,,"])):
        dist_info = venv.site / f"{dist}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "RECORD").write_bytes(b"\n".join([*rows, f"{dist}-1.0.dist-info/RECORD,,".encode()]) + b"\n")
    for path in (name, "gone.py", "stays.py"):
        (venv.site / path).write_text("X = 1\n")
    [gone] = venv.dists()["gone"]
    plan = Plan(steps=(Step(action=Action.REMOVE, name=canonicalize_name("gone"), version=None, old=(gone,)),))
    apply(plan, {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert sorted(p.name for p in venv.site.glob("*.py")) == sorted([name, "stays.py"])


# --- uninstall ---------------------------------------------------------------------------------------------------


def test_uninstall_removes_exactly_the_record(venv: Venv, tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        "1.0",
        modules={"demo/__init__.py": _DEMO, "demo/sub/mod.py": "X = 1\n", "demo/deep/er/leaf.py": ""},
        console_scripts={"demo-tool": "demo:main"},
        data={
            "data/share/demo/deep/readme.txt": b"shared\n",
            "data/share/kept/readme.txt": b"kept\n",
            "headers/demo.h": b"// demo\n",
        },
    )
    pristine = _snapshot(venv.path)
    installer = WheelInstaller(venv.target)
    installer.install(wheel, _wanted("demo", "1.0", direct_url=wheel.as_uri()))
    other = make_wheel(tmp_path / "w", "other", "2.0")
    installer.install(other, _wanted("other", "2.0"))
    subprocess.run([str(venv.bin / "python"), "-m", "compileall", "-q", str(venv.site / "demo")], check=True)
    assert list((venv.site / "demo" / "sub" / "__pycache__").iterdir())
    (venv.site / "demo" / "sub" / "notes.txt").write_text("mine")  # a file the user put there
    (venv.path / "share" / "kept" / "mine.txt").write_text("mine")  # and one in a data directory
    with_other = {k: v for k, v in _snapshot(venv.path).items() if "other" in k}

    [dist] = venv.dists()["demo"]
    record = _record(dist.dist_info)
    uninstall(dist, venv.path)

    for entry in record:
        assert not os.path.lexists(os.path.normpath(venv.site / entry)), entry
    assert not dist.dist_info.exists()
    assert (venv.site / "demo" / "sub" / "notes.txt").read_text() == "mine"
    assert not (venv.site / "demo" / "sub" / "__pycache__").exists()
    assert not (venv.site / "demo" / "deep").exists()  # emptied directories are pruned
    assert not (venv.site / "demo" / "__pycache__").exists()
    # emptied data and headers directories go too, as pip removes them; the venv's top directories stay
    assert not (venv.path / "share" / "demo").exists()
    assert not (venv.path / "include" / "site").exists()
    assert venv.bin.is_dir()
    assert venv.site.is_dir()
    after = _snapshot(venv.path)
    assert {k: v for k, v in after.items() if "other" in k} == with_other
    assert set(after) == set(pristine) | set(with_other) | {
        "lib/python3.12/site-packages/demo",
        "lib/python3.12/site-packages/demo/sub",
        "lib/python3.12/site-packages/demo/sub/notes.txt",
        "share",
        "share/kept",
        "share/kept/mine.txt",
    }


@pytest.mark.parametrize("also", ["nothing", "another module's bytecode"])
def test_uninstall_of_a_top_level_module_removes_site_packages_pycache_once_empty(
    venv: Venv, tmp_path: Path, also: str
) -> None:
    # setuptools' editable install puts __editable___<name>_finder.py at the top of site-packages; switched to a
    # wheel, its emptied site-packages/__pycache__ stayed, which neither a fresh venv nor pip leaves (found by QA)
    installer = WheelInstaller(venv.target)
    installer.install(make_wheel(tmp_path / "w", "solo", "1.0", modules={"solo.py": "X = 1\n"}), _wanted("solo", "1.0"))
    (venv.site / "__pycache__").mkdir()
    (venv.site / "__pycache__" / f"solo.{sys.implementation.cache_tag}.pyc").write_bytes(b"")
    another = also != "nothing"
    if another:  # bytecode of a module that stays: the directory stays with it
        (venv.site / "__pycache__" / f"kept.{sys.implementation.cache_tag}.pyc").write_bytes(b"")
    [dist] = venv.dists()["solo"]
    uninstall(dist, venv.path)
    assert not (venv.site / "solo.py").exists()
    if another:
        assert [p.name for p in (venv.site / "__pycache__").iterdir()] == [f"kept.{sys.implementation.cache_tag}.pyc"]
    else:
        assert not (venv.site / "__pycache__").exists()
    assert venv.site.is_dir()


def test_uninstall_keeps_a_separate_site_packages_it_emptied(venv: Venv, tmp_path: Path) -> None:
    # a platlib directory of its own (some interpreters' schemes): emptied, it stays, as the venv made it
    platlib = venv.path / "platlib" / "site-packages"
    (platlib / "ext").mkdir(parents=True)
    (platlib / "ext" / "core.so").write_bytes(b"\x7fELF")
    wheel = make_wheel(tmp_path / "w", "ext", "1.0")
    WheelInstaller(venv.target).install(wheel, _wanted("ext", "1.0"))
    [dist] = venv.dists()["ext"]
    with (dist.dist_info / "RECORD").open("a") as record:
        record.write("../../../platlib/site-packages/ext/core.so,,\n")
    uninstall(dist, venv.path)
    assert not (platlib / "ext").exists()  # emptied by the removal
    assert platlib.is_dir()


@pytest.mark.parametrize("through", ["lib64", "share/venv-root"])
def test_uninstall_prunes_by_real_paths_not_through_links(venv: Venv, tmp_path: Path, through: str) -> None:
    # a RECORD row through the venv's own lib64 -> lib link, or through a link to the venv's root: the written
    # path's parents are not the directories above the real one
    data = {"data/etc/zeta/zeta.conf": b"c\n"}
    wheel = make_wheel(tmp_path / "w", "zeta", "1.0", modules={"zeta_ext/mod.py": "X = 1\n"}, data=data)
    WheelInstaller(venv.target).install(wheel, _wanted("zeta", "1.0"))
    if through == "lib64" and not (venv.path / "lib64").is_symlink():
        (venv.path / "lib64").symlink_to("lib")
    if through != "lib64":
        (venv.path / "share").mkdir()
        (venv.path / "share" / "venv-root").symlink_to("..")
    [dist] = venv.dists()["zeta"]
    record = dist.dist_info / "RECORD"
    text = record.read_text()
    if through == "lib64":
        text = text.replace("zeta_ext/mod.py", "../../../lib64/python3.12/site-packages/zeta_ext/mod.py")
    else:
        text = text.replace("../../../etc/zeta/", "../../../share/venv-root/etc/zeta/")
    record.write_text(text)
    uninstall(dist, venv.path)
    assert not (venv.site / "zeta_ext").exists()
    assert not (venv.path / "etc" / "zeta").exists()
    assert venv.site.is_dir()  # not pruned through lib64
    assert (venv.path / "etc").is_dir()  # a top directory, not pruned through the link to the root


def test_uninstall_leaves_the_venv_as_it_was(venv: Venv, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "pkg", "1.0", modules={"pkg/__init__.py": "", "pkg/a/b/c.py": ""})
    before = _snapshot(venv.path)
    WheelInstaller(venv.target).install(wheel, _wanted("pkg", "1.0"))
    [dist] = venv.dists()["pkg"]
    uninstall(dist, venv.path)
    assert _snapshot(venv.path) == before


@pytest.mark.reliability("hostile")
def test_uninstall_skips_entries_outside_the_venv(venv: Venv, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"  # the venv is tmp_path / "venv"
    outside.write_text("precious")
    absolute = tmp_path / "absolute.txt"
    absolute.write_text("precious too")
    in_root = venv.path / "in-venv-root.txt"
    in_root.write_text("inside the venv")
    (venv.site / "hostile").mkdir()
    (venv.site / "hostile" / "mod.py").write_text("")
    dist_info = venv.site / "hostile-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: hostile\nVersion: 1.0\n")
    (dist_info / "RECORD").write_text(
        "hostile/mod.py,,\n"
        "../../../../outside.txt,,\n"  # site-packages is venv/lib/python3.12/site-packages: four up is outside
        f"{absolute},,\n"
        "../../../in-venv-root.txt,,\n"  # three up is the venv root itself: inside, removed
        "../../..,,\n"
        "hostile-1.0.dist-info/RECORD,,\n"
    )
    [dist] = venv.dists()["hostile"]
    uninstall(dist, venv.path)
    assert outside.read_text() == "precious"
    assert absolute.read_text() == "precious too"
    assert not in_root.exists()
    assert not (venv.site / "hostile").exists()
    assert not dist_info.exists()
    assert (venv.path / "pyvenv.cfg").is_file()


@pytest.mark.reliability("hostile")
def test_uninstall_never_removes_the_venvs_own_files_a_record_lists(venv: Venv) -> None:
    # an adopted venv's RECORD is anyone's: removing these would leave a directory that is no venv any more
    made = [".gitignore", "CACHEDIR.TAG", ".tox-info.json"]  # what virtualenv, uv and tox leave at its root
    site = venv.site.relative_to(venv.path).as_posix()
    own = ["pyvenv.cfg", "lib64", "bin/python", "bin/python3", "bin/python3.12", "bin/activate", "bin/Activate.ps1"]
    # a free-threaded Python's venv is made around python3.13t, PyPy's around pypy3.10; Python 3.14's venv adds 𝜋thon
    others = ["bin/python3.13t", "bin/pypy3.10", "bin/\U0001d70bthon"]
    own += [*made, *others, f"{site}/_virtualenv.pth", f"{site}/_virtualenv.py"]
    if not (venv.path / "lib64").exists():
        (venv.path / "lib64").symlink_to("lib")
    for path in [*made, f"{site}/_virtualenv.pth", f"{site}/_virtualenv.py"]:
        (venv.path / path).write_text("# made with the venv\n")
    (venv.path / "bin" / "activate").write_text("# activate\n")
    (venv.path / "bin" / "Activate.ps1").write_text("# activate\n")
    for path in others:
        (venv.path / path).symlink_to("python")
    (venv.path / ".venvsync").mkdir()
    (venv.path / ".venvsync" / "journal").write_text("{}")
    (venv.path / "share").mkdir()
    (venv.path / "share" / "venv-root").symlink_to("..")  # the root again, by another path
    (venv.path / "bin" / "messy-tool").write_text("#!/bin/sh\n")  # its own script, which goes
    dist_info = venv.site / "messy-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: messy\nVersion: 1.0\n")
    rows = [f"../../../{path}" for path in [*own, ".venvsync/journal", "share/venv-root/pyvenv.cfg", "bin/messy-tool"]]
    (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))
    before = {path: os.path.lexists(venv.path / path) for path in own}
    assert all(before.values()), before
    [dist] = venv.dists()["messy"]
    uninstall(dist, venv.path)
    assert {path: os.path.lexists(venv.path / path) for path in own} == before
    assert (venv.path / ".venvsync" / "journal").read_text() == "{}"
    assert not (venv.path / "bin" / "messy-tool").exists()
    assert (
        subprocess.run(
            [str(venv.bin / "python"), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        == "True\n"
    )


def test_uninstall_does_not_follow_directory_links_out_of_the_venv(venv: Venv, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious")
    (venv.site / "linked").symlink_to(outside, target_is_directory=True)  # a link the user made
    dist_info = venv.site / "hostile-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text("linked/precious.txt,,\nhostile-1.0.dist-info/RECORD,,\n")
    [dist] = venv.dists()["hostile"]
    uninstall(dist, venv.path)
    assert (outside / "precious.txt").read_text() == "precious"


def test_uninstall_reads_a_record_that_is_not_utf8_or_has_a_row_csv_cannot_read(venv: Venv) -> None:
    # another tool's RECORD: a name in Latin-1 (the bytes on disk), then a field past csv's limit; a traceback
    # there stopped the sync half done, every time
    (venv.site / "odd").mkdir()
    latin = os.fsdecode(b"odd/caf\xe9.py")
    for path in ("odd/__init__.py", latin, "odd/after.py"):
        (venv.site / path).write_text("")
    dist_info = venv.site / "odd-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: odd\nVersion: 1.0\n")
    rows = [b"odd/__init__.py,,", b"odd/caf\xe9.py,,", b'"' + b"a" * 200_000 + b'",,', b"odd/after.py,,"]
    (dist_info / "RECORD").write_bytes(b"\n".join(rows) + b"\n")
    [dist] = venv.dists()["odd"]
    plan = Plan(steps=(Step(action=Action.REMOVE, name=canonicalize_name("odd"), version=None, old=(dist,)),))
    apply(plan, {}, venv=venv.path, installer=WheelInstaller(venv.target))
    assert not dist_info.exists()
    assert sorted(os.listdir(venv.site / "odd")) == ["after.py"]  # after the row csv cannot read: left, not guessed


def test_uninstall_never_removes_another_distributions_metadata(venv: Venv) -> None:
    # bare's own RECORD is missing (as another tool may leave it), so no RECORD claims its metadata for it
    bare = venv.site / "bare-1.0.dist-info"
    (bare / "licenses").mkdir(parents=True)
    (bare / "METADATA").write_text("Name: bare\nVersion: 1.0\n")
    (bare / "licenses" / "LICENSE").write_text("MIT\n")
    dist_info = venv.site / "evil-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text(
        "bare-1.0.dist-info/METADATA,,\nbare-1.0.dist-info/licenses/LICENSE,,\nevil-1.0.dist-info/RECORD,,\n"
    )
    [dist] = venv.dists()["evil"]
    uninstall(dist, venv.path)
    assert not dist_info.exists()
    assert (bare / "METADATA").read_text() == "Name: bare\nVersion: 1.0\n"
    assert (bare / "licenses" / "LICENSE").read_text() == "MIT\n"


def test_uninstall_removes_a_dist_info_that_is_a_link_and_keeps_its_target(venv: Venv, tmp_path: Path) -> None:
    # rmtree refuses a link (and ignoring that left the distribution installed, yet the sync said removed)
    outside = tmp_path / "checkout" / "foo-1.0.dist-info"
    outside.mkdir(parents=True)
    (outside / "METADATA").write_text("Name: foo\nVersion: 1.0\n")
    (outside / "RECORD").write_text("foo-1.0.dist-info/METADATA,,\nfoo-1.0.dist-info/RECORD,,\n")
    (venv.site / "foo-1.0.dist-info").symlink_to(outside, target_is_directory=True)
    [dist] = venv.dists()["foo"]
    uninstall(dist, venv.path)
    assert "foo" not in venv.dists()
    assert not os.path.lexists(venv.site / "foo-1.0.dist-info")
    assert sorted(p.name for p in outside.iterdir()) == ["METADATA", "RECORD"]


def test_uninstall_without_record(venv: Venv) -> None:
    dist_info = venv.site / "broken-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: broken\n")
    (venv.site / "broken").mkdir()
    [dist] = venv.dists()["broken"]
    uninstall(dist, venv.path)
    assert not dist_info.exists()
    assert (venv.site / "broken").is_dir()  # unknown files stay; a reinstall overwrites them


def test_uninstall_says_what_stopped_the_removal_of_its_dist_info(venv: Venv, monkeypatch: pytest.MonkeyPatch) -> None:
    # a .dist-info that cannot go (a directory its owner may not write, as a user other than root meets it) stays
    # installed: the sync must not call it removed, and the next one in sync
    dist_info = venv.site / "stuck-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: stuck\nVersion: 1.0\n")
    real_rmdir = os.rmdir

    def refusing(path: str, *, dir_fd: int | None = None) -> None:
        if str(path).endswith("stuck-1.0.dist-info"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real_rmdir(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "rmdir", refusing)
    [dist] = venv.dists()["stuck"]
    with pytest.raises(PermissionError):
        uninstall(dist, venv.path)
    monkeypatch.setattr(os, "rmdir", real_rmdir)
    uninstall(dist, venv.path)  # gone once nothing stops it
    assert not dist_info.exists()


def test_uninstall_names_the_whole_path_of_a_dist_info_file_it_may_not_remove(
    venv: Venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a .dist-info its user may not write (chmod a-w, as a user other than root meets it): rmtree's error named the
    # file relative to the directory, "Permission denied at METADATA"; found by QA. Simulated: the suite runs as root
    dist_info = venv.site / "stuck-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: stuck\nVersion: 1.0\n")
    refuse_unlink(monkeypatch, "METADATA")
    [dist] = venv.dists()["stuck"]
    with pytest.raises(PermissionError) as raised:
        uninstall(dist, venv.path)
    assert raised.value.filename == str(dist_info / "METADATA")


def test_uninstall_stops_at_a_file_it_may_not_remove_and_keeps_the_package_installed(
    venv: Venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file the sync's user may not remove (a directory of another user's, an immutable file) stops the uninstall
    # there: passed over as a name no file system takes is, the package was called removed with its module still
    # importable, and the next sync found the environment in sync (found by mutation testing)
    dist_info = venv.site / "stuck-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: stuck\nVersion: 1.0\n")
    (dist_info / "RECORD").write_text("stuck.py,,\nstuck-1.0.dist-info/METADATA,,\nstuck-1.0.dist-info/RECORD,,\n")
    (venv.site / "stuck.py").write_text("X = 1\n")
    refuse_unlink(monkeypatch, "stuck.py")
    [dist] = venv.dists()["stuck"]
    with pytest.raises(PermissionError) as raised:
        uninstall(dist, venv.path)
    assert raised.value.filename == str(venv.site / "stuck.py")
    assert (venv.site / "stuck.py").is_file()
    assert [d.dist_info for d in venv.dists()["stuck"]] == [dist_info]  # still installed, as it is


def test_uninstall_skips_directories_and_missing_files(venv: Venv) -> None:
    (venv.site / "pkg" / "data").mkdir(parents=True)
    (venv.site / "pkg" / "data" / "keep.txt").write_text("x")
    dist_info = venv.site / "pkg-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text("pkg/data,,\npkg/gone.py,,\n")
    [dist] = venv.dists()["pkg"]
    uninstall(dist, venv.path)
    assert (venv.site / "pkg" / "data" / "keep.txt").read_text() == "x"
    assert not dist_info.exists()


def test_uninstall_passes_over_rows_that_name_no_file(venv: Venv) -> None:
    # a messy RECORD: a path through a file, a name longer than the file system takes, a NUL byte; pip passes
    # over them as files that are not there, and a sync must not stop half done on them
    (venv.site / "odd").mkdir()
    (venv.site / "odd" / "__init__.py").write_text("")
    (venv.site / "odd" / "data.txt").write_text("")
    dist_info = venv.site / "odd-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Name: odd\nVersion: 1.0\n")
    rows = ["odd/data.txt/x.py", f"odd/{'a' * 300}.py", "odd/nul\0byte.py", "odd/data.txt", "odd/__init__.py"]
    (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))
    [dist] = venv.dists()["odd"]
    uninstall(dist, venv.path)
    assert not (venv.site / "odd").exists()
    assert not dist_info.exists()


# --- journal -----------------------------------------------------------------------------------------------------


def test_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    file = tmp_path / ".venvsync" / "journal.json"
    assert journal.pending() == frozenset()
    journal.start(["b", "a"], {"a": "/cache/unpacked/a"}, {"b": ["/v/b.py", "/v/b-1.dist-info/RECORD"]})
    assert json.loads(file.read_text()) == {
        "names": ["a", "b"],
        "trees": {"a": "/cache/unpacked/a"},
        "files": {"b": ["/v/b.py", "/v/b-1.dist-info/RECORD"]},
    }
    assert journal.pending() == frozenset({"a", "b"})
    journal.start(iter(["c", "a"]), {"c": "/cache/unpacked/c"})  # an unfinished apply's names and trees are kept
    assert json.loads(file.read_text()) == {
        "names": ["a", "b", "c"],
        "trees": {"a": "/cache/unpacked/a", "c": "/cache/unpacked/c"},
        "files": {"b": ["/v/b.py", "/v/b-1.dist-info/RECORD"]},
    }
    assert Journal(tmp_path).pending() == frozenset({"a", "b", "c"})
    assert Journal(tmp_path).placing() == {"a": "/cache/unpacked/a", "c": "/cache/unpacked/c"}
    assert Journal(tmp_path).writing() == {"b": ["/v/b.py", "/v/b-1.dist-info/RECORD"]}
    assert [path.name for path in file.parent.iterdir()] == ["journal.json"]  # no temporary file left
    journal.finish()
    assert not file.exists()
    assert (journal.pending(), journal.placing()) == (frozenset(), {})
    journal.finish()  # finishing twice is fine


def test_a_journal_an_earlier_version_wrote_names_its_names(tmp_path: Path) -> None:
    (tmp_path / ".venvsync").mkdir()
    (tmp_path / ".venvsync" / "journal.json").write_text('["a", "b"]')
    assert (Journal(tmp_path).pending(), Journal(tmp_path).placing()) == (frozenset({"a", "b"}), {})


def test_tree_roots_are_worked_out_once_per_plan(venv: Venv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync into a new venv asks for its plan's trees three times (its key, its replay, its journal): once is work."""
    cache = Cache(tmp_path / "cache")
    wheels = [make_wheel(tmp_path / "w", name, "1.0", modules={f"{name}.py": ""}) for name in ("one", "two")]
    installer = LinkInstaller(venv.target, cache)
    plan = Plan(
        steps=tuple(
            Step(
                action=Action.INSTALL, name=canonicalize_name(w.name.split("-")[0]), version=None, wanted=from_cache(w)
            )
            for w in wheels
        )
    )
    asked: list[str] = []
    where = Cache.unpacked

    def unpacked(self: Cache, algorithm: str, digest: str) -> Path:
        asked.append(digest)
        return where(self, algorithm, digest)

    monkeypatch.setattr(Cache, "unpacked", unpacked)
    roots = installer.tree_roots(plan)
    roots["one"] = "changed by the caller"  # the answer is the caller's: the one kept is not changed through it
    assert installer.tree_roots(plan) == installer.tree_roots(plan) != roots
    assert len(asked) == 2
    other = Plan(steps=plan.steps[:1])  # another plan (a replay's rest) is worked out for itself
    assert set(installer.tree_roots(other)) == {"one"}
    assert len(asked) == 3


@pytest.mark.parametrize("link", [True, False], ids=["linked", "copied"])
def test_clear_half_placed_removes_a_cut_off_wheels_files_and_nothing_another_record_lists(
    venv: Venv, tmp_path: Path, *, link: bool
) -> None:
    cache = Cache(tmp_path / "cache")
    shared = make_wheel(tmp_path / "w", "shared", "1.0", modules={"common/file.py": "X = 1\n"})
    modules = {"half/__init__.py": "", "half/deep/mod.py": "Y = 2\n", "common/file.py": "X = 1\n"}
    half = make_wheel(tmp_path / "w", "half", "1.0", modules=modules, console_scripts={"half-cli": "half:main"})
    # a wheel the cut-off apply never got to, one of whose paths holds a file of the user's
    never = make_wheel(tmp_path / "w", "never", "1.0", modules={"sitecustomize.py": "print('the wheel')\n"})
    installer = LinkInstaller(venv.target, cache, link=link)
    for wheel in (shared, half):
        installer.check(wheel, from_cache(wheel))
        installer.install(wheel, from_cache(wheel))
    installer.check(never, from_cache(never))
    (venv.site / "sitecustomize.py").write_text("print('mine')\n")
    before = _snapshot(venv.path)
    steps = tuple(
        Step(action=Action.INSTALL, name=canonicalize_name(name), version=None, wanted=from_cache(wheel))
        for name, wheel in (("half", half), ("never", never))
    )
    roots = installer.tree_roots(Plan(steps=steps))
    (venv.site / "half-1.0.dist-info" / "RECORD").unlink()  # cut off before its RECORD: no record of what it placed
    elsewhere = shutil.copytree(roots["half"], tmp_path / "elsewhere")  # the journal is the venv's: a tree outside
    Journal(venv.path).start(["half", "shared"], {"half": str(elsewhere)})
    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)
    assert (venv.site / "half" / "deep" / "mod.py").exists()  # not read from outside the cache

    Journal(venv.path).start(["half", "never"], roots)
    leftover = venv.bin / f".1.2{_apply.TEMPORARY_SUFFIX}"  # a console script it was renaming into place
    leftover.write_text("#!/bin/sh\n")
    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)
    assert not leftover.exists()
    left = _snapshot(venv.path)
    gone = {p for p in before if p not in left}
    assert gone == {
        "bin/half-cli",
        "lib/python3.12/site-packages/half",
        "lib/python3.12/site-packages/half/__init__.py",
        "lib/python3.12/site-packages/half/deep",
        "lib/python3.12/site-packages/half/deep/mod.py",
        *(p for p in before if p.startswith("lib/python3.12/site-packages/half-1.0.dist-info")),
    }
    assert left["lib/python3.12/site-packages/common/file.py"] == b"X = 1\n"  # shared's RECORD lists it
    assert left["lib/python3.12/site-packages/sitecustomize.py"] == b"print('mine')\n"  # not the wheel's file
    assert list(venv.dists()) == ["shared"]

    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)  # a finished install (its RECORD) is left alone
    assert _snapshot(venv.path) == left


def test_clear_half_placed_never_reaches_through_a_linked_directory(venv: Venv, tmp_path: Path) -> None:
    # site-packages/linked is the user's link to a source tree of theirs, whose files hold the wheel's very bytes
    cache = Cache(tmp_path / "cache")
    modules = {"linked/__init__.py": "X = 1\n", "linked/sub/mod.py": "Y = 2\n"}
    wheel = make_wheel(tmp_path / "w", "linked", "1.0", modules=modules)
    installer = LinkInstaller(venv.target, cache)
    installer.check(wheel, from_cache(wheel))
    theirs = tmp_path / "usersrc" / "linked"
    (theirs / "sub").mkdir(parents=True)
    (theirs / "__init__.py").write_text("X = 1\n")
    (theirs / "sub" / "mod.py").write_text("Y = 2\n")
    (venv.site / "linked").symlink_to(theirs)
    step = Step(action=Action.INSTALL, name=canonicalize_name("linked"), version=None, wanted=from_cache(wheel))
    Journal(venv.path).start(["linked"], installer.tree_roots(Plan(steps=(step,))))  # killed before it placed
    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)
    assert sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*")) == ["__init__.py", "sub", "sub/mod.py"]
    assert (venv.site / "linked").is_symlink()


def test_clear_half_placed_leaves_a_metadata_directory_reached_through_a_linked_site_packages(
    venv: Venv, tmp_path: Path
) -> None:
    # found by mutation testing: site-packages itself a link out of the venv (to a directory of the user's that holds
    # the package's files and a .dist-info without RECORD): the cut-off tree's .dist-info there must stay, as its
    # files do (shutil.rmtree follows a link above the path it is given)
    cache = Cache(tmp_path / "cache")
    wheel = make_wheel(tmp_path / "w", "linked", "1.0", modules={"linked/__init__.py": "X = 1\n"})
    installer = LinkInstaller(venv.target, cache)
    installer.check(wheel, from_cache(wheel))
    theirs = tmp_path / "usersite"
    (theirs / "linked").mkdir(parents=True)
    (theirs / "linked" / "__init__.py").write_text("X = 1\n")
    (theirs / "linked-1.0.dist-info").mkdir()
    (theirs / "linked-1.0.dist-info" / "METADATA").write_text("Name: linked\nVersion: 1.0\n")
    shutil.rmtree(venv.site)
    venv.site.symlink_to(theirs)
    step = Step(action=Action.INSTALL, name=canonicalize_name("linked"), version=None, wanted=from_cache(wheel))
    Journal(venv.path).start(["linked"], installer.tree_roots(Plan(steps=(step,))))  # killed before its RECORD
    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)
    assert sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*")) == [
        "linked",
        "linked-1.0.dist-info",
        "linked-1.0.dist-info/METADATA",
        "linked/__init__.py",
    ]


def test_a_file_another_wheel_placed_is_replaced_in_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # two wheels ship common/x.txt: the later one's file takes its place by a rename, never after an unlink, so a
    # kill in between leaves the earlier one's file, not a missing file the next sync would take for in sync
    source, destination = tmp_path / "tree-file", tmp_path / "x.txt"
    source.write_text("the later wheel's\n")
    destination.write_text("the earlier wheel's\n")

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _link._hardlink(str(source), str(destination))
    monkeypatch.undo()
    assert destination.read_text() == "the earlier wheel's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree-file", "x.txt"]  # no temporary name left
    assert _link._hardlink(str(source), str(destination))
    assert destination.stat().st_ino == source.stat().st_ino
    # placed again over a link to the very same file: rename(2) would keep both names, the temporary too
    assert _link._hardlink(str(source), str(destination))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree-file", "x.txt"]
    longest = tmp_path / ("n" * 255)  # the longest name a file system takes: the temporary's must not grow from it
    longest.write_text("old\n")
    assert _link._hardlink(str(source), str(longest))
    assert longest.read_text() == "the later wheel's\n"


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("{not json", set()),
        ('{"a": 1}', set()),
        ('"a"', set()),
        ('{"names": "ab"}', set()),
        ('{"names": ["a"], "trees": 1}', {"a"}),  # the names still count; no tree is read
    ],
)
def test_journal_unreadable_is_empty(tmp_path: Path, content: str, names: set[str]) -> None:
    (tmp_path / ".venvsync").mkdir()
    (tmp_path / ".venvsync" / "journal.json").write_text(content)
    assert (set(Journal(tmp_path).pending()), Journal(tmp_path).placing()) == (names, {})
    Journal(tmp_path).start(["x"])
    assert Journal(tmp_path).pending() == names | {"x"}


def test_clear_half_placed_has_the_owner_of_a_file_it_kept_reinstalled(venv: Venv, tmp_path: Path) -> None:
    # found by mutation testing: the cut-off wheel may have replaced a file another distribution's RECORD lists; that
    # file stays and its owner is added to the journal, so the next plan reinstalls it. A tree the journal names whose
    # install finished (its RECORD is there) is left whole
    cache = Cache(tmp_path / "cache")
    shared = make_wheel(tmp_path / "w", "shared", "1.0", modules={"common/file.py": "X = 1\n"})
    half = make_wheel(tmp_path / "w", "half", "1.0", modules={"half.py": "", "common/file.py": "X = 2\n"})
    installer = LinkInstaller(venv.target, cache)
    for wheel in (shared, half):
        installer.check(wheel, from_cache(wheel))
        installer.install(wheel, from_cache(wheel))
    steps = tuple(
        Step(action=Action.INSTALL, name=canonicalize_name(name), version=None, wanted=from_cache(wheel))
        for name, wheel in (("shared", shared), ("half", half))
    )
    (venv.site / "half-1.0.dist-info" / "RECORD").unlink()  # cut off before its RECORD
    Journal(venv.path).start(["half"], installer.tree_roots(Plan(steps=steps)))
    clear_half_placed(venv.path, venv.target, cache.unpacked_dir)
    assert not (venv.site / "half.py").exists()
    assert (venv.site / "common" / "file.py").read_text() == "X = 2\n"  # shared's RECORD lists it: it stays
    assert Journal(venv.path).pending() == {"half", "shared"}  # and shared is reinstalled
    assert list(venv.dists()) == ["shared"]
    assert check_records(scan([venv.site]), venv.path).missing == []


def test_clear_half_placed_leaves_a_built_install_that_finished_and_an_empty_entry(venv: Venv) -> None:
    # found by mutation testing: a sync cut off after a built wheel's install wrote its RECORD (before the journal
    # was finished) names that install's files; they are its RECORD's now and stay, and so does its .dist-info
    (venv.site / "done").mkdir()
    (venv.site / "done" / "__init__.py").write_text("D = 1\n")
    dist_info = _installed_by_hand(venv.site, "done", ["done/__init__.py"])
    listed = [str(venv.site / "done" / "__init__.py"), str(dist_info / "METADATA"), str(dist_info / "RECORD")]
    Journal(venv.path).start(["done"], files={"done": listed, "empty": []})
    before = _snapshot(venv.path)
    clear_half_placed(venv.path, venv.target, venv.path / "no-cache")
    assert _snapshot(venv.path) == before
    assert Journal(venv.path).pending() == {"done"}


def _installed_by_hand(site: Path, name: str, files: Sequence[str]) -> Path:
    """A ``.dist-info`` of ``name`` 1.0 in ``site`` whose RECORD lists ``files`` and its own two files."""
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\n")
    rows = [*files, f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))
    return dist_info


def test_a_journal_entry_counts_only_with_its_own_name_s_record_in_site_packages_as_its_last_path(
    venv: Venv,
) -> None:
    # found by mutation testing: the journal is a file anyone who can write the venv can edit; an entry whose last
    # path is no RECORD of its name's .dist-info in site-packages removes nothing, and no directory whole
    (venv.site / "keep").mkdir()
    (venv.site / "keep" / "__init__.py").write_text("K = 1\n")
    keep_info = _installed_by_hand(venv.site, "keep", ["keep/__init__.py"])
    (venv.site / "mine.py").write_text("a file of the user's\n")
    mine = str(venv.site / "mine.py")
    files = {
        "keep": [mine, str(venv.site / "keep" / "RECORD")],  # no .dist-info: keep/ would go whole
        "other": [mine, str(venv.path / "other-1.0.dist-info" / "RECORD")],  # not in site-packages
        "ghost": [mine, str(venv.site / "someone-1.0.dist-info" / "RECORD")],  # another name's
        "keep-too": [mine, str(venv.site / "keep_too-1.0.dist-info" / "METADATA")],  # ends in no RECORD
    }
    (venv.site / "keep_too-1.0.dist-info").mkdir()
    Journal(venv.path).start(files, files=files)
    before = _snapshot(venv.path)
    clear_half_placed(venv.path, venv.target, venv.path / "no-cache")
    assert _snapshot(venv.path) == before
    assert keep_info.is_dir()


def test_a_cut_off_built_install_s_entry_removes_its_own_new_files_and_no_other(venv: Venv, tmp_path: Path) -> None:
    # found by mutation testing: of a valid entry's paths, a file of the venv's own state, another distribution's
    # metadata and a file outside the venv stay; the install's own files go, with the files it was renaming into
    # place beside them and the directories they leave empty, never one of the venv's top directories
    keep_info = _installed_by_hand(venv.site, "keep", [])
    half_info = venv.site / "half-1.0.dist-info"
    half_info.mkdir()
    (half_info / "METADATA").write_text("Name: half\nVersion: 1.0\n")
    (venv.site / "half").mkdir()
    (venv.site / "half" / "mod.py").write_text("")
    (venv.site / "half" / f".mod.py.1{_apply.TEMPORARY_SUFFIX}").write_text("")  # a file it was renaming into place
    data = venv.path / "share" / "half" / "doc.txt"  # a .data file: share/ is a top directory of the venv now
    data.parent.mkdir(parents=True)
    data.write_text("")
    (venv.path / ".venvsync").mkdir()
    ours = venv.path / ".venvsync" / "mark"
    ours.write_text("the venv's own\n")
    theirs = keep_info / "venvsync-notes.txt"  # no RECORD lists it, it is another distribution's all the same
    theirs.write_text("")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the venv's\n")
    listed = [str(venv.site / "half" / "mod.py"), str(data), str(ours), str(theirs), str(outside)]
    Journal(venv.path).start(["half"], files={"half": [*listed, str(half_info / "RECORD")]})
    clear_half_placed(venv.path, venv.target, venv.path / "no-cache")
    assert not (venv.site / "half").exists()
    assert not half_info.exists()
    assert not (venv.path / "share" / "half").exists()
    assert (venv.path / "share").is_dir()  # a top directory of the venv, emptied, stays (as an uninstall keeps it)
    assert ours.read_text() == "the venv's own\n"
    assert theirs.is_file()
    assert outside.read_text() == "not the venv's\n"


def test_a_cut_off_install_keeps_a_file_a_distribution_of_a_separate_platlib_lists(venv: Venv) -> None:
    # found by mutation testing: a scheme whose platlib is a directory of its own; a distribution there lists the
    # file the cut-off install wrote over, so the file stays and that distribution is reinstalled
    platlib = venv.path / "platlib" / "site-packages"
    (platlib / "ext").mkdir(parents=True)
    (platlib / "ext" / "core.so").write_bytes(b"\x7fELF")
    _installed_by_hand(platlib, "ext", ["ext/core.so"])
    (platlib / "half-1.0.dist-info").mkdir()
    target = replace(venv.target, scheme={**venv.target.scheme, "platlib": str(platlib)})
    listed = [str(platlib / "ext" / "core.so"), str(platlib / "half-1.0.dist-info" / "RECORD")]
    Journal(venv.path).start(["half"], files={"half": listed})
    clear_half_placed(venv.path, target, venv.path / "no-cache")
    assert (platlib / "ext" / "core.so").read_bytes() == b"\x7fELF"
    assert not (platlib / "half-1.0.dist-info").exists()
    assert Journal(venv.path).pending() == {"half", "ext"}


def test_a_journal_s_list_of_files_that_is_no_list_is_passed_over(tmp_path: Path) -> None:
    # found by mutation testing: a journal edited by hand to hold anything but a list of paths
    # for a name is read as no files for that name, not as a traceback
    (tmp_path / ".venvsync").mkdir()
    files = {"a": 1, "b": ["/v/b.py", "/v/b-1.dist-info/RECORD"], "c": None}
    (tmp_path / ".venvsync" / "journal.json").write_text(json.dumps({"names": ["a", "b"], "files": files}))
    assert Journal(tmp_path).writing() == {"b": ["/v/b.py", "/v/b-1.dist-info/RECORD"]}


# --- linking several unpacked wheels at once -------------------------------------------------------------------------


@pytest.mark.parametrize("overlap", [False, True], ids=["disjoint", "two-wheels-ship-one-file"])
def test_linking_at_once_gives_what_linking_one_by_one_gives(
    tmp_path: Path, make_venv: Callable[[Path], Target], monkeypatch: pytest.MonkeyPatch, *, overlap: bool
) -> None:
    monkeypatch.setattr(_link, "_LINK_WORKERS", 2)
    wheels = [
        make_wheel(
            tmp_path / "w",
            f"pkg{n}",
            "1.0",
            modules={f"pkg{n}/__init__.py": f"N = {n}\n", f"pkg{n}/sub/mod.py": ""}
            | ({"shared/clash.py": f"WHO = {n}\n"} if overlap and n in {1, 4} else {}),
            console_scripts={f"tool{n}": f"pkg{n}:main"},
            data={f"data/share/pkg{n}.txt": b"x"},
        )
        for n in range(6)
    ]
    cache = Cache(tmp_path / "cache")
    trees: dict[str, dict[str, bytes]] = {}
    threads: dict[str, set[str]] = {}
    path = tmp_path / "venv"  # one path for both, so shebangs and RECORD hashes can be compared
    for how in ("one-by-one", "at-once"):
        shutil.rmtree(path, ignore_errors=True)
        installer = LinkInstaller(make_venv(path), cache)
        items = [(wheel, from_cache(wheel)) for wheel in wheels]
        for item in items:
            installer.check(*item)
        real = installer.install
        seen = threads[how] = set()
        both = threading.Event()  # disjoint wheels wait for the second worker: a loaded machine may start it late
        if how == "one-by-one":
            both.set()

        def install(
            wheel: Path,
            wanted: Wanted,
            real: Callable[..., None] = real,
            seen: set[str] = seen,
            both: threading.Event = both,
        ) -> None:
            seen.add(threading.current_thread().name)
            if len(seen) == 2:  # the two workers
                both.set()
            if not overlap:
                both.wait(timeout=10)
            real(wheel, wanted)

        monkeypatch.setattr(installer, "install", install)
        if how == "at-once":
            installer.install_all(items)
        else:
            for item in items:
                installer.install(*item)
        trees[how] = _snapshot(path)
    assert trees["at-once"] == trees["one-by-one"]
    clash = "lib/python3.12/site-packages/shared/clash.py"
    assert trees["at-once"].get(clash) == (b"WHO = 4\n" if overlap else None)  # the later wheel's file, as in order
    assert len(threads["one-by-one"]) == 1
    assert len(threads["at-once"]) == (1 if overlap else 2)  # the same file from two wheels: in the lock's order


@pytest.mark.parametrize("library", ["lib", "lib64"])  # the venv's lib64 is a link to lib
def test_two_wheels_that_place_one_file_through_different_schemes_keep_the_locks_order(
    tmp_path: Path, make_venv: Callable[[Path], Target], monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    # found by mutation testing: the check that no two trees write the same file compared scheme names, so a module
    # in one wheel's root and the same file in another's .data/data/lib/.../site-packages were placed at once, and
    # the earlier wheel's file could win; one by one, as pip and uv install, the later wheel's does
    monkeypatch.setattr(_link, "_LINK_WORKERS", 2)
    site = "python3.12/site-packages/shared/clash.py"
    clash = f"lib/{site}"
    wheels = [
        make_wheel(tmp_path / "w", "first", "1.0", modules={"first/__init__.py": "", "shared/clash.py": "WHO = 1\n"}),
        make_wheel(
            tmp_path / "w",
            "second",
            "1.0",
            modules={"second/__init__.py": ""},
            data={f"data/{library}/{site}": b"WHO = 2\n"},
        ),
    ]
    path = tmp_path / "venv"
    installer = LinkInstaller(make_venv(path), Cache(tmp_path / "cache"))
    items = [(wheel, from_cache(wheel)) for wheel in wheels]
    for item in items:
        installer.check(*item)
    real = installer.install
    second_placed = threading.Event()

    def install(wheel: Path, wanted: Wanted) -> None:
        if wanted.pick.name == "first" and threading.current_thread().name.startswith("venvsync-link"):
            second_placed.wait(timeout=10)  # placed at the same time as the second: the second finishes first
        real(wheel, wanted)
        if wanted.pick.name == "second":
            second_placed.set()

    monkeypatch.setattr(installer, "install", install)
    installer.install_all(items)
    assert (path / clash).read_text() == "WHO = 2\n"


@pytest.mark.parametrize(
    "interpreter",
    [
        pytest.param("/venv/bin/python", id="plain"),
        pytest.param("/home/a user/venv/bin/python", id="space"),
        pytest.param("/" + "d" * 116 + "/bin/py", id="longest-plain"),  # 124 characters: with #! and newline, 127
        pytest.param("/" + "d" * 117 + "/bin/py", id="one-too-long"),
        pytest.param("/srv/it's/bin/python", id="quote"),
    ],
)
@pytest.mark.parametrize(("attr", "section"), [("main", "console"), ("cli.run", "console"), ("gui", "gui")])
def test_a_script_is_what_pypa_installer_writes(interpreter: str, attr: str, section: str) -> None:
    from installer.scripts import Script  # noqa: PLC0415  # the reference

    name, expected = Script("tool", "pkg.sub", attr, section).generate(interpreter, "posix")  # type: ignore[arg-type]
    assert name == "tool"
    assert _script("pkg.sub", attr, interpreter) == expected


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
@pytest.mark.parametrize("where", ["venv", "a venv"], ids=["plain", "space"])
def test_data_scripts_get_their_whole_python_line_made_the_venvs(
    tmp_path: Path, make_venv: Callable[[Path], Target], where: str, how: str
) -> None:
    # pip and pypa/installer replace the whole first line: #!python3.11 and a CRLF line name no interpreter here
    scripts = {
        "scripts/plain": b"#!python\nprint('plain ran')\n",
        "scripts/versioned": b"#!python3.11\nprint('versioned ran')\n",
        "scripts/crlf": b"#!python\r\nprint('crlf ran')\r\n",
        "scripts/shell": b"#!/bin/sh\necho shell ran\n",
    }
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", data=scripts)
    path = tmp_path / where
    target = make_venv(path)
    installer = LinkInstaller(target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(target)
    wanted = from_cache(wheel) if how == "linked" else _wanted("tool", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    for name in ("plain", "versioned", "crlf", "shell"):
        done = subprocess.run([str(path / "bin" / name)], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, f"{name} ran"), done.stderr
    assert (path / "bin" / "shell").read_bytes() == scripts["scripts/shell"]  # only #!python lines are made
    assert not check_records(scan([Path(target.scheme["purelib"])]), path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
def test_data_scripts_are_executable_however_the_wheel_marks_them(venv: Venv, tmp_path: Path, how: str) -> None:
    # found by QA installing a wheel of such scripts both ways: one the wheel's zip marks 0644 (a builder on Windows,
    # a script committed without its bit) was made 0755 from the cache, as uv makes it, and left 0644 by
    # pypa/installer's way (a wheel built here or given to --installpkg): the same lock's command then could not run
    scripts = {"scripts/plain": b"#!python\nprint('plain ran')\n", "scripts/shell": b"#!/bin/sh\necho shell ran\n"}
    built = make_wheel(tmp_path / "built", "tool", "1.0", data=scripts)
    wheel = tmp_path / "w" / built.name
    wheel.parent.mkdir()
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            data = source.read(info)
            info.external_attr = 0o100644 << 16  # no execute bit on any entry
            copy.writestr(info, data)
    installer = (
        LinkInstaller(venv.target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(venv.target)
    )
    wanted = from_cache(wheel) if how == "linked" else _wanted("tool", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    for name in ("plain", "shell"):
        assert stat.S_IMODE((venv.bin / name).stat().st_mode) & 0o111 == 0o111
        done = subprocess.run([str(venv.bin / name)], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, f"{name} ran"), done.stderr
    assert not check_records(scan([venv.site]), venv.path)


@pytest.mark.parametrize("how", ["linked", "pypa/installer"])
@pytest.mark.parametrize("where", ["a\tvenv", "a\nvenv"], ids=["tab", "newline"])
def test_scripts_run_in_a_venv_whose_path_the_kernel_would_cut(
    tmp_path: Path, make_venv: Callable[[Path], Target], where: str, how: str
) -> None:
    # found by QA: the kernel ends a #! line's interpreter at a tab and the line at a newline; the scripts named
    # the path as it is (only a space went through /bin/sh, as in pypa/installer, pip and uv) and did not start
    modules = {"tool/__init__.py": "def main():\n    print('console ran')\n"}
    data = {"scripts/plain": b"#!python\nprint('plain ran')\n"}
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", modules=modules, console_scripts={"tool": "tool:main"}, data=data)
    path = tmp_path / where
    target = make_venv(path)
    installer = LinkInstaller(target, Cache(tmp_path / "cache")) if how == "linked" else WheelInstaller(target)
    wanted = from_cache(wheel) if how == "linked" else _wanted("tool", "1.0")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    for name, said in (("tool", "console ran"), ("plain", "plain ran")):
        done = subprocess.run([str(path / "bin" / name)], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, said), done.stderr
        assert (path / "bin" / name).read_bytes().startswith(b"#!/bin/sh\n")
    assert not check_records(scan([Path(target.scheme["purelib"])]), path)


_LINK_WITH_SCRIPT = """
import sys
from pathlib import Path
from _support.installs import from_cache
from tox_venvsync._link import LinkInstaller
from tox_venvsync._cache import Cache
from tox_venvsync._target import TargetMemo

venv, wheel, cache = (Path(arg) for arg in sys.argv[1:])
installer = LinkInstaller(TargetMemo(venv, venv / "bin" / "python").load(), Cache(cache))
installer.check(wheel, from_cache(wheel))
installer.install(wheel, from_cache(wheel))
print(sorted(name for name in sys.modules if name == "installer" or name.startswith("installer.")))
"""


def test_a_linked_install_with_a_console_script_loads_no_pypa_installer(
    tmp_path: Path, make_venv: Callable[[Path], Target]
) -> None:
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", console_scripts={"tool": "tool:main"})
    venv = tmp_path / "venv"
    make_venv(venv)
    args = [str(venv), str(wheel), str(tmp_path / "cache")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", _LINK_WITH_SCRIPT, *args], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
    assert (venv / "bin" / "tool").read_bytes().startswith(b"#!" + str(venv / "bin" / "python").encode() + b"\n")


def test_generated_files_are_linked_from_one_shared_copy(tmp_path: Path, make_venv: Callable[[Path], Target]) -> None:
    wheels = [
        make_wheel(tmp_path / "w", "tool", "1.0", console_scripts={"tool": "tool:main"}),
        make_wheel(tmp_path / "w", "lib", "1.0"),
    ]
    cache = Cache(tmp_path / "cache")

    def venv_with_both(name: str) -> Path:
        path = tmp_path / name
        installer = LinkInstaller(make_venv(path), cache)
        for wheel in wheels:
            installer.check(wheel, from_cache(wheel))
            installer.install(wheel, from_cache(wheel))
        return path / "lib" / "python3.12" / "site-packages"

    one, two = venv_with_both("one"), venv_with_both("two")

    def same_file(relative: str) -> bool:
        return (one / relative).stat().st_ino == (two / relative).stat().st_ino

    # the same bytes in both venvs: one file, linked from the cache's copy
    for name in ("tool-1.0.dist-info/INSTALLER", "tool-1.0.dist-info/venvsync.json", "lib-1.0.dist-info/RECORD"):
        assert same_file(name), name
    assert (one / "tool-1.0.dist-info" / "INSTALLER").read_bytes() == INSTALLER_NAME
    # a console script names its venv's interpreter, and the RECORD that lists it differs too
    assert not same_file("tool-1.0.dist-info/RECORD")
    assert (tmp_path / "one/bin/tool").stat().st_ino != (tmp_path / "two/bin/tool").stat().st_ino
    assert os.access(tmp_path / "one/bin/tool", os.X_OK)

    # someone edits an installed copy in place: the next install does not spread the edit
    (one / "lib-1.0.dist-info" / "INSTALLER").write_bytes(b"edited by hand\n")
    three = venv_with_both("three")
    assert (three / "lib-1.0.dist-info" / "INSTALLER").read_bytes() == INSTALLER_NAME


def test_a_mode_changed_on_an_installed_copy_does_not_reach_the_next_install(
    tmp_path: Path, make_venv: Callable[[Path], Target]
) -> None:
    # found by QA: chmod a-x of a console script (a hard link to the cache's shared copy) changed that copy too, and
    # the venv made again at the same path (tox -r) linked it: its script could not be run ("Permission denied")
    wheel = make_wheel(tmp_path / "w", "tool", "1.0", console_scripts={"tool": "tool:main"})
    cache = Cache(tmp_path / "cache")
    venv = tmp_path / "venv"
    for _ in range(2):
        shutil.rmtree(venv, ignore_errors=True)
        installer = LinkInstaller(make_venv(venv), cache)
        installer.check(wheel, from_cache(wheel))
        installer.install(wheel, from_cache(wheel))
        script, installed = venv / "bin" / "tool", venv / "lib/python3.12/site-packages/tool-1.0.dist-info/INSTALLER"
        assert (stat.S_IMODE(script.stat().st_mode), stat.S_IMODE(installed.stat().st_mode)) == (0o755, 0o644)
        script.chmod(0o644)
        installed.chmod(0o600)


def _opened(fd: int) -> Path:
    return Path(f"/proc/self/fd/{fd}").readlink()


class _FakeFcntl:
    """Stands in for ``fcntl`` in ``_link``: records each ioctl and clones by copying, or refuses with ``errno``."""

    def __init__(self, errno: int | None = None) -> None:
        self.errno = errno
        self.calls: list[tuple[int, Path, Path]] = []

    def ioctl(self, fd: int, request: int, arg: int) -> int:
        self.calls.append((request, _opened(fd), _opened(arg)))
        if self.errno is not None:
            raise OSError(self.errno, os.strerror(self.errno))
        os.write(fd, os.read(arg, 1 << 20))  # the test's files are small
        return 0


def _copy_mode_install(tmp_path: Path, make_venv: Callable[[Path], Target], name: str) -> tuple[Path, Path]:
    """A wheel installed with copies (a module, a data file and a script); its site-packages and cache tree."""
    wheel = make_wheel(
        tmp_path / "w",
        "tool",
        "1.0",
        modules={"tool/__init__.py": "X = 1\n", "tool/sub/mod.py": "Y = 2\n"},
        data={"scripts/run-tool": b"#!/bin/sh\necho hi\n"},
    )
    path = tmp_path / name
    target = make_venv(path)
    cache = Cache(tmp_path / "cache")
    installer = LinkInstaller(target, cache, link=False)
    installer.check(wheel, from_cache(wheel))
    installer.install(wheel, from_cache(wheel))
    (tree,) = (cache.root / "unpacked").glob("*/*/*")
    return path / "lib" / "python3.12" / "site-packages", tree


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="copy-on-write clones are Linux's FICLONE")
def test_copy_mode_clones_each_file_where_the_filesystem_can(
    tmp_path: Path, make_venv: Callable[[Path], Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _FakeFcntl()
    monkeypatch.setattr(_link, "fcntl", fake)
    site, tree = _copy_mode_install(tmp_path, make_venv, "venv")
    # each clone is made under a temporary name beside its destination, then renamed over it
    temporary = re.compile(rf"^\.\d+\.\d+{re.escape(_apply.TEMPORARY_SUFFIX)}$")
    cloned = {
        ((dst.parent / Path(src).name).relative_to(site).as_posix(), src.relative_to(tree).as_posix())
        for _, dst, src in fake.calls
    }
    assert all(temporary.match(dst.name) for _, dst, _ in fake.calls)
    assert not list(site.rglob(f"*{_apply.TEMPORARY_SUFFIX}"))
    assert {request for request, _, _ in fake.calls} == {0x40049409}  # FICLONE, destination fd first
    assert cloned == {("tool/__init__.py", "tool/__init__.py"), ("tool/sub/mod.py", "tool/sub/mod.py")} | {
        (f"tool-1.0.dist-info/{n}", f"tool-1.0.dist-info/{n}") for n in ("METADATA", "WHEEL")
    }
    assert (site / "tool" / "sub" / "mod.py").read_text() == "Y = 2\n"
    assert (site / "tool" / "sub" / "mod.py").stat().st_nlink == 1


@pytest.mark.parametrize("errno", [95, 18], ids=["EOPNOTSUPP", "EXDEV"])
def test_copy_mode_copies_bytes_where_the_filesystem_cannot_clone(
    tmp_path: Path, make_venv: Callable[[Path], Target], monkeypatch: pytest.MonkeyPatch, errno: int
) -> None:
    fake = _FakeFcntl(errno)
    monkeypatch.setattr(_link, "fcntl", fake)
    site, tree = _copy_mode_install(tmp_path, make_venv, "venv")
    assert len(fake.calls) == (1 if sys.platform.startswith("linux") else 0)  # refused once: the rest are copied
    for relative in ("tool/__init__.py", "tool/sub/mod.py", "tool-1.0.dist-info/METADATA"):
        installed, cached = site / relative, tree / relative
        assert installed.read_bytes() == cached.read_bytes()
        assert installed.stat().st_ino != cached.stat().st_ino
    assert os.access(site.parents[2] / "bin" / "run-tool", os.X_OK)


def _shared_extent(path: Path) -> tuple[int, bool]:
    """The physical address of the file's first extent and whether the filesystem says it is shared (FIEMAP)."""
    import fcntl  # noqa: PLC0415  # Linux only

    request = struct.pack("=QQIIII", 0, 2**64 - 1, 1, 0, 1, 0) + bytes(56)  # FIEMAP_FLAG_SYNC, one extent
    with path.open("rb") as handle:
        reply = fcntl.ioctl(handle.fileno(), 0xC020660B, request)  # FS_IOC_FIEMAP
    _, physical, _ = struct.unpack_from("=QQQ", reply, 32)
    (flags,) = struct.unpack_from("=I", reply, 32 + 40)
    return physical, bool(flags & 0x2000)  # FIEMAP_EXTENT_SHARED


@pytest.mark.skipif(
    not os.environ.get("TOX_VENVSYNC_TEST_COW_DIR"),
    reason="set TOX_VENVSYNC_TEST_COW_DIR to a directory on btrfs or XFS (reflink=1) to run it",
)
def test_copy_mode_shares_blocks_on_a_copy_on_write_filesystem(make_venv: Callable[[Path], Target]) -> None:
    root = Path(tempfile.mkdtemp(dir=os.environ["TOX_VENVSYNC_TEST_COW_DIR"]))
    try:
        site, tree = _copy_mode_install(root, make_venv, "venv")
        installed, cached = site / "tool" / "sub" / "mod.py", tree / "tool" / "sub" / "mod.py"
        assert installed.stat().st_ino != cached.stat().st_ino
        assert _shared_extent(installed) == _shared_extent(cached)
        assert _shared_extent(installed)[1]
        installed.write_text("Y = 3\n")  # copy on write: the cache's copy stays
        assert cached.read_text() == "Y = 2\n"
    finally:
        shutil.rmtree(root)


def test_copy_mode_writes_every_generated_file(tmp_path: Path, make_venv: Callable[[Path], Target]) -> None:
    wheel = make_wheel(tmp_path / "w", "tool", "1.0")
    path = tmp_path / "venv"
    installer = LinkInstaller(make_venv(path), Cache(tmp_path / "cache"), link=False)
    installer.check(wheel, from_cache(wheel))
    installer.install(wheel, from_cache(wheel))
    dist_info = path / "lib" / "python3.12" / "site-packages" / "tool-1.0.dist-info"
    assert all(p.stat().st_nlink == 1 for p in dist_info.iterdir())
    assert not (tmp_path / "cache" / "files").exists()


def test_a_write_error_that_names_no_file_is_named_by_the_file_being_replaced(tmp_path: Path) -> None:
    # a file object's write on a full disk raises naming no file: "No space left on device; free some space ..." said
    # nowhere where (found by QA filling a tmpfs)
    destination = tmp_path / "RECORD"

    def full_disk() -> None:
        with _replacing(str(destination)) as temporary:
            Path(temporary).write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match="No space left") as info:
        full_disk()
    assert (info.value.errno, info.value.filename) == (errno.ENOSPC, str(destination))
    assert list(tmp_path.iterdir()) == []


_NESTED = {
    "deep/__init__.py": "",
    "deep/a/__init__.py": "",
    "deep/a/b/__init__.py": "",
    "deep/a/b/c/mod.py": "V = 1\n",
    "deep/x/y.py": "",
}


def _lstats_under(monkeypatch: pytest.MonkeyPatch, directory: Path) -> list[str]:
    """The paths below ``directory`` that ``os.lstat`` is asked about from now on (it answers as before)."""
    asked: list[str] = []
    real = os.lstat

    def lstat(path: str | os.PathLike[str], *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path).startswith(f"{directory}{os.sep}"):
            asked.append(os.path.relpath(path, directory))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", lstat)
    return asked


def test_a_new_package_s_directories_are_looked_at_for_links_out_only_up_to_the_first_missing_one(
    venv: Venv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # below a directory the venv lacks, every directory is made by the placement: a new venv's 400 of them each cost
    # an lstat twice (when the cache's tree was taken, and as it was placed) to find what the first one had found
    wheel = make_wheel(tmp_path / "w", "deep", "1.0", modules=_NESTED)
    wanted = from_cache(wheel)
    cache = Cache(tmp_path / "cache")
    LinkInstaller(venv.target, cache).check(wheel, wanted)  # unpacked into the cache
    installer = LinkInstaller(venv.target, cache)
    asked = _lstats_under(monkeypatch, venv.site)
    assert installer.ready(wheel, wanted)
    assert [path for path in asked if path.partition("/")[0] == "deep"] == ["deep"]
    asked.clear()
    installer.install(wheel, wanted)
    assert [path for path in asked if path.partition("/")[0] == "deep"] == ["deep"]
    assert (venv.site / "deep" / "a" / "b" / "c" / "mod.py").read_text() == "V = 1\n"


def test_a_link_out_of_the_venv_below_directories_it_has_is_still_found(venv: Venv, tmp_path: Path) -> None:
    theirs = tmp_path / "checkout"
    theirs.mkdir()
    (venv.site / "deep" / "a").mkdir(parents=True)
    (venv.site / "deep" / "a" / "b").symlink_to(theirs)
    wheel = make_wheel(tmp_path / "w", "deep", "1.0", modules=_NESTED)
    with pytest.raises(InstallError, match=re.escape(f"{venv.site / 'deep' / 'a' / 'b'} is a link to {theirs}")):
        LinkInstaller(venv.target, Cache(tmp_path / "cache")).check(wheel, from_cache(wheel))
    assert list(theirs.iterdir()) == []


def test_a_directory_link_that_stays_inside_the_venv_is_placed_through(venv: Venv, tmp_path: Path) -> None:
    # a link that leads inside the venv is the venv's own layout, not a user's checkout: a platlib reached through
    # lib64 -> lib (Fedora's), a package directory linked to another in site-packages; only a link out stops the
    # install (no test held the difference: mutation testing)
    (venv.site / "elsewhere" / "a").mkdir(parents=True)
    (venv.site / "deep").symlink_to(venv.site / "elsewhere")
    wheel = make_wheel(tmp_path / "w", "deep", "1.0", modules=_NESTED)
    installer = LinkInstaller(venv.target, Cache(tmp_path / "cache"))
    installer.check(wheel, from_cache(wheel))
    installer.install(wheel, from_cache(wheel))
    assert (venv.site / "elsewhere" / "a" / "b" / "c" / "mod.py").read_text() == "V = 1\n"
