"""Whether a ``uv.lock`` still matches the ``pyproject.toml`` files it was locked from, as ``uv sync --locked`` asks.

uv records in the lock what it resolved from: each workspace member's name, version and whether it is
built (``source = { editable }``) or not (``virtual``), its requirements (``[package.metadata]
requires-dist``), extras (``provides-extras``), dependency groups (``requires-dev``) and default groups,
the same but the default groups for each path dependency (a local directory that is no member), and the
workspace's Python range, constraints and overrides. When one of them no longer matches the
``pyproject.toml`` files, ``uv lock`` would write another lock, and ``uv sync --locked`` (what tox-uv's
lock runner runs) refuses to sync.

Requirements are compared by meaning, as uv compares them: names normalised, order and repeats ignored
(two spellings of one requirement are one, as uv merges them), specifiers as the final releases they allow
(``>=1`` is ``>=1.0``, ``>=1,>=0.5`` is ``>=1``), markers by their value in real environments within the
lock's Python range (``python_version >= '3.8'`` is ``python_full_version >= '3.8'``), a dependency group's
``requires-python`` (``tool.uv.dependency-groups``) added to its requirements' markers as uv adds it. An
empty group counts only in a lock recent enough to record one. So a lock uv would keep is never called
stale: uv 0.13.9's verdicts on locks written by uv 0.5 to 0.13 were compared in QA. What this cannot see
is left to uv: a changed source (``tool.uv.sources``, a URL) or index, a member added to the workspace or
taken out of it, a range that differs only in pre- or post-releases, a marker that differs only on a
platform none of the environments below is.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from collections.abc import Set as AbstractSet
    from pathlib import Path

    from packaging.utils import NormalizedName

#: the platforms a marker is evaluated on (with every Python of the grid): the ones locks are made for
_PLATFORMS: tuple[dict[str, str], ...] = (
    {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
    {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
    {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
    {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "ARM64"},
)
_IMPLEMENTATIONS = (("cpython", "CPython"), ("pypy", "PyPy"))
_VERSION_LITERAL = re.compile(r"\b(\d+)\.(\d+)(?:\.(\d+))?")
_ROOT = "pyproject.toml"
#: the lock revision from which uv records ``tool.uv.default-groups`` (a lock of revision 3 is not stale for them)
_RECORDED_FROM = 5
#: the most requirements of one name matched pair by pair (beyond that a difference is left to uv)
_MOST_PAIRED = 5


@frozen
class _Requirement:
    """One requirement as uv records it: ``sourced`` when a source other than an index names where it comes from."""

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    marker: Marker | None
    sourced: bool
    text: str

    def key(self) -> tuple[str, frozenset[str], str, str, bool]:
        return self.name, self.extras, str(self.specifier), str(self.marker or ""), self.sourced


class _Grid:
    """The environments markers are compared in: the platforms above, with every Python the lock allows."""

    def __init__(self, requires_python: SpecifierSet | None) -> None:
        self.requires_python = requires_python

    def same(self, one: Marker | None, other: Marker | None) -> bool:
        """Whether the two markers hold in the same environments (``None``: always)."""
        if str(one or "") == str(other or ""):
            return True
        texts = f"{one or ''} {other or ''}"
        extras = {"", *(canonicalize_name(e) for e in re.findall(r"""extra\s*==\s*['"]([^'"]+)['"]""", texts))}
        try:
            return all(
                (one is None or one.evaluate(environment)) == (other is None or other.evaluate(environment))
                for environment in self._environments(texts, extras)
            )
        except (UndefinedComparison, UndefinedEnvironmentName, ValueError):
            return True  # a comparison packaging cannot make: left to uv

    def _environments(self, texts: str, extras: Iterable[str]) -> Iterator[dict[str, str]]:
        for python, platform, (implementation, python_implementation), extra in itertools.product(
            _pythons(texts, self.requires_python), _PLATFORMS, _IMPLEMENTATIONS, extras
        ):
            yield {
                **platform,
                "implementation_name": implementation,
                "platform_python_implementation": python_implementation,
                "implementation_version": str(python),
                "python_full_version": str(python),
                "python_version": f"{python.major}.{python.minor}",
                "platform_release": "",
                "platform_version": "",
                "extra": extra,
            }


def _pythons(texts: str, allowed: SpecifierSet | None) -> list[Version]:
    """Every 3.x release line, 2.7 and 4.0, and each version the markers name with its neighbours."""
    versions = {Version(f"3.{minor}.{micro}") for minor in range(21) for micro in (0, 1, 50)}
    versions |= {Version("2.7.18"), Version("4.0.0"), Version("4.1.0")}
    for major, minor, micro in _VERSION_LITERAL.findall(texts):
        number = int(micro or 0)
        versions |= {Version(f"{major}.{minor}.{m}") for m in (number - 1, number, number + 1) if m >= 0}
    return sorted(v for v in versions if allowed is None or allowed.contains(v, prereleases=True))


def stale_reason(lock_path: Path, data: Mapping[str, Any], project: Mapping[str, Any]) -> str | None:
    """Why uv would lock again (the first difference, as a clause), or ``None`` when the lock matches.

    ``data`` is the parsed lock and ``project`` the parsed ``pyproject.toml`` beside it; the workspace
    members' own ``pyproject.toml`` files are read from their directories (a member without one is skipped).
    """
    found = _Checker(lock_path, data, project).reason()
    if found is None:
        return None
    file, clause = found
    return f"{file} changed since {lock_path.name} was made ({clause}), so the lock is stale"


class _Checker:
    def __init__(self, lock_path: Path, data: Mapping[str, Any], project: Mapping[str, Any]) -> None:
        self.directory = lock_path.parent
        self.data = data
        self.root = project
        manifest = data.get("manifest")
        self.manifest: Mapping[str, Any] = manifest if isinstance(manifest, dict) else {}
        self.grid = _Grid(_specifier_set(data.get("requires-python")))
        revision = data.get("revision")
        recent = isinstance(revision, int) and revision >= _RECORDED_FROM
        packages = [t for t in _list(data.get("package")) if isinstance(t, dict)]
        #: uv records a member's default groups from lock revision 5 (uv 0.13); before, it does not compare them
        self.records_defaults = recent or any("default-groups" in t for t in packages)
        #: and an empty dependency group: an older lock is not stale for one added or removed
        self.records_empty_groups = recent
        #: the packages some package of the lock depends on (uv builds such a project without a [build-system])
        self.needed = {canonicalize_name(name) for table in packages for name in _edge_names(table)}

    def reason(self) -> tuple[str, str] | None:
        """The file that changed and how, for the first difference found."""
        members = list(self._members())
        if (found := self._manifest()) is not None:
            return _ROOT, found
        if (found := self._requires_python([p for _, _, p in members])) is not None:
            return (_ROOT if len(members) < 2 else "a pyproject.toml of the workspace"), found  # noqa: PLR2004
        for path, table, pyproject in members:
            if (found := self._member(table, pyproject, root=path == _ROOT)) is not None:
                return path, found
        for path, table, pyproject in self._path_dependencies():
            if (found := self._path_dependency(table, pyproject)) is not None:
                return path, found
        return None

    def _members(self) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
        """Each workspace member in the lock (the project beside it included) with its ``pyproject.toml``."""
        names = self._member_names()
        for where, name, table in self._source_trees():
            if where.strip("/") in {"", "."}:
                yield _ROOT, table, self.root
            elif canonicalize_name(name) in names and (found := self._pyproject(where)) is not None:
                yield found[0], table, found[1]

    def _member_names(self) -> set[NormalizedName]:
        """The names of the workspace's members, as the lock's ``[manifest]`` lists them."""
        return {canonicalize_name(n) for n in _list(self.manifest.get("members")) if isinstance(n, str)}

    def _path_dependencies(self) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
        """Each local directory of the lock that is no workspace member (a path dependency), with its file."""
        names = self._member_names()
        for where, name, table in self._source_trees():
            if where.strip("/") in {"", "."} or canonicalize_name(name) in names:
                continue
            if (found := self._pyproject(where)) is not None:
                yield found[0], table, found[1]

    def _source_trees(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """The lock's packages that come from a local directory: where (as the lock says), name and table."""
        for table in _list(self.data.get("package")):
            if not isinstance(table, dict) or not isinstance(source := table.get("source"), dict):
                continue
            where = next((source[k] for k in ("editable", "virtual", "directory") if k in source), None)
            if isinstance(where, str) and isinstance(name := table.get("name"), str):
                yield where, name, table

    def _pyproject(self, where: str) -> tuple[str, Mapping[str, Any]] | None:
        """The ``pyproject.toml`` of the directory ``where`` (relative to the lock's), as shown and as read."""
        from tox_venvsync._lock._toml import read_toml  # noqa: PLC0415  # a member's file, only in a workspace

        if not (file := self.directory / where / "pyproject.toml").is_file():
            return None
        return f"{where.rstrip('/')}/pyproject.toml", read_toml(file)[1]

    def _path_dependency(self, table: Mapping[str, Any], pyproject: Mapping[str, Any]) -> str | None:
        """A path dependency's version, whether it is built, requirements, extras and groups, as uv compares them.

        Not its name (uv finds it by the requirement's), ``requires-python`` (not the lock's range) nor its
        default groups (uv records none for it): uv keeps a lock when only those changed.
        """
        project = pyproject.get("project")
        if not isinstance(project, dict):
            return None
        uv = _table(_table(pyproject.get("tool")).get("uv"))
        if "version" not in _list(project.get("dynamic")):
            found = _version_change(project.get("version"), table.get("version"))
            if found is not None:
                return found
        found = _build_change(pyproject, uv, table.get("source"), decides=False)
        return found or self._metadata(table, project, pyproject, uv)

    def _member(self, table: Mapping[str, Any], pyproject: Mapping[str, Any], *, root: bool) -> str | None:
        project = pyproject.get("project")
        if not isinstance(project, dict):
            return None
        uv = _table(_table(pyproject.get("tool")).get("uv"))
        return self._identity(table, project, pyproject, uv, root=root) or self._metadata(table, project, pyproject, uv)

    def _identity(
        self,
        table: Mapping[str, Any],
        project: Mapping[str, Any],
        pyproject: Mapping[str, Any],
        uv: Mapping[str, Any],
        *,
        root: bool,
    ) -> str | None:
        """The name, version, whether it is built, and the default groups."""
        name = table["name"]
        if isinstance(new := project.get("name"), str) and canonicalize_name(new) != canonicalize_name(name):
            return f"the project is named {new}, the lock's {name}"
        if "version" not in _list(project.get("dynamic")):
            found = _version_change(project.get("version"), table.get("version"))
            if found is not None:
                return found
        needed = canonicalize_name(name) in self.needed
        if (found := _build_change(pyproject, uv, table.get("source"), decides=root and not needed)) is not None:
            return found
        if not self.records_defaults:
            return None
        return _default_groups_change(uv.get("default-groups"), table.get("default-groups"))

    def _metadata(
        self, table: Mapping[str, Any], project: Mapping[str, Any], pyproject: Mapping[str, Any], uv: Mapping[str, Any]
    ) -> str | None:
        """The requirements, extras and dependency groups, against ``[package.metadata]``."""
        # uv leaves the metadata out when it would be empty: a project with edges and none is no lock uv wrote
        edges = any(table.get(k) for k in ("dependencies", "optional-dependencies", "dev-dependencies"))
        metadata = table.get("metadata", None if edges else {})
        if not isinstance(metadata, dict):
            return None
        sources = {canonicalize_name(n) for n in (*_table(uv.get("sources")), *_sources(self.root))}
        dynamic = set(_list(project.get("dynamic")))
        if not dynamic & {"dependencies", "optional-dependencies"} and (
            found := self._requires_dist(project, metadata, sources)
        ):
            return found
        recorded = _table(metadata.get("requires-dev"))
        return self._groups(_groups(pyproject, uv), recorded, sources, "dependency group", uv)

    def _requires_dist(
        self, project: Mapping[str, Any], metadata: Mapping[str, Any], sources: AbstractSet[str]
    ) -> str | None:
        optional = _table(project.get("optional-dependencies"))
        if "provides-extras" in metadata:
            have = {canonicalize_name(e) for e in _list(metadata["provides-extras"]) if isinstance(e, str)}
            want = {canonicalize_name(e) for e in optional}
            if have != want:
                return _set_change("the extras", want, have)
        ours = [_from_text(text, sources) for text in _list(project.get("dependencies"))]
        for extra, texts in optional.items():
            ours += [_from_text(text, sources, extra=canonicalize_name(extra)) for text in _list(texts)]
        theirs = [_from_lock(entry) for entry in _list(metadata.get("requires-dist"))]
        return self._compare(ours, theirs, "the dependencies")

    def _groups(  # the groups, their record, then how to read them
        self,
        groups: Mapping[str, tuple[list[object], frozenset[str]]],
        recorded: Mapping[str, Any],
        sources: AbstractSet[str],
        kind: str,
        uv: Mapping[str, Any],
    ) -> str | None:
        want = {canonicalize_name(g) for g, (entries, _) in groups.items() if entries or self.records_empty_groups}
        have = {canonicalize_name(g) for g, entries in recorded.items() if entries or self.records_empty_groups}
        if want != have:
            return _set_change(f"the {kind}s", want, have)
        by_name = {canonicalize_name(g): entries for g, entries in recorded.items()}
        pythons: dict[str, object] = {
            canonicalize_name(g): t.get("requires-python") for g, t in _tables(uv.get("dependency-groups"))
        }
        for group, (texts, included) in groups.items():
            if canonicalize_name(group) not in by_name:
                continue  # an empty group an older lock does not record
            python = pythons.get(canonicalize_name(group))
            # uv adds a group's requires-python to each of its requirements' markers; how it treats an included
            # group's is left to uv (their names are still compared)
            by_names_only = any(pythons.get(g) for g in included)
            ours = [_from_text(text, sources, python=python, by_names_only=by_names_only) for text in texts]
            theirs = [_from_lock(entry) for entry in _list(by_name[canonicalize_name(group)])]
            if (found := self._compare(ours, theirs, f"the {kind} {group}'s requirements")) is not None:
                return found
        return None

    def _manifest(self) -> str | None:
        """The workspace's constraints, overrides and build constraints, and a virtual root's groups."""
        uv = _table(_table(self.root.get("tool")).get("uv"))
        for key, recorded in (
            ("constraint-dependencies", "constraints"),
            ("override-dependencies", "overrides"),
            ("build-constraint-dependencies", "build-constraints"),
        ):
            ours = [_from_text(text, set()) for text in _list(uv.get(key))]
            theirs = [_from_lock(entry) for entry in _list(self.manifest.get(recorded))]
            if (found := self._compare(ours, theirs, f"tool.uv.{key}")) is not None:
                return found
        for key, recorded in (
            ("conflicts", "conflicts"),
            ("environments", "supported-markers"),
            ("required-environments", "required-markers"),
        ):
            if bool(_list(uv.get(key))) != bool(_list(self.data.get(recorded))):
                now = "set now" if uv.get(key) else "not set now"
                return f"tool.uv.{key} is {now}, unlike when the lock was made"
        if (found := self._conflicts(uv)) is not None:
            return found
        if "project" not in self.root and "dependency-groups" in self.manifest:
            root_groups = _table(self.manifest.get("dependency-groups"))
            return self._groups(_groups(self.root, uv), root_groups, _sources(self.root), "dependency group", uv)
        return None

    def _conflicts(self, uv: Mapping[str, Any]) -> str | None:
        """A conflict set added, removed, changed or moved: uv locks again (the order within a set aside).

        Only the project's own sets are compared: where a workspace member declares some too, how uv merges
        them is left to uv.
        """
        if not _list(uv.get("conflicts")) or any(
            _table(_table(pyproject.get("tool")).get("uv")).get("conflicts")
            for path, _, pyproject in self._members()
            if path != _ROOT
        ):
            return None
        name = _table(self.root.get("project")).get("name")
        ours = _conflict_sets(uv.get("conflicts"), name if isinstance(name, str) else None)
        theirs = _conflict_sets(self.data.get("conflicts"), None)
        if ours is None or theirs is None or ours == theirs:
            return None
        return "tool.uv.conflicts declares other conflicts than the lock's"

    def _requires_python(self, pyprojects: Sequence[Mapping[str, Any]]) -> str | None:
        """The lock's Python range is every member's ``requires-python`` at once."""
        recorded = _specifier_set(self.data.get("requires-python"))
        found = (_table(p.get("project")).get("requires-python") for p in pyprojects)
        texts = [text for text in found if isinstance(text, str)]
        if recorded is None or not texts:
            return None
        wanted = [_specifier_set(t) for t in texts]
        if any(w is None for w in wanted):
            return None
        for python in _pythons(f"{recorded} {' '.join(map(str, texts))}", None):
            if all(w.contains(python, prereleases=True) for w in wanted if w) != recorded.contains(
                python, prereleases=True
            ):
                ranges = " and ".join(sorted({str(t) for t in texts}))
                return f"requires-python is {ranges}, the lock's {recorded}"
        return None

    def _compare(self, ours: list[_Requirement | None], theirs: list[_Requirement | None], where: str) -> str | None:
        """The first difference between the requirements of ``where`` and the lock's record of them."""
        if None in ours or None in theirs:
            return None  # one that does not parse: left to uv (and to the reading that selects)
        mine = _by_name([r for r in ours if r])
        recorded = _by_name([r for r in theirs if r])
        if mine.keys() != recorded.keys():
            return _set_change(where, set(mine), set(recorded))
        for name, wanted in mine.items():
            have = recorded[name]
            if any(r.sourced for r in (*wanted, *have)):
                continue  # where it comes from (tool.uv.sources, a URL) is left to uv
            if not self._same(wanted, have):
                asked = ", ".join(sorted({r.text for r in wanted}))
                recorded_text = ", ".join(sorted({r.text for r in have}))
                return f"{where} ask for {asked}, the lock's for {recorded_text}"
        return None

    def _same(self, wanted: list[_Requirement], have: list[_Requirement]) -> bool:
        wanted, have = _distinct(wanted), _distinct(have)
        if {r.key() for r in wanted} == {r.key() for r in have}:
            return True
        wanted, have = self._distinct(wanted), self._distinct(have)  # uv merges two spellings of one requirement
        if len(wanted) != len(have):
            return False
        if len(wanted) > _MOST_PAIRED:
            return True
        return any(
            all(self._equal(a, b) for a, b in zip(wanted, order, strict=True)) for order in itertools.permutations(have)
        )

    def _distinct(self, requirements: list[_Requirement]) -> list[_Requirement]:
        kept: list[_Requirement] = []
        for requirement in requirements:
            if not any(self._equal(requirement, other) for other in kept):
                kept.append(requirement)
        return kept

    def _equal(self, one: _Requirement, other: _Requirement) -> bool:
        return (
            one.extras == other.extras
            and _same_range(one.specifier, other.specifier)
            and self.grid.same(one.marker, other.marker)
        )


def _same_range(one: SpecifierSet, other: SpecifierSet) -> bool:
    """Whether the two allow the same final releases (uv compares version ranges, not how they are written).

    Tried on every release the specifiers name and its neighbours; pre- and post-releases are left out, so two
    ranges that differ only there count as the same (a difference left to uv, never a lock wrongly refused).
    """
    if one == other:
        return True
    releases: set[tuple[int, ...]] = {(0,), (999,)}
    for specifier in (*one, *other):
        digits = [int(part) for part in re.findall(r"\d+", specifier.version.split("+")[0])][:4]
        for size in range(1, len(digits) + 1):
            head = digits[:size]
            for step in (-1, 0, 1):
                if head[-1] + step >= 0:
                    releases |= {(*head[:-1], head[-1] + step), (*head[:-1], head[-1] + step, 0, 1)}
    versions = [Version(".".join(map(str, release))) for release in releases]
    return all(one.contains(v) == other.contains(v) for v in versions)


def _distinct(requirements: list[_Requirement]) -> list[_Requirement]:
    return list({r.key(): r for r in requirements}.values())


def _by_name(requirements: list[_Requirement]) -> dict[str, list[_Requirement]]:
    grouped: dict[str, list[_Requirement]] = {}
    for requirement in requirements:
        grouped.setdefault(requirement.name, []).append(requirement)
    return grouped


def _from_text(
    text: object,
    sources: AbstractSet[str],
    *,
    extra: str | None = None,
    python: object = None,
    by_names_only: bool = False,
) -> _Requirement | None:
    """A requirement of ``pyproject.toml`` as uv would record it.

    ``extra``: of that optional dependency; ``python``: of a dependency group with that ``requires-python``
    (``tool.uv.dependency-groups``), which uv adds to its marker; ``by_names_only``: compared by name alone.
    """
    if not isinstance(text, str):
        return None
    try:
        requirement = Requirement(text)
        clauses = [f"({requirement.marker})"] if requirement.marker else []
        if isinstance(python, str):
            clauses += [f"python_full_version {s.operator} '{s.version}'" for s in SpecifierSet(python)]
        if extra is not None:
            clauses.append(f"extra == '{extra}'")
        marker = Marker(" and ".join(clauses)) if clauses else None
    except (InvalidRequirement, InvalidMarker, InvalidSpecifier):
        return None
    name = canonicalize_name(requirement.name)
    extras = frozenset(canonicalize_name(e) for e in requirement.extras)
    return _Requirement(
        name=name,
        extras=extras,
        specifier=requirement.specifier,
        marker=marker,
        sourced=by_names_only or requirement.url is not None or name in sources,
        text=_shown(requirement.name, extras, requirement.specifier, marker),
    )


#: the keys of a recorded requirement that name a source other than an index
_SOURCE_KEYS = ("editable", "path", "url", "git", "directory", "virtual")


def _from_lock(entry: object) -> _Requirement | None:
    """A requirement as the lock records it (``{ name, extras, specifier, marker, ...source }``)."""
    if not isinstance(entry, dict) or not isinstance(name := entry.get("name"), str):
        return None
    specifier = _specifier_set(entry.get("specifier", ""))
    marker_text = entry.get("marker")
    try:
        marker = Marker(marker_text) if isinstance(marker_text, str) and marker_text else None
    except InvalidMarker:
        return None
    if specifier is None:
        return None
    extras = frozenset(canonicalize_name(e) for e in _list(entry.get("extras")) if isinstance(e, str))
    return _Requirement(
        name=canonicalize_name(name),
        extras=extras,
        specifier=specifier,
        marker=marker,
        sourced=any(key in entry for key in _SOURCE_KEYS),
        text=_shown(name, extras, specifier, marker),
    )


def _shown(name: str, extras: frozenset[str], specifier: SpecifierSet, marker: Marker | None) -> str:
    """A requirement as a message shows it: ``name[extras]specifier; marker``."""
    shown = name + (f"[{','.join(sorted(extras))}]" if extras else "") + str(specifier)
    return shown + (f"; {marker}" if marker else "")


def _groups(pyproject: Mapping[str, Any], uv: Mapping[str, Any]) -> dict[str, tuple[list[object], frozenset[str]]]:
    """Each dependency group with its includes spelled out (and the names of the groups it includes).

    ``tool.uv.dev-dependencies`` counts as the group ``dev``.
    """
    declared = _table(pyproject.get("dependency-groups"))
    by_name = {canonicalize_name(name): name for name in declared}

    def spelled(name: str, seen: frozenset[str]) -> tuple[list[object], frozenset[str]]:
        entries: list[object] = []
        for entry in _list(declared.get(name)):
            if isinstance(entry, dict) and isinstance(included := entry.get("include-group"), str):
                key = canonicalize_name(included)
                if key not in seen and key in by_name:
                    more, seen = spelled(by_name[key], seen | {key})
                    entries += more
            else:
                entries.append(entry)
        return entries, seen

    groups = {}
    for name in declared:
        entries, seen = spelled(name, frozenset({canonicalize_name(name)}))
        groups[name] = (entries, seen - {canonicalize_name(name)})
    if "dev-dependencies" in uv:
        dev = next((name for name in groups if canonicalize_name(name) == "dev"), "dev")
        entries, included = groups.get(dev, ([], frozenset()))
        groups[dev] = ([*entries, *_list(uv["dev-dependencies"])], included)
    return groups


def _version_change(text: object, recorded: object) -> str | None:
    if not isinstance(text, str) or not isinstance(recorded, str):
        return None
    try:
        if Version(text) == Version(recorded):
            return None
    except InvalidVersion:
        return None
    return f"the project's version is {text}, the lock's {recorded}"


def _build_change(pyproject: Mapping[str, Any], uv: Mapping[str, Any], source: object, *, decides: bool) -> str | None:
    """A project uv builds is ``editable`` in the lock; one it does not build (``tool.uv.package``) is ``virtual``.

    Without ``tool.uv.package``, the project at the lock's directory is built when it has a ``[build-system]``
    (``decides``); a project another package depends on is built without one, so only the setting decides for it,
    and for a member.
    """
    if not isinstance(source, dict):
        return None
    package = uv.get("package")
    if not isinstance(package, bool) and not decides:
        return None
    built = package if isinstance(package, bool) else "build-system" in pyproject
    if built and "virtual" in source:
        return "the project is built now (it has a [build-system] or tool.uv.package = true), the lock's is virtual"
    if not built and ("editable" in source or "directory" in source):
        return "the project is virtual now (no [build-system], or tool.uv.package = false), the lock's is built"
    return None


def _default_groups_change(value: object, recorded: object) -> str | None:
    if value is None or value == ["dev"]:
        value = None
    elif isinstance(value, list):
        value = sorted({canonicalize_name(v) for v in value if isinstance(v, str)})
    if isinstance(recorded, list):
        recorded = sorted({canonicalize_name(v) for v in recorded if isinstance(v, str)})
        recorded = None if recorded == ["dev"] else recorded
    if value == recorded:
        return None
    return "tool.uv.default-groups is not the lock's"


def _conflict_sets(value: object, project: str | None) -> list[frozenset[tuple[str, str, str]]] | None:
    """Each conflict set as its (package, ``extra``/``group``/``project``, name) items; ``None`` for one unread.

    An item without ``package`` is ``project``'s (the ``pyproject.toml`` declaring it), as uv takes it.
    """
    sets: list[frozenset[tuple[str, str, str]]] = []
    for items in _list(value):
        found: set[tuple[str, str, str]] = set()
        for item in _list(items):
            if not isinstance(item, dict):
                return None
            kind = next((k for k in ("extra", "group") if k in item), "project")
            package, name = item.get("package", project), "" if kind == "project" else item[kind]
            if not isinstance(package, str) or not isinstance(name, str):
                return None  # left to uv (and to the reading that selects)
            found.add((canonicalize_name(package), kind, canonicalize_name(name) if name else ""))
        sets.append(frozenset(found))
    return sets


def _edge_names(table: Mapping[str, Any]) -> Iterator[str]:
    """The names a package's edges lead to: its dependencies, its extras' and its groups'."""
    lists = [table.get("dependencies"), *_table(table.get("optional-dependencies")).values()]
    lists += _table(table.get("dev-dependencies")).values()
    for edges in lists:
        named = (edge.get("name") for edge in _list(edges) if isinstance(edge, dict))
        yield from (name for name in named if isinstance(name, str))


def _tables(value: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
    return ((key, item) for key, item in _table(value).items() if isinstance(item, dict))


def _set_change(where: str, want: AbstractSet[str], have: AbstractSet[str]) -> str:
    if added := sorted(want - have):
        return f"{where} name {', '.join(added)}, the lock's do not"
    return f"{where} no longer name {', '.join(sorted(have - want))}, the lock's do"


def _sources(pyproject: Mapping[str, Any]) -> set[str]:
    return {canonicalize_name(n) for n in _table(_table(_table(pyproject.get("tool")).get("uv")).get("sources"))}


def _specifier_set(text: object) -> SpecifierSet | None:
    if not isinstance(text, str):
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
