"""Sources: turn the picks a plan installs into wheels: fetched and verified, found by hash, or built."""

from __future__ import annotations

import logging
import re
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from tox_venvsync._errors import BadInputError, FetchError
from tox_venvsync._lock._model import Artifact, Pick, choose_file
from tox_venvsync._state import signature_of, tree_listing
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from tox_venvsync._build import Builder
    from tox_venvsync._cache import Cache
    from tox_venvsync._fetch import Fetcher
    from tox_venvsync._index import IndexClient
    from tox_venvsync._indexes import ProjectIndexes
    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._sync import LocalWheel
    from tox_venvsync._target import Target

_LOGGER = logging.getLogger(__name__)


#: settings tox makes anew for each run (a random hash seed), which no build depends on
_PER_RUN = frozenset({"PYTHONHASHSEED"})


class Sources:
    """Turns picks into installable wheels: fetched and verified, or built; remembers source trees."""

    def __init__(  # noqa: PLR0913  # the build's settings, by keyword
        self,
        cache: Cache,
        target: Target,
        scratch: Path,
        *,
        environ: Mapping[str, str] | None = None,
        offline: bool = False,
        build_constraints: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        """``offline``: builds download nothing (``--sync-offline``); ``build_constraints``: see ``Builder``."""
        self.cache = cache
        self._offline = offline
        self._build_constraints = build_constraints
        self._target = target
        self._scratch = scratch
        self._environ = environ
        self._indexes: Callable[[], ProjectIndexes] | None = None
        self._local: dict[str, Path] = {}
        #: source trees found unchanged, so not built while planning: built if an install needs them
        self._deferred: dict[str, tuple[Pick, Path, bool]] = {}
        #: non-editable source trees and their signatures, so the no-op check notices an edit
        self.trees: dict[str, str] = {}
        #: each pin's best file in the cache, once searched offline (see :meth:`_from_cache`)
        self._best_cached: dict[str, Artifact | None] = {}

    @cached_property
    def _builder(self) -> Builder:
        from tox_venvsync._build import Builder  # noqa: PLC0415  # only a sync that builds loads it

        return Builder(
            self.cache,
            self._target,
            environ=self._environ,
            offline=self._offline,
            scratch=self._scratch,
            constraints=self._build_constraints,
        )

    @cached_property
    def default_indexes(self) -> tuple[str, ...]:
        """The indexes configured where the lock names none (uv's and pip's variables and pip's files, else PyPI)."""
        from tox_venvsync._indexes import configured_indexes  # noqa: PLC0415  # loaded when a sync has work to do

        return configured_indexes(self._environ)

    @cached_property
    def _index(self) -> IndexClient:
        from tox_venvsync._index import IndexClient  # noqa: PLC0415  # only a sync that asks an index loads it

        return IndexClient()

    def wanted(self, pick: Pick, installed: InstalledDist | None = None) -> Wanted:
        """What installing ``pick`` records; source trees are built now, to compare their contents.

        ``installed``: what the venv holds under the pick's name; a source tree it was built from, unchanged
        since, is not built again.
        """
        from tox_venvsync._plan import Wanted  # noqa: PLC0415  # loaded when a sync has work to do

        if pick.directory is not None:
            return self._tree(pick, pick.directory.tree, editable=pick.directory.editable, installed=installed)
        if pick.vcs is not None:
            return Wanted(pick=pick, direct_url=recorded_url(pick.vcs.url))
        artifact = pick.artifact
        if artifact is None:
            return Wanted(pick=pick)  # a requirements pin: its file is found on the index when it is installed
        local = artifact.path.as_uri() if artifact.path is not None and pick.direct else None
        if artifact.url and (pick.kind == "archive" or (pick.kind == "wheel" and pick.direct and local is None)):
            # a wheel's URL as a direct reference (``name @ https://.../x.whl``, a uv ``source = { url }``):
            # pip and uv record it, and ``pip freeze`` prints it
            return Wanted(pick=pick, direct_url=recorded_url(artifact.url))
        return Wanted(pick=pick, direct_url=local)

    def project(self, wheel: LocalWheel, content: str) -> Wanted:
        """The project's own wheel, built by tox."""
        wanted = _project_wanted(wheel, content)
        self._local[wanted.pick.name] = wheel.path
        return wanted

    def _look_up(self, pick: Pick) -> Pick:
        """A requirements pin (a pick whose file the lock does not name) with its file found on the index."""
        from tox_venvsync._index import find_pinned  # noqa: PLC0415  # loaded when a sync has work to do

        assert pick.lookup is not None  # noqa: S101  # only pins come here
        try:
            found = find_pinned(
                self._index,
                name=pick.name,
                version=str(pick.version),
                pin=pick.lookup,
                ranks=self._target.tag_ranks,
                default_indexes=self.default_indexes,
            )
        except FetchError as exc:
            # the index asked what this interpreter takes, and could not answer (down, unreachable): a file of the
            # pin another interpreter left in the cache is the pin's all the same, as it was before pins/ was kept
            if not exc.transient or (cached := self._from_cache(pick, offline=True)) is None:
                raise
            _LOGGER.warning("%s; installed the cache's %s, which the pin allows", exc, cached.filename)
            return _with_file(pick, cached)
        if not found.hashes:  # linked without its hash: its digest, once downloaded, tells whether the pin allows it
            from tox_venvsync._fetch import store_pinned  # noqa: PLC0415  # loaded when a sync has work to do

            found = store_pinned(self.cache, pick, found)
        self._remember_choice(pick, found)
        return _with_file(pick, found)

    def _from_cache(self, pick: Pick, *, offline: bool) -> Artifact | None:
        """The pin's file in the cache, so a warm or offline sync needs no index; ``None``: ask the index.

        Online, only the file the index gave this interpreter before (:meth:`_remember_choice`): a file another
        interpreter took (a ``py3-none-any`` wheel for a Python no ``cp3XX`` wheel fitted, an sdist) is no
        reason to install less than the index has for this one, as pip and uv install the best it lists.
        Offline, the best the cache holds.
        """
        assert pick.lookup is not None  # noqa: S101  # only pins come here
        if not offline:
            return self._remembered_choice(pick)
        cached = [
            Artifact(filename=file.name, url=None, path=None, size=None, hashes={algorithm: digest})
            for algorithm, digests in pick.lookup.hashes.items()
            for digest in digests
            for file in _files_in(self.cache.artifact(algorithm, digest, "x").parent)
        ]
        best = self._best_cached[pick.name] = choose_file(cached, self._target.tag_ranks, pick.lookup.formats)
        return best

    def _choice_memo(self, pick: Pick) -> Path:
        """Where the file the index gave this pin for this interpreter's tags is noted (``pins/<key>.json``)."""
        import hashlib  # noqa: PLC0415  # loaded when a sync has work to do
        import json  # noqa: PLC0415

        assert pick.lookup is not None  # noqa: S101  # only pins come here
        lookup = pick.lookup
        described = [
            pick.name,
            str(pick.version),
            sorted((algorithm, sorted(digests)) for algorithm, digests in lookup.hashes.items()),
            [
                lookup.index,
                list(lookup.extra_indexes),
                list(lookup.find_links),
                lookup.no_index,
                sorted(lookup.formats),
            ],
            self._tags_digest,
        ]
        return self.cache.root / "pins" / f"{hashlib.sha256(json.dumps(described).encode()).hexdigest()}.json"

    @cached_property
    def _tags_digest(self) -> str:
        """A digest of the interpreter's wheel tags (about a thousand), taken once for every pin of the sync."""
        import hashlib  # noqa: PLC0415  # loaded when a sync has work to do

        return hashlib.sha256("\n".join(self._target.tag_strings).encode()).hexdigest()

    def _remember_choice(self, pick: Pick, found: Artifact) -> None:
        import contextlib  # noqa: PLC0415  # loaded when a sync has work to do
        import json  # noqa: PLC0415

        from tox_venvsync._atomic import write_atomic  # noqa: PLC0415

        with contextlib.suppress(OSError):  # a cache this user may not write: only asked again next time
            memo = json.dumps({"filename": found.filename, "hashes": found.hashes})
            write_atomic(self._choice_memo(pick), memo, scratch=self.cache.tmp_dir())  # see _atomic: no .tmp in pins/

    def _remembered_choice(self, pick: Pick) -> Artifact | None:
        """The file noted by :meth:`_remember_choice`, when the cache holds it."""
        import json  # noqa: PLC0415  # loaded when a sync has work to do

        try:
            data = json.loads(self._choice_memo(pick).read_text(encoding="utf-8"))
            filename, hashes = str(data["filename"]), {str(k): str(v) for k, v in data["hashes"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        allowed = pick.lookup.hashes if pick.lookup is not None else {}
        for algorithm, digest in hashes.items():
            # the note names a file of the cache by its hash: only one the pin allows, checked again here
            if digest in allowed.get(algorithm, ()) and self.cache.artifact(algorithm, digest, filename).is_file():
                return Artifact(filename=filename, url=None, path=None, size=None, hashes={algorithm: digest})
        return None

    def offline_missing(self, picks: Sequence[Pick]) -> list[str]:
        """What installing ``picks`` offline needs that the cache does not hold, as :class:`OfflineError` lists it.

        The files the lock names, the requirements pins and the commits not built before: all that a sync fetches,
        found before it builds anything. Source trees are built, not fetched (see :meth:`builds_tree`).
        """
        from tox_venvsync._build import not_built  # noqa: PLC0415  # loaded when a sync has work to do
        from tox_venvsync._fetch import CacheFetcher  # noqa: PLC0415

        files = [p for p in picks if p.artifact is not None and p.vcs is None and p.directory is None]
        pins = [p for p in picks if p.artifact is None and p.lookup is not None]
        missing = CacheFetcher(self.cache, offline=True).missing([p for p in files if p.name not in self._local])
        missing += [f"{p.name}=={p.version}" for p in pins if self._from_cache(p, offline=True) is None]
        missing += [not_built(p) for p in picks if p.vcs is not None and not self._builder.built_before(p)]
        return sorted(missing)

    def builds_tree(self, pick: Pick, installed: InstalledDist | None) -> bool:
        """Whether the sync builds ``pick``'s source tree: not when the venv holds its build of the tree as it is.

        ``False`` too for a directory that holds no project: its own error comes where it would be built.
        """
        from tox_venvsync._build import not_a_project  # noqa: PLC0415  # a sync with a source tree

        directory = pick.directory
        if directory is None or not_a_project(directory.tree) is not None:
            return False
        signature = signature_of(tree_listing(directory.tree))
        kept = self._unchanged(pick, directory.tree, signature, editable=directory.editable, installed=installed)
        return kept is None

    def _tree(self, pick: Pick, path: Path, *, editable: bool, installed: InstalledDist | None) -> Wanted:
        from tox_venvsync._build import BuildError, not_a_project  # noqa: PLC0415  # a sync with a source tree
        from tox_venvsync._plan import Wanted  # noqa: PLC0415  # loaded when a sync has work to do

        # refused before its files are listed: a lock's path = "/" (or "/usr") had every file under it walked and
        # stat'ed, for minutes, to be told then that it holds no project
        if (reason := not_a_project(path)) is not None:
            raise BuildError(pick.name, str(path), reason)
        before = tree_listing(path)
        signature = signature_of(before)
        if (kept := self._unchanged(pick, path, signature, editable=editable, installed=installed)) is not None:
            return kept
        built = self._build_tree(pick, path, editable=editable)
        noted = after = tree_listing(path)  # after the build, which may write into it (a version file)
        first = _unseen_by_build(built, path, before, after) if not editable else None
        if first is not None:
            built = self._build_tree(pick, path, editable=editable)  # edited while it built: once more, with the edit
            noted = tree_listing(path)
            again = _unseen_by_build(built, path, after, noted)
            # a file the build itself writes beside what it ships, rewritten by each build, is its habit; any
            # other change is a second save: noted as it was, so that the next sync builds the tree again
            if again is not None and (again.edited or not again.beside <= first.beside):
                noted = after
        if pick.version is None:  # most locks give a source tree no version: its build tells (for the plan's lines)
            pick = replace(pick, version=parse_wheel_filename(built.name)[1])
        signature = signature_of(noted)
        if not editable:
            self.trees[str(path)] = signature
        return Wanted(
            pick=pick,
            direct_url=path.as_uri(),
            content=_content_key(built),
            editable=editable,
            from_directory=True,
            tree=self._build_key(signature),
        )

    def _build_key(self, signature: str) -> str:
        """What a build of a tree depends on: its files, and the settings tox lays over the environment (set_env)."""
        if self._environ is None:
            return signature
        import hashlib  # noqa: PLC0415  # only for a build environment of tox's
        import os  # noqa: PLC0415

        settings = sorted((k, v) for k, v in self._environ.items() if os.environ.get(k) != v and k not in _PER_RUN)
        if not settings:
            return signature
        return f"{signature}+{hashlib.sha256(repr(settings).encode()).hexdigest()[:16]}"

    def _unchanged(
        self, pick: Pick, path: Path, signature: str | None, *, editable: bool, installed: InstalledDist | None
    ) -> Wanted | None:
        """What ``installed`` records, when it was built here from ``path`` as it is now (so it is kept as it is).

        uv keeps a local directory's build while the directory is unchanged too; a build takes seconds (an
        isolated environment, its backend installed by pip), and every sync with other work did one.
        """
        from tox_venvsync._plan import Wanted  # noqa: PLC0415  # loaded when a sync has work to do

        if signature is None or installed is None or installed.version is None:
            return None
        if installed.tree != self._build_key(signature):  # the tree, or a setting its build reads, changed
            return None
        wanted = Wanted(
            pick=replace(pick, version=pick.version or installed.version),
            direct_url=path.as_uri(),
            content=installed.content,
            editable=editable,
            from_directory=True,
            tree=installed.tree,
        )
        if (
            wanted.content is None
            or installed.direct_url != wanted.source_id
            or installed.version != wanted.pick.version
        ):
            return None
        self._deferred[pick.name] = (pick, path, editable)  # built only if the plan reinstalls it after all
        if not editable:
            self.trees[str(path)] = signature
        return wanted

    def _build_tree(self, pick: Pick, path: Path, *, editable: bool) -> Path:
        built = self._builder.from_tree(pick, path, self._scratch / pick.name, editable=editable)
        self._local[pick.name] = built
        return built

    def resolve(self, plan: Plan, *, offline: bool, indexes: Callable[[], ProjectIndexes] | None = None) -> Plan:
        """The plan with every requirements pin's file found (cache first; offline, the cache only).

        ``indexes``: gives the project's, whose logins the index pages are read with.
        """
        self._indexes = indexes
        from tox_venvsync._errors import OfflineError  # noqa: PLC0415  # loaded when a sync has work to do

        installs = plan.to_install
        picks = [step.wanted.pick for step in installs if step.wanted is not None]
        cached: dict[str, Artifact | None] = {
            # offline, searched once: by the check before the plan (offline_missing), else here
            p.name: self._best_cached[p.name]
            if offline and p.name in self._best_cached
            else self._from_cache(p, offline=offline)
            for p in picks
            if p.lookup is not None
        }
        missing = [
            f"{pick.name}=={pick.version}" for pick in picks if pick.name in cached and cached[pick.name] is None
        ]
        if offline and missing:
            raise OfflineError(missing)
        found = self._resolve_all(picks, cached)
        # by identity, once: ``step in plan.to_install`` built the list again and compared fields for every step,
        # quadratic in the plan (a new venv of 2,000 packages spent seconds here)
        installing = {id(step) for step in installs}
        steps = [
            replace(step, wanted=replace(step.wanted, pick=found[step.wanted.pick.name]))
            if step.wanted is not None and id(step) in installing
            else step
            for step in plan.steps
        ]
        return replace(plan, steps=tuple(steps))

    def _resolve_all(self, picks: list[Pick], cached: Mapping[str, Artifact | None]) -> dict[str, Pick]:
        """Every pick with its file found: its own, else the cache's, else looked up on the index.

        ``cached`` holds the cache's file for each pin (``None``: not there), found once per sync. The pins
        the cache does not hold are looked up on eight threads at once.
        """
        found: dict[str, Pick] = {p.name: p for p in picks if p.artifact is not None or p.lookup is None}
        for pick in picks:
            if pick.name not in found and (artifact := cached.get(pick.name)) is not None:
                found[pick.name] = _with_file(pick, artifact)
        if lookups := [pick for pick in picks if pick.name not in found]:
            from tox_venvsync._http import each_on_kept_connections  # noqa: PLC0415  # a sync with work
            from tox_venvsync._session import use_logins  # noqa: PLC0415  # a sync with work

            if self._indexes is not None:
                use_logins(self._indexes())
            looked_up = each_on_kept_connections(self._look_up, lookups, workers=8)
            found.update({pick.name: pick for pick in looked_up})
        return found

    def wheels(self, plan: Plan, fetcher: Fetcher) -> dict[str, Path]:
        """A wheel for every install of ``plan``: fetched and verified, then built where it is not a wheel."""
        installs = [step.wanted.pick for step in plan.to_install if step.wanted is not None]
        fetched = fetcher.fetch([p for p in installs if p.artifact is not None and p.name not in self._local])
        wheels: dict[str, Path] = {}
        for pick in installs:
            if pick.name not in self._local and pick.name in self._deferred:
                tree_pick, path, editable = self._deferred[pick.name]
                self._build_tree(tree_pick, path, editable=editable)
            if pick.name in self._local:
                wheels[pick.name] = self._local[pick.name]
            elif pick.vcs is not None:
                wheels[pick.name] = self._builder.from_vcs(pick)
            elif pick.kind == "wheel" or fetched[pick.name].name.endswith(".whl"):
                wheels[pick.name] = fetched[pick.name]
            else:
                digest = (pick.artifact.strongest_hash if pick.artifact else None) or ("", "")
                wheels[pick.name] = self._builder.from_archive(pick, fetched[pick.name], digest[1])
        return wheels


def _with_file(pick: Pick, artifact: Artifact) -> Pick:
    return replace(pick, artifact=artifact, kind="wheel" if artifact.filename.endswith(".whl") else "sdist")


@frozen
class _Unseen:
    """The changes to a tree while it built that its wheel may not hold (see :func:`_unseen_by_build`)."""

    #: a file the wheel holds with other bytes than the tree now (or no longer there): an edit, surely
    edited: bool
    #: files beside those the wheel ships that it does not ship: an edit, or what the build writes there
    beside: frozenset[str]


def _unseen_by_build(
    wheel: Path, root: Path, before: Mapping[str, tuple[int, int]], after: Mapping[str, tuple[int, int]]
) -> _Unseen | None:
    """What changed in the tree while the build that made ``wheel`` ran and the wheel may not hold; ``None``: nothing.

    A build may write into its tree: setuptools-scm's ``_version.py`` is in the wheel as it is in the tree;
    cargo's ``target/`` or scikit-build's ``_skbuild/`` are in directories the wheel ships nothing from. A
    file the wheel holds with other bytes than the tree now does, or one missing from a directory the wheel
    ships files of, was edited while the build read the tree (a save in an editor), or is the build's own
    output beside its sources (a generated ``.c``): the wheel may hold the old text, and the signature noted
    after this build would keep it for good.
    """
    import zipfile  # noqa: PLC0415  # only when a tree changed during its build

    changed = [path for path in before.keys() | after.keys() if before.get(path) != after.get(path)]
    if not changed:
        return None
    beside: set[str] = set()
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = archive.namelist()
            shipped = {member.rpartition("/")[0] for member in members} - {""}
            for path in changed:
                relative = path.removeprefix("./")
                found = next((m for m in members if relative == m or relative.endswith(f"/{m}")), None)
                if found is not None:
                    if path not in after or archive.read(found) != (root / relative).read_bytes():
                        return _Unseen(edited=True, beside=frozenset())
                elif any(_ends_with(relative.rpartition("/")[0], directory) for directory in shipped):
                    beside.add(path)
    except (OSError, zipfile.BadZipFile):
        return _Unseen(edited=True, beside=frozenset())
    return _Unseen(edited=False, beside=frozenset(beside)) if beside else None


def _ends_with(path: str, tail: str) -> bool:
    """Whether the ``/``-separated ``path`` is ``tail`` or ends in it, part for part."""
    return path == tail or path.endswith(f"/{tail}")


def _content_key(wheel: Path) -> str:
    from tox_venvsync._sync import content_key  # noqa: PLC0415  # _sync imports this module lazily

    return content_key(wheel)


def _files_in(directory: Path) -> list[Path]:
    try:
        return [entry for entry in directory.iterdir() if entry.is_file()]
    except OSError:
        return []


def recorded_url(url: str) -> str:
    """``url`` as a venv records it (``direct_url.json``, which ``pip freeze`` prints): without a login in it.

    As pip's ``DirectUrl.redacted_url``: user info goes, but for ``git@`` (ssh's user, no secret) and an
    environment variable's name (``${TOKEN}``, which a file may hold).
    """
    try:
        scheme, netloc, *rest = urlsplit(url)
    except ValueError:  # a URL that does not parse: the download refuses it in one sentence, before any record
        return url
    userinfo, at, host = netloc.rpartition("@")
    if not at or userinfo == "git" or re.fullmatch(r"\$\{[A-Za-z0-9_-]+\}(:\$\{[A-Za-z0-9_-]+\})?", userinfo):
        return url
    return urlunsplit((scheme, host, *rest))


def _project_wanted(wheel: LocalWheel, content: str) -> Wanted:
    from tox_venvsync._plan import Wanted  # noqa: PLC0415  # loaded when a sync has work to do

    try:
        name, version, _, _ = parse_wheel_filename(wheel.path.name)
    except InvalidWheelFilename as exc:
        msg = f"the project was built as {wheel.path}, which is not a wheel; use package = wheel or editable"
        raise BadInputError(msg) from exc
    pick = Pick(
        name=name,
        version=version,
        kind="wheel",
        artifact=Artifact(filename=wheel.path.name, url=None, path=wheel.path, size=None, hashes={"sha256": content}),
        context="the project",
    )
    # built here: the project's directory, not the wheel's path (tox builds each wheel in a new folder); a wheel
    # given to tox (--installpkg) is recorded as the archive it is, and so is an sdist given to it
    source = wheel.source or wheel.sdist or wheel.path
    return Wanted(
        pick=pick,
        direct_url=source.as_uri(),
        content=content,
        editable=wheel.editable,
        from_directory=wheel.source is not None,
    )
