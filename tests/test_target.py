"""Target facts: asked of an interpreter once, remembered, and derived for a new venv without asking again."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import packaging
import pytest

from _support.pythons import installed_python
from _support.refusals import refuse_writes_below
from tox_venvsync import _target
from tox_venvsync._errors import InterpreterError
from tox_venvsync._target import Target, TargetMemo, base_facts, query_interpreter

if TYPE_CHECKING:
    from pytest_mock import MockerFixture


def _real(version: str) -> Path:
    """The interpreter binary behind ``python3.X`` (pyenv's shim is a script that runs it); 3.9 from pyenv."""
    if version == "3.9":  # not among the suite's Pythons on PATH: the oldest the engine serves, if installed
        old = installed_python(version)
        if old is None:
            pytest.skip("no Python 3.9 installed through pyenv")
        return old.resolve()
    shim = shutil.which(f"python{version}")
    if shim is None:
        pytest.fail(f"python{version} is not on PATH; install it (pyenv install {version})")
    out = subprocess.run([shim, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()).resolve()


def _make_venv(tool: str, base: Path, venv: Path) -> Path:
    if tool == "venv":
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    else:
        cmd = [sys.executable, "-m", "virtualenv", "--no-seed", "--no-periodic-update", "-p", str(base), str(venv)]
        subprocess.run(cmd, check=True, capture_output=True)
    return venv / "bin" / "python"


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.12", "3.13"])
@pytest.mark.parametrize("tool", ["venv", "virtualenv"])
def test_facts_derived_from_the_base_equal_the_venvs_own(tmp_path: Path, version: str, tool: str) -> None:
    base = _real(version)
    python = _make_venv(tool, base, tmp_path / "venv")
    derived = base_facts(tmp_path / "cache", base).in_venv(tmp_path / "venv", python)
    asked = query_interpreter(python)
    assert derived.to_json() == {**asked.to_json(), "venv_scheme": {}}
    assert derived.prefix != derived.base_prefix
    assert Path(derived.scheme["purelib"]).is_dir()


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_the_marker_environment_is_the_one_packaging_gives_that_interpreter(tmp_path: Path, version: str) -> None:
    python = _real(version)
    (tmp_path / "packaging").symlink_to(Path(packaging.__file__).parent)
    path, module = str(tmp_path), "packaging"
    if version == "3.9":  # the packaging here no longer runs on it: the one inside virtualenv's pip for it
        path, module = str(_target.bundled_pip(python, version)), "pip._vendor.packaging"
    script = f"import json, sys; sys.path.insert(0, sys.argv[1]); from {module}.markers import default_environment as d"
    script += "; json.dump(d(), sys.stdout)"
    run = subprocess.run([str(python), "-I", "-c", script, path], capture_output=True, text=True, check=True)
    assert dict(query_interpreter(python).markers) == json.loads(run.stdout)


def test_a_python_3_9_has_the_tags_its_own_pip_gives_it_and_more_of_them() -> None:
    # its tags come from the packaging in the pip virtualenv bundles for 3.9 (pip's private pip._vendor): what the
    # pip installed with that Python (an older packaging) computes must all be there, in the same order
    python = _real("3.9")
    script = "from pip._internal.utils.compatibility_tags import get_supported; print(*get_supported(), sep=chr(10))"
    run = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        pytest.skip(f"no pip in {python}")
    own = run.stdout.split()
    tags = list(query_interpreter(python).tag_strings)
    assert own[0].startswith("cp39-cp39-manylinux")
    assert [tag for tag in tags if tag in set(own)] == own
    assert len(tags) - len(own) < 5  # a few tags newer packaging knows (cp39-none-any), not another interpreter's


_GONE = FileNotFoundError(2, "No such file or directory")


@pytest.mark.parametrize(
    ("found", "message"),
    [
        pytest.param(
            {"return_value": None},
            "the interpreter {python} is Python 3.9, for which the virtualenv here bundles no pip; install a "
            "virtualenv that does, or use Python 3.10 or newer for this environment",
            id="none-bundled",
        ),
        pytest.param(
            {"side_effect": _GONE},
            f"the pip wheel virtualenv bundles for Python 3.9 (for {{python}}) is damaged or missing ({_GONE}); "
            "reinstall virtualenv",
            id="wheel-gone",
        ),
    ],
)
def test_a_python_3_9_without_its_bundled_pip_is_one_sentence(
    mocker: MockerFixture, found: dict[str, Any], message: str
) -> None:
    python = _real("3.9")
    mocker.patch("virtualenv.seed.wheels.embed.get_embed_wheel", **found)
    with pytest.raises(InterpreterError) as info:
        query_interpreter(python)
    assert str(info.value) == message.format(python=python)


def test_base_facts_are_asked_once_while_the_executable_is_unchanged(tmp_path: Path, mocker: MockerFixture) -> None:
    base = _real("3.12")
    first = base_facts(tmp_path, base)
    asked = mocker.patch.object(_target, "query_interpreter", side_effect=AssertionError("asked again"))
    assert base_facts(tmp_path, base) == first
    asked.assert_not_called()
    (memo,) = (tmp_path / "interpreters").iterdir()
    data = json.loads(memo.read_text())
    data["key"][1] += 1  # as if the file had been replaced by another build
    memo.write_text(json.dumps(data))
    asked.side_effect = None
    asked.return_value = first
    base_facts(tmp_path, base)
    asked.assert_called_once_with(base, meanwhile=None)


def test_a_script_in_front_of_the_interpreter_is_asked_every_time(tmp_path: Path, mocker: MockerFixture) -> None:
    # a pyenv shim may run another Python the next time: nothing about it can be remembered
    shim = tmp_path / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{_real("3.12")}" "$@"\n')
    shim.chmod(0o755)
    spy = mocker.spy(_target, "query_interpreter")
    assert base_facts(tmp_path / "cache", shim) == base_facts(tmp_path / "cache", shim)
    assert spy.call_count == 2
    assert not (tmp_path / "cache" / "interpreters").exists()


def test_memo_derives_from_the_base_without_a_subprocess(tmp_path: Path, mocker: MockerFixture) -> None:
    base = _real("3.12")
    python = _make_venv("virtualenv", base, tmp_path / "venv")
    facts = base_facts(tmp_path / "cache", base)
    run = mocker.spy(subprocess, "run")
    target = TargetMemo(tmp_path / "venv", python, base=lambda: facts).load()
    assert run.call_count == 0
    assert target.executable == str(python)
    mocker.stopall()
    # remembered in the venv, readable by every user: the next load reads it back
    assert TargetMemo(tmp_path / "venv", python).load() == target
    assert (tmp_path / "venv" / ".venvsync" / "target.json").stat().st_mode & 0o777 == 0o644


def test_memo_of_a_venv_copied_into_a_read_only_layer_is_only_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a venv synced in a Docker build stage and copied into the runtime image (COPY --from, cp -a): its pyvenv.cfg
    # is another inode, so the memo is stale; the layer is read-only, and the facts are used without being kept
    base = _real("3.12")
    built = tmp_path / "build" / "venv"
    python = _make_venv("venv", base, built)
    facts = base_facts(tmp_path / "cache", base)
    target = TargetMemo(built, python, base=lambda: facts).load()
    venv = tmp_path / "venv"
    shutil.copytree(built, venv, symlinks=True)
    shutil.rmtree(built)
    shutil.copytree(venv, built, symlinks=True)  # back at the path it was built at, as a new copy
    before = (built / ".venvsync" / "target.json").read_bytes()
    refuse_writes_below(monkeypatch, built)
    assert TargetMemo(built, python, base=lambda: facts).load() == target
    monkeypatch.undo()
    assert (built / ".venvsync" / "target.json").read_bytes() == before
    assert sorted(p.name for p in (built / ".venvsync").iterdir()) == ["target.json"]  # no temporary file left


def test_facts_that_a_full_disk_cannot_keep_are_only_not_remembered(tmp_path: Path, mocker: MockerFixture) -> None:
    # found by QA: a cache on a full disk stopped a sync that needed nothing else from it, for the memo of an
    # interpreter's facts ("No space left on device; free some space and run again")
    base = _real("3.12")
    python = _make_venv("venv", base, tmp_path / "venv")
    full = mocker.patch.object(_target, "write_atomic", side_effect=OSError(errno.ENOSPC, "No space left on device"))
    facts = base_facts(tmp_path / "cache", base)
    assert facts == query_interpreter(base)
    assert TargetMemo(tmp_path / "venv", python, base=lambda: facts).load().executable == str(python)
    assert full.call_count == 2  # the cache's memo, then the venv's
    full.side_effect = OSError(errno.EIO, "Input/output error")  # a failing disk is no full one: raised
    with pytest.raises(OSError, match="Input/output error"):
        base_facts(tmp_path / "cache", base)


def test_memo_asks_the_venv_when_its_layout_is_not_the_predicted_one(tmp_path: Path) -> None:
    base = _real("3.12")
    python = _make_venv("venv", base, tmp_path / "venv")
    facts = base_facts(tmp_path / "cache", base)
    elsewhere = {key: value.replace("site-packages", "nowhere") for key, value in facts.venv_scheme.items()}
    odd = Target.from_json({**facts.to_json(), "venv_scheme": elsewhere})
    target = TargetMemo(tmp_path / "venv", python, base=lambda: odd).load()
    assert target.scheme["purelib"].endswith("site-packages")  # the venv's own answer, not the prediction


def test_a_dry_run_keeps_new_facts_to_itself(tmp_path: Path) -> None:
    base = _real("3.12")
    facts = base_facts(tmp_path, base, remember=False)
    assert not (tmp_path / "interpreters").exists()
    assert base_facts(tmp_path, base) == facts  # asked again, and now remembered
    assert len(list((tmp_path / "interpreters").iterdir())) == 1


def _script(tmp_path: Path, body: str) -> Path:
    """An executable shell script standing in for an interpreter."""
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_what_is_done_meanwhile_runs_while_the_interpreter_works(tmp_path: Path) -> None:
    # the interpreter waits for a file that only `meanwhile` makes: had it run after the answer was
    # awaited, the query would wait in vain (10 s) and fail
    real, go = _real("3.12"), tmp_path / "go"
    wait = f'i=0; while [ ! -e {go} ]; do i=$((i+1)); [ "$i" -gt 200 ] && exit 3; sleep 0.05; done'
    python = _script(tmp_path, f'{wait}\nexec {real} "$@"')
    called: list[bool] = []

    def start() -> None:
        go.touch()
        called.append(True)

    facts = query_interpreter(python, meanwhile=start)
    assert called == [True]
    assert facts == query_interpreter(real)


def test_a_failure_meanwhile_stops_the_interpreter_and_is_raised(tmp_path: Path) -> None:
    # the interpreter starts, then would leave a mark after 5 s unless it is killed at once
    real, started, mark = _real("3.12"), tmp_path / "started", tmp_path / "mark"
    later = f"import pathlib, time; time.sleep(5); pathlib.Path({str(mark)!r}).touch()"
    python = _script(tmp_path, f'touch {started}\nexec {real} -c "{later}"')

    def fail() -> None:
        for _ in range(200):
            if started.exists():
                break
            time.sleep(0.05)
        msg = "meanwhile failed"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="meanwhile failed"):
        query_interpreter(python, meanwhile=fail)
    assert started.exists()
    assert not mark.exists()  # killed (and waited for) when the error came, not left to run on


def test_threads_asking_at_once_all_get_the_facts(tmp_path: Path, mocker: MockerFixture) -> None:
    # tox -p sets environments up in threads of one process: their writes of the memo must not collide
    base = _real("3.12")
    facts = query_interpreter(base)
    together = threading.Barrier(8)

    def slow_query(python: Path, meanwhile: object) -> Target:  # noqa: ARG001
        together.wait(timeout=30)  # every thread asks before any writes
        return facts

    mocker.patch.object(_target, "query_interpreter", slow_query)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: base_facts(tmp_path, base), range(8)))
    assert answers == [facts] * 8
    assert [p.name.endswith(".json") for p in (tmp_path / "interpreters").iterdir()] == [True]


@pytest.mark.parametrize(("output", "what"), [("", "no output"), ("hello\n", "an answer that is not its facts")])
def test_a_program_that_is_no_python_is_one_sentence(tmp_path: Path, output: str, what: str) -> None:
    # --python /bin/true: it runs, exits 0 and says nothing a Python would
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError) as info:
        query_interpreter(fake)
    assert str(info.value) == (
        f"the interpreter {fake} gave {what} when asked for its facts; is it Python 3.9 or newer?"
    )


def test_a_python_older_than_the_engine_serves_is_one_sentence_naming_its_version() -> None:
    # virtualenv bundles no pip for 3.8 (nor makes its venvs): told, not a SyntaxError of a module it cannot import
    old = installed_python("3.8")
    if old is None:
        pytest.skip("no Python 3.8 installed through pyenv")
    with pytest.raises(InterpreterError) as info:
        query_interpreter(old)
    assert str(info.value) == (
        f"the interpreter {old} is Python 3.8; tox-venvsync makes environments of Python 3.9 or newer (the oldest "
        "virtualenv bundles pip for): use a newer Python for this environment"
    )


@pytest.mark.parametrize(
    ("stderr", "code", "message"),
    [
        pytest.param(
            "Unknown option: -I\nusage: python2.7 [option] ...\nTry `python -h' for more information.\n",
            2,
            "is Python 2 or 3 before 3.4; tox-venvsync makes environments of Python 3.9 or newer (the oldest "
            "virtualenv bundles pip for): use a newer Python for this environment",
            id="python-2",
        ),
        pytest.param(
            "pyenv: python3.9: command not found\n\nThe `python3.9' command exists in these Python versions:\n"
            "  3.9.18\n\nNote: See 'pyenv help global' for tips on allowing both\n"
            "      python2 and python3 to be found.\n",
            127,
            # asked "is it Python 3.9 or newer?", which does not help: an active version does (found by QA)
            "is a pyenv shim that runs no Python here (pyenv: python3.9: command not found); pyenv has it in 3.9.18: "
            "make a version that has it active (pyenv shell, pyenv local or PYENV_VERSION), or give that Python's own "
            "path",
            id="pyenv-shim",
        ),
        pytest.param(
            "pyenv: python3.99: command not found\n",
            127,
            "is a pyenv shim that runs no Python here (pyenv: python3.99: command not found): make a version that "
            "has it active (pyenv shell, pyenv local or PYENV_VERSION), or give that Python's own path",
            id="pyenv-shim-of-no-version",
        ),
    ],
)
def test_an_interpreter_that_cannot_answer_says_why_in_one_sentence(
    tmp_path: Path, stderr: str, code: int, message: str
) -> None:
    # what Python 2.7 (which knows no -I) and a pyenv shim of an inactive version print
    fake = tmp_path / "python"
    (tmp_path / "stderr.txt").write_text(stderr)
    fake.write_text(f"#!/bin/sh\ncat '{tmp_path / 'stderr.txt'}' >&2\nexit {code}\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError) as info:
        query_interpreter(fake)
    assert str(info.value) == f"the interpreter {fake} {message}"


def _running(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="processes are found through /proc")
def test_an_interpreter_that_hangs_is_ended_with_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by QA: a --python that is a wrapper script hanging (here in a sleep) was killed alone after the timeout,
    # and the process it ran lived on, handed to init
    wrapper = tmp_path / "python"
    started = tmp_path / "started"
    wrapper.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > '{started}'\nwait\n")
    wrapper.chmod(0o755)
    monkeypatch.setattr(_target, "QUERY_SECONDS", 1)
    try:
        with pytest.raises(InterpreterError) as info:
            query_interpreter(wrapper)
        assert str(info.value) == (
            f"the interpreter {wrapper} did not answer within 1 s when asked for its facts; run it by hand to see "
            "what it waits for (a wrapper script that hangs?), or name another Python"
        )
        sleeping = int(started.read_text())
        deadline = time.monotonic() + 10
        while _running(sleeping) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(sleeping)
    finally:
        if started.is_file() and _running(pid := int(started.read_text())):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("full", "release"),
    [
        pytest.param("3.12.1", "3.12.1", id="final"),
        pytest.param("3.14.0rc1", "3.14.0", id="pre-release"),
        pytest.param("3.12.1+", "3.12.1", id="git-build"),
        pytest.param("3.15.0a2+", "3.15.0", id="git-build-of-a-pre-release"),
    ],
)
def test_the_release_is_what_installers_hold_against_requires_python(full: str, release: str) -> None:
    """pip compares ``sys.version_info[:3]``, uv, Poetry and PDM the release of ``python_full_version``.

    A git build's ``3.12.1+`` was taken as 3.12 (``>=3.12.1`` did not hold), a ``3.14.0rc1`` as itself (``>=3.14``
    did not hold): found by QA comparing with ``uv sync``, ``poetry sync`` and ``pdm sync`` on such interpreters.
    """
    target = Target(
        executable="/usr/bin/python3",
        prefix="/usr",
        base_prefix="/usr",
        markers={"python_full_version": full, "python_version": ".".join(full.split(".")[:2])},
        tag_strings=(),
        scheme={},
    )
    assert str(target.python_release) == release
    assert target.release_markers == {**target.markers, "python_full_version": release}


def test_memo_is_asked_again_when_the_venvs_interpreter_or_its_home_changes(
    tmp_path: Path, mocker: MockerFixture
) -> None:
    # found by QA: pyvenv.cfg stays as it was when the base Python is upgraded in place, moved or removed, and facts
    # remembered for the old interpreter were taken for the new one
    home = tmp_path / "home"
    home.mkdir()
    (home / "python3.12").symlink_to(_real("3.12"))
    python = _make_venv("venv", home / "python3.12", tmp_path / "venv")
    python.unlink()
    shutil.copy2(_real("3.12"), python)  # a copied interpreter (--copies, tox's always_copy)
    first = TargetMemo(tmp_path / "venv", python).load()
    spy = mocker.spy(_target, "query_interpreter")
    assert TargetMemo(tmp_path / "venv", python).load() == first
    assert spy.call_count == 0
    shutil.rmtree(home)  # the base it was made from is gone: the copy may run nothing now
    assert TargetMemo(tmp_path / "venv", python).load() == first
    python.unlink()  # another build in its place (copied now: another modification time, whatever its inode)
    shutil.copy(_real("3.12"), python)
    assert TargetMemo(tmp_path / "venv", python).load() == first
    assert TargetMemo(tmp_path / "venv", python).load() == first
    assert spy.call_count == 2
