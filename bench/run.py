"""tox-venvsync's benchmark: tox-venvsync against tox-uv's lock runner, tox + pip, tox's pylock and plain uv sync.

One command, ``python bench/run.py [--quick] [--runs N] [--scaling]``: it sets up three tool venvs under
``bench/.work/venvs`` (tox + tox-venvsync from a wheel of the working tree, tox + tox-uv, plain tox), fetches
the project's wheels once, serves them on 127.0.0.1, runs every scenario interleaved across the tools and writes
``bench/RESULTS.md``.
See ``bench/README.md`` for what is measured and how to read the results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PROJECT = BENCH / "project"
WORK = BENCH / ".work"
VENVS = WORK / "venvs"
#: the plugin as the run found it: its working tree copied here, installed (as a wheel) from here
SNAPSHOT = WORK / "snapshot"
_REEXEC = "VENVSYNC_BENCH_IN_DRIVER"
RESULTS = BENCH / "RESULTS.md"
PYENV_VERSION = "3.12.1:3.11.7:3.13.0:3.10.13"
PYTHON = "3.12"
#: the plain tox venv also runs the benchmark itself (it has packaging, which wheelhouse.py needs)
DRIVER = VENVS / "tox"
IMPORT = 'python -c "import requests"'
SCENARIOS = ("no-op", "bump", "remove-extra", "warm-create", "recreate", "cold")
INSTALL_SCENARIOS = ("bump", "warm-create", "recreate", "cold")
LAYERS = ("sync", "e2e")
SCALING_SIZES = (50, 200, 500)
SCALING_SCENARIOS = ("no-op", "warm-create")
BASELINE = "tox-uv"
#: layer 1's no-op runs per round: the smallest step, so the most samples (they are cheap)
NOOP_REPEAT = 3
DASH = "\N{EN DASH}"
SPREAD = f"min{DASH}max"
TIMES = "\N{MULTIPLICATION SIGN}"
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").is_file() else None
#: the locked versions of the bumped package before and after the bump, and the hand-installed extra
BUMPED = ("rich", "14.3.4", "15.0.0")
EXTRA = "six"
#: how far a cell's last rounds may move from its first before the report lists it (see ``drift``)
DRIFT = 0.3
#: the end-to-end ratios' intervals: bootstrap resamples of the rounds, and how much of the distribution
RESAMPLES = 4000
INTERVAL = 0.95


# --- bootstrap: plain stdlib, runs under whatever python started us


def _python312() -> str:
    """The real path of python3.12 (through pyenv's shim when that is what PATH has)."""
    os.environ["PYENV_VERSION"] = PYENV_VERSION  # a pyenv shim that started us set its own version here
    found = shutil.which(f"python{PYTHON}")
    if found is None:
        sys.exit(f"bench: python{PYTHON} is not on PATH (with PYENV_VERSION={os.environ.get('PYENV_VERSION')})")
    code = "import sys; print(sys.executable)"
    return subprocess.run([found, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def _venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def _make_venv(name: str, python: str, requirements: list[str], watch: Sequence[Path] = ()) -> None:
    """A venv with ``requirements``, made again when they, the interpreter or a ``watch`` file change."""
    venv = VENVS / name
    stamp = venv / ".bench-stamp"
    watched = [hashlib.sha256(path.read_bytes()).hexdigest() for path in watch]
    want = json.dumps([python, requirements, watched], sort_keys=True)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == want and _venv_python(name).exists():
        return
    print(f"bench: setting up {venv}: {' '.join(requirements)}", file=sys.stderr)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(_venv_python(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *requirements], check=True)
    stamp.write_text(want, encoding="utf-8")


def _version_in(venv: str, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.run([_venv_python(venv), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def take_snapshot() -> str:
    """Copy the plugin's working tree (uncommitted changes included) to SNAPSHOT; describe what was copied.

    The tox-venvsync venv has SNAPSHOT installed (as a wheel), so an edit to the repository while the benchmark
    runs (by a person or another session) cannot change the code between two measurements.
    """
    commit = _out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = _out(["git", "-C", REPO, "status", "--porcelain", "--", "src", "pyproject.toml"])
    SNAPSHOT.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, SNAPSHOT / name)
    fresh = SNAPSHOT / "src.new"
    _rmtree(fresh)
    shutil.copytree(REPO / "src", fresh, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _rmtree(SNAPSHOT / "src")
    fresh.rename(SNAPSHOT / "src")
    digest = hashlib.sha256()
    for path in sorted((SNAPSHOT / "src").rglob("*.py")):
        digest.update(path.relative_to(SNAPSHOT).as_posix().encode() + b"\0" + path.read_bytes())
    return f"git {commit}" + (" + uncommitted changes" if dirty else "") + f", src sha256 {digest.hexdigest()[:12]}"


def bootstrap() -> str:
    """Snapshot the plugin, create the tool venvs (once; again when pyproject.toml changes), re-run in the driver."""
    python = _python312()
    if os.environ.pop(_REEXEC, "") == "1":  # the re-run inside the driver: the snapshot is there already
        return (SNAPSHOT / ".described").read_text(encoding="utf-8")
    described = take_snapshot()
    (SNAPSHOT / ".described").write_text(described, encoding="utf-8")
    # installed from a wheel, as users have it (an editable install finds its own build by statting every module,
    # a wheel's by reading its RECORD): made again whenever the snapshot's sources change
    _make_venv("tox-venvsync", python, [str(SNAPSHOT)], watch=[SNAPSHOT / "pyproject.toml", SNAPSHOT / ".described"])
    tox = f"tox=={_version_in('tox-venvsync', 'tox')}"  # one tox version for every tool
    _make_venv("tox-uv", python, [tox, "tox-uv"])
    _make_venv("tox", python, [tox])
    driver = str(_venv_python("tox"))
    os.environ[_REEXEC] = "1"
    raise SystemExit(subprocess.call([driver, str(Path(__file__).resolve()), *sys.argv[1:]]))


# --- the tools


@dataclass(frozen=True, slots=True)
class Tool:
    """One way to get the env: a tox runner in one of the tool venvs, or a command without tox (uv, venvsync)."""

    key: str
    label: str
    venv: str
    #: the lockfile this tool reads, in its project directory
    lock: str
    #: the [testenv:bench] body of its tox.ini; None for a command without tox
    testenv: str | None
    #: the runner of its floor env: the runner this one builds on, with nothing to install
    floor_runner: str = "virtualenv"
    #: without tox: ``uv`` (``uv sync``) or ``venvsync`` (``venvsync sync``, the engine's own command line)
    plain: str = "uv"

    @property
    def project(self) -> Path:
        return WORK / "projects" / self.key

    @property
    def env(self) -> Path:
        return WORK / "envs" / self.key / "bench"

    @property
    def cache(self) -> Path:
        return WORK / "cache" / self.key

    @property
    def floor_key(self) -> str:
        return f"{self.venv}: {self.floor_runner}"

    @property
    def floor_env(self) -> Path:
        return WORK / "envs" / f"floor-{self.venv}-{self.floor_runner}"

    @property
    def site_packages(self) -> Path:
        return self.env / "lib" / f"python{PYTHON}" / "site-packages"


def _tools(venvsync_lock: str) -> list[Tool]:
    return [
        Tool(
            "venvsync",
            f"tox-venvsync ({venvsync_lock})",
            "tox-venvsync",
            venvsync_lock,
            f"runner = venvsync\nenv_location = {{env_dir_base}}\nlock_file = {venvsync_lock}\n",
        ),
        Tool(
            "tox-uv",
            "tox-uv uv-venv-lock-runner",
            "tox-uv",
            "uv.lock",
            "runner = uv-venv-lock-runner\n",
            "uv-venv-runner",
        ),
        Tool("tox-pip", "tox + pip (-r requirements.txt)", "tox", "requirements.txt", "deps = -r requirements.txt\n"),
        Tool("tox-pylock", "tox pylock = pylock.toml (pip)", "tox", "pylock.toml", "pylock = pylock.toml\n"),
        Tool("uv-sync", "uv sync (no tox)", "tox-uv", "uv.lock", None),
        Tool("venvsync-cli", "venvsync sync (no tox)", "tox-venvsync", venvsync_lock, None, plain="venvsync"),
    ]


def tox_ini(tool: Tool) -> str:
    """The tool's tox.ini: env ``bench`` (the measured one) and ``floor`` (an existing env with nothing to install).

    Every env names its runner: tox-uv, where installed, would otherwise make ``uv-venv-runner`` the default.
    """
    if tool.testenv is None:
        msg = f"{tool.key} is not run through tox"
        raise ValueError(msg)
    body = tool.testenv
    if "runner = venvsync" in body:
        body = body.replace("{env_dir_base}", str(tool.env))
    else:
        body = ("" if "runner =" in body else "runner = virtualenv\n") + body + f"env_dir = {tool.env}\n"
    return (
        "[tox]\nenv_list = bench\n\n"
        f"[testenv:bench]\nbase_python = python{PYTHON}\npackage = skip\n{body}commands = {IMPORT}\n\n"
        f"[testenv:floor]\nrunner = {tool.floor_runner}\nbase_python = python{PYTHON}\npackage = skip\n"
        f"env_dir = {tool.floor_env}\ncommands = python -c pass\n"
    )


# --- running and measuring


@dataclass(frozen=True, slots=True)
class Sample:
    seconds: float
    #: the largest resident set of any process in the tree, in KiB
    max_rss_kib: int
    #: the paired floor run's seconds, taken right before this run (layer 1 of the tox tools; else 0)
    floor: float = 0.0


class RunFailedError(RuntimeError):
    pass


def measure(cmd: Sequence[str | Path], cwd: Path, env: Mapping[str, str], log: Path) -> Sample:
    """Run ``cmd``; its wall time and the peak RSS of its process tree (its largest process).

    The peak comes from ``/usr/bin/time -f %M``: a process forked from this (large) driver would carry the
    driver's high-water mark across exec, while one forked from ``time`` starts small.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    rss_file = log.with_suffix(".rss")
    argv = [str(part) for part in cmd]
    if GNU_TIME:
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv]
    with log.open("wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        msg = f"{' '.join(map(str, cmd))} (in {cwd}) exited {process.returncode}:\n{tail}"
        raise RunFailedError(msg)
    rss = int(rss_file.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return Sample(seconds, rss)


def _rmtree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


@dataclass
class Bench:
    """The set-up world: tools, the index, environments; runs scenarios and keeps the samples."""

    tools: list[Tool]
    index: str
    uv: Path
    base_env: dict[str, str]
    locks: dict[str, dict[str, str]]  # "base"/"bump" -> lock file name -> rewritten text
    samples: dict[tuple[str, str, str], list[Sample]] = field(default_factory=dict)
    floors: dict[str, list[Sample]] = field(default_factory=dict)
    notes: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    #: what tox-venvsync's engine logs for its no-op check (``nothing to do (0.001 s)``), in seconds
    engine_noop: list[float] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)

    # environment and commands

    def env_for(self, tool: Tool) -> dict[str, str]:
        env = dict(self.base_env)
        env["TOX_VENVSYNC_CACHE_DIR"] = str(tool.cache / "venvsync")
        env["UV_CACHE_DIR"] = str(tool.cache / "uv")
        env["PIP_CACHE_DIR"] = str(tool.cache / "pip")
        if tool.testenv is None:
            env["UV_PROJECT_ENVIRONMENT"] = str(tool.env)
        return env

    def command(self, tool: Tool, layer: str, scenario: str, env_name: str = "bench") -> list[str | Path]:
        if tool.testenv is None:
            plain = self._plain(tool, layer)
            if scenario == "recreate":  # no -r without tox: remove the env and sync
                return ["/bin/sh", "-c", 'rm -rf "$0" && exec "$@"', tool.env, *plain]
            return plain
        cmd: list[str | Path] = [VENVS / tool.venv / "bin" / "tox", "-c", tool.project / "tox.ini"]
        cmd += ["--workdir", WORK / "toxwork" / tool.key, "-e", env_name]
        if layer == "sync":
            cmd.append("--notest")
        if scenario == "recreate":
            cmd.append("-r")
        return cmd

    def _plain(self, tool: Tool, layer: str) -> list[str | Path]:
        if tool.plain == "venvsync":  # as a build step or script runs it: sync, then the command in the venv
            cli = VENVS / tool.venv / "bin" / "venvsync"
            sync: list[str | Path] = [cli, "sync", "--lock", tool.project / tool.lock, "--venv", tool.env]
            sync += ["--python", WORK / "bin" / f"python{PYTHON}"]
            if layer == "e2e":
                return ["/bin/sh", "-c", '"$@" && exec "$0" -c "import requests"', self.env_python(tool), *sync]
            return sync
        if layer == "e2e":  # uv run syncs exactly (--exact), as uv sync does, then runs the command
            return [self.uv, "run", "--locked", "--exact", "-p", PYTHON, "python", "-c", "import requests"]
        return [self.uv, "sync", "--locked", "-p", PYTHON]

    def run(self, tool: Tool, layer: str, scenario: str) -> Sample:
        log = WORK / "logs" / f"{tool.key}.log"
        return measure(self.command(tool, layer, scenario), tool.project, self.env_for(tool), log)

    def floor(self, tool: Tool) -> Sample:
        cmd = self.command(tool, "sync", "no-op", env_name="floor")
        log = WORK / "logs" / f"floor-{tool.venv}-{tool.floor_runner}.log"
        return measure(cmd, tool.project, self.env_for(tool), log)

    # state of each tool's env

    def set_lock(self, tool: Tool, which: str) -> None:
        path = tool.project / tool.lock
        text = self.locks[which][tool.lock]
        if not path.is_file() or path.read_text(encoding="utf-8") != text:  # untouched when equal: no new mtime
            path.write_text(text, encoding="utf-8")

    def has(self, tool: Tool, name: str, version: str = "") -> bool:
        return any(tool.site_packages.glob(f"{name}-{version or '*'}.dist-info"))

    def ensure_base(self, tool: Tool) -> None:
        """The env exists and is synced to the base lock, without the extra: set up untimed."""
        self.set_lock(tool, "base")
        if self.state.get(tool.key) != "base":
            self.run(tool, "sync", "no-op")
        if self.has(tool, EXTRA):
            self.hand(tool, "uninstall", EXTRA)
        self.state[tool.key] = "base"

    def hand(self, tool: Tool, action: str, name: str) -> None:
        """``uv pip install|uninstall`` into the tool's env by hand, untimed, with a cache of its own."""
        cmd = [str(self.uv), "pip", action, "--python", str(self.env_python(tool))]
        if action == "install":
            cmd += ["--no-deps", "--index-url", f"{self.index}/simple"]
        cmd.append(name)
        env = {**self.base_env, "UV_CACHE_DIR": str(WORK / "cache" / "by-hand")}
        subprocess.run(cmd, check=True, env=env, capture_output=True)

    @staticmethod
    def env_python(tool: Tool) -> Path:
        return tool.env / "bin" / "python"

    def prepare(self, tool: Tool, layer: str, scenario: str) -> None:
        self.ensure_base(tool)
        if (layer, scenario) == ("e2e", "no-op"):
            # what a user's next run finds: in sync, and the command has run once since the sync (that run
            # compiles the imports, for every tool, and tox-venvsync keeps the bytecode in its cache): untimed
            self.run(tool, "e2e", "no-op")
            return
        if scenario == "bump":
            self.set_lock(tool, "bump")
        elif scenario == "remove-extra":
            self.hand(tool, "install", EXTRA)
        elif scenario == "warm-create":
            _rmtree(tool.env)
        elif scenario == "cold":
            _rmtree(tool.env)
            _rmtree(tool.cache)
        self.state[tool.key] = "changed"

    def check(self, tool: Tool, scenario: str) -> set[str]:
        """What the run left that a sync should not have (an empty set when the env matches the lock)."""
        name, old, new = BUMPED
        version = new if scenario == "bump" else old
        notes = set()
        if not self.has(tool, name, version):
            notes.add(f"{name} {version} not installed")
        if self.has(tool, EXTRA):
            notes.add(f"leaves the hand-installed {EXTRA} in place")
        if not notes:
            self.state[tool.key] = "bump" if scenario == "bump" else "base"
        return notes

    def paired(self, tool: Tool, layer: str, scenario: str) -> Sample:
        """The timed run; in layer 1 of a tox tool, with its floor run right before it (after the set-up)."""
        if layer != "sync" or tool.testenv is None:
            return self.run(tool, layer, scenario)
        floor = self.floor(tool)
        self.floors.setdefault(tool.floor_key, []).append(floor)
        return replace(self.run(tool, layer, scenario), floor=floor.seconds)

    def timed(self, tool: Tool, layer: str, scenario: str) -> Sample:
        self.prepare(tool, layer, scenario)
        sample = self.paired(tool, layer, scenario)
        key = (layer, scenario, tool.key)
        self.samples.setdefault(key, []).append(sample)
        if notes := self.check(tool, scenario):
            self.notes.setdefault(key, set()).update(notes)
        return sample


def rotate(items: Sequence[Tool], by: int) -> list[Tool]:
    """``items`` started at ``by`` (mod its length): each tool goes first in turn."""
    by %= len(items)
    return [*items[by:], *items[:by]]


# --- set-up of the world


def base_environment(python: str) -> dict[str, str]:
    """The environment every measured command gets: this machine's, cleaned of tool settings, plus ours."""
    dropped = ("TOX_", "VIRTUALENV_", "UV_", "PIP_", "PYTHON")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    bin_dir = WORK / "bin"  # python3.12 straight to the interpreter: no pyenv shim start-up in any timing
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / f"python{PYTHON}"
    if not link.is_symlink() or str(link.readlink()) != python:
        link.unlink(missing_ok=True)
        link.symlink_to(python)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYENV_VERSION=PYENV_VERSION,
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        VIRTUALENV_OVERRIDE_APP_DATA=str(WORK / "virtualenv-app-data"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_CONSTRAINT="",
        PIP_FIND_LINKS="",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    return env


def choose_venvsync_lock(python: str) -> str:
    """uv.lock (the lock tox-uv reads) when our uv.lock reader exists and selects what pylock.toml does."""
    if not (SNAPSHOT / "src" / "tox_venvsync" / "_lock" / "_uv.py").is_file():
        return "pylock.toml"
    venvsync = VENVS / "tox-venvsync" / "bin" / "venvsync"
    selected: list[str | None] = []
    for lock in ("uv.lock", "pylock.toml"):
        cmd = [str(venvsync), "select", "--lock", str(PROJECT / lock), "--python", python]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        selected.append(done.stdout if done.returncode == 0 else None)
    return "uv.lock" if selected[0] is not None and selected[0] == selected[1] else "pylock.toml"


def rewritten_locks(index: str) -> dict[str, dict[str, str]]:
    from wheelhouse import rewrite_pylock, rewrite_uv_lock  # noqa: PLC0415  # imported after the bootstrap

    locks = {}
    for which, folder in (("base", PROJECT), ("bump", PROJECT / "bump")):
        locks[which] = {
            "uv.lock": rewrite_uv_lock((folder / "uv.lock").read_text(encoding="utf-8"), index),
            "pylock.toml": rewrite_pylock((folder / "pylock.toml").read_text(encoding="utf-8"), index),
            "requirements.txt": (folder / "requirements.txt").read_text(encoding="utf-8"),
        }
    return locks


def uv_pyproject(text: str, index: str) -> str:
    """The project's pyproject.toml with the local index as uv's default index (the rewritten lock names it)."""
    return f'{text.rstrip()}\n\n[[tool.uv.index]]\nname = "local"\nurl = "{index}/simple"\ndefault = true\n'


def lay_out(tool: Tool, pyproject: str) -> None:
    """The tool's project directory: pyproject.toml and tox.ini; its lock is written by ``set_lock``."""
    tool.project.mkdir(parents=True, exist_ok=True)
    (tool.project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if tool.testenv is not None:
        (tool.project / "tox.ini").write_text(tox_ini(tool), encoding="utf-8")


# --- statistics and the report


@dataclass(frozen=True, slots=True)
class Stat:
    median: float
    low: float
    high: float
    rss_mib: float
    count: int


def stat(samples: Sequence[Sample], *, step: bool = False) -> Stat:
    """Median, min and max of the runs' seconds; with ``step``, of each run minus its paired floor run."""
    times = [s.seconds - (s.floor if step else 0.0) for s in samples]
    return Stat(
        statistics.median(times), min(times), max(times), max(s.max_rss_kib for s in samples) / 1024, len(samples)
    )


def paired_interval(
    ours: Sequence[float], theirs: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float] | None:
    """The 95% bootstrap interval of ``median(ours) / median(theirs)``, resampling whole rounds.

    Item ``i`` of both lists comes from round ``i`` (the tools run interleaved), so a resample keeps the
    pairs: what slowed a whole round (the machine's load) moves both medians together and the interval
    shows the spread of the ratio, not of the machine. A fixed seed: the same samples give the same interval.
    ``None`` with fewer than 3 pairs or when a resampled median of ``theirs`` is not above zero.
    """
    count = min(len(ours), len(theirs))
    if count < 3:  # noqa: PLR2004  # too few rounds to resample
        return None
    chooser = random.Random(seed)  # resampling, not security
    ratios = []
    for _ in range(resamples):
        rounds = [chooser.randrange(count) for _ in range(count)]
        baseline = statistics.median([theirs[i] for i in rounds])
        if baseline <= 0:
            return None
        ratios.append(statistics.median([ours[i] for i in rounds]) / baseline)
    ratios.sort()
    tail = (1 - INTERVAL) / 2
    return ratios[int(tail * resamples)], ratios[min(resamples - 1, int((1 - tail) * resamples))]


def _interval(bench: Bench, layer: str, scenario: str, tool: str) -> tuple[float, float] | None:
    ours, theirs = bench.samples.get((layer, scenario, tool)), bench.samples.get((layer, scenario, BASELINE))
    if not ours or not theirs or tool == BASELINE:
        return None
    return paired_interval([s.seconds for s in ours], [s.seconds for s in theirs])


def interval_text(found: tuple[float, float] | None) -> str:
    return DASH if found is None else f"{found[0]:.2f}{DASH}{found[1]:.2f}"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"  # noqa: PLR2004


def ratio(value: float, baseline: float | None) -> str:
    if baseline is None or baseline <= 0:
        return DASH
    return f"{value / baseline:.2f}{TIMES}"


def machine(load_at_start: tuple[float, float, float]) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return [
        f"- CPUs (`nproc`): {nproc}; CPU model: {model}",
        f"- memory: {mem_kib / 1024 / 1024:.1f} GiB; kernel: {platform.system()} {platform.release()}",
        (
            "- load average (1/5/15 min) at the start: {:.2f} / {:.2f} / {:.2f}; at the end: {:.2f} / {:.2f} / {:.2f} "
            "(anything else running on the machine shows here, and widens the spreads)"
        ).format(*load_at_start, *os.getloadavg()),
    ]


def _out(cmd: Sequence[str | Path]) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip()


def versions(bench: Bench, python: str, tools: Sequence[Tool], plugin: str) -> list[str]:
    pip_tool = next((t for t in tools if t.key in {"tox-pip", "tox-pylock"}), None)
    pip = _out([bench.env_python(pip_tool), "-m", "pip", "--version"]).split(" from ")[0] if pip_tool else DASH
    return [
        f"- Python: {_out([python, '-VV'])} at `{python}`",
        (
            f"- tox {_version_in('tox', 'tox')}; tox-venvsync {_version_in('tox-venvsync', 'tox-venvsync')} "
            f"({plugin}); tox-uv {_version_in('tox-uv', 'tox-uv')}; {_out([bench.uv, '--version'])}; "
            f"virtualenv {_version_in('tox', 'virtualenv')}; {pip} (seeded into the tox + pip envs)"
        ),
    ]


def _notes(bench: Bench, key: tuple[str, str, str]) -> str:
    return "; ".join(sorted(bench.notes.get(key, ())))


def layer_table(bench: Bench, layer: str, tools: Sequence[Tool]) -> list[str]:
    sync = layer == "sync"
    head = f"| scenario | tool | sync step, ms (median) | {SPREAD} | vs tox-uv | tox run, ms | peak RSS, MiB | note |"
    if not sync:
        head = f"| scenario | tool | end to end, ms (median) | {SPREAD} | vs tox-uv | 95% interval | peak RSS, MiB |"
        head += " note |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for scenario in SCENARIOS:
        baseline = _median(bench, (layer, scenario, BASELINE), step=sync)
        for tool in tools:
            key = (layer, scenario, tool.key)
            if key not in bench.samples:
                continue
            st = stat(bench.samples[key], step=sync)
            raw = stat(bench.samples[key])
            cells = [
                scenario,
                tool.label,
                ms(st.median),
                f"{ms(st.low)}{DASH}{ms(st.high)}",
                ratio(st.median, baseline),
            ]
            cells.append(ms(raw.median) if sync else interval_text(_interval(bench, layer, scenario, tool.key)))
            cells += [f"{st.rss_mib:.0f}", _notes(bench, key)]
            rows.append("| " + " | ".join(cells) + " |")
    return rows


def engine_line(bench: Bench) -> list[str]:
    if not bench.engine_noop:
        return []
    values = [value * 1000 for value in bench.engine_noop]
    return [
        (
            f"tox-venvsync's engine reports {statistics.median(values):.0f} ms for its no-op check (median of "
            f"{len(values)} `tox --notest -v` runs, {SPREAD} {min(values):.0f}{DASH}{max(values):.0f} ms; the log "
            "has 1 ms resolution): the time from the sync's start to its answer, inside the tox process."
        ),
        "",
    ]


def drift(samples: Sequence[Sample]) -> float | None:
    """The median run of the last third of the rounds over that of the first third; ``None`` under 6 rounds.

    The tools run interleaved, so a machine slower for a while slows every tool in the same rounds. A tool
    whose runs grow slower (or faster) alone over the run moves its median, and every ratio to it, in a way
    the intervals cannot show: they resample whole rounds (uv's cold runs, 2026-11-30 07:44: 1.5 s in the
    first rounds, 2.5-3.2 s in the last four, while tox-venvsync's stayed).
    """
    third = len(samples) // 3
    if third < 2:  # noqa: PLR2004  # a third of fewer than 6 rounds says nothing
        return None
    first = statistics.median(s.seconds for s in samples[:third])
    last = statistics.median(s.seconds for s in samples[-third:])
    return last / first if first > 0 else None


def drift_line(bench: Bench) -> list[str]:
    """The end-to-end cells whose runs drifted by more than :data:`DRIFT` over the run (see :func:`drift`)."""
    labels = {tool.key: tool.label for tool in bench.tools}
    drifted = []
    for (layer, scenario, tool), samples in bench.samples.items():
        value = drift(samples) if layer == "e2e" else None
        if value is not None and abs(value - 1) > DRIFT:
            drifted.append(f"{scenario}, {labels.get(tool, tool)}: {value:.2f}{TIMES}")
    if not drifted:
        return []
    text = "; ".join(drifted)
    return [
        "",
        (
            f"Drift: the median of the last third of the rounds over that of the first third, where it is beyond "
            f"{1 - DRIFT:.1f}{DASH}{1 + DRIFT:.1f}{TIMES}: {text}. A tool that drifted alone moves the ratios to it "
            "in a way the intervals do not show; compare the rounds in RESULTS.json."
        ),
    ]


def _median(bench: Bench, key: tuple[str, str, str], *, step: bool = False) -> float | None:
    return stat(bench.samples[key], step=step).median if key in bench.samples else None


def targets(bench: Bench, *, scaling: bool) -> list[str]:
    """The issue's targets against what was measured (reported, never asserted)."""
    rows = [f"| target | measured | {INTERVAL:.0%} interval | met |", "|---|---|---|---|"]

    def row(
        target: str,
        value: float | None,
        limit: float,
        shown: Callable[[float], str],
        interval: tuple[float, float] | None = None,
    ) -> None:
        if value is None:
            rows.append(f"| {target} | not measured | {DASH} | {DASH} |")
        else:
            met = "yes" if value <= limit else "**no**"
            rows.append(f"| {target} | {shown(value)} | {interval_text(interval)} | {met} |")

    noop = _median(bench, ("sync", "no-op", "venvsync"), step=True)
    row("sync step, no-op ≤ 5 ms", noop, 0.005, lambda v: f"{v * 1000:.1f} ms")
    for scenario, limit in {"bump": 1.0, "warm-create": 0.8}.items():
        ours = _median(bench, ("sync", scenario, "venvsync"), step=True)
        theirs = _median(bench, ("sync", scenario, BASELINE), step=True)
        target = f"sync step, {scenario} ≤ {limit:.2f}{TIMES} tox-uv's"
        if ours is not None and theirs is not None and theirs <= 0:  # a step is a difference of two runs
            rows.append(f"| {target} | no ratio: tox-uv's step is {theirs * 1000:.1f} ms | {DASH} | {DASH} |")
        else:
            value = ours / theirs if ours is not None and theirs else None
            row(target, value, limit, lambda v: f"{v:.2f}{TIMES}")
    limits = {"no-op": 0.95, "bump": 1.0, "remove-extra": 1.0, "warm-create": 0.85, "recreate": 0.85, "cold": 1.1}
    for scenario, limit in limits.items():
        ours, theirs = _median(bench, ("e2e", scenario, "venvsync")), _median(bench, ("e2e", scenario, BASELINE))
        value = ours / theirs if ours is not None and theirs else None
        interval = _interval(bench, "e2e", scenario, "venvsync")
        row(f"end to end, {scenario} ≤ {limit:.2f}{TIMES} tox-uv", value, limit, lambda v: f"{v:.2f}{TIMES}", interval)
    for layer in LAYERS:
        for scenario in INSTALL_SCENARIOS:
            ours = _median(bench, (layer, scenario, "venvsync"), step=layer == "sync")
            pip = _median(bench, (layer, scenario, "tox-pip"), step=layer == "sync")
            speedup = pip / ours if ours and pip else None
            label = "sync step" if layer == "sync" else "end to end"
            # a speed-up target: met when at least 15, so compare its inverse (the interval is the speed-up's)
            value = 1 / speedup if speedup else None
            interval = None
            if layer == "e2e" and (pips := bench.samples.get((layer, scenario, "tox-pip"))):
                mine = bench.samples.get((layer, scenario, "venvsync"), [])
                interval = paired_interval([s.seconds for s in pips], [s.seconds for s in mine])
            row(
                f"{label}, {scenario}: ≥ 15{TIMES} faster than tox + pip",
                value,
                1 / 15,
                lambda v: f"{1 / v:.1f}{TIMES}",
                interval,
            )
    if scaling:
        noop500 = _median(bench, ("scale-500", "no-op", "venvsync"), step=True)
        row("sync step, no-op at 500 packages ≤ 15 ms", noop500, 0.015, lambda v: f"{v * 1000:.1f} ms")
        peaks = [
            max(s.max_rss_kib for s in bench.samples[("scale-500", scenario, "venvsync")]) / 1024
            for scenario in SCALING_SCENARIOS
            if ("scale-500", scenario, "venvsync") in bench.samples
        ]
        row("peak memory at 500 packages < 150 MiB", max(peaks) if peaks else None, 150, lambda v: f"{v:.0f} MiB")
    return rows


def scaling_table(bench: Bench, tools: Sequence[Tool]) -> list[str]:
    head = (
        f"| packages | scenario | tool | sync step, ms (median) | {SPREAD} | vs tox-uv | tox run, ms | peak RSS, MiB |"
    )
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    for size in SCALING_SIZES:
        layer = f"scale-{size}"
        for scenario in SCALING_SCENARIOS:
            base_key = (layer, scenario, BASELINE)
            baseline = _median(bench, base_key, step=True)
            for tool in tools:
                key = (layer, scenario, tool.key)
                if key not in bench.samples:
                    continue
                st, raw = stat(bench.samples[key], step=True), stat(bench.samples[key])
                cells = [str(size), scenario, tool.label, ms(st.median), f"{ms(st.low)}{DASH}{ms(st.high)}"]
                cells += [ratio(st.median, baseline), ms(raw.median), f"{st.rss_mib:.0f}"]
                rows.append("| " + " | ".join(cells) + " |")
    return rows


def report(  # noqa: PLR0913  # the report's parts, keyword-only
    bench: Bench,
    *,
    python: str,
    tools: Sequence[Tool],
    scaling_tools: Sequence[Tool],
    runs: int,
    pip_runs: int,
    argv: Sequence[str],
    wheels: Sequence[Path],
    seconds: float,
    load_at_start: tuple[float, float, float],
    plugin: str,
) -> str:
    floor_stats = {key: stat(samples) for key, samples in sorted(bench.floors.items())}
    floor_text = ", ".join(
        f"{key}: {ms(st.median)} ms ({ms(st.low)}{DASH}{ms(st.high)}, n={st.count})" for key, st in floor_stats.items()
    )
    packages = len(re.findall(r"^\S+==", bench.locks["base"]["requirements.txt"], flags=re.MULTILINE))
    size = sum(path.stat().st_size for path in wheels) / 1024 / 1024
    lines = [
        "# tox-venvsync benchmark results",
        "",
        (
            f"Written by `python bench/run.py {' '.join(argv)}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
            f"in {seconds / 60:.0f} min. What each number means: `bench/README.md`."
        ),
        "",
        "## Machine and tools",
        "",
        *machine(load_at_start),
        *versions(bench, python, tools, plugin),
        (
            f"- project: `bench/project`, {packages} locked packages for CPython {PYTHON} linux x86_64 "
            f"({len(wheels)} wheels, {size:.0f} MiB in the wheelhouse), served from 127.0.0.1; "
            f"tox-venvsync reads `{tools[0].lock}`"
        ),
        (
            f"- {runs} runs per cell ({pip_runs} for tox + pip and tox's pylock), interleaved (each round runs every "
            f"tool in turn, the first tool rotating); times are medians with the {SPREAD} spread; `vs tox-uv` is the "
            "median over tox-uv's lock runner's median, `95% interval` its bootstrap interval over the rounds (see the "
            "targets)"
        ),
        (
            "- tox's floor (`tox --notest` of an existing env with nothing to install, in the same tox install, with "
            "the runner the measured one builds on; one floor run right before every layer-1 run, which subtracts "
            f"its own floor): {floor_text}"
        ),
        "",
        (
            "## Layer 1: the sync step (`tox --notest` minus its paired floor run; plain uv: `uv sync --locked`; "
            f"no-op: {NOOP_REPEAT} runs per round)"
        ),
        "",
        *layer_table(bench, "sync", tools),
        "",
        *engine_line(bench),
        '## Layer 2: end to end (`tox -e bench` running `python -c "import requests"`; plain uv: `uv run`)',
        "",
        *layer_table(bench, "e2e", tools),
        *drift_line(bench),
    ]
    if any(key[0].startswith("scale-") for key in bench.samples):
        lines += [
            "",
            "## Scaling (synthetic pure wheels of 10 modules each; sync step as in layer 1)",
            "",
            *scaling_table(bench, scaling_tools),
        ]
    lines += [
        "",
        "## Targets (from the speed issue; reported, not asserted)",
        "",
        (
            "`met` compares the median ratio with the target. The interval is a bootstrap interval of an "
            f"end-to-end ratio: the rounds resampled {RESAMPLES:,} times, each round's runs of the two tools kept "
            "together. When it lies wholly on one side of the target, the run decides the target; when it contains "
            f"the target, the rounds' spread is wider than the distance to it. With {{runs}} rounds it is a rough "
            "interval, not a test."
        ).format(runs=runs),
        "",
        *targets(bench, scaling=any(key[0] == "scale-500" for key in bench.samples)),
        "",
    ]
    return "\n".join(lines)


def samples_json(bench: Bench) -> str:
    """Every run's numbers, in round order, beside the report: the tables can be computed again from them."""

    def runs(samples: Sequence[Sample]) -> list[dict[str, float]]:
        return [{"seconds": s.seconds, "floor": s.floor, "max_rss_kib": s.max_rss_kib} for s in samples]

    document = {
        "samples": [
            {"layer": layer, "scenario": scenario, "tool": tool, "runs": runs(samples)}
            for (layer, scenario, tool), samples in bench.samples.items()
        ],
        "floors": {key: runs(samples) for key, samples in bench.floors.items()},
        "engine_noop_seconds": bench.engine_noop,
    }
    return json.dumps(document, indent=1) + "\n"


# --- the runs


def main_runs(  # noqa: PLR0913  # the run's settings, keyword-only
    bench: Bench,
    tools: Sequence[Tool],
    *,
    runs: int,
    pip_runs: int,
    scenarios: Sequence[str],
    log: Callable[[str], None],
) -> None:
    """``runs`` rounds of every layer, scenario and tool; the pip-based tools take part in the first ``pip_runs``."""
    floor_tools = {tool.floor_key: tool for tool in tools if tool.testenv is not None}
    for tool in floor_tools.values():
        bench.floor(tool)  # creates the floor env, untimed
    turn = 0
    for iteration in range(runs):
        active = [tool for tool in tools if iteration < pip_runs or tool.venv != "tox"]
        for layer in LAYERS:
            for scenario in scenarios:
                repeat = NOOP_REPEAT if (layer, scenario) == ("sync", "no-op") else 1
                for tool in rotate(active, turn) * repeat:
                    sample = bench.timed(tool, layer, scenario)
                    where = f"{iteration + 1}/{runs} {layer:<4} {scenario:<12} {tool.key:<11}"
                    log(f"run {where} {ms(sample.seconds):>8} ms")
                turn += 1


def engine_runs(bench: Bench, tool: Tool, runs: int) -> None:
    """``tox --notest -v`` of an env in sync: the time tox-venvsync's engine itself reports for its no-op check."""
    bench.ensure_base(tool)
    log = WORK / "logs" / f"{tool.key}-engine.log"
    cmd = [*bench.command(tool, "sync", "no-op"), "-v"]
    for _ in range(runs):
        measure(cmd, tool.project, bench.env_for(tool), log)
        found = re.search(r"nothing to do \((\d+\.\d+) s\)", log.read_text(encoding="utf-8", errors="replace"))
        if found:
            bench.engine_noop.append(float(found[1]))


def scaling_runs(bench: Bench, tools: Sequence[Tool], runs: int, log: Callable[[str], None]) -> None:
    from synth import make_wheelhouse, pyproject  # noqa: PLC0415  # imported after the bootstrap
    from wheelhouse import WheelIndex  # noqa: PLC0415

    wheels = WORK / "synth-wheelhouse"
    make_wheelhouse(wheels, max(SCALING_SIZES))
    floor_tools = {tool.floor_key: tool for tool in tools if tool.testenv is not None}
    for tool in floor_tools.values():
        bench.floor(tool)  # creates the floor env, untimed
    with WheelIndex(wheels) as index:
        worlds: dict[int, list[Tool]] = {}
        for size in SCALING_SIZES:
            template = WORK / "scaling" / str(size) / "_lock"
            template.mkdir(parents=True, exist_ok=True)
            (template / "pyproject.toml").write_text(pyproject(size, index.url), encoding="utf-8")
            env = {**bench.base_env, "UV_CACHE_DIR": str(WORK / "cache" / "synth-lock")}
            subprocess.run([bench.uv, "lock", "-q", "-p", PYTHON], cwd=template, env=env, check=True)
            lock = (template / "uv.lock").read_text(encoding="utf-8")
            scaled = []
            for tool in tools:  # tools that read uv.lock: a copy of each with its own project, env and cache
                copy = replace(tool, key=f"{tool.key}-{size}")
                lay_out(copy, pyproject(size, index.url))
                (copy.project / "uv.lock").write_text(lock, encoding="utf-8")
                bench.run(copy, "sync", "no-op")  # fills the cache and the env, untimed
                scaled.append(copy)
            worlds[size] = scaled
        turn = 0
        for iteration in range(runs):
            for size, scaled in worlds.items():
                for scenario in SCALING_SCENARIOS:
                    for copy, tool in zip(rotate(scaled, turn), rotate(tools, turn), strict=True):
                        if scenario == "warm-create":
                            _rmtree(copy.env)
                        sample = bench.paired(copy, "sync", scenario)
                        bench.samples.setdefault((f"scale-{size}", scenario, tool.key), []).append(sample)
                        log(f"scale {iteration + 1}/{runs} {size} {scenario} {tool.key} {ms(sample.seconds)} ms")
                    turn += 1


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per cell (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="the pip-based tools (about 15 s per install) take part in 2 runs only"
    )
    parser.add_argument("--pip-runs", type=int, help="runs of the pip-based tools (default: --runs; 2 with --quick)")
    parser.add_argument("--scaling", action="store_true", help="also run the 50 / 200 / 500 package scaling run")
    parser.add_argument("--scaling-only", action="store_true", help="only the scaling run")
    parser.add_argument(
        "--tools", help="comma-separated subset of: venvsync,tox-uv,tox-pip,tox-pylock,uv-sync,venvsync-cli"
    )
    parser.add_argument("--scenarios", help=f"comma-separated subset of: {','.join(SCENARIOS)}")
    parser.add_argument("--venvsync-lock", choices=["auto", "uv.lock", "pylock.toml"], default="auto")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the report goes (default bench/RESULTS.md)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    plugin = bootstrap()
    sys.path.insert(0, str(BENCH))
    from wheelhouse import WheelIndex, download  # noqa: PLC0415  # imported after the bootstrap

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    runs = args.runs
    pip_runs = min(runs, args.pip_runs or (2 if args.quick else runs))
    python = _python312()
    tags = set(_out([_venv_python("tox"), "-c", "from packaging.tags import sys_tags; print(*sys_tags())"]).split())
    wheels = download(tags)
    chosen = choose_venvsync_lock(python) if args.venvsync_lock == "auto" else args.venvsync_lock
    tools = _tools(chosen)
    if args.tools:
        wanted = set(args.tools.split(","))
        tools = [tool for tool in tools if tool.key in wanted]
    scenarios = tuple(args.scenarios.split(",")) if args.scenarios else SCENARIOS
    uv = VENVS / "tox-uv" / "bin" / "uv"

    def log(line: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {line}", file=sys.stderr, flush=True)

    log(f"tox-venvsync reads {chosen}; {runs} runs ({pip_runs} of pip); tools: {', '.join(t.key for t in tools)}")
    with WheelIndex(WORK / "wheelhouse") as index:
        bench = Bench(tools, index.url, uv, base_environment(python), rewritten_locks(index.url))
        bench.base_env["PIP_INDEX_URL"] = f"{index.url}/simple"
        pyproject = uv_pyproject((PROJECT / "pyproject.toml").read_text(encoding="utf-8"), index.url)
        for tool in tools:
            _rmtree(tool.env)  # a fresh start: envs and caches from an earlier run name another port
            _rmtree(tool.cache)
            lay_out(tool, pyproject)
        if not args.scaling_only:
            main_runs(bench, tools, runs=runs, pip_runs=pip_runs, scenarios=scenarios, log=log)
            if ours := next((tool for tool in tools if tool.key == "venvsync"), None):
                engine_runs(bench, ours, 2 * runs)
        scaling_tools = [tool for tool in tools if tool.key in {"venvsync", "tox-uv", "uv-sync"}]
        if args.scaling or args.scaling_only:
            scaling_runs(bench, scaling_tools, runs, log)
        text = report(
            bench,
            python=python,
            tools=tools,
            scaling_tools=scaling_tools,
            runs=runs,
            pip_runs=pip_runs,
            argv=argv,
            wheels=wheels,
            seconds=time.perf_counter() - started,
            load_at_start=load_at_start,
            plugin=plugin,
        )
    args.output.write_text(text, encoding="utf-8")
    args.output.with_suffix(".json").write_text(samples_json(bench), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
