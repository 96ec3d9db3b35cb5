"""The hashed ``requirements.txt`` reader (pip-compile --generate-hashes, uv export): a flat, marker-filtered lock.

An index requirement (``name==version --hash=sha256:... --hash=...``) names no file: the fetcher has to find on the
index a file of that name and version whose digest is one of the listed ones, as pip's hash-checking mode does. It
selects as ``Pick(kind="wheel", artifact=None, lookup=IndexPin(...))``: the :class:`IndexPin` holds every digest,
per algorithm, the file may have, and where to look for it (the file's ``--index-url``, ``--extra-index-url``,
``--find-links``, ``--no-index``, ``--no-binary`` and ``--only-binary``, kept on :attr:`RequirementsFile.options`).

A direct reference (``name @ https://.../x.whl``, a local wheel or archive) selects with a full :class:`Artifact`;
``-e`` and local directories as ``directory`` picks; VCS URLs pinned to a commit as ``vcs`` picks. Written by hand:
``packaging`` parses the requirement and its marker, but nothing public parses the file (pip's parser is internal);
the line joining and comment rules below are pip's (``pip/_internal/req/req_file.py``).
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
from contextvars import ContextVar
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from tox_venvsync._errors import LockFileError, SelectionError, named
from tox_venvsync._lock._file import lock_bytes, project_name
from tox_venvsync._lock._model import (
    HASH_ALGORITHMS,
    Artifact,
    DirectorySource,
    IndexPin,
    Pick,
    VcsSource,
    not_a_commit,
    not_a_git_url,
    wrong_digest,
)
from tox_venvsync._lock._toml import load_toml, utf8_text
from tox_venvsync._values import frozen, replace

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from packaging.utils import NormalizedName

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

#: pip's comment: ``#`` at the start of a line or after whitespace (``url#egg=name`` is no comment)
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: pip's environment variables in a requirements file: ``${NAME}`` of capitals, digits and underscores
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")
#: a bare location instead of a named requirement: a path (``./libs/x``, ``/abs``) or a URL (``https:``, ``file:``)
_LOCATION = re.compile(r"[./]|[A-Za-z][A-Za-z0-9+.-]*:")
_VCS = re.compile(r"(git|hg|svn|bzr)\+", re.IGNORECASE)
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")

#: option spellings that take a value -> the option's name
_TAKES_VALUE = {
    "-i": "index-url",
    "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "find-links",
    "--find-links": "find-links",
    "-e": "editable",
    "--editable": "editable",
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "--hash": "hash",
    "--no-binary": "no-binary",
    "--only-binary": "only-binary",
}
#: option spellings without a value; ``--require-hashes`` is what this reader always does, and ``--prefer-binary``
#: changes nothing in a lock: it prefers an older version's wheel to a newer sdist, and a pin names one version
_FLAGS = {"--no-index": "no-index", "--require-hashes": "require-hashes", "--prefer-binary": "prefer-binary"}
_KNOWN = (
    "a lock's requirements file holds requirements with --hash and the options -i/--index-url, --extra-index-url, "
    "-f/--find-links, --no-index, --no-binary, --only-binary, --prefer-binary and -e"
)
#: the variable that allows plain http to a host (:mod:`tox_venvsync._http`, which this module does not import)
TRUSTED_HOSTS_ENV = "TOX_VENVSYNC_TRUSTED_HOSTS"
_NOT_A_LOCK = "so this file is not a lock; generate it with pip-compile --generate-hashes or uv export"
#: what mends a line that does not read (pip-compile and uv export write none such: it was edited by hand)
_CORRECT = "correct the line"


@frozen
class IndexOptions:
    """Where the file says index requirements come from (pip's global options)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    #: ``--no-binary`` and ``--only-binary``: canonical names, or ``:all:``, as pip's ``FormatControl`` keeps them
    no_binary: frozenset[str] = frozenset()
    only_binary: frozenset[str] = frozenset()

    def formats(self, name: str) -> frozenset[str]:
        """The kinds of file pip takes for ``name``: ``binary``, ``source`` (``FormatControl.get_allowed_formats``)."""
        if name in self.only_binary:
            return frozenset({"binary"})
        if name in self.no_binary:
            return frozenset({"source"})
        if ":all:" in self.only_binary:
            return frozenset({"binary"})
        if ":all:" in self.no_binary:
            return frozenset({"source"})
        return frozenset({"binary", "source"})


@frozen
class _Pin:
    """One requirement line: the pick it makes, when (its marker), and every digest its file may have."""

    pick: Pick
    marker: Marker | None
    hashes: Mapping[str, frozenset[str]]


@frozen
class _Ref:
    """A requirement that names a place (``name @ url``, a bare path or URL, ``-e``) rather than an index version."""

    name: str | None
    location: str
    marker: Marker | None = None
    hashes: Mapping[str, frozenset[str]] = MappingProxyType({})
    editable: bool = False


@frozen(kw_only=False)
class _Line:
    """A logical line, comments stripped, numbered by its first physical line."""

    number: int
    text: str

    @property
    def context(self) -> str:
        return f"line {self.number}"


def read_requirements(path: Path, paths_from: Path | None = None) -> RequirementsFile:
    """Read a hashed requirements file; every problem names the file and the line.

    ``paths_from``: the directory a relative path on a line starts at, as pip's and uv's current directory
    is (the tox root in a tox run, the working directory of ``venvsync``); the file's own directory when
    ``None``. A relative ``--find-links`` that exists beside the file is taken from there, as pip takes it.
    """
    token = _PATHS_FROM.set(paths_from if paths_from is not None else path.parent)
    try:
        options = IndexOptions()
        pins: list[_Pin] = []
        for line in map(_expanded, _logical_lines(_text(path))):
            if not line.text.startswith("-"):
                pins.append(_requirement_pin(path, line))
                continue
            parsed = _parse_options(path, line, line.text)
            if parsed[0][0] == "editable":
                pins.append(_editable_pin(path, line, parsed))
            else:
                options = _apply_options(path, line, options, parsed)
        return RequirementsFile(path=path, options=options, pins=_with_index(pins, options))
    finally:
        _PATHS_FROM.reset(token)


#: the byte order marks of the encodings besides UTF-8 that pip (``auto_decode``) and uv read a requirements file in,
#: UTF-32's first (its little-endian mark starts with UTF-16's): Windows PowerShell 5's ``uv export > requirements.txt``
#: writes UTF-16 with a mark
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _text(path: Path) -> str:
    """The file's text: UTF-8, or UTF-16 or UTF-32 after its byte order mark, as pip and uv read it."""
    raw = lock_bytes(path)
    encoding = next((name for mark, name in _BOMS if raw.startswith(mark)), None)
    if encoding is None:
        return utf8_text(path, raw)
    try:
        return raw.decode(encoding)  # the codec reads the mark for the byte order, and drops it
    except UnicodeDecodeError as exc:
        reason = f"is not {encoding.upper()} text after its byte order mark (byte {exc.start}); is this the right file?"
        raise LockFileError(path, reason) from exc


#: where the relative paths of the file being read start (see :func:`read_requirements`)
_PATHS_FROM: ContextVar[Path] = ContextVar("paths_from")


@frozen
class RequirementsFile:
    """A validated hashed requirements file: pins, each with an optional marker, and the index options."""

    path: Path
    options: IndexOptions
    pins: tuple[_Pin, ...]
    format: str = "requirements"

    def select(self, target: Target, request: Request) -> list[Pick]:
        """The pins whose marker is true for ``target``, in file order: one set, without extras or groups."""
        self._check_request(request)
        chosen: dict[NormalizedName, Pick] = {}
        for pin in self.pins:
            if not self._applies(pin, target):
                continue
            if (earlier := chosen.get(pin.pick.name)) is not None:
                bare = {"context": "", "extras": frozenset()}
                if replace(earlier, **bare) == replace(pin.pick, **bare):
                    # the same pin twice (two markers that both hold): one install, as pip makes, with both's extras
                    chosen[pin.pick.name] = replace(earlier, extras=earlier.extras | pin.pick.extras)
                    continue
                msg = (
                    f"{pin.pick.name} is selected twice, at {earlier.context} and {pin.pick.context}, for the "
                    f"interpreter {target.executable} (Python {target.python_full_version}); keep one line per "
                    "package or make their markers exclusive"
                )
                raise SelectionError(self.path, msg)
            chosen[pin.pick.name] = pin.pick
        return list(chosen.values())

    def _check_request(self, request: Request) -> None:
        if request.packages or request.all_packages or request.all_extras or request.all_groups:
            msg = (
                "a requirements file has no extras, dependency groups or workspace members to select; generate one "
                f"file for each selection and set {named('lock_file')} to it"
            )
            raise SelectionError(self.path, msg)
        for what, asked in (
            ("extra", request.extras | request.no_extras),
            ("dependency group", request.groups | request.no_groups),
        ):
            if asked:
                msg = (
                    f"the lock has no {what} {', '.join(sorted(asked))} (requirements files have no extras or groups): "
                    f"{named('leave extras and groups out')}, or generate one file for each combination and set "
                    f"{named('lock_file')} to it"
                )
                raise SelectionError(self.path, msg)

    def _applies(self, pin: _Pin, target: Target) -> bool:
        if pin.marker is None:
            return True
        try:  # the "metadata" context, as pip: a marker on ``extra`` compares with ""
            return pin.marker.evaluate(dict(target.markers))
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            msg = f"the marker {str(pin.marker)!r} cannot be evaluated ({exc}); fix the marker"
            raise LockFileError(self.path, msg, context=pin.pick.context) from exc


# --- the file's text and lines -----------------------------------------------------------------------------------


def _logical_lines(text: str) -> Iterator[_Line]:
    """Pip's rules: a line ending in a backslash goes on (unless it is a comment), then comments and blanks go."""
    pending: list[str] = []
    first = 0
    for number, physical in enumerate(text.splitlines(), 1):
        if physical.endswith("\\") and not _COMMENT.match(physical):
            first = first if pending else number
            pending.append(physical[:-1])
            continue
        joined = "".join([*pending, f" {physical}" if _COMMENT.match(physical) else physical])
        line = _Line(first if pending else number, _COMMENT.sub("", joined).strip())
        pending = []
        if line.text:
            yield line
    if pending and (rest := _COMMENT.sub("", "".join(pending)).strip()):
        yield _Line(first, rest)


def _expanded(line: _Line) -> _Line:
    """``${NAME}`` replaced by that environment variable where it is set, as pip does (a token in an index URL)."""
    if "${" not in line.text:
        return line
    return _Line(line.number, _ENV_VAR.sub(lambda m: os.environ.get(m["name"], m[0]), line.text))


def _parse_options(path: Path, line: _Line, text: str) -> list[tuple[str, str]]:
    """``(name, value)`` for each option in ``text``; an unknown option is an error, never skipped."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        msg = f"cannot split the options {text!r} ({exc}); fix the quotes"
        raise LockFileError(path, msg, context=line.context) from exc
    options: list[tuple[str, str]] = []
    while tokens:
        options.append(_next_option(path, line, tokens))
    return options


def _next_option(path: Path, line: _Line, tokens: list[str]) -> tuple[str, str]:
    token = tokens.pop(0)
    if token in _FLAGS:
        return _FLAGS[token], ""
    if token.startswith("--"):
        spelled, equals, attached = token.partition("=")
    else:  # a short option takes its value attached (-ihttps://...) or as the next token
        spelled, equals, attached = token[:2], "", token[2:]
    name = _TAKES_VALUE.get(spelled) if token.startswith("-") else None
    if name is None and spelled == "--trusted-host":  # pip-compile copies it from its command line
        msg = (
            "--trusted-host is not read from a lock: certificates are always checked, and plain http to a host "
            f"needs {TRUSTED_HOSTS_ENV}=<host> in the environment; delete the line (pip-compile writes it unless "
            "given --no-emit-trusted-host)"
        )
        raise LockFileError(path, msg, context=line.context)
    if name is None:
        raise LockFileError(path, f"unknown option {token!r}; {_KNOWN}", context=line.context)
    value = attached if equals or attached else (tokens.pop(0) if tokens else "")
    if not value:
        raise LockFileError(path, f"the option {spelled} needs a value", context=line.context)
    return name, value


def _apply_options(path: Path, line: _Line, options: IndexOptions, parsed: list[tuple[str, str]]) -> IndexOptions:
    for name, value in parsed:
        match name:
            case "index-url":
                options = replace(options, index_url=value)
            case "extra-index-url":
                options = replace(options, extra_index_urls=(*options.extra_index_urls, value))
            case "find-links":
                options = replace(options, find_links=(*options.find_links, _find_links(path, value)))
            case "no-index":
                options = replace(options, no_index=True)
            case "require-hashes" | "prefer-binary":
                pass
            case "no-binary" | "only-binary":
                options = _format_control(path, line, options, name, value)
            case "hash":
                msg = (
                    f"--hash={value} stands on a line without a requirement; put it on its requirement's line "
                    "(is the backslash at the end of the line before missing?)"
                )
                raise LockFileError(path, msg, context=line.context)
            case "editable":
                raise LockFileError(path, f"-e {value} must start its own line", context=line.context)
            case _:
                _refuse_include(path, line, name)
    return options


def _format_control(path: Path, line: _Line, options: IndexOptions, name: str, value: str) -> IndexOptions:
    """``--no-binary`` or ``--only-binary`` added to ``options`` as pip adds it (``handle_mutual_excludes``).

    The value is ``:all:``, ``:none:`` (empties the option's set) or names with commas; ``:all:`` empties both sets
    first, and a name goes from the other option's set to this one's.
    """
    target, other = (
        (options.no_binary, options.only_binary) if name == "no-binary" else (options.only_binary, options.no_binary)
    )
    if value.startswith("-"):
        msg = f"--{name} needs :all:, :none: or package names, not {value!r}"
        raise LockFileError(path, msg, context=line.context)
    for item in value.split(","):
        if item == ":all:":
            target, other = frozenset({":all:"}), frozenset()
        elif item == ":none:":
            target = frozenset()
        elif item:
            named = canonicalize_name(item)
            target, other = target | {named}, other - {named}
    if name == "no-binary":
        return replace(options, no_binary=target, only_binary=other)
    return replace(options, only_binary=target, no_binary=other)


def _refuse_include(path: Path, line: _Line, name: str) -> None:
    if name in {"requirement", "constraint"}:
        msg = "includes are not supported in a lock; flatten it (pip-compile does)"
        raise LockFileError(path, msg, context=line.context)


# --- requirement lines -------------------------------------------------------------------------------------------


def _requirement_pin(path: Path, line: _Line) -> _Pin:
    """``name==version``, ``name @ url`` or a bare path or URL, each followed by its ``--hash`` options."""
    head, rest = _split_head(line.text)
    hashes = _hashes(path, line, _parse_options(path, line, rest))
    if _LOCATION.match(head):
        location, marker = _split_marker(path, line, head)
        return _location_pin(path, line, _Ref(name=None, location=location, marker=marker, hashes=hashes))
    try:
        requirement = Requirement(head)
    except InvalidRequirement as exc:
        msg = f"{head!r} is not a valid requirement ({_first_line(exc)}); {_CORRECT}"
        raise LockFileError(path, msg, context=line.context) from exc
    if requirement.url:
        ref = _Ref(name=requirement.name, location=requirement.url, marker=requirement.marker, hashes=hashes)
        pin = _location_pin(path, line, ref)
        return replace(pin, pick=replace(pin.pick, extras=frozenset(requirement.extras)))
    return _index_pin(path, line, requirement, hashes)


def _split_head(text: str) -> tuple[str, str]:
    """The requirement, then its options: pip's split at the first word that starts with ``-``."""
    found = re.search(r"\s-", text)
    if found is None:
        return text, ""
    return text[: found.start()].strip(), text[found.start() :]


def _split_marker(path: Path, line: _Line, head: str) -> tuple[str, Marker | None]:
    """A location and its marker: a URL's after ``;`` with a space beside it, a path's after its first ``;`` (pip)."""
    is_path = head.startswith((".", "/"))  # else a URL (see _LOCATION), where ; may stand in the URL itself
    location, *marker = re.split(r";" if is_path else r"\s+;\s*|;\s+", head, maxsplit=1)
    location, marker = location.strip(), [text.strip() for text in marker]
    if not marker:
        return location, None
    try:
        return location, Marker(marker[0])
    except InvalidMarker as exc:
        msg = f"{marker[0]!r} is not a valid marker ({_first_line(exc)}); {_CORRECT}"
        raise LockFileError(path, msg, context=line.context) from exc


def _first_line(exc: Exception) -> str:
    """``packaging``'s parse error without the lines that draw a caret under the problem: a message is one line."""
    return str(exc).splitlines()[0]


def _hashes(path: Path, line: _Line, options: list[tuple[str, str]]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for name, value in options:
        if name != "hash":
            _refuse_include(path, line, name)
            msg = f"--{name} cannot follow a requirement; only --hash can: {_KNOWN}"
            raise LockFileError(path, msg, context=line.context)
        algorithm, _, digest = value.lower().partition(":")
        # hash before install: only digests we verify make a pin (pip refuses md5 and sha1 in --hash too)
        if algorithm not in HASH_ALGORITHMS or wrong_digest(algorithm, digest) is not None:
            msg = f"--hash={value} is not a sha256, sha384 or sha512 digest written algorithm:hex; re-generate the file"
            raise LockFileError(path, msg, context=line.context)
        found.setdefault(algorithm, set()).add(digest)
    return {algorithm: frozenset(digests) for algorithm, digests in found.items()}


def _index_pin(path: Path, line: _Line, requirement: Requirement, hashes: Mapping[str, frozenset[str]]) -> _Pin:
    """``name==version`` with hashes: pip's hash-checking mode wants exactly one version, ``==`` or ``===``."""
    specifiers = list(requirement.specifier)
    pinned = len(specifiers) == 1 and specifiers[0].operator in {"==", "==="} and "*" not in specifiers[0].version
    if not pinned or not hashes:
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        spelled = f"{requirement.name}{extras}{requirement.specifier}"
        msg = f"requirement {spelled!r} is not pinned with == and --hash, {_NOT_A_LOCK}"
        raise LockFileError(path, msg, context=line.context)
    try:
        version = Version(specifiers[0].version)
    except InvalidVersion as exc:
        msg = f"{requirement.name} is pinned to {specifiers[0].version!r}, which is not a version; pin a real version"
        raise LockFileError(path, msg, context=line.context) from exc
    pick = Pick(
        name=canonicalize_name(requirement.name),
        version=version,
        kind="wheel",
        artifact=None,
        context=line.context,
        extras=frozenset(requirement.extras),
    )
    return _Pin(pick=pick, marker=requirement.marker, hashes=hashes)


def _find_links(path: Path, value: str) -> str:
    """A ``--find-links`` location as pip takes it: a relative path that exists beside the file is taken from there."""
    if "://" in value or value.startswith("file:"):
        return value
    beside = path.parent / value
    return str(beside.absolute()) if beside.exists() else value


def _with_index(pins: list[_Pin], options: IndexOptions) -> tuple[_Pin, ...]:
    """Index requirements get the index options: pip's global options apply to every line, wherever they stand."""
    return tuple(
        replace(
            pin,
            pick=replace(
                pin.pick,
                index=options.index_url,
                lookup=IndexPin(
                    hashes=pin.hashes,
                    index=options.index_url,
                    extra_indexes=options.extra_index_urls,
                    find_links=options.find_links,
                    no_index=options.no_index,
                    formats=options.formats(pin.pick.name),
                ),
            ),
        )
        if _from_index(pin)
        else pin
        for pin in pins
    )


def _from_index(pin: _Pin) -> bool:
    return pin.pick.kind == "wheel" and pin.pick.artifact is None


# --- direct references: URLs, local files and directories, VCS, editables ----------------------------------------


def _editable_pin(path: Path, line: _Line, parsed: list[tuple[str, str]]) -> _Pin:
    """``-e <local directory>`` or ``-e <vcs url pinned to a commit>``; nothing may follow it."""
    (_, location), *rest = parsed
    if rest:
        msg = f"-e {location} is followed by --{rest[0][0]}; an editable requirement takes no options and no hash"
        raise LockFileError(path, msg, context=line.context)
    return _location_pin(path, line, _Ref(name=None, location=location, editable=True))


def _location_pin(path: Path, line: _Line, ref: _Ref) -> _Pin:
    if _VCS.match(ref.location):
        return _vcs_pin(path, line, ref)
    local = _local_path(path, line, ref.location)
    filename = local.name if local is not None else unquote(PurePosixPath(urlsplit(ref.location).path).name)
    if ref.editable and (local is None or filename.endswith((".whl", *_ARCHIVE_SUFFIXES))):
        msg = f"-e {ref.location} is not a local directory or a VCS URL; only those can be installed editable"
        raise LockFileError(path, msg, context=line.context)
    if filename.endswith((".whl", *_ARCHIVE_SUFFIXES)):
        ref = _with_url_hash(path, line, ref)
    if filename.endswith(".whl"):
        return _wheel_pin(path, line, ref, filename, local)
    if filename.endswith(_ARCHIVE_SUFFIXES):
        return _archive_pin(path, line, ref, filename, local)
    if local is None:
        msg = f"{ref.location} is neither a wheel nor an archive ({', '.join(_ARCHIVE_SUFFIXES)}); point at a file"
        raise LockFileError(path, msg, context=line.context)
    return _directory_pin(path, line, ref, local)


def _local_path(path: Path, line: _Line, location: str) -> Path | None:
    """The local file or directory a location names (a relative one from ``paths_from``); ``None`` for http(s)."""
    try:
        parts = urlsplit(location)
    except ValueError as exc:  # "//[x]": a bracketed host that is no IP address
        msg = f"{location} is not a valid URL or path ({exc}); {_CORRECT}"
        raise LockFileError(path, msg, context=line.context) from exc
    if parts.scheme in {"http", "https"}:
        return None
    if parts.scheme not in {"", "file"} or parts.netloc not in {"", "localhost"}:
        msg = f"{location} is not a path, a file: URL, an http(s) URL or a VCS URL (git+, hg+, svn+, bzr+); {_CORRECT}"
        raise LockFileError(path, msg, context=line.context)
    local = url2pathname(parts.path) if parts.scheme == "file" else parts.path
    try:
        return (_PATHS_FROM.get() / local).resolve()
    except (OSError, ValueError) as exc:
        raise LockFileError(path, f"{location} is not a usable path ({exc}); {_CORRECT}", context=line.context) from exc


def _with_url_hash(path: Path, line: _Line, ref: _Ref) -> _Ref:
    """``ref`` with the digest its URL's fragment gives (``...whl#sha256=<hex>``) among its hashes, as pip takes it.

    pip adds a link's ``#<algorithm>=<hex>`` to the ``--hash`` digests a file may have, in hash-checking mode too;
    one in an algorithm not verified here (md5, sha1) is left out, as ``--hash`` refuses it.
    """
    fragment = parse_qsl(urlsplit(ref.location).fragment)
    found = {key: value.lower() for key, value in fragment if key in HASH_ALGORITHMS}
    if not found:
        return ref
    hashes = {algorithm: set(digests) for algorithm, digests in ref.hashes.items()}
    for algorithm, digest in found.items():
        if wrong_digest(algorithm, digest) is not None:
            msg = f"#{algorithm}={digest} in {ref.location} is not a {algorithm} digest in hex; re-generate the file"
            raise LockFileError(path, msg, context=line.context)
        hashes.setdefault(algorithm, set()).add(digest)
    return replace(ref, hashes={algorithm: frozenset(digests) for algorithm, digests in hashes.items()})


def _wheel_pin(path: Path, line: _Line, ref: _Ref, filename: str, local: Path | None) -> _Pin:
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise LockFileError(path, f"{ref.location}: {exc}; {_CORRECT}", context=line.context) from exc
    if ref.name is not None and canonicalize_name(ref.name) != name:
        msg = f"the requirement {ref.name} @ {ref.location} points at a wheel of {name}; fix the name or the URL"
        raise LockFileError(path, msg, context=line.context)
    artifact = _artifact(path, line, ref, filename, local)
    pick = Pick(name=name, version=version, kind="wheel", artifact=artifact, context=line.context)
    return _Pin(pick=pick, marker=ref.marker, hashes=ref.hashes)


def _archive_pin(path: Path, line: _Line, ref: _Ref, filename: str, local: Path | None) -> _Pin:
    try:
        sdist_name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        sdist_name, version = None, None  # an archive need not be named like an sdist: its version is unknown
    name = _named(path, line, ref, sdist_name)
    artifact = _artifact(path, line, ref, filename, local)
    pick = Pick(name=name, version=version, kind="archive", artifact=artifact, context=line.context)
    return _Pin(pick=pick, marker=ref.marker, hashes=ref.hashes)


def _artifact(path: Path, line: _Line, ref: _Ref, filename: str, local: Path | None) -> Artifact:
    # hash before install: a file this reader passes on always carries the digest it must have
    if not ref.hashes:
        msg = (
            f"{ref.location} has no --hash (nor #sha256= in its URL), so its bytes cannot be checked and {_NOT_A_LOCK}"
        )
        raise LockFileError(path, msg, context=line.context)
    if any(len(digests) > 1 for digests in ref.hashes.values()):
        msg = (
            f"{ref.location} is one file but has several digests of one algorithm (in --hash or its URL); "
            "keep the right one"
        )
        raise LockFileError(path, msg, context=line.context)
    url = None if local is not None else urlunsplit(urlsplit(ref.location)._replace(fragment=""))
    hashes = {algorithm: next(iter(digests)) for algorithm, digests in ref.hashes.items()}
    return Artifact(filename=filename, url=url, path=local, size=None, hashes=hashes)


def _directory_pin(path: Path, line: _Line, ref: _Ref, local: Path) -> _Pin:
    if ref.hashes:
        msg = f"--hash cannot check the directory {ref.location}; remove the --hash options from this line"
        raise LockFileError(path, msg, context=line.context)
    fragment = dict(parse_qsl(urlsplit(ref.location).fragment))
    name = _named(path, line, ref, _project_name(local))
    directory = DirectorySource(path=local, editable=ref.editable, subdirectory=fragment.get("subdirectory"))
    pick = Pick(name=name, version=None, kind="directory", artifact=None, directory=directory, context=line.context)
    return _Pin(pick=pick, marker=ref.marker, hashes={})


def _vcs_pin(path: Path, line: _Line, ref: _Ref) -> _Pin:
    """``git+https://host/repo@<40-hex commit>#egg=name``: a lock pins the commit, never a branch or a tag."""
    vcs_type, _, url = ref.location.partition("+")
    parts = urlsplit(url)
    repository, at, revision = parts.path.rpartition("@")
    if not at or not_a_commit(revision) is not None:
        msg = f"{ref.location} is not pinned to a commit; pin it to a full 40-hex commit (pip-compile and uv export do)"
        raise LockFileError(path, msg, context=line.context)
    if ref.hashes:
        msg = f"--hash cannot check the VCS checkout {ref.location}; remove the --hash options from this line"
        raise LockFileError(path, msg, context=line.context)
    repository_url = urlunsplit(parts._replace(path=repository, fragment=""))
    if vcs_type.lower() == "git" and (reason := not_a_git_url(repository_url)) is not None:
        raise LockFileError(path, f"{reason}; {_CORRECT}", context=line.context)
    vcs = VcsSource(
        type=vcs_type.lower(),
        url=repository_url,
        commit=revision.lower(),
        requested=revision,
        subdirectory=dict(parse_qsl(parts.fragment)).get("subdirectory"),
    )
    name = _named(path, line, ref, None)
    pick = Pick(name=name, version=None, kind="vcs", artifact=None, vcs=vcs, context=line.context)
    return _Pin(pick=pick, marker=ref.marker, hashes={})


def _named(path: Path, line: _Line, ref: _Ref, fallback: str | None) -> NormalizedName:
    """The name the line gives (``name @``, then ``#egg=name``), else ``fallback`` (the sdist's, the project's)."""
    name = ref.name or dict(parse_qsl(urlsplit(ref.location).fragment)).get("egg") or fallback
    try:
        if name is not None:
            return canonicalize_name(name, validate=True)
    except InvalidName:
        pass
    msg = f"cannot tell the package name of {ref.location}; write the line as 'name @ {ref.location}' or add #egg=name"
    raise LockFileError(path, msg, context=line.context)


def _project_name(directory: Path) -> str | None:
    """``[project] name`` of a source tree's ``pyproject.toml``, as uv export leaves ``-e .`` without a name."""
    try:
        document = load_toml(directory / "pyproject.toml")
    except (OSError, ValueError):  # missing, unreadable, not UTF-8 or TOML, nested too deeply
        return None
    return project_name(document)
