"""HTTP: every request's way: kept connections, one TLS context, proxies, redirects, plain http refused, retries."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import ipaddress
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlparse, urlsplit, urlunsplit

from tox_venvsync import _interrupt
from tox_venvsync._errors import BadInputError, BadUrlError, FetchError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from concurrent.futures import Future


#: hosts a user trusts over plain http, comma-separated (as pip's --trusted-host)
TRUSTED_HOSTS_ENV = "TOX_VENVSYNC_TRUSTED_HOSTS"


# --- the network: proxies and authorities ----------------------------------------------------------------------------

#: the variables of an environment that say how to reach a host, by name: its proxies (``https_proxy``,
#: ``no_proxy``, in capitals too) and the certificate authorities to trust; ``None``: this process's environment
Network = tuple[tuple[str, str], ...] | None


_AUTHORITY_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def _proxies(network: Network = None) -> dict[str, str]:
    """The proxy of each scheme, from ``http_proxy``, ``https_proxy`` and the like, as urllib reads them.

    ``all_proxy`` (``ALL_PROXY``) serves a scheme that has none of its own, as curl, requests (pip) and uv take
    it; urllib alone does not. Only an http(s) one: a ``socks5://`` proxy, which urllib cannot use, is left to
    the tools that can, as before. ``no`` holds ``no_proxy``.
    """
    found = urllib.request.getproxies() if network is None else _environment_proxies(network)
    every = found.pop("all", None)
    if every is not None and urlsplit(every).scheme.lower() in {"http", "https"}:
        for scheme in ("http", "https"):
            found.setdefault(scheme, every)
    return found


def _environment_proxies(network: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The proxies ``network`` names, as urllib's ``getproxies_environment`` reads them: a lowercase name wins."""
    proxies = [(name, value) for name, value in network if name.lower().endswith("_proxy")]
    found: dict[str, str] = {}
    for name, value in proxies:  # any case first, then the lowercase ones over them (an empty one unsets)
        if value:
            found[name[:-6].lower()] = value
    for name, value in proxies:
        if name.endswith("_proxy"):
            if value:
                found[name[:-6]] = value
            else:
                found.pop(name[:-6], None)
    return found


class _Proxies(urllib.request.ProxyHandler):
    """urllib's proxy handler, but a host ``no_proxy`` covers by a network (``10.0.0.0/8``) goes without the proxy.

    ``no_proxy``: a sync's own (see :func:`network_of`); ``None``: this process's, as urllib reads it.
    """

    def __init__(self, proxies: dict[str, str], no_proxy: str | None) -> None:
        super().__init__(proxies)
        self.no_proxy = no_proxy

    def proxy_open(self, req: urllib.request.Request, proxy: str, type: str) -> Any:  # noqa: A002, ANN401  # urllib's
        if req.host and _bypassed(req.host, self.no_proxy):
            return None  # the next handler opens it directly
        return super().proxy_open(req, proxy, type)  # which also asks this process's no_proxy


def _bypassed(host: str, no_proxy: str | None = None) -> bool:
    """Whether a request to ``host`` (``name`` or ``name:port``) goes without a proxy, as ``no_proxy`` says.

    urllib's own check (``*``, a name and its subdomains, ``name:port``), and for an IP address the entries that
    name a network (``10.0.0.0/8``, ``fd00::/8``), which pip (requests) and uv read so; urllib takes one for a name
    that no host has, and sent the request to a host of the company network to the proxy, which may refuse it.
    ``no_proxy``: a sync's own; ``None``: this process's, as urllib reads it (on macOS, the system's too).
    """
    if no_proxy is None:
        if urllib.request.proxy_bypass(host):
            return True
        no_proxy = urllib.request.getproxies_environment().get("no", "")
    elif _named_in(host, no_proxy):
        return True
    try:
        address = ipaddress.ip_address(urlsplit(f"//{host}").hostname or "")
    except ValueError:  # a name: urllib's check was the whole of it
        return False
    for entry in no_proxy.split(","):
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            continue
        if address in network:  # an address of the other IP version is in no network of this one
            return True
    return False


def _named_in(host: str, no_proxy: str) -> bool:
    """Whether ``no_proxy`` names ``host`` (``name`` or ``name:port``), as urllib's ``proxy_bypass_environment`` reads.

    Its own, for a sync's ``no_proxy``: on macOS and Windows urllib's function of that name reads the system's too.
    """
    if no_proxy.strip() == "*":
        return True
    host = host.lower()
    name_only = urlsplit(f"//{host}").hostname or host
    for entry in no_proxy.split(","):
        name = entry.strip().lstrip(".").lower()
        if name and (name in {name_only, host} or name_only.endswith(f".{name}") or host.endswith(f".{name}")):
            return True
    return False


def _shown_proxy(proxy: str) -> str:
    """``proxy`` without its login, also one written without a scheme (``user:token@host:3128``).

    urllib (and curl) take a proxy setting without ``http://``; a message redacts only the user info of a URL
    with a scheme (see ``_errors.redacted``), so such a proxy's token would be shown in every failure through it.
    """
    scheme, separator, rest = proxy.partition("://") if "://" in proxy else ("", "", proxy)
    _, at, host = rest.rpartition("@")
    return f"{scheme}{separator}****@{host}" if at else proxy


class RefusedRedirect(urllib.error.URLError):
    """A redirect to a URL this engine would not fetch (plain http to a host that is neither local nor trusted)."""


#: the attribute of a request that lists where the server sent it on to (see :func:`network_reason`)
_HOPS = "venvsync_redirects"


class _Redirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, but to a scheme other than https and http, or to plain http a lock's URL is refused for."""

    def redirect_request(  # noqa: PLR0913, PLR0917  # urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,  # noqa: ANN401  # urllib's response
        code: int,
        msg: str,
        headers: Any,  # noqa: ANN401  # urllib's message
        newurl: str,
    ) -> urllib.request.Request | None:
        target = urlsplit(urljoin(req.full_url, newurl))
        target.port  # noqa: B018  # a port that is no number raises here (see http_error_302)
        reason = _plain_http_refusal(target.scheme, target.hostname)
        if target.scheme not in {"http", "https"}:
            reason = f"only https and http are fetched, not {target.scheme}"
        if reason is not None:
            fp.close()
            msg = f"the server sent the request on to {urlunsplit(target)}, and {reason}"
            raise RefusedRedirect(msg)
        sent_on = super().redirect_request(req, fp, code, msg, headers, newurl)
        if sent_on is not None:  # the hops, shared by every request of the chain: a failure names the last
            hops: list[str] = vars(req).setdefault(_HOPS, [])
            hops.append(urlunsplit(target))
            setattr(sent_on, _HOPS, hops)
        return sent_on

    def http_error_302(  # urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,  # noqa: ANN401  # urllib's response
        code: int,
        msg: str,
        headers: Any,  # noqa: ANN401  # urllib's message
    ) -> Any:  # noqa: ANN401  # urllib's response
        """urllib's, but a Location that is no URL (urllib parses it first) is refused in one sentence."""
        try:
            return super().http_error_302(req, fp, code, msg, headers)
        except ValueError as exc:
            fp.close()
            where = headers.get("location") or headers.get("uri")
            reason = f"the server sent the request on to {where!r}, which is not a URL ({exc})"
            raise RefusedRedirect(reason) from exc

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


_T = TypeVar("_T")
_R = TypeVar("_R")

#: the connections each thread keeps open while it is inside :func:`kept_connections`
_connections = threading.local()
_Pool = dict[tuple[str, str], tuple[http.client.HTTPConnection, http.client.HTTPResponse]]


@contextlib.contextmanager
def kept_connections() -> Iterator[None]:
    """Within the block, this thread's requests to a host reuse its connection (see :class:`_Handler`).

    The connections are closed when the block ends; outside one, every request has its own.
    """
    outer: _Pool | None = getattr(_connections, "pool", None)
    pool: _Pool = {}
    _connections.pool = pool
    try:
        yield
    finally:
        _connections.pool = outer
        for connection, _ in pool.values():
            connection.close()


class _Stoppable:
    """What the threads of one :func:`each_on_kept_connections` share: whether to stop, and the sockets to cut then.

    A thread blocked on a server that stopped answering waits for its timeout (a minute) before it sees ``stop``:
    the sockets its connections opened are shut down instead, so Ctrl-C, or another file's failure, ends it at once.
    """

    __slots__ = ("_lock", "_sockets", "stop")

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def track(self, sock: socket.socket) -> None:
        """Cut ``sock`` when the threads stop (at once, when they stopped already)."""
        with self._lock:
            self._sockets.add(sock)
        if self.stop.is_set():
            _cut(sock)

    def halt(self) -> None:
        """Stop: no thread starts another item or waits to ask again, and no request waits for its answer."""
        self.stop.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)


def _cut(sock: socket.socket) -> None:
    """Shut the socket down both ways: a read blocked on it in another thread returns (it is closed by its owner)."""
    with contextlib.suppress(OSError):  # closed already, or never connected
        # the plain socket's shutdown: a TLS socket's own would drop its TLS state under the other thread's read
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _stoppable() -> _Stoppable | None:
    """What this thread's :func:`each_on_kept_connections` shares with the others; ``None`` outside one."""
    found: _Stoppable | None = getattr(_connections, "stoppable", None)
    return found


def _track(connection: http.client.HTTPConnection) -> None:
    stoppable = _stoppable()
    if stoppable is not None and connection.sock is not None:
        stoppable.track(connection.sock)


class _Connection(http.client.HTTPConnection):
    """A plain http connection whose socket the threads' stop cuts (see :class:`_Stoppable`)."""

    def connect(self) -> None:
        super().connect()
        _track(self)


class _TLSConnection(http.client.HTTPSConnection):
    """An https connection whose socket the threads' stop cuts (see :class:`_Stoppable`)."""

    def connect(self) -> None:
        super().connect()
        _track(self)


def each_on_kept_connections(function: Callable[[_T], _R], items: Sequence[_T], *, workers: int) -> list[_R]:
    """``function`` of every item, in order, on up to ``workers`` threads that each keep their connections.

    Each thread takes the next item waiting until none is, inside :func:`kept_connections`: fifty
    requests to PyPI take a TCP and TLS handshake per thread, not per request. After a failure (or
    Ctrl-C) no thread starts another item, and the requests under way are cut (see :class:`_Stoppable`);
    the first failure is raised.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415  # only a sync with work uses threads

    waiting = iter(enumerate(items))
    taking = threading.Lock()
    stoppable = _Stoppable()
    stop = stoppable.stop
    failures: list[BaseException] = []  # in the order they happened: the first one cut the others' requests

    def work() -> list[tuple[int, _R]]:
        done: list[tuple[int, _R]] = []
        _connections.stoppable = stoppable  # a retry's wait ends with it (see retried), a blocked read is cut
        with kept_connections():
            while not stop.is_set():
                with taking:
                    item = next(waiting, None)
                if item is None:
                    break
                try:
                    done.append((item[0], function(item[1])))
                except BaseException as exc:
                    with taking:
                        failures.append(exc)
                    stoppable.halt()
                    raise
        return done

    count = min(workers, len(items))
    results: list[tuple[int, _R]] = []
    # tox's Ctrl-C reaches this thread as a call from its main thread: it stops the threads as a failure does
    tox_interrupt = _interrupt.CURRENT.get()
    with (
        tox_interrupt.halting(stoppable.halt) if tox_interrupt is not None else contextlib.nullcontext(),
        ThreadPoolExecutor(max_workers=max(count, 1)) as pool,
    ):
        threads: list[Future[list[tuple[int, _R]]]] = []
        try:
            # each thread in a copy of this one's context: the sync's logins (see use_logins); inside the try: a
            # Ctrl-C raised in a thread's start (see _threads) stops the threads started, that one too
            for _ in range(count):
                threads.append(pool.submit(contextvars.copy_context().run, work))  # noqa: PERF401  # see above
            for thread in threads:
                results.extend(thread.result())
        except BaseException as exc:
            stoppable.halt()  # the others end the item they are at (a request under way is cut) and start no other
            _interrupt.check()  # the failure of a request cut by tox's Ctrl-C is that Ctrl-C
            if isinstance(exc, Exception) and failures and failures[0] is not exc:
                raise failures[0]  # noqa: B904  # the failure that stopped the rest, with its own cause; not one it cut
            raise
    _interrupt.check()
    return [result for _, result in sorted(results, key=lambda pair: pair[0])]


class _Handler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's http and https handler: one TLS context for the process, and connections kept for the next request.

    The TLS context is made when the first https URL is opened. urllib opens a new connection for
    every request and asks the server to close it; a fetch of 50 files from PyPI then pays 50 TCP and
    TLS handshakes, each a few round trips. Inside :func:`kept_connections`, a thread sends its next
    request to the same host on the connection it used last (HTTP/1.1 keep-alive), if the previous
    response was read to the end of its length (a response closed early, chunked or without a length,
    or one the server closes, leaves nothing to reuse); a reused connection the server closed
    meanwhile is replaced and the request sent again (only GET and HEAD requests without a body are
    sent on one). Through a proxy, and outside :func:`kept_connections`, urllib's own ``do_open``
    opens a connection per request, as before.
    """

    def __init__(self, network: Network = None) -> None:
        urllib.request.AbstractHTTPHandler.__init__(self)  # not HTTPSHandler's: it makes a context right away
        #: the authorities a sync's environment names (see :func:`network_of`); ``None``: this process's
        self._authorities = None if network is None else tuple(dict(network).get(name) for name in _AUTHORITY_VARIABLES)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._open_reusing(req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._open_reusing(req)

    def _new(self, req: urllib.request.Request) -> http.client.HTTPConnection:
        """A new connection to the request's host."""
        kind, arguments = _connection_kind(req, self._authorities)
        return kind(req.host, timeout=req.timeout, **arguments)

    def _open_one(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        """A connection for this request only, as urllib makes it.

        urllib's ``do_open`` turns a failure to send into a ``URLError`` but lets one of reading the answer through
        (an answer that is no HTTP: a proxy or port that speaks something else); so does this, as :func:`_ask` does.
        """
        kind, arguments = _connection_kind(req, self._authorities)
        try:
            return self.do_open(kind, req, **arguments)
        except http.client.HTTPException as exc:
            raise urllib.error.URLError(exc) from exc

    def _open_reusing(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        pool: _Pool | None = getattr(_connections, "pool", None)
        direct = req.host == urlparse(req.full_url).netloc  # a proxy handler has changed the host to the proxy's
        if pool is None or not direct or req.get_method() not in {"GET", "HEAD"} or req.data is not None:
            return self._open_one(req)
        key = (req.type, req.host)
        kept = pool.pop(key, None)
        if kept is not None and not _finished(kept[1]):
            kept[0].close()
            kept = None
        headers = dict(req.unredirected_hdrs)
        headers.update({k: v for k, v in req.headers.items() if k not in headers})
        headers = {name.title(): value for name, value in headers.items()}
        if kept is not None:
            connection = kept[0]
            connection.timeout = req.timeout
            if connection.sock is not None:
                connection.sock.settimeout(req.timeout)
            response = _ask(connection, req, headers, stale=True)
            if response is not None:
                return _keep(pool, key, connection, response, req)
        connection = self._new(req)
        response = _ask(connection, req, headers, stale=False)
        assert response is not None  # noqa: S101  # only a reused connection can be stale
        return _keep(pool, key, connection, response, req)


def _connection_kind(
    req: urllib.request.Request, authorities: tuple[str | None, ...] | None
) -> tuple[type[http.client.HTTPConnection], dict[str, Any]]:
    """The connection class for the request's scheme, and its arguments: TLS with the process's one context."""
    if req.type == "https":
        # the process's one context, asked as the cache knows it (a call with None would be another key)
        return _TLSConnection, {"context": _tls_context() if authorities is None else _tls_context(authorities)}
    return _Connection, {}


#: what sending on a kept connection raises when the server closed it while it was idle
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _ask(
    connection: http.client.HTTPConnection, req: urllib.request.Request, headers: dict[str, str], *, stale: bool
) -> http.client.HTTPResponse | None:
    """The response to ``req`` on ``connection``; ``None`` when a kept one was closed by the server (``stale``)."""
    try:
        connection.request(req.get_method(), req.selector, headers=headers)
        return connection.getresponse()
    except _STALE as exc:
        connection.close()
        if stale:
            return None  # ask again on a new connection
        raise urllib.error.URLError(exc) from exc
    except (OSError, http.client.HTTPException) as exc:  # a timeout, a refused connection, an answer that is no HTTP
        connection.close()
        raise urllib.error.URLError(exc) from exc
    except BaseException:
        connection.close()
        raise


def _keep(
    pool: _Pool,
    key: tuple[str, str],
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    req: urllib.request.Request,
) -> http.client.HTTPResponse:
    if not response.will_close:  # else http.client has let go of the socket: the response closes it
        pool[key] = (connection, response)
    response.url = req.get_full_url()  # as urllib's do_open sets them
    response.msg = response.reason  # type: ignore[assignment]
    return response


def _finished(response: http.client.HTTPResponse) -> bool:
    """Whether the response was read to the end of its declared length, so its connection is free again."""
    return response.isclosed() and response.length == 0 and not response.will_close


@functools.cache
def _tls_context(authorities: tuple[str | None, ...] | None = None) -> ssl.SSLContext:
    """The system's certificate authorities, or those of ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (OpenSSL reads them).

    ``authorities``: a sync's ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (see :func:`network_of`), each in place of
    OpenSSL's default file or directory when set, as OpenSSL takes the variables; ``None``: this process's.
    """
    import ssl  # noqa: PLC0415  # loaded for the first https URL only

    if authorities is None:
        return ssl.create_default_context()
    defaults = ssl.get_default_verify_paths()
    bundle, directory = authorities
    bundle, directory = bundle or defaults.openssl_cafile, directory or defaults.openssl_capath
    # a directory is always given, so that none of the process's defaults stand in for the sync's (it is read only
    # when a certificate is looked up in it)
    context = ssl.create_default_context(capath=directory)
    # a file that is not there, or that holds no certificate OpenSSL reads (empty, DER), is passed over as OpenSSL
    # passes over its SSL_CERT_FILE: the directory still counts, and a failed check names the file (_unverified)
    if Path(bundle).is_file():
        with contextlib.suppress(ssl.SSLError):
            context.load_verify_locations(cafile=bundle)
    return context


# --- retries ---------------------------------------------------------------------------------------------------------

#: how many times a request that failed in a way that may pass is asked again (uv's UV_HTTP_RETRIES, pip's --retries)
RETRIES_ENV = "TOX_VENVSYNC_HTTP_RETRIES"
_RETRIES = 3
#: seconds before the first retry, doubled for each next one (0.5, 1, 2 s), as uv and pip back off
_BACKOFF = 0.5
#: the longest wait a server's ``Retry-After`` is granted
_LONGEST_WAIT = 30.0
#: HTTP statuses that do not say "ask again": not implemented, HTTP version not supported
_LASTING_5XX = frozenset({501, 505})


def transient_status(code: int) -> bool:
    """Whether an HTTP status says "ask again later": a request timeout, too many requests, a server's 5xx."""
    return code in {408, 429} or (code >= 500 and code not in _LASTING_5XX)  # noqa: PLR2004  # the 5xx class


def transient_failure(exc: BaseException) -> bool:
    """Whether a request's failure may pass when it is asked again: a connection refused, reset or timed out.

    Not a refused redirect, a certificate or TLS failure, or an answer that is no HTTP: those stay as they are.
    """
    import ssl  # noqa: PLC0415  # loaded already when the request was https; a failure is not the fast path

    reason = getattr(exc, "reason", exc)
    # a URL http.client will not send (a space, a control character in it) is refused the same way each time
    if isinstance(exc, RefusedRedirect) or isinstance(reason, (ssl.SSLError, http.client.InvalidURL)):
        return False
    if (refusal := _tunnel_refusal(reason)) is not None:  # a proxy's 403 or 407 stays; its 502 or 503 may pass
        return transient_status(refusal[0])
    if isinstance(reason, http.client.BadStatusLine):
        return isinstance(reason, http.client.RemoteDisconnected)
    return isinstance(reason, (OSError, http.client.HTTPException))


#: seconds a request waits for the server to connect or to send more (uv's UV_HTTP_TIMEOUT, pip's --timeout)
TIMEOUT_ENV = "TOX_VENVSYNC_HTTP_TIMEOUT"
_TIMEOUT = 60.0


def timeout() -> float:
    """How long a request waits for the server, in seconds: :data:`TIMEOUT_ENV`, else 60."""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return _TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        msg = f"{TIMEOUT_ENV}={value!r} is not a number of seconds above 0; set it to one (60 when unset), or unset it"
        raise BadInputError(msg)
    return seconds


def retries() -> int:
    """How many times a transient failure is asked again: :data:`RETRIES_ENV`, else 3 (uv's default)."""
    value = os.environ.get(RETRIES_ENV, "").strip()
    if not value:
        return _RETRIES
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit, and no number to int()
        msg = f"{RETRIES_ENV}={value!r} is not a number of retries; set it to 0 (never ask again) or more, or unset it"
        raise BadInputError(msg)
    return int(value)


def retried(action: Callable[[], _T]) -> _T:
    """``action()``, asked again after a transient :class:`FetchError` (up to :func:`retries` times), as uv and pip do.

    The waits double from :data:`_BACKOFF`; a server's ``Retry-After`` (an HTTP 429 or 503) is waited for instead
    when it is longer, up to :data:`_LONGEST_WAIT`. A fetch that is being stopped (a failure elsewhere, Ctrl-C)
    asks no more. The last failure names how many times it was asked.
    """
    allowed = retries()
    attempt = 0
    while True:
        try:
            return action()
        except FetchError as exc:  # noqa: PERF203  # the loop is the asking again
            wait = max(_BACKOFF * 2**attempt, _retry_after(exc.__cause__))
            if exc.transient and attempt < allowed and _waited(wait):
                attempt += 1
                continue
            if attempt == 0:
                raise
            # a server's Retry-After was waited for (a 429 or 503 that says how long): said, as its limit is
            waited = (
                f", waiting as its Retry-After asked, {_LONGEST_WAIT:g} s at most"
                if _retry_after(exc.__cause__)
                else ""
            )
            reason = f"{exc.reason} (asked {attempt + 1} times{waited}; {RETRIES_ENV} sets how often)"
            raise FetchError(exc.name, exc.source, reason, transient=exc.transient) from exc


def stopping() -> bool:
    """Whether this thread's fetch is stopped (a failure elsewhere, Ctrl-C; see :func:`each_on_kept_connections`)."""
    stoppable = _stoppable()
    return stoppable is not None and stoppable.stop.is_set()


def _waited(seconds: float) -> bool:
    """Wait ``seconds``; ``False`` at once when the threads' fetch is stopped (:func:`each_on_kept_connections`)."""
    stoppable = _stoppable()
    if stoppable is None:
        time.sleep(seconds)
        return True
    return not stoppable.stop.wait(seconds)


def _retry_after(cause: BaseException | None) -> float:
    """The seconds a server's ``Retry-After`` asks for (a number, or an HTTP date), at most :data:`_LONGEST_WAIT`."""
    value = cause.headers.get("Retry-After") if isinstance(cause, urllib.error.HTTPError) else None
    if not value:
        return 0.0
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit, and no number to float()
        return min(float(value), _LONGEST_WAIT)
    import email.utils  # noqa: PLC0415  # a server that gives a date only

    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return min(max(when - time.time(), 0.0), _LONGEST_WAIT)


#: how http.client's ``OSError`` begins when a proxy answers ``CONNECT`` with another status than 200
_TUNNEL_FAILED = "Tunnel connection failed: "


def _tunnel_refusal(reason: object) -> tuple[int, str] | None:
    """The status and its words with which a proxy refused to open a tunnel (``CONNECT``), or ``None``."""
    if not isinstance(reason, OSError) or not str(reason).startswith(_TUNNEL_FAILED):
        return None
    code, _, words = str(reason).removeprefix(_TUNNEL_FAILED).partition(" ")
    return (int(code), " ".join(words.split())) if code.isascii() and code.isdigit() else None


def check_transport(name: str, url: str, environ: Mapping[str, str] | None = None) -> None:
    """Refuse plain ``http://`` to a host that is not this machine, unless the user trusts it by name.

    A URL's user info (``user:password@``, a token) is its host's login (see :func:`without_login`).
    """
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018  # a port that is no number raises here
    except ValueError as exc:
        reason = f"the URL is not valid ({exc}); correct it in the lock or the index setting"
        raise BadUrlError(name, url, reason) from exc
    if (refusal := _plain_http_refusal(parsed.scheme, parsed.hostname, environ)) is not None:
        raise BadUrlError(name, url, refusal)  # the URL or the trusted hosts are to fix: no network mends it


def _plain_http_refusal(scheme: str, hostname: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Why a request of ``scheme`` to ``hostname`` is refused: plain http but to this machine or a trusted host."""
    if scheme != "http":
        return None
    host = (hostname or "").lower()
    environ = environ or os.environ
    trusted = {h.strip().lower() for h in environ.get(TRUSTED_HOSTS_ENV, "").split(",") if h.strip()}
    if host in trusted or _is_loopback(host):
        return None
    refusal = (
        f"plain http to {host} is refused, since anyone on the way can read or change it; "
        f"use https, or trust the host with {TRUSTED_HOSTS_ENV}={host}"
    )
    # the mirror pip or uv was told to trust: that setting is not this one, which the user has to learn here
    other = next((name for name in _OTHERS_TRUSTED if host in _hosts_of(environ.get(name, ""))), None)
    return refusal if other is None else f"{refusal} ({other} trusts it for {_OTHERS_TRUSTED[other]}, not here)"


#: the settings with which pip and uv fetch from a host over plain http, by the tool that reads each
_OTHERS_TRUSTED = {"PIP_TRUSTED_HOST": "pip", "UV_INSECURE_HOST": "uv"}


def _hosts_of(setting: str) -> set[str]:
    """The host names of a pip or uv setting: ``host``, ``host:port`` or (uv's) URLs, separated by spaces."""
    entries = (entry if "://" in entry else f"//{entry}" for entry in setting.replace(",", " ").split())
    hosts = set()
    for entry in entries:
        with contextlib.suppress(ValueError):  # an entry that does not parse names no host
            hosts.add((urlsplit(entry).hostname or "").lower())
    return hosts


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
