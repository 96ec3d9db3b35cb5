"""tox hooks: the ``venvsync`` run environment, its command line options, the bytecode kept after commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tox.plugin import impl

from tox_venvsync._runner import VenvSyncRunner

if TYPE_CHECKING:
    from tox.config.cli.parser import ToxParser
    from tox.tox_env.api import ToxEnv
    from tox.tox_env.register import ToxEnvRegister


@impl
def tox_register_tox_env(register: ToxEnvRegister) -> None:
    """Make ``runner = venvsync`` available; the default runner stays tox's (or another plugin's)."""
    register.add_run_env(VenvSyncRunner)


@impl
def tox_after_run_commands(tox_env: ToxEnv) -> None:  # pluggy passes only the arguments a hook names
    """After a venvsync environment's commands: keep the bytecode they compiled for the next venvs."""
    if isinstance(tox_env, VenvSyncRunner):
        tox_env.harvest_bytecode()


@impl
def tox_add_option(parser: ToxParser) -> None:
    """``--env-location TEMPLATE``: put every venvsync environment of this run there."""
    parser.add_argument(
        "--env-location",
        dest="env_location",
        metavar="TEMPLATE",
        of_type=str,
        default=None,
        help="venv location for venvsync environments in this run, overriding env_location; "
        "{env_name} is replaced by the environment's name (required when several environments run)",
    )
    parser.add_argument(
        "--sync-offline",
        dest="sync_offline",
        action="store_true",
        help="venvsync environments install only from the artifact cache (also TOX_VENVSYNC_OFFLINE=1); "
        "a missing file fails the run listing every missing file",
    )
    parser.add_argument(
        "--sync-dry-run",
        dest="sync_dry_run",
        action="store_true",
        help="venvsync environments print what a sync would install, upgrade, remove and keep, change nothing, "
        "and are skipped",
    )
