"""The ``pdm.lock`` reader (``inherit_metadata`` locks, version 4); selection is what ``pdm sync`` installs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from tox_venvsync._errors import LockFileError, SelectionError
from tox_venvsync._lock._file import project_file, resolved
from tox_venvsync._lock._model import (
    Artifact,
    DirectorySource,
    Pick,
    SourceKind,
    VcsSource,
    best_wheel,
    named_all,
    not_a_commit,
    not_a_git_url,
    not_in_lock,
    one_line,
    tag_summary,
    wrong_digest,
)
from tox_venvsync._lock._toml import read_toml
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.utils import NormalizedName

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

#: the lock_version major this reader understands (pdm 2.x writes 4.x; minors only add keys)
LOCK_MAJOR = 4
DEFAULT_GROUP = "default"
VCS_KEYS = ("git", "hg", "svn", "bzr")
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TYPE_NAMES: dict[type[Any], str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    list: "an array",
    dict: "a table",
}

SourceShape = Literal["files", "vcs", "directory", "archive"]
#: what mends a wrong value of the lock, which pdm writes (pyproject.toml's are the user's: see :func:`_remedy`)
RELOCK = "re-create the lock with `pdm lock`"


# --- the model ---------------------------------------------------------------------------------------------------


#: the group name ``pdm sync -G :all`` selects every extra and dependency group with
_ALL = ":all"


@frozen
class PdmTarget:
    """One ``[[metadata.targets]]`` entry: the environments the lock was resolved for."""

    requires_python: SpecifierSet
    platform: tuple[str, str] | None  # (operating system family, architecture), as dep_logic parses it
    platform_text: str | None
    implementation: str | None
    gil_disabled: bool

    def __str__(self) -> str:
        """As pdm prints a target: ``(>=3.11, manylinux_2_17_x86_64, cpython)``."""
        parts = [str(self.requires_python) or "any Python", self.platform_text, self.implementation]
        return f"({', '.join(p for p in parts if p)})"


@frozen
class PdmPackage:
    """One ``[[package]]`` entry; ``name[extra]`` entries (``extras = [...]``) carry the base name."""

    name: NormalizedName
    version: Version | None
    groups: frozenset[str]
    marker: Marker | None
    shape: SourceShape
    files: tuple[Artifact, ...] = ()
    vcs: VcsSource | None = None
    directory: DirectorySource | None = None
    context: str


@frozen
class ProjectGroups:
    """What pdm reads from ``pyproject.toml`` beside the lock to translate a group selection."""

    optional: frozenset[str]
    dev: frozenset[str]
    excludes: frozenset[str]


# --- reading -----------------------------------------------------------------------------------------------------


class _Table:
    """Typed access to one TOML table: every missing key or wrong type is a LockFileError naming the key."""

    __slots__ = ("context", "data", "path")

    def __init__(self, path: Path, data: object, context: str) -> None:
        self.path = path
        self.context = context
        self.data: Mapping[str, Any] = _typed(path, data, dict, context)

    def where(self, key: str) -> str:
        return f"{self.context}.{key}" if self.context else key

    def get(self, key: str, kind: type[Any]) -> Any:  # noqa: ANN401  # the value has the type ``kind``
        value = self.data.get(key)
        return None if value is None else _typed(self.path, value, kind, self.where(key))

    def need(self, key: str, kind: type[Any]) -> Any:  # noqa: ANN401  # the value has the type ``kind``
        if key not in self.data:
            raise LockFileError(self.path, "is missing; re-create the lock with `pdm lock`", context=self.where(key))
        return self.get(key, kind)

    def strings(self, key: str) -> list[str] | None:
        values = self.get(key, list)
        if values is None:
            return None
        return [_typed(self.path, value, str, f"{self.where(key)}[{index}]") for index, value in enumerate(values)]

    def tables(self, key: str) -> list[_Table]:
        values = self.get(key, list) or []
        return [_Table(self.path, value, f"{self.where(key)}[{index}]") for index, value in enumerate(values)]

    def fail(self, reason: str, *, key: str) -> LockFileError:
        return LockFileError(self.path, reason, context=self.where(key))


def _typed(path: Path, value: object, kind: type[Any], context: str) -> Any:  # noqa: ANN401
    # bool is an int in Python, and TOML has both: check the exact type
    if type(value) is not kind:
        actual = _TYPE_NAMES.get(type(value), f"a {type(value).__name__}")
        raise LockFileError(path, f"must be {_TYPE_NAMES[kind]}, not {actual}; {_remedy(path)}", context=context)
    return value


def _remedy(path: Path) -> str:
    """What mends a wrong value of ``path``: the lock is written again by pdm, ``pyproject.toml`` is corrected."""
    return "correct it" if path.name == "pyproject.toml" else RELOCK


def read_pdm_lock(path: Path) -> PdmLockFile:
    """Read and check a ``pdm.lock`` and its project's ``pyproject.toml``, as pdm does; errors name file and key.

    The project is the lock's directory, or for a lock elsewhere the nearest above it (see ``project_file``).
    """
    _, data = read_toml(path)
    pyproject = project_file(path, "pdm")
    project = read_toml(pyproject)[1] if pyproject.is_file() else None
    return parse_pdm_lock(path, data, project, project_root=pyproject.parent)


def parse_pdm_lock(
    path: Path, data: Mapping[str, Any], project: Mapping[str, Any] | None, *, project_root: Path | None = None
) -> PdmLockFile:
    """Check the parsed lock (and the project's ``pyproject.toml``, when there is one) into a :class:`PdmLockFile`.

    ``project_root`` is the project's directory, where the lock's relative paths start (default: the lock's).
    """
    project_root = path.parent if project_root is None else project_root
    root = _Table(path, data, "")
    metadata = _Table(path, root.need("metadata", dict), "metadata")
    _check_version(metadata)
    strategy = metadata.strings("strategy") or []
    if "inherit_metadata" not in strategy:
        reason = (
            "the lock was made without the inherit_metadata strategy, so it does not say which groups and "
            "environments each package is for; re-lock with `pdm lock --strategy inherit_metadata`"
        )
        raise metadata.fail(reason, key="strategy")
    groups = metadata.strings("groups")
    if groups is None:
        reason = "is missing; re-create the lock with `pdm lock`"
        raise metadata.fail(reason, key="groups")
    static_urls = "static_urls" in strategy or metadata.get("static_urls", bool) is True
    reader = _PackageReader(path, project_root, static_urls=static_urls)
    return PdmLockFile(
        path=path,
        groups=tuple(canonicalize_name(g) for g in groups),
        targets=tuple(_target(t) for t in metadata.tables("targets")),
        packages=tuple(reader.package(table) for table in root.tables("package")),
        project=None if project is None else _project_groups(project_root / "pyproject.toml", project),
    )


def _check_version(metadata: _Table) -> None:
    text: str = metadata.need("lock_version", str)
    try:
        version = Version(text)
    except InvalidVersion:
        reason = f"{text!r} is not a version; re-create the lock with `pdm lock`"
        raise metadata.fail(reason, key="lock_version") from None
    if version.major < LOCK_MAJOR:
        reason = (
            f"pdm lock_version {text} is not supported; this tool reads lock_version {LOCK_MAJOR}.x "
            "(written by pdm 2.x): re-create the lock with `pdm lock`"
        )
        raise metadata.fail(reason, key="lock_version")
    if version.major > LOCK_MAJOR:
        # the pdm that wrote it writes the same again: re-locking with it cannot help
        reason = (
            f"pdm lock_version {text} is newer than this tool reads (lock_version {LOCK_MAJOR}.x, written by pdm "
            "2.x); upgrade tox-venvsync, or re-create the lock with pdm 2 (`pdm lock`)"
        )
        raise metadata.fail(reason, key="lock_version")


def _target(table: _Table) -> PdmTarget:
    requires: str = table.need("requires_python", str)
    try:
        specifiers = SpecifierSet(requires)
    except InvalidSpecifier:
        reason = f"{requires!r} is not a version specifier; {RELOCK}"
        raise table.fail(reason, key="requires_python") from None
    platform: str | None = table.get("platform", str)
    implementation: str | None = table.get("implementation", str)
    return PdmTarget(
        requires_python=specifiers,
        platform=_parse_platform(table, platform) if platform else None,
        platform_text=platform,
        implementation=implementation.lower() if implementation else None,
        gil_disabled=table.get("gil_disabled", bool) is True,
    )


class _PackageReader:
    """Turns ``[[package]]`` tables into :class:`PdmPackage`, resolving paths against the project's directory."""

    def __init__(self, path: Path, root: Path, *, static_urls: bool) -> None:
        self.path = path
        self.root = root
        self.static_urls = static_urls

    def package(self, table: _Table) -> PdmPackage:
        name = _name(table)
        version = _version(table) if "version" in table.data or not _is_direct(table) else None
        groups = frozenset(canonicalize_name(g) for g in table.strings("groups") or ())
        common: dict[str, Any] = {
            "name": name,
            "version": version,
            "groups": groups,
            "marker": _marker(table),
            "context": table.context,
        }
        if vcs := next((key for key in VCS_KEYS if key in table.data), None):
            return PdmPackage(shape="vcs", vcs=self._vcs(table, vcs), **common)
        if "url" in table.data:
            url: str = table.need("url", str)
            filename = _url_name(url)
            archive = self._artifact(filename, url, None, self._archive_hashes(table, filename))
            return PdmPackage(shape="archive", files=(archive,), **common)
        if "path" in table.data:
            return self._local(table, common)
        return PdmPackage(shape="files", files=self._files(table), **common)

    def _vcs(self, table: _Table, kind: str) -> VcsSource:
        url: str = table.need(kind, str)
        if "revision" not in table.data:
            reason = "is missing: an editable VCS requirement is not pinned to a commit; lock it without -e"
            raise table.fail(reason, key="revision")
        commit: str = table.need("revision", str)
        if kind == "git" and (unpinned := not_a_commit(commit)) is not None:
            unpinned += "; re-create the lock with `pdm lock`"
            raise table.fail(unpinned, key="revision")
        if kind == "git" and (wrong := not_a_git_url(url)) is not None:
            wrong += "; re-create the lock with `pdm lock`"
            raise table.fail(wrong, key=kind)
        return VcsSource(
            type=kind,
            url=url,
            commit=commit,
            requested=table.get("ref", str),
            subdirectory=table.get("subdirectory", str),
        )

    def _local(self, table: _Table, common: dict[str, Any]) -> PdmPackage:
        text: str = table.need("path", str)
        local = resolved(self.path, self.root / text, table.where("path"), "re-create the lock with `pdm lock`")
        if text.endswith(ARCHIVE_SUFFIXES):
            archive = self._artifact(local.name, None, local, self._archive_hashes(table, local.name))
            return PdmPackage(shape="archive", files=(archive,), **common)
        directory = DirectorySource(
            path=local,
            editable=table.get("editable", bool) is True,
            subdirectory=table.get("subdirectory", str),
        )
        return PdmPackage(shape="directory", directory=directory, **common)

    def _files(self, table: _Table) -> tuple[Artifact, ...]:
        return tuple(self._file(entry) for entry in table.tables("files"))

    def _file(self, entry: _Table) -> Artifact:
        url: str | None = entry.get("url", str)
        if url is not None and not self.static_urls:
            # as pdm does: a URL in a lock that does not say static_urls was not written by pdm
            reason = "a file URL in a lock without the static_urls strategy; re-lock with `pdm lock --static-urls`"
            raise entry.fail(reason, key="url")
        filename: str | None = entry.get("file", str)
        if filename is None and url is None:
            reason = "is missing (and so is url); re-create the lock with `pdm lock`"
            raise entry.fail(reason, key="file")
        name = filename if filename is not None else _url_name(url or "")
        return self._artifact(name, url, None, _hash(entry))

    def _archive_hashes(self, table: _Table, filename: str) -> dict[str, str]:
        entries = table.tables("files")
        named = [e for e in entries if filename in {e.get("file", str), _url_name(e.get("url", str) or "")}]
        chosen = (named or entries)[:1]
        return _hash(chosen[0]) if chosen else {}

    @staticmethod
    def _artifact(filename: str, url: str | None, path: Path | None, hashes: dict[str, str]) -> Artifact:
        return Artifact(filename=filename, url=url, path=path, size=None, hashes=hashes)


def _name(table: _Table) -> NormalizedName:
    text: str = table.need("name", str)
    base = text.split("[", 1)[0].strip()  # an older ``name[extra]`` entry installs the base distribution
    try:
        return canonicalize_name(base, validate=True)
    except InvalidName:
        reason = f"{text!r} is not a valid package name; {RELOCK}"
        raise table.fail(reason, key="name") from None


def _version(table: _Table) -> Version:
    text: str = table.need("version", str)
    try:
        return Version(text)
    except InvalidVersion:
        reason = f"{text!r} is not a valid version; {RELOCK}"
        raise table.fail(reason, key="version") from None


def _is_direct(table: _Table) -> bool:
    return any(key in table.data for key in (*VCS_KEYS, "url", "path"))


def _marker(table: _Table) -> Marker | None:
    text: str | None = table.get("marker", str)
    if text is None:
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        reason = f"{text!r} is not a valid environment marker ({one_line(str(exc))}); {RELOCK}"
        raise table.fail(reason, key="marker") from None


def _hash(entry: _Table) -> dict[str, str]:
    text: str = entry.need("hash", str)
    algorithm, sep, digest = text.partition(":")
    # hash before install: the fetcher checks the bytes against this digest, so a malformed one is refused here
    if not sep or not algorithm or not _HEX.match(digest):
        reason = f"{text!r} is not an algorithm:hexdigest hash; re-create the lock with `pdm lock`"
        raise entry.fail(reason, key="hash")
    if (wrong := wrong_digest(algorithm, digest)) is not None:
        reason = f"{wrong}; re-create the lock with `pdm lock`"
        raise entry.fail(reason, key="hash")
    return {algorithm.lower(): digest.lower()}


def _url_name(url: str) -> str:
    return unquote(Path(urlparse(url).path).name) or "archive"


# --- pyproject.toml: which groups are extras and which are dependency groups -------------------------------------


def _project_groups(pyproject: Path, data: Mapping[str, Any]) -> ProjectGroups:
    """The groups pdm finds in the project: extras, dependency groups, and the packages it never installs."""
    document = _Table(pyproject, data, "")
    project = _Table(pyproject, document.get("project", dict) or {}, "project")
    tool = _Table(pyproject, document.get("tool", dict) or {}, "tool")
    pdm = _Table(pyproject, tool.get("pdm", dict) or {}, "tool.pdm")
    resolution = _Table(pyproject, pdm.get("resolution", dict) or {}, "tool.pdm.resolution")
    dev = {*(document.get("dependency-groups", dict) or {}), *(pdm.get("dev-dependencies", dict) or {})}
    return ProjectGroups(
        optional=frozenset(canonicalize_name(g) for g in project.get("optional-dependencies", dict) or {}),
        dev=frozenset(canonicalize_name(g) for g in dev),
        excludes=frozenset(canonicalize_name(n) for n in resolution.strings("excludes") or ()),
    )


# --- platforms, as dep_logic (pdm's marker library) names them ---------------------------------------------------

_PLATFORM_ALIASES = {
    "linux": ("manylinux", "x86_64"),
    "windows": ("windows", "x86_64"),
    "macos": ("macos", "aarch64"),
    "alpine": ("musllinux", "x86_64"),
    "macos_arm64": ("macos", "aarch64"),
    "macos_x86_64": ("macos", "x86_64"),
}
_VERSIONED_PLATFORM = re.compile(r"^(manylinux|macos|musllinux)_\d+_\d+_([a-z0-9_]+)$")
_RELEASED_OS = frozenset({"freebsd", "netbsd", "openbsd", "dragonfly", "illumos", "haiku"})
_ARCHES = frozenset(
    {"aarch64", "armv6l", "armv7l", "ppc64le", "ppc64", "x86", "x86_64", "s390x", "riscv64", "loongarch64"}
)
_ARCH_ALIASES = {"i386": "x86", "i686": "x86", "amd64": "x86_64", "arm64": "aarch64"}


def _parse_platform(table: _Table, text: str) -> tuple[str, str]:
    """``(os family, arch)`` of a target's platform string (dep_logic's ``Platform.parse``)."""
    if text in _PLATFORM_ALIASES:
        return _PLATFORM_ALIASES[text]
    if text.startswith("windows_"):
        family, arch = "windows", text.removeprefix("windows_")
    elif match := _VERSIONED_PLATFORM.match(text):
        family, arch = match[1], match[2]
    else:
        family, _, arch = text.partition("_")
        if family in _RELEASED_OS:
            arch = arch.partition("_")[2]
    arch = _ARCH_ALIASES.get(arch, arch)
    if arch not in _ARCHES:
        reason = f"{text!r} is not a platform pdm knows; re-create the lock with `pdm lock`"
        raise table.fail(reason, key="platform")
    return family, arch


def _target_platform(target: Target) -> tuple[str, str]:
    """``(os family, arch)`` of the interpreter, in the names :func:`_parse_platform` gives."""
    system = target.markers.get("sys_platform", "")
    if system == "linux":
        musl = any(tag.platform.startswith("musllinux") for tag in target.tags)
        family = "musllinux" if musl else "manylinux"
    else:
        family = {"darwin": "macos", "win32": "windows"}.get(system, system.rstrip("0123456789"))
    machine = target.markers.get("platform_machine", "").lower()
    return family, _ARCH_ALIASES.get(machine, machine)


def pdm_ranks(target: Target) -> Mapping[str, int]:
    """The interpreter's tag ranks in pdm's order: ``(major, minor, ABI kind, platform)``, the highest first.

    pdm sync takes, of a package's files, the one dep_logic's ``EnvSpec.wheel_compatibility`` rates highest: the
    Python version of the wheel's interpreter tag first (``cp312`` over ``cp37-abi3`` over ``py3``), then its ABI
    (the interpreter's own, then ``abi3``, then ``none``), then the platform in dep_logic's list, where a plain
    ``linux_x86_64`` comes after every ``manylinux`` one on glibc ("non-manylinux is lowest priority") and before
    the ``musllinux`` ones, oldest first, on musl. packaging 26 ranks ``linux_x86_64`` first: a lock with a wheel
    built here beside a manylinux one (a private index) got the other wheel than ``pdm sync`` installs.
    """
    ranks = _PDM_RANKS.get(target.tag_strings)
    if ranks is None:
        platforms = _pdm_platforms(target.tag_strings)
        ordered = sorted(target.tag_strings, key=lambda tag: _pdm_key(tag, platforms))
        ranks = _PDM_RANKS[target.tag_strings] = {tag: rank for rank, tag in enumerate(ordered)}
    return ranks


def _pdm_platforms(tags: Iterable[str]) -> dict[str, int]:
    """Each platform of the interpreter's tags and its place in dep_logic's ``Platform.compatible_tags``."""
    found = list(dict.fromkeys(tag.rpartition("-")[2] for tag in tags))  # packaging's order: newest glibc first
    plain = [p for p in found if p.startswith("linux_")]
    musl = [p for p in found if p.startswith("musllinux_")]
    rest = [p for p in found if p not in plain and p not in musl and p != "any"]
    ordered = [*plain, *reversed(musl), *rest] if musl else [*rest, *plain]
    return {platform: place for place, platform in enumerate([*ordered, "any"])}


def _pdm_key(tag: str, platforms: Mapping[str, int]) -> tuple[int, int, int, int]:
    """A tag's place in pdm's order, the best lowest: dep_logic's ``(major, minor, abi, platform)``, negated."""
    interpreter, abi, platform = tag.split("-")
    digits = interpreter[2:]  # dep_logic's version: the two letters of the implementation (cp, pp, py) cut off
    major, minor = (int(digits[:1]), int(digits[1:] or 0)) if digits.isdigit() else (0, 0)
    kind = 1 if abi == "abi3" else 0 if abi == "none" else 2
    return (-major, -minor, -kind, platforms[platform])


#: :func:`pdm_ranks` by the interpreter's tags
_PDM_RANKS: dict[tuple[str, ...], dict[str, int]] = {}


def _free_threaded(target: Target) -> bool:
    return any(tag.abi.startswith("cp") and tag.abi.endswith("t") for tag in target.tags[:1])


# --- selection -----------------------------------------------------------------------------------------------------


@frozen
class PdmLockFile:
    """A checked ``pdm.lock``; ``project`` is what ``pyproject.toml`` beside it says about its groups."""

    path: Path
    groups: tuple[str, ...]
    targets: tuple[PdmTarget, ...]
    packages: tuple[PdmPackage, ...]
    project: ProjectGroups | None
    format: str = "pdm"

    def select(self, target: Target, request: Request) -> list[Pick]:
        """What ``pdm sync`` installs (``LockedRepository.evaluate_candidates`` with pdm's group translation).

        A package is in when one of its ``groups`` is selected (or it lists none) and its ``marker`` holds
        for the interpreter; entries of one distribution (a ``name[extra]`` entry and its base) are installed once.
        """
        self._check_targets(target)
        groups = self.selected_groups(request)
        excludes = self.project.excludes if self.project else frozenset()
        environment = _marker_environment(target, groups)
        chosen: dict[str, PdmPackage] = {}
        for package in self.packages:
            if package.name in excludes or (package.groups and not package.groups & groups):
                continue
            if package.marker is not None and not self._holds(package, environment):
                continue
            self._merge(chosen, package, target)
        return [self._pick(package, target) for package in chosen.values()]

    def selected_groups(self, request: Request) -> frozenset[str]:
        """The groups pdm's ``GroupSelection`` picks: extras and dependency groups are both groups (``-G``) to pdm.

        ``pdm sync`` alone installs every locked group. With groups named, it adds ``default`` (the project's
        own dependencies) and, unless ``--prod`` (``default_groups=False``) or a named group is a dependency
        group, every dependency group. A dependency group the lock lacks is left out (pdm refuses instead).
        """
        if _ALL in request.extras | request.groups:  # pdm sync -G :all
            named = {"extras": request.extras - {_ALL}, "groups": request.groups - {_ALL}}
            request = replace(request, **named, all_extras=True, all_groups=True)
        if request.all_extras or request.all_groups or request.no_extras or request.no_groups:
            request = self._named_all(request)
        asked = request.extras | request.groups
        if missing := sorted(asked - set(self.groups) - request.lenient_groups):
            raise SelectionError(self.path, not_in_lock("group", missing, self.groups))
        if request.only_groups:  # pdm sync --no-default -G: those groups, not the project's own
            return frozenset(asked)
        if request.default_groups and not asked:
            known = self._project_group_names()
            return frozenset(g for g in self.groups if (known is None or g in known) and g not in request.no_groups)
        selected = {DEFAULT_GROUP, *asked}
        dev = self._dev_groups(request)
        if request.default_groups and not asked & dev:
            selected.update(dev & set(self.groups))
        return frozenset(selected) - request.no_groups  # pdm sync --without

    def _named_all(self, request: Request) -> Request:
        """``-G :all`` in two halves: every extra (optional group) and every dependency group of the project."""
        if self.project is None:
            reason = (
                "without the pyproject.toml beside the lock its extras cannot be told from its dependency groups, "
                "so every extra or group cannot be selected; name them instead"
            )
            raise SelectionError(self.path, reason)
        # pdm sync --without takes any group, an extra as well as a dependency group: so do --no-extra, --no-group
        without = request.no_extras | request.no_groups
        if missing := sorted(without - set(self.groups) - request.lenient_groups):
            raise SelectionError(self.path, not_in_lock("group", missing, self.groups))
        asked = replace(request, no_extras=frozenset(), no_groups=frozenset())
        spelled = named_all(asked, self.path, extras=self.project.optional, groups=self.project.dev)
        return replace(spelled, extras=spelled.extras - without, groups=spelled.groups - without, no_groups=without)

    def _project_group_names(self) -> frozenset[str] | None:
        if self.project is None:
            return None
        return frozenset({DEFAULT_GROUP, *self.project.optional, *self.project.dev})

    def _dev_groups(self, request: Request) -> frozenset[str]:
        """The project's dependency groups; without a pyproject, every locked group not asked for as an extra."""
        if self.project is not None:
            return self.project.dev
        return frozenset(self.groups) - {DEFAULT_GROUP} - request.extras

    def _check_targets(self, target: Target) -> None:
        if not self.targets or any(_fits(lock_target, target) for lock_target in self.targets):
            return
        platform = "_".join(_target_platform(target))
        reason = (
            f"none of the lock targets {', '.join(map(str, self.targets))} fits the interpreter {target.executable} "
            f"(Python {target.python_full_version}, {platform}, {target.markers.get('implementation_name')}); "
            "add a target with `pdm lock --append` run for this Python, or use another Python"
        )
        raise SelectionError(self.path, reason)

    def _holds(self, package: PdmPackage, environment: dict[str, Any]) -> bool:
        assert package.marker is not None  # noqa: S101  # the caller checked
        try:
            return package.marker.evaluate(environment, context="lock_file")
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            reason = f"the marker {str(package.marker)!r} cannot be evaluated ({exc}); fix it and re-lock"
            raise LockFileError(self.path, reason, context=f"{package.context}.marker") from exc

    def _merge(self, chosen: dict[str, PdmPackage], package: PdmPackage, target: Target) -> None:
        first = chosen.setdefault(package.name, package)
        if first is package or (first.version, first.shape) == (package.version, package.shape):
            return
        reason = (
            f"{package.name} is selected twice for the interpreter {target.executable} "
            f"(Python {target.python_full_version}): {first.version} at {first.context} and "
            f"{package.version} at {package.context}; fix the markers and re-lock with `pdm lock`"
        )
        raise SelectionError(self.path, reason)

    def _pick(self, package: PdmPackage, target: Target) -> Pick:
        kind, artifact = self._source(package, target)
        context = package.context
        if package.shape == "files" and artifact is not None:
            context = f"{context}.files[{package.files.index(artifact)}]"
        return Pick(
            name=package.name,
            version=package.version,
            kind=kind,
            artifact=artifact,
            vcs=package.vcs,
            directory=package.directory,
            context=context,
            direct=package.shape != "files",  # the files of a package (a registry's) are no direct reference
        )

    def _source(self, package: PdmPackage, target: Target) -> tuple[SourceKind, Artifact | None]:
        """The artifact to install: the wheel pdm ranks best for the interpreter (:func:`pdm_ranks`), else the sdist."""
        if package.shape == "vcs":
            return "vcs", None
        if package.shape == "directory":
            return "directory", None
        if package.shape == "archive":
            return "archive", package.files[0]
        if wheel := best_wheel((f for f in package.files if f.filename.endswith(".whl")), pdm_ranks(target)):
            return "wheel", wheel
        if sdist := next((f for f in package.files if not f.filename.endswith(".whl")), None):
            return "sdist", sdist
        raise SelectionError(self.path, _no_file_message(package, target))


def _fits(lock_target: PdmTarget, target: Target) -> bool:
    """dep_logic's ``EnvSpec.compare`` is not INCOMPATIBLE: Python, implementation, then OS family and arch."""
    # python_release: a Python built from source says 3.13.0+, which is no version and would fit no target
    if not lock_target.requires_python.contains(target.python_release, prereleases=True):
        return False
    if lock_target.implementation is not None and (
        lock_target.implementation != target.markers.get("implementation_name")
        or lock_target.gil_disabled != _free_threaded(target)
    ):
        return False
    return lock_target.platform is None or lock_target.platform == _target_platform(target)


def _marker_environment(target: Target, groups: Iterable[str]) -> dict[str, Any]:
    selected = frozenset(groups)
    return {**target.release_markers, "extra": "", "extras": selected, "dependency_groups": selected}


def _no_file_message(package: PdmPackage, target: Target) -> str:
    where = f"{package.name} {package.version} at {package.context}"
    if not package.files:
        return f"the lock has no files for {where}; re-create the lock with `pdm lock`"
    shown = tag_summary(target.tags)
    return (
        f"no file of {where} fits the interpreter {target.executable} (Python {target.python_full_version}, "
        f"tags {shown}); the lock has {', '.join(f.filename for f in package.files)}: "
        "re-lock for this interpreter with `pdm lock --append` or use another Python"
    )
