"""Build real, deterministic wheel files for tests without any build backend."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 16


def normalize_dist(name: str) -> str:
    """Return the wheel-spec file-name form of a distribution name (lowercase, runs of ``-_.`` as ``_``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 digest of the file at *path*."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record_hash(content: bytes) -> str:
    raw = hashlib.sha256(content).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _metadata(name: str, version: str, requires_dist: Sequence[str], requires_python: str | None) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.extend([f"Requires-Python: {requires_python}"] if requires_python else [])
    lines.extend(f"Requires-Dist: {requirement}" for requirement in requires_dist)
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _wheel_file(tag: str) -> bytes:
    purelib = "true" if tag.endswith("none-any") else "false"
    lines = ["Wheel-Version: 1.0", "Generator: tests._support.wheels", f"Root-Is-Purelib: {purelib}"]
    python_tags, abi_tags, platform_tags = tag.split("-")
    lines.extend(
        f"Tag: {python_tag}-{abi_tag}-{platform_tag}"
        for python_tag in python_tags.split(".")
        for abi_tag in abi_tags.split(".")
        for platform_tag in platform_tags.split(".")
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _entry_points(console_scripts: Mapping[str, str]) -> bytes:
    lines = ["[console_scripts]"]
    lines.extend(f"{script} = {target}" for script, target in console_scripts.items())
    return ("\n".join(lines) + "\n").encode("utf-8")


def make_wheel(  # noqa: PLR0913  # the keyword options mirror what a wheel can hold
    directory: Path,
    name: str,
    version: str,
    *,
    modules: Mapping[str, str] | None = None,
    console_scripts: Mapping[str, str] | None = None,
    requires_dist: Sequence[str] = (),
    tag: str = "py3-none-any",
    data: Mapping[str, bytes] | None = None,
    extra_entries: Mapping[str, bytes] | None = None,
    record: bytes | None = None,
    requires_python: str | None = None,
) -> Path:
    """Write a real wheel to ``directory/{dist}-{version}-{tag}.whl`` and return its path.

    *modules* maps archive paths (``"pkg/__init__.py"``) to source text; by default one ``{dist}/__init__.py``
    holding ``__version__``. *data* maps ``"<scheme>/<path>"`` to bytes placed under ``{dist}-{version}.data/``.
    *extra_entries* are raw archive names added verbatim (and listed in RECORD), for hostile-archive tests.
    *record* replaces the RECORD bytes verbatim. Timestamps are fixed, so equal inputs give byte-identical files.
    """
    dist = normalize_dist(name)
    if modules is None:
        modules = {f"{dist}/__init__.py": f'__version__ = "{version}"\n'}
    dist_info = f"{dist}-{version}.dist-info"
    data_dir = f"{dist}-{version}.data"

    entries: dict[str, bytes] = {path: source.encode("utf-8") for path, source in modules.items()}
    entries.update({f"{data_dir}/{path}": content for path, content in (data or {}).items()})
    entries.update(extra_entries or {})
    entries[f"{dist_info}/METADATA"] = _metadata(name, version, requires_dist, requires_python)
    entries[f"{dist_info}/WHEEL"] = _wheel_file(tag)
    if console_scripts:
        entries[f"{dist_info}/entry_points.txt"] = _entry_points(console_scripts)

    record_name = f"{dist_info}/RECORD"
    if record is None:
        rows = [(path, _record_hash(content), str(len(content))) for path, content in entries.items()]
        buffer = io.StringIO()  # as csv writes it: a name with a comma or a quote is quoted, as pip and installer do
        csv.writer(buffer, lineterminator="\n").writerows([*rows, (record_name, "", "")])
        record = buffer.getvalue().encode("utf-8")
    entries[record_name] = record

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in entries.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if _is_executable(path, data_dir) else 0o100644) << 16
            archive.writestr(info, content)
    return target


def _is_executable(path: str, data_dir: str) -> bool:
    return path.startswith(f"{data_dir}/scripts/")
