"""The selection flags: uv sync's way of saying what to take from a lock, for ``venvsync`` and tox's ``sync_flags``.

``venvsync sync`` and ``venvsync select`` take them on their command line; a tox environment takes them from
its ``sync_flags`` key (tox-uv's ``uv_sync_flags`` is read too, so a tox-uv configuration keeps working).
Both make one :class:`Request` through :func:`make_request`, which refuses the combinations uv refuses.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NoReturn

from tox_venvsync._errors import BadInputError, named
from tox_venvsync._lock._request import Request

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: flags of uv sync that tox's sync_flags may hold and that change nothing: a sync is exact unless the exact key
#: says otherwise, and checks that the lock is current (uv's --locked) unless --frozen says otherwise
_OTHERS = ("--exact", "--locked")
#: uv sync flags that have a key of their own in a tox environment: the message names it
_KEY_FOR = {
    "--inexact": "exact = false",
    "--no-install-project": "package = skip",
    "--compile-bytecode": "compile_bytecode = true",
    "--seed": "venv_seed = true",
    "--offline": "the --sync-offline option",
    "--dry-run": "the --sync-dry-run option",
    "--extra": "extras",
    "--group": "dependency_groups",
    "--only-group": "only_groups",
    "--no-default-groups": "no_default_groups = true",
}


def add_selection_flags(parser: argparse.ArgumentParser) -> None:
    """The selection flags of uv sync beyond ``--extra``, ``--group``, ``--only-group`` and ``--no-default-groups``."""
    parser.add_argument("--all-extras", action="store_true", help="select every extra of the project")
    parser.add_argument(
        "--no-extra", action="append", default=[], help="leave out this extra when --all-extras selects it (repeatable)"
    )
    parser.add_argument("--all-groups", action="store_true", help="select every dependency group of the project")
    parser.add_argument(
        "--no-group",
        action="append",
        default=[],
        help="leave out this dependency group, however it was selected (repeatable)",
    )
    parser.add_argument("--no-dev", action="store_true", help="leave out the dev group (as --no-group dev)")
    parser.add_argument("--only-dev", action="store_true", help="select only the dev group (as --only-group dev)")
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        help="start from this uv workspace member, by name (repeatable; as uv sync --package)",
    )
    parser.add_argument("--all-packages", action="store_true", help="start from every uv workspace member")
    parser.add_argument(
        "--frozen",
        action="store_true",
        help="install the lock as it is: no check that it still matches pyproject.toml (as uv sync --frozen)",
    )
    parser.add_argument(
        "--no-editable",
        action="store_true",
        help="install the lock's editable directories (the project, workspace members) as regular installs",
    )


#: what :func:`parse_sync_flags` gives for no flags (a test checks it against the parser's defaults)
_NONE_GIVEN: dict[str, object] = {
    "all_extras": False,
    "no_extra": [],
    "all_groups": False,
    "no_group": [],
    "no_dev": False,
    "only_dev": False,
    "package": [],
    "all_packages": False,
    "no_editable": False,
    "frozen": False,
    "exact": False,
    "locked": False,
}


def given_selection_flags(args: argparse.Namespace) -> list[str]:
    """The selection flags the command line was given (``--extra`` to ``--no-editable``), as they are spelt."""
    chosen = ("extra", "group", "only_group", "no_default_groups", *_NONE_GIVEN)  # the common four, then the rest
    return [f"--{dest.replace('_', '-')}" for dest in chosen if getattr(args, dest, None)]


class _FlagsParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _FlagsError(message)


class _FlagsError(Exception):
    pass


def _parser(key: str) -> argparse.ArgumentParser:
    parser = _FlagsParser(prog=key, add_help=False, allow_abbrev=False)
    add_selection_flags(parser)
    for flag in _OTHERS:
        parser.add_argument(flag, action="store_true")
    return parser


def parse_sync_flags(flags: Sequence[str], key: str) -> argparse.Namespace:
    """A tox environment's ``sync_flags`` (or tox-uv's ``uv_sync_flags``), refusing a flag that is not read here.

    Each entry (a line of tox.ini) may hold a flag and its value: it is split as a shell splits it.
    """
    if not flags:  # most environments: no parser is made on a tox run
        return argparse.Namespace(**_NONE_GIVEN)
    import shlex  # noqa: PLC0415  # only for an environment with flags

    try:
        words = [word for flag in flags for word in shlex.split(flag)]
    except ValueError as exc:
        msg = f"{key} cannot be split into flags ({exc}); fix the quotes"
        raise BadInputError(msg) from exc
    try:
        args, unknown = _parser(key).parse_known_args(words)
    except _FlagsError as exc:
        msg = f"{key}: {exc}; see the sync_flags key in the configuration reference"
        raise BadInputError(msg) from exc
    if unknown:
        flag = unknown[0].split("=", 1)[0]
        instead = _KEY_FOR.get(flag)
        if instead is not None:
            msg = f"{key} has {flag}, which tox-venvsync takes from {instead}; move it there"
        else:
            msg = (
                f"{key} has {unknown[0]}, which tox-venvsync does not read; it reads --all-extras, --no-extra, "
                "--all-groups, --no-group, --no-dev, --only-dev, --package, --all-packages, --no-editable, --frozen, "
                "--locked and --exact: leave the rest out"
            )
        raise BadInputError(msg)
    return args


def _names(values: Iterable[str]) -> frozenset[str]:
    if not (values := list(values)):
        return frozenset()
    from packaging.utils import canonicalize_name  # noqa: PLC0415  # a run already in sync names nothing

    return frozenset(canonicalize_name(value) for value in values)


def make_request(  # noqa: PLR0913  # one argument per way to select
    *,
    extras: Iterable[str],
    groups: Iterable[str],
    only_groups: Iterable[str],
    no_default_groups: bool,
    flags: argparse.Namespace,
    project: str = ".",
    no_editable: bool = False,
    frozen: bool = False,
) -> Request:
    """The request the selection asks for; refused where uv sync refuses the same flags together."""
    wanted_extras, wanted_groups = _names(extras), _names(groups)
    if flags.no_dev and flags.only_dev:
        msg = "--no-dev leaves out the group --only-dev asks for alone: pass one of them (uv sync refuses both)"
        raise BadInputError(msg)
    only = _names([*only_groups, *(["dev"] if flags.only_dev else [])])
    only_name = named("only_groups") if only_groups else "--only-dev"
    if flags.all_extras and wanted_extras and not only_groups:  # uv's parser refuses them, with --only-dev too
        msg = f"--all-extras selects every extra: leave {named('extras')} out (uv sync refuses both together)"
        raise BadInputError(msg)
    all_extras, left_out = flags.all_extras, frozenset[str]()
    if flags.only_dev and not only_groups:  # uv sync --only-dev takes --extra and --all-extras, and leaves them out
        # left out as --no-extra's are, so that the reader checks their names as uv checks them (found by QA)
        left_out, wanted_extras, all_extras = wanted_extras, frozenset(), False
    if only and (wanted_extras or wanted_groups):
        msg = (
            f"{only_name} installs those groups alone, not the project's dependencies: "
            f"{named('leave extras and groups out')} (uv sync --only-group refuses --extra and --group too)"
        )
        raise BadInputError(msg)
    if only and (all_extras or flags.all_groups):
        given = "--all-extras" if all_extras else "--all-groups"
        msg = f"{only_name} installs those groups alone: leave out {given} (uv sync refuses it too)"
        raise BadInputError(msg)
    if flags.all_packages and flags.package:
        msg = "--all-packages starts from every workspace member: leave out --package (uv sync refuses both together)"
        raise BadInputError(msg)
    if getattr(flags, "locked", False) and flags.frozen:  # the command line has no --locked: a sync checks anyway
        msg = "--locked checks that the lock is current and --frozen skips that check: keep one (uv sync refuses both)"
        raise BadInputError(msg)
    return Request(
        extras=wanted_extras,
        groups=only or wanted_groups,
        default_groups=not no_default_groups and not only,
        project=project,
        only_groups=bool(only),
        all_extras=all_extras,
        no_extras=_names(flags.no_extra) | left_out,
        all_groups=flags.all_groups,
        no_groups=_names([*flags.no_group, *(["dev"] if flags.no_dev else [])]),
        packages=_names(flags.package),
        all_packages=flags.all_packages,
        no_editable=no_editable or flags.no_editable,
        lenient_groups=frozenset({"dev"}) if flags.no_dev or flags.only_dev else frozenset(),
        frozen=frozen or flags.frozen,
    )
