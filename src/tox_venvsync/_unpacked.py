"""Unpacked: a verified wheel extracted once into the cache, so every later install only links its files.

The whole wheel is checked while it is extracted, before any file reaches a venv: every entry stays
inside its scheme (no ``..``, absolute or drive paths, only known ``.data`` schemes), every file is
listed in RECORD with the hash and size it really has, and the ``.dist-info`` name matches the lock.
The tree appears at its cache address by one atomic rename, so a reader never sees half of it.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from packaging.utils import canonicalize_name

from tox_venvsync._atomic import READ_BY_OTHERS, readable_by_all
from tox_venvsync._cache import CACHE_DIR_ENV, tree_lock
from tox_venvsync._errors import InstallError, naming
from tox_venvsync._values import frozen
from tox_venvsync._verify import checkable, record_form
from tox_venvsync._zip import Members

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox_venvsync._cache import Cache

_MANIFEST = ".venvsync-wheel.json"
#: top-level names of an unpacked tree that are tox-venvsync's, never a wheel's (the manifest, the bytecode lists)
_RESERVED = ".venvsync-"
#: the ``.data`` schemes of the wheel spec (installer.utils.SCHEME_NAMES; a test checks they agree)
_SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})
#: the files a wheel needs before its extraction is split between threads: creating a file is a system
#: call that waits in the kernel with the GIL released, and on a disk where creating files got slow (ext4
#: after many deletes: 0.3-0.4 ms a file) two threads create rich's 105 files in ~30% less time; a wheel
#: of a few files is not worth a thread
SPLIT_AT = 32
#: a file larger than this is inflated, hashed and written a piece at a time (see :meth:`Members.chunks`), not
#: held whole: a wheel of a few hundred KiB can hold a member of gigabytes of zeros
_IN_MEMORY = 32 << 20
#: the manifest's format: 2 lists each entry as ``[path, hash, size, executable]``; 1 (read too) as an object
_FORMAT = 2
#: how an extracted file is opened (``open(path, "wb")``'s flags; without O_BINARY Windows would translate newlines)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
#: an entry point's value, as pypa/installer matches it (``installer.utils._ENTRYPOINT_REGEX``)
_ENTRY_POINT = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attrs>[\w.]+))\s*(?P<extras>\[.*\])?\s*$")


class Entry(NamedTuple):
    """One file of the wheel: its path in the archive, RECORD hash (``alg=digest``) and size.

    A named tuple, not a frozen value class like the others: every install loads one per file of every
    wheel (3,675 for the benchmark's project), and a tuple is made from the manifest's list at a
    quarter of the cost (loading the project's 53 manifests: 23 -> 9 ms).
    """

    path: str
    hash: str
    size: int
    executable: bool


@frozen
class UnpackedWheel:
    """A wheel's files under ``root``, with what an install needs to place them."""

    root: Path
    dist_info: str
    data_dir: str
    purelib: bool
    entries: tuple[Entry, ...]
    scripts: tuple[tuple[str, str, str, str], ...]


def unpacked(  # noqa: PLR0913  # the wheel and its hash, then how
    cache: Cache, wheel: Path, algorithm: str, digest: str, name: str, *, threads: int = 1, damaged: bool = False
) -> UnpackedWheel:
    """The verified tree of ``wheel`` (whose hash is ``algorithm``/``digest``), extracting it on first use.

    ``threads`` above one extracts the wheel's files on that many threads: for a wheel unpacked while
    nothing else is (see :data:`SPLIT_AT`). ``damaged``: a file of the tree at its address was found
    missing (deleted by hand, or by a cleaner while a run linked from it): that tree is kept only if
    every file its manifest lists is there (another process put a whole one there meanwhile), else it
    is replaced as a tree whose manifest does not load is.
    """
    final = cache.unpacked(algorithm, digest)
    load = _whole if damaged else _load
    if (loaded := load(final)) is not None:
        return loaded
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache.tmp_dir(), prefix="unpack-"))
    try:
        try:
            manifest = _extract(wheel, tmp, name, threads)
        except InstallError:
            _drop_if_damaged(cache, wheel, algorithm, digest, name)
            raise
        with naming(tmp / _MANIFEST):  # a full disk's error names the file
            (tmp / _MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")), encoding="utf-8")
        try:
            tmp.rename(final)  # atomic: the address holds a complete, verified tree or nothing
        except OSError:
            if (loaded := load(final)) is not None:  # another process won the race with the same content
                return loaded
            with contextlib.suppress(OSError), tree_lock(cache, algorithm, digest):
                if load(final) is None:  # still the broken tree: no other process replaced it while we waited
                    _replace(final, tmp, cache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if (result := load(final)) is None:
        reason = f"the cache's copy of it in {final} cannot be read or replaced; delete that directory and retry"
        raise InstallError(name, wheel.name, reason, remedied=True)
    return result


def _drop_if_damaged(cache: Cache, wheel: Path, algorithm: str, digest: str, name: str) -> None:
    """Delete the cache's copy of a wheel that no longer has its hash (bit rot, an edit), and say so.

    The copy was verified when it was downloaded; one that cannot be unpacked any more and whose hash changed
    would fail every later sync. Only the cache's own ``artifacts/`` are deleted: a wheel the lock names by
    path stays where it is (and the error about it stands).
    """
    from tox_venvsync._verify import file_digests  # noqa: PLC0415  # a failed unpacking only

    if cache.root / "artifacts" not in wheel.parents:
        return
    try:
        found = file_digests(wheel, [algorithm]).get(algorithm)
    except OSError:
        return
    if found is None or found == digest:
        return
    with contextlib.suppress(OSError):
        wheel.unlink()
    reason = f"the cache's copy of it ({wheel}) was damaged: its {algorithm} changed; it is deleted, run again"
    raise InstallError(name, wheel.name, reason, remedied=True)


def cached_tree(cache: Cache, algorithm: str, digest: str) -> UnpackedWheel | None:
    """The verified tree of the wheel with this hash if the cache holds it, else ``None`` (nothing is extracted)."""
    return _load(cache.unpacked(algorithm, digest))


def tree_at(root: Path) -> UnpackedWheel | None:
    """The unpacked tree at ``root`` (a path :meth:`Cache.unpacked` gave), or ``None`` when none loads there."""
    return _load(root)


def _replace(final: Path, fresh: Path, cache: Cache) -> None:
    """Put ``fresh`` at ``final``, where a tree stands that does not load or lacks a file its manifest lists.

    A tree does not load when its manifest is lost, broken or of a format this version does not read. That
    tree is the cache's own copy of a wheel, never a venv's file: it is moved aside and deleted. No install
    links from it (it never loaded, or a placement that found a file of it missing is made again from
    ``fresh``), and the venvs linked from it before keep their files (a hard link is a name of its own for
    the file).
    """
    aside = Path(tempfile.mkdtemp(dir=cache.tmp_dir(), prefix="stale-"))
    try:
        final.rename(aside / "tree")
        fresh.rename(final)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _whole(root: Path) -> UnpackedWheel | None:
    """The tree at ``root`` if it loads and holds every file its manifest lists (a ``stat`` a file: only on repair)."""
    tree = _load(root)
    if tree is None or not all(os.path.isfile(os.path.join(root, entry.path)) for entry in tree.entries):
        return None
    return tree


def _load(root: Path) -> UnpackedWheel | None:
    try:
        with (root / _MANIFEST).open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            data = json.loads(file.read())
        if data["format"] == _FORMAT:
            entries = tuple(map(Entry._make, data["entries"]))
        elif data["format"] == 1:  # what earlier builds wrote: their trees stay usable
            entries = tuple(Entry(e["path"], e["hash"], e["size"], e["executable"]) for e in data["entries"])
        else:
            return None
        if mode & READ_BY_OTHERS != READ_BY_OTHERS:  # its manifest without them says the umask hid them
            _readable_by_all(root, entries)
        return UnpackedWheel(
            root=root,
            dist_info=data["dist_info"],
            data_dir=data["data_dir"],
            purelib=data["purelib"],
            entries=entries,
            scripts=tuple(tuple(s) for s in data["scripts"]),
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _readable_by_all(root: Path, entries: tuple[Entry, ...]) -> None:
    """Give a tree made under a umask that hides reads (077) the modes pip gives under the usual 022.

    Its files are hard-linked into venvs, so they share one mode: left at 0600, a venv a later sync
    made under umask 022 (an image's, for another user) would hold files its users cannot read. 0644
    and 0755 hide nothing the venv's own directories do not: under 077 those are 0700. The manifest is
    made readable last: it marks the tree as done. A cache this process cannot change is left as it is.
    """
    modes = ((root / entry.path, 0o755 if entry.executable else 0o644) for entry in entries)
    readable_by_all([*modes, (root / _MANIFEST, 0o644)])


def _extract(wheel: Path, into: Path, name: str, threads: int) -> dict[str, object]:
    try:
        with wheel.open("rb", buffering=0) as file, zipfile.ZipFile(file) as archive:
            extractor = _Extractor(archive, Members(archive, file.fileno()), into, wheel, name)
            files = [info for info in archive.infolist() if not info.is_dir()]
            entries = _each(extractor.extract, files, threads if len(files) >= SPLIT_AT else 1)
            wheel_text = extractor.read_meta("WHEEL")
            points = extractor.read_meta("entry_points.txt")
    except PermissionError as exc:  # a cache another user filled: its files are made for their maker only
        if _written_into(exc, into):
            raise
        reason = (
            f"this user may not read {exc.filename} ({exc.strerror}); a cache serves one user: set "
            f"{CACHE_DIR_ENV} to a directory of your own"
        )
        raise InstallError(name, wheel.name, reason, remedied=True) from exc
    except (OSError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError, KeyError) as exc:
        if isinstance(exc, OSError) and _written_into(exc, into):  # the cache's disk refused a file: not the wheel's
            raise  # fault (a full disk read "it is not a readable wheel ([Errno 28] No space left on device)")
        raise InstallError(name, wheel.name, f"it is not a readable wheel ({exc})") from exc
    from email.parser import HeaderParser  # noqa: PLC0415  # ~14 ms to import; only unpacking a wheel reads it

    purelib = HeaderParser().parsestr(wheel_text).get("Root-Is-Purelib") or ""
    return {
        "format": _FORMAT,
        "dist_info": extractor.dist_info,
        "data_dir": extractor.dist_info.removesuffix(".dist-info") + ".data",
        "purelib": purelib.strip().lower() == "true",
        "entries": [list(entry) for entry in entries if entry.hash],
        "scripts": entry_scripts(points, wheel, name) if points else [],  # most wheels have no entry points
    }


def _written_into(exc: OSError, into: Path) -> bool:
    """Whether ``exc`` is the error of a file or directory being made in ``into`` (see :func:`_write`)."""
    return isinstance(exc.filename, str) and Path(exc.filename).is_relative_to(into)


def _each(extract: Callable[[zipfile.ZipInfo], Entry], files: list[zipfile.ZipInfo], threads: int) -> list[Entry]:
    """``extract`` of every file, in order; on ``threads`` threads taking every n-th file each."""
    if threads <= 1:
        return list(map(extract, files))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="venvsync-extract") as pool:
        shares = list(pool.map(lambda share: list(map(extract, share)), [files[i::threads] for i in range(threads)]))
    return [entry for entries in itertools.zip_longest(*shares) for entry in entries if entry is not None]


def entry_scripts(text: str, wheel: Path, name: str) -> list[list[str]]:
    """The console and GUI scripts of ``entry_points.txt``: ``[name, module, attribute, "console"|"gui"]``.

    Read as ``installer.utils.parse_entrypoints`` reads them (a test checks they agree), without
    importing pypa/installer (18 ms of a tox run on a slow machine, for this one function) and with
    one sentence, not an assertion, for a file it cannot read.
    """
    import configparser  # noqa: PLC0415  # 2-3 ms of a command line's removal; only a wheel unpacked needs it

    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # names keep their case
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise InstallError(name, wheel.name, f"its entry_points.txt does not parse ({exc.message})") from exc
    scripts = []
    for section in parser.sections():
        if section not in {"console_scripts", "gui_scripts"}:
            continue
        for script, value in parser.items(section):
            match = _ENTRY_POINT.match(value)
            if match is None or match["attrs"] is None:
                reason = f"its entry_points.txt has {script} = {value!r}, not <module>:<attribute>"
                raise InstallError(name, wheel.name, reason)
            scripts.append([script, match["module"], match["attrs"], section.removesuffix("_scripts")])
    return scripts


class _Extractor:
    """Extracts one wheel, checking each entry against RECORD as it goes."""

    def __init__(self, archive: zipfile.ZipFile, members: Members, into: Path, wheel: Path, name: str) -> None:
        self._archive = archive
        self._members = members
        self._root = str(into)
        self._made: set[str] = set()
        self._wheel = wheel
        self._name = name
        self.dist_info = _dist_info(archive, wheel, name)
        self._records = _records(archive, members, self.dist_info, wheel, name)
        #: the wheel spec's files RECORD does not list: itself, and its signatures
        self._unlisted = frozenset(f"{self.dist_info}/{file}" for file in ("RECORD", "RECORD.jws", "RECORD.p7s"))

    def read_meta(self, filename: str) -> str:
        path = f"{self.dist_info}/{filename}"
        return self._members.read(self._archive.getinfo(path)).decode("utf-8") if path in self._records else ""

    def extract(self, info: zipfile.ZipInfo) -> Entry:
        path = info.filename
        _check_path(path, self._wheel, self._name)
        if path in self._unlisted:  # RECORD (rewritten at each install) and its signatures (not installed)
            return Entry(path, "", 0, executable=False)
        if path not in self._records:
            raise InstallError(self._name, self._wheel.name, f"its RECORD does not list {path!r}")
        expected, size = self._records[path]
        if not expected:
            raise InstallError(self._name, self._wheel.name, f"its RECORD has no hash for {path!r}")
        target = os.path.join(self._root, path)  # strings and one mkdir per directory: a hot loop
        if info.file_size > _IN_MEMORY:  # inflated a piece at a time, once RECORD's size agrees with the zip's
            if size is not None and info.file_size != size:
                raise InstallError(self._name, self._wheel.name, f"its RECORD gives another size for {path!r}")
            recorded = self._write_in_chunks(info, target, expected)
        else:
            recorded = self._write_whole(info, target, expected)
        if recorded is None:
            raise InstallError(self._name, self._wheel.name, f"its RECORD does not match the content of {path!r}")
        if size is None:  # the size column may be empty (the spec); the hash alone checks the file
            size = info.file_size  # which the member inflated to (Members checks it)
        elif info.file_size != size:
            raise InstallError(self._name, self._wheel.name, f"its RECORD gives another size for {path!r}")
        executable = bool((info.external_attr >> 16) & 0o111)  # any execute bit, as pip, uv and installer read it
        if executable:
            os.chmod(target, 0o755)
        return Entry(path, recorded, size, executable)

    def _make_parent(self, target: str) -> None:
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _write_whole(self, info: zipfile.ZipInfo, target: str, expected: str) -> str | None:
        """Write a member to ``target`` if RECORD's hash ``expected`` is its content's: :func:`_matching` of it."""
        if (recorded := _matching(expected, data := self._members.read(info, hashed=True))) is not None:
            self._make_parent(target)
            _write(target, data)
        return recorded

    def _write_in_chunks(self, info: zipfile.ZipInfo, target: str, expected: str) -> str | None:
        """Write a large member to ``target`` piece by piece: :func:`_matching` of its content.

        When that is ``None`` the file was written all the same: the tree it is in is deleted (see :func:`unpacked`).
        """
        if (hasher := _hasher(expected)) is None:
            return None
        self._make_parent(target)
        fd = os.open(target, _CREATE, 0o666)
        try:
            for piece in self._members.chunks(info, hashed=True):  # checked against RECORD's hash at the end
                hasher.update(piece)
                rest = memoryview(piece)
                while rest:
                    rest = rest[os.write(fd, rest) :]
        finally:
            os.close(fd)
        return _recorded(expected, hasher)


def _write(path: str, data: bytes) -> None:
    """``open(path, "wb").write(data)`` without the file objects: 12 of 29 us a file (3,900 files in a cold sync)."""
    fd = os.open(path, _CREATE, 0o666)  # not inherited by children (PEP 446), as open() makes it
    try:
        rest = memoryview(data)
        while rest:
            rest = rest[os.write(fd, rest) :]
    except OSError as exc:  # os.write's error (a full disk) names no file: the one it was writing
        raise OSError(exc.errno, exc.strerror, path) from exc
    finally:
        os.close(fd)


def _matching(expected: str, data: bytes) -> str | None:
    """RECORD's hash ``expected`` (``alg=digest``) as the installed RECORD writes it; ``None`` if not ``data``'s.

    A hex digest (an old builder's, see :func:`record_form`) that is ``data``'s comes back in base64.
    """
    if (hasher := _hasher(expected)) is None:
        return None
    hasher.update(data)
    return _recorded(expected, hasher)


def _hasher(expected: str) -> hashlib._Hash | None:
    """A new hasher of RECORD's algorithm in ``expected``; ``None`` for one a RECORD cannot be checked with."""
    algorithm = expected.partition("=")[0]
    # shake is guaranteed too, but its digest needs a length a RECORD does not give
    if not checkable(algorithm) or algorithm not in hashlib.algorithms_guaranteed:
        return None
    return hashlib.new(algorithm)


def _recorded(expected: str, hasher: hashlib._Hash) -> str | None:
    """:func:`_matching` of the content ``hasher`` was given."""
    algorithm, _, digest = expected.partition("=")
    if (found := _b64(hasher)) == digest:
        return expected
    return f"{algorithm}={found}" if found == record_form(algorithm, digest) else None


def _b64(hasher: hashlib._Hash) -> str:
    return base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()


def _dist_info(archive: zipfile.ZipFile, wheel: Path, name: str) -> str:
    tops = {info.filename.split("/", 1)[0] for info in archive.infolist()}
    found = [top for top in tops if top.endswith(".dist-info")]
    if len(found) != 1:
        raise InstallError(name, wheel.name, f"it has {len(found)} .dist-info directories, not one")
    dist_name = found[0].removesuffix(".dist-info").rpartition("-")[0]
    if canonicalize_name(dist_name) != canonicalize_name(name):
        raise InstallError(name, wheel.name, f"its metadata directory {found[0]} is not for {name}")
    return found[0]


def _records(
    archive: zipfile.ZipFile, members: Members, dist_info: str, wheel: Path, name: str
) -> dict[str, tuple[str, int | None]]:
    """RECORD's ``hash`` (empty when it has none) and size (``None`` when the column is empty) of each path.

    A row without a hash is refused only for a file the wheel holds (a row for a ``.pyc`` it does not hold
    is no error, as for pip and uv); a size, where given, must be a number.
    """
    text = members.read(archive.getinfo(f"{dist_info}/RECORD")).decode("utf-8")  # with the checks of the others
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:  # a field past csv's size limit; a NUL before Python 3.11
        raise InstallError(name, wheel.name, f"its RECORD does not read as CSV ({exc})") from exc
    records: dict[str, tuple[str, int | None]] = {}
    for row in rows:
        if row and row[0] != f"{dist_info}/RECORD":
            digest, size = [*row[1:3], "", ""][:2]
            # "²" is a digit to isdigit, and no number to int(): a size is ASCII digits
            if (digest and "=" not in digest) or (size and not (size.isascii() and size.isdigit())):
                raise InstallError(name, wheel.name, f"its RECORD row for {row[0]!r} is not a hash and a size")
            records[row[0]] = (digest, int(size) if size else None)
    return records


def _check_path(path: str, wheel: Path, name: str) -> None:
    # path traversal: a wheel is data from the internet, so every entry must stay inside its scheme
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or ".." in parts or ":" in parts[0] or "" in parts:
        raise InstallError(name, wheel.name, f"the entry {path!r} would be written outside the venv")
    if "." in parts:  # "pkg/./a.py" is the file of "pkg/a.py": the later would replace what RECORD says of the other
        raise InstallError(name, wheel.name, f"the entry {path!r} has a '.' part: it names another entry's file")
    if parts[0].endswith(".data") and (len(parts) < 3 or parts[1] not in _SCHEMES):  # noqa: PLR2004
        raise InstallError(name, wheel.name, f"the entry {path!r} is not in a known .data scheme")
    if len(parts) == 1 and path.startswith(_RESERVED):  # the tree's own files: the manifest, the bytecode lists
        raise InstallError(name, wheel.name, f"the entry {path!r} has a name tox-venvsync keeps for itself")


def relative_record_path(path: Path, root: Path) -> str:
    """A RECORD path: relative to the root scheme, POSIX separators (``../../../bin/tool`` for scripts)."""
    return posixpath.join(*Path(os.path.relpath(path, root)).parts)
