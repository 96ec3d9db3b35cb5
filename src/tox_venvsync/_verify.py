"""Verify: re-hash every installed file against its RECORD, to find what was edited or deleted by hand."""

from __future__ import annotations

import base64
import csv
import errno
import functools
import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tox_venvsync._errors import BadInputError
from tox_venvsync._installed import MADE_WITH_THE_VENV
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName

    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._plan import Plan
    from tox_venvsync._target import Target


@frozen
class FileDrift:
    """Files that differ from what their distributions' RECORDs say, and RECORD rows that cannot be checked."""

    modified: list[str]
    missing: list[str]
    unreadable: list[str]

    def __bool__(self) -> bool:
        return bool(self.modified or self.missing or self.unreadable)


class Records:
    """Each distribution's RECORD rows, read once for all of verify's checks.

    :func:`check_records`, :func:`unowned_files` and :func:`moved_scripts` each read every RECORD: 6,000 reads and
    CSV parses for a venv of 2,000 packages, where one each serves all three. Given to all of them, one reads and
    the others ask; without, each reads for itself.
    """

    def __init__(self) -> None:
        self._read: dict[str, tuple[list[list[str]], str | None]] = {}

    def rows(self, dist: InstalledDist) -> tuple[list[list[str]], str | None]:
        """The rows of ``dist``'s RECORD, or no rows and why it cannot be read (``None`` when it can)."""
        key = str(dist.dist_info)
        if (found := self._read.get(key)) is None:
            found = self._read[key] = _rows_or_reason(os.path.join(key, "RECORD"))  # noqa: PTH118  # a string
        return found


def _rows_or_reason(record: str) -> tuple[list[list[str]], str | None]:
    try:
        return _read_rows(record), None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return [], exc.strerror if isinstance(exc, OSError) else f"it is not UTF-8 CSV ({exc})"


def check_records(
    installed: Mapping[NormalizedName, Sequence[InstalledDist]], venv: Path, *, records: Records | None = None
) -> FileDrift:
    """Every file a RECORD lists with a hash, hashed again (files outside the venv are not looked at)."""
    found: dict[str, list[str]] = {"modified": [], "missing": [], "unreadable": []}
    root = os.path.abspath(venv)
    real = _RealPaths(root)
    records = Records() if records is None else records
    for dists in installed.values():
        for dist in dists:
            record = os.path.join(dist.dist_info, "RECORD")  # noqa: PTH118  # strings: thousands of rows below
            shown = os.path.relpath(record, root)
            if not os.path.isfile(record):  # noqa: PTH113  # an install cut off before its RECORD wrote it
                found["missing"].append(shown)
                continue
            listed, reason = records.rows(dist)
            if reason is not None:
                found["unreadable"].append(f"{shown}: {reason}")
                continue
            # a path listed twice (pip lists both members a wheel places at one path) holds the last one written
            base = str(dist.dist_info.parent)
            rows = {
                os.path.normpath(os.path.join(base, row[0])): row[1]  # noqa: PTH118
                for row in listed
                if len(row) >= 2 and row[1]  # noqa: PLR2004  # path, hash, size; RECORD and bytecode have no hash
            }
            for path, field in rows.items():
                if _inside(path, root) and (drift := _row_drift(shown, path, field, real)):
                    found[drift[0]].append(drift[1])
    return FileDrift(**{kind: sorted(paths) for kind, paths in found.items()})


def _inside(path: str, root: str) -> bool:
    """Whether the normalized absolute ``path`` is ``root`` or below it (``os.path.commonpath``'s answer, cheaper)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _row_drift(record: str, path: str, field: str, real: _RealPaths) -> tuple[str, str] | None:
    """How the file at ``path`` differs from ``record``'s hash ``field`` (the drift's kind and line), or ``None``."""
    algorithm, _, digest = field.partition("=")
    if (reason := _unusable(path, field, algorithm, digest)) is not None:
        return "unreadable", f"{record}: the row of {os.path.relpath(path, real.given)}: {reason}"
    try:
        actual = _digest_in_the_venv(path, algorithm, real)
    except (FileNotFoundError, NotADirectoryError):  # nothing there (or a file where its directory was)
        return "missing", os.path.relpath(path, real.given)
    except OSError as exc:  # not readable (permissions), or a path no file system holds (too long)
        return "unreadable", f"{os.path.relpath(path, real.given)}: {exc.strerror}"
    if actual == digest or actual == record_form(algorithm, digest):
        return None
    return "modified", os.path.relpath(path, real.given)


def _unusable(path: str, field: str, algorithm: str, digest: str) -> str | None:
    """Why a RECORD's row cannot be checked, or ``None``."""
    if "\0" in path:
        return "its path holds a NUL byte, which no file's path can"
    if not algorithm or not digest:
        return f"hash {field!r} is not <algorithm>=<digest>"
    if not checkable(algorithm):
        return f"{algorithm!r} is not a hash algorithm hashlib has with a fixed-size digest (such as sha256)"
    return None


class _RealPaths:
    """Where a path in the venv leads, its links followed (each directory resolved once)."""

    def __init__(self, root: str) -> None:
        self.given = root
        self.root = os.path.realpath(root)
        self._directories: dict[str, str] = {}

    def inside(self, path: str) -> bool:
        """Whether ``path`` (normalized, absolute) is in the venv's real directory."""
        return _inside(path, self.root)

    def of(self, path: str) -> str:
        """``path`` with the links of its directory resolved (``lib64`` is ``lib``), the last part as it is."""
        directory, name = os.path.split(path)
        if (real := self._directories.get(directory)) is None:
            real = self._directories[directory] = os.path.realpath(directory)
        return os.path.join(real, name)  # noqa: PTH118  # strings: thousands of files


def _digest_in_the_venv(path: str, algorithm: str, real: _RealPaths) -> str | None:
    """The digest of the regular file at ``path``, or ``None`` when something else is there.

    Raises ``FileNotFoundError`` (or ``NotADirectoryError``) when nothing is, and the ``OSError`` of a file that
    cannot be read. A link is followed, as opening the path would follow it, but only to a regular file inside the
    venv: reading through one to a device or a FIFO would never end, and one that leads out of the venv would read
    a file that is not the venv's.
    """
    try:
        mode = os.lstat(path).st_mode
        found = real.of(path)
        if found != path:  # through a directory link: what is there is looked at where it really is
            mode = os.lstat(found).st_mode
        if stat.S_ISLNK(mode):
            found = os.path.realpath(found)  # a link loop is left as it is, and is no regular file below
            mode = os.lstat(found).st_mode
        if not real.inside(found) or not stat.S_ISREG(mode):  # never open what is no file
            return None
        return record_digest(found, algorithm)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link loop where a directory or the file was: not the file
            return None
        raise


def unowned_files(
    installed: Mapping[NormalizedName, Sequence[InstalledDist]],
    site_packages: Iterable[Path],
    venv: Path,
    *,
    records: Records | None = None,
) -> list[str]:
    """Files in ``site-packages`` that no distribution's RECORD lists: what an install cut off, or a hand, left.

    Bytecode (``__pycache__``), ``.dist-info`` directories (one without its RECORD is reported as such) and the
    files a venv is made with are not counted.
    """
    owned: set[str] = set()
    records = Records() if records is None else records
    for dists in installed.values():
        for dist in dists:
            owned.add(os.path.normpath(dist.dist_info / "RECORD"))
            base = str(dist.dist_info.parent)
            owned.update(os.path.normpath(os.path.join(base, row[0])) for row in records.rows(dist)[0])  # noqa: PTH118
    found: list[str] = []
    for site in dict.fromkeys(os.path.normpath(p) for p in site_packages):
        for directory, subdirectories, files in os.walk(site):
            skip = ("__pycache__",) if directory != site else ("__pycache__", ".dist-info")
            subdirectories[:] = [name for name in subdirectories if not name.endswith(skip)]
            for name in files:
                path = os.path.join(directory, name)  # noqa: PTH118  # strings: a walk of thousands of files
                if path not in owned and not (directory == site and name in MADE_WITH_THE_VENV):
                    found.append(os.path.relpath(path, venv))
    return sorted(found)


def moved_scripts(
    installed: Mapping[NormalizedName, Sequence[InstalledDist]],
    scripts: Path,
    venv: Path,
    *,
    records: Records | None = None,
) -> list[tuple[str, str]]:
    """Entry-point scripts that start another venv's interpreter: the venv was moved or copied since they were written.

    An installer writes each console and GUI script of a distribution's ``entry_points.txt`` to start the venv's
    own interpreter by its path (directly, or through ``/bin/sh`` for a long path). Its RECORD hash still matches
    at the new path, but the script runs the old one, or nothing. Returns each such script (relative to the venv)
    and the interpreter it starts; a script that finds its interpreter at run time (uv's relocatable one) is not.
    """
    own = os.path.realpath(scripts)
    records = Records() if records is None else records
    found: list[tuple[str, str]] = []
    for dists in installed.values():
        for dist in dists:
            names = _script_names(dist.dist_info / "entry_points.txt")
            for name in names:
                path = scripts / name
                interpreter = _started_interpreter(path)
                if interpreter is not None and os.path.realpath(os.path.dirname(interpreter)) != own:  # noqa: PTH120
                    found.append((os.path.relpath(path, venv), interpreter))
            for name in _record_scripts(dist, records.rows(dist)[0], scripts, set(names)):
                interpreter = _started_interpreter(scripts / name)
                if interpreter is not None and _another_venvs(interpreter, own):
                    found.append((os.path.relpath(scripts / name, venv), interpreter))
    return sorted(found)


def _record_scripts(dist: InstalledDist, rows: list[list[str]], scripts: Path, entry_points: set[str]) -> list[str]:
    """The other files a distribution's RECORD (its ``rows``) puts in the scripts directory: ``.data/scripts`` files."""
    directory = os.path.normpath(scripts)
    base = str(dist.dist_info.parent)
    names = []
    for row in rows:
        path = os.path.normpath(os.path.join(base, row[0]))  # noqa: PTH118  # strings, as the rows
        if os.path.dirname(path) == directory and os.path.basename(path) not in entry_points:  # noqa: PTH119, PTH120
            names.append(os.path.basename(path))  # noqa: PTH119
    return names


def _another_venvs(interpreter: str, own: str) -> bool:
    """Whether a ``.data/scripts`` file starts another venv's python, as installers write its ``#!python`` line.

    pip, uv and this engine make that line ``#!<venv>/bin/python``; a line the wheel wrote itself
    (``#!/usr/bin/env python``, ``#!/usr/bin/python3``) names a python of the system, not of a venv, and is
    not reported. The old venv is one that has a ``pyvenv.cfg``, or is gone (moved).
    """
    directory = os.path.dirname(interpreter)  # noqa: PTH120
    if os.path.realpath(directory) == own or not os.path.basename(interpreter).startswith("python"):  # noqa: PTH119
        return False
    root = os.path.dirname(directory)  # noqa: PTH120
    return os.path.basename(directory) == "bin" and (  # noqa: PTH119
        os.path.isfile(os.path.join(root, "pyvenv.cfg")) or not os.path.exists(root)  # noqa: PTH110, PTH113, PTH118
    )


def _script_names(entry_points: Path) -> list[str]:
    """The names of the console and GUI scripts an ``entry_points.txt`` declares."""
    try:
        text = entry_points.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    names: list[str] = []
    section = ""
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("["):
            section = line.strip("[] ")
        elif section in {"console_scripts", "gui_scripts"} and "=" in line and not line.startswith(("#", ";")):
            name = line.partition("=")[0].strip()
            if name and "/" not in name and name not in {".", ".."}:  # a file in the scripts directory, nothing else
                names.append(name)
    return names


#: how installer, pip and this engine start a script whose interpreter path is too long or has a space
_SH_EXEC = "'''exec' "


def _started_interpreter(script: Path) -> str | None:
    """The absolute interpreter path a script's first lines start, or ``None`` (not a script, found at run time)."""
    try:
        descriptor = os.open(script, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:  # a directory opens too, and open() refuses its descriptor (IsADirectoryError): only a file is read
        head = os.read(descriptor, 4096) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
    finally:
        os.close(descriptor)
    lines = head.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0].startswith("#!"):
        return None
    words = lines[0][2:].split()
    if words == ["/bin/sh"] and len(lines) > 1 and lines[1].startswith(_SH_EXEC):
        start = lines[1].removeprefix(_SH_EXEC)
        if "$" in start.partition('"$0"')[0]:  # found at run time ("$(dirname ...)"): it moves with the venv
            return None
        import shlex  # noqa: PLC0415  # only for such scripts

        try:
            words = shlex.split(start)
        except ValueError:
            return None
    return words[0] if words and words[0].startswith("/") else None  # POSIX: an absolute path


def _read_rows(record: str) -> list[list[str]]:
    with open(record, encoding="utf-8", newline="") as handle:  # noqa: PTH123  # a string
        return [row for row in csv.reader(handle) if row]


@functools.cache
def checkable(algorithm: str) -> bool:
    """Whether a RECORD's hash in ``algorithm`` can be checked: hashlib has it, with a fixed-size digest (not shake)."""
    if algorithm not in hashlib.algorithms_available:
        return False
    try:
        return hashlib.new(algorithm).digest_size > 0
    except ValueError:  # listed, but refused by this OpenSSL (FIPS mode)
        return False


def record_form(algorithm: str, digest: str) -> str:
    """``digest`` as a RECORD writes it (urlsafe base64, no padding): a hex digest of ``algorithm``, converted.

    Some wheel builders wrote RECORD's digests in hex (the sphinx-theme-builder that made furo 2022.9.29's wheel,
    which projects on Sphinx 4 still lock). pip and uv install those wheels and keep that RECORD; a hex digest says
    the same as the base64 one and never reads as one: ``n`` bytes are ``2n`` hex digits, ``ceil(4n/3)`` in base64.
    ``algorithm`` is one that is :func:`checkable`; any other ``digest`` is returned as it is.
    """
    if len(digest) != 2 * hashlib.new(algorithm).digest_size:
        return digest
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        return digest
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def record_digest(path: str, algorithm: str) -> str | None:
    """The digest of the regular file at ``path`` as a RECORD writes it (urlsafe base64, no padding), or ``None``.

    ``None`` when ``path`` is anything else: a link is not followed, a FIFO or a device not read (the caller looked
    with lstat first; this holds when the file was swapped since). ``algorithm`` is one that is :func:`checkable`.
    """
    # O_NOFOLLOW: a link fails to open; O_NONBLOCK: a FIFO opens without waiting for a writer, and is refused below
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(descriptor, "rb") as handle:  # noqa: PTH123  # a descriptor
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        hasher = hashlib.new(algorithm)
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, str]:
    """The file's hex digests in each of ``algorithms`` that is :func:`checkable`, read once."""
    return {algorithm: hasher.hexdigest() for algorithm, hasher in file_hashers(path, algorithms).items()}


def file_hashers(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, hashlib._Hash]:
    """Each of ``algorithms`` that is :func:`checkable`, fed the whole file (read once, in 1 MiB chunks)."""
    hashers = {algorithm: hashlib.new(algorithm) for algorithm in algorithms if checkable(algorithm)}
    with open(path, "rb") as handle:  # noqa: PTH123
        while chunk := handle.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(chunk)
    return hashers


@frozen
class VenvCheck:
    """What ``venvsync verify`` found in a venv: every check's findings, and the plan a sync would apply to it."""

    venv: Path
    files: FileDrift
    unowned: list[str]
    moved: list[tuple[str, str]]
    interrupted: list[str]
    #: the venv's creation did not finish (it holds the mark of ``_location.creating``)
    cut_off: bool
    #: what a sync would change, when a lock was compared (``None``: none was)
    plan: Plan | None

    def __bool__(self) -> bool:
        """Whether anything was found: the venv differs from its RECORDs or the lock, or was left unfinished."""
        changes = self.plan.changes if self.plan else []
        return bool(self.files or self.unowned or self.moved or changes or self.interrupted or self.cut_off)

    def as_json(self) -> dict[str, Any]:
        """The document ``verify --json`` prints."""
        return {
            "modified": self.files.modified,
            "missing": self.files.missing,
            "unreadable": self.files.unreadable,
            "unowned": self.unowned,
            "moved": [script for script, _ in self.moved],
            "interrupted": self.interrupted,
            "created": not self.cut_off,
            "differs": self.plan.as_json() if self.plan else None,
        }

    def lines(self) -> list[str]:
        """A line per finding, or one that says the venv matches."""
        files = self.files
        lines = ["interrupted: the venv's creation did not finish; run sync again"] if self.cut_off else []
        lines += [*(f"modified: {p}" for p in files.modified), *(f"missing: {p}" for p in files.missing)]
        lines += [f"unreadable: {row}" for row in files.unreadable]
        lines += [f"unowned: {p}" for p in self.unowned]
        lines += [
            f"moved: {p} starts {python}, not this venv's (moved or copied; recreate it)" for p, python in self.moved
        ]
        lines += [f"interrupted: {name} (a sync did not finish; run it again)" for name in self.interrupted]
        lines += [step.describe() for step in (self.plan.changes if self.plan else [])]
        return lines or [f"{self.venv}: every file matches its RECORD" + (" and the lock" if self.plan else "")]


def check_venv(venv: Path, target: Target | None, plan: Callable[[Target], Plan | None]) -> VenvCheck:
    """Check ``venv`` (whose interpreter's facts are ``target``) as ``venvsync verify`` does; ``plan`` compares a lock.

    Its files against their RECORDs, files no RECORD lists, scripts that start another venv's interpreter, a sync
    or a creation that did not finish, and what ``plan`` says a sync would change. ``target`` is ``None`` when the
    venv has no interpreter: one cut off before it was in place is reported as such, anything else is refused.
    """
    from tox_venvsync._journal import Journal  # noqa: PLC0415  # verify only
    from tox_venvsync._location import cut_off  # noqa: PLC0415

    made = cut_off(venv)
    if target is None and made:  # cut off before its interpreter was in place: nothing more to look at
        drift = FileDrift(modified=[], missing=[], unreadable=[])
        return VenvCheck(venv=venv, files=drift, unowned=[], moved=[], interrupted=[], cut_off=True, plan=None)
    if target is None:
        raise BadInputError(_not_a_venv(venv))
    from tox_venvsync._installed import scan  # noqa: PLC0415

    site_packages = [Path(target.scheme["purelib"]), Path(target.scheme["platlib"])]
    installed = scan(site_packages)
    records = Records()  # each RECORD read once for the three checks
    files = check_records(installed, venv, records=records)
    unowned = unowned_files(installed, site_packages, venv, records=records)
    moved = moved_scripts(installed, Path(target.scheme["scripts"]), venv, records=records)
    compared = plan(target)
    interrupted = sorted(Journal(venv).pending())  # a sync that did not finish was changing these
    return VenvCheck(
        venv=venv, files=files, unowned=unowned, moved=moved, interrupted=interrupted, cut_off=made, plan=compared
    )


def _not_a_venv(venv: Path) -> str:
    """Why ``venv``, which has no interpreter to ask, cannot be verified."""
    python = venv / "bin" / "python"
    if (venv / "pyvenv.cfg").is_file() and python.is_symlink():  # a link to an interpreter no longer there
        gone = os.path.realpath(python)
        return f"{venv}'s interpreter {gone} does not exist (moved or removed); run sync to make the venv again"
    return f"{venv} is not a virtual environment (no pyvenv.cfg or bin/python); pass the venv's directory"
