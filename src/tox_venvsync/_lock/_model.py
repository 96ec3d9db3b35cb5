"""The lock model every reader produces: locked artifacts and the picks a selection yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.tags import Tag
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from tox_venvsync._target import Target

SourceKind = Literal["wheel", "sdist", "vcs", "directory", "archive"]

#: Hash algorithms we verify, strongest first; weaker ones are ignored as pip does.
HASH_ALGORITHMS = ("sha512", "sha384", "sha256")


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """One file a lock names: where it lives and what its bytes must be."""

    filename: str
    url: str | None
    path: Path | None
    size: int | None
    hashes: Mapping[str, str]

    @property
    def location(self) -> str:
        """The URL or path, for messages."""
        if self.url is not None:
            return self.url
        return str(self.path) if self.path is not None else self.filename

    @property
    def strongest_hash(self) -> tuple[str, str] | None:
        """The strongest ``(algorithm, hex digest)`` pair we can verify, or ``None``."""
        for algorithm in HASH_ALGORITHMS:
            if algorithm in self.hashes:
                return algorithm, self.hashes[algorithm].lower()
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class VcsSource:
    """A VCS checkout the lock pins to one commit (never the requested revision)."""

    type: str
    url: str
    commit: str
    requested: str | None = None
    subdirectory: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectorySource:
    """A local source tree, installed editable or not as the lock says."""

    path: Path
    editable: bool = False
    subdirectory: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexPin:
    """A file to find on an index, for lockfiles that name none (requirements files).

    Any file of the pick's name and version whose digest is one of ``hashes``: the best wheel for the
    interpreter first, else the sdist.
    """

    hashes: Mapping[str, frozenset[str]]
    #: ``--index-url`` then ``--extra-index-url``; empty means the configured index
    indexes: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Pick:
    """A package the selection wants installed, with the artifact chosen for the target."""

    name: NormalizedName
    version: Version | None
    kind: SourceKind
    artifact: Artifact | None
    #: the index URL the lock names for the package; an artifact with neither url nor path is looked up there
    index: str | None = None
    vcs: VcsSource | None = None
    directory: DirectorySource | None = None
    #: set when ``artifact`` is ``None`` because the file must be found on an index by its hashes
    lookup: IndexPin | None = None
    #: where in the lockfile the package is, for messages (``packages[3]``)
    context: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """What the user asks of a lock: extras, dependency groups, and whether the lock's default groups apply.

    Names are normalized (PEP 503). The selected groups are ``groups`` plus, when ``default_groups``,
    the format's defaults (pylock ``default-groups``; uv ``tool.uv.default-groups`` else ``dev``; ...).
    """

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    default_groups: bool = True


class Lock(Protocol):
    """A lockfile read into memory; each format's reader returns one."""

    @property
    def path(self) -> Path:
        """The lockfile."""

    @property
    def format(self) -> str:
        """The format's name, as ``lock_format`` spells it."""

    def select(self, target: Target, request: Request) -> Sequence[Pick]:
        """The packages this lock installs for ``target`` and ``request``, in lock order."""


def best_wheel(wheels: Iterable[Artifact], tags: Sequence[Tag]) -> Artifact | None:
    """The wheel whose tags the interpreter prefers most, or ``None`` when none fits (wheel spec tag priority)."""
    priority = _priority(tags)
    best: tuple[int, Artifact] | None = None
    for wheel in wheels:
        try:
            wheel_tags = parse_wheel_filename(wheel.filename)[3]
        except InvalidWheelFilename:
            continue
        rank = min((priority[tag] for tag in wheel_tags if tag in priority), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, wheel)
    return best[1] if best else None


_PRIORITY: list[tuple[Sequence[Tag], dict[Tag, int]]] = []


def _priority(tags: Sequence[Tag]) -> dict[Tag, int]:
    """Tag -> rank, remembered for the last tag list (a selection asks for the same list per package)."""
    if _PRIORITY and _PRIORITY[0][0] is tags:
        return _PRIORITY[0][1]
    priority = {tag: index for index, tag in enumerate(tags)}
    _PRIORITY[:] = [(tags, priority)]
    return priority


def tag_summary(tags: Sequence[Tag]) -> str:
    """The first and last of the interpreter's tags, for messages."""
    shown = [str(tags[0]), str(tags[-1])] if len(tags) > 1 else [str(t) for t in tags]
    return f"{' ... '.join(shown)} ({len(tags)} in all)"


def not_in_lock(what: str, missing: Iterable[str], have: Iterable[str]) -> str:
    """The message for an extra or group the user asked for and the lock lacks."""
    names = ", ".join(sorted(have)) or "none"
    return f"the lock has no {what} {', '.join(sorted(missing))}; it has: {names}"


def one_line(message: str) -> str:
    """A multi-line parser message (a marker error with its ``^`` pointer) as one line."""
    first, *rest = [line.strip() for line in message.splitlines() if line.strip() and set(line.strip()) != {"^"}]
    return f"{first}: {rest[0]}" if rest else first
