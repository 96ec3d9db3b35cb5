"""Remembered selections: what a lock selected for one request and interpreter, kept in the cache.

Reading and selecting a lock of a few hundred packages costs 10 to 30 ms even with its tables
memoized (building the model validates every entry). The answer depends only on the lock's bytes,
the ``pyproject.toml`` beside it (the formats that read one), the request, the interpreter's
markers and tags, and the engine's build (``_state.engine``); when none of those changed (an env is
created again, a stray package is removed), the picks are read back from a small JSON file instead.
Only successful selections are kept: an error is always the reader's, raised again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from tox_venvsync._atomic import write_atomic
from tox_venvsync._cache import Cache
from tox_venvsync._errors import carries_login
from tox_venvsync._lock._file import file_bytes, lock_bytes, member_digests, project_file
from tox_venvsync._lock._model import Artifact, DirectorySource, Pick, VcsSource
from tox_venvsync._state import engine

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tox_venvsync._lock._request import Request
    from tox_venvsync._target import Target

#: formats whose selection reads nothing but the lock and the ``pyproject.toml`` beside it
#: (a requirements file can include others, so its selections are not kept)
REMEMBERED_FORMATS = frozenset({"pylock", "uv", "pdm", "poetry"})
_FORMAT = 1


def remembered_selection(  # noqa: PLR0913  # the selection's inputs, keyword-only
    directory: Path,
    *,
    lock: Path,
    lock_format: str,
    request: Request,
    target: Target,
    select: Callable[[], Sequence[Pick]],
    write: bool = True,
) -> Sequence[Pick]:
    """``select()``'s picks, read back from ``directory`` when every input is as it was."""
    if lock_format not in REMEMBERED_FORMATS:
        return select()
    try:
        key = _key(lock, lock_format, request, target)
    except OSError:
        return select()  # the reader reports the unreadable file
    memo = directory / f"{key}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        data = json.loads(memo.read_text(encoding="utf-8"))
        if data["format"] == _FORMAT:
            return [_pick(item) for item in data["picks"]]
    picks = select()
    if write and all(pick.lookup is None for pick in picks):  # a pin to look up on an index is not kept
        text = json.dumps({"format": _FORMAT, "picks": [_json(p) for p in picks]})
        if not carries_login(text):  # a lock's login stays in the lock, not in the cache too
            with contextlib.suppress(OSError):
                # directory is the cache root's selections/: the temporary file goes to the process's work
                # directory, so a kill leaves none there
                write_atomic(memo, text, scratch=Cache(directory.parent).tmp_dir())
    return picks


def _key(lock: Path, lock_format: str, request: Request, target: Target) -> str:
    project_bytes = file_bytes(project_file(lock, lock_format))
    described = {
        "engine": engine(),
        "format": lock_format,
        "lock": str(lock.absolute()),  # a lock named relative to two directories is two locks
        "lock_sha256": hashlib.sha256(lock_bytes(lock)).hexdigest(),
        "pyproject_sha256": None if project_bytes is None else hashlib.sha256(project_bytes).hexdigest(),
        "members": member_digests(lock, lock_bytes(lock)) if lock_format == "uv" else [],
        "extras": sorted(request.extras),
        "groups": sorted(request.groups),
        "default_groups": request.default_groups,
        "markers": dict(sorted(target.markers.items())),
        "tags": list(target.tag_strings),
        "options": request.options(),
    }
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()[:40]


def _json(pick: Pick) -> dict[str, Any]:
    artifact = pick.artifact
    return {
        "name": pick.name,
        "version": None if pick.version is None else str(pick.version),
        "kind": pick.kind,
        "artifact": None
        if artifact is None
        else {
            "filename": artifact.filename,
            "url": artifact.url,
            "path": None if artifact.path is None else str(artifact.path),
            "size": artifact.size,
            "hashes": dict(artifact.hashes),
        },
        "index": pick.index,
        "vcs": None
        if pick.vcs is None
        else {
            "type": pick.vcs.type,
            "url": pick.vcs.url,
            "commit": pick.vcs.commit,
            "requested": pick.vcs.requested,
            "subdirectory": pick.vcs.subdirectory,
        },
        "directory": None
        if pick.directory is None
        else {
            "path": str(pick.directory.path),
            "editable": pick.directory.editable,
            "subdirectory": pick.directory.subdirectory,
        },
        "context": pick.context,
        "extras": sorted(pick.extras),
        "subdirectory": pick.subdirectory,
        "direct": pick.direct,
    }


def _pick(item: dict[str, Any]) -> Pick:
    artifact = item["artifact"]
    vcs = item["vcs"]
    directory = item["directory"]
    return Pick(
        name=canonicalize_name(item["name"]),
        version=None if item["version"] is None else Version(item["version"]),
        kind=item["kind"],
        artifact=None
        if artifact is None
        else Artifact(
            filename=artifact["filename"],
            url=artifact["url"],
            path=None if artifact["path"] is None else Path(artifact["path"]),
            size=artifact["size"],
            hashes=artifact["hashes"],
        ),
        index=item["index"],
        vcs=None if vcs is None else VcsSource(**vcs),
        directory=None
        if directory is None
        else DirectorySource(
            path=Path(directory["path"]), editable=directory["editable"], subdirectory=directory["subdirectory"]
        ),
        context=item["context"],
        extras=frozenset(item.get("extras", ())),
        subdirectory=item.get("subdirectory"),
        direct=item.get("direct", True),
    )
