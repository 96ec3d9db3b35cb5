"""The ``uv.lock`` reader; selection walks the lock's dependency graph from the project, as ``uv sync`` does."""

from __future__ import annotations

import itertools
import os
import re
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from tox_venvsync._errors import LockFileError, SelectionError, named
from tox_venvsync._lock._model import (
    Artifact,
    DirectorySource,
    Pick,
    VcsSource,
    best_wheel,
    not_a_commit,
    not_a_git_url,
    not_in_lock,
    tag_summary,
    wrong_digest,
)
from tox_venvsync._lock._toml import read_toml
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

_T = TypeVar("_T")

#: the lock format version this reader understands (uv.lock ``version``; ``revision`` changes are additive)
SUPPORTED_VERSION = 1

UvSourceKind = Literal["registry", "git", "url", "path", "directory", "editable", "virtual"]
_SOURCE_KINDS: tuple[UvSourceKind, ...] = ("registry", "git", "url", "path", "directory", "editable", "virtual")
#: the sources of a project or workspace member: the tree itself, never an archive
_LOCAL_TREES = frozenset({"directory", "editable", "virtual"})
#: :func:`uv_ranks` by the interpreter's tags
_UV_RANKS: dict[tuple[str, ...], dict[str, int]] = {}


def uv_ranks(target: Target) -> Mapping[str, int]:
    """The interpreter's tag ranks in uv's order: a plain ``linux_<arch>`` tag after the manylinux and musllinux ones.

    packaging 26 (and pip 26 with it) ranks ``linux_x86_64`` first of each interpreter and ABI; uv ranks it last
    ("non-manylinux is given lowest priority", ``uv-platform-tags``), as packaging did before. A lock with both
    wheels of a release (a private index with wheels built locally) gets the one ``uv sync`` installs, on every
    Python: a Python 3.9 target, whose tags come from an older packaging, had uv's order already.
    """
    ranks = _UV_RANKS.get(target.tag_strings)
    if ranks is None:
        # each run of one interpreter and ABI on this platform (cp312-cp312-*, not -any) keeps its place; in it,
        # linux_<arch> goes last
        runs = itertools.groupby(target.tag_strings, key=lambda tag: (tag.rpartition("-")[0], tag.endswith("-any")))
        ordered = [tag for _, run in runs for tag in sorted(run, key=lambda tag: "-linux_" in tag)]
        ranks = _UV_RANKS[target.tag_strings] = {tag: rank for rank, tag in enumerate(ordered)}
    return ranks


_GIT_REVISIONS = ("rev", "tag", "branch")
_TYPE_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "a table"}
#: uv writes conflict markers as ``extra == 'extra-3-foo-x1'`` with set semantics (see :func:`_marker_text`)
_EXTRA_COMPARISON = re.compile(r"""\bextra\s*(==|!=)\s*(['"])(.*?)\2""")
_HEX = re.compile(r"[0-9a-fA-F]+")


def read_uv_lock(path: Path) -> UvLockFile:
    """Read and validate a ``uv.lock`` and the ``pyproject.toml`` beside it (for its default groups)."""
    _, data = read_toml(path)
    project_file = path.parent / "pyproject.toml"
    project = read_toml(project_file)[1] if project_file.is_file() else None
    return parse_uv_lock(path, data, project)


def read_build_constraints(path: Path) -> tuple[str, ...]:
    """``[manifest] build-constraints`` of a ``uv.lock`` as requirement strings: uv builds every source under them.

    uv records ``tool.uv.build-constraint-dependencies`` there (``{ name, specifier, marker }``); an entry that is
    not one is refused naming its key, as the other readers refuse.
    """
    _, data = read_toml(path)
    manifest = data.get("manifest")
    entries = manifest.get("build-constraints", []) if isinstance(manifest, dict) else []
    found: list[str] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else [None]):
        text = _constraint(entry)
        if text is None:
            reason = "must be a table of a name, a specifier and a marker, as uv writes it; re-lock with uv"
            raise LockFileError(path, reason, context=f"manifest.build-constraints[{index}]")
        found.append(text)
    return tuple(found)


def _constraint(entry: object) -> str | None:
    """One ``build-constraints`` entry as a requirement string (``name==1.0; marker``), or ``None``: not one."""
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  # a build's only

    if not isinstance(entry, dict) or not isinstance(name := entry.get("name"), str):
        return None
    specifier, marker = entry.get("specifier", ""), entry.get("marker", "")
    if not isinstance(specifier, str) or not isinstance(marker, str):
        return None
    text = f"{name}{specifier}; {marker}" if marker else f"{name}{specifier}"
    try:
        Requirement(text)
    except InvalidRequirement:
        return None
    return text


def parse_uv_lock(path: Path, data: Mapping[str, Any], project: Mapping[str, Any] | None = None) -> UvLockFile:
    """The model of parsed ``uv.lock`` content; ``project`` is the parsed ``pyproject.toml`` beside it."""
    from tox_venvsync._lock._uv_fresh import stale_reason  # noqa: PLC0415  # only where a lock is read

    reader = _ProjectReader(path.parent / "pyproject.toml")
    defaults, declared = reader.groups(project or {})
    lock = _LockReader(path).lock(data, defaults, declared)
    no_build, no_binary = reader.build_options(project or {})
    if no_build or no_binary:
        lock = replace(lock, no_build=no_build, no_binary=no_binary)
    if project is None:  # copied without its pyproject.toml (a Docker stage): the groups as uv recorded them
        lock = _recorded_groups(lock)
    stale = stale_reason(path, data, project) if project else None
    return replace(lock, stale=stale) if stale else lock


def _recorded_groups(lock: UvLockFile) -> UvLockFile:
    """``lock`` with its project's default and declared groups as uv records them, where it does (newer uv)."""
    root = lock.root_project()
    recorded = None if root is None else lock.packages[root]
    if recorded is None or recorded.default_groups is None:
        return lock
    return replace(lock, default_groups=recorded.default_groups, declared_groups=recorded.declared_groups)


@frozen
class UvSource:
    """Where a locked package comes from: one of uv's seven source kinds and its URL or path."""

    kind: UvSourceKind
    value: str
    subdirectory: str | None = None


@frozen
class UvDependency:
    """An edge of the graph: the package it leads to (an index into the lock), its extras and marker."""

    package: int
    extras: frozenset[NormalizedName]
    marker: Marker | None
    context: str


@frozen
class UvRequirement:
    """A requirement of the workspace root itself (``[manifest]``), matched to a package by name and markers."""

    name: NormalizedName
    extras: frozenset[NormalizedName]
    marker: Marker | None
    context: str


@frozen
class UvPackage:
    """One ``[[package]]`` of the lock."""

    name: NormalizedName
    version: Version | None
    source: UvSource
    context: str
    dependencies: tuple[UvDependency, ...] = ()
    optional_dependencies: Mapping[NormalizedName, tuple[UvDependency, ...]]
    dependency_groups: Mapping[NormalizedName, tuple[UvDependency, ...]]
    provides_extras: frozenset[NormalizedName] = frozenset()
    resolution_markers: tuple[Marker, ...] = ()
    sdist: Artifact | None = None
    wheels: tuple[Artifact, ...] = ()
    vcs: VcsSource | None = None
    #: a workspace member's ``tool.uv.default-groups`` as uv records it (newer uv); ``None`` when not recorded
    default_groups: frozenset[NormalizedName] | Literal["all"] | None = None
    #: the groups a workspace member declares (``metadata.requires-dev``: an empty one has no edges)
    declared_groups: frozenset[NormalizedName] = frozenset()
    #: ``tool.uv.dependency-groups.<group>.requires-python`` as uv records it (``group-requires-python``)
    group_requires_python: Mapping[NormalizedName, SpecifierSet]


@frozen
class _Start:
    """Where a walk starts: the roots, the groups that are theirs, and the root's own requirements.

    Besides the roots' own groups, ``root_groups`` (a virtual root's, as requirements) count as the start's
    own: the default groups apply to them. ``outer_groups`` and ``outer_edges`` are the workspace root's groups as a
    member sees them: uv lets a member name them (``--group``, ``--only-group``, ``--all-groups``), the
    member's own group of a name wins, and the default groups never reach them.
    """

    roots: tuple[int, ...]
    default_groups: frozenset[NormalizedName] | Literal["all"]
    declared_groups: frozenset[NormalizedName]
    requirements: tuple[UvRequirement, ...] = ()
    root_groups: Mapping[NormalizedName, tuple[UvRequirement, ...]]
    outer_groups: Mapping[NormalizedName, tuple[UvRequirement, ...]]
    outer_edges: Mapping[NormalizedName, tuple[UvDependency, ...]]


@frozen
class UvLockFile:
    """A validated ``uv.lock``, with the default groups of the project beside it."""

    path: Path
    packages: tuple[UvPackage, ...]
    #: the packages ``uv sync`` starts from: the project at the lock's directory, else every workspace member
    roots: tuple[int, ...]
    #: the names of the workspace's members (``[manifest] members``)
    members: frozenset[NormalizedName] = frozenset()
    requires_python: SpecifierSet | None = None
    supported_markers: tuple[Marker, ...] = ()
    #: each ``conflicts`` set as uv's encoded names (``extra-3-foo-x1``, ``group-3-foo-dev``)
    conflicts: tuple[frozenset[str], ...] = ()
    requirements: tuple[UvRequirement, ...] = ()
    root_groups: Mapping[NormalizedName, tuple[UvRequirement, ...]]
    #: ``tool.uv.default-groups`` of the project ("all", or the names; ``dev`` when unset)
    default_groups: frozenset[NormalizedName] | Literal["all"] = frozenset()
    #: the groups the project's ``pyproject.toml`` declares (an empty group may be missing from the lock)
    declared_groups: frozenset[NormalizedName] = frozenset()
    #: why ``uv sync --locked`` would refuse the lock (the pyproject.toml files changed since), else ``None``
    stale: str | None = None
    #: the packages ``tool.uv.no-build`` (``"all"``) or ``no-build-package`` forbid building, as ``uv sync`` reads them
    no_build: frozenset[NormalizedName] | Literal["all"] = frozenset()
    #: the packages ``tool.uv.no-binary`` (``"all"``) or ``no-binary-package`` install from their sdist only
    no_binary: frozenset[NormalizedName] | Literal["all"] = frozenset()
    format: str = "uv"

    def select(self, target: Target, request: Request) -> list[Pick]:
        """What ``uv sync --frozen`` installs for ``target`` and ``request``, in lock order.

        The walk follows uv's ``Installable::to_resolution``: start at the roots with the requested extras and
        groups, follow every edge whose marker holds, and pull in the extras an edge names. Virtual packages are
        walked but not installed. A stale lock is refused, as tox-uv's ``uv sync --locked`` refuses it, unless
        ``request.frozen``.
        """
        if self.stale is not None and not request.frozen:
            raise SelectionError(
                self.path, f"{self.stale}; run uv lock, or add {named('frozen')} to install the lock as it is"
            )
        self._check_environment(target)
        start = self._start(request)
        extras, groups = self._request(request, start)
        self._check_group_pythons(start, groups, target)
        reached = _Walk(self, target).run(start, extras, groups, only_groups=request.only_groups)
        self._check_unique(reached, target)
        ranks = uv_ranks(target)
        picks = (self._pick(index, target, ranks) for index in sorted(reached))
        return [pick for pick in picks if pick is not None]

    def _check_environment(self, target: Target) -> None:
        version = target.python_release
        if self.requires_python is not None and not self.requires_python.contains(version, prereleases=True):
            reason = (
                f"the lock requires Python {self.requires_python} but the interpreter {target.executable} is "
                f"Python {target.python_full_version}; use an interpreter the lock supports or re-lock"
            )
            raise SelectionError(self.path, reason)
        if self.supported_markers and not any(
            _evaluate(self.path, marker, _environment(target), "supported-markers") for marker in self.supported_markers
        ):
            reason = (
                f"the lock supports only the environments {'; '.join(map(str, self.supported_markers))} and the "
                f"interpreter {target.executable} (Python {version}) is in none of them; re-lock for it"
            )
            raise SelectionError(self.path, reason)

    def _check_group_pythons(self, start: _Start, groups: frozenset[NormalizedName], target: Target) -> None:
        """A selected group whose ``requires-python`` excludes the interpreter is refused, as ``uv sync`` refuses it.

        uv adds the range to the group's markers too, so a walk would quietly leave the group's packages out.
        """
        version = target.python_release
        for package in (self.packages[index] for index in start.roots):
            for group, specifier in sorted(package.group_requires_python.items()):
                if group in groups and not specifier.contains(version, prereleases=True):
                    reason = (
                        f"the dependency group {group} of {package.name} requires Python {specifier} "
                        f"(tool.uv.dependency-groups.{group}.requires-python) but the interpreter {target.executable} "
                        f"is Python {target.python_full_version}; add {named('no group').format(group)} for this "
                        "Python, or use a Python the group supports"
                    )
                    raise SelectionError(self.path, reason)

    def _start(self, request: Request) -> _Start:
        """Where ``uv sync`` starts: the project at ``request.project``, or the members the packages options name.

        One ``--package`` is ``uv sync`` in that member's directory; several, or ``--all-packages``, start at
        each of them with the default groups of the project at ``request.project`` (as uv does). Their groups are
        the named members' and a virtual root's (the default groups reach those too); the project at
        ``request.project`` adds none of its own when it is not named, nor does a workspace root that is a project.
        """
        here = self._project_start(request.project)
        if not request.packages and not request.all_packages:
            return here
        if len(request.packages) == 1:  # uv sync --package X: as uv sync run in X's directory
            [name] = request.packages
            return self._project_start(self.packages[self._member(name)].source.value)
        members = sorted(map(self._member, self._member_names() if request.all_packages else request.packages))
        # a virtual root's groups (and the groups its pyproject.toml declares) belong to the whole workspace
        virtual = self.root_project() is None
        return _Start(
            roots=tuple(members),
            default_groups=here.default_groups,
            declared_groups=(self.declared_groups if virtual else frozenset()).union(
                *(self.packages[index].declared_groups for index in members)
            ),
            # the workspace root's own requirements (a virtual root's) belong to the whole workspace
            requirements=self.requirements if request.all_packages else (),
            root_groups=self.root_groups,
            outer_groups={},
            outer_edges={},
        )

    def _project_start(self, project: str) -> _Start:
        """The lock's own project (every member of a virtual root) at ``.``, else the workspace member there."""
        if os.path.normpath(project) == ".":
            return _Start(
                roots=self.roots,
                default_groups=self.default_groups,
                declared_groups=self.declared_groups,
                requirements=self.requirements,
                root_groups=self.root_groups,
                outer_groups={},
                outer_edges={},
            )
        wanted = os.path.normpath(project)
        for number, package in enumerate(self.packages):
            if (
                package.source.kind in _LOCAL_TREES
                and os.path.normpath(package.source.value) == wanted
                and package.name in self.members  # a path dependency is no member
            ):
                defaults = package.default_groups
                root = self.root_project()
                return _Start(
                    roots=(number,),
                    default_groups=frozenset({canonicalize_name("dev")}) if defaults is None else defaults,
                    declared_groups=package.declared_groups,
                    root_groups={},
                    outer_groups=self.root_groups,
                    outer_edges={} if root is None or root == number else self.packages[root].dependency_groups,
                )
        reason = (
            f"no workspace member of the lock is at {self.path.parent / project}; add that project to "
            "tool.uv.workspace.members and run uv lock, or sync from the workspace root"
        )
        raise SelectionError(self.path, reason)

    def root_project(self) -> int | None:
        """The index of the project at the lock's directory, or ``None`` for a virtual workspace root."""
        for index in self.roots:
            package = self.packages[index]
            if package.source.kind in _LOCAL_TREES and os.path.normpath(package.source.value) == ".":
                return index
        return None

    def _member(self, name: str) -> int:
        """The index of the workspace member ``name`` (uv's ``--package``)."""
        wanted, members = canonicalize_name(name), self._member_names()
        for number, package in enumerate(self.packages):
            if package.name == wanted and wanted in members and package.source.kind in _LOCAL_TREES:
                return number
        reason = f"the lock's workspace has no member {name}; its members are: {', '.join(sorted(members)) or 'none'}"
        raise SelectionError(self.path, reason)

    def _member_names(self) -> frozenset[NormalizedName]:
        """The workspace's members; a lock of one project (no ``[manifest] members``) has that project alone."""
        return self.members or frozenset(self.packages[index].name for index in self.roots)

    def _request(self, request: Request, start: _Start) -> tuple[frozenset[NormalizedName], frozenset[NormalizedName]]:
        roots = [self.packages[index] for index in start.roots]
        asked = frozenset(canonicalize_name(extra) for extra in request.extras | request.no_extras)
        have_extras = {extra for root in roots for extra in (*root.optional_dependencies, *root.provides_extras)}
        if missing := asked - have_extras:
            raise SelectionError(self.path, not_in_lock("extra", missing, have_extras))
        extras = frozenset(have_extras) if request.all_extras else asked
        extras -= {canonicalize_name(extra) for extra in request.no_extras}
        asked = frozenset(canonicalize_name(group) for group in request.groups | request.no_groups)
        own = {group for root in roots for group in root.dependency_groups} | {*start.root_groups}
        have_groups = own | {*start.outer_groups, *start.outer_edges}
        if missing := asked - have_groups - start.declared_groups - request.lenient_groups:
            raise SelectionError(
                self.path, not_in_lock("dependency group", missing, have_groups | start.declared_groups)
            )
        groups = frozenset(canonicalize_name(group) for group in request.groups)
        if request.all_groups:
            groups |= have_groups
        if request.default_groups and not request.only_groups:
            groups |= own if start.default_groups == "all" else start.default_groups & own
        return extras, groups - {canonicalize_name(group) for group in request.no_groups}

    def _check_unique(self, reached: set[int], target: Target) -> None:
        by_name: dict[str, int] = {}
        for index in sorted(reached):
            package = self.packages[index]
            if package.source.kind != "virtual" and (other := by_name.setdefault(package.name, index)) != index:
                reason = (
                    f"the lock selects {package.name} twice, at {self.packages[other].context} and {package.context}, "
                    f"for the interpreter {target.executable} (Python {target.python_full_version}); re-lock"
                )
                raise SelectionError(self.path, reason)

    def _pick(self, index: int, target: Target, ranks: Mapping[str, int]) -> Pick | None:
        package = self.packages[index]
        kind = package.source.kind
        if kind == "virtual":  # uv never installs a virtual package; its dependencies were walked
            return None
        if kind in {"editable", "directory"}:
            directory = DirectorySource(path=_join(self.path.parent, package.source.value), editable=kind == "editable")
            return Pick(
                name=package.name, version=package.version, kind="directory", artifact=None,
                directory=directory, context=package.context,
            )  # fmt: skip
        if package.vcs is not None:
            return Pick(
                name=package.name, version=package.version, kind="vcs", artifact=None,
                vcs=package.vcs, context=package.context,
            )  # fmt: skip
        return self._file_pick(package, target, ranks)

    def _file_pick(self, package: UvPackage, target: Target, ranks: Mapping[str, int]) -> Pick:
        """The best wheel, else the sdist (or the archive), as ``uv sync`` takes them (``Package::to_dist``).

        ``tool.uv.no-binary`` leaves the wheels out and ``no-build`` the sdist: a registry sdist or an archive
        that needs building is refused, as uv refuses it (a directory or editable project is built all the same).
        """
        index = _index_url(self.path.parent, package.source)
        no_binary = _applies(self.no_binary, package.name)
        wheel = best_wheel(package.wheels, ranks) if package.wheels else None
        if wheel is not None and not no_binary:
            context = f"{package.context}.wheels[{package.wheels.index(wheel)}]"
            return Pick(
                name=package.name, version=package.version, kind="wheel", artifact=wheel,
                index=index, context=context, direct=package.source.kind != "registry",
            )  # fmt: skip
        no_build = _applies(self.no_build, package.name)
        if package.sdist is not None and not no_build:
            kind: Literal["sdist", "archive"] = "sdist" if package.source.kind == "registry" else "archive"
            return Pick(
                name=package.name, version=package.version, kind=kind, artifact=package.sdist,
                index=index, context=f"{package.context}.sdist",
                subdirectory=package.source.subdirectory if kind == "archive" else None, direct=kind == "archive",
            )  # fmt: skip
        # a setting is named only where it left out a file that would have served: a no-build package without an
        # sdist, or a no-binary one without a fitting wheel, has nothing either setting could give
        left_out_wheel, left_out_sdist = no_binary and wheel is not None, no_build and package.sdist is not None
        if left_out_wheel or left_out_sdist:
            reason = _forbidden(package, target, no_build=left_out_sdist, no_binary=left_out_wheel)
            raise SelectionError(self.path, reason)
        raise SelectionError(self.path, _no_artifact(package, target))


class _Walk:
    """One breadth-first walk of the lock for one interpreter (uv's ``to_resolution``)."""

    def __init__(self, lock: UvLockFile, target: Target) -> None:
        self.lock = lock
        self.environment = _environment(target)
        self.active: frozenset[str] = frozenset()
        self.cache: dict[int, bool] = {}
        self.queue: deque[tuple[int, NormalizedName | None]] = deque()
        self.seen: set[tuple[int, NormalizedName | None]] = set()
        self.reached: set[int] = set()
        #: the indices of each name's packages, made for the first requirement (:meth:`_find_by_markers`)
        self._named: dict[NormalizedName, list[int]] | None = None

    def run(
        self,
        start: _Start,
        extras: frozenset[NormalizedName],
        groups: frozenset[NormalizedName],
        *,
        only_groups: bool = False,
    ) -> set[int]:
        """The indices of the packages the roots reach with these extras and groups.

        With ``only_groups`` (uv's ``--only-group``) the walk starts at the groups' edges, not at the roots.
        """
        if self.lock.conflicts:
            self._activate(self._root_activations(start.roots, extras, groups, only_groups=only_groups))
            self._check_conflicts()  # the extras and groups asked for first, as uv checks them before its walk
        for index in () if only_groups else start.roots:
            self.reached.add(index)
            self.queue.append((index, None))
            self.queue.extend(
                (index, extra) for extra in sorted(extras & set(self.lock.packages[index].optional_dependencies))
            )
        self._add_requirements(() if only_groups else start.requirements)
        self._add_groups(start, groups)
        if self.lock.conflicts:
            self._activate_conflicting_extras()
        while self.queue:
            index, extra = self.queue.popleft()
            self._follow_all(self._edges(index, extra), self.queue, self.seen)
        return self.reached

    def _add_groups(self, start: _Start, groups: frozenset[NormalizedName]) -> None:
        """The selected groups' edges and requirements: the roots', the start's own, then the workspace root's."""
        for index in start.roots:
            for group, edges in sorted(self.lock.packages[index].dependency_groups.items()):
                self._follow_group_edges(edges if group in groups else ())
        for group, requirements in sorted(start.root_groups.items()):
            self._add_requirements(requirements if group in groups else (), group=True)
        # the workspace root's groups, where no root of the walk has its own group of that name
        theirs = {group for index in start.roots for group in self.lock.packages[index].dependency_groups}
        for group, requirements in sorted(start.outer_groups.items()):
            self._add_requirements(requirements if group in groups - theirs else (), group=True)
        for group, edges in sorted(start.outer_edges.items()):
            self._follow_group_edges(edges if group in groups - theirs else ())

    def _follow_group_edges(self, edges: Iterable[UvDependency]) -> None:
        """A selected group's edges, as uv follows them: an edge's own extras are active for its marker, and stay so.

        A group that names a conflicting extra (``gpu = ["lib[gpu]"]``) gets an edge whose marker holds only with
        that extra active; uv (``to_resolution``) counts the edge's extras as active to evaluate it and keeps them
        active for the rest of the walk. Evaluated as any edge, the group left ``lib[gpu]`` out.
        """
        if not self.lock.conflicts:  # no conflict markers: every marker is the interpreter's
            self._follow_all(edges, self.queue, self.seen)
            return
        for edge in edges:
            target = self.lock.packages[edge.package].name
            added = {_encode("extra", target, extra) for extra in edge.extras} - self.active
            environment = {**self.environment, "extras": self.active | added}
            if edge.marker is None or _evaluate(self.lock.path, edge.marker, environment, edge.context):
                self._activate(added)
                self.reached.add(edge.package)
                _enqueue(edge.package, edge.extras, self.queue, self.seen)

    def _edges(self, index: int, extra: NormalizedName | None) -> tuple[UvDependency, ...]:
        package = self.lock.packages[index]
        return package.dependencies if extra is None else package.optional_dependencies.get(extra, ())

    def _follow_all(
        self,
        edges: Iterable[UvDependency],
        queue: deque[tuple[int, NormalizedName | None]],
        seen: set[tuple[int, NormalizedName | None]],
    ) -> None:
        for edge in edges:
            if edge.marker is None or self._holds(edge.marker, edge.context):
                self.reached.add(edge.package)
                _enqueue(edge.package, edge.extras, queue, seen)

    def _add_requirements(self, requirements: Iterable[UvRequirement], *, group: bool = False) -> None:
        """The workspace root's own requirements, or (``group``) those of its selected groups.

        A group's extras stay active for the rest of the walk, as uv keeps them: two groups that name conflicting
        extras (``lib[cpu]``, ``lib[gpu]``) are refused as declared conflicting, as ``uv sync`` refuses them.
        """
        for requirement in requirements:
            if requirement.marker is None or self._holds(requirement.marker, requirement.context):
                index = self._find_by_markers(requirement)
                self.reached.add(index)
                _enqueue(index, requirement.extras, self.queue, self.seen)
                if group and self.lock.conflicts:
                    self._activate(_encode("extra", requirement.name, extra) for extra in requirement.extras)

    def _find_by_markers(self, requirement: UvRequirement) -> int:
        if self._named is None:  # once: a scan of the lock for each requirement was quadratic (2,000: 0.9 s)
            self._named = {}
            for index, package in enumerate(self.lock.packages):
                self._named.setdefault(package.name, []).append(index)
        named = self._named.get(requirement.name, [])
        if len(named) > 1:
            named = [index for index in named if self._forks_here(self.lock.packages[index])]
        if len(named) == 1:
            return named[0]
        reason = f"{requirement.context} names {requirement.name}, which the lock has {len(named)} times here; re-lock"
        raise SelectionError(self.lock.path, reason)

    def _forks_here(self, package: UvPackage) -> bool:
        markers = package.resolution_markers
        return not markers or any(self._holds(marker, f"{package.context}.resolution-markers") for marker in markers)

    def _holds(self, marker: Marker, context: str) -> bool:
        known = self.cache.get(id(marker))
        if known is None:
            known = self.cache[id(marker)] = _evaluate(self.lock.path, marker, self.environment, context)
        return known

    def _activate(self, names: Iterable[str]) -> None:
        if not (new := frozenset(names) - self.active):
            return
        self.active = self.active | new
        self.environment["extras"] = self.active
        self.cache.clear()

    def _root_activations(
        self,
        roots: tuple[int, ...],
        extras: frozenset[NormalizedName],
        groups: frozenset[NormalizedName],
        *,
        only_groups: bool,
    ) -> set[str]:
        names: set[str] = set()
        for index in roots:
            root = self.lock.packages[index]
            if not only_groups:  # the project itself is not installed with --only-group
                names.add(_encode_project(root.name))
            names.update(_encode("extra", root.name, extra) for extra in extras & set(root.optional_dependencies))
            names.update(_encode("group", root.name, group) for group in groups & set(root.dependency_groups))
        return names

    def _activate_conflicting_extras(self) -> None:
        """The first pass uv makes for a lock with ``conflicts``: collect every extra the walk activates; check them."""
        queue, seen = deque(self.queue), set(self.seen)
        while queue:
            for edge in self._edges(*queue.popleft()):
                target = self.lock.packages[edge.package].name
                added = {_encode("extra", target, extra) for extra in edge.extras} - self.active
                environment = {**self.environment, "extras": self.active | added}
                if edge.marker is None or _evaluate(self.lock.path, edge.marker, environment, edge.context):
                    self._activate(added)
                    _enqueue(edge.package, edge.extras, queue, seen)
        # uv checks the extras alone now (pairs of extras, installable.rs): a group asked for (``--group cpu-tests``)
        # stays beside an extra a walked edge turns on (``gpu-tests = ["proj[gpu]"]``), as uv sync installs both
        self._check_conflicts(extras_only=True)

    def _check_conflicts(self, *, extras_only: bool = False) -> None:
        active = frozenset(name for name in self.active if name.startswith("extra-")) if extras_only else self.active
        for number, conflict in enumerate(self.lock.conflicts):
            if len(both := sorted(conflict & active)) > 1:
                reason = (
                    f"{_decode(both[0])} and {_decode(both[1])} are declared as conflicting (conflicts[{number}]) "
                    "and would both be installed; ask for only one of them"
                )
                raise SelectionError(self.lock.path, reason)


def _enqueue(
    index: int,
    extras: Iterable[NormalizedName],
    queue: deque[tuple[int, NormalizedName | None]],
    seen: set[tuple[int, NormalizedName | None]],
) -> None:
    for item in ((index, None), *((index, extra) for extra in sorted(extras))):
        if item not in seen:
            seen.add(item)
            queue.append(item)


def _encode(kind: str, package: str, name: str) -> str:
    """The pseudo-extra name uv gives a conflicting extra or group in markers (``universal_marker.rs``)."""
    return f"{kind}-{len(package)}-{package}-{name}"


def _encode_project(package: str) -> str:
    """The pseudo-extra of a whole project (``conflicts`` between packages): active for the roots."""
    return f"project-{len(package)}-{package}"


def _decode(encoded: str) -> str:
    """``extra x1 of proj`` for ``extra-4-proj-x1``; ``project proj`` for ``project-4-proj``."""
    kind, _, rest = encoded.partition("-")
    length, _, rest = rest.partition("-")
    size = int(length) if length.isdigit() else len(rest)
    package, name = rest[:size], rest[size + 1 :]
    return f"{kind} {name} of {package}" if name else f"{kind} {package}"


def _environment(target: Target) -> dict[str, str | frozenset[str]]:
    return {**target.release_markers, "extras": frozenset(), "dependency_groups": frozenset()}


def _evaluate(path: Path, marker: Marker, environment: Mapping[str, str | frozenset[str]], context: str) -> bool:
    try:
        return marker.evaluate(environment, context="lock_file")
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        reason = f"the marker {str(marker)!r} cannot be evaluated ({exc}); re-lock with uv"
        raise LockFileError(path, reason, context=context) from exc


def _no_artifact(package: UvPackage, target: Target) -> str:
    shown = tag_summary(target.tags)
    files = ", ".join(wheel.filename for wheel in package.wheels) or "no files"
    version = f" {package.version}" if package.version is not None else ""
    return (
        f"no wheel of {package.name}{version} at {package.context} fits the interpreter {target.executable} "
        f"(Python {target.python_full_version}, tags {shown}) and the lock has no sdist for it; the lock has "
        f"{files}: re-lock for this interpreter or use another Python"
    )


def _applies(option: frozenset[NormalizedName] | Literal["all"], name: NormalizedName) -> bool:
    """Whether ``no-build`` or ``no-binary`` (every package, or the ``-package`` names) covers ``name``."""
    return option == "all" or name in option


def _forbidden(package: UvPackage, target: Target, *, no_build: bool, no_binary: bool) -> str:
    """The sentence for a package whose only files for the interpreter ``tool.uv`` forbids, as ``uv sync`` says it."""
    version = f" {package.version}" if package.version is not None else ""
    where = f"{package.name}{version} at {package.context}"
    if no_binary and no_build:
        return (
            f"{where} is marked both no-binary and no-build in pyproject.toml's tool.uv, so neither a wheel nor its "
            "sdist may be installed (uv sync refuses it too); take it out of one of them"
        )
    if no_binary:
        return (
            f"{where} is marked no-binary in pyproject.toml's tool.uv, and the lock has no sdist of it to install "
            "instead (uv sync refuses it too); take it out of no-binary-package (or no-binary), or re-lock"
        )
    shown = tag_summary(target.tags)
    files = ", ".join(wheel.filename for wheel in package.wheels) or "no wheels"
    return (
        f"no wheel of {where} fits the interpreter {target.executable} (Python {target.python_full_version}, tags "
        f"{shown}), and pyproject.toml's tool.uv marks it no-build, so its sdist is not built (uv sync refuses it "
        f"too); the lock has {files}: re-lock for this interpreter, use another Python, or take {package.name} out "
        "of no-build-package (or no-build)"
    )


def _index_url(directory: Path, source: UvSource) -> str | None:
    """The registry of a package as a URL (a local registry's directory as a ``file:`` URL)."""
    if source.kind != "registry":
        return None
    return source.value if "://" in source.value else _join(directory, source.value).as_uri()


def _join(directory: Path, relative: str) -> Path:
    """``relative`` (a path the lock names) against the lock's directory, normalized without touching the disk."""
    return Path(os.path.normpath(directory.absolute() / relative))


def _at(context: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{context}[{key}]"
    return f"{context}.{key}" if context else key


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    names = {str: "a string", int: "an integer", float: "a number", list: "an array", dict: "a table"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__)


class _Reader:
    """Typed access to parsed TOML: every problem becomes a :class:`LockFileError` naming the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, context: str, reason: str) -> LockFileError:
        return LockFileError(self.path, reason, context=context or None)

    def get(self, table: Mapping[str, Any], key: str, kind: type[_T], context: str) -> _T | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            msg = f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {_type_name(value)}; re-lock with uv"
            raise self.fail(_at(context, key), msg)
        return value

    def need(self, table: Mapping[str, Any], key: str, kind: type[_T], context: str) -> _T:
        value = self.get(table, key, kind, context)
        if value is None:
            raise self.fail(_at(context, key), "is missing; re-lock with uv")
        return value

    def items(self, table: Mapping[str, Any], key: str, kind: type[_T], context: str) -> list[tuple[str, _T]]:
        """The entries of the array ``key`` (absent: none), each checked to be of ``kind``."""
        values = self.get(table, key, list, context) or []
        return [(_at(_at(context, key), number), self._item(value, kind, _at(_at(context, key), number)))
                for number, value in enumerate(values)]  # fmt: skip

    def _item(self, value: object, kind: type[_T], context: str) -> _T:
        if not isinstance(value, kind) or isinstance(value, bool):
            msg = f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {_type_name(value)}; re-lock with uv"
            raise self.fail(context, msg)
        return value

    def names(self, table: Mapping[str, Any], key: str, context: str) -> frozenset[NormalizedName]:
        return frozenset(canonicalize_name(name) for _, name in self.items(table, key, str, context))


class _ProjectReader(_Reader):
    """The parts of ``pyproject.toml`` uv keeps out of the lock: the default groups."""

    def groups(
        self, project: Mapping[str, Any]
    ) -> tuple[frozenset[NormalizedName] | Literal["all"], frozenset[NormalizedName]]:
        """``tool.uv.default-groups`` (``dev`` when unset) and the groups the project declares."""
        tool = self.get(project, "tool", dict, "") or {}
        uv = self.get(tool, "uv", dict, "tool") or {}
        declared = frozenset(canonicalize_name(name) for name in self.get(project, "dependency-groups", dict, "") or {})
        if "dev-dependencies" in uv:  # the legacy spelling of the dev group
            declared |= {canonicalize_name("dev")}
        value = uv.get("default-groups")
        if value == "all":
            return "all", declared
        if value is None:
            return frozenset({canonicalize_name("dev")}), declared
        return self.names(uv, "default-groups", "tool.uv"), declared

    def build_options(
        self, project: Mapping[str, Any]
    ) -> tuple[frozenset[NormalizedName] | Literal["all"], frozenset[NormalizedName] | Literal["all"]]:
        """The packages never built, and those never installed from a wheel, as ``uv sync`` takes them.

        ``tool.uv``'s ``no-build`` and ``no-build-package``, ``no-binary`` and ``no-binary-package``.
        """
        tool = self.get(project, "tool", dict, "") or {}
        uv = self.get(tool, "uv", dict, "tool") or {}
        return self._option(uv, "no-build"), self._option(uv, "no-binary")

    def _option(self, uv: Mapping[str, Any], key: str) -> frozenset[NormalizedName] | Literal["all"]:
        """``"all"`` for ``key = true``, else the names of ``key-package``."""
        every = uv.get(key, False)
        if not isinstance(every, bool):
            reason = f"must be true or false, not {_type_name(every)}; correct it"
            raise self.fail(_at("tool.uv", key), reason)
        return "all" if every else self.names(uv, f"{key}-package", "tool.uv")


class _LockReader(_Reader):
    """Reads the lock in two passes: every package's identity, then its edges (resolved to indices) and files."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.directory = path.parent
        self.markers: dict[str, Marker] = {}
        self.by_name: dict[str, list[tuple[int, str | None, UvSource]]] = {}

    def lock(
        self,
        data: Mapping[str, Any],
        defaults: frozenset[NormalizedName] | Literal["all"],
        declared: frozenset[NormalizedName],
    ) -> UvLockFile:
        self._check_version(data)
        tables = self.items(data, "package", dict, "")
        for number, (context, table) in enumerate(tables):
            self._identify(number, table, context)
        packages = tuple(self._package(table, context) for context, table in tables)
        manifest = self.get(data, "manifest", dict, "") or {}
        return UvLockFile(
            path=self.path,
            packages=packages,
            roots=self._roots(packages, manifest),
            members=frozenset(canonicalize_name(name) for _, name in self.items(manifest, "members", str, "manifest")),
            requires_python=self._specifier(data, "requires-python"),
            supported_markers=self._marker_list(data, "supported-markers", ""),
            conflicts=self._conflicts(data),
            requirements=self._requirements(manifest, "requirements", "manifest"),
            root_groups=self._root_groups(manifest),
            default_groups=defaults,
            declared_groups=declared,
        )

    def _check_version(self, data: Mapping[str, Any]) -> None:
        version = self.need(data, "version", int, "")
        if version != SUPPORTED_VERSION:
            reason = (
                f"uv.lock version {version} is not supported; this tool reads version {SUPPORTED_VERSION}: "
                f"update tox-venvsync or re-lock with a uv that writes version {SUPPORTED_VERSION}"
            )
            key = "version"
            raise self.fail(key, reason)
        self.get(data, "revision", int, "")

    def _identify(self, number: int, table: Mapping[str, Any], context: str) -> None:
        name = self._name(self.need(table, "name", str, context), _at(context, "name"))
        version = self.get(table, "version", str, context)
        source = self._source(self.need(table, "source", dict, context), _at(context, "source"))
        self.by_name.setdefault(name, []).append((number, version, source))

    def _name(self, text: str, context: str) -> NormalizedName:
        """A package's name, refused unless it is a valid one, as uv refuses it.

        Path traversal: a name is a package's directory where its source tree is built (``/tmp/x``, ``a/b`` would
        write the wheel outside the sync's work directory); control characters in it would reach the terminal.
        """
        try:
            return canonicalize_name(text, validate=True)
        except InvalidName:
            raise self.fail(context, f"{text!r} is not a valid package name; re-lock with uv") from None

    def _source(self, table: Mapping[str, Any], context: str) -> UvSource:
        kinds = [kind for kind in _SOURCE_KINDS if kind in table]
        if len(kinds) != 1:
            raise self.fail(context, f"must name exactly one of {', '.join(_SOURCE_KINDS)}; re-lock with uv")
        value = self.need(table, kinds[0], str, context)
        return UvSource(kind=kinds[0], value=value, subdirectory=self.get(table, "subdirectory", str, context))

    def _package(self, table: Mapping[str, Any], context: str) -> UvPackage:
        source = self._source(table["source"], _at(context, "source"))
        metadata = self.get(table, "metadata", dict, context) or {}
        return UvPackage(
            name=canonicalize_name(table["name"]),
            version=self._version(table, context),
            source=source,
            context=context,
            dependencies=self._edges(table, "dependencies", context),
            optional_dependencies=self._edge_tables(table, "optional-dependencies", context),
            dependency_groups=self._edge_tables(table, "dev-dependencies", context),
            provides_extras=self.names(metadata, "provides-extras", _at(context, "metadata")),
            resolution_markers=self._marker_list(table, "resolution-markers", context),
            sdist=self._sdist(table, context, source),
            wheels=self._wheels(table, context, source),
            vcs=self._vcs(source, _at(context, "source")) if source.kind == "git" else None,
            default_groups=self._member_defaults(table, context) if source.kind in _LOCAL_TREES else None,
            declared_groups=frozenset(
                canonicalize_name(name)
                for name in self.get(metadata, "requires-dev", dict, _at(context, "metadata")) or {}
            ),
            group_requires_python=self._group_pythons(table, context),
        )

    def _group_pythons(self, table: Mapping[str, Any], context: str) -> dict[NormalizedName, SpecifierSet]:
        """``group-requires-python``: each dependency group's own Python range, as uv records it."""
        where = _at(context, "group-requires-python")
        found: dict[NormalizedName, SpecifierSet] = {}
        for group in self.get(table, "group-requires-python", dict, context) or {}:
            text = self.need(table["group-requires-python"], group, str, where)
            try:
                found[canonicalize_name(group)] = SpecifierSet(text)
            except InvalidSpecifier as exc:
                reason = f"{text!r} is not a valid version specifier; re-lock with uv"
                raise self.fail(_at(where, group), reason) from exc
        return found

    def _member_defaults(
        self, table: Mapping[str, Any], context: str
    ) -> frozenset[NormalizedName] | Literal["all"] | None:
        """A local project's ``default-groups`` as uv records it: ``"all"`` or the names; ``None`` when absent."""
        if table.get("default-groups") == "all":
            return "all"
        return self.names(table, "default-groups", context) if "default-groups" in table else None

    def _version(self, table: Mapping[str, Any], context: str) -> Version | None:
        text = self.get(table, "version", str, context)
        try:
            return None if text is None else Version(text)
        except InvalidVersion as exc:
            raise self.fail(_at(context, "version"), f"{text!r} is not a valid version; re-lock with uv") from exc

    def _edges(self, table: Mapping[str, Any], key: str, context: str) -> tuple[UvDependency, ...]:
        return tuple(self._edge(edge, where) for where, edge in self.items(table, key, dict, context))

    def _edge_tables(
        self, table: Mapping[str, Any], key: str, context: str
    ) -> dict[NormalizedName, tuple[UvDependency, ...]]:
        named = self.get(table, key, dict, context) or {}
        return {canonicalize_name(name): self._edges(named, name, _at(context, key)) for name in named}

    def _edge(self, table: Mapping[str, Any], context: str) -> UvDependency:
        return UvDependency(
            package=self._resolve(table, context),
            extras=self.names(table, "extra", context),
            marker=self._marker(table, "marker", context),
            context=context,
        )

    def _resolve(self, table: Mapping[str, Any], context: str) -> int:
        """The package an edge names: by name, and by version and source where uv locked the name several times."""
        name = canonicalize_name(self.need(table, "name", str, context))
        version = self.get(table, "version", str, context)
        source_table = self.get(table, "source", dict, context)
        source = None if source_table is None else self._source(source_table, _at(context, "source"))
        found = [
            number
            for number, locked_version, locked_source in self.by_name.get(name, ())
            if version in {None, locked_version} and source in {None, locked_source}
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            missing = f"names {name} {version or ''}".rstrip()
            raise self.fail(context, f"{missing}, which is not a package of the lock; re-lock with uv")
        reason = f"names {name}, which the lock has {len(found)} times; it needs a version and source: re-lock with uv"
        raise self.fail(context, reason)

    def _marker(self, table: Mapping[str, Any], key: str, context: str) -> Marker | None:
        text = self.get(table, key, str, context)
        return None if text is None else self._parse_marker(text, _at(context, key))

    def _parse_marker(self, text: str, context: str) -> Marker:
        marker = self.markers.get(text)
        if marker is None:
            try:
                marker = self.markers[text] = Marker(_marker_text(text))
            except InvalidMarker as exc:
                first = str(exc).splitlines()[0] if str(exc) else "invalid"
                raise self.fail(context, f"{text!r} is not a valid marker ({first}); re-lock with uv") from exc
        return marker

    def _marker_list(self, table: Mapping[str, Any], key: str, context: str) -> tuple[Marker, ...]:
        return tuple(self._parse_marker(text, where) for where, text in self.items(table, key, str, context))

    def _specifier(self, table: Mapping[str, Any], key: str) -> SpecifierSet | None:
        text = self.get(table, key, str, "")
        try:
            return None if text is None else SpecifierSet(text)
        except InvalidSpecifier as exc:
            raise self.fail(key, f"{text!r} is not a valid version specifier; re-lock with uv") from exc

    def _hashes(self, table: Mapping[str, Any], context: str) -> dict[str, str]:
        text = self.get(table, "hash", str, context)
        if text is None:
            return {}
        algorithm, _, digest = text.partition(":")
        if not algorithm or not _HEX.fullmatch(digest):
            raise self.fail(_at(context, "hash"), f"{text!r} is not <algorithm>:<hex digest>; re-lock with uv")
        if (wrong := wrong_digest(algorithm, digest)) is not None:
            raise self.fail(_at(context, "hash"), f"{wrong}; re-lock with uv")
        return {algorithm.lower(): digest.lower()}

    def _size(self, table: Mapping[str, Any], context: str) -> int | None:
        size = self.get(table, "size", int, context)
        if size is not None and size < 0:
            raise self.fail(_at(context, "size"), f"{size} is not a file size; re-lock with uv")
        return size

    def _artifact(self, table: Mapping[str, Any], context: str, source: UvSource, filename: str | None) -> Artifact:
        url = self.get(table, "url", str, context)
        relative = self.get(table, "path", str, context)
        if url is None and relative is None and source.kind in {"url", "path"}:  # the file is the source itself
            url, relative = (source.value, None) if source.kind == "url" else (None, source.value)
        if relative is not None:
            location, path = relative, _join(self._base(source), relative)
        elif url is not None:
            location, path = url, None
        else:
            raise self.fail(context, "names neither a url nor a path; re-lock with uv")
        return Artifact(
            filename=filename or _file_name(location),
            url=url,
            path=path,
            size=self._size(table, context),
            hashes=self._hashes(table, context),
        )

    def _base(self, source: UvSource) -> Path:
        """Where a file's relative path starts: a local (flat) registry's directory, else the lock's."""
        if source.kind == "registry" and "://" not in source.value:
            return _join(self.directory, source.value)
        return self.directory

    def _wheels(self, table: Mapping[str, Any], context: str, source: UvSource) -> tuple[Artifact, ...]:
        """The package's wheels: as uv writes them for a remote index read at once, anything else key by key.

        A lock of a few dozen packages names about a thousand wheels (every platform's); checking each
        key with its context was most of the time it took to read one.
        """
        wheels = table.get("wheels")
        if type(wheels) is list and source.kind == "registry" and "://" in source.value:
            plain = [_plain_wheel(wheel) for wheel in wheels]
            if None not in plain:
                return tuple(plain)  # type: ignore[arg-type]  # no None in it
        return tuple(self._wheel(wheel, where, source) for where, wheel in self.items(table, "wheels", dict, context))

    def _wheel(self, table: Mapping[str, Any], context: str, source: UvSource) -> Artifact:
        return self._artifact(table, context, source, self.get(table, "filename", str, context))

    def _sdist(self, table: Mapping[str, Any], context: str, source: UvSource) -> Artifact | None:
        sdist = self.get(table, "sdist", dict, context)
        return None if sdist is None else self._artifact(sdist, _at(context, "sdist"), source, None)

    def _vcs(self, source: UvSource, context: str) -> VcsSource:
        """``git = "<url>?rev=<requested>&subdirectory=<dir>#<commit>"`` as the commit it pins."""
        try:
            parts = urlsplit(source.value)
            query = parse_qs(parts.query)
        except ValueError as exc:
            raise self.fail(_at(context, "git"), f"{source.value!r} is not a URL ({exc}); re-lock with uv") from exc
        if not parts.fragment:
            raise self.fail(_at(context, "git"), f"{source.value!r} pins no commit (#<commit>); re-lock with uv")
        if (reason := not_a_commit(parts.fragment)) is not None:
            raise self.fail(_at(context, "git"), f"the commit (#...) of {source.value!r}: {reason}; re-lock with uv")
        requested = next((query[key][0] for key in _GIT_REVISIONS if key in query), None)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if (reason := not_a_git_url(url)) is not None:
            raise self.fail(_at(context, "git"), f"{reason}; re-lock with uv")
        return VcsSource(
            type="git",
            url=url,
            commit=parts.fragment,
            requested=requested,
            subdirectory=query["subdirectory"][0] if "subdirectory" in query else None,
        )

    def _roots(self, packages: Sequence[UvPackage], manifest: Mapping[str, Any]) -> tuple[int, ...]:
        """The project at the lock's directory; in a workspace without one (a virtual root), every member."""
        for number, package in enumerate(packages):
            if package.source.kind in _LOCAL_TREES and os.path.normpath(package.source.value) == ".":
                return (number,)
        members = self.items(manifest, "members", str, "manifest")
        return tuple(self._member(canonicalize_name(name), context) for context, name in members)

    def _member(self, name: NormalizedName, context: str) -> int:
        found = [number for number, _, source in self.by_name.get(name, ()) if source.kind in _LOCAL_TREES]
        if len(found) != 1:
            raise self.fail(context, f"the workspace member {name} is not a project of the lock; re-lock with uv")
        return found[0]

    def _requirements(self, table: Mapping[str, Any], key: str, context: str) -> tuple[UvRequirement, ...]:
        return tuple(
            UvRequirement(
                name=canonicalize_name(self.need(requirement, "name", str, where)),
                extras=self.names(requirement, "extras", where),
                marker=self._marker(requirement, "marker", where),
                context=where,
            )
            for where, requirement in self.items(table, key, dict, context)
        )

    def _root_groups(self, manifest: Mapping[str, Any]) -> dict[NormalizedName, tuple[UvRequirement, ...]]:
        groups = self.get(manifest, "dependency-groups", dict, "manifest") or {}
        return {
            canonicalize_name(name): self._requirements(groups, name, "manifest.dependency-groups") for name in groups
        }

    def _conflicts(self, data: Mapping[str, Any]) -> tuple[frozenset[str], ...]:
        """Each ``conflicts`` set (extras, groups or whole projects that cannot be installed together), encoded."""
        sets = []
        for context, items in self.items(data, "conflicts", list, ""):
            tables = (
                (_at(context, number), self._item(item, dict, _at(context, number)))
                for number, item in enumerate(items)
            )
            sets.append(frozenset(self._conflict_item(table, where) for where, table in tables))
        return tuple(sets)

    def _conflict_item(self, item: Mapping[str, Any], context: str) -> str:
        package = canonicalize_name(self.need(item, "package", str, context))
        for kind in ("extra", "group"):
            if (name := self.get(item, kind, str, context)) is not None:
                return _encode(kind, package, canonicalize_name(name))
        return _encode_project(package)


def _plain_wheel(table: object) -> Artifact | None:
    """A wheel of a remote index as uv writes it (a URL, a hash, a size), else ``None``: the checked reading decides.

    Gives what :meth:`_LockReader._wheel` gives for the same table, or ``None`` for anything it would
    read differently or refuse (the message then comes from there).
    """
    if type(table) is not dict or "path" in table:
        return None
    url, text, size, filename = table.get("url"), table.get("hash"), table.get("size"), table.get("filename")
    if type(url) is not str or type(text) is not str or (filename is not None and type(filename) is not str):
        return None
    if size is not None and (type(size) is not int or size < 0):
        return None
    hashes = _hash_of(text)
    if hashes is None:
        return None
    return Artifact(filename=filename or _file_name(url), url=url, path=None, size=size, hashes=hashes)


def _hash_of(text: str) -> dict[str, str] | None:
    """A hash as uv writes it, ``<algorithm>:<hex digest>``, as ``{algorithm: digest}`` lower-cased; else ``None``."""
    algorithm, _, digest = text.partition(":")
    if not algorithm or not _HEX.fullmatch(digest) or wrong_digest(algorithm, digest) is not None:
        return None
    return {algorithm.lower(): digest.lower()}


def _marker_text(text: str) -> str:
    """``extra == 'x'`` as ``'x' in extras``: uv's conflict markers compare against the set of active extras."""
    return _EXTRA_COMPARISON.sub(lambda m: f"{m[2]}{m[3]}{m[2]} {'in' if m[1] == '==' else 'not in'} extras", text)


def _file_name(location: str) -> str:
    """The file name at the end of a URL or path (without its query or fragment)."""
    name = location.rpartition("/")[2]
    if name and "?" not in location and "#" not in location and "%" not in name:
        return name  # the usual case, without the splitting and unquoting below (a lock names a thousand files)
    path = location.partition("#")[0].partition("?")[0] if "://" in location else location
    return unquote(path.rstrip("/").rsplit("/", 1)[-1]) or location
