"""Source projects made on the fly, with a PEP 517 backend inside them that needs nothing from an index."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

BACKEND = '''
"""Builds the wheel of this tree by hand: every file under src/, or a .pth to src/ for an editable."""
import base64, hashlib, os, tomllib, zipfile

def _meta():
    with open("pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    return project["name"].replace("-", "_"), project["version"]

def _line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"

def _wheel(directory, files):
    name, version = _meta()
    dist = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    lines = [_line(p, d) for p, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\\n".join(lines) + "\\n").encode()
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as archive:
        for path, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return wheel

def _sources():
    found = {}
    for folder, folders, names in os.walk("src"):
        folders[:] = [name for name in folders if name != "__pycache__"]  # as hatchling and setuptools leave it out
        for file in names:
            path = os.path.join(folder, file)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, "src").replace(os.sep, "/")] = handle.read()
    return found

def get_requires_for_build_wheel(config_settings=None):
    return []

get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, _sources())

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name, _ = _meta()
    return _wheel(wheel_directory, {f"_{name}_editable.pth": (os.path.abspath("src") + "\\n").encode()})
'''

PYPROJECT = """[build-system]
requires = []
build-backend = "backend"
backend-path = ["_build"]

[project]
name = "{name}"
version = "{version}"
"""


def write_project(root: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    """A source tree at ``root``: ``files`` are paths under ``src/`` (``pkg/__init__.py``) and their text."""
    (root / "_build").mkdir(parents=True, exist_ok=True)
    (root / "_build" / "backend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version))
    for path, text in files.items():
        target = root / "src" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def make_sdist(directory: Path, tree: Path, name: str, version: str) -> Path:
    """A ``.tar.gz`` sdist of ``tree`` with the usual ``name-version/`` top directory (deterministic)."""
    top = f"{name.replace('-', '_')}-{version}"
    sdist = directory / f"{top}.tar.gz"
    with tarfile.open(sdist, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{top}/{path.relative_to(tree).as_posix()}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return sdist
