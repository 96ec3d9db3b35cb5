"""Record what the real uv installs from each test pylock.toml: run by hand; the tests only read the JSON it writes.

    python3.12 -m venv /tmp/uvpl && /tmp/uvpl/bin/pip install uv
    PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13 python3 tests/data/expected/pylock/regenerate.py /tmp/uvpl/bin/uv

For each ``tests/data/lockfiles/<lock>__pylock.toml``, each Python of :data:`PYTHONS` and each case of
:data:`CASES`, runs (offline, no Python downloads, no uv config)::

    uv pip install --preview-features pylock --dry-run --offline -r pylock.toml --python {venv}/bin/python [flags]

in a scratch directory holding an unchanged copy of the lock named ``pylock.toml`` (uv accepts only the PEP 751
file names ``pylock.toml`` / ``pylock.<name>.toml``, and a bare ``--group NAME`` reads the ``pylock.toml`` of
the working directory; ``--group pylock.toml:NAME`` is refused), with ``{venv}`` a fresh ``uv venv`` of that
Python. It writes ``<lock>-py<X.Y>-<case>.json``: uv's ``+ name==version`` lines under ``packages``; its
``+ name @ url`` lines (the comfy-cli project itself, an editable ``directory = {path = "."}``; uv prints no
version for it) under ``direct``, the scratch directory written as ``{lockdir}``; or, when uv exits non-zero,
its message under ``error``. Nothing is downloaded: a dry run of a pylock.toml needs no metadata.

uv 0.13's pylock flags: ``--extra X`` / ``--all-extras`` set ``extras``; ``--group G`` (repeatable) sets
``dependency_groups`` to exactly the named groups, replacing the lock's ``default-groups`` (no ``--group``: the
default groups). uv has no ``--no-default-groups`` / ``--only-group`` for ``uv pip``: naming groups *is* the
no-default-groups style. uv does not check names against the lock's ``extras`` / ``dependency-groups``: unknown
ones select nothing. The tests map the flags onto ``Request`` (see tests/test_lock_pylock_expected.py).
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

HERE = Path(__file__).resolve().parent
LOCKS = HERE.parents[1] / "lockfiles"
PYTHONS = ("3.10", "3.12", "3.13")
_LINE = re.compile(r"^ \+ (?P<name>\S+)(?:==(?P<version>\S+)| @ (?P<url>\S+))$")
_COUNT = re.compile(r"^Would install (?P<count>\d+) packages?$")
_NOISE = ("Using Python ", "warning: The `--pylock` option is experimental")

_UNKNOWN = "a name the lock does not declare: uv ignores it (an unknown group replaces the default groups)"

#: lock -> case -> (uv flags, a note for the JSON or "")
CASES: dict[str, dict[str, tuple[list[str], str]]] = {
    # PDM multi-use: extras ["cb7"], dependency-groups ["default", "dev", "tests"], default-groups ["default"]
    "Buried-In-Code__Perdoo": {
        "default": ([], ""),
        "extra-cb7": (["--extra", "cb7"], ""),
        "all-extras": (["--all-extras"], ""),
        "group-default": (["--group", "default"], ""),
        "group-dev": (["--group", "dev"], "only dev: naming a group replaces default-groups"),
        "group-tests": (["--group", "tests"], "only tests: naming a group replaces default-groups"),
        "group-default-tests": (["--group", "default", "--group", "tests"], "the default group plus tests"),
        "extra-cb7-group-tests": (["--extra", "cb7", "--group", "tests"], ""),
        "all": (["--all-extras", "--group", "default", "--group", "dev", "--group", "tests"], ""),
        "unknown-extra": (["--extra", "nope"], _UNKNOWN),
        "unknown-group": (["--group", "nope"], _UNKNOWN),
    },
    # uv export: single-use (no extras / dependency-groups keys), the project an editable directory "."
    "Comfy-Org__comfy-cli": {
        "default": ([], ""),
        "all-extras": (["--all-extras"], "the lock lists no extras: the same as default"),
        "unknown-extra": (["--extra", "dev"], _UNKNOWN + " (the project's uv.lock has a dev extra; the export not)"),
        "unknown-group": (["--group", "dev"], _UNKNOWN),
    },
    # PDM multi-use: extras [], dependency-groups ["default", "lint", "test", "types"], default-groups ["default"]
    "Five-Colleges-Incorporated__ldlite": {
        "default": ([], ""),
        "all-extras": (["--all-extras"], "extras = []: the same as default"),
        "group-default": (["--group", "default"], ""),
        "group-lint": (["--group", "lint"], "only lint: naming a group replaces default-groups"),
        "group-test": (["--group", "test"], "only test: naming a group replaces default-groups"),
        "group-types": (["--group", "types"], "only types: naming a group replaces default-groups"),
        "group-default-test": (["--group", "default", "--group", "test"], "the default group plus test"),
        "all-groups": (["--group", "default", "--group", "lint", "--group", "test", "--group", "types"], ""),
        "unknown-extra": (["--extra", "nope"], _UNKNOWN),
        "unknown-group": (["--group", "nope"], _UNKNOWN),
    },
}


def _real_python(minor: str) -> str:
    """The interpreter behind ``python3.X`` (pyenv's shim resolved), for ``uv venv``."""
    found = shutil.which(f"python{minor}")
    if found is None:
        sys.exit(f"python{minor} is not on PATH (PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13 with pyenv)")
    code = "import sys; print(sys.executable)"
    return subprocess.run([found, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def _parse(output: str, lockdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    packages: dict[str, str] = {}
    direct: dict[str, str] = {}
    expected_count = 0
    for line in output.splitlines():
        if (count := _COUNT.match(line)) is not None:
            expected_count = int(count["count"])
        elif (match := _LINE.match(line)) is not None:
            if match["version"] is not None:
                packages[match["name"]] = match["version"]
            else:
                direct[match["name"]] = match["url"].replace(lockdir.as_uri(), "{lockdir}")
        elif line.startswith((" -", " ~")):
            sys.exit(f"the venv is not empty:\n{output}")
    if len(packages) + len(direct) != expected_count:
        sys.exit(f"parsed {len(packages) + len(direct)} packages, uv said {expected_count}:\n{output}")
    return packages, direct


def main(uv: str) -> None:
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1", "NO_COLOR": "1"}
    for old in HERE.glob("*.json"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="pylock-expected-") as scratch:
        root = Path(scratch)
        env["UV_CACHE_DIR"] = str(root / "cache")
        venvs = {}
        for minor in PYTHONS:
            venvs[minor] = root / f"py{minor}"
            subprocess.run([uv, "venv", "-q", "--python", _real_python(minor), str(venvs[minor])], env=env, check=True)
        for lock, cases in CASES.items():
            lockdir = root / lock
            lockdir.mkdir()
            shutil.copyfile(LOCKS / f"{lock}__pylock.toml", lockdir / "pylock.toml")
            for minor in PYTHONS:
                for case, (flags, note) in cases.items():
                    python = venvs[minor] / "bin" / "python"
                    base = ["pip", "install", "--preview-features", "pylock", "--dry-run", "--offline"]
                    argv = [*base, "-r", "pylock.toml", "--python", str(python), *flags]
                    result = subprocess.run(
                        [uv, *argv], cwd=lockdir, env=env, capture_output=True, text=True, check=False
                    )
                    shown = " ".join(["uv", *argv]).replace(str(venvs[minor]), "{venv}")
                    recorded: dict[str, object] = {
                        "lock": lock,
                        "lockfile": f"{lock}__pylock.toml",
                        "python": minor,
                        "case": case,
                        "flags": flags,
                        "command": shown,
                        "cwd": "{lockdir} (a scratch directory holding the lock copied as pylock.toml)",
                        "uv": version,
                    }
                    if note:
                        recorded["note"] = note
                    if result.returncode != 0:
                        lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith(_NOISE)]
                        recorded["error"] = "\n".join(lines).replace(str(lockdir), "{lockdir}")
                    else:
                        packages, direct = _parse(result.stdout + result.stderr, lockdir)
                        recorded["packages"] = dict(sorted(packages.items()))
                        recorded["direct"] = dict(sorted(direct.items()))
                        if direct:
                            recorded["direct_note"] = (
                                "uv prints these as `name @ url` with no version: the lock's directory entries "
                                "(comfy-cli: the project itself, directory = {path = '.', editable = true}); "
                                "compared by name only"
                            )
                    out = HERE / f"{lock}-py{minor}-{case}.json"
                    out.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
                    summary = recorded.get("error") or f"{len(recorded['packages']) + len(recorded['direct'])} pkgs"  # type: ignore[arg-type]
                    print(f"{out.name}: {summary}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uv")
