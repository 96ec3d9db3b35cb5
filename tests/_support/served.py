"""A server of the tests' own on 127.0.0.1, run in a daemon thread while a ``with`` block runs."""

from __future__ import annotations

import abc
import functools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socketserver
    from types import TracebackType

    from typing_extensions import Self


#: how often the serving loop looks whether it is told to stop: ``shutdown`` waits for that look, and at
#: socketserver's default of 0.5 s every test with a server of its own spent about 0.5 s in its teardown
_POLL = 0.02


class Served(abc.ABC):
    """The life of one server: :meth:`_make` builds it, ``with`` starts it on a free port and stops it."""

    #: what the server is, for its thread's name and the error when it is asked for its address unstarted
    what = "server"

    def __init__(self) -> None:
        """Prepare, without starting."""
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def _make(self) -> socketserver.BaseServer:
        """The server, bound to a free port on 127.0.0.1 (each kind of server makes its own)."""

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` while it runs."""
        if self._server is None:
            msg = f"the {self.what} is not running"
            raise RuntimeError(msg)
        address = self._server.server_address
        assert isinstance(address, tuple)  # a TCP server's (host, port)
        return f"{address[0]!s}:{address[1]}"

    def __enter__(self) -> Self:
        """Start serving on a free port in a daemon thread."""
        self._server = self._make()
        serve = functools.partial(self._server.serve_forever, poll_interval=_POLL)
        self._thread = threading.Thread(target=serve, name=self.what, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
