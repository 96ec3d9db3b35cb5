"""Record what the real uv installs from each test uv.lock: run by hand, once; the tests only read the JSON it writes.

    PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13 python tests/data/expected/uv/regenerate.py /tmp/uvtool/bin/uv [LOCK...]

1. Copies the real locks of ``/work/shared/lockfiles`` (``<owner>__<repo>__uv.lock`` and its ``pyproject.toml``)
   to ``tests/data/lockfiles/uv/<owner>__<repo>/``.
2. Builds the synthetic projects (``synthetic__*``: wheels made on the spot, served as a flat local index) and
   locks them with ``uv lock --offline``.
3. For every case below and Python 3.10, 3.12 and 3.13, runs ``uv sync --frozen --dry-run`` in a scratch copy
   of the project directory (of a workspace member's, for the ``member-*`` cases: the request's ``project``)
   and writes ``<lock>--py<X.Y>--<case>.json``: the ``name==version`` lines uv would
   install under ``packages``, the ``name @ url`` lines (the project, workspace members, git and path sources)
   under ``direct``, with the scratch directory written as ``{project}``; or uv's ``error``. The project and
   the members are included, as uv lists them.

uv needs the directories of editable workspace members to exist; the real locks come without them, so empty
directories are made in the scratch copy (nothing is written into them, and the lock is not changed).

Given lock names (``synthetic__members``), only those are made again and recorded; the other files stay.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from _support.wheels import make_wheel

HERE = Path(__file__).resolve().parent
LOCKS = HERE.parents[1] / "lockfiles" / "uv"
SHARED = Path("/work/shared/lockfiles")
PYTHONS = ("3.10", "3.12", "3.13")
_LINE = re.compile(r"^ \+ (?P<name>\S+)(?:==(?P<version>\S+)| @ (?P<url>\S+))$")

#: lock -> case -> (uv flags, the Request the tests make of them)
CASES: dict[str, dict[str, tuple[list[str], dict[str, object]]]] = {
    "pallets__flask": {
        "default": ([], {}),
        "all-extras": (["--all-extras"], {"extras": ["async", "dotenv"]}),
        "no-default-groups": (["--no-default-groups"], {"default_groups": False}),
        "group-docs": (["--group", "docs"], {"groups": ["docs"]}),
        "only-docs-auto": (
            ["--no-default-groups", "--group", "docs-auto"],
            {"groups": ["docs-auto"], "default_groups": False},
        ),        "all-groups": (["--all-groups"], {"all_groups": True}),
        "all-extras-flag": (["--all-extras"], {"all_extras": True}),
        "no-dev": (["--no-dev"], {"no_groups": ["dev"]}),
    },
    "Comfy-Org__comfy-cli": {
        "default": ([], {}),
        "all-extras": (["--all-extras"], {"extras": ["dev", "preview"]}),
        "extra-preview": (["--extra", "preview"], {"extras": ["preview"]}),
    },
    "modelcontextprotocol__python-sdk": {
        "default": ([], {}),
        "all-extras": (["--all-extras"], {"extras": ["cli", "rich"]}),
        "no-default-groups": (["--no-default-groups"], {"default_groups": False}),
        "extra-rich-group-codegen": (
            ["--extra", "rich", "--group", "codegen"],
            {"extras": ["rich"], "groups": ["codegen"]},
        ),        "all-packages": (["--all-packages"], {"all_packages": True}),
        "all-packages-all-groups": (["--all-packages", "--all-groups"], {"all_packages": True, "all_groups": True}),
    },
    "Buried-In-Code__Perdoo": {
        "default": ([], {}),
        "all-extras": (["--all-extras"], {"extras": ["cb7"]}),
        "no-default-groups": (["--no-default-groups"], {"default_groups": False}),
        "group-tests": (["--group", "tests"], {"groups": ["tests"]}),
    },
    "synthetic__conflicts": {
        "default": ([], {}),
        "extra-x1": (["--extra", "x1"], {"extras": ["x1"]}),
        "extra-x2": (["--extra", "x2"], {"extras": ["x2"]}),
        "group-g2": (["--no-default-groups", "--group", "g2"], {"groups": ["g2"], "default_groups": False}),
        "extra-x1-group-g2": (["--extra", "x1", "--group", "g2"], {"extras": ["x1"], "groups": ["g2"]}),
        "extra-x2-group-g2": (["--extra", "x2", "--group", "g2"], {"extras": ["x2"], "groups": ["g2"]}),
    },
    "synthetic__package_conflicts": {
        "default": ([], {}),
    },
    "synthetic__members": {
        "default": ([], {}),
        "member-one": ([], {"project": "libs/one"}),
        "member-one-no-default-groups": (["--no-default-groups"], {"project": "libs/one", "default_groups": False}),
        "member-one-extra-x-group-dev": (
            ["--extra", "x", "--group", "dev"],
            {"project": "libs/one", "extras": ["x"], "groups": ["dev"]},
        ),
        "member-two": ([], {"project": "libs/two"}),
        "member-two-no-default-groups": (["--no-default-groups"], {"project": "libs/two", "default_groups": False}),
        "member-three": ([], {"project": "libs/three"}),
        "only-dev": (["--only-group", "dev"], {"groups": ["dev"], "default_groups": False, "only_groups": True}),
        "member-one-only-test": (
            ["--only-group", "test"],
            {"project": "libs/one", "groups": ["test"], "default_groups": False, "only_groups": True},
        ),
        "member-three-only-g": (
            ["--only-group", "g"],
            {"project": "libs/three", "groups": ["g"], "default_groups": False, "only_groups": True},
        ),
        "all-packages": (["--all-packages"], {"all_packages": True}),
        "all-packages-no-default-groups": (
            ["--all-packages", "--no-default-groups"],
            {"all_packages": True, "default_groups": False},
        ),
        "all-packages-group-test": (["--all-packages", "--group", "test"], {"all_packages": True, "groups": ["test"]}),
        "all-packages-all-groups": (["--all-packages", "--all-groups"], {"all_packages": True, "all_groups": True}),
        "all-packages-all-extras": (["--all-packages", "--all-extras"], {"all_packages": True, "all_extras": True}),
        "all-packages-only-test": (
            ["--all-packages", "--only-group", "test"],
            {"all_packages": True, "groups": ["test"], "default_groups": False, "only_groups": True},
        ),
        "package-lib-one": (["--package", "lib-one"], {"packages": ["lib-one"]}),
        "package-lib-three": (["--package", "lib-three"], {"packages": ["lib-three"]}),
        "package-app": (["--package", "app"], {"packages": ["app"]}),
        "package-lib-one-lib-two": (
            ["--package", "lib-one", "--package", "lib-two"],
            {"packages": ["lib-one", "lib-two"]},
        ),
        "member-two-package-lib-one": (["--package", "lib-one"], {"project": "libs/two", "packages": ["lib-one"]}),
        "member-one-package-lib-one-lib-two": (
            ["--package", "lib-one", "--package", "lib-two"],
            {"project": "libs/one", "packages": ["lib-one", "lib-two"]},
        ),
        "member-one-all-packages": (["--all-packages"], {"project": "libs/one", "all_packages": True}),
        # the workspace root's groups, seen from a member (lib-three has only g; the root app has dev)
        "member-three-group-dev": (["--group", "dev"], {"project": "libs/three", "groups": ["dev"]}),
        "member-three-all-groups": (["--all-groups"], {"project": "libs/three", "all_groups": True}),
        "member-two-group-dev": (["--group", "dev"], {"project": "libs/two", "groups": ["dev"]}),
        "member-three-no-dev": (["--no-dev"], {"project": "libs/three", "no_dev": True}),
        "member-three-only-dev": (["--only-dev"], {"project": "libs/three", "only_dev": True}),
        "member-one-no-dev": (["--no-dev"], {"project": "libs/one", "no_dev": True}),
        "package-lib-one-no-group-test": (
            ["--package", "lib-one", "--no-group", "test"],
            {"packages": ["lib-one"], "no_groups": ["test"]},
        ),
        "all-groups": (["--all-groups"], {"all_groups": True}),
        "all-extras": (["--all-extras"], {"all_extras": True}),
        "member-one-all-extras": (["--all-extras"], {"project": "libs/one", "all_extras": True}),
        "member-one-all-groups": (["--all-groups"], {"project": "libs/one", "all_groups": True}),
        "member-one-all-groups-no-group-dev": (
            ["--all-groups", "--no-group", "dev"],
            {"project": "libs/one", "all_groups": True, "no_groups": ["dev"]},
        ),
        "member-one-group-dev-no-group-dev": (
            ["--group", "dev", "--no-group", "dev"],
            {"project": "libs/one", "groups": ["dev"], "no_groups": ["dev"]},
        ),
        "no-dev": (["--no-dev"], {"no_groups": ["dev"]}),
        "member-one-only-dev": (
            ["--only-dev"],
            {"project": "libs/one", "groups": ["dev"], "default_groups": False, "only_groups": True},
        ),
        # several --package: the groups are the named members' (the project the sync runs at is not one of them)
        "package-lib-one-lib-three-all-groups": (
            ["--package", "lib-one", "--package", "lib-three", "--all-groups"],
            {"packages": ["lib-one", "lib-three"], "all_groups": True},
        ),
        "member-one-package-lib-two-lib-three": (
            ["--package", "lib-two", "--package", "lib-three"],
            {"project": "libs/one", "packages": ["lib-two", "lib-three"]},
        ),
        "member-one-package-lib-two-lib-three-group-test": (
            ["--package", "lib-two", "--package", "lib-three", "--group", "test"],
            {"project": "libs/one", "packages": ["lib-two", "lib-three"], "groups": ["test"]},
        ),
        "member-two-package-lib-one-lib-three-group-dev": (
            ["--package", "lib-one", "--package", "lib-three", "--group", "dev"],
            {"project": "libs/two", "packages": ["lib-one", "lib-three"], "groups": ["dev"]},
        ),
    },
    "synthetic__workspace": {
        "default": ([], {}),
        "no-default-groups": (["--no-default-groups"], {"default_groups": False}),
        "group-lint": (["--group", "lint"], {"groups": ["lint"]}),
        "all-extras": (["--all-extras"], {"extras": ["fancy"]}),
        "only-lint": (["--only-group", "lint"], {"groups": ["lint"], "default_groups": False, "only_groups": True}),
        "only-dev": (["--only-group", "dev"], {"groups": ["dev"], "default_groups": False, "only_groups": True}),
        "all-packages": (["--all-packages"], {"all_packages": True}),
        "all-packages-all-extras": (["--all-packages", "--all-extras"], {"all_packages": True, "all_extras": True}),
        "package-beta": (["--package", "beta"], {"packages": ["beta"]}),
        "package-gamma": (["--package", "gamma"], {"packages": ["gamma"]}),
        "all-groups": (["--all-groups"], {"all_groups": True}),
        "all-extras-flag": (["--all-extras"], {"all_extras": True}),
        "no-group-dev": (["--no-group", "dev"], {"no_groups": ["dev"]}),
        "all-groups-no-group-lint": (["--all-groups", "--no-group", "lint"], {"all_groups": True, "no_groups": ["lint"]}),
        # a member of a virtual root (gamma: no groups of its own; the root has dev and lint)
        "member-gamma": ([], {"project": "packages/gamma"}),
        "member-gamma-group-lint": (["--group", "lint"], {"project": "packages/gamma", "groups": ["lint"]}),
        "member-gamma-all-groups": (["--all-groups"], {"project": "packages/gamma", "all_groups": True}),
        "member-gamma-only-dev": (["--only-dev"], {"project": "packages/gamma", "only_dev": True}),
        "package-beta-gamma-group-lint": (
            ["--package", "beta", "--package", "gamma", "--group", "lint"],
            {"packages": ["beta", "gamma"], "groups": ["lint"]},
        ),
        "package-gamma-all-groups": (["--package", "gamma", "--all-groups"], {"packages": ["gamma"], "all_groups": True}),
        "member-beta-only-group-lint": (
            ["--only-group", "lint"],
            {"project": "packages/beta", "groups": ["lint"], "default_groups": False, "only_groups": True},
        ),
        # several --package (or --all-packages) from a member: the default groups reach the virtual root's groups
        "member-gamma-all-packages": (["--all-packages"], {"project": "packages/gamma", "all_packages": True}),
        "member-gamma-package-alpha-beta": (
            ["--package", "alpha", "--package", "beta"],
            {"project": "packages/gamma", "packages": ["alpha", "beta"]},
        ),
    },
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _wheels(directory: Path) -> None:
    """The wheels of the synthetic projects' flat index (deterministic: equal inputs, equal bytes)."""
    make_wheel(directory, "dep", "1.0")
    make_wheel(directory, "dep", "2.0")
    make_wheel(directory, "helper", "1.0", requires_dist=["fancy-dep; extra == 'fancy'\nProvides-Extra: fancy"])
    make_wheel(directory, "fancy-dep", "1.0")
    make_wheel(directory, "winonly", "1.0")
    make_wheel(directory, "oldonly", "1.0")
    make_wheel(directory, "devtool", "1.0", requires_dist=["dep>=1"])
    make_wheel(directory, "lintdep", "3.0")
    make_wheel(directory, "native", "1.0")
    make_wheel(directory, "native", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")


_INDEX = """
[[tool.uv.index]]
name = "local"
url = "./wheels"
format = "flat"
"""
_BUILD = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""


def _conflicts_project(root: Path) -> None:
    """A project with conflicting extras and groups, a platform marker, a path wheel and a non-editable tree."""
    _wheels(root / "wheels")
    make_wheel(root / "dist", "localwheel", "1.0")
    _write(root / "libs" / "libdir" / "pyproject.toml", '[project]\nname = "libdir"\nversion = "0.3"\n' + _BUILD)
    _write(
        root / "pyproject.toml",
        """
        [project]
        name = "proj"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["helper[fancy]", "native", "winonly; sys_platform == 'win32'",
                        "oldonly; python_version < '3.11'", "localwheel", "libdir"]
        [project.optional-dependencies]
        x1 = ["dep==1.0"]
        x2 = ["dep==2.0"]
        [dependency-groups]
        dev = ["devtool"]
        g1 = ["dep==1.0"]
        g2 = ["dep==2.0"]
        [tool.uv]
        conflicts = [[{extra = "x1"}, {extra = "x2"}, {group = "g1"}, {group = "g2"}]]
        [tool.uv.sources]
        localwheel = { path = "dist/localwheel-1.0-py3-none-any.whl" }
        libdir = { path = "libs/libdir", editable = false }
        """
        + _INDEX
        + _BUILD,
    )


def _workspace_project(root: Path) -> None:
    """A workspace whose root is no project: every member is a root; a virtual member; Python >= 3.11."""
    _wheels(root / "wheels")
    _write(
        root / "pyproject.toml",
        """
        [tool.uv.workspace]
        members = ["packages/*"]
        [dependency-groups]
        dev = ["alpha[fancy]"]
        lint = ["lintdep"]
        [tool.uv.sources]
        alpha = { workspace = true }
        """
        + _INDEX,
    )
    member = '[project]\nname = "{name}"\nversion = "{version}"\nrequires-python = ">=3.11"\ndependencies = [{deps}]\n'
    alpha = member.format(name="alpha", version="1.1", deps='"beta"')
    alpha += (
        '[project.optional-dependencies]\nfancy = ["helper[fancy]"]\n[tool.uv.sources]\nbeta = { workspace = true }\n'
    )
    _write(root / "packages" / "alpha" / "pyproject.toml", alpha + _BUILD)
    _write(
        root / "packages" / "beta" / "pyproject.toml",
        member.format(name="beta", version="2.2", deps='"dep==2.0"') + _BUILD,
    )
    gamma = member.format(name="gamma", version="0.0.1", deps='"oldonly", "native"') + "[tool.uv]\npackage = false\n"
    _write(root / "packages" / "gamma" / "pyproject.toml", gamma)


def _members_project(root: Path) -> None:
    """A workspace whose root is a project, with members of their own default groups, one of them virtual."""
    _wheels(root / "wheels")
    _write(
        root / "pyproject.toml",
        """
        [project]
        name = "app"
        version = "0.1"
        requires-python = ">=3.10"
        dependencies = ["dep==1.0", "lib-one"]
        [dependency-groups]
        dev = ["devtool"]
        [tool.uv.workspace]
        members = ["libs/*"]
        [tool.uv.sources]
        lib-one = { workspace = true }
        """
        + _INDEX
        + _BUILD,
    )
    member = '[project]\nname = "{name}"\nversion = "{version}"\nrequires-python = ">=3.10"\ndependencies = [{deps}]\n'
    one = member.format(name="lib-one", version="0.2", deps='"helper[fancy]"')
    one += '[project.optional-dependencies]\nx = ["native"]\n'
    one += '[dependency-groups]\ntest = ["lintdep"]\ndev = ["oldonly"]\n[tool.uv]\ndefault-groups = ["test"]\n'
    _write(root / "libs" / "one" / "pyproject.toml", one + _BUILD)
    two = member.format(name="lib-two", version="0.3", deps='"winonly; sys_platform == \'win32\'", "fancy-dep"')
    two += '[dependency-groups]\ndev = ["devtool"]\n'
    _write(root / "libs" / "two" / "pyproject.toml", two + _BUILD)
    three = member.format(name="lib-three", version="0.0.1", deps='"native"')
    three += '[dependency-groups]\ng = ["lintdep"]\n[tool.uv]\npackage = false\ndefault-groups = "all"\n'
    _write(root / "libs" / "three" / "pyproject.toml", three)


def _package_conflicts_project(root: Path) -> None:
    """A project and a workspace member declared as conflicting packages: their markers name ``project-*``."""
    _wheels(root / "wheels")
    _write(
        root / "pyproject.toml",
        """
        [project]
        name = "a"
        version = "0.1"
        requires-python = ">=3.10"
        dependencies = ["dep==1.0", "devtool"]
        [tool.uv.workspace]
        members = ["b"]
        [tool.uv]
        conflicts = [[{package = "a"}, {package = "b"}]]
        """
        + _INDEX
        + _BUILD,
    )
    member = '[project]\nname = "b"\nversion = "0.2"\nrequires-python = ">=3.10"\ndependencies = ["dep==2.0"]\n'
    _write(root / "b" / "pyproject.toml", member + _BUILD)


SYNTHETIC = {
    "synthetic__conflicts": _conflicts_project,
    "synthetic__members": _members_project,
    "synthetic__package_conflicts": _package_conflicts_project,
    "synthetic__workspace": _workspace_project,
}


def _environment() -> dict[str, str]:
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1", "UV_NO_CACHE": "1", "NO_COLOR": "1"}


def _copy_real_locks() -> None:
    for lock in sorted(SHARED.glob("*__uv.lock")):
        name = lock.name.removesuffix("__uv.lock")
        target = LOCKS / name
        target.mkdir(parents=True, exist_ok=True)
        for source, file in ((lock, "uv.lock"), (SHARED / f"{name}__pyproject.toml", "pyproject.toml")):
            shutil.copyfile(source, target / file)
            (target / file).chmod((target / file).stat().st_mode | stat.S_IWUSR)


def _lock_synthetic(uv: str, only: set[str]) -> None:
    for name, build in SYNTHETIC.items():
        if only and name not in only:
            continue
        target = LOCKS / name
        shutil.rmtree(target, ignore_errors=True)
        build(target)
        subprocess.run([uv, "lock", "--offline", "--python", "python3.12"], cwd=target, env=_environment(), check=True)


def _scratch(lock: str, scratch: Path) -> Path:
    project = scratch / lock
    shutil.copytree(LOCKS / lock, project)
    text = (project / "uv.lock").read_text(encoding="utf-8")
    for relative in re.findall(r'source = \{ editable = "([^"]+)" \}', text):
        (project / relative).mkdir(parents=True, exist_ok=True)
    return project


def _record(uv: str, lock: str, python: str, case: str, scratch: Path) -> dict[str, object]:
    flags, request = CASES[lock][case]
    project = _scratch(lock, scratch / f"{python}-{case}")
    command = [uv, "sync", "--frozen", "--dry-run", "--python", f"python{python}", *flags]
    cwd = project / str(request.get("project", "."))  # uv sync in a member's directory starts at that member
    result = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).replace(project.as_uri(), "file://{project}")
    shown = ["uv", *command[1:]]
    record: dict[str, object] = {"lock": lock, "python": python, "case": case, "request": request}
    record |= {"command": " ".join(shown), "uv": _version(uv)}
    if result.returncode != 0:
        errors = [
            line for line in output.splitlines() if line.startswith(("error:", "  \u00d7", "  \u2570\u2500\u25b6"))
        ]
        return record | {"error": "\n".join(errors) or output.strip()}
    packages: dict[str, str] = {}
    direct: dict[str, str] = {}
    for match in filter(None, map(_LINE.match, output.splitlines())):
        if match["version"]:
            packages[match["name"]] = match["version"]
        else:
            direct[match["name"]] = match["url"]
    return record | {"packages": packages, "direct": direct}


def _version(uv: str) -> str:
    return subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def main(uv: str, only: set[str]) -> None:
    """Copy and make the locks, then record uv's install set for every case (of the ``only`` locks, if given)."""
    if not only:
        _copy_real_locks()
    _lock_synthetic(uv, only)
    for old in HERE.glob("*.json"):
        if not only or old.name.split("--")[0] in only:
            old.unlink()
    with tempfile.TemporaryDirectory(prefix="uv-expected-") as scratch:
        for lock, cases in CASES.items():
            if only and lock not in only:
                continue
            for python in PYTHONS:
                for case in cases:
                    record = _record(uv, lock, python, case, Path(scratch))
                    path = HERE / f"{lock}--py{python}--{case}.json"
                    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uv", set(sys.argv[2:]))
