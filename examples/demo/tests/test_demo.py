from __future__ import annotations

import pytest
from packaging.version import InvalidVersion

from venvsync_demo import is_newer


def test_numeric_not_lexical() -> None:
    assert is_newer("1.10", "1.9")


def test_pre_release_is_older() -> None:
    assert not is_newer("2.0rc1", "2.0")
    assert is_newer("2.0", "2.0rc1")


def test_invalid_version() -> None:
    with pytest.raises(InvalidVersion):
        is_newer("not a version", "1.0")
