"""The lock model every reader produces: locked artifacts and the picks a selection yields."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from tox_venvsync._errors import SelectionError
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.tags import Tag
    from packaging.utils import BuildTag, NormalizedName
    from packaging.version import Version

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

SourceKind = Literal["wheel", "sdist", "vcs", "directory", "archive"]

#: Hash algorithms we verify, strongest first; weaker ones are ignored as pip does.
HASH_ALGORITHMS = ("sha512", "sha384", "sha256")
#: How many hex digits a digest of each of those algorithms has. A value of another length, or with other characters,
#: is no digest: used as the file's address in the cache, ``../`` or ``/`` in it would lead out of the cache.
HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


@frozen
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


def wrong_digest(algorithm: str, digest: str) -> str | None:
    """Why ``digest`` is no digest of ``algorithm`` (sha256, sha384, sha512: hex of their length), else ``None``.

    Other algorithms are not verified (and not checked here). A digest is also the file's place in the cache.
    """
    length = HEX_LENGTHS.get(algorithm.lower())
    if length is None or (len(digest) == length and not digest.lower().strip("0123456789abcdef")):
        return None
    return f"{digest!r} is not a {algorithm.lower()} digest ({length} hex digits)"


#: a git object id: 40 hex digits (SHA-1), or 64 in a repository using SHA-256
_GIT_COMMIT = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")


def not_a_commit(commit: str) -> str | None:
    """Why ``commit`` pins no git commit (a branch, a tag, an abbreviation), or ``None`` when it is a full commit id.

    The checkout runs ``git checkout <commit>``: a branch or tag there installs whatever it points at today.
    """
    if _GIT_COMMIT.fullmatch(commit):
        return None
    return f"{commit!r} is no full commit id (40 hex digits); a branch, tag or short id is not pinned"


#: the URL schemes git clones a VCS source from, as pip takes them (``git+https``, ``git+http``, ``git+ssh``,
#: ``git+git``, ``git+file``); uv's are among them
GIT_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
#: ssh's short form, ``user@host:path``, which pip takes too (``git+git@github.com:org/repo.git``)
_SCP_LIKE = re.compile(r"[\w.~+][\w.~+-]*@\w[\w.-]*:(?!:)\S*")


def not_a_git_url(url: str) -> str | None:
    """Why ``url`` is given to ``git clone`` by no lock tool (an option, a remote helper), or ``None`` when it may be.

    The URL comes from the lock and is an argument of ``git clone``: ``--upload-pack=<command>`` there is an option,
    ``ext::<command>`` a transport that runs a command, ``<helper>::<address>`` runs ``git-remote-<helper>`` from
    ``PATH``. pip and uv clone only the URLs of :data:`GIT_SCHEMES` (and ssh's ``user@host:path``).
    """
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in url):  # noqa: PLR2004  # control chars
        return f"{url!r} holds a control character, which no URL does"
    scheme, found, rest = url.partition("://")
    if found and scheme.lower() in GIT_SCHEMES and not rest.startswith("-"):
        return None
    if not found and _SCP_LIKE.fullmatch(url):
        return None
    return (
        f"{url!r} is no git URL that pip or uv clones: use https://, ssh://, "
        "git://, http:// or file:// (or user@host:path)"
    )


@frozen
class VcsSource:
    """A VCS checkout the lock pins to one commit (never the requested revision)."""

    type: str
    url: str
    commit: str
    requested: str | None = None
    subdirectory: str | None = None


@frozen
class DirectorySource:
    """A local source tree, installed editable or not as the lock says."""

    path: Path
    editable: bool = False
    subdirectory: str | None = None

    @property
    def tree(self) -> Path:
        """The project's root: ``path``, or its ``subdirectory`` (a project in a monorepo) when the lock names one."""
        return self.path / self.subdirectory if self.subdirectory else self.path


@frozen
class IndexPin:
    """A file to find on an index, for lockfiles that name none (requirements files).

    Any file of the pick's name and version whose digest is one of ``hashes``: the best wheel for the
    interpreter first, else the sdist.
    """

    hashes: Mapping[str, frozenset[str]]
    #: ``--index-url``, in place of the configured indexes; ``None``: the configured ones
    index: str | None = None
    #: ``--extra-index-url``: searched as well
    extra_indexes: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    #: the kinds of file pip's ``--no-binary`` and ``--only-binary`` leave the pin: ``binary`` (wheels), ``source``
    formats: frozenset[str] = frozenset({"binary", "source"})


@frozen
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
    #: the extras a requirements line names (``celery[redis]==5.4``): pip wants what they need in the file too
    extras: frozenset[str] = frozenset()
    #: where in an archive (``kind == "archive"``) the project is, below its one top directory as pip unpacks it
    subdirectory: str | None = None
    #: a direct reference (PEP 610): ``direct_url.json`` records its file's path, or a wheel's URL
    #: (``name @ https://.../x.whl``). A registry's file given by ``path`` or ``url`` (a ``pylock.toml``'s
    #: ``wheels``/``sdist``, a ``uv.lock``'s local index, a ``pdm.lock``'s static ``files``) is none: uv records nothing
    #: for it, and ``pip freeze`` shows ``name==version``
    direct: bool = True


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


def best_wheel(wheels: Iterable[Artifact], ranks: Mapping[str, int]) -> Artifact | None:
    """The wheel whose tags the interpreter prefers most, or ``None`` when none fits.

    Of wheels whose tags rank equally, the one with the highest build tag (``pkg-1.0-2-py3-none-any.whl``
    over ``-1-`` and over none) wins, as pip, uv, Poetry and PDM choose; then the first of equals.
    ``ranks`` is :attr:`Target.tag_ranks`: tags as strings, so that no ``Tag`` is built for the
    thousand wheels of a large lock.
    """
    platforms = _platforms(ranks)
    best: tuple[int, Artifact] | None = None
    for wheel in wheels:
        # most wheels of a lock are for other platforms: their platform tag alone rules them out
        if platforms.isdisjoint(wheel.filename.removesuffix(".whl").rpartition("-")[2].lower().split(".")):
            continue
        rank = min((ranks[tag] for tag in wheel_tags(wheel.filename) if tag in ranks), default=None)
        if rank is None or (best is not None and rank > best[0]) or not _valid_wheel_name(wheel.filename):
            continue
        if best is None or rank < best[0] or _build_tag(wheel.filename) > _build_tag(best[1].filename):
            best = (rank, wheel)
    return best[1] if best else None


def choose_file(candidates: Sequence[Artifact], ranks: Mapping[str, int], formats: frozenset[str]) -> Artifact | None:
    """The best wheel for the interpreter, else the first sdist, of the kinds ``formats`` allows (:class:`IndexPin`)."""
    wheels = [c for c in candidates if c.filename.endswith(".whl")] if "binary" in formats else []
    sdists = [c for c in candidates if not c.filename.endswith(".whl")] if "source" in formats else []
    return best_wheel(wheels, ranks) or next(iter(sdists), None)


def _build_tag(filename: str) -> BuildTag:
    """The build tag of a valid wheel name (``()`` for none, the lowest), as pip and uv compare them."""
    if "-" not in filename.removesuffix(".whl").rsplit("-", 3)[0].partition("-")[2]:
        return ()  # most wheels have none: their name is not parsed again
    return parse_wheel_filename(filename)[2]


def _platforms(ranks: Mapping[str, int]) -> frozenset[str]:
    """The platform parts of the interpreter's tags (``manylinux_2_17_x86_64``, ``any``), once per ``ranks``."""
    known = _PLATFORMS.get(id(ranks))
    if known is None or known[0] is not ranks:
        known = _PLATFORMS[id(ranks)] = (ranks, frozenset(tag.rpartition("-")[2] for tag in ranks))
    return known[1]


#: :func:`_platforms` by the identity of the ranks (kept with them, so an identity is never reused)
_PLATFORMS: dict[int, tuple[Mapping[str, int], frozenset[str]]] = {}


@functools.cache
def wheel_tags(filename: str) -> frozenset[str]:
    """The tags of a wheel file name as strings (``py3-none-any``), expanded and lower-cased as ``parse_tag`` does."""
    head, *parts = filename.removesuffix(".whl").rsplit("-", 3)
    if not head or len(parts) != 3 or not filename.endswith(".whl"):  # noqa: PLR2004  # python, abi, platform
        return frozenset()
    interpreters, abis, platforms = (part.lower().split(".") for part in parts)
    return frozenset(f"{i}-{a}-{p}" for i in interpreters for a in abis for p in platforms)


def _valid_wheel_name(filename: str) -> bool:
    try:
        parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return True


def tag_summary(tags: Sequence[Tag]) -> str:
    """The first and last of the interpreter's tags, and the newest manylinux or musllinux platform, for messages.

    The first tag of a Linux interpreter is its plain ``linux_x86_64``: the platform tells a wheel for a newer glibc
    (``manylinux_2_39``) than this system's from one for another interpreter, as uv's hint names it.
    """
    if not tags:
        return "none"
    shown = [str(tags[0]), str(tags[-1])] if len(tags) > 1 else [str(tags[0])]
    newest = next((tag.platform for tag in tags if tag.platform.startswith(("manylinux_", "musllinux_"))), None)
    up_to = f"; platforms up to {newest}" if newest else ""
    return f"{' ... '.join(shown)} ({len(tags)} in all{up_to})"


def not_in_lock(what: str, missing: Iterable[str], have: Iterable[str]) -> str:
    """The message for an extra or group the user asked for and the lock lacks."""
    names = ", ".join(sorted(have)) or "none"
    return f"the lock has no {what} {', '.join(sorted(missing))}; it has: {names}"


def named_all(request: Request, path: Path, *, extras: Iterable[str], groups: Iterable[str]) -> Request:
    """``request`` with ``all_extras`` and ``all_groups`` spelt out as the lock's ``extras`` and ``groups``.

    For the readers without workspaces (pylock, Poetry, PDM): uv's ``--package`` and ``--all-packages`` are
    refused, and ``no_extras`` / ``no_groups`` must name what the lock has (as uv checks them). The reader
    still takes ``no_groups`` out of the groups it selects in the end (they win over its default groups too).
    """
    if request.packages or request.all_packages:
        flag = "--all-packages" if request.all_packages else "--package"
        reason = f"{flag} picks members of a uv workspace, and this lock is no uv.lock; leave it out"
        raise SelectionError(path, reason)
    have_extras, have_groups = frozenset(extras), frozenset(groups)
    if missing := request.no_extras - have_extras:
        raise SelectionError(path, not_in_lock("extra", missing, have_extras))
    if missing := request.no_groups - have_groups - request.lenient_groups:
        raise SelectionError(path, not_in_lock("dependency group", missing, have_groups))
    return replace(
        request,
        extras=(have_extras if request.all_extras else request.extras) - request.no_extras,
        groups=request.groups | have_groups if request.all_groups else request.groups,
        all_extras=False,
        all_groups=False,
    )


def one_line(message: str) -> str:
    """A multi-line parser message (a marker error with its ``^`` pointer) as one line."""
    first, *rest = [line.strip() for line in message.splitlines() if line.strip() and set(line.strip()) != {"^"}]
    return f"{first}: {rest[0]}" if rest else first
