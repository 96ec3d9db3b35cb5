"""The one place that touches tox internals; tests/test_tox_compat.py breaks if tox changes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tox.config.main import Config
    from tox.config.sets import EnvConfigSet


def follow_env_dir(conf: EnvConfigSet, location: Callable[[], Path]) -> None:
    """Make tox's ``env_dir`` default to our ``env_location``.

    tox has no public way to change another key's default, and defining ``env_dir`` again raises
    "duplicate configuration definition"; so we swap the default of tox's own definition
    (``ConfigSet._defined``, ``ConfigDynamicDefinition.default``). An explicit ``env_dir`` still wins.
    """
    definition: Any = conf._defined["env_dir"]  # noqa: SLF001  # private: see the docstring

    def default(_conf: Config, _name: str | None) -> Path:
        return location()

    definition.default = default
