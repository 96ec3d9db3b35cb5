"""How the no-wheel messages show an interpreter's tags, written out here rather than by the code under test."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.tags import Tag


def no_wheel_summary(tags: Sequence[Tag]) -> str:
    """A glibc Linux interpreter's tags as a no-wheel message shows them: first, last, count, newest manylinux."""
    newest = next(tag.platform for tag in tags if tag.platform.startswith("manylinux_"))
    return f"{tags[0]} ... {tags[-1]} ({len(tags)} in all; platforms up to {newest})"
