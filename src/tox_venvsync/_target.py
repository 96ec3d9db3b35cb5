"""Target: the facts of the venv's interpreter (markers, wheel tags, install scheme), asked of it once."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import packaging
from packaging.tags import Tag, parse_tag

from tox_venvsync._errors import InterpreterError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The script the target interpreter runs; ``packaging`` is made importable from a private directory.
_QUERY = r"""
import json, os, sys, sysconfig
sys.path.insert(0, sys.argv[1])
from packaging.markers import default_environment
from packaging.tags import sys_tags
scheme = "venv" if "venv" in sysconfig.get_scheme_names() else None
paths = sysconfig.get_paths(scheme) if scheme else sysconfig.get_paths()
version = "%d.%d" % sys.version_info[:2]
json.dump({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "markers": default_environment(),
    "tags": [str(tag) for tag in sys_tags()],
    "scheme": {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        "headers": os.path.join(sys.prefix, "include", "site", "python" + version),
    },
}, sys.stdout)
"""

_FORMAT = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What an interpreter installs for: its marker environment, its wheel tags, its install scheme."""

    executable: str
    prefix: str
    base_prefix: str
    markers: Mapping[str, str]
    tag_strings: tuple[str, ...]
    scheme: Mapping[str, str]

    @property
    def python_full_version(self) -> str:
        """The interpreter's full version, as the ``python_full_version`` marker has it."""
        return self.markers["python_full_version"]

    @property
    def is_venv(self) -> bool:
        """Whether the interpreter runs inside a virtual environment."""
        return self.prefix != self.base_prefix

    @property
    def tags(self) -> list[Tag]:
        """The supported wheel tags, most preferred first."""
        return _parse_tags(self.tag_strings)

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
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        """Rebuild the facts from :meth:`to_json`; ``KeyError``/``TypeError`` when they do not fit."""
        if data.get("format") != _FORMAT:
            msg = "unknown target format"
            raise KeyError(msg)
        return cls(
            executable=str(data["executable"]),
            prefix=str(data["prefix"]),
            base_prefix=str(data["base_prefix"]),
            markers={str(k): str(v) for k, v in data["markers"].items()},
            tag_strings=tuple(str(t) for t in data["tags"]),
            scheme={str(k): str(v) for k, v in data["scheme"].items()},
        )


def _parse_tags(tag_strings: tuple[str, ...]) -> list[Tag]:
    return _TAGS.get(tag_strings) or _TAGS.setdefault(
        tag_strings, [tag for text in tag_strings for tag in parse_tag(text)]
    )


_TAGS: dict[tuple[str, ...], list[Tag]] = {}


def query_interpreter(python: Path) -> Target:
    """Ask ``python`` for its facts by running it once (about 50 ms).

    ``packaging`` is put on the target's path from a private directory holding only a link to
    the copy this process uses, so the query works in an empty venv and imports nothing else.
    """
    with tempfile.TemporaryDirectory(prefix="venvsync-query-") as private:
        (Path(private) / "packaging").symlink_to(Path(packaging.__file__).parent)
        try:
            result = subprocess.run(
                [str(python), "-I", "-c", _QUERY, private],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except OSError as exc:
            msg = f"cannot run the interpreter {python}: {exc.strerror}; check that it exists and is executable"
            raise InterpreterError(msg) from exc
        except subprocess.TimeoutExpired as exc:
            msg = f"the interpreter {python} did not answer within {exc.timeout} s"
            raise InterpreterError(msg) from exc
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        msg = f"the interpreter {python} failed to report its facts ({last}); is it Python 3.9 or newer?"
        raise InterpreterError(msg)
    return Target.from_json({"format": _FORMAT, **json.loads(result.stdout)})


class TargetMemo:
    """The target's facts remembered in a venv, valid while its ``pyvenv.cfg`` is unchanged."""

    def __init__(self, venv: Path, python: Path) -> None:
        self._venv = venv
        self._python = python
        self._file = venv / ".venvsync" / "target.json"

    @cached_property
    def _key(self) -> list[int | str]:
        stat = (self._venv / "pyvenv.cfg").stat()
        return [stat.st_mtime_ns, stat.st_size, stat.st_ino, str(self._python)]

    def load(self, *, remember: bool = True) -> Target:
        """The remembered facts, asking the interpreter only when none fit (and remembering the answer)."""
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
            if data.get("key") == self._key:
                return Target.from_json(data["target"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        target = query_interpreter(self._python)
        if not remember:
            return target
        self._file.parent.mkdir(exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": self._key, "target": target.to_json()}), encoding="utf-8")
        tmp.replace(self._file)
        return target


def future_target(base: Target, venv: Path) -> Target:
    """The facts of a venv not created yet: the base interpreter's, with its scheme inside ``venv``."""
    major_minor = ".".join(base.python_full_version.split(".")[:2])
    site = str(venv / "lib" / f"python{major_minor}" / "site-packages")
    scheme = {**base.scheme, "purelib": site, "platlib": site, "scripts": str(venv / "bin")}
    # the base interpreter stays the executable: a dry run builds source trees with it
    return dataclasses.replace(base, prefix=str(venv), scheme=scheme)
