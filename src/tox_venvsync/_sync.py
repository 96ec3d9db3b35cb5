"""The sync pipeline: Lock -> Selection -> Installed -> Plan -> Fetch -> Apply -> State, for any front end."""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from tox_venvsync._errors import BadInputError, SelectionError
from tox_venvsync._installed import dist_info_names
from tox_venvsync._lock._model import Artifact, Pick, Request
from tox_venvsync._state import Inputs, State

# The no-op path (fingerprint + one listing) needs only the modules above. Reading the lock, planning,
# fetching and installing import their modules when a sync has work to do, so a tox run of an env that
# is in sync does not pay for them: see _slow_path().

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tox_venvsync._apply import Installer
    from tox_venvsync._cache import Cache
    from tox_venvsync._fetch import Fetcher
    from tox_venvsync._plan import Plan, Wanted
    from tox_venvsync._target import Target


#: ``hardlink`` (default) or ``copy``: how installed files come out of the cache
LINK_MODE_ENV = "TOX_VENVSYNC_LINK_MODE"


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalWheel:
    """A wheel built outside the lock (the project itself), installed without its dependencies."""

    path: Path
    editable: bool = False
    #: the project directory, recorded as the source of an editable install
    source: Path | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncSpec:
    """What to sync: the venv, the lock, the request and the project's wheels."""

    venv: Path
    lock_path: Path
    lock_format: str | None = None
    request: Request = field(default_factory=Request)
    project: Sequence[LocalWheel] = ()
    #: names the lock may hold for the project itself; tox's ``package`` decides how (and whether) it is installed
    project_names: frozenset[str] = frozenset()
    exact: bool = True
    offline: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What a sync did; ``plan`` is ``None`` when the state said the venv was already in sync."""

    plan: Plan | None
    seconds: float
    applied: bool


def sync(  # noqa: PLR0913  # the pipeline's seams, all keyword-only
    spec: SyncSpec,
    target: Target,
    *,
    cache: Cache,
    fetcher: Fetcher | None = None,
    installer: Installer | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Make the venv equal what the lock selects for ``target`` (the caller holds :func:`env_lock`)."""
    start = time.perf_counter()
    contents = {wheel.path: _content_key(wheel.path) for wheel in spec.project}
    site_packages = _site_packages(target)
    state = State(spec.venv)
    fingerprint = _inputs(spec, target, contents).fingerprint()
    if not dry_run and state.is_current(fingerprint, dist_info_names(site_packages)):
        return Outcome(plan=None, seconds=time.perf_counter() - start, applied=False)
    from tox_venvsync._apply import Journal, LinkInstaller, apply  # noqa: PLC0415  # see the imports
    from tox_venvsync._fetch import CacheFetcher  # noqa: PLC0415

    journal = Journal(spec.venv)
    project = [_project_wanted(wheel, contents[wheel.path]) for wheel in spec.project]
    plan = make_sync_plan(spec, target, project=project, suspect=journal.pending())
    if dry_run:
        return Outcome(plan=plan, seconds=time.perf_counter() - start, applied=False)
    if plan.changes:
        to_fetch = [s.wanted.pick for s in plan.to_install if s.wanted is not None and s.wanted.content is None]
        fetcher = fetcher or CacheFetcher(cache, offline=spec.offline)
        wheels = fetcher.fetch(to_fetch)  # every file verified before any change
        wheels.update({w.pick.name: _local_path(w) for w in project})
        state.clear()
        journal.start(step.name for step in plan.changes)
        apply(plan, wheels, venv=spec.venv, installer=installer or LinkInstaller(target, cache, link=_link_mode()))
    state.write(fingerprint, dist_info_names(site_packages))
    journal.finish()
    return Outcome(plan=plan, seconds=time.perf_counter() - start, applied=bool(plan.changes))


def _link_mode() -> bool:
    """Hard-link from the cache unless ``TOX_VENVSYNC_LINK_MODE=copy``."""
    return os.environ.get(LINK_MODE_ENV, "hardlink").strip().lower() != "copy"


def make_sync_plan(
    spec: SyncSpec,
    target: Target,
    *,
    project: Sequence[Wanted] = (),
    suspect: frozenset[str] = frozenset(),
) -> Plan:
    """Read the lock, select for ``target`` and compare with the venv: the plan a sync would apply."""
    from tox_venvsync._installed import scan  # noqa: PLC0415  # see the imports
    from tox_venvsync._lock import read_lock  # noqa: PLC0415
    from tox_venvsync._plan import make_plan  # noqa: PLC0415

    lock = read_lock(spec.lock_path, spec.lock_format)
    picks = [pick for pick in lock.select(target, spec.request) if pick.name not in spec.project_names]
    wanted = _wanted(picks, project, spec.lock_path)
    return make_plan(wanted, scan(_site_packages(target)), suspect=suspect, exact=spec.exact)


def _inputs(spec: SyncSpec, target: Target, contents: dict[Path, str]) -> Inputs:
    try:
        lock_bytes = spec.lock_path.read_bytes()
    except OSError:
        lock_bytes = b""  # read_lock reports the problem with the file's name
    return Inputs(
        lock_bytes=lock_bytes,
        lock_path=str(spec.lock_path),
        lock_format=spec.lock_format or "",
        request=spec.request,
        target=target,
        extra=[f"{w.path.name}={contents[w.path]}:{w.editable}" for w in spec.project] + sorted(spec.project_names),
        exact=spec.exact,
    )


def _site_packages(target: Target) -> list[Path]:
    return [Path(target.scheme["purelib"]), Path(target.scheme["platlib"])]


def _wanted(picks: Sequence[Pick], project: Sequence[Wanted], lock_path: Path) -> list[Wanted]:
    """The lock's picks as installs; the project's own wheel replaces the lock's entry for it."""
    from tox_venvsync._plan import Wanted  # noqa: PLC0415  # see the imports

    built = {w.pick.name for w in project}
    wanted = list(project)
    for pick in picks:
        if pick.name in built:
            continue
        if pick.kind != "wheel" or pick.artifact is None:
            reason = (
                f"{pick.name} at {pick.context} is locked as a {pick.kind}, and this version of tox-venvsync "
                "installs only wheels; lock a version of it that has a wheel for this interpreter"
            )
            raise SelectionError(lock_path, reason)
        direct = pick.artifact.path.as_uri() if pick.artifact.path is not None else None
        wanted.append(Wanted(pick=pick, direct_url=direct))
    return wanted


def _project_wanted(wheel: LocalWheel, content: str) -> Wanted:
    from tox_venvsync._plan import Wanted  # noqa: PLC0415  # see the imports

    try:
        name, version, _, _ = parse_wheel_filename(wheel.path.name)
    except InvalidWheelFilename as exc:
        msg = f"the project was built as {wheel.path}, which is not a wheel; use package = wheel or editable"
        raise BadInputError(msg) from exc
    digest = hashlib.sha256(wheel.path.read_bytes()).hexdigest()
    pick = Pick(
        name=name,
        version=version,
        kind="wheel",
        artifact=Artifact(filename=wheel.path.name, url=None, path=wheel.path, size=None, hashes={"sha256": digest}),
        context="the project",
    )
    # the project's directory, not the wheel's path: tox builds each wheel in a new folder
    source = wheel.source if wheel.source is not None else wheel.path
    return Wanted(pick=pick, direct_url=source.as_uri(), content=content, editable=wheel.editable, from_directory=True)


def _content_key(wheel: Path) -> str:
    """A digest of the wheel's RECORD: the same for a rebuild with the same files, whatever the timestamps."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            record = next((n for n in archive.namelist() if n.endswith(".dist-info/RECORD")), None)
            data = archive.read(record) if record else b""
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"the project wheel {wheel} cannot be read ({exc}); rebuild it"
        raise BadInputError(msg) from exc
    return hashlib.sha256(data).hexdigest()


def _local_path(wanted: Wanted) -> Path:
    assert wanted.pick.artifact is not None  # noqa: S101  # project picks always carry their wheel
    assert wanted.pick.artifact.path is not None  # noqa: S101
    return wanted.pick.artifact.path
