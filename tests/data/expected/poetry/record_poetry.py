"""Record what the real Poetry installs for the test projects, once: ``python record_poetry.py [POETRY]``.

For each project under ``tests/data/lockfiles/poetry/``, each Python and each group/extra combination it
copies the project to a temporary directory, creates an empty venv with ``poetry env use`` and runs
``poetry sync --dry-run --no-root``; the ``- Installing NAME (VERSION)`` lines (not those Poetry marks
"Skipped") become ``installs`` in
``<case>.json``, a refusal becomes ``refused``. The interpreter's facts (markers, tags) are stored under
``targets/`` so the tests compare ``select()`` with these files without running Poetry or that Python.
Needs the Pythons (``PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13``) and the index the locks name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tox_venvsync._target import query_interpreter

HERE = Path(__file__).parent
LOCKS = HERE.parent.parent / "lockfiles" / "poetry"
PYTHONS = ("3.10", "3.12", "3.13")
#: case name -> (poetry sync options, the Request the tests make of it)
COMBOS: dict[str, dict[str, tuple[list[str], dict[str, object]]]] = {
    "python-poetry__poetry": {
        "defaults": ([], {}),
        "with-github-actions": (["--with", "github-actions"], {"groups": ["github-actions"]}),
        "only-main": (["--only", "main"], {"default_groups": False}),
        "only-main-typing": (["--only", "main,typing"], {"groups": ["typing"], "default_groups": False}),
        "unknown-group": (["--with", "docs"], {"groups": ["docs"]}),
        "unknown-extra": (["--extras", "cli"], {"extras": ["cli"]}),
    },
    "webapp": {
        "defaults": ([], {}),
        "socks-yaml-docs": (
            ["--extras", "socks yaml", "--with", "docs"],
            {"extras": ["socks", "yaml"], "groups": ["docs"]},
        ),
        "only-main": (["--only", "main"], {"default_groups": False}),
        "only-main-lint-yaml": (
            ["--only", "main,lint", "--extras", "yaml"],
            {"extras": ["yaml"], "groups": ["lint"], "default_groups": False},
        ),
    },
    "legacyapp": {
        "defaults": ([], {}),
        "pretty": (["--extras", "pretty"], {"extras": ["pretty"]}),
        "only-main": (["--only", "main"], {"default_groups": False}),
        "with-typing": (["--with", "typing"], {"groups": ["typing"]}),
    },
}
#: an install line; one ending in ": Skipped for the following reason: Not required" is not an install
_INSTALLING = re.compile(r"^\s*- Installing (?P<name>\S+) \((?P<version>[^\s)]+)[^)]*\)$")


def _interpreter(minor: str) -> Path:
    found = shutil.which(f"python{minor}")
    if found is None:
        sys.exit(f"python{minor} is not on PATH; set PYENV_VERSION")
    out = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _poetry(poetry: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POETRY_VIRTUALENVS_PATH": str(project.parent / "venvs"),
        "POETRY_VIRTUALENVS_IN_PROJECT": "false",
        "POETRY_VIRTUALENVS_OPTIONS_NO_PIP": "true",
    }
    command = [poetry, "--no-ansi", "--no-interaction", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return " ".join(lines)


def _record(poetry: str, name: str, minor: str, version: str) -> None:
    python = _interpreter(minor)
    target = query_interpreter(python)
    target_file = f"targets/cpython-{target.python_full_version}.json"
    (HERE / target_file).write_text(json.dumps(target.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="poetry-expected-") as tmp:
        project = Path(tmp) / name
        shutil.copytree(LOCKS / name, project)
        use = _poetry(poetry, project, "env", "use", str(python))
        for combo, (options, request) in COMBOS[name].items():
            command = ["sync", "--dry-run", "--no-root", *options]
            result = use if use.returncode else _poetry(poetry, project, *command)
            document: dict[str, object] = {
                "command": " ".join(["poetry", "env", "use", f"python{minor}", "&&", "poetry", *command]),
                "poetry": version,
                "python": target.python_full_version,
                "target": target_file,
                "request": request,
            }
            if result.returncode:
                document["refused"] = _refusal(result)
            else:
                found = (_INSTALLING.match(line) for line in result.stdout.splitlines())
                document["installs"] = dict(sorted((m["name"], m["version"]) for m in found if m))
            out = HERE / f"{name}-py{minor}-{combo}.json"
            out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    """Record every case with the Poetry given (default: ``poetry`` on PATH)."""
    poetry = sys.argv[1] if len(sys.argv) > 1 else "poetry"
    version = subprocess.run([poetry, "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    (HERE / "targets").mkdir(exist_ok=True)
    for name in COMBOS:
        for minor in PYTHONS:
            _record(poetry, name, minor, version.rstrip(")"))


if __name__ == "__main__":
    main()
