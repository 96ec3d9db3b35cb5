"""Request: what the user asks of a lock, the one part of the lock model that every run needs.

It lives apart from :mod:`tox_venvsync._lock._model` so that a tox run of an environment that is
already in sync (which only fingerprints the request) does not define the rest of the model.
"""

from __future__ import annotations

from tox_venvsync._values import frozen


@frozen
class Request:
    """What the user asks of a lock: extras, dependency groups, and whether the lock's default groups apply.

    Names are normalized (PEP 503). The selected groups are ``groups`` plus, when ``default_groups``,
    the format's defaults (pylock ``default-groups``; uv ``tool.uv.default-groups`` else ``dev``; ...).
    ``project`` is the directory of the uv workspace member to start from, relative to the lock's
    directory (``uv sync`` run there); ``.`` is the lock's own project (or, for a virtual root, every member).
    With ``only_groups`` the ``groups`` are all that is selected: not the project, its dependencies or the
    default groups (uv's ``--only-group``, Poetry's ``--only``, pdm's ``--no-default -G``).
    """

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    default_groups: bool = True
    project: str = "."
    only_groups: bool = False
