"""Tests of fetching artifacts into the content-addressed cache, each checked against the lock."""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import http.client
import io
import os
import shutil
import socket
import threading
import time
import urllib.error
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from filelock import FileLock
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.disks import FullDiskWriter, full_fdopen
from _support.index import LocalIndex
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import __version__, _fetch, _http, _interrupt, _values
from tox_venvsync._cache import Cache
from tox_venvsync._errors import BadInputError, BadUrlError, FetchError, HashMismatchError, LockFileError
from tox_venvsync._fetch import CacheFetcher
from tox_venvsync._indexes import IndexSource, ProjectIndexes
from tox_venvsync._lock import Artifact, Pick, Request
from tox_venvsync._lock._pylock import read_pylock

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_mock import MockerFixture

    from tox_venvsync._target import Target

_TAIL = "nothing was installed: check the lockfile or the index that serves this file"


def _pick(  # noqa: PLR0913  # each keyword overrides one field of the artifact
    wheel: Path,
    *,
    url: str | None = None,
    path: Path | None = None,
    hashes: Mapping[str, str] | None = None,
    size: int | None = -1,
    filename: str | None = None,
) -> Pick:
    if url is None and path is None:
        url = wheel.as_uri()
    name, version = wheel.name.split("-")[:2]
    return Pick(
        name=canonicalize_name(name),
        version=Version(version),
        kind="wheel",
        artifact=Artifact(
            filename=wheel.name if filename is None else filename,
            url=url,
            path=path,
            size=wheel.stat().st_size if size == -1 else size,
            hashes={"sha256": sha256_file(wheel)} if hashes is None else hashes,
        ),
    )


def _files(root: Path) -> list[str]:
    """Every file below root, relative and sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def cache(cache_dir: Path) -> Cache:
    return Cache(cache_dir)


def test_fetch_file_url(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    digest = sha256_file(wheel)
    got = CacheFetcher(cache).fetch([_pick(wheel)])
    stored = cache.root / "artifacts" / "sha256" / digest[:2] / digest / wheel.name
    assert got == {"pkg": stored}
    assert stored == cache.artifact("sha256", digest, wheel.name)
    assert stored.read_bytes() == wheel.read_bytes()
    assert _files(cache.root) == [f"artifacts/sha256/{digest[:2]}/{digest}/{wheel.name}"]
    assert wheel.is_file()  # the source is copied, not moved


def test_fetch_path(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    got = CacheFetcher(cache).fetch([_pick(wheel, path=wheel)])
    assert got == {"pkg": cache.artifact("sha256", sha256_file(wheel), wheel.name)}
    assert got["pkg"].read_bytes() == wheel.read_bytes()


@pytest.mark.parametrize("size", [-1, None], ids=["size", "no-size"])  # a requirements file's pins give no size
def test_fetch_http_once(wheelhouse: Path, cache: Cache, local_index: LocalIndex, size: int | None) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel, url=local_index.file_url(wheel.name), size=size)
    first = CacheFetcher(cache).fetch([pick])
    assert local_index.requests == [f"/files/{wheel.name}"]
    assert first["pkg"].read_bytes() == wheel.read_bytes()
    wheel.unlink()  # the index could not serve it again
    second = CacheFetcher(cache).fetch([pick])
    assert second == first
    assert local_index.requests == [f"/files/{wheel.name}"]


@pytest.mark.parametrize("first", ["stand-in", "same-file"])
def test_a_file_named_without_a_url_comes_from_the_first_source_that_serves_the_locked_bytes(
    tmp_path: Path, wheelhouse: Path, cache: Cache, local_index: LocalIndex, first: str
) -> None:
    # a pdm.lock names files without URLs, looked up on the project's sources in order; pages that give no digest may
    # list another file of that name (a public stand-in for a private package): its hash refuses it, the next is tried
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "PRIVATE = 1\n"})
    public = tmp_path / "public"
    public.mkdir()
    if first == "stand-in":
        make_wheel(public, "pkg", "1.0", modules={"pkg/__init__.py": "STAND_IN = 1\n"})
    else:
        shutil.copy(wheel, public / wheel.name)
    pick = _pick(wheel)
    assert pick.artifact is not None
    pick = _values.replace(pick, artifact=_values.replace(pick.artifact, url=None))
    with LocalIndex(public) as other:
        other.hashless = local_index.hashless = True
        sources = (
            IndexSource(name="public", url=other.simple_url),
            IndexSource(name="private", url=local_index.simple_url),
        )
        got = CacheFetcher(cache, indexes=lambda: ProjectIndexes(sources=sources)).fetch([pick])
        assert other.requests == ["/simple/pkg/", f"/files/{wheel.name}"]
    assert got["pkg"].read_bytes() == wheel.read_bytes()
    asked_private = ["/simple/pkg/", f"/files/{wheel.name}"] if first == "stand-in" else ["/simple/pkg/"]
    assert local_index.requests == asked_private


def test_fetch_many_in_parallel(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(5)]
    picks = [_pick(w, url=local_index.file_url(w.name)) for w in wheels]
    got = CacheFetcher(cache, workers=3).fetch(picks)
    assert list(got) == [f"pkg{i}" for i in range(5)]
    for wheel in wheels:
        assert got[wheel.name.split("-")[0]].read_bytes() == wheel.read_bytes()
    assert sorted(local_index.requests) == sorted(f"/files/{w.name}" for w in wheels)


def test_each_files_turn_is_taken_without_filelocks_machinery(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    # found by QA: filelock 4's FileLock cost 0.35-0.55 ms of CPU per file around its one flock call (a cold sync of
    # 2,000 wheels: 0.9 s); the turn is the same flock on the same file (the next tests: it still waits, and
    # filelock's own lock still holds it off)
    made = mocker.spy(FileLock, "__init__")
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    got = CacheFetcher(cache, workers=2).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert [got[f"pkg{i}"].read_bytes() for i in range(3)] == [w.read_bytes() for w in wheels]
    assert made.call_count == 0
    assert _files(cache.root) == sorted(str(p.relative_to(cache.root)) for p in got.values())  # no lock file left


def test_a_file_another_process_is_fetching_is_waited_for_and_not_fetched_again(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # tox p: the envs of one lock start together on a cold cache, and each downloaded every file
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    digest = sha256_file(wheel)
    other = FileLock(cache.download_lock("sha256", digest))  # the other process, fetching it
    other.acquire()
    got: dict[str, Path] = {}
    fetching = threading.Thread(
        target=lambda: got.update(CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))]))
    )
    fetching.start()
    fetching.join(1.0)
    assert fetching.is_alive()  # waiting for its turn, not downloading
    stored = cache.artifact("sha256", digest, wheel.name)
    stored.parent.mkdir(parents=True)
    shutil.copyfile(wheel, stored)  # what the other process stores, before it lets go
    other.release()
    fetching.join(20)
    assert got == {"pkg": stored}
    assert local_index.requests == []
    assert _files(cache.root) == [str(stored.relative_to(cache.root))]  # no lock file left


def test_a_fetch_waiting_for_another_process_stops_with_a_failure(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # another file refused for good: the thread waiting its turn for a file stops waiting (Ctrl-C does the same)
    waiting, refused = make_wheel(wheelhouse, "waiting", "1.0"), make_wheel(wheelhouse, "refused", "1.0")
    local_index.fail_paths[f"/files/{refused.name}"] = 403
    other = FileLock(cache.download_lock("sha256", sha256_file(waiting)))
    other.acquire()
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            CacheFetcher(cache, workers=2).fetch(
                [_pick(w, url=local_index.file_url(w.name)) for w in (waiting, refused)]
            )
        except FetchError as exc:
            failures.append(exc)

    fetching = threading.Thread(target=fetch)
    fetching.start()
    fetching.join(20)
    alive = fetching.is_alive()
    other.release()
    fetching.join()
    assert not alive  # without the stop it waits for the other process, however long that takes
    assert [f.name for f in failures if isinstance(f, FetchError)] == ["refused"]  # the failure, not the wait


def test_each_thread_fetches_its_files_on_one_connection(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # a TCP (and TLS) handshake per thread, not per file
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(8)]
    got = CacheFetcher(cache, workers=2).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert [got[f"pkg{i}"].read_bytes() for i in range(8)] == [w.read_bytes() for w in wheels]
    assert sorted(local_index.requests) == sorted(f"/files/{w.name}" for w in wheels)
    assert 1 <= local_index.connections <= 2


def test_every_request_on_a_kept_connection_carries_its_own_headers(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # found by mutation testing: a request sent on a kept connection is written by hand (see _http._Handler); no
    # test looked at its headers, and the request's own (User-Agent here, an index page's Accept) could be lost
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    CacheFetcher(cache, workers=1).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert local_index.connections == 1
    assert [headers.get("User-Agent") for headers in local_index.request_headers] == [f"tox-venvsync/{__version__}"] * 3


def test_a_kept_connection_the_server_closed_is_replaced(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    local_index.drop_idle = True  # every kept connection is gone when the next request is sent on it
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(4)]
    got = CacheFetcher(cache, workers=1).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert [got[f"pkg{i}"].read_bytes() for i in range(4)] == [w.read_bytes() for w in wheels]
    assert local_index.connections == 4


def test_after_a_failure_no_thread_starts_another_file(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(5)]
    local_index.fail_paths[f"/files/{wheels[0].name}"] = 403  # a failure that is not asked again
    with pytest.raises(FetchError, match="HTTP 403"):
        CacheFetcher(cache, workers=1).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert local_index.requests == [f"/files/{wheels[0].name}"]


def test_a_tox_ctrl_c_that_came_before_the_downloads_is_that_ctrl_c_and_fetches_nothing(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # found by mutation testing: tox's Ctrl-C (its main thread interrupts the environment) that stops the download
    # threads between two files leaves no failure to raise; the check after them is what ends the fetch as Ctrl-C
    # does, not with the files it never fetched missing from its answer
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    interrupt = _interrupt.Interrupt()
    interrupt.set()  # before the first file: no thread starts one
    token = _interrupt.CURRENT.set(interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            CacheFetcher(cache, workers=2).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    finally:
        _interrupt.CURRENT.reset(token)
    assert local_index.requests == []
    assert not (cache.root / "artifacts").exists() or not any((cache.root / "artifacts").rglob("*.whl"))


def test_a_file_sent_on_twice_names_the_last_place_it_failed_at(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by mutation testing: each redirect hands the chain's list of places on to the next request; without it
    # a failure after the second redirect was blamed on the first place it was sent on to
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with socket.socket() as probe:  # closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/files/{wheel.name}"
    mirror = f"{local_index.url}/mirror/{wheel.name}"
    local_index.redirect_paths[f"/files/{wheel.name}"] = mirror
    local_index.redirect_paths[f"/mirror/{wheel.name}"] = dead
    url = local_index.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server sent the request on to {dead}, and there: the host refused the "
        "connection (Connection refused): nothing listens on that port; check the URL's host and port"
    )


def test_each_downloaded_file_is_handed_on_as_it_arrives(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(4)]
    picks = [_pick(w, url=local_index.file_url(w.name)) for w in wheels]
    CacheFetcher(cache).fetch(picks[:1])  # one is in the cache already
    arrived: list[tuple[str, bytes]] = []
    got = CacheFetcher(cache, on_fetched=lambda p, path: arrived.append((p.name, path.read_bytes()))).fetch(picks)
    downloaded = {name: path for name, path in got.items() if name != "pkg0"}
    assert sorted(arrived) == sorted((name, path.read_bytes()) for name, path in downloaded.items())
    assert len(arrived) == len(wheels) - 1  # the cached one was unpacked when it came
    bad = _pick(wheels[0], url=local_index.file_url(wheels[0].name), hashes={"sha256": "0" * 64})
    arrived.clear()
    with pytest.raises(HashMismatchError):
        CacheFetcher(cache, on_fetched=lambda p, _: arrived.append((p.name, b""))).fetch([bad])
    assert arrived == []  # only verified files are handed on


def test_progress_counts_the_downloads_and_a_cached_file_starts_no_thread(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    picks = [_pick(w, url=local_index.file_url(w.name)) for w in wheels]
    CacheFetcher(cache).fetch(picks[:1])
    shown = io.StringIO()
    got = CacheFetcher(cache, progress=shown).fetch(picks)
    assert list(got) == ["pkg0", "pkg1", "pkg2"]  # in the picks' order, the cached one included
    assert shown.getvalue() == "\rfetched 1/2 files, 0.0 MiB\rfetched 2/2 files, 0.0 MiB\r\033[K"
    pool = mocker.patch("concurrent.futures.ThreadPoolExecutor")
    shown = io.StringIO()
    assert CacheFetcher(cache, progress=shown).fetch(picks) == got  # every file cached: no thread, no progress
    assert (pool.call_count, shown.getvalue()) == (0, "")


def test_fetch_nothing(cache: Cache) -> None:
    assert CacheFetcher(cache).fetch([]) == {}
    assert not cache.root.exists()


def test_strongest_hash_names_the_address(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    sha512 = hashlib.sha512(wheel.read_bytes()).hexdigest()
    hashes = {"sha256": "0" * 64, "sha512": sha512.upper(), "md5": "x"}  # a wrong weaker hash is not checked
    got = CacheFetcher(cache).fetch([_pick(wheel, hashes=hashes)])
    assert got == {"pkg": cache.root / "artifacts" / "sha512" / sha512[:2] / sha512 / wheel.name}


@pytest.mark.reliability("hostile")
def test_sha256_mismatch(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    wrong = "ab" * 32
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url, hashes={"sha256": wrong})])
    assert (
        str(info.value)
        == f"the sha256 hash of pkg from {url} is {sha256_file(wheel)} but the lock says {wrong}; {_TAIL}"
    )
    assert (info.value.expected, info.value.actual) == (wrong, sha256_file(wheel))
    assert info.value.exit_code == 2  # bad input: the lock or its index is to fix
    assert _files(cache.root) == []  # nothing at the address, nothing left in tmp/
    assert (cache.root / "tmp").is_dir()


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_lock_path_that_is_a_pipe_or_a_device_is_refused_not_read(
    wheelhouse: Path, cache: Cache, tmp_path: Path, kind: str
) -> None:
    # a pipe's open waited for ever for a writer; a device (/dev/zero) was read until the size check
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    if kind == "fifo":
        path = tmp_path / "pkg-1.0-py3-none-any.whl"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    done: list[BaseException] = []

    def fetch() -> None:
        try:
            CacheFetcher(cache).fetch([_pick(wheel, path=path)])
        except BadUrlError as exc:
            done.append(exc)

    fetching = threading.Thread(target=fetch, daemon=True)
    fetching.start()
    fetching.join(20)
    if fetching.is_alive():  # let the blocked open go before the test ends
        with contextlib.suppress(OSError), open(path, "wb"):  # noqa: PTH123
            pass
    assert [str(exc) for exc in done] == [
        f"cannot fetch pkg from {path}: it is not a regular file (a pipe or a device); correct the path in the lock"
    ]
    assert done[0].exit_code == 2  # type: ignore[attr-defined]
    assert _files(cache.root) == []


@pytest.mark.parametrize("size", [None, -1], ids=["hash-only", "with-size"])
@pytest.mark.parametrize("page", [b"\n  <!DOCTYPE html>\n<html><body>Sign in</body></html>\n", b"<HTML>busy</HTML>"])
def test_a_web_page_served_for_the_file_is_named_as_such(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, page: bytes, size: int | None
) -> None:
    # a proxy's login page or an index's error page sent with 200 OK was only "a hash mismatch: check the lockfile
    # or the index", which sent the user to the lock
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel, url=local_index.file_url(wheel.name), size=size)
    wheel.write_bytes(page)  # what the server now sends for it
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([pick])
    assert str(info.value).endswith(
        "nothing was installed: the server sent a web page, not the file (a login or error page?): check the URL "
        "and its login"
    )
    assert "the server sent a web page" in str(info.value.of(Path("/src/pylock.toml")))
    assert info.value.exit_code == 2
    assert _files(cache.root) == []


def test_a_wrong_file_that_is_no_web_page_keeps_the_usual_advice(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel, url=local_index.file_url(wheel.name), size=None)
    wheel.write_bytes(b"PK\x03\x04 <html> in a zip's first bytes")
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([pick])
    assert str(info.value).endswith(_TAIL)


@pytest.mark.reliability("hostile")
def test_size_mismatch(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    real = wheel.stat().st_size
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, path=wheel, size=real + 1)])
    assert (
        str(info.value) == f"the size of pkg from {wheel} is {real} bytes but the lock says {real + 1} bytes; {_TAIL}"
    )
    assert _files(cache.root) == []


@pytest.mark.reliability("hostile")
def test_a_lock_size_of_0_admits_an_empty_file_only(wheelhouse: Path, cache: Cache) -> None:
    # a size of 0 is a size (PEP 751: an integer, optional), not "no size": a file with any byte is refused, an
    # empty one with the lock's hash is taken
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, path=wheel, size=0)])
    assert str(info.value) == f"the size of pkg from {wheel} is more than 0 bytes but the lock says 0 bytes; {_TAIL}"
    assert _files(cache.root) == []
    empty = wheelhouse / "empty" / wheel.name
    empty.parent.mkdir()
    empty.write_bytes(b"")
    fetched = CacheFetcher(cache).fetch([_pick(empty, path=empty, size=0)])
    assert fetched["pkg"].read_bytes() == b""


@pytest.mark.reliability("hostile")
def test_a_file_longer_than_the_lock_says_is_stopped_as_soon_as_that_shows(wheelhouse: Path, cache: Cache) -> None:
    # a path (or a server) that sends more than the lock's size (/dev/zero, an endless body) filled the disk
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    endless = wheelhouse / "endless.whl"
    with endless.open("wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MiB to read, none of the test's disk
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, path=endless, size=100)])
    expected = f"the size of pkg from {endless} is more than 100 bytes but the lock says 100 bytes; {_TAIL}"
    assert str(info.value) == expected  # said after the first chunk, not after reading (and writing) 64 MiB
    assert _files(cache.root) == []


@pytest.mark.reliability("hostile")
def test_a_download_announcing_more_than_the_lock_says_is_not_read(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    real = wheel.stat().st_size
    url = local_index.file_url(wheel.name)
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url, size=real - 1)])
    assert str(info.value) == (
        f"the size of pkg from {url} is more than {real - 1} bytes but the lock says {real - 1} bytes; {_TAIL}"
    )
    assert _files(cache.root) == []


def test_a_download_announcing_more_than_the_lock_says_is_refused_before_its_body_is_read(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    # the Content-Length alone stops it: a body read to its end would be a transfer broken off, and asked again
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    real = wheel.stat().st_size
    path = f"/files/{wheel.name}"
    local_index.content_lengths[path] = str(real * 1000)
    url = local_index.file_url(wheel.name)
    with pytest.raises(HashMismatchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url, size=real)])
    assert (
        str(info.value)
        == f"the size of pkg from {url} is more than {real} bytes but the lock says {real} bytes; {_TAIL}"
    )
    assert local_index.requests == [path]  # a file that is not the locked one is not asked for again
    assert _files(cache.root) == []


class _BreaksOff(io.BytesIO):
    """A body that breaks off after its bytes, once (a connection reset in the middle of a transfer)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.broke = False

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if chunk or self.broke:
            return chunk
        self.broke = True
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")


def test_a_download_asked_again_after_it_broke_off_starts_over(
    wheelhouse: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first answer wrote more bytes than the file has before it broke off: none of them is left in the file the
    # cache keeps (a lock without sizes: nothing stops the first answer early)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    real_open = _fetch._open_source
    opened: list[str] = []

    def open_source(pick: Pick, artifact: Artifact) -> io.BufferedIOBase:
        opened.append(pick.name)
        if len(opened) == 1:
            return _BreaksOff(b"x" * 3 * wheel.stat().st_size)
        return cast("io.BufferedIOBase", real_open(pick, artifact))

    monkeypatch.setattr(_fetch, "_open_source", open_source)
    got = CacheFetcher(cache).fetch([_pick(wheel, size=None)])
    assert got["pkg"].read_bytes() == wheel.read_bytes()
    assert opened == ["pkg", "pkg"]


def test_a_download_that_breaks_off_says_why_in_words(
    wheelhouse: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: "the download broke off (ConnectionResetError(104, 'Connection reset by peer'))", a Python repr
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    monkeypatch.setattr(_fetch, "_open_source", lambda _pick, _artifact: _BreaksOff(b"x" * 10))
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, size=None)])
    assert info.value.reason == "the connection was cut off on the way (Connection reset by peer); try again"
    assert info.value.transient


def test_size_unknown_is_fine(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    got = CacheFetcher(cache).fetch([_pick(wheel, size=None)])
    assert got["pkg"].read_bytes() == wheel.read_bytes()


@pytest.mark.reliability("hostile")
def test_cached_file_of_another_size_is_not_trusted(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    address = cache.artifact("sha256", sha256_file(wheel), wheel.name)
    address.parent.mkdir(parents=True)
    address.write_bytes(b"half")
    got = CacheFetcher(cache).fetch([_pick(wheel)])
    assert got["pkg"].read_bytes() == wheel.read_bytes()


@pytest.mark.reliability("hostile")
def test_http_500(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    local_index.fail_paths[f"/files/{wheel.name}"] = 500
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server answered HTTP 500 Internal Server Error; a failure on the server's "
        "side: try again later (asked 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
    )
    assert (info.value.name, info.value.source) == ("pkg", url)
    assert _files(cache.root) == []


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the leak has its own test below
def test_http_410_says_what_to_do(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    # a lock's file the server no longer has (a release deleted, a mirror cleaned) named no remedy (found by QA)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    local_index.fail_paths[f"/files/{wheel.name}"] = 410
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server answered HTTP 410 Gone; the file is not at that URL: check the URL "
        "in the lock, or lock again"
    )
    assert not info.value.transient
    del info
    gc.collect()


@pytest.mark.reliability("hostile")
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the leak has its own test below
def test_http_404(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url("pkg-9.0-py3-none-any.whl")
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server answered HTTP 404 Not Found; the file is not at that URL: check the "
        "URL in the lock, or lock again"
    )
    assert info.value.exit_code == 2  # the lock is to fix: no network mends it
    del info
    gc.collect()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_http_error_closes_the_connection(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url("pkg-9.0-py3-none-any.whl"))])
    cause = info.value.__cause__
    assert isinstance(cause, urllib.error.HTTPError)
    assert cause.fp.closed


def test_connection_refused(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/files/{wheel.name}"
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value).startswith(f"cannot fetch pkg from {url}: ")
    # "[Errno 111] Connection refused; check the network or the index" was Python's text: what it means, and to do
    assert info.value.reason == (
        "the host refused the connection (Connection refused): nothing listens on that port; check the URL's host and "
        "port (asked 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
    )
    assert _files(cache.root) == []


def test_a_full_cache_is_no_download_to_ask_again(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: a cache on a full disk read "the download broke off (OSError(28, 'No space left on device')) (asked
    # 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)": a network failure, downloaded four times over
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    monkeypatch.setattr(os, "fdopen", full_fdopen)
    FullDiskWriter.writes = 0
    with pytest.raises(OSError, match="No space left on device") as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert Path(info.value.filename).parent == cache.tmp_dir()  # the download's file, in the cache: one sentence
    assert Path(info.value.filename).name.startswith("dl-")
    assert (FullDiskWriter.writes, local_index.requests) == (1, [f"/files/{wheel.name}"])  # asked once
    assert _files(cache.root) == []


def test_a_file_that_cannot_be_opened_for_want_of_descriptors_is_not_a_wrong_path(
    wheelhouse: Path, cache: Cache, mocker: MockerFixture
) -> None:
    # ulimit -n 16 and eight downloads at a time: "cannot fetch p18 from file:///...: Too many open files; check the
    # path in the lock" (found by QA); the error is raised as it is, for the front end's sentence about the limit
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel, path=wheel)
    too_many = OSError(errno.EMFILE, os.strerror(errno.EMFILE), str(wheel))
    real_open = Path.open
    mocker.patch.object(
        Path, "open", lambda path, *a, **k: _raise(too_many) if path == wheel else real_open(path, *a, **k)
    )
    with pytest.raises(OSError, match="Too many open files") as info:
        CacheFetcher(cache).fetch([pick])
    assert not isinstance(info.value, FetchError)
    assert _files(cache.root) == []


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.mark.reliability("hostile")
def test_truncated_download_leaves_no_partial_file(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.truncate_paths.add(f"/files/{wheel.name}")
    with pytest.raises((FetchError, HashMismatchError)):
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert _files(cache.root) == []


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("size", [True, False], ids=["with-size", "without-size"])
def test_truncated_download_is_a_fetch_error(
    wheelhouse: Path,
    cache: Cache,
    local_index: LocalIndex,
    size: bool,  # noqa: FBT001  # a parameter
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    local_index.truncate_paths.add(f"/files/{wheel.name}")
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url, size=wheel.stat().st_size if size else None)])
    assert str(info.value).startswith(f"cannot fetch pkg from {url}: the download broke off")


@pytest.mark.reliability("hostile")
def test_no_strong_hash(wheelhouse: Path, cache: Cache, local_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    with pytest.raises(BadInputError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url, hashes={"md5": hashlib.md5(wheel.read_bytes()).hexdigest()})])  # noqa: S324
    assert str(info.value) == (
        f"the lock gives pkg's file {url} no sha256, sha384 or sha512 hash, so its bytes cannot be checked before it "
        "is installed; lock it again with hashes (uv records none for the wheels of a local flat index: serve them "
        "as a simple index)"
    )
    assert info.value.exit_code == 2  # the lock is to fix
    assert local_index.requests == []
    assert not cache.root.exists()


@pytest.mark.reliability("hostile")
def test_no_strong_hash_from_a_lock(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, tmp_path: Path, python312: Path
) -> None:
    from tox_venvsync._target import query_interpreter  # noqa: PLC0415  # only this test asks an interpreter

    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    entry = wheel_entry(wheel, url=local_index.file_url(wheel.name))
    entry["hashes"] = {"sha1": hashlib.sha1(wheel.read_bytes()).hexdigest()}  # noqa: S324
    path = write_pylock(tmp_path / "pylock.toml", [package_entry("pkg", "1.0", [entry])])
    target: Target = query_interpreter(python312)
    with pytest.raises(LockFileError) as refused:  # the pylock reader refuses it first, naming the key
        read_pylock(path).select(target, Request())
    assert str(refused.value) == (
        f"{path} at packages[0].wheels[0].hashes: sha1 only: no sha256, sha384 or sha512 hash to check the file's "
        "bytes with before it is installed; add one, or lock again with the tool that wrote the file"
    )
    # the fetcher refuses it too, whatever reader made the pick
    artifact = Artifact(filename=wheel.name, url=str(entry["url"]), path=None, size=None, hashes=entry["hashes"])  # type: ignore[arg-type]
    picks = [Pick(name=canonicalize_name("pkg"), version=None, kind="wheel", artifact=artifact, context="x")]
    with pytest.raises(BadInputError) as info:
        CacheFetcher(cache).fetch(picks)
    assert f"the lock gives pkg's file {entry['url']} at x no sha256, sha384 or sha512 hash" in str(info.value)
    assert local_index.requests == []


@pytest.mark.parametrize("filename", ["sub/pkg-1.0-py3-none-any.whl", "..", "/etc/passwd", ""])
def test_filename_must_be_plain(wheelhouse: Path, cache: Cache, filename: str) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, filename=filename)])
    assert (
        str(info.value)
        == f"cannot fetch pkg from {wheel.as_uri()}: the file name {filename!r} is not a plain file name"
    )
    assert not (cache.root / "artifacts").exists()


def test_missing_local_file(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel, path=wheel)
    wheel.unlink()
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([pick])
    assert str(info.value) == f"cannot fetch pkg from {wheel}: No such file or directory; check the path in the lock"
    assert info.value.exit_code == 2  # the lock is to fix
    assert _files(cache.root) == []


def test_missing_file_url(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    pick = _pick(wheel)
    wheel.unlink()
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([pick])
    assert str(info.value) == (
        f"cannot fetch pkg from {wheel.as_uri()}: No such file or directory; check the path in the lock"
    )
    assert info.value.exit_code == 2


def test_a_gone_file_and_a_path_through_a_file_are_bad_input(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, tmp_path: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.fail_paths[f"/files/{wheel.name}"] = 410
    with pytest.raises(BadUrlError) as gone:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert gone.value.exit_code == 2
    in_a_file = tmp_path / "a-file"
    in_a_file.write_text("")
    with pytest.raises(BadUrlError) as through:  # a file where the lock's path has a directory (ENOTDIR)
        CacheFetcher(cache).fetch([_pick(wheel, path=in_a_file / wheel.name)])
    assert through.value.exit_code == 2


def test_file_url_with_quoted_characters(tmp_path: Path, cache: Cache) -> None:
    wheel = make_wheel(tmp_path / "my wheels", "pkg", "1.0")
    assert "%20" in wheel.as_uri()
    got = CacheFetcher(cache).fetch([_pick(wheel)])
    assert got["pkg"].read_bytes() == wheel.read_bytes()


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("unsent", ["\x1b[31mRED\x1b[0m", " ", "\r\n"])
def test_a_url_http_will_not_send_is_bad_input_asked_once_and_shown_escaped(
    wheelhouse: Path, cache: Cache, unsent: str
) -> None:
    # http.client refuses a URL with a control character or a space (InvalidURL): that was taken for the network's
    # failure, asked four times, exit code 1, and the lock's escape sequence printed as it was (found by QA)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = f"http://127.0.0.1:9/{unsent}/{wheel.name}"
    with pytest.raises(BadUrlError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    shown = unsent.encode("unicode_escape").decode("ascii")
    assert str(info.value) == (
        f"cannot fetch pkg from http://127.0.0.1:9/{shown}/{wheel.name}: the URL holds a space or a control "
        "character, which a URL writes %-encoded; correct it in the lock"
    )
    assert str(info.value).isprintable()
    assert info.value.exit_code == 2
    assert _files(cache.root) == []


def test_an_index_url_http_will_not_send_is_not_asked_again() -> None:
    # an index page's URL (a lock's index, a requirements --index-url) goes to the same retry's verdict
    assert not _http.transient_failure(http.client.InvalidURL("URL can't contain control characters"))


def test_a_path_with_a_nul_character_is_bad_input_not_a_traceback(wheelhouse: Path, cache: Cache) -> None:
    # open() raised ValueError for a uv.lock path = "a\\u0000b.whl" (found by QA)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(BadUrlError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, path=wheelhouse / "a\x00b.whl")])
    assert str(info.value) == (
        f"cannot fetch pkg from {wheelhouse}/a\\x00b.whl: it is not a usable path (embedded null byte); "
        "correct the lock"
    )
    assert info.value.exit_code == 2


def test_unsupported_scheme(wheelhouse: Path, cache: Cache) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = f"ftp://127.0.0.1/{wheel.name}"
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the URL scheme 'ftp' is not supported; use https, http or file"
    )
    assert info.value.exit_code == 2  # the lock is to fix, not the network
    assert _files(cache.root) == []


def test_a_file_url_of_another_host_is_refused_not_read_here(wheelhouse: Path, cache: Cache) -> None:
    # file://host/path read this machine's /path, as if the host were not there; pip refuses such a URL
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    assert CacheFetcher(cache).fetch([_pick(wheel, url=f"file://localhost{wheel}")])["pkg"].is_file()
    url = f"file://buildhost.example{wheel}"
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache.root / "other")).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: a file: URL names a file on this machine, and this one names one on "
        "buildhost.example; write it file:///<path> (or serve the file over https)"
    )
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://[::1/pkg-1.0-py3-none-any.whl", "Invalid IPv6 URL"),
        ("https://host.example:port/pkg-1.0-py3-none-any.whl", "Port could not be cast to integer value as 'port'"),
    ],
)
def test_a_url_that_does_not_parse_is_one_sentence(wheelhouse: Path, cache: Cache, url: str, reason: str) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == f"cannot fetch pkg from {url}: the URL is not valid ({reason}); correct it in the lock"
    assert info.value.exit_code == 2
    assert _files(cache.root) == []


def test_plain_http_sets_up_no_tls(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    # urlopen() makes a new opener, and a TLS context loading the system's certificates, per request
    import ssl  # noqa: PLC0415

    from tox_venvsync import _http, _session  # noqa: PLC0415

    _http._tls_context.cache_clear()
    made = mocker.spy(ssl.SSLContext, "load_default_certs")  # what makes a context costly
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    got = CacheFetcher(cache).fetch([_pick(w, url=local_index.file_url(w.name)) for w in wheels])
    assert len(got) == 3
    assert made.call_count == 0
    assert _session._opener() is _session._opener()  # one opener for the process


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("answers", [[503, 502], [500], [429], [0], [0, 504, 0]], ids=str)
def test_a_failure_that_may_pass_is_asked_again_as_uv_and_pip_do(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, answers: list[int]
) -> None:
    # a server's 5xx or 429, or a body cut short (0): uv and pip ask again (3 and 5 times); a lock's sync failed at once
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    path = f"/files/{wheel.name}"
    local_index.flaky_paths[path] = list(answers)
    got = CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert got["pkg"].read_bytes() == wheel.read_bytes()
    assert local_index.requests == [path] * (len(answers) + 1)
    assert [p for p in _files(cache.root) if not p.startswith("artifacts/")] == []


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            (
                "the host name could not be looked up (Name or service not known); check the URL's host and the "
                "network's DNS; without a network, sync with tox --sync-offline from a cache that holds the files"
            ),
        ),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            (
                "the network does not reach the host (Network is unreachable); check the network connection; without "
                "a network, sync with tox --sync-offline from a cache that holds the files"
            ),
        ),
    ],
    ids=["dns", "unreachable"],
)
def test_a_host_that_cannot_be_reached_is_said_in_words(
    wheelhouse: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch, error: OSError, said: str
) -> None:
    # found by QA: "[Errno -2] Name or service not known; check the network or the index", Python's own text
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(socket, "create_connection", refuse)
    url = f"https://pkgs.example/files/{wheel.name}"
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert info.value.reason == said
    assert info.value.exit_code == 1  # the network, not the input: as uv and pip, a failed sync


@pytest.mark.reliability("hostile")
def test_a_failure_that_lasts_is_asked_three_times_more_and_named_so(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    local_index.fail_paths[f"/files/{wheel.name}"] = 503
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server answered HTTP 503 Service Unavailable; a failure on the server's "
        "side: try again later (asked 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
    )
    assert len(local_index.requests) == 4
    assert _files(cache.root) == []


@pytest.mark.parametrize(("status", "asked"), [(404, 1), (403, 1), (501, 1), (408, 4)])
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # an HTTPError's connection: see test_http_error_closes...
def test_only_a_failure_that_may_pass_is_asked_again(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, status: int, asked: int
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.fail_paths[f"/files/{wheel.name}"] = status
    with pytest.raises(FetchError):
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert len(local_index.requests) == asked


@pytest.mark.parametrize(("value", "asked"), [("0", 1), (" 1 ", 2)])
def test_tox_venvsync_http_retries_sets_how_often(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    wheelhouse: Path,
    cache: Cache,
    local_index: LocalIndex,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    asked: int,
) -> None:
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", value)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.fail_paths[f"/files/{wheel.name}"] = 502
    with pytest.raises(FetchError):
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert len(local_index.requests) == asked


@pytest.mark.parametrize("declared", ["\u00b2", "many"])
def test_a_download_whose_content_length_is_no_ascii_number_is_read_to_its_end(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, declared: str
) -> None:
    # "²" is a digit to str.isdigit and no number to int(): the download ended in a ValueError traceback (found
    # by QA); the body is read to its end and checked by the lock's size and hash, as any without a length
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.content_lengths[f"/files/{wheel.name}"] = declared
    fetched = CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()


# "²" is a digit to str.isdigit but no number to int(): it ended the sync in a ValueError traceback (found by QA)
@pytest.mark.parametrize("value", ["three", "\u00b2", "-1"])
def test_a_number_of_retries_that_is_none_is_bad_input(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", value)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(BadInputError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert str(info.value) == (
        f"TOX_VENVSYNC_HTTP_RETRIES={value!r} is not a number of retries; set it to 0 (never ask again) or more, "
        "or unset it"
    )
    assert local_index.requests == []


@pytest.mark.parametrize(
    ("retry_after", "waits"),
    [
        (None, [0.5, 1.0, 2.0]),
        ("2", [2.0, 2.0, 2.0]),
        ("3600", [30.0, 30.0, 30.0]),
        ("\u00b2", [0.5, 1.0, 2.0]),  # a digit to str.isdigit, no number to float(): a traceback (found by QA)
    ],
)
def test_the_waits_double_and_a_servers_retry_after_is_granted_up_to_half_a_minute(  # noqa: PLR0913, PLR0917  # fixtures
    wheelhouse: Path,
    cache: Cache,
    local_index: LocalIndex,
    mocker: MockerFixture,
    retry_after: str | None,
    waits: list[float],
) -> None:
    mocker.patch.object(_http, "_BACKOFF", 0.5)
    waited = mocker.patch.object(_http, "_waited", return_value=True)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.flaky_paths[f"/files/{wheel.name}"] = [429] * 4
    local_index.retry_after = retry_after
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert [c.args[0] for c in waited.call_args_list] == waits
    # the last answer's words say to wait, and whether the server's Retry-After was (its figure counts only if read)
    granted = ", waiting as its Retry-After asked, 30 s at most" if waits[0] != 0.5 else ""
    assert info.value.reason == (
        "the server answered HTTP 429 Too Many Requests; the server limits how often it is asked: try again later "
        f"(asked 4 times{granted}; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
    )


def test_a_fetch_that_stops_waits_for_no_retry(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    # one file refused for good: the thread waiting to ask again for another stops waiting (Ctrl-C does the same)
    mocker.patch.object(_http, "_BACKOFF", 60.0)
    flaky, refused = make_wheel(wheelhouse, "flaky", "1.0"), make_wheel(wheelhouse, "refused", "1.0")
    local_index.fail_paths[f"/files/{flaky.name}"] = 503
    local_index.fail_paths[f"/files/{refused.name}"] = 403
    started = time.monotonic()
    with pytest.raises(FetchError):
        CacheFetcher(cache, workers=2).fetch([_pick(w, url=local_index.file_url(w.name)) for w in (flaky, refused)])
    assert time.monotonic() - started < 30
    assert local_index.requests.count(f"/files/{refused.name}") == 1
    # asked once, or not at all when the refusal came before its first request (a loaded machine): never again
    assert local_index.requests.count(f"/files/{flaky.name}") <= 1


@pytest.mark.reliability("hostile")
def test_tox_venvsync_http_timeout_sets_how_long_a_silent_server_is_waited_for(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fixed minute per request (four with the retries) where uv's UV_HTTP_TIMEOUT and pip's --timeout set it
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_TIMEOUT", "0.5")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name)
    local_index.stall_paths.add(f"/files/{wheel.name}")
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=url)])
    assert time.monotonic() - started < 10
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server did not answer within 0.5 s (timed out); try again later, or give "
        "it longer with TOX_VENVSYNC_HTTP_TIMEOUT (asked 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
    )
    assert _files(cache.root) == []


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_a_timeout_that_is_no_positive_number_of_seconds_is_bad_input(
    wheelhouse: Path, cache: Cache, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_TIMEOUT", value)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(BadInputError) as info:
        CacheFetcher(cache).fetch([_pick(wheel, url=local_index.file_url(wheel.name))])
    assert str(info.value) == (
        f"TOX_VENVSYNC_HTTP_TIMEOUT={value!r} is not a number of seconds above 0; set it to one (60 when unset), or "
        "unset it"
    )
    assert local_index.requests == []
