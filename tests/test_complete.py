"""The requirements lock's completeness check's parts (the check itself: tests/test_sources.py)."""

from __future__ import annotations

from email.parser import HeaderParser

import pytest

from tox_venvsync._complete import requires_dist
from tox_venvsync._errors import BadInputError


def test_requires_dist_reads_each_line_and_names_an_unreadable_one_in_the_callers_sentence() -> None:
    metadata = HeaderParser().parsestr("Name: a\nRequires-Dist: b>=1\nRequires-Dist: c; extra == 'x'\n")
    assert [str(r) for r in requires_dist(metadata, "unused {exc}")] == ["b>=1", 'c; extra == "x"']
    broken = HeaderParser().parsestr("Name: a\nRequires-Dist: b >= = 1\n")
    with pytest.raises(BadInputError) as info:
        requires_dist(broken, "the wheel /tmp/{odd}/a.whl has unreadable metadata ({exc}); rebuild it")
    message = str(info.value)
    assert message.startswith("the wheel /tmp/{odd}/a.whl has unreadable metadata (")  # braces of a path stay
    assert message.endswith("); rebuild it")
    assert "{exc}" not in message
