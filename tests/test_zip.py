"""Members are read as zipfile reads them, and an archive that lies about a member is refused as zipfile refuses it."""

from __future__ import annotations

import io
import re
import struct
import tempfile
import zipfile
import zlib
from typing import IO, TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tox_venvsync import _zip
from tox_venvsync._zip import Members

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def build(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return sink.getvalue()


def on_disk(data: bytes) -> IO[bytes]:
    file = tempfile.TemporaryFile()  # noqa: SIM115  # the caller closes it
    file.write(data)
    file.flush()
    return file


def read_all(data: bytes) -> dict[str, bytes]:
    with on_disk(data) as file, zipfile.ZipFile(file) as archive:
        members = Members(archive, file.fileno())
        return {info.filename: members.read(info) for info in archive.infolist()}


def read_in_chunks(data: bytes) -> dict[str, bytes]:
    """As :func:`read_all`, through :meth:`Members.chunks` (with pieces made small: the caller patches CHUNK)."""
    with on_disk(data) as file, zipfile.ZipFile(file) as archive:
        members = Members(archive, file.fileno())
        return {info.filename: b"".join(members.chunks(info)) for info in archive.infolist()}


@pytest.fixture(params=["whole", "in chunks"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], dict[str, bytes]]:
    """Each way of reading members: whole, and in pieces of 7 bytes (a piece ends inside a deflate block)."""
    if request.param == "whole":
        return read_all
    monkeypatch.setattr(_zip, "CHUNK", 7)
    return read_in_chunks


def zipfile_reads(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def central(data: bytes) -> Iterator[int]:
    """The offsets of the central directory's file headers."""
    at = data.find(b"PK\x01\x02")
    while at != -1:
        yield at
        at = data.find(b"PK\x01\x02", at + 4)


def patch(data: bytes, offset: int, fmt: str, value: int | bytes) -> bytes:
    changed = bytearray(data)
    struct.pack_into(fmt, changed, offset, value)
    return bytes(changed)


SMALL = {"pkg/__init__.py": b"X = 1\n" * 40, "pkg/data.bin": bytes(range(256)) * 8, "pkg/empty.txt": b""}


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=str
)
def test_every_method_reads_as_zipfile_reads_it(compression: int, reader: Callable[[bytes], dict[str, bytes]]) -> None:
    data = build(SMALL, compression)
    assert reader(data) == zipfile_reads(data) == SMALL


def test_names_in_code_page_437_and_utf8_and_a_data_descriptor() -> None:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/naïve.py", b"A = 1\n")  # UTF-8 flag set
        info = zipfile.ZipInfo("pkg/plain.py")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as stream:  # written in pieces: sizes in a data descriptor after the data
            stream.write(b"B = 2\n" * 100)
    data = sink.getvalue()
    assert read_all(data) == zipfile_reads(data) == {"pkg/naïve.py": b"A = 1\n", "pkg/plain.py": b"B = 2\n" * 100}


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(
            st.characters(min_codepoint=48, max_codepoint=0x2FF, exclude_characters="/\\"), min_size=1, max_size=12
        ),
        st.binary(max_size=3000),
        max_size=6,
    ),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)
def test_arbitrary_archives_read_as_zipfile_reads_them(members: dict[str, bytes], compression: int) -> None:
    data = build({f"pkg/{name}": content for name, content in members.items()}, compression)
    assert read_all(data) == zipfile_reads(data)


def _second_name_differs(data: bytes) -> bytes:
    at = data.find(b"pkg/data.bin")  # the first occurrence is the local header's
    return data[:at] + b"pkg/DATA.bin" + data[at + len(b"pkg/data.bin") :]


def _first_overruns(data: bytes) -> bytes:
    first = next(central(data))  # its compressed size reaches into the second member
    return patch(data, first + 20, "<L", struct.unpack_from("<L", data, first + 20)[0] + 40)


def _shares_a_header(data: bytes) -> bytes:
    second = list(central(data))[1]
    return patch(data, second + 42, "<L", 0)


def _cut_short(data: bytes) -> bytes:
    first = next(central(data))
    return patch(data, first + 20, "<L", struct.unpack_from("<L", data, first + 20)[0] - 4)


def _inflates_past_its_size(data: bytes) -> bytes:
    first = next(central(data))
    return patch(data, first + 24, "<L", struct.unpack_from("<L", data, first + 24)[0] - 1)


def _header_past_the_directory(data: bytes) -> bytes:
    first = next(central(data))  # its local header placed at the end-of-directory record: "[Errno 22] Invalid argument"
    return patch(data, first + 42, "<L", len(data) - 22)


def _header_at_the_directory(data: bytes) -> bytes:
    first = next(central(data))  # its local header placed where the central directory starts: no space to read
    return patch(data, first + 42, "<L", first)


def _encrypted(data: bytes) -> bytes:
    first = next(central(data))  # the encrypted bit, in the directory and the local header (zipfile: RuntimeError)
    flags = struct.unpack_from("<H", data, first + 8)[0] | 1
    return patch(patch(data, first + 8, "<H", flags), 6, "<H", flags)


def _deflate64(data: bytes) -> bytes:
    first = next(central(data))  # a method zipfile lacks (NotImplementedError)
    return patch(patch(data, first + 10, "<H", 9), 8, "<H", 9)


def _content_changed(data: bytes) -> bytes:
    at = data.find(b"X = 1")
    return data[:at] + b"Y" + data[at + 1 :]


LIES: dict[str, tuple[Callable[[bytes], bytes], int, str]] = {
    "header name differs": (_second_name_differs, zipfile.ZIP_DEFLATED, "File name in directory 'pkg/data.bin' and"),
    "bad magic": (lambda d: b"XX" + d[2:], zipfile.ZIP_DEFLATED, "Bad magic number for file header of 'pkg/__init__"),
    "member overruns the next": (_first_overruns, zipfile.ZIP_DEFLATED, "Overlapped entries: 'pkg/__init__.py'"),
    "two members share a header": (_shares_a_header, zipfile.ZIP_DEFLATED, "two members share one header"),
    "stream cut short": (_cut_short, zipfile.ZIP_DEFLATED, "Bad CRC-32 or size for file 'pkg/__init__.py'"),
    "inflates past its size": (_inflates_past_its_size, zipfile.ZIP_DEFLATED, "Bad CRC-32 or size for file 'pkg/__"),
    "stored content changed": (_content_changed, zipfile.ZIP_STORED, "Bad CRC-32 or size for file 'pkg/__init__.py'"),
    "encrypted": (_encrypted, zipfile.ZIP_DEFLATED, "File 'pkg/__init__.py' is encrypted, which cannot be read"),
    "compression method zipfile lacks": (
        _deflate64,
        zipfile.ZIP_DEFLATED,
        "File 'pkg/__init__.py' uses compression method 9, which cannot be read (NotImplementedError)",
    ),
    "header past the directory": (
        _header_past_the_directory,
        zipfile.ZIP_DEFLATED,
        "Bad magic number for file header of 'pkg/__init__.py': it lies in or past the central directory",
    ),
    "header at the directory": (
        _header_at_the_directory,
        zipfile.ZIP_DEFLATED,
        "Bad magic number for file header of 'pkg/__init__.py': it lies in or past the central directory",
    ),
}


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("case", sorted(LIES))
def test_hostile_archive_lying_about_a_member_is_refused(
    case: str, reader: Callable[[bytes], dict[str, bytes]]
) -> None:
    damage, compression, message = LIES[case]
    data = damage(build(SMALL, compression))
    with pytest.raises((zipfile.BadZipFile, zlib.error), match=re.escape(message)):
        reader(data)


def test_a_member_with_the_longest_name_and_extra_field_a_zip_allows_is_read(
    reader: Callable[[bytes], dict[str, bytes]],
) -> None:
    # the one read of a member's header takes room for a name and an extra field of 0xFFFF bytes each
    name = "pkg/" + "n" * (0xFFFF - 4)
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.extra = struct.pack("<HH", 0xCAFE, 0xFFFF - 4) + bytes(0xFFFF - 4)  # one field of an unknown kind
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr(info, b"X = 1\n" * 40)
    assert reader(sink.getvalue()) == {name: b"X = 1\n" * 40}


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=str)
def test_a_hashed_read_skips_only_the_crc(compression: int) -> None:
    data = build(SMALL, compression)
    first = next(central(data))
    wrong_crc = patch(data, first + 16, "<L", 0)  # pkg/__init__.py's CRC-32 in the directory
    with on_disk(wrong_crc) as file, zipfile.ZipFile(file) as archive:
        members, info = Members(archive, file.fileno()), archive.getinfo("pkg/__init__.py")
        with pytest.raises(zipfile.BadZipFile, match=re.escape("Bad CRC-32 or size for file 'pkg/__init__.py'")):
            members.read(info)
        assert members.read(info, hashed=True) == SMALL["pkg/__init__.py"]  # the caller's hash decides
    wrong_size = patch(data, first + 24, "<L", len(SMALL["pkg/__init__.py"]) + 1)
    too_small = patch(data, first + 24, "<L", len(SMALL["pkg/__init__.py"]) - 1)  # it inflates past its size
    cut = [_cut_short(data)] if compression == zipfile.ZIP_DEFLATED else []
    for damaged in [wrong_size, too_small, *cut]:
        with on_disk(damaged) as file, zipfile.ZipFile(file) as archive, pytest.raises(zipfile.BadZipFile):
            Members(archive, file.fileno()).read(archive.getinfo("pkg/__init__.py"), hashed=True)


@pytest.mark.reliability("hostile")
def test_hostile_member_past_the_end_of_the_file_is_refused() -> None:
    data = build(SMALL)
    cut = data.rfind(b"pkg/empty.txt", 0, next(central(data)))  # the last member's local name
    with on_disk(data) as file, zipfile.ZipFile(file) as archive, on_disk(data[:cut]) as shrunk:
        infos = archive.infolist()
        members = Members(archive, shrunk.fileno())  # the directory read, then the file shrank
        with pytest.raises(zipfile.BadZipFile, match=re.escape("Truncated member 'pkg/empty.txt'")):
            members.read(infos[-1])


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=str)
def test_hostile_member_cut_inside_its_data_is_named_truncated_when_read_in_pieces(
    compression: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the header and the first pieces are there, the rest of the data is gone: the read stops at the gap
    monkeypatch.setattr(_zip, "CHUNK", 7)
    data = build({"pkg/mixed.bin": bytes(range(256)) * 40}, compression)
    with on_disk(data) as file, zipfile.ZipFile(file) as archive, on_disk(data[:100]) as shrunk:
        reading = Members(archive, shrunk.fileno()).chunks(archive.getinfo("pkg/mixed.bin"))
        with pytest.raises(zipfile.BadZipFile, match=re.escape("Truncated member 'pkg/mixed.bin'")):
            b"".join(reading)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=str)
@pytest.mark.parametrize("chunk", [1, 7, 256, 1 << 20])
def test_members_in_chunks_are_the_members_read_whole(
    compression: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a piece of exactly CHUNK bytes may leave inflated output inside zlib: it must still come out, also after
    # the member's last bytes were read (ab.txt's last match is still being copied when the input runs out)
    monkeypatch.setattr(_zip, "CHUNK", chunk)
    members = {**SMALL, "pkg/zeros.bin": bytes(5000), "pkg/mixed.bin": bytes(range(256)) * 40 + b"tail"}
    members["pkg/ab.txt"] = b"bbbbbbaabbbaaabbaaab"
    data = build(members, compression)
    assert read_in_chunks(data) == read_all(data) == members


@pytest.mark.reliability("hostile")
def test_a_member_inflating_past_its_size_is_refused_at_the_first_piece_beyond_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a zip bomb declares a small size for a member of gigabytes: reading stops once the size is passed
    monkeypatch.setattr(_zip, "CHUNK", 64)
    data = build({"pkg/zeros.bin": bytes(1 << 20)})
    small = patch(data, next(central(data)) + 24, "<L", 100)
    pieces: list[bytes] = []
    with on_disk(small) as file, zipfile.ZipFile(file) as archive:
        reading = Members(archive, file.fileno()).chunks(archive.getinfo("pkg/zeros.bin"))
        with pytest.raises(zipfile.BadZipFile, match=re.escape("Bad CRC-32 or size for file 'pkg/zeros.bin'")):
            pieces.extend(reading)
    assert sum(map(len, pieces)) <= 100
