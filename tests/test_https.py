"""Downloads and index pages over https: certificates checked, a custom authority trusted, proxies tunnelled."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import urllib.request
from typing import TYPE_CHECKING

import pytest
import trustme
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.index import LocalIndex
from _support.logins import forget_logins
from _support.proxy import TunnelProxy
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _http, _index, _session
from tox_venvsync._cache import Cache
from tox_venvsync._errors import FetchError
from tox_venvsync._fetch import CacheFetcher
from tox_venvsync._indexes import ProjectIndexes, read_project_indexes
from tox_venvsync._lock import Artifact, Pick

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: what follows OpenSSL's words for the failed check (``unable to get local issuer certificate`` here)
_UNTRUSTED = (
    "); if your network uses a certificate authority of its own, "
    "point SSL_CERT_FILE at a bundle of certificates that includes it"
)
#: the variables that name the authorities to trust, OpenSSL's and other tools'
_AUTHORITY_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE")


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_index(wheelhouse: Path, authority: trustme.CA) -> Iterator[LocalIndex]:
    """The wheelhouse served over https by 127.0.0.1, with a certificate from ``authority``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with LocalIndex(wheelhouse, tls=context) as index:
        yield index


@pytest.fixture(autouse=True)
def _fresh_opener(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The opener (its proxies) and the TLS context (its authorities) are made once per process: here per test."""
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    for variable in _AUTHORITY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    _session._opener.cache_clear()
    _http._tls_context.cache_clear()
    yield
    _session._opener.cache_clear()
    _http._tls_context.cache_clear()


@pytest.fixture
def trusted(authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The authority trusted as a user trusts their network's: ``SSL_CERT_FILE`` names a bundle with it."""
    bundle = tmp_path / "company-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def _pick(wheel: Path, url: str) -> Pick:
    name, version = wheel.name.split("-")[:2]
    artifact = Artifact(
        filename=wheel.name, url=url, path=None, size=wheel.stat().st_size, hashes={"sha256": sha256_file(wheel)}
    )
    return Pick(name=canonicalize_name(name), version=Version(version), kind="wheel", artifact=artifact)


@pytest.mark.usefixtures("trusted")
def test_https_downloads_trust_the_authority_in_ssl_cert_file(
    wheelhouse: Path, cache_dir: Path, https_index: LocalIndex
) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(6)]
    assert https_index.url.startswith("https://")
    got = CacheFetcher(Cache(cache_dir), workers=2).fetch([_pick(w, https_index.file_url(w.name)) for w in wheels])
    assert [got[f"pkg{i}"].read_bytes() for i in range(6)] == [w.read_bytes() for w in wheels]
    # a TLS handshake per thread, not per file: the kept connections work over TLS too
    assert 1 <= https_index.connections <= 2


def test_an_untrusted_certificate_is_one_sentence_and_leaves_nothing(
    wheelhouse: Path, cache_dir: Path, https_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-ca.pem"  # a bundle without the index's authority, so the system's do not count either
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = https_index.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server's certificate could not be verified (unable to get local issuer "
        f"certificate); the authorities of SSL_CERT_FILE={other} did not sign it: point it at a bundle that also "
        "holds your network's"
    )
    assert https_index.requests == []  # nothing was asked over a connection that is not trusted
    assert not (cache_dir / "artifacts").exists() or not any((cache_dir / "artifacts").rglob("*.whl"))


@pytest.mark.parametrize(
    ("variables", "advice"),
    [
        # the advice was to point SSL_CERT_FILE at a bundle with the authority, which it did (or, here, did not)
        (
            {"SSL_CERT_FILE": "{tmp}/no-such.pem"},
            "SSL_CERT_FILE names {tmp}/no-such.pem, which is no file: correct it, or unset it",
        ),
        (
            {"SSL_CERT_DIR": "{tmp}/no-such-dir"},
            "SSL_CERT_DIR names {tmp}/no-such-dir, which is no directory: correct it, or unset it",
        ),
        # pip's variable named the company's bundle; nothing said it is not read here
        (
            {"REQUESTS_CA_BUNDLE": "{tmp}/company-ca.pem"},
            (
                "if your network uses a certificate authority of its own, point SSL_CERT_FILE at a bundle of "
                "certificates that includes it (REQUESTS_CA_BUNDLE, which pip reads, names {tmp}/company-ca.pem)"
            ),
        ),
        ({}, _UNTRUSTED.removeprefix("); ")),
        # OpenSSL reads a list of directories, separated as PATH is: each was there, and it said "no directory"
        ({"SSL_CERT_DIR": "{tmp}:{tmp}"}, _UNTRUSTED.removeprefix("); ")),
        (
            {"SSL_CERT_DIR": "{tmp}:{tmp}/no-such-dir"},
            "SSL_CERT_DIR names {tmp}/no-such-dir, which is no directory: correct it, or unset it",
        ),
    ],
    ids=["missing file", "missing directory", "pip's variable", "nothing set", "directories", "one missing"],
)
def test_an_untrusted_certificate_says_what_names_the_authorities(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    wheelhouse: Path,
    cache_dir: Path,
    https_index: LocalIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    advice: str,
) -> None:
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value.format(tmp=tmp_path))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
    assert info.value.reason == (
        f"the server's certificate could not be verified (unable to get local issuer certificate); "
        f"{advice.format(tmp=tmp_path)}"
    )


def test_an_untrusted_certificate_names_the_bundle_pip_reads_from_the_syncs_own_environment(
    wheelhouse: Path,
    cache_dir: Path,
    https_index: LocalIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a tox run's set_env = REQUESTS_CA_BUNDLE=... (pip's) went unnamed: the advice read tox's own environment
    forget_logins(monkeypatch)
    for variable in ("REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    environ = {**os.environ, "REQUESTS_CA_BUNDLE": str(tmp_path / "corp.pem")}
    _session.use_logins(read_project_indexes(tmp_path / "pylock.toml", "pylock", environ, "https://pypi.org/simple"))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
    assert info.value.reason.endswith(f"(REQUESTS_CA_BUNDLE, which pip reads, names {tmp_path / 'corp.pem'})")
    assert _session.advice_of(os.environ) is None  # tox's own environment: read where it is, as before


@pytest.mark.usefixtures("trusted")
def test_an_expired_certificate_says_to_check_it_and_the_clock(
    wheelhouse: Path, cache_dir: Path, authority: trustme.CA
) -> None:
    # "point SSL_CERT_FILE at a bundle that includes it" cannot help: the authority is trusted
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    authority.issue_cert("127.0.0.1", not_before=past, not_after=past.replace(year=2001)).configure_cert(context)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with LocalIndex(wheelhouse, tls=context) as index, pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, index.file_url(wheel.name))])
    assert info.value.reason == (
        "the server's certificate could not be verified (certificate has expired); check the server's certificate, "
        "and this machine's clock"
    )


@pytest.mark.usefixtures("trusted")
def test_a_certificate_for_another_host_is_refused(wheelhouse: Path, cache_dir: Path, https_index: LocalIndex) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    # the same server, by a name its certificate does not have
    url = https_index.file_url(wheel.name).replace("127.0.0.1", "localhost")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value).startswith(f"cannot fetch pkg from {url}: the server's certificate is for another host (")
    assert str(info.value).endswith("); check the URL's host")


@pytest.mark.usefixtures("trusted")
def test_https_through_a_proxy_tunnels_every_request(
    wheelhouse: Path, cache_dir: Path, https_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{i}", "1.0") for i in range(3)]
    with TunnelProxy() as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        page = _index.IndexClient().files(https_index.simple_url, "pkg0")
        assert list(page) == [wheels[0].name]
        got = CacheFetcher(Cache(cache_dir), workers=2).fetch([_pick(w, https_index.file_url(w.name)) for w in wheels])
    assert [got[f"pkg{i}"].read_bytes() for i in range(3)] == [w.read_bytes() for w in wheels]
    server = https_index.url.removeprefix("https://")
    assert proxy.tunnels == [server] * 4  # the page and each file, each on a tunnel of its own
    assert proxy.refused == []
    assert https_index.connections == 4


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize(
    ("status", "asked", "reason"),
    [
        (
            403,
            1,  # the proxy's policy, which asking again does not change; it was asked 4 times
            (
                "the proxy refused to open a connection to the host (HTTP 403 Forbidden); add the host to no_proxy "
                "if it is to be reached without the proxy, else ask for the proxy to let it through"
            ),
        ),
        (
            407,
            1,
            # the advice was "http://user:token@host:port", which every message shows as "http://****@host:port"
            (
                "the proxy answered HTTP 407 Proxy Authentication Required; give the proxy its login in its URL, "
                "before the host (user:token@), in https_proxy or http_proxy"
            ),
        ),
        (
            502,
            2,
            (
                "the proxy could not open a connection to the host (HTTP 502 Bad Gateway); check the URL's host and "
                "port, and no_proxy if the host is to be reached without the proxy (the request went through the "
                "proxy {proxy}) (asked 2 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
            ),
        ),
        (  # the first of the 5xx class, the proxy's failure, not its policy (found by mutation testing)
            500,
            2,
            (
                "the proxy could not open a connection to the host (HTTP 500 Internal Server Error); check the URL's "
                "host and port, and no_proxy if the host is to be reached without the proxy (the request went through "
                "the proxy {proxy}) (asked 2 times; TOX_VENVSYNC_HTTP_RETRIES sets how often)"
            ),
        ),
    ],
)
def test_a_proxy_that_refuses_a_tunnel_says_what_to_do_and_is_asked_again_only_when_that_may_pass(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    wheelhouse: Path,
    cache_dir: Path,
    https_index: LocalIndex,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    asked: int,
    reason: str,
) -> None:
    # "Tunnel connection failed: 403 Forbidden; check the network or the index", asked 4 times in 3.5 s
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "1")
    with TunnelProxy() as proxy:
        proxy.connect_status = status
        monkeypatch.setenv("https_proxy", proxy.url)
        with pytest.raises(FetchError) as info:
            CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
        shown = proxy.url
    expected = (
        reason.format(proxy=shown) if "{proxy}" in reason else f"{reason} (the request went through the proxy {shown})"
    )
    assert info.value.reason == expected
    assert str(info.value).endswith(expected)  # the message shows it as it is: no login to hide in it
    assert len(proxy.refused) == asked
    assert https_index.requests == []


def test_a_syncs_own_authorities_and_proxy_are_followed_where_they_are_not_the_processs(  # noqa: PLR0913, PLR0917  # fixtures
    wheelhouse: Path,
    cache_dir: Path,
    https_index: LocalIndex,
    authority: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a tox run's set_env = SSL_CERT_FILE=... / https_proxy=... reached pip and builds, not the downloads
    forget_logins(monkeypatch)  # use_logins sets the sync's in this thread's context
    bundle = tmp_path / "company-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with TunnelProxy() as proxy:
        environ = {"PATH": "/bin", "SSL_CERT_FILE": str(bundle), "HTTPS_PROXY": proxy.url}
        _session.use_logins(ProjectIndexes(network=_session.network_of(environ)))
        got = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
        assert got["pkg"].read_bytes() == wheel.read_bytes()
        assert proxy.tunnels == [https_index.url.removeprefix("https://")]
        _session.use_logins(ProjectIndexes(network=_session.network_of({**environ, "no_proxy": "127.0.0.0/8"})))
        (cache_dir / "artifacts").rename(tmp_path / "was-cached")
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
        assert len(proxy.tunnels) == 1  # the sync's no_proxy
    _session.use_logins(ProjectIndexes(network=_session.network_of({"SSL_CERT_FILE": str(tmp_path / "gone.pem")})))
    (cache_dir / "artifacts").rename(tmp_path / "was-cached-too")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
    assert info.value.reason.endswith(
        f"SSL_CERT_FILE names {tmp_path / 'gone.pem'}, which is no file: correct it, or unset it"
    )


def test_a_syncs_own_ssl_cert_dir_without_ssl_cert_file_is_followed(
    wheelhouse: Path, cache_dir: Path, https_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by mutation testing: no test gave a sync (tox's set_env) SSL_CERT_DIR alone, where the process's own
    # bundle stands in for the file; a directory without the index's authority is a failed check in one sentence
    forget_logins(monkeypatch)
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    authorities = tmp_path / "authorities"
    authorities.mkdir()
    _session.use_logins(ProjectIndexes(network=_session.network_of({"PATH": "/bin", "SSL_CERT_DIR": str(authorities)})))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = https_index.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value) == (
        f"cannot fetch pkg from {url}: the server's certificate could not be verified (unable to get local issuer "
        "certificate); if your network uses a certificate authority of its own, point SSL_CERT_FILE at a bundle of "
        "certificates that includes it"
    )
    assert https_index.requests == []


@pytest.mark.parametrize("content", [b"", b"not a certificate\n", b"0\x82\x01\x0a"], ids=["empty", "text", "der"])
@pytest.mark.parametrize("whose", ["process", "set_env"])
def test_an_ssl_cert_file_without_a_certificate_is_passed_over_and_named_as_openssl_reads_it(  # noqa: PLR0913, PLR0917  # fixtures
    wheelhouse: Path,
    cache_dir: Path,
    https_index: LocalIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    whose: str,
    content: bytes,
) -> None:
    # OpenSSL passes over an SSL_CERT_FILE it cannot read certificates from (its directory still counts); a sync's own
    # (set_env) was loaded as the context's file, and the failure was "NO_CERTIFICATE_OR_CRL_FOUND; check the network"
    forget_logins(monkeypatch)
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    bundle = tmp_path / "company-ca.pem"
    bundle.write_bytes(content)
    if whose == "process":
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    else:
        _session.use_logins(ProjectIndexes(network=_session.network_of({**os.environ, "SSL_CERT_FILE": str(bundle)})))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, https_index.file_url(wheel.name))])
    assert info.value.reason.endswith(
        f"SSL_CERT_FILE names {bundle}, which holds no certificate OpenSSL can read "
        "(PEM: -----BEGIN CERTIFICATE-----), so it is passed over: correct it, or unset it"
    )


def test_a_sync_whose_network_variables_are_the_processs_uses_the_processs_opener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    assert _session.network_of({**os.environ, "UNRELATED": "1"}) is None
    assert _session.network_of({k: v for k, v in os.environ.items() if k != "https_proxy"}) == ()
    assert _session.network_of({**os.environ, "no_proxy": "*"}) == (
        ("https_proxy", "http://127.0.0.1:9"),
        ("no_proxy", "*"),
    )


@pytest.mark.usefixtures("trusted")
def test_a_redirect_from_https_to_plain_http_is_refused_and_gets_no_login(
    wheelhouse: Path, cache_dir: Path, https_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # localhost stands for a host on the network here: only 127.0.0.1 counts as this machine
    monkeypatch.setattr(_http, "_is_loopback", lambda host: host == "127.0.0.1")
    forget_logins(monkeypatch)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    https_index.login = ("ci", "s3cret")
    with LocalIndex(wheelhouse) as plain:
        onward = plain.file_url(wheel.name).replace("127.0.0.1", "localhost")
        https_index.redirect_paths[f"/files/{wheel.name}"] = onward
        url = https_index.file_url(wheel.name).replace("://", "://ci:s3cret@")
        with pytest.raises(FetchError) as info:
            CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
        assert plain.requests == []  # nothing went out over plain http, the login least of all
    message = str(info.value)
    assert "s3cret" not in message
    assert (
        f": the server sent the request on to {onward}, and plain http to localhost is refused, since anyone on the "
        "way can read or change it; use https, or trust the host with TOX_VENVSYNC_TRUSTED_HOSTS=localhost"
    ) in message


def test_a_login_goes_with_its_own_scheme_and_never_over_refused_plain_http(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    forget_logins(monkeypatch)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine pkgs.example login n password pw\n")
    monkeypatch.setenv("NETRC", str(netrc))
    _session._netrc_entries.cache_clear()
    _session.without_login("https://ci:s3cret@pkgs.example:8443/simple/")
    login = _session._Login()

    def sent(url: str) -> str | None:
        return login.http_request(urllib.request.Request(url)).unredirected_hdrs.get("Authorization")

    assert sent("https://pkgs.example:8443/files/x.whl") == "Basic Y2k6czNjcmV0"  # the URL's login, same scheme
    assert sent("https://pkgs.example/files/x.whl") == "Basic bjpwdw=="  # another port: netrc's, by host name
    assert sent("http://pkgs.example:8443/files/x.whl") is None  # plain http to the network: no login at all
    monkeypatch.setenv("TOX_VENVSYNC_TRUSTED_HOSTS", "pkgs.example")
    assert sent("http://pkgs.example:8443/files/x.whl") == "Basic bjpwdw=="  # trusted: netrc's (the URL's was https)
    _session._netrc_entries.cache_clear()


def test_https_to_a_plain_http_port_says_so(wheelhouse: Path, cache_dir: Path, local_index: LocalIndex) -> None:
    # found with a lock of https:// URLs served by a plain http server: "[SSL: WRONG_VERSION_NUMBER] wrong version
    # number (_ssl.c:1000); check the network or the index", which named neither the scheme nor the port
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = local_index.file_url(wheel.name).replace("http://", "https://")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value).startswith(
        f"cannot fetch pkg from {url}: the server on that port does not speak https (it answered the TLS handshake in "
        "plain text, OpenSSL: "
    )
    assert str(info.value).endswith("); check the URL's scheme and port (http:// for a plain server)")
    assert local_index.connections == 1  # not asked again: a failure that stays
