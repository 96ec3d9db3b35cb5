"""Hermetic test helpers: real wheels, a local PEP 503 index and PEP 751 lock files."""

from __future__ import annotations
