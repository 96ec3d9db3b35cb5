"""The tox internals we rely on still look the way _tox_compat.py and _runner.py expect."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from tox.config.of_type import ConfigDynamicDefinition
from tox.tox_env.api import ToxEnv
from tox.tox_env.python.runner import PythonRun
from tox.tox_env.runner import RunToxEnv

if TYPE_CHECKING:
    from tox.pytest import ToxProjectCreator


def test_env_dir_follows_env_location(tox_project: ToxProjectCreator) -> None:
    project = tox_project(
        {"tox.ini": "[testenv:a]\nrunner = venvsync\nenv_location = {tox_root}/../venvs/{env_name}\n"}
    )
    result = project.run("c", "-e", "a", "-k", "env_dir", "env_location")
    result.assert_success()
    expected = project.path.parent / "venvs" / "a"
    assert f"env_dir = {expected}" in result.out
    assert f"env_location = {expected}" in result.out


def test_explicit_env_dir_still_wins(tox_project: ToxProjectCreator) -> None:
    project = tox_project(
        {"tox.ini": "[testenv:a]\nrunner = venvsync\nenv_location = /tmp/x\nenv_dir = {tox_root}/mine\n"}
    )
    result = project.run("c", "-e", "a", "-k", "env_dir")
    result.assert_success()
    assert f"env_dir = {project.path / 'mine'}" in result.out


def test_private_members_we_use_exist() -> None:
    # _tox_compat.follow_env_dir: ConfigSet._defined holds a ConfigDynamicDefinition with a settable default
    definition = ConfigDynamicDefinition(keys=["k"], desc="d", of_type=str, default="x")
    assert definition.default == "x"
    # _runner._clean: tox's clean bookkeeping and recreate commands
    assert "_run_state" in inspect.getsource(ToxEnv.__init__)
    assert callable(RunToxEnv._run_recreate_commands)
    assert "ensure_empty_dir(env_dir" in inspect.getsource(ToxEnv._clean)
    # _runner: the PythonRun steps we replace
    for name in ("_install_deps", "_install_dependency_groups", "_install_pylock", "_run_extra_setup_commands"):
        assert callable(getattr(PythonRun, name))
    assert callable(RunToxEnv._handle_journal_package)
