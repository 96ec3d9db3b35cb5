"""The ``poetry.lock`` reader: lock-version 2.1 groups and per-group markers, selected as ``poetry sync`` does."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from tox_venvsync._errors import LockFileError, SelectionError
from tox_venvsync._lock._model import (
    Artifact,
    DirectorySource,
    Pick,
    VcsSource,
    best_wheel,
    named_all,
    not_in_lock,
    one_line,
    tag_summary,
)
from tox_venvsync._lock._toml import read_toml
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from collections.abc import Set as AbstractSet
    from pathlib import Path

    from packaging.utils import NormalizedName

    from tox_venvsync._lock._model import SourceKind
    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

T = TypeVar("T")
D = TypeVar("D")

#: the group of the project's own dependencies, always installed
MAIN = canonicalize_name("main")
#: the first lock version that records groups and markers, so that no resolution is needed to install
_LOCK_VERSION = Version("2.1")
_SOURCE_TYPES = ("directory", "file", "git", "legacy", "url")
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")
_FIX = "fix it or re-create the lock with poetry lock"
_KINDS = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "a table",
}
#: Poetry evaluates ``extra`` as the *set* of requested extras; PEP 751's ``'x' in extras`` says exactly that
_EXTRA = re.compile(r"""\bextra\s*(==|!=)(?!=)\s*("[^"]*"|'[^']*')""")
_HASH = re.compile(r"(?P<algorithm>[A-Za-z0-9_]+):(?P<digest>[0-9A-Fa-f]+)")
_OR = re.compile(r"\s*\|\|?\s*")
_AND = re.compile(r"[\s,]+")
_OPERATOR_SPACE = re.compile(r"(===|==|!=|<=|>=|~=|<|>|=|\^|~)\s+")


def read_poetry_lock(path: Path) -> PoetryLockFile:
    """Read a ``poetry.lock`` and the ``pyproject.toml`` beside it; every problem names the file and the key."""
    _, data = read_toml(path)
    return PoetryLockFile.from_data(path, data, read_project(path.parent / "pyproject.toml", lock=path))


def read_project(path: Path, *, lock: Path) -> PoetryProject:
    """The facts ``poetry sync`` takes from ``pyproject.toml`` rather than from the lock."""
    if not path.is_file():
        reason = (
            f"Poetry keeps which dependency groups are optional in pyproject.toml, and there is no {path}; "
            "keep the lock beside the pyproject.toml it was made from"
        )
        raise LockFileError(lock, reason)
    _, data = read_toml(path)
    return PoetryProject.from_data(path, data)


class _Toml:
    """Typed access to parsed TOML: a missing or wrong value is a :class:`LockFileError` naming its key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, context: str, reason: str) -> LockFileError:
        return LockFileError(self.path, reason, context=context)

    def check(self, value: object, kind: type[T], context: str) -> T:
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
            return value
        found = _KINDS.get(type(value), type(value).__name__)
        raise self.error(context, f"expected {_KINDS.get(kind, kind.__name__)}, found {found}; {_FIX}")

    def need(self, table: Mapping[str, object], key: str, kind: type[T], context: str) -> T:
        if key not in table:
            raise self.error(context, f"the key is missing; {_FIX}")
        return self.check(table[key], kind, context)

    def get(self, table: Mapping[str, object], key: str, kind: type[T], context: str, default: D) -> T | D:
        return self.check(table[key], kind, context) if key in table else default

    def table(self, table: Mapping[str, object], key: str, context: str) -> dict[str, Any]:
        return self.get(table, key, dict, context, {})

    def strings(self, table: Mapping[str, object], key: str, context: str) -> list[str]:
        return [self.check(item, str, f"{context}[{i}]") for i, item in enumerate(self.need(table, key, list, context))]


@frozen
class PoetryProject:
    """What ``poetry sync`` reads from ``pyproject.toml``: the dependency groups, which are optional, the extras."""

    groups: frozenset[NormalizedName]
    optional_groups: frozenset[NormalizedName]
    extras: frozenset[NormalizedName]

    @property
    def default_groups(self) -> frozenset[NormalizedName]:
        """The groups installed unless the user says otherwise: all but the optional ones."""
        return self.groups - self.optional_groups

    @classmethod
    def from_data(cls, path: Path, data: Mapping[str, Any]) -> PoetryProject:
        """Groups from ``[tool.poetry.group]``, PEP 735 ``[dependency-groups]`` and ``dev-dependencies``."""
        toml = _Toml(path)
        poetry = toml.table(toml.table(data, "tool", "tool"), "poetry", "tool.poetry")
        declared = toml.table(poetry, "group", "tool.poetry.group")
        optional = {name for name, spec in declared.items() if _is_optional(toml, name, spec)}
        groups = {"main", *declared, *toml.table(data, "dependency-groups", "dependency-groups")}
        if "dev-dependencies" in poetry:  # the Poetry 1.0 spelling of the dev group
            groups.add("dev")
        project = toml.table(data, "project", "project")
        extras = {
            *toml.table(project, "optional-dependencies", "project.optional-dependencies"),
            *toml.table(poetry, "extras", "tool.poetry.extras"),
        }
        return cls(groups=_names(groups), optional_groups=_names(optional), extras=_names(extras))


def _is_optional(toml: _Toml, name: str, spec: object) -> bool:
    context = f"tool.poetry.group.{name}"
    return toml.get(toml.check(spec, dict, context), "optional", bool, f"{context}.optional", False)


@frozen
class PoetrySource:
    """A ``[package.source]``: where a package comes from when not from the default index."""

    type: str
    url: str
    reference: str | None
    resolved_reference: str | None
    subdirectory: str | None


@frozen
class PoetryPackage:
    """One ``[[package]]`` of the lock."""

    name: NormalizedName
    version: Version
    groups: frozenset[NormalizedName]
    #: the marker under which each of its groups wants the package; ``None`` means always
    markers: Mapping[NormalizedName, Marker | None]
    files: tuple[Artifact, ...]
    source: PoetrySource | None
    develop: bool
    #: where in the lockfile the package is, for messages (``package[3]``)
    context: str

    def wanted(self, groups: AbstractSet[str], environment: Mapping[str, str | AbstractSet[str]]) -> bool:
        """Poetry's rule: one of its groups is selected and the union of those groups' markers holds."""
        for group in sorted(self.groups & groups):
            marker = self.markers[group]
            if marker is None or marker.evaluate(environment, context="lock_file"):
                return True
        return False


@frozen
class PoetryLockFile:
    """A validated ``poetry.lock`` (lock-version 2.1) and the project facts it needs."""

    path: Path
    project: PoetryProject
    #: ``[metadata] python-versions``, a Poetry constraint, and its PEP 440 alternatives (any one must hold)
    python: str
    python_specifiers: tuple[SpecifierSet, ...]
    extras: frozenset[NormalizedName]
    packages: tuple[PoetryPackage, ...]
    format: str = "poetry"

    @classmethod
    def from_data(cls, path: Path, data: Mapping[str, Any], project: PoetryProject) -> PoetryLockFile:
        """Validate a parsed lock; ``project`` is what :func:`read_project` found beside it."""
        toml = _Toml(path)
        metadata = toml.need(data, "metadata", dict, "metadata")
        _check_lock_version(toml, metadata)
        python = toml.get(metadata, "python-versions", str, "metadata.python-versions", "*")
        packages = toml.get(data, "package", list, "package", [])
        return cls(
            path=path,
            project=project,
            python=python,
            python_specifiers=_python_constraint(toml, python),
            extras=project.extras | _names(toml.table(data, "extras", "extras")),
            packages=tuple(_package(toml, entry, f"package[{index}]") for index, entry in enumerate(packages)),
        )

    def select(self, target: Target, request: Request) -> list[Pick]:
        """What ``poetry sync`` installs from a 2.1 lock (``Transaction.calculate_operations``), in lock order.

        The groups are ``main``, the requested ones and, with ``default_groups``, every group the pyproject
        does not mark ``optional``. A package is in if one of its groups is selected and that group's marker
        holds for the target, with ``extra`` meaning the set of requested extras.
        """
        request = named_all(request, self.path, extras=self.extras, groups=self.project.groups - {MAIN})
        groups = self._groups(request)
        self._check_python(target)
        environment: dict[str, str | AbstractSet[str]] = {
            **target.markers,
            "extras": frozenset(request.extras),
            "dependency_groups": frozenset(),
            "extra": "",
        }
        chosen = [package for package in self.packages if self._wanted(package, groups, environment)]
        _check_unique(self.path, chosen, target)
        return [self._pick(package, target) for package in chosen]

    def _groups(self, request: Request) -> frozenset[NormalizedName]:
        extras, groups = _names(request.extras), _names(request.groups)
        if missing := extras - self.extras:
            raise SelectionError(self.path, not_in_lock("extra", missing, self.extras))
        if missing := groups - self.project.groups - request.lenient_groups:
            raise SelectionError(self.path, not_in_lock("dependency group", missing, self.project.groups))
        if request.only_groups:  # poetry install --only: those groups, not main
            return groups
        defaults = self.project.default_groups if request.default_groups else frozenset()
        return frozenset({MAIN, *defaults, *groups}) - request.no_groups  # poetry install --without

    def _check_python(self, target: Target) -> None:
        version = target.python_release
        if not any(spec.contains(version, prereleases=True) for spec in self.python_specifiers):
            reason = (
                f"the project supports Python {self.python} (metadata.python-versions) but the interpreter "
                f"{target.executable} is Python {version}; use a Python the project supports"
            )
            raise SelectionError(self.path, reason)

    def _wanted(
        self, package: PoetryPackage, groups: AbstractSet[str], environment: Mapping[str, str | AbstractSet[str]]
    ) -> bool:
        try:
            return package.wanted(groups, environment)
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            reason = f"a marker cannot be evaluated ({exc}); {_FIX}"
            raise LockFileError(self.path, reason, context=f"{package.context}.markers") from exc

    def _pick(self, package: PoetryPackage, target: Target) -> Pick:
        source = package.source
        if source is None or source.type == "legacy":
            return self._file_pick(package, target, source.url if source else None)
        if source.type == "git":
            assert source.resolved_reference is not None  # noqa: S101  # read_poetry_lock requires it
            vcs = VcsSource(
                type="git",
                url=source.url,
                commit=source.resolved_reference,
                requested=source.reference,
                subdirectory=source.subdirectory,
            )
            return replace(_pick(package, kind="vcs"), vcs=vcs)
        if source.type == "directory":
            path = (self.path.parent / source.url).resolve()
            directory = DirectorySource(path=path, editable=package.develop, subdirectory=source.subdirectory)
            return replace(_pick(package, kind="directory"), directory=directory)
        return self._archive_pick(package, source)

    def _file_pick(self, package: PoetryPackage, target: Target, index: str | None) -> Pick:
        """The wheel the interpreter prefers, else the sdist; the fetcher finds the file on ``index``."""
        if wheel := best_wheel(package.files, target.tag_ranks):
            return replace(_pick(package, kind="wheel", artifact=wheel, at=package.files.index(wheel)), index=index)
        if sdist := next((f for f in package.files if f.filename.lower().endswith(_SDIST_SUFFIXES)), None):
            return replace(_pick(package, kind="sdist", artifact=sdist, at=package.files.index(sdist)), index=index)
        where = f"{package.name} {package.version} at {package.context}"
        if not package.files:
            raise SelectionError(self.path, f"the lock lists no files for {where}; {_FIX}")
        reason = (
            f"no file of {where} fits the interpreter {target.executable} (Python {target.python_full_version}, "
            f"tags {tag_summary(target.tags)}); the lock has {', '.join(f.filename for f in package.files)}: "
            "re-lock for this interpreter or use another Python"
        )
        raise SelectionError(self.path, reason)

    def _archive_pick(self, package: PoetryPackage, source: PoetrySource) -> Pick:
        """A ``file`` (a path relative to the lock) or ``url`` source: one archive, hashed in ``files``."""
        if source.subdirectory is not None:
            reason = (
                f"{package.name} at {package.context} is a project in a subdirectory of an archive, "
                "which tox-venvsync cannot install yet; depend on a wheel or a directory instead"
            )
            raise SelectionError(self.path, reason)
        local = source.type == "file"
        filename = unquote((source.url if local else urlparse(source.url).path).rstrip("/").rsplit("/", 1)[-1])
        listed = [f for f in package.files if f.filename == filename] or list(package.files[:1])
        artifact = Artifact(
            filename=filename or "archive",
            url=None if local else source.url,
            path=(self.path.parent / source.url).resolve() if local else None,
            size=None,
            hashes=listed[0].hashes if listed else {},
        )
        return _pick(package, kind="archive", artifact=artifact, at=package.files.index(listed[0]) if listed else None)


def _pick(package: PoetryPackage, *, kind: SourceKind, artifact: Artifact | None = None, at: int | None = None) -> Pick:
    context = package.context if at is None else f"{package.context}.files[{at}]"
    return Pick(name=package.name, version=package.version, kind=kind, artifact=artifact, context=context)


def _check_unique(path: Path, chosen: Iterable[PoetryPackage], target: Target) -> None:
    seen: dict[NormalizedName, PoetryPackage] = {}
    for package in chosen:
        if (first := seen.setdefault(package.name, package)) is not package:
            reason = (
                f"{package.name} is selected twice for the interpreter {target.executable}, {first.version} at "
                f"{first.context} and {package.version} at {package.context}; their markers overlap: {_FIX}"
            )
            raise SelectionError(path, reason)


def _check_lock_version(toml: _Toml, metadata: Mapping[str, object]) -> None:
    context = "metadata.lock-version"
    text = toml.need(metadata, "lock-version", str, context)
    try:
        version = Version(text)
    except InvalidVersion as exc:
        raise toml.error(context, f"{text!r} is not a version; {_FIX}") from exc
    if version < _LOCK_VERSION:
        reason = f"lock-version {text} is not supported; re-lock with Poetry 2 (poetry lock) to write lock-version 2.1"
        raise toml.error(context, reason)
    if version.major > _LOCK_VERSION.major:
        raise toml.error(context, f"lock-version {text} is newer than this tool reads (2.x); upgrade tox-venvsync")


def _package(toml: _Toml, entry: object, context: str) -> PoetryPackage:
    table = toml.check(entry, dict, context)
    name = _name(toml, toml.need(table, "name", str, f"{context}.name"), f"{context}.name")
    version = _version(toml, toml.need(table, "version", str, f"{context}.version"), f"{context}.version")
    raw_groups = toml.strings(table, "groups", f"{context}.groups")
    files = tuple(
        _file(toml, item, f"{context}.files[{index}]")
        for index, item in enumerate(toml.get(table, "files", list, f"{context}.files", []))
    )
    for index, artifact in enumerate(files):
        if artifact.filename.endswith(".whl"):
            _check_wheel(toml, artifact.filename, name, version, f"{context}.files[{index}].file")
    return PoetryPackage(
        name=name,
        version=version,
        groups=_names(raw_groups),
        markers=_markers(toml, table.get("markers"), raw_groups, f"{context}.markers"),
        files=files,
        source=_source(toml, table, f"{context}.source"),
        develop=toml.get(table, "develop", bool, f"{context}.develop", False),
        context=context,
    )


def _markers(toml: _Toml, value: object, groups: list[str], context: str) -> dict[NormalizedName, Marker | None]:
    """One marker for all groups (a string) or one per group (a table; a group it leaves out has none)."""
    if value is None:
        return dict.fromkeys(_names(groups))
    if isinstance(value, str):
        return dict.fromkeys(_names(groups), _marker(toml, value, context))
    table = toml.check(value, dict, context)
    return {
        canonicalize_name(group): _marker(
            toml, toml.check(table[group], str, f"{context}.{group}"), f"{context}.{group}"
        )
        if group in table
        else None
        for group in groups
    }


def _marker(toml: _Toml, text: str, context: str) -> Marker | None:
    if text.strip() in {"", "*"}:
        return None
    try:
        return _parse_marker(text)
    except InvalidMarker as exc:
        raise toml.error(context, f"invalid marker ({one_line(str(exc))}); {_FIX}") from exc


@lru_cache(maxsize=1024)
def _parse_marker(text: str) -> Marker:
    """A Poetry marker as a PEP 751 lock-file marker: ``extra == "x"`` becomes ``"x" in extras``."""
    return Marker(_EXTRA.sub(lambda m: f"{m[2]} {'in' if m[1] == '==' else 'not in'} extras", text))


def _source(toml: _Toml, table: Mapping[str, object], context: str) -> PoetrySource | None:
    if "source" not in table:
        return None
    source = toml.check(table["source"], dict, context)
    kind = toml.need(source, "type", str, f"{context}.type")
    if kind not in _SOURCE_TYPES:
        where = f"{context}.type"
        raise toml.error(where, f"unknown source type {kind!r} (Poetry writes {', '.join(_SOURCE_TYPES)}); {_FIX}")
    resolved = toml.get(source, "resolved_reference", str, f"{context}.resolved_reference", None)
    if kind == "git" and not resolved:
        where = f"{context}.resolved_reference"
        raise toml.error(where, f"a git source must name the commit it is locked at; {_FIX}")
    return PoetrySource(
        type=kind,
        url=toml.need(source, "url", str, f"{context}.url"),
        reference=toml.get(source, "reference", str, f"{context}.reference", None),
        resolved_reference=resolved,
        subdirectory=toml.get(source, "subdirectory", str, f"{context}.subdirectory", None),
    )


def _file(toml: _Toml, entry: object, context: str) -> Artifact:
    """A ``{file, hash}`` entry: a file name to find on the index, and its hash."""
    table = toml.check(entry, dict, context)
    filename = toml.need(table, "file", str, f"{context}.file")
    # path traversal: the name is looked up on an index and joined to cache directories, so it must be a bare name
    if filename in {"", ".", ".."} or any(c in filename for c in "/\\\0"):
        where = f"{context}.file"
        raise toml.error(where, f"{filename!r} is not a plain file name; {_FIX}")
    text = toml.need(table, "hash", str, f"{context}.hash")
    if (found := _HASH.fullmatch(text)) is None:
        where = f"{context}.hash"
        raise toml.error(where, f"{text!r} is not ALGORITHM:HEXDIGEST (sha256:...); {_FIX}")
    hashes = {found["algorithm"].lower(): found["digest"].lower()}
    return Artifact(filename=filename, url=None, path=None, size=None, hashes=hashes)


def _check_wheel(toml: _Toml, filename: str, name: NormalizedName, version: Version, context: str) -> None:
    """A wheel must be of its package: the installed distribution is compared with the lock on every sync."""
    try:
        identity = _wheel_identity(filename)
    except InvalidWheelFilename as exc:
        raise toml.error(context, f"{exc}; {_FIX}") from exc
    if identity != (name, version):
        raise toml.error(context, f"the wheel {filename} is not of {name} {version}; {_FIX}")


@lru_cache(maxsize=4096)
def _wheel_identity(filename: str) -> tuple[NormalizedName, Version]:
    """The name and version a wheel's file name gives (a big lock names a thousand wheels; parse each once)."""
    name, version, _, _ = parse_wheel_filename(filename)
    return name, version


def _name(toml: _Toml, text: str, context: str) -> NormalizedName:
    try:
        return canonicalize_name(text, validate=True)
    except InvalidName as exc:
        raise toml.error(context, f"{text!r} is not a valid project name; {_FIX}") from exc


def _version(toml: _Toml, text: str, context: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise toml.error(context, f"{text!r} is not a valid version; {_FIX}") from exc


def _names(names: Iterable[str]) -> frozenset[NormalizedName]:
    return frozenset(canonicalize_name(name) for name in names)


def _python_constraint(toml: _Toml, text: str) -> tuple[SpecifierSet, ...]:
    """A Poetry constraint (``^3.10``, ``>=3.9,<4``, ``~3.11 || ^3.13``) as PEP 440 alternatives.

    Written by hand: ``packaging`` knows PEP 440 only, and Poetry's own parser lives in poetry-core.
    """
    try:
        return tuple(
            SpecifierSet(",".join(filter(None, map(_pep440, _AND.split(_OPERATOR_SPACE.sub(r"\1", part.strip()))))))
            for part in _OR.split(text.strip())
        )
    except (InvalidSpecifier, ValueError) as exc:
        where = "metadata.python-versions"
        raise toml.error(where, f"{text!r} is not a Poetry version constraint; {_FIX}") from exc


def _pep440(clause: str) -> str:
    """One Poetry clause as PEP 440: ``^1.2`` is ``>=1.2,<2``, ``~1.2`` is ``>=1.2,<1.3``, ``1.2`` is ``==1.2``.

    Poetry's caret bumps the first non-zero part (stopping at the patch), its tilde the minor (the major for ``~1``).
    """
    if clause in {"", "*", "==*"}:
        return ""
    if clause[0] in "^~" and not clause.startswith("~="):
        release = [int(part) for part in clause[1:].split(".")]
        if clause[0] == "^":
            bump = min(next((i for i, part in enumerate(release) if part), len(release) - 1), 2)
        else:
            bump = min(len(release) - 1, 1)
        upper = [*release[:bump], release[bump] + 1]
        return f">={clause[1:]},<{'.'.join(map(str, upper))}"
    if clause[0].isdigit():
        return f"=={clause}"
    if clause[0] == "=" and not clause.startswith("=="):
        return f"={clause}"
    return clause
