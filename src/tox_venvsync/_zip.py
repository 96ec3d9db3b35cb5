"""Members: a wheel's files read from the archive directly, with the checks zipfile makes, in one inflate each.

``zipfile.ZipFile.read`` opens a ``ZipExtFile`` per member (a shared-file wrapper, a seek, the header
parsed, a decompressor object, CRC bookkeeping on every read): reading them directly unpacks ``rich``'s
105 files on tmpfs in 22-24 instead of 26.5 ms of CPU, and the benchmark's 55 wheels in 1,300 instead
of 1,450 ms, and lets two threads read one archive (no shared file position). The central
directory is still read by zipfile; for each member this reads its local header, name and bytes with one
``pread``, and checks what zipfile checks before trusting them (APPNOTE.TXT 4.3.7): the
header's signature, that its name is the directory's (two names for one member is how a zip shows one
tool a different file than another), that the member does not run into the next one (overlapping
members are the zip-bomb shape), and the size and CRC-32 the directory records (the CRC-32 only when the
caller does not check the content against a hash of its own). A member zipfile would
refuse (encrypted, patched) or that uses another compression method is read by zipfile itself.
A large member is read in pieces (:meth:`Members.chunks`), with the same checks, so that memory
does not grow with the size an archive declares.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
import zipfile
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

#: a member's local file header (APPNOTE.TXT 4.3.7; zipfile's ``structFileHeader``)
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_MAGIC = b"PK\x03\x04"
#: general purpose flag bits: the name is UTF-8 (else code page 437, as zipfile reads it)
_UTF8 = 0x800
#: encrypted, compressed patched data, strong encryption: zipfile reads (or refuses) these itself
_NOT_PLAIN = 0x1 | 0x20 | 0x40
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
#: the most :meth:`Members.chunks` reads or inflates at a time
CHUNK = 1 << 20


class Members:
    """Reads the members of ``archive``, whose file the caller keeps open as ``fd``; from several threads at once.

    Each read is an ``os.pread`` at its offset (no shared file position), and zipfile's own reads lock.
    """

    def __init__(self, archive: zipfile.ZipFile, fd: int) -> None:
        self._archive = archive
        self._fd = fd
        starts = sorted(info.header_offset for info in archive.infolist())
        if len(set(starts)) != len(starts):
            msg = "Overlapped entries: two members share one header (possible zip bomb)"
            raise zipfile.BadZipFile(msg)
        if starts and starts[-1] >= archive.start_dir:  # no space to read: a negative length is EINVAL to pread
            name = next(i.orig_filename for i in archive.infolist() if i.header_offset == starts[-1])
            msg = f"Bad magic number for file header of {name!r}: it lies in or past the central directory"
            raise zipfile.BadZipFile(msg)
        #: where each member's space ends: the next member's header, or the central directory
        self._ends = dict(itertools.pairwise([*starts, archive.start_dir]))

    def read(self, info: zipfile.ZipInfo, *, hashed: bool = False) -> bytes:
        """The member's content; :class:`zipfile.BadZipFile` (or ``zlib.error``) when the archive lies about it.

        ``hashed``: the caller checks the content against a stronger hash (the wheel's RECORD), so its
        CRC-32 is not computed (54 ms of the 1.2 s of CPU that unpacking the benchmark's 55 wheels takes);
        its size still is.
        """
        if info.flag_bits & _NOT_PLAIN or info.compress_type not in _METHODS:
            with _refused_by_zipfile(info):
                return self._archive.read(info)
        name, offset = info.orig_filename, info.header_offset
        room = self._ends[offset] - offset  # the member's space: up to the next member or the central directory
        # one system call for the header, the name, the extra field and the data (a name and an extra field
        # are at most 0xFFFF bytes each), not one for each: a cold sync of the benchmark reads 3,900 members
        space = os.pread(self._fd, min(room, _LOCAL.size + 2 * 0xFFFF + info.compress_size), offset)
        start = self._data_start(info, space, room)
        data = self._part(space, start, info.compress_size, name)
        if info.compress_type == zipfile.ZIP_DEFLATED:
            # at most one byte more than the directory says: a member that inflates past it is refused, not held
            body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, info.file_size + 1)
        else:
            body = bytes(data)
        if len(body) != info.file_size or (not hashed and zlib.crc32(body) != info.CRC):
            msg = f"Bad CRC-32 or size for file {name!r}"
            raise zipfile.BadZipFile(msg)
        return body

    def chunks(self, info: zipfile.ZipInfo, *, hashed: bool = False) -> Iterator[bytes]:
        """The member's content in pieces of at most :data:`CHUNK` bytes, with the checks of :meth:`read`.

        For a large member: :meth:`read` holds the whole of it, and its inflating twice that (a 500 KiB wheel
        declaring a 512 MiB member of zeros took 1 GiB of memory before its RECORD hash refused it). A member
        that inflates past the size the directory records is refused at the first piece beyond it.
        """
        if info.flag_bits & _NOT_PLAIN or info.compress_type not in _METHODS:
            with _refused_by_zipfile(info), self._archive.open(info) as member:  # it checks the size and CRC-32
                while chunk := member.read(CHUNK):
                    yield chunk
            return
        name, offset = info.orig_filename, info.header_offset
        room = self._ends[offset] - offset
        start = offset + self._data_start(info, os.pread(self._fd, min(room, _LOCAL.size + 2 * 0xFFFF), offset), room)
        inflate = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == zipfile.ZIP_DEFLATED else None
        size = crc = 0
        for at in range(start, start + info.compress_size, CHUNK):
            data = os.pread(self._fd, min(CHUNK, start + info.compress_size - at), at)
            if not data:
                msg = f"Truncated member {name!r}"
                raise zipfile.BadZipFile(msg)
            for piece in _inflated(inflate, data):
                size += len(piece)
                if size > info.file_size:
                    msg = f"Bad CRC-32 or size for file {name!r}"
                    raise zipfile.BadZipFile(msg)
                crc = crc if hashed else zlib.crc32(piece, crc)
                yield piece
        if size != info.file_size or (not hashed and crc != info.CRC):
            msg = f"Bad CRC-32 or size for file {name!r}"
            raise zipfile.BadZipFile(msg)

    def _data_start(self, info: zipfile.ZipInfo, space: bytes, room: int) -> int:
        """Where the member's data starts in ``space`` (read from its local header), once the header is checked."""
        name = info.orig_filename
        magic, _, _, flags, *_, name_length, extra_length = _LOCAL.unpack_from(self._part(space, 0, _LOCAL.size, name))
        if magic != _MAGIC:
            msg = f"Bad magic number for file header of {name!r}"
            raise zipfile.BadZipFile(msg)
        local = str(self._part(space, _LOCAL.size, name_length, name), "utf-8" if flags & _UTF8 else "cp437")
        if local != name:
            msg = f"File name in directory {name!r} and header {local!r} differ."
            raise zipfile.BadZipFile(msg)
        start = _LOCAL.size + name_length + extra_length
        if start + info.compress_size > room:
            msg = f"Overlapped entries: {name!r} (possible zip bomb)"
            raise zipfile.BadZipFile(msg)
        return int(start)

    @staticmethod
    def _part(space: bytes, start: int, size: int, name: str) -> memoryview:
        if start + size > len(space):
            msg = f"Truncated member {name!r}"
            raise zipfile.BadZipFile(msg)
        return memoryview(space)[start : start + size]


@contextlib.contextmanager
def _refused_by_zipfile(info: zipfile.ZipInfo) -> Iterator[None]:
    """Turn zipfile's refusal of a member it cannot read into a :class:`zipfile.BadZipFile`, like the others.

    zipfile raises ``RuntimeError`` for an encrypted member (no password) and ``NotImplementedError`` for a
    compression method it lacks (deflate64, a method number of nothing): bad input, which ended in a traceback.
    """
    try:
        yield
    except RuntimeError as exc:  # NotImplementedError is one
        reason = "is encrypted" if info.flag_bits & 0x1 else f"uses compression method {info.compress_type}"
        msg = f"File {info.orig_filename!r} {reason}, which cannot be read ({exc.__class__.__name__})"
        raise zipfile.BadZipFile(msg) from exc


def _inflated(inflate: zlib._Decompress | None, data: bytes) -> Iterator[bytes]:
    """``data`` inflated (or as it is, for a stored member) in pieces of at most :data:`CHUNK` bytes."""
    if inflate is None:
        yield data
        return
    while True:
        piece = inflate.decompress(data, CHUNK)
        data = inflate.unconsumed_tail
        if piece:
            yield piece
        if not data and len(piece) < CHUNK:  # a full piece may leave output in zlib: asked again until it is out
            return
