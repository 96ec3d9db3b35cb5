"""A local PEP 503 simple index and file server on 127.0.0.1 for hermetic download tests."""

from __future__ import annotations

import base64
import gzip
import html
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from _support.served import Served
from _support.wheels import sha256_file

if TYPE_CHECKING:
    import socket
    import ssl
    from pathlib import Path


_SUFFIXES = (".whl", ".tar.gz", ".zip")
_SDIST_NAME = re.compile(r"^(?P<name>.+)-[^-]+$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str | None:
    """Return the normalized project name of a wheel or sdist file name, or ``None`` when it is neither."""
    if filename.endswith(".whl"):
        return _normalize(filename.split("-", 1)[0])
    for suffix in _SUFFIXES[1:]:
        if filename.endswith(suffix):
            match = _SDIST_NAME.match(filename.removesuffix(suffix))
            return _normalize(match["name"]) if match else None
    return None


class LocalIndex(Served):
    """Serve the wheels and sdists of a directory as a PEP 503 simple index over HTTP on 127.0.0.1.

    ``requests`` records every requested path, ``fail_paths`` maps a path to an HTTP status to answer instead,
    and ``truncate_paths`` holds paths (files or pages) whose body is cut to half while announcing the full
    Content-Length; ``not_http_paths`` holds paths answered with a line that is no HTTP (another service's greeting).
    ``connections`` counts the connections accepted; with ``drop_idle`` the server closes each connection
    after one response without saying so (as a server closes a kept connection that sat idle too long).
    Files are read from disk on every request, so tests may add files while the server runs. With ``tls``
    (a server-side context) it serves https instead. With ``login`` (user, password) every request without
    that HTTP Basic login is answered 401; ``authorizations`` records each request's Authorization header,
    ``request_headers`` all of its headers.
    ``redirect_paths`` maps a path to a URL to redirect to (302); ``stall_paths`` holds paths whose requests are
    never answered while the index runs. ``flaky_paths`` maps a path to the answers
    of its first requests, in order, before it is served as usual: an HTTP status (with ``Retry-After:
    retry_after`` when that is set), or ``0`` for the body cut short.
    """

    what = "local index"

    def __init__(self, directory: Path, *, tls: ssl.SSLContext | None = None) -> None:
        """Prepare (without starting) an index over the files in *directory*."""
        super().__init__()
        self.directory = directory
        self.tls = tls
        self.requests: list[str] = []
        self.fail_paths: dict[str, int] = {}
        self.truncate_paths: set[str] = set()
        self.not_http_paths: set[str] = set()
        self.flaky_paths: dict[str, list[int]] = {}
        #: paths whose request is read and never answered (until the index stops)
        self.stall_paths: set[str] = set()
        self.released = threading.Event()
        self.retry_after: str | None = None
        self.connections = 0
        self.drop_idle = False
        self.login: tuple[str, str] | None = None
        self.authorizations: list[str | None] = []
        #: every request's headers, in order
        self.request_headers: list[dict[str, str]] = []
        self.redirect_paths: dict[str, str] = {}
        #: project pages without the files' hashes (a plain directory listing, some proxies)
        self.hashless = False
        #: project pages sent gzip-compressed (Content-Encoding), unasked, as some mirrors and CDNs send them
        self.gzip_pages = False
        #: paths answered with this Content-Length header instead of the body's length (the connection then closes
        #: after the body, which is all sent)
        self.content_lengths: dict[str, str] = {}
        #: a directory served as it is under ``/git/`` (a bare repository after ``git update-server-info`` is one
        #: git clones over its "dumb" HTTP protocol)
        self.git_root: Path | None = None
        self._lock = threading.Lock()
        #: told of each request as it is recorded (see :meth:`requested`)
        self._recorded = threading.Condition(self._lock)

    def _make(self) -> _IndexServer:
        self.released.clear()
        return _IndexServer(self)

    def __exit__(self, *exc_info: object) -> None:
        """Answer the stalled requests (their threads end), then stop."""
        self.released.set()
        super().__exit__(*exc_info)  # type: ignore[arg-type]  # the exception triple, passed on

    @property
    def url(self) -> str:
        """Return the base URL, such as ``http://127.0.0.1:PORT``."""
        return f"{'https' if self.tls else 'http'}://{self.address}"

    @property
    def simple_url(self) -> str:
        """Return the URL of the simple index root (ends in ``/simple/``)."""
        return f"{self.url}/simple/"

    def file_url(self, filename: str) -> str:
        """Return the download URL of *filename*."""
        return f"{self.url}/files/{quote(filename)}"

    def record(self, path: str) -> None:
        """Append *path* to ``requests`` (thread-safe) and wake those waiting for it."""
        with self._recorded:
            self.requests.append(path)
            self._recorded.notify_all()

    def requested(self, path: str, timeout: float = 30) -> bool:
        """Wait until a request for *path* has been read (the client sent it); ``False`` after *timeout* seconds.

        The event a test waits for instead of a sleep that guesses how long a loaded machine takes to send it.
        """
        with self._recorded:
            return self._recorded.wait_for(lambda: path in self.requests, timeout)

    def files(self) -> dict[str, list[Path]]:
        """Return the served files on disk now, grouped by normalized project name."""
        projects: dict[str, list[Path]] = {}
        for entry in sorted(self.directory.iterdir()):
            project = _project_of(entry.name) if entry.is_file() else None
            if project is not None:
                projects.setdefault(project, []).append(entry)
        return projects


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _page(title: str, links: list[tuple[str, str]]) -> bytes:
    anchors = "\n".join(f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br/>' for href, text in links)
    body = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n{anchors}\n  </body>\n</html>\n"
    )
    return body.encode("utf-8")


class _IndexServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, index: LocalIndex) -> None:
        self.index = index
        super().__init__(("127.0.0.1", 0), _Handler)
        if index.tls is not None:  # the handshake happens as a connection is accepted (a failed one is dropped)
            self.socket = index.tls.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:  # noqa: ANN401  # the stdlib's
        """Print a handler's failure, as the stdlib does, but not a client's hanging up.

        A sync that stops (a failure, Ctrl-C) cuts its other downloads: the server's write then fails, as a real
        server's does when a client goes away, and says nothing about it on the test's standard error.
        """
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:  # noqa: ANN401  # the stdlib's
        """Count the connection, then serve it on a thread of its own."""
        with self.index._lock:  # the index's own lock, from its server
            self.index.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _IndexServer
    #: whether this request's body is cut short (a flaky path's ``0``)
    cut_short = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # the stdlib's parameter name
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        """Answer a simple-index page or a file download, unless the path is set to fail."""
        index = self.server.index
        self.close_connection = self.close_connection or index.drop_idle
        path = urlsplit(self.path).path
        index.record(path)
        with index._lock:  # the index's own lock, from its handler
            index.authorizations.append(self.headers.get("Authorization"))
            index.request_headers.append(dict(self.headers.items()))
        status = index.fail_paths.get(path)
        if self._misbehaved(path):
            pass
        elif index.login is not None and self.headers.get("Authorization") != _basic(*index.login):
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path in index.redirect_paths:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", index.redirect_paths[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif status is not None:
            self._send(status, b"", "text/plain")
        elif path == "/simple/":
            links = [(f"{project}/", project) for project in index.files()]
            self._send(HTTPStatus.OK, _page("Simple index", links), "text/html")
        elif match := re.fullmatch(r"/simple/([^/]+)/", path):
            self._project_page(match[1])
        elif match := re.fullmatch(r"/files/([^/]+)", path):
            self._file(unquote(match[1]))
        elif index.git_root is not None and path.startswith("/git/"):
            self._git_file(index.git_root, unquote(path.removeprefix("/git/")))
        else:
            self._not_found()

    def _misbehaved(self, path: str) -> bool:
        """Answer as a stalled, flaky or not-HTTP path is set to; ``False`` for a path that is none of them."""
        index = self.server.index
        with index._lock:  # the index's own lock, from its handler
            flaky = index.flaky_paths.get(path)
            answer = flaky.pop(0) if flaky else None
        self.cut_short = answer == 0
        if path in index.stall_paths:
            index.released.wait(120)
            self.close_connection = True
        elif answer:
            self.send_response(answer)
            if index.retry_after is not None:
                self.send_header("Retry-After", index.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path in index.not_http_paths:
            self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
            self.close_connection = True
        else:
            return False
        return True

    def _project_page(self, project: str) -> None:
        found = self.server.index.files().get(project)
        if project != _normalize(project) or not found:
            self._not_found()
            return
        hashless = self.server.index.hashless
        links = [
            (f"../../files/{quote(file.name)}{'' if hashless else f'#sha256={sha256_file(file)}'}", file.name)
            for file in found
        ]
        page = _page(f"Links for {project}", links)
        if self.server.index.gzip_pages:
            self._send(HTTPStatus.OK, gzip.compress(page), "text/html", encoding="gzip")
        else:
            self._send(HTTPStatus.OK, page, "text/html")

    def _file(self, filename: str) -> None:
        index = self.server.index
        target = index.directory / filename
        if "/" in filename or filename.startswith(".") or not target.is_file():
            self._not_found()
            return
        self._send(HTTPStatus.OK, target.read_bytes(), "application/octet-stream")

    def _git_file(self, root: Path, relative: str) -> None:
        target = root / relative
        if ".." in relative.split("/") or not target.is_file():
            self._not_found()
            return
        self._send(HTTPStatus.OK, target.read_bytes(), "application/octet-stream")

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str, *, encoding: str | None = None) -> None:
        truncated = self.cut_short or urlsplit(self.path).path in self.server.index.truncate_paths
        declared = self.server.index.content_lengths.get(urlsplit(self.path).path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding is not None:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)) if declared is None else declared)
        if truncated or declared is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)
        self.close_connection = self.close_connection or truncated or declared is not None
