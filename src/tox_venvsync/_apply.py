"""Apply: check the wheels and what goes, then uninstall and install; pypa/installer's installer, and what is shared."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import stat
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO, Protocol

from packaging.utils import canonicalize_name

from tox_venvsync import __version__
from tox_venvsync._errors import InstallError
from tox_venvsync._installed import OUR_METADATA
from tox_venvsync._placeable import _check_placeable, _Removed, link_out_of
from tox_venvsync._uninstall import (
    _VENV_ROOT_FILES,
    _VENV_SCRIPTS,
    _claimed_by_others,
    check_removable,
    removed_files,
    uninstall,
)

# pypa/installer is imported where it is used: a sync that only removes packages, or links them
# from the cache, does not load it; nor does a removal load the unpacking (``_unpacked``, ``_verify``, ``_zip``).

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from installer.destinations import SchemeDictionaryDestination
    from installer.records import RecordEntry
    from installer.scripts import ScriptSection
    from installer.sources import WheelFile
    from installer.utils import Scheme

    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._target import Target

    #: a console or GUI script of ``entry_points.txt``: ``(name, module, attribute, "console" | "gui")``
    ScriptSpec = tuple[str, str, str, str]


INSTALLER_NAME = b"venvsync\n"


class Installer(Protocol):
    """Puts verified wheels into the venv."""

    def ready(self, wheel: Path, wanted: Wanted) -> bool:
        """Whether ``wheel`` is known to be safe already, so it needs no :meth:`check`."""

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Refuse a wheel that cannot be installed safely, before anything is written."""

    def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
        """Install every ``(wheel, wanted)`` of ``installs``, each of which passed :meth:`check` or was ready."""

    def destinations(self, wheel: Path, wanted: Wanted) -> Mapping[str, Iterable[str]]:
        """The name of every file the install of ``wheel`` (checked, or ready) writes, by directory; none is written."""


class WheelInstaller:
    """The real installer: pypa/installer writing into the target's scheme, scripts for its interpreter."""

    def __init__(self, target: Target) -> None:
        self._target = target
        #: what :meth:`planned` found, by wheel and name: the check before the uninstalls and the journal both ask
        self._planned: dict[tuple[Path, str, int, int], list[str]] = {}

    def ready(self, wheel: Path, wanted: Wanted) -> bool:  # noqa: ARG002  # the protocol's signature
        """Never: every wheel is checked."""
        return False

    def check(self, wheel: Path, wanted: Wanted) -> None:
        """Every entry stays inside its scheme and RECORD matches every file."""
        from installer.exceptions import InstallerError  # noqa: PLC0415  # see the imports
        from installer.sources import WheelFile  # noqa: PLC0415

        name = str(wanted.pick.name)
        _fits_tags(wheel, self._target, name)

        class Source(WheelFile):
            """The wheel, its RECORD's empty sizes read as its files' own (see :func:`_sized`)."""

            def read_dist_info(self, filename: str) -> str:
                text = super().read_dist_info(filename)
                return _sized(text, self._zipfile, f"{self.dist_info_dir}/RECORD") if filename == "RECORD" else text

        try:
            with Source.open(wheel) as source:
                _check_wheel(source, name, wheel)
                fits_python(source.read_dist_info("METADATA"), self._target, name, wheel.name)
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc

    def install(self, wheel: Path, wanted: Wanted) -> None:
        """Install a wheel that passed :meth:`check`."""
        from installer.destinations import SchemeDictionaryDestination  # noqa: PLC0415  # see the imports
        from installer.records import RecordEntry  # noqa: PLC0415
        from installer.utils import Scheme  # noqa: PLC0415

        name = str(wanted.pick.name)
        real_venv, checked = os.path.realpath(self._target.prefix), dict[str, bool]()

        class Destination(SchemeDictionaryDestination):
            """Never writes through a link (to a file, or a directory leading out of the venv), nor into a fifo."""

            def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:  # noqa: FBT001  # installer's signature
                base = self.scheme_dict[scheme]
                if (link := link_out_of(base, os.path.dirname(path), real_venv, checked)) is not None:
                    reason = f"{link} is a link to {os.path.realpath(link)}, outside the virtual environment; remove it"
                    raise InstallError(name, wheel.name, reason, remedied=True)
                target = os.path.join(base, path)
                try:
                    found = os.lstat(target)
                except FileNotFoundError:
                    return super().write_to_fs(scheme, path, stream, is_executable)
                if not stat.S_ISREG(found.st_mode):
                    if not stat.S_ISDIR(found.st_mode):
                        os.unlink(target)  # a link (its target stays), a fifo (opening it would wait for ever)...
                    return super().write_to_fs(scheme, path, stream, is_executable)
                # a file there may be a hard link into the cache (another wheel's, or one a killed run left):
                # writing into it would change the cache and every venv linked to it; a new file replaces it
                with _replacing(target) as temporary:
                    aside = os.path.join(os.path.dirname(path), os.path.basename(temporary))
                    entry = super().write_to_fs(scheme, aside, stream, is_executable)
                return RecordEntry(path, entry.hash_, entry.size)

            def write_file(
                self,
                scheme: Scheme,
                path: str | os.PathLike[str],
                stream: BinaryIO,
                is_executable: bool,  # noqa: FBT001  # installer's signature
            ) -> RecordEntry:
                if scheme != "scripts":
                    return super().write_file(scheme, path, stream, is_executable)
                # a .data/scripts file: its #!python line made as for a file from the cache (see _shebang), and
                # executable as there (and as uv makes it), whatever mode the wheel's zip gives it
                data = data_script(stream.read(), self.interpreter)
                return self.write_to_fs(scheme, os.fspath(path), io.BytesIO(data), is_executable=True)

            def write_script(self, name: str, module: str, attr: str, section: ScriptSection) -> RecordEntry:  # noqa: ARG002  # installer's signature
                # pypa/installer's script with the first lines _shebang_line makes: a tab or a newline in the venv's
                # path goes through /bin/sh (installer wrote it as it is, and the kernel cut the path there)
                script = _script(module, attr, self.interpreter)
                return self.write_to_fs(Scheme("scripts"), name, io.BytesIO(script), is_executable=True)

            def finalize_installation(
                self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
            ) -> None:
                super().finalize_installation(scheme, record_file_path, _as_root(self.scheme_dict, scheme, records))

        self._run(wheel, wanted, Destination, overwrite=True)  # files an interrupted apply left are replaced

    def planned(self, wheel: Path, wanted: Wanted) -> list[str]:
        """Every path :meth:`install` writes for ``wheel``, its RECORD last, found by an install that writes nothing.

        For the journal: a build's wheel is gone after a sync is cut off, and with it what it placed. Worked out
        once a wheel (a dry run of pypa/installer, a few ms): :func:`checked` asks first, when the sync uninstalls.
        """
        file = os.stat(wheel)  # the same file still: a wheel written again at its path is planned again
        key = (wheel, str(wanted.pick.name), file.st_size, file.st_mtime_ns)
        if (found := self._planned.get(key)) is None:
            found = self._planned[key] = self._dry_run(wheel, wanted)
        return list(found)

    def _dry_run(self, wheel: Path, wanted: Wanted) -> list[str]:
        from installer.destinations import SchemeDictionaryDestination  # noqa: PLC0415  # see the imports
        from installer.records import RecordEntry  # noqa: PLC0415
        from installer.scripts import Script  # noqa: PLC0415
        from installer.utils import Scheme  # noqa: PLC0415

        paths: list[str] = []

        class Recorder(SchemeDictionaryDestination):
            def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:  # noqa: ARG002, FBT001  # installer's signature
                paths.append(os.path.normpath(os.path.join(self.scheme_dict[scheme], path)))
                return RecordEntry(path, None, None)

            def write_script(self, name: str, module: str, attr: str, section: ScriptSection) -> RecordEntry:
                # installer's own makes the file it wrote executable: there is none here
                script_name, _ = Script(name, module, attr, section).generate(self.interpreter, self.script_kind)
                return self.write_to_fs(Scheme("scripts"), script_name, io.BytesIO(), is_executable=True)

        self._run(wheel, wanted, Recorder)
        return paths

    def _run(
        self, wheel: Path, wanted: Wanted, destination: type[SchemeDictionaryDestination], *, overwrite: bool = False
    ) -> None:
        """pypa/installer's install of ``wheel`` into ``destination``, made for the target's scheme."""
        from installer import install  # noqa: PLC0415  # see the imports
        from installer.exceptions import InstallerError  # noqa: PLC0415
        from installer.sources import WheelFile  # noqa: PLC0415

        name = str(wanted.pick.name)
        scheme = with_headers_of(self._target.scheme, name)
        python_version = self._target.markers["python_version"]

        class Source(WheelFile):
            """The wheel, its ``entry_points.txt`` read with the scripts pip writes (see :func:`for_python`)."""

            def read_dist_info(self, filename: str) -> str:
                text = super().read_dist_info(filename)
                return _versioned(text, python_version, name, wheel) if filename == "entry_points.txt" else text

        try:
            with Source.open(wheel) as source:
                into = destination(
                    scheme_dict=scheme,
                    interpreter=self._target.executable,
                    script_kind="posix",
                    overwrite_existing=overwrite,
                )
                with _a_file_in_the_way():
                    install(source, into, additional_metadata=_metadata(wanted))
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise InstallError(name, wheel.name, str(exc) or type(exc).__name__) from exc

    def install_all(self, installs: Sequence[tuple[Path, Wanted]]) -> None:
        """Install the wheels one after another, in the plan's order."""
        for wheel, wanted in installs:
            self.install(wheel, wanted)

    def destinations(self, wheel: Path, wanted: Wanted) -> dict[str, list[str]]:
        """The name of every file :meth:`install` writes for ``wheel``, by directory (see :meth:`planned`)."""
        return by_directory(self.planned(wheel, wanted))


def _as_root(
    scheme_dict: Mapping[str, str], root: Scheme, records: Iterable[tuple[Scheme, RecordEntry]]
) -> list[tuple[Scheme, RecordEntry]]:
    """``records`` with each file of a scheme in the root scheme's directory counted the root's.

    In a venv purelib and platlib are one directory: pypa/installer recorded a ``.data/platlib`` file of a purelib
    wheel as ``./pkg/x.py`` (its path relative to the root scheme), where pip, uv and the cache's placement write
    ``pkg/x.py``.
    """
    return [(root if scheme_dict[scheme] == scheme_dict[root] else scheme, entry) for scheme, entry in records]


def by_directory(paths: Iterable[str]) -> dict[str, list[str]]:
    """The last part of each of ``paths``, by the directory it is in."""
    found: dict[str, list[str]] = {}
    for path in paths:
        directory, name = os.path.split(path)
        found.setdefault(directory, []).append(name)
    return found


@contextlib.contextmanager
def _a_file_in_the_way() -> Iterator[None]:
    """A directory the block makes (``os.makedirs``) where a file stands is refused as ``ENOTDIR``, naming the file.

    ``makedirs`` raises ``FileExistsError`` for a file at the directory's own path (``ENOTDIR`` for one above it),
    which reached the user as a traceback; ``ENOTDIR`` is said in one sentence (see ``_errors._REMEDIES``).
    """
    try:
        yield
    except FileExistsError as exc:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), exc.filename) from exc


def with_headers_of(scheme: Mapping[str, str], name: str) -> dict[str, str]:
    """``scheme`` with the headers of distribution ``name`` in a directory of their own, as pip and uv place them.

    (``include/site/pythonX.Y/<name>``: distutils' ``install_headers`` and pip's ``get_scheme(dist_name)``;
    without it two distributions' headers would share one directory.)
    """
    return {**scheme, "headers": os.path.join(scheme["headers"], canonicalize_name(name))}


def fits_python(metadata: str, target: Target, name: str, wheel: str) -> None:
    """Refuse a wheel whose ``Requires-Python`` excludes the interpreter, as pip and uv do (an invalid one goes)."""
    from email.parser import HeaderParser  # noqa: PLC0415  # only for wheels built here and requirements pins

    value = HeaderParser().parsestr(metadata, headersonly=True).get("Requires-Python")
    if excludes(value, target):
        reason = (
            f"it requires Python {value} and the interpreter {target.executable} is Python {target.python_release}; "
            "pin a release that supports it (the lock was made for another Python) or use a Python it supports"
        )
        raise InstallError(name, wheel, reason, remedied=True)


def excludes(requires_python: str | None, target: Target) -> bool:
    """Whether a ``Requires-Python`` value excludes the interpreter; an invalid one excludes none (pip warns)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415  # see fits_python

    if not requires_python:
        return False
    try:
        specifier = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return False
    return not specifier.contains(target.python_release, prereleases=True)


def _fits_tags(wheel: Path, target: Target, name: str) -> None:
    """Refuse a wheel for another interpreter or platform (one given to ``--installpkg``), as pip and uv do."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415  # see the imports

    try:
        tags = parse_wheel_filename(wheel.name)[3]
    except InvalidWheelFilename:
        return  # its name is checked where it is made
    if not tags & set(target.tags):
        reason = (
            f"it is a wheel for {', '.join(sorted(map(str, tags)))}, which the interpreter {target.executable} "
            f"(Python {target.python_full_version}) cannot use; build or pick the wheel for this interpreter"
        )
        raise InstallError(name, wheel.name, reason, remedied=True)


def _sized(record: str, archive: zipfile.ZipFile, own: str) -> str:
    """``record`` with a file's empty size given as the size of its member of ``archive``; the hash is still checked.

    The spec lets a RECORD leave a size out, and pip, uv and the cache's unpacking accept it (the hash checks the
    file); pypa/installer's ``validate_record`` refused it ("hash / size of ... is not included in RECORD").
    """
    import csv  # noqa: PLC0415  # only for a wheel built here or given to tox

    rows = list(csv.reader(io.StringIO(record)))
    members = {info.filename: info for info in archive.infolist()}
    changed = False
    for row in rows:
        if len(row) >= 3 and row[0] != own and row[1] and not row[2] and row[0] in members:  # noqa: PLR2004
            row[2], changed = str(members[row[0]].file_size), True
    if not changed:
        return record
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _check_wheel(source: WheelFile, name: str, wheel: Path) -> None:
    from installer.exceptions import InstallerError  # noqa: PLC0415  # see the imports
    from installer.utils import SCHEME_NAMES  # noqa: PLC0415

    from tox_venvsync._unpacked import entry_scripts  # noqa: PLC0415

    # refuse a hostile wheel before any file is written: every entry stays inside its scheme
    names = source._zipfile.namelist()  # noqa: SLF001  # installer exposes the zip only privately
    for entry in names:
        parts = entry.split("/")
        if entry.startswith("/") or "\\" in entry or ".." in parts or (parts and ":" in parts[0]):
            raise InstallError(name, wheel.name, f"the entry {entry!r} would be written outside the venv")
        if entry.endswith("/"):
            continue  # a directory's entry (``ninja-1.13.2.data/``): pypa/installer, as the cache, makes nothing of it
        if entry.startswith(f"{source.data_dir}/") and (len(parts) < 3 or parts[1] not in SCHEME_NAMES):  # noqa: PLR2004
            raise InstallError(name, wheel.name, f"the entry {entry!r} is not in a known .data scheme")
    try:
        source.validate_record()  # every file's hash against RECORD
    except InstallerError as exc:
        raise InstallError(name, wheel.name, _record_issue(exc, wheel)) from exc
    points = f"{source.dist_info_dir}/entry_points.txt"
    scripts = entry_scripts(source.read_dist_info("entry_points.txt"), wheel, name) if points in names else []
    _leaves_the_venv_its_own((script for script, *_ in scripts), names, source.data_dir, name, wheel)


#: the console scripts pip names for the Python it installs for, by the script a wheel names (its
#: ``get_console_script_specs``): the names it writes, and the pattern of the names it drops (``pip3.8``)
_VERSIONED_SCRIPTS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "pip": (("pip", "pip{major}", "pip{version}"), re.compile(r"pip(\d+(\.\d+)?)?")),
    "easy_install": (("easy_install", "easy_install-{version}"), re.compile(r"easy_install(-\d+\.\d+)?")),
}


def for_python(scripts: Iterable[Sequence[str]], python_version: str) -> list[ScriptSpec]:
    """``scripts`` (``(name, module, attribute, kind)``) as pip writes them for Python ``python_version`` (``3.12``).

    pip's wheel names ``pip`` and ``pip3`` (setuptools' once ``easy_install``), the versioned ones of the Python it
    was built with baked in or left out; pip and uv write ``pip``, ``pip3`` and ``pip3.12`` for the Python they
    install for, as ``python -m venv`` does, and pip drops the other versioned names (``pip3.8``). A venv the lock
    gave pip lacked ``pip3.12``, and lost it when a sync upgraded the pip ``python -m venv`` had put there.
    """
    found = [(name, module, attr, kind) for name, module, attr, kind in scripts]
    console = {spec[0]: spec for spec in found if spec[3] == "console"}
    made: list[ScriptSpec] = []
    dropped: set[str] = set()
    for base, (names, versioned) in _VERSIONED_SCRIPTS.items():
        if (spec := console.get(base)) is None:
            continue
        dropped.update(script for script in console if versioned.fullmatch(script))
        major = python_version.partition(".")[0]
        made.extend((n.format(major=major, version=python_version), spec[1], spec[2], spec[3]) for n in names)
    return [*made, *(spec for spec in found if spec[3] != "console" or spec[0] not in dropped)] if made else found


def _versioned(text: str, python_version: str, name: str, wheel: Path) -> str:
    """An ``entry_points.txt`` whose scripts are :func:`for_python`'s: for pypa/installer, which writes the wheel's."""
    from tox_venvsync._unpacked import entry_scripts  # noqa: PLC0415  # see the imports

    scripts = entry_scripts(text, wheel, name)
    if (wanted := for_python(scripts, python_version)) == [tuple(spec) for spec in scripts]:
        return text
    sections: dict[str, list[str]] = {"console": [], "gui": []}
    for script, module, attr, kind in wanted:
        sections[kind].append(f"{script} = {module}:{attr}\n")
    return "".join(f"[{kind}_scripts]\n{''.join(lines)}" for kind, lines in sections.items() if lines)


def _metadata(wanted: Wanted) -> dict[str, bytes]:
    ours = {"by": __version__, "content": wanted.content}
    if (artifact := wanted.artifact_hash) is not None:
        ours["artifact"] = artifact
    if wanted.tree is not None:
        ours["tree"] = wanted.tree
    # REQUESTED (empty): the lock names every package it installs, as uv sync and pip install -r mark them
    metadata = {"INSTALLER": INSTALLER_NAME, "REQUESTED": b"", OUR_METADATA: json.dumps(ours).encode()}
    if wanted.direct_url is not None:
        metadata["direct_url.json"] = json.dumps({"url": wanted.direct_url, **_direct_info(wanted)}).encode()
    return metadata


def _direct_info(wanted: Wanted) -> dict[str, object]:
    """PEP 610's info: a VCS commit, a directory (editable or not), or an archive."""
    pick = wanted.pick
    if pick.vcs is not None:
        vcs_info: dict[str, object] = {"vcs": pick.vcs.type, "commit_id": pick.vcs.commit}
        if pick.vcs.requested:
            vcs_info["requested_revision"] = pick.vcs.requested
        return {"vcs_info": vcs_info, **({"subdirectory": pick.vcs.subdirectory} if pick.vcs.subdirectory else {})}
    if wanted.editable or wanted.from_directory:
        return {"dir_info": {"editable": wanted.editable}}
    hashes = _file_hashes(wanted)
    subdirectory = {"subdirectory": pick.subdirectory} if pick.subdirectory else {}  # as pip records it
    if not hashes:
        return {"archive_info": {}, **subdirectory}
    algorithm = next(iter(hashes))
    # "hash" is PEP 610's older key, which pip still writes for readers that know no other
    return {"archive_info": {"hash": f"{algorithm}={hashes[algorithm]}", "hashes": hashes}, **subdirectory}


def _file_hashes(wanted: Wanted) -> dict[str, str]:
    """The archive's hex digest: the lock's (verified when fetched), or that of a file given to ``--installpkg``."""
    artifact = wanted.pick.artifact
    if artifact is None:
        return {}
    if wanted.content is None:  # a file the lock names
        strongest = artifact.strongest_hash
        return {strongest[0]: strongest[1]} if strongest is not None else {}
    if wanted.direct_url is None or not wanted.direct_url.startswith("file:"):
        return {}
    from urllib.parse import unquote, urlsplit  # noqa: PLC0415  # only for a file given to tox

    from tox_venvsync._verify import file_digests  # noqa: PLC0415

    # the project's wheel, or the sdist it was built from: the file recorded (its content key is no file hash)
    return file_digests(unquote(urlsplit(wanted.direct_url).path), ["sha256"])


def apply(plan: Plan, wheels: Mapping[str, Path], *, venv: Path, installer: Installer) -> None:
    """Check every wheel (in parallel), then uninstall what goes or changes, then install what comes."""
    checked(plan, wheels, venv=venv, installer=installer)()


def checked(plan: Plan, wheels: Mapping[str, Path], *, venv: Path, installer: Installer) -> Callable[[], None]:
    """Check every wheel (in parallel) and that what goes can be removed; the apply that follows, to call next.

    Only reads: a sync calls it before it clears the venv's state and starts its journal, so a wheel that fails
    or a directory that cannot be written stops it with the venv as it was, still recorded in sync with its lock.
    """
    installs = [(wheels[step.name], step.wanted) for step in plan.to_install if step.wanted is not None]
    checks = [item for item in installs if not installer.ready(*item)]  # the cache's trees need no check
    if checks:
        with ThreadPoolExecutor(max_workers=min(UNPACK_WORKERS, len(checks))) as pool:
            list(pool.map(lambda item: installer.check(*item), checks))
    removing = [dist for step in plan.to_remove for dist in step.old]
    # a change keeps another's file too: the new version need not ship it again (a script or a namespace's
    # __init__.py it dropped), and the distribution that stays would be left without it
    kept = _claimed_by_others(removing) if removing else set()
    removals = [(dist, removed_files(dist, venv, kept)) for dist in removing]  # each RECORD read once
    check_removable(removals)  # none half removed for a directory this user may not write
    if removals:  # without, an install stopped half way changed nothing else (and the journal clears it)
        _check_placeable(installs, installer, _Removed(path for _, files in removals for path, _, _ in files), venv)

    def applied() -> None:
        for dist, files in removals:
            uninstall(dist, venv, kept=kept, files=files)
        installer.install_all(installs)

    return applied


#: threads unpacking (and checking) wheels at once: unzipping and hashing are CPU work that releases the
#: GIL in C, so one thread per core (up to 8) is fastest; more contend for the GIL (53 wheels on 2 cores,
#: in memory: 1 thread 580 ms, 2 threads 383 ms, 8 threads 530-575 ms)
UNPACK_WORKERS = max(1, min(8, os.cpu_count() or 1))


def _leaves_the_venv_its_own(
    scripts: Iterable[str], paths: Iterable[str], data_dir: str, name: str, wheel: Path
) -> None:
    """Refuse a wheel whose files or scripts would replace the venv's interpreter, activation, root files or state.

    The root files are ``pyvenv.cfg``, the ``lib64`` link and what virtualenv, uv and tox leave there
    (:data:`_VENV_ROOT_FILES`): a ``.data/data/lib64`` file replaced the link to ``lib``, and an uninstall then left
    the wheel's file in its place. pip would let them; checked with the wheel's names (its console and GUI scripts,
    its entries' paths), before anything of any wheel is placed: for trees from the cache and for wheels
    pypa/installer places.
    """
    inside_data, data = f"{data_dir}/", f"{data_dir}/data/"
    # the data scheme is the venv's root, so its bin/ is the scripts directory: data/bin/python3 replaces the link too
    bins = (f"{data_dir}/scripts/", f"{data}bin/")
    scripts = list(scripts)
    _scripts_stay_in_bin(scripts, name, wheel)
    found = [script for script in scripts if _VENV_SCRIPTS.fullmatch(script)]
    for path in paths:
        if not path.startswith(inside_data):
            continue  # the library's files, most of a wheel's: both places looked for are in its .data directory
        in_bin = next((path[len(bin_dir) :] for bin_dir in bins if path.startswith(bin_dir)), None)
        if in_bin is not None and _VENV_SCRIPTS.fullmatch(in_bin):
            found.append(in_bin)
        elif path.startswith(data) and (path[len(data) :] in _VENV_ROOT_FILES or path.startswith(f"{data}.venvsync/")):
            found.append(path[len(data) :])
    if found:
        reason = f"it ships {found[0]!r}, which would replace the virtual environment's own file of that name"
        raise InstallError(name, wheel.name, reason)


def _record_issue(exc: Exception, wheel: Path) -> str:
    """What is wrong with the wheel's RECORD, in a clause: the first of installer's issues, without its path.

    installer's error is the ``repr`` of its list of issues, each naming the wheel by its full path (a temporary
    build directory's), and an unreadable RECORD as the ``repr`` of the exception met: a message held ``(["Unable to
    retrieve `RECORD` from /tmp/.../x.whl: InvalidRecordEntry(elements=['garbage'], issues=[...])"])``.
    """
    issues: list[str] = list(getattr(exc, "issues", None) or [str(exc)])
    if issues[0].startswith("Unable to retrieve") and exc.__cause__ is not None:
        return f"its RECORD does not read ({' '.join(str(exc.__cause__).split())})"
    first = issues[0].removeprefix(f"In {wheel}, ")
    more = f", and {len(issues) - 1} more" if len(issues) > 1 else ""
    return f"its RECORD does not match its content ({first}{more})"


def _scripts_stay_in_bin(scripts: list[str], name: str, wheel: Path) -> None:
    """Refuse a console or GUI script whose name is no path below the scripts directory (``../x``, ``/x``, ``.``).

    Path traversal: the name comes from the wheel's ``entry_points.txt`` and becomes a path under ``bin/``. uv refuses
    such a name, pip one that ends outside ``bin/`` (it lets ``../bin/python`` replace the interpreter). Checked with
    the wheel's other names, before anything is uninstalled or placed: the check where the script is written comes
    after the sync's uninstalls.
    """
    for script in scripts:
        if script.startswith("/") or any(part in _NOT_FILE_NAMES for part in script.split("/")):
            reason = (
                f"its entry_points.txt names the script {script!r}, which is not a path below the venv's bin/ "
                "directory (no leading '/', no '.' or '..' parts)"
            )
            raise InstallError(name, wheel.name, reason)


#: last parts of an entry's path that do not name a file in its directory
_NOT_FILE_NAMES = frozenset({"", ".", ".."})


#: the end of the temporary name a file gets before it is renamed over the one it replaces
TEMPORARY_SUFFIX = ".venvsync-tmp"


@contextlib.contextmanager
def _replacing(destination: str) -> Iterator[str]:
    """A temporary name beside ``destination`` for the block to make its new file at; renamed over it after.

    A file that is replaced is never missing: a kill between an unlink and a new link left a file another
    distribution owns missing while the next sync found the venv in sync. A temporary left by a kill
    carries :data:`TEMPORARY_SUFFIX` (removed by :func:`clear_half_placed`).
    """
    # a short name of its own, not the destination's plus a suffix: that could pass the file system's limit (255)
    temporary = os.path.join(
        os.path.dirname(destination), f".{os.getpid()}.{threading.get_native_id()}{TEMPORARY_SUFFIX}"
    )
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # this process and thread's, from a run that was killed
        yield temporary
        os.replace(temporary, destination)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        # the file is what to name; a write's error (a full disk's, from a file object) names none
        if isinstance(exc, OSError) and (
            temporary in (exc.filename, exc.filename2) or (exc.filename is None and exc.errno is not None)
        ):
            raise OSError(exc.errno, exc.strerror, destination) from exc
        raise


#: a console or GUI script's code: ``installer.scripts._SCRIPT_TEMPLATE`` (a test checks that the scripts agree)
_SCRIPT = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func_path}())
"""
#: the longest ``#!`` line (with its newline) written as it is; longer ones go through ``/bin/sh``
_SHEBANG_MAX = 127
#: the bytes that end the interpreter's path in a ``#!`` line (space, tab and newline, as Linux reads it)
_CUT_BY_KERNEL = frozenset(b" \t\n")


def _script(module: str, attr: str, interpreter: str) -> bytes:
    """The POSIX script for an entry point: what ``installer.scripts.Script.generate(interpreter, "posix")`` writes.

    Written here because importing pypa/installer (its package loads ``email.policy`` and its writers) took
    11-20 ms of every sync that installs a console script, for a template and a shebang line.
    """
    code = _SCRIPT.format(module=module, import_name=attr.partition(".")[0], func_path=attr)
    return _shebang_line(interpreter) + b"\n" + code.encode("utf-8")


def data_script(data: bytes, interpreter: str) -> bytes:
    """A ``.data/scripts`` file's bytes, a first line starting ``#!python`` made the venv's (the whole line).

    The whole line, as pip and pypa/installer replace it (``#!python3.11``, or a carriage return at its end, names
    no interpreter of the venv); through /bin/sh where the path needs it, as for console scripts (and uv).
    """
    if not data.startswith(b"#!python"):
        return data
    return _shebang_line(interpreter) + b"\n" + data.partition(b"\n")[2]


def _shebang_line(interpreter: str) -> bytes:
    """``#!<interpreter>``; for a path the kernel would cut or that is too long for it, lines that make /bin/sh run it.

    The kernel ends the interpreter's path at a space or a tab, and the line at a newline: pypa/installer, pip and
    uv go through /bin/sh for a space only, and their scripts in a venv whose path holds a tab or a newline fail.
    """
    executable = interpreter.encode("utf-8")
    if not _CUT_BY_KERNEL.intersection(executable) and len(executable) + 3 <= _SHEBANG_MAX:
        return b"#!" + executable
    import shlex  # noqa: PLC0415  # only for such paths

    # installer's and distlib's way: lines /bin/sh runs and Python reads as a string
    return b"#!/bin/sh\n'''exec' " + shlex.quote(interpreter).encode("utf-8") + b' "$0" "$@"\n' + b"' '''"
