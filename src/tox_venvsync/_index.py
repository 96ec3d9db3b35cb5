"""Index: find a locked file's URL on a simple repository (PEP 503 HTML or PEP 691 JSON) when the lock has none."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import ipaddress
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import weakref
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import SplitResult, unquote, urljoin, urlparse, urlsplit, urlunsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from tox_venvsync import __version__, _interrupt
from tox_venvsync._errors import BadInputError, BadUrlError, FetchError, NoFittingFileError
from tox_venvsync._lock._model import Artifact, choose_file
from tox_venvsync._values import frozen
from tox_venvsync._verify import file_digests

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from tox_venvsync._indexes import Login, ProjectIndexes
    from tox_venvsync._lock._model import IndexPin

_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


#: hosts a user trusts over plain http, comma-separated (as pip's --trusted-host)
TRUSTED_HOSTS_ENV = "TOX_VENVSYNC_TRUSTED_HOSTS"


def open_url(request: urllib.request.Request, *, timeout: float) -> Any:  # noqa: ANN401  # an HTTPResponse, or addinfourl for file:
    """``urlopen`` through one opener for the whole process, whose TLS context is made on first https use.

    ``urlopen`` without an opener builds a new one for every request, and with it a TLS context that
    loads the system's certificates (about 20 ms), also for plain http: for a lock of 50 files, a
    second of work repeated for nothing. The opener also keeps each thread's connection to a host open
    for its next request (see :class:`_Handler`).
    """
    if "@" in urlsplit(request.full_url).netloc:
        request.full_url = without_login(request.full_url)
    network = _logins.get().network
    return (_opener() if network is None else _opener(network)).open(request, timeout=timeout)


@functools.cache
def _opener(network: Network = None) -> urllib.request.OpenerDirector:
    """The opener of a sync whose environment's proxy and certificate variables are ``network`` (``None``: ours)."""
    proxies = _proxies(network)
    no_proxy = None if network is None else proxies.get("no", "")
    return urllib.request.build_opener(_Proxies(proxies, no_proxy), _Handler(network), _Login(), _Redirects())


# --- the network: proxies and authorities ----------------------------------------------------------------------------

#: the variables of an environment that say how to reach a host, by name: its proxies (``https_proxy``,
#: ``no_proxy``, in capitals too) and the certificate authorities to trust; ``None``: this process's environment
Network = tuple[tuple[str, str], ...] | None
#: the variables of an environment that a failure's advice names, by name (see :func:`advice_of`); ``None``: this
#: process's environment
Advice = tuple[tuple[str, str], ...] | None
_AUTHORITY_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def network_of(environ: Mapping[str, str]) -> Network:
    """The network variables of ``environ`` (a tox run's, with ``set_env``), or ``None`` when they are this process's.

    urllib reads the proxies, and OpenSSL the authorities, from this process's environment only; a ``set_env`` that
    names them (as tox-uv hands it to uv, and this runner to pip) was not followed by the downloads.
    """
    return _own(environ, _network_variables)


def _network_variables(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    chosen = (item for item in environ.items() if item[0] in _AUTHORITY_VARIABLES or item[0].lower().endswith("_proxy"))
    return tuple(sorted(chosen))


def advice_of(environ: Mapping[str, str]) -> Advice:
    """The variables of ``environ`` a failure's advice names, or ``None`` when they are this process's.

    The keyring providers uv and pip are told to ask, and the certificate bundles of other tools: a tox run's
    ``set_env`` that sets one (as it sets ``REQUESTS_CA_BUNDLE`` for pip) was not named, tox's own was.
    """
    return _own(environ, _advice_variables)


def _advice_variables(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, environ[name]) for name in (*_KEYRING_PROVIDERS, *_OTHERS_AUTHORITIES) if name in environ)


def _own(
    environ: Mapping[str, str], chosen: Callable[[Mapping[str, str]], tuple[tuple[str, str], ...]]
) -> tuple[tuple[str, str], ...] | None:
    """The ``chosen`` variables of ``environ``, or ``None`` when they are this process's (nothing kept per sync)."""
    found = chosen(environ)
    return None if found == chosen(os.environ) else found


def _value(own: tuple[tuple[str, str], ...] | None, name: str) -> str | None:
    """A sync's value of ``name`` among the variables it keeps (``own``, see :func:`_own`), else this process's."""
    return os.environ.get(name) if own is None else dict(own).get(name)


def _advised(name: str) -> str:
    """The sync's value of ``name``, one of the variables :func:`advice_of` reads (``""``: not set)."""
    owner = _logins.get().owner
    return _value(None if owner is None else owner.advice, name) or ""


def _setting(name: str) -> str | None:
    """The sync's value of ``name``, one of its network variables (see :func:`network_of`)."""
    return _value(_logins.get().network, name)


# --- proxies ---------------------------------------------------------------------------------------------------------

#: what to do about a proxy that asks for a login (HTTP 407); no URL with a login, which a message shows as ``****@``
_PROXY_LOGIN = "give the proxy its login in its URL, before the host (user:token@), in https_proxy or http_proxy"


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


def through_proxy(reason: str, url: str) -> str:
    """``reason``, naming the proxy the request to ``url`` went through, if one did: the failure may be the proxy's."""
    parts = urlsplit(url)
    network = _logins.get().network
    proxies = _proxies(network)
    proxy = proxies.get(parts.scheme.lower())
    if proxy is None or _bypassed(parts.netloc.rpartition("@")[2], None if network is None else proxies.get("no", "")):
        return reason
    return f"{reason} (the request went through the proxy {_shown_proxy(proxy)})"


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


# --- logins ----------------------------------------------------------------------------------------------------------

#: names the login file to read instead of ``~/.netrc`` (as pip, uv, curl and requests read it)
NETRC_ENV = "NETRC"


class _Logins:
    """The logins a sync sends, besides the netrc file's.

    Each sync starts its own (:func:`use_logins`), so two tox environments whose ``set_env`` give one index
    different logins each send their own, also when tox runs them one after the other in one process.
    """

    __slots__ = ("hosts", "index_hosts", "indexes", "lock", "network", "owner", "sent")

    def __init__(self, indexes: Sequence[tuple[str, Login]] = (), owner: ProjectIndexes | None = None) -> None:
        roots = {_index_root(url): login for url, login in reversed(indexes)}  # the first of an index's wins
        #: the project's named indexes' (see :mod:`tox_venvsync._indexes`), by the index's root URL, longest first:
        #: a request under it sends it (uv's rule: files under ``/team/`` for the index ``/team/simple``)
        self.indexes = tuple(sorted(roots.items(), key=lambda item: -len(item[0])))
        #: and by host, the first named index's there: sent again to a request elsewhere on the index's host that
        #: was refused without one (Azure Artifacts links its files under another path), as uv retries
        self.index_hosts: dict[tuple[str, str], Login] = {}
        for url, login in indexes:
            self.index_hosts.setdefault(_origin(urlsplit(url)), login)
        #: the project indexes these are for (see :func:`use_logins`)
        self.owner = owner
        #: how the sync reaches hosts: its environment's proxies and authorities (``None``: this process's)
        self.network: Network = None if owner is None else owner.network
        #: the logins URLs carried (``https://user:token@host/``), by scheme and host: every later request there
        #: sends it, as pip sends an index URL's login with the files its pages link to on the same host; first
        #: those of the configured index URLs, also for a lock's file URLs whose index is never asked (uv sends them)
        self.hosts: dict[tuple[str, str], Login] = {}
        for url, login in () if owner is None else owner.url_logins:
            self.hosts.setdefault(_origin(urlsplit(url)), login)
        self.lock = threading.Lock()
        #: the URLs a login was sent to (a redirect's too): a refusal of one says the login was refused
        self.sent: set[str] = set()

    def of(self, url: SplitResult) -> Login | None:
        scheme, netloc = origin = _origin(url)
        plain = urlunsplit(url._replace(scheme=scheme, netloc=netloc))
        for root, login in self.indexes:
            if plain.startswith(root) or f"{plain}/" == root:
                return login
        return self.hosts.get(origin)

    def after_refusal(self, url: SplitResult) -> Login | None:
        """The login to ask ``url`` again with when it refused a request without one: its host's named index's."""
        return self.index_hosts.get(_origin(url))


#: a command that syncs without :func:`use_logins` (the tests, ``venvsync`` before recreating) shares this one
_logins: contextvars.ContextVar[_Logins] = contextvars.ContextVar("venvsync_logins", default=_Logins())  # noqa: B039  # one table for the process, deliberately


def use_logins(indexes: ProjectIndexes) -> None:
    """Start a sync's logins: those of the project's named indexes, and none learnt from URLs yet.

    Set in the calling thread's context, once per sync (again for the same ``indexes``, nothing changes: the
    index pages' logins stay for the downloads); the threads of :func:`each_on_kept_connections` run in copies
    of that context.
    """
    if _logins.get().owner is not indexes:
        _logins.set(_Logins(indexes.logins, owner=indexes))


def _index_root(url: str) -> str:
    """The URL under which an index's pages and files lie: without user info and a last ``simple`` segment."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last.lower() in {"simple", "+simple"}:  # devpi's ``+simple`` too, as uv takes it
        path = head
    scheme, netloc = _origin(parts)
    return urlunsplit((scheme, netloc, f"{path}/", "", ""))


#: the port a scheme's URL means when it names none
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin(parts: SplitResult) -> tuple[str, str]:
    """The scheme and host (``name`` or ``name:port``) a login is kept by, lowercase, without user info.

    A scheme's own port is left out, as uv compares them: a login for ``https://host:443/simple`` goes to
    ``https://host/files/...`` and the reverse.
    """
    scheme, netloc = parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()
    host, colon, port = netloc.rpartition(":")  # an IPv6 address's own colons end before its "]"
    return scheme, host if colon and port == _DEFAULT_PORTS.get(scheme) else netloc


def without_login(url: str) -> str:
    """``url`` without its user info, which becomes the login for requests to its host."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    if not userinfo:
        return url
    user, _, password = userinfo.partition(":")
    logins = _logins.get()
    with logins.lock:
        logins.hosts[_origin(parts)] = (unquote(user), unquote(password))
    return urlunsplit(parts._replace(netloc=host))


class _Login(urllib.request.BaseHandler):
    """Sends the request its login: its named index's, its host's from a URL that carried one, or the netrc file's.

    A request refused without one is asked once more with its host's named index's (:meth:`http_error_401`).

    As HTTP Basic authorization, only on the request itself: urllib does not copy an "unredirected" header to a
    redirect, so a redirect to another host (a file store's signed URL, say) never sees it; a redirect within the
    host gets it again here, if its scheme is the same (a URL's login) and never over plain http to a host that
    is not this machine or trusted (such a request or redirect is refused: :func:`check_transport`,
    :class:`_Redirects`).
    """

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        url = urlsplit(req.full_url)
        if _plain_http_refusal(url.scheme, url.hostname) is not None:
            return req
        logins = _logins.get()
        login = logins.of(url) or _netrc_login(url.hostname or "")
        if login is not None and not req.has_header("Authorization"):
            req.add_unredirected_header("Authorization", _basic(login))
            logins.sent.add(req.full_url)
        return req

    https_request = http_request

    def http_error_401(  # urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,  # noqa: ANN401  # urllib's response
        code: int,  # noqa: ARG002
        msg: str,  # noqa: ARG002
        headers: Any,  # noqa: ANN401, ARG002  # urllib's message
    ) -> Any:  # noqa: ANN401  # urllib's response, or None: urllib raises the refusal
        """A request refused without a login is asked once more with its host's named index's, as uv asks again.

        Only then: a public index or a redirect target on the private index's host gets no login it did not ask
        for (uv and Poetry send none there).
        """
        url = urlsplit(req.full_url)
        login = _logins.get().after_refusal(url)
        if login is None or req.get_header("Authorization") is not None:
            return None
        if _plain_http_refusal(url.scheme, url.hostname) is not None:
            return None
        with contextlib.suppress(OSError, http.client.HTTPException):
            fp.read()  # to the end, so its connection serves the next request
        fp.close()
        # the login as an "unredirected" header: urllib copies the others to a redirect, to another host too
        again = urllib.request.Request(req.full_url, headers=dict(req.headers), method=req.get_method())  # noqa: S310
        again.add_unredirected_header("Authorization", _basic(login))
        _logins.get().sent.add(again.full_url)
        return self.parent.open(again, timeout=req.timeout)


def _basic(login: Login) -> str:
    import base64  # noqa: PLC0415  # a request with a login only

    return "Basic " + base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")


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


def answered(exc: urllib.error.HTTPError, server: str, request: urllib.request.Request | None = None) -> str:
    """What an HTTP error status says, and for a refused login what to do (``request``: the one refused)."""
    reason = f"the {server} answered HTTP {exc.code} {' '.join(str(exc.reason).split())}"  # one line (a redirect loop)
    if exc.code == 407:  # noqa: PLR2004  # Proxy Authentication Required: no server's login helps
        return f"{reason}; {_PROXY_LOGIN}"
    if exc.code not in {401, 403}:
        return reason
    sent = request is not None and request.get_header("Authorization") is not None and request.full_url == exc.url
    if sent or exc.url in _logins.get().sent:
        return (
            f"{reason} to the login sent; check the one given for it (in the URL, in the variables the "
            f"project's tool reads for a named index, or in ~/.netrc or the file {NETRC_ENV} names){_keyring_note()}"
        )
    # no login was sent, or one the server does not take
    _, problem = _netrc_entries(_netrc_file())
    if problem is not None:
        return f"{reason}; {problem}"
    return (
        f"{reason}; if it needs a login, put the host's in ~/.netrc (or the file {NETRC_ENV} names) "
        f"or in the URL, before the host (user:token@){_keyring_note()}"
    )


#: the settings that tell uv and pip to ask a keyring for an index's password
_KEYRING_PROVIDERS = ("UV_KEYRING_PROVIDER", "PIP_KEYRING_PROVIDER")


def _keyring_note() -> str:
    """Where a login refused may have been meant to come from: a keyring that uv or pip were told to ask, or ``""``.

    No keyring is read here: a username given for a named index (``UV_INDEX_<NAME>_USERNAME``) whose password uv
    finds in the keyring goes with an empty password, and the refusal did not say why.
    """
    for variable in _KEYRING_PROVIDERS:
        value = _advised(variable).strip()
        if value and value.lower() != "disabled":
            return f"; {variable}={value} is not followed: keyrings are not read, so give the password in one of those"
    return ""


def _netrc_file() -> str:
    return os.environ.get(NETRC_ENV) or "~/.netrc"


def _netrc_login(hostname: str) -> tuple[str, str] | None:
    """The login the netrc file gives ``hostname`` (its ``default`` entry otherwise), or ``None``."""
    entries, _ = _netrc_entries(_netrc_file())
    return entries.get(hostname.lower(), entries.get(""))


@functools.cache
def _netrc_entries(file: str) -> tuple[dict[str, tuple[str, str]], str | None]:
    """The logins of a netrc file by host (``""`` for its ``default``), and why it could not be read.

    A file that does not parse gives no login and no failure, as pip and requests treat it: an index that
    needs none (PyPI) still works; one that refuses says why no login went (see :func:`answered`).
    """
    import netrc  # noqa: PLC0415  # only a request to an http(s) index reads it

    path = Path(file).expanduser()
    try:
        parsed = netrc.netrc(str(path))
    except FileNotFoundError:
        return {}, None
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError) as exc:
        # not the parser's own words: they quote the token it stumbled on, which may be a password
        why = f"line {exc.lineno} does not parse" if isinstance(exc, netrc.NetrcParseError) else type(exc).__name__
        if isinstance(exc, OSError):
            why = exc.strerror or why
        return {}, f"the login file {path} cannot be read ({why}); correct it, or set {NETRC_ENV} to another file"
    found = {
        host.lower(): (login, password or "")
        for host, (login, _, password) in parsed.hosts.items()
        if login or password  # an entry with neither gives no login
    }
    if (default := found.pop("default", None)) is not None:
        found[""] = default
    return found, None


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
        # each thread in a copy of this one's context: the sync's logins (see use_logins)
        threads = [pool.submit(contextvars.copy_context().run, work) for _ in range(count)]
        try:
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


#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH: a valid certificate, for another name
_HOSTNAME_MISMATCH = 62

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
            reason = f"{exc.reason} (asked {attempt + 1} times; {RETRIES_ENV} sets how often)"
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


#: OpenSSL's reasons when an https request is answered in plain text (OpenSSL 3.0-3.1; 3.2 and later)
_PLAIN_ANSWER_TO_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def network_reason(
    exc: urllib.error.URLError | OSError | http.client.HTTPException, request: urllib.request.Request | None = None
) -> str:
    """Why a request failed, and what to do: one clause for a :class:`FetchError`.

    A ``request`` the server sent on elsewhere (a redirect) failed there: the clause names that URL.
    """
    if isinstance(exc, RefusedRedirect):
        return str(getattr(exc, "reason", exc))
    hops = getattr(request, _HOPS, None)
    where = f"the server sent the request on to {hops[-1]}, and there: " if hops else ""
    return where + _network_reason(exc)


def _network_reason(exc: urllib.error.URLError | OSError | http.client.HTTPException) -> str:
    reason = getattr(exc, "reason", exc)
    if (broken := _broken_answer(reason)) is not None:
        return broken
    import ssl  # noqa: PLC0415  # loaded already when the request was https; a failure is not the fast path

    if isinstance(reason, ssl.SSLError) and reason.reason in _PLAIN_ANSWER_TO_TLS:
        return (
            "the server on that port does not speak https (it answered the TLS handshake in plain text, OpenSSL: "
            f"{reason.reason}); check the URL's scheme and port (http:// for a plain server)"
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        if reason.verify_code == _HOSTNAME_MISMATCH:
            return f"the server's certificate is for another host ({reason.verify_message}); check the URL's host"
        return _unverified(reason)
    return f"{' '.join(str(reason).split())}; check the network or the index"  # one line, whatever the reason holds


#: how http.client's ``OSError`` begins when a proxy answers ``CONNECT`` with another status than 200
_TUNNEL_FAILED = "Tunnel connection failed: "


def _tunnel_refusal(reason: object) -> tuple[int, str] | None:
    """The status and its words with which a proxy refused to open a tunnel (``CONNECT``), or ``None``."""
    if not isinstance(reason, OSError) or not str(reason).startswith(_TUNNEL_FAILED):
        return None
    code, _, words = str(reason).removeprefix(_TUNNEL_FAILED).partition(" ")
    return (int(code), " ".join(words.split())) if code.isascii() and code.isdigit() else None


#: OpenSSL's X509_V_ERR_CERT_NOT_YET_VALID and X509_V_ERR_CERT_HAS_EXPIRED: no authority to add helps
_OUT_OF_DATE = frozenset({9, 10})
#: what OpenSSL reads for the authorities to trust: a bundle, a directory of hashed certificates
_AUTHORITIES = (("SSL_CERT_FILE", "file", Path.is_file), ("SSL_CERT_DIR", "directory", Path.is_dir))
#: other tools' settings for them, which pip (requests) and curl read, and OpenSSL does not
_OTHERS_AUTHORITIES = ("REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE")


def _unverified(error: ssl.SSLCertVerificationError) -> str:
    """What a certificate that could not be verified says to do, from what names the authorities trusted now.

    A network that inspects https (a company proxy) signs with its own authority, which Python does not know; the
    advice to name it in ``SSL_CERT_FILE`` was given also when that was set already, to a file that is not there,
    or when only pip's variable named the bundle.
    """
    reason = f"the server's certificate could not be verified ({error.verify_message})"
    if error.verify_code in _OUT_OF_DATE:
        return f"{reason}; check the server's certificate, and this machine's clock"
    for variable, kind, exists in _AUTHORITIES:
        # SSL_CERT_DIR may list directories, separated as PATH is: OpenSSL reads each
        listed = (_setting(variable) or "").split(os.pathsep) if variable == "SSL_CERT_DIR" else [_setting(variable)]
        if (value := next((v for v in listed if v and not exists(Path(v))), None)) is not None:
            return f"{reason}; {variable} names {value}, which is no {kind}: correct it, or unset it"  # passed over
    if bundle := _setting("SSL_CERT_FILE"):
        if not _readable_bundle(bundle):  # OpenSSL passes over it without a word too
            return (
                f"{reason}; SSL_CERT_FILE names {bundle}, which holds no certificate OpenSSL can read (PEM: -----BEGIN "
                "CERTIFICATE-----), so it is passed over: correct it, or unset it"
            )
        mine = "point it at a bundle that also holds your network's"
        return f"{reason}; the authorities of SSL_CERT_FILE={bundle} did not sign it: {mine}"
    advice = "if your network uses a certificate authority of its own, point SSL_CERT_FILE at a bundle of certificates"
    other = next((name for name in _OTHERS_AUTHORITIES if _advised(name)), None)
    if other is not None:
        return f"{reason}; {advice} that includes it ({other}, which pip reads, names {_advised(other)})"
    return f"{reason}; {advice} that includes it"


def _readable_bundle(bundle: str) -> bool:
    """Whether OpenSSL reads a certificate from the file ``bundle`` (one without is passed over: see _tls_context)."""
    import ssl  # noqa: PLC0415  # loaded already: a certificate check failed

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=bundle)
    except OSError:  # ssl.SSLError too: no certificate in it; or it cannot be read
        return False
    return True


def _broken_answer(reason: object) -> str | None:
    """What an answer cut short, one that is no HTTP, or a proxy's refusal of a tunnel says; ``None``: none of these."""
    if (refusal := _tunnel_refusal(reason)) is not None:
        code, words = refusal
        if code == 407:  # noqa: PLR2004  # Proxy Authentication Required
            return f"the proxy answered HTTP 407 Proxy Authentication Required; {_PROXY_LOGIN}"
        # the proxy's policy (403) or its way to the host (502), not the index that "check the network" would blame
        if code < 500:  # noqa: PLR2004  # the 4xx class: the proxy will not
            return (
                f"the proxy refused to open a connection to the host (HTTP {code} {words}); add the host to no_proxy "
                "if it is to be reached without the proxy, else ask for the proxy to let it through"
            )
        return (
            f"the proxy could not open a connection to the host (HTTP {code} {words}); check the URL's host and "
            "port, and no_proxy if the host is to be reached without the proxy"
        )
    if isinstance(reason, http.client.IncompleteRead):
        got = len(reason.partial)
        expected = f" of {got + reason.expected}" if reason.expected is not None else ""
        return f"the answer broke off after {got}{expected} bytes; try again"
    if isinstance(reason, http.client.BadStatusLine) and not isinstance(reason, http.client.RemoteDisconnected):
        # what came back is not HTTP: another service on that port, or a proxy setting that points at one
        begins = " ".join(str(reason).split())[:60]
        return f"the answer is not HTTP (it begins {begins!r}); check the URL's port and scheme, and the proxy settings"
    return None


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
        raise FetchError(name, url, refusal)


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


@frozen
class IndexFile:
    """One file on a project page: its URL and the hashes the page gives in the link's fragment."""

    url: str
    hashes: Mapping[str, str]


class IndexClient:
    """Reads project pages of simple indexes, once per project per run, from any thread."""

    def __init__(self) -> None:
        self._pages: dict[str, dict[str, IndexFile]] = {}
        self._lock = threading.Lock()

    def locate(
        self, indexes: str | Sequence[str], name: str, filename: str, hashes: Mapping[str, str] | None = None
    ) -> str:
        """The URL of ``filename`` on the first of ``indexes`` whose page for ``name`` lists it (:meth:`candidates`)."""
        return self.candidates((indexes,) if isinstance(indexes, str) else indexes, name, filename, hashes or {})[0]

    def candidates(self, indexes: Sequence[str], name: str, filename: str, hashes: Mapping[str, str]) -> list[str]:
        """Every URL of ``filename`` the pages of ``indexes`` for ``name`` give, best first; FetchError if none does.

        First the links whose digest is the lock's ``hashes``, then those whose page gives no digest, then those
        with another (to fail with the mismatch), each group in the order of ``indexes``. Of several indexes (a
        PDM project's sources, extra indexes), a file of the same name that another index publishes to stand in
        for a private one is passed over when its page gives its digest; when it gives none, its download fails
        the hash check and the fetch moves on to the next URL.
        """

        def rank(file: IndexFile) -> int:
            common = [algorithm for algorithm in file.hashes if algorithm in hashes]
            if not common:
                return 1
            return 0 if all(hashes[a].lower() == file.hashes[a] for a in common) else 2

        found: list[IndexFile] = []
        failed: list[FetchError] = []
        for index in indexes:  # in order, until one lists the lock's file: a later one is not asked
            try:
                file = self.files(index, name).get(filename)
            except FetchError as exc:  # one index refusing (a login, a network) is not the end, as with pip
                failed.append(exc)
                continue
            if file is not None:
                found.append(file)
                if rank(file) == 0:
                    break
        if failed and not any(rank(file) == 0 for file in found):
            raise failed[0]  # the index that refused may be the one with the lock's file: say so, not a stand-in's hash
        if not found:
            pages = " or ".join(_page_url(index, name) for index in indexes)
            reason = (
                f"{filename} is not on the index page {pages}; check the index the lock names, or the one configured "
                "(UV_INDEX_URL, PIP_INDEX_URL) where it names none"
            )
            raise FetchError(name, ", ".join(indexes), reason)
        return list(dict.fromkeys(file.url for file in sorted(found, key=rank)))

    def files(self, index: str, name: str) -> dict[str, IndexFile]:
        """Every file on the project's page by file name."""
        return self._read(_page_url(index, name), name)

    def links(self, page: str, name: str) -> dict[str, IndexFile]:
        """Every file a ``--find-links`` page links to, by file name (read for ``name``, named in errors)."""
        return self._read(page, name)

    def _read(self, url: str, name: str) -> dict[str, IndexFile]:
        with self._lock:
            if url in self._pages:
                return self._pages[url]
        page = _read_page(url, name)
        with self._lock:
            self._pages[url] = page
        return page


#: what an index answers for a project it does not have
_NO_SUCH_PROJECT = frozenset({404, 410})


def _page_url(index: str, name: str) -> str:
    return urljoin(index.rstrip("/") + "/", f"{canonicalize_name(name)}/")


def _read_page(url: str, name: str) -> dict[str, IndexFile]:
    if url.startswith("file:"):
        return _read_local_page(url, name)
    check_transport(name, url)
    try:
        request = urllib.request.Request(url, headers={"Accept": _ACCEPT, "User-Agent": f"tox-venvsync/{__version__}"})  # noqa: S310
    except ValueError as exc:  # a path, or no URL at all
        reason = f"the index URL is not valid ({exc}); give an https, http or file URL"
        raise BadUrlError(name, url, reason) from exc
    got = retried(lambda: _get_page(request, name, url))
    if got is None:
        return {}  # the index has no such project: pip and uv go on to the next index, so does find_pinned
    body, kind, base = got
    if kind.endswith("json"):
        return _from_json(body, base, name, url)
    return _from_html(body.decode("utf-8", "replace"), base)


def _get_page(request: urllib.request.Request, name: str, url: str) -> tuple[bytes, str, str] | None:
    """A project page's body, content type and final URL; ``None`` when the index has no such project."""
    # asked again as it is (see retried): the redirects of an earlier attempt are not where this one failed
    vars(request).pop(_HOPS, None)
    try:
        with open_url(request, timeout=timeout()) as response:
            body = _page_body(response, name, url)
            coding = response.headers.get("Content-Encoding", "")
            kind, base = response.headers.get_content_type(), response.geturl()
    except urllib.error.HTTPError as exc:
        with exc:  # close the error's connection
            if exc.code in _NO_SUCH_PROJECT:
                return None
            reason = through_proxy(answered(exc, "index", request), url)
            raise FetchError(name, url, reason, transient=transient_status(exc.code)) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # a page cut short is IncompleteRead
        reason = through_proxy(network_reason(exc, request), url)
        raise FetchError(name, url, reason, transient=transient_failure(exc)) from exc
    return _decoded(body, coding, name, url), kind, base


def _page_body(response: http.client.HTTPResponse, name: str, url: str) -> bytes:
    """The page's body, refused once it is longer than :data:`PAGE_LIMIT`: a page that does not end is cut there."""
    declared = response.headers.get("Content-Length", "")
    declared = declared if declared.isascii() else ""  # "²" is a digit to isdigit, and no number to int()
    if declared.isdigit() and int(declared) <= PAGE_LIMIT:
        return response.read()  # whole, or IncompleteRead when cut short
    body = b"" if declared.isdigit() else response.read(PAGE_LIMIT + 1)
    if declared.isdigit() or len(body) > PAGE_LIMIT:
        raise FetchError(name, url, _too_large())
    return body


#: the most bytes a project page may take, as sent and decoded: PyPI's largest (tf-nightly's, botocore's) take
#: tens of MiB; a page that does not end, or a small gzip one that inflates to gigabytes, would take the memory
PAGE_LIMIT = 512 << 20


def _too_large() -> str:
    return f"the index page is larger than {PAGE_LIMIT / 2**20:g} MiB, which no project page needs; check the index"


def _decoded(body: bytes, coding: str, name: str, url: str) -> bytes:
    """A page's body without its ``Content-Encoding``: gzip or deflate, as pip and uv read them.

    None is asked for, but servers and proxies send pages compressed anyway (a static mirror of ``.gz`` files, a
    CDN): read as they came, such a page listed no file, and the failure blamed the lock or the index setting.
    """
    coding = coding.strip().lower()
    if coding in {"", "identity"}:
        return body
    if coding not in {"gzip", "x-gzip", "deflate"}:
        reason = (
            f"the index sent the page encoded as {coding!r}, which is not read (gzip and deflate are); check the index"
        )
        raise FetchError(name, url, reason)
    import zlib  # noqa: PLC0415  # a compressed page only

    # 47: a gzip or zlib header, found by zlib; -15: the raw deflate stream some servers send as "deflate"
    for window in (47, -15):
        with contextlib.suppress(zlib.error):
            inflate = zlib.decompressobj(wbits=window)
            page = inflate.decompress(body, PAGE_LIMIT + 1)  # a gzip bomb stops here, not at the memory's end
            if len(page) > PAGE_LIMIT:
                raise FetchError(name, url, _too_large())
            if inflate.eof:
                return page
    raise FetchError(name, url, f"the index page's {coding} encoding does not decode; try again", transient=True)


def _read_local_page(url: str, name: str) -> dict[str, IndexFile]:
    """A ``file:`` index's project page: a directory's ``index.html``, as pip reads one; none there, no such project."""
    path = Path(unquote(urlparse(url).path))
    page = path / "index.html" if url.endswith("/") or path.is_dir() else path
    try:
        text = page.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise FetchError(name, url, f"the index page {page} cannot be read ({exc.strerror})") from exc
    return _from_html(text, page.as_uri())


def _from_json(body: bytes, base: str, name: str, url: str) -> dict[str, IndexFile]:
    try:
        files = json.loads(body)["files"]
        return {
            str(f["filename"]): IndexFile(
                url=urljoin(base, str(f["url"])).split("#", 1)[0],
                hashes={str(k): str(v).lower() for k, v in dict(f.get("hashes") or {}).items()},
            )
            for f in files
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FetchError(name, url, "the index page is not valid PEP 691 JSON") from exc


def _from_html(text: str, base: str) -> dict[str, IndexFile]:
    links = _Links()
    links.feed(text)
    found: dict[str, IndexFile] = {}
    for href in links.hrefs:
        absolute, _, fragment = urljoin(base, href).partition("#")
        algorithm, _, digest = fragment.partition("=")
        hashes = {algorithm.lower(): digest.lower()} if digest else {}
        found[unquote(urlparse(absolute).path.rsplit("/", 1)[-1])] = IndexFile(url=absolute, hashes=hashes)
    return found


def find_pinned(  # noqa: PLR0913  # what to find and where, keyword-only
    client: IndexClient,
    *,
    name: str,
    version: str,
    pin: IndexPin,
    ranks: Mapping[str, int],
    default_indexes: Sequence[str],
) -> Artifact:
    """The file a requirements pin means: the best-fitting wheel (else the sdist) whose hash is allowed.

    Looked for on the indexes and in every ``--find-links`` location, as pip looks: the file's
    ``--index-url`` in place of ``default_indexes`` (the configured ones), its ``--extra-index-url``
    besides, none with ``--no-index``. The candidates are the files whose hash is known to be allowed (an
    index page's, as PyPI and every PEP 503 index worth the name give them, a find-links page's, or a local
    file's own) and, as pip and uv take them, those a page links to without a hash (a plain directory listing,
    PyTorch's find-links pages): such a file, when chosen, comes back with no ``hashes``, for the caller to
    download and check against the pin before it is used (:func:`tox_venvsync._fetch.store_pinned`). Of equally
    fitting files, one whose allowed hash the page gives goes first.
    """
    indexes = () if pin.no_index else (*((pin.index,) if pin.index else default_indexes), *pin.extra_indexes)
    indexes = tuple(dict.fromkeys(indexes))
    if not indexes and not pin.find_links:
        raise FetchError(name, "--no-index", "the requirements file allows no index and gives no --find-links")
    candidates, seen, failed = _indexed(client, indexes, name, version, pin)
    for location in pin.find_links:
        candidates.extend(_linked(client, location, name, version, pin))
    candidates.sort(key=lambda candidate: not candidate.hashes)  # stable: the known ones first among equals
    chosen = choose_file(candidates, ranks, pin.formats)
    if chosen is None and failed and not seen:
        raise failed[0]  # an index that refused may hold it; when another listed the release, its hashes tell
    if chosen is None:
        where = ", ".join((*indexes, *pin.find_links))
        if candidates:  # wheels for another interpreter, or files --no-binary or --only-binary leave out
            raise NoFittingFileError(name, where, _none_fits(f"{name}=={version}", candidates, ranks, pin.formats))
        raise FetchError(name, where, _not_found(name, version, seen, find_links=bool(pin.find_links)))
    return chosen


def _none_fits(release: str, candidates: Sequence[Artifact], ranks: Mapping[str, int], formats: frozenset[str]) -> str:
    """Why no file of a pin fits: the files there are, the interpreter's best tag, and what to do."""
    allowed = "" if any(not candidate.hashes for candidate in candidates) else " with an allowed hash"
    files = ", ".join(sorted({candidate.filename for candidate in candidates}))
    if "source" not in formats and any(not c.filename.endswith(".whl") for c in candidates):
        return (
            f"no wheel of {release}{allowed} fits this interpreter and the file's --only-binary leaves out its sdist; "
            f"there are {files}: take the package out of --only-binary, or compile the requirements again for this "
            "interpreter's Python and platform"
        )
    if "binary" not in formats:
        return (
            f"the file's --no-binary leaves out the wheels of {release} and it has no sdist{allowed}; there are "
            f"{files}: take the package out of --no-binary, or compile the requirements again with its sdist"
        )
    best = min(ranks, key=ranks.__getitem__, default="none")
    return (
        f"no file of {release}{allowed} fits this interpreter (its first wheel tag is {best}); there are {files}: "
        "compile the requirements again for this interpreter's Python and platform, or use a Python they fit"
    )


def _not_found(name: str, version: str, seen: Mapping[str, int], *, find_links: bool) -> str:
    """Why no file of a pin was found, from what the indexes listed of the release (none of it allowed)."""
    release = f"{name}=={version}"
    if not seen and not find_links:
        return f"no index lists {release}; check the file's --index-url and --extra-index-url, or the configured index"
    if seen.get("other"):
        return (
            f"the index lists {seen['other']} file(s) of {release}, none with a hash the file's --hash allows (the "
            "index holds other files than the lock was made from, or a hash was mistyped); compile the file again"
        )
    return f"no file of {release} with an allowed hash is found"


def _indexed(
    client: IndexClient, indexes: Sequence[str], name: str, version: str, pin: IndexPin
) -> tuple[list[Artifact], dict[str, int], list[FetchError]]:
    """The allowed files of ``name==version`` the indexes list, how many of the release's they list, who failed.

    The count is by kind: ``allowed``, ``other`` (another hash) and ``hashless`` (the link gives none the pin
    uses: a candidate, see :func:`find_pinned`). One index refusing (a login, the network) is not the end while
    another has the file, as with pip.
    """
    candidates: list[Artifact] = []
    seen: dict[str, int] = {}
    failed: list[FetchError] = []
    for index in indexes:
        try:
            files = client.files(index, name)
        except FetchError as exc:
            failed.append(exc)
            continue
        for filename, file in files.items():
            if _is_release(filename, name, version):
                kind = "allowed" if _allowed(file.hashes, pin) else "other" if _comparable(file, pin) else "hashless"
                seen[kind] = seen.get(kind, 0) + 1
                if kind != "other":
                    candidates.append(_artifact(filename, file, pin))
    return candidates, seen, failed


def _linked(client: IndexClient, location: str, name: str, version: str, pin: IndexPin) -> list[Artifact]:
    """The allowed files of ``name==version`` a ``--find-links`` location offers: a directory, or a page of links."""
    parsed = urlparse(location)
    if parsed.scheme in {"http", "https"}:
        files = client.links(location, name)
        return [
            _artifact(filename, file, pin)
            for filename, file in files.items()
            if _is_release(filename, name, version) and (_allowed(file.hashes, pin) or not _comparable(file, pin))
        ]
    directory = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        reason = f"{exc.strerror}; --find-links takes a directory of wheels and sdists, or an http(s) page of links"
        raise FetchError(name, location, reason) from exc
    found = []
    for entry in entries:
        path = directory / entry
        if _is_release(entry, name, version) and path.is_file():
            digests = file_digests(path, pin.hashes)  # --hash may name one hashlib lacks, which pip refuses
            if allowed := {alg: digest for alg, digest in digests.items() if digest in pin.hashes[alg]}:
                found.append(Artifact(filename=entry, url=None, path=path, size=None, hashes=allowed))
    return found


def _is_release(filename: str, name: str, version: str) -> bool:
    try:
        if filename.endswith(".whl"):
            found_name, found_version, *_ = parse_wheel_filename(filename)
        else:
            found_name, found_version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return found_name == canonicalize_name(name) and found_version == Version(version)


def _allowed(hashes: Mapping[str, str], pin: IndexPin) -> bool:
    return any(digest in pin.hashes.get(alg, ()) for alg, digest in hashes.items())


def _comparable(file: IndexFile, pin: IndexPin) -> bool:
    """Whether the link gives a digest of an algorithm the pin names (an md5 alone, or none, tells nothing)."""
    return any(algorithm in pin.hashes for algorithm in file.hashes)


def _artifact(filename: str, file: IndexFile, pin: IndexPin) -> Artifact:
    """The file as a candidate: with its allowed hashes, or none (a link without a hash the pin uses)."""
    hashes = {alg: d for alg, d in file.hashes.items() if d in pin.hashes.get(alg, ())}
    return Artifact(filename=filename, url=file.url, path=None, size=None, hashes=hashes)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)
