"""Write PEP 751 ``pylock.toml`` files for tests from real wheel files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import tomli_w

from _support.wheels import sha256_file

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def wheel_entry(
    wheel: Path,
    *,
    url: str | None = None,
    path: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> dict[str, object]:
    """Return a ``[[packages.wheels]]`` table for *wheel*.

    Exactly one of *url* and *path* is written; with neither, ``url`` is the wheel's ``file:`` URI.
    *sha256* and *size* override the real digest and size, for tests of mismatches.
    """
    if url is not None and path is not None:
        msg = "give url or path, not both"
        raise ValueError(msg)
    entry: dict[str, object] = {"name": wheel.name}
    if path is not None:
        entry["path"] = path
    else:
        entry["url"] = url if url is not None else wheel.resolve().as_uri()
    entry["size"] = wheel.stat().st_size if size is None else size
    entry["hashes"] = {"sha256": sha256_file(wheel) if sha256 is None else sha256}
    return entry


def package_entry(
    name: str,
    version: str,
    wheels: Sequence[dict[str, object]],
    *,
    marker: str | None = None,
    requires_python: str | None = None,
) -> dict[str, object]:
    """Return a ``[[packages]]`` table for *name* at *version* with the given wheel tables."""
    entry: dict[str, object] = {"name": name, "version": version}
    if marker is not None:
        entry["marker"] = marker
    if requires_python is not None:
        entry["requires-python"] = requires_python
    entry["wheels"] = list(wheels)
    return entry


def pylock_dict(  # noqa: PLR0913  # one keyword per top-level key of the spec
    packages: Sequence[dict[str, object]],
    *,
    requires_python: str | None = None,
    environments: Sequence[str] | None = None,
    extras: Sequence[str] | None = None,
    dependency_groups: Sequence[str] | None = None,
    default_groups: Sequence[str] | None = None,
    lock_version: str = "1.0",
) -> dict[str, object]:
    """Return the top-level pylock table with ``created-by = "tests"``; optional keys appear only when given."""
    document: dict[str, object] = {"lock-version": lock_version}
    if environments is not None:
        document["environments"] = list(environments)
    if requires_python is not None:
        document["requires-python"] = requires_python
    if extras is not None:
        document["extras"] = list(extras)
    if dependency_groups is not None:
        document["dependency-groups"] = list(dependency_groups)
    if default_groups is not None:
        document["default-groups"] = list(default_groups)
    document["created-by"] = "tests"
    document["packages"] = list(packages)
    return document


def write_pylock(  # noqa: PLR0913  # one keyword per top-level key of the spec
    path: Path,
    packages: Sequence[dict[str, object]],
    *,
    requires_python: str | None = None,
    environments: Sequence[str] | None = None,
    extras: Sequence[str] | None = None,
    dependency_groups: Sequence[str] | None = None,
    default_groups: Sequence[str] | None = None,
    lock_version: str = "1.0",
) -> Path:
    """Write a ``pylock.toml`` at *path* (see :func:`pylock_dict`) and return *path*."""
    document = pylock_dict(
        packages,
        requires_python=requires_python,
        environments=environments,
        extras=extras,
        dependency_groups=dependency_groups,
        default_groups=default_groups,
        lock_version=lock_version,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path
