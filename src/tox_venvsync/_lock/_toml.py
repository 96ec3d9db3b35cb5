"""Reading a TOML lockfile into a dict, with errors that name the file.

Parsing TOML costs about 1 ms per 4 KB with the standard library's ``tomllib`` and per 15 KB with
tomli's compiled wheel (the benchmark's 275 KB ``uv.lock``: 72-80 vs 18-28 ms here), but loading
tomli's compiled modules costs 5-7 ms, while tox has loaded ``tomllib`` already: up to
:data:`_SMALL` characters of text to parse go to ``tomllib`` (Python 3.11+), more to tomli (the same
parser; the tests compare both with ``tomllib``). A lockfile is
mostly one ``[[package]]`` table after another. With a memo directory set (:func:`memo_dir`), a
lockfile is parsed table by table and each table's parsed value is kept, keyed by the digest of its
text: the next read parses only the tables that changed (a bumped package) and takes the rest from
the memo. The result is the one ``tomllib`` gives for the whole text; any doubt (multi-line strings,
a key two tables define, a table that does not parse) parses the whole text instead, so errors are
always ``tomllib``'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tox_venvsync._atomic import write_atomic
from tox_venvsync._cache import Cache
from tox_venvsync._errors import LockFileError, carries_login
from tox_venvsync._lock._file import lock_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

#: the array-of-tables headers a lockfile is split at: uv, pdm and poetry, and pylock
_SPLITS = ("\n[[package]]\n", "\n[[packages]]\n")
_MEMO_FORMAT = 1
#: a TOML date or time in the memo's JSON: ``{_TIME: [kind, iso text]}``
_TIME = "\x00toml-time"
_TIMES: dict[str, Any] = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}
_memo_dir: ContextVar[tuple[Path, bool] | None] = ContextVar("toml_memo_dir", default=None)
#: the most text (characters) parsed by the standard library's ``tomllib`` rather than tomli's compiled wheel:
#: where the 5-7 ms of loading tomli and its faster parse (15 vs 4 KB per ms) break even
_SMALL = 32 * 1024


#: why a document whose arrays or inline tables nest deeper than a parser recurses is refused (its own words differ)
TOO_DEEP = "its arrays or inline tables are nested too deeply"


class _InvalidError(ValueError):
    """A text the parser refused, with the parser's message."""


def _parser(size: int) -> Callable[[str], dict[str, Any]]:
    """The parser for ``size`` characters of TOML; either one raises :class:`_InvalidError` for bad TOML."""
    if size <= _SMALL and sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415  # loaded by tox already; see the module's docstring

        loads, error = tomllib.loads, tomllib.TOMLDecodeError
    else:
        import tomli  # noqa: PLC0415

        loads, error = tomli.loads, tomli.TOMLDecodeError

    def parse(text: str) -> dict[str, Any]:
        try:
            return loads(text)
        except error as exc:
            raise _InvalidError(str(exc)) from exc
        except RecursionError as exc:  # x = [[[[...]]]]: tomli's nesting limit, or the interpreter's recursion limit
            raise _InvalidError(TOO_DEEP) from exc

    return parse


@contextlib.contextmanager
def memo_dir(directory: Path, *, write: bool = True) -> Iterator[None]:
    """Use (and with ``write``, keep) parsed lockfile tables in ``directory`` while the block reads lockfiles."""
    token = _memo_dir.set((directory, write))
    try:
        yield
    finally:
        _memo_dir.reset(token)


def read_text(path: Path) -> str:
    """A lockfile's text; every problem names the file and what to do."""
    return utf8_text(path, lock_bytes(path))


def utf8_text(path: Path, raw: bytes) -> str:
    """The lockfile ``path``'s bytes ``raw`` as UTF-8 text (a byte order mark dropped), or one sentence."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LockFileError(path, f"is not UTF-8 text (byte {exc.start}); is this the right file?") from exc


def read_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and its parsed content."""
    text = read_text(path)
    try:
        return text.encode(), _parse(path, text)
    except _InvalidError as exc:
        raise LockFileError(path, f"is not valid TOML ({exc}); fix the file or re-create it with its tool") from exc


def load_toml(path: Path) -> dict[str, Any]:
    """A TOML file beside the lock (``pyproject.toml``, ``uv.toml``), decoded and parsed as :func:`read_toml` does.

    UTF-8 with a byte order mark dropped, as uv reads these files and the lock readers read the project's
    ``pyproject.toml``. Raises :class:`OSError` when it cannot be read and :class:`ValueError` with the decoder's or
    the parser's words when it is not UTF-8 or not TOML (:data:`TOO_DEEP` when it nests too deeply): each caller
    says what it needed the file for.
    """
    text = path.read_bytes().decode("utf-8-sig")
    return _parse_whole(text)


def _parse(path: Path, text: str) -> dict[str, Any]:
    memo_at = _memo_dir.get()
    if memo_at is None or '"""' in text or "'''" in text:  # a multi-line string could hold a header line
        return _parse_whole(text)
    split = next((header for header in _SPLITS if header in text), None)
    if split is None:
        return _parse_whole(text)
    directory, write = memo_at
    memo = _Memo(directory, path)
    document = _join(split, text.split(split), memo)
    if write and not carries_login(text) and "\\u" not in text and "\\U" not in text:
        memo.save()  # a lock's login stays in the lock, not in the cache too (also one spelled with \u0040)
    return document if document is not None else _parse_whole(text)


def _parse_whole(text: str) -> dict[str, Any]:
    return _parser(len(text))(text)


def _join(split: str, pieces: list[str], memo: _Memo) -> dict[str, Any] | None:
    """The document from its head and tables parsed one by one; ``None`` when only a whole parse can tell."""
    head, *tables = pieces
    key = split.strip()[2:-2]
    known = [memo.get(table) for table in tables]
    parse = _parser(len(head) + sum(len(table) for table, parsed in zip(tables, known, strict=True) if parsed is None))
    try:
        document = parse(head)
        if key in document:
            return None
        items: list[Any] = []
        for table, remembered in zip(tables, known, strict=True):
            parsed = remembered
            if parsed is None:
                parsed = parse(split.lstrip("\n") + table)
                memo.put(table, parsed)
            item = parsed.get(key)
            others = {name: value for name, value in parsed.items() if name != key}  # a table after the last
            if not isinstance(item, list) or len(item) != 1 or others.keys() & document.keys():
                return None
            items.append(item[0])
            document.update(others)
    except _InvalidError:
        return None  # the whole parse says where and why
    document[key] = items
    return document


#: the memo is written again when at least one table in this many was parsed anew
_REWRITE_SHARE = 4


class _Memo:
    """Parsed tables of one lockfile by the digest of their text, in one JSON file of the memo directory."""

    def __init__(self, directory: Path, path: Path) -> None:
        name = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:32]
        self._file = directory / f"{name}.json"
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        self._parsed = 0
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, RecursionError):
            data = json.loads(self._file.read_text(encoding="utf-8"))
            if data.get("format") == _MEMO_FORMAT and isinstance(data.get("tables"), dict):
                self._old = data["tables"]

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, text: str) -> dict[str, Any] | None:
        digest = self._digest(text)
        stored = self._old.get(digest)
        if not isinstance(stored, list) or len(stored) != 2:  # noqa: PLR2004  # [has times, value]
            return None
        has_times, value = stored
        try:
            parsed = _revive(value) if has_times else value
        except (ValueError, KeyError, TypeError):  # an entry edited by hand or damaged: the table is parsed again
            return None
        if not isinstance(parsed, dict):
            return None
        self._new[digest] = stored
        return parsed

    def put(self, text: str, parsed: dict[str, Any]) -> None:
        with contextlib.suppress(ValueError):  # a key that looks like our time marker: not kept
            self._new[self._digest(text)] = _storable(parsed)
            self._parsed += 1

    def save(self) -> None:
        """Write the memo of this read, unless the one there already held most of its tables.

        A re-lock that changes a few tables (a bump) finds the others in the memo; parsing those few
        again next time costs well under a millisecond each, writing the whole memo again several.
        """
        if self._old and self._parsed * _REWRITE_SHARE < len(self._new):
            return
        with contextlib.suppress(OSError):
            # the memo directory is the cache root's toml/: the temporary file goes to the process's work directory,
            # so a kill leaves none there
            scratch = Cache(self._file.parent.parent).tmp_dir()
            write_atomic(self._file, json.dumps({"format": _MEMO_FORMAT, "tables": self._new}), scratch=scratch)


def _storable(parsed: dict[str, Any]) -> list[Any]:
    """``[has times, JSON value]``: TOML dates and times become ``{_TIME: [kind, text]}``."""
    found = False

    def encode(value: Any) -> Any:  # noqa: ANN401  # any TOML value
        nonlocal found
        if isinstance(value, dict):
            if _TIME in value:
                raise ValueError(_TIME)
            return {key: encode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [encode(item) for item in value]
        for kind, cls in _TIMES.items():  # datetime before date: a datetime is a date
            if isinstance(value, cls):
                found = True
                return {_TIME: [kind, value.isoformat()]}
        return value

    encoded = encode(parsed)
    return [found, encoded]


def _revive(value: Any) -> Any:  # noqa: ANN401  # any JSON value
    if isinstance(value, dict):
        if _TIME in value:
            kind, text = value[_TIME]
            return _TIMES[kind].fromisoformat(text)
        return {key: _revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revive(item) for item in value]
    return value
