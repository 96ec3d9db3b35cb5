"""Session: a sync's logins and network settings, kept per sync, the opener that sends them, what a failure says."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import http.client
import os
import shutil
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from tox_venvsync._errors import named
from tox_venvsync._http import (
    _AUTHORITY_VARIABLES,
    _HOPS,
    TIMEOUT_ENV,
    RefusedRedirect,
    _bypassed,
    _Handler,
    _plain_http_refusal,
    _Proxies,
    _proxies,
    _Redirects,
    _shown_proxy,
    _tunnel_refusal,
    timeout,
    transient_status,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping, Sequence
    from urllib.parse import SplitResult

    from tox_venvsync._http import Network
    from tox_venvsync._indexes import Login, ProjectIndexes


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


#: the variables of an environment that a failure's advice names, by name (see :func:`advice_of`); ``None``: this
#: process's environment
Advice = tuple[tuple[str, str], ...] | None


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


def environ_of(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...] | None:
    """``environ`` (a tox run's, with ``set_env``) for the commands a sync's downloads start; ``None``: this process's.

    The keyring command runs in it, as uv runs it in the environment tox-uv gives uv: a ``set_env`` that names the
    backend's settings (``GOOGLE_APPLICATION_CREDENTIALS``, ``KEYRING_BACKEND``) or its ``PATH`` reaches it.
    """
    return _own(environ, lambda given: tuple(sorted(given.items())))


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


def through_proxy(reason: str, url: str, failure: BaseException | None = None) -> str:
    """``reason``, naming the proxy the request to ``url`` went through, if one did: the failure may be the proxy's.

    A connection that could not be made at all (``failure``: a name not looked up, refused, no route) was the
    proxy's: the request connects to the proxy alone, which looks the host up and connects to it on its side.
    """
    parts = urlsplit(url)
    network = _logins.get().network
    proxies = _proxies(network)
    proxy = proxies.get(parts.scheme.lower())
    if proxy is None or _bypassed(parts.netloc.rpartition("@")[2], None if network is None else proxies.get("no", "")):
        return reason
    cause = getattr(failure, "reason", failure)
    if isinstance(cause, OSError) and _not_connected(cause):
        words = cause.strerror or " ".join(str(cause).split())
        return (
            f"the proxy {_shown_proxy(proxy)} cannot be reached ({words}); check the proxy setting "
            f"({parts.scheme.lower()}_proxy), or add the host to no_proxy if it is to be reached without the proxy"
        )
    return f"{reason} (the request went through the proxy {_shown_proxy(proxy)})"


# --- logins ----------------------------------------------------------------------------------------------------------

#: names the login file to read instead of ``~/.netrc`` (as pip, uv, curl and requests read it)
NETRC_ENV = "NETRC"


class _Logins:
    """The logins a sync sends, besides the netrc file's.

    Each sync starts its own (:func:`use_logins`), so two tox environments whose ``set_env`` give one index
    different logins each send their own, also when tox runs them one after the other in one process.
    """

    __slots__ = (
        "asked",
        "hosts",
        "index_hosts",
        "indexes",
        "keyring_bare",
        "keyring_lock",
        "keyring_old",
        "keyring_silent",
        "lock",
        "network",
        "owner",
        "sent",
    )

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
        #: what the keyring command answered (see :func:`_from_keyring`), by the host and the username asked for:
        #: once per host, as uv keeps what it found for a host
        self.asked: dict[tuple[tuple[str, str], str], Login | None] = {}
        #: one keyring command at a time: the downloads' threads that need one wait for the first one's answer
        self.keyring_lock = threading.Lock()
        #: the keyring command did not answer in time: it is not asked again in the sync, and a refusal says so
        self.keyring_silent = False
        #: the keyring command is older than keyring 25.2 and refused ``--mode creds``: a refusal says so
        self.keyring_old = False
        #: the keyring command has no backend to ask (keyring's NoKeyringError): a refusal says so
        self.keyring_bare = False

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
    """``url`` without its user info, which becomes the login for requests to its host.

    An empty one (``https://@host/``, what ``https://${TOKEN}@host/`` becomes with the variable unset) names no
    login and goes too, as pip drops it: urllib took ``@host`` for the host name.
    """
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    if userinfo:
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
        login = logins.of(url)
        if login is not None and login[0] and not login[1] and _keyring_setting() is not None:
            login = _from_keyring(url, login[0]) or login  # a username given without its password, as uv asks
        # the netrc file's as it is, as uv takes it: a login alone there is a token, never handed to the keyring
        login = login or _netrc_login(url.hostname or "")
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
        logins = _logins.get()
        login = logins.after_refusal(url)
        if req.get_header("Authorization") is not None or _plain_http_refusal(url.scheme, url.hostname) is not None:
            return None
        if (login is None or not login[1]) and _keyring_setting() is not None:
            # a redirect's target (a file store's signed URL, chosen by the server) is asked for by its host alone, as
            # pip asks for a URL under no index: its path and query (a signature, a token) never reach the command
            # line, where any user's ps reads them
            found = _from_keyring(url, login[0] if login is not None else "", host_only=req.unverifiable)
            if found is not None:  # sent from now on to every request to the host, as uv keeps it for the host
                with logins.lock:
                    logins.hosts.setdefault(_origin(url), found)
                login = found
        if login is None:
            return None
        with contextlib.suppress(OSError, http.client.HTTPException):
            fp.read()  # to the end, so its connection serves the next request
        fp.close()
        # the login as an "unredirected" header: urllib copies the others to a redirect, to another host too
        again = urllib.request.Request(req.full_url, headers=dict(req.headers), method=req.get_method())  # noqa: S310
        again.add_unredirected_header("Authorization", _basic(login))
        logins.sent.add(again.full_url)
        return self.parent.open(again, timeout=req.timeout)


def _basic(login: Login) -> str:
    import base64  # noqa: PLC0415  # a request with a login only

    return "Basic " + base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")


#: Not Found and Gone: a lock's file that was removed or moved (a yanked release deleted, a mirror's cleanup), or a
#: URL mistyped; asking again does not help
NOT_THERE = frozenset({404, 410})


#: what a status that says "ask again later" means, and what to do (500: the server's failures, the 5xx class)
_LATER = {
    408: "the server gave up waiting for the request: try again later",
    429: "the server limits how often it is asked: try again later",
    500: "a failure on the server's side: try again later",
}


def answered(exc: urllib.error.HTTPError, server: str, request: urllib.request.Request | None = None) -> str:
    """What an HTTP error status says, and for a refused login what to do (``request``: the one refused)."""
    reason = f"the {server} answered HTTP {exc.code} {' '.join(str(exc.reason).split())}"  # one line (a redirect loop)
    if exc.code == 407:  # noqa: PLR2004  # Proxy Authentication Required: no server's login helps
        return f"{reason}; {_PROXY_LOGIN}"
    if exc.code in NOT_THERE and server == "server":  # a file of the lock (an index's 404 is passed over)
        return f"{reason}; the file is not at that URL: check the URL in the lock, or lock again"
    if exc.code not in {401, 403}:  # a status that says "ask again later" was asked again (see retried): wait
        return f"{reason}; {_LATER.get(exc.code, _LATER[500])}" if transient_status(exc.code) else reason
    sent = request is not None and request.get_header("Authorization") is not None and request.full_url == exc.url
    if sent or exc.url in _logins.get().sent:
        where = "in the URL, in the variables the project's tool reads for a named index, or in ~/.netrc"
        where = f"{where} or the file {NETRC_ENV} names"
        return f"{reason} to the login sent; check the one given for it ({where}){_keyring_note(exc.url, sent=True)}"
    # no login was sent, or one the server does not take
    _, problem = _netrc_entries(_netrc_file())
    if problem is not None:
        return f"{reason}; {problem}"
    return (
        f"{reason}; if it needs a login, put the host's in ~/.netrc (or the file {NETRC_ENV} names) "
        f"or in the URL, before the host (user:token@){_keyring_note(exc.url, sent=False)}"
    )


#: the settings that tell uv and pip to ask a keyring for an index's password
_KEYRING_PROVIDERS = ("UV_KEYRING_PROVIDER", "PIP_KEYRING_PROVIDER")
#: how long the keyring command may take: a backend that would ask someone to unlock a store gets no answer here
KEYRING_SECONDS = 60


def _keyring_setting() -> tuple[str, str] | None:
    """The variable and value that tell this sync to ask the keyring command for logins, or ``None``.

    ``subprocess`` (uv's and pip's), and pip's ``auto`` and ``import``, which ask keyring's Python module: the
    command is that module's front end, and the one on PATH is asked.
    """
    for variable in _KEYRING_PROVIDERS:
        value = _advised(variable).strip()
        if value and value.lower() != "disabled":
            return variable, value
    return None


def _from_keyring(url: SplitResult, username: str, *, host_only: bool = False) -> Login | None:
    """The login the keyring command gives ``url``, as uv asks it: for the URL, then for its host (``host:port``).

    With a ``username`` (an index's, given without a password) it is asked for that user's password
    (``keyring get <service> <username>``), without one for both (``keyring get <service> --mode creds``, keyring
    25.2 or newer). Asked once per host and username in a sync; nothing it says is shown or kept. ``host_only``:
    for the host alone (a redirect's target).
    """
    logins = _logins.get()
    scheme, host = origin = _origin(url)  # as uv writes them: the host in lower case, without its scheme's own port
    key = (origin, username)
    with logins.keyring_lock:
        if key not in logins.asked and not logins.keyring_silent:
            service = urlunsplit(url._replace(scheme=scheme, netloc=host))
            try:
                found = None if host_only else _ask_keyring(service, username)
                logins.asked[key] = found or _ask_keyring(host, username)
            except subprocess.TimeoutExpired:  # waiting for someone to unlock its store: it would wait as long again
                logins.keyring_silent = True
            except _OldKeyring:  # and would refuse the host's as well
                logins.asked[key] = None
                logins.keyring_old = True
            except _NoBackend:  # nor for the host
                logins.asked[key] = None
                logins.keyring_bare = True
        return logins.asked.get(key)


class _OldKeyring(Exception):  # noqa: N818  # not an error: a keyring command too old to be asked that way
    """The keyring command does not know ``--mode creds`` (keyring before 25.2): it gives no username."""


class _NoBackend(Exception):  # noqa: N818  # not an error here: a keyring command without a backend to ask
    """The keyring command found no backend (keyring's ``NoKeyringError``): keyring alone, without its plugin."""


def _ask_keyring(service: str, username: str) -> Login | None:
    """``keyring get``'s answer for ``service``: ``None`` when there is no command or no entry.

    :class:`subprocess.TimeoutExpired` when it gives no answer in :data:`KEYRING_SECONDS`, :class:`_OldKeyring`
    when asked for a whole login by a keyring older than 25.2 (argparse's words, which uv looks for too),
    :class:`_NoBackend` when it has no backend to ask (the name of keyring's exception, in its traceback).
    """
    environ = _keyring_environ()
    command = shutil.which("keyring", path=None if environ is None else environ.get("PATH"))
    if command is None:
        return None
    argv = [command, "get", service, username] if username else [command, "get", service, "--mode", "creds"]
    try:
        returncode, stdout, stderr = _run_alone(argv, environ)  # the keyring command, asked as uv and pip ask it
    except OSError:
        return None
    if returncode != 0:
        if not username and b"unrecognized arguments: --mode" in stderr:
            raise _OldKeyring
        if b"NoKeyringError" in stderr:
            raise _NoBackend
        return None
    try:
        lines = stdout.decode().splitlines()
    except UnicodeDecodeError:  # no text, as uv takes it too: its bytes replaced would go as the password
        return None
    if not lines:
        return None
    user, password = (username, lines[0]) if username else (lines[0], lines[1] if len(lines) > 1 else "")
    return (user, password) if password else None


def _keyring_environ() -> dict[str, str] | None:
    """The sync's environment, which the keyring command runs in (``None``: this process's; see :func:`environ_of`)."""
    owner = _logins.get().owner
    return None if owner is None or owner.environ is None else dict(owner.environ)


def _run_alone(argv: list[str], environ: Mapping[str, str] | None) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with its input empty; its exit code and output, or :class:`subprocess.TimeoutExpired`.

    In a session of its own, so that a timeout ends it together with every helper it started (a backend's credential
    provider waiting for a sign-in): ``subprocess.run`` kills the command alone, and its helpers kept running, with
    its output's pipes. So it has no terminal: a backend that would ask there for its store's password gets no
    answer at once, as from its empty input, rather than taking the terminal in the middle of a sync (of several,
    in ``tox p``) whose output is not shown; uv and pip leave it the terminal (see docs/reference/environment.rst).
    """
    with subprocess.Popen(  # the keyring command found on PATH, with the service asked for
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if environ is None else dict(environ),
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=KEYRING_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # already ended, or not ours to end
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    return process.returncode, stdout, stderr


def _keyring_note(url: str, *, sent: bool) -> str:
    """What a refusal of ``url`` adds about the keyring uv's or pip's setting names (``""``: none is).

    ``sent``: a login was sent, which may be a username given alone whose password the keyring did not have.
    """
    setting = _keyring_setting()
    if setting is None:
        return ""
    told = f"{setting[0]}={setting[1]}"
    if (trouble := _keyring_trouble()) is not None:
        return f"; the keyring command, which {told} asks, {trouble}"
    if shutil.which("keyring") is None:
        return (
            f"; {told} asks the keyring command, and none is on PATH: install keyring (with your index's backend) "
            "where the sync runs, or give the password in one of those"
        )
    if sent:
        origin, asked = _origin(urlsplit(url)), tuple(_logins.get().asked.items())  # in one go: threads add to it
        if any(name and found is None for (there, name), found in asked if there == origin):
            return (
                f"; the keyring, which {told} asks, had no password for the username given "
                "(keyring get <URL or host> <username>), so it went without one"
            )
        return f", or in the keyring, which {told} asks"
    return f"; the keyring, which {told} asks, had none for the URL or its host (keyring get <service> --mode creds)"


def _keyring_trouble() -> str | None:
    """What kept the keyring command from answering in this sync, and what to do (``None``: nothing did)."""
    logins = _logins.get()
    if logins.keyring_silent:
        # what it prints is not shown: a store's password or a sign-in code it asks for is answered by hand
        return (
            f"gave no answer within {KEYRING_SECONDS:g} s (a backend waiting for its store to be unlocked or for a "
            "sign-in, say): run keyring get <URL or host> <username> once in a terminal where the sync runs, to "
            "see what it asks, or give the password in one of those"
        )
    if logins.keyring_old:
        return (
            "is older than keyring 25.2 and cannot give a username (keyring get <service> --mode creds): upgrade it "
            "where the sync runs, or give the index's username (UV_INDEX_<NAME>_USERNAME, or user@ in the URL) so "
            "that it is asked for the password alone"
        )
    if logins.keyring_bare:
        return (
            "has no backend to ask (keyring's NoKeyringError): install your index's backend beside it where the sync "
            "runs (keyrings.google-artifactregistry-auth, artifacts-keyring, keyrings.codeartifact, say), or give the "
            "password in one of those"
        )
    return None


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


#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH: a valid certificate, for another name
_HOSTNAME_MISMATCH = 62


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
    if isinstance(reason, OSError) and (plainly := _connection_failure(reason)) is not None:
        return plainly
    return f"{' '.join(str(reason).split())}; check the network or the index"  # one line, whatever the reason holds


#: the errors of a network that does not reach the host at all (no route, no network up)
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def _not_connected(error: OSError) -> bool:
    """Whether ``error`` is a connection that was never made: a name not looked up, a refusal, no route."""
    import socket  # noqa: PLC0415  # loaded already: a request was made

    return isinstance(error, (socket.gaierror, ConnectionRefusedError)) or error.errno in _UNREACHABLE


def _connection_failure(error: OSError) -> str | None:
    """A connection's failure in words, with what to do; ``None`` for another ``OSError``.

    Python's own text (``[Errno 111] Connection refused``, ``[Errno -2] Name or service not known``, ``timed out``)
    said what the socket met, not what it means for the URL nor what to do: a host name that does not resolve is a
    typo or a network without DNS (offline, the cache may hold every file), nothing listening is a wrong port or a
    server down. The system's words stay, in brackets.
    """
    import socket  # noqa: PLC0415  # loaded already: a request was made

    words = error.strerror or " ".join(str(error).split())
    offline = f"without a network, sync with {named('offline')} from a cache that holds the files"
    if isinstance(error, socket.gaierror):
        return f"the host name could not be looked up ({words}); check the URL's host and the network's DNS; {offline}"
    if isinstance(error, ConnectionRefusedError):
        return f"the host refused the connection ({words}): nothing listens on that port; check the URL's host and port"
    if isinstance(error, TimeoutError):
        return (
            f"the server did not answer within {timeout():g} s ({words}); try again later, or give it longer "
            f"with {TIMEOUT_ENV}"
        )
    if isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return f"the connection was cut off on the way ({words}); try again"
    if error.errno in _UNREACHABLE:
        return f"the network does not reach the host ({words}); check the network connection; {offline}"
    return None


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
