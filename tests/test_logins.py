"""Indexes that need a login: a URL's user info, or the netrc file, sent as HTTP Basic to that host only."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.index import LocalIndex
from _support.logins import forget_logins, without_logins
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _session
from tox_venvsync._cache import Cache
from tox_venvsync._cli import main
from tox_venvsync._errors import FetchError, carries_login
from tox_venvsync._fetch import CacheFetcher
from tox_venvsync._index import IndexClient
from tox_venvsync._indexes import ProjectIndexes, configured_logins, read_project_indexes
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._session import use_logins
from tox_venvsync._sync import check_keyring_providers

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tox.pytest import ToxProjectCreator

BASIC = "Basic " + base64.b64encode(b"ci:s3cret").decode()
HINT = (
    "; if it needs a login, put the host's in ~/.netrc (or the file NETRC names) or in the URL, before the host "
    "(user:token@)"
)


@pytest.fixture(autouse=True)
def no_logins_yet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no login learnt from a URL and no netrc file (both are kept for the process)."""
    with without_logins(monkeypatch, tmp_path / "no-netrc"):
        yield


@pytest.fixture
def guarded(local_index: LocalIndex) -> LocalIndex:
    local_index.login = ("ci", "s3cret")
    return local_index


def _pick(wheel: Path, url: str) -> Pick:
    name, version = wheel.name.split("-")[:2]
    artifact = Artifact(filename=wheel.name, url=url, path=None, size=None, hashes={"sha256": sha256_file(wheel)})
    return Pick(name=canonicalize_name(name), version=Version(version), kind="wheel", artifact=artifact)


def _with_login(url: str, login: str = "ci:s3cret") -> str:
    return url.replace("://", f"://{login}@", 1)


def test_a_urls_login_is_sent_to_its_host_for_that_and_later_requests(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    one, two = make_wheel(wheelhouse, "one", "1.0"), make_wheel(wheelhouse, "two", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(one, _with_login(guarded.file_url(one.name)))])
    assert fetched["one"].read_bytes() == one.read_bytes()
    # a file the index links to, on the same host, without the login in its URL (as pip sends it there too)
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(two, guarded.file_url(two.name))])
    assert fetched["two"].read_bytes() == two.read_bytes()
    assert guarded.authorizations == [BASIC, BASIC]


def test_a_url_with_an_empty_user_info_sends_no_login(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    # found by mutation testing: "http://@host/..." (what "http://${TOKEN}@host/..." is with TOKEN unset) names no
    # login; urllib took "@127.0.0.1" for the host ("Name or service not known"), as pip does not
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(local_index.file_url(wheel.name), ""))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    # and as the index variable's: the lock's files on its host get none either
    use_logins(ProjectIndexes(url_logins=configured_logins({"UV_INDEX_URL": _with_login(local_index.simple_url, "")})))
    (cache_dir / "artifacts").rename(cache_dir.parent / "was-cached")
    CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])
    assert local_index.authorizations == [None, None]


def test_a_login_in_the_index_url_finds_and_fetches_a_pin(guarded: LocalIndex, wheelhouse: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = IndexClient().locate(_with_login(guarded.simple_url), "pkg", wheel.name)
    assert url == guarded.file_url(wheel.name)  # the page's link, without the login
    assert guarded.authorizations == [BASIC]


def test_the_netrc_file_gives_the_login(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\n  login ci\n  password s3cret\nmachine other.example login x password y\n")
    monkeypatch.setenv("NETRC", str(netrc))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [BASIC]


def test_without_a_login_the_refusal_says_where_one_goes(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    assert str(info.value).startswith(
        f"cannot fetch pkg from {guarded.file_url(wheel.name)}: the server answered HTTP 401 Unauthorized{HINT}"
    )
    with pytest.raises(FetchError) as info:
        IndexClient().locate(guarded.simple_url, "pkg", wheel.name)
    assert f"the index answered HTTP 401 Unauthorized{HINT}" in str(info.value)
    assert guarded.authorizations == [None, None]


def test_a_wrong_login_is_refused_and_never_shown(guarded: LocalIndex, wheelhouse: Path, cache_dir: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = _with_login(guarded.file_url(wheel.name), "ci:wr0ng")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    message = str(info.value)
    assert "wr0ng" not in message
    assert message.startswith(f"cannot fetch pkg from {guarded.url.replace('://', '://****@')}/files/")
    assert "HTTP 401 Unauthorized" in message
    assert guarded.authorizations == ["Basic " + base64.b64encode(b"ci:wr0ng").decode()]


def _keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> Path:
    """A ``keyring`` command alone on PATH printing ``answers[" ".join(its arguments)]``; the log of its calls."""
    bin_dir, log = tmp_path / "keyring-bin", tmp_path / "keyring-calls"
    bin_dir.mkdir(parents=True)
    table = "\n".join(
        f"  {shlex.quote(args)}) printf '%s\\n' {shlex.quote(out)}; exit 0;;" for args, out in answers.items()
    )
    command = bin_dir / "keyring"
    command.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\ncase "$*" in\n{table}\nesac\nexit 1\n')
    command.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    log.touch()
    return log


@pytest.mark.parametrize("variable", ["UV_KEYRING_PROVIDER", "PIP_KEYRING_PROVIDER"])
def test_a_username_given_without_its_password_gets_it_from_the_keyring_for_the_url_then_the_host(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    # uv's subprocess provider: `keyring get <url> <username>`, then `keyring get <host:port> <username>`
    host = guarded.address
    log = _keyring(tmp_path, monkeypatch, {f"get {host} ci": "s3cret"})
    monkeypatch.setenv(variable, "subprocess")
    one, two = make_wheel(wheelhouse, "one", "1.0"), make_wheel(wheelhouse, "two", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(one, _with_login(guarded.file_url(one.name), "ci"))])
    assert fetched["one"].read_bytes() == one.read_bytes()
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(two, guarded.file_url(two.name))])
    assert fetched["two"].read_bytes() == two.read_bytes()
    assert guarded.authorizations == [BASIC, BASIC]  # sent with the first request, no refusal first
    # asked once for the host: the second file's request used the answer
    assert log.read_text().splitlines() == [f"get {guarded.file_url(one.name)} ci", f"get {host} ci"]


def test_the_keyring_is_asked_for_the_host_as_uv_writes_it_in_lower_case(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: a URL's host in capitals was asked as written; uv (the url crate) asks it in lower case, and
    # without the scheme's own port (https://host:443/ asks "host"), so an entry made for uv was not found
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    port = urlsplit(guarded.url).port
    log = _keyring(tmp_path, monkeypatch, {f"get localhost:{port} ci": "s3cret"})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    url = guarded.file_url(wheel.name).replace("127.0.0.1", "LocalHost")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [BASIC]
    asked = url.replace("LocalHost", "localhost")
    assert log.read_text().splitlines() == [f"get {asked} ci", f"get localhost:{port} ci"]


def test_a_refused_request_asks_the_keyring_for_a_login_and_sends_it_to_the_host_from_then_on(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = make_wheel(wheelhouse, "one", "1.0"), make_wheel(wheelhouse, "two", "1.0")
    url = guarded.file_url(one.name)
    log = _keyring(tmp_path, monkeypatch, {f"get {url} --mode creds": "ci\ns3cret"})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(one, url)])
    assert fetched["one"].read_bytes() == one.read_bytes()
    assert guarded.authorizations == [None, BASIC]
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(two, guarded.file_url(two.name))])
    assert fetched["two"].read_bytes() == two.read_bytes()
    assert guarded.authorizations == [None, BASIC, BASIC]
    assert log.read_text().splitlines() == [f"get {url} --mode creds"]


def test_parallel_downloads_refused_at_once_ask_the_keyring_once_and_all_get_its_login(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = [make_wheel(wheelhouse, f"pkg{n}", "1.0") for n in range(6)]
    log = _keyring(tmp_path, monkeypatch, {})
    sleep = shutil.which("sleep", path=os.defpath)
    assert sleep is not None
    slow = f"{shlex.quote(sleep)} 0.3\nprintf 'ci\\ns3cret\\n'\nexit 0\n"  # the downloads' threads meet it
    command = tmp_path / "keyring-bin" / "keyring"
    command.write_text(command.read_text().replace("exit 1\n", slow))
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name)) for wheel in wheels])
    assert sorted(fetched) == [f"pkg{n}" for n in range(6)]
    assert guarded.authorizations.count(BASIC) == len(wheels)  # each file once with the keyring's login
    (asked,) = log.read_text().splitlines()  # once: the threads refused meanwhile waited for its answer
    assert asked.endswith(" --mode creds")


def test_the_keyring_is_not_asked_for_plain_http_to_another_host(
    wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a password the keyring gives must not go where anyone on the way reads it: refused before any question
    log = _keyring(tmp_path, monkeypatch, {"get pypi.corp.example ci": "s3cret"})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError, match=re.escape("plain http to pypi.corp.example is refused")):
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, f"http://ci@pypi.corp.example/files/{wheel.name}")])
    with pytest.raises(FetchError, match=re.escape("plain http to pypi.corp.example is refused")):
        IndexClient().locate("http://ci@pypi.corp.example/simple", "pkg", wheel.name)
    assert log.read_text() == ""


@pytest.mark.parametrize("value", ["disabled", ""])
def test_the_keyring_is_not_asked_unless_a_provider_is_set(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    log = _keyring(tmp_path, monkeypatch, {f"get {guarded.address} ci": "s3cret"})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", value)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(guarded.file_url(wheel.name), "ci"))])
    assert "HTTP 401 Unauthorized to the login sent" in str(info.value)
    assert "keyring" not in str(info.value)
    assert log.read_text() == ""


def test_a_refusal_says_what_the_keyring_was_asked_and_when_there_is_no_keyring_command(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    monkeypatch.setenv("PIP_KEYRING_PROVIDER", "subprocess")
    log = _keyring(tmp_path, monkeypatch, {})  # an entry for no service
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value).endswith(
        "; the keyring, which PIP_KEYRING_PROVIDER=subprocess asks, had none for the URL or its host "
        "(keyring get <service> --mode creds)"
    )
    assert log.read_text().splitlines() == [f"get {url} --mode creds", f"get {guarded.address} --mode creds"]
    forget_logins(monkeypatch)  # a login the keyring gives that the server refuses is said to have been sent
    _keyring(tmp_path / "wrong", monkeypatch, {f"get {guarded.address} ci": "wr0ng"})
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert "wr0ng" not in str(info.value)
    assert str(info.value).endswith(
        "to the login sent; check the one given for it (in the URL, in the variables the project's tool reads for a "
        "named index, or in ~/.netrc or the file NETRC names), or in the keyring, which "
        "PIP_KEYRING_PROVIDER=subprocess asks"
    )
    forget_logins(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert str(info.value).endswith(
        "; PIP_KEYRING_PROVIDER=subprocess asks the keyring command, and none is on PATH: install keyring (with your "
        "index's backend) where the sync runs, or give the password in one of those"
    )
    assert guarded.authorizations == [
        None,
        "Basic " + base64.b64encode(b"ci:wr0ng").decode(),
        "Basic " + base64.b64encode(b"ci:").decode(),
    ]


def test_a_refusal_says_the_keyring_had_no_password_for_the_username_given(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: UV_INDEX_CORP_USERNAME=oauth2accesstoken with a keyring whose backend has nothing (gcloud not
    # logged in) sent the username alone; the refusal said to check the login given, "or in the keyring"
    log = _keyring(tmp_path, monkeypatch, {})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert str(info.value).endswith(
        "to the login sent; check the one given for it (in the URL, in the variables the project's tool reads for a "
        "named index, or in ~/.netrc or the file NETRC names); the keyring, which UV_KEYRING_PROVIDER=subprocess "
        "asks, had no password for the username given (keyring get <URL or host> <username>), so it went without one"
    )
    assert guarded.authorizations == ["Basic " + base64.b64encode(b"ci:").decode()]
    assert log.read_text().splitlines() == [f"get {url} ci", f"get {guarded.address} ci"]


def test_a_netrc_entrys_login_alone_is_sent_as_it_is_and_never_given_to_the_keyring_command(
    local_index: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # found by QA: a netrc entry whose login is a token (no password, as curl sends it) was taken for a username
    # whose password the keyring gives: the token went on the keyring command's line, which every user's ps shows
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login s3cret-token\n")
    monkeypatch.setenv("NETRC", str(netrc))
    local_index.login = ("s3cret-token", "")
    log = _keyring(tmp_path, monkeypatch, {})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    assert CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])["pkg"].is_file()
    assert local_index.authorizations == ["Basic " + base64.b64encode(b"s3cret-token:").decode()]
    assert log.read_text() == ""


def test_a_keyring_too_old_for_mode_creds_is_named_in_the_refusal(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: keyring before 25.2 (Debian 12's is 23.9) refuses --mode creds; the refusal said the keyring
    # had no entry, where uv says to upgrade it or give a username
    log = _keyring(tmp_path, monkeypatch, {})
    old = "echo 'keyring: error: unrecognized arguments: --mode creds' >&2\nexit 2\n"
    command = tmp_path / "keyring-bin" / "keyring"
    command.write_text(command.read_text().replace("exit 1\n", old))
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
    assert str(info.value).endswith(
        "; the keyring command, which UV_KEYRING_PROVIDER=subprocess asks, is older than keyring 25.2 and cannot "
        "give a username (keyring get <service> --mode creds): upgrade it where the sync runs, or give the index's "
        "username (UV_INDEX_<NAME>_USERNAME, or user@ in the URL) so that it is asked for the password alone"
    )
    assert log.read_text().splitlines() == [f"get {url} --mode creds"]  # not the host: it would refuse that too


def test_a_keyring_command_without_a_backend_is_named_in_the_refusal(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: keyring installed without the index's plugin fails every question with NoKeyringError (a
    # traceback on stderr, which is not shown); the refusal only said the login sent may be in the keyring
    log = _keyring(tmp_path, monkeypatch, {})
    bare = (
        "echo 'keyring.errors.NoKeyringError: No recommended backend was available. Install a recommended 3rd "
        "party backend package; or, install the keyrings.alt package' >&2\nexit 1\n"
    )
    command = tmp_path / "keyring-bin" / "keyring"
    command.write_text(command.read_text().replace("exit 1\n", bare))
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert str(info.value).endswith(
        "; the keyring command, which UV_KEYRING_PROVIDER=subprocess asks, has no backend to ask (keyring's "
        "NoKeyringError): install your index's backend beside it where the sync runs "
        "(keyrings.google-artifactregistry-auth, artifacts-keyring, keyrings.codeartifact, say), or give the "
        "password in one of those"
    )
    assert log.read_text().splitlines() == [f"get {url} ci"]  # not the host: it has no backend for that either


def test_a_keyring_answer_that_is_not_utf_8_gives_no_password_and_the_host_is_asked(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: bytes that are no UTF-8 went as the password with each replaced by U+FFFD (uv takes no answer)
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    log = _keyring(tmp_path, monkeypatch, {f"get {url} ci": "NOT-TEXT", f"get {guarded.address} ci": "s3cret"})
    command = tmp_path / "keyring-bin" / "keyring"
    command.write_text(command.read_text().replace("printf '%s\\n' NOT-TEXT", "printf '\\377\\376\\n'"))
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, "ci"))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [BASIC]
    assert log.read_text().splitlines() == [f"get {url} ci", f"get {guarded.address} ci"]


@pytest.mark.parametrize("login", ["ci", None], ids=["username only", "no login"])
def test_a_keyring_that_gives_no_answer_in_time_is_not_asked_again_and_the_refusal_says_so(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    login: str | None,
) -> None:
    # found by QA: a backend waiting for its store to be unlocked was given 60 s for the URL, then 60 s more for the
    # host (every download waiting), and the refusal said the keyring had no entry
    sleep = shutil.which("sleep")  # before the fake keyring is alone on PATH
    assert sleep is not None
    log = _keyring(tmp_path, monkeypatch, {})
    waits = f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\nexec {shlex.quote(sleep)} 60\n'  # exec: killed itself
    (tmp_path / "keyring-bin" / "keyring").write_text(waits)
    monkeypatch.setattr(_session, "KEYRING_SECONDS", 0.5)
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    one, two = make_wheel(wheelhouse, "one", "1.0"), make_wheel(wheelhouse, "two", "1.0")
    url = guarded.file_url(one.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(one, _with_login(url, login) if login else url)])
    assert str(info.value).endswith(
        "; the keyring command, which UV_KEYRING_PROVIDER=subprocess asks, gave no answer within 0.5 s (a backend "
        "waiting for its store to be unlocked or for a sign-in, say): run keyring get <URL or host> <username> once "
        "in a terminal where the sync runs, to see what it asks, or give the password in one of those"
    )
    with pytest.raises(FetchError):  # another file of the sync: not asked again
        CacheFetcher(Cache(cache_dir)).fetch([_pick(two, guarded.file_url(two.name))])
    assert log.read_text().splitlines() == [f"get {url} {login or '--mode creds'}"]


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie not reaped yet has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads a process's state from /proc")
def test_a_keyring_that_gives_no_answer_in_time_is_ended_with_the_helpers_it_started(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: the timeout killed the keyring command alone; a helper it started (a backend's credential provider
    # waiting for a sign-in) kept running after the sync, with the command's output pipes
    sleep = shutil.which("sleep")
    assert sleep is not None
    _keyring(tmp_path, monkeypatch, {})
    helper = tmp_path / "helper-pid"
    script = f"#!/bin/sh\n{shlex.quote(sleep)} 60 &\necho $! > {shlex.quote(str(helper))}\nwait\n"
    (tmp_path / "keyring-bin" / "keyring").write_text(script)
    monkeypatch.setattr(_session, "KEYRING_SECONDS", 0.5)
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError, match=r"gave no answer within 0\.5 s"):
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    pid = int(helper.read_text())
    try:
        for _ in range(200):  # SIGKILL is delivered at once; its parent, init, reaps it when it gets to it
            if _gone(pid):
                break
            threading.Event().wait(0.05)
        assert _gone(pid), "the keyring's helper is still running"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_the_keyring_command_runs_in_the_syncs_environment_and_is_found_on_its_path(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: a tox run's set_env reached the downloads' settings but not the keyring command, which ran in tox's
    # own environment (tox-uv runs uv, and uv the keyring command, with set_env): a backend's setting there (a
    # credentials file, KEYRING_BACKEND) or a PATH naming where keyring is installed was not seen
    forget_logins(monkeypatch)
    _keyring(tmp_path, monkeypatch, {})
    command = tmp_path / "keyring-bin" / "keyring"
    command.write_text("#!/bin/sh\nprintf 'ci\\n%s\\n' \"$CORP_KEYRING_TOKEN\"\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))  # tox's own PATH: no keyring there
    monkeypatch.delenv("CORP_KEYRING_TOKEN", raising=False)
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    environ = {**os.environ, "PATH": str(command.parent), "CORP_KEYRING_TOKEN": "s3cret"}  # with set_env's
    use_logins(read_project_indexes(tmp_path / "pylock.toml", "pylock", environ, "https://pypi.org/simple"))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [None, BASIC]


def test_a_redirects_target_that_asks_for_a_login_is_asked_for_by_its_host_alone(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: the keyring was asked for the redirect's whole URL, a file store's signed one, which put its
    # signature on the keyring command's line (any user's ps shows it); pip asks for a URL under no index by its host
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with LocalIndex(wheelhouse) as store:
        store.login = ("ci", "s3cret")
        host = store.address.replace("127.0.0.1", "localhost")
        signed = f"{store.file_url(wheel.name).replace('127.0.0.1', 'localhost')}?X-Amz-Signature=abc123"
        local_index.redirect_paths[f"/files/{wheel.name}"] = signed
        log = _keyring(tmp_path, monkeypatch, {f"get {host} --mode creds": "ci\ns3cret"})
        monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
        fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])
        assert fetched["pkg"].read_bytes() == wheel.read_bytes()
        assert store.authorizations == [None, BASIC]
    assert log.read_text().splitlines() == [f"get {host} --mode creds"]


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("UV_KEYRING_PROVIDER", "auto", "disabled or subprocess"),  # pip's, not uv's
        ("UV_KEYRING_PROVIDER", "disable", "disabled or subprocess"),
        ("PIP_KEYRING_PROVIDER", "subproces", "auto, disabled, import or subprocess"),
    ],
)
def test_a_keyring_provider_uv_or_pip_does_not_know_is_refused_before_the_venv_is_made(  # noqa: PLR0913, PLR0917
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    accepted: str,
) -> None:
    # found by QA: any value but "disabled" asked the keyring, so a mistyped "disabled" asked it for every index;
    # uv and pip refuse a value they do not know before they do anything
    for name in _session._KEYRING_PROVIDERS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, value)
    lock = write_pylock(tmp_path / "pylock.toml", [])
    venv = tmp_path / "venv"
    assert main(["sync", "--lock", str(lock), "--venv", str(venv), "--python", sys.executable]) == 2
    _, err = capsys.readouterr()
    tool = variable.partition("_")[0].lower()
    assert f"{variable}={value!r} is not one of {tool}'s keyring providers; set it to {accepted}, or unset it" in err
    assert "Traceback" not in err
    assert not venv.exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UV_KEYRING_PROVIDER", " Subprocess "),
        ("UV_KEYRING_PROVIDER", ""),
        *(("PIP_KEYRING_PROVIDER", value) for value in ("auto", "disabled", "import", "subprocess")),
    ],
)
def test_the_keyring_providers_uv_and_pip_know_are_taken(variable: str, value: str) -> None:
    check_keyring_providers({variable: value})


@pytest.mark.parametrize("variable", ["UV_KEYRING_PROVIDER", "PIP_KEYRING_PROVIDER"])
def test_a_keyring_provider_of_the_syncs_own_environment_is_followed(  # noqa: PLR0913, PLR0917  # fixtures
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    # a tox run's set_env = UV_KEYRING_PROVIDER=subprocess (as tox-uv hands set_env to uv)
    forget_logins(monkeypatch)
    monkeypatch.delenv(variable, raising=False)
    _keyring(tmp_path, monkeypatch, {f"get {guarded.address} --mode creds": "ci\ns3cret"})
    environ = {**os.environ, variable: "subprocess"}
    use_logins(read_project_indexes(tmp_path / "pylock.toml", "pylock", environ, "https://pypi.org/simple"))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [None, BASIC]


def _keyring_project(project: Path, index: LocalIndex, wheelhouse: Path) -> Path:
    """A project whose pylock's wheel lies on ``index``, named ``corp`` in its pyproject.toml; the pylock."""
    wheel = make_wheel(wheelhouse, "alpha", "1.0")
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text(f'[[tool.uv.index]]\nname = "corp"\nurl = "{index.simple_url}"\n')
    entry = package_entry("alpha", "1.0", [wheel_entry(wheel, url=index.file_url(wheel.name))])
    return write_pylock(project / "pylock.toml", [entry])


@pytest.mark.slow
def test_a_tox_run_whose_set_env_names_the_index_username_and_the_provider_gets_the_password_from_the_keyring(  # noqa: PLR0913, PLR0917  # fixtures
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,  # noqa: ARG001  # the run's cache
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tox_project: ToxProjectCreator,
) -> None:
    # what a user of Google Artifact Registry writes: the username in set_env, the token from the keyring's backend
    for variable in _session._KEYRING_PROVIDERS:
        monkeypatch.delenv(variable, raising=False)
    host, path = guarded.address, os.environ["PATH"]
    log = _keyring(tmp_path / "keyring", monkeypatch, {f"get {host} oauth2accesstoken": "s3cret"})
    monkeypatch.setenv("PATH", f"{tmp_path / 'keyring' / 'keyring-bin'}{os.pathsep}{path}")  # tox finds Python too
    guarded.login = ("oauth2accesstoken", "s3cret")
    ini = (
        "[testenv]\nrunner = venvsync\npackage = skip\n"
        "set_env =\n    UV_KEYRING_PROVIDER = subprocess\n    UV_INDEX_CORP_USERNAME = oauth2accesstoken\n"
        'commands = python -c "import alpha"\n'
    )
    project = tox_project({"tox.ini": ini})
    _keyring_project(project.path, guarded, wheelhouse)
    result = project.run("r", "-e", "py312", "--workdir", str(tmp_path / "work"))
    assert result.code == 0, result.out + result.err
    assert "s3cret" not in result.out + result.err
    token = "Basic " + base64.b64encode(b"oauth2accesstoken:s3cret").decode()
    assert guarded.authorizations == [token]  # sent with the first request
    url = guarded.file_url("alpha-1.0-py3-none-any.whl")
    assert log.read_text().splitlines() == [f"get {url} oauth2accesstoken", f"get {host} oauth2accesstoken"]
    assert "UV_KEYRING_PROVIDER" not in os.environ  # set_env's, not this process's


@pytest.mark.slow
def test_venvsync_sync_asks_the_keyring_for_a_refused_requests_login(  # noqa: PLR0913, PLR0917  # fixtures
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,  # noqa: ARG001  # the sync's cache
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python312: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lock = _keyring_project(tmp_path / "project", guarded, wheelhouse)
    log = _keyring(tmp_path / "keyring", monkeypatch, {f"get {guarded.address} --mode creds": "ci\ns3cret"})
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    venv = tmp_path / "venv"
    assert main(["sync", "--lock", str(lock), "--venv", str(venv), "--python", str(python312)]) == 0
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert guarded.authorizations == [None, BASIC]
    url = guarded.file_url("alpha-1.0-py3-none-any.whl")
    assert log.read_text().splitlines() == [f"get {url} --mode creds", f"get {guarded.address} --mode creds"]


def test_a_redirect_to_another_host_is_not_sent_the_login(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    # an index that sends downloads to a file store (a signed URL on another host) must not hand it the login
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with LocalIndex(wheelhouse) as store:
        elsewhere = store.file_url(wheel.name).replace("127.0.0.1", "localhost")
        guarded.redirect_paths[f"/files/{wheel.name}"] = elsewhere
        url = _with_login(guarded.file_url(wheel.name))
        fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, url)])
        assert fetched["pkg"].read_bytes() == wheel.read_bytes()
        assert guarded.authorizations == [BASIC]
        assert store.authorizations == [None]


@pytest.mark.parametrize("login", ["ci", None], ids=["username only", "no login"])
def test_a_redirect_to_another_host_is_not_sent_the_keyrings_login(  # noqa: PLR0913, PLR0917  # fixtures and parameters
    guarded: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    login: str | None,
) -> None:
    # a password the keyring gives for the index (sent before the request, or after its refusal) stays there
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    url = guarded.file_url(wheel.name)
    answers = {f"get {url} ci": "s3cret", f"get {url} --mode creds": "ci\ns3cret"}
    log = _keyring(tmp_path, monkeypatch, answers)
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    with LocalIndex(wheelhouse) as store:
        guarded.redirect_paths[f"/files/{wheel.name}"] = store.file_url(wheel.name).replace("127.0.0.1", "localhost")
        fetched = CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(url, login) if login else url)])
        assert fetched["pkg"].read_bytes() == wheel.read_bytes()
        assert guarded.authorizations[-1] == BASIC
        assert store.authorizations == [None]
    assert len(log.read_text().splitlines()) == 1  # the index's URL only


def test_a_login_file_that_cannot_be_read_is_named_when_a_server_asks_for_a_login(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin ci password my s3cret\n")  # a password with a space, not quoted
    monkeypatch.setenv("NETRC", str(netrc))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])
    message = str(info.value)
    # the line as Python's netrc counts it; never the parser's words, which quote the token (here: a password's end)
    assert re.fullmatch(
        re.escape(f"cannot fetch pkg from {guarded.file_url(wheel.name)}: the server answered HTTP 401 Unauthorized; ")
        + re.escape(f"the login file {netrc} cannot be read (line ")
        + r"\d+"
        + re.escape(" does not parse); correct it, or set NETRC to another file")
        + ".*",
        message,
    )
    assert "s3cret" not in message
    guarded.login = None  # a server that needs no login (PyPI) is not kept from by a broken login file
    assert CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, guarded.file_url(wheel.name))])["pkg"].is_file()


@pytest.mark.parametrize(
    ("entries", "authorization"),
    [
        ("default login ci password s3cret\n", BASIC),  # the entry of every host without one of its own
        ("machine 127.0.0.1 login s3cret-token\n", "Basic " + base64.b64encode(b"s3cret-token:").decode()),
    ],
    ids=["default", "login-only"],
)
def test_the_netrc_files_default_entry_and_an_entry_with_a_login_only_are_sent(  # noqa: PLR0913, PLR0917  # fixtures
    local_index: LocalIndex,
    wheelhouse: Path,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    entries: str,
    authorization: str,
) -> None:
    # found by mutation testing: no test read a netrc file's default entry, or an entry that gives a token as its
    # login and no password (as curl and requests send them)
    netrc = tmp_path / "netrc"
    netrc.write_text(entries)
    monkeypatch.setenv("NETRC", str(netrc))
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    assert CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])["pkg"].is_file()
    assert local_index.authorizations == [authorization]


def test_a_redirect_to_another_scheme_than_http_is_refused(
    guarded: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    guarded.redirect_paths[f"/files/{wheel.name}"] = "ftp://127.0.0.1:9/pkg-1.0-py3-none-any.whl"
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, _with_login(guarded.file_url(wheel.name)))])
    assert str(info.value) == (  # the whole sentence: no "check the network" after it (found by mutation testing)
        f"cannot fetch pkg from {guarded.url.replace('://', '://****@')}/files/{wheel.name}: the server sent the "
        "request on to ftp://127.0.0.1:9/pkg-1.0-py3-none-any.whl, and only https and http are fetched, not ftp"
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('url = "https://ci:s3cret@host/x.whl"', True),
        ('url = "https://ci:it\'s3cret@host/x.whl"', True),  # a ' in a "..." string
        ("url = 'https://ci:s3\"cret@host/x.whl'", True),  # a " in a TOML literal string
        ('{"url": "https://host/x.whl"}, "mail": "a@b"', False),
        ('url = "https://host"\nmail = "a@b"', False),
    ],
)
def test_a_lock_with_a_login_is_told_from_one_without(text: str, *, found: bool) -> None:
    assert carries_login(text) is found


def test_a_redirect_loop_is_one_line(local_index: LocalIndex, wheelhouse: Path, cache_dir: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.redirect_paths[f"/files/{wheel.name}"] = local_index.file_url(wheel.name)
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])
    assert "\n" not in str(info.value)
    assert "the server answered HTTP 302 The HTTP server returned a redirect error that would lead to an infinite" in (
        str(info.value)
    )


def test_a_redirect_to_something_that_is_not_a_url_is_one_sentence(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    local_index.redirect_paths[f"/files/{wheel.name}"] = "https://[::1/pkg.whl"
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])
    assert str(info.value).startswith(
        f"cannot fetch pkg from {local_index.file_url(wheel.name)}: the server sent the request on to "
        "'https://[::1/pkg.whl', which is not a URL (Invalid IPv6 URL)"
    )


def test_a_redirect_to_a_server_that_does_not_answer_names_where_it_went(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a mirror that sends downloads on to a host that is down said "[Errno 111] Connection refused" after the
    # mirror's URL, which had answered: the host that refused was named nowhere
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    onward = f"http://127.0.0.1:{port}/files/{wheel.name}"
    local_index.redirect_paths[f"/files/{wheel.name}"] = onward
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_pick(wheel, local_index.file_url(wheel.name))])
    assert str(info.value).startswith(
        f"cannot fetch pkg from {local_index.file_url(wheel.name)}: the server sent the request on to {onward}, and "
        "there: the host refused the connection (Connection refused): nothing listens on that port; check the URL's "
        "host and port"
    )


@pytest.mark.parametrize(
    ("given", "asked", "sent"),
    [
        ("https://pkgs.example.com:443/simple", "https://pkgs.example.com/files/a.whl", True),
        ("https://pkgs.example.com/simple", "https://PKGS.example.com:443/files/a.whl", True),
        ("http://[fd00::1]:80/simple", "http://[fd00::1]/files/a.whl", True),
        ("https://pkgs.example.com:8443/simple", "https://pkgs.example.com/files/a.whl", False),
        ("https://pkgs.example.com:80/simple", "https://pkgs.example.com/files/a.whl", False),
        ("http://pkgs.example.com:443/simple", "http://pkgs.example.com/files/a.whl", False),
    ],
)
def test_a_schemes_own_port_is_the_same_host_for_a_login(
    monkeypatch: pytest.MonkeyPatch, given: str, asked: str, *, sent: bool
) -> None:
    # uv compares hosts with the scheme's own port left out: an index named https://host:443/simple sent its login
    # to no file of https://host/ (and the reverse), each answered 401; another port stays another host
    login = ("ci", "s3cret")
    named = _session._Logins(((given, login),))
    assert (named.of(urlsplit(asked)), named.after_refusal(urlsplit(asked))) == (
        (login, login) if sent else (None, None)
    )
    forget_logins(monkeypatch)
    _session.without_login(_with_login(given))
    assert _session._logins.get().of(urlsplit(asked)) == (login if sent else None)
