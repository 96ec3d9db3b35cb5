"""The project's named indexes: uv's, Poetry's and PDM's logins from their variables, and PDM's sources."""

from __future__ import annotations

import base64
import codecs
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import tomli_w
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.index import LocalIndex
from _support.logins import without_logins
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _indexes, _session
from tox_venvsync._cache import Cache
from tox_venvsync._errors import BadUrlError, FetchError, LockFileError, NoFittingFileError
from tox_venvsync._fetch import CacheFetcher
from tox_venvsync._index import IndexClient, IndexFile, find_pinned
from tox_venvsync._indexes import (
    IndexSource,
    ProjectIndexes,
    configured_index,
    configured_indexes,
    read_project_indexes,
)
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._lock._model import IndexPin
from tox_venvsync._sync import SyncSpec, sync
from tox_venvsync._values import replace

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from tox_venvsync._target import Target

DEFAULT = "https://mirror.example/simple/"
BASIC = "Basic " + base64.b64encode(b"ci:s3cret").decode()


@pytest.fixture(autouse=True)
def no_logins_yet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no login learnt (they are kept for the process) and no netrc file."""
    with without_logins(monkeypatch, tmp_path / "no-netrc"):
        yield


def _project(
    tmp_path: Path, pyproject: Mapping[str, Any], lock: str = "uv.lock", uv_toml: Mapping[str, Any] | None = None
) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps(dict(pyproject)), encoding="utf-8")
    if uv_toml is not None:
        (tmp_path / "uv.toml").write_text(tomli_w.dumps(dict(uv_toml)), encoding="utf-8")
    return tmp_path / lock


# --- logins -------------------------------------------------------------------------------------------------------


def test_uv_indexes_take_their_logins_from_uv_index_name_variables(tmp_path: Path) -> None:
    indexes = {
        "index": [
            {"name": "internal-proxy", "url": "https://a.example/simple"},
            {"name": "no-login", "url": "https://n.example/simple"},
        ]
    }
    lock = _project(
        tmp_path,
        {"tool": {"uv": indexes}},
        uv_toml={"index": [{"name": "Team.Mirror", "url": "https://b.example/simple"}]},
    )
    environ = {
        "UV_INDEX_INTERNAL_PROXY_USERNAME": "ci",
        "UV_INDEX_INTERNAL_PROXY_PASSWORD": "s3cret",
        "UV_INDEX_TEAM_MIRROR_PASSWORD": "token",  # uv's rule: upper case, any other character than [A-Z0-9] is _
        "UV_INDEX": "extra=https://c.example/simple https://d.example/simple",
        "UV_INDEX_EXTRA_USERNAME": "x",
        "UV_INDEX_NO_LOGIN": "not a login variable",
    }
    found = read_project_indexes(lock, "uv", environ, DEFAULT)
    assert found.logins == (
        ("https://a.example/simple", ("ci", "s3cret")),
        ("https://b.example/simple", ("", "token")),
        ("https://c.example/simple", ("x", "")),
    )
    assert found.sources == ()  # a uv.lock names its files' URLs: nothing to look up
    assert read_project_indexes(lock, "uv", {}, DEFAULT).logins == ()


def test_poetry_sources_take_their_logins_from_poetry_http_basic_variables(tmp_path: Path) -> None:
    source = {"name": "my-repo.internal", "url": "https://p.example/simple/", "priority": "supplemental"}
    lock = _project(tmp_path, {"tool": {"poetry": {"source": [source]}}}, "poetry.lock")
    environ = {"POETRY_HTTP_BASIC_MY_REPO_INTERNAL_USERNAME": "ci", "POETRY_HTTP_BASIC_MY_REPO_INTERNAL_PASSWORD": "pw"}
    assert read_project_indexes(lock, "poetry", environ, DEFAULT).logins == (
        ("https://p.example/simple/", ("ci", "pw")),
    )


def test_each_named_index_sends_its_own_login_under_its_root(guarded: LocalIndex, wheelhouse: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    # two indexes on one host (uv's rule: a request under /team-b/ is team-b's), and the longer root wins
    logins = ((f"{guarded.url}/team-b/simple", ("carol", "x")), (guarded.simple_url, ("ci", "s3cret")))
    _session.use_logins(ProjectIndexes(logins=logins))
    assert IndexClient().locate(guarded.simple_url, "pkg", wheel.name) == guarded.file_url(wheel.name)
    with pytest.raises(FetchError, match="HTTP 401 Unauthorized to the login sent; check the one given for it"):
        IndexClient().locate(f"{guarded.url}/team-b/simple/", "pkg", wheel.name)
    carol = "Basic " + base64.b64encode(b"carol:x").decode()
    assert guarded.authorizations == [BASIC, carol]
    # the next sync starts over: an earlier environment's login is not sent
    _session.use_logins(ProjectIndexes())
    with pytest.raises(FetchError, match="HTTP 401 Unauthorized; if it needs a login"):
        IndexClient().locate(guarded.simple_url, "other", wheel.name)


def test_a_file_elsewhere_on_a_named_index_s_host_gets_the_index_login(guarded: LocalIndex, wheelhouse: Path) -> None:
    # Azure Artifacts links an index's files under another path of its host: PDM sends the login there, uv too
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    logins = ((f"{guarded.url}/team-a/simple", ("ci", "s3cret")), (f"{guarded.url}/team-b/simple", ("b", "x")))
    _session.use_logins(ProjectIndexes(logins=logins))
    picks = [_wheel_pick(wheel, guarded.file_url(wheel.name))]  # under /files/: no index's root; the first's host
    assert CacheFetcher(Cache(guarded.directory.parent / "cache")).fetch(picks)["pkg"].is_file()
    assert guarded.authorizations == [None, BASIC]  # asked without, refused, asked again with it (as uv asks)


def test_a_login_sent_on_a_retry_does_not_follow_a_redirect_to_another_host(
    guarded: LocalIndex, second_index: LocalIndex, cache_dir: Path
) -> None:
    wheel = make_wheel(second_index.directory, "pkg", "1.0")
    guarded.redirect_paths[f"/files/{wheel.name}"] = second_index.file_url(wheel.name)  # given the login, a 302
    _session.use_logins(ProjectIndexes(logins=((f"{guarded.url}/private/simple", ("ci", "s3cret")),)))
    fetched = CacheFetcher(Cache(cache_dir)).fetch([_wheel_pick(wheel, guarded.file_url(wheel.name))])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()
    assert guarded.authorizations == [None, BASIC]  # refused without it, then asked with it
    assert second_index.authorizations == [None]  # the other host never sees it


def test_a_login_refused_after_a_redirect_says_the_login_sent_was_refused(
    local_index: LocalIndex, guarded_second: LocalIndex, cache_dir: Path
) -> None:
    wheel = make_wheel(guarded_second.directory, "pkg", "1.0")
    local_index.redirect_paths[f"/files/{wheel.name}"] = guarded_second.file_url(wheel.name)
    _session.use_logins(ProjectIndexes(logins=((f"{guarded_second.url}/private/simple", ("ci", "wrong")),)))
    with pytest.raises(FetchError) as info:
        CacheFetcher(Cache(cache_dir)).fetch([_wheel_pick(wheel, local_index.file_url(wheel.name))])
    assert "answered HTTP 401 Unauthorized to the login sent; check the one given for it" in str(info.value)
    assert "wrong" not in str(info.value)


def test_a_host_s_index_login_goes_nowhere_that_did_not_ask_for_one(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    # a public index or a redirect target on the private index's host gets no login it did not ask for
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _session.use_logins(ProjectIndexes(logins=((f"{local_index.url}/private/simple", ("ci", "s3cret")),)))
    assert CacheFetcher(Cache(cache_dir)).fetch([_wheel_pick(wheel, local_index.file_url(wheel.name))])
    assert local_index.authorizations == [None]


def _wheel_pick(wheel: Path, url: str | None) -> Pick:
    artifact = Artifact(filename=wheel.name, url=url, path=None, size=None, hashes={"sha256": sha256_file(wheel)})
    return Pick(
        name=canonicalize_name(wheel.name.split("-")[0]), version=Version("1.0"), kind="wheel", artifact=artifact
    )


def test_the_download_threads_send_the_syncs_logins(guarded: LocalIndex, wheelhouse: Path, cache_dir: Path) -> None:
    wheels = [make_wheel(wheelhouse, name, "1.0") for name in ("one", "two", "three")]
    picks = [
        Pick(
            name=canonicalize_name(w.name.split("-")[0]),
            version=Version("1.0"),
            kind="wheel",
            artifact=Artifact(
                filename=w.name, url=guarded.file_url(w.name), path=None, size=None, hashes={"sha256": sha256_file(w)}
            ),
        )
        for w in wheels
    ]
    _session.use_logins(ProjectIndexes(logins=((guarded.simple_url, ("ci", "s3cret")),)))  # files under its root, /
    fetched = CacheFetcher(Cache(cache_dir), workers=3).fetch(picks)
    assert sorted(fetched) == ["one", "three", "two"]
    assert guarded.authorizations == [BASIC] * 3


@pytest.fixture
def guarded(local_index: LocalIndex) -> LocalIndex:
    local_index.login = ("ci", "s3cret")
    return local_index


def test_the_configured_index_of_a_named_uv_index_variable_is_its_url() -> None:
    assert configured_index({"UV_DEFAULT_INDEX": "corp=https://corp.example/simple"}) == "https://corp.example/simple"
    assert configured_index({"UV_INDEX_URL": " https://plain.example/simple "}) == " https://plain.example/simple "
    assert configured_index({"PIP_INDEX_URL": "a=https://x.example/simple"}) == "a=https://x.example/simple"


def test_the_configured_indexes_are_uvs_first_then_the_default_then_the_extra_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_indexes, "_PIP_SITE_CONFIG", ())  # this machine's own pip.conf may name extra indexes
    monkeypatch.setattr(_indexes, "_PIP_USER_CONFIG", ())
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nextra-index-url =\n    https://f.example/simple\n    https://g.example/simple\n")
    environ = {
        "UV_INDEX": "corp=https://a.example/simple https://b.example/simple",
        "PIP_INDEX_URL": "https://c.example/simple",
        "UV_EXTRA_INDEX_URL": "https://d.example/simple /opt/a/path",  # no URL: passed over, as pip does
        "PIP_EXTRA_INDEX_URL": "https://e.example/simple https://a.example/simple",
        "PIP_CONFIG_FILE": str(config),
    }
    assert configured_indexes(environ) == tuple(f"https://{c}.example/simple" for c in "abcdefg")
    assert configured_indexes({}) == ("https://pypi.org/simple/",)


def test_pips_files_are_read_as_pip_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, user, given = (tmp_path / name for name in ("site.conf", "user.conf", "given.conf"))
    site.write_text("[global]\nindex-url = https://site.example/simple\n")
    user.write_text("[install]\nindex-url = https://user.example/simple\n")
    given.write_text("[global]\ntimeout = 3\n")
    monkeypatch.setattr(_indexes, "_PIP_SITE_CONFIG", (str(site),))
    monkeypatch.setattr(_indexes, "_PIP_USER_CONFIG", (str(user),))
    assert configured_index({}) == "https://user.example/simple"  # a later file wins
    # PIP_CONFIG_FILE naming a file that exists: the user's files are not read; os.devnull: none is
    assert configured_index({"PIP_CONFIG_FILE": str(given)}) == "https://site.example/simple"
    assert configured_index({"PIP_CONFIG_FILE": str(tmp_path / "none.conf")}) == "https://user.example/simple"
    assert configured_index({"PIP_CONFIG_FILE": os.devnull}) == "https://pypi.org/simple/"


def test_the_user_s_pip_file_is_found_in_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_indexes, "_PIP_SITE_CONFIG", ())
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "pip.conf").write_text("[global]\nindex-url = https://xdg.example/simple\n")
    assert configured_index({"XDG_CONFIG_HOME": str(tmp_path)}) == "https://xdg.example/simple"


# --- PDM's sources ------------------------------------------------------------------------------------------------


def test_pdm_looks_on_pypi_first_then_on_the_projects_sources(tmp_path: Path) -> None:
    sources = [
        {"name": "private", "url": "https://${USER}:${TOKEN}@p.example/${TEAM}/simple", "verify_ssl": True},
        {"name": "links", "url": "https://l.example/links", "type": "find_links"},
    ]
    lock = _project(tmp_path, {"tool": {"pdm": {"source": sources}}}, "pdm.lock")
    # the user info's values percent-encoded, as PDM's expand_env_vars_in_auth does; the path's as they are
    environ = {"USER": "dave", "TOKEN": "pa/ss?#%41@x", "TEAM": "a-team"}
    found = read_project_indexes(lock, "pdm", environ, DEFAULT)
    private = "https://dave:pa%2Fss%3F%23%2541%40x@p.example/a-team/simple"
    assert found.sources == (IndexSource(name="pypi", url=DEFAULT), IndexSource(name="private", url=private))
    assert found.for_package(canonicalize_name("anything")) == (DEFAULT, private)
    pypi = read_project_indexes(lock, "pdm", {"PDM_PYPI_URL": "https://q.example/simple"}, DEFAULT).sources[0]
    assert pypi.url == "https://q.example/simple"
    assert read_project_indexes(lock, "uv", {}, DEFAULT).sources == ()  # only a pdm.lock is looked up on them


def test_a_login_in_a_pdm_sources_url_goes_with_its_files_too(tmp_path: Path) -> None:
    # a --static-urls lock names the files' URLs: the index page, where the URL's login was learnt, is never asked
    sources = [{"name": "private", "url": "http://${U}:${P}@127.0.0.1:8766/simple", "include_packages": ["priv"]}]
    lock = _project(tmp_path, {"tool": {"pdm": {"source": sources}}}, "pdm.lock")
    found = read_project_indexes(lock, "pdm", {"U": "alice", "P": "p@ss/w%rd:x"}, DEFAULT)
    url = "http://alice:p%40ss%2Fw%25rd%3Ax@127.0.0.1:8766/simple"
    assert found.logins == ((url, ("alice", "p@ss/w%rd:x")),)
    logins = _session._Logins(found.logins)  # the table a sync sends logins from
    assert logins.of(urlsplit("http://127.0.0.1:8766/files/priv-1.0-py3-none-any.whl")) == ("alice", "p@ss/w%rd:x")
    assert logins.of(urlsplit("http://127.0.0.1:9999/files/priv-1.0-py3-none-any.whl")) is None


def test_a_pdm_source_url_may_start_at_the_project_root(tmp_path: Path) -> None:
    # PDM writes file:///${PROJECT_ROOT}/... for a path in the project and expands it to the project's directory
    sources = [{"name": "local", "url": "file:///${PROJECT_ROOT}/simple"}]
    lock = _project(tmp_path, {"tool": {"pdm": {"source": sources}}}, "pdm.lock")
    found = read_project_indexes(lock, "pdm", {}, DEFAULT)
    assert found.sources[1].url == f"{lock.parent.absolute().as_uri()}/simple"


def test_a_pdm_lock_kept_elsewhere_uses_its_projects_sources(tmp_path: Path) -> None:
    # pdm lock -L locks/ci.lock: the project (its sources, its root) is the nearest pyproject.toml above the lock
    sources = [{"name": "local", "url": "file:///${PROJECT_ROOT}/simple"}]
    _project(tmp_path, {"tool": {"pdm": {"source": sources}}})
    lock = tmp_path / "locks" / "ci.lock"
    found = read_project_indexes(lock, "pdm", {}, DEFAULT)
    assert found.sources[1].url == f"{tmp_path.absolute().as_uri()}/simple"


def test_a_pdm_source_named_pypi_replaces_pypi_and_logins_come_from_its_keys(tmp_path: Path) -> None:
    sources = [
        {"name": "internal", "url": "https://i.example/simple", "username": "${USER}", "password": "pw"},
        {"name": "pypi", "url": "https://mirror.internal/simple"},
    ]
    lock = _project(tmp_path, {"tool": {"pdm": {"source": sources}}}, "pdm.lock")
    environ = {"USER": "ci", "PDM_PYPI_USERNAME": "m", "PDM_PYPI_PASSWORD": "n"}
    found = read_project_indexes(lock, "pdm", environ, DEFAULT)
    assert [source.url for source in found.sources] == ["https://i.example/simple", "https://mirror.internal/simple"]
    # the keys as written: PDM expands no variable in them
    assert found.logins == (
        ("https://i.example/simple", ("${USER}", "pw")),
        ("https://mirror.internal/simple", ("m", "n")),
    )


def test_pdms_configuration_files_fill_in_its_sources_and_add_their_own(tmp_path: Path) -> None:
    # pdm config --local writes pdm.toml beside pyproject.toml, pdm config the user's config.toml; found by QA
    sources = [{"name": "private", "url": "https://p.example/simple"}, {"name": "elsewhere"}]
    lock = _project(tmp_path, {"tool": {"pdm": {"source": sources}}}, "pdm.lock")
    local = {"pypi": {"url": "https://mirror.example/simple", "private": {"username": "ann", "password": "a"}}}
    (tmp_path / "pdm.toml").write_text(tomli_w.dumps(local), encoding="utf-8")
    user = tmp_path / "user" / "config.toml"
    user.parent.mkdir()
    stored = {"private": {"username": "bob", "password": "b", "url": "https://ignored.example"}, "extra": {"url": "E"}}
    user.write_text(tomli_w.dumps({"pypi": {"username": "u", "password": "p", **stored}}), encoding="utf-8")
    found = read_project_indexes(lock, "pdm", {"PDM_CONFIG_FILE": str(user)}, DEFAULT)
    # the project's keys first, then pdm.toml's, then the user's; a source with no URL anywhere is left out
    assert [(s.name, s.url) for s in found.sources] == [
        ("pypi", "https://mirror.example/simple"),
        ("private", "https://p.example/simple"),
        ("extra", "E"),
    ]
    assert found.logins == (("https://mirror.example/simple", ("u", "p")), ("https://p.example/simple", ("ann", "a")))
    # without the files, as before
    (tmp_path / "pdm.toml").unlink()
    bare = read_project_indexes(lock, "pdm", {"PDM_CONFIG_FILE": str(tmp_path / "none.toml")}, DEFAULT)
    assert [(s.name, s.url) for s in bare.sources] == [("pypi", DEFAULT), ("private", "https://p.example/simple")]
    assert bare.logins == ()


def test_pdms_user_configuration_is_under_xdg_config_home(tmp_path: Path) -> None:
    lock = _project(tmp_path, {"tool": {"pdm": {}}}, "pdm.lock")
    (tmp_path / "xdg" / "pdm").mkdir(parents=True)
    (tmp_path / "xdg" / "pdm" / "config.toml").write_text('[pypi]\nurl = "https://x.example/simple"\n')
    found = read_project_indexes(lock, "pdm", {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, DEFAULT)
    assert found.sources[0].url == "https://x.example/simple"


def test_pdms_pypi_login_goes_only_where_pdm_sends_it(tmp_path: Path) -> None:
    lock = _project(tmp_path, {"tool": {"pdm": {}}}, "pdm.lock")
    login = {"PDM_PYPI_USERNAME": "m", "PDM_PYPI_PASSWORD": "n"}
    # the index of PIP_INDEX_URL (DEFAULT here) is not PDM's: its pypi login is not sent there
    assert read_project_indexes(lock, "pdm", login, DEFAULT).logins == ()
    pypi = "https://pypi.org/simple/"
    assert read_project_indexes(lock, "pdm", login, pypi).logins == ((pypi, ("m", "n")),)
    own = read_project_indexes(lock, "pdm", {**login, "PDM_PYPI_URL": "https://q.example/simple"}, DEFAULT)
    assert own.logins == (("https://q.example/simple", ("m", "n")),)


def test_pdm_include_and_exclude_packages_choose_the_sources_of_a_package() -> None:
    indexes = ProjectIndexes(
        sources=(
            IndexSource(name="pypi", url="P", exclude=("corp-*",)),
            IndexSource(name="corp", url="C", include=("corp-*", "Secret_Thing")),
            IndexSource(name="other", url="O"),
        )
    )
    assert indexes.for_package(canonicalize_name("corp-tools")) == ("C",)
    assert indexes.for_package(canonicalize_name("secret-thing")) == ("C",)  # patterns match normalized names
    # PDM's filtered_sources: a source with include_packages still serves the packages no source includes
    assert indexes.for_package(canonicalize_name("requests")) == ("P", "C", "O")


@pytest.mark.parametrize(
    ("source", "context", "reason"),
    [
        ({"url": "https://x.example"}, "tool.pdm.source[0].name", "name must be a non-empty string"),
        ({"name": "x", "url": 3}, "tool.pdm.source[0].url", "url must be a non-empty string"),
        (
            {"name": "x", "url": "u", "include_packages": "a"},
            "tool.pdm.source[0].include_packages",
            "include_packages must be an array of strings",
        ),
        ("text", "tool.pdm.source[0]", "it must be a table with name and url"),
    ],
)
def test_a_broken_pdm_source_names_its_key(tmp_path: Path, source: object, context: str, reason: str) -> None:
    lock = _project(tmp_path, {"tool": {"pdm": {"source": [source]}}}, "pdm.lock")
    with pytest.raises(LockFileError) as info:
        read_project_indexes(lock, "pdm", {}, DEFAULT)
    assert str(info.value) == f"{tmp_path / 'pyproject.toml'} at {context}: {reason}"


def test_a_pyproject_that_does_not_parse_is_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pdm\n", encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_project_indexes(tmp_path / "pdm.lock", "pdm", {}, DEFAULT)
    assert str(info.value).startswith(
        f"{tmp_path / 'pyproject.toml'}: it cannot be read for the project's package indexes"
    )
    assert str(info.value).endswith("); fix the file")  # what to do, which it did not say (found by QA)


def test_a_pyproject_that_cannot_be_read_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()  # as a file this user may not read does (as root, every file is read)
    with pytest.raises(LockFileError) as info:
        read_project_indexes(tmp_path / "pdm.lock", "pdm", {}, DEFAULT)
    assert str(info.value) == (
        f"{tmp_path / 'pyproject.toml'}: it cannot be read for the project's package indexes (Is a directory); make it "
        "a readable file"
    )


def test_a_pyproject_and_uv_toml_that_start_with_a_byte_order_mark_are_read_as_the_lock_readers_read_them(
    tmp_path: Path,
) -> None:
    # found by QA: a pyproject.toml saved with a BOM (an editor on Windows) is read by uv and by the uv.lock reader,
    # but the indexes' own loader refused it: "it cannot be read for the project's package indexes (Invalid
    # statement (at line 1, column 1))", only once a sync had something to download
    lock = _project(
        tmp_path,
        {"tool": {"uv": {"index": [{"name": "corp", "url": "https://a.example/simple"}]}}},
        uv_toml={"index": [{"name": "mirror", "url": "https://b.example/simple"}]},
    )
    for name in ("pyproject.toml", "uv.toml"):
        (tmp_path / name).write_bytes(codecs.BOM_UTF8 + (tmp_path / name).read_bytes())
    environ = {"UV_INDEX_CORP_PASSWORD": "a", "UV_INDEX_MIRROR_PASSWORD": "b"}
    assert read_project_indexes(lock, "uv", environ, DEFAULT).logins == (
        ("https://a.example/simple", ("", "a")),
        ("https://b.example/simple", ("", "b")),
    )


def test_a_pyproject_nested_too_deeply_to_parse_is_named(tmp_path: Path) -> None:
    # the parser's RecursionError went up as a traceback (found by QA)
    (tmp_path / "pyproject.toml").write_text("x = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        read_project_indexes(tmp_path / "pdm.lock", "pdm", {}, DEFAULT)
    assert str(info.value) == (
        f"{tmp_path / 'pyproject.toml'}: it cannot be read for the project's package indexes (its arrays or inline "
        "tables are nested too deeply); fix the file"
    )


# --- several indexes: a project's page missing on one, a file of the same name with another hash ------------------


@pytest.fixture
def second_index(tmp_path: Path) -> Iterator[LocalIndex]:
    directory = tmp_path / "second"
    directory.mkdir()
    with LocalIndex(directory) as index:
        yield index


def _find(
    pin: IndexPin, default: tuple[str, ...], target_of: Callable[[str], Target], name: str = "private-pkg"
) -> str | None:
    found = find_pinned(
        IndexClient(), name=name, version="1.0", pin=pin, ranks=target_of("3.12").tag_ranks, default_indexes=default
    )
    return found.url


def test_a_pin_is_found_on_the_extra_index_when_the_first_has_no_such_project(
    local_index: LocalIndex, second_index: LocalIndex, target_of: Callable[[str], Target]
) -> None:
    wheel = make_wheel(second_index.directory, "private-pkg", "1.0")
    hashes = {"sha256": frozenset({sha256_file(wheel)})}
    pin = IndexPin(hashes=hashes, index=local_index.simple_url, extra_indexes=(second_index.simple_url,))
    # the first index's 404 is "not here", as pip takes it
    assert _find(pin, (DEFAULT,), target_of) == second_index.file_url(wheel.name)
    # --extra-index-url alone adds to the configured indexes (pip and uv search them too)
    public = make_wheel(local_index.directory, "public", "1.0")
    pin = IndexPin(hashes={"sha256": frozenset({sha256_file(public)})}, extra_indexes=(second_index.simple_url,))
    assert _find(pin, (local_index.simple_url,), target_of, "public") == local_index.file_url(public.name)
    # --index-url replaces them
    with pytest.raises(FetchError) as info:
        _find(replace(pin, index=second_index.simple_url), (local_index.simple_url,), target_of, "public")
    assert str(info.value) == (
        f"cannot fetch public from {second_index.simple_url}: no index lists public==1.0; check the file's "
        "--index-url and --extra-index-url, or the configured index"
    )


def test_a_pin_whose_hash_no_listed_file_has_says_so_though_another_index_refused(
    local_index: LocalIndex, guarded_second: LocalIndex, target_of: Callable[[str], Target]
) -> None:
    make_wheel(local_index.directory, "pkg", "1.0")
    pin = IndexPin(hashes={"sha256": frozenset({"0" * 64})}, extra_indexes=(guarded_second.simple_url,))
    with pytest.raises(FetchError) as info:  # pip: "THESE PACKAGES DO NOT MATCH THE HASHES", not the extra's 401
        _find(pin, (local_index.simple_url,), target_of, "pkg")
    assert "the index lists 1 file(s) of pkg==1.0, none with a hash the file's --hash allows" in str(info.value)


@pytest.fixture
def guarded_second(second_index: LocalIndex) -> LocalIndex:
    second_index.login = ("ci", "s3cret")
    return second_index


def test_of_several_indexes_the_file_with_the_locks_hash_is_taken(
    local_index: LocalIndex, second_index: LocalIndex, wheelhouse: Path
) -> None:
    impostor = make_wheel(wheelhouse, "secret", "1.0", modules={"secret/__init__.py": "IMPOSTOR = True\n"})
    real = make_wheel(second_index.directory, "secret", "1.0")
    client = IndexClient()
    indexes = (local_index.simple_url, second_index.simple_url)
    url = client.locate(indexes, "secret", real.name, {"sha256": sha256_file(real)})
    assert url == second_index.file_url(real.name)
    # without a digest to compare, the order of the indexes
    assert client.candidates(indexes, "secret", impostor.name, {}) == [
        local_index.file_url(impostor.name),
        second_index.file_url(real.name),
    ]
    with pytest.raises(FetchError) as info:
        client.locate(indexes, "secret", "secret-2.0-py3-none-any.whl")
    pages = f"{local_index.simple_url}secret/ or {second_index.simple_url}secret/"
    assert str(info.value) == (
        f"cannot fetch secret from {', '.join(indexes)}: secret-2.0-py3-none-any.whl is not on the index page "
        f"{pages}; check the index the lock names, or the one configured "
        "(UV_INDEX_URL, PIP_INDEX_URL) where it names none"
    )


def test_an_index_that_refuses_is_passed_over_when_another_lists_the_file(
    guarded: LocalIndex, second_index: LocalIndex
) -> None:
    wheel = make_wheel(second_index.directory, "pkg", "1.0")
    indexes = (guarded.simple_url, second_index.simple_url)  # the first answers 401: no login was given
    lock = {"sha256": sha256_file(wheel)}
    assert IndexClient().locate(indexes, "pkg", wheel.name, lock) == second_index.file_url(wheel.name)
    with pytest.raises(FetchError, match="HTTP 401"):  # and when none lists it, the refusal is what is said
        IndexClient().locate(indexes, "pkg", "pkg-2.0-py3-none-any.whl")
    # nor when another lists a file of that name with other bytes: the refusing index may hold the lock's
    with pytest.raises(FetchError, match="HTTP 401"):
        IndexClient().locate(indexes, "pkg", wheel.name, {"sha256": "0" * 64})
    with pytest.raises(BadUrlError, match="the index URL is not valid"):  # a path where a URL goes: one sentence
        IndexClient().locate("/opt/a/path", "pkg", wheel.name)


def test_a_lock_s_file_without_a_url_is_looked_up_on_the_configured_index_only(
    local_index: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    # Poetry and PDM read no extra index of pip's or uv's: one that refuses or is down does not stop them
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    environ = {"PIP_INDEX_URL": local_index.simple_url, "PIP_EXTRA_INDEX_URL": "http://127.0.0.1:9/simple"}
    fetched = CacheFetcher(Cache(cache_dir), environ=environ).fetch([_wheel_pick(wheel, None)])
    assert fetched["pkg"].read_bytes() == wheel.read_bytes()


def test_a_same_named_file_without_a_digest_on_an_earlier_index_is_passed_over(
    local_index: LocalIndex, second_index: LocalIndex, wheelhouse: Path, cache_dir: Path
) -> None:
    impostor = make_wheel(wheelhouse, "secret", "1.0", modules={"secret/__init__.py": "IMPOSTOR = True\n"})
    real = make_wheel(second_index.directory, "secret", "1.0")
    client = IndexClient()  # pages without digests (as some give): the first index's file is tried first
    for index in (local_index, second_index):
        client._pages[f"{index.simple_url}secret/"] = {real.name: IndexFile(url=index.file_url(real.name), hashes={})}
    sources = (
        IndexSource(name="pypi", url=local_index.simple_url),
        IndexSource(name="corp", url=second_index.simple_url),
    )
    fetcher = CacheFetcher(Cache(cache_dir), indexes=lambda: ProjectIndexes(sources=sources))
    fetcher._index = client
    artifact = Artifact(filename=real.name, url=None, path=None, size=None, hashes={"sha256": sha256_file(real)})
    pick = Pick(name=canonicalize_name("secret"), version=Version("1.0"), kind="wheel", artifact=artifact)
    fetched = fetcher.fetch([pick])
    assert fetched["secret"].read_bytes() == real.read_bytes()
    assert local_index.requests == [f"/files/{impostor.name}"]  # tried, refused by its hash, and the next taken


# --- end to end: a sync ---------------------------------------------------------------------------------------


@pytest.fixture
def venv(tmp_path: Path, make_venv: Callable[[Path], Target]) -> tuple[Path, Target]:
    path = tmp_path / "venv"
    return path, make_venv(path)


def _pdm_lock(path: Path, wheels: list[Path]) -> None:
    packages = [
        {
            "name": wheel.name.split("-")[0],
            "version": wheel.name.split("-")[1],
            "summary": "",
            "groups": ["default"],
            "files": [{"file": wheel.name, "hash": f"sha256:{sha256_file(wheel)}"}],
        }
        for wheel in wheels
    ]
    metadata = {"groups": ["default"], "strategy": ["inherit_metadata"], "lock_version": "4.5.0"}
    document = {"metadata": {**metadata, "targets": [{"requires_python": ">=3.10"}]}, "package": packages}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")


def test_a_pdm_lock_syncs_from_the_projects_sources(  # noqa: PLR0913, PLR0917  # pytest's fixtures
    tmp_path: Path,
    venv: tuple[Path, Target],
    cache_dir: Path,
    local_index: LocalIndex,
    second_index: LocalIndex,
    wheelhouse: Path,
) -> None:
    public = make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "secret", "1.0", modules={"secret/__init__.py": "IMPOSTOR = True\n"})
    private = make_wheel(second_index.directory, "secret", "1.0", modules={"secret/__init__.py": "IMPOSTOR = False\n"})
    second_index.login = ("ci", "s3cret")
    project = tmp_path / "project"
    url = second_index.simple_url.replace("://", "://ci:${CORP_TOKEN}@")  # PDM expands variables in the URL
    source = {"name": "corp", "url": url}
    lock = _project(
        project, {"project": {"name": "p", "version": "0"}, "tool": {"pdm": {"source": [source]}}}, "pdm.lock"
    )
    _pdm_lock(lock, [public, private])
    path, target = venv
    environ = {"PDM_PYPI_URL": local_index.simple_url, "CORP_TOKEN": "s3cret"}
    spec = SyncSpec(venv=path, lock_path=lock, environ=environ)
    outcome = sync(spec, target, cache=Cache(cache_dir))
    assert outcome.applied
    site = path / "lib" / "python3.12" / "site-packages"
    assert (site / "secret" / "__init__.py").read_text() == "IMPOSTOR = False\n"  # the lock's, from the corp source
    assert (site / "alpha").is_dir()
    assert set(second_index.authorizations) == {BASIC}


@pytest.mark.parametrize(
    "variable", ["UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "PIP_INDEX_URL", "UV_EXTRA_INDEX_URL"]
)
def test_a_login_in_an_index_variable_reaches_a_locks_file_urls_on_its_host(  # noqa: PLR0913, PLR0917  # fixtures
    tmp_path: Path, venv: tuple[Path, Target], cache_dir: Path, guarded: LocalIndex, wheelhouse: Path, variable: str
) -> None:
    # a uv.lock's (or pylock's) files have URLs, so the index is never asked and its URL's login was never learnt:
    # uv sync took UV_INDEX_URL=https://user:token@host/simple's, the sync answered HTTP 401
    wheel = make_wheel(wheelhouse, "alpha", "1.0")
    lock = _project(tmp_path / "project", {"project": {"name": "p", "version": "0"}}, "pylock.toml")
    write_pylock(lock, [package_entry("alpha", "1.0", [wheel_entry(wheel, url=guarded.file_url(wheel.name))])])
    path, target = venv
    url = guarded.simple_url.replace("://", "://ci:s3cret@")
    environ = {variable: f"corp={url}" if variable == "UV_INDEX" else url}
    assert sync(SyncSpec(venv=path, lock_path=lock, environ=environ), target, cache=Cache(cache_dir)).applied
    assert guarded.authorizations == [BASIC]
    assert _indexes.configured_logins(environ) == ((url, ("ci", "s3cret")),)


def test_a_login_in_an_index_variable_goes_to_its_host_only(guarded: LocalIndex, second_index: LocalIndex) -> None:
    wheel = make_wheel(second_index.directory, "pkg", "1.0")
    logins = _indexes.configured_logins({"UV_INDEX_URL": guarded.simple_url.replace("://", "://ci:s3cret@")})
    _session.use_logins(ProjectIndexes(url_logins=logins))
    assert IndexClient().locate(second_index.simple_url, "pkg", wheel.name) == second_index.file_url(wheel.name)
    assert second_index.authorizations == [None]


def test_a_uv_index_login_variable_reaches_the_sync(
    tmp_path: Path, venv: tuple[Path, Target], cache_dir: Path, guarded: LocalIndex, wheelhouse: Path
) -> None:
    wheel = make_wheel(wheelhouse, "alpha", "1.0")
    project = tmp_path / "project"
    lock = _project(project, {"tool": {"uv": {"index": [{"name": "corp", "url": guarded.simple_url}]}}}, "pylock.toml")
    write_pylock(lock, [package_entry("alpha", "1.0", [wheel_entry(wheel, url=guarded.file_url(wheel.name))])])
    path, target = venv
    with pytest.raises(FetchError, match="HTTP 401 Unauthorized"):
        sync(SyncSpec(venv=path, lock_path=lock, environ={}), target, cache=Cache(cache_dir))
    environ = {"UV_INDEX_CORP_USERNAME": "ci", "UV_INDEX_CORP_PASSWORD": "s3cret"}
    assert sync(SyncSpec(venv=path, lock_path=lock, environ=environ), target, cache=Cache(cache_dir)).applied
    assert guarded.authorizations == [None, BASIC]


# --- links without a hash the pin can compare: candidates, checked once downloaded ------------------------------------


class _Pages(IndexClient):
    """An index client whose one page lists ``files`` (no network)."""

    def __init__(self, files: Mapping[str, IndexFile]) -> None:
        super().__init__()
        self.page = dict(files)

    def files(self, index: str, name: str) -> dict[str, IndexFile]:  # noqa: ARG002  # the page of every project
        return self.page


_PINNED = {"sha256": frozenset({"a" * 64})}


def _pinned(client: IndexClient, target_of: Callable[[str], Target]) -> Artifact:
    pin = IndexPin(hashes=_PINNED)
    return find_pinned(
        client, name="pinned", version="1.0", pin=pin, ranks=target_of("3.12").tag_ranks, default_indexes=(DEFAULT,)
    )


def test_a_link_without_a_hash_the_pin_uses_is_a_candidate_and_one_with_another_digest_is_not(
    target_of: Callable[[str], Target],
) -> None:
    best, good = "pinned-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "pinned-1.0-py3-none-any.whl"
    page = {
        best: IndexFile(url=f"{DEFAULT}/{best}", hashes={"sha256": "b" * 64}),  # the best fit, but another file
        good: IndexFile(url=f"{DEFAULT}/{good}", hashes={"md5": "c" * 32}),  # md5 alone tells nothing of sha256
    }
    found = _pinned(_Pages(page), target_of)
    assert (found.filename, found.url, found.hashes) == (good, f"{DEFAULT}/{good}", {})  # checked when downloaded
    page[good] = IndexFile(url=f"{DEFAULT}/{good}", hashes={"sha256": "a" * 64})
    assert _pinned(_Pages(page), target_of).hashes == {"sha256": "a" * 64}


def test_links_without_hashes_none_of_which_fits_say_so_without_claiming_a_hash(
    target_of: Callable[[str], Target],
) -> None:
    other = "pinned-1.0-cp27-cp27m-win32.whl"
    with pytest.raises(FetchError) as info:
        _pinned(_Pages({other: IndexFile(url=f"{DEFAULT}/{other}", hashes={})}), target_of)
    assert str(info.value) == (
        f"cannot fetch pinned from {DEFAULT}: no file of pinned==1.0 fits this interpreter (its first wheel tag is "
        f"{target_of('3.12').tag_strings[0]}); there are {other}: compile the requirements again for this "
        "interpreter's Python and platform, or use a Python they fit"
    )


def test_a_pin_whose_allowed_files_are_all_for_another_platform_is_refused_naming_them(
    target_of: Callable[[str], Target],
) -> None:
    # uv pip compile --python-platform windows --generate-hashes, synced on Linux: as a uv.lock or pylock.toml
    # without a wheel for the interpreter, bad input (exit code 2) naming the files there are (found by QA: exit
    # code 1, "no file of pinned==1.0 with an allowed hash fits this interpreter", naming no file and no remedy)
    files = ["pinned-1.0-cp312-cp312-win_amd64.whl", "pinned-1.0-cp312-cp312-macosx_11_0_arm64.whl"]
    page = {name: IndexFile(url=f"{DEFAULT}/{name}", hashes={"sha256": "a" * 64}) for name in files}
    with pytest.raises(NoFittingFileError) as info:
        _pinned(_Pages(page), target_of)
    assert info.value.exit_code == 2
    assert str(info.value) == (
        f"cannot fetch pinned from {DEFAULT}: no file of pinned==1.0 with an allowed hash fits this interpreter (its "
        f"first wheel tag is {target_of('3.12').tag_strings[0]}); there are {files[1]}, {files[0]}: compile the "
        "requirements again for this interpreter's Python and platform, or use a Python they fit"
    )
