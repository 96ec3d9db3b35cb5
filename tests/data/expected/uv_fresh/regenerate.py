"""Record whether the real uv calls a uv.lock stale after each edit of its pyproject.toml: run by hand, once.

    PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13 python tests/data/expected/uv_fresh/regenerate.py /path/to/uv

1. Writes two projects (``single``: one project; ``workspace``: a root and two members) into
   ``tests/data/lockfiles/uv_fresh/<project>/`` and locks each with ``uv lock --offline`` against a flat
   directory of wheels made on the spot (``../wheels``, as the lock records it).
2. For every case below, applies its edits to a scratch copy of the project beside the same wheels and runs
   ``uv lock --check --offline`` there (what ``uv sync --locked`` checks first), and writes ``verdicts.json``:
   each case's edits and whether uv said the lock needs to be updated.

The tests apply the same edits and compare :func:`tox_venvsync._lock._uv_fresh.stale_reason` with uv's verdict.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from _support.wheels import make_wheel

HERE = Path(__file__).resolve().parent
PROJECTS = HERE.parents[1] / "lockfiles" / "uv_fresh"
WHEELS = {"alpha": ["1.0", "2.0"], "beta": ["1.0", "1.5"], "gamma": ["0.1"], "delta": ["3.0"], "eps": ["1.0"]}
BUILD = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'

FILES: dict[str, dict[str, str]] = {
    "single": {
        "pyproject.toml": """[project]
name = "proj"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["alpha>=1", "beta; python_version >= '3.8'", "gamma ; sys_platform == 'linux'"]
[project.optional-dependencies]
x = ["delta"]
[dependency-groups]
dev = ["eps", {include-group = "lint"}]
lint = ["beta>=1.0"]
[tool.uv]
constraint-dependencies = ["alpha<3"]
"""
        + BUILD,
    },
    "workspace": {
        "pyproject.toml": """[project]
name = "root"
version = "1.0"
requires-python = ">=3.9"
dependencies = ["a", "alpha"]
[dependency-groups]
dev = ["eps"]
[tool.uv.sources]
a = { workspace = true }
[tool.uv.workspace]
members = ["packages/*"]
"""
        + BUILD,
        "packages/a/pyproject.toml": """[project]
name = "a"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["beta>=1", "b"]
[project.optional-dependencies]
fast = ["gamma"]
[dependency-groups]
test = ["delta"]
[tool.uv.sources]
b = { workspace = true }
"""
        + BUILD,
        "packages/b/pyproject.toml": """[project]
name = "b"
version = "0.2"
dependencies = []
[tool.uv]
package = false
""",
    },
}

FILES["group-python"] = {
    "pyproject.toml": """[project]
name = "gp"
version = "0.1"
requires-python = ">=3.9"
dependencies = ["alpha"]
[dependency-groups]
lint = ["beta"]
test = ["eps", {include-group = "lint"}]
[tool.uv.dependency-groups]
lint = {requires-python = ">=3.11"}
"""
    + BUILD,
}
FILES["root-needed"] = {
    "pyproject.toml": """[project]
name = "rootv"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["alpha"]
[tool.uv.workspace]
members = ["m"]
""",
    "m/pyproject.toml": """[project]
name = "m"
version = "0.1"
dependencies = ["rootv"]
[tool.uv.sources]
rootv = { workspace = true }
"""
    + BUILD,
}

# path dependencies, not workspace members: uv records their metadata too and compares it (found by QA)
FILES["path-deps"] = {
    "pyproject.toml": """[project]
name = "pd"
version = "0.1"
requires-python = ">=3.9"
dependencies = ["plain", "edit", "alpha"]
[tool.uv.sources]
plain = { path = "libs/plain" }
edit = { path = "libs/edit", editable = true }
"""
    + BUILD,
    "libs/plain/pyproject.toml": """[project]
name = "plain"
version = "1.0"
requires-python = ">=3.8"
dependencies = ["beta"]
[project.optional-dependencies]
fast = ["gamma"]
[dependency-groups]
test = ["delta"]
"""
    + BUILD,
    "libs/edit/pyproject.toml": """[project]
name = "edit"
version = "2.0"
dependencies = []
"""
    + BUILD,
}

P = "pyproject.toml"
A = "packages/a/pyproject.toml"
B = "packages/b/pyproject.toml"
PLAIN = "libs/plain/pyproject.toml"
EDIT = "libs/edit/pyproject.toml"
UV_TABLE = "[tool.uv]\n"

#: project -> case -> the edits (file, old text, new text), each applied once
CASES: dict[str, dict[str, list[tuple[str, str, str]]]] = {
    "single": {
        "unchanged": [],
        "comment": [(P, "[project]\n", "[project]\n# a comment\n")],
        "description": [(P, 'version = "0.1.0"\n', 'version = "0.1.0"\ndescription = "words"\n')],
        "dependency-removed": [(P, ", \"gamma ; sys_platform == 'linux'\"", "")],
        "dependency-added": [(P, '"alpha>=1", ', '"alpha>=1", "eps", ')],
        "specifier-tightened": [(P, '"alpha>=1"', '"alpha>=1.5"')],
        "specifier-added": [(P, '"alpha>=1"', '"alpha>=1,<3"')],
        "specifier-spaces": [(P, '"alpha>=1"', '"alpha >= 1"')],
        "specifier-same-version": [(P, '"alpha>=1"', '"alpha>=1.0"')],
        "name-spelling": [(P, '"alpha>=1"', '"Alpha>=1"')],
        "dependency-extra": [(P, '"alpha>=1"', '"alpha[foo]>=1"')],
        "reordered": [
            (P, '["alpha>=1", "beta; python_version >= \'3.8\'"', '["beta; python_version >= \'3.8\'", "alpha>=1"')
        ],
        "marker-spaces": [(P, "python_version >= '3.8'", "python_version>='3.8'")],
        "marker-full-version": [(P, "python_version >= '3.8'", "python_full_version >= '3.8'")],
        "marker-same-within-requires-python": [(P, "python_version >= '3.8'", "python_version >= '3.9'")],
        "marker-narrowed": [(P, "python_version >= '3.8'", "python_version >= '3.11'")],
        "marker-platform": [(P, "sys_platform == 'linux'", "sys_platform == 'darwin'")],
        "extra-added": [(P, 'x = ["delta"]', 'x = ["delta"]\ny = ["eps"]')],
        "empty-extra-added": [(P, 'x = ["delta"]', 'x = ["delta"]\ny = []')],
        "extra-marker": [(P, 'x = ["delta"]', "x = [\"delta; sys_platform == 'linux'\"]")],
        "extra-of-itself": [(P, 'x = ["delta"]', 'x = ["delta"]\nall = ["proj[x]"]')],
        "group-dependency-added": [(P, 'dev = ["eps"', 'dev = ["eps", "gamma"')],
        "group-include-removed": [(P, ', {include-group = "lint"}', "")],
        "group-include-inlined": [(P, ', {include-group = "lint"}', ', "beta>=1.0"')],
        "group-repeat": [(P, 'dev = ["eps"', 'dev = ["eps", "beta>=1.0"')],
        "group-added": [(P, "lint = [", 'docs = ["gamma"]\nlint = [')],
        "empty-group-added": [(P, "lint = [", "docs = []\nlint = [")],
        "group-name-spelling": [(P, "lint = [", "LINT = ["), (P, 'include-group = "lint"', 'include-group = "LINT"')],
        "uv-dev-dependencies": [(P, UV_TABLE, UV_TABLE + 'dev-dependencies = ["gamma"]\n')],
        "version-bumped": [(P, 'version = "0.1.0"', 'version = "0.2.0"')],
        "version-spelling": [(P, 'version = "0.1.0"', 'version = "0.1"')],
        "renamed": [(P, 'name = "proj"', 'name = "proj2"')],
        "name-case": [(P, 'name = "proj"', 'name = "Proj"')],
        "requires-python-raised": [(P, 'requires-python = ">=3.9"', 'requires-python = ">=3.10"')],
        "requires-python-spaces": [(P, 'requires-python = ">=3.9"', 'requires-python = ">= 3.9"')],
        "requires-python-capped": [(P, 'requires-python = ">=3.9"', 'requires-python = ">=3.9,<4"')],
        "constraint-changed": [(P, '"alpha<3"', '"alpha<2.5"')],
        "constraint-removed": [(P, 'constraint-dependencies = ["alpha<3"]\n', "")],
        "override-added": [(P, UV_TABLE, UV_TABLE + 'override-dependencies = ["beta<2"]\n')],
        "build-constraint-added": [(P, UV_TABLE, UV_TABLE + 'build-constraint-dependencies = ["hatchling<2"]\n')],
        "default-groups-dev": [(P, UV_TABLE, UV_TABLE + 'default-groups = ["dev"]\n')],
        "default-groups-lint": [(P, UV_TABLE, UV_TABLE + 'default-groups = ["lint"]\n')],
        "default-groups-all": [(P, UV_TABLE, UV_TABLE + 'default-groups = "all"\n')],
        "package-false": [(P, UV_TABLE, UV_TABLE + "package = false\n")],
        "package-true": [(P, UV_TABLE, UV_TABLE + "package = true\n")],
        "build-system-removed": [(P, BUILD, "")],
        "conflicts-added": [(P, UV_TABLE, UV_TABLE + 'conflicts = [[{extra = "x"}, {group = "lint"}]]\n')],
        "environments-added": [(P, UV_TABLE, UV_TABLE + "environments = [\"sys_platform == 'linux'\"]\n")],
        "required-environments-added": [
            (P, UV_TABLE, UV_TABLE + "required-environments = [\"sys_platform == 'linux'\"]\n")
        ],
        "source-added": [
            (P, UV_TABLE, '[tool.uv.sources]\nalpha = { path = "../wheels/alpha-2.0-py3-none-any.whl" }\n' + UV_TABLE)
        ],
        "index-url-added": [(P, UV_TABLE, UV_TABLE + 'index-url = "https://example.org/simple"\n')],
        # one requirement twice, in two spellings: uv merges them (found by QA as a false "stale")
        "same-requirement-twice": [(P, '"alpha>=1", ', '"alpha>=1", "alpha >= 1.0", ')],
        "same-marker-twice": [
            (
                P,
                "\"beta; python_version >= '3.8'\"",
                "\"beta; python_version >= '3.8'\", \"beta; python_full_version >= '3.8'\"",
            )
        ],
        "group-repeat-other-spelling": [(P, 'dev = ["eps"', 'dev = ["eps", "beta >= 1"')],
        # the same range written otherwise: uv compares ranges
        "range-redundant-lower": [(P, '"alpha>=1"', '"alpha>=1,>=0.5"')],
        "range-redundant-upper": [(P, '"alpha<3"', '"alpha<3,<4"')],
        "range-tilde-spelled-out": [(P, '"alpha>=1"', '"alpha~=1.0"'), (P, '"alpha<3"', '"alpha>=1.0,==1.*"')],
        "range-wildcard-vs-bounds": [(P, '"alpha<3"', '"alpha==2.*"')],
    },
    "workspace": {
        "unchanged": [],
        "member-comment": [(A, "[project]\n", "[project]\n# a comment\n")],
        "member-dependency-added": [(A, '"beta>=1", "b"', '"beta>=1", "b", "eps"')],
        "member-specifier-tightened": [(A, '"beta>=1"', '"beta>=1.5"')],
        "member-group-dependency-added": [(A, 'test = ["delta"]', 'test = ["delta", "eps"]')],
        "member-extra-removed": [(A, '[project.optional-dependencies]\nfast = ["gamma"]\n', "")],
        "member-requires-python-raised": [(A, '">=3.10"', '">=3.11"')],
        "member-requires-python-lowered": [(A, '">=3.10"', '">=3.9"')],
        "virtual-member-version": [(B, '"0.2"', '"0.3"')],
        "virtual-member-dependency-added": [(B, "dependencies = []", 'dependencies = ["eps"]')],
        "virtual-member-package-unset": [(B, "package = false", "")],
        "root-dependency-removed": [(P, '["a", "alpha"]', '["a"]')],
        "root-group-dependency-added": [(P, 'dev = ["eps"]', 'dev = ["eps", "gamma"]')],
        "member-source-not-editable": [(P, "a = { workspace = true }", "a = { workspace = true, editable = false }")],
    },
    "group-python": {
        "unchanged": [],
        "group-python-raised": [(P, 'lint = {requires-python = ">=3.11"}', 'lint = {requires-python = ">=3.12"}')],
        "group-python-removed": [(P, '[tool.uv.dependency-groups]\nlint = {requires-python = ">=3.11"}\n', "")],
        "group-python-marker-spelled-out": [
            (P, 'lint = ["beta"]', "lint = [\"beta; python_full_version >= '3.11'\"]"),
        ],
        "group-dependency-added": [(P, 'lint = ["beta"]', 'lint = ["beta", "gamma"]')],
    },
    "root-needed": {
        "unchanged": [],
        "root-dependency-removed": [(P, 'dependencies = ["alpha"]', "dependencies = []")],
        "root-package-false": [(P, "[tool.uv.workspace]", "[tool.uv]\npackage = false\n[tool.uv.workspace]")],
    },
    "path-deps": {
        "unchanged": [],
        "path-comment": [(PLAIN, "[project]\n", "[project]\n# a comment\n")],
        "path-dependency-added": [(PLAIN, 'dependencies = ["beta"]', 'dependencies = ["beta", "eps"]')],
        "path-specifier-tightened": [(PLAIN, 'dependencies = ["beta"]', 'dependencies = ["beta>=1.5"]')],
        "path-name-spelling": [(PLAIN, 'dependencies = ["beta"]', 'dependencies = ["Beta"]')],
        "path-extra-added": [(PLAIN, 'fast = ["gamma"]', 'fast = ["gamma"]\nslow = ["eps"]')],
        "path-group-dependency-added": [(PLAIN, 'test = ["delta"]', 'test = ["delta", "eps"]')],
        "path-version-bumped": [(PLAIN, 'version = "1.0"', 'version = "1.1"')],
        "path-requires-python-raised": [(PLAIN, '">=3.8"', '">=3.10"')],
        "path-default-groups": [(PLAIN, BUILD, BUILD + '[tool.uv]\ndefault-groups = ["test"]\n')],
        "path-package-false": [(PLAIN, BUILD, BUILD + "[tool.uv]\npackage = false\n")],
        "editable-dependency-added": [(EDIT, "dependencies = []", 'dependencies = ["eps"]')],
        "editable-version-bumped": [(EDIT, 'version = "2.0"', 'version = "2.1"')],
        "editable-renamed": [(EDIT, 'name = "edit"', 'name = "edit2"')],
    },
}


def _run(uv: str, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "UV_NO_CONFIG": "1"}
    command = [uv, *args, "--offline", "--no-index", "--find-links", "../wheels"]
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, env=environment, check=False)


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


def main(uv: str) -> None:
    verdicts: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        wheels = Path(scratch) / "wheels"
        wheels.mkdir()
        for name, versions in WHEELS.items():
            for version in versions:
                make_wheel(wheels, name, version)
        for project, files in FILES.items():
            base = Path(scratch) / project
            _write(base, files)
            result = _run(uv, base, "lock")
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            shutil.rmtree(PROJECTS / project, ignore_errors=True)
            (PROJECTS / project).mkdir(parents=True)
            _write(PROJECTS / project, {**files, "uv.lock": (base / "uv.lock").read_text()})
            for case, edits in CASES[project].items():
                copy = Path(scratch) / f"{project}-{case}"
                shutil.copytree(base, copy)
                for file, old, new in edits:
                    text = (copy / file).read_text()
                    if old not in text:
                        message = f"{project}/{case}: {old!r} is not in {file}"
                        raise SystemExit(message)
                    (copy / file).write_text(text.replace(old, new, 1))
                check = _run(uv, copy, "lock", "--check")
                last = check.stderr.strip().splitlines()[-1]
                if check.returncode not in {0, 1} or (
                    check.returncode == 1 and "needs to be updated" not in check.stderr
                ):
                    sys.stdout.write(f"{project}/{case}: uv could not tell ({last}); not recorded\n")
                    continue
                verdicts[f"{project}/{case}"] = {"edits": edits, "stale": check.returncode == 1}
                sys.stdout.write(f"{project}/{case}: {'stale' if check.returncode else 'fresh'}\n")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    (HERE / "verdicts.json").write_text(json.dumps({"uv": version, "cases": verdicts}, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
