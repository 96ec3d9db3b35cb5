"""Journal: what an apply is changing, written first, and the clearing of what an apply cut off left half placed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from tox_venvsync._apply import TEMPORARY_SUFFIX
from tox_venvsync._atomic import write_atomic
from tox_venvsync._link import _Placement
from tox_venvsync._placeable import _leads_inside, _real
from tox_venvsync._state import READABLE
from tox_venvsync._uninstall import _CompiledFiles, _prune_empty, _record_paths, _under

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tox_venvsync._target import Target


class Journal:
    """What an apply is changing, written before it starts and removed after the state is written.

    The names it changes (an interrupted apply's are reinstalled), and for each install from the cache
    the tree it places: a wheel cut off half placed has no RECORD yet, and its tree tells what it placed.
    """

    def __init__(self, venv: Path) -> None:
        self._file = venv / ".venvsync" / "journal.json"

    def _read(self) -> tuple[frozenset[str], dict[str, str], dict[str, list[str]]]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return frozenset(), {}, {}
        if isinstance(data, list):  # what earlier versions wrote: the names only
            return frozenset(str(n) for n in data), {}, {}
        if not isinstance(data, dict) or not isinstance(data.get("names"), list):
            return frozenset(), {}, {}
        trees, files = data.get("trees"), data.get("files")
        placing = {str(k): str(v) for k, v in trees.items()} if isinstance(trees, dict) else {}
        writing = (
            {str(k): [str(p) for p in v] for k, v in files.items() if isinstance(v, list)}
            if isinstance(files, dict)
            else {}
        )
        return frozenset(str(n) for n in data["names"]), placing, writing

    def pending(self) -> frozenset[str]:
        """Names an interrupted apply was changing (empty when the last apply finished)."""
        return self._read()[0]

    def placing(self) -> dict[str, str]:
        """The cache's tree each install of an interrupted apply placed from, by name."""
        return self._read()[1]

    def started_ns(self) -> int | None:
        """When the journal was last written (before the first change of the apply it names), if it is there."""
        try:
            return self._file.stat().st_mtime_ns
        except OSError:
            return None

    def writing(self) -> dict[str, list[str]]:
        """The paths each install of a built wheel (not from the cache) writes, its RECORD last, by name."""
        return self._read()[2]

    def start(
        self,
        names: Iterable[str],
        trees: Mapping[str, str] | None = None,
        files: Mapping[str, list[str]] | None = None,
    ) -> None:
        """Record the names (trees, files) before the first change (merged with a previous unfinished apply)."""
        before, placing, writing = self._read()
        document = {
            "names": sorted(before | set(names)),
            "trees": placing | dict(trees or {}),
            "files": writing | dict(files or {}),
        }
        write_atomic(self._file, json.dumps(document), mode=READABLE)

    def finish(self) -> None:
        """Forget the names: the apply finished."""
        if self._file.exists():  # Linux refuses even a missing file's unlink on a read-only file system
            self._file.unlink(missing_ok=True)


def clear_half_placed(venv: Path, target: Target, unpacked_dir: Path) -> None:
    """Remove the files of each wheel an interrupted apply left half placed, whatever the lock wants next.

    A finished install writes its RECORD last, so a tree (named by the journal) whose ``.dist-info`` has no
    RECORD in the venv was cut off: the files found where it places them that are its own
    (:meth:`_Placement.placed`) are removed, unless another distribution's RECORD lists them. The journal
    is a file anyone who can write the venv can edit: only trees inside the cache's ``unpacked_dir`` are
    read, only paths inside the venv's schemes are looked at (as any placement is checked), and nothing is
    removed through a linked directory that leads out of the venv.
    """
    journal = Journal(venv)
    cut = _cut_off(venv, target, unpacked_dir)
    written = {name: paths for name, paths in journal.writing().items() if paths and not os.path.exists(paths[-1])}
    if not cut and not written:
        return
    claimed = _claimed(target)
    inside = _inside_the_venv(venv)
    # a file another distribution's RECORD lists stays, but the cut-off install may have replaced it: that one is
    # reinstalled too (the journal's names are, see make_sync_plan)
    touched = _clear_written(written, target, claimed, inside, venv, since=journal.started_ns())
    for placement, dist_info in cut:
        compiled = _CompiledFiles()
        files, directories = placement.placed()
        for path in files:
            if path in claimed:
                touched.add(claimed[path])
                continue
            if not inside(os.path.dirname(path)):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            directory, name = os.path.split(path)
            if name.endswith(".py"):
                compiled.drop(directory, name[:-3])
        if inside(dist_info):
            shutil.rmtree(dist_info, ignore_errors=True)
        made = [d for d in directories if inside(d)]
        _clear_temporaries(made)  # a file it was renaming into place when it was cut off
        _prune_empty((Path(d) for d in made), stop=Path(placement.root))  # the empty ones it made
    if touched:
        journal.start(touched)


def _clear_written(  # noqa: PLR0913  # what it clears and what guards it
    written: Mapping[str, list[str]],
    target: Target,
    claimed: Mapping[str, str],
    inside: Callable[[str], bool],
    venv: Path,
    *,
    since: int | None,
) -> set[str]:
    """Remove what each cut-off install of a built wheel wrote (the journal's paths, its RECORD not yet there).

    Its files (as :class:`_WrittenGuard` lets them go), its ``.dist-info`` whole, then the directories it left
    empty (never the venv's top ones). Returns the distributions whose files it listed (and may have replaced).
    """
    guard = _WrittenGuard(venv, target, claimed, inside, since=since)
    touched: set[str] = set()
    for name, paths in written.items():
        if (dist_info := guard.dist_info(name, paths[-1])) is None:
            continue
        made: set[str] = set()
        for path in map(_real, paths[:-1]):
            if (owner := guard.owner(path)) is not None:
                touched.add(owner)
            elif guard.removable(path, dist_info):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(path)
                made.add(os.path.dirname(path))
        shutil.rmtree(dist_info, ignore_errors=True)
        _clear_temporaries(made)
        _prune_empty((Path(d) for d in made), stop=Path(guard.real_venv), keep_top=True)
    return touched


class _WrittenGuard:
    """What of the journal's paths of a cut-off install may go: the journal is a file, and anyone can edit it.

    An entry counts only when its last path is the RECORD of its name's ``.dist-info`` in site-packages; of
    its paths only files in the venv (by real path, ``lib64`` is ``lib``) go that no RECORD lists, written
    since the journal was (a file of the user's is older), outside any other ``.dist-info``, and not
    ``pyvenv.cfg``, ``.venvsync`` or the interpreter.
    """

    def __init__(  # the venv and what guards it
        self,
        venv: Path,
        target: Target,
        claimed: Mapping[str, str],
        inside: Callable[[str], bool],
        *,
        since: int | None,
    ) -> None:
        self.real_venv = os.path.realpath(venv)
        self._libraries = {os.path.realpath(target.scheme[key]) for key in ("purelib", "platlib")}
        self._scripts = os.path.realpath(target.scheme["scripts"])
        self._owners = {_real(path): name for path, name in claimed.items()}
        self._inside = inside
        #: nothing older goes: the journal is written before the install's first file (two seconds' leeway)
        self._since = None if since is None else since - 2_000_000_000

    def owner(self, path: str) -> str | None:
        """The distribution whose RECORD lists ``path`` (a real path), if one does."""
        return self._owners.get(path)

    def dist_info(self, name: str, record: str) -> str | None:
        """The real path of the ``.dist-info`` whose RECORD ``record`` is, if it is ``name``'s in site-packages."""
        dist_info = _real(os.path.dirname(record))
        folder, _, entry = dist_info.rpartition(os.sep)
        if folder not in self._libraries or os.path.basename(record) != "RECORD" or not entry.endswith(".dist-info"):
            return None
        return dist_info if canonicalize_name(entry.partition("-")[0]) == canonicalize_name(name) else None

    def removable(self, path: str, dist_info: str) -> bool:
        """Whether the file ``path`` (a real path) may go."""
        directory, base = os.path.split(path)
        own = path[len(self.real_venv) :]
        return (
            _under(path, self.real_venv)
            and self._inside(directory)
            and path not in self._owners
            and _new(path, self._since)
            and not _under(path, dist_info)
            and own != f"{os.sep}pyvenv.cfg"
            and not own.startswith(f"{os.sep}.venvsync{os.sep}")
            and ".dist-info" not in own
            and not (directory == self._scripts and base.startswith("python"))  # the interpreter and its links
        )


def _new(path: str, since: int | None) -> bool:
    try:
        return since is None or os.lstat(path).st_mtime_ns >= since
    except OSError:
        return False


def _clear_temporaries(directories: Iterable[str]) -> None:
    """Remove the files an install was renaming into place in ``directories`` (see :func:`_replacing`)."""
    for directory in directories:
        with contextlib.suppress(OSError):
            for item in os.listdir(directory):
                if item.endswith(TEMPORARY_SUFFIX):
                    os.unlink(os.path.join(directory, item))


def _cut_off(venv: Path, target: Target, unpacked_dir: Path) -> list[tuple[_Placement, str]]:
    """Each placement the journal names whose tree the cache holds and whose ``.dist-info`` has no RECORD."""
    if not (placing := Journal(venv).placing()):  # no apply was cut off (nearly every sync)
        return []
    from tox_venvsync._unpacked import tree_at  # noqa: PLC0415  # an interrupted apply only

    prefix = os.path.join(os.path.abspath(unpacked_dir), "")
    cut: list[tuple[_Placement, str]] = []
    for root in placing.values():
        tree = tree_at(Path(root)) if os.path.abspath(root).startswith(prefix) else None
        if tree is None:
            continue  # the cache lost it: nothing to match files against (verify lists them as unowned)
        placement = _Placement(tree, target, link=False)
        dist_info = os.path.join(placement.root, tree.dist_info)
        if not os.path.exists(os.path.join(dist_info, "RECORD")):
            cut.append((placement, dist_info))
    return cut


def _claimed(target: Target) -> dict[str, str]:
    """Every path a RECORD of an installed distribution lists, and the distribution's name."""
    from tox_venvsync._installed import scan  # noqa: PLC0415  # an interrupted apply only

    site_packages = [Path(target.scheme["purelib"]), Path(target.scheme["platlib"])]
    return {
        os.path.normpath(os.path.join(dist.dist_info.parent, relative)): str(name)
        for name, dists in scan(site_packages).items()
        for dist in dists
        for relative in _record_paths(dist.dist_info)
    }


def _inside_the_venv(venv: Path) -> Callable[[str], bool]:
    """Whether a directory's real path is inside the venv's (each directory resolved once)."""
    real_venv = os.path.realpath(venv)
    known: dict[str, bool] = {}

    def inside(directory: str) -> bool:
        if (found := known.get(directory)) is None:
            found = known[directory] = _leads_inside(directory, real_venv)
        return found

    return inside
