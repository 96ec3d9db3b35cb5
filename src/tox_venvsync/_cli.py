"""The ``venvsync`` command line (also ``python -m tox_venvsync``): the engine without tox."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from tox_venvsync import __version__
from tox_venvsync._errors import BadInputError, VenvSyncError
from tox_venvsync._lock import Request, read_lock
from tox_venvsync._target import query_interpreter

if TYPE_CHECKING:
    from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="venvsync",
        description="Sync a virtual environment exactly from a lockfile; the engine of the tox runner 'venvsync'.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    select = commands.add_parser("select", help="print what the lock installs for an interpreter, extras and groups")
    select.add_argument("--lock", required=True, type=Path, help="the lockfile (pylock.toml)")
    select.add_argument("--python", type=Path, default=Path(sys.executable), help="the target interpreter")
    select.add_argument("--extra", action="append", default=[], help="an extra to select (repeatable)")
    select.add_argument("--group", action="append", default=[], help="a dependency group to select (repeatable)")
    select.add_argument("--no-default-groups", action="store_true", help="leave out the lock's default groups")
    select.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failed, 2 bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _select(args)
    except VenvSyncError as exc:
        print(f"venvsync: error: {exc}", file=sys.stderr)  # noqa: T201
        return exc.exit_code


def _select(args: argparse.Namespace) -> int:
    if not args.python.exists():
        msg = f"the interpreter {args.python} does not exist; pass --python with the path of a Python"
        raise BadInputError(msg)
    target = query_interpreter(args.python)
    request = Request(
        extras=frozenset(canonicalize_name(e) for e in args.extra),
        groups=frozenset(canonicalize_name(g) for g in args.group),
        default_groups=not args.no_default_groups,
    )
    picks = sorted(read_lock(args.lock).select(target, request), key=lambda pick: pick.name)
    rows = [{"name": p.name, "version": str(p.version) if p.version else None, "source": p.kind} for p in picks]
    if args.json:
        print(json.dumps(rows, indent=2))  # noqa: T201
    else:
        for row in rows:
            print(f"{row['name']}=={row['version']} ({row['source']})")  # noqa: T201
    return 0
