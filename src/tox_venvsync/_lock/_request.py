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

    The rest are uv's other selection flags: ``all_extras`` and ``all_groups`` add every extra and group of
    the projects selected, less ``no_extras`` (with ``all_extras``) and ``no_groups`` (which wins over every
    other way a group is selected, as uv's ``--no-group``). ``packages`` names the workspace members to start
    from (uv's ``--package``: one is ``uv sync`` in its directory), ``all_packages`` starts from every member.
    """

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    default_groups: bool = True
    project: str = "."
    only_groups: bool = False
    all_extras: bool = False
    no_extras: frozenset[str] = frozenset()
    all_groups: bool = False
    no_groups: frozenset[str] = frozenset()
    packages: frozenset[str] = frozenset()
    all_packages: bool = False
    #: install the lock as it is, without checking it against pyproject.toml (uv's ``--frozen``; Poetry's
    #: content-hash, and the requirements of the project tox builds)
    frozen: bool = False
    #: group names that need not exist: ``dev`` from ``--no-dev`` and ``--only-dev``, which uv does not check
    lenient_groups: frozenset[str] = frozenset()
    #: install the lock's editable directories (the project, workspace members) as regular installs (uv's
    #: ``--no-editable``); not a selection, but what a selected tree becomes
    no_editable: bool = False

    def options(self) -> dict[str, object]:
        """The fields besides extras, groups and default_groups that differ from their defaults, for fingerprints.

        A field at its default is left out, so that a fingerprint made before the field existed stays valid.
        """
        described: dict[str, object] = {}
        for name, default in _OPTION_DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                described[name] = sorted(value) if isinstance(value, frozenset) else value
        return described


_OPTION_DEFAULTS: dict[str, object] = {
    "project": ".",
    "only_groups": False,
    "all_extras": False,
    "no_extras": frozenset(),
    "all_groups": False,
    "no_groups": frozenset(),
    "packages": frozenset(),
    "all_packages": False,
    "no_editable": False,
    "lenient_groups": frozenset(),
    "frozen": False,
}
