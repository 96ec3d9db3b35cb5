"""What a sync that finds the venv in sync never loads: the engine's and the command line's tests check one list."""

from __future__ import annotations

#: the modules of ``tox_venvsync`` (without the prefix) a no-op sync leaves unloaded: each costs milliseconds of every
#: run's start-up, and a venv in sync has no use for a lock reader, the planner or the installer
NO_OP_UNLOADED = (
    "_lock._model",
    "_lock._pylock",
    "_lock._toml",
    "_plan",
    "_apply",
    "_uninstall",
    "_placeable",
    "_link",
    "_journal",
    "_unpacked",
    "_fetch",
    "_sources",
)
