"""Fetch: bring every artifact of a plan into the cache, each checked against the lock's size and hash."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import sys
import tempfile
import threading
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, TextIO
from urllib.parse import unquote, urlparse

from tox_venvsync import __version__
from tox_venvsync._errors import (
    OUT_OF_FILES,
    BadInputError,
    BadUrlError,
    FetchError,
    HashMismatchError,
    OfflineError,
    naming,
)
from tox_venvsync._lock._model import HASH_ALGORITHMS
from tox_venvsync._values import replace

# The network modules (urllib, http.client, ssl: ~6 ms to import) and the index client load when a
# file is downloaded: a sync whose files are all in the cache does not pay for them.

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from packaging.utils import NormalizedName

    from tox_venvsync._cache import Cache
    from tox_venvsync._index import IndexClient
    from tox_venvsync._indexes import ProjectIndexes
    from tox_venvsync._lock import Artifact, Pick

_CHUNK = 1 << 20


def _missing(pick: Pick) -> str:
    """A file offline cannot have, as :class:`OfflineError` lists it: the package and its file's name."""
    return f"{pick.name} ({pick.artifact.filename if pick.artifact else '?'})"


class Fetcher(Protocol):
    """Makes the artifacts of picks available as verified local files."""

    def fetch(self, picks: Sequence[Pick]) -> dict[str, Path]:
        """A verified local file per pick name; raises before returning if any file is wrong."""


class CacheFetcher:
    """The real fetcher: ``path``, ``file://`` and ``http(s)://`` into the content-addressed cache."""

    def __init__(  # noqa: PLR0913  # the options are keyword-only
        self,
        cache: Cache,
        *,
        workers: int = 8,
        default_index: str | None = None,
        offline: bool = False,
        progress: TextIO | None = None,
        on_fetched: Callable[[Pick, Path], object] | None = None,
        environ: Mapping[str, str] | None = None,
        indexes: Callable[[], ProjectIndexes] | None = None,
    ) -> None:
        """``on_fetched`` is called with each file downloaded and verified, as it arrives (on a download thread).

        ``environ``: where the index settings are read (when ``default_index`` is not given); ``None``: this
        process's environment. ``indexes``: gives the project's, where a file the lock names without a URL or
        an index is looked up (a ``pdm.lock``'s), read once a file is to be downloaded.
        """
        self._environ = environ
        self._indexes = indexes
        self._project: ProjectIndexes | None = None
        self._cache = cache
        self._on_fetched = on_fetched
        self._offline = offline
        self._workers = workers
        self._default_index = default_index
        self._progress = _Progress(progress) if progress is not None else None

    @cached_property
    def _configured_index(self) -> str:
        """The index configured for every lock (pip's files read once, not for every file looked up)."""
        from tox_venvsync._indexes import configured_index  # noqa: PLC0415  # see the imports

        return configured_index(self._environ)

    @cached_property
    def _index(self) -> IndexClient:
        from tox_venvsync._index import IndexClient  # noqa: PLC0415  # see the imports

        return IndexClient()

    def fetch(self, picks: Sequence[Pick]) -> dict[str, Path]:
        """Fetch all picks in parallel; every file is verified before any is used."""
        if not picks:
            return {}
        # the cache is looked up here: a stat a file, which threads would only take turns at (53 wheels: 6.5-8 ms
        # on eight threads, 2-3 here); only the files to download go to the threads
        found = {pick.name: self._cached(pick) for pick in picks}
        missing = [pick for pick in picks if found[pick.name] is None]
        if missing and self._offline:
            raise OfflineError(sorted(_missing(pick) for pick in missing))
        if missing:
            if self._progress is not None:
                self._progress.start(len(missing))
            found.update(self._fetch_all(missing))
            if self._progress is not None:
                self._progress.finish()
        return {pick.name: path for pick in picks if (path := found[pick.name]) is not None}

    def missing(self, picks: Sequence[Pick]) -> list[str]:
        """The picks whose file the cache lacks, as offline names them: ``alpha (alpha-1.0-py3-none-any.whl)``."""
        return [_missing(pick) for pick in picks if self._cached(pick) is None]

    def _fetch_all(self, missing: Sequence[Pick]) -> dict[NormalizedName, Path]:
        """Each file on one of up to ``workers`` threads, each keeping its connection to a host for its next file."""
        from tox_venvsync._http import each_on_kept_connections  # noqa: PLC0415  # see the imports
        from tox_venvsync._session import use_logins  # noqa: PLC0415  # see the imports

        if self._indexes is not None:
            self._project = self._indexes()
            use_logins(self._project)  # here, in the sync's thread: the download threads run in copies of its context
        paths = each_on_kept_connections(self._fetch_one, missing, workers=self._workers)
        return {pick.name: path for pick, path in zip(missing, paths, strict=True)}

    def _address(self, pick: Pick) -> tuple[Path, str, str]:
        artifact = pick.artifact
        assert artifact is not None  # noqa: S101  # the plan fetches only picks that have a file
        expected = artifact.strongest_hash
        if expected is None:
            # hash before install: a file the lock does not pin by a strong hash is never installed
            at = f" at {pick.context}" if pick.context else ""
            msg = (
                f"the lock gives {pick.name}'s file {artifact.location}{at} no sha256, sha384 or sha512 hash, so its "
                "bytes cannot be checked before it is installed; lock it again with hashes (uv records none for the "
                "wheels of a local flat index: serve them as a simple index)"
            )
            raise BadInputError(msg)
        algorithm, digest = expected
        return self._cache.artifact(algorithm, digest, _safe_filename(pick, artifact)), algorithm, digest

    def _cached(self, pick: Pick) -> Path | None:
        target, _, _ = self._address(pick)
        size = pick.artifact.size if pick.artifact else None
        if target.is_file() and (size is None or target.stat().st_size == size):
            return target  # at its content address, so it was verified when it was stored
        return None

    def _fetch_one(self, pick: Pick) -> Path:
        from tox_venvsync._cache import one_at_a_time  # noqa: PLC0415  # see the imports
        from tox_venvsync._http import stopping  # noqa: PLC0415

        if (cached := self._cached(pick)) is not None:  # another process stored it meanwhile
            return self._found(cached)
        _, algorithm, digest = self._address(pick)
        with one_at_a_time(self._cache.download_lock(algorithm, digest), stopped=stopping) as waited:
            if waited and (cached := self._cached(pick)) is not None:  # the process it waited for stored it
                return self._found(cached)
            path = self._download(pick)
        if self._on_fetched is not None:
            self._on_fetched(pick, path)
        return path

    def _found(self, cached: Path) -> Path:
        if self._progress is not None:
            self._progress.done(0)
        return cached

    def _download(self, pick: Pick) -> Path:
        target, algorithm, digest = self._address(pick)
        artifact = pick.artifact
        assert artifact is not None  # noqa: S101  # checked by _address
        *others, last = self._locate(pick, artifact)
        for source in others:
            with contextlib.suppress(HashMismatchError):  # another index's file of that name: the next is tried
                return self._store(pick, source, target, algorithm, digest)
        return self._store(pick, last, target, algorithm, digest)

    def _store(self, pick: Pick, artifact: Artifact, target: Path, algorithm: str, digest: str) -> Path:
        """Download ``artifact`` to its address in the cache, verified against the lock's size and hash."""
        with _downloaded(self._cache, pick, artifact, (algorithm,)) as (tmp, size, digests):
            _verify(pick, artifact, algorithm=algorithm, digest=digest, size=size, actual=digests[algorithm])
            _place(tmp, target)
        if self._progress is not None:
            self._progress.done(size)
        return target

    def _locate(self, pick: Pick, artifact: Artifact) -> list[Artifact]:
        """Where to download the artifact from, best first.

        A lock without URLs (poetry, pdm) names only the file: it is found on the pick's index, else the
        project's (a PDM source), else the configured one (Poetry and PDM read no extra index of pip's or
        uv's), where every page that lists it is a place to try.
        """
        if artifact.url is not None or artifact.path is not None:
            return [artifact]
        project = self._project.for_package(pick.name) if self._project is not None else ()
        index = pick.index or self._default_index
        indexes = (index,) if index else (project or (self._configured_index,))
        urls = self._index.candidates(indexes, pick.name, artifact.filename, artifact.hashes)
        return [replace(artifact, url=url) for url in urls]


def store_pinned(cache: Cache, pick: Pick, artifact: Artifact) -> Artifact:
    """A requirements pin's file that its page links to without a hash, downloaded into the cache and checked.

    pip and uv fetch such a file and compare its digest with the pin's ``--hash`` values; so does this, before
    the file has a place in the cache: it is stored at its content address only when the pin allows its digest,
    and comes back with that hash, as a file the lock names is fetched (found there, not downloaded again).
    """
    assert pick.lookup is not None  # noqa: S101  # only requirements pins are looked up
    allowed = pick.lookup.hashes
    algorithms = [algorithm for algorithm in HASH_ALGORITHMS if allowed.get(algorithm)]  # the strongest first
    filename = _safe_filename(pick, artifact)
    with _downloaded(cache, pick, artifact, algorithms) as (tmp, size, digests):
        found = next(((a, digests[a]) for a in algorithms if digests[a] in allowed[a]), None)
        if found is None:
            algorithm = algorithms[0]
            expected = sorted(allowed[algorithm])
            one = expected[0] if len(expected) == 1 else f"one of {', '.join(expected)}"
            raise _mismatch(pick, artifact, f"the {algorithm} hash", one, digests[algorithm])
        algorithm, digest = found
        _place(tmp, cache.artifact(algorithm, digest, filename))
    return replace(artifact, size=size, hashes={algorithm: digest})


@contextlib.contextmanager
def _downloaded(
    cache: Cache, pick: Pick, artifact: Artifact, algorithms: Sequence[str]
) -> Iterator[tuple[Path, int, dict[str, str]]]:
    """The file downloaded to a temporary file in the cache: its path, size and digests (see :func:`_copy_hashing`).

    The caller checks it and moves it to its address (:func:`_place`) inside the block; a file not moved (refused,
    or a broken download) is deleted when the block ends, so no partial or unverified file stays behind. A size or
    hash mismatch, here or in the block, says so when what came is a web page (see :func:`_read_as_page`).
    """
    from tox_venvsync._http import retried  # noqa: PLC0415  # see the imports

    fd, name = tempfile.mkstemp(dir=cache.tmp_dir(), prefix="dl-")
    tmp = Path(name)
    try:
        # the cache's disk refusing a write (full, a quota) is raised naming the file, for one sentence at the front
        # end: no download to ask again, nor a failure of the server's
        with naming(tmp), os.fdopen(fd, "wb") as sink:
            size, digests = retried(lambda: _copy_hashing(pick, artifact, sink, algorithms))
        yield tmp, size, digests
    except HashMismatchError as exc:
        raise _read_as_page(exc, tmp) from None
    finally:
        tmp.unlink(missing_ok=True)


def _place(tmp: Path, target: Path) -> None:
    """Move a verified download to its address in the cache: atomic, so the address only ever holds a whole file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)


class _Progress:
    """One line on a terminal, rewritten as files arrive: ``fetched 12/54 files, 3.4 MiB``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._total = self._count = self._bytes = 0

    def start(self, total: int) -> None:
        self._total, self._count, self._bytes = total, 0, 0

    def done(self, size: int) -> None:
        with self._lock:
            self._count += 1
            self._bytes += size
            self._stream.write(f"\rfetched {self._count}/{self._total} files, {self._bytes / 2**20:.1f} MiB")
            self._stream.flush()

    def finish(self) -> None:
        self._stream.write("\r\033[K")
        self._stream.flush()


def terminal() -> TextIO | None:
    """Standard error when it is a terminal (progress is shown there), else ``None``."""
    return sys.stderr if sys.stderr.isatty() else None


def _copy_hashing(
    pick: Pick, artifact: Artifact, sink: IO[bytes], algorithms: Sequence[str]
) -> tuple[int, dict[str, str]]:
    """Copy the file to ``sink`` (from its start, emptied: a retry starts over): its size, and its hex digests.

    A transfer that breaks off is a transient :class:`FetchError`: :func:`~tox_venvsync._http.retried` asks again.
    A write that the cache's disk refuses is the ``OSError`` it is.
    """
    import http.client  # noqa: PLC0415  # see the imports
    import urllib.error  # noqa: PLC0415

    sink.seek(0)
    sink.truncate()
    hashers = [hashlib.new(algorithm) for algorithm in algorithms]
    size = 0
    with _open_source(pick, artifact) as source:
        declared = getattr(source, "headers", {}).get("Content-Length")
        if declared is not None and not (declared.isascii() and declared.isdigit()):  # "²" is no number to int()
            declared = None  # read to its end, as a body of no length: the lock's size and hash check it
        _within_size(pick, artifact, int(declared) if declared is not None else 0)
        while True:
            try:
                chunk = source.read(_CHUNK)
            except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
                # as a connection that failed before the answer is said: a reset, a timeout, a body cut short
                from tox_venvsync._session import network_reason  # noqa: PLC0415  # a failure only

                raise FetchError(pick.name, artifact.location, network_reason(exc), transient=True) from exc
            except ValueError as exc:  # a read the body refuses (I/O operation on a closed file)
                reason = f"the download broke off ({' '.join(str(exc).split())}); try again"
                raise FetchError(pick.name, artifact.location, reason, transient=True) from exc
            if not chunk:
                break
            for hasher in hashers:
                hasher.update(chunk)
            sink.write(chunk)  # a full cache raises here, as it is: asking the server again would not make room
            size += len(chunk)
            _within_size(pick, artifact, size)
    if declared is not None and int(declared) != size:
        # a short body is a broken transfer, not a wrong file: say so instead of blaming the lock's hash
        reason = f"the download broke off after {size} of {declared} bytes; try again"
        raise FetchError(pick.name, artifact.location, reason, transient=True)
    return size, {algorithm: hasher.hexdigest() for algorithm, hasher in zip(algorithms, hashers, strict=True)}


def _within_size(pick: Pick, artifact: Artifact, size: int) -> None:
    """Stop a file that is (or says it will be) longer than the lock's ``size`` as soon as that shows.

    A server (or a ``path``, such as ``/dev/zero``) that sends more than the lock says would otherwise have the
    whole of it written to the cache's disk before the size is compared: an endless body filled the disk.
    """
    if artifact.size is not None and size > artifact.size:
        raise _mismatch(pick, artifact, "the size", f"{artifact.size} bytes", f"more than {artifact.size} bytes")


def _open_source(pick: Pick, artifact: Artifact) -> IO[bytes]:
    if artifact.path is not None:
        return _open_local(pick, artifact, artifact.path)
    url = artifact.url or ""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018  # a port that is no number raises here, not in the middle of a download
    except ValueError as exc:
        raise BadUrlError(pick.name, url, f"the URL is not valid ({exc}); correct it in the lock") from exc
    if parsed.scheme == "file":
        if parsed.netloc not in {"", "localhost"}:  # as pip refuses it: the host's path is not this machine's
            reason = (
                f"a file: URL names a file on this machine, and this one names one on {parsed.netloc}; "
                "write it file:///<path> (or serve the file over https)"
            )
            raise BadUrlError(pick.name, url, reason)
        return _open_local(pick, artifact, Path(unquote(parsed.path)))
    if parsed.scheme not in {"http", "https"}:
        reason = f"the URL scheme {parsed.scheme!r} is not supported; use https, http or file"
        raise BadUrlError(pick.name, url, reason)
    if _UNSENT.search(url):  # http.client refuses it, which was retried and told as the network's failure
        reason = "the URL holds a space or a control character, which a URL writes %-encoded; correct it in the lock"
        raise BadUrlError(pick.name, url, reason)
    import urllib.error  # noqa: PLC0415  # see the imports
    import urllib.request  # noqa: PLC0415

    from tox_venvsync._http import check_transport, timeout, transient_failure, transient_status  # noqa: PLC0415
    from tox_venvsync._session import NOT_THERE, answered, network_reason, open_url, through_proxy  # noqa: PLC0415

    check_transport(pick.name, url)
    request = urllib.request.Request(url, headers={"User-Agent": f"tox-venvsync/{__version__}"})  # noqa: S310
    try:
        response: IO[bytes] = open_url(request, timeout=timeout())
    except urllib.error.HTTPError as exc:
        with exc:  # close the error's connection
            reason = through_proxy(answered(exc, "server", request), url)
            if exc.code in NOT_THERE:  # the file is not at the lock's URL: the lock is to fix, as a bad URL is
                raise BadUrlError(pick.name, url, reason) from exc
            raise FetchError(pick.name, url, reason, transient=transient_status(exc.code)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = through_proxy(network_reason(exc, request), url, exc)
        raise FetchError(pick.name, url, reason, transient=transient_failure(exc)) from exc
    return response


#: what ``http.client`` refuses in a URL it sends (its ``InvalidURL``): a space, a control character
_UNSENT = re.compile(r"[\x00-\x20\x7f]")


#: what opening a path that names no file raises: nothing there, a file where a directory goes, a directory
_NO_FILE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR})


def _open_local(pick: Pick, artifact: Artifact, path: Path) -> IO[bytes]:
    try:
        if path.exists() and not path.is_file() and not path.is_dir():  # a pipe's open waits for ever for a writer
            reason = "it is not a regular file (a pipe or a device); correct the path in the lock"
            raise BadUrlError(pick.name, artifact.location, reason)
        return path.open("rb")
    except OSError as exc:
        if exc.errno in OUT_OF_FILES:  # out of file descriptors: no fault of the path in the lock
            raise
        reason = f"{exc.strerror}; check the path in the lock"
        if exc.errno in _NO_FILE:  # no file at the lock's path: the lock is to fix (exit code 2), as a 404 is
            raise BadUrlError(pick.name, artifact.location, reason) from exc
        raise FetchError(pick.name, artifact.location, reason) from exc
    except ValueError as exc:  # a NUL character in the lock's path: open() refuses it, as no file has such a name
        raise BadUrlError(pick.name, artifact.location, f"it is not a usable path ({exc}); correct the lock") from exc


def _verify(  # noqa: PLR0913  # what was expected and what was found, keyword-only
    pick: Pick, artifact: Artifact, *, algorithm: str, digest: str, size: int, actual: str
) -> None:
    # hash before install: a wrong byte count or digest means the file is not the one the lock pins
    if artifact.size is not None and size != artifact.size:
        raise _mismatch(pick, artifact, "the size", f"{artifact.size} bytes", f"{size} bytes")
    if actual != digest:
        raise _mismatch(pick, artifact, f"the {algorithm} hash", digest, actual)


def _mismatch(pick: Pick, artifact: Artifact, what: str, expected: str, actual: str) -> HashMismatchError:
    """The file of ``pick`` is not the one the lock pins: ``what`` (a size, a hash) is ``actual``, not ``expected``."""
    return HashMismatchError(
        pick.name, artifact.location, what=what, expected=expected, actual=actual, context=pick.context
    )


#: how a web page begins (after white space), in lower case: never how a wheel (a zip) or an sdist begins
_PAGE_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def _read_as_page(exc: HashMismatchError, download: Path) -> HashMismatchError:
    """``exc``, saying the server sent a web page, when the download is one (a proxy's login page, with 200 OK)."""
    with download.open("rb") as file:
        start = file.read(512).lstrip().lower()
    return exc.of_a_page() if start.startswith(_PAGE_STARTS) else exc


def _safe_filename(pick: Pick, artifact: Artifact) -> str:
    # the name comes from the lock: keep it a plain file name inside its cache directory
    name = Path(artifact.filename).name
    if not name or name in {".", ".."} or name != artifact.filename:
        raise FetchError(pick.name, artifact.location, f"the file name {artifact.filename!r} is not a plain file name")
    return name
