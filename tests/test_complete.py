"""The requirements lock's completeness check's parts (the check itself: tests/test_sources.py)."""

from __future__ import annotations

import struct
import zipfile
from email.parser import HeaderParser
from typing import TYPE_CHECKING

import pytest

from tox_venvsync._complete import requires_dist, wheel_metadata
from tox_venvsync._errors import BadInputError

if TYPE_CHECKING:
    from pathlib import Path


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


def test_a_wheel_whose_metadata_zipfile_cannot_read_is_a_bad_zip_not_a_traceback(tmp_path: Path) -> None:
    # an encrypted METADATA raised zipfile's RuntimeError, which no caller handles (found by the security pass)
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
    data = bytearray(wheel.read_bytes())
    for at in (6, data.find(b"PK\x01\x02") + 8):  # the encrypted bit, in the local header and the directory
        struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | 1)
    wheel.write_bytes(bytes(data))
    with pytest.raises(zipfile.BadZipFile, match=r"^pkg-1.0.dist-info/METADATA cannot be read \(File .* encrypted"):
        wheel_metadata(wheel)
