"""The PEP 751 ``pylock.toml`` reader; selection is ``packaging.pylock.Pylock.select``."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockSelectError,
    PylockUnsupportedVersionError,
    PylockValidationError,
)
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from tox_venvsync._errors import LockFileError, SelectionError, named
from tox_venvsync._lock._file import resolved
from tox_venvsync._lock._model import (
    HASH_ALGORITHMS,
    Artifact,
    DirectorySource,
    Pick,
    VcsSource,
    named_all,
    not_a_commit,
    not_a_git_url,
    not_in_lock,
    one_line,
    tag_summary,
    wrong_digest,
)
from tox_venvsync._lock._toml import read_toml
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.markers import Marker
    from packaging.pylock import Package
    from packaging.tags import Tag

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target


_LOGGER = logging.getLogger(__name__)
_OTHER_PYTHON = "use an interpreter the lock supports or export the lock again for this one"
#: ``packaging.pylock``'s sentence for a value of the wrong type, which names Python's types (``int``, ``dict``)
_WRONG_TYPE = re.compile(r"Unexpected type (?P<actual>\w+) \(expected (?P<expected>\w+)\)")
#: TOML's names for the Python types of those sentences, as the other readers name them
_TOML_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a float",
    "bool": "a boolean",
    "dict": "a table",
    "Mapping": "a table",
    "list": "an array",
    "Sequence": "an array",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}
#: the newest ``lock-version`` this reader knows; a newer 1.x is read as this one, with a warning (PEP 751)
KNOWN_VERSION = Version("1.0")


def read_pylock(path: Path) -> PylockFile:
    """Read and validate a ``pylock.toml``; every problem names the file and the key."""
    _, data = read_toml(path)
    return parse_pylock(path, data)


def parse_pylock(path: Path, data: Mapping[str, Any]) -> PylockFile:
    """Validate parsed ``pylock.toml`` content (``path`` is for messages and relative paths)."""
    packaging_log = logging.getLogger("packaging.pylock")
    packaging_log.addFilter(_newer_minor)
    try:
        pylock = Pylock.from_dict(data)
    except PylockUnsupportedVersionError as exc:
        msg = f"{exc.message}; this tool reads lock-version 1.x, re-create the lock with a PEP 751 version 1 writer"
        raise LockFileError(path, msg, context="lock-version") from exc
    except PylockValidationError as exc:
        reason = (
            f"{_in_toml(one_line(exc.message))}; correct that value, or lock again with the tool that wrote the file"
        )
        raise LockFileError(path, reason, context=exc.context) from exc
    finally:
        packaging_log.removeFilter(_newer_minor)
    if pylock.lock_version > KNOWN_VERSION:  # PEP 751: a tool that knows the major version but not the minor warns
        _LOGGER.warning(
            "%s: lock-version %s is newer than %s, the version this tool reads; it is read as %s, and what the "
            "newer version adds is not used",
            path,
            pylock.lock_version,
            KNOWN_VERSION,
            KNOWN_VERSION,
        )
    return PylockFile(path=path, pylock=pylock)


def _in_toml(message: str) -> str:
    """``message`` with "Unexpected type int (expected str)" in TOML's words: "must be a string, not an integer"."""
    found = _WRONG_TYPE.fullmatch(message)
    if found is None:
        return message
    expected, actual = (_TOML_TYPES.get(found[key], found[key]) for key in ("expected", "actual"))
    return f"must be {expected}, not {actual}"


def _newer_minor(record: logging.LogRecord) -> bool:
    """Leave out ``packaging``'s "pylock minor version 1.1 is not supported": it names no file, and the lock is read."""
    return not str(record.msg).startswith("pylock minor version")


@frozen
class PylockFile:
    """A validated ``pylock.toml``."""

    path: Path
    pylock: Pylock
    format: str = "pylock"

    def select(self, target: Target, request: Request) -> list[Pick]:
        """The spec's installation algorithm (a flat marker filter), done by ``packaging``."""
        request = named_all(
            request,
            self.path,
            extras=self.pylock.extras or (),
            groups=map(
                canonicalize_name, (*(self.pylock.dependency_groups or ()), *(self.pylock.default_groups or ()))
            ),
        )
        self._check_request(request)
        groups = self._groups(request)
        index_of = {id(package): index for index, package in enumerate(self.pylock.packages)}
        tags = target.tags
        try:
            chosen = list(
                self.pylock.select(
                    environment=target.markers,  # type: ignore[arg-type]  # a full marker environment
                    tags=tags,
                    extras=request.extras,
                    dependency_groups=groups,
                ),
            )
        except PylockSelectError as exc:
            raise SelectionError(self.path, self._select_failure(str(exc), target, request)) from exc
        except (UndefinedEnvironmentName, UndefinedComparison) as exc:
            raise SelectionError(self.path, self._unusable_marker(exc, target, request, groups)) from exc
        return [self._pick(package, artifact, f"packages[{index_of[id(package)]}]") for package, artifact in chosen]

    def _unusable_marker(
        self, exc: Exception, target: Target, request: Request, groups: frozenset[str] | set[str]
    ) -> str:
        """Which marker cannot be evaluated (``extra == 'x'``: a lock has ``extras``, a set), and how to write it."""
        reason = f"{exc} is no marker variable of a lock" if isinstance(exc, UndefinedEnvironmentName) else str(exc)
        reason = reason.rstrip(".")
        lock_env: dict[str, object] = {
            **target.markers,
            "extras": set(request.extras),
            "dependency_groups": set(groups),
        }
        plain: dict[str, object] = dict(target.markers)
        candidates = [
            *((f"environments[{i}]", m, plain, "requirement") for i, m in enumerate(self.pylock.environments or ())),
            *(
                (f"packages[{i}].marker", p.marker, lock_env, "lock_file")
                for i, p in enumerate(self.pylock.packages)
                if p.marker
            ),
        ]
        found = next((f" {str(m)!r} at {where}" for where, m, env, ctx in candidates if _fails(m, env, ctx)), "")
        return (
            f"the marker{found} cannot be evaluated ({reason}); a lock tests extras and dependency groups as "
            "\"'name' in extras\" and \"'name' in dependency_groups\" (PEP 751)"
        )

    def _check_request(self, request: Request) -> None:
        if request.only_groups:
            reason = (
                f"a pylock.toml does not tell the project's own dependencies from a group's, so {named('only_groups')} "
                "cannot leave them out; export a lock of only those groups (uv export --only-group NAME --format "
                "pylock.toml) or use the uv.lock, poetry.lock or pdm.lock"
            )
            raise SelectionError(self.path, reason)
        have_extras: set[str] = set(self.pylock.extras or ())
        if missing := sorted(request.extras - have_extras):
            raise SelectionError(self.path, not_in_lock("extra", missing, have_extras))
        have_groups = {
            canonicalize_name(g) for g in (*(self.pylock.dependency_groups or ()), *(self.pylock.default_groups or ()))
        }
        if missing := sorted(request.groups - have_groups - request.lenient_groups):
            raise SelectionError(self.path, not_in_lock("dependency group", missing, have_groups))

    def _groups(self, request: Request) -> frozenset[str]:
        all_defaults = {canonicalize_name(g) for g in self.pylock.default_groups or ()}
        defaults = all_defaults if request.default_groups else all_defaults & self._project_own
        return frozenset(defaults | request.groups) - request.no_groups

    @property
    def _project_own(self) -> set[str]:
        """PDM's ``default`` group: the project's own dependencies, always selected (as in a ``pdm.lock``).

        PDM writes the project's dependencies as a group of that name and lists it in ``default-groups``;
        leaving it out when a tox environment names its groups would leave out what the project needs.
        """
        return {"default"} if self.pylock.created_by.strip().lower() == "pdm" else set()

    def _select_failure(self, message: str, target: Target, request: Request) -> str:
        """The refusal of ``packaging`` as a sentence that names the key and what to do, as the uv.lock reader's do.

        packaging says which check failed ("python_full_version '3.10.13' in provided environment does not satisfy
        the Python version requirement '>=3.12'") but not the key; the checks are made again, in its order, to tell.
        """
        if message.startswith("No wheel found"):
            return self._no_wheel_message(target, request) or message
        python = f"the interpreter {target.executable} is Python {target.python_full_version}"
        if (wanted := self.pylock.requires_python) is not None and not wanted.contains(_full_version(target)):
            return f"the lock requires Python {wanted} (requires-python) but {python}; {_OTHER_PYTHON}"
        environments = self.pylock.environments
        if environments is not None and not any(marker.evaluate(dict(target.markers)) for marker in environments):
            listed = "; ".join(str(marker) for marker in environments) or "none"
            where = f"{target.executable} (Python {target.python_full_version} on {target.markers['sys_platform']})"
            return f"no marker of the lock's environments ({listed}) holds for the interpreter {where}; {_OTHER_PYTHON}"
        return self._package_failure(target, request) or f"{message}; {python}; {_OTHER_PYTHON}"

    def _package_failure(self, target: Target, request: Request) -> str | None:
        """The selected package whose ``requires-python`` excludes the interpreter, or two selected of one name."""
        env = self._lock_environment(target, request)
        first: dict[str, int] = {}
        for index, package in enumerate(self.pylock.packages):
            if package.marker is not None and not package.marker.evaluate(env, context="lock_file"):  # type: ignore[arg-type]
                continue
            if (wanted := package.requires_python) is not None and not wanted.contains(_full_version(target)):
                return (
                    f"{package.name} at packages[{index}] requires Python {wanted} (packages[{index}].requires-python) "
                    f"but the interpreter {target.executable} is Python {target.python_full_version}; {_OTHER_PYTHON}"
                )
            if package.name in first:
                return (
                    f"packages[{first[package.name]}] and packages[{index}] are both {package.name} and both their "
                    f"markers hold for the interpreter {target.executable} with the extras and groups selected, so "
                    "the lock is ambiguous (PEP 751 wants one entry); correct their markers, or lock again with the "
                    "tool that wrote the file"
                )
            first[package.name] = index
        return None

    def _lock_environment(self, target: Target, request: Request) -> dict[str, object]:
        """The marker environment of the lock's packages: the interpreter's, with ``extras`` and groups as sets."""
        return {**target.markers, "extras": frozenset(request.extras), "dependency_groups": self._groups(request)}

    def _no_wheel_message(self, target: Target, request: Request) -> str | None:
        env = self._lock_environment(target, request)
        supported = set(target.tags)
        for index, package in enumerate(self.pylock.packages):
            if package.marker is not None and not package.marker.evaluate(env, context="lock_file"):  # type: ignore[arg-type]
                continue
            wheels = package.wheels or ()
            if wheels and package.sdist is None and not any(_wheel_tags(w) & supported for w in wheels):
                return (
                    f"no wheel of {package.name} at packages[{index}] fits the interpreter {target.executable} "
                    f"(Python {target.python_full_version}, tags {tag_summary(target.tags)}); the lock has "
                    f"{', '.join(w.filename for w in wheels)}: re-lock for this interpreter or use another Python"
                )
        return None

    def _pick(self, package: Package, artifact: object, context: str) -> Pick:
        if isinstance(artifact, PackageWheel):
            at = next(i for i, w in enumerate(package.wheels or ()) if w is artifact)  # as packaging names its place
            return self._file_pick(package, "wheel", artifact, f"{context}.wheels[{at}]")
        if isinstance(artifact, PackageSdist):
            return self._file_pick(package, "sdist", artifact, f"{context}.sdist")
        if isinstance(artifact, PackageVcs):
            if artifact.type == "git" and (reason := not_a_commit(artifact.commit_id)) is not None:
                reason += "; correct that value, or lock again with the tool that wrote the file"
                raise LockFileError(self.path, reason, context=f"{context}.vcs.commit-id")
            if artifact.type == "git" and artifact.url and (reason := not_a_git_url(artifact.url)) is not None:
                reason += "; correct that value, or lock again with the tool that wrote the file"
                raise LockFileError(self.path, reason, context=f"{context}.vcs.url")
            vcs = VcsSource(
                type=artifact.type,
                url=artifact.url or self._resolved(artifact.path or "", f"{context}.vcs.path").as_uri(),
                commit=artifact.commit_id,
                requested=artifact.requested_revision,
                subdirectory=self._subdirectory(artifact.subdirectory, f"{context}.vcs.subdirectory"),
            )
            return Pick(name=package.name, version=package.version, kind="vcs", artifact=None, context=context, vcs=vcs)
        if isinstance(artifact, PackageDirectory):
            directory = DirectorySource(
                path=self._resolved(artifact.path, f"{context}.directory.path"),
                editable=bool(artifact.editable),
                subdirectory=self._subdirectory(artifact.subdirectory, f"{context}.directory.subdirectory"),
            )
            return Pick(
                name=package.name,
                version=package.version,
                kind="directory",
                artifact=None,
                context=context,
                directory=directory,
            )
        assert isinstance(artifact, PackageArchive)  # noqa: S101  # select() yields only these five types
        return self._file_pick(package, "archive", artifact, f"{context}.archive")

    def _file_pick(
        self,
        package: Package,
        kind: Literal["wheel", "sdist", "archive"],
        artifact: PackageWheel | PackageSdist | PackageArchive,
        context: str,
    ) -> Pick:
        filename = artifact.filename if not isinstance(artifact, PackageArchive) else _archive_name(artifact)
        version = package.version
        if kind == "wheel":
            try:
                _, wheel_version, _, _ = parse_wheel_filename(filename)
            except InvalidWheelFilename as exc:
                raise LockFileError(self.path, str(exc), context=context) from exc
            version = version or wheel_version
        local = self._resolved(artifact.path, f"{context}.path") if artifact.path else None
        use_path = local is not None and (artifact.url is None or local.is_file())
        subdirectory = artifact.subdirectory if isinstance(artifact, PackageArchive) else None
        return Pick(
            name=package.name,
            version=version,
            kind=kind,
            artifact=Artifact(
                filename=filename,
                url=None if use_path else artifact.url,
                path=local if use_path else None,
                size=artifact.size,
                hashes=self._hashes(artifact, context),
            ),
            index=package.index,
            context=context,
            subdirectory=self._subdirectory(subdirectory, f"{context}.subdirectory"),
            direct=kind == "archive",  # PEP 751's direct references are archive, directory and vcs entries
        )

    def _resolved(self, relative: str, context: str) -> Path:
        """A path the lock gives, from the lock's directory, with its links resolved (one sentence if it cannot be)."""
        return resolved(
            self.path,
            self.path.parent / relative,
            context,
            "correct that value, or lock again with the tool that wrote the file",
        )

    def _subdirectory(self, value: str | None, context: str) -> str | None:
        """A ``subdirectory`` the project is built from: relative to the source tree and inside it, as PEP 751 says."""
        if value is None or not (value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/")):
            return value
        reason = (
            f"{value!r} leads out of the source tree, and a subdirectory must be a path inside it; correct that "
            "value, or lock again with the tool that wrote the file"
        )
        raise LockFileError(self.path, reason, context=context)

    def _hashes(self, artifact: PackageWheel | PackageSdist | PackageArchive, context: str) -> dict[str, str]:
        """The artifact's hashes, lower-cased; a sha256, sha384 or sha512 value that is no hex digest is refused.

        ``packaging`` checks only that the values are strings (and the size an integer). The digest verified is
        also the file's address in the cache: a value such as ``/home/me/dist`` would take a file found there,
        unverified, for the locked one. A negative size is refused too: no download could match it.
        """
        fix = "correct that value, or lock again with the tool that wrote the file"
        if artifact.size is not None and artifact.size < 0:
            raise LockFileError(self.path, f"{artifact.size} is no file size; {fix}", context=f"{context}.size")
        for key, value in artifact.hashes.items():
            if (wrong := wrong_digest(key, value)) is not None:
                raise LockFileError(self.path, f"{wrong}; {fix}", context=f"{context}.hashes.{key}")
        if not any(key.lower() in HASH_ALGORITHMS for key in artifact.hashes):  # hash before install: none to check
            given = ", ".join(sorted(artifact.hashes))
            reason = (
                f"{given} only: no sha256, sha384 or sha512 hash to check the file's bytes with before it is "
                "installed; add one, or lock again with the tool that wrote the file"
            )
            raise LockFileError(self.path, reason, context=f"{context}.hashes")
        return {key.lower(): value.lower() for key, value in artifact.hashes.items()}


def _full_version(target: Target) -> str:
    """``python_full_version`` as ``packaging.pylock`` (and pip with it) holds it against a ``requires-python``.

    Not :attr:`Target.python_release`: a pre-release ``3.14.0rc1`` stays one (``>=3.14`` does not hold), and a
    source build's ``3.12.1+`` reads as ``3.12.1+local``, as ``packaging`` repairs it.
    """
    full = target.python_full_version
    return f"{full}local" if full.endswith("+") else full


def _archive_name(archive: PackageArchive) -> str:
    source = archive.path or urlparse(archive.url or "").path
    return unquote(Path(source).name) or "archive"


def _wheel_tags(wheel: PackageWheel) -> frozenset[Tag]:
    try:
        return parse_wheel_filename(wheel.filename)[3]
    except InvalidWheelFilename:
        return frozenset()


def _fails(marker: Marker, environment: Mapping[str, object], context: str) -> bool:
    try:
        marker.evaluate(environment, context)  # type: ignore[arg-type]  # sets for extras and groups
    except (UndefinedEnvironmentName, UndefinedComparison):
        return True
    return False
