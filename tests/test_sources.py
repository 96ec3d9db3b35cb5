"""Every source kind a lock can name installs, re-syncs to a no-op, and is replaced when its source changes."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import types
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from filelock import FileLock
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.logins import forget_logins
from _support.project import make_sdist, write_project
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.venvs import new_venv
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _build, _interrupt
from tox_venvsync._apply import WheelInstaller
from tox_venvsync._build import (
    Builder,
    BuildError,
    OutOfTreeError,
    _as_locked,
    _extract_tar,
    _git_login,
    _quiet_backend_warnings,
    _unpack_archive,
)
from tox_venvsync._cache import Cache
from tox_venvsync._errors import (
    BadInputError,
    FetchError,
    HashMismatchError,
    InstallError,
    LockFileError,
    NoFittingFileError,
    OfflineError,
    SelectionError,
    VenvSyncError,
)
from tox_venvsync._installed import dist_info_names, scan
from tox_venvsync._interrupt import Interrupt
from tox_venvsync._journal import Journal
from tox_venvsync._lock import Artifact, Pick, Request, build_constraints
from tox_venvsync._lock._model import VcsSource
from tox_venvsync._plan import Step, Wanted, make_plan
from tox_venvsync._sources import Sources, recorded_url
from tox_venvsync._state import State
from tox_venvsync._sync import Outcome, SyncSpec, sync
from tox_venvsync._target import Target, TargetMemo
from tox_venvsync._values import replace
from tox_venvsync._verify import check_records, unowned_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_mock import MockerFixture

    from _support.index import LocalIndex

pytestmark = pytest.mark.slow


class Env:
    def __init__(self, tmp_path: Path, python: Path) -> None:
        self.root = tmp_path
        self.venv = tmp_path / "venv"
        new_venv(self.venv, python)
        self.target: Target = TargetMemo(self.venv, self.venv / "bin" / "python").load()
        self.lock = tmp_path / "lock" / "pylock.toml"
        self.cache = Cache(tmp_path / "cache")

    def write(self, *packages: dict[str, Any]) -> None:
        write_pylock(self.lock, list(packages))

    def sync(self) -> Outcome:
        return sync(SyncSpec(venv=self.venv, lock_path=self.lock), self.target, cache=self.cache)

    def run(self, code: str) -> str:
        python = str(self.venv / "bin" / "python")
        return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    @property
    def site(self) -> Path:
        return Path(self.target.scheme["purelib"])

    def source(self, name: str) -> str | None:
        return scan([self.site])[name][0].direct_url  # type: ignore[index]


@pytest.fixture
def env(tmp_path: Path, python312: Path) -> Env:
    return Env(tmp_path, python312)


def actions(outcome: Outcome) -> list[tuple[str, str]]:
    assert outcome.plan is not None
    return [(str(step.name), step.action.value) for step in outcome.plan.changes]


def git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_a_pylock_wheel_given_by_path_records_no_direct_url_and_a_new_file_of_it_is_reinstalled(env: Env) -> None:
    # PEP 751's wheels entries are a registry's files, not direct references: uv records no direct_url.json for
    # one given by path, and pip freeze shows name==version; this wrote alpha @ file:///... (found by QA in
    # session 29). The file's hash still tells a rebuilt wheel of the same version
    wheels = env.lock.parent / "wheels"
    first = make_wheel(wheels, "alpha", "1.0", modules={"alpha/__init__.py": "WHO = 'first'\n"})
    env.write(package_entry("alpha", "1.0", [wheel_entry(first, path=f"wheels/{first.name}")]))
    assert actions(env.sync()) == [("alpha", "install")]
    assert env.source("alpha") is None
    assert not (env.site / "alpha-1.0.dist-info" / "direct_url.json").exists()
    assert env.sync().plan is None
    rebuilt = make_wheel(wheels, "alpha", "1.0", modules={"alpha/__init__.py": "WHO = 'rebuilt'\n"})
    env.write(package_entry("alpha", "1.0", [wheel_entry(rebuilt, path=f"wheels/{rebuilt.name}")]))
    assert actions(env.sync()) == [("alpha", "reinstall")]
    assert env.run("import alpha; print(alpha.WHO)") == "rebuilt"


def test_sdist_is_built_cached_and_installed(env: Env, local_index: LocalIndex) -> None:
    tree = write_project(env.root / "src-tree", "sdpkg", "1.0", {"sdpkg/__init__.py": "WHO = 'from sdist'\n"})
    sdist = make_sdist(local_index.directory, tree, "sdpkg", "1.0")
    entry = {"name": sdist.name, "url": local_index.file_url(sdist.name), "hashes": {"sha256": sha256_file(sdist)}}
    env.write({"name": "sdpkg", "version": "1.0", "sdist": entry})
    assert actions(env.sync()) == [("sdpkg", "install")]
    assert env.run("import sdpkg; print(sdpkg.WHO)") == "from sdist"
    assert env.sync().plan is None
    built = list((env.cache.root / "built").rglob("*.whl"))
    assert [w.name for w in built] == ["sdpkg-1.0-py3-none-any.whl"]
    # a second venv with the same interpreter installs the cached build: the sdist is not downloaded again
    other = Env(env.root / "second", Path(env.target.executable).resolve())
    other.cache, other.lock = env.cache, env.lock
    downloads = local_index.requests.count(f"/files/{sdist.name}")
    assert actions(other.sync()) == [("sdpkg", "install")]
    assert local_index.requests.count(f"/files/{sdist.name}") == downloads


def test_a_vcs_other_than_git_is_bad_input_naming_the_entry(env: Env) -> None:
    env.write({"name": "hgpkg", "vcs": {"type": "hg", "url": "https://hg.example.invalid/r", "commit-id": "ab" * 20}})
    with pytest.raises(BadInputError) as info:
        env.sync()
    assert str(info.value) == (
        "cannot install hgpkg at packages[0]: hg checkouts (https://hg.example.invalid/r) are not supported; only git "
        "is: depend on a wheel, an sdist or a git repository instead"
    )
    assert info.value.exit_code == 2
    assert dist_info_names([env.site]) == []


def _an_sdist(env: Env) -> tuple[Pick, Path, str]:
    """An sdist of ``sdpkg`` 1.0 made here: its pick, its path and its sha256."""
    tree = write_project(env.root / "src-tree", "sdpkg", "1.0", {"sdpkg/__init__.py": ""})
    sdist = make_sdist(env.root, tree, "sdpkg", "1.0")
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="sdist", artifact=None, context="x")
    return pick, sdist, sha256_file(sdist)


def test_an_sdist_another_process_is_building_is_waited_for_and_not_built_again(
    env: Env, mocker: MockerFixture
) -> None:
    # tox p: two envs of one interpreter and one lock build the same sdist at once; the second takes the first's
    pick, sdist, digest = _an_sdist(env)
    builder = Builder(env.cache, env.target)
    key = builder._key(digest)  # the cache's key of the wheel built for this interpreter
    other = FileLock(env.cache.build_lock("sha256", key))  # the other process, building it
    other.acquire()
    builds = mocker.spy(Builder, "_build")
    got: list[Path] = []
    building = threading.Thread(target=lambda: got.append(builder.from_archive(pick, sdist, digest)))
    building.start()
    building.join(1.0)
    out = env.cache.built("sha256", key)
    out.parent.mkdir(parents=True, exist_ok=True)
    theirs = make_wheel(out, "sdpkg", "1.0")  # what the other process stores, before it lets go
    other.release()
    building.join(60)
    assert got == [theirs]
    assert builds.call_count == 0
    assert not env.cache.build_lock("sha256", key).exists()


def test_an_interrupt_of_tox_ends_the_wait_for_another_process_building_the_sdist_and_builds_nothing(
    env: Env, mocker: MockerFixture
) -> None:
    # tox's Ctrl-C reaches the environment's thread as a flag only (see _interrupt): the wait went on until the other
    # process let go, then a build started whose backend never got the Ctrl-C, while tox waited for it
    pick, sdist, digest = _an_sdist(env)
    builder = Builder(env.cache, env.target)
    other = FileLock(env.cache.build_lock("sha256", builder._key(digest)))  # the other process, building it
    other.acquire()
    builds = mocker.spy(Builder, "_build")
    interrupt = Interrupt()
    ended: list[BaseException] = []

    def environment_thread() -> None:
        _interrupt.CURRENT.set(interrupt)  # as the runner publishes it around the environment's setup
        try:
            builder.from_archive(pick, sdist, digest)
        except BaseException as exc:  # noqa: BLE001  # what ended it is the answer
            ended.append(exc)

    building = threading.Thread(target=environment_thread)
    building.start()
    try:
        building.join(0.5)
        assert building.is_alive()  # waiting for the other process
        interrupt.set()
        building.join(10)
        assert not building.is_alive()
    finally:
        other.release()
        building.join(60)
    assert len(ended) == 1  # the runner says "interrupted" for whatever ends an interrupted setup
    assert builds.call_count == 0


@pytest.mark.parametrize("source", ["sdist", "directory"])
def test_no_build_starts_after_an_interrupt_of_tox(env: Env, mocker: MockerFixture, source: str) -> None:
    # the other process's build ended with the Ctrl-C (its backend had it) and let go, or the Ctrl-C came between two
    # builds: no isolated environment, pip or backend is started, none of which would get the Ctrl-C
    tree = write_project(env.root / "src-tree", "sdpkg", "1.0", {"sdpkg/__init__.py": ""})
    sdist = make_sdist(env.root, tree, "sdpkg", "1.0")
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="sdist", artifact=None, context="x")
    started = mocker.spy(_build, "_isolated_env")
    builder = Builder(env.cache, env.target)
    builds: dict[str, Callable[[], Path]] = {
        "sdist": lambda: builder.from_archive(pick, sdist, sha256_file(sdist)),
        "directory": lambda: builder.from_tree(pick, tree, env.root / "out", editable=False),
    }
    build = builds[source]
    interrupt = Interrupt()
    interrupt.set()
    token = _interrupt.CURRENT.set(interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            build()
    finally:
        _interrupt.CURRENT.reset(token)
    assert started.call_count == 0


def test_vcs_installs_the_locked_commit_not_the_branch_head(env: Env) -> None:
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": "REV = 'first'\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "src" / "gitpkg" / "__init__.py").write_text("REV = 'second'\n")
    git(repo, "commit", "-q", "-am", "second")
    second = git(repo, "rev-parse", "HEAD")
    vcs = {"type": "git", "url": repo.as_uri(), "requested-revision": "main", "commit-id": first}
    env.write({"name": "gitpkg", "vcs": vcs})
    outcome = env.sync()
    assert actions(outcome) == [("gitpkg", "install")]
    assert outcome.plan is not None
    assert outcome.plan.lines() == ["install: gitpkg (vcs)", "keep 0 packages"]  # built when installed: no version yet
    assert env.run("import gitpkg; print(gitpkg.REV)") == "first"
    assert env.source("gitpkg") == f"git+{repo.as_uri()}@{first}"
    assert env.sync().plan is None
    env.write({"name": "gitpkg", "vcs": {**vcs, "commit-id": second}})
    outcome = env.sync()
    assert actions(outcome) == [("gitpkg", "reinstall")]
    assert outcome.plan is not None
    # the same version: the line says why it is installed again
    assert outcome.plan.lines() == [
        f"reinstall: gitpkg 1.0 -> (vcs) (installed from a different commit; the lock wants {second})",
        "keep 0 packages",
    ]
    assert env.run("import gitpkg; print(gitpkg.REV)") == "second"


@pytest.mark.parametrize("where", ["file", "http", "commit", "unreachable"])
def test_a_git_repository_or_commit_that_is_not_there_is_bad_input(
    env: Env, local_index: LocalIndex, where: str
) -> None:
    # the lock names a repository or a commit that is not there: the lock is to fix (exit code 2), as a lock URL
    # that answers HTTP 404; it exited 1, as a network's failure (found by an earlier pass). A host that does not
    # answer is still the network's (exit code 1)
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": "REV = 'first'\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    bare = env.root / "served" / "repo.git"
    git(repo, "clone", "-q", "--bare", ".", str(bare))
    git(bare, "update-server-info")  # served as plain files: git's "dumb" HTTP protocol
    local_index.git_root = bare.parent
    url = {
        "file": (env.root / "nowhere").as_uri(),
        "http": f"{local_index.url}/git/nowhere.git",
        "commit": repo.as_uri(),
        "unreachable": "http://127.0.0.1:9/repo.git",
    }[where]
    locked = "0" * 40 if where == "commit" else commit
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": url, "commit-id": locked}})
    with pytest.raises(VenvSyncError) as info:
        env.sync()
    assert info.value.exit_code == (1 if where == "unreachable" else 2), str(info.value)
    if where == "commit":  # the step that failed is named: the clone worked, the commit is not there
        assert str(info.value) == (
            f"cannot check out commit {locked} of gitpkg's repository {url}: fatal: reference is not a tree: {locked}; "
            f"the repository has no commit {locked} (a branch pushed over, a commit removed); lock again"
        )
    elif where != "unreachable":
        assert str(info.value).startswith(f"cannot clone gitpkg's repository {url}: fatal: "), str(info.value)
        assert str(info.value).endswith(
            "; the URL names no git repository (or none this login may read); correct it in the lock, or lock again"
        )
    else:  # found by QA: it read "cannot build gitpkg from <url>: fatal: unable to access ...", with nothing to do
        assert str(info.value).startswith(f"cannot clone gitpkg's repository {url}: fatal: unable to access "), str(
            info.value
        )
        assert str(info.value).endswith(
            "; check that git reaches the URL from here (the network, a proxy, the login for its host), then sync again"
        )
    assert not (env.site / "gitpkg").exists()


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("git_version", ["2.31 or newer", "older"])
def test_a_git_urls_login_goes_to_git_in_its_environment_never_on_its_command_line(
    env: Env, local_index: LocalIndex, mocker: MockerFixture, git_version: str
) -> None:
    # a login in the URL given to git clone was in its argv, which every user reads in ps while the clone runs;
    # a git that reads no configuration from its environment (before 2.31) still gets it in the URL
    mocker.patch.object(_build, "_git_reads_config_from_env", return_value=git_version == "2.31 or newer")
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": "REV = 'private'\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    bare = env.root / "served" / "repo.git"
    git(repo, "clone", "-q", "--bare", ".", str(bare))
    git(bare, "update-server-info")  # served as plain files: git's "dumb" HTTP protocol
    local_index.git_root, local_index.login = bare.parent, ("ci", "s3cret")
    url = f"{local_index.url.replace('://', '://ci:s3cret@')}/git/repo.git"
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": url, "commit-id": commit}})
    run = mocker.spy(subprocess, "run")
    assert actions(env.sync()) == [("gitpkg", "install")]
    assert env.run("import gitpkg; print(gitpkg.REV)") == "private"
    gits = [call.args[0] for call in run.call_args_list if Path(call.args[0][0]).name == "git"]
    assert gits
    shown = [command for command in gits if any("s3cret" in str(arg) for arg in command)]
    assert len(shown) == (0 if git_version == "2.31 or newer" else 1)
    assert local_index.authorizations[-1] == "Basic Y2k6czNjcmV0"  # ci:s3cret, as git sent it from the URL
    assert env.source("gitpkg") == f"git+{local_index.url}/git/repo.git@{commit}"


@pytest.mark.parametrize("submodule", ["served", "missing"])
def test_a_git_checkout_has_its_submodules_at_their_commits_as_pip_and_uv_check_them_out(
    env: Env, local_index: LocalIndex, submodule: str
) -> None:
    # a package whose files come from a submodule (vendored C sources, a shared data set) was built without them
    sub = env.root / "sub"
    (sub / "vendored").mkdir(parents=True)
    (sub / "vendored" / "__init__.py").write_text("DATA = 'first'\n")
    git(sub, "init", "-q", "-b", "main")
    git(sub, "add", ".")
    git(sub, "commit", "-q", "-m", "first")
    (sub / "vendored" / "__init__.py").write_text("DATA = 'newer, not the pinned one'\n")
    git(sub, "commit", "-q", "-am", "second")
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": ""})
    git(repo, "init", "-q", "-b", "main")
    # a submodule URL relative to the repository's, as projects write it: served beside it below
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "src/gitpkg/sub")
    git(repo / "src" / "gitpkg" / "sub", "checkout", "-q", "HEAD~1")  # the superproject pins the first commit
    git(repo, "config", "-f", ".gitmodules", "submodule.src/gitpkg/sub.url", "../sub.git")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    root = env.root / "served"
    for name, tree in (("repo", repo), ("sub", sub))[: 2 if submodule == "served" else 1]:
        git(tree, "clone", "-q", "--bare", ".", str(root / f"{name}.git"))
        git(root / f"{name}.git", "update-server-info")  # served as plain files: git's "dumb" HTTP protocol
    local_index.git_root = root
    url = f"{local_index.url}/git/repo.git"
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": url, "commit-id": commit}})
    if submodule == "missing":
        with pytest.raises(BuildError) as info:
            env.sync()
        assert str(info.value) == (
            f"cannot check out the submodules of commit {commit} of gitpkg's repository {url}: "
            f"fatal: repository '{local_index.url}/git/sub.git/' not found; check that git reaches each submodule's "
            "URL in that commit's .gitmodules from here (the network, a proxy, the login for its host), then sync again"
        )
        assert scan([env.site]) == {}  # nothing installed
        return
    assert actions(env.sync()) == [("gitpkg", "install")]
    assert env.run("import gitpkg.sub.vendored as v; print(v.DATA)") == "first"


@pytest.mark.reliability("hostile")
def test_a_git_urls_login_never_goes_over_plain_http_to_another_host(env: Env, mocker: MockerFixture) -> None:
    # index logins never did; a git URL's went to git clone as it was, in clear text on the way
    url = "http://ci:s3cret@git.example/repo.git"
    vcs = VcsSource(type="git", url=url, commit="0" * 40)
    pick = Pick(name=canonicalize_name("gitpkg"), version=None, kind="vcs", artifact=None, vcs=vcs)
    run = mocker.spy(subprocess, "run")
    with pytest.raises(FetchError) as info:
        Builder(env.cache, env.target).from_vcs(pick)
    assert str(info.value) == (
        "cannot fetch gitpkg from http://****@git.example/repo.git: plain http to git.example is refused, since "
        "anyone on the way can read or change it; use https, or trust the host with "
        "TOX_VENVSYNC_TRUSTED_HOSTS=git.example"
    )
    assert not run.called


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("url", ["--upload-pack=touch pwned", "ext::sh -c touch% pwned"])
def test_a_git_url_that_is_an_option_or_a_command_never_reaches_git(env: Env, mocker: MockerFixture, url: str) -> None:
    # the readers refuse it naming its key; the build checks it again where it becomes git clone's argument (QA)
    vcs = VcsSource(type="git", url=url, commit="0" * 40)
    pick = Pick(name=canonicalize_name("gitpkg"), version=None, kind="vcs", artifact=None, vcs=vcs, context="x[0]")
    run = mocker.spy(subprocess, "run")
    with pytest.raises(BadInputError) as info:
        Builder(env.cache, env.target).from_vcs(pick)
    assert str(info.value) == (
        f"cannot install gitpkg at x[0]: {url!r} is no git URL that pip or uv clones: use https://, ssh://, git://, "
        "http:// or file:// (or user@host:path); correct it in the lock"
    )
    assert info.value.exit_code == 2
    assert not run.called


def test_a_trusted_host_for_a_git_urls_login_comes_from_toxs_own_environment_as_for_downloads(
    env: Env, mocker: MockerFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the environment reference reads TOX_VENVSYNC_* from tox's own environment only; the git check took the
    # variable from the builds' environment (set_env laid over it), so set_env trusted a host for a git login
    # over plain http, and for nothing else (found by QA)
    monkeypatch.delenv("TOX_VENVSYNC_TRUSTED_HOSTS", raising=False)
    vcs = VcsSource(type="git", url="http://ci:s3cret@git.example/repo.git", commit="0" * 40)
    pick = Pick(name=canonicalize_name("gitpkg"), version=None, kind="vcs", artifact=None, vcs=vcs)
    run = mocker.spy(subprocess, "run")
    with pytest.raises(FetchError, match=r"plain http to git\.example is refused"):
        Builder(env.cache, env.target, environ={"TOX_VENVSYNC_TRUSTED_HOSTS": "git.example"}).from_vcs(pick)
    assert not run.called


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        ("https://host/r.git", {}, ("https://host/r.git", {})),
        ("ssh://git@host/r.git", {}, ("ssh://git@host/r.git", {})),  # ssh's user: no secret, ssh's key
        (
            "https://tok%40en@Host:8443/r.git",
            {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"},
            (
                "https://Host:8443/r.git",
                {
                    "GIT_CONFIG_COUNT": "2",
                    "GIT_CONFIG_KEY_0": "a.b",
                    "GIT_CONFIG_VALUE_0": "c",
                    "GIT_CONFIG_KEY_1": "http.https://Host:8443/.extraHeader",
                    "GIT_CONFIG_VALUE_1": "Authorization: Basic dG9rQGVuOg==",  # tok@en and no password
                },
            ),
        ),
        (  # "²" is a digit to str.isdigit and no number to int(): a ValueError traceback (found by QA)
            "https://tok@host/r.git",
            {"GIT_CONFIG_COUNT": "\u00b2"},
            (
                "https://host/r.git",
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.https://host/.extraHeader",
                    "GIT_CONFIG_VALUE_0": "Authorization: Basic dG9rOg==",
                },
            ),
        ),
    ],
    ids=["no login", "ssh user", "token after the user's own config", "a count of other digits"],
)
def test_a_git_urls_login_becomes_git_configuration_in_the_environment(
    url: str, environ: dict[str, str], expected: tuple[str, dict[str, str]]
) -> None:
    assert _git_login(url, environ) == expected


def test_a_commit_the_repository_lacks_is_named_with_the_repository(env: Env) -> None:
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": ""})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    missing = "0" * 40
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": repo.as_uri(), "commit-id": missing}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value).startswith(f"cannot check out commit {missing} of gitpkg's repository {repo.as_uri()}: ")


def test_a_git_source_without_git_names_the_clone_and_what_to_install(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: "cannot build gitpkg from git: git is not installed; install it to use VCS sources" named git as
    # the source, not the repository the lock names
    url = (env.root / "repo").as_uri()
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "git" else which(name, *a, **k))
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": url, "commit-id": "0" * 40}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot clone gitpkg's repository {url}: git is not installed; install git where the sync runs (the lock "
        "names a git source)"
    )


def test_a_repository_that_is_not_there_is_named_with_git_s_reason(env: Env) -> None:
    missing = (env.root / "no-repo").as_uri()
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": missing, "commit-id": "0" * 40}})
    with pytest.raises(BuildError) as info:
        env.sync()
    # git's last line is its advice, "and the repository exists.": the first fatal line says what is wrong
    assert str(info.value) == (
        f"cannot clone gitpkg's repository {missing}: fatal: '{env.root / 'no-repo'}' does not appear to be a git "
        "repository; the URL names no git repository (or none this login may read); correct it in the lock, or lock "
        "again"
    )
    assert info.value.exit_code == 2  # the lock is to fix


def test_directory_is_reinstalled_when_its_tree_changes(env: Env) -> None:
    tree = write_project(env.root / "lock" / "local", "dirpkg", "0.1", {"dirpkg/__init__.py": "V = 1\n"})
    env.write({"name": "dirpkg", "directory": {"path": "local"}})  # no version: the build tells the plan's lines
    outcome = env.sync()
    assert outcome.plan is not None
    assert outcome.plan.lines() == ["install: dirpkg 0.1", "keep 0 packages"]
    assert env.run("import dirpkg; print(dirpkg.V)") == "1"
    # PEP 610: a local directory, not an archive (as pip and uv record it; found by mutation testing)
    direct_url = json.loads((env.site / "dirpkg-0.1.dist-info" / "direct_url.json").read_text())
    assert direct_url == {"url": tree.as_uri(), "dir_info": {"editable": False}}
    assert env.sync().plan is None
    (tree / "src" / "dirpkg" / "__init__.py").write_text("V = 2  # edited\n")
    outcome = env.sync()
    assert outcome.plan is not None
    assert outcome.plan.lines() == ["reinstall: dirpkg 0.1 -> 0.1 (rebuilt with changed contents)", "keep 0 packages"]
    assert env.run("import dirpkg; print(dirpkg.V)") == "2"
    write_project(env.root / "lock" / "local", "dirpkg", "0.2", {"dirpkg/__init__.py": "V = 3\n"})
    outcome = env.sync()
    assert outcome.plan is not None
    assert outcome.plan.lines() == ["upgrade: dirpkg 0.1 -> 0.2", "keep 0 packages"]
    assert env.run("import dirpkg; print(dirpkg.V)") == "3"


def _monorepo(root: Path) -> Path:
    """A source tree that is a project itself and holds two more under ``packages/`` (PEP 751's subdirectory)."""
    write_project(root, "monoroot", "9.0", {"monoroot/__init__.py": ""})
    write_project(root / "packages" / "one", "one", "1.0", {"one/__init__.py": "WHO = 'one'\n"})
    write_project(root / "packages" / "two", "two", "2.0", {"two/__init__.py": "WHO = 'two'\n"})
    return root


def test_a_directory_s_subdirectory_is_the_project_built(env: Env) -> None:
    tree = _monorepo(env.root / "lock" / "mono")
    env.write({"name": "one", "directory": {"path": "mono", "subdirectory": "packages/one"}})
    assert actions(env.sync()) == [("one", "install")]
    assert env.run("import one; print(one.WHO)") == "one"
    assert env.source("one") == (tree / "packages" / "one").as_uri()
    assert env.sync().plan is None


def test_an_archive_s_subdirectory_is_the_project_built_each_its_own_wheel(env: Env) -> None:
    archive = make_sdist(env.root, _monorepo(env.root / "tree"), "repo", "abc")  # one top directory, as GitHub's
    entry = {"url": archive.as_uri(), "hashes": {"sha256": sha256_file(archive)}}
    env.write(
        {"name": "one", "archive": {**entry, "subdirectory": "packages/one"}},
        {"name": "two", "archive": {**entry, "subdirectory": "packages/two"}},
    )
    assert sorted(actions(env.sync())) == [("one", "install"), ("two", "install")]
    assert env.run("import one, two; print(one.WHO, two.WHO)") == "one two"
    direct_url = json.loads((env.site / "two-2.0.dist-info" / "direct_url.json").read_text())
    assert direct_url["subdirectory"] == "packages/two"  # as pip records it
    assert env.sync().plan is None


def test_an_archive_s_other_subdirectory_of_the_same_version_is_reinstalled(env: Env) -> None:
    # a lock edited to build another directory of the same archive (a fork's copy of the project, a moved one)
    tree = env.root / "tree"
    write_project(tree / "old", "same", "1.0", {"same/__init__.py": "WHO = 'old'\n"})
    write_project(tree / "new", "same", "1.0", {"same/__init__.py": "WHO = 'new'\n"})
    archive = make_sdist(env.root, tree, "repo", "abc")
    entry = {"url": archive.as_uri(), "hashes": {"sha256": sha256_file(archive)}}
    env.write({"name": "same", "archive": {**entry, "subdirectory": "old"}})
    assert actions(env.sync()) == [("same", "install")]
    env.write({"name": "same", "archive": {**entry, "subdirectory": "new"}})
    assert actions(env.sync()) == [("same", "reinstall")]
    assert env.run("import same; print(same.WHO)") == "new"
    assert env.sync().plan is None


def test_an_archive_without_the_subdirectory_the_lock_names_is_refused(env: Env) -> None:
    archive = make_sdist(env.root, _monorepo(env.root / "tree"), "repo", "abc")
    entry = {"url": archive.as_uri(), "hashes": {"sha256": sha256_file(archive)}, "subdirectory": "packages/three"}
    env.write({"name": "three", "archive": entry})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == (
        "cannot build three from repo-abc.tar.gz: it has no directory 'packages/three', the subdirectory the lock "
        "names at packages[0].archive"
    )


def _uv_archive(env: Env, archive: Path, subdirectory: str) -> None:
    """A uv.lock whose one package is ``archive`` by URL with ``subdirectory``, as ``uv lock`` writes it."""
    env.lock = env.root / "lock" / "uv.lock"
    env.lock.parent.mkdir(exist_ok=True)
    source = f'{{ url = "{archive.as_uri()}", subdirectory = "{subdirectory}" }}'
    env.lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.8"\n\n'
        '[[package]]\nname = "app"\nversion = "0"\nsource = { virtual = "." }\ndependencies = [{ name = "two" }]\n\n'
        f'[[package]]\nname = "two"\nversion = "2.0"\nsource = {source}\n'
        f'sdist = {{ hash = "sha256:{sha256_file(archive)}" }}\n',
        encoding="utf-8",
    )


def test_a_uv_lock_url_archive_s_subdirectory_is_the_project_built(env: Env) -> None:
    # uv writes ``source = { url = ..., subdirectory = ... }`` for ``two @ https://...tar.gz#subdirectory=...``;
    # building the archive's root built another project (or failed) and named it wrongly
    archive = make_sdist(env.root, _monorepo(env.root / "tree"), "repo", "abc")
    _uv_archive(env, archive, "packages/two")
    spec = SyncSpec(venv=env.venv, lock_path=env.lock, request=Request(frozen=True))
    assert actions(sync(spec, env.target, cache=env.cache)) == [("two", "install")]
    assert env.run("import two; print(two.WHO)") == "two"


def test_an_archive_s_subdirectory_leading_out_of_it_is_refused_before_the_build(env: Env) -> None:
    archive = make_sdist(env.root, _monorepo(env.root / "tree"), "repo", "abc")
    _uv_archive(env, archive, "../../outside")
    (env.root / "outside").mkdir()
    with pytest.raises(OutOfTreeError) as info:
        sync(SyncSpec(venv=env.venv, lock_path=env.lock, request=Request(frozen=True)), env.target, cache=env.cache)
    assert str(info.value) == (
        "cannot build two from repo-abc.tar.gz: the subdirectory '../../outside' the lock names at package[1].sdist "
        "leads out of the source tree, and a subdirectory must be a path inside it; correct that value, or lock again "
        "with the tool that wrote the file"
    )
    assert info.value.exit_code == 2
    assert not any(env.site.glob("two*"))


@pytest.mark.reliability("hostile")
def test_an_archive_s_subdirectory_with_a_nul_character_is_refused_not_a_traceback(env: Env) -> None:
    # Path.resolve raised ValueError in the check that it stays inside: a traceback (found by QA)
    archive = make_sdist(env.root, _monorepo(env.root / "tree"), "repo", "abc")
    _uv_archive(env, archive, "packages\\u0000two")
    with pytest.raises(OutOfTreeError) as info:
        sync(SyncSpec(venv=env.venv, lock_path=env.lock, request=Request(frozen=True)), env.target, cache=env.cache)
    assert str(info.value) == (
        "cannot build two from repo-abc.tar.gz: the subdirectory 'packages\\x00two' the lock names at "
        "package[1].sdist is not a usable path (embedded null byte); correct that value, or lock again with the tool "
        "that wrote the file"
    )
    assert info.value.exit_code == 2


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("where", ["absolute", "parent"])
def test_a_subdirectory_leading_out_of_the_checkout_or_archive_is_refused(env: Env, where: str) -> None:
    # only the pylock.toml reader checked it: a uv.lock, poetry.lock, pdm.lock or requirements line naming the
    # commit's subdirectory as /elsewhere built the project there and cached it as the commit's
    outside = write_project(env.root / "elsewhere", "gitpkg", "6.6.6", {"gitpkg/__init__.py": "WHO = 'outside'\n"})
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": "WHO = 'repo'\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    subdirectory = str(outside) if where == "absolute" else "../../../.."
    vcs = VcsSource(type="git", url=repo.as_uri(), commit=commit, subdirectory=subdirectory)
    pick = Pick(
        name=canonicalize_name("gitpkg"), version=None, kind="vcs", artifact=None, vcs=vcs, context="package[0]"
    )
    builder = Builder(env.cache, env.target)
    with pytest.raises(OutOfTreeError) as info:
        builder.from_vcs(pick)
    assert str(info.value) == (
        f"cannot build gitpkg from {repo.as_uri()}@{commit}: the subdirectory {subdirectory!r} the lock names at "
        "package[0] leads out of the source tree, and a subdirectory must be a path inside it; correct that value, "
        "or lock again with the tool that wrote the file"
    )
    assert info.value.exit_code == 2
    assert list((env.cache.root / "built").rglob("*.whl")) == []
    archive = make_sdist(env.root, repo, "repo", "abc")
    pick = replace(pick, kind="archive", vcs=None, subdirectory=subdirectory)
    with pytest.raises(OutOfTreeError, match="leads out of the source tree"):  # an archive's as well
        builder.from_archive(pick, archive, sha256_file(archive))
    assert list((env.cache.root / "built").rglob("*.whl")) == []


@pytest.fixture
def tarfile_without_data_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """tarfile as Python 3.11.2 (Debian 12's python3) has it: no data filter, no ``filter`` argument, trusting."""
    extractall, trusting = tarfile.TarFile.extractall, tarfile.fully_trusted_filter

    def old_extractall(self: tarfile.TarFile, path: str | os.PathLike[str] = ".", members: object = None) -> None:
        extractall(self, path, members)  # type: ignore[arg-type]  # whatever the caller gave

    monkeypatch.delattr(tarfile, "data_filter")
    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    monkeypatch.setattr(tarfile.TarFile, "extraction_filter", staticmethod(trusting))


@pytest.mark.usefixtures("tarfile_without_data_filter")
def test_an_sdist_is_built_on_a_python_whose_tarfile_has_no_data_filter(env: Env) -> None:
    # tarfile's filter argument came with 3.10.12, 3.11.4 and 3.12: every sdist ended in a TypeError traceback
    tree = write_project(env.root / "src-tree", "sdpkg", "1.0", {"sdpkg/__init__.py": "WHO = 'from sdist'\n"})
    sdist = make_sdist(env.root, tree, "sdpkg", "1.0")
    env.write(
        {"name": "sdpkg", "version": "1.0", "sdist": {"url": sdist.as_uri(), "hashes": {"sha256": sha256_file(sdist)}}}
    )
    assert actions(env.sync()) == [("sdpkg", "install")]
    assert env.run("import sdpkg; print(sdpkg.WHO)") == "from sdist"


def _hostile_tar(directory: Path, member: tarfile.TarInfo) -> Path:
    archive = directory / "sdpkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.addfile(tarfile.TarInfo("sdpkg-1.0/PKG-INFO"), io.BytesIO(b""))
        handle.addfile(member, io.BytesIO(b"x" * member.size))
    return archive


def _tar_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname, member.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return member


@pytest.mark.reliability("hostile")
def test_a_zip_archive_zipfile_cannot_read_is_one_sentence(env: Env) -> None:
    # zipfile raises RuntimeError for an encrypted member, which ended the sync in a traceback
    archive = env.root / "sdpkg-1.0.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("sdpkg-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: sdpkg\nVersion: 1.0\n")
    data = bytearray(archive.read_bytes())
    for at in (6, data.find(b"PK\x01\x02") + 8):  # the encrypted bit, in the local header and the directory
        data[at] |= 1
    archive.write_bytes(data)
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="archive", artifact=None)
    with pytest.raises(BuildError) as info:
        Builder(env.cache, env.target).from_archive(pick, archive, sha256_file(archive))
    assert str(info.value) == (
        "cannot build sdpkg from sdpkg-1.0.zip: the archive cannot be unpacked: a member is encrypted, or compressed "
        "in a way zipfile cannot read"
    )


@pytest.mark.usefixtures("tarfile_without_data_filter")
def test_without_a_data_filter_files_lose_set_id_bits_and_others_write_as_the_filter_takes_them(env: Env) -> None:
    member = _tar_member("sdpkg-1.0/run.sh")
    member.mode = 0o6777
    archive = _hostile_tar(env.root, member)
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="sdist", artifact=None)
    with tarfile.open(archive) as handle:
        _extract_tar(pick, archive, handle, env.root / "out")
    assert stat.S_IMODE((env.root / "out" / "sdpkg-1.0" / "run.sh").stat().st_mode) == 0o755


_NO_FILTER = (
    "which this Python cannot unpack safely (its tarfile has no data filter: 3.10.12, 3.11.4 and later have one); "
    "run with a newer Python"
)
HOSTILE_TARS = {
    "parent": (_tar_member("sdpkg-1.0/../../evil.py"), "the entry 'sdpkg-1.0/../../evil.py' would escape the build"),
    "absolute": (_tar_member("/evil.py"), "the entry '/evil.py' would escape the build"),
    "symlink": (
        _tar_member("sdpkg-1.0/etc", tarfile.SYMTYPE, "/etc"),
        f"the entry 'sdpkg-1.0/etc' is a link or a special file, {_NO_FILTER}",
    ),
    "hard link": (
        _tar_member("sdpkg-1.0/pw", tarfile.LNKTYPE, "/etc/passwd"),
        f"the entry 'sdpkg-1.0/pw' is a link or a special file, {_NO_FILTER}",
    ),
    "fifo": (
        _tar_member("sdpkg-1.0/fifo", tarfile.FIFOTYPE),
        f"the entry 'sdpkg-1.0/fifo' is a link or a special file, {_NO_FILTER}",
    ),
}


@pytest.mark.reliability("hostile")
@pytest.mark.usefixtures("tarfile_without_data_filter")
@pytest.mark.parametrize("case", sorted(HOSTILE_TARS))
def test_a_hostile_sdist_is_refused_on_a_python_whose_tarfile_has_no_data_filter(env: Env, case: str) -> None:
    member, message = HOSTILE_TARS[case]
    archive = _hostile_tar(env.root, member)
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="sdist", artifact=None)
    with pytest.raises(BuildError) as info:
        Builder(env.cache, env.target).from_archive(pick, archive, sha256_file(archive))
    assert str(info.value) == f"cannot build sdpkg from sdpkg-1.0.tar.gz: {message}"
    assert not (env.root.parent / "evil.py").exists()


@pytest.mark.parametrize("editable", [False, True], ids=["directory", "editable"])
def test_an_unchanged_source_tree_is_not_built_again_when_other_packages_change(
    env: Env, local_index: LocalIndex, mocker: MockerFixture, *, editable: bool
) -> None:
    # a build takes seconds (an isolated environment, its backend from pip): uv keeps an unchanged tree's too
    tree = write_project(env.root / "lock" / "local", "dirpkg", "0.1", {"dirpkg/__init__.py": "V = 1\n"})
    directory = {"name": "dirpkg", "directory": {"path": "local", "editable": editable}}
    wheels = {v: make_wheel(local_index.directory, "other", v) for v in ("1.0", "2.0")}

    def lock(version: str) -> None:
        wheel = wheels[version]
        env.write(
            directory, package_entry("other", version, [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
        )

    lock("1.0")
    builds = mocker.spy(Builder, "from_tree")
    assert sorted(actions(env.sync())) == [("dirpkg", "install"), ("other", "install")]
    assert builds.call_count == 1
    lock("2.0")
    outcome = env.sync()
    assert outcome.plan is not None
    assert outcome.plan.lines() == ["upgrade: other 1.0 -> 2.0", "keep 1 package"]
    assert builds.call_count == 1  # not built again: the tree is as it was built
    assert env.run("import dirpkg; print(dirpkg.V)") == "1"

    (tree / "src" / "dirpkg" / "__init__.py").write_text("V = 2  # edited\n")
    (tree / "pyproject.toml").write_text((tree / "pyproject.toml").read_text() + "\n")  # metadata may change
    lock("1.0")
    outcome = env.sync()
    assert outcome.plan is not None
    assert builds.call_count == 2  # edited: built again
    assert env.run("import dirpkg; print(dirpkg.V)") == "2"
    assert [line for line in outcome.plan.lines() if "other" in line] == ["downgrade: other 2.0 -> 1.0"]


def _local_dirpkg(env: Env) -> Path:
    """A lock of one local directory, dirpkg 0.1 (``V = 1``); its tree."""
    tree = write_project(env.root / "lock" / "local", "dirpkg", "0.1", {"dirpkg/__init__.py": "V = 1\n"})
    env.write({"name": "dirpkg", "directory": {"path": "local"}})
    return tree


def _around_builds(
    mocker: MockerFixture, *, before: Callable[[], object] = lambda: None, after: Callable[[int], object]
) -> list[Path]:
    """Tree builds run with ``before()`` ahead of each and ``after(n)`` once the nth (from 0) is made; the builds."""
    real, builds = Builder.from_tree, list[Path]()

    def around(self: Builder, *args: Any, **kwargs: Any) -> Path:  # noqa: ANN401  # from_tree's own
        before()
        built = real(self, *args, **kwargs)
        after(len(builds))
        builds.append(built)
        return built

    mocker.patch.object(Builder, "from_tree", around)
    return builds


@pytest.mark.parametrize(
    ("path", "text", "leaf"),
    [
        ("dirpkg-0.1.data/scripts/python3", "#!/bin/sh\necho replaced\n", "python3"),
        ("dirpkg-0.1.data/data/pyvenv.cfg", "home = /elsewhere\n", "pyvenv.cfg"),
        ("dirpkg-0.1.data/data/.venvsync/state.json", "{}\n", ".venvsync/state.json"),
        ("dirpkg-0.1.dist-info/entry_points.txt", "[console_scripts]\nactivate = dirpkg:main\n", "activate"),
    ],
)
def test_a_built_wheel_cannot_replace_the_venvs_own_files(env: Env, path: str, text: str, leaf: str) -> None:
    # a wheel built here goes through pypa/installer, which would write over the interpreter's link or pyvenv.cfg
    tree = _local_dirpkg(env)
    (tree / "src" / path).parent.mkdir(parents=True, exist_ok=True)
    (tree / "src" / path).write_text(text)
    paths = [env.venv / "pyvenv.cfg", *(env.venv / "bin").iterdir()]
    own = {p: (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in paths}
    with pytest.raises(InstallError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot install dirpkg from dirpkg-0.1-py3-none-any.whl: it ships {leaf!r}, which would replace the "
        f"virtual environment's own file of that name; it was built here from the directory that {env.lock} names: "
        "check that package's build, or lock another release of it"
    )
    assert {p: (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in own} == own
    assert dist_info_names([env.site]) == []
    assert not (env.venv / ".venvsync" / "state.json").exists()


def test_a_file_saved_while_its_tree_builds_is_built_again(env: Env, mocker: MockerFixture) -> None:
    # the build read V = 1; the tree says V = 2 by the time it ends: noting that tree would keep V = 1 for good
    source = _local_dirpkg(env) / "src" / "dirpkg" / "__init__.py"
    builds = _around_builds(mocker, after=lambda n: n or source.write_text("V = 2  # saved while it built\n"))
    assert actions(env.sync()) == [("dirpkg", "install")]
    assert len(builds) == 2
    assert env.run("import dirpkg; print(dirpkg.V)") == "2"
    assert env.sync().plan is None


def test_a_file_saved_during_the_second_build_too_is_built_by_the_next_sync(env: Env, mocker: MockerFixture) -> None:
    source = _local_dirpkg(env) / "src" / "dirpkg" / "__init__.py"
    # a save during the first build and during the one after it
    builds = _around_builds(mocker, after=lambda n: n < 2 and source.write_text(f"V = {n + 2}  # saved meanwhile\n"))
    env.sync()
    assert (len(builds), env.run("import dirpkg; print(dirpkg.V)")) == (2, "2")
    # the tree says V = 3 and was noted as it was before the second build: the next sync builds it
    assert actions(env.sync()) == [("dirpkg", "reinstall")]
    assert (len(builds), env.run("import dirpkg; print(dirpkg.V)")) == (3, "3")
    assert env.sync().plan is None


def test_a_build_writing_files_it_does_not_ship_into_its_tree_is_built_once(env: Env, mocker: MockerFixture) -> None:
    # cargo's target/, scikit-build's _skbuild/: the build's own output, in a directory it ships nothing from
    output = _local_dirpkg(env) / "target" / "release" / "lib.o"

    def writes_output(n: int) -> None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(f"object {n}\n")

    builds = _around_builds(mocker, after=writes_output)
    assert actions(env.sync()) == [("dirpkg", "install")]
    assert len(builds) == 1
    assert env.sync().plan is None


def test_a_build_that_rewrites_an_unshipped_file_beside_its_sources_settles(env: Env, mocker: MockerFixture) -> None:
    # a generated .c beside the .pyx, rewritten by every build and not shipped: the build's habit, not an edit
    generated = _local_dirpkg(env) / "src" / "dirpkg" / "_speedups.c"
    builds = _around_builds(
        mocker,
        before=lambda: generated.unlink(missing_ok=True),  # the test backend ships all of src/: not this file
        after=lambda n: generated.write_text(f"/* generated by build {n} */\n"),
    )
    assert actions(env.sync()) == [("dirpkg", "install")]
    assert len(builds) == 2  # once more, to tell the habit from a save
    assert env.sync().plan is None
    assert env.sync().plan is None
    assert len(builds) == 2


def test_a_file_a_build_writes_into_its_tree_as_the_wheel_holds_it_is_built_once(
    env: Env, mocker: MockerFixture
) -> None:
    # setuptools-scm writes _version.py on every build: the wheel holds it as the tree does, nothing was missed
    written = _local_dirpkg(env) / "src" / "dirpkg" / "__init__.py"

    def writes_a_version_file(_: int) -> None:
        written.write_text(written.read_text())
        os.utime(written, ns=(1, written.stat().st_mtime_ns + 1_000_000))

    builds = _around_builds(mocker, after=writes_a_version_file)
    assert actions(env.sync()) == [("dirpkg", "install")]
    assert len(builds) == 1
    assert env.sync().plan is None


#: a source tree whose wheel has a console script (the test backend ships every file under src/)
SCRIPTED = {
    "dirpkg/__init__.py": "V = 1\ndef main():\n    print('dirpkg', V)\n",
    "dirpkg/extra.py": "X = 1\n",
    "dirpkg-0.1.dist-info/entry_points.txt": "[console_scripts]\ndirpkg-cli = dirpkg:main\n",
}


def test_a_built_wheel_s_console_script_is_installed(env: Env) -> None:
    write_project(env.root / "lock" / "local", "dirpkg", "0.1", SCRIPTED)
    env.write({"name": "dirpkg", "directory": {"path": "local"}})
    assert actions(env.sync()) == [("dirpkg", "install")]
    script = env.venv / "bin" / "dirpkg-cli"
    assert subprocess.run([script], capture_output=True, text=True, check=True).stdout == "dirpkg 1\n"
    assert env.sync().plan is None


def test_a_build_cut_off_while_it_was_placed_leaves_no_file_behind(env: Env, mocker: MockerFixture) -> None:
    # pypa/installer writes a built wheel's RECORD last: a sync killed before it leaves files no RECORD owns
    write_project(env.root / "lock" / "local", "dirpkg", "0.1", SCRIPTED)
    env.write({"name": "dirpkg", "directory": {"path": "local"}})
    real = WheelInstaller.install

    def cut_off(self: WheelInstaller, wheel: Path, wanted: Any) -> None:  # noqa: ANN401  # install's own
        real(self, wheel, wanted)
        next(env.site.glob("dirpkg-*.dist-info")).joinpath("RECORD").unlink()  # killed before it was written
        raise KeyboardInterrupt

    mocker.patch.object(WheelInstaller, "install", cut_off)
    with pytest.raises(KeyboardInterrupt):
        env.sync()
    mocker.stopall()
    assert (env.site / "dirpkg" / "extra.py").is_file()
    assert (env.venv / "bin" / "dirpkg-cli").is_file()
    env.write()  # the next lock does not name it: its files go all the same
    env.sync()
    assert not (env.site / "dirpkg").exists()
    assert not (env.venv / "bin" / "dirpkg-cli").exists()
    assert list(env.site.glob("dirpkg-*")) == []
    assert unowned_files(scan([env.site]), [env.site], env.venv) == []


def test_an_edited_journal_removes_no_file_but_the_cut_off_install_s_own(env: Env) -> None:
    # the journal is a file in the venv: what it lists goes only if it is the cut-off install's to remove
    write_project(env.root / "lock" / "local", "keep", "0.1", {"keep/__init__.py": "K = 1\n"})
    env.write({"name": "keep", "directory": {"path": "local"}})
    env.sync()
    site, bin_dir = env.site, env.venv / "bin"
    (site / "dirpkg").mkdir()
    (site / "dirpkg" / "half.py").write_text("placed before the cut\n")
    (site / "mine.py").write_text("a file of the user's\n")
    (site / "usercustomize.py").write_text("the user's, from long before\n")
    os.utime(site / "usercustomize.py", (1_000_000_000, 1_000_000_000))
    keep_info = next(site.glob("keep-*.dist-info"))
    lib64 = env.venv / "lib64"  # venv makes lib64 a link to lib: another package's file by another spelling
    aliased = lib64 / site.relative_to(env.venv / "lib") / "keep" / "__init__.py" if lib64.is_symlink() else None
    listed = [
        str(site / "dirpkg" / "half.py"),
        str(site / "usercustomize.py"),  # listed, but older than the journal: not the install's
        str(bin_dir / "python"),
        str(bin_dir / ".." / "pyvenv.cfg"),
        str(site / "keep" / "__init__.py"),
        *([str(aliased)] if aliased else []),
        str(keep_info / "METADATA"),
        str(env.venv / ".venvsync" / "state.json"),
        str(site / "dirpkg-0.1.dist-info" / "RECORD"),
    ]
    outside = env.root / "outside.txt"
    outside.write_text("not the venv's\n")
    elsewhere = [str(site / "mine.py"), str(outside), str(bin_dir / "RECORD")]  # a RECORD outside site-packages
    State(env.venv).clear()  # as a sync does before its first change
    Journal(env.venv).start(["dirpkg", "other"], files={"dirpkg": listed, "other": elsewhere})
    env.sync()
    assert not (site / "dirpkg").exists()  # the cut-off install's own file went
    assert (bin_dir / "python").exists()
    assert (env.venv / "pyvenv.cfg").is_file()
    assert (site / "keep" / "__init__.py").is_file()
    assert (keep_info / "METADATA").is_file()
    assert (site / "mine.py").is_file()  # another entry's list, not one of a RECORD in site-packages
    assert (site / "usercustomize.py").is_file()
    assert outside.is_file()
    assert env.run("import keep; print(keep.K)") == "1"


def test_a_cut_off_build_install_that_replaced_another_s_file_has_that_one_reinstalled(
    env: Env, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    # ns-a (from the cache) and nsb (built here) ship one file: nsb's install replaced it and was cut off
    shared = make_wheel(local_index.directory, "ns-a", "1.0", modules={"ns/__init__.py": "SHARED = 'a'\n"})
    entry = package_entry("ns-a", "1.0", [wheel_entry(shared, url=local_index.file_url(shared.name))])
    env.write(entry)
    env.sync()
    write_project(env.root / "lock" / "local", "nsb", "0.1", {"ns/__init__.py": "SHARED = 'b'\n", "ns/b.py": ""})
    env.write(entry, {"name": "nsb", "directory": {"path": "local"}})
    real = WheelInstaller.install

    def cut_off(self: WheelInstaller, wheel: Path, wanted: Any) -> None:  # noqa: ANN401  # install's own
        real(self, wheel, wanted)
        next(env.site.glob("nsb-*.dist-info")).joinpath("RECORD").unlink()
        raise KeyboardInterrupt

    mocker.patch.object(WheelInstaller, "install", cut_off)
    with pytest.raises(KeyboardInterrupt):
        env.sync()
    mocker.stopall()
    assert env.run("import ns; print(ns.SHARED)") == "b"
    env.write(entry)
    assert actions(env.sync()) == [("ns-a", "reinstall")]
    assert env.run("import ns; print(ns.SHARED)") == "a"
    assert not (env.site / "ns" / "b.py").exists()
    assert check_records(scan([env.site]), env.venv).modified == []


def test_an_unchanged_source_tree_an_interrupted_sync_was_installing_is_built_and_reinstalled(
    env: Env, mocker: MockerFixture
) -> None:
    write_project(env.root / "lock" / "local", "dirpkg", "0.1", {"dirpkg/__init__.py": "V = 1\n"})
    env.write({"name": "dirpkg", "directory": {"path": "local"}})
    assert actions(env.sync()) == [("dirpkg", "install")]
    State(env.venv).clear()  # a sync cut off while it was (re)installing it: the state goes first, as in sync
    Journal(env.venv).start(["dirpkg"])
    builds = mocker.spy(Builder, "from_tree")
    assert actions(env.sync()) == [("dirpkg", "reinstall")]
    assert builds.call_count == 1
    assert env.run("import dirpkg; print(dirpkg.V)") == "1"


def _build_wheel_starts_with(tree: Path, line: str) -> None:
    """Make the in-tree backend of ``write_project``'s ``tree`` run ``line`` first when it builds a wheel."""
    backend = tree / "_build" / "backend.py"
    start = "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
    backend.write_text(backend.read_text().replace(start, f"{start}    {line}\n"))


def test_a_backends_warnings_are_not_printed(env: Env, recwarn: pytest.WarningsRecorder) -> None:
    # a backend's deprecation notices (setuptools has dozens of lines of them) are the build's output, which is
    # kept quiet: pyproject_hooks would raise each again in this process, onto the one-line output's stderr
    tree = write_project(env.root / "lock" / "local", "noisy", "0.1", {"noisy/__init__.py": "V = 1\n"})
    _build_wheel_starts_with(tree, "import warnings; warnings.warn('tests_require is deprecated')")
    env.write({"name": "noisy", "directory": {"path": "local"}})
    assert actions(env.sync()) == [("noisy", "install")]
    assert [str(w.message) for w in recwarn] == []


def test_a_failed_build_of_a_tree_it_may_not_write_says_so(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # a read-only project (a bind mount, another user's checkout) whose backend writes into it: "cannot build stdemo
    # from /src: error: could not create 'src/stdemo.egg-info': Permission denied" said nothing of what to do; found
    # by QA as a user other than root. The suite runs as root: the backend's refusal and access(2)'s are simulated
    tree = write_project(env.root / "lock" / "local", "rotree", "0.1", {"rotree/__init__.py": "V = 1\n"})
    refused = "error: could not create 'src/rotree.egg-info': Permission denied"
    _build_wheel_starts_with(tree, f"raise SystemExit({refused!r})")
    env.write({"name": "rotree", "directory": {"path": "local"}})
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tree and access(path, mode))
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot build rotree from {tree}: error: could not create 'src/rotree.egg-info': Permission denied; {tree} "
        "is read-only to this user, and a build backend may write into its source tree (setuptools does): make it "
        "writable, or build from a writable copy"
    )


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        pytest.param(
            "ValueError('Unable to determine which files to ship inside the wheel.\\n\\nAs an example:\\n\\n"
            "[tool.hatch.build.targets.wheel]\\npackages = [\\'src/foo\\']')",
            "ValueError: Unable to determine which files to ship inside the wheel.",
            id="hatchling",
        ),
        pytest.param(
            "LookupError('setuptools-scm was unable to detect version for /src.\\n\\nAlternatively, set the "
            "version in the environment with SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MSG')",
            "LookupError: setuptools-scm was unable to detect version for /src.",
            id="setuptools-scm",
        ),
        pytest.param("RuntimeError('the first') from KeyError('the cause')", "RuntimeError: the first", id="chained"),
    ],
)
def test_a_failed_build_names_the_backends_exception_not_its_last_line_of_advice(
    env: Env, raised: str, error: str
) -> None:
    # hatchling's and setuptools-scm's errors go on for paragraphs of advice after the exception's first line: the
    # sentence named the last of them (packages = ["src/foo"]), no error; found by QA building such projects
    tree = write_project(env.root / "lock" / "local", "msg", "0.1", {"msg/__init__.py": "V = 1\n"})
    _build_wheel_starts_with(tree, f"raise {raised}")
    env.write({"name": "msg", "directory": {"path": "local"}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == f"cannot build msg from {tree}: {error}"
    assert dist_info_names([env.site]) == []


def test_a_build_that_meets_a_full_disk_says_where_it_writes(env: Env) -> None:
    # found by QA with the cache on a full tmpfs: "cannot build sdpkg from sdpkg-1.0.tar.gz: OSError: [Errno 28] No
    # space left on device" said neither which disk nor what to do
    tree = write_project(env.root / "lock" / "local", "fullpkg", "0.1", {"fullpkg/__init__.py": "V = 1\n"})
    _build_wheel_starts_with(tree, "raise OSError(28, 'No space left on device')")
    env.write({"name": "fullpkg", "directory": {"path": "local"}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value).startswith(
        f"cannot build fullpkg from {tree}: OSError: [Errno 28] No space left on device; the build writes into {tree}, "
    )
    assert str(info.value).endswith(": free some space on their disks and run again")


def test_an_sdist_unpacked_onto_a_full_disk_is_the_disk_not_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a full TMPDIR read "cannot build sdpkg from sdpkg-1.0.tar.gz: the archive cannot be unpacked ([Errno 28] No
    # space left on device)", blaming the archive (found by QA with TMPDIR on a small tmpfs)
    sdist = make_sdist(
        tmp_path, write_project(tmp_path / "tree", "sdpkg", "1.0", {"sdpkg/__init__.py": ""}), "sdpkg", "1.0"
    )
    pick = Pick(name=canonicalize_name("sdpkg"), version=Version("1.0"), kind="sdist", artifact=None)

    monkeypatch.setattr(tarfile.TarFile, "extractall", mock.Mock(side_effect=OSError(errno.ENOSPC, "No space")))
    with pytest.raises(OSError, match="No space") as info:
        _unpack_archive(pick, sdist, tmp_path / "into")
    assert not isinstance(info.value, BuildError)
    assert info.value.filename == str(tmp_path / "into")


def test_a_pyproject_hooks_without_backend_warnings_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # build allows pyproject_hooks before 1.3, which has no BuildBackendWarning (its backends' warnings stay there)
    monkeypatch.setitem(sys.modules, "pyproject_hooks", types.ModuleType("pyproject_hooks"))
    before = list(warnings.filters)
    _quiet_backend_warnings()
    assert warnings.filters == before


@pytest.mark.parametrize("what", ["missing", "a file", "no project"])
def test_a_lock_directory_that_is_not_one_says_what_is_there(env: Env, what: str) -> None:
    # a directory without a project's files: a Docker layer of the dependencies made before the sources came in
    # (build's own words, "does not appear to be a Python project", said nothing of what to do)
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    if what == "a file":
        (env.lock.parent / "local").write_text("not a tree\n")
    elif what == "no project":
        (env.lock.parent / "local").mkdir()
        (env.lock.parent / "local" / "README.md").write_text("# dirpkg\n")
    env.write({"name": "dirpkg", "directory": {"path": "local"}})
    with pytest.raises(BuildError) as info:
        env.sync()
    reason = {
        "missing": "the directory does not exist; check the path in the lock",
        "a file": "it is a file, not a directory; check the path in the lock",
        "no project": "it has no pyproject.toml or setup.py; copy the sources there before the sync (for a layer "
        "of the dependencies alone, venvsync sync --no-install-project leaves the project's own entry out)",
    }[what]
    assert str(info.value) == f"cannot build dirpkg from {env.lock.parent / 'local'}: {reason}"
    assert dist_info_names([env.site]) == []


@pytest.mark.reliability("hostile")
def test_a_lock_directory_without_a_project_is_refused_before_its_files_are_listed(
    env: Env, mocker: MockerFixture
) -> None:
    # a lock's path = "/usr" had every file below it walked and stat'ed (20 s; "/" for minutes) before the build
    # said it holds no project (found by QA of hostile lockfiles)
    listing = mocker.patch("tox_venvsync._sources.tree_listing", side_effect=AssertionError("listed"))
    tree = env.root / "big"
    (tree / "deep").mkdir(parents=True)
    env.write({"name": "dirpkg", "directory": {"path": str(tree)}})
    with pytest.raises(BuildError, match=r"it has no pyproject\.toml or setup\.py"):
        env.sync()
    assert not listing.called


def test_a_directory_that_builds_another_name_is_refused(env: Env) -> None:
    # the lock says proj; the tree's build says projz: installing it would put a package the lock does not name
    write_project(env.root / "lock" / "local", "projz", "0.1", {"projz/__init__.py": "V = 1\n"})
    env.write({"name": "proj", "directory": {"path": "local"}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot build proj from {env.root / 'lock' / 'local'}: the build made projz-0.1-py3-none-any.whl, "
        "a wheel of projz; correct the name in the lock, or lock again"
    )
    assert dist_info_names([env.site]) == []


def test_an_archive_that_builds_another_version_than_the_lock_says_is_refused(
    env: Env, local_index: LocalIndex
) -> None:
    # installed, it would be taken for in sync by the next sync (its .dist-info name) and for a downgrade by verify
    tree = write_project(env.root / "eps-tree", "eps", "2.0", {"eps/__init__.py": "V = 2\n"})
    archive = make_sdist(local_index.directory, tree, "eps", "2.0").rename(local_index.directory / "eps-1.0.tar.gz")
    url = local_index.file_url(archive.name)
    env.write({"name": "eps", "version": "1.0", "archive": {"url": url, "hashes": {"sha256": sha256_file(archive)}}})
    with pytest.raises(BuildError) as info:
        env.sync()
    assert str(info.value) == (
        "cannot build eps from eps-1.0.tar.gz: the build made version 2.0 where the lock says 1.0; lock again"
    )
    assert dist_info_names([env.site]) == []


@pytest.mark.parametrize(
    ("kind", "refused"), [("sdist", True), ("archive", True), ("vcs", False), ("directory", False)]
)
def test_a_builds_version_is_held_to_the_lock_for_fixed_bytes_only(tmp_path: Path, kind: str, *, refused: bool) -> None:
    # a commit's version may move with a tag added later (setuptools-scm), a directory's with its tree
    wheel = tmp_path / "scmpkg-1.1.0-py3-none-any.whl"
    pick = Pick(name=canonicalize_name("scmpkg"), version=Version("1.0.1.dev1+g3fb5b14"), kind=kind, artifact=None)  # type: ignore[arg-type]
    if refused:
        with pytest.raises(BuildError, match=re.escape("the build made version 1.1.0 where the lock says 1.0.1.dev1")):
            _as_locked(pick, wheel, "the source")
    else:
        assert _as_locked(pick, wheel, "the source") == wheel


def test_a_built_wheel_never_writes_through_a_link_where_its_file_goes(env: Env) -> None:
    # builds go through pypa/installer, which opens each destination for writing: through a link, it wrote the
    # file the link points at, outside the venv
    outside = env.root / "outside.txt"
    outside.write_text("the user's\n")
    write_project(env.root / "lock" / "local", "linkpkg", "0.1", {"linkpkg/__init__.py": "V = 1\n"})
    (env.site / "linkpkg").mkdir()
    (env.site / "linkpkg" / "__init__.py").symlink_to(outside)
    env.write({"name": "linkpkg", "directory": {"path": "local"}})
    assert actions(env.sync()) == [("linkpkg", "install")]
    assert outside.read_text() == "the user's\n"
    assert not (env.site / "linkpkg" / "__init__.py").is_symlink()
    assert env.run("import linkpkg; print(linkpkg.V)") == "1"


@pytest.mark.parametrize("source", ["cache", "build"])
def test_nothing_is_written_through_a_linked_directory_out_of_the_venv(
    env: Env, local_index: LocalIndex, source: str
) -> None:
    # the user replaced the package's directory by a link to a checkout of theirs: installing the package (a new
    # version, a lost .dist-info) would overwrite their files with the wheel's
    theirs = env.root / "checkout"
    theirs.mkdir()
    (theirs / "__init__.py").write_text("MY WORK = 'unsaved'\n")
    (env.site / "linkpkg").symlink_to(theirs)
    if source == "cache":
        wheel = make_wheel(local_index.directory, "linkpkg", "1.0", modules={"linkpkg/__init__.py": "V = 1\n"})
        env.write(package_entry("linkpkg", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))]))
    else:
        write_project(env.root / "lock" / "local", "linkpkg", "0.1", {"linkpkg/__init__.py": "V = 1\n"})
        env.write({"name": "linkpkg", "directory": {"path": "local"}})
    with pytest.raises(InstallError) as info:
        env.sync()
    assert f"{env.site / 'linkpkg'} is a link to {theirs}, outside the virtual environment; remove " in str(info.value)
    assert [p.name for p in theirs.iterdir()] == ["__init__.py"]
    assert (theirs / "__init__.py").read_text() == "MY WORK = 'unsaved'\n"


def test_a_fifo_where_a_built_wheels_file_goes_is_replaced(env: Env) -> None:
    write_project(env.root / "lock" / "local", "fifopkg", "0.1", {"fifopkg/__init__.py": "V = 1\n"})
    (env.site / "fifopkg").mkdir()
    fifo = env.site / "fifopkg" / "__init__.py"
    os.mkfifo(fifo)  # opened for writing, it would wait for a reader for ever

    def unblock() -> None:  # should the fifo be written again, the test fails (a broken pipe), it does not hang
        if stat.S_ISFIFO(fifo.lstat().st_mode):
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))

    watchdog = threading.Timer(60, unblock)
    watchdog.start()
    try:
        env.write({"name": "fifopkg", "directory": {"path": "local"}})
        assert actions(env.sync()) == [("fifopkg", "install")]
    finally:
        watchdog.cancel()
    assert env.run("import fifopkg; print(fifopkg.V)") == "1"


def test_editable_directory_follows_the_tree_without_reinstalling(env: Env) -> None:
    tree = write_project(env.root / "lock" / "local", "edpkg", "0.1", {"edpkg/__init__.py": "V = 1\n"})
    env.write({"name": "edpkg", "directory": {"path": "local", "editable": True}})
    assert actions(env.sync()) == [("edpkg", "install")]
    (tree / "src" / "edpkg" / "__init__.py").write_text("V = 2\n")
    assert env.run("import edpkg; print(edpkg.V)") == "2"
    assert env.sync().plan is None
    assert env.source("edpkg") == f"editable+{tree.as_uri()}"


def test_archive_is_verified_and_built(env: Env, local_index: LocalIndex) -> None:
    tree = write_project(env.root / "arch-tree", "archpkg", "2.0", {"archpkg/__init__.py": "OK = True\n"})
    archive = make_sdist(local_index.directory, tree, "archpkg", "2.0")
    url = local_index.file_url(archive.name)
    env.write({"name": "archpkg", "archive": {"url": url, "hashes": {"sha256": sha256_file(archive)}}})
    assert actions(env.sync()) == [("archpkg", "install")]
    assert env.run("import archpkg; print(archpkg.OK)") == "True"
    assert env.source("archpkg") == url


@pytest.mark.parametrize("lock_format", ["requirements", "uv"])
def test_a_wheel_given_by_its_url_is_recorded_as_pip_and_uv_record_it(
    env: Env, local_index: LocalIndex, lock_format: str
) -> None:
    # ``name @ https://.../x.whl`` in a requirements file, a uv.lock ``source = { url }``: a direct reference, which
    # pip and uv record in direct_url.json (pip freeze prints ``name @ url``); the engine recorded nothing, as for a
    # registry's file (found in review)
    wheel = make_wheel(local_index.directory, "urlwheel", "1.0", modules={"urlwheel/__init__.py": "OK = True\n"})
    url, digest = local_index.file_url(wheel.name), sha256_file(wheel)
    if lock_format == "requirements":
        env.lock = env.root / "requirements.txt"
        env.lock.write_text(f"urlwheel @ {url} --hash=sha256:{digest}\n", encoding="utf-8")
    else:
        env.lock = env.root / "uv.lock"
        env.lock.write_text(
            'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
            '[[package]]\nname = "app"\nversion = "0"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "urlwheel" }]\n\n'
            f'[[package]]\nname = "urlwheel"\nversion = "1.0"\nsource = {{ url = "{url}" }}\n'
            f'wheels = [{{ url = "{url}", hash = "sha256:{digest}" }}]\n',
            encoding="utf-8",
        )
        (env.root / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0"\ndependencies = ["urlwheel"]\n', encoding="utf-8"
        )
    assert actions(env.sync()) == [("urlwheel", "install")]
    assert json.loads((env.site / "urlwheel-1.0.dist-info" / "direct_url.json").read_text()) == {
        "url": url,
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
    }
    assert env.sync().plan is None
    env.venv.joinpath(".venvsync", "state.json").unlink()  # compare package by package: the records agree
    assert actions(env.sync()) == []


def test_an_archive_behind_a_login_is_recorded_without_it(
    env: Env, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # direct_url.json is any reader's (pip freeze prints it): the login in the lock's URL stays out of it
    forget_logins(monkeypatch)
    local_index.login = ("ci", "s3cret")
    tree = write_project(env.root / "arch-tree", "archpkg", "2.0", {"archpkg/__init__.py": "OK = True\n"})
    archive = make_sdist(local_index.directory, tree, "archpkg", "2.0")
    url = local_index.file_url(archive.name)
    with_login = url.replace("://", "://ci:s3cret@")
    env.write({"name": "archpkg", "archive": {"url": with_login, "hashes": {"sha256": sha256_file(archive)}}})
    assert actions(env.sync()) == [("archpkg", "install")]
    assert env.source("archpkg") == url
    assert "s3cret" not in "".join(p.read_text() for p in env.site.glob("archpkg-*.dist-info/*") if p.is_file())
    assert env.sync().plan is None  # the recorded source and the lock's agree
    env.venv.joinpath(".venvsync", "state.json").unlink()  # compare package by package too
    assert actions(env.sync()) == []


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://ci:s3cret@host.example/a.tar.gz", "https://host.example/a.tar.gz"),
        ("https://token@host.example:8443/a.tar.gz#sha256=x", "https://host.example:8443/a.tar.gz#sha256=x"),
        ("https://a%40b:p:w@y@host.example/a", "https://host.example/a"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("https://${TOKEN}@host.example/repo.git", "https://${TOKEN}@host.example/repo.git"),
        ("https://host.example/a.tar.gz", "https://host.example/a.tar.gz"),
    ],
)
def test_recorded_urls_keep_no_login(url: str, recorded: str) -> None:
    assert recorded_url(url) == recorded


def test_a_build_over_a_file_linked_from_the_cache_leaves_the_cache_and_other_venvs_alone(
    env: Env, local_index: LocalIndex
) -> None:
    # two distributions shipping one path (namespace __init__.py files, psycopg2 beside psycopg2-binary): the
    # wheel's file is a hard link into the cache, and the build's file must take its place, not write into it
    shared = {"qans/shared.txt": "from the wheel\n", "qans/a.py": "A = 1\n"}
    wheel = make_wheel(local_index.directory, "qans-a", "1.0", modules=shared)
    entry = package_entry("qans-a", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    env.write(entry)
    env.sync()
    first = env.site / "qans" / "shared.txt"
    assert first.stat().st_nlink == 2  # the venv's and the cache's

    other = Env(env.root / "second", Path(env.target.executable).resolve())
    other.cache, other.lock = env.cache, env.root / "second-lock" / "pylock.toml"
    write_project(other.lock.parent / "qans-c", "qans-c", "1.0", {"qans/shared.txt": "from the build\n"})
    other.write(entry, {"name": "qans-c", "directory": {"path": "qans-c"}})
    assert sorted(actions(other.sync())) == [("qans-a", "install"), ("qans-c", "install")]
    assert (other.site / "qans" / "shared.txt").read_text() == "from the build\n"
    assert first.read_text() == "from the wheel\n"
    assert [p.read_text() for p in env.cache.unpacked_dir.rglob("shared.txt")] == ["from the wheel\n"]
    assert not list(other.site.rglob("*.venvsync-tmp"))
    assert not check_records(scan([env.site]), env.venv)  # the first venv's files are as its RECORD says


def test_switching_between_source_kinds_reinstalls_each_time(env: Env, local_index: LocalIndex) -> None:
    wheel = make_wheel(local_index.directory, "flip", "1.0", modules={"flip/__init__.py": "KIND = 'wheel'\n"})
    from_index = package_entry("flip", "1.0", [wheel_entry(wheel, url=local_index.file_url(wheel.name))])
    repo = write_project(env.root / "repo", "flip", "1.0", {"flip/__init__.py": "KIND = 'git'\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "c")
    from_git = {
        "name": "flip",
        "vcs": {"type": "git", "url": repo.as_uri(), "commit-id": git(repo, "rev-parse", "HEAD")},
    }
    write_project(env.root / "lock" / "flip", "flip", "1.0", {"flip/__init__.py": "KIND = 'directory'\n"})
    from_directory = {"name": "flip", "directory": {"path": "flip"}}
    for entry, kind, action in (
        (from_index, "wheel", "install"),
        (from_git, "git", "reinstall"),
        (from_directory, "directory", "reinstall"),
        (from_index, "wheel", "reinstall"),
    ):
        env.write(entry)
        assert actions(env.sync()) == [("flip", action)]
        assert env.run("import flip; print(flip.KIND)") == kind
    assert dist_info_names([env.site]) == ["flip-1.0.dist-info"]


def test_requirements_pins_are_found_on_the_index_by_hash(
    env: Env, local_index: LocalIndex, mocker: MockerFixture
) -> None:
    wheel = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 1\n"})
    other = make_wheel(local_index.directory, "pinned", "1.0", tag="cp27-cp27m-win32")
    env.lock = env.root / "lock" / "requirements.txt"
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    env.lock.write_text(
        f"--index-url {local_index.simple_url}\n"
        f"pinned==1.0 --hash=sha256:{sha256_file(other)} \\\n    --hash=sha256:{sha256_file(wheel)}\n"
    )
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "1"
    assert f"/files/{wheel.name}" in local_index.requests
    assert f"/files/{other.name}" not in local_index.requests
    assert (env.site / "pinned" / "__init__.py").stat().st_nlink == 2  # linked from the unpacked cache

    offline = Env(env.root / "offline", Path(env.target.executable).resolve())
    offline.lock, offline.cache = env.lock, env.cache
    requests = len(local_index.requests)
    searched = mocker.spy(Sources, "_from_cache")
    outcome = sync(SyncSpec(venv=offline.venv, lock_path=env.lock, offline=True), offline.target, cache=env.cache)
    assert actions(outcome) == [("pinned", "install")]
    assert searched.call_count == 1  # the cache is searched once for the pin: not again after the offline check
    assert len(local_index.requests) == requests  # found in the cache by its hash: no index asked

    cold = Env(env.root / "cold", Path(env.target.executable).resolve())
    with pytest.raises(OfflineError) as info:
        sync(SyncSpec(venv=cold.venv, lock_path=env.lock, offline=True), cold.target, cache=cold.cache)
    assert "offline and 1 file(s) are not in the cache: pinned==1.0" in str(info.value)


def test_a_requirements_pin_whose_requires_python_excludes_the_interpreter_is_refused(
    env: Env, local_index: LocalIndex
) -> None:
    # a file compiled for another Python: pip and uv refuse it by its Requires-Python, so does the sync
    fits = make_wheel(local_index.directory, "fits", "1.0")
    newer = make_wheel(local_index.directory, "newer", "2.0", requires_python=">=3.99")
    _requirements(
        env,
        f"--index-url {local_index.simple_url}\n"
        f"fits==1.0 --hash=sha256:{sha256_file(fits)}\nnewer==2.0 --hash=sha256:{sha256_file(newer)}\n",
    )
    with pytest.raises(InstallError) as info:
        env.sync()
    assert str(info.value) == _for_another_python(env, "newer", newer.name)
    assert dist_info_names([env.site]) == []
    with pytest.raises(InstallError):  # from the cache too, where no index says what it requires
        env.sync()


def _for_another_python(env: Env, name: str, filename: str) -> str:
    """The sentence for a requirements pin's file whose Requires-Python (>=3.99) excludes the interpreter."""
    return (
        f"cannot install {name} from {filename}: it requires Python >=3.99 and the interpreter "
        f"{env.target.executable} is Python {env.target.python_full_version}; pin a release that supports it (the "
        "lock was made for another Python) or use a Python it supports"
    )


def test_a_requirements_pin_whose_sdist_requires_another_python_is_refused_before_its_build(
    env: Env, local_index: LocalIndex
) -> None:
    # numpy==2.2.6 from a file exported for >=3.10, on 3.9: no wheel fits, and its sdist's build failed in the
    # backend (naming no Python) after a long download; pip and uv pass it over by its Requires-Python
    tree = write_project(env.root / "src-tree", "sdold", "1.0", {"sdold/__init__.py": ""})
    (tree / "_build" / "backend.py").write_text("raise SystemExit('this backend cannot build on this Python')\n")
    (tree / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: sdold\nVersion: 1.0\nRequires-Python: >=3.99\n")
    sdist = make_sdist(local_index.directory, tree, "sdold", "1.0")
    _requirements(env, f"--index-url {local_index.simple_url}\nsdold==1.0 --hash=sha256:{sha256_file(sdist)}\n")
    with pytest.raises(InstallError) as info:
        env.sync()
    assert str(info.value) == _for_another_python(env, "sdold", sdist.name)
    assert dist_info_names([env.site]) == []


def test_resolving_a_plan_finds_its_installs_by_identity_not_by_comparing_every_step(
    tmp_path: Path, target_of: Callable[[str], Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA at scale: resolve asked ``step in plan.to_install`` for every step, building that list again and
    # comparing steps field by field each time: quadratic in the plan, 6.8 s of a new venv of 2,000 packages
    picks = [
        Pick(
            name=canonicalize_name(f"p{number}"),
            version=Version("1.0"),
            kind="wheel",
            artifact=Artifact(
                filename=f"p{number}-1.0-py3-none-any.whl",
                url=f"https://example.invalid/p{number}-1.0-py3-none-any.whl",
                path=None,
                size=None,
                hashes={"sha256": f"{number:064x}"},
            ),
        )
        for number in range(30)
    ]
    plan = make_plan([Wanted(pick=pick) for pick in picks], {})
    compared: list[Step] = []
    equal = Step.__eq__

    def counted(step: Step, other: object) -> bool:
        compared.append(step)
        return equal(step, other)

    monkeypatch.setattr(Step, "__eq__", counted)
    resolved = Sources(Cache(tmp_path / "cache"), target_of("3.12"), tmp_path).resolve(plan, offline=False)
    assert compared == []
    monkeypatch.undo()
    assert resolved == plan  # every pick had its file: the same plan


def test_many_requirements_pins_are_looked_up_on_threads_that_keep_their_connections(
    env: Env, local_index: LocalIndex
) -> None:
    # 20 pages and 20 files: one connection per request before, at most one per thread (8 + 8) now
    wheels = [make_wheel(local_index.directory, f"pin{i}", "1.0") for i in range(20)]
    env.lock = env.root / "lock" / "requirements.txt"
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    pins = "".join(f"pin{i}==1.0 --hash=sha256:{sha256_file(wheel)}\n" for i, wheel in enumerate(wheels))
    env.lock.write_text(f"--index-url {local_index.simple_url}\n{pins}")
    assert sorted(actions(env.sync())) == sorted((f"pin{i}", "install") for i in range(20))
    assert dist_info_names([env.site]) == sorted(f"pin{i}-1.0.dist-info" for i in range(20))
    pages, files = [f"/simple/pin{i}/" for i in range(20)], [f"/files/{w.name}" for w in wheels]
    assert sorted(local_index.requests) == sorted(pages + files)
    assert local_index.connections <= 16


def _in_cache(env: Env, file: Path) -> Path:
    """``file`` at its address in the cache, as another sync (another interpreter's) left it there."""
    stored = env.cache.artifact("sha256", sha256_file(file), file.name)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(file.read_bytes())
    return stored


def _requirements(env: Env, text: str) -> None:
    env.lock = env.root / "lock" / "requirements.txt"
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    env.lock.write_text(text)


def test_the_index_setting_comes_from_the_specs_environment(
    env: Env, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox's set_env = PIP_INDEX_URL=... (laid over the process's environment by the runner) names the index
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    wheel = make_wheel(local_index.directory, "pinned", "1.0")
    _requirements(env, f"pinned==1.0 --hash=sha256:{sha256_file(wheel)}\n")
    spec = SyncSpec(venv=env.venv, lock_path=env.lock, environ={**os.environ, "PIP_INDEX_URL": local_index.simple_url})
    assert actions(sync(spec, env.target, cache=env.cache)) == [("pinned", "install")]
    assert "/simple/pinned/" in local_index.requests


def _pip_sees_only(index: LocalIndex, **more: str) -> dict[str, str]:
    """The environment of a build whose pip asks only ``index``: no machine configuration, no cache."""
    return {
        **os.environ,
        "PIP_INDEX_URL": index.simple_url,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_TIMEOUT": "60",
        "PIP_RETRIES": "0",
        **more,
    }


def _uv_sdist_lock(lock: Path, archive: Path, constraints: str) -> None:
    """A uv.lock whose one package, needy, is the sdist ``archive``, with ``constraints`` as its build constraints."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    held = f"[manifest]\nbuild-constraints = [{constraints}]\n\n" if constraints else ""
    lock.write_text(
        f'version = 1\nrevision = 3\nrequires-python = ">=3.8"\n\n{held}'
        '[[package]]\nname = "app"\nversion = "0"\nsource = { virtual = "." }\ndependencies = [{ name = "needy" }]\n\n'
        f'[[package]]\nname = "needy"\nversion = "0.1"\nsource = {{ url = "{archive.as_uri()}" }}\n'
        f'sdist = {{ hash = "sha256:{sha256_file(archive)}" }}\n',
        encoding="utf-8",
    )


def test_a_uv_locks_build_constraints_hold_a_builds_own_requirements(
    env: Env, local_index: LocalIndex, tmp_path: Path
) -> None:
    # uv builds every source under [manifest] build-constraints (tool.uv.build-constraint-dependencies); pip
    # installed the newest build requirement instead (found by QA syncing mcp's uv.lock: hatchling 1.33 for 1.29)
    tree = write_project(env.root / "tree", "needy", "0.1", {"needy/__init__.py": "V = 1\n"})
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requires = []", 'requires = ["buildhelp"]'))
    archive = make_sdist(env.root, tree, "needy", "0.1")
    for version in ("1.0", "2.0"):
        make_wheel(local_index.directory, "buildhelp", version)

    def built_with(lock: Path, venv: Env) -> set[str]:
        local_index.requests.clear()
        spec = SyncSpec(
            venv=venv.venv, lock_path=lock, request=Request(frozen=True), environ=_pip_sees_only(local_index)
        )
        assert actions(sync(spec, venv.target, cache=env.cache)) == [("needy", "install")]
        return {path.rpartition("/")[2] for path in local_index.requests if path.startswith("/files/buildhelp-")}

    _uv_sdist_lock(free := env.root / "free" / "uv.lock", archive, "")
    assert built_with(free, env) == {"buildhelp-2.0-py3-none-any.whl"}  # the newest, as pip picks it
    # the same sdist under a constraint is built again (the wheel kept from the free build is not taken for it)
    _uv_sdist_lock(held := env.root / "held" / "uv.lock", archive, '{ name = "buildhelp", specifier = "==1.0" }')
    second = Env(tmp_path / "second", Path(env.target.executable).resolve())
    assert built_with(held, second) == {"buildhelp-1.0-py3-none-any.whl"}


def test_a_build_constraint_that_is_not_uvs_table_is_refused_naming_it(env: Env) -> None:
    env.lock = env.root / "lock" / "uv.lock"
    env.lock.parent.mkdir(exist_ok=True)
    env.lock.write_text('version = 1\n[manifest]\nbuild-constraints = [{ specifier = "==1.0" }]\n', encoding="utf-8")
    with pytest.raises(LockFileError) as info:
        build_constraints(env.lock)
    assert str(info.value) == (
        f"{env.lock} at manifest.build-constraints[0]: must be a table of a name, a specifier and a marker, as uv "
        "writes it; re-lock with uv"
    )
    assert build_constraints(env.root / "lock" / "pylock.toml") == ()  # the other formats record none


def test_an_offline_build_downloads_no_build_requirement(env: Env, local_index: LocalIndex, tmp_path: Path) -> None:
    # --sync-offline is "no download", but pip installed a build's requirements from the index (a lock's source
    # tree here; a project's sdist, a lock's sdist alike): found by QA, building package = sdist offline
    tree = write_project(env.root / "lock" / "local", "needy", "0.1", {"needy/__init__.py": "V = 1\n"})
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requires = []", 'requires = ["buildhelp"]'))
    make_wheel(local_index.directory, "buildhelp", "1.0")
    env.write({"name": "needy", "directory": {"path": "local"}})
    online = SyncSpec(venv=env.venv, lock_path=env.lock, environ=_pip_sees_only(local_index))
    assert actions(sync(online, env.target, cache=env.cache)) == [("needy", "install")]
    assert "/simple/buildhelp/" in local_index.requests

    local_index.requests.clear()
    offline = Env(tmp_path / "offline", Path(env.target.executable).resolve())
    spec = replace(online, venv=offline.venv, offline=True)
    with pytest.raises(BuildError) as info:
        sync(spec, offline.target, cache=env.cache)
    assert str(info.value).startswith(f"cannot build needy from {tree}: installing its build requirements failed (")
    assert str(info.value).endswith(
        "; offline, pip downloads nothing and looks only in its find-links: sync online, or name a directory holding "
        "them in PIP_FIND_LINKS"
    )
    assert local_index.requests == []
    assert dist_info_names([offline.site]) == []

    # a find-links directory holding them serves the build offline, as pip --no-index --find-links does
    linked = tmp_path / "build-wheels"
    make_wheel(linked, "buildhelp", "1.0")
    spec = replace(spec, environ=_pip_sees_only(local_index, PIP_FIND_LINKS=str(linked)))
    assert actions(sync(spec, offline.target, cache=env.cache)) == [("needy", "install")]
    assert local_index.requests == []


@pytest.mark.parametrize("setting", ["VIRTUALENV_NO_SEED", "VIRTUALENV_NO_PIP"])
def test_a_build_has_pip_whatever_virtualenv_settings_the_user_has(
    env: Env, local_index: LocalIndex, setting: str
) -> None:
    # a VIRTUALENV_NO_SEED=1 in the user's shell (for their own venvs) left every build environment without pip:
    # "installing its build requirements failed (.../bin/python: No module named pip)" (found by QA)
    tree = write_project(env.root / "lock" / "local", "needy", "0.1", {"needy/__init__.py": "V = 1\n"})
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requires = []", 'requires = ["buildhelp"]'))
    make_wheel(local_index.directory, "buildhelp", "1.0")
    env.write({"name": "needy", "directory": {"path": "local"}})
    spec = SyncSpec(venv=env.venv, lock_path=env.lock, environ=_pip_sees_only(local_index, **{setting: "1"}))
    assert actions(sync(spec, env.target, cache=env.cache)) == [("needy", "install")]


def test_an_offline_sync_clones_no_commit_it_has_not_built(env: Env, tmp_path: Path) -> None:
    # a clone is a download (offline installs "not even from a file: URL"); a commit built before comes from the cache
    repo = write_project(env.root / "repo", "gitpkg", "1.0", {"gitpkg/__init__.py": ""})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    env.write({"name": "gitpkg", "vcs": {"type": "git", "url": repo.as_uri(), "commit-id": commit}})
    cold = Env(tmp_path / "cold", Path(env.target.executable).resolve())
    with pytest.raises(OfflineError) as info:
        sync(SyncSpec(venv=cold.venv, lock_path=env.lock, offline=True), cold.target, cache=cold.cache)
    assert str(info.value) == (
        f"offline and 1 file(s) are not in the cache: gitpkg (the wheel built from {repo.as_uri()}@{commit}); run "
        "once online (or fill TOX_VENVSYNC_CACHE_DIR) first"
    )
    assert info.value.exit_code == 2
    assert actions(env.sync()) == [("gitpkg", "install")]  # online: cloned, built and cached
    warm = Env(tmp_path / "warm", Path(env.target.executable).resolve())
    outcome = sync(SyncSpec(venv=warm.venv, lock_path=env.lock, offline=True), warm.target, cache=env.cache)
    assert actions(outcome) == [("gitpkg", "install")]


def test_no_index_pins_are_found_in_a_find_links_directory_beside_the_file(
    env: Env, local_index: LocalIndex, tmp_path: Path
) -> None:
    wheels = env.root / "lock" / "wheels"
    wheels.mkdir(parents=True)
    wheel = make_wheel(wheels, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'linked'\n"})
    other = make_wheel(wheels, "pinned", "1.0", tag="cp27-cp27m-win32")  # allowed, but not for this interpreter
    stranger = make_wheel(tmp_path / "elsewhere", "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'no'\n"})
    (wheels / "pinned-1.0-py2.py3-none-any.whl").write_bytes(stranger.read_bytes())  # fits, hash not allowed
    make_wheel(wheels, "pinned", "2.0")  # another version
    allowed = f"--hash=sha256:{sha256_file(other)} --hash=sha256:{sha256_file(wheel)}"
    _requirements(
        env, f"--no-index\n--find-links wheels\n--index-url {local_index.simple_url}\npinned==1.0 {allowed}\n"
    )
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "linked"
    assert local_index.requests == []  # --no-index: the index is not asked, as pip does not ask it
    assert env.source("pinned") is None  # found by name and version, as pip records it: no direct URL

    other_env = Env(env.root / "by-url", Path(env.target.executable).resolve())
    other_env.cache = Cache(env.root / "cache-2")
    _requirements(other_env, f"--no-index\n-f {wheels.as_uri()}\npinned==1.0 {allowed}\n")
    assert actions(other_env.sync()) == [("pinned", "install")]
    assert other_env.run("import pinned; print(pinned.OK)") == "linked"


def test_pins_are_found_on_a_find_links_page_by_its_hashes(env: Env, local_index: LocalIndex) -> None:
    wheel = make_wheel(local_index.directory, "paged", "1.0", modules={"paged/__init__.py": "OK = 'paged'\n"})
    page = local_index.simple_url + "paged/"  # any page of links with hashes will do
    _requirements(env, f"--no-index\n--find-links {page}\npaged==1.0 --hash=sha256:{sha256_file(wheel)}\n")
    assert actions(env.sync()) == [("paged", "install")]
    assert env.run("import paged; print(paged.OK)") == "paged"
    assert local_index.requests == ["/simple/paged/", f"/files/{wheel.name}"]


@pytest.mark.parametrize(
    ("options", "where", "reason"),
    [
        pytest.param("--no-index\n", "--no-index", "the requirements file allows no index and gives no --find-links"),
        pytest.param(
            "--no-index\n--find-links {missing}\n",
            "{missing}",
            "No such file or directory; --find-links takes a directory of wheels and sdists, or an http(s) page of "
            "links",
        ),
        pytest.param(
            "--no-index\n--find-links {empty}\n",
            "{empty}",
            "no file of pinned==1.0 with an allowed hash is found",
        ),
    ],
)
def test_a_pin_with_nowhere_to_look_is_one_sentence(env: Env, options: str, where: str, reason: str) -> None:
    empty = env.root / "empty"
    empty.mkdir()
    paths = {"missing": str(env.root / "missing"), "empty": str(empty)}
    _requirements(env, options.format(**paths) + f"pinned==1.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(FetchError) as info:
        env.sync()
    assert str(info.value) == f"cannot fetch pinned from {where.format(**paths)}: {reason}"
    assert dist_info_names([env.site]) == []


def test_a_requirements_pin_with_a_foreign_hash_is_not_installed(env: Env, local_index: LocalIndex) -> None:
    make_wheel(local_index.directory, "pinned", "1.0")
    env.lock = env.root / "lock" / "requirements.txt"
    env.lock.parent.mkdir(parents=True, exist_ok=True)
    env.lock.write_text(f"--index-url {local_index.simple_url}\npinned==1.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(FetchError) as info:
        env.sync()
    assert str(info.value) == (
        f"cannot fetch pinned from {local_index.simple_url}: the index lists 1 file(s) of pinned==1.0, none with a "
        "hash the file's --hash allows (the index holds other files than the lock was made from, or a hash was "
        "mistyped); compile the file again"
    )
    assert dist_info_names([env.site]) == []


def test_a_pin_whose_page_links_its_files_without_hashes_installs_the_file_whose_digest_it_allows(
    env: Env, local_index: LocalIndex, tmp_path: Path
) -> None:
    # a plain directory listing, a proxy, PyTorch's find-links pages: pip and uv fetch the file and check its digest
    local_index.hashless = True
    wheel = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'fetched'\n"})
    make_wheel(local_index.directory, "pinned", "1.0", tag="cp27-cp27m-win32")  # listed, not for this interpreter
    _requirements(env, f"--index-url {local_index.simple_url}\npinned==1.0 --hash=sha256:{sha256_file(wheel)}\n")
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "fetched"
    assert local_index.requests == ["/simple/pinned/", f"/files/{wheel.name}"]  # downloaded once, the best fit only
    stored = env.cache.artifact("sha256", sha256_file(wheel), wheel.name)
    assert stored.read_bytes() == wheel.read_bytes()  # at its content address: the next sync finds it there
    assert list(env.cache.tmp_dir().iterdir()) == []

    offline = Env(tmp_path / "offline", Path(env.target.executable).resolve())
    offline.cache, offline.lock = env.cache, env.lock
    local_index.requests.clear()
    spec = SyncSpec(venv=offline.venv, lock_path=offline.lock, offline=True)
    assert actions(sync(spec, offline.target, cache=offline.cache)) == [("pinned", "install")]
    assert local_index.requests == []


@pytest.mark.parametrize(
    ("allowed", "says"),
    [(["0" * 64], "0" * 64), (["1" * 64, "0" * 64], f"one of {'0' * 64}, {'1' * 64}")],
    ids=["one-hash", "two-hashes"],
)
def test_a_file_linked_without_a_hash_whose_digest_the_pin_does_not_allow_is_refused_and_not_kept(
    env: Env, local_index: LocalIndex, allowed: list[str], says: str
) -> None:
    local_index.hashless = True
    wheel = make_wheel(local_index.directory, "pinned", "1.0")
    page = local_index.simple_url + "pinned/"
    _requirements(
        env, f"--no-index\n--find-links {page}\npinned==1.0 " + " ".join(f"--hash=sha256:{d}" for d in allowed)
    )
    with pytest.raises(HashMismatchError) as info:
        env.sync()
    assert str(info.value) == (
        f"the sha256 hash of pinned from {local_index.file_url(wheel.name)} is {sha256_file(wheel)} but {env.lock} "
        f"says {says} at line 3; nothing was installed: check the lockfile or the index that serves this file"
    )
    assert info.value.exit_code == 2
    assert dist_info_names([env.site]) == []
    assert list(env.cache.tmp_dir().iterdir()) == []  # the refused download is gone
    assert not (env.cache.root / "artifacts").exists() or not any((env.cache.root / "artifacts").rglob("*.whl"))


def test_of_equal_fits_the_file_whose_page_gives_its_allowed_hash_is_taken_without_a_download_to_check(
    env: Env, local_index: LocalIndex, tmp_path: Path
) -> None:
    local_index.hashless = True  # the index lists it without a hash; the find-links directory has it too
    wheel = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'either'\n"})
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / wheel.name).write_bytes(wheel.read_bytes())
    pin = f"pinned==1.0 --hash=sha256:{sha256_file(wheel)}\n"
    _requirements(env, f"--index-url {local_index.simple_url}\n--find-links {linked}\n{pin}")
    assert actions(env.sync()) == [("pinned", "install")]
    assert local_index.requests == ["/simple/pinned/"]  # the directory's file, whose digest is known, not the link


# --- a requirements lock must pin what its packages need here, as pip's hash-checking mode requires ------------------


def _pins(local_index: LocalIndex, *wheels: Path) -> str:
    lines = "".join(f"{w.name.split('-')[0]}=={w.name.split('-')[1]} --hash=sha256:{sha256_file(w)}\n" for w in wheels)
    return f"--index-url {local_index.simple_url}\n{lines}"


def test_a_requirements_lock_lacking_a_dependency_for_this_python_is_refused_before_any_change(
    env: Env, local_index: LocalIndex
) -> None:
    # compiled on a newer Python: pytest needs exceptiongroup below 3.11 only, the file has none; pip refuses it in
    # hash-checking mode, and synced as it was, the first test run failed with No module named 'exceptiongroup'
    # setuptools and pip, which pip-compile leaves out unless --allow-unsafe (a seeded venv has them), are not held
    # against the file
    requires = ['needed>=1; python_version >= "3"', "setuptools>=40", "pip"]
    top = make_wheel(local_index.directory, "top", "1.0", requires_dist=requires)
    other = make_wheel(local_index.directory, "other", "1.0", requires_dist=['gone; python_version < "3"'])
    _requirements(env, _pins(local_index, top, other))
    with pytest.raises(SelectionError) as info:
        env.sync()
    python = env.target.python_full_version
    assert str(info.value) == (
        f"{env.lock}: the lock is not complete for Python {python}: top 1.0 needs needed>=1 "
        '(where python_version >= "3"), which the lock does not pin; compile it again for this Python (uv pip compile '
        "--universal --generate-hashes, "
        f"or pip-compile --generate-hashes run on Python {python}), as pip refuses it in hash-checking mode"
    )
    assert info.value.exit_code == 2
    assert dist_info_names([env.site]) == []  # nothing installed, though every file was fetched
    needed = make_wheel(local_index.directory, "needed", "1.2")
    _requirements(env, _pins(local_index, top, other, needed))  # other's need has a marker false here
    assert sorted(actions(env.sync())) == [("needed", "install"), ("other", "install"), ("top", "install")]


def _wheels_lock(env: Env, local_index: LocalIndex, *wheels: Path, requires_python: str | None = None) -> None:
    entries = [
        package_entry(w.name.split("-")[0], w.name.split("-")[1], [wheel_entry(w, url=local_index.file_url(w.name))])
        for w in wheels
    ]
    write_pylock(env.lock, entries, requires_python=requires_python)


def test_a_pylock_of_one_python_lacking_a_dependency_for_this_one_is_refused_before_any_change(
    env: Env, local_index: LocalIndex
) -> None:
    # pip lock writes a pylock.toml of the Python it runs on, naming neither requires-python nor environments: the
    # tutorial's lock, synced on Python 3.10, lacked pytest's exceptiongroup; the sync succeeded and the first test
    # run failed with No module named 'exceptiongroup' (found by QA). Such a lock is checked whole, as a
    # requirements file is; a lock naming the Pythons it was made for records its graph and is not
    top = make_wheel(local_index.directory, "top", "1.0", requires_dist=['needed>=1; python_version >= "3"', "pip"])
    _wheels_lock(env, local_index, top)
    with pytest.raises(SelectionError) as info:
        env.sync()
    python = env.target.python_full_version
    assert str(info.value) == (
        f"{env.lock}: the lock is not complete for Python {python}: top 1.0 needs needed>=1 "
        '(where python_version >= "3"), which the lock does not pin; it names no requires-python or environments, '
        "so it is a lock of the one Python it was made on (pip lock makes such a lock): lock it again on Python "
        f"{python}, or lock for every Python (uv pip compile --universal --format pylock.toml, uv export --format "
        "pylock.toml)"
    )
    assert info.value.exit_code == 2
    assert dist_info_names([env.site]) == []
    needed = make_wheel(local_index.directory, "needed", "1.2")
    _wheels_lock(env, local_index, top, needed)
    assert sorted(actions(env.sync())) == [("needed", "install"), ("top", "install")]
    _wheels_lock(env, local_index, top, requires_python=">=3.9")  # made for every Python: its selection stands
    assert actions(env.sync()) == [("needed", "remove")]


def test_a_pylock_of_one_python_pinning_a_release_that_needs_another_python_is_refused(
    env: Env, local_index: LocalIndex
) -> None:
    # the tutorial's lock on Python 3.9 installed iniconfig 2.3.1, whose Requires-Python is >=3.10 (found by QA);
    # pip and uv refuse such a wheel
    old = make_wheel(local_index.directory, "old", "1.0")
    newer = make_wheel(local_index.directory, "modern", "2.0", requires_python=">=3.99")
    _wheels_lock(env, local_index, old, newer)
    with pytest.raises(SelectionError) as info:
        env.sync()
    python = env.target.python_full_version
    assert str(info.value).startswith(
        f"{env.lock}: the lock does not fit Python {python}: it pins modern 2.0, which requires Python >=3.99; it "
        "names no requires-python or environments"
    )
    assert dist_info_names([env.site]) == []


def test_a_requirements_lock_compiled_on_another_platform_is_told_to_be_compiled_for_this_one(
    env: Env, local_index: LocalIndex
) -> None:
    # a file compiled on macOS lacks what a package needs on Linux only: the message names the platform too, as
    # compiling again on this Python alone (on that Mac) would not help
    platform, machine = env.target.markers["sys_platform"], env.target.markers["platform_machine"]
    top = make_wheel(local_index.directory, "top", "1.0", requires_dist=[f'needed; sys_platform == "{platform}"'])
    _requirements(env, _pins(local_index, top))
    with pytest.raises(SelectionError) as info:
        env.sync()
    python = env.target.python_full_version
    assert str(info.value) == (
        f"{env.lock}: the lock is not complete for Python {python} on {platform} ({machine}): top 1.0 needs needed "
        f'(where sys_platform == "{platform}"), which the lock does not pin; compile it again for this Python and '
        "platform (uv pip compile --universal --generate-hashes, "
        f"or pip-compile --generate-hashes run on Python {python} on {platform} ({machine})), as pip refuses it in "
        "hash-checking mode"
    )
    assert dist_info_names([env.site]) == []


def test_a_requirements_lock_pinning_a_version_a_package_refuses_is_refused_also_for_a_package_that_stays(
    env: Env, local_index: LocalIndex
) -> None:
    top = make_wheel(local_index.directory, "top", "1.0", requires_dist=["needed>=1,<2", "fancy[extra]"])
    fancy = make_wheel(local_index.directory, "fancy", "1.0", requires_dist=['addon; extra == "extra"'])
    needed, addon = make_wheel(local_index.directory, "needed", "1.2"), make_wheel(local_index.directory, "addon", "1")
    _requirements(env, _pins(local_index, top, fancy, needed))  # fancy[extra] needs addon: followed as pip does
    with pytest.raises(
        SelectionError, match=r"fancy 1.0 needs addon \(where extra == \"extra\"\), which the lock does not pin"
    ):
        env.sync()
    _requirements(env, _pins(local_index, top, fancy, needed, addon))
    assert len(actions(env.sync())) == 4
    newer = make_wheel(local_index.directory, "needed", "2.0")
    _requirements(env, _pins(local_index, top, fancy, newer, addon))  # top stays (kept), its need is read again
    with pytest.raises(
        SelectionError,
        match=r"the lock does not agree with itself on Python 3\.12\.\d+: top 1.0 needs needed<2,>=1, and the lock "
        r"pins needed 2.0;",
    ):
        env.sync()
    assert sorted(dist_info_names([env.site])) == [
        "addon-1.dist-info",
        "fancy-1.0.dist-info",
        "needed-1.2.dist-info",
        "top-1.0.dist-info",
    ]


def test_the_extras_a_requirements_line_names_must_have_what_they_need_pinned_as_pip_requires(
    env: Env, local_index: LocalIndex
) -> None:
    # requests[socks]==2.34.2 without pysocks (a hand-trimmed file): pip refuses it in hash-checking mode, as it
    # installs what the line's extras need; the sync installed requests alone and accepted it
    requests = make_wheel(local_index.directory, "requests", "2.0", requires_dist=['pysocks; extra == "socks"'])
    pin = f"requests[socks]==2.0 --hash=sha256:{sha256_file(requests)}\n"
    _requirements(env, f"--index-url {local_index.simple_url}\n{pin}")
    with pytest.raises(
        SelectionError, match=r"requests 2.0 needs pysocks \(where extra == \"socks\"\), which the lock does not pin"
    ):
        env.sync()
    assert dist_info_names([env.site]) == []
    pysocks = make_wheel(local_index.directory, "pysocks", "1.7")
    # the same pin twice, once without the extra (two markers that both hold): one install, the extra followed
    twice = f'requests==2.0 ; python_version >= "3" --hash=sha256:{sha256_file(requests)}\n{pin}'
    _requirements(env, f"--index-url {local_index.simple_url}\n{twice}")
    with pytest.raises(SelectionError, match=r"requests 2.0 needs pysocks"):
        env.sync()
    _requirements(env, f"{_pins(local_index, pysocks)}{twice}")
    assert sorted(actions(env.sync())) == [("pysocks", "install"), ("requests", "install")]


def test_a_cached_sdist_does_not_stand_in_for_a_wheel_of_the_pin_that_the_index_lists_for_this_interpreter(
    env: Env, local_index: LocalIndex
) -> None:
    # rpds-py 2026.9.1 synced on Python 3.10, for which it has no wheel, left its sdist in the cache; the same pin
    # on 3.12 took that sdist and failed to build it (no maturin) where pip installs the cp312 wheel the index lists
    wheel = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'wheel'\n"})
    sdist = local_index.directory / "pinned-1.0.tar.gz"
    sdist.write_bytes(b"not a buildable archive: taken, the sync fails")
    _in_cache(env, sdist)
    hashes = " ".join(f"--hash=sha256:{sha256_file(f)}" for f in (wheel, sdist))
    _requirements(env, f"--index-url {local_index.simple_url}\npinned==1.0 {hashes}\n")
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "wheel"


def test_no_binary_builds_the_pins_sdist_and_only_binary_refuses_a_pin_with_no_fitting_wheel(
    env: Env, local_index: LocalIndex
) -> None:
    # pip-compile copies --no-binary and --only-binary into its output; pip takes the sdist of a --no-binary package
    # though a wheel fits, and refuses to build one under --only-binary (found by QA: the file was refused)
    tree = write_project(env.root / "src-tree", "pinned", "1.0", {"pinned/__init__.py": "OK = 'sdist'\n"})
    sdist = make_sdist(local_index.directory, tree, "pinned", "1.0")
    wheel = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'wheel'\n"})
    other = make_wheel(local_index.directory, "pinned", "1.0", tag="cp27-cp27m-win32")
    hashes = " ".join(f"--hash=sha256:{sha256_file(f)}" for f in (sdist, wheel))
    _requirements(env, f"--index-url {local_index.simple_url}\n--no-binary pinned\npinned==1.0 {hashes}\n")
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "sdist"
    assert f"/files/{wheel.name}" not in local_index.requests

    hashes = " ".join(f"--hash=sha256:{sha256_file(f)}" for f in (sdist, other))
    fresh = Env(env.root / "fresh", Path(env.target.executable).resolve())
    _requirements(fresh, f"--index-url {local_index.simple_url}\n--only-binary :all:\npinned==1.0 {hashes}\n")
    with pytest.raises(NoFittingFileError) as info:
        fresh.sync()
    assert info.value.reason == (
        "no wheel of pinned==1.0 with an allowed hash fits this interpreter and the file's --only-binary leaves out "
        f"its sdist; there are {other.name}, {sdist.name}: take the package out of --only-binary, or compile the "
        "requirements again for this interpreter's Python and platform"
    )
    assert dist_info_names([fresh.site]) == []


def test_a_pin_whose_index_cannot_be_reached_takes_an_allowed_file_the_cache_holds(
    env: Env, local_index: LocalIndex, caplog: pytest.LogCaptureFixture
) -> None:
    # pins/ makes a sync ask the index what this interpreter takes; with the index down, a file of the pin that
    # another interpreter left in the cache is still the pin's, as every sync took it before pins/ was kept
    pure = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'pure'\n"})
    _in_cache(env, pure)
    local_index.fail_paths["/simple/pinned/"] = 503
    _requirements(env, f"--index-url {local_index.simple_url}\npinned==1.0 --hash=sha256:{sha256_file(pure)}\n")
    with caplog.at_level(logging.WARNING):
        assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "pure"
    assert f"installed the cache's {pure.name}, which the pin allows" in caplog.text
    # a refusal that asking again does not mend (a 404: no such project) is not passed over
    local_index.fail_paths["/simple/pinned/"] = 404
    other = Env(env.root / "other", Path(env.target.executable).resolve())
    with pytest.raises(FetchError):
        sync(SyncSpec(venv=other.venv, lock_path=env.lock), other.target, cache=env.cache)


def test_a_wheel_another_interpreter_left_in_the_cache_does_not_stand_in_for_the_one_the_index_has_for_this_one(
    env: Env, local_index: LocalIndex
) -> None:
    # tomli, charset-normalizer, black: a compiled cp3XX wheel and a py3-none-any one of a release. A Python with
    # no compiled wheel left the pure one in the cache; a sync on this Python took it, where pip and uv install
    # this Python's compiled wheel (found by QA: the file installed depended on which environment ran first)
    best = env.target.tag_strings[0]
    pure = make_wheel(local_index.directory, "pinned", "1.0", modules={"pinned/__init__.py": "OK = 'pure'\n"})
    compiled = make_wheel(local_index.directory, "pinned", "1.0", tag=best, modules={"pinned/__init__.py": "OK = 1\n"})
    _in_cache(env, pure)
    hashes = " ".join(f"--hash=sha256:{sha256_file(f)}" for f in (pure, compiled))
    _requirements(env, f"--index-url {local_index.simple_url}\npinned==1.0 {hashes}\n")
    assert actions(env.sync()) == [("pinned", "install")]
    assert env.run("import pinned; print(pinned.OK)") == "1"
    assert f"/files/{compiled.name}" in local_index.requests

    again = Env(env.root / "again", Path(env.target.executable).resolve())
    again.lock, again.cache = env.lock, env.cache
    requests = len(local_index.requests)
    assert actions(sync(SyncSpec(venv=again.venv, lock_path=env.lock), again.target, cache=env.cache)) == [
        ("pinned", "install")
    ]
    assert len(local_index.requests) == requests  # this interpreter's file is known and cached: no index asked
    assert again.run("import pinned; print(pinned.OK)") == "1"
