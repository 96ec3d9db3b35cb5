"""Target: the facts of the venv's interpreter (markers, wheel tags, install scheme), asked of it once."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tox_venvsync._atomic import write_atomic
from tox_venvsync._cache import Cache
from tox_venvsync._errors import FULL, REFUSED, InterpreterError, ReplacedInterpreterError
from tox_venvsync._location import read_pyvenv_cfg, venv_python_version
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.tags import Tag
    from packaging.version import Version

# packaging, subprocess and tempfile are imported where a query runs or tags are parsed: a sync that finds
# the venv in sync needs neither (the command line's no-op would pay ~20 ms for them).

#: the oldest Python whose environments this engine makes: the oldest virtualenv bundles a pip for
OLDEST = (3, 9)
#: the oldest Python the ``packaging`` and pip here run on; an older one takes its wheel tags from the
#: packaging inside the pip virtualenv bundles for it, and tox's deps are installed by that pip
OWN_PACKAGING = (3, 10)
#: the query's exit code for an interpreter older than :data:`OLDEST`
_TOO_OLD = 3
#: the query's exit code for one older than :data:`OWN_PACKAGING` asked without the bundled pip
_NEEDS_PIP = 4

#: The script the target interpreter runs; ``packaging`` is made importable from a private directory.
#: ``venv_scheme`` is where a venv made from it keeps its files, with ``_VENV`` standing for the venv.
#: The marker environment is built as ``packaging.markers.default_environment`` builds it (a test checks
#: they agree on every interpreter here): importing ``packaging.markers`` there (its parser and tokenizer)
#: for that one function made a query take 156 instead of 122 ms (medians of 8) on the 2-core benchmark
#: machine; ``packaging.tags`` is still used.
_QUERY = r"""
import json, os, platform, sys, sysconfig
if sys.version_info < @OLDEST@:
    sys.stderr.write("Python %d.%d\n" % sys.version_info[:2])
    sys.exit(@TOO_OLD@)
if sys.version_info >= @OWN_PACKAGING@:
    sys.path.insert(0, sys.argv[1])
    from packaging.tags import sys_tags
elif len(sys.argv) > 3:  # pip's vendored packaging, from the wheel virtualenv bundles for this Python
    sys.path.insert(0, sys.argv[3])
    from pip._vendor.packaging.tags import sys_tags
else:
    sys.stderr.write("Python %d.%d\n" % sys.version_info[:2])
    sys.exit(@NEEDS_PIP@)
scheme = "venv" if "venv" in sysconfig.get_scheme_names() else None
paths = sysconfig.get_paths(scheme) if scheme else sysconfig.get_paths()
version = "%d.%d" % sys.version_info[:2]
venv = sys.argv[2]
in_venv = {key: venv for key in ("base", "platbase", "installed_base", "installed_platbase")}
venv_paths = sysconfig.get_paths(scheme or ("nt" if os.name == "nt" else "posix_prefix"), vars=in_venv)
info = sys.implementation.version
implementation_version = "%d.%d.%d" % info[:3]
if info.releaselevel != "final":
    implementation_version += info.releaselevel[0] + str(info.serial)
json.dump({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "tags": [str(tag) for tag in sys_tags()],
    "scheme": {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        "headers": os.path.join(sys.prefix, "include", "site", "python" + version),
    },
    "venv_scheme": {
        "purelib": venv_paths["purelib"],
        "platlib": venv_paths["platlib"],
        "scripts": venv_paths["scripts"],
        "data": venv_paths["data"],
        "headers": os.path.join(venv, "include", "site", "python" + version),
    },
}, sys.stdout)
"""
_QUERY = (
    _QUERY.replace("@OLDEST@", repr(OLDEST))
    .replace("@OWN_PACKAGING@", repr(OWN_PACKAGING))
    .replace("@TOO_OLD@", str(_TOO_OLD))
    .replace("@NEEDS_PIP@", str(_NEEDS_PIP))
)

_FORMAT = 2
#: stands for the venv's directory in ``Target.venv_scheme``
_VENV = os.path.join(os.sep, "@venvsync-venv@")  # noqa: PTH118  # a string, replaced in strings


@frozen
class Target:
    """What an interpreter installs for: its marker environment, its wheel tags, its install scheme."""

    executable: str
    prefix: str
    base_prefix: str
    markers: Mapping[str, str]
    tag_strings: tuple[str, ...]
    scheme: Mapping[str, str]
    #: the scheme of a venv made from this interpreter, with ``_VENV`` for the venv's directory
    venv_scheme: Mapping[str, str] = MappingProxyType({})

    @property
    def python_full_version(self) -> str:
        """The interpreter's full version, as the ``python_full_version`` marker has it."""
        return self.markers["python_full_version"]

    @property
    def python_release(self) -> Version:
        """The interpreter's release (``3.14.0``), as installers hold it against a ``Requires-Python``.

        pip compares ``sys.version_info[:3]``, and uv (``only_release``), Poetry and PDM the release of
        ``python_full_version``: a pre-release ``3.14.0rc1`` is ``3.14.0`` (``>=3.14`` holds), and so is a build from
        a git checkout, which says ``3.12.1+`` (a 3.12.1, not a 3.12: ``>=3.12.1`` holds).
        """
        from packaging.version import InvalidVersion, Version  # noqa: PLC0415  # see the imports

        try:
            release = Version(self.python_full_version.removesuffix("+")).release
        except InvalidVersion:
            return Version(self.markers["python_version"])
        return Version(".".join(map(str, release)))

    @property
    def release_markers(self) -> dict[str, str]:
        """The marker environment with ``python_full_version`` as :attr:`python_release` (``3.14.0``, ``3.12.1``).

        uv (its ``ResolverMarkerEnvironment``), Poetry and PDM evaluate a lock's markers so: on Python 3.14.0rc1 a
        fork's ``python_full_version >= '3.14'`` holds. As packaging evaluates it (pip does), neither that nor
        ``python_full_version < '3.14'`` holds (PEP 440 keeps a version's own pre-releases out of both), and a
        package the lock pins per fork would be left out. pip's formats (pylock, requirements) keep :attr:`markers`.
        """
        return {**self.markers, "python_full_version": str(self.python_release)}

    @property
    def tags(self) -> list[Tag]:
        """The supported wheel tags, most preferred first."""
        return _parse_tags(self.tag_strings)

    @property
    def tag_ranks(self) -> Mapping[str, int]:
        """Each supported tag as a string (``cp312-cp312-manylinux_2_17_x86_64``) and its rank, 0 the best."""
        ranks = _RANKS.get(self.tag_strings)
        if ranks is None:
            ranks = _RANKS[self.tag_strings] = {tag: rank for rank, tag in enumerate(self.tag_strings)}
        return ranks

    def to_json(self) -> dict[str, Any]:
        """The facts as a JSON object, to remember them in the environment."""
        return {
            "format": _FORMAT,
            "executable": self.executable,
            "prefix": self.prefix,
            "base_prefix": self.base_prefix,
            "markers": dict(self.markers),
            "tags": list(self.tag_strings),
            "scheme": dict(self.scheme),
            "venv_scheme": dict(self.venv_scheme),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        """Rebuild the facts from :meth:`to_json`; ``KeyError``/``TypeError`` when they do not fit."""
        if data.get("format") not in {1, _FORMAT}:  # format 1 had no venv_scheme
            msg = "unknown target format"
            raise KeyError(msg)
        return cls(
            executable=str(data["executable"]),
            prefix=str(data["prefix"]),
            base_prefix=str(data["base_prefix"]),
            markers={str(k): str(v) for k, v in data["markers"].items()},
            tag_strings=tuple(str(t) for t in data["tags"]),
            scheme={str(k): str(v) for k, v in data["scheme"].items()},
            venv_scheme={str(k): str(v) for k, v in data.get("venv_scheme", {}).items()},
        )

    def in_venv(self, venv: Path, python: Path) -> Target:
        """The facts of a venv made from this (base) interpreter: the same interpreter, the venv's scheme."""
        scheme = {key: value.replace(_VENV, str(venv)) for key, value in self.venv_scheme.items()}
        return replace(self, executable=str(python), prefix=str(venv), scheme=scheme, venv_scheme={})


def _parse_tags(tag_strings: tuple[str, ...]) -> list[Tag]:
    from packaging.tags import parse_tag  # noqa: PLC0415  # see the imports

    return _TAGS.get(tag_strings) or _TAGS.setdefault(
        tag_strings, [tag for text in tag_strings for tag in parse_tag(text)]
    )


_TAGS: dict[tuple[str, ...], list[Tag]] = {}
_RANKS: dict[tuple[str, ...], dict[str, int]] = {}


def too_old(python: Path | str, version: str) -> str:
    """The sentence for an interpreter older than :data:`OLDEST`."""
    return (
        f"the interpreter {python} is Python {version}; tox-venvsync makes environments of Python "
        f"{_dotted(OLDEST)} or newer (the oldest virtualenv bundles pip for): use a newer Python for this environment"
    )


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def older_than_own_packaging(python_version: str) -> bool:
    """Whether a Python of ``python_version`` (``"3.9"``) needs the pip virtualenv bundles for it (tags, deps)."""
    major, _, minor = python_version.partition(".")
    return (int(major), int(minor)) < OWN_PACKAGING


def bundled_pip(python: Path | str, version: str) -> Path:
    """The pip wheel virtualenv bundles for Python ``version``: for a Python older than :data:`OWN_PACKAGING`.

    Also the pip that installs tox's deps when tox's own environment has none (``uv tool install tox``).

    The packaging and pip here no longer run on such a Python; the pip virtualenv seeds into its venvs
    does: its vendored packaging (``pip._vendor.packaging``, pip's private module: the query imports it
    and nothing else does) gives the interpreter's wheel tags, and pip runs from the wheel for tox's deps.
    """
    from virtualenv.seed.wheels.embed import get_embed_wheel  # noqa: PLC0415  # only for an old Python or a tox without pip

    try:
        wheel = get_embed_wheel("pip", version)
    except (RuntimeError, OSError) as exc:  # the bundled file failed its hash check, or is gone
        msg = (
            f"the pip wheel virtualenv bundles for Python {version} (for {python}) is damaged or missing ({exc}); "
            "reinstall virtualenv"
        )
        raise InterpreterError(msg) from exc
    if wheel is None:
        msg = (
            f"the interpreter {python} is Python {version}, for which the virtualenv here bundles no pip; "
            f"install a virtualenv that does, or use Python {_dotted(OWN_PACKAGING)} or newer for this environment"
        )
        raise InterpreterError(msg)
    return Path(wheel.path)


def query_interpreter(python: Path, *, meanwhile: Callable[[], object] | None = None) -> Target:
    """Ask ``python`` for its facts by running it once (about 50 ms).

    ``packaging`` is put on the target's path from a private directory holding only a link to
    the copy this process uses, so the query works in an empty venv and imports nothing else.
    A Python older than :data:`OWN_PACKAGING` says so, and is asked again with the pip virtualenv
    bundles for it (:func:`bundled_pip`). ``meanwhile`` is called while the interpreter works on its
    answer (in its own process, on another core where there is one): see :class:`tox_venvsync._sync.LockAhead`.
    """
    import tempfile  # noqa: PLC0415  # see the imports

    import packaging  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="venvsync-query-") as private:
        (Path(private) / "packaging").symlink_to(Path(packaging.__file__).parent)
        code, stdout, stderr = _ask(python, [private, _VENV], meanwhile)
        if code == _NEEDS_PIP and stderr.startswith("Python "):
            version = stderr.strip().removeprefix("Python ")
            code, stdout, stderr = _ask(python, [private, _VENV, str(bundled_pip(python, version))], None)
    lines = stderr.strip().splitlines() or ["no output"]
    last = lines[-1]
    if code == _TOO_OLD and last.startswith("Python "):
        raise InterpreterError(too_old(python, last.removeprefix("Python ")))
    if lines[0] == "Unknown option: -I":  # Python 2, or 3 before 3.4
        raise InterpreterError(too_old(python, "2 or 3 before 3.4"))
    if code != 0 and (shim := next((line for line in lines if line.startswith("pyenv: ")), None)) is not None:
        raise InterpreterError(_inactive_shim(python, shim, lines))
    if code != 0:
        msg = f"the interpreter {python} failed to report its facts ({last}); is it Python {_dotted(OLDEST)} or newer?"
        raise InterpreterError(msg, reason=last)
    try:
        return Target.from_json({"format": _FORMAT, **json.loads(stdout)})
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:  # no Python (/bin/true)
        what = "no output" if not stdout.strip() else "an answer that is not its facts"
        msg = f"the interpreter {python} gave {what} when asked for its facts; is it Python {_dotted(OLDEST)} or newer?"
        raise InterpreterError(msg, reason=what) from exc


def _inactive_shim(python: Path, said: str, lines: list[str]) -> str:
    """A pyenv shim whose version is not active: it says so first (``said``), then lists the versions that have it.

    Asking whether such a shim is Python 3.9 or newer did not help: the fix is to make one of those versions active.
    """
    listed = next((n for n, line in enumerate(lines) if line.rstrip().endswith("in these Python versions:")), None)
    versions = [] if listed is None else list(itertools.takewhile(str.strip, lines[listed + 1 :]))  # to a blank line
    found = f"; pyenv has it in {', '.join(v.strip() for v in versions)}" if versions else ""
    return (
        f"the interpreter {python} is a pyenv shim that runs no Python here ({said}){found}: make a version that "
        "has it active (pyenv shell, pyenv local or PYENV_VERSION), or give that Python's own path"
    )


#: how long an interpreter has to tell its facts (a Python answers in about 60 ms, a cold one on a slow disk in a few
#: seconds); past that it is taken for one that hangs (a wrapper script waiting for input or a lock)
QUERY_SECONDS = 120


def _ask(python: Path, args: list[str], meanwhile: Callable[[], object] | None) -> tuple[int, str, str]:
    """Run the query with ``python``: its exit code, output and errors."""
    import subprocess  # noqa: PLC0415  # see the imports

    try:
        process = subprocess.Popen(
            [str(python), "-I", "-c", _QUERY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except OSError as exc:
        msg = f"cannot run the interpreter {python}: {exc.strerror}; check that it exists and is executable"
        raise InterpreterError(msg, reason=exc.strerror or str(exc)) from exc
    with process:  # an error or Ctrl-C below kills it: no query outlives its caller
        try:
            if meanwhile is not None:
                meanwhile()
            stdout, stderr = process.communicate(timeout=QUERY_SECONDS)
        except subprocess.TimeoutExpired as exc:
            _end(process.pid)
            msg = (
                f"the interpreter {python} did not answer within {exc.timeout:g} s when asked for its facts; run it "
                "by hand to see what it waits for (a wrapper script that hangs?), or name another Python"
            )
            raise InterpreterError(msg, reason=f"no answer within {exc.timeout:g} s") from exc
        except BaseException:
            _end(process.pid)
            raise
    return process.returncode, stdout, stderr


def _end(pid: int) -> None:
    """Kill the query and every process it started.

    A wrapper script (``#!/bin/sh`` that runs a Python) that hung was killed alone: what it ran lived on, reparented,
    for as long as it waited (found by QA). Its processes stay in this process's group, where a terminal's Ctrl-C
    reaches them too (tox's threads wait for the query, and Ctrl-C reaches them only as a flag): they are found
    through ``/proc`` where there is one, else the wrapper alone is killed, as before.
    """
    import signal  # noqa: PLC0415  # see the imports

    started = _descendants(pid)  # before the wrapper dies and its children are handed to init
    for each in (pid, *started):
        with contextlib.suppress(OSError):  # gone meanwhile
            os.kill(each, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, as ``/proc`` lists them now; none where there is no ``/proc``."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):  # gone meanwhile
                # "<pid> (<command>) <state> <ppid> ...": the command may hold spaces and parentheses
                parent = int(Path("/proc", name, "stat").read_text().rpartition(")")[2].split()[1])
                children.setdefault(parent, []).append(int(name))
    found: list[int] = []
    waiting = [pid]
    while waiting:
        for child in children.get(waiting.pop(), ()):
            found.append(child)
            waiting.append(child)
    return found


class TargetMemo:
    """The target's facts remembered in a venv, valid while its ``pyvenv.cfg`` and its interpreter are unchanged."""

    def __init__(self, venv: Path, python: Path, *, base: Callable[[], Target | None] | None = None) -> None:
        """``base`` gives the facts of the interpreter the venv was made from (see :func:`base_facts`), if known."""
        self._venv = venv
        self._python = python
        self._base = base
        self._file = venv / ".venvsync" / "target.json"

    @cached_property
    def _key(self) -> list[int | str | None]:
        stat = (self._venv / "pyvenv.cfg").stat()
        return [stat.st_mtime_ns, stat.st_size, stat.st_ino, str(self._python), *_runs(self._venv, self._python)]

    def load(self, *, remember: bool = True) -> Target:
        """The remembered facts; else the base's, in the venv; else asked of the venv's interpreter.

        Facts not remembered are checked against the venv (see :meth:`broken`): :class:`ReplacedInterpreterError` when
        its interpreter does not run, or runs another Python than the one its ``pyvenv.cfg`` says it was made for.
        """
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
            if data.get("key") == self._key:
                return Target.from_json(data["target"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            pass
        found = (str(self._file), *self._key)
        target = _FOUND.get(found) or self._from_base() or self._ask()
        self._check_version(target)
        _FOUND[found] = target  # a sync asks several times (is it adoptable? in sync?): the venv's python runs once
        if not remember:
            return target
        try:
            # readable by all, as the venv's other files: a runtime image's user reads it where the build's wrote it
            write_atomic(self._file, json.dumps({"key": self._key, "target": target.to_json()}), mode=0o644)
        except OSError as exc:  # a venv in a read-only layer (copied, so the key changed), or full: not remembered
            if exc.errno not in REFUSED | FULL:
                raise
        return target

    def broken(self) -> str | None:
        """Why the venv's interpreter is not the one it was made for (``its interpreter ... does not run``), or None.

        Reads only: the facts found are not remembered. A venv outlives its base interpreter: an upgrade in place
        (another release built into the same directory), a move or a removal leaves ``bin/python`` running another
        Python, which does not see the venv's packages, or nothing at all. The answer is kept for this process while
        the venv and its interpreter are unchanged: a sync checks whether it adopts a venv several times.
        """
        checked = (str(self._venv), *self._key)
        if checked not in _BROKEN:
            try:
                self.load(remember=False)
            except ReplacedInterpreterError as exc:
                _BROKEN[checked] = exc.reason
            else:
                _BROKEN[checked] = None
        return _BROKEN[checked]

    def _ask(self) -> Target:
        """The facts as the venv's own interpreter gives them; one that does not run is named as the venv's."""
        try:
            return query_interpreter(self._python)
        except InterpreterError as exc:
            if not exc.reason:  # it ran and answered: a Python too old, in a sentence of its own
                raise
            reason = f"its interpreter {self._python} does not run ({exc.reason})"
            msg = f"{self._venv}'s interpreter {self._python} does not run ({exc.reason}); {_MAKE_AGAIN}"
            raise ReplacedInterpreterError(msg, reason=reason) from exc

    def _check_version(self, target: Target) -> None:
        """Refuse facts of another Python than ``pyvenv.cfg`` names: the base interpreter was replaced under it."""
        made = venv_python_version(self._venv)
        runs = target.python_release.release[:3]
        if made is None or made == runs:
            return
        made_text, runs_text = _dotted(made), _dotted(runs)
        reason = f"its interpreter {self._python} runs Python {runs_text}, not the {made_text} it was made for"
        msg = (
            f"{self._venv}'s interpreter {self._python} runs Python {runs_text}, not the {made_text} the venv was made "
            f"for (its base Python was replaced); {_MAKE_AGAIN}"
        )
        raise ReplacedInterpreterError(msg, reason=reason)

    def _from_base(self) -> Target | None:
        """The base interpreter's facts in this venv, when it runs the base and has the predicted layout (no query).

        A venv whose ``bin/python`` leads elsewhere (a copy of the base, or the base's path now holding another build)
        is asked itself.
        """
        if self._base is None:
            return None
        base = self._base()
        if base is None or os.path.realpath(self._python) != os.path.realpath(base.executable):
            return None
        target = base.in_venv(self._venv, self._python)
        if target.scheme and Path(target.scheme["purelib"]).is_dir() and self._python.exists():
            return target
        return None  # laid out otherwise: ask the venv's own interpreter


#: what :meth:`TargetMemo.broken` found, by venv and memo key (a venv or interpreter changed since is checked again)
_BROKEN: dict[tuple[int | str | None, ...], str | None] = {}
#: the facts :meth:`TargetMemo.load` found in this process, not read from the memo's file, by that file and its key
_FOUND: dict[tuple[int | str | None, ...], Target] = {}
#: what to do about a venv whose interpreter is gone or another Python's
_MAKE_AGAIN = "make the venv again (tox -r, or venvsync sync into it with --python naming the Python to make it with)"


def _runs(venv: Path, python: Path) -> list[int | str | None]:
    """What the venv's interpreter is now: the file ``python`` leads to, and the base directory ``pyvenv.cfg`` names.

    Replacing, moving or removing the base interpreter leaves ``pyvenv.cfg`` as it was: facts remembered for the old
    one were taken for the new one (``verify`` found every file in place in a venv whose python ran another Python and
    saw none of them; found by QA). A copied interpreter (``always_copy``) stays the same file: the ``home``
    directory, gone or made again, tells.
    """
    real = os.path.realpath(python)
    home = read_pyvenv_cfg(venv).get("home", "")
    identity: list[int | str | None] = [real]
    for path, fields in ((real, ("st_mtime_ns", "st_size", "st_ino")), (home, ("st_ino",))):
        try:
            stat = os.stat(path) if path else None  # noqa: PTH116  # a string from realpath or pyvenv.cfg
        except OSError:
            stat = None
        identity += [getattr(stat, field, None) for field in fields]
    return identity


def base_facts(
    cache_root: Path, python: Path, *, remember: bool = True, meanwhile: Callable[[], object] | None = None
) -> Target:
    """The facts of a base interpreter, remembered in the cache while its executable file is unchanged.

    A script (a pyenv shim, a wrapper) may run another interpreter each time: it is asked every time.
    ``remember`` false uses a remembered answer but keeps a new one to itself (a dry run writes nothing).
    ``meanwhile`` is called while the interpreter is asked, if it is (see :func:`query_interpreter`).
    """
    real = Path(os.path.realpath(python))
    try:
        stat = real.stat()
        with real.open("rb") as handle:
            script = handle.read(2) == b"#!"
    except OSError:
        return query_interpreter(python, meanwhile=meanwhile)  # reports the problem
    if script:
        return query_interpreter(python, meanwhile=meanwhile)
    key = [str(real), stat.st_mtime_ns, stat.st_size, stat.st_ino]
    memo = cache_root / "interpreters" / f"{hashlib.sha256(os.fsencode(real)).hexdigest()[:32]}.json"
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return Target.from_json(data["target"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        pass
    target = query_interpreter(python, meanwhile=meanwhile)
    if remember:
        try:
            # the temporary file in the process's work directory: a kill leaves none in interpreters/
            write_atomic(
                memo, json.dumps({"key": key, "target": target.to_json()}), scratch=Cache(cache_root).tmp_dir()
            )
        except OSError as exc:  # a cache this user may not write, or a full one: the answer is only not remembered
            if exc.errno not in REFUSED | FULL:
                raise
    return target


def future_target(base: Target, venv: Path) -> Target:
    """The facts of a venv not created yet: the base interpreter's, with its scheme inside ``venv``."""
    return base.in_venv(venv, Path(base.executable))  # the base stays the executable: a dry run builds with it


def planned_target(venv: Path, python: Callable[[], Path], base: Target, *, recreated: bool) -> Target:
    """The facts a dry run plans ``venv`` with: its own when it is a venv that stays, else a new venv's.

    One about to be ``recreated`` is planned as a new venv where nothing was or will be made: nothing it holds stays.
    ``python``: the venv's interpreter, asked for only when ``venv`` is one. A dry run remembers nothing it learns.
    """
    if recreated:
        from tox_venvsync._location import nowhere  # noqa: PLC0415  # a dry run's only

        return future_target(base, nowhere())
    if (venv / "pyvenv.cfg").is_file() and (interpreter := python()).exists():
        return TargetMemo(venv, interpreter).load(remember=False)
    return future_target(base, venv)
