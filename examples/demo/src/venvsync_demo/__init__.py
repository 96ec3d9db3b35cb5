"""A tiny library for the tox-venvsync demo: compare version strings with packaging."""

from __future__ import annotations

from packaging.version import Version


def is_newer(a: str, b: str) -> bool:
    """Whether version ``a`` is newer than version ``b`` (PEP 440 ordering, not string ordering)."""
    return Version(a) > Version(b)
