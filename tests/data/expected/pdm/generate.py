"""Record what the real ``pdm sync --dry-run`` installs for the pdm.lock test cases (run by hand, once).

Usage: ``PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13 python generate.py /path/to/pdm`` (a pdm 2.29.4 executable
in a throwaway venv). Each case's lock and pyproject are copied to a temporary directory, ``pdm use -f python3.X``
makes its venv, and every command's "Packages to add" lines become ``{name: version}``; a command that fails is
recorded as ``refused`` with pdm's message. The project itself is never listed (pdm installs it separately).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
LOCKS = HERE.parent.parent / "lockfiles" / "pdm"
PYTHONS = ("3.10", "3.12", "3.13")
ADD = re.compile(r"^  - (?P<name>\S+) (?P<version>\S+)")

#: case name -> (project directory, project name, [(slug, pdm sync arguments, the equivalent Request)])
CASES: dict[str, tuple[str, str, list[tuple[str, list[str], dict[str, object]]]]] = {
    "pdm-project__pdm": (
        "pdm-project__pdm",
        "pdm",
        [
            ("default", [], {}),
            ("G-keyring", ["-G", "keyring"], {"extras": ["keyring"]}),
            ("G-test", ["-G", "test"], {"groups": ["test"]}),
            ("prod", ["--prod"], {"default_groups": False}),
            ("prod-G-keyring", ["--prod", "-G", "keyring"], {"extras": ["keyring"], "default_groups": False}),
            (
                "without-doc",
                ["--without", "doc"],
                {
                    "extras": ["all", "cookiecutter", "copier", "keyring", "pytest", "template"],
                    "groups": ["test", "tox", "workflow"],
                    "default_groups": False,
                },
            ),
        ],
    ),
    "demo": (
        "demo",
        "demo",
        [
            ("default", [], {}),
            ("G-cli", ["-G", "cli"], {"extras": ["cli"]}),
            ("G-test", ["-G", "test"], {"groups": ["test"]}),
            ("G-test-G-cli", ["-G", "test", "-G", "cli"], {"extras": ["cli"], "groups": ["test"]}),
            ("prod", ["--prod"], {"default_groups": False}),
            (
                "prod-G-cli-G-fast",
                ["--prod", "-G", "cli", "-G", "fast"],
                {"extras": ["cli", "fast"], "default_groups": False},
            ),
            (
                "without-lint",
                ["--without", "lint"],
                {"extras": ["cli", "fast"], "groups": ["test"], "default_groups": False},
            ),
        ],
    ),
    "static-urls": (
        "static-urls",
        "static-demo",
        [
            ("default", [], {}),
            ("G-yaml", ["-G", "yaml"], {"extras": ["yaml"]}),
            ("G-docs", ["-G", "docs"], {"groups": ["docs"]}),
            ("prod", ["--prod"], {"default_groups": False}),
        ],
    ),
    "paths": ("paths", "paths-demo", [("default", [], {}), ("prod", ["--prod"], {"default_groups": False})]),
}


def run(pdm: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env_args = [pdm, *args]
    return subprocess.run(env_args, cwd=project, capture_output=True, text=True, check=False)


def record(pdm: str, project: Path, own_name: str, args: list[str]) -> dict[str, object]:
    result = run(pdm, project, "sync", "--dry-run", *args)
    if result.returncode != 0:
        lines = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if line.strip() and not line.startswith("STATUS:")
        ]
        return {"refused": " / ".join(lines[:3])}
    found = (ADD.match(line) for line in result.stdout.splitlines())
    packages = {m["name"]: m["version"] for m in found if m and m["name"] != own_name}
    return {"packages": dict(sorted(packages.items()))}


def python_version(project: Path) -> str:
    python = (project / ".pdm-python").read_text(encoding="utf-8").strip()
    out = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def main(pdm: str) -> None:
    version = run(pdm, Path.cwd(), "--version").stdout.strip()
    for case, (directory, own_name, combos) in CASES.items():
        results: dict[str, dict[str, object]] = {slug: {} for slug, _, _ in combos}
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / directory
            shutil.copytree(LOCKS / directory, project)
            for minor in PYTHONS:
                run(pdm, project, "use", "-f", f"python{minor}")
                full = python_version(project)
                for slug, args, _ in combos:
                    results[slug][minor] = {"python": full, **record(pdm, project, own_name, args)}
        for slug, args, request in combos:
            document = {
                "lock": f"lockfiles/pdm/{directory}/pdm.lock",
                "command": " ".join(["pdm", "sync", "--dry-run", *args]),
                "tool": version,
                "request": {"extras": [], "groups": [], "default_groups": True, **request},
                "results": results[slug],
            }
            (HERE / f"{case}--{slug}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
