"""The lock model every reader produces: locked artifacts and the picks a selection yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

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
        return self.url if self.url is not None else str(self.path)

    @property
    def strongest_hash(self) -> tuple[str, str] | None:
        """The strongest ``(algorithm, hex digest)`` pair we can verify, or ``None``."""
        for algorithm in HASH_ALGORITHMS:
            if algorithm in self.hashes:
                return algorithm, self.hashes[algorithm].lower()
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Pick:
    """A package the selection wants installed, with the artifact chosen for the target."""

    name: NormalizedName
    version: Version | None
    kind: SourceKind
    artifact: Artifact | None
    #: the index URL the lock names for the package, if any
    index: str | None = None
    #: where in the lockfile the package is, for messages (``packages[3]``)
    context: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """What the user asks of a lock: extras and dependency groups (``None``: the lock's defaults)."""

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None


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
