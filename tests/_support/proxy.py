"""A forward proxy on 127.0.0.1 that tunnels ``CONNECT`` requests, as an https proxy of a company network does."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from http import HTTPStatus

from _support.served import Served


class TunnelProxy(Served):
    """Answer ``CONNECT host:port`` by relaying bytes both ways; ``tunnels`` records each tunnel's target.

    Only tunnels: a plain-http request through it (``GET http://...``) is answered 405, so a test sees
    which requests went through the proxy and how. With ``connect_status`` (``403``, say) every ``CONNECT``
    is answered so instead, and recorded in ``refused``.
    """

    what = "tunnel proxy"

    def __init__(self) -> None:
        """Prepare (without starting) the proxy."""
        super().__init__()
        self.tunnels: list[str] = []
        self.refused: list[str] = []
        self.connect_status: int | None = None
        self._lock = threading.Lock()

    def _make(self) -> _ProxyServer:
        return _ProxyServer(self)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, as ``https_proxy`` names it."""
        return f"http://{self.address}"

    def record(self, into: list[str], what: str) -> None:
        """Append ``what`` to one of the records (thread-safe)."""
        with self._lock:
            into.append(what)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: TunnelProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Tunnel)


class _Tunnel(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        request = self.rfile.readline(65537).decode("latin-1").strip()
        while self.rfile.readline(65537) not in {b"\r\n", b"\n", b""}:  # the request's headers
            pass
        method, _, rest = request.partition(" ")
        target = rest.partition(" ")[0]
        proxy = self.server.proxy
        if method != "CONNECT" or proxy.connect_status is not None:
            proxy.record(proxy.refused, request)
            status = HTTPStatus(proxy.connect_status or 405)
            self.wfile.write(
                f"HTTP/1.1 {status} {status.phrase}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            return
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        proxy.record(proxy.tunnels, target)
        with upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _relay(self.connection, upstream)


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes between the two sockets until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
