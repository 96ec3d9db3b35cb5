"""What an install from the cache is asked for: a wheel's pick, pinned by its sha256."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._plan import Wanted

if TYPE_CHECKING:
    from pathlib import Path


def from_cache(wheel: Path) -> Wanted:
    """``wheel`` as a lock pins it (name and version from its file name, its sha256): unpacked into the cache."""
    name, version = wheel.name.split("-")[:2]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    artifact = Artifact(filename=wheel.name, url=None, path=wheel, size=None, hashes={"sha256": digest})
    pick = Pick(name=canonicalize_name(name), version=Version(version), kind="wheel", artifact=artifact)
    return Wanted(pick=pick, direct_url=None)
