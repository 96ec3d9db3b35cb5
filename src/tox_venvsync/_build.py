"""Build: make a wheel for the target interpreter from a locked sdist, archive, VCS commit or source tree (PEP 517).

Builds run in an isolated environment created with the target's interpreter, so a compiled extension
matches it. A wheel built from an sdist (keyed by the sdist's verified hash) or from a VCS commit is
kept in the cache; a source tree is built on every sync that has work to do, and its wheel's RECORD
digest tells whether its contents changed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tox_venvsync import _interrupt
from tox_venvsync._cache import one_at_a_time
from tox_venvsync._errors import FULL, BadInputError, OfflineError, VenvSyncError, printed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from tox_venvsync._cache import Cache
    from tox_venvsync._lock import Pick
    from tox_venvsync._target import Target

Distribution = Literal["wheel", "editable"]
_PROJECT = "the project"


class BuildError(VenvSyncError):
    """A source could not be turned into a wheel."""

    def __init__(self, name: str, source: str, reason: str, *, output: str = "") -> None:
        super().__init__(f"cannot build {name} from {source}: {reason}", output=output)


class Builder:
    """Builds wheels for one target interpreter."""

    def __init__(  # noqa: PLR0913  # the build's settings, by keyword
        self,
        cache: Cache,
        target: Target,
        *,
        environ: Mapping[str, str] | None = None,
        offline: bool = False,
        scratch: Path | None = None,
        constraints: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        """``environ``: the environment builds run in (``None``: this process's); ``offline``: download nothing.

        ``constraints``: the requirements every build's own requirements are held to (a ``uv.lock``'s build
        constraints, asked for when a build is first looked up); a built wheel is kept by them too.

        ``scratch``: where a build unpacks its source and makes its isolated environment (``None``: the system's
        temporary directory). A sync gives its work directory in the cache: a process killed while it builds
        (SIGKILL, the OOM killer) left several megabytes in the system's, which nothing removed; in the cache the
        next process removes a dead one's work.
        """
        self._cache = cache
        self._target = target
        self._environ = dict(os.environ if environ is None else environ)
        self._offline = offline
        self._scratch = scratch
        self._constraints = constraints

    @functools.cached_property
    def _held_to(self) -> tuple[str, ...]:
        return tuple(self._constraints())

    def from_archive(self, pick: Pick, archive: Path, digest: str) -> Path:
        """The wheel of a verified sdist or archive, cached by the archive's hash and the interpreter."""
        # the project in a subdirectory of an archive is another wheel than the one at its root
        key = self._key(f"{digest}#{pick.subdirectory}" if pick.subdirectory else digest)
        out = self._cache.built("sha256", key)
        with self._once(out, "sha256", key) as wheel:
            if wheel is not None:
                return _as_locked(pick, wheel, str(archive.name))  # another lock may name the same sdist otherwise
            with tempfile.TemporaryDirectory(prefix="venvsync-sdist-", dir=self._scratch) as tmp:
                tree = _unpack_archive(pick, archive, Path(tmp))
                if pick.lookup is not None:  # a requirements pin: its sdist may be for another Python
                    _fits_before_build(tree, self._target, pick, archive)
                built = self._build_into(pick, tree, out, "wheel", str(archive.name))
                return _as_locked(pick, built, str(archive.name))

    def from_vcs(self, pick: Pick) -> Path:
        """The wheel of the locked commit (never the requested revision), cached by commit."""
        vcs = pick.vcs
        assert vcs is not None  # noqa: S101  # only vcs picks come here
        if vcs.type != "git":  # the lock is to change, not the machine: bad input (exit code 2), before any change
            msg = (
                f"cannot install {pick.name} at {pick.context}: {vcs.type} checkouts ({vcs.url}) are not supported; "
                "only git is: depend on a wheel, an sdist or a git repository instead"
            )
            raise BadInputError(msg)
        from tox_venvsync._lock._model import not_a_git_url  # noqa: PLC0415  # only when building

        # the readers refuse such a URL naming its key; checked again where it becomes git's argument
        if (reason := not_a_git_url(vcs.url)) is not None:
            msg = f"cannot install {pick.name} at {pick.context}: {reason}; correct it in the lock"
            raise BadInputError(msg)
        source = f"{vcs.url}@{vcs.commit}"
        key = self._vcs_key(pick)
        out = self._cache.built("git", key)
        with self._once(out, "git", key) as wheel:
            if wheel is not None:
                return _as_locked(pick, wheel, source)
            if self._offline:  # a clone is a download, which --sync-offline makes none of (also from a file: URL)
                raise OfflineError([not_built(pick)])  # exit code 2, as a file missing
            if "@" in vcs.url.partition("://")[2].partition("/")[0]:
                from tox_venvsync._http import check_transport  # noqa: PLC0415  # a URL with a login only

                # a login never goes over plain http to another host; the trusted hosts are tox's own environment's,
                # as for downloads (not set_env, which self._environ lays over it)
                check_transport(pick.name, vcs.url)
            with tempfile.TemporaryDirectory(prefix="venvsync-git-", dir=self._scratch) as tmp:
                checkout = Path(tmp) / "checkout"
                login = _git_login(vcs.url, self._environ) if _git_reads_config_from_env() else None
                url, environ = login or (vcs.url, self._environ)
                repository = f"{pick.name}'s repository {vcs.url}"
                # "--": the URL is the lock's, never an option of git's (--upload-pack=<command> runs the command)
                clone = ["clone", "--quiet", "--no-checkout", "--", url, str(checkout)]
                _git(f"cannot clone {repository}", clone, environ, _CLONE, absent=(_NO_REPOSITORY, _NOT_A_REPOSITORY))
                detach = ["-C", str(checkout), "checkout", "--quiet", "--detach", vcs.commit]
                absent = (_NO_COMMIT.format(commit=vcs.commit), _NOT_A_COMMIT)
                _git(f"cannot check out commit {vcs.commit} of {repository}", detach, self._environ, "", absent=absent)
                if (checkout / ".gitmodules").exists():  # as pip and uv: the commit's submodules, at their commits
                    update = ["-C", str(checkout), "submodule", "update", "--init", "--recursive", "--quiet"]
                    what = f"cannot check out the submodules of commit {vcs.commit} of {repository}"
                    _git(what, update, environ, _SUBMODULES)  # with the clone's login
                tree = _below(pick, checkout, vcs.subdirectory, source)
                return _as_locked(pick, self._build_into(pick, tree, out, "wheel", source), source)

    def _vcs_key(self, pick: Pick) -> str:
        vcs = pick.vcs
        assert vcs is not None  # noqa: S101  # only vcs picks come here
        # "with submodules": a wheel kept from before they were checked out is built again, once, with them
        return self._key(f"{vcs.url}@{vcs.commit}#{vcs.subdirectory or ''}#with submodules")

    def built_before(self, pick: Pick) -> bool:
        """Whether the cache holds the wheel of ``pick``'s locked commit: offline, one it does not is a missing file.

        True for what is no git commit, or one the sync refuses (another VCS): not missing, its own error comes where
        it is built.
        """
        if pick.vcs is None or pick.vcs.type != "git":
            return True
        return _cached_wheel(self._cache.built("git", self._vcs_key(pick))) is not None

    @contextlib.contextmanager
    def _once(self, out: Path, kind: str, key: str) -> Iterator[Path | None]:
        """The wheel kept at ``out``; else ``None``, while holding the turn to build it (``tox p``: built once)."""
        if wheel := _cached_wheel(out):
            yield wheel
            return
        # tox's Ctrl-C (see _interrupt) ends a wait for another process's build, as it ends a download's, and no
        # build starts after it: a backend started then never gets the Ctrl-C, and tox waits for it to finish
        with one_at_a_time(self._cache.build_lock(kind, key), stopped=_interrupt.interrupted) as waited:
            _interrupt.check()
            yield _cached_wheel(out) if waited else None

    def _key(self, source: str) -> str:
        """A built wheel depends on the source, the interpreter it was built for and the build constraints."""
        held = "".join(f"|{constraint}" for constraint in self._held_to)  # none: the key wheels had before them
        return hashlib.sha256(f"{source}|{self._target.tag_strings[0]}{held}".encode()).hexdigest()

    def from_tree(self, pick: Pick, tree: Path, into: Path, *, editable: bool) -> Path:
        """A fresh wheel (or PEP 660 editable wheel) of a local source tree, written into ``into``."""
        if (reason := not_a_project(tree)) is not None:
            raise BuildError(pick.name, str(tree), reason)
        return _as_locked(
            pick, self._build(pick, tree, into, "editable" if editable else "wheel", str(tree)), str(tree)
        )

    def from_project_sdist(self, sdist: Path, into: Path) -> Path:
        """The wheel of the project's sdist (tox's ``package = sdist``, or one given to ``--installpkg``).

        Built as pip builds an sdist it installs, written into ``into`` and not cached: tox makes a new
        sdist on every run, and the wheel's contents tell the sync whether anything changed.
        """
        from packaging.utils import InvalidSdistFilename, parse_sdist_filename  # noqa: PLC0415  # only when building

        from tox_venvsync._lock._model import Pick  # noqa: PLC0415  # only when building

        try:
            name, version = parse_sdist_filename(sdist.name)
        except InvalidSdistFilename as exc:
            reason = "its file name is not an sdist's (name-version.tar.gz)"
            raise BuildError(_PROJECT, str(sdist), reason) from exc
        pick = Pick(name=name, version=version, kind="sdist", artifact=None, context=_PROJECT)
        with tempfile.TemporaryDirectory(prefix="venvsync-sdist-", dir=self._scratch) as tmp:
            tree = _unpack_archive(pick, sdist, Path(tmp))
            return self._build(pick, tree, into, "wheel", str(sdist))

    def _build_into(self, pick: Pick, tree: Path, out: Path, distribution: Distribution, source: str) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self._cache.tmp_dir(), prefix="built-"))
        try:
            wheel = self._build(pick, tree, staging, distribution, source)
            staging.rename(out)  # atomic: the cache holds a finished wheel or nothing
        except OSError:
            if (done := _cached_wheel(out)) is None:
                raise
            return done  # another run built the same thing first
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return out / wheel.name

    def _build(self, pick: Pick, tree: Path, into: Path, distribution: Distribution, source: str) -> Path:
        from build import BuildBackendException, BuildException, ProjectBuilder  # noqa: PLC0415  # only when building

        _interrupt.check()  # after tox's Ctrl-C no build starts: its venv, pip and backend would never get the Ctrl-C
        _quiet_backend_warnings()
        environ = self._environ

        def runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
            _quiet_runner(cmd, cwd, {**environ, **(extra_environ or {})})

        with tempfile.TemporaryDirectory(prefix="venvsync-build-env-", dir=self._scratch) as env_dir:
            python = _isolated_env(pick, Path(env_dir), self._target, source, environ)
            held = Path(env_dir, "build-constraints.txt") if self._held_to else None
            if held is not None:  # as uv builds under the lock's build constraints
                held.write_text("".join(f"{constraint}\n" for constraint in self._held_to), encoding="utf-8")
            try:
                builder = ProjectBuilder(tree, python_executable=str(python), runner=runner)
                install = functools.partial(_pip_install, offline=self._offline, constraints=held)
                install(pick, python, builder.build_system_requires, source, environ)
                install(pick, python, builder.get_requires_for_build(distribution), source, environ)
                return Path(builder.build(distribution, into))
            except (BuildException, BuildBackendException) as exc:
                reason = _backend_said(exc)
                if _no_room(reason):  # the backend's own error names neither the disk nor what to do
                    reason += (
                        f"; the build writes into {tree}, {env_dir} and {into}: free some space on their disks "
                        "and run again"
                    )
                # a read-only checkout: setuptools writes build/ and *.egg-info there
                elif not os.access(tree, os.W_OK):
                    reason += (
                        f"; {tree} is read-only to this user, and a build backend may write into its source tree "
                        "(setuptools does): make it writable, or build from a writable copy"
                    )
                raise BuildError(pick.name, source, reason, output=_printed(exc)) from exc


def _quiet_backend_warnings() -> None:
    """The backend's warnings are its output, kept quiet as the rest of it.

    pyproject_hooks 1.3 raises each one again in this process (setuptools' deprecation notices run to dozens of
    lines); before 1.3 they stayed in the backend's process, and there is nothing to filter. Added again at each
    build, so that it comes first (a filter already there moves to the front); no catch_warnings, which tox p's
    threads would race on.
    """
    try:
        from pyproject_hooks import BuildBackendWarning  # noqa: PLC0415  # only when building
    except ImportError:  # pyproject_hooks < 1.3 (build allows it)
        return
    warnings.filterwarnings("ignore", category=BuildBackendWarning)


#: why a lock's directory without a project's files cannot be built (a Docker layer made before the sources came)
_NO_PROJECT = (
    "it has no pyproject.toml or setup.py; copy the sources there before the sync (for a layer of the "
    "dependencies alone, venvsync sync --no-install-project leaves the project's own entry out)"
)


#: what an offline build whose requirements pip did not find can do
_OFFLINE_REQUIREMENTS = (
    "; offline, pip downloads nothing and looks only in its find-links: sync online, or name a directory "
    "holding them in PIP_FIND_LINKS"
)


def not_built(pick: Pick) -> str:
    """A commit offline cannot clone, as :class:`OfflineError` lists it: the wheel that would be built from it."""
    vcs = pick.vcs
    return f"{pick.name} (the wheel built from {vcs.url}@{vcs.commit})" if vcs is not None else str(pick.name)


#: what pip and build take for a project whose ``pyproject.toml`` names no ``[build-system]`` (PEP 517's fallback)
_DEFAULT_REQUIRES = ("setuptools>=40.8.0",)


def build_requires(tree: Path) -> list[str] | None:
    """The build requirements of the project in ``tree`` (its ``[build-system] requires``), read without building.

    ``None`` when they cannot be known so (no readable ``pyproject.toml`` nor ``setup.py``, a ``requires`` that is no
    list of strings). Only the static ones: the backend may ask for more when it builds.
    """
    from tox_venvsync._lock._toml import read_toml  # noqa: PLC0415  # only when an offline sync tells what it lacks

    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        return list(_DEFAULT_REQUIRES) if (tree / "setup.py").is_file() else None
    try:
        system = read_toml(pyproject)[1].get("build-system")
    except (VenvSyncError, OSError):
        return None
    if system is None:
        return list(_DEFAULT_REQUIRES)
    requires = system.get("requires") if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(line, str) for line in requires):
        return None
    return [str(line) for line in requires]


def not_a_project(tree: Path) -> str | None:
    """Why a lock's source tree cannot be built (no directory, or no project's files in it), else ``None``."""
    if not tree.is_dir():
        return no_directory(tree)
    if not any((tree / name).is_file() for name in ("pyproject.toml", "setup.py")):
        return _NO_PROJECT
    return None


def no_directory(path: Path) -> str:
    """Why a lock's source tree at ``path`` cannot be built: nothing is there, or something that is no directory."""
    if path.exists():
        return "it is a file, not a directory; check the path in the lock"
    return "the directory does not exist; check the path in the lock"


def _as_locked(pick: Pick, wheel: Path, source: str) -> Path:
    """``wheel``, once its name, and a version the lock gives, are found to be the lock's.

    A wheel from the lock is checked when it is placed (its ``.dist-info``); a build names itself, and a lock
    whose entry ``proj`` builds ``projz`` would install a package the lock does not name (or ``eps-1.0.tar.gz``
    that builds 2.0 a version it does not, which the next sync then takes for in sync and ``verify`` not).
    A local directory's or a commit's version is not held to the lock's: one computed from the tree or its
    tags (setuptools-scm) moves with them (a tag added to the locked commit later changes it, and uv installs
    what the build says); an sdist's and an archive's are fixed by their hashed bytes.
    """
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415  # only when building

    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise BuildError(pick.name, source, f"the build made {wheel.name}, which is not a wheel's name") from exc
    if name != pick.name:
        reason = f"the build made {wheel.name}, a wheel of {name}; correct the name in the lock, or lock again"
        raise BuildError(pick.name, source, reason)
    if pick.kind in {"sdist", "archive"} and pick.version is not None and version != pick.version:
        reason = f"the build made version {version} where the lock says {pick.version}; lock again"
        raise BuildError(pick.name, source, reason)
    return wheel


#: virtualenv's settings that make a venv without pip
_NO_PIP = frozenset({"VIRTUALENV_NO_SEED", "VIRTUALENV_NO_PIP"})


def _isolated_env(pick: Pick, path: Path, target: Target, source: str, environ: Mapping[str, str]) -> Path:
    from virtualenv import cli_run  # noqa: PLC0415  # only when building

    args = [str(path), "--python", target.executable, "--no-periodic-update", "--quiet"]
    # the build's requirements are installed with the environment's pip: a setting of the user's shell that leaves
    # venvs without it (for tox's own, which venv_seed sets) is not the build's
    settings = {key: value for key, value in environ.items() if key.upper() not in _NO_PIP}
    try:
        cli_run(args, setup_logging=False, env=settings)
    except (SystemExit, RuntimeError, OSError) as exc:
        raise BuildError(pick.name, source, f"cannot create the build environment ({exc})") from exc
    return path / "bin" / "python"


def _pip_install(  # noqa: PLR0913  # the build's facts, and whether pip may download
    pick: Pick,
    python: Path,
    requirements: Sequence[str] | set[str],
    source: str,
    environ: Mapping[str, str],
    *,
    offline: bool = False,
    constraints: Path | None = None,
) -> None:
    """Install a build's requirements into its isolated environment; offline, from pip's find-links alone.

    ``constraints``: a file of the versions they are held to (pip's ``--constraint``).
    """
    if not requirements:
        return
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # --sync-offline downloads nothing: pip looks in no index, only in the find-links directories it is given
    command += ["--no-index"] if offline else []
    command += ["--constraint", str(constraints)] if constraints is not None else []
    result = subprocess.run(
        [*command, *sorted(requirements)], capture_output=True, text=True, check=False, env=dict(environ)
    )
    if result.returncode != 0:
        reason = f"installing its build requirements failed ({_last_line(result.stderr or result.stdout)})"
        output = printed(result.stdout, result.stderr)
        raise BuildError(pick.name, source, reason + (_OFFLINE_REQUIREMENTS if offline else ""), output=output)


def _quiet_runner(cmd: Sequence[str], cwd: str | None, environ: Mapping[str, str]) -> None:
    result = subprocess.run(list(cmd), cwd=cwd, env=dict(environ), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, cmd, result.stdout, result.stderr)


#: what git says when the repository it was given is not there: a local path, a file: URL, an HTTP(S) 404
_NOT_A_REPOSITORY = ("does not appear to be a git repository", "' does not exist", "' not found")
#: what git says when a clone has no such commit (``checkout --detach <commit>``)
_NOT_A_COMMIT = ("reference is not a tree", "did not match any", "unable to read tree", "bad object")
#: what to do about each: the lock is to fix (exit code 2), as a lock URL its server answers HTTP 404 for
_NO_REPOSITORY = "the URL names no git repository (or none this login may read); correct it in the lock, or lock again"
_NO_COMMIT = "the repository has no commit {commit} (a branch pushed over, a commit removed); lock again"
#: what to do about another failure of a clone or of the submodules: the network's, a proxy's or a login's, as a
#: download's (exit code 1)
_CLONE = "check that git reaches the URL from here (the network, a proxy, the login for its host), then sync again"
_SUBMODULES = (
    "check that git reaches each submodule's URL in that commit's .gitmodules from here (the network, a proxy, the "
    "login for its host), then sync again"
)


class GitError(BuildError):
    """A git step of a build (the clone, the checkout of the commit, its submodules) failed; the sentence names it."""

    def __init__(self, doing: str, reason: str, *, output: str = "") -> None:
        VenvSyncError.__init__(self, f"{doing}: {reason}", output=output)


class GitSourceError(GitError):
    """A git repository or commit the lock names that is not there (bad input: exit code 2)."""

    exit_code = 2


def _git(
    doing: str,
    args: list[str],
    environ: Mapping[str, str],
    remedy: str,
    *,
    absent: tuple[str, Sequence[str]] = ("", ()),
) -> None:
    """Run git; a failure says what it was ``doing`` (the clone, the checkout of the commit), git's reason, what to do.

    ``absent``: what to do when git's failure says one of its phrases (what the lock names is not there): bad
    input; any other failure (the network, a login refused, a full disk) fails the sync (exit code 1), with
    ``remedy`` (none: git's words are all there is to say, a full disk's, say).
    """
    git = shutil.which("git")
    if git is None:
        raise GitError(doing, "git is not installed; install git where the sync runs (the lock names a git source)")
    result = subprocess.run([git, *args], capture_output=True, text=True, check=False, env=dict(environ))
    if result.returncode == 0:
        return
    said = _git_said(result.stderr)
    fix, phrases = absent
    if any(phrase in said for phrase in phrases):
        raise GitSourceError(doing, f"{said}; {fix}", output=result.stderr)
    raise GitError(doing, f"{said}; {remedy}" if remedy else said, output=result.stderr)


def _git_login(url: str, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """``url`` without its login, and ``environ`` with git configured to send that login to its host.

    A login in the URL given to ``git clone`` is on its command line, which every user of the machine reads
    (``ps``, ``/proc/<pid>/cmdline``) while the clone runs, and in the checkout's ``.git/config``. It goes in
    the environment instead, as an ``http.<scheme>://<host>/.extraHeader`` (git 2.31's ``GIT_CONFIG_COUNT``),
    which only the user and root read, and only to that host, as git sends the URL's login.
    """
    import base64  # noqa: PLC0415  # a URL with a login only
    from urllib.parse import unquote, urlsplit, urlunsplit  # noqa: PLC0415

    try:
        parts = urlsplit(url)
    except ValueError:
        return url, dict(environ)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or parts.scheme.lower() not in {"http", "https"}:
        return url, dict(environ)  # ssh's user (git@) is no secret; its key is ssh's
    user, _, password = userinfo.partition(":")
    login = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    given = environ.get("GIT_CONFIG_COUNT", "")
    # the user's own entries come first; "²" is a digit to isdigit, and no number to int()
    count = int(given) if given.isascii() and given.isdigit() else 0
    header = {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": f"http.{parts.scheme.lower()}://{host}/.extraHeader",
        f"GIT_CONFIG_VALUE_{count}": f"Authorization: Basic {login}",
    }
    return urlunsplit(parts._replace(netloc=host)), {**environ, **header}


@functools.cache
def _git_reads_config_from_env() -> bool:
    """Whether git reads ``GIT_CONFIG_COUNT`` (2.31 and later); an older one is given the URL's login as it is."""
    git = shutil.which("git")
    if git is None:
        return False
    result = subprocess.run([git, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"git version (\d+)\.(\d+)", result.stdout)
    return found is not None and (int(found[1]), int(found[2])) >= (2, 31)


def _git_said(stderr: str) -> str:
    """The reason git gives: its first ``fatal:`` or ``error:`` line (its last one is advice)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith(("fatal:", "error:"))), _last_line(stderr))


def _unpack_archive(pick: Pick, archive: Path, into: Path) -> Path:
    """The source tree inside an sdist or archive; ``tarfile``'s data filter refuses hostile members."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as handle:
                for member in handle.namelist():
                    if member.startswith("/") or ".." in member.split("/"):
                        raise BuildError(pick.name, archive.name, f"the entry {member!r} would escape the build")
                handle.extractall(into)  # noqa: S202  # every member checked above
        else:
            with tarfile.open(archive) as handle:
                _extract_tar(pick, archive, handle, into)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        if isinstance(exc, OSError) and exc.errno in FULL:  # no room for the tree: the disk's to fix, not the archive
            raise OSError(exc.errno, exc.strerror, exc.filename or os.fspath(into)) from exc
        raise BuildError(pick.name, archive.name, f"the archive cannot be unpacked ({exc})") from exc
    except RuntimeError as exc:  # zipfile's encrypted member, or a compression method it lacks (NotImplementedError)
        reason = "the archive cannot be unpacked: a member is encrypted, or compressed in a way zipfile cannot read"
        raise BuildError(pick.name, archive.name, reason) from exc
    entries = list(into.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else into
    tree = _below(pick, root, pick.subdirectory, archive.name)  # the pylock reader refuses it; the other formats here
    if tree != root and not tree.is_dir():
        reason = f"it has no directory {pick.subdirectory!r}, the subdirectory the lock names at {pick.context}"
        raise BuildError(pick.name, archive.name, reason)
    return tree


def _extract_tar(pick: Pick, archive: Path, handle: tarfile.TarFile, into: Path) -> None:
    """Extract a tar archive with tarfile's ``data`` filter, or as strictly where this Python has none.

    The filter came with 3.10.12, 3.11.4 and 3.12; a Python before it (Debian 12's 3.11.2) refuses the ``filter``
    argument with a ``TypeError``, which ended every build of an sdist in a traceback. There, as pip does, each
    member is checked here before it is extracted: only files and directories whose path stays inside ``into``
    (path traversal: an sdist is data from the internet), without the set-id bits, group or world write and the
    archive's owner; links and device files are refused rather than followed.
    """
    if hasattr(tarfile, "data_filter"):
        handle.extractall(into, filter="data")
        return
    root = into.resolve()
    for member in handle:
        if not (member.isfile() or member.isdir()):
            reason = (
                f"the entry {member.name!r} is a link or a special file, which this Python cannot unpack safely (its "
                "tarfile has no data filter: 3.10.12, 3.11.4 and later have one); run with a newer Python"
            )
            raise BuildError(pick.name, archive.name, reason)
        if Path(member.name).is_absolute() or not (root / member.name).resolve().is_relative_to(root):
            raise BuildError(pick.name, archive.name, f"the entry {member.name!r} would escape the build")
        member.mode = 0o755 if member.isdir() else (member.mode & 0o755) | 0o600
        member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
        handle.extract(member, into, set_attrs=not member.isdir())  # checked above


def _below(pick: Pick, root: Path, subdirectory: str | None, source: str) -> Path:
    """``root``'s ``subdirectory`` the lock names, refused when it is not inside ``root`` (a git checkout).

    Path traversal: the value comes from the lock (only the ``pylock.toml`` reader checks it); ``../..``, an
    absolute path, or a link in the checkout leading out would build (and cache as this commit's wheel)
    whatever project lies there on this machine. An unpacked archive's as well.
    """
    if not subdirectory:
        return root
    tree = root / subdirectory
    try:
        inside = tree.resolve().is_relative_to(root.resolve())
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL in it, a loop of links on the way: no traceback
        raise OutOfTreeError(pick, subdirectory, source, why=f"is not a usable path ({exc})") from exc
    if not inside:
        raise OutOfTreeError(pick, subdirectory, source)
    return tree


class OutOfTreeError(BuildError):
    """A lock's ``subdirectory`` that leads out of the source tree it is for (bad input: exit code 2)."""

    exit_code = 2

    def __init__(self, pick: Pick, subdirectory: str, source: str, *, why: str = "") -> None:
        """``why``: what is wrong with it, where that is not that it leads out."""
        at = f" at {pick.context}" if pick.context else ""
        what = why or "leads out of the source tree, and a subdirectory must be a path inside it"
        reason = (
            f"the subdirectory {subdirectory!r} the lock names{at} {what}; correct that value, or lock again with "
            "the tool that wrote the file"
        )
        super().__init__(pick.name, source, reason)


def _fits_before_build(tree: Path, target: Target, pick: Pick, archive: Path) -> None:
    """Refuse a pinned sdist whose ``PKG-INFO`` ``Requires-Python`` excludes the interpreter, before building it.

    pip and uv pass such a file over by the index's ``data-requires-python`` and never build it; building it
    anyway fails in the backend for a reason that names no Python (numpy 2.2.6 on 3.9), or takes long to make a
    wheel that its own ``Requires-Python`` refuses at install.
    """
    from tox_venvsync._apply import fits_python  # noqa: PLC0415  # only for requirements pins built here

    try:
        metadata = (tree / "PKG-INFO").read_text(encoding="utf-8", errors="replace")
    except OSError:  # no PKG-INFO (an archive, not an sdist): the built wheel's METADATA is checked at install
        return
    fits_python(metadata, target, pick.name, archive.name)


def _no_room(said: str) -> bool:
    """Whether a backend's error (:func:`_backend_said`) is a full disk's or quota's, as Python words it here."""
    return any(f"[Errno {code}] {os.strerror(code)}" in said for code in FULL)


def _cached_wheel(out: Path) -> Path | None:
    wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
    return wheels[0] if wheels else None


def _backend_said(exc: Exception) -> str:
    """The backend's error from its stderr (:func:`_error_line`), else what ``build`` says of the failure."""
    failed = getattr(exc, "exception", None)
    said = _error_line(failed.stderr) if isinstance(failed, subprocess.CalledProcessError) and failed.stderr else ""
    return said or _last_line(str(exc))


def _printed(exc: Exception) -> str:
    """What the failed backend (or the pip installing its requirements) printed, for ``tox -v``; else nothing."""
    failed = getattr(exc, "exception", None)
    if not isinstance(failed, subprocess.CalledProcessError):
        return ""
    return printed(failed.stdout, failed.stderr)


#: how Python begins the traceback of an exception it prints
_TRACEBACK = "Traceback (most recent call last):"


def _error_line(stderr: str) -> str:
    """The backend's error: the exception line of the last traceback in ``stderr``, else its last line.

    A backend that raises leaves a traceback whose exception line says what failed; the lines after it belong to
    the same message. hatchling's ``ValueError: Unable to determine which files to ship ...`` and setuptools-scm's
    ``LookupError: setuptools-scm was unable to detect version ...`` go on with paragraphs of advice, whose last
    line (``packages = ["src/foo"]``) named no error. Without a traceback (setuptools' ``error: ...`` from a
    ``SystemExit``), the last line is the error.
    """
    _, marker, after = stderr.rpartition(_TRACEBACK)
    if marker:
        # the frames are indented; the first line that is not starts the exception's message
        lines = (line.strip() for line in after.splitlines() if line.strip() and not line[:1].isspace())
        if (found := next(lines, None)) is not None:
            return found
    return _last_line(stderr)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
