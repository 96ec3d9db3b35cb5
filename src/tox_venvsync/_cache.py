"""Cache: a content-addressed store of verified artifacts, shared by every env and run on the machine.

Layout under the cache root (``TOX_VENVSYNC_CACHE_DIR``, else the platform's user cache dir)::

    artifacts/<algorithm>/<digest[:2]>/<digest>/<filename>   verified files, named by their hash
    unpacked/<algorithm>/<digest[:2]>/<digest>/              a wheel's verified, unpacked tree, to link from
    files/<digest[:2]>/<digest>[-x]                          generated files (RECORD, scripts...) by content
    built/<sha256|git>/<key[:2]>/<key>/<wheel>               wheels built from an sdist hash or a VCS commit
    locks/<key>.lock                                         one file lock per venv path
    interpreters/<key>.json                                  an interpreter's facts, while its binary is unchanged
    toml/<key>.json                                          a lockfile's parsed tables, by the digest of their text
    selections/<key>.json                                    what a lock selected for one request and interpreter
    tmp/p<pid>/                                               each process's work in progress (same filesystem)

A file only ever appears at its address by an atomic rename after its size and hash were checked,
so a reader never sees a partial or unverified file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import platformdirs
from filelock import FileLock

from tox_venvsync._values import frozen

CACHE_DIR_ENV = "TOX_VENVSYNC_CACHE_DIR"


def default_cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``TOX_VENVSYNC_CACHE_DIR`` when set, else the user cache directory."""
    environ = os.environ if environ is None else environ
    if value := environ.get(CACHE_DIR_ENV):
        return Path(value).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("tox-venvsync", appauthor=False))


@frozen(kw_only=False)
class Cache:
    """The cache rooted at ``root``."""

    root: Path

    def artifact(self, algorithm: str, digest: str, filename: str) -> Path:
        """Where the verified file with this hash lives (whether or not it is there yet)."""
        return self.root / "artifacts" / algorithm / digest[:2] / digest / filename

    @property
    def unpacked_dir(self) -> Path:
        """The directory of every unpacked tree."""
        return self.root / "unpacked"

    def unpacked(self, algorithm: str, digest: str) -> Path:
        """Where the unpacked tree of the wheel with this hash lives."""
        return self.unpacked_dir / algorithm / digest[:2] / digest

    def built(self, kind: str, key: str) -> Path:
        """Where the wheel built from an sdist (by its hash) or a VCS commit is kept."""
        return self.root / "built" / kind / key[:2] / key

    def venv_lock(self, venv: Path) -> Path:
        """The lock file that serialises syncs of the venv at ``venv``."""
        key = hashlib.sha256(os.fsencode(os.path.abspath(venv))).hexdigest()[:32]
        return self.root / "locks" / f"{key}.lock"

    def tmp_dir(self) -> Path:
        """The directory of this process for work in progress, on the cache filesystem so a rename is atomic.

        A process killed mid-download leaves its directory behind; the next process to ask removes
        the directories of processes that no longer run.
        """
        path = self.root / "tmp" / f"p{os.getpid()}"
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            _remove_dead(path.parent)
        return path


def env_lock(cache: Cache, venv: Path) -> FileLock:
    """The lock that makes two syncs of one venv take turns (kept in the cache, not in the venv)."""
    path = cache.venv_lock(venv)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


def _remove_dead(tmp: Path) -> None:
    for entry in tmp.iterdir():
        pid = entry.name[1:]
        if entry.name.startswith("p") and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
