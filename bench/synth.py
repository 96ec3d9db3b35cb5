"""Synthetic wheels and a project that depends on all of them, for the scaling run (50 / 200 / 500 packages).

Each wheel ``synth-NNNN`` is a real, pure ``py3-none-any`` wheel with a package of ``MODULES`` small modules,
``METADATA``, ``WHEEL`` and a ``RECORD`` of sha256 hashes; a few in every ten depend on the one before, so the
lock has edges too. Wheels are deterministic (fixed zip dates), so a rebuilt wheelhouse has the same hashes.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

#: modules per synthetic package: real packages average a few dozen files; ten keeps 500 packages at 6,000 files
MODULES = 10
_DATE = (1980, 1, 1, 0, 0, 0)


def name_of(number: int) -> str:
    """The distribution name of synthetic package ``number``."""
    return f"synth-{number:04d}"


def _record_hash(content: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, number: int) -> Path:
    """Write the wheel of synthetic package ``number`` (version 1.0.0) into ``directory``; return its path."""
    dist = name_of(number).replace("-", "_")
    version = "1.0.0"
    requires = [f"Requires-Dist: {name_of(number - 1)}"] if number % 10 in {3, 6, 9} else []
    files: dict[str, bytes] = {}
    for module in range(MODULES):
        body = "".join(
            f"def function_{i}(value: int) -> int:\n    return value * {i} + {number}\n\n" for i in range(40)
        )
        files[f"{dist}/module_{module}.py"] = f'"""Module {module} of {dist}."""\n\n{body}'.encode()
    files[f"{dist}/__init__.py"] = f'__version__ = "{version}"\n'.encode()
    info = f"{dist}-{version}.dist-info"
    metadata = [f"Metadata-Version: 2.1\nName: {name_of(number)}\nVersion: {version}", *requires]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n\n").encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bench/synth.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{path},{_record_hash(content)},{len(content)}" for path, content in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, _DATE), content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def make_wheelhouse(directory: Path, count: int) -> list[Path]:
    """Wheels ``synth-0000`` to ``synth-{count-1}`` in ``directory`` (kept when already there)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = directory / f"{name_of(number).replace('-', '_')}-1.0.0-py3-none-any.whl"
        paths.append(path if path.is_file() else make_wheel(directory, number))
    return paths


def pyproject(count: int, index: str) -> str:
    """A virtual project depending on every synthetic package, with the local index as uv's default."""
    deps = "".join(f'  "{name_of(number)}",\n' for number in range(count))
    return (
        f'[project]\nname = "synth-app"\nversion = "1.0.0"\nrequires-python = ">=3.12"\ndependencies = [\n{deps}]\n\n'
        f'[[tool.uv.index]]\nname = "local"\nurl = "{index}/simple"\ndefault = true\n'
    )
