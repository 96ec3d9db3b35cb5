"""The benchmark's wheelhouse: every wheel of the bench project's locks, fetched once, served on 127.0.0.1.

``download`` reads the ``uv.lock`` files (base and bump), keeps the wheels an interpreter can install (its tags),
fetches each once from PyPI into ``bench/.work/wheelhouse/`` (hash checked) and adds the hand-installed extra.
``WheelIndex`` serves a directory of wheels as a PEP 503 simple index (``/simple/<name>/``) and as plain files
(``/files/<filename>``); the ``rewrite_*`` functions point a lock at it, so every tool fetches locally.

Run on its own: ``python bench/wheelhouse.py [--serve]`` downloads (with the running interpreter's tags) and,
with ``--serve``, serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import re
import shutil
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

import tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from typing_extensions import Self

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH / "project"
WORK = BENCH / ".work"
WHEELHOUSE = WORK / "wheelhouse"
#: installed by hand into a synced env for the remove-extra scenario; in no lock
EXTRA = ("six", "1.17.0")
_PYPI_FILES = re.compile(r'"https://files\.pythonhosted\.org/packages/[^"]+/([^/"]+)"')
_PYPI_SIMPLE = '"https://pypi.org/simple"'
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class WheelRef:
    """One wheel a lock names: where PyPI has it and its sha256."""

    filename: str
    url: str
    sha256: str


def normalize(name: str) -> str:
    """PEP 503's normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    return normalize(filename.split("-", 1)[0])


def _wheel_tags(filename: str) -> set[str]:
    python, abi, platform = filename.removesuffix(".whl").split("-")[-3:]
    return {f"{p}-{a}-{x}" for p in python.split(".") for a in abi.split(".") for x in platform.split(".")}


def lock_wheels(locks: Iterable[Path], tags: set[str]) -> list[WheelRef]:
    """The wheels of ``uv.lock`` files that an interpreter with ``tags`` can install, once each."""
    found: dict[str, WheelRef] = {}
    for lock in locks:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
        for package in data.get("package", []):
            for wheel in package.get("wheels", []):
                filename = wheel["url"].rsplit("/", 1)[1]
                if _wheel_tags(filename) & tags:
                    algorithm, _, digest = wheel["hash"].partition(":")
                    if algorithm != "sha256":
                        msg = f"{filename}: only sha256 hashes are handled, got {algorithm}"
                        raise ValueError(msg)
                    found[filename] = WheelRef(filename, wheel["url"], digest)
    return sorted(found.values(), key=lambda ref: ref.filename)


def extra_wheel() -> WheelRef:
    """The hand-installed extra's wheel, from PyPI's simple API (PEP 691 JSON)."""
    name, version = EXTRA
    request = urllib.request.Request(
        f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    for file in files:
        if file["filename"].startswith(f"{name}-{version}-") and file["filename"].endswith(".whl"):
            return WheelRef(file["filename"], file["url"], file["hashes"]["sha256"])
    msg = f"{name} {version} has no wheel on PyPI"
    raise LookupError(msg)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(ref: WheelRef, dest: Path) -> bool:
    target = dest / ref.filename
    if target.is_file() and sha256_file(target) == ref.sha256:
        return False
    partial = dest / f".{ref.filename}.part"
    with urllib.request.urlopen(ref.url, timeout=300) as response, partial.open("wb") as sink:
        shutil.copyfileobj(response, sink, _CHUNK)
    if (got := sha256_file(partial)) != ref.sha256:
        partial.unlink()
        msg = f"{ref.filename}: sha256 {got} is not the locked {ref.sha256}"
        raise ValueError(msg)
    partial.replace(target)
    return True


def download(tags: set[str], dest: Path = WHEELHOUSE) -> list[Path]:
    """Fetch every installable wheel of the bench locks plus the extra into ``dest`` (once); return their paths."""
    refs = [*lock_wheels([PROJECT / "uv.lock", PROJECT / "bump" / "uv.lock"], tags), extra_wheel()]
    dest.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        fetched = sum(pool.map(lambda ref: _fetch(ref, dest), refs))
    if fetched:
        print(f"wheelhouse: fetched {fetched} of {len(refs)} wheels into {dest}", file=sys.stderr)
    return [dest / ref.filename for ref in refs]


# --- pointing the locks at the local index


def rewrite_uv_lock(text: str, index: str) -> str:
    """A ``uv.lock`` whose registry and file URLs are the local index's."""
    text = text.replace(f"registry = {_PYPI_SIMPLE}", f'registry = "{index}/simple"')
    return _PYPI_FILES.sub(lambda match: f'"{index}/files/{match[1]}"', text)


def rewrite_pylock(text: str, index: str) -> str:
    """A ``pylock.toml`` whose index and file URLs are the local index's."""
    text = text.replace(f"index = {_PYPI_SIMPLE}", f'index = "{index}/simple"')
    return _PYPI_FILES.sub(lambda match: f'"{index}/files/{match[1]}"', text)


# --- the index server


class WheelIndex:
    """Serve the wheels of a directory on 127.0.0.1: ``/simple/`` pages (PEP 503, with sha256) and ``/files/``."""

    def __init__(self, directory: Path) -> None:
        """Prepare (without starting) an index over the wheels in ``directory`` as they are now."""
        self.directory = directory
        self.hashes: dict[str, str] = {}
        self.projects: dict[str, list[str]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _scan(self) -> None:
        self.hashes = {path.name: sha256_file(path) for path in sorted(self.directory.glob("*.whl"))}
        self.projects = {}
        for filename in self.hashes:
            self.projects.setdefault(_project_of(filename), []).append(filename)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._server is None:
            msg = "the index is not running"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        """Hash the files and start serving on a free port in a daemon thread."""
        self._scan()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="wheel-index", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # uv opens dozens of connections at once; the default backlog of 5 drops SYNs

    def __init__(self, index: WheelIndex) -> None:
        self.index = index
        super().__init__(("127.0.0.1", 0), _Handler)


def _page(title: str, links: list[tuple[str, str]]) -> bytes:
    anchors = "\n".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a><br/>' for href, text in links)
    return (
        f'<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head><body>\n{anchors}\n</body></html>\n"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _head = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # the stdlib's parameter name
        """Quiet."""

    def do_HEAD(self) -> None:
        """Headers only (uv asks before it tries a range request; no ``Accept-Ranges``: it then reads the file)."""
        self._head = True
        self.do_GET()

    def do_GET(self) -> None:
        index = self.server.index
        path = urlsplit(self.path).path
        if path == "/simple/":
            self._send(_page("Simple index", [(f"{name}/", name) for name in sorted(index.projects)]), "text/html")
        elif (match := re.fullmatch(r"/simple/([^/]+)/?", path)) and match[1] in index.projects:
            files = index.projects[match[1]]
            links = [(f"../../files/{quote(name)}#sha256={index.hashes[name]}", name) for name in files]
            self._send(_page(f"Links for {match[1]}", links), "text/html")
        elif (match := re.fullmatch(r"/files/([^/]+)", path)) and unquote(match[1]) in index.hashes:
            self._file(index.directory / unquote(match[1]))
        else:
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _file(self, path: Path) -> None:
        with path.open("rb") as handle:
            size = path.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            if not self._head:
                self.connection.sendfile(handle)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._head:
            self.wfile.write(body)


def _running_tags() -> set[str]:
    from packaging.tags import sys_tags  # noqa: PLC0415  # only the command line needs packaging

    return {str(tag) for tag in sys_tags()}


def main(argv: list[str] | None = None) -> int:
    """Download the wheelhouse for the running interpreter; ``--serve`` then serves it until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="serve the wheelhouse until interrupted")
    args = parser.parse_args(argv)
    paths = download(_running_tags())
    print(f"{len(paths)} wheels in {WHEELHOUSE}")
    if args.serve:
        with WheelIndex(WHEELHOUSE) as index:
            print(f"serving {index.url}/simple/ (Ctrl-C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
