"""State: the fingerprint of a finished sync, written last, so the next run with the same inputs does nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tox_venvsync import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from tox_venvsync._lock import Request
    from tox_venvsync._target import Target


@dataclass(frozen=True, kw_only=True, slots=True)
class Inputs:
    """Everything a sync's outcome depends on besides the venv's contents."""

    lock_bytes: bytes
    lock_path: str
    lock_format: str
    request: Request
    target: Target
    extra: Sequence[str] = ()
    exact: bool = True

    def fingerprint(self) -> str:
        """A digest of the inputs and this engine's version."""
        described = {
            "engine": __version__,
            "lock": hashlib.sha256(self.lock_bytes).hexdigest(),
            "lock_path": self.lock_path,
            "lock_format": self.lock_format,
            "extras": sorted(self.request.extras),
            "groups": sorted(self.request.groups),
            "default_groups": self.request.default_groups,
            "interpreter": [self.target.executable, self.target.python_full_version, self.target.tag_strings[:1]],
            "extra": list(self.extra),
            "exact": self.exact,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


class State:
    """The state file of a venv: the fingerprint and the ``.dist-info`` names a finished sync left."""

    def __init__(self, venv: Path) -> None:
        self._file = venv / ".venvsync" / "state.json"

    def is_current(self, fingerprint: str, dist_infos: list[str]) -> bool:
        """Whether the last finished sync had these inputs and the venv still holds what it left."""
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("fingerprint") == fingerprint and data.get("dists") == dist_infos

    def clear(self) -> None:
        """Forget the state before changing the venv: an interrupted sync is never taken as in sync."""
        self._file.unlink(missing_ok=True)

    def write(self, fingerprint: str, dist_infos: list[str]) -> None:
        """Record a finished sync (the last write of a sync)."""
        self._file.parent.mkdir(exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "dists": dist_infos}), encoding="utf-8")
        tmp.replace(self._file)
