"""The tox internals we rely on still look the way _tox_compat.py and _runner.py expect."""

from __future__ import annotations

import importlib
import inspect
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tox.config.of_type import ConfigDynamicDefinition
from tox.tox_env.api import ToxEnv
from tox.tox_env.python.runner import PythonRun
from tox.tox_env.runner import RunToxEnv
from virtualenv import session_via_cli

from _support.pylock import write_pylock
from tox_venvsync._discovery import VenvLayout, discover
from tox_venvsync._tox_compat import follow_env_dir

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


def test_a_relative_env_dir_starts_at_the_tox_root_on_a_tox_that_leaves_it_relative(
    tox_project: ToxProjectCreator,
) -> None:
    # older tox (4.65.0 to 4.67.0 at least) gives env_dir = venv as written, relative: the venv went to the current
    # directory (found by QA); the definition of such a tox has no post_process, one is set
    definition = ConfigDynamicDefinition(keys=["env_dir"], desc="d", of_type=Path, default=None)
    conf: Any = SimpleNamespace(_defined={"env_dir": definition})
    follow_env_dir(conf, lambda: Path("/venvs/a"), lambda: Path("/project"))
    assert definition.post_process is not None
    assert definition.post_process(Path("venv")) == Path("/project/venv")
    assert definition.post_process(Path("/elsewhere")) == Path("/elsewhere")
    # through tox, whatever its version
    project = tox_project({"tox.ini": "[testenv:a]\nrunner = venvsync\nenv_dir = venv\n"})
    result = project.run("c", "-e", "a", "-k", "env_dir")
    result.assert_success()
    assert f"env_dir = {project.path / 'venv'}\n" in result.out


def test_private_members_we_use_exist() -> None:
    # _tox_compat.follow_env_dir: ConfigSet._defined holds a ConfigDynamicDefinition with a settable default
    definition = ConfigDynamicDefinition(keys=["k"], desc="d", of_type=str, default="x")
    assert definition.default == "x"
    # _runner._clean: tox's clean bookkeeping and recreate commands
    assert "_run_state" in inspect.getsource(ToxEnv.__init__)
    assert callable(RunToxEnv._run_recreate_commands)
    # _tox_compat.run_recreate_commands: tox's recreate step sets _paths_private, and the _paths setter drops the
    # cached environment variables
    assert "self._paths_private = " in inspect.getsource(RunToxEnv._run_recreate_commands)
    assert isinstance(ToxEnv.__dict__["_paths"], property)
    assert ToxEnv.__dict__["_paths"].fset is not None
    assert "self._env_vars" in inspect.getsource(ToxEnv.__dict__["_paths"].fset)
    assert "ensure_empty_dir(env_dir" in inspect.getsource(ToxEnv._clean)
    # _runner: the steps of tox's own we call (the ones we replace: see _OVERRIDDEN)
    assert callable(PythonRun._run_extra_setup_commands)
    assert callable(RunToxEnv._handle_journal_package)


#: the members private to tox that VenvSyncRunner overrides: a tox that renames one would no longer call ours, silently
_OVERRIDDEN = {
    "_clean",
    "_default_pass_env",
    "_external_pkg_tox_env_type",
    "_get_python",
    "_install_dependency_groups",
    "_install_deps",
    "_install_pylock",
    "_package_tox_env_type",
    "_package_types",
    "_setup_env",
    "_setup_with_env",
}


def test_the_private_tox_members_the_runner_overrides_are_still_tox_s() -> None:
    # what the runner defines under a name private to one of its tox base classes: exactly the list above, so that
    # a rename in tox (our override then never runs) and a new override (to add to the list) both fail here
    from tox_venvsync._runner import VenvSyncRunner  # noqa: PLC0415

    bases = VenvSyncRunner.__mro__[1:]
    ours = {name for name in vars(VenvSyncRunner) if name.startswith("_") and not name.startswith("__")}
    overridden = {name for name in ours if any(name in vars(base) for base in bases)} - {"_abc_impl"}
    assert overridden == _OVERRIDDEN


def test_the_private_tox_attributes_the_runner_reads_are_set_by_tox() -> None:
    # _runner reads these attributes tox's __init__ methods set; a rename would be an AttributeError in every run
    from tox.tox_env.installer import Installer  # noqa: PLC0415
    from tox.tox_env.python.virtual_env.api import VirtualEnv  # noqa: PLC0415

    assert "self._virtualenv_session" in inspect.getsource(VirtualEnv.__init__)  # _get_python, _layout
    assert "self._installer" in inspect.getsource(VirtualEnv.__init__)  # installer
    assert "self._packages" in inspect.getsource(RunToxEnv.__init__)  # _sync_env
    assert "self._env" in inspect.getsource(Installer.__init__)  # _Listing.installed
    assert callable(RunToxEnv._build_packages)  # _sync_env


def test_the_tox_helpers_we_import_are_where_tox_s_own_setup_imports_them() -> None:
    # _tox_compat does nothing where tox lacks these helpers (older tox makes its work directory with the umask and
    # writes no .venv redirect); a tox that moved one while its own setup still calls it would leave ours doing
    # nothing without a word: the work directory group-readable again, a redirect file refused as a location
    import tox.tox_env.api  # noqa: PLC0415

    setup = inspect.getsource(tox.tox_env.api)
    for module, name in (("tox.util.path", "ensure_private_dir"), ("tox.util.venv_redirect", "release_venv_redirect")):
        if f"{name}(" in setup:
            assert hasattr(importlib.import_module(module), name), f"tox calls {name}, no longer in {module}"


def test_our_interpreter_facts_match_the_virtualenv_runners(tox_project: ToxProjectCreator, cache_dir: Path) -> None:  # noqa: ARG001
    # _tox_compat.python_info rebuilds what VirtualEnv._get_python gives tox: the same base_python must
    # give the same cached facts (tox recreates an env whose facts change) under both runners
    ini = "[testenv]\npackage = skip\nbase_python = python3.12\n[testenv:ours]\nrunner = venvsync\n"
    ini += "[testenv:theirs]\nrunner = virtualenv\n"
    project = tox_project({"tox.ini": ini})
    write_pylock(project.path / "pylock.toml", [])
    project.run("r", "-e", "ours,theirs", "--notest").assert_success()

    def facts(env: str) -> dict[str, Any]:
        info = json.loads((project.path / ".tox" / env / ".tox-info.json").read_text())
        python = dict(info["Python"])
        python.pop("virtualenv version", None)  # ours leaves it out on purpose (see python_cache)
        return python

    assert facts("ours") == facts("theirs")
    assert facts("ours")["version_info"][:2] == [3, 12]


def test_predicted_layout_is_the_one_virtualenv_creates(tmp_path: Path, python312: Path) -> None:
    # _discovery finds the interpreter and the venv's paths as virtualenv's session does, without the session
    env = {**os.environ, "VIRTUALENV_NO_PERIODIC_UPDATE": "True", "VIRTUALENV_NO_SEED": "True"}
    venv = tmp_path / "venv"
    session = session_via_cli([str(venv), f"--python={python312}"], setup_logging=False, env=env)
    found = discover([str(python312)], try_first_with=[], env=env)
    assert found is not None
    assert found.system_executable == session.creator.interpreter.system_executable
    layout = VenvLayout.of(venv, found)
    assert not layout.exists(venv)
    session.run()
    creator: Any = session.creator
    assert layout == VenvLayout(
        python=creator.exe, scripts=creator.script_dir, purelib=creator.purelib, platlib=creator.platlib
    )
    assert layout.exists(venv)


def test_a_redirect_tox_wrote_is_released_and_any_other_file_kept(tmp_path: Path) -> None:
    # tox's own test of its .venv redirect: a file naming a directory inside the work directory
    from tox_venvsync._tox_compat import release_tox_redirect  # noqa: PLC0415

    work = tmp_path / ".tox"
    (work / "dev").mkdir(parents=True)
    redirect = tmp_path / ".venv"
    redirect.write_text(str(work / "dev") + "\n")
    assert release_tox_redirect(redirect, work)
    assert not redirect.exists()
    for text in (str(tmp_path / "elsewhere") + "\n", "my notes\n"):  # not tox's: kept
        redirect.write_text(text)
        assert not release_tox_redirect(redirect, work)
        assert redirect.read_text() == text


def test_the_package_root_falls_back_to_the_tox_root_on_a_tox_without_it(tmp_path: Path) -> None:
    # before tox 4.67.5 (4.65 is the newest tox on Python 3.10) the core's package_root exists only once a packaging
    # environment registered it, and it is the value as written: relative to the tox root
    from types import SimpleNamespace  # noqa: PLC0415

    from tox_venvsync._runner import VenvSyncRunner  # noqa: PLC0415

    package_root = VenvSyncRunner._core_package_root.fget  # type: ignore[attr-defined]
    assert package_root(SimpleNamespace(core={"tox_root": tmp_path})) == tmp_path
    assert (
        package_root(SimpleNamespace(core={"tox_root": tmp_path, "package_root": tmp_path / "src"})) == tmp_path / "src"
    )
    relative = SimpleNamespace(core={"tox_root": tmp_path, "package_root": Path("a/../pkg")})
    assert package_root(relative) == tmp_path / "pkg"
