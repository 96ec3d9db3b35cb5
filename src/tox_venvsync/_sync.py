"""The sync pipeline: Lock -> Selection -> Installed -> Plan -> Fetch -> Apply -> State, for any front end."""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import hashlib
import heapq
import itertools
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tox_venvsync._errors import BadInputError, HashMismatchError, InstallError, SelectionError, VenvSyncError
from tox_venvsync._installed import dist_info_names
from tox_venvsync._lock._request import Request
from tox_venvsync._state import Inputs, State
from tox_venvsync._values import frozen, replace

# The no-op path (fingerprint + one listing) needs only the modules above. Reading the lock, planning,
# fetching and installing import their modules (and packaging, tempfile, zipfile) when a sync has work
# to do, so a tox run or a ``venvsync sync`` of an env that is in sync does not pay for them (see sync()).

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from email.message import Message

    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from tox_venvsync._apply import Installer
    from tox_venvsync._cache import Cache
    from tox_venvsync._fetch import Fetcher
    from tox_venvsync._indexes import ProjectIndexes
    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._journal import Journal
    from tox_venvsync._lock._model import Lock, Pick
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._sources import Sources
    from tox_venvsync._target import Target


#: ``hardlink`` (default) or ``copy`` (also ``clone``, ``reflink``): how installed files come out of the cache
LINK_MODE_ENV = "TOX_VENVSYNC_LINK_MODE"
#: the values of LINK_MODE_ENV that give each venv files of its own (copy-on-write clones where the filesystem can)
COPY_MODES = frozenset({"copy", "clone", "reflink"})


@frozen
class LocalWheel:
    """A wheel built outside the lock (the project itself), installed without its dependencies."""

    path: Path
    editable: bool = False
    #: the project directory, recorded as the source of an editable install
    source: Path | None = None
    #: the sdist tox gave, when the wheel was built from it here (recorded as the archive installed unless built
    #: from the project's directory)
    sdist: Path | None = None


@frozen
class SyncSpec:
    """What to sync: the venv, the lock, the request and the project's wheels."""

    venv: Path
    lock_path: Path
    lock_format: str | None = None
    request: Request = Request()
    project: Sequence[LocalWheel] = ()
    #: names the lock may hold for the project itself; tox's ``package`` decides how (and whether) it is installed;
    #: one that is installed stays when ``project`` is empty (recorded in the state as the project's, see
    #: ``State.project_names``)
    project_names: frozenset[str] = frozenset()
    exact: bool = True
    offline: bool = False
    #: tox's ``deps``: installed by pip after the lock, pinned to it, kept while listed
    deps: Sequence[str] = ()
    #: where pip runs for ``deps`` (their ``-r`` and relative paths start there): tox's ini directory; else the lock's
    deps_dir: Path | None = None
    #: what ``deps`` ask for with the files they name (``-r``, ``-c``) read: an edit of such a file changes the deps
    #: as a changed line does, as tox's own runner runs pip again for it
    deps_content: Sequence[str] = ()
    #: where a requirements file's relative paths start, as pip's and uv's current directory: tox's ini directory
    #: in tox, the working directory for ``venvsync``; ``None``: the lock's directory
    paths_from: Path | None = None
    #: the environment builds, pip (``deps``) and the index settings are read from; ``None``: this process's
    #: (tox passes its ``set_env`` on top of it, as tox-uv passes it to uv)
    environ: Mapping[str, str] | None = None
    #: the other lockfiles beside a lock that was found by name, each as ``name:sha256``: one that changes (a
    #: ``uv lock`` beside an exported ``pylock.toml``) makes the next sync compare, so that tox says which it took
    beside: Sequence[str] = ()


@frozen
class Outcome:
    """What a sync did; ``plan`` is ``None`` when the state said the venv was already in sync."""

    plan: Plan | None
    seconds: float
    applied: bool
    #: whether pip ran to install tox's deps on top of the lock (also when it found nothing to add)
    deps: bool = False


class LockAhead:
    """The lockfile read while the interpreter is asked for its facts, for the plan to use.

    The first sync with an interpreter (an empty cache: a CI runner's first run) asks it in a child
    process (~60 ms), then reads the lock (40-80 ms, its reader's modules included): passed to the
    query as what to do ``meanwhile``, the reading runs while the child works, on the other core.
    Only a head start: a lock that does not read here is read again where the plan needs it and
    fails there with its error, and so is one whose bytes changed since.
    """

    def __init__(self, spec: SyncSpec, cache_root: Path, *, write: bool = True) -> None:
        """``write`` false leaves the cache's memo of parsed lockfiles as it is (a dry run)."""
        self._path = spec.lock_path
        self._format = spec.lock_format
        self._paths_from = spec.paths_from
        self._memo = cache_root / "toml"
        self._write = write
        self._read: tuple[dict[Path, bytes], Lock] | None = None

    def _files(self) -> dict[Path, bytes]:
        """The lock's bytes and the pyproject.toml's beside it, as the sync pinned them (or as they are now)."""
        from tox_venvsync._lock._file import file_bytes, lock_bytes  # noqa: PLC0415  # see the imports

        project = _project_file(self._path, self._format)
        files = {self._path: lock_bytes(self._path)}
        if (project_bytes := file_bytes(project)) is not None:
            files[project] = project_bytes
        return files

    def read(self) -> None:
        """Read the lock now; an error is left for the plan's own reading to report."""
        from tox_venvsync._lock import read_lock  # noqa: PLC0415  # see the imports
        from tox_venvsync._lock._file import pinned  # noqa: PLC0415
        from tox_venvsync._lock._toml import memo_dir  # noqa: PLC0415

        try:
            files = self._files()
            with pinned(files), memo_dir(self._memo, write=self._write):  # the reader parses these very bytes
                lock = read_lock(self._path, self._format, paths_from=self._paths_from)
        except (OSError, VenvSyncError):
            return
        self._read = (files, lock)

    def lock(self) -> Lock | None:
        """The lock read ahead, if it was and its files hold the same bytes as the sync's (a timestamp may not tell)."""
        if self._read is None:
            return None
        files, lock = self._read
        try:
            return lock if self._files() == files else None
        except (OSError, VenvSyncError):  # the file changed into something else since: the plan reads it again
            return None


def check_before_recreating(spec: SyncSpec, base: Target, cache: Cache) -> None:
    """Read and select the lock, fetch its files and unpack its wheels: bad input fails before a venv is emptied.

    Recreating a venv for another Python empties it first; a missing lock, an unknown extra, a wrong
    hash, an empty cache offline, a wheel that cannot be installed (not a zip, an entry leading out of
    the venv, a RECORD that lies) or a lock's source directory that is not there, found afterwards,
    would leave an empty venv where a working one was. Builds (directories, git, requirements pins) are
    left to the sync: they need the new venv.
    """
    from tox_venvsync._build import BuildError, no_directory  # noqa: PLC0415  # see the imports
    from tox_venvsync._fetch import CacheFetcher  # noqa: PLC0415
    from tox_venvsync._lock import read_lock  # noqa: PLC0415
    from tox_venvsync._target import future_target  # noqa: PLC0415
    from tox_venvsync._unpacked import unpacked  # noqa: PLC0415

    lock = read_lock(spec.lock_path, spec.lock_format, paths_from=spec.paths_from)
    picks = [p for p in lock.select(future_target(base, spec.venv), spec.request) if p.name not in spec.project_names]
    for pick in picks:  # the message the build would give, before the venv is emptied for it
        if pick.directory is not None and not pick.directory.tree.is_dir():
            raise BuildError(pick.name, str(pick.directory.tree), no_directory(pick.directory.tree))
    files = [p for p in picks if p.artifact is not None and (p.artifact.url or p.artifact.path) and p.vcs is None]
    with _naming_the_lock(spec.lock_path):
        fetched = CacheFetcher(cache, offline=spec.offline, indexes=lambda: project_indexes(spec)).fetch(files)
    with _saying_where_from(spec, {str(pick.name): pick for pick in files}):
        for pick in files:  # unpacked into the cache (once per wheel, ever): the sync links from there
            hashed = pick.artifact.strongest_hash if pick.artifact is not None else None
            if pick.kind == "wheel" and hashed is not None and (wheel := fetched.get(pick.name)) is not None:
                unpacked(cache, wheel, *hashed, pick.name)


@contextlib.contextmanager
def _naming_the_lock(lock: Path) -> Iterator[None]:
    """A file whose size or hash differs from the lock's is told with the lockfile's name, not "the lock"."""
    try:
        yield
    except HashMismatchError as exc:
        raise exc.of(lock) from exc


@contextlib.contextmanager
def _saying_where_from(spec: SyncSpec, picks: Mapping[str, Pick]) -> Iterator[None]:
    """A wheel whose contents are broken is told with what to do, from where it came (see :class:`InstallError`).

    The unpacking and the install check a wheel's contents without knowing whether the lock pinned it, a build
    made it here, or it is the project's; the sync knows (``picks``: what it installs, by name).
    """
    try:
        yield
    except InstallError as exc:
        if exc.remedied or (pick := picks.get(exc.name)) is None:
            raise
        raise exc.with_remedy(_remedy(spec, pick)) from exc


def _remedy(spec: SyncSpec, pick: Pick) -> str:
    """What to do about a broken wheel of ``pick``: the lock's file, a build of this sync's, or the project's."""
    if pick.context == "the project":  # tox's package: built by the project's backend, or a wheel handed to tox
        return (
            "it is the project's own wheel: check the project's build backend and its configuration (or the build "
            "that made the wheel given to tox)"
        )
    if pick.kind == "wheel":  # the lock's file, which matched its hash: the lock names the wrong one, or it is broken
        return (
            f"the file {spec.lock_path} pins for it is at fault: lock again, or lock another release of {pick.name} "
            "if this one is broken (and tell its maintainers)"
        )
    return (  # an sdist, a checkout, a directory, an archive: built here by the package's backend
        f"it was built here from the {pick.kind} that {spec.lock_path} names: check that package's build, or lock "
        "another release of it"
    )


def in_sync(spec: SyncSpec, target: Target) -> bool:
    """Whether :func:`sync` would find nothing to do, by reading only: no lock needed.

    A current state read without the lock was true when it was read: every change to a venv clears
    the state before its first file changes (:func:`sync`, ``_location.remove_venv``).
    """
    contents = {wheel.path: content_key(wheel.path) for wheel in spec.project}
    fingerprint = _inputs(spec, target, contents).fingerprint()
    return State(spec.venv).is_current(fingerprint, dist_info_names(_site_packages(target)))


def sync(  # noqa: PLR0913  # the pipeline's seams, all keyword-only
    spec: SyncSpec,
    target: Target,
    *,
    cache: Cache,
    fetcher: Fetcher | None = None,
    installer: Installer | None = None,
    dry_run: bool = False,
    ahead: LockAhead | None = None,
) -> Outcome:
    """Make the venv equal what the lock selects for ``target`` (the caller holds :func:`env_lock`).

    ``ahead``: the lock if it was read while ``target`` was asked for (see :class:`LockAhead`).
    """
    start = time.perf_counter()
    link = link_mode()  # a bad value is refused before anything else, also when nothing is to do
    check_keyring_providers(spec.environ)  # as uv and pip refuse a keyring provider they do not know
    contents = {wheel.path: content_key(wheel.path) for wheel in spec.project}
    site_packages = _site_packages(target)
    state = State(spec.venv)
    fingerprint = (inputs := _inputs(spec, target, contents)).fingerprint()
    if not dry_run and state.is_current(fingerprint, dist_info_names(site_packages)):
        return Outcome(plan=None, seconds=time.perf_counter() - start, applied=False)
    import tempfile  # noqa: PLC0415  # see the imports

    from tox_venvsync._journal import Journal, clear_half_placed  # noqa: PLC0415
    from tox_venvsync._link import LinkInstaller  # noqa: PLC0415
    from tox_venvsync._lock import build_constraints  # noqa: PLC0415
    from tox_venvsync._sources import Sources  # noqa: PLC0415

    journal = Journal(spec.venv)
    if not dry_run:
        clear_half_placed(spec.venv, target, cache.unpacked_dir)  # an interrupted apply's, before the venv is read
    # a dry run writes nothing to the cache, not even its work directory: its builds go to the system's temp
    scratch_in = None if dry_run else cache.tmp_dir()
    # every reader below sees the lock as the fingerprint read it, also if it is rewritten meanwhile
    with (
        _pinned(spec, inputs),
        collector_paused(),
        tempfile.TemporaryDirectory(dir=scratch_in, prefix="sync-") as scratch,
    ):
        held = functools.partial(build_constraints, spec.lock_path, spec.lock_format)
        sources = Sources(
            cache, target, Path(scratch), environ=spec.environ, offline=spec.offline, build_constraints=held
        )
        project = [sources.project(wheel, contents[wheel.path]) for wheel in spec.project]
        kept_deps = state.deps_names(_deps_key(spec), _deps_digests(spec))
        plan = make_sync_plan(
            spec,
            target,
            project=project,
            suspect=journal.pending(),
            sources=sources,
            keep=kept_deps,
            write=not dry_run,
            ahead=ahead,
            refuse_missing=spec.offline and not dry_run,
        )
        if dry_run:
            return Outcome(plan=plan, seconds=time.perf_counter() - start, applied=False)
        if plan.changes or (spec.deps and not kept_deps):
            from tox_venvsync._placeable import refuse_schemes_linked_out  # noqa: PLC0415  # see the imports

            refuse_schemes_linked_out(spec.venv, target.scheme)  # nothing written through a bin/ linked elsewhere
            picks = {str(step.name): step.wanted.pick for step in plan.steps if step.wanted is not None}
            with _saying_where_from(spec, picks):  # a broken wheel, met as it is unpacked, checked or placed
                plan, wheels = _fetched(spec, target, plan, sources, fetcher)  # verified and built before any change
                chosen = installer if installer is not None else LinkInstaller(target, cache, link=link)
                # a new venv filled from the cache's trees as an earlier one at this place was: made again from the memo
                key = (
                    _placement_key(spec, target, cache, plan, chosen=chosen, site_packages=site_packages)
                    if installer is None
                    else None
                )
                replayed = key is not None and _replayed(
                    spec, key, cache, plan, wheels, chosen=chosen, state=state, journal=journal
                )
                if not replayed:
                    _apply(spec, plan, wheels, chosen=chosen, state=state, journal=journal, key=key, cache=cache)
        if spec.deps:
            state.clear()  # pip runs next and may change the venv (see in_sync)
        deps_names = _install_deps(spec, target, plan, site_packages)
        journal.finish()  # the apply is complete; the state, written last, says so
        try:
            state.write(
                fingerprint,
                dist_info_names(site_packages),
                trees=sources.trees,
                deps=(_deps_key(spec), sorted(deps_names), _deps_digests(spec)),
                # the project's name, for a later run that does not build it (package = skip) to keep it by
                project=sorted({str(wanted.pick.name) for wanted in project} or spec.project_names),
            )
        except OSError as exc:
            # nothing changed in a venv this process may not write (a read-only image layer whose lock gained a
            # comment): it is in sync, only not recorded as such, so the next run plans again
            if plan.changes or deps_names or exc.errno not in _NOT_WRITABLE:
                raise
    return Outcome(plan=plan, seconds=time.perf_counter() - start, applied=bool(plan.changes), deps=bool(spec.deps))


def _apply(  # noqa: PLR0913  # the sync's parts it applies with
    spec: SyncSpec,
    plan: Plan,
    wheels: Mapping[str, Path],
    *,
    chosen: Installer,
    state: State,
    journal: Journal,
    key: str | None,
    cache: Cache,
) -> None:
    """Check and apply ``plan``; with a placement ``key``, remember what the placement did (see ``_replay``)."""
    from tox_venvsync._apply import checked  # noqa: PLC0415  # see the imports
    from tox_venvsync._link import LinkInstaller  # noqa: PLC0415

    # every wheel checked and every directory to remove from found writable, before the state goes: a
    # failure here leaves the venv as it was, recorded in sync with its lock
    apply = checked(plan, wheels, venv=spec.venv, installer=chosen)
    state.clear()
    # what each install places from, should it be cut off half way (see clear_half_placed)
    placing, building = chosen.placing(plan, wheels) if isinstance(chosen, LinkInstaller) else ({}, {})
    journal.start((step.name for step in plan.changes), placing, building)
    if key is not None and isinstance(chosen, LinkInstaller):
        from tox_venvsync._replay import Recorder, remember  # noqa: PLC0415

        chosen.recorder = recorder = Recorder()
        apply()
        remember(recorder.memo(key, spec.venv, cache, chosen.sources), cache, spec.venv)
    else:
        apply()
    if isinstance(chosen, LinkInstaller):
        chosen.remember_sources(spec.venv)  # the next command's bytecode reaches the cache


def _placement_key(  # noqa: PLR0913  # what the placement depends on
    spec: SyncSpec, target: Target, cache: Cache, plan: Plan, *, chosen: Installer, site_packages: list[Path]
) -> str | None:
    """The key of the placement of the cache's trees to remember or replay (``_replay``); ``None`` where there is none.

    That is a plan that only installs, by hard links, into a venv that holds no distribution and was not cut off
    half way (a warm create, ``tox -r``, a venv deleted by hand). The key is of its installs from the cache's
    trees; the others (the project's wheel, built on every run) are installed after them as usual.
    """
    from tox_venvsync._apply import _metadata  # noqa: PLC0415  # see the imports
    from tox_venvsync._journal import Journal  # noqa: PLC0415
    from tox_venvsync._link import LinkInstaller  # noqa: PLC0415
    from tox_venvsync._plan import Action  # noqa: PLC0415

    if not isinstance(chosen, LinkInstaller) or not chosen.links:
        return None
    if any(step.action is not Action.INSTALL or step.wanted is None for step in plan.steps) or not plan.steps:
        return None
    roots = chosen.tree_roots(plan)
    if not roots or dist_info_names(site_packages) or Journal(spec.venv).pending():
        return None
    from tox_venvsync._replay import placement_key  # noqa: PLC0415

    # a requirements pin's Requires-Python is checked against the tree (see LinkInstaller._fits), a lock's is not
    installs = [
        (
            str(step.name),
            f"{step.version}:{step.wanted.pick.lookup is not None}",
            roots[step.name],
            _metadata_bytes(_metadata(step.wanted)),
        )
        for step in plan.steps
        if step.wanted is not None and step.name in roots
    ]
    # the installer's tag: none where it links no bytecode, so a memo that linked some is not replayed there
    return placement_key(target, cache, spec.venv, installs, chosen.tag)


def _metadata_bytes(metadata: Mapping[str, bytes]) -> bytes:
    """The files written beside a ``.dist-info``, as one string of bytes (for the placement key)."""
    return b"".join(name.encode() + b"\0" + data + b"\0" for name, data in sorted(metadata.items()))


def _replayed(  # noqa: PLR0913  # the sync's parts it replays with
    spec: SyncSpec,
    key: str,
    cache: Cache,
    plan: Plan,
    wheels: Mapping[str, Path],
    *,
    chosen: Installer,
    state: State,
    journal: Journal,
) -> bool:
    """Whether the remembered placement for ``key`` was made again, and the rest of ``plan`` installed after it.

    ``False``: no memo for the key, or its replay undid itself; nothing of it is left, and the state is cleared.
    The installs the memo does not hold (the project's wheel) are checked first and installed after the trees,
    as :meth:`LinkInstaller.install_all` orders them when it records (see ``Recorder``).
    """
    from tox_venvsync._apply import checked  # noqa: PLC0415  # see the imports
    from tox_venvsync._bytecode import remember_sources  # noqa: PLC0415
    from tox_venvsync._link import LinkInstaller  # noqa: PLC0415
    from tox_venvsync._replay import found  # noqa: PLC0415

    if (replay := found(cache, spec.venv, key)) is None or not isinstance(chosen, LinkInstaller):
        return False
    trees = chosen.tree_roots(plan)
    rest = replace(plan, steps=tuple(step for step in plan.steps if step.name not in trees))
    apply_rest = checked(rest, wheels, venv=spec.venv, installer=chosen)  # before anything changes, as a sync does
    state.clear()
    # the same journal as a placement's: a replay cut off leaves its trees' files without their RECORDs
    journal.start((step.name for step in plan.changes), *chosen.placing(plan, wheels))
    if not replay.run():
        return False
    if chosen.tag is not None and replay.sources:
        remember_sources(spec.venv, chosen.tag, replay.sources)
    apply_rest()
    return True


def _fetched(
    spec: SyncSpec, target: Target, plan: Plan, sources: Sources, fetcher: Fetcher | None
) -> tuple[Plan, Mapping[str, Path]]:
    """The plan with every requirements pin's file found, and the file of each install: verified, unpacked, built.

    A requirements lock, and a ``pylock.toml`` of one Python, is checked whole for the interpreter
    (:func:`tox_venvsync._complete.check_complete`), as pip checks one in hash-checking mode; the other formats
    record each package's dependencies, or the Pythons they were locked for.
    """
    indexes = functools.cache(lambda: project_indexes(spec))  # read when a request is to be made
    with _naming_the_lock(spec.lock_path):
        plan = sources.resolve(plan, offline=spec.offline, indexes=indexes)
    # a plan that only removes (a package installed by hand) has no file to fetch, unpack or build: nor their modules
    wheels = _wheels(spec, plan, sources, fetcher, indexes) if plan.to_install else {}
    if (lock_format := spec.lock_format or _format_of(spec.lock_path)) == "requirements" or (
        lock_format == "pylock" and _of_one_python(spec.lock_path)
    ):
        from tox_venvsync._complete import check_complete  # noqa: PLC0415  # see the imports

        # --frozen takes the lock as it is: the project's needs are not held against it (as the stale check is not)
        frozen = spec.project_names if spec.request.frozen else frozenset()
        check_complete(spec.lock_path, target, plan, wheels, lock_format=lock_format, not_followed=frozen)
    return plan, wheels


def _wheels(
    spec: SyncSpec, plan: Plan, sources: Sources, fetcher: Fetcher | None, indexes: Callable[[], ProjectIndexes]
) -> Mapping[str, Path]:
    """The file of each install of ``plan``: fetched (each wheel unpacked as it arrives), verified, built."""
    unpacking = _UnpackAhead(sources.cache)
    try:
        if fetcher is None:
            from tox_venvsync._fetch import CacheFetcher, terminal  # noqa: PLC0415  # see the imports

            progress = terminal()
            fetcher = CacheFetcher(
                sources.cache,
                offline=spec.offline,
                progress=progress,
                on_fetched=unpacking.submit,
                environ=spec.environ,
                indexes=indexes,
            )
        with _naming_the_lock(spec.lock_path):
            return sources.wheels(plan, fetcher)
    finally:
        unpacking.close()


def _of_one_python(pylock: Path) -> bool:
    """Whether a ``pylock.toml`` names neither ``requires-python`` nor ``environments``: a lock of one Python.

    ``pip lock`` writes such a lock for the Python it runs on; synced on another, it lacked what a package needs
    there (pytest's ``exceptiongroup`` below 3.11) or held a release that no longer supports it, and the sync
    succeeded while the first command failed. (Read as the fingerprint read it, see :func:`_pinned`.)
    """
    document = _pylock_keys(pylock)
    return "requires-python" not in document and "environments" not in document


def project_indexes(spec: SyncSpec) -> ProjectIndexes:
    """The indexes the project's tool names (a ``pdm.lock``'s sources) and their logins, for the fetch."""
    from tox_venvsync._indexes import configured_index, read_project_indexes  # noqa: PLC0415  # a sync with work

    environ = os.environ if spec.environ is None else spec.environ
    lock_format = spec.lock_format or _format_of(spec.lock_path)
    return read_project_indexes(spec.lock_path, lock_format, environ, configured_index(environ))


#: what writing into a venv raises where it may be read only
_NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class _CollectorPause:
    """Python's cyclic garbage collector off while any sync in this process works; as it was once none does.

    A sync builds thousands of short-lived objects (the lock's model, manifests, plan) that reference
    counting frees; the collector's passes over them cost a bump in tox 4-6 ms and a new venv 7-8 ms.
    Syncs may overlap (tox runs environments in threads): the first to start pauses, the last to end restores.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._was_enabled:
                    gc.enable()


collector_paused = _CollectorPause()


class _UnpackAhead:
    """Unpack each downloaded wheel into the cache while the others download (the check later finds it there).

    The biggest waiting wheel goes first, so the threads finish together: downloads end long before the
    unpacking does, and a large wheel taken last (numpy: a quarter of the benchmark's files) kept one
    thread busy alone for up to a second. A wheel unpacked while no other is waiting or being unpacked
    (a bump's one wheel) is split between the threads. Only a head start: a wheel that fails to unpack
    here fails again, with its error, when it is checked.
    """

    def __init__(self, cache: Cache) -> None:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415  # see the imports

        from tox_venvsync._apply import UNPACK_WORKERS  # noqa: PLC0415

        self._cache = cache
        self._threads = UNPACK_WORKERS
        self._pool = ThreadPoolExecutor(max_workers=UNPACK_WORKERS, thread_name_prefix="venvsync-unpack")
        self._busy = 0  # wheels being unpacked
        self._waiting: list[tuple[int, int, Pick, Path, tuple[str, str]]] = []  # a heap, the biggest first
        self._lock = threading.Lock()
        self._order = itertools.count()  # equal sizes: the first downloaded first

    def close(self) -> None:
        """Wait for the unpacking started (an error or Ctrl-C in the fetch cancels what has not started)."""
        self._pool.shutdown(wait=True, cancel_futures=sys.exc_info()[0] is not None)

    def submit(self, pick: Pick, path: Path) -> None:
        hashed = pick.artifact.strongest_hash if pick.artifact is not None else None
        if pick.kind == "wheel" and hashed is not None and path.name.endswith(".whl"):
            with self._lock:
                heapq.heappush(self._waiting, (-_size(path), next(self._order), pick, path, hashed))
            self._pool.submit(self._unpack_biggest)  # one task per wheel; each takes the biggest one waiting

    def _unpack_biggest(self) -> None:
        from tox_venvsync._unpacked import unpacked  # noqa: PLC0415  # see the imports

        with self._lock:
            _, _, pick, path, hashed = heapq.heappop(self._waiting)
            alone = not self._waiting and not self._busy  # the other threads idle: they share this wheel
            self._busy += 1
        try:
            with contextlib.suppress(Exception):  # the check reports it
                unpacked(self._cache, path, *hashed, pick.name, threads=self._threads if alone else 1)
        finally:
            with self._lock:
                self._busy -= 1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # unpacked in its turn; the check reports what is wrong with it


def _deps_lines(spec: SyncSpec) -> list[str]:
    return [*spec.deps, *(["", *spec.deps_content] if spec.deps_content else [])]  # the bare lines keep their key


def _deps_key(spec: SyncSpec) -> str:
    return hashlib.sha256("\n".join(_deps_lines(spec)).encode()).hexdigest()


def _deps_digests(spec: SyncSpec) -> list[str]:
    """A digest of each line of the deps (a line may hold a login: never kept as it is), to tell one added."""
    return sorted({hashlib.sha256(line.encode()).hexdigest() for line in _deps_lines(spec)})


def _install_deps(spec: SyncSpec, target: Target, plan: Plan, site_packages: list[Path]) -> set[str]:
    """Install tox's deps on top of the lock; the names of what they added (kept while the deps stay)."""
    if not spec.deps:
        return set()
    from tox_venvsync._deps import install_deps  # noqa: PLC0415  # see the imports
    from tox_venvsync._installed import scan  # noqa: PLC0415
    from tox_venvsync._plan import SEED_PACKAGES  # noqa: PLC0415

    locked = {str(step.name): str(step.version) for step in plan.steps if step.wanted is not None and step.version}
    cwd = spec.deps_dir or spec.lock_path.parent
    python = Path(target.executable)
    version = target.markers["python_version"]
    install_deps(
        python,
        spec.deps,
        locked,
        cwd=cwd,
        environ=spec.environ,
        version=version,
        offline=spec.offline,
        lock=spec.lock_path,
    )
    wanted = {step.name for step in plan.steps if step.wanted is not None}
    return {str(name) for name in scan(site_packages) if name not in wanted and name not in SEED_PACKAGES}


#: the settings that tell uv and pip to ask a keyring, and the values uv and pip take (their ``--keyring-provider``)
_PROVIDER_VALUES = {
    "UV_KEYRING_PROVIDER": ("disabled", "subprocess"),
    "PIP_KEYRING_PROVIDER": ("auto", "disabled", "import", "subprocess"),
}


def check_keyring_providers(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a keyring provider uv or pip does not know, in ``environ`` (the sync's; ``None``: this process's).

    Read by the downloads (``_session``), which ask the keyring command for any other value than ``disabled``.

    uv and pip refuse such a value before they do anything; taken for "ask the keyring", a mistyped ``disabled``
    (``disable``) had the command asked for every index's login. Empty is unset, as for uv. Case and surrounding
    spaces do not matter, as for this project's own settings.
    """
    environ = os.environ if environ is None else environ
    for variable, accepted in _PROVIDER_VALUES.items():
        value = environ.get(variable, "").strip()
        if value and value.lower() not in accepted:
            tool = variable.partition("_")[0].lower()
            either = f"{', '.join(accepted[:-1])} or {accepted[-1]}"
            msg = f"{variable}={value!r} is not one of {tool}'s keyring providers; set it to {either}, or unset it"
            raise BadInputError(msg)


def link_mode() -> bool:
    """Whether to hard-link from the cache, as ``TOX_VENVSYNC_LINK_MODE`` says (unset: yes).

    A value that is neither ``hardlink`` nor one of :data:`COPY_MODES` is refused: a typo for ``copy``
    that quietly hard-linked would let an edit of an installed file change the cache's copy.
    """
    value = os.environ.get(LINK_MODE_ENV, "").strip().lower()
    if value in {"", "hardlink"}:
        return True
    if value in COPY_MODES:
        return False
    raw = os.environ[LINK_MODE_ENV]
    reason = f"{LINK_MODE_ENV}={raw!r} is not a link mode: "
    reason += "set it to hardlink (the default) or copy (clone and reflink mean copy)"
    raise BadInputError(reason)


def make_sync_plan(  # noqa: PLR0913  # the plan's inputs, keyword-only
    spec: SyncSpec,
    target: Target,
    *,
    project: Sequence[Wanted] = (),
    suspect: frozenset[str] = frozenset(),
    sources: Sources,
    keep: frozenset[str] = frozenset(),
    write: bool = True,
    ahead: LockAhead | None = None,
    refuse_missing: bool = False,
) -> Plan:
    """Read the lock, select for ``target`` and compare with the venv: the plan a sync would apply.

    Source trees in the lock are built here (their contents decide whether they changed). ``write``
    false leaves the cache's memo of parsed lockfiles as it is (a dry run writes nothing). ``ahead``
    holds the lock if it was read already (see :class:`LockAhead`). ``refuse_missing``: offline, the files
    the cache lacks are told before any tree is built (see :func:`_refuse_missing`).
    """
    from tox_venvsync._installed import scan  # noqa: PLC0415  # see the imports
    from tox_venvsync._plan import make_plan  # noqa: PLC0415

    picks = _selected(spec, target, sources, write=write, ahead=ahead)
    # only_groups, or --package naming only other workspace members: the project's dependencies are not asked
    other_members = bool(spec.request.packages) and not spec.request.packages & spec.project_names
    metadata = {wheel: _project_metadata(wheel.path) for wheel in spec.project}
    for headers in metadata.values():  # also with --frozen or only_groups: the project itself does not fit then
        _check_project_python(headers, target)
    if not spec.request.frozen and not spec.request.only_groups and not other_members:
        _check_fresh(spec, target, picks, metadata)
    built = {w.pick.name for w in project}
    installed = scan(_site_packages(target))
    # a source tree unchanged since it was built and installed here is not built again (unless it must be reinstalled)
    reuse = {name: dists[0] for name, dists in installed.items() if len(dists) == 1 and name not in suspect}
    if refuse_missing:
        others = [pick for pick in picks if pick.name not in built]
        _refuse_missing(spec, sources, others, installed=installed, reuse=reuse, suspect=suspect)
    wanted = [*project, *(sources.wanted(pick, reuse.get(pick.name)) for pick in picks if pick.name not in built)]
    # the project is tox's to install: when it is not built (package = skip, a dry run), what is there stays
    keep = keep | (frozenset() if project else spec.project_names)
    return make_plan(wanted, installed, suspect=suspect, exact=spec.exact, keep=keep)


def _selected(spec: SyncSpec, target: Target, sources: Sources, *, write: bool, ahead: LockAhead | None) -> list[Pick]:
    """What the lock selects for ``target`` that the sync installs: not the project's entry when tox builds it."""
    from tox_venvsync._lock._memo import remembered_selection  # noqa: PLC0415  # see the imports

    def select() -> Sequence[Pick]:  # only when the selection is not remembered: no TOML parser loaded before
        from tox_venvsync._lock import read_lock  # noqa: PLC0415
        from tox_venvsync._lock._toml import memo_dir  # noqa: PLC0415

        lock = ahead.lock() if ahead is not None else None
        if lock is None:
            with memo_dir(sources.cache.root / "toml", write=write):
                lock = read_lock(spec.lock_path, spec.lock_format, paths_from=spec.paths_from)
        return lock.select(target, spec.request)

    selected = remembered_selection(
        sources.cache.root / "selections",
        lock=spec.lock_path,
        lock_format=spec.lock_format or _format_of(spec.lock_path),
        request=spec.request,
        target=target,
        select=select,
        write=write,
    )
    picks = [pick for pick in selected if pick.name not in spec.project_names]
    if spec.request.no_editable:  # uv sync --no-editable: the lock's editable trees become regular installs
        picks = [_not_editable(pick) for pick in picks]
    return picks


def refuse_missing_offline(
    spec: SyncSpec, target: Target, cache: Cache, *, ahead: LockAhead | None = None, building: Sequence[str] = ()
) -> None:
    """Offline: refuse, before the project is built here (tox's ``package = sdist``), when the cache lacks a file.

    ``building``: what that build needs (``the project from <sdist> needs ...``), told beside the files missing.
    The sync checks again, before the lock's own source trees are built (:func:`_refuse_missing`).
    """
    from tox_venvsync._installed import scan  # noqa: PLC0415  # see the imports
    from tox_venvsync._journal import Journal  # noqa: PLC0415
    from tox_venvsync._sources import Sources  # noqa: PLC0415

    sources = Sources(cache, target, cache.tmp_dir(), environ=spec.environ, offline=True)  # it builds nothing
    picks = _selected(spec, target, sources, write=True, ahead=ahead)
    installed = scan(_site_packages(target))
    suspect = Journal(spec.venv).pending()
    reuse = {name: dists[0] for name, dists in installed.items() if len(dists) == 1 and name not in suspect}
    leave_out = "leave the project out with package = skip" if building else ""
    _refuse_missing(
        spec, sources, picks, installed=installed, reuse=reuse, suspect=suspect, building=building, leave_out=leave_out
    )


def _refuse_missing(  # noqa: PLR0913  # what the plan knows when it starts to build
    spec: SyncSpec,
    sources: Sources,
    picks: Sequence[Pick],
    *,
    installed: Mapping[NormalizedName, Sequence[InstalledDist]],
    reuse: Mapping[NormalizedName, InstalledDist],
    suspect: frozenset[str],
    building: Sequence[str] = (),
    leave_out: str = "",
) -> None:
    """Offline: refuse, before any source tree is built, when the cache lacks a file the sync would install.

    The plan builds the lock's source trees (the project's own entry of a ``uv.lock`` or of ``pip lock .``'s
    ``pylock.toml``) to compare their contents, and offline such a build failed on its build backend, which pip
    cannot fetch then, where every file missing was to be told (as for a lock without the project). What the
    sync installs apart from the trees is planned here (no build needed for it), its missing files listed, and
    each tree that would be built named with its build requirements, read from its ``pyproject.toml``.
    """
    from tox_venvsync._errors import OfflineError  # noqa: PLC0415  # see the imports
    from tox_venvsync._plan import make_plan  # noqa: PLC0415

    others = [sources.wanted(pick) for pick in picks if pick.directory is None]  # no build for these
    installing = make_plan(others, installed, suspect=suspect, exact=False).to_install
    missing = sources.offline_missing([step.wanted.pick for step in installing if step.wanted is not None])
    if not missing:  # a build's requirements may come from pip's find-links: the build tells if they do not
        return
    trees = [pick for pick in picks if sources.builds_tree(pick, reuse.get(pick.name))]
    needs = [
        need
        for pick in trees
        if pick.directory is not None
        and (need := build_needs(spec, f"{pick.name} from {pick.directory.tree}", pick.directory.tree)) is not None
    ]
    root = spec.lock_path.absolute().parent
    if any(p.directory is not None and p.directory.tree.absolute() == root for p in trees):
        leave_out = leave_out or "leave the project out with --no-install-project"
    raise OfflineError(missing, builds=[*building, *needs], leave_out=leave_out)


def build_needs(spec: SyncSpec, what: str, tree: Path | None) -> str | None:
    """``<what> needs its build requirements hatchling``: what building ``tree`` installs first, read without building.

    ``None`` when it needs nothing installed (an in-tree backend). ``tree`` ``None``: not known (an sdist given).
    """
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  # see the imports
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    from tox_venvsync._build import build_requires  # noqa: PLC0415
    from tox_venvsync._lock import build_constraints  # noqa: PLC0415

    requires = build_requires(tree) if tree is not None else None
    if requires == []:  # an in-tree backend that needs nothing installed
        return None
    if requires is None:
        return f"{what} needs its build backend and its requirements"
    held: dict[str, list[str]] = {}
    try:  # a uv.lock's build constraints pin what the build installs (as uv builds under them)
        for line in build_constraints(spec.lock_path, spec.lock_format):
            held.setdefault(canonicalize_name(Requirement(line).name), []).append(line)
    except (VenvSyncError, InvalidRequirement, OSError):  # told where the build reads them
        held = {}

    def shown(line: str) -> str:
        try:
            pins = held.get(canonicalize_name(Requirement(line).name), [])
        except InvalidRequirement:
            return line
        return f"{line} (held to {' and '.join(pins)})" if pins else line

    return f"{what} needs its build requirements {', '.join(shown(line) for line in requires)}"


def _not_editable(pick: Pick) -> Pick:
    if pick.directory is None or not pick.directory.editable:
        return pick
    return replace(pick, directory=replace(pick.directory, editable=False))


#: how to refresh each lock format, for the stale-lock message
_RELOCK = {
    "uv": "uv lock",
    "pdm": "pdm lock",
    "poetry": "poetry lock",
    "pylock": "write it again: uv export --format pylock.toml, pdm export -f pylock or pip lock",
    "requirements": "compile it again (pip-compile --generate-hashes, uv export)",
}

#: the command that writes a pylock.toml again, by the tool its ``created-by`` names
_REWRITE_PYLOCK = {"pip": "pip lock", "uv": "uv export --format pylock.toml", "pdm": "pdm export -f pylock"}


def _check_fresh(spec: SyncSpec, target: Target, picks: Sequence[Pick], metadata: Mapping[LocalWheel, Message]) -> None:
    """The project's own requirements must be met by the lock; else the lock is stale (it never is silently).

    ``metadata``: the headers of each project wheel, whose ``Requires-Python`` admits the interpreter (checked first:
    a lock made for the project's Pythons lacks what others need, and is not stale).
    """
    if not metadata:  # no project wheel (package = skip, a virtual project, the command line): nothing to hold
        return  # against the lock, and packaging's requirement parser (20-60 ms to import) is not loaded for it
    from packaging.utils import canonicalize_name  # noqa: PLC0415  # see the imports

    from tox_venvsync._complete import applies  # noqa: PLC0415

    versions = {pick.name: pick.version for pick in picks}
    for wheel, headers in metadata.items():
        for requirement in _requires_dist(wheel.path, headers):
            if not applies(requirement, target, spec.request.extras):
                continue
            name = canonicalize_name(requirement.name)
            if name in versions:
                have = versions[name]
                if have is None or requirement.specifier.contains(have, prereleases=True):
                    continue
                found = f"has {name} {have}"
            elif wheel.editable and (pyproject := _added_to_editables(wheel, name)) is not None:
                raise SelectionError(spec.lock_path, _editable_needs(requirement, pyproject, _relock(spec)))
            else:
                found = "does not have it"
            msg = (
                f"the lock is stale: the project needs {requirement} but the lock {found}; refresh it ({_relock(spec)})"
            )
            raise SelectionError(spec.lock_path, msg)


def _added_to_editables(wheel: LocalWheel, name: str) -> Path | None:
    """The project's ``pyproject.toml``, when ``name`` is a requirement its backend added to the editable wheel alone.

    hatchling's ``dev-mode-exact`` makes the editable wheel need ``editables``, which the project's dependencies do
    not name, so no lock has it: relocking, as the stale-lock sentence says, changes nothing. ``None`` when the
    project's dependencies are not all written in its ``[project]`` table (dynamic), or name it.
    """
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  # see the imports
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    from tox_venvsync._lock._toml import read_toml  # noqa: PLC0415

    pyproject = (wheel.source or wheel.path.parent) / "pyproject.toml"
    try:
        project = read_toml(pyproject)[1].get("project")
    except (VenvSyncError, OSError):
        return None
    if not isinstance(project, dict):
        return None
    try:
        if {"dependencies", "optional-dependencies"} & set(project.get("dynamic", [])):
            return None
        extras = project.get("optional-dependencies", {})
        lines = [*project.get("dependencies", []), *(line for group in extras.values() for line in group)]
        declared = {canonicalize_name(Requirement(line).name) for line in lines}
    except (InvalidRequirement, TypeError, AttributeError):  # not a table as the spec has it: the build judged it
        return None
    return None if name in declared else pyproject


def _editable_needs(requirement: Requirement, pyproject: Path, relock: str) -> str:
    return (
        f"the project's editable wheel needs {requirement}, which its build backend adds to editable installs (the "
        f"dependencies in {pyproject} do not name it), and the lock does not have it; name it in a dependency group "
        f"this environment selects and lock again ({relock}), or set package = wheel"
    )


def _relock(spec: SyncSpec) -> str:
    """How to refresh the lock: its format's command, for a ``pylock.toml`` the one of the tool that wrote it."""
    lock_format = spec.lock_format or _format_of(spec.lock_path)
    if lock_format == "pylock" and (command := _REWRITE_PYLOCK.get(_created_by(spec.lock_path))):
        return command
    return _RELOCK.get(lock_format, "lock again")


def _created_by(path: Path) -> str:
    """The tool a ``pylock.toml`` names as its writer (``pip``), lower-case; empty when it names none."""
    created_by = _pylock_keys(path).get("created-by")
    return created_by.strip().lower() if isinstance(created_by, str) else ""


def _pylock_keys(path: Path) -> Mapping[str, Any]:
    """A ``pylock.toml``'s keys, for what the sync says or checks beyond the selection; empty when it cannot be read.

    Asked after the reader read the same bytes (the sync pins them), so a failure here is a file that changed since:
    the stale-lock message names every tool then, and the completeness check is made.
    """
    from tox_venvsync._lock._toml import read_toml  # noqa: PLC0415  # see the imports

    try:
        return read_toml(path)[1]
    except (VenvSyncError, OSError):
        return {}


def _check_project_python(metadata: Message, target: Target) -> None:
    """The project's ``Requires-Python`` must admit the interpreter, as pip and uv refuse to install it otherwise.

    Checked before the lock is compared with the project's requirements: a lock made for the project's
    Pythons (a requirements file has no ``requires-python`` of its own) lacks what an older Python would
    need, and calling it stale would send the user to re-lock for nothing.
    """
    from tox_venvsync._apply import excludes  # noqa: PLC0415  # see the imports

    value = metadata.get("Requires-Python")
    if excludes(value, target):
        msg = (
            f"the project {metadata.get('Name')} requires Python {value} (its Requires-Python) and the interpreter "
            f"{target.executable} is Python {target.python_release}; use a Python the project supports for this "
            "environment"
        )
        raise BadInputError(msg)


def _requires_dist(wheel: Path, metadata: Message) -> list[Requirement]:
    """The ``Requires-Dist`` of a built wheel (its ``metadata``): what the project declares it needs."""
    from tox_venvsync._complete import requires_dist  # noqa: PLC0415  # see the imports

    return requires_dist(metadata, f"the project wheel {wheel} has unreadable metadata ({{exc}}); rebuild it")


def _project_metadata(wheel: Path) -> Message:
    """The headers of a built wheel's ``METADATA`` (none without one)."""
    import zipfile  # noqa: PLC0415  # see the imports
    from email.message import Message  # noqa: PLC0415

    from tox_venvsync._complete import wheel_metadata  # noqa: PLC0415

    try:
        found = wheel_metadata(wheel)
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        msg = f"the project wheel {wheel} has unreadable metadata ({exc}); rebuild it"
        raise BadInputError(msg) from exc
    return found if found is not None else Message()


def _project_file(lock: Path, lock_format: str | None) -> Path:
    """The lock's project's ``pyproject.toml`` (``_lock._file.project_file``); the format told only when needed."""
    beside = lock.parent / "pyproject.toml"
    if beside.is_file():  # every lock but a pdm.lock kept elsewhere: the no-op path tells no format
        return beside
    from tox_venvsync._lock._file import project_file  # noqa: PLC0415  # see the imports

    return project_file(lock, lock_format or _format_of(lock))


def _format_of(path: Path) -> str:
    from tox_venvsync._lock import detect_format  # noqa: PLC0415  # see the imports

    try:
        return detect_format(path)
    except BadInputError:
        return ""


def _pinned(spec: SyncSpec, inputs: Inputs) -> contextlib.AbstractContextManager[None]:
    """The lock's files read as the fingerprint read them: the lock (if a file) and the pyproject.toml beside it."""
    from tox_venvsync._lock._file import pinned  # noqa: PLC0415  # see the imports

    files = {spec.lock_path: inputs.lock_bytes} if inputs.lock_bytes or _empty_file(spec.lock_path) else {}
    if inputs.project_bytes is not None:
        files[_project_file(spec.lock_path, spec.lock_format)] = inputs.project_bytes
    return pinned(files)


def _empty_file(path: Path) -> bool:
    """Whether ``path`` is a regular file that reads as empty: a lock the fingerprint read no bytes of.

    One that cannot be read (its permissions) is not pinned as empty: the reader reads it again and says why it
    cannot, where pinning it took it for an empty lock (``at lock-version: Missing required value``).
    """
    try:
        return path.is_file() and not path.read_bytes()
    except OSError:
        return False


def _inputs(spec: SyncSpec, target: Target, contents: dict[Path, str]) -> Inputs:
    try:
        # a device or a pipe would be read for ever: read_lock reports it, and every other problem, by the file's name
        lock_bytes = spec.lock_path.read_bytes() if spec.lock_path.is_file() else b""
    except OSError:
        lock_bytes = b""
    from tox_venvsync._lock._file import file_bytes, member_digests  # noqa: PLC0415  # loaded with the request's

    # a uv workspace's members' pyproject.toml files: uv sync --locked compares them with the lock too
    members = member_digests(spec.lock_path, lock_bytes) if _is_uv(spec) else []
    return Inputs(
        lock_bytes=lock_bytes,
        project_bytes=file_bytes(_project_file(spec.lock_path, spec.lock_format)),
        lock_path=str(spec.lock_path.absolute()),  # one fingerprint, however the lock was named
        lock_format=spec.lock_format or "",
        request=spec.request,
        target=target,
        extra=[
            # where the project comes from too: a wheel given to --installpkg is recorded as that file, not the tree
            *(f"{w.path.name}={contents[w.path]}:{w.editable}:{w.source or w.sdist or w.path}" for w in spec.project),
            *sorted(spec.project_names),
            *(f"deps:{dep}" for dep in spec.deps),
            *(f"deps-content:{line}" for line in spec.deps_content),
            *(f"member:{digest}" for digest in members),
            *(f"beside:{other}" for other in spec.beside),
        ],
        exact=spec.exact,
        paths_from=_paths_from(spec),
    )


def _is_uv(spec: SyncSpec) -> bool:
    return (spec.lock_format or _format_of(spec.lock_path)) == "uv"


def _paths_from(spec: SyncSpec) -> str | None:
    """Where a requirements file's relative paths start, for the fingerprint: ``None`` when at the lock's directory."""
    if spec.paths_from is None or (spec.lock_format or _format_of(spec.lock_path)) != "requirements":
        return None
    return None if spec.paths_from == spec.lock_path.absolute().parent else str(spec.paths_from)


def _site_packages(target: Target) -> list[Path]:
    return [Path(target.scheme["purelib"]), Path(target.scheme["platlib"])]


def content_key(wheel: Path) -> str:
    """A digest of the wheel's RECORD: the same for a rebuild with the same files, whatever the timestamps."""
    import zipfile  # noqa: PLC0415  # see the imports

    try:
        with zipfile.ZipFile(wheel) as archive:
            record = next((n for n in archive.namelist() if n.endswith(".dist-info/RECORD")), None)
            data = archive.read(record) if record else b""
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"the project wheel {wheel} cannot be read ({exc}); rebuild it"
        raise BadInputError(msg) from exc
    return hashlib.sha256(data).hexdigest()
