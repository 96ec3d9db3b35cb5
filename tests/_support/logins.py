"""Tests start with no login: the ones learnt from URLs are kept for the process, the netrc file's for its name."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING

from tox_venvsync import _session

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pytest


def forget_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh table of logins for this test (see ``_session._logins``)."""
    monkeypatch.setattr(_session, "_logins", ContextVar("logins", default=_session._Logins()))  # noqa: B039  # a fresh table


@contextlib.contextmanager
def without_logins(monkeypatch: pytest.MonkeyPatch, netrc: Path) -> Iterator[None]:
    """No login learnt yet, and ``netrc`` (a file that need not exist) as the netrc file, for the block."""
    forget_logins(monkeypatch)
    monkeypatch.setenv("NETRC", str(netrc))
    _session._netrc_entries.cache_clear()
    try:
        yield
    finally:
        _session._netrc_entries.cache_clear()
