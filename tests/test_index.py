from __future__ import annotations

import functools
import gzip
import http.client
import http.server
import io
import os
import socket
import threading
import time
import urllib.request
import zlib
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from _support.logins import forget_logins
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _http, _index, _session
from tox_venvsync._cache import Cache
from tox_venvsync._errors import BadUrlError, FetchError
from tox_venvsync._fetch import CacheFetcher
from tox_venvsync._http import check_transport, each_on_kept_connections, kept_connections
from tox_venvsync._index import IndexClient
from tox_venvsync._indexes import DEFAULT_INDEX, configured_index
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._session import open_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from _support.index import LocalIndex


def test_configured_index_prefers_uv_then_pip_variables(tmp_path: Path) -> None:
    empty = tmp_path / "none.conf"
    assert configured_index({"UV_DEFAULT_INDEX": "u", "PIP_INDEX_URL": "p"}) == "u"
    assert configured_index({"UV_INDEX_URL": "ui", "PIP_INDEX_URL": "p"}) == "ui"
    assert configured_index({"PIP_INDEX_URL": "p"}) == "p"
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://mirror.example/simple\n")
    assert configured_index({"PIP_CONFIG_FILE": str(config)}) == "https://mirror.example/simple"
    assert configured_index({"PIP_CONFIG_FILE": str(empty)}) in {DEFAULT_INDEX, configured_index({})}


def test_locate_reads_the_project_page_once(local_index: LocalIndex, wheelhouse: Path) -> None:
    wheel = make_wheel(wheelhouse, "Some_Thing", "1.0")
    client = IndexClient()
    assert client.locate(local_index.simple_url, "some-thing", wheel.name) == local_index.file_url(wheel.name)
    client.locate(local_index.simple_url, "Some.Thing", wheel.name)
    assert local_index.requests.count("/simple/some-thing/") == 1


def test_missing_file_names_the_page(local_index: LocalIndex, wheelhouse: Path) -> None:
    make_wheel(wheelhouse, "thing", "1.0")
    with pytest.raises(FetchError) as caught:
        IndexClient().locate(local_index.simple_url, "thing", "thing-2.0-py3-none-any.whl")
    assert str(caught.value) == (
        f"cannot fetch thing from {local_index.simple_url}: thing-2.0-py3-none-any.whl is not on the index page "
        f"{local_index.simple_url}thing/; check the index the lock names, or the one configured "
        "(UV_INDEX_URL, PIP_INDEX_URL) where it names none"
    )
    assert caught.value.exit_code == 2  # the lock names a file its index does not have: bad input, as an HTTP 404


def test_fetcher_finds_a_url_less_artifact_on_the_index(
    local_index: LocalIndex, wheelhouse: Path, tmp_path: Path
) -> None:
    wheel = make_wheel(wheelhouse, "thing", "1.0")
    artifact = Artifact(filename=wheel.name, url=None, path=None, size=None, hashes={"sha256": sha256_file(wheel)})
    pick = Pick(
        name=canonicalize_name("thing"), version=None, kind="wheel", artifact=artifact, index=local_index.simple_url
    )
    fetched = CacheFetcher(Cache(tmp_path / "cache")).fetch([pick])
    assert fetched["thing"].read_bytes() == wheel.read_bytes()
    assert f"/files/{wheel.name}" in local_index.requests


@pytest.mark.parametrize(
    ("url", "trusted", "refused"),
    [
        ("http://127.0.0.1:8080/simple/", "", False),
        ("http://127.0.0.5/x.whl", "", False),
        ("http://[::1]/x.whl", "", False),
        ("http://localhost/x.whl", "", False),
        ("https://files.example/x.whl", "", False),
        pytest.param("http://files.example/x.whl", "", True, marks=pytest.mark.reliability("hostile")),
        pytest.param("http://10.0.0.1/x.whl", "", True, marks=pytest.mark.reliability("hostile")),
        ("http://files.example/x.whl", "other.example, files.example", False),
    ],
)
def test_plain_http_only_to_this_machine_or_trusted_hosts(url: str, trusted: str, *, refused: bool) -> None:
    environ = {"TOX_VENVSYNC_TRUSTED_HOSTS": trusted}
    if not refused:
        check_transport("pkg", url, environ)
        return
    with pytest.raises(FetchError) as caught:
        check_transport("pkg", url, environ)
    host = url.split("/")[2]
    assert str(caught.value) == (
        f"cannot fetch pkg from {url}: plain http to {host} is refused, since anyone on the way can read or change "
        f"it; use https, or trust the host with TOX_VENVSYNC_TRUSTED_HOSTS={host}"
    )
    assert caught.value.exit_code == 2  # the URL or the trusted hosts are to fix


@pytest.mark.parametrize(
    ("variable", "value", "tool"),
    [
        ("PIP_TRUSTED_HOST", "other.example mirror.internal:8080", "pip"),
        ("UV_INSECURE_HOST", "http://mirror.internal:8080", "uv"),
    ],
)
def test_plain_http_to_a_host_pip_or_uv_trusts_names_their_setting(variable: str, value: str, tool: str) -> None:
    # a company's http mirror is trusted for pip (PIP_TRUSTED_HOST) or uv: the refusal did not say that it is not here
    with pytest.raises(FetchError) as caught:
        check_transport("pkg", "http://mirror.internal:8080/simple/", {variable: value})
    assert caught.value.reason == (
        "plain http to mirror.internal is refused, since anyone on the way can read or change it; use https, or "
        f"trust the host with TOX_VENVSYNC_TRUSTED_HOSTS=mirror.internal ({variable} trusts it for {tool}, not here)"
    )
    with pytest.raises(FetchError) as caught:
        check_transport("pkg", "http://elsewhere.internal/simple/", {variable: value})
    assert caught.value.reason.endswith("TOX_VENVSYNC_TRUSTED_HOSTS=elsewhere.internal")


def test_progress_is_one_line_rewritten_per_file(local_index: LocalIndex, wheelhouse: Path, tmp_path: Path) -> None:
    picks = []
    for name in ("one", "two"):
        wheel = make_wheel(wheelhouse, name, "1.0")
        url = local_index.file_url(wheel.name)
        artifact = Artifact(filename=wheel.name, url=url, path=None, size=None, hashes={"sha256": sha256_file(wheel)})
        picks.append(Pick(name=canonicalize_name(name), version=None, kind="wheel", artifact=artifact))
    stream = io.StringIO()
    CacheFetcher(Cache(tmp_path / "cache"), progress=stream).fetch(picks)
    shown = stream.getvalue()
    assert shown.count("\r") == 3  # two updates, then the line is cleared
    assert "fetched 2/2 files" in shown
    assert shown.endswith("\r\033[K")


def _get(url: str, timeout: float = 10) -> bytes:
    request = urllib.request.Request(url)  # the local index
    with open_url(request, timeout=timeout) as response:
        body: bytes = response.read()
    return body


def test_within_kept_connections_a_thread_asks_a_host_on_one_connection(local_index: LocalIndex) -> None:
    url = local_index.simple_url
    with kept_connections():
        assert [_get(url) for _ in range(3)] == [_get(url)] * 3
    assert local_index.connections == 1
    _get(url)  # outside: a connection of its own, closed after the response
    _get(url)
    assert local_index.connections == 3


def test_a_response_not_read_to_its_end_leaves_no_connection_to_reuse(
    local_index: LocalIndex, wheelhouse: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/data.py": f"X = {os.urandom(100_000).hex()!r}\n"})
    with kept_connections():
        with open_url(urllib.request.Request(local_index.file_url(wheel.name)), timeout=10) as response:
            assert response.read(100)  # and no more: the rest of the body is still on the connection
        assert _get(local_index.file_url(wheel.name)) == wheel.read_bytes()
    assert local_index.connections == 2


def test_through_a_proxy_every_request_has_its_own_connection(
    local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the local index answers a proxy's request line (an absolute URL) as its own
    monkeypatch.setenv("http_proxy", local_index.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    # the opener reads the proxy settings when it is made: a new one, for this test
    monkeypatch.setattr(_session, "_opener", functools.cache(_session._opener.__wrapped__))
    with kept_connections():
        assert _get("http://127.0.0.2:9/simple/") == _get(local_index.simple_url)
    assert local_index.connections == 2
    assert local_index.requests == ["/simple/", "/simple/"]


@pytest.mark.parametrize(
    "index", ["https://user:s3cret@pypi.example/simple/", "http://s3cret@127.0.0.1:9/simple/"], ids=["https", "token"]
)
def test_an_index_url_with_credentials_that_cannot_be_reached_is_one_sentence_that_hides_them(
    index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_logins(monkeypatch)
    with pytest.raises(FetchError) as info:
        IndexClient().locate(index, "rich", "rich-1.0-py3-none-any.whl")
    message = str(info.value)
    assert "s3cret" not in message
    assert message.startswith("cannot fetch rich from http")
    assert "://****@" in message


def test_a_fetch_error_never_shows_a_urls_user_info() -> None:
    error = FetchError("pkg", "https://me:pw@host.example/files/pkg.whl", "see https://tok@other.example/x")
    assert (
        str(error) == "cannot fetch pkg from https://****@host.example/files/pkg.whl: see https://****@other.example/x"
    )


def test_a_password_with_a_raw_at_sign_is_hidden_whole() -> None:
    error = FetchError("pkg", "http://a%40b:p:w@y@127.0.0.1:8081/files/pkg.whl", "the server answered HTTP 401")
    assert str(error) == "cannot fetch pkg from http://****@127.0.0.1:8081/files/pkg.whl: the server answered HTTP 401"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://dave:hunter2/xyz@127.0.0.1:8101/simple/", "http://****@127.0.0.1:8101/simple/"),
        ("http://dave:pa?ss#x@host.example/simple/", "http://****@host.example/simple/"),
        # a port and a path with "@" (a git revision) are no login
        ("git+https://git.example:8443/org/repo@v1.0", "git+https://git.example:8443/org/repo@v1.0"),
        ("git+https://git.example/org/repo@v1.0", "git+https://git.example/org/repo@v1.0"),
    ],
)
def test_a_password_with_a_raw_slash_is_hidden_and_a_revision_is_not(text: str, shown: str) -> None:
    assert str(FetchError("pkg", text, "x")) == f"cannot fetch pkg from {shown}: x"


def test_the_handler_makes_a_tls_connection_for_https_only() -> None:
    # nothing is connected: the connection objects are only made
    handler = _http._Handler()
    requests = [urllib.request.Request(url) for url in ("https://pypi.example/simple/", "http://127.0.0.1:9/simple/")]
    for request in requests:
        request.timeout = 5  # as the opener sets it
    secure, plain = (handler._new(request) for request in requests)
    assert isinstance(secure, http.client.HTTPSConnection)
    assert secure._context is _http._tls_context()  # type: ignore[attr-defined]  # the process's one context
    assert (type(plain), plain.host, plain.port) == (_http._Connection, "127.0.0.1", 9)  # a stop cuts its socket


def test_an_index_url_that_does_not_parse_is_one_sentence() -> None:
    url = "https://[::1/simple/pkg/"
    with pytest.raises(BadUrlError) as info:
        check_transport("pkg", url)
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the URL is not valid (Invalid IPv6 URL); correct it in the lock or the index "
        "setting"
    )


@pytest.mark.reliability("hostile")
def test_an_index_page_cut_short_is_one_sentence(local_index: LocalIndex, wheelhouse: Path) -> None:
    # http.client raises IncompleteRead, no OSError, when the body ends before its Content-Length: it was a traceback
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.truncate_paths.add("/simple/pkg/")
    with pytest.raises(FetchError) as info:
        IndexClient().locate(local_index.simple_url, "pkg", wheel.name)
    reason = info.value.reason
    assert reason.startswith("the answer broke off after ")
    assert reason.endswith(" bytes; try again (asked 4 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)")
    assert info.value.source == f"{local_index.simple_url}pkg/"


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("what", ["page", "file"])
def test_an_answer_that_is_not_http_through_a_proxy_is_one_sentence(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    # through a proxy urllib's own do_open reads the answer, and let http.client's BadStatusLine through: a traceback
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    monkeypatch.setenv("http_proxy", local_index.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setattr(_session, "_opener", functools.cache(_session._opener.__wrapped__))
    local_index.not_http_paths.update({"/simple/pkg/", f"/files/{wheel.name}"})
    pick = Pick(
        name=canonicalize_name("pkg"),
        version=None,
        kind="wheel",
        artifact=Artifact(
            filename=wheel.name, url=local_index.file_url(wheel.name), path=None, size=None, hashes={"sha256": "0" * 64}
        ),
    )

    def ask() -> object:
        if what == "page":
            return IndexClient().locate(local_index.simple_url, "pkg", wheel.name)
        return CacheFetcher(Cache(cache_dir)).fetch([pick])

    with pytest.raises(FetchError) as info:
        ask()
    assert info.value.reason == (
        "the answer is not HTTP (it begins 'SSH-2.0-OpenSSH_9.6'); check the URL's port and scheme, and the proxy "
        f"settings (the request went through the proxy {local_index.url})"
    )


def test_a_page_asked_again_after_a_redirect_names_no_redirect_its_last_request_did_not_make(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the page's request is asked again as it is: the hops of its first attempt, a redirect to a host that refused,
    # stayed on it, and the failure of the second attempt, at the index itself, was blamed on that host
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "1")
    dead = _a_port_nothing_listens_on()

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # the index goes down before its answer is out, so that the page asked again finds nothing listening
            # however late this thread runs: a listener closed after the answer was still there for a retry that
            # came first (under load), and closing it then reset that connection instead of refusing it
            self.server.server_close()
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{dead}/elsewhere/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    index = f"http://127.0.0.1:{server.server_address[1]}/simple/"

    answering = threading.Thread(target=server.handle_request)  # the first request only; then the index is down
    answering.start()
    try:
        with pytest.raises(FetchError) as info:
            IndexClient().locate(index, "pkg", "pkg-1.0-py3-none-any.whl")
    finally:
        answering.join(10)
    assert str(info.value).startswith(
        f"cannot fetch pkg from {index}pkg/: the host refused the connection (Connection refused): nothing listens "
        "on that port; check the URL's host and port"
    )


def _a_port_nothing_listens_on() -> int:
    with socket.socket() as probe:  # closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.reliability("hostile")
def test_an_index_page_that_failed_in_a_way_that_may_pass_is_asked_again(
    local_index: LocalIndex, wheelhouse: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.flaky_paths["/simple/pkg/"] = [503, 0]  # then the page cut short
    assert IndexClient().locate(local_index.simple_url, "pkg", wheel.name) == local_index.file_url(wheel.name)
    assert local_index.requests == ["/simple/pkg/"] * 3


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("ending", [KeyboardInterrupt, FetchError], ids=["ctrl-c", "another-file-failed"])
def test_a_stop_cuts_a_request_a_server_never_answers(local_index: LocalIndex, ending: type[BaseException]) -> None:
    # a read blocked on a silent server ended only with its 60 s timeout: Ctrl-C took a minute to end a sync
    local_index.stall_paths.add("/files/stalled.whl")

    def fetch(what: str) -> bytes:
        if what == "stalled":
            # the real default: a read ended by a 10 s timeout passed the 20 s bound below with no cut at all
            return _get(local_index.file_url("stalled.whl"), timeout=60)
        # the stop comes once the stalled request is sent and waits for its answer (a fixed 0.2 s let a loaded
        # machine stop first: the request then began after the stop and the blocked read went untested)
        assert local_index.requested("/files/stalled.whl")
        raise ending("x", "y", "z") if ending is FetchError else ending

    started = time.monotonic()
    with pytest.raises(ending), kept_connections():
        each_on_kept_connections(fetch, ["stalled", "ending"], workers=2)
    assert time.monotonic() - started < 20


def test_a_ctrl_c_while_a_thread_starts_stops_the_threads_from_taking_another_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a Ctrl-C (or SIGTERM, see _entry) raised while the caller waited in Thread.start for a new thread skipped the
    # stop: the thread went on fetching every file of the lock, and the sync ended only after the last one
    began, go = threading.Event(), threading.Event()
    started: list[threading.Thread] = []
    done: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        real_start(self)
        started.append(self)
        if len(started) == 1:
            began.wait()
            raise KeyboardInterrupt  # where the signal lands: this Thread.start never returns

    def fetch(what: str) -> str:
        began.set()
        go.wait()  # until the caller has raised
        done.append(what)
        return what

    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(KeyboardInterrupt):
        each_on_kept_connections(fetch, ["first", "second", "third"], workers=2)
    monkeypatch.undo()
    go.set()
    for thread in started:
        thread.join()
    assert done == ["first"]


@pytest.mark.reliability("hostile")
def test_an_index_page_sent_gzip_compressed_unasked_is_read(local_index: LocalIndex, wheelhouse: Path) -> None:
    # pip and uv decode it; read as it came, the page listed no file and the failure blamed the lock
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.gzip_pages = True
    assert IndexClient().locate(local_index.simple_url, "pkg", wheel.name) == local_index.file_url(wheel.name)


def test_an_index_page_whose_content_length_is_no_ascii_number_is_read_to_its_end(
    local_index: LocalIndex, wheelhouse: Path
) -> None:
    # "²" is a digit to str.isdigit and no number to int(): the lookup ended in a ValueError traceback (found by QA)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.content_lengths["/simple/pkg/"] = "\u00b2"
    assert IndexClient().locate(local_index.simple_url, "pkg", wheel.name) == local_index.file_url(wheel.name)


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("deflate", zlib.compress(b"<a>")),
        ("deflate", zlib.compress(b"<a>")[2:-4]),  # raw deflate, without zlib's header
        (" GZIP", gzip.compress(b"<a>")),
        ("", b"<a>"),
    ],
)
def test_a_page_body_is_read_without_its_encoding(coding: str, body: bytes) -> None:
    assert _index._decoded(body, coding, "pkg", "u") == b"<a>"


_TOO_LARGE = "the index page is larger than "


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "deflate"])
def test_a_compressed_page_inflating_past_any_project_page_is_refused(
    monkeypatch: pytest.MonkeyPatch, compress: Callable[[bytes], bytes]
) -> None:
    # a gzip bomb (10 MiB that inflate to 10 GiB) was inflated whole
    monkeypatch.setattr(_index, "PAGE_LIMIT", 1000, raising=False)
    coding = "gzip" if compress is gzip.compress else "deflate"
    with pytest.raises(FetchError) as info:
        _index._decoded(compress(b"<a>" * 1000), coding, "pkg", "https://index.example/simple/pkg/")
    assert info.value.reason.startswith(_TOO_LARGE)


@pytest.mark.reliability("hostile")
def test_a_page_longer_than_any_project_page_is_refused(
    local_index: LocalIndex, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a page that does not end was read to the end of the memory
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    monkeypatch.setattr(_index, "PAGE_LIMIT", 100, raising=False)
    with pytest.raises(FetchError) as info:
        IndexClient().locate(local_index.simple_url, "pkg", wheel.name)
    assert info.value.reason.startswith(_TOO_LARGE)


@pytest.mark.parametrize(
    ("coding", "reason"),
    [
        ("br", "the index sent the page encoded as 'br', which is not read (gzip and deflate are); check the index"),
        ("gzip", "the index page's gzip encoding does not decode; try again"),
    ],
)
def test_a_page_encoding_that_is_not_read_is_one_sentence(coding: str, reason: str) -> None:
    with pytest.raises(FetchError) as info:
        _index._decoded(b"not compressed", coding, "pkg", "https://index.example/simple/pkg/")
    assert info.value.reason == reason


def _proxied(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Only these proxy variables set, and an opener made anew to read them."""
    for variable in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr(_session, "_opener", functools.cache(_session._opener.__wrapped__))


@pytest.mark.parametrize("variable", ["ALL_PROXY", "all_proxy"])
def test_all_proxy_serves_a_scheme_without_a_proxy_of_its_own_as_curl_pip_and_uv_take_it(
    local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # the local index answers a proxy's request line (an absolute URL) as its own
    _proxied(monkeypatch, **{variable: local_index.url})
    assert _get("http://127.0.0.2:9/simple/") == _get(local_index.simple_url)
    assert local_index.requests == ["/simple/", "/simple/"]


def test_a_socks_all_proxy_that_urllib_cannot_use_is_left_alone(
    local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    _proxied(monkeypatch, ALL_PROXY="socks5://127.0.0.1:9")
    assert _get(local_index.simple_url)
    assert local_index.requests == ["/simple/"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.0/8", "10.0.0.0/8, 127.0.0.1/32", "::1/128,127.0.0.0/24"])
@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
def test_no_proxy_names_networks_as_pip_and_uv_read_it(
    local_index: LocalIndex, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch, variable: str, no_proxy: str
) -> None:
    # urllib takes "10.0.0.0/8" for a host name: an address of the company network went to the proxy
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _proxied(monkeypatch, https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", **{variable: no_proxy})
    assert IndexClient().locate(local_index.simple_url, "pkg", wheel.name) == local_index.file_url(wheel.name)
    assert _session.through_proxy("failed", local_index.simple_url) == "failed"


def test_an_address_outside_the_no_proxy_networks_goes_through_the_proxy(
    local_index: LocalIndex, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _proxied(monkeypatch, http_proxy=local_index.url, no_proxy="10.0.0.0/8,fd00::/8,not-a-network/99")
    # the local index answers a proxy's request line (an absolute URL) as its own
    assert IndexClient().locate("http://127.0.0.2:9/simple/", "pkg", wheel.name)
    assert local_index.requests == ["/simple/pkg/"]


@pytest.mark.reliability("hostile")
def test_a_proxy_that_asks_for_a_login_says_where_it_goes(
    local_index: LocalIndex, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the advice was a server's: put the host's login in ~/.netrc, which no proxy reads
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _proxied(monkeypatch, http_proxy=local_index.url)
    local_index.fail_paths["/simple/pkg/"] = 407
    with pytest.raises(FetchError) as info:
        IndexClient().locate("http://127.0.0.2:9/simple/", "pkg", wheel.name)
    assert info.value.reason == (
        "the index answered HTTP 407 Proxy Authentication Required; give the proxy its login in its URL, before the "
        f"host (user:token@), in https_proxy or http_proxy (the request went through the proxy {local_index.url})"
    )
    assert str(info.value).endswith(info.value.reason)  # no URL with a login in the advice, which shows as ****@


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize(
    ("proxy", "shown"),
    [
        ("http://proxy-user:s3cret@127.0.0.1:9", "http://****@127.0.0.1:9"),
        # urllib and curl take a proxy without a scheme: its token was shown as it is
        ("proxy-user:s3cret@127.0.0.1:9", "****@127.0.0.1:9"),
    ],
    ids=["url", "no scheme"],
)
def test_a_proxy_that_cannot_be_reached_is_named(
    wheelhouse: Path, monkeypatch: pytest.MonkeyPatch, proxy: str, shown: str
) -> None:
    # "Connection refused; check the network or the index" named neither the proxy nor that one was used
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _proxied(monkeypatch, HTTPS_PROXY=proxy, NO_PROXY="other.example")
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    with pytest.raises(FetchError) as info:
        IndexClient().locate("https://pypi.example/simple/", "pkg", wheel.name)
    # then "Connection refused; check the URL's host and port": the connection refused was the proxy's
    assert str(info.value) == (
        f"cannot fetch pkg from https://pypi.example/simple/pkg/: the proxy {shown} cannot be reached (Connection "
        "refused); check the proxy setting (https_proxy), or add the host to no_proxy if it is to be reached without "
        "the proxy"
    )
    assert "s3cret" not in str(info.value)


def test_a_json_page_nested_too_deeply_is_not_valid_pep_691_json() -> None:
    # json.loads raises RecursionError, no ValueError, for this: an index's page ended the sync with a traceback
    with pytest.raises(FetchError, match="the index page is not valid PEP 691 JSON"):
        _index._from_json(b"[" * 100_000, "https://index.example/simple/a/", "a", "https://index.example/simple/a/")
