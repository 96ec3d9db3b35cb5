"""Plan: what to install, upgrade, downgrade, reinstall, remove or keep to make the venv equal the selection."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from tox_venvsync._installed import source_id
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.version import Version

    from tox_venvsync._installed import InstalledDist
    from tox_venvsync._lock import Pick

#: Packages a venv is seeded with; kept when the lock does not name them (as ``uv sync`` keeps them).
SEED_PACKAGES = frozenset(canonicalize_name(n) for n in ("pip", "setuptools", "wheel"))


class Action(enum.Enum):
    """What happens to one distribution."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REINSTALL = "reinstall"
    REMOVE = "remove"
    KEEP = "keep"


_WORDS = (
    (Action.INSTALL, "installed"),
    (Action.UPGRADE, "upgraded"),
    (Action.DOWNGRADE, "downgraded"),
    (Action.REINSTALL, "reinstalled"),
    (Action.REMOVE, "removed"),
)


@frozen
class Wanted:
    """A pick plus what the venv should record about it once installed."""

    pick: Pick
    #: the PEP 610 URL to record, ``None`` for an install from an index
    direct_url: str | None = None
    #: a digest of the wheel's contents, for wheels rebuilt on every run (the project, source trees)
    content: str | None = None
    editable: bool = False
    #: built from a source tree (the project, a directory source): recorded as ``dir_info``
    from_directory: bool = False
    #: a lock's source tree: its signature when it was built (noted, so that an unchanged tree is not built again)
    tree: str | None = None

    @property
    def artifact_hash(self) -> str | None:
        """``algorithm:digest`` of the file the lock names for it (``None`` for a build or a pin not looked up yet).

        Noted in the installed ``.dist-info`` (see :data:`tox_venvsync._installed.OUR_METADATA`): the same
        version from another file (a wheel rebuilt and uploaded again, a lock edited by hand) is reinstalled.
        """
        artifact = self.pick.artifact
        hashed = artifact.strongest_hash if artifact is not None and self.content is None else None
        return f"{hashed[0]}:{hashed[1]}" if hashed else None

    @property
    def source_id(self) -> str | None:
        """Where it comes from, compared with :attr:`InstalledDist.direct_url`."""
        if self.direct_url is None:
            return None
        vcs = self.pick.vcs
        if vcs is not None:
            return source_id(self.direct_url, vcs=vcs.type, commit=vcs.commit, subdirectory=vcs.subdirectory)
        return source_id(self.direct_url, editable=self.editable, subdirectory=self.pick.subdirectory)


@frozen
class Step:
    """One line of the plan."""

    action: Action
    name: NormalizedName
    version: Version | None
    old: tuple[InstalledDist, ...] = ()
    wanted: Wanted | None = None
    #: why a reinstall installs the same version again (``installed editable; the lock wants it built``); else empty
    reason: str = ""

    @property
    def old_version(self) -> Version | None:
        """The version installed now, if any."""
        return self.old[0].version if self.old else None

    def describe(self) -> str:
        """``install: gamma 0.3``, ``upgrade: beta 2.0 -> 2.1``, ``remove: beta 2.0``.

        A reinstall says why after the line: ``reinstall: demo 0.1.0 -> 0.1.0 (installed editable; the lock wants it
        built)``.
        """
        old, new = self.old_version, self._shown_version()
        if self.action in {Action.UPGRADE, Action.DOWNGRADE, Action.REINSTALL}:
            why = f" ({self.reason})" if self.reason else ""
            return f"{self.action.value}: {self.name} {old} -> {new}{why}"
        return f"{self.action.value}: {self.name} {new}"

    def _shown_version(self) -> str:
        """The version it gets; a source not built yet (a VCS checkout) has none: its kind, ``(vcs)``."""
        if self.version is not None:
            return str(self.version)
        return f"({self.wanted.pick.kind})" if self.wanted is not None else "(unknown)"


@frozen
class Plan:
    """Every step, sorted by name; applying it makes the venv equal the selection."""

    steps: tuple[Step, ...]
    #: kept because tox's ``deps`` installed them on top of the lock: not counted in :meth:`summary`
    on_top: frozenset[str] = frozenset()

    def of(self, *actions: Action) -> list[Step]:
        """The steps with one of these actions."""
        return [step for step in self.steps if step.action in actions]

    def lines(self) -> list[str]:
        """One line per change, then how many are kept."""
        return [*(step.describe() for step in self.changes), f"keep {_packages(len(self.of(Action.KEEP)))}"]

    def summary(self) -> str:
        """``synced 54 packages: 3 installed, 1 upgraded, 2 removed`` (what the venv holds after the plan)."""
        counts = [f"{len(steps)} {word}" for action, word in _WORDS if (steps := self.of(action))]
        # what deps added is left out, kept or not yet installed: the count is the same on every sync
        held = len(self.steps) - len(self.of(Action.REMOVE)) - sum(s.name in self.on_top for s in self.of(Action.KEEP))
        return f"synced {_packages(held)}: {', '.join(counts) or 'nothing changed'}"

    def as_json(self) -> dict[str, list[dict[str, str | None]]]:
        """``{"install": [...], "remove": [...], "keep": [...]}``: ``venvsync sync --json``'s, and tox's result JSON's.

        Each entry: ``name``, ``version`` (the old one for a removal), ``action``, and ``from`` (the version it had);
        a reinstall's also ``reason``, why it is installed again (as its line says it).
        """

        def row(step: Step) -> dict[str, str | None]:
            old = str(step.old_version) if step.old_version else None
            found = {
                "name": step.name,
                "version": str(step.version) if step.version else old,
                "action": step.action.value,
                "from": old,
            }
            return {**found, "reason": step.reason} if step.reason else found

        return {
            "install": [row(step) for step in self.to_install],
            "remove": [row(step) for step in self.of(Action.REMOVE)],
            "keep": [row(step) for step in self.of(Action.KEEP)],
        }

    @property
    def changes(self) -> list[Step]:
        """Every step that is not a keep."""
        return [step for step in self.steps if step.action is not Action.KEEP]

    @property
    def to_remove(self) -> list[Step]:
        """Steps whose old distributions go first (everything that changes something installed)."""
        return [step for step in self.changes if step.old]

    @property
    def to_install(self) -> list[Step]:
        """Steps that install a wheel."""
        return [step for step in self.changes if step.wanted is not None]


def make_plan(
    wanted: Sequence[Wanted],
    installed: Mapping[NormalizedName, Sequence[InstalledDist]],
    *,
    suspect: Collection[str] = (),
    exact: bool = True,
    keep: Collection[str] = (),
) -> Plan:
    """Compare what is wanted with what is installed.

    ``suspect`` names distributions an interrupted sync was changing: they are reinstalled.
    With ``exact`` off, distributions the selection does not name are kept; ``keep`` names
    more that stay (what tox's ``deps`` installed on top of the lock).
    """
    steps: list[Step] = []
    on_top: set[str] = set()
    by_name = {item.pick.name: item for item in wanted}
    for name, item in by_name.items():
        steps.append(_step_for(item, tuple(installed.get(name, ())), suspect=name in suspect))
    for name, dists in installed.items():
        if name in by_name:
            continue
        kept = name in SEED_PACKAGES or name in keep or not exact
        action = Action.KEEP if kept and name not in suspect else Action.REMOVE
        steps.append(Step(action=action, name=name, version=dists[0].version, old=tuple(dists)))
        if action is Action.KEEP and name in keep:
            on_top.add(name)
    return Plan(steps=tuple(sorted(steps, key=lambda step: step.name)), on_top=frozenset(on_top))


def _step_for(item: Wanted, old: tuple[InstalledDist, ...], *, suspect: bool) -> Step:
    version = item.pick.version
    action, reason = _action(item, old, suspect=suspect)
    return Step(action=action, name=item.pick.name, version=version, old=old, wanted=item, reason=reason)


def _action(item: Wanted, old: tuple[InstalledDist, ...], *, suspect: bool) -> tuple[Action, str]:  # noqa: PLR0911  # one rule per line
    """What to do, and for a reinstall why (uv -v says only "Requirement installed, but mismatched")."""
    if not old:
        return Action.INSTALL, ""
    current = old[0]
    version = item.pick.version
    if unsure := _unsure(old, suspect=suspect):
        return Action.REINSTALL, unsure
    if current.version is None:  # said by _unsure; for mypy
        return Action.REINSTALL, unsure
    if version is not None and current.version < version:
        return Action.UPGRADE, ""
    if version is not None and current.version > version:
        return Action.DOWNGRADE, ""
    if current.direct_url != item.source_id and not _from_the_locked_url(item, current):
        # the same version from another source, commit or editable-ness, as uv sync decides
        return Action.REINSTALL, _other_source(current.direct_url, item)
    if item.content is not None and current.content != item.content:
        return Action.REINSTALL, "rebuilt with changed contents"  # a source tree or the project, rebuilt
    # the same version from another file; or from a file an older build did not note (before 6c2090b), which may be
    # another: after an upgrade it stayed for good. One installed by another tool is trusted, as uv trusts it
    wanted = item.artifact_hash
    if wanted is not None and (found := current.artifact_hash) != wanted and (found is not None or current.noted):
        other = "installed from a file whose hash is not the lock's"
        return Action.REINSTALL, other if found is not None else "the file it was installed from is not noted"
    return Action.KEEP, ""


def _unsure(old: tuple[InstalledDist, ...], *, suspect: bool) -> str:
    """Why what is installed is reinstalled whatever the lock wants: several copies, half changed, no version."""
    if len(old) > 1:
        return f"{len(old)} copies installed"
    if suspect:
        return "an interrupted sync was changing it"
    if old[0].version is None:
        return "its installed version cannot be read"
    return ""


def _other_source(installed: str | None, item: Wanted) -> str:
    """Why the same version is installed again from the lock's source: ``installed editable; the lock wants it built``.

    ``installed`` and ``item.source_id`` are :func:`source_id` strings (``None``: from an index).
    """
    wanted = item.source_id
    was_editable = installed is not None and installed.startswith(_EDITABLE)
    if (
        installed is not None
        and wanted is not None
        and installed.removeprefix(_EDITABLE) == wanted.removeprefix(_EDITABLE)
    ):
        if was_editable:  # the same directory, not editable now
            return "installed editable; the lock wants it built"
        return "installed not editable; the lock wants it editable"
    vcs = item.pick.vcs
    same_repository = (
        installed is not None and wanted is not None and installed.rpartition("@")[0] == wanted.rpartition("@")[0]
    )
    if vcs is not None and same_repository:  # git+URL@COMMIT: the URL the same
        return f"installed from a different commit; the lock wants {vcs.commit}"
    return f"installed {_from_where(installed)}; the lock wants it {_from_where(wanted)}"


#: how a :func:`source_id` starts for an editable install
_EDITABLE = "editable+"


def _from_where(source: str | None) -> str:
    """``from an index``, ``editable from <url>`` or ``from <url>``: where a :func:`source_id` says it comes from."""
    if source is None:
        return "from an index"
    if source.startswith(_EDITABLE):
        return f"editable from {source.removeprefix(_EDITABLE)}"
    return f"from {source}"


def _from_the_locked_url(item: Wanted, current: InstalledDist) -> bool:
    """Installed by another tool from the very URL the lock names (``pip install <url>``): the same file, kept.

    Unless the install recorded the file's hash and the lock's differs: the URL served another file then.

    As ``uv pip sync`` keeps it (from a requirements file or a ``pylock.toml``); ``uv sync`` (0.13) reinstalls it,
    taking any direct URL for another kind of source than an index ("distribution type mismatch"), a rule made for
    a tree installed editable that the lock now wants from the index, not for the same file.
    """
    artifact = item.pick.artifact
    if item.source_id is not None or artifact is None or artifact.url is None or current.direct_url is None:
        return False
    if current.direct_url != artifact.url.partition("#")[0]:
        return False
    recorded = current.archive_hashes
    return all(recorded[alg] == digest.lower() for alg, digest in artifact.hashes.items() if alg in recorded)


def _packages(count: int) -> str:
    """``1 package``, ``3 packages``."""
    return f"{count} package{'' if count == 1 else 's'}"
