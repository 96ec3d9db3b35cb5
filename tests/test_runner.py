"""The ``venvsync`` runner through tox itself: the behaviour a user sees from ``tox -e py312``."""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import importlib.machinery
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tox.util.path

from _support.lines import first_line
from _support.order import watch_query_and_lock
from _support.project import write_project
from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.pythons import installed_python
from _support.wheels import make_wheel, sha256_file
from tox_venvsync._build import Builder
from tox_venvsync._cache import Cache, env_lock
from tox_venvsync._installed import dist_info_names
from tox_venvsync._location import create_dir, missing_from, undo_creation
from tox_venvsync._runner import VenvSyncRunner

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

    from pytest_mock import MockerFixture
    from tox.pytest import ToxProject, ToxProjectCreator

    from _support.index import LocalIndex

pytestmark = pytest.mark.slow

SITE = Path("lib/python3.12/site-packages")

INI = """
[tox]
env_list = py312
[testenv]
runner = venvsync
env_location = {env_location}
package = skip
commands =
    python -c "import alpha, beta; print('versions', alpha.VERSION, beta.__version__)"
    alpha-cli
"""

ALPHA = {"alpha/__init__.py": "VERSION = {v!r}\ndef main():\n    print('alpha-cli ran')\n"}


class Demo:
    """A project with a pylock of two wheels served by the local index, its venv outside the project."""

    def __init__(self, tmp_path: Path, index: LocalIndex, creator: ToxProjectCreator) -> None:
        self.index = index
        self.venvs = tmp_path / "venvs"
        self.venv = self.venvs / "py312"
        self.work = tmp_path / "work"
        self.versions = {"alpha": "1.0", "beta": "2.0"}
        self.project: ToxProject = creator({"tox.ini": INI.replace("{env_location}", str(self.venvs / "{env_name}"))})
        self.lock()

    def wheel(self, name: str, version: str) -> Path:
        if name == "alpha":
            modules = {k: v.format(v=version) for k, v in ALPHA.items()}
            return make_wheel(
                self.index.directory, name, version, modules=modules, console_scripts={"alpha-cli": "alpha:main"}
            )
        return make_wheel(self.index.directory, name, version)

    def lock(self, *more: dict[str, object], **overrides: Mapping[str, object]) -> Path:
        """The pylock of the two wheels (with ``overrides`` of their wheel entries), and ``more`` packages."""
        packages = list(more)
        for name, version in sorted(self.versions.items()):
            wheel = self.wheel(name, version)
            entry = wheel_entry(wheel, url=self.index.file_url(wheel.name), **overrides.get(name, {}))  # type: ignore[arg-type]
            packages.append(package_entry(name, version, [entry]))
        return write_pylock(self.project.path / "pylock.toml", packages)

    def run(self, *args: str) -> tuple[int, str]:
        result = self.project.run("r", "-e", "py312", "--workdir", str(self.work), *args)
        return result.code, result.out + result.err

    @property
    def site(self) -> Path:
        return self.venv / SITE

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """inode and mtime of every .dist-info directory."""
        stats = {name: (self.site / name).stat() for name in dist_info_names([self.site])}
        return {name: (stat.st_ino, stat.st_mtime_ns) for name, stat in stats.items()}


@pytest.fixture
def demo(tmp_path: Path, local_index: LocalIndex, tox_project: ToxProjectCreator, cache_dir: Path) -> Demo:  # noqa: ARG001
    return Demo(tmp_path, local_index, tox_project)


def tree(path: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime) for p in sorted(path.rglob("*"))}


def test_first_run_creates_the_venv_outside_and_runs_commands(demo: Demo) -> None:
    before = tree(demo.project.path)
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    assert "alpha-cli ran" in out
    assert "synced 2 packages: 2 installed" in out
    assert (demo.venv / "pyvenv.cfg").is_file()
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert (demo.site / "alpha-1.0.dist-info" / "INSTALLER").read_text() == "venvsync\n"
    assert tree(demo.project.path) == before  # the project gains no files


def test_a_venv_left_at_toxs_default_place_is_named_when_one_is_made_at_env_location(
    demo: Demo, python312: Path
) -> None:
    # found by QA: switching a .tox/py312 of tox's own runner to runner = venvsync with env_location elsewhere left
    # the old venv there, used by nothing and removed by nothing, without a word
    old = demo.work / "py312"
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(old)], check=True)
    before = tree(old)
    code, out = demo.run()
    assert code == 0, out
    said = (
        f"py312: the virtual environment at {old} (tox's default env_dir) is left as it is: this environment lives "
        f"at {demo.venv} (env_location); remove that one yourself when you no longer need it\n"
    )
    assert said in out, out
    assert {k: v for k, v in tree(old).items() if not k.startswith(("log", "tmp"))} == before  # tox's own dirs
    code, out = demo.run()
    assert code == 0, out
    assert "tox's default env_dir" not in out  # said when the venv is made, not on every run


def _toml_config(demo: Demo, config: str, keys: str, command: str) -> None:
    """The demo configured in ``config`` (``tox.toml``, or ``pyproject.toml``'s ``[tool.tox]``) instead of tox.ini."""
    (demo.project.path / "tox.ini").unlink()
    tables = ("", "") if config == "tox.toml" else ("[tool.tox]\n", "tool.tox.")
    body = f'{tables[0]}env_list = ["py312"]\n[{tables[1]}env_run_base]\nrunner = "venvsync"\npackage = "skip"\n'
    body += f'{keys}commands = [["python", "-c", {json.dumps(command)}]]\n'
    (demo.project.path / config).write_text(body)


@pytest.mark.parametrize("config", ["tox.toml", "pyproject.toml"])
def test_the_keys_are_read_from_a_toml_configuration_too(demo: Demo, config: str) -> None:
    # tox 4's TOML configuration: the runner, its keys and tox's substitutions as tox.ini has them
    command = "import alpha, beta; print('versions', alpha.VERSION, beta.__version__)"
    keys = f'env_location = "{demo.venvs}/{{env_name}}-toml"\nlock_file = "{{tox_root}}/pylock.toml"\n'
    _toml_config(demo, config, keys + "compile_bytecode = true\n", command)
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    venv = demo.venvs / "py312-toml"
    assert dist_info_names([venv / SITE]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert not demo.venv.exists()
    shown = demo.project.run("c", "-e", "py312", "-k", "lock_file", "compile_bytecode", "--workdir", str(demo.work))
    assert f"lock_file = {demo.project.path / 'pylock.toml'}\ncompile_bytecode = True\n" in shown.out, shown.out


def _uv_wheel(demo: Demo, name: str, version: str) -> str:
    wheel = demo.wheel(name, version)
    url = demo.index.file_url(wheel.name)
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "{demo.index.simple_url}" }}\n'
        f'wheels = [{{ url = "{url}", hash = "sha256:{sha256_file(wheel)}", size = {wheel.stat().st_size} }}]\n\n'
    )


def _workspace_lock(demo: Demo, *, app_deps: str) -> str:
    """A uv.lock of a workspace: the project app (``app_deps``), its member lib-one (on alpha), alpha and beta."""
    lock = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n[manifest]\nmembers = ["app", "lib-one"]\n\n'
    lock += _uv_wheel(demo, "alpha", "1.0")
    lock += (
        f'[[package]]\nname = "app"\nversion = "0.1"\nsource = {{ editable = "." }}\ndependencies = [{app_deps}]\n\n'
    )
    lock += _uv_wheel(demo, "beta", "2.0")
    lock += '[[package]]\nname = "lib-one"\nversion = "0.2"\nsource = { editable = "libs/one" }\n'
    return lock + 'dependencies = [{ name = "alpha" }]\n'


def test_a_uv_workspace_member_syncs_its_own_dependencies_from_the_workspace_lock(demo: Demo) -> None:
    # tox in a member's directory: uv (tox-uv) finds the lock at the workspace root and starts at that member
    root = demo.project.path
    (root / "tox.ini").unlink()
    (root / "pylock.toml").unlink()
    workspace = '[tool.uv.workspace]\nmembers = ["libs/*"]\n'
    # built (the lock has it editable), though tox does not build it here (package = skip)
    built = "[tool.uv]\npackage = true\n"
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1"\n' + built + workspace)
    member = root / "libs" / "one"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text('[project]\nname = "lib-one"\nversion = "0.2"\ndependencies = ["alpha"]\n')
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("    alpha-cli\n", "")
    (member / "tox.ini").write_text(
        ini.replace("import alpha, beta;", "import alpha;").replace(", beta.__version__", "")
    )
    (root / "uv.lock").write_text(_workspace_lock(demo, app_deps='{ name = "beta" }, { name = "lib-one" }'))
    config = ("-c", str(member / "tox.ini"), "--workdir", str(demo.work))
    result = demo.project.run("r", "-e", "py312", *config)
    out = result.out + result.err
    assert result.code == 0, out
    assert "versions 1.0" in out
    assert "synced 1 package: 1 installed" in out  # alpha: not beta (the root's), not lib-one (package = skip)
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info"]


def test_toxs_extras_and_dependency_groups_select_from_the_lock(demo: Demo) -> None:
    # tox's own keys, and tox's -x overrides of them, choose the lock's extras and groups; a change syncs the venv
    wheels = {name: demo.wheel(name, "1.0") for name in ("fastlib", "devlib", "docslib")}
    markers = {
        "fastlib": "'fast' in extras",
        "devlib": "'dev' in dependency_groups",
        "docslib": "'docs' in dependency_groups",
    }
    packages = [
        package_entry(name, "1.0", [wheel_entry(wheel, url=demo.index.file_url(wheel.name))], marker=markers[name])
        for name, wheel in wheels.items()
    ]
    for name, version in demo.versions.items():
        wheel = demo.wheel(name, version)
        packages.append(package_entry(name, version, [wheel_entry(wheel, url=demo.index.file_url(wheel.name))]))
    write_pylock(
        demo.project.path / "pylock.toml",
        packages,
        extras=["fast"],
        dependency_groups=["dev", "docs"],
        default_groups=["dev"],
    )

    def installed(*overrides: str) -> list[str]:
        code, out = demo.run(*(arg for override in overrides for arg in ("-x", f"testenv:py312.{override}")))
        assert code == 0, out
        return [name.split("-")[0] for name in dist_info_names([demo.site])]

    assert installed() == ["alpha", "beta", "devlib"]  # the lock's default groups
    # naming a group leaves the default ones out (no_default_groups), as tox-uv's uv sync --group
    assert installed("extras=fast", "dependency_groups=docs") == ["alpha", "beta", "docslib", "fastlib"]
    assert installed("dependency_groups=docs", "no_default_groups=false") == ["alpha", "beta", "devlib", "docslib"]


def test_only_groups_installs_the_groups_alone_as_uv_sync_only_group(demo: Demo) -> None:
    # tox-uv's only_groups key: a lint environment gets its group, not the project or the project's dependencies
    root = demo.project.path
    (root / "pylock.toml").unlink()
    write_project(root, "app", "0.1", {"app/__init__.py": "OK = 1\n"})  # built by its own in-tree backend
    lock = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
    lock += _uv_wheel(demo, "alpha", "1.0")
    lock += '[[package]]\nname = "app"\nversion = "0.1"\nsource = { editable = "." }\n'
    lock += 'dependencies = [{ name = "beta" }]\n\n[package.dev-dependencies]\nlint = [{ name = "alpha" }]\n'
    lock += 'selfref = [{ name = "alpha" }, { name = "app" }]\n\n'
    lock += _uv_wheel(demo, "beta", "2.0")
    (root / "uv.lock").write_text(lock)
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("package = skip\n", "")
    ini = ini.replace("import alpha, beta;", "import alpha;").replace(", beta.__version__", "")
    (root / "tox.ini").write_text(ini.replace("runner = venvsync\n", "runner = venvsync\nonly_groups = lint\n"))
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info"]  # not beta, not app (no package is built)
    # a group naming the project installs it from the lock (with its dependencies), as uv sync --only-group does
    (root / "tox.ini").write_text((root / "tox.ini").read_text().replace("only_groups = lint", "only_groups = selfref"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "app-0.1.dist-info", "beta-2.0.dist-info"]
    (root / "tox.ini").write_text((root / "tox.ini").read_text() + "extras = fast\n")
    code, out = demo.run()
    assert code != 0
    assert (
        "py312: failed with only_groups installs those groups alone, not the project's dependencies: leave extras "
        "and dependency_groups empty in this environment (uv sync --only-group refuses --extra and --group too)"
    ) in out, out


def _workspace_project(demo: Demo) -> tuple[Path, str]:
    """The demo as the uv workspace of ``_workspace_lock`` (the project app, its member lib-one), and its tox.ini.

    The tox.ini is not written: its commands import alpha and lib_one, and it keeps ``package = skip``.
    """
    root = demo.project.path
    (root / "pylock.toml").unlink()
    write_project(root, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject + '[tool.uv.workspace]\nmembers = ["libs/*"]\n')
    write_project(root / "libs" / "one", "lib-one", "0.2", {"lib_one/__init__.py": "OK = 1\n"})
    (root / "uv.lock").write_text(_workspace_lock(demo, app_deps='{ name = "beta" }'))
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("    alpha-cli\n", "")
    return root, ini.replace("import alpha, beta;", "import alpha, lib_one;").replace(", beta.__version__", "")


def test_uv_sync_flags_pick_workspace_members_as_uv_sync_does(demo: Demo) -> None:
    # tox-uv's uv_sync_flags (and sync_flags): --all-packages starts at every member, --package at the one named
    root, ini = _workspace_project(demo)
    ini = ini.replace("runner = venvsync\n", "runner = venvsync\nFLAGS\n")
    (root / "tox.ini").write_text(ini.replace("FLAGS", "uv_sync_flags = --all-packages"))
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0" in out
    # the project is tox's to install (package = skip here); lib-one comes from the lock, as uv installs it
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info", "lib_one-0.2.dist-info"]
    assert '"editable": true' in (demo.site / "lib_one-0.2.dist-info" / "direct_url.json").read_text()
    (root / "tox.ini").write_text(ini.replace("FLAGS", "sync_flags = --package lib-one --no-editable"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "lib_one-0.2.dist-info"]  # not app's beta
    # uv sync --no-editable: the member is a regular install of its tree (as package = wheel makes it)
    assert '"editable": true' not in (demo.site / "lib_one-0.2.dist-info" / "direct_url.json").read_text()
    assert (demo.site / "lib_one" / "__init__.py").is_file()
    # package = wheel tests what ships: the members are regular installs too (tox-uv passes uv sync --no-editable)
    (root / "tox.ini").write_text(ini.replace("FLAGS", "uv_sync_flags = --all-packages").replace("skip", "wheel"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == [
        "alpha-1.0.dist-info",
        "app-0.1.dist-info",
        "beta-2.0.dist-info",
        "lib_one-0.2.dist-info",
    ]
    assert '"editable": true' not in (demo.site / "lib_one-0.2.dist-info" / "direct_url.json").read_text()
    (root / "tox.ini").write_text(ini.replace("FLAGS", "sync_flags = --package lib-one"))
    code, out = demo.run()
    assert code == 0, out
    # back to package = skip: the member is editable again; app stays (tox's to install, and not built now)
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "app-0.1.dist-info", "lib_one-0.2.dist-info"]
    assert '"editable": true' in (demo.site / "lib_one-0.2.dist-info" / "direct_url.json").read_text()
    (root / "tox.ini").write_text(ini.replace("FLAGS", "sync_flags = --package nope"))
    code, out = demo.run()
    assert code != 0
    assert f"py312: failed with {root / 'uv.lock'}: the lock's workspace has no member nope; its members are: " in out
    assert "Traceback" not in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "app-0.1.dist-info", "lib_one-0.2.dist-info"]


def test_uv_sync_flags_package_naming_another_member_installs_nothing_of_the_project(demo: Demo) -> None:
    # tox-uv's uv_sync_flags = --package lib-one at the workspace root: uv sync installs that member and its
    # dependencies, nothing of the root project, whose requirements are not asked (the lock is not stale for them)
    root, ini = _workspace_project(demo)
    backend = root / "_build" / "backend.py"  # the project app needs gamma, which the lock does not have
    requires = 'Version: {version}\\nRequires-Dist: gamma\\n"'
    backend.write_text(backend.read_text().replace('Version: {version}\\n"', requires))
    ini = ini.replace("package = skip\n", "uv_sync_flags = --package lib-one\n")
    (root / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "lib_one-0.2.dist-info"]
    # an explicit package is still installed, without its dependencies (not asked for), as with only_groups
    (root / "tox.ini").write_text(ini + "package = wheel\n")
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "app-0.1.dist-info", "lib_one-0.2.dist-info"]
    # --package naming the project itself asks for its requirements: gamma is not in the lock
    (root / "tox.ini").write_text(ini.replace("--package lib-one", "--package app"))
    code, out = demo.run()
    assert code != 0
    assert "the lock is stale: the project needs gamma but the lock does not have it" in out, out


def test_an_environments_package_root_finds_the_lock_and_may_not_move_the_build(demo: Demo) -> None:
    # tox-uv's environment key: the project and its lock in pkg/; tox builds from the [tox] section's package_root
    root = demo.project.path
    (root / "pkg").mkdir()
    (root / "pylock.toml").rename(root / "pkg" / "pylock.toml")
    ini = (root / "tox.ini").read_text().replace("runner = venvsync\n", "runner = venvsync\npackage_root = pkg\n")
    (root / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    write_project(root / "pkg", "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    (root / "tox.ini").write_text(ini.replace("package = skip", "package = wheel"))
    code, out = demo.run()
    assert code != 0
    assert (
        f"py312: failed with package_root = {root / 'pkg'} is set for this environment, but tox builds the project "
        f"from {root} (the package_root of the [tox] section); set it there instead, or set package = skip"
    ) in out, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]  # untouched


def test_a_relative_package_root_of_the_tox_section_builds_the_project_there(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the key moved to [tox] as the message above says; tox before 4.67.5 (the newest tox on Python 3.10) gives the
    # core's package_root as written, relative, and the check above must not take it for another directory
    root = demo.project.path
    (root / "pkg").mkdir()
    (root / "pylock.toml").rename(root / "pkg" / "pylock.toml")
    write_project(root / "pkg", "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    # a backend from the index, not from the tree: tox before 4.67.5 joins a relative package_root's backend-path
    # to it twice (tox's own runner cannot build that either)
    backend = (root / "pkg" / "_build" / "backend.py").read_text()
    make_wheel(demo.index.directory, "test-backend", "1.0", modules={"backend.py": backend})
    (root / "pkg" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["test-backend"]\nbuild-backend = "backend"\n\n'
        '[project]\nname = "app"\nversion = "0.1"\n'
    )
    _pip_from(demo.index, monkeypatch)
    ini = (root / "tox.ini").read_text().replace("package = skip", "package = wheel")
    (root / "tox.ini").write_text(ini.replace("[tox]\n", "[tox]\npackage_root = pkg\n"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "app-0.1.dist-info", "beta-2.0.dist-info"]


def test_toxs_pylock_key_is_read_from_the_project_as_toxs_own_runner_reads_it(demo: Demo) -> None:
    # tox reads pylock = pylock.toml from the core's package_root; as lock_file's default it was read from the tox
    # root, another file, or none (found by QA). deps-only: the core's package_root exists on every tox version then
    root = demo.project.path
    (root / "pkg").mkdir()
    (root / "pylock.toml").rename(root / "pkg" / "pylock.toml")
    ini = (root / "tox.ini").read_text().replace("package = skip", "package = deps-only\npylock = pylock.toml")
    (root / "tox.ini").write_text(ini.replace("[tox]\n", "[tox]\npackage_root = pkg\n"))
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    shown = demo.project.run("c", "-e", "py312", "-k", "lock_file", "--workdir", str(demo.work))
    assert f"lock_file = {root / 'pkg' / 'pylock.toml'}\n" in shown.out, shown.out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(
            "uv_sync_flags = --no-install-project",
            "uv_sync_flags has --no-install-project, which tox-venvsync takes from package = skip; move it there",
            id="has-a-key",
        ),
        pytest.param(
            "uv_sync_flags = --reinstall",
            "uv_sync_flags has --reinstall, which tox-venvsync does not read; it reads --all-extras, --no-extra, "
            "--all-groups, --no-group, --no-dev, --only-dev, --package, --all-packages, --no-editable, --frozen, "
            "--locked and --exact: leave the rest out",
            id="unknown",
        ),
        pytest.param(
            "sync_flags = --all-extras\nextras = fast",
            "--all-extras selects every extra: leave extras out (uv sync refuses both together)",
            id="uv-refuses-too",
        ),
    ],
)
def test_sync_flags_it_does_not_read_fail_the_env_in_one_sentence(demo: Demo, flags: str, message: str) -> None:
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini.replace("runner = venvsync\n", f"runner = venvsync\n{flags}\n"))
    code, out = demo.run()
    assert code != 0
    assert f"py312: failed with {message}" in out, out
    assert "Traceback" not in out
    assert not demo.venv.exists()  # refused before the venv is made


@pytest.mark.parametrize(
    ("change", "built"),
    [
        pytest.param(lambda text: text + "[tool.uv]\npackage = false\n", False, id="uv-package-false"),
        pytest.param(lambda text: text + "[tool.poetry]\npackage-mode = false\n", False, id="poetry-package-mode"),
        pytest.param(lambda text: text + "[tool.pdm]\ndistribution = false\n", False, id="pdm-distribution"),
        # uv (and pdm) build a project only when it has a [build-system]; pip would build it with setuptools
        pytest.param(lambda text: text.split("[project]")[1].join(["[project]", ""]), False, id="no-build-system"),
        pytest.param(lambda text: text + "[tool.uv]\npackage = true\n", True, id="uv-package-true"),
        pytest.param(lambda text: text, True, id="a-project"),
    ],
)
def test_a_project_its_tool_does_not_build_is_not_built_by_default(
    demo: Demo, change: Callable[[str], str], *, built: bool
) -> None:
    # uv, Poetry and pdm never build or install such a project; nor does the runner unless package says so
    root = demo.project.path
    write_project(root, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    (root / "pyproject.toml").write_text(change((root / "pyproject.toml").read_text()))
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("package = skip\n", "")
    (root / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    app = ["app-0.1.dist-info"] if built else []
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", *app, "beta-2.0.dist-info"]
    assert not (root / "build").exists()


def test_a_compile_bytecode_of_the_wrong_type_stops_before_the_sync(demo: Demo) -> None:
    # read with the other keys, not after the venv was changed
    _toml_config(demo, "tox.toml", f'env_location = "{demo.venvs}/{{env_name}}"\ncompile_bytecode = "true"\n', "pass")
    python311 = shutil.which("python3.11")
    assert python311 is not None
    subprocess.run([python311, "-m", "venv", "--without-pip", str(demo.venv)], check=True)  # to be recreated
    code, out = demo.run()
    assert code != 0
    assert "compile_bytecode" in out, out
    assert "version = 3.11" in (demo.venv / "pyvenv.cfg").read_text()  # not recreated before the error
    assert "Traceback" not in out
    assert not demo.site.is_dir() or dist_info_names([demo.site]) == []


def test_a_first_run_reads_the_lock_once_while_the_interpreter_is_asked(demo: Demo, mocker: MockerFixture) -> None:
    # an empty cache: the interpreter's facts come from a child process, and the lock is read meanwhile
    events = watch_query_and_lock(mocker)
    code, out = demo.run()
    assert code == 0, out
    assert "synced 2 packages: 2 installed" in out
    assert events == ["ask", "read", "answered"]


def test_second_run_changes_nothing(demo: Demo, mocker: MockerFixture) -> None:
    assert demo.run()[0] == 0
    snapshot = demo.snapshot()
    downloads = len(demo.index.requests)
    found = mocker.spy(VenvSyncRunner, "_find_lock")
    code, out = demo.run()
    assert code == 0, out
    assert "synced" not in out
    assert demo.snapshot() == snapshot
    assert len(demo.index.requests) == downloads
    assert found.call_count == 1  # the early check's lookup serves the sync: a no-op looks for the lock once


def test_a_second_run_looks_no_interpreter_up_when_tox_s_own_is_the_one(
    demo: Demo, mocker: MockerFixture, cache_dir: Path
) -> None:
    # py312 names the Python running tox here: its answer is kept in the cache (discovered/) and taken from there
    # while that interpreter is unchanged, without virtualenv's lookup (about 2 ms of every run); found measuring
    # issue 5
    import virtualenv.discovery.builtin  # noqa: PLC0415  # where the runner's discovery calls it

    lookup = mocker.spy(virtualenv.discovery.builtin, "get_interpreter")
    assert demo.run()[0] == 0
    assert lookup.call_count == 1
    assert len(list((cache_dir / "discovered").iterdir())) == 1
    code, out = demo.run()
    assert code == 0, out
    assert "synced" not in out
    assert lookup.call_count == 1


def test_hand_installed_package_is_removed(demo: Demo, python312: Path) -> None:
    assert demo.run()[0] == 0
    extra = make_wheel(demo.index.directory, "gamma", "0.1")
    pip = [str(python312), "-m", "pip", "--python", str(demo.venv / "bin" / "python"), "install", "--no-index"]
    subprocess.run([*pip, "--no-deps", "-q", str(extra)], check=True, env={**os.environ, "PIP_CONSTRAINT": ""})
    assert "gamma-0.1.dist-info" in dist_info_names([demo.site])
    code, out = demo.run()
    assert code == 0, out
    assert "1 removed" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert not (demo.site / "gamma").exists()


def test_version_bump_changes_only_that_package(demo: Demo) -> None:
    assert demo.run()[0] == 0
    alpha_before = demo.snapshot()["alpha-1.0.dist-info"]
    demo.versions["beta"] = "2.1"
    demo.lock()
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.1" in out
    assert "1 upgraded" in out
    assert demo.snapshot()["alpha-1.0.dist-info"] == alpha_before
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.1.dist-info"]


def test_a_venv_made_in_process_is_announced_at_v_once(demo: Demo) -> None:
    # virtualenv says "create virtual environment via CPython3Posix(dest=...)" at -v for the venvs it makes (and
    # tox-uv "venv>" at every verbosity); one made by the standard library's venv here went unmentioned (found by QA)
    code, out = demo.run()
    assert code == 0, out
    assert "create virtual environment" not in out  # the default output is tox's
    code, out = demo.run("-r", "-v")
    assert code == 0, out
    assert out.count("create virtual environment") == 1, out
    line = next(line for line in out.splitlines() if "create virtual environment" in line)
    if platform.python_version_tuple()[:2] != ("3", "12"):  # tox runs on another Python (dev/test's oldest run)
        assert line.startswith(f"py312: create virtual environment via CPython3Posix(dest={demo.venv}, "), line
        return
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))  # tox's, as the test runs it
    assert line == (
        f"py312: create virtual environment via venv(dest={demo.venv}, python={python}, system_site_packages=False, "
        "symlinks=True)"
    )
    code, out = demo.run("-v")
    assert (code, "create virtual environment" in out) == (0, False), out  # adopted: nothing made


def test_the_result_json_records_what_the_sync_did(demo: Demo, tmp_path: Path) -> None:
    # tox's runners leave their pip or uv command and its output in the result JSON's setup; the sync left nothing
    # there, so a CI reading the file could not tell what a run installed or that it did nothing (found by QA)
    def record(*args: str) -> dict[str, object]:
        code, out = demo.run("--result-json", str(tmp_path / "result.json"), *args)
        assert code == 0, out
        env = json.loads((tmp_path / "result.json").read_text())["testenvs"]["py312"]
        assert env["installed_packages"] == [f"{name}=={v}" for name, v in sorted(demo.versions.items())]
        done: dict[str, object] = env["venvsync"]
        assert isinstance(done.pop("seconds"), float)
        return done

    lock = str(demo.project.path / "pylock.toml")
    alpha, beta = ({"name": name, "version": v, "action": "install", "from": None} for name, v in demo.versions.items())
    assert record() == {
        "lock_file": lock,
        "changed": True,
        "deps": False,
        "summary": "synced 2 packages: 2 installed",
        "install": [alpha, beta],
        "remove": [],
        "keep": [],
    }
    assert record() == {"lock_file": lock, "changed": False, "deps": False}  # a no-op compares nothing
    demo.versions["beta"] = "2.1"
    demo.lock()
    done = record()
    assert (done["changed"], done["summary"]) == (True, "synced 2 packages: 1 upgraded")
    assert done["install"] == [{"name": "beta", "version": "2.1", "action": "upgrade", "from": "2.0"}]
    assert done["keep"] == [{"name": "alpha", "version": "1.0", "action": "keep", "from": "1.0"}]
    # a dry run records the plan it printed
    demo.versions["beta"] = "2.2"
    demo.lock()
    code, out = demo.run("--result-json", str(tmp_path / "dry.json"), "--sync-dry-run")
    assert (code, "upgrade: beta 2.1 -> 2.2" in out) == (1, True), out  # all skipped: tox's "evaluation failed"
    done = json.loads((tmp_path / "dry.json").read_text())["testenvs"]["py312"]["venvsync"]
    assert (done["lock_file"], done["dry_run"], "recreate" in done) == (lock, True, False)
    assert done["install"] == [{"name": "beta", "version": "2.2", "action": "upgrade", "from": "2.1"}]


def test_wrong_hash_fails_naming_the_package_and_leaves_the_env(demo: Demo) -> None:
    assert demo.run()[0] == 0
    snapshot = demo.snapshot()
    demo.versions["beta"] = "2.1"
    demo.lock(beta={"sha256": "0" * 64})
    code, out = demo.run()
    assert code != 0
    assert "the sha256 hash of beta from http://127.0.0.1" in out
    assert "nothing was installed" in out
    assert "Traceback" not in out
    assert demo.snapshot() == snapshot


def test_recreate_refuses_a_directory_with_other_files(demo: Demo, tmp_path: Path) -> None:
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    (other / "sub").mkdir()
    (other / "sub" / "data.bin").write_bytes(b"\0" * 10)
    before = tree(other)
    code, out = demo.run("-r", "--env-location", str(other))
    assert code != 0
    assert f"refusing to use {other} as a virtual environment: it holds files and no pyvenv.cfg (notes.txt, sub)" in out
    assert "Traceback" not in out
    assert tree(other) == before


def test_a_relative_env_dir_starts_at_the_tox_root_on_every_tox_version(demo: Demo) -> None:
    # older tox (4.65.0 to 4.67.0 at least) left a relative env_dir relative: the venv was made in the current
    # directory, and the commands, run in change_dir, failed with "No such file or directory: 'venv/bin/python'"
    # (found by QA)
    root = demo.project.path
    (root / "tests").mkdir()
    ini = (root / "tox.ini").read_text()
    (root / "tox.ini").write_text(ini.replace("package = skip", "package = skip\nenv_dir = venv\nchange_dir = tests"))
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    assert "alpha-cli ran" in out
    assert (root / "venv" / "pyvenv.cfg").is_file()
    assert dist_info_names([root / "venv" / SITE]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]


@pytest.mark.parametrize("key", ["env_dir", "envdir"])
def test_a_refused_env_dir_set_in_tox_ini_is_named_in_the_sentence(demo: Demo, tmp_path: Path, key: str) -> None:
    # an env_dir the user wrote wins over env_location, which tox-venvsync then never reads: naming env_location
    # would send them to a key that changes nothing
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("runner = venvsync", f"runner = venvsync\n{key} = {other}"))
    code, out = demo.run()
    assert code != 0
    assert f"refusing to use {other} as a virtual environment: it holds files and no pyvenv.cfg" in out
    assert "choose an empty or missing directory for env_dir\n" in out
    assert (other / "notes.txt").read_text() == "keep me"
    # the same location through env_location keeps naming env_location
    text = ini.read_text().replace(f"{key} = {other}\n", "")
    ini.write_text(text.replace(str(demo.venvs / "{env_name}"), str(other)))
    code, out = demo.run()
    assert code != 0
    assert "choose an empty or missing directory for env_location\n" in out
    # and through --env-location names the option: the user typed no env_location, tox.ini may have none
    # (found by QA)
    text = ini.read_text().replace(str(other), str(demo.venvs / "{env_name}"))
    ini.write_text(text)
    code, out = demo.run("--env-location", str(other))
    assert code != 0
    assert f"refusing to use {other} as a virtual environment: it holds files and no pyvenv.cfg" in out
    assert "choose an empty or missing directory for --env-location\n" in out
    assert (other / "notes.txt").read_text() == "keep me"


def test_recreate_empties_our_venv_and_builds_it_again(demo: Demo) -> None:
    assert demo.run()[0] == 0
    (demo.venv / "stray.txt").write_text("left by hand inside the venv")
    (demo.site / "alpha-1.0.dist-info" / "marker").write_text("gone with the old venv")
    code, out = demo.run("-r")
    assert code == 0, out
    assert "remove virtual environment" in out
    assert not (demo.venv / "stray.txt").exists()
    # installed again into the new venv (an inode number compared here could come back for the new directory)
    assert "2 installed" in out
    assert (demo.site / "alpha-1.0.dist-info" / "METADATA").is_file()
    assert not (demo.site / "alpha-1.0.dist-info" / "marker").exists()


def test_a_recreated_venv_starts_with_the_bytecode_the_last_commands_compiled(demo: Demo) -> None:
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    ini = ini.replace("package = skip", "package = skip\nset_env = PYTHONDONTWRITEBYTECODE=")  # empty: Python writes
    (demo.project.path / "tox.ini").write_text(ini)
    assert demo.run()[0] == 0  # the commands import alpha and beta: tox-venvsync keeps their bytecode
    assert not (demo.venv / ".venvsync" / "bytecode.json").exists()  # kept once, after the commands
    compiled = [
        demo.site / "alpha" / "__pycache__" / "__init__.cpython-312.pyc",
        demo.site / "beta" / "__pycache__" / "__init__.cpython-312.pyc",
    ]
    first = [path.stat() for path in compiled]
    assert all(stat.st_nlink == 2 for stat in first)  # the venv's file and the cache's
    code, out = demo.run("-r")
    assert code == 0, out
    assert "2 installed" in out
    # the new venv linked the cache's copies, and its commands found them valid: Python rewrote none
    assert [path.stat().st_ino for path in compiled] == [stat.st_ino for stat in first]


def test_env_location_option_needs_env_name_for_several_envs(demo: Demo, tmp_path: Path) -> None:
    result = demo.project.run(
        "r", "-e", "py312,py311", "--workdir", str(demo.work), "--env-location", str(tmp_path / "one")
    )
    assert result.code != 0
    assert "--env-location must contain {env_name}" in result.out


@pytest.mark.parametrize("env_list", ["py312", "py312, py311"])
def test_env_location_option_without_e_needs_env_name_only_when_env_list_has_several(
    demo: Demo, tmp_path: Path, env_list: str
) -> None:
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("env_list = py312", f"env_list = {env_list}"))
    result = demo.project.run("r", "--workdir", str(demo.work), "--env-location", str(tmp_path / "one"))
    if "," in env_list:
        assert result.code != 0
        assert "--env-location must contain {env_name}" in result.out
        assert not (tmp_path / "one").exists()
    else:
        assert result.code == 0, result.out
        assert (tmp_path / "one" / "pyvenv.cfg").is_file()


def test_an_env_location_with_a_nul_character_is_one_sentence(demo: Demo, tmp_path: Path) -> None:
    # no path can hold one; os.path.realpath raised ValueError and tox printed a traceback
    (demo.project.path / "tox.ini").write_text(INI.replace("{env_location}", f"{tmp_path}/a\0b"))
    result = demo.project.run("r", "--workdir", str(demo.work))
    assert result.code != 0
    assert f"env_location '{tmp_path}/a\\x00b' holds a NUL character, which no path can; correct env_location" in (
        result.out
    )
    assert "Traceback" not in result.out


@pytest.mark.parametrize("location", ["~/venvs/{env_name}", "~me/venvs/{env_name}"])
def test_an_env_location_starting_with_a_tilde_is_refused_before_anything_is_made(demo: Demo, location: str) -> None:
    # tox does not expand ~ in tox.ini: the venv went into a directory named ~ in the project (found by QA)
    (demo.project.path / "tox.ini").write_text(INI.replace("{env_location}", location))
    result = demo.project.run("r", "--workdir", str(demo.work))
    assert result.code != 0
    expected = location.replace("{env_name}", "py312")
    first = location.partition("/")[0]
    instead = "write {env:HOME} instead of ~" if first == "~" else "write the home directory's path instead of ~me"
    assert (
        f"env_location '{expected}' starts with ~, which tox does not expand in its configuration, so it names a "
        f"directory {first} in the project; {instead}"
    ) in result.out
    assert "Traceback" not in result.out
    assert sorted(p.name for p in demo.project.path.iterdir()) == ["pylock.toml", "tox.ini"]
    # an environment that does not run is no reason to stop another
    ini = INI.replace("{env_location}", location) + f"[testenv:other]\nenv_location = {demo.venvs / 'other'}\n"
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run("r", "-e", "other", "--workdir", str(demo.work))
    assert result.code == 0, result.out
    assert sorted(p.name for p in demo.project.path.iterdir()) == ["pylock.toml", "tox.ini"]


@pytest.mark.parametrize(
    ("location", "variable", "name"),
    [("$HOME/venvs/{env_name}", "$HOME", "HOME"), ("${VENV_ROOT}/{env_name}", "${VENV_ROOT}", "VENV_ROOT")],
)
def test_an_env_location_with_a_shell_variable_is_refused_before_anything_is_made(
    demo: Demo, location: str, variable: str, name: str
) -> None:
    # tox does not expand $HOME either: the venv went into a directory named $HOME in the project (found by QA)
    (demo.project.path / "tox.ini").write_text(INI.replace("{env_location}", location))
    result = demo.project.run("r", "--workdir", str(demo.work))
    assert result.code != 0
    expected = location.replace("{env_name}", "py312")
    assert (
        f"env_location '{expected}' starts with {variable}, which tox does not expand in its configuration, so it "
        f"names a directory {variable} in the project; write {{env:{name}}} instead of {variable}"
    ) in result.out
    assert "Traceback" not in result.out
    assert sorted(p.name for p in demo.project.path.iterdir()) == ["pylock.toml", "tox.ini"]


def test_a_dollar_in_the_name_of_a_real_directory_above_the_venv_is_no_variable(demo: Demo) -> None:
    # a project or work directory named with a $ (job$BUILD) gives an absolute env_location holding it: it is used
    (demo.project.path / "tox.ini").write_text(
        INI.replace("{env_location}", str(demo.venvs / "job$BUILD" / "{env_name}"))
    )
    result = demo.project.run("r", "--workdir", str(demo.work))
    assert result.code == 0, result.out
    assert (demo.venvs / "job$BUILD" / "py312" / "pyvenv.cfg").is_file()


@pytest.mark.parametrize(
    ("substitution", "what"),
    [
        ("env_dir", "which follows env_location"),
        ("envdir", "which follows env_location"),
        ("env_site_packages_dir", "a path in the venv that env_location places"),
        ("env_bin_dir", "a path in the venv that env_location places"),
        ("env_python", "a path in the venv that env_location places"),
    ],
)
@pytest.mark.parametrize("config", ["tox.ini", "tox.toml"])
def test_an_env_location_built_from_the_venvs_own_paths_is_one_sentence(
    demo: Demo, substitution: str, what: str, config: str
) -> None:
    # env_dir follows env_location: tox recursed to Python's limit, and a path in the venv ended in a traceback
    # thousands of lines long (found by QA)
    location = f"{{{substitution}}}/venv"
    if config == "tox.ini":
        (demo.project.path / "tox.ini").write_text(INI.replace("{env_location}", location))
    else:
        _toml_config(demo, config, f'env_location = "{location}"\n', "pass")
    result = demo.project.run("r", "-e", "py312", "--workdir", str(demo.work))
    assert result.code != 0
    shown = "env_dir" if substitution == "envdir" else substitution
    assert (
        f"env_location refers to {{{shown}}}, {what}, so it cannot be worked out; build env_location from "
        "{work_dir}, {tox_root}, {env_name} or {env:VAR} instead"
    ) in result.out, result.out
    assert "Traceback" not in result.out + result.err
    assert "RecursionError" not in result.out
    assert not demo.venvs.exists()


def test_a_package_root_with_a_nul_character_has_no_project() -> None:
    from tox_venvsync._runner import _not_built_by_its_tool, _project_names  # noqa: PLC0415  # private helpers

    assert _project_names(Path("a\0b"), {}) == frozenset()
    assert _not_built_by_its_tool(Path("a\0b"), {}) is False


def test_a_pyproject_nested_too_deeply_to_parse_has_no_project(tmp_path: Path) -> None:
    # the parser's RecursionError went up as a traceback, where a file that is not TOML has no project (QA)
    from tox_venvsync._runner import _not_built_by_its_tool, _project_names  # noqa: PLC0415  # private helpers

    (tmp_path / "pyproject.toml").write_text("x = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    assert _project_names(tmp_path, {}) == frozenset()
    assert _not_built_by_its_tool(tmp_path, {}) is False


def test_a_pyproject_that_starts_with_a_byte_order_mark_names_its_project(tmp_path: Path) -> None:
    # found by QA: uv and the lock readers drop the mark; the runner's parse refused the file, so the lock's entry for
    # the project was not left out for tox's package, and [tool.uv] package = false was not heard
    from tox_venvsync._runner import _not_built_by_its_tool, _project_names  # noqa: PLC0415  # private helpers

    text = '[project]\nname = "Demo.App"\n[build-system]\n[tool.uv]\npackage = false\n'
    (tmp_path / "pyproject.toml").write_bytes(codecs.BOM_UTF8 + text.encode())
    assert _project_names(tmp_path, {}) == frozenset({"demo-app"})
    assert _not_built_by_its_tool(tmp_path, {}) is True


def test_env_location_option_puts_the_venv_there(demo: Demo, tmp_path: Path) -> None:
    code, out = demo.run("--env-location", str(tmp_path / "elsewhere" / "{env_name}"))
    assert code == 0, out
    assert (tmp_path / "elsewhere" / "py312" / "pyvenv.cfg").is_file()
    assert not demo.venv.exists()


def test_env_location_option_moves_only_the_envs_of_the_run(demo: Demo, tmp_path: Path) -> None:
    # tox works out every env's directory (its .venv redirect names the dev env): a dev env not run stays put
    ini = (demo.project.path / "tox.ini").read_text().replace("[tox]\n", "[tox]\nvenv_redirect_env = dev\n")
    (demo.project.path / "tox.ini").write_text(ini + "[testenv:dev]\nbase_python = python3.12\n")
    code, out = demo.run("--env-location", str(tmp_path / "ci-venv"))  # one env runs: no {env_name} needed
    assert code == 0, out
    assert (tmp_path / "ci-venv" / "pyvenv.cfg").is_file()
    redirect = demo.project.path / ".venv"  # it names dev's venv, wherever dev's env_location puts it
    assert "ci-venv" not in (redirect.read_text() if redirect.exists() else "")
    assert demo.project.run("r", "-e", "dev", "--workdir", str(demo.work)).code == 0
    assert redirect.read_text().strip() == str(demo.venvs / "dev")


@pytest.mark.parametrize("env_list", ["", "env_list =\n"], ids=["no-env-list", "empty-env-list"])
def test_env_location_option_moves_the_py_env_tox_runs_without_an_env_list(
    demo: Demo, tmp_path: Path, env_list: str
) -> None:
    # without -e and without an env_list tox runs its fallback env "py": the option moves that one too
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("env_list = py312\n", env_list)
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run(
        "r", "--workdir", str(demo.work), "--env-location", str(tmp_path / "moved" / "{env_name}")
    )
    assert result.code == 0, result.out
    assert "versions 1.0 2.0" in result.out
    assert (tmp_path / "moved" / "py" / "pyvenv.cfg").is_file()
    assert not (demo.venvs / "py").exists()
    # one environment runs: a template without {env_name} is taken, as with one -e
    result = demo.project.run("r", "--workdir", str(demo.work), "--env-location", str(tmp_path / "one"))
    assert result.code == 0, result.out
    assert (tmp_path / "one" / "pyvenv.cfg").is_file()


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(("-e", "py311,py312"), id="e"),
        pytest.param((), id="env-list"),
        pytest.param(("-m", "both"), id="core-label"),  # tox's EnvSelector: the [tox] labels
        pytest.param(("-m", "unit"), id="env-label"),  # ... or the environments' own labels
        pytest.param(("-f", "py311", "-f", "py312"), id="factors"),
    ],
)
def test_two_envs_of_one_run_cannot_share_a_location(demo: Demo, tmp_path: Path, how: tuple[str, ...]) -> None:
    shared = tmp_path / "shared"
    ini = INI.replace("{env_location}", str(shared)).replace("env_list = py312", "env_list = py311, py312")
    ini = ini.replace("[tox]\n", "[tox]\nlabels =\n    both = py311, py312\n")
    ini = ini.replace("[testenv]\n", "[testenv]\nlabels = unit\n")
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run("r", *how, "--workdir", str(demo.work))
    assert result.code != 0
    assert (
        f"py311 and py312 both have env_location {shared} and both run now, so they would share one venv "
        "(tox p would change it under the other's commands); put {env_name} in env_location"
    ) in result.out
    assert "Traceback" not in result.out
    assert not shared.exists()
    code, out = demo.run()  # one at a time they may take turns with it
    assert code == 0, out
    assert (shared / "pyvenv.cfg").is_file()


@pytest.mark.parametrize("outer", ["py311", "py312"])
def test_two_envs_of_one_run_cannot_have_one_venv_inside_the_other(demo: Demo, tmp_path: Path, outer: str) -> None:
    # the outer venv's recreate (tox -r, another Python) empties its directory, and the inner venv went with it; in
    # tox p the inner one's parents made the outer one's directory a non-empty non-venv (found by QA)
    inner = "py312" if outer == "py311" else "py311"
    ini = INI.replace("{env_location}", str(tmp_path / "venvs" / "{env_name}"))
    ini = ini.replace("env_list = py312", "env_list = py311, py312")
    ini += f"[testenv:{outer}]\nenv_location = {tmp_path / 'outer'}\n"
    ini += f"[testenv:{inner}]\nenv_location = {tmp_path / 'outer' / 'sub' / 'inner'}\n"
    (demo.project.path / "tox.ini").write_text(ini)
    for command in ("r", "p"):
        result = demo.project.run(command, "--workdir", str(demo.work))
        assert result.code != 0
        assert (
            f"{inner}'s env_location {tmp_path / 'outer' / 'sub' / 'inner'} lies inside {outer}'s "
            f"{tmp_path / 'outer'}, and both run now: recreating {outer}'s venv would remove {inner}'s with it; give "
            "each a directory of its own, side by side (end env_location with {env_name})"
        ) in result.out, result.out
        assert "Traceback" not in result.out
        assert not (tmp_path / "outer").exists()


@pytest.mark.parametrize("how", ["--skip-env", "TOX_SKIP_ENV"])
def test_an_env_skip_env_leaves_out_does_not_claim_the_shared_location(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # tox runs py312 alone: py311 shares nothing with it (it was refused as "both run now" where tox works out every
    # environment's directory up front: a project it builds)
    write_project(demo.project.path, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    shared = tmp_path / "shared"
    ini = INI.replace("{env_location}", str(shared)).replace("env_list = py312", "env_list = py311, py312")
    ini = ini.replace("package = skip\n", "")
    (demo.project.path / "tox.ini").write_text(ini)
    if how == "TOX_SKIP_ENV":
        monkeypatch.setenv("TOX_SKIP_ENV", "py311")
    args = ("--skip-env", "py311") if how == "--skip-env" else ()
    result = demo.project.run("r", *args, "--workdir", str(demo.work))
    assert result.code == 0, result.out
    assert "both run now" not in result.out
    assert "version = 3.12" in (shared / "pyvenv.cfg").read_text()


@pytest.mark.parametrize(
    ("how", "several"),
    [
        pytest.param(("-m", "one"), False, id="label-of-one"),
        pytest.param(("-f", "py312"), False, id="factor-of-one"),
        pytest.param(("--skip-env", "py311"), False, id="skip-env"),
        pytest.param(("-e", "py312,lint"), False, id="other-runner"),
        pytest.param(("-m", "both"), True, id="label-of-two"),
        pytest.param(("-f", "py311", "-f", "py312"), True, id="factors-of-two"),
    ],
)
def test_env_location_option_needs_env_name_only_when_several_of_the_envs_that_run_are_moved(
    demo: Demo,
    tmp_path: Path,
    how: tuple[str, ...],
    several: bool,  # noqa: FBT001  # a parameter
) -> None:
    # which environments run is told as tox tells it; env_list has two, but -m, -f or --skip-env may run one
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace(
        "env_list = py312", "env_list = py311, py312\nlabels =\n    one = py312\n    both = py311, py312"
    )
    ini += "[testenv:lint]\nrunner = virtualenv\nskip_install = true\ncommands = python -c pass\n"
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run("r", *how, "--workdir", str(demo.work), "--env-location", str(tmp_path / "one"))
    if several:
        assert result.code != 0
        assert "--env-location must contain {env_name} when several environments run" in result.out
        assert not (tmp_path / "one").exists()
    else:
        assert result.code == 0, result.out
        assert "version = 3.12" in (tmp_path / "one" / "pyvenv.cfg").read_text()
        assert not (demo.venvs / "py311").exists()


def test_two_spellings_of_one_location_are_one_location(demo: Demo, tmp_path: Path) -> None:
    # one directory reached through a linked parent: the envs would still share one venv
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    ini = INI.replace("{env_location}", str(tmp_path / "real" / "s")).replace(
        "env_list = py312", "env_list = py311, py312"
    )
    ini += f"[testenv:py312]\nenv_location = {tmp_path / 'link' / 's'}\n"
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run("r", "--workdir", str(demo.work))
    assert result.code != 0
    assert f"py311 and py312 both have env_location {tmp_path / 'link' / 's'} and both run now" in result.out, (
        result.out
    )
    assert "Traceback" not in result.out
    assert not (tmp_path / "real" / "s").exists()


def test_the_redirect_tox_wrote_at_dot_venv_gives_way_to_an_env_living_there(demo: Demo) -> None:
    # tox writes {tox_root}/.venv naming its dev env's directory and removes it itself before an env lives there
    ini = INI.replace("env_location = {env_location}\n", "").replace("[tox]\n", "[tox]\nvenv_redirect_env = py312\n")
    (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    redirect = demo.project.path / ".venv"
    assert redirect.is_file(), out
    moved = ini.replace("runner = venvsync\n", "runner = venvsync\nenv_location = {tox_root}/.venv\n")
    (demo.project.path / "tox.ini").write_text(moved)
    code, out = demo.run()
    assert code == 0, out
    assert (redirect / "pyvenv.cfg").is_file()
    assert "versions 1.0 2.0" in out


def test_a_lock_name_that_tells_no_format_names_the_key_not_a_file_format(demo: Demo) -> None:
    # the same sentence for tox.ini, tox.toml and pyproject.toml users
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(
        ini.replace("package = skip\n", "package = skip\nlock_file = my.lockfile\n")
    )
    (demo.project.path / "my.lockfile").write_text("")
    code, out = demo.run()
    assert code != 0
    assert (
        f"cannot tell the format of the lockfile {demo.project.path / 'my.lockfile'} from its name; set lock_format "
        "to one of pdm, poetry, pylock, requirements, uv"
    ) in out, out


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param(
            "lock_format = nonsense\n",
            "unknown lock_format 'nonsense' for {lock}; known formats: pdm, poetry, pylock, requirements, uv",
            id="unknown-format",
        ),
        pytest.param(  # tox's skip_install skips the project only: the lock is read, and its format checked
            "skip_install = true\nlock_format = nonsense\n",
            "unknown lock_format 'nonsense' for {lock}; known formats: pdm, poetry, pylock, requirements, uv",
            id="skip-install",
        ),
        pytest.param(
            "lock_file = my.lockfile\n",
            "cannot tell the format of the lockfile {lock} from its name; set lock_format to one of pdm, poetry, "
            "pylock, requirements, uv",
            id="name-tells-none",
        ),
    ],
)
def test_a_lock_format_no_reader_has_is_refused_before_the_venv_is_made(demo: Demo, keys: str, message: str) -> None:
    # as tox refuses its own bad values before it makes anything: the venv was made, then the sync refused the
    # format and the venv was removed again (found by an earlier pass, reproduced with -v)
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip\n", f"package = skip\n{keys}"))
    lock = demo.project.path / ("my.lockfile" if "lock_file" in keys else "pylock.toml")
    lock.write_bytes((demo.project.path / "pylock.toml").read_bytes())
    code, out = demo.run("-v")
    assert code != 0
    assert f"py312: failed with {message.format(lock=lock)}" in out, out
    assert "create virtual environment" not in out, out
    assert "Traceback" not in out
    assert not demo.venvs.exists()


def test_a_lock_format_no_reader_has_is_refused_when_the_install_is_skipped_too(demo: Demo) -> None:
    # found by QA: --skip-env-install reads no lock, and a lock_format typo passed in silence until a run synced;
    # tox refuses a bad value of its own keys whatever the run does (skip_install = true still syncs the lock, and
    # refuses it: test_a_lock_format_no_reader_has_is_refused_before_the_venv_is_made)
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("package = skip\n", "package = skip\nlock_format = nonsense\n"))
    code, out = demo.run("--skip-env-install", "--notest")
    assert code != 0
    known = "known formats: pdm, poetry, pylock, requirements, uv"
    assert f"py312: failed with unknown lock_format 'nonsense'; {known}" in out, out
    assert "Traceback" not in out
    assert not demo.venvs.exists()


def test_a_keyring_provider_set_env_gives_that_uv_does_not_know_is_refused_before_the_venv_is_made(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sync's environment is tox's with set_env, as tox-uv hands set_env to uv, which refuses such a value
    monkeypatch.delenv("UV_KEYRING_PROVIDER", raising=False)
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("package = skip\n", "package = skip\nset_env = UV_KEYRING_PROVIDER=auto\n"))
    code, out = demo.run("-v")
    assert code != 0
    expected = "UV_KEYRING_PROVIDER='auto' is not one of uv's keyring providers; set it to disabled or subprocess"
    assert f"py312: failed with {expected}, or unset it" in out, out
    assert "create virtual environment" not in out, out
    assert "Traceback" not in out
    assert not demo.venvs.exists()


def test_adopts_a_venv_made_by_python_venv(demo: Demo, python312: Path) -> None:
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(demo.venv)], check=True)
    (demo.venv / "kept-by-adoption.txt").write_text("x")
    code, out = demo.run()
    assert code == 0, out
    assert "adopt the existing virtual environment" in out
    assert (demo.venv / "kept-by-adoption.txt").exists()
    assert "versions 1.0 2.0" in out


@pytest.mark.parametrize("who", ["venv", "config"])
def test_a_venv_whose_system_site_packages_differ_is_recreated(demo: Demo, python312: Path, who: str) -> None:
    # as tox's own runner and tox-uv make it: the setting is the environment's, not the adopted venv's
    command = [str(python312), "-m", "venv", "--without-pip", str(demo.venv)]
    subprocess.run([*command, "--system-site-packages"] if who == "venv" else command, check=True)
    if who == "config":
        ini = (demo.project.path / "tox.ini").read_text()
        ini = ini.replace("package = skip\n", "package = skip\nsystem_site_packages = true\n")
        (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    reason = "sees the system site-packages" if who == "venv" else "does not see the system site-packages"
    assert f"recreate {demo.venv}: it {reason} (system_site_packages)" in out, out
    cfg = (demo.venv / "pyvenv.cfg").read_text()
    assert f"include-system-site-packages = {'false' if who == 'venv' else 'true'}" in cfg
    code, out = demo.run()
    assert (code, "recreate" in out) == (0, False), out


@pytest.mark.parametrize("case", ["invalid toml", "download fails"])
def test_a_venv_whose_system_site_packages_differ_is_kept_when_the_input_is_bad(
    demo: Demo, python312: Path, case: str
) -> None:
    # emptied and made again as for another Python: so, as for another Python, only once the lock reads and its
    # files are fetched
    subprocess.run(
        [str(python312), "-m", "venv", "--without-pip", "--system-site-packages", str(demo.venv)], check=True
    )
    (demo.venv / SITE / "kept.py").touch()
    before = sorted(str(p) for p in demo.venv.rglob("*"))
    if case == "invalid toml":
        BAD_INPUTS[case][0](demo)
    else:
        demo.index.fail_paths["/files/beta-2.0-py3-none-any.whl"] = 503
    code, out = demo.run()
    assert code != 0
    assert ("is not valid TOML" if case == "invalid toml" else "HTTP 503") in out
    assert f"recreate {demo.venv}" not in out
    assert sorted(str(p) for p in demo.venv.rglob("*") if p.name != ".tox-info.json") == before


def test_a_venv_whose_interpreter_link_leads_nowhere_is_recreated_saying_so(demo: Demo, python312: Path) -> None:
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(demo.venv)], check=True)
    python = demo.venv / "bin" / "python"
    python.unlink()
    python.symlink_to(demo.venv / "gone" / "python3.12")
    code, out = demo.run()
    assert code == 0, out
    assert f"recreate {demo.venv}: its interpreter {python} is missing or a link to nothing" in out
    assert "versions 1.0 2.0" in out


def test_a_venv_tox_recorded_whose_interpreter_leads_nowhere_is_recreated(demo: Demo, tmp_path: Path) -> None:
    # tox's record still matches base_python, so tox alone keeps the venv and its commands find no python
    assert demo.run()[0] == 0
    python = demo.venv / "bin" / "python"
    python.unlink()
    python.symlink_to(tmp_path / "gone" / "python3.12")
    code, out = demo.run()
    assert code == 0, out
    assert f"recreate env because its interpreter {python} is missing or a link to nothing" in out
    assert "versions 1.0 2.0" in out


def _binary(name: str) -> tuple[Path, str]:
    """The interpreter binary behind ``name`` on PATH (pyenv's shim is a script that runs it) and its version."""
    found = shutil.which(name)
    assert found is not None, f"{name} is not on PATH"
    code = "import platform, sys; print(sys.executable); print(platform.python_version())"
    executable, version = subprocess.run([found, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return Path(executable).resolve(), version


def test_a_venv_tox_recorded_whose_interpreter_now_runs_another_python_is_recreated(demo: Demo) -> None:
    # found by QA: the base Python's path holding another build (an upgrade in place) leaves tox's record and
    # pyvenv.cfg as they were; the facts remembered in the venv were taken for its new interpreter, the venv was
    # "in sync" and the commands ran another Python, which saw none of the packages
    assert demo.run()[0] == 0
    (_, version312), (python313, version313) = _binary("python3.12"), _binary("python3.13")
    python = demo.venv / "bin" / "python"
    python.unlink()
    python.symlink_to(python313)
    code, out = demo.run()
    assert code == 0, out
    assert f"recreate env because its interpreter {python} runs Python {version313}, not the {version312} it" in out
    assert "versions 1.0 2.0" in out


def test_a_venv_whose_base_python_was_replaced_is_recreated_not_adopted(demo: Demo, tmp_path: Path) -> None:
    # found by QA: a venv made (by venv, virtualenv, uv) through a base path whose Python was replaced since
    (python312, version312), (python313, version313) = _binary("python3.12"), _binary("python3.13")
    base = tmp_path / "base" / "python3"
    base.parent.mkdir()
    base.symlink_to(python312)
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(demo.venv)], check=True)
    base.unlink()
    base.symlink_to(python313)
    code, out = demo.run()
    assert code == 0, out
    python = demo.venv / "bin" / "python"
    assert f"recreate {demo.venv}: its interpreter {python} runs Python {version313}, not the {version312} it" in out
    assert "versions 1.0 2.0" in out


def test_a_venv_copied_to_another_path_is_in_sync_with_a_warning(demo: Demo, tmp_path: Path) -> None:
    # found by QA: a venv restored (cp -a, a CI cache) at another path was found in sync, silently, while its console
    # scripts started the old path's python; uv sync says nothing either
    code, out = demo.run()
    assert code == 0, out
    copy = tmp_path / "restored" / "py312"
    copy.parent.mkdir()
    subprocess.run(["cp", "-a", str(demo.venv), str(copy)], check=True)  # noqa: S607  # a copy that keeps every file
    code, out = demo.run("--env-location", str(copy))
    assert code == 0, out
    assert (
        f"{copy} was made at {demo.venv} and copied or moved here since: its scripts still start "
        f"{demo.venv}/bin/python and its activate sets that path, which a sync does not rewrite (nor does uv's); "
        "recreate it here (tox -r)"
    ) in out
    code, out = demo.run()
    assert code == 0, out
    assert "copied or moved here" not in out


def test_venv_of_another_python_is_recreated(demo: Demo) -> None:
    python311 = shutil.which("python3.11")
    assert python311 is not None, "python3.11 must be on PATH (tests/conftest.py sets PYENV_VERSION)"
    subprocess.run([python311, "-m", "venv", "--without-pip", str(demo.venv)], check=True)
    code, out = demo.run()
    assert code == 0, out
    # which Python it had and which it gets (it said "for another Python" alone); found by QA
    assert f"recreate {demo.venv}: it was made for Python 3.11." in out
    assert ", base_python is 3.12." in out
    assert (
        "version = 3.12" in (demo.venv / "pyvenv.cfg").read_text()
        or "version_info = 3.12" in (demo.venv / "pyvenv.cfg").read_text()
    )


@pytest.mark.parametrize("again", [(), ("-r",)], ids=["tox", "tox -r"])
def test_a_venv_whose_making_tox_cut_off_is_made_again(
    demo: Demo, mocker: MockerFixture, again: tuple[str, ...]
) -> None:
    # tox cut off (Ctrl-C; a kill leaves the same files) while the venv was being made, before its pyvenv.cfg:
    # the next run, and tox -r, make it again instead of refusing the directory for ever
    import venv  # noqa: PLC0415

    def cut(*_: object) -> None:
        raise KeyboardInterrupt

    mocker.patch.object(venv.EnvBuilder, "create_configuration", cut)
    mocker.patch.object(VenvSyncRunner, "_undo_creation")  # as a kill: no handler runs, the files stay
    code, _ = demo.run()
    assert code != 0
    assert {p.name for p in demo.venv.iterdir()} >= {"bin", "include", "lib"}
    assert not (demo.venv / "pyvenv.cfg").exists()
    mocker.stopall()
    code, out = demo.run(*again)
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    assert (demo.venv / "bin" / "activate").is_file()
    if not again:
        assert f"recreate {demo.venv}: its creation was cut off" in out


@pytest.mark.parametrize("how", ["tox -r", "recreate = true"])
def test_recreate_commands_run_in_the_venv_and_a_failing_one_does_not_stop_the_recreate(demo: Demo, how: str) -> None:
    # as tox's own runner: recreate_commands find the venv's python on PATH (it was "not allowed": a built project
    # has tox work out the environment's variables, PATH among them, before the venv's scripts directory is known),
    # and one that fails is logged while the recreate goes on
    write_project(demo.project.path, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace("package = skip\n", "")
    recreate = (
        "    python -c \"import sys; print('recreate ran in', sys.prefix)\"\n    python -c 'raise SystemExit(3)'\n"
    )
    ini = ini.replace("commands =", f"recreate_commands =\n{recreate}commands =")
    if how == "recreate = true":
        ini = ini.replace("runner = venvsync\n", "runner = venvsync\nrecreate = true\n")
    again = () if how == "recreate = true" else ("-r",)
    (demo.project.path / "tox.ini").write_text(ini)
    assert demo.run()[0] == 0
    code, out = demo.run(*again)
    assert code == 0, out
    assert f"recreate ran in {demo.venv}" in out
    assert "recreate_commands failed with exit code 3, continuing with recreation" in out
    assert "versions 1.0 2.0" in out
    (demo.project.path / "tox.ini").write_text(ini.replace(recreate, "    ls\n"))  # tox refuses it: not allowed
    code, out = demo.run(*again)
    assert code == 0, out
    assert "recreate_commands failed (ls is not allowed, use allowlist_externals to allow it), continuing" in out
    assert "Traceback" not in out
    assert "versions 1.0 2.0" in out


def test_a_sync_says_which_lockfile_it_took_when_another_lies_beside_it(demo: Demo) -> None:
    # an exported pylock.toml is taken before the uv.lock it came from, and goes stale when uv lock runs again
    (demo.project.path / "uv.lock").write_text("version = 1\n")  # never read: pylock.toml comes first
    told = (
        f"synced from pylock.toml, the first of pylock.toml, uv.lock, pdm.lock, poetry.lock found in "
        f"{demo.project.path}; uv.lock is there too: set lock_file to choose"
    )
    code, out = demo.run()
    assert (code, told in out) == (0, True), out
    code, out = demo.run()  # nothing changed: nothing said
    assert (code, "synced from" in out) == (0, False), out
    demo.versions["beta"] = "2.1"
    demo.lock()
    (demo.project.path / "poetry.lock").write_text("")
    code, out = demo.run()
    assert code == 0, out
    assert "; uv.lock, poetry.lock are there too: set lock_file to choose" in out
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("runner = venvsync\n", "runner = venvsync\nlock_file = pylock.toml\n"))
    demo.versions["beta"] = "2.2"
    demo.lock()
    code, out = demo.run()  # chosen by the user: nothing to say
    assert (code, "synced from" in out, "versions 1.0 2.2" in out) == (0, False, True), out


def test_a_lock_beside_that_changed_is_told_also_when_the_sync_has_nothing_to_do(demo: Demo) -> None:
    # uv lock ran again beside an exported pylock.toml the environment is in sync with: the sync, a no-op, said
    # nothing, and the environment stayed at the stale export's pins in silence; found by QA
    uv_lock = demo.project.path / "uv.lock"
    uv_lock.write_text("version = 1\n")  # never read: pylock.toml comes first
    told = "synced from pylock.toml, the first of pylock.toml, uv.lock, pdm.lock, poetry.lock found in "
    code, out = demo.run()
    assert (code, told in out) == (0, True), out
    code, out = demo.run()  # nothing changed: nothing said
    assert (code, "synced from" in out) == (0, False), out
    uv_lock.write_text("version = 1\n# locked again\n")
    code, out = demo.run()
    assert (code, told in out, "synced 2 packages" in out) == (0, True, False), out
    code, out = demo.run()  # told once for that change
    assert (code, "synced from" in out) == (0, False), out
    os.utime(uv_lock, ns=(uv_lock.stat().st_atime_ns, uv_lock.stat().st_mtime_ns + 10**9))
    code, out = demo.run("-v")  # a fresh checkout's new time, the same content (a CI job): in sync, nothing said
    assert (code, "synced from" in out, "in sync with the lock, nothing to do" in out) == (0, False, True), out


def test_upgrading_virtualenv_does_not_recreate(demo: Demo, mocker: MockerFixture) -> None:
    assert demo.run()[0] == 0
    snapshot = demo.snapshot()
    cfg = (demo.venv / "pyvenv.cfg").stat().st_ino
    mocker.patch("tox.tox_env.python.virtual_env.api.virtualenv_version", "99.0.0")
    code, out = demo.run()
    assert code == 0, out
    assert "remove virtual environment" not in out
    assert demo.snapshot() == snapshot
    assert (demo.venv / "pyvenv.cfg").stat().st_ino == cfg


def test_a_venv_virtualenv_has_no_room_for_is_named(demo: Demo, mocker: MockerFixture) -> None:
    # found by QA with env_location on a 20k tmpfs and base_python another than tox's: "py311: failed with No space
    # left on device; free some space and run again", naming no place (virtualenv's error names no file)
    from tox.tox_env.python.virtual_env.api import VirtualEnv  # noqa: PLC0415

    mocker.patch.object(VirtualEnv, "create_python_env", side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    code, out = demo.run("-x", "testenv.venv_seed=true")  # pip seeded: virtualenv's session makes the venv
    assert code != 0
    assert (
        f"py312: failed with No space left on device at {demo.venv}; free some space and run again (the next sync "
        "finishes what this one started)"
    ) in out, out
    assert "Traceback" not in out


def test_a_run_out_of_threads_is_one_sentence(demo: Demo, mocker: MockerFixture) -> None:
    # found by QA: tox under ulimit -v 500000 with a lock of 60 wheels printed a traceback ending in "RuntimeError:
    # can't start new thread" (the eight download threads' stacks and malloc arenas pass the limit)
    mocker.patch("tox_venvsync._sync.sync", side_effect=RuntimeError("can't start new thread"))
    code, out = demo.run()
    assert code != 0
    assert "py312: failed with the process ran out of threads (each needs memory for its stack); raise" in out, out
    assert "Traceback" not in out


def test_venv_of_the_running_python_is_made_in_process_without_virtualenv(demo: Demo, mocker: MockerFixture) -> None:
    from tox.tox_env.python.virtual_env.api import VirtualEnv  # noqa: PLC0415

    built = mocker.spy(VirtualEnv, "_create_imported_session")
    code, out = demo.run()  # the tests run tox on Python 3.12, the env's Python: the stdlib's venv makes it
    assert code == 0, out
    assert built.call_count == 0
    cfg = (demo.venv / "pyvenv.cfg").read_text()
    assert "version = 3.12" in cfg
    assert "virtualenv = " not in cfg  # the key virtualenv writes
    assert (demo.venv / ".gitignore").read_text().splitlines()[-1] == "*"
    activated = subprocess.run(
        [shutil.which("bash") or "bash", "-c", f"source {demo.venv}/bin/activate && command -v python && alpha-cli"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")},
    )
    assert activated.stdout.splitlines() == [str(demo.venv / "bin" / "python"), "alpha-cli ran"]
    code, out = demo.run()
    assert code == 0, out
    assert "versions 1.0 2.0" in out  # PATH had the venv's scripts: alpha-cli ran too
    assert "alpha-cli ran" in out
    assert built.call_count == 0  # the venv exists: its interpreter and paths were found without a session


def test_every_key_the_runner_adds_is_documented(tox_project: ToxProjectCreator) -> None:
    ini = "[tox]\nenv_list = ours, plain\n[testenv]\npackage = skip\n[testenv:ours]\nrunner = venvsync\n"
    result = tox_project({"tox.ini": ini}).run("c", "-e", "ours,plain")
    assert result.code == 0, result.out
    keys: dict[str, set[str]] = {}
    section = ""
    for line in result.out.splitlines():
        if line.startswith("[testenv:"):
            section = line.strip("[]").partition(":")[2]
        elif section and (match := re.match(r"(\w+) = ", line)):
            keys.setdefault(section, set()).add(match[1])
    added = keys["ours"] - keys["plain"]
    config = Path(__file__).parent.parent / "docs" / "reference" / "config.rst"
    documented = set(re.findall(r"^\.\. confval:: (\w+)$", config.read_text(), flags=re.MULTILINE))
    assert {"env_location", "lock_file", "exact", "compile_bytecode"} <= added  # the parse found the keys
    assert sorted(added - documented) == []


def test_toxs_record_of_the_venv_is_readable_by_the_runtime_images_user(demo: Demo) -> None:
    # tox writes .tox-info.json for its owner alone: a runtime image's other user (USER app) could not read it,
    # and tox, taking the copied venv for a new one, failed writing it again into the read-only layer
    code, out = demo.run("--notest")
    assert code == 0, out
    assert (demo.venv / ".tox-info.json").stat().st_mode & 0o777 == 0o644
    (demo.venv / ".tox-info.json").chmod(0o600)  # an older run's
    code, out = demo.run("--notest")  # in sync: tox's record unchanged, made readable all the same
    assert code == 0, out
    assert (demo.venv / ".tox-info.json").stat().st_mode & 0o777 == 0o644


def test_compile_bytecode_compiles_the_venv_after_a_sync_that_changed_it(demo: Demo, mocker: MockerFixture) -> None:
    from tox_venvsync import _bytecode  # noqa: PLC0415

    compiled = mocker.spy(_bytecode, "compile_all")
    pyc = {name: demo.site / name / "__pycache__" / "__init__.cpython-312.pyc" for name in ("alpha", "beta")}
    code, out = demo.run("--notest")  # no command runs: any bytecode comes from the sync
    assert code == 0, out
    assert (compiled.call_count, [p.exists() for p in pyc.values()]) == (0, [False, False])

    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("runner = venvsync", "runner = venvsync\ncompile_bytecode = true"))
    code, out = demo.run("--notest")  # in sync, but never compiled
    assert code == 0, out
    assert (compiled.call_count, [p.is_file() for p in pyc.values()]) == (1, [True, True])
    code, out = demo.run("--notest")  # in sync and compiled since
    assert code == 0, out
    assert compiled.call_count == 1
    demo.versions["alpha"] = "1.1"
    demo.lock()
    code, out = demo.run("-v", "--notest")
    assert code == 0, out
    assert "compiled the bytecode of every module" in out
    assert (compiled.call_count, pyc["alpha"].is_file()) == (2, True)


@pytest.mark.parametrize(
    ("setting", "where", "shows"),
    [
        pytest.param("venv_seed = true", "lib/python3.12/site-packages/pip", "__init__.py", id="venv_seed"),
        pytest.param("uv_seed = true", "lib/python3.12/site-packages/pip", "__init__.py", id="tox-uv-uv_seed"),
        pytest.param("set_env = VIRTUALENV_PROMPT = custom-prompt", "bin", "custom-prompt", id="virtualenv-setting"),
    ],
)
def test_virtualenv_makes_the_venv_when_asked_for_what_only_it_does(
    demo: Demo, mocker: MockerFixture, setting: str, where: str, shows: str
) -> None:
    from tox.tox_env.python.virtual_env.api import VirtualEnv  # noqa: PLC0415

    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("runner = venvsync", f"runner = venvsync\n{setting}"))
    built = mocker.spy(VirtualEnv, "_create_imported_session")
    code, out = demo.run()
    assert code == 0, out
    assert built.call_count == 1
    assert "virtualenv = " in (demo.venv / "pyvenv.cfg").read_text()
    files = [path for path in (demo.venv / where).iterdir() if path.is_file()]
    assert any(shows == path.name or shows in path.read_text(errors="replace") for path in files)


BAD_INPUTS: dict[str, tuple[Callable[[Demo], object], str]] = {
    "no lock": (
        lambda d: (d.project.path / "pylock.toml").unlink(),
        "looked for pylock.toml, uv.lock, pdm.lock, poetry.lock; create one or set lock_file",
    ),
    "missing lock_file": (
        lambda d: (d.project.path / "tox.ini").write_text(
            (d.project.path / "tox.ini")
            .read_text()
            .replace("runner = venvsync", "runner = venvsync\nlock_file = locks/x.toml")
        ),
        "locks/x.toml: the lockfile does not exist; create it or set lock_file to the right path",
    ),
    "invalid toml": (lambda d: (d.project.path / "pylock.toml").write_text("lock-version = [\n"), "is not valid TOML"),
    "invalid pylock": (
        lambda d: (d.project.path / "pylock.toml").write_text(
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
            '[[packages.wheels]]\nurl = "https://x/a-1-py3-none-any.whl"\nhashes = {}\n'
        ),
        "pylock.toml at packages[0].wheels[0].hashes: At least one hash must be provided",
    ),
    "lock-version 2": (
        lambda d: (d.project.path / "pylock.toml").write_text(
            'lock-version = "2.0"\ncreated-by = "x"\npackages = []\n'
        ),
        "pylock.toml at lock-version: pylock version 2.0 is not supported",
    ),
    "requires-python": (
        lambda d: (d.project.path / "pylock.toml").write_text(
            'lock-version = "1.0"\ncreated-by = "x"\nrequires-python = ">=3.99"\npackages = []\n'
        ),
        "pylock.toml: the lock requires Python >=3.99 (requires-python) but the interpreter ",
    ),
    "environments": (
        lambda d: (d.project.path / "pylock.toml").write_text(
            'lock-version = "1.0"\ncreated-by = "x"\nenvironments = ["sys_platform == \'win32\'"]\npackages = []\n'
        ),
        'pylock.toml: no marker of the lock\'s environments (sys_platform == "win32") holds for the interpreter ',
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_sentence_without_traceback(demo: Demo, case: str) -> None:
    spoil, message = BAD_INPUTS[case]
    spoil(demo)
    code, out = demo.run()
    assert code != 0
    assert message in out
    assert "Traceback" not in out


@pytest.mark.parametrize("case", ["no lock", "missing lock_file"])
def test_no_lock_stops_the_run_before_the_project_is_built_or_the_venv_made(demo: Demo, case: str) -> None:
    # the build of the project took seconds for a sync that could not run
    root = demo.project.path
    write_project(root, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    (root / "tox.ini").write_text((root / "tox.ini").read_text().replace("package = skip", "package = wheel"))
    spoil, message = BAD_INPUTS[case]
    spoil(demo)
    code, out = demo.run()
    assert code != 0
    assert message in out
    assert "build_wheel" not in out, out
    assert not demo.venvs.exists()


def test_no_wheel_for_the_interpreter_names_package_and_tags(demo: Demo) -> None:
    wheel = make_wheel(demo.index.directory, "native", "1.0", tag="cp27-cp27m-win32")
    write_pylock(demo.project.path / "pylock.toml", [package_entry("native", "1.0", [wheel_entry(wheel)])])
    code, out = demo.run()
    assert code != 0
    assert "no wheel of native at packages[0] fits the interpreter" in out
    assert "(Python 3.12." in out
    assert "tags cp312-cp312-" in out
    assert "native-1.0-cp27-cp27m-win32.whl" in out
    assert "Traceback" not in out


def test_download_failure_is_reported(demo: Demo) -> None:
    demo.index.fail_paths["/files/beta-2.0-py3-none-any.whl"] = 503
    code, out = demo.run()
    assert code != 0
    assert "cannot fetch beta from http://127.0.0.1" in out
    assert "HTTP 503" in out
    assert not demo.venvs.exists()  # the venv this run made, and the directory made for it, are not left behind


def test_a_venv_tox_made_that_cannot_be_removed_is_told_with_what_is_left_where(
    demo: Demo, mocker: MockerFixture
) -> None:
    # the removal's error was swallowed (the download's is the one to report): the venv stayed half made without a word
    demo.index.fail_paths["/files/beta-2.0-py3-none-any.whl"] = 503
    refused = OSError(errno.EACCES, os.strerror(errno.EACCES), str(demo.venv / "lib"))
    mocker.patch("tox_venvsync._location.remove_tree", side_effect=refused)
    code, out = demo.run()
    assert code != 0
    assert "cannot fetch beta from http://127.0.0.1" in out
    assert (
        f"{demo.venv}, which this run made, could not be removed (Permission denied: {demo.venv / 'lib'}) and is "
        f"left half made: the next sync finishes it, or remove it (rm -rf {demo.venv})\n"
    ) in out
    assert (demo.venv / "pyvenv.cfg").is_file()


def test_a_failed_first_sync_removes_only_the_directories_it_made_also_with_dotdot_in_env_dir(demo: Demo) -> None:
    # an explicit env_dir keeps tox's spelling, ".." included: the directories above the ones the run made stay,
    # also when empty (one prepared with its owner and mode for the venvs)
    prepared = demo.venvs / "prepared"
    prepared.mkdir(parents=True)
    (demo.venvs / "keep-me").touch()  # the walk up would stop here at the latest
    ini = demo.project.path / "tox.ini"
    env_dir = f"{{tox_root}}/../{demo.venvs.name}/prepared/new/{{env_name}}"
    ini.write_text(ini.read_text().replace("runner = venvsync", f"runner = venvsync\nenv_dir = {env_dir}"))
    demo.index.fail_paths["/files/beta-2.0-py3-none-any.whl"] = 503
    code, out = demo.run()
    assert code != 0
    assert "HTTP 503" in out
    assert not (prepared / "new").exists()  # made by the run: removed
    assert prepared.is_dir()  # there before: kept


def test_a_new_venv_whose_extra_setup_commands_fail_stays_with_their_log(demo: Demo) -> None:
    # the sync filled it: the failure is the commands', and tox keeps their log in the venv's directory by default
    ini = demo.project.path / "tox.ini"
    text = ini.read_text().replace(f"env_location = {demo.venvs / '{env_name}'}\n", "")
    ini.write_text(
        text.replace("package = skip", "package = skip\nextra_setup_commands = python -c 'raise SystemExit(3)'")
    )
    venv = demo.work / "py312"
    code, out = demo.run()
    assert code != 0
    assert "extra_setup_commands failed" in out
    assert dist_info_names([venv / SITE]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert [log.name for log in (venv / "log").iterdir()] == ["1-extra_setup_commands[0].log"]


@pytest.mark.parametrize("case", ["invalid toml", "lock-version 2", "no lock"])
def test_a_venv_a_failed_first_sync_made_is_not_left_behind(demo: Demo, case: str) -> None:
    # the directory env_location names existed (a mount point, a directory made for it): it stays, empty
    BAD_INPUTS[case][0](demo)
    demo.venv.mkdir(parents=True)
    code, out = demo.run()
    assert code != 0
    assert BAD_INPUTS[case][1] in out
    assert list(demo.venv.iterdir()) == []


def _venv_of(venv: Path) -> tuple[str, list[str]]:
    """The venv's Python version and the .dist-info directories in its site-packages."""
    cfg = dict(line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines() if " = " in line)
    sites = list(venv.glob("lib/python3.*/site-packages"))
    return cfg["version_info" if "version_info" in cfg else "version"][:4], dist_info_names(sites)


@pytest.mark.parametrize("how", ["base_python changed", "venv of another Python found"])
@pytest.mark.parametrize("case", ["invalid toml", "download fails"])
def test_a_venv_to_recreate_for_another_python_is_kept_when_the_input_is_bad(demo: Demo, how: str, case: str) -> None:
    env, venv = ["-e", "unit", "--workdir", str(demo.work)], demo.venvs / "unit"
    ini = demo.project.path / "tox.ini"
    ini.write_text(f"{ini.read_text()}\n[testenv:unit]\nbase_python = python3.12\n")
    if how == "base_python changed":  # tox's own recreate: its record of the env names another interpreter
        assert demo.project.run("r", *env).code == 0
        ini.write_text(ini.read_text().replace("base_python = python3.12", "base_python = python3.11"))
    else:
        python311 = shutil.which("python3.11")
        assert python311 is not None
        subprocess.run([python311, "-m", "venv", "--without-pip", str(venv)], check=True)
    before = _venv_of(venv)
    if case == "invalid toml":
        BAD_INPUTS[case][0](demo)
    else:
        demo.versions["beta"] = "2.1"
        demo.lock()
        demo.index.fail_paths["/files/beta-2.1-py3-none-any.whl"] = 503
    result = demo.project.run("r", *env)
    assert result.code != 0
    assert ("is not valid TOML" if case == "invalid toml" else "HTTP 503") in result.out
    assert _venv_of(venv) == before  # not emptied for a sync that cannot happen


def test_skip_env_install_recreates_for_another_python_without_reading_the_lock(demo: Demo) -> None:
    # --skip-env-install installs nothing into the new venv, so nothing is fetched to check the input first (offline,
    # or an index that is down, does not stop it), as tox's own runner recreates and skips
    env, venv = ["-e", "unit", "--workdir", str(demo.work)], demo.venvs / "unit"
    ini = demo.project.path / "tox.ini"
    ini.write_text(f"{ini.read_text()}\n[testenv:unit]\nbase_python = python3.12\n")
    assert demo.project.run("r", *env).code == 0
    ini.write_text(ini.read_text().replace("base_python = python3.12", "base_python = python3.11"))
    demo.versions["beta"] = "2.1"
    demo.lock()
    demo.index.fail_paths["/files/beta-2.1-py3-none-any.whl"] = 503
    result = demo.project.run("r", "--skip-env-install", "--notest", *env)
    assert result.code == 0, result.out
    assert "HTTP 503" not in result.out
    assert _venv_of(venv) == ("3.11", [])  # recreated for the new Python, and nothing installed, as asked


def test_missing_interpreter_is_reported(demo: Demo) -> None:
    result = demo.project.run("r", "-e", "py399", "--workdir", str(demo.work))
    assert result.code != 0
    assert "could not find python interpreter" in result.out
    assert "Traceback" not in result.out


def _run_with_installed_python(demo: Demo, minor: str, env: str) -> tuple[Path, int, str]:
    """``tox r -e <env>`` with ``base_python`` the pyenv-installed ``python<minor>`` (skipped without one)."""
    python = installed_python(minor)
    if python is None:
        pytest.skip(f"no Python {minor} installed through pyenv")
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini + f"[testenv:{env}]\nbase_python = {python}\n")
    result = demo.project.run("r", "-e", env, "--workdir", str(demo.work))
    return python, result.code, result.out + result.err


def test_a_python_2_base_python_is_not_found_as_with_toxs_own_runner(demo: Demo) -> None:
    # python-discovery refuses to query Python 2 (a RuntimeError): tox's own runner says it is not found (an
    # environment named py27 trips over tox's own check of its name against the path, with either runner)
    old, code, out = _run_with_installed_python(demo, "2.7", "legacy27")
    assert code != 0
    assert f"legacy27: failed with could not find python interpreter matching any of the specs {old}" in out, out
    assert "Traceback" not in out
    assert "internal error" not in out


def test_set_env_reaches_the_builds_of_the_lock(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # a local directory in the lock whose build needs a setting tox's set_env gives (as tox-uv passes it to uv)
    monkeypatch.delenv("NEED_FOR_BUILD", raising=False)
    tree = write_project(demo.project.path / "dep", "dep", "1.0", {"dep/__init__.py": "OK = 'built'\n"})
    backend = tree / "_build" / "backend.py"
    check = (
        "import os\nif os.environ.get('NEED_FOR_BUILD') != '1':\n    raise RuntimeError('NEED_FOR_BUILD is not set')\n"
    )
    backend.write_text(check + backend.read_text())
    demo.lock({"name": "dep", "directory": {"path": "dep"}})
    ini = (demo.project.path / "tox.ini").read_text()
    ini = ini.replace("package = skip\n", "package = skip\nset_env = NEED_FOR_BUILD=1\n")
    ini = ini.replace("    alpha-cli\n", "    alpha-cli\n    python -c \"import dep; print('dep', dep.OK)\"\n")
    (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert "dep built" in out
    assert "NEED_FOR_BUILD" not in os.environ  # laid over the builds' environment, not this process's


def test_set_env_proxies_reach_the_downloads(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib read the proxies of tox's own environment only: set_env's reached pip and the builds, not the sync
    for variable in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    monkeypatch.setenv("TOX_VENVSYNC_HTTP_RETRIES", "0")
    ini = (demo.project.path / "tox.ini").read_text()
    proxied = ini.replace("package = skip\n", "package = skip\nset_env = http_proxy=http://127.0.0.1:9\n")
    (demo.project.path / "tox.ini").write_text(proxied)
    code, out = demo.run()
    assert code != 0, out
    assert (
        "the proxy http://127.0.0.1:9 cannot be reached (Connection refused); check the proxy setting (http_proxy), or "
        "add the host to no_proxy if it is to be reached without the proxy\n"
    ) in out, out
    assert not (demo.venv / "pyvenv.cfg").exists() or dist_info_names([demo.site]) == []
    settings = "set_env =\n    http_proxy=http://127.0.0.1:9\n    no_proxy=127.0.0.0/8\n"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip\n", f"package = skip\n{settings}"))
    code, out = demo.run()
    assert code == 0, out
    assert "synced 2 packages: 2 installed" in out


def test_an_unchanged_tree_of_the_lock_is_not_built_again_in_tox(demo: Demo, mocker: MockerFixture) -> None:
    # tox's own settings (PYTHONHASHSEED, new each run) must not count as a change of what a build reads
    write_project(demo.project.path / "dep", "dep", "1.0", {"dep/__init__.py": "OK = 'built'\n"})
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip\n", "package = skip\nset_env = MINE=1\n"))
    demo.lock({"name": "dep", "directory": {"path": "dep"}})
    builds = mocker.spy(Builder, "from_tree")
    code, out = demo.run()
    assert code == 0, out
    assert builds.call_count == 1
    demo.versions["beta"] = "2.1"
    demo.lock({"name": "dep", "directory": {"path": "dep"}})
    code, out = demo.run()
    assert code == 0, out
    assert "synced 3 packages: 1 upgraded" in out
    assert builds.call_count == 1  # the tree and set_env are as they were
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip\n", "package = skip\nset_env = MINE=2\n"))
    demo.versions["beta"] = "2.0"
    demo.lock({"name": "dep", "directory": {"path": "dep"}})
    code, out = demo.run()
    assert code == 0, out
    assert builds.call_count == 2  # a setting its build may read changed


def test_a_python_3_9_env_is_synced_with_deps_from_the_pip_virtualenv_bundles_for_it(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the packaging and pip tox runs with no longer run on 3.9: its tags and deps come from virtualenv's pip for it
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    make_wheel(demo.index.directory, "nat", "1.0", tag="cp39-cp39-manylinux_2_17_x86_64")
    make_wheel(demo.index.directory, "nat", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    ini = (demo.project.path / "tox.ini").read_text().replace("package = skip", "package = skip\ndeps = gamma")
    (demo.project.path / "tox.ini").write_text(ini)
    entries = [wheel_entry(w, url=demo.index.file_url(w.name)) for w in sorted(demo.index.directory.glob("nat-*"))]
    demo.lock(package_entry("nat", "1.0", entries))
    _, code, out = _run_with_installed_python(demo, "3.9", "py39")
    assert code == 0, out
    assert "versions 1.0 2.0" in out
    assert "alpha-cli ran" in out
    site = demo.venvs / "py39" / "lib" / "python3.9" / "site-packages"
    assert dist_info_names([site]) == [
        "alpha-1.0.dist-info",
        "beta-2.0.dist-info",
        "gamma-0.5.dist-info",
        "nat-1.0.dist-info",
    ]
    assert "Tag: cp39-cp39-manylinux_2_17_x86_64" in (site / "nat-1.0.dist-info" / "WHEEL").read_text()
    result = demo.project.run("r", "-e", "py39", "--workdir", str(demo.work))
    assert (result.code, "synced" in result.out) == (0, False), result.out


def test_a_python_older_than_the_engine_supports_is_refused_before_a_venv_is_made(demo: Demo) -> None:
    old, code, out = _run_with_installed_python(demo, "3.8", "py38")
    assert code != 0
    assert f"the interpreter {old} is Python 3.8; tox-venvsync makes environments of Python 3.9 or newer" in out, out
    assert "Traceback" not in out
    assert not (demo.venvs / "py38").exists()


def test_an_unknown_link_mode_is_refused_before_the_venv_is_made(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOX_VENVSYNC_LINK_MODE", "cpoy")
    code, out = demo.run()
    assert code != 0
    assert "py312: failed with TOX_VENVSYNC_LINK_MODE='cpoy' is not a link mode: set it to hardlink" in out
    assert "Traceback" not in out
    assert not demo.venv.exists()


def test_unwritable_location_is_refused(demo: Demo, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, out = demo.run("--env-location", str(blocker / "{env_name}"))
    assert code != 0
    assert f"refusing to use {blocker / 'py312'} as a virtual environment: it cannot be created" in out
    assert "Traceback" not in out
    assert blocker.read_text() == "not a directory"


def test_an_empty_location_it_may_not_write_is_refused(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root's empty /opt/venvs/py312 (mode 755), for a user other than root: "failed with Permission denied at
    # /opt/venvs/py312/.tox-info.json.62eqe91f.tmp", a file that is not there, naming no setting; found by QA. The
    # suite runs as root, whom access(2) lets write anywhere: its answer is simulated
    location = tmp_path / "opt" / "py312"
    location.mkdir(parents=True)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != location and access(path, mode))
    code, out = demo.run("--env-location", str(location))
    assert code != 0
    assert (
        f"py312: failed with refusing to use {location} as a virtual environment: it cannot be written (Permission "
        "denied); make it writable or choose a writable --env-location"
    ) in out, out
    assert "Traceback" not in out
    assert list(location.iterdir()) == []


BACKEND = '''
"""A PEP 517 backend that needs nothing from an index: builds demo_pkg by hand."""
import base64, hashlib, io, os, tarfile, zipfile

NAME, VERSION = "demo_pkg", os.environ.get("DEMO_PKG_VERSION", "0.1")

def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"

def _wheel(directory, files):
    dist = f"{NAME}-{VERSION}.dist-info"
    files = dict(files)
    requires = open("requires.txt").read().split() if os.path.exists("requires.txt") else []
    metadata = f"Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: {VERSION}\\n"
    metadata += "".join(f"Requires-Dist: {line}\\n" for line in requires)
    if os.path.exists("requires-python.txt"):
        metadata += f"Requires-Python: {open('requires-python.txt').read().strip()}\\n"
    files[f"{dist}/METADATA"] = metadata.encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    lines = [_record_line(p, d) for p, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\\n".join(lines) + "\\n").encode()
    if os.path.exists("record.txt"):  # a build that writes a RECORD of its own (a broken one)
        files[f"{dist}/RECORD"] = open("record.txt", "rb").read()
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return name

def _source():
    with open(os.path.join("src", "demo_pkg.py"), "rb") as handle:
        return handle.read()

def get_requires_for_build_wheel(config_settings=None):
    return []

get_requires_for_build_editable = get_requires_for_build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"demo_pkg.py": _source()})

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"demo_pkg.pth": (os.path.abspath("src") + "\\n").encode()})

def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    files = {p: open(p, "rb").read() for p in ("pyproject.toml", "_build/backend.py", "src/demo_pkg.py")}
    files["PKG-INFO"] = f"Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: {VERSION}\\n".encode()
    with tarfile.open(os.path.join(sdist_directory, base + ".tar.gz"), "w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return base + ".tar.gz"
'''


def _packaged(demo: Demo, package: str) -> None:
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace(
        "package = skip", f"package = {package}"
    )
    ini = ini.replace(
        "alpha-cli\n", "alpha-cli\n    python -c \"import demo_pkg; print('demo_pkg says', demo_pkg.WORD)\"\n"
    )
    (demo.project.path / "tox.ini").write_text(ini)
    (demo.project.path / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["_build"]
        [project]
        name = "demo-pkg"
        version = "0.1"
        """)
    )
    (demo.project.path / "_build").mkdir()
    (demo.project.path / "_build" / "backend.py").write_text(BACKEND)
    (demo.project.path / "src").mkdir()
    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'first'\n")


@pytest.mark.parametrize(
    "package",
    ["wheel", "sdist-wheel", "sdist", "editable"],
)
def test_project_is_installed_without_dependencies_and_replaced_when_it_changes(demo: Demo, package: str) -> None:
    _packaged(demo, package)
    code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says first" in out
    assert "3 installed" in out
    direct = json.loads((demo.site / "demo_pkg-0.1.dist-info" / "direct_url.json").read_text())
    assert direct.get("dir_info", {}).get("editable", False) is (package == "editable")

    code, out = demo.run()  # rebuilt by tox with the same contents: nothing to do
    assert code == 0, out
    assert "synced" not in out

    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'second'\n")
    code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says second" in out
    if package == "editable":
        assert "synced" not in out  # an editable install follows the source tree by itself
    else:
        assert "1 reinstalled" in out  # the wheel's contents changed


def _project_wheel(demo: Demo, into: Path, word: str) -> Path:
    """A wheel of the packaged demo project saying ``word``, built by its backend outside tox (as a CI job would)."""
    (demo.project.path / "src" / "demo_pkg.py").write_text(f"WORD = {word!r}\n")
    into.mkdir(parents=True, exist_ok=True)
    build = "import sys; sys.path.insert(0, '_build'); import backend; print(backend.build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", build, str(into)], cwd=demo.project.path, capture_output=True, text=True, check=True
    )
    return into / done.stdout.strip()


def _archive(path: Path) -> dict[str, object]:
    """The ``direct_url.json`` pip writes for an archive it installed from ``path``."""
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"url": path.as_uri(), "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}}


def test_installpkg_installs_the_given_wheel_as_an_archive(demo: Demo, tmp_path: Path) -> None:
    _packaged(demo, "wheel")
    wheel = _project_wheel(demo, tmp_path / "dist-1", "given")
    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'not built'\n")  # tox must not build the project
    code, out = demo.run("--installpkg", str(wheel))
    assert code == 0, out
    assert "demo_pkg says given" in out
    assert "3 installed" in out
    direct = json.loads((demo.site / "demo_pkg-0.1.dist-info" / "direct_url.json").read_text())
    # PEP 610: a wheel file, not the project directory, with the file's hash as pip records it
    assert direct == _archive(wheel)

    code, out = demo.run("--installpkg", str(wheel))
    assert code == 0, out
    assert "synced" not in out

    other = _project_wheel(demo, tmp_path / "dist-2", "given again")
    code, out = demo.run("--installpkg", str(other))
    assert code == 0, out
    assert "demo_pkg says given again" in out
    assert "synced 3 packages: 1 reinstalled" in out


def test_installpkg_of_the_same_contents_as_the_tree_records_its_source_each_time(demo: Demo, tmp_path: Path) -> None:
    # a wheel built outside tox from the same source has the contents tox's own build has: the source still
    # changes (the tree, then the file, then the tree), and the venv records each, as a sync that plans does
    _packaged(demo, "wheel")
    code, out = demo.run()
    assert code == 0, out
    wheel = _project_wheel(demo, tmp_path / "dist", "first")  # what the tree says now
    direct_url = demo.site / "demo_pkg-0.1.dist-info" / "direct_url.json"
    assert json.loads(direct_url.read_text())["url"] == demo.project.path.as_uri()
    code, out = demo.run("--installpkg", str(wheel))
    assert code == 0, out
    assert "synced 3 packages: 1 reinstalled" in out
    assert json.loads(direct_url.read_text())["url"] == wheel.as_uri()
    code, out = demo.run()
    assert code == 0, out
    assert "synced 3 packages: 1 reinstalled" in out
    assert json.loads(direct_url.read_text()) == {"url": demo.project.path.as_uri(), "dir_info": {"editable": False}}


def test_package_external_installs_the_wheel_the_build_commands_made(demo: Demo) -> None:
    _packaged(demo, "external")
    build = "import os, sys; os.makedirs(sys.argv[1]); sys.path.insert(0, '_build'); import backend; "
    build += "backend.build_wheel(sys.argv[1])"
    ini = (demo.project.path / "tox.ini").read_text()
    ini += f'[testenv:.pkg_external]\ncommands = python -c "{build}" {{env_tmp_dir}}{{/}}dist\n'
    (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says first" in out
    assert "synced 3 packages: 3 installed" in out
    direct = json.loads((demo.site / "demo_pkg-0.1.dist-info" / "direct_url.json").read_text())
    assert direct["url"].endswith("/demo_pkg-0.1-py3-none-any.whl")
    assert "archive_info" in direct


def test_package_editable_legacy_is_refused_by_tox(demo: Demo) -> None:
    _packaged(demo, "editable-legacy")
    code, out = demo.run()
    assert code != 0
    assert (
        "invalid package config type editable-legacy requested, must be one of wheel, sdist, sdist-wheel, editable, "
        "deps-only, skip, external"
    ) in out
    assert "Traceback" not in out
    assert not demo.venv.exists()


@pytest.mark.parametrize(("given", "instead"), [("uv", "wheel"), ("uv-editable", "editable")])
def test_tox_uv_package_types_are_refused_naming_ours(demo: Demo, given: str, instead: str) -> None:
    # a tox.ini from tox-uv keeps its package = uv-editable: the message says what to set instead
    _packaged(demo, given)
    code, out = demo.run()
    assert code != 0
    assert f"package = {given} is tox-uv's package type; set package = {instead}, which does the same here" in out
    assert "Traceback" not in out
    assert not demo.venv.exists()


def test_package_deps_only_syncs_the_lock_without_building_the_project(demo: Demo) -> None:
    _packaged(demo, "deps-only")
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini.replace("import demo_pkg;", "import importlib.util, demo_pkg;"))
    (demo.project.path / "_build" / "backend.py").write_text("raise SystemExit('the project must not be built')\n")
    code, out = demo.run()
    assert code != 0  # the command imports the project, which deps-only does not install
    assert "synced 2 packages: 2 installed" in out
    assert "ModuleNotFoundError: No module named 'demo_pkg'" in out
    assert "must not be built" not in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]


def _project_sdist(demo: Demo, into: Path) -> Path:
    build = "import sys; sys.path.insert(0, '_build'); import backend; print(backend.build_sdist(sys.argv[1]))"
    into.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", build, str(into)], cwd=demo.project.path, capture_output=True, text=True, check=True
    )
    return into / done.stdout.strip()


def test_installpkg_of_an_sdist_installs_the_wheel_built_from_it(demo: Demo, tmp_path: Path, cache_dir: Path) -> None:
    cache = cache_dir
    _packaged(demo, "wheel")
    sdist = _project_sdist(demo, tmp_path / "dist-1")
    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'not built'\n")  # tox must not build the tree
    code, out = demo.run("--installpkg", str(sdist))
    assert code == 0, out
    assert "demo_pkg says first" in out
    assert "synced 3 packages: 3 installed" in out
    direct = json.loads((demo.site / "demo_pkg-0.1.dist-info" / "direct_url.json").read_text())
    # recorded as pip records an sdist it installed: the archive given, with its hash (not the wheel built from it)
    assert direct == _archive(sdist)
    assert not list(cache.glob("tmp/*/project-*"))  # the wheel built from it is not kept

    code, out = demo.run("--installpkg", str(sdist))
    assert code == 0, out
    assert "synced" not in out

    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'second'\n")
    other = _project_sdist(demo, tmp_path / "dist-2")
    code, out = demo.run("--installpkg", str(other))
    assert code == 0, out
    assert "demo_pkg says second" in out
    assert "synced 3 packages: 1 reinstalled" in out


def test_installpkg_of_an_sdist_without_a_version_in_its_name_is_one_sentence(demo: Demo, tmp_path: Path) -> None:
    _packaged(demo, "wheel")
    sdist = _project_sdist(demo, tmp_path / "dist")
    renamed = sdist.rename(tmp_path / "demo.tar.gz")
    code, out = demo.run("--installpkg", str(renamed))
    assert code != 0
    assert (
        f"py312: failed with cannot build the project from {renamed}: its file name is not an sdist's "
        "(name-version.tar.gz)"
    ) in out
    assert "Traceback" not in out


_METADATA_ONLY_BACKEND = """
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist))
    with open(os.path.join(metadata_directory, dist, "METADATA"), "w") as handle:
        handle.write(f"Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: {VERSION}\\n")
    return dist

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("this backend builds no wheel today")
"""


def test_an_sdist_whose_build_fails_is_one_sentence_and_changes_nothing(demo: Demo, tmp_path: Path) -> None:
    _packaged(demo, "wheel")
    code, out = demo.run()
    assert code == 0, out
    before = tree(demo.venv)
    backend = demo.project.path / "_build" / "backend.py"
    # tox reads the sdist's metadata without building a wheel; the wheel's build then fails
    backend.write_text(backend.read_text() + _METADATA_ONLY_BACKEND)
    sdist = _project_sdist(demo, tmp_path / "dist")
    code, out = demo.run("--installpkg", str(sdist))
    assert code != 0
    assert (
        f"py312: failed with cannot build demo-pkg from {sdist}: RuntimeError: this backend builds no wheel today"
        in out
    ), out
    assert "Traceback" not in out
    assert tree(demo.venv) == before


def test_a_failed_builds_output_is_shown_at_v_before_its_sentence(demo: Demo, tmp_path: Path) -> None:
    # the sentence names the backend's exception; what it printed before (a compiler's error) was nowhere, at no
    # verbosity, where tox's own runner shows a failed pip's output (found by QA)
    _packaged(demo, "wheel")
    backend = demo.project.path / "_build" / "backend.py"
    compiler = "    print('gcc: error: _speedups.c: no such file')\n"
    failing = _METADATA_ONLY_BACKEND.replace("    raise", f"{compiler}    raise")
    backend.write_text(backend.read_text() + failing)
    sdist = _project_sdist(demo, tmp_path / "dist")
    code, out = demo.run("--installpkg", str(sdist))
    assert code != 0
    assert "gcc: error" not in out, out  # the default output keeps the one sentence
    code, out = demo.run("--installpkg", str(sdist), "-v")
    assert code != 0
    assert "py312: the output of the step that failed:\n" in out, out
    printed, _, sentence = out.partition("py312: the output of the step that failed:\n")[2].partition("py312: failed")
    assert "gcc: error: _speedups.c: no such file" in printed
    assert "RuntimeError: this backend builds no wheel today" in printed
    assert sentence.startswith(" with cannot build demo-pkg from")


CONCURRENT_RUNS = 4


@pytest.mark.reliability("concurrent", cases=CONCURRENT_RUNS)
def test_concurrent_runs_on_one_location_take_turns(demo: Demo) -> None:
    runs = [
        subprocess.Popen(  # tox of this test environment
            [sys.executable, "-m", "tox", "r", "-e", "py312", "--workdir", str(demo.work / str(i))],
            cwd=demo.project.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(CONCURRENT_RUNS)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * CONCURRENT_RUNS, outputs
    assert sum("synced 2 packages: 2 installed" in out for out in outputs) == 1, outputs
    assert all("versions 1.0 2.0" in out for out in outputs)
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]


#: tox as a terminal runs it: Ctrl-C raises KeyboardInterrupt in its main thread (a job started with & ignores it)
TOX_WITH_CTRL_C = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); from tox.run import run; run()"
)


@contextlib.contextmanager
def tox_to_interrupt(demo: Demo, **environ: str) -> Iterator[subprocess.Popen[str]]:
    """A tox run of the demo in a process of its own, as a terminal starts it; killed, and its pipe closed, after."""
    command = [sys.executable, "-c", TOX_WITH_CTRL_C, "r", "-e", "py312", "--workdir", str(demo.work)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **environ}  # each line as tox logs it
    with subprocess.Popen(
        command, cwd=demo.project.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as tox:
        try:
            yield tox
        finally:
            tox.kill()


def test_ctrl_c_in_tox_ends_a_download_under_way(demo: Demo) -> None:
    # tox sets the env up in a thread and on Ctrl-C asks the env to stop what tox itself runs; the sync is none of
    # that: it went on downloading until the file was whole (here: never), then installed it, while tox ignored
    # every further Ctrl-C. Found by QA: a 10-second download finished and "synced 1 package" after Ctrl-C
    stalled = f"/files/{demo.wheel('alpha', '1.0').name}"
    demo.index.stall_paths.add(stalled)
    with tox_to_interrupt(demo, TOX_VENVSYNC_HTTP_TIMEOUT="60") as tox:
        while stalled not in demo.index.requests and tox.poll() is None:
            time.sleep(0.02)  # the index records the request as it reads it: then the download is under way
        assert tox.poll() is None, tox.communicate()[0]
        tox.send_signal(signal.SIGINT)
        out, _ = tox.communicate(timeout=20)
    assert "py312: failed with interrupted; the next run finishes or redoes what was started" in out, out
    assert "Traceback" not in out
    assert not demo.venv.exists()  # made by this run: removed, as after any failed first sync


def test_ctrl_c_in_tox_ends_a_wait_for_the_venv_another_run_holds(demo: Demo, cache_dir: Path) -> None:
    # the wait for another run's sync of the same env_location said nothing and did not end on Ctrl-C either
    with env_lock(Cache(cache_dir), demo.venv), tox_to_interrupt(demo) as tox:
        said = first_line(tox.stdout)  # "" when tox waits without a word (it never ends while the lock is held)
        assert said == f"py312: another venvsync or tox run is working on {demo.venv}; waiting for it to finish\n"
        tox.send_signal(signal.SIGINT)
        out, _ = tox.communicate(timeout=20)
    assert "py312: failed with interrupted; the next run finishes or redoes what was started" in out, out
    assert not demo.venv.exists()


def test_default_env_location_inside_the_work_dir_works_and_recreates(demo: Demo) -> None:
    (demo.project.path / "tox.ini").write_text(INI.replace("env_location = {env_location}\n", ""))
    code, out = demo.run()
    assert code == 0, out
    assert (demo.work / "py312" / "pyvenv.cfg").is_file()
    code, out = demo.run()
    assert code == 0, out
    assert "synced" not in out
    code, out = demo.run("-r")
    assert code == 0, out
    assert "synced 2 packages: 2 installed" in out


def test_the_work_dir_a_venv_at_the_default_location_makes_is_private_as_tox_makes_it(demo: Demo) -> None:
    # tox 4.67.15 makes its work directory 0700 before anything makes it with the umask; the guard made the venv
    # at {work_dir}/{env_name} first, so the work directory had the umask's mode, 0775 under umask 002 (found by QA)
    if not hasattr(tox.util.path, "ensure_private_dir"):
        pytest.skip("this tox makes its work directory with the umask, for its own runner too")
    (demo.project.path / "tox.ini").write_text(INI.replace("env_location = {env_location}\n", ""))
    old = os.umask(0o002)
    try:
        code, out = demo.run()
    finally:
        os.umask(old)
    assert code == 0, out
    assert (demo.work / "py312" / "pyvenv.cfg").is_file()
    assert stat.S_IMODE(demo.work.stat().st_mode) == 0o700


def test_project_is_not_reinstalled_when_another_package_changes(demo: Demo) -> None:
    _packaged(demo, "wheel")
    assert demo.run()[0] == 0
    project = demo.snapshot()["demo_pkg-0.1.dist-info"]
    demo.versions["beta"] = "2.1"
    demo.lock()
    code, out = demo.run()
    assert code == 0, out
    assert "synced 3 packages: 1 upgraded" in out
    assert demo.snapshot()["demo_pkg-0.1.dist-info"] == project


def test_sync_dry_run_prints_the_plan_and_changes_nothing(demo: Demo) -> None:
    _, out = demo.run("--sync-dry-run")
    assert "py312: SKIP" in out  # tox reports the env as skipped: it was neither set up nor run
    assert "install: alpha 1.0" in out
    assert "install: beta 2.0" in out
    assert "sync dry run: nothing was changed" in out
    assert not demo.venv.exists()
    assert "versions" not in out  # the commands did not run
    assert demo.run()[0] == 0
    snapshot = demo.snapshot()
    demo.versions["beta"] = "2.1"
    demo.lock()
    _, out = demo.run("--sync-dry-run")
    assert "upgrade: beta 2.0 -> 2.1" in out
    assert "keep 1 package\n" in out  # one, not "packages"
    assert demo.snapshot() == snapshot


def test_sync_dry_run_names_the_left_out_project_only_where_a_run_builds_one(demo: Demo) -> None:
    # package = skip builds no project: the SKIP line said "(the project itself is left out)" all the same, which
    # sent a reader looking for a project the plan missed (found by QA following the docs)
    _, out = demo.run("--sync-dry-run")
    assert "py312: skipped because sync dry run: nothing was changed\n" in out, out
    _packaged(demo, "wheel")
    _, out = demo.run("--sync-dry-run")
    assert "py312: skipped because sync dry run: nothing was changed (the project itself is left out)\n" in out, out
    _, out = demo.run("--sync-dry-run", "--skip-pkg-install")
    assert "py312: skipped because sync dry run: nothing was changed\n" in out, out


def test_sync_dry_run_for_a_venv_of_another_python_says_it_would_be_recreated(demo: Demo) -> None:
    # the sync empties a venv of another Python and installs everything again, and so its dry run says
    python311 = shutil.which("python3.11")
    assert python311 is not None, "python3.11 must be on PATH (tests/conftest.py sets PYENV_VERSION)"
    subprocess.run([python311, "-m", "venv", "--without-pip", str(demo.venv)], check=True)
    before = sorted(str(p) for p in demo.venv.rglob("*"))
    _, out = demo.run("--sync-dry-run")
    assert f"recreate: {demo.venv} is a venv of Python 3.11." in out, out
    assert ", base_python is 3.12." in out
    assert "install: alpha 1.0" in out
    assert "install: beta 2.0" in out
    assert "keep 0 packages" in out
    assert sorted(str(p) for p in demo.venv.rglob("*")) == before


@pytest.mark.parametrize("how", ["tox -r", "recreate = true"])
def test_sync_dry_run_with_recreate_plans_a_new_venv(demo: Demo, how: str) -> None:
    # tox -r empties the venv and the sync installs everything again: the dry run said "keep 2 packages"
    assert demo.run()[0] == 0
    if how == "recreate = true":
        ini = demo.project.path / "tox.ini"
        ini.write_text(ini.read_text().replace("runner = venvsync\n", "runner = venvsync\nrecreate = true\n"))
    snapshot = demo.snapshot()
    _, out = demo.run("--sync-dry-run", *(("-r",) if how == "tox -r" else ()))
    assert f"recreate: {demo.venv}: --recreate (or recreate = true) asks for it" in out, out
    assert "install: alpha 1.0" in out
    assert "install: beta 2.0" in out
    assert "keep 0 packages" in out
    assert demo.snapshot() == snapshot


@pytest.mark.parametrize("record", ["tox's own runner", "another interpreter path"])
def test_sync_dry_run_for_a_venv_tox_recreates_by_its_record_says_so(demo: Demo, record: str) -> None:
    # found by QA: a venv of tox's own runner switched to runner = venvsync is removed by tox and made again, yet
    # the dry run (which runs before tox's setup) planned an upgrade in place keeping its pip
    ini = demo.project.path / "tox.ini"
    original = ini.read_text()
    if record == "tox's own runner":
        ini.write_text(original.replace("runner = venvsync\n", f"env_dir = {demo.venv}\n"))
        code, out = demo.run("--notest")  # virtualenv seeds pip; the lock's packages are not installed
        ini.write_text(original)
        why = "tox's record of it names another environment ({'name': 'py312', 'type': 'VirtualEnvRunner'})"
    else:
        code, out = demo.run()
        info = demo.venv / ".tox-info.json"
        recorded = json.loads(info.read_text())
        recorded["Python"]["executable"] = str(demo.venvs / "moved" / "python3.12")  # the base Python's old path
        info.write_text(json.dumps(recorded))
        why = "tox's record of its interpreter differs (executable)"
    assert code == 0, out
    before = tree(demo.venv)
    _, out = demo.run("--sync-dry-run")
    assert f"py312: recreate: {demo.venv}: {why}, so tox makes it again\n" in out, out
    assert "py312: install: alpha 1.0\n" in out
    assert "py312: install: beta 2.0\n" in out
    assert "py312: keep 0 packages\n" in out  # not its pip, nor the packages of a venv tox keeps
    assert tree(demo.venv) == before
    code, out = demo.run()
    assert code == 0, out
    assert "py312: recreate env because " in out  # as the run does it
    assert "synced 2 packages: 2 installed" in out


@pytest.mark.parametrize("case", ["system site-packages", "interpreter missing"])
def test_sync_dry_run_for_a_venv_the_sync_would_recreate_says_why(demo: Demo, python312: Path, case: str) -> None:
    # the venv is emptied and made again (not adopted) in these cases too: its dry run says so, and why
    command = [str(python312), "-m", "venv", "--without-pip", str(demo.venv)]
    subprocess.run([*command, "--system-site-packages"] if case == "system site-packages" else command, check=True)
    python = demo.venv / "bin" / "python"
    if case == "interpreter missing":
        python.unlink()
    before = sorted(str(p) for p in demo.venv.rglob("*"))
    _, out = demo.run("--sync-dry-run")
    why = (
        "it sees the system site-packages (system_site_packages)"
        if case == "system site-packages"
        else f"its interpreter {python} is missing or a link to nothing"
    )
    assert f"recreate: {demo.venv}: {why}" in out, out
    assert "install: alpha 1.0" in out
    assert "keep 0 packages" in out
    assert sorted(str(p) for p in demo.venv.rglob("*")) == before
    code, out = demo.run()
    assert code == 0, out
    assert f"recreate {demo.venv}: {why}" in out  # as the run says it


def test_verbose_output_names_each_package(demo: Demo) -> None:
    code, out = demo.run("-v")
    assert code == 0, out
    assert "install: alpha 1.0" in out
    assert "install: beta 2.0" in out
    _, out = demo.run()
    assert "install: alpha" not in out


def _pip_from(index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip (which installs deps) asks only the test index: no machine config, no cache, no other index.

    tox.pytest sets PIP_TIMEOUT=0.001 and PIP_RETRIES=0 to keep pip off PyPI; give pip a real timeout.
    """
    for name, value in {
        "PIP_TIMEOUT": "60",
        "PIP_RETRIES": "1",
        "PIP_INDEX_URL": index.simple_url,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_CONSTRAINT": "",
    }.items():
        monkeypatch.setenv(name, value)


def test_deps_install_on_top_of_the_lock_stay_while_listed_and_leave_when_removed(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    code, out = demo.run()
    assert code == 0, out
    assert "gamma-0.5.dist-info" in dist_info_names([demo.site])
    gamma = demo.snapshot()["gamma-0.5.dist-info"]

    code, out = demo.run()
    assert (code, "synced" in out) == (0, False), out

    demo.versions["beta"] = "2.1"
    demo.lock()
    code, out = demo.run()
    assert code == 0, out
    # the lock's two packages, as the first sync counted them: what deps added is not counted, also once it is
    # there (it counted gamma from the second sync on, though the line counts the lock's packages); found by QA
    assert "synced 2 packages: 1 upgraded (deps installed by pip on top)" in out
    assert demo.snapshot()["gamma-0.5.dist-info"] == gamma  # kept, not reinstalled

    (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert "1 removed" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.1.dist-info"]


def test_a_dep_added_keeps_the_deps_still_listed_as_toxs_own_runner(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox's pip installer installs deps that were only added on top, and recreates the env when one is gone; here
    # every change of the deps removed what the earlier ones installed, and pip installed the ones kept again
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    make_wheel(demo.index.directory, "delta", "0.7")
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    code, out = demo.run()
    assert code == 0, out
    gamma = demo.snapshot()["gamma-0.5.dist-info"]

    (demo.project.path / "tox.ini").write_text(
        ini.replace("package = skip", "package = skip\ndeps =\n    gamma\n    delta")
    )
    code, out = demo.run()
    assert code == 0, out
    assert "removed" not in out, out
    assert demo.snapshot()["gamma-0.5.dist-info"] == gamma  # kept, not removed and installed again
    assert {"delta-0.7.dist-info", "gamma-0.5.dist-info"} <= set(dist_info_names([demo.site]))

    # one gone: what the deps left installed goes, and pip installs what stays listed
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = delta"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info", "delta-0.7.dist-info"]

    code, out = demo.run()  # and then in sync: nothing to do
    assert (code, "synced" in out) == (0, False), out


def test_deps_under_sync_offline_ask_no_index(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # --sync-offline promises no download; the pip of deps still asked the index (left alone by the packaging pass)
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    assert demo.run()[0] == 0  # the lock's files reach the cache
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    demo.index.requests.clear()
    code, out = demo.run("--sync-offline")
    assert code != 0
    assert "deps (gamma) cannot be installed on top of the lock: " in out, out
    assert "; offline, pip downloads nothing and looks only in its find-links (PIP_FIND_LINKS)" in out
    assert demo.index.requests == []
    links = demo.work.parent / "links"
    make_wheel(links, "gamma", "0.5", requires_dist=["beta>=2"])
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    code, out = demo.run("--sync-offline")
    assert code == 0, out
    assert "gamma-0.5.dist-info" in dist_info_names([demo.site])
    assert demo.index.requests == []


@pytest.mark.parametrize("offline", ["--sync-offline", "TOX_VENVSYNC_OFFLINE"])
def test_sync_offline_lists_the_missing_files_before_the_projects_sdist_is_built(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture, offline: str
) -> None:
    # package = sdist: the runner builds tox's sdist into a wheel, and offline that build failed on its build
    # requirements ("cannot build the project from ...: installing its build requirements failed (...)") where the
    # files the cache lacks were to be listed, as for a project tox builds as a wheel (found by QA)
    _pip_from(demo.index, monkeypatch)  # tox's packaging environment installs buildhelp from the test index
    _packaged(demo, "sdist")
    pyproject = demo.project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requires = []", 'requires = ["buildhelp>=1"]'))
    make_wheel(demo.index.directory, "buildhelp", "1.0")
    built = mocker.spy(Builder, "from_project_sdist")
    args = (offline,) if offline.startswith("--") else ()
    if not args:
        monkeypatch.setenv(offline, "1")
    code, out = demo.run(*args)
    assert code != 0
    found = re.search(
        r"py312: failed with offline and 2 file\(s\) are not in the cache: alpha \(alpha-1\.0-py3-none-any\.whl\), "
        r"beta \(beta-2\.0-py3-none-any\.whl\); run once online \(or fill TOX_VENVSYNC_CACHE_DIR\) first; building "
        r"the project from (\S+) needs its build requirements buildhelp>=1 too, which offline pip takes only from "
        r"PIP_FIND_LINKS: put them there, or leave the project out with package = skip\n",
        out,
    )
    assert found is not None, out
    assert found.group(1).endswith("demo_pkg-0.1.tar.gz")
    assert built.call_count == 0  # refused before the sdist's build started
    assert "cannot build" not in out
    assert not demo.venv.exists() or dist_info_names([demo.site]) == []

    # with the files in the cache (a run online) and buildhelp in the find-links, the offline run works
    monkeypatch.delenv("TOX_VENVSYNC_OFFLINE", raising=False)
    assert demo.run()[0] == 0
    links = demo.work.parent / "links"
    make_wheel(links, "buildhelp", "1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    (demo.project.path / "src" / "demo_pkg.py").write_text("WORD = 'offline'\n")
    code, out = demo.run("--sync-offline")
    assert code == 0, out
    assert "demo_pkg says offline" in out


def test_tox_s_constraints_apply_to_deps_and_a_change_to_them_is_seen(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox's constraints setting was not read: constraints.txt pinning gamma 0.4 left deps' gamma at 0.5 (found by QA)
    _pip_from(demo.index, monkeypatch)
    for version in ("0.4", "0.5"):
        make_wheel(demo.index.directory, "gamma", version, requires_dist=["beta>=2"])
    (demo.project.path / "constraints.txt").write_text("gamma==0.4\n")
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    extra = "package = skip\ndeps = gamma\nconstraints = constraints.txt"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", extra))
    code, out = demo.run()
    assert code == 0, out
    assert "gamma-0.4.dist-info" in dist_info_names([demo.site])
    (demo.project.path / "constraints.txt").write_text("gamma>=0.5\n")  # the file's lines are in the fingerprint
    code, out = demo.run()
    assert code == 0, out
    assert "gamma-0.5.dist-info" in dist_info_names([demo.site])
    code, out = demo.run()
    assert (code, "synced" in out) == (0, False), out
    # without deps the constraints install nothing
    alone = "package = skip\nconstraints = constraints.txt"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", alone))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]


def test_deps_that_conflict_with_the_lock_fail_naming_both(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "delta", "1.0", requires_dist=["beta==9.9"])
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = delta"))
    code, out = demo.run()
    assert code != 0
    # pip's lines were quoted ("delta 1.0 depends on beta==9.9; The user requested (constraint) beta==2.0 (the
    # constraint is the locked version)"), naming neither the lockfile nor the key to change (found by QA)
    lock = demo.project.path / "pylock.toml"
    assert (
        f"py312: failed with deps (delta) bring delta 1.0, which needs beta==9.9, and the lock {lock} pins beta 2.0; "
        "change deps to accept beta 2.0, or lock beta at the version they need\n"
    ) in out, out
    assert "Traceback" not in out
    # a pin of a locked package: pip names the user's side too
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = beta==1.0"))
    code, out = demo.run()
    assert code != 0
    assert (
        f"py312: failed with deps (beta==1.0) ask for beta==1.0, and the lock {lock} pins beta 2.0; change deps to "
        "accept beta 2.0, or lock beta at the version they need\n"
    ) in out, out
    # deps that conflict among themselves, not with the lock: pip's words, as they were
    for version in ("0.4", "0.5"):
        make_wheel(demo.index.directory, "gamma", version)
    both = "package = skip\ndeps = gamma==0.4\n  gamma==0.5"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", both))
    code, out = demo.run()
    assert code != 0
    assert (
        "py312: failed with deps (gamma==0.4 gamma==0.5) cannot be installed on top of the lock: The user requested "
        "gamma==0.4; The user requested gamma==0.5\n"
    ) in out, out


def test_deps_that_pip_cannot_install_show_pips_output_at_v(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # the sentence keeps pip's last line; the rest (which versions it saw, a build's error) was shown at no
    # verbosity, where tox's own runner prints a failed pip install's output (found by QA)
    _pip_from(demo.index, monkeypatch)
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    code, out = demo.run()
    assert code != 0
    assert "py312: failed with deps (gamma) cannot be installed on top of the lock: " in out, out
    assert "Could not find a version that satisfies the requirement gamma" not in out, out
    code, out = demo.run("-v")
    assert code != 0
    printed = out.partition("py312: the output of the step that failed:\n")[2].partition("py312: failed with")[0]
    assert "Could not find a version that satisfies the requirement gamma" in printed, out


def test_deps_install_with_virtualenv_s_pip_where_tox_has_none(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # uv tool install tox and pipx install tox make an environment without pip: deps stopped with "deps needs pip
    # in the environment tox runs in" there (found by QA); the pip virtualenv bundles for the venv's Python runs now
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    find_spec = importlib.machinery.PathFinder.find_spec

    def no_pip(name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> ModuleSpec | None:
        return None if name == "pip" else find_spec(name, path, target)

    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", staticmethod(no_pip))
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    code, out = demo.run()
    assert code == 0, out
    assert "(deps installed by pip on top)" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info", "gamma-0.5.dist-info"]


def test_deps_install_with_virtualenv_s_pip_where_tox_s_pip_has_no_python_option(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    # a pip before 22.3 has no --python (Ubuntu 22.04's is 22.0.2, under a tox installed with pip install --user):
    # deps stopped with "cannot be installed on top of the lock: no such option: --python", found by the
    # whole-codebase health review; the pip virtualenv bundles for the venv's Python runs, as where tox has no pip
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5", requires_dist=["beta>=2"])
    version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "22.2.2" if name == "pip" else version(name))
    ran = mocker.spy(subprocess, "run")
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\ndeps = gamma"))
    code, out = demo.run()
    assert code == 0, out
    pips = [call.args[0] for call in ran.call_args_list if "install" in call.args[0]]
    assert len(pips) == 1
    assert pips[0][0] == str(demo.venv / "bin" / "python")  # the venv's interpreter runs the bundled pip
    assert "--python" not in pips[0]
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info", "gamma-0.5.dist-info"]


def test_list_dependencies_reads_the_venv_as_on_ci(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")  # tox lists what is installed on CI by default; the venv has no pip
    code, out = demo.run()
    assert code == 0, out
    assert "alpha==1.0,beta==2.0" in out


@pytest.mark.parametrize("package", ["skip", "wheel"])
def test_read_only_project_gets_no_files(demo: Demo, package: str) -> None:
    if package == "wheel":
        _packaged(demo, "wheel")
    before = tree(demo.project.path)
    modes = {p: p.stat().st_mode for p in [demo.project.path, *demo.project.path.rglob("*")]}
    for path in modes:
        path.chmod(path.stat().st_mode & ~0o222)  # chmod -R a-w (root could still write: the snapshot is the test)
    try:
        code, out = demo.run()
        assert code == 0, out
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    # the test runs as root, for whom a-w stops nothing: Python itself caches the in-tree build backend's
    # bytecode next to it (on a really read-only tree it skips that); nothing else may appear or change
    after = {k: v for k, v in tree(demo.project.path).items() if "__pycache__" not in k}
    assert {k: v for k, v in after.items() if k != "_build"} == {k: v for k, v in before.items() if k != "_build"}
    assert after.keys() == before.keys()


def test_sync_dry_run_keeps_the_installed_project(demo: Demo) -> None:
    _packaged(demo, "wheel")
    assert demo.run()[0] == 0
    _, out = demo.run("--sync-dry-run")
    assert "demo_pkg" not in out  # tox builds the project only in a real run; the dry run leaves it alone
    assert "keep 3 packages" in out


def test_exact_false_keeps_packages_the_lock_does_not_name(demo: Demo) -> None:
    assert demo.run()[0] == 0
    demo.versions.pop("beta")
    demo.lock()
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    ini = ini.split("commands =")[0] + "commands = python -c 'import alpha'\n"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", "package = skip\nexact = false"))
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    (demo.project.path / "tox.ini").write_text(ini)
    code, out = demo.run()
    assert code == 0, out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info"]


def test_parallel_envs_share_the_cache(demo: Demo) -> None:
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}")).replace(
        "env_list = py312", "env_list = a, b, c"
    )
    ini += "".join(f"[testenv:{name}]\nbase_python = python3.12\n" for name in "abc")
    (demo.project.path / "tox.ini").write_text(ini)
    result = demo.project.run("p", "-p", "3", "--workdir", str(demo.work))
    result.assert_success()
    for name in "abc":
        site = demo.venvs / name / SITE
        assert dist_info_names([site]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    downloads = [r for r in demo.index.requests if r.startswith("/files/")]
    assert len(downloads) <= 2 * 3  # each wheel at most once per env, usually once in all
    cache = Path(os.environ["TOX_VENVSYNC_CACHE_DIR"])
    assert sorted(p.name for p in (cache / "artifacts").rglob("*.whl")) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0-py3-none-any.whl",
    ]


def test_parallel_envs_that_all_fail_leave_no_directory_the_run_made(demo: Demo, mocker: MockerFixture) -> None:
    # both venvs go under new/deeper/, which env a makes, so env b makes only its own directory; a is undone first,
    # while b's venv is still there, and b, undone last, finds new/deeper/ empty: made by the run, so removed too
    # (the order is forced: left to the threads, b often makes new/ as well and removes it on its own)
    a_made, b_made, a_undone = threading.Event(), threading.Event(), threading.Event()

    def missing_after_a(path: Path) -> Path | None:
        if path.name == "b":
            assert a_made.wait(20)
        return missing_from(path)

    def create_then_tell(path: Path) -> None:
        create_dir(path)
        (a_made if path.name == "a" else b_made).set()

    def undo_in_order(venv: Path, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401  # undo_creation's own
        assert (b_made if venv.name == "a" else a_undone).wait(20)
        undo_creation(venv, *args, **kwargs)
        if venv.name == "a":
            a_undone.set()

    mocker.patch("tox_venvsync._runner.missing_from", missing_after_a)
    mocker.patch("tox_venvsync._runner.create_dir", create_then_tell)
    mocker.patch("tox_venvsync._runner.undo_creation", undo_in_order)
    (demo.venvs / "keep").mkdir(parents=True)
    ini = INI.replace("{env_location}", str(demo.venvs / "new" / "deeper" / "{env_name}")).replace(
        "env_list = py312", "env_list = a, b"
    )
    ini += "".join(f"[testenv:{name}]\nbase_python = python3.12\n" for name in "ab")
    (demo.project.path / "tox.ini").write_text(ini)
    (demo.project.path / "pylock.toml").write_text("lock-version = [\n")  # not TOML: both fail after creating
    result = demo.project.run("p", "-p", "2", "--workdir", str(demo.work))
    assert result.code != 0
    assert result.out.count("is not valid TOML") == 2, result.out
    assert a_undone.is_set()
    assert sorted(p.name for p in demo.venvs.iterdir()) == ["keep"]  # made by the run: gone; there before: kept


def test_a_lock_that_does_not_satisfy_the_project_is_stale(demo: Demo) -> None:
    _packaged(demo, "wheel")
    (demo.project.path / "requires.txt").write_text("alpha>=1.0\nbeta>=2\n")
    code, out = demo.run()
    assert code == 0, out
    (demo.project.path / "requires.txt").write_text("alpha>=1.5\n")
    code, out = demo.run()
    assert code != 0
    assert (
        "the lock is stale: the project needs alpha>=1.5 but the lock has alpha 1.0; refresh it "
        "(write it again: uv export --format pylock.toml, pdm export -f pylock or pip lock)"
    ) in out
    # a lock that names its writer gets that tool's command, as the tutorial's pip lock (found by QA)
    lock = demo.project.path / "pylock.toml"
    lock.write_text(lock.read_text().replace('created-by = "tests"', 'created-by = "pip"'))
    code, out = demo.run()
    assert code != 0
    assert "the project needs alpha>=1.5 but the lock has alpha 1.0; refresh it (pip lock)" in out
    (demo.project.path / "requires.txt").write_text("gamma\n")
    code, out = demo.run()
    assert "the lock is stale: the project needs gamma but the lock does not have it" in out

    # uv sync --frozen (tox-uv passes it for UV_FROZEN): the lock is installed as it is, the check left out
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_FROZEN", "1")
        code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says" in out
    code, out = demo.run()  # without it the check is made again: one frozen run does not silence it for good
    assert code != 0
    assert "the lock is stale: the project needs gamma but the lock does not have it" in out
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("runner = venvsync\n", "runner = venvsync\nuv_sync_flags = --frozen\n"))
    code, out = demo.run()
    assert code == 0, out


def test_a_requirement_the_backend_adds_to_editable_wheels_is_not_called_a_stale_lock(demo: Demo) -> None:
    # hatchling's dev-mode-exact makes the editable wheel need editables, which the project's dependencies do not
    # name: "the lock is stale ...; refresh it (uv lock)" sent the user to relock, which changed nothing (found by QA)
    _packaged(demo, "editable")
    backend = demo.project.path / "_build" / "backend.py"
    line = '    requires = open("requires.txt").read().split() if os.path.exists("requires.txt") else []\n'
    added = line + '    requires += ["editables~=0.3"] if "demo_pkg.pth" in files else []\n'
    backend.write_text(backend.read_text().replace(line, added))
    pyproject = demo.project.path / "pyproject.toml"
    code, out = demo.run()
    assert code != 0
    assert (
        f"py312: failed with {demo.project.path / 'pylock.toml'}: the project's editable wheel needs editables~=0.3, "
        f"which its build backend adds to editable installs (the dependencies in {pyproject} do not name it), and the "
        "lock does not have it; name it in a dependency group this environment selects and lock again (write it "
        "again: uv export --format pylock.toml, pdm export -f pylock or pip lock), or set package = wheel"
    ) in out
    assert not demo.venv.exists()
    # a project that declares it itself (or whose dependencies are dynamic): the lock is stale, as before
    pyproject.write_text(pyproject.read_text() + 'dependencies = ["editables~=0.3"]\n')
    code, out = demo.run()
    assert code != 0
    assert "the lock is stale: the project needs editables~=0.3 but the lock does not have it" in out
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("package = editable", "package = wheel"))
    code, out = demo.run()  # its wheel needs nothing the lock lacks
    assert code == 0, out


def test_a_project_whose_requires_python_excludes_the_interpreter_is_not_a_stale_lock(demo: Demo) -> None:
    # a requirements file exported for a project of requires-python >=3.10 lacks importlib-metadata; python_version
    # < "3.10": on Python 3.9 the project is what does not fit, and re-locking would not help
    _packaged(demo, "wheel")
    (demo.project.path / "requires.txt").write_text('alpha>=1.0\ngamma;python_version<"3.99"\n')
    (demo.project.path / "requires-python.txt").write_text(">=3.99")
    code, out = demo.run()
    assert code != 0
    assert "the lock is stale" not in out, out
    python = demo.venvs / "py312" / "bin" / "python"
    said = re.escape(
        f"py312: failed with the project demo-pkg requires Python >=3.99 (its Requires-Python) and the interpreter "
        f"{python} is Python 3.12."
    )
    assert re.search(said + r"\d+; use a Python the project supports for this environment\n", out), out
    assert "Traceback" not in out
    assert not (demo.venvs / "py312").exists()  # made by the run, undone
    # uv sync --frozen leaves out the check of the lock, not the project's own Requires-Python: the sentence was the
    # one for a lock's package, "pin a release that supports it (the lock was made for another Python)" (found by QA)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_FROZEN", "1")
        code, out = demo.run()
    assert code != 0
    assert re.search(said + r"\d+; use a Python the project supports for this environment\n", out), out


def test_a_project_whose_build_makes_a_broken_wheel_is_told_to_check_its_build(demo: Demo) -> None:
    # found by QA: "cannot install demo-pkg from demo_pkg-0.1-py3-none-any.whl: its RECORD does not read (...)", with
    # no word of what to do: the wheel is the project's own build, not a file of the lock's to lock again
    _packaged(demo, "wheel")
    (demo.project.path / "record.txt").write_text("garbage\n")
    code, out = demo.run()
    assert code != 0
    assert (
        "py312: failed with cannot install demo-pkg from demo_pkg-0.1-py3-none-any.whl: its RECORD does not read (Row "
        "Index 0: expected 3 elements, got 1); it is the project's own wheel: check the project's build backend and "
        "its configuration (or the build that made the wheel given to tox)\n"
    ) in out, out
    assert "Traceback" not in out
    assert not (demo.venvs / "py312").exists()  # made by the run, undone


def test_only_groups_with_a_package_installs_it_without_asking_its_dependencies(demo: Demo) -> None:
    # an explicit package with only_groups (a [testenv] package = wheel inherited by a lint env): no stale lock
    _packaged(demo, "wheel")
    (demo.project.path / "requires.txt").write_text("gamma\n")  # the lock has no gamma; the group is asked alone
    lock = demo.project.path / "pylock.toml"
    lock.unlink()
    root = demo.project.path
    uv = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n' + _uv_wheel(demo, "alpha", "1.0")
    uv += '[[package]]\nname = "demo-pkg"\nversion = "0.1"\nsource = { editable = "." }\n'
    uv += 'dependencies = [{ name = "beta" }]\n\n[package.dev-dependencies]\nlint = [{ name = "alpha" }]\n\n'
    uv += _uv_wheel(demo, "beta", "2.0")
    (root / "uv.lock").write_text(uv)
    ini = (root / "tox.ini").read_text().replace("runner = venvsync\n", "runner = venvsync\nonly_groups = lint\n")
    (root / "tox.ini").write_text(ini.replace("import alpha, beta;", "import alpha;").replace(", beta.__version__", ""))
    code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says" in out
    assert dist_info_names([demo.site]) == ["alpha-1.0.dist-info", "demo_pkg-0.1.dist-info"]  # not beta


def test_commands_see_uv_project_environment_and_uv_variables_as_with_tox_uv(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uv run in a command uses the env (tox-uv's lock runner sets UV_PROJECT_ENVIRONMENT); UV_* are passed
    ini = demo.project.path / "tox.ini"
    command = "import os; print('uv:', os.environ['UV_PROJECT_ENVIRONMENT'], os.environ.get('UV_INDEX_STRATEGY'))"
    ini.write_text(ini.read_text().replace("    alpha-cli\n", f'    python -c "{command}"\n'))
    monkeypatch.setenv("UV_INDEX_STRATEGY", "unsafe-best-match")
    code, out = demo.run()
    assert code == 0, out
    assert f"uv: {demo.venv} unsafe-best-match" in out


def test_a_read_only_file_system_fails_the_env_in_one_sentence(demo: Demo, mocker: MockerFixture) -> None:
    # a venv in a read-only layer (a container image) whose lock changed: tox's failure, no traceback
    state = demo.venv / ".venvsync" / "state.json"
    mocker.patch("tox_venvsync._state.write_atomic", side_effect=OSError(errno.EROFS, "Read-only file system", state))
    code, out = demo.run()
    assert code != 0
    assert (
        f"py312: failed with Read-only file system at {state}; the file system is read-only: make it writable, "
        "or put the venv and the cache on one that is"
    ) in out
    assert "Traceback" not in out


def test_a_cache_directory_that_cannot_be_used_fails_naming_it(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "not-a-directory"
    cache.write_text("a file where the cache should be\n")
    monkeypatch.setenv("TOX_VENVSYNC_CACHE_DIR", str(cache))
    code, out = demo.run()
    assert code != 0
    assert f"py312: failed with the cache {cache} cannot be used (Not a directory at {cache}/" in out
    assert "); set TOX_VENVSYNC_CACHE_DIR to a directory you can write" in out
    assert "Traceback" not in out


def test_a_project_installed_earlier_stays_with_package_skip_or_skip_pkg_install(demo: Demo) -> None:
    _packaged(demo, "wheel")
    assert demo.run()[0] == 0
    installed = demo.snapshot()["demo_pkg-0.1.dist-info"]
    code, out = demo.run("--skip-pkg-install")  # "use what is installed"
    assert code == 0, out
    assert "demo_pkg says first" in out
    ini = (demo.project.path / "tox.ini").read_text()
    (demo.project.path / "tox.ini").write_text(ini.replace("package = wheel", "package = skip"))
    code, out = demo.run()
    assert code == 0, out
    assert "demo_pkg says first" in out  # not removed: recreate (tox -r) to drop it
    assert demo.snapshot()["demo_pkg-0.1.dist-info"] == installed
    _, out = demo.run("--sync-dry-run")
    assert "remove:" not in out


@pytest.mark.parametrize(
    ("command", "said"),
    [
        pytest.param(
            ("r", "--skip-env-install"),
            ["skip installing dependencies and package", "skip building and installing the package"],
            id="skip-env-install",
        ),
        pytest.param(("r", "--skip-pkg-install"), ["skip building and installing the package"], id="skip-pkg-install"),
        pytest.param(
            ("exec", "--", "python", "-c", "import demo_pkg"), ["skip building and installing the package"], id="exec"
        ),
    ],
)
def test_a_skipped_install_is_said_once_as_toxs_own_runner_says_it(
    demo: Demo, command: tuple[str, ...], said: list[str]
) -> None:
    # tox said "skip installing dependencies and package" for --skip-env-install, and the runner said it again; the
    # project left as installed before (--skip-pkg-install, tox exec) went unsaid, as if it had been built (found by QA)
    _packaged(demo, "wheel")
    assert demo.run()[0] == 0
    result = demo.project.run(command[0], "-e", "py312", "--workdir", str(demo.work), *command[1:])
    assert result.code == 0, result.out
    assert [line.removeprefix("py312: ") for line in result.out.splitlines() if "skip " in line] == said


def test_devenv_makes_the_venv_at_its_path_not_at_env_location(demo: Demo, tmp_path: Path) -> None:
    # tox devenv sets env_dir, which wins over env_location; the location guard still checks that path
    _packaged(demo, "wheel")
    kept = tmp_path / "not-a-venv"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine\n")
    result = demo.project.run("devenv", "-e", "py312", "--workdir", str(demo.work), str(kept))
    assert result.code != 0, result.out
    assert f"refusing to use {kept} as a virtual environment" in result.out
    assert "for env_dir" in result.out  # the key devenv set, not env_location
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]

    dev = tmp_path / "dev"
    result = demo.project.run("devenv", "-e", "py312", "--workdir", str(demo.work), str(dev))
    assert result.code == 0, result.out
    assert dist_info_names([dev / SITE]) == ["alpha-1.0.dist-info", "beta-2.0.dist-info", "demo_pkg-0.1.dist-info"]
    direct = json.loads((dev / SITE / "demo_pkg-0.1.dist-info" / "direct_url.json").read_text())
    assert direct["dir_info"] == {"editable": True}  # devenv's usedevelop
    assert not demo.venvs.exists()


def test_a_project_named_outside_pyproject_toml_stays_with_package_skip_or_skip_pkg_install(demo: Demo) -> None:
    # its name in setup.cfg, setup.py or Poetry 1's [tool.poetry], not [project]: the run that did not build it
    # removed it as a package the lock does not name, and the commands failed on importing it
    _packaged(demo, "wheel")
    pyproject = demo.project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[project]")[0])
    assert demo.run()[0] == 0
    installed = demo.snapshot()["demo_pkg-0.1.dist-info"]
    for args, package in ((("--skip-pkg-install",), "wheel"), ((), "deps-only"), ((), "skip")):
        lock = demo.project.path / "pylock.toml"
        lock.write_text(lock.read_text() + f"# {package}\n")  # a change: the sync compares the venv with the lock
        ini = (demo.project.path / "tox.ini").read_text()
        (demo.project.path / "tox.ini").write_text(re.sub(r"package = \S+", f"package = {package}", ini))
        code, out = demo.run(*args)
        assert code == 0, out
        assert "demo_pkg says first" in out
        assert "remove:" not in out
        assert demo.snapshot()["demo_pkg-0.1.dist-info"] == installed


def test_deps_files_are_found_from_tox_ini_as_with_tox_s_own_runner(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the lock in a directory of its own; deps = -r names a file beside tox.ini
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5")
    (demo.project.path / "locks").mkdir()
    (demo.project.path / "pylock.toml").rename(demo.project.path / "locks" / "pylock.toml")
    (demo.project.path / "requirements-dev.txt").write_text("gamma\n")
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    extra = "package = skip\nlock_file = locks/pylock.toml\ndeps = -r requirements-dev.txt"
    (demo.project.path / "tox.ini").write_text(ini.replace("package = skip", extra))
    code, out = demo.run()
    assert code == 0, out
    assert "gamma-0.5.dist-info" in dist_info_names([demo.site])


def test_an_edit_of_a_file_deps_name_is_a_change_of_the_deps(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # tox's own runner runs pip again when a -r file of deps changes; the same deps line with new contents is new deps
    _pip_from(demo.index, monkeypatch)
    make_wheel(demo.index.directory, "gamma", "0.5")
    make_wheel(demo.index.directory, "delta", "1.0")
    (demo.project.path / "requirements-dev.txt").write_text("gamma\n")
    ini = INI.replace("{env_location}", str(demo.venvs / "{env_name}"))
    (demo.project.path / "tox.ini").write_text(
        ini.replace("package = skip", "package = skip\ndeps = -r requirements-dev.txt")
    )
    code, out = demo.run()
    assert code == 0, out
    assert "gamma-0.5.dist-info" in dist_info_names([demo.site])
    (demo.project.path / "requirements-dev.txt").write_text("delta\n")
    code, out = demo.run()
    assert code == 0, out
    assert "deps installed by pip on top" in out
    names = dist_info_names([demo.site])
    assert "delta-1.0.dist-info" in names
    assert "gamma-0.5.dist-info" not in names  # what the old contents installed leaves, as for a changed deps line
    code, out = demo.run()
    assert (code, "synced" in out) == (0, False), out


def test_the_default_location_works_after_a_run_moved_elsewhere(demo: Demo, tmp_path: Path) -> None:
    # the moved run leaves tox's log and tmp in {work_dir}/py312, and its .tox-info.json in the venv it moved
    (demo.project.path / "tox.ini").write_text(INI.replace("env_location = {env_location}\n", ""))
    code, out = demo.run("--env-location", str(tmp_path / "moved" / "{env_name}"))
    assert code == 0, out
    assert (demo.work / "py312").is_dir()
    assert not (demo.work / "py312" / ".tox-info.json").exists()
    code, out = demo.run()
    assert code == 0, out
    assert (demo.work / "py312" / "pyvenv.cfg").is_file()


#: a plugin beside tox-venvsync that records the installs tox announces (tox-extra checks bindep.txt there)
ON_INSTALL_PLUGIN = """
from tox.plugin import impl

@impl
def tox_on_install(tox_env, arguments, section, of_type):
    if tox_env.name == "py312":
        with open("heard.txt", "a") as handle:
            handle.write(f"{section} {of_type} {type(arguments).__name__}\\n")
"""


@pytest.mark.plugin_test
def test_plugins_hear_of_the_install_as_from_tox_own_runner(demo: Demo) -> None:
    # tox_on_install fires where tox's runner fires it: deps before the sync, the built project once built; the sync
    # installed without tox's installer and the hook never fired, so tox-extra's bindep check passed these envs over
    write_project(demo.project.path, "app", "0.1", {"app/__init__.py": "OK = 1\n"})
    ini = demo.project.path / "tox.ini"
    ini.write_text(ini.read_text().replace("package = skip\n", "package = wheel\ndeps =\n"))
    (demo.project.path / "toxfile.py").write_text(ON_INSTALL_PLUGIN)
    code, out = demo.run()
    assert code == 0, out
    heard = demo.project.path / "heard.txt"
    assert heard.read_text().splitlines() == ["PythonRun deps PythonDeps", "RunToxEnv package list"]
    heard.unlink()
    code, out = demo.run("--skip-env-install")  # tox's: nothing is installed, nothing announced
    assert code == 0, out
    assert not heard.exists()


#: tox-uv's option, added as tox-uv adds it (to ``tox run`` and ``tox exec``)
SKIP_UV_SYNC_PLUGIN = """
from tox.plugin import impl

@impl
def tox_add_option(parser):
    for key in ("run", "exec"):
        parser.handlers[key][0].add_argument("--skip-uv-sync", dest="skip_uv_sync", action="store_true")
"""


@pytest.mark.plugin_test
def test_tox_uv_skip_uv_sync_uses_the_venv_as_it_is(demo: Demo) -> None:
    # tox run --skip-uv-sync over tox-uv's lock runner and ours: the venvsync environment synced all the same
    (demo.project.path / "toxfile.py").write_text(ON_INSTALL_PLUGIN + SKIP_UV_SYNC_PLUGIN)
    code, out = demo.run()
    assert code == 0, out
    heard = demo.project.path / "heard.txt"
    heard.unlink()
    demo.versions["beta"] = "2.1"
    demo.lock()
    code, out = demo.run("--skip-uv-sync")
    assert code == 0, out
    assert "skip installing dependencies and package" in out
    assert "versions 1.0 2.0" in out  # the lock moved on; the venv is used as it is
    assert not heard.exists()  # nothing installed, nothing announced to plugins


def test_a_venv_tox_recorded_whose_interpreter_links_to_another_python_now_is_recreated(demo: Demo) -> None:
    # a venv restored from a CI cache onto a newer image, where the python3 its bin/python links to is another
    # Python: tox's record and pyvenv.cfg still matched base_python, so it was found in sync and its commands ran a
    # Python that sees none of its packages
    python313 = installed_python("3.13")  # the binary: a pyenv shim linked as bin/python runs the version named python
    assert python313 is not None
    assert demo.run()[0] == 0
    python = demo.venv / "bin" / "python"
    python.unlink()
    python.symlink_to(python313)
    code, out = demo.run()
    assert code == 0, out
    assert f"recreate env because its interpreter {python} runs Python 3.13.0" in out
    assert "versions 1.0 2.0" in out
    assert Path(os.path.realpath(python)).name == "python3.12"
