"""tox-venvsync: a tox environment that keeps its venv where you say and syncs it exactly from a lockfile."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
